// SPDX-License-Identifier: GPL-2.0
/*
 * tophash: maps for other modules (tophash_map_new()/_free(), declared in
 * <linux/tophash.h>), and the setup and teardown every map goes through,
 * the device's included: an id, the core's create, a debugfs entry.
 */
#include <linux/idr.h>
#include <linux/slab.h>
#include <linux/err.h>
#include "tophash_core.h"
#include "tophash_module.h"

static DEFINE_IDA(tophash_ida);

/**
 * th_check_create() - check create arguments and fill in defaults
 * @c: the arguments, as for TOPHASH_IOC_CREATE
 *
 * The identity-hash permission check is the caller's (the device checks
 * CAP_SYS_ADMIN; kernel callers are trusted).
 *
 * Return: 0 or -EINVAL.
 */
int th_check_create(struct tophash_create *c)
{
	c->id = 0;	/* an output */
	if (c->key_size < 1 || c->key_size > TOPHASH_MAX_KEY_SIZE ||
	    c->value_size < 1 || c->value_size > TOPHASH_MAX_VALUE_SIZE ||
	    (c->flags & ~TOPHASH_F_ALL) ||
	    (!(c->flags & TOPHASH_F_SHRINK) && c->shrink_pct) ||
	    c->shrink_pct > TOPHASH_SHRINK_MAX_PCT ||
	    c->max_entries > TOPHASH_LIMIT_MAX_ENTRIES)
		return -EINVAL;
	if (!c->max_entries)
		c->max_entries = TOPHASH_DEFAULT_MAX_ENTRIES;
	if (c->size_hint > c->max_entries)
		return -EINVAL;
	if ((c->flags & TOPHASH_F_IDENTITY_HASH) && c->key_size != sizeof(u64))
		return -EINVAL;
	return 0;
}

/**
 * th_map_setup() - give a map its id, its shape and its debugfs entry
 * @m: a map after tophash_map_init()
 * @c: checked create arguments; @c->id is set
 *
 * Context: process context; may sleep.
 * Return: 0, or the errno of the id allocation or tophash_map_create()
 *	(-ENOMEM also when th_fail_alloc() says so).
 */
int th_map_setup(struct tophash_map *m, struct tophash_create *c)
{
	int id, err;

	if (th_fail_alloc())
		return -ENOMEM;
	id = ida_alloc_min(&tophash_ida, 1, GFP_KERNEL);
	if (id < 0)
		return id;
	err = tophash_map_create(m, c, id);
	if (err) {
		ida_free(&tophash_ida, id);
		return err;
	}
	c->id = id;
	th_dbg_add(m);
	return 0;
}

/**
 * th_map_teardown() - undo th_map_setup() (if it ran) and free what the map holds
 * @m: the map; nobody else may use it any more
 *
 * Context: process context; may sleep.
 */
void th_map_teardown(struct tophash_map *m)
{
	th_dbg_remove(m);
	if (m->created)
		ida_free(&tophash_ida, m->id);
	tophash_map_destroy(m);
}

/**
 * tophash_map_new() - create a map for in-kernel use
 * @c: shape as for TOPHASH_IOC_CREATE (@c->size is ignored); @c->id is set.
 *	Identity hashing is allowed: kernel callers are trusted.
 *
 * The map gets an id and a debugfs entry like a /dev/tophash map. Use it
 * with tophash_update(), tophash_delete(), tophash_clear() (process
 * context, may sleep, serialized internally) and tophash_lookup() or
 * tophash_lookup_rcu() (any context but NMI, lockless).
 *
 * Context: process context; may sleep.
 * Return: the map, or an ERR_PTR(): -EINVAL for a bad shape, -ENOMEM.
 */
struct tophash_map *tophash_map_new(struct tophash_create *c)
{
	struct tophash_map *m;
	int err;

	err = th_check_create(c);
	if (err)
		return ERR_PTR(err);
	m = th_fail_alloc() ? NULL : kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		return ERR_PTR(-ENOMEM);
	tophash_map_init(m);
	err = th_map_setup(m, c);
	if (err) {
		th_map_teardown(m);
		kfree(m);
		return ERR_PTR(err);
	}
	return m;
}
EXPORT_SYMBOL_GPL(tophash_map_new);

/**
 * tophash_map_free() - free a map from tophash_map_new()
 * @m: the map; no caller may use it any more, but lockless readers still
 *	inside an RCU read-side section that began before this call may
 *	finish safely: the map itself is freed after a grace period.
 *
 * Context: process context; may sleep.
 */
void tophash_map_free(struct tophash_map *m)
{
	th_map_teardown(m);
	kfree_rcu(m, rcu);
}
EXPORT_SYMBOL_GPL(tophash_map_free);

/* Module exit: every map is gone. */
void th_api_exit(void)
{
	ida_destroy(&tophash_ida);
}
