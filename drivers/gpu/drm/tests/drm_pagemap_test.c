// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * KUnit tests for drm_pagemap: device-private memory registration,
 * migration to and from device memory, CPU faults, eviction and teardown.
 *
 * The "device" is a mock whose VRAM is an array of ordinary kernel pages:
 * device page i of the registered pagemap is backed by vram->backing[i].
 * Its copy hooks memcpy between those pages and the DMA addresses the
 * helpers hand in (dma-direct, so a DMA address is a physical address).
 * The process side is a real address space from kunit_vm_mmap(); the
 * tests touch it with copy_{to,from}_user(), which fault device pages back
 * through the helpers' migrate_to_ram handler. The device-to-device cases
 * add a second mock device whose memory shares the first one's pgmap owner.
 *
 * The owner group cases need no device: their peers are plain structures
 * whose connections a test callback decides.
 *
 * Copyright © 2025 The drm_gpusvm project authors
 */

#include <kunit/device.h>
#include <kunit/test.h>

#include <linux/bitmap.h>
#include <linux/delay.h>
#include <linux/dma-direct.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/hmm.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include <linux/panic.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <drm/drm_kunit_helpers.h>
#include <drm/drm_pagemap.h>

#include "drm_gpusvm_test_dma.h"

#define MOCK_VRAM_SIZE		SZ_8M
#define MOCK_GARBAGE		0xa5

/*
 * Physical address of memory the kernel left alone (boot with
 * memmap=nn$addr and drm_pagemap_test.coherent_base=addr), for the
 * MEMORY_DEVICE_COHERENT cases; they skip without it.
 */
static unsigned long coherent_base;
module_param(coherent_base, ulong, 0444);
MODULE_PARM_DESC(coherent_base,
		 "Reserved physical range (at least 8 MiB) for the device-coherent cases");

/**
 * struct mock_vram - A fake device with device-private memory
 * @test: The test using it.
 * @dev: The device, with a 64-bit DMA mask.
 * @lock: Protects @bitmap.
 * @bitmap: Allocated device pages.
 * @npages: Number of device pages.
 * @backing: The kernel page backing each device page.
 * @to_dev_calls: copy_to_devmem calls.
 * @to_dev_pages: Pages passed to copy_to_devmem.
 * @to_dev_max_run: Largest copy_to_devmem call.
 * @to_ram_calls: copy_to_ram calls.
 * @to_ram_pages: Pages passed to copy_to_ram.
 * @releases: devmem_release calls.
 * @populate_calls: populate_mm calls.
 * @fail_to_dev: Error the next @fail_to_dev_count copy_to_devmem calls return.
 * @fail_to_dev_count: See @fail_to_dev.
 * @fail_to_ram: Error the next @fail_to_ram_count copy_to_ram calls return.
 * @fail_to_ram_count: See @fail_to_ram.
 * @fail_populate_pfn: Error populate_devmem_pfn returns, if non-zero.
 * @to_dev_hook: Called at the start of copy_to_devmem, if set.
 * @to_ram_hook: Called at the start of copy_to_ram, if set.
 * @hook_data: For @to_dev_hook and @to_ram_hook.
 * @release_delay_ms: devmem_release busy-waits that long before it counts
 *	itself in @releases (it may run in atomic context).
 * @populate_hook: Called by populate_devmem_pfn after it filled the pfns,
 *	if set; uses @hook_data too.
 * @last_populated: The allocation made by the last populate_mm call.
 * @coherent: The memory is MEMORY_DEVICE_COHERENT: @backing holds the
 *	device pages themselves, which the CPU accesses in place.
 * @name: How snapshot() shows the device's private pages: 'D', or 'A' and
 *	'B' in the cases with a peer (peer_vram()).
 * @peer_calls: copy_peer_to_devmem calls.
 * @peer_pages: Pages passed to copy_peer_to_devmem.
 * @fail_peer: Error the next @fail_peer_count copy_peer_to_devmem calls
 *	return.
 * @fail_peer_count: See @fail_peer.
 * @copied_by: If set, per device page, the hook that last copied into it:
 *	'S' copy_to_devmem, 'P' copy_peer_to_devmem, '-' none.
 * @map_calls: device_map calls on this memory.
 * @maps: Those that gave an address.
 * @unmaps: device_unmap calls on this memory.
 * @map_dev: The device of the last device_map call.
 * @unmap_dev: The device of the last device_unmap call.
 * @fail_map_at: The device_map call, counted in @map_calls, that fails with
 *	DMA_MAPPING_ERROR; 0 for none.
 * @dpagemap: The registered pagemap.
 */
struct mock_vram {
	struct kunit *test;
	struct device *dev;
	spinlock_t lock; /* protects bitmap */
	unsigned long *bitmap;
	unsigned long npages;
	struct page **backing;
	atomic_t to_dev_calls;
	atomic_t to_dev_pages;
	atomic_t to_dev_max_run;
	atomic_t to_ram_calls;
	atomic_t to_ram_pages;
	atomic_t releases;
	atomic_t populate_calls;
	int fail_to_dev;
	atomic_t fail_to_dev_count;
	int fail_to_ram;
	atomic_t fail_to_ram_count;
	int fail_populate_pfn;
	void (*to_dev_hook)(struct mock_vram *vram);
	void (*to_ram_hook)(struct mock_vram *vram);
	void *hook_data;
	unsigned int release_delay_ms;
	void (*populate_hook)(struct mock_vram *vram);
	struct mock_devmem *last_populated;
	bool coherent;
	char name;
	atomic_t peer_calls;
	atomic_t peer_pages;
	int fail_peer;
	atomic_t fail_peer_count;
	char *copied_by;
	atomic_t map_calls;
	atomic_t maps;
	atomic_t unmaps;
	struct device *map_dev;
	struct device *unmap_dev;
	int fail_map_at;
	struct drm_pagemap dpagemap;
};

/**
 * struct mock_devmem - A mock device memory allocation
 * @base: The helpers' view.
 * @ref: References: the test's and the one handed to the helpers.
 * @vram: The device.
 * @npages: Number of pages.
 * @pfns: The device pfns, in order.
 */
struct mock_devmem {
	struct drm_pagemap_devmem base;
	struct kref ref;
	struct mock_vram *vram;
	unsigned long npages;
	unsigned long *pfns;
};

static struct mock_vram *mock_page_vram(struct page *page)
{
	struct drm_pagemap *dpagemap =
		container_of(page->pgmap, struct drm_pagemap, pagemap);

	return container_of(dpagemap, struct mock_vram, dpagemap);
}

static struct page *mock_backing(struct mock_vram *vram, unsigned long pfn)
{
	return vram->backing[pfn - drm_pagemap_base_pfn(&vram->dpagemap)];
}

static void *mock_dma_to_virt(struct mock_vram *vram, dma_addr_t addr)
{
	return phys_to_virt(dma_to_phys(vram->dev, addr));
}

static bool mock_should_fail(atomic_t *count)
{
	return atomic_add_unless(count, -1, 0);
}

/* Note which hook copied into device page @pfn (see @copied_by). */
static void mock_copied(struct mock_vram *vram, unsigned long pfn, char how)
{
	if (vram->copied_by)
		vram->copied_by[pfn - drm_pagemap_base_pfn(&vram->dpagemap)] = how;
}

/*
 * The source of a copy_to_devmem entry, which must be a system page: an
 * address of device memory, or of no memory at all, fails the case
 * instead of being read.
 */
static void *mock_ram_source(struct mock_vram *vram, dma_addr_t addr)
{
	unsigned long pfn = PHYS_PFN(dma_to_phys(vram->dev, addr));

	if (pfn_valid(pfn) && !is_zone_device_page(pfn_to_page(pfn)))
		return mock_dma_to_virt(vram, addr);
	KUNIT_FAIL(vram->test, "copy_to_devmem source %pad is not system memory",
		   &addr);
	return NULL;
}

static int mock_copy_to_devmem(struct page **pages, dma_addr_t *dma_addr,
			       unsigned long npages)
{
	struct mock_vram *vram = mock_page_vram(pages[0]);
	unsigned long i;
	int max;

	if (vram->to_dev_hook)
		vram->to_dev_hook(vram);

	atomic_inc(&vram->to_dev_calls);
	if (mock_should_fail(&vram->fail_to_dev_count))
		return vram->fail_to_dev;

	atomic_add(npages, &vram->to_dev_pages);
	max = atomic_read(&vram->to_dev_max_run);
	while (npages > max &&
	       !atomic_try_cmpxchg(&vram->to_dev_max_run, &max, npages))
		;

	for (i = 0; i < npages; i++) {
		unsigned long pfn = page_to_pfn(pages[i]);
		void *src = mock_ram_source(vram, dma_addr[i]);
		void *dst;

		if (!src)
			return -EFAULT;
		dst = kmap_local_page(mock_backing(vram, pfn));
		memcpy(dst, src, PAGE_SIZE);
		kunmap_local(dst);
		mock_copied(vram, pfn, 'S');
	}

	return 0;
}

/*
 * The backing of the page a peer address names. mock_device_map() gives
 * other devices the page's place in its pagemap's physical range, an
 * address unique across devices; anything else fails the case: it must
 * be a private page of another mock device of the same owner, mapped for
 * reading with the interconnect protocol.
 */
static struct page *mock_peer_source(struct mock_vram *vram,
				     struct drm_pagemap_device_addr addr)
{
	unsigned long pfn = PHYS_PFN(addr.addr);
	struct mock_vram *src;
	struct page *page;

	if (addr.proto != DRM_INTERCONNECT_PCIE_P2P ||
	    addr.dir != DMA_TO_DEVICE || !pfn_valid(pfn))
		goto bad;
	page = pfn_to_page(pfn);
	if (!is_device_private_page(page) ||
	    page->pgmap->ops != drm_pagemap_pagemap_ops_get())
		goto bad;
	src = mock_page_vram(page);
	if (src == vram ||
	    src->dpagemap.pagemap.owner != vram->dpagemap.pagemap.owner)
		goto bad;
	return mock_backing(src, pfn);

bad:
	KUNIT_FAIL(vram->test,
		   "copy_peer_to_devmem source %pad (proto %llu, dir %llu) is not a peer's page",
		   &addr.addr, (u64)addr.proto, (u64)addr.dir);
	return NULL;
}

static int mock_copy_peer_to_devmem(struct page **pages,
				    struct drm_pagemap_device_addr *peer_addr,
				    unsigned long npages)
{
	struct mock_vram *vram = mock_page_vram(pages[0]);
	unsigned long i;

	atomic_inc(&vram->peer_calls);
	if (mock_should_fail(&vram->fail_peer_count))
		return vram->fail_peer;

	atomic_add(npages, &vram->peer_pages);
	for (i = 0; i < npages; i++) {
		unsigned long pfn = page_to_pfn(pages[i]);
		struct page *src = mock_peer_source(vram, peer_addr[i]);

		if (!src)
			return -EFAULT;
		copy_highpage(mock_backing(vram, pfn), src);
		mock_copied(vram, pfn, 'P');
	}

	return 0;
}

static int mock_copy_to_ram(struct page **pages, dma_addr_t *dma_addr,
			    unsigned long npages)
{
	struct mock_vram *vram = mock_page_vram(pages[0]);
	unsigned long i;

	if (vram->to_ram_hook)
		vram->to_ram_hook(vram);

	atomic_inc(&vram->to_ram_calls);
	if (mock_should_fail(&vram->fail_to_ram_count))
		return vram->fail_to_ram;

	atomic_add(npages, &vram->to_ram_pages);
	for (i = 0; i < npages; i++) {
		void *src = kmap_local_page(mock_backing(vram,
							 page_to_pfn(pages[i])));

		memcpy(mock_dma_to_virt(vram, dma_addr[i]), src, PAGE_SIZE);
		kunmap_local(src);
	}

	return 0;
}

static void mock_devmem_free(struct kref *ref)
{
	struct mock_devmem *md = container_of(ref, struct mock_devmem, ref);
	struct mock_vram *vram = md->vram;
	unsigned long base = drm_pagemap_base_pfn(&vram->dpagemap);
	unsigned long flags, i;

	spin_lock_irqsave(&vram->lock, flags);
	for (i = 0; i < md->npages; i++)
		__clear_bit(md->pfns[i] - base, vram->bitmap);
	spin_unlock_irqrestore(&vram->lock, flags);

	kfree(md->pfns);
	kfree(md);
}

static void mock_devmem_put(struct mock_devmem *md)
{
	kref_put(&md->ref, mock_devmem_free);
}

/*
 * The test's own reference, dropped at cleanup, must be the last one: the
 * release hook drops only the device pages' reference, and the helpers
 * complete detached after it returns (the devmem_release contract). Pages
 * the test left in device memory are evicted first, and the helpers must
 * be done with the allocation before it may go.
 */
static void mock_devmem_put_last(struct mock_devmem *md)
{
	drm_pagemap_evict_to_ram(&md->base);
	wait_for_completion(&md->base.detached);
	mock_devmem_put(md);
}

KUNIT_DEFINE_ACTION_WRAPPER(mock_devmem_put_action, mock_devmem_put_last,
			    struct mock_devmem *);

/*
 * May run under a page table spinlock: no sleeping. The reference dropped
 * here is never the last one (the test keeps its own until the pages are
 * gone), as the helpers still complete detached after this returns.
 */
static void mock_devmem_release(struct drm_pagemap_devmem *devmem)
{
	struct mock_devmem *md = container_of(devmem, struct mock_devmem, base);
	struct mock_vram *vram = md->vram;

	if (vram->release_delay_ms)
		mdelay(vram->release_delay_ms);
	atomic_inc(&vram->releases);
	mock_devmem_put(md);
}

static int mock_populate_devmem_pfn(struct drm_pagemap_devmem *devmem,
				    unsigned long npages, unsigned long *pfn)
{
	struct mock_devmem *md = container_of(devmem, struct mock_devmem, base);

	if (md->vram->fail_populate_pfn)
		return md->vram->fail_populate_pfn;
	if (npages > md->npages)
		return -EINVAL;
	memcpy(pfn, md->pfns, npages * sizeof(*pfn));
	if (md->vram->populate_hook)
		md->vram->populate_hook(md->vram);

	return 0;
}

static const struct drm_pagemap_devmem_ops mock_devmem_ops = {
	.devmem_release = mock_devmem_release,
	.populate_devmem_pfn = mock_populate_devmem_pfn,
	.copy_to_devmem = mock_copy_to_devmem,
	.copy_to_ram = mock_copy_to_ram,
	.copy_peer_to_devmem = mock_copy_peer_to_devmem,
};

/* The hooks of a driver whose engine cannot copy from other devices. */
static const struct drm_pagemap_devmem_ops mock_devmem_ops_no_peer = {
	.devmem_release = mock_devmem_release,
	.populate_devmem_pfn = mock_populate_devmem_pfn,
	.copy_to_devmem = mock_copy_to_devmem,
	.copy_to_ram = mock_copy_to_ram,
};

/*
 * Allocate @npages device pages: contiguous, or every other free page when
 * @scatter so that no two pfns are adjacent.
 */
static struct mock_devmem *mock_devmem_create(struct mock_vram *vram,
					      unsigned long npages,
					      bool scatter)
{
	unsigned long base = drm_pagemap_base_pfn(&vram->dpagemap);
	unsigned long flags, i, bit;
	struct mock_devmem *md;

	md = kzalloc(sizeof(*md), GFP_KERNEL);
	if (!md)
		return NULL;
	md->pfns = kcalloc(npages, sizeof(*md->pfns), GFP_KERNEL);
	if (!md->pfns) {
		kfree(md);
		return NULL;
	}

	spin_lock_irqsave(&vram->lock, flags);
	if (!scatter) {
		bit = bitmap_find_next_zero_area(vram->bitmap, vram->npages, 0,
						 npages, 0);
		if (bit >= vram->npages)
			goto err_unlock;
		bitmap_set(vram->bitmap, bit, npages);
		for (i = 0; i < npages; i++)
			md->pfns[i] = base + bit + i;
	} else {
		bit = 0;
		for (i = 0; i < npages; i++) {
			bit = find_next_zero_bit(vram->bitmap, vram->npages, bit);
			if (bit >= vram->npages)
				break;
			md->pfns[i] = base + bit;
			bit += 2;
		}
		if (i < npages)
			goto err_unlock;
		for (i = 0; i < npages; i++)
			__set_bit(md->pfns[i] - base, vram->bitmap);
	}
	spin_unlock_irqrestore(&vram->lock, flags);

	kref_init(&md->ref);
	md->vram = vram;
	md->npages = npages;
	drm_pagemap_devmem_init(&md->base, vram->dev, current->mm,
				&mock_devmem_ops, &vram->dpagemap,
				npages << PAGE_SHIFT);
	return md;

err_unlock:
	spin_unlock_irqrestore(&vram->lock, flags);
	kfree(md->pfns);
	kfree(md);
	return NULL;
}

/* An allocation owned by the test; the test's reference is dropped at exit. */
static struct mock_devmem *mock_devmem_alloc(struct kunit *test,
					     struct mock_vram *vram,
					     unsigned long npages, bool scatter)
{
	struct mock_devmem *md;
	int ret;

	md = mock_devmem_create(vram, npages, scatter);
	KUNIT_ASSERT_NOT_NULL_MSG(test, md, "no room for %lu device pages",
				  npages);
	ret = kunit_add_action_or_reset(test, mock_devmem_put_action, md);
	KUNIT_ASSERT_EQ(test, ret, 0);

	return md;
}

