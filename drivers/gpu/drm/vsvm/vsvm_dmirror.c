// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Copyright (c) 2026 The drm_gpusvm authors
 */

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/hmm.h>
#include <linux/highmem.h>
#include <linux/hugetlb_inline.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/rmap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/xarray.h>

#include "vsvm_drv.h"
#include "../../../../lib/test_hmm_uapi.h"

/**
 * DOC: vsvm HMM test front end
 *
 * With the module parameter ``dmirror=1`` (and ``num_devices`` >= 2), vsvm
 * devices 0 and 1 also appear as ``/dev/hmm_dmirror0`` and
 * ``/dev/hmm_dmirror1``, speaking the ioctl ABI of the kernel's HMM test
 * driver (``lib/test_hmm_uapi.h``), so that
 * ``tools/testing/selftests/mm/hmm-tests`` runs unmodified against
 * drm_gpusvm and drm_pagemap. With two GPUs of coherent memory
 * (``coherent_base``), these appear as ``/dev/hmm_dmirror2`` and ``3``,
 * test_hmm's DEVICE_COHERENT devices. The front end and ``test_hmm`` claim
 * the same device names: load one at a time. It does not exist with
 * ``dmirror=0``.
 *
 * It is a thin layer: each open file owns a &struct vsvm_vm of the device,
 * bound to the opener's address space, exactly like a DRM file.
 *
 * - READ and WRITE are GPU accesses through the VM's page table
 *   (vsvm_vm_gpu_copy(), as the software GPU does), a miss being a GPU
 *   page fault handled by vsvm_vm_fault(). As test_hmm's device, it uses
 *   the memory where it is (VSVM_POLICY_IN_PLACE): system memory is
 *   mapped, not migrated, and only MIGRATE_TO_DEV moves pages to the
 *   device; vsvm's own placement policies are for its render nodes.
 *   As in test_hmm, one "fault" (&hmm_dmirror_cmd.faults) services
 *   the whole rest of the request: the GPU faults in every unbound page
 *   from the miss to the end before it retries; a second fault is only
 *   counted if the CPU side invalidated part of it meanwhile. Data moves
 *   through a 64 KiB bounce buffer, so unlike test_hmm a request failing
 *   part way has already copied its first pieces (to the user buffer for
 *   READ, to memory for WRITE).
 * - MIGRATE_TO_DEV keeps test_hmm's semantics (dmirror_migrate_to_device()):
 *   -EINVAL if a page of the range is outside a readable VMA or in one
 *   migrate_vma_setup() refuses (hugetlb, VM_SPECIAL, DAX); otherwise
 *   every page core mm lets it move goes to this device's memory (and is
 *   mapped, as a prefetch does) with vsvm_vm_migrate(), and the range is
 *   read back through the GPU. As in test_hmm, a page that is neither in
 *   this device's memory nor readable by it fails the request with
 *   -ENOENT: a page in another device's memory that an explicit
 *   migration put there, or shared or file memory the device does not
 *   mirror. Anonymous private pages that stayed in system memory (a page
 *   core mm could not collect at that moment, no room in VRAM) are read
 *   there: the request succeeds and &hmm_dmirror_cmd.cpages, the number
 *   of pages in this device's memory after the migration, is smaller
 *   than npages. What GPU faults of vsvm's render nodes put in another
 *   device's memory for the same process (a placement test_hmm's ABI
 *   cannot ask for nor see) is first moved back to system memory
 *   (vsvm_vram_evict_faulted()) and then migrated.
 *   MIGRATE_TO_SYS evicts with vsvm_vm_migrate(); cpages counts the pages
 *   copied back.
 * - RELEASE evicts all of the device's memory (test_hmm frees its chunks).
 * - SNAPSHOT walks the CPU page table with hmm_range_fault() without
 *   faulting and encodes each page as test_hmm does.
 * - EXCLUSIVE and CHECK_EXCLUSIVE have no counterpart in the GPU SVM
 *   helpers, which use device-only placement for atomics: as in test_hmm,
 *   make_device_exclusive_range() marks the pages and a per-file table,
 *   kept valid by an MMU interval notifier, records them until the CPU
 *   takes them back.
 *
 * A request may cover the whole address space. Between two pieces of it (a
 * bounce buffer, a batch of pages, a page faulted in) it lets other tasks
 * run, and it ends with -EINTR once the task has been killed (test_hmm
 * does neither).
 */

#define VSVM_DMIRROR_NDEVICES	4	/* as test_hmm: 2 private, 2 coherent */
#define VSVM_DMIRROR_BATCH	64	/* pages per snapshot or exclusive step */
#define VSVM_DMIRROR_TRIES	16	/* faults without progress, batch retries */

/**
 * struct vsvm_dmirror_dev - One /dev/hmm_dmirror<N>
 * @cdev: The character device.
 * @dev: Its device, which gets the node.
 * @vdev: The vsvm device behind it.
 */
struct vsvm_dmirror_dev {
	struct cdev cdev;
	struct device dev;
	struct vsvm_device *vdev;
};

