// SPDX-License-Identifier: GPL-2.0
/*
 * Lockless lookups against a churning writer, in userspace, for
 * ThreadSanitizer and ASan/UBSan builds of the unchanged map core.
 *
 * Reader threads (registered with urcu) look keys up with no lock while
 * this thread writes: inserts, in-place updates, deletes, doubling and
 * same-size growth, reseeding when the map empties, clears. Each value
 * names its key and a version and carries a check word, so a torn value or
 * another key's value is seen; stable keys, present for a whole round, must
 * always be found. Rounds of three kinds repeat with fresh maps:
 *
 *   growth   siphash, 8-byte keys; stable keys updated in place while churn
 *            keys come and go and the map doubles from B=0
 *   crowded  identity hash: clusters of keys in one bucket each, so chains
 *            get overflow buckets and deletes leave them behind (same-size
 *            growth); the stable keys sit deep in one such chain
 *   drain    siphash, 12-byte keys: fill, empty (the seed is re-drawn under
 *            the readers), refill, clear
 *   fixed    growth's work with 8-byte values on the default hash: the
 *            fixed-size paths, with 8-, 16-, 4- and 64-byte keys in turn
 *            (TH_FAST_K8V8, TH_FAST_K16V8, TH_FAST_K4V8, TH_FAST_K64V8)
 *   fixed-crowded  crowded's work with 8-byte values: the fixed-size path
 *            with the identity hash
 *   shrink   TOPHASH_F_SHRINK: stable keys stay while churn keys swell the
 *            map to B=11 and drain it again, so it doubles and shrinks back
 *            to B=8 every cycle; the writer runs the background finisher's
 *            pending work between ops; 8-byte values (the fixed path) and
 *            wide ones (generic) in turn
 *
 * An 8-byte value packs the key index (24 bits), a version (24 bits) and a
 * check of both (16 bits); a wider one is struct tu_val.
 *
 * Exit 0 when every check held, 2 when an invariant failed ("INVARIANT:"
 * lines say which), 1 on a usage or setup error. Sanitizer reports come on
 * top: run with TSAN_OPTIONS=halt_on_error=1:exitcode=66 and the like.
 */
#include <getopt.h>
#include <pthread.h>
#include "../../kmod/tophash_core.c"
#include "core_util.h"

enum { ROUND_GROWTH, ROUND_CROWDED, ROUND_DRAIN, ROUND_FIXED, ROUND_FIXED_CROWDED,
	ROUND_SHRINK, NROUNDS };
static const char *const round_name[NROUNDS] = {
	"growth", "crowded", "drain", "fixed", "fixed-crowded", "shrink"
};
/* The work each round kind does: growth's, crowded's, drain's or shrink's. */
static const int round_plan[NROUNDS] = {
	ROUND_GROWTH, ROUND_CROWDED, ROUND_DRAIN, ROUND_GROWTH, ROUND_CROWDED,
	ROUND_SHRINK
};

#define MAX_READERS	16
#define KEY_MAX		64	/* the longest key a round uses */

/* What a round shares between the writer and its readers. */
struct round {
	int kind;
	int plan;		/* round_plan[kind] */
	struct tophash_map *m;
	u32 key_size;
	u32 value_size;		/* 8, or sizeof(struct tu_val) */
	u64 nkeys;		/* readers look up key indexes [0, nkeys) */
	u64 nstable;		/* indexes [0, nstable) must always be found */
	int stop;
	/* per reader */
	struct reader {
		pthread_t tid;
		struct round *r;
		unsigned int id;
		u64 lookups, hits, bad, missing;
		u64 first_bad_key, first_missing_key;
	} rd[MAX_READERS];
};

static struct {
	double seconds;
	unsigned int readers;
	unsigned int jitter;
	u64 seed;
	bool verbose;
} opt = { .seconds = 3, .readers = 3, .jitter = 1023, .seed = 1 };

