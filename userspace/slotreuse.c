// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * slotreuse: how long the deleted slots of tophash maps wait before an
 * assign reuses them, and how many an evacuation discards unreused.
 *
 * Loads bpf/slotreuse.bpf.c (raw_tp programs on the tophash tracepoints)
 * through its skeleton and prints log2 histograms and counts every interval,
 * as text or JSON. With --pin it leaves the programs attached and the maps
 * pinned under bpffs, so the aggregation goes on with no loader running;
 * --read prints the pinned maps and --unpin detaches everything.
 */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "slotreuse.h"
#include "slotreuse.skel.h"

#define MODULE_DIR	"/sys/module/tophash"
#define LINK_PREFIX	"link_"
#define BAR_WIDTH	40
#define UNPIN_WAIT_MS	10000

enum mode { MODE_TRACE, MODE_PIN, MODE_READ, MODE_UNPIN };

enum {
	OPT_PIN = 0x100,
	OPT_READ,
	OPT_UNPIN,
	OPT_MAX_PENDING,
};

static struct env {
	enum mode mode;
	const char *dir;
	__u32 map_id;
	__u32 max_pending;
	bool milliseconds;
	bool timestamp;
	bool json;
	bool verbose;
	bool tuned;		/* -M, -m or --max-pending given */
	int nargs;		/* interval and count given */
	time_t interval;
	long times;
} env = {
	.max_pending = MAX_PENDING,
	.interval = 99999999,
	.times = 99999999,
};

static volatile sig_atomic_t exiting;

const char *argp_program_version = "slotreuse 0.1";
const char argp_program_doc[] =
"Summarize how long deleted slots of tophash maps wait for reuse.\n"
"\n"
"A delete opens a window on its slot (map id, generation, bucket, depth,\n"
"slot); an assign into that slot closes it as a reuse, an evacuation that\n"
"discards it as a drop, a clear or destroy of the map as cleared.\n"
"Histograms: delete -> reuse latency (all, and split by whether the map was\n"
"growing when the slot was DELETED), age of dropped slots, evacuation time\n"
"per old bucket (always nsecs), grow start -> done.\n"
"\n"
"USAGE: slotreuse [--help] [-T] [-m] [-j] [-M ID] [interval] [count]\n"
"       slotreuse --pin DIR [-m] [-M ID] | --read DIR [-j] [-T] | --unpin DIR\n"
"\n"
"EXAMPLES:\n"
"    slotreuse              # summarize until Ctrl-C\n"
"    slotreuse 1 10         # print 1 second summaries, 10 times\n"
"    slotreuse -mT 1        # 1s summaries, milliseconds, and timestamps\n"
"    slotreuse -M 3         # only map id 3\n"
"    slotreuse -j -M 3 5 1  # one JSON object after 5 seconds\n"
"    slotreuse --pin /sys/fs/bpf/slotreuse    # attach, pin and exit\n"
"    slotreuse --read /sys/fs/bpf/slotreuse   # print the pinned maps\n"
"    slotreuse --unpin /sys/fs/bpf/slotreuse  # detach, remove the pins\n";

static const struct argp_option opts[] = {
	{ "map", 'M', "ID", 0, "Trace this map id only", 0 },
	{ "milliseconds", 'm', NULL, 0, "Latencies in milliseconds (default usecs)", 0 },
	{ "timestamp", 'T', NULL, 0, "Print a timestamp with each summary", 0 },
	{ "json", 'j', NULL, 0, "One JSON object per interval", 0 },
	{ "verbose", 'v', NULL, 0, "Verbose libbpf debug output", 0 },
	{ "max-pending", OPT_MAX_PENDING, "N", 0,
	  "Deleted slots tracked at once (default 65536)", 0 },
	{ "pin", OPT_PIN, "DIR", 0,
	  "Attach, pin links and maps under DIR (bpffs) and exit", 0 },
	{ "read", OPT_READ, "DIR", 0, "Print the maps pinned under DIR", 0 },
	{ "unpin", OPT_UNPIN, "DIR", 0, "Detach and remove the pins under DIR", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show the full help", 0 },
	{},
};

static int parse_ulong(const char *arg, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || *out > max)
		return -1;
	return 0;
}