/**
 * struct vsvm_dmirror - One open file of the front end
 * @vm: The GPU VM of the file.
 * @ddev: The device file it was opened through.
 * @notifier: Invalidates @exclusive, over the whole address space.
 * @lock: Protects @exclusive and the snapshot sequence numbers; taken in
 *	invalidation callbacks: nothing under it allocates or sleeps on
 *	memory.
 * @exclusive: Pages made exclusive to the device, indexed by pfn of the
 *	virtual address; no references held (the notifier drops them).
 */
struct vsvm_dmirror {
	struct vsvm_vm *vm;
	struct vsvm_dmirror_dev *ddev;
	struct mmu_interval_notifier notifier;
	struct mutex lock; /* protects exclusive */
	struct xarray exclusive;
};

static dev_t vsvm_dmirror_devt;
static struct vsvm_dmirror_dev *vsvm_dmirror_devs[VSVM_DMIRROR_NDEVICES];

static void *vsvm_dmirror_owner(struct vsvm_dmirror *dm)
{
	return dm->vm->vdev->vram.owner;
}

static bool vsvm_dmirror_invalidate(struct mmu_interval_notifier *mni,
				    const struct mmu_notifier_range *range,
				    unsigned long cur_seq)
{
	struct vsvm_dmirror *dm = container_of(mni, struct vsvm_dmirror, notifier);
	unsigned long pfn;
	void *entry;

	/* Our own make_device_exclusive_range(): the entries are not set yet. */
	if (range->event == MMU_NOTIFY_EXCLUSIVE && range->owner == dm)
		return true;

	if (mmu_notifier_range_blockable(range))
		mutex_lock(&dm->lock);
	else if (!mutex_trylock(&dm->lock))
		return false;

	mmu_interval_set_seq(mni, cur_seq);
	xa_for_each_range(&dm->exclusive, pfn, entry, range->start >> PAGE_SHIFT,
			  (range->end - 1) >> PAGE_SHIFT)
		xa_erase(&dm->exclusive, pfn);

	mutex_unlock(&dm->lock);
	return true;
}

static const struct mmu_interval_notifier_ops vsvm_dmirror_notifier_ops = {
	.invalidate = vsvm_dmirror_invalidate,
};

static int vsvm_dmirror_open(struct inode *inode, struct file *filp)
{
	struct vsvm_dmirror_dev *ddev =
		container_of(inode->i_cdev, struct vsvm_dmirror_dev, cdev);
	struct vsvm_device *vdev = ddev->vdev;
	struct vsvm_dmirror *dm;
	int err;

	dm = kzalloc(sizeof(*dm), GFP_KERNEL);
	if (!dm)
		return -ENOMEM;
	dm->ddev = ddev;
	mutex_init(&dm->lock);
	xa_init(&dm->exclusive);

	dm->vm = vsvm_vm_create(vdev);
	if (IS_ERR(dm->vm)) {
		err = PTR_ERR(dm->vm);
		goto err_free;
	}

	err = mmu_interval_notifier_insert(&dm->notifier, current->mm, 0,
					   ULONG_MAX & PAGE_MASK,
					   &vsvm_dmirror_notifier_ops);
	if (err)
		goto err_vm;

	mutex_lock(&vdev->vm_list_lock);
	list_add_tail(&dm->vm->link, &vdev->vm_list);
	mutex_unlock(&vdev->vm_list_lock);

	filp->private_data = dm;
	return 0;

err_vm:
	vsvm_vm_destroy(dm->vm);
err_free:
	mutex_destroy(&dm->lock);
	kfree(dm);
	return err;
}

static int vsvm_dmirror_release(struct inode *inode, struct file *filp)
{
	struct vsvm_dmirror *dm = filp->private_data;
	struct vsvm_device *vdev = dm->vm->vdev;

	mmu_interval_notifier_remove(&dm->notifier);

	mutex_lock(&vdev->vm_list_lock);
	list_del(&dm->vm->link);
	mutex_unlock(&vdev->vm_list_lock);

	vsvm_vm_destroy(dm->vm);
	xa_destroy(&dm->exclusive);
	mutex_destroy(&dm->lock);
	kfree(dm);

	return 0;
}

/*
 * A GPU fault at @addr, where the GPU just missed. Like test_hmm's device,
 * fault in the rest of the request, up to @end, in one go, so that a page
 * missing later on was invalidated meanwhile and costs another fault.
 */
static int vsvm_dmirror_fault(struct vsvm_dmirror *dm, unsigned long addr,
			      unsigned long end, bool write)
{
	struct vsvm_stats_sink sink = { .vm = &dm->vm->stats };
	unsigned long a = addr;
	long mapped;
	int err;

	while (a < end) {
		/* A page at a time to the end of a request of any size. */
		err = vsvm_yield();
		if (err)
			return err;
		/* @addr needs no look: the miss is why we are here. */
		if (a != addr) {
			mapped = vsvm_vm_gpu_copy(dm->vm, a, NULL, end - a,
						  write, VSVM_POLICY_IN_PLACE,
						  NULL);
			if (mapped < 0)
				return mapped;
			if (mapped) {
				a += mapped;
				continue;
			}
		}
		err = vsvm_vm_fault(dm->vm, a, write, VSVM_POLICY_IN_PLACE,
				    &sink);
		/* Later pages fault again when the GPU gets there. */
		if (err)
			return a == addr ? err : 0;
		a += PAGE_SIZE;
	}

	return 0;
}

