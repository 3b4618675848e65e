// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Copyright (c) 2026 The drm_gpusvm authors
 */

#include <linux/bitfield.h>
#include <linux/delay.h>
#include <linux/dma-direct.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>

#include <drm/drm_print.h>

#include "vsvm_drv.h"
#include "vsvm_trace.h"

/**
 * DOC: vsvm GPU VM
 *
 * Every open file owns a &struct vsvm_vm: a &struct drm_gpusvm mirroring the
 * opener's address space with chunks of 2 MiB, 64 KiB and 4 KiB, and a
 * software GPU page table made of one array of entries per range.
 *
 * A GPU page fault (vsvm_vm_fault()) does what a hardware driver's fault
 * handler does: collect the garbage, find or insert the range around the
 * address, decide on a migration, collect the pages and bind them under the
 * notifier lock, retrying if the CPU side changed meanwhile. The
 * invalidation callback zaps the entries and DMA mappings of the ranges it
 * touches and queues unmapped ranges for the garbage collector. Its worker
 * runs VSVM_GC_DELAY_MS after the first of a burst of munmap() calls: the
 * next fault or migration collects the garbage itself anyway, and a worker
 * woken by every munmap() would take the VM lock under the feet of the
 * next request (a map, use, unmap loop then spends its time handing the
 * lock back and forth).
 *
 * Locking: @lock (the driver lock of the GPU SVM) serialises faults,
 * migrations and range removal and is taken before the mmap lock; the
 * notifier lock guards the page-table entries; @gc_lock nests inside the
 * notifier lock.
 */

static const unsigned long vsvm_chunk_sizes[VSVM_NUM_CHUNKS] = {
	SZ_2M, SZ_64K, SZ_4K
};

/* The most an explicit migration moves in one allocation. */
#define VSVM_MIGRATE_SPAN	SZ_2M

/*
 * &drm_gpusvm_ctx.devmem_possible of every range insertion. A range
 * remembers it as &drm_gpusvm_range_flags.migrate_devmem for as long as
 * it lives: whether its memory can live in VRAM is a property of the
 * memory (the VMA), never of the placement policy of the request that
 * happened to create the range. Each request decides for itself whether
 * to migrate.
 */
#define VSVM_DEVMEM_POSSIBLE	1

/* Bound on retries of one GPU fault before giving up with -EBUSY. */
#define VSVM_FAULT_MAX_TRIES	64

/*
 * Tries of a device-only fault, while other GPUs may move the memory
 * away, before it takes vsvm_placement_lock exclusively.
 */
#define VSVM_FAULT_SHARED_TRIES	4

/*
 * Device-only placement on several GPUs at once: two GPUs that each want
 * the same memory in their own VRAM take it from each other, and both may
 * find it gone again every time. A device-only fault runs with this lock
 * held for read; after VSVM_FAULT_SHARED_TRIES it retries with the lock
 * held for write, so that no other GPU's device-only fault moves the
 * memory until it is bound, and then gives up only if the memory cannot be
 * in VRAM at all. Taken before the VM lock.
 */
static DECLARE_RWSEM(vsvm_placement_lock);

static int vsvm_placement_lock_shared(u32 policy)
{
	if (policy != DRM_VSVM_POLICY_DEVICE)
		return 0;
	return down_read_killable(&vsvm_placement_lock);
}

static void vsvm_placement_unlock(u32 policy, bool exclusive)
{
	if (exclusive)
		up_write(&vsvm_placement_lock);
	else if (policy == DRM_VSVM_POLICY_DEVICE)
		up_read(&vsvm_placement_lock);
}

/*
 * Retry a device-only fault with vsvm_placement_lock held for write; the
 * VM lock is dropped meanwhile. Return: 0, with the VM lock held again,
 * or -EINTR without it and without vsvm_placement_lock.
 */
static int vsvm_placement_lock_exclusive(struct vsvm_vm *vm)
{
	mutex_unlock(&vm->lock);
	up_read(&vsvm_placement_lock);
	if (down_write_killable(&vsvm_placement_lock))
		return -EINTR;
	if (mutex_lock_killable(&vm->lock)) {
		up_write(&vsvm_placement_lock);
		return -EINTR;
	}
	return 0;
}

static struct vsvm_vm *gpusvm_to_vm(struct drm_gpusvm *gpusvm)
{
	return container_of(gpusvm, struct vsvm_vm, gpusvm);
}

/**
 * vsvm_stat_add() - Account an event
 * @sink: The counters to update; NULL or members NULL are fine.
 * @idx: VSVM_STAT() of the counter.
 * @val: Amount to add.
 */
void vsvm_stat_add(struct vsvm_stats_sink *sink, unsigned int idx, u64 val)
{
	if (!sink)
		return;
	if (sink->vm)
		atomic64_add(val, &sink->vm->c[idx]);
	if (sink->job)
		((__u64 *)sink->job)[idx] += val;
}

/*
 * Range metadata is kernel memory a process asks for with a single byte
 * read: it is charged to the process's memory cgroup, and a VM holds at
 * most &vsvm_device.max_ranges ranges (the helpers then fail the insert
 * with -ENOMEM).
 */
static struct drm_gpusvm_range *vsvm_range_alloc(struct drm_gpusvm *gpusvm)
{
	struct vsvm_vm *vm = container_of(gpusvm, struct vsvm_vm, gpusvm);
	struct vsvm_range *r;

	if (atomic_inc_return(&vm->num_ranges) > READ_ONCE(vm->vdev->max_ranges))
		goto err_dec;
	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		goto err_dec;
	INIT_LIST_HEAD(&r->gc_link);

	return &r->base;

err_dec:
	atomic_dec(&vm->num_ranges);
	return NULL;
}

static void vsvm_range_free(struct drm_gpusvm_range *range)
{
	struct vsvm_vm *vm = container_of(range->gpusvm, struct vsvm_vm, gpusvm);
	struct vsvm_range *r = to_vsvm_range(range);

	kvfree(r->pte);
	kfree(r);
	atomic_dec(&vm->num_ranges);
}

/* Stop the GPU using [@start, @end) of the range. Notifier lock held. */
static void vsvm_range_zap_part_locked(struct vsvm_range *r,
				       unsigned long start, unsigned long end)
{
	unsigned long first = (start - drm_gpusvm_range_start(&r->base)) >> PAGE_SHIFT;

	if (r->pte)
		memset(r->pte + first, 0,
		       ((end - start) >> PAGE_SHIFT) * sizeof(*r->pte));
}

/* Stop the GPU: no entry of the range survives. Notifier lock held. */
static void vsvm_range_zap_locked(struct vsvm_range *r)
{
	vsvm_range_zap_part_locked(r, drm_gpusvm_range_start(&r->base),
				   drm_gpusvm_range_end(&r->base));
}

static void vsvm_invalidate(struct drm_gpusvm *gpusvm,
			    struct drm_gpusvm_notifier *notifier,
			    const struct mmu_notifier_range *mmu_range)
{
	struct vsvm_vm *vm = gpusvm_to_vm(gpusvm);
	struct drm_gpusvm_ctx ctx = { .in_notifier = true };
	struct drm_gpusvm_range *range = NULL;
	unsigned long start, end;
	bool zapped = false;

	start = max(mmu_range->start, drm_gpusvm_notifier_start(notifier));
	end = min(mmu_range->end, drm_gpusvm_notifier_end(notifier));

	drm_gpusvm_for_each_range(range, notifier, start, end) {
		struct vsvm_range *r = to_vsvm_range(range);
		bool queued = false, was_unmapped, partial;
		unsigned long zstart, zend;

		was_unmapped = drm_gpusvm_range_read_flags(range).unmapped;
		/* Split: only the part the CPU changed leaves the GPU. */
		partial = READ_ONCE(vm->split) &&
			  drm_gpusvm_range_partial_extent(range, mmu_range,
							  &zstart, &zend);
		zapped = true;
		if (partial) {
			vsvm_range_zap_part_locked(r, zstart, zend);
			drm_gpusvm_range_unmap_partial(gpusvm, range, zstart,
						       zend);
		} else {
			vsvm_range_zap_locked(r);
			drm_gpusvm_range_unmap_pages(gpusvm, range, &ctx);
			if (mmu_range->event != MMU_NOTIFY_UNMAP)
				continue;
			drm_gpusvm_range_set_unmapped(range, mmu_range);
		}
		/*
		 * Queued once, on its first unmap. A later munmap() of another
		 * part of it must not queue it again: the worker may have taken
		 * it off the list already and be about to remove it, and would
		 * then remove it twice.
		 */
		if (was_unmapped)
			continue;
		spin_lock(&vm->gc_lock);
		/* Closing: drm_gpusvm_fini() removes it, not the worker. */
		if (!vm->closing && list_empty(&r->gc_link)) {
			drm_gpusvm_range_get(range);
			list_add_tail(&r->gc_link, &vm->gc_list);
			queued = true;
		}
		spin_unlock(&vm->gc_lock);
		if (queued)
			queue_delayed_work(system_unbound_wq, &vm->gc_work,
					   msecs_to_jiffies(VSVM_GC_DELAY_MS));
	}

	if (zapped) {
		atomic64_inc(&vm->stats.c[VSVM_STAT(invalidations)]);
		trace_vsvm_invalidate(vm->vdev->index, start, end, mmu_range->event);
	}
}

static const struct drm_gpusvm_ops vsvm_gpusvm_ops = {
	.range_alloc = vsvm_range_alloc,
	.range_free = vsvm_range_free,
	.invalidate = vsvm_invalidate,
};

static struct vsvm_range *vsvm_gc_pop(struct vsvm_vm *vm)
{
	struct vsvm_range *r;

