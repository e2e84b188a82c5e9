// SPDX-License-Identifier: GPL-2.0
/*
 * An ioctl fuzzer of /dev/tophash, seeded and reproducible in what each
 * thread asks (the interleaving of threads is the scheduler's):
 *
 * - chaos: threads sharing a few fds send random ioctls (known and unknown
 *   numbers) with random argument sizes and contents, through pointers that
 *   are valid, unmapped, read-only, page-straddling into an unmapped page,
 *   NULL or kernel addresses; meanwhile fds are closed, reopened and
 *   replaced with dup2() under in-flight ioctls, children fork and use the
 *   inherited fds, and a thread reads every map's debugfs files. Every
 *   errno must be one uapi/tophash.h documents (EBADF for a closed fd).
 * - model: one thread, one map, random updates (all flags), lookups,
 *   deletes, batches, clears and bad pointers against a model of the
 *   contents: every result and errno is compared, then all the contents.
 *   Half its time on a Go-layout map, half on a TOPHASH_F_SHRINK one with
 *   a random threshold, whose deletes outnumber the updates every other
 *   4096 ops, so that it shrinks and grows again.
 *
 * TOPHASH_FUZZ_SEED (default: from the clock) and TOPHASH_FUZZ_SECONDS
 * (default 30) steer it; the seed and the ioctl counts are printed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "tophash_util.h"

#define PG 4096
#define NFDS 4
#define NTHREADS 4

static uint64_t seed;
static double seconds = 30;
static volatile int stop;
static int fds[NFDS];
static uint8_t *rw;	/* 4 read-write pages, then a PROT_NONE page, then a read-only one */
static unsigned long n_ioctls, n_bad_errno;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* What any /dev/tophash ioctl may fail with (uapi/tophash.h), and EBADF. */
static bool errno_documented(int e)
{
	switch (e) {
	case EINVAL: case EBUSY: case EFAULT: case E2BIG: case ENOENT:
	case EEXIST: case ENOSPC: case ENOMEM: case EPERM: case ENOTTY:
	case EBADF:
		return true;
	}
	return false;
}

static const unsigned long cmds[] = {
	TOPHASH_IOC_CREATE, TOPHASH_IOC_UPDATE, TOPHASH_IOC_LOOKUP,
	TOPHASH_IOC_DELETE, TOPHASH_IOC_CLEAR, TOPHASH_IOC_BATCH,
	TOPHASH_IOC_INFO, TOPHASH_IOC_LAYOUT,
};

/* A pointer of a random kind: valid, unmapped, read-only, straddling, ... */
static void *rnd_ptr(uint64_t *s, size_t len, bool *writable)
{
	uint64_t x = rnd(s);

	*writable = false;
	switch (x % 16) {
	case 0:
		return NULL;
	case 1:
		return (void *)0xffffffff81000000UL;	/* kernel text */
	case 2:
		return (void *)0xffff888000000000UL;	/* the direct map */
	case 3:
		return rw + 4 * PG + (x >> 8) % PG;	/* unmapped */
	case 4:
		return rw + 5 * PG + (x >> 8) % (PG - 64);	/* read-only */
	case 5:	/* straddles into the unmapped page */
		*writable = true;
		return rw + 4 * PG - 1 - (x >> 8) % (len ? len : 1);
	default:
		*writable = true;
		return rw + (x >> 8) % (4 * PG - 512);
	}
}

/* Random bytes where a pointer is writable, up to the mapping's end. */
static void rnd_fill(uint64_t *s, uint8_t *p, size_t len)
{
	size_t i, room = rw + 4 * PG - p;

	for (i = 0; i < len && i < room; i++)
		p[i] = rnd(s) % 4 ? 0 : rnd(s);
}

/* A plausible size for an argument of @ver0 bytes. */
static uint32_t rnd_size(uint64_t *s, uint32_t ver0)
{
	switch (rnd(s) % 8) {
	case 0:
		return rnd(s) % (ver0 + 1);
	case 1:
		return rnd(s) % (3 * PG);
	case 2:
		return (uint32_t)rnd(s);
	default:
		return ver0 + 8 * (rnd(s) % 3);
	}
}

