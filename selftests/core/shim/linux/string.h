/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The core's memcpy/memset/memcmp go through the shim (shim.c) so that
 * ThreadSanitizer judges them by the protocol, not by the byte:
 *  - loads are relaxed atomics, always: a lockless reader copying a slot
 *    that a seqcount-guarded writer overwrites is an intended race;
 *  - stores are relaxed atomics inside a write_seqcount section (in-place
 *    overwrites) and into slot memory a deleting write section zeroed
 *    before (a reused slot, which a reader holding the old tophash may
 *    still read: its seqcount check fails), and plain everywhere else, so
 *    a fresh slot whose publication is not a release/acquire pair with the
 *    reader's tophash load is reported as a data race.
 */
#ifndef _TH_SHIM_LINUX_STRING_H
#define _TH_SHIM_LINUX_STRING_H

#include <string.h>
#include "../th_shim.h"

#ifndef TH_SHIM_BENCH
#define memcpy(d, s, n)	th_shim_memcpy((d), (s), (n))
#define memset(d, c, n)	th_shim_memset((d), (c), (n))
#define memcmp(a, b, n)	th_shim_memcmp((a), (b), (n))
#endif
/* TH_SHIM_BENCH (bench/native only): libc's, as a kernel build has its own. */

#endif
