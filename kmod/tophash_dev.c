// SPDX-License-Identifier: GPL-2.0
/*
 * tophash: /dev/tophash, one map per open file, and its ioctls.
 */
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/uaccess.h>
#include <linux/slab.h>
#include <linux/capability.h>
#include <linux/mm.h>
#include <linux/highmem.h>
#include "tophash_core.h"
#include "tophash_module.h"

/* Scratch buffers for one op: key and value copied from/to userspace. */
struct th_op_buf {
	u8 key[TOPHASH_MAX_KEY_SIZE];
	u8 val[TOPHASH_MAX_VALUE_SIZE];
};

/*
 * The argument rule of every ioctl: an ioctl that changes the map and writes
 * results back must be unable to fail after the change. So it reads its
 * argument with th_get_arg(), then pins the output bytes with th_out_pin()
 * (this fails with -EFAULT for a read-only or unmapped page, before anything
 * changed), changes the map, and writes the results with th_out_write(),
 * through the pinned pages, which cannot fail: neither an mprotect() nor a
 * munmap() racing the ioctl can make it fail. A refused op (any error)
 * writes nothing back. Ioctls that do not change the map (INFO, LAYOUT,
 * LOOKUP) write with copy_to_user() and may fail with -EFAULT at the end.
 */

/*
 * Read an extensible argument: the first __u32 is its size; accept any size
 * from @min up, as copy_struct_from_user() does (unknown trailing fields
 * must be zero, else -E2BIG). Returns the user's size or a negative errno.
 */
static int th_get_arg(void *dst, size_t ksize, size_t min,
		      const void __user *uarg)
{
	u32 usize;
	int err;

	if (get_user(usize, (const u32 __user *)uarg))
		return -EFAULT;
	if (usize < min)
		return -EINVAL;
	err = copy_struct_from_user(dst, ksize, uarg, usize);
	if (err)
		return err;
	return usize;
}

/* Write back the first @usize bytes of an output argument. */
static int th_put_arg(void __user *uarg, const void *src, size_t ksize,
		      size_t usize)
{
	return copy_to_user(uarg, src, min(ksize, usize)) ? -EFAULT : 0;
}

/*
 * The output bytes of an argument, pinned for writing: at most two pages,
 * as an argument structure is smaller than a page.
 */
struct th_uout {
	struct page *pages[2];
	unsigned int npages;
	unsigned int off;
	unsigned int len;
};

/*
 * Pin the first min(@ksize, @usize) bytes at @uarg for writing. Returns 0 or
 * -EFAULT (a page that is not mapped writable); nothing is pinned then.
 */
static int th_out_pin(struct th_uout *o, void __user *uarg, size_t ksize,
		      size_t usize)
{
	unsigned long start = untagged_addr((unsigned long)uarg);
	int n;

	o->len = min(ksize, usize);
	o->off = offset_in_page(start);
	o->npages = DIV_ROUND_UP(o->off + o->len, PAGE_SIZE);
	n = pin_user_pages_fast(start & PAGE_MASK, o->npages, FOLL_WRITE,
				o->pages);
	if (n == o->npages)
		return 0;
	if (n > 0)
		unpin_user_pages(o->pages, n);
	o->npages = 0;
	return -EFAULT;
}

/* Unpin without writing: the op was refused. */
static void th_out_release(struct th_uout *o)
{
	unpin_user_pages(o->pages, o->npages);
	o->npages = 0;
}

/* Write @src to the pinned bytes, then unpin them; cannot fail. */
static void th_out_write(struct th_uout *o, const void *src)
{
	unsigned int i, off = o->off, done = 0;

	for (i = 0; i < o->npages; i++) {
		unsigned int n = min_t(unsigned int, o->len - done,
				       PAGE_SIZE - off);
		void *va = kmap_local_page(o->pages[i]);

		memcpy(va + off, src + done, n);
		kunmap_local(va);
		done += n;
		off = 0;
	}
	unpin_user_pages_dirty_lock(o->pages, o->npages, true);
	o->npages = 0;
}

static int th_ioc_create(struct tophash_map *m, void __user *uarg)
{
	struct tophash_create c;
	struct th_uout out;
	int usize, err;

	usize = th_get_arg(&c, sizeof(c), TOPHASH_CREATE_SIZE_VER0, uarg);
	if (usize < 0)
		return usize;
	err = th_check_create(&c);
	if (err)
		return err;
	if ((c.flags & TOPHASH_F_IDENTITY_HASH) && !capable(CAP_SYS_ADMIN))
		return -EPERM;
	err = th_out_pin(&out, uarg, sizeof(c), usize);
	if (err)
		return err;
	err = th_map_setup(m, &c);
	if (err) {
		th_out_release(&out);	/* refused: the struct stays as it was */
		return err;
	}
	th_out_write(&out, &c);
	return 0;
}

