// SPDX-License-Identifier: GPL-2.0
/*
 * bench/native: the tophash map core (kmod/tophash_core.c, unchanged) built
 * in userspace against selftests/core/shim with -DTH_SHIM_BENCH (libc's
 * memcpy/memcmp, no test hooks, tracepoints compiled in but off, each guarded
 * by a jump label as on x86, lib/siphash.c's siphash_1u64), timed on the key
 * stream and plan of keys.h; with -DNOTRACE too, the same with every
 * tracepoint compiled out (run.sh's tracepoint-cost comparison). 8-byte keys,
 * 8-byte values, no size hint (growth included), updates with
 * TOPHASH_ANY (an upsert, like Go's m[k] = v).
 *
 * Lookups: "lookup_hit"/"lookup_miss" call tophash_lookup(), which takes
 * rcu_read_lock() for each key; "lookup_hit_rcu64"/"lookup_miss_rcu64" call
 * tophash_lookup_rcu() 64 keys per rcu_read_lock() section.
 *
 * A map destroyed after a repetition goes to RCU; rcu_barrier() frees it
 * there, untimed, so a later repetition's timed phase does not pay for an
 * earlier map's teardown (Go's and abseil's teardown is untimed too). RCU
 * callbacks queued by growth inside a timed phase run where the shim runs
 * them (every 64 callbacks, after a grace period): that stays in the time.
 */
#include "../../kmod/tophash_core.c"
#include "keys.h"

#ifdef NOTRACE	/* run.sh's compiled-out build: every tracepoint gone */
#define IMPL		"tophash_notrace"
#else
#define IMPL		"tophash"
#endif
#define RCU_BATCH	64

static struct tophash_map *map_new(void)
{
	struct tophash_create c = {
		.size = sizeof(c),
		.key_size = 8,
		.value_size = 8,
		.size_hint = 0,
		.max_entries = ~0ULL,
	};
	struct tophash_map *m = calloc(1, sizeof(*m));

	if (!m)
		abort();
	tophash_map_init(m);
	if (tophash_map_create(m, &c, 1)) {
		fprintf(stderr, "tophash_map_create failed\n");
		exit(1);
	}
	return m;
}

static void map_free(struct tophash_map *m)
{
	tophash_map_destroy(m);
	rcu_barrier();
	free(m);
}

static void die(const char *what, uint64_t i, int err)
{
	fprintf(stderr, "%s: %s failed at %llu: %d\n", IMPL, what,
		(unsigned long long)i, err);
	exit(1);
}

/*
 * Sum of the values found; *found counts them. One rcu section per key.
 * Inlined into the functions of LOOKUP_HIT_MISS() below, one for the hits
 * and one for the misses, which callgrind counts (run.sh) with their calls.
 */
static inline __attribute__((__always_inline__)) uint64_t lookups(struct tophash_map *m,
			const uint64_t *keys, uint64_t n, uint64_t *found)
{
	uint64_t i, sum = 0, v, f = 0;

	for (i = 0; i < n; i++) {
		if (!tophash_lookup(m, &keys[i], &v)) {
			sum += v;
			f++;
		}
	}
	*found += f;
	return sum;
}

/*
 * Hits where each key's index depends on the value the previous lookup
 * found (@dep is 0 at run time, unknown to the compiler): the CPU cannot
 * start a lookup before the previous one has its value, so lookups never
 * overlap. A diagnostic: per-lookup latency, no memory-level parallelism.
 */
__attribute__((__noinline__)) static uint64_t lookups_dep(struct tophash_map *m, const uint64_t *keys,
			    uint64_t n, uint64_t dep, uint64_t *found)
{
	uint64_t i, sum = 0, v = 0, f = 0;

	for (i = 0; i < n; i++) {
		if (!tophash_lookup(m, &keys[i + (v & dep)], &v)) {
			sum += v;
			f++;
		}
	}
	*found += f;
	return sum;
}

