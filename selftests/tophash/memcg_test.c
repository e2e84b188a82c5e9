// SPDX-License-Identifier: GPL-2.0
/*
 * The map's memory is charged to the memory cgroup of the task that
 * allocates it (GFP_KERNEL_ACCOUNT): in a cgroup v2 group with a small
 * memory.max, inserts end with a clean ENOMEM (the task cannot be
 * OOM-killed: oom_score_adj -1000), nothing inserted before is lost, the
 * charge shows in memory.current, and once the limit is raised the map
 * takes inserts again. Mounts cgroup2 on /sys/fs/cgroup when nothing is
 * there; skips without the memory controller.
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "tophash_util.h"

#define CG_ROOT "/sys/fs/cgroup"
#define CG CG_ROOT "/tophash-memcg"
#define VSIZE 256
#define NMAX 200000

/* Touched before the task enters the group: no page faults inside it. */
static uint64_t inserted[NMAX];
static uint8_t val[VSIZE], got[VSIZE];

static int cg_write(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

static void fill_val(uint64_t k)
{
	memset(val, (int)(k * 7 + 1), sizeof(val));
	memcpy(val, &k, sizeof(k));
}

/* Join cgroup @path (or the root); 0 or -errno. */
static int cg_join(const char *path)
{
	char f[128], pid[32];

	snprintf(f, sizeof(f), "%s/cgroup.procs", path);
	snprintf(pid, sizeof(pid), "%d", getpid());
	return cg_write(f, pid);
}

TEST(a_small_memory_max_gives_a_clean_enomem_and_loses_nothing)
{
	long long cur0, cur1, limit;
	struct tophash_info in;
	unsigned long n = 0, i;
	char buf[64];
	uint64_t k;
	int fd, r;

	if (access(CG_ROOT "/cgroup.controllers", F_OK)) {
		mkdir(CG_ROOT, 0755);
		if (mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL))
			SKIP(return, "no cgroup2 at " CG_ROOT ": %s", strerror(errno));
	}
	if (cg_write(CG_ROOT "/cgroup.subtree_control", "+memory"))
		SKIP(return, "no memory controller in cgroup2");
	rmdir(CG);
	ASSERT_EQ(0, mkdir(CG, 0755));
	ASSERT_EQ(0, cg_write("/proc/self/oom_score_adj", "-1000"));
	memset(inserted, 0, sizeof(inserted));
	memset(got, 0, sizeof(got));
	fd = th_create(8, VSIZE, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, cg_join(CG));

	/* The map charged so far is the root's; what it grows by is ours. */
	cur0 = th_read_ll(CG "/memory.current");
	ASSERT_LE(0, cur0);
	limit = cur0 + (2 << 20);
	snprintf(buf, sizeof(buf), "%lld", limit);
	ASSERT_EQ(0, cg_write(CG "/memory.max", buf));

	for (k = 1; n < NMAX; k++) {
		fill_val(k);
		r = th_put(fd, &k, val, TOPHASH_ANY);
		if (r == -ENOMEM)
			break;
		ASSERT_EQ(0, r) TH_LOG("insert %llu: %d", (unsigned long long)k, r);
		inserted[n++] = k;
	}
	ASSERT_GT(NMAX, n) TH_LOG("memory.max never refused an insert");
	ASSERT_EQ(0, th_info(fd, &in));
	EXPECT_EQ(n, in.count);

	/*
	 * Raise the limit before reading anything back: a page fault of this
	 * task at the limit would have nobody to OOM-kill, and reading
	 * memory.current allocates too (at the limit the read failed with
	 * ENOMEM). The map's tables stay charged, so memory.current still
	 * shows them. Lookups change nothing, so the contents are those the
	 * refused insert left.
	 */
	ASSERT_EQ(0, cg_write(CG "/memory.max", "max"));
	cur1 = th_read_ll(CG "/memory.current");
	TH_LOG("memory.max %lld: %lu inserts, then ENOMEM; map %llu bytes, memory.current %lld -> %lld",
	       limit, n, (unsigned long long)in.bytes, cur0, cur1);
	/* Most of the charge is the map's tables, growing from its first. */
	EXPECT_LT(512 << 10, cur1 - cur0) TH_LOG("the map's growth is not charged here");
	/* The refused key is absent, every other one present and intact. */
	EXPECT_EQ(-ENOENT, th_get(fd, &k, got));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, th_get(fd, &inserted[i], got))
			TH_LOG("key %llu lost", (unsigned long long)inserted[i]);
		fill_val(inserted[i]);
		ASSERT_EQ(0, memcmp(val, got, VSIZE));
	}
	/* The map takes more. */
	for (i = 0; i < 2000; i++, k++) {
		fill_val(k);
		ASSERT_EQ(0, th_put(fd, &k, val, TOPHASH_ANY));
	}
	ASSERT_EQ(0, th_info(fd, &in));
	EXPECT_EQ(n + 2000, in.count);
	close(fd);
	ASSERT_EQ(0, cg_join(CG_ROOT));
	/* The memory goes back through RCU; the group can go once it did. */
	for (i = 0; i < 500 && rmdir(CG); i++)
		usleep(10000);
}

TEST_HARNESS_MAIN
