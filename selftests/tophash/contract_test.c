// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests of the ioctl contract in uapi/tophash.h: a failed ioctl changes
 * nothing, and output is all or nothing. One test (or two) per finding of
 * issue 11: CLEAR's struct and BATCH's header in a read-only page, argument
 * sizes above a page, CREATE while another thread flips the protection of
 * its argument's page, and a refused CREATE that must not touch the struct.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>

#include "kselftest_harness.h"
#include "tophash_util.h"

#define PG 4096

/* @n pages of fresh zeroed memory, read-write. */
static void *th_pages(size_t n)
{
	void *p = mmap(NULL, n * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* A map of 8-byte keys holding keys 0..n-1 with values k * 3. */
static int th_filled(uint64_t n)
{
	int fd = th_create(8, 8, 0);
	uint64_t k;

	if (fd < 0)
		return fd;
	for (k = 0; k < n; k++)
		if (th_put64(fd, k, k * 3))
			return -EIO;
	return fd;
}

static uint64_t th_count(int fd)
{
	struct tophash_info in;

	return th_info(fd, &in) ? ~0ULL : in.count;
}

/* Finding 1: CLEAR whose argument is read-only emptied the map. */
TEST(clear_with_a_read_only_struct_is_efault_and_clears_nothing)
{
	struct tophash_clear *cl = th_pages(1);
	uint64_t v = 0;
	int fd = th_filled(53);

	ASSERT_NE(NULL, cl);
	ASSERT_LE(0, fd);
	cl->size = sizeof(*cl);
	ASSERT_EQ(0, mprotect(cl, PG, PROT_READ));
	EXPECT_EQ(-EFAULT, th_err(ioctl(fd, TOPHASH_IOC_CLEAR, cl)));
	EXPECT_EQ(53, th_count(fd)) TH_LOG("the refused CLEAR emptied the map");
	EXPECT_EQ(0, th_get64(fd, 52, &v));
	EXPECT_EQ(52 * 3, v);
	EXPECT_EQ(0, cl->entries);
	/* Unmapped: the same. */
	ASSERT_EQ(0, munmap(cl, PG));
	EXPECT_EQ(-EFAULT, th_err(ioctl(fd, TOPHASH_IOC_CLEAR, cl)));
	EXPECT_EQ(53, th_count(fd));
	close(fd);
}

/* Finding 2: a BATCH whose header cannot be written back ran its ops. */
TEST(batch_with_a_read_only_header_is_efault_and_runs_no_op)
{
	struct tophash_batch *bt = th_pages(1);
	struct tophash_batch_op ops[2];
	uint64_t k[2] = { 7, 8 }, v[2] = { 70, 80 }, got;
	int fd = th_filled(0);

	ASSERT_NE(NULL, bt);
	ASSERT_LE(0, fd);
	ops[0] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY, &k[0], &v[0]);
	ops[1] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY, &k[1], &v[1]);
	bt->size = sizeof(*bt);
	bt->count = 2;
	bt->ops = (uintptr_t)ops;
	ASSERT_EQ(0, mprotect(bt, PG, PROT_READ));
	EXPECT_EQ(-EFAULT, th_err(ioctl(fd, TOPHASH_IOC_BATCH, bt)));
	EXPECT_EQ(0, th_count(fd)) TH_LOG("ops ran though done could not be told");
	EXPECT_EQ(-ENOENT, th_get64(fd, 7, &got));
	munmap(bt, PG);
	close(fd);
}

/* The documented partial result: the ops before the failed one stay done. */
TEST(batch_stopping_at_op_k_reports_done_k_and_keeps_the_ops_before)
{
	struct tophash_batch_op ops[4];
	uint64_t k[4] = { 1, 2, 99, 3 }, v[4] = { 10, 20, 0, 30 }, got;
	uint32_t done = 1234;
	int fd = th_filled(0);

	ASSERT_LE(0, fd);
	ops[0] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY, &k[0], &v[0]);
	ops[1] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY, &k[1], &v[1]);
	ops[2] = th_bop(TOPHASH_BATCH_DELETE, 0, &k[2], NULL);	/* missing */
	ops[3] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY, &k[3], &v[3]);
	EXPECT_EQ(-ENOENT, th_batch(fd, ops, 4, &done));
	EXPECT_EQ(2, done);
	EXPECT_EQ(2, th_count(fd));
	EXPECT_EQ(-ENOENT, th_get64(fd, 3, &got));
	/* A LOOKUP whose value cannot be written: EFAULT at its index. */
	ops[2] = th_bop(TOPHASH_BATCH_LOOKUP, 0, &k[0], (void *)8);
	EXPECT_EQ(-EFAULT, th_batch(fd, ops, 4, &done));
	EXPECT_EQ(2, done);
	EXPECT_EQ(2, th_count(fd));
	close(fd);
}

