// SPDX-License-Identifier: GPL-2.0
/*
 * In-kernel tests of tophash's lockless lookups: a writer churns maps
 * (inserts, in-place updates, deletes, doubling and same-size growth,
 * clears) while reader kthreads and a timer (softirq) look keys up with no
 * lock. Every value encodes its key and a version with a check word, so a
 * torn or foreign value is detected; keys that stay present for the whole
 * run must always be found. The growth and chain-evacuation stresses run
 * twice: with 24-byte values (the generic path) and with 8-byte values
 * (the fixed-size paths: 8-, 16-, 4- and 64-byte keys for growth, 8-byte
 * keys for the chain evacuation, which needs the identity hash).
 *
 * Loading the module runs the tests; it prints "N of M tests passed" and
 * insmod fails when any failed, as lib/test_xarray.c does.
 */
#include <linux/module.h>
#include <linux/kthread.h>
#include <linux/timer.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/completion.h>
#include <linux/slab.h>
#include <linux/tophash.h>
/* White-box: the stresses check which fixed-size path a map took (m->fast). */
#include "tophash_core.h"

static unsigned int duration_ms = 2000;
module_param(duration_ms, uint, 0444);
MODULE_PARM_DESC(duration_ms, "milliseconds each stress phase runs (default 2000)");

static unsigned int nreaders = 2;
module_param(nreaders, uint, 0444);
MODULE_PARM_DESC(nreaders, "reader kthreads (default 2)");

static unsigned int tests_run;
static unsigned int tests_passed;

#define TH_CHECK(cond) do {						\
	tests_run++;							\
	if (cond)							\
		tests_passed++;						\
	else								\
		pr_err("tophash_selftest: %s:%d: check failed: %s\n",	\
		       __FILE__, __LINE__, #cond);			\
} while (0)

#define TH_STABLE	512		/* keys present for the whole run */
#define TH_CHURN	8192		/* keys inserted and deleted */

/* A value: its key, a version, and a check word binding the two. */
struct th_val {
	u64 key;
	u64 version;
	u64 check;
};

static u64 th_mix(u64 x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ULL;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dULL;
	return x ^ (x >> 33);
}

static void th_make_val(struct th_val *v, u64 key, u64 version)
{
	v->key = key;
	v->version = version;
	v->check = th_mix(key ^ th_mix(version));
}

static bool th_val_ok(const struct th_val *v, u64 key)
{
	return v->key == key && v->check == th_mix(key ^ th_mix(v->version));
}

/*
 * An 8-byte value: a 24-bit tag of its key, a 24-bit version, and a 16-bit
 * check of both.
 */
static u64 th_make_val8(u64 key, u64 version)
{
	u64 tag = th_mix(key) & 0xffffff;

	version &= 0xffffff;
	return tag << 40 | version << 16 | (th_mix(tag ^ th_mix(version)) & 0xffff);
}

static bool th_val8_ok(u64 v, u64 key)
{
	return th_make_val8(key, (v >> 16) & 0xffffff) == v;
}

/* A value of @vsize bytes (8 or sizeof(struct th_val)) for @key, checked. */
static bool th_vval_ok(const void *v, u32 vsize, u64 key)
{
	if (vsize == sizeof(u64))
		return th_val8_ok(*(const u64 *)v, key);
	return th_val_ok(v, key);
}


static u64 th_rand(u64 *state)
{
	*state += 0x9e3779b97f4a7c15ULL;
	return th_mix(*state);
}

/* What one stress phase shares between the writer and its readers. */
struct th_stress {
	struct tophash_map *m;
	u32 ksize;		/* key bytes: 4, 8, 16 or 64 */
	u32 vsize;		/* value bytes: 8 or sizeof(struct th_val) */
	u64 nkeys;		/* readers look up keys in [0, nkeys) */
	u64 nstable;		/* keys in [0, nstable) must always be found */
	u64 (*key_of)(u64 i);	/* i-th key */
	struct completion start;
	bool stop;
	atomic64_t lookups;
	atomic64_t hits;
	atomic64_t timer_lookups;
	atomic64_t bad_value;
	atomic64_t missing_stable;
	struct timer_list timer;
	u64 timer_rng;
};

#define TH_KEY_MAX	64	/* the longest key a stress uses */

