/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _TH_SHIM_LINUX_MEMCONTROL_H
#define _TH_SHIM_LINUX_MEMCONTROL_H

/* No memory cgroups in userspace: a map remembers none. */
struct mem_cgroup;

#define get_mem_cgroup_from_mm(mm)	((struct mem_cgroup *)NULL)

static inline void mem_cgroup_put(struct mem_cgroup *memcg)
{
	(void)memcg;
}

#endif
