/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the tophash kselftests. The ioctl wrappers (0 or
 * -errno), the layout fetch and decode and the slot-state characters are
 * userspace/lib/libtophash.h's, shared with thctl; what is here is for the
 * tests only.
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

#include "libtophash.h"

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
