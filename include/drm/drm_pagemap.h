/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Copyright © 2025 The drm_gpusvm project authors
 */

#ifndef _DRM_PAGEMAP_H_
#define _DRM_PAGEMAP_H_

#include <linux/bits.h>
#include <linux/completion.h>
#include <linux/dma-direction.h>
#include <linux/ioport.h>
#include <linux/list.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/pfn.h>
#include <linux/types.h>

struct dev_pagemap_ops;
struct device;
struct drm_pagemap;
struct drm_pagemap_devmem;
struct drm_pagemap_owner;
struct mm_struct;
struct page;

/**
 * enum drm_interconnect_protocol - How a device reaches a mapped page
 * @DRM_INTERCONNECT_SYSTEM: The address is a DMA address of a system page,
 *	obtained from the DMA API.
 * @DRM_INTERCONNECT_PCIE_P2P: The address is a PCIe peer-to-peer bus address
 *	of another device's memory.
 * @DRM_INTERCONNECT_DRIVER: The address is driver defined, typically an
 *	offset into the device's own memory. Drivers may define private
 *	protocols with values above this one.
 */
enum drm_interconnect_protocol {
	DRM_INTERCONNECT_SYSTEM,
	DRM_INTERCONNECT_PCIE_P2P,
	DRM_INTERCONNECT_DRIVER,
};

/**
 * struct drm_pagemap_device_addr - An address a device can use to reach a page
 * @addr: The DMA address, or a driver-defined address for
 *	%DRM_INTERCONNECT_DRIVER and private protocols.
 * @proto: The &enum drm_interconnect_protocol the address is valid for.
 * @order: Order of the mapping: it covers PAGE_SIZE << @order bytes.
 * @dir: The &enum dma_data_direction of the mapping.
 *
 * Build one with drm_pagemap_device_addr_encode().
 */
struct drm_pagemap_device_addr {
	dma_addr_t addr;
	u64 proto : 54;
	u64 order : 8;
	u64 dir : 2;
};

/**
 * drm_pagemap_device_addr_encode() - Build a &struct drm_pagemap_device_addr
 * @addr: The DMA or driver-defined address.
 * @proto: The interconnect protocol @addr is valid for.
 * @order: Order of the mapping (PAGE_SIZE << @order bytes).
 * @dir: The DMA direction of the mapping.
 *
 * Return: The encoded device address.
 */
static inline struct drm_pagemap_device_addr
drm_pagemap_device_addr_encode(dma_addr_t addr,
			       enum drm_interconnect_protocol proto,
			       unsigned int order,
			       enum dma_data_direction dir)
{
	return (struct drm_pagemap_device_addr) {
		.addr = addr,
		.proto = proto,
		.order = order,
		.dir = dir,
	};
}

/**
 * struct drm_pagemap_ops - Operations a provider of device memory implements
 */
struct drm_pagemap_ops {
	/**
	 * @device_map: Give @dev an address for @page.
	 * @dpagemap: The &struct drm_pagemap @page belongs to.
	 * @dev: The device that will access the page.
	 * @page: The device page to map, private or coherent.
	 * @order: Order of the mapping (PAGE_SIZE << @order bytes).
	 * @dir: The direction of the accesses.
	 *
	 * For @dev being the memory's own device this is usually just the
	 * device offset of @page with %DRM_INTERCONNECT_DRIVER. On failure
	 * return an address for which dma_mapping_error() is true.
	 */
	struct drm_pagemap_device_addr (*device_map)(struct drm_pagemap *dpagemap,
						     struct device *dev,
						     struct page *page,
						     unsigned int order,
						     enum dma_data_direction dir);

	/**
	 * @device_unmap: Undo a @device_map.
	 * @dpagemap: The &struct drm_pagemap the address was mapped from.
	 * @dev: The device the address was mapped for.
	 * @addr: The address returned by @device_map.
	 */
	void (*device_unmap)(struct drm_pagemap *dpagemap, struct device *dev,
			     struct drm_pagemap_device_addr addr);

	/**
	 * @populate_mm: Move a range of @mm into this memory.
	 * @dpagemap: The memory to populate from.
	 * @start: Start of the virtual range, page aligned.
	 * @end: End of the virtual range (exclusive), page aligned.
	 * @mm: The address space, with a reference held and its mmap lock
	 * held in read mode by the caller (drm_pagemap_populate_mm()).
	 * @timeslice_ms: How long the memory should stay before a CPU fault
	 * may move it back.
	 *
	 * A typical implementation allocates a &struct drm_pagemap_devmem
	 * and calls drm_pagemap_migrate_to_devmem().
	 *
	 * Return: 0 on success, a negative error code on failure.
	 */
	int (*populate_mm)(struct drm_pagemap *dpagemap,
			   unsigned long start, unsigned long end,
			   struct mm_struct *mm, unsigned long timeslice_ms);
};

