/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel.h helpers the core uses, plus barriers, atomics and exports. */
#ifndef _TH_SHIM_LINUX_KERNEL_H
#define _TH_SHIM_LINUX_KERNEL_H

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <linux/types.h>
#include "../th_shim.h"

#define noinline	__attribute__((__noinline__))
#ifndef __always_inline
#define __always_inline	inline __attribute__((__always_inline__))
#endif
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define ALIGN(x, a)	(((x) + ((__typeof__(x))(a) - 1)) & ~((__typeof__(x))(a) - 1))
#define PTR_ALIGN(p, a)	((__typeof__(p))ALIGN((unsigned long)(p), (a)))
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define min(a, b)	({ __auto_type _a = (a); __auto_type _b = (b); _a < _b ? _a : _b; })
#define max(a, b)	({ __auto_type _a = (a); __auto_type _b = (b); _a > _b ? _a : _b; })
#define min_t(t, a, b)	({ t _a = (a); t _b = (b); _a < _b ? _a : _b; })
#define container_of(p, type, member) \
	((type *)((char *)(p) - __builtin_offsetof(type, member)))
#define hweight8(w)	((unsigned int)__builtin_popcount((u8)(w)))
#define hweight32(w)	((unsigned int)__builtin_popcount((u32)(w)))
#define PAGE_SIZE	4096UL

#define EXPORT_SYMBOL_GPL(sym)	extern __typeof__(sym) sym
#define EXPORT_SYMBOL(sym)	extern __typeof__(sym) sym

#define cpu_relax()	__builtin_ia32_pause()

/* IRQs do not exist here: the flags only keep the kernel idiom compiling. */
#define local_irq_save(f)	do { (f) = 0; } while (0)
#define local_irq_restore(f)	((void)(f))

/*
 * Marked accesses as relaxed C11 atomics, acquire/release as such, so that
 * ThreadSanitizer knows which races are intended and which orderings exist.
 */
#ifndef TH_SHIM_BENCH
#define READ_ONCE(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) do {						\
	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED);			\
	th_shim_jitter();						\
} while (0)
#define smp_store_release(p, v) do {					\
	__atomic_store_n((p), (v), __ATOMIC_RELEASE);			\
	th_shim_jitter();						\
} while (0)
#define smp_load_acquire(p) ({						\
	if (th_shim_hook_acquire)					\
		th_shim_hook_acquire(p);				\
	__auto_type _v = __atomic_load_n((p), __ATOMIC_ACQUIRE);	\
	th_shim_jitter();						\
	_v;								\
})
#else
/*
 * TH_SHIM_BENCH (bench/native only): the same orderings without the test
 * hooks and jitter, as a production kernel build has none.
 */
#define READ_ONCE(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define smp_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define smp_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#endif
#define smp_wmb()	__atomic_thread_fence(__ATOMIC_RELEASE)
#define smp_rmb()	__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_mb()	__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define barrier()	__asm__ __volatile__("" ::: "memory")

typedef struct {
	s64 counter;
} atomic64_t;

#define ATOMIC64_INIT(i)	{ (i) }
#define atomic64_read(v)	__atomic_load_n(&(v)->counter, __ATOMIC_RELAXED)
#define atomic64_set(v, i)	__atomic_store_n(&(v)->counter, (i), __ATOMIC_RELAXED)
#define atomic64_add(i, v)	((void)__atomic_fetch_add(&(v)->counter, (s64)(i), __ATOMIC_RELAXED))
#define atomic64_sub(i, v)	((void)__atomic_fetch_sub(&(v)->counter, (s64)(i), __ATOMIC_RELAXED))
#define atomic64_inc(v)		atomic64_add(1, (v))

/* Lockdep: checked for real, against the owner the shim mutex records. */
#ifndef TH_SHIM_BENCH
#define lockdep_is_held(l)	(__atomic_load_n(&(l)->owner, __ATOMIC_RELAXED) == th_shim_self())
#define lockdep_assert_held(l) do {					\
	if (!lockdep_is_held(l))					\
		th_shim_error("lockdep_assert_held", __FILE__, __LINE__); \
} while (0)
#else
/* TH_SHIM_BENCH: a kernel without CONFIG_LOCKDEP never evaluates these. */
#define lockdep_is_held(l)	({ (void)(l); 1; })
#define lockdep_assert_held(l)	do { } while (0)
#endif

/* A kernel WARN is a failure of the run (the VM runner fails on one). */
#define WARN_ON_ONCE(c) ({						\
	bool _c = !!(c);						\
	if (unlikely(_c))						\
		th_shim_error("WARN_ON_ONCE(" #c ")", __FILE__, __LINE__); \
	_c;								\
})

unsigned long th_shim_self(void);

#endif
