/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _TH_SHIM_ASM_BYTEORDER_H
#define _TH_SHIM_ASM_BYTEORDER_H

#include <linux/types.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the userspace core build assumes a little-endian host"
#endif
#define le64_to_cpu(x)	((u64)(x))
#define cpu_to_le64(x)	((__le64)(x))
#define le32_to_cpu(x)	((u32)(x))

#endif