/* The same, RCU_BATCH keys per read-side section. */
static inline __attribute__((__always_inline__)) uint64_t lookups_rcu(struct tophash_map *m,
			const uint64_t *keys, uint64_t n, uint64_t *found)
{
	uint64_t i, j, end, sum = 0, v, f = 0;

	for (i = 0; i < n; i = end) {
		end = i + RCU_BATCH < n ? i + RCU_BATCH : n;
		rcu_read_lock();
		for (j = i; j < end; j++) {
			if (!tophash_lookup_rcu(m, &keys[j], &v)) {
				sum += v;
				f++;
			}
		}
		rcu_read_unlock();
	}
	*found += f;
	return sum;
}

/*
 * The same with tophash_lookup_batch_rcu(), RCU_BATCH keys per call and per
 * read-side section: an API the peers do not have (its rows are not target
 * rows). The values go to a small array; the sum adds those found.
 */
static inline __attribute__((__always_inline__)) uint64_t lookups_batch(struct tophash_map *m,
			const uint64_t *keys, uint64_t n, uint64_t *found)
{
	uint64_t i, j, k, sum = 0, f = 0, vals[RCU_BATCH];
	u8 hit[RCU_BATCH];

	for (i = 0; i < n; i += k) {
		k = n - i < RCU_BATCH ? n - i : RCU_BATCH;
		rcu_read_lock();
		f += tophash_lookup_batch_rcu(m, &keys[i], vals, hit, k);
		rcu_read_unlock();
		for (j = 0; j < k; j++)
			sum += hit[j] ? vals[j] : 0;
	}
	*found += f;
	return sum;
}

/*
 * The writer phases, not inlined either, for callgrind's counts of
 * run.sh's tracepoint-cost comparison: n inserts into @m (from empty when
 * @m is new, growth included), n deletes, @pairs churn pairs.
 */
__attribute__((__noinline__)) static void inserts(struct tophash_map *m, const uint64_t *keys,
			uint64_t n)
{
	uint64_t i;
	int err;

	for (i = 0; i < n; i++) {
		u64 v = keys[i] ^ NB_VALUE_XOR;

		err = tophash_update(m, &keys[i], &v, TOPHASH_ANY);
		if (err)
			die("update", i, err);
	}
}

__attribute__((__noinline__)) static void deletes(struct tophash_map *m, const uint64_t *keys,
			uint64_t n)
{
	uint64_t i;
	int err;

	for (i = 0; i < n; i++) {
		err = tophash_delete(m, &keys[i]);
		if (err)
			die("delete", i, err);
	}
}

/* Insert ring(in), delete ring(out), @pairs times, over a ring of @ring keys. */
__attribute__((__noinline__)) static void churn(struct tophash_map *m, const uint64_t *keys,
			uint64_t pairs, uint64_t ring, uint64_t in, uint64_t out)
{
	uint64_t i;
	int err;

	for (i = 0; i < pairs; i++) {
		u64 v = keys[in] ^ NB_VALUE_XOR;

		err = tophash_update(m, &keys[in], &v, TOPHASH_ANY);
		if (err)
			die("churn update", i, err);
		err = tophash_delete(m, &keys[out]);
		if (err)
			die("churn delete", i, err);
		if (++in == ring)
			in = 0;
		if (++out == ring)
			out = 0;
	}
}

/*
 * The hits and the misses through separate functions (not inlined), each
 * with its own copy of the loop, so that callgrind counts each, and the
 * calls each makes into the map, on its own (run.sh); noipa keeps GCC
 * from folding the identical pair into one.
 */
#define LOOKUP_HIT_MISS(loop)						\
__attribute__((__noinline__, __noipa__)) static uint64_t loop##_hit(	\
		struct tophash_map *m,					\
		const uint64_t *keys, uint64_t n, uint64_t *found)	\
{									\
	return loop(m, keys, n, found);					\
}									\
__attribute__((__noinline__, __noipa__)) static uint64_t loop##_miss(	\
		struct tophash_map *m,					\
		const uint64_t *keys, uint64_t n, uint64_t *found)	\
{									\
	return loop(m, keys, n, found);					\
}
LOOKUP_HIT_MISS(lookups)
LOOKUP_HIT_MISS(lookups_rcu)
LOOKUP_HIT_MISS(lookups_batch)

/* Time and checksum of one timed workload, summed over the repetitions. */
struct phase {
	uint64_t ns, ck;
};

