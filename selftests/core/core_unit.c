// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the map core, built in userspace from the unchanged
 * kmod/tophash_core.c (shims in shim/), with kselftest_harness.h: the
 * operations and their flags, growth and same-size growth, clear in every
 * state, identity-hash placement, the assign kinds and delete walks the
 * tracepoints report, -ENOMEM at every allocation site, memory accounting,
 * and lockless lookups interleaved with writers at exact points.
 */
#include "../../kmod/tophash_core.c"
#include "core_util.h"
#include "kselftest_harness.h"
#include <math.h>

/* An identity-hash key: bucket @bucket for any B up to 20, tophash @top. */
static u64 ik(unsigned long bucket, u8 top, u64 salt)
{
	return ((u64)top << 56) | (salt << 20) | bucket;
}

/* ---- trace events a test records ---- */

static struct th_trace_tophash_assign last_assign;
static struct th_trace_tophash_delete last_delete;
static struct th_trace_tophash_clear last_clear;
static unsigned long n_assign[4], n_delete, n_evacuate, n_evac_moved;
static unsigned long n_grow_start, n_grow_done, n_clear;
static u64 grow_start_count, evac_moved_since_start, evac_dropped_since_start;
static unsigned long n_shrink_start, n_shrink_done, n_double_start, n_finish;
static struct th_trace_tophash_finish last_finish;

static void record_event(const char *ev, const void *e)
{
	if (!strcmp(ev, "tophash_assign")) {
		last_assign = *(const struct th_trace_tophash_assign *)e;
		n_assign[last_assign.kind & 3]++;
	} else if (!strcmp(ev, "tophash_delete")) {
		last_delete = *(const struct th_trace_tophash_delete *)e;
		n_delete++;
	} else if (!strcmp(ev, "tophash_evacuate")) {
		const struct th_trace_tophash_evacuate *x = e;

		n_evacuate++;
		n_evac_moved += x->moved_x + x->moved_y;
		evac_moved_since_start += x->moved_x + x->moved_y;
		evac_dropped_since_start += x->dropped;
	} else if (!strcmp(ev, "tophash_grow_start")) {
		u32 kind = ((const struct th_trace_tophash_grow_class *)e)->kind;

		n_shrink_start += kind == TOPHASH_GROW_SHRINK;
		n_double_start += kind == TOPHASH_GROW_DOUBLE;
		n_grow_start++;
		grow_start_count = ((const struct th_trace_tophash_grow_class *)e)->count;
		evac_moved_since_start = 0;
		evac_dropped_since_start = 0;
	} else if (!strcmp(ev, "tophash_grow_done")) {
		n_shrink_done += ((const struct th_trace_tophash_grow_class *)e)->kind ==
				 TOPHASH_GROW_SHRINK;
		n_grow_done++;
	} else if (!strcmp(ev, "tophash_finish")) {
		last_finish = *(const struct th_trace_tophash_finish *)e;
		n_finish++;
	} else if (!strcmp(ev, "tophash_clear")) {
		last_clear = *(const struct th_trace_tophash_clear *)e;
		n_clear++;
	}
}

/* ---- a paused lookup: run a writer step when the reader reaches an address ---- */

static struct tophash_map *pm;	/* the map a paused lookup's writer step uses */
static u64 pkey, pval;
static int step_err;		/* what the writer step returned */

static struct {
	const void *at;		/* the address the reader is about to load */
	void (*step)(void);
	unsigned int fired;
	unsigned long tbl_loads;	/* rcu_dereference(m->tbl): lookups (re)started */
	const void *tbl;
} pause_at;

static void pause_hook(const void *addr)
{
	if (addr == pause_at.tbl)
		pause_at.tbl_loads++;
	if (addr != pause_at.at || !pause_at.step)
		return;
	pause_at.fired++;
	pause_at.step();
	pause_at.step = NULL;
}

/* Run @step once, when the next lookup on @m is about to load @at. */
static void pause_arm(struct tophash_map *m, const void *at, void (*step)(void))
{
	pause_at.at = at;
	pause_at.step = step;
	pause_at.fired = 0;
	pause_at.tbl_loads = 0;
	step_err = -1;
	pause_at.tbl = &m->tbl;
	th_shim_hook_acquire = pause_hook;
	th_shim_hook_deref = pause_hook;
}

static void pause_disarm(void)
{
	th_shim_hook_acquire = NULL;
	th_shim_hook_deref = NULL;
	pause_at.step = NULL;
}

/* Address of bucket @i of the current or old array. */
static u8 *bucket_addr(struct tophash_map *m, bool old, unsigned long i)
{
	struct tophash_table *t;
	u8 *b;

	mutex_lock(&m->lock);
	t = tu_tbl(m);
	b = th_bucket(m, old ? t->oldbuckets : t->buckets, i);
	mutex_unlock(&m->lock);
	return b;
}

FIXTURE(MAP) {
	struct tophash_map *m;
};

/*
 * Every MAP test runs twice: with the fixed-size path where one fits the
 * map (8-byte keys and values), and with every map on the generic path.
 */
FIXTURE_VARIANT(MAP) {
	bool generic;
};

FIXTURE_VARIANT_ADD(MAP, fixed) {
	.generic = false,
};

FIXTURE_VARIANT_ADD(MAP, generic) {
	.generic = true,
};

FIXTURE_SETUP(MAP)
{
	tu_generic_path = variant->generic;
	rcu_register_thread();
	self->m = NULL;
	memset(n_assign, 0, sizeof(n_assign));
	n_delete = n_evacuate = n_evac_moved = n_grow_start = n_grow_done = n_clear = 0;
	n_shrink_start = n_shrink_done = n_double_start = n_finish = 0;
	th_trace_hook = record_event;
}

/* Every test ends with nothing allocated and nothing the shim objected to. */
FIXTURE_TEARDOWN(MAP)
{
	pause_disarm();
	th_shim_fail_nth(0);
	th_shim_fail_random(0, 0);
	tu_map_free(self->m);
	EXPECT_EQ(0, th_shim_live_allocs());
	EXPECT_EQ(0, th_shim_live_bytes());
	EXPECT_EQ(0, atomic64_read(&tophash_live_bytes));
	EXPECT_EQ(0, th_shim_errors());
	rcu_unregister_thread();
}

static int put(struct tophash_map *m, u64 key, u64 val, u32 flags)
{
	return tophash_update(m, &key, &val, flags);
}

static int get(struct tophash_map *m, u64 key, u64 *val)
{
	u64 v = 0;
	int err = tophash_lookup(m, &key, &v);

	if (val)
		*val = v;
	return err;
}

static int del(struct tophash_map *m, u64 key)
{
	return tophash_delete(m, &key);
}

/* The SipHash paper's test key 00..0f; messages 00, 01, ... of each length. */
TEST(siphash_matches_reference_vectors)
{
	siphash_key_t key;
	u8 msg[15];
	int i;

	for (i = 0; i < 16; i++)
		((u8 *)key.key)[i] = i;
	for (i = 0; i < 15; i++)
		msg[i] = i;
	/* Appendix A of "SipHash: a fast short-input PRF": 15 bytes. */
	EXPECT_EQ(0xa129ca6149be45e5ULL, siphash(msg, 15, &key));
	/* The reference implementation's vectors.h: the empty message, 8 bytes. */
	EXPECT_EQ(0x726fdb47dd0e0e31ULL, siphash(msg, 0, &key));
	EXPECT_EQ(0x93f5f5799a932462ULL, siphash(msg, 8, &key));
}

TEST_F(MAP, update_lookup_delete_round_trip)
{
	struct tophash_map *m = self->m = tu_map_new(8, 8, 0, 0, 0, NULL);
	u64 v;

	ASSERT_NE(NULL, m);
	EXPECT_EQ(-ENOENT, get(m, 42, &v));
	EXPECT_EQ(0, put(m, 42, 4200, TOPHASH_ANY));
	EXPECT_EQ(0, get(m, 42, &v));
	EXPECT_EQ(4200, v);
	EXPECT_EQ(0, put(m, 42, 4201, TOPHASH_ANY));
	EXPECT_EQ(0, get(m, 42, &v));
	EXPECT_EQ(4201, v);
	EXPECT_EQ(1, tu_info(m).count);
	EXPECT_EQ(0, del(m, 42));
	EXPECT_EQ(-ENOENT, get(m, 42, &v));
	EXPECT_EQ(-ENOENT, del(m, 42));
	EXPECT_EQ(0, tu_info(m).count);
}

TEST_F(MAP, update_flags_noexist_and_exist)
{
	struct tophash_map *m = self->m = tu_map_new(8, 8, 0, 0, 0, NULL);
	u64 v;

	ASSERT_NE(NULL, m);
	EXPECT_EQ(-ENOENT, put(m, 7, 70, TOPHASH_EXIST));
	EXPECT_EQ(-ENOENT, get(m, 7, &v)) TH_LOG("EXIST must not insert");
	EXPECT_EQ(0, put(m, 7, 71, TOPHASH_NOEXIST));
	EXPECT_EQ(-EEXIST, put(m, 7, 72, TOPHASH_NOEXIST));
	EXPECT_EQ(0, get(m, 7, &v));
	EXPECT_EQ(71, v) TH_LOG("a refused NOEXIST must not update");
	EXPECT_EQ(0, put(m, 7, 73, TOPHASH_EXIST));
	EXPECT_EQ(0, get(m, 7, &v));
	EXPECT_EQ(73, v);
	EXPECT_EQ(1, tu_info(m).count);
}

TEST_F(MAP, max_entries_refuses_only_new_keys_with_e2big)
{
	struct tophash_map *m = self->m = tu_map_new(8, 8, 0, 0, 3, NULL);
	u64 v;

	ASSERT_NE(NULL, m);
	EXPECT_EQ(0, put(m, 1, 1, TOPHASH_ANY));
	EXPECT_EQ(0, put(m, 2, 2, TOPHASH_ANY));
	EXPECT_EQ(0, put(m, 3, 3, TOPHASH_ANY));
	EXPECT_EQ(-E2BIG, put(m, 4, 4, TOPHASH_ANY));
	EXPECT_EQ(-E2BIG, put(m, 4, 4, TOPHASH_NOEXIST));
	EXPECT_EQ(-ENOENT, get(m, 4, &v));
	EXPECT_EQ(0, put(m, 3, 33, TOPHASH_ANY)) TH_LOG("updates stay allowed when full");
	EXPECT_EQ(-EEXIST, put(m, 3, 34, TOPHASH_NOEXIST)) TH_LOG("EEXIST wins over E2BIG");
	EXPECT_EQ(0, del(m, 1));
	EXPECT_EQ(0, put(m, 4, 4, TOPHASH_ANY));
	EXPECT_EQ(3, tu_info(m).count);
	EXPECT_EQ(3, tu_info(m).max_entries);
}

TEST_F(MAP, create_twice_is_ebusy_and_info_reports_the_shape)
{
	struct tophash_create c = { .key_size = 8, .value_size = 8, .max_entries = 9 };
	struct tophash_map *m = self->m = tu_map_new(8, 24, TOPHASH_F_IDENTITY_HASH, 100, 1000, NULL);
	struct tophash_info in;

	ASSERT_NE(NULL, m);
	EXPECT_EQ(-EBUSY, tophash_map_create(m, &c, 5));
	in = tu_info(m);
	EXPECT_EQ(1, in.id);
	EXPECT_EQ(8, in.key_size);
	EXPECT_EQ(24, in.value_size);
	EXPECT_EQ(1000, in.max_entries);
	EXPECT_EQ(TOPHASH_INFO_IDENTITY, in.flags);
	EXPECT_EQ(4, in.B) TH_LOG("hint 100 needs 16 buckets, as make(map, 100)");
	EXPECT_EQ(1, in.generation);
	EXPECT_EQ(0, in.count);
}

TEST_F(MAP, lookup_after_destroy_misses)
{
	struct tophash_map *m = tu_map_new(8, 8, 0, 0, 0, NULL);
	u64 v;

	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, put(m, 5, 50, TOPHASH_ANY));
	tophash_map_destroy(m);
	EXPECT_EQ(-ENOENT, get(m, 5, &v)) TH_LOG("a reader after destroy finds no table");
	rcu_barrier();
	free(m);
}

/* Doubling: B + 1 each time, evacuation advances with every write, ends. */
TEST_F(MAP, growth_doubles_B_evacuates_incrementally_and_completes)
{
	struct tophash_map *m = self->m = tu_map_new(8, 24, 0, 0, 0, NULL);
	u64 i, k, last_nevac = 0, growths = 0, gen = 1, seen_growing = 0;
	struct tophash_info in;
	struct tu_val v;
	u32 B = 0;
	const char *why;

	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, tu_info(m).B);
	for (i = 0; i < 3000; i++) {
		tu_make_val(&v, i, 0);
		ASSERT_EQ(0, tophash_update(m, &i, &v, TOPHASH_NOEXIST));
		in = tu_info(m);
		if (in.B != B) {
			EXPECT_EQ(B + 1, in.B);
			EXPECT_EQ(++gen, in.generation);
			B = in.B;
			growths++;
			last_nevac = 0;
		} else {
			EXPECT_EQ(gen, in.generation) TH_LOG("grow done keeps the array");
		}
		if (in.flags & TOPHASH_INFO_GROWING) {
			EXPECT_EQ(0, in.flags & TOPHASH_INFO_SAME_SIZE);
			EXPECT_LT(last_nevac, in.nevacuate) TH_LOG("insert %llu did not evacuate", i);
			last_nevac = in.nevacuate;
			seen_growing++;
		}
		if (i % 97 == 0 || (in.flags & TOPHASH_INFO_GROWING)) {
			why = tu_check_map(m);
			ASSERT_EQ(NULL, why) TH_LOG("after insert %llu: %s", i, why);
		}
		if (i % 211 == 0) {
			for (k = 0; k <= i; k++) {
				struct tu_val got;

				ASSERT_EQ(0, tophash_lookup(m, &k, &got));
				ASSERT_TRUE(tu_val_ok(&got, k));
			}
		}
	}
	for (k = 0; tu_info(m).flags & TOPHASH_INFO_GROWING; k++)
		ASSERT_EQ(0, tophash_update(m, &k, &v, TOPHASH_EXIST));
	in = tu_info(m);
	EXPECT_EQ(9, in.B) TH_LOG("3000 entries: 6.5 * 512 >= 3000 > 6.5 * 256");
	EXPECT_EQ(9, growths);
	EXPECT_LT(100, seen_growing) TH_LOG("growth is incremental");
	EXPECT_EQ(9, n_grow_start);
	EXPECT_EQ(9, n_grow_done);
	EXPECT_EQ(3000, in.count);
	EXPECT_EQ(NULL, tu_check_map(m));
}