/* Totals over all rounds, for the summary and the exit code. */
static struct {
	u64 lookups, hits, bad, missing, ops, rounds[NROUNDS];
	u64 grows, same_size, shrinks, finisher_runs, clears, reseeds, map_errors;
} tot;

/* Index -> key bytes. Identity keys land in cluster (bucket) idx / 64 % 8. */
static void key_of(const struct round *r, u64 idx, u8 *key)
{
	u64 k = idx;

	if (r->plan == ROUND_CROWDED) {
		u64 j = idx & 63, c = (idx >> 6) & 7;

		k = ((u64)(5 + (j * 37) % 200) << 56) | ((j + 1) << 20) | c;
	}
	/* Bytes 8..63, for keys longer than 8 bytes (a 4-byte key is idx). */
	u64 salt = idx * 2654435761u;
	unsigned int w;

	memcpy(key, &k, 8);
	for (w = 8; w < KEY_MAX; w += 8, salt = tu_mix(salt))
		memcpy(key + w, &salt, 8);
}

/* The 8-byte value of key index @idx at @version (see the top comment). */
static u64 val8_make(u64 idx, u64 version)
{
	version &= 0xffffff;
	return idx << 40 | version << 16 | (tu_mix(idx ^ tu_mix(version)) & 0xffff);
}

static bool val8_ok(u64 v, u64 idx)
{
	return v >> 40 == idx && val8_make(idx, (v >> 16) & 0xffffff) == v;
}

/* Is @v (value_size bytes) a whole value of key index @idx? */
static bool val_ok(const struct round *r, const void *v, u64 idx)
{
	if (r->value_size == sizeof(u64))
		return val8_ok(*(const u64 *)v, idx);
	return tu_val_ok(v, idx);
}

#define BATCH	11

/* BATCH random keys through tophash_lookup_batch_rcu(), each checked. */
static void batch_lookup(struct reader *me, u64 *rng)
{
	struct round *r = me->r;
	u8 keys[BATCH * KEY_MAX], key[KEY_MAX], found[BATCH];
	struct tu_val vals[BATCH];	/* room for BATCH values of either size */
	u64 idx[BATCH];
	unsigned int i, hits;

	/* The keys back to back at the map's key size. */
	for (i = 0; i < BATCH; i++) {
		idx[i] = tu_rand(rng) % r->nkeys;
		key_of(r, idx[i], key);
		memcpy(keys + i * r->key_size, key, r->key_size);
	}
	rcu_read_lock();
	hits = tophash_lookup_batch_rcu(r->m, keys, vals, found, BATCH);
	rcu_read_unlock();
	me->lookups += BATCH;
	for (i = 0; i < BATCH; i++) {
		if (!found[i]) {
			if (idx[i] < r->nstable && !me->missing++)
				me->first_missing_key = idx[i];
			continue;
		}
		me->hits++;
		hits--;
		if (!val_ok(r, (u8 *)vals + i * r->value_size, idx[i]) && !me->bad++)
			me->first_bad_key = idx[i];
	}
	if (hits && !me->bad++)	/* the count must match the flags */
		me->first_bad_key = ~0ULL;
}

static void *reader_main(void *arg)
{
	struct reader *me = arg;
	struct round *r = me->r;
	u64 rng = 0x1234567ULL * (me->id + 1) + (u64)r->kind;
	struct tu_val v;
	u8 key[KEY_MAX];

	rcu_register_thread();
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		u64 idx = tu_rand(&rng) % r->nkeys;

		/* Every other reader looks keys up in batches of BATCH. */
		if (me->id & 1) {
			batch_lookup(me, &rng);
			continue;
		}
		key_of(r, idx, key);
		me->lookups++;
		if (tophash_lookup(r->m, key, &v)) {
			if (idx < r->nstable && !me->missing++)
				me->first_missing_key = idx;
			continue;
		}
		me->hits++;
		if (!val_ok(r, &v, idx) && !me->bad++)
			me->first_bad_key = idx;
	}
	rcu_unregister_thread();
	return NULL;
}