static int set_mode(struct argp_state *state, enum mode mode, char *dir)
{
	if (env.mode != MODE_TRACE) {
		argp_error(state, "--pin, --read and --unpin exclude each other");
		return ARGP_ERR_UNKNOWN;
	}
	env.mode = mode;
	env.dir = dir;
	return 0;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	unsigned long v;

	switch (key) {
	case 'h':
		argp_state_help(state, stderr, ARGP_HELP_STD_HELP);
		break;
	case 'v':
		env.verbose = true;
		break;
	case 'T':
		env.timestamp = true;
		break;
	case 'j':
		env.json = true;
		break;
	case 'm':
		env.milliseconds = true;
		env.tuned = true;
		break;
	case 'M':
		if (parse_ulong(arg, UINT_MAX, &v) || !v)
			argp_error(state, "invalid map id: %s", arg);
		env.map_id = v;
		env.tuned = true;
		break;
	case OPT_MAX_PENDING:
		if (parse_ulong(arg, 1U << 24, &v) || !v)
			argp_error(state, "invalid --max-pending: %s", arg);
		env.max_pending = v;
		env.tuned = true;
		break;
	case OPT_PIN:
		return set_mode(state, MODE_PIN, arg);
	case OPT_READ:
		return set_mode(state, MODE_READ, arg);
	case OPT_UNPIN:
		return set_mode(state, MODE_UNPIN, arg);
	case ARGP_KEY_ARG:
		if (parse_ulong(arg, INT_MAX, &v) || !v)
			argp_error(state, "invalid %s: %s",
				   state->arg_num ? "count" : "interval", arg);
		if (state->arg_num == 0)
			env.interval = v;
		else if (state->arg_num == 1)
			env.times = v;
		else
			argp_error(state, "unrecognized positional argument: %s", arg);
		env.nargs++;
		break;
	case ARGP_KEY_END:
		if (env.mode != MODE_TRACE && env.nargs)
			argp_error(state, "interval and count are for tracing only");
		if ((env.mode == MODE_READ || env.mode == MODE_UNPIN) && env.tuned)
			argp_error(state, "-M, -m and --max-pending are fixed at --pin");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int libbpf_print_fn(enum libbpf_print_level level, const char *format,
			   va_list args)
{
	if (level == LIBBPF_DEBUG && !env.verbose)
		return 0;
	return vfprintf(stderr, format, args);
}

static void sig_handler(int sig)
{
	(void)sig;
	exiting = 1;
}

/* ---- what we print -------------------------------------------------- */

/* One summary: the histograms, the counts and the pending slots. */
struct summary {
	struct slotreuse_hists hists;
	struct slotreuse_counts counts;
	__u64 pending;
	__u32 map_id;
	bool ms;
};

struct hist_desc {
	const char *name;	/* JSON key */
	const char *title;	/* text heading */
	size_t off;		/* in struct slotreuse_hists */
	bool ns;		/* always nanoseconds */
};

static const struct hist_desc hist_descs[] = {
	{ "reuse", "delete -> reuse latency, every reused slot",
	  offsetof(struct slotreuse_hists, reuse), false },
	{ "reuse_growing", "delete -> reuse latency, deleted while growing",
	  offsetof(struct slotreuse_hists, reuse_growing), false },
	{ "reuse_stable", "delete -> reuse latency, deleted while not growing",
	  offsetof(struct slotreuse_hists, reuse_stable), false },
	{ "drop_age", "age of deleted slots dropped by an evacuation",
	  offsetof(struct slotreuse_hists, drop_age), false },
	{ "evacuate", "evacuation time per old bucket chain",
	  offsetof(struct slotreuse_hists, evacuate_ns), true },
	{ "grow", "grow start -> grow done",
	  offsetof(struct slotreuse_hists, grow), false },
};

struct count_desc {
	const char *name;
	size_t off;		/* in struct slotreuse_counts */
};

#define COUNT(f) { #f, offsetof(struct slotreuse_counts, f) }
static const struct count_desc count_descs[] = {
	COUNT(assign_update), COUNT(assign_fresh), COUNT(assign_reuse),
	COUNT(assign_overflow), COUNT(deletes), COUNT(reuses), COUNT(drops),
	COUNT(cleared), COUNT(lost), COUNT(evacuations), COUNT(grows),
	COUNT(same_size_grows), COUNT(grows_done), COUNT(clears),
	COUNT(destroys), COUNT(shrinks), COUNT(shrinks_done),
	COUNT(shrink_bytes),
};

static const struct hist *summary_hist(const struct summary *s,
				       const struct hist_desc *d)
{
	return (const struct hist *)((const char *)&s->hists + d->off);
}

static __u64 summary_count(const struct summary *s, const struct count_desc *d)
{
	return *(const __u64 *)((const char *)&s->counts + d->off);
}

static const char *unit_name(const struct summary *s, const struct hist_desc *d)
{
	if (d->ns)
		return "nsecs";
	return s->ms ? "msecs" : "usecs";
}

/* Slots up to the last non-empty one; 0 when the histogram is empty. */
static int hist_len(const struct hist *h)
{
	int n = MAX_SLOTS;

	while (n > 0 && !h->slots[n - 1])
		n--;
	return n;
}

static __u64 slot_low(int i)
{
	return i ? 1ULL << i : 0;
}

static __u64 slot_high(int i)
{
	return (1ULL << (i + 1)) - 1;
}

static void print_stars(__u32 val, __u32 max)
{
	int n = max ? (int)((__u64)val * BAR_WIDTH / max) : 0;
	int i;

	for (i = 0; i < BAR_WIDTH; i++)
		putchar(i < n ? '*' : ' ');
}

static void print_log2_hist(const struct hist *h, const char *unit)
{
	int i, n = hist_len(h);
	__u32 max = 0;

	for (i = 0; i < n; i++)
		if (h->slots[i] > max)
			max = h->slots[i];
	printf("%6s%-20s : count    distribution\n", "", unit);
	for (i = 0; i < n; i++) {
		printf("%12llu -> %-10llu : %-8u |", slot_low(i), slot_high(i),
		       h->slots[i]);
		print_stars(h->slots[i], max);
		printf("|\n");
	}
}

static void print_time(void)
{
	char buf[16];
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
	printf("%s\n", buf);
}

static void print_text(const struct summary *s)
{
	const struct slotreuse_counts *c = &s->counts;
	size_t i;

	if (env.timestamp)
		print_time();
	printf("Assigns by kind: update %llu, fresh %llu, reuse %llu, overflow %llu\n",
	       c->assign_update, c->assign_fresh, c->assign_reuse,
	       c->assign_overflow);
	printf("Deleted slots: %llu deleted, %llu reused, %llu dropped, %llu cleared, %llu pending, %llu lost\n",
	       c->deletes, c->reuses, c->drops, c->cleared, s->pending, c->lost);
	printf("Growth: %llu started (%llu same-size), %llu done, %llu old buckets evacuated; %llu clears, %llu destroys\n",
	       c->grows, c->same_size_grows, c->grows_done, c->evacuations,
	       c->clears, c->destroys);
	printf("Shrink: %llu started, %llu done, %llu bytes given back\n",
	       c->shrinks, c->shrinks_done, c->shrink_bytes);
	for (i = 0; i < sizeof(hist_descs) / sizeof(hist_descs[0]); i++) {
		const struct hist *h = summary_hist(s, &hist_descs[i]);

		printf("\n%s\n", hist_descs[i].title);
		if (!hist_len(h))
			printf("%6s(no samples)\n", "");
		else
			print_log2_hist(h, unit_name(s, &hist_descs[i]));
	}
	printf("\n");
}

static void print_json_hist(const struct hist *h, const char *unit)
{
	int i, n = hist_len(h);
	__u64 total = 0;

	for (i = 0; i < MAX_SLOTS; i++)
		total += h->slots[i];
	printf("{\"unit\":\"%s\",\"total\":%llu,\"buckets\":[", unit, total);
	for (i = 0; i < n; i++)
		printf("%s{\"low\":%llu,\"high\":%llu,\"count\":%u}", i ? "," : "",
		       slot_low(i), slot_high(i), h->slots[i]);
	printf("]}");
}

/* One object on one line, so a reader can take the output line by line. */
static void print_json(const struct summary *s)
{
	size_t i;

	printf("{\"ts\":%lld,", (long long)time(NULL));
	if (env.timestamp) {
		char buf[16];
		time_t t = time(NULL);
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
		printf("\"time\":\"%s\",", buf);
	}
	printf("\"map_id\":%u,\"unit\":\"%s\",\"counts\":{", s->map_id,
	       s->ms ? "msecs" : "usecs");
	for (i = 0; i < sizeof(count_descs) / sizeof(count_descs[0]); i++)
		printf("\"%s\":%llu,", count_descs[i].name,
		       summary_count(s, &count_descs[i]));
	printf("\"pending\":%llu},\"hists\":{", s->pending);
	for (i = 0; i < sizeof(hist_descs) / sizeof(hist_descs[0]); i++) {
		printf("%s\"%s\":", i ? "," : "", hist_descs[i].name);
		print_json_hist(summary_hist(s, &hist_descs[i]),
				unit_name(s, &hist_descs[i]));
	}
	printf("}}\n");
}

static void print_summary(const struct summary *s)
{
	if (env.json)
		print_json(s);
	else
		print_text(s);
	fflush(stdout);
}

/* ---- reading the maps ---------------------------------------------- */

static int count_pending(int fd, __u64 *n)
{
	struct slot_key key, next;
	void *prev = NULL;

	*n = 0;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		(*n)++;
		key = next;
		prev = &key;
	}
	if (errno != ENOENT) {
		fprintf(stderr, "slotreuse: failed to walk the pending map: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

static int read_summary(int hists_fd, int counts_fd, int pending_fd,
			struct summary *s)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(hists_fd, &zero, &s->hists) ||
	    bpf_map_lookup_elem(counts_fd, &zero, &s->counts)) {
		fprintf(stderr, "slotreuse: failed to read the maps: %s\n",
			strerror(errno));
		return -1;
	}
	return count_pending(pending_fd, &s->pending);
}

static int reset_summary(int hists_fd, int counts_fd)
{
	static const struct slotreuse_hists zh;
	static const struct slotreuse_counts zc;
	__u32 zero = 0;

	if (bpf_map_update_elem(hists_fd, &zero, &zh, BPF_ANY) ||
	    bpf_map_update_elem(counts_fd, &zero, &zc, BPF_ANY)) {
		fprintf(stderr, "slotreuse: failed to clear the maps: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- checks before loading ------------------------------------------ */

static const char *const events[] = {
	"tophash_assign", "tophash_delete", "tophash_evacuate",
	"tophash_evacuate_drop", "tophash_grow_start", "tophash_grow_done",
	"tophash_clear",
};

static bool exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

/* Say clearly what is missing: the module, or its tracepoints. */
static int check_module(void)
{
	static const char *const roots[] = {
		"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events",
	};
	const char *root = NULL;
	char path[256];
	size_t i;

	if (!exists(MODULE_DIR)) {
		fprintf(stderr, "slotreuse: the tophash module is not loaded (no %s); insmod tophash.ko first\n",
			MODULE_DIR);
		return -1;
	}
	for (i = 0; i < sizeof(roots) / sizeof(roots[0]) && !root; i++)
		if (exists(roots[i]))
			root = roots[i];
	if (!root)
		return 0;	/* no tracefs mounted: the attach will tell */
	snprintf(path, sizeof(path), "%s/tophash", root);
	if (!exists(path)) {
		fprintf(stderr, "slotreuse: tophash is loaded but has no tracepoints (no %s)\n",
			path);
		return -1;
	}
	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		snprintf(path, sizeof(path), "%s/tophash/%s", root, events[i]);
		if (!exists(path)) {
			fprintf(stderr, "slotreuse: tracepoint tophash:%s is missing (no %s); the module is older than this tool\n",
				events[i], path);
			return -1;
		}
	}
	return 0;
}

/* ---- pinning -------------------------------------------------------- */

/* The pin name of a map: its own, or "rodata" for the .rodata map. */
static const char *map_pin_name(const struct bpf_map *map)
{
	const char *name = bpf_map__name(map);
	const char *dot = strrchr(name, '.');

	return dot ? dot + 1 : name;
}

static int pin_path(char *buf, size_t len, const char *prefix, const char *name)
{
	int n = snprintf(buf, len, "%s/%s%s", env.dir, prefix, name);

	if (n < 0 || (size_t)n >= len) {
		fprintf(stderr, "slotreuse: path too long: %s\n", env.dir);
		return -1;
	}
	return 0;
}

/* Remove every pin we know of under env.dir; the ids of programs detached. */
static int remove_pins(struct slotreuse_bpf *obj, __u32 *prog_ids, int *nprogs,
		       int *removed)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	char path[PATH_MAX];
	int err = 0, fd;

	*nprogs = 0;
	*removed = 0;
	bpf_object__for_each_program(prog, obj->obj) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);

		if (pin_path(path, sizeof(path), LINK_PREFIX, bpf_program__name(prog)))
			return -1;
		fd = bpf_obj_get(path);
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) && prog_ids)
			prog_ids[(*nprogs)++] = info.prog_id;
		if (fd >= 0)
			close(fd);
		if (!unlink(path)) {
			(*removed)++;
		} else if (errno != ENOENT) {
			fprintf(stderr, "slotreuse: failed to remove %s: %s\n",
				path, strerror(errno));
			err = -1;
		}
	}
	bpf_object__for_each_map(map, obj->obj) {
		if (pin_path(path, sizeof(path), "", map_pin_name(map)))
			return -1;
		if (!unlink(path)) {
			(*removed)++;
		} else if (errno != ENOENT) {
			fprintf(stderr, "slotreuse: failed to remove %s: %s\n",
				path, strerror(errno));
			err = -1;
		}
	}
	if (rmdir(env.dir) && errno != ENOENT) {
		fprintf(stderr, "slotreuse: failed to remove %s: %s\n", env.dir,
			strerror(errno));
		err = -1;
	}
	return err;
}