/* Fill in a random argument for @cmd at @p (writable). */
static void rnd_arg(uint64_t *s, unsigned long cmd, uint8_t *p)
{
	size_t room = rw + 4 * PG - p;
	bool w;

	rnd_fill(s, p, 96);
	if (room < 48)
		return;
	switch (_IOC_NR(cmd)) {
	case 1: {
		struct tophash_create *c = (void *)p;

		c->size = rnd_size(s, TOPHASH_CREATE_SIZE_VER0);
		c->key_size = rnd(s) % 4 ? 8 : rnd(s) % 300;
		c->value_size = rnd(s) % 4 ? 8 : rnd(s) % 300;
		c->flags = rnd(s) % 4 ? 0 : rnd(s) % 8;
		c->size_hint = rnd(s) % 4 ? rnd(s) % 100 : rnd(s);
		c->max_entries = rnd(s) % 2 ? 0 : rnd(s) % 5000;
		break;
	}
	case 2: case 3: case 4: {
		struct tophash_op *o = (void *)p;

		o->size = rnd_size(s, TOPHASH_OP_SIZE_VER0);
		o->flags = rnd(s) % 4 ? 0 : rnd(s) % 4;
		o->key = (uintptr_t)rnd_ptr(s, 8, &w);
		o->value = (uintptr_t)rnd_ptr(s, 8, &w);
		break;
	}
	case 6: {
		struct tophash_batch *b = (void *)p;
		struct tophash_batch_op *op;
		unsigned int i, n = rnd(s) % 8;

		b->size = rnd_size(s, TOPHASH_BATCH_SIZE_VER0);
		b->count = rnd(s) % 8 ? n : (uint32_t)rnd(s);
		op = rnd_ptr(s, n * sizeof(*op), &w);
		b->ops = (uintptr_t)op;
		if (!w)
			break;
		for (i = 0; i < n && (uint8_t *)(op + i + 1) <= rw + 4 * PG; i++) {
			op[i].op = rnd(s) % 5;
			op[i].flags = rnd(s) % 4 ? 0 : rnd(s) % 4;
			op[i].key = (uintptr_t)rnd_ptr(s, 8, &w);
			op[i].value = (uintptr_t)rnd_ptr(s, 8, &w);
		}
		break;
	}
	case 8: {
		struct tophash_layout *l = (void *)p;

		l->size = rnd_size(s, TOPHASH_LAYOUT_SIZE_VER0);
		l->flags = rnd(s) % 8 ? 0 : 1;
		l->buf = (uintptr_t)rnd_ptr(s, 256, &w);
		l->buf_len = rnd(s) % 4 ? rnd(s) % 2048 : rnd(s);
		break;
	}
	default:	/* CLEAR, INFO */
		*(uint32_t *)p = rnd_size(s, 40);
		break;
	}
}

/* One random ioctl on @fd; false when its errno is undocumented. */
static bool chaos_ioctl(uint64_t *s, int fd)
{
	unsigned long cmd = cmds[rnd(s) % 8];
	bool w;
	void *p;
	int r, e;

	if (rnd(s) % 32 == 0)	/* an unknown number, or another type */
		cmd = rnd(s) % 2 ? _IOWR(TOPHASH_IOC_MAGIC, rnd(s) % 16, struct tophash_op) :
				   _IOWR(rnd(s) % 256, 1, struct tophash_op);
	p = rnd_ptr(s, 64, &w);
	if (w)
		rnd_arg(s, cmd, p);
	r = ioctl(fd, cmd, p);
	e = errno;
	if (r && !errno_documented(e)) {
		fprintf(stderr, "# cmd %#lx arg %p: undocumented errno %d (%s)\n",
			cmd, p, e, strerror(e));
		return false;
	}
	return true;
}

