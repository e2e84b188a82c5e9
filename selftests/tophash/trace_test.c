// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests of the tophash tracepoints through tracefs: a scripted op
 * sequence on an identity-hash map produces exactly the expected events, in
 * order, with the expected bucket, depth, slot, tophash and kind; an
 * evacuation reports the deleted slots it drops; and tracing changes no
 * result of the map.
 *
 * Events are read from a tracefs instance of our own, so other users of
 * the global buffer are left alone. Identity hashing: bucket = key &
 * (2^B - 1), tophash = key >> 56 (th_ikey() builds keys). size_hint 14
 * gives B = 2 (4 buckets), which doubles at the 27th key.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "tophash_util.h"

#define TRACEFS		"/sys/kernel/tracing"
#define INST		TRACEFS "/instances/tophash_trace_test"
#define MAXEV		4096
#define MAXF		16

/* One event as TP_printk shows it: name and its key=value fields. */
struct ev {
	char name[40];
	int nf;
	char key[MAXF][16];
	char val[MAXF][24];
};

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

/* A tracefs instance with every tophash event on, its buffer empty. */
static int trace_start(void)
{
	if (access(TRACEFS "/events/tophash", F_OK))
		return -ENOENT;
	/*
	 * No comm recording: it would hook sched_switch/sched_wakeup each time
	 * events go on or off, and the live-patching of the scheduler that this
	 * takes (text_poke_bp) can livelock the other vCPU under QEMU TCG. The
	 * flag is top-level only; a new instance inherits it.
	 */
	write_file(TRACEFS "/options/record-cmd", "0");
	if (mkdir(INST, 0755) && errno != EEXIST)
		return -errno;
	if (write_file(INST "/buffer_size_kb", "8192") ||
	    write_file(INST "/events/tophash/enable", "1") ||
	    write_file(INST "/trace", ""))
		return -EIO;
	return 0;
}

static void trace_stop(void)
{
	write_file(INST "/events/tophash/enable", "0");
	rmdir(INST);
}

/* Parse the instance's buffer: events of map @id only, in order. */
static int trace_read(uint32_t id, struct ev *evs, int max)
{
	FILE *f = fopen(INST "/trace", "r");
	char line[512], want[24];
	int n = 0;

	if (!f)
		return -errno;
	snprintf(want, sizeof(want), "map=%u ", id);
	while (n < max && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, ": tophash_"), *tok, *save;
		struct ev *e = &evs[n];

		if (line[0] == '#' || !p || !strstr(p, want))
			continue;
		p += 2;
		memset(e, 0, sizeof(*e));
		tok = strtok_r(p, ": \n", &save);
		snprintf(e->name, sizeof(e->name), "%s", tok);
		while ((tok = strtok_r(NULL, " \n", &save)) && e->nf < MAXF) {
			char *eq = strchr(tok, '=');

			if (!eq)
				continue;
			*eq = '\0';
			snprintf(e->key[e->nf], sizeof(e->key[0]), "%s", tok);
			snprintf(e->val[e->nf], sizeof(e->val[0]), "%s", eq + 1);
			e->nf++;
		}
		n++;
	}
	fclose(f);
	return n;
}

static const char *field(const struct ev *e, const char *k)
{
	int i;

	for (i = 0; i < e->nf; i++)
		if (!strcmp(e->key[i], k))
			return e->val[i];
	return "";
}

static long long num(const struct ev *e, const char *k)
{
	return strtoll(field(e, k), NULL, 0);
}

/* Describe an event on one line, for failure messages. */
static const char *show(const struct ev *e)
{
	static char s[256];
	int i, o;

	o = snprintf(s, sizeof(s), "%s", e->name);
	for (i = 0; i < e->nf && o < (int)sizeof(s); i++)
		o += snprintf(s + o, sizeof(s) - o, " %s=%s", e->key[i], e->val[i]);
	return s;
}

/* An expected assign or delete: what the script promises. */
struct want {
	const char *name;	/* tophash_assign or tophash_delete */
	uint32_t bucket, depth, slot;
	uint8_t top;
	const char *kind;	/* assign: kind; delete: rest count as text */
};

FIXTURE(TRACE) {
	int fd;
	uint32_t id;
	struct ev *evs;
};

