/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _TH_SHIM_LINUX_MM_H
#define _TH_SHIM_LINUX_MM_H

#include <linux/slab.h>

#ifndef TH_SHIM_BENCH
#define kvmalloc(size, gfp)	kmalloc((size), (gfp))
#define kvzalloc(size, gfp)	kzalloc((size), (gfp))
#define kvfree(p)		kfree(p)
#else
/*
 * bench/native: kvzalloc() the way a 6.1 x86-64 kernel serves a bucket
 * array. From 2 MiB on, kvmalloc_node() falls back to vmalloc with
 * VM_ALLOW_HUGE_VMAP: a 2 MiB-aligned area, rounded up to 2 MiB, mapped
 * with PMD (2 MiB) pages when it can get them. Here: an aligned anonymous
 * mapping with MADV_HUGEPAGE (transparent huge pages, which the host gives
 * in its "madvise" mode). From 64 KiB to 2 MiB, kmalloc's page allocator
 * (direct-map memory, itself mapped with large pages): a mapping of its
 * own. Either way the memory comes mapped and zeroed (MADV_POPULATE_WRITE),
 * as the kernel's does: no page fault later. Below 64 KiB, malloc as for
 * kzalloc().
 */
void *th_shim_kvzalloc(size_t size);
void th_shim_kvfree(void *p);
#define kvzalloc(size, gfp)	th_shim_kvzalloc(size)
#define kvfree(p)		th_shim_kvfree((void *)(p))
#endif

#endif