	spin_lock(&vm->gc_lock);
	r = list_first_entry_or_null(&vm->gc_list, struct vsvm_range, gc_link);
	if (r)
		list_del_init(&r->gc_link);
	spin_unlock(&vm->gc_lock);

	return r;
}

/* Give a range its page-table entries, all invalid. */
static int vsvm_range_alloc_ptes(struct vsvm_range *r)
{
	u64 *pte;

	if (r->pte)
		return 0;
	pte = kvcalloc(drm_gpusvm_range_npages(&r->base), sizeof(*pte),
		       GFP_KERNEL_ACCOUNT);
	if (!pte)
		return -ENOMEM;
	/* Readers look at the pointer under the notifier lock only. */
	smp_store_release(&r->pte, pte);

	return 0;
}

/*
 * Replace a partly unmapped range by the ranges the GPU SVM splits it into,
 * and hand them the GPU page-table entries of the old one: the GPU goes on
 * using them without a fault. The CPU may have changed the new ranges
 * since the split (their entries, not allocated yet, could not be zapped):
 * only blocks they still map get entries.
 * Return: as drm_gpusvm_range_split().
 */
static int vsvm_vm_split(struct vsvm_vm *vm, struct vsvm_range *old)
{
	struct drm_gpusvm_notifier *notifier = old->base.notifier;
	unsigned long start = drm_gpusvm_range_start(&old->base);
	unsigned long end = drm_gpusvm_range_end(&old->base);
	struct drm_gpusvm_range *range = NULL;
	int n;

	n = drm_gpusvm_range_split(&vm->gpusvm, &old->base);
	if (n <= 0)
		return n;

	/* Without entries, the GPU faults there and binds them again. */
	drm_gpusvm_for_each_range(range, notifier, start, end)
		vsvm_range_alloc_ptes(to_vsvm_range(range));

	/* A cursor that is not NULL would resume the walk. */
	range = NULL;
	drm_gpusvm_notifier_lock(&vm->gpusvm);
	drm_gpusvm_for_each_range(range, notifier, start, end) {
		struct vsvm_range *r = to_vsvm_range(range);
		unsigned long npages = drm_gpusvm_range_npages(range);
		unsigned long first = (drm_gpusvm_range_start(range) - start) >>
				      PAGE_SHIFT;
		struct drm_pagemap_device_addr *da;
		unsigned long i;

		if (!old->pte || !r->pte || !range->flags.has_dma_mapping)
			continue;
		drm_gpusvm_for_each_dma_block(range, da, i)
			if (drm_gpusvm_dma_block_mapped(da))
				memcpy(r->pte + i, old->pte + first + i,
				       min(1UL << da->order, npages - i) *
				       sizeof(*r->pte));
		r->writable = old->writable;
	}
	drm_gpusvm_notifier_unlock(&vm->gpusvm);

	atomic64_inc(&vm->ranges_split);
	atomic64_add(n, &vm->split_pieces);
	trace_vsvm_range_split(vm->vdev->index, start, end, n);

	return n;
}

/*
 * Remove the ranges the CPU unmapped, or split those it unmapped in part.
 * A range the CPU unmapped as a whole and has mapped new memory over since
 * (free, then allocate again) is kept for that memory instead: the
 * invalidation zapped its entries, as a new range has none.
 */
static void vsvm_vm_gc_locked(struct vsvm_vm *vm)
{
	struct vsvm_range *r;
	bool keep;

	lockdep_assert_held(&vm->lock);
	while ((r = vsvm_gc_pop(vm))) {
		if (r->base.flags.partial_unmap)
			keep = vsvm_vm_split(vm, r) >= 0;
		else
			keep = drm_gpusvm_range_reuse(&vm->gpusvm, &r->base);
		if (!keep)
			drm_gpusvm_range_remove(&vm->gpusvm, &r->base);
		drm_gpusvm_range_put(&r->base);
	}
}

static void vsvm_vm_gc_work(struct work_struct *work)
{
	struct vsvm_vm *vm = container_of(to_delayed_work(work),
					  struct vsvm_vm, gc_work);

	mutex_lock(&vm->lock);
	vsvm_vm_gc_locked(vm);
	mutex_unlock(&vm->lock);
}

/**
 * vsvm_vm_create() - Create the GPU VM of a file opened by current
 * @vdev: The device.
 *
 * Return: The VM, or ERR_PTR(-ENOMEM), ERR_PTR(-EINVAL) without an mm.
 */
struct vsvm_vm *vsvm_vm_create(struct vsvm_device *vdev)
{
	struct vsvm_vm *vm;
	int err;

	if (!current->mm)
		return ERR_PTR(-EINVAL);

	vm = kzalloc(sizeof(*vm), GFP_KERNEL);
	if (!vm)
		return ERR_PTR(-ENOMEM);

	mutex_init(&vm->lock);
	spin_lock_init(&vm->gc_lock);
	INIT_LIST_HEAD(&vm->gc_list);
	INIT_DELAYED_WORK(&vm->gc_work, vsvm_vm_gc_work);
	vm->vdev = vdev;
	vm->mm = current->mm;
	vm->split = true;
	vm->thrash = true;
	vm->prefetch = 51;
	vm->fault_size = SZ_2M;

	err = drm_gpusvm_init(&vm->gpusvm, "vsvm", &vdev->drm, current->mm,
			      vdev->vram.owner, 0, TASK_SIZE & PAGE_MASK, SZ_512M,
			      &vsvm_gpusvm_ops, vsvm_chunk_sizes,
			      ARRAY_SIZE(vsvm_chunk_sizes));
	if (err) {
		mutex_destroy(&vm->lock);
		kfree(vm);
		return ERR_PTR(err);
	}
	drm_gpusvm_driver_set_lock(&vm->gpusvm, &vm->lock);
	vm->thrash_lapse_ns = vm->gpusvm.thrash.lapse_ns;

	return vm;
}

/**
 * vsvm_vm_destroy() - Destroy a GPU VM
 * @vm: The VM.
 *
 * Memory the VM migrated to VRAM stays there, mapped in the process, until
 * the CPU touches it, it is evicted or the process goes away.
 *
 * The CPU may unmap mirrored memory meanwhile (another thread of the
 * process, while this one closes the file): the invalidation callback
 * keeps running until drm_gpusvm_fini() has removed the notifiers, so it
 * stops queuing ranges first; drm_gpusvm_fini() removes them all, and
 * the garbage collector never sees a removed range.
 */
void vsvm_vm_destroy(struct vsvm_vm *vm)
{
	u32 delay_us = READ_ONCE(vm->vdev->vm_destroy_delay_us);

	mutex_lock(&vm->lock);
	spin_lock(&vm->gc_lock);
	vm->closing = true;
	spin_unlock(&vm->gc_lock);
	/* Ranges queued before: their references go with them. */
	vsvm_vm_gc_locked(vm);
	if (delay_us)
		fsleep(delay_us);
	drm_gpusvm_fini(&vm->gpusvm);
	mutex_unlock(&vm->lock);

	/* A worker waiting for the lock found nothing to do. */
	cancel_delayed_work_sync(&vm->gc_work);
	WARN_ON(!list_empty(&vm->gc_list));

	mutex_destroy(&vm->lock);
	kfree(vm);
}

/*
 * Migrate the range to a new allocation of the VM's device; @by_fault
 * tells a GPU fault's migration from an explicit one (see
 * vsvm_vram_evict_faulted()).
 */
static int vsvm_vm_migrate_to_vram(struct vsvm_vm *vm,
				   unsigned long start, unsigned long end,
				   unsigned long timeslice_ms, bool by_fault,
				   bool peers, struct vsvm_stats_sink *sink)
{
	struct vsvm_vram *vram = &vm->vdev->vram;
	struct vsvm_alloc *alloc;
	s64 before;
	int err;

	lockdep_assert_held(&vm->lock);

	alloc = vsvm_vram_alloc(vram, end - start, vm->mm, sink);
	if (IS_ERR(alloc))
		return PTR_ERR(alloc);
	alloc->start = start;
	alloc->end = end;
	alloc->by_fault = by_fault;

	if (!mmget_not_zero(vm->mm)) {
		vsvm_vram_alloc_abort(alloc);
		return -EFAULT;
	}

	before = atomic64_read(&vram->to_vram);
	mmap_read_lock(vm->mm);
	err = drm_pagemap_migrate_to_devmem_flags(&alloc->devmem, vm->mm, start,
						  end, timeslice_ms, vram->owner,
						  peers && vram->linked ?
						  DRM_PAGEMAP_MIGRATE_PEERS : 0);
	mmap_read_unlock(vm->mm);
	mmput(vm->mm);

	if (err) {
		vsvm_vram_alloc_abort(alloc);
		return err;
	}
	vsvm_vram_alloc_commit(alloc);
	vsvm_stat_add(sink, VSVM_STAT(pages_to_vram),
		      atomic64_read(&vram->to_vram) - before);
	trace_vsvm_migrate(vm->vdev->index, start, end, true);

	return 0;
}

/*
 * Move the device pages of the ranges intersecting [@start, @end) to system
 * memory, in one migration where they allow it.
 */
static int vsvm_vm_evict_span(struct vsvm_vm *vm, unsigned long start,
			      unsigned long end, struct vsvm_stats_sink *sink)
{
	struct vsvm_vram *vram = &vm->vdev->vram;
	s64 before = atomic64_read(&vram->to_ram);
	int err;

	err = drm_gpusvm_evict_span(&vm->gpusvm, start, end);
	vsvm_stat_add(sink, VSVM_STAT(pages_to_ram),
		      atomic64_read(&vram->to_ram) - before);
	trace_vsvm_migrate(vm->vdev->index, start, end, false);

	return err;
}

