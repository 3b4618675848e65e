// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Compile-time check that a driver written against the drm_gpusvm API of
 * the seed header (../shared/seeds/004_*, the API contract) builds against
 * ours: each exported function is assigned to a pointer of the seed's
 * type, and the seed's structure members and macros are used by name. The
 * migration entry points moved to drm_pagemap (seed 001) are checked with
 * their drm_pagemap signatures. Built by "make lint", never loaded.
 */

#include <linux/module.h>

#include <drm/drm_gpusvm.h>
#include <drm/drm_pagemap.h>

static int (*const check_init)(struct drm_gpusvm *gpusvm, const char *name,
			       struct drm_device *drm, struct mm_struct *mm,
			       void *device_private_page_owner,
			       unsigned long mm_start, unsigned long mm_range,
			       unsigned long notifier_size,
			       const struct drm_gpusvm_ops *ops,
			       const unsigned long *chunk_sizes,
			       int num_chunks) __used = drm_gpusvm_init;
static void (*const check_fini)(struct drm_gpusvm *gpusvm) __used = drm_gpusvm_fini;
static struct drm_gpusvm_range *
(*const check_find_or_insert)(struct drm_gpusvm *gpusvm, unsigned long fault_addr,
			      unsigned long gpuva_start, unsigned long gpuva_end,
			      const struct drm_gpusvm_ctx *ctx) __used =
	drm_gpusvm_range_find_or_insert;
static void (*const check_remove)(struct drm_gpusvm *gpusvm,
				  struct drm_gpusvm_range *range) __used =
	drm_gpusvm_range_remove;
static int (*const check_evict)(struct drm_gpusvm *gpusvm,
				struct drm_gpusvm_range *range) __used =
	drm_gpusvm_range_evict;
static struct drm_gpusvm_range *
(*const check_get)(struct drm_gpusvm_range *range) __used = drm_gpusvm_range_get;
static void (*const check_put)(struct drm_gpusvm_range *range) __used =
	drm_gpusvm_range_put;
static bool (*const check_pages_valid)(struct drm_gpusvm *gpusvm,
				       struct drm_gpusvm_range *range) __used =
	drm_gpusvm_range_pages_valid;
static int (*const check_get_pages)(struct drm_gpusvm *gpusvm,
				    struct drm_gpusvm_range *range,
				    const struct drm_gpusvm_ctx *ctx) __used =
	drm_gpusvm_range_get_pages;
static void (*const check_unmap_pages)(struct drm_gpusvm *gpusvm,
				       struct drm_gpusvm_range *range,
				       const struct drm_gpusvm_ctx *ctx) __used =
	drm_gpusvm_range_unmap_pages;
static bool (*const check_has_mapping)(struct drm_gpusvm *gpusvm,
				       unsigned long start,
				       unsigned long end) __used =
	drm_gpusvm_has_mapping;
static struct drm_gpusvm_range *
(*const check_range_find)(struct drm_gpusvm_notifier *notifier,
			  unsigned long start, unsigned long end) __used =
	drm_gpusvm_range_find;
static void (*const check_set_unmapped)(struct drm_gpusvm_range *range,
					const struct mmu_notifier_range *mmu_range) __used =
	drm_gpusvm_range_set_unmapped;

/* Moved to drm_pagemap by seed 001. */
static int (*const check_migrate)(struct drm_pagemap_devmem *devmem_allocation,
				  struct mm_struct *mm, unsigned long start,
				  unsigned long end, unsigned long timeslice_ms,
				  void *pgmap_owner) __used =
	drm_pagemap_migrate_to_devmem;
static int (*const check_evict_to_ram)(struct drm_pagemap_devmem *devmem_allocation) __used =
	drm_pagemap_evict_to_ram;
static const struct dev_pagemap_ops *(*const check_ops_get)(void) __used =
	drm_pagemap_pagemap_ops_get;
static void (*const check_devmem_init)(struct drm_pagemap_devmem *devmem_allocation,
				       struct device *dev, struct mm_struct *mm,
				       const struct drm_pagemap_devmem_ops *ops,
				       struct drm_pagemap *dpagemap,
				       size_t size) __used =
	drm_pagemap_devmem_init;

/* The seed's structure members, macros and inline helpers by name. */
static unsigned long __used check_members(struct drm_gpusvm *gpusvm,
					  struct drm_gpusvm_notifier *notifier,
					  struct drm_gpusvm_ctx *ctx,
					  struct mutex *lock)
{
	struct drm_gpusvm_range *range = NULL;
	unsigned long sum = 0;

	ctx->check_pages_threshold = SZ_64K;
	ctx->timeslice_ms = 5;
	ctx->in_notifier = 0;
	ctx->read_only = 1;
	ctx->devmem_possible = 1;
	ctx->devmem_only = 0;
	drm_gpusvm_driver_set_lock(gpusvm, lock);

	drm_gpusvm_notifier_lock(gpusvm);
	drm_gpusvm_for_each_range(range, notifier, drm_gpusvm_notifier_start(notifier),
				  drm_gpusvm_notifier_end(notifier)) {
		sum += drm_gpusvm_range_size(range) + range->notifier_seq +
		       range->flags.migrate_devmem + range->flags.unmapped +
		       range->flags.partial_unmap + range->flags.has_devmem_pages +
		       range->flags.has_dma_mapping + (unsigned long)range->dpagemap +
		       (unsigned long)range->dma_addr;
	}
	drm_gpusvm_notifier_unlock(gpusvm);

	return sum + drm_gpusvm_notifier_size(notifier) + notifier->flags.removed +
	       gpusvm->mm_start + gpusvm->mm_range + gpusvm->notifier_size +
	       gpusvm->num_chunks + (unsigned long)gpusvm->chunk_sizes +
	       (unsigned long)gpusvm->device_private_page_owner;
}

MODULE_DESCRIPTION("Compile-time check of the drm_gpusvm seed API");
MODULE_LICENSE("Dual MIT/GPL");
