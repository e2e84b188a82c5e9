// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests of the map's Go semantics as INFO and LAYOUT show them: slot
 * states on insert and delete (emptyOne, the emptyRest walk back), overflow
 * buckets, growth by doubling and same-size growth with incremental
 * evacuation, clear in every state, max_entries, batches, the privilege
 * check of identity hashing, and seeded random workloads checked op by op
 * against a model.
 *
 * Identity-hash maps (8-byte keys, hash = key) place keys exactly:
 * bucket = key & (2^B - 1) and tophash = key >> 56, raised by 5 below 5;
 * th_ikey() builds such keys. size_hint 64 gives B = 4 (16 buckets), and such
 * a map doubles when a new key would make count exceed 6.5 * 16 = 104.
 */
#define _GNU_SOURCE
#include <linux/capability.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

#include "kselftest_harness.h"
#include "tophash_util.h"

#define ID_HINT		64	/* size_hint that gives ID_B */
#define ID_B		4
#define ID_NB		(1U << ID_B)
#define ID_LOAD		104	/* 6.5 * ID_NB: one more new key grows */
#define CHAIN_LEN	256	/* room for a drawn chain of up to 28 buckets */

#define NEW		TOPHASH_LAYOUT_NEW
#define OLD		TOPHASH_LAYOUT_OLD

/* The chain of @bucket in @table drawn with bars, or why it could not be. */
static char *chain_at(int fd, uint32_t table, uint32_t bucket, char *s)
{
	int r = th_layout_chain_str(fd, table, bucket, s, CHAIN_LEN);

	if (r)
		snprintf(s, CHAIN_LEN, "<no chain: %s>", strerror(-r));
	return s;
}

/* True when every slot of the drawn chain is an evacuation mark. */
static bool all_evacuated(const char *s)
{
	for (; *s; s++)
		if (*s != 'X' && *s != 'Y' && *s != 'e' && *s != '|')
			return false;
	return true;
}

/* ---- identity-hash maps: exact placement ---- */

FIXTURE(IDENTITY) {
	int fd;
};

FIXTURE_SETUP(IDENTITY)
{
	self->fd = -1;
}

FIXTURE_TEARDOWN(IDENTITY)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Give the fixture its identity-hash map (8-byte keys and values), or skip. */
#define ID_MAP_CREATE(hint) do { \
	self->fd = th_create_full(8, 8, (hint), 0, TOPHASH_F_IDENTITY_HASH, \
				  NULL); \
	if (self->fd == -EPERM) \
		SKIP(return, "identity-hash maps need CAP_SYS_ADMIN"); \
	ASSERT_LE(0, self->fd) \
		TH_LOG("identity map create: %s", strerror(-self->fd)); \
} while (0)

/* Value stored under an identity key in these tests. */
static uint64_t ival(uint64_t k)
{
	return k ^ 0x5eed5eed5eed5eedULL;
}

TEST_F(IDENTITY, ninth_key_of_a_bucket_allocates_an_overflow_bucket)
{
	struct tophash_info in;
	char s[CHAIN_LEN];
	uint64_t k, v;
	int i;

	ID_MAP_CREATE(ID_HINT);
	ASSERT_EQ(0, th_info(self->fd, &in));
	ASSERT_EQ(ID_B, in.B) TH_LOG("size_hint %d should give B = %d", ID_HINT, ID_B);
	for (i = 0; i < 8; i++) {
		k = th_ikey(3, 0x80 + i, i);
		ASSERT_EQ(0, th_put64(self->fd, k, ival(k)));
	}
	EXPECT_STREQ("########", chain_at(self->fd, NEW, 3, s));
	ASSERT_EQ(0, th_info(self->fd, &in));
	EXPECT_EQ(0, in.noverflow) TH_LOG("8 keys fit in the primary bucket");

	k = th_ikey(3, 0x90, 8);
	ASSERT_EQ(0, th_put64(self->fd, k, ival(k)));
	EXPECT_STREQ("########|#.......", chain_at(self->fd, NEW, 3, s))
		TH_LOG("the 9th key belongs in slot 0 of a new overflow bucket");
	EXPECT_EQ(0x90, th_layout_top(self->fd, NEW, 3, 8));
	ASSERT_EQ(0, th_info(self->fd, &in));
	EXPECT_EQ(1, in.noverflow);
	EXPECT_EQ(9, in.count);
	EXPECT_EQ(ID_B, in.B) TH_LOG("9 keys are far below the load factor");
	EXPECT_EQ(0, in.flags & TOPHASH_INFO_GROWING);
	EXPECT_STREQ("........", chain_at(self->fd, NEW, 2, s));
	EXPECT_STREQ("........", chain_at(self->fd, NEW, 4, s));
	for (i = 0; i < 9; i++) {
		k = th_ikey(3, i < 8 ? 0x80 + i : 0x90, i);
		v = 0;
		EXPECT_EQ(0, th_get64(self->fd, k, &v)) TH_LOG("key %d", i);
		EXPECT_EQ(ival(k), v);
	}
}

TEST_F(IDENTITY, tophash_is_the_top_byte_raised_above_the_slot_states)
{
	static const uint8_t tops[] = { 0x00, 0x04, 0x05, 0xff, 0x80 };
	static const uint8_t want[] = { 0x05, 0x09, 0x05, 0xff, 0x80 };
	char s[CHAIN_LEN];
	uint64_t v;
	int i;

	ID_MAP_CREATE(ID_HINT);
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, th_put64(self->fd, th_ikey(9, tops[i], 1), i));
	}
	for (i = 0; i < 5; i++) {
		EXPECT_EQ(want[i], th_layout_top(self->fd, NEW, 9, i))
			TH_LOG("top byte 0x%02x", tops[i]);
	}
	/* 0x00 and 0x05 share tophash 5: the key compare tells them apart */
	ASSERT_EQ(0, th_del64(self->fd, th_ikey(9, 0x00, 1)));
	EXPECT_STREQ("x####...", chain_at(self->fd, NEW, 9, s));
	EXPECT_EQ(-ENOENT, th_get64(self->fd, th_ikey(9, 0x00, 1), &v));
	v = 99;
	EXPECT_EQ(0, th_get64(self->fd, th_ikey(9, 0x05, 1), &v));
	EXPECT_EQ(2, v);
}

TEST_F(IDENTITY, deleted_slot_becomes_emptyone_and_next_insert_reuses_it)
{
	struct tophash_info in;
	char s[CHAIN_LEN];
	uint64_t k, v;
	int i;

	ID_MAP_CREATE(ID_HINT);
	for (i = 0; i < 4; i++) {
		k = th_ikey(5, 0x60 + i, i);
		ASSERT_EQ(0, th_put64(self->fd, k, ival(k)));
	}
	ASSERT_STREQ("####....", chain_at(self->fd, NEW, 5, s));

	ASSERT_EQ(0, th_del64(self->fd, th_ikey(5, 0x61, 1)));
	EXPECT_STREQ("#x##....", chain_at(self->fd, NEW, 5, s))
		TH_LOG("a deleted slot followed by a full one is emptyOne");
	EXPECT_EQ(-ENOENT, th_get64(self->fd, th_ikey(5, 0x61, 1), &v));
	ASSERT_EQ(0, th_info(self->fd, &in));
	EXPECT_EQ(3, in.count);

	k = th_ikey(5, 0xa0, 7);
	ASSERT_EQ(0, th_put64(self->fd, k, ival(k)));
	EXPECT_STREQ("####....", chain_at(self->fd, NEW, 5, s));
	EXPECT_EQ(0xa0, th_layout_top(self->fd, NEW, 5, 1))
		TH_LOG("the new key should take the emptyOne slot 1");
	v = 0;
	EXPECT_EQ(0, th_get64(self->fd, k, &v));
	EXPECT_EQ(ival(k), v);

	/* the first emptyRest slot is next */
	k = th_ikey(5, 0xa1, 8);
	ASSERT_EQ(0, th_put64(self->fd, k, ival(k)));
	EXPECT_EQ(0xa1, th_layout_top(self->fd, NEW, 5, 4));

	/* an existing key behind an emptyOne slot is updated in place */
	ASSERT_EQ(0, th_del64(self->fd, th_ikey(5, 0xa0, 7)));
	ASSERT_STREQ("#x###...", chain_at(self->fd, NEW, 5, s));
	k = th_ikey(5, 0x63, 3);
	ASSERT_EQ(0, th_put64(self->fd, k, 4242));
	EXPECT_STREQ("#x###...", chain_at(self->fd, NEW, 5, s))
		TH_LOG("an update must not move the key into the emptyOne slot");
	EXPECT_EQ(0x63, th_layout_top(self->fd, NEW, 5, 3));
	v = 0;
	EXPECT_EQ(0, th_get64(self->fd, k, &v));
	EXPECT_EQ(4242, v);
	ASSERT_EQ(0, th_info(self->fd, &in));
	EXPECT_EQ(4, in.count);
}

