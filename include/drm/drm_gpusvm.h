/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Copyright © 2024-2025 The drm_gpusvm authors
 */

#ifndef __DRM_GPUSVM_H__
#define __DRM_GPUSVM_H__

#include <linux/bug.h>
#include <linux/interval_tree.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/mmu_notifier.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <linux/xarray.h>

#include <drm/drm_pagemap.h>

struct drm_device;
struct drm_gpusvm;
struct drm_gpusvm_notifier;
struct drm_gpusvm_range;
struct drm_printer;

/**
 * struct drm_gpusvm_ops - Driver callbacks of a GPU SVM
 *
 * Only @invalidate is mandatory. The allocation hooks let a driver embed
 * struct drm_gpusvm_notifier and struct drm_gpusvm_range in larger
 * structures of its own; they must be given in pairs.
 */
struct drm_gpusvm_ops {
	/**
	 * @notifier_alloc: Allocate a notifier (optional).
	 *
	 * Called with the driver lock held, neither the mmap lock nor the
	 * notifier lock; may sleep and allocate with GFP_KERNEL. The returned
	 * memory does not need to be zeroed.
	 *
	 * Return: The new notifier, or NULL if out of memory.
	 */
	struct drm_gpusvm_notifier *(*notifier_alloc)(void);

	/**
	 * @notifier_free: Free a notifier returned by @notifier_alloc
	 * (optional, required if @notifier_alloc is set).
	 * @notifier: The notifier to free.
	 */
	void (*notifier_free)(struct drm_gpusvm_notifier *notifier);

	/**
	 * @range_alloc: Allocate a range (optional).
	 * @gpusvm: The GPU SVM the range will belong to.
	 *
	 * Called with the mmap lock held for read and the driver lock held,
	 * never under the notifier lock. The returned memory does not need to
	 * be zeroed.
	 *
	 * Return: The new range, or NULL if out of memory.
	 */
	struct drm_gpusvm_range *(*range_alloc)(struct drm_gpusvm *gpusvm);

	/**
	 * @range_free: Free a range returned by @range_alloc (optional,
	 * required if @range_alloc is set).
	 * @range: The range to free.
	 *
	 * Called when the last reference to @range is dropped.
	 */
	void (*range_free)(struct drm_gpusvm_range *range);

	/**
	 * @invalidate: The CPU page tables of part of a notifier change
	 * (required).
	 * @gpusvm: The GPU SVM.
	 * @notifier: The notifier whose window intersects @mmu_range.
	 * @mmu_range: The CPU address range and the reason of the change.
	 *
	 * Called with the notifier lock held for write, from the MMU notifier
	 * of @notifier, so possibly from memory reclaim: the callback must not
	 * allocate memory with GFP_KERNEL nor take a lock that is held around
	 * such allocations. It stops the GPU from using the ranges of
	 * @notifier that intersect @mmu_range (zap the GPU page-table entries
	 * and wait for that), then releases their pages with
	 * drm_gpusvm_range_unmap_pages() (with &drm_gpusvm_ctx.in_notifier
	 * set). For MMU_NOTIFY_UNMAP it also marks them with
	 * drm_gpusvm_range_set_unmapped() and hands them to a worker that
	 * removes them: ranges cannot be removed from inside this callback.
	 * The ranges of @notifier may be walked with
	 * drm_gpusvm_for_each_range().
	 */
	void (*invalidate)(struct drm_gpusvm *gpusvm,
			   struct drm_gpusvm_notifier *notifier,
			   const struct mmu_notifier_range *mmu_range);
};

/**
 * struct drm_gpusvm_notifier - A window of the address space with one MMU
 * interval notifier
 *
 * @gpusvm: The GPU SVM this notifier belongs to.
 * @notifier: The MMU interval notifier covering the window.
 * @itree: Node in the interval tree of notifiers of @gpusvm; start and
 *         last address of the window.
 * @entry: Link in &drm_gpusvm.notifier_list, sorted by address.
 * @root: Interval tree of the ranges in this window.
 * @range_list: The ranges in this window sorted by address: the same
 *              elements as @root, in an order that can be walked while
 *              the tree changes.
 * @flags: Notifier state.
 * @flags.removed: The MMU interval notifier has been removed from the mm;
 *                 no invalidation reaches this notifier anymore.
 * @touched: Bitmap of the 64 KiB blocks of the window that the GPU used,
 *           allocated by the first drm_gpusvm_range_touch() of the window;
 *           NULL until then or if it could not be allocated (then nothing
 *           is prefetched in this window).
 *
 * Notifiers are created on demand by drm_gpusvm_range_find_or_insert(), one
 * per &drm_gpusvm.notifier_size aligned window holding at least one range.
 * The notifier that lost its last range most recently stays registered,
 * idle (&drm_gpusvm.idle_notifier), for the next range in its window; the
 * others are destroyed with their last range.
 */
