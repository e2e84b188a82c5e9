/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * tophash: Go's classic runtime map as a kernel data structure.
 *
 * The ioctl ABI of /dev/tophash. Each open file of /dev/tophash is one map;
 * TOPHASH_IOC_CREATE gives it its shape, every other ioctl works on it.
 *
 * Every argument structure starts with a __u32 @size that userspace sets to
 * sizeof() the structure it was built against. The kernel accepts any size
 * from the first published version (TOPHASH_*_SIZE_VER0) up, above a page
 * too: fields the kernel does not know must be zero (else E2BIG), fields
 * userspace does not know are treated as zero, and output is truncated to
 * @size. This is copy_struct_from_user()'s convention, so the structures
 * can grow.
 *
 * Output is all or nothing. An ioctl that changes the map and writes results
 * back (CREATE, CLEAR, BATCH) first makes sure it can write them: when the
 * argument's output bytes are not writable (a read-only or unmapped page) it
 * fails with EFAULT before changing anything, and once the map changed the
 * results are written whatever the caller does to the page meanwhile
 * (mprotect, munmap). A refused ioctl (any error but a BATCH op's, see
 * struct tophash_batch) writes nothing to its argument: a refused CREATE
 * leaves the caller's struct as it was.
 *
 * Errors (returned as -1 with errno):
 *   EINVAL  a bad size, flag or parameter (IDENTITY_HASH with SIPHASH, too);
 *           an op before CREATE
 *   EBUSY   CREATE on a file that already holds a map
 *   EFAULT  a bad user pointer (the map is left as it was)
 *   E2BIG   unknown non-zero trailing fields; the map holds max_entries
 *   ENOENT  lookup/delete of a missing key; update with TOPHASH_EXIST of one
 *   EEXIST  update with TOPHASH_NOEXIST of a present key
 *   ENOSPC  LAYOUT buffer too small (buf_len is set to the size needed)
 *   ENOMEM  allocation failed (the map is left as it was)
 *   EPERM   TOPHASH_F_IDENTITY_HASH without CAP_SYS_ADMIN
 *   ENOTTY  an unknown ioctl
 *
 * A failed operation leaves the map exactly as it was, growth progress
 * included: unlike Go's mapdelete, a delete of a missing key (or an update
 * refused with EEXIST/ENOENT/E2BIG) does no evacuation work.
 */
#ifndef _UAPI_LINUX_TOPHASH_H
#define _UAPI_LINUX_TOPHASH_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define TOPHASH_DEV_NAME		"tophash"

/* Slots per bucket, as in Go (bucketCnt). */
#define TOPHASH_BUCKET_SLOTS		8
/* Key and value sizes are fixed per map, 1..256 bytes each. */
#define TOPHASH_MAX_KEY_SIZE		256
#define TOPHASH_MAX_VALUE_SIZE		256
/* max_entries == 0 at create means this default. */
#define TOPHASH_DEFAULT_MAX_ENTRIES	(1ULL << 24)
/* The largest max_entries (and size_hint) a map accepts. */
#define TOPHASH_LIMIT_MAX_ENTRIES	(1ULL << 31)

/* Slot states in tophash bytes, the same numbers as Go's runtime/map.go. */
#define TOPHASH_EMPTY_REST		0 /* empty, and so is every later slot */
#define TOPHASH_EMPTY_ONE		1 /* empty (deleted or never used) */
#define TOPHASH_EVACUATED_X		2 /* moved to the same index */
#define TOPHASH_EVACUATED_Y		3 /* moved to index + old size */
#define TOPHASH_EVACUATED_EMPTY		4 /* was empty when evacuated */
#define TOPHASH_MIN_TOPHASH		5 /* tophash of a full slot is >= this */

/*
 * Slot states as characters, the way debugfs's layout files and thctl draw
 * them: TOPHASH_STATE_CHARS[state] for the states above, '#' for a full
 * slot.
 */
#define TOPHASH_STATE_CHARS		".xXYe"
#define TOPHASH_STATE_CHAR_FULL		'#'
#define TOPHASH_STATE_CHAR(t)		((t) >= TOPHASH_MIN_TOPHASH ?	\
					 TOPHASH_STATE_CHAR_FULL :	\
					 TOPHASH_STATE_CHARS[t])

/* How an update placed its key: the kind field of the tophash_assign tracepoint. */
#define TOPHASH_ASSIGN_UPDATE		0 /* key present: value replaced in place */
#define TOPHASH_ASSIGN_FRESH		1 /* new key into an emptyRest slot */
#define TOPHASH_ASSIGN_REUSE		2 /* new key into an emptyOne slot */
#define TOPHASH_ASSIGN_OVERFLOW		3 /* new key into a new overflow bucket */

