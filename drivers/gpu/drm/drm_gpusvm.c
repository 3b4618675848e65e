// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Copyright © 2024-2025 The drm_gpusvm authors
 */

#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/hmm.h>
#include <linux/hugetlb_inline.h>
#include <linux/interval_tree.h>
#include <linux/jiffies.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/magic.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include <drm/drm_device.h>
#include <drm/drm_gpusvm.h>
#include <drm/drm_pagemap.h>
#include <drm/drm_print.h>

/**
 * DOC: Overview
 *
 * GPU shared virtual memory (SVM) lets a GPU use the virtual addresses of a
 * CPU process: a pointer from malloc() is valid on the GPU as it is. The GPU
 * VM mirrors the process address space on demand. When the GPU touches an
 * address that its page tables do not map, the driver gets a GPU page fault,
 * asks drm_gpusvm for the piece of address space around the address, lets
 * drm_gpusvm collect and DMA-map the CPU pages behind it and writes GPU
 * page-table entries for them. When the CPU page tables change (munmap(),
 * mprotect(), madvise(), reclaim, migration, fork()...), an MMU notifier
 * tells the driver to take the affected GPU mappings down.
 *
 * A driver embeds one &struct drm_gpusvm per GPU VM, next to its
 * &struct drm_gpuvm if it has one, and initialises it with drm_gpusvm_init().
 * It models the mirrored address space with two kinds of objects:
 *
 * - &struct drm_gpusvm_notifier: a window of the address space, aligned to
 *   and sized &drm_gpusvm.notifier_size, with one MMU interval notifier.
 *   Windows are created on demand when the first range inside them appears
 *   and destroyed with their last range, except one: the first to lose its
 *   last range while no other is idle stays registered, idle, for the next
 *   range inside it (a map, use, unmap loop then costs no MMU interval
 *   notifier each time; see &drm_gpusvm.idle_notifier). Large windows keep
 *   the number of MMU interval notifiers (and so the cost of each CPU
 *   page-table change) low; small windows make invalidations more precise.
 *
 * - &struct drm_gpusvm_range: the unit the GPU maps, normally a naturally
 *   aligned block of one of &drm_gpusvm.chunk_sizes, inside one CPU VMA, one
 *   notifier window and the GPU VA window the driver gives. A range owns the
 *   DMA addresses of its pages. drm_gpusvm_range_find_or_insert() picks the
 *   largest chunk size that fits around the faulting address so that GPU
 *   page tables can use large pages where the CPU mapping allows it.
 *
 *   An edge of a VMA or window that is not aligned to the smallest chunk
 *   size above PAGE_SIZE (say 64 KiB) would leave nothing but PAGE_SIZE
 *   ranges between it and the next 64 KiB boundary: a buffer of 64 KiB that
 *   starts 4 KiB past a boundary would take sixteen GPU faults, sixteen
 *   collections and sixteen migrations. If PAGE_SIZE is one of the chunk
 *   sizes, the 64 KiB block around the fault is cut at that edge instead,
 *   and the range is the part of the block inside: such a range lies in one
 *   naturally aligned 64 KiB block but may be smaller and unaligned. The
 *   buffer above takes two ranges. Without PAGE_SIZE among the chunk sizes
 *   (a GPU that cannot map single pages) nothing is cut.
 *
 * Both are kept in interval trees (notifiers in the GPU SVM, ranges in their
 * notifier) and, in the same order, in lists that can be walked while the
 * trees change. A GPU fault finds its range in an XArray by page instead
 * (&drm_gpusvm.range_index): a few nodes instead of two tree walks, which
 * with a million ranges touch some twenty cold cache lines.
 *
 * Pages are collected by drm_gpusvm_range_get_pages() with hmm_range_fault().
 * System pages are mapped with the DMA API for &drm_device.dev. Device pages
 * (MEMORY_DEVICE_PRIVATE pages owned by &drm_gpusvm.device_private_page_owner)
 * are mapped by the &struct drm_pagemap they belong to. Moving memory between
 * system RAM and device memory is not done here but by drm_pagemap
 * (drm_pagemap_migrate_to_devmem() and the CPU fault handler of its device
 * pages). drm_gpusvm_range_evict() asks for a range's device pages to go back
 * to system RAM by faulting them in for the CPU; drm_gpusvm_evict_span() does
 * so for the ranges of an interval, in one migration where it can.
 */

/**
 * DOC: Locking
 *
 * Three locks matter:
 *
 * - The driver lock: any lock of the driver (typically the GPU VM lock),
 *   registered with drm_gpusvm_driver_set_lock() so that lockdep can check
 *   it. It serialises drm_gpusvm_range_find_or_insert() and
 *   drm_gpusvm_range_remove(), that is all changes to the notifier and range
 *   trees. The driver also holds it across drm_gpusvm_range_get_pages(),
 *   drm_gpusvm_range_unmap_pages() and drm_gpusvm_range_evict() of one range,
 *   which must not run concurrently with each other for the same range.
 *
 * - &drm_gpusvm.notifier_lock, a read-write semaphore. The MMU notifier
 *   callback takes it for write around &drm_gpusvm_ops.invalidate. A driver
 *   takes it for read with drm_gpusvm_notifier_lock() to commit a GPU
 *   binding after drm_gpusvm_range_pages_valid() said the pages it is about
 *   to bind are still current. Trees are changed with both the driver lock
 *   and the notifier lock (for write) held, so holding either is enough to
 *   walk them. Range flags and DMA addresses change only under the notifier
 *   lock. Because MMU notifiers run from memory reclaim, nothing may allocate
 *   memory with GFP_KERNEL (or wait for something that does) while holding
 *   the notifier lock; drm_gpusvm_init() teaches lockdep that rule.
 *
 * - The mmap lock of &drm_gpusvm.mm, taken for read inside
 *   drm_gpusvm_range_find_or_insert(), drm_gpusvm_range_get_pages() and
 *   drm_gpusvm_range_evict(). Callers must not hold it.
 *
 * The lock order is: driver lock, then mmap lock, then notifier lock.
 *
 * The GPU SVM holds an mmgrab() reference on &drm_gpusvm.mm, not an mmget()
 * one: it does not keep the process address space alive. Operations that
 * need the page tables take a temporary mmget_not_zero() reference and fail
 * with -ENOENT once the last user of the mm is gone; drm_gpusvm_fini() works
 * in that state too.
 */

/**
 * DOC: Partial unmap
 *
 * A CPU munmap() may cover only part of a range, for instance when user space
 * frees one buffer that shares a 2 MiB range with another. There are two
 * ways to handle it.
 *
 * The simple one drops the whole range. On an MMU_NOTIFY_UNMAP event the
 * &drm_gpusvm_ops.invalidate callback takes the whole of every intersecting
 * range off the GPU, releases its pages with drm_gpusvm_range_unmap_pages()
 * and marks it with drm_gpusvm_range_set_unmapped(), which also sets
 * &drm_gpusvm_range_flags.partial_unmap when the unmapped interval does not
 * cover the range. Ranges cannot be removed from the callback (removing the
 * last range of a notifier may remove its MMU interval notifier, which waits
 * for the callback), so the driver queues them for a worker, its garbage
 * collector, which takes the driver lock and calls drm_gpusvm_range_remove().
 * The parts still mapped by the CPU are not lost: the next GPU fault there
 * creates a new range, which fits the smaller VMA. If that fault arrives
 * before the garbage collector ran, drm_gpusvm_range_find_or_insert()
 * returns the old range, flagged unmapped; the driver runs its garbage
 * collector (or removes the range itself) and retries. Device memory that
 * backed the range stays where it is, mapped by the CPU, and is collected
 * again by the new ranges.
 *
 * The other one splits the range, and costs the GPU only what the CPU lost.
 * The callback asks drm_gpusvm_range_partial_extent() which part of the range
 * an MMU_NOTIFY_UNMAP, or an MMU_NOTIFY_PROTECTION_VMA (mprotect()), of part
 * of it takes away: the changed interval widened to whole device-mapped
 * blocks. It zaps only the GPU page-table entries of that part and releases
 * its pages with drm_gpusvm_range_unmap_partial(), which flags the range
 * unmapped and partially unmapped, then queues the range for the garbage
 * collector as above. The GPU keeps using the rest. The garbage collector
 * calls drm_gpusvm_range_split(), which replaces the range by ranges of the
 * chunk sizes (cut at the new edges as in "Overview") that take over the
 * pages still mapped: they are valid at once, device pages stay in device
 * memory, and nothing is faulted or migrated again. The driver then moves
 * its GPU mappings over to the new ranges (see the example of the garbage
 * collector below).
 *
 * A change that covers part of a huge page takes the whole block: the core
 * mm splits the huge page mapping first, with an invalidation of all of it.
 */

/**
 * DOC: Examples
 *
 * The skeleton below shows a driver using GPU SVM; the driver_*() functions
 * stand for driver code. The VM embeds the GPU SVM and its lock::
 *
 *	struct driver_vm {
 *		struct drm_gpusvm gpusvm;
 *		struct mutex lock;
 *		struct list_head gc_list;
 *		spinlock_t gc_lock;
 *		struct work_struct gc_work;
 *		bool closing;
 *	};
 *
 *	struct driver_range {
 *		struct drm_gpusvm_range base;
 *		struct list_head gc_link;
 *	};
 *
 *	static const unsigned long driver_chunks[] = { SZ_2M, SZ_64K, SZ_4K };
 *
 *	int driver_vm_init(struct driver_vm *vm, struct drm_device *drm)
 *	{
 *		int err;
 *
 *		mutex_init(&vm->lock);
 *		err = drm_gpusvm_init(&vm->gpusvm, "driver", drm, current->mm,
 *				      driver_pgmap_owner(drm), 0, TASK_SIZE,
 *				      SZ_512M, &driver_gpusvm_ops, driver_chunks,
 *				      ARRAY_SIZE(driver_chunks));
 *		if (err)
 *			return err;
 *		drm_gpusvm_driver_set_lock(&vm->gpusvm, &vm->lock);
 *		return 0;
 *	}
 *
 * The GPU page-fault handler creates or looks up the range around the
 * faulting address, may migrate it to device memory, collects its pages and
 * binds them. The bind is committed under the notifier lock, and only if no
 * invalidation happened since the pages were collected::
 *
 *	int driver_gpu_fault(struct driver_vm *vm, unsigned long addr,
 *			     unsigned long va_start, unsigned long va_end,
 *			     bool write)
 *	{
 *		struct drm_gpusvm_ctx ctx = {
 *			.read_only = !write,
 *			.devmem_possible = driver_has_vram(vm),
 *			.check_pages_threshold = SZ_64K,
 *			.timeslice_ms = 5,
 *		};
 *		struct mm_struct *mm = vm->gpusvm.mm;
 *		struct drm_gpusvm_range *range;
 *		struct driver_devmem *devmem;
 *		bool evicted = false;
 *		int err;
 *
 *		mutex_lock(&vm->lock);
 *		driver_garbage_collect(vm);
 *	retry:
 *		range = drm_gpusvm_range_find_or_insert(&vm->gpusvm, addr,
 *							va_start, va_end,
 *							&ctx);
 *		if (IS_ERR(range)) {
 *			err = PTR_ERR(range);
 *			goto unlock;
 *		}
 *		if (range->flags.unmapped) {
 *			driver_garbage_collect(vm);
 *			goto retry;
 *		}
 *
 *		if (range->flags.migrate_devmem && !evicted &&
 *		    driver_wants_vram(vm, range) && mmget_not_zero(mm)) {
 *			devmem = driver_devmem_alloc(vm, range);
 *			if (!IS_ERR(devmem)) {
 *				mmap_read_lock(mm);
 *				err = drm_pagemap_migrate_to_devmem(&devmem->base,
 *					mm, drm_gpusvm_range_start(range),
 *					drm_gpusvm_range_end(range),
 *					ctx.timeslice_ms,
 *					driver_pgmap_owner(vm));
 *				mmap_read_unlock(mm);
 *				if (err)
 *					driver_devmem_put(devmem);
 *			}
 *			mmput(mm);
 *			// Failing to migrate is fine: use system memory.
 *		}
 *
 *		err = drm_gpusvm_range_get_pages(&vm->gpusvm, range, &ctx);
 *		if (err == -EACCES) {
 *			// Bound read-only, written now: unbind, then release.
 *			drm_gpusvm_notifier_lock(&vm->gpusvm);
 *			driver_zap_ptes(vm, range);	// and wait for the GPU
 *			drm_gpusvm_notifier_unlock(&vm->gpusvm);
 *			drm_gpusvm_range_unmap_pages(&vm->gpusvm, range, &ctx);
 *			goto retry;
 *		}
 *		if (err == -EOPNOTSUPP && !evicted) {
 *			// Pages of several allocations: move them to RAM.
 *			evicted = true;
 *			drm_gpusvm_range_evict(&vm->gpusvm, range);
 *			goto retry;
 *		}
 *		if (err)
 *			goto unlock;
 *
 *		driver_prepare_ptes(vm, range);	// may allocate
 *		drm_gpusvm_notifier_lock(&vm->gpusvm);
 *		if (!drm_gpusvm_range_pages_valid(&vm->gpusvm, range)) {
 *			drm_gpusvm_notifier_unlock(&vm->gpusvm);
 *			goto retry;
 *		}
 *		driver_commit_ptes(vm, range);	// drm_gpusvm_for_each_dma_block()
 *		drm_gpusvm_notifier_unlock(&vm->gpusvm);
 *	unlock:
 *		mutex_unlock(&vm->lock);
 *		return err;
 *	}
 *
 * The invalidate callback runs with the notifier lock held for write. It
 * zaps the GPU page-table entries of every range in the invalidated
 * interval, waits for the GPU to stop using them, releases the pages and,
 * on munmap(), queues the ranges for removal. Where munmap() or mprotect()
 * takes only part of a range, this driver splits it (see "Partial unmap"):
 * only that part leaves the GPU::
 *
 *	static void driver_invalidate(struct drm_gpusvm *gpusvm,
 *				      struct drm_gpusvm_notifier *notifier,
 *				      const struct mmu_notifier_range *mmu_range)
 *	{
 *		struct driver_vm *vm = container_of(gpusvm, struct driver_vm,
 *						    gpusvm);
 *		struct drm_gpusvm_ctx ctx = { .in_notifier = true };
 *		struct drm_gpusvm_range *range = NULL;
 *		unsigned long start, end;
 *		bool partial;
 *
 *		drm_gpusvm_for_each_range(range, notifier, mmu_range->start,
 *					  mmu_range->end) {
 *			struct driver_range *r = container_of(range,
 *						struct driver_range, base);
 *
 *			bool queued = drm_gpusvm_range_read_flags(range).unmapped;
 *
 *			partial = drm_gpusvm_range_partial_extent(range,
 *						mmu_range, &start, &end);
 *			driver_zap_ptes(vm, start, end);
 *			driver_tlb_flush_and_wait(vm);
 *			if (partial) {
 *				drm_gpusvm_range_unmap_partial(gpusvm, range,
 *							       start, end);
 *			} else {
 *				drm_gpusvm_range_unmap_pages(gpusvm, range,
 *							     &ctx);
 *				if (mmu_range->event != MMU_NOTIFY_UNMAP)
 *					continue;
 *				drm_gpusvm_range_set_unmapped(range, mmu_range);
 *			}
 *			// Once: the collector may be splitting it already.
 *			if (queued)
 *				continue;
 *			spin_lock(&vm->gc_lock);
 *			if (!vm->closing && list_empty(&r->gc_link)) {
 *				drm_gpusvm_range_get(range);
 *				list_add_tail(&r->gc_link, &vm->gc_list);
 *			}
 *			spin_unlock(&vm->gc_lock);
 *		}
 *		queue_work(system_wq, &vm->gc_work);
 *	}
 *
 * The garbage collector runs with the driver lock held, from the fault
 * handler above or from the worker. The page tables of this driver are
 * indexed by address, so the GPU mappings of the ranges a split creates
 * are already in place; a driver that keeps them per range moves them
 * over, under the notifier lock, to the new ranges whose pages are still
 * valid. A range unmapped as a whole stays if new memory was mapped in its
 * place since (drm_gpusvm_range_reuse()): the invalidation zapped it::
 *
 *	static void driver_garbage_collect(struct driver_vm *vm)
 *	{
 *		struct driver_range *r;
 *
 *		lockdep_assert_held(&vm->lock);
 *		spin_lock(&vm->gc_lock);
 *		while ((r = list_first_entry_or_null(&vm->gc_list,
 *						     struct driver_range,
 *						     gc_link))) {
 *			list_del_init(&r->gc_link);
 *			spin_unlock(&vm->gc_lock);
 *			if (r->base.flags.partial_unmap ?
 *			    drm_gpusvm_range_split(&vm->gpusvm, &r->base) < 0 :
 *			    !drm_gpusvm_range_reuse(&vm->gpusvm, &r->base)) {
 *				// What the split would have kept goes too.
 *				drm_gpusvm_notifier_lock(&vm->gpusvm);
 *				driver_zap_ptes(vm, drm_gpusvm_range_start(&r->base),
 *						drm_gpusvm_range_end(&r->base));
 *				drm_gpusvm_notifier_unlock(&vm->gpusvm);
 *				drm_gpusvm_range_remove(&vm->gpusvm, &r->base);
 *			}
 *			drm_gpusvm_range_put(&r->base);
 *			spin_lock(&vm->gc_lock);
 *		}
 *		spin_unlock(&vm->gc_lock);
 *	}
 *
 *	static void driver_gc_work(struct work_struct *work)
 *	{
 *		struct driver_vm *vm = container_of(work, struct driver_vm,
 *						    gc_work);
 *
 *		mutex_lock(&vm->lock);
 *		driver_garbage_collect(vm);
 *		mutex_unlock(&vm->lock);
 *	}
 *
 * The invalidation callback keeps running until drm_gpusvm_fini() has
 * removed the last MMU interval notifier, and a range it queues then would
 * be removed twice: by drm_gpusvm_fini() and by the garbage collector.
 * Teardown therefore sets vm->closing under vm->gc_lock first, runs the
 * garbage collector once more with the driver lock held, calls
 * ``drm_gpusvm_fini(&vm->gpusvm)``, which removes whatever ranges are left,
 * and ends with ``cancel_work_sync(&vm->gc_work)``.
 */

