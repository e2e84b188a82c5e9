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
 * TH_SHIM_BENCH (bench/native only): urcu's read side inlined (_LGPL_SOURCE,
 * as liburcu advises for speed) and called directly, without the per-thread
 * counter that only gives ThreadSanitizer its edge: a kernel's
 * rcu_read_lock() is inline and nearly free, a call into the library with
 * a general-dynamic TLS lookup each way is not.
 */
#if defined(TH_SHIM_BENCH) && !defined(_LGPL_SOURCE)
#define _LGPL_SOURCE
#endif
#include <urcu/urcu-memb.h>	/* struct rcu_head; its API is called by shim.c */
#include <linux/kernel.h>

#undef rcu_dereference
#undef rcu_assign_pointer

#define rcu_register_thread()	th_rcu_register_thread()
#define rcu_unregister_thread()	th_rcu_unregister_thread()
#ifndef TH_SHIM_BENCH
#define rcu_read_lock()		th_rcu_read_lock()
#define rcu_read_unlock()	th_rcu_read_unlock()
#else
#define rcu_read_lock()		urcu_memb_read_lock()
#define rcu_read_unlock()	urcu_memb_read_unlock()
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
#define rcu_dereference_protected(p, c)	(p)
#define rcu_assign_pointer(p, v)					\
	__atomic_store_n(&(p), (__typeof__(p))(v), __ATOMIC_RELEASE)
#endif
#define RCU_INIT_POINTER(p, v)	WRITE_ONCE(p, (__typeof__(p))(v))

#endif
