// SPDX-License-Identifier: GPL-2.0
/*
 * tophash_bench: the same workloads on a tophash map and on the kernel's
 * rhashtable (lib/rhashtable.c) holding the same keys, in the same run,
 * interleaved: each phase is cut into @slices slices that alternate between
 * the two maps, the order flipping at every slice, so that noise (other
 * guests on the host, TCG) hits both alike. Each map's rate in a round is
 * its operations over its summed time; rounds give a median and a spread.
 *
 * Workloads, each timed with ktime_get_ns():
 *   insert          nkeys keys into an empty map, growth included (for
 *                   rhashtable until its deferred resize worker is done too)
 *   insert_pregrown the same again after the delete phase emptied the
 *                   maps, which keep their grown tables (neither shrinks):
 *                   the insert path without growth. (rhashtable cannot be
 *                   created that big: nelem_hint is a u16.)
 *   bytes           after the insert: bytes per entry from the allocators'
 *                   own counts (tophash_info(); ksize() of every rhashtable
 *                   object plus its bucket tables)
 *   lookup_hit      lookup_ops lookups of present keys, in a scattered order
 *   lookup_miss     lookup_ops lookups of keys from a disjoint stream
 *   readers         nreaders kthreads looking up present keys for
 *                   duration_ms, alone, then (readers_writer) while this
 *                   thread churns other keys (writer)
 *   delete          every key
 *   churn           insert one key, delete the oldest, at a steady
 *                   churn_keys entries, in fresh maps
 *   hash            only the hash of each key, as each map computes it:
 *                   th_mix_hash() with the key size (tophash's default;
 *                   siphash() with siphash=1) and jhash2() inlined for the
 *                   constant key size (rhashtable's default)
 *
 * Keys: key i is the i-th output of splitmix64 from a fixed seed (a
 * bijection of i, so all distinct); a 16- or 64-byte key continues with
 * further words mixed from the first. Hits are keys [0, nkeys), misses keys
 * [nkeys, 2 * nkeys) of the same stream. The value of key i is i.
 *
 * The rhashtable side is what a careful kernel user writes: constant
 * rhashtable_params (so the jhash2 and key compare are inlined for the key
 * size), objects { rhash_head, 8-byte value, key } from kmalloc(),
 * rhashtable_lookup_insert_fast() (map semantics: a present key is
 * -EEXIST, as TOPHASH_NOEXIST), lookups with rhashtable_lookup() under
 * rcu_read_lock(), and removed objects freed with kvfree_rcu_mightsleep(),
 * which needs no rcu_head in the object. automatic_shrinking is off:
 * tophash, like Go's map, never shrinks, so both keep their tables after
 * deletes and neither pays for a shrink. Lookups on both sides run in
 * batches of BM_BATCH under one rcu_read_lock().
 *
 * Loading the module runs the benchmark and prints "bench:" lines (one per
 * round and result, then a summary per result) for bench/mkresults.py.
 * Init returns 0 when every phase ran and every lookup returned what it
 * should, else an errno, so insmod's status says whether the run is good;
 * the module holds nothing afterwards and the caller rmmod's it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/rhashtable.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/gcd.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/overflow.h>
#include <linux/siphash.h>
#include <linux/jhash.h>
#include <linux/tophash.h>
/* For th_mix_hash(), whose cost alone one phase measures. */
#include "tophash_core.h"

static ulong nkeys = 1000000;
module_param(nkeys, ulong, 0444);
MODULE_PARM_DESC(nkeys, "keys inserted, looked up and deleted (default 1000000)");

static ulong lookup_ops;
module_param(lookup_ops, ulong, 0444);
MODULE_PARM_DESC(lookup_ops, "lookups per lookup phase (default 0: nkeys)");

static ulong churn_keys = 500000;
module_param(churn_keys, ulong, 0444);
MODULE_PARM_DESC(churn_keys, "entries held during the churn (default 500000, below nkeys)");

static ulong churn_ops = 1000000;
module_param(churn_ops, ulong, 0444);
MODULE_PARM_DESC(churn_ops, "churn ops, half inserts, half deletes (default 1000000)");

static uint rounds = 3;
module_param(rounds, uint, 0444);
MODULE_PARM_DESC(rounds, "rounds of every workload (default 3, at most 15)");

static uint slices = 10;
module_param(slices, uint, 0444);
MODULE_PARM_DESC(slices, "each phase alternates the maps this many times per round (default 10)");

static uint keysize = 8;
module_param(keysize, uint, 0444);
MODULE_PARM_DESC(keysize, "key bytes: 8, 16 or 64 (default 8)");

static bool bm_siphash;
module_param_named(siphash, bm_siphash, bool, 0444);
MODULE_PARM_DESC(siphash, "tophash maps hash with SipHash (TOPHASH_F_SIPHASH; default 0: the default multiply-mix)");

static bool drain;
module_param(drain, bool, 0444);
MODULE_PARM_DESC(drain, "instead of the workloads: memory and delete rate of a 90% drain of nkeys keys (default 0)");

static uint duration_ms = 1000;
module_param(duration_ms, uint, 0444);
MODULE_PARM_DESC(duration_ms, "milliseconds of each readers phase (default 1000)");

static uint nreaders = 2;
module_param(nreaders, uint, 0444);
MODULE_PARM_DESC(nreaders, "reader kthreads of the readers phases (default 2, at most 8)");

static char *workloads = "all";
module_param(workloads, charp, 0444);
MODULE_PARM_DESC(workloads, "comma list of insert,lookup_hit,lookup_miss,readers,delete,churn,hash,insert_pregrown or all");

static char *impls = "tophash,rhashtable";
module_param(impls, charp, 0444);
MODULE_PARM_DESC(impls, "comma list of tophash,rhashtable (default both)");

static char *label = "main";
module_param(label, charp, 0444);
MODULE_PARM_DESC(label, "run= tag of every output line (default main)");

#define BM_MAX_ROUNDS	15
#define BM_MAX_SLICES	1000
#define BM_RD_SLICES	8		/* slices of a readers phase */
#define BM_MAX_READERS	8
#define BM_BATCH	64		/* lookups per rcu_read_lock() section */
#define BM_RESCHED	256		/* operations between cond_resched() calls */
#define BM_WR_RING	65536		/* keys the writer of readers_writer cycles through */
#define BM_WR_WINDOW	4096		/* of which it holds this many */
#define BM_GAMMA	0x9e3779b97f4a7c15ULL
#define BM_SEED		0x746f706861736821ULL

enum bm_impl { BM_TOPHASH, BM_RHASH, BM_NIMPL };

static const char * const bm_impl_names[BM_NIMPL] = {
	[BM_TOPHASH] = "tophash",
	[BM_RHASH] = "rhashtable",
};

/* Selectable workloads (module parameter "workloads"). */
enum bm_work {
	BW_INSERT, BW_LOOKUP_HIT, BW_LOOKUP_MISS, BW_READERS, BW_DELETE,
	BW_CHURN, BW_HASH, BW_PREGROWN, BW_NWORK
};

static const char * const bm_work_names[BW_NWORK] = {
	[BW_INSERT] = "insert",
	[BW_LOOKUP_HIT] = "lookup_hit",
	[BW_LOOKUP_MISS] = "lookup_miss",
	[BW_READERS] = "readers",
	[BW_DELETE] = "delete",
	[BW_CHURN] = "churn",
	[BW_HASH] = "hash",
	[BW_PREGROWN] = "insert_pregrown",
};

/*
 * Reported rates: one per workload; the readers workload reports the
 * readers' summed rate alone and with the writer, the writer's rate, and
 * each of these per CPU-second of the threads (with three threads on two
 * vCPUs the wall-clock rates also measure how the scheduler shared them).
 */
