/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _TH_SHIM_LINUX_SCHED_MM_H
#define _TH_SHIM_LINUX_SCHED_MM_H

#include <linux/memcontrol.h>

/* The charging scope of the work item: nothing to switch here. */
static inline struct mem_cgroup *set_active_memcg(struct mem_cgroup *memcg)
{
	(void)memcg;
	return NULL;
}

#endif
