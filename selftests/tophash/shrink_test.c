// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests of shrinking (TOPHASH_F_SHRINK) and of the background
 * finisher, through /dev/tophash: the create checks, the exact layout of an
 * identity-hash map before and after a shrink, the threshold and the
 * hysteresis to the entry, an idle growth finished with no write, clear
 * and close in the middle of a shrink, and the memory a drain gives back.
 */
#define _GNU_SOURCE
#include <time.h>

#include "kselftest_harness.h"
#include "tophash_util.h"

/* Create a map; @pct is TOPHASH_F_SHRINK's threshold (0: the default). */
static int shrink_create(uint32_t flags, uint32_t pct, uint64_t hint)
{
	struct tophash_create c = {
		.size = sizeof(c), .key_size = 8, .value_size = 8,
		.flags = flags, .size_hint = hint, .shrink_pct = pct,
	};
	int fd = open(TH_DEV, O_RDWR), r;

	if (fd < 0)
		return -errno;
	r = th_err(ioctl(fd, TOPHASH_IOC_CREATE, &c));
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * Wait (up to @ms) for the finisher to end the evacuation in progress and
 * every shrink due after it: deletes during a shrink move none on.
 */
static int wait_not_growing(int fd, unsigned int ms, struct tophash_info *in)
{
	unsigned int t;

	for (t = 0; t <= ms; t += 50) {
		if (th_info(fd, in))
			return -EIO;
		if (!(in->flags & (TOPHASH_INFO_GROWING | TOPHASH_INFO_SHRINK_DUE)))
			return 0;
		sleep_ms(50);
	}
	return -ETIMEDOUT;
}

/* No state: the fixture gives every test a longer timeout (TCG, debug kernels). */
FIXTURE(SHRINK) {
	int unused;
};

FIXTURE_SETUP(SHRINK)
{
}

FIXTURE_TEARDOWN(SHRINK)
{
}

TEST_F_TIMEOUT(SHRINK, create_checks_the_shrink_policy, 300)
{
	struct tophash_info in;
	int fd;

	EXPECT_EQ(-EINVAL, shrink_create(0, 10, 0)) TH_LOG("a threshold without the flag");
	EXPECT_EQ(-EINVAL, shrink_create(TOPHASH_F_SHRINK, TOPHASH_SHRINK_MAX_PCT + 1, 0));
	fd = shrink_create(TOPHASH_F_SHRINK, 0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, th_info(fd, &in));
	EXPECT_EQ(TOPHASH_INFO_SHRINK, in.flags);
	close(fd);
	fd = shrink_create(0, 0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, th_info(fd, &in));
	EXPECT_EQ(0, in.flags) TH_LOG("Go's map never shrinks: the default");
	close(fd);
}

/*
 * Identity hash: old bucket 1 holds 6 keys, old bucket 5 holds 9 (two
 * buckets), the 12 fillers elsewhere go; at 15 entries (< 25% of 8 * 8
 * slots) the shrink to B = 2 starts, and the finisher ends it with no
 * write. New bucket 1 then holds old 1's keys and behind them old 5's, in
 * slot order; the other new buckets are empty.
 */
TEST_F_TIMEOUT(SHRINK, identity_layout_before_and_after_a_shrink, 300)
{
	struct tophash_info in;
	struct th_layout lo;
	struct th_chain *c;
	uint64_t i, v, f[6] = { 0, 2, 3, 4, 6, 7 };
	char s[64];
	int fd;

	fd = shrink_create(TOPHASH_F_SHRINK | TOPHASH_F_IDENTITY_HASH, 0, 0);
	if (fd == -EPERM)
		SKIP(return, "identity hashing needs CAP_SYS_ADMIN");
	ASSERT_LE(0, fd);
	for (i = 0; i < 6; i++)
		ASSERT_EQ(0, th_put64(fd, th_ikey(1, 0x20 + i, i), i));
	for (i = 0; i < 9; i++)
		ASSERT_EQ(0, th_put64(fd, th_ikey(5, 0x40 + i, i), i));
	for (i = 0; i < 12; i++)	/* the 27th key starts the doubling to B = 3 */
		ASSERT_EQ(0, th_put64(fd, th_ikey(f[i % 6], 0x60 + i, i), i));
	ASSERT_EQ(0, wait_not_growing(fd, 10000, &in)) TH_LOG("the finisher ends the doubling");
	ASSERT_EQ(3, in.B);
	for (i = 0; i < 12; i++) {
		ASSERT_EQ(0, th_info(fd, &in));
		ASSERT_EQ(0, in.flags & TOPHASH_INFO_SHRINKING) TH_LOG("count %llu",
								     (unsigned long long)in.count);
		ASSERT_EQ(0, th_del64(fd, th_ikey(f[i % 6], 0x60 + i, i)));
	}
	ASSERT_EQ(0, th_info(fd, &in));
	ASSERT_EQ(15, in.count);
	ASSERT_EQ(TOPHASH_INFO_GROWING | TOPHASH_INFO_SHRINKING | TOPHASH_INFO_SHRINK |
		  TOPHASH_INFO_IDENTITY, in.flags) TH_LOG("the 12th delete starts it");
	ASSERT_EQ(2, in.B);
	ASSERT_EQ(0, th_layout_get(fd, &lo));
	EXPECT_EQ(8 + 4, lo.nchains);
	c = th_layout_chain(&lo, TOPHASH_LAYOUT_OLD, 1);
	ASSERT_NE(NULL, c);
	th_chain_str_bars(c, s, sizeof(s));
	EXPECT_STREQ("######..", s);
	c = th_layout_chain(&lo, TOPHASH_LAYOUT_OLD, 5);
	ASSERT_NE(NULL, c);
	th_chain_str_bars(c, s, sizeof(s));
	EXPECT_STREQ("########|#.......", s);
	th_layout_free(&lo);

	ASSERT_EQ(0, wait_not_growing(fd, 10000, &in)) TH_LOG("the finisher ends the shrink");
	EXPECT_EQ(2, in.B);
	ASSERT_EQ(0, th_layout_get(fd, &lo));
	EXPECT_EQ(4, lo.nchains);
	c = th_layout_chain(&lo, TOPHASH_LAYOUT_NEW, 1);
	ASSERT_NE(NULL, c);
	th_chain_str_bars(c, s, sizeof(s));
	EXPECT_STREQ("########|#######.", s);
	for (i = 0; i < 15; i++)
		EXPECT_EQ(i < 6 ? 0x20 + i : 0x40 + i - 6, c->top[i]) TH_LOG("slot %llu",
									 (unsigned long long)i);
	for (i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		c = th_layout_chain(&lo, TOPHASH_LAYOUT_NEW, i);
		ASSERT_NE(NULL, c);
		th_chain_str_bars(c, s, sizeof(s));
		EXPECT_STREQ("........", s);
	}
	th_layout_free(&lo);
	for (i = 0; i < 9; i++) {
		ASSERT_EQ(0, th_get64(fd, th_ikey(5, 0x40 + i, i), &v));
		EXPECT_EQ(i, v);
	}
	close(fd);
}

/*
 * Default threshold 25%: at B = 5 (256 slots) 64 entries stay, the delete
 * to 63 starts the shrink; back at B = 4, only the 105th entry (over 6.5 *
 * 16) doubles the table again.
 */
TEST_F_TIMEOUT(SHRINK, threshold_and_hysteresis_are_exact, 300)
{
	struct tophash_info in;
	uint64_t k;
	int fd = shrink_create(TOPHASH_F_SHRINK, 0, 0);

	ASSERT_LE(0, fd);
	for (k = 0; k < 105; k++)
		ASSERT_EQ(0, th_put64(fd, k, k));
	ASSERT_EQ(0, wait_not_growing(fd, 10000, &in));
	ASSERT_EQ(5, in.B);
	for (k = 0; k < 41; k++)
		ASSERT_EQ(0, th_del64(fd, k));
	ASSERT_EQ(0, th_info(fd, &in));
	ASSERT_EQ(64, in.count);
	EXPECT_EQ(0, in.flags & TOPHASH_INFO_GROWING);
	ASSERT_EQ(0, th_del64(fd, k));
	ASSERT_EQ(0, th_info(fd, &in));
	EXPECT_EQ(TOPHASH_INFO_GROWING | TOPHASH_INFO_SHRINKING | TOPHASH_INFO_SHRINK, in.flags);
	EXPECT_EQ(4, in.B);
	ASSERT_EQ(0, wait_not_growing(fd, 10000, &in));
	for (k = 1000; in.count < 104; k++) {
		ASSERT_EQ(0, th_put64(fd, k, k));
		ASSERT_EQ(0, th_info(fd, &in));
	}
	EXPECT_EQ(0, in.flags & TOPHASH_INFO_GROWING);
	EXPECT_EQ(4, in.B);
	ASSERT_EQ(0, th_put64(fd, k, k));
	ASSERT_EQ(0, th_info(fd, &in));
	EXPECT_NE(0, in.flags & TOPHASH_INFO_GROWING);
	EXPECT_EQ(0, in.flags & TOPHASH_INFO_SHRINKING);
	EXPECT_EQ(5, in.B);
	close(fd);
}

/*
 * Go's map, once writes stop mid-growth, keeps both arrays for ever. Here
 * the finisher ends an idle doubling of any map, shrinking or not.
 */
TEST_F_TIMEOUT(SHRINK, an_idle_growth_is_finished_without_a_write, 300)
{
	struct tophash_info in;
	uint64_t k, v;
	int fd = shrink_create(0, 0, 0);

	ASSERT_LE(0, fd);
	for (k = 0; k < 1665; k++)	/* over 6.5 * 256: a doubling to B = 9 starts */
		ASSERT_EQ(0, th_put64(fd, k, k));
	ASSERT_EQ(0, th_info(fd, &in));
	ASSERT_NE(0, in.flags & TOPHASH_INFO_GROWING);
	ASSERT_EQ(9, in.B);
	EXPECT_EQ(0, wait_not_growing(fd, 10000, &in));
	for (k = 0; k < 1665; k++) {
		ASSERT_EQ(0, th_get64(fd, k, &v));
		EXPECT_EQ(k, v);
	}
	close(fd);
}

/* A B = 10 map of 8000 keys drained to 2047: a shrink from B = 10 starts. */
static int mid_shrink(struct __test_metadata *_metadata, int fd)
{
	struct tophash_info in;
	uint64_t k;

	for (k = 0; k < 8000; k++)
		EXPECT_EQ(0, th_put64(fd, k, k));
	EXPECT_EQ(0, wait_not_growing(fd, 10000, &in));
	EXPECT_EQ(11, in.B);
	for (k = 0; k < 8000 - 4095; k++)
		EXPECT_EQ(0, th_del64(fd, k));
	EXPECT_EQ(0, th_info(fd, &in));
	EXPECT_NE(0, in.flags & TOPHASH_INFO_SHRINKING);
	return in.flags & TOPHASH_INFO_SHRINKING ? 0 : -1;
}

TEST_F_TIMEOUT(SHRINK, clear_mid_shrink_returns_to_the_hint, 300)
{
	struct tophash_clear cl;
	struct tophash_info in;
	uint64_t v;
	int fd = shrink_create(TOPHASH_F_SHRINK, 0, 100);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mid_shrink(_metadata, fd));
	ASSERT_EQ(0, th_clear(fd, &cl));
	EXPECT_EQ(4095, cl.entries);
	EXPECT_EQ(2048, cl.oldbuckets);
	ASSERT_EQ(0, th_info(fd, &in));
	EXPECT_EQ(0, in.count);
	EXPECT_EQ(4, in.B) TH_LOG("hint 100: 16 buckets");
	EXPECT_EQ(TOPHASH_INFO_SHRINK, in.flags);
	EXPECT_EQ(-ENOENT, th_get64(fd, 7999, &v));
	sleep_ms(1500);	/* the finisher runs, finds nothing, stops */
	ASSERT_EQ(0, th_put64(fd, 1, 1));
	close(fd);
}

