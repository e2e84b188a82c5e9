/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of the tophash map, system "tophash".
 *
 * Every argument is a scalar, so raw_tp BPF programs read them as
 * BPF_PROG(prog, u32 id, u64 gen, ...) with no module BTF. Field meanings
 * shared by several events:
 *
 *   id      the map's id (as in TOPHASH_IOC_CREATE and debugfs)
 *   gen     generation of the bucket array the event is about: every bucket
 *           array a map allocates (create, grow start, clear) gets the next
 *           number, so (id, gen, bucket, depth, slot) names one slot for the
 *           life of the map
 *   bucket  index of the primary bucket in its array
 *   depth   position in the bucket's chain: 0 the primary bucket, 1 its
 *           first overflow bucket, ...
 *   slot    0..7 within that bucket
 *   tophash the slot's tophash byte (>= 5 for a full slot)
 *   growing 1 when an evacuation is in progress (oldbuckets != NULL)
 *   count   live entries after the operation
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM tophash

#if !defined(_TOPHASH_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TOPHASH_TRACE_H

#include <linux/tracepoint.h>
#include <uapi/tophash.h>

/* Kinds of assign, tophash_assign's kind field: TOPHASH_ASSIGN_* (uapi). */

#define th_show_grow(k)						\
	__print_symbolic(k, { TOPHASH_GROW_DOUBLE, "double" },		\
			 { TOPHASH_GROW_SAME_SIZE, "same" },		\
			 { TOPHASH_GROW_SHRINK, "shrink" })

#define th_show_kind(k)						\
	__print_symbolic(k, { TOPHASH_ASSIGN_UPDATE, "update" },	\
			 { TOPHASH_ASSIGN_FRESH, "fresh" },		\
			 { TOPHASH_ASSIGN_REUSE, "reuse" },		\
			 { TOPHASH_ASSIGN_OVERFLOW, "overflow" })

/*
 * tophash_assign - a key was written into slot (bucket, depth, slot)
 * @kind: TOPHASH_ASSIGN_*; update leaves the slot's state alone, the others
 *	publish a new full slot
 */
TRACE_EVENT(tophash_assign,
	TP_PROTO(u32 id, u64 gen, u32 bucket, u32 depth, u32 slot, u32 tophash,
		 u32 kind, u32 growing, u64 count),
	TP_ARGS(id, gen, bucket, depth, slot, tophash, kind, growing, count),
	TP_STRUCT__entry(
		__field(u32, id)
		__field(u64, gen)
		__field(u32, bucket)
		__field(u32, depth)
		__field(u32, slot)
		__field(u32, tophash)
		__field(u32, kind)
		__field(u32, growing)
		__field(u64, count)
	),
	TP_fast_assign(
		__entry->id = id;
		__entry->gen = gen;
		__entry->bucket = bucket;
		__entry->depth = depth;
		__entry->slot = slot;
		__entry->tophash = tophash;
		__entry->kind = kind;
		__entry->growing = growing;
		__entry->count = count;
	),
	TP_printk("map=%u gen=%llu bucket=%u depth=%u slot=%u tophash=%u kind=%s growing=%u count=%llu",
		  __entry->id, __entry->gen, __entry->bucket, __entry->depth,
		  __entry->slot, __entry->tophash, th_show_kind(__entry->kind),
		  __entry->growing, __entry->count)
);

/*
 * tophash_delete - slot (bucket, depth, slot) was emptied
 * @tophash: the tophash the key had
 * @rest: slots the backward walk turned into emptyRest, this one included
 *	(0: the slot stays emptyOne)
 */
TRACE_EVENT(tophash_delete,
	TP_PROTO(u32 id, u64 gen, u32 bucket, u32 depth, u32 slot, u32 tophash,
		 u32 rest, u32 growing, u64 count),
	TP_ARGS(id, gen, bucket, depth, slot, tophash, rest, growing, count),
	TP_STRUCT__entry(
		__field(u32, id)
		__field(u64, gen)
		__field(u32, bucket)
		__field(u32, depth)
		__field(u32, slot)
		__field(u32, tophash)
		__field(u32, rest)
		__field(u32, growing)
		__field(u64, count)
	),
	TP_fast_assign(
		__entry->id = id;
		__entry->gen = gen;
		__entry->bucket = bucket;
		__entry->depth = depth;
		__entry->slot = slot;
		__entry->tophash = tophash;
		__entry->rest = rest;
		__entry->growing = growing;
		__entry->count = count;
	),
	TP_printk("map=%u gen=%llu bucket=%u depth=%u slot=%u tophash=%u rest=%u growing=%u count=%llu",
		  __entry->id, __entry->gen, __entry->bucket, __entry->depth,
		  __entry->slot, __entry->tophash, __entry->rest,
		  __entry->growing, __entry->count)
);

