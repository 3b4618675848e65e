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
 * DOC: vsvm uAPI rules
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
 * DOC: GPU VM and jobs
 *
 * Opening a vsvm render node creates a GPU VM bound to the address space of
 * the opening process: GPU address X is CPU address X. Only that process
 * may use the file; a forked child or a process the descriptor was passed
 * to gets -EACCES.
 *
 * Work is submitted with DRM_IOCTL_VSVM_EXEC as an array of struct
 * drm_vsvm_op, executed in order by a software GPU that walks its own page
 * table. A missing or read-only page-table entry is a GPU page fault: the
 * driver mirrors the CPU page (faulting it in if needed), possibly migrates
 * it to device memory first, binds it and resumes the job. An access the
 * CPU could not make either (unmapped memory, PROT_NONE, a write to
 * read-only memory) fails the job with -EFAULT or -EPERM.
 *
 * Placement (&drm_vsvm_exec.flags, DRM_VSVM_EXEC_POLICY_*):
 *
 * - %DRM_VSVM_POLICY_MIGRATE (default): a GPU fault migrates the anonymous
 *   pages of private mappings to device memory when there is room (evicting least
 *   recently used device allocations otherwise); other memory is used in
 *   place.
 * - %DRM_VSVM_POLICY_SYSTEM: the GPU uses system memory, migrating device
 *   memory back if needed.
 * - %DRM_VSVM_POLICY_DEVICE: the GPU only uses device memory (as hardware
 *   atomics require); memory that cannot be migrated fails the job with
 *   -EOPNOTSUPP.
 */

/**
 * enum drm_vsvm_ioctl_id - ioctl numbers
 *
 * Place new ioctls at the end; never reuse or renumber.
 */
enum drm_vsvm_ioctl_id {
	/** @DRM_VSVM_QUERY: Describe the device, see struct drm_vsvm_query. */
	DRM_VSVM_QUERY = 0,

	/** @DRM_VSVM_EXEC: Run a job, see struct drm_vsvm_exec. */
	DRM_VSVM_EXEC,

	/** @DRM_VSVM_MIGRATE: Move a range, see struct drm_vsvm_migrate. */
	DRM_VSVM_MIGRATE,

	/** @DRM_VSVM_VM_STATS: Read counters, see struct drm_vsvm_vm_stats. */
	DRM_VSVM_VM_STATS,

	/**
	 * @DRM_VSVM_VM_SET_PARAM: Tune the VM, see struct
	 * drm_vsvm_vm_set_param.
	 */
	DRM_VSVM_VM_SET_PARAM,
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

	/**
	 * @device_index: Index of this virtual GPU, 0 to num_devices - 1;
	 * the GPUs with coherent memory come after those with private memory.
	 */
	__u32 device_index;

	/** @num_devices: Number of vsvm devices in the system. */
	__u32 num_devices;

	/** @vram_used: Bytes of device memory allocated right now. */
	__u64 vram_used;

	/**
	 * @pages_to_vram: Pages the copy engine moved into this device's
	 * VRAM since the driver was loaded, for any process.
	 */
	__u64 pages_to_vram;

	/**
	 * @pages_to_ram: Pages the copy engine moved out of this device's
	 * VRAM since the driver was loaded: CPU faults, evictions, explicit
	 * migrations.
	 */
	__u64 pages_to_ram;

	/** @evictions: Allocations evicted since the driver was loaded. */
	__u64 evictions;

	/**
	 * @memory_type: What the device memory is: %DRM_VSVM_MEMORY_PRIVATE
	 * (the CPU cannot access it: a CPU touch migrates the data back to
	 * system memory) or %DRM_VSVM_MEMORY_COHERENT (the CPU reads and
	 * writes it in place).
	 */
	__u32 memory_type;

	/** @pad2: Must be zero. */
	__u32 pad2;

	/**
	 * @pages_from_peer: Of @pages_to_vram, the pages copied straight
	 * from a linked GPU's VRAM (device-to-device migration, vsvm loaded
	 * with link=1), not through system memory.
	 */
	__u64 pages_from_peer;
};

/* Values of &drm_vsvm_query.memory_type. */
#define DRM_VSVM_MEMORY_PRIVATE		0
#define DRM_VSVM_MEMORY_COHERENT	1

/**
 * enum drm_vsvm_op_code - Operations of the software GPU
 */
