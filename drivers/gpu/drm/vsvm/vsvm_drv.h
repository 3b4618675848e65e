/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Copyright (c) 2026 The drm_gpusvm authors
 */

#ifndef _VSVM_DRV_H_
#define _VSVM_DRV_H_

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/llist.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include <drm/drm_buddy.h>
#include <drm/drm_device.h>
#include <drm/drm_gpusvm.h>
#include <drm/drm_pagemap.h>
#include <drm/vsvm_drm.h>

struct dentry;
struct drm_file;
struct drm_printer;
struct mm_struct;

/**
 * struct vsvm_counters - Atomic twin of &struct drm_vsvm_stats
 * @c: One counter per member of &struct drm_vsvm_stats, same order.
 */
struct vsvm_counters {
	atomic64_t c[sizeof(struct drm_vsvm_stats) / sizeof(__u64)];
};

/* Index of a member of struct drm_vsvm_stats in struct vsvm_counters. */
#define VSVM_STAT(member) \
	(offsetof(struct drm_vsvm_stats, member) / sizeof(__u64))

/**
 * struct vsvm_stats_sink - Where one operation accounts what it did
 * @vm: Counters of the VM, or NULL.
 * @job: Counters of the job or ioctl, or NULL.
 */
struct vsvm_stats_sink {
	struct vsvm_counters *vm;
	struct drm_vsvm_stats *job;
};

void vsvm_stat_add(struct vsvm_stats_sink *sink, unsigned int idx, u64 val);

/**
 * struct vsvm_vram - The fake device memory of one virtual GPU
 * @dpagemap: The pagemap registered for the memory.
 * @vaddr: Kernel mapping of the backing store ("the VRAM"): a vmalloc()
 *	buffer for private VRAM, the linear map of the reserved range for
 *	coherent VRAM.
 * @size: Size in bytes.
 * @coherent: The VRAM is MEMORY_DEVICE_COHERENT memory the CPU accesses
 *	in place, not MEMORY_DEVICE_PRIVATE.
 * @lock: Protects @mm, @lru and @used.
 * @mm: Buddy allocator of device offsets.
 * @lru: Allocations holding device pages, least recently used first.
 * @used: Bytes allocated.
 * @free_list: Allocations released by their last device page, waiting
 *	for @free_work (release may happen in atomic context).
 * @free_work: Gives the VRAM of @free_list back to the allocator, a tick
 *	after the first release, so that releases come in batches and none
 *	wakes a worker on its own; vsvm_vram_flush_frees() runs it at once
 *	where the VRAM is needed or counted.
 * @peer: Membership of the owner group of the GPUs on the interconnect
 *	(module parameter link), device-private VRAM only; a GPU not linked
 *	is a group of its own.
 * @linked: On the interconnect: reaches the other linked GPUs' VRAM.
 * @owner: Owner token of the device pages: @peer's owner, shared by the
 *	linked GPUs, for device-private VRAM; the VRAM itself for coherent
 *	VRAM.
 * @to_vram: Pages copied into this VRAM since load.
 * @to_ram: Pages copied out of this VRAM since load.
 * @from_peer: Of @to_vram, the pages copied straight from a linked GPU's
 *	VRAM (device-to-device migration).
 * @evictions: Allocations evicted since load.
 * @commit_delay_us: Test knob (debugfs vsvm_commit_delay_us): microseconds
 *	vsvm_vram_alloc_commit() sleeps before looking at the allocation, to
 *	widen the window in which other threads free the migrated pages.
 * @copy_to_ram_delay_us: Test knob (debugfs vsvm_copy_to_ram_delay_us):
 *	microseconds the copy_to_ram hook sleeps before copying, while the
 *	pages it moves are unmapped and locked, to widen the window in which
 *	other threads unmap them or exit.
 */
struct vsvm_vram {
	struct drm_pagemap dpagemap;
	void *vaddr;
	u64 size;
	bool coherent;
	struct mutex lock; /* protects mm, lru, used */
	struct gpu_buddy mm;
	struct list_head lru;
	u64 used;
	struct llist_head free_list;
	struct delayed_work free_work;
	struct drm_pagemap_peer peer;
	bool linked;
	void *owner;
	atomic64_t to_vram;
	atomic64_t to_ram;
	atomic64_t from_peer;
	atomic64_t evictions;
	u32 commit_delay_us;
	u32 copy_to_ram_delay_us;
};