/*
 * tophash_evacuate - old bucket @bucket's chain was moved to the new array
 * @gen: generation of the old array; @newgen: of the array it moved into
 * @depth: buckets the old chain had
 * @moved_x: entries moved to new bucket @bucket
 * @moved_y: entries moved to new bucket @bucket + old size (0 same-size)
 * @dropped: emptyOne (deleted, never reused) slots discarded
 * @released: overflow buckets of the old chain freed (after RCU)
 * @nevacuate: the evacuation mark as this evacuation ran (before it advances)
 * @same_size: the growth keeps B
 *	(what the evacuation does, TOPHASH_GROW_*, is the kind of the
 *	tophash_grow_start with the same @gen -> @newgen: BPF raw_tp programs
 *	take at most 12 arguments; a shrink moves every entry to X, new bucket
 *	@bucket & (2^B - 1), appended behind what the other half put there)
 * @duration_ns: time this evacuation took, overflow pre-allocation, copy,
 *	marking and release included, tracepoint handlers excluded (the
 *	tophash_evacuate_drop events of a chain fire after it is measured,
 *	but for buckets deeper than 16 in a chain); 0 when this event is off
 */
TRACE_EVENT(tophash_evacuate,
	TP_PROTO(u32 id, u64 gen, u64 newgen, u32 bucket, u32 depth,
		 u32 moved_x, u32 moved_y, u32 dropped, u32 released,
		 u64 nevacuate, u32 same_size, u64 duration_ns),
	TP_ARGS(id, gen, newgen, bucket, depth, moved_x, moved_y, dropped,
		released, nevacuate, same_size, duration_ns),
	TP_STRUCT__entry(
		__field(u32, id)
		__field(u64, gen)
		__field(u64, newgen)
		__field(u32, bucket)
		__field(u32, depth)
		__field(u32, moved_x)
		__field(u32, moved_y)
		__field(u32, dropped)
		__field(u32, released)
		__field(u64, nevacuate)
		__field(u32, same_size)
		__field(u64, duration_ns)
	),
	TP_fast_assign(
		__entry->id = id;
		__entry->gen = gen;
		__entry->newgen = newgen;
		__entry->bucket = bucket;
		__entry->depth = depth;
		__entry->moved_x = moved_x;
		__entry->moved_y = moved_y;
		__entry->dropped = dropped;
		__entry->released = released;
		__entry->nevacuate = nevacuate;
		__entry->same_size = same_size;
		__entry->duration_ns = duration_ns;
	),
	TP_printk("map=%u gen=%llu->%llu bucket=%u depth=%u x=%u y=%u dropped=%u released=%u nevacuate=%llu same_size=%u ns=%llu",
		  __entry->id, __entry->gen, __entry->newgen, __entry->bucket,
		  __entry->depth, __entry->moved_x, __entry->moved_y,
		  __entry->dropped, __entry->released, __entry->nevacuate,
		  __entry->same_size, __entry->duration_ns)
);

/*
 * tophash_evacuate_drop - the empty slots of one bucket of an old chain,
 *	fired (before tophash_evacuate) for each bucket of the chain that had
 *	any, so a consumer can close the windows of the deleted slots it
 *	tracks at (id, gen, bucket, depth, slot)
 * @empty_mask: bit i set: slot i was empty (emptyOne or emptyRest)
 * @deleted_mask: bit i set: slot i was emptyOne
 */
TRACE_EVENT(tophash_evacuate_drop,
	TP_PROTO(u32 id, u64 gen, u32 bucket, u32 depth, u32 empty_mask,
		 u32 deleted_mask),
	TP_ARGS(id, gen, bucket, depth, empty_mask, deleted_mask),
	TP_STRUCT__entry(
		__field(u32, id)
		__field(u64, gen)
		__field(u32, bucket)
		__field(u32, depth)
		__field(u32, empty_mask)
		__field(u32, deleted_mask)
	),
	TP_fast_assign(
		__entry->id = id;
		__entry->gen = gen;
		__entry->bucket = bucket;
		__entry->depth = depth;
		__entry->empty_mask = empty_mask;
		__entry->deleted_mask = deleted_mask;
	),
	TP_printk("map=%u gen=%llu bucket=%u depth=%u empty=0x%02x deleted=0x%02x",
		  __entry->id, __entry->gen, __entry->bucket, __entry->depth,
		  __entry->empty_mask, __entry->deleted_mask)
);

DECLARE_EVENT_CLASS(tophash_grow_class,
	TP_PROTO(u32 id, u64 gen, u64 newgen, u32 B, u32 same_size, u64 count,
		 u64 noverflow, u32 kind, u64 bytes),
	TP_ARGS(id, gen, newgen, B, same_size, count, noverflow, kind, bytes),
	TP_STRUCT__entry(
		__field(u32, id)
		__field(u64, gen)
		__field(u64, newgen)
		__field(u32, B)
		__field(u32, same_size)
		__field(u64, count)
		__field(u64, noverflow)
		__field(u32, kind)
		__field(u64, bytes)
	),
	TP_fast_assign(
		__entry->id = id;
		__entry->gen = gen;
		__entry->newgen = newgen;
		__entry->B = B;
		__entry->same_size = same_size;
		__entry->count = count;
		__entry->noverflow = noverflow;
		__entry->kind = kind;
		__entry->bytes = bytes;
	),
	TP_printk("map=%u gen=%llu->%llu B=%u same_size=%u count=%llu noverflow=%llu kind=%s bytes=%llu",
		  __entry->id, __entry->gen, __entry->newgen, __entry->B,
		  __entry->same_size, __entry->count, __entry->noverflow,
		  th_show_grow(__entry->kind), __entry->bytes)
);