/*
 * Migrate like a driver does: hand a reference to the helpers, take it back
 * if they fail. The owner is that of the allocation's pagemap. Without
 * @flags, through drm_pagemap_migrate_to_devmem(), as drivers that know
 * nothing of peers do.
 */
static int mock_migrate_flags(struct mock_devmem *md, unsigned long start,
			      unsigned long end, unsigned long timeslice_ms,
			      unsigned int flags)
{
	void *owner = md->vram->dpagemap.pagemap.owner;
	struct mm_struct *mm = current->mm;
	int err;

	kref_get(&md->ref);
	mmap_read_lock(mm);
	if (flags)
		err = drm_pagemap_migrate_to_devmem_flags(&md->base, mm, start,
							  end, timeslice_ms,
							  owner, flags);
	else
		err = drm_pagemap_migrate_to_devmem(&md->base, mm, start, end,
						    timeslice_ms, owner);
	mmap_read_unlock(mm);
	if (err)
		mock_devmem_put(md);

	return err;
}

static int mock_migrate(struct mock_devmem *md, unsigned long start,
			unsigned long end, unsigned long timeslice_ms)
{
	return mock_migrate_flags(md, start, end, timeslice_ms, 0);
}

/*
 * The device owning the memory reaches a page at its offset. Another
 * device reaches it over the interconnect, at the page's place in the
 * pagemap's physical range: unique across devices, which is how the
 * peer's copy hook finds the page (mock_peer_source()).
 */
static struct drm_pagemap_device_addr
mock_device_map(struct drm_pagemap *dpagemap, struct device *dev,
		struct page *page, unsigned int order,
		enum dma_data_direction dir)
{
	struct mock_vram *vram = container_of(dpagemap, struct mock_vram,
					      dpagemap);
	enum drm_interconnect_protocol proto = DRM_INTERCONNECT_PCIE_P2P;
	dma_addr_t addr = page_to_phys(page);

	if (dev == dpagemap->dev) {
		proto = DRM_INTERCONNECT_DRIVER;
		addr = drm_pagemap_page_to_offset(dpagemap, page);
	}

	vram->map_dev = dev;
	if (atomic_inc_return(&vram->map_calls) == vram->fail_map_at)
		addr = DMA_MAPPING_ERROR;
	else
		atomic_inc(&vram->maps);

	return drm_pagemap_device_addr_encode(addr, proto, order, dir);
}

static void mock_device_unmap(struct drm_pagemap *dpagemap, struct device *dev,
			      struct drm_pagemap_device_addr addr)
{
	struct mock_vram *vram = container_of(dpagemap, struct mock_vram,
					      dpagemap);

	vram->unmap_dev = dev;
	atomic_inc(&vram->unmaps);
}

static int mock_populate_mm(struct drm_pagemap *dpagemap, unsigned long start,
			    unsigned long end, struct mm_struct *mm,
			    unsigned long timeslice_ms)
{
	struct mock_vram *vram = container_of(dpagemap, struct mock_vram,
					      dpagemap);
	struct mock_devmem *md;
	int err;

	mmap_assert_locked(mm);
	atomic_inc(&vram->populate_calls);

	md = mock_devmem_create(vram, (end - start) >> PAGE_SHIFT, false);
	if (!md)
		return -ENOMEM;

	/* One reference for the helpers, one the test drops. */
	kref_get(&md->ref);
	vram->last_populated = md;
	err = drm_pagemap_migrate_to_devmem(&md->base, mm, start, end,
					    timeslice_ms, vram);
	if (err) {
		vram->last_populated = NULL;
		mock_devmem_put(md);
		mock_devmem_put(md);
	}

	return err;
}

static const struct drm_pagemap_ops mock_dpagemap_ops = {
	.device_map = mock_device_map,
	.device_unmap = mock_device_unmap,
	.populate_mm = mock_populate_mm,
};

static void mock_vram_free(struct mock_vram *vram)
{
	unsigned long i;

	for (i = 0; i < vram->npages && !vram->coherent; i++)
		if (vram->backing[i])
			__free_page(vram->backing[i]);
	kvfree(vram->backing);
	bitmap_free(vram->bitmap);
	kfree(vram->copied_by);
	kfree(vram);
}

KUNIT_DEFINE_ACTION_WRAPPER(mock_vram_free_action, mock_vram_free,
			    struct mock_vram *);
KUNIT_DEFINE_ACTION_WRAPPER(drm_pagemap_fini_action, drm_pagemap_fini,
			    struct drm_pagemap *);

/*
 * Have dma-debug report, when a case's mock device is unregistered, each
 * DMA mapping the case left behind (see drm_gpusvm_test_watch_dma(); only
 * when both suites are built in). Returns whether the check is on.
 */
static bool pagemap_test_watch_dma(struct device *dev)
{
#if IS_BUILTIN(CONFIG_DRM_GPUSVM_KUNIT_TEST) && IS_ENABLED(CONFIG_DMA_API_DEBUG)
	return drm_gpusvm_test_watch_dma(dev);
#else
	return false;
#endif
}

/*
 * A mock device's state without its memory, freed when the case ends. Its
 * @backing array is empty: the caller fills it and registers the memory.
 */
static struct mock_vram *mock_vram_alloc(struct kunit *test,
					 struct device *dev, bool coherent)
{
	unsigned long npages = MOCK_VRAM_SIZE >> PAGE_SHIFT;
	struct mock_vram *vram;
	int ret;

	vram = kzalloc(sizeof(*vram), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vram);
	vram->test = test;
	vram->dev = dev;
	vram->npages = npages;
	vram->coherent = coherent;
	vram->name = 'D';
	spin_lock_init(&vram->lock);
	vram->bitmap = bitmap_zalloc(npages, GFP_KERNEL);
	vram->backing = kvcalloc(npages, sizeof(*vram->backing), GFP_KERNEL);
	if (!vram->bitmap || !vram->backing) {
		mock_vram_free(vram);
		KUNIT_ASSERT_TRUE_MSG(test, false, "mock VRAM allocation failed");
	}
	ret = kunit_add_action_or_reset(test, mock_vram_free_action, vram);
	KUNIT_ASSERT_EQ(test, ret, 0);

	return vram;
}

/*
 * A mock device with device-private memory on @dev, registered with the
 * pgmap owner @owner, or the returned structure itself if NULL. Undone when
 * the case ends.
 */
static struct mock_vram *mock_vram_private(struct kunit *test,
					   struct device *dev, void *owner)
{
	struct mock_vram *vram;
	unsigned long i;
	int ret;

	ret = dma_coerce_mask_and_coherent(dev, DMA_BIT_MASK(64));
	KUNIT_ASSERT_EQ(test, ret, 0);
	pagemap_test_watch_dma(dev);

	vram = mock_vram_alloc(test, dev, false);
	/* Garbage everywhere: a device page must never show it to the CPU. */
	for (i = 0; i < vram->npages; i++) {
		vram->backing[i] = alloc_page(GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, vram->backing[i]);
		memset(page_address(vram->backing[i]), MOCK_GARBAGE, PAGE_SIZE);
	}

	ret = drm_pagemap_init(&vram->dpagemap, dev, MOCK_VRAM_SIZE,
			       owner ?: vram, &mock_dpagemap_ops);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "drm_pagemap_init() failed");
	ret = kunit_add_action_or_reset(test, drm_pagemap_fini_action,
					&vram->dpagemap);
	KUNIT_ASSERT_EQ(test, ret, 0);

	return vram;
}

static int drm_pagemap_test_init(struct kunit *test)
{
	struct device *dev;

	dev = drm_kunit_helper_alloc_device(test);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	test->priv = mock_vram_private(test, dev, NULL);
	return 0;
}

/* --- process memory helpers --- */

static unsigned long test_mmap(struct kunit *test, unsigned long addr,
			       unsigned long len, unsigned long prot,
			       unsigned long flags)
{
	unsigned long ret;

	ret = kunit_vm_mmap(test, NULL, addr, len, prot,
			    MAP_ANONYMOUS | flags, 0);
	KUNIT_ASSERT_TRUE_MSG(test, ret && !IS_ERR_VALUE(ret),
			      "vm_mmap of %lu bytes failed: %ld", len, (long)ret);
	return ret;
}

static unsigned long test_mmap_aligned(struct kunit *test, unsigned long len,
				       unsigned long align)
{
	unsigned long addr = test_mmap(test, 0, len + align,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);

	return ALIGN(addr, align);
}

static u32 pattern_word(unsigned long offset, u32 seed)
{
	return (u32)(offset >> 2) * 2654435761u ^ seed;
}

static void fill_pattern(void *buf, unsigned long offset, u32 seed)
{
	u32 *w = buf;
	unsigned long i;

	for (i = 0; i < PAGE_SIZE / 4; i++)
		w[i] = pattern_word(offset + i * 4, seed);
}

/* Write the pattern of @seed to @len bytes at @addr. */
static void user_fill(struct kunit *test, unsigned long addr,
		      unsigned long len, u32 seed)
{
	void *buf = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	unsigned long off;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (off = 0; off < len; off += PAGE_SIZE) {
		fill_pattern(buf, off, seed);
		KUNIT_ASSERT_EQ_MSG(test,
				    copy_to_user((void __user *)(addr + off),
						 buf, PAGE_SIZE), 0,
				    "write at %#lx failed", addr + off);
	}
	kunit_kfree(test, buf);
}

/*
 * Check @len bytes at @addr: the pattern of @seed, or zeroes for seed 0.
 * Return: the offset of the first wrong page or -1 if all match, -2 if a
 * read faulted.
 */
static long user_check(struct kunit *test, unsigned long addr,
		       unsigned long len, u32 seed)
{
	void *buf = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	void *want = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	unsigned long off;
	long ret = -1;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_NOT_NULL(test, want);
	for (off = 0; off < len; off += PAGE_SIZE) {
		if (seed)
			fill_pattern(want, off, seed);
		else
			memset(want, 0, PAGE_SIZE);
		if (copy_from_user(buf, (void __user *)(addr + off),
				   PAGE_SIZE)) {
			ret = -2;
			break;
		}
		if (memcmp(buf, want, PAGE_SIZE)) {
			ret = off;
			break;
		}
	}
	kunit_kfree(test, buf);
	kunit_kfree(test, want);
	return ret;
}

/*
 * Read the first word at @addr, with exactly one access: copy_from_user()
 * may retry the rest of a copy after a fault (on x86 without ERMS, its
 * fixup copies the tail again a word or a byte at a time), so a fault
 * injected once would go unseen.
 * Return: 0 with the word in @val, or -EFAULT if the access faulted.
 */
static int user_touch(unsigned long addr, u32 *val)
{
	return get_user(*val, (u32 __user *)addr);
}

/* Check the device copy of page @index of @md against the pattern. */
static bool devmem_matches(struct mock_devmem *md, unsigned long index,
			   unsigned long offset, u32 seed)
{
	u32 *w = kmap_local_page(mock_backing(md->vram, md->pfns[index]));
	unsigned long i;
	bool ok = true;

	for (i = 0; i < PAGE_SIZE / 4 && ok; i++)
		ok = w[i] == (seed ? pattern_word(offset + i * 4, seed) : 0);
	kunmap_local(w);

	return ok;
}

/* --- where does each page live? hmm_range_fault() snapshot --- */

static bool snap_invalidate(struct mmu_interval_notifier *mni,
			    const struct mmu_notifier_range *range,
			    unsigned long cur_seq)
{
	mmu_interval_set_seq(mni, cur_seq);
	return true;
}

static const struct mmu_interval_notifier_ops snap_ops = {
	.invalidate = snap_invalidate,
};

/*
 * Fill @state with one character per page: 'D' device-private page of the
 * mock (or the &mock_vram.name of its device), 'C' device-coherent page,
 * 'S' system page, 'Z' the zero page, 'N' nothing mapped.
 */
static void snapshot(struct kunit *test, unsigned long start,
		     unsigned long npages, char *state)
{
	struct mock_vram *vram = test->priv;
	struct mm_struct *mm = current->mm;
	struct mmu_interval_notifier mni;
	unsigned long *pfns, i;
	struct hmm_range range = {
		.notifier = &mni,
		.start = start,
		.end = start + (npages << PAGE_SHIFT),
		.dev_private_owner = vram,
	};
	int ret;

	pfns = kunit_kcalloc(test, npages, sizeof(*pfns), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pfns);
	range.hmm_pfns = pfns;

	ret = mmu_interval_notifier_insert(&mni, mm, range.start,
					   range.end - range.start, &snap_ops);
	KUNIT_ASSERT_EQ(test, ret, 0);
	do {
		range.notifier_seq = mmu_interval_read_begin(&mni);
		mmap_read_lock(mm);
		ret = hmm_range_fault(&range);
		mmap_read_unlock(mm);
	} while (ret == -EBUSY);
	mmu_interval_notifier_remove(&mni);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "hmm_range_fault() failed");

	for (i = 0; i < npages; i++) {
		struct page *page;

		if (!(pfns[i] & HMM_PFN_VALID)) {
			state[i] = 'N';
			continue;
		}
		page = hmm_pfn_to_page(pfns[i]);
		if (is_device_private_page(page))
			state[i] = mock_page_vram(page)->name;
		else if (is_device_coherent_page(page))
			state[i] = 'C';
		else if (is_zero_pfn(page_to_pfn(page)))
			state[i] = 'Z';
		else
			state[i] = 'S';
	}
	state[npages] = '\0';
	kunit_kfree(test, pfns);
}

/* Expect every page of the range in state @want. */
static void expect_state(struct kunit *test, unsigned long start,
			 unsigned long npages, char want)
{
	char *state = kunit_kzalloc(test, npages + 1, GFP_KERNEL);
	unsigned long i;

	KUNIT_ASSERT_NOT_NULL(test, state);
	snapshot(test, start, npages, state);
	for (i = 0; i < npages; i++)
		if (state[i] != want)
			break;
	KUNIT_EXPECT_EQ_MSG(test, i, npages,
			    "page %lu is '%c', want '%c'; range: %.64s", i,
			    state[i], want, state);
	kunit_kfree(test, state);
}

static unsigned long device_pages_in_use(struct mock_devmem *md)
{
	unsigned long i, busy = 0;

	for (i = 0; i < md->npages; i++)
		if (page_ref_count(pfn_to_page(md->pfns[i])))
			busy++;
	return busy;
}

/* --- registration and small helpers --- */

static void drm_test_pagemap_init_fini(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	struct drm_pagemap *dpagemap = &vram->dpagemap;
	struct page *page;

	KUNIT_EXPECT_EQ(test, drm_pagemap_npages(dpagemap),
			MOCK_VRAM_SIZE >> PAGE_SHIFT);
	KUNIT_EXPECT_PTR_EQ(test, dpagemap->dev, vram->dev);
	KUNIT_EXPECT_PTR_EQ(test, dpagemap->ops, &mock_dpagemap_ops);
	KUNIT_EXPECT_PTR_EQ(test, dpagemap->pagemap.owner, (void *)vram);
	KUNIT_EXPECT_EQ(test, dpagemap->pagemap.type, MEMORY_DEVICE_PRIVATE);

	page = pfn_to_page(drm_pagemap_base_pfn(dpagemap));
	KUNIT_EXPECT_TRUE(test, is_device_private_page(page));
	page = pfn_to_page(drm_pagemap_base_pfn(dpagemap) +
			   drm_pagemap_npages(dpagemap) - 1);
	KUNIT_EXPECT_TRUE(test, is_device_private_page(page));
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 0);

	drm_pagemap_fini(dpagemap);
	KUNIT_EXPECT_NULL(test, dpagemap->res);
	KUNIT_EXPECT_EQ(test, drm_pagemap_npages(dpagemap), 0);
	/* A second fini (the test's cleanup action) is harmless. */
	drm_pagemap_fini(dpagemap);
}

static void drm_test_pagemap_init_bad_args(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	struct drm_pagemap *dp = kunit_kmalloc(test, sizeof(*dp), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, dp);
	/* Not zeroed, as when embedded in a driver structure. */
	memset(dp, 0x6b, sizeof(*dp));
	KUNIT_EXPECT_EQ(test, drm_pagemap_init(dp, NULL, SZ_2M, vram, NULL),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_init(dp, vram->dev, SZ_2M, NULL, NULL),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_init(dp, vram->dev, 0, vram, NULL),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_init(dp, vram->dev, SZ_64K, vram, NULL),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_init(NULL, vram->dev, SZ_2M, vram, NULL),
			-EINVAL);
	/* Nothing for drm_pagemap_fini() to release: it does nothing. */
	KUNIT_EXPECT_NULL(test, dp->res);
	drm_pagemap_fini(dp);
}

static void drm_test_pagemap_second_region(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	struct drm_pagemap *dp = kunit_kzalloc(test, sizeof(*dp), GFP_KERNEL);
	unsigned long a0, a1, b0, b1;
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, dp);
	ret = drm_pagemap_init(dp, vram->dev, SZ_2M, vram, NULL);
	KUNIT_ASSERT_EQ(test, ret, 0);

	a0 = drm_pagemap_base_pfn(&vram->dpagemap);
	a1 = a0 + drm_pagemap_npages(&vram->dpagemap);
	b0 = drm_pagemap_base_pfn(dp);
	b1 = b0 + drm_pagemap_npages(dp);
	KUNIT_EXPECT_TRUE_MSG(test, b1 <= a0 || a1 <= b0,
			      "regions overlap: [%lx,%lx) [%lx,%lx)", a0, a1,
			      b0, b1);
	drm_pagemap_fini(dp);
}

