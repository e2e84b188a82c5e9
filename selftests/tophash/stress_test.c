// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency stress of tophash's lockless lookups, run in the guest with
 * 2+ vCPUs: reader threads hammer TOPHASH_IOC_LOOKUP while a writer churns
 * the same map through growth, in-place updates, deletes and clears; and
 * the in-kernel test module (tophash_selftest.ko) whose readers include a
 * timer in softirq context. Values carry their key, a version and a check
 * word, so torn and foreign values are detected; stable keys must never
 * miss. Durations: TOPHASH_STRESS_MS (default 3000) per phase.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>

#include "kselftest_harness.h"
#include "tophash_util.h"

#define NSTABLE		256
#define NCHURN		4096
/*
 * The keys a swell and drain inserts and deletes: 256 + 1024 entries take
 * the map to B = 8, whose shrink is due below 512. A cycle is ~1800 writer
 * ops, which a KCSAN guest under TCG makes in about 7 s.
 */
#define SWELL		1024
#define NREADERS	2

struct sval {
	uint64_t key;
	uint64_t version;
	uint64_t check;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ULL;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dULL;
	return x ^ (x >> 33);
}

static void make_val(struct sval *v, uint64_t key, uint64_t version)
{
	v->key = key;
	v->version = version;
	v->check = mix(key ^ mix(version));
}

static int val_ok(const struct sval *v, uint64_t key)
{
	return v->key == key && v->check == mix(key ^ mix(v->version));
}

static uint64_t rnd(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ULL;
	return mix(*s);
}

static unsigned int stress_ms(void)
{
	const char *e = getenv("TOPHASH_STRESS_MS");

	return e ? (unsigned int)atoi(e) : 3000;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

struct shared {
	int fd;
	uint64_t nstable;	/* keys below this must always be found */
	int swell_drain;	/* insert every churn key, delete them all, again */
	atomic_int stop;
	atomic_ullong lookups, hits, torn, missing, errors;
};

static void *reader(void *arg)
{
	struct shared *sh = arg;
	uint64_t s = (uint64_t)pthread_self();
	struct sval v;

	while (!atomic_load(&sh->stop)) {
		uint64_t key = rnd(&s) % (NSTABLE + NCHURN);
		int r = th_get(sh->fd, &key, &v);

		atomic_fetch_add(&sh->lookups, 1);
		if (r == 0) {
			atomic_fetch_add(&sh->hits, 1);
			if (!val_ok(&v, key))
				atomic_fetch_add(&sh->torn, 1);
		} else if (r == -ENOENT) {
			if (key < sh->nstable)
				atomic_fetch_add(&sh->missing, 1);
		} else {
			atomic_fetch_add(&sh->errors, 1);
		}
	}
	return NULL;
}

/*
 * Run readers against @sh->fd while the writer does @ms of churn; with
 * @clear_every, the map is cleared that often (then no key is stable).
 */
static void run_stress(struct __test_metadata *_metadata, struct shared *sh,
		       unsigned int clear_every)
{
	pthread_t th[NREADERS];
	uint64_t s = 99, ops = 0, end, cap, smaller = 0;
	struct tophash_info in0, in, now;
	uint32_t lastB = 0;
	struct tophash_clear cl;
	struct sval v;
	uint64_t k;
	int i;

	for (k = 0; k < sh->nstable; k++) {
		make_val(&v, k, 0);
		ASSERT_EQ(0, th_put(sh->fd, &k, &v, TOPHASH_NOEXIST));
	}
	ASSERT_EQ(0, th_info(sh->fd, &in0));
	for (i = 0; i < NREADERS; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, reader, sh));
	end = now_ms() + stress_ms();
	/* A swell and drain goes on (up to 10 times longer) until B went down. */
	cap = now_ms() + 10ULL * stress_ms();
	while (now_ms() < end || (sh->swell_drain && !smaller && now_ms() < cap)) {
		uint64_t r = rnd(&s);

		k = r % (NSTABLE + NCHURN);
		if (sh->swell_drain) {
			/* pass 2n inserts churn key i, pass 2n + 1 deletes it */
			k = NSTABLE + ops % SWELL;
			r = (ops / SWELL) % 2 ? 0 : 1;
			if (ops % 16 == 0)	/* and the stable keys change value */
				k = ops / 16 % NSTABLE;
		}
		make_val(&v, k, ops);
		ops++;
		if (k < NSTABLE || (r >> 32) % 3 || (sh->swell_drain && r)) {
			EXPECT_EQ(0, th_put(sh->fd, &k, &v, TOPHASH_ANY));
		} else {
			th_del(sh->fd, &k);
		}
		if (clear_every && ops % clear_every == 0) {
			EXPECT_EQ(0, th_clear(sh->fd, &cl));
		}
		if (sh->swell_drain && ops % 256 == 0 && !th_info(sh->fd, &now)) {
			smaller += now.B < lastB;
			lastB = now.B;
		}
	}
	atomic_store(&sh->stop, 1);
	for (i = 0; i < NREADERS; i++)
		pthread_join(th[i], NULL);
	ASSERT_EQ(0, th_info(sh->fd, &in));
	TH_LOG("writer ops %llu, lookups %llu (hits %llu), torn/foreign %llu, missing stable %llu, B %u, generations %llu",
	       (unsigned long long)ops, atomic_load(&sh->lookups),
	       atomic_load(&sh->hits), atomic_load(&sh->torn),
	       atomic_load(&sh->missing), in.B,
	       (unsigned long long)(in.generation - in0.generation));
	EXPECT_EQ(0, atomic_load(&sh->torn));
	EXPECT_EQ(0, atomic_load(&sh->missing));
	EXPECT_EQ(0, atomic_load(&sh->errors));
	EXPECT_LT(0, atomic_load(&sh->lookups));
	if (sh->swell_drain) {
		TH_LOG("B went down %llu times", (unsigned long long)smaller);
		EXPECT_LT(0, smaller);
	}
	/* the map changed arrays while the readers ran */
	EXPECT_LT(in0.generation, in.generation);
	for (k = 0; !clear_every && k < sh->nstable; k++) {
		ASSERT_EQ(0, th_get(sh->fd, &k, &v));
		ASSERT_TRUE(val_ok(&v, k));
	}
}

