// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Copyright (c) 2026 The drm_gpusvm authors
 */

#include <linux/bitfield.h>
#include <linux/delay.h>
#include <linux/dma-direct.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include <drm/drm_buddy.h>
#include <drm/drm_print.h>

#include "vsvm_drv.h"
#include "vsvm_trace.h"

/**
 * DOC: vsvm device memory
 *
 * Each virtual GPU owns vram_mb of "VRAM". On the num_devices GPUs with
 * private VRAM it is a vmalloc() buffer that only the driver's copy engine
 * and software GPU touch, registered with drm_pagemap_init() as
 * MEMORY_DEVICE_PRIVATE. The GPUs of the coherent_base module parameter
 * get the memory at those physical addresses, which the kernel must have
 * been told to leave alone (memmap=nn$addr), registered with
 * drm_pagemap_init_coherent() as MEMORY_DEVICE_COHERENT: the CPU maps
 * their pages in place, as it would a CXL memory device or the VRAM of a
 * GPU on a coherent link. Either way every VRAM page has a &struct page,
 * and device offsets are handed out by a buddy allocator.
 *
 * One &struct vsvm_alloc backs one migration of one GPU SVM range. It
 * enters the LRU once the migration succeeded and leaves it when its last
 * device page is freed (&drm_pagemap_devmem_ops.devmem_release, which may
 * run in atomic context and therefore only queues the allocation for
 * @free_work). When the buddy allocator runs dry, the allocation at the
 * head of the LRU is evicted with drm_pagemap_evict_to_ram() and the
 * allocation is retried.
 *
 * The migrated pages are visible to every thread of the process as soon as
 * drm_pagemap_migrate_to_devmem() maps them, so they may all be freed
 * (munmap(), MADV_DONTNEED, a CPU fault, an eviction) and the allocation
 * released before the migrating thread puts it on the LRU. That thread
 * therefore keeps a reference of its own until vsvm_vram_alloc_commit(),
 * which leaves an allocation that was released meanwhile off the LRU.
 */

static struct vsvm_vram *dpagemap_to_vram(struct drm_pagemap *dpagemap)
{
	return container_of(dpagemap, struct vsvm_vram, dpagemap);
}

/**
 * vsvm_page_to_vram() - The VRAM a device page belongs to
 * @page: A device-private page created by vsvm.
 *
 * Return: The &struct vsvm_vram of @page.
 */
struct vsvm_vram *vsvm_page_to_vram(struct page *page)
{
	return dpagemap_to_vram(drm_pagemap_page_to_dpagemap(page));
}

/**
 * vsvm_vram_page_vaddr() - Where the software GPU finds a VRAM page
 * @vram: The VRAM.
 * @page: One of its device pages.
 *
 * Return: The kernel address of the page's backing store.
 */
void *vsvm_vram_page_vaddr(struct vsvm_vram *vram, struct page *page)
{
	return vram->vaddr + drm_pagemap_page_to_offset(&vram->dpagemap, page);
}

/**
 * vsvm_link_vaddr() - Where the software GPU finds a linked GPU's VRAM page
 * @addr: Its address over the interconnect, as vsvm_device_map() gives it
 *	to another GPU (%VSVM_INTERCONNECT_LINK): the offset in that GPU's
 *	VRAM, with the GPU's index in %VSVM_PTE_PEER_INDEX.
 *
 * Return: The kernel address of the page's backing store. The devices live
 * as long as the module.
 */
void *vsvm_link_vaddr(u64 addr)
{
	struct vsvm_device *vdev =
		vsvm_device_by_index(FIELD_GET(VSVM_PTE_PEER_INDEX, addr));

	return vdev->vram.vaddr + (addr & VSVM_PTE_ADDR_MASK);
}

/* What the hooks copy from or to, besides the VRAM pages of a run. */
struct vsvm_copy_other {
	struct vsvm_vram *vram;
	dma_addr_t *dma_addr;
	struct drm_pagemap_device_addr *peer_addr;
};