/*
 * System pages are mapped for a device that shares them with the CPU while
 * both use them, as mirroring needs: there is no hand-over of ownership at
 * which to sync caches, and several devices, or GPU SVMs of one device,
 * may map the same page at once. DMA_ATTR_SKIP_CPU_SYNC says so (and keeps
 * DMA-API debugging from taking those mappings for a driver bug).
 */
#define DRM_GPUSVM_DMA_ATTRS	DMA_ATTR_SKIP_CPU_SYNC

/*
 * Assert that the lock registered with drm_gpusvm_driver_set_lock() is held
 * exclusively: it serialises changes of the ranges, so an rwsem held for
 * read does not do.
 */
static void drm_gpusvm_driver_lock_held(struct drm_gpusvm *gpusvm)
{
#ifdef CONFIG_LOCKDEP
	if (gpusvm->lock_dep_map)
		lockdep_assert(lock_is_held_type(gpusvm->lock_dep_map, 0));
#endif
}

static unsigned long drm_gpusvm_npages(unsigned long start, unsigned long end)
{
	return (end - start) >> PAGE_SHIFT;
}

static struct drm_gpusvm_range *
to_drm_gpusvm_range(struct interval_tree_node *node)
{
	return node ? container_of(node, struct drm_gpusvm_range, itree) : NULL;
}

static struct drm_gpusvm_notifier *
to_drm_gpusvm_notifier(struct interval_tree_node *node)
{
	return node ? container_of(node, struct drm_gpusvm_notifier, itree) : NULL;
}

static bool drm_gpusvm_range_removed(struct drm_gpusvm_range *range)
{
	return RB_EMPTY_NODE(&range->itree.rb);
}

/**
 * drm_gpusvm_notifier_invalidate() - MMU interval notifier callback
 * @mni: The MMU interval notifier of a GPU SVM notifier.
 * @mmu_range: The changing CPU address range.
 * @cur_seq: The new sequence number of @mni.
 *
 * Publishes @cur_seq and calls &drm_gpusvm_ops.invalidate, both under the
 * notifier lock held for write, so that a driver committing a GPU binding
 * under the lock for read either sees the new sequence or finishes before the
 * driver callback runs.
 *
 * Context: MMU notifier context, possibly memory reclaim.
 *
 * Return: false if @mmu_range does not allow blocking (the notifier lock may
 * sleep), true otherwise.
 */
static bool drm_gpusvm_notifier_invalidate(struct mmu_interval_notifier *mni,
					   const struct mmu_notifier_range *mmu_range,
					   unsigned long cur_seq)
{
	struct drm_gpusvm_notifier *notifier =
		container_of(mni, struct drm_gpusvm_notifier, notifier);
	struct drm_gpusvm *gpusvm = notifier->gpusvm;

	if (!mmu_notifier_range_blockable(mmu_range))
		return false;

	down_write(&gpusvm->notifier_lock);
	mmu_interval_set_seq(mni, cur_seq);
	/* The idle notifier has no range to tell the driver about. */
	if (!RB_EMPTY_ROOT(&notifier->root.rb_root))
		gpusvm->ops->invalidate(gpusvm, notifier, mmu_range);
	up_write(&gpusvm->notifier_lock);

	return true;
}

static const struct mmu_interval_notifier_ops drm_gpusvm_notifier_ops = {
	.invalidate = drm_gpusvm_notifier_invalidate,
};

static int drm_gpusvm_check_chunks(const unsigned long *chunk_sizes,
				   int num_chunks, unsigned long notifier_size)
{
	int i;

	if (!chunk_sizes || num_chunks <= 0)
		return -EINVAL;

	for (i = 0; i < num_chunks; i++) {
		if (!is_power_of_2(chunk_sizes[i]) || chunk_sizes[i] < PAGE_SIZE)
			return -EINVAL;
		if (i && chunk_sizes[i] >= chunk_sizes[i - 1])
			return -EINVAL;
	}

	if (!is_power_of_2(notifier_size) || notifier_size < chunk_sizes[0])
		return -EINVAL;

	return 0;
}

/**
 * drm_gpusvm_init() - Initialise a GPU SVM
 * @gpusvm: The GPU SVM to initialise, typically embedded in a driver VM.
 * @name: Name of the GPU SVM, for debug output.
 * @drm: The DRM device; its &drm_device.dev is used for DMA mappings.
 * @mm: The address space to mirror; must not be NULL (a GPU SVM without an
 *      address space would have nothing to do and is refused).
 * @device_private_page_owner: Owner token of the device-private pages this
 *                             device can access directly. Pages of other
 *                             owners are migrated to system RAM when the
 *                             device faults on them.
 * @mm_start: Start of the mirrored part of @mm, page aligned.
 * @mm_range: Size of the mirrored part of @mm, page aligned, not 0.
 * @notifier_size: Size of the notifier windows, a power of two at least as
 *                 large as the largest chunk size.
 * @ops: Driver callbacks; &drm_gpusvm_ops.invalidate is mandatory, the
 *       allocation hooks come in pairs.
 * @chunk_sizes: Range sizes, powers of two of at least PAGE_SIZE in strictly
 *               descending order. The array is referenced, not copied.
 * @num_chunks: Number of entries in @chunk_sizes.
 *
 * Takes an mmgrab() reference on @mm, dropped by drm_gpusvm_fini(), and
 * records in lockdep that the notifier lock is taken from memory reclaim.
 *
 * Context: Process context; may sleep.
 *
 * Return: 0 on success, -EINVAL if an argument is NULL or out of bounds:
 * missing invalidate callback, unpaired allocation hooks, no chunk size, a
 * chunk size that is not a power of two, smaller than PAGE_SIZE or not
 * smaller than the one before it, a notifier size that is not a power of two
 * or smaller than the largest chunk, an unaligned @mm_start or @mm_range, an
 * empty range or one that wraps around the end of the address space.
 */
int drm_gpusvm_init(struct drm_gpusvm *gpusvm,
		    const char *name, struct drm_device *drm,
		    struct mm_struct *mm, void *device_private_page_owner,
		    unsigned long mm_start, unsigned long mm_range,
		    unsigned long notifier_size,
		    const struct drm_gpusvm_ops *ops,
		    const unsigned long *chunk_sizes, int num_chunks)
{
	unsigned long end;
	int err;

	if (!gpusvm || !drm || !mm || !ops || !ops->invalidate)
		return -EINVAL;

	if (!ops->notifier_alloc != !ops->notifier_free ||
	    !ops->range_alloc != !ops->range_free)
		return -EINVAL;

	err = drm_gpusvm_check_chunks(chunk_sizes, num_chunks, notifier_size);
	if (err)
		return err;

	/* Ranges are [start, end): the end must be representable. */
	if (!PAGE_ALIGNED(mm_start) || !PAGE_ALIGNED(mm_range) || !mm_range ||
	    check_add_overflow(mm_start, mm_range, &end))
		return -EINVAL;

	gpusvm->name = name;
	gpusvm->drm = drm;
	gpusvm->mm = mm;
	gpusvm->device_private_page_owner = device_private_page_owner;
	gpusvm->mm_start = mm_start;
	gpusvm->mm_range = mm_range;
	gpusvm->notifier_size = notifier_size;
	gpusvm->ops = ops;
	gpusvm->chunk_sizes = chunk_sizes;
	gpusvm->num_chunks = num_chunks;
	init_rwsem(&gpusvm->notifier_lock);
	gpusvm->root = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&gpusvm->notifier_list);
	gpusvm->idle_notifier = NULL;
	xa_init_flags(&gpusvm->range_index, XA_FLAGS_ACCOUNT);
	gpusvm->thrash = (struct drm_gpusvm_thrash_params) {
		.lapse_ns = 500 * NSEC_PER_USEC,
		.throttle_ns = NSEC_PER_MSEC,
		.pin_ns = 150 * NSEC_PER_MSEC,
		.throttle_after = 3,
		.pin_after = 5,
	};
#ifdef CONFIG_LOCKDEP
	gpusvm->lock_dep_map = NULL;
#endif

	mmgrab(mm);

	/* The MMU notifier takes the notifier lock from reclaim. */
	fs_reclaim_acquire(GFP_KERNEL);
	might_lock(&gpusvm->notifier_lock);
	fs_reclaim_release(GFP_KERNEL);

	return 0;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_init);

/**
 * drm_gpusvm_notifier_find() - Find the first notifier intersecting an
 * interval
 * @gpusvm: The GPU SVM.
 * @start: Start of the interval.
 * @end: End of the interval (exclusive), larger than @start.
 *
 * Context: The caller holds the driver lock or the notifier lock.
 *
 * Return: The notifier with the lowest address whose window intersects
 * [@start, @end), or NULL if there is none.
 */
struct drm_gpusvm_notifier *
drm_gpusvm_notifier_find(struct drm_gpusvm *gpusvm, unsigned long start,
			 unsigned long end)
{
	return to_drm_gpusvm_notifier(interval_tree_iter_first(&gpusvm->root,
							       start, end - 1));
}
EXPORT_SYMBOL_GPL(drm_gpusvm_notifier_find);

static struct drm_gpusvm_range *drm_gpusvm_index_load(struct drm_gpusvm *gpusvm,
						      unsigned long addr);

/**
 * drm_gpusvm_range_find() - Find the first range of a notifier intersecting
 * an interval
 * @notifier: The notifier.
 * @start: Start of the interval.
 * @end: End of the interval (exclusive), larger than @start.
 *
 * A range holding @start is the one: it is looked up in the page index
 * (&drm_gpusvm.range_index) first, a few nodes where the notifier's tree
 * of a window full of small ranges is some ten levels deep; the tree
 * answers otherwise.
 *
 * Context: The caller holds the driver lock or the notifier lock.
 *
 * Return: The range of @notifier with the lowest address that intersects
 * [@start, @end), or NULL if there is none.
 */
struct drm_gpusvm_range *
drm_gpusvm_range_find(struct drm_gpusvm_notifier *notifier, unsigned long start,
		      unsigned long end)
{
	struct drm_gpusvm *gpusvm = notifier->gpusvm;
	struct drm_gpusvm_range *range;

	if (start >= gpusvm->mm_start &&
	    start - gpusvm->mm_start < gpusvm->mm_range) {
		range = drm_gpusvm_index_load(gpusvm, start);
		if (range && range->notifier == notifier)
			return range;
	}

	return to_drm_gpusvm_range(interval_tree_iter_first(&notifier->root,
							    start, end - 1));
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_find);

/*
 * Ranges of up to this many pages collect and check their pages in an array
 * on the stack: small ranges are the most frequent, and their faults the
 * most sensitive to fixed costs.
 */
#define DRM_GPUSVM_SMALL_PFNS		16

/* @small (DRM_GPUSVM_SMALL_PFNS entries) if it holds @npages, else kvmalloc. */
static unsigned long *drm_gpusvm_pfns_alloc(unsigned long *small,
					    unsigned long npages)
{
	if (npages <= DRM_GPUSVM_SMALL_PFNS)
		return small;
	return kvmalloc_array(npages, sizeof(unsigned long), GFP_KERNEL);
}

static void drm_gpusvm_pfns_free(unsigned long *pfns, unsigned long *small)
{
	if (pfns != small)
		kvfree(pfns);
}

/* The access history is kept in 64 KiB blocks. */
#define DRM_GPUSVM_TOUCH_SHIFT		16
/* Prefetch looks at most at the naturally aligned 2 MiB around a fault. */
#define DRM_GPUSVM_PREFETCH_REGION	SZ_2M

static unsigned long drm_gpusvm_touch_blocks(struct drm_gpusvm *gpusvm)
{
	return DIV_ROUND_UP(gpusvm->notifier_size, 1UL << DRM_GPUSVM_TOUCH_SHIFT);
}

static struct drm_gpusvm_notifier *
drm_gpusvm_notifier_alloc(struct drm_gpusvm *gpusvm, unsigned long addr)
{
	struct drm_gpusvm_notifier *notifier;

	if (gpusvm->ops->notifier_alloc)
		notifier = gpusvm->ops->notifier_alloc();
	else
		notifier = kzalloc(sizeof(*notifier), GFP_KERNEL_ACCOUNT);
	if (!notifier)
		return NULL;

	notifier->gpusvm = gpusvm;
	notifier->itree.start = ALIGN_DOWN(addr, gpusvm->notifier_size);
	notifier->itree.last = notifier->itree.start + gpusvm->notifier_size - 1;
	RB_CLEAR_NODE(&notifier->itree.rb);
	INIT_LIST_HEAD(&notifier->entry);
	notifier->root = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&notifier->range_list);
	notifier->flags.removed = false;
	/* The access history comes with the first use, see the prefetch. */
	notifier->touched = NULL;

	return notifier;
}

/* Index in &drm_gpusvm_notifier.touched of the block holding @addr. */
static unsigned long drm_gpusvm_touch_index(struct drm_gpusvm_notifier *notifier,
					    unsigned long addr)
{
	return (addr - drm_gpusvm_notifier_start(notifier)) >>
	       DRM_GPUSVM_TOUCH_SHIFT;
}

static void drm_gpusvm_notifier_free(struct drm_gpusvm *gpusvm,
				     struct drm_gpusvm_notifier *notifier)
{
	WARN_ON(!RB_EMPTY_ROOT(&notifier->root.rb_root));

	bitmap_free(notifier->touched);
	if (gpusvm->ops->notifier_free)
		gpusvm->ops->notifier_free(notifier);
	else
		kfree(notifier);
}

/* Forget how @range moved between system and device memory. */
static void drm_gpusvm_range_thrash_reset(struct drm_gpusvm_range *range)
{
	range->thrash_count = 0;
	range->thrash_repins = 0;
	range->thrash_last_ns = 0;
	range->thrash_pinned_until_ns = 0;
}

/* Both the tree and the sorted list; notifier lock held for write. */
static void drm_gpusvm_notifier_insert(struct drm_gpusvm *gpusvm,
				       struct drm_gpusvm_notifier *notifier)
{
	struct rb_node *prev;

	lockdep_assert_held_write(&gpusvm->notifier_lock);

	interval_tree_insert(&notifier->itree, &gpusvm->root);
	prev = rb_prev(&notifier->itree.rb);
	if (prev) {
		struct drm_gpusvm_notifier *before =
			to_drm_gpusvm_notifier(rb_entry(prev, struct interval_tree_node, rb));

		list_add(&notifier->entry, &before->entry);
	} else {
		list_add(&notifier->entry, &gpusvm->notifier_list);
	}
}

static void drm_gpusvm_notifier_unlink(struct drm_gpusvm *gpusvm,
				       struct drm_gpusvm_notifier *notifier)
{
	lockdep_assert_held_write(&gpusvm->notifier_lock);

	interval_tree_remove(&notifier->itree, &gpusvm->root);
	RB_CLEAR_NODE(&notifier->itree.rb);
	list_del_init(&notifier->entry);
}

static void drm_gpusvm_range_insert(struct drm_gpusvm_notifier *notifier,
				    struct drm_gpusvm_range *range)
{
	struct rb_node *prev;

	lockdep_assert_held_write(&notifier->gpusvm->notifier_lock);