struct drm_gpusvm_notifier {
	struct drm_gpusvm *gpusvm;
	struct mmu_interval_notifier notifier;
	struct interval_tree_node itree;
	struct list_head entry;
	struct rb_root_cached root;
	struct list_head range_list;
	struct {
		u32 removed : 1;
	} flags;
	unsigned long *touched;
};

/**
 * struct drm_gpusvm_range_flags - State bits of a range
 *
 * @migrate_devmem: The range may be migrated to device memory (set at
 *                  creation, never changed).
 * @unmapped: The CPU address range was unmapped (munmap()) at least partly,
 *            or changed its access in part (see
 *            drm_gpusvm_range_unmap_partial()); the range must be removed
 *            or split.
 * @partial_unmap: Only part of the range was unmapped.
 * @has_devmem_pages: The collected pages include device pages.
 * @has_dma_mapping: All pages of the range are collected and mapped for the
 *                   device in &drm_gpusvm_range.dma_addr; with @unmapped,
 *                   all but the blocks drm_gpusvm_range_unmap_partial()
 *                   released.
 * @mapped_read_only: The pages were collected for reading only
 *                    (&drm_gpusvm_ctx.read_only): they may be shared
 *                    read-only pages such as the zero page, so the GPU
 *                    must not map them writable. For write access the
 *                    driver unbinds and releases them first
 *                    (drm_gpusvm_range_get_pages() returns -EACCES).
 * @__flags: All the bits above in one word: writers publish changes with
 *           WRITE_ONCE(), lockless readers use
 *           drm_gpusvm_range_read_flags().
 *
 * Except @migrate_devmem, the bits change only with the notifier lock held
 * for write, or for read by drm_gpusvm_range_get_pages() while committing.
 */
struct drm_gpusvm_range_flags {
	union {
		struct {
			u16 migrate_devmem : 1;
			u16 unmapped : 1;
			u16 partial_unmap : 1;
			u16 has_devmem_pages : 1;
			u16 has_dma_mapping : 1;
			u16 mapped_read_only : 1;
		};
		u16 __flags;
	};
};

/**
 * struct drm_gpusvm_range - A piece of the address space mirrored on the GPU
 *
 * @gpusvm: The GPU SVM this range belongs to.
 * @notifier: The notifier whose window contains the range.
 * @refcount: References; the notifier's interval tree holds one until
 *            drm_gpusvm_range_remove().
 * @itree: Node in the interval tree of @notifier; start and last address.
 * @entry: Link in &drm_gpusvm_notifier.range_list.
 * @notifier_seq: Sequence number of @notifier when the pages were collected.
 * @dma_addr: Device addresses of the pages, one entry per mapped block in
 *            address order: entry j covers PAGE_SIZE << dma_addr[j].order
 *            bytes, following the block of entry j - 1, so a range mapped
 *            by one huge page has a single entry. Walk it with
 *            drm_gpusvm_for_each_dma_block(). Valid while
 *            &drm_gpusvm_range_flags.has_dma_mapping is set.
 * @dpagemap: The drm_pagemap of the device pages in @dma_addr, or NULL if
 *            all pages are system pages. A range maps device pages of at
 *            most one drm_pagemap.
 * @flags: State bits of the range.
 * @num_dma_addr: Number of entries allocated in @dma_addr: the number of
 *                blocks of the last collection.
 * @thrash_count: Migrations to device memory in the current burst, see
 *                drm_gpusvm_range_thrash_note().
 * @thrash_repins: Pins in a row, each soon after the one before ended:
 *                 the pin lasts &drm_gpusvm_thrash_params.pin_ns <<
 *                 @thrash_repins.
 * @thrash_last_ns: Time of the last of them.
 * @thrash_pinned_until_ns: The range stays where it is until then.
 *
 * Ranges never overlap. A range is a naturally aligned block of one of
 * &drm_gpusvm.chunk_sizes, or the part of such a block that lies inside a
 * VMA or GPU VA window whose edge cuts the block (see "Overview" in
 * drm_gpusvm.c): never assume its size is a power of two.
 */