enum drm_vsvm_op_code {
	/**
	 * @DRM_VSVM_OP_READ: The GPU reads &drm_vsvm_op.size bytes at
	 * &drm_vsvm_op.gpu_addr and stores them in the user buffer at
	 * &drm_vsvm_op.data.
	 */
	DRM_VSVM_OP_READ = 1,

	/**
	 * @DRM_VSVM_OP_WRITE: The GPU writes the &drm_vsvm_op.size bytes of
	 * the user buffer at &drm_vsvm_op.data to &drm_vsvm_op.gpu_addr.
	 */
	DRM_VSVM_OP_WRITE,

	/**
	 * @DRM_VSVM_OP_FILL: The GPU fills &drm_vsvm_op.size bytes at
	 * &drm_vsvm_op.gpu_addr with the 64-bit little-endian pattern
	 * &drm_vsvm_op.data; gpu_addr and size must be multiples of 8.
	 */
	DRM_VSVM_OP_FILL,

	/**
	 * @DRM_VSVM_OP_COPY: The GPU copies &drm_vsvm_op.size bytes from GPU
	 * address &drm_vsvm_op.data to &drm_vsvm_op.gpu_addr. The two ranges
	 * must not overlap.
	 */
	DRM_VSVM_OP_COPY,

	/**
	 * @DRM_VSVM_OP_ATOMIC_ADD: The GPU atomically adds &drm_vsvm_op.data
	 * to the naturally aligned u64 at &drm_vsvm_op.gpu_addr
	 * (&drm_vsvm_op.size must be 8) and returns the previous value in
	 * &drm_vsvm_op.result. Runs with %DRM_VSVM_POLICY_DEVICE placement
	 * whatever the job's policy.
	 */
	DRM_VSVM_OP_ATOMIC_ADD,
};

/**
 * struct drm_vsvm_op - One operation of a job
 */
struct drm_vsvm_op {
	/** @code: An &enum drm_vsvm_op_code. */
	__u32 code;

	/** @flags: Must be zero. */
	__u32 flags;

	/** @gpu_addr: GPU (= CPU) virtual address the operation targets. */
	__u64 gpu_addr;

	/** @size: Number of bytes, nonzero. */
	__u64 size;

	/**
	 * @data: User pointer, source GPU address, fill pattern or addend,
	 * depending on @code.
	 */
	__u64 data;

	/** @result: Output of @code, if any. Ignored on input. */
	__u64 result;
};

/**
 * struct drm_vsvm_stats - Counters of GPU SVM activity
 *
 * Returned per job by DRM_IOCTL_VSVM_EXEC (what that job caused) and per
 * VM by DRM_IOCTL_VSVM_VM_STATS (since the file was opened).
 */
struct drm_vsvm_stats {
	/** @gpu_faults: GPU page faults serviced. */
	__u64 gpu_faults;

	/** @fault_retries: Faults retried because the CPU side changed. */
	__u64 fault_retries;

	/** @pages_to_vram: Pages migrated from system memory to VRAM. */
	__u64 pages_to_vram;

	/** @pages_to_ram: Pages migrated from VRAM to system memory. */
	__u64 pages_to_ram;

	/** @evictions: Device allocations evicted to make room. */
	__u64 evictions;

	/** @invalidations: CPU page-table changes that zapped GPU mappings. */
	__u64 invalidations;

	/** @bytes_read: Bytes the GPU read. */
	__u64 bytes_read;

	/** @bytes_written: Bytes the GPU wrote. */
	__u64 bytes_written;
};

/**
 * DRM_VSVM_EXEC_POLICY_MASK - Bits of &drm_vsvm_exec.flags selecting the
 * placement policy, one of DRM_VSVM_POLICY_*
 */
#define DRM_VSVM_EXEC_POLICY_MASK	0x3

/** DRM_VSVM_POLICY_MIGRATE - Migrate to VRAM on GPU fault (default). */
#define DRM_VSVM_POLICY_MIGRATE		0x0
/** DRM_VSVM_POLICY_SYSTEM - Keep the GPU on system memory. */
#define DRM_VSVM_POLICY_SYSTEM		0x1
/** DRM_VSVM_POLICY_DEVICE - Use device memory only. */
#define DRM_VSVM_POLICY_DEVICE		0x2