/* Copy in an op's key (and, for updates, value); check sizes and pointers. */
static int th_get_kv(struct tophash_map *m, struct th_op_buf *buf, u64 ukey,
		     u64 uval, bool want_val)
{
	if (copy_from_user(buf->key, u64_to_user_ptr(ukey), m->key_size))
		return -EFAULT;
	if (want_val &&
	    copy_from_user(buf->val, u64_to_user_ptr(uval), m->value_size))
		return -EFAULT;
	return 0;
}

/* One update, lookup or delete; shared by the single ioctls and batch. */
static int th_do_op(struct tophash_map *m, struct th_op_buf *buf, u32 op,
		    u32 flags, u64 ukey, u64 uval)
{
	int err;

	switch (op) {
	case TOPHASH_BATCH_UPDATE:
		if (flags > TOPHASH_EXIST)
			return -EINVAL;
		err = th_get_kv(m, buf, ukey, uval, true);
		if (err)
			return err;
		return tophash_update(m, buf->key, buf->val, flags);
	case TOPHASH_BATCH_LOOKUP:
		if (flags)
			return -EINVAL;
		err = th_get_kv(m, buf, ukey, 0, false);
		if (err)
			return err;
		err = tophash_lookup(m, buf->key, buf->val);
		if (err)
			return err;
		if (copy_to_user(u64_to_user_ptr(uval), buf->val, m->value_size))
			return -EFAULT;
		return 0;
	case TOPHASH_BATCH_DELETE:
		if (flags)
			return -EINVAL;
		err = th_get_kv(m, buf, ukey, 0, false);
		if (err)
			return err;
		return tophash_delete(m, buf->key);
	}
	return -EINVAL;
}

static int th_ioc_op(struct tophash_map *m, u32 op, void __user *uarg)
{
	struct th_op_buf *buf;
	struct tophash_op o;
	int err;

	err = th_get_arg(&o, sizeof(o), TOPHASH_OP_SIZE_VER0, uarg);
	if (err < 0)
		return err;
	buf = th_fail_alloc() ? NULL : kmalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	err = th_do_op(m, buf, op, o.flags, o.key, o.value);
	kfree(buf);
	return err;
}

static int th_ioc_batch(struct tophash_map *m, void __user *uarg)
{
	struct tophash_batch_op __user *uops;
	struct tophash_batch_op op;
	struct tophash_batch bt;
	struct th_op_buf *buf;
	struct th_uout out;
	int usize, err = 0;
	u32 i;

	usize = th_get_arg(&bt, sizeof(bt), TOPHASH_BATCH_SIZE_VER0, uarg);
	if (usize < 0)
		return usize;
	bt.done = 0;	/* an output: whatever came in is ignored */
	if (!bt.count || bt.count > TOPHASH_BATCH_MAX || bt.pad) {
		th_put_arg(uarg, &bt, sizeof(bt), usize);
		return -EINVAL;
	}
	/* @done must reach the caller whatever the ops do: pin it first. */
	err = th_out_pin(&out, uarg, sizeof(bt), usize);
	if (err)
		return err;
	buf = th_fail_alloc() ? NULL : kmalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf) {
		th_out_release(&out);
		return -ENOMEM;
	}
	uops = u64_to_user_ptr(bt.ops);
	for (i = 0; i < bt.count; i++) {
		if (copy_from_user(&op, &uops[i], sizeof(op))) {
			err = -EFAULT;
			break;
		}
		err = th_do_op(m, buf, op.op, op.flags, op.key, op.value);
		if (err)
			break;
		cond_resched();
	}
	kfree(buf);
	bt.done = i;
	th_out_write(&out, &bt);
	return err;
}

static int th_ioc_info(struct tophash_map *m, void __user *uarg)
{
	struct tophash_info info;
	int usize;

	usize = th_get_arg(&info, sizeof(info), TOPHASH_INFO_SIZE_VER0, uarg);
	if (usize < 0)
		return usize;
	tophash_info(m, &info);
	info.size = usize;
	return th_put_arg(uarg, &info, sizeof(info), usize);
}

static int th_ioc_clear(struct tophash_map *m, void __user *uarg)
{
	struct tophash_clear cl;
	struct th_uout out;
	int usize, err;

	usize = th_get_arg(&cl, sizeof(cl), TOPHASH_CLEAR_SIZE_VER0, uarg);
	if (usize < 0)
		return usize;
	if (cl.pad)
		return -EINVAL;
	err = th_out_pin(&out, uarg, sizeof(cl), usize);
	if (err)
		return err;
	err = tophash_clear(m, &cl);
	if (err) {
		th_out_release(&out);
		return err;
	}
	th_out_write(&out, &cl);
	return 0;
}