struct drm_gpusvm_range {
	struct drm_gpusvm *gpusvm;
	struct drm_gpusvm_notifier *notifier;
	struct kref refcount;
	struct interval_tree_node itree;
	struct list_head entry;
	unsigned long notifier_seq;
	struct drm_pagemap_device_addr *dma_addr;
	struct drm_pagemap *dpagemap;
	struct drm_gpusvm_range_flags flags;
	u8 thrash_count;
	u8 thrash_repins;
	unsigned int num_dma_addr;
	u64 thrash_last_ns;
	u64 thrash_pinned_until_ns;
};

/*
 * A range that keeps thrashing is pinned for up to
 * 2^DRM_GPUSVM_THRASH_MAX_REPINS times &drm_gpusvm_thrash_params.pin_ns.
 */
#define DRM_GPUSVM_THRASH_MAX_REPINS	3

/**
 * struct drm_gpusvm_thrash_params - When a range thrashes
 * @lapse_ns: Two migrations of a range to device memory at most this far
 *            apart belong to one burst; 0 turns thrashing control off.
 * @throttle_ns: A range @throttle_after migrations into a burst waits this
 *               long after the last one before it migrates again.
 * @pin_ns: A range @pin_after migrations into a burst stays where it is
 *          for this long: the GPU maps it in system memory instead. A
 *          range pinned again within @pin_ns of the end of its last pin
 *          is pinned twice as long as then, up to
 *          %DRM_GPUSVM_THRASH_MAX_REPINS doublings.
 * @throttle_after: See @throttle_ns; 0 never throttles.
 * @pin_after: See @pin_ns; 0 never pins. At most 255.
 *
 * drm_gpusvm_init() sets the defaults, after NVIDIA's UVM: bursts of
 * migrations 500 us apart, throttled by 1 ms from the 3rd, pinned for
 * 150 ms at the 5th. A driver may change them under its driver lock.
 */
struct drm_gpusvm_thrash_params {
	u64 lapse_ns;
	u64 throttle_ns;
	u64 pin_ns;
	u16 throttle_after;
	u16 pin_after;
};

/**
 * enum drm_gpusvm_thrash - What to do about a migration of a range
 * @DRM_GPUSVM_THRASH_NONE: Migrate.
 * @DRM_GPUSVM_THRASH_THROTTLE: Migrate, but only after a delay.
 * @DRM_GPUSVM_THRASH_PIN: Do not migrate: map the pages where they are.
 */
enum drm_gpusvm_thrash {
	DRM_GPUSVM_THRASH_NONE,
	DRM_GPUSVM_THRASH_THROTTLE,
	DRM_GPUSVM_THRASH_PIN,
};