static bool dir_empty(const char *path)
{
	struct dirent *de;
	bool empty = true;
	DIR *d = opendir(path);

	if (!d)
		return false;
	while (empty && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = false;
	closedir(d);
	return empty;
}

/*
 * Pin the links and the maps. The links keep the programs attached after we
 * exit; the module stays referenced until --unpin.
 */
static int pin_all(struct slotreuse_bpf *obj)
{
	struct bpf_object_skeleton *s = obj->skeleton;
	char path[PATH_MAX];
	struct bpf_map *map;
	int i, err, removed, n;

	if (mkdir(env.dir, 0700)) {
		err = errno;
		if (err != EEXIST) {
			fprintf(stderr, "slotreuse: cannot create %s: %s\n",
				env.dir, strerror(err));
			return -1;
		}
		if (!dir_empty(env.dir)) {
			fprintf(stderr, "slotreuse: %s is not an empty directory (--unpin it first?)\n",
				env.dir);
			return -1;
		}
	}
	for (i = 0; i < s->prog_cnt; i++) {
		struct bpf_link *link = *s->progs[i].link;

		if (pin_path(path, sizeof(path), LINK_PREFIX, s->progs[i].name))
			goto out_unpin;
		err = bpf_link__pin(link, path);
		if (err) {
			fprintf(stderr, "slotreuse: failed to pin %s: %s\n", path,
				strerror(-err));
			goto out_unpin;
		}
	}
	bpf_object__for_each_map(map, obj->obj) {
		if (pin_path(path, sizeof(path), "", map_pin_name(map)))
			goto out_unpin;
		err = bpf_map__pin(map, path);
		if (err) {
			fprintf(stderr, "slotreuse: failed to pin %s: %s\n", path,
				strerror(-err));
			goto out_unpin;
		}
	}
	/* The pins own the links now: do not detach them on destroy. */
	for (i = 0; i < s->prog_cnt; i++)
		bpf_link__disconnect(*s->progs[i].link);
	return 0;

out_unpin:
	remove_pins(obj, NULL, &n, &removed);
	return -1;
}

/* Detach and unpin; return once the programs are gone from the kernel. */
static int unpin(void)
{
	__u32 ids[sizeof(events) / sizeof(events[0]) + 1];
	struct slotreuse_bpf *obj;
	int err, i, n, removed, waited;

	if (!exists(env.dir)) {
		fprintf(stderr, "slotreuse: nothing pinned at %s\n", env.dir);
		return -1;
	}
	obj = slotreuse_bpf__open();	/* for the names only: no load */
	if (!obj) {
		fprintf(stderr, "slotreuse: failed to open BPF object\n");
		return -1;
	}
	if ((int)(sizeof(ids) / sizeof(ids[0])) < obj->skeleton->prog_cnt) {
		fprintf(stderr, "slotreuse: internal error: too many programs\n");
		slotreuse_bpf__destroy(obj);
		return -1;
	}
	err = remove_pins(obj, ids, &n, &removed);
	slotreuse_bpf__destroy(obj);
	if (!err && !removed) {
		fprintf(stderr, "slotreuse: no slotreuse pins under %s\n", env.dir);
		return -1;
	}
	/*
	 * The last reference of a pinned link goes after an RCU grace period
	 * and a workqueue; wait until its program is freed, which is after
	 * the tracepoint (and the module reference) is released.
	 */
	for (i = 0; i < n; i++) {
		for (waited = 0; waited < UNPIN_WAIT_MS; waited += 10) {
			int fd = bpf_prog_get_fd_by_id(ids[i]);

			if (fd < 0 && errno == ENOENT)
				break;
			if (fd >= 0)
				close(fd);
			usleep(10000);
		}
		if (waited >= UNPIN_WAIT_MS) {
			fprintf(stderr, "slotreuse: program id %u still loaded after unpin\n",
				ids[i]);
			err = -1;
		}
	}
	return err;
}

/* The options the pinned programs were loaded with, from their .rodata. */
static int read_config(int fd, struct summary *s)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0;
	union {
		struct slotreuse_bpf__rodata ro;
		char buf[256];
	} v = {};

	if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
	    info.value_size > sizeof(v.buf) ||
	    bpf_map_lookup_elem(fd, &zero, &v)) {
		fprintf(stderr, "slotreuse: cannot read the pinned rodata map\n");
		return -1;
	}
	s->map_id = v.ro.targ_map_id;
	s->ms = v.ro.targ_ms;
	return 0;
}

