// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Copyright (c) 2026 The drm_gpusvm authors
 */

#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/platform_device.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_managed.h>
#include <drm/vsvm_drm.h>

#include "vsvm_drv.h"

#define DRIVER_NAME	"vsvm"
#define DRIVER_DESC	"Virtual GPU for shared virtual memory"
#define DRIVER_DATE	"20261122"
#define DRIVER_MAJOR	0
#define DRIVER_MINOR	1

static unsigned int num_devices = 2;
module_param(num_devices, uint, 0444);
MODULE_PARM_DESC(num_devices, "Number of virtual GPUs with device-private VRAM (1-8, default 2)");

static unsigned int vram_mb = 64;
module_param(vram_mb, uint, 0444);
MODULE_PARM_DESC(vram_mb, "Device memory per GPU in MiB, a multiple of 2 (default 64)");

static unsigned int max_ranges = 16384;
module_param(max_ranges, uint, 0444);
MODULE_PARM_DESC(max_ranges,
		 "Most GPU SVM ranges one VM mirrors at once; a range of 2 MiB costs about 12 KiB of kernel memory (default 16384)");

static unsigned long coherent_base[VSVM_MAX_DEVICES];
static unsigned int num_coherent;
module_param_array(coherent_base, ulong, &num_coherent, 0444);
MODULE_PARM_DESC(coherent_base,
		 "Physical addresses of reserved memory (memmap=nn$addr), each the coherent VRAM of one more GPU of vram_mb MiB, numbered after the num_devices private ones (default none)");

static bool link;
module_param(link, bool, 0444);
MODULE_PARM_DESC(link,
		 "Put the GPUs with device-private VRAM on one interconnect: each reaches the others' VRAM in place, their pages share a page owner (default false)");

static bool dmirror;
module_param(dmirror, bool, 0444);
MODULE_PARM_DESC(dmirror,
		 "Also expose GPUs 0 and 1 as /dev/hmm_dmirror0 and 1, and the first two coherent GPUs as /dev/hmm_dmirror2 and 3, with the ioctl ABI of lib/test_hmm, for the kernel's hmm-tests; needs num_devices >= 2, excludes test_hmm (default false)");

static struct vsvm_device *vsvm_devices[VSVM_MAX_DEVICES];

/**
 * vsvm_device_by_index() - One of the virtual GPUs
 * @index: Its index, 0 to VSVM_MAX_DEVICES - 1.
 *
 * The devices live from module load to unload.
 *
 * Return: The device, or NULL if there is none with that index.
 */
struct vsvm_device *vsvm_device_by_index(unsigned int index)
{
	return index < VSVM_MAX_DEVICES ? vsvm_devices[index] : NULL;
}

/**
 * vsvm_file_check_mm() - Refuse use of a file from a foreign address space
 * @vfile: The vsvm file.
 *
 * The GPU VM of a file mirrors the address space of the process that opened
 * it. A forked child or a process that received the file descriptor lives
 * in another address space, and letting it submit work would make the GPU
 * read and write the opener's memory on its behalf.
 *
 * Return: 0 if current runs in the opener's address space, -EACCES if not.
 */
int vsvm_file_check_mm(struct vsvm_file *vfile)
{
	return current->mm == vfile->vm->mm ? 0 : -EACCES;
}

static int vsvm_open(struct drm_device *drm, struct drm_file *file)
{
	struct vsvm_device *vdev = to_vsvm_device(drm);
	struct vsvm_file *vfile;
	struct vsvm_vm *vm;

	vfile = kzalloc(sizeof(*vfile), GFP_KERNEL);
	if (!vfile)
		return -ENOMEM;

	vm = vsvm_vm_create(vdev);
	if (IS_ERR(vm)) {
		kfree(vfile);
		return PTR_ERR(vm);
	}

	vfile->vdev = vdev;
	vfile->vm = vm;
	file->driver_priv = vfile;

	mutex_lock(&vdev->vm_list_lock);
	list_add_tail(&vm->link, &vdev->vm_list);
	mutex_unlock(&vdev->vm_list_lock);

	return 0;
}

static void vsvm_postclose(struct drm_device *drm, struct drm_file *file)
{
	struct vsvm_device *vdev = to_vsvm_device(drm);
	struct vsvm_file *vfile = file->driver_priv;

	mutex_lock(&vdev->vm_list_lock);
	list_del(&vfile->vm->link);
	mutex_unlock(&vdev->vm_list_lock);

	vsvm_vm_destroy(vfile->vm);
	kfree(vfile);
}