FIXTURE_SETUP(TRACE)
{
	int r = trace_start();

	if (r == -ENOENT)
		SKIP(return, "no tracefs events/tophash (tracefs not mounted?)");
	ASSERT_EQ(0, r);
	self->fd = th_create_full(8, 8, 14, 0, TOPHASH_F_IDENTITY_HASH, &self->id);
	if (self->fd == -EPERM)
		SKIP(return, "identity hashing needs CAP_SYS_ADMIN");
	ASSERT_LE(0, self->fd);
	self->evs = calloc(MAXEV, sizeof(*self->evs));
	ASSERT_NE(NULL, self->evs);
}

FIXTURE_TEARDOWN(TRACE)
{
	if (self->fd >= 0)
		close(self->fd);
	free(self->evs);
	trace_stop();
}

/* Bucket-0 keys: top byte 0x80 + i; low bits 0 or 4, so a doubling to B=3
 * sends even i to X (bucket 0) and odd i to Y (bucket 4).
 */
static uint64_t k0(unsigned int i)
{
	return th_ikey(i & 1 ? 4 : 0, 0x80 + i, i + 1);
}

TEST_F(TRACE, scripted_ops_give_exactly_the_expected_events)
{
	static const struct want w[] = {
		{ "tophash_assign", 0, 0, 0, 0x80, "fresh" },
		{ "tophash_assign", 0, 0, 1, 0x81, "fresh" },
		{ "tophash_assign", 0, 0, 2, 0x82, "fresh" },
		{ "tophash_assign", 0, 0, 3, 0x83, "fresh" },
		{ "tophash_assign", 0, 0, 4, 0x84, "fresh" },
		{ "tophash_assign", 0, 0, 5, 0x85, "fresh" },
		{ "tophash_assign", 0, 0, 6, 0x86, "fresh" },
		{ "tophash_assign", 0, 0, 7, 0x87, "fresh" },
		{ "tophash_assign", 0, 1, 0, 0x88, "overflow" },	/* 9th key */
		{ "tophash_assign", 0, 0, 0, 0x80, "update" },		/* put k0 again */
		{ "tophash_delete", 0, 0, 3, 0x83, "0" },		/* emptyOne */
		{ "tophash_assign", 0, 0, 3, 0x89, "reuse" },		/* k9 reuses it */
		{ "tophash_delete", 0, 1, 0, 0x88, "1" },		/* last: emptyRest */
		{ "tophash_delete", 0, 0, 7, 0x87, "1" },		/* walks to overflow */
		{ "tophash_delete", 0, 0, 5, 0x85, "0" },		/* emptyOne */
		{ "tophash_delete", 0, 0, 6, 0x86, "2" },		/* 6 and 5 become rest */
		{ "tophash_assign", 0, 0, 5, 0x8a, "fresh" },		/* first empty: 5 */
	};
	unsigned int i, n = sizeof(w) / sizeof(w[0]);
	int got;

	for (i = 0; i < 9; i++)
		ASSERT_EQ(0, th_put64(self->fd, k0(i), i));
	ASSERT_EQ(0, th_put64(self->fd, k0(0), 100));
	ASSERT_EQ(0, th_del64(self->fd, k0(3)));
	ASSERT_EQ(0, th_put64(self->fd, k0(9), 9));
	ASSERT_EQ(0, th_del64(self->fd, k0(8)));
	ASSERT_EQ(0, th_del64(self->fd, k0(7)));
	ASSERT_EQ(0, th_del64(self->fd, k0(5)));
	ASSERT_EQ(0, th_del64(self->fd, k0(6)));
	ASSERT_EQ(0, th_put64(self->fd, k0(10), 10));
	/* failed ops trace nothing */
	EXPECT_EQ(-ENOENT, th_del64(self->fd, k0(3)));
	EXPECT_EQ(-EEXIST, th_put(self->fd, &(uint64_t){ k0(0) }, &(uint64_t){ 1 },
				  TOPHASH_NOEXIST));

	got = trace_read(self->id, self->evs, MAXEV);
	ASSERT_EQ((int)n, got);
	for (i = 0; i < n; i++) {
		const struct ev *e = &self->evs[i];
		bool is_assign = !strcmp(w[i].name, "tophash_assign");

		EXPECT_STREQ(w[i].name, e->name) TH_LOG("event %u: %s", i, show(e));
		EXPECT_EQ(w[i].bucket, num(e, "bucket")) TH_LOG("event %u: %s", i, show(e));
		EXPECT_EQ(w[i].depth, num(e, "depth")) TH_LOG("event %u: %s", i, show(e));
		EXPECT_EQ(w[i].slot, num(e, "slot")) TH_LOG("event %u: %s", i, show(e));
		EXPECT_EQ(w[i].top, num(e, "tophash")) TH_LOG("event %u: %s", i, show(e));
		EXPECT_STREQ(w[i].kind, field(e, is_assign ? "kind" : "rest")) {
			TH_LOG("event %u: %s", i, show(e));
		}
		EXPECT_EQ(1, num(e, "gen"));
		EXPECT_EQ(0, num(e, "growing"));
	}
}