/**
 * struct vsvm_dmirror_xfer - One READ, WRITE, EXCLUSIVE or MIGRATE_TO_DEV
 * read-back
 * @dm: The file.
 * @cmd: The request; &hmm_dmirror_cmd.cpages counts the pages moved.
 * @write: Data goes from the user buffer to the device.
 * @faults: Where GPU faults are counted (READ and WRITE).
 * @direct: A step copies straight to or from the user buffer, not through
 *	the bounce buffer.
 * @user: With @direct, the user address of the step's first byte (which
 *	may be anything the caller passed, NULL included).
 */
struct vsvm_dmirror_xfer {
	struct vsvm_dmirror *dm;
	struct hmm_dmirror_cmd *cmd;
	bool write;
	u64 *faults;
	bool direct;
	void __user *user;
};

/*
 * A step's copy of @len bytes at @addr, @off bytes into the step: to or
 * from the user buffer if the step goes straight there, else @bounce. With
 * @vram, count the pages of the device's memory it went through.
 */
static long vsvm_dmirror_copy(struct vsvm_dmirror_xfer *x, unsigned long addr,
			      void *bounce, size_t off, size_t len,
			      unsigned long *vram)
{
	if (x->direct)
		return vsvm_vm_gpu_copy_user(x->dm->vm, addr, x->user + off,
					     len, x->write,
					     VSVM_POLICY_IN_PLACE, vram);
	return vsvm_vm_gpu_copy(x->dm->vm, addr, bounce + off, len, x->write,
				VSVM_POLICY_IN_PLACE, vram);
}

/*
 * Move the data of a request between the user buffer and the device, a
 * bounce buffer at a time; @step moves @len bytes at @addr between the
 * device and @bounce. Each piece first goes straight between the device and
 * the user buffer, one copy instead of two; if part of the user buffer is
 * not present (-EAGAIN), the piece is done again through @bounce, whose
 * user copy may fault, and which is allocated only then. Moving the same
 * bytes twice changes nothing, and the page count of the first attempt is
 * dropped.
 */
static int vsvm_dmirror_xfer(struct vsvm_dmirror_xfer *x,
			     int (*step)(struct vsvm_dmirror_xfer *x,
					 unsigned long addr, void *bounce,
					 size_t len))
{
	u64 size = x->cmd->npages << PAGE_SHIFT, done;
	size_t chunk = min_t(u64, size, VSVM_BOUNCE_SIZE);
	void __user *uptr = u64_to_user_ptr(x->cmd->ptr);
	void *bounce = NULL;
	int err = 0;

	for (done = 0; done < size && !err; done += chunk) {
		size_t len = min_t(u64, size - done, chunk);
		u64 cpages = x->cmd->cpages;

		err = vsvm_yield();
		if (err)
			break;
		x->direct = true;
		x->user = uptr + done;
		err = step(x, x->cmd->addr + done, NULL, len);
		x->direct = false;
		if (err != -EAGAIN)
			continue;
		x->cmd->cpages = cpages;
		err = 0;
		/* Only now: most requests never need it. */
		if (!bounce) {
			bounce = vsvm_bounce_alloc(chunk);
			if (!bounce) {
				err = -ENOMEM;
				break;
			}
		}
		if (x->write && copy_from_user(bounce, uptr + done, len)) {
			err = -EFAULT;
			break;
		}
		err = step(x, x->cmd->addr + done, bounce, len);
		if (!err && !x->write && copy_to_user(uptr + done, bounce, len))
			err = -EFAULT;
	}

	vfree(bounce);
	return err;
}

/* READ and WRITE: a GPU copy, faulting in the rest of the request on a miss. */
static int vsvm_dmirror_gpu_step(struct vsvm_dmirror_xfer *x,
				 unsigned long addr, void *bounce, size_t len)
{
	unsigned long end = x->cmd->addr + (x->cmd->npages << PAGE_SHIFT);
	unsigned int tries = 0;
	size_t done = 0;
	long n;
	int err;

	while (done < len) {
		n = vsvm_dmirror_copy(x, addr + done, bounce, done, len - done,
				      NULL);
		if (n < 0)
			return n;
		if (n) {
			done += n;
			x->cmd->cpages += n >> PAGE_SHIFT;
			tries = 0;
			continue;
		}
		if (++tries > VSVM_DMIRROR_TRIES)
			return -EBUSY;
		(*x->faults)++;
		err = vsvm_dmirror_fault(x->dm, addr + done, end, x->write);
		if (err)
			return err;
	}

	return 0;
}

