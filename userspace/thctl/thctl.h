/* SPDX-License-Identifier: GPL-2.0 */
/*
 * thctl - drive tophash maps through /dev/tophash
 *
 *   thctl shell [-e] [-x] [FILE]   run map ops, one per line, on one map
 *                                  (shell.c)
 *   thctl load [OPTIONS]           seeded, self-checking workload (load.c)
 *   thctl layout [ID]              draw map ID's layout from debugfs
 *                                  (layout.c)
 *
 * main.c dispatches; draw.c draws a layout; util.c holds what the commands
 * share. The ioctls, the layout decoder and the slot-state characters are
 * libtophash's (userspace/lib/).
 *
 * Each open file of /dev/tophash is one map, so the map a shell or a load
 * creates lives exactly as long as the command. `thctl layout ID` looks at
 * a map that another process holds, through /sys/kernel/debug/tophash/ID/.
 */
#ifndef THCTL_H
#define THCTL_H

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

#include "libtophash.h"

#define LAYOUT_COLS	80

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

typedef unsigned long long ull;

/* util.c */
extern const char *prog;
const char *errname(int err);
void th_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool parse_u64(const char *s, uint64_t *out);
double now_sec(void);
void store_uint(uint8_t *buf, uint32_t size, uint64_t v);
uint64_t load_uint(const uint8_t *buf, uint32_t size);

/* The map a shell or a load works on: its open file and its shape. */
struct th_map {
	int fd;
	uint32_t id;
	uint32_t key_size;
	uint32_t value_size;
	bool created;
};

int thctl_open(struct th_map *m);
/* @shrink_pct: with TOPHASH_F_SHRINK in @flags, its threshold (0: default). */
int thctl_create(struct th_map *m, uint32_t ksize, uint32_t vsize,
		 uint64_t hint, uint64_t max, uint32_t flags, uint32_t shrink_pct);

/* draw.c */
const char *growing_str(const struct tophash_info *in);
void draw_layout(FILE *f, const struct tophash_info *in,
		 const struct th_layout *lo, unsigned int max_rows, bool legend);

/* The commands: argv[0] is the command's name. */
int cmd_shell(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_layout(int argc, char **argv);

#endif /* THCTL_H */