/* Range sizes of a vsvm VM: 2M, 64K, 4K. */
#define VSVM_NUM_CHUNKS 3

/**
 * enum vsvm_fault_stage - Where the time of a GPU fault goes
 * @VSVM_STAGE_WAIT: Waiting for the placement lock and the VM lock.
 * @VSVM_STAGE_GC: Removing unmapped ranges (the garbage collector, inline).
 * @VSVM_STAGE_FIND: Finding or inserting the range (and its notifier).
 * @VSVM_STAGE_MIGRATE: Thrashing control and the migration to VRAM.
 * @VSVM_STAGE_PAGES: Page-table allocation and collecting the pages
 *	(hmm_range_fault() and DMA mapping).
 * @VSVM_STAGE_BIND: Writing the GPU page table, and prefetching.
 * @VSVM_STAGE_RETRY: Everything of a pass that went back to the start
 *	after the stage it failed in: evictions, the exclusive placement
 *	lock.
 * @VSVM_NUM_STAGES: Number of stages.
 */
enum vsvm_fault_stage {
	VSVM_STAGE_WAIT,
	VSVM_STAGE_GC,
	VSVM_STAGE_FIND,
	VSVM_STAGE_MIGRATE,
	VSVM_STAGE_PAGES,
	VSVM_STAGE_BIND,
	VSVM_STAGE_RETRY,
	VSVM_NUM_STAGES
};

/**
 * struct vsvm_fault_time - CPU time spent servicing GPU page faults
 * @count: Faults serviced, by whether the fault migrated its range to VRAM
 *	and by the size of the range (index into the VM's chunk sizes).
 * @ns: Their total time from entry to bind, in nanoseconds.
 * @staged: Those of them timed by stage, see @stages.
 * @stage_ns: The time of the faults in @staged split by &enum
 *	vsvm_fault_stage; the stages of a fault add up to its total.
 * @stages: Nonzero: time each fault stage by stage as well
 *	(<debugfs>/dri/<minor>/vsvm_fault_stages). Off by default: that is
 *	eight clock reads instead of two, some 2 us more for a 4 KiB fault
 *	under QEMU TCG.
 *
 * Only faults that bound their range count. make bench reads them through
 * <debugfs>/dri/<minor>/vsvm_fault_time.
 */
struct vsvm_fault_time {
	atomic64_t count[2][VSVM_NUM_CHUNKS];
	atomic64_t ns[2][VSVM_NUM_CHUNKS];
	atomic64_t staged[2][VSVM_NUM_CHUNKS];
	atomic64_t stage_ns[2][VSVM_NUM_CHUNKS][VSVM_NUM_STAGES];
	u32 stages;
};

/**
 * struct vsvm_device - One virtual GPU
 * @drm: The DRM device; a render node.
 * @pdev: The platform device @drm hangs off.
 * @index: Index of this GPU among the vsvm devices.
 * @vram: Its device memory.
 * @vm_list_lock: Protects @vm_list.
 * @vm_list: The VMs of the open files, for debugfs.
 * @vm_destroy_delay_us: Test knob (debugfs vsvm_vm_destroy_delay_us):
 *	microseconds vsvm_vm_destroy() sleeps right before drm_gpusvm_fini(),
 *	to widen the window for invalidations racing the teardown.
 * @max_ranges: Most GPU SVM ranges a VM may mirror at once (module
 *	parameter max_ranges, debugfs vsvm_max_ranges): their metadata is
 *	kernel memory the process asks for, charged to its memory cgroup
 *	and bounded by this.
 * @fault_time: GPU faults serviced and their time, for make bench.
 */
struct vsvm_device {
	struct drm_device drm;
	struct platform_device *pdev;
	unsigned int index;
	struct vsvm_vram vram;
	struct mutex vm_list_lock; /* protects vm_list */
	struct list_head vm_list;
	u32 vm_destroy_delay_us;
	u32 max_ranges;
	struct vsvm_fault_time fault_time;
};

static inline struct vsvm_device *to_vsvm_device(struct drm_device *drm)
{
	return container_of(drm, struct vsvm_device, drm);
}

