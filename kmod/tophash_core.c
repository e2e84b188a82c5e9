// SPDX-License-Identifier: GPL-2.0
/*
 * tophash map core: Go's classic runtime map (runtime/map.go, Go 1.19-1.23)
 * as a kernel data structure.
 *
 * A bucket is tophash[8], then 8 keys, then 8 values, then the overflow
 * pointer. Writers are serialized by map->lock and may sleep. The table a
 * reader needs (buckets, B, oldbuckets, seed) is one RCU-published object;
 * replaced tables, bucket arrays and overflow buckets are freed only after a
 * grace period.
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/string.h>
#include <linux/overflow.h>
#include <linux/ktime.h>
#include <linux/bitops.h>
#include <linux/prefetch.h>
#include <linux/cache.h>
#include <linux/memcontrol.h>
#include <linux/sched/mm.h>
#include <asm/byteorder.h>
#include <asm/unaligned.h>
#include "tophash_core.h"

#define CREATE_TRACE_POINTS
#include "tophash_trace.h"

/*
 * trace_<event>_enabled() is a plain inline, and with the writers inlined
 * for every key shape gcc emitted it out of line: tophash.ko had local
 * functions trace_tophash_assign_enabled and trace_tophash_delete_enabled,
 * a call on every insert and delete with the events off. This is its body,
 * the event's static key (include/linux/tracepoint.h), inline at each site;
 * the shim's bench build models the same key, its tests keep their switch.
 */
#if defined(__KERNEL__) && defined(TRACEPOINTS_ENABLED)
#define th_trace_enabled(event)	static_key_false(&__tracepoint_##event.key)
#elif defined(TH_SHIM_BENCH) && !defined(NOTRACE)
#define th_trace_enabled(event)	th_static_key_false()
#else
#define th_trace_enabled(event)	trace_##event##_enabled()
#endif

atomic64_t tophash_live_bytes = ATOMIC64_INIT(0);
/* Set (debugfs tophash/finisher_paused): the finisher takes no step. */
bool tophash_finisher_paused;

/*
 * Each ordering pair of kmod/MEMORY-ORDERING.md can be weakened by one
 * TH_WEAKEN_* switch, so that `make check-ordering` can build the userspace
 * core without it and show which test fails. Kernel builds define none.
 */
#if defined(__KERNEL__) && (defined(TH_WEAKEN_SLOT_RELEASE) ||		\
	defined(TH_WEAKEN_SLOT_ACQUIRE) || defined(TH_WEAKEN_EVAC_RELEASE) ||	\
	defined(TH_WEAKEN_TABLE_PUBLISH) || defined(TH_WEAKEN_OVF_PUBLISH) ||	\
	defined(TH_WEAKEN_SEQCOUNT) || defined(TH_WEAKEN_GRACE) ||		\
	defined(TH_WEAKEN_SEED_ONCE) || defined(TH_WEAKEN_OVF_CUT) ||		\
	defined(TH_WEAKEN_SHRINK_DELETE_STRIPE))
#error "TH_WEAKEN_* switches are for the userspace ordering checks only"
#endif

/*
 * An overflow bucket is allocated on its own, behind this header, so that it
 * can be freed by call_rcu() when an evacuation releases it.
 */
struct th_ovf_hdr {
	struct rcu_head rcu;
	size_t size;
};

static inline u8 th_top(u64 hash)
{
	u8 top = hash >> 56;

	return top < TOPHASH_MIN_TOPHASH ? top + TOPHASH_MIN_TOPHASH : top;
}

static inline bool th_is_empty(u8 top)
{
	return top <= TOPHASH_EMPTY_ONE;
}

static inline bool th_evacuated(const u8 *b)
{
	return b[0] > TOPHASH_EMPTY_ONE && b[0] < TOPHASH_MIN_TOPHASH;
}

/*
 * The sizes and offsets of a map's buckets. The fixed-size paths pass a
 * compile-time constant (TH_SHAPE_FIXED()), so that every offset and size
 * below folds into an immediate and the key compare and value copy into a
 * move or two; the generic path reads them from the map (TH_SHAPE()).
 */
struct th_shape {
	u32 ks;		/* key bytes */
	u32 vs;		/* value bytes */
	u32 val_off;	/* offset of the first value in a bucket */
	u32 ovf_off;	/* offset of the overflow pointer */
	u32 size;	/* bytes per bucket */
	bool sip;	/* the map may hash with SipHash (TOPHASH_F_SIPHASH) */
};

#define TH_VAL_OFF(ks)		(TH_SLOTS + TH_SLOTS * (ks))
#define TH_OVF_OFF(ks, vs)	ALIGN(TH_VAL_OFF(ks) + TH_SLOTS * (vs), sizeof(void *))
#define TH_SHAPE_FIXED(k, v)	((struct th_shape){ .ks = (k), .vs = (v),	\
	.val_off = TH_VAL_OFF(k), .ovf_off = TH_OVF_OFF(k, v),			\
	.size = TH_OVF_OFF(k, v) + sizeof(void *), .sip = false })
#define TH_SHAPE(m)		((struct th_shape){ .ks = (m)->key_size,	\
	.vs = (m)->value_size, .val_off = (m)->val_off,				\
	.ovf_off = (m)->ovf_off, .size = (m)->bucket_size, .sip = true })

static __always_inline u8 *th_bucket_sh(struct th_shape sh, u8 *arr,
					unsigned long i)
{
	return arr + i * sh.size;
}

static __always_inline u8 *th_key_sh(struct th_shape sh, u8 *b, unsigned int i)
{
	return b + TH_SLOTS + i * sh.ks;
}

static __always_inline u8 *th_val_sh(struct th_shape sh, u8 *b, unsigned int i)
{
	return b + sh.val_off + i * sh.vs;
}

/*
 * The fixed-size path for maps of these sizes and flags, chosen once at
 * create. SipHash maps take the generic path: their hash costs ten times
 * what the fixed offsets save. The identity hash (8-byte keys) takes the
 * 8-byte path, so that the tests that place keys by it run that path; the
 * 16- and 4-byte paths hash with the default only (th_hash_sh()).
 */
static u8 th_fast_path(u32 ks, u32 vs, u32 flags)
{
	if ((flags & TOPHASH_F_SIPHASH) || vs != sizeof(u64))
		return TH_FAST_NONE;
	if (ks == sizeof(u64))
		return TH_FAST_K8V8;
	if (flags & TOPHASH_F_IDENTITY_HASH)
		return TH_FAST_NONE;
	if (ks == 2 * sizeof(u64))
		return TH_FAST_K16V8;
	if (ks == sizeof(u32))
		return TH_FAST_K4V8;
	if (ks == 8 * sizeof(u64))
		return TH_FAST_K64V8;
	return TH_FAST_NONE;
}

/*
 * Call @fn, an __always_inline function whose first two parameters are the
 * map and a struct th_shape, with the shape of @m: a constant on a
 * fixed-size path, so that @fn is compiled once per path.
 */
#define TH_BY_SHAPE(m, fn, ...)						\
	(likely((m)->fast == TH_FAST_K8V8) ?				\
	 fn((m), TH_SHAPE_FIXED(8, 8), __VA_ARGS__) :			\
	 (m)->fast == TH_FAST_K16V8 ?					\
	 fn((m), TH_SHAPE_FIXED(16, 8), __VA_ARGS__) :			\
	 (m)->fast == TH_FAST_K4V8 ?					\
	 fn((m), TH_SHAPE_FIXED(4, 8), __VA_ARGS__) :			\
	 (m)->fast == TH_FAST_K64V8 ?					\
	 fn((m), TH_SHAPE_FIXED(64, 8), __VA_ARGS__) :			\
	 fn((m), TH_SHAPE(m), __VA_ARGS__))

static inline u8 *th_bucket(const struct tophash_map *m, u8 *arr, unsigned long i)
{
	return th_bucket_sh(TH_SHAPE(m), arr, i);
}

static inline u8 *th_key(const struct tophash_map *m, u8 *b, unsigned int i)
{
	return th_key_sh(TH_SHAPE(m), b, i);
}

static inline u8 *th_val(const struct tophash_map *m, u8 *b, unsigned int i)
{
	return th_val_sh(TH_SHAPE(m), b, i);
}

/*
 * A lookup that hits reads three parts of a bucket, each found from the one
 * before: the tophash bytes, the key, the value; an assign or a delete
 * writes the key's and the value's lines too. For a bucket of a few cache
 * lines, ask for all of its lines at once, before the first load, so that
 * their misses overlap instead of each waiting for the one before. On a
 * fixed-size path the loop unrolls into a few prefetch instructions; `make
 * check` fails when tophash_lookup_rcu() has none, here or in the native
 * build (selftests/core/check-prefetch.sh).
 */
#define TH_PREFETCH_MAX	(4 * L1_CACHE_BYTES)

/*
 * @write: for a writer, which will store into the bucket: prefetchw() asks
 * for the lines in exclusive state (x86's PREFETCHW), so the first store
 * does not wait for a second trip to take ownership of a line it has read.
 */
static __always_inline void th_prefetch_line(const u8 *p, bool write)
{
	if (write)
		prefetchw(p);
	else
		prefetch(p);
}

static __always_inline void th_prefetch_bucket_for(struct th_shape sh,
						   const u8 *b, bool write)
{
	unsigned int off;

	if (sh.size > TH_PREFETCH_MAX)
		return;
	for (off = 0; off < sh.size; off += L1_CACHE_BYTES)
		th_prefetch_line(b + off, write);
	/* The last line, when the bucket does not start on a line. */
	th_prefetch_line(b + sh.size - 1, write);
}

static __always_inline void th_prefetch_bucket(struct th_shape sh, const u8 *b)
{
	th_prefetch_bucket_for(sh, b, false);
}

/*
 * Keys and values whose size is a multiple of 8 bytes sit 8-byte aligned in
 * a bucket (a bucket starts 8-byte aligned, after its 8 tophash bytes), so
 * they are compared and copied a word at a time, inline, rather than by a
 * call to memcmp()/memcpy() (a byte loop in some kernels). Lockless readers
 * run these between the acquire of the slot's tophash and their seqcount
 * retry; a delete may zero the words under them, hence the marked loads.
 */
#define TH_WORDS_MAX	64

static __always_inline bool th_key_equal(struct th_shape sh, const u8 *k,
					 const void *key)
{
	unsigned int n = sh.ks, w;
	u64 diff = 0;

	/* A 4-byte key sits 4-byte aligned. */
	if (n == sizeof(u32))
		/* Not a pair: th_lookup_chain()'s seqcount retry covers it. */
		return READ_ONCE(*(const u32 *)k) ==
		       get_unaligned((const u32 *)key);
	if ((n & 7) || n > TH_WORDS_MAX)
		return !memcmp(k, key, n);
	/*
	 * Every word, then one test: for a fixed size the loop unrolls into
	 * straight-line code with a single branch (a key whose tophash matched
	 * is almost always the key).
	 */
#pragma GCC unroll 8
	for (w = 0; w < n; w += 8)
		/* Not a pair: th_lookup_chain()'s seqcount retry covers it. */
		diff |= READ_ONCE(*(const u64 *)(k + w)) ^
			get_unaligned((const u64 *)((const u8 *)key + w));
	return !diff;
}

static __always_inline void th_copy_val(struct th_shape sh, void *dst,
					const u8 *v)
{
	unsigned int n = sh.vs, w;

	if ((n & 7) || n > TH_WORDS_MAX) {
		memcpy(dst, v, n);
		return;
	}
	for (w = 0; w < n; w += 8)
		/* Not a pair: th_lookup_chain()'s seqcount retry covers it. */
		put_unaligned(READ_ONCE(*(const u64 *)(v + w)),
			      (u64 *)((u8 *)dst + w));
}

/*
 * The 8 tophash bytes of a bucket as one word, slot i in bits 8i..8i+7.
 * Word-at-a-time tests (SWAR) then find, without a carry or borrow crossing
 * bytes, the slots a walk has to look at: 0x80 in each selected byte.
 */
#define TH_BYTES(c)	(0x0101010101010101ULL * (u8)(c))
#define TH_HIGH		TH_BYTES(0x80)
#define TH_LOW7		TH_BYTES(0x7f)

/* Bytes of @w equal to @c. */
static inline u64 th_bytes_eq(u64 w, u8 c)
{
	u64 x = w ^ TH_BYTES(c);

	/* A byte's high bit ends up set iff the byte is nonzero. */
	return ~(((x & TH_LOW7) + TH_LOW7) | x) & TH_HIGH;
}

/*
 * The lockless reader's pick: the bytes of @w equal to @top and the bytes
 * below minTopHash (the empty states and the evacuated marks), and maybe a
 * few more. Cheaper than th_bytes_eq() because a borrow may cross bytes: it
 * can select a byte above a selected one (never leave out one that should
 * be), which costs the reader one more acquire load of a byte it then
 * skips, never a result.
 */
static inline u64 th_bytes_pick(u64 w, u8 top)
{
	u64 x = w ^ TH_BYTES(top);

	return (((x - TH_BYTES(1)) & ~x) |
		((w - TH_BYTES(TOPHASH_MIN_TOPHASH)) & ~w)) & TH_HIGH;
}

/*
 * The tophash word of bucket @b. Lockless readers use it only as a hint
 * (see th_lookup_chain()); writers hold m->lock, under which no byte of it
 * changes. Pairs with the single-byte stores of th_publish_slot(),
 * th_set_state() and th_mark_evacuated(): no torn byte.
 */
static inline u64 th_tophash_word(const u8 *b)
{
	return le64_to_cpu(READ_ONCE(*(const __le64 *)b));
}

/*
 * Bytes of @w below @c (at most 0x80), loosely: the lowest selected byte
 * is exact, and none is selected only when no byte is below @c; a borrow
 * may also select a byte above the lowest. For the first such slot, and
 * for whether there is one, at two operations fewer than th_bytes_eq().
 */
