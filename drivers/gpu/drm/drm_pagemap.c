// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Copyright © 2025 The drm_gpusvm project authors
 */

#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/export.h>
#include <linux/ioport.h>
#include <linux/jiffies.h>
#include <linux/kref.h>
#include <linux/memremap.h>
#include <linux/migrate.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include <drm/drm_pagemap.h>

/**
 * DOC: Overview
 *
 * drm_pagemap is the device-memory half of the GPU SVM helpers. Where
 * drm_gpusvm mirrors a CPU address space into a GPU VM, drm_pagemap owns the
 * memory the pages may live in and moves data between system RAM and that
 * memory:
 *
 * - &struct drm_pagemap describes one device's memory. drm_pagemap_init()
 *   reserves a free physical address range and registers it with
 *   memremap_pages() as MEMORY_DEVICE_PRIVATE, so every page of device memory
 *   gets a &struct page the core mm can put in CPU page tables (as special
 *   swap entries the CPU cannot dereference). drm_pagemap_init_coherent()
 *   registers memory the CPU can access as MEMORY_DEVICE_COHERENT instead;
 *   see "Private or coherent memory" below. drm_pagemap_fini() moves
 *   everything back to RAM and unregisters the range. The &drm_pagemap_ops
 *   let another device map the pages (@device_map, @device_unmap) and let a
 *   caller ask for a range of an mm to be moved in (@populate_mm).
 *
 * - &struct drm_pagemap_devmem is one allocation of device memory, embedded
 *   in a driver object (a buffer object, a buddy block...). Its
 *   &drm_pagemap_devmem_ops give the helpers the allocation's pfns and copy
 *   data with the driver's engine.
 *
 * Each device page in use points, through page->zone_device_data, to a small
 * reference-counted object private to this file that ties it to its
 * allocation. Every device page holds one reference; the last page freed
 * (by a CPU fault, an eviction, munmap or process exit) drops the last
 * reference, which calls &drm_pagemap_devmem_ops.devmem_release and then
 * completes &drm_pagemap_devmem.detached. Other code must treat
 * zone_device_data as an opaque pointer: two device pages with the same
 * value belong to the same allocation.
 *
 * That can happen at any time once drm_pagemap_migrate_to_devmem() has
 * mapped the pages, even before it returns: the reference a driver hands to
 * a migration is not the driver's to use afterwards. A driver that still
 * needs the allocation after the call keeps a reference of its own.
 *
 * drm_pagemap knows nothing about GPU page tables: it updates only the CPU
 * page tables. The migrate_vma machinery calls the MMU notifiers, which is
 * how drm_gpusvm and drivers learn that a range moved.
 */

/**
 * DOC: Migration
 *
 * drm_pagemap_migrate_to_devmem() moves a virtual range of an mm into one
 * allocation. Device page i of the allocation backs the page at
 * start + i * PAGE_SIZE, so the allocation must be at least as large as the
 * range. The range may cross several VMAs and holes; only private mappings
 * are migrated, and of those only anonymous pages (a private file mapping
 * keeps its page-cache pages and holes). All VMAs are collected first, then
 * the data of all of them is copied, then the result is committed: a copy
 * failure leaves every page where it was.
 *
 * The core mm cannot always collect every page (a page is locked or pinned
 * by someone else, a VMA is shared, a page belongs to the page cache, an
 * address is a hole between VMAs, a page already lives in device memory).
 * Such pages simply stay where they are: the migration succeeds if at
 * least one page moved and fails with -EBUSY if none did. Callers that need the whole range in
 * device memory check afterwards (drm_gpusvm does so when collecting the
 * pages) and retry or fall back to system memory.
 *
 * Pages that have no data yet (never touched, or mapped to the shared zero
 * page) are cleared on the device: they are passed to
 * &drm_pagemap_devmem_ops.copy_to_devmem with the DMA address of a zeroed
 * system page, so device memory never exposes a former owner's data.
 * Copies are batched: each hook call covers a run of consecutive virtual
 * pages.
 *
 * A CPU access to a device page faults into the pagemap's migrate_to_ram
 * handler, which moves the whole allocation back, not just the faulting
 * page: the part of the migrated range that lies in the faulting VMA.
 * Pages of that range the core mm cannot collect are left alone; the
 * faulting thread retries the access and faults again if its own page was
 * among them, so concurrent faults and racing migrations are resolved by
 * retrying rather than by locks in the helpers.
 *
 * @timeslice_ms of drm_pagemap_migrate_to_devmem() is how long the pages
 * should stay in device memory before a CPU fault may take them back; a
 * GPU driver uses it so that a GPU fault can make progress against a CPU
 * touching the same memory. It is capped at %DRM_PAGEMAP_TIMESLICE_MAX_MS.
 * While it runs, a fault of user-mode code that may drop the mmap lock
 * (FAULT_FLAG_USER and FAULT_FLAG_ALLOW_RETRY, first attempt) releases the
 * lock, sleeps until the timeslice expires and asks the core mm to retry;
 * the retried fault migrates. Any other fault migrates at once: a fault
 * that cannot drop the lock (one raised by hmm_range_fault(), a second
 * attempt), and a fault of the kernel itself (copy_from_user() in a system
 * call, say), which must not stall the system call and widen the windows
 * of the races it takes part in. A CPU access never waits longer than the
 * timeslice and never spins.
 */

/**
 * DOC: Eviction
 *
 * drm_pagemap_evict_to_ram() moves an allocation back to system memory when
 * the driver needs the device memory, without knowing which address spaces
 * map it: migrate_device_range() finds the users through the pages
 * themselves, so no mmap lock is needed. It asks the driver for the
 * allocation's pfns again, copies with &drm_pagemap_devmem_ops.copy_to_ram
 * and waits until the allocation is detached, which happens only after
 * &drm_pagemap_devmem_ops.devmem_release has returned, whichever thread
 * freed the last page: when eviction returns 0 the driver may reuse or free
 * the allocation. Pages that are busy (locked by a racing CPU fault, say)
 * are retried a few times.
 *
 * drm_pagemap_fini() evicts every page of the pagemap before unregistering
 * it, whichever allocation the pages belong to.
 */

/**
 * DOC: Private or coherent memory
 *
 * Device memory is registered in one of two ways, chosen by the driver when
 * it calls the init function:
 *
 * - drm_pagemap_init(): MEMORY_DEVICE_PRIVATE. For memory the CPU cannot
 *   access coherently, a discrete GPU's VRAM behind PCIe being the usual
 *   case. The helpers pick an unused range of physical address space for
 *   the &struct pages; it has nothing to do with where the memory is. A
 *   migrated page is mapped in the CPU page tables as a device-private swap
 *   entry: any CPU access faults, and the fault handler moves the data back
 *   to system memory (&drm_pagemap_devmem_ops.copy_to_ram). Only the device
 *   owning the memory, and devices presenting the same pgmap owner to
 *   hmm_range_fault(), can be handed such pages.
 *
 * - drm_pagemap_init_coherent(): MEMORY_DEVICE_COHERENT. For memory the CPU
 *   can load from and store to coherently at its real physical address:
 *   CXL-attached memory, the memory of an APU, or a GPU's VRAM behind a
 *   cache-coherent link. The driver names the physical range, which must
 *   not be System RAM. A migrated page is mapped in the CPU page tables as
 *   an ordinary page: the CPU reads and writes it in place and never
 *   faults it back, so copy_to_ram is only used by explicit migrations
 *   back (drm_pagemap_migrate_range_to_ram()), by eviction and by
 *   drm_pagemap_fini(). hmm_range_fault() hands coherent pages to every
 *   device, whatever its owner: the owning device maps them through
 *   &drm_pagemap_ops.device_map (drm_gpusvm does so when the owner
 *   matches), any other device uses them like system memory. The core mm
 *   moves coherent pages to system memory by itself when they are pinned
 *   long term (FOLL_LONGTERM), with a CPU copy, since device memory may
 *   disappear; fork() shares them copy-on-write like system pages, and a
 *   write to such a shared page copies it into system memory.
 *
 * The migration and eviction paths are the same for both types: the
 * migrate_vma machinery collects system pages on the way to the device,
 * and device pages of the right owner (MIGRATE_VMA_SELECT_DEVICE_PRIVATE
 * or MIGRATE_VMA_SELECT_DEVICE_COHERENT) on the way back. The timeslice of
 * a migration only matters for private memory: coherent memory never takes
 * CPU faults.
 */

/*
 * Number of eviction passes before drm_pagemap_evict_to_ram() gives up;
 * pass n waits up to (1 << n) ms for the allocation to detach.
 */
#define DRM_PAGEMAP_EVICT_PASSES	8

/**
 * struct drm_pagemap_zdd - Per-allocation object device pages point to
 * @refcount: One reference per device page, plus one held by a migration in
 *	progress.
 * @devmem_allocation: The allocation, NULL after a failed migration.
 * @dpagemap: The pagemap of the pages.
 * @device_private_page_owner: The pgmap owner used to collect the pages.
 * @start: Start of the virtual range the allocation was migrated to.
 * @end: End of that range (exclusive).
 *
 * Stored in page->zone_device_data ("zone device data") of each device page
 * of one allocation.
 */
struct drm_pagemap_zdd {
	struct kref refcount;
	struct drm_pagemap_devmem *devmem_allocation;
	struct drm_pagemap *dpagemap;
	void *device_private_page_owner;
	unsigned long start;
	unsigned long end;
};

/* Pages a migration can move without allocating its arrays. */
#define DRM_PAGEMAP_SMALL_PAGES	4

/**
 * struct drm_pagemap_migrate_buf - Per-page arrays of one migration
 * @src: migrate_vma source entries.
 * @dst: migrate_vma destination entries.
 * @pages: Device pages, the copy hooks' @pages.
 * @dma_addr: System page DMA addresses, the copy hooks' @dma_addr.
 * @small_src: The arrays of a migration of up to DRM_PAGEMAP_SMALL_PAGES
 *	pages, which then allocates none (see drm_pagemap_buf_alloc()).
 * @small_dst: See @small_src.
 * @small_pages: See @small_src.
 * @small_dma_addr: See @small_src.
 *
 * Lives on the stack of one call: it must not be copied, the arrays of a
 * small migration point into it.
 */