static int vsvm_dmirror_rw(struct vsvm_dmirror *dm, struct hmm_dmirror_cmd *cmd,
			   bool write, u64 *faults)
{
	struct vsvm_dmirror_xfer x = {
		.dm = dm, .cmd = cmd, .write = write, .faults = faults,
	};

	return vsvm_dmirror_xfer(&x, vsvm_dmirror_gpu_step);
}

/*
 * test_hmm's encoding of one hmm_range_fault() entry, for the device whose
 * owner token is @owner.
 */
static u8 vsvm_dmirror_prot(void *owner, unsigned long entry)
{
	struct page *page;
	u8 perm;

	if (entry & HMM_PFN_ERROR)
		return HMM_DMIRROR_PROT_ERROR;
	if (!(entry & HMM_PFN_VALID))
		return HMM_DMIRROR_PROT_NONE;

	page = hmm_pfn_to_page(entry);
	if (is_device_private_page(page))
		perm = page->pgmap->owner == owner ?
		       HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL :
		       HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE;
	else if (is_device_coherent_page(page))
		perm = page->pgmap->owner == owner ?
		       HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL :
		       HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE;
	else if (is_zero_pfn(page_to_pfn(page)))
		perm = HMM_DMIRROR_PROT_ZERO;
	else
		perm = HMM_DMIRROR_PROT_NONE;

	perm |= entry & HMM_PFN_WRITE ? HMM_DMIRROR_PROT_WRITE :
					HMM_DMIRROR_PROT_READ;
	if (hmm_pfn_to_map_order(entry) + PAGE_SHIFT == PMD_SHIFT)
		perm |= HMM_DMIRROR_PROT_PMD;
	else if (hmm_pfn_to_map_order(entry) + PAGE_SHIFT == PUD_SHIFT)
		perm |= HMM_DMIRROR_PROT_PUD;

	return perm;
}

/**
 * struct vsvm_dmirror_snap - A temporary notifier over one snapshot batch
 * @notifier: The notifier.
 * @dm: The file taking the snapshot.
 */
struct vsvm_dmirror_snap {
	struct mmu_interval_notifier notifier;
	struct vsvm_dmirror *dm;
};

static bool vsvm_dmirror_snap_invalidate(struct mmu_interval_notifier *mni,
					 const struct mmu_notifier_range *range,
					 unsigned long cur_seq)
{
	struct vsvm_dmirror_snap *snap =
		container_of(mni, struct vsvm_dmirror_snap, notifier);

	if (mmu_notifier_range_blockable(range))
		mutex_lock(&snap->dm->lock);
	else if (!mutex_trylock(&snap->dm->lock))
		return false;
	/* Any invalidation spoils the whole batch. */
	mmu_interval_set_seq(mni, cur_seq);
	mutex_unlock(&snap->dm->lock);

	return true;
}

static const struct mmu_interval_notifier_ops vsvm_dmirror_snap_ops = {
	.invalidate = vsvm_dmirror_snap_invalidate,
};

/*
 * Encode [start, end), at most VSVM_DMIRROR_BATCH pages, into @perm as the
 * device whose owner token is @owner sees them: its own device-private
 * pages are reported, those of other devices are not present.
 */
static int vsvm_dmirror_snapshot_batch(struct vsvm_dmirror *dm,
				       struct mm_struct *mm,
				       unsigned long start, unsigned long end,
				       void *owner, u8 *perm)
{
	unsigned long pfns[VSVM_DMIRROR_BATCH];
	unsigned long timeout = jiffies +
				msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	struct vsvm_dmirror_snap snap = { .dm = dm };
	struct hmm_range range = {
		.notifier = &snap.notifier,
		.start = start,
		.end = end,
		.hmm_pfns = pfns,
		.dev_private_owner = owner,
	};
	unsigned long i;
	int err;

	err = mmu_interval_notifier_insert(&snap.notifier, mm, start, end - start,
					   &vsvm_dmirror_snap_ops);
	if (err)
		return err;

	for (;;) {
		err = vsvm_yield();
		if (err)
			goto out;
		if (time_after(jiffies, timeout)) {
			err = -EBUSY;
			goto out;
		}
		range.notifier_seq = mmu_interval_read_begin(&snap.notifier);
		mmap_read_lock(mm);
		err = hmm_range_fault(&range);
		mmap_read_unlock(mm);
		if (err == -EBUSY)
			continue;
		if (err)
			goto out;

		mutex_lock(&dm->lock);
		if (!mmu_interval_read_retry(&snap.notifier, range.notifier_seq))
			break;
		mutex_unlock(&dm->lock);
	}

	for (i = 0; i < (end - start) >> PAGE_SHIFT; i++)
		perm[i] = vsvm_dmirror_prot(owner, pfns[i]);
	mutex_unlock(&dm->lock);

out:
	mmu_interval_notifier_remove(&snap.notifier);
	return err;
}

/*
 * SNAPSHOT: copy the encoding of [start, start + npages pages) to @uptr,
 * counting the pages in @cpages.
 */