/*
 * The st->ksize bytes of key @key: its own 8 bytes, then mixes of it (a
 * 4-byte key is its low half: the keys of a stress differ there).
 */
static void th_key_bytes(const struct th_stress *st, u64 key, u8 *buf)
{
	u64 w = key;
	u32 off;

	memcpy(buf, &key, sizeof(key));
	for (off = sizeof(w); off < st->ksize; off += sizeof(w)) {
		w = th_mix(w);
		memcpy(buf + off, &w, sizeof(w));
	}
}

/* Insert or update @key with a value of @version, as @flags says. */
static int th_put(struct th_stress *st, u64 key, u64 version, u32 flags)
{
	u64 v8 = th_make_val8(key, version);
	struct th_val v;
	u8 kb[TH_KEY_MAX];

	th_key_bytes(st, key, kb);
	th_make_val(&v, key, version);
	return tophash_update(st->m, kb, st->vsize == sizeof(u64) ? (void *)&v8 :
			      (void *)&v, flags);
}

/* One lookup of key index @i, checked; returns true when the key was found. */
static bool th_check_one(struct th_stress *st, u64 i)
{
	u64 key = st->key_of(i);
	struct th_val v;
	u8 kb[TH_KEY_MAX];

	th_key_bytes(st, key, kb);
	if (tophash_lookup(st->m, kb, &v)) {
		if (i < st->nstable)
			atomic64_inc(&st->missing_stable);
		return false;
	}
	if (!th_vval_ok(&v, st->vsize, key))
		atomic64_inc(&st->bad_value);
	return true;
}

#define TH_READ_BATCH	11

/*
 * What a reader kthread's batched lookups work in: kmalloc'ed once per
 * reader, as the keys (up to 64 bytes each) and values of a batch do not
 * fit a debug kernel's 1 KiB stack frame (KASAN adds redzones).
 */
struct th_batch_buf {
	struct th_val vals[TH_READ_BATCH];	/* room for either value size */
	u8 keys[TH_READ_BATCH * TH_KEY_MAX];
	u8 found[TH_READ_BATCH];
	u64 idx[TH_READ_BATCH];
};

/* TH_READ_BATCH keys through tophash_lookup_batch_rcu(), each checked. */
static void th_check_batch(struct th_stress *st, struct th_batch_buf *bb,
			   u64 *rng)
{
	unsigned int i, hits;

	for (i = 0; i < TH_READ_BATCH; i++) {
		bb->idx[i] = th_rand(rng) % st->nkeys;
		th_key_bytes(st, st->key_of(bb->idx[i]), bb->keys + i * st->ksize);
	}
	rcu_read_lock();
	hits = tophash_lookup_batch_rcu(st->m, bb->keys, bb->vals, bb->found,
					TH_READ_BATCH);
	rcu_read_unlock();
	for (i = 0; i < TH_READ_BATCH; i++) {
		if (!bb->found[i]) {
			if (bb->idx[i] < st->nstable)
				atomic64_inc(&st->missing_stable);
			continue;
		}
		hits--;
		atomic64_inc(&st->hits);
		if (!th_vval_ok((u8 *)bb->vals + i * st->vsize, st->vsize,
				st->key_of(bb->idx[i])))
			atomic64_inc(&st->bad_value);
	}
	/* The count returned must match the flags. */
	if (hits)
		atomic64_inc(&st->bad_value);
	atomic64_add(TH_READ_BATCH, &st->lookups);
}

/*
 * Reader kthreads: one key at a time, or batches on every other round
 * (when the batch buffer could be had).
 */
static int th_reader(void *arg)
{
	struct th_stress *st = arg;
	struct th_batch_buf *bb = kmalloc(sizeof(*bb), GFP_KERNEL);
	u64 rng = (u64)current->pid << 32;
	unsigned int n = 0;

	wait_for_completion(&st->start);
	while (!kthread_should_stop()) {
		if ((n & 1) && bb) {
			th_check_batch(st, bb, &rng);
		} else {
			if (th_check_one(st, th_rand(&rng) % st->nkeys))
				atomic64_inc(&st->hits);
			atomic64_inc(&st->lookups);
		}
		if (++n % 256 == 0)
			cond_resched();
	}
	kfree(bb);
	return 0;
}

