// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Copyright (c) 2026 The drm_gpusvm authors
 */

#include <linux/gfp.h>
#include <linux/overflow.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vsvm_drv.h"

/**
 * DOC: vsvm software GPU
 *
 * A job is an array of &struct drm_vsvm_op executed in order on the CPU,
 * page by page, through the VM's GPU page table only: the engine never
 * looks at the CPU page tables. A missing entry, or a read-only entry for a
 * write, is a GPU page fault handled by vsvm_vm_fault(), after which the
 * access is retried, as a GPU would replay a faulting access.
 *
 * User buffers of READ and WRITE are ordinary user memory, copied through a
 * bounce page outside of any lock, so they may themselves live in VRAM.
 */

#define VSVM_MAX_OPS		256
#define VSVM_MAX_REPLAYS	16

struct vsvm_job {
	struct vsvm_vm *vm;
	u32 policy;
	void *bounce;
	struct vsvm_stats_sink sink;
};

/* Translate @addr, faulting as often as needed. Locks held on success. */
static int vsvm_gpu_access(struct vsvm_job *job, unsigned long addr,
			   bool write, u32 policy, struct vsvm_gpu_page *gp)
{
	bool vram_only = policy == DRM_VSVM_POLICY_DEVICE;
	int replays, err;

	for (replays = 0; replays < VSVM_MAX_REPLAYS; replays++) {
		err = vsvm_vm_gpu_map_page(job->vm, addr, write, vram_only, gp);
		if (err != -ENOENT)
			return err;

		err = vsvm_vm_fault(job->vm, addr, write, policy, &job->sink);
		if (err)
			return err;
	}

	return -EBUSY;
}

/* Longest piece of [addr, addr + len) inside one page. */
static size_t vsvm_chunk(unsigned long addr, u64 len)
{
	return min_t(u64, len, PAGE_SIZE - offset_in_page(addr));
}

static int vsvm_gpu_read(struct vsvm_job *job, unsigned long addr, void *dst,
			 size_t len)
{
	struct vsvm_gpu_page gp;
	int err;

	err = vsvm_gpu_access(job, addr, false, job->policy, &gp);
	if (err)
		return err;
	memcpy(dst, gp.vaddr + offset_in_page(addr), len);
	vsvm_vm_gpu_unmap_page(job->vm, &gp);
	vsvm_stat_add(&job->sink, VSVM_STAT(bytes_read), len);

	return 0;
}

static int vsvm_gpu_write(struct vsvm_job *job, unsigned long addr,
			  const void *src, size_t len)
{
	struct vsvm_gpu_page gp;
	int err;

	err = vsvm_gpu_access(job, addr, true, job->policy, &gp);
	if (err)
		return err;
	memcpy(gp.vaddr + offset_in_page(addr), src, len);
	vsvm_vm_gpu_unmap_page(job->vm, &gp);
	vsvm_stat_add(&job->sink, VSVM_STAT(bytes_written), len);

	return 0;
}

static int vsvm_op_read(struct vsvm_job *job, struct drm_vsvm_op *op)
{
	u64 done;
	int err;

	for (done = 0; done < op->size; ) {
		size_t len = vsvm_chunk(op->gpu_addr + done, op->size - done);

		err = vsvm_gpu_read(job, op->gpu_addr + done, job->bounce, len);
		if (err)
			return err;
		if (copy_to_user(u64_to_user_ptr(op->data + done), job->bounce, len))
			return -EFAULT;
		done += len;
	}

	return 0;
}

static int vsvm_op_write(struct vsvm_job *job, struct drm_vsvm_op *op)
{
	u64 done;
	int err;

	for (done = 0; done < op->size; ) {
		size_t len = vsvm_chunk(op->gpu_addr + done, op->size - done);

		if (copy_from_user(job->bounce, u64_to_user_ptr(op->data + done), len))
			return -EFAULT;
		err = vsvm_gpu_write(job, op->gpu_addr + done, job->bounce, len);
		if (err)
			return err;
		done += len;
	}

	return 0;
}

static int vsvm_op_fill(struct vsvm_job *job, struct drm_vsvm_op *op)
{
	u64 *pattern = job->bounce;
	unsigned int i;
	u64 done;
	int err;

	for (i = 0; i < PAGE_SIZE / sizeof(u64); i++)
		pattern[i] = op->data;

	for (done = 0; done < op->size; ) {
		size_t len = vsvm_chunk(op->gpu_addr + done, op->size - done);

		/* gpu_addr is 8-byte aligned: the pattern stays in phase. */
		err = vsvm_gpu_write(job, op->gpu_addr + done, pattern, len);
		if (err)
			return err;
		done += len;
	}

	return 0;
}