enum bm_res {
	BR_INSERT, BR_LOOKUP_HIT, BR_LOOKUP_MISS, BR_READERS, BR_READERS_CPU,
	BR_READERS_WRITER, BR_READERS_WRITER_CPU, BR_WRITER, BR_WRITER_CPU,
	BR_DELETE, BR_CHURN, BR_HASH, BR_PREGROWN, BR_NRES
};

static const char * const bm_res_names[BR_NRES] = {
	[BR_INSERT] = "insert",
	[BR_LOOKUP_HIT] = "lookup_hit",
	[BR_LOOKUP_MISS] = "lookup_miss",
	[BR_READERS] = "readers",
	[BR_READERS_CPU] = "readers_cpu",
	[BR_READERS_WRITER] = "readers_writer",
	[BR_READERS_WRITER_CPU] = "readers_writer_cpu",
	[BR_WRITER] = "writer",
	[BR_WRITER_CPU] = "writer_cpu",
	[BR_DELETE] = "delete",
	[BR_CHURN] = "churn",
	[BR_HASH] = "hash",
	[BR_PREGROWN] = "insert_pregrown",
};

/* What the loops do; each is compiled once per implementation and key size. */
enum bm_phase {
	PH_INSERT, PH_LOOKUP, PH_DELETE, PH_CHURN, PH_READ, PH_WRITE, PH_HASH
};

/* An rhashtable entry: the same 8-byte value and key bytes as a tophash slot. */
struct bm_obj {
	struct rhash_head node;
	u64 val;
	u8 key[];
};

static const struct rhashtable_params bm_rh_params8 = {
	.head_offset = offsetof(struct bm_obj, node),
	.key_offset = offsetof(struct bm_obj, key),
	.key_len = 8,
	.automatic_shrinking = false,
};

static const struct rhashtable_params bm_rh_params16 = {
	.head_offset = offsetof(struct bm_obj, node),
	.key_offset = offsetof(struct bm_obj, key),
	.key_len = 16,
	.automatic_shrinking = false,
};

static const struct rhashtable_params bm_rh_params64 = {
	.head_offset = offsetof(struct bm_obj, node),
	.key_offset = offsetof(struct bm_obj, key),
	.key_len = 64,
	.automatic_shrinking = false,
};

/* One map under test. */
struct bm_map {
	enum bm_impl impl;
	u32 ksz;
	struct tophash_map *th;
	struct rhashtable ht;
	bool ht_live;
};

/**
 * struct bm_args - what one loop works on, and what it reports
 * @keys: key 0 of the keys the loop uses (stride: the key size)
 * @first: global index of @keys[0]; the value of key k is @first + k
 * @range: keys at @keys the loop draws from
 * @n: operations (insert, lookup, delete, churn)
 * @stride: lookup order: the k-th lookup is key (k * @stride) mod @range
 * @start: lookup: key index of this slice's first lookup
 * @expect_hit: lookups must find every key (else none)
 * @lo: churn/write: ring position of the oldest key held
 * @window: churn/write: keys held
 * @stop: read: set when the readers are to stop
 * @deadline: write: ktime_get_ns() at which the writer stops
 * @rng: read: random state
 * @done: operations done (by the last pass of a write)
 * @total: write: operations done by all its passes
 * @bad: lookups that returned what they should not have
 * @sink: hash: every hash xor-ed, so that none is optimized away
 */
struct bm_args {
	const u8 *keys;
	u64 first;
	u64 range;
	u64 n;
	u64 stride;
	u64 start;
	bool expect_hit;
	u64 lo;
	u64 window;
	const bool *stop;
	u64 deadline;
	u64 rng;
	u64 done;
	u64 total;
	u64 bad;
	u64 sink;
};

/* Rates of one result over the rounds, in operations per second. */
struct bm_stat {
	u64 rate[BM_MAX_ROUNDS];
	u64 ops;
	unsigned int n;
};

static struct {
	u8 *keys;		/* 2 * nkeys keys: hits, then misses */
	u32 ksz;
	bool impl_on[BM_NIMPL];
	bool work_on[BW_NWORK];
	struct bm_map maps[BM_NIMPL];
	struct bm_stat stat[BR_NRES][BM_NIMPL];
} bm;