/*
 * Create flags.
 *
 * The hash, and what it resists. Every map hashes its keys with 128 random
 * bits drawn for its table (re-drawn when the map becomes empty and on
 * clear), so nobody can precompute keys that collide in it. Two hashes:
 *
 * - Default: a keyed 64-bit multiply-mix (64x64->128 bit multiplies whose
 *   halves are folded by XOR, the class Go's map uses on CPUs without AES
 *   and abseil's flat_hash_map uses). It distributes any keys, sequential
 *   or structured, evenly over the buckets, at a few instructions per 8
 *   bytes. It is not a cryptographic PRF: whoever can choose keys and time
 *   the map (or read its layout) may learn enough about the seed to build
 *   colliding keys, and then fill one bucket chain (operations on it grow
 *   linear in its length; growth does not split keys whose hashes collide).
 * - TOPHASH_F_SIPHASH: SipHash-2-4, a PRF under the 128-bit key (the
 *   kernel's siphash(), as the network stack uses for its hash tables). Use
 *   it when the keys come from whoever might want to attack the map (network
 *   input, unprivileged users). About 10x the instructions of the default
 *   for an 8-byte key.
 *
 * For comparison: the kernel's rhashtable hashes with jhash2 (or jhash)
 * under a random 32-bit seed per table; jhash is not a PRF either, and a
 * 32-bit seed can be searched. Go's map hashes with AES rounds under a
 * per-process key on CPUs with AES, else with the same multiply-mix class
 * as the default here, and a per-map random seed (hash0) on top; Go does
 * not claim resistance to an adversary who can observe timing.
 */
/* hash(key) = the 8-byte key itself (native endian). CAP_SYS_ADMIN only. */
#define TOPHASH_F_IDENTITY_HASH		(1U << 0)
/* SipHash-2-4 instead of the default multiply-mix; not with IDENTITY_HASH. */
#define TOPHASH_F_SIPHASH		(1U << 1)
/*
 * Give memory back after deletes (Go's map never does): when the live
 * entries fill less than shrink_pct percent of the slots of the primary
 * buckets (count * 100 < shrink_pct * 8 * 2^B), no growth or shrink is in
 * progress, and B is above the B the size hint gave at create, a delete
 * starts a shrink B -> B-1, run by the same incremental evacuation as a
 * growth (old buckets j and j + 2^(B-1) into new bucket j); lookups stay
 * lockless throughout. Inserts and updates move a shrink on as they move a
 * growth, and so does the background finisher once no write has for a
 * second; deletes do not (a delete during a shrink clears its key where it
 * is and allocates nothing), so that draining a map costs its deletes what
 * it costs on a map that never shrinks. A clear of such a map goes back to
 * the hint's B.
 * Hysteresis, with P = shrink_pct: a shrink from 2^B buckets leaves below
 * 16 * P / 100 entries per bucket, under the 6.5 that doubles a table as
 * long as P <= 40 (the most accepted). Doubling it again takes more than
 * (6.5 - 0.16 * P) * 2^(B-1) net inserts, and shrinking a table just
 * doubled to 2^B buckets more than (3.25 - 0.08 * P) * 2^B net deletes. At
 * the default P = 25 those are 2.5 * 2^(B-1) and 1.25 * 2^B: churn at a
 * boundary cannot make the map grow and shrink in turns. A higher P gives
 * back more memory (at 40 a drained map ends at the size a fresh map of its
 * entries has) with a narrower band: at 40, 0.1 * 2^(B-1) inserts and
 * 0.05 * 2^B deletes.
 * Without the flag, shrink_pct must be 0 and the map never shrinks.
 */
#define TOPHASH_F_SHRINK		(1U << 2)
#define TOPHASH_F_ALL			(TOPHASH_F_IDENTITY_HASH | TOPHASH_F_SIPHASH | \
					 TOPHASH_F_SHRINK)
/* shrink_pct 0 with TOPHASH_F_SHRINK means this; more than the max is EINVAL. */
#define TOPHASH_SHRINK_DEFAULT_PCT	25
#define TOPHASH_SHRINK_MAX_PCT		40

