// SPDX-License-Identifier: GPL-2.0
/*
 * thctl - drive tophash maps through /dev/tophash
 *
 *   thctl shell [-e] [-x] [FILE]   run map ops, one per line, on one map
 *   thctl load [OPTIONS]           seeded, self-checking workload
 *   thctl layout [ID]              draw map ID's layout from debugfs
 *
 * Each open file of /dev/tophash is one map, so the map a shell or a load
 * creates lives exactly as long as the command. `thctl layout ID` looks at
 * a map that another process holds, through /sys/kernel/debug/tophash/ID/.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "tophash.h"

#define TH_DEV		"/dev/" TOPHASH_DEV_NAME
#define TH_DBG		"/sys/kernel/debug/" TOPHASH_DEV_NAME
#define LAYOUT_COLS	80
#define POLL_EVERY	1024	/* ops between INFO polls in `load` */
#define VERIFY_CHUNK	1024	/* lookups per batch in the final check */
#define MAX_KEYS	(1U << 22)	/* largest key range `load` models */
/*
 * Churn draws keys from CHURN_SPREAD times the live set, so that inserts
 * mostly bring fresh keys: with a key space barely larger than the live
 * set, how many of its keys each bucket can ever hold is frozen by the
 * seed, and some buckets would never overflow.
 */
#define CHURN_SPREAD	8

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

typedef unsigned long long ull;

static const char *prog = "thctl";

/* errno -> its name: op results are printed as names, not as prose. */
#define ERRNAME(e) { e, #e }
static const struct {
	int err;
	const char *name;
} errnames[] = {
	ERRNAME(EPERM), ERRNAME(ENOENT), ERRNAME(ESRCH), ERRNAME(EINTR),
	ERRNAME(EIO), ERRNAME(ENXIO), ERRNAME(E2BIG), ERRNAME(EBADF),
	ERRNAME(EAGAIN), ERRNAME(ENOMEM), ERRNAME(EACCES), ERRNAME(EFAULT),
	ERRNAME(EBUSY), ERRNAME(EEXIST), ERRNAME(ENODEV), ERRNAME(EINVAL),
	ERRNAME(ENFILE), ERRNAME(EMFILE), ERRNAME(ENOTTY), ERRNAME(ENOSPC),
	ERRNAME(ERANGE), ERRNAME(ENOSYS), ERRNAME(EPROTO),
	ERRNAME(EOVERFLOW), ERRNAME(EOPNOTSUPP),
};

static const char *errname(int err)
{
	static char unknown[24];
	size_t i;

	if (err < 0)
		err = -err;
	for (i = 0; i < ARRAY_SIZE(errnames); i++)
		if (errnames[i].err == err)
			return errnames[i].name;
	snprintf(unknown, sizeof(unknown), "errno%d", err);
	return unknown;
}

static void th_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void th_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Strict number: decimal or 0x-hex, the whole string, no sign. */
static bool parse_u64(const char *s, uint64_t *out)
{
	int base = 10;
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!isxdigit((unsigned char)*s))
			return false;
	} else if (!isdigit((unsigned char)*s)) {
		return false;
	}
	errno = 0;
	*out = strtoull(s, &end, base);
	return !errno && !*end;
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Keys and values given as integers are native-endian u64s cut to their
 * low @size bytes, or zero-extended past 8 bytes.
 */
static void store_uint(uint8_t *buf, uint32_t size, uint64_t v)
{
	uint32_t n = size < 8 ? size : 8;

	memset(buf, 0, size);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(buf, &v, n);
#else
	memcpy(buf, (uint8_t *)&v + 8 - n, n);
#endif
}

static uint64_t load_uint(const uint8_t *buf, uint32_t size)
{
	uint32_t n = size < 8 ? size : 8;
	uint64_t v = 0;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(&v, buf, n);
#else
	memcpy((uint8_t *)&v + 8 - n, buf, n);
#endif
	return v;
}

/* ---- /dev/tophash ---------------------------------------------------- */

struct th_map {
	int fd;
	uint32_t id;
	uint32_t key_size;
	uint32_t value_size;
	bool created;
};

static int th_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static int th_open(struct th_map *m)
{
	memset(m, 0, sizeof(*m));
	/* Until CREATE, encode as 8-byte keys and values: the kernel says EINVAL. */
	m->key_size = 8;
	m->value_size = 8;
	m->fd = open(TH_DEV, O_RDWR | O_CLOEXEC);
	if (m->fd < 0) {
		int err = errno;

		th_warn("cannot open %s: %s (%s)%s", TH_DEV, errname(err),
		      strerror(err),
		      err == ENOENT ? "; is tophash.ko loaded?" :
		      err == EACCES ? "; it is mode 0600, run as root" : "");
		return -err;
	}
	return 0;
}

/* @shrink_pct: with TOPHASH_F_SHRINK in @flags, its threshold (0: default). */
static int th_create(struct th_map *m, uint32_t ksize, uint32_t vsize,
		     uint64_t hint, uint64_t max, uint32_t flags,
		     uint32_t shrink_pct)
{
	struct tophash_create c = {
		.size = sizeof(c),
		.key_size = ksize,
		.value_size = vsize,
		.flags = flags,
		.size_hint = hint,
		.max_entries = max,
		.shrink_pct = shrink_pct,
	};
	int r = th_ioctl(m->fd, TOPHASH_IOC_CREATE, &c);

	if (r)
		return r;
	m->id = c.id;
	m->key_size = ksize;
	m->value_size = vsize;
	m->created = true;
	return 0;
}

static int th_op(const struct th_map *m, unsigned long cmd, const void *key,
		 void *val, uint32_t flags)
{
	struct tophash_op o = {
		.size = sizeof(o),
		.flags = flags,
		.key = (uintptr_t)key,
		.value = (uintptr_t)val,
	};

	return th_ioctl(m->fd, cmd, &o);
}

static int th_info(const struct th_map *m, struct tophash_info *in)
{
	memset(in, 0, sizeof(*in));
	in->size = sizeof(*in);
	return th_ioctl(m->fd, TOPHASH_IOC_INFO, in);
}

static int th_clear(const struct th_map *m, struct tophash_clear *cl)
{
	memset(cl, 0, sizeof(*cl));
	cl->size = sizeof(*cl);
	return th_ioctl(m->fd, TOPHASH_IOC_CLEAR, cl);
}

/* Run @n batch ops; *done gets the kernel's count of ops done. */
static int th_batch(const struct th_map *m, struct tophash_batch_op *ops,
		    uint32_t n, uint32_t *done)
{
	struct tophash_batch b = {
		.size = sizeof(b),
		.count = n,
		.ops = (uintptr_t)ops,
	};
	int r = th_ioctl(m->fd, TOPHASH_IOC_BATCH, &b);

	*done = b.done;
	return r;
}

/* ---- layout: fetch, parse, draw ----------------------------------------- */

struct th_chain {
	uint32_t table;
	uint32_t bucket;
	uint32_t depth;
	const uint8_t *top;	/* depth * TOPHASH_BUCKET_SLOTS states */
};

struct th_layout {
	uint32_t nchains;
	struct th_chain *chains;
	uint8_t *buf;
};

static void layout_free(struct th_layout *lo)
{
	free(lo->chains);
	free(lo->buf);
	memset(lo, 0, sizeof(*lo));
}

/* Decode the LAYOUT ioctl's records; -EPROTO when they do not add up. */
static int layout_decode(struct th_layout *lo, uint64_t len, uint32_t nchains)
{
	uint64_t pos = 0;
	uint32_t i;

	lo->chains = calloc(nchains ? nchains : 1, sizeof(*lo->chains));
	if (!lo->chains)
		return -ENOMEM;
	for (i = 0; i < nchains; i++) {
		struct tophash_layout_chain rec;
		uint64_t slots;

		if (pos + sizeof(rec) > len)
			return -EPROTO;
		memcpy(&rec, lo->buf + pos, sizeof(rec));
		slots = (uint64_t)rec.depth * TOPHASH_BUCKET_SLOTS;
		if (!rec.depth || rec.table > TOPHASH_LAYOUT_OLD ||
		    pos + sizeof(rec) + slots > len)
			return -EPROTO;
		lo->chains[i].table = rec.table;
		lo->chains[i].bucket = rec.bucket;
		lo->chains[i].depth = rec.depth;
		lo->chains[i].top = lo->buf + pos + sizeof(rec);
		pos += (sizeof(rec) + slots + 7) & ~7ULL;
	}
	lo->nchains = nchains;
	return pos == len ? 0 : -EPROTO;
}

