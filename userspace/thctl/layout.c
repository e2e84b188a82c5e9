// SPDX-License-Identifier: GPL-2.0
/* thctl layout [ID]: a map someone else holds, from debugfs. */
#include "thctl.h"

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
				s = th_state_of(p[i]);
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
		th_layout_free(lo);
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

int cmd_layout(int argc, char **argv)
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
	th_layout_free(&lo);
	return fflush(stdout) ? 1 : 0;
}