static int vsvm_query_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file)
{
	struct vsvm_device *vdev = to_vsvm_device(drm);
	struct drm_vsvm_query *args = data;

	if (args->flags || args->pad || args->pad2)
		return -EINVAL;

	args->vram_size = vdev->vram.size;
	args->page_size = PAGE_SIZE;
	args->device_index = vdev->index;
	args->num_devices = num_devices + num_coherent;
	args->memory_type = vdev->vram.coherent ? DRM_VSVM_MEMORY_COHERENT :
						  DRM_VSVM_MEMORY_PRIVATE;
	args->pad2 = 0;
	vsvm_vram_flush_frees(&vdev->vram);
	mutex_lock(&vdev->vram.lock);
	args->vram_used = vdev->vram.used;
	mutex_unlock(&vdev->vram.lock);
	args->pages_to_vram = atomic64_read(&vdev->vram.to_vram);
	args->pages_to_ram = atomic64_read(&vdev->vram.to_ram);
	args->pages_from_peer = atomic64_read(&vdev->vram.from_peer);
	args->evictions = atomic64_read(&vdev->vram.evictions);

	return 0;
}

static int vsvm_exec_ioctl(struct drm_device *drm, void *data,
			   struct drm_file *file)
{
	struct vsvm_file *vfile = file->driver_priv;
	int err;

	err = vsvm_file_check_mm(vfile);
	if (err)
		return err;

	return vsvm_engine_exec(vfile->vm, data);
}

static int vsvm_migrate_ioctl(struct drm_device *drm, void *data,
			      struct drm_file *file)
{
	struct vsvm_file *vfile = file->driver_priv;
	struct drm_vsvm_migrate *args = data;
	struct vsvm_stats_sink sink = {
		.vm = &vfile->vm->stats,
		.job = &args->stats,
	};
	u64 end;
	int err;

	err = vsvm_file_check_mm(vfile);
	if (err)
		return err;

	memset(&args->stats, 0, sizeof(args->stats));
	if (args->flags || args->target > DRM_VSVM_MIGRATE_TO_SYSTEM ||
	    !args->size || !PAGE_ALIGNED(args->start) ||
	    !PAGE_ALIGNED(args->size) ||
	    check_add_overflow(args->start, args->size, &end) ||
	    end > (TASK_SIZE & PAGE_MASK))
		return -EINVAL;

	return vsvm_vm_migrate(vfile->vm, args->start, end, args->target, &sink);
}

static int vsvm_vm_stats_ioctl(struct drm_device *drm, void *data,
			       struct drm_file *file)
{
	struct vsvm_file *vfile = file->driver_priv;
	struct drm_vsvm_vm_stats *args = data;
	int err;

	err = vsvm_file_check_mm(vfile);
	if (err)
		return err;
	if (args->flags || args->pad)
		return -EINVAL;

	vsvm_vm_stats(vfile->vm, args);

	return 0;
}

static int vsvm_vm_set_param_ioctl(struct drm_device *drm, void *data,
				   struct drm_file *file)
{
	struct vsvm_file *vfile = file->driver_priv;
	struct drm_vsvm_vm_set_param *args = data;
	int err;

	err = vsvm_file_check_mm(vfile);
	if (err)
		return err;
	if (args->pad)
		return -EINVAL;

	switch (args->param) {
	case DRM_VSVM_PARAM_TIMESLICE_MS:
		if (args->value > 10000)
			return -EINVAL;
		mutex_lock(&vfile->vm->lock);
		vfile->vm->timeslice_ms = args->value;
		mutex_unlock(&vfile->vm->lock);
		return 0;
	case DRM_VSVM_PARAM_SPLIT:
		if (args->value > 1)
			return -EINVAL;
		WRITE_ONCE(vfile->vm->split, args->value);
		return 0;
	case DRM_VSVM_PARAM_THRASH:
	case DRM_VSVM_PARAM_THRASH_LAPSE_US:
	case DRM_VSVM_PARAM_THRASH_PIN_MS:
	case DRM_VSVM_PARAM_THRASH_THROTTLE_US:
		return vsvm_vm_set_thrash(vfile->vm, args->param, args->value);
	case DRM_VSVM_PARAM_PREFETCH:
	case DRM_VSVM_PARAM_FAULT_SIZE:
		return vsvm_vm_set_prefetch(vfile->vm, args->param, args->value);
	default:
		return -EINVAL;
	}
}