	interval_tree_insert(&range->itree, &notifier->root);
	prev = rb_prev(&range->itree.rb);
	if (prev) {
		struct drm_gpusvm_range *before =
			to_drm_gpusvm_range(rb_entry(prev, struct interval_tree_node, rb));

		list_add(&range->entry, &before->entry);
	} else {
		list_add(&range->entry, &notifier->range_list);
	}
}

static struct drm_gpusvm_range *
drm_gpusvm_range_alloc(struct drm_gpusvm *gpusvm,
		       struct drm_gpusvm_notifier *notifier,
		       unsigned long start, unsigned long end,
		       bool migrate_devmem)
{
	struct drm_gpusvm_range *range;

	if (gpusvm->ops->range_alloc)
		range = gpusvm->ops->range_alloc(gpusvm);
	else
		range = kzalloc(sizeof(*range), GFP_KERNEL_ACCOUNT);
	if (!range)
		return NULL;

	range->gpusvm = gpusvm;
	range->notifier = notifier;
	kref_init(&range->refcount);
	range->itree.start = start;
	range->itree.last = end - 1;
	RB_CLEAR_NODE(&range->itree.rb);
	INIT_LIST_HEAD(&range->entry);
	range->notifier_seq = LONG_MAX;
	range->dma_addr = NULL;
	range->num_dma_addr = 0;
	drm_gpusvm_range_thrash_reset(range);
	range->dpagemap = NULL;
	range->flags.__flags = 0;
	range->flags.migrate_devmem = migrate_devmem;

	return range;
}

/* Index in &drm_gpusvm.range_index of the page at @addr. */
static unsigned long drm_gpusvm_index(struct drm_gpusvm *gpusvm,
				      unsigned long addr)
{
	return (addr - gpusvm->mm_start) >> PAGE_SHIFT;
}

/*
 * The pages of a range removed from a window whose notifier lives: the
 * entries keep the index's nodes for the next range there, which a map,
 * use, unmap loop creates right after (without them, every such range
 * frees and allocates the nodes of its pages again, and an RCU callback
 * frees them). A hole has the orders of the range it replaces. A range of
 * the same or a larger order simply overwrites it; one of a smaller order
 * must not, since a multi-index entry cannot be split by a store: the
 * larger hole is cleared first, see drm_gpusvm_index_unhole(). The
 * window's holes go with its notifier, see drm_gpusvm_index_clear().
 */
#define DRM_GPUSVM_INDEX_HOLE	xa_mk_value(0)

/*
 * Before @xas (of order @order) stores a range: clear a hole of a larger
 * order over its first page. Holes only: ranges do not overlap. Called
 * with the index locked; clearing allocates nothing.
 */
static void drm_gpusvm_index_unhole(struct xa_state *xas, unsigned int order)
{
	unsigned long index = xas->xa_index;
	unsigned int hole_order;
	void *entry;

	entry = xas_load(xas);
	if (xa_is_value(entry)) {
		hole_order = xas_get_order(xas);
		if (hole_order > order) {
			xas_set_order(xas, round_down(index, 1UL << hole_order),
				      hole_order);
			xas_store(xas, NULL);
		}
	}
	xas_set_order(xas, index, order);
}

/*
 * Store @entry (@range, a hole or NULL) over the pages of @range in the
 * index, one naturally aligned block at a time, and return the first error.
 * Storing NULL allocates nothing and cannot fail.
 */
static int drm_gpusvm_index_store(struct drm_gpusvm *gpusvm,
				  struct drm_gpusvm_range *range, void *entry)
{
	unsigned long index = drm_gpusvm_index(gpusvm,
					       drm_gpusvm_range_start(range));
	unsigned long end = drm_gpusvm_index(gpusvm,
					     drm_gpusvm_range_end(range));

	while (index < end) {
		unsigned int order = __fls(end - index);
		XA_STATE(xas, &gpusvm->range_index, index);
		int err;

		if (index)
			order = min_t(unsigned int, order, __ffs(index));
		xas_set_order(&xas, index, order);
		do {
			xas_lock(&xas);
			if (entry && !xa_is_value(entry))
				drm_gpusvm_index_unhole(&xas, order);
			xas_store(&xas, entry);
			xas_unlock(&xas);
		} while (xas_nomem(&xas, GFP_KERNEL_ACCOUNT));

		err = xas_error(&xas);
		if (err)
			return err;
		index += 1UL << order;
	}

	return 0;
}

/*
 * Enter @range in the index. Best effort: without memory for it, @range is
 * left out and found in its notifier's tree.
 */
static void drm_gpusvm_index_add(struct drm_gpusvm *gpusvm,
				 struct drm_gpusvm_range *range)
{
	drm_gpusvm_driver_lock_held(gpusvm);

	if (drm_gpusvm_index_store(gpusvm, range, range))
		drm_gpusvm_index_store(gpusvm, range, NULL);
}

/*
 * Take @range out of the index, before the tree's reference is dropped: its
 * pages become a hole, unless there is no memory for it (a range the index
 * had left out), then they are left empty.
 */
static void drm_gpusvm_index_del(struct drm_gpusvm *gpusvm,
				 struct drm_gpusvm_range *range)
{
	if (drm_gpusvm_index_store(gpusvm, range, DRM_GPUSVM_INDEX_HOLE))
		drm_gpusvm_index_store(gpusvm, range, NULL);
}

/* The range of the page at @addr in the index, NULL if none or unknown. */
static struct drm_gpusvm_range *drm_gpusvm_index_load(struct drm_gpusvm *gpusvm,
						      unsigned long addr)
{
	void *entry = xa_load(&gpusvm->range_index,
			      drm_gpusvm_index(gpusvm, addr));

	return xa_is_value(entry) ? NULL : entry;
}

/* Empty the index over the window of @notifier, which holds no range. */
static void drm_gpusvm_index_clear(struct drm_gpusvm *gpusvm,
				   struct drm_gpusvm_notifier *notifier)
{
	unsigned long mm_end = gpusvm->mm_start + gpusvm->mm_range;
	unsigned long start = max(drm_gpusvm_notifier_start(notifier),
				  gpusvm->mm_start);
	unsigned long end = min(drm_gpusvm_notifier_end(notifier), mm_end);
	XA_STATE(xas, &gpusvm->range_index, drm_gpusvm_index(gpusvm, start));
	void *entry;

	if (start >= end)
		return;
	xas_lock(&xas);
	xas_for_each(&xas, entry, drm_gpusvm_index(gpusvm, end) - 1) {
		WARN_ON_ONCE(!xa_is_value(entry));
		xas_store(&xas, NULL);
	}
	xas_unlock(&xas);
}

/*
 * Take @notifier, which holds no range, out of the GPU SVM and the mm, and
 * free it.
 */
static void drm_gpusvm_notifier_remove(struct drm_gpusvm *gpusvm,
				       struct drm_gpusvm_notifier *notifier)
{
	drm_gpusvm_index_clear(gpusvm, notifier);
	down_write(&gpusvm->notifier_lock);
	drm_gpusvm_notifier_unlink(gpusvm, notifier);
	up_write(&gpusvm->notifier_lock);

	/* Waits for a running invalidation: not under notifier_lock. */
	mmu_interval_notifier_remove(&notifier->notifier);
	notifier->flags.removed = true;
	drm_gpusvm_notifier_free(gpusvm, notifier);
}

/*
 * @notifier just lost its last range. Unless another notifier is idle
 * already, keep it registered for the next range in its window, where
 * memory is unmapped and mapped again (a map, use, unmap loop, a heap
 * handing the same addresses out again); otherwise remove it. Only the
 * notifier that just emptied may go here: the ones after it in a
 * drm_gpusvm_for_each_notifier_safe() walk must stay.
 */
static void drm_gpusvm_notifier_set_idle(struct drm_gpusvm *gpusvm,
					 struct drm_gpusvm_notifier *notifier)
{
	if (!gpusvm->idle_notifier)
		gpusvm->idle_notifier = notifier;
	else if (gpusvm->idle_notifier != notifier)
		drm_gpusvm_notifier_remove(gpusvm, notifier);
}

/* Remove the idle notifier, if there is one. */
static void drm_gpusvm_notifier_drop_idle(struct drm_gpusvm *gpusvm)
{
	struct drm_gpusvm_notifier *idle = gpusvm->idle_notifier;

	gpusvm->idle_notifier = NULL;
	if (idle)
		drm_gpusvm_notifier_remove(gpusvm, idle);
}

/*
 * Release the device mappings of the first @npages pages of a range whose
 * device addresses are in @dma_addr.
 */
static void drm_gpusvm_unmap_entry(struct device *dev,
				   struct drm_pagemap *dpagemap,
				   struct drm_pagemap_device_addr *entry)
{
	if (!drm_gpusvm_dma_block_mapped(entry))
		return;
	if (entry->proto == DRM_INTERCONNECT_SYSTEM)
		dma_unmap_page_attrs(dev, entry->addr, PAGE_SIZE << entry->order,
				     entry->dir, DRM_GPUSVM_DMA_ATTRS);
	else if (dpagemap && dpagemap->ops && dpagemap->ops->device_unmap)
		dpagemap->ops->device_unmap(dpagemap, dev, *entry);
}

static void drm_gpusvm_unmap_dma(struct drm_gpusvm *gpusvm,
				 struct drm_pagemap_device_addr *dma_addr,
				 struct drm_pagemap *dpagemap,
				 unsigned long npages)
{
	struct device *dev = gpusvm->drm->dev;
	unsigned long i, j;

	for (i = 0, j = 0; i < npages; j++) {
		drm_gpusvm_unmap_entry(dev, dpagemap, &dma_addr[j]);
		i += 1UL << dma_addr[j].order;
	}
}

static void __drm_gpusvm_range_unmap_pages(struct drm_gpusvm *gpusvm,
					   struct drm_gpusvm_range *range)
{
	struct drm_gpusvm_range_flags flags = {
		.__flags = range->flags.__flags,
	};

	lockdep_assert_held_write(&gpusvm->notifier_lock);

	if (flags.has_dma_mapping)
		drm_gpusvm_unmap_dma(gpusvm, range->dma_addr, range->dpagemap,
				     drm_gpusvm_npages(drm_gpusvm_range_start(range),
						       drm_gpusvm_range_end(range)));

	/* Lockless readers see the flags change in one store. */
	flags.has_dma_mapping = false;
	flags.has_devmem_pages = false;
	flags.mapped_read_only = false;
	WRITE_ONCE(range->flags.__flags, flags.__flags);
	range->dpagemap = NULL;
}

/*
 * Fill @pfns with a snapshot of the CPU page tables, without faulting.
 * Mmap lock held for read.
 */
static int drm_gpusvm_snapshot(struct drm_gpusvm *gpusvm,
			       struct drm_gpusvm_notifier *notifier,
			       unsigned long start, unsigned long end,
			       unsigned long *pfns)
{
	unsigned long timeout = jiffies +
		msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	struct hmm_range hmm_range = {
		.notifier = &notifier->notifier,
		.start = start,
		.end = end,
		.hmm_pfns = pfns,
		.dev_private_owner = gpusvm->device_private_page_owner,
	};
	int err;

	mmap_assert_locked(gpusvm->mm);

	do {
		hmm_range.notifier_seq = mmu_interval_read_begin(&notifier->notifier);
		err = hmm_range_fault(&hmm_range);
	} while (err == -EBUSY && !time_after(jiffies, timeout));

	return err;
}

/*
 * Whether @page, handed out by hmm_range_fault(), is in the memory of this
 * GPU SVM's device: a device-private page (hmm_range_fault() only returns
 * those of &drm_gpusvm.device_private_page_owner) or a device-coherent page
 * of that owner. Coherent pages of other owners are used like system
 * memory: the CPU and every device reach them at their physical address.
 */
static bool drm_gpusvm_page_is_devmem(struct drm_gpusvm *gpusvm,
				      struct page *page)
{
	if (is_device_private_page(page))
		return true;
	return is_device_coherent_page(page) &&
		page->pgmap->owner == gpusvm->device_private_page_owner;
}

/*
 * Whether all CPU pages of [@start, @end) are present and, for device
 * pages, come from a single device memory allocation: the conditions for a
 * range of that size to be worth creating when the chunk is below
 * &drm_gpusvm_ctx.check_pages_threshold.
 */
static bool drm_gpusvm_check_pages(struct drm_gpusvm *gpusvm,
				   struct drm_gpusvm_notifier *notifier,
				   unsigned long start, unsigned long end)
{
	unsigned long npages = drm_gpusvm_npages(start, end);
	unsigned long small_pfns[DRM_GPUSVM_SMALL_PFNS];
	unsigned long *pfns = drm_gpusvm_pfns_alloc(small_pfns, npages);
	void *allocation = NULL;
	unsigned long i;
	bool ok = false;

	if (!pfns)
		return false;

	if (drm_gpusvm_snapshot(gpusvm, notifier, start, end, pfns))
		goto out;

	for (i = 0; i < npages; i++) {
		struct page *page;

		if (!(pfns[i] & HMM_PFN_VALID))
			goto out;

		page = hmm_pfn_to_page(pfns[i]);
		if (drm_gpusvm_page_is_devmem(gpusvm, page)) {
			if (allocation && allocation != page->zone_device_data)
				goto out;
			allocation = page->zone_device_data;
		}
	}
	ok = true;
out:
	drm_gpusvm_pfns_free(pfns, small_pfns);
	return ok;
}

/*
 * The chunk size whose blocks are cut at the edges of a VMA or window rather
 * than left to PAGE_SIZE ranges: the smallest chunk size above PAGE_SIZE, if
 * PAGE_SIZE is a chunk size too (the driver maps single pages). 0 if none.
 */
static unsigned long drm_gpusvm_clip_size(struct drm_gpusvm *gpusvm)
{
	int n = gpusvm->num_chunks;

	if (n < 2 || gpusvm->chunk_sizes[n - 1] != PAGE_SIZE)
		return 0;
	return gpusvm->chunk_sizes[n - 2];
}

/*
 * The block of size @clip around @addr cut to the whole pages of [@lo, @hi),
 * in [@s, @e): whether it still holds @addr and more than a page.
 */
static bool drm_gpusvm_cut_block(unsigned long clip, unsigned long addr,
				 unsigned long lo, unsigned long hi,
				 unsigned long *s, unsigned long *e)
{
	unsigned long block = ALIGN_DOWN(addr, clip);

	*s = max(block, PAGE_ALIGN(lo));
	*e = min(block + clip, PAGE_ALIGN_DOWN(hi));
	return *s <= addr && addr < *e && *e - *s > PAGE_SIZE;
}

/*
 * The interval of chunk size number @i around @addr that a new range may
 * take in [@lo, @hi), in [@s, @e): the naturally aligned block, or for the
 * clip size @clip that block cut at @lo and @hi if more than a page is
 * left. false if there is none.
 */
static bool drm_gpusvm_chunk_block(struct drm_gpusvm *gpusvm, int i,
				   unsigned long clip, unsigned long addr,
				   unsigned long lo, unsigned long hi,
				   unsigned long *s, unsigned long *e)
{
	unsigned long size = gpusvm->chunk_sizes[i];

	*s = ALIGN_DOWN(addr, size);
	*e = *s + size;
	if (*e < *s)
		return false;

	/* @lo and @hi of a GPU VA window need not be aligned. */
	return (*s >= lo && *e <= hi) ||
	       (size == clip && drm_gpusvm_cut_block(clip, addr, lo, hi, s, e));
}

/*
 * Pick the interval of a new range around @fault_addr: the largest chunk
 * size whose naturally aligned block lies inside [@lo, @hi), overlaps no
 * range of @notifier and, below the pages threshold, has its pages present.
 * The smallest chunk size is never refused for missing pages: they are
 * faulted in by drm_gpusvm_range_get_pages(). A block of the clip size that
 * crosses @lo or @hi is cut there instead of falling back to PAGE_SIZE, if
 * more than a page is left (see "Overview").
 */
static int drm_gpusvm_range_pick_chunk(struct drm_gpusvm *gpusvm,
				       struct drm_gpusvm_notifier *notifier,
				       unsigned long fault_addr,
				       unsigned long lo, unsigned long hi,
				       const struct drm_gpusvm_ctx *ctx,
				       unsigned long *start, unsigned long *end)
{
	unsigned long clip = drm_gpusvm_clip_size(gpusvm);
	unsigned long s, e;
	int i;

	for (i = 0; i < gpusvm->num_chunks; i++) {
		if (!drm_gpusvm_chunk_block(gpusvm, i, clip, fault_addr, lo, hi,
					    &s, &e))
			continue;

		if (drm_gpusvm_range_find(notifier, s, e))
			continue;

		if (i < gpusvm->num_chunks - 1 &&
		    gpusvm->chunk_sizes[i] <= ctx->check_pages_threshold &&
		    !drm_gpusvm_check_pages(gpusvm, notifier, s, e))
			continue;

		*start = s;
		*end = e;
		return 0;
	}

	return -EINVAL;
}