static int open_pinned(const char *name, __u32 value_size)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	if (pin_path(path, sizeof(path), "", name))
		return -1;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		fprintf(stderr, "slotreuse: cannot open %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (value_size && (bpf_obj_get_info_by_fd(fd, &info, &len) ||
			   info.value_size != value_size)) {
		fprintf(stderr, "slotreuse: %s is not a slotreuse map of this version\n",
			path);
		close(fd);
		return -1;
	}
	return fd;
}

/* --read: print what the pinned maps hold, without clearing them. */
static int read_pinned(void)
{
	int hists_fd, counts_fd = -1, pending_fd = -1, ro_fd = -1, err = -1;
	struct summary s = {};

	hists_fd = open_pinned("hists", sizeof(s.hists));
	if (hists_fd < 0)
		goto out;
	counts_fd = open_pinned("counts", sizeof(s.counts));
	if (counts_fd < 0)
		goto out;
	pending_fd = open_pinned("pending", sizeof(struct slot_info));
	if (pending_fd < 0)
		goto out;
	ro_fd = open_pinned("rodata", 0);
	if (ro_fd < 0 || read_config(ro_fd, &s))
		goto out;
	if (read_summary(hists_fd, counts_fd, pending_fd, &s))
		goto out;
	print_summary(&s);
	err = 0;
out:
	if (ro_fd >= 0)
		close(ro_fd);
	if (pending_fd >= 0)
		close(pending_fd);
	if (counts_fd >= 0)
		close(counts_fd);
	if (hists_fd >= 0)
		close(hists_fd);
	return err;
}