TEST_F(TRACE, growth_traces_start_evacuations_drops_and_done)
{
	struct tophash_info in;
	unsigned int i, j, nstart = 0, ndone = 0, nevac = 0;
	int got, drop0 = -1, drop1 = -1, evac0 = -1, start = -1;
	uint64_t k;

	/* bucket 0: k0(0..8) with overflow, then delete 5..8: 5,6,7 and the
	 * overflow's slot 0 are deleted (all emptyRest after the walk), 3 is
	 * deleted and stays emptyOne (4 is full after it).
	 */
	for (i = 0; i < 9; i++)
		ASSERT_EQ(0, th_put64(self->fd, k0(i), i));
	for (i = 8; i >= 5; i--)
		ASSERT_EQ(0, th_del64(self->fd, k0(i)));
	ASSERT_EQ(0, th_del64(self->fd, k0(3)));
	/* buckets 1..3: 7 keys each: 4 + 21 = 25 entries; two more in bucket 1
	 * make 27 > 26: the 27th starts a doubling to B=3 and its growWork
	 * evacuates old bucket 1 and old bucket 0 (nevacuate).
	 */
	for (j = 1; j < 4; j++)
		for (i = 0; i < 7; i++)
			ASSERT_EQ(0, th_put64(self->fd, th_ikey(j, 0x40 + i, 100 + i), 1));
	ASSERT_EQ(0, th_put64(self->fd, th_ikey(1, 0x50, 200), 1));
	ASSERT_EQ(0, th_put64(self->fd, th_ikey(1, 0x51, 201), 1));
	ASSERT_EQ(0, th_info(self->fd, &in));
	ASSERT_EQ(3, in.B);
	/* drive the growth to its end */
	for (k = 0; k < 8 && (in.flags & TOPHASH_INFO_GROWING); k++) {
		ASSERT_EQ(0, th_put64(self->fd, th_ikey(k, 0x60, 300 + k), 1));
		ASSERT_EQ(0, th_info(self->fd, &in));
	}
	ASSERT_EQ(0, in.flags & TOPHASH_INFO_GROWING);

	got = trace_read(self->id, self->evs, MAXEV);
	ASSERT_LT(0, got);
	for (i = 0; i < (unsigned int)got; i++) {
		const struct ev *e = &self->evs[i];

		if (!strcmp(e->name, "tophash_grow_start")) {
			nstart++;
			start = i;
			EXPECT_EQ(3, num(e, "B"));
			EXPECT_EQ(0, num(e, "same_size"));
			EXPECT_STREQ("1->2", field(e, "gen"));
		} else if (!strcmp(e->name, "tophash_grow_done")) {
			ndone++;
		} else if (!strcmp(e->name, "tophash_evacuate")) {
			nevac++;
			if (num(e, "bucket") == 0)
				evac0 = i;
		} else if (!strcmp(e->name, "tophash_evacuate_drop") &&
			   num(e, "bucket") == 0) {
			if (num(e, "depth") == 0)
				drop0 = i;
			else if (num(e, "depth") == 1)
				drop1 = i;
		}
	}
	EXPECT_EQ(1, nstart);
	EXPECT_EQ(1, ndone);
	EXPECT_EQ(4, nevac);	/* every old bucket once */
	ASSERT_LE(0, evac0);
	ASSERT_LE(0, drop0);
	ASSERT_LE(0, drop1);
	EXPECT_LT(start, drop0);
	/* the drops of a chain come right before its evacuate event */
	EXPECT_EQ(evac0 - 2, drop0);
	EXPECT_EQ(evac0 - 1, drop1);
	/* primary: 3 (emptyOne), 5, 6, 7 (emptyRest) */
	EXPECT_EQ(0xe8, num(&self->evs[drop0], "empty"));
	EXPECT_EQ(0x08, num(&self->evs[drop0], "deleted"));
	/* overflow bucket: all 8 empty, none emptyOne */
	EXPECT_EQ(0xff, num(&self->evs[drop1], "empty"));
	EXPECT_EQ(0x00, num(&self->evs[drop1], "deleted"));
	/* k0(0), k0(2), k0(4) to X; k0(1) to Y */
	EXPECT_EQ(3, num(&self->evs[evac0], "x"));
	EXPECT_EQ(1, num(&self->evs[evac0], "y"));
	EXPECT_EQ(1, num(&self->evs[evac0], "dropped"));
	EXPECT_EQ(1, num(&self->evs[evac0], "released"));
	EXPECT_EQ(2, num(&self->evs[evac0], "depth"));
	EXPECT_STREQ("1->2", field(&self->evs[evac0], "gen"));
}