TEST_F(IDENTITY, deleting_the_last_full_slot_walks_back_to_emptyrest)
{
	char s[CHAIN_LEN];
	uint64_t v;
	int i;

	ID_MAP_CREATE(ID_HINT);
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, th_put64(self->fd, th_ikey(2, 0x70 + i, i), i));
	}
	ASSERT_STREQ("#####...", chain_at(self->fd, NEW, 2, s));

	ASSERT_EQ(0, th_del64(self->fd, th_ikey(2, 0x72, 2)));
	EXPECT_STREQ("##x##...", chain_at(self->fd, NEW, 2, s));
	ASSERT_EQ(0, th_del64(self->fd, th_ikey(2, 0x73, 3)));
	EXPECT_STREQ("##xx#...", chain_at(self->fd, NEW, 2, s))
		TH_LOG("a slot followed by emptyOne stays emptyOne");
	ASSERT_EQ(0, th_del64(self->fd, th_ikey(2, 0x71, 1)));
	EXPECT_STREQ("#xxx#...", chain_at(self->fd, NEW, 2, s))
		TH_LOG("emptyOne after a deleted slot does not make it emptyRest");
	ASSERT_EQ(0, th_del64(self->fd, th_ikey(2, 0x74, 4)));
	EXPECT_STREQ("#.......", chain_at(self->fd, NEW, 2, s))
		TH_LOG("slots 4..1 become emptyRest; full slot 0 stops the walk");
	ASSERT_EQ(0, th_del64(self->fd, th_ikey(2, 0x70, 0)));
	EXPECT_STREQ("........", chain_at(self->fd, NEW, 2, s))
		TH_LOG("slot 0 before emptyRest is emptyRest; the walk ends there");
	for (i = 0; i < 5; i++) {
		EXPECT_EQ(-ENOENT, th_get64(self->fd, th_ikey(2, 0x70 + i, i), &v));
	}
}

TEST_F(IDENTITY, emptyrest_walk_crosses_back_from_overflow_into_primary)
{
	struct tophash_info in;
	char s[CHAIN_LEN];
	uint64_t v;
	int i;

	ID_MAP_CREATE(ID_HINT);
	for (i = 0; i < 9; i++) {
		ASSERT_EQ(0, th_put64(self->fd, th_ikey(6, 0x50 + i, i), i));
	}
	ASSERT_STREQ("########|#.......", chain_at(self->fd, NEW, 6, s));

	ASSERT_EQ(0, th_del64(self->fd, th_ikey(6, 0x57, 7)));
	EXPECT_STREQ("#######x|#.......", chain_at(self->fd, NEW, 6, s))
		TH_LOG("slot 7 is followed by a full overflow slot 0");
	ASSERT_EQ(0, th_del64(self->fd, th_ikey(6, 0x55, 5)));
	ASSERT_EQ(0, th_del64(self->fd, th_ikey(6, 0x56, 6)));
	EXPECT_STREQ("#####xxx|#.......", chain_at(self->fd, NEW, 6, s));

	ASSERT_EQ(0, th_del64(self->fd, th_ikey(6, 0x58, 8)));
	EXPECT_STREQ("#####...|........", chain_at(self->fd, NEW, 6, s))
		TH_LOG("emptying the overflow bucket turns primary slots 7..5 into emptyRest");
	ASSERT_EQ(0, th_info(self->fd, &in));
	EXPECT_EQ(5, in.count);
	EXPECT_EQ(1, in.noverflow) TH_LOG("delete keeps overflow buckets, as Go does");
	for (i = 0; i < 5; i++) {
		v = 99;
		EXPECT_EQ(0, th_get64(self->fd, th_ikey(6, 0x50 + i, i), &v));
		EXPECT_EQ(i, v);
	}

	/* the first emptyRest slot takes the next new key */
	ASSERT_EQ(0, th_put64(self->fd, th_ikey(6, 0x5f, 15), 15));
	EXPECT_STREQ("######..|........", chain_at(self->fd, NEW, 6, s));
}

TEST_F(IDENTITY, last_primary_slot_becomes_emptyrest_when_overflow_is_empty)
{
	char s[CHAIN_LEN];
	int i;

	ID_MAP_CREATE(ID_HINT);
	for (i = 0; i < 9; i++) {
		ASSERT_EQ(0, th_put64(self->fd, th_ikey(7, 0x50 + i, i), i));
	}
	ASSERT_EQ(0, th_del64(self->fd, th_ikey(7, 0x58, 8)));
	EXPECT_STREQ("########|........", chain_at(self->fd, NEW, 7, s))
		TH_LOG("a full primary slot 7 stops the walk from the overflow");
	ASSERT_EQ(0, th_del64(self->fd, th_ikey(7, 0x57, 7)));
	EXPECT_STREQ("#######.|........", chain_at(self->fd, NEW, 7, s))
		TH_LOG("slot 7 before an all-emptyRest overflow bucket is emptyRest");
	ASSERT_EQ(0, th_del64(self->fd, th_ikey(7, 0x56, 6)));
	EXPECT_STREQ("######..|........", chain_at(self->fd, NEW, 7, s));
}

/* ---- growth: doubling, incremental evacuation, same-size ---- */

/*
 * Keys of the growth tests: gkey(b, s) is key s of old bucket b (0..15); at
 * B = 5 it goes to new bucket b (X) when s is even and b + 16 (Y) when odd.
 */
#define G_SLOTS		16
#define G_KEYS		(ID_NB * G_SLOTS)

struct gmodel {
	uint64_t val[G_KEYS];
	bool live[G_KEYS];
	uint64_t count;
};

static uint64_t gkey(unsigned int b, unsigned int s)
{
	return th_ikey(b + ID_NB * (s & 1), 0x40 + s, s);
}

static int gput(int fd, struct gmodel *m, unsigned int b, unsigned int s,
		uint64_t v)
{
	unsigned int i = b * G_SLOTS + s;
	int r = th_put64(fd, gkey(b, s), v);

	if (!r) {
		m->count += !m->live[i];
		m->live[i] = true;
		m->val[i] = v;
	}
	return r;
}

static int gdel(int fd, struct gmodel *m, unsigned int b, unsigned int s)
{
	unsigned int i = b * G_SLOTS + s;
	int r = th_del64(fd, gkey(b, s));

	if (!r) {
		m->count -= m->live[i];
		m->live[i] = false;
	}
	return r;
}

/* Every live key of @m has its value; every other key is missing. */
static void gcheck(struct __test_metadata *_metadata, int fd,
		   const struct gmodel *m)
{
	unsigned int i, bad = 0;
	uint64_t v;
	int r;

	for (i = 0; i < G_KEYS; i++) {
		v = 0;
		r = th_get64(fd, gkey(i / G_SLOTS, i % G_SLOTS), &v);
		if (m->live[i] ? (r || v != m->val[i]) : r != -ENOENT) {
			if (bad++ < 5)
				TH_LOG("key (%u,%u): lookup %d value %llu, want %s %llu",
				       i / G_SLOTS, i % G_SLOTS, r,
				       (unsigned long long)v,
				       m->live[i] ? "present" : "missing",
				       (unsigned long long)m->val[i]);
		}
	}
	EXPECT_EQ(0, bad) TH_LOG("%u keys disagree with the model", bad);
}

/*
 * Bring a B = 4 identity map to the brink of growth: 104 keys; old buckets
 * 0..7 hold keys 0..5 with 1 and 2 deleted ("#xx###.."), old buckets 8..15
 * hold keys 0..8, the last in an overflow bucket ("########|#.......").
 */
static void fill_to_growth(struct __test_metadata *_metadata, int fd,
			   struct gmodel *m)
{
	struct tophash_info in;
	char s[CHAIN_LEN];
	unsigned int b, i;