static const struct drm_ioctl_desc vsvm_ioctls[] = {
	DRM_IOCTL_DEF_DRV(VSVM_QUERY, vsvm_query_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(VSVM_EXEC, vsvm_exec_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(VSVM_MIGRATE, vsvm_migrate_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(VSVM_VM_STATS, vsvm_vm_stats_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(VSVM_VM_SET_PARAM, vsvm_vm_set_param_ioctl,
			  DRM_RENDER_ALLOW),
};

static const struct file_operations vsvm_fops = {
	.owner = THIS_MODULE,
	.open = drm_open,
	.release = drm_release,
	.unlocked_ioctl = drm_ioctl,
	.compat_ioctl = drm_compat_ioctl,
	.poll = drm_poll,
	.read = drm_read,
	.llseek = noop_llseek,
	.fop_flags = FOP_UNSIGNED_OFFSET,
};

static const struct drm_driver vsvm_driver = {
	.driver_features	= DRIVER_RENDER,
	.open			= vsvm_open,
	.postclose		= vsvm_postclose,
	.ioctls			= vsvm_ioctls,
	.num_ioctls		= ARRAY_SIZE(vsvm_ioctls),
	.fops			= &vsvm_fops,
	.name			= DRIVER_NAME,
	.desc			= DRIVER_DESC,
	.date			= DRIVER_DATE,
	.major			= DRIVER_MAJOR,
	.minor			= DRIVER_MINOR,
};

/*
 * Create virtual GPU @index; its VRAM is device-private memory, or with a
 * nonzero @coherent_phys device-coherent memory at that physical address.
 */
static struct vsvm_device *vsvm_device_create(unsigned int index,
					      phys_addr_t coherent_phys)
{
	struct platform_device *pdev;
	struct vsvm_device *vdev;
	int ret;

	pdev = platform_device_register_simple(DRIVER_NAME, index, NULL, 0);
	if (IS_ERR(pdev))
		return ERR_CAST(pdev);

	if (!devres_open_group(&pdev->dev, NULL, GFP_KERNEL)) {
		ret = -ENOMEM;
		goto err_unregister;
	}

	ret = dma_coerce_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		goto err_devres;

	vdev = devm_drm_dev_alloc(&pdev->dev, &vsvm_driver,
				  struct vsvm_device, drm);
	if (IS_ERR(vdev)) {
		ret = PTR_ERR(vdev);
		goto err_devres;
	}
	vdev->pdev = pdev;
	vdev->index = index;
	vdev->max_ranges = max_ranges;
	mutex_init(&vdev->vm_list_lock);
	INIT_LIST_HEAD(&vdev->vm_list);

	ret = vsvm_vram_init(vdev, (u64)vram_mb << 20, coherent_phys, link);
	if (ret)
		goto err_devres;

	ret = drm_dev_register(&vdev->drm, 0);
	if (ret)
		goto err_vram;
	vsvm_debugfs_init(vdev);

	return vdev;

err_vram:
	vsvm_vram_fini(vdev);
err_devres:
	devres_release_group(&pdev->dev, NULL);
err_unregister:
	platform_device_unregister(pdev);
	return ERR_PTR(ret);
}

static void vsvm_device_destroy(struct vsvm_device *vdev)
{
	struct platform_device *pdev = vdev->pdev;

	drm_dev_unregister(&vdev->drm);
	vsvm_vram_fini(vdev);
	devres_release_group(&pdev->dev, NULL);
	platform_device_unregister(pdev);
}

static void vsvm_destroy_all(void)
{
	int i;

	for (i = VSVM_MAX_DEVICES - 1; i >= 0; i--) {
		if (vsvm_devices[i])
			vsvm_device_destroy(vsvm_devices[i]);
		vsvm_devices[i] = NULL;
	}
}

static int __init vsvm_init(void)
{
	unsigned int i;
	int err;

	if (!num_devices || num_devices + num_coherent > VSVM_MAX_DEVICES ||
	    !vram_mb || vram_mb > SZ_4K || vram_mb % 2 ||
	    (dmirror && num_devices < 2))
		return -EINVAL;
	for (i = 0; i < num_coherent; i++)
		if (!coherent_base[i])
			return -EINVAL;

	vsvm_fault_init();
	for (i = 0; i < num_devices + num_coherent; i++) {
		phys_addr_t phys = i < num_devices ? 0 :
				   coherent_base[i - num_devices];
		struct vsvm_device *vdev = vsvm_device_create(i, phys);

		if (IS_ERR(vdev)) {
			vsvm_destroy_all();
			vsvm_fault_fini();
			return PTR_ERR(vdev);
		}
		vsvm_devices[i] = vdev;
	}

	if (dmirror) {
		err = vsvm_dmirror_init(vsvm_devices, num_devices + num_coherent);
		if (err) {
			vsvm_destroy_all();
			vsvm_fault_fini();
			return err;
		}
	}

	return 0;
}

static void __exit vsvm_exit(void)
{
	if (dmirror)
		vsvm_dmirror_fini();
	vsvm_destroy_all();
	vsvm_fault_fini();
}

module_init(vsvm_init);
module_exit(vsvm_exit);

MODULE_DESCRIPTION(DRIVER_DESC);
MODULE_LICENSE("Dual MIT/GPL");
