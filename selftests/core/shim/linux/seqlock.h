/* SPDX-License-Identifier: GPL-2.0 */
/*
 * seqcount_t as the kernel's plain seqcount: the writer makes the count odd,
 * writes, makes it even (release); readers spin while odd (acquire) and
 * retry after an acquire fence when it moved. ThreadSanitizer ignores the
 * fences; the stores of a write section are atomic (th_shim_write_section,
 * see linux/string.h), and torn reads are caught by the tests' check words.
 */
#ifndef _TH_SHIM_LINUX_SEQLOCK_H
#define _TH_SHIM_LINUX_SEQLOCK_H

#include <linux/kernel.h>

typedef struct {
	unsigned int sequence;
} seqcount_t;

static inline void seqcount_init(seqcount_t *s)
{
	__atomic_store_n(&s->sequence, 0, __ATOMIC_RELAXED);
}

static inline void write_seqcount_begin(seqcount_t *s)
{
	unsigned int v = __atomic_load_n(&s->sequence, __ATOMIC_RELAXED);

	__atomic_store_n(&s->sequence, v + 1, __ATOMIC_RELAXED);
	smp_wmb();
	th_shim_write_section++;
}

static inline void write_seqcount_end(seqcount_t *s)
{
	unsigned int v = __atomic_load_n(&s->sequence, __ATOMIC_RELAXED);

	th_shim_write_section--;
	smp_wmb();
	__atomic_store_n(&s->sequence, v + 1, __ATOMIC_RELEASE);
}

/* The wait for an even count, yielding now and then (tests only). */
unsigned int th_shim_seqcount_wait(const seqcount_t *s);

static inline unsigned int read_seqcount_begin(const seqcount_t *s)
{
	unsigned int v = __atomic_load_n(&s->sequence, __ATOMIC_ACQUIRE);

	if (__builtin_expect(v & 1, 0)) {
#ifdef TH_SHIM_BENCH
		/* bench/native: the kernel's cpu_relax() loop, no call. */
		do {
			cpu_relax();
		} while ((v = __atomic_load_n(&s->sequence, __ATOMIC_ACQUIRE)) & 1);
#else
		v = th_shim_seqcount_wait(s);
#endif
	}
	return v;
}

static inline int read_seqcount_retry(const seqcount_t *s, unsigned int start)
{
	smp_rmb();
	return __atomic_load_n(&s->sequence, __ATOMIC_RELAXED) != start;
}

#endif