static int put_idx(struct round *r, u64 idx, u64 version, u32 flags)
{
	struct tu_val v;
	u64 v8 = val8_make(idx, version);
	u8 key[KEY_MAX];

	key_of(r, idx, key);
	tu_make_val(&v, idx, version);
	return tophash_update(r->m, key, r->value_size == sizeof(u64) ?
			      (void *)&v8 : (void *)&v, flags);
}

static int del_idx(struct round *r, u64 idx)
{
	u8 key[KEY_MAX];

	key_of(r, idx, key);
	return tophash_delete(r->m, key);
}

static void count_event(const char *ev, const void *e)
{
	if (!strcmp(ev, "tophash_grow_start")) {
		tot.grows++;
		tot.same_size += ((const struct th_trace_tophash_grow_class *)e)->same_size;
		tot.shrinks += ((const struct th_trace_tophash_grow_class *)e)->kind ==
			       TOPHASH_GROW_SHRINK;
	} else if (!strcmp(ev, "tophash_delete")) {
		tot.reseeds += !((const struct th_trace_tophash_delete *)e)->count;
	} else if (!strcmp(ev, "tophash_clear")) {
		tot.clears += !((const struct th_trace_tophash_clear *)e)->destroy;
	}
}

/* The writer's work for one round, until @end. Returns ops done. */
static u64 write_round(struct round *r, double end, u64 *rng)
{
	struct tophash_clear cl = { .size = sizeof(cl) };
	u64 ops = 0, phase = 0, i, x;
	const char *why;

	while (tu_now() < end) {
		switch (r->plan) {
		case ROUND_GROWTH:
			for (i = 0; i < 256; i++, ops++) {
				x = tu_rand(rng);
				if (x % r->nkeys < r->nstable || (x >> 32) % 3)
					put_idx(r, x % r->nkeys, ops, TOPHASH_ANY);
				else
					del_idx(r, x % r->nkeys);
			}
			break;
		case ROUND_CROWDED:
			/* Fill one cluster (1..7) and empty it again in another order. */
			x = 64 * (1 + phase % 7);
			for (i = 0; i < 64; i++, ops++)
				put_idx(r, x + i, ops, TOPHASH_ANY);
			for (i = 0; i < r->nstable; i++, ops++)
				put_idx(r, i, ops, TOPHASH_EXIST);
			for (i = 0; i < 64; i++, ops++)
				del_idx(r, x + (i * 37) % 64);
			break;
		case ROUND_SHRINK:
			/* Swell with churn keys, drain them, in a shuffled order. */
			for (i = r->nstable; i < r->nkeys; i++, ops++) {
				put_idx(r, i, ops, TOPHASH_ANY);
				if (i % 64 == 0)
					put_idx(r, i % r->nstable, ops, TOPHASH_EXIST);
			}
			for (i = 0; i < r->nkeys - r->nstable; i++, ops++) {
				del_idx(r, r->nstable + (i * 7919) % (r->nkeys - r->nstable));
				if (i % 16 == 0)
					tot.finisher_runs +=
						th_shim_run_delayed_work(&r->m->finish);
			}
			while (th_shim_run_delayed_work(&r->m->finish))
				tot.finisher_runs++;
			break;
		case ROUND_DRAIN:
			for (i = 0; i < r->nkeys; i++, ops++)
				put_idx(r, i, ops, TOPHASH_ANY);
			for (i = 0; i < r->nkeys; i += 2, ops++)
				put_idx(r, i, ops, TOPHASH_EXIST);
			if (phase % 2 == 1) {
				tophash_clear(r->m, &cl);
				ops++;
				break;
			}
			for (i = 0; i < r->nkeys; i++, ops++)
				del_idx(r, (i * 7919) % r->nkeys);
			break;
		}
		phase++;
		if (phase % 8 == 0 && (why = tu_check_map(r->m))) {
			printf("INVARIANT: map structure: %s (round %s)\n", why, round_name[r->kind]);
			tot.map_errors++;
		}
	}
	return ops;
}