static inline u64 th_bytes_below(u64 w, u8 c)
{
	return (w - TH_BYTES(c)) & ~w & TH_HIGH;
}

/* The empty slots (emptyRest, emptyOne) of @w, as th_bytes_below(). */
static inline u64 th_empty_slots(u64 w)
{
	return th_bytes_below(w, TOPHASH_EMPTY_ONE + 1);
}

/* The emptyRest slots of @w, as th_bytes_below(): after one, nothing is in use. */
static inline u64 th_rest_slots(u64 w)
{
	return th_bytes_below(w, TOPHASH_EMPTY_REST + 1);
}

/* Slot of the lowest selected byte of a nonzero mask. */
static inline unsigned int th_first_slot(u64 mask)
{
	return __ffs64(mask) / 8;
}

static inline u8 __rcu **th_ovf_ptr(const struct tophash_map *m, u8 *b)
{
	return (u8 __rcu **)(b + m->ovf_off);
}

/* Link @ovf (zeroed or fully written) behind @b where readers can reach it. */
static inline void th_link_overflow(const struct tophash_map *m, u8 *b, u8 *ovf)
{
#ifdef TH_WEAKEN_OVF_PUBLISH
	WRITE_ONCE(*th_ovf_ptr(m, b), ovf);
#else
	/* Pairs with rcu_dereference() in th_overflow_rcu(): @ovf is initialized. */
	rcu_assign_pointer(*th_ovf_ptr(m, b), ovf);
#endif
}

/* Unlink, or use the link of a bucket no reader can reach yet. */
static inline void th_set_overflow(const struct tophash_map *m, u8 *b, u8 *ovf)
{
	RCU_INIT_POINTER(*th_ovf_ptr(m, b), ovf);
}

static __always_inline u8 *th_overflow_rcu(struct th_shape sh, const u8 *b)
{
	/* Pairs with rcu_assign_pointer() in th_link_overflow(). */
	return rcu_dereference(*(u8 __rcu *const *)(b + sh.ovf_off));
}

/* th_overflow() at the offset of @sh, for writers holding m->lock. */
static __always_inline u8 *th_next(const struct tophash_map *m,
				   struct th_shape sh, const u8 *b)
{
	return rcu_dereference_protected(*(u8 __rcu *const *)(b + sh.ovf_off),
					 lockdep_is_held(&m->lock));
}

/* A full slot becomes visible: its key and value were written first. */
static __always_inline void th_publish_slot(u8 *b, unsigned int i, u8 top)
{
#ifdef TH_WEAKEN_SLOT_RELEASE
	WRITE_ONCE(b[i], top);
#else
	/* Pairs with smp_load_acquire() in th_lookup_chain(). */
	smp_store_release(&b[i], top);
#endif
}

/* An empty-state change (emptyOne/emptyRest): nothing to order. */
static inline void th_set_state(u8 *b, unsigned int i, u8 state)
{
	WRITE_ONCE(b[i], state);
}

static inline seqcount_t *th_seq(struct tophash_map *m, unsigned long bucket)
{
	return &m->seq[bucket & (TH_SEQ_STRIPES - 1)];
}

static inline unsigned long th_nbuckets(u8 B)
{
	return 1UL << B;
}

/* Give table @t (not published yet) @B and the bucket mask that goes with it. */
static inline void th_set_B(struct tophash_table *t, u8 B)
{
	t->B = B;
	t->mask = th_nbuckets(B) - 1;
}

/* Buckets of @t's old array: 2^(B-1) doubling, 2^B same-size, 2^(B+1) shrink. */
static inline unsigned long th_noldbuckets(const struct tophash_table *t)
{
	return th_nbuckets(t->oldB);
}

/* TOPHASH_GROW_* of the evacuation @t runs. */
static inline u32 th_grow_kind(const struct tophash_table *t)
{
	return t->shrink ? TOPHASH_GROW_SHRINK :
	       t->same_size ? TOPHASH_GROW_SAME_SIZE : TOPHASH_GROW_DOUBLE;
}

/*
 * A writer's buckets for @hash: where the key is or goes in the current
 * array, and while @t grows, its chain in the old array (which the writer
 * reads, then evacuates, marking its slots), so that the two misses
 * overlap; both for writing.
 */
static __always_inline void th_prefetch_buckets(struct th_shape sh,
						const struct tophash_table *t,
						u64 hash)
{
	th_prefetch_bucket_for(sh, th_bucket_sh(sh, t->buckets, hash & t->mask),
			       true);
	if (t->oldbuckets)
		th_prefetch_bucket_for(sh, th_bucket_sh(sh, t->oldbuckets,
							hash & (th_noldbuckets(t) - 1)),
				       true);
}

/* The hashes a create flag chooses instead; out of the fast paths' way. */
static noinline u64 th_hash_special(const struct tophash_map *m, u64 s0,
				    u64 s1, const void *key)
{
	siphash_key_t seed = { { s0, s1 } };

	if (m->flags & TOPHASH_F_IDENTITY_HASH)
		return get_unaligned((const u64 *)key);
	/* The one-word form is the same function of the same 8 bytes, faster. */
	if (m->key_size == sizeof(u64))
		return siphash_1u64(get_unaligned((const u64 *)key), &seed);
	return siphash(key, m->key_size, &seed);
}

/*
 * @key's hash in table @t, @sh being the map's shape (a constant on the
 * fixed-size paths, so that th_mix_hash() unrolls for its key size, and the
 * identity hash of their 8-byte keys stays inline).
 */
static __always_inline u64 th_hash_sh(const struct tophash_map *m,
				      struct th_shape sh,
				      const struct tophash_table *t,
				      const void *key)
{
	u64 s0, s1;

	/*
	 * The seed changes under readers only when the map is empty (see
	 * th_reseed()); each half is read once so a reader hashes with one
	 * consistent value per half.
	 */
#ifdef TH_WEAKEN_SEED_ONCE
	s0 = t->seed.key[0];
	s1 = t->seed.key[1];
#else
	/* Pairs with WRITE_ONCE() in th_reseed(): no torn halves. */
	s0 = READ_ONCE(t->seed.key[0]);
	s1 = READ_ONCE(t->seed.key[1]);
#endif
	/* The 16- and 4-byte fixed paths never hash otherwise: no test. */
	if ((sh.sip || sh.ks == sizeof(u64)) &&
	    unlikely(m->flags & (TOPHASH_F_IDENTITY_HASH | TOPHASH_F_SIPHASH))) {
		if (!sh.sip)
			return get_unaligned((const u64 *)key);
		return th_hash_special(m, s0, s1, key);
	}
	return th_mix_hash(key, sh.ks, s0, s1);
}

/* Go re-draws hash0 when the map becomes empty; readers may be hashing. */
static void th_reseed(struct tophash_table *t)
{
	siphash_key_t seed;

	get_random_bytes(&seed, sizeof(seed));
#ifdef TH_WEAKEN_SEED_ONCE
	t->seed = seed;
#else
	/* Pairs with READ_ONCE() in th_hash(). */
	WRITE_ONCE(t->seed.key[0], seed.key[0]);
	WRITE_ONCE(t->seed.key[1], seed.key[1]);
#endif
}

/* Go's overLoadFactor(): more than 8 entries and above 6.5 per bucket. */
static __always_inline bool th_over_load_factor(u64 count, u8 B)
{
	return count > TH_SLOTS &&
	       count > TH_LOAD_NUM * (th_nbuckets(B) / TH_LOAD_DEN);
}

/*
 * Go's tooManyOverflowBuckets(): as many overflow buckets as regular ones.
 * Go writes it noverflow >= 2^min(B, 15) because its noverflow is a uint16:
 * from B = 16 on, incrnoverflow() counts an overflow bucket with chance
 * 2^-(B-15), so its threshold is met at 2^B overflow buckets on average. Our
 * count is exact, so the same threshold is 2^B for every B: equal to Go's
 * below B = 16, and its mean above. (A literal 2^15 at B = 20 would start a
 * same-size growth, a pass over all 2^20 buckets, 32 times as often as Go.)
 */
static inline bool th_too_many_overflow(u64 noverflow, u8 B)
{
	return noverflow >= th_nbuckets(B);
}

/* Bucket arrays: kvmalloc warns above INT_MAX, so refuse those first. */
static u8 *th_new_array(struct tophash_map *m, u8 B)
{
	size_t size;
	u8 *arr;

	if (B >= 32 || check_mul_overflow(th_nbuckets(B), (size_t)m->bucket_size,
					  &size) || size > INT_MAX)
		return NULL;
	if (th_fail_alloc())
		return NULL;
	arr = kvzalloc(size, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (arr) {
		m->bytes += size;
		atomic64_add(size, &tophash_live_bytes);
	}
	return arr;
}

static u8 *th_new_overflow(struct tophash_map *m)
{
	size_t size = sizeof(struct th_ovf_hdr) + m->bucket_size;
	struct th_ovf_hdr *h;

	if (th_fail_alloc())
		return NULL;
	h = kzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!h)
		return NULL;
	h->size = size;
	m->bytes += size;
	atomic64_add(size, &tophash_live_bytes);
	return (u8 *)(h + 1);
}

static inline struct th_ovf_hdr *th_ovf_hdr(u8 *b)
{
	return (struct th_ovf_hdr *)b - 1;
}

/*
 * Freeing, one helper per kind of object. A th_free_*() gives the memory
 * back and takes it off tophash_live_bytes; the map's own count (m->bytes)
 * drops where the object leaves the map: in th_retire_*() for objects
 * readers may still see, in th_unalloc_*() for ones no reader ever saw.
 */
static void th_free_overflow(struct th_ovf_hdr *h)
{
	atomic64_sub(h->size, &tophash_live_bytes);
	kfree(h);
}

static void th_free_overflow_rcu(struct rcu_head *rcu)
{
	th_free_overflow(container_of(rcu, struct th_ovf_hdr, rcu));
}

static void th_free_array(u8 *arr, size_t size)
{
	atomic64_sub(size, &tophash_live_bytes);
	kvfree(arr);
}

static void th_free_table(struct tophash_table *t)
{
	atomic64_sub(sizeof(*t), &tophash_live_bytes);
	kfree(t);
}

/* Undo th_alloc_overflow() of a bucket that was never linked. */
static void th_unalloc_overflow(struct tophash_map *m, u8 *b)
{
	struct th_ovf_hdr *h = th_ovf_hdr(b);

	m->bytes -= h->size;
	th_free_overflow(h);
}

/* Hand an unlinked overflow bucket to RCU; readers may still be in it. */
static void th_retire_overflow(struct tophash_map *m, u8 *b)
{
	struct th_ovf_hdr *h = th_ovf_hdr(b);

	m->bytes -= h->size;
#ifdef TH_WEAKEN_GRACE
	th_free_overflow_rcu(&h->rcu);
#else
	/* Orders the free after every reader that may hold @b (RCU grace period). */
	call_rcu(&h->rcu, th_free_overflow_rcu);
#endif
}

static void th_table_free_rcu(struct rcu_head *rcu)
{
	struct tophash_table *t = container_of(rcu, struct tophash_table, rcu);
	unsigned long i;
	unsigned int d;

	for (d = 0; d < ARRAY_SIZE(t->dead); d++) {
		u8 *arr = t->dead[d].buckets;

		if (!arr)
			continue;
		for (i = 0; t->dead[d].chains && i < t->dead[d].nbuckets; i++) {
			u8 *b = *(u8 **)(arr + i * t->bucket_size + t->ovf_off);

			while (b) {
				u8 *next = *(u8 **)(b + t->ovf_off);

				th_free_overflow(th_ovf_hdr(b));
				b = next;
			}
		}
		th_free_array(arr, t->dead[d].nbuckets * t->bucket_size);
	}
	th_free_table(t);
}

static struct tophash_table *th_new_table(struct tophash_map *m)
{
	struct tophash_table *t;

	if (th_fail_alloc())
		return NULL;
	t = kzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (!t)
		return NULL;
	t->bucket_size = m->bucket_size;
	t->ovf_off = m->ovf_off;
	m->bytes += sizeof(*t);
	atomic64_add(sizeof(*t), &tophash_live_bytes);
	return t;
}

/*
 * The reserve (struct th_reserve): a write that may need more than one
 * allocation (growth work, a growth's start) makes them all up front with
 * th_reserve_fill(), before it changes anything. While the reserve holds
 * something, th_alloc_table(), th_alloc_array() and th_alloc_overflow()
 * take from it; th_reserve_drop() frees what the write did not use.
 */
static struct tophash_table *th_alloc_table(struct tophash_map *m)
{
	if (m->rsv.ntbl)
		return m->rsv.tbl[--m->rsv.ntbl];
	return th_new_table(m);
}

static u8 *th_alloc_array(struct tophash_map *m, u8 B)
{
	u8 *arr = m->rsv.arr;

	if (arr && m->rsv.B == B) {
		m->rsv.arr = NULL;
		return arr;
	}
	return th_new_array(m, B);
}

static u8 *th_alloc_overflow(struct tophash_map *m)
{
	u8 *b = m->rsv.ovf;

	if (!b)
		return th_new_overflow(m);
	m->rsv.ovf = th_overflow(m, b);
	th_set_overflow(m, b, NULL);
	return b;
}

/* Free what the write in progress reserved and did not use. */
static noinline void th_reserve_release(struct tophash_map *m)
{
	struct th_reserve *r = &m->rsv;
	u8 *b;

	while (r->ntbl) {
		m->bytes -= sizeof(struct tophash_table);
		th_free_table(r->tbl[--r->ntbl]);
	}
	if (r->arr) {
		size_t size = th_nbuckets(r->B) * m->bucket_size;

		m->bytes -= size;
		th_free_array(r->arr, size);
		r->arr = NULL;
	}
	while ((b = r->ovf)) {
		r->ovf = th_overflow(m, b);
		th_unalloc_overflow(m, b);
	}
}