/* Overflow buckets left by deletes trigger a grow that keeps B and sheds them. */
TEST_F(MAP, same_size_growth_sheds_overflow_buckets)
{
	struct tophash_map *m = self->m = tu_map_new(8, 8, TOPHASH_F_IDENTITY_HASH, 50, 0, NULL);
	struct tophash_info in;
	u64 i, v;
	const char *why;

	ASSERT_NE(NULL, m);
	ASSERT_EQ(3, tu_info(m).B);
	for (i = 0; i < 52; i++)		/* bucket 0: 7 buckets long */
		ASSERT_EQ(0, put(m, ik(0, 5 + i, i), i, TOPHASH_NOEXIST));
	EXPECT_EQ(6, tu_info(m).noverflow);
	for (i = 0; i < 52; i++)
		ASSERT_EQ(0, del(m, ik(0, 5 + i, i)));
	for (i = 0; i < 17; i++)		/* bucket 1: 3 buckets long, 8 overflow in all */
		ASSERT_EQ(0, put(m, ik(1, 5 + i, i), i, TOPHASH_NOEXIST));
	in = tu_info(m);
	EXPECT_EQ(8, in.noverflow);
	EXPECT_EQ(0, in.flags & TOPHASH_INFO_GROWING);
	/* noverflow >= 2^B: the next insert starts a same-size growth. */
	ASSERT_EQ(0, put(m, ik(2, 9, 0), 1, TOPHASH_NOEXIST));
	in = tu_info(m);
	EXPECT_EQ(TOPHASH_INFO_GROWING | TOPHASH_INFO_SAME_SIZE | TOPHASH_INFO_IDENTITY,
		  in.flags);
	EXPECT_EQ(3, in.B);
	EXPECT_EQ(2, in.noldoverflow) TH_LOG("old bucket 0 (6 overflow) went with the first grow work");
	why = tu_check_map(m);
	EXPECT_EQ(NULL, why) TH_LOG("%s", why);
	for (i = 0; i < 8 && (tu_info(m).flags & TOPHASH_INFO_GROWING); i++)
		ASSERT_EQ(0, put(m, ik(3, 9, i), i, TOPHASH_NOEXIST));
	in = tu_info(m);
	EXPECT_EQ(0, in.flags & TOPHASH_INFO_GROWING);
	EXPECT_EQ(3, in.B);
	EXPECT_EQ(2, in.noverflow) TH_LOG("only bucket 1's chain needs overflow buckets");
	EXPECT_EQ(0, in.noldoverflow);
	EXPECT_EQ(3, tu_depth(m, false, 1));
	EXPECT_EQ(1, tu_depth(m, false, 0));
	for (i = 0; i < 17; i++) {
		ASSERT_EQ(0, get(m, ik(1, 5 + i, i), &v));
		EXPECT_EQ(i, v);
	}
	why = tu_check_map(m);
	EXPECT_EQ(NULL, why) TH_LOG("%s", why);
}

/*
 * From B = 16 on, Go's noverflow counts an overflow bucket with chance
 * 2^-(B-15), so a same-size growth waits for 2^B of them on average; ours
 * counts exactly and waits for 2^B too, not for the literal 2^15 of Go's
 * uint16 counter (which would sweep all 2^16 buckets twice as often here).
 */
TEST_F(MAP, same_size_growth_waits_for_as_many_overflow_as_regular_buckets)
{
	/* A hint of 6.5 * 2^16 keys: B = 16, no doubling below it. */
	struct tophash_map *m = self->m = tu_map_new(8, 8, TOPHASH_F_IDENTITY_HASH,
						     13 << 15, 0, NULL);
	unsigned long b, nb = 1UL << 16;
	struct tophash_info in;
	u64 i, v;

	ASSERT_NE(NULL, m);
	ASSERT_EQ(16, tu_info(m).B);
	/* Each bucket: 9 keys (one overflow bucket), then 8 of them deleted. */
	for (b = 0; b < nb; b++) {
		for (i = 0; i < 9; i++)
			ASSERT_EQ(0, put(m, ik(b, 5 + i, i), i, TOPHASH_NOEXIST));
		for (i = 0; i < 8; i++)
			ASSERT_EQ(0, del(m, ik(b, 5 + i, i)));
		if (b == nb / 2) {
			in = tu_info(m);
			EXPECT_EQ(nb / 2 + 1, in.noverflow);
			EXPECT_EQ(0, in.flags & TOPHASH_INFO_GROWING)
				TH_LOG("2^15 + 1 overflow buckets at B = 16 start no growth");
		}
	}
	in = tu_info(m);
	EXPECT_EQ(nb, in.noverflow);
	EXPECT_EQ(nb, in.count);
	EXPECT_EQ(0, in.flags & TOPHASH_INFO_GROWING)
		TH_LOG("the insert that made overflow bucket 2^16 found 2^16 - 1");
	/* noverflow >= 2^B: the next insert starts a same-size growth. */
	ASSERT_EQ(0, put(m, ik(0, 200, 1), 1, TOPHASH_NOEXIST));
	in = tu_info(m);
	EXPECT_EQ(TOPHASH_INFO_GROWING | TOPHASH_INFO_SAME_SIZE | TOPHASH_INFO_IDENTITY,
		  in.flags);
	EXPECT_EQ(16, in.B);
	for (b = 0; b < nb; b += 4093) {
		ASSERT_EQ(0, get(m, ik(b, 5 + 8, 8), &v));
		EXPECT_EQ(8, v);
	}
}

/* Clear reclaims and resets; @m is as a fresh map of the same B after. */
static void check_cleared(struct __test_metadata *_metadata, struct tophash_map *m,
			  u32 B, u64 gen, const siphash_key_t *seed, u64 nkeys,
			  u64 (*key_of)(u64))
{
	struct tophash_info in = tu_info(m);
	const char *why = tu_check_map(m);
	u64 i, v;

	EXPECT_EQ(0, in.count);
	EXPECT_EQ(B, in.B);
	EXPECT_EQ(gen + 1, in.generation);
	EXPECT_EQ(0, in.flags & (TOPHASH_INFO_GROWING | TOPHASH_INFO_SAME_SIZE));
	EXPECT_EQ(0, in.noverflow);
	EXPECT_EQ(0, in.noldoverflow);
	EXPECT_EQ(0, in.nevacuate);
	EXPECT_EQ(NULL, why) TH_LOG("%s", why);
	if (seed) {
		mutex_lock(&m->lock);
		EXPECT_NE(0, memcmp(seed, &tu_tbl(m)->seed, sizeof(*seed)))
			TH_LOG("clear draws a new seed");
		mutex_unlock(&m->lock);
	}
	for (i = 0; i < nkeys; i++)
		EXPECT_EQ(-ENOENT, get(m, key_of(i), &v));
	rcu_barrier();
	EXPECT_EQ(in.bytes, atomic64_read(&tophash_live_bytes));
}

static u64 key_plain(u64 i)
{
	return i;
}

static u64 key_bucket5(u64 i)
{
	return ik(5, 10 + i, i);
}

TEST_F(MAP, clear_of_an_emptied_map_draws_a_new_seed_and_array)
{
	struct tophash_map *m = self->m = tu_map_new(8, 8, 0, 0, 0, NULL);
	struct tophash_clear out = { .size = sizeof(out) };
	struct tophash_info in;
	siphash_key_t seed;
	u64 i;

	ASSERT_NE(NULL, m);
	for (i = 0; i < 200; i++)
		ASSERT_EQ(0, put(m, i, i, TOPHASH_ANY));
	for (i = 0; i < 200; i++)
		ASSERT_EQ(0, del(m, i));
	in = tu_info(m);
	ASSERT_EQ(0, in.count);
	ASSERT_LT(0, in.B);
	mutex_lock(&m->lock);
	seed = tu_tbl(m)->seed;
	mutex_unlock(&m->lock);
	ASSERT_EQ(0, tophash_clear(m, &out));
	EXPECT_EQ(0, out.entries);
	EXPECT_EQ(in.noverflow + in.noldoverflow, out.overflow);
	EXPECT_EQ(in.flags & TOPHASH_INFO_GROWING ? 1ULL << (in.B - 1) : 0, out.oldbuckets);
	EXPECT_EQ(in.bytes - tu_info(m).bytes, out.bytes);
	EXPECT_EQ(1, n_clear);
	EXPECT_EQ(0, last_clear.destroy);
	check_cleared(_metadata, m, in.B, in.generation, &seed, 200, key_plain);
}

TEST_F(MAP, clear_mid_growth_frees_both_arrays_and_ends_the_growth)
{
	struct tophash_map *m = self->m = tu_map_new(8, 8, 0, 0, 0, NULL);
	struct tophash_clear out = { .size = sizeof(out) };
	struct tophash_info in;
	u64 i;

	ASSERT_NE(NULL, m);
	for (i = 0; !(tu_info(m).flags & TOPHASH_INFO_GROWING) || tu_info(m).B < 5; i++)
		ASSERT_EQ(0, put(m, i, i, TOPHASH_ANY));
	in = tu_info(m);
	ASSERT_TRUE(in.flags & TOPHASH_INFO_GROWING);
	ASSERT_GT(1ULL << (in.B - 1), in.nevacuate) TH_LOG("still mid-growth");
	ASSERT_EQ(0, tophash_clear(m, &out));
	EXPECT_EQ(i, out.entries);
	EXPECT_EQ(1ULL << (in.B - 1), out.oldbuckets);
	EXPECT_EQ(in.noverflow + in.noldoverflow, out.overflow);
	EXPECT_EQ(in.bytes - tu_info(m).bytes, out.bytes);
	EXPECT_EQ(i, last_clear.entries);
	check_cleared(_metadata, m, in.B, in.generation, NULL, i, key_plain);
	for (i = 0; i < 100; i++)
		ASSERT_EQ(0, put(m, i, i, TOPHASH_NOEXIST)) TH_LOG("usable after clear");
}

TEST_F(MAP, clear_of_a_chain_of_emptyone_slots_frees_its_overflow)
{
	struct tophash_map *m = self->m = tu_map_new(8, 8, TOPHASH_F_IDENTITY_HASH, 50, 0, NULL);
	struct tophash_clear out = { .size = sizeof(out) };
	struct tophash_info in;
	unsigned int s;
	u64 i;

	ASSERT_NE(NULL, m);
	for (i = 0; i < 9; i++)
		ASSERT_EQ(0, put(m, key_bucket5(i), i, TOPHASH_NOEXIST));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, del(m, key_bucket5(i)));
	for (s = 0; s < TH_SLOTS; s++)
		EXPECT_EQ(TOPHASH_EMPTY_ONE, tu_state(m, false, 5, 0, s));
	in = tu_info(m);
	ASSERT_EQ(1, in.count);
	ASSERT_EQ(1, in.noverflow);
	ASSERT_EQ(0, tophash_clear(m, &out));
	EXPECT_EQ(1, out.entries);
	EXPECT_EQ(1, out.overflow);
	EXPECT_EQ(0, out.oldbuckets);
	EXPECT_EQ(in.bytes - tu_info(m).bytes, out.bytes);
	EXPECT_EQ(sizeof(struct th_ovf_hdr) + m->bucket_size, out.bytes)
		TH_LOG("the overflow bucket; the arrays and tables are the same size");
	check_cleared(_metadata, m, in.B, in.generation, NULL, 9, key_bucket5);
	EXPECT_EQ(TOPHASH_EMPTY_REST, tu_state(m, false, 5, 0, 0));
}

TEST_F(MAP, identity_hash_places_keys_by_low_bits_and_top_byte)
{
	struct tophash_map *m = self->m = tu_map_new(8, 8, TOPHASH_F_IDENTITY_HASH, 50, 0, NULL);
	u64 i;

	ASSERT_NE(NULL, m);
	ASSERT_EQ(3, tu_info(m).B);
	ASSERT_EQ(0, put(m, ik(5, 0x42, 1), 1, TOPHASH_ANY));
	EXPECT_EQ(0x42, tu_state(m, false, 5, 0, 0));
	ASSERT_EQ(0, put(m, ik(5, 0x02, 2), 2, TOPHASH_ANY));
	EXPECT_EQ(0x02 + TOPHASH_MIN_TOPHASH, tu_state(m, false, 5, 0, 1))
		TH_LOG("tophash below minTopHash is raised by it");
	EXPECT_EQ(TOPHASH_EMPTY_REST, tu_state(m, false, 5, 0, 2));
	for (i = 0; i < 7; i++)
		ASSERT_EQ(0, put(m, ik(2, 0x80 + i, i), i, TOPHASH_ANY));
	EXPECT_EQ(1, tu_depth(m, false, 2));
	ASSERT_EQ(0, put(m, ik(2, 0x90, 7), 7, TOPHASH_ANY));
	ASSERT_EQ(0, put(m, ik(2, 0x91, 8), 8, TOPHASH_ANY));
	EXPECT_EQ(2, tu_depth(m, false, 2));
	EXPECT_EQ(0x91, tu_state(m, false, 2, 1, 0));
	EXPECT_EQ(TOPHASH_EMPTY_REST, tu_state(m, false, 2, 1, 1));
	EXPECT_EQ(1, tu_info(m).noverflow);
}

TEST_F(MAP, tracepoints_report_each_kind_of_assign)
{
	struct tophash_map *m = self->m = tu_map_new(8, 8, TOPHASH_F_IDENTITY_HASH, 50, 0, NULL);
	u64 i;

	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, put(m, ik(3, 0x50, 0), 0, TOPHASH_ANY));
	EXPECT_EQ(TOPHASH_ASSIGN_FRESH, last_assign.kind);
	EXPECT_EQ(3, last_assign.bucket);
	EXPECT_EQ(0, last_assign.depth);
	EXPECT_EQ(0, last_assign.slot);
	EXPECT_EQ(0x50, last_assign.tophash);
	EXPECT_EQ(1, last_assign.count);
	EXPECT_EQ(1, last_assign.gen);
	EXPECT_EQ(0, last_assign.growing);
	ASSERT_EQ(0, put(m, ik(3, 0x51, 1), 1, TOPHASH_ANY));
	EXPECT_EQ(TOPHASH_ASSIGN_FRESH, last_assign.kind);
	EXPECT_EQ(1, last_assign.slot);
	ASSERT_EQ(0, put(m, ik(3, 0x50, 0), 9, TOPHASH_ANY));
	EXPECT_EQ(TOPHASH_ASSIGN_UPDATE, last_assign.kind);
	EXPECT_EQ(0, last_assign.slot);
	EXPECT_EQ(2, last_assign.count);
	ASSERT_EQ(0, del(m, ik(3, 0x50, 0)));
	EXPECT_EQ(0, last_delete.slot);
	EXPECT_EQ(0, last_delete.rest) TH_LOG("slot 1 is full: slot 0 stays emptyOne");
	ASSERT_EQ(0, put(m, ik(3, 0x52, 2), 2, TOPHASH_ANY));
	EXPECT_EQ(TOPHASH_ASSIGN_REUSE, last_assign.kind);
	EXPECT_EQ(0, last_assign.slot);
	for (i = 3; i < 9; i++)
		ASSERT_EQ(0, put(m, ik(3, 0x50 + i, i), i, TOPHASH_ANY));
	EXPECT_EQ(TOPHASH_ASSIGN_FRESH, last_assign.kind);
	EXPECT_EQ(7, last_assign.slot);
	ASSERT_EQ(0, put(m, ik(3, 0x60, 8), 8, TOPHASH_ANY));
	EXPECT_EQ(TOPHASH_ASSIGN_OVERFLOW, last_assign.kind);
	EXPECT_EQ(1, last_assign.depth);
	EXPECT_EQ(0, last_assign.slot);
	EXPECT_EQ(9, last_assign.count);
	EXPECT_EQ(8, n_assign[TOPHASH_ASSIGN_FRESH]);
	EXPECT_EQ(1, n_assign[TOPHASH_ASSIGN_UPDATE]);
	EXPECT_EQ(1, n_assign[TOPHASH_ASSIGN_REUSE]);
	EXPECT_EQ(1, n_assign[TOPHASH_ASSIGN_OVERFLOW]);
}

