/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Delayed work with no worker thread: queueing marks the work pending (and
 * counts it); a test runs it with th_shim_run_delayed_work() on its own
 * thread, as the kernel's worker would once the delay passed. The pending
 * flag is atomic, since writers queue from any thread.
 */
#ifndef _TH_SHIM_LINUX_WORKQUEUE_H
#define _TH_SHIM_LINUX_WORKQUEUE_H

#include <linux/kernel.h>

#define HZ	250

struct work_struct {
	void (*func)(struct work_struct *work);
};

struct delayed_work {
	struct work_struct work;
	int pending;
	unsigned long delay;	/* of the last queueing */
	unsigned long queued;	/* times queued */
};

#define INIT_DELAYED_WORK(dw, fn) do {					\
	(dw)->work.func = (fn);						\
	(dw)->pending = 0;						\
	(dw)->delay = 0;						\
	(dw)->queued = 0;						\
} while (0)

static inline struct delayed_work *to_delayed_work(struct work_struct *w)
{
	return container_of(w, struct delayed_work, work);
}

static inline bool schedule_delayed_work(struct delayed_work *dw,
					 unsigned long delay)
{
	if (__atomic_exchange_n(&dw->pending, 1, __ATOMIC_ACQ_REL))
		return false;
	dw->delay = delay;
	__atomic_fetch_add(&dw->queued, 1, __ATOMIC_RELAXED);
	return true;
}

static inline bool delayed_work_pending(struct delayed_work *dw)
{
	return __atomic_load_n(&dw->pending, __ATOMIC_ACQUIRE);
}

static inline bool cancel_delayed_work_sync(struct delayed_work *dw)
{
	return __atomic_exchange_n(&dw->pending, 0, __ATOMIC_ACQ_REL);
}

/* Run @dw's function if it is pending, as its worker would; true if it ran. */
static inline bool th_shim_run_delayed_work(struct delayed_work *dw)
{
	if (!__atomic_exchange_n(&dw->pending, 0, __ATOMIC_ACQ_REL))
		return false;
	dw->work.func(&dw->work);
	return true;
}

#endif
