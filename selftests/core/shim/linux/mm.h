/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _TH_SHIM_LINUX_MM_H
#define _TH_SHIM_LINUX_MM_H

#include <linux/slab.h>

#define kvmalloc(size, gfp)	kmalloc((size), (gfp))
#define kvzalloc(size, gfp)	kzalloc((size), (gfp))
#define kvfree(p)		kfree(p)

#endif