static int vsvm_vm_evict_range(struct vsvm_vm *vm,
			       struct drm_gpusvm_range *range,
			       struct vsvm_stats_sink *sink)
{
	return vsvm_vm_evict_span(vm, drm_gpusvm_range_start(range),
				  drm_gpusvm_range_end(range), sink);
}

/*
 * Move what other GPUs' coherent memory holds of the range to system
 * memory. The GPU reads and writes it in place, but device-only placement
 * (atomics) needs it in our VRAM, and the migration to VRAM only collects
 * system memory.
 */
static void vsvm_vm_evict_peers(struct vsvm_vm *vm,
				struct drm_gpusvm_range *range)
{
	unsigned int i;

	if (!mmget_not_zero(vm->mm))
		return;
	mmap_read_lock(vm->mm);
	for (i = 0; i < VSVM_MAX_DEVICES; i++) {
		struct vsvm_device *vdev = vsvm_device_by_index(i);

		if (!vdev || vdev == vm->vdev || !vdev->vram.coherent)
			continue;
		drm_pagemap_migrate_range_to_ram(vm->mm,
						 drm_gpusvm_range_start(range),
						 drm_gpusvm_range_end(range),
						 vdev->vram.owner);
	}
	mmap_read_unlock(vm->mm);
	mmput(vm->mm);
}

/*
 * Why the GPU SVM refused @addr with -EPERM: a write to read-only memory
 * (-EPERM), or memory the process cannot access at all, like PROT_NONE
 * (-EFAULT, as the CPU would get SIGSEGV).
 */
static int vsvm_vm_access_error(struct vsvm_vm *vm, unsigned long addr)
{
	struct vm_area_struct *vma;
	int err = -EFAULT;

	if (!mmget_not_zero(vm->mm))
		return -EFAULT;
	mmap_read_lock(vm->mm);
	vma = vma_lookup(vm->mm, addr);
	if (vma && (vma->vm_flags & VM_READ))
		err = -EPERM;
	mmap_read_unlock(vm->mm);
	mmput(vm->mm);

	return err;
}

/* Publish the range's pages in its page-table entries. */
static void vsvm_vm_bind_locked(struct vsvm_range *r, bool writable)
{
	struct drm_gpusvm_range *range = &r->base;
	unsigned long i, j, npages = drm_gpusvm_range_npages(range);
	struct drm_pagemap_device_addr *da;

	/* One entry per block: a huge page fills 512 entries of the table. */
	drm_gpusvm_for_each_dma_block(range, da, i) {
		u64 flags = VSVM_PTE_VALID;

		if (writable)
			flags |= VSVM_PTE_WRITE;
		if (da->proto == DRM_INTERCONNECT_DRIVER)
			flags |= VSVM_PTE_VRAM;
		else if (da->proto == VSVM_INTERCONNECT_LINK)
			flags |= VSVM_PTE_PEER;

		for (j = 0; j < (1UL << da->order) && i + j < npages; j++)
			r->pte[i + j] = (da->addr + j * PAGE_SIZE) | flags;
	}
	r->writable = writable;
}

/*
 * Release the pages of a range, entries first: they must never point at
 * released mappings.
 */
static void vsvm_range_release_pages(struct vsvm_vm *vm, struct vsvm_range *r,
				     const struct drm_gpusvm_ctx *ctx)
{
	drm_gpusvm_notifier_lock(&vm->gpusvm);
	vsvm_range_zap_locked(r);
	drm_gpusvm_notifier_unlock(&vm->gpusvm);
	drm_gpusvm_range_unmap_pages(&vm->gpusvm, &r->base, ctx);
}

/*
 * Publish the pages just collected for the range, unless the CPU side
 * invalidated them meanwhile (false: collect them again).
 */
static bool vsvm_vm_bind(struct vsvm_vm *vm, struct vsvm_range *r,
			 bool writable)
{
	bool valid;

	drm_gpusvm_notifier_lock(&vm->gpusvm);
	valid = drm_gpusvm_range_pages_valid(&vm->gpusvm, &r->base);
	if (valid)
		vsvm_vm_bind_locked(r, writable);
	drm_gpusvm_notifier_unlock(&vm->gpusvm);

	return valid;
}

/*
 * A prefetch also maps what it migrated, so that the GPU finds it bound:
 * writable, or readable only for read-only memory. Best effort: if the
 * pages change meanwhile, the next GPU fault binds them.
 */
static void vsvm_vm_prefetch_bind(struct vsvm_vm *vm,
				  struct drm_gpusvm_range *range)
{
	struct drm_gpusvm_ctx ctx = {
		.devmem_possible = 1,
		.allow_mixed = 1,
	};
	struct vsvm_range *r = to_vsvm_range(range);
	int err;

	lockdep_assert_held(&vm->lock);

	/* Unmapped meanwhile: the garbage collector removes it. */
	if (range->flags.unmapped || vsvm_range_alloc_ptes(r))
		return;

	err = drm_gpusvm_range_get_pages(&vm->gpusvm, range, &ctx);
	if (err == -EACCES) {
		/* Bound read-only: unbound before the pages are released. */
		vsvm_range_release_pages(vm, r, &ctx);
		err = drm_gpusvm_range_get_pages(&vm->gpusvm, range, &ctx);
	}
	if (err == -EPERM) {
		/* Read-only memory: readable is the best the GPU gets. */
		ctx.read_only = 1;
		err = drm_gpusvm_range_get_pages(&vm->gpusvm, range, &ctx);
	}
	if (!err)
		vsvm_vm_bind(vm, r, !ctx.read_only);
}

/*
 * A GPU fault's time since @start; with @stages, also split by stage as it
 * goes (@lap: the end of the last stage).
 */
struct vsvm_fault_clock {
	u64 start;
	u64 lap;
	bool stages;
	u64 ns[VSVM_NUM_STAGES];
};

static void vsvm_fault_clock_start(struct vsvm_fault_clock *clock,
				   struct vsvm_device *vdev)
{
	clock->start = ktime_get_ns();
	clock->lap = clock->start;
	clock->stages = READ_ONCE(vdev->fault_time.stages);
}

/* The time since the last lap was spent in @stage. */
static void vsvm_fault_lap(struct vsvm_fault_clock *clock,
			   enum vsvm_fault_stage stage)
{
	u64 now;

	if (!clock->stages)
		return;
	now = ktime_get_ns();
	clock->ns[stage] += now - clock->lap;
	clock->lap = now;
}

/*
 * Account a fault that bound a range of @size bytes, under the smallest
 * chunk size that holds it (a range cut at a VMA edge is smaller than its
 * chunk), its last stage ending now.
 */
static void vsvm_fault_time_add(struct vsvm_device *vdev, unsigned long size,
				bool migrated, struct vsvm_fault_clock *clock,
				enum vsvm_fault_stage last)
{
	struct vsvm_fault_time *ft = &vdev->fault_time;
	u64 total;
	int i, s;

	for (i = VSVM_NUM_CHUNKS - 1; i >= 0; i--)
		if (size <= vsvm_chunk_sizes[i])
			break;
	if (i < 0)
		return;
	if (clock->stages) {
		vsvm_fault_lap(clock, last);
		for (s = 0; s < VSVM_NUM_STAGES; s++)
			atomic64_add(clock->ns[s], &ft->stage_ns[migrated][i][s]);
		atomic64_inc(&ft->staged[migrated][i]);
		total = clock->lap - clock->start;
	} else {
		total = ktime_get_ns() - clock->start;
	}
	atomic64_inc(&ft->count[migrated][i]);
	atomic64_add(total, &ft->ns[migrated][i]);
}

static const char *const vsvm_fault_stage_names[VSVM_NUM_STAGES] = {
	[VSVM_STAGE_WAIT] = "wait",
	[VSVM_STAGE_GC] = "gc",
	[VSVM_STAGE_FIND] = "find",
	[VSVM_STAGE_MIGRATE] = "migrate",
	[VSVM_STAGE_PAGES] = "pages",
	[VSVM_STAGE_BIND] = "bind",
	[VSVM_STAGE_RETRY] = "retry",
};

/**
 * vsvm_fault_time_print() - Print the fault service times of a device
 * @vdev: The device.
 * @p: Where to.
 *
 * After a "device <index>" line, two lines per range size and kind of
 * fault: "fault <range bytes> <migrated 0|1> <count> <total ns>", then
 * "stages <range bytes> <migrated 0|1>" followed by "faults <count>" (of
 * those faults, the ones timed by stage, see &vsvm_fault_time.stages) and
 * a "<stage> <ns>" pair for each &enum vsvm_fault_stage, which add up to
 * the total of the faults timed by stage.
 */
void vsvm_fault_time_print(struct vsvm_device *vdev, struct drm_printer *p)
{
	struct vsvm_fault_time *ft = &vdev->fault_time;
	int m, i, s;

	drm_printf(p, "device %u\n", vdev->index);
	for (m = 0; m < 2; m++) {
		for (i = 0; i < VSVM_NUM_CHUNKS; i++) {
			drm_printf(p, "fault %lu %d %lld %lld\n",
				   vsvm_chunk_sizes[i], m,
				   atomic64_read(&ft->count[m][i]),
				   atomic64_read(&ft->ns[m][i]));
			drm_printf(p, "stages %lu %d faults %lld",
				   vsvm_chunk_sizes[i], m,
				   atomic64_read(&ft->staged[m][i]));
			for (s = 0; s < VSVM_NUM_STAGES; s++)
				drm_printf(p, " %s %lld",
					   vsvm_fault_stage_names[s],
					   atomic64_read(&ft->stage_ns[m][i][s]));
			drm_printf(p, "\n");
		}
	}
}

/*
 * May a GPU fault under @policy migrate @range now? Only the default
 * policy is held back: DRM_VSVM_POLICY_DEVICE needs VRAM whatever it costs.
 */