static void *vsvm_copy_other_vaddr(const struct vsvm_copy_other *o,
				   unsigned long i)
{
	struct device *dev = vram_to_vsvm_device(o->vram)->drm.dev;

	if (o->peer_addr)
		return vsvm_link_vaddr(o->peer_addr[i].addr);
	return phys_to_virt(dma_to_phys(dev, o->dma_addr[i]));
}

/*
 * The copy engine. The hooks get runs of pages; a run is cut into spans
 * where both the VRAM offsets and the other side's addresses (system
 * memory, or a linked GPU's VRAM) are contiguous, and each span is one
 * memcpy(), as a DMA engine would do one descriptor.
 */
static int vsvm_copy(struct page **pages, struct vsvm_copy_other *o,
		     unsigned long npages, bool to_vram)
{
	struct vsvm_vram *vram;
	unsigned long i, span;

	if (!npages)
		return 0;

	vram = vsvm_page_to_vram(pages[0]);
	o->vram = vram;
	if (vsvm_should_fail(to_vram ? VSVM_FAULT_COPY_TO_DEVMEM :
			     VSVM_FAULT_COPY_TO_RAM))
		return -EIO;

	for (i = 0; i < npages; i += span) {
		void *dev_va = vsvm_vram_page_vaddr(vram, pages[i]);
		void *other_va = vsvm_copy_other_vaddr(o, i);

		for (span = 1; i + span < npages; span++) {
			if (pages[i + span] != pages[i] + span ||
			    vsvm_copy_other_vaddr(o, i + span) !=
			    other_va + span * PAGE_SIZE)
				break;
		}

		if (to_vram)
			memcpy(dev_va, other_va, span * PAGE_SIZE);
		else
			memcpy(other_va, dev_va, span * PAGE_SIZE);
	}

	if (to_vram)
		atomic64_add(npages, &vram->to_vram);
	else
		atomic64_add(npages, &vram->to_ram);
	if (o->peer_addr)
		atomic64_add(npages, &vram->from_peer);
	trace_vsvm_copy(vram_to_vsvm_device(vram)->index, npages, to_vram);

	return 0;
}

static int vsvm_copy_to_devmem(struct page **pages, dma_addr_t *dma_addr,
			       unsigned long npages)
{
	struct vsvm_copy_other o = { .dma_addr = dma_addr };

	return vsvm_copy(pages, &o, npages, true);
}

static int vsvm_copy_to_ram(struct page **pages, dma_addr_t *dma_addr,
			    unsigned long npages)
{
	struct vsvm_copy_other o = { .dma_addr = dma_addr };
	u32 delay_us = npages ?
		READ_ONCE(vsvm_page_to_vram(pages[0])->copy_to_ram_delay_us) : 0;

	if (delay_us)
		fsleep(delay_us);
	return vsvm_copy(pages, &o, npages, false);
}

/* Device-to-device: the sources are in linked GPUs' VRAM. */
static int vsvm_copy_peer_to_devmem(struct page **pages,
				    struct drm_pagemap_device_addr *peer_addr,
				    unsigned long npages)
{
	struct vsvm_copy_other o = { .peer_addr = peer_addr };

	return vsvm_copy(pages, &o, npages, true);
}

static struct vsvm_alloc *to_vsvm_alloc(struct drm_pagemap_devmem *devmem)
{
	return container_of(devmem, struct vsvm_alloc, devmem);
}

/*
 * Eviction calls this on an allocation whose pages may be freed at any
 * time: the free worker gives the blocks back under vram->lock, so walk
 * them under it, and fail once they are gone.
 */