/**
 * struct drm_pagemap - A device's memory as seen by the SVM helpers
 * @ops: The &struct drm_pagemap_ops of the provider.
 * @dev: The device owning the memory.
 * @res: The physical range reserved for the memory by drm_pagemap_init(),
 *	or NULL when the pagemap is not registered.
 * @pagemap: The &struct dev_pagemap registered by drm_pagemap_init()
 *	(MEMORY_DEVICE_PRIVATE) or drm_pagemap_init_coherent()
 *	(MEMORY_DEVICE_COHERENT). Its owner is the token drivers pass as
 *	pgmap_owner. Kept last: it ends with a flexible array.
 *
 * A driver embeds this in its per-memory-region structure. It may use the
 * structure for @ops and @dev only (for example to describe a remote
 * device's memory) or register device memory with drm_pagemap_init() or
 * drm_pagemap_init_coherent(), which fill the other members.
 */
struct drm_pagemap {
	const struct drm_pagemap_ops *ops;
	struct device *dev;
	struct resource *res;
	struct dev_pagemap pagemap;
};

/**
 * drm_pagemap_base_pfn() - First pfn of a registered pagemap
 * @dpagemap: A pagemap registered with drm_pagemap_init().
 *
 * Return: The pfn of device offset 0.
 */
static inline unsigned long drm_pagemap_base_pfn(const struct drm_pagemap *dpagemap)
{
	return PHYS_PFN(dpagemap->pagemap.range.start);
}

/**
 * drm_pagemap_npages() - Number of pages of a registered pagemap
 * @dpagemap: A pagemap registered with drm_pagemap_init().
 *
 * Return: The number of device pages, 0 if @dpagemap is not registered.
 */
static inline unsigned long drm_pagemap_npages(const struct drm_pagemap *dpagemap)
{
	if (!dpagemap->res)
		return 0;
	return PHYS_PFN(range_len(&dpagemap->pagemap.range));
}

/**
 * drm_pagemap_pfn_to_offset() - Device offset of a device pfn
 * @dpagemap: A pagemap registered with drm_pagemap_init().
 * @pfn: A pfn inside @dpagemap.
 *
 * Return: The byte offset of @pfn into the device memory.
 */
static inline u64 drm_pagemap_pfn_to_offset(const struct drm_pagemap *dpagemap,
					    unsigned long pfn)
{
	return (u64)(pfn - drm_pagemap_base_pfn(dpagemap)) << PAGE_SHIFT;
}

/**
 * drm_pagemap_offset_to_pfn() - Device pfn of a device offset
 * @dpagemap: A pagemap registered with drm_pagemap_init().
 * @offset: Byte offset into the device memory; the page containing it is
 *	returned.
 *
 * Return: The pfn backing @offset.
 */
static inline unsigned long
drm_pagemap_offset_to_pfn(const struct drm_pagemap *dpagemap, u64 offset)
{
	return drm_pagemap_base_pfn(dpagemap) + (unsigned long)(offset >> PAGE_SHIFT);
}

/**
 * drm_pagemap_page_to_offset() - Device offset of a device page
 * @dpagemap: A pagemap registered with drm_pagemap_init().
 * @page: A page of @dpagemap.
 *
 * Convenient in &drm_pagemap_devmem_ops copy hooks and in
 * &drm_pagemap_ops.device_map.
 *
 * Return: The byte offset of @page into the device memory.
 */
static inline u64 drm_pagemap_page_to_offset(const struct drm_pagemap *dpagemap,
					     struct page *page)
{
	return drm_pagemap_pfn_to_offset(dpagemap, page_to_pfn(page));
}

/**
 * struct drm_pagemap_devmem_ops - Driver hooks for one device allocation
 *
 * The copy hooks receive arrays without holes: every entry of @pages and
 * @dma_addr is valid. They are called once per run of consecutive virtual
 * pages, not once per page, so an engine can batch. The device pages of a
 * run are not necessarily physically contiguous. The hooks must complete
 * the copy (or wait for it) before returning, and must not touch the CPU
 * mapping of the range being migrated: its pages are locked.
 */
struct drm_pagemap_devmem_ops {
	/**
	 * @devmem_release: Release the allocation (optional).
	 * @devmem_allocation: The allocation.
	 *
	 * Called once the last device page migrated into the allocation
	 * has been freed, that is when the reference handed to
	 * drm_pagemap_migrate_to_devmem() is dropped. The device pages may be
	 * reused from then on. May run in atomic context (the last page can
	 * be freed under a page table spinlock): it must not sleep; defer
	 * heavy work to a worker.
	 *
	 * Other threads can free the pages as soon as the migration mapped
	 * them, so this may run before drm_pagemap_migrate_to_devmem() has
	 * returned 0, on another thread or inside that very call. A driver
	 * that uses the allocation after a successful migration (to put it
	 * on an LRU, say) must hold a reference of its own across the call
	 * and that use, and cope with this having run already.
	 *
	 * &drm_pagemap_devmem.detached is completed right after this
	 * returns; that is the helpers' last access to the allocation. The
	 * hook must therefore not free the allocation, nor drop what may be
	 * the last reference to it: free it once detached has completed,
	 * for instance from a worker that calls wait_for_completion() on it
	 * first, or from whoever waited for an eviction.
	 */
	void (*devmem_release)(struct drm_pagemap_devmem *devmem_allocation);