static int layout_fetch(const struct th_map *m, struct th_layout *lo)
{
	struct tophash_layout arg;
	uint64_t cap = 0;
	int r = -ENOSPC, tries;

	memset(lo, 0, sizeof(*lo));
	/* Ask for the size, then fetch; retry if the map grew in between. */
	for (tries = 0; tries < 8 && r == -ENOSPC; tries++) {
		memset(&arg, 0, sizeof(arg));
		arg.size = sizeof(arg);
		arg.buf = (uintptr_t)lo->buf;
		arg.buf_len = cap;
		r = th_ioctl(m->fd, TOPHASH_IOC_LAYOUT, &arg);
		if (r != -ENOSPC)
			break;
		if (arg.buf_len <= cap) {
			r = -EPROTO;
			break;
		}
		cap = arg.buf_len;
		free(lo->buf);
		lo->buf = malloc(cap);
		if (!lo->buf)
			r = -ENOMEM;
	}
	if (!r)
		r = layout_decode(lo, arg.buf_len, arg.nchains);
	if (r)
		layout_free(lo);
	return r;
}

static char slot_char(uint8_t t)
{
	static const char st[] = ".xXYe";

	return t >= TOPHASH_MIN_TOPHASH ? '#' : st[t];
}

static unsigned int ndigits(uint64_t v)
{
	unsigned int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static unsigned int ilog2_u32(uint32_t v)
{
	unsigned int l = 0;

	while (v > 1) {
		v >>= 1;
		l++;
	}
	return l;
}

/*
 * One chain on one line: "  17 ########|##x.....". When the chain does not
 * fit in @cols, the first buckets are drawn and " +N" says how many more.
 */
static void draw_chain(FILE *f, const struct th_chain *c, unsigned int width,
		       unsigned int cols)
{
	const unsigned int per = TOPHASH_BUCKET_SLOTS + 1;
	unsigned int avail = cols - (3 + width);
	unsigned int fit = (avail + 1) / per, show, b, i;

	if (!fit)
		fit = 1;
	show = c->depth <= fit ? c->depth : (fit > 1 ? fit - 1 : 1);
	fprintf(f, "  %*u ", (int)width, c->bucket);
	for (b = 0; b < show; b++) {
		if (b)
			fputc('|', f);
		for (i = 0; i < TOPHASH_BUCKET_SLOTS; i++)
			fputc(slot_char(c->top[b * TOPHASH_BUCKET_SLOTS + i]), f);
	}
	if (show < c->depth)
		fprintf(f, " +%u", c->depth - show);
	fputc('\n', f);
}

static const char *growing_str(const struct tophash_info *in)
{
	if (!(in->flags & TOPHASH_INFO_GROWING))
		return "no";
	return in->flags & TOPHASH_INFO_SAME_SIZE ? "same-size" : "doubling";
}

static void draw_header(FILE *f, const struct tophash_info *in)
{
	fprintf(f, "map %u: B=%u count=%llu noverflow=%llu growing=%s",
		in->id, in->B, (ull)in->count, (ull)in->noverflow,
		growing_str(in));
	if (in->flags & TOPHASH_INFO_GROWING)
		fprintf(f, " nevacuate=%llu noldoverflow=%llu",
			(ull)in->nevacuate, (ull)in->noldoverflow);
	fprintf(f, " generation=%llu bytes=%llu%s\n", (ull)in->generation,
		(ull)in->bytes,
		in->flags & TOPHASH_INFO_IDENTITY ? " identity" :
		in->flags & TOPHASH_INFO_SIPHASH ? " siphash" : "");
}

/*
 * Draw every chain, the old table's first when growing. @max_rows > 0 draws
 * at most that many chains per table; the totals line counts them all.
 */
static void draw_layout(FILE *f, const struct tophash_info *in,
			const struct th_layout *lo, unsigned int max_rows,
			bool legend)
{
	uint64_t nstate[TOPHASH_MIN_TOPHASH + 1] = { 0 };
	uint32_t n[2] = { 0, 0 }, rows = 0, i, j;
	uint32_t cur = UINT32_MAX, chained = 0, deepest = 0;
	unsigned int width;

	for (i = 0; i < lo->nchains; i++)
		n[lo->chains[i].table == TOPHASH_LAYOUT_OLD]++;
	width = ndigits(n[0] > n[1] ? n[0] : n[1]);
	if (width < 3)
		width = 3;

	if (in)
		draw_header(f, in);
	for (i = 0; i < lo->nchains; i++) {
		const struct th_chain *c = &lo->chains[i];
		uint32_t t = c->table == TOPHASH_LAYOUT_OLD;

		if (c->table != cur) {
			if (max_rows && rows > max_rows)
				fprintf(f, "  ... %u more chains\n", rows - max_rows);
			cur = c->table;
			rows = 0;
			fprintf(f, "%s (2^%u = %u bucket%s)\n",
				t ? "old table" : n[1] ? "new table" : "table",
				ilog2_u32(n[t]), n[t], n[t] == 1 ? "" : "s");
		}
		for (j = 0; j < c->depth * TOPHASH_BUCKET_SLOTS; j++) {
			uint8_t s = c->top[j];

			nstate[s < TOPHASH_MIN_TOPHASH ? s : TOPHASH_MIN_TOPHASH]++;
		}
		if (c->depth > 1)
			chained++;
		if (c->depth > deepest)
			deepest = c->depth;
		if (!max_rows || rows < max_rows)
			draw_chain(f, c, width, LAYOUT_COLS);
		rows++;
	}
	if (max_rows && rows > max_rows)
		fprintf(f, "  ... %u more chains\n", rows - max_rows);
	fprintf(f, "slots: %llu full, %llu emptyOne, %llu emptyRest",
		(ull)nstate[TOPHASH_MIN_TOPHASH], (ull)nstate[TOPHASH_EMPTY_ONE],
		(ull)nstate[TOPHASH_EMPTY_REST]);
	if (n[1])
		fprintf(f, ", evacuated: %llu X, %llu Y, %llu empty",
			(ull)nstate[TOPHASH_EVACUATED_X],
			(ull)nstate[TOPHASH_EVACUATED_Y],
			(ull)nstate[TOPHASH_EVACUATED_EMPTY]);
	fprintf(f, "; %u chain%s with overflow, deepest %u\n", chained,
		chained == 1 ? "" : "s", deepest);
	if (legend)
		fprintf(f, "legend: # full  x emptyOne  . emptyRest  X/Y evacuated to X/Y  e evacuatedEmpty  | overflow\n");
}

/* ---- thctl layout ID: a map someone else holds, from debugfs ------------- */

static int state_of(char ch)
{
	switch (ch) {
	case '.': return TOPHASH_EMPTY_REST;
	case 'x': return TOPHASH_EMPTY_ONE;
	case 'X': return TOPHASH_EVACUATED_X;
	case 'Y': return TOPHASH_EVACUATED_Y;
	case 'e': return TOPHASH_EVACUATED_EMPTY;
	case '#': return TOPHASH_MIN_TOPHASH;
	}
	return -1;
}

/* Read the "name value" lines of <id>/info into @in. */
static int dbg_read_info(const char *path, struct tophash_info *in)
{
	char name[64];
	uint64_t v;
	ull lv;
	FILE *f = fopen(path, "r");
	int nfields = 0;

	if (!f)
		return -errno;
	memset(in, 0, sizeof(*in));
	while (fscanf(f, "%63s %llu", name, &lv) == 2) {
		v = lv;
		nfields++;
		if (!strcmp(name, "id"))
			in->id = v;
		else if (!strcmp(name, "count"))
			in->count = v;
		else if (!strcmp(name, "B"))
			in->B = v;
		else if (!strcmp(name, "growing"))
			in->flags |= v ? TOPHASH_INFO_GROWING : 0;
		else if (!strcmp(name, "same_size"))
			in->flags |= v ? TOPHASH_INFO_SAME_SIZE : 0;
		else if (!strcmp(name, "identity"))
			in->flags |= v ? TOPHASH_INFO_IDENTITY : 0;
		else if (!strcmp(name, "noverflow"))
			in->noverflow = v;
		else if (!strcmp(name, "noldoverflow"))
			in->noldoverflow = v;
		else if (!strcmp(name, "nevacuate"))
			in->nevacuate = v;
		else if (!strcmp(name, "bytes"))
			in->bytes = v;
		else if (!strcmp(name, "key_size"))
			in->key_size = v;
		else if (!strcmp(name, "value_size"))
			in->value_size = v;
		else if (!strcmp(name, "max_entries"))
			in->max_entries = v;
		else if (!strcmp(name, "generation"))
			in->generation = v;
		else
			nfields--;
	}
	fclose(f);
	return nfields ? 0 : -EPROTO;
}

/* Parse "old|new BUCKET |########|...|" lines into chains. */
static int dbg_read_layout(const char *path, struct th_layout *lo,
			   unsigned long *badline)
{
	size_t cap_ch = 0, cap_buf = 0, used = 0, linecap = 0;
	size_t *offs = NULL;
	char *line = NULL;
	unsigned long lineno = 0;
	int r = 0;
	FILE *f = fopen(path, "r");
	uint32_t i;

	memset(lo, 0, sizeof(*lo));
	if (!f)
		return -errno;
	while (getline(&line, &linecap, f) > 0) {
		struct th_chain *c;
		char tbl[8], *p;
		unsigned int bucket;
		int n = 0, s;

		lineno++;
		if (sscanf(line, "%7s %u %n", tbl, &bucket, &n) != 2 || !n ||
		    (strcmp(tbl, "old") && strcmp(tbl, "new"))) {
			r = -EPROTO;
			break;
		}
		if (lo->nchains == cap_ch) {
			size_t nc = cap_ch ? 2 * cap_ch : 64;
			void *a = realloc(lo->chains, nc * sizeof(*lo->chains));
			void *b = realloc(offs, nc * sizeof(*offs));

			if (a)
				lo->chains = a;
			if (b)
				offs = b;
			if (!a || !b) {
				r = -ENOMEM;
				break;
			}
			cap_ch = nc;
		}
		c = &lo->chains[lo->nchains];
		c->table = tbl[0] == 'o' ? TOPHASH_LAYOUT_OLD : TOPHASH_LAYOUT_NEW;
		c->bucket = bucket;
		c->depth = 0;
		offs[lo->nchains] = used;
		p = line + n;
		if (*p != '|') {
			r = -EPROTO;
			break;
		}
		/* Each bucket: '|' then TOPHASH_BUCKET_SLOTS state chars. */
		while (*p == '|' && p[1] && p[1] != '\n') {
			p++;
			if (used + TOPHASH_BUCKET_SLOTS > cap_buf) {
				size_t nb = cap_buf ? 2 * cap_buf : 4096;
				void *a = realloc(lo->buf, nb);

				if (!a) {
					r = -ENOMEM;
					goto out;
				}
				lo->buf = a;
				cap_buf = nb;
			}
			for (i = 0; i < TOPHASH_BUCKET_SLOTS; i++) {
				s = state_of(p[i]);
				if (s < 0) {
					r = -EPROTO;
					goto out;
				}
				lo->buf[used++] = s;
			}
			p += TOPHASH_BUCKET_SLOTS;
			c->depth++;
		}
		if (!c->depth || *p != '|') {
			r = -EPROTO;
			break;
		}
		lo->nchains++;
	}
out:
	if (r)
		*badline = lineno;
	else if (ferror(f))
		r = -EIO;
	fclose(f);
	free(line);
	if (!r && !lo->nchains)
		r = -ENOENT;
	for (i = 0; !r && i < lo->nchains; i++)
		lo->chains[i].top = lo->buf + offs[i];
	free(offs);
	if (r)
		layout_free(lo);
	return r;
}

static int dbg_list_maps(void)
{
	struct dirent *de;
	DIR *d = opendir(TH_DBG);
	int n = 0;

	if (!d) {
		th_warn("cannot open %s: %s (%s); need root and debugfs mounted",
		      TH_DBG, errname(errno), strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		struct tophash_info in;
		char path[PATH_MAX];
		uint64_t id;

		if (!parse_u64(de->d_name, &id))
			continue;
		snprintf(path, sizeof(path), TH_DBG "/%s/info", de->d_name);
		if (dbg_read_info(path, &in))
			continue;
		printf("map %u: count=%llu B=%u growing=%s key_size=%u value_size=%u\n",
		       in.id, (ull)in.count, in.B, growing_str(&in), in.key_size,
		       in.value_size);
		n++;
	}
	closedir(d);
	if (!n)
		printf("no maps (each map lives while its /dev/tophash file is open)\n");
	return 0;
}

static int cmd_layout(int argc, char **argv)
{
	char ipath[PATH_MAX], lpath[PATH_MAX];
	struct tophash_info in;
	struct th_layout lo;
	unsigned long badline = 0;
	uint64_t id;
	int r;

	if (argc == 1)
		return dbg_list_maps();
	if (argc != 2 || !parse_u64(argv[1], &id) || id > UINT32_MAX) {
		th_warn("usage: thctl layout [ID]");
		return 2;
	}
	snprintf(ipath, sizeof(ipath), TH_DBG "/%llu/info", (ull)id);
	snprintf(lpath, sizeof(lpath), TH_DBG "/%llu/layout", (ull)id);
	r = dbg_read_info(ipath, &in);
	if (r) {
		th_warn("cannot read %s: %s%s", ipath, errname(r),
		      r == -ENOENT ? " (no such map, or debugfs not mounted; `thctl layout` lists maps)" :
		      r == -EACCES ? " (run as root)" : "");
		return 1;
	}
	/* The map may change between the two reads: each is a snapshot. */
	r = dbg_read_layout(lpath, &lo, &badline);
	if (r) {
		if (r == -EPROTO)
			th_warn("%s line %lu: unexpected format", lpath, badline);
		else
			th_warn("cannot read %s: %s", lpath, errname(r));
		return 1;
	}
	draw_layout(stdout, &in, &lo, 0, true);
	layout_free(&lo);
	return fflush(stdout) ? 1 : 0;
}

/* ---- thctl shell ---------------------------------------------------------- */

struct shell {
	struct th_map map;
	bool echo;
	bool stop_on_error;
	unsigned long bad;	/* unknown ops and malformed lines */
};

/* All decimal digits, or 0x and all hex digits: a number, in range or not. */
static bool numeric_syntax(const char *s)
{
	int (*is)(int) = isdigit;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		is = isxdigit;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++)
		if (!is((unsigned char)*s))
			return false;
	return true;
}

/* A key or value token: an integer, or a string copied and zero padded. */
static int encode(const char *tok, uint8_t *buf, uint32_t size, FILE *o)
{
	size_t len = strlen(tok);
	uint64_t v;

	if (parse_u64(tok, &v)) {
		store_uint(buf, size, v);
		return 0;
	}
	if (numeric_syntax(tok)) {
		fprintf(o, "ERR number '%s' does not fit in a u64", tok);
		return -1;
	}
	if (len > size) {
		fprintf(o, "ERR string '%s' is longer than %u bytes", tok, size);
		return -1;
	}
	memset(buf, 0, size);
	memcpy(buf, tok, len);
	return 0;
}

/* A value as get prints it: integer up to 8 bytes, else string or hex. */
static void print_value(FILE *o, const uint8_t *v, uint32_t size)
{
	uint32_t i, n;
	bool zero_tail = true, str = true;

	if (size <= 8) {
		fprintf(o, "%llu", (ull)load_uint(v, size));
		return;
	}
	for (i = 8; i < size; i++)
		if (v[i])
			zero_tail = false;
	for (n = 0; n < size && v[n]; n++)
		if (!isgraph(v[n]))
			str = false;
	for (i = n; i < size; i++)
		if (v[i])
			str = false;
	if (str && n) {
		fprintf(o, "%.*s", (int)n, (const char *)v);
	} else if (zero_tail) {
		fprintf(o, "%llu", (ull)load_uint(v, 8));
	} else {
		fprintf(o, "hex:");
		for (i = 0; i < size; i++)
			fprintf(o, "%02x", v[i]);
	}
}

static int parse_u32_tok(const char *s, uint32_t *out)
{
	uint64_t v;

	if (!parse_u64(s, &v) || v > UINT32_MAX)
		return -1;
	*out = v;
	return 0;
}

/* Each op prints its result to @o. Return 0 ok, >0 an errno, -1 usage. */
static int op_create(struct shell *sh, FILE *o, int argc, char **argv)
{
	uint32_t ks, vs, flags = 0, pct = 0;
	uint64_t hint = 0, max = 0;
	bool have_hint = false;
	int i, r;

	if (argc < 3 || parse_u32_tok(argv[1], &ks) || parse_u32_tok(argv[2], &vs))
		goto usage;
	for (i = 3; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "identity")) {
			flags |= TOPHASH_F_IDENTITY_HASH;
		} else if (!strcmp(a, "siphash")) {
			flags |= TOPHASH_F_SIPHASH;
		} else if (!strcmp(a, "shrink") || !strncmp(a, "shrink=", 7)) {
			flags |= TOPHASH_F_SHRINK;
			if (a[6] && parse_u32_tok(a + 7, &pct))
				goto usage;
		} else if (!strncmp(a, "max=", 4)) {
			if (!parse_u64(a + 4, &max))
				goto usage;
		} else {
			if (!strncmp(a, "hint=", 5))
				a += 5;
			if (have_hint || !parse_u64(a, &hint))
				goto usage;
			have_hint = true;
		}
	}
	r = th_create(&sh->map, ks, vs, hint, max, flags, pct);
	if (r) {
		fprintf(o, "ERR %s", errname(r));
		return -r;
	}
	fprintf(o, "ok id=%u", sh->map.id);
	return 0;
