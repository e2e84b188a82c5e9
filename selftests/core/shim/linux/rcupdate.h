/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RCU = liburcu's urcu-memb flavour plus edges ThreadSanitizer can see:
 * rcu_read_unlock() release-stores a per-thread counter, synchronize_rcu()
 * acquire-loads every registered thread's counter after urcu's grace
 * period, and call_rcu() callbacks run on the calling thread after such a
 * grace period (shim.c). rcu_dereference() is an acquire load.
 */
#ifndef _TH_SHIM_LINUX_RCUPDATE_H
#define _TH_SHIM_LINUX_RCUPDATE_H

/*
 * TH_SHIM_BENCH (bench/native only): urcu-qsbr for the grace periods, and a
 * read side that costs what Debian's kernel's does (shim.c's
 * th_bench_rcu_read_lock()): urcu-memb's read side, 23 instructions a
 * section with its TLS lookups, is far from a kernel's.
 */
#ifdef TH_SHIM_BENCH
#include <urcu/urcu-qsbr.h>	/* struct rcu_head; its API is called by shim.c */
#else
#include <urcu/urcu-memb.h>
#endif
#include <linux/kernel.h>

#undef rcu_dereference
#undef rcu_assign_pointer

#define rcu_register_thread()	th_rcu_register_thread()
#define rcu_unregister_thread()	th_rcu_unregister_thread()
#ifndef TH_SHIM_BENCH
#define rcu_read_lock()		th_rcu_read_lock()
#define rcu_read_unlock()	th_rcu_read_unlock()
#else
void th_bench_rcu_read_lock(void);
void th_bench_rcu_read_unlock(void);
#define rcu_read_lock()		th_bench_rcu_read_lock()
#define rcu_read_unlock()	th_bench_rcu_read_unlock()
#endif
#define synchronize_rcu()	th_rcu_synchronize()
#define call_rcu(head, fn)	th_rcu_call((head), (fn))
#define rcu_barrier()		th_rcu_barrier()

#ifndef TH_SHIM_BENCH
#define rcu_dereference(p) ({						\
	if (th_shim_hook_deref)						\
		th_shim_hook_deref(&(p));				\
	__auto_type _p = __atomic_load_n(&(p), __ATOMIC_ACQUIRE);	\
	th_shim_jitter();						\
	_p;								\
})
#define rcu_dereference_protected(p, c) ({				\
	if (!(c))							\
		th_shim_error("rcu_dereference_protected without the lock", \
			      __FILE__, __LINE__);			\
	(p);								\
})
#define rcu_assign_pointer(p, v) do {					\
	__atomic_store_n(&(p), (__typeof__(p))(v), __ATOMIC_RELEASE);	\
	th_shim_jitter();						\
} while (0)
#else
/*
 * TH_SHIM_BENCH (bench/native only): no hooks, no jitter, and the condition
 * of rcu_dereference_protected() unevaluated, as without CONFIG_PROVE_RCU.
 */
#define rcu_dereference(p)	__atomic_load_n(&(p), __ATOMIC_ACQUIRE)
#define rcu_dereference_protected(p, c)	((void)(0 && (c)), (p))
#define rcu_assign_pointer(p, v)					\
	__atomic_store_n(&(p), (__typeof__(p))(v), __ATOMIC_RELEASE)
#endif
#define RCU_INIT_POINTER(p, v)	WRITE_ONCE(p, (__typeof__(p))(v))

#endif
