// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests of the slotreuse tool: it runs as a child process against
 * identity-hash maps this test drives through /dev/tophash, with -M on the
 * test map's id, and its counts must match what the workload is known to
 * do: every deleted slot an insert lands on is a reuse, every deleted slot
 * an evacuation discards is a drop, a clear or destroy closes the rest.
 *
 * slotreuse prints "Tracing..." on stderr once attached; the workload starts
 * only then, and SIGINT makes it print its summary and exit. The tracepoint
 * programs run inside each ioctl, so the counts are complete as soon as the
 * workload's last ioctl returns: nothing here depends on timing.
 *
 * Environment: SLOTREUSE (default /opt/tophash/slotreuse), BPFTOOL (default
 * bpftool from PATH), TOPHASH_KO (to reload the module the pin test unloads).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "tophash_util.h"

#define PIN_DIR		"/sys/fs/bpf/slotreuse_selftest"
#define READY_MSG	"Tracing"
#define READY_TIMEOUT_MS 120000
#define TOP		0x40	/* top byte of every key: tophash 0x40 */

/* ---- running slotreuse ---------------------------------------------- */

static const char *sr_bin(void)
{
	const char *p = getenv("SLOTREUSE");

	return p ? p : "/opt/tophash/slotreuse";
}

static const char *bpftool_bin(void)
{
	const char *p = getenv("BPFTOOL");

	return p ? p : "bpftool";
}

/* A traced run in the background: its stdout goes to a file. */
struct sr_run {
	pid_t pid;
	int out_fd;		/* the stdout file, unlinked */
	int err_fd;		/* read end of its stderr */
	char err[4096];		/* stderr read while waiting for READY_MSG */
	size_t err_len;
};

static void sr_init(struct sr_run *r)
{
	memset(r, 0, sizeof(*r));
	r->pid = -1;
	r->out_fd = -1;
	r->err_fd = -1;
}

static int tmpfile_fd(void)
{
	char path[] = "/tmp/slotreuse_test.XXXXXX";
	int fd = mkstemp(path);

	if (fd >= 0)
		unlink(path);
	return fd;
}

/*
 * fork + exec @argv with stdout to @out_fd and stderr to @err_fd. Every
 * other descriptor is closed: a child holding a map's /dev/tophash file
 * would keep the map alive after the test closes it.
 */