static int vsvm_op_copy(struct vsvm_job *job, struct drm_vsvm_op *op)
{
	u64 done;
	int err;

	for (done = 0; done < op->size; ) {
		size_t len = vsvm_chunk(op->gpu_addr + done, op->size - done);

		len = vsvm_chunk(op->data + done, len);
		err = vsvm_gpu_read(job, op->data + done, job->bounce, len);
		if (err)
			return err;
		err = vsvm_gpu_write(job, op->gpu_addr + done, job->bounce, len);
		if (err)
			return err;
		done += len;
	}

	return 0;
}

static int vsvm_op_atomic_add(struct vsvm_job *job, struct drm_vsvm_op *op)
{
	struct vsvm_gpu_page gp;
	int err;

	err = vsvm_gpu_access(job, op->gpu_addr, true, DRM_VSVM_POLICY_DEVICE, &gp);
	if (err)
		return err;
	op->result = atomic64_fetch_add(op->data, (atomic64_t *)(gp.vaddr +
					offset_in_page(op->gpu_addr)));
	vsvm_vm_gpu_unmap_page(job->vm, &gp);
	vsvm_stat_add(&job->sink, VSVM_STAT(bytes_read), sizeof(u64));
	vsvm_stat_add(&job->sink, VSVM_STAT(bytes_written), sizeof(u64));

	return 0;
}

static bool vsvm_range_ok(u64 addr, u64 size)
{
	u64 end;

	return size && !check_add_overflow(addr, size, &end) &&
	       end <= (TASK_SIZE & PAGE_MASK);
}

static int vsvm_op_check(const struct drm_vsvm_op *op)
{
	if (op->flags || !vsvm_range_ok(op->gpu_addr, op->size))
		return -EINVAL;

	switch (op->code) {
	case DRM_VSVM_OP_READ:
	case DRM_VSVM_OP_WRITE:
		return 0;
	case DRM_VSVM_OP_FILL:
		return IS_ALIGNED(op->gpu_addr | op->size, sizeof(u64)) ? 0 : -EINVAL;
	case DRM_VSVM_OP_COPY:
		if (!vsvm_range_ok(op->data, op->size))
			return -EINVAL;
		/* The ranges must not overlap. */
		if (op->data < op->gpu_addr + op->size &&
		    op->gpu_addr < op->data + op->size)
			return -EINVAL;
		return 0;
	case DRM_VSVM_OP_ATOMIC_ADD:
		return op->size == sizeof(u64) &&
		       IS_ALIGNED(op->gpu_addr, sizeof(u64)) ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

static int vsvm_op_run(struct vsvm_job *job, struct drm_vsvm_op *op)
{
	switch (op->code) {
	case DRM_VSVM_OP_READ:
		return vsvm_op_read(job, op);
	case DRM_VSVM_OP_WRITE:
		return vsvm_op_write(job, op);
	case DRM_VSVM_OP_FILL:
		return vsvm_op_fill(job, op);
	case DRM_VSVM_OP_COPY:
		return vsvm_op_copy(job, op);
	case DRM_VSVM_OP_ATOMIC_ADD:
		return vsvm_op_atomic_add(job, op);
	}

	return -EINVAL;
}

/**
 * vsvm_engine_exec() - Run a job
 * @vm: The VM of the submitting file.
 * @args: The ioctl argument; @args->stats and @args->completed are filled.
 *
 * Return: 0 or the error of the first failing operation; see
 * DRM_IOCTL_VSVM_EXEC for the list.
 */
int vsvm_engine_exec(struct vsvm_vm *vm, struct drm_vsvm_exec *args)
{
	struct vsvm_job job = {
		.vm = vm,
		.policy = args->flags & DRM_VSVM_EXEC_POLICY_MASK,
		.sink = { .vm = &vm->stats, .job = &args->stats },
	};
	struct drm_vsvm_op *ops;
	u32 i;
	int err = 0;

	memset(&args->stats, 0, sizeof(args->stats));
	args->completed = 0;

	if ((args->flags & ~DRM_VSVM_EXEC_POLICY_MASK) || args->pad ||
	    job.policy > DRM_VSVM_POLICY_DEVICE ||
	    !args->num_ops || args->num_ops > VSVM_MAX_OPS)
		return -EINVAL;

	ops = memdup_array_user(u64_to_user_ptr(args->ops), args->num_ops,
				sizeof(*ops));
	if (IS_ERR(ops))
		return PTR_ERR(ops);

	for (i = 0; i < args->num_ops; i++) {
		err = vsvm_op_check(&ops[i]);
		if (err)
			goto out_free;
	}

	job.bounce = (void *)__get_free_page(GFP_KERNEL);
	if (!job.bounce) {
		err = -ENOMEM;
		goto out_free;
	}

	for (i = 0; i < args->num_ops; i++) {
		err = vsvm_op_run(&job, &ops[i]);
		if (err)
			break;
		args->completed++;
	}

	if (copy_to_user(u64_to_user_ptr(args->ops), ops,
			 array_size(args->num_ops, sizeof(*ops))) && !err)
		err = -EFAULT;

	free_page((unsigned long)job.bounce);
out_free:
	kfree(ops);
	return err;
}