static enum drm_gpusvm_thrash
vsvm_vm_thrash_check(struct vsvm_vm *vm, struct drm_gpusvm_range *range,
		     u32 policy, u64 *wait_ns)
{
	enum drm_gpusvm_thrash thrash;

	*wait_ns = 0;
	if (policy != DRM_VSVM_POLICY_MIGRATE)
		return DRM_GPUSVM_THRASH_NONE;

	thrash = drm_gpusvm_range_thrash_check(&vm->gpusvm, range,
					       ktime_get_ns(), wait_ns);
	if (thrash == DRM_GPUSVM_THRASH_PIN)
		atomic64_inc(&vm->thrash_pinned_faults);
	else if (thrash == DRM_GPUSVM_THRASH_THROTTLE)
		atomic64_inc(&vm->thrash_throttles);
	if (thrash != DRM_GPUSVM_THRASH_NONE)
		trace_vsvm_thrash(vm->vdev->index, drm_gpusvm_range_start(range),
				  drm_gpusvm_range_end(range), thrash);

	return thrash;
}

/* Count a migration of @range by a GPU fault; it may pin the range. */
static void vsvm_vm_thrash_note(struct vsvm_vm *vm,
				struct drm_gpusvm_range *range)
{
	if (drm_gpusvm_range_thrash_note(&vm->gpusvm, range, ktime_get_ns()) ==
	    DRM_GPUSVM_THRASH_PIN)
		atomic64_inc(&vm->thrash_pins);
}

static void vsvm_vm_prefetch(struct vsvm_vm *vm, struct drm_gpusvm_range *range,
			     u32 policy, struct vsvm_stats_sink *sink);

/**
 * vsvm_vm_fault() - Service a GPU page fault
 * @vm: The VM.
 * @addr: The faulting GPU (= CPU) address.
 * @write: The GPU wants to write.
 * @policy: DRM_VSVM_POLICY_*, or VSVM_POLICY_IN_PLACE: bind the pages
 *	where they are, without migrating.
 * @sink: Where to account what happened.
 *
 * Context: Process context of the VM's owner; takes the VM lock and the
 * mmap lock.
 * Return: 0 once the page at @addr is bound (the GPU retries its access),
 * -EFAULT for memory the CPU has not mapped, -EPERM for a write to
 * read-only memory, -EOPNOTSUPP if %DRM_VSVM_POLICY_DEVICE cannot be met,
 * -EBUSY if the CPU side kept changing, -ENOMEM, -EINTR if the task was
 * killed.
 */
int vsvm_vm_fault(struct vsvm_vm *vm, unsigned long addr, bool write,
		  u32 policy, struct vsvm_stats_sink *sink)
{
	struct drm_gpusvm_ctx ctx = {
		.check_pages_threshold = SZ_64K,
		.timeslice_ms = vm->timeslice_ms,
		.devmem_possible = VSVM_DEVMEM_POSSIBLE,
		.devmem_only = policy == DRM_VSVM_POLICY_DEVICE,
		.allow_mixed = policy != DRM_VSVM_POLICY_DEVICE,
	};
	struct drm_gpusvm_range *range;
	struct vsvm_range *r;
	bool nothing_moved = false, migrated = false, throttled = false;
	bool exclusive = false;
	struct vsvm_fault_clock clock = {};
	int tries = 0, migrate_tries = 0, err;
	unsigned long size;
	u64 wait_ns;

	vsvm_fault_clock_start(&clock, vm->vdev);
	trace_vsvm_gpu_fault(vm->vdev->index, addr, write, policy);
	vsvm_stat_add(sink, VSVM_STAT(gpu_faults), 1);

	/* Killable only: a signal must not fail a job half done. */
	err = vsvm_placement_lock_shared(policy);
	if (err)
		return err;
	err = mutex_lock_killable(&vm->lock);
	if (err) {
		vsvm_placement_unlock(policy, false);
		return err;
	}
	vsvm_fault_lap(&clock, VSVM_STAGE_WAIT);

retry:
	vsvm_fault_lap(&clock, VSVM_STAGE_RETRY);
	if (++tries > VSVM_FAULT_MAX_TRIES) {
		err = -EBUSY;
		goto out_unlock;
	}
	if (tries > 1)
		vsvm_stat_add(sink, VSVM_STAT(fault_retries), 1);
	if (fatal_signal_pending(current)) {
		err = -EINTR;
		goto out_unlock;
	}

	vsvm_vm_gc_locked(vm);
	vsvm_fault_lap(&clock, VSVM_STAGE_GC);

	/* DRM_VSVM_PARAM_FAULT_SIZE: a window no larger than that. */
	range = drm_gpusvm_range_find_or_insert(&vm->gpusvm, addr,
						vm->fault_size < SZ_2M ?
						ALIGN_DOWN(addr, vm->fault_size) : 0,
						vm->fault_size < SZ_2M ?
						ALIGN_DOWN(addr, vm->fault_size) +
						vm->fault_size :
						TASK_SIZE & PAGE_MASK, &ctx);
	vsvm_fault_lap(&clock, VSVM_STAGE_FIND);
	if (IS_ERR(range)) {
		err = PTR_ERR(range);
		if (err == -EPERM) {
			err = vsvm_vm_access_error(vm, addr);
			/* A read may use read-only memory. */
			if (err == -EPERM && !write && !ctx.read_only) {
				ctx.read_only = 1;
				goto retry;
			}
		}
		goto out_unlock;
	}
	r = to_vsvm_range(range);

	/* Unmapped after the garbage collection above: collect it too. */
	if (range->flags.unmapped)
		goto retry;

	if (policy == DRM_VSVM_POLICY_DEVICE && !range->flags.migrate_devmem) {
		err = -EOPNOTSUPP;
		goto out_unlock;
	}

	if (policy != DRM_VSVM_POLICY_SYSTEM && policy != VSVM_POLICY_IN_PLACE &&
	    range->flags.migrate_devmem && !range->flags.has_devmem_pages &&
	    migrate_tries < 2) {
		switch (vsvm_vm_thrash_check(vm, range, policy, &wait_ns)) {
		case DRM_GPUSVM_THRASH_PIN:
			/* Pinned: the GPU uses it in system memory. */
			goto collect;
		case DRM_GPUSVM_THRASH_THROTTLE:
			if (throttled)
				break;
			/* Let the CPU finish with it first, once. */
			throttled = true;
			mutex_unlock(&vm->lock);
			fsleep(div_u64(wait_ns, NSEC_PER_USEC) + 1);
			err = mutex_lock_killable(&vm->lock);
			if (err) {
				vsvm_placement_unlock(policy, exclusive);
				return err;
			}
			vsvm_fault_lap(&clock, VSVM_STAGE_MIGRATE);
			goto retry;
		default:
			break;
		}
		migrate_tries++;
		/* Device-only placement takes it from a linked GPU too. */
		err = vsvm_vm_migrate_to_vram(vm, drm_gpusvm_range_start(range),
					      drm_gpusvm_range_end(range),
					      ctx.timeslice_ms, true,
					      policy == DRM_VSVM_POLICY_DEVICE,
					      sink);
		if (!err && policy == DRM_VSVM_POLICY_MIGRATE)
			vsvm_vm_thrash_note(vm, range);
		migrated |= !err;
		nothing_moved = err == -EBUSY;
		/*
		 * Without room in VRAM, or with pages that could not be
		 * collected, the default policy runs from system memory.
		 */
		if (err && policy == DRM_VSVM_POLICY_DEVICE && err != -EBUSY)
			goto out_unlock;
	}

collect:
	vsvm_fault_lap(&clock, VSVM_STAGE_MIGRATE);
	err = vsvm_range_alloc_ptes(r);
	if (err)
		goto out_unlock;

	err = drm_gpusvm_range_get_pages(&vm->gpusvm, range, &ctx);
	if (err == -EACCES) {
		/* Collected read-only, written now: collect them again. */
		vsvm_range_release_pages(vm, r, &ctx);
		err = drm_gpusvm_range_get_pages(&vm->gpusvm, range, &ctx);
	}
	vsvm_fault_lap(&clock, VSVM_STAGE_PAGES);
	if (err == -EPERM) {
		err = vsvm_vm_access_error(vm, addr);
		if (err == -EPERM && !write && !ctx.read_only) {
			ctx.read_only = 1;
			goto retry;
		}
		goto out_unlock;
	}
	if (err == -EOPNOTSUPP || err == -EAGAIN ||
	    (err == -EFAULT && policy == DRM_VSVM_POLICY_DEVICE)) {
		/*
		 * Mixed placement, a race with the CPU, or device-only
		 * memory that is not (yet) all in VRAM: start over.
		 */
		if (err != -EAGAIN)
			vsvm_vm_evict_range(vm, range, sink);
		if (err == -EFAULT) {
			vsvm_vm_evict_peers(vm, range);
			migrate_tries = 0;
		}
		if (err != -EAGAIN && tries > VSVM_FAULT_SHARED_TRIES) {
			if (policy == DRM_VSVM_POLICY_DEVICE && !exclusive)
				goto go_exclusive;
			err = policy == DRM_VSVM_POLICY_DEVICE ? -EOPNOTSUPP : err;
			goto out_unlock;
		}
		goto retry;
	}
	if (err)
		goto out_unlock;

	/*
	 * Nothing could be collected for migration because the pages were in
	 * another device's memory; collecting them just brought them back to
	 * system memory, so they can move to ours now.
	 */
	if (nothing_moved && policy != DRM_VSVM_POLICY_SYSTEM &&
	    !range->flags.has_devmem_pages && migrate_tries < 2) {
		nothing_moved = false;
		goto retry;
	}

	if (policy == DRM_VSVM_POLICY_SYSTEM && range->flags.has_devmem_pages) {
		vsvm_vm_evict_range(vm, range, sink);
		goto retry;
	}

	/*
	 * Device-only placement of memory a linked GPU holds: the GPU could
	 * reach it in place, but it must be in our VRAM. Through system
	 * memory, then migrate.
	 */
	if (policy == DRM_VSVM_POLICY_DEVICE && range->flags.has_devmem_pages &&
	    range->dpagemap != &vm->vdev->vram.dpagemap) {
		if (tries > VSVM_FAULT_SHARED_TRIES) {
			if (!exclusive)
				goto go_exclusive;
			err = -EOPNOTSUPP;
			goto out_unlock;
		}
		vsvm_vm_evict_range(vm, range, sink);
		migrate_tries = 0;
		goto retry;
	}

	if (!vsvm_vm_bind(vm, r, !ctx.read_only))
		goto retry;
	size = drm_gpusvm_range_size(range);
	/*
	 * The prefetch may collect the range's garbage: not used after. The
	 * HMM test front end faults what it is asked, as lib/test_hmm does.
	 */
	if (vm->prefetch && policy != VSVM_POLICY_IN_PLACE)
		vsvm_vm_prefetch(vm, range, policy, sink);
	vsvm_fault_time_add(vm->vdev, size, migrated, &clock, VSVM_STAGE_BIND);

out_unlock:
	mutex_unlock(&vm->lock);
	vsvm_placement_unlock(policy, exclusive);
	return err;

go_exclusive:
	/* Other GPUs kept taking the memory: once more, alone. */
	err = vsvm_placement_lock_exclusive(vm);
	if (err)
		return err;
	exclusive = true;
	tries = 0;
	migrate_tries = 0;
	goto retry;
}