TEST_F(MAP, tracepoints_report_growth_and_every_moved_entry)
{
	struct tophash_map *m = self->m = tu_map_new(8, 8, 0, 0, 0, NULL);
	u64 i;

	ASSERT_NE(NULL, m);
	for (i = 0; i < 1000; i++)
		ASSERT_EQ(0, put(m, i, i, TOPHASH_ANY));
	while (tu_info(m).flags & TOPHASH_INFO_GROWING)
		ASSERT_EQ(0, put(m, i - 1, i, TOPHASH_ANY));
	EXPECT_EQ(tu_info(m).B, n_grow_start);
	EXPECT_EQ(n_grow_start, n_grow_done);
	EXPECT_EQ((1UL << tu_info(m).B) - 1, n_evacuate) TH_LOG("each old bucket once");
	EXPECT_EQ(grow_start_count, evac_moved_since_start)
		TH_LOG("the last growth moved every entry the old array held");
	EXPECT_EQ(0, evac_dropped_since_start) TH_LOG("no deletes, nothing dropped");
}

/* Go's mapdelete tail: trailing emptyOne slots become emptyRest, across buckets. */
TEST_F(MAP, delete_turns_trailing_emptyone_slots_into_emptyrest)
{
	struct tophash_map *m = self->m = tu_map_new(8, 8, TOPHASH_F_IDENTITY_HASH, 50, 0, NULL);
	u64 i;

	ASSERT_NE(NULL, m);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, put(m, ik(4, 0x20 + i, i), i, TOPHASH_ANY));
	ASSERT_EQ(0, del(m, ik(4, 0x21, 1)));
	EXPECT_EQ(0, last_delete.rest);
	EXPECT_EQ(TOPHASH_EMPTY_ONE, tu_state(m, false, 4, 0, 1));
	ASSERT_EQ(0, del(m, ik(4, 0x23, 3)));
	EXPECT_EQ(1, last_delete.rest);
	EXPECT_EQ(TOPHASH_EMPTY_REST, tu_state(m, false, 4, 0, 3));
	EXPECT_EQ(0x22, tu_state(m, false, 4, 0, 2));
	ASSERT_EQ(0, del(m, ik(4, 0x22, 2)));
	EXPECT_EQ(2, last_delete.rest) TH_LOG("slot 2 and the emptyOne slot 1 before it");
	EXPECT_EQ(0x20, tu_state(m, false, 4, 0, 0));
	EXPECT_EQ(TOPHASH_EMPTY_REST, tu_state(m, false, 4, 0, 1));
	EXPECT_EQ(TOPHASH_EMPTY_REST, tu_state(m, false, 4, 0, 2));

	for (i = 0; i < 10; i++)	/* bucket 6: 8 + 2 in an overflow bucket */
		ASSERT_EQ(0, put(m, ik(6, 0x30 + i, i), i, TOPHASH_ANY));
	ASSERT_EQ(0, del(m, ik(6, 0x38, 8)));	/* overflow slot 0, slot 1 full */
	EXPECT_EQ(0, last_delete.rest);
	EXPECT_EQ(1, last_delete.depth);
	ASSERT_EQ(0, del(m, ik(6, 0x37, 7)));	/* primary slot 7: overflow[0] is emptyOne */
	EXPECT_EQ(0, last_delete.rest);
	EXPECT_EQ(TOPHASH_EMPTY_ONE, tu_state(m, false, 6, 0, 7));
	ASSERT_EQ(0, del(m, ik(6, 0x39, 9)));	/* last full slot of the chain */
	EXPECT_EQ(3, last_delete.rest) TH_LOG("walks back into the primary bucket");
	EXPECT_EQ(TOPHASH_EMPTY_REST, tu_state(m, false, 6, 1, 0));
	EXPECT_EQ(TOPHASH_EMPTY_REST, tu_state(m, false, 6, 1, 1));
	EXPECT_EQ(TOPHASH_EMPTY_REST, tu_state(m, false, 6, 0, 7));
	EXPECT_EQ(0x36, tu_state(m, false, 6, 0, 6));
	EXPECT_EQ(NULL, tu_check_map(m));
}

/*
 * Memory accounting: info.bytes is what the map holds; once RCU has run
 * every callback it equals the module-wide live bytes, and destroy returns
 * them all.
 */
TEST_F(MAP, info_bytes_match_live_bytes_and_destroy_returns_all)
{
	struct tophash_map *m = self->m = tu_map_new(16, 40, 0, 0, 0, NULL);
	u64 key[2] = { 0, 0 }, val[5] = { 0 }, i;

	ASSERT_NE(NULL, m);
	for (i = 0; i < 5000; i++) {
		key[0] = i % 1500;
		key[1] = i % 3;
		if (i % 5 == 4)
			tophash_delete(m, key);
		else
			ASSERT_EQ(0, tophash_update(m, key, val, TOPHASH_ANY));
		if (i % 500 == 0) {
			rcu_barrier();
			ASSERT_EQ(tu_info(m).bytes, atomic64_read(&tophash_live_bytes));
		}
	}
	rcu_barrier();
	EXPECT_EQ(tu_info(m).bytes, atomic64_read(&tophash_live_bytes));
	EXPECT_EQ(tu_info(m).bytes, th_shim_live_bytes())
		TH_LOG("every allocation of the map is accounted, overflow headers included");
	tophash_map_destroy(m);
	rcu_barrier();
	EXPECT_EQ(0, atomic64_read(&tophash_live_bytes));
	EXPECT_EQ(0, th_shim_live_allocs());
	free(m);
	self->m = NULL;
}

/* ---- -ENOMEM at every allocation ---- */

/* A trivial model of the map's contents: u64 keys, u64 values. */
#define MODEL_MAX	4096
static struct {
	u64 key[MODEL_MAX], val[MODEL_MAX];
	unsigned int n;
} model;

static int model_find(u64 key)
{
	unsigned int i;

	for (i = 0; i < model.n; i++)
		if (model.key[i] == key)
			return i;
	return -1;
}

/* NULL when @m holds exactly the model's contents. */
static const char *model_matches(struct tophash_map *m)
{
	static char why[128];
	const char *err;
	unsigned int i;
	u64 v;

	if (tu_info(m).count != model.n)
		return "count differs";
	for (i = 0; i < model.n; i++) {
		if (get(m, model.key[i], &v)) {
			snprintf(why, sizeof(why), "key %#llx missing", model.key[i]);
			return why;
		}
		if (v != model.val[i])
			return "a value differs";
	}
	err = tu_check_map(m);
	return err;
}

enum { OP_PUT, OP_DEL, OP_CLEAR, OP_FINISH, NOPS };

/* Deletes that succeeded while only the shrink they would start failed. */
static unsigned long shrink_start_failed;
/* Failed allocations of writes and finisher steps during a shrink. */
static unsigned long failed_mid_shrink;
/* Deletes made during a shrink, and those of them that allocated. */
static unsigned long dels_mid_shrink, dels_mid_shrink_allocating;

/* Which allocation a failure hit, told apart by size. */
enum { SITE_TABLE, SITE_ARRAY, SITE_OVERFLOW, NSITES };

static const char *const site_name[NSITES] = { "table", "array", "overflow" };

static int run_op(struct tophash_map *m, int op, u64 key, u64 val)
{
	struct tophash_clear out = { .size = sizeof(out) };

	switch (op) {
	case OP_PUT:
		return put(m, key, val, TOPHASH_ANY);
	case OP_DEL:
		return del(m, key);
	case OP_FINISH:
		/* @val old buckets; 1 while an evacuation is left */
		return tophash_finish_step(m, val);
	default:
		return tophash_clear(m, &out);
	}
}

static void model_apply(int op, u64 key, u64 val)
{
	int i = model_find(key);

	if (op == OP_FINISH) {
		return;
	} else if (op == OP_CLEAR) {
		model.n = 0;
	} else if (op == OP_DEL) {
		if (i >= 0)
			model.key[i] = model.key[--model.n], model.val[i] = model.val[model.n];
	} else if (i >= 0) {
		model.val[i] = val;
	} else {
		model.key[model.n] = key;
		model.val[model.n++] = val;
	}
}

/*
 * Run @op with the 1st, 2nd, ... allocation it makes failing, until it
 * makes fewer allocations than that. Every -ENOMEM must leave the contents
 * exactly as before, and so must a finisher step that could not allocate
 * (it says an evacuation is left, to be tried again). A delete on a
 * TOPHASH_F_SHRINK map succeeds when only the shrink it would start fails:
 * then it is done, the map is not shrinking, and the finisher is queued.
 * Records in @hit[op][site] which sites failed.
 */
static void op_with_every_failure(struct __test_metadata *_metadata,
				  struct tophash_map *m, int op, u64 key, u64 val,
				  unsigned long hit[NOPS][NSITES])
{
	size_t tsize = sizeof(struct tophash_table);
	size_t osize = sizeof(struct th_ovf_hdr) + m->bucket_size;
	unsigned long k, calls0, fails0;
	const char *why;
	int err;

	for (k = 1;; k++) {
		struct tophash_info before = tu_info(m), after;

		calls0 = th_shim_alloc_calls();
		fails0 = th_shim_alloc_failures();
		th_shim_fail_nth(k);
		err = run_op(m, op, key, val);
		th_shim_fail_nth(0);
		/* A delete mid-shrink does no growth work: nothing to allocate. */
		if (k == 1 && op == OP_DEL && (before.flags & TOPHASH_INFO_SHRINKING)) {
			dels_mid_shrink++;
			dels_mid_shrink_allocating += th_shim_alloc_calls() != calls0;
		}
		if (th_shim_alloc_failures() == fails0) {
			ASSERT_NE(-ENOMEM, err);
			ASSERT_GT(k, th_shim_alloc_calls() - calls0);
			break;
		}
		if (op == OP_DEL && !err && m->shrink_pct) {
			after = tu_info(m);
			ASSERT_EQ(0, after.flags & TOPHASH_INFO_GROWING)
				TH_LOG("key %#llx failure %lu: a shrink started", key, k);
			ASSERT_EQ(before.count - 1, after.count);
			ASSERT_TRUE(delayed_work_pending(&m->finish));
			rcu_barrier();
			ASSERT_EQ(after.bytes, atomic64_read(&tophash_live_bytes));
			shrink_start_failed++;
			break;
		}
		if (before.flags & TOPHASH_INFO_SHRINKING)
			failed_mid_shrink++;
		ASSERT_EQ(op == OP_FINISH ? 1 : -ENOMEM, err)
			TH_LOG("op %d key %#llx failure %lu", op, key, k);
		why = model_matches(m);
		ASSERT_EQ(NULL, why) TH_LOG("op %d key %#llx after failing allocation %lu: %s",
					    op, key, k, why);
		/* Not only the contents: growth progress, tables, bytes too. */
		after = tu_info(m);
		ASSERT_EQ(0, memcmp(&before, &after, sizeof(before)))
			TH_LOG("op %d key %#llx failure %lu changed the map: nevacuate %llu->%llu bytes %llu->%llu B %u->%u flags %#x->%#x noverflow %llu->%llu noldoverflow %llu->%llu generation %llu->%llu",
			       op, key, k, before.nevacuate, after.nevacuate,
			       before.bytes, after.bytes, before.B, after.B,
			       before.flags, after.flags, before.noverflow,
			       after.noverflow, before.noldoverflow, after.noldoverflow,
			       before.generation, after.generation);
		rcu_barrier();
		ASSERT_EQ(before.bytes, atomic64_read(&tophash_live_bytes))
			TH_LOG("op %d failure %lu: live bytes not back", op, k);
		hit[op][th_shim_last_failed_size() == tsize ? SITE_TABLE :
			th_shim_last_failed_size() == osize ? SITE_OVERFLOW : SITE_ARRAY]++;
	}
	if (!err)
		model_apply(op, key, val);
	why = model_matches(m);
	ASSERT_EQ(NULL, why) TH_LOG("op %d key %#llx: %s", op, key, why);
	rcu_barrier();
	ASSERT_EQ(tu_info(m).bytes, atomic64_read(&tophash_live_bytes));
}