usage:
	fprintf(o, "ERR usage: create KSIZE VSIZE [HINT] [identity|siphash] [shrink[=PCT]] [max=N]");
	return -1;
}

static int op_put(struct shell *sh, FILE *o, int argc, char **argv)
{
	uint8_t key[TOPHASH_MAX_KEY_SIZE], val[TOPHASH_MAX_VALUE_SIZE];
	uint32_t flags = TOPHASH_ANY;
	int r;

	if (argc == 4 && !strcmp(argv[3], "noexist"))
		flags = TOPHASH_NOEXIST;
	else if (argc == 4 && !strcmp(argv[3], "exist"))
		flags = TOPHASH_EXIST;
	else if (argc != 3 && !(argc == 4 && !strcmp(argv[3], "any"))) {
		fprintf(o, "ERR usage: put K V [any|noexist|exist]");
		return -1;
	}
	if (encode(argv[1], key, sh->map.key_size, o) ||
	    encode(argv[2], val, sh->map.value_size, o))
		return -1;
	r = th_op(&sh->map, TOPHASH_IOC_UPDATE, key, val, flags);
	if (r) {
		fprintf(o, "ERR %s", errname(r));
		return -r;
	}
	fprintf(o, "ok");
	return 0;
}

static int op_get_del(struct shell *sh, FILE *o, int argc, char **argv)
{
	uint8_t key[TOPHASH_MAX_KEY_SIZE], val[TOPHASH_MAX_VALUE_SIZE];
	bool get = !strcmp(argv[0], "get");
	int r;

	if (argc != 2) {
		fprintf(o, "ERR usage: %s K", argv[0]);
		return -1;
	}
	if (encode(argv[1], key, sh->map.key_size, o))
		return -1;
	r = th_op(&sh->map, get ? TOPHASH_IOC_LOOKUP : TOPHASH_IOC_DELETE,
		  key, get ? val : NULL, 0);
	if (r) {
		fprintf(o, "ERR %s", errname(r));
		return -r;
	}
	if (get)
		print_value(o, val, sh->map.value_size);
	else
		fprintf(o, "ok");
	return 0;
}