/* m->bytes less what the reserve holds: the map's, for the trace events. */
static u64 th_bytes_in_use(struct tophash_map *m)
{
	struct th_reserve *r = &m->rsv;
	u64 held = r->ntbl * sizeof(struct tophash_table);
	u8 *b;

	if (r->arr)
		held += th_nbuckets(r->B) * m->bucket_size;
	for (b = r->ovf; b; b = th_overflow(m, b))
		held += sizeof(struct th_ovf_hdr) + m->bucket_size;
	return m->bytes - held;
}

static inline void th_reserve_drop(struct tophash_map *m)
{
	if (unlikely(m->rsv.ntbl || m->rsv.arr || m->rsv.ovf))
		th_reserve_release(m);
}

/*
 * Reserve @ntbl tables, an array of @B when @arr, and @novf overflow
 * buckets. Returns 0, or -ENOMEM with nothing reserved and nothing changed
 * (m->bytes and the live bytes are back where they were).
 */
static noinline int th_reserve_fill(struct tophash_map *m, unsigned int ntbl,
				    bool arr, u8 B, unsigned long novf)
{
	struct th_reserve *r = &m->rsv;
	u8 *b;

	for (; r->ntbl < ntbl; r->ntbl++) {
		r->tbl[r->ntbl] = th_new_table(m);
		if (!r->tbl[r->ntbl])
			goto out_release;
	}
	if (arr) {
		r->arr = th_new_array(m, B);
		r->B = B;
		if (!r->arr)
			goto out_release;
	}
	for (; novf; novf--) {
		b = th_new_overflow(m);
		if (!b)
			goto out_release;
		th_set_overflow(m, b, r->ovf);
		r->ovf = b;
	}
	return 0;

out_release:
	th_reserve_release(m);
	return -ENOMEM;
}

/* Undo th_alloc_table() of a table that was never published. */
static void th_unalloc_table(struct tophash_map *m, struct tophash_table *t)
{
	m->bytes -= sizeof(*t);
	th_free_table(t);
}

/* A new table of 2^@B zeroed buckets: the table first, then its array. */
static struct tophash_table *th_alloc_table_buckets(struct tophash_map *m, u8 B)
{
	struct tophash_table *t = th_alloc_table(m);

	if (!t)
		return NULL;
	th_set_B(t, B);
	t->buckets = th_alloc_array(m, B);
	if (!t->buckets) {
		th_unalloc_table(m, t);
		return NULL;
	}
	return t;
}

/*
 * Attach bucket array @arr (with its overflow chains when @chains) to table
 * @t, which is being retired: th_table_free_rcu() frees it with @t after the
 * grace period. @arr leaves the map's byte count now.
 */
static void th_retire_array_with_table(struct tophash_map *m,
				       struct tophash_table *t, int slot,
				       u8 *arr, unsigned long nbuckets,
				       bool chains)
{
	t->dead[slot].buckets = arr;
	t->dead[slot].nbuckets = nbuckets;
	t->dead[slot].chains = chains;
	m->bytes -= nbuckets * m->bucket_size;
}

/* Both arrays of @t, with every overflow chain: a clear or a destroy. */
static void th_retire_arrays_with_table(struct tophash_map *m,
					struct tophash_table *t)
{
	th_retire_array_with_table(m, t, 0, t->buckets, th_nbuckets(t->B), true);
	if (t->oldbuckets)
		th_retire_array_with_table(m, t, 1, t->oldbuckets,
					   th_noldbuckets(t), true);
}

/* Free @t and the arrays attached to it after readers that may see it are gone. */
static void th_retire_table(struct tophash_map *m, struct tophash_table *t)
{
	m->bytes -= sizeof(*t);
#ifdef TH_WEAKEN_GRACE
	th_table_free_rcu(&t->rcu);
#else
	/* Orders the free after every reader that may hold @t (RCU grace period). */
	call_rcu(&t->rcu, th_table_free_rcu);
#endif
}

/* Make @t the table readers find; everything it points to is initialized. */
static inline void th_publish_table(struct tophash_map *m,
				    struct tophash_table *t)
{
#ifdef TH_WEAKEN_TABLE_PUBLISH
	WRITE_ONCE(*(struct tophash_table **)&m->tbl, t);
#else
	/* Pairs with rcu_dereference() in tophash_lookup_rcu(). */
	rcu_assign_pointer(m->tbl, t);
#endif
}

static inline struct tophash_table *th_tbl(struct tophash_map *m)
{
	return rcu_dereference_protected(m->tbl, lockdep_is_held(&m->lock));
}

/* Replace the current table; @old goes to RCU with the arrays attached to it. */
static void th_replace_table(struct tophash_map *m, struct tophash_table *old,
			     struct tophash_table *new)
{
	th_publish_table(m, new);
	th_retire_table(m, old);
}

static void th_finish_work(struct work_struct *work);

/**
 * tophash_map_init() - prepare a map object before CREATE
 * @m: the map, zeroed
 */
void tophash_map_init(struct tophash_map *m)
{
	int i;

	mutex_init(&m->lock);
	for (i = 0; i < TH_SEQ_STRIPES; i++)
		seqcount_init(&m->seq[i]);
	INIT_DELAYED_WORK(&m->finish, th_finish_work);
}

/* Go's makemap: the smallest B that holds @hint entries under the load factor. */
static u8 th_hint_to_B(u64 hint)
{
	u8 B = 0;

	while (th_over_load_factor(hint, B))
		B++;
	return B;
}

/**
 * tophash_map_create() - give a map its shape and first table
 * @m: a map after tophash_map_init()
 * @c: the validated create arguments (sizes, flags, hint, max_entries)
 * @id: the map's id
 *
 * Context: process context; takes m->lock.
 * Return: 0, -EBUSY when @m was created before, -EINVAL for a bad size,
 *	-ENOMEM.
 */
int tophash_map_create(struct tophash_map *m, const struct tophash_create *c,
		       u32 id)
{
	struct tophash_table *t;
	int err;

	mutex_lock(&m->lock);
	err = -EBUSY;
	if (m->created)
		goto out_unlock;
	err = -EINVAL;
	if ((c->flags & TOPHASH_F_IDENTITY_HASH) && (c->flags & TOPHASH_F_SIPHASH))
		goto out_unlock;
	if ((!(c->flags & TOPHASH_F_SHRINK) && c->shrink_pct) ||
	    c->shrink_pct > TOPHASH_SHRINK_MAX_PCT)
		goto out_unlock;
	m->id = id;
	m->flags = c->flags;
	m->key_size = c->key_size;
	m->value_size = c->value_size;
	m->val_off = TH_VAL_OFF(c->key_size);
	m->ovf_off = TH_OVF_OFF(c->key_size, c->value_size);
	m->bucket_size = m->ovf_off + sizeof(void *);
	m->max_entries = c->max_entries;
	m->fast = th_fast_path(c->key_size, c->value_size, c->flags);
	m->shrink_pct = !(c->flags & TOPHASH_F_SHRINK) ? 0 :
			c->shrink_pct ?: TOPHASH_SHRINK_DEFAULT_PCT;
	m->min_B = th_hint_to_B(c->size_hint);

	err = -ENOMEM;
	t = th_alloc_table_buckets(m, m->min_B);
	if (!t)
		goto out_reset;
	get_random_bytes(&t->seed, sizeof(t->seed));
	t->gen = ++m->generation;
	th_publish_table(m, t);
	/* The finisher charges what it allocates to the creator's group. */
	m->memcg = get_mem_cgroup_from_mm(current->mm);
	/* Pairs with smp_load_acquire() in tophash_ioctl(): the shape is set. */
	smp_store_release(&m->created, true);
	mutex_unlock(&m->lock);
	return 0;

out_reset:
	m->bucket_size = 0;
out_unlock:
	mutex_unlock(&m->lock);
	return err;
}

/**
 * tophash_map_destroy() - free everything a map holds
 * @m: the map; no other user may hold it any more
 *
 * The memory goes through RCU, so lockless readers still inside finish first.
 * The background finisher is cancelled (and waited for) first.
 */
void tophash_map_destroy(struct tophash_map *m)
{
	struct tophash_table *t;

	/* No writer is left to queue it again; it may be running: wait. */
	cancel_delayed_work_sync(&m->finish);
	mutex_lock(&m->lock);
	if (m->created) {
		t = th_tbl(m);
		trace_tophash_clear(m->id, t->gen, 0, m->count,
				    m->noverflow + m->noldoverflow,
				    t->oldbuckets ? th_noldbuckets(t) : 0, 1);
		WARN_ON_ONCE(delayed_work_pending(&m->finish));
		th_retire_arrays_with_table(m, t);
		RCU_INIT_POINTER(m->tbl, NULL); /* Readers are gone: no pairing. */
		th_retire_table(m, t);
		WRITE_ONCE(m->created, false);
		mem_cgroup_put(m->memcg);
		m->memcg = NULL;
	}
	mutex_unlock(&m->lock);
	mutex_destroy(&m->lock);
}

/*
 * Overwrite live bytes in place (a value update). Readers may be copying
 * them: the write section (paired below) fails their seqcount check. IRQs are
 * off so that a reader in interrupt context on this CPU never spins on a
 * section it interrupted.
 */
static __always_inline void th_overwrite(struct tophash_map *m,
					 unsigned long bucket, u8 *dst,
					 const void *src, size_t len)
{
	seqcount_t *sc = th_seq(m, bucket);
	unsigned long flags;

	local_irq_save(flags);
	/* Pairs with read_seqcount_begin/retry() in th_lookup_chain(). */
	write_seqcount_begin(sc);
	memcpy(dst, src, len);
	write_seqcount_end(sc);
	local_irq_restore(flags);
}

/* Empty a live slot: zero its key and value, mark it emptyOne. */
static __always_inline void th_clear_slot(struct tophash_map *m,
					  struct th_shape sh,
					  unsigned long bucket, u8 *b,
					  unsigned int i)
{
	seqcount_t *sc = th_seq(m, bucket);
	unsigned long flags;

	local_irq_save(flags);
	/* Pairs with read_seqcount_begin/retry() in th_lookup_chain(). */
	write_seqcount_begin(sc);
	memset(th_key_sh(sh, b, i), 0, sh.ks);
	memset(th_val_sh(sh, b, i), 0, sh.vs);
	th_set_state(b, i, TOPHASH_EMPTY_ONE);
	write_seqcount_end(sc);
	local_irq_restore(flags);
}

/*
 * Where bucket @b sits in the chain at @head (0: the primary bucket). Only
 * tracepoints want it: callers compute it behind trace_<event>_enabled(), so
 * that a disabled tracepoint costs no depth counting.
 */
static u32 th_chain_depth(const struct tophash_map *m, const u8 *head,
			  const u8 *b)
{
	u32 d = 0;

	for (; head != b; head = th_overflow(m, head))
		d++;
	return d;
}

/*
 * Writers' search of the chain at @b (under m->lock: no byte changes under
 * it) for @key with tophash @top: its bucket and slot, or NULL.
 */
static __always_inline u8 *th_chain_find(struct tophash_map *m,
					 struct th_shape sh, u8 *b,
					 const void *key, u8 top,
					 unsigned int *slot)
{
	u64 w, match;

	for (; b; b = th_next(m, sh, b)) {
		w = th_tophash_word(b);
		for (match = th_bytes_eq(w, top); match; match &= match - 1) {
			*slot = th_first_slot(match);
			if (th_key_equal(sh, th_key_sh(sh, b, *slot), key))
				return b;
		}
		/* An emptyRest: nothing follows it in the chain. */
		if (th_rest_slots(w))
			return NULL;
	}
	return NULL;
}

/* Find @key; return its bucket and slot or NULL. Works mid-growth. */
static __always_inline u8 *th_find(struct tophash_map *m, struct th_shape sh,
				   struct tophash_table *t, const void *key,
				   u64 hash, unsigned int *slot)
{
	u8 *b = th_bucket_sh(sh, t->buckets, hash & t->mask);

	if (t->oldbuckets) {
		u8 *ob = th_bucket_sh(sh, t->oldbuckets,
				      hash & (th_noldbuckets(t) - 1));

		if (!th_evacuated(ob))
			b = ob;
	}
	return th_chain_find(m, sh, b, key, th_top(hash), slot);
}

/* A destination of an evacuation: a bucket chain being filled in order. */
struct th_evac_dst {
	u8 *b;
	unsigned int i;
};

/* 0 for X, 1 for Y: where the entry in slot @i of old bucket @b goes. */
static __always_inline int th_evac_side(struct tophash_map *m,
					struct th_shape sh,
					struct tophash_table *t, u8 *b,
					unsigned int i, unsigned long newbit)
{
	return !t->same_size && !t->shrink &&
	       !!(th_hash_sh(m, sh, t, th_key_sh(sh, b, i)) & newbit);
}

/*
 * What the count and copy steps of an evacuation learned about one old
 * bucket, so the mark step and the drop tracepoints need not look again:
 * slots that were empty, emptyOne, and live entries that went to Y.
 */
struct th_evac_memo {
	u8 empty;
	u8 deleted;
	u8 ymask;
};

/* Buckets of an old chain whose memo an evacuation keeps on the stack. */
#define TH_EVAC_MEMO	16

/*
 * Evacuation step 1, count: the live entries of an old chain that go to X
 * and to Y, and note
 * in @memo which went to Y (hashing each entry once per evacuation for the
 * first TH_EVAC_MEMO buckets).
 */
static __always_inline void th_evac_count(struct tophash_map *m,
					  struct th_shape sh,
					  struct tophash_table *t, u8 *b,
					  unsigned long newbit, unsigned long *n,
					  struct th_evac_memo *memo)
{
	unsigned int i, depth;
	int y;

	n[0] = 0;
	n[1] = 0;
	for (depth = 0; b; b = th_next(m, sh, b), depth++) {
		u8 ymask = 0;

		for (i = 0; i < TH_SLOTS; i++) {
			if (th_is_empty(b[i]))
				continue;
			y = th_evac_side(m, sh, t, b, i, newbit);
			ymask |= y << i;
			n[y]++;
		}
		if (depth < TH_EVAC_MEMO) {
			memo[depth].ymask = ymask;
			/* Filled by th_evac_note() when tracing. */
			memo[depth].empty = 0;
			memo[depth].deleted = 0;
		}
	}
}