/*
 * The entries of the range holding @addr, NULL if there is none yet; its
 * bounds in @start and @end. The caller holds the notifier lock.
 */
static u64 *vsvm_vm_ptes_locked(struct vsvm_vm *vm, unsigned long addr,
				unsigned long *start, unsigned long *end)
{
	struct drm_gpusvm_notifier *notifier;
	struct drm_gpusvm_range *range;

	notifier = drm_gpusvm_notifier_find(&vm->gpusvm, addr, addr + 1);
	if (!notifier)
		return NULL;
	range = drm_gpusvm_range_find(notifier, addr, addr + 1);
	if (!range)
		return NULL;
	*start = drm_gpusvm_range_start(range);
	*end = drm_gpusvm_range_end(range);

	/* Pairs with the release in vsvm_range_alloc_ptes(): zeroed entries. */
	return smp_load_acquire(&to_vsvm_range(range)->pte);
}

/* Whether an entry serves an access under a DRM_VSVM_POLICY_* placement. */
static bool vsvm_pte_allows(u64 entry, bool write, u32 policy)
{
	if (!(entry & VSVM_PTE_VALID) || (write && !(entry & VSVM_PTE_WRITE)))
		return false;

	switch (policy) {
	case DRM_VSVM_POLICY_SYSTEM:
		return !(entry & (VSVM_PTE_VRAM | VSVM_PTE_PEER));
	case DRM_VSVM_POLICY_DEVICE:
		return entry & VSVM_PTE_VRAM;
	default:
		return true;
	}
}

/* Where the software GPU finds the page an entry points to. */
static void *vsvm_pte_vaddr(struct vsvm_vm *vm, u64 entry)
{
	if (entry & VSVM_PTE_VRAM)
		return vm->vdev->vram.vaddr + (entry & VSVM_PTE_ADDR_MASK);
	if (entry & VSVM_PTE_PEER)
		return vsvm_link_vaddr(entry);

	return phys_to_virt(dma_to_phys(vm->vdev->drm.dev,
					entry & VSVM_PTE_ADDR_MASK));
}

/**
 * vsvm_vm_gpu_map_page() - Let the software GPU access one page
 * @vm: The VM.
 * @addr: GPU address inside the page.
 * @write: The access writes.
 * @policy: DRM_VSVM_POLICY_*: where the page must be (atomics need VRAM).
 * @gp: Output: where the page is.
 *
 * On success the VM lock and the notifier lock are held until
 * vsvm_vm_gpu_unmap_page(): the entry cannot be invalidated meanwhile, as
 * hardware would finish its access before acknowledging an invalidation.
 *
 * Return: 0, or -ENOENT for a GPU page fault, -EINTR if the task was killed.
 */
int vsvm_vm_gpu_map_page(struct vsvm_vm *vm, unsigned long addr, bool write,
			 u32 policy, struct vsvm_gpu_page *gp)
{
	unsigned long start, end;
	u64 *pte, entry;

	if (mutex_lock_killable(&vm->lock))
		return -EINTR;
	drm_gpusvm_notifier_lock(&vm->gpusvm);

	pte = vsvm_vm_ptes_locked(vm, addr, &start, &end);
	if (!pte)
		goto miss;
	entry = pte[(addr - start) >> PAGE_SHIFT];
	if (!vsvm_pte_allows(entry, write, policy))
		goto miss;

	gp->vaddr = vsvm_pte_vaddr(vm, entry);
	gp->vram = entry & VSVM_PTE_VRAM;

	return 0;

miss:
	drm_gpusvm_notifier_unlock(&vm->gpusvm);
	mutex_unlock(&vm->lock);
	return -ENOENT;
}

/**
 * vsvm_vm_gpu_unmap_page() - End an access started by vsvm_vm_gpu_map_page()
 * @vm: The VM.
 * @gp: The page.
 */
void vsvm_vm_gpu_unmap_page(struct vsvm_vm *vm, struct vsvm_gpu_page *gp)
{
	drm_gpusvm_notifier_unlock(&vm->gpusvm);
	mutex_unlock(&vm->lock);
}

/* Bytes of a GPU access staged on the stack on their way to user memory. */
#define VSVM_GPU_STAGE	512

/* Pages of a GPU access moved under one opening of user access. */
#define VSVM_GPU_BATCH	16

/*
 * @n aligned words from @mem, which the CPU may be storing to, each read
 * whole; four at a time, which emulators run much faster than one.
 */
static void vsvm_words_read(unsigned long *dst, const unsigned long *mem,
			    size_t n)
{
	size_t i = 0;

	for (; i + 4 <= n; i += 4) {
		unsigned long w0 = READ_ONCE(mem[i]), w1 = READ_ONCE(mem[i + 1]);
		unsigned long w2 = READ_ONCE(mem[i + 2]), w3 = READ_ONCE(mem[i + 3]);

		dst[i] = w0;
		dst[i + 1] = w1;
		dst[i + 2] = w2;
		dst[i + 3] = w3;
	}
	for (; i < n; i++)
		dst[i] = READ_ONCE(mem[i]);
}

/* @n aligned words into @mem, each written whole. */
static void vsvm_words_write(unsigned long *mem, const unsigned long *src,
			     size_t n)
{
	size_t i = 0;

	for (; i + 4 <= n; i += 4) {
		WRITE_ONCE(mem[i], src[i]);
		WRITE_ONCE(mem[i + 1], src[i + 1]);
		WRITE_ONCE(mem[i + 2], src[i + 2]);
		WRITE_ONCE(mem[i + 3], src[i + 3]);
	}
	for (; i < n; i++)
		WRITE_ONCE(mem[i], src[i]);
}

/*
 * Pages of one GPU access that go straight to or from user memory under a
 * single opening of user access: @va[k] and @len[k] bytes there, in the
 * order of the user buffer; bit k of @vram says entry k ends a page of our
 * VRAM.
 */
struct vsvm_gpu_batch {
	void *va[VSVM_GPU_BATCH];
	unsigned int len[VSVM_GPU_BATCH];
	unsigned long vram;
	unsigned int count;
	size_t bytes;
};

/*
 * Move the pages of @b, memory the CPU may be using, between their kernel
 * addresses and the user memory from @ubuf on, when both sides share their
 * offset within a word: every aligned word of a page is read or written
 * whole (see vsvm_gpu_move()) and stored to or loaded from user memory in
 * one access, no staging copy and no string copy in between (x86's
 * unsafe_copy_to_user() reads words too, but other architectures fall back
 * to a string copy there). Page faults stay disabled, as in
 * copy_to_user_nofault(): the caller holds the notifier lock. Nothing is
 * called while user access is open, which it is once for the whole batch:
 * under QEMU's TCG, opening and closing it costs about half of what moving
 * a page does.
 * Return: the number of entries moved whole; fewer than @b->count if a user
 * page is not there (part of the next one may have moved).
 */
static unsigned int vsvm_gpu_move_user(const struct vsvm_gpu_batch *b,
				       void __user *ubuf, bool write)
{
	const size_t w = sizeof(unsigned long);
	unsigned long v0, v1, v2, v3;
	unsigned int k = 0;
	size_t i, n, stop;
	void *va;
	u8 byte;

	pagefault_disable();
	if (!user_access_begin(ubuf, b->bytes))
		goto out;

	for (; k < b->count; k++, ubuf += n) {
		va = b->va[k];
		n = b->len[k];
		/* Bytes up to the first whole word, then after the last. */
		stop = min(n, -(unsigned long)va & (w - 1));
		for (i = 0; ; stop = n) {
			for (; i < stop; i++) {
				if (write) {
					unsafe_get_user(byte,
							(u8 __user *)(ubuf + i),
							efault);
					*(u8 *)(va + i) = byte;
				} else {
					unsafe_put_user(*(u8 *)(va + i),
							(u8 __user *)(ubuf + i),
							efault);
				}
			}
			if (i == n)
				break;
			/*
			 * Tight loops, one per size: emulators end a block of
			 * translated code at every branch.
			 */
			for (; i + 4 * w <= n; i += 4 * w) {
				unsigned long *mem = va + i;
				unsigned long __user *u = ubuf + i;

				if (write) {
					unsafe_get_user(v0, u, efault);
					unsafe_get_user(v1, u + 1, efault);
					unsafe_get_user(v2, u + 2, efault);
					unsafe_get_user(v3, u + 3, efault);
					WRITE_ONCE(mem[0], v0);
					WRITE_ONCE(mem[1], v1);
					WRITE_ONCE(mem[2], v2);
					WRITE_ONCE(mem[3], v3);
				} else {
					v0 = READ_ONCE(mem[0]);
					v1 = READ_ONCE(mem[1]);
					v2 = READ_ONCE(mem[2]);
					v3 = READ_ONCE(mem[3]);
					unsafe_put_user(v0, u, efault);
					unsafe_put_user(v1, u + 1, efault);
					unsafe_put_user(v2, u + 2, efault);
					unsafe_put_user(v3, u + 3, efault);
				}
			}
			for (; i + w <= n; i += w) {
				unsigned long *mem = va + i;
				unsigned long __user *u = ubuf + i;

				if (write) {
					unsafe_get_user(v0, u, efault);
					WRITE_ONCE(*mem, v0);
				} else {
					unsafe_put_user(READ_ONCE(*mem), u,
							efault);
				}
			}
		}
	}
efault:
	user_access_end();
out:
	pagefault_enable();
	return k;
}

