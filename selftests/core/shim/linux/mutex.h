/* SPDX-License-Identifier: GPL-2.0 */
/*
 * struct mutex as a pthread mutex that records its owner (for
 * lockdep_is_held()) and counts the locks this thread holds (a thread
 * holding one is a writer for the memcpy rule of linux/string.h).
 */
#ifndef _TH_SHIM_LINUX_MUTEX_H
#define _TH_SHIM_LINUX_MUTEX_H

#include <pthread.h>
#include <linux/kernel.h>

struct mutex {
	pthread_mutex_t m;
	unsigned long owner;
};

static inline void mutex_init(struct mutex *l)
{
	pthread_mutex_init(&l->m, NULL);
	__atomic_store_n(&l->owner, 0, __ATOMIC_RELAXED);
}

#ifndef TH_SHIM_BENCH
static inline void mutex_lock(struct mutex *l)
{
	pthread_mutex_lock(&l->m);
	__atomic_store_n(&l->owner, th_shim_self(), __ATOMIC_RELAXED);
	th_shim_locks_held++;
}

static inline void mutex_unlock(struct mutex *l)
{
	if (!lockdep_is_held(l))
		th_shim_error("mutex_unlock by a non-owner", __FILE__, __LINE__);
	th_shim_locks_held--;
	__atomic_store_n(&l->owner, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&l->m);
}

#else
/*
 * TH_SHIM_BENCH (bench/native only): the kernel's mutex fast paths, one
 * cmpxchg of the owner word to lock (acquire) and one to unlock (release),
 * as __mutex_trylock_fast() and __mutex_unlock_fast() do; a pthread mutex
 * costs some 60 instructions more per lock and unlock. Contended (the
 * bench has one writer), the locker yields until the owner lets go.
 */
static inline void mutex_lock(struct mutex *l)
{
	unsigned long unowned = 0;

	while (!__atomic_compare_exchange_n(&l->owner, &unowned, 1, false,
					    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		unowned = 0;
		sched_yield();
	}
}

static inline void mutex_unlock(struct mutex *l)
{
	unsigned long owned = 1;

	if (!__atomic_compare_exchange_n(&l->owner, &owned, 0, false,
					 __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		th_shim_error("mutex_unlock of an unlocked mutex", __FILE__, __LINE__);
}
#endif

static inline void mutex_destroy(struct mutex *l)
{
	pthread_mutex_destroy(&l->m);
}

#endif
