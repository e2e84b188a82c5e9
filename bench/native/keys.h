/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The key stream and the work plan every native driver shares (the Go
 * driver, go_native.go, restates both; bench/native/run.sh checks that all
 * three print the same checksums):
 *
 *   key(i) = splitmix64 finalizer of (i + 1) * 0x9e3779b97f4a7c15, i.e. the
 *            (i+1)-th output of splitmix64 seeded with 0. The finalizer is a
 *            bijection and the multiplier odd, so keys of distinct i < 2^64
 *            are distinct.
 *   hits:    key(0) .. key(n-1); misses: key(n) .. key(2n-1) (disjoint).
 *   value:   key ^ 0x5555555555555555.
 *
 * The plan for n entries and a target of T operations per measurement:
 *   reps   = max(1, T / n) fresh maps; on each: insert the n hits (timed),
 *            look every hit up (timed), every miss (timed), every hit again
 *            with each key's index depending on the value found before it
 *            ("lookup_hit_dep", timed: lookups cannot overlap), delete every
 *            hit (timed). Per-operation times are total time / (reps * n).
 *   churn  = one map holding the hits key(0) .. key(n/2-1), then
 *            max(n, T) / 2 pairs "insert ring(j + n/2), delete ring(j)"
 *            (timed), where ring(j) = key(j mod 2n): the map holds n/2
 *            entries throughout; ops = 2 * pairs.
 *
 * -c leaves out the rcu64 and dependent-chain lookups, and -s SEED fixes the
 * tophash map's random bytes (its hash seeds): run.sh's tracepoint-cost runs
 * use both, so the two tophash builds compared do identical work.
 */
#ifndef _BENCH_NATIVE_KEYS_H
#define _BENCH_NATIVE_KEYS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NB_GOLDEN	0x9e3779b97f4a7c15ULL
#define NB_VALUE_XOR	0x5555555555555555ULL

static inline uint64_t nb_key(uint64_t i)
{
	uint64_t z = (i + 1) * NB_GOLDEN;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t nb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct nb_args {
	uint64_t n;		/* entries */
	uint64_t target;	/* operations per measurement, at least */
	const char *run;	/* run label, echoed */
	int only_lookups;	/* -l: insert once, lookups only (profiling) */
	int core_only;		/* -c: no rcu64 or dependent-chain lookups */
	uint64_t seed;		/* -s: random-bytes seed (tophash), 0: random */
	int drain;		/* -D: memory after a 90% drain, nothing else */
};

static inline void nb_usage(const char *prog)
{
	fprintf(stderr, "usage: %s -n ENTRIES [-t TARGET_OPS] [-r RUN] [-l] [-c] [-s SEED] [-D]\n",
		prog);
	exit(2);
}

static inline void nb_parse(int argc, char **argv, struct nb_args *a)
{
	int i;

	a->n = 0;
	a->target = 4000000;
	a->run = "0";
	a->only_lookups = 0;
	a->core_only = 0;
	a->seed = 0;
	a->drain = 0;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			a->n = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "-t") && i + 1 < argc)
			a->target = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "-r") && i + 1 < argc)
			a->run = argv[++i];
		else if (!strcmp(argv[i], "-l"))
			a->only_lookups = 1;
		else if (!strcmp(argv[i], "-c"))
			a->core_only = 1;
		else if (!strcmp(argv[i], "-D"))
			a->drain = 1;
		else if (!strcmp(argv[i], "-s") && i + 1 < argc)
			a->seed = strtoull(argv[++i], NULL, 0);
		else
			nb_usage(argv[0]);
	}
	if (a->n < 2)
		nb_usage(argv[0]);
}

/* One result line: the format bench/mkresults.py --native reads. */
static inline void nb_print(const char *impl, const struct nb_args *a,
			    const char *workload, uint64_t ops, uint64_t ns,
			    uint64_t check)
{
	printf("native: impl=%s n=%llu run=%s workload=%s ops=%llu ns=%llu "
	       "nsop=%.3f check=%016llx\n", impl, (unsigned long long)a->n,
	       a->run, workload, (unsigned long long)ops,
	       (unsigned long long)ns, (double)ns / (double)ops,
	       (unsigned long long)check);
	fflush(stdout);
}

/*
 * -D: one map's memory after keys 0..n-1 went in and 9 in 10 of them
 * (i % 10 != 0) went out again, in key order; "fresh" maps hold the kept
 * keys only. @bytes is the map's own count or its allocator's.
 */
static inline void nb_print_drain(const char *impl, const struct nb_args *a,
				  const char *map, uint64_t live, uint64_t bytes,
				  uint64_t delete_ns, uint64_t settle_ns)
{
	printf("native-drain: impl=%s n=%llu map=%s live=%llu bytes=%llu "
	       "bytes_per_entry=%.2f delete_ns=%llu settle_ns=%llu\n", impl,
	       (unsigned long long)a->n, map, (unsigned long long)live,
	       (unsigned long long)bytes, live ? (double)bytes / live : 0.0,
	       (unsigned long long)delete_ns, (unsigned long long)settle_ns);
	fflush(stdout);
}

#endif /* _BENCH_NATIVE_KEYS_H */