/* Softirq reader: a burst of lookups every jiffy. */
static void th_timer_fn(struct timer_list *t)
{
	struct th_stress *st = from_timer(st, t, timer);
	int k;

	for (k = 0; k < 32; k++) {
		th_check_one(st, th_rand(&st->timer_rng) % st->nkeys);
		atomic64_inc(&st->timer_lookups);
	}
	if (!READ_ONCE(st->stop))
		mod_timer(&st->timer, jiffies + 1);
}

static struct task_struct *th_readers[8];

static int th_stress_start(struct th_stress *st)
{
	unsigned int i;

	init_completion(&st->start);
	timer_setup(&st->timer, th_timer_fn, 0);
	st->timer_rng = 12345;
	for (i = 0; i < min_t(unsigned int, nreaders, ARRAY_SIZE(th_readers)); i++) {
		th_readers[i] = kthread_run(th_reader, st, "tophash_rd/%u", i);
		if (IS_ERR(th_readers[i])) {
			th_readers[i] = NULL;
			return -ENOMEM;
		}
	}
	complete_all(&st->start);
	mod_timer(&st->timer, jiffies + 1);
	return 0;
}

static void th_stress_stop(struct th_stress *st)
{
	unsigned int i;

	WRITE_ONCE(st->stop, true);
	complete_all(&st->start);
	for (i = 0; i < ARRAY_SIZE(th_readers); i++) {
		if (th_readers[i])
			kthread_stop(th_readers[i]);
		th_readers[i] = NULL;
	}
	del_timer_sync(&st->timer);
}

static void th_stress_report(const char *name, struct th_stress *st, u64 ops,
			     struct tophash_info *in)
{
	pr_info("tophash_selftest: %s: writer ops %llu, reader lookups %lld (hits %lld), timer lookups %lld, bad values %lld, missing stable keys %lld, final B %u generation %llu\n",
		name, ops, atomic64_read(&st->lookups), atomic64_read(&st->hits),
		atomic64_read(&st->timer_lookups), atomic64_read(&st->bad_value),
		atomic64_read(&st->missing_stable), in->B, in->generation);
}

static u64 th_key_plain(u64 i)
{
	return i;
}

/* The path a map of these key and value sizes takes (default hash). */
static u8 th_path_of(u32 ksize, u32 vsize)
{
	if (vsize != sizeof(u64))
		return TH_FAST_NONE;
	return ksize == 4 ? TH_FAST_K4V8 : ksize == 16 ? TH_FAST_K16V8 :
	       ksize == 64 ? TH_FAST_K64V8 : TH_FAST_K8V8;
}

/*
 * Stable keys updated in place (seqcount path) and churn keys inserted and
 * deleted (slot reuse, emptyRest walks) while the map doubles from B=0,
 * for @ms milliseconds.
 */
static void th_stress_growth(const char *name, u32 ksize, u32 vsize,
			     unsigned int ms)
{
	struct tophash_create c = { .key_size = ksize, .value_size = vsize };
	struct th_stress st = { .nkeys = TH_STABLE + TH_CHURN, .vsize = vsize,
				.ksize = ksize, .nstable = TH_STABLE,
				.key_of = th_key_plain };
	unsigned long end;
	struct tophash_info in;
	u64 i, ops = 0, rng = 1, gen0, bad;
	struct th_val v;
	u8 kb[TH_KEY_MAX];

	st.m = tophash_map_new(&c);
	TH_CHECK(!IS_ERR(st.m));
	if (IS_ERR(st.m))
		return;
	TH_CHECK(st.m->fast == th_path_of(ksize, vsize));
	for (i = 0, bad = 0; i < TH_STABLE; i++)
		bad += !!th_put(&st, i, 0, TOPHASH_NOEXIST);
	TH_CHECK(bad == 0);
	tophash_info(st.m, &in);
	gen0 = in.generation;
	TH_CHECK(!th_stress_start(&st));
	end = jiffies + msecs_to_jiffies(ms);
	while (time_before(jiffies, end)) {
		u64 r = th_rand(&rng);

		i = r % (TH_STABLE + TH_CHURN);
		th_key_bytes(&st, i, kb);
		if (i < TH_STABLE || (r >> 32) % 3)
			th_put(&st, i, ops, TOPHASH_ANY);
		else
			tophash_delete(st.m, kb);
		if (++ops % 64 == 0)
			cond_resched();
	}
	th_stress_stop(&st);
	tophash_info(st.m, &in);
	th_stress_report(name, &st, ops, &in);
	TH_CHECK(atomic64_read(&st.bad_value) == 0);
	TH_CHECK(atomic64_read(&st.missing_stable) == 0);
	TH_CHECK(atomic64_read(&st.lookups) > 0);
	TH_CHECK(atomic64_read(&st.timer_lookups) > 0);
	TH_CHECK(in.generation > gen0);	/* it grew while readers ran */
	for (i = 0, bad = 0; i < TH_STABLE; i++) {
		th_key_bytes(&st, i, kb);
		bad += tophash_lookup(st.m, kb, &v) || !th_vval_ok(&v, vsize, i);
	}
	TH_CHECK(bad == 0);
	tophash_map_free(st.m);
}