/*
 * Secret memory (memfd_secret()) is removed from the kernel's direct map
 * and must never be read or written by a device; GUP refuses it, but
 * hmm_range_fault() hands its pages out like any other. vma_is_secretmem()
 * is not exported to modules: the file system of the mapping tells.
 */
static bool drm_gpusvm_vma_is_secret(struct vm_area_struct *vma)
{
	return vma->vm_file &&
	       file_inode(vma->vm_file)->i_sb->s_magic == SECRETMEM_MAGIC;
}

/* Can the pages of @vma be mirrored at all? */
static bool drm_gpusvm_vma_mirrorable(struct vm_area_struct *vma)
{
	return !(vma->vm_flags & (VM_IO | VM_PFNMAP)) &&
	       !drm_gpusvm_vma_is_secret(vma);
}

/* Private mappings; see drm_pagemap_vma_migratable(). */
static bool drm_gpusvm_vma_devmem(struct vm_area_struct *vma)
{
	return !(vma->vm_flags & (VM_SHARED | VM_SPECIAL)) &&
	       !is_vm_hugetlb_page(vma) && !vma_is_dax(vma);
}

/*
 * The VMAs of [@start, @end) are checked for every collection, under the
 * mmap lock held across hmm_range_fault(), so that a range created over
 * ordinary memory never collects secret memory mapped there later. (A
 * check of each page's mapping would need a reference on the page to be
 * safe; the VMAs cannot change while the mmap lock is held.)
 */
static int drm_gpusvm_check_vmas(struct mm_struct *mm, unsigned long start,
				 unsigned long end)
{
	VMA_ITERATOR(vmi, mm, start);
	struct vm_area_struct *vma;

	mmap_assert_locked(mm);
	for_each_vma_range(vmi, vma, end)
		if (drm_gpusvm_vma_is_secret(vma))
			return -EFAULT;
	return 0;
}

/**
 * drm_gpusvm_range_find_or_insert() - Find or create the range around an
 * address
 * @gpusvm: The GPU SVM.
 * @fault_addr: The address the GPU faulted on.
 * @gpuva_start: Start of the GPU VA window a new range must lie in (for
 *               instance the GPU VMA around @fault_addr).
 * @gpuva_end: End of that window (exclusive).
 * @ctx: Operation arguments: &drm_gpusvm_ctx.read_only,
 *       &drm_gpusvm_ctx.devmem_possible and
 *       &drm_gpusvm_ctx.check_pages_threshold are used.
 *
 * If a range contains @fault_addr, it is returned, also when it is flagged
 * &drm_gpusvm_range_flags.unmapped. Otherwise a range is created: its size
 * is the largest of &drm_gpusvm.chunk_sizes whose naturally aligned block
 * around @fault_addr lies inside the CPU VMA of @fault_addr, inside the
 * mirrored part of the address space, inside the notifier window, inside
 * [@gpuva_start, @gpuva_end) and overlaps no other range; chunk sizes up to
 * &drm_gpusvm_ctx.check_pages_threshold also need all their CPU pages to be
 * present (the smallest chunk size does not). With PAGE_SIZE among the chunk
 * sizes, a block of the smallest chunk size above it that one of these edges
 * cuts is cut there and becomes the range, if more than a page of it is left
 * (see "Overview"). The notifier of the window is created if needed.
 * &drm_gpusvm_range_flags.migrate_devmem is set if
 * &drm_gpusvm_ctx.devmem_possible is and the VMA is a private mapping (not
 * shared, not hugetlb, not DAX, not VM_IO/VM_PFNMAP); of a private file
 * mapping only the anonymous, copied-on-write pages can move.
 *
 * The returned range belongs to the GPU SVM: no reference is taken for the
 * caller, who uses drm_gpusvm_range_get() to keep it beyond the driver lock.
 *
 * Context: Process context; may sleep. Takes the mmap lock for read and the
 * notifier lock. The caller holds the driver lock, not the mmap lock nor
 * the notifier lock.
 *
 * Return: The range on success or an ERR_PTR():
 * -EINVAL if @fault_addr is outside the mirrored part of the address space
 * or outside [@gpuva_start, @gpuva_end), or if no chunk size fits;
 * -ENOENT if the address space has no user anymore;
 * -EFAULT if no VMA contains @fault_addr, or the VMA maps I/O or raw PFNs
 * (VM_IO, VM_PFNMAP) or secret memory (memfd_secret()), which cannot be
 * mirrored;
 * -EPERM if the VMA cannot be read, or cannot be written and
 * &drm_gpusvm_ctx.read_only is not set;
 * -ENOMEM if out of memory;
 * or the error of mmu_interval_notifier_insert().
 */
struct drm_gpusvm_range *
drm_gpusvm_range_find_or_insert(struct drm_gpusvm *gpusvm,
				unsigned long fault_addr,
				unsigned long gpuva_start,
				unsigned long gpuva_end,
				const struct drm_gpusvm_ctx *ctx)
{
	unsigned long mm_end = gpusvm->mm_start + gpusvm->mm_range;
	struct drm_gpusvm_notifier *notifier;
	struct drm_gpusvm_range *range;
	struct mm_struct *mm = gpusvm->mm;
	struct vm_area_struct *vma;
	bool new_notifier = false;
	unsigned long start, end;
	bool migrate_devmem;
	int err;

	drm_gpusvm_driver_lock_held(gpusvm);

	if (fault_addr < gpusvm->mm_start ||
	    fault_addr - gpusvm->mm_start >= gpusvm->mm_range ||
	    fault_addr < gpuva_start || fault_addr >= gpuva_end)
		return ERR_PTR(-EINVAL);

	if (!mmget_not_zero(mm))
		return ERR_PTR(-ENOENT);

	/* A hit needs neither the notifier nor anything of the range. */
	range = drm_gpusvm_index_load(gpusvm, fault_addr);
	notifier = range ? NULL : drm_gpusvm_notifier_find(gpusvm, fault_addr,
							   fault_addr + 1);
	if (!range && !notifier) {
		/*
		 * A window other than the idle one's is used: make room for
		 * the next window to empty (see drm_gpusvm_notifier_set_idle()).
		 */
		drm_gpusvm_notifier_drop_idle(gpusvm);
		notifier = drm_gpusvm_notifier_alloc(gpusvm, fault_addr);
		if (!notifier) {
			err = -ENOMEM;
			goto err_mmput;
		}

		/*
		 * Inserted into the mm before anyone can see it, and before the
		 * mmap lock is taken: the first interval notifier of an mm
		 * takes the mmap lock for write.
		 */
		err = mmu_interval_notifier_insert(&notifier->notifier, mm,
						   drm_gpusvm_notifier_start(notifier),
						   drm_gpusvm_notifier_size(notifier),
						   &drm_gpusvm_notifier_ops);
		if (err) {
			drm_gpusvm_notifier_free(gpusvm, notifier);
			goto err_mmput;
		}
		new_notifier = true;
	}

	mmap_read_lock(mm);

	vma = vma_lookup(mm, fault_addr);
	if (!vma || !drm_gpusvm_vma_mirrorable(vma)) {
		err = -EFAULT;
		goto err_unlock;
	}

	if (!(vma->vm_flags & VM_READ) ||
	    (!ctx->read_only && !(vma->vm_flags & VM_WRITE))) {
		err = -EPERM;
		goto err_unlock;
	}

	if (range)
		goto out_unlock;

	/* Left out of the index when there was no memory for it. */
	range = drm_gpusvm_range_find(notifier, fault_addr, fault_addr + 1);
	if (range) {
		drm_gpusvm_index_add(gpusvm, range);
		goto out_unlock;
	}

	err = drm_gpusvm_range_pick_chunk(gpusvm, notifier, fault_addr,
					  max3(vma->vm_start, gpusvm->mm_start,
					       gpuva_start),
					  min3(vma->vm_end, mm_end, gpuva_end),
					  ctx, &start, &end);
	if (err)
		goto err_unlock;

	migrate_devmem = ctx->devmem_possible && drm_gpusvm_vma_devmem(vma);
	range = drm_gpusvm_range_alloc(gpusvm, notifier, start, end,
				       migrate_devmem);
	if (!range) {
		err = -ENOMEM;
		goto err_unlock;
	}

	down_write(&gpusvm->notifier_lock);
	if (new_notifier)
		drm_gpusvm_notifier_insert(gpusvm, notifier);
	drm_gpusvm_range_insert(notifier, range);
	up_write(&gpusvm->notifier_lock);
	drm_gpusvm_index_add(gpusvm, range);
	if (gpusvm->idle_notifier == notifier)
		gpusvm->idle_notifier = NULL;

out_unlock:
	mmap_read_unlock(mm);
	mmput(mm);
	return range;

err_unlock:
	mmap_read_unlock(mm);
	if (new_notifier) {
		mmu_interval_notifier_remove(&notifier->notifier);
		drm_gpusvm_notifier_free(gpusvm, notifier);
	}
err_mmput:
	mmput(mm);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_find_or_insert);

static void drm_gpusvm_range_release(struct kref *kref)
{
	struct drm_gpusvm_range *range =
		container_of(kref, struct drm_gpusvm_range, refcount);
	struct drm_gpusvm *gpusvm = range->gpusvm;

	/*
	 * drm_gpusvm_range_remove() releases the pages and a removed range
	 * cannot collect new ones, so this only happens if a reference was
	 * dropped that was never taken.
	 */
	if (WARN_ON(range->flags.has_dma_mapping)) {
		down_write(&gpusvm->notifier_lock);
		__drm_gpusvm_range_unmap_pages(gpusvm, range);
		up_write(&gpusvm->notifier_lock);
	}

	kvfree(range->dma_addr);
	if (gpusvm->ops->range_free)
		gpusvm->ops->range_free(range);
	else
		kfree(range);
}

/**
 * drm_gpusvm_range_get() - Take a reference on a range
 * @range: The range.
 *
 * Context: Any context.
 *
 * Return: @range.
 */
struct drm_gpusvm_range *
drm_gpusvm_range_get(struct drm_gpusvm_range *range)
{
	kref_get(&range->refcount);
	return range;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_get);

/**
 * drm_gpusvm_range_put() - Drop a reference on a range
 * @range: The range, or NULL.
 *
 * Frees @range when its last reference goes away, which only happens after
 * drm_gpusvm_range_remove(). All references must be dropped before
 * drm_gpusvm_fini() of the GPU SVM returns.
 *
 * Context: Process context; may sleep when the last reference goes. Must
 * not be called with the notifier lock held.
 */
void drm_gpusvm_range_put(struct drm_gpusvm_range *range)
{
	if (range)
		kref_put(&range->refcount, drm_gpusvm_range_release);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_put);

/*
 * The CPU unmapped the memory of @range: what comes there next is new to
 * the GPU, forget that it used the blocks of @range. Driver lock held.
 */
static void drm_gpusvm_range_forget_use(struct drm_gpusvm_range *range)
{
	struct drm_gpusvm_notifier *notifier = range->notifier;

	if (notifier->touched)
		bitmap_clear(notifier->touched,
			     drm_gpusvm_touch_index(notifier,
						    drm_gpusvm_range_start(range)),
			     drm_gpusvm_range_size(range) >> DRM_GPUSVM_TOUCH_SHIFT);
}

/*
 * Unlink a range, release its pages and drop the reference of the tree. If
 * it was the last range of its notifier, the notifier becomes the idle one.
 */
static void __drm_gpusvm_range_remove(struct drm_gpusvm *gpusvm,
				      struct drm_gpusvm_range *range)
{
	struct drm_gpusvm_notifier *notifier = range->notifier;
	bool last;

	if (WARN_ON(drm_gpusvm_range_removed(range)))
		return;

	drm_gpusvm_index_del(gpusvm, range);

	if (range->flags.unmapped)
		drm_gpusvm_range_forget_use(range);

	down_write(&gpusvm->notifier_lock);
	__drm_gpusvm_range_unmap_pages(gpusvm, range);
	interval_tree_remove(&range->itree, &notifier->root);
	RB_CLEAR_NODE(&range->itree.rb);
	list_del_init(&range->entry);
	last = RB_EMPTY_ROOT(&notifier->root.rb_root);
	up_write(&gpusvm->notifier_lock);

	if (last)
		drm_gpusvm_notifier_set_idle(gpusvm, notifier);

	drm_gpusvm_range_put(range);
}

/**
 * drm_gpusvm_range_remove() - Remove a range from its GPU SVM
 * @gpusvm: The GPU SVM.
 * @range: The range, created by drm_gpusvm_range_find_or_insert().
 *
 * Releases the pages of @range, takes it out of its notifier and drops the
 * reference held by the notifier; @range is freed unless the driver holds
 * references of its own. If @range was the last range of its notifier, the
 * notifier and its MMU interval notifier are removed too, unless it becomes
 * the idle notifier (&drm_gpusvm.idle_notifier). The driver must
 * have taken @range off the GPU before.
 *
 * Context: Process context; may sleep, waiting for a running invalidation.
 * The caller holds the driver lock, not the notifier lock, and is not the
 * &drm_gpusvm_ops.invalidate callback.
 */
void drm_gpusvm_range_remove(struct drm_gpusvm *gpusvm,
			     struct drm_gpusvm_range *range)
{
	drm_gpusvm_driver_lock_held(gpusvm);

	__drm_gpusvm_range_remove(gpusvm, range);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_remove);

/**
 * drm_gpusvm_fini() - Tear down a GPU SVM
 * @gpusvm: The GPU SVM.
 *
 * Removes every range and every notifier, then drops the reference on
 * &drm_gpusvm.mm taken by drm_gpusvm_init(). Works also after the last
 * user of the mm is gone. The driver has taken all ranges off the GPU and
 * dropped its own references on them.
 *
 * Context: Process context; may sleep. No other GPU SVM function may run
 * concurrently; the driver lock is not required.
 */
void drm_gpusvm_fini(struct drm_gpusvm *gpusvm)
{
	struct drm_gpusvm_notifier *notifier, *next_notifier;
	struct drm_gpusvm_range *range, *next_range;

	drm_gpusvm_for_each_notifier_safe(notifier, next_notifier, gpusvm, 0,
					  ULONG_MAX) {
		drm_gpusvm_for_each_range_safe(range, next_range, notifier, 0,
					       ULONG_MAX)
			__drm_gpusvm_range_remove(gpusvm, range);
	}
	drm_gpusvm_notifier_drop_idle(gpusvm);

	WARN_ON(!RB_EMPTY_ROOT(&gpusvm->root.rb_root));
	WARN_ON(!list_empty(&gpusvm->notifier_list));
	WARN_ON(!xa_empty(&gpusvm->range_index));
	xa_destroy(&gpusvm->range_index);

	mmdrop(gpusvm->mm);
	gpusvm->mm = NULL;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_fini);

/**
 * drm_gpusvm_range_pages_valid() - Whether the pages of a range are current
 * @gpusvm: The GPU SVM.
 * @range: The range.
 *
 * The pages collected by drm_gpusvm_range_get_pages() stay valid until an
 * invalidation releases them with drm_gpusvm_range_unmap_pages(). A driver
 * calls this with the notifier lock held (drm_gpusvm_notifier_lock()) right
 * before committing a GPU binding of @range, and retries if it returns
 * false.
 *
 * Context: The caller holds the notifier lock.
 *
 * Return: true if @range has all its pages collected and mapped for the
 * device, false otherwise, and false for a range flagged
 * &drm_gpusvm_range_flags.unmapped (what a partial unmap left of it stays
 * mapped until drm_gpusvm_range_split(), but is not bound again).
 */
bool drm_gpusvm_range_pages_valid(struct drm_gpusvm *gpusvm,
				  struct drm_gpusvm_range *range)
{
	lockdep_assert_held(&gpusvm->notifier_lock);

	/* A partly unmapped range keeps the rest until its split. */
	return range->flags.has_dma_mapping && !range->flags.unmapped;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_pages_valid);

/*
 * Whether the pages collected by an earlier call serve @ctx as they are:
 * still valid, and mapped for writing if @ctx needs that. Valid pages that
 * were collected read-only are released when write access is asked for, to
 * be faulted in for write and mapped again. With devmem_only, valid pages
 * are checked against the new snapshot instead.
 */
/*
 * Can the valid pages of @range serve @ctx as they are? 1 if so, 0 if they
 * must be collected, -EACCES if they were collected read-only and write
 * access is asked for: only the driver can take its GPU mappings of them
 * down before they are released, so that is left to it.
 */
static int drm_gpusvm_range_reuse_pages(struct drm_gpusvm *gpusvm,
					struct drm_gpusvm_range *range,
					const struct drm_gpusvm_ctx *ctx)
{
	int ret = 0;

	down_read(&gpusvm->notifier_lock);
	if (drm_gpusvm_range_pages_valid(gpusvm, range)) {
		if (range->flags.mapped_read_only && !ctx->read_only)
			ret = -EACCES;
		else
			ret = !ctx->devmem_only;
	}
	up_read(&gpusvm->notifier_lock);

	return ret;
}