	/**
	 * @populate_devmem_pfn: Return the pfns of the allocation (required).
	 * @devmem_allocation: The allocation.
	 * @npages: Number of pfns to write, at most size >> PAGE_SHIFT.
	 * @pfn: Array to fill with the device pfns of the first @npages
	 * pages of the allocation, in order.
	 *
	 * Must give the same answer each time it is called for the same
	 * allocation: eviction calls it again to find the pages. Eviction
	 * calls it on an allocation whose pages other threads may free at
	 * any time, so it can race with @devmem_release and with the driver
	 * giving the device memory back: the driver must serialise the two
	 * and fail (with -ENOENT, say) once the memory is gone. Called in
	 * process context; may sleep.
	 *
	 * Return: 0 on success, a negative error code on failure.
	 */
	int (*populate_devmem_pfn)(struct drm_pagemap_devmem *devmem_allocation,
				   unsigned long npages, unsigned long *pfn);

	/**
	 * @copy_to_devmem: Copy system memory to device memory (required).
	 * @pages: Destination device pages.
	 * @dma_addr: Source DMA addresses, mapped DMA_TO_DEVICE for the
	 * allocation's device. Several entries may share the address of
	 * one zeroed page: that is how pages with no data are cleared.
	 * @npages: Number of entries.
	 *
	 * Return: 0 on success, a negative error code on failure.
	 */
	int (*copy_to_devmem)(struct page **pages, dma_addr_t *dma_addr,
			      unsigned long npages);

	/**
	 * @copy_to_ram: Copy device memory to system memory (required).
	 * @pages: Source device pages.
	 * @dma_addr: Destination DMA addresses, mapped DMA_FROM_DEVICE for
	 * the allocation's device.
	 * @npages: Number of entries.
	 *
	 * Return: 0 on success, a negative error code on failure.
	 */
	int (*copy_to_ram)(struct page **pages, dma_addr_t *dma_addr,
			   unsigned long npages);

	/**
	 * @copy_peer_to_devmem: Copy another device's memory to device
	 * memory (optional).
	 * @pages: Destination device pages.
	 * @peer_addr: Source addresses: where the allocation's device
	 * reaches each source page, as the source page's
	 * &drm_pagemap_ops.device_map gave it (an interconnect protocol,
	 * never %DRM_INTERCONNECT_SYSTEM).
	 * @npages: Number of entries.
	 *
	 * Needed for %DRM_PAGEMAP_MIGRATE_PEERS: the device-to-device copy
	 * of drm_pagemap_migrate_to_devmem_flags(). Every source of one
	 * call is in the memory of a device of the owner group, but they
	 * may be in the memories of several.
	 *
	 * Return: 0 on success, a negative error code on failure.
	 */
	int (*copy_peer_to_devmem)(struct page **pages,
				   struct drm_pagemap_device_addr *peer_addr,
				   unsigned long npages);
};

/**
 * DRM_PAGEMAP_TIMESLICE_MAX_MS - Longest timeslice a migration can ask for
 *
 * A CPU fault of user-mode code on migrated pages waits at most this long
 * (milliseconds) for their timeslice; larger values are capped.
 */
#define DRM_PAGEMAP_TIMESLICE_MAX_MS	1000UL

/**
 * struct drm_pagemap_devmem - A device memory allocation backing a range
 * @dev: The device that DMA-maps system pages for the copies.
 * @mm: The address space the allocation is migrated into, or NULL for any.
 * @detached: Completed while no device page refers to the allocation:
 *	initially, after a failed migration and, after a successful one,
 *	once the last page has been freed and
 *	&drm_pagemap_devmem_ops.devmem_release has returned.
 * @ops: The driver hooks.
 * @dpagemap: The &struct drm_pagemap the allocation's pages belong to.
 * @size: Size of the allocation in bytes, a multiple of PAGE_SIZE.
 * @timeslice_expiration: Jiffies (64 bit) until which a CPU fault leaves
 *	the migrated pages in place; see "Migration" in drm_pagemap.c.
 *
 * A driver embeds this in its allocation object, initialises it with
 * drm_pagemap_devmem_init() and hands it to drm_pagemap_migrate_to_devmem().
 */