/**
 * struct tophash_create - argument of TOPHASH_IOC_CREATE
 * @size: sizeof(struct tophash_create)
 * @key_size: key bytes, 1..TOPHASH_MAX_KEY_SIZE (8 for identity hashing)
 * @value_size: value bytes, 1..TOPHASH_MAX_VALUE_SIZE
 * @flags: TOPHASH_F_*
 * @size_hint: expected entries; sizes the first table like make(map, hint)
 * @max_entries: most entries the map may hold; 0 = TOPHASH_DEFAULT_MAX_ENTRIES
 * @id: out: the map's id (tracepoints, debugfs); ignored on input
 * @shrink_pct: with TOPHASH_F_SHRINK: shrink below this percentage of the
 *	slots filled, 1..TOPHASH_SHRINK_MAX_PCT, 0 for
 *	TOPHASH_SHRINK_DEFAULT_PCT; without it, must be zero (this word was
 *	padding before shrinking existed: the structure's size is unchanged)
 */
struct tophash_create {
	__u32 size;
	__u32 key_size;
	__u32 value_size;
	__u32 flags;
	__u64 size_hint;
	__u64 max_entries;
	__u32 id;
	__u32 shrink_pct;
};

#define TOPHASH_CREATE_SIZE_VER0	40

/* What a growth does, in the grow, evacuate and finish tracepoints' kind. */
#define TOPHASH_GROW_DOUBLE		0 /* B -> B+1 (over the load factor) */
#define TOPHASH_GROW_SAME_SIZE		1 /* B kept (too many overflow buckets) */
#define TOPHASH_GROW_SHRINK		2 /* B -> B-1 (TOPHASH_F_SHRINK) */

/* Update flags, as for BPF maps. */
#define TOPHASH_ANY		0 /* create or update */
#define TOPHASH_NOEXIST		1 /* create only: EEXIST if present */
#define TOPHASH_EXIST		2 /* update only: ENOENT if missing */

/**
 * struct tophash_op - argument of UPDATE, LOOKUP and DELETE
 * @size: sizeof(struct tophash_op)
 * @flags: TOPHASH_ANY/NOEXIST/EXIST for UPDATE, 0 otherwise
 * @key: user pointer to key_size bytes
 * @value: user pointer to value_size bytes (in for UPDATE, out for LOOKUP,
 *	unused by DELETE)
 */
struct tophash_op {
	__u32 size;
	__u32 flags;
	__u64 key;
	__u64 value;
};

#define TOPHASH_OP_SIZE_VER0		24

/* Ops in a batch. */
#define TOPHASH_BATCH_UPDATE	1
#define TOPHASH_BATCH_LOOKUP	2
#define TOPHASH_BATCH_DELETE	3

/**
 * struct tophash_batch_op - one entry of a batch
 * @op: TOPHASH_BATCH_*
 * @flags: as in struct tophash_op
 * @key: user pointer to the key
 * @value: user pointer to the value (UPDATE in, LOOKUP out)
 */
struct tophash_batch_op {
	__u32 op;
	__u32 flags;
	__u64 key;
	__u64 value;
};

/* Most ops one batch may hold. */
#define TOPHASH_BATCH_MAX	65536

/**
 * struct tophash_batch - argument of TOPHASH_IOC_BATCH
 * @size: sizeof(struct tophash_batch)
 * @count: number of entries at @ops, 1..TOPHASH_BATCH_MAX
 * @ops: user pointer to @count struct tophash_batch_op
 * @done: out: ops completed. A batch is not atomic: ops run in order, each
 *	as its own UPDATE/LOOKUP/DELETE, and the batch stops at the first that
 *	fails (a bad op or flag: EINVAL; a bad pointer in the op, its key or
 *	value, or a LOOKUP's output: EFAULT; or the op's own ENOENT, EEXIST,
 *	E2BIG, ENOMEM). The ioctl then returns that error, @done is the failed
 *	op's index, the ops before it stay done and the failed op changed
 *	nothing. @done is always written when any op ran. Ignored on input;
 *	0 when the batch header itself is refused (EINVAL); when the header's
 *	@done cannot be written (EFAULT) no op runs.
 * @pad: must be zero
 */
struct tophash_batch {
	__u32 size;
	__u32 count;
	__u64 ops;
	__u32 done;
	__u32 pad;
};

#define TOPHASH_BATCH_SIZE_VER0		24

/* Info flags. */
#define TOPHASH_INFO_GROWING		(1U << 0) /* oldbuckets != NULL */
#define TOPHASH_INFO_SAME_SIZE		(1U << 1) /* growth keeps B */
#define TOPHASH_INFO_IDENTITY		(1U << 2) /* identity hash */
#define TOPHASH_INFO_SIPHASH		(1U << 3) /* TOPHASH_F_SIPHASH */
#define TOPHASH_INFO_SHRINKING		(1U << 4) /* the growth halves B */
#define TOPHASH_INFO_SHRINK		(1U << 5) /* TOPHASH_F_SHRINK */
/* A shrink is due but not started: the finisher (or a delete) starts it. */
#define TOPHASH_INFO_SHRINK_DUE		(1U << 6)

