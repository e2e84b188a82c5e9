// SPDX-License-Identifier: GPL-2.0
/*
 * Fail the Nth allocation of tophash.ko, for N = 1, 2, ... until an op makes
 * fewer allocations than N, over every op that allocates: open, create, an
 * update that starts a growth, growth work (an evacuation's overflow
 * buckets, the table of a growth's end), an insert's overflow bucket, a
 * delete's growth work, clear and batch; on a TOPHASH_F_SHRINK map also a
 * delete that starts a shrink (its half-size table and array: the delete
 * succeeds, the shrink is not started) and inserts during a shrink (growth
 * work that appends pairs of old buckets; deletes during a shrink do none
 * and allocate nothing). The background finisher is
 * paused (debugfs tophash/finisher_paused) so that it cannot move an idle
 * growth on between two snapshots. After each failed step: ENOMEM,
 * and the map exactly as before: INFO, the LAYOUT bytes, every value, the
 * module's live bytes. Uses debugfs tophash/fail_alloc (the kernel's
 * fault-injection attributes; only in kernels with
 * CONFIG_FAULT_INJECTION_DEBUG_FS, so it skips elsewhere). Needs
 * CAP_SYS_ADMIN (identity-hash keys crowd chosen buckets).
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "tophash_util.h"

#define FI TH_DBG "/fail_alloc"
#define NKEYS_MAX 2048

static int fi_write(const char *knob, const char *val)
{
	char path[128];
	int fd, n;

	snprintf(path, sizeof(path), FI "/%s", knob);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* The background finisher would move a shrink on between two snapshots. */
static int th_finisher_pause(bool on)
{
	int fd = open(TH_DBG "/finisher_paused", O_WRONLY), n;

	if (fd < 0)
		return -errno;
	n = write(fd, on ? "Y" : "N", 1);
	close(fd);
	return n == 1 ? 0 : -EIO;
}

static long long fi_read(const char *knob)
{
	char path[128];

	snprintf(path, sizeof(path), FI "/%s", knob);
	return th_read_ll(path);
}

/* Arm: the @n-th allocation of this task in tophash.ko fails, once. */
static int fi_fail_nth(long n)
{
	char v[32];

	snprintf(v, sizeof(v), "%ld", n);
	if (fi_write("times", "0") || fi_write("space", v))
		return -EIO;
	return fi_write("times", "1");
}

/* Disarm; true when the armed failure happened. */
static bool fi_disarm(void)
{
	bool hit = fi_read("times") == 0;

	fi_write("times", "0");
	return hit;
}

/* What must not change across a failed op. */
struct snap {
	struct tophash_info in;
	uint8_t *layout;
	uint64_t layout_len;
	uint64_t vals[NKEYS_MAX];
	long long live;
};

/* The model: keys in the map and their values. */
static uint64_t keys[NKEYS_MAX], vals[NKEYS_MAX];
static unsigned int nkeys;

/* live_bytes settles as RCU frees run: wait until only @bytes remain. */
static long long live_settled(uint64_t bytes)
{
	long long v = -1;
	int i;

	for (i = 0; i < 5000; i++) {
		v = th_read_ll(TH_DBG "/live_bytes");
		if (v == (long long)bytes)
			break;
		usleep(1000);
	}
	return v;
}

static int snap_take(int fd, struct snap *s)
{
	struct tophash_layout lo = { .size = sizeof(lo) };
	struct tophash_batch_op *ops;
	unsigned int i;
	uint32_t done;
	int r;

	memset(s->vals, 0, sizeof(s->vals));
	r = th_info(fd, &s->in);
	if (r)
		return r;
	r = th_err(ioctl(fd, TOPHASH_IOC_LAYOUT, &lo));
	if (r != -ENOSPC && r)
		return r;
	s->layout = malloc(lo.buf_len + 1);
	if (!s->layout)
		return -ENOMEM;
	lo.buf = (uintptr_t)s->layout;
	r = th_err(ioctl(fd, TOPHASH_IOC_LAYOUT, &lo));
	if (r)
		return r;
	s->layout_len = lo.buf_len;
	if (nkeys) {
		ops = calloc(nkeys, sizeof(*ops));
		if (!ops)
			return -ENOMEM;
		for (i = 0; i < nkeys; i++)
			ops[i] = th_bop(TOPHASH_BATCH_LOOKUP, 0, &keys[i], &s->vals[i]);
		r = th_batch(fd, ops, nkeys, &done);
		free(ops);
		if (r)
			return r;
	}
	s->live = th_read_ll(TH_DBG "/live_bytes");
	return 0;
}