static void drm_test_pagemap_pfn_offset(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	struct drm_pagemap *dp = &vram->dpagemap;
	unsigned long base = drm_pagemap_base_pfn(dp);

	KUNIT_EXPECT_EQ(test, drm_pagemap_pfn_to_offset(dp, base), 0);
	KUNIT_EXPECT_EQ(test, drm_pagemap_pfn_to_offset(dp, base + 3),
			3ull << PAGE_SHIFT);
	KUNIT_EXPECT_EQ(test, drm_pagemap_offset_to_pfn(dp, 0), base);
	KUNIT_EXPECT_EQ(test, drm_pagemap_offset_to_pfn(dp, SZ_1M + 17),
			base + (SZ_1M >> PAGE_SHIFT));
	KUNIT_EXPECT_EQ(test,
			drm_pagemap_page_to_offset(dp, pfn_to_page(base + 100)),
			100ull << PAGE_SHIFT);
	KUNIT_EXPECT_EQ(test, PFN_PHYS(base), dp->res->start);
}

static void drm_test_pagemap_device_addr_encode(struct kunit *test)
{
	static const enum dma_data_direction dirs[] = {
		DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE,
	};
	unsigned int i, order;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		for (order = 0; order <= 18; order += 9) {
			struct drm_pagemap_device_addr a =
				drm_pagemap_device_addr_encode(0x123456789000ull + order,
							       DRM_INTERCONNECT_DRIVER,
							       order, dirs[i]);

			KUNIT_EXPECT_EQ(test, a.addr, 0x123456789000ull + order);
			KUNIT_EXPECT_EQ(test, (u64)a.proto,
					(u64)DRM_INTERCONNECT_DRIVER);
			KUNIT_EXPECT_EQ(test, (u64)a.order, (u64)order);
			KUNIT_EXPECT_EQ(test, (u64)a.dir, (u64)dirs[i]);
		}
	}
	KUNIT_EXPECT_EQ(test, DRM_INTERCONNECT_SYSTEM, 0);
	KUNIT_EXPECT_LT(test, DRM_INTERCONNECT_PCIE_P2P, DRM_INTERCONNECT_DRIVER);
}

static void drm_test_pagemap_ops_get(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	const struct dev_pagemap_ops *ops = drm_pagemap_pagemap_ops_get();

	KUNIT_ASSERT_NOT_NULL(test, ops);
	KUNIT_EXPECT_NOT_NULL(test, ops->page_free);
	KUNIT_EXPECT_NOT_NULL(test, ops->migrate_to_ram);
	KUNIT_EXPECT_PTR_EQ(test, vram->dpagemap.pagemap.ops, ops);
}

static void drm_test_pagemap_devmem_init(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 4, false);

	KUNIT_EXPECT_PTR_EQ(test, md->base.dev, vram->dev);
	KUNIT_EXPECT_PTR_EQ(test, md->base.mm, current->mm);
	KUNIT_EXPECT_PTR_EQ(test, md->base.ops, &mock_devmem_ops);
	KUNIT_EXPECT_PTR_EQ(test, md->base.dpagemap, &vram->dpagemap);
	KUNIT_EXPECT_EQ(test, md->base.size, 4 * PAGE_SIZE);
	KUNIT_EXPECT_TRUE_MSG(test, completion_done(&md->base.detached),
			      "a fresh allocation must be detached");
	/* Evicting an allocation nothing refers to is a no-op. */
	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&md->base), 0);
}

static void drm_test_pagemap_page_to_dpagemap(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 2, false);
	unsigned long addr = test_mmap(test, 0, 2 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct page *sys = alloc_page(GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, sys);
	KUNIT_EXPECT_NULL(test, drm_pagemap_page_to_dpagemap(sys));
	__free_page(sys);
	KUNIT_EXPECT_NULL_MSG(test,
			      drm_pagemap_page_to_dpagemap(pfn_to_page(md->pfns[0])),
			      "a free device page has no owner");

	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + 2 * PAGE_SIZE, 0), 0);
	KUNIT_EXPECT_PTR_EQ(test,
			    drm_pagemap_page_to_dpagemap(pfn_to_page(md->pfns[0])),
			    &vram->dpagemap);
	KUNIT_EXPECT_PTR_EQ(test, pfn_to_page(md->pfns[0])->zone_device_data,
			    pfn_to_page(md->pfns[1])->zone_device_data);
}

static void drm_test_pagemap_device_map(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 1, false);
	struct page *page = pfn_to_page(md->pfns[0]);
	struct drm_pagemap_device_addr a;

	a = vram->dpagemap.ops->device_map(&vram->dpagemap, vram->dev, page, 0,
					   DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_EQ(test, a.addr,
			drm_pagemap_pfn_to_offset(&vram->dpagemap, md->pfns[0]));
	KUNIT_EXPECT_EQ(test, (u64)a.proto, (u64)DRM_INTERCONNECT_DRIVER);
	vram->dpagemap.ops->device_unmap(&vram->dpagemap, vram->dev, a);
}

/* --- migration round trips --- */

static void roundtrip(struct kunit *test, unsigned long size, bool scatter)
{
	struct mock_vram *vram = test->priv;
	unsigned long npages = size >> PAGE_SHIFT, i;
	unsigned long addr = test_mmap_aligned(test, size, size);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, npages, scatter);
	u32 seed = 0x1234 + npages;
	int ret;

	user_fill(test, addr, size, seed);
	ret = mock_migrate(md, addr, addr + size, 0);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "migration of %lu pages", npages);
	expect_state(test, addr, npages, 'D');
	KUNIT_EXPECT_FALSE(test, completion_done(&md->base.detached));

	for (i = 0; i < npages; i++)
		if (!devmem_matches(md, i, i << PAGE_SHIFT, seed))
			break;
	KUNIT_EXPECT_EQ_MSG(test, i, npages, "device copy wrong at page %lu", i);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_dev_pages), npages);
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&vram->to_dev_calls), 1,
			    "copies must be batched");
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_dev_max_run), npages);

	/* One CPU fault brings the whole allocation back. */
	KUNIT_EXPECT_EQ(test, user_check(test, addr, size, seed), -1);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_pages), npages);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_calls), 1);
	expect_state(test, addr, npages, 'S');
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 1);
	KUNIT_EXPECT_TRUE(test, completion_done(&md->base.detached));
	KUNIT_EXPECT_EQ(test, device_pages_in_use(md), 0);
}

static void drm_test_pagemap_roundtrip_4k(struct kunit *test)
{
	roundtrip(test, SZ_4K, false);
}

static void drm_test_pagemap_roundtrip_64k(struct kunit *test)
{
	roundtrip(test, SZ_64K, false);
}

static void drm_test_pagemap_roundtrip_2m(struct kunit *test)
{
	roundtrip(test, SZ_2M, false);
}

static void drm_test_pagemap_roundtrip_scattered(struct kunit *test)
{
	roundtrip(test, SZ_64K, true);
}

/* A 2M-aligned range touched once: may be a THP that migration splits. */
static void drm_test_pagemap_roundtrip_thp(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap_aligned(test, SZ_2M, SZ_2M);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 512, false);

	KUNIT_ASSERT_EQ(test, put_user(0x5a, (u8 __user *)addr), 0);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + SZ_2M, 0), 0);
	expect_state(test, addr, 512, 'D');
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_dev_pages), 512);
	user_fill(test, addr, SZ_2M, 77);
	KUNIT_EXPECT_EQ(test, user_check(test, addr, SZ_2M, 77), -1);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 1);
}

/* --- clearing pages without data --- */

static void drm_test_pagemap_clear_pte_none(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, SZ_64K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 16, false);
	unsigned long i;

	expect_state(test, addr, 16, 'N');
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + SZ_64K, 0), 0);
	expect_state(test, addr, 16, 'D');
	for (i = 0; i < 16; i++)
		KUNIT_EXPECT_TRUE_MSG(test, devmem_matches(md, i, 0, 0),
				      "device page %lu not cleared", i);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_dev_calls), 1);
	KUNIT_EXPECT_EQ(test, user_check(test, addr, SZ_64K, 0), -1);
}

static void drm_test_pagemap_clear_zero_page(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, SZ_64K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 16, false);
	unsigned long i;

	/* Reads map the shared zero page. */
	KUNIT_ASSERT_EQ(test, user_check(test, addr, SZ_64K, 0), -1);
	expect_state(test, addr, 16, 'Z');
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + SZ_64K, 0), 0);
	expect_state(test, addr, 16, 'D');
	for (i = 0; i < 16; i++)
		KUNIT_EXPECT_TRUE_MSG(test, devmem_matches(md, i, 0, 0),
				      "device page %lu not cleared", i);
	KUNIT_EXPECT_EQ(test, user_check(test, addr, SZ_64K, 0), -1);
}

/* Every other page written: data and clears share one batched copy. */
static void drm_test_pagemap_partially_populated(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, SZ_64K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 16, false);
	unsigned long i;

	for (i = 0; i < 16; i += 2)
		user_fill(test, addr + i * PAGE_SIZE, PAGE_SIZE, 100 + i);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + SZ_64K, 0), 0);
	expect_state(test, addr, 16, 'D');
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_dev_calls), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_dev_pages), 16);
	for (i = 0; i < 16; i++)
		KUNIT_EXPECT_TRUE_MSG(test,
				      devmem_matches(md, i, 0, i & 1 ? 0 : 100 + i),
				      "device page %lu", i);
	for (i = 0; i < 16; i++)
		KUNIT_EXPECT_EQ_MSG(test,
				    user_check(test, addr + i * PAGE_SIZE,
					       PAGE_SIZE, i & 1 ? 0 : 100 + i),
				    -1, "page %lu", i);
}

/* --- VMA shapes --- */

static void drm_test_pagemap_several_vmas(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 12 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	unsigned long mid = addr + 4 * PAGE_SIZE;
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 12, false);

	/* RW | RO | RW: three VMAs that cannot merge. */
	KUNIT_ASSERT_EQ(test, test_mmap(test, mid, 4 * PAGE_SIZE, PROT_READ,
					MAP_PRIVATE | MAP_FIXED), mid);
	user_fill(test, addr, 4 * PAGE_SIZE, 1);
	user_fill(test, addr + 8 * PAGE_SIZE, 4 * PAGE_SIZE, 3);

	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + 12 * PAGE_SIZE, 0),
			0);
	expect_state(test, addr, 12, 'D');
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&vram->to_dev_calls), 1,
			    "adjacent VMAs form one run");

	KUNIT_EXPECT_EQ(test, user_check(test, addr, 4 * PAGE_SIZE, 1), -1);
	KUNIT_EXPECT_EQ(test, user_check(test, mid, 4 * PAGE_SIZE, 0), -1);
	KUNIT_EXPECT_EQ(test, user_check(test, addr + 8 * PAGE_SIZE,
					 4 * PAGE_SIZE, 3), -1);
	expect_state(test, addr, 4, 'S');
	expect_state(test, addr + 8 * PAGE_SIZE, 4, 'S');
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 1);
}

static void drm_test_pagemap_vma_hole(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 12 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 12, false);

	user_fill(test, addr, 12 * PAGE_SIZE, 9);
	KUNIT_ASSERT_EQ(test, vm_munmap(addr + 4 * PAGE_SIZE, 4 * PAGE_SIZE), 0);

	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + 12 * PAGE_SIZE, 0),
			0);
	expect_state(test, addr, 4, 'D');
	expect_state(test, addr + 8 * PAGE_SIZE, 4, 'D');
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&vram->to_dev_calls), 2,
			    "the hole splits the copy in two runs");
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_dev_pages), 8);

	KUNIT_EXPECT_EQ(test, user_check(test, addr, 4 * PAGE_SIZE, 9), -1);
	KUNIT_EXPECT_EQ(test, user_check(test, addr + 4 * PAGE_SIZE,
					 PAGE_SIZE, 9), -2);
}

static void drm_test_pagemap_no_vma(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 4 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 4, false);

	KUNIT_ASSERT_EQ(test, vm_munmap(addr, 4 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, mock_migrate(md, addr, addr + 4 * PAGE_SIZE, 0),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, kref_read(&md->ref), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 0);
}

static void drm_test_pagemap_read_only(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 4 * PAGE_SIZE, PROT_READ,
				       MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 4, false);
	u8 v;

	KUNIT_ASSERT_EQ(test, get_user(v, (u8 __user *)addr), 0);
	KUNIT_EXPECT_EQ(test, v, 0);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + 4 * PAGE_SIZE, 0),
			0);
	expect_state(test, addr, 4, 'D');
	KUNIT_EXPECT_TRUE(test, devmem_matches(md, 0, 0, 0));
	KUNIT_EXPECT_TRUE(test, devmem_matches(md, 3, 0, 0));
	KUNIT_EXPECT_EQ(test, user_check(test, addr, 4 * PAGE_SIZE, 0), -1);
	KUNIT_EXPECT_EQ_MSG(test, put_user(1, (u8 __user *)addr), -EFAULT,
			    "the mapping must stay read-only");
}

/* Shared anonymous memory is shmem: not migratable, nothing moves. */
static void drm_test_pagemap_shared_busy(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 4 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_SHARED);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 4, false);

	user_fill(test, addr, 4 * PAGE_SIZE, 5);
	KUNIT_EXPECT_EQ(test, mock_migrate(md, addr, addr + 4 * PAGE_SIZE, 0),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, kref_read(&md->ref), 1);
	KUNIT_EXPECT_TRUE(test, completion_done(&md->base.detached));
	KUNIT_EXPECT_EQ(test, user_check(test, addr, 4 * PAGE_SIZE, 5), -1);
}

/* Pages someone holds cannot be collected: they stay, the rest moves. */
static void drm_test_pagemap_partially_collected(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 8 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 8, false);
	char state[9];
	struct page *held;

	user_fill(test, addr, 8 * PAGE_SIZE, 21);
	KUNIT_ASSERT_EQ(test, get_user_pages_fast(addr + 3 * PAGE_SIZE, 1,
						  FOLL_WRITE, &held), 1);
	KUNIT_EXPECT_EQ(test, mock_migrate(md, addr, addr + 8 * PAGE_SIZE, 0),
			0);
	put_page(held);

	snapshot(test, addr, 8, state);
	KUNIT_EXPECT_STREQ(test, state, "DDDSDDDD");
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_dev_calls), 2);
	KUNIT_EXPECT_EQ(test, user_check(test, addr, 8 * PAGE_SIZE, 21), -1);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 1);
	KUNIT_EXPECT_EQ(test, device_pages_in_use(md), 0);
}

static void drm_test_pagemap_all_pinned_busy(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 2 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 2, false);
	struct page *held[2];

	user_fill(test, addr, 2 * PAGE_SIZE, 22);
	KUNIT_ASSERT_EQ(test, get_user_pages_fast(addr, 2, FOLL_WRITE, held), 2);
	KUNIT_EXPECT_EQ(test, mock_migrate(md, addr, addr + 2 * PAGE_SIZE, 0),
			-EBUSY);
	put_page(held[0]);
	put_page(held[1]);
	KUNIT_EXPECT_EQ(test, kref_read(&md->ref), 1);
	KUNIT_EXPECT_EQ(test, device_pages_in_use(md), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 0);
	KUNIT_EXPECT_EQ(test, user_check(test, addr, 2 * PAGE_SIZE, 22), -1);
}

static void drm_test_pagemap_already_on_device(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 4 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct mock_devmem *a = mock_devmem_alloc(test, vram, 4, false);
	struct mock_devmem *b = mock_devmem_alloc(test, vram, 4, false);

	user_fill(test, addr, 4 * PAGE_SIZE, 8);
	KUNIT_ASSERT_EQ(test, mock_migrate(a, addr, addr + 4 * PAGE_SIZE, 0), 0);
	KUNIT_EXPECT_EQ(test, mock_migrate(b, addr, addr + 4 * PAGE_SIZE, 0),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, kref_read(&b->ref), 1);
	KUNIT_EXPECT_EQ(test, device_pages_in_use(b), 0);
	KUNIT_EXPECT_EQ(test, user_check(test, addr, 4 * PAGE_SIZE, 8), -1);
}