/* The evacuated state slot @i of old bucket @b takes; @mm may be NULL. */
static __always_inline u8 th_evac_mark(struct tophash_map *m,
				       struct th_shape sh,
				       struct tophash_table *t, u8 *b,
				       unsigned int i, unsigned long newbit,
				       const struct th_evac_memo *mm)
{
	if (th_is_empty(b[i]))
		return TOPHASH_EVACUATED_EMPTY;
	if (mm)
		return TOPHASH_EVACUATED_X + ((mm->ymask >> i) & 1);
	return TOPHASH_EVACUATED_X + th_evac_side(m, sh, t, b, i, newbit);
}

/*
 * Mark an old slot evacuated, after its entry was published in the new
 * array: a reader that sees the mark sees the new copy.
 */
static inline void th_mark_evacuated(u8 *b, unsigned int i, u8 mark)
{
#ifdef TH_WEAKEN_EVAC_RELEASE
	WRITE_ONCE(b[i], mark);
#else
	/* Pairs with smp_load_acquire() in th_lookup_chain()/th_evacuated_acquire(). */
	smp_store_release(&b[i], mark);
#endif
}

/* Overflow buckets a destination that takes @n entries needs past its first. */
static inline unsigned long th_ovf_needed(unsigned long n)
{
	return n > TH_SLOTS ? DIV_ROUND_UP(n, TH_SLOTS) - 1 : 0;
}

/*
 * For the tracepoints only: old bucket @b (at @depth in its chain, not yet
 * marked) had these empty and emptyOne slots, which the evacuation drops.
 * Kept in @memo for the drop events sent once the chain is marked, or sent
 * now when too deep to keep. Returns the number of emptyOne slots.
 */
static u32 th_evac_note(struct tophash_map *m, struct tophash_table *t,
			unsigned long oldbucket, const u8 *b, u32 depth,
			struct th_evac_memo *memo)
{
	u8 empty = 0, deleted = 0;
	unsigned int i;

	for (i = 0; i < TH_SLOTS; i++) {
		if (th_is_empty(b[i]))
			empty |= 1U << i;
		if (b[i] == TOPHASH_EMPTY_ONE)
			deleted |= 1U << i;
	}
	if (depth < TH_EVAC_MEMO) {
		memo[depth].empty = empty;
		memo[depth].deleted = deleted;
	} else if (empty) {
		trace_tophash_evacuate_drop(m->id, t->oldgen, oldbucket, depth,
					    empty, deleted);
	}
	return hweight8(deleted);
}

/*
 * Where a shrink's evacuation appends to new chain @d->b, which may hold
 * the entries of the other old bucket already (readers may be in it): at
 * the chain's first emptyRest slot, nothing after which is in use. Returns
 * the free slots from there to the chain's end.
 */
static unsigned long th_evac_append_at(struct tophash_map *m,
				       struct th_evac_dst *d)
{
	unsigned long free = 0;
	u64 rest;
	u8 *b;

	for (b = d->b; b; b = th_overflow(m, b)) {
		/* Only the first emptyRest is used: exact in th_rest_slots(). */
		rest = th_rest_slots(th_tophash_word(b));
		if (!free && rest) {
			d->b = b;
			d->i = th_first_slot(rest);
			free = TH_SLOTS - d->i;
		} else if (free) {
			free += TH_SLOTS;
		}
		if (!free && !th_overflow(m, b)) {
			d->b = b;	/* the chain is full: append behind */
			d->i = TH_SLOTS;
		}
	}
	return free;
}

/*
 * Evacuation step 2, destinations: X (same index) and Y (index + old size)
 * start empty in a growth; a shrink has X only, new bucket @oldbucket &
 * (2^B - 1), where the other old bucket's entries may already be, and
 * appends behind them. Returns the overflow buckets the @n entries going to
 * each side will need.
 */
static __always_inline unsigned long
th_evac_dst_init(struct tophash_map *m, struct th_shape sh,
		 struct tophash_table *t, unsigned long oldbucket,
		 const unsigned long *n, struct th_evac_dst *dst)
{
	unsigned long free;

	dst[0].b = th_bucket_sh(sh, t->buckets, oldbucket & t->mask);
	dst[0].i = 0;
	dst[1].b = t->same_size || t->shrink ? NULL :
		   th_bucket_sh(sh, t->buckets, oldbucket + th_noldbuckets(t));
	dst[1].i = 0;
	if (!t->shrink)
		return th_ovf_needed(n[0]) + th_ovf_needed(n[1]);
	free = th_evac_append_at(m, &dst[0]);
	return n[0] > free ? DIV_ROUND_UP(n[0] - free, TH_SLOTS) : 0;
}

/*
 * Evacuation step 3, preallocate: the @need overflow buckets the destinations
 * will take, as a list linked through their overflow pointers, so that the
 * copy cannot fail halfway. On -ENOMEM none is kept and nothing changed.
 */
static __always_inline int th_evac_prealloc(struct tophash_map *m,
					    struct th_shape sh,
					    unsigned long need, u8 **spare)
{
	unsigned long k;
	u8 *b;

	*spare = NULL;
	for (k = 0; k < need; k++) {
		b = th_alloc_overflow(m);
		if (!b)
			goto out_undo;
		th_set_overflow(m, b, *spare);
		*spare = b;
	}
	return 0;

out_undo:
	while (*spare) {
		b = *spare;
		*spare = th_next(m, sh, b);
		th_unalloc_overflow(m, b);
	}
	return -ENOMEM;
}

/* A full destination goes on in the next preallocated bucket, linked behind it. */
static __always_inline void th_evac_extend(struct tophash_map *m,
					   struct th_shape sh,
					   struct th_evac_dst *d, u8 **spare)
{
	u8 *nb = *spare;

	*spare = th_next(m, sh, nb);
	th_set_overflow(m, nb, NULL);
	th_link_overflow(m, d->b, nb);
	m->noverflow++;
	d->b = nb;
	d->i = 0;
}

/*
 * Evacuation step 4, copy: every live entry of old chain @ob into X (same
 * index) or Y (index + old size), in chain order, each new slot published
 * (th_publish_slot()); a full destination takes a bucket from @spare.
 * Returns the depth of the old chain; adds the emptyOne slots it drops to
 * *@ndeleted when tracing.
 */
static __always_inline u32 th_evac_copy(struct tophash_map *m,
					struct th_shape sh,
					struct tophash_table *t,
					unsigned long oldbucket, u8 *ob,
					struct th_evac_dst *dst, u8 *spare,
					struct th_evac_memo *memo,
					u32 *ndeleted)
{
	unsigned long newbit = th_noldbuckets(t);
	struct th_evac_dst *d;
	unsigned int i;
	u32 depth = 0;
	u8 *b, top;
	int y;

	for (b = ob; b; b = th_next(m, sh, b), depth++) {
		u8 ymask = depth < TH_EVAC_MEMO ? memo[depth].ymask : 0;

		for (i = 0; i < TH_SLOTS; i++) {
			top = b[i];
			if (th_is_empty(top))
				continue;
			y = depth < TH_EVAC_MEMO ? (ymask >> i) & 1 :
						   th_evac_side(m, sh, t, b, i, newbit);
			d = &dst[y];
			if (d->i == TH_SLOTS && th_next(m, sh, d->b)) {
				/* A shrink's append: the chain goes on, empty. */
				d->b = th_next(m, sh, d->b);
				d->i = 0;
			} else if (d->i == TH_SLOTS) {
				th_evac_extend(m, sh, d, &spare);
			}
			memcpy(th_key_sh(sh, d->b, d->i), th_key_sh(sh, b, i), sh.ks);
			memcpy(th_val_sh(sh, d->b, d->i), th_val_sh(sh, b, i), sh.vs);
			th_publish_slot(d->b, d->i, top);
			d->i++;
		}
		/* Each event on its own: the drops need the notes too. */
		if (th_trace_enabled(tophash_evacuate) ||
		    th_trace_enabled(tophash_evacuate_drop))
			*ndeleted += th_evac_note(m, t, oldbucket, b, depth, memo);
	}
	return depth;
}

/*
 * Evacuation step 5, mark: the old slots evacuatedX/Y/Empty, after the whole
 * chain is copied, slot 0 of the primary bucket last: a reader that sees
 * any mark finds the whole chain in the new array, and one that sees slot 0
 * unmarked may still search the old chain.
 */
static __always_inline void th_evac_mark_chain(struct tophash_map *m,
					       struct th_shape sh,
					       struct tophash_table *t, u8 *ob,
					       const struct th_evac_memo *memo)
{
	unsigned long newbit = th_noldbuckets(t);
	unsigned long k;
	unsigned int i;
	u8 *b;

	for (b = ob, k = 0; b; b = th_next(m, sh, b), k++) {
		for (i = b == ob ? 1 : 0; i < TH_SLOTS; i++)
			th_mark_evacuated(b, i, th_evac_mark(m, sh, t, b, i, newbit,
							     k < TH_EVAC_MEMO ? &memo[k] : NULL));
	}
	th_mark_evacuated(ob, 0, th_evac_mark(m, sh, t, ob, 0, newbit,
						   &memo[0]));
}

/*
 * Evacuation step 6, cut the chain: the marked old chain's overflow buckets
 * hold nothing any more; unlink them from primary bucket @ob and hand them
 * to RCU. A reader still in the primary bucket may load the cut link next:
 * it then looks at slot 0 again (th_lookup_chain()) and finds the mark.
 */
static __always_inline void th_evac_cut_chain(struct tophash_map *m,
					      struct th_shape sh, u8 *ob)
{
	u8 *b = th_next(m, sh, ob), *next;

	/* Pairs with smp_rmb() in th_lookup_chain(): slot 0's mark before the cut. */
	smp_wmb();
	th_set_overflow(m, ob, NULL);
	for (; b; b = next) {
		next = th_next(m, sh, b);
		m->noldoverflow--;
		th_retire_overflow(m, b);
	}
}

/*
 * Evacuation step 7, trace: the drop events @memo kept for the first
 * TH_EVAC_MEMO buckets of the chain, then the evacuation itself (@t0: when
 * it started, 0 if tracing was off then).
 */
static noinline void th_evac_trace(struct tophash_map *m,
				   struct tophash_table *t,
				   unsigned long oldbucket, u32 depth,
				   const unsigned long *n, u32 ndeleted,
				   const struct th_evac_memo *memo, u64 t0)
{
	u64 ns = t0 ? ktime_get_ns() - t0 : 0;
	u32 k;

	/* Each event fires when it alone is enabled. */
	if (th_trace_enabled(tophash_evacuate_drop)) {
		for (k = 0; k < min_t(u32, depth, TH_EVAC_MEMO); k++)
			if (memo[k].empty)
				trace_tophash_evacuate_drop(m->id, t->oldgen,
							    oldbucket, k,
							    memo[k].empty,
							    memo[k].deleted);
	}
	if (th_trace_enabled(tophash_evacuate))
		trace_tophash_evacuate(m->id, t->oldgen, t->gen, oldbucket,
				       depth, n[0], n[1], ndeleted, depth - 1,
				       m->nevacuate, t->same_size, ns);
}

/*
 * Go's evacuate(): move old bucket @oldbucket's chain into X (same index)
 * and Y (index + old size) by the hash bit, drop deleted slots, and mark the
 * old slots evacuatedX/Y/Empty (a shrink: everything to X, appended behind
 * the other half). In steps: count where the entries go, find the
 * destinations, preallocate the overflow buckets that needs (so this either fails with
 * -ENOMEM before changing anything or completes), copy, mark, cut the old
 * chain, trace.
 */
static __always_inline int th_evacuate_sh(struct tophash_map *m,
					  struct th_shape sh,
					  struct tophash_table *t,
					  unsigned long oldbucket)
{
	u8 *ob = th_bucket_sh(sh, t->oldbuckets, oldbucket);
	struct th_evac_memo memo[TH_EVAC_MEMO];
	struct th_evac_dst dst[2];
	u32 depth, ndeleted = 0;
	unsigned long n[2];
	u8 *spare;
	u64 t0 = 0;
	int err;

	if (th_evacuated(ob))
		return 0;

	if (th_trace_enabled(tophash_evacuate))
		t0 = ktime_get_ns();
	th_evac_count(m, sh, t, ob, th_noldbuckets(t), n, memo);
	err = th_evac_prealloc(m, sh,
			       th_evac_dst_init(m, sh, t, oldbucket, n, dst),
			       &spare);
	if (err)
		return err;
	depth = th_evac_copy(m, sh, t, oldbucket, ob, dst, spare, memo,
			     &ndeleted);
	th_evac_mark_chain(m, sh, t, ob, memo);
	th_evac_cut_chain(m, sh, ob);
	if (th_trace_enabled(tophash_evacuate) ||
	    th_trace_enabled(tophash_evacuate_drop))
		th_evac_trace(m, t, oldbucket, depth, n, ndeleted, memo, t0);
	return 0;
}

/* th_evacuate_sh() on the fixed-size path and on the generic one. */
static noinline int th_evacuate_k8v8(struct tophash_map *m,
				     struct tophash_table *t,
				     unsigned long oldbucket)
{
	return th_evacuate_sh(m, TH_SHAPE_FIXED(8, 8), t, oldbucket);
}

static noinline int th_evacuate_k4v8(struct tophash_map *m,
				      struct tophash_table *t,
				      unsigned long oldbucket)
{
	return th_evacuate_sh(m, TH_SHAPE_FIXED(4, 8), t, oldbucket);
}

static noinline int th_evacuate_k64v8(struct tophash_map *m,
				      struct tophash_table *t,
				      unsigned long oldbucket)
{
	return th_evacuate_sh(m, TH_SHAPE_FIXED(64, 8), t, oldbucket);
}

