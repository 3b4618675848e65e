// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * KUnit tests of drm_gpusvm on a real process address space.
 *
 * Copyright © 2025 The drm_gpusvm authors
 */

#include <kunit/test.h>
#include <kunit/test-bug.h>

#include <linux/delay.h>
#include <linux/dma-direct.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/hmm.h>
#include <linux/kthread.h>
#include <linux/mman.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/mmu_notifier.h>
#include <linux/panic.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include <asm/tlb.h>

#include <drm/drm_device.h>
#include <drm/drm_drv.h>
#include <drm/drm_gpusvm.h>
#include <drm/drm_kunit_helpers.h>
#include <drm/drm_pagemap.h>
#include <drm/drm_print.h>

#include "drm_gpusvm_test_dma.h"

#define TEST_MAX_EVENTS 64
#define TEST_MAX_RACES 16

struct gpusvm_test_event {
	unsigned long start;
	unsigned long end;
	enum mmu_notifier_event event;
};

/*
 * The mock driver: one GPU SVM, its driver lock, and a log of the
 * invalidations its callback saw.
 */
struct gpusvm_test_priv {
	struct device *dev;
	struct drm_device *drm;
	struct drm_gpusvm gpusvm;
	bool initialized;
	/* The driver lock: serialises insert, remove and get_pages. */
	struct mutex lock;
	struct drm_gpusvm_ops ops;
	unsigned long chunks[4];
	/*
	 * The device_private_page_owner given to drm_gpusvm_init(): priv,
	 * the owner of the mock VRAM, unless a test wants its pages foreign.
	 */
	void *owner;

	/* Written by the invalidate callback under the notifier lock. */
	struct gpusvm_test_event events[TEST_MAX_EVENTS];
	unsigned int num_events;

	/* Allocation hooks, when a test enables them. */
	atomic_t ranges_allocated;
	atomic_t ranges_freed;
	atomic_t notifiers_allocated;
	atomic_t notifiers_freed;
	/* mock_notifier_alloc() returns NULL. */
	bool notifier_alloc_fails;
	/*
	 * With @range_alloc_limited, mock_range_alloc() succeeds
	 * @range_alloc_budget more times, then returns NULL.
	 */
	bool range_alloc_limited;
	unsigned int range_alloc_budget;

	/*
	 * With @split, the invalidate callback takes only what a partial
	 * munmap() or mprotect() changes off the GPU, as the driver of the
	 * "Partial unmap" documentation does, and logs that part in
	 * @extents; the test plays the garbage collector.
	 */
	bool split;
	struct gpusvm_test_event extents[TEST_MAX_EVENTS];
	unsigned int num_extents;

	/*
	 * CPU changes racing with a split: while @next_race is below
	 * @num_races, the first range allocation of each attempt of a split
	 * (after its plan, before its commit) runs the invalidate callback
	 * for the next of @races in @race_notifier, as a change made by
	 * another thread at that moment would. Armed again by each range
	 * freed, so once per attempt.
	 */
	struct gpusvm_test_event races[TEST_MAX_RACES];
	struct drm_gpusvm_notifier *race_notifier;
	unsigned int num_races;
	unsigned int next_race;
	bool race_armed;
};

static struct gpusvm_test_priv *to_priv(struct drm_gpusvm *gpusvm)
{
	return container_of(gpusvm, struct gpusvm_test_priv, gpusvm);
}

static void mock_invalidate(struct drm_gpusvm *gpusvm,
			    struct drm_gpusvm_notifier *notifier,
			    const struct mmu_notifier_range *mmu_range)
{
	struct gpusvm_test_priv *priv = to_priv(gpusvm);
	struct drm_gpusvm_ctx ctx = { .in_notifier = true };
	struct drm_gpusvm_range *range = NULL;

	if (priv->num_events < TEST_MAX_EVENTS) {
		struct gpusvm_test_event *ev = &priv->events[priv->num_events];

		ev->start = mmu_range->start;
		ev->end = mmu_range->end;
		ev->event = mmu_range->event;
	}
	priv->num_events++;

	drm_gpusvm_for_each_range(range, notifier, mmu_range->start,
				  mmu_range->end) {
		unsigned long start, end;

		if (priv->split &&
		    drm_gpusvm_range_partial_extent(range, mmu_range, &start,
						    &end)) {
			if (priv->num_extents < TEST_MAX_EVENTS) {
				struct gpusvm_test_event *ext =
					&priv->extents[priv->num_extents];

				ext->start = start;
				ext->end = end;
				ext->event = mmu_range->event;
			}
			priv->num_extents++;
			drm_gpusvm_range_unmap_partial(gpusvm, range, start, end);
			continue;
		}

		drm_gpusvm_range_unmap_pages(gpusvm, range, &ctx);
		if (mmu_range->event == MMU_NOTIFY_UNMAP)
			drm_gpusvm_range_set_unmapped(range, mmu_range);
	}
}

static struct drm_gpusvm_range *mock_range_alloc(struct drm_gpusvm *gpusvm)
{
	struct gpusvm_test_priv *priv = to_priv(gpusvm);
	struct drm_gpusvm_range *range;

	if (priv->race_armed && priv->next_race < priv->num_races) {
		struct gpusvm_test_event *race = &priv->races[priv->next_race++];
		struct mmu_notifier_range mmu_range = {
			.start = race->start,
			.end = race->end,
			.event = race->event,
		};

		priv->race_armed = false;
		down_write(&gpusvm->notifier_lock);
		mock_invalidate(gpusvm, priv->race_notifier, &mmu_range);
		up_write(&gpusvm->notifier_lock);
	}

	if (priv->range_alloc_limited) {
		if (!priv->range_alloc_budget)
			return NULL;
		priv->range_alloc_budget--;
	}

	range = kmalloc(sizeof(*range), GFP_KERNEL);
	if (range)
		atomic_inc(&priv->ranges_allocated);
	return range;
}

static void mock_range_free(struct drm_gpusvm_range *range)
{
	struct gpusvm_test_priv *priv = to_priv(range->gpusvm);

	atomic_inc(&priv->ranges_freed);
	priv->race_armed = true;
	kfree(range);
}

/* notifier_alloc has no argument: count through a test-global pointer. */
static struct gpusvm_test_priv *mock_notifier_owner;

static struct drm_gpusvm_notifier *mock_notifier_alloc(void)
{
	struct drm_gpusvm_notifier *notifier;

	if (mock_notifier_owner->notifier_alloc_fails)
		return NULL;
	notifier = kmalloc(sizeof(*notifier), GFP_KERNEL);
	if (notifier)
		atomic_inc(&mock_notifier_owner->notifiers_allocated);
	return notifier;
}

static void mock_notifier_free(struct drm_gpusvm_notifier *notifier)
{
	atomic_inc(&to_priv(notifier->gpusvm)->notifiers_freed);
	kfree(notifier);
}

static const unsigned long default_chunks[] = { SZ_2M, SZ_64K, SZ_4K };

/* Whether a range is out of its notifier's tree. */
static bool gpusvm_test_range_gone(struct drm_gpusvm_range *range)
{
	return RB_EMPTY_NODE(&range->itree.rb);
}

/* The entry of &drm_gpusvm.range_index for the page at @addr. */
static void *gpusvm_test_index_load(struct drm_gpusvm *gpusvm,
				    unsigned long addr)
{
	void *entry = xa_load(&gpusvm->range_index,
			      (addr - gpusvm->mm_start) >> PAGE_SHIFT);

	/* A value entry is a hole: a page without range in a live window. */
	return xa_is_value(entry) ? NULL : entry;
}

/* The entries of the page index that are ranges (not holes). */
static unsigned long gpusvm_test_index_ranges(struct drm_gpusvm *gpusvm)
{
	unsigned long index, n = 0;
	void *entry;

	xa_for_each(&gpusvm->range_index, index, entry)
		n += !xa_is_value(entry);
	return n;
}

/*
 * The page index of a GPU SVM against its trees: every page of every range
 * finds its range, every entry is the range the trees have there. Called
 * after the operations that change the index, by the test's own thread.
 */
static void gpusvm_test_check_index(struct gpusvm_test_priv *priv)
{
	struct kunit *test = kunit_get_current_test();
	struct drm_gpusvm *gpusvm = &priv->gpusvm;
	struct drm_gpusvm_notifier *notifier;
	struct drm_gpusvm_range *range;
	unsigned long addr, index, missed = 0, stale = 0;
	void *entry;

	if (!test || !priv->initialized)
		return;

	/* Not if a failed assertion ended the test with the lock held. */
	if (!mutex_trylock(&priv->lock))
		return;
	drm_gpusvm_for_each_notifier(notifier, gpusvm, 0, ULONG_MAX)
		drm_gpusvm_for_each_range(range, notifier, 0, ULONG_MAX)
			for (addr = drm_gpusvm_range_start(range);
			     addr < drm_gpusvm_range_end(range);
			     addr += PAGE_SIZE)
				if (gpusvm_test_index_load(gpusvm, addr) != range)
					missed++;

	/* Holes only where a notifier lives and no range is. */
	xa_for_each(&gpusvm->range_index, index, entry) {
		addr = gpusvm->mm_start + (index << PAGE_SHIFT);
		notifier = drm_gpusvm_notifier_find(gpusvm, addr, addr + 1);
		if (!notifier ||
		    drm_gpusvm_range_find(notifier, addr, addr + 1) !=
		    (xa_is_value(entry) ? NULL : entry))
			stale++;
	}
	mutex_unlock(&priv->lock);

	KUNIT_EXPECT_EQ_MSG(test, missed, 0,
			    "pages of ranges the index does not find");
	KUNIT_EXPECT_EQ_MSG(test, stale, 0,
			    "index entries that are not the tree's range");
}

static void gpusvm_test_fini(struct gpusvm_test_priv *priv)
{
	if (!priv->initialized)
		return;
	gpusvm_test_check_index(priv);
	drm_gpusvm_fini(&priv->gpusvm);
	priv->initialized = false;
}

KUNIT_DEFINE_ACTION_WRAPPER(gpusvm_test_fini_action, gpusvm_test_fini,
			    struct gpusvm_test_priv *);

static int gpusvm_test_init_full(struct kunit *test, struct mm_struct *mm,
				 unsigned long mm_start, unsigned long mm_range,
				 unsigned long notifier_size,
				 const unsigned long *chunks, int num_chunks)
{
	struct gpusvm_test_priv *priv = test->priv;
	int err, i;

	KUNIT_ASSERT_LE(test, num_chunks, ARRAY_SIZE(priv->chunks));
	for (i = 0; i < num_chunks; i++)
		priv->chunks[i] = chunks[i];

	err = drm_gpusvm_init(&priv->gpusvm, "kunit", priv->drm, mm,
			      priv->owner, mm_start, mm_range, notifier_size,
			      &priv->ops, priv->chunks, num_chunks);
	if (err)
		return err;

	priv->initialized = true;
	drm_gpusvm_driver_set_lock(&priv->gpusvm, &priv->lock);

	return kunit_add_action_or_reset(test, gpusvm_test_fini_action, priv);
}

/* A GPU SVM over the whole address space of the test, 2M notifiers. */
static void gpusvm_test_init(struct kunit *test)
{
	int err = gpusvm_test_init_full(test, current->mm, 0, TASK_SIZE_MAX,
					SZ_2M, default_chunks,
					ARRAY_SIZE(default_chunks));

	KUNIT_ASSERT_EQ_MSG(test, err, 0, "drm_gpusvm_init() failed");
}

/* gpusvm_test_init() with the counting notifier allocation hooks. */
static void gpusvm_test_init_notifier_hooks(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;

	priv->ops.notifier_alloc = mock_notifier_alloc;
	priv->ops.notifier_free = mock_notifier_free;
	mock_notifier_owner = priv;
	gpusvm_test_init(test);
}

static unsigned long gpusvm_test_mmap(struct kunit *test, unsigned long size,
				      unsigned long prot, unsigned long flags)
{
	unsigned long addr = kunit_vm_mmap(test, NULL, 0, size, prot, flags, 0);

	KUNIT_ASSERT_FALSE_MSG(test, !addr || IS_ERR_VALUE(addr),
			       "mmap of %lu bytes failed: %ld", size, (long)addr);
	return addr;
}

static unsigned long gpusvm_test_mmap_rw(struct kunit *test, unsigned long size)
{
	return gpusvm_test_mmap(test, size, PROT_READ | PROT_WRITE,
				MAP_ANONYMOUS | MAP_PRIVATE);
}

/* @size bytes aligned to @align, in a VMA too small for a huge page. */
static unsigned long gpusvm_test_mmap_aligned(struct kunit *test,
					      unsigned long size,
					      unsigned long align)
{
	return ALIGN(gpusvm_test_mmap_rw(test, size + align), align);
}

/* Write a per-page pattern into user memory, populating it. */
static void gpusvm_test_fill(struct kunit *test, unsigned long start,
			     unsigned long end, u32 seed)
{
	unsigned long addr;

	for (addr = start; addr < end; addr += PAGE_SIZE) {
		u32 __user *p = (u32 __user *)addr;

		KUNIT_ASSERT_EQ_MSG(test, put_user(seed ^ (u32)(addr >> PAGE_SHIFT), p), 0,
				    "put_user at 0x%lx", addr);
	}
}

/* Read one word per page, which maps the zero page where nothing is. */
static void gpusvm_test_touch_read(struct kunit *test, unsigned long start,
				   unsigned long end)
{
	unsigned long addr;
	u32 val;

	for (addr = start; addr < end; addr += PAGE_SIZE) {
		KUNIT_ASSERT_EQ(test, get_user(val, (u32 __user *)addr), 0);
		KUNIT_ASSERT_EQ(test, val, 0);
	}
}

static void gpusvm_test_munmap(struct kunit *test, unsigned long start,
			       unsigned long size)
{
	KUNIT_ASSERT_EQ_MSG(test, vm_munmap(start, size), 0,
			    "munmap [0x%lx, 0x%lx)", start, start + size);
}

/*
 * do_madvise() and mprotect_fixup() are global but not exported: the
 * cases using them run only when the tests are built in.
 */
static int gpusvm_test_madvise(struct kunit *test, unsigned long start,
			       unsigned long size, int behavior)
{
#if IS_BUILTIN(CONFIG_DRM_GPUSVM_KUNIT_TEST)
	return do_madvise(current->mm, start, size, behavior);
#else
	kunit_skip(test, "madvise needs the tests built in");
	return -EOPNOTSUPP;
#endif
}

/*
 * mprotect() of [@start, @end), to read-only or read-write: exactly one
 * whole VMA if @whole, else any part of one VMA, which mprotect_fixup()
 * splits off.
 */
static int __gpusvm_test_mprotect(struct kunit *test, unsigned long start,
				  unsigned long end, bool writable, bool whole)
{
#if IS_BUILTIN(CONFIG_DRM_GPUSVM_KUNIT_TEST)
	VMA_ITERATOR(vmi, current->mm, start);
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma, *prev;
	struct mmu_gather tlb;
	int err;

	mmap_write_lock(mm);
	vma = vma_find(&vmi, end);
	if (!vma || vma->vm_start > start || vma->vm_end < end ||
	    (whole && (vma->vm_start != start || vma->vm_end != end))) {
		err = -EINVAL;
		goto out;
	}
	prev = vma_prev(&vmi);
	vma = vma_find(&vmi, end);
	/* As in do_mprotect_pkey(): from inside a VMA, it is its own prev. */
	if (start > vma->vm_start)
		prev = vma;
	tlb_gather_mmu(&tlb, mm);
	err = mprotect_fixup(&vmi, &tlb, vma, &prev, start, end,
			     writable ? vma->vm_flags | VM_WRITE :
					vma->vm_flags & ~VM_WRITE);
	tlb_finish_mmu(&tlb);
out:
	mmap_write_unlock(mm);
	return err;
#else
	kunit_skip(test, "mprotect needs the tests built in");
	return -EOPNOTSUPP;
#endif
}

/* mprotect() of exactly one whole VMA, to read-only or read-write. */
static int gpusvm_test_mprotect(struct kunit *test, unsigned long start,
				unsigned long end, bool writable)
{
	return __gpusvm_test_mprotect(test, start, end, writable, true);
}

static struct drm_gpusvm_range *
gpusvm_test_insert(struct gpusvm_test_priv *priv, unsigned long addr,
		   unsigned long va_start, unsigned long va_end,
		   const struct drm_gpusvm_ctx *ctx)
{
	struct drm_gpusvm_range *range;

	mutex_lock(&priv->lock);
	range = drm_gpusvm_range_find_or_insert(&priv->gpusvm, addr, va_start,
						va_end, ctx);
	mutex_unlock(&priv->lock);
	gpusvm_test_check_index(priv);

	return range;
}

/* Insert a range around @addr with the GPU VA window [@lo, @hi). */
static struct drm_gpusvm_range *
gpusvm_test_insert_ok(struct kunit *test, unsigned long addr,
		      unsigned long lo, unsigned long hi)
{
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;

	range = gpusvm_test_insert(test->priv, addr, lo, hi, &ctx);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(range),
			       "find_or_insert(0x%lx) failed: %d", addr,
			       PTR_ERR_OR_ZERO(range));
	return range;
}

static void gpusvm_test_remove(struct gpusvm_test_priv *priv,
			       struct drm_gpusvm_range *range)
{
	mutex_lock(&priv->lock);
	drm_gpusvm_range_remove(&priv->gpusvm, range);
	mutex_unlock(&priv->lock);
	gpusvm_test_check_index(priv);
}

static int gpusvm_test_get_pages(struct gpusvm_test_priv *priv,
				 struct drm_gpusvm_range *range,
				 const struct drm_gpusvm_ctx *ctx)
{
	int err;

	mutex_lock(&priv->lock);
	err = drm_gpusvm_range_get_pages(&priv->gpusvm, range, ctx);
	mutex_unlock(&priv->lock);

	return err;
}

static bool gpusvm_test_pages_valid(struct gpusvm_test_priv *priv,
				    struct drm_gpusvm_range *range)
{
	bool valid;

	drm_gpusvm_notifier_lock(&priv->gpusvm);
	valid = drm_gpusvm_range_pages_valid(&priv->gpusvm, range);
	drm_gpusvm_notifier_unlock(&priv->gpusvm);

	return valid;
}

/* All notifiers, the idle one (holding no range) included. */
static unsigned int gpusvm_test_count_all_notifiers(struct gpusvm_test_priv *priv)
{
	struct drm_gpusvm_notifier *notifier;
	unsigned int n = 0;

	list_for_each_entry(notifier, &priv->gpusvm.notifier_list, entry)
		n++;
	return n;
}

/*
 * The notifiers holding ranges. At most one notifier may hold none, the
 * idle one: more would be a leak.
 */
static unsigned int gpusvm_test_count_notifiers(struct gpusvm_test_priv *priv)
{
	struct drm_gpusvm_notifier *notifier;
	unsigned int n = 0, empty = 0;

	list_for_each_entry(notifier, &priv->gpusvm.notifier_list, entry) {
		if (RB_EMPTY_ROOT(&notifier->root.rb_root))
			empty++;
		else
			n++;
	}
	if (empty > 1 ||
	    (empty && !priv->gpusvm.idle_notifier) ||
	    (priv->gpusvm.idle_notifier &&
	     !RB_EMPTY_ROOT(&priv->gpusvm.idle_notifier->root.rb_root)))
		return UINT_MAX;
	return n;
}

static bool gpusvm_test_saw_event(struct gpusvm_test_priv *priv,
				  enum mmu_notifier_event event,
				  unsigned long start, unsigned long end)
{
	unsigned int i;

	for (i = 0; i < min(priv->num_events, TEST_MAX_EVENTS); i++) {
		struct gpusvm_test_event *ev = &priv->events[i];

		if (ev->event == event && ev->start <= start && ev->end >= end)
			return true;
	}
	return false;
}

static void gpusvm_test_dump(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct drm_printer p = drm_info_printer(priv->dev);
	unsigned int i;

	drm_gpusvm_print(&priv->gpusvm, &p);
	for (i = 0; i < min(priv->num_events, TEST_MAX_EVENTS); i++)
		kunit_info(test, "event %u: [0x%lx-0x%lx) type %d\n", i,
			   priv->events[i].start, priv->events[i].end,
			   priv->events[i].event);
}

/*
 * Check the device addresses of a range against the CPU's view: with
 * dma-direct and no IOMMU, a DMA address translates back to the physical
 * page, whose content must be the pattern written at that user address.
 * Returns the largest order seen.
 */
static unsigned int gpusvm_test_check_dma(struct kunit *test,
					  struct drm_gpusvm_range *range,
					  u32 seed, bool zero)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long start = drm_gpusvm_range_start(range);
	unsigned long npages = drm_gpusvm_range_npages(range);
	struct drm_pagemap_device_addr *entry;
	unsigned int max_order = 0;
	unsigned long i, j, k;

	KUNIT_ASSERT_NOT_NULL(test, range->dma_addr);
	drm_gpusvm_for_each_dma_block(range, entry, i) {
		j = entry - range->dma_addr;
		KUNIT_ASSERT_LT_MSG(test, j, (unsigned long)range->num_dma_addr,
				    "entry %lu is past the table", j);
		KUNIT_ASSERT_EQ(test, (u64)entry->proto, (u64)DRM_INTERCONNECT_SYSTEM);
		KUNIT_ASSERT_FALSE(test, dma_mapping_error(priv->dev, entry->addr));
		KUNIT_ASSERT_LE_MSG(test, i + (1UL << entry->order), npages,
				    "entry %lu of order %u overruns the range", j,
				    (unsigned int)entry->order);
		KUNIT_EXPECT_TRUE(test, IS_ALIGNED(start + (i << PAGE_SHIFT),
						   PAGE_SIZE << entry->order));
		max_order = max_t(unsigned int, max_order, entry->order);

		for (k = 0; k < (1UL << entry->order); k++) {
			phys_addr_t phys = dma_to_phys(priv->dev, entry->addr) +
					   (k << PAGE_SHIFT);
			unsigned long uaddr = start + ((i + k) << PAGE_SHIFT);
			u32 expect = zero ? 0 : seed ^ (u32)(uaddr >> PAGE_SHIFT);
			u32 *kaddr = phys_to_virt(phys);

			KUNIT_EXPECT_EQ_MSG(test, *kaddr, expect,
					    "page at 0x%lx (entry %lu)", uaddr, j);
		}
	}
	KUNIT_EXPECT_EQ_MSG(test, entry - range->dma_addr,
			    (long)range->num_dma_addr,
			    "the table has entries no block uses");

	return max_order;
}

/*
 * Bind @range as a driver does, and check the property the notifier
 * protocol exists for: pages that drm_gpusvm_range_pages_valid() accepts
 * under the notifier lock are the pages the CPU maps at that moment. The
 * CPU's view is a snapshot that faults nothing (a fault would fill in an
 * entry that an invalidation cleared), taken under the protocol itself so
 * that no invalidation slips between it and the check. System pages only.
 *
 * Return: -EAGAIN if the pages are not valid (the driver would collect
 * them again) or invalidations kept racing with the snapshot; another
 * negative error if the snapshot failed; else the number of pages bound
 * that are not the CPU's, the first of which is stored in @first.
 */
static long gpusvm_test_bind(struct gpusvm_test_priv *priv,
			     struct drm_gpusvm_range *range,
			     unsigned long *pfns, unsigned long *first)
{
	struct mmu_interval_notifier *mni = &range->notifier->notifier;
	unsigned long npages = drm_gpusvm_range_npages(range);
	struct drm_pagemap_device_addr *entry;
	struct hmm_range snap = {
		.notifier = mni,
		.start = drm_gpusvm_range_start(range),
		.end = drm_gpusvm_range_end(range),
		.hmm_pfns = pfns,
		.dev_private_owner = priv->gpusvm.device_private_page_owner,
	};
	struct mm_struct *mm = priv->gpusvm.mm;
	unsigned long i, k;
	long stale = 0;
	int tries, err;

	for (tries = 0;; tries++) {
		if (tries == 16)
			return -EAGAIN;
		snap.notifier_seq = mmu_interval_read_begin(mni);
		mmap_read_lock(mm);
		err = hmm_range_fault(&snap);
		mmap_read_unlock(mm);
		if (err == -EBUSY)
			continue;
		if (err)
			return err;
		drm_gpusvm_notifier_lock(&priv->gpusvm);
		if (!mmu_interval_read_retry(mni, snap.notifier_seq))
			break;
		drm_gpusvm_notifier_unlock(&priv->gpusvm);
	}

	if (!drm_gpusvm_range_pages_valid(&priv->gpusvm, range)) {
		drm_gpusvm_notifier_unlock(&priv->gpusvm);
		return -EAGAIN;
	}

	drm_gpusvm_for_each_dma_block(range, entry, i) {
		unsigned long n = 1UL << entry->order;
		unsigned long pfn = PHYS_PFN(dma_to_phys(priv->dev, entry->addr));

		for (k = 0; k < n && i + k < npages; k++) {
			unsigned long cpu = pfns[i + k];
			bool same = entry->proto == DRM_INTERCONNECT_SYSTEM &&
				    (cpu & HMM_PFN_VALID) &&
				    page_to_pfn(hmm_pfn_to_page(cpu)) == pfn + k;

			if (!same && !stale++)
				*first = i + k;
		}
	}
	drm_gpusvm_notifier_unlock(&priv->gpusvm);

	return stale;
}

/* --- init / fini -------------------------------------------------------- */

static void drm_test_gpusvm_init_fini(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct mm_struct *mm = current->mm;

	gpusvm_test_init(test);
	KUNIT_EXPECT_PTR_EQ(test, priv->gpusvm.mm, mm);
	KUNIT_EXPECT_PTR_EQ(test, priv->gpusvm.drm, priv->drm);
	KUNIT_EXPECT_EQ(test, priv->gpusvm.num_chunks, ARRAY_SIZE(default_chunks));
	KUNIT_EXPECT_TRUE(test, list_empty(&priv->gpusvm.notifier_list));
	KUNIT_EXPECT_FALSE(test, drm_gpusvm_has_mapping(&priv->gpusvm, 0,
							TASK_SIZE_MAX));

	gpusvm_test_fini(priv);
	KUNIT_EXPECT_NULL(test, priv->gpusvm.mm);
}

struct gpusvm_init_case {
	const char *desc;
	bool null_drm, null_mm, null_ops, no_invalidate, half_range_hooks;
	bool half_notifier_hooks, null_chunks;
	unsigned long chunks[4];
	int num_chunks;
	unsigned long notifier_size;
	unsigned long mm_start, mm_range;
};

static const struct gpusvm_init_case gpusvm_init_cases[] = {
	{ .desc = "NULL drm device", .null_drm = true },
	{ .desc = "NULL mm", .null_mm = true },
	{ .desc = "NULL ops", .null_ops = true },
	{ .desc = "no invalidate callback", .no_invalidate = true },
	{ .desc = "range_alloc without range_free", .half_range_hooks = true },
	{ .desc = "notifier_alloc without notifier_free",
	  .half_notifier_hooks = true },
	{ .desc = "NULL chunk array", .null_chunks = true },
	{ .desc = "zero chunks", .chunks = { SZ_4K }, .num_chunks = 0 },
	{ .desc = "negative chunk count", .chunks = { SZ_4K }, .num_chunks = -1 },
	{ .desc = "chunk not a power of two",
	  .chunks = { SZ_64K + SZ_4K, SZ_4K }, .num_chunks = 2 },
	{ .desc = "chunk below PAGE_SIZE", .chunks = { SZ_64K, 512 },
	  .num_chunks = 2 },
	{ .desc = "chunk zero", .chunks = { SZ_64K, 0 }, .num_chunks = 2 },
	{ .desc = "chunks ascending", .chunks = { SZ_4K, SZ_64K },
	  .num_chunks = 2 },
	{ .desc = "chunks repeated", .chunks = { SZ_64K, SZ_64K, SZ_4K },
	  .num_chunks = 3 },
	{ .desc = "notifier size not a power of two",
	  .notifier_size = SZ_2M + SZ_64K },
	{ .desc = "notifier smaller than the largest chunk",
	  .notifier_size = SZ_1M },
	{ .desc = "notifier size zero", .notifier_size = 1 },
	{ .desc = "unaligned mm_start", .mm_start = 0x1234 },
	{ .desc = "unaligned mm_range", .mm_range = SZ_1M + 8 },
	{ .desc = "mm_range zero", .mm_range = 1 },
	{ .desc = "range wraps around", .mm_start = ULONG_MAX - SZ_1M + 1,
	  .mm_range = SZ_2M },
	{ .desc = "range ends at 2^64", .mm_start = ULONG_MAX - SZ_2M + 1,
	  .mm_range = SZ_2M },
};

static void gpusvm_init_case_desc(const struct gpusvm_init_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(gpusvm_init, gpusvm_init_cases, gpusvm_init_case_desc);

static void drm_test_gpusvm_init_bad_args(struct kunit *test)
{
	const struct gpusvm_init_case *c = test->param_value;
	struct gpusvm_test_priv *priv = test->priv;
	struct drm_gpusvm_ops ops = priv->ops;
	const unsigned long *chunks = default_chunks;
	int num_chunks = ARRAY_SIZE(default_chunks);
	unsigned long notifier_size = SZ_2M;
	unsigned long mm_start = 0, mm_range = SZ_1G;
	struct drm_gpusvm gpusvm = {};
	int err;

	if (c->num_chunks || c->chunks[0]) {
		chunks = c->chunks;
		num_chunks = c->num_chunks;
	}
	if (c->null_chunks)
		chunks = NULL;
	if (c->notifier_size)
		notifier_size = c->notifier_size == 1 ? 0 : c->notifier_size;
	if (c->mm_start)
		mm_start = c->mm_start;
	if (c->mm_range)
		mm_range = c->mm_range == 1 ? 0 : c->mm_range;
	if (c->no_invalidate)
		ops.invalidate = NULL;
	if (c->half_range_hooks)
		ops.range_alloc = mock_range_alloc;
	if (c->half_notifier_hooks)
		ops.notifier_free = mock_notifier_free;

	err = drm_gpusvm_init(&gpusvm, "bad", c->null_drm ? NULL : priv->drm,
			      c->null_mm ? NULL : current->mm, NULL, mm_start,
			      mm_range, notifier_size, c->null_ops ? NULL : &ops,
			      chunks, num_chunks);
	KUNIT_EXPECT_EQ_MSG(test, err, -EINVAL, "%s", c->desc);
	if (!err)
		drm_gpusvm_fini(&gpusvm);
}

/* The smallest valid configuration: one page-sized chunk. */
static void drm_test_gpusvm_init_single_chunk(struct kunit *test)
{
	static const unsigned long chunk[] = { SZ_4K };
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_rw(test, SZ_64K);
	struct drm_gpusvm_range *range;
	int err;

	err = gpusvm_test_init_full(test, current->mm, 0, TASK_SIZE_MAX,
				    PAGE_SIZE, chunk, 1);
	KUNIT_ASSERT_EQ(test, err, 0);

	range = gpusvm_test_insert_ok(test, addr + SZ_8K, 0, ULONG_MAX);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_start(range), addr + SZ_8K);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_size(range), PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_notifier_size(range->notifier),
			PAGE_SIZE);
	gpusvm_test_fini(priv);
}

/* --- chunk selection ---------------------------------------------------- */

/*
 * Offsets are relative to a 2 MiB aligned base inside an 8 MiB mapping;
 * usable offsets are [-2M, 4M). The VMA is cut to [vma_start, vma_end).
 */
struct gpusvm_chunk_case {
	const char *desc;
	long vma_start, vma_end;
	long win_start, win_end;
	long mm_start, mm_end;
	long fault;
	unsigned long chunks[4];
	int num_chunks;
	unsigned long threshold;
	long fill_start, fill_end;
	long expect_start, expect_end;
	int expect_err;
};

#define CHUNKS_2M_64K_4K .chunks = { SZ_2M, SZ_64K, SZ_4K }, .num_chunks = 3
#define WHOLE_VMA .vma_start = -SZ_2M, .vma_end = SZ_4M

