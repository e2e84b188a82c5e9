/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tophash: what the module's files share besides the map core: map setup
 * (tophash_api.c), the debugfs view (tophash_debugfs.c) and the device
 * (tophash_dev.c), for each other and for module init (tophash_main.c).
 */
#ifndef _TOPHASH_MODULE_H
#define _TOPHASH_MODULE_H

struct tophash_map;
struct tophash_create;

/* tophash_api.c */
int th_check_create(struct tophash_create *c);
int th_map_setup(struct tophash_map *m, struct tophash_create *c);
void th_map_teardown(struct tophash_map *m);
void th_api_exit(void);

/* tophash_debugfs.c */
void th_dbg_init(void);
void th_dbg_exit(void);
void th_dbg_add(struct tophash_map *m);
void th_dbg_remove(struct tophash_map *m);

/* tophash_dev.c */
int th_dev_register(void);
void th_dev_unregister(void);

#endif /* _TOPHASH_MODULE_H */