static noinline int th_evacuate_k16v8(struct tophash_map *m,
				      struct tophash_table *t,
				      unsigned long oldbucket)
{
	return th_evacuate_sh(m, TH_SHAPE_FIXED(16, 8), t, oldbucket);
}

static noinline int th_evacuate_generic(struct tophash_map *m,
					struct tophash_table *t,
					unsigned long oldbucket)
{
	return th_evacuate_sh(m, TH_SHAPE(m), t, oldbucket);
}

static int th_evacuate(struct tophash_map *m, struct tophash_table *t,
		       unsigned long oldbucket)
{
	if (m->fast == TH_FAST_K8V8)
		return th_evacuate_k8v8(m, t, oldbucket);
	if (m->fast == TH_FAST_K16V8)
		return th_evacuate_k16v8(m, t, oldbucket);
	if (m->fast == TH_FAST_K4V8)
		return th_evacuate_k4v8(m, t, oldbucket);
	if (m->fast == TH_FAST_K64V8)
		return th_evacuate_k64v8(m, t, oldbucket);
	return th_evacuate_generic(m, t, oldbucket);
}

/* Growth is complete: publish the table without oldbuckets. */
static int th_grow_done(struct tophash_map *m, struct tophash_table *t)
{
	struct tophash_table *nt = th_alloc_table(m);

	if (!nt)
		return -ENOMEM;
	nt->buckets = t->buckets;
	nt->gen = t->gen;
	th_set_B(nt, t->B);
	nt->seed = t->seed;
	th_retire_array_with_table(m, t, 0, t->oldbuckets, th_noldbuckets(t),
				   false);
	m->nevacuate = 0;
	/* @t itself goes when it is replaced */
	trace_tophash_grow_done(m->id, t->oldgen, t->gen, t->B, t->same_size,
				m->count, m->noverflow, th_grow_kind(t),
				th_bytes_in_use(m) - sizeof(*t));
	th_replace_table(m, t, nt);
	return 0;
}

/* Go's advanceEvacuationMark(), less the completion it leaves to the caller. */
static void th_advance_mark(struct tophash_map *m, struct tophash_table *t)
{
	unsigned long nold = th_noldbuckets(t);
	unsigned long stop;

	m->nevacuate++;
	stop = min(m->nevacuate + TH_EVAC_SCAN, nold);
	while (m->nevacuate != stop &&
	       th_evacuated(th_bucket(m, t->oldbuckets, m->nevacuate)))
		m->nevacuate++;
}

/*
 * Planning a write's allocations (for th_reserve_fill()): a growth seen
 * from its old array, as it is or as it would be once started. A shrink
 * (@shrink) appends old buckets j and j + @nnew to new chain j, which may
 * hold entries already (of the other half, of writes since): what an
 * evacuation needs then depends on that chain, read from @t's array, or
 * empty when the shrink is not started yet (@fresh).
 */
struct th_grow_plan {
	struct tophash_table *t;	/* for the seed, which growth keeps */
	u8 *oldarr;
	unsigned long nold;
	unsigned long nevacuate;
	unsigned long nnew;		/* a shrink's new buckets */
	bool same_size;
	bool shrink;
	bool fresh;			/* the shrink's new array is not there yet */
	unsigned int ntbl;		/* out: tables needed */
	unsigned long novf;		/* out: overflow buckets needed */
};

/* Old bucket @i is evacuated, or will be by the work planned before. */
static bool th_plan_evacuated(struct tophash_map *m, struct th_grow_plan *p,
			      unsigned long i, unsigned long a, unsigned long b)
{
	return i == a || i == b || th_evacuated(th_bucket(m, p->oldarr, i));
}

/* th_advance_mark() from @nv, with old buckets @a and @b evacuated. */
static unsigned long th_plan_advance(struct tophash_map *m,
				     struct th_grow_plan *p, unsigned long nv,
				     unsigned long a, unsigned long b)
{
	unsigned long stop;

	nv++;
	stop = min(nv + TH_EVAC_SCAN, p->nold);
	while (nv != stop && th_plan_evacuated(m, p, nv, a, b))
		nv++;
	return nv;
}

/*
 * Count old bucket @i's live entries by side into @n; its overflow needs.
 * Only a doubling splits by hash, and only a chain longer than its primary
 * bucket can need an overflow bucket on either side: a one-bucket chain
 * needs neither hashing nor counting (@n is left 0, 0), unless @split asks
 * for the sides of a full one (the caller inserts behind them: its chain
 * is full when all 8 went to its side).
 */
static unsigned long th_plan_evacuate(struct tophash_map *m,
				      struct th_grow_plan *p, unsigned long i,
				      unsigned long *n, bool split)
{
	struct th_shape sh = TH_SHAPE(m);
	u8 *head = th_bucket(m, p->oldarr, i);
	bool hash = !p->same_size && !p->shrink;
	unsigned int j;
	u8 *b;

	n[0] = 0;
	n[1] = 0;
	if (hash && !th_overflow(m, head) &&
	    (!split || th_empty_slots(th_tophash_word(head))))
		return 0;
	for (b = head; b; b = th_overflow(m, b))
		for (j = 0; j < TH_SLOTS; j++)
			if (!th_is_empty(b[j]))
				n[hash &&
				  (th_hash_sh(m, sh, p->t, th_key(m, b, j)) &
				   p->nold)]++;
	return th_ovf_needed(n[0]) + th_ovf_needed(n[1]);
}

/*
 * A shrink's new chain as an append sees it: @free slots from its first
 * emptyRest on (th_evac_append_at()), @empty slots an insert may take.
 */
struct th_plan_chain {
	unsigned long free;
	unsigned long empty;
};

/* New chain @j as it is now (empty when the shrink is not started). */
static void th_plan_chain_now(struct tophash_map *m, struct th_grow_plan *p,
			      unsigned long j, struct th_plan_chain *c)
{
	struct th_evac_dst d;
	unsigned int i;
	u8 *b;

	c->free = TH_SLOTS;
	c->empty = TH_SLOTS;
	if (p->fresh)
		return;
	d.b = th_bucket(m, p->t->buckets, j);
	c->free = th_evac_append_at(m, &d);
	c->empty = 0;
	for (b = th_bucket(m, p->t->buckets, j); b; b = th_overflow(m, b))
		for (i = 0; i < TH_SLOTS; i++)
			c->empty += b[i] == TOPHASH_EMPTY_ONE ||
				    b[i] == TOPHASH_EMPTY_REST;
}

/*
 * Append @n entries to @c as th_evacuate_sh() does in a shrink (at the
 * first emptyRest, new buckets behind a full chain); returns the overflow
 * buckets that takes, exactly th_evac_dst_init()'s count.
 */
static unsigned long th_plan_append(struct th_plan_chain *c, unsigned long n)
{
	unsigned long k;

	if (n <= c->free) {
		c->free -= n;
		c->empty -= n;
		return 0;
	}
	k = DIV_ROUND_UP(n - c->free, TH_SLOTS);
	c->empty -= c->free;
	c->free = k * TH_SLOTS - (n - c->free);
	c->empty += c->free;
	return k;
}

/* Live entries of old bucket @i. */
static unsigned long th_plan_count(struct tophash_map *m,
				   struct th_grow_plan *p, unsigned long i)
{
	unsigned long n[2];

	th_plan_evacuate(m, p, i, n, false);
	return n[0] + n[1];
}

/*
 * New chain @j once the evacuations planned before (of old buckets @a and
 * @b; ULONG_MAX: none) that go to it have appended there.
 */
static void th_plan_chain_after(struct tophash_map *m, struct th_grow_plan *p,
				unsigned long j, unsigned long a,
				unsigned long b, struct th_plan_chain *c)
{
	th_plan_chain_now(m, p, j, c);
	if (a != ULONG_MAX && (a & (p->nnew - 1)) == j)
		th_plan_append(c, th_plan_count(m, p, a));
	if (b != ULONG_MAX && (b & (p->nnew - 1)) == j)
		th_plan_append(c, th_plan_count(m, p, b));
}

/*
 * The overflow buckets evacuating old bucket @i takes, after the planned
 * evacuation of old bucket @before (ULONG_MAX: none), which in a shrink
 * may have appended to the same new chain.
 */
static unsigned long th_plan_evac_one(struct tophash_map *m,
				      struct th_grow_plan *p, unsigned long i,
				      unsigned long before)
{
	struct th_plan_chain c;
	unsigned long n[2];

	if (!p->shrink)
		return th_plan_evacuate(m, p, i, n, false);
	th_plan_chain_after(m, p, i & (p->nnew - 1), before, ULONG_MAX, &c);
	return th_plan_append(&c, th_plan_count(m, p, i));
}

/* A chain without an empty slot: an insert into it needs a new bucket. */
static bool th_chain_full(struct tophash_map *m, u8 *b)
{
	unsigned int j;

	for (; b; b = th_overflow(m, b))
		for (j = 0; j < TH_SLOTS; j++)
			if (th_is_empty(b[j]))
				return false;
	return true;
}

/*
 * What th_grow_work() for a key of @hash allocates, exactly as it will run
 * it: the overflow buckets of its (at most two) evacuations and the table
 * of a growth it completes; with @insert, the overflow bucket an insert of
 * the key needs after it (the key's chain then full). Adds to p->ntbl and
 * p->novf; changes nothing.
 */
static noinline void th_plan_grow_work(struct tophash_map *m,
				       struct th_grow_plan *p, u64 hash,
				       bool insert)
{
	unsigned long old = hash & (p->nold - 1), nv = p->nevacuate;
	unsigned long first = ULONG_MAX, second = ULONG_MAX, n[2], nins = 0;
	int y = !p->same_size && !p->shrink && (hash & p->nold);
	struct th_plan_chain c;
	bool fresh = false;

	if (!th_evacuated(th_bucket(m, p->oldarr, old))) {
		if (p->shrink) {
			p->novf += th_plan_evac_one(m, p, old, ULONG_MAX);
		} else {
			/* nins matters only as a multiple of 8 */
			p->novf += th_plan_evacuate(m, p, old, n, insert);
			nins = n[y];
		}
		fresh = true;
		first = old;
	}
	if (old == nv)
		nv = th_plan_advance(m, p, nv, old, second);
	if (nv < p->nold) {
		second = nv;
		if (!th_plan_evacuated(m, p, second, old, ULONG_MAX))
			p->novf += th_plan_evac_one(m, p, second, first);
		else
			second = ULONG_MAX;
		nv = th_plan_advance(m, p, nv, old, second);
	}
	if (nv == p->nold)
		p->ntbl++;
	if (!insert)
		return;
	/*
	 * A shrink's chain: as it is, with what the planned evacuations
	 * append to it. A growth's evacuation packs the chain from slot 0:
	 * full when it filled its last bucket; a chain evacuated before is as
	 * it is now.
	 */
	if (p->shrink) {
		th_plan_chain_after(m, p, hash & (p->nnew - 1), first, second,
				    &c);
		p->novf += !c.empty;
	} else if (fresh) {
		p->novf += nins && !(nins % TH_SLOTS);
	} else {
		p->novf += th_chain_full(m, th_bucket(m, p->t->buckets,
						      hash & p->t->mask));
	}
}

/* A growth in progress, as th_plan_grow_work() and the finisher see it. */
static void th_plan_init(struct tophash_map *m, struct th_grow_plan *p)
{
	struct tophash_table *t = th_tbl(m);

	*p = (struct th_grow_plan){
		.t = t, .oldarr = t->oldbuckets, .nold = th_noldbuckets(t),
		.nevacuate = m->nevacuate, .nnew = th_nbuckets(t->B),
		.same_size = t->same_size, .shrink = t->shrink,
	};
}

/* Reserve what growth work (and an insert after it) for @hash allocates. */
static noinline int th_reserve_grow_work(struct tophash_map *m, u64 hash,
					 bool insert)
{
	struct th_grow_plan p;

	th_plan_init(m, &p);
	th_plan_grow_work(m, &p, hash, insert);
	return th_reserve_fill(m, p.ntbl, false, 0, p.novf);
}

/*
 * Reserve what an insert of @hash that starts a growth allocates: the new
 * table and array, then the growth work and the insert on the new table.
 */
static noinline int th_reserve_grow_start(struct tophash_map *m, u64 hash,
					  bool bigger)
{
	struct tophash_table *t = th_tbl(m);
	struct th_grow_plan p = {
		.t = t, .oldarr = t->buckets, .nold = th_nbuckets(t->B),
		.nevacuate = 0, .same_size = !bigger, .ntbl = 1,
	};

	th_plan_grow_work(m, &p, hash, true);
	return th_reserve_fill(m, p.ntbl, true, t->B + bigger, p.novf);
}

/*
 * In a finisher step from p->nevacuate: the other old bucket of old bucket
 * @i's new chain when the step evacuates it before @i (ULONG_MAX if not).
 * The step evacuates every old bucket it passes that is not evacuated yet.
 */
static unsigned long th_plan_partner(struct tophash_map *m,
				     struct th_grow_plan *p, unsigned long i)
{
	if (!p->shrink || i < p->nnew || i - p->nnew < p->nevacuate ||
	    th_evacuated(th_bucket(m, p->oldarr, i - p->nnew)))
		return ULONG_MAX;
	return i - p->nnew;
}

/*
 * Reserve what th_finish_locked() allocates in a step of up to @max old
 * buckets: with @start, the shrink it starts first (a table, an array of
 * B - 1, its evacuation from old bucket 0); the overflow buckets of the
 * evacuations, exactly as it will run them; the table of the completion.
 */