/*
 * Move the pages of @b to or from the user memory at @ubuf + *@done and
 * account what moved in *@done and *@vram_pages; empty @b.
 * Return: false if a user page was not there.
 */
static bool vsvm_gpu_batch_flush(struct vsvm_gpu_batch *b, void __user *ubuf,
				 bool write, size_t *done,
				 unsigned long *vram_pages)
{
	unsigned int k, moved = b->count ? vsvm_gpu_move_user(b, ubuf + *done,
							       write) : 0;
	bool whole = moved == b->count;

	for (k = 0; k < moved; k++) {
		*done += b->len[k];
		if (vram_pages && (b->vram & BIT(k)))
			(*vram_pages)++;
	}
	b->count = 0;
	b->bytes = 0;
	b->vram = 0;
	return whole;
}

/*
 * Move @n bytes, within one page, between @va, memory the CPU may be using
 * at the same time, and @buf or, if @ubuf is set, user memory (page faults
 * disabled), as a DMA engine does: every naturally aligned word of @va is
 * read or written whole. The kernel's string copies need not do that: x86's
 * "rep movsb" may move a byte at a time (under QEMU's TCG it does), and a
 * word the CPU stored while the GPU read it then came out torn, its low
 * bytes from before the store and its high bytes from after, a value the
 * CPU never wrote. User memory at the same offset within a word goes
 * straight through vsvm_gpu_move_user(), a batch of pages at a time; here
 * it goes through a staging buffer, so that the user copies stay a few
 * calls per page.
 * Return: 0, or -EFAULT if a user page is not there (part of the bytes may
 * have moved).
 */
static int vsvm_gpu_move(void *va, void *buf, void __user *ubuf, size_t n,
			 bool write)
{
	unsigned long stage[VSVM_GPU_STAGE / sizeof(unsigned long)];
	size_t off, len, i, w;
	void *other;

	for (off = 0; off < n; off += len) {
		i = 0;
		len = min_t(size_t, n - off, sizeof(stage));
		other = ubuf ? (void *)stage : buf + off;
		if (ubuf && write &&
		    copy_from_user_nofault(stage, ubuf + off, len))
			return -EFAULT;
		/* The usual case, whole words on both sides. */
		if (IS_ALIGNED((unsigned long)(va + off) | (unsigned long)other |
			       len, sizeof(long))) {
			if (write)
				vsvm_words_write(va + off, other,
						 len / sizeof(long));
			else
				vsvm_words_read(other, va + off,
						len / sizeof(long));
			i = len;
		}
		for (; i < len; i += w) {
			unsigned long *word = va + off + i;

			/* Whole words where @va is aligned, bytes around them. */
			w = IS_ALIGNED((unsigned long)word, sizeof(*word)) &&
			    len - i >= sizeof(*word) ? sizeof(*word) : 1;
			if (w == 1) {
				if (write)
					*(u8 *)word = *(u8 *)(other + i);
				else
					*(u8 *)(other + i) = *(u8 *)word;
			} else if (write) {
				WRITE_ONCE(*word, get_unaligned((unsigned long *)
								(other + i)));
			} else {
				put_unaligned(READ_ONCE(*word),
					      (unsigned long *)(other + i));
			}
		}
		if (ubuf && !write &&
		    copy_to_user_nofault(ubuf + off, stage, len))
			return -EFAULT;
	}
	return 0;
}

/*
 * vsvm_gpu_move() for memory the CPU cannot access (our private VRAM): the
 * kernel's copies, whatever their unit.
 */
static int vsvm_gpu_move_private(void *va, void *buf, void __user *ubuf,
				 size_t n, bool write)
{
	if (ubuf)
		return (write ? copy_from_user_nofault(va, ubuf, n) :
			copy_to_user_nofault(ubuf, va, n)) ? -EFAULT : 0;
	if (write)
		memcpy(va, buf, n);
	else
		memcpy(buf, va, n);
	return 0;
}

/*
 * Access the memory from @addr on, to or from @buf or, if @ubuf is set, the
 * user memory at @ubuf without faulting it in: see vsvm_vm_gpu_copy() and
 * vsvm_vm_gpu_copy_user().
 */
static long __vsvm_vm_gpu_copy(struct vsvm_vm *vm, unsigned long addr,
			       void *buf, void __user *ubuf, size_t len,
			       bool write, u32 policy,
			       unsigned long *vram_pages)
{
	/* User memory at the same offset within a word: whole words. */
	bool direct = ubuf && IS_ALIGNED(addr ^ (unsigned long)ubuf,
					 sizeof(long));
	struct vsvm_gpu_batch batch = {};
	bool user_fault = false, private;
	int err;
	unsigned long start, end;
	size_t done = 0;
	u64 *pte;

	if (mutex_lock_killable(&vm->lock))
		return -EINTR;
	drm_gpusvm_notifier_lock(&vm->gpusvm);

	pte = vsvm_vm_ptes_locked(vm, addr, &start, &end);
	if (pte)
		len = min_t(u64, len, end - addr);
	while (pte && done + batch.bytes < len) {
		unsigned long a = addr + done + batch.bytes;
		size_t n = min_t(size_t, len - done - batch.bytes,
				 PAGE_SIZE - offset_in_page(a));
		u64 entry = pte[(a - start) >> PAGE_SHIFT];
		void *va;

		if (!vsvm_pte_allows(entry, write, policy))
			break;
		va = vsvm_pte_vaddr(vm, entry) + offset_in_page(a);
		/* The CPU cannot touch private VRAM: no word to tear. */
		private = (entry & VSVM_PTE_VRAM) && !vm->vdev->vram.coherent;
		if (direct && !private) {
			if ((entry & VSVM_PTE_VRAM) && !offset_in_page(a + n))
				batch.vram |= BIT(batch.count);
			batch.va[batch.count] = va;
			batch.len[batch.count++] = n;
			batch.bytes += n;
			if (batch.count == VSVM_GPU_BATCH &&
			    !vsvm_gpu_batch_flush(&batch, ubuf, write, &done,
						  vram_pages)) {
				user_fault = true;
				break;
			}
			continue;
		}
		/* What the batch holds comes first. */
		if (!vsvm_gpu_batch_flush(&batch, ubuf, write, &done,
					  vram_pages)) {
			user_fault = true;
			break;
		}
		/* Page faults are disabled: a missing user page fails. */
		if (!buf && !ubuf)
			err = 0;
		else if (private)
			err = vsvm_gpu_move_private(va, buf ? buf + done : NULL,
						    ubuf ? ubuf + done : NULL,
						    n, write);
		else
			err = vsvm_gpu_move(va, buf ? buf + done : NULL,
					    ubuf ? ubuf + done : NULL, n, write);
		if (err) {
			user_fault = true;
			break;
		}
		done += n;
		if (vram_pages && (entry & VSVM_PTE_VRAM) &&
		    !offset_in_page(a + n))
			(*vram_pages)++;
	}
	if (!user_fault &&
	    !vsvm_gpu_batch_flush(&batch, ubuf, write, &done, vram_pages))
		user_fault = true;

	drm_gpusvm_notifier_unlock(&vm->gpusvm);
	mutex_unlock(&vm->lock);

	return done || !user_fault ? done : -EAGAIN;
}

/**
 * vsvm_vm_gpu_copy() - Let the software GPU access a span of memory
 * @vm: The VM.
 * @addr: GPU address of the first byte.
 * @buf: Kernel buffer of @len bytes, the destination of a read or the
 *	source of a write; NULL to only find out how much is mapped.
 * @len: Bytes wanted.
 * @write: The access writes.
 * @policy: DRM_VSVM_POLICY_*: where the memory must be.
 * @vram_pages: If not NULL, incremented for each page of this device's
 *	memory whose access reached the end of the page.
 *
 * Accesses the memory from @addr on for as long as the GPU page table maps
 * it suitably, up to @len bytes and at most to the end of the range holding
 * @addr. Like vsvm_vm_gpu_map_page() but for many pages under one hold of
 * the VM lock and the notifier lock, so that an invalidation waits for the
 * whole span, as it would for a hardware copy in flight.
 *
 * Context: Process context; takes the VM lock and the notifier lock, so
 * @buf must not be user memory or fault.
 * Return: The number of bytes accessed, 0 if the page at @addr is not mapped
 * for this access (a GPU page fault), or -EINTR if the task was killed.
 */