static inline struct vsvm_device *vram_to_vsvm_device(struct vsvm_vram *vram)
{
	return container_of(vram, struct vsvm_device, vram);
}

/**
 * struct vsvm_alloc - A device memory allocation backing one GPU SVM range
 * @devmem: The drm_pagemap view of the allocation.
 * @vram: The VRAM it was carved from.
 * @blocks: Its drm_buddy blocks.
 * @lru: Link in &vsvm_vram.lru while it holds pages.
 * @free_link: Link in &vsvm_vram.free_list once released.
 * @refcount: One reference held by the migrating thread from
 *	vsvm_vram_alloc() to vsvm_vram_alloc_commit() or
 *	vsvm_vram_alloc_abort(); one held by the device pages collectively
 *	from a successful migration until the free worker ran after
 *	&drm_pagemap_devmem_ops.devmem_release; one per evictor at work.
 * @released: Its VRAM went back to the allocator (under &vsvm_vram.lock):
 *	@blocks is empty and the allocation must not enter the LRU again.
 * @start: Start of the virtual range migrated into it.
 * @end: End of that range (exclusive).
 * @by_fault: A GPU page fault migrated it, not an explicit migration
 *	(DRM_IOCTL_VSVM_MIGRATE, HMM_DMIRROR_MIGRATE_TO_DEV).
 *
 * @start, @end and @by_fault are set before the migration and never
 * change.
 */
struct vsvm_alloc {
	struct drm_pagemap_devmem devmem;
	struct vsvm_vram *vram;
	struct list_head blocks;
	struct list_head lru;
	struct llist_node free_link;
	struct kref refcount;
	bool released;
	unsigned long start;
	unsigned long end;
	bool by_fault;
};

/* GPU page-table entry: device address | flags. */
#define VSVM_PTE_VALID		BIT_ULL(0)
#define VSVM_PTE_WRITE		BIT_ULL(1)
#define VSVM_PTE_VRAM		BIT_ULL(2)
/*
 * &drm_pagemap_device_addr.proto of another GPU's VRAM reached over the
 * interconnect: the offset in it, with the GPU's index in bits 4-7.
 */
#define VSVM_INTERCONNECT_LINK	(DRM_INTERCONNECT_DRIVER + 1)
/* Another GPU's VRAM over the interconnect; the GPU's index in bits 4-7. */
#define VSVM_PTE_PEER		BIT_ULL(3)
#define VSVM_PTE_PEER_INDEX	GENMASK_ULL(7, 4)
#define VSVM_PTE_ADDR_MASK	PAGE_MASK

/**
 * struct vsvm_range - A GPU SVM range and its slice of the GPU page table
 * @base: The GPU SVM range.
 * @pte: One entry per page of the range, allocated with the range. Written
 *	under the notifier lock held for read by the binding fault (which
 *	holds the VM lock too), zeroed under it held for write by the
 *	invalidation; the GPU reads entries under the notifier lock.
 * @gc_link: Link in &vsvm_vm.gc_list once the CPU unmapped the range.
 * @writable: The pages were collected for writing; entries may allow it.
 */
struct vsvm_range {
	struct drm_gpusvm_range base;
	u64 *pte;
	struct list_head gc_link;
	bool writable;
};

static inline struct vsvm_range *to_vsvm_range(struct drm_gpusvm_range *r)
{
	return container_of(r, struct vsvm_range, base);
}

/*
 * How long unmapped ranges wait for the garbage collector's worker, if no
 * fault or migration collects them first (see vsvm_vm.c).
 */
#define VSVM_GC_DELAY_MS	10

