/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _TH_SHIM_ASM_UNALIGNED_H
#define _TH_SHIM_ASM_UNALIGNED_H

/* A load through a packed struct, as the kernel's __get_unaligned_t(). */
#define get_unaligned(p) ({						\
	const struct {							\
		__typeof__(*(p)) x;					\
	} __attribute__((packed)) *_s = (const void *)(p);		\
	_s->x;								\
})

#define put_unaligned(v, p) do {					\
	struct {							\
		__typeof__(*(p)) x;					\
	} __attribute__((packed)) *_d = (void *)(p);			\
	_d->x = (v);							\
} while (0)

#endif