/**
 * struct drm_gpusvm - GPU shared virtual memory of one GPU VM
 *
 * @name: Name, for debug output.
 * @drm: The DRM device; its &drm_device.dev maps system pages for DMA.
 * @mm: The mirrored address space. The GPU SVM holds an mmgrab() reference:
 *      the mm_struct stays allocated, its pages and VMAs may go away.
 * @device_private_page_owner: Owner token of the device-private pages that
 *                             this device accesses directly (see
 *                             &hmm_range.dev_private_owner).
 * @mm_start: Start of the mirrored part of @mm.
 * @mm_range: Size of the mirrored part of @mm.
 * @notifier_size: Size and alignment of the notifier windows.
 * @ops: Driver callbacks.
 * @chunk_sizes: Possible range sizes, powers of two in descending order.
 * @num_chunks: Number of entries in @chunk_sizes.
 * @notifier_lock: Orders GPU bindings against CPU page-table changes. The
 *                 MMU notifier takes it for write; a driver takes it for read
 *                 (drm_gpusvm_notifier_lock()) to commit a GPU binding.
 * @root: Interval tree of the notifiers.
 * @notifier_list: The notifiers sorted by address: the same elements as
 *                 @root, in an order that can be walked while the tree
 *                 changes.
 * @idle_notifier: The notifier that lost its last range most recently,
 *                 kept in @root and @notifier_list for the next range in
 *                 its window, or NULL. When another notifier loses its
 *                 last range, this one is removed: at most one notifier
 *                 holds no range. Changed under the driver lock.
 * @range_index: The ranges by page, for the GPU fault's lookup in
 *               drm_gpusvm_range_find_or_insert(): indexed by the page
 *               number relative to @mm_start, one multi-index entry per
 *               naturally aligned block of a range. A cache of the trees,
 *               which stay the reference: a range whose entries could not
 *               be allocated is found in its notifier's tree and entered
 *               again. The pages of removed single-page ranges hold value
 *               entries (holes) while their window has a notifier: they
 *               keep the nodes for the next range there. Changed under
 *               the driver lock only, and read under it or, by
 *               drm_gpusvm_range_find(), under the notifier lock: a range
 *               leaves the index before it leaves its notifier's tree, so
 *               a range the index gives is in its tree while either lock
 *               is held.
 * @thrash: When a range thrashes between system and device memory, see
 *          drm_gpusvm_range_thrash_check(). Protected by the driver lock.
 *
 * The structure is meant to be embedded in a driver's VM object, which
 * provides reference counting; the GPU SVM has none of its own.
 */
struct drm_gpusvm {
	const char *name;
	struct drm_device *drm;
	struct mm_struct *mm;
	void *device_private_page_owner;
	unsigned long mm_start;
	unsigned long mm_range;
	unsigned long notifier_size;
	const struct drm_gpusvm_ops *ops;
	const unsigned long *chunk_sizes;
	int num_chunks;
	struct rw_semaphore notifier_lock;
	struct rb_root_cached root;
	struct list_head notifier_list;
	struct drm_gpusvm_notifier *idle_notifier;
	struct xarray range_index;
	struct drm_gpusvm_thrash_params thrash;
#ifdef CONFIG_LOCKDEP
	/**
	 * @lock_dep_map: Lockdep map of the driver lock that serialises
	 * drm_gpusvm_range_find_or_insert() and drm_gpusvm_range_remove(), set
	 * by drm_gpusvm_driver_set_lock(); NULL if none was registered.
	 */
	struct lockdep_map *lock_dep_map;
#endif
};

/**
 * struct drm_gpusvm_ctx - Arguments of one GPU SVM operation
 *
 * @check_pages_threshold: drm_gpusvm_range_find_or_insert() only creates a
 *                         range of a chunk size up to this many bytes if all
 *                         its CPU pages are present; otherwise it tries the
 *                         next smaller chunk size. 0 disables the check.
 * @timeslice_ms: Minimum time, in milliseconds, that memory migrated on
 *                behalf of this operation stays where it was moved to.
 *                Passed on to drm_pagemap; not used by drm_gpusvm itself.
 * @in_notifier: The caller is the &drm_gpusvm_ops.invalidate callback and
 *               holds the notifier lock for write.
 * @read_only: The GPU only reads: read-only memory is accepted and pages are
 *             not faulted in for write.
 * @devmem_possible: The driver may migrate the range to device memory.
 * @devmem_only: Fail unless all pages are device pages.
 * @allow_mixed: Accept a range backed by both system pages and device pages
 *               of one drm_pagemap, possibly from several device memory
 *               allocations.
 */
struct drm_gpusvm_ctx {
	unsigned long check_pages_threshold;
	unsigned long timeslice_ms;
	unsigned int in_notifier :1;
	unsigned int read_only :1;
	unsigned int devmem_possible :1;
	unsigned int devmem_only :1;
	unsigned int allow_mixed :1;
};

int drm_gpusvm_init(struct drm_gpusvm *gpusvm,
		    const char *name, struct drm_device *drm,
		    struct mm_struct *mm, void *device_private_page_owner,
		    unsigned long mm_start, unsigned long mm_range,
		    unsigned long notifier_size,
		    const struct drm_gpusvm_ops *ops,
		    const unsigned long *chunk_sizes, int num_chunks);

void drm_gpusvm_fini(struct drm_gpusvm *gpusvm);