struct drm_pagemap_migrate_buf {
	unsigned long *src;
	unsigned long *dst;
	struct page **pages;
	dma_addr_t *dma_addr;
	unsigned long small_src[DRM_PAGEMAP_SMALL_PAGES];
	unsigned long small_dst[DRM_PAGEMAP_SMALL_PAGES];
	struct page *small_pages[DRM_PAGEMAP_SMALL_PAGES];
	dma_addr_t small_dma_addr[DRM_PAGEMAP_SMALL_PAGES];
};

static const struct dev_pagemap_ops drm_pagemap_pagemap_ops;

static struct drm_pagemap_zdd *
drm_pagemap_zdd_alloc(struct drm_pagemap_devmem *devmem_allocation,
		      void *pgmap_owner, unsigned long start, unsigned long end)
{
	struct drm_pagemap_zdd *zdd;

	zdd = kmalloc(sizeof(*zdd), GFP_KERNEL_ACCOUNT);
	if (!zdd)
		return NULL;

	kref_init(&zdd->refcount);
	zdd->devmem_allocation = devmem_allocation;
	zdd->dpagemap = devmem_allocation->dpagemap;
	zdd->device_private_page_owner = pgmap_owner;
	zdd->start = start;
	zdd->end = end;

	return zdd;
}

static struct drm_pagemap_zdd *drm_pagemap_zdd_get(struct drm_pagemap_zdd *zdd)
{
	kref_get(&zdd->refcount);
	return zdd;
}

/*
 * Runs when the last device page of an allocation is freed, possibly under
 * a page table spinlock (zap_pte_range()), hence the atomic-context rule
 * for &drm_pagemap_devmem_ops.devmem_release.
 *
 * The release hook runs first: drm_pagemap_evict_to_ram() promises that it
 * has returned once the allocation is detached. Completing detached is the
 * last access to the allocation, so that a waiter may free it right away
 * (complete_all() is done with the completion before a waiter returns).
 */
static void drm_pagemap_zdd_destroy(struct kref *ref)
{
	struct drm_pagemap_zdd *zdd =
		container_of(ref, struct drm_pagemap_zdd, refcount);
	struct drm_pagemap_devmem *devmem = zdd->devmem_allocation;

	if (devmem) {
		if (devmem->ops->devmem_release)
			devmem->ops->devmem_release(devmem);
		complete_all(&devmem->detached);
	}
	kfree(zdd);
}

static void drm_pagemap_zdd_put(struct drm_pagemap_zdd *zdd)
{
	kref_put(&zdd->refcount, drm_pagemap_zdd_destroy);
}

/* True for the device pages, private or coherent, this file manages. */
static bool drm_pagemap_is_own_page(struct page *page)
{
	return (is_device_private_page(page) ||
		is_device_coherent_page(page)) &&
		page->pgmap->ops == &drm_pagemap_pagemap_ops;
}

static struct drm_pagemap_devmem *drm_pagemap_page_devmem(struct page *page)
{
	struct drm_pagemap_zdd *zdd = page->zone_device_data;

	return zdd ? zdd->devmem_allocation : NULL;
}

/*
 * Zeroed arrays of @npages entries in @buf: its own for a small migration
 * (a 4 KiB one otherwise spends a tenth of its helper time allocating and
 * freeing them), else one allocation. Cannot fail for a small one.
 */
static int drm_pagemap_buf_alloc(struct drm_pagemap_migrate_buf *buf,
				 unsigned long npages)
{
	size_t entry = 2 * sizeof(unsigned long) + sizeof(struct page *) +
		sizeof(dma_addr_t);
	void *mem;

	if (npages <= DRM_PAGEMAP_SMALL_PAGES) {
		memset(buf->small_src, 0, npages * sizeof(*buf->small_src));
		memset(buf->small_dst, 0, npages * sizeof(*buf->small_dst));
		memset(buf->small_pages, 0, npages * sizeof(*buf->small_pages));
		memset(buf->small_dma_addr, 0,
		       npages * sizeof(*buf->small_dma_addr));
		buf->src = buf->small_src;
		buf->dst = buf->small_dst;
		buf->pages = buf->small_pages;
		buf->dma_addr = buf->small_dma_addr;
		return 0;
	}

	mem = kvcalloc(npages, entry, GFP_KERNEL);
	if (!mem)
		return -ENOMEM;

	buf->src = mem;
	buf->dst = buf->src + npages;
	buf->pages = (struct page **)(buf->dst + npages);
	buf->dma_addr = (dma_addr_t *)(buf->pages + npages);

	return 0;
}

static void drm_pagemap_buf_free(struct drm_pagemap_migrate_buf *buf)
{
	if (buf->src != buf->small_src)
		kvfree(buf->src);
}

/**
 * drm_pagemap_next_run() - Find the next run of pages to copy
 * @dst: migrate destination entries; entries to copy are non-zero.
 * @pages: The device pages of the entries.
 * @npages: Number of entries.
 * @pos: In: where to start looking. Out: the index after the run.
 * @len: Out: length of the run.
 *
 * A run is a maximal sequence of consecutive entries that have a
 * destination and a device page, and whose device pages belong to one
 * allocation, so that one hook call of that allocation's driver can copy
 * it.
 *
 * Return: The index of the first entry of the run, or @npages if none is
 * left.
 */
static unsigned long drm_pagemap_next_run(const unsigned long *dst,
					  struct page **pages,
					  unsigned long npages,
					  unsigned long *pos,
					  unsigned long *len)
{
	unsigned long first = *pos, i;
	void *owner;

	while (first < npages && (!dst[first] || !pages[first]))
		first++;
	if (first == npages) {
		*pos = npages;
		*len = 0;
		return npages;
	}

	owner = pages[first]->zone_device_data;
	for (i = first + 1; i < npages; i++)
		if (!dst[i] || !pages[i] ||
		    pages[i]->zone_device_data != owner)
			break;

	*pos = i;
	*len = i - first;
	return first;
}

/*
 * The system page a migrate_vma source entry holds, or NULL if there is
 * none or it is the shared zero page: such entries are cleared, not copied.
 */
static struct page *drm_pagemap_src_page(unsigned long src)
{
	struct page *page = migrate_pfn_to_page(src);

	if (page && is_zero_pfn(page_to_pfn(page)))
		return NULL;
	return page;
}

/*
 * Undo the DMA mappings made for a copy back to system memory: an entry is
 * mapped if it has both a destination and a device page.
 */
static void drm_pagemap_unmap_ram_dsts(struct drm_pagemap_migrate_buf *buf,
				       unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages; i++) {
		struct drm_pagemap_devmem *devmem;

		if (!buf->dst[i] || !buf->pages[i])
			continue;
		devmem = drm_pagemap_page_devmem(buf->pages[i]);
		dma_unmap_page(devmem->dev, buf->dma_addr[i], PAGE_SIZE,
			       DMA_FROM_DEVICE);
		buf->pages[i] = NULL;
	}
}

/* Release a destination page that will not be used after all. */
static void drm_pagemap_drop_dst_page(unsigned long *dst)
{
	struct page *page = migrate_pfn_to_page(*dst);

	*dst = 0;
	if (!page)
		return;
	unlock_page(page);
	put_page(page);
}

/*
 * Create the &struct pages of @size bytes at the start of @res, which the
 * caller reserved, and fill in @dpagemap. On failure @res is released.
 */
static int drm_pagemap_register(struct drm_pagemap *dpagemap,
				struct device *dev, struct resource *res,
				enum memory_type type, resource_size_t size,
				void *owner, const struct drm_pagemap_ops *ops)
{
	void *addr;

	memset(&dpagemap->pagemap, 0, sizeof(dpagemap->pagemap));
	dpagemap->pagemap.type = type;
	dpagemap->pagemap.range.start = res->start;
	/* A private reservation is rounded up to a memory section. */
	dpagemap->pagemap.range.end = res->start + size - 1;
	dpagemap->pagemap.nr_range = 1;
	dpagemap->pagemap.ops = &drm_pagemap_pagemap_ops;
	dpagemap->pagemap.owner = owner;

	addr = memremap_pages(&dpagemap->pagemap, dev_to_node(dev));
	if (IS_ERR(addr)) {
		release_mem_region(res->start, resource_size(res));
		return PTR_ERR(addr);
	}

	dpagemap->ops = ops;
	dpagemap->dev = dev;
	dpagemap->res = res;

	return 0;
}

/**
 * drm_pagemap_init() - Register device-private memory
 * @dpagemap: The pagemap to initialise, usually embedded in a driver
 *	structure.
 * @dev: The device owning the memory.
 * @size: Size of the memory in bytes, a multiple of memremap_compat_align()
 *	(2 MiB on x86-64).
 * @owner: The pgmap owner token (non-NULL). hmm_range_fault() and
 *	migrate_vma only hand out device pages to callers presenting the
 *	same token; drivers sharing memory across devices use one token.
 * @ops: The &drm_pagemap_ops of the memory, may be NULL if nobody maps or
 *	populates through the pagemap.
 *
 * Reserves a free range of physical address space (request_free_mem_region(),
 * which rounds the reservation up to a memory section) and creates
 * &struct pages for the first @size bytes of it with
 * memremap_pages() as MEMORY_DEVICE_PRIVATE, using the helpers'
 * &dev_pagemap_ops (drm_pagemap_pagemap_ops_get()). Device pfn
 * drm_pagemap_base_pfn() + i is device offset i * PAGE_SIZE; see
 * drm_pagemap_pfn_to_offset() and friends. The registration is not device
 * managed: undo it with drm_pagemap_fini(). After a failure, which leaves
 * nothing registered, drm_pagemap_fini() does nothing.
 *
 * Context: Process context, may sleep. Takes the memory hotplug locks.
 *
 * Return: 0 on success, -EINVAL if an argument is invalid (NULL @dev or
 * @owner, @size zero or misaligned), -ERANGE or -ENOSPC if no free physical
 * range of that size is left, -ENOMEM on allocation failure or any error of
 * memremap_pages().
 */
