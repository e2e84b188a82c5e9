// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * slotreuse: how long a deleted slot of a tophash map stays empty before an
 * assign reuses it, and how many die unreused in an evacuation.
 *
 * raw_tp programs on the tophash module's tracepoints. Their arguments are
 * scalars, so no BTF of the module is needed. A delete opens a window keyed
 * by the slot's position (map id, generation, bucket, depth, slot); an
 * assign of kind fresh or reuse to that position closes it as a reuse, an
 * evacuation of its old bucket as a drop, a clear or destroy of its map as
 * cleared.
 */
#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tophash.h"	/* TOPHASH_GROW_*, the grow events' kind */
#include "slotreuse.h"

struct bpf_map;

/* 0: every map */
const volatile __u32 targ_map_id = 0;
/* histograms of latencies in milliseconds, not microseconds */
const volatile bool targ_ms = false;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct slotreuse_hists);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct slotreuse_counts);
} counts SEC(".maps");

/*
 * Deleted slots not reused yet. Not preallocated: a clear deletes entries
 * while bpf_for_each_map_elem() walks the map, and an element freed through
 * RCU cannot be recycled into another bucket under the walk.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PENDING);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct slot_key);
	__type(value, struct slot_info);
} pending SEC(".maps");

/* map id -> what its growth in progress started with */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct grow_info);
} grows SEC(".maps");

static __always_inline bool skip_map(__u32 id)
{
	return targ_map_id && id != targ_map_id;
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r;
}

/* Count @v in its log2 slot; the last slot takes everything above. */
static __always_inline void hist_add(struct hist *h, __u64 v)
{
	__u32 slot = log2_u64(v);

	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
}

static __always_inline __u64 ns_to_unit(__u64 ns)
{
	return targ_ms ? ns / 1000000 : ns / 1000;
}

static __always_inline struct slotreuse_hists *get_hists(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&hists, &zero);
}

static __always_inline struct slotreuse_counts *get_counts(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&counts, &zero);
}

SEC("raw_tp/tophash_assign")
int BPF_PROG(on_assign, __u32 id, __u64 gen, __u32 bucket, __u32 depth,
	     __u32 slot, __u32 tophash, __u32 kind, __u32 growing, __u64 count)
{
	struct slot_key key = {
		.id = id, .gen = gen, .bucket = bucket, .depth = depth,
		.slot = slot,
	};
	struct slotreuse_counts *c = get_counts();
	struct slotreuse_hists *h;
	struct slot_info *info;
	__u64 delta;

	if (skip_map(id) || !c)
		return 0;
	switch (kind) {
	case TOPHASH_ASSIGN_UPDATE:
		__sync_fetch_and_add(&c->assign_update, 1);
		return 0;	/* the slot was full: no window to close */
	case TOPHASH_ASSIGN_FRESH:
		__sync_fetch_and_add(&c->assign_fresh, 1);
		break;
	case TOPHASH_ASSIGN_REUSE:
		__sync_fetch_and_add(&c->assign_reuse, 1);
		break;
	case TOPHASH_ASSIGN_OVERFLOW:
		/* a new overflow bucket: no slot of it was ever deleted */
		__sync_fetch_and_add(&c->assign_overflow, 1);
		return 0;
	default:
		return 0;
	}

	info = bpf_map_lookup_elem(&pending, &key);
	h = get_hists();
	if (!info || !h)
		return 0;
	delta = ns_to_unit(bpf_ktime_get_ns() - info->ts);
	hist_add(&h->reuse, delta);
	hist_add(info->growing ? &h->reuse_growing : &h->reuse_stable, delta);
	if (!bpf_map_delete_elem(&pending, &key))
		__sync_fetch_and_add(&c->reuses, 1);
	return 0;
}

SEC("raw_tp/tophash_delete")
int BPF_PROG(on_delete, __u32 id, __u64 gen, __u32 bucket, __u32 depth,
	     __u32 slot, __u32 tophash, __u32 rest, __u32 growing, __u64 count)
{
	struct slot_key key = {
		.id = id, .gen = gen, .bucket = bucket, .depth = depth,
		.slot = slot,
	};
	struct slot_info info = {
		.ts = bpf_ktime_get_ns(), .growing = !!growing,
	};
	struct slotreuse_counts *c = get_counts();

	if (skip_map(id) || !c)
		return 0;
	__sync_fetch_and_add(&c->deletes, 1);
	if (bpf_map_update_elem(&pending, &key, &info, BPF_ANY))
		__sync_fetch_and_add(&c->lost, 1);
	return 0;
}

struct drop_ctx {
	struct slot_key key;
	struct slotreuse_counts *c;
	struct slotreuse_hists *h;
	__u64 now;
	__u32 empty_mask;
};

static long drop_slot(__u32 i, struct drop_ctx *dc)
{
	struct slot_info *info;

	if (!(dc->empty_mask & (1U << (i & 31))))
		return 0;
	dc->key.slot = i;
	info = bpf_map_lookup_elem(&pending, &dc->key);
	if (!info)
		return 0;
	hist_add(&dc->h->drop_age, ns_to_unit(dc->now - info->ts));
	if (!bpf_map_delete_elem(&pending, &dc->key))
		__sync_fetch_and_add(&dc->c->drops, 1);
	return 0;
}