static void drm_test_pagemap_migrate_bad_args(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 8 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 4, false);
	/* kunit_vm_mmap() attached the mm: read it afterwards. */
	struct mm_struct *mm = current->mm;
	struct drm_pagemap_devmem_ops no_copy = mock_devmem_ops;
	struct drm_pagemap_devmem bare;
	struct mm_struct *other;

	KUNIT_EXPECT_EQ(test, mock_migrate(md, addr + 1, addr + PAGE_SIZE, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, mock_migrate(md, addr, addr + 100, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, mock_migrate(md, addr, addr, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, mock_migrate(md, addr + PAGE_SIZE, addr, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ_MSG(test, mock_migrate(md, addr, addr + 8 * PAGE_SIZE, 0),
			    -EINVAL, "range larger than the allocation");

	mmap_read_lock(mm);
	KUNIT_EXPECT_EQ(test,
			drm_pagemap_migrate_to_devmem(NULL, mm, addr,
						      addr + PAGE_SIZE, 0, vram),
			-EINVAL);
	KUNIT_EXPECT_EQ(test,
			drm_pagemap_migrate_to_devmem(&md->base, NULL, addr,
						      addr + PAGE_SIZE, 0, vram),
			-EINVAL);
	no_copy.copy_to_devmem = NULL;
	drm_pagemap_devmem_init(&bare, vram->dev, mm, &no_copy,
				&vram->dpagemap, PAGE_SIZE);
	KUNIT_EXPECT_EQ(test,
			drm_pagemap_migrate_to_devmem(&bare, mm, addr,
						      addr + PAGE_SIZE, 0, vram),
			-EINVAL);
	other = mm_alloc();
	KUNIT_ASSERT_NOT_NULL(test, other);
	drm_pagemap_devmem_init(&bare, vram->dev, other, &mock_devmem_ops,
				&vram->dpagemap, PAGE_SIZE);
	KUNIT_EXPECT_EQ_MSG(test,
			    drm_pagemap_migrate_to_devmem(&bare, mm, addr,
							  addr + PAGE_SIZE, 0,
							  vram),
			    -EINVAL, "allocation bound to another mm");
	mmap_read_unlock(mm);
	mmput(other);

	KUNIT_EXPECT_EQ(test, kref_read(&md->ref), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_dev_calls), 0);
}

/* --- failure injection --- */

static void drm_test_pagemap_copy_to_devmem_fails(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, SZ_64K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 16, false);

	user_fill(test, addr, SZ_32K, 31);	/* half data, half pte_none */
	vram->fail_to_dev = -EIO;
	atomic_set(&vram->fail_to_dev_count, 1);

	KUNIT_EXPECT_EQ(test, mock_migrate(md, addr, addr + SZ_64K, 0), -EIO);
	expect_state(test, addr, 8, 'S');
	expect_state(test, addr + SZ_32K, 8, 'N');
	KUNIT_EXPECT_EQ(test, user_check(test, addr, SZ_32K, 31), -1);
	KUNIT_EXPECT_EQ_MSG(test, device_pages_in_use(md), 0,
			    "device pages leaked by the unwind");
	KUNIT_EXPECT_EQ(test, kref_read(&md->ref), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 0);
	KUNIT_EXPECT_TRUE(test, completion_done(&md->base.detached));

	/* The allocation is still usable. */
	KUNIT_EXPECT_EQ(test, mock_migrate(md, addr, addr + SZ_64K, 0), 0);
	expect_state(test, addr, 16, 'D');
	KUNIT_EXPECT_EQ(test, user_check(test, addr, SZ_32K, 31), -1);
}

static void drm_test_pagemap_populate_pfn_fails(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 4 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 4, false);

	user_fill(test, addr, 4 * PAGE_SIZE, 32);
	vram->fail_populate_pfn = -ENOSPC;
	KUNIT_EXPECT_EQ(test, mock_migrate(md, addr, addr + 4 * PAGE_SIZE, 0),
			-ENOSPC);
	vram->fail_populate_pfn = 0;
	expect_state(test, addr, 4, 'S');
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_dev_calls), 0);
	KUNIT_EXPECT_EQ(test, kref_read(&md->ref), 1);
	KUNIT_EXPECT_EQ(test, user_check(test, addr, 4 * PAGE_SIZE, 32), -1);
}

static void drm_test_pagemap_copy_to_ram_fails_on_fault(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 4 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 4, false);
	u32 v;

	user_fill(test, addr, 4 * PAGE_SIZE, 33);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + 4 * PAGE_SIZE, 0), 0);

	vram->fail_to_ram = -EIO;
	atomic_set(&vram->fail_to_ram_count, 1);
	KUNIT_EXPECT_EQ_MSG(test, user_touch(addr, &v), -EFAULT,
			    "a failed copy back must fail the access");
	expect_state(test, addr, 4, 'D');
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 0);

	/* The data was not lost: the next access succeeds. */
	KUNIT_EXPECT_EQ(test, user_check(test, addr, 4 * PAGE_SIZE, 33), -1);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 1);
}

/* --- CPU faults --- */

static void drm_test_pagemap_fault_whole_allocation(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, SZ_64K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 16, false);
	u32 v;

	user_fill(test, addr, SZ_64K, 41);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + SZ_64K, 0), 0);

	/* Touch one word in the middle. */
	KUNIT_ASSERT_EQ(test, get_user(v, (u32 __user *)(addr + 9 * PAGE_SIZE)),
			0);
	KUNIT_EXPECT_EQ(test, v, pattern_word(9 * PAGE_SIZE, 41));
	expect_state(test, addr, 16, 'S');
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_calls), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_pages), 16);
	KUNIT_EXPECT_EQ(test, user_check(test, addr, SZ_64K, 41), -1);
}

static void drm_test_pagemap_fault_clipped_to_vma(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 16 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	unsigned long mid = addr + 8 * PAGE_SIZE;
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 16, false);

	KUNIT_ASSERT_EQ(test, test_mmap(test, mid, 8 * PAGE_SIZE, PROT_READ,
					MAP_PRIVATE | MAP_FIXED), mid);
	user_fill(test, addr, 8 * PAGE_SIZE, 42);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + 16 * PAGE_SIZE, 0),
			0);
	expect_state(test, addr, 16, 'D');

	KUNIT_EXPECT_EQ(test, user_check(test, addr, PAGE_SIZE, 42), -1);
	expect_state(test, addr, 8, 'S');
	expect_state(test, mid, 8, 'D');
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_pages), 8);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 0);

	KUNIT_EXPECT_EQ(test, user_check(test, mid, 8 * PAGE_SIZE, 0), -1);
	expect_state(test, mid, 8, 'S');
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 1);
}

static void drm_test_pagemap_cpu_write_fault(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 8 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 8, false);
	unsigned long i;

	user_fill(test, addr, 8 * PAGE_SIZE, 43);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + 8 * PAGE_SIZE, 0), 0);
	KUNIT_ASSERT_EQ(test, put_user(0xdeadbeef,
				       (u32 __user *)(addr + 2 * PAGE_SIZE)), 0);
	expect_state(test, addr, 8, 'S');
	for (i = 0; i < 8; i++) {
		u32 v;

		KUNIT_ASSERT_EQ(test, get_user(v, (u32 __user *)(addr + i * PAGE_SIZE)),
				0);
		KUNIT_EXPECT_EQ_MSG(test, v,
				    i == 2 ? 0xdeadbeef :
				    pattern_word(i * PAGE_SIZE, 43),
				    "page %lu", i);
	}
}

static void drm_test_pagemap_munmap_releases(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 8 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 8, false);

	user_fill(test, addr, 8 * PAGE_SIZE, 44);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + 8 * PAGE_SIZE, 0), 0);
	KUNIT_ASSERT_EQ(test, vm_munmap(addr, 4 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 0);
	KUNIT_EXPECT_EQ(test, device_pages_in_use(md), 4);
	KUNIT_ASSERT_EQ(test, vm_munmap(addr + 4 * PAGE_SIZE, 4 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 1);
	KUNIT_EXPECT_TRUE(test, completion_done(&md->base.detached));
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_calls), 0);
}

/* --- timeslice --- */

/*
 * The timeslice holds back faults of user-mode code only (the selftest
 * timeslice_delays_cpu_fault covers those): a fault of the kernel, such as
 * the copy_from_user() of this test, migrates at once, whatever the
 * timeslice, so that no system call stalls on it. Before that rule, this
 * access waited the full 3 s.
 */
static void drm_test_pagemap_timeslice_kernel_fault(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 4 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 4, false);
	ktime_t t0;
	s64 ms;

	user_fill(test, addr, 4 * PAGE_SIZE, 51);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + 4 * PAGE_SIZE, 3000),
			0);
	t0 = ktime_get();
	KUNIT_EXPECT_EQ(test, user_check(test, addr, 4 * PAGE_SIZE, 51), -1);
	ms = ktime_ms_delta(ktime_get(), t0);
	KUNIT_EXPECT_LT_MSG(test, ms, 1000, "fault returned after %lld ms", ms);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_calls), 1);
}

static void drm_test_pagemap_timeslice_expired(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 4 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 4, false);
	ktime_t t0;

	user_fill(test, addr, 4 * PAGE_SIZE, 52);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + 4 * PAGE_SIZE, 20),
			0);
	msleep(50);
	t0 = ktime_get();
	KUNIT_EXPECT_EQ(test, user_check(test, addr, 4 * PAGE_SIZE, 52), -1);
	KUNIT_EXPECT_LT(test, ktime_ms_delta(ktime_get(), t0), 2000);
	expect_state(test, addr, 4, 'S');
}

/* --- eviction --- */

static void evict(struct kunit *test, bool scatter)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, SZ_64K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 16, scatter);

	user_fill(test, addr, SZ_64K, 61);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + SZ_64K, 0), 0);
	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&md->base), 0);
	KUNIT_EXPECT_TRUE(test, completion_done(&md->base.detached));
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_pages), 16);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_calls), 1);
	KUNIT_EXPECT_EQ(test, device_pages_in_use(md), 0);
	expect_state(test, addr, 16, 'S');
	KUNIT_EXPECT_EQ(test, user_check(test, addr, SZ_64K, 61), -1);
}

static void drm_test_pagemap_evict(struct kunit *test)
{
	evict(test, false);
}

static void drm_test_pagemap_evict_scattered(struct kunit *test)
{
	evict(test, true);
}

static void drm_test_pagemap_evict_ignores_timeslice(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 4 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 4, false);
	ktime_t t0;

	user_fill(test, addr, 4 * PAGE_SIZE, 62);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + 4 * PAGE_SIZE,
					   60000), 0);
	t0 = ktime_get();
	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&md->base), 0);
	KUNIT_EXPECT_LT(test, ktime_ms_delta(ktime_get(), t0), 5000);
	KUNIT_EXPECT_EQ(test, user_check(test, addr, 4 * PAGE_SIZE, 62), -1);
}

static void drm_test_pagemap_evict_copy_fails(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 8 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 8, false);

	user_fill(test, addr, 8 * PAGE_SIZE, 63);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + 8 * PAGE_SIZE, 0), 0);
	vram->fail_to_ram = -ETIMEDOUT;
	atomic_set(&vram->fail_to_ram_count, 1);
	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&md->base), -ETIMEDOUT);
	expect_state(test, addr, 8, 'D');
	KUNIT_EXPECT_FALSE(test, completion_done(&md->base.detached));
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 0);

	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&md->base), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 1);
	KUNIT_EXPECT_EQ(test, user_check(test, addr, 8 * PAGE_SIZE, 63), -1);
}

static void drm_test_pagemap_evict_partial_range(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 4 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	/* Allocation larger than the range: the tail pages are never used. */
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 16, false);

	user_fill(test, addr, 4 * PAGE_SIZE, 64);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + 4 * PAGE_SIZE, 0), 0);
	KUNIT_EXPECT_EQ(test, device_pages_in_use(md), 4);
	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&md->base), 0);
	KUNIT_EXPECT_EQ(test, user_check(test, addr, 4 * PAGE_SIZE, 64), -1);
}

struct evict_thread {
	struct mock_devmem *md;
	struct task_struct *task;
	struct completion done;
	int ret;
	int releases;
};

static int evict_thread_fn(void *arg)
{
	struct evict_thread *et = arg;

	et->ret = drm_pagemap_evict_to_ram(&et->md->base);
	/* What the driver would see: may it free the allocation now? */
	et->releases = atomic_read(&et->md->vram->releases);
	complete(&et->done);

	return 0;
}

/*
 * drm_pagemap_evict_to_ram() returns only once devmem_release has returned,
 * also when another thread frees the last page: a driver may free its
 * allocation as soon as eviction returns. The test holds a reference on
 * page 0 so that no eviction pass can move it, lets a thread evict, then
 * unmaps page 0 and drops its reference while the thread waits; the release
 * hook takes 100 ms.
 */
static void drm_test_pagemap_evict_waits_for_release(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 4 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 4, false);
	struct evict_thread *et = kunit_kzalloc(test, sizeof(*et), GFP_KERNEL);
	unsigned long timeout;
	struct page *busy;

	KUNIT_ASSERT_NOT_NULL(test, et);
	user_fill(test, addr, 4 * PAGE_SIZE, 66);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + 4 * PAGE_SIZE, 0), 0);

	busy = pfn_to_page(md->pfns[0]);
	get_page(busy);
	et->md = md;
	init_completion(&et->done);
	et->task = kthread_create(evict_thread_fn, et, "drm_pagemap_evict");
	if (IS_ERR(et->task)) {
		put_page(busy);
		KUNIT_ASSERT_TRUE_MSG(test, false, "kthread_create failed");
	}
	get_task_struct(et->task);
	wake_up_process(et->task);

	/* The first pass moves pages 1 to 3; page 0 keeps it attached. */
	timeout = jiffies + 5 * HZ;
	while (device_pages_in_use(md) > 1 && time_before(jiffies, timeout))
		usleep_range(1000, 2000);
	KUNIT_EXPECT_EQ(test, device_pages_in_use(md), 1);

	vram->release_delay_ms = 100;
	KUNIT_EXPECT_EQ(test, vm_munmap(addr, PAGE_SIZE), 0);
	/* The last reference, normally: release runs on this thread. */
	put_page(busy);

	KUNIT_EXPECT_NE_MSG(test,
			    wait_for_completion_timeout(&et->done, 10 * HZ), 0,
			    "the eviction never returned");
	kthread_stop(et->task);
	put_task_struct(et->task);
	vram->release_delay_ms = 0;

	KUNIT_EXPECT_EQ(test, et->ret, 0);
	KUNIT_EXPECT_EQ_MSG(test, et->releases, 1,
			    "eviction returned before devmem_release did");
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 1);
	KUNIT_EXPECT_TRUE(test, completion_done(&md->base.detached));
	expect_state(test, addr + PAGE_SIZE, 3, 'S');
}

struct count_notifier {
	struct mmu_interval_notifier mni;
	atomic_t invalidations;
};

static bool count_invalidate(struct mmu_interval_notifier *mni,
			     const struct mmu_notifier_range *range,
			     unsigned long cur_seq)
{
	struct count_notifier *cn = container_of(mni, struct count_notifier,
						 mni);

	mmu_interval_set_seq(mni, cur_seq);
	atomic_inc(&cn->invalidations);
	return true;
}

static const struct mmu_interval_notifier_ops count_ops = {
	.invalidate = count_invalidate,
};

struct reuse_ctx {
	struct kunit *test;
	struct mock_devmem *a, *b;
	unsigned long a_addr, b_addr;
	struct count_notifier cn;
	int b_ret;
	int notifier_ret;
};

/*
 * populate_devmem_pfn hook of the eviction of allocation a: right after
 * the eviction learnt a's pfns, a's pages are all freed (a is released)
 * and the same device pages are migrated into allocation b; b's range is
 * then watched for invalidations.
 */
static void release_and_reuse(struct mock_vram *vram)
{
	struct reuse_ctx *ctx = vram->hook_data;

	vram->populate_hook = NULL;
	KUNIT_EXPECT_EQ(ctx->test, vm_munmap(ctx->a_addr, 4 * PAGE_SIZE), 0);
	memcpy(ctx->b->pfns, ctx->a->pfns, 4 * sizeof(*ctx->b->pfns));
	ctx->b_ret = mock_migrate(ctx->b, ctx->b_addr,
				  ctx->b_addr + 4 * PAGE_SIZE, 0);
	ctx->notifier_ret = mmu_interval_notifier_insert(&ctx->cn.mni,
							 current->mm,
							 ctx->b_addr,
							 4 * PAGE_SIZE,
							 &count_ops);
}

/*
 * An allocation released while it is being evicted, its device pages
 * reused by another allocation before the first pass: the eviction
 * returns 0 without touching the other allocation's pages (no
 * invalidation of its range, no WARN), which stay in device memory.
 */
static void drm_test_pagemap_evict_released_and_reused(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	struct reuse_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	bool warned = test_taint(TAINT_WARN);
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->test = test;
	ctx->a_addr = test_mmap(test, 0, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE);
	ctx->b_addr = test_mmap(test, 0, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE);
	ctx->a = mock_devmem_alloc(test, vram, 4, false);
	/* Its own pfns are replaced by a's in the hook. */
	ctx->b = mock_devmem_alloc(test, vram, 4, false);
	ctx->notifier_ret = -EINVAL;
	user_fill(test, ctx->a_addr, 4 * PAGE_SIZE, 67);
	user_fill(test, ctx->b_addr, 4 * PAGE_SIZE, 68);
	KUNIT_ASSERT_EQ(test, mock_migrate(ctx->a, ctx->a_addr,
					   ctx->a_addr + 4 * PAGE_SIZE, 0), 0);

	vram->hook_data = ctx;
	vram->populate_hook = release_and_reuse;
	ret = drm_pagemap_evict_to_ram(&ctx->a->base);
	vram->populate_hook = NULL;

	if (!ctx->notifier_ret)
		mmu_interval_notifier_remove(&ctx->cn.mni);

	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_ASSERT_EQ(test, ctx->b_ret, 0);
	KUNIT_ASSERT_EQ(test, ctx->notifier_ret, 0);
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&ctx->cn.invalidations), 0,
			    "the eviction of a collected b's pages");
	if (!warned)
		KUNIT_EXPECT_FALSE_MSG(test, test_taint(TAINT_WARN),
				       "the eviction warned");
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_calls), 0);
	expect_state(test, ctx->b_addr, 4, 'D');
	KUNIT_EXPECT_EQ(test, user_check(test, ctx->b_addr, 4 * PAGE_SIZE, 68),
			-1);
}

