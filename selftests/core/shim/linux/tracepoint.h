/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TRACE_EVENT() read from kmod/tophash_trace.h itself: each event becomes a
 * struct th_trace_<class> (its TP_STRUCT__entry), a fill function (its
 * TP_fast_assign) and an inline trace_<event>() that hands the filled entry
 * to th_trace_emit(), where a test's hook can record it.
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

/*
 * Tests see every event whatever th_trace_on says (it only answers
 * trace_<event>_enabled()). TH_SHIM_BENCH (bench/native only): an event
 * fires only when th_trace_on, which is off there, as a kernel tracepoint
 * fires only when enabled.
 */
#ifdef TH_SHIM_BENCH
#define TH_TRACE_ALWAYS	0
#else
#define TH_TRACE_ALWAYS	1
#endif

#define PARAMS(args...)		args
#define TP_PROTO(args...)	args
#define TP_ARGS(args...)	args
#define TP_STRUCT__entry(args...) args
#define TP_fast_assign(args...)	args
#define TP_printk(fmt, args...)
#define __field(type, item)	type item;

#define DECLARE_EVENT_CLASS(cls, proto, args, tstruct, assign, print)	\
	struct th_trace_##cls { tstruct };				\
	static inline void th_trace_fill_##cls(struct th_trace_##cls *__entry, \
					       proto)			\
	{								\
		assign							\
	}

#define DEFINE_EVENT(cls, name, proto, args)				\
	static inline bool trace_##name##_enabled(void)			\
	{								\
		return th_trace_on;					\
	}								\
	static inline void trace_##name(proto)				\
	{								\
		struct th_trace_##cls e;				\
									\
		if (!TH_TRACE_ALWAYS && !th_trace_on)			\
			return;						\
		th_trace_fill_##cls(&e, args);				\
		th_trace_emit(#name, &e);				\
	}

#define TRACE_EVENT(name, proto, args, tstruct, assign, print)		\
	DECLARE_EVENT_CLASS(name, PARAMS(proto), PARAMS(args),		\
			    PARAMS(tstruct), PARAMS(assign), PARAMS(print)) \
	DEFINE_EVENT(name, name, PARAMS(proto), PARAMS(args))

#endif