/* seq put|get|del FIRST STEP N: N ops on FIRST, FIRST+STEP, ...; put v=key. */
static int op_seq(struct shell *sh, FILE *o, int argc, char **argv)
{
	uint8_t key[TOPHASH_MAX_KEY_SIZE], val[TOPHASH_MAX_VALUE_SIZE];
	uint64_t first, step, n, i, k;
	unsigned long cmd;
	int r = 0;

	if (argc != 5 || !parse_u64(argv[2], &first) ||
	    !parse_u64(argv[3], &step) || !parse_u64(argv[4], &n))
		goto usage;
	if (!strcmp(argv[1], "put"))
		cmd = TOPHASH_IOC_UPDATE;
	else if (!strcmp(argv[1], "get"))
		cmd = TOPHASH_IOC_LOOKUP;
	else if (!strcmp(argv[1], "del"))
		cmd = TOPHASH_IOC_DELETE;
	else
		goto usage;
	for (i = 0, k = first; i < n; i++, k += step) {
		store_uint(key, sh->map.key_size, k);
		store_uint(val, sh->map.value_size, k);
		r = th_op(&sh->map, cmd, key, cmd == TOPHASH_IOC_DELETE ? NULL : val,
			  0);
		if (r)
			break;
	}
	if (r) {
		fprintf(o, "ERR %s at key %llu (0x%llx) after %llu ok", errname(r),
			(ull)k, (ull)k, (ull)i);
		return -r;
	}
	fprintf(o, "ok %llu", (ull)n);
	return 0;
usage:
	fprintf(o, "ERR usage: seq put|get|del FIRST STEP N");
	return -1;
}

static int op_clear(struct shell *sh, FILE *o, int argc, char **argv)
{
	struct tophash_clear cl;
	int r;

	(void)argv;
	if (argc != 1) {
		fprintf(o, "ERR usage: clear");
		return -1;
	}
	r = th_clear(&sh->map, &cl);
	if (r) {
		fprintf(o, "ERR %s", errname(r));
		return -r;
	}
	fprintf(o, "ok entries=%llu overflow=%llu oldbuckets=%llu bytes=%llu",
		(ull)cl.entries, (ull)cl.overflow, (ull)cl.oldbuckets,
		(ull)cl.bytes);
	return 0;
}

static int op_info(struct shell *sh, FILE *o, int argc, char **argv)
{
	struct tophash_info in;
	int r;

	(void)argv;
	if (argc != 1) {
		fprintf(o, "ERR usage: info");
		return -1;
	}
	r = th_info(&sh->map, &in);
	if (r) {
		fprintf(o, "ERR %s", errname(r));
		return -r;
	}
	fprintf(o, "id=%u count=%llu B=%u growing=%u same_size=%u noverflow=%llu noldoverflow=%llu nevacuate=%llu bytes=%llu generation=%llu",
		in.id, (ull)in.count, in.B,
		!!(in.flags & TOPHASH_INFO_GROWING),
		!!(in.flags & TOPHASH_INFO_SAME_SIZE), (ull)in.noverflow,
		(ull)in.noldoverflow, (ull)in.nevacuate, (ull)in.bytes,
		(ull)in.generation);
	return 0;
}

static int op_layout(struct shell *sh, FILE *o, int argc, char **argv)
{
	struct tophash_info in;
	struct th_layout lo;
	int r;

	(void)argv;
	if (argc != 1) {
		fprintf(o, "ERR usage: layout");
		return -1;
	}
	r = th_info(&sh->map, &in);
	if (!r)
		r = layout_fetch(&sh->map, &lo);
	if (r) {
		fprintf(o, "ERR %s", errname(r));
		return -r;
	}
	draw_layout(o, &in, &lo, 0, false);
	layout_free(&lo);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct shell *sh, FILE *o, int argc, char **argv);
} shell_ops[] = {
	{ "create", op_create },
	{ "put", op_put },
	{ "get", op_get_del },
	{ "del", op_get_del },
	{ "seq", op_seq },
	{ "clear", op_clear },
	{ "info", op_info },
	{ "layout", op_layout },
};

#define SHELL_MAX_ARGS 16

/* Run one input line; returns false when the shell must stop (-e). */
static bool shell_line(struct shell *sh, char *line)
{
	char *argv[SHELL_MAX_ARGS], *comment = NULL, *p, *res = NULL;
	size_t reslen = 0, i;
	int argc = 0, r = -1;
	bool known = false;
	FILE *o;

	line[strcspn(line, "\r\n")] = '\0';
	p = line + strspn(line, " \t");
	if (!*p || *p == '#') {
		/* With -x the transcript keeps the script's comments. */
		if (sh->echo)
			printf("%s\n", p);
		return true;
	}
	/* A '#' after white space starts a comment. */
	for (i = 1; p[i]; i++) {
		if (p[i] == '#' && (p[i - 1] == ' ' || p[i - 1] == '\t')) {
			comment = p + i;
			p[i - 1] = '\0';
			break;
		}
	}
	o = open_memstream(&res, &reslen);
	if (!o) {
		th_warn("open_memstream: %s", strerror(errno));
		exit(1);
	}
	if (sh->echo) {
		size_t n = strlen(p);

		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			p[--n] = '\0';
		printf("%s", p);
	}
	for (char *tok = strtok(p, " \t"); tok; tok = strtok(NULL, " \t")) {
		if (argc == SHELL_MAX_ARGS) {
			argc = 0;
			fprintf(o, "ERR too many words");
			known = true;
			break;
		}
		argv[argc++] = tok;
	}
	for (i = 0; argc && i < ARRAY_SIZE(shell_ops); i++) {
		if (!strcmp(argv[0], shell_ops[i].name)) {
			known = true;
			r = shell_ops[i].fn(sh, o, argc, argv);
			break;
		}
	}
	if (!known)
		fprintf(o, "ERR unknown op '%s' (ops: create put get del seq clear info layout)",
			argv[0]);
	fclose(o);

	if (reslen && res[reslen - 1] == '\n')
		res[--reslen] = '\0';
	if (!sh->echo)
		printf("%s\n", res);
	else if (strchr(res, '\n'))
		printf(" =>%s%s\n%s\n", comment ? "   " : "", comment ? comment : "",
		       res);
	else
		printf(" => %s%s%s\n", res, comment ? "   " : "",
		       comment ? comment : "");
	free(res);
	/* One flush per op, so thctl can run as another program's coprocess. */
	fflush(stdout);

	if (r < 0)
		sh->bad++;
	return !(r && sh->stop_on_error);
}