static noinline void check_stress_growth(void)
{
	th_stress_growth("growth", 8, sizeof(struct th_val), duration_ms);
}

/*
 * TOPHASH_F_SHRINK: stable keys updated in place while every churn key is
 * inserted and then deleted again, pass after pass, so that the map doubles
 * up to B = 11 and shrinks back to B = 8 under the readers (kthreads and
 * the softirq timer); the background finisher may run between the writer's
 * ops. Half the time on the 8/8 fixed path, half on the generic one.
 */
static void th_stress_shrink(const char *name, u32 vsize, unsigned int ms)
{
	struct tophash_create c = { .key_size = 8, .value_size = vsize,
				    .flags = TOPHASH_F_SHRINK };
	struct th_stress st = { .nkeys = TH_STABLE + TH_CHURN, .vsize = vsize,
				.ksize = 8, .nstable = TH_STABLE,
				.key_of = th_key_plain };
	u64 i, ops = 0, bad, shrinks = 0;
	struct tophash_info in;
	unsigned long end;
	struct th_val v;
	u32 lastB = 0;
	u8 kb[TH_KEY_MAX];

	st.m = tophash_map_new(&c);
	TH_CHECK(!IS_ERR(st.m));
	if (IS_ERR(st.m))
		return;
	for (i = 0, bad = 0; i < TH_STABLE; i++)
		bad += !!th_put(&st, i, 0, TOPHASH_NOEXIST);
	TH_CHECK(bad == 0);
	TH_CHECK(!th_stress_start(&st));
	end = jiffies + msecs_to_jiffies(ms);
	while (time_before(jiffies, end)) {
		i = TH_STABLE + ops % TH_CHURN;
		th_key_bytes(&st, i, kb);
		if ((ops / TH_CHURN) % 2 == 0)
			th_put(&st, i, ops, TOPHASH_ANY);
		else
			tophash_delete(st.m, kb);
		if (ops % 16 == 0)
			th_put(&st, ops / 16 % TH_STABLE, ops, TOPHASH_EXIST);
		if (++ops % 256 == 0) {
			tophash_info(st.m, &in);
			shrinks += in.B < lastB;
			lastB = in.B;
			cond_resched();
		}
	}
	th_stress_stop(&st);
	tophash_info(st.m, &in);
	th_stress_report(name, &st, ops, &in);
	pr_info("tophash_selftest: %s: B went down %llu times\n", name, shrinks);
	TH_CHECK(atomic64_read(&st.bad_value) == 0);
	TH_CHECK(atomic64_read(&st.missing_stable) == 0);
	TH_CHECK(atomic64_read(&st.timer_lookups) > 0);
	TH_CHECK(shrinks > 0);
	for (i = 0, bad = 0; i < TH_STABLE; i++) {
		th_key_bytes(&st, i, kb);
		bad += tophash_lookup(st.m, kb, &v) || !th_vval_ok(&v, vsize, i);
	}
	TH_CHECK(bad == 0);
	tophash_map_free(st.m);
}

static noinline void check_stress_shrink(void)
{
	th_stress_shrink("shrink, fixed path 8/8", sizeof(u64), duration_ms / 2);
	th_stress_shrink("shrink", sizeof(struct th_val), duration_ms / 2);
}