static int vsvm_populate_devmem_pfn(struct drm_pagemap_devmem *devmem,
				    unsigned long npages, unsigned long *pfn)
{
	struct vsvm_alloc *alloc = to_vsvm_alloc(devmem);
	struct vsvm_vram *vram = alloc->vram;
	struct gpu_buddy_block *block;
	unsigned long i = 0;
	int err = 0;

	if (vsvm_should_fail(VSVM_FAULT_POPULATE_PFN))
		return -EIO;

	mutex_lock(&vram->lock);
	if (alloc->released) {
		err = -ENOENT;
		goto out_unlock;
	}
	list_for_each_entry(block, &alloc->blocks, link) {
		u64 offset = gpu_buddy_block_offset(block);
		u64 size = gpu_buddy_block_size(&vram->mm, block);
		unsigned long first = drm_pagemap_offset_to_pfn(&vram->dpagemap, offset);
		unsigned long j;

		for (j = 0; j < size >> PAGE_SHIFT && i < npages; j++)
			pfn[i++] = first + j;
	}
	if (i != npages)
		err = -EINVAL;
out_unlock:
	mutex_unlock(&vram->lock);
	return err;
}

static void vsvm_alloc_free(struct kref *kref)
{
	kfree(container_of(kref, struct vsvm_alloc, refcount));
}

/* Give the allocation's VRAM back; the caller holds vram->lock. */
static void vsvm_alloc_release_locked(struct vsvm_alloc *alloc)
{
	struct vsvm_vram *vram = alloc->vram;

	lockdep_assert_held(&vram->lock);
	list_del_init(&alloc->lru);
	vram->used -= alloc->devmem.size;
	gpu_buddy_free_list(&vram->mm, &alloc->blocks, 0);
	alloc->released = true;
}

static void vsvm_vram_free_work(struct work_struct *work)
{
	struct vsvm_vram *vram = container_of(to_delayed_work(work),
					      struct vsvm_vram, free_work);
	struct llist_node *list = llist_del_all(&vram->free_list);
	struct vsvm_alloc *alloc, *next;

	mutex_lock(&vram->lock);
	llist_for_each_entry(alloc, list, free_link)
		vsvm_alloc_release_locked(alloc);
	mutex_unlock(&vram->lock);

	/*
	 * drm_pagemap completes detached right after devmem_release returned:
	 * the device pages' reference may be the last one, wait for that.
	 */
	llist_for_each_entry_safe(alloc, next, list, free_link) {
		wait_for_completion(&alloc->devmem.detached);
		kref_put(&alloc->refcount, vsvm_alloc_free);
	}
}

/**
 * vsvm_vram_flush_frees() - Give released VRAM back to the allocator now
 * @vram: The VRAM.
 *
 * Runs &vsvm_vram.free_work if allocations wait for it and waits for it.
 *
 * Context: Process context; may sleep. No VRAM lock, no notifier lock.
 * Return: true if VRAM was released or being released.
 */
bool vsvm_vram_flush_frees(struct vsvm_vram *vram)
{
	return flush_delayed_work(&vram->free_work);
}

/*
 * May run in atomic context: defer to free_work. A tick later: a CPU fault
 * or munmap() that frees the last page does not wake a worker, and the
 * releases of a burst are handled in one go.
 */
static void vsvm_devmem_release(struct drm_pagemap_devmem *devmem)
{
	struct vsvm_alloc *alloc = to_vsvm_alloc(devmem);
	struct vsvm_vram *vram = alloc->vram;

	llist_add(&alloc->free_link, &vram->free_list);
	queue_delayed_work(system_wq, &vram->free_work, 1);
}

static const struct drm_pagemap_devmem_ops vsvm_devmem_ops = {
	.devmem_release = vsvm_devmem_release,
	.populate_devmem_pfn = vsvm_populate_devmem_pfn,
	.copy_to_devmem = vsvm_copy_to_devmem,
	.copy_to_ram = vsvm_copy_to_ram,
	.copy_peer_to_devmem = vsvm_copy_peer_to_devmem,
};

/*
 * Failed evictions one allocation or vsvm_vram_evict_all() puts up with
 * before giving up: a failed victim goes back to the LRU tail, so the next
 * attempts try others, but one allocation's pages may stay busy for as
 * long as the timeslice of a CPU fault.
 */
