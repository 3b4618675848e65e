// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Copyright (c) 2026 The drm_gpusvm authors
 */

#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/string_choices.h>

#include <drm/drm_print.h>

#include "vsvm_drv.h"

/*
 * <debugfs>/dri/<minor>/vsvm_vram: VRAM use and copy counters.
 * <debugfs>/dri/<minor>/vsvm_vms: every VM, its counters and its ranges,
 * with where each range's pages live.
 * <debugfs>/dri/<minor>/vsvm_fault_time: GPU faults serviced and the time
 * they took, by range size, see vsvm_fault_time_print().
 * <debugfs>/dri/<minor>/vsvm_fault_stages: nonzero to time faults by stage
 * too, see &vsvm_fault_time.stages.
 * <debugfs>/dri/<minor>/vsvm_commit_delay_us: test knob, see
 * &vsvm_vram.commit_delay_us.
 * <debugfs>/dri/<minor>/vsvm_vm_destroy_delay_us: test knob, see
 * &vsvm_device.vm_destroy_delay_us.
 * <debugfs>/dri/<minor>/vsvm_copy_to_ram_delay_us: test knob, see
 * &vsvm_vram.copy_to_ram_delay_us.
 * <debugfs>/dri/<minor>/vsvm_max_ranges: see &vsvm_device.max_ranges.
 * Failures of the driver hooks are injected through <debugfs>/vsvm/, see
 * vsvm_fault.c.
 */

static int vsvm_vram_show(struct seq_file *m, void *data)
{
	struct vsvm_device *vdev = m->private;
	struct drm_printer p = drm_seq_file_printer(m);

	vsvm_vram_print(&vdev->vram, &p);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vsvm_vram);

static int vsvm_vms_show(struct seq_file *m, void *data)
{
	struct vsvm_device *vdev = m->private;
	struct drm_printer p = drm_seq_file_printer(m);
	struct drm_vsvm_vm_stats st;
	struct vsvm_vm *vm;

	mutex_lock(&vdev->vm_list_lock);
	list_for_each_entry(vm, &vdev->vm_list, link) {
		memset(&st, 0, sizeof(st));
		vsvm_vm_stats(vm, &st);
		drm_printf(&p, "vm %p: %llu ranges, %llu pages in vram\n", vm,
			   st.num_ranges, st.vram_pages);
		drm_printf(&p, "  faults %llu (retries %llu), to vram %llu, to ram %llu\n",
			   st.stats.gpu_faults, st.stats.fault_retries,
			   st.stats.pages_to_vram, st.stats.pages_to_ram);
		drm_printf(&p, "  evictions %llu, invalidations %llu\n",
			   st.stats.evictions, st.stats.invalidations);
		drm_printf(&p, "  split %s: %llu ranges into %llu\n",
			   str_on_off(READ_ONCE(vm->split)), st.ranges_split,
			   st.split_pieces);
		drm_printf(&p, "  thrash %s: %llu throttled, %llu pinned, %llu faults in place\n",
			   str_on_off(READ_ONCE(vm->thrash)),
			   st.thrash_throttles, st.thrash_pins,
			   st.thrash_pinned_faults);
		drm_printf(&p, "  prefetch %u%%, fault size %lu: %llu regions prefetched\n",
			   READ_ONCE(vm->prefetch), READ_ONCE(vm->fault_size),
			   st.prefetches);
		vsvm_vm_print(vm, &p);
	}
	mutex_unlock(&vdev->vm_list_lock);

	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vsvm_vms);

static int vsvm_fault_time_show(struct seq_file *m, void *data)
{
	struct drm_printer p = drm_seq_file_printer(m);

	vsvm_fault_time_print(m->private, &p);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vsvm_fault_time);

/**
 * vsvm_debugfs_init() - Create the debugfs files of a device
 * @vdev: The registered device.
 */
void vsvm_debugfs_init(struct vsvm_device *vdev)
{
	struct dentry *root = vdev->drm.debugfs_root;

	if (!root)
		return;
	debugfs_create_file("vsvm_vram", 0444, root, vdev, &vsvm_vram_fops);
	debugfs_create_file("vsvm_vms", 0444, root, vdev, &vsvm_vms_fops);
	debugfs_create_file("vsvm_fault_time", 0444, root, vdev,
			    &vsvm_fault_time_fops);
	debugfs_create_u32("vsvm_fault_stages", 0600, root,
			   &vdev->fault_time.stages);
	debugfs_create_u32("vsvm_commit_delay_us", 0600, root,
			   &vdev->vram.commit_delay_us);
	debugfs_create_u32("vsvm_vm_destroy_delay_us", 0600, root,
			   &vdev->vm_destroy_delay_us);
	debugfs_create_u32("vsvm_copy_to_ram_delay_us", 0600, root,
			   &vdev->vram.copy_to_ram_delay_us);
	debugfs_create_u32("vsvm_max_ranges", 0600, root, &vdev->max_ranges);
}