TEST_F(TRACE, clear_is_traced_with_what_it_reclaimed)
{
	struct tophash_clear cl;
	unsigned int i;
	int got;

	for (i = 0; i < 9; i++)
		ASSERT_EQ(0, th_put64(self->fd, k0(i), i));
	ASSERT_EQ(0, th_clear(self->fd, &cl));
	got = trace_read(self->id, self->evs, MAXEV);
	ASSERT_EQ(10, got);
	EXPECT_STREQ("tophash_clear", self->evs[9].name);
	EXPECT_EQ(9, num(&self->evs[9], "entries"));
	EXPECT_EQ(1, num(&self->evs[9], "overflow"));
	EXPECT_EQ(0, num(&self->evs[9], "destroy"));
	EXPECT_STREQ("1->2", field(&self->evs[9], "gen"));
}

/*
 * Every op that emits an event, on an identity-hash map of B = 2 that
 * shrinks: assigns of each kind, deletes, a doubling whose evacuations drop
 * deleted slots (the scenario of growth_traces_start_evacuations_drops_and_done),
 * a shrink that the background finisher ends, a clear, and the destroy of
 * close(). Returns the map's id through @id, or -errno.
 */
static int every_event_workload(uint32_t *id)
{
	struct tophash_clear cl;
	unsigned int i, j;
	int fd, r = 0;

	fd = th_create_full(8, 8, 14, 0, TOPHASH_F_IDENTITY_HASH | TOPHASH_F_SHRINK, id);
	if (fd < 0)
		return fd;
	for (i = 0; i < 9 && !r; i++)
		r = th_put64(fd, k0(i), i);
	for (i = 8; i >= 5 && !r; i--)
		r = th_del64(fd, k0(i));
	if (!r)
		r = th_del64(fd, k0(3));
	for (j = 1; j < 4 && !r; j++)
		for (i = 0; i < 7 && !r; i++)
			r = th_put64(fd, th_ikey(j, 0x40 + i, 100 + i), 1);
	/* the 26th and 27th keys: a doubling starts, old bucket 0 is evacuated */
	for (i = 0; i < 2 && !r; i++)
		r = th_put64(fd, th_ikey(1, 0x50 + i, 200 + i), 1);
	for (i = 0; i < 8 && !r; i++)
		r = th_put64(fd, th_ikey(i, 0x60, 300 + i), 1);
	/* 35 entries at B = 3; down to 14: a shrink to B = 2 starts at 15 */
	for (j = 1; j < 4 && !r; j++)
		for (i = 0; i < 7 && !r; i++)
			r = th_del64(fd, th_ikey(j, 0x40 + i, 100 + i));
	/* and the background finisher ends it (tophash_finish), a second or two later */
	for (i = 0; i < 100 && !r; i++) {
		struct tophash_info in;

		r = th_info(fd, &in);
		if (!(in.flags & TOPHASH_INFO_GROWING))
			break;
		usleep(100000);
	}
	if (!r)
		r = th_clear(fd, &cl);
	close(fd);
	return r;
}

/*
 * Each tophash event enabled alone fires, and is the only one that does:
 * perf, bpftrace and tracefs users enable single events. (tophash_evacuate_drop
 * once fired only when tophash_evacuate was enabled too.) The list is read
 * from tracefs, so a new event is covered without editing this test.
 */
/* No state: a longer timeout (the finisher runs a second or two after each shrink). */
FIXTURE(EACH_EVENT) {
	int unused;
};

FIXTURE_SETUP(EACH_EVENT)
{
}

FIXTURE_TEARDOWN(EACH_EVENT)
{
}