#define VSVM_EVICT_MAX_FAILURES	4

/* Take @alloc off the LRU for eviction, with a reference. */
static void vsvm_vram_take_victim_locked(struct vsvm_alloc *alloc)
{
	lockdep_assert_held(&alloc->vram->lock);
	kref_get(&alloc->refcount);
	list_del_init(&alloc->lru);
}

/*
 * Evict @victim, taken off the LRU by vsvm_vram_take_victim_locked(); the
 * reference is dropped. Return: 0 if it was evicted or its VRAM given back
 * meanwhile, or the error of the eviction: a victim that failed keeps its
 * pages in VRAM and goes back to the LRU tail, evictable later.
 */
static int vsvm_vram_evict_victim(struct vsvm_vram *vram,
				  struct vsvm_alloc *victim,
				  struct vsvm_stats_sink *sink)
{
	bool evicted;
	s64 before;
	int err;

	trace_vsvm_evict(vram_to_vsvm_device(vram)->index,
			 victim->devmem.size >> PAGE_SHIFT, false);
	before = atomic64_read(&vram->to_ram);
	err = drm_pagemap_evict_to_ram(&victim->devmem);
	evicted = !err;
	if (err) {
		/*
		 * Pages stayed in VRAM (busy, or a failed copy): keep the
		 * allocation evictable, behind the others. Unless its last
		 * page went away meanwhile: then its VRAM is free already.
		 */
		mutex_lock(&vram->lock);
		if (victim->released)
			err = 0;
		else if (list_empty(&victim->lru))
			list_add_tail(&victim->lru, &vram->lru);
		mutex_unlock(&vram->lock);
	}
	vsvm_vram_flush_frees(vram);
	kref_put(&victim->refcount, vsvm_alloc_free);
	if (evicted) {
		atomic64_inc(&vram->evictions);
		vsvm_stat_add(sink, VSVM_STAT(evictions), 1);
	}
	vsvm_stat_add(sink, VSVM_STAT(pages_to_ram),
		      atomic64_read(&vram->to_ram) - before);

	return err;
}

/*
 * Evict the least recently migrated allocation. Return: 0 if one was
 * evicted or VRAM being freed was waited for, -ENOENT if there is nothing
 * to evict, or the error of the eviction; a victim that failed keeps its
 * pages in VRAM and goes back to the LRU tail, evictable later.
 */
static int vsvm_vram_evict_one(struct vsvm_vram *vram,
			       struct vsvm_stats_sink *sink)
{
	struct vsvm_alloc *victim;

	mutex_lock(&vram->lock);
	victim = list_first_entry_or_null(&vram->lru, struct vsvm_alloc, lru);
	if (victim)
		vsvm_vram_take_victim_locked(victim);
	mutex_unlock(&vram->lock);

	if (!victim)
		return vsvm_vram_flush_frees(vram) ? 0 : -ENOENT;

	return vsvm_vram_evict_victim(vram, victim, sink);
}

/**
 * vsvm_vram_evict_all() - Move everything in a VRAM back to system memory
 * @vram: The VRAM.
 *
 * Evicts the allocations on the LRU, least recently migrated first, and
 * waits for their memory to be given back. Allocations being migrated
 * concurrently may stay, and so may allocations whose pages stay busy
 * (they remain on the LRU).
 *
 * Context: Process context; may sleep. No mmap lock, no notifier lock.
 */
void vsvm_vram_evict_all(struct vsvm_vram *vram)
{
	unsigned long bound = vram->size >> PAGE_SHIFT;
	unsigned int failures = 0;
	int err;

	/* Bounded: others may keep migrating, victims may stay busy. */
	while (bound--) {
		err = vsvm_vram_evict_one(vram, NULL);
		if (err == -ENOENT ||
		    (err && ++failures > VSVM_EVICT_MAX_FAILURES))
			break;
	}
}