TEST_F(MAP, enomem_at_every_allocation_leaves_the_contents_unchanged)
{
	unsigned long hit[NOPS][NSITES] = { { 0 } };
	struct tophash_map *m;
	u64 i, r = 1;
	int err, op, s;

	/* Create fails cleanly at both of its allocations. */
	th_shim_fail_nth(1);
	EXPECT_EQ(NULL, tu_map_new(8, 8, TOPHASH_F_IDENTITY_HASH, 50, 0, &err));
	EXPECT_EQ(-ENOMEM, err);
	th_shim_fail_nth(2);
	EXPECT_EQ(NULL, tu_map_new(8, 8, TOPHASH_F_IDENTITY_HASH, 50, 0, &err));
	EXPECT_EQ(-ENOMEM, err);
	th_shim_fail_nth(0);
	EXPECT_EQ(0, th_shim_live_allocs());

	m = self->m = tu_map_new(8, 8, TOPHASH_F_IDENTITY_HASH, 0, 0, NULL);
	ASSERT_NE(NULL, m);
	model.n = 0;
	/*
	 * Crowded buckets: overflow on assign and in evacuation, doubling and
	 * same-size growth; a delete of a present key after each insert that
	 * leaves the map growing (a delete does growth work only then).
	 */
	for (i = 0; i < 500; i++) {
		op_with_every_failure(_metadata, m, OP_PUT, ik(i % 5, 5 + i % 251, i), i, hit);
		if (i % 3 == 2 && (tu_info(m).flags & TOPHASH_INFO_GROWING))
			op_with_every_failure(_metadata, m, OP_DEL,
					      ik((i - 1) % 5, 5 + (i - 1) % 251, i - 1), 0, hit);
	}
	for (i = 0; i < 800; i++) {
		u64 x = tu_rand(&r);

		op = x % 10 < 6 ? OP_PUT : OP_DEL;
		if (op == OP_DEL && model.n)	/* mostly present keys */
			op_with_every_failure(_metadata, m, op, model.key[(x >> 8) % model.n], 0, hit);
		else
			op_with_every_failure(_metadata, m, i % 150 == 149 ? OP_CLEAR : op,
					      ik(x % 7, 5 + (x >> 8) % 250, (x >> 16) % 64), x, hit);
	}
	op_with_every_failure(_metadata, m, OP_CLEAR, 0, 0, hit);

	/* A delete that ends a growth: evacuation's overflow bucket, grow done's table. */
	tu_map_free(m);
	m = self->m = tu_map_new(8, 8, TOPHASH_F_IDENTITY_HASH, 20, 0, NULL);
	ASSERT_NE(NULL, m);
	model.n = 0;
	for (i = 0; i < 10; i++)	/* old bucket 3 will need an overflow bucket in X */
		op_with_every_failure(_metadata, m, OP_PUT, ik(3, 0x10 + i, i), i, hit);
	for (i = 0; i < 17; i++)	/* the 27th entry starts growth; old 0 and 1 go */
		op_with_every_failure(_metadata, m, OP_PUT, ik(i % 3, 0x40 + i, i), i, hit);
	ASSERT_TRUE(tu_info(m).flags & TOPHASH_INFO_GROWING);
	ASSERT_EQ(2, tu_info(m).nevacuate);
	op_with_every_failure(_metadata, m, OP_DEL, ik(3, 0x10, 0), 0, hit);
	ASSERT_EQ(0, tu_info(m).flags & TOPHASH_INFO_GROWING);

	for (op = 0; op < 3; op++)
		for (s = 0; s < NSITES; s++)
			TH_LOG("failed %-5s allocations in %s: %lu", site_name[s],
			       op == OP_PUT ? "update" : op == OP_DEL ? "delete" : "clear",
			       hit[op][s]);
	/* Update: grow start (table, array), grow done (table), evacuation and assign (overflow). */
	EXPECT_LT(0, hit[OP_PUT][SITE_TABLE]);
	EXPECT_LT(0, hit[OP_PUT][SITE_ARRAY]);
	EXPECT_LT(0, hit[OP_PUT][SITE_OVERFLOW]);
	/* Delete: growth work only (grow done, evacuation). */
	EXPECT_LT(0, hit[OP_DEL][SITE_TABLE]);
	EXPECT_LT(0, hit[OP_DEL][SITE_OVERFLOW]);
	EXPECT_EQ(0, hit[OP_DEL][SITE_ARRAY]);
	EXPECT_LT(0, hit[OP_CLEAR][SITE_TABLE]);
	EXPECT_LT(0, hit[OP_CLEAR][SITE_ARRAY]);
	EXPECT_EQ(0, hit[OP_CLEAR][SITE_OVERFLOW]);
}

/* Random failures under a long mixed workload, then a full check. */
TEST_F(MAP, random_allocation_failures_never_change_contents)
{
	struct tophash_map *m = self->m = tu_map_new(8, 8, 0, 0, 0, NULL);
	u64 i, r = 7, nomem = 0;
	const char *why;
	int err;

	ASSERT_NE(NULL, m);
	model.n = 0;
	th_shim_fail_random(100000, 99);	/* 10% */
	for (i = 0; i < 20000; i++) {
		u64 x = tu_rand(&r), key = (x >> 8) % 3000;
		int op = x % 16 < 10 ? OP_PUT : x % 16 < 15 ? OP_DEL : (x >> 40) % 64 ? OP_PUT : OP_CLEAR;

		err = run_op(m, op, key, x);
		if (err == -ENOMEM) {
			nomem++;
			continue;
		}
		ASSERT_TRUE(!err || err == -ENOENT) TH_LOG("op %d: %d", op, err);
		model_apply(op, key, x);
		if (i % 1000 == 0) {
			why = model_matches(m);
			ASSERT_EQ(NULL, why) TH_LOG("op %llu: %s", i, why);
		}
	}
	th_shim_fail_random(0, 0);
	why = model_matches(m);
	EXPECT_EQ(NULL, why) TH_LOG("%s", why);
	EXPECT_LT(0, nomem);
	TH_LOG("%llu ops failed with ENOMEM", nomem);
}

/* ---- lookups paused at an exact point while a writer step runs ---- */

static void step_update_pkey(void)
{
	step_err = put(pm, pkey, pval, TOPHASH_ANY);
}

/*
 * A lookup scanning the primary bucket of an old chain whose key sits in the
 * chain's overflow bucket; before it loads the overflow pointer, a writer
 * evacuates that chain. The key never left the map.
 */
TEST_F(MAP, lookup_finds_a_key_whose_old_chain_is_evacuated_mid_scan)
{
	struct tophash_map *m = self->m = tu_map_new(8, 8, TOPHASH_F_IDENTITY_HASH, 20, 0, NULL);
	struct tophash_info in;
	u64 i, v = 0;
	u8 *ob3;

	ASSERT_NE(NULL, m);
	ASSERT_EQ(2, tu_info(m).B);
	for (i = 0; i < 10; i++)	/* bucket 3: 8 slots + 2 in an overflow bucket */
		ASSERT_EQ(0, put(m, ik(3, 0x10 + i, i), i, TOPHASH_NOEXIST));
	for (i = 0; i < 16; i++)	/* buckets 0..2, no overflow */
		ASSERT_EQ(0, put(m, ik(i % 3, 0x40 + i, i), i, TOPHASH_NOEXIST));
	ASSERT_EQ(26, tu_info(m).count);
	/* The 27th entry is over the load factor: growth starts, evacuating old 1 and 0. */
	ASSERT_EQ(0, put(m, ik(1, 0x70, 0), 0, TOPHASH_NOEXIST));
	in = tu_info(m);
	ASSERT_TRUE(in.flags & TOPHASH_INFO_GROWING);
	ASSERT_EQ(2, in.nevacuate);
	ob3 = bucket_addr(m, true, 3);
	ASSERT_EQ(2, tu_depth(m, true, 3));

	pm = m;
	pkey = ik(3, 0x10, 0);	/* updating it evacuates old bucket 3 (and 2, and ends the growth) */
	pval = 100;
	pause_arm(m, ob3 + m->ovf_off, step_update_pkey);
	EXPECT_EQ(0, get(m, ik(3, 0x19, 9), &v))
		TH_LOG("key in the old chain's overflow bucket lost by a concurrent evacuation");
	EXPECT_EQ(9, v);
	EXPECT_EQ(1, pause_at.fired);
	EXPECT_EQ(0, step_err);
	pause_disarm();
	EXPECT_EQ(0, get(m, ik(3, 0x19, 9), &v)) TH_LOG("and found again after");
}

/* The same with a reader that still holds the table from before the growth. */
/*
 * B=2 (identity hash) one insert short of doubling: bucket 3 holds a chain
 * of 10 keys ik(3, 0x10 + i, i), buckets 0-2 hold ik(i % 3, 0x40 + i, i).
 */
static int fill_before_growth(struct tophash_map *m)
{
	u64 i;
	int err = 0;

	for (i = 0; i < 10 && !err; i++)
		err = put(m, ik(3, 0x10 + i, i), i, TOPHASH_NOEXIST);
	for (i = 0; i < 16 && !err; i++)
		err = put(m, ik(i % 3, 0x40 + i, i), i, TOPHASH_NOEXIST);
	if (!err && (tu_info(m).flags & TOPHASH_INFO_GROWING))
		err = -EBUSY;
	return err;
}

TEST_F(MAP, lookup_on_a_stale_table_finds_a_key_whose_chain_moves_mid_scan)
{
	struct tophash_map *m = self->m = tu_map_new(8, 8, TOPHASH_F_IDENTITY_HASH, 20, 0, NULL);
	u64 v = 0;
	u8 *b3;

	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, fill_before_growth(m));
	b3 = bucket_addr(m, false, 3);

	/* Growth starts (and evacuates 3) while the reader is in bucket 3 of the current array. */
	pm = m;
	pkey = ik(3, 0x71, 1);
	pval = 1;
	pause_arm(m, b3 + m->ovf_off, step_update_pkey);
	EXPECT_EQ(0, get(m, ik(3, 0x19, 9), &v))
		TH_LOG("key lost: its chain was evacuated while the reader was in it");
	EXPECT_EQ(9, v);
	EXPECT_EQ(1, pause_at.fired);
	EXPECT_EQ(0, step_err);
}

/* The writer overwrites the value the reader is about to copy: it starts over. */
TEST_F(MAP, lookup_retries_when_the_value_is_overwritten_under_it)
{
	struct tophash_map *m = self->m = tu_map_new(8, 8, TOPHASH_F_IDENTITY_HASH, 50, 0, NULL);
	u64 v = 0;

	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, put(m, ik(2, 0x44, 0), 1, TOPHASH_ANY));
	pm = m;
	pkey = ik(2, 0x44, 0);
	pval = 2;
	pause_arm(m, bucket_addr(m, false, 2), step_update_pkey);
	EXPECT_EQ(0, get(m, pkey, &v));
	EXPECT_EQ(2, v);
	EXPECT_EQ(1, pause_at.fired);
	EXPECT_EQ(0, step_err);
	EXPECT_EQ(2, pause_at.tbl_loads) TH_LOG("the seqcount made the lookup start over");
}

static void step_delete_and_reuse(void)
{
	step_err = del(pm, pkey);
	if (!step_err)
		step_err = put(pm, ik(2, 0x44, 1), 666, TOPHASH_ANY);
}

/* The slot is emptied and taken by another key with the same tophash. */
TEST_F(MAP, lookup_never_returns_the_value_of_a_key_that_reused_the_slot)
{
	struct tophash_map *m = self->m = tu_map_new(8, 8, TOPHASH_F_IDENTITY_HASH, 50, 0, NULL);
	u64 v = 0;

	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, put(m, ik(2, 0x44, 0), 1, TOPHASH_ANY));
	pm = m;
	pkey = ik(2, 0x44, 0);
	pause_arm(m, bucket_addr(m, false, 2), step_delete_and_reuse);
	EXPECT_EQ(-ENOENT, get(m, pkey, &v));
	EXPECT_EQ(1, pause_at.fired);
	EXPECT_EQ(0, step_err);
	EXPECT_EQ(0, get(m, ik(2, 0x44, 1), &v));
	EXPECT_EQ(666, v);
}

/* The old bucket is evacuated as the reader checks it: it follows the move. */
TEST_F(MAP, lookup_follows_an_evacuation_into_the_new_array)
{
	struct tophash_map *m = self->m = tu_map_new(8, 8, TOPHASH_F_IDENTITY_HASH, 20, 0, NULL);
	u64 i, v = 0;
	u8 *ob3;

	ASSERT_NE(NULL, m);
	for (i = 0; i < 6; i++)
		ASSERT_EQ(0, put(m, ik(3, 0x10 + i, i), i, TOPHASH_NOEXIST));
	for (i = 0; i < 20; i++)
		ASSERT_EQ(0, put(m, ik(i % 3, 0x40 + i, i), i, TOPHASH_NOEXIST));
	ASSERT_EQ(0, put(m, ik(1, 0x70, 0), 0, TOPHASH_NOEXIST));
	ASSERT_TRUE(tu_info(m).flags & TOPHASH_INFO_GROWING);
	ob3 = bucket_addr(m, true, 3);
	pm = m;
	pkey = ik(3, 0x10, 0);
	pval = 50;
	/*
	 * At old slot 5: the reader checked slot 0's mark and read the bucket's
	 * tophash word, which picked slot 5 (the key's tophash); its acquire
	 * re-read then finds the evacuated mark the update left there.
	 */
	pause_arm(m, ob3 + 5, step_update_pkey);
	EXPECT_EQ(0, get(m, ik(3, 0x15, 5), &v));
	EXPECT_EQ(5, v);
	EXPECT_EQ(1, pause_at.fired);
	EXPECT_EQ(0, step_err);
	EXPECT_EQ(0, get(m, pkey, &v));
	EXPECT_EQ(50, v);
}

/* A batch of keys packed back to back, checked one by one against the map. */
static unsigned int batch_check(struct tophash_map *m, u64 first, unsigned int n,
				u64 present)
{
	struct tu_val vals[67];
	u64 keys[67];
	u8 found[67];
	unsigned int i, hits;

	for (i = 0; i < n; i++)
		keys[i] = first + i;
	memset(found, 0xee, sizeof(found));
	rcu_read_lock();
	hits = tophash_lookup_batch_rcu(m, keys, vals, found, n);
	rcu_read_unlock();
	for (i = 0; i < n; i++) {
		if (found[i] != (keys[i] < present))
			return ~0U;
		if (found[i] && !tu_val_ok(&vals[i], keys[i]))
			return ~0U;
	}
	/* Nothing past the n keys is touched. */
	return found[n] == 0xee ? hits : ~0U;
}

/* Batches of every length, hits and misses, while the map grows and after. */
TEST_F(MAP, batch_lookup_agrees_with_single_lookups_through_growth)
{
	struct tophash_map *m = self->m = tu_map_new(8, 24, 0, 0, 0, NULL);
	unsigned int n, expect;
	struct tu_val v;
	u64 i, first;
	u8 none;

	ASSERT_NE(NULL, m);
	rcu_read_lock();
	EXPECT_EQ(0, tophash_lookup_batch_rcu(m, NULL, NULL, &none, 0));
	rcu_read_unlock();
	for (i = 0; i < 3000; i++) {
		tu_make_val(&v, i, 0);
		ASSERT_EQ(0, tophash_update(m, &i, &v, TOPHASH_NOEXIST));
		if (i % 37 && !(tu_info(m).flags & TOPHASH_INFO_GROWING))
			continue;
		/* A window across the last key: hits, then misses. */
		n = 1 + i % 66;
		first = i + 1 > n / 2 ? i + 1 - n / 2 : 0;
		expect = first <= i ? min_t(u64, n, i + 1 - first) : 0;
		ASSERT_EQ(expect, batch_check(m, first, n, i + 1))
			TH_LOG("after insert %llu: batch of %u from %llu", i, n, first);
	}
	EXPECT_EQ(0, batch_check(m, 5000, 67 - 1, 3000));
	EXPECT_EQ(66, batch_check(m, 100, 66, 3000));
}

/*
 * A key of a batch whose chain is evacuated while the batch searches it (on
 * the table the batch loaded) is looked up again from the current table.
 */
