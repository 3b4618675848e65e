// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Copyright (c) 2026 The drm_gpusvm authors
 */

#include <linux/overflow.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "vsvm_drv.h"

/**
 * DOC: vsvm software GPU
 *
 * A job is an array of &struct drm_vsvm_op executed in order on the CPU
 * through the VM's GPU page table only: the engine never looks at the CPU
 * page tables. It copies as much as the page table maps in one go
 * (vsvm_vm_gpu_copy(): up to one bounce buffer, within one range), as a
 * copy engine works through its descriptors. A missing entry, or a
 * read-only entry for a write, is a GPU page fault handled by
 * vsvm_vm_fault(), after which the access is retried, as a GPU would
 * replay a faulting access.
 *
 * User buffers of READ and WRITE are ordinary user memory. They are copied
 * straight under the page-table locks while their pages are present, with
 * page faults disabled, and otherwise through a bounce buffer outside of
 * any lock, so they may themselves live in VRAM. The memory the GPU
 * accesses is read and written a naturally aligned word at a time, as by
 * DMA: a word the CPU stores meanwhile is seen whole, before or after.
 *
 * An operation may be as large as the address space: between two pieces of
 * at most a bounce buffer, and between two operations, the engine lets
 * other tasks run and ends the job with -EINTR if the task was killed.
 */

#define VSVM_MAX_OPS		256
#define VSVM_MAX_REPLAYS	16

struct vsvm_job {
	struct vsvm_vm *vm;
	u32 policy;
	void *bounce;
	struct vsvm_stats_sink sink;
};

/* Translate @addr for one access, faulting as often as needed. */
static int vsvm_gpu_access(struct vsvm_job *job, unsigned long addr,
			   bool write, u32 policy, struct vsvm_gpu_page *gp)
{
	int replays, err;

	for (replays = 0; replays < VSVM_MAX_REPLAYS; replays++) {
		err = vsvm_vm_gpu_map_page(job->vm, addr, write, policy, gp);
		if (err != -ENOENT)
			return err;

		err = vsvm_vm_fault(job->vm, addr, write, policy, &job->sink);
		if (err)
			return err;
	}

	return -EBUSY;
}

/*
 * Copy between the GPU addresses [addr, addr + len) and @buf or, with
 * @direct, the user memory at @ubuf without faulting it in, faulting the
 * GPU side as often as needed; a page that keeps faulting ends the job with
 * -EBUSY, a fatal signal with -EINTR, a user page that is not there (with
 * @direct) with -EAGAIN. @done is how far it got, also on error.
 */
static int __vsvm_gpu_copy(struct vsvm_job *job, unsigned long addr,
			   void *buf, void __user *ubuf, bool direct,
			   size_t len, bool write, size_t *done)
{
	unsigned int replays = 0;
	long n;
	int err = 0;

	for (*done = 0; *done < len; ) {
		/* Memory that never faults would never let the job go. */
		err = vsvm_yield();
		if (err)
			break;
		if (direct)
			n = vsvm_vm_gpu_copy_user(job->vm, addr + *done,
						  ubuf + *done, len - *done,
						  write, job->policy, NULL);
		else
			n = vsvm_vm_gpu_copy(job->vm, addr + *done,
					     buf + *done, len - *done, write,
					     job->policy, NULL);
		if (n < 0) {
			err = n;
			break;
		}
		if (n) {
			*done += n;
			replays = 0;
			continue;
		}
		if (++replays > VSVM_MAX_REPLAYS) {
			err = -EBUSY;
			break;
		}
		err = vsvm_vm_fault(job->vm, addr + *done, write, job->policy,
				    &job->sink);
		if (err)
			break;
	}

	vsvm_stat_add(&job->sink, write ? VSVM_STAT(bytes_written) :
		      VSVM_STAT(bytes_read), *done);
	return err;
}

static int vsvm_gpu_copy(struct vsvm_job *job, unsigned long addr, void *buf,
			 size_t len, bool write, size_t *done)
{
	return __vsvm_gpu_copy(job, addr, buf, NULL, false, len, write, done);
}

/*
 * The ops go a bounce buffer's size at a time; when one fails, what was
 * read or copied before the failing page is still delivered, as a GPU
 * would have. READ and WRITE copy straight between the GPU's memory and
 * the user buffer while its pages are present (one copy); from the first
 * page that is not, the rest of the piece goes through the bounce buffer,
 * whose user copy may fault (the page may even be in VRAM).
 */
static int vsvm_op_read(struct vsvm_job *job, struct drm_vsvm_op *op)
{
	size_t len, got, more;
	void __user *user;
	u64 done;
	int err;

	for (done = 0; done < op->size; done += len) {
		len = min_t(u64, op->size - done, VSVM_BOUNCE_SIZE);
		user = u64_to_user_ptr(op->data + done);
		err = __vsvm_gpu_copy(job, op->gpu_addr + done, NULL, user, true,
				      len, false, &got);
		if (err == -EAGAIN) {
			err = vsvm_gpu_copy(job, op->gpu_addr + done + got,
					    job->bounce, len - got, false, &more);
			if (copy_to_user(user + got, job->bounce, more))
				return -EFAULT;
		}
		if (err)
			return err;
	}

	return 0;
}

