/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libtophash: what every userspace user of /dev/tophash needs, shared by
 * thctl and the kselftests: the ioctl wrappers, the LAYOUT fetch and its
 * one decoder, and the slot-state characters.
 *
 * Every function returns 0 (or a count or fd) on success and -errno on
 * failure; none prints anything.
 */
#ifndef LIBTOPHASH_H
#define LIBTOPHASH_H

#include <stddef.h>
#include <stdint.h>

#include "tophash.h"

#define TH_DEV "/dev/" TOPHASH_DEV_NAME
#define TH_DBG "/sys/kernel/debug/" TOPHASH_DEV_NAME

/* @r < 0 (a syscall's failure) becomes -errno; anything else is returned. */
int th_err(int r);
/* ioctl(@fd, @cmd, @arg): 0 or -errno. */
int th_ioctl(int fd, unsigned long cmd, void *arg);

/* CREATE on the open /dev/tophash file @fd; the map's id in *@id. */
int th_create_on(int fd, uint32_t ksize, uint32_t vsize, uint64_t hint,
		 uint64_t max, uint32_t flags, uint32_t *id);
/* Open /dev/tophash and create a map; returns the fd or -errno. */
int th_create_full(uint32_t ksize, uint32_t vsize, uint64_t hint, uint64_t max,
		   uint32_t flags, uint32_t *id);
int th_create(uint32_t ksize, uint32_t vsize, uint32_t flags);

/* UPDATE, LOOKUP or DELETE (@cmd) with struct tophash_op. */
int th_op(int fd, unsigned long cmd, const void *key, void *val, uint32_t flags);
int th_put(int fd, const void *key, const void *val, uint32_t flags);
int th_get(int fd, const void *key, void *val);
int th_del(int fd, const void *key);
int th_info(int fd, struct tophash_info *in);
int th_clear(int fd, struct tophash_clear *cl);

/* One entry of a batch. */
struct tophash_batch_op th_bop(uint32_t op, uint32_t flags, const void *key,
			       void *val);
/* Run a batch; returns 0 or -errno, and the ops done in *@done. */
int th_batch(int fd, const struct tophash_batch_op *ops, uint32_t count,
	     uint32_t *done);

/* A decoded layout: every chain, old table first, slot states in order. */
struct th_chain {
	uint32_t table;		/* TOPHASH_LAYOUT_NEW or _OLD */
	uint32_t bucket;
	uint32_t depth;		/* buckets in the chain, >= 1 */
	const uint8_t *top;	/* depth * TOPHASH_BUCKET_SLOTS states */
};

struct th_layout {
	uint32_t B;		/* of the current table; 0 when from debugfs */
	uint32_t nchains;
	struct th_chain *chains;
	uint8_t *buf;		/* what the chains' @top point into */
};

void th_layout_free(struct th_layout *lo);
/*
 * Decode @len bytes of LAYOUT records at lo->buf into @nchains chains:
 * -EPROTO unless every record has a depth, a known table and fits, and the
 * records fill @len exactly.
 */
int th_layout_decode(struct th_layout *lo, uint64_t len, uint32_t nchains);
/* Fetch (retrying while the map grows under it) and decode the layout. */
int th_layout_get(int fd, struct th_layout *out);
/* The chain of bucket @bucket in @table, or NULL. */
struct th_chain *th_layout_chain(struct th_layout *lo, uint32_t table,
				 uint32_t bucket);

/* A slot state's character (TOPHASH_STATE_CHAR), and back (-1: none). */
char th_slot_char(uint8_t top);
int th_state_of(char ch);
/* Slot states of a chain as a string: "#######x...". */
void th_chain_str(const struct th_chain *c, char *s, size_t n);
/* The same with '|' between its buckets: "########|#.......". */
void th_chain_str_bars(const struct th_chain *c, char *s, size_t n);
/*
 * Fetch the layout and draw one chain with th_chain_str_bars(); returns 0,
 * -ENOENT when the map has no such chain, or the layout's -errno.
 */
int th_layout_chain_str(int fd, uint32_t table, uint32_t bucket, char *s,
			size_t n);
/*
 * Fetch the layout and return the raw tophash byte of @slot, counted along
 * the chain (slot 8 is the first overflow bucket's slot 0); -ENOENT when
 * the map has no such chain or slot, or the layout's -errno.
 */
int th_layout_top(int fd, uint32_t table, uint32_t bucket, uint32_t slot);

#endif /* LIBTOPHASH_H */