/* NULL when @a and @b are the same map state. */
static const char *snap_diff(const struct snap *a, const struct snap *b)
{
	static char why[160];
	unsigned int i;

	if (memcmp(&a->in, &b->in, sizeof(a->in))) {
		snprintf(why, sizeof(why),
			 "INFO changed: count %llu->%llu B %u->%u nevacuate %llu->%llu bytes %llu->%llu flags %#x->%#x",
			 (unsigned long long)a->in.count, (unsigned long long)b->in.count,
			 a->in.B, b->in.B, (unsigned long long)a->in.nevacuate,
			 (unsigned long long)b->in.nevacuate, (unsigned long long)a->in.bytes,
			 (unsigned long long)b->in.bytes, a->in.flags, b->in.flags);
		return why;
	}
	if (a->layout_len != b->layout_len ||
	    memcmp(a->layout, b->layout, a->layout_len))
		return "LAYOUT bytes changed";
	for (i = 0; i < nkeys; i++)
		if (a->vals[i] != b->vals[i] || a->vals[i] != vals[i]) {
			snprintf(why, sizeof(why), "value of key %#llx changed",
				 (unsigned long long)keys[i]);
			return why;
		}
	if (a->live != b->live) {
		snprintf(why, sizeof(why), "live bytes %lld->%lld", a->live, b->live);
		return why;
	}
	return NULL;
}

enum op { OP_PUT, OP_DEL, OP_CLEAR, OP_BATCH, NOPS };
static const char *const op_name[NOPS] = { "update", "delete", "clear", "batch" };

/* Failure points swept per op kind, and the most in one op. */
static unsigned long points[NOPS], most[NOPS];
/* On a map that shrinks: deletes whose shrink start failed, failures mid-shrink. */
static unsigned long shrink_start_failed, failed_mid_shrink;
/* The ops a failed batch completed. */
static uint32_t batch_done;

static int run_op(int fd, enum op op, uint64_t key, uint64_t val)
{
	struct tophash_batch_op ops[3];
	uint64_t k[3] = { key, key + 1, key + 2 }, v[3] = { val, val, val };
	struct tophash_clear cl;
	uint32_t done;
	int i;

	switch (op) {
	case OP_PUT:
		return th_put(fd, &key, &val, TOPHASH_ANY);
	case OP_DEL:
		return th_del(fd, &key);
	case OP_CLEAR:
		return th_clear(fd, &cl);
	default:
		for (i = 0; i < 3; i++)
			ops[i] = th_bop(TOPHASH_BATCH_UPDATE, TOPHASH_ANY, &k[i], &v[i]);
		done = 0;
		i = th_batch(fd, ops, 3, &done);
		batch_done = done;
		return i;
	}
}

static void model_put(uint64_t key, uint64_t val)
{
	unsigned int i;

	for (i = 0; i < nkeys; i++)
		if (keys[i] == key) {
			vals[i] = val;
			return;
		}
	keys[nkeys] = key;
	vals[nkeys++] = val;
}

static void model_apply(enum op op, uint64_t key, uint64_t val)
{
	unsigned int i;

	if (op == OP_CLEAR) {
		nkeys = 0;
	} else if (op == OP_DEL) {
		for (i = 0; i < nkeys; i++)
			if (keys[i] == key) {
				keys[i] = keys[--nkeys];
				vals[i] = vals[nkeys];
				break;
			}
	} else if (op == OP_BATCH) {
		for (i = 0; i < 3; i++)
			model_put(key + i, val);
	} else {
		model_put(key, val);
	}
}

