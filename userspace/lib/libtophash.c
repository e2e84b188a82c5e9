// SPDX-License-Identifier: GPL-2.0
/* libtophash: see libtophash.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "libtophash.h"

int th_err(int r)
{
	return r < 0 ? -errno : r;
}

int th_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

int th_create_on(int fd, uint32_t ksize, uint32_t vsize, uint64_t hint,
		 uint64_t max, uint32_t flags, uint32_t *id)
{
	struct tophash_create c = {
		.size = sizeof(c), .key_size = ksize, .value_size = vsize,
		.flags = flags, .size_hint = hint, .max_entries = max,
	};
	int r = th_ioctl(fd, TOPHASH_IOC_CREATE, &c);

	if (!r && id)
		*id = c.id;
	return r;
}

int th_create_full(uint32_t ksize, uint32_t vsize, uint64_t hint, uint64_t max,
		   uint32_t flags, uint32_t *id)
{
	int fd = open(TH_DEV, O_RDWR);
	int r;

	if (fd < 0)
		return -errno;
	r = th_create_on(fd, ksize, vsize, hint, max, flags, id);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

int th_create(uint32_t ksize, uint32_t vsize, uint32_t flags)
{
	return th_create_full(ksize, vsize, 0, 0, flags, NULL);
}

int th_op(int fd, unsigned long cmd, const void *key, void *val, uint32_t flags)
{
	struct tophash_op o = {
		.size = sizeof(o), .flags = flags,
		.key = (uintptr_t)key, .value = (uintptr_t)val,
	};

	return th_ioctl(fd, cmd, &o);
}

int th_put(int fd, const void *key, const void *val, uint32_t flags)
{
	return th_op(fd, TOPHASH_IOC_UPDATE, key, (void *)val, flags);
}

int th_get(int fd, const void *key, void *val)
{
	return th_op(fd, TOPHASH_IOC_LOOKUP, key, val, 0);
}

int th_del(int fd, const void *key)
{
	return th_op(fd, TOPHASH_IOC_DELETE, key, NULL, 0);
}

int th_info(int fd, struct tophash_info *in)
{
	memset(in, 0, sizeof(*in));
	in->size = sizeof(*in);
	return th_ioctl(fd, TOPHASH_IOC_INFO, in);
}

int th_clear(int fd, struct tophash_clear *cl)
{
	memset(cl, 0, sizeof(*cl));
	cl->size = sizeof(*cl);
	return th_ioctl(fd, TOPHASH_IOC_CLEAR, cl);
}

struct tophash_batch_op th_bop(uint32_t op, uint32_t flags, const void *key,
			       void *val)
{
	struct tophash_batch_op o = {
		.op = op, .flags = flags,
		.key = (uintptr_t)key, .value = (uintptr_t)val,
	};

	return o;
}

int th_batch(int fd, const struct tophash_batch_op *ops, uint32_t count,
	     uint32_t *done)
{
	struct tophash_batch bt = {
		.size = sizeof(bt), .count = count, .ops = (uintptr_t)ops,
	};
	int r = th_ioctl(fd, TOPHASH_IOC_BATCH, &bt);

	if (done)
		*done = bt.done;
	return r;
}

void th_layout_free(struct th_layout *lo)
{
	free(lo->chains);
	free(lo->buf);
	memset(lo, 0, sizeof(*lo));
}

int th_layout_decode(struct th_layout *lo, uint64_t len, uint32_t nchains)
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
		/* Each record is padded to a multiple of 8 bytes. */
		pos += (sizeof(rec) + slots + 7) & ~7ULL;
	}
	lo->nchains = nchains;
	return pos == len ? 0 : -EPROTO;
}