/* ---- tracing -------------------------------------------------------- */

/*
 * Sleep for an interval or until SIGINT/SIGTERM. The signals are blocked
 * outside pselect(), so one that lands before we wait cuts the wait short
 * instead of being missed.
 */
static void wait_interval(const sigset_t *unblocked)
{
	struct timespec end, now, left;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += env.interval;
	while (!exiting) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left.tv_sec = end.tv_sec - now.tv_sec;
		left.tv_nsec = end.tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0) {
			left.tv_nsec += 1000000000L;
			left.tv_sec--;
		}
		if (left.tv_sec < 0)
			return;
		pselect(0, NULL, NULL, NULL, &left, unblocked);
	}
}

static int setup_signals(sigset_t *unblocked)
{
	struct sigaction sa = { .sa_handler = sig_handler };
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &block, unblocked) ||
	    sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL)) {
		fprintf(stderr, "slotreuse: cannot set up signals: %s\n",
			strerror(errno));
		return -1;
	}
	sigdelset(unblocked, SIGINT);
	sigdelset(unblocked, SIGTERM);
	return 0;
}

static int trace(struct slotreuse_bpf *obj, const sigset_t *unblocked)
{
	int hists_fd = bpf_map__fd(obj->maps.hists);
	int counts_fd = bpf_map__fd(obj->maps.counts);
	int pending_fd = bpf_map__fd(obj->maps.pending);
	struct summary s = { .map_id = env.map_id, .ms = env.milliseconds };

	/* After attach: a caller may start its workload on this line. */
	fprintf(stderr, "Tracing tophash slot reuse... Hit Ctrl-C to end.\n");
	while (1) {
		wait_interval(unblocked);
		if (read_summary(hists_fd, counts_fd, pending_fd, &s) ||
		    reset_summary(hists_fd, counts_fd))
			return -1;
		print_summary(&s);
		if (exiting || --env.times == 0)
			break;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.args_doc = "[interval [count]]",
		.doc = argp_program_doc,
	};
	struct slotreuse_bpf *obj = NULL;
	sigset_t unblocked;
	int err;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return 1;
	libbpf_set_print(libbpf_print_fn);

	if (geteuid()) {
		fprintf(stderr, "slotreuse: must run as root (it loads BPF programs)\n");
		return 1;
	}
	if (env.mode == MODE_UNPIN) {
		if (unpin())
			return 1;
		fprintf(stderr, "slotreuse: detached and unpinned %s\n", env.dir);
		return 0;
	}
	if (env.mode == MODE_READ)
		return read_pinned() || fflush(stdout) || ferror(stdout);
	if (check_module())
		return 1;
	/*
	 * Before loading, which is slow on an emulated guest: a SIGINT from
	 * then on ends the run after its first summary. (A shell starts
	 * background jobs with SIGINT ignored; this installs our handler.)
	 */
	if (env.mode == MODE_TRACE && setup_signals(&unblocked))
		return 1;

	obj = slotreuse_bpf__open();
	if (!obj) {
		fprintf(stderr, "slotreuse: failed to open BPF object\n");
		return 1;
	}
	obj->rodata->targ_map_id = env.map_id;
	obj->rodata->targ_ms = env.milliseconds;
	err = bpf_map__set_max_entries(obj->maps.pending, env.max_pending);
	if (err) {
		fprintf(stderr, "slotreuse: failed to size the pending map: %s\n",
			strerror(-err));
		goto cleanup;
	}
	err = slotreuse_bpf__load(obj);
	if (err) {
		fprintf(stderr, "slotreuse: failed to load BPF object: %s\n",
			strerror(-err));
		goto cleanup;
	}
	err = slotreuse_bpf__attach(obj);
	if (err) {
		fprintf(stderr, "slotreuse: failed to attach to the tophash tracepoints: %s\n",
			strerror(-err));
		goto cleanup;
	}
	if (env.mode == MODE_PIN) {
		err = pin_all(obj);
		if (!err)
			fprintf(stderr, "slotreuse: pinned under %s; read with --read, remove with --unpin\n",
				env.dir);
		goto cleanup;
	}
	err = trace(obj, &unblocked);

cleanup:
	slotreuse_bpf__destroy(obj);
	if (fflush(stdout) || ferror(stdout))
		err = -1;	/* a summary was lost */
	return err ? 1 : 0;
}