struct drm_gpusvm_range *
drm_gpusvm_range_find_or_insert(struct drm_gpusvm *gpusvm,
				unsigned long fault_addr,
				unsigned long gpuva_start,
				unsigned long gpuva_end,
				const struct drm_gpusvm_ctx *ctx);

void drm_gpusvm_range_remove(struct drm_gpusvm *gpusvm,
			     struct drm_gpusvm_range *range);

bool drm_gpusvm_range_reuse(struct drm_gpusvm *gpusvm,
			    struct drm_gpusvm_range *range);

int drm_gpusvm_range_evict(struct drm_gpusvm *gpusvm,
			   struct drm_gpusvm_range *range);

int drm_gpusvm_evict_span(struct drm_gpusvm *gpusvm, unsigned long start,
			  unsigned long end);

struct drm_gpusvm_range *
drm_gpusvm_range_get(struct drm_gpusvm_range *range);

void drm_gpusvm_range_put(struct drm_gpusvm_range *range);

bool drm_gpusvm_range_pages_valid(struct drm_gpusvm *gpusvm,
				  struct drm_gpusvm_range *range);

int drm_gpusvm_range_get_pages(struct drm_gpusvm *gpusvm,
			       struct drm_gpusvm_range *range,
			       const struct drm_gpusvm_ctx *ctx);

void drm_gpusvm_range_unmap_pages(struct drm_gpusvm *gpusvm,
				  struct drm_gpusvm_range *range,
				  const struct drm_gpusvm_ctx *ctx);

bool drm_gpusvm_has_mapping(struct drm_gpusvm *gpusvm, unsigned long start,
			    unsigned long end);

struct drm_gpusvm_notifier *
drm_gpusvm_notifier_find(struct drm_gpusvm *gpusvm, unsigned long start,
			 unsigned long end);

struct drm_gpusvm_range *
drm_gpusvm_range_find(struct drm_gpusvm_notifier *notifier, unsigned long start,
		      unsigned long end);

void drm_gpusvm_range_set_unmapped(struct drm_gpusvm_range *range,
				   const struct mmu_notifier_range *mmu_range);

bool drm_gpusvm_range_partial_extent(struct drm_gpusvm_range *range,
				     const struct mmu_notifier_range *mmu_range,
				     unsigned long *start, unsigned long *end);

void drm_gpusvm_range_unmap_partial(struct drm_gpusvm *gpusvm,
				    struct drm_gpusvm_range *range,
				    unsigned long start, unsigned long end);

int drm_gpusvm_range_split(struct drm_gpusvm *gpusvm,
			   struct drm_gpusvm_range *range);

enum drm_gpusvm_thrash
drm_gpusvm_range_thrash_check(struct drm_gpusvm *gpusvm,
			      struct drm_gpusvm_range *range, u64 now_ns,
			      u64 *wait_ns);

enum drm_gpusvm_thrash
drm_gpusvm_range_thrash_note(struct drm_gpusvm *gpusvm,
			     struct drm_gpusvm_range *range, u64 now_ns);

void drm_gpusvm_range_touch(struct drm_gpusvm *gpusvm,
			    struct drm_gpusvm_range *range);

bool drm_gpusvm_range_prefetch_extent(struct drm_gpusvm *gpusvm,
				      struct drm_gpusvm_range *range,
				      unsigned int threshold,
				      unsigned long *start, unsigned long *end);

void drm_gpusvm_print(struct drm_gpusvm *gpusvm, struct drm_printer *p);

#ifdef CONFIG_LOCKDEP
static inline void __drm_gpusvm_driver_set_lock(struct drm_gpusvm *gpusvm,
						struct lockdep_map *map)
{
	if (!WARN(gpusvm->lock_dep_map, "drm_gpusvm: driver lock already set\n"))
		gpusvm->lock_dep_map = map;
}

/**
 * drm_gpusvm_driver_set_lock() - Register the driver lock of a GPU SVM
 * @gpusvm__: The GPU SVM.
 * @lock__: The driver lock serialising range insertion and removal; any
 *          lock type with a dep_map member (mutex, rw_semaphore, ...).
 *
 * Once registered, drm_gpusvm_range_find_or_insert() and
 * drm_gpusvm_range_remove() assert with lockdep that @lock__ is held. Call
 * it at most once, after drm_gpusvm_init(). Does nothing without
 * CONFIG_LOCKDEP.
 */
