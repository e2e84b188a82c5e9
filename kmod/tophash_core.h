/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tophash map core, internal: the types and the functions the module's own
 * files (the device, debugfs, the in-kernel API) and the tests that build
 * the core in userspace use. Other modules include <linux/tophash.h>, the
 * public API, instead. The layout mirrors Go's classic runtime map (Go 1.19-1.23
 * runtime/map.go): buckets of 8 slots, a tophash byte per slot, overflow
 * chains, incremental growth by evacuation.
 */
#ifndef _TOPHASH_CORE_H
#define _TOPHASH_CORE_H

#include <linux/types.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/siphash.h>
#include <linux/seqlock.h>
#include <linux/workqueue.h>
#include <asm/byteorder.h>
#include <asm/unaligned.h>
#include <uapi/tophash.h>
#include <linux/tophash.h>

#define TH_SLOTS		TOPHASH_BUCKET_SLOTS
/* Grow when count > 6.5 * 2^B, written as Go does: 13 / 2. */
#define TH_LOAD_NUM		13
#define TH_LOAD_DEN		2
/* Old buckets advanceEvacuationMark scans past in one step. */
#define TH_EVAC_SCAN		1024
/* Sequence counts guarding in-place overwrites, striped by bucket index. */
#define TH_SEQ_STRIPES		64
/*
 * The background finisher: an evacuation no write advanced for this long
 * is moved on by a work item, TH_FINISH_STEP old buckets per run under
 * m->lock (see tophash_finish_step()). A second: an evacuation that writes
 * leave alone for a moment (INFO, LAYOUT, a test looking at a map caught
 * mid-growth) is not taken away under them.
 */
#define TH_FINISH_DELAY		HZ
#define TH_FINISH_STEP		64

/*
 * The fixed-size paths of lookup, assign and delete: the same code as the
 * generic path, with the key and value sizes and every bucket offset as
 * compile-time constants (Go's mapaccess1_fast64 and friends in spirit).
 */
enum th_fast {
	TH_FAST_NONE,	/* the generic path: sizes and offsets read from the map */
	TH_FAST_K8V8,	/* 8-byte keys, 8-byte values */
	TH_FAST_K16V8,	/* 16-byte keys, 8-byte values */
	TH_FAST_K4V8,	/* 4-byte keys, 8-byte values */
	TH_FAST_K64V8,	/* 64-byte keys, 8-byte values */
};

/**
 * struct tophash_table - what a reader needs to find a key, published as one
 *	RCU object so that B, buckets and oldbuckets are always seen together
 * @rcu: frees this table (and what @dead names) after a grace period
 * @buckets: 2^@B buckets of the current table
 * @oldbuckets: the table being evacuated, NULL when not growing
 * @B: log2 of the number of buckets in @buckets
 * @mask: 2^@B - 1, what a hash is masked with for its bucket in @buckets
 * @same_size: the growth in progress keeps B (overflow clean-up)
 * @shrink: the growth in progress halves B: @oldbuckets has 2^(@B+1)
 *	buckets, old buckets j and j + 2^@B both go to new bucket j
 * @oldB: log2 of the number of buckets in @oldbuckets (@B - 1 doubling,
 *	@B same-size, @B + 1 shrink), set with @oldbuckets
 * @bucket_size: bytes per bucket (copied from the map for the RCU callback)
 * @ovf_off: offset of the overflow pointer in a bucket
 * @gen: generation of @buckets: each bucket array a map allocates gets the
 *	next number (create, grow start, clear); tracepoints name slots by it
 * @oldgen: generation of @oldbuckets
 * @seed: siphash key; re-drawn when the map becomes empty and on clear
 * @dead: bucket arrays to free with this table object when it is retired
 * @dead.buckets: the array
 * @dead.nbuckets: its length
 * @dead.chains: also free the overflow chains hanging off it
 */
struct tophash_table {
	struct rcu_head rcu;
	u8 *buckets;
	u8 *oldbuckets;
	unsigned long mask;
	u8 B;
	bool same_size;
	bool shrink;
	u8 oldB;
	u32 bucket_size;
	u32 ovf_off;
	u64 gen;
	u64 oldgen;
	siphash_key_t seed;
	struct {
		u8 *buckets;
		unsigned long nbuckets;
		bool chains;
	} dead[2];
};