static int vsvm_dmirror_snapshot_range(struct vsvm_dmirror *dm,
				       unsigned long start, u64 npages,
				       u8 __user *uptr, u64 *cpages)
{
	struct mm_struct *mm = dm->vm->mm;
	unsigned long end = start + (npages << PAGE_SHIFT);
	unsigned long addr, next, n;
	u8 perm[VSVM_DMIRROR_BATCH];
	int err = 0;

	if (!mmget_not_zero(mm))
		return -EINVAL;

	for (addr = start; addr < end; addr = next) {
		next = min(end, addr + VSVM_DMIRROR_BATCH * PAGE_SIZE);
		n = (next - addr) >> PAGE_SHIFT;

		/* Gives way and checks for a fatal signal on each try. */
		err = vsvm_dmirror_snapshot_batch(dm, mm, addr, next,
						  vsvm_dmirror_owner(dm), perm);
		if (err)
			break;

		if (copy_to_user(uptr, perm, n)) {
			err = -EFAULT;
			break;
		}
		uptr += n;
		*cpages += n;
	}

	mmput(mm);
	return err;
}

/*
 * As test_hmm's migrations: every page of the range must be in a readable
 * VMA that migrate_vma_setup() accepts (not hugetlb, VM_SPECIAL or DAX).
 */
static int vsvm_dmirror_check_vmas(struct vsvm_dmirror *dm, unsigned long start,
				   unsigned long end)
{
	struct mm_struct *mm = dm->vm->mm;
	struct vm_area_struct *vma;
	unsigned long addr;
	int err = 0;

	if (!mmget_not_zero(mm))
		return -EINVAL;
	mmap_read_lock(mm);
	for (addr = start; addr < end; addr = vma->vm_end) {
		vma = vma_lookup(mm, addr);
		if (!vma || !(vma->vm_flags & VM_READ) ||
		    is_vm_hugetlb_page(vma) || (vma->vm_flags & VM_SPECIAL) ||
		    vma_is_dax(vma)) {
			err = -EINVAL;
			break;
		}
	}
	mmap_read_unlock(mm);
	mmput(mm);

	return err;
}

/* Whether an encoding is a device page of the snapshot's owner. */
static bool vsvm_dmirror_prot_local(u8 perm)
{
	u8 kind = perm & ~(HMM_DMIRROR_PROT_READ | HMM_DMIRROR_PROT_WRITE);

	return perm != HMM_DMIRROR_PROT_ERROR &&
	       (kind == HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL ||
		kind == HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL);
}

/*
 * Count in @count the pages of [start, end) that are in the memory of the
 * device whose owner token is @owner.
 */
static int vsvm_dmirror_count_owned(struct vsvm_dmirror *dm,
				    unsigned long start, unsigned long end,
				    void *owner, u64 *count)
{
	unsigned long addr, next, i;
	u8 perm[VSVM_DMIRROR_BATCH];
	int err;

	for (addr = start; addr < end; addr = next) {
		next = min(end, addr + VSVM_DMIRROR_BATCH * PAGE_SIZE);
		err = vsvm_dmirror_snapshot_batch(dm, dm->vm->mm, addr, next,
						  owner, perm);
		if (err)
			return err;
		for (i = 0; i < (next - addr) >> PAGE_SHIFT; i++)
			*count += vsvm_dmirror_prot_local(perm[i]);
	}

	return 0;
}

/*
 * Whether the read-back of MIGRATE_TO_DEV may fault in the page at @addr,
 * which the device does not map; @perm is its encoding after the
 * migration. Yes for a page of this device's memory, and for an anonymous
 * private page that stayed in system memory or was never populated (core
 * mm could not collect it at that moment, or VRAM was full). No for what
 * test_hmm would not have in its page table either: shared or file memory
 * the device does not mirror. (Pages of another device's memory were
 * looked for before the migration.)
 */
static bool vsvm_dmirror_may_fault(struct vsvm_dmirror *dm,
				   unsigned long addr, u8 perm)
{
	struct mm_struct *mm = dm->vm->mm;
	struct vm_area_struct *vma;
	u8 kind = perm & ~(HMM_DMIRROR_PROT_READ | HMM_DMIRROR_PROT_WRITE |
			   HMM_DMIRROR_PROT_PMD | HMM_DMIRROR_PROT_PUD);
	bool ok;

	if (perm == HMM_DMIRROR_PROT_ERROR)
		return false;
	if (vsvm_dmirror_prot_local(perm))
		return true;
	if (kind != HMM_DMIRROR_PROT_NONE && kind != HMM_DMIRROR_PROT_ZERO)
		return false;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	ok = vma && vma_is_anonymous(vma) && !(vma->vm_flags & VM_SHARED);
	mmap_read_unlock(mm);

	return ok;
}

/*
 * MIGRATE_TO_DEV read-back of one bounce buffer: copy through the GPU page
 * table, faulting in only what vsvm_dmirror_may_fault() allows, and count
 * the pages read from the device's memory: what the migration left there.
 */