long vsvm_vm_gpu_copy(struct vsvm_vm *vm, unsigned long addr, void *buf,
		      size_t len, bool write, u32 policy,
		      unsigned long *vram_pages)
{
	return __vsvm_vm_gpu_copy(vm, addr, buf, NULL, len, write, policy,
				  vram_pages);
}

/**
 * vsvm_vm_gpu_copy_user() - vsvm_vm_gpu_copy() straight to user memory
 * @vm: The VM.
 * @addr: GPU address of the first byte.
 * @ubuf: User buffer of @len bytes, the destination of a read or the
 *	source of a write.
 * @len: Bytes wanted.
 * @write: The access writes.
 * @policy: DRM_VSVM_POLICY_*: where the memory must be.
 * @vram_pages: As for vsvm_vm_gpu_copy().
 *
 * One copy instead of two through a bounce buffer, for as long as the user
 * pages are present: under the notifier lock a page fault could recurse
 * into reclaim and the notifier, so user memory is accessed with page
 * faults disabled, and a page that is not there ends the copy. The caller
 * then goes through a bounce buffer, which may fault.
 *
 * Context: Process context; takes the VM lock and the notifier lock.
 * Return: The number of bytes accessed, 0 if the page at @addr is not mapped
 * for this access (a GPU page fault), -EAGAIN if the user page at @ubuf is
 * not present or not writable (nothing accessed), or -EINTR if the task was
 * killed.
 */
long vsvm_vm_gpu_copy_user(struct vsvm_vm *vm, unsigned long addr,
			   void __user *ubuf, size_t len, bool write,
			   u32 policy, unsigned long *vram_pages)
{
	return __vsvm_vm_gpu_copy(vm, addr, NULL, ubuf, len, write, policy,
				  vram_pages);
}

/*
 * The range of an explicit migration at @addr. With read_only, -EPERM
 * means a VMA the CPU cannot read at all (PROT_NONE): as unmapped memory.
 */
static struct drm_gpusvm_range *
vsvm_vm_migrate_range(struct vsvm_vm *vm, unsigned long addr,
		      unsigned long start, unsigned long end,
		      const struct drm_gpusvm_ctx *ctx)
{
	struct drm_gpusvm_range *range;

	range = drm_gpusvm_range_find_or_insert(&vm->gpusvm, addr, start, end,
						ctx);
	if (IS_ERR(range) && PTR_ERR(range) == -EPERM)
		return ERR_PTR(-EFAULT);
	return range;
}

/* May another GPU's memory hold pages of [@start, @end)? */
static bool vsvm_vm_peers_hold(struct vsvm_vm *vm, unsigned long start,
			       unsigned long end)
{
	unsigned int i;

	for (i = 0; i < VSVM_MAX_DEVICES; i++) {
		struct vsvm_device *vdev = vsvm_device_by_index(i);

		if (vdev && vdev != vm->vdev &&
		    vsvm_vram_holds(&vdev->vram, vm->mm, start, end))
			return true;
	}
	return false;
}

/*
 * Where one migration starting with @first should end: the ranges that
 * follow it without a gap (created where missing), with @devmem only those
 * that can hold device memory, as long as the whole stays within
 * VSVM_MIGRATE_SPAN and [@start, @end). A request that the chunk sizes cut
 * into several ranges (an unaligned 2 MiB buffer gets 64 KiB ones and
 * smaller ones at its ends) then costs one migrate_vma pass instead of one
 * per range.
 */
static unsigned long vsvm_vm_range_run(struct vsvm_vm *vm,
				       struct drm_gpusvm_range *first,
				       unsigned long start, unsigned long end,
				       const struct drm_gpusvm_ctx *ctx,
				       bool devmem)
{
	unsigned long span_end = drm_gpusvm_range_end(first);
	unsigned long limit = min(end, drm_gpusvm_range_start(first) +
				  VSVM_MIGRATE_SPAN);
	struct drm_gpusvm_range *range;

	while (span_end < limit) {
		range = drm_gpusvm_range_find_or_insert(&vm->gpusvm, span_end,
							start, end, ctx);
		if (IS_ERR(range) || (devmem && !range->flags.migrate_devmem) ||
		    drm_gpusvm_range_start(range) != span_end ||
		    drm_gpusvm_range_end(range) > limit)
			break;
		span_end = drm_gpusvm_range_end(range);
	}
	return span_end;
}

/*
 * vsvm_vm_range_run() of a migration to VRAM. Where another GPU may hold
 * pages of the span, its ranges go one by one, and *@peers_hold says so.
 */
static unsigned long vsvm_vm_migrate_span(struct vsvm_vm *vm,
					  struct drm_gpusvm_range *first,
					  unsigned long start, unsigned long end,
					  const struct drm_gpusvm_ctx *ctx,
					  bool *peers_hold)
{
	unsigned long span_start = drm_gpusvm_range_start(first);

	/* Usually no other GPU has anything there: one look for the span. */
	*peers_hold = vsvm_vm_peers_hold(vm, span_start,
					 min(end, span_start + VSVM_MIGRATE_SPAN));
	if (*peers_hold)
		return drm_gpusvm_range_end(first);
	return vsvm_vm_range_run(vm, first, start, end, ctx, true);
}

/*
 * Map the ranges of [@start, @end) for the GPU, as a prefetch does, with
 * [@win_start, @win_end) the GPU VA window of any range to create; with
 * @touch, also record that the GPU uses them. An error ends it there.
 */
static void vsvm_vm_bind_span(struct vsvm_vm *vm, unsigned long start,
			      unsigned long end, unsigned long win_start,
			      unsigned long win_end, bool touch)
{
	struct drm_gpusvm_ctx ctx = {
		.read_only = 1,
		.devmem_possible = VSVM_DEVMEM_POSSIBLE,
	};
	struct drm_gpusvm_range *range;
	unsigned long addr;

	for (addr = start; addr < end; addr = drm_gpusvm_range_end(range)) {
		range = drm_gpusvm_range_find_or_insert(&vm->gpusvm, addr,
							win_start, win_end,
							&ctx);
		if (IS_ERR(range))
			break;
		/* Unmapped meanwhile: the garbage collector's. */
		if (range->flags.unmapped)
			continue;
		vsvm_vm_prefetch_bind(vm, range);
		if (touch)
			drm_gpusvm_range_touch(&vm->gpusvm, range);
	}
}

/*
 * vsvm_vm_migrate() with the VM lock held; @peers: what linked GPUs hold
 * moves to our VRAM too, else it stays there.
 */
static int vsvm_vm_migrate_locked(struct vsvm_vm *vm, unsigned long start,
				  unsigned long end, u32 target, bool peers,
				  struct vsvm_stats_sink *sink)
{
	struct drm_gpusvm_ctx ctx = {
		.read_only = 1,
		.devmem_possible = VSVM_DEVMEM_POSSIBLE,
		.timeslice_ms = vm->timeslice_ms,
	};
	unsigned long addr = start;
	int err = 0;

	lockdep_assert_held(&vm->lock);

	while (addr < end) {
		struct drm_gpusvm_range *range;
		unsigned long span_end;
		bool peers_hold;

		err = vsvm_yield();
		if (err)
			break;
		vsvm_vm_gc_locked(vm);
		range = vsvm_vm_migrate_range(vm, addr, start, end, &ctx);
		if (IS_ERR(range)) {
			err = PTR_ERR(range);
			break;
		}

		if (target == DRM_VSVM_MIGRATE_TO_SYSTEM) {
			span_end = vsvm_vm_range_run(vm, range, start, end,
						     &ctx, false);
			err = vsvm_vm_evict_span(vm,
						 drm_gpusvm_range_start(range),
						 span_end, sink);
			if (err)
				break;
			addr = span_end;
			continue;
		}
		if (!range->flags.migrate_devmem) {
			addr = drm_gpusvm_range_end(range);
			continue;
		}

		addr = drm_gpusvm_range_start(range);
		span_end = vsvm_vm_migrate_span(vm, range, start, end, &ctx,
						&peers_hold);
		err = vsvm_vm_migrate_to_vram(vm, addr, span_end,
					      ctx.timeslice_ms, false, peers,
					      sink);
		/* No room for the span: the range alone may fit. */
		if (err == -ENOSPC && span_end != drm_gpusvm_range_end(range)) {
			span_end = drm_gpusvm_range_end(range);
			err = vsvm_vm_migrate_to_vram(vm, addr, span_end,
						      ctx.timeslice_ms, false,
						      peers, sink);
		}
		/* Nothing left to move is not an error here. */
		if (err == -EBUSY) {
			err = 0;
			addr = span_end;
			continue;
		}
		if (err)
			break;
		/*
		 * Map what moved, as a prefetch does; but not a range that may
		 * have pages left in another GPU's memory (unlinked, or not to
		 * be taken): collecting them would fault them back to system
		 * memory. The span's look covered more than the range: look
		 * again only if it found something.
		 */
		if ((peers && vm->vdev->vram.linked) || !peers_hold ||
		    !vsvm_vm_peers_hold(vm, addr, span_end))
			vsvm_vm_bind_span(vm, addr, span_end, start, end,
					  false);
		addr = span_end;
	}

	return err;
}

/*
 * Prefetch [@start, @end), ranges without valid pages: migrate them first
 * unless @policy keeps them in system memory (from linked GPUs too under
 * device-only placement), then map them and record that the GPU uses them.
 */
static void vsvm_vm_prefetch_run(struct vsvm_vm *vm, unsigned long start,
				 unsigned long end, u32 policy,
				 struct vsvm_stats_sink *sink)
{
	if (policy != DRM_VSVM_POLICY_SYSTEM)
		vsvm_vm_migrate_locked(vm, start, end, DRM_VSVM_MIGRATE_TO_VRAM,
				       policy == DRM_VSVM_POLICY_DEVICE, sink);
	/* What the migration mapped already is bound again, cheaply. */
	vsvm_vm_bind_span(vm, start, end, start, end, true);
}

