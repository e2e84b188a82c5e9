// SPDX-License-Identifier: GPL-2.0
/*
 * The map's memory is charged to the memory cgroup of the task that
 * allocates it (GFP_KERNEL_ACCOUNT): in a cgroup v2 group with a small
 * memory.max, inserts end with a clean ENOMEM (the task cannot be
 * OOM-killed: oom_score_adj -1000), nothing inserted before is lost, the
 * charge shows in memory.current, and once the limit is raised the map
 * takes inserts again. What the background finisher allocates (a work
 * item, in no task's group) is charged to the group of the map's creator
 * too. Mounts cgroup2 on /sys/fs/cgroup when nothing is there; skips
 * without the memory controller.
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

/* Mount cgroup2 if needed, enable the memory controller, make group CG. */
static int cg_setup(void)
{
	if (access(CG_ROOT "/cgroup.controllers", F_OK)) {
		mkdir(CG_ROOT, 0755);
		if (mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL))
			return -errno;
	}
	if (cg_write(CG_ROOT "/cgroup.subtree_control", "+memory"))
		return -ENODEV;
	rmdir(CG);
	return mkdir(CG, 0755) ? -errno : 0;
}

#define FI TH_DBG "/fail_alloc"

/*
 * memory.current of CG once the module's live bytes are @bytes (RCU done)
 * and the uncharges behind them too: an array freed from an RCU callback
 * is vfree()d later by a work item, so wait until memory.current stops
 * moving (two reads 100 ms apart within 64 KiB).
 */
static long long cg_current_settled(uint64_t bytes)
{
	long long a, b = -1;
	int i;

	for (i = 0; i < 5000 && th_read_ll(TH_DBG "/live_bytes") != (long long)bytes; i++)
		usleep(1000);
	a = th_read_ll(CG "/memory.current");
	for (i = 0; i < 50; i++, a = b) {
		usleep(100000);
		b = th_read_ll(CG "/memory.current");
		if (llabs(b - a) < (64 << 10))
			break;
	}
	return b;
}

/*
 * A shrink that a delete could not start (its table allocation failed,
 * debugfs tophash/fail_alloc) is started and run by the finisher, a work
 * item: the half-size array it allocates must be charged to the group of
 * the map's creator, as the writes' allocations are. memory.current then
 * moves by what the map's bytes moved by (the old array uncharged, the new
 * one charged), not by the old array alone. Debug kernels only (fault
 * injection).
 */
TEST(the_finishers_allocations_are_charged_to_the_creators_group)
{
	struct tophash_create c = {
		.size = sizeof(c), .key_size = 8, .value_size = VSIZE,
		.flags = TOPHASH_F_SHRINK,
	};
	struct tophash_info in0, in;
	long long cur0, cur1, moved;
	uint64_t k;
	int fd, f, i, r;

	if (access(FI, F_OK))
		SKIP(return, "no " FI " (a kernel without CONFIG_FAULT_INJECTION_DEBUG_FS)");
	r = cg_setup();
	if (r)
		SKIP(return, "no memory cgroup: %s", strerror(-r));
	ASSERT_EQ(0, cg_join(CG));
	fd = open(TH_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, th_err(ioctl(fd, TOPHASH_IOC_CREATE, &c)));
	memset(val, 1, sizeof(val));
	for (k = 0; k < 20000; k++)	/* B = 12: 4096 buckets of 2128 bytes */
		ASSERT_EQ(0, th_put(fd, &k, val, TOPHASH_NOEXIST));
	for (k = 0; k < 20000 - 8192; k++)	/* 8192 left: one more is below 25% */
		ASSERT_EQ(0, th_del(fd, &k));
	for (i = 0; i < 500 && !th_info(fd, &in0) && (in0.flags & TOPHASH_INFO_GROWING); i++)
		usleep(10000);
	ASSERT_EQ(0, in0.flags & TOPHASH_INFO_GROWING);
	ASSERT_EQ(12, in0.B);
	cur0 = cg_current_settled(in0.bytes);

	/* The delete's shrink cannot allocate its table: the finisher starts it. */
	f = open("/proc/self/make-it-fail", O_WRONLY);
	ASSERT_LE(0, f);
	ASSERT_EQ(2, write(f, "1\n", 2));
	close(f);
	ASSERT_EQ(0, cg_write(FI "/times", "0"));
	ASSERT_EQ(0, cg_write(FI "/probability", "100"));
	ASSERT_EQ(0, cg_write(FI "/interval", "1"));
	ASSERT_EQ(0, cg_write(FI "/verbose", "0"));
	ASSERT_EQ(0, cg_write(FI "/task-filter", "Y"));
	/* The 1st allocation is the ioctl's op buffer, the 2nd the shrink's table. */
	ASSERT_EQ(0, cg_write(FI "/space", "2"));
	ASSERT_EQ(0, cg_write(FI "/times", "1"));
	r = th_del(fd, &k);
	EXPECT_EQ(0, th_read_ll(FI "/times")) TH_LOG("the shrink's table did not fail");
	cg_write(FI "/times", "0");
	ASSERT_EQ(0, r);
	ASSERT_EQ(0, th_info(fd, &in));
	ASSERT_EQ(0, in.flags & TOPHASH_INFO_GROWING) TH_LOG("the delete started the shrink");

	for (i = 0; i < 1000 && !th_info(fd, &in) &&
		    (in.B == 12 || (in.flags & TOPHASH_INFO_GROWING)); i++)
		usleep(10000);
	ASSERT_EQ(11, in.B) TH_LOG("the finisher did not shrink the map");
	ASSERT_EQ(0, in.flags & TOPHASH_INFO_GROWING);
	cur1 = cg_current_settled(in.bytes);
	moved = (long long)in.bytes - (long long)in0.bytes;
	TH_LOG("map bytes %llu -> %llu (%lld), memory.current %lld -> %lld (%lld)",
	       (unsigned long long)in0.bytes, (unsigned long long)in.bytes, moved,
	       cur0, cur1, cur1 - cur0);
	/*
	 * Charged elsewhere, the group would lose the whole old array and
	 * miss the new one: its drop would exceed the map's by the new
	 * array, 2^11 buckets of 2128 bytes (4.4 MB). Freed slab objects
	 * cost more than the map counts on debug kernels (KASAN redzones:
	 * 2.0 MB more on 4.8 MB), so the bound is 3/4 of the new array.
	 */
	EXPECT_GT((2048LL * 2128) * 3 / 4, llabs(cur1 - cur0 - moved));
	close(fd);
	ASSERT_EQ(0, cg_join(CG_ROOT));
	for (i = 0; i < 500 && rmdir(CG); i++)
		usleep(10000);
}

TEST(a_small_memory_max_gives_a_clean_enomem_and_loses_nothing)
{
	long long cur0, cur1, limit;
	struct tophash_info in;
	unsigned long n = 0, i;
	char buf[64];
	uint64_t k;
	int fd, r;

	r = cg_setup();
	if (r)
		SKIP(return, "no memory cgroup: %s", strerror(-r));
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
