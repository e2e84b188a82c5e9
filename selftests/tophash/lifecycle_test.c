// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests of map and module lifetime: ids, independence of maps, module
 * references held by open maps, and the module's live-bytes count.
 * Needs TOPHASH_KO (path of tophash.ko) to reload the module it unloads.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <time.h>

#include "kselftest_harness.h"
#include "tophash_util.h"

/* live_bytes drops as RCU callbacks run: wait up to ~5 s for @want. */
static long long th_wait_live_bytes(long long want)
{
	long long v = -1;
	int i;

	for (i = 0; i < 500; i++) {
		v = th_read_ll(TH_DBG "/live_bytes");
		if (v == want)
			break;
		usleep(10000);
	}
	return v;
}

TEST(two_maps_are_independent_with_distinct_ids)
{
	uint32_t id1 = 0, id2 = 0;
	uint64_t v = 0;
	int a, b;

	a = th_create_full(8, 8, 0, 0, 0, &id1);
	ASSERT_LE(0, a);
	b = th_create_full(8, 8, 0, 0, 0, &id2);
	ASSERT_LE(0, b);
	EXPECT_NE(id1, id2);
	EXPECT_EQ(0, th_put64(a, 1, 100));
	EXPECT_EQ(0, th_put64(b, 1, 200));
	EXPECT_EQ(0, th_put64(b, 2, 201));
	EXPECT_EQ(0, th_get64(a, 1, &v));
	EXPECT_EQ(100, v);
	EXPECT_EQ(0, th_get64(b, 1, &v));
	EXPECT_EQ(200, v);
	EXPECT_EQ(-ENOENT, th_get64(a, 2, &v));
	EXPECT_EQ(0, th_del64(a, 1));
	EXPECT_EQ(0, th_get64(b, 1, &v));
	close(a);
	close(b);
}

TEST(debugfs_has_a_directory_per_open_map)
{
	char path[128];
	uint32_t id = 0;
	int fd;

	fd = th_create_full(8, 8, 0, 0, 0, &id);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, th_put64(fd, 3, 4));
	snprintf(path, sizeof(path), TH_DBG "/%u/info", id);
	EXPECT_EQ(0, access(path, R_OK));
	snprintf(path, sizeof(path), TH_DBG "/%u/layout", id);
	EXPECT_EQ(0, access(path, R_OK));
	close(fd);
	snprintf(path, sizeof(path), TH_DBG "/%u", id);
	EXPECT_NE(0, access(path, F_OK));
}

TEST(live_bytes_return_to_start_after_maps_close)
{
	long long start = th_wait_live_bytes(0);
	uint64_t k;
	int a, b;

	ASSERT_LE(0, start);
	a = th_create(8, 8, 0);
	ASSERT_LE(0, a);
	b = th_create(32, 64, 0);
	ASSERT_LE(0, b);
	for (k = 0; k < 5000; k++) {
		char key[32] = { 0 }, val[64] = { 0 };

		memcpy(key, &k, sizeof(k));
		ASSERT_EQ(0, th_put64(a, k, k));
		ASSERT_EQ(0, th_put(b, key, val, 0));
		if (k % 3 == 0)
			ASSERT_EQ(0, th_del64(a, k / 2));
	}
	EXPECT_LT(start, th_read_ll(TH_DBG "/live_bytes"));
	close(a);
	close(b);
	EXPECT_EQ(start, th_wait_live_bytes(start));
}

TEST(rmmod_refused_while_a_map_is_open)
{
	int fd = th_create(8, 8, 0);

	ASSERT_LE(0, fd);
	EXPECT_NE(0, th_rmmod());
	EXPECT_EQ(0, access(TH_DEV, F_OK));
	close(fd);
	ASSERT_EQ(0, th_rmmod());
	EXPECT_NE(0, access(TH_DBG, F_OK));
	ASSERT_EQ(0, th_insmod());
	fd = th_create(8, 8, 0);
	EXPECT_LE(0, fd);
	close(fd);
}

TEST_HARNESS_MAIN