/* Replace fd slot @i under the other threads' feet. */
static void churn_fd(uint64_t *s, int i)
{
	int nfd = open(TH_DEV, O_RDWR);

	if (nfd < 0)
		return;
	if (rnd(s) % 2)
		th_err(ioctl(nfd, TOPHASH_IOC_CREATE,
			     &(struct tophash_create){ .size = 40, .key_size = 8,
						       .value_size = 8 }));
	if (rnd(s) % 2) {
		dup2(nfd, fds[i]);
		close(nfd);
	} else {
		close(fds[i]);
		fds[i] = nfd;
	}
}

struct worker {
	pthread_t th;
	uint64_t s;
	unsigned long n, bad;
};

static void *chaos_worker(void *arg)
{
	struct worker *w = arg;

	while (!stop) {
		uint64_t x = rnd(&w->s);

		if (x % 200 == 0) {
			churn_fd(&w->s, (x >> 8) % NFDS);
		} else if (x % 1000 == 1) {
			pid_t pid = fork();

			if (pid == 0) {
				uint64_t cs = w->s ^ 0x5bd1e995;
				int i, bad = 0;

				for (i = 0; i < 50; i++)
					bad += !chaos_ioctl(&cs, fds[rnd(&cs) % NFDS]);
				_exit(bad ? 1 : 0);
			}
			if (pid > 0) {
				int st = 0;

				waitpid(pid, &st, 0);
				w->bad += !WIFEXITED(st) || WEXITSTATUS(st);
				w->n += 50;
			}
		} else {
			w->bad += !chaos_ioctl(&w->s, fds[(x >> 8) % NFDS]);
			w->n++;
		}
	}
	return NULL;
}

/* Read every map's debugfs files, over and over. */
static void *debugfs_reader(void *arg)
{
	unsigned long *reads = arg;
	char path[300], buf[4096];

	while (!stop) {
		DIR *d = opendir(TH_DBG);
		struct dirent *de;

		if (!d)
			return NULL;
		while ((de = readdir(d)) && !stop) {
			static const char *const f[] = { "info", "layout" };
			int i, fd;

			if (de->d_name[0] < '0' || de->d_name[0] > '9')
				continue;
			for (i = 0; i < 2; i++) {
				snprintf(path, sizeof(path), TH_DBG "/%s/%s", de->d_name, f[i]);
				fd = open(path, O_RDONLY);
				if (fd < 0)
					continue;
				while (read(fd, buf, sizeof(buf)) > 0)
					;
				close(fd);
				(*reads)++;
			}
		}
		closedir(d);
	}
	return NULL;
}

FIXTURE(FUZZ) {
	int unused;
};

FIXTURE_SETUP(FUZZ)
{
	const char *e = getenv("TOPHASH_FUZZ_SEED");

	seed = e ? strtoull(e, NULL, 0) : (uint64_t)time(NULL) * 2654435761ULL;
	if (!seed)
		seed = 1;
	e = getenv("TOPHASH_FUZZ_SECONDS");
	if (e)
		seconds = atof(e);
	rw = mmap(NULL, 6 * PG, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, rw);
	ASSERT_EQ(0, mprotect(rw + 4 * PG, PG, PROT_NONE));
	ASSERT_EQ(0, mprotect(rw + 5 * PG, PG, PROT_READ));
	TH_LOG("seed %#llx (TOPHASH_FUZZ_SEED=%#llx reproduces it), %.0f s",
	       (unsigned long long)seed, (unsigned long long)seed, seconds);
}

FIXTURE_TEARDOWN(FUZZ)
{
	munmap(rw, 6 * PG);
}

