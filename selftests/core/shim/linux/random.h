/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _TH_SHIM_LINUX_RANDOM_H
#define _TH_SHIM_LINUX_RANDOM_H

#include <linux/kernel.h>

#define get_random_bytes(buf, n)	th_shim_random_bytes((buf), (n))

#endif