/* Run @op with its 1st, 2nd, ... allocation failing, then unfailed. */
static void sweep(struct __test_metadata *_metadata, int fd, enum op op,
		  uint64_t key, uint64_t val)
{
	struct snap before, after;
	const char *why;
	unsigned long n;
	int r;

	for (n = 1;; n++) {
		ASSERT_EQ(0, th_info(fd, &before.in));
		live_settled(before.in.bytes);
		ASSERT_EQ(0, snap_take(fd, &before));
		ASSERT_EQ(before.in.bytes, before.live) TH_LOG("live bytes did not settle");
		ASSERT_EQ(0, fi_fail_nth(n));
		r = run_op(fd, op, key, val);
		if (!fi_disarm()) {
			free(before.layout);
			ASSERT_EQ(0, r) TH_LOG("%s %#llx unfailed: %d", op_name[op],
					       (unsigned long long)key, r);
			break;
		}
		if (op == OP_DEL && !r && (before.in.flags & TOPHASH_INFO_SHRINK)) {
			/* Only the shrink this delete would start failed. */
			ASSERT_EQ(0, th_info(fd, &after.in));
			ASSERT_EQ(0, after.in.flags & TOPHASH_INFO_GROWING)
				TH_LOG("delete %#llx, allocation %lu failed: a shrink started",
				       (unsigned long long)key, n);
			ASSERT_EQ(before.in.count - 1, after.in.count);
			ASSERT_EQ(before.in.B, after.in.B);
			free(before.layout);
			shrink_start_failed++;
			points[op]++;
			break;
		}
		if (before.in.flags & TOPHASH_INFO_SHRINKING)
			failed_mid_shrink++;
		ASSERT_EQ(-ENOMEM, r) TH_LOG("%s %#llx, allocation %lu failed: %d",
					     op_name[op], (unsigned long long)key, n, r);
		if (op == OP_BATCH && batch_done) {
			/*
			 * A batch is not atomic: the ops before the failed one
			 * stay done (uapi/tophash.h). Check them in the model
			 * and go on from there.
			 */
			unsigned int j;

			for (j = 0; j < batch_done; j++)
				model_put(key + j, val);
			free(before.layout);
			ASSERT_EQ(0, snap_take(fd, &after)) TH_LOG("a done op's key is missing");
			for (j = 0; j < nkeys; j++)
				ASSERT_EQ(vals[j], after.vals[j]);
			free(after.layout);
			points[op]++;
			continue;
		}
		ASSERT_EQ(0, snap_take(fd, &after));
		why = snap_diff(&before, &after);
		ASSERT_EQ(NULL, why) TH_LOG("%s %#llx, allocation %lu failed: %s",
					    op_name[op], (unsigned long long)key, n, why);
		free(before.layout);
		free(after.layout);
		points[op]++;
	}
	if (n - 1 > most[op])
		most[op] = n - 1;
	model_apply(op, key, val);
}

/* Keys of the identity hash: bucket @b, tophash byte @top, distinct @n. */
static uint64_t ik(uint64_t b, uint8_t top, uint32_t n)
{
	return th_ikey(b, top, n);
}

FIXTURE(FAILALLOC) {
	int fd;
	bool absent;
};

FIXTURE_SETUP(FAILALLOC)
{
	struct stat st;
	int f;

	self->fd = -1;
	self->absent = stat(FI, &st) != 0;
	if (self->absent)
		return;
	ASSERT_EQ(0, fi_write("times", "0"));
	ASSERT_EQ(0, fi_write("probability", "100"));
	ASSERT_EQ(0, fi_write("interval", "1"));
	ASSERT_EQ(0, fi_write("verbose", "0"));
	ASSERT_EQ(0, fi_write("task-filter", "Y"));
	/* An idle growth's finisher must not move it between two snapshots. */
	ASSERT_EQ(0, th_finisher_pause(true));
	/* Only this task's allocations fail. */
	f = open("/proc/self/make-it-fail", O_WRONLY);
	ASSERT_LE(0, f);
	ASSERT_EQ(2, write(f, "1\n", 2));
	close(f);
	nkeys = 0;
	memset(points, 0, sizeof(points));
	memset(most, 0, sizeof(most));
}

FIXTURE_TEARDOWN(FAILALLOC)
{
	if (self->fd >= 0)
		close(self->fd);
	fi_write("times", "0");
	th_finisher_pause(false);
}