TEST_F_TIMEOUT(FUZZ, chaos_ioctls_fail_only_with_documented_errnos, 3600)
{
	struct worker w[NTHREADS];
	unsigned long reads = 0, n = 0, bad = 0;
	pthread_t dbg;
	double end = now() + seconds * 2 / 3;
	int i;

	for (i = 0; i < NFDS; i++) {
		fds[i] = i % 2 ? th_create(8, 8, 0) : open(TH_DEV, O_RDWR);
		ASSERT_LE(0, fds[i]);
	}
	stop = 0;
	ASSERT_EQ(0, pthread_create(&dbg, NULL, debugfs_reader, &reads));
	for (i = 0; i < NTHREADS; i++) {
		w[i].s = seed + 0x9e3779b97f4a7c15ULL * (i + 1);
		w[i].n = 0;
		w[i].bad = 0;
		ASSERT_EQ(0, pthread_create(&w[i].th, NULL, chaos_worker, &w[i]));
	}
	while (now() < end)
		usleep(100000);
	stop = 1;
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(w[i].th, NULL);
		n += w[i].n;
		bad += w[i].bad;
	}
	pthread_join(dbg, NULL);
	for (i = 0; i < NFDS; i++)
		close(fds[i]);
	pthread_mutex_lock(&count_lock);
	n_ioctls += n;
	n_bad_errno += bad;
	pthread_mutex_unlock(&count_lock);
	TH_LOG("chaos: %lu ioctls from %d threads, %lu debugfs reads, seed %#llx",
	       n, NTHREADS, reads, (unsigned long long)seed);
	EXPECT_EQ(0, bad) TH_LOG("ioctls failed with undocumented errnos");
	EXPECT_LT(0, n);
}

/* The model of phase two: keys 0..NKEY-1 of 8 bytes, 8-byte values. */
#define NKEY 4096
#define MAXE 3000
static bool present[NKEY];
static uint64_t mval[NKEY];
static unsigned int mcount;

/* What an update of @k with @flags returns by the model (and applies). */
static int model_update(uint64_t k, uint64_t v, uint32_t flags, bool apply)
{
	if (flags > TOPHASH_EXIST)
		return -EINVAL;
	if (flags == TOPHASH_NOEXIST && present[k])
		return -EEXIST;
	if (flags == TOPHASH_EXIST && !present[k])
		return -ENOENT;
	if (!present[k] && mcount >= MAXE)
		return -E2BIG;
	if (apply) {
		mcount += !present[k];
		present[k] = true;
		mval[k] = v;
	}
	return 0;
}

static int model_delete(uint64_t k)
{
	if (!present[k])
		return -ENOENT;
	present[k] = false;
	mcount--;
	return 0;
}