TEST_F(MAP, batch_lookup_restarts_a_key_whose_chain_moves_mid_scan)
{
	struct tophash_map *m = self->m = tu_map_new(8, 8, TOPHASH_F_IDENTITY_HASH, 20, 0, NULL);
	u64 keys[3], vals[3] = { 0 };
	u8 found[3] = { 0 };
	unsigned int hits;
	u8 *b3;

	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, fill_before_growth(m));
	b3 = bucket_addr(m, false, 3);
	keys[0] = ik(1, 0x41, 1);
	keys[1] = ik(3, 0x19, 9);
	keys[2] = ik(2, 0x7f, 0);	/* never inserted */

	pm = m;
	pkey = ik(3, 0x71, 1);
	pval = 1;
	pause_arm(m, b3 + m->ovf_off, step_update_pkey);
	rcu_read_lock();
	hits = tophash_lookup_batch_rcu(m, keys, vals, found, 3);
	rcu_read_unlock();
	EXPECT_EQ(1, pause_at.fired);
	EXPECT_EQ(0, step_err);
	EXPECT_TRUE(tu_info(m).flags & TOPHASH_INFO_GROWING);
	EXPECT_EQ(2, hits);
	EXPECT_EQ(1, found[0]);
	EXPECT_EQ(1, vals[0]);
	EXPECT_EQ(1, found[1]) TH_LOG("key lost: its chain was evacuated under the batch");
	EXPECT_EQ(9, vals[1]);
	EXPECT_EQ(0, found[2]);
}

/*
 * The default hash's quality, for every key size 1..TOPHASH_MAX_KEY_SIZE.
 * hash_spread() hashes sequential keys (a little-endian counter in the
 * key's bytes, the worst case for a weak hash) into 1024 buckets by the low
 * bits and into the 256 tophash values by the top byte, and returns the
 * larger of the two chi-square statistics in standard deviations above
 * their mean (uniform: about 0, rarely above 4). hash_avalanche() flips
 * every input bit of random keys and returns the worst distance from 1/2
 * of any output bit's flip rate, over all input bits, and the worst mean
 * number of output bits flipped by one input bit.
 */
typedef u64 (*hash_fn)(const u8 *key, u32 len, u64 s0, u64 s1);

static u64 mix_hash(const u8 *key, u32 len, u64 s0, u64 s1)
{
	return th_mix_hash(key, len, s0, s1);
}

/* A hash that fails both checks: a multiply with no fold or seed mixing. */
static u64 weak_hash(const u8 *key, u32 len, u64 s0, u64 s1)
{
	u64 h = s0;
	u32 i;

	for (i = 0; i < len; i++)
		h = (h + key[i]) * 0x100000001b3ULL;
	return h;
}

#define SPREAD_BUCKETS	1024
#define SPREAD_KEYS	(8 * SPREAD_BUCKETS)

static double chi_sigmas(const u32 *count, u32 bins, u32 n)
{
	double e = (double)n / bins, chi = 0;
	u32 i;

	for (i = 0; i < bins; i++)
		chi += (count[i] - e) * (count[i] - e) / e;
	return (chi - (bins - 1)) / sqrt(2.0 * (bins - 1));
}

static double hash_spread(hash_fn h, u32 len, u64 s0, u64 s1)
{
	static u32 low[SPREAD_BUCKETS], top[256];
	u32 i, n = SPREAD_KEYS;
	double a, b;
	u8 key[TOPHASH_MAX_KEY_SIZE];

	/* A 1-byte key has 256 values: hash them all into 64 buckets. */
	u32 bins = len == 1 ? 64 : SPREAD_BUCKETS;

	if (len == 1)
		n = 256;
	memset(low, 0, sizeof(low));
	memset(top, 0, sizeof(top));
	memset(key, 0, sizeof(key));
	for (i = 0; i < n; i++) {
		u64 v;

		memcpy(key, &i, len < 4 ? len : 4);
		v = h(key, len, s0, s1);
		low[v & (bins - 1)]++;
		top[v >> 56]++;
	}
	a = chi_sigmas(low, bins, n);
	b = len == 1 ? -10 : chi_sigmas(top, 256, n);
	return a > b ? a : b;
}

static void hash_avalanche(hash_fn h, u32 len, u32 samples, u64 *rng,
			   double *worst_bias, double *worst_mean)
{
	static u32 flips[64];
	u8 key[TOPHASH_MAX_KEY_SIZE];
	u64 s0 = tu_rand(rng), s1 = tu_rand(rng);
	u32 bit, j, o, total;

	*worst_bias = 0;
	*worst_mean = 32;
	for (bit = 0; bit < 8 * len; bit++) {
		memset(flips, 0, sizeof(flips));
		total = 0;
		for (j = 0; j < samples; j++) {
			u64 a, d;

			for (o = 0; o < len; o++)
				key[o] = (u8)tu_rand(rng);
			a = h(key, len, s0, s1);
			key[bit / 8] ^= 1 << (bit % 8);
			d = a ^ h(key, len, s0, s1);
			total += __builtin_popcountll(d);
			for (o = 0; o < 64; o++)
				flips[o] += (d >> o) & 1;
		}
		for (o = 0; o < 64; o++) {
			double bias = fabs((double)flips[o] / samples - 0.5);

			if (bias > *worst_bias)
				*worst_bias = bias;
		}
		if (fabs((double)total / samples - 32) > fabs(*worst_mean - 32))
			*worst_mean = (double)total / samples;
	}
}

TEST(mix_hash_spreads_sequential_keys_of_every_size)
{
	u64 rng = 11;
	double worst = -100, sig;
	u32 len, worst_len = 0;

	for (len = 1; len <= TOPHASH_MAX_KEY_SIZE; len++) {
		sig = hash_spread(mix_hash, len, tu_rand(&rng), tu_rand(&rng));
		if (sig > worst) {
			worst = sig;
			worst_len = len;
		}
	}
	/* 512 chi-square tests of a uniform hash: the largest is about 3. */
	EXPECT_GT(6.0, worst) TH_LOG("key size %u: %.1f sigmas", worst_len, worst);
	/* The checker itself: a weak hash is far outside. */
	EXPECT_LT(20.0, hash_spread(weak_hash, 8, 1, 2));
}

TEST(mix_hash_avalanches_for_every_key_size)
{
	double bias, mean, worst_bias = 0, worst_mean = 32;
	u32 len, worst_len = 0;
	u64 rng = 12;

	for (len = 1; len <= TOPHASH_MAX_KEY_SIZE; len++) {
		/* Fewer samples per bit for long keys: they have more bits. */
		hash_avalanche(mix_hash, len, len <= 16 ? 256 : 48, &rng, &bias,
			       &mean);
		if (bias > worst_bias) {
			worst_bias = bias;
			worst_len = len;
		}
		if (fabs(mean - 32) > fabs(worst_mean - 32))
			worst_mean = mean;
	}
	/*
	 * About 17 million (input bit, output bit) rates are measured, each
	 * over 48 or 256 samples: a fair one is at 0 or 48 of 48 with odds of
	 * 2^-47, so the worst fair rate stays well inside 1/2 +- 0.45 (it
	 * comes out near 0.3); an output bit that some input bit never (or
	 * always) flips is at 0.5. The mean of 64 fair bits over 48 samples
	 * has a standard deviation of 0.6: 6 is 10 of them.
	 */
	EXPECT_GT(0.45, worst_bias) TH_LOG("key size %u: flip rate 1/2 +- %.2f",
					   worst_len, worst_bias);
	EXPECT_GT(6.0, fabs(worst_mean - 32)) TH_LOG("mean flips %.1f", worst_mean);
	/* The checker itself: the weak hash's low bits never see high input bits. */
	hash_avalanche(weak_hash, 8, 48, &rng, &bias, &mean);
	EXPECT_LT(0.45, bias);
	EXPECT_LT(6.0, fabs(mean - 32));
}

TEST(mix_hash_depends_on_both_seed_halves)
{
	u8 key[16] = "0123456789abcde";
	u32 len;

	for (len = 1; len <= sizeof(key); len++) {
		u64 h = th_mix_hash(key, len, 1, 2);

		EXPECT_NE(h, th_mix_hash(key, len, 3, 2));
		EXPECT_NE(h, th_mix_hash(key, len, 1, 4));
		EXPECT_EQ(h, th_mix_hash(key, len, 1, 2));
	}
}

/* The seed a map's current table hashes with (the caller owns the map). */
static siphash_key_t map_seed(struct tophash_map *m)
{
	siphash_key_t seed;

	mutex_lock(&m->lock);
	seed = tu_tbl(m)->seed;
	mutex_unlock(&m->lock);
	return seed;
}

static u64 map_hash(struct tophash_map *m, const void *key)
{
	u64 h;

	mutex_lock(&m->lock);
	h = th_hash_sh(m, TH_SHAPE(m), tu_tbl(m), key);
	mutex_unlock(&m->lock);
	return h;
}

TEST_F(MAP, every_map_draws_its_own_seed_and_hashes_with_it)
{
	struct tophash_map *m = self->m = tu_map_new(8, 8, 0, 0, 0, NULL);
	struct tophash_map *m2 = tu_map_new(8, 8, 0, 0, 0, NULL);
	siphash_key_t a, b;
	u64 k = 42;

	ASSERT_NE(NULL, m);
	ASSERT_NE(NULL, m2);
	a = map_seed(m);
	b = map_seed(m2);
	EXPECT_TRUE(a.key[0] != b.key[0] && a.key[1] != b.key[1]);
	EXPECT_NE(map_hash(m, &k), map_hash(m2, &k));
	EXPECT_EQ(th_mix_hash((const u8 *)&k, 8, a.key[0], a.key[1]), map_hash(m, &k));
	tu_map_free(m2);
}

TEST_F(MAP, siphash_flag_hashes_with_siphash_and_is_reported)
{
	static const u32 sizes[] = { 8, 12, 4, 64 };
	u8 key[64];
	unsigned int i;
	int err;

	memset(key, 0xa5, sizeof(key));
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct tophash_map *m = tu_map_new(sizes[i], 8, TOPHASH_F_SIPHASH,
						   0, 0, NULL);
		siphash_key_t seed;
		u64 v = 0;

		ASSERT_NE(NULL, m);
		seed = map_seed(m);
		EXPECT_EQ(siphash(key, sizes[i], &seed), map_hash(m, key));
		EXPECT_EQ(TOPHASH_INFO_SIPHASH, tu_info(m).flags);
		EXPECT_EQ(TH_FAST_NONE, m->fast) TH_LOG("SipHash maps are generic");
		EXPECT_EQ(0, tophash_update(m, key, &v, TOPHASH_NOEXIST));
		EXPECT_EQ(0, tophash_lookup(m, key, &v));
		EXPECT_EQ(0, tophash_delete(m, key));
		tu_map_free(m);
	}
	EXPECT_EQ(NULL, tu_map_new(8, 8, TOPHASH_F_SIPHASH | TOPHASH_F_IDENTITY_HASH,
				   0, 0, &err));
	EXPECT_EQ(-EINVAL, err);
}

TEST_F(MAP, fixed_paths_are_chosen_for_8_byte_values_and_4_8_16_64_byte_keys)
{
	static const struct {
		u32 ks, vs, flags;
		u8 fast;
	} c[] = {
		{ 8, 8, 0, TH_FAST_K8V8 },
		{ 8, 8, TOPHASH_F_IDENTITY_HASH, TH_FAST_K8V8 },
		{ 8, 8, TOPHASH_F_SIPHASH, TH_FAST_NONE },
		{ 8, 16, 0, TH_FAST_NONE },
		{ 16, 8, 0, TH_FAST_K16V8 },
		{ 16, 8, TOPHASH_F_SIPHASH, TH_FAST_NONE },
		{ 4, 8, 0, TH_FAST_K4V8 },
		{ 4, 4, 0, TH_FAST_NONE },
		{ 12, 8, 0, TH_FAST_NONE },
		{ 32, 8, 0, TH_FAST_NONE },
		{ 64, 8, 0, TH_FAST_K64V8 },
		{ 64, 16, 0, TH_FAST_NONE },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		struct tophash_map *m = tu_map_new(c[i].ks, c[i].vs, c[i].flags,
						   0, 0, NULL);

		ASSERT_NE(NULL, m);
		EXPECT_EQ(variant->generic ? TH_FAST_NONE : c[i].fast, m->fast)
			TH_LOG("%u-byte keys, %u-byte values, flags %u", c[i].ks,
			       c[i].vs, c[i].flags);
		tu_map_free(m);
	}
}

/*
 * @b hashes with @a's seed again: both drew a new one from the shim's one
 * random stream (a clear, or a delete that emptied the map), one after the
 * other, so they drew different ones.
 */
static void same_seed(struct tophash_map *a, struct tophash_map *b)
{
	siphash_key_t seed = map_seed(a);

	mutex_lock(&b->lock);
	tu_tbl(b)->seed = seed;
	mutex_unlock(&b->lock);
}

/*
 * The fixed-size path and the generic one, on two maps with the same seeds
 * given the same random operations, return the same results and build the
 * same layout, byte for byte, through growth, same-size growth and clears.
 */
static void same_ops_same_maps(struct __test_metadata *_metadata, u32 ks,
			       u32 flags, u64 keyspace, u8 path)
{
	struct tophash_map *a, *b;
	struct tophash_clear ca = { .size = sizeof(ca) }, cb = ca;
	u64 rng = 99, i, k[8], v, va, vb;
	unsigned int w;
	unsigned long j;

	th_shim_random_seed(7);
	a = tu_map_new(ks, 8, flags, 0, 0, NULL);
	th_shim_random_seed(7);
	b = tu_map_new(ks, 8, flags, 0, 0, NULL);
	th_shim_random_seed(0);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	a->fast = th_fast_path(ks, 8, flags);
	b->fast = TH_FAST_NONE;
	ASSERT_EQ(path, a->fast);
	for (i = 0; i < 60000; i++) {
		u64 x = tu_rand(&rng);

		/* The key's first @ks bytes: an index, then its mix. */
		k[0] = (x >> 8) % keyspace;
		if (flags & TOPHASH_F_IDENTITY_HASH)	/* crowd 16 buckets */
			k[0] = k[0] << 4 | (k[0] & 15) | (x & 0xff00000000000000ULL);
		for (w = 1; w < ARRAY_SIZE(k); w++)
			k[w] = tu_mix(k[w - 1]);
		v = x;
		switch (x % 8) {
		case 0: case 1: case 2:
			ASSERT_EQ(tophash_update(b, k, &v, x % 3), tophash_update(a, k, &v, x % 3));
			break;
		case 3: case 4:
			ASSERT_EQ(tophash_delete(b, k), tophash_delete(a, k));
			break;
		case 5: case 6:
			va = vb = 0;
			ASSERT_EQ(tophash_lookup(b, k, &vb), tophash_lookup(a, k, &va));
			ASSERT_EQ(vb, va);
			break;
		default:
			if (x % 4001 == 7) {
				ASSERT_EQ(0, tophash_clear(a, &ca));
				ASSERT_EQ(0, tophash_clear(b, &cb));
			}
			break;
		}
		if (!a->count)
			same_seed(a, b);
		if (i % 997 == 0) {
			struct tophash_info ia = tu_info(a), ib = tu_info(b);
			bool old;

			ASSERT_EQ(ib.count, ia.count);
			ASSERT_EQ(ib.B, ia.B);
			ASSERT_EQ(ib.flags, ia.flags);
			ASSERT_EQ(ib.nevacuate, ia.nevacuate);
			ASSERT_EQ(ib.noverflow, ia.noverflow);
			for (old = false; ; old = true) {
				for (j = 0; j < (1UL << ia.B); j++) {
					unsigned int d, s;

					for (d = 0; d < tu_depth(a, old, j) || d < tu_depth(b, old, j); d++)
						for (s = 0; s < TH_SLOTS; s++)
							ASSERT_EQ(tu_state(b, old, j, d, s),
								  tu_state(a, old, j, d, s))
								TH_LOG("op %llu, bucket %lu", i, j);
				}
				if (old || !(ia.flags & TOPHASH_INFO_GROWING))
					break;
			}
			ASSERT_EQ(NULL, tu_check_map(a));
		}
	}
	tu_map_free(a);
	tu_map_free(b);
}