	for (b = 0; b < ID_NB; b++) {
		for (i = 0; i < 6; i++) {
			ASSERT_EQ(0, gput(fd, m, b, i, ival(gkey(b, i))));
		}
	}
	for (b = 0; b < ID_NB / 2; b++) {
		ASSERT_EQ(0, gdel(fd, m, b, 1));
		ASSERT_EQ(0, gdel(fd, m, b, 2));
	}
	for (b = ID_NB / 2; b < ID_NB; b++) {
		for (i = 6; i < 9; i++) {
			ASSERT_EQ(0, gput(fd, m, b, i, ival(gkey(b, i))));
		}
	}
	ASSERT_EQ(0, th_info(fd, &in));
	ASSERT_EQ(ID_LOAD, in.count);
	ASSERT_EQ(ID_B, in.B);
	ASSERT_EQ(0, in.flags & TOPHASH_INFO_GROWING)
		TH_LOG("%d keys must not grow a B = %d map", ID_LOAD, ID_B);
	ASSERT_EQ(ID_NB / 2, in.noverflow);
	ASSERT_STREQ("#xx###..", chain_at(fd, NEW, 0, s));
	ASSERT_STREQ("########|#.......", chain_at(fd, NEW, 15, s));
}

/* The insert that makes count 105: key 9 of old bucket 15, a Y key. */
#define GROW_TRIGGER(m) gput(self->fd, (m), 15, 9, ival(gkey(15, 9)))

TEST_F(IDENTITY, load_factor_overrun_doubles_B_and_starts_growth)
{
	struct tophash_info before, in;
	struct gmodel m = { 0 };
	struct th_layout lo;
	char s[CHAIN_LEN];

	ID_MAP_CREATE(ID_HINT);
	fill_to_growth(_metadata, self->fd, &m);
	ASSERT_EQ(0, th_info(self->fd, &before));
	ASSERT_EQ(0, GROW_TRIGGER(&m));

	ASSERT_EQ(0, th_info(self->fd, &in));
	EXPECT_EQ(ID_B + 1, in.B) TH_LOG("count 105 > 6.5 * 16 doubles the table");
	EXPECT_EQ(TOPHASH_INFO_GROWING,
		  in.flags & (TOPHASH_INFO_GROWING | TOPHASH_INFO_SAME_SIZE));
	EXPECT_EQ(ID_LOAD + 1, in.count);
	EXPECT_EQ(before.generation + 1, in.generation);
	EXPECT_EQ(1, in.nevacuate)
		TH_LOG("the insert evacuates its old bucket 15, then old bucket 0 at nevacuate");
	EXPECT_EQ(0, in.noverflow);
	EXPECT_EQ(ID_NB / 2 - 1, in.noldoverflow)
		TH_LOG("old bucket 15 gave up its overflow bucket");

	ASSERT_EQ(0, th_layout_get(self->fd, &lo));
	EXPECT_EQ(ID_NB + 2 * ID_NB, lo.nchains) TH_LOG("old chains, then new");
	EXPECT_EQ(ID_B + 1, lo.B);
	EXPECT_EQ(OLD, lo.chains[0].table);
	EXPECT_EQ(NEW, lo.chains[ID_NB].table);
	th_layout_free(&lo);
	EXPECT_STREQ("XeeYXYee", chain_at(self->fd, OLD, 0, s))
		TH_LOG("keys 0,4 went to X, 3,5 to Y; empty slots are evacuatedEmpty");
	EXPECT_STREQ("XYXYXYXY", chain_at(self->fd, OLD, 15, s))
		TH_LOG("evacuation unlinks the old overflow bucket");
	EXPECT_STREQ("#xx###..", chain_at(self->fd, OLD, 1, s))
		TH_LOG("old bucket 1 is not evacuated yet");
	EXPECT_STREQ("########|#.......", chain_at(self->fd, OLD, 8, s));
	EXPECT_STREQ("##......", chain_at(self->fd, NEW, 0, s))
		TH_LOG("X half of old bucket 0, its deleted slots dropped");
	EXPECT_STREQ("##......", chain_at(self->fd, NEW, 16, s));
	EXPECT_STREQ("#####...", chain_at(self->fd, NEW, 15, s));
	EXPECT_STREQ("#####...", chain_at(self->fd, NEW, 31, s))
		TH_LOG("Y half of old bucket 15, then the new key");
	EXPECT_STREQ("........", chain_at(self->fd, NEW, 1, s));
	EXPECT_STREQ("........", chain_at(self->fd, NEW, 17, s));

	/* lookups find keys in both tables and do no growth work */
	gcheck(_metadata, self->fd, &m);
	ASSERT_EQ(0, th_info(self->fd, &in));
	EXPECT_EQ(1, in.nevacuate) TH_LOG("a lookup must not evacuate");
	EXPECT_NE(0, in.flags & TOPHASH_INFO_GROWING);
}

TEST_F(IDENTITY, assign_and_delete_evacuate_their_old_bucket_and_the_one_at_nevacuate)
{
	struct tophash_info in;
	struct gmodel m = { 0 };
	char s[CHAIN_LEN];

	ID_MAP_CREATE(ID_HINT);
	fill_to_growth(_metadata, self->fd, &m);
	ASSERT_EQ(0, GROW_TRIGGER(&m));

	/* an update in old bucket 3 evacuates 3, then 1 at nevacuate */
	ASSERT_EQ(0, gput(self->fd, &m, 3, 0, 3000));
	EXPECT_TRUE(all_evacuated(chain_at(self->fd, OLD, 3, s)))
		TH_LOG("old bucket 3, the target, is %s", s);
	EXPECT_TRUE(all_evacuated(chain_at(self->fd, OLD, 1, s)))
		TH_LOG("old bucket 1, at nevacuate, is %s", s);
	EXPECT_STREQ("#xx###..", chain_at(self->fd, OLD, 2, s));
	ASSERT_EQ(0, th_info(self->fd, &in));
	EXPECT_EQ(2, in.nevacuate);

	/* a delete evacuates 2 at nevacuate; the mark skips evacuated 3 */
	ASSERT_EQ(0, gdel(self->fd, &m, 3, 4));
	EXPECT_TRUE(all_evacuated(chain_at(self->fd, OLD, 2, s)))
		TH_LOG("old bucket 2 is %s", s);
	ASSERT_EQ(0, th_info(self->fd, &in));
	EXPECT_EQ(4, in.nevacuate);
	EXPECT_STREQ("#.......", chain_at(self->fd, NEW, 3, s))
		TH_LOG("key 4 was the last of new bucket 3: emptyRest");
	EXPECT_STREQ("##......", chain_at(self->fd, NEW, 19, s));

	/* the target is at nevacuate: the mark passes it, then one more */
	ASSERT_EQ(0, gput(self->fd, &m, 4, 0, 4000));
	ASSERT_EQ(0, th_info(self->fd, &in));
	EXPECT_EQ(6, in.nevacuate);
	EXPECT_TRUE(all_evacuated(chain_at(self->fd, OLD, 5, s)))
		TH_LOG("old bucket 5 is %s", s);
	EXPECT_STREQ("#xx###..", chain_at(self->fd, OLD, 6, s));

	/* a delete whose old bucket is not evacuated yet: evacuate, then delete */
	ASSERT_STREQ("########|#.......", chain_at(self->fd, OLD, 10, s));
	ASSERT_EQ(0, gdel(self->fd, &m, 10, 3));
	EXPECT_TRUE(all_evacuated(chain_at(self->fd, OLD, 10, s)))
		TH_LOG("old bucket 10 is %s", s);
	EXPECT_STREQ("#x##....", chain_at(self->fd, NEW, 10 + ID_NB, s))
		TH_LOG("Y keys 1,3,5,7 of old bucket 10, then key 3 deleted");
	ASSERT_EQ(0, th_info(self->fd, &in));
	EXPECT_EQ(7, in.nevacuate);
	EXPECT_EQ(m.count, in.count);
	EXPECT_NE(0, in.flags & TOPHASH_INFO_GROWING);
	gcheck(_metadata, self->fd, &m);
}