/*
 * hmm_range_fault() reports device-private pages of its owner as they are,
 * without faulting them for write: a read-only one (copy-on-write shared
 * after fork(), or mapped while the VMA was read-only) may come back for a
 * write request. The device must not write it.
 */
static bool drm_gpusvm_pfns_read_only(const unsigned long *pfns,
				      unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages; i++)
		if (!(pfns[i] & HMM_PFN_WRITE))
			return true;

	return false;
}

static bool drm_gpusvm_pfns_all_devmem(struct drm_gpusvm *gpusvm,
				       const unsigned long *pfns,
				       unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages; i++)
		if (!(pfns[i] & HMM_PFN_VALID) ||
		    !drm_gpusvm_page_is_devmem(gpusvm, hmm_pfn_to_page(pfns[i])))
			return false;

	return true;
}

/*
 * The largest order, at most @order, of a block at @addr that is naturally
 * aligned and ends at or before @end. hmm_pfn_to_map_order() describes the
 * CPU mapping, which may start before the range or end after it.
 */
static unsigned int drm_gpusvm_fit_order(unsigned long addr, unsigned long end,
					 unsigned int order)
{
	while (order &&
	       (!IS_ALIGNED(addr, PAGE_SIZE << order) ||
		end - addr < (PAGE_SIZE << order)))
		order--;

	return order;
}

/* Order of the block that starts at page @i of the range [@start, @end). */
static unsigned int drm_gpusvm_pfn_order(const unsigned long *pfns,
					 unsigned long i, unsigned long start,
					 unsigned long end)
{
	return drm_gpusvm_fit_order(start + (i << PAGE_SHIFT), end,
				    hmm_pfn_to_map_order(pfns[i]));
}

/* Number of entries drm_gpusvm_range_map() fills for these pfns. */
static unsigned int drm_gpusvm_count_blocks(const unsigned long *pfns,
					    unsigned long start,
					    unsigned long end)
{
	unsigned long i, npages = drm_gpusvm_npages(start, end);
	unsigned int n;

	for (i = 0, n = 0; i < npages; n++)
		i += 1UL << drm_gpusvm_pfn_order(pfns, i, start, end);

	return n;
}

/*
 * Map the pages of a successful hmm_range_fault() for the device and record
 * them in the range. Notifier lock held: the pages cannot go away meanwhile.
 * On failure, everything mapped so far is unmapped again.
 */
static int drm_gpusvm_range_map(struct drm_gpusvm *gpusvm,
				struct drm_gpusvm_range *range,
				const unsigned long *pfns,
				unsigned long seq,
				const struct drm_gpusvm_ctx *ctx)
{
	unsigned long start = drm_gpusvm_range_start(range);
	unsigned long end = drm_gpusvm_range_end(range);
	unsigned long npages = drm_gpusvm_npages(start, end);
	struct drm_pagemap_device_addr *dma_addr = range->dma_addr;
	enum dma_data_direction dir = ctx->read_only ? DMA_TO_DEVICE :
						       DMA_BIDIRECTIONAL;
	struct device *dev = gpusvm->drm->dev;
	struct drm_pagemap *dpagemap = NULL;
	struct drm_gpusvm_range_flags flags;
	bool has_system = false, has_devmem = false;
	void *allocation = NULL;
	unsigned long i, j;
	int err;

	lockdep_assert_held(&gpusvm->notifier_lock);

	for (i = 0, j = 0; i < npages; j++) {
		unsigned int order;
		struct page *page;

		/* Sized by drm_gpusvm_count_blocks() over the same pfns. */
		if (WARN_ON_ONCE(j >= range->num_dma_addr)) {
			err = -EFAULT;
			goto err_unmap;
		}
		if (!(pfns[i] & HMM_PFN_VALID)) {
			err = -EFAULT;
			goto err_unmap;
		}
		if (!ctx->read_only && !(pfns[i] & HMM_PFN_WRITE)) {
			err = -EPERM;
			goto err_unmap;
		}

		page = hmm_pfn_to_page(pfns[i]);
		order = drm_gpusvm_pfn_order(pfns, i, start, end);

		if (drm_gpusvm_page_is_devmem(gpusvm, page)) {
			struct drm_pagemap *owner = drm_pagemap_page_to_dpagemap(page);

			/* Without device_map, this device cannot reach it. */
			if (!owner || !owner->ops || !owner->ops->device_map ||
			    (dpagemap && owner != dpagemap) ||
			    (!ctx->allow_mixed &&
			     (has_system ||
			      (allocation && allocation != page->zone_device_data)))) {
				err = -EOPNOTSUPP;
				goto err_unmap;
			}

			dpagemap = owner;
			allocation = page->zone_device_data;
			dma_addr[j] = owner->ops->device_map(owner, dev, page, order,
							     dir);
			if (dma_mapping_error(dev, dma_addr[j].addr)) {
				err = -EFAULT;
				goto err_unmap;
			}
			has_devmem = true;
		} else {
			dma_addr_t dma;

			if (ctx->devmem_only) {
				err = -EFAULT;
				goto err_unmap;
			}
			if (has_devmem && !ctx->allow_mixed) {
				err = -EOPNOTSUPP;
				goto err_unmap;
			}

			dma = dma_map_page_attrs(dev, page, 0, PAGE_SIZE << order,
						 dir, DRM_GPUSVM_DMA_ATTRS);
			if (dma_mapping_error(dev, dma)) {
				err = -EFAULT;
				goto err_unmap;
			}
			dma_addr[j] = drm_pagemap_device_addr_encode(dma,
								     DRM_INTERCONNECT_SYSTEM,
								     order, dir);
			has_system = true;
		}

		i += 1UL << order;
	}

	range->dpagemap = dpagemap;
	range->notifier_seq = seq;
	flags.__flags = range->flags.__flags;
	flags.has_devmem_pages = has_devmem;
	flags.mapped_read_only = ctx->read_only;
	flags.has_dma_mapping = true;
	WRITE_ONCE(range->flags.__flags, flags.__flags);

	return 0;

err_unmap:
	/* Entries before j cover exactly the first i pages. */
	drm_gpusvm_unmap_dma(gpusvm, dma_addr, dpagemap, i);
	return err;
}

/**
 * drm_gpusvm_range_get_pages() - Collect and map the pages of a range
 * @gpusvm: The GPU SVM.
 * @range: The range.
 * @ctx: Operation arguments: &drm_gpusvm_ctx.read_only,
 *       &drm_gpusvm_ctx.devmem_only and &drm_gpusvm_ctx.allow_mixed are
 *       used.
 *
 * Faults in the CPU pages of @range with hmm_range_fault() (for write unless
 * &drm_gpusvm_ctx.read_only is set, in which case the pages are also mapped
 * DMA_TO_DEVICE only) and maps them for the device into
 * &drm_gpusvm_range.dma_addr: system pages with the DMA API, device-private
 * pages of &drm_gpusvm.device_private_page_owner through their drm_pagemap.
 * Device-private pages of other owners are first migrated to system RAM by
 * hmm_range_fault(), and so are device-private pages of our owner that the
 * CPU maps read-only when write access is needed (a page shared
 * copy-on-write after fork() must not be written in place). Pages mapped by
 * the CPU with a huge page are mapped as large blocks, clipped to @range.
 *
 * Unless &drm_gpusvm_ctx.allow_mixed is set, all pages must be system pages
 * or all must be device pages of a single device memory allocation. With
 * it, system pages and device pages of a single drm_pagemap may be mixed.
 *
 * The collection follows the MMU interval notifier protocol: an
 * invalidation that races with it makes it start over, so the pages are
 * current when this returns 0. They stay valid until the next invalidation;
 * check drm_gpusvm_range_pages_valid() under the notifier lock when binding.
 * Returns 0 at once if the pages are already valid, unless they were
 * collected with &drm_gpusvm_ctx.read_only and write access is asked for
 * now (see &drm_gpusvm_range_flags.mapped_read_only): the device may still
 * read through those mappings, so this never releases them. It returns
 * -EACCES instead; the driver takes its GPU mappings of the range down,
 * releases the pages with drm_gpusvm_range_unmap_pages() and calls again.
 *
 * Context: Process context; may sleep. Takes the mmap lock for read and the
 * notifier lock; the caller holds neither. Calls for the same range are
 * serialised by the caller (driver lock).
 *
 * Return: 0 on success, or
 * -EFAULT if @range is flagged &drm_gpusvm_range_flags.unmapped, part of it
 * is not mapped by a VMA that can be accessed or is secret memory
 * (memfd_secret(), never handed to a device), a page could not be mapped
 * for the device, or &drm_gpusvm_ctx.devmem_only is set and a page is a
 * system page;
 * -EPERM if write access is needed and the CPU mapping is read-only;
 * -EACCES if the valid pages were collected read-only and write access is
 * asked for: release them first (see above);
 * -EOPNOTSUPP if the pages mix memory kinds in a way the arguments do not
 * allow (see above), come from several drm_pagemaps, or from one without a
 * &drm_pagemap_ops.device_map hook;
 * -EBUSY if invalidations kept racing with the collection for
 * HMM_RANGE_DEFAULT_TIMEOUT milliseconds;
 * -ENOENT if the address space has no user anymore;
 * -ENOMEM if out of memory;
 * -EINVAL if @range was removed;
 * or another error of hmm_range_fault().
 */
int drm_gpusvm_range_get_pages(struct drm_gpusvm *gpusvm,
			       struct drm_gpusvm_range *range,
			       const struct drm_gpusvm_ctx *ctx)
{
	struct mmu_interval_notifier *mni = &range->notifier->notifier;
	unsigned long start = drm_gpusvm_range_start(range);
	unsigned long end = drm_gpusvm_range_end(range);
	unsigned long npages = drm_gpusvm_npages(start, end);
	unsigned long timeout = jiffies +
		msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	struct hmm_range hmm_range = {
		.notifier = mni,
		.start = start,
		.end = end,
		.default_flags = HMM_PFN_REQ_FAULT |
				 (ctx->read_only ? 0 : HMM_PFN_REQ_WRITE),
		.dev_private_owner = gpusvm->device_private_page_owner,
	};
	struct drm_pagemap_device_addr *dma_addr = NULL;
	unsigned long small_pfns[DRM_GPUSVM_SMALL_PFNS];
	struct mm_struct *mm = gpusvm->mm;
	unsigned int nblocks, dma_size = 0;
	unsigned long *pfns;
	int err;

	if (WARN_ON(drm_gpusvm_range_removed(range)))
		return -EINVAL;

	err = drm_gpusvm_range_reuse_pages(gpusvm, range, ctx);
	if (err)
		return err < 0 ? err : 0;

	pfns = drm_gpusvm_pfns_alloc(small_pfns, npages);
	if (!pfns)
		return -ENOMEM;
	hmm_range.hmm_pfns = pfns;

	if (!mmget_not_zero(mm)) {
		err = -ENOENT;
		goto out_free;
	}

	/* Its CPU mapping is gone, or part of it: nothing to collect. */
	if (drm_gpusvm_range_read_flags(range).unmapped) {
		err = -EFAULT;
		goto out_mmput;
	}

retry:
	do {
		/* A fresh sequence for every attempt, or -EBUSY never ends. */
		hmm_range.notifier_seq = mmu_interval_read_begin(mni);
		mmap_read_lock(mm);
		err = drm_gpusvm_check_vmas(mm, start, end);
		if (!err)
			err = hmm_range_fault(&hmm_range);
		mmap_read_unlock(mm);
	} while (err == -EBUSY && !time_after(jiffies, timeout));
	if (err)
		goto out_mmput;

	/*
	 * Device pages the CPU maps read-only cannot take the write: fault
	 * the range again without a device-private owner, which moves them
	 * to system memory and breaks copy-on-write there.
	 */
	if (!ctx->read_only && hmm_range.dev_private_owner &&
	    drm_gpusvm_pfns_read_only(pfns, npages)) {
		hmm_range.dev_private_owner = NULL;
		goto retry;
	}

	/*
	 * One entry per block, so a huge page costs one entry. A table of
	 * another size is replaced; allocated here, since nothing may
	 * allocate under the notifier lock.
	 */
	nblocks = drm_gpusvm_count_blocks(pfns, start, end);
	if (range->num_dma_addr != nblocks && dma_size != nblocks) {
		kvfree(dma_addr);
		dma_addr = kvmalloc_array(nblocks, sizeof(*dma_addr),
					  GFP_KERNEL_ACCOUNT);
		if (!dma_addr) {
			err = -ENOMEM;
			goto out_mmput;
		}
		dma_size = nblocks;
	}

	down_read(&gpusvm->notifier_lock);
	if (mmu_interval_read_retry(mni, hmm_range.notifier_seq)) {
		up_read(&gpusvm->notifier_lock);
		if (time_after(jiffies, timeout)) {
			err = -EBUSY;
			goto out_mmput;
		}
		goto retry;
	}

	/* Mapped already if the earlier pages are still valid. */
	if (!range->flags.has_dma_mapping) {
		/* Unused while unmapped: swap in the table of the right size. */
		if (range->num_dma_addr != nblocks) {
			swap(range->dma_addr, dma_addr);
			range->num_dma_addr = nblocks;
		}
		err = drm_gpusvm_range_map(gpusvm, range, pfns,
					   hmm_range.notifier_seq, ctx);
	} else if (ctx->devmem_only &&
		   !drm_gpusvm_pfns_all_devmem(gpusvm, pfns, npages)) {
		err = -EFAULT;
	}
	up_read(&gpusvm->notifier_lock);

out_mmput:
	mmput(mm);
out_free:
	kvfree(dma_addr);
	drm_gpusvm_pfns_free(pfns, small_pfns);
	return err;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_get_pages);

/**
 * drm_gpusvm_range_unmap_pages() - Release the pages of a range
 * @gpusvm: The GPU SVM.
 * @range: The range.
 * @ctx: Operation arguments: &drm_gpusvm_ctx.in_notifier is used.
 *
 * Undoes the device mappings made by drm_gpusvm_range_get_pages(); the
 * pages are no longer valid afterwards. The driver must have stopped the
 * GPU from using them. Does nothing if the range has no pages.
 *
 * Context: Process context or the &drm_gpusvm_ops.invalidate callback.
 * From the callback, &drm_gpusvm_ctx.in_notifier is set and the notifier
 * lock is already held for write; otherwise the notifier lock is taken for
 * write here and the caller must not hold it.
 */
void drm_gpusvm_range_unmap_pages(struct drm_gpusvm *gpusvm,
				  struct drm_gpusvm_range *range,
				  const struct drm_gpusvm_ctx *ctx)
{
	if (ctx->in_notifier) {
		lockdep_assert_held_write(&gpusvm->notifier_lock);
		__drm_gpusvm_range_unmap_pages(gpusvm, range);
		return;
	}

	down_write(&gpusvm->notifier_lock);
	__drm_gpusvm_range_unmap_pages(gpusvm, range);
	up_write(&gpusvm->notifier_lock);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_unmap_pages);

/* Fault [@start, @end), inside one VMA, in for the CPU. Mmap lock held. */
static int drm_gpusvm_fault_to_ram(struct mmu_interval_notifier *mni,
				   unsigned long start, unsigned long end,
				   unsigned long *pfns, unsigned long timeout)
{
	struct hmm_range hmm_range = {
		.notifier = mni,
		.start = start,
		.end = end,
		.hmm_pfns = pfns,
		.default_flags = HMM_PFN_REQ_FAULT,
		/* No owner: every device-private page is migrated to RAM. */
		.dev_private_owner = NULL,
	};
	int err;

	do {
		hmm_range.notifier_seq = mmu_interval_read_begin(mni);
		err = hmm_range_fault(&hmm_range);
	} while (err == -EBUSY && !time_after(jiffies, timeout));

	return err;
}

/*
 * Whether [@start, @end) may hold pages in this device's memory, using @pfns
 * as scratch. Moving them costs an invalidation of the range even when
 * there is none: look first, and move when unsure.
 */
static bool drm_gpusvm_has_devmem(struct drm_gpusvm *gpusvm,
				  struct drm_gpusvm_notifier *notifier,
				  unsigned long start, unsigned long end,
				  unsigned long *pfns)
{
	unsigned long i, npages = drm_gpusvm_npages(start, end);

	if (!gpusvm->device_private_page_owner)
		return false;
	if (drm_gpusvm_snapshot(gpusvm, notifier, start, end, pfns))
		return true;

	for (i = 0; i < npages; i++)
		if ((pfns[i] & HMM_PFN_VALID) &&
		    drm_gpusvm_page_is_devmem(gpusvm, hmm_pfn_to_page(pfns[i])))
			return true;

	return false;
}