/* How long the racing CPU fault holds its pages once eviction copied. */
#define EVICT_RACE_HOLD_MS	50

/**
 * struct evict_race - A CPU fault racing with an eviction
 * @mm: The address space the toucher faults in.
 * @addr: Start of the allocation's range.
 * @npages: Pages of the range; the first half is RW data, the second RO.
 * @seed: Pattern of the first half.
 * @task: The toucher.
 * @held: Its first CPU fault holds its pages, in copy_to_ram.
 * @copied: The eviction reached copy_to_ram: its first pass collected.
 * @done: The toucher is finished.
 * @evicted: Set by the eviction's copy_to_ram.
 * @stop: Tells the toucher to finish.
 * @rounds: Passes of the toucher over the range.
 * @wrong: 1 + the first page the toucher read wrong data from, or 0.
 * @err: Error of a CPU access of the toucher.
 */
struct evict_race {
	struct mm_struct *mm;
	unsigned long addr;
	unsigned long npages;
	u32 seed;
	struct task_struct *task;
	struct completion held;
	struct completion copied;
	struct completion done;
	bool evicted;
	bool stop;
	unsigned int rounds;
	unsigned long wrong;
	int err;
};

/* Reads every page of the range again and again, faulting them back. */
static int evict_race_toucher(void *arg)
{
	struct evict_race *er = arg;
	unsigned long i;

	kthread_use_mm(er->mm);
	while (!READ_ONCE(er->stop) && !er->err && !er->wrong &&
	       er->rounds < 100000) {
		for (i = 0; i < er->npages && !er->err && !er->wrong; i++) {
			unsigned long off = i << PAGE_SHIFT;
			u32 v;

			if (get_user(v, (u32 __user *)(er->addr + off)))
				er->err = -EFAULT;
			else if (v != (i < er->npages / 2 ?
				       pattern_word(off, er->seed) : 0))
				er->wrong = i + 1;
		}
		er->rounds++;
		usleep_range(100, 200);
	}
	kthread_unuse_mm(er->mm);
	complete(&er->done);

	return 0;
}

/*
 * copy_to_ram hook. The toucher's first CPU fault has collected (locked)
 * the pages of its VMA: it waits until the eviction collected the others
 * and reached its own copy, then EVICT_RACE_HOLD_MS more, far longer than
 * the first eviction pass waits for the allocation to detach.
 */
static void hold_fault_across_pass(struct mock_vram *vram)
{
	struct evict_race *er = vram->hook_data;

	if (current != er->task) {
		WRITE_ONCE(er->evicted, true);
		complete(&er->copied);
		return;
	}
	if (completion_done(&er->held))
		return;
	complete(&er->held);
	wait_for_completion_timeout(&er->copied, 10 * HZ);
	msleep(EVICT_RACE_HOLD_MS);
}

/*
 * Eviction racing with CPU faults: a thread reads the pages of an
 * allocation over and over while this one evicts it. The allocation spans
 * two VMAs (RW data, then RO zeroes), so the first CPU fault moves back
 * only the first VMA's pages; its migration is held in its copy until the
 * eviction's first pass has moved the other VMA's pages (it skipped the
 * pages the fault holds locked), and for EVICT_RACE_HOLD_MS more. Eviction
 * must not give up after that first pass: it keeps waiting and retrying
 * until the fault moved its pages and the allocation detached, returns 0,
 * and every read saw the right data.
 */
static void drm_test_pagemap_evict_races_cpu_fault(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 16 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	unsigned long mid = addr + 8 * PAGE_SIZE;
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 16, false);
	struct evict_race *er = kunit_kzalloc(test, sizeof(*er), GFP_KERNEL);
	bool held;
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, er);
	/* RW | RO: two VMAs that cannot merge. */
	KUNIT_ASSERT_EQ(test, test_mmap(test, mid, 8 * PAGE_SIZE, PROT_READ,
					MAP_PRIVATE | MAP_FIXED), mid);
	user_fill(test, addr, 8 * PAGE_SIZE, 69);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + 16 * PAGE_SIZE, 0),
			0);
	expect_state(test, addr, 16, 'D');

	er->mm = current->mm;
	er->addr = addr;
	er->npages = 16;
	er->seed = 69;
	init_completion(&er->held);
	init_completion(&er->copied);
	init_completion(&er->done);
	mmget(er->mm);
	er->task = kthread_create(evict_race_toucher, er, "drm_pagemap_touch");
	if (IS_ERR(er->task)) {
		mmput(er->mm);
		KUNIT_ASSERT_TRUE_MSG(test, false, "kthread_create failed");
	}
	get_task_struct(er->task);
	vram->hook_data = er;
	vram->to_ram_hook = hold_fault_across_pass;
	wake_up_process(er->task);

	held = wait_for_completion_timeout(&er->held, 10 * HZ);
	ret = held ? drm_pagemap_evict_to_ram(&md->base) : -ETIME;

	WRITE_ONCE(er->stop, true);
	complete(&er->copied);
	KUNIT_EXPECT_NE_MSG(test,
			    wait_for_completion_timeout(&er->done, 10 * HZ), 0,
			    "the toucher never finished");
	kthread_stop(er->task);
	put_task_struct(er->task);
	mmput(er->mm);
	vram->to_ram_hook = NULL;

	KUNIT_ASSERT_TRUE_MSG(test, held, "the CPU fault never reached its copy");
	KUNIT_EXPECT_TRUE_MSG(test, READ_ONCE(er->evicted),
			      "the eviction copied nothing while the fault held");
	KUNIT_EXPECT_EQ_MSG(test, ret, 0,
			    "eviction gave up while a CPU fault held pages");
	KUNIT_EXPECT_TRUE(test, completion_done(&md->base.detached));
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 1);
	KUNIT_EXPECT_EQ(test, device_pages_in_use(md), 0);
	KUNIT_EXPECT_EQ(test, er->err, 0);
	KUNIT_EXPECT_EQ_MSG(test, er->wrong, 0UL,
			    "the CPU read wrong data at page %lu",
			    er->wrong - 1);
	KUNIT_EXPECT_GT(test, er->rounds, 0U);
	expect_state(test, addr, 16, 'S');
	KUNIT_EXPECT_EQ(test, user_check(test, addr, 8 * PAGE_SIZE, 69), -1);
	KUNIT_EXPECT_EQ(test, user_check(test, mid, 8 * PAGE_SIZE, 0), -1);
}

/* --- teardown with data on the device --- */

static void drm_test_pagemap_fini_with_pages(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 16 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct mock_devmem *a = mock_devmem_alloc(test, vram, 8, false);
	struct mock_devmem *b = mock_devmem_alloc(test, vram, 8, true);

	user_fill(test, addr, 16 * PAGE_SIZE, 71);
	KUNIT_ASSERT_EQ(test, mock_migrate(a, addr, addr + 8 * PAGE_SIZE, 0), 0);
	KUNIT_ASSERT_EQ(test, mock_migrate(b, addr + 8 * PAGE_SIZE,
					   addr + 16 * PAGE_SIZE, 0), 0);
	expect_state(test, addr, 16, 'D');

	kunit_release_action(test, drm_pagemap_fini_action, &vram->dpagemap);
	KUNIT_EXPECT_NULL(test, vram->dpagemap.res);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_pages), 16);
	expect_state(test, addr, 16, 'S');
	KUNIT_EXPECT_EQ(test, user_check(test, addr, 16 * PAGE_SIZE, 71), -1);
}

/* --- DMA mappings --- */

/*
 * Every system page the helpers DMA-map for a copy is unmapped after it:
 * the sources of a migration to device memory and the zeroed page of its
 * empty entries, the destinations of a CPU fault and of an eviction, when
 * the copy succeeds and when it fails. Then the pagemap is torn down and
 * the device unregistered: dma-debug reports any mapping still live, with
 * a warning, which this case expects not to see.
 */
static void drm_test_pagemap_dma_unmapped(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	bool warned = test_taint(TAINT_WARN);
	unsigned long addr;
	struct mock_devmem *md;
	u32 v;

	if (!pagemap_test_watch_dma(vram->dev))
		kunit_skip(test, "needs CONFIG_DMA_API_DEBUG and the tests built in");

	addr = test_mmap(test, 0, 8 * PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE);
	md = mock_devmem_alloc(test, vram, 8, false);
	user_fill(test, addr, 4 * PAGE_SIZE, 52);	/* 4 pages empty */

	vram->fail_to_dev = -EIO;
	atomic_set(&vram->fail_to_dev_count, 1);
	KUNIT_EXPECT_EQ(test, mock_migrate(md, addr, addr + 8 * PAGE_SIZE, 0),
			-EIO);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + 8 * PAGE_SIZE, 0),
			0);
	KUNIT_EXPECT_EQ(test, user_check(test, addr, 4 * PAGE_SIZE, 52), -1);
	KUNIT_EXPECT_EQ(test, user_check(test, addr + 4 * PAGE_SIZE,
					 4 * PAGE_SIZE, 0), -1);

	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + 8 * PAGE_SIZE, 0),
			0);
	vram->fail_to_ram = -EIO;
	atomic_set(&vram->fail_to_ram_count, 1);
	KUNIT_EXPECT_EQ(test, user_touch(addr, &v), -EFAULT);
	vram->fail_to_ram = -ETIMEDOUT;
	atomic_set(&vram->fail_to_ram_count, 1);
	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&md->base), -ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&md->base), 0);
	KUNIT_EXPECT_EQ(test, user_check(test, addr, 4 * PAGE_SIZE, 52), -1);

	kunit_release_action(test, drm_pagemap_fini_action, &vram->dpagemap);
	drm_kunit_helper_free_device(test, vram->dev);
	if (!warned)
		KUNIT_EXPECT_FALSE_MSG(test, test_taint(TAINT_WARN),
				       "a DMA mapping outlived its copy (dma-debug report above)");
}

/* --- populate_mm --- */

static void drm_test_pagemap_populate_mm(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 8 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	int ret;

	user_fill(test, addr, 8 * PAGE_SIZE, 81);
	ret = drm_pagemap_populate_mm(&vram->dpagemap, addr,
				      addr + 8 * PAGE_SIZE, current->mm, 0);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_ASSERT_NOT_NULL(test, vram->last_populated);
	ret = kunit_add_action_or_reset(test, mock_devmem_put_action,
					vram->last_populated);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->populate_calls), 1);
	expect_state(test, addr, 8, 'D');
	KUNIT_EXPECT_EQ(test, user_check(test, addr, 8 * PAGE_SIZE, 81), -1);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 1);
}

static void drm_test_pagemap_populate_mm_errors(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	struct drm_pagemap_ops no_populate = mock_dpagemap_ops;
	const struct drm_pagemap_ops *saved = vram->dpagemap.ops;
	unsigned long addr = test_mmap(test, 0, 2 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct mm_struct *mm = current->mm;

	KUNIT_EXPECT_EQ(test, drm_pagemap_populate_mm(NULL, addr,
						      addr + PAGE_SIZE, mm, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_populate_mm(&vram->dpagemap, addr,
						      addr + PAGE_SIZE, NULL, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_populate_mm(&vram->dpagemap,
						      addr + PAGE_SIZE, addr,
						      mm, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_populate_mm(&vram->dpagemap, addr + 8,
						      addr + PAGE_SIZE, mm, 0),
			-EINVAL);

	no_populate.populate_mm = NULL;
	vram->dpagemap.ops = &no_populate;
	KUNIT_EXPECT_EQ(test, drm_pagemap_populate_mm(&vram->dpagemap, addr,
						      addr + PAGE_SIZE, mm, 0),
			-EOPNOTSUPP);
	vram->dpagemap.ops = saved;

	/* The driver's error comes back: here no VMA at all. */
	KUNIT_ASSERT_EQ(test, vm_munmap(addr, 2 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, drm_pagemap_populate_mm(&vram->dpagemap, addr,
						      addr + PAGE_SIZE, mm, 0),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->populate_calls), 1);
}

/* --- a CPU fault racing with a migration --- */

struct fault_thread {
	struct mm_struct *mm;
	unsigned long addr;
	struct task_struct *task;
	struct completion started;
	struct completion done;
	int ret;
	u32 value;
};

static int fault_thread_fn(void *arg)
{
	struct fault_thread *ft = arg;

	kthread_use_mm(ft->mm);
	complete(&ft->started);
	ft->ret = get_user(ft->value, (u32 __user *)ft->addr);
	kthread_unuse_mm(ft->mm);
	complete(&ft->done);

	return 0;
}

/* Called from copy_to_devmem: the source pages are locked and unmapped. */
static void start_racing_fault(struct mock_vram *vram)
{
	struct fault_thread *ft = vram->hook_data;

	vram->to_dev_hook = NULL;
	wake_up_process(ft->task);
	wait_for_completion(&ft->started);
	/* Give it time to reach the migration entry and block there. */
	msleep(50);
	KUNIT_EXPECT_FALSE_MSG(vram->test, completion_done(&ft->done),
			       "the racing access must wait for the migration");
}

static void drm_test_pagemap_concurrent_fault(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, 8 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 8, false);
	struct fault_thread *ft = kunit_kzalloc(test, sizeof(*ft), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ft);
	user_fill(test, addr, 8 * PAGE_SIZE, 91);

	ft->mm = current->mm;
	ft->addr = addr + 5 * PAGE_SIZE;
	init_completion(&ft->started);
	init_completion(&ft->done);
	mmget(ft->mm);
	ft->task = kthread_create(fault_thread_fn, ft, "drm_pagemap_fault");
	if (IS_ERR(ft->task)) {
		mmput(ft->mm);
		KUNIT_ASSERT_TRUE_MSG(test, false, "kthread_create failed");
	}
	get_task_struct(ft->task);

	vram->hook_data = ft;
	vram->to_dev_hook = start_racing_fault;
	KUNIT_EXPECT_EQ(test, mock_migrate(md, addr, addr + 8 * PAGE_SIZE, 0), 0);

	KUNIT_EXPECT_NE_MSG(test,
			    wait_for_completion_timeout(&ft->done, 10 * HZ), 0,
			    "the racing fault never completed");
	kthread_stop(ft->task);
	put_task_struct(ft->task);
	mmput(ft->mm);

	KUNIT_EXPECT_EQ(test, ft->ret, 0);
	KUNIT_EXPECT_EQ(test, ft->value, pattern_word(5 * PAGE_SIZE, 91));
	KUNIT_EXPECT_EQ(test, user_check(test, addr, 8 * PAGE_SIZE, 91), -1);
	expect_state(test, addr, 8, 'S');
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 1);
}

/* --- device-coherent memory --- */

/*
 * A second mock device of the case, whose memory is MEMORY_DEVICE_COHERENT
 * at coherent_base: device page i is its own backing. Skips the case
 * without a reserved range.
 */
static struct mock_vram *coherent_vram(struct kunit *test)
{
	struct mock_vram *priv = test->priv;
	unsigned long npages = MOCK_VRAM_SIZE >> PAGE_SHIFT, i, base;
	struct mock_vram *vram;
	int ret;

	if (!coherent_base)
		kunit_skip(test, "no reserved range (drm_pagemap_test.coherent_base=)");
	/* Never memory the kernel uses: only a range the firmware reserved. */
	if (region_intersects(coherent_base, MOCK_VRAM_SIZE, IORESOURCE_MEM,
			      IORES_DESC_RESERVED) != REGION_INTERSECTS)
		kunit_skip(test, "coherent_base=%#lx is not reserved memory",
			   coherent_base);

	vram = mock_vram_alloc(test, priv->dev, true);
	ret = drm_pagemap_init_coherent(&vram->dpagemap, vram->dev,
					coherent_base, MOCK_VRAM_SIZE, vram,
					&mock_dpagemap_ops);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "drm_pagemap_init_coherent() failed");
	ret = kunit_add_action_or_reset(test, drm_pagemap_fini_action,
					&vram->dpagemap);
	KUNIT_ASSERT_EQ(test, ret, 0);

	base = drm_pagemap_base_pfn(&vram->dpagemap);
	for (i = 0; i < npages; i++) {
		vram->backing[i] = pfn_to_page(base + i);
		memset(page_address(vram->backing[i]), MOCK_GARBAGE, PAGE_SIZE);
	}

	return vram;
}

static void drm_test_pagemap_coherent_init_fini(struct kunit *test)
{
	struct mock_vram *vram = coherent_vram(test);
	struct drm_pagemap *dpagemap = &vram->dpagemap;
	struct drm_pagemap *dp = kunit_kzalloc(test, sizeof(*dp), GFP_KERNEL);
	resource_size_t ram;
	struct page *page;

	KUNIT_ASSERT_NOT_NULL(test, dp);
	KUNIT_EXPECT_EQ(test, drm_pagemap_npages(dpagemap),
			MOCK_VRAM_SIZE >> PAGE_SHIFT);
	KUNIT_EXPECT_EQ(test, dpagemap->pagemap.type, MEMORY_DEVICE_COHERENT);
	KUNIT_EXPECT_EQ(test, drm_pagemap_base_pfn(dpagemap),
			PHYS_PFN(coherent_base));
	page = pfn_to_page(drm_pagemap_base_pfn(dpagemap));
	KUNIT_EXPECT_TRUE(test, is_device_coherent_page(page));
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 0);
	/* Not in use: no allocation behind it. */
	KUNIT_EXPECT_NULL(test, drm_pagemap_page_to_dpagemap(page));

	/* The range is taken, a second registration is refused. */
	KUNIT_EXPECT_EQ(test, drm_pagemap_init_coherent(dp, vram->dev,
							coherent_base, SZ_2M,
							vram, NULL), -EBUSY);
	KUNIT_EXPECT_NULL(test, dp->res);
	/* System RAM is never device memory. */
	ram = ALIGN_DOWN(page_to_phys(virt_to_page(dp)), SZ_2M);
	KUNIT_EXPECT_EQ(test, drm_pagemap_init_coherent(dp, vram->dev, ram,
							SZ_2M, vram, NULL), -ENXIO);
	KUNIT_EXPECT_EQ(test, drm_pagemap_init_coherent(dp, vram->dev,
							coherent_base + SZ_4K,
							SZ_2M, vram, NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_init_coherent(dp, vram->dev,
							coherent_base, SZ_64K,
							vram, NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_init_coherent(dp, vram->dev,
							-(resource_size_t)SZ_2M,
							SZ_4M, vram, NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_init_coherent(dp, NULL, coherent_base,
							SZ_2M, vram, NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_init_coherent(dp, vram->dev,
							coherent_base, SZ_2M,
							NULL, NULL), -EINVAL);
	KUNIT_EXPECT_NULL(test, dp->res);
	drm_pagemap_fini(dp);

	drm_pagemap_fini(dpagemap);
	KUNIT_EXPECT_NULL(test, dpagemap->res);
	/* Released: the range can be registered again. */
	KUNIT_EXPECT_EQ(test, drm_pagemap_init_coherent(dp, vram->dev,
							coherent_base, SZ_2M,
							vram, NULL), 0);
	drm_pagemap_fini(dp);
}

/*
 * Migrate 64 KiB into coherent memory: the CPU then reads and writes the
 * device pages in place, with no fault and no copy back; an explicit
 * migration brings everything, CPU writes included, back to RAM.
 */
static void drm_test_pagemap_coherent_cpu_in_place(struct kunit *test)
{
	struct mock_vram *vram = coherent_vram(test);
	unsigned long addr = test_mmap(test, 0, SZ_64K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 16, false);
	struct mm_struct *mm = current->mm;
	struct mock_devmem *md2;
	unsigned long i;
	int ret;

	user_fill(test, addr, SZ_64K, 71);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + SZ_64K, 0), 0);
	expect_state(test, addr, 16, 'C');
	for (i = 0; i < 16; i++)
		if (!devmem_matches(md, i, i << PAGE_SHIFT, 71))
			break;
	KUNIT_EXPECT_EQ_MSG(test, i, 16, "device copy wrong at page %lu", i);
	KUNIT_EXPECT_PTR_EQ(test,
			    drm_pagemap_page_to_dpagemap(pfn_to_page(md->pfns[0])),
			    &vram->dpagemap);

	/* Reads and writes in place: nothing moves. */
	KUNIT_EXPECT_EQ(test, user_check(test, addr, SZ_64K, 71), -1);
	user_fill(test, addr, SZ_64K, 72);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_calls), 0);
	expect_state(test, addr, 16, 'C');
	KUNIT_EXPECT_TRUE(test, devmem_matches(md, 5, 5 << PAGE_SHIFT, 72));
	KUNIT_EXPECT_FALSE(test, completion_done(&md->base.detached));

	/* Already there: a migration to more memory finds nothing to move. */
	md2 = mock_devmem_alloc(test, vram, 16, false);
	KUNIT_EXPECT_EQ(test, mock_migrate(md2, addr, addr + SZ_64K, 0), -EBUSY);
	KUNIT_EXPECT_EQ(test, device_pages_in_use(md2), 0);

	mmap_read_lock(mm);
	ret = drm_pagemap_migrate_range_to_ram(mm, addr, addr + SZ_64K, vram);
	mmap_read_unlock(mm);
	KUNIT_EXPECT_EQ_MSG(test, ret, 16, "the pages that moved");
	expect_state(test, addr, 16, 'S');
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_pages), 16);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_calls), 1);
	KUNIT_EXPECT_EQ(test, user_check(test, addr, SZ_64K, 72), -1);
	KUNIT_EXPECT_TRUE(test, completion_done(&md->base.detached));
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 1);
	KUNIT_EXPECT_EQ(test, device_pages_in_use(md), 0);
}