TEST_F(IDENTITY, growth_completes_dropping_deleted_slots_and_keeping_values)
{
	struct tophash_info before, in;
	struct gmodel m = { 0 };
	unsigned int b, j, n, ops, xs = 0, bad = 0;
	struct th_layout lo;
	char s[CHAIN_LEN], want[CHAIN_LEN];
	uint64_t prev;

	ID_MAP_CREATE(ID_HINT);
	fill_to_growth(_metadata, self->fd, &m);
	ASSERT_EQ(0, th_info(self->fd, &before));
	ASSERT_EQ(0, GROW_TRIGGER(&m));
	ASSERT_EQ(0, th_info(self->fd, &in));
	ASSERT_NE(0, in.flags & TOPHASH_INFO_GROWING);

	/* each update evacuates at least the old bucket at nevacuate */
	for (ops = 0, b = 3; ops < ID_NB; ops++, b = (b + 1) % ID_NB) {
		prev = in.nevacuate;
		ASSERT_EQ(0, gput(self->fd, &m, b, 0, 1000 + ops));
		ASSERT_EQ(0, th_info(self->fd, &in));
		if (!(in.flags & TOPHASH_INFO_GROWING))
			break;
		EXPECT_LT(prev, in.nevacuate)
			TH_LOG("update %u (old bucket %u) left nevacuate at %llu",
			       ops, b, (unsigned long long)in.nevacuate);
		for (j = 0; j < in.nevacuate; j++) {
			EXPECT_TRUE(all_evacuated(chain_at(self->fd, OLD, j, s)))
				TH_LOG("old bucket %u below nevacuate %llu is %s", j,
				       (unsigned long long)in.nevacuate, s);
		}
	}
	ASSERT_EQ(0, in.flags & TOPHASH_INFO_GROWING)
		TH_LOG("growth still running after %u updates", ops);

	EXPECT_EQ(ID_B + 1, in.B);
	EXPECT_EQ(0, in.flags & TOPHASH_INFO_SAME_SIZE);
	EXPECT_EQ(0, in.nevacuate);
	EXPECT_EQ(0, in.noverflow) TH_LOG("old chains of 9 split 5/4: no overflow");
	EXPECT_EQ(0, in.noldoverflow);
	EXPECT_EQ(m.count, in.count);
	EXPECT_EQ(before.generation + 1, in.generation)
		TH_LOG("only the grow start allocates a bucket array");

	/* new bucket j holds exactly its live keys, packed, no emptyOne */
	ASSERT_EQ(0, th_layout_get(self->fd, &lo));
	EXPECT_EQ(2 * ID_NB, lo.nchains);
	for (j = 0; j < lo.nchains; j++) {
		struct th_chain *c = &lo.chains[j];

		for (n = 0, b = 0; b < G_KEYS; b++)
			n += m.live[b] && (gkey(b / G_SLOTS, b % G_SLOTS) &
					   (2 * ID_NB - 1)) == c->bucket;
		memset(want, '.', 8);
		memset(want, '#', n);
		want[8] = '\0';
		th_chain_str_bars(c, s, sizeof(s));
		xs += !!strchr(s, 'x');
		if (c->table != NEW || strcmp(want, s)) {
			if (bad++ < 5)
				TH_LOG("table %u bucket %u: %s, want %s", c->table,
				       c->bucket, s, want);
		}
	}
	th_layout_free(&lo);
	EXPECT_EQ(0, xs) TH_LOG("evacuation must drop deleted slots");
	EXPECT_EQ(0, bad);
	gcheck(_metadata, self->fd, &m);
}

TEST_F(IDENTITY, evacuation_moves_a_long_chain_into_one_half_with_overflow)
{
	static const unsigned int fill[] = { 0, 1, 2, 5, 6, 7, 8, 9, 10, 11,
					     12, 13, 14, 15 };
	unsigned int i, b, ops, n = 0;
	struct tophash_info in;
	uint64_t keys[ID_LOAD + 1], v;
	char s[CHAIN_LEN];

	ID_MAP_CREATE(ID_HINT);
	/* old bucket 3: 12 keys, all X; old bucket 4: 10 keys, all Y */
	for (i = 0; i < 12; i++)
		keys[n++] = th_ikey(3, 0x40 + i, i);
	for (i = 0; i < 10; i++)
		keys[n++] = th_ikey(4 + ID_NB, 0x40 + i, i);
	/* 82 more keys elsewhere make 104, then one more grows the map */
	for (i = 0; n <= ID_LOAD; i++) {
		b = fill[i % ARRAY_SIZE(fill)];
		keys[n++] = th_ikey(b + ID_NB * (i & 1), 0x60, i);
	}
	for (i = 0; i < ID_LOAD; i++) {
		ASSERT_EQ(0, th_put64(self->fd, keys[i], ival(keys[i])));
	}
	ASSERT_EQ(0, th_info(self->fd, &in));
	ASSERT_EQ(0, in.flags & TOPHASH_INFO_GROWING);
	ASSERT_EQ(2, in.noverflow);
	ASSERT_EQ(0, th_put64(self->fd, keys[ID_LOAD], ival(keys[ID_LOAD])));
	ASSERT_EQ(0, th_info(self->fd, &in));
	ASSERT_NE(0, in.flags & TOPHASH_INFO_GROWING);

	/* an update of a key of each long chain evacuates it */
	ASSERT_EQ(0, th_put64(self->fd, keys[0], ival(keys[0])));
	ASSERT_EQ(0, th_put64(self->fd, keys[12], ival(keys[12])));
	EXPECT_STREQ("XXXXXXXX", chain_at(self->fd, OLD, 3, s));
	EXPECT_STREQ("YYYYYYYY", chain_at(self->fd, OLD, 4, s));
	EXPECT_STREQ("########|####....", chain_at(self->fd, NEW, 3, s))
		TH_LOG("12 X keys need an overflow bucket in the new table");
	EXPECT_STREQ("........", chain_at(self->fd, NEW, 3 + ID_NB, s));
	EXPECT_STREQ("........", chain_at(self->fd, NEW, 4, s));
	EXPECT_STREQ("########|##......", chain_at(self->fd, NEW, 4 + ID_NB, s));

	for (ops = 0; ops < ID_NB && (in.flags & TOPHASH_INFO_GROWING); ops++) {
		ASSERT_EQ(0, th_put64(self->fd, keys[20 + ops], ival(keys[20 + ops])));
		ASSERT_EQ(0, th_info(self->fd, &in));
	}
	ASSERT_EQ(0, in.flags & TOPHASH_INFO_GROWING)
		TH_LOG("growth still running after %u more updates", ops);
	EXPECT_EQ(2, in.noverflow) TH_LOG("one overflow bucket per long half");
	EXPECT_EQ(0, in.noldoverflow);
	EXPECT_EQ(ID_LOAD + 1, in.count);
	EXPECT_STREQ("########|####....", chain_at(self->fd, NEW, 3, s));
	EXPECT_STREQ("########|##......", chain_at(self->fd, NEW, 4 + ID_NB, s));
	for (i = 0; i <= ID_LOAD; i++) {
		v = 0;
		EXPECT_EQ(0, th_get64(self->fd, keys[i], &v)) TH_LOG("key %u", i);
		EXPECT_EQ(ival(keys[i]), v);
	}
}

/* Keys of the same-size test: skey(b, s) is key s of bucket b's chain. */
static uint64_t skey(unsigned int b, unsigned int s)
{
	return th_ikey(b, 0x20 + s, s);
}