TEST_F(MAP, fixed_paths_and_generic_path_build_the_same_map)
{
	same_ops_same_maps(_metadata, 8, 0, 3000, TH_FAST_K8V8);
	same_ops_same_maps(_metadata, 8, TOPHASH_F_IDENTITY_HASH, 200, TH_FAST_K8V8);
	same_ops_same_maps(_metadata, 16, 0, 3000, TH_FAST_K16V8);
	same_ops_same_maps(_metadata, 4, 0, 3000, TH_FAST_K4V8);
	same_ops_same_maps(_metadata, 64, 0, 3000, TH_FAST_K64V8);
}

/* Keys that differ in one byte only are different keys, on every path. */
TEST_F(MAP, every_key_byte_counts_on_the_fixed_and_generic_paths)
{
	static const u32 sizes[] = { 4, 8, 16, 64, 12 };
	unsigned int i, b;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		u32 ks = sizes[i];
		struct tophash_map *m = tu_map_new(ks, 8, 0, 0, 0, NULL);
		u8 key[64];
		u64 v;

		ASSERT_NE(NULL, m);
		for (b = 0; b < ks; b++) {
			memset(key, 0x5a, sizeof(key));
			key[b] ^= 0x80;
			v = b;
			ASSERT_EQ(0, tophash_update(m, key, &v, TOPHASH_NOEXIST))
				TH_LOG("%u-byte key, byte %u", ks, b);
		}
		memset(key, 0x5a, sizeof(key));
		EXPECT_EQ(-ENOENT, tophash_lookup(m, key, &v));
		for (b = 0; b < ks; b++) {
			key[b] ^= 0x80;
			EXPECT_EQ(0, tophash_lookup(m, key, &v));
			EXPECT_EQ(b, v) TH_LOG("%u-byte key, byte %u", ks, b);
			key[b] ^= 0x80;
		}
		key[ks - 1] ^= 0x80;
		EXPECT_EQ(0, tophash_delete(m, key));
		EXPECT_EQ(-ENOENT, tophash_lookup(m, key, &v));
		EXPECT_EQ(ks - 1, tu_info(m).count);
		tu_map_free(m);
	}
}

/*
 * The lockless reader's word-at-a-time pick (th_bytes_pick()) may select a
 * byte too many, never one too few: every byte that holds the tophash, an
 * empty state or an evacuated mark is selected, whatever the other bytes
 * hold (borrows between bytes included).
 */
TEST(reader_pick_never_leaves_out_a_slot_it_must_look_at)
{
	static const u8 vals[] = { 0, 1, 2, 3, 4, 5, 6, 0x7f, 0x80, 0x81, 0xfe, 0xff };
	u64 rng = 5, n, extra = 0;
	unsigned int i;

	for (n = 0; n < 2000000; n++) {
		u64 r = tu_rand(&rng), w = 0, want = 0, pick;
		u8 top = TOPHASH_MIN_TOPHASH + (u8)(r % (256 - TOPHASH_MIN_TOPHASH));

		for (i = 0; i < TH_SLOTS; i++) {
			u64 x = tu_rand(&rng);
			u8 byte = x & 1 ? vals[(x >> 8) % sizeof(vals)] :
				  x & 2 ? top : (u8)(x >> 16);

			w |= (u64)byte << (8 * i);
			if (byte == top || byte < TOPHASH_MIN_TOPHASH)
				want |= 0x80ULL << (8 * i);
		}
		pick = th_bytes_pick(w, top);
		ASSERT_EQ(0, want & ~pick) TH_LOG("word %016llx top %u", w, top);
		ASSERT_EQ(0, pick & ~TH_HIGH);
		extra += __builtin_popcountll(pick & ~want);
	}
	/* The extra picks cost a load each; they stay rare. */
	EXPECT_GT(n / 10, extra);
}

/*
 * The writers' loose test for bytes below a state (th_bytes_below()): set
 * exactly when some byte is below it, and its lowest selected byte is the
 * first such slot (what an insert takes, where an append starts), for
 * every word, borrows between bytes included.
 */
TEST(writer_first_empty_slot_is_exact_for_every_word)
{
	static const u8 vals[] = { 0, 1, 2, 3, 4, 5, 6, 0x7f, 0x80, 0x81, 0xfe, 0xff };
	u64 rng = 9, n;
	unsigned int i, c;

	for (n = 0; n < 2000000; n++) {
		u64 w = 0, got;
		int first[3] = { -1, -1, -1 };

		for (i = 0; i < TH_SLOTS; i++) {
			u64 x = tu_rand(&rng);
			u8 byte = x & 1 ? vals[(x >> 8) % sizeof(vals)] : (u8)(x >> 16);

			w |= (u64)byte << (8 * i);
			for (c = 1; c <= 2; c++)
				if (byte < c && first[c] < 0)
					first[c] = i;
		}
		for (c = 1; c <= 2; c++) {
			got = th_bytes_below(w, c);
			ASSERT_EQ(first[c] >= 0, got != 0) TH_LOG("word %016llx below %u", w, c);
			if (got)
				ASSERT_EQ(first[c], (int)th_first_slot(got))
					TH_LOG("word %016llx below %u", w, c);
		}
		ASSERT_EQ(first[2] >= 0, th_empty_slots(w) != 0);
		ASSERT_EQ(first[1] >= 0, th_rest_slots(w) != 0);
		if (first[2] >= 0)
			ASSERT_EQ(first[2], (int)th_first_slot(th_empty_slots(w)));
		if (first[1] >= 0)
			ASSERT_EQ(first[1], (int)th_first_slot(th_rest_slots(w)));
	}
}

/* ---- shrinking (TOPHASH_F_SHRINK) ---- */

/* A map that shrinks, with threshold @pct (0: the default) and size hint @hint. */
static struct tophash_map *shrink_map(u32 flags, u32 pct, u64 hint, int *errp)
{
	struct tophash_create c = {
		.key_size = 8, .value_size = 8, .size_hint = hint,
		.flags = flags | TOPHASH_F_SHRINK, .shrink_pct = pct,
		.max_entries = TOPHASH_DEFAULT_MAX_ENTRIES,
	};

	return tu_map_create(&c, errp);
}

/* Run finisher steps until no evacuation is left; how many it took. */
static unsigned int finish_all(struct tophash_map *m, unsigned int per_step)
{
	unsigned int n = 0;

	while (tophash_finish_step(m, per_step) && n < 1000000)
		n++;
	return n;
}

/* The full tophash bytes of chain @bucket, in chain order; how many. */
static unsigned int chain_tops(struct tophash_map *m, bool old,
			       unsigned long bucket, u8 *tops, unsigned int max)
{
	unsigned int d, i, n = 0;
	int st;

	for (d = 0; tu_state(m, old, bucket, d, 0) >= 0; d++)
		for (i = 0; i < TH_SLOTS; i++) {
			st = tu_state(m, old, bucket, d, i);
			if (st >= TOPHASH_MIN_TOPHASH && n < max)
				tops[n++] = st;
		}
	return n;
}

TEST(shrink_policy_is_checked_at_create)
{
	struct tophash_create c = { .key_size = 8, .value_size = 8, .shrink_pct = 5,
				    .max_entries = 100 };
	struct tophash_map m;
	int err;

	rcu_register_thread();
	memset(&m, 0, sizeof(m));
	tophash_map_init(&m);
	EXPECT_EQ(-EINVAL, tophash_map_create(&m, &c, 1)) TH_LOG("a threshold without the flag");
	c.flags = TOPHASH_F_SHRINK;
	c.shrink_pct = TOPHASH_SHRINK_MAX_PCT + 1;
	EXPECT_EQ(-EINVAL, tophash_map_create(&m, &c, 1)) TH_LOG("above the hysteresis bound");
	c.shrink_pct = 0;
	err = tophash_map_create(&m, &c, 1);
	ASSERT_EQ(0, err);
	EXPECT_EQ(TOPHASH_SHRINK_DEFAULT_PCT, m.shrink_pct);
	EXPECT_EQ(TOPHASH_INFO_SHRINK, tu_info(&m).flags);
	tophash_map_destroy(&m);
	rcu_barrier();
	rcu_unregister_thread();
}

/* The 15 keys shrink_moves_old_buckets_j_and_j_plus_half_into_new_bucket_j keeps. */
static bool shrink_kept(u64 k)
{
	return k % 5 == 4 || k == 11 || k == 13 || k == 17 || k == 23 ||
	       k == 28 || k == 33 || k == 38;
}

/*
 * Identity hash, exact layout: B = 3 with 5 keys per bucket (3 of them in
 * bucket 6), then deletes down to 15 entries, the 16th of which (count <
 * 25% of 64 slots) starts a shrink to B = 2. New bucket j must hold old
 * bucket j's live entries in slot order, then old bucket j + 4's, deleted
 * slots dropped; old slots marked evacuatedX/evacuatedEmpty meanwhile.
 */
TEST_F(MAP, shrink_moves_old_buckets_j_and_j_plus_half_into_new_bucket_j)
{
	struct tophash_map *m = self->m = shrink_map(TOPHASH_F_IDENTITY_HASH, 0, 40, NULL);
	u8 before[8][64], after[64];
	unsigned int nb[8], n, i, j;
	struct tophash_info in;
	const char *why;
	u64 k, v;

	ASSERT_NE(NULL, m);
	ASSERT_EQ(3, tu_info(m).B) TH_LOG("hint 40: 8 buckets");
	m->min_B = 0;	/* let it shrink below the hint (the floor has its own test) */
	for (k = 0; k < 40; k++)
		ASSERT_EQ(0, put(m, ik(k % 8, 0x10 + k, k), k, TOPHASH_NOEXIST));
	/* delete all but 15 keys, leaving emptyOne slots mid-chain */
	for (k = 0; k < 40; k++) {
		if (shrink_kept(k))
			continue;
		ASSERT_EQ(0, tu_info(m).flags & TOPHASH_INFO_GROWING)
			TH_LOG("no shrink before count < 16 (count %llu)",
			       (unsigned long long)tu_info(m).count);
		ASSERT_EQ(0, del(m, ik(k % 8, 0x10 + k, k)));
		if (tu_info(m).count < 16)
			break;
	}
	in = tu_info(m);
	ASSERT_EQ(15, in.count);
	ASSERT_EQ(TOPHASH_INFO_GROWING | TOPHASH_INFO_SHRINKING | TOPHASH_INFO_SHRINK |
		  TOPHASH_INFO_IDENTITY, in.flags);
	ASSERT_EQ(2, in.B);
	ASSERT_EQ(0, in.nevacuate);
	EXPECT_EQ(1, n_shrink_start);
	for (j = 0; j < 8; j++)
		nb[j] = chain_tops(m, true, j, before[j], 64);
	/* half the old array: old 0..3, then old 4..7 (their halves land behind) */
	EXPECT_EQ(false, tophash_finish_step(m, 4) && false);
	in = tu_info(m);
	EXPECT_EQ(4, in.nevacuate);
	for (j = 0; j < 4; j++) {
		n = chain_tops(m, false, j, after, 64);
		ASSERT_EQ(nb[j], n) TH_LOG("new bucket %u holds old %u only so far", j, j);
		EXPECT_EQ(0, memcmp(before[j], after, n));
		for (i = 0; i < TH_SLOTS; i++) {
			int st = tu_state(m, true, j, 0, i);

			EXPECT_TRUE(st == TOPHASH_EVACUATED_X || st == TOPHASH_EVACUATED_EMPTY)
				TH_LOG("old %u slot %u: %d", j, i, st);
		}
	}
	why = tu_check_map(m);
	EXPECT_EQ(NULL, why) TH_LOG("%s", why);
	EXPECT_EQ(0, finish_all(m, 4));
	in = tu_info(m);
	EXPECT_EQ(0, in.flags & TOPHASH_INFO_GROWING);
	EXPECT_EQ(2, in.B);
	EXPECT_EQ(1, n_shrink_done);
	for (j = 0; j < 4; j++) {
		n = chain_tops(m, false, j, after, 64);
		ASSERT_EQ(nb[j] + nb[j + 4], n);
		EXPECT_EQ(0, memcmp(before[j], after, nb[j]));
		EXPECT_EQ(0, memcmp(before[j + 4], after + nb[j], nb[j + 4]))
			TH_LOG("old %u's entries follow old %u's in new bucket %u", j + 4, j, j);
		/* dense: the first empty slot is emptyRest and ends the chain */
		EXPECT_EQ(TOPHASH_EMPTY_REST, tu_state(m, false, j, n / TH_SLOTS, n % TH_SLOTS));
	}
	for (k = 0; k < 40; k++) {
		bool kept = shrink_kept(k);

		EXPECT_EQ(kept ? 0 : -ENOENT, get(m, ik(k % 8, 0x10 + k, k), &v));
		if (kept)
			EXPECT_EQ(k, v);
	}
	why = tu_check_map(m);
	EXPECT_EQ(NULL, why) TH_LOG("%s", why);
	rcu_barrier();
	EXPECT_EQ(tu_info(m).bytes, atomic64_read(&tophash_live_bytes))
		TH_LOG("the old array (and its overflow) went back after the grace period");
}

/*
 * The threshold and the hysteresis, exactly (default 25%): at B = 5 (256
 * slots) the delete that leaves 63 entries starts the shrink, 64 do not;
 * after it, B = 4 holds 63 entries, and only the 105th entry (over 6.5 *
 * 16) doubles it again; with 10%, B = 5 shrinks at 25 entries, not 26.
 */