static const struct gpusvm_chunk_case gpusvm_chunk_cases[] = {
	{ .desc = "2M block inside the VMA gives a 2M range", WHOLE_VMA,
	  CHUNKS_2M_64K_4K, .fault = 0x1234, .expect_end = SZ_2M },
	{ .desc = "fault in the last page of a 2M block", WHOLE_VMA,
	  CHUNKS_2M_64K_4K, .fault = SZ_2M - 1, .expect_end = SZ_2M },
	{ .desc = "VMA ends inside the 2M block: 64K", .vma_end = SZ_1M + SZ_64K,
	  CHUNKS_2M_64K_4K, .fault = SZ_1M + SZ_4K, .expect_start = SZ_1M,
	  .expect_end = SZ_1M + SZ_64K },
	{ .desc = "VMA ends inside the 64K block: cut to 8K",
	  .vma_end = SZ_1M + SZ_8K, CHUNKS_2M_64K_4K, .fault = SZ_1M + SZ_4K,
	  .expect_start = SZ_1M, .expect_end = SZ_1M + SZ_8K },
	{ .desc = "VMA starts inside the 64K block: cut to 60K",
	  .vma_start = SZ_4K, .vma_end = SZ_2M, CHUNKS_2M_64K_4K, .fault = SZ_8K,
	  .expect_start = SZ_4K, .expect_end = SZ_64K },
	{ .desc = "64K VMA 4K past a boundary: its last page", .vma_start = SZ_4K,
	  .vma_end = SZ_64K + SZ_4K, CHUNKS_2M_64K_4K, .fault = SZ_64K,
	  .expect_start = SZ_64K, .expect_end = SZ_64K + SZ_4K },
	{ .desc = "VMA leaves one page of the 64K block: 4K",
	  .vma_end = SZ_1M + SZ_4K, CHUNKS_2M_64K_4K, .fault = SZ_1M,
	  .expect_start = SZ_1M, .expect_end = SZ_1M + SZ_4K },
	{ .desc = "VMA starts at a 64K boundary: 64K", .vma_start = SZ_64K,
	  .vma_end = SZ_2M, CHUNKS_2M_64K_4K, .fault = SZ_64K + SZ_8K,
	  .expect_start = SZ_64K, .expect_end = SZ_128K },
	{ .desc = "VMA spans two 2M blocks, fault in the second", WHOLE_VMA,
	  CHUNKS_2M_64K_4K, .fault = SZ_2M + SZ_64K, .expect_start = SZ_2M,
	  .expect_end = SZ_4M },
	{ .desc = "GPU VA window of 1M: 64K", WHOLE_VMA, CHUNKS_2M_64K_4K,
	  .win_start = 0, .win_end = SZ_1M, .fault = 0x5000, .expect_end = SZ_64K },
	{ .desc = "GPU VA window of 20K: cut to 20K", WHOLE_VMA, CHUNKS_2M_64K_4K,
	  .win_start = SZ_16K, .win_end = SZ_32K + SZ_4K, .fault = SZ_16K + SZ_4K,
	  .expect_start = SZ_16K, .expect_end = SZ_32K + SZ_4K },
	{ .desc = "unaligned GPU VA window: cut at whole pages", WHOLE_VMA,
	  CHUNKS_2M_64K_4K, .win_start = SZ_16K + 0x10,
	  .win_end = SZ_32K + SZ_4K + 0x10, .fault = SZ_16K + SZ_4K,
	  .expect_start = SZ_16K + SZ_4K, .expect_end = SZ_32K + SZ_4K },
	{ .desc = "fault in a partial page of the GPU VA window", WHOLE_VMA,
	  CHUNKS_2M_64K_4K, .win_start = SZ_16K + 0x10,
	  .win_end = SZ_32K + SZ_4K + 0x10, .fault = SZ_16K + 0x20,
	  .expect_err = -EINVAL },
	{ .desc = "cut block crossing a 2M boundary stays in its 64K",
	  .vma_start = SZ_2M - SZ_8K, .vma_end = SZ_2M + SZ_8K,
	  CHUNKS_2M_64K_4K, .fault = SZ_2M - SZ_4K,
	  .expect_start = SZ_2M - SZ_8K, .expect_end = SZ_2M },
	{ .desc = "mirrored window of 1M: 64K", WHOLE_VMA, CHUNKS_2M_64K_4K,
	  .mm_start = 0, .mm_end = SZ_1M, .fault = SZ_512K,
	  .expect_start = SZ_512K, .expect_end = SZ_512K + SZ_64K },
	{ .desc = "2M and 4K chunks: the 2M block is cut", .vma_end = SZ_1M,
	  .chunks = { SZ_2M, SZ_4K }, .num_chunks = 2, .fault = SZ_64K,
	  .expect_start = 0, .expect_end = SZ_1M },
	{ .desc = "no PAGE_SIZE chunk: no block is cut", .vma_start = SZ_4K,
	  .vma_end = SZ_1M, .chunks = { SZ_2M, SZ_64K }, .num_chunks = 2,
	  .fault = SZ_8K, .expect_err = -EINVAL },
	{ .desc = "only 64K chunks, 64K fits", WHOLE_VMA,
	  .chunks = { SZ_64K }, .num_chunks = 1, .fault = SZ_1M + 0x10,
	  .expect_start = SZ_1M, .expect_end = SZ_1M + SZ_64K },
	{ .desc = "no chunk fits an 8K VMA", .vma_end = SZ_8K,
	  .chunks = { SZ_2M, SZ_64K }, .num_chunks = 2, .fault = 0,
	  .expect_err = -EINVAL },
	{ .desc = "fault outside the GPU VA window", WHOLE_VMA, CHUNKS_2M_64K_4K,
	  .win_start = SZ_1M, .win_end = SZ_2M, .fault = SZ_64K,
	  .expect_err = -EINVAL },
	{ .desc = "fault at the GPU VA window end", WHOLE_VMA, CHUNKS_2M_64K_4K,
	  .win_start = 0, .win_end = SZ_1M, .fault = SZ_1M,
	  .expect_err = -EINVAL },
	{ .desc = "fault outside the mirrored window", WHOLE_VMA,
	  CHUNKS_2M_64K_4K, .mm_start = 0, .mm_end = SZ_1M, .fault = SZ_1M,
	  .expect_err = -EINVAL },
	{ .desc = "fault in a hole: no VMA", .vma_end = SZ_64K,
	  CHUNKS_2M_64K_4K, .fault = SZ_128K, .expect_err = -EFAULT },
	{ .desc = "threshold: unpopulated 64K falls back to 4K", .vma_end = SZ_1M,
	  CHUNKS_2M_64K_4K, .threshold = SZ_64K, .fault = SZ_128K + SZ_4K,
	  .expect_start = SZ_128K + SZ_4K, .expect_end = SZ_128K + SZ_8K },
	{ .desc = "threshold: populated 64K is kept", .vma_end = SZ_1M,
	  CHUNKS_2M_64K_4K, .threshold = SZ_64K, .fill_start = SZ_128K,
	  .fill_end = SZ_128K + SZ_64K, .fault = SZ_128K + SZ_4K,
	  .expect_start = SZ_128K, .expect_end = SZ_128K + SZ_64K },
	{ .desc = "threshold: partly populated 64K falls back", .vma_end = SZ_1M,
	  CHUNKS_2M_64K_4K, .threshold = SZ_64K, .fill_start = SZ_128K,
	  .fill_end = SZ_128K + SZ_32K, .fault = SZ_128K + SZ_4K,
	  .expect_start = SZ_128K + SZ_4K, .expect_end = SZ_128K + SZ_8K },
	{ .desc = "threshold: unpopulated cut block falls back to 4K",
	  .vma_start = SZ_4K, .vma_end = SZ_1M, CHUNKS_2M_64K_4K,
	  .threshold = SZ_64K, .fault = SZ_8K, .expect_start = SZ_8K,
	  .expect_end = SZ_8K + SZ_4K },
	{ .desc = "threshold: populated cut block is kept", .vma_start = SZ_4K,
	  .vma_end = SZ_1M, CHUNKS_2M_64K_4K, .threshold = SZ_64K,
	  .fill_start = SZ_4K, .fill_end = SZ_64K, .fault = SZ_8K,
	  .expect_start = SZ_4K, .expect_end = SZ_64K },
	{ .desc = "threshold: smallest chunk is never refused", .vma_end = SZ_1M,
	  .chunks = { SZ_64K, SZ_16K }, .num_chunks = 2, .threshold = SZ_64K,
	  .fault = SZ_256K + SZ_4K, .expect_start = SZ_256K,
	  .expect_end = SZ_256K + SZ_16K },
};

static void gpusvm_chunk_case_desc(const struct gpusvm_chunk_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(gpusvm_chunk, gpusvm_chunk_cases, gpusvm_chunk_case_desc);

/* Whether @range lies inside one naturally aligned block of a chunk size. */
static bool gpusvm_test_in_one_block(struct drm_gpusvm_range *range,
				     const unsigned long *chunks, int num_chunks)
{
	unsigned long start = drm_gpusvm_range_start(range);
	unsigned long last = drm_gpusvm_range_end(range) - 1;
	int i;

	for (i = 0; i < num_chunks; i++)
		if (ALIGN_DOWN(start, chunks[i]) == ALIGN_DOWN(last, chunks[i]))
			return true;
	return false;
}

static void drm_test_gpusvm_chunk_selection(struct kunit *test)
{
	const struct gpusvm_chunk_case *c = test->param_value;
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long map = gpusvm_test_mmap_rw(test, SZ_8M);
	unsigned long base = ALIGN(map, SZ_2M) + SZ_2M;
	unsigned long mm_start = 0, mm_range = TASK_SIZE_MAX;
	unsigned long lo = 0, hi = ULONG_MAX;
	struct drm_gpusvm_ctx ctx = { .check_pages_threshold = c->threshold };
	struct drm_gpusvm_range *range;
	int err;

	/* Cut the mapping down to the VMA of the case. */
	if (base + c->vma_start > map)
		gpusvm_test_munmap(test, map, base + c->vma_start - map);
	if (base + c->vma_end < map + SZ_8M)
		gpusvm_test_munmap(test, base + c->vma_end,
				   map + SZ_8M - (base + c->vma_end));

	if (c->mm_end) {
		mm_start = base + c->mm_start;
		mm_range = c->mm_end - c->mm_start;
	}
	if (c->win_end) {
		lo = base + c->win_start;
		hi = base + c->win_end;
	}
	if (c->fill_end)
		gpusvm_test_fill(test, base + c->fill_start, base + c->fill_end, 1);

	err = gpusvm_test_init_full(test, current->mm, mm_start, mm_range,
				    SZ_4M, c->chunks, c->num_chunks);
	KUNIT_ASSERT_EQ(test, err, 0);

	range = gpusvm_test_insert(priv, base + c->fault, lo, hi, &ctx);
	if (c->expect_err) {
		KUNIT_EXPECT_EQ_MSG(test, PTR_ERR_OR_ZERO(range), c->expect_err,
				    "%s", c->desc);
		KUNIT_EXPECT_EQ(test, gpusvm_test_count_notifiers(priv), 0);
		return;
	}

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(range), "%s: error %d", c->desc,
			       PTR_ERR_OR_ZERO(range));
	KUNIT_EXPECT_EQ_MSG(test, drm_gpusvm_range_start(range) - base,
			    (unsigned long)c->expect_start, "%s", c->desc);
	KUNIT_EXPECT_EQ_MSG(test, drm_gpusvm_range_end(range) - base,
			    (unsigned long)c->expect_end, "%s", c->desc);
	KUNIT_EXPECT_TRUE_MSG(test, gpusvm_test_in_one_block(range, c->chunks,
							     c->num_chunks),
			      "%s", c->desc);
}

/* --- find_or_insert ----------------------------------------------------- */

static void drm_test_gpusvm_insert_existing(struct kunit *test)
{
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_range *a, *b;

	gpusvm_test_init(test);
	a = gpusvm_test_insert_ok(test, addr, 0, ULONG_MAX);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(a), SZ_64K);
	b = gpusvm_test_insert_ok(test, addr + SZ_4K * 3, 0, ULONG_MAX);
	KUNIT_EXPECT_PTR_EQ_MSG(test, a, b,
				"a fault inside a range must return that range");
	KUNIT_EXPECT_EQ_MSG(test, kref_read(&a->refcount), 1,
			    "find_or_insert() takes no reference");
}

/* A new range never overlaps an existing one: it shrinks around it. */
static void drm_test_gpusvm_insert_next_to_existing(struct kunit *test)
{
	unsigned long map = gpusvm_test_mmap_rw(test, SZ_4M);
	unsigned long base = ALIGN(map, SZ_2M);
	struct drm_gpusvm_range *small, *next;

	gpusvm_test_init(test);
	/* A 4K range first, through a 4K GPU VA window. */
	small = gpusvm_test_insert_ok(test, base + SZ_4K, base + SZ_4K,
				      base + SZ_8K);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(small), SZ_4K);

	/* The 2M and 64K blocks around base would overlap it. */
	next = gpusvm_test_insert_ok(test, base, 0, ULONG_MAX);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_start(next), base);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_size(next), SZ_4K);

	/* The next 64K block is free. */
	next = gpusvm_test_insert_ok(test, base + SZ_64K, 0, ULONG_MAX);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_size(next), SZ_64K);
	KUNIT_EXPECT_PTR_EQ(test, next->notifier, small->notifier);
}

/*
 * A block cut at a VMA edge overlaps no range either: once the VMA of a
 * cut range grows, a fault in the new part gets what is left.
 */
static void drm_test_gpusvm_insert_cut_next_to_existing(struct kunit *test)
{
	unsigned long map = gpusvm_test_mmap_rw(test, SZ_4M);
	unsigned long base = ALIGN(map, SZ_2M);
	struct drm_gpusvm_range *first, *next;
	unsigned long addr;

	gpusvm_test_init(test);
	/* The VMA starts 32K into a 64K block: the range is [32K, 64K). */
	gpusvm_test_munmap(test, base, SZ_32K);
	first = gpusvm_test_insert_ok(test, base + SZ_32K + SZ_8K, 0, ULONG_MAX);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_start(first), base + SZ_32K);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_end(first), base + SZ_64K);

	/* The VMA grows down to 4K (merged: nothing was faulted in). */
	addr = kunit_vm_mmap(test, NULL, base + SZ_4K, SZ_32K - SZ_4K,
			     PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE | MAP_FIXED, 0);
	KUNIT_ASSERT_EQ(test, addr, base + SZ_4K);
	next = gpusvm_test_insert_ok(test, base + SZ_8K, 0, ULONG_MAX);
	KUNIT_EXPECT_GE(test, drm_gpusvm_range_start(next), base + SZ_4K);
	KUNIT_EXPECT_LE(test, drm_gpusvm_range_start(next), base + SZ_8K);
	KUNIT_EXPECT_LE(test, drm_gpusvm_range_end(next), base + SZ_32K);
	KUNIT_EXPECT_PTR_NE(test, next, first);
}

static void drm_test_gpusvm_insert_read_only_vma(struct kunit *test)
{
	unsigned long addr = gpusvm_test_mmap(test, SZ_64K, PROT_READ,
					      MAP_ANONYMOUS | MAP_PRIVATE);
	struct drm_gpusvm_ctx ro = { .read_only = true };
	struct drm_gpusvm_ctx rw = {};
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
	range = gpusvm_test_insert(test->priv, addr, 0, ULONG_MAX, &rw);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(range), -EPERM);
	KUNIT_EXPECT_EQ_MSG(test, gpusvm_test_count_notifiers(test->priv), 0,
			    "a failed insert must not leave a notifier behind");

	range = gpusvm_test_insert(test->priv, addr, 0, ULONG_MAX, &ro);
	KUNIT_EXPECT_FALSE(test, IS_ERR(range));
}

static void drm_test_gpusvm_insert_prot_none(struct kunit *test)
{
	unsigned long addr = gpusvm_test_mmap(test, SZ_64K, PROT_NONE,
					      MAP_ANONYMOUS | MAP_PRIVATE);
	struct drm_gpusvm_ctx ro = { .read_only = true };
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
	range = gpusvm_test_insert(test->priv, addr, 0, ULONG_MAX, &ro);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(range), -EPERM);
}

/*
 * I/O and raw PFN mappings have no pages to mirror: -EFAULT, and no
 * notifier is left behind. The flags are set by hand on an anonymous VMA
 * with nothing populated, and cleared again, after which the insert works.
 */
static void drm_test_gpusvm_insert_io_pfnmap(struct kunit *test)
{
	static const vm_flags_t flags[] = { VM_IO, VM_PFNMAP, VM_IO | VM_PFNMAP };
	unsigned long addr = gpusvm_test_mmap_rw(test, SZ_64K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	struct vm_area_struct *vma;
	unsigned int i;

	gpusvm_test_init(test);
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		mmap_write_lock(current->mm);
		vma = vma_lookup(current->mm, addr);
		if (vma)
			vm_flags_set(vma, flags[i]);
		mmap_write_unlock(current->mm);
		KUNIT_ASSERT_NOT_NULL(test, vma);

		range = gpusvm_test_insert(test->priv, addr, 0, ULONG_MAX, &ctx);
		KUNIT_EXPECT_EQ_MSG(test, PTR_ERR_OR_ZERO(range), -EFAULT,
				    "vm_flags %#lx", (unsigned long)flags[i]);
		KUNIT_EXPECT_EQ(test, gpusvm_test_count_notifiers(test->priv), 0);

		mmap_write_lock(current->mm);
		vm_flags_clear(vma, flags[i]);
		mmap_write_unlock(current->mm);
	}

	range = gpusvm_test_insert(test->priv, addr, 0, ULONG_MAX, &ctx);
	KUNIT_EXPECT_FALSE(test, IS_ERR(range));
}

static void drm_test_gpusvm_insert_no_vma(struct kunit *test)
{
	unsigned long addr = gpusvm_test_mmap_rw(test, SZ_128K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;

	gpusvm_test_munmap(test, addr + SZ_64K, SZ_64K);
	gpusvm_test_init(test);
	range = gpusvm_test_insert(test->priv, addr + SZ_64K + SZ_4K, 0,
				   ULONG_MAX, &ctx);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(range), -EFAULT);
	KUNIT_EXPECT_EQ(test, gpusvm_test_count_notifiers(test->priv), 0);
}

static void drm_test_gpusvm_insert_outside_mm_window(struct kunit *test)
{
	unsigned long addr = gpusvm_test_mmap_rw(test, SZ_128K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	int err;

	err = gpusvm_test_init_full(test, current->mm, addr, SZ_64K, SZ_2M,
				    default_chunks, ARRAY_SIZE(default_chunks));
	KUNIT_ASSERT_EQ(test, err, 0);

	range = gpusvm_test_insert(test->priv, addr + SZ_64K, 0, ULONG_MAX, &ctx);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(range), -EINVAL);
	range = gpusvm_test_insert(test->priv, addr - SZ_4K, 0, ULONG_MAX, &ctx);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(range), -EINVAL);
	range = gpusvm_test_insert(test->priv, addr + SZ_64K - 1, 0, ULONG_MAX,
				   &ctx);
	KUNIT_EXPECT_FALSE(test, IS_ERR(range));
}

static void drm_test_gpusvm_insert_outside_gpuva_window(struct kunit *test)
{
	unsigned long addr = gpusvm_test_mmap_rw(test, SZ_128K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
	range = gpusvm_test_insert(test->priv, addr, addr + SZ_4K, addr + SZ_8K,
				   &ctx);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(range), -EINVAL);
	range = gpusvm_test_insert(test->priv, addr + SZ_8K, addr + SZ_4K,
				   addr + SZ_8K, &ctx);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(range), -EINVAL);
	range = gpusvm_test_insert(test->priv, addr + SZ_4K, addr + SZ_8K,
				   addr, &ctx);
	KUNIT_EXPECT_EQ_MSG(test, PTR_ERR_OR_ZERO(range), -EINVAL,
			    "an empty GPU VA window holds nothing");
}

static void drm_test_gpusvm_insert_migrate_devmem_flag(struct kunit *test)
{
	unsigned long priv_anon = gpusvm_test_mmap_rw(test, SZ_64K);
	unsigned long shared = gpusvm_test_mmap(test, SZ_64K,
						PROT_READ | PROT_WRITE,
						MAP_ANONYMOUS | MAP_SHARED);
	struct drm_gpusvm_ctx devmem = { .devmem_possible = true };
	struct drm_gpusvm_ctx sysmem = {};
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);

	range = gpusvm_test_insert(test->priv, priv_anon, 0, ULONG_MAX, &devmem);
	KUNIT_ASSERT_FALSE(test, IS_ERR(range));
	KUNIT_EXPECT_TRUE_MSG(test, range->flags.migrate_devmem,
			      "private anonymous memory is migratable");

	range = gpusvm_test_insert(test->priv, priv_anon + SZ_32K, 0, ULONG_MAX,
				   &devmem);
	KUNIT_ASSERT_FALSE(test, IS_ERR(range));
	KUNIT_EXPECT_TRUE(test, range->flags.migrate_devmem);

	range = gpusvm_test_insert(test->priv, shared, 0, ULONG_MAX, &devmem);
	KUNIT_ASSERT_FALSE(test, IS_ERR(range));
	KUNIT_EXPECT_FALSE_MSG(test, range->flags.migrate_devmem,
			       "shared memory is not migratable");

	/* A fresh range without devmem_possible. */
	gpusvm_test_remove(test->priv, range);
	range = gpusvm_test_insert(test->priv, shared, 0, ULONG_MAX, &sysmem);
	KUNIT_ASSERT_FALSE(test, IS_ERR(range));
	KUNIT_EXPECT_FALSE(test, range->flags.migrate_devmem);
}

/* --- notifiers ---------------------------------------------------------- */

static void drm_test_gpusvm_notifier_lazy(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_rw(test, SZ_64K);
	struct drm_gpusvm_notifier *notifier;
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
	KUNIT_EXPECT_EQ_MSG(test, gpusvm_test_count_notifiers(priv), 0,
			    "no notifier before the first range");

	range = gpusvm_test_insert_ok(test, addr, 0, ULONG_MAX);
	notifier = drm_gpusvm_notifier_find(&priv->gpusvm, addr, addr + 1);
	KUNIT_ASSERT_NOT_NULL(test, notifier);
	KUNIT_EXPECT_PTR_EQ(test, range->notifier, notifier);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_notifier_start(notifier),
			ALIGN_DOWN(addr, SZ_2M));
	KUNIT_EXPECT_EQ(test, drm_gpusvm_notifier_size(notifier), SZ_2M);
	KUNIT_EXPECT_EQ(test, notifier->notifier.interval_tree.start,
			ALIGN_DOWN(addr, SZ_2M));
	KUNIT_EXPECT_EQ(test, gpusvm_test_count_notifiers(priv), 1);
	KUNIT_EXPECT_FALSE(test, notifier->flags.removed);
}

static void drm_test_gpusvm_notifier_shared(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long map = gpusvm_test_mmap_rw(test, SZ_4M);
	unsigned long base = ALIGN(map, SZ_2M);
	struct drm_gpusvm_range *a, *b;

	gpusvm_test_init(test);
	a = gpusvm_test_insert_ok(test, base, base, base + SZ_64K);
	b = gpusvm_test_insert_ok(test, base + SZ_1M, base + SZ_1M,
				  base + SZ_1M + SZ_64K);
	KUNIT_EXPECT_NE(test, (unsigned long)a, (unsigned long)b);
	KUNIT_EXPECT_PTR_EQ(test, a->notifier, b->notifier);
	KUNIT_EXPECT_EQ(test, gpusvm_test_count_notifiers(priv), 1);
}

static void drm_test_gpusvm_notifier_per_window(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long map = gpusvm_test_mmap_rw(test, SZ_8M);
	unsigned long base = ALIGN(map, SZ_2M);
	struct drm_gpusvm_notifier *notifier;
	struct drm_gpusvm_range *a, *b, *c;
	unsigned long prev = 0;

	gpusvm_test_init(test);
	/* Out of address order on purpose: the list must come out sorted. */
	c = gpusvm_test_insert_ok(test, base + SZ_4M, 0, ULONG_MAX);
	a = gpusvm_test_insert_ok(test, base, 0, ULONG_MAX);
	b = gpusvm_test_insert_ok(test, base + SZ_2M, 0, ULONG_MAX);
	KUNIT_EXPECT_EQ(test, gpusvm_test_count_notifiers(priv), 3);
	KUNIT_EXPECT_NE(test, (unsigned long)a->notifier,
			(unsigned long)b->notifier);
	KUNIT_EXPECT_NE(test, (unsigned long)b->notifier,
			(unsigned long)c->notifier);

	list_for_each_entry(notifier, &priv->gpusvm.notifier_list, entry) {
		KUNIT_EXPECT_GT(test, drm_gpusvm_notifier_start(notifier), prev);
		prev = drm_gpusvm_notifier_start(notifier);
	}
}

static void drm_test_gpusvm_notifier_removed_with_last_range(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long map = gpusvm_test_mmap_rw(test, SZ_4M);
	unsigned long base = ALIGN(map, SZ_2M);
	struct drm_gpusvm_notifier *notifier;
	struct drm_gpusvm_range *a, *b;

	gpusvm_test_init(test);
	a = gpusvm_test_insert_ok(test, base, base, base + SZ_64K);
	b = gpusvm_test_insert_ok(test, base + SZ_64K, base + SZ_64K,
				  base + SZ_128K);
	notifier = b->notifier;

	gpusvm_test_remove(priv, a);
	KUNIT_EXPECT_EQ_MSG(test, gpusvm_test_count_notifiers(priv), 1,
			    "the notifier lives while it holds a range");
	KUNIT_EXPECT_PTR_EQ(test, drm_gpusvm_range_find(b->notifier, base,
							base + SZ_2M), b);
	KUNIT_EXPECT_NULL(test, priv->gpusvm.idle_notifier);

	/* The first notifier to empty stays, idle. */
	gpusvm_test_remove(priv, b);
	KUNIT_EXPECT_EQ(test, gpusvm_test_count_notifiers(priv), 0);
	KUNIT_EXPECT_EQ(test, gpusvm_test_count_all_notifiers(priv), 1);
	KUNIT_EXPECT_PTR_EQ(test, priv->gpusvm.idle_notifier, notifier);
	KUNIT_EXPECT_PTR_EQ(test, drm_gpusvm_notifier_find(&priv->gpusvm, base,
							   base + SZ_2M),
			    notifier);
}

/*
 * At most one notifier holds no range: the idle one is reused by the next
 * range in its window, removed when another window needs a notifier, and
 * a second notifier to empty is removed at once.
 */
static void drm_test_gpusvm_notifier_idle(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long map = gpusvm_test_mmap_rw(test, SZ_8M + SZ_2M);
	unsigned long w1 = ALIGN(map, SZ_2M), w2 = w1 + SZ_2M, w3 = w2 + SZ_2M;
	struct drm_gpusvm_notifier *idle;
	unsigned long first;
	struct drm_gpusvm_range *r1, *r2, *r3;

	gpusvm_test_init(test);
	r1 = gpusvm_test_insert_ok(test, w1, w1, w1 + SZ_64K);
	idle = r1->notifier;
	gpusvm_test_remove(priv, r1);
	KUNIT_ASSERT_PTR_EQ(test, priv->gpusvm.idle_notifier, idle);

	/* The next range of the window takes the idle notifier. */
	r1 = gpusvm_test_insert_ok(test, w1 + SZ_64K, w1 + SZ_64K,
				   w1 + SZ_64K + SZ_4K);
	KUNIT_EXPECT_PTR_EQ(test, r1->notifier, idle);
	KUNIT_EXPECT_NULL(test, priv->gpusvm.idle_notifier);
	KUNIT_EXPECT_EQ(test, gpusvm_test_count_all_notifiers(priv), 1);
	gpusvm_test_remove(priv, r1);
	KUNIT_ASSERT_PTR_EQ(test, priv->gpusvm.idle_notifier, idle);

	/* A single page leaves a hole in the index, no range. */
	KUNIT_EXPECT_TRUE(test, xa_is_value(xa_load(&priv->gpusvm.range_index,
						    (w1 + SZ_64K - priv->gpusvm.mm_start) >>
						    PAGE_SHIFT)));
	KUNIT_EXPECT_EQ(test, gpusvm_test_index_ranges(&priv->gpusvm), 0);

	/* A larger range over the hole is found on all its pages. */
	r1 = gpusvm_test_insert_ok(test, w1 + SZ_64K, w1, w1 + SZ_2M);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_size(r1), SZ_2M);
	KUNIT_EXPECT_PTR_EQ(test, gpusvm_test_index_load(&priv->gpusvm,
							 w1 + SZ_64K), r1);
	gpusvm_test_remove(priv, r1);
	r1 = gpusvm_test_insert_ok(test, w1 + SZ_8K, w1 + SZ_8K,
				   w1 + SZ_8K + SZ_4K);
	gpusvm_test_remove(priv, r1);
	KUNIT_EXPECT_FALSE(test, xa_empty(&priv->gpusvm.range_index));

	/* Another window: the idle notifier goes first, with its holes. */
	r2 = gpusvm_test_insert_ok(test, w2, w2, w2 + SZ_64K);
	first = 0;
	KUNIT_EXPECT_NULL(test, xa_find(&priv->gpusvm.range_index, &first,
					((w1 + SZ_2M - priv->gpusvm.mm_start) >>
					 PAGE_SHIFT) - 1, XA_PRESENT));
	KUNIT_EXPECT_NULL(test, drm_gpusvm_notifier_find(&priv->gpusvm, w1,
							 w1 + SZ_2M));
	KUNIT_EXPECT_NULL(test, priv->gpusvm.idle_notifier);
	KUNIT_EXPECT_EQ(test, gpusvm_test_count_all_notifiers(priv), 1);

	/* Of two windows emptied in turn, the first stays idle. */
	r3 = gpusvm_test_insert_ok(test, w3, w3, w3 + SZ_64K);
	idle = r2->notifier;
	gpusvm_test_remove(priv, r2);
	gpusvm_test_remove(priv, r3);
	KUNIT_EXPECT_PTR_EQ(test, priv->gpusvm.idle_notifier, idle);
	KUNIT_EXPECT_NULL(test, drm_gpusvm_notifier_find(&priv->gpusvm, w3,
							 w3 + SZ_2M));
	KUNIT_EXPECT_EQ(test, gpusvm_test_count_all_notifiers(priv), 1);
	KUNIT_EXPECT_EQ(test, gpusvm_test_count_notifiers(priv), 0);

	/* An idle window stays registered but tells the driver nothing. */
	priv->num_events = 0;
	gpusvm_test_munmap(test, w2, SZ_64K);
	KUNIT_EXPECT_EQ(test, priv->num_events, 0);
	KUNIT_EXPECT_FALSE(test, idle->flags.removed);
}

/*
 * The idle notifier is dropped for a new window even if that window's
 * notifier cannot be allocated; fini frees an idle notifier through the
 * driver's hook.
 */
static void drm_test_gpusvm_notifier_idle_alloc_fails(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long map = gpusvm_test_mmap_rw(test, SZ_4M + SZ_2M);
	unsigned long w1 = ALIGN(map, SZ_2M), w2 = w1 + SZ_2M;
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;

	gpusvm_test_init_notifier_hooks(test);

	range = gpusvm_test_insert_ok(test, w1, w1, w1 + SZ_64K);
	gpusvm_test_remove(priv, range);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->notifiers_freed), 0);

	priv->notifier_alloc_fails = true;
	range = gpusvm_test_insert(priv, w2, w2, w2 + SZ_64K, &ctx);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(range), -ENOMEM);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->notifiers_freed), 1);
	KUNIT_EXPECT_EQ(test, gpusvm_test_count_all_notifiers(priv), 0);
	KUNIT_EXPECT_NULL(test, priv->gpusvm.idle_notifier);

	priv->notifier_alloc_fails = false;
	range = gpusvm_test_insert_ok(test, w2, w2, w2 + SZ_64K);
	gpusvm_test_remove(priv, range);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->notifiers_allocated), 2);
	gpusvm_test_fini(priv);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->notifiers_freed), 2);
}

static void drm_test_gpusvm_notifier_recreated(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_rw(test, SZ_64K);
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
	range = gpusvm_test_insert_ok(test, addr, 0, ULONG_MAX);
	gpusvm_test_remove(priv, range);
	KUNIT_ASSERT_EQ(test, gpusvm_test_count_notifiers(priv), 0);

	range = gpusvm_test_insert_ok(test, addr, 0, ULONG_MAX);
	KUNIT_EXPECT_EQ(test, gpusvm_test_count_notifiers(priv), 1);

	/* The new notifier is live: munmap reaches it. */
	priv->num_events = 0;
	gpusvm_test_munmap(test, addr, SZ_64K);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_saw_event(priv, MMU_NOTIFY_UNMAP,
						      addr, addr + SZ_64K));
	KUNIT_EXPECT_TRUE(test, range->flags.unmapped);
}

static void drm_test_gpusvm_alloc_hooks(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long map = gpusvm_test_mmap_rw(test, SZ_8M);
	unsigned long base = ALIGN(map, SZ_2M);
	struct drm_gpusvm_range *a;

	priv->ops.range_alloc = mock_range_alloc;
	priv->ops.range_free = mock_range_free;
	gpusvm_test_init_notifier_hooks(test);

	a = gpusvm_test_insert_ok(test, base, 0, ULONG_MAX);
	gpusvm_test_insert_ok(test, base + SZ_2M, 0, ULONG_MAX);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_allocated), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->notifiers_allocated), 2);

	/* Its notifier stays, idle. */
	gpusvm_test_remove(priv, a);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_freed), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->notifiers_freed), 0);

	/* fini removes the rest through the same hooks. */
	gpusvm_test_fini(priv);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_freed), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->notifiers_freed), 2);
}

/* A failed insert into a fresh window frees the notifier it created. */
static void drm_test_gpusvm_alloc_hooks_failed_insert(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap(test, SZ_64K, PROT_READ,
					      MAP_ANONYMOUS | MAP_PRIVATE);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;

	gpusvm_test_init_notifier_hooks(test);

	range = gpusvm_test_insert(priv, addr, 0, ULONG_MAX, &ctx);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(range), -EPERM);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->notifiers_allocated), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->notifiers_freed), 1);
}

/* --- find and iterate --------------------------------------------------- */

/* Ranges at base + 0, 64K, 192K (64K each) and base + 1M (4K). */
static void gpusvm_test_make_ranges(struct kunit *test, unsigned long base,
				    struct drm_gpusvm_range **r)
{
	r[2] = gpusvm_test_insert_ok(test, base + SZ_128K + SZ_64K,
				     base + SZ_128K + SZ_64K, base + SZ_256K);
	r[0] = gpusvm_test_insert_ok(test, base, base, base + SZ_64K);
	r[3] = gpusvm_test_insert_ok(test, base + SZ_1M, base + SZ_1M,
				     base + SZ_1M + SZ_4K);
	r[1] = gpusvm_test_insert_ok(test, base + SZ_64K, base + SZ_64K,
				     base + SZ_128K);
}

static void drm_test_gpusvm_range_find(struct kunit *test)
{
	unsigned long map = gpusvm_test_mmap_rw(test, SZ_4M);
	unsigned long base = ALIGN(map, SZ_2M);
	struct drm_gpusvm_notifier *n;
	struct drm_gpusvm_range *r[4];

	gpusvm_test_init(test);
	gpusvm_test_make_ranges(test, base, r);
	n = r[0]->notifier;

	KUNIT_EXPECT_PTR_EQ(test, drm_gpusvm_range_find(n, base, base + 1), r[0]);
	KUNIT_EXPECT_PTR_EQ(test, drm_gpusvm_range_find(n, base + SZ_64K - 1,
							base + SZ_2M), r[0]);
	KUNIT_EXPECT_PTR_EQ(test, drm_gpusvm_range_find(n, base + SZ_64K,
							base + SZ_2M), r[1]);
	KUNIT_EXPECT_PTR_EQ_MSG(test, drm_gpusvm_range_find(n, base + SZ_128K,
							    base + SZ_2M), r[2],
				"a gap before a range finds that range");
	KUNIT_EXPECT_NULL(test, drm_gpusvm_range_find(n, base + SZ_128K,
						      base + SZ_128K + SZ_64K));
	KUNIT_EXPECT_NULL(test, drm_gpusvm_range_find(n, base + SZ_1M + SZ_4K,
						      base + SZ_2M));
	KUNIT_EXPECT_PTR_EQ(test, drm_gpusvm_range_find(n, base + SZ_512K,
							base + SZ_1M + 1), r[3]);
}

/*
 * drm_gpusvm_range_find() looks in the page index first: an interval that
 * starts in another notifier's window, in a range of that window, still
 * gives the first range of the notifier asked (the invalidation callback
 * of a munmap() over two windows asks so); and a range whose index
 * entries are gone is still found in its tree.
 */
static void drm_test_gpusvm_range_find_other_window(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long base = gpusvm_test_mmap_aligned(test, SZ_4M, SZ_2M);
	unsigned long edge = base + SZ_2M;
	struct drm_gpusvm_range *before, *after;

	gpusvm_test_init(test);
	before = gpusvm_test_insert_ok(test, edge - SZ_64K, edge - SZ_64K, edge);
	after = gpusvm_test_insert_ok(test, edge, edge, edge + SZ_64K);
	KUNIT_ASSERT_PTR_NE(test, before->notifier, after->notifier);

	KUNIT_EXPECT_PTR_EQ(test, drm_gpusvm_range_find(after->notifier,
							edge - SZ_64K,
							edge + SZ_128K), after);
	KUNIT_EXPECT_PTR_EQ(test, drm_gpusvm_range_find(before->notifier,
							edge - SZ_64K,
							edge + SZ_128K), before);
	KUNIT_EXPECT_NULL(test, drm_gpusvm_range_find(after->notifier,
						      edge - SZ_64K, edge));

	/* Out of the index (no memory for it, say): the tree has it. */
	xa_erase(&priv->gpusvm.range_index,
		 (edge - priv->gpusvm.mm_start) >> PAGE_SHIFT);
	KUNIT_EXPECT_PTR_EQ(test, drm_gpusvm_range_find(after->notifier, edge,
							edge + 1), after);

	gpusvm_test_remove(priv, after);
	gpusvm_test_remove(priv, before);
}