int th_layout_get(int fd, struct th_layout *out)
{
	struct tophash_layout arg;
	uint64_t cap = 0;
	int r = -ENOSPC, tries;

	memset(out, 0, sizeof(*out));
	/* Ask for the size, then fetch; ask again if the map grew in between. */
	for (tries = 0; tries < 8 && r == -ENOSPC; tries++) {
		memset(&arg, 0, sizeof(arg));
		arg.size = sizeof(arg);
		arg.buf = (uintptr_t)out->buf;
		arg.buf_len = cap;
		r = th_ioctl(fd, TOPHASH_IOC_LAYOUT, &arg);
		if (r != -ENOSPC)
			break;
		if (arg.buf_len <= cap) {
			r = -EPROTO;
			break;
		}
		cap = arg.buf_len;
		free(out->buf);
		out->buf = malloc(cap);
		if (!out->buf)
			r = -ENOMEM;
	}
	if (!r) {
		out->B = arg.B;
		r = th_layout_decode(out, arg.buf_len, arg.nchains);
	}
	if (r)
		th_layout_free(out);
	return r;
}

struct th_chain *th_layout_chain(struct th_layout *lo, uint32_t table,
				 uint32_t bucket)
{
	uint32_t i;

	for (i = 0; i < lo->nchains; i++)
		if (lo->chains[i].table == table && lo->chains[i].bucket == bucket)
			return &lo->chains[i];
	return NULL;
}

char th_slot_char(uint8_t top)
{
	return TOPHASH_STATE_CHAR(top);
}

int th_state_of(char ch)
{
	const char *p;

	if (ch == TOPHASH_STATE_CHAR_FULL)
		return TOPHASH_MIN_TOPHASH;
	p = ch ? strchr(TOPHASH_STATE_CHARS, ch) : NULL;
	return p ? (int)(p - TOPHASH_STATE_CHARS) : -1;
}

/* @c's states into @s (at most @n bytes with the NUL), '|' between buckets if @bars. */
static void th_chain_draw(const struct th_chain *c, char *s, size_t n, int bars)
{
	size_t i, o = 0, len = (size_t)c->depth * TOPHASH_BUCKET_SLOTS;

	if (!n)
		return;
	for (i = 0; i < len && o + 1 < n; i++) {
		if (bars && i && i % TOPHASH_BUCKET_SLOTS == 0) {
			s[o++] = '|';
			if (o + 1 >= n)
				break;
		}
		s[o++] = th_slot_char(c->top[i]);
	}
	s[o] = '\0';
}

void th_chain_str(const struct th_chain *c, char *s, size_t n)
{
	th_chain_draw(c, s, n, 0);
}

void th_chain_str_bars(const struct th_chain *c, char *s, size_t n)
{
	th_chain_draw(c, s, n, 1);
}

/*
 * Fetch the layout, find chain (@table, @bucket) and read it with @fn;
 * -ENOENT when there is no such chain, else what @fn returns.
 */
static int th_layout_with_chain(int fd, uint32_t table, uint32_t bucket,
				int (*fn)(const struct th_chain *c, void *arg),
				void *arg)
{
	struct th_layout lo;
	struct th_chain *c;
	int r = th_layout_get(fd, &lo);

	if (r)
		return r;
	c = th_layout_chain(&lo, table, bucket);
	r = c ? fn(c, arg) : -ENOENT;
	th_layout_free(&lo);
	return r;
}

struct th_str_arg {
	char *s;
	size_t n;
};

static int th_chain_str_cb(const struct th_chain *c, void *arg)
{
	struct th_str_arg *a = arg;

	th_chain_str_bars(c, a->s, a->n);
	return 0;
}

int th_layout_chain_str(int fd, uint32_t table, uint32_t bucket, char *s,
			size_t n)
{
	struct th_str_arg a = { s, n };

	return th_layout_with_chain(fd, table, bucket, th_chain_str_cb, &a);
}

static int th_chain_top_cb(const struct th_chain *c, void *arg)
{
	uint32_t slot = *(const uint32_t *)arg;

	return slot < c->depth * TOPHASH_BUCKET_SLOTS ? c->top[slot] : -ENOENT;
}

int th_layout_top(int fd, uint32_t table, uint32_t bucket, uint32_t slot)
{
	return th_layout_with_chain(fd, table, bucket, th_chain_top_cb, &slot);
}