/* Private pages go back the same way, without a CPU fault. */
static void drm_test_pagemap_migrate_range_to_ram_private(struct kunit *test)
{
	struct mock_vram *vram = test->priv;
	unsigned long addr = test_mmap(test, 0, SZ_64K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 16, false);
	struct mm_struct *mm = current->mm;
	int ret;

	user_fill(test, addr, SZ_64K, 73);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + SZ_64K, 1000), 0);
	/* Only part of it; the timeslice does not hold an explicit move. */
	mmap_read_lock(mm);
	ret = drm_pagemap_migrate_range_to_ram(mm, addr + SZ_16K,
					       addr + SZ_32K, vram);
	mmap_read_unlock(mm);
	KUNIT_EXPECT_EQ(test, ret, 4);
	expect_state(test, addr, 4, 'D');
	expect_state(test, addr + SZ_16K, 4, 'S');
	expect_state(test, addr + SZ_32K, 8, 'D');
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_pages), 4);

	/* Another owner's pages are not touched. */
	mmap_read_lock(mm);
	ret = drm_pagemap_migrate_range_to_ram(mm, addr, addr + SZ_64K, md);
	mmap_read_unlock(mm);
	KUNIT_EXPECT_EQ_MSG(test, ret, 0, "nothing of that owner to move");
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_pages), 4);

	/* A failing copy keeps the data on the device. */
	vram->fail_to_ram = -EIO;
	atomic_set(&vram->fail_to_ram_count, 1);
	mmap_read_lock(mm);
	ret = drm_pagemap_migrate_range_to_ram(mm, addr, addr + SZ_64K, vram);
	mmap_read_unlock(mm);
	KUNIT_EXPECT_EQ(test, ret, -EIO);
	expect_state(test, addr, 4, 'D');

	mmap_read_lock(mm);
	ret = drm_pagemap_migrate_range_to_ram(mm, addr, addr + SZ_64K, vram);
	KUNIT_EXPECT_EQ(test, drm_pagemap_migrate_range_to_ram(mm, addr + 1,
							       addr + SZ_64K,
							       vram), -EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_migrate_range_to_ram(mm, addr, addr,
							       vram), -EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_migrate_range_to_ram(mm, addr,
							       addr + SZ_64K,
							       NULL), -EINVAL);
	mmap_read_unlock(mm);
	KUNIT_EXPECT_EQ_MSG(test, ret, 4, "what the failed copy left");
	expect_state(test, addr, 16, 'S');
	KUNIT_EXPECT_EQ(test, user_check(test, addr, SZ_64K, 73), -1);
	KUNIT_EXPECT_EQ(test, device_pages_in_use(md), 0);
}

/* Eviction finds coherent pages through their pfns, as private ones. */
static void drm_test_pagemap_coherent_evict(struct kunit *test)
{
	struct mock_vram *vram = coherent_vram(test);
	unsigned long addr = test_mmap(test, 0, SZ_64K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 16, true);

	user_fill(test, addr, SZ_64K, 74);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + SZ_64K, 0), 0);
	/* The CPU rewrites it in place before the eviction. */
	user_fill(test, addr, SZ_64K, 75);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_calls), 0);

	/* A failed copy leaves every page in place, readable and intact. */
	vram->fail_to_ram = -EIO;
	atomic_set(&vram->fail_to_ram_count, 16);
	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&md->base), -EIO);
	atomic_set(&vram->fail_to_ram_count, 0);
	KUNIT_EXPECT_FALSE(test, completion_done(&md->base.detached));
	expect_state(test, addr, 16, 'C');
	KUNIT_EXPECT_EQ(test, user_check(test, addr, SZ_64K, 75), -1);

	KUNIT_EXPECT_EQ(test, drm_pagemap_evict_to_ram(&md->base), 0);
	KUNIT_EXPECT_TRUE(test, completion_done(&md->base.detached));
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_pages), 16);
	KUNIT_EXPECT_EQ(test, device_pages_in_use(md), 0);
	expect_state(test, addr, 16, 'S');
	KUNIT_EXPECT_EQ(test, user_check(test, addr, SZ_64K, 75), -1);
}

/*
 * A long-term pin must not keep device memory: the core mm moves the page
 * to system memory itself (a CPU copy) before pinning it.
 */
static void drm_test_pagemap_coherent_longterm_pin(struct kunit *test)
{
	struct mock_vram *vram = coherent_vram(test);
	unsigned long addr = test_mmap(test, 0, SZ_16K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 4, false);
	struct page *page = NULL;
	long pinned;

	user_fill(test, addr, SZ_16K, 76);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + SZ_16K, 0), 0);
	expect_state(test, addr, 4, 'C');

	pinned = pin_user_pages_fast(addr + PAGE_SIZE, 1,
				     FOLL_WRITE | FOLL_LONGTERM, &page);
	KUNIT_ASSERT_EQ(test, pinned, 1);
	KUNIT_EXPECT_FALSE(test, is_zone_device_page(page));
	unpin_user_page(page);

	expect_state(test, addr, 1, 'C');
	expect_state(test, addr + PAGE_SIZE, 1, 'S');
	expect_state(test, addr + SZ_8K, 2, 'C');
	KUNIT_EXPECT_EQ(test, user_check(test, addr, SZ_16K, 76), -1);
	/* The core mm copied it: no hook ran. */
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_calls), 0);
}

/*
 * Coherent pages are ordinary pages to the core mm: references taken by
 * get_user_pages() do not move them, writes go in place, and the pages
 * (and the allocation) are freed when the last reference goes, not at
 * munmap().
 */
static void drm_test_pagemap_coherent_gup_refs(struct kunit *test)
{
	struct mock_vram *vram = coherent_vram(test);
	unsigned long addr = test_mmap(test, 0, SZ_16K, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE);
	struct mock_devmem *md = mock_devmem_alloc(test, vram, 4, false);
	struct mm_struct *mm = current->mm;
	struct page *pages[4];
	long got, i;

	user_fill(test, addr, SZ_16K, 77);
	KUNIT_ASSERT_EQ(test, mock_migrate(md, addr, addr + SZ_16K, 0), 0);

	mmap_read_lock(mm);
	got = get_user_pages(addr, 4, FOLL_WRITE, pages);
	mmap_read_unlock(mm);
	KUNIT_ASSERT_EQ(test, got, 4);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_TRUE(test, is_device_coherent_page(pages[i]));
	user_fill(test, addr, SZ_16K, 78);
	KUNIT_EXPECT_TRUE(test, devmem_matches(md, 2, 2 << PAGE_SHIFT, 78));

	vm_munmap(addr, SZ_16K);
	KUNIT_EXPECT_FALSE(test, completion_done(&md->base.detached));
	for (i = 0; i < 4; i++)
		put_page(pages[i]);
	KUNIT_EXPECT_TRUE(test, completion_done(&md->base.detached));
	KUNIT_EXPECT_EQ(test, device_pages_in_use(md), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->releases), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&vram->to_ram_calls), 0);
}

struct cpu_writer {
	struct mm_struct *mm;
	unsigned long addr;
	unsigned long npages;
	struct task_struct *task;
	u32 last;
	int bad;
};

/* Write increasing values to each page and read them back, until stopped. */
static int cpu_writer_fn(void *arg)
{
	struct cpu_writer *w = arg;
	unsigned long i;
	u32 v, got;

	kthread_use_mm(w->mm);
	for (v = 1; !kthread_should_stop(); v++) {
		for (i = 0; i < w->npages; i++) {
			u32 __user *p = (u32 __user *)(w->addr + i * PAGE_SIZE);

			if (put_user(v, p) || get_user(got, p) || got != v)
				w->bad++;
		}
		WRITE_ONCE(w->last, v);
		cond_resched();
	}
	kthread_unuse_mm(w->mm);

	return 0;
}

/*
 * The CPU keeps writing to coherent memory while the pages move to the
 * device and back: every write lands, whichever side of a move it hits.
 */
static void drm_test_pagemap_coherent_race_cpu_writes(struct kunit *test)
{
	struct mock_vram *vram = coherent_vram(test);
	unsigned long addr = test_mmap(test, 0, 4 * PAGE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_PRIVATE);
	struct cpu_writer *w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);
	struct mm_struct *mm = current->mm;
	unsigned int round, moved = 0;
	unsigned long i;
	u32 got;

	KUNIT_ASSERT_NOT_NULL(test, w);
	user_fill(test, addr, 4 * PAGE_SIZE, 79);
	w->mm = mm;
	w->addr = addr;
	w->npages = 4;
	mmget(mm);
	w->task = kthread_run(cpu_writer_fn, w, "drm_pagemap_writer");
	if (IS_ERR(w->task)) {
		mmput(mm);
		KUNIT_ASSERT_TRUE_MSG(test, false, "kthread_run failed");
	}
	get_task_struct(w->task);

	for (round = 0; round < 40; round++) {
		struct mock_devmem *md = mock_devmem_alloc(test, vram, 4, false);
		int err = mock_migrate(md, addr, addr + 4 * PAGE_SIZE, 0);

		/* The writer may hold a page: fewer pages, or none, move. */
		KUNIT_EXPECT_TRUE_MSG(test, !err || err == -EBUSY, "err %d", err);
		moved += !err;
		mmap_read_lock(mm);
		err = drm_pagemap_migrate_range_to_ram(mm, addr,
						       addr + 4 * PAGE_SIZE,
						       vram);
		mmap_read_unlock(mm);
		KUNIT_EXPECT_TRUE_MSG(test, err >= 0 && err <= 4, "err %d", err);
	}

	kthread_stop(w->task);
	put_task_struct(w->task);
	mmput(mm);

	KUNIT_EXPECT_GT(test, moved, 0);
	KUNIT_EXPECT_GT(test, w->last, 0);
	KUNIT_EXPECT_EQ_MSG(test, w->bad, 0, "writes lost or read back wrong");
	for (i = 0; i < 4; i++) {
		KUNIT_ASSERT_EQ(test, get_user(got, (u32 __user *)(addr + i * PAGE_SIZE)), 0);
		KUNIT_EXPECT_EQ(test, got, w->last);
	}
	expect_state(test, addr, 4, 'S');
}

/* --- device-to-device migration --- */

/*
 * A second device of the case, a peer of the first (test->priv): its
 * device-private memory is registered with the same owner, so that the
 * migrations and snapshots of the case, which use that owner, see the pages
 * of both. Snapshots show the first device's pages as 'A' and the peer's
 * as 'B'; the peer notes which hook copied each of its pages (@copied_by).
 */
static struct mock_vram *peer_vram(struct kunit *test)
{
	struct mock_vram *a = test->priv, *b;
	struct device *dev;

	dev = kunit_device_register(test, "drm-pagemap-peer");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	b = mock_vram_private(test, dev, a);
	b->copied_by = kmalloc(b->npages, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, b->copied_by);
	memset(b->copied_by, '-', b->npages);
	a->name = 'A';
	b->name = 'B';

	return b;
}

/**
 * struct d2d_run - Pages a d2d case puts in device memory before it starts
 * @md: The allocation holding them.
 * @first: The index of its first page in the range.
 */
struct d2d_run {
	struct mock_devmem *md;
	unsigned long first;
};

/**
 * struct d2d - The range of a device-to-device migration case
 * @a: The case's own device, test->priv.
 * @b: Its peer (peer_vram()), where the range goes.
 * @layout: Where each page of the range starts, as snapshot() shows it:
 *	'A' or 'B' in that device's memory, 'S' in system memory, 'N' never
 *	touched. All but the 'N' pages hold data.
 * @addr: Start of the range.
 * @npages: Its length in pages.
 * @runs: The allocations the 'A' and 'B' pages were migrated into, one per
 *	run of consecutive pages.
 * @nruns: Number of @runs.
 * @dst: An allocation of @b for the whole range, not used yet.
 */
struct d2d {
	struct mock_vram *a;
	struct mock_vram *b;
	const char *layout;
	unsigned long addr;
	unsigned long npages;
	struct d2d_run *runs;
	unsigned long nruns;
	struct mock_devmem *dst;
};

#define D2D_SEED	0xd2d0

static unsigned long d2d_page(const struct d2d *d, unsigned long i)
{
	return d->addr + (i << PAGE_SHIFT);
}

/* The data of page @i: a pattern of its own, zeroes if never touched. */
static u32 d2d_seed(const struct d2d *d, unsigned long i)
{
	return d->layout[i] == 'N' ? 0 : D2D_SEED + i;
}