int drm_pagemap_init(struct drm_pagemap *dpagemap, struct device *dev,
		     resource_size_t size, void *owner,
		     const struct drm_pagemap_ops *ops)
{
	struct resource *res;

	if (!dpagemap)
		return -EINVAL;
	/* On failure, drm_pagemap_fini() must find nothing to undo. */
	dpagemap->res = NULL;
	if (!dev || !owner || !size ||
	    !IS_ALIGNED(size, memremap_compat_align()))
		return -EINVAL;

	might_sleep();

	res = request_free_mem_region(&iomem_resource, size, dev_name(dev));
	if (IS_ERR(res))
		return PTR_ERR(res);

	return drm_pagemap_register(dpagemap, dev, res, MEMORY_DEVICE_PRIVATE,
				    size, owner, ops);
}
EXPORT_SYMBOL_GPL(drm_pagemap_init);

/**
 * drm_pagemap_init_coherent() - Register device-coherent memory
 * @dpagemap: The pagemap to initialise, usually embedded in a driver
 *	structure.
 * @dev: The device owning the memory.
 * @start: Physical address of the memory, where the CPU accesses it. A
 *	multiple of memremap_compat_align() (2 MiB on x86-64).
 * @size: Size of the memory in bytes, a multiple of memremap_compat_align().
 * @owner: The pgmap owner token (non-NULL), see drm_pagemap_init().
 * @ops: The &drm_pagemap_ops of the memory, may be NULL.
 *
 * Like drm_pagemap_init(), but for memory the CPU can access coherently at
 * [@start, @start + @size): see "Private or coherent memory" above. The
 * range is claimed with request_mem_region() for as long as it is
 * registered, so that two pagemaps cannot share it; it must not be
 * System RAM nor claimed by anyone else (a range the firmware reserved, or
 * a device aperture the driver has not requested itself). memremap_pages()
 * as MEMORY_DEVICE_COHERENT adds it to the kernel's linear map, where the
 * driver's copy hooks may access it (page_address() of a device page).
 * Undo with drm_pagemap_fini().
 *
 * Context: Process context, may sleep. Takes the memory hotplug locks.
 *
 * Return: 0 on success, -EINVAL if an argument is invalid (NULL @dev or
 * @owner, @size zero, @start or @size misaligned, the range wraps around),
 * -EBUSY if someone else claimed part of the range, -ENXIO if it
 * intersects System RAM, -ENOMEM on allocation failure or another error of
 * memremap_pages().
 */
int drm_pagemap_init_coherent(struct drm_pagemap *dpagemap, struct device *dev,
			      resource_size_t start, resource_size_t size,
			      void *owner, const struct drm_pagemap_ops *ops)
{
	struct resource *res;

	if (!dpagemap)
		return -EINVAL;
	dpagemap->res = NULL;
	if (!dev || !owner || !size || start + size < start ||
	    !IS_ALIGNED(start, memremap_compat_align()) ||
	    !IS_ALIGNED(size, memremap_compat_align()))
		return -EINVAL;

	might_sleep();

	/* memremap_pages() would WARN on System RAM: refuse it quietly. */
	if (region_intersects(start, size, IORESOURCE_SYSTEM_RAM,
			      IORES_DESC_NONE) != REGION_DISJOINT)
		return -ENXIO;

	res = request_mem_region(start, size, dev_name(dev));
	if (!res)
		return -EBUSY;

	return drm_pagemap_register(dpagemap, dev, res, MEMORY_DEVICE_COHERENT,
				    size, owner, ops);
}
EXPORT_SYMBOL_GPL(drm_pagemap_init_coherent);

/*
 * The allocation behind source entry @i of a device-to-RAM migration, or
 * NULL if the entry is not migrating or is not a device page of ours.
 */
static struct drm_pagemap_devmem *
drm_pagemap_src_devmem(const struct drm_pagemap_migrate_buf *buf,
		       unsigned long i)
{
	struct page *spage = migrate_pfn_to_page(buf->src[i]);

	if (!spage || !(buf->src[i] & MIGRATE_PFN_MIGRATE) ||
	    !drm_pagemap_is_own_page(spage))
		return NULL;

	return drm_pagemap_page_devmem(spage);
}

/*
 * Make @dpage the system-memory destination of source entry @i: lock it,
 * give it the source's write permission and DMA-map it for the copy hook.
 * Returns false if it could not be mapped; @dpage then stays the
 * (uncopied) destination and the caller keeps or drops it.
 */
static bool drm_pagemap_set_ram_dst(struct drm_pagemap_migrate_buf *buf,
				    unsigned long i,
				    struct drm_pagemap_devmem *devmem,
				    struct page *dpage)
{
	dma_addr_t addr;

	lock_page(dpage);
	buf->dst[i] = migrate_pfn(page_to_pfn(dpage));
	if (buf->src[i] & MIGRATE_PFN_WRITE)
		buf->dst[i] |= MIGRATE_PFN_WRITE;

	addr = dma_map_page(devmem->dev, dpage, 0, PAGE_SIZE, DMA_FROM_DEVICE);
	if (dma_mapping_error(devmem->dev, addr))
		return false;
	buf->dma_addr[i] = addr;
	buf->pages[i] = migrate_pfn_to_page(buf->src[i]);

	return true;
}

/**
 * drm_pagemap_evict_pfns() - Move device pages back to system memory
 * @pfns: The device pfns to evict; runs of consecutive pfns are collected
 *	together.
 * @npages: Number of entries of @pfns.
 * @devmem_allocation: Only evict pages of this allocation, or NULL for any
 *	allocation (pagemap teardown). Pages of other allocations found at
 *	@pfns (the allocation was released and its memory reused since
 *	@pfns was filled) are left alone.
 * @buf: Scratch arrays of at least @npages entries.
 * @force: On copy or allocation failure, move the page anyway with zeroed
 *	content instead of leaving it on the device. Used as a last resort
 *	when the memory goes away.
 *
 * Context: Process context, may sleep.
 *
 * Return: 0 if every page found in use was moved, -ENOMEM if a system page
 * could not be allocated or mapped, or the error of the copy hook. Pages
 * that failed stay in device memory with their data.
 */
static int drm_pagemap_evict_pfns(const unsigned long *pfns,
				  unsigned long npages,
				  struct drm_pagemap_devmem *devmem_allocation,
				  struct drm_pagemap_migrate_buf *buf,
				  bool force)
{
	gfp_t gfp = GFP_HIGHUSER_MOVABLE | (force ? __GFP_NOFAIL | __GFP_ZERO : 0);
	unsigned long i, first, len, pos;
	int ret = 0;

	memset(buf->dst, 0, npages * sizeof(*buf->dst));
	memset(buf->pages, 0, npages * sizeof(*buf->pages));

	for (first = 0; first < npages; first = i) {
		for (i = first + 1; i < npages; i++)
			if (pfns[i] != pfns[i - 1] + 1)
				break;
		migrate_device_range(buf->src + first, pfns[first], i - first);
	}

	for (i = 0; i < npages; i++) {
		struct drm_pagemap_devmem *devmem;
		struct page *dpage;

		if (!migrate_pfn_to_page(buf->src[i]) ||
		    !(buf->src[i] & MIGRATE_PFN_MIGRATE))
			continue;

		devmem = drm_pagemap_src_devmem(buf, i);
		/*
		 * @pfns may be stale: the allocation can be released between
		 * two passes and its device memory reused by another one,
		 * whose pages are left where they are. A page being handed
		 * to that one may have no owner yet (zone_device_page_init()
		 * sets its count before it locks it). At teardown nothing is
		 * migrated into the pagemap any more: every page in use has
		 * an owner.
		 */
		if (devmem_allocation ? devmem != devmem_allocation :
					WARN_ON_ONCE(!devmem))
			continue;

		dpage = alloc_page(gfp);
		if (!dpage) {
			ret = -ENOMEM;
			continue;
		}
		/* A forced pass moves the zeroed page uncopied. */
		if (!drm_pagemap_set_ram_dst(buf, i, devmem, dpage) && !force) {
			drm_pagemap_drop_dst_page(&buf->dst[i]);
			ret = -ENOMEM;
		}
	}

	pos = 0;
	for (;;) {
		struct drm_pagemap_devmem *devmem;
		int err;

		first = drm_pagemap_next_run(buf->dst, buf->pages, npages,
					     &pos, &len);
		if (first == npages)
			break;

		devmem = drm_pagemap_page_devmem(buf->pages[first]);
		err = devmem->ops->copy_to_ram(buf->pages + first,
					       buf->dma_addr + first, len);
		if (!err)
			continue;

		if (force) {
			dev_warn(devmem->dev,
				 "drm_pagemap: eviction copy failed (%d), %lu pages lost\n",
				 err, len);
			for (i = first; i < first + len; i++)
				clear_highpage(migrate_pfn_to_page(buf->dst[i]));
			continue;
		}

		ret = err;
		for (i = first; i < first + len; i++) {
			dma_unmap_page(devmem->dev, buf->dma_addr[i],
				       PAGE_SIZE, DMA_FROM_DEVICE);
			buf->pages[i] = NULL;
			drm_pagemap_drop_dst_page(&buf->dst[i]);
		}
	}

	drm_pagemap_unmap_ram_dsts(buf, npages);
	migrate_device_pages(buf->src, buf->dst, npages);
	migrate_device_finalize(buf->src, buf->dst, npages);

	return ret;
}