/**
 * DRM_VSVM_EXEC_INTERRUPTIBLE - &drm_vsvm_exec.flags: a signal may end the
 * job early
 *
 * Without this flag a job runs to its end whatever signals arrive, unless
 * the task is killed. With it, a signal pending when an operation has
 * completed ends the job there, once at least one operation has completed:
 * the ioctl returns 0 with &drm_vsvm_exec.completed smaller than
 * &drm_vsvm_exec.num_ops, the signal is delivered, and the caller submits
 * the remaining operations (from index &drm_vsvm_exec.completed) again.
 * Each operation is applied exactly once, whether the job is interrupted
 * or not.
 */
#define DRM_VSVM_EXEC_INTERRUPTIBLE	0x4

/**
 * struct drm_vsvm_exec - Argument of DRM_IOCTL_VSVM_EXEC
 */
struct drm_vsvm_exec {
	/** @ops: User pointer to an array of @num_ops struct drm_vsvm_op. */
	__u64 ops;

	/** @num_ops: Number of operations, 1 to 256. */
	__u32 num_ops;

	/**
	 * @flags: A DRM_VSVM_POLICY_* value, optionally ORed with
	 * %DRM_VSVM_EXEC_INTERRUPTIBLE; other bits must be zero.
	 */
	__u32 flags;

	/**
	 * @stats: What this job caused. Output; written even when the job
	 * fails.
	 */
	struct drm_vsvm_stats stats;

	/**
	 * @completed: Output: number of operations that completed, in
	 * order: &drm_vsvm_exec.num_ops, or fewer for a job that
	 * %DRM_VSVM_EXEC_INTERRUPTIBLE let a signal end early. On failure,
	 * the index of the failing operation.
	 */
	__u32 completed;

	/** @pad: Must be zero. */
	__u32 pad;
};

/** DRM_VSVM_MIGRATE_TO_VRAM - &drm_vsvm_migrate.target: device memory. */
#define DRM_VSVM_MIGRATE_TO_VRAM	0
/** DRM_VSVM_MIGRATE_TO_SYSTEM - &drm_vsvm_migrate.target: system memory. */
#define DRM_VSVM_MIGRATE_TO_SYSTEM	1

/**
 * struct drm_vsvm_migrate - Argument of DRM_IOCTL_VSVM_MIGRATE
 *
 * Moves the pages of [@start, @start + @size) ahead of GPU use (prefetch)
 * or back to system memory. Only anonymous pages of private mappings move
 * to VRAM; other pages stay where they are without error. What a prefetch
 * moved is normally also mapped for the GPU, so that a job touching it next
 * does not fault (best effort: a GPU fault maps whatever was not).
 */
struct drm_vsvm_migrate {
	/** @start: Page-aligned start address. */
	__u64 start;

	/** @size: Page-aligned size in bytes, nonzero. */
	__u64 size;

	/** @target: DRM_VSVM_MIGRATE_TO_VRAM or DRM_VSVM_MIGRATE_TO_SYSTEM. */
	__u32 target;

	/** @flags: Must be zero. */
	__u32 flags;

	/** @stats: Output: what the migration caused. */
	struct drm_vsvm_stats stats;
};

/**
 * struct drm_vsvm_vm_stats - Argument of DRM_IOCTL_VSVM_VM_STATS
 */
struct drm_vsvm_vm_stats {
	/** @flags: Must be zero. */
	__u32 flags;

	/** @pad: Must be zero. */
	__u32 pad;

	/** @stats: Output: counters of the VM since the file was opened. */
	struct drm_vsvm_stats stats;

	/** @num_ranges: Output: GPU SVM ranges currently tracked. */
	__u64 num_ranges;

	/** @vram_pages: Output: pages of the VM's ranges bound in VRAM. */
	__u64 vram_pages;

	/**
	 * @ranges_split: Output: ranges that a munmap() or mprotect() of
	 * part of them split (see %DRM_VSVM_PARAM_SPLIT).
	 */
	__u64 ranges_split;

	/** @split_pieces: Output: ranges those splits left in their place. */
	__u64 split_pieces;

	/**
	 * @thrash_throttles: Output: GPU faults that waited before migrating
	 * a range that kept moving between system memory and VRAM (see
	 * %DRM_VSVM_PARAM_THRASH).
	 */
	__u64 thrash_throttles;

