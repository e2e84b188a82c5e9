/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tophash: Go's classic runtime map as a kernel data structure, for other
 * modules. Include only this header; struct tophash_map is opaque.
 *
 * A map has fixed key and value sizes (1..256 bytes each) given at create
 * in a struct tophash_create (uapi/tophash.h, with the flags, the update
 * flags TOPHASH_ANY/NOEXIST/EXIST and the info and clear structures).
 *
 * Writers (update, delete, clear) are serialized inside the map and may
 * sleep. Lookups take no lock: tophash_lookup_rcu() and
 * tophash_lookup_batch_rcu() run under the caller's rcu_read_lock() in any
 * context but NMI; they never return a torn value or another key's value,
 * and find every key present for the whole lookup, also while the map
 * grows. The kerneldoc of each function, at its definition
 * (kmod/tophash_core.c, kmod/tophash_api.c), gives its context and return
 * values; Documentation/kernel-api.md has an example.
 *
 * Every function is exported GPL-only by tophash.ko.
 */
#ifndef _LINUX_TOPHASH_H
#define _LINUX_TOPHASH_H

#include <linux/types.h>
#include <uapi/tophash.h>

struct tophash_map;

/* A new map of shape @c (process context); an ERR_PTR() on failure. */
struct tophash_map *tophash_map_new(struct tophash_create *c);
/* Free a map from tophash_map_new(); readers inside RCU may finish. */
void tophash_map_free(struct tophash_map *m);

/* Insert or update (process context, may sleep). */
int tophash_update(struct tophash_map *m, const void *key, const void *val,
		   u32 flags);
/* Delete a key (process context, may sleep); -ENOENT when missing. */
int tophash_delete(struct tophash_map *m, const void *key);
/* Empty the map and say what it reclaimed (process context, may sleep). */
int tophash_clear(struct tophash_map *m, struct tophash_clear *out);
/* A snapshot of the map's shape and counters (process context). */
void tophash_info(struct tophash_map *m, struct tophash_info *info);
/*
 * Move an evacuation on by up to @max old buckets, or start a shrink that
 * is due, as the map's background finisher does (process context, may
 * sleep); true while an evacuation is left or a shrink is due.
 */
bool tophash_finish_step(struct tophash_map *m, unsigned int max);

/* Copy out a key's value, locklessly; the caller holds rcu_read_lock(). */
int tophash_lookup_rcu(struct tophash_map *m, const void *key, void *val);
/* tophash_lookup_rcu() inside its own rcu_read_lock(). */
int tophash_lookup(struct tophash_map *m, const void *key, void *val);
/* @n keys back to back, their misses overlapped; returns how many were found. */
unsigned int tophash_lookup_batch_rcu(struct tophash_map *m, const void *keys,
				      void *vals, u8 *found, unsigned int n);

#endif /* _LINUX_TOPHASH_H */