/**
 * vsvm_vram_evict_faulted() - Move back what GPU faults put in a range
 * @vram: The VRAM.
 * @mm: The address space.
 * @start: Start of the virtual range.
 * @end: End of the virtual range (exclusive).
 *
 * Evicts the allocations of @vram that a GPU page fault migrated for @mm
 * and whose range intersects [@start, @end): all of their pages go back
 * to system memory. Allocations of explicit migrations stay, and so may
 * allocations whose pages stay busy, or that a fault creates meanwhile.
 *
 * Context: Process context; may sleep. No mmap lock, no notifier lock.
 * Return: Whether allocations for @mm that intersect the range are left on
 * the LRU (some of their pages may be in the range): false means that no
 * page of the range is in @vram, barring migrations that were not
 * committed yet.
 */
bool vsvm_vram_evict_faulted(struct vsvm_vram *vram, struct mm_struct *mm,
			     unsigned long start, unsigned long end)
{
	unsigned long bound = vram->size >> PAGE_SHIFT;
	unsigned int failures = 0;
	struct vsvm_alloc *alloc, *victim;

	/* Bounded as vsvm_vram_evict_all(): a failed victim comes back. */
	while (bound--) {
		victim = NULL;
		mutex_lock(&vram->lock);
		list_for_each_entry(alloc, &vram->lru, lru) {
			if (alloc->by_fault && alloc->devmem.mm == mm &&
			    alloc->start < end && start < alloc->end) {
				victim = alloc;
				vsvm_vram_take_victim_locked(victim);
				break;
			}
		}
		mutex_unlock(&vram->lock);

		if (!victim)
			break;
		if (vsvm_vram_evict_victim(vram, victim, NULL) &&
		    ++failures > VSVM_EVICT_MAX_FAILURES)
			break;
	}

	return vsvm_vram_holds(vram, mm, start, end);
}

/**
 * vsvm_vram_holds() - May a VRAM hold pages of a virtual range?
 * @vram: The VRAM.
 * @mm: The address space.
 * @start: Start of the virtual range.
 * @end: End of the virtual range (exclusive).
 *
 * Context: Process context; takes &vsvm_vram.lock.
 * Return: Whether an allocation of @vram on its LRU was migrated for @mm
 * and intersects [@start, @end) (some of its pages may be in the range).
 */
bool vsvm_vram_holds(struct vsvm_vram *vram, struct mm_struct *mm,
		     unsigned long start, unsigned long end)
{
	struct vsvm_alloc *alloc;
	bool held = false;

	mutex_lock(&vram->lock);
	list_for_each_entry(alloc, &vram->lru, lru) {
		if (alloc->devmem.mm == mm && alloc->start < end &&
		    start < alloc->end) {
			held = true;
			break;
		}
	}
	mutex_unlock(&vram->lock);

	return held;
}

/**
 * vsvm_vram_alloc() - Allocate device memory for one migration
 * @vram: The VRAM to allocate from.
 * @size: Size in bytes, a multiple of PAGE_SIZE.
 * @mm: The address space the memory will back.
 * @sink: Where to count evictions.
 *
 * Evicts least recently migrated allocations until @size fits. The
 * allocation is not on the LRU until vsvm_vram_alloc_commit(). It comes
 * with two references: the caller's, and the one the caller hands to
 * drm_pagemap_migrate_to_devmem() for the device pages. End with
 * vsvm_vram_alloc_commit() or vsvm_vram_alloc_abort().
 *
 * Context: Process context; may sleep. No mmap lock, no notifier lock.
 * Return: The allocation, or ERR_PTR(-ENOSPC) if @size cannot fit even with
 * all other evictable allocations evicted (or after
 * VSVM_EVICT_MAX_FAILURES failed evictions), ERR_PTR(-ENOMEM).
 */