/* Number of pages of a pfn array still referenced by someone. */
static unsigned long drm_pagemap_pages_in_use(const unsigned long *pfns,
					      unsigned long npages)
{
	unsigned long i, busy = 0;

	for (i = 0; i < npages; i++)
		if (page_ref_count(pfn_to_page(pfns[i])))
			busy++;

	return busy;
}

/**
 * drm_pagemap_fini() - Unregister device memory
 * @dpagemap: A pagemap registered with drm_pagemap_init() or
 *	drm_pagemap_init_coherent(), or one that is not registered (then
 *	nothing happens).
 *
 * Moves every page of @dpagemap still in use back to system memory, waits
 * until all of them are freed, then removes the &struct pages and releases
 * the physical range. Device memory that cannot be copied after several
 * attempts is replaced by zeroed system memory, with a warning: the memory
 * is going away, there is nowhere else to keep it. The driver must have
 * stopped migrating into @dpagemap, and the allocations'
 * &drm_pagemap_devmem_ops must stay usable until this returns.
 *
 * Context: Process context, may sleep. Takes the memory hotplug locks.
 */
void drm_pagemap_fini(struct drm_pagemap *dpagemap)
{
	struct drm_pagemap_migrate_buf buf;
	unsigned long npages, base, i, *pfns;
	int pass;

	if (!dpagemap || !dpagemap->res)
		return;

	might_sleep();

	npages = drm_pagemap_npages(dpagemap);
	base = drm_pagemap_base_pfn(dpagemap);

	pfns = kvmalloc_array(npages, sizeof(*pfns), GFP_KERNEL | __GFP_NOFAIL);
	for (i = 0; i < npages; i++)
		pfns[i] = base + i;

	while (drm_pagemap_buf_alloc(&buf, npages))
		cond_resched();

	for (pass = 0; pass <= DRM_PAGEMAP_EVICT_PASSES; pass++) {
		bool last = pass == DRM_PAGEMAP_EVICT_PASSES;

		if (!drm_pagemap_pages_in_use(pfns, npages))
			break;
		drm_pagemap_evict_pfns(pfns, npages, NULL, &buf, last);
		if (!last && drm_pagemap_pages_in_use(pfns, npages))
			msleep(1 << pass);
	}

	drm_pagemap_buf_free(&buf);
	kvfree(pfns);

	memunmap_pages(&dpagemap->pagemap);
	release_mem_region(dpagemap->res->start, resource_size(dpagemap->res));
	dpagemap->res = NULL;
}
EXPORT_SYMBOL_GPL(drm_pagemap_fini);

/**
 * drm_pagemap_page_to_dpagemap() - The pagemap a device page belongs to
 * @page: Any page.
 *
 * Return: The &struct drm_pagemap of the allocation @page was migrated
 * into, or NULL if @page is not a device page (private or coherent) in
 * use created by drm_pagemap_migrate_to_devmem().
 */
struct drm_pagemap *drm_pagemap_page_to_dpagemap(struct page *page)
{
	struct drm_pagemap_zdd *zdd;

	if (!page || !drm_pagemap_is_own_page(page))
		return NULL;

	zdd = page->zone_device_data;
	return zdd ? zdd->dpagemap : NULL;
}
EXPORT_SYMBOL_GPL(drm_pagemap_page_to_dpagemap);

/**
 * drm_pagemap_devmem_init() - Initialise a device memory allocation
 * @devmem_allocation: The allocation, embedded in a driver object.
 * @dev: The device whose DMA mappings the copy hooks use.
 * @mm: The address space the allocation will be migrated into, or NULL to
 *	not check.
 * @ops: The driver hooks; @populate_devmem_pfn, @copy_to_devmem and
 *	@copy_to_ram are required.
 * @dpagemap: The pagemap the allocation's pages belong to.
 * @size: Size of the allocation in bytes, a multiple of PAGE_SIZE.
 *
 * The allocation starts detached: &drm_pagemap_devmem.detached is
 * complete until drm_pagemap_migrate_to_devmem() puts pages in use.
 *
 * Context: Any context.
 */
void drm_pagemap_devmem_init(struct drm_pagemap_devmem *devmem_allocation,
			     struct device *dev, struct mm_struct *mm,
			     const struct drm_pagemap_devmem_ops *ops,
			     struct drm_pagemap *dpagemap, size_t size)
{
	init_completion(&devmem_allocation->detached);
	complete_all(&devmem_allocation->detached);
	devmem_allocation->dev = dev;
	devmem_allocation->mm = mm;
	devmem_allocation->ops = ops;
	devmem_allocation->dpagemap = dpagemap;
	devmem_allocation->size = size;
	devmem_allocation->timeslice_expiration = 0;
}
EXPORT_SYMBOL_GPL(drm_pagemap_devmem_init);

/*
 * Can migrate_vma move pages of this VMA into device memory at all? Private
 * mappings only: of a private file mapping, core mm moves the anonymous
 * (copied-on-write) pages and leaves the page cache and holes alone. DAX
 * mappings, private or not, are refused by migrate_vma_setup().
 */
static bool drm_pagemap_vma_migratable(struct vm_area_struct *vma)
{
	return !(vma->vm_flags & (VM_SHARED | VM_SPECIAL)) &&
		!is_vm_hugetlb_page(vma) && !vma_is_dax(vma);
}

/*
 * One migration into device memory, handed from stage to stage by
 * drm_pagemap_migrate_to_devmem().
 */
struct drm_pagemap_to_devmem {
	struct drm_pagemap_devmem *devmem;
	struct drm_pagemap_zdd *zdd;
	struct drm_pagemap_migrate_buf buf;
	unsigned long npages;
	unsigned int flags;
	struct migrate_vma *migrate;
	unsigned long nvmas;
	/* @migrate of a range within one VMA, the usual case. */
	struct migrate_vma one_vma;
	/* The source of the copy for holes and zero pages, once needed. */
	struct page *zero_page;
	dma_addr_t zero_dma;
	/*
	 * With DRM_PAGEMAP_MIGRATE_PEERS, once a source is in a peer's
	 * memory: per page, where the destination device reaches it.
	 */
	struct drm_pagemap_device_addr *peer_addr;
};

/*
 * Is the source of a migration to device memory in the memory of a peer?
 * Only DRM_PAGEMAP_MIGRATE_PEERS collects device pages, and those of the
 * destination's own pagemap get no destination (see drm_pagemap_prepare()).
 */
static bool drm_pagemap_src_is_peer(unsigned long src)
{
	struct page *page = drm_pagemap_src_page(src);

	return page && is_zone_device_page(page);
}

/*
 * Stage 1: the device pages, decided before anything is unmapped. They go
 * to buf.pages; buf.dst stays empty until stage 3.
 */
static int drm_pagemap_devmem_pages(struct drm_pagemap_to_devmem *mig)
{
	struct drm_pagemap_migrate_buf *buf = &mig->buf;
	unsigned long i;
	int err;

	err = mig->devmem->ops->populate_devmem_pfn(mig->devmem, mig->npages,
						    buf->dst);
	if (err)
		return err;
	for (i = 0; i < mig->npages; i++) {
		struct page *page = pfn_to_page(buf->dst[i]);

		if (WARN_ON_ONCE(!drm_pagemap_is_own_page(page) ||
				 page_ref_count(page)))
			return -EINVAL;
		buf->pages[i] = page;
	}
	memset(buf->dst, 0, mig->npages * sizeof(*buf->dst));
	return 0;
}

/*
 * Stage 2: collect and unmap the system pages of every VMA of the range
 * that can move. On error, what was collected is already given back.
 */
static int drm_pagemap_collect(struct drm_pagemap_to_devmem *mig,
			       struct mm_struct *mm, unsigned long start,
			       unsigned long end, void *pgmap_owner)
{
	VMA_ITERATOR(vmi, mm, start);
	struct vm_area_struct *vma;
	unsigned long i = 0;
	int err;

	for_each_vma_range(vmi, vma, end) {
		unsigned long vstart = max(start, vma->vm_start);
		unsigned long off = (vstart - start) >> PAGE_SHIFT;
		struct migrate_vma *m = &mig->migrate[i];

		if (!drm_pagemap_vma_migratable(vma))
			continue;

		m->vma = vma;
		m->start = vstart;
		m->end = min(end, vma->vm_end);
		m->src = mig->buf.src + off;
		m->dst = mig->buf.dst + off;
		m->pgmap_owner = pgmap_owner;
		m->flags = MIGRATE_VMA_SELECT_SYSTEM;
		if (mig->flags & DRM_PAGEMAP_MIGRATE_PEERS)
			m->flags |= MIGRATE_VMA_SELECT_DEVICE_PRIVATE;

		err = migrate_vma_setup(m);
		if (err) {
			while (i--)
				migrate_vma_finalize(&mig->migrate[i]);
			return err;
		}
		i++;
	}
	mig->nvmas = i;
	return 0;
}

/* The DMA address of a zeroed page, to clear device pages from. */
static int drm_pagemap_zero_source(struct drm_pagemap_to_devmem *mig,
				   dma_addr_t *addr)
{
	struct device *dev = mig->devmem->dev;

	if (!mig->zero_page) {
		struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO);

		if (!page)
			return -ENOMEM;
		mig->zero_dma = dma_map_page(dev, page, 0, PAGE_SIZE,
					     DMA_TO_DEVICE);
		if (dma_mapping_error(dev, mig->zero_dma)) {
			__free_page(page);
			return -ENOMEM;
		}
		mig->zero_page = page;
	}
	*addr = mig->zero_dma;
	return 0;
}

/*
 * Undo stage 3: the DMA mappings of the sources, and the destinations
 * (which gives the device pages back) if @drop_dsts.
 */