	/** @thrash_pins: Output: times a thrashing range was pinned. */
	__u64 thrash_pins;

	/**
	 * @thrash_pinned_faults: Output: GPU faults that mapped a pinned
	 * range in system memory instead of migrating it.
	 */
	__u64 thrash_pinned_faults;

	/**
	 * @prefetches: Output: regions a GPU fault migrated or mapped at
	 * once (see %DRM_VSVM_PARAM_PREFETCH).
	 */
	__u64 prefetches;
};

/** DRM_VSVM_PARAM_TIMESLICE_MS - Minimum residency after a migration. */
#define DRM_VSVM_PARAM_TIMESLICE_MS	1
/** DRM_VSVM_PARAM_SPLIT - Split ranges on partial munmap()/mprotect(). */
#define DRM_VSVM_PARAM_SPLIT		2
/** DRM_VSVM_PARAM_THRASH - Thrashing control on or off. */
#define DRM_VSVM_PARAM_THRASH		3
/** DRM_VSVM_PARAM_THRASH_LAPSE_US - Gap that keeps a burst going. */
#define DRM_VSVM_PARAM_THRASH_LAPSE_US	4
/** DRM_VSVM_PARAM_THRASH_PIN_MS - How long a thrashing range is pinned. */
#define DRM_VSVM_PARAM_THRASH_PIN_MS	5
/** DRM_VSVM_PARAM_THRASH_THROTTLE_US - How long a throttled range waits. */
#define DRM_VSVM_PARAM_THRASH_THROTTLE_US	6
/** DRM_VSVM_PARAM_PREFETCH - Access-density prefetch threshold, percent. */
#define DRM_VSVM_PARAM_PREFETCH		7
/** DRM_VSVM_PARAM_FAULT_SIZE - Largest range a GPU fault maps, bytes. */
#define DRM_VSVM_PARAM_FAULT_SIZE	8

/**
 * struct drm_vsvm_vm_set_param - Argument of DRM_IOCTL_VSVM_VM_SET_PARAM
 */
struct drm_vsvm_vm_set_param {
	/** @param: A DRM_VSVM_PARAM_* value. */
	__u32 param;

	/** @pad: Must be zero. */
	__u32 pad;

	/**
	 * @value: New value. For %DRM_VSVM_PARAM_TIMESLICE_MS: 0 to 10000
	 * milliseconds during which memory migrated for the VM's jobs stays
	 * in VRAM before a CPU fault may move it back (the faulting thread
	 * waits). Only faults of user-mode code wait, and for at most one
	 * second: larger values act as 1000. A fault of the kernel (a system
	 * call reading the memory) moves it back at once.
	 *
	 * For %DRM_VSVM_PARAM_SPLIT: 1 (the default) or 0. With 1, a
	 * munmap() or mprotect() of part of a range takes only that part
	 * (widened to a huge page it cuts) off the GPU: the rest keeps its
	 * GPU mapping and its VRAM, and the range is replaced by smaller
	 * ones. With 0 the whole range is dropped, as upstream drivers do,
	 * and what is still mapped faults in again.
	 *
	 * For %DRM_VSVM_PARAM_THRASH: 1 (the default) or 0. With 1, a range
	 * that GPU faults migrate to VRAM again and again, because the CPU
	 * faults it back in between, is first throttled (from the 3rd
	 * migration in a row on, the next one waits until
	 * %DRM_VSVM_PARAM_THRASH_THROTTLE_US after it), then pinned at the
	 * 5th: for %DRM_VSVM_PARAM_THRASH_PIN_MS it stays in system memory
	 * and the GPU accesses it there. Migrations in a row are at most
	 * %DRM_VSVM_PARAM_THRASH_LAPSE_US apart (plus the wait). Policy
	 * %DRM_VSVM_POLICY_DEVICE and explicit migrations are never held
	 * back.
	 *
	 * For %DRM_VSVM_PARAM_THRASH_LAPSE_US: 1 to 1000000 (default 500).
	 *
	 * For %DRM_VSVM_PARAM_THRASH_PIN_MS: 1 to 10000 (default 150).
	 *
	 * For %DRM_VSVM_PARAM_THRASH_THROTTLE_US: 1 to 1000000 (default
	 * 1000).
	 *
	 * For %DRM_VSVM_PARAM_FAULT_SIZE: 4096, 65536 or 2097152 (the
	 * default): the largest range a GPU fault maps (and, under the
	 * migrating policy, migrates). Smaller ranges move less memory the
	 * GPU may not use, at the price of more faults.
	 *
	 * For %DRM_VSVM_PARAM_PREFETCH: 0 (off) to 100 (default 51). After a
	 * GPU fault, the largest naturally aligned region of 128 KiB to 2 MiB
	 * around it of which at least this percentage of 64 KiB blocks the
	 * GPU used already is migrated or mapped at once, as the fault was.
	 * Only matters with ranges smaller than 2 MiB, and only for jobs:
	 * the HMM test front end (dmirror=1) faults what it is asked.
	 */
	__u64 value;
};