#define drm_gpusvm_driver_set_lock(gpusvm__, lock__)	\
	__drm_gpusvm_driver_set_lock((gpusvm__), &(lock__)->dep_map)
#else
#define drm_gpusvm_driver_set_lock(gpusvm__, lock__)	\
	do { (void)(gpusvm__); (void)(lock__); } while (0)
#endif

/**
 * drm_gpusvm_notifier_lock() - Take the notifier lock of a GPU SVM for read
 * @gpusvm__: The GPU SVM.
 *
 * Held around the commit of a GPU binding, after checking
 * drm_gpusvm_range_pages_valid(). No GFP_KERNEL allocation may happen while
 * it is held.
 */
#define drm_gpusvm_notifier_lock(gpusvm__)	\
	down_read(&(gpusvm__)->notifier_lock)

/**
 * drm_gpusvm_notifier_unlock() - Release the notifier lock of a GPU SVM
 * @gpusvm__: The GPU SVM.
 */
#define drm_gpusvm_notifier_unlock(gpusvm__)	\
	up_read(&(gpusvm__)->notifier_lock)

/**
 * drm_gpusvm_range_read_flags() - Snapshot of the state bits of a range
 * @range: The range.
 *
 * Reads all of &drm_gpusvm_range.flags in one load, so that no bit is torn
 * from the others while a writer publishes a change.
 *
 * Context: Any. Without the notifier lock the bits may change right after.
 *
 * Return: The flags of @range.
 */
static inline struct drm_gpusvm_range_flags
drm_gpusvm_range_read_flags(const struct drm_gpusvm_range *range)
{
	struct drm_gpusvm_range_flags flags = {
		.__flags = READ_ONCE(range->flags.__flags),
	};

	return flags;
}

/**
 * drm_gpusvm_range_start() - First address of a range
 * @range: The range.
 *
 * Return: The start address of @range.
 */
static inline unsigned long
drm_gpusvm_range_start(struct drm_gpusvm_range *range)
{
	return range->itree.start;
}

/**
 * drm_gpusvm_range_end() - End address of a range
 * @range: The range.
 *
 * Return: The address just past the end of @range.
 */
static inline unsigned long
drm_gpusvm_range_end(struct drm_gpusvm_range *range)
{
	return range->itree.last + 1;
}

/**
 * drm_gpusvm_range_size() - Size of a range
 * @range: The range.
 *
 * Return: The size of @range in bytes.
 */
static inline unsigned long
drm_gpusvm_range_size(struct drm_gpusvm_range *range)
{
	return drm_gpusvm_range_end(range) - drm_gpusvm_range_start(range);
}

/**
 * drm_gpusvm_range_npages() - Number of pages of a range
 * @range: The range.
 *
 * Return: The size of @range in pages.
 */
static inline unsigned long
drm_gpusvm_range_npages(struct drm_gpusvm_range *range)
{
	return drm_gpusvm_range_size(range) >> PAGE_SHIFT;
}

/**
 * __drm_gpusvm_dma_block_iter() - Step of drm_gpusvm_for_each_dma_block()
 * @range: The range.
 * @entry: Cursor: entry of the current block.
 * @pgoff: Cursor: index of the first page of the current block.
 * @first: True on the first call, which starts the walk; cleared.
 *
 * Return: true while the cursors are at a block of @range.
 */
static inline bool
__drm_gpusvm_dma_block_iter(struct drm_gpusvm_range *range,
			    struct drm_pagemap_device_addr **entry,
			    unsigned long *pgoff, bool *first)
{
	if (*first) {
		*first = false;
		*pgoff = 0;
		*entry = range->dma_addr;
	} else {
		*pgoff += 1UL << (*entry)->order;
		(*entry)++;
	}

	return *pgoff < drm_gpusvm_range_npages(range);
}

/**
 * drm_gpusvm_dma_block_mapped() - Whether a block of a range is mapped
 * @entry: An entry of &drm_gpusvm_range.dma_addr.
 *
 * Every block of a range with valid pages is mapped. A range flagged
 * &drm_gpusvm_range_flags.unmapped by drm_gpusvm_range_unmap_partial()
 * keeps the blocks outside the unmapped part; the others are released.
 *
 * Return: false if @entry was released by a partial unmap.
 */