static unsigned long count_chars(const char *s, char c)
{
	unsigned long n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

/* Number of runs of consecutive @c in @s. */
static unsigned long count_runs(const char *s, char c)
{
	unsigned long i, n = 0;

	for (i = 0; s[i]; i++)
		n += s[i] == c && (!i || s[i - 1] != c);
	return n;
}

static void mock_vram_reset_counts(struct mock_vram *vram)
{
	atomic_set(&vram->to_dev_calls, 0);
	atomic_set(&vram->to_dev_pages, 0);
	atomic_set(&vram->to_ram_calls, 0);
	atomic_set(&vram->to_ram_pages, 0);
	atomic_set(&vram->releases, 0);
	atomic_set(&vram->peer_calls, 0);
	atomic_set(&vram->peer_pages, 0);
	atomic_set(&vram->map_calls, 0);
	atomic_set(&vram->maps, 0);
	atomic_set(&vram->unmaps, 0);
	vram->map_dev = NULL;
	vram->unmap_dev = NULL;
	if (vram->copied_by)
		memset(vram->copied_by, '-', vram->npages);
}

/* Forget what the setup, or an attempt that failed, counted. */
static void d2d_reset_counts(struct d2d *d)
{
	mock_vram_reset_counts(d->a);
	mock_vram_reset_counts(d->b);
}

static void d2d_expect_state(struct kunit *test, const struct d2d *d,
			     const char *want)
{
	char *state = kunit_kzalloc(test, d->npages + 1, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, state);
	snapshot(test, d->addr, d->npages, state);
	KUNIT_EXPECT_STREQ(test, state, want);
	kunit_kfree(test, state);
}

/*
 * Map a range laid out as @layout (see &struct d2d): fill it, migrate each
 * run of 'A' and 'B' pages into an allocation of that device, and allocate
 * the destination in @b. Counters start from zero.
 */
static struct d2d *d2d_setup(struct kunit *test, struct mock_vram *b,
			     const char *layout)
{
	struct d2d *d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);
	unsigned long i, j;

	KUNIT_ASSERT_NOT_NULL(test, d);
	d->a = test->priv;
	d->b = b;
	d->layout = layout;
	d->npages = strlen(layout);
	d->addr = test_mmap(test, 0, d->npages << PAGE_SHIFT,
			    PROT_READ | PROT_WRITE, MAP_PRIVATE);
	d->runs = kunit_kcalloc(test, d->npages, sizeof(*d->runs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d->runs);

	for (i = 0; i < d->npages; i++)
		if (layout[i] != 'N')
			user_fill(test, d2d_page(d, i), PAGE_SIZE, d2d_seed(d, i));

	for (i = 0; i < d->npages; i = j) {
		struct d2d_run *run = &d->runs[d->nruns];

		for (j = i + 1; j < d->npages && layout[j] == layout[i]; j++)
			;
		if (layout[i] != 'A' && layout[i] != 'B')
			continue;
		run->md = mock_devmem_alloc(test, layout[i] == 'A' ? d->a : b,
					    j - i, false);
		run->first = i;
		d->nruns++;
		KUNIT_ASSERT_EQ(test, mock_migrate(run->md, d2d_page(d, i),
						   d2d_page(d, j), 0), 0);
	}
	d->dst = mock_devmem_alloc(test, b, d->npages, false);

	d2d_expect_state(test, d, layout);
	d2d_reset_counts(d);
	return d;
}

/*
 * Migrate the whole range into the destination. The cases assert the
 * attempts that must fail: one that moved pages after all would leave the
 * destination in use, and the next attempt would misuse it.
 */
static int d2d_migrate(struct d2d *d, unsigned int flags)
{
	return mock_migrate_flags(d->dst, d->addr, d2d_page(d, d->npages), 0,
				  flags);
}

/* Read the range on the CPU: each page has its data. */
static void d2d_expect_data(struct kunit *test, const struct d2d *d)
{
	unsigned long i;

	for (i = 0; i < d->npages; i++)
		KUNIT_EXPECT_EQ_MSG(test, user_check(test, d2d_page(d, i),
						     PAGE_SIZE, d2d_seed(d, i)),
				    -1, "page %lu", i);
}

/*
 * After a migration into the destination failed: every page is where it
 * was, the device pages in their allocations with their data, the
 * destination is unused and every peer mapping was undone.
 */
static void d2d_expect_untouched(struct kunit *test, const struct d2d *d)
{
	unsigned long r, i;

	d2d_expect_state(test, d, d->layout);
	for (r = 0; r < d->nruns; r++) {
		const struct d2d_run *run = &d->runs[r];

		KUNIT_EXPECT_EQ(test, device_pages_in_use(run->md),
				run->md->npages);
		for (i = 0; i < run->md->npages; i++)
			KUNIT_EXPECT_TRUE_MSG(test,
					      devmem_matches(run->md, i, 0,
							     d2d_seed(d, run->first + i)),
					      "page %lu lost its data",
					      run->first + i);
	}

	KUNIT_EXPECT_EQ(test, kref_read(&d->dst->ref), 1);
	KUNIT_EXPECT_EQ(test, device_pages_in_use(d->dst), 0);
	KUNIT_EXPECT_TRUE(test, completion_done(&d->dst->base.detached));
	KUNIT_EXPECT_EQ(test, atomic_read(&d->a->releases), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->b->releases), 0);
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&d->a->unmaps),
			    atomic_read(&d->a->maps), "peer mappings left behind");
}

/*
 * After a migration with DRM_PAGEMAP_MIGRATE_PEERS succeeded: the whole
 * range is in the peer. The pages that were in the case's device came with
 * copy_peer_to_devmem, from addresses its device_map gave the peer's
 * device and that were all unmapped; those from system memory with
 * copy_to_devmem; one call per run of one kind. The pages that were in the
 * peer already stayed in their allocations. The case's device released its
 * allocations, and the CPU reads the data back from the peer.
 */
static void d2d_expect_moved(struct kunit *test, const struct d2d *d)
{
	char *want = kunit_kzalloc(test, d->npages + 1, GFP_KERNEL);
	char *got = kunit_kzalloc(test, d->npages + 1, GFP_KERNEL);
	unsigned long base = drm_pagemap_base_pfn(&d->b->dpagemap);
	struct mock_vram *a = d->a, *b = d->b;
	unsigned long i, r, npeer;

	KUNIT_ASSERT_NOT_NULL(test, want);
	KUNIT_ASSERT_NOT_NULL(test, got);
	for (i = 0; i < d->npages; i++) {
		char from = d->layout[i];

		want[i] = from == 'A' ? 'P' : from == 'B' ? '-' : 'S';
		got[i] = b->copied_by[d->dst->pfns[i] - base];
	}
	npeer = count_chars(want, 'P');

	expect_state(test, d->addr, d->npages, 'B');
	KUNIT_EXPECT_STREQ_MSG(test, got, want,
			       "copied by: P copy_peer_to_devmem, S copy_to_devmem, - none");
	for (i = 0; i < d->npages; i++)
		if (want[i] != '-')
			KUNIT_EXPECT_TRUE_MSG(test,
					      devmem_matches(d->dst, i, 0,
							     d2d_seed(d, i)),
					      "page %lu: wrong data in the peer", i);
	KUNIT_EXPECT_EQ(test, device_pages_in_use(d->dst),
			d->npages - count_chars(want, '-'));

	KUNIT_EXPECT_EQ(test, atomic_read(&b->peer_pages), npeer);
	KUNIT_EXPECT_EQ(test, atomic_read(&b->peer_calls),
			count_runs(want, 'P'));
	KUNIT_EXPECT_EQ(test, atomic_read(&b->to_dev_pages),
			count_chars(want, 'S'));
	KUNIT_EXPECT_EQ(test, atomic_read(&b->to_dev_calls),
			count_runs(want, 'S'));

	KUNIT_EXPECT_EQ(test, atomic_read(&a->map_calls), npeer);
	KUNIT_EXPECT_EQ(test, atomic_read(&a->unmaps), npeer);
	if (npeer) {
		KUNIT_EXPECT_PTR_EQ(test, a->map_dev, d->dst->base.dev);
		KUNIT_EXPECT_PTR_EQ(test, a->unmap_dev, d->dst->base.dev);
	}
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&b->map_calls), 0,
			    "the destination's own pages were mapped");

	KUNIT_EXPECT_EQ(test, atomic_read(&a->releases),
			count_runs(d->layout, 'A'));
	for (r = 0; r < d->nruns; r++) {
		struct mock_devmem *md = d->runs[r].md;
		bool moved = md->vram == a;

		KUNIT_EXPECT_EQ(test, device_pages_in_use(md),
				moved ? 0 : md->npages);
		KUNIT_EXPECT_EQ(test, completion_done(&md->base.detached), moved);
	}

	d2d_expect_data(test, d);
	KUNIT_EXPECT_EQ(test, atomic_read(&a->to_ram_calls), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&b->to_ram_pages), d->npages);
	KUNIT_EXPECT_TRUE(test, completion_done(&d->dst->base.detached));
}

/*
 * Unknown flags, and DRM_PAGEMAP_MIGRATE_PEERS for a driver without
 * copy_peer_to_devmem, are refused before anything is touched. Without
 * flags, such a driver migrates the system pages as before.
 */
static void drm_test_pagemap_d2d_bad_flags(struct kunit *test)
{
	static const unsigned int bad[] = {
		BIT(1), BIT(1) | DRM_PAGEMAP_MIGRATE_PEERS, BIT(31), ~0u,
	};
	struct d2d *d = d2d_setup(test, peer_vram(test), "AASS");
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		KUNIT_ASSERT_EQ_MSG(test, d2d_migrate(d, bad[i]), -EINVAL,
				    "flags %#x", bad[i]);
	d->dst->base.ops = &mock_devmem_ops_no_peer;
	KUNIT_ASSERT_EQ(test, d2d_migrate(d, DRM_PAGEMAP_MIGRATE_PEERS),
			-EINVAL);
	d2d_expect_untouched(test, d);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->a->map_calls), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->b->to_dev_calls), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->b->peer_calls), 0);

	KUNIT_EXPECT_EQ(test, d2d_migrate(d, 0), 0);
	d2d_expect_state(test, d, "AABB");
	KUNIT_EXPECT_EQ(test, atomic_read(&d->a->map_calls), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->b->to_dev_pages), 2);
	d2d_expect_data(test, d);
}

/*
 * A range in the memory of a peer: a migration without flags leaves it
 * there (-EBUSY); with DRM_PAGEMAP_MIGRATE_PEERS it moves, device to
 * device, without going through system memory.
 */
static void drm_test_pagemap_d2d_from_peer(struct kunit *test)
{
	struct d2d *d = d2d_setup(test, peer_vram(test), "AAAAAAAAAAAAAAAA");

	KUNIT_ASSERT_EQ(test, d2d_migrate(d, 0), -EBUSY);
	d2d_expect_untouched(test, d);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->a->map_calls), 0);

	KUNIT_EXPECT_EQ(test, d2d_migrate(d, DRM_PAGEMAP_MIGRATE_PEERS), 0);
	d2d_expect_moved(test, d);
}

/*
 * Pages of a peer (two allocations), system pages and an empty page in one
 * range: one migration moves them all, each hook call copying pages of
 * one kind.
 */
static void drm_test_pagemap_d2d_mixed(struct kunit *test)
{
	struct d2d *d = d2d_setup(test, peer_vram(test), "SAAASSAAN");

	KUNIT_EXPECT_EQ(test, d2d_migrate(d, DRM_PAGEMAP_MIGRATE_PEERS), 0);
	d2d_expect_moved(test, d);
}

/*
 * The pages already in the destination's memory stay in their
 * allocations, the others move around them.
 */
static void drm_test_pagemap_d2d_partly_local(struct kunit *test)
{
	struct d2d *d = d2d_setup(test, peer_vram(test), "AABBSSBA");

	KUNIT_EXPECT_EQ(test, d2d_migrate(d, DRM_PAGEMAP_MIGRATE_PEERS), 0);
	d2d_expect_moved(test, d);
}

/* A range already in the destination's memory: nothing to move. */
static void drm_test_pagemap_d2d_already_local(struct kunit *test)
{
	struct d2d *d = d2d_setup(test, peer_vram(test), "BBBBBBBB");

	KUNIT_EXPECT_EQ(test, d2d_migrate(d, DRM_PAGEMAP_MIGRATE_PEERS),
			-EBUSY);
	d2d_expect_untouched(test, d);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->b->map_calls), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->b->peer_calls), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->b->to_dev_calls), 0);
	d2d_expect_data(test, d);
}

/*
 * The peer copy fails after a system page was copied: every page stays
 * where it was and the next attempt, with nothing left behind, succeeds.
 */
static void drm_test_pagemap_d2d_copy_fails(struct kunit *test)
{
	struct d2d *d = d2d_setup(test, peer_vram(test), "SAAAAAAS");

	d->b->fail_peer = -EIO;
	atomic_set(&d->b->fail_peer_count, 1);
	KUNIT_ASSERT_EQ(test, d2d_migrate(d, DRM_PAGEMAP_MIGRATE_PEERS), -EIO);
	d2d_expect_untouched(test, d);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->a->maps), 6);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->b->peer_calls), 1);

	d2d_reset_counts(d);
	KUNIT_EXPECT_EQ(test, d2d_migrate(d, DRM_PAGEMAP_MIGRATE_PEERS), 0);
	d2d_expect_moved(test, d);
}

/*
 * The peer cannot map its third page for the destination: the migration
 * fails with -ENOMEM before any copy, the first two mappings undone.
 */
static void drm_test_pagemap_d2d_map_fails(struct kunit *test)
{
	struct d2d *d = d2d_setup(test, peer_vram(test), "SSAAAAAA");

	d->a->fail_map_at = 3;
	KUNIT_ASSERT_EQ(test, d2d_migrate(d, DRM_PAGEMAP_MIGRATE_PEERS),
			-ENOMEM);
	d2d_expect_untouched(test, d);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->a->maps), 2);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->b->to_dev_calls), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->b->peer_calls), 0);

	d->a->fail_map_at = 0;
	d2d_reset_counts(d);
	KUNIT_EXPECT_EQ(test, d2d_migrate(d, DRM_PAGEMAP_MIGRATE_PEERS), 0);
	d2d_expect_moved(test, d);
}

/* --- owner groups --- */

#define OWNER_TEST_PEERS	64
#define OWNER_TEST_LINKS	8

/**
 * struct owner_test - The peers of an owner group case
 * @list: Their owner list.
 * @peer: The peers; any still holding an owner is released when the case
 *	ends, whatever happened.
 * @link: Adjacency matrix for owner_test_matrix_connected().
 * @calls: Calls of owner_test_matrix_connected().
 * @unlocked_calls: Those made without the list's lock held.
 */
struct owner_test {
	struct drm_pagemap_owner_list list;
	struct drm_pagemap_peer peer[OWNER_TEST_PEERS];
	bool link[OWNER_TEST_PEERS][OWNER_TEST_PEERS];
	unsigned int calls;
	unsigned int unlocked_calls;
};

/* Releasing a peer that holds no owner does nothing: all of them can go. */
static void owner_test_release_all(struct owner_test *ot)
{
	unsigned int i;

	for (i = 0; i < OWNER_TEST_PEERS; i++)
		drm_pagemap_release_owner(&ot->peer[i]);
}

KUNIT_DEFINE_ACTION_WRAPPER(owner_test_release_action, owner_test_release_all,
			    struct owner_test *);

static struct owner_test *owner_test_alloc(struct kunit *test)
{
	struct owner_test *ot = kunit_kzalloc(test, sizeof(*ot), GFP_KERNEL);
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, ot);
	drm_pagemap_owner_list_init(&ot->list);
	ret = kunit_add_action_or_reset(test, owner_test_release_action, ot);
	KUNIT_ASSERT_EQ(test, ret, 0);

	return ot;
}

/* A link id, for &drm_pagemap_peer.private. */
static void *link_id(unsigned int id)
{
	return (void *)(unsigned long)id;
}

/* Peers with the same link id are connected; a peer is, to itself. */
static bool owner_test_same_link(struct drm_pagemap_peer *peer1,
				 struct drm_pagemap_peer *peer2)
{
	return peer1 == peer2 || peer1->private == peer2->private;
}

/*
 * Peers whose ->private is their struct owner_test are connected as its
 * matrix says; a peer is, to itself.
 */
static bool owner_test_matrix_connected(struct drm_pagemap_peer *peer1,
					struct drm_pagemap_peer *peer2)
{
	struct owner_test *ot = peer1->private;
	unsigned int i = peer1 - ot->peer, j = peer2 - ot->peer;

	ot->calls++;
	if (!mutex_is_locked(&ot->list.lock))
		ot->unlocked_calls++;

	return i == j || ot->link[i][j];
}

static void owner_test_connect(struct owner_test *ot, unsigned int i,
			       unsigned int j)
{
	ot->link[i][j] = true;
	ot->link[j][i] = true;
}

static void owner_test_acquire(struct kunit *test, struct owner_test *ot,
			       unsigned int i,
			       drm_pagemap_interconnect_fn has_interconnect)
{
	int ret;

	ret = drm_pagemap_acquire_owner(&ot->peer[i], &ot->list,
					has_interconnect);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "peer %u", i);
	KUNIT_ASSERT_NOT_NULL_MSG(test, ot->peer[i].owner, "peer %u", i);
	KUNIT_EXPECT_PTR_EQ_MSG(test, ot->peer[i].list, &ot->list, "peer %u",
				i);
}