static void shell_usage(FILE *f)
{
	fprintf(f,
"usage: thctl shell [-e] [-x] [FILE]\n"
"  Runs map ops, one per line, from FILE or stdin on one map of its own.\n"
"  -e  stop with exit status 1 at the first op that fails\n"
"  -x  echo each op before its result (and keep # comments)\n"
"ops:\n"
"  create KSIZE VSIZE [HINT] [identity|siphash] [shrink[=PCT]] [max=N]   -> ok id=N\n"
"  put K V [any|noexist|exist]                    -> ok | ERR EEXIST ...\n"
"  get K                                          -> V | ERR ENOENT\n"
"  del K                                          -> ok | ERR ENOENT\n"
"  seq put|get|del FIRST STEP N    N ops on keys FIRST, FIRST+STEP, ...\n"
"                                  (put stores value = key)\n"
"  clear                           -> ok entries= overflow= oldbuckets= bytes=\n"
"  info                            -> id= count= B= growing= same_size= ...\n"
"  layout                          draw the map, one character per slot\n"
"  K and V: a decimal or 0x-hex integer (native-endian u64, low bytes kept\n"
"  when the size is below 8, zero padded above), else a string, zero padded.\n"
"  Blank lines and # comments are ignored. Op errors are results: the exit\n"
"  status is 0 unless -e, an unknown op or a malformed line.\n");
}