TEST_F_TIMEOUT(FAILALLOC, open_and_create_fail_cleanly_at_every_allocation, 600)
{
	struct tophash_create c = {
		.size = sizeof(c), .key_size = 8, .value_size = 8, .size_hint = 1000,
	}, before;
	struct tophash_info in;
	unsigned long n, swept = 0;
	long long live0;
	int fd, r;

	if (self->absent)
		SKIP(return, "no " FI " (a kernel without CONFIG_FAULT_INJECTION_DEBUG_FS)");
	live0 = live_settled(0);
	ASSERT_EQ(0, live0) TH_LOG("maps of earlier tests still hold memory");
	ASSERT_EQ(0, fi_fail_nth(1));
	fd = open(TH_DEV, O_RDWR);
	EXPECT_TRUE(fi_disarm());
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(ENOMEM, errno);
	if (fd >= 0)
		close(fd);
	for (n = 1;; n++) {
		fd = open(TH_DEV, O_RDWR);
		ASSERT_LE(0, fd);
		before = c;
		ASSERT_EQ(0, fi_fail_nth(n));
		r = th_err(ioctl(fd, TOPHASH_IOC_CREATE, &c));
		if (!fi_disarm()) {
			EXPECT_EQ(0, r);
			close(fd);
			break;
		}
		swept++;
		EXPECT_EQ(-ENOMEM, r);
		EXPECT_EQ(0, memcmp(&before, &c, sizeof(c))) TH_LOG("a refused CREATE wrote its struct");
		EXPECT_EQ(-EINVAL, th_info(fd, &in)) TH_LOG("a map after a failed CREATE");
		EXPECT_EQ(0, th_read_ll(TH_DBG "/live_bytes"));
		/* The file takes a CREATE after the failed one. */
		EXPECT_EQ(0, th_err(ioctl(fd, TOPHASH_IOC_CREATE, &c)));
		close(fd);
		EXPECT_EQ(0, live_settled(0));
	}
	TH_LOG("create: %lu failure points swept", swept);
	EXPECT_LE(3, swept) TH_LOG("id, table and array each failed");
}

/*
 * Crowded chains: overflow buckets on insert and in evacuation, doubling
 * and same-size growth, deletes during growth, batches and clears.
 */
TEST_F_TIMEOUT(FAILALLOC, every_write_fails_cleanly_at_every_allocation, 1200)
{
	uint64_t i, r = 1;
	int op;

	if (self->absent)
		SKIP(return, "no " FI " (a kernel without CONFIG_FAULT_INJECTION_DEBUG_FS)");
	self->fd = th_create(8, 8, TOPHASH_F_IDENTITY_HASH);
	ASSERT_LE(0, self->fd);
	for (i = 0; i < 400; i++) {
		struct tophash_info in;

		ASSERT_EQ(0, th_info(self->fd, &in));
		sweep(_metadata, self->fd, OP_PUT, ik(i % 5, 5 + i % 251, i), i);
		if (i % 3 == 2 && (in.flags & TOPHASH_INFO_GROWING) && nkeys)
			sweep(_metadata, self->fd, OP_DEL, keys[(i * 7) % nkeys], 0);
		if (i % 50 == 25)
			sweep(_metadata, self->fd, OP_BATCH, ik(i % 7, 9, 4000 + i), i);
	}
	for (i = 0; i < 300; i++) {
		r = r * 6364136223846793005ULL + 1442695040888963407ULL;
		if ((r >> 60) < 6 || !nkeys)
			sweep(_metadata, self->fd, OP_PUT,
			      ik((r >> 8) % 7, 5 + (r >> 16) % 250, (r >> 24) % 64), r);
		else
			sweep(_metadata, self->fd, OP_DEL, keys[(r >> 8) % nkeys], 0);
		if (i == 150)
			sweep(_metadata, self->fd, OP_CLEAR, 0, 0);
	}
	sweep(_metadata, self->fd, OP_CLEAR, 0, 0);
	for (op = 0; op < NOPS; op++)
		TH_LOG("%s: %lu failure points swept, at most %lu in one op",
		       op_name[op], points[op], most[op]);
	/* update: buffer, then a growth's table, array, overflow, done table. */
	EXPECT_LE(4, most[OP_PUT]);
	EXPECT_LE(2, most[OP_DEL]);
	EXPECT_LE(2, most[OP_CLEAR]);
	EXPECT_LE(1, most[OP_BATCH]);
}

/*
 * A map that shrinks (threshold 40%, no size hint), filled and drained
 * over and over: deletes that start a shrink (each with its table, then
 * its array failing: the delete succeeds, nothing of the shrink is left,
 * and the delete is undone to fail the next allocation), then updates and
 * deletes while the shrink appends pairs of crowded old buckets.
 */
