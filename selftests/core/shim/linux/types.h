/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel integer types on top of the uapi __u8..__u64 of linux-libc-dev. */
#ifndef _TH_SHIM_LINUX_TYPES_H
#define _TH_SHIM_LINUX_TYPES_H

#include_next <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;
typedef unsigned int gfp_t;

#ifndef __rcu
#define __rcu
#endif
#define __user
#define __force
#define __must_check __attribute__((warn_unused_result))

#endif