static inline u64 bm_mix(u64 z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Key @i: splitmix64's i-th output, then more words mixed from it. */
static void bm_make_key(u8 *dst, u32 ksz, u64 i)
{
	u64 w = bm_mix(BM_SEED + (i + 1) * BM_GAMMA);
	u32 j;

	for (j = 0; j < ksz / sizeof(u64); j++) {
		memcpy(dst + j * sizeof(u64), &w, sizeof(u64));
		w = bm_mix(w + BM_GAMMA);
	}
}

static inline const u8 *bm_key(const u8 *keys, u32 ksz, u64 i)
{
	return keys + i * ksz;
}

/* A random index below @range (< 2^32) from a 64-bit LCG. */
static inline u64 bm_pick(u64 *rng, u64 range)
{
	*rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((*rng >> 32) * range) >> 32;
}

static __always_inline const struct rhashtable_params *bm_rh_params(u32 ksz)
{
	return ksz == 8 ? &bm_rh_params8 : ksz == 16 ? &bm_rh_params16 :
	       &bm_rh_params64;
}

/*
 * The rhashtable operations, one out-of-line function per operation and key
 * size (as tophash's are calls into its module), each flattened so that
 * rhashtable_lookup() inlines with constant parameters: jhash2 for the key
 * size, no indirect call. Left to itself, GCC outlined it into a clone
 * shared by both key sizes that hashes through ht->p.hashfn. The insert and
 * remove fast paths cannot be inlined on 6.1 whatever the caller does (GCC:
 * "function not inlinable": local_bh_disable() in rht_lock() takes a label's
 * address through _THIS_IP_), so they run as such a clone, as they do for
 * every user of this kernel.
 */
static __always_inline int bm_rh_insert(struct rhashtable *ht, const u32 ksz,
					const u8 *key, u64 val)
{
	struct bm_obj *obj;
	int err;

	obj = kmalloc(sizeof(*obj) + ksz, GFP_KERNEL);
	if (!obj)
		return -ENOMEM;
	obj->val = val;
	memcpy(obj->key, key, ksz);
	err = rhashtable_lookup_insert_fast(ht, &obj->node, *bm_rh_params(ksz));
	if (err)
		kfree(obj);
	return err;
}

/* Caller holds rcu_read_lock(). */
static __always_inline int bm_rh_lookup(struct rhashtable *ht, const u32 ksz,
					const u8 *key, u64 *val)
{
	struct bm_obj *obj;

	obj = rhashtable_lookup(ht, key, *bm_rh_params(ksz));
	if (!obj)
		return -ENOENT;
	*val = READ_ONCE(obj->val);
	return 0;
}

static __always_inline int bm_rh_delete(struct rhashtable *ht, const u32 ksz,
					const u8 *key)
{
	struct bm_obj *obj;
	int err = -ENOENT;

	rcu_read_lock();
	obj = rhashtable_lookup(ht, key, *bm_rh_params(ksz));
	if (obj)
		err = rhashtable_remove_fast(ht, &obj->node, *bm_rh_params(ksz));
	rcu_read_unlock();
	/* Lockless readers may still hold @obj: free it after a grace period. */
	if (!err)
		kvfree_rcu_mightsleep(obj);
	return err;
}

static noinline __flatten int bm_rh_insert8(struct rhashtable *ht,
					     const u8 *key, u64 val)
{
	return bm_rh_insert(ht, 8, key, val);
}

static noinline __flatten int bm_rh_insert16(struct rhashtable *ht,
					      const u8 *key, u64 val)
{
	return bm_rh_insert(ht, 16, key, val);
}

static noinline __flatten int bm_rh_insert64(struct rhashtable *ht,
					      const u8 *key, u64 val)
{
	return bm_rh_insert(ht, 64, key, val);
}

static noinline __flatten int bm_rh_lookup8(struct rhashtable *ht,
					     const u8 *key, u64 *val)
{
	return bm_rh_lookup(ht, 8, key, val);
}

static noinline __flatten int bm_rh_lookup16(struct rhashtable *ht,
					      const u8 *key, u64 *val)
{
	return bm_rh_lookup(ht, 16, key, val);
}

static noinline __flatten int bm_rh_lookup64(struct rhashtable *ht,
					      const u8 *key, u64 *val)
{
	return bm_rh_lookup(ht, 64, key, val);
}

static noinline __flatten int bm_rh_delete8(struct rhashtable *ht,
					     const u8 *key)
{
	return bm_rh_delete(ht, 8, key);
}

static noinline __flatten int bm_rh_delete16(struct rhashtable *ht,
					      const u8 *key)
{
	return bm_rh_delete(ht, 16, key);
}

static noinline __flatten int bm_rh_delete64(struct rhashtable *ht,
					      const u8 *key)
{
	return bm_rh_delete(ht, 64, key);
}

/*
 * One operation on either map. @impl and @ksz are constants in every caller
 * (see bm_run_*()), so each loop below is compiled once per implementation
 * and key size with no dispatch left inside it.
 */
static __always_inline int bm_insert(struct bm_map *m, const int impl,
				     const u32 ksz, const u8 *key, u64 val)
{
	if (impl == BM_TOPHASH)
		return tophash_update(m->th, key, &val, TOPHASH_NOEXIST);
	if (ksz == 8)
		return bm_rh_insert8(&m->ht, key, val);
	if (ksz == 16)
		return bm_rh_insert16(&m->ht, key, val);
	return bm_rh_insert64(&m->ht, key, val);
}

/* Caller holds rcu_read_lock(). */
static __always_inline int bm_lookup(struct bm_map *m, const int impl,
				     const u32 ksz, const u8 *key, u64 *val)
{
	if (impl == BM_TOPHASH)
		return tophash_lookup_rcu(m->th, key, val);
	if (ksz == 8)
		return bm_rh_lookup8(&m->ht, key, val);
	if (ksz == 16)
		return bm_rh_lookup16(&m->ht, key, val);
	return bm_rh_lookup64(&m->ht, key, val);
}

static __always_inline int bm_delete(struct bm_map *m, const int impl,
				     const u32 ksz, const u8 *key)
{
	if (impl == BM_TOPHASH)
		return tophash_delete(m->th, key);
	if (ksz == 8)
		return bm_rh_delete8(&m->ht, key);
	if (ksz == 16)
		return bm_rh_delete16(&m->ht, key);
	return bm_rh_delete64(&m->ht, key);
}

static __always_inline int bm_loop_insert(struct bm_map *m, const int impl,
					  const u32 ksz, struct bm_args *a)
{
	u64 k;
	int err;

	for (k = 0; k < a->n; k++) {
		err = bm_insert(m, impl, ksz, bm_key(a->keys, ksz, k), a->first + k);
		if (err)
			return err;
		if (!(k % BM_RESCHED))
			cond_resched();
	}
	a->done = a->n;
	return 0;
}

static __always_inline int bm_loop_delete(struct bm_map *m, const int impl,
					  const u32 ksz, struct bm_args *a)
{
	u64 k;
	int err;

	for (k = 0; k < a->n; k++) {
		err = bm_delete(m, impl, ksz, bm_key(a->keys, ksz, k));
		if (err)
			return err;
		if (!(k % BM_RESCHED))
			cond_resched();
	}
	a->done = a->n;
	return 0;
}

/*
 * @a->n lookups from key @a->start on in steps of @a->stride mod @a->range,
 * BM_BATCH per RCU read-side section.
 */
static __always_inline int bm_loop_lookup(struct bm_map *m, const int impl,
					  const u32 ksz, struct bm_args *a)
{
	u64 k, idx = a->start, val;
	int r;

	rcu_read_lock();
	for (k = 0; k < a->n; k++) {
		r = bm_lookup(m, impl, ksz, bm_key(a->keys, ksz, idx), &val);
		if (a->expect_hit ? (r || val != a->first + idx) : !r)
			a->bad++;
		idx += a->stride;
		if (idx >= a->range)
			idx -= a->range;
		if (!((k + 1) % BM_BATCH)) {
			rcu_read_unlock();
			cond_resched();
			rcu_read_lock();
		}
	}
	rcu_read_unlock();
	a->done = a->n;
	return 0;
}

/*
 * Churn over a ring of @a->range keys holding @a->window of them from ring
 * position @a->lo: insert the key after the newest, delete the oldest.
 */
static __always_inline int bm_loop_churn(struct bm_map *m, const int impl,
					 const u32 ksz, struct bm_args *a)
{
	u64 k, lo = a->lo, hi = a->lo + a->window;
	int err;

	if (hi >= a->range)
		hi -= a->range;
	for (k = 0; k + 1 < a->n; k += 2) {
		err = bm_insert(m, impl, ksz, bm_key(a->keys, ksz, hi), a->first + hi);
		if (err)
			return err;
		err = bm_delete(m, impl, ksz, bm_key(a->keys, ksz, lo));
		if (err)
			return err;
		if (++hi == a->range)
			hi = 0;
		if (++lo == a->range)
			lo = 0;
		if (!(k % BM_RESCHED))
			cond_resched();
	}
	a->lo = lo;
	a->done = k;
	return 0;
}

/* A reader kthread: random present keys until *@a->stop. */
static __always_inline int bm_loop_read(struct bm_map *m, const int impl,
					const u32 ksz, struct bm_args *a)
{
	u64 idx, val;
	int j;

	while (!READ_ONCE(*a->stop)) {
		rcu_read_lock();
		for (j = 0; j < BM_BATCH; j++) {
			idx = bm_pick(&a->rng, a->range);
			if (bm_lookup(m, impl, ksz, bm_key(a->keys, ksz, idx), &val) ||
			    val != a->first + idx)
				a->bad++;
		}
		rcu_read_unlock();
		a->done += BM_BATCH;
		cond_resched();
	}
	return 0;
}

/* The writer of readers_writer: churn (as bm_loop_churn) until @a->deadline. */
static __always_inline int bm_loop_write(struct bm_map *m, const int impl,
					 const u32 ksz, struct bm_args *a)
{
	int err;

	while (ktime_get_ns() < a->deadline) {
		a->n = 2 * BM_RESCHED;
		err = bm_loop_churn(m, impl, ksz, a);
		if (err)
			return err;
		a->total += a->done;
	}
	return 0;
}

/*
 * The hash each map computes per operation, alone: tophash's th_mix_hash()
 * of key_size bytes (tophash_core.h; siphash() for siphash=1 maps) and
 * rhashtable's jhash2() of key_len / 4 words, inlined for the constant key
 * length.
 */
static __always_inline int bm_loop_hash(struct bm_map *m, const int impl,
					const u32 ksz, struct bm_args *a)
{
	static const siphash_key_t seed = { { BM_SEED, BM_GAMMA } };
	const u8 *key;
	u64 k;

	for (k = 0; k < a->n; k++) {
		key = bm_key(a->keys, ksz, k);
		if (impl == BM_TOPHASH && bm_siphash)
			a->sink ^= siphash(key, ksz, &seed);
		else if (impl == BM_TOPHASH)
			a->sink ^= th_mix_hash(key, ksz, BM_SEED, BM_GAMMA);
		else
			a->sink ^= jhash2((const u32 *)key, ksz / sizeof(u32),
					  lower_32_bits(BM_SEED));
		if (!((k + 1) % (16 * BM_RESCHED)))
			cond_resched();
	}
	a->done = a->n;
	return 0;
}

static __always_inline int bm_phase(struct bm_map *m, const int impl,
				    const u32 ksz, enum bm_phase ph,
				    struct bm_args *a)
{
	switch (ph) {
	case PH_INSERT:
		return bm_loop_insert(m, impl, ksz, a);
	case PH_LOOKUP:
		return bm_loop_lookup(m, impl, ksz, a);
	case PH_DELETE:
		return bm_loop_delete(m, impl, ksz, a);
	case PH_CHURN:
		return bm_loop_churn(m, impl, ksz, a);
	case PH_READ:
		return bm_loop_read(m, impl, ksz, a);
	case PH_WRITE:
		return bm_loop_write(m, impl, ksz, a);
	case PH_HASH:
		return bm_loop_hash(m, impl, ksz, a);
	}
	return -EINVAL;
}

static noinline int bm_run_th8(struct bm_map *m, enum bm_phase ph, struct bm_args *a)
{
	return bm_phase(m, BM_TOPHASH, 8, ph, a);
}

static noinline int bm_run_th16(struct bm_map *m, enum bm_phase ph, struct bm_args *a)
{
	return bm_phase(m, BM_TOPHASH, 16, ph, a);
}

static noinline int bm_run_th64(struct bm_map *m, enum bm_phase ph, struct bm_args *a)
{
	return bm_phase(m, BM_TOPHASH, 64, ph, a);
}

static noinline int bm_run_rh8(struct bm_map *m, enum bm_phase ph, struct bm_args *a)
{
	return bm_phase(m, BM_RHASH, 8, ph, a);
}

static noinline int bm_run_rh16(struct bm_map *m, enum bm_phase ph, struct bm_args *a)
{
	return bm_phase(m, BM_RHASH, 16, ph, a);
}

static noinline int bm_run_rh64(struct bm_map *m, enum bm_phase ph, struct bm_args *a)
{
	return bm_phase(m, BM_RHASH, 64, ph, a);
}

static int bm_run(struct bm_map *m, enum bm_phase ph, struct bm_args *a)
{
	if (m->impl == BM_TOPHASH)
		return m->ksz == 8 ? bm_run_th8(m, ph, a) :
		       m->ksz == 16 ? bm_run_th16(m, ph, a) : bm_run_th64(m, ph, a);
	return m->ksz == 8 ? bm_run_rh8(m, ph, a) :
	       m->ksz == 16 ? bm_run_rh16(m, ph, a) : bm_run_rh64(m, ph, a);
}

/**
 * bm_rh_settle() - wait until an rhashtable has no resize left to do
 * @ht: the table
 *
 * rhashtable grows in a work item scheduled by inserts past 75% load; an
 * insert phase is not done until that work is, so that its time includes
 * the growth, as tophash's does.
 *
 * Return: 0, or -ETIMEDOUT when the table still is not settled after a
 *	minute (the worker keeps failing).
 */
static int bm_rh_settle(struct rhashtable *ht)
{
	struct bucket_table *tbl;
	unsigned int tries;
	bool busy;

	for (tries = 0; tries < 60000; tries++) {
		flush_work(&ht->run_work);
		rcu_read_lock();
		tbl = rcu_dereference(ht->tbl);
		busy = rcu_access_pointer(tbl->future_tbl) || tbl->nest ||
		       rht_grow_above_75(ht, tbl);
		rcu_read_unlock();
		if (!busy)
			return 0;
		if (!work_pending(&ht->run_work))
			schedule_work(&ht->run_work);
		usleep_range(500, 1000);
	}
	return -ETIMEDOUT;
}

/* Time one loop; an rhashtable insert phase includes its deferred growth. */
static int bm_timed(struct bm_map *m, enum bm_phase ph, struct bm_args *a,
		    u64 *ns)
{
	u64 t0 = ktime_get_ns();
	int err;

	err = bm_run(m, ph, a);
	if (!err && ph == PH_INSERT && m->impl == BM_RHASH)
		err = bm_rh_settle(&m->ht);
	*ns = max_t(u64, ktime_get_ns() - t0, 1);
	return err;
}

static int bm_map_create(struct bm_map *m)
{
	struct tophash_create c = { .key_size = m->ksz, .value_size = sizeof(u64),
				    .flags = bm_siphash ? TOPHASH_F_SIPHASH : 0 };
	int err;

	if (m->impl == BM_TOPHASH) {
		m->th = tophash_map_new(&c);
		if (IS_ERR(m->th)) {
			err = PTR_ERR(m->th);
			m->th = NULL;
			return err;
		}
		return 0;
	}
	err = rhashtable_init(&m->ht, bm_rh_params(m->ksz));
	if (!err)
		m->ht_live = true;
	return err;
}

/* No reader is left: what the table still holds is freed at once. */
static void bm_rh_free_obj(void *ptr, void *arg)
{
	kfree(ptr);
}

static void bm_map_destroy(struct bm_map *m)
{
	if (m->th)
		tophash_map_free(m->th);
	m->th = NULL;
	if (m->ht_live)
		rhashtable_free_and_destroy(&m->ht, bm_rh_free_obj, NULL);
	m->ht_live = false;
}

static void bm_destroy_all(void)
{
	int i;

	for (i = 0; i < BM_NIMPL; i++)
		bm_map_destroy(&bm.maps[i]);
	/* Let the retired tables and objects go before the next maps are built. */
	rcu_barrier();
}

static int bm_create_all(void)
{
	int i, err;

	for (i = 0; i < BM_NIMPL; i++) {
		bm.maps[i].impl = i;
		bm.maps[i].ksz = bm.ksz;
		if (!bm.impl_on[i])
			continue;
		err = bm_map_create(&bm.maps[i]);
		if (err) {
			pr_err("bench: creating the %s map failed: %d\n",
			       bm_impl_names[i], err);
			bm_destroy_all();
			return err;
		}
	}
	return 0;
}

/* Mops/s, printed as "%llu.%03llu" of these two, from operations per second. */
static inline u64 bm_mops(u64 r)
{
	return div_u64(r, 1000000);
}

static inline u64 bm_mops_frac(u64 r)
{
	return div_u64(r, 1000) % 1000;
}

static u64 bm_rate(u64 ops, u64 ns)
{
	return div64_u64(ops * NSEC_PER_SEC, ns);
}

static void bm_record(unsigned int round, enum bm_res res, int impl, u64 ops,
		      u64 ns)
{
	struct bm_stat *s = &bm.stat[res][impl];
	u64 r = bm_rate(ops, ns);

	s->rate[s->n++] = r;
	s->ops = ops;
	pr_info("bench: run=%s keysize=%u round=%u name=%s impl=%s ops=%llu ns=%llu mops=%llu.%03llu\n",
		label, bm.ksz, round, bm_res_names[res], bm_impl_names[impl],
		ops, ns, bm_mops(r), bm_mops_frac(r));
}

static int bm_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* One summary line per result: median and best over the rounds. */
static void bm_summarize(void)
{
	u64 sorted[BM_MAX_ROUNDS], med, nsop;
	struct bm_stat *s;
	int res, impl;

	for (res = 0; res < BR_NRES; res++) {
		for (impl = 0; impl < BM_NIMPL; impl++) {
			s = &bm.stat[res][impl];
			if (!s->n)
				continue;
			memcpy(sorted, s->rate, s->n * sizeof(u64));
			sort(sorted, s->n, sizeof(u64), bm_cmp_u64, NULL);
			med = s->n % 2 ? sorted[s->n / 2] :
			      (sorted[s->n / 2 - 1] + sorted[s->n / 2]) / 2;
			nsop = med ? div64_u64(10ULL * NSEC_PER_SEC, med) : 0;
			pr_info("bench: run=%s keysize=%u name=%s impl=%s summary=1 rounds=%u ops=%llu mops_median=%llu.%03llu mops_best=%llu.%03llu mops_worst=%llu.%03llu ns_per_op=%llu.%llu\n",
				label, bm.ksz, bm_res_names[res],
				bm_impl_names[impl], s->n, s->ops,
				bm_mops(med), bm_mops_frac(med),
				bm_mops(sorted[s->n - 1]),
				bm_mops_frac(sorted[s->n - 1]),
				bm_mops(sorted[0]), bm_mops_frac(sorted[0]),
				nsop / 10, nsop % 10);
		}
	}
}

/*
 * The bucket tables of an rhashtable: struct bucket_table and its tbl->size
 * bucket pointers each, as bucket_table_alloc() allocates them.
 */
static u64 bm_rh_table_bytes(struct rhashtable *ht, u64 *nbuckets,
			     unsigned int *ntables, unsigned int *nest)
{
	struct bucket_table *tbl;
	u64 bytes = 0;

	*nbuckets = 0;
	*ntables = 0;
	*nest = 0;
	rcu_read_lock();
	for (tbl = rcu_dereference(ht->tbl); tbl;
	     tbl = rcu_dereference(tbl->future_tbl)) {
		bytes += struct_size(tbl, buckets, tbl->size);
		*nbuckets += tbl->size;
		*nest |= tbl->nest;
		(*ntables)++;
	}
	rcu_read_unlock();
	return bytes;
}

/*
 * Bytes of a map at a slice boundary of round 0's insert phase, untimed:
 * tophash_info() for tophash; for rhashtable every object is in the same
 * kmalloc size class, so objects * kmalloc_size_roundup() plus the tables.
 */
static void bm_bytes_curve(struct bm_map *m)
{
	unsigned int ntables, nest;
	struct tophash_info in;
	u64 entries, bytes, nb;

	if (m->impl == BM_TOPHASH) {
		tophash_info(m->th, &in);
		entries = in.count;
		bytes = in.bytes;
	} else {
		entries = atomic_read(&m->ht.nelems);
		bytes = entries * kmalloc_size_roundup(sizeof(struct bm_obj) + m->ksz) +
			bm_rh_table_bytes(&m->ht, &nb, &ntables, &nest);
	}
	pr_info("bench: run=%s keysize=%u name=bytes_curve impl=%s entries=%llu bytes=%llu\n",
		label, bm.ksz, bm_impl_names[m->impl], entries, bytes);
}

/* tophash's own count of what it allocated (tophash_info()). */
static void bm_bytes_tophash(struct bm_map *m)
{
	struct tophash_info in;

	tophash_info(m->th, &in);
	pr_info("bench: run=%s keysize=%u name=bytes impl=tophash entries=%llu bytes=%llu bytes_per_entry=%llu.%02llu B=%u noverflow=%llu growing=%u\n",
		label, bm.ksz, in.count, in.bytes,
		div64_u64(in.bytes, max_t(u64, in.count, 1)),
		div64_u64(in.bytes * 100, max_t(u64, in.count, 1)) % 100,
		in.B, in.noverflow, !!(in.flags & TOPHASH_INFO_GROWING));
}

/*
 * rhashtable: ksize() of every object (a walk), plus each bucket table:
 * struct bucket_table and its tbl->size bucket pointers, as
 * bucket_table_alloc() allocates them.
 */
static int bm_bytes_rhash(struct bm_map *m)
{
	u64 objs = 0, obj_bytes = 0, tbl_bytes, nbuckets, total;
	struct rhashtable_iter iter;
	unsigned int ntables, nest;
	struct bm_obj *obj;

	rhashtable_walk_enter(&m->ht, &iter);
	rhashtable_walk_start(&iter);
	while ((obj = rhashtable_walk_next(&iter))) {
		if (IS_ERR(obj)) {
			if (PTR_ERR(obj) != -EAGAIN)
				break;
			/* A resize rewound the walk: count from the start. */
			objs = 0;
			obj_bytes = 0;
			continue;
		}
		objs++;
		obj_bytes += ksize(obj);
		if (!(objs % 1024)) {
			rhashtable_walk_stop(&iter);
			cond_resched();
			rhashtable_walk_start(&iter);
		}
	}
	rhashtable_walk_stop(&iter);
	rhashtable_walk_exit(&iter);
	if (IS_ERR(obj))
		return PTR_ERR(obj);

	tbl_bytes = bm_rh_table_bytes(&m->ht, &nbuckets, &ntables, &nest);
	total = obj_bytes + tbl_bytes;
	pr_info("bench: run=%s keysize=%u name=bytes impl=rhashtable entries=%llu bytes=%llu bytes_per_entry=%llu.%02llu object_bytes=%llu table_bytes=%llu buckets=%llu tables=%u nested=%u object_size=%zu\n",
		label, bm.ksz, objs, total,
		div64_u64(total, max_t(u64, objs, 1)),
		div64_u64(total * 100, max_t(u64, objs, 1)) % 100,
		obj_bytes, tbl_bytes, nbuckets, ntables, nest,
		sizeof(struct bm_obj) + bm.ksz);
	return 0;
}

/* The implementations in the order of step @step: flipped at every step. */
static void bm_order(unsigned int step, int order[BM_NIMPL])
{
	order[0] = step % 2 ? BM_RHASH : BM_TOPHASH;
	order[1] = step % 2 ? BM_TOPHASH : BM_RHASH;
}

/* The hit keys [0, nkeys) with their values. */
static void bm_args_hits(struct bm_args *a)
{
	memset(a, 0, sizeof(*a));
	a->keys = bm.keys;
	a->first = 0;
	a->range = nkeys;
	a->n = nkeys;
}

/* A step for the lookup order that visits every key once per @range lookups. */
static u64 bm_stride(u64 range)
{
	u64 s = range * 5 / 8;

	if (range < 3)
		return range == 2;
	while (gcd(s, range) != 1)
		s++;
	return s;
}

/* Operation @s * @n / slices: where slice @s of a phase of @n operations starts. */
static u64 bm_slice_at(u64 n, unsigned int s, enum bm_phase ph)
{
	u64 k = div_u64(n * s, slices);

	/* A churn step is an insert and a delete. */
	if (ph == PH_CHURN && s < slices)
		k &= ~1ULL;
	return k;
}

/* Point @a at operations [@k0, @k1) of the phase @tmpl describes. */
static void bm_slice(struct bm_args *a, const struct bm_args *tmpl,
		     enum bm_phase ph, u64 k0, u64 k1)
{
	a->n = k1 - k0;
	switch (ph) {
	case PH_INSERT:
	case PH_DELETE:
	case PH_HASH:
		a->keys = tmpl->keys + k0 * bm.ksz;
		a->first = tmpl->first + k0;
		break;
	case PH_LOOKUP:
		div64_u64_rem(k0 * tmpl->stride, tmpl->range, &a->start);
		break;
	default:
		break;	/* churn: @a->lo carries on from the last slice */
	}
}

/**
 * bm_phase_all() - run one phase on every map, interleaved slice by slice
 * @round: the round (it sets which map goes first)
 * @res: what to record the phase as
 * @rec: record it (else it only sets the maps up)
 * @ph: the loop
 * @tmpl: the whole phase: @tmpl->n operations on the keys it names
 *
 * The phase is cut into @slices slices; slice after slice, each map does
 * its share, the order flipping at every slice, so that both maps see the
 * same noise. Each map's rate is its operations over its summed time.
 *
 * Return: 0 or the first error (a failed operation, a wrong lookup result).
 */
static int bm_phase_all(unsigned int round, enum bm_res res, bool rec,
			enum bm_phase ph, const struct bm_args *tmpl)
{
	u64 ns[BM_NIMPL] = { }, done[BM_NIMPL] = { }, t;
	int order[BM_NIMPL], i, impl, err;
	struct bm_args a[BM_NIMPL];
	unsigned int s;

	for (i = 0; i < BM_NIMPL; i++)
		a[i] = *tmpl;
	for (s = 0; s < slices; s++) {
		bm_order(round + s, order);
		for (i = 0; i < BM_NIMPL; i++) {
			impl = order[i];
			if (!bm.impl_on[impl])
				continue;
			bm_slice(&a[impl], tmpl, ph, bm_slice_at(tmpl->n, s, ph),
				 bm_slice_at(tmpl->n, s + 1, ph));
			err = bm_timed(&bm.maps[impl], ph, &a[impl], &t);
			if (!err && a[impl].bad) {
				pr_err("bench: %s %s: %llu lookups returned a wrong result\n",
				       bm_impl_names[impl], bm_res_names[res],
				       a[impl].bad);
				err = -EIO;
			}
			if (err) {
				pr_err("bench: %s %s failed: %d\n",
				       bm_impl_names[impl], bm_res_names[res], err);
				return err;
			}
			ns[impl] += t;
			done[impl] += a[impl].done;
			if (res == BR_INSERT && rec && !round)
				bm_bytes_curve(&bm.maps[impl]);
		}
	}
	bm_order(round, order);
	for (i = 0; i < BM_NIMPL && rec; i++) {
		if (bm.impl_on[order[i]])
			bm_record(round, res, order[i], done[order[i]],
				  ns[order[i]]);
	}
	return 0;
}

/**
 * struct bm_reader - one reader kthread of a readers phase
 * @task: the thread
 * @map: the map it reads
 * @go: completed when every reader exists
 * @args: its loop; @args.done counts its lookups
 * @ns: how long it read
 * @cpu_ns: CPU time it used meanwhile
 * @err: what its loop returned
 */
struct bm_reader {
	struct task_struct *task;
	struct bm_map *map;
	struct completion *go;
	struct bm_args args;
	u64 ns;
	u64 cpu_ns;
	int err;
};

/**
 * struct bm_rd_result - what readers phases measured (summed over slices)
 * @wall_ns: how long the readers ran
 * @rd_ops: their lookups
 * @rd_cpu_ns: their CPU time
 * @wr_ops: the writer's operations (0 without a writer)
 * @wr_ns: the writer's time
 * @wr_cpu_ns: the writer's CPU time
 */
struct bm_rd_result {
	u64 wall_ns;
	u64 rd_ops;
	u64 rd_cpu_ns;
	u64 wr_ops;
	u64 wr_ns;
	u64 wr_cpu_ns;
};

/* CPU time of the current task (up to a tick stale while it runs). */
static inline u64 bm_cpu_ns(void)
{
	return current->se.sum_exec_runtime;
}

static int bm_reader_fn(void *data)
{
	struct bm_reader *r = data;
	u64 t0, c0;

	wait_for_completion(r->go);
	t0 = ktime_get_ns();
	c0 = bm_cpu_ns();
	r->err = bm_run(r->map, PH_READ, &r->args);
	r->ns = max_t(u64, ktime_get_ns() - t0, 1);
	r->cpu_ns = bm_cpu_ns() - c0;
	/* Stay until kthread_stop(), which must find this task alive. */
	set_current_state(TASK_INTERRUPTIBLE);
	while (!kthread_should_stop()) {
		schedule();
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/**
 * bm_readers_one() - nreaders reader kthreads on one map for @ms
 *	milliseconds, with or without a writer churning other keys in this
 *	thread
 * @m: the map, holding the hit keys
 * @with_writer: churn BM_WR_WINDOW keys of the miss stream meanwhile
 * @ms: how long
 * @res: its counts and times are added to this
 *
 * Return: 0, or an errno (a thread could not start, an operation failed,
 *	a reader missed a present key or read a wrong value).
 */
static int bm_readers_one(struct bm_map *m, bool with_writer, unsigned int ms,
			  struct bm_rd_result *res)
{
	static struct bm_reader rd[BM_MAX_READERS];
	struct completion go;
	struct bm_args w = { };
	unsigned int i, n = 0;
	bool stop = false;
	u64 t0, c0, bad = 0;
	int err = 0, err2;

	init_completion(&go);
	if (with_writer) {
		/* Miss-stream keys, BM_WR_WINDOW of them held from the start. */
		w.keys = bm.keys + nkeys * bm.ksz;
		w.first = nkeys;
		w.range = min_t(u64, nkeys, BM_WR_RING);
		w.window = min_t(u64, w.range / 2, BM_WR_WINDOW);
		w.n = w.window;
		err = bm_run(m, PH_INSERT, &w);
		if (err)
			return err;
	}
	for (i = 0; i < nreaders; i++) {
		memset(&rd[i], 0, sizeof(rd[i]));
		rd[i].map = m;
		rd[i].go = &go;
		rd[i].args.keys = bm.keys;
		rd[i].args.range = nkeys;
		rd[i].args.stop = &stop;
		rd[i].args.rng = BM_SEED * (i + 1);
		rd[i].task = kthread_run(bm_reader_fn, &rd[i], "bench_rd/%u", i);
		if (IS_ERR(rd[i].task)) {
			err = PTR_ERR(rd[i].task);
			goto out_stop;
		}
		n++;
	}
	complete_all(&go);
	t0 = ktime_get_ns();
	if (with_writer) {
		c0 = bm_cpu_ns();
		w.deadline = t0 + (u64)ms * NSEC_PER_MSEC;
		err = bm_run(m, PH_WRITE, &w);
		res->wr_ops += w.total;
		res->wr_ns += ktime_get_ns() - t0;
		res->wr_cpu_ns += bm_cpu_ns() - c0;
	} else {
		msleep(ms);
	}
	res->wall_ns += ktime_get_ns() - t0;
out_stop:
	WRITE_ONCE(stop, true);
	complete_all(&go);
	for (i = 0; i < n; i++) {
		kthread_stop(rd[i].task);
		res->rd_ops += rd[i].args.done;
		res->rd_cpu_ns += rd[i].cpu_ns;
		bad += rd[i].args.bad;
		if (!err)
			err = rd[i].err;
	}
	if (with_writer) {
		/* Take the writer's keys out again (untimed). */
		w.keys = bm.keys + (nkeys + w.lo) * bm.ksz;
		w.n = min(w.window, w.range - w.lo);
		err2 = bm_run(m, PH_DELETE, &w);
		if (!err2 && w.n < w.window) {
			w.keys = bm.keys + nkeys * bm.ksz;
			w.n = w.window - w.n;
			err2 = bm_run(m, PH_DELETE, &w);
		}
		if (!err)
			err = err2;
	}
	if (!err && bad) {
		pr_err("bench: readers: %llu lookups returned a wrong result\n", bad);
		err = -EIO;
	}
	return err;
}

/*
 * The readers workload on every map, alone then with the writer, each cut
 * into BM_RD_SLICES slices of duration_ms / BM_RD_SLICES that alternate
 * between the maps.
 */
static int bm_readers_all(unsigned int round)
{
	unsigned int ms = max_t(unsigned int, duration_ms / BM_RD_SLICES, 1);
	struct bm_rd_result res[BM_NIMPL];
	int order[BM_NIMPL], i, w, impl, err;
	unsigned int s;
	u64 one = 1;

	for (w = 0; w < 2; w++) {
		memset(res, 0, sizeof(res));
		for (s = 0; s < BM_RD_SLICES; s++) {
			bm_order(round + s, order);
			for (i = 0; i < BM_NIMPL; i++) {
				impl = order[i];
				if (!bm.impl_on[impl])
					continue;
				err = bm_readers_one(&bm.maps[impl], w, ms,
						     &res[impl]);
				if (err) {
					pr_err("bench: %s readers%s failed: %d\n",
					       bm_impl_names[impl],
					       w ? "_writer" : "", err);
					return err;
				}
			}
		}
		bm_order(round, order);
		for (i = 0; i < BM_NIMPL; i++) {
			impl = order[i];
			if (!bm.impl_on[impl])
				continue;
			bm_record(round, w ? BR_READERS_WRITER : BR_READERS, impl,
				  res[impl].rd_ops, max(res[impl].wall_ns, one));
			bm_record(round, w ? BR_READERS_WRITER_CPU : BR_READERS_CPU,
				  impl, res[impl].rd_ops,
				  max(res[impl].rd_cpu_ns, one));
			if (!w)
				continue;
			bm_record(round, BR_WRITER, impl, res[impl].wr_ops,
				  max(res[impl].wr_ns, one));
			bm_record(round, BR_WRITER_CPU, impl, res[impl].wr_ops,
				  max(res[impl].wr_cpu_ns, one));
		}
	}
	return 0;
}

/*
 * One round: insert, bytes, lookups, hash, readers, delete and inserting
 * again on maps holding the nkeys hit keys; then churn in fresh maps.
 */
static int bm_round(unsigned int round)
{
	bool fill = bm.work_on[BW_INSERT] || bm.work_on[BW_LOOKUP_HIT] ||
		    bm.work_on[BW_LOOKUP_MISS] || bm.work_on[BW_READERS] ||
		    bm.work_on[BW_DELETE] || bm.work_on[BW_HASH] ||
		    bm.work_on[BW_PREGROWN];
	struct bm_args a;
	int err, i;

	if (!fill)
		goto churn;
	err = bm_create_all();
	if (err)
		return err;
	bm_args_hits(&a);
	err = bm_phase_all(round, BR_INSERT, bm.work_on[BW_INSERT], PH_INSERT, &a);
	if (err)
		goto out_destroy;
	if (bm.work_on[BW_INSERT] && round == 0) {
		for (i = 0; i < BM_NIMPL && !err; i++) {
			if (!bm.impl_on[i])
				continue;
			if (i == BM_TOPHASH)
				bm_bytes_tophash(&bm.maps[i]);
			else
				err = bm_bytes_rhash(&bm.maps[i]);
		}
		if (err)
			goto out_destroy;
	}
	a.n = lookup_ops;
	a.stride = bm_stride(a.range);
	if (bm.work_on[BW_LOOKUP_HIT]) {
		a.expect_hit = true;
		err = bm_phase_all(round, BR_LOOKUP_HIT, true, PH_LOOKUP, &a);
		if (err)
			goto out_destroy;
	}
	if (bm.work_on[BW_LOOKUP_MISS]) {
		a.keys = bm.keys + nkeys * bm.ksz;
		a.first = nkeys;
		a.expect_hit = false;
		err = bm_phase_all(round, BR_LOOKUP_MISS, true, PH_LOOKUP, &a);
		if (err)
			goto out_destroy;
	}
	if (bm.work_on[BW_HASH]) {
		bm_args_hits(&a);	/* every hit key, hashed once */
		err = bm_phase_all(round, BR_HASH, true, PH_HASH, &a);
		if (err)
			goto out_destroy;
	}
	if (bm.work_on[BW_READERS]) {
		err = bm_readers_all(round);
		if (err)
			goto out_destroy;
	}
	if (bm.work_on[BW_DELETE] || bm.work_on[BW_PREGROWN]) {
		bm_args_hits(&a);
		err = bm_phase_all(round, BR_DELETE, bm.work_on[BW_DELETE],
				   PH_DELETE, &a);
		if (err)
			goto out_destroy;
	}
	if (bm.work_on[BW_PREGROWN]) {
		/* Empty now, the maps keep their grown tables. */
		err = bm_phase_all(round, BR_PREGROWN, true, PH_INSERT, &a);
		if (err)
			goto out_destroy;
	}
	bm_destroy_all();

churn:
	if (!bm.work_on[BW_CHURN])
		return 0;
	err = bm_create_all();
	if (err)
		return err;
	bm_args_hits(&a);
	a.n = churn_keys;
	err = bm_phase_all(round, BR_CHURN, false, PH_INSERT, &a);
	if (err)
		goto out_destroy;
	a.n = churn_ops;
	a.lo = 0;
	a.window = churn_keys;
	err = bm_phase_all(round, BR_CHURN, true, PH_CHURN, &a);
out_destroy:
	bm_destroy_all();
	return err;
}

/* The maps a drain compares (drain=1). */
enum bm_drain_kind {
	BD_TOPHASH,		/* tophash as Go's map: never shrinks */
	BD_TOPHASH_25,		/* TOPHASH_F_SHRINK, the default 25% */
	BD_TOPHASH_40,		/* TOPHASH_F_SHRINK, shrink_pct 40 */
	BD_RHASH,		/* rhashtable, automatic_shrinking off */
	BD_RHASH_SHRINK,	/* rhashtable, automatic_shrinking on */
	BD_FRESH,		/* tophash filled with the kept keys only */
	BD_N
};

static const char * const bm_drain_names[BD_N] = {
	[BD_TOPHASH] = "tophash",
	[BD_TOPHASH_25] = "tophash_shrink25",
	[BD_TOPHASH_40] = "tophash_shrink40",
	[BD_RHASH] = "rhashtable",
	[BD_RHASH_SHRINK] = "rhashtable_autoshrink",
	[BD_FRESH] = "tophash_fresh",
};

/* Drained keys: 9 of every 10 (i % 10 != 0), in key order. */
static inline bool bm_drained(u64 i)
{
	return i % 10 != 0;
}

/*
 * rhashtable with run-time parameters (automatic_shrinking on or off): the
 * remove path schedules the shrink when the parameters ask for it.
 */
static int bm_rh_drain_one(struct rhashtable *ht,
			   const struct rhashtable_params *p, const u8 *key)
{
	struct bm_obj *obj;
	int err = -ENOENT;

	rcu_read_lock();
	obj = rhashtable_lookup(ht, key, *p);
	if (obj)
		err = rhashtable_remove_fast(ht, &obj->node, *p);
	rcu_read_unlock();
	if (!err)
		kvfree_rcu_mightsleep(obj);
	return err;
}

/* Let rhashtable's worker finish every resize the drain asked for. */
static void bm_rh_drain_settle(struct rhashtable *ht)
{
	unsigned int tries;

	for (tries = 0; tries < 1000; tries++) {
		flush_work(&ht->run_work);
		if (!rcu_access_pointer(rht_dereference(ht->tbl, ht)->future_tbl) &&
		    !work_pending(&ht->run_work))
			break;
	}
}

/*
 * One drain: fill map @k with the nkeys hit keys (the fresh map: the kept
 * ones only), delete 9 in 10 of them timed, let the map finish what the
 * deletes started (tophash: tophash_finish_step(), what its background
 * finisher runs; rhashtable: its worker), and print its bytes per live entry.
 */
static int bm_drain_one(enum bm_drain_kind k)
{
	struct tophash_create c = { .key_size = bm.ksz, .value_size = sizeof(u64) };
	struct rhashtable_params p = *bm_rh_params(bm.ksz);
	bool rh = k == BD_RHASH || k == BD_RHASH_SHRINK;
	u64 i, ndel = 0, t0, del_ns = 0, settle_ns, entries, bytes, nb;
	struct tophash_map *m = NULL;
	unsigned int ntables, nest;
	struct tophash_info in = { };
	struct rhashtable ht;
	int err;

	p.automatic_shrinking = k == BD_RHASH_SHRINK;
	if (k == BD_TOPHASH_25 || k == BD_TOPHASH_40) {
		c.flags = TOPHASH_F_SHRINK;
		c.shrink_pct = k == BD_TOPHASH_40 ? 40 : 0;
	}
	if (rh) {
		err = rhashtable_init(&ht, &p);
	} else {
		m = tophash_map_new(&c);
		err = IS_ERR(m) ? PTR_ERR(m) : 0;
	}
	if (err)
		return err;
	for (i = 0; i < nkeys && !err; i++) {
		const u8 *key = bm_key(bm.keys, bm.ksz, i);

		if (k == BD_FRESH && bm_drained(i))
			continue;
		if (rh) {
			struct bm_obj *obj = kmalloc(sizeof(*obj) + bm.ksz, GFP_KERNEL);

			err = -ENOMEM;
			if (obj) {
				obj->val = i;
				memcpy(obj->key, key, bm.ksz);
				err = rhashtable_lookup_insert_fast(&ht, &obj->node, p);
				if (err)
					kfree(obj);
			}
		} else {
			err = tophash_update(m, key, &i, TOPHASH_NOEXIST);
		}
		if (!(i % BM_RESCHED))
			cond_resched();
	}
	if (rh && !err)
		err = bm_rh_settle(&ht);
	while (!err && !rh && tophash_finish_step(m, UINT_MAX))
		;
	t0 = ktime_get_ns();
	for (i = 0; i < nkeys && !err && k != BD_FRESH; i++) {
		const u8 *key = bm_key(bm.keys, bm.ksz, i);

		if (!bm_drained(i))
			continue;
		err = rh ? bm_rh_drain_one(&ht, &p, key) : tophash_delete(m, key);
		ndel++;
		if (!(i % BM_RESCHED))
			cond_resched();
	}
	del_ns = max_t(u64, ktime_get_ns() - t0, 1);
	t0 = ktime_get_ns();
	if (rh) {
		bm_rh_drain_settle(&ht);
	} else {
		while (tophash_finish_step(m, UINT_MAX))
			;
	}
	/* Everything the drain retired goes back after the grace period. */
	rcu_barrier();
	settle_ns = ktime_get_ns() - t0;
	if (rh) {
		entries = atomic_read(&ht.nelems);
		bytes = entries * kmalloc_size_roundup(sizeof(struct bm_obj) + bm.ksz) +
			bm_rh_table_bytes(&ht, &nb, &ntables, &nest);
		rhashtable_free_and_destroy(&ht, bm_rh_free_obj, NULL);
	} else {
		tophash_info(m, &in);
		entries = in.count;
		bytes = in.bytes;
		tophash_map_free(m);
	}
	if (err) {
		pr_err("bench: drain %s failed: %d\n", bm_drain_names[k], err);
		return err;
	}
	pr_info("bench: run=%s keysize=%u name=drain impl=%s entries=%llu bytes=%llu bytes_per_entry=%llu.%02llu deletes=%llu delete_ns=%llu delete_mops=%llu.%03llu settle_ns=%llu B=%u\n",
		label, bm.ksz, bm_drain_names[k], entries, bytes,
		div64_u64(bytes, max_t(u64, entries, 1)),
		div64_u64(bytes * 100, max_t(u64, entries, 1)) % 100,
		ndel, del_ns, bm_mops(bm_rate(ndel, del_ns)),
		bm_mops_frac(bm_rate(ndel, del_ns)), settle_ns, in.B);
	return 0;
}

/* drain=1: each map of enum bm_drain_kind in turn, @rounds times. */
static int bm_drain_all(void)
{
	unsigned int r;
	int k, err = 0;

	for (r = 0; r < rounds && !err; r++)
		for (k = 0; k < BD_N && !err; k++) {
			err = bm_drain_one((k + r) % BD_N);
			rcu_barrier();
		}
	return err;
}

/* Parse a comma list of @names into @on; "all" selects every name. */
static int bm_parse_list(const char *list, const char * const *names, int n,
			 bool *on, const char *what)
{
	char *copy, *s, *tok;
	int i, err = 0;

	copy = kstrdup(list, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	s = copy;
	while ((tok = strsep(&s, ",")) && !err) {
		if (!*tok)
			continue;
		if (!strcmp(tok, "all")) {
			for (i = 0; i < n; i++)
				on[i] = true;
			continue;
		}
		i = match_string(names, n, tok);
		if (i < 0) {
			pr_err("bench: unknown %s '%s'\n", what, tok);
			err = -EINVAL;
		} else {
			on[i] = true;
		}
	}
	kfree(copy);
	return err;
}

static int bm_check_params(void)
{
	int err;

	if (keysize != 8 && keysize != 16 && keysize != 64) {
		pr_err("bench: keysize must be 8, 16 or 64\n");
		return -EINVAL;
	}
	if (nkeys < 16 || nkeys > TOPHASH_DEFAULT_MAX_ENTRIES / 2 ||
	    rounds < 1 || rounds > BM_MAX_ROUNDS || nreaders < 1 ||
	    nreaders > BM_MAX_READERS || !duration_ms || slices < 1 ||
	    slices > BM_MAX_SLICES || lookup_ops > U32_MAX ||
	    churn_ops > U32_MAX) {
		pr_err("bench: bad nkeys, rounds, slices, nreaders, duration_ms, lookup_ops or churn_ops\n");
		return -EINVAL;
	}
	bm.ksz = keysize;
	if (!lookup_ops)
		lookup_ops = nkeys;
	/* The churn's ring is the nkeys hit keys: it must not be full. */
	churn_keys = clamp_t(ulong, churn_keys, 1, nkeys - 1);
	churn_ops = max_t(ulong, churn_ops, 2);
	err = bm_parse_list(impls, bm_impl_names, BM_NIMPL, bm.impl_on, "impl");
	if (!err)
		err = bm_parse_list(workloads, bm_work_names, BW_NWORK, bm.work_on,
				    "workload");
	return err;
}

static int __init tophash_bench_init(void)
{
	u64 i, t0 = ktime_get_ns();
	int err, r;

	err = bm_check_params();
	if (err)
		return err;
	bm.keys = vmalloc(array3_size(2, nkeys, bm.ksz));
	if (!bm.keys)
		return -ENOMEM;
	for (i = 0; i < 2 * nkeys; i++) {
		bm_make_key(bm.keys + i * bm.ksz, bm.ksz, i);
		if (!(i % 4096))
			cond_resched();
	}
	pr_info("bench: run=%s name=start keysize=%u nkeys=%lu lookup_ops=%lu churn_keys=%lu churn_ops=%lu rounds=%u slices=%u duration_ms=%u nreaders=%u impls=%s workloads=%s hash=%s\n",
		label, bm.ksz, nkeys, lookup_ops, churn_keys, churn_ops, rounds,
		slices, duration_ms, nreaders, impls, workloads,
		bm_siphash ? "siphash" : "mix");
	if (drain)
		err = bm_drain_all();
	for (r = 0; r < rounds && !err && !drain; r++)
		err = bm_round(r);
	if (!err && !drain)
		bm_summarize();
	vfree(bm.keys);
	pr_info("bench: run=%s name=done keysize=%u status=%d secs=%llu\n",
		label, bm.ksz, err, div_u64(ktime_get_ns() - t0, NSEC_PER_SEC));
	return err;
}

static void __exit tophash_bench_exit(void)
{
}

module_init(tophash_bench_init);
module_exit(tophash_bench_exit);
MODULE_DESCRIPTION("tophash vs rhashtable: the same workloads, interleaved");
MODULE_LICENSE("GPL");
