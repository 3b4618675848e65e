/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Copyright (c) 2026 The drm_gpusvm authors
 */

#ifndef _DRM_GPUSVM_TEST_DMA_H_
#define _DRM_GPUSVM_TEST_DMA_H_

#include <linux/types.h>

struct device;

/*
 * Shared by the drm_gpusvm and drm_pagemap suites (defined in
 * drm_gpusvm_test.c): dma-debug watches the KUnit bus once per boot, not
 * once per suite.
 */
bool drm_gpusvm_test_watch_dma(struct device *dev);

#endif