TEST_F(MAP, shrink_threshold_and_hysteresis_are_exact)
{
	struct tophash_map *m = self->m = shrink_map(0, 0, 0, NULL);
	struct tophash_info in;
	u64 k;

	ASSERT_NE(NULL, m);
	for (k = 0; k < 105; k++)
		ASSERT_EQ(0, put(m, k, k, TOPHASH_NOEXIST));
	finish_all(m, 1024);
	ASSERT_EQ(5, tu_info(m).B);
	for (k = 0; k < 105 - 64; k++)
		ASSERT_EQ(0, del(m, k));
	in = tu_info(m);
	ASSERT_EQ(64, in.count);
	EXPECT_EQ(0, in.flags & TOPHASH_INFO_GROWING) TH_LOG("64 * 100 = 25%% of 256 slots: no shrink");
	EXPECT_EQ(false, tophash_finish_step(m, 1024)) TH_LOG("nor from the finisher");
	ASSERT_EQ(0, del(m, k++));
	in = tu_info(m);
	EXPECT_EQ(TOPHASH_INFO_GROWING | TOPHASH_INFO_SHRINKING | TOPHASH_INFO_SHRINK, in.flags);
	EXPECT_EQ(4, in.B);
	finish_all(m, 1024);
	in = tu_info(m);
	EXPECT_EQ(4, in.B);
	EXPECT_EQ(63, in.count);
	/* back up: no doubling until count + 1 > 6.5 * 16 = 104 */
	for (k = 1000; tu_info(m).count < 104; k++)
		ASSERT_EQ(0, put(m, k, k, TOPHASH_NOEXIST));
	in = tu_info(m);
	EXPECT_EQ(0, in.flags & TOPHASH_INFO_GROWING);
	EXPECT_EQ(4, in.B);
	ASSERT_EQ(0, put(m, k, k, TOPHASH_NOEXIST));
	in = tu_info(m);
	EXPECT_EQ(TOPHASH_INFO_GROWING | TOPHASH_INFO_SHRINK, in.flags);
	EXPECT_EQ(5, in.B);
	EXPECT_EQ(1, n_shrink_start);
	tu_map_free(m);

	m = self->m = shrink_map(0, 10, 0, NULL);
	ASSERT_NE(NULL, m);
	for (k = 0; k < 105; k++)
		ASSERT_EQ(0, put(m, k, k, TOPHASH_NOEXIST));
	finish_all(m, 1024);
	ASSERT_EQ(5, tu_info(m).B);
	for (k = 0; tu_info(m).count > 26; k++)
		ASSERT_EQ(0, del(m, k));
	EXPECT_EQ(0, tu_info(m).flags & TOPHASH_INFO_GROWING);
	ASSERT_EQ(0, del(m, k));	/* 25 * 100 < 10 * 256 */
	EXPECT_TRUE(tu_info(m).flags & TOPHASH_INFO_SHRINKING);
}

/*
 * A delete during a shrink does no evacuation and allocates nothing: it
 * clears its key where it is. A key still in an unevacuated old chain is
 * cleared there, inside the seqcount stripe of its old bucket index (the
 * stripe a reader of that chain takes: pair 5), not its new one; the
 * evacuation then drops the slot. The finisher ends the shrink.
 */
TEST_F(MAP, a_delete_mid_shrink_clears_its_key_in_the_old_chain)
{
	struct tophash_map *m = self->m = shrink_map(0, 0, 0, NULL);
	struct tophash_info before, after;
	unsigned long old = 0, nu = 0, calls0;
	unsigned int seq_old, seq_new;
	u64 k, v, victim;

	ASSERT_NE(NULL, m);
	for (k = 0; k < 105; k++)
		ASSERT_EQ(0, put(m, k, k, TOPHASH_NOEXIST));
	finish_all(m, 1024);
	for (k = 0; k < 42; k++)	/* 63 left: the shrink B 5 -> 4 starts */
		ASSERT_EQ(0, del(m, k));
	before = tu_info(m);
	ASSERT_TRUE(before.flags & TOPHASH_INFO_SHRINKING);
	ASSERT_EQ(4, before.B);
	/* a key whose old bucket (of 32) is not its new one (of 16) */
	for (victim = 42; victim < 105; victim++) {
		u64 h = map_hash(m, &victim);
		bool moved;

		old = h & 31;
		nu = h & 15;
		mutex_lock(&m->lock);
		moved = th_evacuated(th_bucket(m, tu_tbl(m)->oldbuckets, old));
		mutex_unlock(&m->lock);
		if (old != nu && !moved)
			break;
	}
	ASSERT_GT(105, victim);
	seq_old = th_seq(m, old)->sequence;
	seq_new = th_seq(m, nu)->sequence;
	calls0 = th_shim_alloc_calls();
	ASSERT_EQ(0, del(m, victim));
	after = tu_info(m);
	EXPECT_EQ(calls0, th_shim_alloc_calls()) TH_LOG("the delete allocated");
	EXPECT_EQ(before.nevacuate, after.nevacuate) TH_LOG("the delete evacuated");
	EXPECT_EQ(before.bytes, after.bytes);
	EXPECT_EQ(before.flags, after.flags);
	EXPECT_EQ(before.count - 1, after.count);
	EXPECT_EQ(seq_old + 2, th_seq(m, old)->sequence) TH_LOG("not in the old bucket's stripe");
	EXPECT_EQ(seq_new, th_seq(m, nu)->sequence);
	EXPECT_EQ(-ENOENT, get(m, victim, &v));
	EXPECT_EQ(-ENOENT, del(m, victim));
	finish_all(m, 1024);
	after = tu_info(m);
	EXPECT_EQ(0, after.flags & TOPHASH_INFO_GROWING);
	EXPECT_EQ(4, after.B);
	EXPECT_EQ(62, after.count);
	for (k = 42; k < 105; k++) {
		if (k == victim) {
			EXPECT_EQ(-ENOENT, get(m, k, &v));
			continue;
		}
		ASSERT_EQ(0, get(m, k, &v));
		EXPECT_EQ(k, v);
	}
}

/* Never below the size hint's B; and a map without the flag never shrinks. */
TEST_F(MAP, shrink_stops_at_the_size_hint_and_needs_the_flag)
{
	struct tophash_map *m = self->m = shrink_map(0, 0, 100, NULL);
	u64 k;

	ASSERT_NE(NULL, m);
	ASSERT_EQ(4, tu_info(m).B);
	for (k = 0; k < 500; k++)
		ASSERT_EQ(0, put(m, k, k, TOPHASH_NOEXIST));
	finish_all(m, 1024);
	ASSERT_EQ(7, tu_info(m).B);
	for (k = 0; k < 500; k++) {
		ASSERT_EQ(0, del(m, k));
		finish_all(m, 1024);
	}
	EXPECT_EQ(4, tu_info(m).B);
	EXPECT_EQ(3, n_shrink_done) TH_LOG("7 -> 6 -> 5 -> 4");
	tu_map_free(m);

	m = self->m = tu_map_new(8, 8, 0, 0, 0, NULL);
	ASSERT_NE(NULL, m);
	for (k = 0; k < 500; k++)
		ASSERT_EQ(0, put(m, k, k, TOPHASH_NOEXIST));
	for (k = 0; k < 500; k++)
		ASSERT_EQ(0, del(m, k));
	finish_all(m, 1024);
	EXPECT_EQ(7, tu_info(m).B) TH_LOG("Go's map never shrinks, nor does ours by default");
}

/*
 * Churn against a model, key ranges swelling and draining so that the map
 * doubles and shrinks many times, finisher steps now and then, every write
 * checked; the invariants of every chain hold throughout.
 */
TEST_F(MAP, contents_stay_intact_through_shrinks_under_churn)
{
	struct tophash_map *m = self->m = shrink_map(0, 0, 0, NULL);
	u64 rng = 7, op, key, val, range;
	unsigned int round, i;
	const char *why;
	int err, want;

	ASSERT_NE(NULL, m);
	model.n = 0;
	for (round = 0; round < 12; round++) {
		range = round & 1 ? 64 : 3000;
		for (i = 0; i < 6000; i++) {
			op = tu_rand(&rng);
			key = op % range + (round & 1 ? 0 : 0);
			val = tu_rand(&rng);
			if (round & 1 || op >> 62 == 0) {
				/* draining rounds: deletes; filling rounds: a quarter */
				want = model_find(key) >= 0 ? 0 : -ENOENT;
				err = del(m, key);
				ASSERT_EQ(want, err);
				model_apply(OP_DEL, key, 0);
				if (round & 1)	/* and keys beyond the range go */
					key = op % 3000;
				if (round & 1 && model_find(key) >= 0) {
					ASSERT_EQ(0, del(m, key));
					model_apply(OP_DEL, key, 0);
				}
			} else if (model.n < MODEL_MAX) {
				ASSERT_EQ(0, put(m, key, val, TOPHASH_ANY));
				model_apply(OP_PUT, key, val);
			}
			if (op % 97 == 0)
				tophash_finish_step(m, 2);
			if (i % 1000 == 0) {
				why = model_matches(m);
				ASSERT_EQ(NULL, why) TH_LOG("round %u op %u: %s", round, i, why);
			}
		}
		why = model_matches(m);
		ASSERT_EQ(NULL, why) TH_LOG("round %u: %s", round, why);
	}
	EXPECT_LT(4, n_shrink_done) TH_LOG("the drains shrink the map");
	EXPECT_LT(4, n_double_start);
}

/* Go into a shrink of B = 6 -> 5 (127 keys left) and evacuate 3 old buckets. */
static void shrink_partway(struct __test_metadata *_metadata, struct tophash_map *m)
{
	u64 k;

	for (k = 0; k < 300; k++)
		ASSERT_EQ(0, put(m, k, k, TOPHASH_NOEXIST));
	finish_all(m, 1024);
	ASSERT_EQ(6, tu_info(m).B);
	for (k = 0; k < 300 - 127; k++) {
		ASSERT_EQ(0, tu_info(m).flags & TOPHASH_INFO_SHRINKING);
		ASSERT_EQ(0, del(m, k));
	}
	ASSERT_TRUE(tu_info(m).flags & TOPHASH_INFO_SHRINKING);
	ASSERT_EQ(true, tophash_finish_step(m, 3));
	ASSERT_TRUE(tu_info(m).flags & TOPHASH_INFO_SHRINKING);
	ASSERT_EQ(3, tu_info(m).nevacuate);
}

TEST_F(MAP, clear_mid_shrink_ends_it_and_returns_to_the_hint)
{
	struct tophash_map *m = self->m = shrink_map(0, 0, 0, NULL);
	struct tophash_clear out = { .size = sizeof(out) };
	u64 gen;

	ASSERT_NE(NULL, m);
	shrink_partway(_metadata, m);
	gen = tu_info(m).generation;
	ASSERT_EQ(0, tophash_clear(m, &out));
	EXPECT_EQ(127, out.entries);
	EXPECT_EQ(64, out.oldbuckets);
	check_cleared(_metadata, m, 0, gen, NULL, 300, key_plain);
	EXPECT_EQ(false, tophash_finish_step(m, 1024)) TH_LOG("nothing left to finish");
	EXPECT_EQ(0, tu_info(m).B);
}

TEST_F(MAP, destroy_mid_shrink_frees_both_arrays_and_cancels_the_finisher)
{
	struct tophash_map *m = self->m = shrink_map(0, 0, 0, NULL);

	ASSERT_NE(NULL, m);
	shrink_partway(_metadata, m);
	EXPECT_TRUE(delayed_work_pending(&m->finish));
	tophash_map_destroy(m);
	EXPECT_FALSE(delayed_work_pending(&m->finish));
	rcu_barrier();
	EXPECT_EQ(0, atomic64_read(&tophash_live_bytes));
	EXPECT_EQ(0, th_shim_live_allocs());
	free(m);
	self->m = NULL;
}

/*
 * The background finisher: queued when an evacuation starts; a run that
 * finds writes advanced it since only looks again later; an idle one moves
 * it TH_FINISH_STEP old buckets at a time, re-queued a jiffy later, until it
 * completes. Go's map would stay mid-growth for ever here.
 */
TEST_F(MAP, the_finisher_completes_an_idle_growth)
{
	struct tophash_map *m = self->m = shrink_map(0, 0, 0, NULL);
	unsigned int runs;
	u64 k, v, nevac;
	const char *why;

	ASSERT_NE(NULL, m);
	for (k = 0; k < 1665; k++)	/* 1665 > 6.5 * 256: a doubling to B = 9 starts */
		ASSERT_EQ(0, put(m, k, k, TOPHASH_NOEXIST));
	ASSERT_TRUE(tu_info(m).flags & TOPHASH_INFO_GROWING);
	ASSERT_EQ(9, tu_info(m).B);
	ASSERT_TRUE(delayed_work_pending(&m->finish));
	EXPECT_EQ(TH_FINISH_DELAY, m->finish.delay);
	/* a write between the queueing and the run: the finisher leaves it */
	ASSERT_EQ(0, put(m, 0, 1, TOPHASH_ANY));
	nevac = tu_info(m).nevacuate;
	ASSERT_TRUE(th_shim_run_delayed_work(&m->finish));
	EXPECT_EQ(nevac, tu_info(m).nevacuate);
	EXPECT_EQ(0, n_finish);
	ASSERT_TRUE(delayed_work_pending(&m->finish)) TH_LOG("it looks again later");
	EXPECT_EQ(TH_FINISH_DELAY, m->finish.delay);
	/* idle now: each run evacuates up to TH_FINISH_STEP old buckets */
	ASSERT_TRUE(th_shim_run_delayed_work(&m->finish));
	EXPECT_EQ(1, n_finish);
	EXPECT_LE(nevac + TH_FINISH_STEP, tu_info(m).nevacuate);
	EXPECT_EQ(TH_FINISH_STEP, last_finish.evacuated);
	EXPECT_EQ(TOPHASH_GROW_DOUBLE, last_finish.kind);
	EXPECT_EQ(1, m->finish.delay) TH_LOG("an idle evacuation: a step a jiffy");
	why = tu_check_map(m);
	EXPECT_EQ(NULL, why) TH_LOG("%s", why);
	for (runs = 0; th_shim_run_delayed_work(&m->finish) && runs < 1000; runs++)
		;
	EXPECT_GE(256 / TH_FINISH_STEP, runs);
	EXPECT_EQ(1, last_finish.done);
	EXPECT_EQ(1, n_grow_done - (tu_info(m).B - 1)) TH_LOG("the doubling to 9 was the finisher's");
	EXPECT_FALSE(delayed_work_pending(&m->finish)) TH_LOG("nothing left: it stops");
	EXPECT_EQ(0, tu_info(m).flags & TOPHASH_INFO_GROWING);
	for (k = 1; k < 1665; k++) {
		ASSERT_EQ(0, get(m, k, &v));
		EXPECT_EQ(k, v);
	}
	why = tu_check_map(m);
	EXPECT_EQ(NULL, why) TH_LOG("%s", why);
}