/*
 * Closing mid-shrink cancels the finisher and gives every byte back: the
 * module's live bytes come back to (at most) what they were before, which
 * may still include an earlier test's map waiting for its grace period.
 */
TEST_F_TIMEOUT(SHRINK, close_mid_shrink_frees_everything, 300)
{
	long long before, after = -1;
	unsigned int t;
	int fd;

	before = th_read_ll(TH_DBG "/live_bytes");
	if (before < 0)
		SKIP(return, "no debugfs " TH_DBG "/live_bytes");
	fd = shrink_create(TOPHASH_F_SHRINK, 0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mid_shrink(_metadata, fd));
	close(fd);
	/* the arrays go after a grace period */
	for (t = 0; t < 50 && (after < 0 || after > before); t++) {
		sleep_ms(100);
		after = th_read_ll(TH_DBG "/live_bytes");
	}
	EXPECT_LE(0, after);
	EXPECT_LE(after, before);
}

/*
 * The memory a drain gives back: 20000 entries, 90% deleted, the finisher
 * left to end what the deletes started. Bytes per live entry against a
 * fresh map filled with the same 2000 entries: with shrink_pct 40 within
 * 1.5x (the target), with the default 25 within 2.5x (one doubling
 * more, by the hysteresis), without shrinking those of the full map.
 */