static inline bool
drm_gpusvm_dma_block_mapped(const struct drm_pagemap_device_addr *entry)
{
	return entry->dir != DMA_NONE;
}

/**
 * drm_gpusvm_for_each_dma_block() - Walk the mapped blocks of a range
 * @range__: The range; &drm_gpusvm_range_flags.has_dma_mapping must be set
 *           and stay set (notifier lock held, or the pages just collected
 *           under the driver lock).
 * @entry__: Cursor, a struct drm_pagemap_device_addr pointer: the entry of
 *           the current block, PAGE_SIZE << @entry__->order bytes.
 * @pgoff__: Cursor, an unsigned long: index within @range__ of the first
 *           page of the current block.
 *
 * Entries of &drm_gpusvm_range.dma_addr are per block, not per page: a
 * driver filling its page tables must not index them by page.
 */
#define drm_gpusvm_for_each_dma_block(range__, entry__, pgoff__)	\
	for (bool first__ = true;					\
	     __drm_gpusvm_dma_block_iter((range__), &(entry__), &(pgoff__), \
					 &first__);)

/**
 * drm_gpusvm_notifier_start() - First address of a notifier window
 * @notifier: The notifier.
 *
 * Return: The start address of the window of @notifier.
 */
static inline unsigned long
drm_gpusvm_notifier_start(struct drm_gpusvm_notifier *notifier)
{
	return notifier->itree.start;
}

/**
 * drm_gpusvm_notifier_end() - End address of a notifier window
 * @notifier: The notifier.
 *
 * Return: The address just past the window of @notifier.
 */
static inline unsigned long
drm_gpusvm_notifier_end(struct drm_gpusvm_notifier *notifier)
{
	return notifier->itree.last + 1;
}

/**
 * drm_gpusvm_notifier_size() - Size of a notifier window
 * @notifier: The notifier.
 *
 * Return: The size of the window of @notifier in bytes.
 */
static inline unsigned long
drm_gpusvm_notifier_size(struct drm_gpusvm_notifier *notifier)
{
	return drm_gpusvm_notifier_end(notifier) -
		drm_gpusvm_notifier_start(notifier);
}

/**
 * __drm_gpusvm_range_next() - The range after a range in its notifier
 * @range: The current range, or NULL.
 *
 * Return: The next range of the notifier of @range in address order, or NULL
 * if @range is NULL or the last one.
 */
static inline struct drm_gpusvm_range *
__drm_gpusvm_range_next(struct drm_gpusvm_range *range)
{
	if (!range || list_is_last(&range->entry, &range->notifier->range_list))
		return NULL;

	return list_next_entry(range, entry);
}

/**
 * __drm_gpusvm_notifier_next() - The notifier after a notifier
 * @notifier: The current notifier, or NULL.
 *
 * Return: The next notifier of the GPU SVM in address order, or NULL if
 * @notifier is NULL or the last one.
 */
static inline struct drm_gpusvm_notifier *
__drm_gpusvm_notifier_next(struct drm_gpusvm_notifier *notifier)
{
	if (!notifier ||
	    list_is_last(&notifier->entry, &notifier->gpusvm->notifier_list))
		return NULL;

	return list_next_entry(notifier, entry);
}

/*
 * Iterator steps. Each takes the address of the cursor so that the macros
 * below evaluate their arguments once per step; @first is true only for
 * the first step of a walk.
 */
static inline bool
__drm_gpusvm_range_iter(struct drm_gpusvm_range **range,
			struct drm_gpusvm_notifier *notifier,
			unsigned long start, unsigned long end, bool *first)
{
	if (*first) {
		*first = false;
		if (!*range)
			*range = drm_gpusvm_range_find(notifier, start, end);
	} else {
		*range = __drm_gpusvm_range_next(*range);
	}

	return *range && drm_gpusvm_range_start(*range) < end;
}

static inline bool
__drm_gpusvm_range_iter_safe(struct drm_gpusvm_range **range,
			     struct drm_gpusvm_range **next,
			     struct drm_gpusvm_notifier *notifier,
			     unsigned long start, unsigned long end, bool *first)
{
	if (*first) {
		*first = false;
		*range = drm_gpusvm_range_find(notifier, start, end);
	} else {
		*range = *next;
	}
	/* Read before the body may remove *range. */
	*next = __drm_gpusvm_range_next(*range);

	return *range && drm_gpusvm_range_start(*range) < end;
}

