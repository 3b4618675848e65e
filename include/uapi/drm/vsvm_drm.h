/* SPDX-License-Identifier: MIT */
/*
 * Copyright (c) 2026 The drm_gpusvm authors
 */
#ifndef _VSVM_DRM_H_
#define _VSVM_DRM_H_

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

/**
 * DOC: Introduction
 *
 * vsvm is a virtual GPU whose only purpose is to exercise GPU shared virtual
 * memory: every open file owns a GPU VM that mirrors the address space of
 * the process that opened it, so GPU jobs use plain CPU pointers.
 *
 * Rules that apply to every ioctl of this header:
 *
 * - All structures are laid out for 32- and 64-bit userspace alike: members
 *   are naturally aligned and every structure is a multiple of 8 bytes.
 * - Pointers are passed as __u64.
 * - Every ``flags`` member must only contain flags defined here, and every
 *   ``pad`` member must be zero; otherwise the ioctl fails with -EINVAL.
 *   This is what lets later versions give meaning to those bits.
 * - A structure may only grow at its end. The DRM core zero-extends a
 *   shorter structure from older userspace, so a new member must treat zero
 *   as "behave as before".
 */

/**
 * enum drm_vsvm_ioctl_id - ioctl numbers
 *
 * Place new ioctls at the end; never reuse or renumber.
 */
enum drm_vsvm_ioctl_id {
	/** @DRM_VSVM_QUERY: Describe the device, see struct drm_vsvm_query. */
	DRM_VSVM_QUERY = 0,
};

/**
 * struct drm_vsvm_query - Argument of DRM_IOCTL_VSVM_QUERY
 *
 * Filled in by the kernel; userspace only zeroes it.
 */
struct drm_vsvm_query {
	/** @flags: Must be zero. */
	__u32 flags;

	/** @pad: Must be zero. */
	__u32 pad;

	/** @vram_size: Size of the device memory in bytes. */
	__u64 vram_size;

	/**
	 * @page_size: Granularity of the GPU page table and of migration,
	 * in bytes (the CPU page size).
	 */
	__u64 page_size;

	/** @device_index: Index of this virtual GPU, 0 to num_devices - 1. */
	__u32 device_index;

	/** @num_devices: Number of vsvm devices in the system. */
	__u32 num_devices;
};

/**
 * DRM_IOCTL_VSVM_QUERY - Describe the device
 *
 * Return: 0, or -EINVAL on nonzero @flags or @pad.
 */
#define DRM_IOCTL_VSVM_QUERY \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VSVM_QUERY, struct drm_vsvm_query)

#if defined(__cplusplus)
}
#endif

#endif /* _VSVM_DRM_H_ */