/* The model phase on one map; @shrink: TOPHASH_F_SHRINK, drains now and then. */
static void model_run(struct __test_metadata *_metadata, uint64_t s,
		      bool shrink, double secs)
{
	struct tophash_create c = {
		.size = sizeof(c), .key_size = 8, .value_size = 8,
		.size_hint = rnd(&s) % 64, .max_entries = MAXE,
	};
	unsigned long n = 0, mismatches = 0, shrinks = 0;
	unsigned int lastB = 0;
	double end = now() + secs;
	struct tophash_info in;
	uint64_t k, v, got;
	int fd, r, want;

	if (shrink) {
		c.flags = TOPHASH_F_SHRINK;
		c.shrink_pct = rnd(&s) % (TOPHASH_SHRINK_MAX_PCT + 1);
	}
	memset(present, 0, sizeof(present));
	mcount = 0;
	fd = open(TH_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, th_err(ioctl(fd, TOPHASH_IOC_CREATE, &c)));
	while (now() < end || n < 1000) {
		uint64_t x = rnd(&s);
		uint32_t flags = x % 16 == 0 ? (x >> 4) % 5 : (x >> 4) % 3;
		unsigned int op = x % 10;

		/* A drain: most updates become deletes. */
		if (shrink && (n >> 12) % 2 && op < 4 && (x >> 40) % 4)
			op = 6;
		if (shrink && !(n % 64) && !th_info(fd, &in)) {
			shrinks += in.B < lastB;
			lastB = in.B;
		}
		k = (x >> 16) % NKEY;
		v = rnd(&s);
		switch (op) {
		case 0: case 1: case 2: case 3:
			want = model_update(k, v, flags, false);
			r = th_put(fd, &k, &v, flags);
			if (!r && !want)
				model_update(k, v, flags, true);
			break;
		case 4: case 5:
			want = present[k] ? 0 : -ENOENT;
			got = ~0ULL;
			r = th_get(fd, &k, &got);
			if (!r && got != mval[k])
				r = -EPROTO;	/* a wrong value */
			break;
		case 6: case 7:
			want = present[k] ? 0 : -ENOENT;
			r = th_del(fd, &k);
			if (!r && !want)
				model_delete(k);
			break;
		case 8: {	/* a batch: ops in order up to the first failure */
			struct tophash_batch_op ops[8];
			uint64_t bk[8], bv[8], bgot[8];
			unsigned int i, cnt = 1 + (x >> 32) % 8;
			uint32_t done = ~0U, wdone = cnt;

			want = 0;
			for (i = 0; i < cnt; i++) {
				uint32_t op = 1 + rnd(&s) % 3;

				bk[i] = rnd(&s) % NKEY;
				bv[i] = rnd(&s);
				bgot[i] = ~0ULL;
				ops[i] = th_bop(op, op == TOPHASH_BATCH_UPDATE ? rnd(&s) % 3 : 0,
						&bk[i], op == TOPHASH_BATCH_LOOKUP ? &bgot[i] : &bv[i]);
			}
			r = th_batch(fd, ops, cnt, &done);
			for (i = 0; i < cnt && !want; i++) {
				if (ops[i].op == TOPHASH_BATCH_UPDATE) {
					want = model_update(bk[i], bv[i], ops[i].flags, true);
				} else if (ops[i].op == TOPHASH_BATCH_DELETE) {
					want = model_delete(bk[i]);
				} else {
					want = present[bk[i]] ? 0 : -ENOENT;
					if (!want && i < done && bgot[i] != mval[bk[i]])
						r = -EPROTO;
				}
				if (want)
					wdone = i;
			}
			if (done != wdone)
				r = -EPROTO;
			break;
		}
		default:
			if (x % 1000 == 9) {	/* now and then a clear */
				want = 0;
				r = th_clear(fd, &(struct tophash_clear){ 0 });
				if (!r) {
					memset(present, 0, sizeof(present));
					mcount = 0;
				}
			} else {	/* a bad key pointer: EFAULT, no change */
				want = -EFAULT;
				r = th_put(fd, rw + 4 * PG, &v, 0);
			}
			break;
		}
		n++;
		if (r != want) {
			if (mismatches++ < 10)
				TH_LOG("op %lu (x %#llx key %llu): %d, the model says %d",
				       n, (unsigned long long)x, (unsigned long long)k, r, want);
		}
	}
	ASSERT_EQ(0, th_info(fd, &in));
	EXPECT_EQ(mcount, in.count);
	for (k = 0; k < NKEY; k++) {
		r = th_get(fd, &k, &got);
		if (r != (present[k] ? 0 : -ENOENT) || (!r && got != mval[k]))
			mismatches++;
	}
	close(fd);
	pthread_mutex_lock(&count_lock);
	n_ioctls += n + NKEY;
	pthread_mutex_unlock(&count_lock);
	TH_LOG("model%s: %lu ops, %u keys at the end, seed %#llx",
	       shrink ? " (shrink)" : "", n, mcount, (unsigned long long)seed);
	if (shrink)
		TH_LOG("shrink_pct %u: B went down %lu times (looked every 64 ops)",
		       c.shrink_pct, shrinks);
	EXPECT_EQ(0, mismatches);
}

TEST_F_TIMEOUT(FUZZ, model_phase_matches_every_result_and_the_contents, 3600)
{
	uint64_t s = seed ^ 0xabcdef12345ULL;

	model_run(_metadata, s, false, seconds / 6);
	model_run(_metadata, rnd(&s), true, seconds / 6);
}

TEST_HARNESS_MAIN