TEST_F(IDENTITY, too_many_overflow_buckets_start_a_same_size_growth)
{
	struct tophash_info before, in;
	unsigned int b, i, ops;
	char s[CHAIN_LEN];
	uint64_t v;

	/* B = 3: 8 buckets, 52 keys before doubling, 8 overflow buckets are too many */
	ID_MAP_CREATE(40);
	ASSERT_EQ(0, th_info(self->fd, &in));
	ASSERT_EQ(3, in.B);
	/* chains of 17 keys (2 overflow buckets each), all but the last deleted */
	for (b = 0; b < 4; b++) {
		for (i = 0; i < 17; i++) {
			ASSERT_EQ(0, th_put64(self->fd, skey(b, i), ival(skey(b, i))));
		}
		for (i = 0; i < 16; i++) {
			ASSERT_EQ(0, th_del64(self->fd, skey(b, i)));
		}
	}
	ASSERT_EQ(0, th_info(self->fd, &before));
	ASSERT_EQ(4, before.count);
	ASSERT_EQ(8, before.noverflow);
	ASSERT_EQ(0, before.flags & TOPHASH_INFO_GROWING);
	EXPECT_STREQ("xxxxxxxx|xxxxxxxx|#.......", chain_at(self->fd, NEW, 0, s));

	/* a new key finds noverflow >= 2^B: same-size growth */
	ASSERT_EQ(0, th_put64(self->fd, skey(5, 0), ival(skey(5, 0))));
	ASSERT_EQ(0, th_info(self->fd, &in));
	EXPECT_EQ(TOPHASH_INFO_GROWING | TOPHASH_INFO_SAME_SIZE,
		  in.flags & (TOPHASH_INFO_GROWING | TOPHASH_INFO_SAME_SIZE));
	EXPECT_EQ(3, in.B) TH_LOG("a same-size growth keeps B");
	EXPECT_EQ(5, in.count);
	EXPECT_EQ(before.generation + 1, in.generation);
	EXPECT_EQ(1, in.nevacuate);
	EXPECT_EQ(0, in.noverflow);
	EXPECT_EQ(6, in.noldoverflow)
		TH_LOG("old bucket 0's two overflow buckets are released");
	EXPECT_STREQ("eeeeeeee", chain_at(self->fd, OLD, 0, s));
	EXPECT_STREQ("#.......", chain_at(self->fd, NEW, 0, s))
		TH_LOG("the one live key of a 3-bucket chain, in one bucket");
	EXPECT_STREQ("xxxxxxxx|xxxxxxxx|#.......", chain_at(self->fd, OLD, 1, s));
	EXPECT_STREQ("eeeeeeee", chain_at(self->fd, OLD, 5, s));
	EXPECT_STREQ("#.......", chain_at(self->fd, NEW, 5, s));

	for (ops = 0; ops < 8; ops++) {
		b = 1 + ops % 3;
		ASSERT_EQ(0, th_put64(self->fd, skey(b, 16), ival(skey(b, 16))));
		ASSERT_EQ(0, th_info(self->fd, &in));
		if (!(in.flags & TOPHASH_INFO_GROWING))
			break;
	}
	ASSERT_EQ(0, in.flags & TOPHASH_INFO_GROWING)
		TH_LOG("same-size growth still running after %u updates", ops);
	EXPECT_EQ(3, in.B);
	EXPECT_GT(before.noverflow, in.noverflow);
	EXPECT_EQ(0, in.noverflow);
	EXPECT_EQ(0, in.noldoverflow);
	EXPECT_EQ(5, in.count);
	EXPECT_EQ(before.generation + 1, in.generation);
	for (b = 0; b < 8; b++) {
		EXPECT_STREQ(b < 4 || b == 5 ? "#......." : "........",
			     chain_at(self->fd, NEW, b, s)) TH_LOG("bucket %u", b);
	}
	for (b = 0; b < 4; b++) {
		for (i = 0; i < 16; i++) {
			EXPECT_EQ(-ENOENT, th_get64(self->fd, skey(b, i), &v));
		}
		v = 0;
		EXPECT_EQ(0, th_get64(self->fd, skey(b, 16), &v));
		EXPECT_EQ(ival(skey(b, 16)), v);
	}
	v = 0;
	EXPECT_EQ(0, th_get64(self->fd, skey(5, 0), &v));
	EXPECT_EQ(ival(skey(5, 0)), v);
}

/* ---- clear ---- */

/*
 * After a clear that found the map as @before and reported @cl: an empty map
 * of the same B, no overflow buckets, no growth, none of @keys, and usable.
 */
static void check_cleared(struct __test_metadata *_metadata, int fd,
			  const struct tophash_info *before,
			  const struct tophash_clear *cl,
			  const uint64_t *keys, unsigned int nkeys)
{
	unsigned int i, found = 0, bad = 0;
	struct tophash_info in;
	struct th_layout lo;
	char s[CHAIN_LEN];
	uint64_t v;

	ASSERT_EQ(0, th_info(fd, &in));
	EXPECT_EQ(0, in.count);
	EXPECT_EQ(before->B, in.B) TH_LOG("clear keeps the current B");
	EXPECT_EQ(0, in.flags & (TOPHASH_INFO_GROWING | TOPHASH_INFO_SAME_SIZE));
	EXPECT_EQ(0, in.noverflow);
	EXPECT_EQ(0, in.noldoverflow);
	EXPECT_EQ(0, in.nevacuate);
	EXPECT_EQ(before->generation + 1, in.generation);
	EXPECT_EQ(before->count, cl->entries);
	EXPECT_EQ(before->noverflow + before->noldoverflow, cl->overflow);
	EXPECT_EQ(before->bytes - in.bytes, cl->bytes)
		TH_LOG("INFO bytes went from %llu to %llu",
		       (unsigned long long)before->bytes,
		       (unsigned long long)in.bytes);

	ASSERT_EQ(0, th_layout_get(fd, &lo));
	EXPECT_EQ(1U << before->B, lo.nchains);
	for (i = 0; i < lo.nchains; i++) {
		th_chain_str_bars(&lo.chains[i], s, sizeof(s));
		if (lo.chains[i].table != NEW || strcmp("........", s)) {
			if (bad++ < 5)
				TH_LOG("table %u bucket %u after clear: %s",
				       lo.chains[i].table, lo.chains[i].bucket, s);
		}
	}
	th_layout_free(&lo);
	EXPECT_EQ(0, bad);

	for (i = 0; i < nkeys; i++)
		found += th_get64(fd, keys[i], &v) != -ENOENT;
	EXPECT_EQ(0, found) TH_LOG("%u of %u keys survived the clear", found, nkeys);

	/* the map works afterwards, for old keys too */
	ASSERT_EQ(0, th_put64(fd, keys[0], 1));
	ASSERT_EQ(0, th_put64(fd, keys[nkeys - 1], 2));
	v = 0;
	EXPECT_EQ(0, th_get64(fd, keys[0], &v));
	EXPECT_EQ(1, v);
	EXPECT_EQ(0, th_get64(fd, keys[nkeys - 1], &v));
	EXPECT_EQ(2, v);
	ASSERT_EQ(0, th_info(fd, &in));
	EXPECT_EQ(2, in.count);
}

TEST_F(IDENTITY, clear_empties_a_map_with_entries_and_overflow)
{
	struct tophash_info before;
	struct tophash_clear cl;
	uint64_t keys[40];
	unsigned int b, i, n = 0;

	ID_MAP_CREATE(ID_HINT);
	for (b = 0; b < ID_NB; b++)
		for (i = 0; i < 2; i++)
			keys[n++] = th_ikey(b, 0x30 + i, i);
	for (i = 2; i < 10; i++)
		keys[n++] = th_ikey(7, 0x30 + i, i);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, th_put64(self->fd, keys[i], ival(keys[i])));
	}
	ASSERT_EQ(0, th_info(self->fd, &before));
	ASSERT_EQ(40, before.count);
	ASSERT_EQ(1, before.noverflow);

	ASSERT_EQ(0, th_clear(self->fd, &cl));
	EXPECT_EQ(40, cl.entries);
	EXPECT_EQ(1, cl.overflow);
	EXPECT_EQ(0, cl.oldbuckets) TH_LOG("no growth, no old table");
	check_cleared(_metadata, self->fd, &before, &cl, keys, n);
}

TEST_F(IDENTITY, clear_mid_growth_frees_the_old_table_and_ends_growth)
{
	struct tophash_info before;
	struct gmodel m = { 0 };
	struct tophash_clear cl;
	uint64_t keys[G_KEYS];
	unsigned int i, n = 0;

	ID_MAP_CREATE(ID_HINT);
	fill_to_growth(_metadata, self->fd, &m);
	ASSERT_EQ(0, GROW_TRIGGER(&m));
	ASSERT_EQ(0, th_info(self->fd, &before));
	ASSERT_NE(0, before.flags & TOPHASH_INFO_GROWING);
	ASSERT_NE(0, before.noldoverflow);
	for (i = 0; i < G_KEYS; i++)
		if (m.live[i])
			keys[n++] = gkey(i / G_SLOTS, i % G_SLOTS);

	ASSERT_EQ(0, th_clear(self->fd, &cl));
	EXPECT_EQ(ID_LOAD + 1, cl.entries);
	EXPECT_EQ(ID_NB, cl.oldbuckets) TH_LOG("the old table had 2^4 buckets");
	EXPECT_EQ(ID_NB / 2 - 1, cl.overflow)
		TH_LOG("the 7 overflow buckets still on the old table");
	EXPECT_LT(0, cl.bytes);
	check_cleared(_metadata, self->fd, &before, &cl, keys, n);
}

