// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests of the tophash map through /dev/tophash: ABI validation,
 * Go map semantics seen through the layout ioctl, growth, clear, batch,
 * limits, and a seeded random workload checked against a model.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "tophash_util.h"

/* ---- create and ABI validation ---- */

TEST(create_rejects_bad_sizes_and_flags)
{
	EXPECT_EQ(-EINVAL, th_create(0, 8, 0));
	EXPECT_EQ(-EINVAL, th_create(8, 0, 0));
	EXPECT_EQ(-EINVAL, th_create(TOPHASH_MAX_KEY_SIZE + 1, 8, 0));
	EXPECT_EQ(-EINVAL, th_create(8, TOPHASH_MAX_VALUE_SIZE + 1, 0));
	EXPECT_EQ(-EINVAL, th_create(8, 8, 1U << 31));
	/* identity hashing needs 8-byte keys */
	EXPECT_EQ(-EINVAL, th_create(4, 8, TOPHASH_F_IDENTITY_HASH));
	EXPECT_EQ(-EINVAL, th_create_full(8, 8, 0, TOPHASH_LIMIT_MAX_ENTRIES + 1,
					  0, NULL));
	/* a hint above max_entries */
	EXPECT_EQ(-EINVAL, th_create_full(8, 8, 100, 10, 0, NULL));
}

TEST(create_accepts_limits_and_reports_id)
{
	uint32_t id = 0;
	int fd;

	fd = th_create_full(TOPHASH_MAX_KEY_SIZE, TOPHASH_MAX_VALUE_SIZE, 0, 0,
			    0, &id);
	ASSERT_LE(0, fd);
	EXPECT_LT(0, id);
	close(fd);
	fd = th_create(1, 1, 0);
	ASSERT_LE(0, fd);
	close(fd);
}

/*
 * The hash a create flag chooses: SipHash maps and maps of the default
 * hash and of each fixed-size shape work the same through the device, and
 * INFO says which hash a map has; SipHash with the identity hash is EINVAL.
 */
TEST(siphash_and_default_hash_maps_of_every_fixed_shape_work)
{
	static const struct { uint32_t ks, vs, flags; } c[] = {
		{ 8, 8, TOPHASH_F_SIPHASH }, { 12, 8, TOPHASH_F_SIPHASH },
		{ 8, 8, 0 }, { 16, 8, 0 }, { 4, 8, 0 }, { 64, 8, 0 }, { 12, 24, 0 },
	};
	uint8_t key[64], val[24], got[24];
	struct tophash_info in;
	unsigned int i, k;

	EXPECT_EQ(-EINVAL, th_create(8, 8, TOPHASH_F_SIPHASH | TOPHASH_F_IDENTITY_HASH));
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int fd = th_create(c[i].ks, c[i].vs, c[i].flags);

		ASSERT_LE(0, fd) TH_LOG("%u-byte keys, flags %u", c[i].ks, c[i].flags);
		for (k = 0; k < 3000; k++) {
			memset(key, 0, sizeof(key));
			memcpy(key, &k, sizeof(k));
			key[c[i].ks - 1] ^= (uint8_t)(k * 7);
			memset(val, (int)k, sizeof(val));
			ASSERT_EQ(0, th_put(fd, key, val, TOPHASH_NOEXIST));
		}
		for (k = 0; k < 3000; k++) {
			memset(key, 0, sizeof(key));
			memcpy(key, &k, sizeof(k));
			key[c[i].ks - 1] ^= (uint8_t)(k * 7);
			memset(val, (int)k, sizeof(val));
			ASSERT_EQ(0, th_get(fd, key, got));
			ASSERT_EQ(0, memcmp(val, got, c[i].vs));
			if (k % 2)
				ASSERT_EQ(0, th_del(fd, key));
		}
		ASSERT_EQ(0, th_info(fd, &in));
		EXPECT_EQ(1500, in.count);
		EXPECT_EQ(c[i].flags ? TOPHASH_INFO_SIPHASH : 0,
			  in.flags & TOPHASH_INFO_SIPHASH);
		close(fd);
	}
}

TEST(create_twice_is_ebusy)
{
	struct tophash_create c = {
		.size = sizeof(c), .key_size = 8, .value_size = 8,
	};
	int fd = th_create(8, 8, 0);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBUSY, th_err(ioctl(fd, TOPHASH_IOC_CREATE, &c)));
	close(fd);
}

TEST(ops_before_create_are_einval)
{
	struct tophash_info in;
	struct tophash_clear cl;
	uint64_t k = 1, v = 2;
	int fd = open(TH_DEV, O_RDWR);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EINVAL, th_put64(fd, k, v));
	EXPECT_EQ(-EINVAL, th_get64(fd, k, &v));
	EXPECT_EQ(-EINVAL, th_del64(fd, k));
	EXPECT_EQ(-EINVAL, th_info(fd, &in));
	EXPECT_EQ(-EINVAL, th_clear(fd, &cl));
	close(fd);
}

