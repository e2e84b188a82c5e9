// SPDX-License-Identifier: GPL-2.0
/*
 * The userspace shim behind the headers in shim/: counted and failure-injected
 * allocation, RCU on liburcu with edges ThreadSanitizer can see, the
 * memcpy rule of linux/string.h, SipHash-2-4, random bytes, jitter.
 *
 * Only writers (threads holding a shim mutex) and the test's own thread
 * take this file's locks: a lockless reader never does, so the shim adds
 * no happens-before edge between a reader and the writer beyond the ones
 * the RCU emulation documents.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sched.h>
#include <unistd.h>
#include <linux/rcupdate.h>
#include <linux/siphash.h>
#include <linux/seqlock.h>
#include <linux/tracepoint.h>
#include "th_shim.h"

typedef uint64_t __attribute__((may_alias)) th_u64a;

static unsigned long th_errors;

void th_shim_error(const char *what, const char *file, int line)
{
	__atomic_fetch_add(&th_errors, 1, __ATOMIC_RELAXED);
	fprintf(stderr, "shim: error: %s at %s:%d\n", what, file, line);
}

unsigned long th_shim_errors(void)
{
	return __atomic_load_n(&th_errors, __ATOMIC_RELAXED);
}

static __thread char th_self_tag;

unsigned long th_shim_self(void)
{
	return (unsigned long)&th_self_tag;
}

__thread int th_shim_locks_held;
__thread int th_shim_write_section;

/* ------------------------------------------------------------------ */
/* Reused slot memory: ranges a write section zeroed (see string.h).  */

struct th_range {
	uintptr_t start;
	size_t len;
};

static pthread_mutex_t th_reused_lock = PTHREAD_MUTEX_INITIALIZER;
static struct th_range *th_reused;
static size_t th_nreused, th_reused_cap;

