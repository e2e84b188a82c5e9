/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _TH_SHIM_LINUX_PREFETCH_H
#define _TH_SHIM_LINUX_PREFETCH_H

/* A read prefetch into all cache levels, as x86's prefetch() (prefetcht0). */
#define prefetch(x)	__builtin_prefetch((x), 0, 3)

/*
 * A prefetch for writing, the line in exclusive state: x86's prefetchw(),
 * which is PREFETCHW on every CPU with X86_FEATURE_3DNOWPREFETCH (Intel
 * since Broadwell, AMD since K8); the instruction itself, whatever -march
 * the build has.
 */
static inline void prefetchw(const void *x)
{
	__asm__ volatile("prefetchw %0" : : "m" (*(const char *)x));
}

#endif