static void drm_pagemap_unprepare(struct drm_pagemap_to_devmem *mig,
				  bool drop_dsts)
{
	struct drm_pagemap_migrate_buf *buf = &mig->buf;
	struct device *dev = mig->devmem->dev;
	unsigned long i;

	for (i = 0; i < mig->npages; i++) {
		struct page *spage = drm_pagemap_src_page(buf->src[i]);
		struct drm_pagemap *peer;

		if (!buf->dst[i] || !spage)
			continue;
		if (!is_zone_device_page(spage)) {
			dma_unmap_page(dev, buf->dma_addr[i], PAGE_SIZE,
				       DMA_TO_DEVICE);
			continue;
		}
		peer = drm_pagemap_page_to_dpagemap(spage);
		if (peer->ops->device_unmap)
			peer->ops->device_unmap(peer, dev, mig->peer_addr[i]);
	}
	if (mig->zero_page) {
		dma_unmap_page(dev, mig->zero_dma, PAGE_SIZE, DMA_TO_DEVICE);
		__free_page(mig->zero_page);
		mig->zero_page = NULL;
	}
	if (drop_dsts)
		for (i = 0; i < mig->npages; i++)
			drm_pagemap_drop_dst_page(&mig->buf.dst[i]);
}

/*
 * A source of entry @i in the memory of another device of the owner group
 * (DRM_PAGEMAP_MIGRATE_PEERS): where our device reaches it, from the
 * source pagemap's device_map. Return: 0 if mapped, 1 if the page stays
 * where it is (it is in our own memory already, or its pagemap cannot map
 * it for us), or -ENOMEM.
 */
static int drm_pagemap_map_peer(struct drm_pagemap_to_devmem *mig,
				struct page *spage, unsigned long i)
{
	struct drm_pagemap *peer = drm_pagemap_page_to_dpagemap(spage);
	struct device *dev = mig->devmem->dev;
	struct drm_pagemap_device_addr addr;

	if (!peer || peer == mig->devmem->dpagemap || !peer->ops ||
	    !peer->ops->device_map)
		return 1;
	if (!mig->peer_addr) {
		mig->peer_addr = kvcalloc(mig->npages, sizeof(*mig->peer_addr),
					  GFP_KERNEL);
		if (!mig->peer_addr)
			return -ENOMEM;
	}
	addr = peer->ops->device_map(peer, dev, spage, 0, DMA_TO_DEVICE);
	if (dma_mapping_error(dev, addr.addr))
		return -ENOMEM;
	/* Device-private memory has no DMA address: a driver bug. */
	if (WARN_ON_ONCE(addr.proto == DRM_INTERCONNECT_SYSTEM)) {
		if (peer->ops->device_unmap)
			peer->ops->device_unmap(peer, dev, addr);
		return 1;
	}
	mig->peer_addr[i] = addr;
	return 0;
}

/*
 * Stage 3: DMA-map the source of each collected page (or map it through
 * its pagemap if it is a peer's) and give it its device page. Return: the
 * number of pages to copy, or a negative errno.
 */
static long drm_pagemap_prepare(struct drm_pagemap_to_devmem *mig)
{
	struct drm_pagemap_migrate_buf *buf = &mig->buf;
	struct device *dev = mig->devmem->dev;
	unsigned long i, count = 0;
	int err;

	for (i = 0; i < mig->npages; i++) {
		struct page *dpage = buf->pages[i];
		struct page *spage;
		dma_addr_t addr;

		if (!(buf->src[i] & MIGRATE_PFN_MIGRATE))
			continue;

		spage = drm_pagemap_src_page(buf->src[i]);
		/*
		 * migrate_vma_pages() moves only anonymous memory to a device:
		 * a page-cache page of a private file mapping would be copied
		 * for nothing and then refused. No destination: it stays.
		 */
		if (spage && !folio_test_anon(page_folio(spage)))
			continue;
		if (spage && is_zone_device_page(spage)) {
			err = drm_pagemap_map_peer(mig, spage, i);
			if (err < 0)
				return err;
			if (err)
				continue;
			/* Its address is in peer_addr; none for the DMA API. */
			addr = DMA_MAPPING_ERROR;
		} else if (spage) {
			addr = dma_map_page(dev, spage, 0, PAGE_SIZE,
					    DMA_TO_DEVICE);
			if (dma_mapping_error(dev, addr))
				return -ENOMEM;
		} else {
			err = drm_pagemap_zero_source(mig, &addr);
			if (err)
				return err;
		}
		buf->dma_addr[i] = addr;

		zone_device_page_init(dpage);
		dpage->zone_device_data = drm_pagemap_zdd_get(mig->zdd);
		buf->dst[i] = migrate_pfn(page_to_pfn(dpage));
		count++;
	}
	return count;
}

/*
 * Stage 4: copy, a run of consecutive pages per hook call: system memory
 * with copy_to_devmem, a peer's memory with copy_peer_to_devmem.
 */
static int drm_pagemap_copy_in(struct drm_pagemap_to_devmem *mig)
{
	const struct drm_pagemap_devmem_ops *ops = mig->devmem->ops;
	struct drm_pagemap_migrate_buf *buf = &mig->buf;
	unsigned long pos = 0, first, len, i, n;
	bool peer;
	int err;

	for (;;) {
		first = drm_pagemap_next_run(buf->dst, buf->pages, mig->npages,
					     &pos, &len);
		if (first == mig->npages)
			return 0;
		for (i = first; i < first + len; i += n) {
			peer = drm_pagemap_src_is_peer(buf->src[i]);
			for (n = 1; i + n < first + len; n++)
				if (drm_pagemap_src_is_peer(buf->src[i + n]) != peer)
					break;
			if (peer)
				err = ops->copy_peer_to_devmem(buf->pages + i,
							       mig->peer_addr + i,
							       n);
			else
				err = ops->copy_to_devmem(buf->pages + i,
							  buf->dma_addr + i, n);
			if (err)
				return err;
		}
	}
}

/*
 * Stage 5: point the CPU page tables at the device pages. Return: the
 * number of pages that moved.
 */
static unsigned long drm_pagemap_commit(struct drm_pagemap_to_devmem *mig,
					unsigned long timeslice_ms)
{
	struct drm_pagemap_migrate_buf *buf = &mig->buf;
	unsigned long i, moved = 0;

	/*
	 * Set before the pages become visible: a CPU fault may hit them as
	 * soon as migrate_vma_finalize() has run.
	 */
	mig->devmem->timeslice_expiration = get_jiffies_64() +
		msecs_to_jiffies(min(timeslice_ms, DRM_PAGEMAP_TIMESLICE_MAX_MS));

	for (i = 0; i < mig->nvmas; i++)
		migrate_vma_pages(&mig->migrate[i]);
	for (i = 0; i < mig->npages; i++)
		if ((buf->src[i] & MIGRATE_PFN_MIGRATE) && buf->dst[i])
			moved++;
	for (i = 0; i < mig->nvmas; i++)
		migrate_vma_finalize(&mig->migrate[i]);
	return moved;
}

/**
 * drm_pagemap_migrate_to_devmem_flags() - Move a range of an mm into device memory
 * @devmem_allocation: The allocation to migrate to, initialised with
 *	drm_pagemap_devmem_init() and not in use. The caller hands over one
 *	reference to it: on success the reference belongs to the migrated
 *	pages and is given back through
 *	&drm_pagemap_devmem_ops.devmem_release once the last of them is
 *	freed; on error it stays with the caller and nothing refers to the
 *	allocation. The pages may be freed by other threads as soon as they
 *	are mapped, so on success the reference may be given back before
 *	this function returns: a caller that touches the allocation after
 *	the call needs a second reference of its own, held until it is done.
 * @mm: The address space.
 * @start: Start of the range, page aligned.
 * @end: End of the range (exclusive), page aligned; the range must not be
 *	larger than the allocation.
 * @timeslice_ms: How long the pages should stay in device memory before a
 *	CPU fault of user-mode code may move them back, at most
 *	%DRM_PAGEMAP_TIMESLICE_MAX_MS (see "Migration" above).
 * @pgmap_owner: The owner token of the pagemap; it is passed to the MMU
 *	notifiers and used to collect the pages on the way back.
 * @flags: 0, or %DRM_PAGEMAP_MIGRATE_PEERS to also move pages that are in
 *	the memory of other devices with the owner @pgmap_owner (see
 *	"Device-to-device migration" above).
 *
 * Device page i of the allocation backs address @start + i * PAGE_SIZE.
 * Pages the core mm cannot collect, holes, shared VMAs and page-cache
 * pages stay where they are; see "Migration" above. Pages
 * without data are cleared on the device. On any error the CPU page tables
 * are restored and no data is lost.
 *
 * Context: Process context, may sleep. The caller holds the mmap lock of
 * @mm (read mode is enough) and a reference keeping @mm alive, as
 * drm_pagemap_populate_mm() does. The copy hook runs with the source pages
 * locked.
 *
 * Return: 0 if at least one page moved; -EINVAL for invalid arguments (NULL
 * pointers, missing hooks, unaligned or empty range, range larger than the
 * allocation, @mm not the allocation's mm, pfns that are not free pages of
 * a drm_pagemap, unknown @flags, %DRM_PAGEMAP_MIGRATE_PEERS without
 * &drm_pagemap_devmem_ops.copy_peer_to_devmem); -EFAULT if no VMA
 * intersects the range; -EBUSY if no page could be migrated; -ENOMEM on
 * allocation or DMA mapping failure (or when a peer's
 * &drm_pagemap_ops.device_map fails); or the error returned by
 * &drm_pagemap_devmem_ops.populate_devmem_pfn,
 * &drm_pagemap_devmem_ops.copy_to_devmem or
 * &drm_pagemap_devmem_ops.copy_peer_to_devmem.
 */