TEST_F(IDENTITY, clear_of_an_emptied_map_still_frees_its_overflow)
{
	struct tophash_info before;
	struct tophash_clear cl;
	uint64_t keys[30];
	unsigned int i, n = 0;
	char s[CHAIN_LEN];

	ID_MAP_CREATE(ID_HINT);
	for (i = 0; i < 20; i++)
		keys[n++] = th_ikey(3, 0x30 + i, i);
	for (i = 0; i < 10; i++)
		keys[n++] = th_ikey(i, 0x90, 100);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, th_put64(self->fd, keys[i], ival(keys[i])));
	}
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, th_del64(self->fd, keys[i]));
	}
	EXPECT_STREQ("........|........|........", chain_at(self->fd, NEW, 3, s))
		TH_LOG("deleting the last key walks back through both overflow buckets");
	ASSERT_EQ(0, th_info(self->fd, &before));
	ASSERT_EQ(0, before.count);
	ASSERT_EQ(2, before.noverflow) TH_LOG("delete keeps overflow buckets");

	ASSERT_EQ(0, th_clear(self->fd, &cl));
	EXPECT_EQ(0, cl.entries);
	EXPECT_EQ(2, cl.overflow);
	EXPECT_EQ(0, cl.oldbuckets);
	EXPECT_LT(0, cl.bytes);
	check_cleared(_metadata, self->fd, &before, &cl, keys, n);
}

/* ---- max_entries ---- */

TEST(full_map_refuses_new_keys_with_e2big_and_loses_nothing)
{
	const uint64_t max = 100, fresh = 1000;
	struct tophash_batch_op op;
	struct tophash_info in;
	uint64_t k, v, one = 1;
	uint32_t done = 99;
	unsigned int bad = 0;
	int fd;

	fd = th_create_full(8, 8, 0, max, 0, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, th_info(fd, &in));
	EXPECT_EQ(max, in.max_entries);
	for (k = 1; k <= max; k++) {
		ASSERT_EQ(0, th_put64(fd, k, k * 10));
	}

	EXPECT_EQ(-E2BIG, th_put64(fd, fresh, 1));
	EXPECT_EQ(-E2BIG, th_put(fd, &fresh, &one, TOPHASH_NOEXIST));
	EXPECT_EQ(-ENOENT, th_put(fd, &fresh, &one, TOPHASH_EXIST))
		TH_LOG("EXIST of a missing key is ENOENT, full or not");
	op = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY, &fresh, &one);
	EXPECT_EQ(-E2BIG, th_batch(fd, &op, 1, &done));
	EXPECT_EQ(0, done);
	EXPECT_EQ(-ENOENT, th_get64(fd, fresh, &v));
	ASSERT_EQ(0, th_info(fd, &in));
	EXPECT_EQ(max, in.count);
	for (k = 1; k <= max; k++) {
		v = 0;
		bad += th_get64(fd, k, &v) || v != k * 10;
	}
	EXPECT_EQ(0, bad) TH_LOG("%u keys lost or changed by a refused insert", bad);

	/* existing keys still update */
	k = 5;
	EXPECT_EQ(0, th_put64(fd, k, 55));
	v = 66;
	EXPECT_EQ(0, th_put(fd, &k, &v, TOPHASH_EXIST));
	EXPECT_EQ(-EEXIST, th_put(fd, &k, &v, TOPHASH_NOEXIST));
	v = 0;
	EXPECT_EQ(0, th_get64(fd, k, &v));
	EXPECT_EQ(66, v);

	/* a delete makes room for exactly one */
	ASSERT_EQ(0, th_del64(fd, 1));
	EXPECT_EQ(0, th_put64(fd, fresh, 7));
	EXPECT_EQ(-E2BIG, th_put64(fd, fresh + 1, 8));
	v = 0;
	EXPECT_EQ(0, th_get64(fd, fresh, &v));
	EXPECT_EQ(7, v);
	ASSERT_EQ(0, th_info(fd, &in));
	EXPECT_EQ(max, in.count);
	close(fd);
}

/* ---- batch ---- */

#define BSENT	0xdeadbeefdeadbeefULL	/* lookup buffers an op never wrote */

FIXTURE(BATCH) {
	int fd;
	uint64_t key[16];
	uint64_t val[16];
	uint64_t out[16];
	struct tophash_batch_op ops[32];
};

FIXTURE_SETUP(BATCH)
{
	int i;

	self->fd = th_create(8, 8, 0);
	ASSERT_LE(0, self->fd);
	for (i = 0; i < 16; i++) {
		self->key[i] = 100 + i;
		self->val[i] = 1000 + i;
		self->out[i] = BSENT;
	}
}

FIXTURE_TEARDOWN(BATCH)
{
	close(self->fd);
}

static uint64_t map_count(int fd)
{
	struct tophash_info in;

	return th_info(fd, &in) ? ~0ULL : in.count;
}

TEST_F(BATCH, updates_lookups_and_deletes_run_in_order)
{
	uint32_t done = 0, n = 0;
	uint64_t v;
	int i;

	for (i = 0; i < 10; i++)
		self->ops[n++] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY,
					&self->key[i], &self->val[i]);
	for (i = 0; i < 10; i++)
		self->ops[n++] = th_bop(TOPHASH_BATCH_LOOKUP, 0, &self->key[i],
					&self->out[i]);
	for (i = 0; i < 5; i++)
		self->ops[n++] = th_bop(TOPHASH_BATCH_DELETE, 0, &self->key[i], NULL);
	/* NOEXIST succeeds only because the delete above ran first */
	self->ops[n++] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_NOEXIST,
				&self->key[0], &self->val[10]);
	self->ops[n++] = th_bop(TOPHASH_BATCH_LOOKUP, 0, &self->key[0],
				&self->out[10]);

	EXPECT_EQ(0, th_batch(self->fd, self->ops, n, &done));
	EXPECT_EQ(n, done);
	for (i = 0; i < 10; i++) {
		EXPECT_EQ(self->val[i], self->out[i]) TH_LOG("lookup %d", i);
	}
	EXPECT_EQ(self->val[10], self->out[10]);
	EXPECT_EQ(6, map_count(self->fd));
	for (i = 1; i < 5; i++) {
		EXPECT_EQ(-ENOENT, th_get64(self->fd, self->key[i], &v));
	}
	for (i = 5; i < 10; i++) {
		v = 0;
		EXPECT_EQ(0, th_get64(self->fd, self->key[i], &v));
		EXPECT_EQ(self->val[i], v);
	}
	EXPECT_EQ(0, th_get64(self->fd, self->key[0], &v));
	EXPECT_EQ(self->val[10], v);
}

TEST_F(BATCH, stops_at_the_first_failing_op_keeping_the_ones_before)
{
	uint32_t done = 0, n = 0;
	uint64_t v;
	int i;

	ASSERT_EQ(0, th_put64(self->fd, self->key[9], 9));
	for (i = 0; i < 3; i++)
		self->ops[n++] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY,
					&self->key[i], &self->val[i]);
	self->ops[n++] = th_bop(TOPHASH_BATCH_LOOKUP, 0, &self->key[9], &self->out[3]);
	self->ops[n++] = th_bop(TOPHASH_BATCH_DELETE, 0, &self->key[0], NULL);
	self->ops[n++] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_NOEXIST,
				&self->key[9], &self->val[5]);	/* fails */
	self->ops[n++] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY,
				&self->key[3], &self->val[3]);
	self->ops[n++] = th_bop(TOPHASH_BATCH_LOOKUP, 0, &self->key[1], &self->out[7]);
	self->ops[n++] = th_bop(TOPHASH_BATCH_DELETE, 0, &self->key[9], NULL);

	EXPECT_EQ(-EEXIST, th_batch(self->fd, self->ops, n, &done));
	EXPECT_EQ(5, done) TH_LOG("done is the index of the failing op");
	EXPECT_EQ(-ENOENT, th_get64(self->fd, self->key[0], &v)) TH_LOG("op 4 ran");
	EXPECT_EQ(0, th_get64(self->fd, self->key[2], &v));
	EXPECT_EQ(self->val[2], v);
	EXPECT_EQ(9, self->out[3]);
	EXPECT_EQ(-ENOENT, th_get64(self->fd, self->key[3], &v)) TH_LOG("op 6 must not run");
	EXPECT_EQ(BSENT, self->out[7]) TH_LOG("op 7 must not run");
	v = 0;
	EXPECT_EQ(0, th_get64(self->fd, self->key[9], &v)) TH_LOG("op 8 must not run");
	EXPECT_EQ(9, v) TH_LOG("the failed NOEXIST must not write");
	EXPECT_EQ(3, map_count(self->fd));

	/* a delete of a missing key as op 5 */
	for (n = 0; n < 5; n++)
		self->ops[n] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY,
				      &self->key[10 + n], &self->val[10 + n]);
	self->ops[n++] = th_bop(TOPHASH_BATCH_DELETE, 0, &self->key[15], NULL);
	self->ops[n++] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY,
				&self->key[15], &self->val[15]);
	EXPECT_EQ(-ENOENT, th_batch(self->fd, self->ops, n, &done));
	EXPECT_EQ(5, done);
	for (i = 10; i < 15; i++) {
		EXPECT_EQ(0, th_get64(self->fd, self->key[i], &v));
	}
	EXPECT_EQ(-ENOENT, th_get64(self->fd, self->key[15], &v));
	EXPECT_EQ(8, map_count(self->fd));
}

