/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the userspace tests of the map core share. Included after
 * kmod/tophash_core.c by each test's wrapper, so the tests see the core's
 * static functions and structures (white-box), and after the shim macros
 * for memcpy/memset/memcmp are dropped again: only the core's code goes
 * through the shim's copy rules.
 */
#ifndef _TH_CORE_UTIL_H
#define _TH_CORE_UTIL_H

#undef memcpy
#undef memset
#undef memcmp

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * When set, every map tu_map_new() makes takes the generic path even where
 * a fixed-size one fits (set before any reader can see the map), so that
 * the tests run each path.
 */
static bool tu_generic_path;

/* A map the way tophash_map_new() makes one from @c, less the id allocator. */
static inline struct tophash_map *tu_map_create(const struct tophash_create *c,
						int *errp)
{
	struct tophash_map *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		abort();
	tophash_map_init(m);
	err = tophash_map_create(m, c, 1);
	if (errp)
		*errp = err;
	if (err) {
		tophash_map_destroy(m);
		free(m);
		return NULL;
	}
	if (tu_generic_path)
		m->fast = TH_FAST_NONE;
	return m;
}

static inline struct tophash_map *tu_map_new(u32 key_size, u32 value_size,
					     u32 flags, u64 hint,
					     u64 max_entries, int *errp)
{
	struct tophash_create c = {
		.key_size = key_size, .value_size = value_size,
		.flags = flags, .size_hint = hint,
		.max_entries = max_entries ? max_entries : TOPHASH_DEFAULT_MAX_ENTRIES,
	};

	return tu_map_create(&c, errp);
}

/* Destroy, wait for every RCU callback, free the map object. */
static inline void tu_map_free(struct tophash_map *m)
{
	if (!m)
		return;
	tophash_map_destroy(m);
	rcu_barrier();
	free(m);
}

static inline struct tophash_info tu_info(struct tophash_map *m)
{
	struct tophash_info in = { .size = sizeof(in) };

	tophash_info(m, &in);
	return in;
}

/* The current table, for white-box checks; the caller holds m->lock. */
static inline struct tophash_table *tu_tbl(struct tophash_map *m)
{
	return rcu_dereference_protected(m->tbl, lockdep_is_held(&m->lock));
}

/*
 * Tophash byte of slot @slot of the @depth-th bucket of chain @bucket in the
 * current (@old false) or old array; -1 when there is no such bucket.
 */
static inline int tu_state(struct tophash_map *m, bool old, unsigned long bucket,
			   unsigned int depth, unsigned int slot)
{
	struct tophash_table *t;
	int ret = -1;
	u8 *arr, *b;

	mutex_lock(&m->lock);
	t = tu_tbl(m);
	arr = old ? t->oldbuckets : t->buckets;
	if (!arr || bucket >= (old ? th_noldbuckets(t) : th_nbuckets(t->B)))
		goto out;
	b = th_bucket(m, arr, bucket);
	while (b && depth--)
		b = th_overflow(m, b);
	if (b)
		ret = b[slot];
out:
	mutex_unlock(&m->lock);
	return ret;
}

/* Buckets in chain @bucket of the current or old array (0: none). */
static inline unsigned int tu_depth(struct tophash_map *m, bool old,
				    unsigned long bucket)
{
	unsigned int d = 0;

	while (tu_state(m, old, bucket, d, 0) >= 0)
		d++;
	return d;
}

/* A value that names its key and version and checks both (as in kmod). */
struct tu_val {
	u64 key;
	u64 version;
	u64 check;
};

static inline u64 tu_mix(u64 x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ULL;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dULL;
	return x ^ (x >> 33);
}

static inline void tu_make_val(struct tu_val *v, u64 key, u64 version)
{
	v->key = key;
	v->version = version;
	v->check = tu_mix(key ^ tu_mix(version));
}

static inline bool tu_val_ok(const struct tu_val *v, u64 key)
{
	return v->key == key && v->check == tu_mix(key ^ tu_mix(v->version));
}

static inline u64 tu_rand(u64 *state)
{
	*state += 0x9e3779b97f4a7c15ULL;
	return tu_mix(*state);
}

static inline double tu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Go's invariants of one chain, checked under m->lock: no evacuated mark in
 * the current array; in the old array either every slot of the chain is
 * marked (slot 0 of the primary bucket last, so "primary slot 0 marked"
 * means all) or none; after an emptyRest only emptyRest follows, to the end
 * of the chain; an empty slot's key and value are zero (never written, or
 * zeroed by the delete). Counts full slots into *nfull.
 * Returns NULL or what is wrong.
 */
static inline const char *tu_check_chain(struct tophash_map *m, u8 *head,
					 bool old, u64 *nfull)
{
	bool rest = false, evac = old && th_evacuated(head);
	unsigned int i, k;
	u8 *b;

	for (b = head; b; b = th_overflow(m, b)) {
		for (i = 0; i < TH_SLOTS; i++) {
			u8 s = b[i];
			bool marked = s > TOPHASH_EMPTY_ONE && s < TOPHASH_MIN_TOPHASH;

			if (marked && !old)
				return "evacuated mark in the current array";
			if (old && marked != evac)
				return "old chain partly evacuated";
			if (rest && s != TOPHASH_EMPTY_REST)
				return "a slot after emptyRest is not emptyRest";
			if (s == TOPHASH_EMPTY_REST)
				rest = true;
			if (th_is_empty(s)) {
				for (k = 0; k < m->key_size; k++)
					if (th_key(m, b, i)[k])
						return "empty slot with a key";
				for (k = 0; k < m->value_size; k++)
					if (th_val(m, b, i)[k])
						return "empty slot with a value";
			}
			if (s >= TOPHASH_MIN_TOPHASH)
				(*nfull)++;
		}
	}
	if (evac && th_overflow(m, head))
		return "evacuated old chain still has overflow buckets";
	return NULL;
}

/* Every chain's invariants, count, noverflow, noldoverflow, nevacuate. */
static inline const char *tu_check_map(struct tophash_map *m)
{
	const char *err = NULL;
	struct tophash_table *t;
	unsigned long i, n;
	u64 full = 0, novf = 0, noldovf = 0;
	u8 *b;

	mutex_lock(&m->lock);
	t = tu_tbl(m);
	n = th_nbuckets(t->B);
	for (i = 0; !err && i < n; i++) {
		err = tu_check_chain(m, th_bucket(m, t->buckets, i), false, &full);
		for (b = th_overflow(m, th_bucket(m, t->buckets, i)); b; b = th_overflow(m, b))
			novf++;
	}
	if (t->oldbuckets) {
		for (i = 0; !err && i < th_noldbuckets(t); i++) {
			err = tu_check_chain(m, th_bucket(m, t->oldbuckets, i), true, &full);
			for (b = th_overflow(m, th_bucket(m, t->oldbuckets, i)); b;
			     b = th_overflow(m, b))
				noldovf++;
		}
		if (!err && m->nevacuate > th_noldbuckets(t))
			err = "nevacuate past the old array";
		for (i = 0; !err && i < m->nevacuate; i++)
			if (!th_evacuated(th_bucket(m, t->oldbuckets, i)))
				err = "an old bucket below nevacuate is not evacuated";
	}
	if (!err && full != m->count)
		err = "count differs from the full slots";
	if (!err && novf != m->noverflow)
		err = "noverflow differs from the current array's overflow buckets";
	if (!err && noldovf != m->noldoverflow)
		err = "noldoverflow differs from the old array's overflow buckets";
	mutex_unlock(&m->lock);
	return err;
}

#endif /* _TH_CORE_UTIL_H */