/* Layout records go straight to userspace from under the map lock. */
struct th_layout_ctx {
	struct tophash_map *m;
	u8 __user *ubuf;
	u64 cap;
	u64 pos;
	bool full;
};

static int th_layout_chain(void *arg, u32 table, u32 bucket, u32 depth,
			   const u8 *b)
{
	struct tophash_layout_chain rec = {
		.table = table, .depth = depth, .bucket = bucket,
	};
	struct th_layout_ctx *c = arg;
	u64 len = sizeof(rec) + (u64)depth * TH_SLOTS;

	if (c->full || c->pos + len > c->cap) {
		c->full = true;
		c->pos += len;
		return 0;
	}
	if (copy_to_user(c->ubuf + c->pos, &rec, sizeof(rec)))
		return -EFAULT;
	c->pos += sizeof(rec);
	for (; b; b = th_overflow(c->m, b)) {
		if (copy_to_user(c->ubuf + c->pos, b, TH_SLOTS))
			return -EFAULT;
		c->pos += TH_SLOTS;
	}
	return 0;
}

static int th_ioc_layout(struct tophash_map *m, void __user *uarg)
{
	struct th_layout_ctx ctx = { .m = m };
	struct tophash_layout lo;
	int usize, err;

	usize = th_get_arg(&lo, sizeof(lo), TOPHASH_LAYOUT_SIZE_VER0, uarg);
	if (usize < 0)
		return usize;
	if (lo.flags)
		return -EINVAL;
	ctx.ubuf = u64_to_user_ptr(lo.buf);
	ctx.cap = lo.buf_len;
	err = tophash_walk_layout(m, th_layout_chain, &ctx, &lo.B, &lo.nchains);
	if (err)
		return err;
	lo.buf_len = ctx.pos;
	if (th_put_arg(uarg, &lo, sizeof(lo), usize))
		return -EFAULT;
	return ctx.full ? -ENOSPC : 0;
}

/**
 * tophash_ioctl() - the /dev/tophash ioctls
 * @file: an open /dev/tophash; its map is file->private_data
 * @cmd: TOPHASH_IOC_*; matched on type and number, the size being carried
 *	by the argument's own @size field
 * @arg: user pointer to the command's argument structure
 *
 * Context: process context; may sleep.
 * Return: 0 or a negative errno as listed in uapi/tophash.h.
 */
static long tophash_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct tophash_map *m = file->private_data;
	void __user *uarg = (void __user *)arg;
	unsigned int nr = _IOC_NR(cmd);

	if (_IOC_TYPE(cmd) != TOPHASH_IOC_MAGIC ||
	    nr < _IOC_NR(TOPHASH_IOC_CREATE) || nr > _IOC_NR(TOPHASH_IOC_LAYOUT))
		return -ENOTTY;
	if (nr == _IOC_NR(TOPHASH_IOC_CREATE))
		return th_ioc_create(m, uarg);
	/* Pairs with smp_store_release() in tophash_map_create(). */
	if (!smp_load_acquire(&m->created))
		return -EINVAL;

	switch (nr) {
	case _IOC_NR(TOPHASH_IOC_UPDATE):
		return th_ioc_op(m, TOPHASH_BATCH_UPDATE, uarg);
	case _IOC_NR(TOPHASH_IOC_LOOKUP):
		return th_ioc_op(m, TOPHASH_BATCH_LOOKUP, uarg);
	case _IOC_NR(TOPHASH_IOC_DELETE):
		return th_ioc_op(m, TOPHASH_BATCH_DELETE, uarg);
	case _IOC_NR(TOPHASH_IOC_CLEAR):
		return th_ioc_clear(m, uarg);
	case _IOC_NR(TOPHASH_IOC_BATCH):
		return th_ioc_batch(m, uarg);
	case _IOC_NR(TOPHASH_IOC_INFO):
		return th_ioc_info(m, uarg);
	case _IOC_NR(TOPHASH_IOC_LAYOUT):
		return th_ioc_layout(m, uarg);
	}
	return -ENOTTY;
}

static int tophash_open(struct inode *inode, struct file *file)
{
	struct tophash_map *m;

	m = th_fail_alloc() ? NULL : kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		return -ENOMEM;
	tophash_map_init(m);
	file->private_data = m;
	return 0;
}

static int tophash_release(struct inode *inode, struct file *file)
{
	struct tophash_map *m = file->private_data;

	th_map_teardown(m);
	kfree(m);
	return 0;
}

static const struct file_operations tophash_fops = {
	.owner = THIS_MODULE,
	.open = tophash_open,
	.release = tophash_release,
	.unlocked_ioctl = tophash_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice tophash_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = TOPHASH_DEV_NAME,
	.fops = &tophash_fops,
	.mode = 0600,
};

int th_dev_register(void)
{
	return misc_register(&tophash_misc);
}

void th_dev_unregister(void)
{
	misc_deregister(&tophash_misc);
}