/*
 * tophash_grow_start - a growth began: @gen is the array that becomes
 *	oldbuckets, @newgen the new array of 2^@B buckets; @noverflow is the
 *	overflow count that (for a same-size growth) triggered it; @kind
 *	(TOPHASH_GROW_*) says whether it doubles B, keeps it or halves it (a
 *	shrink, TOPHASH_F_SHRINK maps only); @same_size is kept for consumers
 *	that predate @kind; @bytes is what the map held (INFO's bytes) just
 *	before the growth allocated anything
 */
DEFINE_EVENT(tophash_grow_class, tophash_grow_start,
	TP_PROTO(u32 id, u64 gen, u64 newgen, u32 B, u32 same_size, u64 count,
		 u64 noverflow, u32 kind, u64 bytes),
	TP_ARGS(id, gen, newgen, B, same_size, count, noverflow, kind, bytes)
);

/*
 * tophash_grow_done - every old bucket is evacuated and the old array
 *	(@gen) is retired; @newgen is the array that stays; @bytes is what the
 *	map holds after (its start event's @bytes less this is what a shrink
 *	gave back)
 */
DEFINE_EVENT(tophash_grow_class, tophash_grow_done,
	TP_PROTO(u32 id, u64 gen, u64 newgen, u32 B, u32 same_size, u64 count,
		 u64 noverflow, u32 kind, u64 bytes),
	TP_ARGS(id, gen, newgen, B, same_size, count, noverflow, kind, bytes)
);

/*
 * tophash_finish - the background finisher ran one step on an evacuation
 *	no write had advanced for TH_FINISH_DELAY, or started a shrink that
 *	was due (see tophash_finish_step())
 * @gen: generation of the current array after the step
 * @evacuated: old buckets this step evacuated
 * @nevacuate: the evacuation mark after the step (0 when it completed)
 * @kind: TOPHASH_GROW_* of the evacuation the step worked on or started
 * @done: the step completed the evacuation (tophash_grow_done fired)
 * @started: the step started a shrink (tophash_grow_start fired)
 */
TRACE_EVENT(tophash_finish,
	TP_PROTO(u32 id, u64 gen, u32 evacuated, u64 nevacuate, u32 kind,
		 u32 done, u32 started),
	TP_ARGS(id, gen, evacuated, nevacuate, kind, done, started),
	TP_STRUCT__entry(
		__field(u32, id)
		__field(u64, gen)
		__field(u32, evacuated)
		__field(u64, nevacuate)
		__field(u32, kind)
		__field(u32, done)
		__field(u32, started)
	),
	TP_fast_assign(
		__entry->id = id;
		__entry->gen = gen;
		__entry->evacuated = evacuated;
		__entry->nevacuate = nevacuate;
		__entry->kind = kind;
		__entry->done = done;
		__entry->started = started;
	),
	TP_printk("map=%u gen=%llu evacuated=%u nevacuate=%llu kind=%s done=%u started=%u",
		  __entry->id, __entry->gen, __entry->evacuated,
		  __entry->nevacuate, th_show_grow(__entry->kind),
		  __entry->done, __entry->started)
);

/*
 * tophash_clear - the map was emptied (@destroy 0) or freed (@destroy 1):
 *	every slot of arrays @gen and older is gone; @newgen is the fresh
 *	array (0 on destroy)
 * @entries: live entries removed
 * @overflow: overflow buckets freed
 * @oldbuckets: buckets of an unfinished growth's old array freed
 */
TRACE_EVENT(tophash_clear,
	TP_PROTO(u32 id, u64 gen, u64 newgen, u64 entries, u64 overflow,
		 u64 oldbuckets, u32 destroy),
	TP_ARGS(id, gen, newgen, entries, overflow, oldbuckets, destroy),
	TP_STRUCT__entry(
		__field(u32, id)
		__field(u64, gen)
		__field(u64, newgen)
		__field(u64, entries)
		__field(u64, overflow)
		__field(u64, oldbuckets)
		__field(u32, destroy)
	),
	TP_fast_assign(
		__entry->id = id;
		__entry->gen = gen;
		__entry->newgen = newgen;
		__entry->entries = entries;
		__entry->overflow = overflow;
		__entry->oldbuckets = oldbuckets;
		__entry->destroy = destroy;
	),
	TP_printk("map=%u gen=%llu->%llu entries=%llu overflow=%llu oldbuckets=%llu destroy=%u",
		  __entry->id, __entry->gen, __entry->newgen, __entry->entries,
		  __entry->overflow, __entry->oldbuckets, __entry->destroy)
);

#endif /* _TOPHASH_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE tophash_trace
#include <trace/define_trace.h>