struct drm_pagemap_devmem {
	struct device *dev;
	struct mm_struct *mm;
	struct completion detached;
	const struct drm_pagemap_devmem_ops *ops;
	struct drm_pagemap *dpagemap;
	size_t size;
	u64 timeslice_expiration;
};

int drm_pagemap_init(struct drm_pagemap *dpagemap, struct device *dev,
		     resource_size_t size, void *owner,
		     const struct drm_pagemap_ops *ops);

int drm_pagemap_init_coherent(struct drm_pagemap *dpagemap, struct device *dev,
			      resource_size_t start, resource_size_t size,
			      void *owner, const struct drm_pagemap_ops *ops);

void drm_pagemap_fini(struct drm_pagemap *dpagemap);

const struct dev_pagemap_ops *drm_pagemap_pagemap_ops_get(void);

struct drm_pagemap *drm_pagemap_page_to_dpagemap(struct page *page);

void drm_pagemap_devmem_init(struct drm_pagemap_devmem *devmem_allocation,
			     struct device *dev, struct mm_struct *mm,
			     const struct drm_pagemap_devmem_ops *ops,
			     struct drm_pagemap *dpagemap, size_t size);

/**
 * DRM_PAGEMAP_MIGRATE_PEERS - Also move pages out of peer devices' memory
 *
 * A flag of drm_pagemap_migrate_to_devmem_flags(): pages of the range that
 * are in the device-private memory of another device of the owner group
 * are collected too and copied straight into the allocation with
 * &drm_pagemap_devmem_ops.copy_peer_to_devmem, without going through
 * system memory. See "Device-to-device migration".
 */
#define DRM_PAGEMAP_MIGRATE_PEERS	BIT(0)

int drm_pagemap_migrate_to_devmem(struct drm_pagemap_devmem *devmem_allocation,
				  struct mm_struct *mm,
				  unsigned long start, unsigned long end,
				  unsigned long timeslice_ms,
				  void *pgmap_owner);

int drm_pagemap_migrate_to_devmem_flags(struct drm_pagemap_devmem *devmem_allocation,
					struct mm_struct *mm,
					unsigned long start, unsigned long end,
					unsigned long timeslice_ms,
					void *pgmap_owner, unsigned int flags);

int drm_pagemap_evict_to_ram(struct drm_pagemap_devmem *devmem_allocation);

long drm_pagemap_migrate_range_to_ram(struct mm_struct *mm,
				      unsigned long start, unsigned long end,
				      void *pgmap_owner);

int drm_pagemap_populate_mm(struct drm_pagemap *dpagemap,
			    unsigned long start, unsigned long end,
			    struct mm_struct *mm,
			    unsigned long timeslice_ms);

/**
 * struct drm_pagemap_owner_list - The devices that may share page owners
 * @lock: Protects @peers and the owners' membership.
 * @peers: The &struct drm_pagemap_peer of every member, those of one owner
 *	next to each other.
 *
 * Typically one per driver, initialised with drm_pagemap_owner_list_init()
 * or statically, with __MUTEX_INITIALIZER() and LIST_HEAD_INIT().
 */
struct drm_pagemap_owner_list {
	struct mutex lock; /* protects peers and the owners' references */
	struct list_head peers;
};

/**
 * struct drm_pagemap_peer - A member of a &struct drm_pagemap_owner_list
 * @list: The list it joined, NULL when it holds no owner.
 * @link: Its place in @list.
 * @owner: The owner it shares with the members it can reach, NULL when it
 *	holds none. Use it as &dev_pagemap.owner and as the
 *	device_private_page_owner of the GPU SVMs of the device.
 * @private: For the driver, e.g. to find its device in the interconnect
 *	callback.
 */
struct drm_pagemap_peer {
	struct drm_pagemap_owner_list *list;
	struct list_head link;
	struct drm_pagemap_owner *owner;
	void *private;
};

/**
 * typedef drm_pagemap_interconnect_fn - Can two peers reach each other's memory?
 * @peer1: A peer.
 * @peer2: Another peer, or the same one.
 *
 * Must be symmetric, and true for a peer with itself. Called under the
 * owner list's lock: it must not acquire or release an owner.
 *
 * Return: true if each device can access the other's device-private
 * memory directly, over an interconnect.
 */
typedef bool (*drm_pagemap_interconnect_fn)(struct drm_pagemap_peer *peer1,
					    struct drm_pagemap_peer *peer2);

void drm_pagemap_owner_list_init(struct drm_pagemap_owner_list *owner_list);
int drm_pagemap_acquire_owner(struct drm_pagemap_peer *peer,
			      struct drm_pagemap_owner_list *owner_list,
			      drm_pagemap_interconnect_fn has_interconnect);
void drm_pagemap_release_owner(struct drm_pagemap_peer *peer);

#endif