TEST(device_readers_see_no_torn_values_while_the_map_grows)
{
	struct shared sh = { .nstable = NSTABLE };

	sh.fd = th_create(8, sizeof(struct sval), 0);
	ASSERT_LE(0, sh.fd);
	run_stress(_metadata, &sh, 0);
	close(sh.fd);
}

/*
 * TOPHASH_F_SHRINK: SWELL churn keys come and all go again, so the map
 * doubles up to B = 8 and shrinks back while the readers look (and the
 * finisher may move an evacuation on between the writer's ops). The writer
 * goes on past TOPHASH_STRESS_MS (up to ten times) until B went down: on
 * the KCSAN guest 3 s were 728 writer ops, not one whole swell of the 4096
 * keys it used, and the test failed with "B went down 0 times".
 */
TEST(device_readers_see_no_torn_values_while_the_map_shrinks)
{
	struct shared sh = { .nstable = NSTABLE, .swell_drain = 1 };
	struct tophash_create c = {
		.size = sizeof(c), .key_size = 8, .value_size = sizeof(struct sval),
		.flags = TOPHASH_F_SHRINK,
	};
	struct tophash_info in;

	sh.fd = open(TH_DEV, O_RDWR);
	ASSERT_LE(0, sh.fd);
	ASSERT_EQ(0, th_err(ioctl(sh.fd, TOPHASH_IOC_CREATE, &c)));
	run_stress(_metadata, &sh, 0);
	ASSERT_EQ(0, th_info(sh.fd, &in));
	EXPECT_NE(0, in.flags & TOPHASH_INFO_SHRINK);
	close(sh.fd);
}

TEST(device_readers_see_no_torn_values_across_clears)
{
	struct shared sh = { .nstable = 0 };

	sh.fd = th_create(8, sizeof(struct sval), 0);
	ASSERT_LE(0, sh.fd);
	run_stress(_metadata, &sh, 3000);
	close(sh.fd);
}

/* tophash_selftest.ko runs its tests in init and fails to load if any fail. */
TEST(in_kernel_readers_in_kthreads_and_softirq)
{
	const char *ko = getenv("TOPHASH_SELFTEST_KO");
	char params[64];
	int r;

	if (!ko)
		SKIP(return, "TOPHASH_SELFTEST_KO (path of tophash_selftest.ko) not set");
	snprintf(params, sizeof(params), "duration_ms=%u", stress_ms());
	r = th_load_module(ko, params);
	EXPECT_EQ(0, r) {
		TH_LOG("tophash_selftest.ko failed; its report is in the kernel log");
	}
	if (r == 0)
		EXPECT_EQ(0, th_unload_module("tophash_selftest"));
}

TEST_HARNESS_MAIN