TEST(struct_size_field_is_checked)
{
	struct {
		struct tophash_create c;
		uint64_t extra;
	} big = { .c = { .key_size = 8, .value_size = 8 } };
	int fd = open(TH_DEV, O_RDWR);

	ASSERT_LE(0, fd);
	big.c.size = 8; /* smaller than any published version */
	EXPECT_EQ(-EINVAL, th_err(ioctl(fd, TOPHASH_IOC_CREATE, &big.c)));
	big.c.size = sizeof(big);
	big.extra = 1; /* a field this kernel does not know, non-zero */
	EXPECT_EQ(-E2BIG, th_err(ioctl(fd, TOPHASH_IOC_CREATE, &big.c)));
	big.extra = 0; /* unknown but zero: accepted */
	EXPECT_EQ(0, th_err(ioctl(fd, TOPHASH_IOC_CREATE, &big.c)));
	close(fd);
}

/* ---- basic ops ---- */

FIXTURE(MAP) {
	int fd;
};

FIXTURE_SETUP(MAP)
{
	self->fd = th_create(8, 8, 0);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(MAP)
{
	close(self->fd);
}

TEST_F(MAP, update_lookup_delete_round_trip)
{
	uint64_t v = 0;

	EXPECT_EQ(0, th_put64(self->fd, 7, 700));
	EXPECT_EQ(0, th_get64(self->fd, 7, &v));
	EXPECT_EQ(700, v);
	EXPECT_EQ(0, th_put64(self->fd, 7, 701));
	EXPECT_EQ(0, th_get64(self->fd, 7, &v));
	EXPECT_EQ(701, v);
	EXPECT_EQ(0, th_del64(self->fd, 7));
	EXPECT_EQ(-ENOENT, th_get64(self->fd, 7, &v));
}

TEST_F(MAP, update_flags_noexist_and_exist)
{
	uint64_t k = 5, v = 50, got = 0;
	struct tophash_info in;

	EXPECT_EQ(-ENOENT, th_put(self->fd, &k, &v, TOPHASH_EXIST));
	EXPECT_EQ(-ENOENT, th_get64(self->fd, k, &got));
	EXPECT_EQ(0, th_put(self->fd, &k, &v, TOPHASH_NOEXIST));
	v = 51;
	EXPECT_EQ(-EEXIST, th_put(self->fd, &k, &v, TOPHASH_NOEXIST));
	EXPECT_EQ(0, th_get64(self->fd, k, &got));
	EXPECT_EQ(50, got);
	EXPECT_EQ(0, th_put(self->fd, &k, &v, TOPHASH_EXIST));
	EXPECT_EQ(0, th_get64(self->fd, k, &got));
	EXPECT_EQ(51, got);
	EXPECT_EQ(-EINVAL, th_put(self->fd, &k, &v, 3));
	ASSERT_EQ(0, th_info(self->fd, &in));
	EXPECT_EQ(1, in.count);
}

TEST_F(MAP, missing_key_is_enoent)
{
	uint64_t v;

	EXPECT_EQ(-ENOENT, th_get64(self->fd, 42, &v));
	EXPECT_EQ(-ENOENT, th_del64(self->fd, 42));
}

TEST_F(MAP, unknown_ioctl_is_enotty)
{
	char arg[64] = { 0 };

	EXPECT_EQ(-ENOTTY, th_err(ioctl(self->fd, _IO(TOPHASH_IOC_MAGIC, 99), arg)));
	EXPECT_EQ(-ENOTTY, th_err(ioctl(self->fd, _IO(TOPHASH_IOC_MAGIC, 0), arg)));
	EXPECT_EQ(-ENOTTY, th_err(ioctl(self->fd, _IO('x', 2), arg)));
}

TEST_F(MAP, bad_user_pointers_are_efault_and_change_nothing)
{
	void *bad = (void *)16;
	uint64_t k = 9, v = 90, got = 0;
	struct tophash_info in;

	ASSERT_EQ(0, th_put64(self->fd, k, v));
	EXPECT_EQ(-EFAULT, th_put(self->fd, bad, &v, 0));
	EXPECT_EQ(-EFAULT, th_put(self->fd, &k, bad, 0));
	EXPECT_EQ(-EFAULT, th_get(self->fd, bad, &got));
	EXPECT_EQ(-EFAULT, th_get(self->fd, &k, bad));
	EXPECT_EQ(-EFAULT, th_del(self->fd, bad));
	EXPECT_EQ(-EFAULT, th_err(ioctl(self->fd, TOPHASH_IOC_INFO, bad)));
	EXPECT_EQ(-EFAULT, th_err(ioctl(self->fd, TOPHASH_IOC_UPDATE, bad)));
	EXPECT_EQ(-EFAULT, th_err(ioctl(self->fd, TOPHASH_IOC_CLEAR, bad)));
	ASSERT_EQ(0, th_info(self->fd, &in));
	EXPECT_EQ(1, in.count);
	EXPECT_EQ(0, th_get64(self->fd, k, &got));
	EXPECT_EQ(v, got);
}

TEST_HARNESS_MAIN
