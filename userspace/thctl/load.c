// SPDX-License-Identifier: GPL-2.0
/* thctl load: a seeded, self-checking workload. */
#include "thctl.h"

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
	/* Bytes over time: INFO at every poll (op, count, B, bytes, time). */
	struct load_sample {
		uint64_t op, count, bytes;
		uint32_t B;
		double t;	/* seconds since the first op */
	} *samples;
	double settle;		/* seconds the finisher took after the last op */
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

			r = th_op(L->m.fd, cmd[p->op], L->kbuf + (size_t)i * L->c.ksize,
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
			r = th_batch(L->m.fd, L->bops + start, n - start, &done);
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
	int r = th_info(L->m.fd, in);
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
		.t = now_sec() - L->t0,
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

/*
 * On a TOPHASH_F_SHRINK map, after the last op: deletes during a shrink do
 * no evacuation, so the shrinks a drain started are the background
 * finisher's to end (and the later halvings its to start). Poll INFO until
 * it is neither evacuating nor due a shrink; each poll is a bytes sample.
 */
#define SETTLE_POLL_MS	50
#define SETTLE_MAX_S	120

static int load_settle(struct load *L)
{
	const struct timespec ts = { 0, SETTLE_POLL_MS * 1000000L };
	double t0 = now_sec();
	struct tophash_info in;

	for (;;) {
		load_poll(L, &in);
		progress(L, &in, false);
		if (!(in.flags & (TOPHASH_INFO_GROWING | TOPHASH_INFO_SHRINK_DUE)))
			break;
		if (now_sec() - t0 > SETTLE_MAX_S) {
			progress_clear(L);
			th_warn("load: the background finisher did not end the evacuation in %u s (B %u, nevacuate %llu)",
				SETTLE_MAX_S, in.B, (ull)in.nevacuate);
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	L->settle = now_sec() - t0;
	return 0;
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
"                     below PCT%% of the slots filled (1..40, default 25);\n"
"                     after the last op, wait until the background finisher\n"
"                     has ended every shrink that is due (bytes over time)\n"
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
	if (thctl_open(&L->m))
		return -1;
	r = thctl_create(&L->m, c->ksize, c->vsize, c->hint, c->max,
		      (c->siphash ? TOPHASH_F_SIPHASH : 0) |
		      (c->shrink ? TOPHASH_F_SHRINK : 0), c->shrink_pct);
	if (r) {
		th_warn("CREATE (key %u, value %u, hint %llu, max %llu) failed: %s",
		      c->ksize, c->vsize, (ull)c->hint, (ull)c->max, errname(r));
		return -1;
	}
	r = th_info(L->m.fd, &in);
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
		printf("  bytes     at op %10llu: count %8llu  B %2u  %10llu bytes  %7.1f per entry  %6.2f s\n",
		       (ull)p->op, (ull)p->count, p->B, (ull)p->bytes,
		       p->count ? (double)p->bytes / p->count : 0.0, p->t);
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
	if (c->shrink)
		printf("  settle    %.2f s after the last op until the background finisher had ended every shrink due\n",
		       L->settle);
	load_report_bytes(L);
	printf("  map       count %llu, B %u, noverflow %llu, growing %s, generation %llu, bytes %llu\n",
	       (ull)in->count, in->B, (ull)in->noverflow, growing_str(in),
	       (ull)in->generation, (ull)in->bytes);
	printf("  verified  every result and error code against the model; %llu live keys read back, count matches\n",
	       (ull)verified);
}

int cmd_load(int argc, char **argv)
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
	if (L.c.shrink && load_settle(&L))
		return 1;
	load_poll(&L, &in);
	progress(&L, &in, true);
	progress_clear(&L);
	verified = verify_all(&L);
	load_poll(&L, &in);
	load_report(&L, &in, el, verified);
	if (L.c.layout) {
		struct th_layout lo;
		int r = th_layout_get(L.m.fd, &lo);

		if (r) {
			th_warn("LAYOUT failed: %s", errname(r));
			return 1;
		}
		draw_layout(stdout, &in, &lo, L.c.layout == 2 ? 0 : 64, true);
		th_layout_free(&lo);
	}
	close(L.m.fd);
	if (fflush(stdout) || ferror(stdout)) {
		th_warn("write error");
		return 1;
	}
	return 0;
}