/* The four fixed-size paths, a quarter of the time each. */
static noinline void check_stress_growth_fixed_paths(void)
{
	th_stress_growth("growth, fixed path 8/8", 8, sizeof(u64), duration_ms / 4);
	th_stress_growth("growth, fixed path 16/8", 16, sizeof(u64), duration_ms / 4);
	th_stress_growth("growth, fixed path 4/8", 4, sizeof(u64), duration_ms / 4);
	th_stress_growth("growth, fixed path 64/8", 64, sizeof(u64), duration_ms / 4);
}

/*
 * Identity keys in 8 clusters of 64: cluster i / 64 lives in bucket
 * (i / 64) % 8 of any array with B >= 3, so 64 keys make a chain of 8.
 */
static u64 th_key_crowded(u64 i)
{
	return (((i & 63) + 1) << 20) | ((i >> 6) & 7);
}

/*
 * Overflow chains, same-size growth and clear: the writer fills one
 * cluster's chain and empties it again, cluster after cluster, so overflow
 * buckets pile up with few entries (Go's same-size growth case), and clears
 * the map every 16 clusters, while readers check every value they find.
 */
static noinline void check_stress_overflow_clear(void)
{
	struct tophash_create c = { .key_size = 8, .value_size = sizeof(struct th_val),
				    .flags = TOPHASH_F_IDENTITY_HASH, .size_hint = 64 };
	struct th_stress st = { .nkeys = 512, .nstable = 0, .key_of = th_key_crowded,
				.ksize = 8, .vsize = sizeof(struct th_val) };
	u64 j, key, ops = 0, phase = 0, same_size = 0, clears = 0, bad = 0;
	struct tophash_clear cl;
	struct tophash_info in;
	unsigned long end;
	struct th_val v;

	st.m = tophash_map_new(&c);
	TH_CHECK(!IS_ERR(st.m));
	if (IS_ERR(st.m))
		return;
	TH_CHECK(!th_stress_start(&st));
	end = jiffies + msecs_to_jiffies(duration_ms);
	while (time_before(jiffies, end)) {
		u64 base = (phase % 8) * 64;

		for (j = 0; j < 64; j++, ops++) {
			key = th_key_crowded(base + j);
			th_make_val(&v, key, ops);
			bad += !!tophash_update(st.m, &key, &v, TOPHASH_ANY);
		}
		for (j = 0; j < 64; j++, ops++) {
			key = th_key_crowded(base + (j * 37) % 64);
			bad += !!tophash_delete(st.m, &key);
		}
		if (++phase % 16 == 0) {
			bad += !!tophash_clear(st.m, &cl);
			clears++;
		}
		cond_resched();
	}
	th_stress_stop(&st);
	tophash_info(st.m, &in);
	th_stress_report("overflow+clear", &st, ops, &in);
	/* B never moved, so every array but the first and the clears' came
	 * from a same-size growth.
	 */
	same_size = in.generation - 1 - clears;
	pr_info("tophash_selftest: overflow+clear: clears %llu, same-size growths %llu\n",
		clears, same_size);
	TH_CHECK(in.B == 4);
	TH_CHECK(bad == 0);
	TH_CHECK(atomic64_read(&st.bad_value) == 0);
	TH_CHECK(atomic64_read(&st.lookups) > 0);
	TH_CHECK(same_size > 0);
	TH_CHECK(clears > 0);
	tophash_map_free(st.m);
}

/* Identity keys whose low 20 bits are 0: bucket 0 of every array up to B=20. */
static u64 th_key_chain0(u64 i)
{
	return (i + 1) << 20;
}

#define TH_CHAIN0	64	/* stable keys in bucket 0's chain: 8 buckets */
#define TH_SPREAD	2048	/* keys that grow the map from B=2 to B=9 */

/*
 * Stable keys in one long chain while the map doubles under the readers:
 * every doubling evacuates that chain and cuts its overflow links while
 * readers may be scanning it (MEMORY-ORDERING.md, pair 9). A fresh map per
 * round, so each round goes through all the doublings again.
 */
