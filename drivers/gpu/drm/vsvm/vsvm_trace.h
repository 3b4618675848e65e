/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Copyright (c) 2026 The drm_gpusvm authors
 */

#undef TRACE_SYSTEM
#define TRACE_SYSTEM vsvm

#if !defined(_VSVM_TRACE_H_) || defined(TRACE_HEADER_MULTI_READ)
#define _VSVM_TRACE_H_

#include <linux/tracepoint.h>
#include <linux/types.h>

#include <drm/drm_gpusvm.h>

TRACE_EVENT(vsvm_gpu_fault,
	TP_PROTO(unsigned int dev, unsigned long addr, bool write, u32 policy),
	TP_ARGS(dev, addr, write, policy),
	TP_STRUCT__entry(
		__field(unsigned int, dev)
		__field(unsigned long, addr)
		__field(bool, write)
		__field(u32, policy)
	),
	TP_fast_assign(
		__entry->dev = dev;
		__entry->addr = addr;
		__entry->write = write;
		__entry->policy = policy;
	),
	TP_printk("dev=%u addr=%#lx %s policy=%u", __entry->dev, __entry->addr,
		  __entry->write ? "write" : "read", __entry->policy)
);

DECLARE_EVENT_CLASS(vsvm_span,
	TP_PROTO(unsigned int dev, unsigned long start, unsigned long end,
		 bool to_vram),
	TP_ARGS(dev, start, end, to_vram),
	TP_STRUCT__entry(
		__field(unsigned int, dev)
		__field(unsigned long, start)
		__field(unsigned long, end)
		__field(bool, to_vram)
	),
	TP_fast_assign(
		__entry->dev = dev;
		__entry->start = start;
		__entry->end = end;
		__entry->to_vram = to_vram;
	),
	TP_printk("dev=%u [%#lx-%#lx) to %s", __entry->dev, __entry->start,
		  __entry->end, __entry->to_vram ? "vram" : "ram")
);

DEFINE_EVENT(vsvm_span, vsvm_migrate,
	TP_PROTO(unsigned int dev, unsigned long start, unsigned long end,
		 bool to_vram),
	TP_ARGS(dev, start, end, to_vram)
);

/*
 * A span of addresses and a number: the ranges that replaced a split one,
 * or as the events below print it.
 */
DECLARE_EVENT_CLASS(vsvm_span_n,
	TP_PROTO(unsigned int dev, unsigned long start, unsigned long end,
		 int n),
	TP_ARGS(dev, start, end, n),
	TP_STRUCT__entry(
		__field(unsigned int, dev)
		__field(unsigned long, start)
		__field(unsigned long, end)
		__field(int, n)
	),
	TP_fast_assign(
		__entry->dev = dev;
		__entry->start = start;
		__entry->end = end;
		__entry->n = n;
	),
	TP_printk("dev=%u [%#lx-%#lx) pieces=%d", __entry->dev,
		  __entry->start, __entry->end, __entry->n)
);

/* n: the enum mmu_notifier_event. */
DEFINE_EVENT_PRINT(vsvm_span_n, vsvm_invalidate,
	TP_PROTO(unsigned int dev, unsigned long start, unsigned long end,
		 int n),
	TP_ARGS(dev, start, end, n),
	TP_printk("dev=%u [%#lx-%#lx) event=%d", __entry->dev, __entry->start,
		  __entry->end, __entry->n)
);

/* n: the enum drm_gpusvm_thrash that held the migration back. */
DEFINE_EVENT_PRINT(vsvm_span_n, vsvm_thrash,
	TP_PROTO(unsigned int dev, unsigned long start, unsigned long end,
		 int n),
	TP_ARGS(dev, start, end, n),
	TP_printk("dev=%u [%#lx-%#lx) %s", __entry->dev, __entry->start,
		  __entry->end,
		  __entry->n == DRM_GPUSVM_THRASH_PIN ? "pinned" : "throttled")
);

/* n: the prefetch threshold, percent. */
DEFINE_EVENT_PRINT(vsvm_span_n, vsvm_prefetch,
	TP_PROTO(unsigned int dev, unsigned long start, unsigned long end,
		 int n),
	TP_ARGS(dev, start, end, n),
	TP_printk("dev=%u [%#lx-%#lx) threshold=%d%%", __entry->dev,
		  __entry->start, __entry->end, __entry->n)
);

DEFINE_EVENT(vsvm_span_n, vsvm_range_split,
	TP_PROTO(unsigned int dev, unsigned long start, unsigned long end,
		 int n),
	TP_ARGS(dev, start, end, n)
);
DECLARE_EVENT_CLASS(vsvm_pages,
	TP_PROTO(unsigned int dev, unsigned long npages, bool to_vram),
	TP_ARGS(dev, npages, to_vram),
	TP_STRUCT__entry(
		__field(unsigned int, dev)
		__field(unsigned long, npages)
		__field(bool, to_vram)
	),
	TP_fast_assign(
		__entry->dev = dev;
		__entry->npages = npages;
		__entry->to_vram = to_vram;
	),
	TP_printk("dev=%u pages=%lu to %s", __entry->dev, __entry->npages,
		  __entry->to_vram ? "vram" : "ram")
);

DEFINE_EVENT(vsvm_pages, vsvm_copy,
	TP_PROTO(unsigned int dev, unsigned long npages, bool to_vram),
	TP_ARGS(dev, npages, to_vram)
);

DEFINE_EVENT(vsvm_pages, vsvm_evict,
	TP_PROTO(unsigned int dev, unsigned long npages, bool to_vram),
	TP_ARGS(dev, npages, to_vram)
);

#endif /* _VSVM_TRACE_H_ */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH ../../drivers/gpu/drm/vsvm
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE vsvm_trace
#include <trace/define_trace.h>