static pid_t spawn(char *const argv[], int out_fd, int err_fd)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	dup2(out_fd, STDOUT_FILENO);
	dup2(err_fd, STDERR_FILENO);
	syscall(SYS_close_range, 3U, ~0U, 0U);
	execvp(argv[0], argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Read all of @fd from its start into a NUL-terminated malloc()ed string. */
static char *slurp(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;

	if (!buf || lseek(fd, 0, SEEK_SET) < 0) {
		free(buf);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	return buf;
}

/*
 * Start `slotreuse ARGS...` and wait until it says it is attached.
 * Returns 0, or -1 with r->err holding what it printed before failing.
 */
static int sr_start(struct sr_run *r, const char *const args[])
{
	char *argv[16] = { (char *)sr_bin() };
	int i, p[2], waited = 0;

	sr_init(r);
	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = (char *)args[i];
	r->out_fd = tmpfile_fd();
	if (r->out_fd < 0 || pipe2(p, O_CLOEXEC))
		return -1;
	r->pid = spawn(argv, r->out_fd, p[1]);
	close(p[1]);
	r->err_fd = p[0];
	if (r->pid < 0)
		return -1;
	while (!strstr(r->err, READY_MSG)) {
		struct pollfd pfd = { .fd = r->err_fd, .events = POLLIN };
		ssize_t n;

		if (waited >= READY_TIMEOUT_MS ||
		    r->err_len + 1 >= sizeof(r->err))
			return -1;
		if (poll(&pfd, 1, 1000) == 0) {
			waited += 1000;
			continue;
		}
		n = read(r->err_fd, r->err + r->err_len,
			 sizeof(r->err) - r->err_len - 1);
		if (n <= 0)
			return -1;	/* it exited before attaching */
		r->err_len += n;
		r->err[r->err_len] = '\0';
	}
	return 0;
}

/* SIGINT, wait, and return its stdout (NULL on failure); *status its exit. */
static char *sr_stop(struct sr_run *r, int *status)
{
	char *out = NULL;
	int st = -1;

	*status = -1;
	if (r->pid > 0) {
		kill(r->pid, SIGINT);
		if (waitpid(r->pid, &st, 0) == r->pid && WIFEXITED(st))
			*status = WEXITSTATUS(st);
		r->pid = -1;
	}
	if (r->out_fd >= 0)
		out = slurp(r->out_fd);
	if (r->out_fd >= 0)
		close(r->out_fd);
	if (r->err_fd >= 0)
		close(r->err_fd);
	r->out_fd = -1;
	r->err_fd = -1;
	return out;
}

/* Run @argv to its end; stdout and stderr together in *out. Its exit code. */
static int run_cmd(char *const argv[], char **out)
{
	int fd = tmpfile_fd(), st;
	pid_t pid;

	*out = NULL;
	if (fd < 0)
		return -1;
	pid = spawn(argv, fd, fd);
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		close(fd);
		return -1;
	}
	*out = slurp(fd);
	close(fd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- reading its output --------------------------------------------- */

/* The totals a summary reports, from the text or the JSON form. */
struct sr_totals {
	unsigned long long update, fresh, reuse_kind, overflow;
	unsigned long long deletes, reuses, drops, cleared, pending, lost;
	unsigned long long grows, grows_done, evacuations, clears, destroys;
	unsigned long long h_reuse, h_growing, h_stable, h_drop, h_evac, h_grow;
};

/* Sum the counts of the histogram under @title, up to the next blank line. */
static long long text_hist_total(const char *out, const char *title)
{
	const char *p = strstr(out, title);
	unsigned long long lo, hi;
	long long sum = 0;
	unsigned int n;

	if (!p)
		return -1;
	p = strchr(p, '\n');
	while (p && p[1] && p[1] != '\n') {
		p++;
		if (sscanf(p, " %llu -> %llu : %u", &lo, &hi, &n) == 3)
			sum += n;
		p = strchr(p, '\n');
	}
	return sum;
}

static int parse_text(const char *out, struct sr_totals *t)
{
	const char *a = strstr(out, "Assigns by kind:");
	const char *d = strstr(out, "Deleted slots:");
	const char *g = strstr(out, "Growth:");
	long long h[6];
	static const char *const titles[] = {
		"delete -> reuse latency, every reused slot",
		"delete -> reuse latency, deleted while growing",
		"delete -> reuse latency, deleted while not growing",
		"age of deleted slots dropped by an evacuation",
		"evacuation time per old bucket chain",
		"grow start -> grow done",
	};
	unsigned long long same;
	int i;

	memset(t, 0, sizeof(*t));
	if (!a || !d || !g ||
	    sscanf(a, "Assigns by kind: update %llu, fresh %llu, reuse %llu, overflow %llu",
		   &t->update, &t->fresh, &t->reuse_kind, &t->overflow) != 4 ||
	    sscanf(d, "Deleted slots: %llu deleted, %llu reused, %llu dropped, %llu cleared, %llu pending, %llu lost",
		   &t->deletes, &t->reuses, &t->drops, &t->cleared,
		   &t->pending, &t->lost) != 6 ||
	    sscanf(g, "Growth: %llu started (%llu same-size), %llu done, %llu old buckets evacuated; %llu clears, %llu destroys",
		   &t->grows, &same, &t->grows_done, &t->evacuations,
		   &t->clears, &t->destroys) != 6)
		return -1;
	for (i = 0; i < 6; i++) {
		h[i] = text_hist_total(out, titles[i]);
		if (h[i] < 0)
			return -1;
	}
	t->h_reuse = h[0];
	t->h_growing = h[1];
	t->h_stable = h[2];
	t->h_drop = h[3];
	t->h_evac = h[4];
	t->h_grow = h[5];
	return 0;
}

/*
 * A strict JSON checker (RFC 8259 values, no extensions): returns the end
 * of the value at @p, or NULL when it is not well-formed.
 */
static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p && *p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				int i;

				for (i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)p[i]))
						return NULL;
				p += 4;
			} else if (!strchr("\"\\/bfnrt", *p) || !*p) {
				return NULL;
			}
		}
		p++;
	}
	return *p == '"' ? p + 1 : NULL;
}

static const char *json_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (isdigit((unsigned char)*p))
			p++;
	else
		return NULL;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return p;
}