/*
 * The number of pages of @range in this device's memory according to its
 * DMA mapping, if that mapping is current: no invalidation of the notifier
 * since the pages were collected, so every page of the range is populated
 * and still where it was mapped. -1 if the range has no current mapping.
 */
static long drm_gpusvm_range_mapped_devmem(struct drm_gpusvm *gpusvm,
					   struct drm_gpusvm_range *range)
{
	struct drm_pagemap_device_addr *entry;
	long count = -1;
	unsigned long i;

	down_read(&gpusvm->notifier_lock);
	if (range->flags.has_dma_mapping && !range->flags.unmapped &&
	    !mmu_interval_check_retry(&range->notifier->notifier,
				      range->notifier_seq)) {
		count = 0;
		if (range->flags.has_devmem_pages)
			drm_gpusvm_for_each_dma_block(range, entry, i)
				if (entry->proto != DRM_INTERCONNECT_SYSTEM)
					count += 1UL << entry->order;
	}
	up_read(&gpusvm->notifier_lock);

	return count;
}

/*
 * The interval [@start, @end) of ranges whose current DMA mappings count
 * @devmem pages in this device's memory (-1: not known) lies in one VMA:
 * moving those pages back is all there is to do, without looking at the CPU
 * page tables first nor faulting them in after. Returns true with *@err set
 * if that did the job, false if the full walk has to (not known, another
 * VMA, or fewer or more pages moved than counted). Mmap lock held.
 */
static bool drm_gpusvm_evict_counted(struct drm_gpusvm *gpusvm,
				     unsigned long start, unsigned long end,
				     long devmem, int *err)
{
	struct vm_area_struct *vma;
	long moved = 0;

	if (devmem < 0 || (devmem && !gpusvm->device_private_page_owner))
		return false;
	vma = vma_lookup(gpusvm->mm, start);
	if (!vma || vma->vm_end < end)
		return false;

	if (devmem)
		moved = drm_pagemap_migrate_range_to_ram(gpusvm->mm, start, end,
							 gpusvm->device_private_page_owner);
	if (moved < 0) {
		*err = moved;
		return true;
	}
	*err = 0;
	return moved == devmem;
}

/*
 * drm_gpusvm_range_evict() with the mmap lock held: the fast path of a
 * current mapping, else the walk over the VMAs of @range.
 */
static int __drm_gpusvm_range_evict(struct drm_gpusvm *gpusvm,
				    struct drm_gpusvm_range *range)
{
	unsigned long start = drm_gpusvm_range_start(range);
	unsigned long end = drm_gpusvm_range_end(range);
	unsigned long timeout = jiffies +
		msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	unsigned long small_pfns[DRM_GPUSVM_SMALL_PFNS];
	struct mm_struct *mm = gpusvm->mm;
	struct vm_area_struct *vma;
	unsigned long *pfns;
	long moved;
	int err = 0;

	if (drm_gpusvm_evict_counted(gpusvm, start, end,
				     drm_gpusvm_range_mapped_devmem(gpusvm, range),
				     &err))
		return err;

	pfns = drm_gpusvm_pfns_alloc(small_pfns, drm_gpusvm_npages(start, end));
	if (!pfns)
		return -ENOMEM;

	/* Holes have no pages to move: only the VMAs are faulted. */
	for (vma = find_vma_intersection(mm, start, end); vma && !err;
	     vma = find_vma_intersection(mm, vma->vm_end, end)) {
		unsigned long s = max(start, vma->vm_start);
		unsigned long e = min(end, vma->vm_end);

		/*
		 * Coherent pages never fault: move this device's pages
		 * explicitly, private ones too (that spares a fault each).
		 */
		if (drm_gpusvm_has_devmem(gpusvm, range->notifier, s, e,
					  pfns + drm_gpusvm_npages(start, s))) {
			moved = drm_pagemap_migrate_range_to_ram(mm, s, e,
								 gpusvm->device_private_page_owner);
			if (moved < 0) {
				err = moved;
				break;
			}
		}
		err = drm_gpusvm_fault_to_ram(&range->notifier->notifier, s, e,
					      pfns + drm_gpusvm_npages(start, s),
					      timeout);
	}
	drm_gpusvm_pfns_free(pfns, small_pfns);

	return err;
}

/**
 * drm_gpusvm_range_evict() - Move the device pages of a range to system RAM
 * @gpusvm: The GPU SVM.
 * @range: The range.
 *
 * Moves the device pages of &drm_gpusvm.device_private_page_owner in the
 * parts of @range still mapped by the CPU to system memory with
 * drm_pagemap_migrate_range_to_ram() (the only way out for coherent pages,
 * which never fault), then faults those parts in with hmm_range_fault()
 * without a device-private owner, so that every device-private page left,
 * whoever owns it, goes through its migrate_to_ram() handler. The
 * resulting invalidation releases the range's pages through
 * &drm_gpusvm_ops.invalidate. Pages the CPU had not populated are
 * populated; unmapped parts of @range (after a partial munmap()) are
 * skipped, they hold no pages. Coherent pages of other owners stay where
 * they are: they are system memory to this device.
 *
 * While the pages the range collected last are still current (no
 * invalidation since), its DMA mapping tells how many are device pages:
 * then, if those all move, the CPU page tables are neither looked at before
 * nor faulted in after.
 *
 * Context: Process context; may sleep. Takes the mmap lock for read; the
 * caller holds neither it nor the notifier lock.
 *
 * Return: 0 on success, also if nothing of @range is mapped anymore, or
 * -EFAULT if a VMA in @range cannot be faulted in (no read permission,
 * VM_IO or VM_PFNMAP);
 * -EBUSY if invalidations kept racing with the fault for
 * HMM_RANGE_DEFAULT_TIMEOUT milliseconds;
 * -ENOENT if the address space has no user anymore;
 * -ENOMEM if out of memory;
 * -EINVAL if @range was removed;
 * the error of &drm_pagemap_devmem_ops.copy_to_ram (the pages stay in
 * device memory); or another error of hmm_range_fault().
 */
int drm_gpusvm_range_evict(struct drm_gpusvm *gpusvm,
			   struct drm_gpusvm_range *range)
{
	struct mm_struct *mm = gpusvm->mm;
	int err;

	if (WARN_ON(drm_gpusvm_range_removed(range)))
		return -EINVAL;

	if (!mmget_not_zero(mm))
		return -ENOENT;

	mmap_read_lock(mm);
	err = __drm_gpusvm_range_evict(gpusvm, range);
	mmap_read_unlock(mm);
	mmput(mm);
	return err;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_evict);

/*
 * The pages in this device's memory of the ranges intersecting [@start,
 * @end) according to their current DMA mappings, and in [*@lo, *@hi) the
 * interval those ranges cover (empty if there is none). -1 if a range has
 * no current mapping or the ranges leave a gap: pages in a gap belong to no
 * mapping, and could make up for pages of a range that did not move.
 */
static long drm_gpusvm_span_mapped_devmem(struct drm_gpusvm *gpusvm,
					  unsigned long start,
					  unsigned long end,
					  unsigned long *lo, unsigned long *hi)
{
	struct drm_gpusvm_notifier *notifier;
	long devmem = 0, count;

	*lo = start;
	*hi = start;
	drm_gpusvm_for_each_notifier(notifier, gpusvm, start, end) {
		struct drm_gpusvm_range *range = NULL;

		drm_gpusvm_for_each_range(range, notifier, start, end) {
			if (*lo == *hi)
				*lo = drm_gpusvm_range_start(range);
			else if (drm_gpusvm_range_start(range) != *hi)
				devmem = -1;
			*hi = drm_gpusvm_range_end(range);
			count = drm_gpusvm_range_mapped_devmem(gpusvm, range);
			if (count < 0)
				devmem = -1;
			else if (devmem >= 0)
				devmem += count;
		}
	}
	return devmem;
}

/**
 * drm_gpusvm_evict_span() - Move the device pages of the ranges in an
 * interval to system RAM
 * @gpusvm: The GPU SVM.
 * @start: Start of the interval.
 * @end: End of the interval (exclusive).
 *
 * Does what drm_gpusvm_range_evict() does for every range intersecting
 * [@start, @end), whole ranges, in address order, stopping at the first
 * error. Where those ranges follow each other without a gap, lie in one VMA
 * and all have a current DMA mapping, one migration moves the device pages
 * of all of them, as one migrate_vma pass: a request that the chunk sizes
 * cut into several ranges costs what one range does. Memory without a range
 * is not looked at.
 *
 * Context: Process context; may sleep. The caller holds the driver lock,
 * not the mmap lock nor the notifier lock.
 *
 * Return: 0 on success, also if no range intersects the interval;
 * -EINVAL if @start is not below @end;
 * -ENOENT if the address space has no user anymore;
 * or the first error of drm_gpusvm_range_evict() on a range (the ranges
 * before it are evicted, those after it are not looked at).
 */
int drm_gpusvm_evict_span(struct drm_gpusvm *gpusvm, unsigned long start,
			  unsigned long end)
{
	struct drm_gpusvm_notifier *notifier;
	struct mm_struct *mm = gpusvm->mm;
	unsigned long lo, hi;
	long devmem;
	int err = 0;

	drm_gpusvm_driver_lock_held(gpusvm);

	if (start >= end)
		return -EINVAL;
	if (!mmget_not_zero(mm))
		return -ENOENT;

	mmap_read_lock(mm);
	devmem = drm_gpusvm_span_mapped_devmem(gpusvm, start, end, &lo, &hi);
	if (lo == hi ||
	    drm_gpusvm_evict_counted(gpusvm, lo, hi, devmem, &err))
		goto out_unlock;

	drm_gpusvm_for_each_notifier(notifier, gpusvm, start, end) {
		struct drm_gpusvm_range *range = NULL;

		drm_gpusvm_for_each_range(range, notifier, start, end) {
			err = __drm_gpusvm_range_evict(gpusvm, range);
			if (err)
				goto out_unlock;
		}
	}

out_unlock:
	mmap_read_unlock(mm);
	mmput(mm);
	return err;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_evict_span);

/**
 * drm_gpusvm_has_mapping() - Whether ranges exist in an interval
 * @gpusvm: The GPU SVM.
 * @start: Start of the interval.
 * @end: End of the interval (exclusive).
 *
 * Context: The caller holds the driver lock or the notifier lock.
 *
 * Return: true if at least one range intersects [@start, @end), false
 * otherwise.
 */
bool drm_gpusvm_has_mapping(struct drm_gpusvm *gpusvm, unsigned long start,
			    unsigned long end)
{
	struct drm_gpusvm_notifier *notifier;

	drm_gpusvm_for_each_notifier(notifier, gpusvm, start, end) {
		if (drm_gpusvm_range_find(notifier, start, end))
			return true;
	}

	return false;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_has_mapping);

/**
 * drm_gpusvm_range_set_unmapped() - Mark a range as unmapped by the CPU
 * @range: The range.
 * @mmu_range: The interval being unmapped.
 *
 * Sets &drm_gpusvm_range_flags.unmapped, and
 * &drm_gpusvm_range_flags.partial_unmap if @mmu_range does not cover the
 * whole range and the range was not unmapped as a whole already (a later
 * munmap() of part of what was mapped in its place since). The driver
 * removes such ranges later (see "Partial unmap").
 *
 * Context: The &drm_gpusvm_ops.invalidate callback, or any caller holding
 * the notifier lock for write.
 */
void drm_gpusvm_range_set_unmapped(struct drm_gpusvm_range *range,
				   const struct mmu_notifier_range *mmu_range)
{
	struct drm_gpusvm_range_flags flags = {
		.__flags = range->flags.__flags,
	};

	lockdep_assert_held_write(&range->gpusvm->notifier_lock);

	if ((!flags.unmapped || flags.partial_unmap) &&
	    (drm_gpusvm_range_start(range) < mmu_range->start ||
	     drm_gpusvm_range_end(range) > mmu_range->end))
		flags.partial_unmap = true;
	flags.unmapped = true;
	WRITE_ONCE(range->flags.__flags, flags.__flags);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_set_unmapped);

/* Whether a range other than @range intersects [@start, @end). */
static bool drm_gpusvm_other_range(struct drm_gpusvm_range *range,
				   unsigned long start, unsigned long end)
{
	struct drm_gpusvm_range *other = NULL;

	drm_gpusvm_for_each_range(other, range->notifier, start, end)
		if (other != range)
			return true;
	return false;
}

/*
 * Whether drm_gpusvm_range_find_or_insert() would give @range's start the
 * interval of @range if @range were not there, in a VMA spanning [@lo,
 * @hi): the first chunk block that no other range intersects is @range's.
 */
static bool drm_gpusvm_range_fits(struct drm_gpusvm *gpusvm,
				  struct drm_gpusvm_range *range,
				  unsigned long lo, unsigned long hi)
{
	unsigned long start = drm_gpusvm_range_start(range);
	unsigned long clip = drm_gpusvm_clip_size(gpusvm);
	unsigned long s, e;
	int i;

	for (i = 0; i < gpusvm->num_chunks; i++) {
		if (!drm_gpusvm_chunk_block(gpusvm, i, clip, start, lo, hi,
					    &s, &e) ||
		    drm_gpusvm_other_range(range, s, e))
			continue;
		return s == start && e == drm_gpusvm_range_end(range);
	}
	return false;
}

/**
 * drm_gpusvm_range_reuse() - Keep an unmapped range for the memory mapped in
 * its place
 * @gpusvm: The GPU SVM.
 * @range: A range the CPU unmapped as a whole: flagged
 *	   &drm_gpusvm_range_flags.unmapped, not
 *	   &drm_gpusvm_range_flags.partial_unmap.
 *
 * Programs often unmap memory and map new memory at the same addresses (an
 * allocator giving memory back to the system and taking it again). The
 * garbage collector would remove @range, and the next GPU fault there would
 * insert the same range again. If the CPU has mapped the whole of @range
 * again, in one readable VMA that the GPU SVM can mirror, and
 * drm_gpusvm_range_find_or_insert() would give that memory a range with the
 * same bounds (the GPU VA window and the pages threshold aside), this keeps
 * @range for it instead: it loses its unmapped flag and its thrashing and
 * access history, and is like a range just inserted, without pages;
 * &drm_gpusvm_range_flags.migrate_devmem is cleared if the new VMA does not
 * allow device memory. A later munmap() flags it unmapped again.
 *
 * A driver calls it from its garbage collector, for a range unmapped as a
 * whole, before drm_gpusvm_range_remove(), and removes the range if it
 * returns false. Its own state of the range must be that of a new range
 * (the invalidation took the range off the GPU).
 *
 * Context: Process context; may sleep. The caller holds the driver lock,
 * not the mmap lock nor the notifier lock.
 *
 * Return: true if @range now mirrors the memory mapped in its place; false
 * if it is to be removed: it was not unmapped as a whole, nothing or not
 * the same kind of memory is mapped there, the range would not be the
 * same, or the address space has no user anymore.
 */
bool drm_gpusvm_range_reuse(struct drm_gpusvm *gpusvm,
			    struct drm_gpusvm_range *range)
{
	unsigned long mm_end = gpusvm->mm_start + gpusvm->mm_range;
	unsigned long start = drm_gpusvm_range_start(range);
	struct drm_gpusvm_range_flags flags;
	struct mm_struct *mm = gpusvm->mm;
	struct vm_area_struct *vma;
	bool reused = false;

	drm_gpusvm_driver_lock_held(gpusvm);

	flags = drm_gpusvm_range_read_flags(range);
	if (drm_gpusvm_range_removed(range) || !flags.unmapped ||
	    flags.partial_unmap)
		return false;
	if (!mmget_not_zero(mm))
		return false;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, start);
	if (!vma || vma->vm_end < drm_gpusvm_range_end(range) ||
	    !drm_gpusvm_vma_mirrorable(vma) || !(vma->vm_flags & VM_READ) ||
	    !drm_gpusvm_range_fits(gpusvm, range,
				   max(vma->vm_start, gpusvm->mm_start),
				   min(vma->vm_end, mm_end)))
		goto out_unlock;

	down_write(&gpusvm->notifier_lock);
	flags.__flags = range->flags.__flags;
	if (!flags.has_dma_mapping) {
		flags.unmapped = false;
		flags.migrate_devmem &= drm_gpusvm_vma_devmem(vma);
		WRITE_ONCE(range->flags.__flags, flags.__flags);
		drm_gpusvm_range_thrash_reset(range);
		reused = true;
	}
	up_write(&gpusvm->notifier_lock);
	/* Else drm_gpusvm_range_remove() forgets it. */
	if (reused)
		drm_gpusvm_range_forget_use(range);

out_unlock:
	mmap_read_unlock(mm);
	mmput(mm);
	return reused;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_reuse);