static int vsvm_dmirror_migrated_step(struct vsvm_dmirror_xfer *x,
				      unsigned long addr, void *bounce,
				      size_t len)
{
	struct vsvm_stats_sink sink = { .vm = &x->dm->vm->stats };
	unsigned long vram = 0;
	unsigned int tries = 0;
	size_t done = 0;
	long n;
	u8 perm;
	int err;

	while (done < len) {
		n = vsvm_dmirror_copy(x, addr + done, bounce, done, len - done,
				      &vram);
		x->cmd->cpages += vram;
		vram = 0;
		if (n < 0)
			return n;
		if (n) {
			done += n;
			tries = 0;
			continue;
		}
		/* A miss: what is there? */
		err = vsvm_dmirror_snapshot_batch(x->dm, x->dm->vm->mm,
						  addr + done,
						  addr + done + PAGE_SIZE,
						  vsvm_dmirror_owner(x->dm),
						  &perm);
		if (err)
			return err;
		if (!vsvm_dmirror_may_fault(x->dm, addr + done, perm))
			return -ENOENT;
		if (++tries > VSVM_DMIRROR_TRIES)
			return -EBUSY;
		err = vsvm_vm_fault(x->dm->vm, addr + done, false,
				    VSVM_POLICY_IN_PLACE, &sink);
		if (err)
			return err;
	}

	return 0;
}

static int vsvm_dmirror_migrate_to_dev(struct vsvm_dmirror *dm,
				       struct hmm_dmirror_cmd *cmd)
{
	unsigned long start = cmd->addr;
	unsigned long end = start + (cmd->npages << PAGE_SHIFT);
	struct vsvm_stats_sink sink = { .vm = &dm->vm->stats };
	struct vsvm_dmirror_xfer x = { .dm = dm, .cmd = cmd };
	u64 foreign = 0;
	unsigned int i;
	int err;

	err = vsvm_dmirror_check_vmas(dm, start, end);
	if (err)
		return err;

	/*
	 * What GPU faults put in another device's memory comes back. What an
	 * explicit migration put there stays, as test_hmm only collects
	 * system memory; test_hmm's read-back does not fault it in (not
	 * even another device's coherent memory, which the device could
	 * read), so the request fails once the rest moved.
	 */
	for (i = 0; i < VSVM_DMIRROR_NDEVICES; i++) {
		struct vsvm_dmirror_dev *other = vsvm_dmirror_devs[i];
		struct vsvm_vram *vram;

		if (!other || other == dm->ddev)
			continue;
		vram = &other->vdev->vram;
		if (!vsvm_vram_evict_faulted(vram, dm->vm->mm, start, end))
			continue;
		err = vsvm_dmirror_count_owned(dm, start, end, vram->owner,
					       &foreign);
		if (err)
			return err;
	}

	err = vsvm_vm_migrate(dm->vm, start, end, DRM_VSVM_MIGRATE_TO_VRAM,
			      &sink);
	/* Without room in VRAM, pages are read where they are. */
	if (err && err != -ENOSPC)
		return err;
	if (foreign)
		return -ENOENT;

	/*
	 * Return what the device holds for verification; the pages read from
	 * its memory are the count of the request, as test_hmm's are the
	 * pages it moved.
	 */
	return vsvm_dmirror_xfer(&x, vsvm_dmirror_migrated_step);
}

static int vsvm_dmirror_migrate_to_sys(struct vsvm_dmirror *dm,
				       struct hmm_dmirror_cmd *cmd)
{
	unsigned long end = cmd->addr + (cmd->npages << PAGE_SHIFT);
	struct drm_vsvm_stats stats = {};
	struct vsvm_stats_sink sink = { .vm = &dm->vm->stats, .job = &stats };
	int err;

	err = vsvm_dmirror_check_vmas(dm, cmd->addr, end);
	if (err)
		return err;

	err = vsvm_vm_migrate(dm->vm, cmd->addr, end,
			      DRM_VSVM_MIGRATE_TO_SYSTEM, &sink);
	cmd->cpages = stats.pages_to_ram;

	return err;
}

/* Record the pages of [start, end) that were made exclusive. */
static unsigned long vsvm_dmirror_exclusive_map(struct vsvm_dmirror *dm,
						unsigned long start,
						unsigned long end,
						struct page **pages,
						unsigned long seq)
{
	unsigned long i, n = (end - start) >> PAGE_SHIFT, mapped = 0;

	mutex_lock(&dm->lock);
	if (mmu_interval_read_retry(&dm->notifier, seq))
		goto out;
	for (i = 0; i < n; i++) {
		if (!pages[i])
			continue;
		if (xa_is_err(xa_store(&dm->exclusive, (start >> PAGE_SHIFT) + i,
				       pages[i], GFP_NOWAIT)))
			break;
		mapped++;
	}
out:
	mutex_unlock(&dm->lock);

	return mapped;
}