static void th_stress_chain_evacuation(const char *name, u32 vsize)
{
	struct tophash_create c = { .key_size = 8, .value_size = vsize,
				    .flags = TOPHASH_F_IDENTITY_HASH, .size_hint = 14 };
	u64 i, key, rounds = 0, lookups = 0, bad = 0, missing = 0, fail = 0;
	unsigned long end = jiffies + msecs_to_jiffies(duration_ms);
	struct tophash_info in = { 0 };

	while (time_before(jiffies, end) && !fail) {
		struct th_stress st = { .nkeys = TH_CHAIN0, .nstable = TH_CHAIN0,
					.key_of = th_key_chain0, .ksize = 8,
					.vsize = vsize };

		st.m = tophash_map_new(&c);
		if (IS_ERR(st.m)) {
			fail++;
			break;
		}
		fail += st.m->fast != th_path_of(8, vsize);
		for (i = 0; i < TH_CHAIN0; i++)
			fail += !!th_put(&st, th_key_chain0(i), 0, TOPHASH_NOEXIST);
		fail += !!th_stress_start(&st);
		for (i = 0; i < TH_SPREAD; i++) {
			/* low bits 1..1023: every bucket but 0, for B up to 10 */
			key = ((i + 1) << 40) | (1 + i % 1023);
			fail += !!th_put(&st, key, rounds, TOPHASH_ANY);
			if (i % 64 == 0)
				cond_resched();
		}
		th_stress_stop(&st);
		tophash_info(st.m, &in);
		lookups += atomic64_read(&st.lookups) + atomic64_read(&st.timer_lookups);
		bad += atomic64_read(&st.bad_value);
		missing += atomic64_read(&st.missing_stable);
		tophash_map_free(st.m);
		rounds++;
	}
	pr_info("tophash_selftest: %s: rounds %llu, lookups %llu, bad values %llu, missing stable keys %llu, last B %u\n",
		name, rounds, lookups, bad, missing, in.B);
	TH_CHECK(fail == 0);
	TH_CHECK(rounds > 0);
	TH_CHECK(in.B >= 8);
	TH_CHECK(lookups > 0);
	TH_CHECK(bad == 0);
	TH_CHECK(missing == 0);
}

static noinline void check_stress_chain_evacuation(void)
{
	th_stress_chain_evacuation("chain evacuation", sizeof(struct th_val));
}

static noinline void check_stress_chain_evacuation_fixed_path(void)
{
	th_stress_chain_evacuation("chain evacuation, fixed-size path",
				   sizeof(u64));
}

static noinline void check_api_round_trip(void)
{
	struct tophash_create c = { .key_size = 8, .value_size = 8 };
	struct tophash_map *m = tophash_map_new(&c);
	u64 k = 42, v = 4242, got = 0;

	TH_CHECK(!IS_ERR(m));
	if (IS_ERR(m))
		return;
	TH_CHECK(c.id > 0);
	TH_CHECK(tophash_lookup(m, &k, &got) == -ENOENT);
	TH_CHECK(!tophash_update(m, &k, &v, TOPHASH_NOEXIST));
	TH_CHECK(tophash_update(m, &k, &v, TOPHASH_NOEXIST) == -EEXIST);
	rcu_read_lock();
	TH_CHECK(!tophash_lookup_rcu(m, &k, &got) && got == v);
	rcu_read_unlock();
	{
		u64 keys[3] = { 7, k, 8 }, vals[3] = { 0 };
		u8 found[3] = { 9, 9, 9 };

		rcu_read_lock();
		TH_CHECK(tophash_lookup_batch_rcu(m, keys, vals, found, 3) == 1);
		rcu_read_unlock();
		TH_CHECK(!found[0] && found[1] && !found[2] && vals[1] == v);
	}
	TH_CHECK(!tophash_delete(m, &k));
	TH_CHECK(tophash_delete(m, &k) == -ENOENT);
	tophash_map_free(m);
	c.key_size = 0;
	TH_CHECK(PTR_ERR(tophash_map_new(&c)) == -EINVAL);
}

static int __init tophash_selftest_init(void)
{
	check_api_round_trip();
	check_stress_growth();
	check_stress_growth_fixed_paths();
	check_stress_shrink();
	check_stress_overflow_clear();
	check_stress_chain_evacuation();
	check_stress_chain_evacuation_fixed_path();
	pr_info("tophash_selftest: %u of %u tests passed\n", tests_passed, tests_run);
	return tests_passed == tests_run ? 0 : -EINVAL;
}

static void __exit tophash_selftest_exit(void)
{
}

module_init(tophash_selftest_init);
module_exit(tophash_selftest_exit);
MODULE_DESCRIPTION("tophash in-kernel tests: lockless lookups under churn");
MODULE_LICENSE("GPL");
