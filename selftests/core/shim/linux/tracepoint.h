/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TRACE_EVENT() read from kmod/tophash_trace.h itself: each event becomes a
 * struct th_trace_<class> (its TP_STRUCT__entry), a fill function (its
 * TP_fast_assign) and an inline trace_<event>() that hands the filled entry
 * to th_trace_emit(), where a test's hook can record it.
 *
 * Three builds:
 *   tests (default)  every event fires, whatever th_trace_on says (it only
 *                    answers trace_<event>_enabled()).
 *   TH_SHIM_BENCH    (bench/native) compiled in but off, shaped as a kernel
 *                    tracepoint on x86: the guard is a jump label, an asm
 *                    goto whose site is a 5-byte NOP that never jumps (no
 *                    one enables it here), and the event's work sits at the
 *                    jump target, a call out of line.
 *   NOTRACE          (any build; bench/native's compiled-out binary) as
 *                    include/linux/tracepoint.h without TRACEPOINTS_ENABLED,
 *                    the -DNOTRACE build of kmod/ for make bench: every
 *                    trace_<event>() is empty, trace_<event>_enabled() false.
 */
#ifndef _TH_SHIM_LINUX_TRACEPOINT_H
#define _TH_SHIM_LINUX_TRACEPOINT_H

#include <linux/types.h>

extern bool th_trace_on;
extern unsigned long th_trace_events;
extern void (*th_trace_hook)(const char *event, const void *entry);

static inline void th_trace_emit(const char *event, const void *entry)
{
	th_trace_events++;
	if (th_trace_hook)
		th_trace_hook(event, entry);
}

#define PARAMS(args...)		args
#define TP_PROTO(args...)	args
#define TP_ARGS(args...)	args
#define TP_STRUCT__entry(args...) args
#define TP_fast_assign(args...)	args
#define TP_printk(fmt, args...)
#define __field(type, item)	type item;

#ifdef NOTRACE

#define DECLARE_EVENT_CLASS(cls, proto, args, tstruct, assign, print)

/* The kernel builds without -Wextra: its empty stubs ignore their arguments. */
#define DEFINE_EVENT(cls, name, proto, args)				\
	_Pragma("GCC diagnostic push")					\
	_Pragma("GCC diagnostic ignored \"-Wunused-parameter\"")	\
	static inline void trace_##name(proto)				\
	{ }								\
	_Pragma("GCC diagnostic pop")					\
	static inline bool trace_##name##_enabled(void)			\
	{								\
		return false;						\
	}

#else /* !NOTRACE */

#define DECLARE_EVENT_CLASS(cls, proto, args, tstruct, assign, print)	\
	struct th_trace_##cls { tstruct };				\
	static inline void th_trace_fill_##cls(struct th_trace_##cls *__entry, \
					       proto)			\
	{								\
		assign							\
	}

#ifdef TH_SHIM_BENCH
/*
 * static_key_false() of a key that is off: arch_static_branch() of
 * arch/x86/include/asm/jump_label.h. The site is a 5-byte NOP, so the
 * fallthrough (false) is the only path ever taken; the compiler still has
 * to keep l_yes and what it needs. The kernel patches the NOP into a jmp
 * when the event is enabled; nothing does here. The table entry (site,
 * target) is the kernel's __jump_table entry without the key, so that the
 * sites can be counted in the binary (section __th_jump_table).
 */
static inline __attribute__((__always_inline__)) bool th_static_key_false(void)
{
	asm goto("1:\n\t"
		 ".byte 0x0f,0x1f,0x44,0x00,0x00\n\t"
		 ".pushsection __th_jump_table, \"aw\"\n\t"
		 ".balign 4\n\t"
		 ".long 1b - ., %l[l_yes] - .\n\t"
		 ".popsection\n\t"
		 : : : : l_yes);
	return false;
l_yes:
	return true;
}

/*
 * As __DECLARE_TRACE() with TRACEPOINTS_ENABLED: the guard is the static
 * key, and behind it a call with the event's arguments (the kernel's
 * __DO_TRACE(): static_call(tp_func_<event>)(data, args)); here the callee
 * fills the entry and emits it.
 */
#define DEFINE_EVENT(cls, name, proto, args)				\
	static __attribute__((__noinline__)) void			\
	th_traceiter_##name(proto)					\
	{								\
		struct th_trace_##cls e;				\
									\
		th_trace_fill_##cls(&e, args);				\
		th_trace_emit(#name, &e);				\
	}								\
	static inline bool trace_##name##_enabled(void)			\
	{								\
		return th_static_key_false();				\
	}								\
	static inline void trace_##name(proto)				\
	{								\
		if (th_static_key_false())				\
			th_traceiter_##name(args);			\
	}

#else /* !TH_SHIM_BENCH: the tests */

#define DEFINE_EVENT(cls, name, proto, args)				\
	static inline bool trace_##name##_enabled(void)			\
	{								\
		return th_trace_on;					\
	}								\
	static inline void trace_##name(proto)				\
	{								\
		struct th_trace_##cls e;				\
									\
		th_trace_fill_##cls(&e, args);				\
		th_trace_emit(#name, &e);				\
	}

#endif /* TH_SHIM_BENCH */
#endif /* NOTRACE */

#define TRACE_EVENT(name, proto, args, tstruct, assign, print)		\
	DECLARE_EVENT_CLASS(name, PARAMS(proto), PARAMS(args),		\
			    PARAMS(tstruct), PARAMS(assign), PARAMS(print)) \
	DEFINE_EVENT(name, name, PARAMS(proto), PARAMS(args))

#endif
