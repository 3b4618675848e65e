/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Copyright (c) 2026 The drm_gpusvm authors
 */

#ifndef _VSVM_DRV_H_
#define _VSVM_DRV_H_

#include <linux/platform_device.h>
#include <linux/types.h>

#include <drm/drm_device.h>

struct drm_file;
struct mm_struct;

/**
 * struct vsvm_device - One virtual GPU
 * @drm: The DRM device; a render node.
 * @pdev: The platform device @drm hangs off.
 * @index: Index of this GPU among the vsvm devices.
 * @vram_size: Size of the fake device memory in bytes.
 */
struct vsvm_device {
	struct drm_device drm;
	struct platform_device *pdev;
	unsigned int index;
	u64 vram_size;
};

static inline struct vsvm_device *to_vsvm_device(struct drm_device *drm)
{
	return container_of(drm, struct vsvm_device, drm);
}

/**
 * struct vsvm_file - Per open file state
 * @vdev: The device this file was opened on.
 * @mm: Address space of the opener, which the file's GPU VM mirrors;
 *	pinned with mmgrab().
 */
struct vsvm_file {
	struct vsvm_device *vdev;
	struct mm_struct *mm;
};

int vsvm_file_check_mm(struct vsvm_file *vfile);

#endif /* _VSVM_DRV_H_ */
