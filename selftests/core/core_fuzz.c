// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness of the map core: the input is a map shape and a
 * sequence of operations; after each, the core is compared with a trivial
 * model (an array of entries): return codes, values, count; every few
 * operations and after every -ENOMEM the whole contents and Go's structural
 * invariants (core_util.h) are checked too. Allocation failures are
 * injected on the input's command, and an operation that failed with
 * -ENOMEM must have changed nothing. After the input the map is destroyed
 * and nothing may stay allocated.
 *
 * Input: byte 0 shape (bit 0 identity hash, else key size 1..12), byte 1
 * value size (bit 7: SipHash instead of the default hash, when not
 * identity), byte 2 size hint, byte 3 max_entries (bit 7 also:
 * TOPHASH_F_SHRINK with threshold 1 + byte 3 % 25), then ops of
 * [opcode, key, argument] bytes (see fz_one_op()).
 */
#include "../../kmod/tophash_core.c"
#include "core_util.h"

#define FZ_KEYS		256	/* key domain: one byte, so ops collide */
#define FZ_MAX_KEY	12
#define FZ_MAX_VAL	16

static struct {
	bool present[FZ_KEYS];
	u8 val[FZ_KEYS][FZ_MAX_VAL];
	unsigned int n;
	bool faults;		/* allocation failures are armed */
} md;

static struct tophash_map *fm;
static u32 fz_ks, fz_vs;
static bool fz_identity;

#define FZ_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "core_fuzz: %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

/*
 * Key number @k as bytes. Identity keys crowd into buckets 0..2 with five
 * tophash values shared by many keys, so chains overflow and key compares
 * decide; other keys differ in their first byte.
 */
static void fz_key(unsigned int k, u8 *key)
{
	unsigned int i;

	if (fz_identity) {
		u64 x = ((u64)(5 + k % 5) << 56) | ((u64)k << 20) | (k % 3);

		memcpy(key, &x, 8);
		return;
	}
	key[0] = k;
	for (i = 1; i < fz_ks; i++)
		key[i] = k * 7 + i;
}

static void fz_val(u8 seed, unsigned int step, u8 *val)
{
	unsigned int i;

	for (i = 0; i < fz_vs; i++)
		val[i] = seed + i * 17 + step * 31;
}

static int fz_walk_chain(void *arg, u32 table, u32 bucket, u32 depth, const u8 *head)
{
	unsigned long *n = arg;

	(void)table;
	(void)bucket;
	FZ_CHECK(depth >= 1 && head, "chain %u depth %u", bucket, depth);
	(*n)++;
	return 0;
}

/* The whole map against the model. */
static void fz_check_all(const char *when)
{
	struct tophash_info in = tu_info(fm);
	unsigned long walked = 0;
	u8 key[FZ_MAX_KEY], val[FZ_MAX_VAL];
	const char *why = tu_check_map(fm);
	unsigned int k;
	u32 B, nchains;

	FZ_CHECK(!why, "%s: %s", when, why);
	FZ_CHECK(in.count == md.n, "%s: count %llu, model %u", when, in.count, md.n);
	for (k = 0; k < FZ_KEYS; k++) {
		int err;

		fz_key(k, key);
		err = tophash_lookup(fm, key, val);
		FZ_CHECK(err == (md.present[k] ? 0 : -ENOENT), "%s: key %u: lookup %d", when, k, err);
		if (!err)
			FZ_CHECK(!memcmp(val, md.val[k], fz_vs), "%s: key %u: value differs", when, k);
	}
	FZ_CHECK(!tophash_walk_layout(fm, fz_walk_chain, &walked, &B, &nchains), "walk");
	FZ_CHECK(walked == nchains && B == in.B, "walk: %lu chains of %u, B %u", walked, nchains, B);
}

static void fz_update(unsigned int k, u8 seed, unsigned int step, u32 flags)
{
	u8 key[FZ_MAX_KEY], val[FZ_MAX_VAL];
	bool had = md.present[k];
	int err, want;

	fz_key(k, key);
	fz_val(seed, step, val);
	err = tophash_update(fm, key, val, flags);
	if (flags == TOPHASH_NOEXIST && had)
		want = -EEXIST;
	else if (flags == TOPHASH_EXIST && !had)
		want = -ENOENT;
	else if (!had && md.n >= fm->max_entries)
		want = -E2BIG;
	else
		want = 0;
	if (err == -ENOMEM && want == 0 && md.faults)
		return;
	FZ_CHECK(err == want, "update %u flags %u: %d, want %d", k, flags, err, want);
	if (!err) {
		md.n += !had;
		md.present[k] = true;
		memcpy(md.val[k], val, fz_vs);
	}
}

static void fz_delete(unsigned int k)
{
	u8 key[FZ_MAX_KEY];
	int err;

	fz_key(k, key);
	err = tophash_delete(fm, key);
	if (err == -ENOMEM && md.present[k] && md.faults)
		return;
	FZ_CHECK(err == (md.present[k] ? 0 : -ENOENT), "delete %u: %d", k, err);
	if (!err) {
		md.present[k] = false;
		md.n--;
	}
}