/**
 * struct vsvm_vm - The GPU VM of one open file
 * @gpusvm: Mirror of the opener's address space.
 * @vdev: The device.
 * @mm: The mirrored address space (mmgrab()ed by @gpusvm).
 * @lock: The driver lock of @gpusvm: serialises fault handling, range
 *	insertion and removal, migration decisions.
 * @gc_lock: Protects @gc_list and @closing; taken inside the notifier lock.
 * @gc_list: Ranges the CPU unmapped, waiting to be removed.
 * @gc_work: Removes the ranges of @gc_list, %VSVM_GC_DELAY_MS after the
 *	first was queued.
 * @closing: The VM is being destroyed: drm_gpusvm_fini() removes every
 *	range, so the invalidation callback queues none anymore.
 * @timeslice_ms: DRM_VSVM_PARAM_TIMESLICE_MS.
 * @split: DRM_VSVM_PARAM_SPLIT; read locklessly by the invalidation.
 * @ranges_split: Ranges split, see &drm_vsvm_vm_stats.ranges_split.
 * @split_pieces: Ranges created by those splits.
 * @thrash: DRM_VSVM_PARAM_THRASH; the parameters themselves are in
 *	&drm_gpusvm.thrash, under @lock.
 * @thrash_lapse_ns: DRM_VSVM_PARAM_THRASH_LAPSE_US, kept while @thrash is
 *	off (&drm_gpusvm_thrash_params.lapse_ns is 0 then).
 * @thrash_throttles: See &drm_vsvm_vm_stats.thrash_throttles.
 * @thrash_pins: See &drm_vsvm_vm_stats.thrash_pins.
 * @thrash_pinned_faults: See &drm_vsvm_vm_stats.thrash_pinned_faults.
 * @prefetch: DRM_VSVM_PARAM_PREFETCH, under @lock.
 * @fault_size: DRM_VSVM_PARAM_FAULT_SIZE, under @lock.
 * @prefetches: See &drm_vsvm_vm_stats.prefetches.
 * @num_ranges: GPU SVM ranges allocated, at most &vsvm_device.max_ranges.
 * @stats: Counters of the VM.
 * @link: Link in &vsvm_device.vm_list.
 */
struct vsvm_vm {
	struct drm_gpusvm gpusvm;
	struct vsvm_device *vdev;
	struct mm_struct *mm;
	struct mutex lock; /* the GPU SVM driver lock */
	spinlock_t gc_lock; /* protects gc_list */
	struct list_head gc_list;
	struct delayed_work gc_work;
	bool closing;
	unsigned long timeslice_ms;
	bool split;
	atomic64_t ranges_split;
	atomic64_t split_pieces;
	bool thrash;
	u64 thrash_lapse_ns;
	atomic64_t thrash_throttles;
	atomic64_t thrash_pins;
	atomic64_t thrash_pinned_faults;
	unsigned int prefetch;
	unsigned long fault_size;
	atomic64_t prefetches;
	atomic_t num_ranges;
	struct vsvm_counters stats;
	struct list_head link;
};

/**
 * struct vsvm_file - Per open file state
 * @vdev: The device this file was opened on.
 * @vm: Its GPU VM.
 */
struct vsvm_file {
	struct vsvm_device *vdev;
	struct vsvm_vm *vm;
};

int vsvm_file_check_mm(struct vsvm_file *vfile);

/* Most virtual GPUs, private and coherent together. */
#define VSVM_MAX_DEVICES	8

struct vsvm_device *vsvm_device_by_index(unsigned int index);
void *vsvm_link_vaddr(u64 addr);

/**
 * vsvm_yield() - Give way between two pieces of a long request
 *
 * A job, a migration or a request of the HMM test front end may go on for
 * minutes over memory that never faults. Between two pieces of it (a bounce
 * buffer, a range, a batch of pages) it lets other tasks run, as kernels
 * without preemption would otherwise report soft lockups, and it stops
 * once the task has been killed: only a fatal signal ends the request, so
 * that no work is left half done for a task that goes on.
 *
 * Context: Process context, may sleep.
 * Return: 0, or -EINTR if a fatal signal is pending.
 */
static inline int vsvm_yield(void)
{
	cond_resched();
	return fatal_signal_pending(current) ? -EINTR : 0;
}

/* vsvm_fault.c: hooks that fault injection can make fail. */
enum vsvm_fault {
	VSVM_FAULT_COPY_TO_DEVMEM,
	VSVM_FAULT_COPY_TO_RAM,
	VSVM_FAULT_POPULATE_PFN,
	VSVM_FAULT_DEVICE_MAP,
	VSVM_FAULT_DEVMEM_ALLOC,
	VSVM_NUM_FAULTS,
};

#ifdef CONFIG_FAULT_INJECTION
bool vsvm_should_fail(enum vsvm_fault fault);
void vsvm_fault_init(void);
void vsvm_fault_fini(void);
#else
static inline bool vsvm_should_fail(enum vsvm_fault fault)
{
	return false;
}