/*
 * A shrink that is due but cannot allocate its table when the delete that
 * made it due runs: the delete succeeds, and the finisher starts (and here
 * completes) the shrink later.
 */
TEST_F(MAP, the_finisher_starts_a_shrink_a_delete_could_not)
{
	struct tophash_map *m = self->m = shrink_map(0, 0, 0, NULL);
	u64 k, v;

	ASSERT_NE(NULL, m);
	for (k = 0; k < 105; k++)
		ASSERT_EQ(0, put(m, k, k, TOPHASH_NOEXIST));
	finish_all(m, 1024);
	ASSERT_EQ(5, tu_info(m).B);
	for (k = 0; k < 41; k++)
		ASSERT_EQ(0, del(m, k));
	ASSERT_EQ(64, tu_info(m).count);
	while (th_shim_run_delayed_work(&m->finish))	/* the growths' runs */
		;
	EXPECT_EQ(0, last_finish.started) TH_LOG("64 entries: no shrink due");
	th_shim_fail_nth(1);
	EXPECT_EQ(0, del(m, k++)) TH_LOG("the delete itself succeeds");
	th_shim_fail_nth(0);
	EXPECT_EQ(0, tu_info(m).flags & TOPHASH_INFO_GROWING);
	ASSERT_TRUE(delayed_work_pending(&m->finish)) TH_LOG("the finisher will try");
	ASSERT_TRUE(th_shim_run_delayed_work(&m->finish));
	EXPECT_EQ(1, last_finish.started);
	EXPECT_EQ(1, last_finish.done) TH_LOG("32 old buckets: one step");
	EXPECT_EQ(TOPHASH_GROW_SHRINK, last_finish.kind);
	EXPECT_EQ(1, n_shrink_done);
	EXPECT_EQ(4, tu_info(m).B);
	for (; k < 105; k++) {
		ASSERT_EQ(0, get(m, k, &v));
		EXPECT_EQ(k, v);
	}
}

/*
 * An identity map of B = 3 shrinking to B = 2: @n1 keys ik(1, 0x20 + k, k)
 * in old bucket 1, @n5 keys ik(5, 0x40 + k, k) in old bucket 5, and old
 * buckets 0 and 1 already evacuated (new bucket 1 holds old 1's keys).
 */
static void shrink_1_and_5(struct __test_metadata *_metadata,
			   struct tophash_map *m, u64 n1, u64 n5)
{
	u64 k;

	ASSERT_NE(NULL, m);
	m->min_B = 0;
	for (k = 0; k < n1; k++)
		ASSERT_EQ(0, put(m, ik(1, 0x20 + k, k), k, TOPHASH_NOEXIST));
	for (k = 0; k < n5; k++)
		ASSERT_EQ(0, put(m, ik(5, 0x40 + k, k), k, TOPHASH_NOEXIST));
	ASSERT_EQ(0, put(m, ik(2, 0x60, 0), 0, TOPHASH_NOEXIST));
	ASSERT_EQ(0, del(m, ik(2, 0x60, 0)));	/* 15 < 16: the shrink starts */
	ASSERT_TRUE(tu_info(m).flags & TOPHASH_INFO_SHRINKING);
	ASSERT_EQ(true, tophash_finish_step(m, 2));	/* old 0 and 1 */
	ASSERT_EQ(n1, chain_tops(m, false, 1, (u8[64]){ 0 }, 64));
}

/*
 * A reader looks for a key of old bucket 5 + 4 (B = 3 -> 2) and is in that
 * old chain, before its overflow link, when the evacuation appends the
 * chain behind old bucket 1's entries in new bucket 1 (which needs an
 * overflow bucket of its own): it must follow the chain there.
 */
TEST_F(MAP, lookup_finds_a_key_appended_to_a_shared_chain_mid_scan)
{
	struct tophash_map *m = self->m = shrink_map(TOPHASH_F_IDENTITY_HASH, 25, 40, NULL);
	u64 k, v = 0;
	u8 *ob5;

	/* old 1: 6 entries; old 5: 9, one in an overflow bucket */
	shrink_1_and_5(_metadata, m, 6, 9);
	ob5 = bucket_addr(m, true, 5);
	pm = m;
	pkey = ik(5, 0x70, 0);	/* a write of an old-5 key evacuates old 5 */
	pval = 70;
	pause_arm(m, ob5 + m->ovf_off, step_update_pkey);
	EXPECT_EQ(0, get(m, ik(5, 0x48, 8), &v)) TH_LOG("the key in old 5's overflow bucket");
	EXPECT_EQ(8, v);
	EXPECT_EQ(1, pause_at.fired);
	EXPECT_EQ(0, step_err);
	pause_disarm();
	EXPECT_EQ(2, tu_depth(m, false, 1)) TH_LOG("6, 9 behind them, the new key last: two full buckets");
	for (k = 0; k < 9; k++) {
		ASSERT_EQ(0, get(m, ik(5, 0x40 + k, k), &v));
		EXPECT_EQ(k, v);
	}
}

/*
 * A reader in new bucket 1 (for a key old bucket 1 brought) is paused at
 * its primary bucket's overflow link while old bucket 5's entries are
 * appended behind, into that bucket and a new overflow bucket: it still
 * finds its key, and a later reader finds the appended ones.
 */
TEST_F(MAP, lookup_in_a_chain_that_grows_behind_it_still_finds_its_key)
{
	struct tophash_map *m = self->m = shrink_map(TOPHASH_F_IDENTITY_HASH, 25, 40, NULL);
	u64 k, v = 0;
	u8 *nb1;

	shrink_1_and_5(_metadata, m, 9, 6);	/* old 1: 9 entries; old 5: 6 */
	nb1 = bucket_addr(m, false, 1);
	pm = m;
	pkey = ik(5, 0x7f, 0);	/* old 5 -> new 1: appended from slot 1 of the overflow */
	pval = 1;
	pause_arm(m, nb1 + m->ovf_off, step_update_pkey);
	EXPECT_EQ(0, get(m, ik(1, 0x28, 8), &v)) TH_LOG("old 1's key in the overflow bucket");
	EXPECT_EQ(8, v);
	EXPECT_EQ(1, pause_at.fired);
	EXPECT_EQ(0, step_err);
	pause_disarm();
	for (k = 0; k < 6; k++) {
		ASSERT_EQ(0, get(m, ik(5, 0x40 + k, k), &v));
		EXPECT_EQ(k, v);
	}
	EXPECT_EQ(NULL, tu_check_map(m));
}

/*
 * The -ENOMEM sweep on maps that shrink: every allocation of every write
 * and finisher step failing in turn, while the map grows and shrinks over
 * and over (threshold 40%, no floor), crowded buckets for overflow in the
 * shrinks' appends. A failed write or step changes nothing: contents,
 * INFO (nevacuate, B, bytes, flags) and the live bytes. A delete during a
 * shrink allocates nothing (it does no growth work).
 */
TEST_F(MAP, enomem_at_every_allocation_of_a_shrinking_map_changes_nothing)
{
	unsigned long hit[NOPS][NSITES] = { { 0 } }, failed;
	struct tophash_map *m;
	u64 i, r = 3, x;
	int cycle, op, s;

	m = self->m = shrink_map(TOPHASH_F_IDENTITY_HASH, TOPHASH_SHRINK_MAX_PCT, 0, NULL);
	ASSERT_NE(NULL, m);
	model.n = 0;
	shrink_start_failed = failed_mid_shrink = 0;
	dels_mid_shrink = dels_mid_shrink_allocating = 0;
	for (cycle = 0; cycle < 4; cycle++) {
		/* up to 300 entries in buckets 0..36 of every B, then down to 10 */
		for (i = 0; i < 300; i++) {
			x = tu_rand(&r);
			op_with_every_failure(_metadata, m, OP_PUT,
					      ik(x % 37, 5 + (x >> 8) % 250, (x >> 16) % 1024), x, hit);
			if (i % 23 == 22)
				op_with_every_failure(_metadata, m, OP_FINISH, 0, 4, hit);
		}
		while (model.n > 10) {
			x = tu_rand(&r);
			op = x % 16 == 0 ? OP_FINISH : x % 8 ? OP_DEL : OP_PUT;
			if (op == OP_DEL) {
				failed = shrink_start_failed;
				op_with_every_failure(_metadata, m, op, model.key[(x >> 8) % model.n], 0, hit);
				/* the finisher starts it, one old bucket a step */
				if (failed != shrink_start_failed)
					op_with_every_failure(_metadata, m, OP_FINISH, 0, 1, hit);
			} else if (op == OP_FINISH) {
				op_with_every_failure(_metadata, m, op, 0, 1 + x % 3, hit);
			} else
				op_with_every_failure(_metadata, m, op,
						      ik(x % 37, 5 + (x >> 8) % 250, (x >> 16) % 1024),
						      x, hit);
		}
		/* the finisher ends what is left: each of its steps swept too */
		for (i = 0; i < 100 && (tu_info(m).flags & TOPHASH_INFO_GROWING); i++)
			op_with_every_failure(_metadata, m, OP_FINISH, 0, 4, hit);
	}
	for (op = 0; op < NOPS; op++)
		for (s = 0; s < NSITES; s++)
			TH_LOG("failed %-5s allocations in %s: %lu", site_name[s],
			       op == OP_PUT ? "update" : op == OP_DEL ? "delete" :
			       op == OP_CLEAR ? "clear" : "finisher step", hit[op][s]);
	TH_LOG("shrinks %lu started, %lu done; %lu deletes whose shrink start failed; %lu failures mid-shrink",
	       n_shrink_start, n_shrink_done, shrink_start_failed, failed_mid_shrink);
	TH_LOG("%lu deletes mid-shrink, %lu of them allocated", dels_mid_shrink,
	       dels_mid_shrink_allocating);
	/* Deletes leave a shrink to inserts and the finisher: 1 a cycle at least. */
	EXPECT_LT(4, n_shrink_done);
	EXPECT_LT(0, shrink_start_failed);
	EXPECT_LT(0, failed_mid_shrink);
	EXPECT_LT(0, hit[OP_PUT][SITE_OVERFLOW]);
	EXPECT_LT(0, dels_mid_shrink);
	EXPECT_EQ(0, dels_mid_shrink_allocating) TH_LOG("a delete mid-shrink does no growth work");
	EXPECT_LT(0, hit[OP_FINISH][SITE_TABLE]);
	EXPECT_LT(0, hit[OP_FINISH][SITE_ARRAY]) TH_LOG("the finisher starting a shrink");
	EXPECT_LT(0, hit[OP_FINISH][SITE_OVERFLOW]);
}

/*
 * A map of B = 5 that shrinks (the default 25%), keys 41..104 in it, no
 * growth left and its finisher idle: the delete of one more key makes a
 * shrink due (63 < 64 entries).
 */
static struct tophash_map *one_delete_from_a_shrink(struct __test_metadata *_metadata)
{
	struct tophash_map *m = shrink_map(0, 0, 0, NULL);
	u64 key;

	if (!m)
		return NULL;
	for (key = 0; key < 105; key++)
		EXPECT_EQ(0, put(m, key, key, TOPHASH_NOEXIST));
	finish_all(m, 1024);
	for (key = 0; key < 41; key++)
		EXPECT_EQ(0, del(m, key));
	while (th_shim_run_delayed_work(&m->finish))
		;
	EXPECT_EQ(5, tu_info(m).B);
	EXPECT_EQ(64, tu_info(m).count);
	return m;
}

/*
 * A delete that starts a shrink, with each allocation of that start failing
 * in turn (the half-size table, its array): the delete succeeds, nothing of
 * the shrink is left behind, and the finisher starts it later.
 */
TEST_F(MAP, a_delete_whose_shrink_cannot_allocate_succeeds_and_changes_nothing_else)
{
	struct tophash_info before, after;
	struct tophash_map *m;
	unsigned long k, fails0;
	u64 key;

	for (k = 1;; k++) {
		m = one_delete_from_a_shrink(_metadata);
		ASSERT_NE(NULL, m);
		key = 41;
		before = tu_info(m);
		ASSERT_EQ(0, before.flags & TOPHASH_INFO_GROWING);
		fails0 = th_shim_alloc_failures();
		th_shim_fail_nth(k);
		ASSERT_EQ(0, del(m, key));
		th_shim_fail_nth(0);
		after = tu_info(m);
		if (th_shim_alloc_failures() == fails0) {
			EXPECT_TRUE(after.flags & TOPHASH_INFO_SHRINKING);
			EXPECT_EQ(3, k) TH_LOG("the start allocates a table and an array");
			tu_map_free(m);
			break;
		}
		EXPECT_EQ(0, after.flags & TOPHASH_INFO_GROWING) TH_LOG("failure %lu", k);
		EXPECT_EQ(before.count - 1, after.count);
		EXPECT_EQ(before.B, after.B);
		EXPECT_EQ(before.bytes, after.bytes) TH_LOG("failure %lu", k);
		EXPECT_EQ(before.generation, after.generation);
		rcu_barrier();
		EXPECT_EQ(after.bytes, atomic64_read(&tophash_live_bytes));
		ASSERT_TRUE(delayed_work_pending(&m->finish));
		ASSERT_TRUE(th_shim_run_delayed_work(&m->finish));
		EXPECT_EQ(4, tu_info(m).B) TH_LOG("the finisher shrank it");
		for (key = 42; key < 105; key++)
			EXPECT_EQ(0, get(m, key, &(u64){ 0 }));
		tu_map_free(m);
	}
}

/*
 * A finisher step that cannot allocate (the shrink's start, an append's
 * overflow bucket, the table that ends it) changes nothing and says that
 * work is left; the background work item tries again after
 * TH_FINISH_DELAY rather than giving up.
 */
TEST_F(MAP, a_finisher_step_that_cannot_allocate_changes_nothing_and_retries)
{
	struct tophash_map *m = self->m = one_delete_from_a_shrink(_metadata);
	u64 key = 41;

	ASSERT_NE(NULL, m);
	th_shim_fail_nth(1);
	ASSERT_EQ(0, del(m, key++));	/* its shrink cannot start */
	th_shim_fail_nth(0);
	ASSERT_EQ(5, tu_info(m).B);
	th_shim_fail_nth(1);
	ASSERT_TRUE(th_shim_run_delayed_work(&m->finish));
	th_shim_fail_nth(0);
	EXPECT_EQ(5, tu_info(m).B);
	EXPECT_EQ(0, tu_info(m).flags & TOPHASH_INFO_GROWING);
	ASSERT_TRUE(delayed_work_pending(&m->finish)) TH_LOG("it tries again");
	EXPECT_EQ(TH_FINISH_DELAY, m->finish.delay) TH_LOG("not a busy retry");
	ASSERT_TRUE(th_shim_run_delayed_work(&m->finish));
	EXPECT_EQ(4, tu_info(m).B);
	EXPECT_EQ(NULL, tu_check_map(m));
}

TEST_HARNESS_MAIN