/**
 * struct tophash_map - one map
 * @lock: serializes writers (assign, delete, clear, evacuation), INFO and
 *	LAYOUT; protects every field below except what lookups read locklessly
 * @tbl: the current table
 * @created: CREATE succeeded; every other field is valid only then (set
 *	with release after them, read with acquire by unlocked users)
 * @id: small integer naming the map in tracepoints and debugfs
 * @flags: TOPHASH_F_* given at create
 * @key_size: bytes per key
 * @value_size: bytes per value
 * @bucket_size: bytes per bucket: tophash[8], keys, values, overflow pointer
 * @val_off: offset of the first value in a bucket
 * @ovf_off: offset of the overflow pointer in a bucket
 * @count: live entries
 * @max_entries: most entries the map may hold
 * @noverflow: overflow buckets hanging off @tbl->buckets
 * @noldoverflow: overflow buckets hanging off @tbl->oldbuckets
 * @nevacuate: old buckets below this index are evacuated
 * @generation: last bucket-array generation handed out
 * @bytes: bytes this map holds now, retired-but-unfreed memory excluded
 * @dbg: debugfs directory of this map
 * @rcu: frees an in-kernel map after lockless readers are done with it
 * @fast: the fixed-size path (enum th_fast) lookups, assigns and deletes
 *	take, chosen at create from the key and value sizes
 * @shrink_pct: TOPHASH_F_SHRINK's threshold (percent of the slots of the
 *	primary buckets), 0 when the map never shrinks
 * @min_B: the B the size hint gave at create: a shrink never goes below it
 * @evac_writes: writes that did evacuation work; the finisher moves an
 *	evacuation on only when this did not change since it was queued
 * @finish_seen: @evac_writes when the finisher was last queued
 * @finish: the background finisher (tophash_finish_step())
 * @memcg: the memory cgroup of the task that created the map (a reference);
 *	the finisher's allocations are charged to it, as the writes' are to
 *	theirs (a work item runs in no task's group)
 * @seq: write sections around in-place overwrites of live slots (value
 *	update, delete zeroing), one per stripe of primary-bucket indexes of
 *	the current array; lockless readers retry when one overlapped them
 * @rsv: what the write in progress allocated before changing anything;
 *	empty between writes (under @lock)
 */
/**
 * struct th_reserve - allocations made for one write before it changes the
 *	map, so that it either fails with -ENOMEM having changed nothing or
 *	cannot fail once it changed something (see th_reserve_fill())
 * @tbl: table structures (a growth's start, its completion)
 * @arr: the bucket array of a growth's start, of @B
 * @ovf: overflow buckets, chained through their overflow links
 * @ntbl: tables held in @tbl
 * @B: log2 of @arr's buckets
 */
struct th_reserve {
	struct tophash_table *tbl[2];
	u8 *arr;
	u8 *ovf;
	u8 ntbl;
	u8 B;
};

struct tophash_map {
	struct mutex lock;
	struct tophash_table __rcu *tbl;
	bool created;
	u32 id;
	u32 flags;
	u32 key_size;
	u32 value_size;
	u32 bucket_size;
	u32 val_off;
	u32 ovf_off;
	u64 count;
	u64 max_entries;
	u8 fast;
	u64 noverflow;
	u64 noldoverflow;
	u64 nevacuate;
	u64 generation;
	u64 bytes;
	struct dentry *dbg;
	struct rcu_head rcu;
	u8 shrink_pct;
	u8 min_B;
	u64 evac_writes;
	u64 finish_seen;
	struct delayed_work finish;
	struct mem_cgroup *memcg;
	seqcount_t seq[TH_SEQ_STRIPES];
	struct th_reserve rsv;
};

/* Bytes allocated by every map of the module and not yet freed. */
extern atomic64_t tophash_live_bytes;
/*
 * While set, the background finisher takes no step (it looks again after
 * TH_FINISH_DELAY): tests that compare a map before and after an operation
 * set it. debugfs tophash/finisher_paused.
 */
extern bool tophash_finisher_paused;

/*
 * Allocation failure injection: every allocation of tophash.ko asks
 * th_fail_alloc() first and fails when it says so. Its knobs are the
 * kernel's fault-injection attributes (Documentation/fault-injection/) in
 * debugfs tophash/fail_alloc/; "space" N with "times" 1 fails the Nth
 * allocation from then on. Only in kernels with
 * CONFIG_FAULT_INJECTION_DEBUG_FS (our debug kernels); never fails elsewhere.
 */
#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
#include <linux/fault-inject.h>

extern struct fault_attr tophash_fail_alloc_attr;

static inline bool th_fail_alloc(void)
{
	return should_fail(&tophash_fail_alloc_attr, 1);
}
#else
static inline bool th_fail_alloc(void)
{
	return false;
}
#endif