int drm_pagemap_migrate_to_devmem_flags(struct drm_pagemap_devmem *devmem_allocation,
					struct mm_struct *mm,
					unsigned long start, unsigned long end,
					unsigned long timeslice_ms,
					void *pgmap_owner, unsigned int flags)
{
	const struct drm_pagemap_devmem_ops *ops;
	struct drm_pagemap_to_devmem mig = {
		.devmem = devmem_allocation,
		.flags = flags,
	};
	struct vm_area_struct *vma;
	unsigned long nvmas = 0, i;
	long count;
	int err;

	if (!devmem_allocation || !mm || !devmem_allocation->ops ||
	    !devmem_allocation->dev)
		return -EINVAL;
	ops = devmem_allocation->ops;
	if (!ops->populate_devmem_pfn || !ops->copy_to_devmem ||
	    !ops->copy_to_ram)
		return -EINVAL;
	if ((flags & ~DRM_PAGEMAP_MIGRATE_PEERS) ||
	    ((flags & DRM_PAGEMAP_MIGRATE_PEERS) && !ops->copy_peer_to_devmem))
		return -EINVAL;
	if (start >= end || !PAGE_ALIGNED(start) || !PAGE_ALIGNED(end) ||
	    end - start > devmem_allocation->size)
		return -EINVAL;
	if (devmem_allocation->mm && devmem_allocation->mm != mm)
		return -EINVAL;

	mmap_assert_locked(mm);
	might_alloc(GFP_KERNEL);

	{
		VMA_ITERATOR(vmi, mm, start);

		for_each_vma_range(vmi, vma, end)
			nvmas++;
	}
	if (!nvmas)
		return -EFAULT;

	mig.npages = (end - start) >> PAGE_SHIFT;
	err = drm_pagemap_buf_alloc(&mig.buf, mig.npages);
	if (err)
		return err;
	if (nvmas == 1)
		mig.migrate = &mig.one_vma;
	else
		mig.migrate = kcalloc(nvmas, sizeof(*mig.migrate), GFP_KERNEL);
	if (!mig.migrate) {
		err = -ENOMEM;
		goto err_buf;
	}
	mig.zdd = drm_pagemap_zdd_alloc(devmem_allocation, pgmap_owner, start,
					end);
	if (!mig.zdd) {
		err = -ENOMEM;
		goto err_migrate;
	}

	err = drm_pagemap_devmem_pages(&mig);
	if (err)
		goto err_zdd;

	reinit_completion(&devmem_allocation->detached);
	err = drm_pagemap_collect(&mig, mm, start, end, pgmap_owner);
	if (err)
		goto err_zdd;

	count = drm_pagemap_prepare(&mig);
	if (count <= 0) {
		err = count ? count : -EBUSY;
		goto err_unprepare;
	}

	err = drm_pagemap_copy_in(&mig);
	if (err)
		goto err_unprepare;
	drm_pagemap_unprepare(&mig, false);

	if (!drm_pagemap_commit(&mig, timeslice_ms)) {
		err = -EBUSY;
		goto err_zdd;
	}

	drm_pagemap_zdd_put(mig.zdd);
	kvfree(mig.peer_addr);
	if (mig.migrate != &mig.one_vma)
		kfree(mig.migrate);
	drm_pagemap_buf_free(&mig.buf);
	return 0;

err_unprepare:
	drm_pagemap_unprepare(&mig, true);
	for (i = 0; i < mig.nvmas; i++)
		migrate_vma_finalize(&mig.migrate[i]);
err_zdd:
	/* Nothing refers to the allocation: it stays with the caller. */
	mig.zdd->devmem_allocation = NULL;
	complete_all(&devmem_allocation->detached);
	drm_pagemap_zdd_put(mig.zdd);
err_migrate:
	kvfree(mig.peer_addr);
	if (mig.migrate != &mig.one_vma)
		kfree(mig.migrate);
err_buf:
	drm_pagemap_buf_free(&mig.buf);
	return err;
}
EXPORT_SYMBOL_GPL(drm_pagemap_migrate_to_devmem_flags);

/**
 * drm_pagemap_migrate_to_devmem() - Move a range of an mm into device memory
 * @devmem_allocation: The allocation to migrate to; see
 *	drm_pagemap_migrate_to_devmem_flags().
 * @mm: The address space.
 * @start: Start of the range, page aligned.
 * @end: End of the range (exclusive), page aligned.
 * @timeslice_ms: How long the pages should stay in device memory before a
 *	CPU fault may move them back.
 * @pgmap_owner: The owner token of the pagemap.
 *
 * drm_pagemap_migrate_to_devmem_flags() with no flags: only pages in system
 * memory move; pages in the memory of any device stay there.
 *
 * Context: Process context, may sleep; the mmap lock of @mm held.
 *
 * Return: 0 if at least one page moved, or the errors of
 * drm_pagemap_migrate_to_devmem_flags(): -EINVAL, -EFAULT, -EBUSY,
 * -ENOMEM, or the error of a driver hook.
 */
int drm_pagemap_migrate_to_devmem(struct drm_pagemap_devmem *devmem_allocation,
				  struct mm_struct *mm,
				  unsigned long start, unsigned long end,
				  unsigned long timeslice_ms,
				  void *pgmap_owner)
{
	return drm_pagemap_migrate_to_devmem_flags(devmem_allocation, mm, start,
						   end, timeslice_ms,
						   pgmap_owner, 0);
}
EXPORT_SYMBOL_GPL(drm_pagemap_migrate_to_devmem);

/**
 * drm_pagemap_vma_to_ram() - Move the device pages of part of a VMA to RAM
 * @vma: The VMA containing the range.
 * @fault_page: The device page the CPU faulted on, or NULL outside a fault.
 * @pgmap_owner: The owner token the pages were migrated with.
 * @start: Start of the range, page aligned, inside @vma.
 * @end: End of the range (exclusive), page aligned, inside @vma.
 * @buf: Scratch arrays of (@end - @start) >> PAGE_SHIFT entries, zeroed.
 * @fault_ret: Set to VM_FAULT_OOM if no system page could be allocated for
 *	@fault_page, VM_FAULT_SIGBUS if its copy failed; untouched otherwise.
 *	May be NULL without @fault_page.
 * @moved: If not NULL, the number of pages that moved is added to it.
 *
 * Collects the device pages of @pgmap_owner in the range, private or
 * coherent, copies them to newly allocated system pages with each
 * allocation's &drm_pagemap_devmem_ops.copy_to_ram and commits. Pages that
 * cannot be collected or copied stay in device memory with their data.
 *
 * Context: Process context (a page fault handler with @fault_page), mmap
 * lock held in read mode.
 *
 * Return: 0 if every collected page moved, -ENOMEM if a system page could
 * not be allocated or mapped, the error of migrate_vma_setup() or of the
 * copy hook.
 */
static int drm_pagemap_vma_to_ram(struct vm_area_struct *vma,
				  struct page *fault_page, void *pgmap_owner,
				  unsigned long start, unsigned long end,
				  struct drm_pagemap_migrate_buf *buf,
				  vm_fault_t *fault_ret, unsigned long *moved)
{
	unsigned long npages = (end - start) >> PAGE_SHIFT;
	struct migrate_vma migrate = {
		.vma = vma,
		.start = start,
		.end = end,
		.src = buf->src,
		.dst = buf->dst,
		.pgmap_owner = pgmap_owner,
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE |
			 MIGRATE_VMA_SELECT_DEVICE_COHERENT,
		.fault_page = fault_page,
	};
	unsigned long i, pos, first, len;
	int ret = 0, err;

	err = migrate_vma_setup(&migrate);
	if (err) {
		if (fault_page)
			*fault_ret = VM_FAULT_SIGBUS;
		return err;
	}
	if (!migrate.cpages)
		return 0;

	for (i = 0; i < npages; i++) {
		struct drm_pagemap_devmem *devmem = drm_pagemap_src_devmem(buf, i);
		struct page *dpage;

		if (!devmem)
			continue;

		dpage = alloc_page_vma(GFP_HIGHUSER_MOVABLE, vma,
				       start + i * PAGE_SIZE);
		if (dpage && !drm_pagemap_set_ram_dst(buf, i, devmem, dpage)) {
			drm_pagemap_drop_dst_page(&buf->dst[i]);
			dpage = NULL;
		}
		if (!dpage) {
			ret = -ENOMEM;
			if (migrate_pfn_to_page(buf->src[i]) == fault_page)
				*fault_ret = VM_FAULT_OOM;
		}
	}

	pos = 0;
	for (;;) {
		struct drm_pagemap_devmem *devmem;

		first = drm_pagemap_next_run(buf->dst, buf->pages, npages, &pos,
					     &len);
		if (first == npages)
			break;

		devmem = drm_pagemap_page_devmem(buf->pages[first]);
		err = devmem->ops->copy_to_ram(buf->pages + first,
					       buf->dma_addr + first, len);
		if (!err)
			continue;

		/* Those pages stay in device memory with their data. */
		ret = err;
		for (i = first; i < first + len; i++) {
			if (fault_page && buf->pages[i] == fault_page)
				*fault_ret = VM_FAULT_SIGBUS;
			dma_unmap_page(devmem->dev, buf->dma_addr[i], PAGE_SIZE,
				       DMA_FROM_DEVICE);
			buf->pages[i] = NULL;
			drm_pagemap_drop_dst_page(&buf->dst[i]);
		}
	}

	drm_pagemap_unmap_ram_dsts(buf, npages);
	migrate_vma_pages(&migrate);
	/* What migrate_vma_pages() left marked is what moved. */
	for (i = 0; moved && i < npages; i++)
		*moved += !!(buf->src[i] & MIGRATE_PFN_MIGRATE);
	migrate_vma_finalize(&migrate);

	return ret;
}

/*
 * The fault path of drm_pagemap_vma_to_ram(): only the faulting page's fate
 * matters, the others are retried by whoever touches them.
 */
static vm_fault_t drm_pagemap_fault_range_to_ram(struct vm_area_struct *vma,
						 struct page *fault_page,
						 void *pgmap_owner,
						 unsigned long start,
						 unsigned long end,
						 struct drm_pagemap_migrate_buf *buf)
{
	vm_fault_t ret = 0;

	drm_pagemap_vma_to_ram(vma, fault_page, pgmap_owner, start, end, buf,
			       &ret, NULL);
	return ret;
}