/*
 * The page index holds ranges that are no power of two and whose blocks
 * are aligned only in index space: a range cut to 60 KiB at a VMA edge, in
 * a GPU SVM whose mirrored part starts at that edge (page index 0) and in
 * one where it starts at 0. Each page finds its range, the pages around it
 * find their own or nothing, and removal leaves nothing behind.
 */
static void drm_test_gpusvm_index_cut_range(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long map = gpusvm_test_mmap_aligned(test, SZ_256K, SZ_64K);
	unsigned long starts[] = { map + SZ_4K, 0 };
	struct drm_gpusvm_range *range, *next;
	unsigned long addr;
	unsigned int i;

	gpusvm_test_munmap(test, map, SZ_4K);
	for (i = 0; i < ARRAY_SIZE(starts); i++) {
		KUNIT_ASSERT_EQ(test, gpusvm_test_init_full(test, current->mm,
							    starts[i],
							    TASK_SIZE_MAX - starts[i],
							    SZ_2M, default_chunks,
							    ARRAY_SIZE(default_chunks)),
				0);
		range = gpusvm_test_insert_ok(test, map + SZ_32K, 0, ULONG_MAX);
		KUNIT_ASSERT_EQ(test, drm_gpusvm_range_start(range), map + SZ_4K);
		KUNIT_ASSERT_EQ(test, drm_gpusvm_range_end(range), map + SZ_64K);
		next = gpusvm_test_insert_ok(test, map + SZ_64K, 0, ULONG_MAX);
		KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(next), SZ_64K);

		for (addr = map + SZ_4K; addr < map + SZ_64K; addr += PAGE_SIZE)
			KUNIT_EXPECT_PTR_EQ_MSG(test,
						gpusvm_test_index_load(&priv->gpusvm, addr),
						range, "page 0x%lx", addr - map);
		KUNIT_EXPECT_PTR_EQ(test, gpusvm_test_index_load(&priv->gpusvm,
								 map + SZ_64K),
				    next);
		KUNIT_EXPECT_NULL(test, gpusvm_test_index_load(&priv->gpusvm,
							       map + SZ_128K));
		KUNIT_EXPECT_PTR_EQ(test, gpusvm_test_insert_ok(test,
								map + SZ_64K - 1,
								0, ULONG_MAX),
				    range);

		gpusvm_test_remove(priv, range);
		for (addr = map + SZ_4K; addr < map + SZ_64K; addr += PAGE_SIZE)
			KUNIT_EXPECT_NULL(test,
					  gpusvm_test_index_load(&priv->gpusvm, addr));
		gpusvm_test_remove(priv, next);
		KUNIT_EXPECT_EQ(test, gpusvm_test_index_ranges(&priv->gpusvm), 0);
		gpusvm_test_fini(priv);
	}
}

/* The raw entry of the page index at @addr and its order. */
static void *gpusvm_test_index_raw(struct drm_gpusvm *gpusvm,
				   unsigned long addr, int *order)
{
	unsigned long index = (addr - gpusvm->mm_start) >> PAGE_SHIFT;

	*order = xa_get_order(&gpusvm->range_index, index);
	return xa_load(&gpusvm->range_index, index);
}

/*
 * A removed range leaves a hole of its own order in a live window, which
 * keeps the index's nodes; a smaller range later created inside that hole
 * is stored without taking over the rest of it: a 2 MiB range, then a
 * 64 KiB one in its first block, then a 4 KiB one inside that. Each time
 * the new range's pages find it and every other page of the old hole finds
 * nothing.
 */
static void drm_test_gpusvm_index_hole_orders(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long base = gpusvm_test_mmap_aligned(test, SZ_2M, SZ_2M);
	struct drm_gpusvm *gpusvm;
	struct drm_gpusvm_range *range;
	unsigned long addr;
	void *entry;
	int order;

	gpusvm_test_init(test);
	gpusvm = &priv->gpusvm;
	range = gpusvm_test_insert_ok(test, base + SZ_1M, 0, ULONG_MAX);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_2M);
	gpusvm_test_remove(priv, range);

	entry = gpusvm_test_index_raw(gpusvm, base + SZ_1M, &order);
	KUNIT_EXPECT_TRUE_MSG(test, xa_is_value(entry),
			      "no hole where the 2M range was");
	KUNIT_EXPECT_EQ(test, order, get_order(SZ_2M));

	/* The VMA shrinks to the first 64 KiB: a 64 KiB range there. */
	gpusvm_test_munmap(test, base + SZ_64K, SZ_2M - SZ_64K);
	range = gpusvm_test_insert_ok(test, base + SZ_32K, 0, ULONG_MAX);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_start(range), base);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_64K);
	for (addr = base; addr < base + SZ_2M; addr += PAGE_SIZE)
		KUNIT_EXPECT_PTR_EQ_MSG(test,
					gpusvm_test_index_load(gpusvm, addr),
					addr < base + SZ_64K ? range : NULL,
					"page 0x%lx", addr - base);
	gpusvm_test_remove(priv, range);
	entry = gpusvm_test_index_raw(gpusvm, base, &order);
	KUNIT_EXPECT_TRUE(test, xa_is_value(entry));
	KUNIT_EXPECT_EQ(test, order, get_order(SZ_64K));

	/* Then to one page inside it: a 4 KiB range. */
	gpusvm_test_munmap(test, base, SZ_16K);
	gpusvm_test_munmap(test, base + SZ_16K + SZ_4K,
			   SZ_64K - SZ_16K - SZ_4K);
	range = gpusvm_test_insert_ok(test, base + SZ_16K, 0, ULONG_MAX);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_4K);
	for (addr = base; addr < base + SZ_64K; addr += PAGE_SIZE)
		KUNIT_EXPECT_PTR_EQ_MSG(test,
					gpusvm_test_index_load(gpusvm, addr),
					addr == base + SZ_16K ? range : NULL,
					"page 0x%lx", addr - base);
	gpusvm_test_remove(priv, range);
	KUNIT_EXPECT_EQ(test, gpusvm_test_index_ranges(gpusvm), 0);
}

/*
 * A range the index lost (its entries could not be allocated, or were
 * taken out of a full index) is still found, in its notifier's tree, and
 * entered again.
 */
static void drm_test_gpusvm_index_refill(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long map = gpusvm_test_mmap_aligned(test, SZ_128K, SZ_64K);
	struct drm_gpusvm_range *range;
	unsigned long addr;

	gpusvm_test_munmap(test, map, SZ_4K);
	gpusvm_test_init(test);
	range = gpusvm_test_insert_ok(test, map + SZ_8K, 0, ULONG_MAX);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_64K - SZ_4K);

	for (addr = map + SZ_4K; addr < map + SZ_64K; addr += PAGE_SIZE)
		xa_erase(&priv->gpusvm.range_index,
			 (addr - priv->gpusvm.mm_start) >> PAGE_SHIFT);
	KUNIT_ASSERT_TRUE(test, xa_empty(&priv->gpusvm.range_index));

	KUNIT_EXPECT_PTR_EQ(test, gpusvm_test_insert_ok(test, map + SZ_32K, 0,
							ULONG_MAX),
			    range);
	for (addr = map + SZ_4K; addr < map + SZ_64K; addr += PAGE_SIZE)
		KUNIT_EXPECT_PTR_EQ(test,
				    gpusvm_test_index_load(&priv->gpusvm, addr),
				    range);
}

/* A garbage collector: removes every range it finds, under the driver lock. */
struct gpusvm_test_collector {
	struct gpusvm_test_priv *priv;
	unsigned long start, end;
	unsigned long removed;
	bool stop;
	struct completion done;
};

static int gpusvm_test_collector_thread(void *arg)
{
	struct gpusvm_test_collector *c = arg;
	struct drm_gpusvm *gpusvm = &c->priv->gpusvm;
	struct drm_gpusvm_notifier *notifier, *next_notifier;
	struct drm_gpusvm_range *range, *next;

	while (!READ_ONCE(c->stop)) {
		mutex_lock(&c->priv->lock);
		drm_gpusvm_for_each_notifier_safe(notifier, next_notifier,
						  gpusvm, c->start, c->end)
			drm_gpusvm_for_each_range_safe(range, next, notifier,
						       c->start, c->end) {
				drm_gpusvm_range_remove(gpusvm, range);
				c->removed++;
			}
		mutex_unlock(&c->priv->lock);
		usleep_range(50, 200);
	}
	complete(&c->done);
	return 0;
}

/*
 * GPU faults over 4 MiB (64 KiB and 4 KiB ranges) while another thread
 * removes every range it finds and the test thread drops pages under them
 * (MADV_DONTNEED): a fault never gets a removed range or one that does not
 * hold its address, and the index ends equal to the trees. A stale entry
 * would hand out a freed range (KASAN).
 */
static void drm_test_gpusvm_index_collector_race(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long base = gpusvm_test_mmap_aligned(test, SZ_4M, SZ_2M);
	struct gpusvm_test_collector *c;
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	struct task_struct *task;
	unsigned long i, addr, bad = 0, faults = 0;

	if (!IS_BUILTIN(CONFIG_DRM_GPUSVM_KUNIT_TEST))
		kunit_skip(test, "madvise needs the tests built in");

	KUNIT_ASSERT_EQ(test, gpusvm_test_init_full(test, current->mm, 0,
						    TASK_SIZE_MAX, SZ_2M,
						    default_chunks + 1,
						    ARRAY_SIZE(default_chunks) - 1),
			0);
	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	c->priv = priv;
	c->start = base;
	c->end = base + SZ_4M;
	init_completion(&c->done);
	task = kthread_run(gpusvm_test_collector_thread, c, "gpusvm-gc");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));

	for (i = 0; i < 4000; i++) {
		addr = base + ((unsigned long)get_random_u32_below(SZ_4M >> PAGE_SHIFT)
			       << PAGE_SHIFT);
		mutex_lock(&priv->lock);
		range = drm_gpusvm_range_find_or_insert(&priv->gpusvm, addr,
							0, ULONG_MAX, &ctx);
		if (IS_ERR(range) || gpusvm_test_range_gone(range) ||
		    addr < drm_gpusvm_range_start(range) ||
		    addr >= drm_gpusvm_range_end(range))
			bad++;
		else
			faults++;
		mutex_unlock(&priv->lock);
		if (!(i % 64))
			gpusvm_test_madvise(test, ALIGN_DOWN(addr, SZ_64K), SZ_64K,
					    MADV_DONTNEED);
		/* Let the collector in. */
		if (!(i % 8))
			usleep_range(20, 50);
	}

	WRITE_ONCE(c->stop, true);
	wait_for_completion(&c->done);
	KUNIT_EXPECT_EQ(test, bad, 0);
	KUNIT_EXPECT_GT_MSG(test, c->removed, 0,
			    "the collector never found a range");
	kunit_info(test, "%lu faults, %lu ranges collected\n", faults, c->removed);
	gpusvm_test_check_index(priv);
}

static void drm_test_gpusvm_range_iterate(struct kunit *test)
{
	unsigned long map = gpusvm_test_mmap_rw(test, SZ_4M);
	unsigned long base = ALIGN(map, SZ_2M);
	struct drm_gpusvm_range *r[4], *range = NULL;
	unsigned int n = 0;

	gpusvm_test_init(test);
	gpusvm_test_make_ranges(test, base, r);

	drm_gpusvm_for_each_range(range, r[0]->notifier, base, base + SZ_2M) {
		KUNIT_ASSERT_LT(test, n, 4);
		KUNIT_EXPECT_PTR_EQ_MSG(test, range, r[n], "range %u", n);
		n++;
	}
	KUNIT_EXPECT_EQ(test, n, 4);

	/* A sub-interval: only the ranges intersecting it. */
	n = 0;
	range = NULL;
	drm_gpusvm_for_each_range(range, r[0]->notifier, base + SZ_64K + SZ_4K,
				  base + SZ_128K + SZ_64K + 1) {
		KUNIT_EXPECT_TRUE(test, range == r[1] || range == r[2]);
		n++;
	}
	KUNIT_EXPECT_EQ(test, n, 2);

	/* Starting from a given range. */
	n = 0;
	range = r[2];
	drm_gpusvm_for_each_range(range, r[0]->notifier, base, base + SZ_2M)
		n++;
	KUNIT_EXPECT_EQ(test, n, 2);
}

static void drm_test_gpusvm_range_iterate_safe(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long map = gpusvm_test_mmap_rw(test, SZ_4M);
	unsigned long base = ALIGN(map, SZ_2M);
	struct drm_gpusvm_range *r[4], *range, *next;
	struct drm_gpusvm_notifier *notifier;
	unsigned int n = 0;

	gpusvm_test_init(test);
	gpusvm_test_make_ranges(test, base, r);
	notifier = r[0]->notifier;

	mutex_lock(&priv->lock);
	drm_gpusvm_for_each_range_safe(range, next, notifier, base, base + SZ_2M) {
		KUNIT_EXPECT_PTR_EQ(test, range, r[n]);
		drm_gpusvm_range_remove(&priv->gpusvm, range);
		n++;
	}
	mutex_unlock(&priv->lock);

	KUNIT_EXPECT_EQ(test, n, 4);
	KUNIT_EXPECT_EQ_MSG(test, gpusvm_test_count_notifiers(priv), 0,
			    "removing every range removes the notifier");
}

static void drm_test_gpusvm_notifier_iterate(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long map = gpusvm_test_mmap_rw(test, SZ_8M + SZ_2M);
	unsigned long base = ALIGN(map, SZ_2M);
	struct drm_gpusvm_notifier *notifier, *next;
	struct drm_gpusvm_range *range;
	unsigned int n = 0;
	int i;

	gpusvm_test_init(test);
	for (i = 3; i >= 0; i--)
		gpusvm_test_insert_ok(test, base + i * SZ_2M, 0, ULONG_MAX);

	drm_gpusvm_for_each_notifier(notifier, &priv->gpusvm, base,
				     base + SZ_8M) {
		KUNIT_EXPECT_EQ(test, drm_gpusvm_notifier_start(notifier),
				base + n * SZ_2M);
		n++;
	}
	KUNIT_EXPECT_EQ(test, n, 4);

	n = 0;
	drm_gpusvm_for_each_notifier(notifier, &priv->gpusvm, base + SZ_2M + 1,
				     base + SZ_4M + 1)
		n++;
	KUNIT_EXPECT_EQ(test, n, 2);

	/* Removing everything through the safe iterators. */
	mutex_lock(&priv->lock);
	drm_gpusvm_for_each_notifier_safe(notifier, next, &priv->gpusvm, 0,
					  ULONG_MAX) {
		struct drm_gpusvm_range *rnext;

		drm_gpusvm_for_each_range_safe(range, rnext, notifier, 0,
					       ULONG_MAX)
			drm_gpusvm_range_remove(&priv->gpusvm, range);
	}
	mutex_unlock(&priv->lock);
	KUNIT_EXPECT_EQ(test, gpusvm_test_count_notifiers(priv), 0);
}

static void drm_test_gpusvm_has_mapping(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long map = gpusvm_test_mmap_rw(test, SZ_8M);
	unsigned long base = ALIGN(map, SZ_2M);
	struct drm_gpusvm *gpusvm = &priv->gpusvm;
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
	range = gpusvm_test_insert_ok(test, base + SZ_2M + SZ_64K,
				      base + SZ_2M + SZ_64K,
				      base + SZ_2M + SZ_128K);

	mutex_lock(&priv->lock);
	KUNIT_EXPECT_TRUE(test, drm_gpusvm_has_mapping(gpusvm, base,
						       base + SZ_4M));
	KUNIT_EXPECT_TRUE(test, drm_gpusvm_has_mapping(gpusvm,
						       base + SZ_2M + SZ_128K - 1,
						       base + SZ_2M + SZ_128K));
	KUNIT_EXPECT_FALSE(test, drm_gpusvm_has_mapping(gpusvm, base,
							base + SZ_2M + SZ_64K));
	KUNIT_EXPECT_FALSE(test, drm_gpusvm_has_mapping(gpusvm,
							base + SZ_2M + SZ_128K,
							base + SZ_4M));
	KUNIT_EXPECT_FALSE(test, drm_gpusvm_has_mapping(gpusvm, base + SZ_4M,
							base + SZ_8M));
	mutex_unlock(&priv->lock);

	gpusvm_test_remove(priv, range);
	KUNIT_EXPECT_FALSE(test, drm_gpusvm_has_mapping(gpusvm, 0, ULONG_MAX));
}

/* --- references --------------------------------------------------------- */

static void drm_test_gpusvm_range_get_put(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_rw(test, SZ_64K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;

	priv->ops.range_alloc = mock_range_alloc;
	priv->ops.range_free = mock_range_free;
	gpusvm_test_init(test);

	gpusvm_test_fill(test, addr, addr + SZ_64K, 3);
	range = gpusvm_test_insert_ok(test, addr, 0, ULONG_MAX);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);

	KUNIT_EXPECT_PTR_EQ(test, drm_gpusvm_range_get(range), range);
	KUNIT_EXPECT_EQ(test, kref_read(&range->refcount), 2);

	gpusvm_test_remove(priv, range);
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&priv->ranges_freed), 0,
			    "a referenced range survives its removal");
	KUNIT_EXPECT_FALSE_MSG(test, range->flags.has_dma_mapping,
			       "removal releases the pages");
	KUNIT_EXPECT_FALSE(test, drm_gpusvm_has_mapping(&priv->gpusvm, 0,
							ULONG_MAX));

	drm_gpusvm_range_put(range);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_freed), 1);

	drm_gpusvm_range_put(NULL);
}

/* --- get_pages ---------------------------------------------------------- */

static void drm_test_gpusvm_get_pages_populated(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	int err;

	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 0xabcd);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_ASSERT_FALSE(test, gpusvm_test_pages_valid(priv, range));

	err = gpusvm_test_get_pages(priv, range, &ctx);
	KUNIT_ASSERT_EQ(test, err, 0);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_pages_valid(priv, range));
	KUNIT_EXPECT_TRUE(test, range->flags.has_dma_mapping);
	KUNIT_EXPECT_FALSE(test, range->flags.has_devmem_pages);
	KUNIT_EXPECT_NULL(test, range->dpagemap);
	gpusvm_test_check_dma(test, range, 0xabcd, false);
	KUNIT_EXPECT_EQ_MSG(test, priv->num_events, 0,
			    "collecting populated pages invalidates nothing");
}

static void drm_test_gpusvm_get_pages_unpopulated(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	u32 val;

	gpusvm_test_init(test);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_pages_valid(priv, range));
	gpusvm_test_check_dma(test, range, 0, true);

	/* The CPU sees the pages the GPU got: no fault, same content. */
	KUNIT_EXPECT_EQ(test, get_user(val, (u32 __user *)addr), 0);
	KUNIT_EXPECT_EQ(test, val, 0);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_pages_valid(priv, range));
}

static void drm_test_gpusvm_get_pages_read_only(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap(test, SZ_64K, PROT_READ,
					      MAP_ANONYMOUS | MAP_PRIVATE);
	struct drm_gpusvm_ctx ro = { .read_only = true };
	struct drm_gpusvm_ctx rw = {};
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
	range = gpusvm_test_insert(priv, addr, 0, ULONG_MAX, &ro);
	KUNIT_ASSERT_FALSE(test, IS_ERR(range));

	KUNIT_EXPECT_EQ_MSG(test, gpusvm_test_get_pages(priv, range, &rw), -EPERM,
			    "write access to a read-only VMA");
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range));

	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, range, &ro), 0);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_pages_valid(priv, range));
	gpusvm_test_check_dma(test, range, 0, true);
}

static void drm_test_gpusvm_get_pages_already_valid(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	struct drm_pagemap_device_addr first;
	unsigned long seq;

	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 7);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	seq = range->notifier_seq;
	first = range->dma_addr[0];

	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	KUNIT_EXPECT_EQ_MSG(test, range->notifier_seq, seq,
			    "valid pages are not collected again");
	KUNIT_EXPECT_EQ(test, range->dma_addr[0].addr, first.addr);
}

static void drm_test_gpusvm_get_pages_devmem_only(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx ctx = { .devmem_only = true };
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 7);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), -EFAULT);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range));
	KUNIT_EXPECT_FALSE(test, range->flags.has_devmem_pages);

	/* Nothing half-done: a normal collection works afterwards. */
	ctx.devmem_only = false;
	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	gpusvm_test_check_dma(test, range, 7, false);

	/* Valid system pages do not satisfy devmem_only either. */
	ctx.devmem_only = true;
	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), -EFAULT);
}

/*
 * Pages collected read-only (here the shared zero page) must not be handed
 * out for writing: asking for write access collects them again, after
 * breaking COW, and what the device writes is what the CPU reads.
 */
static void drm_test_gpusvm_get_pages_upgrade_to_write(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx ro = { .read_only = true };
	struct drm_gpusvm_ctx rw = {};
	struct drm_pagemap_device_addr ro_addr;
	struct drm_gpusvm_range *range;
	unsigned long i;
	u32 *kaddr, val;

	gpusvm_test_init(test);
	gpusvm_test_touch_read(test, addr, addr + SZ_64K);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_64K);

	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ro), 0);
	KUNIT_EXPECT_TRUE(test, range->flags.mapped_read_only);
	KUNIT_EXPECT_EQ(test, (int)range->dma_addr[0].dir, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ_MSG(test, range->dma_addr[0].addr, range->dma_addr[1].addr,
			    "both pages are the zero page");

	/* Read-only pages serve a read-only request as they are. */
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ro), 0);
	KUNIT_EXPECT_TRUE(test, range->flags.mapped_read_only);
	ro_addr = range->dma_addr[0];

	/*
	 * A write request does not release them behind the driver's back,
	 * whose GPU may still read through them: -EACCES, and they stay
	 * valid and mapped until the driver releases them.
	 */
	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, range, &rw), -EACCES);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_pages_valid(priv, range));
	KUNIT_EXPECT_TRUE(test, range->flags.has_dma_mapping);
	KUNIT_EXPECT_TRUE(test, range->flags.mapped_read_only);
	KUNIT_EXPECT_EQ(test, range->dma_addr[0].addr, ro_addr.addr);
	KUNIT_EXPECT_EQ(test, (int)range->dma_addr[0].dir, DMA_TO_DEVICE);

	mutex_lock(&priv->lock);
	drm_gpusvm_range_unmap_pages(&priv->gpusvm, range, &rw);
	mutex_unlock(&priv->lock);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &rw), 0);
	KUNIT_EXPECT_FALSE(test, range->flags.mapped_read_only);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_pages_valid(priv, range));
	KUNIT_EXPECT_EQ(test, (int)range->dma_addr[0].dir, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_NE(test, range->dma_addr[0].addr, range->dma_addr[1].addr);
	gpusvm_test_check_dma(test, range, 0, true);

	/* A "GPU" write through the device address is seen by the CPU. */
	for (i = 0; i < SZ_64K >> PAGE_SHIFT; i++) {
		kaddr = phys_to_virt(dma_to_phys(priv->dev, range->dma_addr[i].addr));
		*kaddr = 0xc0de0000 + i;
	}
	for (i = 0; i < SZ_64K >> PAGE_SHIFT; i++) {
		KUNIT_ASSERT_EQ(test, get_user(val, (u32 __user *)(addr + i * PAGE_SIZE)), 0);
		KUNIT_EXPECT_EQ_MSG(test, val, 0xc0de0000 + i, "page %lu", i);
	}

	/* Write-mapped pages serve a read-only request too. */
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ro), 0);
	KUNIT_EXPECT_FALSE(test, range->flags.mapped_read_only);
}

static void drm_test_gpusvm_get_pages_after_munmap(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_rw(test, SZ_128K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	gpusvm_test_munmap(test, addr, SZ_64K);
	KUNIT_EXPECT_TRUE(test, range->flags.unmapped);
	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), -EFAULT);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range));
}

/*
 * Write access to pages mapped read-only (the shared zero page) makes
 * hmm_range_fault() break COW, which invalidates the notifier while it
 * walks: it returns -EBUSY once per page. Each retry must start from a
 * fresh sequence number, or the loop spins until its timeout.
 */
/*
 * A range flagged unmapped never collects pages again, also when new memory
 * was mapped at its addresses before the driver removed it.
 */
static void drm_test_gpusvm_get_pages_unmapped_remapped(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	unsigned long again;

	gpusvm_test_init(test);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	gpusvm_test_munmap(test, addr, SZ_64K);
	KUNIT_ASSERT_TRUE(test, drm_gpusvm_range_read_flags(range).unmapped);

	again = kunit_vm_mmap(test, NULL, addr, SZ_64K, PROT_READ | PROT_WRITE,
			      MAP_ANONYMOUS | MAP_PRIVATE | MAP_FIXED, 0);
	KUNIT_ASSERT_EQ(test, again, addr);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 0x77);
	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), -EFAULT);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range));
	KUNIT_EXPECT_FALSE(test, drm_gpusvm_range_read_flags(range).has_dma_mapping);
}

/* drm_gpusvm_range_reuse() under the driver lock, as a garbage collector. */
static bool gpusvm_test_reuse(struct gpusvm_test_priv *priv,
			      struct drm_gpusvm_range *range)
{
	bool reused;

	mutex_lock(&priv->lock);
	reused = drm_gpusvm_range_reuse(&priv->gpusvm, range);
	mutex_unlock(&priv->lock);
	return reused;
}

/* Map @size bytes at @addr again, replacing whatever is there. */
static void gpusvm_test_mmap_fixed(struct kunit *test, unsigned long addr,
				   unsigned long size, unsigned long prot,
				   unsigned long flags)
{
	unsigned long again = kunit_vm_mmap(test, NULL, addr, size, prot,
					    flags | MAP_ANONYMOUS | MAP_FIXED, 0);

	KUNIT_ASSERT_EQ(test, again, addr);
}

/*
 * Unmapped, then mapped again at the same place (free, then allocate): the
 * range is kept for the new memory, without the old memory's history of
 * use and migrations, collects its pages (the new data, not the old) and
 * is found again; a later munmap() flags it unmapped again.
 */
static void drm_test_gpusvm_reuse_remapped(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx ctx = {}, devmem = { .devmem_possible = true };
	struct drm_gpusvm_range *range;
	unsigned long block;

	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 0x31);
	range = gpusvm_test_insert(priv, addr, addr, addr + SZ_64K, &devmem);
	KUNIT_ASSERT_FALSE(test, IS_ERR(range));
	KUNIT_ASSERT_TRUE(test, range->flags.migrate_devmem);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	/* A history of use and of migrations, for the old memory. */
	mutex_lock(&priv->lock);
	drm_gpusvm_range_touch(&priv->gpusvm, range);
	drm_gpusvm_range_thrash_note(&priv->gpusvm, range, 1000);
	mutex_unlock(&priv->lock);
	block = (addr - drm_gpusvm_notifier_start(range->notifier)) / SZ_64K;
	KUNIT_ASSERT_NOT_NULL(test, range->notifier->touched);
	KUNIT_ASSERT_TRUE(test, test_bit(block, range->notifier->touched));
	KUNIT_ASSERT_NE(test, range->thrash_count, 0);
	gpusvm_test_munmap(test, addr, SZ_64K);
	KUNIT_ASSERT_TRUE(test, drm_gpusvm_range_read_flags(range).unmapped);
	KUNIT_EXPECT_FALSE_MSG(test, gpusvm_test_reuse(priv, range),
			       "kept with nothing mapped");

	gpusvm_test_mmap_fixed(test, addr, SZ_64K, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 0x32);
	KUNIT_ASSERT_TRUE(test, gpusvm_test_reuse(priv, range));
	KUNIT_EXPECT_FALSE(test, drm_gpusvm_range_read_flags(range).unmapped);
	KUNIT_EXPECT_TRUE(test, drm_gpusvm_range_read_flags(range).migrate_devmem);
	/* New memory: the old history is gone. */
	KUNIT_EXPECT_FALSE(test, test_bit(block, range->notifier->touched));
	KUNIT_EXPECT_EQ(test, range->thrash_count, 0);
	KUNIT_EXPECT_PTR_EQ(test,
			    gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K),
			    range);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	gpusvm_test_check_dma(test, range, 0x32, false);
	KUNIT_EXPECT_FALSE_MSG(test, gpusvm_test_reuse(priv, range),
			       "a mapped range is not unmapped");

	gpusvm_test_munmap(test, addr, SZ_64K);
	KUNIT_EXPECT_TRUE(test, drm_gpusvm_range_read_flags(range).unmapped);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range));
	gpusvm_test_remove(priv, range);
}

/*
 * Memory mapped in the place of a range that would not get the same range,
 * or that the GPU cannot use: a bigger VMA (a 2 MiB range would be made),
 * PROT_NONE, or part of the range only. The range is to be removed. Shared
 * memory keeps it, without device memory; and a range unmapped in part is
 * the split's, not reused.
 */
static void drm_test_gpusvm_reuse_refused(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long base = gpusvm_test_mmap_aligned(test, SZ_4M, SZ_2M);
	unsigned long addr = base + SZ_64K;
	struct drm_gpusvm_ctx ctx = {}, devmem = { .devmem_possible = true };
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
	gpusvm_test_munmap(test, base, SZ_4M);
	gpusvm_test_mmap_fixed(test, addr, SZ_64K, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE);
	range = gpusvm_test_insert(priv, addr, 0, TASK_SIZE, &devmem);
	KUNIT_ASSERT_FALSE(test, IS_ERR(range));
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_64K);
	KUNIT_ASSERT_TRUE(test, range->flags.migrate_devmem);
	gpusvm_test_munmap(test, addr, SZ_64K);

	gpusvm_test_mmap_fixed(test, base, SZ_2M, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE);
	KUNIT_EXPECT_FALSE_MSG(test, gpusvm_test_reuse(priv, range),
			       "kept in a VMA that takes a 2 MiB range");
	gpusvm_test_munmap(test, base, SZ_2M);

	gpusvm_test_mmap_fixed(test, addr, SZ_64K, PROT_NONE, MAP_PRIVATE);
	KUNIT_EXPECT_FALSE_MSG(test, gpusvm_test_reuse(priv, range),
			       "kept over PROT_NONE memory");
	gpusvm_test_munmap(test, addr, SZ_64K);

	gpusvm_test_mmap_fixed(test, addr, SZ_32K, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE);
	KUNIT_EXPECT_FALSE_MSG(test, gpusvm_test_reuse(priv, range),
			       "kept over half its memory");
	/* Not a partial unmap of the range: it had gone as a whole. */
	gpusvm_test_munmap(test, addr, SZ_32K);
	KUNIT_EXPECT_FALSE(test, drm_gpusvm_range_read_flags(range).partial_unmap);

	gpusvm_test_mmap_fixed(test, addr, SZ_64K, PROT_READ | PROT_WRITE,
			       MAP_SHARED);
	KUNIT_ASSERT_TRUE(test, gpusvm_test_reuse(priv, range));
	KUNIT_EXPECT_FALSE(test, drm_gpusvm_range_read_flags(range).migrate_devmem);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);

	/* Half of it unmapped: a partial unmap. */
	gpusvm_test_munmap(test, addr, SZ_32K);
	KUNIT_ASSERT_TRUE(test, drm_gpusvm_range_read_flags(range).partial_unmap);
	gpusvm_test_mmap_fixed(test, addr, SZ_32K, PROT_READ | PROT_WRITE,
			       MAP_SHARED);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_reuse(priv, range));
	gpusvm_test_remove(priv, range);
	gpusvm_test_munmap(test, addr, SZ_64K);
}

struct gpusvm_test_unmapper {
	struct mm_struct *mm;
	unsigned long addr;
	unsigned long size;
	int err;
	struct completion done;
};

static int gpusvm_test_unmap_thread(void *arg)
{
	struct gpusvm_test_unmapper *u = arg;

	kthread_use_mm(u->mm);
	u->err = vm_munmap(u->addr, u->size);
	kthread_unuse_mm(u->mm);
	complete(&u->done);
	return 0;
}

/*
 * A munmap() of the new memory races with the garbage collector keeping
 * the range for it. Whichever wins, the range ends flagged unmapped: kept
 * before the munmap(), the munmap() flags it again; kept after, it would
 * mirror nothing. Many rounds, to see both orders.
 */
static void drm_test_gpusvm_reuse_munmap_race(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct gpusvm_test_unmapper u = {
		.mm = current->mm, .addr = addr, .size = SZ_64K,
	};
	struct drm_gpusvm_range *range;
	unsigned int i, kept = 0;

	gpusvm_test_init(test);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	gpusvm_test_munmap(test, addr, SZ_64K);

	for (i = 0; i < 64; i++) {
		struct task_struct *task;

		gpusvm_test_mmap_fixed(test, addr, SZ_64K,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
		init_completion(&u.done);
		task = kthread_run(gpusvm_test_unmap_thread, &u, "gpusvm-unmap");
		KUNIT_ASSERT_FALSE(test, IS_ERR(task));
		kept += gpusvm_test_reuse(priv, range);
		wait_for_completion(&u.done);
		KUNIT_ASSERT_EQ(test, u.err, 0);
		KUNIT_ASSERT_TRUE_MSG(test,
				      drm_gpusvm_range_read_flags(range).unmapped,
				      "round %u: kept over unmapped memory", i);
	}
	kunit_info(test, "kept in %u of %u rounds\n", kept, i);
	gpusvm_test_remove(priv, range);
}

static void drm_test_gpusvm_get_pages_cow_retry(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	unsigned long t0;

	gpusvm_test_init(test);
	gpusvm_test_touch_read(test, addr, addr + SZ_64K);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);

	priv->num_events = 0;
	t0 = jiffies;
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	KUNIT_EXPECT_LT_MSG(test, jiffies_to_msecs(jiffies - t0),
			    HMM_RANGE_DEFAULT_TIMEOUT / 2,
			    "retries must not run into the timeout");
	KUNIT_EXPECT_GE_MSG(test, priv->num_events, 1,
			    "breaking COW invalidates the notifier");
	KUNIT_EXPECT_TRUE(test, gpusvm_test_saw_event(priv, MMU_NOTIFY_CLEAR,
						      addr, addr + SZ_4K));
	KUNIT_EXPECT_TRUE(test, gpusvm_test_pages_valid(priv, range));
	gpusvm_test_check_dma(test, range, 0, true);
}

struct gpusvm_test_worker {
	struct gpusvm_test_priv *priv;
	struct drm_gpusvm_range *range;
	struct drm_gpusvm_ctx ctx;
	int ret;
	struct completion done;
};

static int gpusvm_test_get_pages_thread(void *arg)
{
	struct gpusvm_test_worker *w = arg;

	w->ret = drm_gpusvm_range_get_pages(&w->priv->gpusvm, w->range,
					    &w->ctx);
	complete(&w->done);
	return 0;
}

static bool gpusvm_test_wait_contended(struct rw_semaphore *sem)
{
	int i;

	for (i = 0; i < 5000; i++) {
		if (rwsem_is_contended(sem))
			return true;
		usleep_range(500, 1000);
	}
	return false;
}