/* The public API (tophash_map_new(), tophash_update(), ...) is <linux/tophash.h>'s. */
void tophash_map_init(struct tophash_map *m);
int tophash_map_create(struct tophash_map *m, const struct tophash_create *c,
		       u32 id);
void tophash_map_destroy(struct tophash_map *m);

/*
 * The default hash: a keyed multiply-mix of the class Go uses without AES
 * (runtime/hash64.go) and abseil uses (a 64x64->128 bit multiply whose two
 * halves are folded by XOR). Each fold spreads every input bit over the
 * whole 128-bit product, and the XOR brings the high half's well-mixed bits
 * down to the low bits the bucket index uses. The key is read 16 bytes at a
 * time, little-endian, into a running state that starts from the table's
 * seed; the last (up to) 16 bytes are read as two overlapping words, and a
 * final fold with the other seed half and the length ends it. An 8-byte key
 * costs two multiplies. See the uapi header for what it resists and what
 * it does not (TOPHASH_F_SIPHASH).
 */
#define TH_MIX_P0	0x9e3779b97f4a7c15ULL	/* 2^64 / golden ratio */
#define TH_MIX_P1	0xbf58476d1ce4e5b9ULL	/* splitmix64's multipliers */
#define TH_MIX_P2	0x94d049bb133111ebULL

static __always_inline u64 th_fold(u64 a, u64 b)
{
#ifdef __SIZEOF_INT128__	/* as math64.h's mul_u64_u32_shr() */
	__uint128_t p = (__uint128_t)a * b;

	return (u64)p ^ (u64)(p >> 64);
#else
	u64 al = (u32)a, ah = a >> 32, bl = (u32)b, bh = b >> 32;
	u64 ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
	u64 mid = (ll >> 32) + (u32)lh + (u32)hl;

	return (((mid << 32) | (u32)ll)) ^ (hh + (lh >> 32) + (hl >> 32) + (mid >> 32));
#endif
}

static __always_inline u64 th_le64(const u8 *p)
{
	return le64_to_cpu(get_unaligned((const __le64 *)p));
}

static __always_inline u64 th_le32(const u8 *p)
{
	return le32_to_cpu(get_unaligned((const __le32 *)p));
}

/* @len bytes at @p (1..TOPHASH_MAX_KEY_SIZE) under the seed halves @s0, @s1. */
static __always_inline u64 th_mix_hash(const u8 *p, u32 len, u64 s0, u64 s1)
{
	u64 a, b, s = s0;
	u32 left = len;

	if (len > 16) {
		/* Straight-line code for the fixed sizes (64 bytes: 3 rounds). */
#pragma GCC unroll 4
		do {
			s = th_fold(th_le64(p) ^ TH_MIX_P1, th_le64(p + 8) ^ s);
			p += 16;
			left -= 16;
		} while (left > 16);
		a = th_le64(p + left - 16);
		b = th_le64(p + left - 8);
	} else if (len >= 8) {
		a = th_le64(p);
		b = th_le64(p + len - 8);
	} else if (len >= 4) {
		a = th_le32(p);
		b = th_le32(p + len - 4);
	} else {
		a = (u64)p[0] << 16 | (u64)p[len >> 1] << 8 | p[len - 1];
		b = 0;
	}
	/* Odd, so never 0: the last fold is a bijection of its first input's low half. */
	return th_fold(th_fold(a ^ s ^ TH_MIX_P0, b ^ s1) ^ TH_MIX_P2, (s1 ^ len) | 1);
}

/**
 * th_overflow() - the next bucket of a chain, NULL at its end, for writers
 *	and walkers that hold m->lock (lockless readers use th_overflow_rcu())
 * @m: the map
 * @b: a bucket; its first TH_SLOTS bytes are its tophash array
 */
static inline u8 *th_overflow(const struct tophash_map *m, const u8 *b)
{
	return rcu_dereference_protected(*(u8 __rcu *const *)(b + m->ovf_off),
					 lockdep_is_held(&m->lock));
}

/*
 * Called under m->lock for each chain: @head is the primary bucket, follow
 * it with th_overflow(); a non-zero return stops the walk.
 */
typedef int (*tophash_chain_fn)(void *arg, u32 table, u32 bucket, u32 depth,
				const u8 *head);
int tophash_walk_layout(struct tophash_map *m, tophash_chain_fn fn, void *arg,
			u32 *B, u32 *nchains);

#endif /* _TOPHASH_CORE_H */