struct vsvm_alloc *vsvm_vram_alloc(struct vsvm_vram *vram, u64 size,
				   struct mm_struct *mm,
				   struct vsvm_stats_sink *sink)
{
	unsigned int failures = 0;
	struct vsvm_alloc *alloc;
	bool flushed = false;
	int err, ret;

	if (size > vram->size)
		return ERR_PTR(-ENOSPC);
	if (vsvm_should_fail(VSVM_FAULT_DEVMEM_ALLOC))
		return ERR_PTR(-ENOMEM);

	alloc = kzalloc(sizeof(*alloc), GFP_KERNEL);
	if (!alloc)
		return ERR_PTR(-ENOMEM);
	alloc->vram = vram;
	INIT_LIST_HEAD(&alloc->blocks);
	INIT_LIST_HEAD(&alloc->lru);
	/* The caller's reference, and the one for the device pages. */
	kref_init(&alloc->refcount);
	kref_get(&alloc->refcount);
	drm_pagemap_devmem_init(&alloc->devmem, vram_to_vsvm_device(vram)->drm.dev,
				mm, &vsvm_devmem_ops, &vram->dpagemap, size);

	for (;;) {
		mutex_lock(&vram->lock);
		err = gpu_buddy_alloc_blocks(&vram->mm, 0, vram->size, size,
					     PAGE_SIZE, &alloc->blocks, 0);
		if (!err)
			vram->used += size;
		mutex_unlock(&vram->lock);

		if (err != -ENOSPC)
			break;
		/* Released VRAM first, before evicting anything live. */
		if (!flushed) {
			flushed = true;
			if (vsvm_vram_flush_frees(vram))
				continue;
		}
		ret = vsvm_vram_evict_one(vram, sink);
		if (ret == -ENOENT ||
		    (ret && ++failures > VSVM_EVICT_MAX_FAILURES))
			break;
	}
	if (err) {
		kfree(alloc);
		return ERR_PTR(err);
	}

	return alloc;
}

/**
 * vsvm_vram_alloc_commit() - Make a migrated allocation evictable
 * @alloc: An allocation drm_pagemap_migrate_to_devmem() succeeded with.
 *
 * Puts the allocation on the LRU and drops the caller's reference: from now
 * on the allocation belongs to its device pages and is released through
 * &drm_pagemap_devmem_ops.devmem_release. Other threads may have freed all
 * the pages since the migration, and the free worker given the VRAM back
 * already: such an allocation stays off the LRU, and this may free it.
 *
 * Context: Process context; takes &vsvm_vram.lock. @alloc must not be used
 * after this returns.
 */
void vsvm_vram_alloc_commit(struct vsvm_alloc *alloc)
{
	struct vsvm_vram *vram = alloc->vram;
	u32 delay_us = READ_ONCE(vram->commit_delay_us);

	if (delay_us)
		fsleep(delay_us);

	mutex_lock(&vram->lock);
	if (!alloc->released)
		list_add_tail(&alloc->lru, &vram->lru);
	mutex_unlock(&vram->lock);
	kref_put(&alloc->refcount, vsvm_alloc_free);
}

/**
 * vsvm_vram_alloc_abort() - Free an allocation whose migration failed
 * @alloc: An allocation drm_pagemap_migrate_to_devmem() failed with.
 *
 * Nothing refers to the allocation: drops the caller's reference and the
 * one that was meant for the device pages, which frees it.
 *
 * Context: Process context; takes &vsvm_vram.lock.
 */
void vsvm_vram_alloc_abort(struct vsvm_alloc *alloc)
{
	struct vsvm_vram *vram = alloc->vram;

	mutex_lock(&vram->lock);
	vsvm_alloc_release_locked(alloc);
	mutex_unlock(&vram->lock);
	kref_put(&alloc->refcount, vsvm_alloc_free);
	kref_put(&alloc->refcount, vsvm_alloc_free);
}

static struct drm_pagemap_device_addr
vsvm_device_map(struct drm_pagemap *dpagemap, struct device *dev,
		struct page *page, unsigned int order,
		enum dma_data_direction dir)
{
	struct vsvm_vram *vram = dpagemap_to_vram(dpagemap);

