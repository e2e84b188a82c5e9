/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _TH_SHIM_LINUX_CACHE_H
#define _TH_SHIM_LINUX_CACHE_H

#define L1_CACHE_BYTES	64

#endif