static void owner_test_release(struct kunit *test, struct owner_test *ot,
			       unsigned int i)
{
	drm_pagemap_release_owner(&ot->peer[i]);
	KUNIT_EXPECT_NULL_MSG(test, ot->peer[i].owner, "peer %u", i);
	KUNIT_EXPECT_NULL_MSG(test, ot->peer[i].list, "peer %u", i);
}

/* Among the first @n peers, two share an owner iff they share a link id. */
static void expect_owners_follow_links(struct kunit *test,
				       struct owner_test *ot, unsigned int n)
{
	unsigned int i, j, bad = 0, bad_i = 0, bad_j = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			bool same_owner = ot->peer[i].owner == ot->peer[j].owner;
			bool same_link = ot->peer[i].private ==
					 ot->peer[j].private;

			if (!ot->peer[i].owner || same_owner != same_link) {
				if (!bad++) {
					bad_i = i;
					bad_j = j;
				}
			}
		}
	}
	KUNIT_EXPECT_EQ_MSG(test, bad, 0,
			    "%u pairs wrong among %u peers, first %u and %u",
			    bad, n, bad_i, bad_j);
}

/*
 * Connected peers share an owner: with link ids 1, 1 and 2, peers 0 and 1
 * get the same owner and peer 2, connected to neither, one of its own.
 */
static void drm_test_pagemap_owner_connected_share(struct kunit *test)
{
	struct owner_test *ot = owner_test_alloc(test);
	struct drm_pagemap_peer *p = ot->peer;
	unsigned int i;

	p[0].private = link_id(1);
	p[1].private = link_id(1);
	p[2].private = link_id(2);
	for (i = 0; i < 3; i++)
		owner_test_acquire(test, ot, i, owner_test_same_link);

	KUNIT_EXPECT_PTR_EQ(test, p[0].owner, p[1].owner);
	KUNIT_EXPECT_PTR_NE(test, p[2].owner, p[0].owner);
	KUNIT_EXPECT_EQ(test, list_count_nodes(&ot->list.peers), 3);
	/* ->private is the driver's: left alone. */
	KUNIT_EXPECT_PTR_EQ(test, p[0].private, link_id(1));
	KUNIT_EXPECT_PTR_EQ(test, p[2].private, link_id(2));

	for (i = 0; i < 3; i++)
		owner_test_release(test, ot, i);
	KUNIT_EXPECT_TRUE(test, list_empty(&ot->list.peers));
}

/*
 * A peer joins a group only if it reaches every member: with A-B and B-C
 * connected but not A-C, C does not join A and B; D, connected to C only,
 * joins C. E reaches a member of each group but not all of either: a group
 * of its own. F reaches everyone: it joins the first group, A's. The
 * callback runs under the list's lock.
 */
static void drm_test_pagemap_owner_group_needs_all(struct kunit *test)
{
	enum { A, B, C, D, E, F, N };
	struct owner_test *ot = owner_test_alloc(test);
	struct drm_pagemap_peer *p = ot->peer;
	unsigned int i;

	for (i = 0; i < N; i++)
		p[i].private = ot;
	owner_test_connect(ot, A, B);
	owner_test_connect(ot, B, C);
	owner_test_connect(ot, C, D);
	owner_test_connect(ot, B, E);
	owner_test_connect(ot, C, E);
	for (i = 0; i < N; i++)
		if (i != F)
			owner_test_connect(ot, F, i);

	owner_test_acquire(test, ot, A, owner_test_matrix_connected);
	owner_test_acquire(test, ot, B, owner_test_matrix_connected);
	owner_test_acquire(test, ot, C, owner_test_matrix_connected);
	KUNIT_EXPECT_PTR_EQ(test, p[A].owner, p[B].owner);
	KUNIT_EXPECT_PTR_NE(test, p[C].owner, p[A].owner);

	owner_test_acquire(test, ot, D, owner_test_matrix_connected);
	KUNIT_EXPECT_PTR_EQ(test, p[D].owner, p[C].owner);
	KUNIT_EXPECT_PTR_NE(test, p[D].owner, p[A].owner);

	owner_test_acquire(test, ot, E, owner_test_matrix_connected);
	KUNIT_EXPECT_PTR_NE(test, p[E].owner, p[A].owner);
	KUNIT_EXPECT_PTR_NE(test, p[E].owner, p[C].owner);

	owner_test_acquire(test, ot, F, owner_test_matrix_connected);
	KUNIT_EXPECT_PTR_EQ(test, p[F].owner, p[A].owner);

	/* Nobody moved when others joined. */
	KUNIT_EXPECT_PTR_EQ(test, p[B].owner, p[A].owner);
	KUNIT_EXPECT_PTR_EQ(test, p[D].owner, p[C].owner);
	KUNIT_EXPECT_EQ(test, list_count_nodes(&ot->list.peers), N);
	KUNIT_EXPECT_GT(test, ot->calls, 0);
	KUNIT_EXPECT_EQ(test, ot->unlocked_calls, 0);

	for (i = 0; i < N; i++)
		owner_test_release(test, ot, i);
	KUNIT_EXPECT_TRUE(test, list_empty(&ot->list.peers));
}

/*
 * An owner lives as long as a member holds it: the member left keeps it,
 * and a peer connected to that member joins it. Once the whole group is
 * gone a new peer gets a fresh owner (the allocator may hand out the old
 * address again), and a released peer can acquire again. Releasing a peer
 * that holds no owner, or NULL, does nothing.
 */
static void drm_test_pagemap_owner_release_reacquire(struct kunit *test)
{
	struct owner_test *ot = owner_test_alloc(test);
	struct drm_pagemap_peer *p = ot->peer;
	struct drm_pagemap_owner *owner1, *owner2;
	unsigned int i;

	for (i = 0; i < 6; i++)
		p[i].private = link_id(i == 2 ? 2 : 1);
	for (i = 0; i < 3; i++)
		owner_test_acquire(test, ot, i, owner_test_same_link);
	owner1 = p[0].owner;
	owner2 = p[2].owner;
	KUNIT_EXPECT_PTR_EQ(test, p[1].owner, owner1);

	owner_test_release(test, ot, 0);
	KUNIT_EXPECT_PTR_EQ(test, p[1].owner, owner1);
	KUNIT_EXPECT_PTR_EQ(test, p[2].owner, owner2);
	KUNIT_EXPECT_EQ(test, list_count_nodes(&ot->list.peers), 2);

	/* The owner peer 1 still holds is the one a new peer joins. */
	owner_test_acquire(test, ot, 3, owner_test_same_link);
	KUNIT_EXPECT_PTR_EQ(test, p[3].owner, owner1);

	owner_test_release(test, ot, 1);
	owner_test_release(test, ot, 3);
	KUNIT_EXPECT_PTR_EQ(test, p[2].owner, owner2);
	KUNIT_EXPECT_EQ(test, list_count_nodes(&ot->list.peers), 1);

	/* Released already, never acquired, NULL: nothing happens. */
	owner_test_release(test, ot, 1);
	owner_test_release(test, ot, 5);
	drm_pagemap_release_owner(NULL);
	KUNIT_EXPECT_PTR_EQ(test, p[2].owner, owner2);
	KUNIT_EXPECT_PTR_EQ(test, p[2].list, &ot->list);
	KUNIT_EXPECT_EQ(test, list_count_nodes(&ot->list.peers), 1);

	/* The group is gone: a new peer gets an owner, not peer 2's. */
	owner_test_acquire(test, ot, 4, owner_test_same_link);
	KUNIT_EXPECT_PTR_NE(test, p[4].owner, owner2);

	/* A released peer acquires again, and finds its group. */
	owner_test_acquire(test, ot, 0, owner_test_same_link);
	KUNIT_EXPECT_PTR_EQ(test, p[0].owner, p[4].owner);
	KUNIT_EXPECT_EQ(test, list_count_nodes(&ot->list.peers), 3);

	owner_test_release(test, ot, 0);
	owner_test_release(test, ot, 2);
	owner_test_release(test, ot, 4);
	KUNIT_EXPECT_TRUE(test, list_empty(&ot->list.peers));
}

/*
 * NULL arguments are refused and change nothing; so is a second acquire
 * for a peer holding an owner, on its list or another: it keeps its first
 * owner, and the list still works.
 */
static void drm_test_pagemap_owner_bad_args(struct kunit *test)
{
	struct owner_test *ot = owner_test_alloc(test);
	struct drm_pagemap_owner_list *other;
	struct drm_pagemap_peer *p = ot->peer;
	struct drm_pagemap_owner *owner;

	other = kunit_kzalloc(test, sizeof(*other), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, other);
	drm_pagemap_owner_list_init(other);
	p[0].private = link_id(1);
	p[1].private = link_id(1);

	KUNIT_EXPECT_EQ(test, drm_pagemap_acquire_owner(NULL, &ot->list,
							owner_test_same_link),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_acquire_owner(&p[0], NULL,
							owner_test_same_link),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_acquire_owner(&p[0], &ot->list, NULL),
			-EINVAL);
	KUNIT_EXPECT_NULL(test, p[0].owner);
	KUNIT_EXPECT_NULL(test, p[0].list);
	KUNIT_EXPECT_TRUE(test, list_empty(&ot->list.peers));

	owner_test_acquire(test, ot, 0, owner_test_same_link);
	owner = p[0].owner;
	KUNIT_EXPECT_EQ(test, drm_pagemap_acquire_owner(&p[0], &ot->list,
							owner_test_same_link),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_pagemap_acquire_owner(&p[0], other,
							owner_test_same_link),
			-EINVAL);
	KUNIT_EXPECT_PTR_EQ(test, p[0].owner, owner);
	KUNIT_EXPECT_PTR_EQ(test, p[0].list, &ot->list);
	KUNIT_EXPECT_EQ(test, list_count_nodes(&ot->list.peers), 1);
	KUNIT_EXPECT_TRUE(test, list_empty(&other->peers));

	/* Its group is intact: a connected peer joins it. */
	owner_test_acquire(test, ot, 1, owner_test_same_link);
	KUNIT_EXPECT_PTR_EQ(test, p[1].owner, owner);
	KUNIT_EXPECT_EQ(test, list_count_nodes(&ot->list.peers), 2);

	owner_test_release(test, ot, 0);
	owner_test_release(test, ot, 1);
	KUNIT_EXPECT_TRUE(test, list_empty(&ot->list.peers));
}

/*
 * 64 peers in 8 link ids, acquired with the ids interleaved: every pair
 * shares an owner iff it shares an id, and the members of each owner sit
 * next to each other in the list. Half released (in reverse order), the
 * rest are unchanged; all released, the list is empty.
 */
static void drm_test_pagemap_owner_many_peers(struct kunit *test)
{
	struct owner_test *ot = owner_test_alloc(test);
	struct drm_pagemap_peer *cur, *prev = NULL;
	unsigned int i, changes = 0;

	for (i = 0; i < OWNER_TEST_PEERS; i++) {
		ot->peer[i].private = link_id(i % OWNER_TEST_LINKS);
		owner_test_acquire(test, ot, i, owner_test_same_link);
	}
	expect_owners_follow_links(test, ot, OWNER_TEST_PEERS);
	KUNIT_EXPECT_EQ(test, list_count_nodes(&ot->list.peers),
			OWNER_TEST_PEERS);

	list_for_each_entry(cur, &ot->list.peers, link) {
		if (prev && cur->owner != prev->owner)
			changes++;
		prev = cur;
	}
	KUNIT_EXPECT_EQ(test, changes, OWNER_TEST_LINKS - 1);

	for (i = OWNER_TEST_PEERS; i-- > 0;) {
		owner_test_release(test, ot, i);
		if (i == OWNER_TEST_PEERS / 2)
			expect_owners_follow_links(test, ot, i);
	}
	KUNIT_EXPECT_TRUE(test, list_empty(&ot->list.peers));
}

static struct kunit_case drm_pagemap_tests[] = {
	KUNIT_CASE(drm_test_pagemap_init_fini),
	KUNIT_CASE(drm_test_pagemap_init_bad_args),
	KUNIT_CASE(drm_test_pagemap_second_region),
	KUNIT_CASE(drm_test_pagemap_pfn_offset),
	KUNIT_CASE(drm_test_pagemap_device_addr_encode),
	KUNIT_CASE(drm_test_pagemap_ops_get),
	KUNIT_CASE(drm_test_pagemap_devmem_init),
	KUNIT_CASE(drm_test_pagemap_page_to_dpagemap),
	KUNIT_CASE(drm_test_pagemap_device_map),
	KUNIT_CASE(drm_test_pagemap_roundtrip_4k),
	KUNIT_CASE(drm_test_pagemap_roundtrip_64k),
	KUNIT_CASE(drm_test_pagemap_roundtrip_2m),
	KUNIT_CASE(drm_test_pagemap_roundtrip_scattered),
	KUNIT_CASE(drm_test_pagemap_roundtrip_thp),
	KUNIT_CASE(drm_test_pagemap_clear_pte_none),
	KUNIT_CASE(drm_test_pagemap_clear_zero_page),
	KUNIT_CASE(drm_test_pagemap_partially_populated),
	KUNIT_CASE(drm_test_pagemap_several_vmas),
	KUNIT_CASE(drm_test_pagemap_vma_hole),
	KUNIT_CASE(drm_test_pagemap_no_vma),
	KUNIT_CASE(drm_test_pagemap_read_only),
	KUNIT_CASE(drm_test_pagemap_shared_busy),
	KUNIT_CASE(drm_test_pagemap_partially_collected),
	KUNIT_CASE(drm_test_pagemap_all_pinned_busy),
	KUNIT_CASE(drm_test_pagemap_already_on_device),
	KUNIT_CASE(drm_test_pagemap_migrate_bad_args),
	KUNIT_CASE(drm_test_pagemap_copy_to_devmem_fails),
	KUNIT_CASE(drm_test_pagemap_populate_pfn_fails),
	KUNIT_CASE(drm_test_pagemap_copy_to_ram_fails_on_fault),
	KUNIT_CASE(drm_test_pagemap_fault_whole_allocation),
	KUNIT_CASE(drm_test_pagemap_fault_clipped_to_vma),
	KUNIT_CASE(drm_test_pagemap_cpu_write_fault),
	KUNIT_CASE(drm_test_pagemap_munmap_releases),
	KUNIT_CASE(drm_test_pagemap_timeslice_kernel_fault),
	KUNIT_CASE(drm_test_pagemap_timeslice_expired),
	KUNIT_CASE(drm_test_pagemap_evict),
	KUNIT_CASE(drm_test_pagemap_evict_scattered),
	KUNIT_CASE(drm_test_pagemap_evict_ignores_timeslice),
	KUNIT_CASE(drm_test_pagemap_evict_copy_fails),
	KUNIT_CASE(drm_test_pagemap_evict_partial_range),
	KUNIT_CASE(drm_test_pagemap_evict_waits_for_release),
	KUNIT_CASE(drm_test_pagemap_evict_released_and_reused),
	KUNIT_CASE(drm_test_pagemap_evict_races_cpu_fault),
	KUNIT_CASE(drm_test_pagemap_fini_with_pages),
	KUNIT_CASE(drm_test_pagemap_dma_unmapped),
	KUNIT_CASE(drm_test_pagemap_populate_mm),
	KUNIT_CASE(drm_test_pagemap_populate_mm_errors),
	KUNIT_CASE(drm_test_pagemap_concurrent_fault),
	KUNIT_CASE(drm_test_pagemap_migrate_range_to_ram_private),
	KUNIT_CASE(drm_test_pagemap_coherent_init_fini),
	KUNIT_CASE(drm_test_pagemap_coherent_cpu_in_place),
	KUNIT_CASE(drm_test_pagemap_coherent_evict),
	KUNIT_CASE(drm_test_pagemap_coherent_longterm_pin),
	KUNIT_CASE(drm_test_pagemap_coherent_gup_refs),
	KUNIT_CASE(drm_test_pagemap_coherent_race_cpu_writes),
	KUNIT_CASE(drm_test_pagemap_d2d_bad_flags),
	KUNIT_CASE(drm_test_pagemap_d2d_from_peer),
	KUNIT_CASE(drm_test_pagemap_d2d_mixed),
	KUNIT_CASE(drm_test_pagemap_d2d_partly_local),
	KUNIT_CASE(drm_test_pagemap_d2d_already_local),
	KUNIT_CASE(drm_test_pagemap_d2d_copy_fails),
	KUNIT_CASE(drm_test_pagemap_d2d_map_fails),
	KUNIT_CASE(drm_test_pagemap_owner_connected_share),
	KUNIT_CASE(drm_test_pagemap_owner_group_needs_all),
	KUNIT_CASE(drm_test_pagemap_owner_release_reacquire),
	KUNIT_CASE(drm_test_pagemap_owner_bad_args),
	KUNIT_CASE(drm_test_pagemap_owner_many_peers),
	{}
};

static struct kunit_suite drm_pagemap_test_suite = {
	.name = "drm_pagemap",
	.init = drm_pagemap_test_init,
	.test_cases = drm_pagemap_tests,
};

kunit_test_suite(drm_pagemap_test_suite);

MODULE_DESCRIPTION("KUnit tests for drm_pagemap");
MODULE_LICENSE("Dual MIT/GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