static noinline int th_reserve_finish(struct tophash_map *m, unsigned int max,
				      bool start)
{
	struct tophash_table *t = th_tbl(m);
	struct th_grow_plan p;
	unsigned long nv;
	unsigned int n;

	if (start)
		p = (struct th_grow_plan){
			.t = t, .oldarr = t->buckets, .nold = th_nbuckets(t->B),
			.nnew = th_nbuckets(t->B - 1), .shrink = true,
			.fresh = true, .ntbl = 1,
		};
	else
		th_plan_init(m, &p);
	for (n = 0, nv = p.nevacuate; n < max && nv < p.nold; n++) {
		if (!th_evacuated(th_bucket(m, p.oldarr, nv)))
			p.novf += th_plan_evac_one(m, &p, nv,
						   th_plan_partner(m, &p, nv));
		nv = th_plan_advance(m, &p, nv, ULONG_MAX, ULONG_MAX);
	}
	if (nv == p.nold)
		p.ntbl++;
	return th_reserve_fill(m, p.ntbl, start, t->B - start, p.novf);
}

/*
 * Go's growWork(): evacuate the old bucket the key of @hash is in, then one
 * more at nevacuate to keep growth moving; when every old bucket is
 * evacuated, finish the growth. In a shrink the key's new bucket j also
 * takes old bucket j + 2^B (or j): that one cannot hold the key, and its
 * entries are appended behind whatever the writers leave in bucket j.
 */
static int th_grow_work(struct tophash_map *m, u64 hash)
{
	struct tophash_table *t = th_tbl(m);
	unsigned long nold = th_noldbuckets(t);
	unsigned long old = hash & (nold - 1);
	int err;

	m->evac_writes++;
	err = th_evacuate(m, t, old);
	if (err)
		return err;
	if (old == m->nevacuate)
		th_advance_mark(m, t);
	if (m->nevacuate < nold) {
		err = th_evacuate(m, t, m->nevacuate);
		if (err)
			return err;
		th_advance_mark(m, t);
	}
	if (m->nevacuate == nold)
		return th_grow_done(m, t);
	return 0;
}

/* Let the background finisher look at @m after TH_FINISH_DELAY. */
static void th_finish_kick(struct tophash_map *m)
{
	m->finish_seen = m->evac_writes;
	/* A no-op while it is queued: it re-queues itself while work is left. */
	schedule_delayed_work(&m->finish, TH_FINISH_DELAY);
}

/*
 * Go's hashGrow(): double B when over the load factor, else a same-size grow
 * to shed overflow buckets; or (@kind TOPHASH_GROW_SHRINK) halve B. The new
 * table is published with the current buckets as oldbuckets; evacuation
 * then runs incrementally.
 */
static int th_grow_start_kind(struct tophash_map *m, u32 kind)
{
	struct tophash_table *t = th_tbl(m);
	u64 before = th_bytes_in_use(m);
	struct tophash_table *nt;

	nt = th_alloc_table_buckets(m, kind == TOPHASH_GROW_DOUBLE ? t->B + 1 :
				    kind == TOPHASH_GROW_SHRINK ? t->B - 1 : t->B);
	if (!nt)
		return -ENOMEM;
	nt->same_size = kind == TOPHASH_GROW_SAME_SIZE;
	nt->shrink = kind == TOPHASH_GROW_SHRINK;
	nt->oldB = t->B;
	nt->seed = t->seed;
	nt->oldbuckets = t->buckets;
	nt->gen = ++m->generation;
	nt->oldgen = t->gen;
	trace_tophash_grow_start(m->id, nt->oldgen, nt->gen, nt->B,
				 nt->same_size, m->count, m->noverflow, kind,
				 before);
	m->noldoverflow = m->noverflow;
	m->noverflow = 0;
	m->nevacuate = 0;
	th_replace_table(m, t, nt);
	th_finish_kick(m);
	return 0;
}

static int th_grow_start(struct tophash_map *m)
{
	struct tophash_table *t = th_tbl(m);

	return th_grow_start_kind(m, th_over_load_factor(m->count + 1, t->B) ?
				  TOPHASH_GROW_DOUBLE : TOPHASH_GROW_SAME_SIZE);
}

/*
 * TOPHASH_F_SHRINK's trigger (see the uapi header): nothing is evacuating,
 * B is above the size hint's, and the entries fill less than shrink_pct
 * percent of the primary buckets' slots.
 */
static bool th_shrink_due(const struct tophash_map *m,
			  const struct tophash_table *t)
{
	return m->shrink_pct && !t->oldbuckets && t->B > m->min_B &&
	       m->count * 100 < (u64)m->shrink_pct * TH_SLOTS * th_nbuckets(t->B);
}

/*
 * The assign tracepoint, out of line: of the caller's state it takes what the
 * caller keeps anyway (the key, the slot) and finds the rest again itself.
 */
static noinline void th_trace_assign(struct tophash_map *m, const void *key,
				     u8 *b, unsigned int i, u32 kind)
{
	struct tophash_table *t = th_tbl(m);
	u64 hash = th_hash_sh(m, TH_SHAPE(m), t, key);
	u8 *head = th_bucket(m, t->buckets, hash & t->mask);

	trace_tophash_assign(m->id, t->gen, hash & t->mask,
			     th_chain_depth(m, head, b), i, th_top(hash), kind,
			     !!t->oldbuckets, m->count);
}

/* Go's mapassign() after the checks; called with m->lock held. */
static __always_inline int th_assign(struct tophash_map *m, struct th_shape sh,
				     const void *key, const void *val, u64 hash)
{
	u32 ins_i = 0, kind;
	struct tophash_table *t;
	u64 w, match, empty;
	unsigned long bucket;
	u8 *head, *b, *last, *ins;
	bool grew = false;
	unsigned int i;
	u8 top;
	int err;

again:
	/* @hash stays valid: growth keeps the seed, and only a delete re-draws it. */
	t = th_tbl(m);
	top = th_top(hash);
	bucket = hash & t->mask;
	if (t->oldbuckets) {
		/* Reserved already when this write started the growth. */
		if (!grew) {
			err = th_reserve_grow_work(m, hash, true);
			if (err)
				return err;
		}
		grew = true;
		err = th_grow_work(m, hash);
		if (err)
			goto out;
		t = th_tbl(m);
	}
	ins = NULL;
	last = NULL;
	head = th_bucket_sh(sh, t->buckets, bucket);
	for (b = head; b; b = th_next(m, sh, b)) {
		last = b;
		w = th_tophash_word(b);
		for (match = th_bytes_eq(w, top); match; match &= match - 1) {
			i = th_first_slot(match);
			if (!th_key_equal(sh, th_key_sh(sh, b, i), key))
				continue;
			th_overwrite(m, bucket, th_val_sh(sh, b, i), val, sh.vs);
			if (th_trace_enabled(tophash_assign))
				th_trace_assign(m, key, b, i,
						TOPHASH_ASSIGN_UPDATE);
			err = 0;
			goto out;
		}
		/* The first empty slot of the chain takes a new key. */
		/* Only the first empty slot is used: exact in th_empty_slots(). */
		empty = th_empty_slots(w);
		if (empty && !ins) {
			ins = b;
			ins_i = th_first_slot(empty);
		}
		/* An emptyRest: nothing follows it in the chain. */
		if (th_rest_slots(w))
			break;
	}

	/*
	 * A write that did growth work starts no growth: what it reserved
	 * covered only that work and its insert.
	 */
	if (!grew && !t->oldbuckets &&
	    (th_over_load_factor(m->count + 1, t->B) ||
	     th_too_many_overflow(m->noverflow, t->B))) {
		err = th_reserve_grow_start(m, hash,
					    th_over_load_factor(m->count + 1, t->B));
		if (err)
			return err;
		grew = true;
		err = th_grow_start(m);
		if (err)
			goto out;
		goto again;
	}
	if (ins) {
		kind = ins[ins_i] == TOPHASH_EMPTY_REST ?
		       TOPHASH_ASSIGN_FRESH : TOPHASH_ASSIGN_REUSE;
	} else {
		/* The whole chain is full: @last is its tail. */
		ins = th_alloc_overflow(m);
		err = -ENOMEM;
		if (!ins)
			goto out;
		th_link_overflow(m, last, ins);
		m->noverflow++;
		ins_i = 0;
		kind = TOPHASH_ASSIGN_OVERFLOW;
	}
	/*
	 * The slot is empty: a reader either sees it empty or, through the
	 * release, sees it full with this key and value. A reader that read
	 * the slot's old tophash before the delete that emptied it fails its
	 * seqcount check, which that delete bumped.
	 */
	memcpy(th_key_sh(sh, ins, ins_i), key, sh.ks);
	memcpy(th_val_sh(sh, ins, ins_i), val, sh.vs);
	th_publish_slot(ins, ins_i, top);
	m->count++;
	if (th_trace_enabled(tophash_assign))
		th_trace_assign(m, key, ins, ins_i, kind);
	err = 0;
out:
	th_reserve_drop(m);
	return err;
}

/* tophash_update() for the shape @sh, under m->lock. */
static __always_inline int th_update_sh(struct tophash_map *m,
					struct th_shape sh, const void *key,
					const void *val, u32 flags)
{
	struct tophash_table *t = th_tbl(m);
	u64 hash = th_hash_sh(m, sh, t, key);
	unsigned int slot;
	bool present;

	th_prefetch_buckets(sh, t, hash);
	/*
	 * Below max_entries, an upsert needs no search of its own: th_assign()
	 * updates a present key and inserts a missing one.
	 */
	if (flags == TOPHASH_ANY && m->count < m->max_entries)
		return th_assign(m, sh, key, val, hash);
	present = th_find(m, sh, t, key, hash, &slot);
	if (flags == TOPHASH_NOEXIST && present)
		return -EEXIST;
	if (flags == TOPHASH_EXIST && !present)
		return -ENOENT;
	if (!present && m->count >= m->max_entries)
		return -E2BIG;
	return th_assign(m, sh, key, val, hash);
}

/**
 * tophash_update() - insert or update a key
 * @m: a created map
 * @key: key_size bytes
 * @val: value_size bytes
 * @flags: TOPHASH_ANY, TOPHASH_NOEXIST or TOPHASH_EXIST
 *
 * Context: process context, may sleep; takes m->lock.
 * Return: 0; -EEXIST (NOEXIST, key present), -ENOENT (EXIST, key missing),
 *	-E2BIG (new key, map holds max_entries), -ENOMEM. On error the map is
 *	unchanged: contents, growth progress and bytes (what the write may
 *	allocate is reserved before it changes anything, th_reserve_fill()).
 */
int tophash_update(struct tophash_map *m, const void *key, const void *val,
		   u32 flags)
{
	int err;

	mutex_lock(&m->lock);
	err = TH_BY_SHAPE(m, th_update_sh, key, val, flags);
	mutex_unlock(&m->lock);
	return err;
}
EXPORT_SYMBOL_GPL(tophash_update);

/* The readers' tophash loads; pairs are named at the call sites. */
static inline u8 th_load_acquire(const u8 *p)
{
#ifdef TH_WEAKEN_SLOT_ACQUIRE
	return READ_ONCE(*p);
#else
	/* Pairs with th_publish_slot() and th_mark_evacuated(). */
	return smp_load_acquire(p);
#endif
}

/* An old bucket whose slot 0 is marked has its whole chain in the new array. */
static inline bool th_evacuated_acquire(const u8 *b)
{
	/* Pairs with the last smp_store_release() in th_evac_mark_chain(). */
	u8 state = th_load_acquire(&b[0]);

	return state > TOPHASH_EMPTY_ONE && state < TOPHASH_MIN_TOPHASH;
}

/* Where a lockless search of one chain ended. */
enum th_chain_result {
	TH_FOUND,	/* the value was copied out */
	TH_MISSING,	/* the key is not in this chain */
	TH_MOVED,	/* an evacuated mark: the chain now lives in a newer array */
	TH_RACED,	/* an in-place overwrite overlapped the copy: search again */
	TH_LONG,	/* the chain goes on, and the caller asked for one bucket */
};

/*
 * Search the chain at @b (primary bucket index @bucket of its array) for
 * @key with tophash @top and copy its value to @val. Lockless: under RCU.
 * Without @whole_chain, stop with TH_LONG where the chain goes on past its
 * primary bucket: the fixed-size paths search one bucket, with no loop to
 * keep registers for, and leave chains to the generic reader.
 */
static __always_inline enum th_chain_result
th_lookup_chain(struct tophash_map *m, struct th_shape sh, u8 *b,
		unsigned long bucket, const void *key, u8 top, void *val,
		bool whole_chain)
{
	seqcount_t *sc = th_seq(m, bucket);
	unsigned int i, seq;
	u8 *head = b;
	u64 w, pick;
	u8 state;

	do {
		/*
		 * Pairs with write_seqcount_begin/end() in th_overwrite() and
		 * th_clear_slot(); taken before the tophash loads so a delete
		 * (and a reuse after it) of a slot we match is always seen.
		 */
		seq = read_seqcount_begin(sc);
		/*
		 * One load picks the slots worth a look: those holding @top,
		 * an empty state or an evacuated mark. It is only a hint
		 * (every picked slot is loaded again with acquire below); a
		 * slot it passes over did not hold @top when it was read, so it
		 * holds no key that stayed present for the whole lookup.
		 */
		w = th_tophash_word(b);
		pick = th_bytes_pick(w, top);
		for (; pick; pick &= pick - 1) {
			i = th_first_slot(pick);
			/*
			 * Pairs with smp_store_release() in th_publish_slot():
			 * a full slot's key and value are visible; and in
			 * th_mark_evacuated(): a marked entry is in the new array.
			 */
			state = th_load_acquire(&b[i]);
			if (state != top) {
				if (state == TOPHASH_EMPTY_REST)
					return TH_MISSING;
				if (state > TOPHASH_EMPTY_ONE &&
				    state < TOPHASH_MIN_TOPHASH)
					return TH_MOVED;
				continue;
			}
			if (!th_key_equal(sh, th_key_sh(sh, b, i), key))
				continue;
			th_copy_val(sh, val, th_val_sh(sh, b, i));
#ifndef TH_WEAKEN_SEQCOUNT
			/* Pairs with write_seqcount_end() in th_overwrite(). */
			if (read_seqcount_retry(sc, seq))
				return TH_RACED;
#endif
			return TH_FOUND;
		}
		b = th_overflow_rcu(sh, b);
		if (!whole_chain && b)
			return TH_LONG;
	} while (b);
	/*
	 * A NULL link may be th_evac_cut_chain() cutting an old chain it has
	 * marked: then the chain lives in the new array.
	 */
#ifndef TH_WEAKEN_OVF_CUT
	/* Pairs with smp_wmb() before the cut in th_evac_cut_chain(). */
	smp_rmb();
	if (th_evacuated_acquire(head))
		return TH_MOVED;
#endif
	return TH_MISSING;
}