/*
 * An invalidation that lands after hmm_range_fault() but before the pages
 * are committed must be caught by mmu_interval_read_retry() under the
 * notifier lock. A second thread collects the pages; this one holds the
 * mmap lock so that the worker waits before hmm_range_fault(), then the
 * notifier lock so that it waits right after, and meanwhile publishes a
 * new notifier sequence exactly as the invalidate callback would.
 */
static void drm_test_gpusvm_get_pages_seq_retry(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct mm_struct *mm = current->mm;
	struct gpusvm_test_worker w = { .priv = priv };
	struct task_struct *task;
	unsigned long seq;
	bool waiting;

	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 9);
	w.range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	init_completion(&w.done);

	mmap_write_lock(mm);
	task = kthread_run(gpusvm_test_get_pages_thread, &w, "gpusvm-test");
	if (IS_ERR(task)) {
		mmap_write_unlock(mm);
		KUNIT_FAIL(test, "kthread_run: %ld", PTR_ERR(task));
		return;
	}
	waiting = gpusvm_test_wait_contended(&mm->mmap_lock);

	down_write(&priv->gpusvm.notifier_lock);
	mmap_write_unlock(mm);
	if (waiting)
		waiting = gpusvm_test_wait_contended(&priv->gpusvm.notifier_lock);
	seq = READ_ONCE(w.range->notifier->notifier.invalidate_seq) + 2;
	mmu_interval_set_seq(&w.range->notifier->notifier, seq);
	up_write(&priv->gpusvm.notifier_lock);

	KUNIT_ASSERT_NE_MSG(test, wait_for_completion_timeout(&w.done, 10 * HZ), 0,
			    "get_pages did not finish");
	KUNIT_ASSERT_TRUE_MSG(test, waiting, "the worker never blocked");
	KUNIT_EXPECT_EQ(test, w.ret, 0);
	KUNIT_EXPECT_EQ_MSG(test, w.range->notifier_seq, seq,
			    "the committed pages must come from the retry");
	KUNIT_EXPECT_TRUE(test, gpusvm_test_pages_valid(priv, w.range));
	gpusvm_test_check_dma(test, w.range, 9, false);
}

/*
 * A thread that drops the pages of a range (MADV_DONTNEED, a real
 * invalidation through the MMU notifier) once per round of the test
 * thread, at a random point of the round's collection.
 */
struct gpusvm_test_racer {
	struct mm_struct *mm;
	unsigned long start;
	unsigned long size;
	wait_queue_head_t wq;
	atomic_t rounds;		/* started by the test thread */
	unsigned int window_us;		/* how long the last collection took */
	unsigned int invalidations;
	int err;
	bool stop;
	struct completion done;
};

static int gpusvm_test_racer_thread(void *arg)
{
	struct gpusvm_test_racer *r = arg;
	int seen = 0;

	while (!READ_ONCE(r->stop)) {
		unsigned int delay;

		wait_event_timeout(r->wq, READ_ONCE(r->stop) ||
				   atomic_read(&r->rounds) != seen, HZ / 10);
		if (READ_ONCE(r->stop))
			break;
		if (atomic_read(&r->rounds) == seen)
			continue;
		seen = atomic_read(&r->rounds);

		delay = get_random_u32_below(READ_ONCE(r->window_us) + 1);
		if (delay)
			usleep_range(delay, delay + 1);
#if IS_BUILTIN(CONFIG_DRM_GPUSVM_KUNIT_TEST)
		r->err = do_madvise(r->mm, r->start, r->size, MADV_DONTNEED);
#else
		r->err = -EOPNOTSUPP;
#endif
		if (r->err)
			break;
		r->invalidations++;
	}
	complete(&r->done);
	return 0;
}

/* Stop the racer and drop the address space it kept alive. */
static void gpusvm_test_racer_stop(void *arg)
{
	struct gpusvm_test_racer *r = arg;

	WRITE_ONCE(r->stop, true);
	wake_up(&r->wq);
	wait_for_completion(&r->done);
	mmput(r->mm);
}

/*
 * The racing counterpart of drm_test_gpusvm_get_pages_seq_published: real
 * invalidations from a second thread hit get_pages while it runs, through
 * the notifier's own sequence publication, and this thread binds after
 * every collection as a driver does. Every bind accepted under the
 * notifier lock must commit exactly the pages the CPU maps. Each round
 * starts with the first half of the range populated and the second half
 * empty: hmm_range_fault() records the first half, then spends its time
 * faulting the second, so an invalidation landing then makes the recorded
 * half stale, and get_pages must notice. At most one invalidation per
 * round, placed at random within the time the last collection took. At
 * most 2 s or 500 rounds.
 */
static void drm_test_gpusvm_get_pages_invalidation_race(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	unsigned int rounds, bound = 0, retried = 0, busy = 0;
	unsigned long first = 0, bad_first = 0, end, *pfns;
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	struct gpusvm_test_racer *r;
	struct task_struct *task;
	long stale, bad = 0;
	int err;

	if (!IS_BUILTIN(CONFIG_DRM_GPUSVM_KUNIT_TEST))
		kunit_skip(test, "madvise needs the tests built in");

	pfns = kunit_kcalloc(test, SZ_64K >> PAGE_SHIFT, sizeof(*pfns),
			     GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pfns);
	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);

	gpusvm_test_init(test);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_64K);

	r->mm = current->mm;
	r->start = addr;
	r->size = SZ_64K;
	r->window_us = 100;
	init_waitqueue_head(&r->wq);
	init_completion(&r->done);
	/* The racer may outlive this thread, whose exit drops its mm. */
	mmget(r->mm);
	task = kthread_run(gpusvm_test_racer_thread, r, "gpusvm-racer");
	if (IS_ERR(task)) {
		mmput(r->mm);
		KUNIT_FAIL(test, "kthread_run: %ld", PTR_ERR(task));
		return;
	}
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							gpusvm_test_racer_stop,
							r), 0);

	end = jiffies + 2 * HZ;
	for (rounds = 0; rounds < 500 && time_before(jiffies, end); rounds++) {
		ktime_t t0;

		gpusvm_test_fill(test, addr, addr + SZ_32K, rounds);
		KUNIT_ASSERT_EQ(test, gpusvm_test_madvise(test, addr + SZ_32K,
							  SZ_32K,
							  MADV_DONTNEED), 0);

		t0 = ktime_get();
		atomic_inc(&r->rounds);
		wake_up(&r->wq);
		err = gpusvm_test_get_pages(priv, range, &ctx);
		WRITE_ONCE(r->window_us,
			   min_t(s64, ktime_us_delta(ktime_get(), t0), 20000));
		if (err == -EBUSY) {
			busy++;
			continue;
		}
		KUNIT_ASSERT_EQ_MSG(test, err, 0, "get_pages, round %u", rounds);

		stale = gpusvm_test_bind(priv, range, pfns, &first);
		if (stale == -EAGAIN) {
			retried++;
			continue;
		}
		KUNIT_ASSERT_GE_MSG(test, stale, 0L, "snapshot, round %u",
				    rounds);
		bound++;
		if (stale) {
			bad = stale;
			bad_first = first;
			break;
		}
	}
	kunit_release_action(test, gpusvm_test_racer_stop, r);

	kunit_info(test, "%u rounds: %u bound, %u invalidated before the bind, %u -EBUSY; %u invalidations\n",
		   rounds, bound, retried, busy, r->invalidations);
	KUNIT_EXPECT_EQ_MSG(test, bad, 0L,
			    "round %u: %ld bound pages are not the CPU's, the first at 0x%lx: get_pages committed pages an invalidation had dropped",
			    rounds, bad, addr + (bad_first << PAGE_SHIFT));
	KUNIT_EXPECT_EQ(test, r->err, 0);
	KUNIT_EXPECT_GT_MSG(test, bound, 0U, "no bind got through");
	KUNIT_EXPECT_GT_MSG(test, r->invalidations, 0U,
			    "the racer never invalidated");
}

/*
 * A 2 MiB aligned, populated region that the CPU maps with a huge page.
 * That it does is established without hmm_range_fault(), whose report
 * (hmm_pfn_to_map_order()) is what the THP cases test: the folio behind
 * the first page, found by get_user_pages_fast(), must be PMD-sized,
 * start there and be mapped whole by a PMD. A case is skipped, with the
 * reason, only if it is not; a huge page the collection does not use as
 * one is a failure.
 */
/* Whether the CPU maps @addr, 2M aligned, with a whole huge page. */
static bool gpusvm_test_huge_at(struct kunit *test, unsigned long addr)
{
	struct folio *folio;
	struct page *page;
	bool huge;

	KUNIT_ASSERT_EQ(test, get_user_pages_fast(addr, 1, 0, &page), 1);
	folio = page_folio(page);
	huge = folio_test_pmd_mappable(folio) && folio_page(folio, 0) == page &&
	       folio_entire_mapcount(folio) > 0;
	put_page(page);

	return huge;
}

static unsigned long gpusvm_test_thp(struct kunit *test, u32 seed)
{
	unsigned long map = gpusvm_test_mmap_rw(test, SZ_4M);
	unsigned long base = ALIGN(map, SZ_2M);

	if (IS_BUILTIN(CONFIG_DRM_GPUSVM_KUNIT_TEST))
		KUNIT_ASSERT_EQ(test, gpusvm_test_madvise(test, base, SZ_2M,
							  MADV_HUGEPAGE), 0);
	gpusvm_test_fill(test, base, base + SZ_2M, seed);

	if (!gpusvm_test_huge_at(test, base))
		kunit_skip(test,
			   "no transparent huge page at 0x%lx (THP off, or no free 2M block)",
			   base);
	return base;
}

static void drm_test_gpusvm_get_pages_thp(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	unsigned long base;
	unsigned int order;

	gpusvm_test_init(test);
	base = gpusvm_test_thp(test, 0x55);
	range = gpusvm_test_insert_ok(test, base + SZ_64K, 0, ULONG_MAX);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_2M);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);

	order = gpusvm_test_check_dma(test, range, 0x55, false);
	KUNIT_EXPECT_EQ_MSG(test, (int)order, get_order(SZ_2M),
			    "the CPU maps a huge page: its pages are one block");
	KUNIT_EXPECT_EQ_MSG(test, (int)range->dma_addr[0].order, get_order(SZ_2M),
			    "one entry maps the whole huge page");
}

/*
 * Drop one page of the huge page at @addr, which makes the CPU map the
 * other 511 with 4K entries, and write the page back with its pattern.
 */
static void gpusvm_test_split_thp(struct kunit *test, unsigned long addr,
				  u32 seed)
{
	unsigned long hole = addr + SZ_64K;

	KUNIT_ASSERT_EQ(test, gpusvm_test_madvise(test, hole, PAGE_SIZE,
						  MADV_DONTNEED), 0);
	gpusvm_test_fill(test, hole, hole + PAGE_SIZE, seed);
	KUNIT_ASSERT_FALSE_MSG(test, gpusvm_test_huge_at(test, addr),
			       "0x%lx is still mapped huge", addr);
}

/*
 * A 4M range whose first half is a huge page and second half 4K pages: the
 * table has 1 + 512 entries, and the entry after the huge page is the first
 * 4K page, not entry 512. Indexing the table by page reads wrong pages.
 */
static void drm_test_gpusvm_get_pages_mixed_orders(struct kunit *test)
{
	static const unsigned long chunks[] = { SZ_4M, SZ_2M, SZ_4K };
	struct gpusvm_test_priv *priv = test->priv;
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	unsigned long base;
	int err;

	err = gpusvm_test_init_full(test, current->mm, 0, TASK_SIZE_MAX, SZ_4M,
				    chunks, ARRAY_SIZE(chunks));
	KUNIT_ASSERT_EQ(test, err, 0);
	base = ALIGN(gpusvm_test_mmap_rw(test, SZ_8M), SZ_4M);
	KUNIT_ASSERT_EQ(test, gpusvm_test_madvise(test, base, SZ_4M,
						  MADV_HUGEPAGE), 0);
	gpusvm_test_fill(test, base, base + SZ_4M, 0x88);
	if (!gpusvm_test_huge_at(test, base) ||
	    !gpusvm_test_huge_at(test, base + SZ_2M))
		kunit_skip(test, "no two huge pages at 0x%lx (no free 2M blocks)",
			   base);
	gpusvm_test_split_thp(test, base + SZ_2M, 0x88);

	range = gpusvm_test_insert_ok(test, base, 0, ULONG_MAX);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_4M);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);

	KUNIT_EXPECT_EQ(test, gpusvm_test_check_dma(test, range, 0x88, false),
			get_order(SZ_2M));
	KUNIT_EXPECT_EQ(test, range->num_dma_addr, 1 + 512);
	KUNIT_EXPECT_EQ(test, (int)range->dma_addr[0].order, get_order(SZ_2M));
	KUNIT_EXPECT_EQ(test, (int)range->dma_addr[1].order, 0);
}

/*
 * The table is sized by the blocks of each collection: one entry while a
 * huge page maps the range, 512 once the huge page is split, and the data
 * behind every entry right both times.
 */
static void drm_test_gpusvm_get_pages_table_resized(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	unsigned long base;

	gpusvm_test_init(test);
	base = gpusvm_test_thp(test, 0x99);
	range = gpusvm_test_insert_ok(test, base, 0, ULONG_MAX);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	KUNIT_EXPECT_EQ(test, range->num_dma_addr, 1);
	gpusvm_test_check_dma(test, range, 0x99, false);

	gpusvm_test_split_thp(test, base, 0x99);
	KUNIT_EXPECT_FALSE(test, drm_gpusvm_range_read_flags(range).has_dma_mapping);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	KUNIT_EXPECT_EQ(test, range->num_dma_addr, 512);
	KUNIT_EXPECT_EQ(test, gpusvm_test_check_dma(test, range, 0x99, false), 0);
}

/* A 64K range inside a huge page gets one 64K block, not 2M. */
static void drm_test_gpusvm_get_pages_thp_clipped(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	unsigned int order;
	unsigned long base;

	gpusvm_test_init(test);
	base = gpusvm_test_thp(test, 0x66);
	range = gpusvm_test_insert_ok(test, base + SZ_128K + SZ_4K,
				      base + SZ_128K, base + SZ_256K);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);

	order = gpusvm_test_check_dma(test, range, 0x66, false);
	KUNIT_EXPECT_EQ_MSG(test, (int)order, get_order(SZ_64K),
			    "the CPU maps a huge page: the range is one block");
	KUNIT_EXPECT_EQ(test, (int)range->dma_addr[0].order, get_order(SZ_64K));
}

/*
 * A 4K-chunk GPU SVM over a huge page: every entry is clipped to one page
 * even though the CPU mapping is 2M.
 */
static void drm_test_gpusvm_get_pages_thp_small_chunks(struct kunit *test)
{
	static const unsigned long chunks[] = { SZ_16K, SZ_4K };
	struct gpusvm_test_priv *priv = test->priv;
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	unsigned long base;
	int err;

	err = gpusvm_test_init_full(test, current->mm, 0, TASK_SIZE_MAX, SZ_2M,
				    chunks, ARRAY_SIZE(chunks));
	KUNIT_ASSERT_EQ(test, err, 0);
	base = gpusvm_test_thp(test, 0x77);
	range = gpusvm_test_insert_ok(test, base + SZ_1M + SZ_8K,
				      base + SZ_1M + SZ_8K,
				      base + SZ_1M + SZ_8K + SZ_4K);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_4K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	KUNIT_EXPECT_EQ(test, gpusvm_test_check_dma(test, range, 0x77, false), 0);
}

/* --- invalidation ------------------------------------------------------- */

static void drm_test_gpusvm_unmap_pages(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);

	drm_gpusvm_range_unmap_pages(&priv->gpusvm, range, &ctx);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range));
	KUNIT_EXPECT_FALSE(test, range->flags.has_dma_mapping);
	KUNIT_EXPECT_FALSE(test, range->flags.unmapped);

	/* Idempotent, and the pages can be collected again. */
	drm_gpusvm_range_unmap_pages(&priv->gpusvm, range, &ctx);
	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_pages_valid(priv, range));
}

static void drm_test_gpusvm_invalidate_munmap(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 1);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);

	priv->num_events = 0;
	gpusvm_test_munmap(test, addr, SZ_64K);
	KUNIT_EXPECT_TRUE_MSG(test, gpusvm_test_saw_event(priv, MMU_NOTIFY_UNMAP,
							  addr, addr + SZ_64K),
			      "munmap must invalidate the range");
	KUNIT_EXPECT_TRUE(test, range->flags.unmapped);
	KUNIT_EXPECT_FALSE(test, range->flags.partial_unmap);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range));
	if (test->status == KUNIT_FAILURE)
		gpusvm_test_dump(test);

	/* The garbage collector's job. */
	gpusvm_test_remove(priv, range);
	KUNIT_EXPECT_EQ(test, gpusvm_test_count_notifiers(priv), 0);
}

static void drm_test_gpusvm_invalidate_partial_munmap(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_rw(test, SZ_128K);
	unsigned long start = ALIGN(addr, SZ_64K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range, *again;

	gpusvm_test_init(test);
	range = gpusvm_test_insert_ok(test, start, start, start + SZ_64K);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);

	priv->num_events = 0;
	gpusvm_test_munmap(test, start + SZ_32K, SZ_16K);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_saw_event(priv, MMU_NOTIFY_UNMAP,
						      start + SZ_32K,
						      start + SZ_32K + SZ_16K));
	KUNIT_EXPECT_TRUE(test, range->flags.unmapped);
	KUNIT_EXPECT_TRUE(test, range->flags.partial_unmap);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range));

	/* Until collected, a fault there returns the stale range. */
	again = gpusvm_test_insert_ok(test, start, start, start + SZ_64K);
	KUNIT_EXPECT_PTR_EQ(test, again, range);

	/*
	 * After removal, the surviving part is mirrored by a smaller range:
	 * the 64K block cut at the new end of the VMA.
	 */
	gpusvm_test_remove(priv, range);
	again = gpusvm_test_insert_ok(test, start, start, start + SZ_64K);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_start(again), start);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_size(again), SZ_32K);
	KUNIT_EXPECT_FALSE(test, again->flags.unmapped);
}

static void drm_test_gpusvm_invalidate_madvise_dontneed(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	int err;

	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 0x1234);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);

	priv->num_events = 0;
	err = gpusvm_test_madvise(test, addr + SZ_16K, SZ_8K, MADV_DONTNEED);
	KUNIT_ASSERT_EQ(test, err, 0);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_saw_event(priv, MMU_NOTIFY_CLEAR,
						      addr + SZ_16K,
						      addr + SZ_16K + SZ_8K));
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range));
	KUNIT_EXPECT_FALSE_MSG(test, range->flags.unmapped,
			       "MADV_DONTNEED keeps the VMA");

	/* Collect again: the dropped pages read as zero now. */
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	{
		unsigned long j;

		for (j = 0; j < 16; j++) {
			unsigned long uaddr = addr + j * SZ_4K;
			bool dropped = uaddr >= addr + SZ_16K &&
				       uaddr < addr + SZ_16K + SZ_8K;
			u32 *kaddr = phys_to_virt(dma_to_phys(priv->dev,
							      range->dma_addr[j].addr));

			KUNIT_EXPECT_EQ_MSG(test, *kaddr,
					    dropped ? 0 : 0x1234 ^ (u32)(uaddr >> PAGE_SHIFT),
					    "page %lu", j);
		}
	}
}

static void drm_test_gpusvm_invalidate_mprotect(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_rw(test, SZ_64K);
	struct drm_gpusvm_ctx ro = { .read_only = true };
	struct drm_gpusvm_ctx rw = {};
	struct drm_gpusvm_range *range;
	int err;

	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 0x42);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &rw), 0);

	priv->num_events = 0;
	err = gpusvm_test_mprotect(test, addr, addr + SZ_64K, false);
	KUNIT_ASSERT_EQ(test, err, 0);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_saw_event(priv,
						      MMU_NOTIFY_PROTECTION_VMA,
						      addr, addr + SZ_4K));
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range));

	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, range, &rw), -EPERM);
	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, range, &ro), 0);
	gpusvm_test_check_dma(test, range, 0x42, false);
}

/* CPU changes outside every notifier window reach no callback. */
static void drm_test_gpusvm_invalidate_outside(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long map = gpusvm_test_mmap_rw(test, SZ_8M);
	unsigned long base = ALIGN(map, SZ_2M);
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
	range = gpusvm_test_insert_ok(test, base, base, base + SZ_64K);

	priv->num_events = 0;
	gpusvm_test_munmap(test, base + SZ_2M, SZ_2M);
	KUNIT_EXPECT_EQ(test, priv->num_events, 0);
	KUNIT_EXPECT_FALSE(test, range->flags.unmapped);
}

/* An invalidation in one window leaves ranges of the others alone. */
static void drm_test_gpusvm_invalidate_other_notifier(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long map = gpusvm_test_mmap_rw(test, SZ_8M);
	unsigned long base = ALIGN(map, SZ_2M);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *a, *b, *a2;

	/*
	 * VMAs of 1M: no huge page, whose split would invalidate all of its
	 * 2M, neighbours included.
	 */
	gpusvm_test_munmap(test, base + SZ_1M, SZ_1M);
	gpusvm_test_munmap(test, base + SZ_2M + SZ_1M, SZ_1M);
	gpusvm_test_init(test);
	gpusvm_test_fill(test, base, base + SZ_128K, 1);
	gpusvm_test_fill(test, base + SZ_2M, base + SZ_2M + SZ_64K, 2);
	a = gpusvm_test_insert_ok(test, base, base, base + SZ_64K);
	a2 = gpusvm_test_insert_ok(test, base + SZ_64K, base + SZ_64K,
				   base + SZ_128K);
	b = gpusvm_test_insert_ok(test, base + SZ_2M, base + SZ_2M,
				  base + SZ_2M + SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, a, &ctx), 0);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, a2, &ctx), 0);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, b, &ctx), 0);

	gpusvm_test_munmap(test, base + SZ_4K, SZ_4K);
	KUNIT_EXPECT_TRUE(test, a->flags.unmapped);
	KUNIT_EXPECT_TRUE(test, a->flags.partial_unmap);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, a));
	KUNIT_EXPECT_TRUE_MSG(test, gpusvm_test_pages_valid(priv, a2),
			      "same notifier, outside the interval");
	KUNIT_EXPECT_FALSE(test, a2->flags.unmapped);
	KUNIT_EXPECT_TRUE_MSG(test, gpusvm_test_pages_valid(priv, b),
			      "other notifier");
	KUNIT_EXPECT_FALSE(test, b->flags.unmapped);
}

static void drm_test_gpusvm_set_unmapped(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_rw(test, SZ_128K);
	unsigned long start = ALIGN(addr, SZ_64K);
	struct mmu_notifier_range whole = {
		.start = start - SZ_4K, .end = start + SZ_64K + SZ_4K,
		.event = MMU_NOTIFY_UNMAP,
	};
	struct mmu_notifier_range head = {
		.start = start, .end = start + SZ_4K, .event = MMU_NOTIFY_UNMAP,
	};
	struct drm_gpusvm_range *a;

	gpusvm_test_init(test);
	a = gpusvm_test_insert_ok(test, start, start, start + SZ_64K);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(a), SZ_64K);

	down_write(&priv->gpusvm.notifier_lock);
	drm_gpusvm_range_set_unmapped(a, &whole);
	up_write(&priv->gpusvm.notifier_lock);
	KUNIT_EXPECT_TRUE(test, a->flags.unmapped);
	KUNIT_EXPECT_FALSE(test, a->flags.partial_unmap);

	down_write(&priv->gpusvm.notifier_lock);
	a->flags.unmapped = false;
	drm_gpusvm_range_set_unmapped(a, &head);
	up_write(&priv->gpusvm.notifier_lock);
	KUNIT_EXPECT_TRUE(test, a->flags.unmapped);
	KUNIT_EXPECT_TRUE(test, a->flags.partial_unmap);
}

/* --- evict -------------------------------------------------------------- */

/* drm_gpusvm_range_evict() under the driver lock, as a driver calls it. */
static int gpusvm_test_evict(struct gpusvm_test_priv *priv,
			     struct drm_gpusvm_range *range)
{
	int err;

	mutex_lock(&priv->lock);
	err = drm_gpusvm_range_evict(&priv->gpusvm, range);
	mutex_unlock(&priv->lock);
	return err;
}

static void drm_test_gpusvm_evict_system(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	int err;

	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_32K, 5);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);

	err = gpusvm_test_evict(priv, range);
	KUNIT_EXPECT_EQ_MSG(test, err, 0, "evicting system memory is a no-op");
	KUNIT_EXPECT_EQ(test, priv->num_events, 0);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_pages_valid(priv, range));
}

static void drm_test_gpusvm_evict_unmapped(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_rw(test, SZ_128K);
	struct drm_gpusvm_range *range;
	int err;

	gpusvm_test_init(test);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	gpusvm_test_munmap(test, addr, SZ_64K);

	err = gpusvm_test_evict(priv, range);
	KUNIT_EXPECT_EQ_MSG(test, err, 0, "nothing to evict in a hole");
}

/* --- teardown ----------------------------------------------------------- */

static void drm_test_gpusvm_fini_live_ranges(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long map = gpusvm_test_mmap_rw(test, SZ_8M);
	unsigned long base = ALIGN(map, SZ_2M);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	int i;

	priv->ops.range_alloc = mock_range_alloc;
	priv->ops.range_free = mock_range_free;
	gpusvm_test_init(test);
	gpusvm_test_fill(test, base, base + SZ_4M, 8);

	for (i = 0; i < 8; i++) {
		range = gpusvm_test_insert_ok(test, base + i * SZ_512K,
					      base + i * SZ_512K,
					      base + i * SZ_512K + SZ_64K);
		if (i & 1)
			KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range,
								    &ctx), 0);
	}
	KUNIT_ASSERT_EQ(test, gpusvm_test_count_notifiers(priv), 2);

	gpusvm_test_fini(priv);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_freed), 8);

	/* No notifier left: CPU changes reach nothing. */
	priv->num_events = 0;
	gpusvm_test_munmap(test, base, SZ_4M);
	KUNIT_EXPECT_EQ(test, priv->num_events, 0);
}

/* Build, in a helper thread, a second address space with one populated VMA. */
struct gpusvm_test_mm {
	struct mm_struct *mm;
	unsigned long addr;
	int err;
	struct completion done;
};

static int gpusvm_test_mm_thread(void *arg)
{
	struct gpusvm_test_mm *t = arg;
	struct mm_struct *mm = mm_alloc();
	unsigned long addr;

	if (!mm) {
		t->err = -ENOMEM;
		goto out;
	}
	mm->task_size = TASK_SIZE;
	arch_pick_mmap_layout(mm, &current->signal->rlim[RLIMIT_STACK]);

	kthread_use_mm(mm);
	addr = vm_mmap(NULL, 0, SZ_64K, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_PRIVATE, 0);
	if (IS_ERR_VALUE(addr))
		t->err = (int)addr;
	else if (clear_user((void __user *)addr, SZ_64K))
		t->err = -EFAULT;
	kthread_unuse_mm(mm);

	if (t->err) {
		mmput(mm);
		goto out;
	}
	t->mm = mm;
	t->addr = addr;
out:
	complete(&t->done);
	return 0;
}

static struct mm_struct *gpusvm_test_other_mm(struct kunit *test,
					      unsigned long *addr)
{
	struct gpusvm_test_mm t = {};
	struct task_struct *task;

	init_completion(&t.done);
	task = kthread_run(gpusvm_test_mm_thread, &t, "gpusvm-test-mm");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	wait_for_completion(&t.done);
	KUNIT_ASSERT_EQ_MSG(test, t.err, 0, "building a second mm failed");

	*addr = t.addr;
	return t.mm;
}

/*
 * The GPU SVM outlives the last user of its mm: the page tables are torn
 * down (invalidating the ranges), every operation that needs the pages
 * fails with -ENOENT, and fini still cleans up.
 */
static void drm_test_gpusvm_mm_gone(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	struct mm_struct *mm;
	unsigned long addr;
	int err;

	/* Attach the test's own mm first, as kunit_vm_mmap() does. */
	gpusvm_test_mmap_rw(test, PAGE_SIZE);
	mm = gpusvm_test_other_mm(test, &addr);

	priv->ops.range_alloc = mock_range_alloc;
	priv->ops.range_free = mock_range_free;
	err = gpusvm_test_init_full(test, mm, 0, TASK_SIZE_MAX, SZ_2M,
				    default_chunks, ARRAY_SIZE(default_chunks));
	if (err)
		mmput(mm);
	KUNIT_ASSERT_EQ(test, err, 0);

	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_pages_valid(priv, range));

	priv->num_events = 0;
	mmput(mm);	/* The last user: exit_mmap() runs here. */
	KUNIT_EXPECT_GE_MSG(test, priv->num_events, 1,
			    "tearing down the mm invalidates the ranges");
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range));

	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), -ENOENT);
	err = gpusvm_test_evict(priv, range);
	KUNIT_EXPECT_EQ(test, err, -ENOENT);
	KUNIT_EXPECT_EQ(test,
			PTR_ERR_OR_ZERO(gpusvm_test_insert(priv, addr + SZ_64K, 0,
							   ULONG_MAX, &ctx)),
			-ENOENT);

	gpusvm_test_fini(priv);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_freed), 1);
}

/* --- device memory ------------------------------------------------------ */

#define TEST_VRAM_SIZE SZ_2M
#define TEST_MAX_DEVMEM 4

struct gpusvm_test_vram;

/* One device memory allocation: a run of pages of the mock VRAM. */
struct gpusvm_test_devmem {
	struct drm_pagemap_devmem base;
	struct gpusvm_test_vram *vram;
	unsigned long first;
	bool released;
};

/*
 * Mock device memory: device-private pages registered through drm_pagemap,
 * backed by a kernel buffer indexed by device offset. Allocated before the
 * pagemap is registered so that it outlives every device page.
 */
struct gpusvm_test_vram {
	struct drm_pagemap dpagemap;
	void *mem;
	unsigned long next;
	struct gpusvm_test_devmem devmem[TEST_MAX_DEVMEM];
	unsigned int num_devmem;
	/*
	 * When a test sets @copy_release, the next copy_to_ram completes
	 * @copy_entered and waits for @copy_release before it copies.
	 */
	struct completion *copy_entered;
	struct completion *copy_release;
	/* If set, copy_to_ram fails with it (after a hold). */
	int fail_to_ram;
};

static struct gpusvm_test_vram *to_vram(struct drm_pagemap *dpagemap)
{
	return container_of(dpagemap, struct gpusvm_test_vram, dpagemap);
}

static struct gpusvm_test_vram *page_to_vram(struct page *page)
{
	return to_vram(container_of(page->pgmap, struct drm_pagemap, pagemap));
}

static void *vram_page_addr(struct page *page)
{
	struct gpusvm_test_vram *vram = page_to_vram(page);

	return vram->mem + drm_pagemap_page_to_offset(&vram->dpagemap, page);
}

static int mock_populate_devmem_pfn(struct drm_pagemap_devmem *devmem,
				    unsigned long npages, unsigned long *pfn)
{
	struct gpusvm_test_devmem *d =
		container_of(devmem, struct gpusvm_test_devmem, base);
	unsigned long i;

	for (i = 0; i < npages; i++)
		pfn[i] = drm_pagemap_base_pfn(&d->vram->dpagemap) + d->first + i;
	return 0;
}

static int mock_copy_to_devmem(struct page **pages, dma_addr_t *dma_addr,
			       unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages; i++) {
		struct device *dev = page_to_vram(pages[i])->dpagemap.dev;

		memcpy(vram_page_addr(pages[i]),
		       phys_to_virt(dma_to_phys(dev, dma_addr[i])), PAGE_SIZE);
	}
	return 0;
}

static int mock_copy_to_ram(struct page **pages, dma_addr_t *dma_addr,
			    unsigned long npages)
{
	struct gpusvm_test_vram *vram = page_to_vram(pages[0]);
	struct completion *release = xchg(&vram->copy_release, NULL);
	unsigned long i;

	/* Held by a test: the pages stay collected until it lets go. */
	if (release) {
		complete(vram->copy_entered);
		wait_for_completion(release);
	}
	if (READ_ONCE(vram->fail_to_ram))
		return READ_ONCE(vram->fail_to_ram);

	for (i = 0; i < npages; i++) {
		struct device *dev = page_to_vram(pages[i])->dpagemap.dev;

		memcpy(phys_to_virt(dma_to_phys(dev, dma_addr[i])),
		       vram_page_addr(pages[i]), PAGE_SIZE);
	}
	return 0;
}

static void mock_devmem_release(struct drm_pagemap_devmem *devmem)
{
	container_of(devmem, struct gpusvm_test_devmem, base)->released = true;
}

static const struct drm_pagemap_devmem_ops mock_devmem_ops = {
	.devmem_release = mock_devmem_release,
	.populate_devmem_pfn = mock_populate_devmem_pfn,
	.copy_to_devmem = mock_copy_to_devmem,
	.copy_to_ram = mock_copy_to_ram,
};

static struct drm_pagemap_device_addr
mock_device_map(struct drm_pagemap *dpagemap, struct device *dev,
		struct page *page, unsigned int order,
		enum dma_data_direction dir)
{
	return drm_pagemap_device_addr_encode(drm_pagemap_page_to_offset(dpagemap, page),
					      DRM_INTERCONNECT_DRIVER, order, dir);
}

static void mock_device_unmap(struct drm_pagemap *dpagemap, struct device *dev,
			      struct drm_pagemap_device_addr addr)
{
}

static const struct drm_pagemap_ops mock_pagemap_ops = {
	.device_map = mock_device_map,
	.device_unmap = mock_device_unmap,
};

KUNIT_DEFINE_ACTION_WRAPPER(gpusvm_test_kvfree, kvfree, const void *);
KUNIT_DEFINE_ACTION_WRAPPER(gpusvm_test_pagemap_fini, drm_pagemap_fini,
			    struct drm_pagemap *);

/* Register the mock VRAM; call before gpusvm_test_init(). */
static struct gpusvm_test_vram *gpusvm_test_vram_init(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct gpusvm_test_vram *vram;
	int err;

	vram = kunit_kzalloc(test, sizeof(*vram), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vram);
	vram->mem = kvzalloc(TEST_VRAM_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vram->mem);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, gpusvm_test_kvfree,
							vram->mem), 0);

	err = drm_pagemap_init(&vram->dpagemap, priv->dev, TEST_VRAM_SIZE, priv,
			       &mock_pagemap_ops);
	if (err)
		kunit_skip(test, "no device-private memory: %d", err);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							gpusvm_test_pagemap_fini,
							&vram->dpagemap), 0);
	return vram;
}