/**
 * drm_pagemap_migrate_to_ram() - &dev_pagemap_ops.migrate_to_ram handler
 * @vmf: The CPU fault on a device page.
 *
 * Moves the allocation around the faulting page back to system memory: the
 * part of the virtual range it was migrated to that lies in the faulting
 * VMA (only the faulting page if the page was moved elsewhere by mremap()).
 * Honours the allocation's timeslice as described in "Migration" above.
 * Falls back to the faulting page alone if the scratch arrays for a large
 * range cannot be allocated.
 *
 * Context: Page fault handler, mmap lock held in read mode; the core mm
 * holds a reference on @vmf->page.
 *
 * Return: 0 when done (the access is retried, and faults again if another
 * thread won a race for the page), VM_FAULT_RETRY with the mmap lock
 * dropped after waiting for the timeslice, VM_FAULT_SIGBUS or VM_FAULT_OOM
 * if the faulting page could not be moved.
 */
static vm_fault_t drm_pagemap_migrate_to_ram(struct vm_fault *vmf)
{
	struct drm_pagemap_zdd *zdd = vmf->page->zone_device_data;
	struct vm_area_struct *vma = vmf->vma;
	unsigned long addr = vmf->address & PAGE_MASK;
	unsigned long start = addr, end = addr + PAGE_SIZE;
	struct drm_pagemap_migrate_buf buf;
	u64 now = get_jiffies_64();
	struct drm_pagemap_devmem *devmem;
	vm_fault_t ret;

	if (WARN_ON_ONCE(!zdd))
		return VM_FAULT_SIGBUS;
	devmem = zdd->devmem_allocation;

	if (devmem && time_before64(now, devmem->timeslice_expiration) &&
	    (vmf->flags & FAULT_FLAG_USER) &&
	    fault_flag_allow_retry_first(vmf->flags) &&
	    !(vmf->flags & FAULT_FLAG_RETRY_NOWAIT)) {
		long timeout = devmem->timeslice_expiration - now;

		release_fault_lock(vmf);
		schedule_timeout_killable(timeout);
		return VM_FAULT_RETRY;
	}

	if (zdd->start <= addr && addr < zdd->end) {
		start = max(zdd->start, vma->vm_start);
		end = min(zdd->end, vma->vm_end);
	}

	if (drm_pagemap_buf_alloc(&buf, (end - start) >> PAGE_SHIFT)) {
		/* The faulting page alone needs no allocation. */
		start = addr;
		end = addr + PAGE_SIZE;
		drm_pagemap_buf_alloc(&buf, 1);
	}

	ret = drm_pagemap_fault_range_to_ram(vma, vmf->page,
					     zdd->device_private_page_owner,
					     start, end, &buf);
	drm_pagemap_buf_free(&buf);
	return ret;
}

/**
 * drm_pagemap_page_free() - &dev_pagemap_ops.page_free handler
 * @page: The device page whose last reference was dropped.
 *
 * Drops the page's reference on its allocation.
 *
 * Context: Any context, including under a page table spinlock.
 */
static void drm_pagemap_page_free(struct page *page)
{
	struct drm_pagemap_zdd *zdd = page->zone_device_data;

	page->zone_device_data = NULL;
	if (zdd)
		drm_pagemap_zdd_put(zdd);
}

static const struct dev_pagemap_ops drm_pagemap_pagemap_ops = {
	.page_free = drm_pagemap_page_free,
	.migrate_to_ram = drm_pagemap_migrate_to_ram,
};

/**
 * drm_pagemap_pagemap_ops_get() - The helpers' &dev_pagemap_ops
 *
 * drm_pagemap_init() uses these; a driver registering device-private
 * memory itself must use them too for drm_pagemap_migrate_to_devmem() to
 * accept its pages.
 *
 * Context: Any context.
 *
 * Return: The &dev_pagemap_ops with the page_free and migrate_to_ram
 * handlers of drm_pagemap.
 */
const struct dev_pagemap_ops *drm_pagemap_pagemap_ops_get(void)
{
	return &drm_pagemap_pagemap_ops;
}
EXPORT_SYMBOL_GPL(drm_pagemap_pagemap_ops_get);

/**
 * drm_pagemap_evict_to_ram() - Move an allocation back to system memory
 * @devmem_allocation: The allocation. The caller keeps it alive across the
 *	call (by a reference of its own: the one given to
 *	drm_pagemap_migrate_to_devmem() may be released during the call).
 *
 * Finds the allocation's pages through
 * &drm_pagemap_devmem_ops.populate_devmem_pfn (once: the allocation may be
 * released while this runs, and its pfns reused; pages that no longer
 * belong to it are left alone), migrates those in use with
 * migrate_device_range() and waits until &drm_pagemap_devmem.detached
 * completes, that is until the last page is freed and
 * &drm_pagemap_devmem_ops.devmem_release has returned, on this thread or
 * on the one that freed the last page. The timeslice is not honoured. An
 * allocation that is already detached returns at once.
 *
 * Context: Process context, may sleep; not from memory reclaim. Needs no
 * mmap lock.
 *
 * Return: 0 once the allocation is detached; -EINVAL for a NULL or
 * incomplete allocation; -ENOMEM if memory ran out (pages not moved stay in
 * device memory); -EBUSY if pages stayed in use after several passes; or
 * the error of &drm_pagemap_devmem_ops.populate_devmem_pfn or
 * &drm_pagemap_devmem_ops.copy_to_ram (the pages stay in device memory
 * with their data).
 */
int drm_pagemap_evict_to_ram(struct drm_pagemap_devmem *devmem_allocation)
{
	const struct drm_pagemap_devmem_ops *ops;
	struct drm_pagemap_migrate_buf buf;
	unsigned long npages, *pfns;
	int pass, err;

	if (!devmem_allocation || !devmem_allocation->ops)
		return -EINVAL;
	ops = devmem_allocation->ops;
	if (!ops->populate_devmem_pfn || !ops->copy_to_ram)
		return -EINVAL;

	might_alloc(GFP_KERNEL);

	if (completion_done(&devmem_allocation->detached))
		return 0;

	npages = devmem_allocation->size >> PAGE_SHIFT;
	pfns = kvmalloc_array(npages, sizeof(*pfns), GFP_KERNEL);
	if (!pfns)
		return -ENOMEM;
	err = drm_pagemap_buf_alloc(&buf, npages);
	if (err)
		goto out_pfns;

	err = ops->populate_devmem_pfn(devmem_allocation, npages, pfns);
	if (err)
		goto out_buf;

	for (pass = 0; pass < DRM_PAGEMAP_EVICT_PASSES; pass++) {
		/*
		 * Detached meanwhile: its pfns may back another allocation
		 * already, there is nothing left to do with them.
		 */
		if (completion_done(&devmem_allocation->detached)) {
			err = 0;
			break;
		}
		err = drm_pagemap_evict_pfns(pfns, npages, devmem_allocation,
					     &buf, false);
		if (err)
			break;
		if (wait_for_completion_timeout(&devmem_allocation->detached,
						msecs_to_jiffies(1 << pass)))
			break;
		err = -EBUSY;
	}

out_buf:
	drm_pagemap_buf_free(&buf);
out_pfns:
	kvfree(pfns);
	return err;
}
EXPORT_SYMBOL_GPL(drm_pagemap_evict_to_ram);

/*
 * Pages drm_pagemap_migrate_range_to_ram() collects at once: bounds its
 * scratch arrays (24 bytes a page) whatever the size of the range.
 */
#define DRM_PAGEMAP_TO_RAM_CHUNK	(SZ_2M >> PAGE_SHIFT)

/**
 * drm_pagemap_migrate_range_to_ram() - Move a virtual range to system memory
 * @mm: The address space.
 * @start: Start of the range, page aligned.
 * @end: End of the range (exclusive), page aligned.
 * @pgmap_owner: The owner token the pages were migrated with.
 *
 * Moves the device pages of @pgmap_owner mapped in [@start, @end), private
 * and coherent, back to system memory with each allocation's
 * &drm_pagemap_devmem_ops.copy_to_ram, without faulting. It is the only way
 * besides eviction to move coherent pages out, as the CPU never faults on
 * them; for private pages it does what CPU faults would do, without the
 * timeslice. Holes and VMAs that cannot hold device pages (shared,
 * hugetlb, VM_SPECIAL, DAX) are skipped. Pages the core mm cannot collect
 * right now (locked or pinned by someone else) stay where they are.
 *
 * Context: Process context, may sleep. The caller holds the mmap lock of
 * @mm (read mode is enough) and a reference keeping @mm alive.
 *
 * Return: The number of pages that moved to system memory (0 if there was
 * none to move), when every collected page moved; a caller that knows how
 * many device pages the range holds can tell from it whether any stayed
 * behind. Otherwise a negative error code:
 * -EINVAL for invalid arguments (NULL @mm or @pgmap_owner, unaligned or
 * empty range); -ENOMEM if memory ran out; or the error of
 * &drm_pagemap_devmem_ops.copy_to_ram. Pages that failed keep their data in
 * device memory.
 */
