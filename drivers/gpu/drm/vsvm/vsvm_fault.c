// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Copyright (c) 2026 The drm_gpusvm authors
 */

#include <linux/debugfs.h>
#include <linux/fault-inject.h>

#include "vsvm_drv.h"

/**
 * DOC: Fault injection
 *
 * Every driver hook the helpers call can be made to fail, to prove that
 * drm_gpusvm, drm_pagemap and vsvm lose no data, leak nothing and report a
 * documented errno when a real driver's copy engine, allocator or mapping
 * fails. Each hook has a fault attribute of the kernel's fault-injection
 * framework (Documentation/fault-injection/fault-injection.rst) under
 * <debugfs>/vsvm/:
 *
 * - fail_copy_to_devmem, fail_copy_to_ram: the copy hooks return -EIO;
 * - fail_populate_devmem_pfn: the pfn lookup returns -EIO;
 * - fail_device_map: device_map returns a mapping error;
 * - fail_devmem_alloc: VRAM allocation fails with -ENOMEM.
 *
 * They take the usual probability, interval, times, verbose and task-filter
 * settings. Being attributes of the framework, they also count for a
 * task's /proc/<pid>/fail-nth, which fails the n-th fault-injection point
 * the task reaches, slab and page allocations included: the selftest
 * vsvm_faults_test sweeps n over every point of a request that way.
 */

#ifdef CONFIG_FAULT_INJECTION
static struct fault_attr vsvm_fault_attrs[VSVM_NUM_FAULTS] = {
	[0 ... VSVM_NUM_FAULTS - 1] = FAULT_ATTR_INITIALIZER,
};

static const char *const vsvm_fault_names[VSVM_NUM_FAULTS] = {
	[VSVM_FAULT_COPY_TO_DEVMEM] = "fail_copy_to_devmem",
	[VSVM_FAULT_COPY_TO_RAM] = "fail_copy_to_ram",
	[VSVM_FAULT_POPULATE_PFN] = "fail_populate_devmem_pfn",
	[VSVM_FAULT_DEVICE_MAP] = "fail_device_map",
	[VSVM_FAULT_DEVMEM_ALLOC] = "fail_devmem_alloc",
};

static struct dentry *vsvm_fault_root;

/**
 * vsvm_should_fail() - Should this call of a hook fail?
 * @fault: The hook.
 *
 * Context: Any.
 * Return: true if fault injection asks this call to fail.
 */
bool vsvm_should_fail(enum vsvm_fault fault)
{
	return should_fail(&vsvm_fault_attrs[fault], 1);
}

/**
 * vsvm_fault_init() - Create the fault attributes under <debugfs>/vsvm/
 *
 * Failing to create them only loses the knobs.
 */
void vsvm_fault_init(void)
{
	int i;

	vsvm_fault_root = debugfs_create_dir("vsvm", NULL);
	for (i = 0; i < VSVM_NUM_FAULTS; i++)
		fault_create_debugfs_attr(vsvm_fault_names[i], vsvm_fault_root,
					  &vsvm_fault_attrs[i]);
}

/** vsvm_fault_fini() - Remove <debugfs>/vsvm/ */
void vsvm_fault_fini(void)
{
	debugfs_remove_recursive(vsvm_fault_root);
	vsvm_fault_root = NULL;
}
#endif