static inline void vsvm_fault_init(void) {}
static inline void vsvm_fault_fini(void) {}
#endif

/*
 * Placement of the HMM test front end's READ and WRITE, next to the
 * DRM_VSVM_POLICY_* of the uapi (which cannot ask for it): use the memory
 * where it is, never migrate, as lib/test_hmm's device does.
 */
#define VSVM_POLICY_IN_PLACE	3

/* vsvm_vram.c */
int vsvm_vram_init(struct vsvm_device *vdev, u64 size, phys_addr_t coherent_phys,
		   bool linked);
void vsvm_vram_fini(struct vsvm_device *vdev);
struct vsvm_alloc *vsvm_vram_alloc(struct vsvm_vram *vram, u64 size,
				   struct mm_struct *mm,
				   struct vsvm_stats_sink *sink);
void vsvm_vram_alloc_commit(struct vsvm_alloc *alloc);
void vsvm_vram_alloc_abort(struct vsvm_alloc *alloc);
void vsvm_vram_evict_all(struct vsvm_vram *vram);
bool vsvm_vram_evict_faulted(struct vsvm_vram *vram, struct mm_struct *mm,
			     unsigned long start, unsigned long end);
bool vsvm_vram_holds(struct vsvm_vram *vram, struct mm_struct *mm,
		     unsigned long start, unsigned long end);
void *vsvm_vram_page_vaddr(struct vsvm_vram *vram, struct page *page);
void vsvm_vram_print(struct vsvm_vram *vram, struct drm_printer *p);
bool vsvm_vram_flush_frees(struct vsvm_vram *vram);
struct vsvm_vram *vsvm_page_to_vram(struct page *page);

/* vsvm_vm.c */
struct vsvm_vm *vsvm_vm_create(struct vsvm_device *vdev);
void vsvm_vm_destroy(struct vsvm_vm *vm);
int vsvm_vm_fault(struct vsvm_vm *vm, unsigned long addr, bool write,
		  u32 policy, struct vsvm_stats_sink *sink);
int vsvm_vm_migrate(struct vsvm_vm *vm, unsigned long start,
		    unsigned long end, u32 target,
		    struct vsvm_stats_sink *sink);
void vsvm_vm_stats(struct vsvm_vm *vm, struct drm_vsvm_vm_stats *out);
int vsvm_vm_set_thrash(struct vsvm_vm *vm, u32 param, u64 value);
int vsvm_vm_set_prefetch(struct vsvm_vm *vm, u32 param, u64 value);
void vsvm_vm_print(struct vsvm_vm *vm, struct drm_printer *p);
void vsvm_fault_time_print(struct vsvm_device *vdev, struct drm_printer *p);

/**
 * struct vsvm_gpu_page - What the software GPU sees of one page
 * @vaddr: Kernel address of the page's first byte.
 * @vram: The page is in VRAM.
 */
struct vsvm_gpu_page {
	void *vaddr;
	bool vram;
};

int vsvm_vm_gpu_map_page(struct vsvm_vm *vm, unsigned long addr, bool write,
			 u32 policy, struct vsvm_gpu_page *gp);
void vsvm_vm_gpu_unmap_page(struct vsvm_vm *vm, struct vsvm_gpu_page *gp);
long vsvm_vm_gpu_copy(struct vsvm_vm *vm, unsigned long addr, void *buf,
		      size_t len, bool write, u32 policy,
		      unsigned long *vram_pages);
long vsvm_vm_gpu_copy_user(struct vsvm_vm *vm, unsigned long addr,
			   void __user *ubuf, size_t len, bool write,
			   u32 policy, unsigned long *vram_pages);

/* vsvm_engine.c */

/* Bytes the engine and the HMM test front end move per user copy. */
#define VSVM_BOUNCE_SIZE	SZ_64K

void *vsvm_bounce_alloc(size_t size);
int vsvm_engine_exec(struct vsvm_vm *vm, struct drm_vsvm_exec *args);

/* vsvm_dmirror.c */
int vsvm_dmirror_init(struct vsvm_device **vdevs, unsigned int n);
void vsvm_dmirror_fini(void);

/* vsvm_debugfs.c */
void vsvm_debugfs_init(struct vsvm_device *vdev);

#endif /* _VSVM_DRV_H_ */
