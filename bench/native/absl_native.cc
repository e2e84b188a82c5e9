// SPDX-License-Identifier: GPL-2.0
/*
 * bench/native: abseil's absl::flat_hash_map<uint64_t, uint64_t> (Swiss
 * table, absl::Hash) on the key stream and plan of keys.h. Built with
 * -O2 -DNDEBUG. m[k] = v for inserts (an upsert, like Go's), find() for
 * lookups, erase(k) for deletes; default-constructed maps (growth included).
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/container/flat_hash_map.h"

extern "C" {
#include "keys.h"
}

using Map = absl::flat_hash_map<uint64_t, uint64_t>;

static const char *const kImpl = "abseil";

static inline __attribute__((always_inline)) uint64_t lookups(const Map &m,
							      const uint64_t *keys,
							      uint64_t n, uint64_t *found)
{
	uint64_t sum = 0, f = 0;

	for (uint64_t i = 0; i < n; i++) {
		auto it = m.find(keys[i]);

		if (it != m.end()) {
			sum += it->second;
			f++;
		}
	}
	*found += f;
	return sum;
}

/*
 * The phases callgrind counts (run.sh), one function each, none inlined:
 * instructions per operation are a function's inclusive count over the
 * operations it did. noipa keeps GCC from folding the two identical
 * lookup functions into one.
 */
__attribute__((noinline, noipa)) static uint64_t lookups_hit(const Map &m,
							     const uint64_t *keys,
							     uint64_t n, uint64_t *found)
{
	return lookups(m, keys, n, found);
}

__attribute__((noinline, noipa)) static uint64_t lookups_miss(const Map &m,
							      const uint64_t *keys,
							      uint64_t n, uint64_t *found)
{
	return lookups(m, keys, n, found);
}

__attribute__((noinline)) static void inserts(Map &m, const uint64_t *keys, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		m[keys[i]] = keys[i] ^ NB_VALUE_XOR;
}

__attribute__((noinline)) static void deletes(Map &m, const uint64_t *keys, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		m.erase(keys[i]);
}

/* Insert ring(in), delete ring(out), @pairs times, over a ring of @ring keys. */
__attribute__((noinline)) static void churn(Map &m, const uint64_t *keys, uint64_t pairs,
					    uint64_t ring, uint64_t in, uint64_t out)
{
	for (uint64_t i = 0; i < pairs; i++) {
		m[keys[in]] = keys[in] ^ NB_VALUE_XOR;
		m.erase(keys[out]);
		if (++in == ring)
			in = 0;
		if (++out == ring)
			out = 0;
	}
}

/* keys.h / tophash_native.c: each key's index depends on the last value. */
__attribute__((noinline)) static uint64_t lookups_dep(const Map &m,
						      const uint64_t *keys,
						      uint64_t n, uint64_t dep,
						      uint64_t *found)
{
	uint64_t sum = 0, f = 0, v = 0;

	for (uint64_t i = 0; i < n; i++) {
		auto it = m.find(keys[i + (v & dep)]);

		if (it != m.end()) {
			v = it->second;
			sum += v;
			f++;
		}
	}
	*found += f;
	return sum;
}

/*
 * -D: memory after a 90% drain. erase() never shrinks a flat_hash_map: its
 * backing array is capacity() slots of the pair plus a control byte each
 * and one group of control bytes more (raw_hash_set's AllocSize, less
 * alignment).
 */
static void drain(const struct nb_args *a, const std::vector<uint64_t> &keys)
{
	for (int fresh = 0; fresh < 2; fresh++) {
		Map m;
		uint64_t t0, ns;

		for (uint64_t i = 0; i < a->n; i++)
			if (!fresh || !(i % 10))
				m[keys[i]] = keys[i] ^ NB_VALUE_XOR;
		t0 = nb_now_ns();
		for (uint64_t i = 0; i < a->n && !fresh; i++)
			if (i % 10)
				m.erase(keys[i]);
		ns = nb_now_ns() - t0;
		nb_print_drain(kImpl, a, fresh ? "fresh" : "noshrink", m.size(),
			       m.capacity() * (sizeof(Map::value_type) + 1) + 16, ns,
			       0);
	}
}

int main(int argc, char **argv)
{
	struct nb_args a;

	nb_parse(argc, argv, &a);
	const uint64_t n = a.n;
	std::vector<uint64_t> keys(2 * n);

	for (uint64_t i = 0; i < 2 * n; i++)
		keys[i] = nb_key(i);
	if (a.drain) {
		drain(&a, keys);
		return 0;
	}

	uint64_t reps = a.target / n ? a.target / n : 1;
	uint64_t ns_ins = 0, ns_hit = 0, ns_miss = 0, ns_del = 0;
	uint64_t ck_ins = 0, ck_hit = 0, ck_miss = 0, ck_del = 0;
	uint64_t ns_dep = 0, ck_dep = 0;
	const uint64_t dep = (uint64_t)argc >> 60;	/* 0, unknown to the compiler */

	for (uint64_t r = 0; r < reps; r++) {
		Map m;
		uint64_t t0 = nb_now_ns(), found;

		inserts(m, keys.data(), n);
		ns_ins += nb_now_ns() - t0;
		ck_ins += m.size();

		found = 0;
		t0 = nb_now_ns();
		ck_hit += lookups_hit(m, keys.data(), n, &found);
		ns_hit += nb_now_ns() - t0;
		if (found != n) {
			fprintf(stderr, "%s: lookup_hit found %llu of %llu\n", kImpl,
				(unsigned long long)found, (unsigned long long)n);
			return 1;
		}

		found = 0;
		t0 = nb_now_ns();
		lookups_miss(m, keys.data() + n, n, &found);
		ns_miss += nb_now_ns() - t0;
		ck_miss += found;

		found = 0;
		t0 = nb_now_ns();
		ck_dep += lookups_dep(m, keys.data(), n, dep, &found);
		ns_dep += nb_now_ns() - t0;
		if (found != n) {
			fprintf(stderr, "%s: lookup_hit_dep found %llu of %llu\n", kImpl,
				(unsigned long long)found, (unsigned long long)n);
			return 1;
		}

		t0 = nb_now_ns();
		deletes(m, keys.data(), n);
		ns_del += nb_now_ns() - t0;
		ck_del += m.size();
	}
	nb_print(kImpl, &a, "insert", reps * n, ns_ins, ck_ins);
	nb_print(kImpl, &a, "lookup_hit", reps * n, ns_hit, ck_hit);
	nb_print(kImpl, &a, "lookup_miss", reps * n, ns_miss, ck_miss);
	nb_print(kImpl, &a, "lookup_hit_dep", reps * n, ns_dep, ck_dep);
	nb_print(kImpl, &a, "delete", reps * n, ns_del, ck_del);

	Map m;
	for (uint64_t i = 0; i < n / 2; i++)
		m[keys[i]] = keys[i] ^ NB_VALUE_XOR;
	uint64_t pairs = (a.target > n ? a.target : n) / 2;
	uint64_t t0 = nb_now_ns();

	churn(m, keys.data(), pairs, 2 * n, n / 2, 0);
	nb_print(kImpl, &a, "churn", 2 * pairs, nb_now_ns() - t0, m.size());
	return 0;
}
