/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the tophash kselftests: thin wrappers around the
 * /dev/tophash ioctls that return 0 or -errno, and a decoded layout.
 */
#ifndef TOPHASH_UTIL_H
#define TOPHASH_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tophash.h"

#define TH_DEV "/dev/" TOPHASH_DEV_NAME
#define TH_DBG "/sys/kernel/debug/tophash"

static inline int th_err(int r)
{
	return r < 0 ? -errno : r;
}

/* Open /dev/tophash and create a map; returns the fd or -errno. */
static inline int th_create_full(uint32_t ksize, uint32_t vsize, uint64_t hint,
				 uint64_t max, uint32_t flags, uint32_t *id)
{
	struct tophash_create c = {
		.size = sizeof(c), .key_size = ksize, .value_size = vsize,
		.flags = flags, .size_hint = hint, .max_entries = max,
	};
	int fd = open(TH_DEV, O_RDWR);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, TOPHASH_IOC_CREATE, &c)) {
		int e = errno;

		close(fd);
		return -e;
	}
	if (id)
		*id = c.id;
	return fd;
}

static inline int th_create(uint32_t ksize, uint32_t vsize, uint32_t flags)
{
	return th_create_full(ksize, vsize, 0, 0, flags, NULL);
}

static inline int th_op(int fd, unsigned long cmd, const void *key, void *val,
			uint32_t flags)
{
	struct tophash_op o = {
		.size = sizeof(o), .flags = flags,
		.key = (uintptr_t)key, .value = (uintptr_t)val,
	};

	return th_err(ioctl(fd, cmd, &o));
}

static inline int th_put(int fd, const void *key, const void *val, uint32_t flags)
{
	return th_op(fd, TOPHASH_IOC_UPDATE, key, (void *)val, flags);
}

static inline int th_get(int fd, const void *key, void *val)
{
	return th_op(fd, TOPHASH_IOC_LOOKUP, key, val, 0);
}

static inline int th_del(int fd, const void *key)
{
	return th_op(fd, TOPHASH_IOC_DELETE, key, NULL, 0);
}

/* 8-byte key and value convenience forms. */
static inline int th_put64(int fd, uint64_t k, uint64_t v)
{
	return th_put(fd, &k, &v, TOPHASH_ANY);
}

static inline int th_get64(int fd, uint64_t k, uint64_t *v)
{
	return th_get(fd, &k, v);
}

static inline int th_del64(int fd, uint64_t k)
{
	return th_del(fd, &k);
}

static inline int th_info(int fd, struct tophash_info *in)
{
	memset(in, 0, sizeof(*in));
	in->size = sizeof(*in);
	return th_err(ioctl(fd, TOPHASH_IOC_INFO, in));
}

static inline int th_clear(int fd, struct tophash_clear *cl)
{
	memset(cl, 0, sizeof(*cl));
	cl->size = sizeof(*cl);
	return th_err(ioctl(fd, TOPHASH_IOC_CLEAR, cl));
}

/* A decoded layout: every chain, old table first, slot states in order. */
struct th_chain {
	uint32_t table;
	uint32_t bucket;
	uint32_t depth;
	uint8_t *top;		/* depth * 8 tophash bytes */
};

struct th_layout {
	uint32_t B;
	uint32_t nchains;
	struct th_chain *chains;
	uint8_t *buf;
};

static inline void th_layout_free(struct th_layout *lo)
{
	free(lo->chains);
	free(lo->buf);
	memset(lo, 0, sizeof(*lo));
}

/* Fetch and decode the layout; returns 0 or -errno. */
static inline int th_layout_get(int fd, struct th_layout *out)
{
	struct tophash_layout lo = { .size = sizeof(lo) };
	uint64_t pos = 0;
	uint32_t i;
	int r;

	memset(out, 0, sizeof(*out));
	r = th_err(ioctl(fd, TOPHASH_IOC_LAYOUT, &lo)); /* size query */
	if (r && r != -ENOSPC)
		return r;
	out->buf = malloc(lo.buf_len ? lo.buf_len : 1);
	if (!out->buf)
		return -ENOMEM;
	lo.buf = (uintptr_t)out->buf;
	r = th_err(ioctl(fd, TOPHASH_IOC_LAYOUT, &lo));
	if (r)
		goto fail;
	out->B = lo.B;
	out->nchains = lo.nchains;
	out->chains = calloc(lo.nchains ? lo.nchains : 1, sizeof(*out->chains));
	r = -ENOMEM;
	if (!out->chains)
		goto fail;
	for (i = 0; i < lo.nchains; i++) {
		struct tophash_layout_chain *c = (void *)(out->buf + pos);

		r = -EPROTO;
		if (pos + sizeof(*c) > lo.buf_len)
			goto fail;
		out->chains[i].table = c->table;
		out->chains[i].bucket = c->bucket;
		out->chains[i].depth = c->depth;
		out->chains[i].top = (uint8_t *)(c + 1);
		pos += sizeof(*c) + (uint64_t)c->depth * TOPHASH_BUCKET_SLOTS;
		if (pos > lo.buf_len)
			goto fail;
	}
	return 0;
fail:
	th_layout_free(out);
	return r;
}