/* Migrate [@start, @end) of the test's mm into a new allocation. */
static struct gpusvm_test_devmem *
gpusvm_test_migrate(struct kunit *test, struct gpusvm_test_vram *vram,
		    unsigned long start, unsigned long end)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long npages = (end - start) >> PAGE_SHIFT;
	struct mm_struct *mm = current->mm;
	struct gpusvm_test_devmem *d;
	int err;

	KUNIT_ASSERT_LT(test, vram->num_devmem, TEST_MAX_DEVMEM);
	KUNIT_ASSERT_LE(test, vram->next + npages, TEST_VRAM_SIZE >> PAGE_SHIFT);
	d = &vram->devmem[vram->num_devmem++];
	d->vram = vram;
	d->first = vram->next;
	vram->next += npages;
	drm_pagemap_devmem_init(&d->base, priv->dev, mm, &mock_devmem_ops,
				&vram->dpagemap, end - start);

	mmap_read_lock(mm);
	err = drm_pagemap_migrate_to_devmem(&d->base, mm, start, end, 0, priv);
	mmap_read_unlock(mm);
	KUNIT_ASSERT_EQ_MSG(test, err, 0, "migrating [0x%lx-0x%lx)", start, end);
	return d;
}

/* Check the device entries of a range against the mock VRAM content. */
static void gpusvm_test_check_devmem(struct kunit *test,
				     struct drm_gpusvm_range *range,
				     struct gpusvm_test_vram *vram,
				     unsigned long npages, u32 seed)
{
	unsigned long start = drm_gpusvm_range_start(range);
	unsigned long i;

	for (i = 0; i < npages; i++) {
		struct drm_pagemap_device_addr *entry = &range->dma_addr[i];
		unsigned long uaddr = start + (i << PAGE_SHIFT);
		u32 *vaddr;

		KUNIT_ASSERT_EQ_MSG(test, (u64)entry->proto,
				    (u64)DRM_INTERCONNECT_DRIVER, "entry %lu", i);
		KUNIT_ASSERT_EQ(test, (int)entry->order, 0);
		KUNIT_ASSERT_LT(test, entry->addr, (dma_addr_t)TEST_VRAM_SIZE);
		vaddr = vram->mem + entry->addr;
		KUNIT_EXPECT_EQ_MSG(test, *vaddr, seed ^ (u32)(uaddr >> PAGE_SHIFT),
				    "device page of 0x%lx", uaddr);
	}
}

static void drm_test_gpusvm_get_pages_devmem(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct gpusvm_test_vram *vram = gpusvm_test_vram_init(test);
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx ctx = { .devmem_only = true };
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 0xd0);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	gpusvm_test_migrate(test, vram, addr, addr + SZ_64K);

	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	KUNIT_EXPECT_TRUE(test, range->flags.has_devmem_pages);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_pages_valid(priv, range));
	KUNIT_EXPECT_PTR_EQ(test, range->dpagemap, &vram->dpagemap);
	gpusvm_test_check_devmem(test, range, vram, SZ_64K >> PAGE_SHIFT, 0xd0);

	/* Valid device pages satisfy devmem_only again. */
	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_pages_valid(priv, range));

	gpusvm_test_remove(priv, range);
	gpusvm_test_munmap(test, addr, SZ_64K);
}

/* System and device pages in one range need allow_mixed. */
static const struct drm_pagemap_ops mock_pagemap_ops_no_map = {
	.device_unmap = mock_device_unmap,
};

/*
 * Device pages of a drm_pagemap that has no device_map hook (or no ops at
 * all) cannot be reached by the device: -EOPNOTSUPP, nothing mapped.
 */
static void drm_test_gpusvm_get_pages_devmem_no_device_map(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct gpusvm_test_vram *vram = gpusvm_test_vram_init(test);
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 0xd4);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	gpusvm_test_migrate(test, vram, addr, addr + SZ_64K);

	vram->dpagemap.ops = &mock_pagemap_ops_no_map;
	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), -EOPNOTSUPP);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range));
	vram->dpagemap.ops = NULL;
	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), -EOPNOTSUPP);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range));
	vram->dpagemap.ops = &mock_pagemap_ops;

	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	gpusvm_test_check_devmem(test, range, vram, SZ_64K >> PAGE_SHIFT, 0xd4);
	gpusvm_test_remove(priv, range);
	gpusvm_test_munmap(test, addr, SZ_64K);
}

static void drm_test_gpusvm_get_pages_mixed(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct gpusvm_test_vram *vram = gpusvm_test_vram_init(test);
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx strict = {}, mixed = { .allow_mixed = true };
	struct drm_gpusvm_ctx devmem_only = { .allow_mixed = true,
					      .devmem_only = true };
	struct drm_gpusvm_range *range;
	unsigned long i;

	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 0xe0);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	gpusvm_test_migrate(test, vram, addr, addr + SZ_32K);

	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, range, &strict),
			-EOPNOTSUPP);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range));
	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, range, &devmem_only),
			-EFAULT);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range));

	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &mixed), 0);
	KUNIT_EXPECT_TRUE(test, range->flags.has_devmem_pages);
	KUNIT_EXPECT_PTR_EQ(test, range->dpagemap, &vram->dpagemap);
	gpusvm_test_check_devmem(test, range, vram, SZ_32K >> PAGE_SHIFT, 0xe0);
	for (i = SZ_32K >> PAGE_SHIFT; i < SZ_64K >> PAGE_SHIFT; i++)
		KUNIT_EXPECT_EQ_MSG(test, (u64)range->dma_addr[i].proto,
				    (u64)DRM_INTERCONNECT_SYSTEM, "entry %lu", i);

	gpusvm_test_remove(priv, range);
	gpusvm_test_munmap(test, addr, SZ_64K);
}

/* Device pages of two allocations in one range need allow_mixed too. */
static void drm_test_gpusvm_get_pages_two_allocations(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct gpusvm_test_vram *vram = gpusvm_test_vram_init(test);
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx strict = {}, mixed = { .allow_mixed = true };
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 0xf0);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	gpusvm_test_migrate(test, vram, addr, addr + SZ_32K);
	gpusvm_test_migrate(test, vram, addr + SZ_32K, addr + SZ_64K);

	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, range, &strict),
			-EOPNOTSUPP);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &mixed), 0);
	gpusvm_test_check_devmem(test, range, vram, SZ_64K >> PAGE_SHIFT, 0xf0);

	gpusvm_test_remove(priv, range);
	gpusvm_test_munmap(test, addr, SZ_64K);
}

/* Below the threshold, a chunk over two allocations is not created. */
static void drm_test_gpusvm_insert_threshold_allocations(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct gpusvm_test_vram *vram = gpusvm_test_vram_init(test);
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx ctx = { .check_pages_threshold = SZ_64K };
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 0x10);
	gpusvm_test_migrate(test, vram, addr, addr + SZ_32K);
	gpusvm_test_migrate(test, vram, addr + SZ_32K, addr + SZ_64K);

	range = gpusvm_test_insert(priv, addr + SZ_32K, addr, addr + SZ_64K, &ctx);
	KUNIT_ASSERT_FALSE(test, IS_ERR(range));
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_start(range), addr + SZ_32K);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_size(range), SZ_4K);

	gpusvm_test_remove(priv, range);
	gpusvm_test_munmap(test, addr, SZ_64K);
}

/*
 * A 64 KiB range at @addr filled with the pattern of @seed, all of it
 * migrated to @vram and collected: its device pages are mapped.
 */
static struct drm_gpusvm_range *
gpusvm_test_devmem_range(struct kunit *test, struct gpusvm_test_vram *vram,
			 unsigned long addr, u32 seed)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;

	gpusvm_test_fill(test, addr, addr + SZ_64K, seed);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	gpusvm_test_migrate(test, vram, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	KUNIT_ASSERT_TRUE(test, range->flags.has_devmem_pages);
	return range;
}

/*
 * Evicting a range faults its device pages back to system memory through
 * drm_pagemap's migrate_to_ram: the range is invalidated, and collecting it
 * again yields system pages with the data intact.
 */
static void drm_test_gpusvm_evict_devmem(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct gpusvm_test_vram *vram = gpusvm_test_vram_init(test);
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	int err;

	gpusvm_test_init(test);
	range = gpusvm_test_devmem_range(test, vram, addr, 0xe7);

	priv->num_events = 0;
	err = gpusvm_test_evict(priv, range);
	KUNIT_EXPECT_EQ(test, err, 0);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_saw_event(priv, MMU_NOTIFY_MIGRATE,
						      addr, addr + SZ_4K));
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range));

	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	KUNIT_EXPECT_FALSE(test, range->flags.has_devmem_pages);
	KUNIT_EXPECT_NULL(test, range->dpagemap);
	gpusvm_test_check_dma(test, range, 0xe7, false);

	gpusvm_test_remove(priv, range);
	gpusvm_test_munmap(test, addr, SZ_64K);
}

/*
 * A range mapped half in device memory, half in system memory (allow_mixed)
 * whose mapping is current: eviction moves the device half (the count of
 * device pages comes from the mapping) and leaves the system pages where
 * they are, data intact.
 */
static void drm_test_gpusvm_evict_devmem_mixed(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct gpusvm_test_vram *vram = gpusvm_test_vram_init(test);
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx mixed = { .allow_mixed = true };
	struct drm_gpusvm_range *range;
	dma_addr_t sys0;

	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 0xe1);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	gpusvm_test_migrate(test, vram, addr + SZ_32K, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &mixed), 0);
	KUNIT_ASSERT_TRUE(test, range->flags.has_devmem_pages);
	sys0 = range->dma_addr[0].addr;

	priv->num_events = 0;
	KUNIT_EXPECT_EQ(test, gpusvm_test_evict(priv, range), 0);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_saw_event(priv, MMU_NOTIFY_MIGRATE,
						      addr + SZ_32K,
						      addr + SZ_64K));
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range));
	KUNIT_EXPECT_TRUE(test, vram->devmem[0].released);

	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &mixed), 0);
	KUNIT_EXPECT_FALSE_MSG(test, range->flags.has_devmem_pages,
			       "device pages left after the eviction");
	KUNIT_EXPECT_EQ_MSG(test, range->dma_addr[0].addr, sys0,
			    "a system page moved");
	gpusvm_test_check_dma(test, range, 0xe1, false);

	gpusvm_test_remove(priv, range);
	gpusvm_test_munmap(test, addr, SZ_64K);
}

/*
 * A failing copy_to_ram: the eviction returns its error and the data stays
 * in device memory, whether the range's mapping was current (first try) or
 * not (the failed migration invalidated it: second try); then it succeeds.
 */
static void drm_test_gpusvm_evict_copy_fails(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct gpusvm_test_vram *vram = gpusvm_test_vram_init(test);
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
	range = gpusvm_test_devmem_range(test, vram, addr, 0xe2);

	WRITE_ONCE(vram->fail_to_ram, -EIO);
	KUNIT_EXPECT_EQ(test, gpusvm_test_evict(priv, range), -EIO);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range));
	KUNIT_EXPECT_EQ(test, gpusvm_test_evict(priv, range), -EIO);
	WRITE_ONCE(vram->fail_to_ram, 0);
	KUNIT_EXPECT_FALSE(test, vram->devmem[0].released);

	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	KUNIT_EXPECT_TRUE_MSG(test, range->flags.has_devmem_pages,
			      "the pages left device memory without their data");
	gpusvm_test_check_devmem(test, range, vram, SZ_64K >> PAGE_SHIFT, 0xe2);

	KUNIT_EXPECT_EQ(test, gpusvm_test_evict(priv, range), 0);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	KUNIT_EXPECT_FALSE(test, range->flags.has_devmem_pages);
	gpusvm_test_check_dma(test, range, 0xe2, false);

	gpusvm_test_remove(priv, range);
	gpusvm_test_munmap(test, addr, SZ_64K);
}

/*
 * Run @fn on @w in a kthread with the next copy_to_ram of @vram held; while
 * it is held, drop [@start, @start + @len) with MADV_DONTNEED, then let the
 * copy go on, and wait for the worker. Returns 0, -ETIMEDOUT if the worker
 * never reached a copy, or the error of kthread_run() or of the madvise.
 */
static int gpusvm_test_drop_during_copy(struct kunit *test,
					struct gpusvm_test_vram *vram,
					int (*fn)(void *),
					struct gpusvm_test_worker *w,
					unsigned long start, unsigned long len)
{
	struct completion entered, release;
	struct task_struct *task;
	int err = -ETIMEDOUT;

	init_completion(&w->done);
	init_completion(&entered);
	init_completion(&release);
	vram->copy_entered = &entered;
	WRITE_ONCE(vram->copy_release, &release);
	task = kthread_run(fn, w, "gpusvm-test");
	if (IS_ERR(task)) {
		WRITE_ONCE(vram->copy_release, NULL);
		return PTR_ERR(task);
	}

	/* No assertion until the worker is done: it uses this stack. */
	if (wait_for_completion_timeout(&entered, 10 * HZ))
		err = gpusvm_test_madvise(test, start, len, MADV_DONTNEED);
	xchg(&vram->copy_release, NULL);
	complete(&release);

	KUNIT_ASSERT_NE_MSG(test, wait_for_completion_timeout(&w->done, 10 * HZ),
			    0, "the worker did not finish");
	return err;
}

/*
 * The system pages of @range, page by page, against the pattern of @seed;
 * its first @dropped bytes were dropped (MADV_DONTNEED) and read zero.
 */
static void gpusvm_test_check_dropped(struct kunit *test,
				      struct drm_gpusvm_range *range,
				      unsigned long dropped, u32 seed)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = drm_gpusvm_range_start(range);
	unsigned long i;

	for (i = 0; i < drm_gpusvm_range_npages(range); i++) {
		struct drm_pagemap_device_addr *entry = &range->dma_addr[i];
		unsigned long uaddr = addr + (i << PAGE_SHIFT);
		u32 *kaddr;

		KUNIT_ASSERT_EQ(test, (int)entry->order, 0);
		KUNIT_ASSERT_EQ(test, (u64)entry->proto,
				(u64)DRM_INTERCONNECT_SYSTEM);
		kaddr = phys_to_virt(dma_to_phys(priv->dev, entry->addr));
		KUNIT_EXPECT_EQ_MSG(test, *kaddr,
				    uaddr < addr + dropped ? 0 :
				    seed ^ (u32)(uaddr >> PAGE_SHIFT),
				    "page at 0x%lx", uaddr);
	}
}

static int gpusvm_test_evict_thread(void *arg)
{
	struct gpusvm_test_worker *w = arg;

	w->ret = gpusvm_test_evict(w->priv, w->range);
	complete(&w->done);
	return 0;
}

/*
 * The race of the eviction tests: @size bytes (64 KiB ranges, the first
 * half system, the rest device pages, mapped and current) evicted by @fn
 * in a kthread with the first range as its range; while the copy is held,
 * this thread drops the system half of the first range (MADV_DONTNEED).
 * The eviction must end without error, every device page back in system
 * memory with its data, the dropped half reading zero, and the mappings
 * invalid.
 */
static void gpusvm_test_evict_race(struct kunit *test, int (*fn)(void *),
				   unsigned long size, u32 seed)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct gpusvm_test_worker w = { .priv = priv };
	struct drm_gpusvm_ctx mixed = { .allow_mixed = true };
	struct drm_gpusvm_range *ranges[2];
	unsigned int i, n = size / SZ_64K;
	struct gpusvm_test_vram *vram;
	unsigned long addr;
	int err;

	if (!IS_BUILTIN(CONFIG_DRM_GPUSVM_KUNIT_TEST))
		kunit_skip(test, "madvise needs the tests built in");
	KUNIT_ASSERT_LE(test, n, ARRAY_SIZE(ranges));

	vram = gpusvm_test_vram_init(test);
	addr = gpusvm_test_mmap_aligned(test, size, SZ_64K);
	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + size, seed);
	for (i = 0; i < n; i++)
		ranges[i] = gpusvm_test_insert_ok(test, addr + i * SZ_64K, addr,
						  addr + size);
	gpusvm_test_migrate(test, vram, addr + SZ_32K, addr + size);
	for (i = 0; i < n; i++)
		KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, ranges[i],
							    &mixed), 0);

	w.range = ranges[0];
	err = gpusvm_test_drop_during_copy(test, vram, fn, &w, addr, SZ_32K);
	KUNIT_ASSERT_NE_MSG(test, err, -ETIMEDOUT, "the eviction never copied");
	KUNIT_ASSERT_EQ(test, err, 0);
	KUNIT_EXPECT_EQ(test, w.ret, 0);
	KUNIT_EXPECT_TRUE(test, vram->devmem[0].released);

	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, ranges[i]));
		KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, ranges[i],
							    &mixed), 0);
		KUNIT_EXPECT_FALSE(test, ranges[i]->flags.has_devmem_pages);
		gpusvm_test_check_dropped(test, ranges[i], i ? 0 : SZ_32K, seed);
	}

	while (n--)
		gpusvm_test_remove(priv, ranges[n]);
	gpusvm_test_munmap(test, addr, size);
}

/*
 * An invalidation lands while an eviction that took the mapping's word for
 * where the pages are is copying (see gpusvm_test_evict_race()).
 */
static void drm_test_gpusvm_evict_invalidation_race(struct kunit *test)
{
	gpusvm_test_evict_race(test, gpusvm_test_evict_thread, SZ_64K, 0xe3);
}

/*
 * After a partial munmap() of a range in device memory, eviction moves what
 * is still mapped back to system memory and skips the hole.
 */
static void drm_test_gpusvm_evict_devmem_partial_unmap(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct gpusvm_test_vram *vram = gpusvm_test_vram_init(test);
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	unsigned long uaddr, end;
	u32 val;
	int err;

	gpusvm_test_init(test);
	range = gpusvm_test_devmem_range(test, vram, addr, 0x5a);

	gpusvm_test_munmap(test, addr + SZ_16K, SZ_16K);
	KUNIT_EXPECT_TRUE(test, range->flags.partial_unmap);

	err = gpusvm_test_evict(priv, range);
	KUNIT_EXPECT_EQ(test, err, 0);

	/*
	 * The surviving pages are in system memory with their data; each VMA
	 * left is mirrored by one range, the 64K block cut to it.
	 */
	gpusvm_test_remove(priv, range);
	for (uaddr = addr; uaddr < addr + SZ_64K; uaddr = end) {
		unsigned long vma_end = uaddr < addr + SZ_16K ? addr + SZ_16K :
								addr + SZ_64K;

		range = gpusvm_test_insert_ok(test, uaddr, addr, addr + SZ_64K);
		KUNIT_ASSERT_EQ(test, drm_gpusvm_range_start(range), uaddr);
		KUNIT_ASSERT_EQ(test, drm_gpusvm_range_end(range), vma_end);
		KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
		KUNIT_EXPECT_FALSE_MSG(test, range->flags.has_devmem_pages,
				       "0x%lx still in device memory", uaddr);
		gpusvm_test_check_dma(test, range, 0x5a, false);
		gpusvm_test_remove(priv, range);

		for (end = uaddr; end < vma_end; end += PAGE_SIZE) {
			KUNIT_ASSERT_EQ(test, get_user(val, (u32 __user *)end), 0);
			KUNIT_EXPECT_EQ(test, val,
					0x5a ^ (u32)(end >> PAGE_SHIFT));
		}
		/* Over the hole. */
		if (end == addr + SZ_16K)
			end = addr + SZ_32K;
	}

	gpusvm_test_munmap(test, addr, SZ_64K);
}

/* drm_gpusvm_evict_span() under the driver lock, as a driver calls it. */
static int gpusvm_test_evict_span(struct gpusvm_test_priv *priv,
				  unsigned long start, unsigned long end)
{
	int err;

	mutex_lock(&priv->lock);
	err = drm_gpusvm_evict_span(&priv->gpusvm, start, end);
	mutex_unlock(&priv->lock);
	return err;
}

/*
 * Two 64 KiB ranges at @addr in device memory, migrated as one allocation
 * with the pattern of @seed and collected.
 */
static void gpusvm_test_devmem_pair(struct kunit *test,
				    struct gpusvm_test_vram *vram,
				    unsigned long addr, u32 seed,
				    struct drm_gpusvm_range **ranges)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct drm_gpusvm_ctx ctx = {};
	int i;

	gpusvm_test_fill(test, addr, addr + SZ_128K, seed);
	for (i = 0; i < 2; i++)
		ranges[i] = gpusvm_test_insert_ok(test, addr + i * SZ_64K, addr,
						  addr + SZ_128K);
	gpusvm_test_migrate(test, vram, addr, addr + SZ_128K);
	for (i = 0; i < 2; i++) {
		KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, ranges[i], &ctx),
				0);
		KUNIT_ASSERT_TRUE(test, ranges[i]->flags.has_devmem_pages);
	}
}

/*
 * The ranges intersecting the interval are evicted whole, and two ranges
 * with current mappings next to each other in one VMA go back in one
 * migration: one MMU_NOTIFY_MIGRATE over both (one per range would be
 * two). The data comes back intact.
 */
static void drm_test_gpusvm_evict_span_one_pass(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct gpusvm_test_vram *vram = gpusvm_test_vram_init(test);
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_128K, SZ_64K);
	struct drm_gpusvm_range *ranges[2];
	struct drm_gpusvm_ctx ctx = {};
	int i;

	gpusvm_test_init(test);
	gpusvm_test_devmem_pair(test, vram, addr, 0xd1, ranges);

	priv->num_events = 0;
	KUNIT_EXPECT_EQ(test, gpusvm_test_evict_span(priv, addr + SZ_4K,
						     addr + SZ_64K + SZ_4K), 0);
	KUNIT_EXPECT_TRUE_MSG(test,
			      gpusvm_test_saw_event(priv, MMU_NOTIFY_MIGRATE,
						    addr, addr + SZ_128K),
			      "not one migration over both ranges");
	KUNIT_EXPECT_TRUE(test, vram->devmem[0].released);
	for (i = 0; i < 2; i++) {
		KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, ranges[i]));
		KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, ranges[i], &ctx),
				0);
		KUNIT_EXPECT_FALSE(test, ranges[i]->flags.has_devmem_pages);
		gpusvm_test_check_dma(test, ranges[i], 0xd1, false);
		gpusvm_test_remove(priv, ranges[i]);
	}
	gpusvm_test_munmap(test, addr, SZ_128K);
}

/*
 * Ranges with a gap between them are evicted one by one, and device pages
 * in the gap, which no range mirrors, stay where they are; so do those of
 * a range outside the interval.
 */
static void drm_test_gpusvm_evict_span_gap(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct gpusvm_test_vram *vram = gpusvm_test_vram_init(test);
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_256K, SZ_64K);
	struct drm_gpusvm_range *ranges[4];
	struct drm_gpusvm_ctx ctx = {};
	int i;

	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_256K, 0xd2);
	for (i = 0; i < 4; i++)
		ranges[i] = gpusvm_test_insert_ok(test, addr + i * SZ_64K, addr,
						  addr + SZ_256K);
	gpusvm_test_migrate(test, vram, addr, addr + SZ_256K);
	for (i = 0; i < 4; i++)
		KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, ranges[i], &ctx),
				0);
	/* The gap: range 1 goes, its pages stay. */
	gpusvm_test_remove(priv, ranges[1]);

	KUNIT_EXPECT_EQ(test, gpusvm_test_evict_span(priv, addr,
						     addr + 3 * SZ_64K), 0);
	for (i = 0; i < 4; i++) {
		bool evicted = i != 1 && i != 3;

		if (i == 1)
			ranges[i] = gpusvm_test_insert_ok(test, addr + SZ_64K,
							  addr, addr + SZ_256K);
		KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, ranges[i], &ctx),
				0);
		KUNIT_EXPECT_EQ_MSG(test, (bool)ranges[i]->flags.has_devmem_pages,
				    !evicted, "range %d", i);
		if (evicted)
			gpusvm_test_check_dma(test, ranges[i], 0xd2, false);
		else
			gpusvm_test_check_devmem(test, ranges[i], vram,
						 SZ_64K >> PAGE_SHIFT, 0xd2);
		gpusvm_test_remove(priv, ranges[i]);
	}
	gpusvm_test_munmap(test, addr, SZ_256K);
}

/*
 * A failing copy_to_ram: the span's eviction returns its error, whether the
 * mappings were current (one migration) or not (the failed migration
 * invalidated them: range by range), and the data of both ranges stays in
 * device memory; once the copies work again the eviction brings it back.
 */
static void drm_test_gpusvm_evict_span_copy_fails(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct gpusvm_test_vram *vram = gpusvm_test_vram_init(test);
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_128K, SZ_64K);
	struct drm_gpusvm_range *ranges[2];
	struct drm_gpusvm_ctx ctx = {};
	int i;

	gpusvm_test_init(test);
	gpusvm_test_devmem_pair(test, vram, addr, 0xd3, ranges);

	WRITE_ONCE(vram->fail_to_ram, -EIO);
	KUNIT_EXPECT_EQ(test, gpusvm_test_evict_span(priv, addr,
						     addr + SZ_128K), -EIO);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, ranges[1]));
	KUNIT_EXPECT_EQ(test, gpusvm_test_evict_span(priv, addr,
						     addr + SZ_128K), -EIO);
	WRITE_ONCE(vram->fail_to_ram, 0);
	KUNIT_EXPECT_FALSE(test, vram->devmem[0].released);
	for (i = 0; i < 2; i++) {
		KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, ranges[i], &ctx),
				0);
		KUNIT_EXPECT_TRUE_MSG(test, ranges[i]->flags.has_devmem_pages,
				      "range %d left device memory without its data",
				      i);
		gpusvm_test_check_devmem(test, ranges[i], vram,
					 SZ_64K >> PAGE_SHIFT, 0xd3);
	}

	KUNIT_EXPECT_EQ(test, gpusvm_test_evict_span(priv, addr,
						     addr + SZ_128K), 0);
	for (i = 0; i < 2; i++) {
		KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, ranges[i], &ctx),
				0);
		KUNIT_EXPECT_FALSE(test, ranges[i]->flags.has_devmem_pages);
		gpusvm_test_check_dma(test, ranges[i], 0xd3, false);
		gpusvm_test_remove(priv, ranges[i]);
	}
	gpusvm_test_munmap(test, addr, SZ_128K);
}

static int gpusvm_test_evict_span_thread(void *arg)
{
	struct gpusvm_test_worker *w = arg;
	unsigned long start = drm_gpusvm_range_start(w->range);

	w->ret = gpusvm_test_evict_span(w->priv, start, start + SZ_128K);
	complete(&w->done);
	return 0;
}

/*
 * An invalidation lands while the one migration of a span of two ranges
 * is copying (see gpusvm_test_evict_race()).
 */
static void drm_test_gpusvm_evict_span_invalidation_race(struct kunit *test)
{
	gpusvm_test_evict_race(test, gpusvm_test_evict_span_thread, SZ_128K,
			       0xd4);
}

/*
 * Bad intervals: empty or reversed ones are refused, one without a range
 * has nothing to do, and one over the whole address space evicts what is
 * there.
 */
static void drm_test_gpusvm_evict_span_bad_interval(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct gpusvm_test_vram *vram = gpusvm_test_vram_init(test);
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_128K, SZ_64K);
	struct drm_gpusvm_range *ranges[2];
	struct drm_gpusvm_ctx ctx = {};
	int i;

	gpusvm_test_init(test);
	gpusvm_test_devmem_pair(test, vram, addr, 0xd5, ranges);

	KUNIT_EXPECT_EQ(test, gpusvm_test_evict_span(priv, addr, addr), -EINVAL);
	KUNIT_EXPECT_EQ(test, gpusvm_test_evict_span(priv, addr + SZ_4K, addr),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, gpusvm_test_evict_span(priv, ULONG_MAX, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, gpusvm_test_evict_span(priv, addr + SZ_128K,
						     addr + SZ_256K), 0);
	KUNIT_EXPECT_FALSE(test, vram->devmem[0].released);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_pages_valid(priv, ranges[0]));

	KUNIT_EXPECT_EQ(test, gpusvm_test_evict_span(priv, 0, ULONG_MAX), 0);
	KUNIT_EXPECT_TRUE(test, vram->devmem[0].released);
	for (i = 0; i < 2; i++) {
		KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, ranges[i], &ctx),
				0);
		KUNIT_EXPECT_FALSE(test, ranges[i]->flags.has_devmem_pages);
		gpusvm_test_check_dma(test, ranges[i], 0xd5, false);
		gpusvm_test_remove(priv, ranges[i]);
	}
	gpusvm_test_munmap(test, addr, SZ_128K);
}

/*
 * Device pages the CPU maps read-only (here: migrated while the VMA was
 * read-only; after fork() it is copy-on-write sharing) serve reads, but a
 * write request must not get them: they go back to system memory first.
 */
static void drm_test_gpusvm_get_pages_devmem_read_only_cpu(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct gpusvm_test_vram *vram = gpusvm_test_vram_init(test);
	unsigned long map = gpusvm_test_mmap_rw(test, SZ_128K);
	unsigned long addr = ALIGN(map, SZ_64K);
	struct drm_gpusvm_ctx ro = { .read_only = true };
	struct drm_gpusvm_ctx rw = {};
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 0x3c);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_mprotect(test, map, map + SZ_128K,
						   false), 0);
	gpusvm_test_migrate(test, vram, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_mprotect(test, map, map + SZ_128K,
						   true), 0);

	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ro), 0);
	KUNIT_ASSERT_TRUE_MSG(test, range->flags.has_devmem_pages,
			      "read-only device pages serve a read");

	/* Collected read-only: the driver releases them before a write. */
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &rw), -EACCES);
	mutex_lock(&priv->lock);
	drm_gpusvm_range_unmap_pages(&priv->gpusvm, range, &rw);
	mutex_unlock(&priv->lock);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &rw), 0);
	KUNIT_EXPECT_FALSE_MSG(test, range->flags.has_devmem_pages,
			       "read-only device pages handed out for write");
	KUNIT_EXPECT_FALSE(test, range->flags.mapped_read_only);
	gpusvm_test_check_dma(test, range, 0x3c, false);

	gpusvm_test_remove(priv, range);
	gpusvm_test_munmap(test, map, SZ_128K);
}

/*
 * The sequence number that get_pages checks under the notifier lock is the
 * one the MMU notifier callback publishes (mmu_interval_set_seq()): a real
 * invalidation landing between hmm_range_fault() and the commit must make
 * get_pages collect again. drm_test_gpusvm_get_pages_seq_retry publishes a
 * sequence by hand; here a real MADV_DONTNEED does, deterministically.
 *
 * This GPU SVM does not own the mock VRAM. The range is half system pages,
 * half device pages, so hmm_range_fault() records the system pages, then
 * faults the device pages back to RAM; the copy of that migration is held
 * while this thread drops the system pages (their CPU page-table entries
 * cleared, the pages freed). Then the copy goes on. The pages get_pages
 * commits must be the CPU's: without the published sequence they include
 * the freed ones. The dropped pages read as zero, the others kept their
 * data.
 */
static void drm_test_gpusvm_get_pages_seq_published(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct gpusvm_test_worker w = { .priv = priv };
	unsigned long npages = SZ_64K >> PAGE_SHIFT;
	unsigned long addr, first = 0, *pfns;
	struct gpusvm_test_vram *vram;
	long stale;
	int err;

	if (!IS_BUILTIN(CONFIG_DRM_GPUSVM_KUNIT_TEST))
		kunit_skip(test, "madvise needs the tests built in");

	vram = gpusvm_test_vram_init(test);
	addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	pfns = kunit_kcalloc(test, npages, sizeof(*pfns), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pfns);

	priv->owner = NULL;
	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 0x5e9);
	w.range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(w.range), SZ_64K);
	gpusvm_test_migrate(test, vram, addr + SZ_32K, addr + SZ_64K);

	err = gpusvm_test_drop_during_copy(test, vram,
					   gpusvm_test_get_pages_thread, &w,
					   addr, SZ_32K);
	KUNIT_ASSERT_NE_MSG(test, err, -ETIMEDOUT,
			    "get_pages never faulted the device pages back");
	KUNIT_ASSERT_EQ(test, err, 0);
	KUNIT_ASSERT_EQ_MSG(test, w.ret, 0,
			    "get_pages failed (-EBUSY: held back too long?)");

	stale = gpusvm_test_bind(priv, w.range, pfns, &first);
	KUNIT_ASSERT_NE_MSG(test, stale, (long)-EAGAIN,
			    "the pages get_pages returned are not valid");
	KUNIT_ASSERT_EQ_MSG(test, stale, 0L,
			    "%ld bound pages are not the CPU's, the first at 0x%lx: get_pages committed pages collected before the MADV_DONTNEED",
			    stale, addr + (first << PAGE_SHIFT));

	gpusvm_test_check_dropped(test, w.range, SZ_32K, 0x5e9);
}

/*
 * dma-debug (CONFIG_DMA_API_DEBUG) checks that a device has no DMA mapping
 * left when its driver goes away, but only on the buses that ask for it
 * (PCI does). Ask for the KUnit bus, once per boot: unregistering the mock
 * device of any case then reports each mapping the case left behind
 * ("DMA-API: ... device driver has pending DMA allocations while released
 * from device"), a warning that fails the harness run. dma_debug_add_bus()
 * is not exported. Returns whether the check is on. The drm_pagemap suite
 * calls it too (drm_gpusvm_test_dma.h): one watch per boot.
 */
bool drm_gpusvm_test_watch_dma(struct device *dev)
{
#if IS_BUILTIN(CONFIG_DRM_GPUSVM_KUNIT_TEST) && IS_ENABLED(CONFIG_DMA_API_DEBUG)
	static bool watching;

	if (!watching && dev->bus) {
		dma_debug_add_bus(dev->bus);
		watching = true;
	}
	return watching;
#else
	return false;
#endif
}

/*
 * Every DMA mapping of system pages is undone once the pages are released:
 * by the invalidation of a munmap(), by drm_gpusvm_range_unmap_pages(), by
 * drm_gpusvm_range_remove() and drm_gpusvm_fini(), and when get_pages
 * fails after mapping some pages (system pages, then device pages, without
 * allow_mixed). Then the device is unregistered: dma-debug reports any
 * mapping still live, with a warning, which this case expects not to see.
 */
static void drm_test_gpusvm_dma_unmapped(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	bool warned = test_taint(TAINT_WARN);
	struct drm_gpusvm_range *range[5];
	struct drm_gpusvm_ctx ctx = {};
	struct gpusvm_test_vram *vram;
	unsigned long addr;
	int i;

	if (!drm_gpusvm_test_watch_dma(priv->dev))
		kunit_skip(test, "needs CONFIG_DMA_API_DEBUG and the tests built in");

	vram = gpusvm_test_vram_init(test);
	addr = gpusvm_test_mmap_aligned(test, 5 * SZ_64K, SZ_64K);
	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + 5 * SZ_64K, 0xd3a);
	for (i = 0; i < 5; i++) {
		unsigned long start = addr + i * SZ_64K;

		range[i] = gpusvm_test_insert_ok(test, start, start,
						 start + SZ_64K);
		KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range[i]), SZ_64K);
	}
	gpusvm_test_migrate(test, vram, addr + 4 * SZ_64K + SZ_32K,
			    addr + 5 * SZ_64K);

	for (i = 0; i < 4; i++)
		KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range[i], &ctx),
				0);
	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, range[4], &ctx),
			-EOPNOTSUPP);

	gpusvm_test_munmap(test, addr, SZ_64K);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range[0]));
	gpusvm_test_remove(priv, range[0]);
	mutex_lock(&priv->lock);
	drm_gpusvm_range_unmap_pages(&priv->gpusvm, range[1], &ctx);
	mutex_unlock(&priv->lock);
	gpusvm_test_remove(priv, range[2]);
	gpusvm_test_fini(priv);

	/* Its device pages go back to RAM through the device: first. */
	kunit_release_action(test, gpusvm_test_pagemap_fini, &vram->dpagemap);
	drm_kunit_helper_free_device(test, priv->dev);
	if (!warned)
		KUNIT_EXPECT_FALSE_MSG(test, test_taint(TAINT_WARN),
				       "a DMA mapping outlived its pages (dma-debug report above)");
}