TEST_F_TIMEOUT(FAILALLOC, shrink_starts_and_writes_mid_shrink_fail_cleanly, 1200)
{
	struct tophash_create c = {
		.size = sizeof(c), .key_size = 8, .value_size = 8,
		.flags = TOPHASH_F_IDENTITY_HASH | TOPHASH_F_SHRINK,
		.shrink_pct = TOPHASH_SHRINK_MAX_PCT,
	};
	struct tophash_info in, after;
	unsigned long starts = 0, failed, n;
	uint64_t i, r = 5, key;
	int cycle, rr;

	if (self->absent)
		SKIP(return, "no " FI " (a kernel without CONFIG_FAULT_INJECTION_DEBUG_FS)");
	self->fd = open(TH_DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, th_err(ioctl(self->fd, TOPHASH_IOC_CREATE, &c)));
	shrink_start_failed = failed_mid_shrink = 0;
	for (cycle = 0; cycle < 3; cycle++) {
		for (i = 0; i < 300; i++) {
			r = r * 6364136223846793005ULL + 1442695040888963407ULL;
			sweep(_metadata, self->fd, OP_PUT,
			      ik((r >> 8) % 37, 5 + (r >> 16) % 250, (r >> 24) % 1024), r);
		}
		while (nkeys > 10) {
			r = r * 6364136223846793005ULL + 1442695040888963407ULL;
			ASSERT_EQ(0, th_info(self->fd, &in));
			key = keys[(r >> 8) % nkeys];
			/* The delete that will start a shrink: each allocation of the start. */
			if (!(in.flags & TOPHASH_INFO_GROWING) && in.B > 0 &&
			    (in.count - 1) * 100 < (uint64_t)c.shrink_pct * 8 << in.B) {
				memset(&after, 0, sizeof(after));
				failed = 0;
				for (n = 1;; n++) {
					ASSERT_EQ(0, fi_fail_nth(n));
					rr = th_del(self->fd, &key);
					if (!fi_disarm())
						break;
					if (rr == -ENOMEM) {	/* the ioctl's buffer: nothing done */
						ASSERT_EQ(0, th_info(self->fd, &after));
						ASSERT_EQ(in.count, after.count);
						continue;
					}
					ASSERT_EQ(0, rr);
					failed++;
					ASSERT_EQ(0, th_info(self->fd, &after));
					ASSERT_EQ(0, after.flags & TOPHASH_INFO_GROWING)
						TH_LOG("allocation %lu failed, a shrink started", n);
					ASSERT_EQ(in.B, after.B);
					ASSERT_EQ(in.count - 1, after.count);
					ASSERT_EQ(after.bytes, live_settled(after.bytes));
					shrink_start_failed++;
					/* undo the delete (under the load factor) */
					ASSERT_EQ(0, th_put(self->fd, &key, &vals[(r >> 8) % nkeys],
							    TOPHASH_ANY));
					ASSERT_EQ(0, th_info(self->fd, &after));
					if (after.flags & TOPHASH_INFO_GROWING)
						break;	/* its overflow bucket: a same-size growth */
				}
				if (after.flags & TOPHASH_INFO_GROWING)
					continue;
				ASSERT_EQ(0, rr);
				ASSERT_EQ(0, th_info(self->fd, &after));
				ASSERT_TRUE(after.flags & TOPHASH_INFO_SHRINKING);
				EXPECT_EQ(2, failed) TH_LOG("a table, an array");
				starts++;
				model_apply(OP_DEL, key, 0);
				continue;
			}
			/*
			 * Deletes move no shrink on (and the finisher is
			 * paused): mid-shrink, half the writes insert, to end it.
			 */
			if (in.flags & TOPHASH_INFO_SHRINKING ? r >> 63 : r >> 61)
				sweep(_metadata, self->fd, OP_DEL, key, 0);
			else
				sweep(_metadata, self->fd, OP_PUT,
				      ik((r >> 8) % 37, 5 + (r >> 16) % 250, (r >> 24) % 1024), r);
		}
	}
	TH_LOG("%lu shrinks started, %lu failed starts, %lu failures mid-shrink",
	       starts, shrink_start_failed, failed_mid_shrink);
	EXPECT_LE(6, starts);
	EXPECT_LE(2 * starts, shrink_start_failed);
	EXPECT_LT(0, failed_mid_shrink);
}

TEST_HARNESS_MAIN