/* Finding 3: sizes above PAGE_SIZE are accepted when the tail is zero. */
TEST(sizes_above_a_page_are_accepted_with_a_zero_tail)
{
	uint8_t *p = th_pages(3);
	struct tophash_info *in = (void *)p;
	struct tophash_op *o = (void *)p;
	struct tophash_create *c = (void *)p;
	uint64_t key = 5, val = 55, got = 0;
	uint32_t big = 2 * PG + 100;
	int fd = th_filled(3), nfd;

	ASSERT_NE(NULL, p);
	ASSERT_LE(0, fd);
	in->size = big;
	EXPECT_EQ(0, th_err(ioctl(fd, TOPHASH_IOC_INFO, in)));
	EXPECT_EQ(3, in->count);
	EXPECT_EQ(big, in->size);
	EXPECT_EQ(0, p[sizeof(*in)]) TH_LOG("output went past the kernel's struct");
	p[big - 1] = 1;
	EXPECT_EQ(-E2BIG, th_err(ioctl(fd, TOPHASH_IOC_INFO, in)));
	memset(p, 0, 3 * PG);

	o->size = big;
	o->key = (uintptr_t)&key;
	o->value = (uintptr_t)&val;
	EXPECT_EQ(0, th_err(ioctl(fd, TOPHASH_IOC_UPDATE, o)));
	o->value = (uintptr_t)&got;
	EXPECT_EQ(0, th_err(ioctl(fd, TOPHASH_IOC_LOOKUP, o)));
	EXPECT_EQ(55, got);
	p[PG + 1] = 9;
	EXPECT_EQ(-E2BIG, th_err(ioctl(fd, TOPHASH_IOC_DELETE, o)));
	EXPECT_EQ(4, th_count(fd));
	memset(p, 0, 3 * PG);

	nfd = open(TH_DEV, O_RDWR);
	ASSERT_LE(0, nfd);
	c->size = big;
	c->key_size = 8;
	c->value_size = 8;
	p[2 * PG] = 1;
	EXPECT_EQ(-E2BIG, th_err(ioctl(nfd, TOPHASH_IOC_CREATE, c)));
	EXPECT_EQ(0, c->id);
	p[2 * PG] = 0;
	EXPECT_EQ(0, th_err(ioctl(nfd, TOPHASH_IOC_CREATE, c)));
	EXPECT_NE(0, c->id);
	EXPECT_EQ(TOPHASH_DEFAULT_MAX_ENTRIES, c->max_entries);
	close(nfd);
	close(fd);
	munmap(p, 3 * PG);
}

struct th_flipper {
	void *page;
	volatile int stop;
	unsigned long flips;
};

static void *th_flip(void *arg)
{
	struct th_flipper *f = arg;

	while (!f->stop) {
		mprotect(f->page, PG, PROT_READ);
		mprotect(f->page, PG, PROT_READ | PROT_WRITE);
		f->flips++;
	}
	return NULL;
}

/*
 * Finding 4: CREATE while another thread flips its page between read-only
 * and read-write. Any outcome but "EFAULT and a map anyway" is fine.
 */
TEST(create_racing_mprotect_fails_only_with_nothing_created)
{
	struct th_flipper f = { 0 };
	unsigned long i, ok = 0, efault = 0, bad = 0;
	struct tophash_create want = {
		.size = sizeof(want), .key_size = 8, .value_size = 8,
	};
	struct tophash_create *c, *rw;
	struct tophash_info in;
	time_t t0 = time(NULL);
	pthread_t th;
	int mfd, fd, r;

	/* One page mapped twice: @c is flipped, @rw always writable. */
	mfd = memfd_create("th-create", 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, PG));
	c = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	rw = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, c);
	ASSERT_NE(MAP_FAILED, rw);
	f.page = c;
	ASSERT_EQ(0, pthread_create(&th, NULL, th_flip, &f));
	/* 5000 creates, or 15 s on a slow (KASAN under TCG) guest. */
	for (i = 0; i < 5000 && time(NULL) < t0 + 15; i++) {
		fd = open(TH_DEV, O_RDWR);
		ASSERT_LE(0, fd);
		*rw = want;
		r = th_err(ioctl(fd, TOPHASH_IOC_CREATE, c));
		if (r == 0) {
			ok++;
		} else if (r == -EFAULT) {
			efault++;
			if (th_info(fd, &in) != -EINVAL)
				bad++;
		} else {
			bad++;
		}
		close(fd);
	}
	f.stop = 1;
	pthread_join(th, NULL);
	TH_LOG("%lu creates: %lu ok, %lu EFAULT, %lu EFAULT with a map or other errors; %lu flips",
	       i, ok, efault, bad, f.flips);
	EXPECT_EQ(0, bad);
	EXPECT_LT(0, ok);
	munmap(c, PG);
	munmap(rw, PG);
	close(mfd);
}