static const char *json_container(const char *p, int depth)
{
	char close = *p == '{' ? '}' : ']';
	bool object = *p == '{';

	p = json_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (object) {
			p = json_string(p);
			if (!p)
				return NULL;
			p = json_ws(p);
			if (*p++ != ':')
				return NULL;
		}
		p = json_value(p, depth + 1);
		if (!p)
			return NULL;
		p = json_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *json_value(const char *p, int depth)
{
	p = json_ws(p);
	if (depth > 32)
		return NULL;
	switch (*p) {
	case '{':
	case '[':
		return json_container(p, depth);
	case '"':
		return json_string(p);
	case 't':
		return strncmp(p, "true", 4) ? NULL : p + 4;
	case 'f':
		return strncmp(p, "false", 5) ? NULL : p + 5;
	case 'n':
		return strncmp(p, "null", 4) ? NULL : p + 4;
	default:
		return json_number(p);
	}
}

/* @s is exactly one JSON object and a newline. */
static bool json_one_object_line(const char *s)
{
	const char *end;

	if (*json_ws(s) != '{')
		return false;
	end = json_value(s, 0);
	return end && end[0] == '\n' && end[1] == '\0';
}

/* The number after "@key": at or after @from; -1 when absent. */
static long long json_num(const char *from, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = from ? strstr(from, pat) : NULL;
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* "total" of histogram @name in the "hists" object. */
static long long json_hist_total(const char *out, const char *name)
{
	char pat[64];
	const char *h = strstr(out, "\"hists\":");

	snprintf(pat, sizeof(pat), "\"%s\":{", name);
	h = h ? strstr(h, pat) : NULL;
	return h ? json_num(h, "total") : -1;
}

static int parse_json(const char *out, struct sr_totals *t)
{
	const char *c = strstr(out, "\"counts\":");
	long long v[21];
	static const char *const keys[] = {
		"assign_update", "assign_fresh", "assign_reuse",
		"assign_overflow", "deletes", "reuses", "drops", "cleared",
		"pending", "lost", "grows", "grows_done", "evacuations",
		"clears", "destroys",
	};
	static const char *const hists[] = {
		"reuse", "reuse_growing", "reuse_stable", "drop_age",
		"evacuate", "grow",
	};
	int i;

	for (i = 0; i < 15; i++)
		v[i] = json_num(c, keys[i]);
	for (i = 0; i < 6; i++)
		v[15 + i] = json_hist_total(out, hists[i]);
	for (i = 0; i < 21; i++)
		if (v[i] < 0)
			return -1;
	t->update = v[0];
	t->fresh = v[1];
	t->reuse_kind = v[2];
	t->overflow = v[3];
	t->deletes = v[4];
	t->reuses = v[5];
	t->drops = v[6];
	t->cleared = v[7];
	t->pending = v[8];
	t->lost = v[9];
	t->grows = v[10];
	t->grows_done = v[11];
	t->evacuations = v[12];
	t->clears = v[13];
	t->destroys = v[14];
	t->h_reuse = v[15];
	t->h_growing = v[16];
	t->h_stable = v[17];
	t->h_drop = v[18];
	t->h_evac = v[19];
	t->h_grow = v[20];
	return 0;
}

/* ---- workloads ------------------------------------------------------ */

/*
 * Fill buckets 0..3 of a B=4 map (8 keys each), delete 3 per bucket
 * (slots 1, 4, 6; in bucket 3 slots 5, 6, 7, which the emptyRest walk
 * turns into emptyRest), then insert 3 new keys per bucket: each lands on a
 * deleted slot. Also one update of a present key. Returns 0 or -errno.
 */
#define REUSE_BUCKETS	4
#define REUSE_PER	3
#define REUSE_K		(REUSE_BUCKETS * REUSE_PER)

static int reuse_workload(int fd)
{
	static const uint32_t del[REUSE_BUCKETS][REUSE_PER] = {
		{ 1, 4, 6 }, { 1, 4, 6 }, { 1, 4, 6 }, { 7, 6, 5 },
	};
	uint32_t b, n;
	int r;

	for (b = 0; b < REUSE_BUCKETS; b++)
		for (n = 0; n < TOPHASH_BUCKET_SLOTS; n++)
			if ((r = th_put64(fd, th_ikey(b, TOP, n), n)))
				return r;
	for (b = 0; b < REUSE_BUCKETS; b++)
		for (n = 0; n < REUSE_PER; n++)
			if ((r = th_del64(fd, th_ikey(b, TOP, del[b][n]))))
				return r;
	for (b = 0; b < REUSE_BUCKETS; b++)
		for (n = 0; n < REUSE_PER; n++)
			if ((r = th_put64(fd, th_ikey(b, TOP, 100 + n), n)))
				return r;
	return th_put64(fd, th_ikey(0, TOP, 0), 42);	/* an update */
}

/*
 * On a B=1 map: 8 keys in bucket 0, 5 in bucket 1 (13 = 6.5 * 2), delete
 * GROW_D keys of bucket 0 (slots 1 and 3 stay emptyOne, 6 and 7 become
 * emptyRest), then insert into bucket 1 only: 3 fill it, 1 opens an
 * overflow bucket, and the next one (count + 1 > 13) starts a doubling
 * whose growth work evacuates both old buckets at once. Every deleted slot
 * of bucket 0 is dropped, none reused.
 */
#define GROW_D		4

static int grow_workload(int fd)
{
	static const uint32_t del[GROW_D] = { 1, 3, 7, 6 };
	uint32_t n;
	int r;

	for (n = 0; n < TOPHASH_BUCKET_SLOTS; n++)
		if ((r = th_put64(fd, th_ikey(0, TOP, n), n)))
			return r;
	for (n = 0; n < 5; n++)
		if ((r = th_put64(fd, th_ikey(1, TOP, n), n)))
			return r;
	for (n = 0; n < GROW_D; n++)
		if ((r = th_del64(fd, th_ikey(0, TOP, del[n]))))
			return r;
	for (n = 5; n < 10; n++)
		if ((r = th_put64(fd, th_ikey(1, TOP, n), n)))
			return r;
	return 0;
}

static void id_arg(char *buf, size_t len, uint32_t id)
{
	snprintf(buf, len, "%u", id);
}

/* ---- tests ---------------------------------------------------------- */

/* Why slotreuse cannot run here, or NULL. */
static const char *sr_unavailable(void)
{
	if (geteuid())
		return "slotreuse loads BPF programs: needs root";
	if (access(sr_bin(), X_OK))
		return "no slotreuse binary (set SLOTREUSE)";
	return NULL;
}

/*
 * In this harness a SKIP() in FIXTURE_SETUP does not stop the test body,
 * so setup records the reason and each test skips on it first.
 */
#define SR_REQUIRE() do {						\
	if (self->skip)							\
		SKIP(return, "%s", self->skip);				\
} while (0)

FIXTURE(SLOTREUSE) {
	const char *skip;
	int fd;
	uint32_t id;
	char id_s[16];
	struct sr_run run;
	struct sr_run run2;
};

FIXTURE_SETUP(SLOTREUSE)
{
	self->fd = -1;
	sr_init(&self->run);
	sr_init(&self->run2);
	self->skip = sr_unavailable();
}

FIXTURE_TEARDOWN(SLOTREUSE)
{
	int st;

	free(sr_stop(&self->run, &st));
	free(sr_stop(&self->run2, &st));
	if (self->fd >= 0)
		close(self->fd);
}

/* Create an identity map of @hint, start slotreuse -M on it with @extra. */
static int start_on_map(struct __test_metadata *_metadata,
			FIXTURE_DATA(SLOTREUSE) *self, uint64_t hint)
{
	const char *args[] = { "-M", self->id_s, NULL };

	self->fd = th_create_full(8, 8, hint, 0, TOPHASH_F_IDENTITY_HASH,
				  &self->id);
	if (self->fd < 0)
		return self->fd;
	id_arg(self->id_s, sizeof(self->id_s), self->id);
	if (sr_start(&self->run, args)) {
		TH_LOG("slotreuse did not attach; it said: %s", self->run.err);
		return -1;
	}
	return 0;
}

static uint32_t map_B(int fd)
{
	struct tophash_info in;

	return th_info(fd, &in) ? ~0U : in.B;
}

TEST_F_TIMEOUT(SLOTREUSE, k_deletes_then_k_inserts_in_same_buckets_are_k_reuses, 300)
{
	struct sr_totals t;
	char *out;
	int st;

	SR_REQUIRE();
	ASSERT_EQ(0, start_on_map(_metadata, self, 64));
	ASSERT_EQ(4, map_B(self->fd));
	ASSERT_EQ(0, reuse_workload(self->fd));
	out = sr_stop(&self->run, &st);
	ASSERT_NE(NULL, out);
	EXPECT_EQ(0, st);
	ASSERT_EQ(0, parse_text(out, &t)) {
		TH_LOG("unparsable output:\n%s", out);
	}
	EXPECT_EQ(REUSE_K, t.deletes);
	EXPECT_EQ(REUSE_K, t.reuses) {
		TH_LOG("each insert lands on a deleted slot:\n%s", out);
	}
	EXPECT_EQ(REUSE_K, t.h_reuse);
	EXPECT_EQ(REUSE_K, t.h_stable);
	EXPECT_EQ(0, t.h_growing);
	EXPECT_EQ(0, t.drops);
	EXPECT_EQ(0, t.cleared);
	EXPECT_EQ(0, t.pending);
	EXPECT_EQ(0, t.lost);
	/* 32 inserts into empty buckets and bucket 3's 3 emptyRest slots */
	EXPECT_EQ(REUSE_BUCKETS * 8 + REUSE_PER, t.fresh);
	EXPECT_EQ(REUSE_K - REUSE_PER, t.reuse_kind);
	EXPECT_EQ(1, t.update);
	EXPECT_EQ(0, t.overflow);
	EXPECT_EQ(0, t.grows);
	free(out);
}

TEST_F_TIMEOUT(SLOTREUSE, growth_drops_every_pending_deleted_slot, 300)
{
	struct tophash_info in;
	struct sr_totals t;
	char *out;
	int st;

	SR_REQUIRE();
	ASSERT_EQ(0, start_on_map(_metadata, self, 13));
	ASSERT_EQ(1, map_B(self->fd));
	ASSERT_EQ(0, grow_workload(self->fd));
	ASSERT_EQ(0, th_info(self->fd, &in));
	ASSERT_EQ(2, in.B);
	ASSERT_EQ(0, in.flags & TOPHASH_INFO_GROWING) {
		TH_LOG("the doubling should have finished in one step");
	}
	out = sr_stop(&self->run, &st);
	ASSERT_NE(NULL, out);
	EXPECT_EQ(0, st);
	ASSERT_EQ(0, parse_text(out, &t)) {
		TH_LOG("unparsable output:\n%s", out);
	}
	EXPECT_EQ(GROW_D, t.deletes);
	EXPECT_EQ(GROW_D, t.drops) {
		TH_LOG("emptyOne and emptyRest deleted slots both die:\n%s", out);
	}
	EXPECT_EQ(GROW_D, t.h_drop);
	EXPECT_EQ(0, t.reuses);
	EXPECT_EQ(0, t.pending);
	EXPECT_EQ(1, t.grows);
	EXPECT_EQ(1, t.grows_done);
	EXPECT_EQ(1, t.h_grow);
	EXPECT_EQ(2, t.evacuations);
	EXPECT_EQ(2, t.h_evac);
	EXPECT_EQ(1, t.overflow);
	free(out);
}

/*
 * A shrink (TOPHASH_F_SHRINK): 105 keys double the map to B = 5, the delete
 * that leaves 63 starts a shrink, the background finisher ends it with no
 * write. slotreuse counts it apart from the doublings and reports the bytes
 * it gave back: INFO's bytes before that delete less those after.
 */
TEST_F_TIMEOUT(SLOTREUSE, a_shrink_is_counted_with_the_bytes_it_gave_back, 300)
{
	struct tophash_create c = {
		.size = sizeof(c), .key_size = 8, .value_size = 8,
		.flags = TOPHASH_F_SHRINK,
	};
	const char *args[] = { "-M", self->id_s, NULL };
	unsigned long long started, done, bytes;
	struct tophash_info a, b;
	struct sr_totals t;
	const char *line;
	uint64_t k;
	char *out;
	int st, i;

	SR_REQUIRE();
	self->fd = open(TH_DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, th_err(ioctl(self->fd, TOPHASH_IOC_CREATE, &c)));
	self->id = c.id;
	id_arg(self->id_s, sizeof(self->id_s), self->id);
	ASSERT_EQ(0, sr_start(&self->run, args)) TH_LOG("%s", self->run.err);
	for (k = 0; k < 105; k++)
		ASSERT_EQ(0, th_put64(self->fd, k, k));
	for (k = 0; k < 41; k++)	/* 64 left: no shrink yet */
		ASSERT_EQ(0, th_del64(self->fd, k));
	for (i = 0; i < 100 && !th_info(self->fd, &a) &&
	     (a.flags & TOPHASH_INFO_GROWING); i++)
		usleep(50000);
	ASSERT_EQ(0, a.flags & TOPHASH_INFO_GROWING);
	ASSERT_EQ(5, a.B);
	ASSERT_EQ(0, th_del64(self->fd, k));
	for (i = 0; i < 100 && !th_info(self->fd, &b) &&
	     (b.flags & TOPHASH_INFO_GROWING); i++)
		usleep(50000);
	ASSERT_EQ(0, b.flags & TOPHASH_INFO_GROWING) TH_LOG("the finisher ends it");
	ASSERT_EQ(4, b.B);
	out = sr_stop(&self->run, &st);
	ASSERT_NE(NULL, out);
	EXPECT_EQ(0, st);
	ASSERT_EQ(0, parse_text(out, &t)) TH_LOG("unparsable output:\n%s", out);
	line = strstr(out, "Shrink:");
	ASSERT_NE(NULL, line) TH_LOG("no Shrink line:\n%s", out);
	ASSERT_EQ(3, sscanf(line, "Shrink: %llu started, %llu done, %llu bytes given back",
			    &started, &done, &bytes));
	EXPECT_EQ(1, started);
	EXPECT_EQ(1, done);
	EXPECT_EQ(a.bytes - b.bytes, bytes) TH_LOG("before %llu after %llu",
						 (unsigned long long)a.bytes,
						 (unsigned long long)b.bytes);
	EXPECT_EQ(6, t.grows) TH_LOG("5 doublings from B = 0, then the shrink");
	EXPECT_EQ(6, t.grows_done);
	free(out);
}

TEST_F_TIMEOUT(SLOTREUSE, clear_and_destroy_close_pending_windows, 300)
{
	struct tophash_clear cl;
	struct sr_totals t;
	uint32_t n;
	char *out;
	int st;

	SR_REQUIRE();
	ASSERT_EQ(0, start_on_map(_metadata, self, 64));
	for (n = 0; n < 8; n++)
		ASSERT_EQ(0, th_put64(self->fd, th_ikey(2, TOP, n), n));
	for (n = 0; n < 3; n++)
		ASSERT_EQ(0, th_del64(self->fd, th_ikey(2, TOP, n)));
	ASSERT_EQ(0, th_clear(self->fd, &cl));
	/* two more windows, then the map goes away with them open */
	ASSERT_EQ(0, th_put64(self->fd, th_ikey(5, TOP, 0), 0));
	ASSERT_EQ(0, th_put64(self->fd, th_ikey(5, TOP, 1), 1));
	ASSERT_EQ(0, th_del64(self->fd, th_ikey(5, TOP, 0)));
	ASSERT_EQ(0, th_del64(self->fd, th_ikey(5, TOP, 1)));
	close(self->fd);
	self->fd = -1;
	out = sr_stop(&self->run, &st);
	ASSERT_NE(NULL, out);
	EXPECT_EQ(0, st);
	ASSERT_EQ(0, parse_text(out, &t)) {
		TH_LOG("unparsable output:\n%s", out);
	}
	EXPECT_EQ(5, t.deletes);
	EXPECT_EQ(5, t.cleared);
	EXPECT_EQ(0, t.pending);
	EXPECT_EQ(0, t.reuses);
	EXPECT_EQ(1, t.clears);
	EXPECT_EQ(1, t.destroys);
	free(out);
}

TEST_F_TIMEOUT(SLOTREUSE, json_is_well_formed_and_matches_text, 300)
{
	const char *args[] = { "-j", "-M", self->id_s, NULL };
	struct sr_totals tt, tj;
	char *text, *json;
	int st, sj;

	SR_REQUIRE();
	ASSERT_EQ(0, start_on_map(_metadata, self, 13));
	ASSERT_EQ(0, sr_start(&self->run2, args)) {
		TH_LOG("slotreuse -j did not attach; it said: %s", self->run2.err);
	}
	/* drops from the growth, then reuses and a window left open */
	ASSERT_EQ(0, grow_workload(self->fd));
	ASSERT_EQ(0, th_del64(self->fd, th_ikey(1, TOP, 2)));
	ASSERT_EQ(0, th_del64(self->fd, th_ikey(1, TOP, 3)));
	ASSERT_EQ(0, th_put64(self->fd, th_ikey(1, TOP, 50), 0));
	json = sr_stop(&self->run2, &sj);
	text = sr_stop(&self->run, &st);
	ASSERT_NE(NULL, json);
	ASSERT_NE(NULL, text);
	EXPECT_EQ(0, sj);
	EXPECT_EQ(0, st);
	EXPECT_TRUE(json_one_object_line(json)) {
		TH_LOG("not one JSON object on one line:\n%s", json);
	}
	ASSERT_EQ(0, parse_json(json, &tj)) {
		TH_LOG("JSON lacks a count or histogram:\n%s", json);
	}
	ASSERT_EQ(0, parse_text(text, &tt)) {
		TH_LOG("unparsable output:\n%s", text);
	}
	EXPECT_EQ(0, memcmp(&tt, &tj, sizeof(tt))) {
		TH_LOG("text and JSON differ:\n%s\n%s", text, json);
	}
	EXPECT_EQ(GROW_D + 2, tj.deletes);
	EXPECT_EQ(GROW_D, tj.drops);
	EXPECT_EQ(1, tj.reuses);
	EXPECT_EQ(1, tj.pending);
	EXPECT_EQ(1, tj.h_reuse);
	free(json);
	free(text);
}

TEST(refuses_to_run_unprivileged)
{
	char *argv[] = { (char *)sr_bin(), "1", "1", NULL };
	int fd = tmpfile_fd(), st;
	pid_t pid;
	char *out;

	if (sr_unavailable())
		SKIP(return, "%s", sr_unavailable());
	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(126);
		if (access(argv[0], X_OK))
			_exit(125);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_NE(126, WEXITSTATUS(st));
	if (WEXITSTATUS(st) == 125) {
		close(fd);
		SKIP(return, "uid 65534 cannot reach %s (directory modes)",
		     sr_bin());
	}
	out = slurp(fd);
	EXPECT_NE(0, WEXITSTATUS(st));
	EXPECT_NE(127, WEXITSTATUS(st));
	EXPECT_NE(NULL, strstr(out ? out : "", "root")) {
		TH_LOG("no clear error: %s", out);
	}
	free(out);
	close(fd);
}

TEST(bad_arguments_and_missing_pins_exit_nonzero)
{
	char *bad_id[] = { (char *)sr_bin(), "-M", "0", NULL };
	char *bad_interval[] = { (char *)sr_bin(), "x", NULL };
	char *no_pins[] = { (char *)sr_bin(), "--read", PIN_DIR "_none", NULL };
	char *no_unpin[] = { (char *)sr_bin(), "--unpin", PIN_DIR "_none", NULL };
	char *read_ms[] = { (char *)sr_bin(), "--read", PIN_DIR, "-m", NULL };
	char *out;

	if (sr_unavailable())
		SKIP(return, "%s", sr_unavailable());
	EXPECT_NE(0, run_cmd(bad_id, &out));
	free(out);
	EXPECT_NE(0, run_cmd(bad_interval, &out));
	free(out);
	EXPECT_NE(0, run_cmd(no_pins, &out));
	free(out);
	EXPECT_NE(0, run_cmd(no_unpin, &out));
	free(out);
	EXPECT_NE(0, run_cmd(read_ms, &out));
	free(out);
}

static void unpin_quietly(void)
{
	char *unpin[] = { (char *)sr_bin(), "--unpin", PIN_DIR, NULL };
	char *out;

	if (!access(PIN_DIR, F_OK))
		run_cmd(unpin, &out), free(out);
}

FIXTURE(PINNED) {
	const char *skip;
};

FIXTURE_SETUP(PINNED)
{
	self->skip = sr_unavailable();
	if (!self->skip && !getenv("TOPHASH_KO"))
		self->skip = "TOPHASH_KO is not set: cannot reload the module";
	if (!self->skip)
		unpin_quietly();	/* a leftover of an earlier run */
}

/* Whatever failed, leave no programs attached and the module loaded. */
FIXTURE_TEARDOWN(PINNED)
{
	if (self->skip)
		return;
	unpin_quietly();
	if (access("/sys/module/tophash", F_OK))
		th_insmod();
}

/*
 * --pin leaves the programs attached with no loader; the counts grow while
 * nothing runs, --read and bpftool show them, rmmod is refused until
 * --unpin; with the module gone slotreuse says so. Unloads and reloads the
 * module: keep it last.
 */
TEST_F_TIMEOUT(PINNED, pin_read_unpin_round_trip, 300)
{
	char id_s[16], *out = NULL, *p;
	char *unpin[] = { (char *)sr_bin(), "--unpin", PIN_DIR, NULL };
	char *readt[] = { (char *)sr_bin(), "--read", PIN_DIR, NULL };
	char *readj[] = { (char *)sr_bin(), "--read", PIN_DIR, "-j", NULL };
	char *dump[] = { (char *)bpftool_bin(), "map", "dump", "pinned",
			 PIN_DIR "/counts", NULL };
	char *pin[] = { (char *)sr_bin(), "--pin", PIN_DIR, "-M", id_s, NULL };
	char *trace[] = { (char *)sr_bin(), "1", "1", NULL };
	struct sr_totals tt, tj;
	uint32_t id = 0;
	char pat[64];
	int fd, r;

	SR_REQUIRE();
	fd = th_create_full(8, 8, 64, 0, TOPHASH_F_IDENTITY_HASH, &id);
	ASSERT_LE(0, fd);
	id_arg(id_s, sizeof(id_s), id);
	r = run_cmd(pin, &out);
	ASSERT_EQ(0, r) {
		TH_LOG("--pin failed: %s", out);
	}
	free(out);

	/* no loader runs from here on */
	EXPECT_EQ(0, reuse_workload(fd));
	EXPECT_EQ(0, th_put64(fd, th_ikey(9, TOP, 7), 7));
	EXPECT_EQ(0, th_del64(fd, th_ikey(9, TOP, 7)));	/* left open */
	EXPECT_EQ(0, run_cmd(readt, &out));
	ASSERT_EQ(0, parse_text(out, &tt)) {
		TH_LOG("unparsable --read output:\n%s", out);
	}
	free(out);
	EXPECT_EQ(REUSE_K + 1, tt.deletes);
	EXPECT_EQ(REUSE_K, tt.reuses);
	EXPECT_EQ(REUSE_K, tt.h_reuse);
	EXPECT_EQ(1, tt.pending);

	close(fd);	/* destroy: the open window is cleared */
	EXPECT_EQ(0, run_cmd(readj, &out));
	EXPECT_TRUE(json_one_object_line(out ? out : "")) {
		TH_LOG("--read -j is not one JSON object: %s", out);
	}
	EXPECT_EQ(0, parse_json(out ? out : "", &tj));
	free(out);
	EXPECT_EQ(1, tj.cleared);
	EXPECT_EQ(0, tj.pending);
	EXPECT_EQ(1, tj.destroys);
	EXPECT_EQ(REUSE_K, tj.reuses);

	r = run_cmd(dump, &out);
	EXPECT_EQ(0, r);
	snprintf(pat, sizeof(pat), "\"reuses\": %d", REUSE_K);
	EXPECT_NE(NULL, strstr(out ? out : "", pat)) {
		TH_LOG("bpftool map dump shows no %s:\n%s", pat, out);
	}
	free(out);

	r = th_rmmod();
	EXPECT_NE(0, r) {
		TH_LOG("rmmod succeeded while programs were attached");
	}
	if (!r)
		ASSERT_EQ(0, th_insmod());

	r = run_cmd(unpin, &out);
	EXPECT_EQ(0, r) {
		TH_LOG("--unpin failed: %s", out);
	}
	free(out);
	EXPECT_NE(0, access(PIN_DIR, F_OK));
	ASSERT_EQ(0, th_rmmod()) {
		TH_LOG("rmmod refused after --unpin");
	}

	/* with the module gone, slotreuse says so and fails */
	r = run_cmd(trace, &out);
	EXPECT_NE(0, r);
	p = out ? strstr(out, "not loaded") : NULL;
	EXPECT_NE(NULL, p) {
		TH_LOG("no clear error without the module: %s", out);
	}
	free(out);
	ASSERT_EQ(0, th_insmod());
}

TEST_HARNESS_MAIN