/*
 * Access-density prefetch after a GPU fault mapped @range: migrate or map
 * at once the region around it that the GPU used enough of already (see
 * "Prefetch" in drm_gpusvm.c). Best effort: what fails faults later.
 */
static void vsvm_vm_prefetch(struct vsvm_vm *vm, struct drm_gpusvm_range *range,
			     u32 policy, struct vsvm_stats_sink *sink)
{
	struct drm_gpusvm_ctx ctx = {
		.read_only = 1,
		.devmem_possible = VSVM_DEVMEM_POSSIBLE,
	};
	unsigned long start, end, addr, run, next;

	lockdep_assert_held(&vm->lock);

	drm_gpusvm_range_touch(&vm->gpusvm, range);
	if (!drm_gpusvm_range_prefetch_extent(&vm->gpusvm, range, vm->prefetch,
					      &start, &end))
		return;

	atomic64_inc(&vm->prefetches);
	trace_vsvm_prefetch(vm->vdev->index, start, end, vm->prefetch);

	/*
	 * Ranges with valid pages are left as they are. Each run of the
	 * others is migrated in one pass (which maps what it moved), then
	 * mapped. A hole or memory the GPU cannot map ends the prefetch.
	 */
	addr = start;
	while (addr < end) {
		run = addr;
		for (; addr < end; addr = drm_gpusvm_range_end(range)) {
			range = drm_gpusvm_range_find_or_insert(&vm->gpusvm, addr,
								start, end,
								&ctx);
			if (IS_ERR(range) || range->flags.unmapped) {
				end = addr;
				break;
			}
			if (drm_gpusvm_range_read_flags(range).has_dma_mapping)
				break;
		}
		/*
		 * Done with @range before the run: the migration collects
		 * the garbage, and a range the CPU unmapped meanwhile (this
		 * one, or the faulting one) is freed then.
		 */
		next = addr;
		if (addr < end) {
			drm_gpusvm_range_touch(&vm->gpusvm, range);
			next = drm_gpusvm_range_end(range);
		}
		if (addr > run)
			vsvm_vm_prefetch_run(vm, run, addr, policy, sink);
		addr = next;
	}
}

/**
 * vsvm_vm_migrate() - Explicit migration of an address range
 * @vm: The VM.
 * @start: Page-aligned start.
 * @end: Page-aligned end.
 * @target: DRM_VSVM_MIGRATE_TO_VRAM or DRM_VSVM_MIGRATE_TO_SYSTEM.
 * @sink: Where to account what happened.
 *
 * Memory that cannot live in VRAM (file-backed, shared) is left alone.
 * Memory in a linked GPU's VRAM moves straight into ours (device-to-device
 * migration); another GPU's VRAM is left alone.
 * What moves to VRAM is also mapped for the GPU, as a prefetch does. The
 * ranges are migrated in order; an error stops at the range that failed.
 *
 * Return: 0, -EFAULT if part of the range is not mapped or is mapped
 * PROT_NONE, -ENOMEM, -ENOSPC
 * if a range does not fit in VRAM even after evicting what can be
 * evicted, -EBUSY if an eviction to system memory kept racing with the
 * CPU, -EINTR if the task was killed.
 */
int vsvm_vm_migrate(struct vsvm_vm *vm, unsigned long start,
		    unsigned long end, u32 target,
		    struct vsvm_stats_sink *sink)
{
	int err;

	err = mutex_lock_killable(&vm->lock);
	if (err)
		return err;
	err = vsvm_vm_migrate_locked(vm, start, end, target, true, sink);
	mutex_unlock(&vm->lock);

	return err;
}

/**
 * vsvm_vm_stats() - Snapshot the counters of a VM
 * @vm: The VM.
 * @out: Filled with the counters, the number of ranges and of VRAM pages.
 */
void vsvm_vm_stats(struct vsvm_vm *vm, struct drm_vsvm_vm_stats *out)
{
	struct drm_gpusvm_notifier *notifier;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vm->stats.c); i++)
		((__u64 *)&out->stats)[i] = atomic64_read(&vm->stats.c[i]);

	out->num_ranges = 0;
	out->vram_pages = 0;
	out->ranges_split = atomic64_read(&vm->ranges_split);
	out->split_pieces = atomic64_read(&vm->split_pieces);
	out->thrash_throttles = atomic64_read(&vm->thrash_throttles);
	out->thrash_pins = atomic64_read(&vm->thrash_pins);
	out->thrash_pinned_faults = atomic64_read(&vm->thrash_pinned_faults);
	out->prefetches = atomic64_read(&vm->prefetches);
	mutex_lock(&vm->lock);
	drm_gpusvm_notifier_lock(&vm->gpusvm);
	drm_gpusvm_for_each_notifier(notifier, &vm->gpusvm, 0, ULONG_MAX) {
		struct drm_gpusvm_range *range = NULL;

		drm_gpusvm_for_each_range(range, notifier, 0, ULONG_MAX) {
			struct vsvm_range *r = to_vsvm_range(range);
			unsigned long j;

			out->num_ranges++;
			for (j = 0; r->pte && j < drm_gpusvm_range_npages(range); j++)
				if (r->pte[j] & VSVM_PTE_VRAM)
					out->vram_pages++;
		}
	}
	drm_gpusvm_notifier_unlock(&vm->gpusvm);
	mutex_unlock(&vm->lock);
}

/**
 * vsvm_vm_set_thrash() - Set a thrashing-control parameter of a VM
 * @vm: The VM.
 * @param: DRM_VSVM_PARAM_THRASH, _THRASH_LAPSE_US, _THRASH_PIN_MS or
 *	_THRASH_THROTTLE_US.
 * @value: The value, see &drm_vsvm_vm_set_param.value.
 *
 * Return: 0, or -EINVAL for a value out of range.
 */
int vsvm_vm_set_thrash(struct vsvm_vm *vm, u32 param, u64 value)
{
	struct drm_gpusvm_thrash_params *p = &vm->gpusvm.thrash;

	if ((param == DRM_VSVM_PARAM_THRASH && value > 1) ||
	    ((param == DRM_VSVM_PARAM_THRASH_LAPSE_US ||
	      param == DRM_VSVM_PARAM_THRASH_THROTTLE_US) &&
	     (!value || value > USEC_PER_SEC)) ||
	    (param == DRM_VSVM_PARAM_THRASH_PIN_MS && (!value || value > 10000)))
		return -EINVAL;

	mutex_lock(&vm->lock);
	switch (param) {
	case DRM_VSVM_PARAM_THRASH:
		vm->thrash = value;
		break;
	case DRM_VSVM_PARAM_THRASH_LAPSE_US:
		vm->thrash_lapse_ns = value * NSEC_PER_USEC;
		break;
	case DRM_VSVM_PARAM_THRASH_THROTTLE_US:
		p->throttle_ns = value * NSEC_PER_USEC;
		break;
	default:
		p->pin_ns = value * NSEC_PER_MSEC;
		break;
	}
	/* Off: the GPU SVM counts nothing. */
	p->lapse_ns = vm->thrash ? vm->thrash_lapse_ns : 0;
	mutex_unlock(&vm->lock);

	return 0;
}

/**
 * vsvm_vm_set_prefetch() - Set DRM_VSVM_PARAM_PREFETCH or _FAULT_SIZE
 * @vm: The VM.
 * @param: DRM_VSVM_PARAM_PREFETCH or DRM_VSVM_PARAM_FAULT_SIZE.
 * @value: The value, see &drm_vsvm_vm_set_param.value.
 *
 * Return: 0, or -EINVAL for a value out of range.
 */
int vsvm_vm_set_prefetch(struct vsvm_vm *vm, u32 param, u64 value)
{
	if (param == DRM_VSVM_PARAM_PREFETCH ? value > 100 :
	    value != SZ_4K && value != SZ_64K && value != SZ_2M)
		return -EINVAL;

	mutex_lock(&vm->lock);
	if (param == DRM_VSVM_PARAM_PREFETCH)
		vm->prefetch = value;
	else
		vm->fault_size = value;
	mutex_unlock(&vm->lock);

	return 0;
}

/**
 * vsvm_vm_print() - Describe a VM for debugfs
 * @vm: The VM.
 * @p: Where to print.
 *
 * One line per range: its span, how many of its pages are bound and where.
 */
void vsvm_vm_print(struct vsvm_vm *vm, struct drm_printer *p)
{
	struct drm_gpusvm_notifier *notifier;

	mutex_lock(&vm->lock);
	drm_gpusvm_notifier_lock(&vm->gpusvm);
	drm_gpusvm_for_each_notifier(notifier, &vm->gpusvm, 0, ULONG_MAX) {
		struct drm_gpusvm_range *range = NULL;

		drm_gpusvm_for_each_range(range, notifier, 0, ULONG_MAX) {
			struct vsvm_range *r = to_vsvm_range(range);
			unsigned long j, vram = 0, sys = 0;

			for (j = 0; r->pte && j < drm_gpusvm_range_npages(range); j++) {
				if (!(r->pte[j] & VSVM_PTE_VALID))
					continue;
				if (r->pte[j] & VSVM_PTE_VRAM)
					vram++;
				else
					sys++;
			}
			drm_printf(p, "  [%#lx-%#lx) %4lu KiB: %lu in vram, %lu in ram%s%s\n",
				   drm_gpusvm_range_start(range),
				   drm_gpusvm_range_end(range),
				   drm_gpusvm_range_size(range) >> 10, vram, sys,
				   range->flags.migrate_devmem ? "" : ", not migratable",
				   range->flags.unmapped ? ", unmapped" : "");
		}
	}
	drm_gpusvm_notifier_unlock(&vm->gpusvm);
	mutex_unlock(&vm->lock);
}