	if (vsvm_should_fail(VSVM_FAULT_DEVICE_MAP))
		return drm_pagemap_device_addr_encode(DMA_MAPPING_ERROR,
						      DRM_INTERCONNECT_DRIVER,
						      order, dir);
	/* Our own VRAM: the device address is the offset into it. */
	if (dev == dpagemap->dev)
		return drm_pagemap_device_addr_encode(drm_pagemap_page_to_offset(dpagemap, page),
						      DRM_INTERCONNECT_DRIVER,
						      order, dir);
	/*
	 * A linked GPU: the offset, and which GPU's VRAM it is in. Only
	 * GPUs of one owner group see our pages at all (hmm_range_fault()
	 * hands them to no one else), but check: the address would be
	 * meaningless to anyone else.
	 */
	if (WARN_ON_ONCE(!vram->linked))
		return drm_pagemap_device_addr_encode(DMA_MAPPING_ERROR,
						      VSVM_INTERCONNECT_LINK,
						      order, dir);
	return drm_pagemap_device_addr_encode(drm_pagemap_page_to_offset(dpagemap, page) |
					      FIELD_PREP(VSVM_PTE_PEER_INDEX,
							 vram_to_vsvm_device(vram)->index),
					      VSVM_INTERCONNECT_LINK, order, dir);
}

static void vsvm_device_unmap(struct drm_pagemap *dpagemap, struct device *dev,
			      struct drm_pagemap_device_addr addr)
{
}

static int vsvm_populate_mm(struct drm_pagemap *dpagemap, unsigned long start,
			    unsigned long end, struct mm_struct *mm,
			    unsigned long timeslice_ms)
{
	struct vsvm_vram *vram = dpagemap_to_vram(dpagemap);
	struct vsvm_alloc *alloc;
	int err;

	alloc = vsvm_vram_alloc(vram, end - start, mm, NULL);
	if (IS_ERR(alloc))
		return PTR_ERR(alloc);
	alloc->start = start;
	alloc->end = end;

	err = drm_pagemap_migrate_to_devmem(&alloc->devmem, mm, start, end,
					    timeslice_ms, vram->owner);
	if (err) {
		vsvm_vram_alloc_abort(alloc);
		return err;
	}
	vsvm_vram_alloc_commit(alloc);

	return 0;
}

static const struct drm_pagemap_ops vsvm_pagemap_ops = {
	.device_map = vsvm_device_map,
	.device_unmap = vsvm_device_unmap,
	.populate_mm = vsvm_populate_mm,
};

/* The GPUs with device-private VRAM, in owner groups (see "Interconnect"). */
static struct drm_pagemap_owner_list vsvm_owner_list = {
	.lock = __MUTEX_INITIALIZER(vsvm_owner_list.lock),
	.peers = LIST_HEAD_INIT(vsvm_owner_list.peers),
};

/* The module parameter link puts every private-VRAM GPU on one link. */
static bool vsvm_has_interconnect(struct drm_pagemap_peer *peer1,
				  struct drm_pagemap_peer *peer2)
{
	struct vsvm_vram *vram1 = container_of(peer1, struct vsvm_vram, peer);
	struct vsvm_vram *vram2 = container_of(peer2, struct vsvm_vram, peer);

	return vram1 == vram2 || (vram1->linked && vram2->linked);
}

/**
 * vsvm_vram_init() - Create the VRAM of a device
 * @vdev: The device.
 * @size: Size in bytes, a multiple of 2 MiB.
 * @coherent_phys: Physical address of reserved memory to use as coherent
 *	VRAM, or 0 for private VRAM.
 * @linked: Put private VRAM on the interconnect of the other linked GPUs.
 *
 * Return: 0, -ENOMEM, or the error of drm_pagemap_init() or
 * drm_pagemap_init_coherent().
 */