TEST_F(BATCH, bad_op_or_pointer_in_the_middle_stops_there)
{
	uint32_t done = 0;
	uint64_t v;

	self->ops[0] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY, &self->key[0],
			      &self->val[0]);
	self->ops[2] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY, &self->key[2],
			      &self->val[2]);

	self->ops[1] = th_bop(0, 0, &self->key[1], &self->val[1]);
	EXPECT_EQ(-EINVAL, th_batch(self->fd, self->ops, 3, &done)) TH_LOG("op code 0");
	EXPECT_EQ(1, done);
	self->ops[1] = th_bop(TOPHASH_BATCH_DELETE + 1, 0, &self->key[1], NULL);
	EXPECT_EQ(-EINVAL, th_batch(self->fd, self->ops, 3, &done)) TH_LOG("unknown op code");
	EXPECT_EQ(1, done);
	self->ops[1] = th_bop(TOPHASH_BATCH_LOOKUP, TOPHASH_EXIST, &self->key[0],
			      &self->out[1]);
	EXPECT_EQ(-EINVAL, th_batch(self->fd, self->ops, 3, &done)) TH_LOG("lookup flags");
	EXPECT_EQ(1, done);
	EXPECT_EQ(BSENT, self->out[1]);
	self->ops[1] = th_bop(TOPHASH_BATCH_UPDATE, 3, &self->key[1], &self->val[1]);
	EXPECT_EQ(-EINVAL, th_batch(self->fd, self->ops, 3, &done)) TH_LOG("update flags");
	EXPECT_EQ(1, done);
	self->ops[1] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY, (void *)16,
			      &self->val[1]);
	EXPECT_EQ(-EFAULT, th_batch(self->fd, self->ops, 3, &done)) TH_LOG("key pointer");
	EXPECT_EQ(1, done);
	self->ops[1] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY, &self->key[1],
			      (void *)16);
	EXPECT_EQ(-EFAULT, th_batch(self->fd, self->ops, 3, &done)) TH_LOG("value pointer");
	EXPECT_EQ(1, done);

	EXPECT_EQ(0, th_get64(self->fd, self->key[0], &v));
	EXPECT_EQ(-ENOENT, th_get64(self->fd, self->key[1], &v));
	EXPECT_EQ(-ENOENT, th_get64(self->fd, self->key[2], &v));
	EXPECT_EQ(1, map_count(self->fd));
}

TEST_F(BATCH, count_out_of_range_is_einval)
{
	uint32_t done = 0;

	self->ops[0] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY, &self->key[0],
			      &self->val[0]);
	EXPECT_EQ(-EINVAL, th_batch(self->fd, self->ops, 0, &done));
	EXPECT_EQ(0, done);
	EXPECT_EQ(-EINVAL, th_batch(self->fd, self->ops, TOPHASH_BATCH_MAX + 1, &done));
	EXPECT_EQ(0, done);
	EXPECT_EQ(0, map_count(self->fd)) TH_LOG("a refused batch runs nothing");
}

TEST_F(BATCH, done_is_an_output_only)
{
	struct tophash_batch bt = {
		.size = sizeof(bt), .count = 0, .ops = (uintptr_t)self->ops,
		.done = 77,
	};

	self->ops[0] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY, &self->key[0],
			      &self->val[0]);
	EXPECT_EQ(-EINVAL, th_err(ioctl(self->fd, TOPHASH_IOC_BATCH, &bt)));
	EXPECT_EQ(0, bt.done) TH_LOG("a refused batch reports 0 done");
	bt.count = 1;
	bt.done = 77;
	EXPECT_EQ(0, th_err(ioctl(self->fd, TOPHASH_IOC_BATCH, &bt)))
		TH_LOG("whatever done holds on input is ignored");
	EXPECT_EQ(1, bt.done);
	EXPECT_EQ(1, map_count(self->fd));
}

TEST_F(BATCH, bad_ops_pointer_is_efault)
{
	long page = sysconf(_SC_PAGESIZE);
	struct tophash_batch_op *ops;
	uint32_t done = 99;
	char *mem;

	EXPECT_EQ(-EFAULT, th_batch(self->fd, (void *)16, 4, &done));
	EXPECT_EQ(0, done) TH_LOG("nothing was done");
	EXPECT_EQ(0, map_count(self->fd));

	/* ops that run into an unmapped page: the ones before it are done */
	mem = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, munmap(mem + page, page));
	ops = (void *)(mem + page - 2 * sizeof(*ops));
	ops[0] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY, &self->key[0], &self->val[0]);
	ops[1] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY, &self->key[1], &self->val[1]);
	EXPECT_EQ(-EFAULT, th_batch(self->fd, ops, 4, &done));
	EXPECT_EQ(2, done);
	EXPECT_EQ(2, map_count(self->fd));
	munmap(mem, page);
}

TEST_F_TIMEOUT(BATCH, batch_of_batch_max_ops_is_accepted, 300)
{
	const uint32_t n = TOPHASH_BATCH_MAX;
	struct tophash_batch_op *ops;
	uint32_t i, done = 0, bad = 0;
	uint64_t *keys, v;

	keys = calloc(n, sizeof(*keys));
	ops = calloc(n, sizeof(*ops));
	ASSERT_NE(NULL, keys);
	ASSERT_NE(NULL, ops);
	for (i = 0; i < n; i++) {
		keys[i] = 0x100000000ULL + i * 7919ULL;
		/* the key is its own value */
		ops[i] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_NOEXIST, &keys[i], &keys[i]);
	}
	EXPECT_EQ(0, th_batch(self->fd, ops, n, &done));
	EXPECT_EQ(n, done);
	EXPECT_EQ(n, map_count(self->fd));
	for (i = 0; i < n; i += 97) {
		v = 0;
		bad += th_get64(self->fd, keys[i], &v) || v != keys[i];
	}
	EXPECT_EQ(0, bad);
	free(ops);
	free(keys);
}

/* ---- seeded random workload checked op by op against a model ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A value names its key and the version the model expects. */
struct wval {
	uint64_t key;
	uint64_t version;
};

enum { W_ANY, W_NOEXIST, W_EXIST, W_DELETE, W_LOOKUP };

static const char *const w_name[] = {
	"update ANY", "update NOEXIST", "update EXIST", "delete", "lookup",
};

/* Key bytes of model key @k; its index comes first, so keys are distinct. */
static void wkey(uint32_t k, uint32_t size, uint8_t *key)
{
	uint64_t w[4] = {
		k, k * 0x9e3779b97f4a7c15ULL, ~(uint64_t)k, 0x746f7068617368ULL,
	};

	memcpy(key, w, size);
}

/* TOPHASH_SEED=<n> in the environment replays another seed. */
static uint64_t workload_seed(void)
{
	const char *e = getenv("TOPHASH_SEED");

	return e ? strtoull(e, NULL, 0) : 0x746f7068617368ULL;
}

FIXTURE(WORKLOAD) {
	int fd;
	uint64_t *version;	/* model: each key's value version, 0 = absent */
};

FIXTURE_VARIANT(WORKLOAD) {
	uint32_t key_size;
	uint32_t nkeys;
	uint32_t nops;
	uint32_t drain_every;	/* delete every key each this many ops; 0 = never */
};

FIXTURE_VARIANT_ADD(WORKLOAD, key8) {
	.key_size = 8, .nkeys = 20000, .nops = 200000,
};

/* emptied now and then: the seed is re-drawn, then the map refills */
FIXTURE_VARIANT_ADD(WORKLOAD, key24_drained) {
	.key_size = 24, .nkeys = 10000, .nops = 100000, .drain_every = 30000,
};

/* an odd key size: values start at an odd offset in the bucket */
FIXTURE_VARIANT_ADD(WORKLOAD, key3) {
	.key_size = 3, .nkeys = 2000, .nops = 50000,
};

FIXTURE_SETUP(WORKLOAD)
{
	self->fd = th_create(variant->key_size, sizeof(struct wval), 0);
	ASSERT_LE(0, self->fd);
	self->version = calloc(variant->nkeys, sizeof(*self->version));
	ASSERT_NE(NULL, self->version);
}