/* The lookup loops main() times, each on the hits and then on the misses. */
static const struct {
	uint64_t (*hit_fn)(struct tophash_map *m, const uint64_t *keys,
			   uint64_t n, uint64_t *found);
	uint64_t (*miss_fn)(struct tophash_map *m, const uint64_t *keys,
			    uint64_t n, uint64_t *found);
	const char *hit, *miss;
} lookup_kinds[] = {
	{ lookups_hit, lookups_miss, "lookup_hit", "lookup_miss" },
	{ lookups_rcu_hit, lookups_rcu_miss, "lookup_hit_rcu64", "lookup_miss_rcu64" },
	{ lookups_batch_hit, lookups_batch_miss, "lookup_hit_batch64",
	  "lookup_miss_batch64" },
};

/*
 * Lookup kind @k on keys 0..n-1 (every one must be found; the checksum is
 * the sum of their values) and then on n..2n-1 (the checksum counts those
 * found).
 */
static void time_lookups(unsigned int k, struct tophash_map *m,
			 const uint64_t *keys, uint64_t n, struct phase *hit,
			 struct phase *miss)
{
	uint64_t found = 0, t0 = nb_now_ns();

	hit->ck += lookup_kinds[k].hit_fn(m, keys, n, &found);
	hit->ns += nb_now_ns() - t0;
	if (found != n)
		die(lookup_kinds[k].hit, found, -ENOENT);

	found = 0;
	t0 = nb_now_ns();
	lookup_kinds[k].miss_fn(m, keys + n, n, &found);
	miss->ns += nb_now_ns() - t0;
	miss->ck += found;
}

#define NKINDS	ARRAY_SIZE(lookup_kinds)

/*
 * -D: memory after a 90% drain (issue 12): as Go's map (never shrinks), with
 * TOPHASH_F_SHRINK at 25% and 40% (finisher steps run until nothing is
 * left, as its work item would, timed as the settle), and fresh with the
 * kept keys only.
 */
static void drain_one(const struct nb_args *a, const uint64_t *keys,
		      const char *name, u32 flags, u32 pct, bool fresh)
{
	struct tophash_create c = {
		.size = sizeof(c), .key_size = 8, .value_size = 8,
		.max_entries = ~0ULL, .flags = flags, .shrink_pct = pct,
	};
	struct tophash_map *m = calloc(1, sizeof(*m));
	struct tophash_info in = { .size = sizeof(in) };
	uint64_t i, t0, ns, settle;
	int err;

	if (!m)
		abort();
	tophash_map_init(m);
	if (tophash_map_create(m, &c, 1))
		die("create", 0, -EINVAL);
	for (i = 0; i < a->n; i++) {
		u64 v = keys[i] ^ NB_VALUE_XOR;

		if (fresh && i % 10)
			continue;
		err = tophash_update(m, &keys[i], &v, TOPHASH_ANY);
		if (err)
			die("update", i, err);
	}
	t0 = nb_now_ns();
	for (i = 0; i < a->n && !fresh; i++) {
		if (!(i % 10))
			continue;
		err = tophash_delete(m, &keys[i]);
		if (err)
			die("delete", i, err);
	}
	ns = nb_now_ns() - t0;
	/* Settle: the evacuations the drain left, as the finisher does them. */
	t0 = nb_now_ns();
	while (tophash_finish_step(m, ~0U))
		;
	rcu_barrier();
	settle = nb_now_ns() - t0;
	tophash_info(m, &in);
	nb_print_drain(IMPL, a, name, in.count, in.bytes, ns, settle);
	map_free(m);
}