/* @next is NULL for walks that do not free notifiers. */
static inline bool
__drm_gpusvm_notifier_iter(struct drm_gpusvm_notifier **notifier,
			   struct drm_gpusvm_notifier **next,
			   struct drm_gpusvm *gpusvm,
			   unsigned long start, unsigned long end, bool *first)
{
	if (*first) {
		*first = false;
		*notifier = drm_gpusvm_notifier_find(gpusvm, start, end);
	} else if (next) {
		*notifier = *next;
	} else {
		*notifier = __drm_gpusvm_notifier_next(*notifier);
	}
	/* Read before the body may free *notifier. */
	if (next)
		*next = __drm_gpusvm_notifier_next(*notifier);

	return *notifier && drm_gpusvm_notifier_start(*notifier) < end;
}

/**
 * drm_gpusvm_for_each_range() - Walk the ranges of a notifier in an interval
 * @range__: Cursor. If not NULL on entry, the walk starts at this range;
 *           otherwise at the first range intersecting the interval.
 * @notifier__: The notifier.
 * @start__: Start of the interval.
 * @end__: End of the interval (exclusive).
 *
 * Visits, in address order, the ranges of @notifier__ that intersect
 * [@start__, @end__). The caller holds the driver lock or the notifier lock
 * and does not remove ranges during the walk (use
 * drm_gpusvm_for_each_range_safe() for that).
 */
#define drm_gpusvm_for_each_range(range__, notifier__, start__, end__)	\
	for (bool first__ = true;					\
	     __drm_gpusvm_range_iter(&(range__), (notifier__), (start__),	\
				     (end__), &first__);)

/**
 * drm_gpusvm_for_each_range_safe() - Walk the ranges of a notifier in an
 * interval, allowing removal of the current range
 * @range__: Cursor.
 * @next__: Temporary storage for the next range.
 * @notifier__: The notifier.
 * @start__: Start of the interval.
 * @end__: End of the interval (exclusive).
 *
 * Like drm_gpusvm_for_each_range(), always starting at the first range that
 * intersects the interval, but the loop body may pass @range__ to
 * drm_gpusvm_range_remove(). The caller holds the driver lock. Removing the
 * last range of @notifier__ frees it; the walk then ends without touching
 * it again.
 */
#define drm_gpusvm_for_each_range_safe(range__, next__, notifier__, start__, end__) \
	for (bool first__ = true;					\
	     __drm_gpusvm_range_iter_safe(&(range__), &(next__), (notifier__), \
					  (start__), (end__), &first__);)

/**
 * drm_gpusvm_for_each_notifier() - Walk the notifiers of a GPU SVM in an
 * interval
 * @notifier__: Cursor.
 * @gpusvm__: The GPU SVM.
 * @start__: Start of the interval.
 * @end__: End of the interval (exclusive).
 *
 * Visits, in address order, the notifiers whose window intersects
 * [@start__, @end__). The caller holds the driver lock or the notifier lock.
 */
#define drm_gpusvm_for_each_notifier(notifier__, gpusvm__, start__, end__) \
	for (bool first__ = true;					\
	     __drm_gpusvm_notifier_iter(&(notifier__), NULL, (gpusvm__),	\
					(start__), (end__), &first__);)

/**
 * drm_gpusvm_for_each_notifier_safe() - Walk the notifiers of a GPU SVM in
 * an interval, allowing the current notifier to go away
 * @notifier__: Cursor.
 * @next__: Temporary storage for the next notifier.
 * @gpusvm__: The GPU SVM.
 * @start__: Start of the interval.
 * @end__: End of the interval (exclusive).
 *
 * Like drm_gpusvm_for_each_notifier(), but the loop body may remove all
 * ranges of @notifier__, which frees it. The caller holds the driver lock.
 */
#define drm_gpusvm_for_each_notifier_safe(notifier__, next__, gpusvm__, start__, end__) \
	for (bool first__ = true;					\
	     __drm_gpusvm_notifier_iter(&(notifier__), &(next__), (gpusvm__), \
					(start__), (end__), &first__);)

#endif /* __DRM_GPUSVM_H__ */
