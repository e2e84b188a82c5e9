/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The userspace shim's own interface: what the shim headers call into
 * (shim.c) and what the tests use to steer and observe it: allocation
 * counting and failure injection, RCU reader registration and callback
 * flushing, jitter that widens race windows, deterministic random bytes.
 */
#ifndef _TH_SHIM_H
#define _TH_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Allocation: counted, with a leak report at exit and failure injection. */
void *th_shim_alloc(size_t size, bool zero);
void th_shim_free(void *p);
long th_shim_live_allocs(void);		/* allocations not freed yet */
long th_shim_live_bytes(void);
unsigned long th_shim_alloc_calls(void);	/* attempts, failed ones included */
unsigned long th_shim_alloc_failures(void);
size_t th_shim_last_failed_size(void);	/* size asked by the last failed attempt */
void th_shim_fail_nth(unsigned long n);	/* fail the n-th attempt from now (1 = next); 0 = off */
void th_shim_fail_random(uint32_t per_million, uint64_t seed);	/* 0 = off */
void th_shim_leak_check_at_exit(bool on);	/* default on */

/* RCU: liburcu (urcu-memb) plus happens-before edges ThreadSanitizer sees. */
void th_rcu_register_thread(void);
void th_rcu_unregister_thread(void);
void th_rcu_read_lock(void);
void th_rcu_read_unlock(void);
void th_rcu_synchronize(void);
struct rcu_head;
void th_rcu_call(struct rcu_head *head, void (*func)(struct rcu_head *));
void th_rcu_barrier(void);
void th_rcu_set_batch(unsigned int n);	/* flush call_rcu() queue at this length */
unsigned long th_rcu_pending(void);		/* callbacks queued, not run */
unsigned long th_rcu_grace_periods(void);

/* Mutex bookkeeping (the writer side of the memcpy rule, lockdep_is_held). */
extern __thread int th_shim_locks_held;
/* Inside write_seqcount_begin/end: stores of memcpy/memset are atomic. */
extern __thread int th_shim_write_section;

/* memcpy/memcmp/memset of the core (see linux/string.h). */
void *th_shim_memcpy(void *dst, const void *src, size_t n);
void *th_shim_memset(void *dst, int c, size_t n);
int th_shim_memcmp(const void *a, const void *b, size_t n);

/*
 * Jitter: with probability 1/(mask+1) per call, yield the CPU or spin a
 * little at a publication or observation point, to widen race windows.
 * 0 (default) turns it off.
 */
extern unsigned int th_shim_jitter_mask;
void th_shim_jitter_slow(void);
static inline void th_shim_jitter(void)
{
	if (__builtin_expect(th_shim_jitter_mask != 0, 0))
		th_shim_jitter_slow();
}

/*
 * Pause hooks: called (when set) at the reader's overflow-pointer load and at
 * its tophash loads, with the address; lets a test run writer steps at an
 * exact point of a lookup, on the same thread.
 */
extern void (*th_shim_hook_deref)(const void *addr);
extern void (*th_shim_hook_acquire)(const void *addr);

/* Random bytes: getrandom(), or a seeded stream for reproducible runs. */
void th_shim_random_bytes(void *buf, size_t n);
void th_shim_random_seed(uint64_t seed);	/* 0 = back to getrandom() */

/* Problems the shim saw (a lockdep assertion, a bad free): must stay 0. */
unsigned long th_shim_errors(void);
void th_shim_error(const char *what, const char *file, int line);

#endif /* _TH_SHIM_H */