/* The chain of bucket @bucket in @table, or NULL. */
static inline struct th_chain *th_layout_chain(struct th_layout *lo,
					       uint32_t table, uint32_t bucket)
{
	uint32_t i;

	for (i = 0; i < lo->nchains; i++)
		if (lo->chains[i].table == table && lo->chains[i].bucket == bucket)
			return &lo->chains[i];
	return NULL;
}

/* Slot states of a chain as a string: . x # X Y e (as thctl draws them). */
static inline void th_chain_str(const struct th_chain *c, char *s, size_t n)
{
	static const char st[] = ".xXYe";
	size_t i, len = (size_t)c->depth * TOPHASH_BUCKET_SLOTS;

	for (i = 0; i < len && i + 1 < n; i++)
		s[i] = c->top[i] >= TOPHASH_MIN_TOPHASH ? '#' : st[c->top[i]];
	s[i] = '\0';
}

/* Read a decimal number from a debugfs/sysfs file; returns -1 on error. */
static inline long long th_read_ll(const char *path)
{
	long long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/*
 * Identity-hash keys: hash(k) = k, so bucket = k & (2^B - 1) and
 * tophash = k >> 56 (raised by 5 when below 5). This builds a key for bucket
 * @bucket with top byte @top and a distinguishing middle @n.
 */
static inline uint64_t th_ikey(uint64_t bucket, uint8_t top, uint32_t n)
{
	return ((uint64_t)top << 56) | ((uint64_t)n << 20) | bucket;
}

/* Slot states of a chain with '|' between its buckets: "########|#.......". */
static inline void th_chain_str_bars(const struct th_chain *c, char *s, size_t n)
{
	static const char st[] = ".xXYe";
	size_t i, o = 0, len = (size_t)c->depth * TOPHASH_BUCKET_SLOTS;

	for (i = 0; i < len && o + 1 < n; i++) {
		if (i && i % TOPHASH_BUCKET_SLOTS == 0) {
			s[o++] = '|';
			if (o + 1 >= n)
				break;
		}
		s[o++] = c->top[i] >= TOPHASH_MIN_TOPHASH ? '#' : st[c->top[i]];
	}
	s[o] = '\0';
}

/*
 * Fetch the layout and draw one chain with th_chain_str_bars(); returns 0,
 * -ENOENT when the map has no such chain, or the layout's -errno.
 */
static inline int th_layout_chain_str(int fd, uint32_t table, uint32_t bucket,
				      char *s, size_t n)
{
	struct th_layout lo;
	struct th_chain *c;
	int r = th_layout_get(fd, &lo);

	if (r)
		return r;
	c = th_layout_chain(&lo, table, bucket);
	if (c)
		th_chain_str_bars(c, s, n);
	th_layout_free(&lo);
	return c ? 0 : -ENOENT;
}

/* One entry of a batch. */
static inline struct tophash_batch_op th_bop(uint32_t op, uint32_t flags,
					     const void *key, void *val)
{
	struct tophash_batch_op o = {
		.op = op, .flags = flags,
		.key = (uintptr_t)key, .value = (uintptr_t)val,
	};

	return o;
}

/* Run a batch; returns 0 or -errno, and the ops done in *@done. */
static inline int th_batch(int fd, const struct tophash_batch_op *ops,
			   uint32_t count, uint32_t *done)
{
	struct tophash_batch bt = {
		.size = sizeof(bt), .count = count, .ops = (uintptr_t)ops,
	};
	int r = th_err(ioctl(fd, TOPHASH_IOC_BATCH, &bt));

	if (done)
		*done = bt.done;
	return r;
}

/* Load the module at @path with @params (finit_module); 0 or -errno. */
static inline int th_load_module(const char *path, const char *params)
{
	int fd, r;

	if (!path)
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = th_err(syscall(SYS_finit_module, fd, params, 0));
	close(fd);
	return r;
}

/* Unload module @name without waiting for its users; 0 or -errno. */
static inline int th_unload_module(const char *name)
{
	return th_err(syscall(SYS_delete_module, name, O_NONBLOCK));
}

/* rmmod tophash, and insmod it again from $TOPHASH_KO. */
static inline int th_rmmod(void)
{
	return th_unload_module("tophash");
}

static inline int th_insmod(void)
{
	return th_load_module(getenv("TOPHASH_KO"), "");
}

#endif /* TOPHASH_UTIL_H */
