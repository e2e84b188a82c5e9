// SPDX-License-Identifier: GPL-2.0
/* thctl shell: map ops, one per line, on a map of its own. */
#include "thctl.h"

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
	r = thctl_create(&sh->map, ks, vs, hint, max, flags, pct);
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
	r = th_op(sh->map.fd, TOPHASH_IOC_UPDATE, key, val, flags);
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
	r = th_op(sh->map.fd, get ? TOPHASH_IOC_LOOKUP : TOPHASH_IOC_DELETE,
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
		r = th_op(sh->map.fd, cmd, key, cmd == TOPHASH_IOC_DELETE ? NULL : val,
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
	r = th_clear(sh->map.fd, &cl);
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
	r = th_info(sh->map.fd, &in);
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
	r = th_info(sh->map.fd, &in);
	if (!r)
		r = th_layout_get(sh->map.fd, &lo);
	if (r) {
		fprintf(o, "ERR %s", errname(r));
		return -r;
	}
	draw_layout(o, &in, &lo, 0, false);
	th_layout_free(&lo);
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

int cmd_shell(int argc, char **argv)
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
	if (thctl_open(&sh.map))
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
