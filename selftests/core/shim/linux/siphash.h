/* SPDX-License-Identifier: GPL-2.0 */
/* SipHash-2-4 (shim.c), the kernel's signature and key type. */
#ifndef _TH_SHIM_LINUX_SIPHASH_H
#define _TH_SHIM_LINUX_SIPHASH_H

#include <linux/types.h>

typedef struct {
	u64 key[2];
} siphash_key_t;

u64 siphash(const void *data, size_t len, const siphash_key_t *key);

/* The kernel's one-word form: SipHash of the 8 little-endian bytes of @a. */
#ifndef TH_SHIM_BENCH
static inline u64 siphash_1u64(u64 a, const siphash_key_t *key)
{
	return siphash(&a, sizeof(a), key);
}
#else
/* TH_SHIM_BENCH (bench/native only): out of line and unrolled, as lib/siphash.c. */
u64 siphash_1u64(u64 a, const siphash_key_t *key);
#endif

#endif