/*
 * A search of @t's current array only (not its oldbuckets); @hash is @key's
 * hash under @t's seed. Returns as th_lookup_in(); -EAGAIN also for TH_LONG
 * when @whole_chain is false.
 */
static __always_inline int th_lookup_cur(struct tophash_map *m,
					 struct th_shape sh,
					 struct tophash_table *t, u64 hash,
					 const void *key, void *val,
					 bool whole_chain)
{
	unsigned long bucket = hash & t->mask;
	u8 *b = th_bucket_sh(sh, t->buckets, bucket);
	enum th_chain_result r;

	th_prefetch_bucket(sh, b);
	r = th_lookup_chain(m, sh, b, bucket, key, th_top(hash), val,
			    whole_chain);
	if (r == TH_FOUND)
		return 0;
	if (r == TH_MISSING)
		return -ENOENT;
	/*
	 * TH_MOVED here: a newer table, published before the first mark, is
	 * evacuating @t's array; TH_RACED: a concurrent overwrite; TH_LONG:
	 * a chain the caller leaves to the generic reader.
	 */
	return -EAGAIN;
}

/*
 * th_lookup_in() while @t grows: the old chain first, unless it is marked
 * evacuated. Out of line and generic: growth is a passing state, and the
 * fixed-size paths stay small without it.
 */
static noinline int th_lookup_growing(struct tophash_map *m,
				      struct tophash_table *t, u64 hash,
				      const void *key, void *val)
{
	struct th_shape sh = TH_SHAPE(m);
	unsigned long bucket = hash & (th_noldbuckets(t) - 1);
	u8 *b = th_bucket_sh(sh, t->oldbuckets, bucket);
	enum th_chain_result r;

	if (!th_evacuated_acquire(b)) {
		r = th_lookup_chain(m, sh, b, bucket, key, th_top(hash), val,
				    true);
		if (r == TH_FOUND)
			return 0;
		if (r == TH_MISSING)
			return -ENOENT;
		if (r == TH_RACED)
			return -EAGAIN;
		/* TH_MOVED: the chain is in the new array of @t */
	}
	return th_lookup_cur(m, sh, t, hash, key, val, true);
}

/*
 * One lookup in table @t, @hash being @key's hash under @t's seed: 0,
 * -ENOENT, or -EAGAIN when it has to start over from m->tbl (a newer table
 * is evacuating @t's array, or an in-place overwrite raced with the copy).
 */
static __always_inline int th_lookup_in(struct tophash_map *m,
					struct th_shape sh,
					struct tophash_table *t, u64 hash,
					const void *key, void *val)
{
	if (unlikely(t->oldbuckets))
		return th_lookup_growing(m, t, hash, key, val);
	return th_lookup_cur(m, sh, t, hash, key, val, true);
}

/*
 * tophash_lookup_rcu() on the generic path, and for every map while it
 * grows. Out of line, so that the fixed-size paths keep their registers.
 */
static noinline int th_lookup_rcu_generic(struct tophash_map *m,
					  const void *key, void *val)
{
	struct th_shape sh = TH_SHAPE(m);
	struct tophash_table *t;
	int err;

	for (;;) {
		/* Pairs with rcu_assign_pointer() in th_publish_table(). */
		t = rcu_dereference(m->tbl);
		if (!t)
			return -ENOENT;
		err = th_lookup_in(m, sh, t, th_hash_sh(m, sh, t, key), key, val);
		if (err != -EAGAIN)
			return err;
		cpu_relax();
	}
}

/*
 * tophash_lookup_rcu() on the fixed-size path of @sh: one search of the
 * primary bucket in the current table, a leaf function but for the tail
 * calls that hand a growing map, a chain that goes on, or a search that has
 * to start over, to the generic reader.
 */
static __always_inline int th_lookup_rcu_fixed(struct tophash_map *m,
					       struct th_shape sh,
					       const void *key, void *val)
{
	struct tophash_table *t;
	int err;

	/* Pairs with rcu_assign_pointer() in th_publish_table(). */
	t = rcu_dereference(m->tbl);
	if (!t)
		return -ENOENT;
	if (unlikely(t->oldbuckets))
		return th_lookup_rcu_generic(m, key, val);
	err = th_lookup_cur(m, sh, t, th_hash_sh(m, sh, t, key), key, val,
			    false);
	if (unlikely(err == -EAGAIN))
		return th_lookup_rcu_generic(m, key, val);
	return err;
}

/*
 * tophash_lookup_rcu() for every map but those of the 8-byte path, which
 * it keeps inline: each path has its registers to itself.
 */
static noinline int th_lookup_rcu_other(struct tophash_map *m, const void *key,
					void *val)
{
	if (m->fast == TH_FAST_K16V8)
		return th_lookup_rcu_fixed(m, TH_SHAPE_FIXED(16, 8), key, val);
	if (m->fast == TH_FAST_K4V8)
		return th_lookup_rcu_fixed(m, TH_SHAPE_FIXED(4, 8), key, val);
	if (m->fast == TH_FAST_K64V8)
		return th_lookup_rcu_fixed(m, TH_SHAPE_FIXED(64, 8), key, val);
	return th_lookup_rcu_generic(m, key, val);
}

/**
 * tophash_lookup_rcu() - copy out the value of a key, locklessly
 * @m: a created map
 * @key: key_size bytes
 * @val: receives value_size bytes; may be written even when the key misses
 *
 * Never returns a torn value or another key's value, and finds every key
 * that stays present for the whole call, also while the map grows or is
 * cleared. A value updated during the call may be returned old or new.
 *
 * Context: any context but NMI; the caller holds rcu_read_lock() (or
 * another RCU read-side critical section). Takes no lock.
 * Return: 0 or -ENOENT.
 */
int tophash_lookup_rcu(struct tophash_map *m, const void *key, void *val)
{
	if (likely(m->fast == TH_FAST_K8V8))
		return th_lookup_rcu_fixed(m, TH_SHAPE_FIXED(8, 8), key, val);
	return th_lookup_rcu_other(m, key, val);
}
EXPORT_SYMBOL_GPL(tophash_lookup_rcu);

/**
 * tophash_lookup() - copy out the value of a key, locklessly
 * @m: a created map
 * @key: key_size bytes
 * @val: receives value_size bytes
 *
 * Context: any context but NMI; takes rcu_read_lock() itself.
 * Return: 0 or -ENOENT.
 */
int tophash_lookup(struct tophash_map *m, const void *key, void *val)
{
	int err;

	rcu_read_lock();
	err = tophash_lookup_rcu(m, key, val);
	rcu_read_unlock();
	return err;
}
EXPORT_SYMBOL_GPL(tophash_lookup);

/* Keys a batched lookup hashes and prefetches before it searches any. */
#define TH_BATCH	8

/* tophash_lookup_batch_rcu() for the shape @sh. */
static __always_inline unsigned int
th_lookup_batch_sh(struct tophash_map *m, struct th_shape sh, const void *keys,
		   void *vals, u8 *found, unsigned int n)
{
	struct tophash_table *t;
	unsigned int i, j, k, hits = 0;
	u64 hash[TH_BATCH];
	const u8 *key;
	u8 *val;
	int err;

	for (i = 0; i < n; i += k) {
		k = min_t(unsigned int, n - i, TH_BATCH);
		/* Pairs with rcu_assign_pointer() in th_publish_table(). */
		t = rcu_dereference(m->tbl);
		for (j = 0; t && j < k; j++) {
			hash[j] = th_hash_sh(m, sh, t,
					     (const u8 *)keys + (i + j) * sh.ks);
			if (t->oldbuckets)
				prefetch(th_bucket_sh(sh, t->oldbuckets, hash[j] &
						      (th_noldbuckets(t) - 1)));
			prefetch(th_bucket_sh(sh, t->buckets,
					      hash[j] & t->mask));
		}
		for (j = 0; j < k; j++) {
			key = (const u8 *)keys + (i + j) * sh.ks;
			val = (u8 *)vals + (i + j) * sh.vs;
			err = t ? th_lookup_in(m, sh, t, hash[j], key, val) : -ENOENT;
			if (err == -EAGAIN)
				err = tophash_lookup_rcu(m, key, val);
			found[i + j] = !err;
			hits += !err;
		}
	}
	return hits;
}

/**
 * tophash_lookup_batch_rcu() - look up many keys, overlapping their misses
 * @m: a created map
 * @keys: @n keys of key_size bytes each, back to back
 * @vals: receives value_size bytes for each key, at the key's index; the
 *	bytes of a key that misses may be written too
 * @found: receives 1 for each key found, 0 for each key missing
 * @n: the number of keys
 *
 * Each key gets what tophash_lookup_rcu() gives it. The keys go in groups
 * of TH_BATCH: a group's hashes are computed and its buckets prefetched
 * before any of them is searched, so that their cache misses overlap
 * instead of each lookup waiting for its own.
 *
 * Context: any context but NMI; the caller holds rcu_read_lock(). Takes no
 * lock.
 * Return: the number of keys found.
 */
unsigned int tophash_lookup_batch_rcu(struct tophash_map *m, const void *keys,
				      void *vals, u8 *found, unsigned int n)
{
	return TH_BY_SHAPE(m, th_lookup_batch_sh, keys, vals, found, n);
}
EXPORT_SYMBOL_GPL(tophash_lookup_batch_rcu);

/* The bucket before @b in the chain at @head; @b is not @head. */
static u8 *th_chain_prev(const struct tophash_map *m, u8 *head, const u8 *b)
{
	while (th_overflow(m, head) != b)
		head = th_overflow(m, head);
	return head;
}

/*
 * Go's mapdelete() tail: slot @i of @b was just emptied; if nothing follows
 * it, turn it and the emptyOne slots before it (back to the chain's start
 * at @head) into emptyRest.
 */
static void th_mark_empty_rest(struct tophash_map *m, u8 *head, u8 *b,
			       unsigned int i)
{
	if (i == TH_SLOTS - 1) {
		if (th_overflow(m, b) && th_overflow(m, b)[0] != TOPHASH_EMPTY_REST)
			return;
	} else if (b[i + 1] != TOPHASH_EMPTY_REST) {
		return;
	}
	for (;;) {
		th_set_state(b, i, TOPHASH_EMPTY_REST);
		if (i == 0) {
			if (b == head)
				return;
			b = th_chain_prev(m, head, b);
			i = TH_SLOTS - 1;
		} else {
			i--;
		}
		if (b[i] != TOPHASH_EMPTY_ONE)
			return;
	}
}

/*
 * For the tracepoint only: how many slots th_mark_empty_rest() just turned
 * into emptyRest for the delete at slot @i of @b. Before the delete no slot
 * up to @i was emptyRest (slot @i was live), so they are the emptyRest
 * slots counted back from @i.
 */
static u32 th_empty_rest_made(const struct tophash_map *m, u8 *head, u8 *b,
			      unsigned int i)
{
	u32 n = 0;

	while (b[i] == TOPHASH_EMPTY_REST) {
		n++;
		if (i == 0) {
			if (b == head)
				break;
			b = th_chain_prev(m, head, b);
			i = TH_SLOTS - 1;
		} else {
			i--;
		}
	}
	return n;
}

/* The delete tracepoint, out of line, as th_trace_assign(). */
static noinline void th_trace_delete(struct tophash_map *m, const void *key,
				     u8 *b, unsigned int i)
{
	struct tophash_table *t = th_tbl(m);
	u64 hash = th_hash_sh(m, TH_SHAPE(m), t, key);
	u8 *head = th_bucket(m, t->buckets, hash & t->mask);

	trace_tophash_delete(m->id, t->gen, hash & t->mask,
			     th_chain_depth(m, head, b), i, th_top(hash),
			     th_empty_rest_made(m, head, b, i),
			     !!t->oldbuckets, m->count);
}

/*
 * A delete while the map shrinks: no growth work. The key is cleared where
 * it is, in its old bucket when that is not evacuated yet (the evacuation
 * then drops the slot, as it drops any deleted one) or in the new array.
 * A shrink only gives memory back: inserts (which must evacuate the key's
 * old bucket first, as in a growth) and the background finisher move it
 * on, so that draining a map costs its deletes no more than on a map that
 * never shrinks. Readers search the old chain unless it is marked, so a
 * slot cleared there is seen as a delete is anywhere: through the seqcount
 * stripe of the chain's own bucket index, which th_lookup_chain() takes.
 */
static __always_inline int th_delete_shrinking(struct tophash_map *m,
					       struct th_shape sh,
					       struct tophash_table *t,
					       const void *key, u64 hash)
{
	unsigned long bucket = hash & (th_noldbuckets(t) - 1);
	u8 *head = th_bucket_sh(sh, t->oldbuckets, bucket);
	u64 gen = t->oldgen;
	unsigned int i;
	u8 *b;

	if (th_evacuated(head)) {
		bucket = hash & t->mask;
		head = th_bucket_sh(sh, t->buckets, bucket);
		gen = t->gen;
	}
	b = th_chain_find(m, sh, head, key, th_top(hash), &i);
	if (!b)
		return -ENOENT;
#ifdef TH_WEAKEN_SHRINK_DELETE_STRIPE
	th_clear_slot(m, sh, hash & t->mask, b, i);
#else
	/* Pairs with th_lookup_chain()'s seqcount on this chain's own index. */
	th_clear_slot(m, sh, bucket, b, i);
#endif
	th_mark_empty_rest(m, head, b, i);
	m->count--;
	if (th_trace_enabled(tophash_delete))
		trace_tophash_delete(m->id, gen, bucket,
				     th_chain_depth(m, head, b), i, th_top(hash),
				     th_empty_rest_made(m, head, b, i), 1,
				     m->count);
	/* As th_delete_sh(): an emptied map draws a new seed. */
	if (!m->count)
		th_reseed(t);
	return 0;
}