int vsvm_vram_init(struct vsvm_device *vdev, u64 size, phys_addr_t coherent_phys,
		   bool linked)
{
	struct vsvm_vram *vram = &vdev->vram;
	int err;

	mutex_init(&vram->lock);
	INIT_LIST_HEAD(&vram->lru);
	init_llist_head(&vram->free_list);
	INIT_DELAYED_WORK(&vram->free_work, vsvm_vram_free_work);
	vram->size = size;
	vram->coherent = coherent_phys != 0;
	/*
	 * Coherent VRAM is mapped by the CPU and by any GPU like system
	 * memory: the address of the VRAM makes a good owner token. Private
	 * VRAM takes the owner of its group, its own if not linked.
	 */
	vram->owner = vram;
	if (!vram->coherent) {
		vram->linked = linked;
		err = drm_pagemap_acquire_owner(&vram->peer, &vsvm_owner_list,
						vsvm_has_interconnect);
		if (err)
			return err;
		vram->owner = vram->peer.owner;

		vram->vaddr = vzalloc(size);
		if (!vram->vaddr) {
			err = -ENOMEM;
			goto err_owner;
		}
	}

	err = gpu_buddy_init(&vram->mm, size, PAGE_SIZE);
	if (err)
		goto err_vfree;

	if (vram->coherent)
		err = drm_pagemap_init_coherent(&vram->dpagemap, vdev->drm.dev,
						coherent_phys, size, vram->owner,
						&vsvm_pagemap_ops);
	else
		err = drm_pagemap_init(&vram->dpagemap, vdev->drm.dev, size,
				       vram->owner, &vsvm_pagemap_ops);
	if (err)
		goto err_buddy;

	if (vram->coherent) {
		/* Now in the linear map; whatever a former user left goes. */
		vram->vaddr = page_address(pfn_to_page(PHYS_PFN(coherent_phys)));
		memset(vram->vaddr, 0, size);
	}

	return 0;

err_buddy:
	gpu_buddy_fini(&vram->mm);
err_vfree:
	if (!vram->coherent)
		vfree(vram->vaddr);
err_owner:
	drm_pagemap_release_owner(&vram->peer);
	return err;
}

/**
 * vsvm_vram_fini() - Tear down the VRAM of a device
 * @vdev: The device.
 *
 * Every page still in VRAM is migrated back to system memory first.
 */
void vsvm_vram_fini(struct vsvm_device *vdev)
{
	struct vsvm_vram *vram = &vdev->vram;

	drm_pagemap_fini(&vram->dpagemap);
	vsvm_vram_flush_frees(vram);
	gpu_buddy_fini(&vram->mm);
	if (!vram->coherent)
		vfree(vram->vaddr);
	drm_pagemap_release_owner(&vram->peer);
	mutex_destroy(&vram->lock);
}

/**
 * vsvm_vram_print() - Describe the VRAM for debugfs
 * @vram: The VRAM.
 * @p: Where to print.
 */
void vsvm_vram_print(struct vsvm_vram *vram, struct drm_printer *p)
{
	struct vsvm_alloc *alloc;
	unsigned long nallocs = 0;

	vsvm_vram_flush_frees(vram);
	mutex_lock(&vram->lock);
	list_for_each_entry(alloc, &vram->lru, lru)
		nallocs++;
	drm_printf(p, "vram: %llu KiB, used %llu KiB, %lu allocations on the LRU\n",
		   vram->size >> 10, vram->used >> 10, nallocs);
	drm_printf(p, "memory type: %s\n",
		   vram->coherent ? "device-coherent" : "device-private");
	mutex_unlock(&vram->lock);
	drm_printf(p, "pages copied to vram: %lld\n", atomic64_read(&vram->to_vram));
	drm_printf(p, "pages copied to ram: %lld\n", atomic64_read(&vram->to_ram));
	drm_printf(p, "evictions: %lld\n", atomic64_read(&vram->evictions));
}
