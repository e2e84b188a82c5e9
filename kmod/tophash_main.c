// SPDX-License-Identifier: GPL-2.0
/*
 * tophash: Go's classic runtime map as a kernel data structure. The module:
 * debugfs first, then /dev/tophash; the maps' memory is freed through RCU,
 * so exit waits for those frees.
 *
 *   tophash_core.c     the map
 *   tophash_api.c      tophash_map_new()/_free() and every map's setup
 *   tophash_dev.c      /dev/tophash and its ioctls
 *   tophash_debugfs.c  /sys/kernel/debug/tophash/
 */
#include <linux/module.h>
#include <linux/rcupdate.h>
#include "tophash_module.h"

static int __init tophash_init(void)
{
	int err;

	th_dbg_init();
	err = th_dev_register();
	if (err)
		goto out_dbg;
	return 0;

out_dbg:
	th_dbg_exit();
	return err;
}

static void __exit tophash_exit(void)
{
	th_dev_unregister();
	th_dbg_exit();
	/* Wait for the call_rcu() frees of retired tables and buckets. */
	rcu_barrier();
	th_api_exit();
}

module_init(tophash_init);
module_exit(tophash_exit);
MODULE_DESCRIPTION("Go's classic runtime map as an observable kernel data structure");
MODULE_LICENSE("GPL");