TEST_F_TIMEOUT(SHRINK, a_drain_gives_the_memory_back, 300)
{
	static const char *const name[4] = { "shrink_pct 40", "shrink_pct 25",
					     "no shrinking", "fresh" };
	double per[4];
	struct tophash_info in;
	int fd[4], i;
	uint64_t k;

	fd[0] = shrink_create(TOPHASH_F_SHRINK, 40, 0);
	fd[1] = shrink_create(TOPHASH_F_SHRINK, 0, 0);
	fd[2] = shrink_create(0, 0, 0);
	fd[3] = shrink_create(0, 0, 0);
	for (i = 0; i < 4; i++)
		ASSERT_LE(0, fd[i]);
	for (k = 0; k < 20000; k++)
		for (i = 0; i < 3; i++)
			ASSERT_EQ(0, th_put64(fd[i], k, k));
	for (k = 0; k < 20000; k++) {
		if (k % 10 == 0) {
			ASSERT_EQ(0, th_put64(fd[3], k, k));
			continue;
		}
		for (i = 0; i < 3; i++)
			ASSERT_EQ(0, th_del64(fd[i], k));
	}
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, wait_not_growing(fd[i], 60000, &in));
		ASSERT_EQ(2000, in.count);
		per[i] = (double)in.bytes / in.count;
		TH_LOG("%-13s B %2u  %8llu bytes  %6.1f bytes per live entry", name[i],
		       in.B, (unsigned long long)in.bytes, per[i]);
	}
	EXPECT_LE(per[0], 1.5 * per[3]);
	EXPECT_LE(per[1], 2.5 * per[3]);
	EXPECT_GT(per[2], 5 * per[3]) TH_LOG("without the flag nothing comes back");
	for (i = 0; i < 4; i++)
		close(fd[i]);
}