/*
 * One op from @p: [opcode, key, argument]. Updates (any, noexist, exist),
 * lookups, deletes, a clear, a fill or a drain of a run of keys, a full
 * check, or arming allocation failures.
 */
static void fz_one_op(const u8 *p, unsigned int step)
{
	struct tophash_clear cl = { .size = sizeof(cl) };
	unsigned int j, k = p[1] % FZ_KEYS, op = p[0] % 16;
	unsigned long failures = th_shim_alloc_failures();
	u8 key[FZ_MAX_KEY], got[FZ_MAX_VAL];
	bool had = md.present[k];
	int err;

	fz_key(k, key);
	switch (op) {
	case 0 ... 4:
		fz_update(k, p[2], step, op < 3 ? TOPHASH_ANY :
			  op == 3 ? TOPHASH_NOEXIST : TOPHASH_EXIST);
		break;
	case 5:
	case 6:
	case 15:
		err = tophash_lookup(fm, key, got);
		FZ_CHECK(err == (had ? 0 : -ENOENT), "lookup %u: %d", k, err);
		if (!err)
			FZ_CHECK(!memcmp(got, md.val[k], fz_vs), "lookup %u: value differs", k);
		break;
	case 7 ... 9:
		fz_delete(k);
		break;
	case 10:		/* clear, now and then */
		if (p[2] % 4)
			break;
		err = tophash_clear(fm, &cl);
		if (err == -ENOMEM && md.faults)
			break;
		FZ_CHECK(!err, "clear: %d", err);
		FZ_CHECK(cl.entries == md.n, "clear: %llu entries, model %u", cl.entries, md.n);
		memset(md.present, 0, sizeof(md.present));
		md.n = 0;
		break;
	case 11:		/* fill a run of keys */
		for (j = 0; j <= p[2] % 64u; j++)
			fz_update((k + j) % FZ_KEYS, p[2], step, TOPHASH_ANY);
		break;
	case 12:		/* drain a run of keys */
		for (j = 0; j <= p[2] % 64u; j++)
			fz_delete((k + j) % FZ_KEYS);
		break;
	case 13:		/* a background finisher step, then a full check */
		tophash_finish_step(fm, 1 + p[2] % 8);
		fz_check_all("asked");
		break;
	default:		/* allocation failures: off, the n-th from now, random */
		md.faults = p[1] != 0;
		th_shim_fail_nth(0);
		th_shim_fail_random(0, 0);
		if (p[1] & 0x80)
			th_shim_fail_random((p[1] & 0x7f) * 2000, p[2] + 1);
		else if (p[1])
			th_shim_fail_nth(1 + p[2] % 8);
		return;
	}
	err = (int)tu_info(fm).count;
	FZ_CHECK((unsigned int)err == md.n, "after op %u on key %u: count %d, model %u", op, k, err, md.n);
	if (step % 8 == 7 || th_shim_alloc_failures() != failures)
		fz_check_all("periodic");
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	rcu_register_thread();
	th_rcu_set_batch(8);
	return 0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	unsigned int step;
	size_t off;
	u64 max;
	int err;

	if (size < 4)
		return 0;
	fz_identity = data[0] & 1;
	fz_ks = fz_identity ? 8 : 1 + (data[0] >> 1) % FZ_MAX_KEY;
	fz_vs = 1 + data[1] % FZ_MAX_VAL;
	max = data[3] % 4 ? TOPHASH_DEFAULT_MAX_ENTRIES : 1 + data[3] % 48;
	memset(&md, 0, sizeof(md));
	th_shim_random_seed(0x5eed0000ULL + data[0]);
	th_shim_fail_nth(0);
	th_shim_fail_random(0, 0);
	fm = tu_map_new(fz_ks, fz_vs, (fz_identity ? TOPHASH_F_IDENTITY_HASH :
			 (data[1] & 0x80) ? TOPHASH_F_SIPHASH : 0) |
			(data[3] & 0x80 ? TOPHASH_F_SHRINK : 0),
			data[2] % 80, max, &err);
	if (fm && (data[3] & 0x80))
		fm->shrink_pct = 1 + data[3] % TOPHASH_SHRINK_MAX_PCT;
	FZ_CHECK(fm, "create: %d", err);
	for (off = 4, step = 0; off + 3 <= size; off += 3, step++)
		fz_one_op(data + off, step);
	th_shim_fail_nth(0);
	th_shim_fail_random(0, 0);
	fz_check_all("end");
	rcu_barrier();
	FZ_CHECK(tu_info(fm).bytes == (u64)atomic64_read(&tophash_live_bytes),
		 "info bytes %llu, live %lld", tu_info(fm).bytes, atomic64_read(&tophash_live_bytes));
	tu_map_free(fm);
	fm = NULL;
	FZ_CHECK(!th_shim_live_allocs() && !atomic64_read(&tophash_live_bytes),
		 "%ld allocations live after destroy", th_shim_live_allocs());
	FZ_CHECK(!th_shim_errors(), "shim errors");
	return 0;
}