/* One round: a fresh map, readers, the writer until @seconds passed, checks. */
static void run_round(int kind, double seconds, u64 *rng)
{
	static struct round r;
	struct tophash_map *m;
	unsigned int i;
	u64 idx, ops, bad = 0;
	const char *why;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.plan = round_plan[kind];
	r.key_size = r.plan == ROUND_DRAIN ? 12 : 8;
	if (kind == ROUND_FIXED)
		r.key_size = (const u32[]){ 8, 16, 4, 64 }[tot.rounds[kind] % 4];
	r.value_size = kind >= ROUND_FIXED ? sizeof(u64) : sizeof(struct tu_val);
	if (kind == ROUND_SHRINK && tot.rounds[kind] % 2)
		r.value_size = sizeof(struct tu_val);
	switch (r.plan) {
	case ROUND_SHRINK:
		r.nkeys = 256 + 8192;
		r.nstable = 256;
		m = tu_map_new(8, r.value_size, TOPHASH_F_SHRINK, 0, 0, NULL);
		break;
	case ROUND_GROWTH:
		r.nkeys = 256 + 8192;
		r.nstable = 256;
		m = tu_map_new(r.key_size, r.value_size, 0, 0, 0, NULL);
		break;
	case ROUND_CROWDED:
		r.nkeys = 512;
		r.nstable = 24;	/* cluster 0: three buckets deep */
		m = tu_map_new(8, r.value_size, TOPHASH_F_IDENTITY_HASH, 64, 0, NULL);
		break;
	default:
		r.nkeys = 600;
		r.nstable = 0;
		m = tu_map_new(12, r.value_size, 0, 0, 0, NULL);
		break;
	}
	if (!m) {
		fprintf(stderr, "core_stress: map create failed\n");
		exit(1);
	}
	if (kind == ROUND_SHRINK ?
	    m->fast != th_fast_path(r.key_size, r.value_size, 0) :
	    m->fast != (kind >= ROUND_FIXED ? th_fast_path(r.key_size, r.value_size, 0) :
			TH_FAST_NONE) || (kind >= ROUND_FIXED && m->fast == TH_FAST_NONE)) {
		fprintf(stderr, "core_stress: round %s took the wrong path\n",
			round_name[kind]);
		exit(1);
	}
	r.m = m;
	for (idx = 0; idx < r.nstable; idx++)
		if (put_idx(&r, idx, 0, TOPHASH_NOEXIST)) {
			fprintf(stderr, "core_stress: prefill failed\n");
			exit(1);
		}
	for (i = 0; i < opt.readers; i++) {
		r.rd[i].r = &r;
		r.rd[i].id = i;
		if (pthread_create(&r.rd[i].tid, NULL, reader_main, &r.rd[i])) {
			fprintf(stderr, "core_stress: pthread_create failed\n");
			exit(1);
		}
	}
	ops = write_round(&r, tu_now() + seconds, rng);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < opt.readers; i++) {
		struct reader *rd = &r.rd[i];

		pthread_join(rd->tid, NULL);
		tot.lookups += rd->lookups;
		tot.hits += rd->hits;
		tot.bad += rd->bad;
		tot.missing += rd->missing;
		if (rd->bad)
			printf("INVARIANT: torn or foreign value: %llu in round %s (first key index %llu)\n",
			       rd->bad, round_name[kind], rd->first_bad_key);
		if (rd->missing)
			printf("INVARIANT: missing stable key: %llu in round %s (first key index %llu)\n",
			       rd->missing, round_name[kind], rd->first_missing_key);
	}
	for (idx = 0; idx < r.nstable; idx++) {
		struct tu_val v;
		u8 key[KEY_MAX];

		key_of(&r, idx, key);
		bad += tophash_lookup(m, key, &v) || !val_ok(&r, &v, idx);
	}
	if (bad) {
		printf("INVARIANT: missing stable key: %llu after round %s\n", bad, round_name[kind]);
		tot.missing += bad;
	}
	why = tu_check_map(m);
	if (why) {
		printf("INVARIANT: map structure: %s after round %s\n", why, round_name[kind]);
		tot.map_errors++;
	}
	tot.ops += ops;
	tot.rounds[kind]++;
	if (opt.verbose)
		printf("round %-7s ops %8llu  B %u  gen %llu\n", round_name[kind], ops,
		       tu_info(m).B, tu_info(m).generation);
	tu_map_free(m);
	if (th_shim_live_allocs()) {
		printf("INVARIANT: %ld allocations live after destroy + rcu_barrier\n",
		       th_shim_live_allocs());
		tot.map_errors++;
	}
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-t SECONDS] [-r READERS] [-j JITTER_MASK] [-s SEED] [-v]\n"
		"  -t  total run time (default 3)\n"
		"  -r  reader threads (default 3, at most %d)\n"
		"  -j  yield or spin at 1 in JITTER_MASK+1 publication points (default 1023, 0 off)\n"
		"  -s  writer's random seed (default 1)\n", prog, MAX_READERS);
	exit(1);
}