long drm_pagemap_migrate_range_to_ram(struct mm_struct *mm,
				      unsigned long start, unsigned long end,
				      void *pgmap_owner)
{
	struct drm_pagemap_migrate_buf buf;
	struct vm_area_struct *vma;
	unsigned long moved = 0;
	int ret = 0, err;

	if (!mm || !pgmap_owner || start >= end || !PAGE_ALIGNED(start) ||
	    !PAGE_ALIGNED(end))
		return -EINVAL;

	mmap_assert_locked(mm);

	err = drm_pagemap_buf_alloc(&buf, min_t(unsigned long,
						(end - start) >> PAGE_SHIFT,
						DRM_PAGEMAP_TO_RAM_CHUNK));
	if (err)
		return err;

	{
		VMA_ITERATOR(vmi, mm, start);

		for_each_vma_range(vmi, vma, end) {
			unsigned long addr = max(start, vma->vm_start);
			unsigned long vend = min(end, vma->vm_end);

			if (!drm_pagemap_vma_migratable(vma))
				continue;

			while (addr < vend) {
				unsigned long next = min(vend, addr +
					(DRM_PAGEMAP_TO_RAM_CHUNK << PAGE_SHIFT));
				unsigned long n = (next - addr) >> PAGE_SHIFT;

				memset(buf.src, 0, n * sizeof(*buf.src));
				memset(buf.dst, 0, n * sizeof(*buf.dst));
				memset(buf.pages, 0, n * sizeof(*buf.pages));
				err = drm_pagemap_vma_to_ram(vma, NULL,
							     pgmap_owner, addr,
							     next, &buf, NULL,
							     &moved);
				if (err && !ret)
					ret = err;
				addr = next;
				cond_resched();
			}
		}
	}

	drm_pagemap_buf_free(&buf);
	return ret ?: moved;
}
EXPORT_SYMBOL_GPL(drm_pagemap_migrate_range_to_ram);

/**
 * drm_pagemap_populate_mm() - Move a range of an mm into a pagemap
 * @dpagemap: The pagemap to populate from.
 * @start: Start of the virtual range, page aligned.
 * @end: End of the virtual range (exclusive), page aligned.
 * @mm: The address space; the caller need not hold a reference.
 * @timeslice_ms: How long the memory should stay before a CPU fault may
 *	move it back.
 *
 * Takes a reference on @mm if it is still alive and its mmap lock in read
 * mode, and calls &drm_pagemap_ops.populate_mm, which typically allocates
 * device memory and calls drm_pagemap_migrate_to_devmem().
 *
 * Context: Process context, may sleep. Takes the mmap lock of @mm: the
 * caller must not hold it.
 *
 * Return: 0 on success; -EINVAL for invalid arguments; -EOPNOTSUPP if the
 * pagemap has no populate_mm operation; -EFAULT if @mm is exiting; or the
 * error of the populate_mm operation.
 */
int drm_pagemap_populate_mm(struct drm_pagemap *dpagemap,
			    unsigned long start, unsigned long end,
			    struct mm_struct *mm,
			    unsigned long timeslice_ms)
{
	int err;

	if (!dpagemap || !mm || start >= end || !PAGE_ALIGNED(start) ||
	    !PAGE_ALIGNED(end))
		return -EINVAL;
	if (!dpagemap->ops || !dpagemap->ops->populate_mm)
		return -EOPNOTSUPP;

	if (!mmget_not_zero(mm))
		return -EFAULT;

	err = mmap_read_lock_killable(mm);
	if (!err) {
		err = dpagemap->ops->populate_mm(dpagemap, start, end, mm,
						 timeslice_ms);
		mmap_read_unlock(mm);
	}
	mmput(mm);

	return err;
}
EXPORT_SYMBOL_GPL(drm_pagemap_populate_mm);

/**
 * DOC: Owner groups
 *
 * hmm_range_fault() hands a device-private page to a GPU SVM only if the
 * page's &dev_pagemap.owner is the owner the GPU SVM asks with
 * (&drm_gpusvm.device_private_page_owner); any other device-private page
 * is migrated back to system memory first. Devices that reach each other's
 * memory over an interconnect can do better: they share one owner, so
 * that the pages of one are handed to the others, which map them through
 * the &drm_pagemap_ops.device_map of the pagemap the page belongs to, with
 * the interconnect protocol it returns, and access them where they are.
 *
 * A driver declares who can reach whom: each device (or each pagemap, and
 * each GPU SVM of a device) embeds a &struct drm_pagemap_peer and calls
 * drm_pagemap_acquire_owner() with the driver's
 * &struct drm_pagemap_owner_list and a callback that tells whether two
 * peers are connected. A peer joins the first group of which it reaches
 * every member, or starts a group of its own: devices not connected to
 * anyone keep an owner of their own, as before. The owner must be known
 * before the memory is registered (drm_pagemap_init() takes it) and stays
 * the same until drm_pagemap_release_owner(): the core mm has no way to
 * change the owner of pages in use.
 */

/**
 * DOC: Device-to-device migration
 *
 * Within an owner group, a device may want a range in its own memory that
 * another device of the group holds: accessing it over the interconnect
 * is possible, but slower than local memory, and atomics may need it
 * local. drm_pagemap_migrate_to_devmem() leaves such pages where they are;
 * drm_pagemap_migrate_to_devmem_flags() with %DRM_PAGEMAP_MIGRATE_PEERS
 * collects them as well (MIGRATE_VMA_SELECT_DEVICE_PRIVATE with the
 * group's owner) and moves them in one copy: the source page's pagemap
 * maps it for the destination device (&drm_pagemap_ops.device_map, with
 * the interconnect protocol) and the destination allocation's
 * &drm_pagemap_devmem_ops.copy_peer_to_devmem copies from those addresses,
 * as copy_to_devmem copies from system memory. A migration may take pages
 * from system memory and from several peers at once; each hook call covers
 * a run of pages of one kind. Pages that already are in the destination's
 * memory stay (a range already local is an -EBUSY migration, as without
 * the flag).
 *
 * The migrate_vma machinery calls the MMU notifiers of the range before
 * anything moves, for every mirror of the mm: the GPU SVMs of the source
 * device, which map the pages through the interconnect, drop their
 * mappings like those of any other device. The source allocation is
 * released when its last page has moved, as after a CPU fault.
 *
 * Devices that are not in one group never see each other's pages: for
 * them a range in the other's memory goes through system memory, by a
 * CPU fault, drm_pagemap_migrate_range_to_ram() or an eviction, and then
 * migrates. Coherent memory (MEMORY_DEVICE_COHERENT) of other devices is
 * not collected either way: every device can access it in place.
 */

struct drm_pagemap_owner {
	struct kref kref;
};

static void drm_pagemap_owner_free(struct kref *kref)
{
	kfree(container_of(kref, struct drm_pagemap_owner, kref));
}

/**
 * drm_pagemap_owner_list_init() - Initialise an owner list
 * @owner_list: The list, empty.
 *
 * Or initialise it statically, as its kernel-doc says.
 */
void drm_pagemap_owner_list_init(struct drm_pagemap_owner_list *owner_list)
{
	mutex_init(&owner_list->lock);
	INIT_LIST_HEAD(&owner_list->peers);
}
EXPORT_SYMBOL_GPL(drm_pagemap_owner_list_init);

/**
 * drm_pagemap_acquire_owner() - Give a peer the owner of the devices it reaches
 * @peer: The peer, zeroed or released, holding no owner;
 *	&drm_pagemap_peer.private may be set.
 * @owner_list: The list of the peers that may be connected to @peer.
 * @has_interconnect: Whether two peers reach each other's memory.
 *
 * Walks the groups of @owner_list, the peers sharing one owner, and joins
 * the first of which @has_interconnect() says @peer reaches every member;
 * if there is none, @peer gets a new owner of its own. Either way the
 * owner is then in &drm_pagemap_peer.owner until
 * drm_pagemap_release_owner(). Where connectivity is not transitive
 * (A reaches B, B reaches C, A does not reach C) the groups depend on the
 * order of the calls. Every peer of a list must be acquired with the same
 * @has_interconnect.
 *
 * Context: Process context; takes the list's lock, under which
 * @has_interconnect() runs and the new owner is allocated.
 *
 * Return: 0, -EINVAL for NULL arguments or a peer that holds an owner
 * already, or -ENOMEM if a new owner could not be allocated.
 */
int drm_pagemap_acquire_owner(struct drm_pagemap_peer *peer,
			      struct drm_pagemap_owner_list *owner_list,
			      drm_pagemap_interconnect_fn has_interconnect)
{
	struct drm_pagemap_owner *owner = NULL;
	struct drm_pagemap_peer *cur, *last = NULL;
	bool joins = false;
	int err = 0;

	if (!peer || !owner_list || !has_interconnect)
		return -EINVAL;

	mutex_lock(&owner_list->lock);
	if (peer->owner) {
		err = -EINVAL;
		goto out_unlock;
	}
	/*
	 * The members of a group are next to each other: a group qualifies
	 * if every one of them is reached, and the walk stops at the end of
	 * the first group that qualifies.
	 */
	list_for_each_entry(cur, &owner_list->peers, link) {
		if (cur->owner != owner) {
			if (joins)
				break;
			owner = cur->owner;
			joins = true;
		}
		if (joins && !has_interconnect(peer, cur))
			joins = false;
		last = cur;
	}

	if (joins) {
		kref_get(&owner->kref);
		list_add(&peer->link, &last->link);
	} else {
		owner = kzalloc(sizeof(*owner), GFP_KERNEL);
		if (!owner) {
			err = -ENOMEM;
			goto out_unlock;
		}
		kref_init(&owner->kref);
		list_add_tail(&peer->link, &owner_list->peers);
	}
	peer->owner = owner;
	peer->list = owner_list;

out_unlock:
	mutex_unlock(&owner_list->lock);
	return err;
}
EXPORT_SYMBOL_GPL(drm_pagemap_acquire_owner);

/**
 * drm_pagemap_release_owner() - Leave the group of a peer
 * @peer: The peer; nothing happens if it holds no owner.
 *
 * Drops the peer's reference to its owner, which is freed with the last
 * one. The pagemaps registered with the owner must be gone.
 *
 * Context: Process context; takes the list's lock.
 */
void drm_pagemap_release_owner(struct drm_pagemap_peer *peer)
{
	struct drm_pagemap_owner_list *owner_list = peer ? peer->list : NULL;

	if (!owner_list)
		return;

	mutex_lock(&owner_list->lock);
	list_del(&peer->link);
	kref_put(&peer->owner->kref, drm_pagemap_owner_free);
	peer->owner = NULL;
	peer->list = NULL;
	mutex_unlock(&owner_list->lock);
}
EXPORT_SYMBOL_GPL(drm_pagemap_release_owner);