/* tophash_delete() for the shape @sh, under m->lock. */
static __always_inline int th_delete_sh(struct tophash_map *m,
					struct th_shape sh, const void *key)
{
	struct tophash_table *t = th_tbl(m);
	u64 hash = th_hash_sh(m, sh, t, key);
	unsigned long bucket = hash & t->mask;
	bool growing = !!t->oldbuckets;
	unsigned int i;
	u8 *head, *b;
	int err;

	th_prefetch_buckets(sh, t, hash);
	if (growing && unlikely(t->shrink))
		return th_delete_shrinking(m, sh, t, key, hash);
	if (growing) {
		/* Only a delete that will succeed does growWork. */
		if (!th_find(m, sh, t, key, hash, &i))
			return -ENOENT;
		err = th_reserve_grow_work(m, hash, false);
		if (err)
			return err;
		err = th_grow_work(m, hash);
		th_reserve_drop(m);
		if (err)
			return err;
		t = th_tbl(m);
	}
	head = th_bucket_sh(sh, t->buckets, bucket);
	b = th_chain_find(m, sh, head, key, th_top(hash), &i);
	/* Found before growWork, the key is in the current array after it. */
	if (!b) {
		WARN_ON_ONCE(growing);
		return -ENOENT;
	}
	th_clear_slot(m, sh, bucket, b, i);
	th_mark_empty_rest(m, head, b, i);
	/*
	 * The event first, then the new seed of an emptied map (the event's
	 * helper hashes the key again); tested on each branch, so that a
	 * disabled event keeps the count's decrement a single instruction.
	 */
	if (likely(--m->count)) {
		if (th_trace_enabled(tophash_delete))
			th_trace_delete(m, key, b, i);
		return 0;
	}
	if (th_trace_enabled(tophash_delete))
		th_trace_delete(m, key, b, i);
	th_reseed(t);
	return 0;
}

/*
 * After a delete on a TOPHASH_F_SHRINK map: start a shrink when one is due.
 * The delete has succeeded whatever happens here; a shrink that cannot
 * allocate its table and array changes nothing and is tried again by the
 * next delete or, if none comes, by the finisher.
 */
static noinline void th_maybe_shrink(struct tophash_map *m)
{
	struct tophash_table *t = th_tbl(m);

	if (!th_shrink_due(m, t))
		return;
	/* The half-size table and array, or nothing (the finisher retries). */
	if (th_reserve_fill(m, 1, true, t->B - 1, 0) ||
	    th_grow_start_kind(m, TOPHASH_GROW_SHRINK))
		th_finish_kick(m);
	th_reserve_drop(m);
}

/**
 * tophash_delete() - remove a key
 * @m: a created map
 * @key: key_size bytes
 *
 * The slot becomes emptyOne with its key and value zeroed, then emptyRest
 * when nothing follows it. The seed is re-drawn when the map becomes empty.
 * On a TOPHASH_F_SHRINK map a delete may start a shrink (B -> B-1).
 * During a doubling or same-size growth a delete evacuates first, as Go's
 * does; during a shrink it does no evacuation and allocates nothing: the
 * key is cleared where it is, in its old chain if that is not evacuated.
 *
 * Context: process context, may sleep; takes m->lock.
 * Return: 0, -ENOENT, or -ENOMEM (growth work could not allocate; the map
 *	is unchanged, growth progress included; never during a shrink).
 */
int tophash_delete(struct tophash_map *m, const void *key)
{
	int err;

	mutex_lock(&m->lock);
	err = TH_BY_SHAPE(m, th_delete_sh, key);
	/* Tested here, not in a call: a drain asks after every delete. */
	if (!err && unlikely(m->shrink_pct) && th_shrink_due(m, th_tbl(m)))
		th_maybe_shrink(m);
	mutex_unlock(&m->lock);
	return err;
}
EXPORT_SYMBOL_GPL(tophash_delete);

/**
 * tophash_clear() - empty the map, whatever state it is in
 * @m: a created map
 * @out: receives what was reclaimed (its @size is left alone)
 *
 * Unlike Go's clear, which returns early on an empty map, this always
 * publishes a fresh table of the current B (of the size hint's B on a
 * TOPHASH_F_SHRINK map) with a new seed, no overflow buckets and no growth
 * in progress.
 *
 * Context: process context, may sleep; takes m->lock.
 * Return: 0 or -ENOMEM (the map is unchanged).
 */
int tophash_clear(struct tophash_map *m, struct tophash_clear *out)
{
	struct tophash_table *t, *nt;
	u64 before;
	int err = -ENOMEM;

	mutex_lock(&m->lock);
	t = th_tbl(m);
	before = m->bytes;
	/* A map that shrinks goes back to its size hint's B. */
	nt = th_alloc_table_buckets(m, m->shrink_pct ? m->min_B : t->B);
	if (!nt)
		goto out_unlock;
	get_random_bytes(&nt->seed, sizeof(nt->seed));
	nt->gen = ++m->generation;
	out->entries = m->count;
	out->overflow = m->noverflow + m->noldoverflow;
	out->oldbuckets = t->oldbuckets ? th_noldbuckets(t) : 0;
	th_retire_arrays_with_table(m, t);
	m->bytes -= (sizeof(struct th_ovf_hdr) + m->bucket_size) *
		    (m->noverflow + m->noldoverflow);
	trace_tophash_clear(m->id, t->gen, nt->gen, out->entries, out->overflow,
			    out->oldbuckets, 0);
	m->count = 0;
	m->noverflow = 0;
	m->noldoverflow = 0;
	m->nevacuate = 0;
	th_replace_table(m, t, nt);
	out->bytes = before - m->bytes;
	err = 0;
out_unlock:
	mutex_unlock(&m->lock);
	return err;
}
EXPORT_SYMBOL_GPL(tophash_clear);

/**
 * tophash_info() - a snapshot of the map's shape and counters
 * @m: a created map
 * @info: filled in, but for @size
 *
 * Context: process context; takes m->lock.
 */
void tophash_info(struct tophash_map *m, struct tophash_info *info)
{
	struct tophash_table *t;

	mutex_lock(&m->lock);
	t = th_tbl(m);
	info->id = m->id;
	info->count = m->count;
	info->B = t->B;
	info->flags = 0;
	if (t->oldbuckets)
		info->flags |= TOPHASH_INFO_GROWING;
	if (t->oldbuckets && t->same_size)
		info->flags |= TOPHASH_INFO_SAME_SIZE;
	if (m->flags & TOPHASH_F_IDENTITY_HASH)
		info->flags |= TOPHASH_INFO_IDENTITY;
	if (m->flags & TOPHASH_F_SIPHASH)
		info->flags |= TOPHASH_INFO_SIPHASH;
	if (t->oldbuckets && t->shrink)
		info->flags |= TOPHASH_INFO_SHRINKING;
	if (m->shrink_pct)
		info->flags |= TOPHASH_INFO_SHRINK;
	if (th_shrink_due(m, t))
		info->flags |= TOPHASH_INFO_SHRINK_DUE;
	info->noverflow = m->noverflow;
	info->noldoverflow = m->noldoverflow;
	info->nevacuate = m->nevacuate;
	info->bytes = m->bytes;
	info->key_size = m->key_size;
	info->value_size = m->value_size;
	info->max_entries = m->max_entries;
	info->generation = t->gen;
	mutex_unlock(&m->lock);
}
EXPORT_SYMBOL_GPL(tophash_info);

/*
 * One step of the finisher under m->lock: evacuate up to @max old buckets
 * at nevacuate, and complete the evacuation when none is left; on a map
 * that is not evacuating, start a shrink if one is due (and take its first
 * step). All it allocates is reserved first (th_reserve_finish()): a step
 * that cannot have it changes nothing. Returns 1 while an evacuation is
 * left or a shrink is due, 0 when neither is, -ENOMEM when the step could
 * not allocate.
 */
static int th_finish_locked(struct tophash_map *m, unsigned int max)
{
	struct tophash_table *t = th_tbl(m);
	bool done = false, started = false;
	unsigned int n = 0;
	unsigned long nold;
	u32 kind;

	if (!t->oldbuckets && !th_shrink_due(m, t))
		return 0;
	if (th_reserve_finish(m, max, !t->oldbuckets))
		return -ENOMEM;
	if (!t->oldbuckets) {
		/* From the reserve: cannot fail. */
		if (WARN_ON_ONCE(th_grow_start_kind(m, TOPHASH_GROW_SHRINK))) {
			th_reserve_drop(m);
			return -ENOMEM;
		}
		started = true;
		t = th_tbl(m);
	}
	nold = th_noldbuckets(t);
	kind = th_grow_kind(t);	/* @t is retired when the evacuation completes */
	while (n < max && m->nevacuate < nold &&
	       !th_evacuate(m, t, m->nevacuate)) {
		n++;
		th_advance_mark(m, t);
	}
	if (m->nevacuate == nold)
		done = !th_grow_done(m, t);
	trace_tophash_finish(m->id, th_tbl(m)->gen, n, m->nevacuate, kind, done,
			     started);
	th_reserve_drop(m);
	/*
	 * Work is left while an evacuation is, or when the shrink just done
	 * leaves a map still due the next one: deletes during a shrink start
	 * none, so a drain's later halvings are the finisher's to start.
	 */
	t = th_tbl(m);
	return t->oldbuckets || th_shrink_due(m, t);
}

/**
 * tophash_finish_step() - move an evacuation on without a write, or start
 *	a shrink that is due
 * @m: a created map
 * @max: old buckets to evacuate at most
 *
 * What the background finisher runs once it found the evacuation idle;
 * tests call it directly. Lookups stay lockless and correct throughout:
 * this is the evacuation writes do, under the same lock.
 *
 * A step that cannot allocate what it needs changes nothing (see
 * th_reserve_finish()) and reports work left, to be tried again.
 *
 * Context: process context, may sleep; takes m->lock.
 * Return: true while an evacuation is left or a shrink is due (or a step
 *	could not allocate).
 */
bool tophash_finish_step(struct tophash_map *m, unsigned int max)
{
	bool more = false;

	mutex_lock(&m->lock);
	if (m->created)
		more = th_finish_locked(m, max) != 0;
	m->finish_seen = m->evac_writes;
	mutex_unlock(&m->lock);
	return more;
}
EXPORT_SYMBOL_GPL(tophash_finish_step);

/*
 * The background finisher (rhashtable's deferred worker is the model). In
 * Go a map that stops receiving writes stays mid-growth for ever, both
 * arrays allocated; here an evacuation that no write advanced for
 * TH_FINISH_DELAY is moved on TH_FINISH_STEP old buckets at a time, one
 * step a jiffy, until it completes. While writes do the work it only looks
 * again after each TH_FINISH_DELAY. tophash_map_destroy() cancels it.
 */
static void th_finish_work(struct work_struct *work)
{
	struct tophash_map *m = container_of(to_delayed_work(work),
					     struct tophash_map, finish);
	unsigned long delay = TH_FINISH_DELAY;
	struct mem_cgroup *old;
	bool more = false;
	int err;

	/* A worker is in no task's group: charge the map's creator's. */
	old = set_active_memcg(m->memcg);
	mutex_lock(&m->lock);
	/* READ_ONCE: the debugfs write of the flag; a flag, no order needed. */
	if (m->created && (m->evac_writes != m->finish_seen ||
			   READ_ONCE(tophash_finisher_paused))) {
		/* Writes moved it on since we looked (or a test paused us). */
		more = th_tbl(m)->oldbuckets || th_shrink_due(m, th_tbl(m));
	} else if (m->created) {
		err = th_finish_locked(m, TH_FINISH_STEP);
		more = err != 0;
		/* A step a jiffy; after an -ENOMEM, the next one in a while. */
		if (err > 0)
			delay = 1;
	}
	m->finish_seen = m->evac_writes;
	mutex_unlock(&m->lock);
	set_active_memcg(old);
	if (more)
		schedule_delayed_work(&m->finish, delay);
}

static int th_walk_array(struct tophash_map *m, u8 *arr, unsigned long n,
			 u32 table, tophash_chain_fn fn, void *arg)
{
	unsigned long i;
	u32 depth;
	u8 *b;
	int err;

	for (i = 0; i < n; i++) {
		u8 *head = th_bucket(m, arr, i);

		depth = 0;
		for (b = head; b; b = th_overflow(m, b))
			depth++;
		err = fn(arg, table, i, depth, head);
		if (err)
			return err;
	}
	return 0;
}

/**
 * tophash_walk_layout() - call @fn for every bucket chain, old table first
 * @m: a created map
 * @fn: called under m->lock for each chain
 * @arg: passed to @fn
 * @B: receives the current B
 * @nchains: receives the number of chains
 *
 * Context: process context; takes m->lock, which @fn may not take.
 * Return: 0 or the first non-zero return of @fn.
 */
int tophash_walk_layout(struct tophash_map *m, tophash_chain_fn fn, void *arg,
			u32 *B, u32 *nchains)
{
	struct tophash_table *t;
	int err = 0;

	mutex_lock(&m->lock);
	t = th_tbl(m);
	*B = t->B;
	*nchains = th_nbuckets(t->B);
	if (t->oldbuckets) {
		*nchains += th_noldbuckets(t);
		err = th_walk_array(m, t->oldbuckets, th_noldbuckets(t),
				    TOPHASH_LAYOUT_OLD, fn, arg);
	}
	if (!err)
		err = th_walk_array(m, t->buckets, th_nbuckets(t->B),
				    TOPHASH_LAYOUT_NEW, fn, arg);
	mutex_unlock(&m->lock);
	return err;
}