/* EXCLUSIVE read-back: copy the pages recorded as exclusive, as test_hmm. */
static int vsvm_dmirror_exclusive_step(struct vsvm_dmirror_xfer *x,
				       unsigned long addr, void *bounce,
				       size_t len)
{
	size_t off;
	int err = 0;

	/* Copied under dm->lock: through the bounce buffer only. */
	if (x->direct)
		return -EAGAIN;

	mutex_lock(&x->dm->lock);
	for (off = 0; off < len; off += PAGE_SIZE) {
		struct page *page = xa_load(&x->dm->exclusive,
					    (addr + off) >> PAGE_SHIFT);

		if (!page) {
			err = -ENOENT;
			break;
		}
		memcpy_from_page(bounce + off, page, 0, PAGE_SIZE);
	}
	mutex_unlock(&x->dm->lock);
	x->cmd->cpages += off >> PAGE_SHIFT;

	return err;
}

static int vsvm_dmirror_exclusive(struct vsvm_dmirror *dm,
				  struct hmm_dmirror_cmd *cmd)
{
	struct vsvm_dmirror_xfer x = { .dm = dm, .cmd = cmd };
	unsigned long start = cmd->addr;
	unsigned long end = start + (cmd->npages << PAGE_SHIFT);
	struct mm_struct *mm = dm->vm->mm;
	struct page *pages[VSVM_DMIRROR_BATCH];
	unsigned long addr, next, seq, mapped;
	int tries, ret, i;

	if (!mmget_not_zero(mm))
		return -EINVAL;

	for (addr = start; addr < end; addr = next) {
		next = min(end, addr + VSVM_DMIRROR_BATCH * PAGE_SIZE);
		mapped = 0;
		for (tries = 0; tries < VSVM_DMIRROR_TRIES; tries++) {
			ret = vsvm_yield();
			if (ret) {
				mmput(mm);
				return ret;
			}
			seq = mmu_interval_read_begin(&dm->notifier);
			mmap_read_lock(mm);
			ret = make_device_exclusive_range(mm, addr, next, pages, dm);
			mmap_read_unlock(mm);
			/* Only record complete batches, as test_hmm does. */
			if (ret == (next - addr) >> PAGE_SHIFT)
				mapped = vsvm_dmirror_exclusive_map(dm, addr, next,
								    pages, seq);
			for (i = 0; i < ret; i++) {
				if (pages[i]) {
					unlock_page(pages[i]);
					put_page(pages[i]);
				}
			}
			if (ret < 0 || mapped == (next - addr) >> PAGE_SHIFT)
				break;
		}
		if (mapped != (next - addr) >> PAGE_SHIFT) {
			mmput(mm);
			return -EBUSY;
		}
	}
	mmput(mm);

	/* Return what the device holds for verification. */
	return vsvm_dmirror_xfer(&x, vsvm_dmirror_exclusive_step);
}

static int vsvm_dmirror_check_exclusive(struct vsvm_dmirror *dm,
					struct hmm_dmirror_cmd *cmd)
{
	unsigned long first = cmd->addr >> PAGE_SHIFT;
	unsigned long pfn = first;
	int err = 0;

	mutex_lock(&dm->lock);
	if (xa_find(&dm->exclusive, &pfn, first + cmd->npages - 1, XA_PRESENT))
		err = -EPERM;
	mutex_unlock(&dm->lock);

	return err;
}

static long vsvm_dmirror_ioctl(struct file *filp, unsigned int command,
			       unsigned long arg)
{
	struct vsvm_dmirror *dm = filp->private_data;
	void __user *uarg = (void __user *)arg;
	struct hmm_dmirror_cmd cmd;
	int err;

	if (copy_from_user(&cmd, uarg, sizeof(cmd)))
		return -EFAULT;

	if (!PAGE_ALIGNED(cmd.addr) || !cmd.npages ||
	    cmd.npages > (TASK_SIZE >> PAGE_SHIFT) ||
	    cmd.addr + (cmd.npages << PAGE_SHIFT) > (TASK_SIZE & PAGE_MASK) ||
	    cmd.addr >= cmd.addr + (cmd.npages << PAGE_SHIFT))
		return -EINVAL;

	/* The VM mirrors the opener's address space only. */
	if (current->mm != dm->vm->mm)
		return -EACCES;

	cmd.cpages = 0;
	cmd.faults = 0;

	switch (command) {
	case HMM_DMIRROR_READ:
		err = vsvm_dmirror_rw(dm, &cmd, false, &cmd.faults);
		break;
	case HMM_DMIRROR_WRITE:
		err = vsvm_dmirror_rw(dm, &cmd, true, &cmd.faults);
		break;
	case HMM_DMIRROR_MIGRATE_TO_DEV:
		err = vsvm_dmirror_migrate_to_dev(dm, &cmd);
		break;
	case HMM_DMIRROR_MIGRATE_TO_SYS:
		err = vsvm_dmirror_migrate_to_sys(dm, &cmd);
		break;
	case HMM_DMIRROR_EXCLUSIVE:
		err = vsvm_dmirror_exclusive(dm, &cmd);
		break;
	case HMM_DMIRROR_CHECK_EXCLUSIVE:
		err = vsvm_dmirror_check_exclusive(dm, &cmd);
		break;
	case HMM_DMIRROR_SNAPSHOT:
		err = vsvm_dmirror_snapshot_range(dm, cmd.addr, cmd.npages,
						  u64_to_user_ptr(cmd.ptr),
						  &cmd.cpages);
		break;
	case HMM_DMIRROR_RELEASE:
		vsvm_vram_evict_all(&dm->vm->vdev->vram);
		err = 0;
		break;
	default:
		return -EINVAL;
	}
	if (err)
		return err;

	if (copy_to_user(uarg, &cmd, sizeof(cmd)))
		return -EFAULT;

	return 0;
}

