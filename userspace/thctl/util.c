// SPDX-License-Identifier: GPL-2.0
/* thctl: what the commands share. */
#include "thctl.h"

const char *prog = "thctl";

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

const char *errname(int err)
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

void th_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Strict number: decimal or 0x-hex, the whole string, no sign. */
bool parse_u64(const char *s, uint64_t *out)
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

double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Keys and values given as integers are native-endian u64s cut to their
 * low @size bytes, or zero-extended past 8 bytes.
 */
void store_uint(uint8_t *buf, uint32_t size, uint64_t v)
{
	uint32_t n = size < 8 ? size : 8;

	memset(buf, 0, size);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(buf, &v, n);
#else
	memcpy(buf, (uint8_t *)&v + 8 - n, n);
#endif
}

uint64_t load_uint(const uint8_t *buf, uint32_t size)
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

int thctl_open(struct th_map *m)
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

int thctl_create(struct th_map *m, uint32_t ksize, uint32_t vsize,
		 uint64_t hint, uint64_t max, uint32_t flags, uint32_t shrink_pct)
{
	struct tophash_create c = {
		.size = sizeof(c), .key_size = ksize, .value_size = vsize,
		.flags = flags, .size_hint = hint, .max_entries = max,
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