/* --- split on partial unmap -------------------------------------------- */

/*
 * These cases run the mock driver as the "Partial unmap" documentation
 * describes (priv->split): the invalidation takes only the changed part of
 * a range off the GPU, and the case plays the garbage collector, which
 * holds a reference on the range and splits it under the driver lock.
 */

KUNIT_DEFINE_ACTION_WRAPPER(gpusvm_test_range_put_action, drm_gpusvm_range_put,
			    struct drm_gpusvm_range *);

/* The garbage collector's reference; dropped by gpusvm_test_drop(). */
static void gpusvm_test_hold(struct kunit *test, struct drm_gpusvm_range *range)
{
	drm_gpusvm_range_get(range);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							gpusvm_test_range_put_action,
							range), 0);
}

static void gpusvm_test_drop(struct kunit *test, struct drm_gpusvm_range *range)
{
	kunit_release_action(test, gpusvm_test_range_put_action, range);
}

static int gpusvm_test_split(struct gpusvm_test_priv *priv,
			     struct drm_gpusvm_range *range)
{
	int ret;

	mutex_lock(&priv->lock);
	ret = drm_gpusvm_range_split(&priv->gpusvm, range);
	mutex_unlock(&priv->lock);
	gpusvm_test_check_index(priv);

	return ret;
}

/* The mock driver that splits, with counted range allocations. */
static void gpusvm_test_split_driver(struct gpusvm_test_priv *priv)
{
	priv->split = true;
	priv->ops.range_alloc = mock_range_alloc;
	priv->ops.range_free = mock_range_free;
}

static bool gpusvm_test_same_entry(const struct drm_pagemap_device_addr *a,
				   const struct drm_pagemap_device_addr *b)
{
	return a->addr == b->addr && a->proto == b->proto &&
	       a->order == b->order && a->dir == b->dir;
}

/* What the table of a range said about one of its pages. */
struct gpusvm_test_page {
	struct drm_pagemap_device_addr entry;	/* of the block holding it */
	unsigned long index;			/* of the page in that block */
};

/* Record, page by page, the device entries of a range with valid pages. */
static struct gpusvm_test_page *
gpusvm_test_save_pages(struct kunit *test, struct drm_gpusvm_range *range)
{
	unsigned long npages = drm_gpusvm_range_npages(range);
	struct drm_pagemap_device_addr *entry;
	struct gpusvm_test_page *pages;
	unsigned long i, k;

	KUNIT_ASSERT_TRUE(test, range->flags.has_dma_mapping);
	pages = kunit_kcalloc(test, npages, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	drm_gpusvm_for_each_dma_block(range, entry, i) {
		for (k = 0; k < (1UL << entry->order); k++) {
			pages[i + k].entry = *entry;
			pages[i + k].index = k;
		}
	}

	return pages;
}

/* A part of the address space the CPU took away: [start, end). */
struct gpusvm_test_span {
	unsigned long start;
	unsigned long end;
};

static bool gpusvm_test_in_spans(const struct gpusvm_test_span *spans,
				 unsigned int n, unsigned long addr)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (addr >= spans[i].start && addr < spans[i].end)
			return true;
	return false;
}

/*
 * After partial unmaps of @holes: the blocks there are released (DMA_NONE),
 * the others are the ones the range had (@pages), still mapped.
 */
static void gpusvm_test_check_holes(struct kunit *test,
				    struct drm_gpusvm_range *range,
				    const struct gpusvm_test_page *pages,
				    const struct gpusvm_test_span *holes,
				    unsigned int nholes)
{
	unsigned long start = drm_gpusvm_range_start(range);
	struct drm_pagemap_device_addr *entry;
	unsigned long i;

	KUNIT_ASSERT_TRUE_MSG(test, range->flags.has_dma_mapping,
			      "what a partial unmap keeps stays mapped");
	drm_gpusvm_for_each_dma_block(range, entry, i) {
		unsigned long addr = start + (i << PAGE_SHIFT);

		if (gpusvm_test_in_spans(holes, nholes, addr)) {
			KUNIT_EXPECT_EQ_MSG(test, (int)entry->dir, (int)DMA_NONE,
					    "block at 0x%lx is unmapped", addr);
			continue;
		}
		KUNIT_EXPECT_TRUE_MSG(test,
				      gpusvm_test_same_entry(entry, &pages[i].entry),
				      "block at 0x%lx changed", addr);
	}
}

/*
 * The size of the piece a split starts at @addr, the first page of a block
 * of the old range [@lo, @lo + npages) that the split keeps, before @limit
 * (the next hole or the end): the largest chunk size naturally aligned at
 * @addr that fits and ends on a block boundary, or the block of the clip
 * size (the chunk size above PAGE_SIZE, if that is one) around @addr cut
 * at @addr and @limit, if more than a page is left. 0 if none.
 */
static unsigned long gpusvm_test_piece_size(struct gpusvm_test_priv *priv,
					    const struct gpusvm_test_page *pages,
					    unsigned long lo, unsigned long addr,
					    unsigned long limit)
{
	const unsigned long *chunks = priv->gpusvm.chunk_sizes;
	int i, n = priv->gpusvm.num_chunks;

	for (i = 0; i < n; i++) {
		unsigned long size = chunks[i];
		unsigned long next = addr + size;

		if (!IS_ALIGNED(addr, size) || next > limit) {
			/* The clip size, with PAGE_SIZE: cut at the ends. */
			if (i != n - 2 || chunks[n - 1] != PAGE_SIZE)
				continue;
			next = min(ALIGN_DOWN(addr, size) + size, limit);
			if (next - addr <= PAGE_SIZE)
				continue;
		}
		if (next == limit || !pages[(next - lo) >> PAGE_SHIFT].index)
			return next - addr;
	}

	return 0;
}

/*
 * Check one piece: valid at once, with the device entries the old range
 * had for its pages (@pages, from its first page on) and the data behind
 * them, system pages or device pages of @vram.
 */
static void gpusvm_test_check_piece(struct kunit *test,
				    struct drm_gpusvm_range *piece,
				    const struct gpusvm_test_page *pages,
				    u32 seed, struct gpusvm_test_vram *vram)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct drm_gpusvm_range_flags flags = drm_gpusvm_range_read_flags(piece);
	unsigned long start = drm_gpusvm_range_start(piece);
	struct drm_pagemap_device_addr *entry;
	unsigned long i, k, nblocks = 0;
	bool devmem = false;

	KUNIT_EXPECT_TRUE_MSG(test, gpusvm_test_pages_valid(priv, piece),
			      "piece at 0x%lx is not valid", start);
	KUNIT_EXPECT_FALSE(test, flags.unmapped);
	KUNIT_EXPECT_FALSE(test, flags.partial_unmap);
	KUNIT_EXPECT_FALSE(test, flags.mapped_read_only);
	KUNIT_ASSERT_TRUE_MSG(test, flags.has_dma_mapping,
			      "piece at 0x%lx has no pages", start);
	KUNIT_ASSERT_NOT_NULL(test, piece->dma_addr);

	drm_gpusvm_for_each_dma_block(piece, entry, i) {
		unsigned long addr = start + (i << PAGE_SHIFT);

		KUNIT_ASSERT_LT_MSG(test, nblocks,
				    (unsigned long)piece->num_dma_addr,
				    "piece at 0x%lx: table too short", start);
		nblocks++;
		KUNIT_ASSERT_EQ_MSG(test, pages[i].index, 0UL,
				    "piece at 0x%lx: block at 0x%lx cuts an old block",
				    start, addr);
		KUNIT_ASSERT_TRUE_MSG(test,
				      gpusvm_test_same_entry(entry, &pages[i].entry),
				      "block at 0x%lx: entry 0x%llx order %u proto %llu, was 0x%llx order %u proto %llu",
				      addr, (u64)entry->addr,
				      (unsigned int)entry->order,
				      (u64)entry->proto,
				      (u64)pages[i].entry.addr,
				      (unsigned int)pages[i].entry.order,
				      (u64)pages[i].entry.proto);

		for (k = 0; k < (1UL << entry->order); k++) {
			unsigned long uaddr = addr + (k << PAGE_SHIFT);
			u32 *kaddr;

			if (entry->proto == DRM_INTERCONNECT_SYSTEM) {
				kaddr = phys_to_virt(dma_to_phys(priv->dev,
								 entry->addr) +
						     (k << PAGE_SHIFT));
			} else {
				KUNIT_ASSERT_NOT_NULL(test, vram);
				KUNIT_ASSERT_LT(test, entry->addr + (k << PAGE_SHIFT),
						(dma_addr_t)TEST_VRAM_SIZE);
				kaddr = vram->mem + entry->addr + (k << PAGE_SHIFT);
				devmem = true;
			}
			KUNIT_EXPECT_EQ_MSG(test, *kaddr,
					    seed ^ (u32)(uaddr >> PAGE_SHIFT),
					    "data of 0x%lx", uaddr);
		}
	}
	KUNIT_EXPECT_EQ_MSG(test, nblocks, (unsigned long)piece->num_dma_addr,
			    "piece at 0x%lx: table has unused entries", start);

	KUNIT_EXPECT_EQ_MSG(test, (bool)flags.has_devmem_pages, devmem,
			    "piece at 0x%lx", start);
	if (devmem)
		KUNIT_EXPECT_PTR_EQ(test, piece->dpagemap, &vram->dpagemap);
	else
		KUNIT_EXPECT_NULL(test, piece->dpagemap);
}

/*
 * Walk the pieces a split of [@lo, @hi) minus @holes (sorted, block
 * aligned) should give, greedily from the lowest address. With @check,
 * compare each with the range found there and check it with
 * gpusvm_test_check_piece(). Returns the number of pieces.
 */
static unsigned int gpusvm_test_walk_pieces(struct kunit *test,
					    unsigned long lo, unsigned long hi,
					    const struct gpusvm_test_page *pages,
					    const struct gpusvm_test_span *holes,
					    unsigned int nholes, bool check,
					    u32 seed,
					    struct gpusvm_test_vram *vram)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct drm_gpusvm_notifier *notifier = NULL;
	struct drm_gpusvm_range *piece = NULL;
	unsigned long addr = lo, limit, size;
	unsigned int n = 0, h = 0;

	if (check) {
		notifier = drm_gpusvm_notifier_find(&priv->gpusvm, lo, hi);
		KUNIT_ASSERT_NOT_NULL(test, notifier);
		piece = drm_gpusvm_range_find(notifier, lo, hi);
	}

	while (addr < hi) {
		if (h < nholes && addr >= holes[h].start) {
			addr = max(addr, holes[h].end);
			h++;
			continue;
		}
		limit = h < nholes ? holes[h].start : hi;
		size = gpusvm_test_piece_size(priv, pages, lo, addr, limit);
		if (!size) {
			/* A block no chunk fits: released, not kept. */
			addr += PAGE_SIZE << pages[(addr - lo) >> PAGE_SHIFT].entry.order;
			continue;
		}
		if (check) {
			KUNIT_ASSERT_NOT_NULL_MSG(test, piece,
						  "no piece at 0x%lx", addr);
			KUNIT_ASSERT_EQ_MSG(test, drm_gpusvm_range_start(piece),
					    addr, "piece %u", n);
			KUNIT_ASSERT_EQ_MSG(test, drm_gpusvm_range_size(piece),
					    size, "piece %u at 0x%lx", n, addr);
			gpusvm_test_check_piece(test, piece,
						pages + ((addr - lo) >> PAGE_SHIFT),
						seed, vram);
			piece = __drm_gpusvm_range_next(piece);
			if (piece && drm_gpusvm_range_start(piece) >= hi)
				piece = NULL;
		}
		addr += size;
		n++;
	}

	if (check) {
		KUNIT_EXPECT_NULL_MSG(test, piece, "a range at 0x%lx too many",
				      piece ? drm_gpusvm_range_start(piece) : 0);
		for (h = 0; h < nholes; h++)
			KUNIT_EXPECT_NULL_MSG(test,
					      drm_gpusvm_range_find(notifier,
								    holes[h].start,
								    holes[h].end),
					      "a piece covers the hole at 0x%lx",
					      holes[h].start);
	}

	return n;
}

/* munmap() the page at @start, inside @range, and record it in @hole. */
static void gpusvm_test_punch(struct kunit *test, struct drm_gpusvm_range *range,
			      struct gpusvm_test_span *hole, unsigned long start)
{
	hole->start = start;
	hole->end = start + SZ_4K;
	gpusvm_test_munmap(test, start, SZ_4K);
	KUNIT_ASSERT_TRUE(test, range->flags.partial_unmap);
}

/* The number of ranges a split of [@lo, @hi) minus @holes should give. */
static unsigned int gpusvm_test_count_pieces(struct kunit *test,
					     unsigned long lo, unsigned long hi,
					     const struct gpusvm_test_page *pages,
					     const struct gpusvm_test_span *holes,
					     unsigned int nholes)
{
	return gpusvm_test_walk_pieces(test, lo, hi, pages, holes, nholes,
				       false, 0, NULL);
}

/*
 * After a split of [@lo, @hi), whose table was @pages and from which the
 * CPU took @holes: the ranges there are exactly the greedy pieces of what
 * is left, each checked by gpusvm_test_check_piece(), and none covers a
 * hole. Returns the number of pieces.
 */
static unsigned int gpusvm_test_check_pieces(struct kunit *test,
					     unsigned long lo, unsigned long hi,
					     const struct gpusvm_test_page *pages,
					     const struct gpusvm_test_span *holes,
					     unsigned int nholes, u32 seed,
					     struct gpusvm_test_vram *vram)
{
	return gpusvm_test_walk_pieces(test, lo, hi, pages, holes, nholes,
				       true, seed, vram);
}

/*
 * The old range after a split that returned @n: out of the tree, its pages
 * handed over or released, and alive only through the reference the case
 * holds. @n + 1 ranges were allocated in all, none freed yet.
 */
static void gpusvm_test_check_replaced(struct kunit *test,
				       struct drm_gpusvm_range *range, int n)
{
	struct gpusvm_test_priv *priv = test->priv;

	KUNIT_EXPECT_TRUE_MSG(test, gpusvm_test_range_gone(range),
			      "the split range is still in the tree");
	KUNIT_EXPECT_FALSE(test, range->flags.has_dma_mapping);
	KUNIT_EXPECT_FALSE(test, range->flags.has_devmem_pages);
	KUNIT_EXPECT_NULL(test, range->dpagemap);
	KUNIT_EXPECT_EQ(test, kref_read(&range->refcount), 1U);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_allocated), n + 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_freed), 0);
}

/*
 * Tear the GPU SVM down and check that every range allocated was freed,
 * and that nothing warned meanwhile: dma-debug reports a mapping unmapped
 * twice with a warning (the first report of a boot only).
 */
static void gpusvm_test_split_fini(struct kunit *test, bool warned)
{
	struct gpusvm_test_priv *priv = test->priv;

	gpusvm_test_fini(priv);
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&priv->ranges_freed),
			    atomic_read(&priv->ranges_allocated),
			    "ranges leaked");
	if (!warned)
		KUNIT_EXPECT_FALSE_MSG(test, test_taint(TAINT_WARN),
				       "a warning (dma-debug?) during the case");
}

/*
 * A populated 2M range of 4K pages (MADV_NOHUGEPAGE) whose pages are
 * collected: 512 entries of order 0, written with @seed.
 */
static struct drm_gpusvm_range *gpusvm_test_range_2m(struct kunit *test,
						     u32 seed)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long base = ALIGN(gpusvm_test_mmap_rw(test, SZ_4M), SZ_2M);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;

	KUNIT_ASSERT_EQ(test, gpusvm_test_madvise(test, base, SZ_2M,
						  MADV_NOHUGEPAGE), 0);
	gpusvm_test_fill(test, base, base + SZ_2M, seed);
	range = gpusvm_test_insert_ok(test, base + SZ_1M, 0, ULONG_MAX);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_start(range), base);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_2M);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	KUNIT_ASSERT_EQ(test, gpusvm_test_check_dma(test, range, seed, false), 0);
	KUNIT_ASSERT_EQ(test, range->num_dma_addr, SZ_2M >> PAGE_SHIFT);

	return range;
}

/* The bounds drm_gpusvm_range_partial_extent() gives for an event. */
static bool gpusvm_test_extent(struct gpusvm_test_priv *priv,
			       struct drm_gpusvm_range *range,
			       enum mmu_notifier_event event,
			       unsigned long start, unsigned long end,
			       unsigned long *ext_start, unsigned long *ext_end)
{
	struct mmu_notifier_range mmu_range = {
		.start = start,
		.end = end,
		.event = event,
	};
	bool partial;

	down_write(&priv->gpusvm.notifier_lock);
	partial = drm_gpusvm_range_partial_extent(range, &mmu_range, ext_start,
						  ext_end);
	up_write(&priv->gpusvm.notifier_lock);

	return partial;
}

/*
 * What a CPU change takes from a range: only a partial munmap() or
 * mprotect() is partial, clipped to the range and widened to whole pages;
 * anything else (other events, a whole range, no overlap) gives the
 * bounds of the range and false.
 */
static void drm_test_gpusvm_partial_extent(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_128K, SZ_64K);
	struct drm_gpusvm_range *range, *fresh;
	struct drm_gpusvm_ctx ctx = {};
	unsigned long s, e;

	gpusvm_test_split_driver(priv);
	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 0xe1);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);

	KUNIT_EXPECT_TRUE(test, gpusvm_test_extent(priv, range, MMU_NOTIFY_UNMAP,
						   addr + SZ_8K, addr + SZ_16K,
						   &s, &e));
	KUNIT_EXPECT_EQ(test, s, addr + SZ_8K);
	KUNIT_EXPECT_EQ(test, e, addr + SZ_16K);

	/* Unaligned bounds: whole pages. */
	KUNIT_EXPECT_TRUE(test, gpusvm_test_extent(priv, range,
						   MMU_NOTIFY_PROTECTION_VMA,
						   addr + SZ_4K + 0x800,
						   addr + SZ_8K + 0x10, &s, &e));
	KUNIT_EXPECT_EQ(test, s, addr + SZ_4K);
	KUNIT_EXPECT_EQ(test, e, addr + SZ_8K + SZ_4K);

	/* Overlapping an end of the range: clipped to it. */
	KUNIT_EXPECT_TRUE(test, gpusvm_test_extent(priv, range, MMU_NOTIFY_UNMAP,
						   addr - SZ_64K, addr + SZ_4K,
						   &s, &e));
	KUNIT_EXPECT_EQ(test, s, addr);
	KUNIT_EXPECT_EQ(test, e, addr + SZ_4K);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_extent(priv, range, MMU_NOTIFY_UNMAP,
						   addr + SZ_32K + SZ_16K,
						   addr + SZ_1M, &s, &e));
	KUNIT_EXPECT_EQ(test, s, addr + SZ_32K + SZ_16K);
	KUNIT_EXPECT_EQ(test, e, addr + SZ_64K);

	/* Not partial: the whole range, with its bounds. */
	s = 0;
	e = 0;
	KUNIT_EXPECT_FALSE(test, gpusvm_test_extent(priv, range, MMU_NOTIFY_UNMAP,
						    addr, addr + SZ_64K, &s, &e));
	KUNIT_EXPECT_EQ(test, s, addr);
	KUNIT_EXPECT_EQ(test, e, addr + SZ_64K);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_extent(priv, range, MMU_NOTIFY_UNMAP,
						    addr - SZ_4K,
						    addr + SZ_64K + SZ_4K,
						    &s, &e));
	KUNIT_EXPECT_FALSE(test, gpusvm_test_extent(priv, range,
						    MMU_NOTIFY_PROTECTION_VMA,
						    addr, addr + SZ_64K, &s, &e));

	/* Other kinds of events take the whole range down. */
	s = 0;
	e = 0;
	KUNIT_EXPECT_FALSE(test, gpusvm_test_extent(priv, range, MMU_NOTIFY_CLEAR,
						    addr + SZ_4K, addr + SZ_8K,
						    &s, &e));
	KUNIT_EXPECT_EQ(test, s, addr);
	KUNIT_EXPECT_EQ(test, e, addr + SZ_64K);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_extent(priv, range,
						    MMU_NOTIFY_MIGRATE,
						    addr + SZ_4K, addr + SZ_8K,
						    &s, &e));
	KUNIT_EXPECT_FALSE(test, gpusvm_test_extent(priv, range,
						    MMU_NOTIFY_PROTECTION_PAGE,
						    addr + SZ_4K, addr + SZ_8K,
						    &s, &e));

	/* Outside the range: nothing to take. */
	KUNIT_EXPECT_FALSE(test, gpusvm_test_extent(priv, range, MMU_NOTIFY_UNMAP,
						    addr + SZ_64K,
						    addr + SZ_128K, &s, &e));
	KUNIT_EXPECT_FALSE(test, gpusvm_test_extent(priv, range, MMU_NOTIFY_UNMAP,
						    addr - SZ_4K, addr, &s, &e));

	/* A range without pages: the clipped interval as it is. */
	fresh = gpusvm_test_insert_ok(test, addr + SZ_64K, addr + SZ_64K,
				      addr + SZ_128K);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(fresh), SZ_64K);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_extent(priv, fresh, MMU_NOTIFY_UNMAP,
						   addr + SZ_64K + SZ_4K,
						   addr + SZ_64K + SZ_8K, &s, &e));
	KUNIT_EXPECT_EQ(test, s, addr + SZ_64K + SZ_4K);
	KUNIT_EXPECT_EQ(test, e, addr + SZ_64K + SZ_8K);

	KUNIT_EXPECT_EQ_MSG(test, priv->num_events, 0,
			    "asking changes nothing");
	KUNIT_EXPECT_TRUE(test, gpusvm_test_pages_valid(priv, range));
	KUNIT_EXPECT_FALSE(test, range->flags.unmapped);
}

/*
 * munmap() of 4K in the middle of a 2M range of 4K pages: only that page
 * leaves the GPU. The split replaces the range by the greedy naturally
 * aligned pieces of the rest: 17 x 64K and 2 x 4K before the hole, 13 x 4K
 * and 14 x 64K after it. They take over the device entries as they are
 * (nothing is collected or invalidated), and are live ranges: a later
 * partial munmap() of one splits it again.
 */
static void drm_test_gpusvm_split_munmap(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	bool warned = test_taint(TAINT_WARN);
	struct drm_gpusvm_range *range, *piece;
	struct gpusvm_test_page *pages, *pages2;
	struct gpusvm_test_span hole, hole2;
	struct drm_gpusvm_ctx ctx = {};
	unsigned int expect, events;
	unsigned long base;
	int ret;

	gpusvm_test_split_driver(priv);
	gpusvm_test_init(test);
	range = gpusvm_test_range_2m(test, 0x5b1);
	base = drm_gpusvm_range_start(range);
	pages = gpusvm_test_save_pages(test, range);
	gpusvm_test_hold(test, range);

	hole.start = base + SZ_1M + SZ_64K + SZ_8K;
	hole.end = hole.start + SZ_4K;
	priv->num_events = 0;
	gpusvm_test_munmap(test, hole.start, SZ_4K);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_saw_event(priv, MMU_NOTIFY_UNMAP,
						      hole.start, hole.end));
	KUNIT_ASSERT_EQ(test, priv->num_extents, 1U);
	KUNIT_EXPECT_EQ(test, priv->extents[0].start, hole.start);
	KUNIT_EXPECT_EQ(test, priv->extents[0].end, hole.end);
	KUNIT_EXPECT_TRUE(test, range->flags.unmapped);
	KUNIT_EXPECT_TRUE(test, range->flags.partial_unmap);
	KUNIT_EXPECT_FALSE_MSG(test, gpusvm_test_pages_valid(priv, range),
			       "a partly unmapped range is not bound again");
	KUNIT_EXPECT_EQ_MSG(test, gpusvm_test_get_pages(priv, range, &ctx),
			    -EFAULT, "nor collected again");
	gpusvm_test_check_holes(test, range, pages, &hole, 1);

	expect = gpusvm_test_count_pieces(test, base, base + SZ_2M, pages,
					  &hole, 1);
	/* 17 x 64K, the 64K block cut at both sides of the hole, 14 x 64K. */
	KUNIT_EXPECT_EQ(test, expect, 17U + 1 + 1 + 14);

	events = priv->num_events;
	ret = gpusvm_test_split(priv, range);
	KUNIT_ASSERT_EQ(test, ret, (int)expect);
	KUNIT_EXPECT_EQ_MSG(test, priv->num_events, events,
			    "a split collects nothing");
	gpusvm_test_check_replaced(test, range, ret);
	KUNIT_EXPECT_EQ(test, gpusvm_test_check_pieces(test, base, base + SZ_2M,
						       pages, &hole, 1, 0x5b1,
						       NULL), expect);
	if (test->status == KUNIT_FAILURE)
		gpusvm_test_dump(test);

	KUNIT_EXPECT_EQ_MSG(test, gpusvm_test_split(priv, range), -EINVAL,
			    "split twice");

	/* The caller's reference is the last one of the old range. */
	gpusvm_test_drop(test, range);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_freed), 1);

	/* A piece serves a GPU fault as it is: the cut block after the hole. */
	piece = gpusvm_test_insert_ok(test, hole.end, 0, ULONG_MAX);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_start(piece), hole.end);
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_end(piece),
			base + SZ_1M + SZ_128K);
	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, piece, &ctx), 0);
	KUNIT_EXPECT_EQ(test, priv->num_events, events);

	/* A piece is a range like any other: it is split in turn. */
	piece = gpusvm_test_insert_ok(test, base + SZ_512K, 0, ULONG_MAX);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(piece), SZ_64K);
	pages2 = gpusvm_test_save_pages(test, piece);
	gpusvm_test_hold(test, piece);
	gpusvm_test_punch(test, piece, &hole2, base + SZ_512K + SZ_32K);
	/* The block cut at both sides of the hole: 32K and 28K. */
	ret = gpusvm_test_split(priv, piece);
	KUNIT_EXPECT_EQ(test, ret, 2);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_range_gone(piece));
	KUNIT_EXPECT_EQ(test, gpusvm_test_check_pieces(test, base + SZ_512K,
						       base + SZ_512K + SZ_64K,
						       pages2, &hole2, 1, 0x5b1,
						       NULL), 2U);
	gpusvm_test_drop(test, piece);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_freed), 2);

	gpusvm_test_split_fini(test, warned);
}

/*
 * A range partly in device memory (and partly not, allow_mixed), split
 * after a partial munmap() of a device page: the pieces keep their device
 * pages, where they are, with has_devmem_pages and the drm_pagemap where
 * they have some. Chunks 64K, 16K, 4K; device memory is [0, 40K) of the
 * 64K range, the hole [20K, 24K): 16K + 4K (device), the 16K block cut
 * at the hole: 8K (device), 16K (mixed), 16K (system).
 */
static void drm_test_gpusvm_split_devmem(struct kunit *test)
{
	static const unsigned long chunks[] = { SZ_64K, SZ_16K, SZ_4K };
	struct gpusvm_test_priv *priv = test->priv;
	struct gpusvm_test_vram *vram = gpusvm_test_vram_init(test);
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	unsigned long vram_end = addr + SZ_32K + SZ_8K;
	struct drm_gpusvm_ctx mixed = { .allow_mixed = true };
	struct drm_gpusvm_ctx devmem_only = { .devmem_only = true };
	bool warned = test_taint(TAINT_WARN);
	struct drm_gpusvm_range *range, *piece = NULL;
	struct gpusvm_test_devmem *devmem;
	struct gpusvm_test_page *pages;
	struct gpusvm_test_span hole;
	unsigned int events, n = 0;
	int err, ret;

	gpusvm_test_split_driver(priv);
	err = gpusvm_test_init_full(test, current->mm, 0, TASK_SIZE_MAX, SZ_2M,
				    chunks, ARRAY_SIZE(chunks));
	KUNIT_ASSERT_EQ(test, err, 0);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 0xd5);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_64K);
	devmem = gpusvm_test_migrate(test, vram, addr, vram_end);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &mixed), 0);
	KUNIT_ASSERT_TRUE(test, range->flags.has_devmem_pages);
	pages = gpusvm_test_save_pages(test, range);
	gpusvm_test_hold(test, range);

	hole.start = addr + SZ_16K + SZ_4K;
	hole.end = hole.start + SZ_4K;
	gpusvm_test_munmap(test, hole.start, SZ_4K);
	KUNIT_ASSERT_EQ(test, priv->num_extents, 1U);
	KUNIT_EXPECT_EQ(test, priv->extents[0].start, hole.start);
	KUNIT_EXPECT_EQ(test, priv->extents[0].end, hole.end);
	KUNIT_EXPECT_TRUE(test, range->flags.partial_unmap);
	KUNIT_EXPECT_TRUE_MSG(test, range->flags.has_devmem_pages,
			      "the device pages left stay mapped");
	gpusvm_test_check_holes(test, range, pages, &hole, 1);
	KUNIT_EXPECT_EQ(test, gpusvm_test_count_pieces(test, addr, addr + SZ_64K,
						       pages, &hole, 1), 5U);

	events = priv->num_events;
	ret = gpusvm_test_split(priv, range);
	KUNIT_ASSERT_EQ(test, ret, 5);
	KUNIT_EXPECT_EQ_MSG(test, priv->num_events, events,
			    "nothing migrated or collected");
	gpusvm_test_check_replaced(test, range, ret);
	KUNIT_EXPECT_EQ(test, gpusvm_test_check_pieces(test, addr, addr + SZ_64K,
						       pages, &hole, 1, 0xd5,
						       vram), 5U);
	KUNIT_EXPECT_FALSE(test, devmem->released);

	/* The CPU still maps the device pages of the pieces that had only those. */
	drm_gpusvm_for_each_range(piece, range->notifier, addr, vram_end) {
		if (drm_gpusvm_range_end(piece) > vram_end)
			break;
		KUNIT_EXPECT_EQ_MSG(test,
				    gpusvm_test_get_pages(priv, piece, &devmem_only),
				    0, "piece at 0x%lx left device memory",
				    drm_gpusvm_range_start(piece));
		n++;
	}
	KUNIT_EXPECT_EQ(test, n, 3U);
	KUNIT_EXPECT_EQ(test, priv->num_events, events);

	gpusvm_test_drop(test, range);
	gpusvm_test_split_fini(test, warned);
	gpusvm_test_munmap(test, addr, SZ_64K);
}

/*
 * mprotect() of part of a range (MMU_NOTIFY_PROTECTION_VMA) is split like
 * a munmap(): the rest stays on the GPU, and the part, read-only now, is
 * faulted again as a range of its own. An mprotect() of a whole range
 * releases its pages without flagging it unmapped: nothing to split.
 */
static void drm_test_gpusvm_split_mprotect(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	bool warned = test_taint(TAINT_WARN);
	struct drm_gpusvm_ctx ro = { .read_only = true };
	struct drm_gpusvm_range *range, *whole, *again;
	struct drm_gpusvm_ctx rw = {};
	struct gpusvm_test_page *pages;
	struct gpusvm_test_span part;
	unsigned long base, addr;
	unsigned int expect;
	int ret;

	gpusvm_test_split_driver(priv);
	gpusvm_test_init(test);
	range = gpusvm_test_range_2m(test, 0x3e1);
	base = drm_gpusvm_range_start(range);
	pages = gpusvm_test_save_pages(test, range);
	gpusvm_test_hold(test, range);

	part.start = base + SZ_64K + SZ_8K;
	part.end = base + SZ_256K + SZ_4K;
	priv->num_events = 0;
	KUNIT_ASSERT_EQ(test, __gpusvm_test_mprotect(test, part.start, part.end,
						     false, false), 0);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_saw_event(priv,
						      MMU_NOTIFY_PROTECTION_VMA,
						      part.start, part.end));
	KUNIT_ASSERT_EQ(test, priv->num_extents, 1U);
	KUNIT_EXPECT_EQ(test, priv->extents[0].start, part.start);
	KUNIT_EXPECT_EQ(test, priv->extents[0].end, part.end);
	KUNIT_EXPECT_EQ(test, (int)priv->extents[0].event,
			(int)MMU_NOTIFY_PROTECTION_VMA);
	KUNIT_EXPECT_TRUE(test, range->flags.unmapped);
	KUNIT_EXPECT_TRUE(test, range->flags.partial_unmap);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, range));
	gpusvm_test_check_holes(test, range, pages, &part, 1);

	expect = gpusvm_test_count_pieces(test, base, base + SZ_2M, pages,
					  &part, 1);
	/* 64K + 8K (the block cut) | 60K (the block cut) + 27 x 64K */
	KUNIT_EXPECT_EQ(test, expect, 2U + 1 + 27);
	ret = gpusvm_test_split(priv, range);
	KUNIT_ASSERT_EQ(test, ret, (int)expect);
	gpusvm_test_check_replaced(test, range, ret);
	KUNIT_EXPECT_EQ(test, gpusvm_test_check_pieces(test, base, base + SZ_2M,
						       pages, &part, 1, 0x3e1,
						       NULL), expect);
	gpusvm_test_drop(test, range);

	/* The read-only part: a new range, in its own VMA, for reading. */
	again = gpusvm_test_insert(priv, part.start, 0, ULONG_MAX, &ro);
	KUNIT_ASSERT_FALSE(test, IS_ERR(again));
	KUNIT_EXPECT_EQ(test, drm_gpusvm_range_start(again), part.start);
	KUNIT_EXPECT_LE(test, drm_gpusvm_range_end(again), part.end);
	KUNIT_EXPECT_EQ(test, gpusvm_test_get_pages(priv, again, &rw), -EPERM);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, again, &ro), 0);
	gpusvm_test_check_dma(test, again, 0x3e1, false);

	/* All of a range: released, not unmapped, nothing to split. */
	addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 0x3e2);
	whole = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(whole), SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, whole, &rw), 0);
	priv->num_extents = 0;
	KUNIT_ASSERT_EQ(test, __gpusvm_test_mprotect(test, addr, addr + SZ_64K,
						     false, false), 0);
	KUNIT_EXPECT_EQ(test, priv->num_extents, 0U);
	KUNIT_EXPECT_FALSE(test, whole->flags.unmapped);
	KUNIT_EXPECT_FALSE(test, whole->flags.partial_unmap);
	KUNIT_EXPECT_FALSE(test, whole->flags.has_dma_mapping);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_pages_valid(priv, whole));
	KUNIT_EXPECT_EQ(test, gpusvm_test_split(priv, whole), -EINVAL);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_range_gone(whole));
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, whole, &ro), 0);
	gpusvm_test_check_dma(test, whole, 0x3e2, false);

	gpusvm_test_split_fini(test, warned);
}