/* As test_hmm: private zeroed kernel pages (hmm-tests' mixedmap case). */
static int vsvm_dmirror_mmap(struct file *filp, struct vm_area_struct *vma)
{
	unsigned long addr;

	for (addr = vma->vm_start; addr < vma->vm_end; addr += PAGE_SIZE) {
		struct page *page;
		int err;

		page = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!page)
			return -ENOMEM;

		err = vm_insert_page(vma, addr, page);
		put_page(page);
		if (err)
			return err;
	}

	return 0;
}

static const struct file_operations vsvm_dmirror_fops = {
	.owner = THIS_MODULE,
	.open = vsvm_dmirror_open,
	.release = vsvm_dmirror_release,
	.mmap = vsvm_dmirror_mmap,
	.unlocked_ioctl = vsvm_dmirror_ioctl,
	.llseek = default_llseek,
};

static void vsvm_dmirror_dev_release(struct device *dev)
{
	kfree(container_of(dev, struct vsvm_dmirror_dev, dev));
}

static struct vsvm_dmirror_dev *
vsvm_dmirror_dev_create(struct vsvm_device *vdev, unsigned int id)
{
	struct vsvm_dmirror_dev *ddev;
	int err;

	ddev = kzalloc(sizeof(*ddev), GFP_KERNEL);
	if (!ddev)
		return ERR_PTR(-ENOMEM);
	ddev->vdev = vdev;

	cdev_init(&ddev->cdev, &vsvm_dmirror_fops);
	ddev->cdev.owner = THIS_MODULE;
	device_initialize(&ddev->dev);
	ddev->dev.devt = MKDEV(MAJOR(vsvm_dmirror_devt), id);
	ddev->dev.parent = vdev->drm.dev;
	ddev->dev.release = vsvm_dmirror_dev_release;

	err = dev_set_name(&ddev->dev, "hmm_dmirror%u", id);
	if (!err)
		err = cdev_device_add(&ddev->cdev, &ddev->dev);
	if (err) {
		put_device(&ddev->dev);
		return ERR_PTR(err);
	}

	return ddev;
}

/**
 * vsvm_dmirror_init() - Create /dev/hmm_dmirror0 to 3
 * @vdevs: The vsvm devices: the first two with private memory get
 *	/dev/hmm_dmirror0 and 1, the first two with coherent memory, if any,
 *	/dev/hmm_dmirror2 and 3.
 * @n: Number of entries of @vdevs.
 *
 * Return: 0, -EINVAL with fewer than two private devices, or the error of
 * the character device registration (-EEXIST while test_hmm is loaded).
 */
int vsvm_dmirror_init(struct vsvm_device **vdevs, unsigned int n)
{
	unsigned int i, nprivate = 0, ncoherent = 0;
	int err;

	err = alloc_chrdev_region(&vsvm_dmirror_devt, 0, VSVM_DMIRROR_NDEVICES,
				  "HMM_DMIRROR");
	if (err)
		return err;

	for (i = 0; i < n; i++) {
		struct vsvm_dmirror_dev *ddev;
		unsigned int id;

		if (!vdevs[i]->vram.coherent && nprivate < 2)
			id = nprivate++;
		else if (vdevs[i]->vram.coherent && ncoherent < 2)
			id = 2 + ncoherent++;
		else
			continue;

		ddev = vsvm_dmirror_dev_create(vdevs[i], id);
		if (IS_ERR(ddev)) {
			vsvm_dmirror_fini();
			return PTR_ERR(ddev);
		}
		vsvm_dmirror_devs[id] = ddev;
	}
	if (nprivate < 2) {
		vsvm_dmirror_fini();
		return -EINVAL;
	}

	return 0;
}

/**
 * vsvm_dmirror_fini() - Remove the device files of vsvm_dmirror_init()
 *
 * Open files pin the module, so none is left when this runs at unload.
 */
void vsvm_dmirror_fini(void)
{
	unsigned int i;

	for (i = 0; i < VSVM_DMIRROR_NDEVICES; i++) {
		struct vsvm_dmirror_dev *ddev = vsvm_dmirror_devs[i];

		if (!ddev)
			continue;
		cdev_device_del(&ddev->cdev, &ddev->dev);
		put_device(&ddev->dev);
		vsvm_dmirror_devs[i] = NULL;
	}
	if (vsvm_dmirror_devt) {
		unregister_chrdev_region(vsvm_dmirror_devt, VSVM_DMIRROR_NDEVICES);
		vsvm_dmirror_devt = 0;
	}
}