/*
 * thctl load --drain --shrink: fill 20000 keys, delete 90% of them, every
 * result checked against thctl's model; its summary counts the shrinks and
 * its bytes lines fall from the peak to the end.
 */
TEST_F_TIMEOUT(SHRINK, thctl_drain_shows_the_bytes_coming_back, 300)
{
	unsigned long long op, count, bytes, peak = 0, last = 0, shrinks = 0;
	char line[256];
	unsigned int B;
	FILE *f;
	int st;

	if (access("./thctl", X_OK))
		SKIP(return, "no ./thctl (run from /opt/tophash)");
	f = popen("./thctl load --drain --shrink -k 20000 -q 2>&1", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		TH_LOG("%s", line);
		sscanf(line, "  shrinks   %llu", &shrinks);
		if (sscanf(line, "  bytes     at op %llu: count %llu B %u %llu bytes",
			   &op, &count, &B, &bytes) == 4) {
			if (bytes > peak)
				peak = bytes;
			last = bytes;
		}
	}
	st = pclose(f);
	EXPECT_EQ(0, st);
	EXPECT_LT(0, shrinks);
	EXPECT_LT(0, peak);
	EXPECT_LT(last * 2, peak) TH_LOG("peak %llu, end %llu", peak, last);
}

TEST_HARNESS_MAIN