/*
 * A 2M range on a huge page is one block: a partial munmap() would take
 * all of it (partial_extent widens to the block), and in fact the core mm
 * splits the huge page mapping first with an invalidation of the whole
 * 2M. Nothing is left to keep: the split removes the range, and its
 * notifier with it.
 */
static void drm_test_gpusvm_split_thp(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	bool warned = test_taint(TAINT_WARN);
	struct drm_gpusvm_range *range;
	struct drm_gpusvm_ctx ctx = {};
	unsigned long base, hole, s, e;

	gpusvm_test_split_driver(priv);
	gpusvm_test_init(test);
	base = gpusvm_test_thp(test, 0x7e);
	range = gpusvm_test_insert_ok(test, base, 0, ULONG_MAX);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_2M);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	KUNIT_ASSERT_EQ(test, range->num_dma_addr, 1);
	KUNIT_ASSERT_EQ(test, (int)range->dma_addr[0].order, get_order(SZ_2M));

	hole = base + SZ_1M;
	KUNIT_EXPECT_TRUE(test, gpusvm_test_extent(priv, range, MMU_NOTIFY_UNMAP,
						   hole, hole + SZ_4K, &s, &e));
	KUNIT_EXPECT_EQ_MSG(test, s, base, "widened to the huge block");
	KUNIT_EXPECT_EQ(test, e, base + SZ_2M);

	gpusvm_test_hold(test, range);
	priv->num_events = 0;
	gpusvm_test_munmap(test, hole, SZ_4K);
	KUNIT_EXPECT_TRUE_MSG(test, gpusvm_test_saw_event(priv, MMU_NOTIFY_CLEAR,
							  base, base + SZ_2M),
			      "the huge page mapping is split first");
	KUNIT_EXPECT_TRUE(test, gpusvm_test_saw_event(priv, MMU_NOTIFY_UNMAP,
						      hole, hole + SZ_4K));
	KUNIT_EXPECT_TRUE(test, range->flags.unmapped);
	KUNIT_EXPECT_TRUE(test, range->flags.partial_unmap);
	KUNIT_EXPECT_FALSE(test, range->flags.has_dma_mapping);
	if (test->status == KUNIT_FAILURE)
		gpusvm_test_dump(test);

	KUNIT_EXPECT_EQ(test, gpusvm_test_split(priv, range), 0);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_range_gone(range));
	KUNIT_EXPECT_FALSE(test, drm_gpusvm_has_mapping(&priv->gpusvm, base,
							base + SZ_2M));
	KUNIT_EXPECT_EQ(test, gpusvm_test_count_notifiers(priv), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_allocated), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_freed), 0);
	gpusvm_test_drop(test, range);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_freed), 1);

	gpusvm_test_split_fini(test, warned);
}

/*
 * A 4M range whose halves are two huge pages, then munmap() of the second
 * half, at a huge page boundary: no huge page is split, and the piece
 * left is one 2M range taking over the huge block in one entry.
 */
static void drm_test_gpusvm_split_huge_block_kept(struct kunit *test)
{
	static const unsigned long chunks[] = { SZ_4M, SZ_2M, SZ_64K, SZ_4K };
	struct gpusvm_test_priv *priv = test->priv;
	bool warned = test_taint(TAINT_WARN);
	struct drm_gpusvm_range *range;
	struct gpusvm_test_page *pages;
	struct drm_gpusvm_ctx ctx = {};
	struct gpusvm_test_span hole;
	unsigned long base;
	int err;

	gpusvm_test_split_driver(priv);
	err = gpusvm_test_init_full(test, current->mm, 0, TASK_SIZE_MAX, SZ_4M,
				    chunks, ARRAY_SIZE(chunks));
	KUNIT_ASSERT_EQ(test, err, 0);
	base = ALIGN(gpusvm_test_mmap_rw(test, SZ_8M), SZ_4M);
	KUNIT_ASSERT_EQ(test, gpusvm_test_madvise(test, base, SZ_4M,
						  MADV_HUGEPAGE), 0);
	gpusvm_test_fill(test, base, base + SZ_4M, 0x4b);
	if (!gpusvm_test_huge_at(test, base) ||
	    !gpusvm_test_huge_at(test, base + SZ_2M))
		kunit_skip(test, "no two huge pages at 0x%lx (no free 2M blocks)",
			   base);

	range = gpusvm_test_insert_ok(test, base, 0, ULONG_MAX);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_4M);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	KUNIT_ASSERT_EQ(test, range->num_dma_addr, 2);
	pages = gpusvm_test_save_pages(test, range);
	gpusvm_test_hold(test, range);

	hole.start = base + SZ_2M;
	hole.end = base + SZ_4M;
	priv->num_events = 0;
	gpusvm_test_munmap(test, hole.start, SZ_2M);
	KUNIT_EXPECT_FALSE_MSG(test, gpusvm_test_saw_event(priv, MMU_NOTIFY_CLEAR,
							   base, base + SZ_4K),
			       "the first huge page was split");
	KUNIT_ASSERT_EQ(test, priv->num_extents, 1U);
	KUNIT_EXPECT_EQ(test, priv->extents[0].start, hole.start);
	KUNIT_EXPECT_EQ(test, priv->extents[0].end, hole.end);
	gpusvm_test_check_holes(test, range, pages, &hole, 1);

	KUNIT_ASSERT_EQ(test, gpusvm_test_split(priv, range), 1);
	gpusvm_test_check_replaced(test, range, 1);
	KUNIT_EXPECT_EQ(test, gpusvm_test_check_pieces(test, base, base + SZ_4M,
						       pages, &hole, 1, 0x4b,
						       NULL), 1U);
	gpusvm_test_drop(test, range);

	gpusvm_test_split_fini(test, warned);
}

/*
 * Split refuses what it cannot split, and leaves it as it was: a range
 * not unmapped at all, one unmapped whole, one removed; a range whose
 * pages were all released (the simple way of handling a partial munmap())
 * has nothing to hand over and is only removed.
 */
static void drm_test_gpusvm_split_bad_args(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_256K, SZ_64K);
	struct drm_gpusvm_range *valid, *gone, *removed, *simple;
	bool warned = test_taint(TAINT_WARN);
	struct drm_gpusvm_notifier *notifier;
	struct drm_gpusvm_ctx ctx = {};
	struct gpusvm_test_page *pages;
	u16 flags;

	gpusvm_test_split_driver(priv);
	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_256K, 0xba);
	valid = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	gone = gpusvm_test_insert_ok(test, addr + SZ_64K, addr + SZ_64K,
				     addr + SZ_128K);
	removed = gpusvm_test_insert_ok(test, addr + SZ_128K, addr + SZ_128K,
					addr + SZ_128K + SZ_64K);
	simple = gpusvm_test_insert_ok(test, addr + SZ_128K + SZ_64K,
				       addr + SZ_128K + SZ_64K,
				       addr + SZ_256K);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(simple), SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, valid, &ctx), 0);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, gone, &ctx), 0);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, simple, &ctx), 0);
	notifier = valid->notifier;

	/* Valid pages, not unmapped: refused, untouched. */
	pages = gpusvm_test_save_pages(test, valid);
	flags = valid->flags.__flags;
	KUNIT_EXPECT_EQ(test, gpusvm_test_split(priv, valid), -EINVAL);
	KUNIT_EXPECT_PTR_EQ(test, drm_gpusvm_range_find(notifier, addr,
							addr + SZ_64K), valid);
	KUNIT_EXPECT_EQ(test, valid->flags.__flags, flags);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_pages_valid(priv, valid));
	gpusvm_test_check_holes(test, valid, pages, NULL, 0);
	gpusvm_test_check_dma(test, valid, 0xba, false);

	/* Unmapped as a whole: refused, for the garbage collector to remove. */
	gpusvm_test_munmap(test, addr + SZ_64K, SZ_64K);
	KUNIT_EXPECT_TRUE(test, gone->flags.unmapped);
	KUNIT_EXPECT_FALSE(test, gone->flags.partial_unmap);
	flags = gone->flags.__flags;
	KUNIT_EXPECT_EQ(test, gpusvm_test_split(priv, gone), -EINVAL);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_range_gone(gone));
	KUNIT_EXPECT_EQ(test, gone->flags.__flags, flags);
	gpusvm_test_remove(priv, gone);

	/* Removed already, even if partly unmapped. */
	gpusvm_test_hold(test, removed);
	gpusvm_test_munmap(test, addr + SZ_128K + SZ_4K, SZ_4K);
	KUNIT_EXPECT_TRUE(test, removed->flags.partial_unmap);
	gpusvm_test_remove(priv, removed);
	KUNIT_EXPECT_EQ(test, gpusvm_test_split(priv, removed), -EINVAL);
	gpusvm_test_drop(test, removed);

	/* Partly unmapped the simple way: all pages released, only removed. */
	priv->split = false;
	gpusvm_test_hold(test, simple);
	gpusvm_test_munmap(test, addr + SZ_128K + SZ_64K + SZ_8K, SZ_4K);
	priv->split = true;
	KUNIT_EXPECT_TRUE(test, simple->flags.partial_unmap);
	KUNIT_EXPECT_FALSE(test, simple->flags.has_dma_mapping);
	KUNIT_EXPECT_EQ(test, gpusvm_test_split(priv, simple), 0);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_range_gone(simple));
	KUNIT_EXPECT_EQ(test, gpusvm_test_split(priv, simple), -EINVAL);
	gpusvm_test_drop(test, simple);

	KUNIT_EXPECT_PTR_EQ(test, drm_gpusvm_range_find(notifier, addr,
							addr + SZ_256K), valid);
	KUNIT_EXPECT_NULL(test, drm_gpusvm_range_find(notifier, addr + SZ_64K,
						      addr + SZ_256K));
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_freed), 3);
	gpusvm_test_split_fini(test, warned);
}

/*
 * range_alloc failing in the middle of a split: -ENOMEM, the pieces made
 * so far are freed, and the range is as it was: in its tree, same flags,
 * same table, what it kept still mapped. It can be removed as usual.
 */
static void drm_test_gpusvm_split_alloc_fail(struct kunit *test)
{
	static const unsigned int budgets[] = { 0, 1 };
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	bool warned = test_taint(TAINT_WARN);
	struct drm_pagemap_device_addr *table;
	struct drm_gpusvm_range *range;
	struct drm_gpusvm_ctx ctx = {};
	struct gpusvm_test_page *pages;
	struct gpusvm_test_span hole;
	unsigned int i;
	u16 flags;

	gpusvm_test_split_driver(priv);
	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 0xa1);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	pages = gpusvm_test_save_pages(test, range);
	gpusvm_test_hold(test, range);

	hole.start = addr + SZ_32K;
	hole.end = hole.start + SZ_4K;
	gpusvm_test_munmap(test, hole.start, SZ_4K);
	KUNIT_ASSERT_TRUE(test, range->flags.partial_unmap);
	KUNIT_ASSERT_EQ(test, gpusvm_test_count_pieces(test, addr, addr + SZ_64K,
						       pages, &hole, 1), 2U);
	flags = range->flags.__flags;
	table = kunit_kmalloc_array(test, range->num_dma_addr, sizeof(*table),
				    GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, table);
	memcpy(table, range->dma_addr, range->num_dma_addr * sizeof(*table));

	for (i = 0; i < ARRAY_SIZE(budgets); i++) {
		int allocated = atomic_read(&priv->ranges_allocated);
		int freed = atomic_read(&priv->ranges_freed);

		priv->range_alloc_limited = true;
		priv->range_alloc_budget = budgets[i];
		KUNIT_EXPECT_EQ_MSG(test, gpusvm_test_split(priv, range), -ENOMEM,
				    "budget %u", budgets[i]);
		priv->range_alloc_limited = false;

		KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_allocated),
				allocated + (int)budgets[i]);
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&priv->ranges_freed),
				    freed + (int)budgets[i],
				    "pieces of a failed split leaked");
		KUNIT_EXPECT_FALSE(test, gpusvm_test_range_gone(range));
		KUNIT_EXPECT_PTR_EQ(test,
				    drm_gpusvm_range_find(range->notifier, addr,
							  addr + SZ_64K),
				    range);
		KUNIT_EXPECT_PTR_EQ_MSG(test, __drm_gpusvm_range_next(range),
					NULL, "a piece was left in the tree");
		KUNIT_EXPECT_EQ(test, range->flags.__flags, flags);
		KUNIT_EXPECT_EQ(test, memcmp(table, range->dma_addr,
					     range->num_dma_addr * sizeof(*table)),
				0);
		KUNIT_EXPECT_EQ(test, kref_read(&range->refcount), 2U);
	}
	gpusvm_test_check_holes(test, range, pages, &hole, 1);

	gpusvm_test_remove(priv, range);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_range_gone(range));
	KUNIT_EXPECT_FALSE(test, range->flags.has_dma_mapping);
	KUNIT_EXPECT_EQ(test, gpusvm_test_count_notifiers(priv), 0);
	gpusvm_test_drop(test, range);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_freed),
			atomic_read(&priv->ranges_allocated));
	gpusvm_test_split_fini(test, warned);
}

/*
 * Two partial munmap() before the garbage collector runs (the second one
 * of a whole 64K block): the split plans with both, the pieces leave out
 * both holes.
 */
static void drm_test_gpusvm_split_two_holes(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	bool warned = test_taint(TAINT_WARN);
	struct drm_gpusvm_range *range;
	struct gpusvm_test_page *pages;
	struct gpusvm_test_span holes[2];
	unsigned int expect;
	unsigned long base;
	int ret;

	gpusvm_test_split_driver(priv);
	gpusvm_test_init(test);
	range = gpusvm_test_range_2m(test, 0x2b);
	base = drm_gpusvm_range_start(range);
	pages = gpusvm_test_save_pages(test, range);
	gpusvm_test_hold(test, range);

	holes[0].start = base + SZ_128K + SZ_64K + SZ_4K;
	holes[0].end = holes[0].start + SZ_4K;
	holes[1].start = base + SZ_1M + SZ_256K + SZ_64K;
	holes[1].end = holes[1].start + SZ_64K;

	gpusvm_test_munmap(test, holes[0].start, SZ_4K);
	KUNIT_EXPECT_TRUE(test, range->flags.partial_unmap);
	gpusvm_test_check_holes(test, range, pages, holes, 1);
	gpusvm_test_munmap(test, holes[1].start, SZ_64K);
	KUNIT_ASSERT_EQ(test, priv->num_extents, 2U);
	KUNIT_EXPECT_EQ(test, priv->extents[1].start, holes[1].start);
	KUNIT_EXPECT_EQ(test, priv->extents[1].end, holes[1].end);
	KUNIT_EXPECT_TRUE(test, range->flags.unmapped);
	KUNIT_EXPECT_TRUE(test, range->flags.partial_unmap);
	gpusvm_test_check_holes(test, range, pages, holes, 2);

	expect = gpusvm_test_count_pieces(test, base, base + SZ_2M, pages,
					  holes, 2);
	/* 3 x 64K + 4K | 56K (the 64K block cut) + 17 x 64K | 10 x 64K */
	KUNIT_EXPECT_EQ(test, expect, 4U + 18 + 10);
	ret = gpusvm_test_split(priv, range);
	KUNIT_ASSERT_EQ(test, ret, (int)expect);
	gpusvm_test_check_replaced(test, range, ret);
	KUNIT_EXPECT_EQ(test, gpusvm_test_check_pieces(test, base, base + SZ_2M,
						       pages, holes, 2, 0x2b,
						       NULL), expect);
	gpusvm_test_drop(test, range);

	gpusvm_test_split_fini(test, warned);
}

/*
 * A range that is itself a cut block, [4K, 64K) of a 64K block (its VMA
 * starts at 4K), split by a hole at [20K, 24K): the block is cut at both
 * sides of the hole again, two pieces of 16K and 40K that keep their
 * pages and data.
 */
static void drm_test_gpusvm_split_cut_range(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long map = gpusvm_test_mmap_aligned(test, SZ_128K, SZ_64K);
	unsigned long addr = map + SZ_4K, end = map + SZ_64K;
	bool warned = test_taint(TAINT_WARN);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	struct gpusvm_test_page *pages;
	struct gpusvm_test_span hole;
	int ret;

	gpusvm_test_split_driver(priv);
	gpusvm_test_init(test);
	gpusvm_test_munmap(test, map, SZ_4K);
	gpusvm_test_fill(test, addr, end, 0x3d);
	range = gpusvm_test_insert_ok(test, addr, 0, ULONG_MAX);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_start(range), addr);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_end(range), end);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	pages = gpusvm_test_save_pages(test, range);
	gpusvm_test_hold(test, range);

	gpusvm_test_punch(test, range, &hole, map + SZ_16K + SZ_4K);
	gpusvm_test_check_holes(test, range, pages, &hole, 1);
	KUNIT_EXPECT_EQ(test, gpusvm_test_count_pieces(test, addr, end, pages,
						       &hole, 1), 2U);

	ret = gpusvm_test_split(priv, range);
	KUNIT_ASSERT_EQ(test, ret, 2);
	gpusvm_test_check_replaced(test, range, ret);
	KUNIT_EXPECT_EQ(test, gpusvm_test_check_pieces(test, addr, end, pages,
						       &hole, 1, 0x3d, NULL),
			2U);
	gpusvm_test_drop(test, range);

	gpusvm_test_split_fini(test, warned);
}

/*
 * Two partial munmap() that together take all of a range: the second
 * releases what the first left (the range has no pages anymore), and the
 * split only removes the range.
 */
static void drm_test_gpusvm_split_nothing_kept(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	bool warned = test_taint(TAINT_WARN);
	struct drm_gpusvm_range *range;
	struct drm_gpusvm_ctx ctx = {};

	gpusvm_test_split_driver(priv);
	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_64K, 0x0c);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	gpusvm_test_hold(test, range);

	gpusvm_test_munmap(test, addr, SZ_32K);
	KUNIT_EXPECT_TRUE(test, range->flags.partial_unmap);
	KUNIT_EXPECT_TRUE(test, range->flags.has_dma_mapping);
	gpusvm_test_munmap(test, addr + SZ_32K, SZ_32K);
	KUNIT_EXPECT_EQ(test, priv->num_extents, 2U);
	KUNIT_EXPECT_TRUE(test, range->flags.unmapped);
	KUNIT_EXPECT_TRUE(test, range->flags.partial_unmap);
	KUNIT_EXPECT_FALSE_MSG(test, range->flags.has_dma_mapping,
			       "nothing left mapped");

	KUNIT_EXPECT_EQ(test, gpusvm_test_split(priv, range), 0);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_range_gone(range));
	KUNIT_EXPECT_EQ(test, gpusvm_test_count_notifiers(priv), 0);
	gpusvm_test_drop(test, range);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_freed), 1);

	gpusvm_test_split_fini(test, warned);
}

/* Queue a CPU change for gpusvm_test_split() to meet after its plan. */
static void gpusvm_test_add_race(struct gpusvm_test_priv *priv,
				 struct drm_gpusvm_range *range,
				 enum mmu_notifier_event event,
				 unsigned long start, unsigned long end)
{
	struct gpusvm_test_event *race = &priv->races[priv->num_races++];

	race->start = start;
	race->end = end;
	race->event = event;
	priv->race_notifier = range->notifier;
	priv->race_armed = true;
}

/*
 * Invalidations that reach a range while its split runs, after the plan
 * and before the commit (the mmap lock does not keep all of them away:
 * NUMA hinting and userfaultfd write protection change protections under
 * it). An mprotect()-like change of another part: the split notices its
 * plan is stale, plans again and leaves that part out too. An
 * invalidation of all of the range (MADV_DONTNEED, reclaim): nothing is
 * left to keep, the range is removed.
 */
static void drm_test_gpusvm_split_race(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_128K, SZ_64K);
	bool warned = test_taint(TAINT_WARN);
	struct drm_gpusvm_range *range, *other;
	struct drm_gpusvm_notifier *notifier;
	struct gpusvm_test_span holes[2];
	struct gpusvm_test_page *pages;
	struct drm_gpusvm_ctx ctx = {};
	int ret;

	gpusvm_test_split_driver(priv);
	gpusvm_test_init(test);
	gpusvm_test_fill(test, addr, addr + SZ_128K, 0x9c);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	other = gpusvm_test_insert_ok(test, addr + SZ_64K, addr + SZ_64K,
				      addr + SZ_128K);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_64K);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(other), SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, other, &ctx), 0);
	pages = gpusvm_test_save_pages(test, range);
	notifier = range->notifier;
	gpusvm_test_hold(test, range);
	gpusvm_test_hold(test, other);

	holes[0].start = addr + SZ_8K;
	holes[0].end = holes[0].start + SZ_4K;
	holes[1].start = addr + SZ_32K;
	holes[1].end = holes[1].start + SZ_4K;
	gpusvm_test_munmap(test, holes[1].start, SZ_4K);
	KUNIT_ASSERT_TRUE(test, range->flags.partial_unmap);
	gpusvm_test_add_race(priv, range, MMU_NOTIFY_PROTECTION_VMA,
			     holes[0].start, holes[0].end);

	/*
	 * 2 pieces planned first (32K, 28K), 3 after the race: 8K, 20K and
	 * 28K, the 64K block cut at the holes.
	 */
	ret = gpusvm_test_split(priv, range);
	KUNIT_EXPECT_EQ_MSG(test, priv->next_race, 1U,
			    "the split allocated no range");
	KUNIT_ASSERT_EQ(test, ret, 3);
	KUNIT_EXPECT_EQ(test, priv->num_extents, 2U);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_range_gone(range));
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_allocated),
			2 + 2 + 3);
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&priv->ranges_freed), 2,
			    "the ranges of the stale plan are freed");
	KUNIT_EXPECT_EQ(test, gpusvm_test_check_pieces(test, addr, addr + SZ_64K,
						       pages, holes, 2, 0x9c,
						       NULL), 3U);
	gpusvm_test_drop(test, range);

	/* All of the other range invalidated during its split. */
	priv->num_races = 0;
	priv->next_race = 0;
	gpusvm_test_munmap(test, addr + SZ_64K + SZ_4K, SZ_4K);
	KUNIT_ASSERT_TRUE(test, other->flags.partial_unmap);
	gpusvm_test_add_race(priv, other, MMU_NOTIFY_CLEAR, addr + SZ_64K,
			     addr + SZ_128K);
	KUNIT_EXPECT_EQ(test, gpusvm_test_split(priv, other), 0);
	KUNIT_EXPECT_EQ(test, priv->next_race, 1U);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_range_gone(other));
	KUNIT_EXPECT_FALSE(test, other->flags.has_dma_mapping);
	KUNIT_EXPECT_NULL(test, drm_gpusvm_range_find(notifier, addr + SZ_64K,
						      addr + SZ_128K));
	gpusvm_test_drop(test, other);

	gpusvm_test_split_fini(test, warned);
}

/*
 * A split that meets an invalidation on every attempt gives up with
 * -EAGAIN and leaves the range as it was, less what the invalidations
 * took: still in the tree, nothing leaked, splittable later.
 */
static void drm_test_gpusvm_split_eagain(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct gpusvm_test_span holes[TEST_MAX_RACES + 1];
	bool warned = test_taint(TAINT_WARN);
	struct drm_gpusvm_range *range;
	struct gpusvm_test_page *pages;
	unsigned int i, expect;
	int allocated, freed, ret;
	unsigned long base;

	gpusvm_test_split_driver(priv);
	gpusvm_test_init(test);
	range = gpusvm_test_range_2m(test, 0xea);
	base = drm_gpusvm_range_start(range);
	pages = gpusvm_test_save_pages(test, range);
	gpusvm_test_hold(test, range);

	/* 4K of each 64K block of the first 1M: every race changes the plan. */
	for (i = 0; i < TEST_MAX_RACES; i++) {
		unsigned long hole = base + i * SZ_64K + SZ_4K;

		gpusvm_test_add_race(priv, range, MMU_NOTIFY_PROTECTION_VMA,
				     hole, hole + SZ_4K);
	}
	gpusvm_test_munmap(test, base + SZ_1M + SZ_4K, SZ_4K);
	KUNIT_ASSERT_TRUE(test, range->flags.partial_unmap);

	allocated = atomic_read(&priv->ranges_allocated);
	freed = atomic_read(&priv->ranges_freed);
	ret = gpusvm_test_split(priv, range);
	KUNIT_EXPECT_EQ(test, ret, -EAGAIN);
	KUNIT_ASSERT_GT(test, priv->next_race, 1U);
	KUNIT_ASSERT_LT_MSG(test, priv->next_race, (unsigned int)TEST_MAX_RACES,
			    "the split never gives up");
	kunit_info(test, "gave up after %u attempts\n", priv->next_race);

	KUNIT_EXPECT_FALSE(test, gpusvm_test_range_gone(range));
	KUNIT_EXPECT_PTR_EQ(test, drm_gpusvm_range_find(range->notifier, base,
							base + SZ_2M), range);
	KUNIT_EXPECT_PTR_EQ_MSG(test, __drm_gpusvm_range_next(range), NULL,
				"a piece was left in the tree");
	KUNIT_EXPECT_TRUE(test, range->flags.unmapped);
	KUNIT_EXPECT_TRUE(test, range->flags.partial_unmap);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_allocated) - allocated,
			atomic_read(&priv->ranges_freed) - freed);

	/* The holes, in order: the races that ran, then the munmap(). */
	for (i = 0; i < priv->next_race; i++) {
		holes[i].start = priv->races[i].start;
		holes[i].end = priv->races[i].end;
	}
	holes[i].start = base + SZ_1M + SZ_4K;
	holes[i].end = holes[i].start + SZ_4K;
	KUNIT_EXPECT_EQ(test, priv->num_extents, i + 1);
	gpusvm_test_check_holes(test, range, pages, holes, i + 1);

	/* Without more races, the next attempt goes through. */
	priv->num_races = priv->next_race;
	expect = gpusvm_test_count_pieces(test, base, base + SZ_2M, pages,
					  holes, i + 1);
	ret = gpusvm_test_split(priv, range);
	KUNIT_ASSERT_EQ(test, ret, (int)expect);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_range_gone(range));
	KUNIT_EXPECT_EQ(test, gpusvm_test_check_pieces(test, base, base + SZ_2M,
						       pages, holes, i + 1,
						       0xea, NULL), expect);
	gpusvm_test_drop(test, range);

	gpusvm_test_split_fini(test, warned);
}

/*
 * Without a 4K chunk size, what a 4K hole leaves of its 64K block fits no
 * chunk (chunks 2M and 64K, a 4K hole at 1M + 72K: 15 pages). The split
 * refuses with -EOPNOTSUPP and leaves the range to the driver, which takes
 * it down whole.
 */
static void drm_test_gpusvm_split_leftover_blocks(struct kunit *test)
{
	static const unsigned long chunks[] = { SZ_2M, SZ_64K };
	struct gpusvm_test_priv *priv = test->priv;
	bool warned = test_taint(TAINT_WARN);
	struct drm_gpusvm_range *range;
	struct gpusvm_test_span hole;
	unsigned long base;
	int err, ret;

	gpusvm_test_split_driver(priv);
	err = gpusvm_test_init_full(test, current->mm, 0, TASK_SIZE_MAX, SZ_2M,
				    chunks, ARRAY_SIZE(chunks));
	KUNIT_ASSERT_EQ(test, err, 0);
	range = gpusvm_test_range_2m(test, 0x1e);
	base = drm_gpusvm_range_start(range);
	gpusvm_test_hold(test, range);

	hole.start = base + SZ_1M + SZ_64K + SZ_8K;
	hole.end = hole.start + SZ_4K;
	gpusvm_test_munmap(test, hole.start, SZ_4K);

	/*
	 * 15 pages around the hole fit no chunk: releasing them would leave
	 * the driver's mappings of them behind, so nothing is split and the
	 * driver removes the whole range.
	 */
	ret = gpusvm_test_split(priv, range);
	KUNIT_EXPECT_EQ(test, ret, -EOPNOTSUPP);
	KUNIT_EXPECT_FALSE(test, gpusvm_test_range_gone(range));
	KUNIT_EXPECT_TRUE(test, range->flags.unmapped);
	KUNIT_EXPECT_TRUE(test, range->flags.has_dma_mapping);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_allocated), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_freed), 0);
	gpusvm_test_remove(priv, range);
	KUNIT_EXPECT_TRUE(test, gpusvm_test_range_gone(range));
	gpusvm_test_drop(test, range);
	KUNIT_EXPECT_EQ(test, atomic_read(&priv->ranges_freed), 1);

	gpusvm_test_split_fini(test, warned);
}

/* --- thrashing ---------------------------------------------------------- */

static enum drm_gpusvm_thrash gpusvm_test_thrash_check(struct gpusvm_test_priv *priv,
						       struct drm_gpusvm_range *range,
						       u64 now, u64 *wait)
{
	enum drm_gpusvm_thrash t;

	mutex_lock(&priv->lock);
	t = drm_gpusvm_range_thrash_check(&priv->gpusvm, range, now, wait);
	mutex_unlock(&priv->lock);
	return t;
}

static enum drm_gpusvm_thrash gpusvm_test_thrash_note(struct gpusvm_test_priv *priv,
						      struct drm_gpusvm_range *range,
						      u64 now)
{
	enum drm_gpusvm_thrash t;

	mutex_lock(&priv->lock);
	t = drm_gpusvm_range_thrash_note(&priv->gpusvm, range, now);
	mutex_unlock(&priv->lock);
	return t;
}

/*
 * The default parameters on a clock of our own: migrations 100 us apart
 * throttle from the 3rd on (the 4th waits until 1 ms after the 3rd) and
 * pin the range at the 5th for 150 ms; then it starts over.
 */
static void drm_test_gpusvm_thrash_burst(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_range *range;
	u64 t = 5 * NSEC_PER_SEC, wait;

	gpusvm_test_init(test);
	KUNIT_EXPECT_EQ(test, priv->gpusvm.thrash.lapse_ns, 500 * NSEC_PER_USEC);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);

	KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_check(priv, range, t, &wait),
			DRM_GPUSVM_THRASH_NONE);
	KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_note(priv, range, t),
			DRM_GPUSVM_THRASH_NONE);
	t += 100 * NSEC_PER_USEC;
	KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_note(priv, range, t),
			DRM_GPUSVM_THRASH_NONE);
	t += 100 * NSEC_PER_USEC;
	KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_note(priv, range, t),
			DRM_GPUSVM_THRASH_THROTTLE);

	/* 100 us later the 4th must wait 900 us more. */
	KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_check(priv, range,
						       t + 100 * NSEC_PER_USEC,
						       &wait),
			DRM_GPUSVM_THRASH_THROTTLE);
	KUNIT_EXPECT_EQ(test, wait, 900 * NSEC_PER_USEC);
	t += NSEC_PER_MSEC;
	KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_check(priv, range, t, &wait),
			DRM_GPUSVM_THRASH_NONE);
	KUNIT_EXPECT_EQ(test, wait, 0);
	KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_note(priv, range, t),
			DRM_GPUSVM_THRASH_THROTTLE);
	t += NSEC_PER_MSEC;
	KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_note(priv, range, t),
			DRM_GPUSVM_THRASH_PIN);

	/* Pinned for 150 ms, then a new burst. */
	KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_check(priv, range,
						       t + 149 * NSEC_PER_MSEC,
						       &wait),
			DRM_GPUSVM_THRASH_PIN);
	t += 150 * NSEC_PER_MSEC;
	KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_check(priv, range, t, &wait),
			DRM_GPUSVM_THRASH_NONE);
	KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_note(priv, range, t),
			DRM_GPUSVM_THRASH_NONE);
	KUNIT_EXPECT_EQ(test, range->thrash_count, 1);

	gpusvm_test_remove(priv, range);
}

/* Five migrations 100 us apart from @t: a burst that pins the range. */
static u64 gpusvm_test_thrash_burst(struct kunit *test,
				    struct gpusvm_test_priv *priv,
				    struct drm_gpusvm_range *range, u64 t)
{
	int i;

	for (i = 0; i < 4; i++, t += 100 * NSEC_PER_USEC)
		KUNIT_EXPECT_NE(test, gpusvm_test_thrash_note(priv, range, t),
				DRM_GPUSVM_THRASH_PIN);
	KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_note(priv, range, t),
			DRM_GPUSVM_THRASH_PIN);
	return t;
}

/*
 * A range that thrashes again as soon as its pin ends is pinned twice as
 * long, up to 8 times pin_ns; one that rests for longer than pin_ns after
 * its pin starts over at pin_ns.
 */
static void drm_test_gpusvm_thrash_repin(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	const u64 pin = 150 * NSEC_PER_MSEC;
	static const int mult[] = { 1, 2, 4, 8, 8 };
	struct drm_gpusvm_range *range;
	u64 t = NSEC_PER_SEC, wait;
	int i;

	gpusvm_test_init(test);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);

	for (i = 0; i < ARRAY_SIZE(mult); i++) {
		t = gpusvm_test_thrash_burst(test, priv, range, t);
		KUNIT_EXPECT_EQ_MSG(test, range->thrash_pinned_until_ns,
				    t + mult[i] * pin, "pin %d", i);
		KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_check(priv, range,
							       t + mult[i] * pin - 1,
							       &wait),
				DRM_GPUSVM_THRASH_PIN);
		/* Right when the pin ends, the CPU and GPU start again. */
		t += mult[i] * pin;
		KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_check(priv, range, t,
							       &wait),
				DRM_GPUSVM_THRASH_NONE);
	}

	/* A rest longer than pin_ns: back to one pin_ns. */
	t += pin + 1;
	t = gpusvm_test_thrash_burst(test, priv, range, t);
	KUNIT_EXPECT_EQ(test, range->thrash_pinned_until_ns, t + pin);
	KUNIT_EXPECT_EQ(test, range->thrash_repins, 0);

	gpusvm_test_remove(priv, range);
}

/* Migrations further apart than lapse + throttle never add up. */
static void drm_test_gpusvm_thrash_sparse(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_range *range;
	u64 t = NSEC_PER_SEC, wait;
	int i;

	gpusvm_test_init(test);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	for (i = 0; i < 20; i++) {
		t += 1500 * NSEC_PER_USEC + 1;
		KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_check(priv, range, t,
							       &wait),
				DRM_GPUSVM_THRASH_NONE);
		KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_note(priv, range, t),
				DRM_GPUSVM_THRASH_NONE);
	}
	KUNIT_EXPECT_EQ(test, range->thrash_count, 1);
	gpusvm_test_remove(priv, range);
}

/*
 * Off (lapse 0) nothing counts, and throttle_after = pin_after = 0 never
 * hold a range back however fast it moves; a clock that goes back (a
 * driver mixing clocks) does not wrap into a pin.
 */