/* Index of the first range starting at or after @addr. */
static size_t th_reused_lower(uintptr_t addr)
{
	size_t lo = 0, hi = th_nreused;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (th_reused[mid].start < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void th_reused_add(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;
	size_t i;

	pthread_mutex_lock(&th_reused_lock);
	i = th_reused_lower(a);
	if (i < th_nreused && th_reused[i].start == a) {
		if (th_reused[i].len < len)
			th_reused[i].len = len;
		goto out;
	}
	if (th_nreused == th_reused_cap) {
		th_reused_cap = th_reused_cap ? 2 * th_reused_cap : 256;
		th_reused = realloc(th_reused, th_reused_cap * sizeof(*th_reused));
		if (!th_reused)
			abort();
	}
	memmove(&th_reused[i + 1], &th_reused[i],
		(th_nreused - i) * sizeof(*th_reused));
	th_reused[i].start = a;
	th_reused[i].len = len;
	th_nreused++;
out:
	pthread_mutex_unlock(&th_reused_lock);
}

static bool th_reused_has(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;
	bool ret = false;
	size_t i;

	pthread_mutex_lock(&th_reused_lock);
	i = th_reused_lower(a + 1);	/* first range starting after @a */
	if (i > 0) {
		struct th_range *r = &th_reused[i - 1];

		ret = a + len <= r->start + r->len;
	}
	pthread_mutex_unlock(&th_reused_lock);
	return ret;
}

/* bench/native (TH_SHIM_BENCH): memset is libc's, no range is recorded. */
#ifdef TH_SHIM_BENCH
#define TH_SHIM_TRACK_REUSE	0
#else
#define TH_SHIM_TRACK_REUSE	1
#endif

/* Memory is freed: a later allocation there is fresh again. */
static void th_reused_forget(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;
	size_t i, j;

	pthread_mutex_lock(&th_reused_lock);
	i = th_reused_lower(a);
	j = th_reused_lower(a + len);
	if (j > i) {
		memmove(&th_reused[i], &th_reused[j],
			(th_nreused - j) * sizeof(*th_reused));
		th_nreused -= j - i;
	}
	pthread_mutex_unlock(&th_reused_lock);
}

/* ------------------------------------------------------------------ */
/* memcpy / memset / memcmp of the core                               */

/*
 * Copy word by word (byte by byte when unaligned); with @jitter, between
 * words too, so that an in-place overwrite and a reader's copy of the same
 * bytes overlap often enough for a torn copy to show when unprotected.
 */
static void th_copy(uint8_t *d, const uint8_t *s, size_t n, bool atomic,
		    bool jitter)
{
	if (!(((uintptr_t)d | (uintptr_t)s) & 7)) {
		for (; n >= 8; d += 8, s += 8, n -= 8) {
			uint64_t v = __atomic_load_n((const th_u64a *)s,
						     __ATOMIC_RELAXED);

			if (atomic)
				__atomic_store_n((th_u64a *)d, v, __ATOMIC_RELAXED);
			else
				*(th_u64a *)d = v;
			if (jitter)
				th_shim_jitter();
		}
	}
	for (; n; d++, s++, n--) {
		uint8_t v = __atomic_load_n(s, __ATOMIC_RELAXED);

		if (atomic)
			__atomic_store_n(d, v, __ATOMIC_RELAXED);
		else
			*d = v;
	}
}

/* Writers copy into the map; readers (no lock held) copy out of it. */
void *th_shim_memcpy(void *dst, const void *src, size_t n)
{
	bool atomic = th_shim_write_section ||
		      (th_shim_locks_held && th_reused_has(dst, n));

	th_copy(dst, src, n, atomic, th_shim_write_section || !th_shim_locks_held);
	if (th_shim_locks_held)
		th_shim_jitter();
	return dst;
}

void *th_shim_memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;
	size_t i;

	if (th_shim_write_section) {
		for (i = 0; i < n; i++) {
			__atomic_store_n(&d[i], (uint8_t)c, __ATOMIC_RELAXED);
			if (i % 8 == 7)
				th_shim_jitter();
		}
		if (th_shim_locks_held)
			th_reused_add(dst, n);
	} else {
		memset(dst, c, n);	/* libc's: this file has no shim macros */
	}
	return dst;
}

static int th_byte_diff(uint64_t a, uint64_t b)
{
	int k;

	for (k = 0; k < 8; k++) {	/* little endian: low byte first */
		int x = (a >> (8 * k)) & 0xff, y = (b >> (8 * k)) & 0xff;

		if (x != y)
			return x - y;
	}
	return 0;
}

int th_shim_memcmp(const void *pa, const void *pb, size_t n)
{
	const uint8_t *a = pa, *b = pb;

	if (!(((uintptr_t)a | (uintptr_t)b) & 7)) {
		for (; n >= 8; a += 8, b += 8, n -= 8) {
			uint64_t x = __atomic_load_n((const th_u64a *)a, __ATOMIC_RELAXED);
			uint64_t y = __atomic_load_n((const th_u64a *)b, __ATOMIC_RELAXED);

			if (x != y)
				return th_byte_diff(x, y);
		}
	}
	for (; n; a++, b++, n--) {
		int x = __atomic_load_n(a, __ATOMIC_RELAXED);
		int y = __atomic_load_n(b, __ATOMIC_RELAXED);

		if (x != y)
			return x - y;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Jitter and pause hooks                                             */

unsigned int th_shim_jitter_mask;
void (*th_shim_hook_deref)(const void *addr);
void (*th_shim_hook_acquire)(const void *addr);

static __thread uint64_t th_jitter_state;

static uint64_t th_xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

void th_shim_jitter_slow(void)
{
	uint64_t r;
	int i;

	if (!th_jitter_state)
		th_jitter_state = th_shim_self() | 1;
	r = th_xorshift(&th_jitter_state);
	if (r & th_shim_jitter_mask)
		return;
	if (r & (1ULL << 40)) {
		sched_yield();
		return;
	}
	for (i = 0; i < (int)((r >> 48) & 255); i++)
		__builtin_ia32_pause();
}

/* ------------------------------------------------------------------ */
/* Allocation                                                         */

#define TH_ALLOC_MAGIC	0x7468616c6c6f6321ULL
#define TH_FREED_MAGIC	0x7468667265656421ULL

struct th_alloc_hdr {
	size_t size;
	uint64_t magic;
};

static long th_live_allocs, th_live_bytes;
static unsigned long th_alloc_calls, th_alloc_failures;
static unsigned long th_fail_at;	/* fail when th_alloc_calls reaches it */
static pthread_mutex_t th_fail_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t th_fail_ppm;
static uint64_t th_fail_state;
static bool th_leak_check = true;
static size_t th_failed_size;

static bool th_should_fail(void)
{
	unsigned long call = __atomic_add_fetch(&th_alloc_calls, 1, __ATOMIC_RELAXED);
	bool fail = false;

	if (call == __atomic_load_n(&th_fail_at, __ATOMIC_RELAXED))
		fail = true;
	if (__atomic_load_n(&th_fail_ppm, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&th_fail_lock);
		if (th_xorshift(&th_fail_state) % 1000000 < th_fail_ppm)
			fail = true;
		pthread_mutex_unlock(&th_fail_lock);
	}
	if (fail)
		__atomic_fetch_add(&th_alloc_failures, 1, __ATOMIC_RELAXED);
	return fail;
}

void *th_shim_alloc(size_t size, bool zero)
{
	struct th_alloc_hdr *h;

	if (th_should_fail()) {
		__atomic_store_n(&th_failed_size, size, __ATOMIC_RELAXED);
		return NULL;
	}
#ifdef TH_SHIM_BENCH
	/* bench/native: zeroed memory the way a userspace program gets it. */
	h = zero ? calloc(1, sizeof(*h) + size) : malloc(sizeof(*h) + size);
	if (!h)
		return NULL;
	zero = false;
#else
	h = malloc(sizeof(*h) + size);
	if (!h)
		return NULL;
#endif
	h->size = size;
	h->magic = TH_ALLOC_MAGIC;
	if (zero)
		memset(h + 1, 0, size);
	__atomic_fetch_add(&th_live_allocs, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&th_live_bytes, (long)size, __ATOMIC_RELAXED);
	return h + 1;
}

#ifdef TH_SHIM_BENCH
#include <sys/mman.h>

#define TH_HUGE		(2UL << 20)
#define TH_HUGE_MAX	64

/* The huge areas handed out, so that th_shim_kvfree() knows their length. */
static struct {
	void *p;
	size_t len;
} th_huge[TH_HUGE_MAX];
static pthread_mutex_t th_huge_lock = PTHREAD_MUTEX_INITIALIZER;

/* From this size on, bucket arrays are mappings of their own (see below). */
#define TH_BIG		(64UL << 10)

void *th_shim_kvzalloc(size_t size)
{
	size_t align = size < TH_HUGE ? 4096 : TH_HUGE;
	size_t len = (size + align - 1) & ~(align - 1), off;
	uintptr_t base, p;
	int i;

	if (size < TH_BIG)
		return th_shim_alloc(size, true);
	base = (uintptr_t)mmap(NULL, len + align, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if ((void *)base == MAP_FAILED)
		return NULL;
	/* Keep exactly [p, p + len), p aligned. */
	p = (base + align - 1) & ~(align - 1);
	if (p > base)
		munmap((void *)base, p - base);
	if (base + len + align > p + len)
		munmap((void *)(p + len), base + len + align - (p + len));
	if (align == TH_HUGE)
		madvise((void *)p, len, MADV_HUGEPAGE);
	/*
	 * The kernel's allocator hands out memory mapped and zeroed: the
	 * zeroing is paid here, at allocation, as there, and no page fault
	 * comes later (a fault traps per 4 KiB page, which the kernel's
	 * vmalloc and page allocator never do).
	 */
	if (madvise((void *)p, len, MADV_POPULATE_WRITE))
		for (off = 0; off < len; off += 4096)
			((volatile char *)p)[off] = 0;
	pthread_mutex_lock(&th_huge_lock);
	for (i = 0; i < TH_HUGE_MAX && th_huge[i].p; i++)
		;
	if (i < TH_HUGE_MAX) {
		th_huge[i].p = (void *)p;
		th_huge[i].len = len;
	}
	pthread_mutex_unlock(&th_huge_lock);
	if (i == TH_HUGE_MAX) {
		munmap((void *)p, len);
		return NULL;
	}
	return (void *)p;
}

void th_shim_kvfree(void *p)
{
	int i;

	pthread_mutex_lock(&th_huge_lock);
	for (i = 0; i < TH_HUGE_MAX && th_huge[i].p != p; i++)
		;
	if (p && i < TH_HUGE_MAX) {
		munmap(p, th_huge[i].len);
		th_huge[i].p = NULL;
		pthread_mutex_unlock(&th_huge_lock);
		return;
	}
	pthread_mutex_unlock(&th_huge_lock);
	th_shim_free(p);
}
#endif

void th_shim_free(void *p)
{
	struct th_alloc_hdr *h;

	if (!p)
		return;
	h = (struct th_alloc_hdr *)p - 1;
	if (h->magic != TH_ALLOC_MAGIC) {
		th_shim_error(h->magic == TH_FREED_MAGIC ? "double kfree" :
			      "kfree of a pointer kmalloc did not return",
			      __FILE__, __LINE__);
		return;
	}
	h->magic = TH_FREED_MAGIC;
	if (TH_SHIM_TRACK_REUSE)
		th_reused_forget(p, h->size);
	__atomic_fetch_sub(&th_live_allocs, 1, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&th_live_bytes, (long)h->size, __ATOMIC_RELAXED);
	free(h);
}

long th_shim_live_allocs(void)
{
	return __atomic_load_n(&th_live_allocs, __ATOMIC_RELAXED);
}

long th_shim_live_bytes(void)
{
	return __atomic_load_n(&th_live_bytes, __ATOMIC_RELAXED);
}

unsigned long th_shim_alloc_calls(void)
{
	return __atomic_load_n(&th_alloc_calls, __ATOMIC_RELAXED);
}

unsigned long th_shim_alloc_failures(void)
{
	return __atomic_load_n(&th_alloc_failures, __ATOMIC_RELAXED);
}

size_t th_shim_last_failed_size(void)
{
	return __atomic_load_n(&th_failed_size, __ATOMIC_RELAXED);
}

void th_shim_fail_nth(unsigned long n)
{
	__atomic_store_n(&th_fail_at, n ? th_shim_alloc_calls() + n : 0,
			 __ATOMIC_RELAXED);
}

void th_shim_fail_random(uint32_t per_million, uint64_t seed)
{
	pthread_mutex_lock(&th_fail_lock);
	th_fail_state = seed | 1;
	pthread_mutex_unlock(&th_fail_lock);
	__atomic_store_n(&th_fail_ppm, per_million, __ATOMIC_RELAXED);
}

void th_shim_leak_check_at_exit(bool on)
{
	th_leak_check = on;
}

static void th_shim_exit_report(void)
{
	long n = th_shim_live_allocs(), bytes = th_shim_live_bytes();

	if (th_shim_errors()) {
		fprintf(stderr, "shim: %lu error(s) reported\n", th_shim_errors());
		_exit(1);
	}
	if (th_leak_check && (n || bytes)) {
		fprintf(stderr, "shim: leak: %ld allocation(s), %ld byte(s) live at exit\n",
			n, bytes);
		_exit(1);
	}
}

__attribute__((constructor)) static void th_shim_init(void)
{
	atexit(th_shim_exit_report);
}

/* ------------------------------------------------------------------ */
/* RCU                                                                */

#define TH_RCU_MAX_THREADS	256

/*
 * The urcu flavour: memb for the tests, whose readers' sections urcu tracks
 * itself; qsbr for bench/native (TH_SHIM_BENCH), whose read side is the
 * model of a kernel's below and whose grace periods qsbr gives.
 */
#ifdef TH_SHIM_BENCH
#define th_urcu(fn)	urcu_qsbr_##fn
#else
#define th_urcu(fn)	urcu_memb_##fn
#endif

#ifdef TH_SHIM_BENCH
/*
 * bench/native's rcu_read_lock()/rcu_read_unlock() (linux/rcupdate.h): what
 * Debian's 6.1 kernel (CONFIG_PREEMPT_RCU) runs, __rcu_read_lock() and
 * __rcu_read_unlock(): an out-of-line call that counts the task's nesting,
 * and on the way out a check of its "unlock special" word. The grace
 * periods come from urcu-qsbr, whose readers cost nothing: the thread that
 * reads is the one that waits for grace periods (the writer), and qsbr's
 * synchronize_rcu() takes that thread offline while it waits.
 */
__thread int th_bench_rcu_nest;
static __thread int th_bench_rcu_special;

noinline void th_bench_rcu_read_lock(void)
{
	th_bench_rcu_nest++;
	barrier();
}

noinline void th_bench_rcu_read_unlock(void)
{
	barrier();
	if (--th_bench_rcu_nest == 0 &&
	    unlikely(READ_ONCE(th_bench_rcu_special))) {
		fprintf(stderr, "shim: rcu_read_unlock special\n");
		abort();
	}
}

static bool th_bench_reading(void)
{
	return th_bench_rcu_nest;
}
#else
static bool th_bench_reading(void)
{
	return false;
}
#endif

/* Each registered thread's unlock counter, on its own cache line. */
struct th_rcu_thread {
	unsigned long ctr;
} __attribute__((aligned(64)));

static struct th_rcu_thread th_rcu_threads[TH_RCU_MAX_THREADS];
static unsigned int th_rcu_nthreads;
static __thread struct th_rcu_thread *th_rcu_me;
static __thread unsigned int th_rcu_nest;
static __thread unsigned long th_rcu_unlocks;

static pthread_mutex_t th_rcu_cb_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rcu_head *th_rcu_cb_head, **th_rcu_cb_tail = &th_rcu_cb_head;
static unsigned long th_rcu_cb_len;
static unsigned int th_rcu_batch = 64;
static unsigned long th_rcu_gps;

void th_rcu_register_thread(void)
{
	unsigned int i;

	if (th_rcu_me) {
		th_shim_error("rcu_register_thread twice", __FILE__, __LINE__);
		return;
	}
	i = __atomic_fetch_add(&th_rcu_nthreads, 1, __ATOMIC_ACQ_REL);
	if (i >= TH_RCU_MAX_THREADS) {
		fprintf(stderr, "shim: more than %d RCU threads\n", TH_RCU_MAX_THREADS);
		abort();
	}
	th_rcu_me = &th_rcu_threads[i];
	th_urcu(register_thread)();
}

/* The slot stays: a later grace period still acquires its last unlock. */
void th_rcu_unregister_thread(void)
{
	if (!th_rcu_me || th_rcu_nest) {
		th_shim_error("rcu_unregister_thread", __FILE__, __LINE__);
		return;
	}
	th_urcu(unregister_thread)();
	th_rcu_me = NULL;
}

void th_rcu_read_lock(void)
{
	if (!th_rcu_me) {
		th_shim_error("rcu_read_lock in an unregistered thread", __FILE__, __LINE__);
		abort();
	}
	if (th_rcu_nest++ == 0)
		th_urcu(read_lock)();
}

/*
 * The release store comes before urcu's unlock: once a grace period has
 * waited for this section, the acquire in th_rcu_synchronize() reads it.
 */
void th_rcu_read_unlock(void)
{
	if (!th_rcu_nest) {
		th_shim_error("unbalanced rcu_read_unlock", __FILE__, __LINE__);
		abort();
	}
	if (--th_rcu_nest == 0) {
		__atomic_store_n(&th_rcu_me->ctr, ++th_rcu_unlocks, __ATOMIC_RELEASE);
		th_urcu(read_unlock)();
	}
}

void th_rcu_synchronize(void)
{
	unsigned int i, n;

	if (th_rcu_nest) {
		th_shim_error("synchronize_rcu inside a read-side section", __FILE__, __LINE__);
		abort();
	}
	th_urcu(synchronize_rcu)();
	n = __atomic_load_n(&th_rcu_nthreads, __ATOMIC_ACQUIRE);
	for (i = 0; i < n && i < TH_RCU_MAX_THREADS; i++)
		(void)__atomic_load_n(&th_rcu_threads[i].ctr, __ATOMIC_ACQUIRE);
	__atomic_fetch_add(&th_rcu_gps, 1, __ATOMIC_RELAXED);
}

/* Run every callback queued so far after one grace period, on this thread. */
static void th_rcu_flush(void)
{
	struct rcu_head *list, *next;

	pthread_mutex_lock(&th_rcu_cb_lock);
	list = th_rcu_cb_head;
	th_rcu_cb_head = NULL;
	th_rcu_cb_tail = &th_rcu_cb_head;
	th_rcu_cb_len = 0;
	pthread_mutex_unlock(&th_rcu_cb_lock);
	if (!list)
		return;
	th_rcu_synchronize();
	for (; list; list = next) {
		next = (struct rcu_head *)list->next.next;
		list->func(list);
	}
}

void th_rcu_call(struct rcu_head *head, void (*func)(struct rcu_head *))
{
	unsigned long len;

	head->func = func;
	head->next.next = NULL;
	pthread_mutex_lock(&th_rcu_cb_lock);
	*th_rcu_cb_tail = head;
	th_rcu_cb_tail = (struct rcu_head **)&head->next.next;
	len = ++th_rcu_cb_len;
	pthread_mutex_unlock(&th_rcu_cb_lock);
	/* Never from inside a read-side section: that grace period would wait on us. */
	if (len >= __atomic_load_n(&th_rcu_batch, __ATOMIC_RELAXED) && !th_rcu_nest &&
	    !th_bench_reading())
		th_rcu_flush();
}

void th_rcu_barrier(void)
{
	while (th_rcu_pending())
		th_rcu_flush();
}

void th_rcu_set_batch(unsigned int n)
{
	__atomic_store_n(&th_rcu_batch, n ? n : 1, __ATOMIC_RELAXED);
}

unsigned long th_rcu_pending(void)
{
	unsigned long n;

	pthread_mutex_lock(&th_rcu_cb_lock);
	n = th_rcu_cb_len;
	pthread_mutex_unlock(&th_rcu_cb_lock);
	return n;
}

unsigned long th_rcu_grace_periods(void)
{
	return __atomic_load_n(&th_rcu_gps, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* Random bytes                                                       */

static pthread_mutex_t th_rand_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t th_rand_seed;

static uint64_t th_splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void th_shim_random_seed(uint64_t seed)
{
	pthread_mutex_lock(&th_rand_lock);
	th_rand_seed = seed;
	pthread_mutex_unlock(&th_rand_lock);
}

void th_shim_random_bytes(void *buf, size_t n)
{
	uint8_t *p = buf;

	pthread_mutex_lock(&th_rand_lock);
	if (th_rand_seed) {
		while (n) {
			uint64_t r = th_splitmix64(&th_rand_seed);
			size_t k = n < 8 ? n : 8;

			memcpy(p, &r, k);
			p += k;
			n -= k;
		}
	}
	pthread_mutex_unlock(&th_rand_lock);
	while (n) {
		ssize_t got = getrandom(p, n, 0);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			perror("getrandom");
			abort();
		}
		p += got;
		n -= (size_t)got;
	}
}

/* ------------------------------------------------------------------ */
/* seqcount readers (linux/seqlock.h)                                 */

unsigned int th_shim_seqcount_wait(const seqcount_t *s)
{
	unsigned int v, spins = 0;

	while ((v = __atomic_load_n(&s->sequence, __ATOMIC_ACQUIRE)) & 1) {
		cpu_relax();
		if (++spins % 128 == 0)
			sched_yield();	/* the writer may be preempted */
	}
	return v;
}

/* ------------------------------------------------------------------ */
/* SipHash-2-4 (Aumasson, Bernstein), the kernel's siphash() contract  */

#define TH_ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define TH_SIPROUND do {						\
	v0 += v1; v1 = TH_ROTL(v1, 13); v1 ^= v0; v0 = TH_ROTL(v0, 32); \
	v2 += v3; v3 = TH_ROTL(v3, 16); v3 ^= v2;			\
	v0 += v3; v3 = TH_ROTL(v3, 21); v3 ^= v0;			\
	v2 += v1; v1 = TH_ROTL(v1, 17); v1 ^= v2; v2 = TH_ROTL(v2, 32); \
} while (0)

static uint64_t th_le64(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

u64 siphash(const void *data, size_t len, const siphash_key_t *key)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ key->key[0];
	uint64_t v1 = 0x646f72616e646f6dULL ^ key->key[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ key->key[0];
	uint64_t v3 = 0x7465646279746573ULL ^ key->key[1];
	const uint8_t *p = data;
	size_t left = len;
	uint64_t m;

	for (; left >= 8; p += 8, left -= 8) {
		m = th_le64(p, 8);
		v3 ^= m;
		TH_SIPROUND;
		TH_SIPROUND;
		v0 ^= m;
	}
	m = th_le64(p, left) | ((uint64_t)len << 56);
	v3 ^= m;
	TH_SIPROUND;
	TH_SIPROUND;
	v0 ^= m;
	v2 ^= 0xff;
	TH_SIPROUND;
	TH_SIPROUND;
	TH_SIPROUND;
	TH_SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

#ifdef TH_SHIM_BENCH
/* lib/siphash.c's siphash_1u64(): the same value as siphash(&a, 8, key). */
u64 siphash_1u64(u64 a, const siphash_key_t *key)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ key->key[0];
	uint64_t v1 = 0x646f72616e646f6dULL ^ key->key[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ key->key[0];
	uint64_t v3 = 0x7465646279746573ULL ^ key->key[1];
	uint64_t b = 8ULL << 56;

	v3 ^= a;
	TH_SIPROUND;
	TH_SIPROUND;
	v0 ^= a;
	v3 ^= b;
	TH_SIPROUND;
	TH_SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	TH_SIPROUND;
	TH_SIPROUND;
	TH_SIPROUND;
	TH_SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}
#endif

/* ------------------------------------------------------------------ */
/* Trace events (linux/tracepoint.h)                                  */

#ifdef TH_SHIM_BENCH
bool th_trace_on;	/* bench/native: unused, its tracepoints are jump labels */
#else
bool th_trace_on = true;
#endif
unsigned long th_trace_events;
void (*th_trace_hook)(const char *event, const void *entry);