/**
 * drm_gpusvm_range_partial_extent() - What a partial CPU change takes from a
 * range
 * @range: A range of the notifier being invalidated.
 * @mmu_range: The CPU address range changing.
 * @start: Output: first address of the part of @range to take off the GPU.
 * @end: Output: end (exclusive) of that part.
 *
 * munmap() or mprotect() of part of @range (an MMU_NOTIFY_UNMAP or
 * MMU_NOTIFY_PROTECTION_VMA event that does not cover it) need not cost the
 * GPU the whole range: the rest keeps its pages, its device memory and its
 * GPU mappings, and drm_gpusvm_range_split() later replaces @range by
 * ranges covering that rest. This computes the part that must go:
 * @mmu_range clipped to @range and widened to whole device-mapped blocks,
 * since a block (a huge page) is mapped for the device in one piece. A
 * driver that splits zaps its GPU page-table entries of [@start, @end),
 * then calls drm_gpusvm_range_unmap_partial() with the same bounds, and
 * queues @range for its garbage collector.
 *
 * Context: The &drm_gpusvm_ops.invalidate callback (notifier lock held for
 * write).
 *
 * Return: true if the change is partial and of a kind a split handles,
 * false if the driver must take the whole range down as usual (then
 * @start and @end are the bounds of @range).
 */
bool drm_gpusvm_range_partial_extent(struct drm_gpusvm_range *range,
				     const struct mmu_notifier_range *mmu_range,
				     unsigned long *start, unsigned long *end)
{
	unsigned long rstart = drm_gpusvm_range_start(range);
	unsigned long rend = drm_gpusvm_range_end(range);
	struct drm_pagemap_device_addr *entry;
	unsigned long pgoff;

	lockdep_assert_held_write(&range->gpusvm->notifier_lock);

	*start = rstart;
	*end = rend;
	if (mmu_range->event != MMU_NOTIFY_UNMAP &&
	    mmu_range->event != MMU_NOTIFY_PROTECTION_VMA)
		return false;
	if (mmu_range->start <= rstart && mmu_range->end >= rend)
		return false;
	if (mmu_range->end <= rstart || mmu_range->start >= rend)
		return false;

	*start = max(rstart, mmu_range->start & PAGE_MASK);
	*end = min(rend, PAGE_ALIGN(mmu_range->end));
	if (!range->flags.has_dma_mapping)
		return true;

	drm_gpusvm_for_each_dma_block(range, entry, pgoff) {
		unsigned long bstart = rstart + (pgoff << PAGE_SHIFT);
		unsigned long bend = bstart + (PAGE_SIZE << entry->order);

		if (bstart < *start && bend > *start)
			*start = bstart;
		if (bstart < *end && bend > *end)
			*end = bend;
	}

	return true;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_partial_extent);

/**
 * drm_gpusvm_range_unmap_partial() - Release the pages of part of a range
 * @gpusvm: The GPU SVM.
 * @range: The range.
 * @start: First address of the part, from drm_gpusvm_range_partial_extent().
 * @end: End (exclusive) of the part, from the same call.
 *
 * Releases the device mappings of the blocks inside [@start, @end) and
 * marks @range &drm_gpusvm_range_flags.unmapped and
 * &drm_gpusvm_range_flags.partial_unmap: it is not bound again, and its
 * driver hands it to drm_gpusvm_range_split() (or removes it). The pages
 * of the rest of the range stay mapped for the device; the GPU keeps using
 * them through the mappings it has until the split. The driver must have
 * stopped the GPU from using [@start, @end). Calling it again for another
 * part before the split is fine.
 *
 * Context: The &drm_gpusvm_ops.invalidate callback (notifier lock held for
 * write).
 */
void drm_gpusvm_range_unmap_partial(struct drm_gpusvm *gpusvm,
				    struct drm_gpusvm_range *range,
				    unsigned long start, unsigned long end)
{
	unsigned long rstart = drm_gpusvm_range_start(range);
	struct drm_gpusvm_range_flags flags;
	struct drm_pagemap_device_addr *entry;
	struct device *dev = gpusvm->drm->dev;
	unsigned long pgoff;
	bool kept = false;

	lockdep_assert_held_write(&gpusvm->notifier_lock);

	if (range->flags.has_dma_mapping) {
		drm_gpusvm_for_each_dma_block(range, entry, pgoff) {
			unsigned long bstart = rstart + (pgoff << PAGE_SHIFT);
			unsigned long bend = bstart + (PAGE_SIZE << entry->order);

			if (!drm_gpusvm_dma_block_mapped(entry))
				continue;
			if (bend <= start || bstart >= end) {
				kept = true;
				continue;
			}
			drm_gpusvm_unmap_entry(dev, range->dpagemap, entry);
			entry->dir = DMA_NONE;
		}
		/* Nothing left to keep: as a full unmap. */
		if (!kept)
			__drm_gpusvm_range_unmap_pages(gpusvm, range);
	}

	flags.__flags = range->flags.__flags;
	flags.unmapped = true;
	flags.partial_unmap = true;
	WRITE_ONCE(range->flags.__flags, flags.__flags);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_unmap_partial);

/* A range to be, that takes over blocks [@first, @first + @nblocks). */
struct drm_gpusvm_piece {
	unsigned long start;
	unsigned long end;
	unsigned int first;
	unsigned int nblocks;
};

/*
 * The size of the piece that starts at @addr, before @limit, and ends on a
 * block boundary: blocks from entry @first on. The largest chunk size that
 * fits naturally aligned, or, as for a new range, the block of the clip
 * size around @addr cut at @limit or started at @addr, if that leaves more
 * than a page (see "Overview"). 0 if none.
 */
static unsigned long drm_gpusvm_piece_size(struct drm_gpusvm_range *range,
					   unsigned long addr,
					   unsigned long limit,
					   unsigned int first,
					   unsigned int *nblocks)
{
	struct drm_gpusvm *gpusvm = range->gpusvm;
	unsigned long clip = drm_gpusvm_clip_size(gpusvm);
	int i;

	for (i = 0; i < gpusvm->num_chunks; i++) {
		unsigned long size = gpusvm->chunk_sizes[i];
		unsigned long a = addr, s, end;
		unsigned int j = first;

		if (IS_ALIGNED(addr, size) && limit - addr >= size)
			end = addr + size;
		else if (size != clip ||
			 !drm_gpusvm_cut_block(clip, addr, addr, limit, &s, &end))
			continue;
		while (a < end)
			a += PAGE_SIZE << range->dma_addr[j++].order;
		if (a == end) {
			*nblocks = j - first;
			return end - addr;
		}
	}

	return 0;
}

/*
 * Cut what @range keeps into pieces: runs of blocks still mapped, each cut
 * greedily into naturally aligned chunks that end on block boundaries, or
 * blocks of the clip size cut at the ends of the run.
 * Blocks no chunk fits (chunk sizes without PAGE_SIZE) are left out and
 * counted in *@left_out. Fills up to @max pieces and returns how many
 * there are.
 */
static unsigned int drm_gpusvm_split_plan(struct drm_gpusvm_range *range,
					  struct drm_gpusvm_piece *pieces,
					  unsigned int max,
					  unsigned int *left_out)
{
	unsigned long rstart = drm_gpusvm_range_start(range);
	unsigned long npages = drm_gpusvm_range_npages(range);
	unsigned long pgoff = 0, run_end, size;
	unsigned int j = 0, k, n = 0, nblocks;

	lockdep_assert_held(&range->gpusvm->notifier_lock);

	*left_out = 0;
	if (!range->flags.has_dma_mapping)
		return 0;

	while (pgoff < npages) {
		if (!drm_gpusvm_dma_block_mapped(&range->dma_addr[j])) {
			pgoff += 1UL << range->dma_addr[j++].order;
			continue;
		}
		/* The run of mapped blocks from entry j. */
		run_end = pgoff;
		for (k = j; run_end < npages &&
		     drm_gpusvm_dma_block_mapped(&range->dma_addr[k]); k++)
			run_end += 1UL << range->dma_addr[k].order;

		while (pgoff < run_end) {
			unsigned long addr = rstart + (pgoff << PAGE_SHIFT);

			size = drm_gpusvm_piece_size(range, addr,
						     rstart + (run_end << PAGE_SHIFT),
						     j, &nblocks);
			if (!size) {
				pgoff += 1UL << range->dma_addr[j++].order;
				(*left_out)++;
				continue;
			}
			if (n < max) {
				pieces[n].start = addr;
				pieces[n].end = addr + size;
				pieces[n].first = j;
				pieces[n].nblocks = nblocks;
			}
			n++;
			pgoff += size >> PAGE_SHIFT;
			j += nblocks;
		}
	}

	return n;
}

/* Hand blocks of @old to the new range @new, which takes over @piece. */
static void drm_gpusvm_split_move(struct drm_gpusvm_range *old,
				  struct drm_gpusvm_range *new,
				  const struct drm_gpusvm_piece *piece)
{
	struct drm_gpusvm_range_flags flags = {
		.migrate_devmem = old->flags.migrate_devmem,
		.has_dma_mapping = true,
		.mapped_read_only = old->flags.mapped_read_only,
	};
	unsigned int i;

	for (i = 0; i < piece->nblocks; i++) {
		struct drm_pagemap_device_addr *entry =
			&old->dma_addr[piece->first + i];

		new->dma_addr[i] = *entry;
		if (entry->proto != DRM_INTERCONNECT_SYSTEM)
			flags.has_devmem_pages = true;
		entry->dir = DMA_NONE;
	}
	new->num_dma_addr = piece->nblocks;
	new->thrash_count = old->thrash_count;
	new->thrash_repins = old->thrash_repins;
	new->thrash_last_ns = old->thrash_last_ns;
	new->thrash_pinned_until_ns = old->thrash_pinned_until_ns;
	new->dpagemap = flags.has_devmem_pages ? old->dpagemap : NULL;
	new->notifier_seq = old->notifier_seq;
	new->flags.__flags = flags.__flags;
}

static void drm_gpusvm_split_free(struct drm_gpusvm_range **ranges,
				  unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		drm_gpusvm_range_put(ranges[i]);
	kfree(ranges);
}

/* Allocate the ranges of a plan, with their block tables. */
static struct drm_gpusvm_range **
drm_gpusvm_split_alloc(struct drm_gpusvm_range *range,
		       const struct drm_gpusvm_piece *pieces, unsigned int n)
{
	struct drm_gpusvm_range **ranges;
	unsigned int i;

	ranges = kcalloc(n, sizeof(*ranges), GFP_KERNEL);
	if (!ranges)
		return NULL;

	for (i = 0; i < n; i++) {
		ranges[i] = drm_gpusvm_range_alloc(range->gpusvm,
						   range->notifier,
						   pieces[i].start,
						   pieces[i].end,
						   range->flags.migrate_devmem);
		if (!ranges[i])
			goto err;
		ranges[i]->dma_addr = kvmalloc_array(pieces[i].nblocks,
						     sizeof(*ranges[i]->dma_addr),
						     GFP_KERNEL_ACCOUNT);
		if (!ranges[i]->dma_addr) {
			i++;
			goto err;
		}
	}

	return ranges;

err:
	drm_gpusvm_split_free(ranges, i);
	return NULL;
}

/*
 * drm_gpusvm_range_split() with the mmap lock held. Return: the number of
 * ranges inserted with @range taken out, 0 if there is nothing to keep (the
 * caller removes @range), or a negative error code.
 */
static int __drm_gpusvm_range_split(struct drm_gpusvm *gpusvm,
				    struct drm_gpusvm_range *range)
{
	struct drm_gpusvm_notifier *notifier = range->notifier;
	struct drm_gpusvm_piece *pieces, *check;
	struct drm_gpusvm_range **ranges;
	unsigned int n, max = 0, i, left_out;
	int tries;

	for (tries = 0; tries < 8; tries++) {
		down_read(&gpusvm->notifier_lock);
		n = drm_gpusvm_split_plan(range, NULL, 0, &left_out);
		up_read(&gpusvm->notifier_lock);
		/*
		 * Releasing blocks here would leave the driver's GPU mappings
		 * of them behind: it takes the whole range down instead.
		 */
		if (left_out)
			return -EOPNOTSUPP;
		if (!n)
			return 0;

		pieces = kmalloc_array(2 * n, sizeof(*pieces), GFP_KERNEL);
		if (!pieces)
			return -ENOMEM;
		check = pieces + n;

		down_read(&gpusvm->notifier_lock);
		max = drm_gpusvm_split_plan(range, pieces, n, &left_out);
		up_read(&gpusvm->notifier_lock);
		if (max != n || left_out) {
			kfree(pieces);
			continue;
		}

		ranges = drm_gpusvm_split_alloc(range, pieces, n);
		if (!ranges) {
			kfree(pieces);
			return -ENOMEM;
		}

		/* Out of the index before out of the tree, see range_index. */
		drm_gpusvm_index_del(gpusvm, range);
		down_write(&gpusvm->notifier_lock);
		/* An invalidation since the plan may have dropped more. */
		if (drm_gpusvm_split_plan(range, check, n, &left_out) != n ||
		    left_out || memcmp(pieces, check, n * sizeof(*pieces))) {
			up_write(&gpusvm->notifier_lock);
			drm_gpusvm_index_add(gpusvm, range);
			drm_gpusvm_split_free(ranges, n);
			kfree(pieces);
			continue;
		}

		for (i = 0; i < n; i++)
			drm_gpusvm_split_move(range, ranges[i], &pieces[i]);
		/* Every block moved: this only updates the flags. */
		__drm_gpusvm_range_unmap_pages(gpusvm, range);
		interval_tree_remove(&range->itree, &notifier->root);
		RB_CLEAR_NODE(&range->itree.rb);
		list_del_init(&range->entry);
		/* The tree's references are the ones of the allocation. */
		for (i = 0; i < n; i++)
			drm_gpusvm_range_insert(notifier, ranges[i]);
		up_write(&gpusvm->notifier_lock);

		for (i = 0; i < n; i++)
			drm_gpusvm_index_add(gpusvm, ranges[i]);

		kfree(ranges);
		kfree(pieces);
		drm_gpusvm_range_put(range);
		return n;
	}

	return -EAGAIN;
}

/**
 * drm_gpusvm_range_split() - Replace a partly unmapped range by the ranges
 * it keeps
 * @gpusvm: The GPU SVM.
 * @range: A range marked by drm_gpusvm_range_unmap_partial().
 *
 * Removes @range and inserts in its place new ranges covering the blocks
 * that are still mapped, chosen as new ranges would be at the edges the
 * unmap left (naturally aligned chunks, and blocks of the smallest chunk
 * size above PAGE_SIZE cut at those edges: see "Overview"), each taking
 * over the device mappings of its blocks, so it is valid at once
 * (drm_gpusvm_range_pages_valid()) and its pages, device memory included,
 * do not move. Afterwards the driver finds the new ranges with
 * drm_gpusvm_for_each_range() over the bounds @range had, and moves its
 * GPU mappings of them over under the notifier lock, for those whose pages
 * are still valid (an invalidation may have come in between).
 *
 * If @range has nothing left to keep, or was invalidated completely since
 * its partial unmap, it is removed and no range replaces it.
 *
 * Context: Process context; may sleep. Takes the mmap lock for read and the
 * notifier lock. The caller holds the driver lock, not the mmap lock nor
 * the notifier lock, and a reference on @range, which it drops after.
 *
 * Return: The number of ranges inserted (0 or more) with @range removed,
 * or a negative error code with @range left as it was:
 * -EINVAL if @range was removed or is not partly unmapped;
 * -EOPNOTSUPP if a block that is still mapped fits no chunk size (possible
 * only without PAGE_SIZE among &drm_gpusvm.chunk_sizes);
 * -ENOMEM if out of memory (&drm_gpusvm_ops.range_alloc returned NULL);
 * -EAGAIN if invalidations kept changing @range.
 *
 * On an error, the driver takes the whole range off the GPU and removes it
 * with drm_gpusvm_range_remove().
 */
int drm_gpusvm_range_split(struct drm_gpusvm *gpusvm,
			   struct drm_gpusvm_range *range)
{
	struct mm_struct *mm = gpusvm->mm;
	int ret = 0;

	drm_gpusvm_driver_lock_held(gpusvm);

	if (drm_gpusvm_range_removed(range) || !range->flags.unmapped ||
	    !range->flags.partial_unmap)
		return -EINVAL;

	/*
	 * The mmap lock keeps munmap() and mprotect() calls that have not
	 * started yet, which would change the plan, away meanwhile (those
	 * under way, and NUMA hinting, may still change it: the plan is
	 * checked again). Without a user of the mm, there is nothing left to
	 * keep.
	 */
	if (mmget_not_zero(mm)) {
		mmap_read_lock(mm);
		ret = __drm_gpusvm_range_split(gpusvm, range);
		mmap_read_unlock(mm);
		mmput(mm);
	}