int main(int argc, char **argv)
{
	double per_round, start;
	u64 rng;
	int c, kind;

	while ((c = getopt(argc, argv, "t:r:j:s:v")) != -1) {
		switch (c) {
		case 't':
			opt.seconds = atof(optarg);
			break;
		case 'r':
			opt.readers = atoi(optarg);
			break;
		case 'j':
			opt.jitter = strtoul(optarg, NULL, 0);
			break;
		case 's':
			opt.seed = strtoull(optarg, NULL, 0);
			break;
		case 'v':
			opt.verbose = true;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (opt.readers < 1 || opt.readers > MAX_READERS || opt.seconds <= 0)
		usage(argv[0]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	rng = opt.seed;
	th_shim_jitter_mask = opt.jitter;
	th_trace_hook = count_event;
	rcu_register_thread();
	per_round = opt.seconds / 24;	/* 4 rounds of each kind: every fixed key size */
	start = tu_now();
	/* Until the time is up and every fixed key size had its round. */
	for (kind = 0; tu_now() - start < opt.seconds || tot.rounds[ROUND_FIXED] < 4;
	     kind = (kind + 1) % NROUNDS)
		run_round(kind, per_round, &rng);
	rcu_unregister_thread();
	printf("core_stress: rounds growth %llu crowded %llu drain %llu fixed %llu "
	       "fixed-crowded %llu shrink %llu; writer ops %llu "
	       "(grows %llu, same-size %llu, shrinks %llu, finisher runs %llu, reseeds %llu, "
	       "clears %llu); reader lookups %llu "
	       "(hits %llu); torn/foreign %llu, missing stable %llu, map errors %llu, shim errors %lu\n",
	       tot.rounds[0], tot.rounds[1], tot.rounds[2], tot.rounds[3], tot.rounds[4],
	       tot.rounds[5], tot.ops, tot.grows, tot.same_size, tot.shrinks,
	       tot.finisher_runs, tot.reseeds, tot.clears, tot.lookups, tot.hits, tot.bad,
	       tot.missing, tot.map_errors, th_shim_errors());
	if (!tot.lookups || !tot.grows || !tot.same_size || !tot.reseeds || !tot.clears ||
	    !tot.shrinks || !tot.rounds[ROUND_SHRINK] ||
	    tot.rounds[ROUND_FIXED] < 4 || !tot.rounds[ROUND_FIXED_CROWDED]) {
		printf("INVARIANT: the run did not exercise every path\n");
		return 2;
	}
	if (tot.bad || tot.missing || tot.map_errors || th_shim_errors())
		return 2;
	printf("core_stress: PASS\n");
	return 0;
}