int main(int argc, char **argv)
{
	uint64_t t0, reps, r, i, n, pairs, found;
	uint64_t ns_ins = 0, ns_del = 0, ns_dep = 0, ck_dep = 0;
	uint64_t dep = (uint64_t)argc >> 60;	/* 0, unknown to the compiler */
	uint64_t ck_ins = 0, ck_del = 0;
	struct phase hit[NKINDS] = { 0 }, miss[NKINDS] = { 0 };
	struct tophash_map *m;
	unsigned int k;
	struct nb_args a;
	uint64_t *keys;
	siphash_key_t sk = { { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL } };

	nb_parse(argc, argv, &a);
	n = a.n;
	if (a.seed)	/* the same hash seeds in every build given the same -s */
		th_shim_random_seed(a.seed);
	/* The bench build's siphash_1u64() must be the kernel's function. */
	if (siphash_1u64(0x1122334455667788ULL, &sk) !=
	    siphash(&(u64){ 0x1122334455667788ULL }, 8, &sk)) {
		fprintf(stderr, "%s: siphash_1u64 != siphash of 8 bytes\n", IMPL);
		return 1;
	}
	keys = malloc(2 * n * sizeof(*keys));
	if (!keys)
		abort();
	if (a.drain) {
		for (i = 0; i < n; i++)
			keys[i] = nb_key(i);
		rcu_register_thread();
		drain_one(&a, keys, "noshrink", 0, 0, false);
		drain_one(&a, keys, "shrink25", TOPHASH_F_SHRINK, 0, false);
		drain_one(&a, keys, "shrink40", TOPHASH_F_SHRINK, 40, false);
		drain_one(&a, keys, "fresh", 0, 0, true);
		rcu_unregister_thread();
		free(keys);
		return 0;
	}
	for (i = 0; i < 2 * n; i++)
		keys[i] = nb_key(i);
	rcu_register_thread();

	reps = a.target / n ? a.target / n : 1;
	if (a.only_lookups)
		reps = 1;
	for (r = 0; r < reps; r++) {
		m = map_new();
		t0 = nb_now_ns();
		inserts(m, keys, n);
		ns_ins += nb_now_ns() - t0;
		ck_ins += m->count;

		if (a.only_lookups) {	/* for a profiler: lookups only, long */
			uint64_t passes = a.target / n ? a.target / n : 1, p;

			for (p = 0; p < passes; p++) {
				found = 0;
				hit[0].ck += lookups_hit(m, keys, n, &found);
				miss[0].ck += lookups_miss(m, keys + n, n, &found);
			}
			printf("lookups done: %llu\n", (unsigned long long)hit[0].ck);
			map_free(m);
			free(keys);
			rcu_unregister_thread();
			return 0;
		}

		/* -c (core only): the plain lookups, no other kind */
		for (k = 0; k < (a.core_only ? 1 : NKINDS); k++)
			time_lookups(k, m, keys, n, &hit[k], &miss[k]);
		if (a.core_only)
			goto delete;

		found = 0;
		t0 = nb_now_ns();
		ck_dep += lookups_dep(m, keys, n, dep, &found);
		ns_dep += nb_now_ns() - t0;
		if (found != n)
			die("lookup_hit_dep", found, -ENOENT);
delete:
		t0 = nb_now_ns();
		deletes(m, keys, n);
		ns_del += nb_now_ns() - t0;
		ck_del += m->count;
		map_free(m);
	}
	nb_print(IMPL, &a, "insert", reps * n, ns_ins, ck_ins);
	for (k = 0; k < (a.core_only ? 1 : NKINDS); k++) {
		nb_print(IMPL, &a, lookup_kinds[k].hit, reps * n, hit[k].ns,
			 hit[k].ck);
		nb_print(IMPL, &a, lookup_kinds[k].miss, reps * n, miss[k].ns,
			 miss[k].ck);
	}
	if (!a.core_only)
		nb_print(IMPL, &a, "lookup_hit_dep", reps * n, ns_dep, ck_dep);
	nb_print(IMPL, &a, "delete", reps * n, ns_del, ck_del);

	/* churn: n/2 live entries, a sliding window over a ring of 2n keys */
	m = map_new();
	for (i = 0; i < n / 2; i++) {
		u64 v = keys[i] ^ NB_VALUE_XOR;
		int err = tophash_update(m, &keys[i], &v, TOPHASH_ANY);

		if (err)
			die("update", i, err);
	}
	pairs = (a.target > n ? a.target : n) / 2;
	t0 = nb_now_ns();
	churn(m, keys, pairs, 2 * n, n / 2, 0);
	nb_print(IMPL, &a, "churn", 2 * pairs, nb_now_ns() - t0, m->count);
	map_free(m);

	if (th_trace_events) {
		fprintf(stderr, "%s: %lu trace events fired with tracing off\n",
			IMPL, th_trace_events);
		return 1;
	}
	free(keys);
	rcu_unregister_thread();
	return 0;
}
