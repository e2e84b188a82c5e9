/* SPDX-License-Identifier: GPL-2.0 */
/* kmalloc family: counted, failure-injected allocations of the shim. */
#ifndef _TH_SHIM_LINUX_SLAB_H
#define _TH_SHIM_LINUX_SLAB_H

#include <linux/kernel.h>

#define __GFP_NOWARN		0x1u
#define __GFP_ZERO		0x2u
#define GFP_KERNEL		0x10u
#define GFP_KERNEL_ACCOUNT	0x20u
#define GFP_ATOMIC		0x40u

#define kmalloc(size, gfp)	th_shim_alloc((size), !!((gfp) & __GFP_ZERO))
#define kzalloc(size, gfp)	th_shim_alloc((size), true)
#define kfree(p)		th_shim_free((void *)(p))

#endif
