// SPDX-License-Identifier: GPL-2.0
/* thctl: the command line. */
#include "thctl.h"

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
