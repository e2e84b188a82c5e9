/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _TH_SHIM_LINUX_BITOPS_H
#define _TH_SHIM_LINUX_BITOPS_H

#include <linux/types.h>

/* Index of the lowest set bit; @w must not be 0, as in the kernel. */
static inline unsigned int __ffs64(u64 w)
{
	return (unsigned int)__builtin_ctzll(w);
}

#endif
