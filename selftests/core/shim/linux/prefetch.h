/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _TH_SHIM_LINUX_PREFETCH_H
#define _TH_SHIM_LINUX_PREFETCH_H

/* A read prefetch into all cache levels, as x86's prefetch() (prefetcht0). */
#define prefetch(x)	__builtin_prefetch((x), 0, 3)

#endif