/* Finding 5: a refused CREATE wrote max_entries and id. */
TEST(a_refused_create_leaves_the_struct_untouched)
{
	struct tophash_create c = {
		.size = sizeof(c), .key_size = 8, .value_size = 8,
	}, before;
	int fd = th_filled(1);

	ASSERT_LE(0, fd);
	before = c;
	EXPECT_EQ(-EBUSY, th_err(ioctl(fd, TOPHASH_IOC_CREATE, &c)));
	EXPECT_EQ(0, memcmp(&before, &c, sizeof(c)))
		TH_LOG("EBUSY wrote max_entries %llu, id %u",
		       (unsigned long long)c.max_entries, c.id);
	close(fd);

	/* ENOMEM: a first table past what kvmalloc takes. */
	fd = open(TH_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	c.key_size = TOPHASH_MAX_KEY_SIZE;
	c.value_size = TOPHASH_MAX_VALUE_SIZE;
	c.size_hint = TOPHASH_LIMIT_MAX_ENTRIES;
	c.max_entries = TOPHASH_LIMIT_MAX_ENTRIES;
	before = c;
	EXPECT_EQ(-ENOMEM, th_err(ioctl(fd, TOPHASH_IOC_CREATE, &c)));
	EXPECT_EQ(0, memcmp(&before, &c, sizeof(c)))
		TH_LOG("ENOMEM wrote max_entries %llu, id %u",
		       (unsigned long long)c.max_entries, c.id);
	/* EINVAL too; then the file still takes a good CREATE. */
	c.size_hint = 0;
	c.max_entries = 0;
	c.key_size = 0;
	before = c;
	EXPECT_EQ(-EINVAL, th_err(ioctl(fd, TOPHASH_IOC_CREATE, &c)));
	EXPECT_EQ(0, memcmp(&before, &c, sizeof(c)));
	c.key_size = 8;
	EXPECT_EQ(0, th_err(ioctl(fd, TOPHASH_IOC_CREATE, &c)));
	close(fd);
}

/* A CREATE whose struct is read-only fails with nothing created. */
TEST(create_with_a_read_only_struct_is_efault_and_creates_nothing)
{
	struct tophash_create *c = th_pages(1);
	struct tophash_info in;
	int fd = open(TH_DEV, O_RDWR);

	ASSERT_NE(NULL, c);
	ASSERT_LE(0, fd);
	c->size = sizeof(*c);
	c->key_size = 8;
	c->value_size = 8;
	ASSERT_EQ(0, mprotect(c, PG, PROT_READ));
	EXPECT_EQ(-EFAULT, th_err(ioctl(fd, TOPHASH_IOC_CREATE, c)));
	EXPECT_EQ(-EINVAL, th_info(fd, &in));
	ASSERT_EQ(0, mprotect(c, PG, PROT_READ | PROT_WRITE));
	EXPECT_EQ(0, th_err(ioctl(fd, TOPHASH_IOC_CREATE, c)));
	EXPECT_EQ(0, th_info(fd, &in));
	close(fd);
	munmap(c, PG);
}

/* Output bytes that straddle two pages are written whole. */
TEST(a_struct_straddling_two_pages_is_written_whole)
{
	uint8_t *p = th_pages(2);
	struct tophash_clear *cl = (void *)(p + PG - 12);
	int fd = th_filled(40);

	ASSERT_NE(NULL, p);
	ASSERT_LE(0, fd);
	cl->size = sizeof(*cl);
	EXPECT_EQ(0, th_err(ioctl(fd, TOPHASH_IOC_CLEAR, cl)));
	EXPECT_EQ(40, cl->entries);
	EXPECT_EQ(0, th_count(fd));
	/* Second page read-only: EFAULT, nothing cleared. */
	EXPECT_EQ(0, th_put64(fd, 1, 1));
	ASSERT_EQ(0, mprotect(p + PG, PG, PROT_READ));
	EXPECT_EQ(-EFAULT, th_err(ioctl(fd, TOPHASH_IOC_CLEAR, cl)));
	EXPECT_EQ(1, th_count(fd));
	close(fd);
	munmap(p, 2 * PG);
}

TEST_HARNESS_MAIN