	/* Nothing to keep. Not under the mmap lock: it may remove a notifier. */
	if (!ret)
		__drm_gpusvm_range_remove(gpusvm, range);

	return ret;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_split);

/**
 * DOC: Thrashing
 *
 * Memory that the CPU and the GPU take turns on moves to device memory on
 * every GPU fault and back on every CPU fault: each turn pays two copies
 * and two page-table updates, more than the accesses themselves. GPU SVM
 * counts, per range, the migrations to device memory that follow each
 * other closely (at most &drm_gpusvm_thrash_params.lapse_ns apart: a
 * burst). A driver asks drm_gpusvm_range_thrash_check() before it
 * migrates a range on a GPU fault and tells drm_gpusvm_range_thrash_note()
 * after the migration. Some migrations into a burst the range is
 * throttled: its next migration waits a moment after the last one, which
 * gives the CPU time to finish with it. A few more and it is pinned: for
 * &drm_gpusvm_thrash_params.pin_ns (doubled each time it thrashes again
 * right after a pin, up to 8 times) it is not migrated at all, and the GPU
 * maps it where it is, in system memory once the CPU has faulted it back
 * (device-private memory cannot be left in place for the CPU; coherent
 * device memory does not thrash, the CPU uses it in place). Explicit
 * migrations (prefetch) are not counted.
 */

/**
 * drm_gpusvm_range_thrash_check() - May a range migrate to device memory now?
 * @gpusvm: The GPU SVM.
 * @range: The range a GPU fault wants to migrate.
 * @now_ns: The time, ktime_get_ns() (tests pass their own clock).
 * @wait_ns: Output: for %DRM_GPUSVM_THRASH_THROTTLE, how long to wait
 *	before migrating; 0 otherwise.
 *
 * Context: The caller holds the driver lock.
 *
 * Return: %DRM_GPUSVM_THRASH_PIN while the range is pinned: map it where
 * it is; %DRM_GPUSVM_THRASH_THROTTLE if it must wait *@wait_ns first (and
 * check again); %DRM_GPUSVM_THRASH_NONE to migrate. Always
 * %DRM_GPUSVM_THRASH_NONE when thrashing control is off
 * (&drm_gpusvm_thrash_params.lapse_ns is 0).
 */
enum drm_gpusvm_thrash
drm_gpusvm_range_thrash_check(struct drm_gpusvm *gpusvm,
			      struct drm_gpusvm_range *range, u64 now_ns,
			      u64 *wait_ns)
{
	const struct drm_gpusvm_thrash_params *p = &gpusvm->thrash;
	u64 until;

	drm_gpusvm_driver_lock_held(gpusvm);

	*wait_ns = 0;
	if (!p->lapse_ns)
		return DRM_GPUSVM_THRASH_NONE;
	if (now_ns < range->thrash_pinned_until_ns)
		return DRM_GPUSVM_THRASH_PIN;

	/* The burst ended: the next migration starts a new one. */
	if (now_ns - range->thrash_last_ns > p->lapse_ns + p->throttle_ns)
		return DRM_GPUSVM_THRASH_NONE;
	if (!p->throttle_after || range->thrash_count < p->throttle_after)
		return DRM_GPUSVM_THRASH_NONE;

	until = range->thrash_last_ns + p->throttle_ns;
	if (now_ns >= until)
		return DRM_GPUSVM_THRASH_NONE;
	*wait_ns = until - now_ns;
	return DRM_GPUSVM_THRASH_THROTTLE;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_thrash_check);

/**
 * drm_gpusvm_range_thrash_note() - Count a migration of a range to device
 * memory
 * @gpusvm: The GPU SVM.
 * @range: The range a GPU fault migrated.
 * @now_ns: The time, ktime_get_ns().
 *
 * A migration at most &drm_gpusvm_thrash_params.lapse_ns (plus the
 * throttle delay) after the one before continues the burst, any other
 * starts a new one. The migration that makes the burst
 * &drm_gpusvm_thrash_params.pin_after long pins the range, for twice as
 * long as the last time if that pin ended less than
 * &drm_gpusvm_thrash_params.pin_ns ago.
 *
 * Context: The caller holds the driver lock.
 *
 * Return: %DRM_GPUSVM_THRASH_PIN if this migration pinned the range,
 * %DRM_GPUSVM_THRASH_THROTTLE if the next one will be throttled,
 * %DRM_GPUSVM_THRASH_NONE otherwise (and when thrashing control is off).
 */
enum drm_gpusvm_thrash
drm_gpusvm_range_thrash_note(struct drm_gpusvm *gpusvm,
			     struct drm_gpusvm_range *range, u64 now_ns)
{
	const struct drm_gpusvm_thrash_params *p = &gpusvm->thrash;

	drm_gpusvm_driver_lock_held(gpusvm);

	if (!p->lapse_ns)
		return DRM_GPUSVM_THRASH_NONE;

	if (range->thrash_count &&
	    now_ns - range->thrash_last_ns <= p->lapse_ns + p->throttle_ns)
		range->thrash_count = min_t(u32, range->thrash_count + 1, U8_MAX);
	else
		range->thrash_count = 1;
	range->thrash_last_ns = now_ns;

	if (p->pin_after && range->thrash_count >= p->pin_after) {
		/* Thrashing again right after the last pin: pin longer. */
		if (range->thrash_pinned_until_ns &&
		    now_ns - range->thrash_pinned_until_ns <= p->pin_ns)
			range->thrash_repins = min(range->thrash_repins + 1,
						   DRM_GPUSVM_THRASH_MAX_REPINS);
		else
			range->thrash_repins = 0;
		range->thrash_count = 0;
		range->thrash_pinned_until_ns = now_ns +
						(p->pin_ns << range->thrash_repins);
		return DRM_GPUSVM_THRASH_PIN;
	}
	if (p->throttle_after && range->thrash_count >= p->throttle_after)
		return DRM_GPUSVM_THRASH_THROTTLE;
	return DRM_GPUSVM_THRASH_NONE;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_thrash_note);

/**
 * DOC: Prefetch
 *
 * A driver that maps small ranges (64 KiB or 4 KiB, to move no more than
 * the GPU uses) pays one GPU fault per range of a buffer the GPU walks
 * through. GPU SVM keeps, per notifier window, which 64 KiB blocks the GPU
 * used: the driver calls drm_gpusvm_range_touch() on each range a GPU fault
 * mapped. drm_gpusvm_range_prefetch_extent() then looks at the naturally
 * aligned regions of 128 KiB up to 2 MiB around the faulting range, as
 * NVIDIA's UVM does, and returns the largest one of which at least
 * threshold percent of the blocks are used already (the faulting range
 * counted): the driver migrates or maps that whole region at once and
 * touches what it mapped. A GPU walking through memory in 64 KiB steps
 * then faults at 0, 64 KiB, 128 KiB, 256 KiB, 512 KiB and 1 MiB into the
 * first 2 MiB it walks (threshold 51): 6 faults instead of 32.
 *
 * A walk also goes on from one 2 MiB region into the next. A fault in the
 * first 64 KiB block of a region, right after the used last block of the
 * region before it, is judged on the 4 MiB of both regions: with at least
 * threshold percent of those blocks used, its whole region is prefetched.
 * Walking downwards works the same way from the region above. The walk
 * above then takes one fault per further 2 MiB. With the default 51, the
 * region before must be used entirely: a random access that happens to
 * land next to a half used region does not pull in 2 MiB, and neither
 * does any fault with a threshold of 100.
 *
 * Memory the CPU unmapped leaves the history when its range is removed.
 */

/**
 * drm_gpusvm_range_touch() - Record that the GPU uses a range
 * @gpusvm: The GPU SVM.
 * @range: The range, just mapped for a GPU fault or a prefetch.
 *
 * Marks the 64 KiB blocks of @range used in the access history of its
 * notifier (see "Prefetch"). The first use of a notifier's window allocates
 * its history (a bit per block); a window the GPU only reaches through
 * explicit migrations, or a driver that never prefetches, has none. Best
 * effort: if that allocation fails, the use is not recorded.
 *
 * Context: The caller holds the driver lock. May allocate memory.
 */
void drm_gpusvm_range_touch(struct drm_gpusvm *gpusvm,
			    struct drm_gpusvm_range *range)
{
	struct drm_gpusvm_notifier *notifier = range->notifier;
	unsigned long first, last;

	drm_gpusvm_driver_lock_held(gpusvm);
	might_alloc(GFP_KERNEL);

	if (drm_gpusvm_range_removed(range))
		return;
	if (!notifier->touched)
		notifier->touched =
			bitmap_zalloc(drm_gpusvm_touch_blocks(gpusvm),
				      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!notifier->touched)
		return;
	first = drm_gpusvm_touch_index(notifier, drm_gpusvm_range_start(range));
	last = drm_gpusvm_touch_index(notifier, drm_gpusvm_range_end(range) - 1);
	bitmap_set(notifier->touched, first, last - first + 1);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_touch);

/*
 * How many 64 KiB blocks of [@start, @end) the GPU used, over the notifier
 * windows it spans; a window without a notifier (or without a history) has
 * none. @hint, the faulting range's notifier, saves the lookup of the
 * window the interval usually lies in.
 */
static unsigned long drm_gpusvm_blocks_used(struct drm_gpusvm *gpusvm,
					    struct drm_gpusvm_notifier *hint,
					    unsigned long start,
					    unsigned long end)
{
	struct drm_gpusvm_notifier *notifier;
	unsigned long s, e, i, first, used = 0;

	for (s = start; s < end; s = e) {
		e = s + min(end - s, gpusvm->notifier_size -
				     (s & (gpusvm->notifier_size - 1)));
		if (s >= drm_gpusvm_notifier_start(hint) &&
		    e <= drm_gpusvm_notifier_end(hint))
			notifier = hint;
		else
			notifier = drm_gpusvm_notifier_find(gpusvm, s, e);
		if (!notifier || !notifier->touched)
			continue;
		first = drm_gpusvm_touch_index(notifier, s);
		for (i = 0; i < (e - s) >> DRM_GPUSVM_TOUCH_SHIFT; i++)
			used += test_bit(first + i, notifier->touched);
	}

	return used;
}

/*
 * Whether [@rstart, @rend), in the 2 MiB region at @region of @notifier's
 * window, continues a walk through the neighbour region it borders: the
 * neighbour's block next to it is used and so are @threshold percent of the
 * blocks of both regions (see "Prefetch").
 */
static bool drm_gpusvm_prefetch_stream(struct drm_gpusvm *gpusvm,
				       struct drm_gpusvm_notifier *notifier,
				       unsigned long region,
				       unsigned long rstart, unsigned long rend,
				       unsigned int threshold)
{
	const unsigned long size = DRM_GPUSVM_PREFETCH_REGION;
	const unsigned long block = 1UL << DRM_GPUSVM_TOUCH_SHIFT;
	unsigned long lo, hi, edge;

	if (rstart < region + block && region >= size) {
		lo = region - size;
		hi = region + size;
		edge = region - block;
	} else if (rend > region + size - block &&
		   region + size <= ULONG_MAX - size) {
		lo = region;
		hi = region + 2 * size;
		edge = region + size;
	} else {
		return false;
	}

	return drm_gpusvm_blocks_used(gpusvm, notifier, edge, edge + block) &&
	       drm_gpusvm_blocks_used(gpusvm, notifier, lo, hi) * 100 >=
	       threshold * ((hi - lo) >> DRM_GPUSVM_TOUCH_SHIFT);
}

/**
 * drm_gpusvm_range_prefetch_extent() - What to prefetch around a GPU fault
 * @gpusvm: The GPU SVM.
 * @range: The range a GPU fault just mapped, touched with
 *	drm_gpusvm_range_touch().
 * @threshold: Percentage, 1 to 100, of the 64 KiB blocks of a region that
 *	must have been used for the region to be prefetched.
 * @start: Output: start of the region to prefetch.
 * @end: Output: its end (exclusive).
 *
 * Of the naturally aligned regions of twice the 64 KiB block up to 2 MiB
 * that contain @range and lie in its notifier window, picks the largest
 * with at least @threshold percent of its blocks used (see "Prefetch").
 * A fault at the edge of a 2 MiB region that continues a walk through the
 * neighbour region picks the whole region, the neighbour's blocks counted
 * with its own. Unused blocks may hold no memory at all (holes, other
 * VMAs): the driver prefetches what is there.
 *
 * Context: The caller holds the driver lock.
 *
 * Return: true, with [@start, @end), if such a region is larger than
 * @range; false otherwise, also for a @threshold out of range or without
 * an access history.
 */
bool drm_gpusvm_range_prefetch_extent(struct drm_gpusvm *gpusvm,
				      struct drm_gpusvm_range *range,
				      unsigned int threshold,
				      unsigned long *start, unsigned long *end)
{
	struct drm_gpusvm_notifier *notifier = range->notifier;
	unsigned long rstart = drm_gpusvm_range_start(range);
	unsigned long rend = drm_gpusvm_range_end(range);
	unsigned long size, s, nblocks, used;
	bool found = false;

	drm_gpusvm_driver_lock_held(gpusvm);

	if (!notifier->touched || !threshold || threshold > 100 ||
	    rend - rstart >= DRM_GPUSVM_PREFETCH_REGION)
		return false;

	for (size = 2UL << DRM_GPUSVM_TOUCH_SHIFT;
	     size <= DRM_GPUSVM_PREFETCH_REGION; size <<= 1) {
		s = ALIGN_DOWN(rstart, size);
		if (s < drm_gpusvm_notifier_start(notifier) ||
		    s + size > drm_gpusvm_notifier_end(notifier))
			break;
		if (s + size < rend)
			continue;

		nblocks = size >> DRM_GPUSVM_TOUCH_SHIFT;
		used = drm_gpusvm_blocks_used(gpusvm, notifier, s, s + size);
		if (used * 100 >= threshold * nblocks ||
		    (size == DRM_GPUSVM_PREFETCH_REGION &&
		     drm_gpusvm_prefetch_stream(gpusvm, notifier, s, rstart,
						rend, threshold))) {
			*start = s;
			*end = s + size;
			found = true;
		}
	}

	return found && *end - *start > rend - rstart;
}
EXPORT_SYMBOL_GPL(drm_gpusvm_range_prefetch_extent);

/**
 * drm_gpusvm_print() - Describe a GPU SVM
 * @gpusvm: The GPU SVM.
 * @p: Where to print.
 *
 * Prints the parameters of @gpusvm, its notifiers and their ranges with
 * their flags, for instance into a debugfs file the driver creates.
 *
 * Context: Process context; may sleep. Takes the notifier lock for read.
 */
void drm_gpusvm_print(struct drm_gpusvm *gpusvm, struct drm_printer *p)
{
	struct drm_gpusvm_notifier *notifier;
	struct drm_gpusvm_range *range;
	int i;

	drm_printf(p, "gpusvm %s: mm [0x%lx-0x%lx) notifier_size 0x%lx chunks",
		   gpusvm->name ?: "(unnamed)", gpusvm->mm_start,
		   gpusvm->mm_start + gpusvm->mm_range, gpusvm->notifier_size);
	for (i = 0; i < gpusvm->num_chunks; i++)
		drm_printf(p, " 0x%lx", gpusvm->chunk_sizes[i]);
	drm_printf(p, "\n");

	down_read(&gpusvm->notifier_lock);
	list_for_each_entry(notifier, &gpusvm->notifier_list, entry) {
		drm_printf(p, "  notifier [0x%lx-0x%lx)%s%s\n",
			   drm_gpusvm_notifier_start(notifier),
			   drm_gpusvm_notifier_end(notifier),
			   RB_EMPTY_ROOT(&notifier->root.rb_root) ? " idle" : "",
			   notifier->flags.removed ? " removed" : "");
		list_for_each_entry(range, &notifier->range_list, entry)
			drm_printf(p, "    range [0x%lx-0x%lx) size 0x%lx refs %u%s%s%s%s%s%s%s\n",
				   drm_gpusvm_range_start(range),
				   drm_gpusvm_range_end(range),
				   drm_gpusvm_range_size(range),
				   kref_read(&range->refcount),
				   range->flags.migrate_devmem ? " migrate_devmem" : "",
				   range->flags.unmapped ? " unmapped" : "",
				   range->flags.partial_unmap ? " partial_unmap" : "",
				   range->flags.has_dma_mapping ? " dma_mapped" : "",
				   range->flags.has_devmem_pages ? " devmem" : "",
				   range->flags.mapped_read_only ? " read_only" : "",
				   range->dpagemap ? " dpagemap" : "");
	}
	up_read(&gpusvm->notifier_lock);
}
EXPORT_SYMBOL_GPL(drm_gpusvm_print);

MODULE_DESCRIPTION("DRM GPU shared virtual memory helpers");
MODULE_LICENSE("Dual MIT/GPL");