FIXTURE_TEARDOWN(WORKLOAD)
{
	free(self->version);
	close(self->fd);
}

/* One random op on key @k, checked against the model; true when it agrees. */
static bool w_step(struct __test_metadata *_metadata, FIXTURE_DATA(WORKLOAD) *self,
		   uint32_t ksize, uint32_t k, int kind, uint64_t version,
		   uint64_t *live, uint32_t op)
{
	static const uint32_t flags[] = { TOPHASH_ANY, TOPHASH_NOEXIST, TOPHASH_EXIST };
	bool present = self->version[k] != 0;
	struct wval v = { .key = k, .version = version }, got;
	uint8_t key[32];
	int r, want;

	wkey(k, ksize, key);
	switch (kind) {
	case W_ANY:
	case W_NOEXIST:
	case W_EXIST:
		want = kind == W_NOEXIST && present ? -EEXIST :
		       kind == W_EXIST && !present ? -ENOENT : 0;
		r = th_put(self->fd, key, &v, flags[kind]);
		if (!want) {
			*live += !present;
			self->version[k] = version;
		}
		break;
	case W_DELETE:
		want = present ? 0 : -ENOENT;
		r = th_del(self->fd, key);
		if (!want) {
			*live -= 1;
			self->version[k] = 0;
		}
		break;
	default:
		want = present ? 0 : -ENOENT;
		memset(&got, 0xa5, sizeof(got));
		r = th_get(self->fd, key, &got);
		if (!r && !want && (got.key != k || got.version != self->version[k])) {
			TH_LOG("op %u: lookup of key %u gave key %llu version %llu, want version %llu",
			       op, k, (unsigned long long)got.key,
			       (unsigned long long)got.version,
			       (unsigned long long)self->version[k]);
			return false;
		}
	}
	if (r != want)
		TH_LOG("op %u: %s of key %u (%s): got %d, want %d", op, w_name[kind],
		       k, present ? "present" : "missing", r, want);
	return r == want;
}

/* Delete every live key, checked; returns the keys that disagreed. */
static uint32_t w_drain(struct __test_metadata *_metadata,
			FIXTURE_DATA(WORKLOAD) *self, uint32_t ksize,
			uint32_t nkeys, uint64_t *live, uint32_t op)
{
	uint32_t k, bad = 0;

	for (k = 0; k < nkeys; k++)
		if (self->version[k] &&
		    !w_step(_metadata, self, ksize, k, W_DELETE, 0, live, op))
			bad++;
	return bad;
}

/* About 30000 ops/s under TCG: the largest variant takes ~10 s. */
TEST_F_TIMEOUT(WORKLOAD, random_ops_match_a_model_op_by_op, 300)
{
	uint64_t rng = workload_seed(), live = 0, full = 0;
	uint32_t i, k, bad = 0, lbad = 0;
	struct timespec t0, t1;
	struct tophash_info in;
	struct th_layout lo;
	uint8_t key[32];
	struct wval got;
	double secs;
	int kind, r;

	ksft_print_msg("%s: seed %#llx, %u ops on %u keys of %u bytes\n",
		       _metadata->name, (unsigned long long)rng, variant->nops,
		       variant->nkeys, variant->key_size);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < variant->nops; i++) {
		uint64_t x = splitmix64(&rng);
		unsigned int pick = (x & 0xffff) % 100;

		k = (x >> 32) % variant->nkeys;
		kind = pick < 30 ? W_ANY : pick < 40 ? W_NOEXIST :
		       pick < 50 ? W_EXIST : pick < 70 ? W_DELETE : W_LOOKUP;
		if (!w_step(_metadata, self, variant->key_size, k, kind, i + 1,
			    &live, i))
			bad++;
		if (variant->drain_every && (i + 1) % variant->drain_every == 0) {
			bad += w_drain(_metadata, self, variant->key_size,
				       variant->nkeys, &live, i);
			ASSERT_EQ(0, th_info(self->fd, &in));
			EXPECT_EQ(0, in.count) TH_LOG("drained at op %u", i);
		}
		if (bad >= 10) {
			TH_LOG("giving up after %u disagreements", bad);
			break;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	ksft_print_msg("%s: %u ops in %.1f s (%.0f ops/s), %llu keys live\n",
		       _metadata->name, i, secs, i / (secs > 0 ? secs : 1),
		       (unsigned long long)live);
	EXPECT_EQ(0, bad) TH_LOG("the map disagreed with the model (seed %#llx)",
				 (unsigned long long)workload_seed());

	/* every key in range, then the count and the full slots */
	for (k = 0; k < variant->nkeys; k++) {
		bool present = self->version[k] != 0;

		wkey(k, variant->key_size, key);
		memset(&got, 0, sizeof(got));
		r = th_get(self->fd, key, &got);
		if (present ? r || got.key != k || got.version != self->version[k] :
			      r != -ENOENT) {
			if (lbad++ < 5)
				TH_LOG("key %u: lookup %d version %llu, want %s version %llu",
				       k, r, (unsigned long long)got.version,
				       present ? "present" : "missing",
				       (unsigned long long)self->version[k]);
		}
	}
	EXPECT_EQ(0, lbad) TH_LOG("%u keys differ from the model at the end", lbad);
	ASSERT_EQ(0, th_info(self->fd, &in));
	EXPECT_EQ(live, in.count);
	ASSERT_EQ(0, th_layout_get(self->fd, &lo));
	for (i = 0; i < lo.nchains; i++)
		for (k = 0; k < lo.chains[i].depth * TOPHASH_BUCKET_SLOTS; k++)
			full += lo.chains[i].top[k] >= TOPHASH_MIN_TOPHASH;
	th_layout_free(&lo);
	EXPECT_EQ(live, full) TH_LOG("full slots in the layout (both tables) vs live keys");
}

/* ---- identity hashing is privileged ---- */

static int caps_get(struct __user_cap_data_struct *d)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	return th_err(syscall(SYS_capget, &h, d));
}

static int caps_set(struct __user_cap_data_struct *d)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	return th_err(syscall(SYS_capset, &h, d));
}

/*
 * The harness runs each test in a child of its own, so dropping
 * CAP_SYS_ADMIN here changes nothing for the other tests.
 */
TEST(identity_hash_without_cap_sys_admin_is_eperm)
{
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { 0 };
	const unsigned int ci = CAP_TO_INDEX(CAP_SYS_ADMIN);
	const uint32_t cm = CAP_TO_MASK(CAP_SYS_ADMIN);
	struct tophash_create c = {
		.size = sizeof(c), .key_size = 8, .value_size = 8,
		.flags = TOPHASH_F_IDENTITY_HASH,
	};
	struct tophash_info in;
	uint64_t v = 0;
	int fd;

	ASSERT_EQ(0, caps_get(d));
	if (!(d[ci].effective & cm))
		SKIP(return, "CAP_SYS_ADMIN is needed to test dropping it");
	/* /dev/tophash is 0600 root: open it while privileged */
	fd = open(TH_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	d[ci].effective &= ~cm;
	d[ci].permitted &= ~cm;
	d[ci].inheritable &= ~cm;
	ASSERT_EQ(0, caps_set(d));
	memset(d, 0, sizeof(d));
	ASSERT_EQ(0, caps_get(d));
	ASSERT_EQ(0, d[ci].effective & cm) TH_LOG("capset left CAP_SYS_ADMIN");

	EXPECT_EQ(-EPERM, th_err(ioctl(fd, TOPHASH_IOC_CREATE, &c)));
	EXPECT_EQ(0, c.id) TH_LOG("a refused create hands out no id");
	/* no map came of it ... */
	EXPECT_EQ(-EINVAL, th_info(fd, &in));
	EXPECT_EQ(-EINVAL, th_put64(fd, 1, 11));
	/* ... and the same file still takes a normal create */
	c.flags = 0;
	ASSERT_EQ(0, th_err(ioctl(fd, TOPHASH_IOC_CREATE, &c)));
	EXPECT_LT(0, c.id);
	ASSERT_EQ(0, th_info(fd, &in));
	EXPECT_EQ(0, in.flags & TOPHASH_INFO_IDENTITY);
	EXPECT_EQ(0, th_put64(fd, 1, 11));
	EXPECT_EQ(0, th_get64(fd, 1, &v));
	EXPECT_EQ(11, v);
	close(fd);
	/* a fresh file is refused too (root still owns the node) */
	EXPECT_EQ(-EPERM, th_create_full(8, 8, 0, 0, TOPHASH_F_IDENTITY_HASH, NULL));
}

TEST_HARNESS_MAIN
