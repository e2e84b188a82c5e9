// SPDX-License-Identifier: GPL-2.0
/*
 * tophash: the debugfs view, /sys/kernel/debug/tophash/: live_bytes,
 * finisher_paused,
 * <id>/info and <id>/layout of each map, and (debug kernels) the
 * fault-injection knobs fail_alloc/.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include "tophash_core.h"
#include "tophash_module.h"

static struct dentry *tophash_dbg_root;

#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
DECLARE_FAULT_ATTR(tophash_fail_alloc_attr);

/* debugfs tophash/fail_alloc/: the knobs of th_fail_alloc(). */
static void th_fail_alloc_init(void)
{
	fault_create_debugfs_attr("fail_alloc", tophash_dbg_root,
				  &tophash_fail_alloc_attr);
}
#else
static void th_fail_alloc_init(void)
{
}
#endif

struct th_seq_ctx {
	struct tophash_map *m;
	struct seq_file *s;
};

static int th_seq_chain(void *arg, u32 table, u32 bucket, u32 depth,
			const u8 *b)
{
	struct th_seq_ctx *c = arg;
	unsigned int i;

	seq_printf(c->s, "%s %6u ", table == TOPHASH_LAYOUT_OLD ? "old" : "new",
		   bucket);
	for (; b; b = th_overflow(c->m, b)) {
		seq_putc(c->s, '|');
		for (i = 0; i < TH_SLOTS; i++)
			seq_putc(c->s, TOPHASH_STATE_CHAR(b[i]));
	}
	seq_puts(c->s, "|\n");
	return 0;
}

static int th_dbg_layout_show(struct seq_file *s, void *unused)
{
	struct th_seq_ctx ctx = { .m = s->private, .s = s };
	u32 B, n;

	return tophash_walk_layout(ctx.m, th_seq_chain, &ctx, &B, &n);
}
DEFINE_SHOW_ATTRIBUTE(th_dbg_layout);

static int th_dbg_info_show(struct seq_file *s, void *unused)
{
	struct tophash_info in;

	tophash_info(s->private, &in);
	seq_printf(s, "id %u\ncount %llu\nB %u\ngrowing %u\nsame_size %u\n",
		   in.id, in.count, in.B, !!(in.flags & TOPHASH_INFO_GROWING),
		   !!(in.flags & TOPHASH_INFO_SAME_SIZE));
	seq_printf(s, "noverflow %llu\nnoldoverflow %llu\nnevacuate %llu\n",
		   in.noverflow, in.noldoverflow, in.nevacuate);
	seq_printf(s, "bytes %llu\nkey_size %u\nvalue_size %u\nmax_entries %llu\ngeneration %llu\nidentity %u\n",
		   in.bytes, in.key_size, in.value_size, in.max_entries,
		   in.generation, !!(in.flags & TOPHASH_INFO_IDENTITY));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(th_dbg_info);

static int th_live_bytes_get(void *data, u64 *val)
{
	*val = atomic64_read(&tophash_live_bytes);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(th_live_bytes_fops, th_live_bytes_get, NULL, "%llu\n");

/* The directory <id>/ of a map that was just created. */
void th_dbg_add(struct tophash_map *m)
{
	char name[16];

	snprintf(name, sizeof(name), "%u", m->id);
	m->dbg = debugfs_create_dir(name, tophash_dbg_root);
	debugfs_create_file("info", 0400, m->dbg, m, &th_dbg_info_fops);
	debugfs_create_file("layout", 0400, m->dbg, m, &th_dbg_layout_fops);
}

/* Remove a map's directory (none if it was never created). */
void th_dbg_remove(struct tophash_map *m)
{
	debugfs_remove_recursive(m->dbg);
	m->dbg = NULL;
}

/* Module init: tophash/, live_bytes, finisher_paused and fail_alloc/. */
void th_dbg_init(void)
{
	tophash_dbg_root = debugfs_create_dir("tophash", NULL);
	debugfs_create_file("live_bytes", 0400, tophash_dbg_root, NULL,
			    &th_live_bytes_fops);
	debugfs_create_bool("finisher_paused", 0600, tophash_dbg_root,
			    &tophash_finisher_paused);
	th_fail_alloc_init();
}

void th_dbg_exit(void)
{
	debugfs_remove_recursive(tophash_dbg_root);
}
