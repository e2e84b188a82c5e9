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
/* TH_SHIM_BENCH (bench/native only): no owner bookkeeping, as without lockdep. */
static inline void mutex_lock(struct mutex *l)
{
	pthread_mutex_lock(&l->m);
}

static inline void mutex_unlock(struct mutex *l)
{
	pthread_mutex_unlock(&l->m);
}
#endif

static inline void mutex_destroy(struct mutex *l)
{
	pthread_mutex_destroy(&l->m);
}

#endif