static int cmd_shell(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct shell sh = { 0 };
	size_t cap = 0;
	char *line = NULL;
	FILE *in = stdin;
	bool prompt;
	int c;

	while ((c = getopt_long(argc, argv, "+exh", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			sh.stop_on_error = true;
			break;
		case 'x':
			sh.echo = true;
			break;
		case 'h':
			shell_usage(stdout);
			return 0;
		default:
			shell_usage(stderr);
			return 2;
		}
	}
	if (argc - optind > 1) {
		shell_usage(stderr);
		return 2;
	}
	if (argc - optind == 1 && strcmp(argv[optind], "-")) {
		in = fopen(argv[optind], "r");
		if (!in) {
			th_warn("cannot open %s: %s", argv[optind], strerror(errno));
			return 1;
		}
	}
	if (th_open(&sh.map))
		return 1;
	prompt = in == stdin && isatty(STDIN_FILENO);
	for (;;) {
		if (prompt) {
			fprintf(stderr, "tophash> ");
			fflush(stderr);
		}
		errno = 0;
		if (getline(&line, &cap, in) < 0)
			break;
		if (!shell_line(&sh, line)) {
			free(line);
			return 1;
		}
	}
	if (ferror(in)) {
		th_warn("read error: %s", strerror(errno));
		return 1;
	}
	free(line);
	close(sh.map.fd);
	if (fflush(stdout) || ferror(stdout)) {
		th_warn("write error");
		return 1;
	}
	if (sh.bad)
		th_warn("%lu line%s not understood", sh.bad, sh.bad == 1 ? "" : "s");
	return sh.bad ? 1 : 0;
}

/* ---- thctl load ------------------------------------------------------------ */

/* splitmix64: one 64-bit state, a full-period Weyl step and a mixer. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return rng_next(s) % n;
}

/*
 * The value written for (key, version): with 8 bytes or more, the first 8
 * are key << 32 | version (so a wrong value names whose it is) and the rest
 * a stream derived from them; below 8 bytes, a hash of the pair.
 */
static void make_value(uint8_t *v, uint32_t size, uint64_t key, uint32_t ver)
{
	uint64_t rec = key << 32 | ver, s = rec, x;
	uint32_t i = 0;

	if (size >= 8) {
		store_uint(v, 8, rec);
		i = 8;
	}
	while (i < size) {
		x = rng_next(&s);
		for (int b = 0; b < 8 && i < size; b++, x >>= 8)
			v[i++] = x;
	}
}

struct load_cfg {
	uint64_t ops;
	uint64_t keys;
	uint64_t seed;
	uint64_t hint;
	uint64_t max;
	unsigned int mix[3];	/* insert, delete, lookup weights */
	bool mix_set;
	uint32_t ksize;
	uint32_t vsize;
	uint32_t batch;
	bool churn;
	bool siphash;
	bool shrink;		/* TOPHASH_F_SHRINK, threshold shrink_pct */
	uint32_t shrink_pct;
	bool drain;		/* fill the keys, then delete 90% of them */
	bool quiet;
	int layout;		/* 0 no, 1 up to 64 chains per table, 2 all */
};

/* One generated op and what the model says it must return. */
struct pend {
	uint64_t idx;		/* op number, from 1 */
	uint64_t key;
	uint32_t op;		/* TOPHASH_BATCH_* */
	uint32_t flags;
	uint32_t ver;		/* written (update) or expected (lookup) */
	int expect;		/* 0 or -errno */
};

struct load_stats {
	uint64_t ins_new, ins_upd, ins_full;
	uint64_t del_hit, del_miss;
	uint64_t look_hit, look_miss;
	uint64_t fill;
};

struct load {
	struct load_cfg c;
	struct th_map m;
	uint64_t rng;
	uint64_t space;		/* keys are drawn from [0, space) */
	uint64_t max_entries;
	/* The model: version of each key (0 = absent) and the live set. */
	uint32_t *ver;
	uint32_t *live;		/* live keys, dense */
	uint32_t *pos;		/* index of a live key in live[] */
	uint64_t nlive;
	uint32_t next_ver;
	/* Ops generated but not yet run. */
	struct pend *pend;
	struct tophash_batch_op *bops;
	uint8_t *kbuf, *vbuf, *xval;
	uint32_t npend;
	uint64_t nops;		/* ops generated */
	uint64_t done;		/* ops run and checked */
	uint64_t total;
	struct load_stats st;
	/* Growth, from INFO polls. */
	uint32_t B0, lastB;
	uint64_t gen0;
	uint64_t doublings, same_size, shrinks, polls, polls_growing;
	uint64_t next_poll;
	/* Bytes over time: INFO at every poll (op, count, B, bytes). */
	struct load_sample {
		uint64_t op, count, bytes;
		uint32_t B;
	} *samples;
	uint64_t nsamples, maxsamples;
	/* Progress. */
	bool tty;
	bool verifying;		/* in the final read-back */
	bool progress_shown;
	double t0, last_progress;
	unsigned int last_decile;
};

static const char *op_name(uint32_t op)
{
	switch (op) {
	case TOPHASH_BATCH_UPDATE: return "update";
	case TOPHASH_BATCH_LOOKUP: return "lookup";
	case TOPHASH_BATCH_DELETE: return "delete";
	}
	return "?";
}

static void progress_clear(struct load *L)
{
	if (L->progress_shown && L->tty) {
		fprintf(stderr, "\r%*s\r", LAYOUT_COLS - 1, "");
		L->progress_shown = false;
	}
}

static void __attribute__((noreturn, format(printf, 3, 4)))
mismatch(struct load *L, const struct pend *p, const char *fmt, ...)
{
	va_list ap;

	progress_clear(L);
	if (L->verifying)
		fprintf(stderr, "%s: MISMATCH in the final read-back (seed %llu)",
			prog, (ull)L->c.seed);
	else
		fprintf(stderr, "%s: MISMATCH at op %llu (seed %llu)", prog,
			(ull)(p ? p->idx : L->done), (ull)L->c.seed);
	if (p)
		fprintf(stderr, ", %s key %llu", op_name(p->op), (ull)p->key);
	fprintf(stderr, ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void live_add(struct load *L, uint64_t key)
{
	L->pos[key] = L->nlive;
	L->live[L->nlive++] = key;
}

static void live_del(struct load *L, uint64_t key)
{
	uint32_t i = L->pos[key], last = L->live[--L->nlive];

	L->live[i] = last;
	L->pos[last] = i;
}

static struct pend *gen_slot(struct load *L, uint32_t op, uint64_t key)
{
	uint32_t i = L->npend++;
	struct pend *p = &L->pend[i];

	p->idx = ++L->nops;
	p->op = op;
	p->key = key;
	p->flags = 0;
	p->ver = 0;
	store_uint(L->kbuf + (size_t)i * L->c.ksize, L->c.ksize, key);
	return p;
}

static void gen_update(struct load *L, uint64_t key, uint32_t flags)
{
	struct pend *p = gen_slot(L, TOPHASH_BATCH_UPDATE, key);
	bool present = L->ver[key];

	p->flags = flags;
	if (flags == TOPHASH_NOEXIST && present) {
		p->expect = -EEXIST;
	} else if (!present && L->nlive >= L->max_entries) {
		p->expect = -E2BIG;
		L->st.ins_full++;
	} else {
		p->expect = 0;
		p->ver = ++L->next_ver ? L->next_ver : ++L->next_ver;
		if (present) {
			L->st.ins_upd++;
		} else {
			L->st.ins_new++;
			live_add(L, key);
		}
		L->ver[key] = p->ver;
	}
	/* The value buffer is written even for an expected failure. */
	make_value(L->vbuf + (size_t)(p - L->pend) * L->c.vsize, L->c.vsize, key,
		   p->ver);
}

static void gen_delete(struct load *L, uint64_t key)
{
	struct pend *p = gen_slot(L, TOPHASH_BATCH_DELETE, key);

	if (L->ver[key]) {
		p->expect = 0;
		L->ver[key] = 0;
		live_del(L, key);
		L->st.del_hit++;
	} else {
		p->expect = -ENOENT;
		L->st.del_miss++;
	}
}

static void gen_lookup(struct load *L, uint64_t key)
{
	struct pend *p = gen_slot(L, TOPHASH_BATCH_LOOKUP, key);

	p->ver = L->ver[key];
	p->expect = p->ver ? 0 : -ENOENT;
	if (p->ver)
		L->st.look_hit++;
	else
		L->st.look_miss++;
	/* Poison the output so a lookup that writes nothing is caught. */
	memset(L->vbuf + (size_t)(p - L->pend) * L->c.vsize, 0xa5, L->c.vsize);
}

/* A random key the model says is absent (churn keeps 7/8 of the space free). */
static uint64_t absent_key(struct load *L)
{
	uint64_t k;

	do
		k = rng_below(&L->rng, L->space);
	while (L->ver[k]);
	return k;
}

static void check(struct load *L, const struct pend *p, int r)
{
	const uint8_t *got;
	uint32_t i;

	if (r != p->expect)
		mismatch(L, p, "expected %s, the kernel returned %s",
			 p->expect ? errname(p->expect) : "success",
			 r ? errname(r) : "success");
	if (p->op != TOPHASH_BATCH_LOOKUP || r)
		return;
	i = p - L->pend;
	got = L->vbuf + (size_t)i * L->c.vsize;
	make_value(L->xval, L->c.vsize, p->key, p->ver);
	if (!memcmp(got, L->xval, L->c.vsize))
		return;
	if (L->c.vsize >= 8) {
		uint64_t rec = load_uint(got, 8);

		mismatch(L, p, "value of version %u expected, got the value of key %llu version %u%s",
			 p->ver, (ull)(rec >> 32), (uint32_t)rec,
			 (rec >> 32) == p->key && (uint32_t)rec == p->ver ?
			 " with a corrupt tail" : "");
	}
	mismatch(L, p, "value of version %u expected, got %02x%02x...", p->ver,
		 got[0], L->c.vsize > 1 ? got[1] : 0);
}

/* Run the pending ops, one ioctl each or as batches, and check each. */
static void flush(struct load *L)
{
	uint32_t start = 0, i, n = L->npend, done;
	int r;

	if (L->c.batch == 1) {
		for (i = 0; i < n; i++) {
			static const unsigned long cmd[] = {
				[TOPHASH_BATCH_UPDATE] = TOPHASH_IOC_UPDATE,
				[TOPHASH_BATCH_LOOKUP] = TOPHASH_IOC_LOOKUP,
				[TOPHASH_BATCH_DELETE] = TOPHASH_IOC_DELETE,
			};
			struct pend *p = &L->pend[i];

			r = th_op(&L->m, cmd[p->op], L->kbuf + (size_t)i * L->c.ksize,
				  p->op == TOPHASH_BATCH_DELETE ? NULL :
				  L->vbuf + (size_t)i * L->c.vsize, p->flags);
			check(L, p, r);
		}
	} else {
		for (i = 0; i < n; i++) {
			struct tophash_batch_op *b = &L->bops[i];

			b->op = L->pend[i].op;
			b->flags = L->pend[i].flags;
			b->key = (uintptr_t)(L->kbuf + (size_t)i * L->c.ksize);
			b->value = b->op == TOPHASH_BATCH_DELETE ? 0 :
				   (uintptr_t)(L->vbuf + (size_t)i * L->c.vsize);
		}
		/* A batch stops at the first failing op: resume after it. */
		while (start < n) {
			done = 0;
			r = th_batch(&L->m, L->bops + start, n - start, &done);
			if (done > n - start || (!r && done != n - start))
				mismatch(L, &L->pend[start],
					 "batch of %u returned %s with done=%u",
					 n - start, r ? errname(r) : "success", done);
			for (i = 0; i < done; i++)
				check(L, &L->pend[start + i], 0);
			if (!r)
				break;
			check(L, &L->pend[start + done], r);
			start += done + 1;
		}
	}
	L->done += n;
	L->npend = 0;
}

static void load_poll(struct load *L, struct tophash_info *in)
{
	int r = th_info(&L->m, in);
	uint64_t starts;
	bool growing;

	if (r) {
		progress_clear(L);
		th_warn("INFO failed: %s", errname(r));
		exit(1);
	}
	if (in->count != L->nlive)
		mismatch(L, NULL, "INFO count %llu, the model holds %llu",
			 (ull)in->count, (ull)L->nlive);
	growing = in->flags & TOPHASH_INFO_GROWING;
	L->polls++;
	L->polls_growing += growing;
	/*
	 * B only rises when a doubling starts. Each bucket array the map
	 * allocates (create, grow start, clear) takes the next generation and
	 * load never clears, so generation - gen0 is the number of grows
	 * started, however many of them began and ended between two polls;
	 * those that are not doublings are same-size grows.
	 */
	if (in->B != L->lastB) {
		if (in->B < L->lastB && !L->c.shrink)
			mismatch(L, NULL, "B went down from %u to %u", L->lastB,
				 in->B);
		if (in->B > L->lastB)
			L->doublings += in->B - L->lastB;
		else
			L->shrinks += L->lastB - in->B;
		L->lastB = in->B;
	}
	starts = in->generation - L->gen0;
	if (starts < L->doublings + L->shrinks)
		mismatch(L, NULL, "B changed %llu times but the generation only by %llu",
			 (ull)(L->doublings + L->shrinks), (ull)starts);
	L->same_size = starts - L->doublings - L->shrinks;
	if (L->nsamples == L->maxsamples) {
		struct load_sample *n;

		L->maxsamples = L->maxsamples ? 2 * L->maxsamples : 256;
		n = realloc(L->samples, L->maxsamples * sizeof(*n));
		if (!n) {
			th_warn("load: out of memory for the byte samples");
			exit(1);
		}
		L->samples = n;
	}
	L->samples[L->nsamples++] = (struct load_sample){
		.op = L->done, .count = in->count, .bytes = in->bytes, .B = in->B,
	};
}

static void progress(struct load *L, const struct tophash_info *in, bool force)
{
	double t = now_sec(), el = t - L->t0;
	unsigned int decile = L->total ? L->done * 10 / L->total : 10;

	if (L->c.quiet)
		return;
	if (L->tty) {
		if (!force && t - L->last_progress < 0.1)
			return;
		L->last_progress = t;
		fprintf(stderr, "\r%3u%% %llu/%llu ops  count %llu  B %u%s  grows %llu+%llu  %.1fs ",
			(unsigned int)(L->total ? L->done * 100 / L->total : 100),
			(ull)L->done, (ull)L->total, (ull)in->count, in->B,
			in->flags & TOPHASH_INFO_GROWING ? " growing" : "",
			(ull)L->doublings, (ull)L->same_size, el);
		L->progress_shown = true;
	} else if (decile > L->last_decile) {
		L->last_decile = decile;
		fprintf(stderr, "%s load: %3u%% %llu/%llu ops, count %llu, B %u, %.1f s\n",
			prog, decile * 10, (ull)L->done, (ull)L->total,
			(ull)in->count, in->B, el);
	}
}

/* After every flush: poll INFO each POLL_EVERY ops, show progress. */
static void after_flush(struct load *L)
{
	struct tophash_info in;

	if (L->done < L->next_poll)
		return;
	L->next_poll = L->done + POLL_EVERY;
	load_poll(L, &in);
	progress(L, &in, false);
}

/*
 * Every key the model holds, read back in batches with its value. These
 * lookups are not workload ops: counters are restored afterwards.
 */
static uint64_t verify_all(struct load *L)
{
	struct load_stats st = L->st;
	uint64_t nops = L->nops, done = L->done, i = 0;
	uint32_t batch = L->c.batch;

	L->verifying = true;
	L->c.batch = VERIFY_CHUNK;
	while (i < L->nlive) {
		while (L->npend < VERIFY_CHUNK && i < L->nlive)
			gen_lookup(L, L->live[i++]);
		flush(L);
	}
	L->c.batch = batch;
	L->verifying = false;
	L->st = st;
	L->nops = nops;
	L->done = done;
	return L->nlive;
}

static void load_usage(FILE *f)
{
	fprintf(f,
"usage: thctl load [OPTIONS]\n"
"  Runs a seeded workload on a map of its own, checks every result and\n"
"  error code against a model kept in userspace, and prints a summary.\n"
"  -n, --ops N        ops to run (default 200000)\n"
"  -k, --keys N       key range: keys are 0..N-1 (default 50000)\n"
"      --mix I:D:L    insert:delete:lookup weights in percent (default 50:30:20)\n"
"  -s, --seed S       PRNG seed (default 1); same seed, same run\n"
"  -K N               key size in bytes, 1..256 (default 8)\n"
"  -V N               value size in bytes, 1..256 (default 8)\n"
"      --hint N       size hint at create\n"
"      --max N        max_entries at create (inserts past it must fail E2BIG)\n"
"      --siphash      hash with SipHash-2-4 (TOPHASH_F_SIPHASH)\n"
"      --shrink[=PCT] give memory back after deletes (TOPHASH_F_SHRINK): shrink\n"
"                     below PCT%% of the slots filled (1..40, default 25)\n"
"      --drain        insert the N keys (N = --keys), then delete 90%% of them\n"
"                     in random order (--ops is not used); the summary's\n"
"                     bytes lines show the memory over time\n"
"      --churn        insert N distinct keys (N = --keys) drawn from 0..8N-1,\n"
"                     then alternate deleting a random live key and inserting\n"
"                     a random absent one, so the map stays at N entries\n"
"                     (only the L of an explicit --mix adds lookups)\n"
"      --batch N      N ops per TOPHASH_IOC_BATCH call (default 1: one ioctl\n"
"                     per op)\n"
"      --layout[=all] draw the layout at the end (64 chains per table, or all)\n"
"  -q, --quiet        no progress line\n");
}

static int parse_opt_u64(const char *name, const char *s, uint64_t min,
			 uint64_t max, uint64_t *out)
{
	if (!parse_u64(s, out) || *out < min || *out > max) {
		th_warn("%s: '%s' is not a number in %llu..%llu", name, s,
		      (ull)min, (ull)max);
		return -1;
	}
	return 0;
}

static int parse_mix(const char *s, unsigned int mix[3])
{
	unsigned int a, b, c;
	int n = 0;

	if (sscanf(s, "%u:%u:%u%n", &a, &b, &c, &n) != 3 || s[n] ||
	    a > 100 || b > 100 || c > 100 || !(a + b + c)) {
		th_warn("--mix: '%s' is not I:D:L (e.g. 50:30:20)", s);
		return -1;
	}
	mix[0] = a;
	mix[1] = b;
	mix[2] = c;
	return 0;
}

static int load_parse(struct load_cfg *c, int argc, char **argv)
{
	enum { O_MIX = 256, O_HINT, O_MAX, O_CHURN, O_LAYOUT, O_BATCH, O_SIPHASH,
	       O_SHRINK, O_DRAIN };
	static const struct option opts[] = {
		{ "ops", required_argument, NULL, 'n' },
		{ "keys", required_argument, NULL, 'k' },
		{ "seed", required_argument, NULL, 's' },
		{ "mix", required_argument, NULL, O_MIX },
		{ "hint", required_argument, NULL, O_HINT },
		{ "max", required_argument, NULL, O_MAX },
		{ "churn", no_argument, NULL, O_CHURN },
		{ "siphash", no_argument, NULL, O_SIPHASH },
		{ "shrink", optional_argument, NULL, O_SHRINK },
		{ "drain", no_argument, NULL, O_DRAIN },
		{ "layout", optional_argument, NULL, O_LAYOUT },
		{ "batch", required_argument, NULL, O_BATCH },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int o;

	*c = (struct load_cfg){
		.ops = 200000, .keys = 50000, .seed = 1,
		.mix = { 50, 30, 20 }, .ksize = 8, .vsize = 8, .batch = 1,
	};
	while ((o = getopt_long(argc, argv, "+n:k:s:K:V:qh", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			if (parse_opt_u64("--ops", optarg, 0, UINT64_MAX / 2, &c->ops))
				return -1;
			break;
		case 'k':
			if (parse_opt_u64("--keys", optarg, 1, MAX_KEYS, &c->keys))
				return -1;
			break;
		case 's':
			if (parse_opt_u64("--seed", optarg, 0, UINT64_MAX, &c->seed))
				return -1;
			break;
		case 'K':
			if (parse_opt_u64("-K", optarg, 1, TOPHASH_MAX_KEY_SIZE, &v))
				return -1;
			c->ksize = v;
			break;
		case 'V':
			if (parse_opt_u64("-V", optarg, 1, TOPHASH_MAX_VALUE_SIZE, &v))
				return -1;
			c->vsize = v;
			break;
		case O_MIX:
			if (parse_mix(optarg, c->mix))
				return -1;
			c->mix_set = true;
			break;
		case O_HINT:
			if (parse_opt_u64("--hint", optarg, 0, TOPHASH_LIMIT_MAX_ENTRIES,
					  &c->hint))
				return -1;
			break;
		case O_MAX:
			if (parse_opt_u64("--max", optarg, 1, TOPHASH_LIMIT_MAX_ENTRIES,
					  &c->max))
				return -1;
			break;
		case O_CHURN:
			c->churn = true;
			break;
		case O_SIPHASH:
			c->siphash = true;
			break;
		case O_SHRINK:
			c->shrink = true;
			if (optarg && parse_opt_u64("--shrink", optarg, 1,
						    TOPHASH_SHRINK_MAX_PCT, &v))
				return -1;
			c->shrink_pct = optarg ? v : 0;
			break;
		case O_DRAIN:
			c->drain = true;
			break;
		case O_LAYOUT:
			if (!optarg)
				c->layout = 1;
			else if (!strcmp(optarg, "all"))
				c->layout = 2;
			else {
				th_warn("--layout takes no value or =all");
				return -1;
			}
			break;
		case O_BATCH:
			if (parse_opt_u64("--batch", optarg, 1, TOPHASH_BATCH_MAX, &v))
				return -1;
			c->batch = v;
			break;
		case 'q':
			c->quiet = true;
			break;
		case 'h':
			load_usage(stdout);
			exit(0);
		default:
			load_usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		th_warn("load: unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (c->drain && c->churn) {
		th_warn("load: --drain and --churn are two workloads: pick one");
		return -1;
	}
	return 0;
}

static int load_setup(struct load *L)
{
	struct load_cfg *c = &L->c;
	uint32_t slots = c->batch > VERIFY_CHUNK ? c->batch : VERIFY_CHUNK;
	struct tophash_info in;
	int r;

	L->space = c->churn ? CHURN_SPREAD * c->keys : c->keys;
	if (c->ksize < 8 && L->space > 1ULL << (8 * c->ksize)) {
		th_warn("load: %llu distinct keys do not fit in %u-byte keys",
		      (ull)L->space, c->ksize);
		return -1;
	}
	L->max_entries = c->max ? c->max : TOPHASH_DEFAULT_MAX_ENTRIES;
	L->rng = c->seed;
	L->ver = calloc(L->space, sizeof(*L->ver));
	L->pos = calloc(L->space, sizeof(*L->pos));
	L->live = calloc(L->space, sizeof(*L->live));
	L->pend = calloc(slots, sizeof(*L->pend));
	L->bops = calloc(slots, sizeof(*L->bops));
	L->kbuf = calloc(slots, c->ksize);
	L->vbuf = calloc(slots, c->vsize);
	L->xval = calloc(1, c->vsize);
	if (!L->ver || !L->pos || !L->live || !L->pend || !L->bops ||
	    !L->kbuf || !L->vbuf || !L->xval) {
		th_warn("load: out of memory for a %llu-key model", (ull)L->space);
		return -1;
	}
	if (th_open(&L->m))
		return -1;
	r = th_create(&L->m, c->ksize, c->vsize, c->hint, c->max,
		      (c->siphash ? TOPHASH_F_SIPHASH : 0) |
		      (c->shrink ? TOPHASH_F_SHRINK : 0), c->shrink_pct);
	if (r) {
		th_warn("CREATE (key %u, value %u, hint %llu, max %llu) failed: %s",
		      c->ksize, c->vsize, (ull)c->hint, (ull)c->max, errname(r));
		return -1;
	}
	r = th_info(&L->m, &in);
	if (r) {
		th_warn("INFO failed: %s", errname(r));
		return -1;
	}
	L->B0 = L->lastB = in.B;
	L->gen0 = in.generation;
	L->next_poll = POLL_EVERY;
	L->tty = isatty(STDERR_FILENO);
	return 0;
}

/* The map's bytes over the run: 16 of the INFO polls, evenly spaced. */
static void load_report_bytes(const struct load *L)
{
	uint64_t i, last = UINT64_MAX, n = L->nsamples;

	for (i = 0; n && i < 16; i++) {
		uint64_t k = n <= 16 ? i : i * (n - 1) / 15;
		const struct load_sample *p = &L->samples[k];

		if (k >= n || k == last)
			continue;
		last = k;
		printf("  bytes     at op %10llu: count %8llu  B %2u  %10llu bytes  %7.1f per entry\n",
		       (ull)p->op, (ull)p->count, p->B, (ull)p->bytes,
		       p->count ? (double)p->bytes / p->count : 0.0);
	}
}

static void load_report(struct load *L, const struct tophash_info *in,
			double el, uint64_t verified)
{
	const struct load_cfg *c = &L->c;
	const struct load_stats *s = &L->st;
	uint64_t ins = s->ins_new + s->ins_upd + s->ins_full;
	uint64_t wops = L->done;

	printf("thctl load: map %u, seed %llu, ", L->m.id, (ull)c->seed);
	if (c->drain)
		printf("drain: fill %llu then delete %llu of them",
		       (ull)s->fill, (ull)(wops - s->fill));
	else if (c->churn)
		printf("churn: fill %llu then %llu ops over keys 0..%llu",
		       (ull)s->fill, (ull)(wops - s->fill), (ull)(L->space - 1));
	else
		printf("%llu ops over keys 0..%llu, mix %u:%u:%u", (ull)wops,
		       (ull)(L->space - 1), c->mix[0], c->mix[1], c->mix[2]);
	printf(", key %u B, value %u B, %s\n", c->ksize, c->vsize,
	       c->batch == 1 ? "one ioctl per op" : "batched");
	if (c->batch > 1)
		printf("  batch     %u ops per TOPHASH_IOC_BATCH\n", c->batch);
	printf("  inserts   %llu: %llu new, %llu updated", (ull)ins,
	       (ull)s->ins_new, (ull)s->ins_upd);
	if (s->ins_full)
		printf(", %llu E2BIG (max_entries)", (ull)s->ins_full);
	printf("\n  deletes   %llu: %llu hit, %llu miss\n",
	       (ull)(s->del_hit + s->del_miss), (ull)s->del_hit,
	       (ull)s->del_miss);
	printf("  lookups   %llu: %llu hit, %llu miss\n",
	       (ull)(s->look_hit + s->look_miss), (ull)s->look_hit,
	       (ull)s->look_miss);
	printf("  elapsed   %.2f s, %.0f ops/s\n", el, el > 0 ? wops / el : 0.0);
	printf("  grows     %llu doubling (B %u -> %u), %llu same-size; growing at %llu of %llu INFO polls\n",
	       (ull)L->doublings, L->B0, in->B, (ull)L->same_size,
	       (ull)L->polls_growing, (ull)L->polls);
	if (c->shrink)
		printf("  shrinks   %llu (TOPHASH_F_SHRINK, threshold %u%%)\n",
		       (ull)L->shrinks,
		       c->shrink_pct ? c->shrink_pct : TOPHASH_SHRINK_DEFAULT_PCT);
	load_report_bytes(L);
	printf("  map       count %llu, B %u, noverflow %llu, growing %s, generation %llu, bytes %llu\n",
	       (ull)in->count, in->B, (ull)in->noverflow, growing_str(in),
	       (ull)in->generation, (ull)in->bytes);
	printf("  verified  every result and error code against the model; %llu live keys read back, count matches\n",
	       (ull)verified);
}

static int cmd_load(int argc, char **argv)
{
	struct load L = { 0 };
	struct tophash_info in;
	uint64_t i, verified;
	unsigned int wsum;
	uint32_t alt = 0;
	double el;

	if (load_parse(&L.c, argc, argv) || load_setup(&L))
		return 1;
	wsum = L.c.mix[0] + L.c.mix[1] + L.c.mix[2];
	L.total = L.c.ops + (L.c.churn ? L.c.keys : 0);
	if (L.c.drain)
		L.total = L.c.keys + L.c.keys * 9 / 10;
	L.t0 = now_sec();
	for (i = 0; i < L.total; i++) {
		if (L.c.drain && i < L.c.keys) {
			gen_update(&L, i, TOPHASH_NOEXIST);
			L.st.fill++;
		} else if (L.c.drain) {
			gen_delete(&L, L.live[rng_below(&L.rng, L.nlive)]);
		} else if (L.c.churn && i < L.c.keys) {
			gen_update(&L, absent_key(&L), TOPHASH_NOEXIST);
			L.st.fill++;
		} else if (L.c.churn) {
			if (L.c.mix_set && rng_below(&L.rng, 100) < L.c.mix[2])
				gen_lookup(&L, rng_below(&L.rng, L.space));
			else if ((alt++ & 1) == 0 && L.nlive)
				gen_delete(&L, L.live[rng_below(&L.rng, L.nlive)]);
			else
				gen_update(&L, absent_key(&L), TOPHASH_NOEXIST);
		} else {
			uint64_t w = rng_below(&L.rng, wsum);
			uint64_t key = rng_below(&L.rng, L.space);

			if (w < L.c.mix[0])
				gen_update(&L, key, TOPHASH_ANY);
			else if (w < L.c.mix[0] + L.c.mix[1])
				gen_delete(&L, key);
			else
				gen_lookup(&L, key);
		}
		if (L.npend == L.c.batch) {
			flush(&L);
			after_flush(&L);
		}
	}
	flush(&L);
	el = now_sec() - L.t0;
	load_poll(&L, &in);
	progress(&L, &in, true);
	progress_clear(&L);
	verified = verify_all(&L);
	load_poll(&L, &in);
	load_report(&L, &in, el, verified);
	if (L.c.layout) {
		struct th_layout lo;
		int r = layout_fetch(&L.m, &lo);

		if (r) {
			th_warn("LAYOUT failed: %s", errname(r));
			return 1;
		}
		draw_layout(stdout, &in, &lo, L.c.layout == 2 ? 0 : 64, true);
		layout_free(&lo);
	}
	close(L.m.fd);
	if (fflush(stdout) || ferror(stdout)) {
		th_warn("write error");
		return 1;
	}
	return 0;
}

/* ---- main ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
"usage: thctl COMMAND [ARGS]\n"
"  shell [-e] [-x] [FILE]  run map ops from FILE or stdin on a map of its own\n"
"  load [OPTIONS]          seeded, self-checking insert/delete/lookup workload\n"
"  layout [ID]             draw map ID (held by another process) from debugfs;\n"
"                          with no ID, list the maps\n"
"  COMMAND -h              options of one command\n"
"\n"
"Each map lives while its /dev/tophash file is open: thctl's own maps go\n"
"away when it exits. Layout characters, one per slot:\n"
"  # full  x emptyOne  . emptyRest  X/Y evacuated to X/Y  e evacuatedEmpty\n"
"  a bucket chain per line, overflow buckets after '|'\n"
"\n"
"examples:\n"
"  printf 'create 8 8\\nput 1 100\\nget 1\\ndel 1\\nget 1\\n' | thctl shell\n"
"  thctl shell -x <<EOF\n"
"  create 8 8 14 identity   # hash(k) = k: bucket = k & 3\n"
"  seq put 0 4 9            # nine keys in bucket 0: one overflow bucket\n"
"  del 12\n"
"  layout\n"
"  EOF\n"
"  thctl load                            # 200000 ops, keys 0..49999, 50:30:20\n"
"  thctl load -n 1000000 -k 100000 --mix 40:40:20 -s 7 --batch 256\n"
"  thctl load --churn -k 6600 -n 100000 --layout\n"
"  thctl load --drain --shrink -k 100000   # fill, delete 90%%: bytes over time\n"
"  thctl layout 3                        # map 3 of another process\n");
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	/* Subcommands parse argv[1..] with getopt from the start. */
	optind = 1;
	if (!strcmp(cmd, "shell"))
		return cmd_shell(argc - 1, argv + 1);
	if (!strcmp(cmd, "load"))
		return cmd_load(argc - 1, argv + 1);
	if (!strcmp(cmd, "layout"))
		return cmd_layout(argc - 1, argv + 1);
	th_warn("unknown command '%s' (try thctl --help)", cmd);
	return 2;
}