/**
 * DRM_IOCTL_VSVM_QUERY - Describe the device
 *
 * Return: 0, or -EINVAL on nonzero flags, pad or pad2.
 */
#define DRM_IOCTL_VSVM_QUERY \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VSVM_QUERY, struct drm_vsvm_query)

/**
 * DRM_IOCTL_VSVM_EXEC - Run a job on the software GPU
 *
 * Signals other than a fatal one never fail a job, so that the usual
 * restart of an ioctl on EINTR (drmIoctl()) never runs an operation twice:
 * the job runs to its end, or with %DRM_VSVM_EXEC_INTERRUPTIBLE returns 0
 * early with &drm_vsvm_exec.completed telling what ran.
 *
 * Return: 0; -EINVAL for a malformed job (unknown code or flags, nonzero
 * pad, zero or overflowing size, misaligned fill or atomic, too many ops);
 * -EFAULT if the job touches memory the process has not mapped (or with
 * PROT_NONE), secret memory (memfd_secret(), never accessed by a device),
 * or @ops cannot be read, or if a page could not be faulted in or mapped
 * for the device (out of memory); -EPERM for a write to read-only memory;
 * -EOPNOTSUPP if %DRM_VSVM_POLICY_DEVICE cannot be honoured; -ENOMEM if
 * out of memory, or if the VM already mirrors as many ranges as the module
 * parameter max_ranges allows (unmapping memory gives ranges back);
 * -EACCES from a process other than the opener; -EINTR if the
 * task was killed (it never returns to userspace); -EBUSY if a page kept
 * faulting because the CPU side or other jobs kept moving or invalidating
 * it; -ENOSPC if %DRM_VSVM_POLICY_DEVICE finds no room in VRAM; -EIO if
 * the copy engine failed. A failing operation has done its work up to the
 * page that failed; no byte is lost.
 */
#define DRM_IOCTL_VSVM_EXEC \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VSVM_EXEC, struct drm_vsvm_exec)

/**
 * DRM_IOCTL_VSVM_MIGRATE - Migrate a range to VRAM or to system memory
 *
 * Return: 0; -EINVAL for an unaligned, empty or overflowing range, unknown
 * target or flags; -EFAULT if part of the range is not mapped, mapped
 * PROT_NONE or is secret memory; -ENOMEM as for %DRM_IOCTL_VSVM_EXEC; -ENOSPC if VRAM cannot make
 * room (every allocation busy); -EBUSY if the pages kept moving; -EIO if
 * the copy engine failed (the data stays where it was); -EACCES from a
 * process other than the opener; -EINTR if the task was killed.
 */
#define DRM_IOCTL_VSVM_MIGRATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VSVM_MIGRATE, struct drm_vsvm_migrate)

/**
 * DRM_IOCTL_VSVM_VM_STATS - Read the counters of the file's GPU VM
 *
 * Return: 0, -EINVAL on nonzero flags or pad, -EACCES from another process.
 */
#define DRM_IOCTL_VSVM_VM_STATS \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VSVM_VM_STATS, struct drm_vsvm_vm_stats)

/**
 * DRM_IOCTL_VSVM_VM_SET_PARAM - Tune the file's GPU VM
 *
 * Return: 0, -EINVAL on unknown param, nonzero pad or out-of-range value,
 * -EACCES from another process.
 */
#define DRM_IOCTL_VSVM_VM_SET_PARAM \
	DRM_IOW(DRM_COMMAND_BASE + DRM_VSVM_VM_SET_PARAM, struct drm_vsvm_vm_set_param)

#if defined(__cplusplus)
}
#endif

#endif /* _VSVM_DRM_H_ */