/*
 * One bucket of an old chain is being evacuated: every deleted slot we
 * track among its empty ones (emptyOne, or emptyRest after the backward
 * walk of a later delete) is discarded without having been reused. The
 * slots are walked with bpf_loop(): the verifier checks drop_slot() once
 * instead of once per iteration of an open-coded loop.
 */
SEC("raw_tp/tophash_evacuate_drop")
int BPF_PROG(on_evac_drop, __u32 id, __u64 gen, __u32 bucket, __u32 depth,
	     __u32 empty_mask, __u32 deleted_mask)
{
	struct drop_ctx dc = {
		.key = { .id = id, .gen = gen, .bucket = bucket, .depth = depth },
		.now = bpf_ktime_get_ns(),
		.empty_mask = empty_mask,
	};

	if (skip_map(id))
		return 0;
	dc.c = get_counts();
	dc.h = get_hists();
	if (!dc.c || !dc.h)
		return 0;
	bpf_loop(TOPHASH_BUCKET_SLOTS, drop_slot, &dc, 0);
	return 0;
}

SEC("raw_tp/tophash_evacuate")
int BPF_PROG(on_evacuate, __u32 id, __u64 gen, __u64 newgen, __u32 bucket,
	     __u32 depth, __u32 moved_x, __u32 moved_y, __u32 dropped,
	     __u32 released, __u64 nevacuate, __u32 same_size,
	     __u64 duration_ns)
{
	struct slotreuse_counts *c = get_counts();
	struct slotreuse_hists *h = get_hists();

	if (skip_map(id) || !c || !h)
		return 0;
	__sync_fetch_and_add(&c->evacuations, 1);
	hist_add(&h->evacuate_ns, duration_ns);
	return 0;
}

SEC("raw_tp/tophash_grow_start")
int BPF_PROG(on_grow_start, __u32 id, __u64 gen, __u64 newgen, __u32 B,
	     __u32 same_size, __u64 count, __u64 noverflow, __u32 kind,
	     __u64 bytes)
{
	struct slotreuse_counts *c = get_counts();
	struct grow_info gi = {
		.ts = bpf_ktime_get_ns(), .bytes = bytes, .kind = kind,
	};

	if (skip_map(id) || !c)
		return 0;
	__sync_fetch_and_add(&c->grows, 1);
	if (same_size)
		__sync_fetch_and_add(&c->same_size_grows, 1);
	if (kind == TOPHASH_GROW_SHRINK)
		__sync_fetch_and_add(&c->shrinks, 1);
	bpf_map_update_elem(&grows, &id, &gi, BPF_ANY);
	return 0;
}

SEC("raw_tp/tophash_grow_done")
int BPF_PROG(on_grow_done, __u32 id, __u64 gen, __u64 newgen, __u32 B,
	     __u32 same_size, __u64 count, __u64 noverflow, __u32 kind,
	     __u64 bytes)
{
	struct slotreuse_counts *c = get_counts();
	struct slotreuse_hists *h = get_hists();
	struct grow_info *gi;

	if (skip_map(id) || !c || !h)
		return 0;
	__sync_fetch_and_add(&c->grows_done, 1);
	if (kind == TOPHASH_GROW_SHRINK)
		__sync_fetch_and_add(&c->shrinks_done, 1);
	gi = bpf_map_lookup_elem(&grows, &id);
	if (!gi)
		return 0;	/* started before we attached */
	hist_add(&h->grow, ns_to_unit(bpf_ktime_get_ns() - gi->ts));
	if (kind == TOPHASH_GROW_SHRINK && gi->bytes > bytes)
		__sync_fetch_and_add(&c->shrink_bytes, gi->bytes - bytes);
	bpf_map_delete_elem(&grows, &id);
	return 0;
}

struct clear_ctx {
	__u64 gen;
	__u64 cleared;
	__u32 id;
};

static long clear_slot(struct bpf_map *map, struct slot_key *key,
		       struct slot_info *info, struct clear_ctx *cc)
{
	if (key->id == cc->id && key->gen <= cc->gen &&
	    !bpf_map_delete_elem(map, key))
		cc->cleared++;
	return 0;
}

/* Every slot of arrays @gen and older of map @id is gone. */
SEC("raw_tp/tophash_clear")
int BPF_PROG(on_clear, __u32 id, __u64 gen, __u64 newgen, __u64 entries,
	     __u64 overflow, __u64 oldbuckets, __u32 destroy)
{
	struct clear_ctx cc = { .gen = gen, .id = id };
	struct slotreuse_counts *c = get_counts();

	if (skip_map(id) || !c)
		return 0;
	__sync_fetch_and_add(destroy ? &c->destroys : &c->clears, 1);
	bpf_for_each_map_elem(&pending, clear_slot, &cc, 0);
	if (cc.cleared)
		__sync_fetch_and_add(&c->cleared, cc.cleared);
	/* a clear ends any growth in progress: it will never finish */
	bpf_map_delete_elem(&grows, &id);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
