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

#include <urcu/urcu-memb.h>	/* struct rcu_head; its API is called by shim.c */
#include <linux/kernel.h>

#undef rcu_dereference
#undef rcu_assign_pointer

#define rcu_register_thread()	th_rcu_register_thread()
#define rcu_unregister_thread()	th_rcu_unregister_thread()
#define rcu_read_lock()		th_rcu_read_lock()
#define rcu_read_unlock()	th_rcu_read_unlock()
#define synchronize_rcu()	th_rcu_synchronize()
#define call_rcu(head, fn)	th_rcu_call((head), (fn))
#define rcu_barrier()		th_rcu_barrier()

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
#define RCU_INIT_POINTER(p, v)	WRITE_ONCE(p, (__typeof__(p))(v))

#endif