static void drm_test_gpusvm_thrash_params(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_range *range;
	u64 t = NSEC_PER_SEC, wait;
	int i;

	gpusvm_test_init(test);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);

	priv->gpusvm.thrash.lapse_ns = 0;
	for (i = 0; i < 10; i++)
		KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_note(priv, range, t + i),
				DRM_GPUSVM_THRASH_NONE);
	KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_check(priv, range, t + 10,
						       &wait),
			DRM_GPUSVM_THRASH_NONE);
	KUNIT_EXPECT_EQ(test, range->thrash_count, 0);

	priv->gpusvm.thrash.lapse_ns = NSEC_PER_MSEC;
	priv->gpusvm.thrash.throttle_after = 0;
	priv->gpusvm.thrash.pin_after = 0;
	for (i = 0; i < 10; i++)
		KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_note(priv, range, t + i),
				DRM_GPUSVM_THRASH_NONE);
	KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_check(priv, range, t + 10,
						       &wait),
			DRM_GPUSVM_THRASH_NONE);

	priv->gpusvm.thrash.throttle_after = 3;
	priv->gpusvm.thrash.pin_after = 5;
	range->thrash_count = 0;
	KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_note(priv, range, t),
			DRM_GPUSVM_THRASH_NONE);
	KUNIT_EXPECT_EQ(test, gpusvm_test_thrash_check(priv, range, t - 1000,
						       &wait),
			DRM_GPUSVM_THRASH_NONE);
	gpusvm_test_remove(priv, range);
}

/* --- prefetch ------------------------------------------------------------ */

/*
 * A GPU walking @nblocks 64 KiB blocks from @base (from the top block down
 * if @down), as a driver would: a block without a range yet faults (a
 * 64 KiB range, touched), and what the prefetch extent covers gets its
 * ranges, touched too. Returns the faults.
 */
static unsigned int gpusvm_test_prefetch_walk_dir(struct kunit *test,
						  unsigned long base,
						  unsigned int nblocks,
						  unsigned int threshold,
						  bool down)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct drm_gpusvm_range *range, *r;
	struct drm_gpusvm_notifier *notifier;
	unsigned long start, end, a;
	unsigned int i, b, faults = 0;

	for (i = 0; i < nblocks; i++) {
		unsigned long addr;

		b = down ? nblocks - 1 - i : i;
		addr = base + b * SZ_64K;
		mutex_lock(&priv->lock);
		notifier = drm_gpusvm_notifier_find(&priv->gpusvm, addr,
						    addr + SZ_64K);
		r = notifier ? drm_gpusvm_range_find(notifier, addr,
						     addr + SZ_64K) : NULL;
		mutex_unlock(&priv->lock);
		if (r)
			continue;
		faults++;
		range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
		KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_64K);
		mutex_lock(&priv->lock);
		drm_gpusvm_range_touch(&priv->gpusvm, range);
		if (drm_gpusvm_range_prefetch_extent(&priv->gpusvm, range,
						     threshold, &start, &end)) {
			KUNIT_EXPECT_LE(test, start, addr);
			KUNIT_EXPECT_GE(test, end, addr + SZ_64K);
			KUNIT_EXPECT_TRUE(test, IS_ALIGNED(start, end - start));
			KUNIT_EXPECT_LE(test, end - start, SZ_2M);
			for (a = start; a < end; a += SZ_64K) {
				r = drm_gpusvm_range_find_or_insert(&priv->gpusvm,
								    a, a,
								    a + SZ_64K,
								    &(struct drm_gpusvm_ctx){});
				KUNIT_ASSERT_FALSE(test, IS_ERR(r));
				drm_gpusvm_range_touch(&priv->gpusvm, r);
			}
		}
		mutex_unlock(&priv->lock);
	}
	return faults;
}

static unsigned int gpusvm_test_prefetch_walk(struct kunit *test,
					      unsigned long base,
					      unsigned int nblocks,
					      unsigned int threshold)
{
	return gpusvm_test_prefetch_walk_dir(test, base, nblocks, threshold,
					     false);
}

/*
 * The walk of the DOC: with the default 51% a 2 MiB region faults at
 * blocks 0, 1, 2, 4, 8 and 16; with 100% nothing new is ever prefetched
 * (a region is fully used only once every block faulted); out of range
 * thresholds prefetch nothing.
 */
static void drm_test_gpusvm_prefetch_walk(struct kunit *test)
{
	static const unsigned int cases[][2] = {
		{ 51, 6 }, { 100, 32 }, { 0, 32 }, { 101, 32 },
	};
	unsigned long a = gpusvm_test_mmap_aligned(test, ARRAY_SIZE(cases) *
						   SZ_2M, SZ_2M);
	int i;

	/* One 2 MiB notifier window, with its own history, per case. */
	gpusvm_test_init(test);
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		KUNIT_EXPECT_EQ_MSG(test,
				    gpusvm_test_prefetch_walk(test, a + i * SZ_2M,
							      32, cases[i][0]),
				    cases[i][1], "threshold %u", cases[i][0]);
}

/*
 * A walk goes on from one 2 MiB region into the next (here each in its
 * own notifier window): 6 faults in the first region, then one per region,
 * upwards and downwards; with a threshold of 100, 32 per region as before.
 */
static void drm_test_gpusvm_prefetch_stream(struct kunit *test)
{
	unsigned long a = gpusvm_test_mmap_aligned(test, 12 * SZ_2M, SZ_2M);

	gpusvm_test_init(test);
	KUNIT_EXPECT_EQ(test, gpusvm_test_prefetch_walk(test, a, 128, 51),
			6 + 3);
	KUNIT_EXPECT_EQ(test, gpusvm_test_prefetch_walk_dir(test, a + 4 * SZ_2M,
							    128, 51, true),
			6 + 3);
	KUNIT_EXPECT_EQ(test, gpusvm_test_prefetch_walk(test, a + 8 * SZ_2M,
							128, 100),
			4 * 32);
}

/*
 * Only a fault right next to a used neighbour continues a walk: not one a
 * block further in, and not one next to a region of which only the half
 * next to it is used (17 of the 64 blocks of both regions).
 */
static void drm_test_gpusvm_prefetch_stream_edges(struct kunit *test)
{
	unsigned long a = gpusvm_test_mmap_aligned(test, 4 * SZ_2M, SZ_2M);

	gpusvm_test_init(test);
	/* Region 0 all used; region 1 entered at its second block. */
	KUNIT_EXPECT_EQ(test, gpusvm_test_prefetch_walk(test, a, 32, 51), 6);
	KUNIT_EXPECT_EQ(test, gpusvm_test_prefetch_walk(test, a + SZ_2M + SZ_64K,
							1, 51), 1);
	/* Its first block then continues the walk: region 1 is done. */
	KUNIT_EXPECT_EQ(test, gpusvm_test_prefetch_walk(test, a + SZ_2M, 1, 51),
			1);
	KUNIT_EXPECT_EQ(test, gpusvm_test_prefetch_walk(test, a + SZ_2M, 32, 51),
			0);

	/* Region 2: only its upper half used (5 faults) ... */
	KUNIT_EXPECT_EQ(test, gpusvm_test_prefetch_walk(test, a + 2 * SZ_2M +
							16 * SZ_64K, 16, 51),
			5);
	/* ... is no walk into region 3, which faults as a fresh region. */
	KUNIT_EXPECT_EQ(test, gpusvm_test_prefetch_walk(test, a + 3 * SZ_2M, 32,
							51),
			6);
}

/*
 * A GPU SVM of 128 KiB windows mapping 64 KiB and 4 KiB ranges, and the
 * first two 64 KiB ranges of a fresh 2 MiB-aligned mapping: one window.
 * Return: the mapping's address.
 */
static unsigned long gpusvm_test_two_blocks(struct kunit *test,
					    struct drm_gpusvm_range **r0,
					    struct drm_gpusvm_range **r1)
{
	static const unsigned long chunks[] = { SZ_64K, SZ_4K };
	unsigned long a = gpusvm_test_mmap_aligned(test, SZ_2M, SZ_2M);
	int err;

	err = gpusvm_test_init_full(test, current->mm, 0, TASK_SIZE_MAX,
				    SZ_128K, chunks, ARRAY_SIZE(chunks));
	KUNIT_ASSERT_EQ(test, err, 0);
	*r0 = gpusvm_test_insert_ok(test, a, a, a + SZ_64K);
	*r1 = gpusvm_test_insert_ok(test, a + SZ_64K, a + SZ_64K, a + SZ_128K);
	return a;
}

/*
 * A window's access history comes with its first use: ranges that were only
 * inserted (explicit migrations never touch) have none; the first touch
 * allocates one bitmap for the whole window, which the next touches share;
 * a range removed meanwhile is not recorded, and its notifier, gone with
 * it, is not looked at.
 */
static void drm_test_gpusvm_touch_allocates_history(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct drm_gpusvm_range *r0, *r1, *r2;
	unsigned long *history;
	unsigned long a = gpusvm_test_two_blocks(test, &r0, &r1);

	KUNIT_ASSERT_PTR_EQ(test, r0->notifier, r1->notifier);
	KUNIT_EXPECT_NULL(test, r0->notifier->touched);

	mutex_lock(&priv->lock);
	drm_gpusvm_range_touch(&priv->gpusvm, r1);
	history = r1->notifier->touched;
	drm_gpusvm_range_touch(&priv->gpusvm, r0);
	mutex_unlock(&priv->lock);
	KUNIT_ASSERT_NOT_NULL(test, history);
	KUNIT_EXPECT_PTR_EQ(test, r0->notifier->touched, history);
	KUNIT_EXPECT_TRUE(test, test_bit(0, history));
	KUNIT_EXPECT_TRUE(test, test_bit(1, history));

	/* Another window, its only range removed before the touch. */
	r2 = gpusvm_test_insert_ok(test, a + SZ_1M, a + SZ_1M,
				   a + SZ_1M + SZ_64K);
	KUNIT_EXPECT_PTR_NE(test, r2->notifier, r0->notifier);
	drm_gpusvm_range_get(r2);
	gpusvm_test_remove(priv, r2);
	mutex_lock(&priv->lock);
	drm_gpusvm_range_touch(&priv->gpusvm, r2);
	mutex_unlock(&priv->lock);
	drm_gpusvm_range_put(r2);

	gpusvm_test_remove(priv, r0);
	gpusvm_test_remove(priv, r1);
}

/*
 * The extent never leaves the notifier window (here 128 KiB), and a range
 * the CPU unmapped takes its blocks out of the history when it goes.
 */
static void drm_test_gpusvm_prefetch_bounds_and_unmap(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct drm_gpusvm_range *r0, *r1;
	unsigned long start, end;
	unsigned long a = gpusvm_test_two_blocks(test, &r0, &r1);

	mutex_lock(&priv->lock);
	drm_gpusvm_range_touch(&priv->gpusvm, r0);
	drm_gpusvm_range_touch(&priv->gpusvm, r1);
	KUNIT_EXPECT_TRUE(test, drm_gpusvm_range_prefetch_extent(&priv->gpusvm,
								 r1, 1, &start,
								 &end));
	mutex_unlock(&priv->lock);
	KUNIT_EXPECT_EQ(test, start, a);
	KUNIT_EXPECT_EQ(test, end, a + SZ_128K);

	/* munmap() of the first block: its history goes with its range. */
	gpusvm_test_munmap(test, a, SZ_64K);
	KUNIT_EXPECT_TRUE(test, r0->flags.unmapped);
	gpusvm_test_remove(priv, r0);
	mutex_lock(&priv->lock);
	KUNIT_EXPECT_FALSE(test, test_bit(0, r1->notifier->touched));
	KUNIT_EXPECT_TRUE(test, test_bit(1, r1->notifier->touched));
	KUNIT_EXPECT_FALSE(test, drm_gpusvm_range_prefetch_extent(&priv->gpusvm,
								  r1, 100,
								  &start,
								  &end));
	mutex_unlock(&priv->lock);
	gpusvm_test_remove(priv, r1);
}

/* --- misc --------------------------------------------------------------- */

static void drm_test_gpusvm_print(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_aligned(test, SZ_64K, SZ_64K);
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;
	struct drm_print_iterator iter = {};
	struct drm_printer p;
	char *buf, expect[80];

	buf = kunit_kzalloc(test, SZ_4K, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	iter.data = buf;
	iter.remain = SZ_4K - 1;
	p = drm_coredump_printer(&iter);

	gpusvm_test_init(test);
	range = gpusvm_test_insert_ok(test, addr, addr, addr + SZ_64K);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);
	drm_gpusvm_print(&priv->gpusvm, &p);

	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "gpusvm kunit"));
	snprintf(expect, sizeof(expect), "notifier [0x%lx-0x%lx)",
		 ALIGN_DOWN(addr, SZ_2M), ALIGN_DOWN(addr, SZ_2M) + SZ_2M);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(buf, expect), "%s", buf);
	snprintf(expect, sizeof(expect), "range [0x%lx-0x%lx) size 0x10000",
		 addr, addr + SZ_64K);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(buf, expect), "%s", buf);
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "dma_mapped"));
}

/* With a driver lock registered, the locked paths run clean under lockdep. */
static void drm_test_gpusvm_driver_lock(struct kunit *test)
{
	struct gpusvm_test_priv *priv = test->priv;
	unsigned long addr = gpusvm_test_mmap_rw(test, SZ_64K);
	struct drm_gpusvm_range *range;

	gpusvm_test_init(test);
#ifdef CONFIG_LOCKDEP
	KUNIT_EXPECT_PTR_EQ(test, priv->gpusvm.lock_dep_map, &priv->lock.dep_map);
#endif
	range = gpusvm_test_insert_ok(test, addr, 0, ULONG_MAX);
	gpusvm_test_remove(priv, range);
	KUNIT_EXPECT_FALSE(test, drm_gpusvm_has_mapping(&priv->gpusvm, 0,
							ULONG_MAX));
}

static void gpusvm_test_mutex_destroy(void *lock)
{
	mutex_destroy(lock);
}

static int drm_gpusvm_test_init(struct kunit *test)
{
	struct gpusvm_test_priv *priv;
	unsigned long addr;

	priv = kunit_kzalloc(test, sizeof(*priv), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, priv);
	test->priv = priv;

	/* Gives this test thread an address space (current->mm). */
	addr = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, !addr || IS_ERR_VALUE(addr));
	KUNIT_ASSERT_NOT_NULL(test, current->mm);

	priv->dev = drm_kunit_helper_alloc_device(test);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, priv->dev);
	KUNIT_ASSERT_EQ(test, dma_coerce_mask_and_coherent(priv->dev,
							   DMA_BIT_MASK(64)), 0);
	drm_gpusvm_test_watch_dma(priv->dev);

	priv->drm = __drm_kunit_helper_alloc_drm_device(test, priv->dev,
							sizeof(*priv->drm), 0,
							DRIVER_RENDER);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, priv->drm);

	mutex_init(&priv->lock);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							gpusvm_test_mutex_destroy,
							&priv->lock), 0);
	priv->ops.invalidate = mock_invalidate;
	priv->owner = priv;

	return 0;
}

static struct kunit_case drm_gpusvm_tests[] = {
	KUNIT_CASE(drm_test_gpusvm_init_fini),
	KUNIT_CASE_PARAM(drm_test_gpusvm_init_bad_args, gpusvm_init_gen_params),
	KUNIT_CASE(drm_test_gpusvm_init_single_chunk),
	KUNIT_CASE_PARAM(drm_test_gpusvm_chunk_selection, gpusvm_chunk_gen_params),
	KUNIT_CASE(drm_test_gpusvm_insert_existing),
	KUNIT_CASE(drm_test_gpusvm_insert_next_to_existing),
	KUNIT_CASE(drm_test_gpusvm_insert_cut_next_to_existing),
	KUNIT_CASE(drm_test_gpusvm_insert_read_only_vma),
	KUNIT_CASE(drm_test_gpusvm_insert_prot_none),
	KUNIT_CASE(drm_test_gpusvm_insert_io_pfnmap),
	KUNIT_CASE(drm_test_gpusvm_insert_no_vma),
	KUNIT_CASE(drm_test_gpusvm_insert_outside_mm_window),
	KUNIT_CASE(drm_test_gpusvm_insert_outside_gpuva_window),
	KUNIT_CASE(drm_test_gpusvm_insert_migrate_devmem_flag),
	KUNIT_CASE(drm_test_gpusvm_notifier_lazy),
	KUNIT_CASE(drm_test_gpusvm_notifier_shared),
	KUNIT_CASE(drm_test_gpusvm_notifier_per_window),
	KUNIT_CASE(drm_test_gpusvm_notifier_removed_with_last_range),
	KUNIT_CASE(drm_test_gpusvm_notifier_idle),
	KUNIT_CASE(drm_test_gpusvm_notifier_idle_alloc_fails),
	KUNIT_CASE(drm_test_gpusvm_notifier_recreated),
	KUNIT_CASE(drm_test_gpusvm_alloc_hooks),
	KUNIT_CASE(drm_test_gpusvm_alloc_hooks_failed_insert),
	KUNIT_CASE(drm_test_gpusvm_range_find),
	KUNIT_CASE(drm_test_gpusvm_range_find_other_window),
	KUNIT_CASE(drm_test_gpusvm_index_cut_range),
	KUNIT_CASE(drm_test_gpusvm_index_refill),
	KUNIT_CASE(drm_test_gpusvm_index_hole_orders),
	KUNIT_CASE_SLOW(drm_test_gpusvm_index_collector_race),
	KUNIT_CASE(drm_test_gpusvm_range_iterate),
	KUNIT_CASE(drm_test_gpusvm_range_iterate_safe),
	KUNIT_CASE(drm_test_gpusvm_notifier_iterate),
	KUNIT_CASE(drm_test_gpusvm_has_mapping),
	KUNIT_CASE(drm_test_gpusvm_range_get_put),
	KUNIT_CASE(drm_test_gpusvm_get_pages_populated),
	KUNIT_CASE(drm_test_gpusvm_get_pages_unpopulated),
	KUNIT_CASE(drm_test_gpusvm_get_pages_read_only),
	KUNIT_CASE(drm_test_gpusvm_get_pages_already_valid),
	KUNIT_CASE(drm_test_gpusvm_get_pages_devmem_only),
	KUNIT_CASE(drm_test_gpusvm_get_pages_upgrade_to_write),
	KUNIT_CASE(drm_test_gpusvm_get_pages_after_munmap),
	KUNIT_CASE(drm_test_gpusvm_get_pages_unmapped_remapped),
	KUNIT_CASE(drm_test_gpusvm_reuse_remapped),
	KUNIT_CASE(drm_test_gpusvm_reuse_refused),
	KUNIT_CASE(drm_test_gpusvm_reuse_munmap_race),
	KUNIT_CASE(drm_test_gpusvm_get_pages_cow_retry),
	KUNIT_CASE(drm_test_gpusvm_get_pages_seq_retry),
	KUNIT_CASE(drm_test_gpusvm_get_pages_invalidation_race),
	KUNIT_CASE(drm_test_gpusvm_get_pages_thp),
	KUNIT_CASE(drm_test_gpusvm_get_pages_thp_clipped),
	KUNIT_CASE(drm_test_gpusvm_get_pages_mixed_orders),
	KUNIT_CASE(drm_test_gpusvm_get_pages_table_resized),
	KUNIT_CASE(drm_test_gpusvm_get_pages_thp_small_chunks),
	KUNIT_CASE(drm_test_gpusvm_unmap_pages),
	KUNIT_CASE(drm_test_gpusvm_invalidate_munmap),
	KUNIT_CASE(drm_test_gpusvm_invalidate_partial_munmap),
	KUNIT_CASE(drm_test_gpusvm_invalidate_madvise_dontneed),
	KUNIT_CASE(drm_test_gpusvm_invalidate_mprotect),
	KUNIT_CASE(drm_test_gpusvm_invalidate_outside),
	KUNIT_CASE(drm_test_gpusvm_invalidate_other_notifier),
	KUNIT_CASE(drm_test_gpusvm_set_unmapped),
	KUNIT_CASE(drm_test_gpusvm_evict_system),
	KUNIT_CASE(drm_test_gpusvm_evict_unmapped),
	KUNIT_CASE(drm_test_gpusvm_fini_live_ranges),
	KUNIT_CASE(drm_test_gpusvm_mm_gone),
	KUNIT_CASE(drm_test_gpusvm_get_pages_devmem),
	KUNIT_CASE(drm_test_gpusvm_get_pages_devmem_no_device_map),
	KUNIT_CASE(drm_test_gpusvm_get_pages_mixed),
	KUNIT_CASE(drm_test_gpusvm_get_pages_two_allocations),
	KUNIT_CASE(drm_test_gpusvm_insert_threshold_allocations),
	KUNIT_CASE(drm_test_gpusvm_evict_devmem),
	KUNIT_CASE(drm_test_gpusvm_evict_devmem_mixed),
	KUNIT_CASE(drm_test_gpusvm_evict_copy_fails),
	KUNIT_CASE(drm_test_gpusvm_evict_invalidation_race),
	KUNIT_CASE(drm_test_gpusvm_evict_devmem_partial_unmap),
	KUNIT_CASE(drm_test_gpusvm_evict_span_one_pass),
	KUNIT_CASE(drm_test_gpusvm_evict_span_gap),
	KUNIT_CASE(drm_test_gpusvm_evict_span_copy_fails),
	KUNIT_CASE(drm_test_gpusvm_evict_span_invalidation_race),
	KUNIT_CASE(drm_test_gpusvm_evict_span_bad_interval),
	KUNIT_CASE(drm_test_gpusvm_get_pages_devmem_read_only_cpu),
	KUNIT_CASE(drm_test_gpusvm_get_pages_seq_published),
	KUNIT_CASE(drm_test_gpusvm_dma_unmapped),
	KUNIT_CASE(drm_test_gpusvm_partial_extent),
	KUNIT_CASE(drm_test_gpusvm_split_munmap),
	KUNIT_CASE(drm_test_gpusvm_split_devmem),
	KUNIT_CASE(drm_test_gpusvm_split_mprotect),
	KUNIT_CASE(drm_test_gpusvm_split_thp),
	KUNIT_CASE(drm_test_gpusvm_split_huge_block_kept),
	KUNIT_CASE(drm_test_gpusvm_split_bad_args),
	KUNIT_CASE(drm_test_gpusvm_split_alloc_fail),
	KUNIT_CASE(drm_test_gpusvm_split_two_holes),
	KUNIT_CASE(drm_test_gpusvm_split_cut_range),
	KUNIT_CASE(drm_test_gpusvm_split_nothing_kept),
	KUNIT_CASE(drm_test_gpusvm_split_race),
	KUNIT_CASE(drm_test_gpusvm_split_eagain),
	KUNIT_CASE(drm_test_gpusvm_split_leftover_blocks),
	KUNIT_CASE(drm_test_gpusvm_thrash_burst),
	KUNIT_CASE(drm_test_gpusvm_thrash_sparse),
	KUNIT_CASE(drm_test_gpusvm_thrash_repin),
	KUNIT_CASE(drm_test_gpusvm_thrash_params),
	KUNIT_CASE(drm_test_gpusvm_prefetch_walk),
	KUNIT_CASE(drm_test_gpusvm_prefetch_stream),
	KUNIT_CASE(drm_test_gpusvm_prefetch_stream_edges),
	KUNIT_CASE(drm_test_gpusvm_prefetch_bounds_and_unmap),
	KUNIT_CASE(drm_test_gpusvm_touch_allocates_history),
	KUNIT_CASE(drm_test_gpusvm_print),
	KUNIT_CASE(drm_test_gpusvm_driver_lock),
	{}
};

static struct kunit_suite drm_gpusvm_test_suite = {
	.name = "drm_gpusvm",
	.init = drm_gpusvm_test_init,
	.test_cases = drm_gpusvm_tests,
};

kunit_test_suite(drm_gpusvm_test_suite);

#if IS_ENABLED(CONFIG_DRM_GPUSVM_KUNIT_BENCH)
/*
 * The scale and metadata benchmarks of make bench, never part of make
 * check: they print what they measure and assert only that the operations
 * succeed. Lines start with "bench:" for tools/harness/bench.py.
 */

/* A cheap, repeatable permutation-ish walk of [0, n). */
static unsigned long bench_index(unsigned long i, unsigned long n)
{
	return (i * 2654435761UL + 12345) % n;
}

static u64 bench_per_op(u64 t0, unsigned long ops)
{
	return div64_u64(ktime_get_ns() - t0, ops ?: 1);
}

/*
 * Insert, find, one-page invalidation and removal with n 4 KiB ranges in
 * one GPU SVM (2 MiB notifiers) over n pages of unpopulated memory.
 */
static void bench_scale_one(struct kunit *test, unsigned long n)
{
	static const unsigned long chunk = SZ_4K;
	struct gpusvm_test_priv *priv = test->priv;
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range **ranges;
	unsigned long addr, size = n * PAGE_SIZE, i, ninval = min(n, 2000UL);
	u64 t0, insert, find, find_seq, inval, remove;
	int err;

	ranges = kvmalloc_array(n, sizeof(*ranges), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ranges);
	addr = gpusvm_test_mmap(test, size, PROT_READ | PROT_WRITE,
				MAP_ANONYMOUS | MAP_PRIVATE | MAP_NORESERVE);
	err = drm_gpusvm_init(&priv->gpusvm, "bench", priv->drm, current->mm,
			      priv->owner, addr, size, SZ_2M, &priv->ops,
			      &chunk, 1);
	KUNIT_ASSERT_EQ(test, err, 0);
	drm_gpusvm_driver_set_lock(&priv->gpusvm, &priv->lock);

	mutex_lock(&priv->lock);
	t0 = ktime_get_ns();
	for (i = 0; i < n; i++) {
		ranges[i] = drm_gpusvm_range_find_or_insert(&priv->gpusvm,
							    addr + i * PAGE_SIZE,
							    addr, addr + size,
							    &ctx);
		if (IS_ERR(ranges[i]))
			break;
	}
	insert = bench_per_op(t0, n);
	mutex_unlock(&priv->lock);
	KUNIT_ASSERT_EQ(test, i, n);

	mutex_lock(&priv->lock);
	t0 = ktime_get_ns();
	for (i = 0; i < n; i++) {
		unsigned long j = bench_index(i, n);

		if (drm_gpusvm_range_find_or_insert(&priv->gpusvm,
						    addr + j * PAGE_SIZE, addr,
						    addr + size, &ctx) != ranges[j])
			break;
	}
	find = bench_per_op(t0, n);
	KUNIT_EXPECT_EQ(test, i, n);

	/* The same lookups in address order: what locality is worth. */
	t0 = ktime_get_ns();
	for (i = 0; i < n; i++)
		if (drm_gpusvm_range_find_or_insert(&priv->gpusvm,
						    addr + i * PAGE_SIZE, addr,
						    addr + size, &ctx) != ranges[i])
			break;
	find_seq = bench_per_op(t0, n);
	mutex_unlock(&priv->lock);
	KUNIT_EXPECT_EQ(test, i, n);

	/* The notifier callback of one range, through a real invalidation. */
	t0 = ktime_get_ns();
	for (i = 0; i < ninval; i++)
		if (gpusvm_test_madvise(test, addr + bench_index(i, n) * PAGE_SIZE,
					PAGE_SIZE, MADV_DONTNEED))
			break;
	inval = bench_per_op(t0, ninval);
	KUNIT_EXPECT_EQ(test, i, ninval);

	mutex_lock(&priv->lock);
	t0 = ktime_get_ns();
	for (i = 0; i < n; i++)
		drm_gpusvm_range_remove(&priv->gpusvm, ranges[i]);
	remove = bench_per_op(t0, n);
	mutex_unlock(&priv->lock);

	drm_gpusvm_fini(&priv->gpusvm);
	gpusvm_test_munmap(test, addr, size);
	kvfree(ranges);

	kunit_info(test, "bench: scale ranges=%lu insert_ns=%llu find_ns=%llu invalidate_ns=%llu remove_ns=%llu find_seq_ns=%llu\n",
		   n, insert, find, inval, remove, find_seq);
}

static bool bench_bare_invalidate(struct mmu_interval_notifier *mni,
				  const struct mmu_notifier_range *range,
				  unsigned long cur_seq)
{
	mmu_interval_set_seq(mni, cur_seq);
	return true;
}

static const struct mmu_interval_notifier_ops bench_bare_notifier_ops = {
	.invalidate = bench_bare_invalidate,
};

/*
 * The floor under invalidate's growth with @n: the same one-page
 * invalidations over n pages with as many MMU interval notifiers as the
 * GPU SVM of bench_scale_one() registers (one per 2 MiB), each with a
 * callback that does nothing but publish its sequence, and no GPU SVM:
 * what the core mm pays to find the notifiers of the page. What
 * invalidate grows beyond it is ours.
 */
static void bench_inval_bare_one(struct kunit *test, unsigned long n)
{
	unsigned long size = n * PAGE_SIZE, nn = DIV_ROUND_UP(size, SZ_2M);
	unsigned long ninval = min(n, 2000UL), addr, i, made;
	struct mmu_interval_notifier *mni;
	u64 t0, inval = 0;

	mni = kvcalloc(nn, sizeof(*mni), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, mni);
	addr = gpusvm_test_mmap(test, size, PROT_READ | PROT_WRITE,
				MAP_ANONYMOUS | MAP_PRIVATE | MAP_NORESERVE);
	for (made = 0; made < nn; made++)
		if (mmu_interval_notifier_insert(&mni[made], current->mm,
						 addr + made * SZ_2M, SZ_2M,
						 &bench_bare_notifier_ops))
			break;
	KUNIT_EXPECT_EQ(test, made, nn);

	if (made == nn) {
		t0 = ktime_get_ns();
		for (i = 0; i < ninval; i++)
			if (gpusvm_test_madvise(test,
						addr + bench_index(i, n) * PAGE_SIZE,
						PAGE_SIZE, MADV_DONTNEED))
				break;
		inval = bench_per_op(t0, ninval);
		KUNIT_EXPECT_EQ(test, i, ninval);
	}

	while (made--)
		mmu_interval_notifier_remove(&mni[made]);
	gpusvm_test_munmap(test, addr, size);
	kvfree(mni);

	kunit_info(test, "bench: scale_inval_bare ranges=%lu invalidate_ns=%llu\n",
		   n, inval);
}

/* A bare interval-tree node as large as a range. */
struct bench_tree_node {
	struct interval_tree_node itree;
	u8 pad[sizeof(struct drm_gpusvm_range) - sizeof(struct interval_tree_node)];
};

/*
 * The floors under find's growth with @n: the same random lookups in one
 * bare interval tree of @n nodes the size of a range, each allocated on
 * its own as ranges are (what the lookup paid when it walked the trees),
 * and in one bare XArray of @n entries (what the page index pays), with
 * nothing of GPU SVM around them (no notifier, no mm). What find grows
 * beyond the XArray's is ours.
 */
static void bench_tree_one(struct kunit *test, unsigned long n)
{
	struct rb_root_cached root = RB_ROOT_CACHED;
	struct bench_tree_node **nodes;
	unsigned long i, j, made;
	u64 t0, find, xa_find = 0;
	DEFINE_XARRAY(xa);

	nodes = kvmalloc_array(n, sizeof(*nodes), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, nodes);
	for (made = 0; made < n; made++) {
		nodes[made] = kzalloc(sizeof(**nodes), GFP_KERNEL);
		if (!nodes[made])
			break;
		nodes[made]->itree.start = made * PAGE_SIZE;
		nodes[made]->itree.last = made * PAGE_SIZE + PAGE_SIZE - 1;
		interval_tree_insert(&nodes[made]->itree, &root);
	}

	KUNIT_EXPECT_EQ(test, made, n);
	t0 = ktime_get_ns();
	for (i = 0; i < n && made == n; i++) {
		j = bench_index(i, n);
		if (interval_tree_iter_first(&root, j * PAGE_SIZE,
					     j * PAGE_SIZE) != &nodes[j]->itree)
			break;
	}
	find = bench_per_op(t0, n);
	KUNIT_EXPECT_EQ(test, i, n);

	for (i = 0; i < made; i++)
		if (xa_err(xa_store(&xa, i, nodes[i], GFP_KERNEL)))
			break;
	KUNIT_EXPECT_EQ(test, i, made);
	if (i == n) {
		t0 = ktime_get_ns();
		for (i = 0; i < n; i++)
			if (xa_load(&xa, bench_index(i, n)) !=
			    nodes[bench_index(i, n)])
				break;
		xa_find = bench_per_op(t0, n);
		KUNIT_EXPECT_EQ(test, i, n);
	}
	xa_destroy(&xa);

	for (i = 0; i < made; i++) {
		interval_tree_remove(&nodes[i]->itree, &root);
		kfree(nodes[i]);
	}
	kvfree(nodes);

	kunit_info(test, "bench: scale_tree ranges=%lu tree_find_ns=%llu xa_find_ns=%llu\n",
		   n, find, xa_find);
}

static void drm_bench_gpusvm_scale(struct kunit *test)
{
	static const unsigned long counts[] = { 1000, 10000, 100000, 1000000 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(counts); i++) {
		bench_scale_one(test, counts[i]);
		bench_tree_one(test, counts[i]);
		bench_inval_bare_one(test, counts[i]);
	}
}

/*
 * Helper metadata of one mirrored 2 MiB range after get_pages: the range
 * object and its DMA-address table, with the number of blocks (entries
 * the table would need with one entry per mapped block).
 */
static void bench_metadata_one(struct kunit *test, bool thp)
{
	struct gpusvm_test_priv *priv = test->priv;
	struct drm_gpusvm_ctx ctx = {};
	struct drm_pagemap_device_addr *entry;
	struct drm_gpusvm_range *range;
	unsigned long base, i, blocks = 0;

	gpusvm_test_init(test);
	if (thp) {
		base = gpusvm_test_thp(test, 0x66);
	} else {
		base = gpusvm_test_mmap_aligned(test, SZ_2M, SZ_2M);
		gpusvm_test_fill(test, base, base + SZ_2M, 0x66);
	}
	range = gpusvm_test_insert_ok(test, base, 0, ULONG_MAX);
	KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(range), SZ_2M);
	KUNIT_ASSERT_EQ(test, gpusvm_test_get_pages(priv, range, &ctx), 0);

	drm_gpusvm_for_each_dma_block(range, entry, i)
		blocks++;
	KUNIT_EXPECT_EQ(test, blocks, (unsigned long)range->num_dma_addr);
	kunit_info(test, "bench: metadata backing=%s range_bytes=%zu dma_bytes=%zu blocks=%lu entry_bytes=%zu\n",
		   thp ? "thp" : "4k", sizeof(*range),
		   range->num_dma_addr * sizeof(*range->dma_addr), blocks,
		   sizeof(*range->dma_addr));
	gpusvm_test_fini(priv);
}

static void drm_bench_gpusvm_metadata(struct kunit *test)
{
	bench_metadata_one(test, false);
	bench_metadata_one(test, true);
}

static struct kunit_case drm_gpusvm_bench_cases[] = {
	KUNIT_CASE_SLOW(drm_bench_gpusvm_scale),
	KUNIT_CASE(drm_bench_gpusvm_metadata),
	{}
};

static struct kunit_suite drm_gpusvm_bench_suite = {
	.name = "drm_gpusvm_bench",
	.init = drm_gpusvm_test_init,
	.test_cases = drm_gpusvm_bench_cases,
};

kunit_test_suite(drm_gpusvm_bench_suite);
#endif

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
MODULE_DESCRIPTION("KUnit tests of the DRM GPU SVM helpers");
MODULE_LICENSE("GPL and additional rights");