TEST_F_TIMEOUT(EACH_EVENT, each_event_fires_when_it_alone_is_enabled, 300)
{
	static const char *const expected[] = {
		"tophash_assign", "tophash_delete", "tophash_evacuate",
		"tophash_evacuate_drop", "tophash_grow_start",
		"tophash_grow_done", "tophash_clear", "tophash_finish",
	};
	char names[32][40], path[256];
	unsigned int i, j, nnames = 0, seen;
	struct dirent *de;
	struct ev *evs;
	uint32_t id = 0;
	DIR *d;
	int r, got;

	r = trace_start();
	if (r == -ENOENT)
		SKIP(return, "no tracefs events/tophash (tracefs not mounted?)");
	ASSERT_EQ(0, r);
	evs = calloc(MAXEV, sizeof(*evs));
	ASSERT_NE(NULL, evs);
	d = opendir(INST "/events/tophash");
	ASSERT_NE(NULL, d);
	while ((de = readdir(d)) && nnames < 32)
		if (!strncmp(de->d_name, "tophash_", 8))
			snprintf(names[nnames++], sizeof(names[0]), "%.39s", de->d_name);
	closedir(d);
	/* the known events are all there (a typo in the list would pass) */
	for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		for (j = 0; j < nnames && strcmp(names[j], expected[i]); j++)
			;
		EXPECT_GT(nnames, j) TH_LOG("%s missing in tracefs", expected[i]);
	}
	for (i = 0; i < nnames; i++) {
		ASSERT_EQ(0, write_file(INST "/events/tophash/enable", "0"));
		snprintf(path, sizeof(path), INST "/events/tophash/%.39s/enable",
			 names[i]);
		ASSERT_EQ(0, write_file(path, "1"));
		ASSERT_EQ(0, write_file(INST "/trace", ""));
		r = every_event_workload(&id);
		if (r == -EPERM) {
			free(evs);
			trace_stop();
			SKIP(return, "identity hashing needs CAP_SYS_ADMIN");
		}
		ASSERT_EQ(0, r) TH_LOG("workload for %s", names[i]);
		got = trace_read(id, evs, MAXEV);
		ASSERT_LE(0, got);
		for (seen = 0, j = 0; j < (unsigned int)got; j++) {
			if (!strcmp(evs[j].name, names[i]))
				seen++;
			else
				EXPECT_STREQ(names[i], evs[j].name) {
					TH_LOG("%s fired with only %s enabled",
					       evs[j].name, names[i]);
				}
		}
		EXPECT_LT(0, seen) TH_LOG("%s did not fire when enabled alone",
					 names[i]);
		TH_LOG("%s alone: %u events", names[i], seen);
	}
	free(evs);
	trace_stop();
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = (*s += 0x9e3779b97f4a7c15ULL);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Run a seeded op sequence; return a digest of every result and value. */
static uint64_t workload(int fd, unsigned int ops)
{
	uint64_t s = 42, digest = 0, k, v;
	unsigned int i;
	int r;

	for (i = 0; i < ops; i++) {
		uint64_t x = rnd(&s);

		k = x % 3000;
		switch ((x >> 32) % 4) {
		case 0:
		case 1:
			r = th_put(fd, &k, &x, (x >> 40) % 3);
			break;
		case 2:
			r = th_del64(fd, k);
			break;
		default:
			v = 0;
			r = th_get64(fd, k, &v);
			digest = digest * 31 + v;
			break;
		}
		digest = digest * 31 + (uint64_t)(r + 100);
	}
	return digest;
}

/* No state: only a longer timeout for the slow debug kernels. */
FIXTURE(TRACED_RUN) {
	int unused;
};

FIXTURE_SETUP(TRACED_RUN)
{
}

FIXTURE_TEARDOWN(TRACED_RUN)
{
}

TEST_F_TIMEOUT(TRACED_RUN, tracing_changes_no_result, 300)
{
	struct tophash_info a, b;
	uint64_t off, on;
	int fa, fb, r;

	fa = th_create(8, 8, 0);
	ASSERT_LE(0, fa);
	fb = th_create(8, 8, 0);
	ASSERT_LE(0, fb);
	off = workload(fa, 20000);
	r = trace_start();
	if (r == -ENOENT)
		SKIP(return, "no tracefs events/tophash");
	ASSERT_EQ(0, r);
	on = workload(fb, 20000);
	trace_stop();
	EXPECT_EQ(off, on);
	ASSERT_EQ(0, th_info(fa, &a));
	ASSERT_EQ(0, th_info(fb, &b));
	EXPECT_EQ(a.count, b.count);
	EXPECT_EQ(a.B, b.B);
	close(fa);
	close(fb);
}

TEST_HARNESS_MAIN