static int vsvm_op_write(struct vsvm_job *job, struct drm_vsvm_op *op)
{
	size_t len, avail, put, more;
	void __user *user;
	u64 done;
	int err;

	for (done = 0; done < op->size; done += len) {
		len = min_t(u64, op->size - done, VSVM_BOUNCE_SIZE);
		user = u64_to_user_ptr(op->data + done);
		err = __vsvm_gpu_copy(job, op->gpu_addr + done, NULL, user, true,
				      len, true, &put);
		if (err != -EAGAIN) {
			if (err)
				return err;
			continue;
		}
		avail = len - put - copy_from_user(job->bounce, user + put,
						   len - put);
		err = vsvm_gpu_copy(job, op->gpu_addr + done + put, job->bounce,
				    avail, true, &more);
		if (err)
			return err;
		if (put + avail < len)
			return -EFAULT;
	}

	return 0;
}

static int vsvm_op_fill(struct vsvm_job *job, struct drm_vsvm_op *op)
{
	size_t len, put, n = min_t(u64, op->size, VSVM_BOUNCE_SIZE);
	u64 *pattern = job->bounce;
	unsigned int i;
	u64 done;
	int err;

	for (i = 0; i < n / sizeof(u64); i++)
		pattern[i] = op->data;

	for (done = 0; done < op->size; done += len) {
		len = min_t(u64, op->size - done, VSVM_BOUNCE_SIZE);
		/* Each piece starts a multiple of 8 bytes on: in phase. */
		err = vsvm_gpu_copy(job, op->gpu_addr + done, pattern, len, true,
				    &put);
		if (err)
			return err;
	}

	return 0;
}

static int vsvm_op_copy(struct vsvm_job *job, struct drm_vsvm_op *op)
{
	size_t len, got, put;
	u64 done;
	int err, werr;

	for (done = 0; done < op->size; done += len) {
		len = min_t(u64, op->size - done, VSVM_BOUNCE_SIZE);
		err = vsvm_gpu_copy(job, op->data + done, job->bounce, len, false,
				    &got);
		werr = vsvm_gpu_copy(job, op->gpu_addr + done, job->bounce, got,
				     true, &put);
		if (err || werr)
			return werr ?: err;
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
 * vsvm_bounce_alloc() - Allocate a bounce buffer for user copies
 * @size: Bytes, at most %VSVM_BOUNCE_SIZE.
 *
 * vmalloc() rather than kmalloc(): copies between user memory and the large
 * pages of the kernel's direct map run several times slower under QEMU TCG,
 * where this driver mostly runs, than with 4 KiB-mapped memory. Free with
 * vfree().
 *
 * Return: The buffer, or NULL.
 */
void *vsvm_bounce_alloc(size_t size)
{
	return vmalloc(size);
}

/*
 * Whether a signal ends the job before operation @i, with @i operations
 * done: only with DRM_VSVM_EXEC_INTERRUPTIBLE, and only once one
 * operation ran, so that every call makes progress.
 */
static bool vsvm_job_interrupted(const struct drm_vsvm_exec *args, u32 i)
{
	return (args->flags & DRM_VSVM_EXEC_INTERRUPTIBLE) && i &&
	       signal_pending(current);
}

/**
 * vsvm_engine_exec() - Run a job
 * @vm: The VM of the submitting file.
 * @args: The ioctl argument; @args->stats and @args->completed are filled.
 *
 * A signal never fails the job, as the caller could not tell which
 * operations ran: the job goes on, or with %DRM_VSVM_EXEC_INTERRUPTIBLE
 * ends between two operations with @args->completed telling how many ran.
 * Only a fatal signal fails it, and the task never sees that.
 *
 * Return: 0, also for a job a signal ended early; -EINVAL for a malformed
 * job; -ENOMEM; -EFAULT if @args->ops cannot be read or written back, or
 * the error of the first failing operation: -EFAULT, -EPERM, -EOPNOTSUPP,
 * -EBUSY, -ENOMEM, or -EINTR if the task was killed. See
 * DRM_IOCTL_VSVM_EXEC.
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

	if ((args->flags & ~(DRM_VSVM_EXEC_POLICY_MASK |
			     DRM_VSVM_EXEC_INTERRUPTIBLE)) || args->pad ||
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

	job.bounce = vsvm_bounce_alloc(VSVM_BOUNCE_SIZE);
	if (!job.bounce) {
		err = -ENOMEM;
		goto out_free;
	}

	for (i = 0; i < args->num_ops; i++) {
		err = vsvm_yield();
		if (err || vsvm_job_interrupted(args, i))
			break;
		err = vsvm_op_run(&job, &ops[i]);
		if (err)
			break;
		args->completed++;
	}

	if (copy_to_user(u64_to_user_ptr(args->ops), ops,
			 array_size(args->num_ops, sizeof(*ops))) && !err)
		err = -EFAULT;

	vfree(job.bounce);
out_free:
	kfree(ops);
	return err;
}