/**
 * struct tophash_info - argument of TOPHASH_IOC_INFO (all out but @size)
 * @size: sizeof(struct tophash_info)
 * @id: map id
 * @count: live entries
 * @B: log2 of the number of buckets in the current table
 * @flags: TOPHASH_INFO_*
 * @noverflow: overflow buckets in the current table
 * @nevacuate: old buckets below this index are evacuated (when growing)
 * @bytes: bytes allocated for this map now (tables, overflow, bookkeeping)
 * @key_size: as created
 * @value_size: as created
 * @max_entries: as created (the default filled in)
 * @generation: generation of the current bucket array: each array the map
 *	allocates (create, grow start, clear) gets the next number; the
 *	tracepoints name slots by it
 * @noldoverflow: overflow buckets still hanging off the old table
 */
struct tophash_info {
	__u32 size;
	__u32 id;
	__u64 count;
	__u32 B;
	__u32 flags;
	__u64 noverflow;
	__u64 nevacuate;
	__u64 bytes;
	__u32 key_size;
	__u32 value_size;
	__u64 max_entries;
	__u64 generation;
	__u64 noldoverflow;
};

#define TOPHASH_INFO_SIZE_VER0		80

/**
 * struct tophash_clear - argument of TOPHASH_IOC_CLEAR (all out but @size):
 *	what the clear reclaimed
 * @size: sizeof(struct tophash_clear)
 * @pad: zero
 * @entries: live entries removed
 * @overflow: overflow buckets freed (current and old table)
 * @oldbuckets: buckets of an unfinished growth's old table freed
 * @bytes: bytes freed, net of the fresh table
 */
struct tophash_clear {
	__u32 size;
	__u32 pad;
	__u64 entries;
	__u64 overflow;
	__u64 oldbuckets;
	__u64 bytes;
};

#define TOPHASH_CLEAR_SIZE_VER0		40

/* Layout: which table a chain record is from. */
#define TOPHASH_LAYOUT_NEW		0
#define TOPHASH_LAYOUT_OLD		1

/**
 * struct tophash_layout_chain - one bucket chain in the LAYOUT buffer,
 *	followed by @depth * TOPHASH_BUCKET_SLOTS tophash bytes (the primary
 *	bucket's first, then each overflow bucket's in chain order), then
 *	padding to a multiple of 8 bytes.
 * @table: TOPHASH_LAYOUT_NEW or TOPHASH_LAYOUT_OLD
 * @depth: buckets in the chain (1 + overflow buckets)
 * @bucket: index of the primary bucket in its table
 * @pad: zero
 */
struct tophash_layout_chain {
	__u32 table;
	__u32 depth;
	__u32 bucket;
	__u32 pad;
};

/**
 * struct tophash_layout - argument of TOPHASH_IOC_LAYOUT
 * @size: sizeof(struct tophash_layout)
 * @flags: zero
 * @buf: user buffer that receives the chain records: the old table's
 *	chains first when growing, then the current table's
 * @buf_len: in: bytes at @buf; out: bytes written, or needed (ENOSPC)
 * @B: out: B of the current table
 * @nchains: out: records written (2^B, plus 2^oldB when growing)
 */
struct tophash_layout {
	__u32 size;
	__u32 flags;
	__u64 buf;
	__u64 buf_len;
	__u32 B;
	__u32 nchains;
};

#define TOPHASH_LAYOUT_SIZE_VER0	32

#define TOPHASH_IOC_MAGIC	0xB7
#define TOPHASH_IOC_CREATE	_IOWR(TOPHASH_IOC_MAGIC, 1, struct tophash_create)
#define TOPHASH_IOC_UPDATE	_IOW(TOPHASH_IOC_MAGIC, 2, struct tophash_op)
#define TOPHASH_IOC_LOOKUP	_IOW(TOPHASH_IOC_MAGIC, 3, struct tophash_op)
#define TOPHASH_IOC_DELETE	_IOW(TOPHASH_IOC_MAGIC, 4, struct tophash_op)
#define TOPHASH_IOC_CLEAR	_IOWR(TOPHASH_IOC_MAGIC, 5, struct tophash_clear)
#define TOPHASH_IOC_BATCH	_IOWR(TOPHASH_IOC_MAGIC, 6, struct tophash_batch)
#define TOPHASH_IOC_INFO	_IOWR(TOPHASH_IOC_MAGIC, 7, struct tophash_info)
#define TOPHASH_IOC_LAYOUT	_IOWR(TOPHASH_IOC_MAGIC, 8, struct tophash_layout)

#endif /* _UAPI_LINUX_TOPHASH_H */
