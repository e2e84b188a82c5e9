/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * slotreuse: types shared by slotreuse.bpf.c and its loader. Fixed-width
 * types only; the map value types carry field names so that
 * `bpftool map dump` prints them through BTF.
 */
#ifndef __SLOTREUSE_H
#define __SLOTREUSE_H

/* log2 buckets per histogram: slot i counts values in [2^i, 2^(i+1)) */
#define MAX_SLOTS		27
/* default capacity of the map of deleted slots waiting for reuse */
#define MAX_PENDING		65536
/*
 * From the uapi header: TOPHASH_BUCKET_SLOTS (slots per bucket) and
 * TOPHASH_ASSIGN_* (tophash_assign's kind field).
 */
#include "tophash.h"

struct hist {
	__u32 slots[MAX_SLOTS];
};

/*
 * The histograms, one value of the "hists" array map.
 * @reuse: delete -> reuse latency, every reused slot
 * @reuse_growing: the same, slots deleted while the map was growing
 * @reuse_stable: the same, slots deleted while it was not
 * @drop_age: age of deleted slots an evacuation discarded
 * @evacuate_ns: time to evacuate one old bucket chain, always nanoseconds
 * @grow: tophash_grow_start -> tophash_grow_done of one map
 */
struct slotreuse_hists {
	struct hist reuse;
	struct hist reuse_growing;
	struct hist reuse_stable;
	struct hist drop_age;
	struct hist evacuate_ns;
	struct hist grow;
};

/*
 * The counters, one value of the "counts" array map.
 * @assign_*: tophash_assign events by kind
 * @deletes: deleted slots, each one opens a window
 * @reuses: windows closed by an assign to the same slot
 * @drops: windows closed by an evacuation that discarded the slot
 * @cleared: windows closed by a clear or the map's destruction
 * @lost: deletes not tracked because the pending map was full
 * @evacuations: old bucket chains evacuated
 * @grows: growths started (@same_size_grows of them keeping B)
 * @grows_done: growths finished
 * @clears: tophash_clear events of live maps
 * @destroys: maps destroyed
 * @shrinks: shrinks started (TOPHASH_F_SHRINK maps), counted in @grows too
 * @shrinks_done: shrinks finished
 * @shrink_bytes: bytes the finished shrinks gave back: the map's bytes
 *	before each started less its bytes when it finished
 */
struct slotreuse_counts {
	__u64 assign_update;
	__u64 assign_fresh;
	__u64 assign_reuse;
	__u64 assign_overflow;
	__u64 deletes;
	__u64 reuses;
	__u64 drops;
	__u64 cleared;
	__u64 lost;
	__u64 evacuations;
	__u64 grows;
	__u64 same_size_grows;
	__u64 grows_done;
	__u64 clears;
	__u64 destroys;
	__u64 shrinks;
	__u64 shrinks_done;
	__u64 shrink_bytes;
};

/* What a growth in progress started with (the "grows" map's value). */
struct grow_info {
	__u64 ts;	/* bpf_ktime_get_ns() at tophash_grow_start */
	__u64 bytes;	/* the map's bytes before the growth */
	__u32 kind;	/* TOPHASH_GROW_* */
	__u32 pad;
};

/* One slot of one bucket array of one map, for the map's whole life. */
struct slot_key {
	__u32 id;
	__u32 bucket;
	__u64 gen;
	__u32 depth;
	__u32 slot;
};

/* A deleted slot waiting for reuse. */
struct slot_info {
	__u64 ts;		/* bpf_ktime_get_ns() at the delete */
	__u32 growing;		/* the map was growing at the delete */
	__u32 pad;
};

#endif /* __SLOTREUSE_H */
