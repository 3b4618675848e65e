// SPDX-License-Identifier: GPL-2.0-only
/*
 * Userspace tests of the vsvm virtual GPU (drivers/gpu/drm/vsvm): the
 * device, GPU access to anonymous and shared memory of every size, page
 * protections, placement policies, explicit migration, atomics, two
 * devices, concurrency and the validation of every ioctl argument.
 *
 * Address-space events (fork, munmap, mremap, eviction, process exit) are
 * covered by vsvm_mm_test.c.
 */

#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../../kselftest_harness.h"
#include "vsvm_util.h"

#define PAGE		4096UL
#define SZ_64K		0x00010000UL
#define SZ_1M		0x00100000UL
#define SZ_2M		0x00200000UL

static int vm_stats(int fd, struct drm_vsvm_vm_stats *st)
{
	return vsvm_vm_stats(fd, st);
}

FIXTURE(vsvm)
{
	int fd;
};

FIXTURE_SETUP(vsvm)
{
	self->fd = vsvm_open_device(0);
	if (self->fd == -ENODEV)
		SKIP(return, "no vsvm device (is the module loaded?)");
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(vsvm)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* The device describes itself: size of VRAM, page size, its index. */
TEST_F(vsvm, query)
{
	struct drm_vsvm_query q;

	memset(&q, 0, sizeof(q));
	ASSERT_EQ(0, vsvm_ioctl(self->fd, DRM_IOCTL_VSVM_QUERY, &q));
	EXPECT_GT(q.vram_size, 0);
	EXPECT_EQ(0, q.vram_size % q.page_size);
	EXPECT_EQ((__u64)getpagesize(), q.page_size);
	EXPECT_EQ(0, q.device_index);
	EXPECT_GE(q.num_devices, 1);
	EXPECT_LE(q.vram_used, q.vram_size);
}

/* Unknown flags and a nonzero pad are refused, the output is untouched. */
TEST_F(vsvm, query_rejects_flags_and_pad)
{
	struct drm_vsvm_query q;

	memset(&q, 0, sizeof(q));
	q.flags = 1;
	EXPECT_EQ(-EINVAL, vsvm_ioctl(self->fd, DRM_IOCTL_VSVM_QUERY, &q));
	EXPECT_EQ(0, q.vram_size);

	memset(&q, 0, sizeof(q));
	q.pad = 0x80000000u;
	EXPECT_EQ(-EINVAL, vsvm_ioctl(self->fd, DRM_IOCTL_VSVM_QUERY, &q));
	EXPECT_EQ(0, q.vram_size);
}

/* Every device answers with its own index, in render node order. */
TEST(all_devices_enumerate)
{
	struct drm_vsvm_query q;
	int i, fd, n;

	fd = vsvm_open_device(0);
	if (fd == -ENODEV)
		SKIP(return, "no vsvm device (is the module loaded?)");
	ASSERT_GE(fd, 0);
	memset(&q, 0, sizeof(q));
	ASSERT_EQ(0, vsvm_ioctl(fd, DRM_IOCTL_VSVM_QUERY, &q));
	close(fd);
	n = q.num_devices;

	for (i = 0; i < n; i++) {
		fd = vsvm_open_device(i);
		ASSERT_GE(fd, 0);
		memset(&q, 0, sizeof(q));
		ASSERT_EQ(0, vsvm_ioctl(fd, DRM_IOCTL_VSVM_QUERY, &q));
		EXPECT_EQ(i, q.device_index);
		close(fd);
	}
	EXPECT_EQ(-ENODEV, vsvm_open_device(n));
}

/* An ioctl number the driver does not know fails cleanly. */
TEST_F(vsvm, unknown_ioctl)
{
	__u64 arg[4] = { 0 };

	EXPECT_EQ(-EINVAL, vsvm_ioctl(self->fd,
				      DRM_IOWR(DRM_COMMAND_BASE + 0x3f, __u64[4]),
				      arg));
}

/* A fresh file has a fresh VM: every counter and the range count are 0. */
TEST_F(vsvm, vm_stats_start_at_zero)
{
	struct drm_vsvm_vm_stats st;

	ASSERT_EQ(0, vm_stats(self->fd, &st));
	EXPECT_EQ(0, st.stats.gpu_faults);
	EXPECT_EQ(0, st.stats.pages_to_vram);
	EXPECT_EQ(0, st.stats.bytes_read);
	EXPECT_EQ(0, st.stats.bytes_written);
	EXPECT_EQ(0, st.num_ranges);
	EXPECT_EQ(0, st.vram_pages);
}

/*
 * The fault-time counters make bench reads: one fault per GPU SVM range,
 * under the size of that range and the right kind (in place or migrating);
 * a fault that fails (unmapped memory) is not counted. The time only must
 * not go back: the test kernel's clock may be jiffies. With the stages on,
 * each fault is timed by stage too, and its stages add up to its time; a
 * 2 MiB fault's time is where its work is: a migrating one spends most of
 * it migrating (tens of ms here, whatever the clock), an in-place one less
 * in the migration stage than in collecting its 512 pages. With the stages
 * off, a fault is counted and timed, not split.
 */
TEST_F(vsvm, fault_time_by_range_size)
{
	static const struct {
		unsigned long size;
		unsigned int policy;
	} cases[] = {
		{ PAGE, DRM_VSVM_POLICY_SYSTEM },
		{ SZ_64K, DRM_VSVM_POLICY_SYSTEM },
		{ SZ_2M, DRM_VSVM_POLICY_SYSTEM },
		{ SZ_64K, DRM_VSVM_POLICY_MIGRATE },
		{ SZ_2M, DRM_VSVM_POLICY_MIGRATE },
		{ PAGE, DRM_VSVM_POLICY_SYSTEM },
	};
	struct vsvm_fault_snap a, b, other0, other1;
	struct drm_vsvm_stats st;
	unsigned int i;
	char out[64];

	if (vsvm_fault_snap(self->fd, PAGE, 0, &a) < 0)
		SKIP(return, "no vsvm_fault_time in debugfs (not root?)");

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned long size = cases[i].size;
		int mig = cases[i].policy == DRM_VSVM_POLICY_MIGRATE;
		/* The last case runs with the stages off again. */
		int staged = i < ARRAY_SIZE(cases) - 1;
		char *buf = vsvm_map_aligned(size, size);
		long long sum = 0, stage[VSVM_FAULT_STAGES];
		unsigned int k;

		ASSERT_NE(MAP_FAILED, buf);
		ASSERT_EQ(0, vsvm_debugfs_set(self->fd, "vsvm_fault_stages",
					      staged));
		vsvm_pattern_fill(buf, size, i);
		ASSERT_EQ(0, vsvm_fault_snap(self->fd, size, mig, &a));
		ASSERT_EQ(0, vsvm_fault_snap(self->fd, size, !mig, &other0));

		ASSERT_EQ(0, vsvm_gpu_read(self->fd, buf, out, sizeof(out),
					   cases[i].policy, &st));
		EXPECT_EQ(1, st.gpu_faults);
		EXPECT_EQ(mig ? size / PAGE : 0, st.pages_to_vram);
		ASSERT_EQ(0, vsvm_fault_snap(self->fd, size, mig, &b));
		ASSERT_EQ(0, vsvm_fault_snap(self->fd, size, !mig, &other1));
		EXPECT_EQ(a.count + 1, b.count) TH_LOG("%lu bytes, %s", size,
						       mig ? "migrating" : "in place");
		EXPECT_EQ(a.staged + staged, b.staged);
		/* The clock may be jiffies: a fault can take 0 ns. */
		EXPECT_GE(b.ns, a.ns);
		EXPECT_EQ(other0.count, other1.count);
		for (k = 0; k < VSVM_FAULT_STAGES; k++) {
			stage[k] = b.stage_ns[k] - a.stage_ns[k];
			EXPECT_LE(0, stage[k]);
			sum += stage[k];
		}
		EXPECT_EQ(staged ? b.ns - a.ns : 0, sum);
		if (size == SZ_2M && mig)
			EXPECT_LE(b.ns - a.ns, 2 * stage[VSVM_STAGE_MIGRATE])
				TH_LOG("migrate %lld of %lld ns",
				       stage[VSVM_STAGE_MIGRATE], b.ns - a.ns);
		if (size == SZ_2M && !mig)
			EXPECT_LE(stage[VSVM_STAGE_MIGRATE],
				  stage[VSVM_STAGE_PAGES])
				TH_LOG("migrate %lld, pages %lld ns",
				       stage[VSVM_STAGE_MIGRATE],
				       stage[VSVM_STAGE_PAGES]);
		EXPECT_EQ(0, memcmp(out, buf, sizeof(out)));
		ASSERT_EQ(0, munmap(buf, size));

		/* The same address unmapped: the fault fails, uncounted. */
		EXPECT_EQ(-EFAULT, vsvm_gpu_read(self->fd, buf, out, sizeof(out),
						 cases[i].policy, NULL));
		ASSERT_EQ(0, vsvm_fault_snap(self->fd, size, mig, &a));
		EXPECT_EQ(b.count, a.count);
		EXPECT_EQ(b.staged, a.staged);
	}
}

/*
 * GPU read and write of private anonymous memory, for sizes from one byte
 * to just over 2 MiB at aligned and unaligned offsets. The mapping is 2 MiB
 * aligned so that the 2M variant gets a 2 MiB GPU SVM range.
 */
FIXTURE(rw)
{
	int fd;
	char *map;
	size_t map_size;
	char *buf;
	char *tmp_base;
	char *tmp;
};

/*
 * @user_offset places the user buffer: the same offset within a word as
 * @offset lets the software GPU move whole words straight between the two,
 * another offset sends the bytes through its staging buffer.
 */
FIXTURE_VARIANT(rw)
{
	size_t size;
	size_t offset;
	size_t user_offset;
};

FIXTURE_VARIANT_ADD(rw, one_byte)	{ .size = 1, .offset = 0 };
FIXTURE_VARIANT_ADD(rw, one_byte_page_end) { .size = 1, .offset = PAGE - 1 };
FIXTURE_VARIANT_ADD(rw, unaligned_across_pages) { .size = PAGE + 3, .offset = 13 };
FIXTURE_VARIANT_ADD(rw, same_word_offset) { .size = PAGE + 14, .offset = 13, .user_offset = 5 };
FIXTURE_VARIANT_ADD(rw, other_word_offset) { .size = PAGE + 14, .offset = 40, .user_offset = 6 };
FIXTURE_VARIANT_ADD(rw, page)		{ .size = PAGE, .offset = 0 };
FIXTURE_VARIANT_ADD(rw, size_64k)	{ .size = SZ_64K, .offset = 0 };
FIXTURE_VARIANT_ADD(rw, size_2m)	{ .size = SZ_2M, .offset = 0 };
FIXTURE_VARIANT_ADD(rw, multiple_pages_unaligned) { .size = 5 * PAGE + 17, .offset = 4000 };
/* More than the engine's 64 KiB bounce buffer, across two ranges. */
FIXTURE_VARIANT_ADD(rw, across_ranges_unaligned) { .size = SZ_2M + 3 * PAGE + 5, .offset = 77 };

FIXTURE_SETUP(rw)
{
	self->fd = vsvm_open_device(0);
	if (self->fd == -ENODEV)
		SKIP(return, "no vsvm device (is the module loaded?)");
	ASSERT_GE(self->fd, 0);

	self->map_size = (variant->offset + variant->size + SZ_2M - 1) &
			 ~(SZ_2M - 1);
	self->map = vsvm_map_aligned(self->map_size, SZ_2M);
	ASSERT_NE(MAP_FAILED, self->map);
	self->buf = self->map + variant->offset;
	self->tmp_base = vsvm_host_alloc(variant->user_offset + variant->size);
	ASSERT_NE(NULL, self->tmp_base);
	self->tmp = self->tmp_base + variant->user_offset;
}

FIXTURE_TEARDOWN(rw)
{
	if (self->fd < 0)
		return;
	munmap(self->map, self->map_size);
	vsvm_host_free(self->tmp_base);
	close(self->fd);
}

/*
 * The GPU writes a pattern into never-touched memory (the default policy
 * migrates it to VRAM first); the CPU reads it back, and the bytes around
 * it, which nobody wrote, read as zeros.
 */
TEST_F(rw, gpu_write_cpu_read)
{
	size_t size = variant->size, off = variant->offset;
	size_t page_end = (off + size + PAGE - 1) & ~(PAGE - 1);
	struct drm_vsvm_vm_stats before, after;
	struct drm_vsvm_stats st;

	vsvm_pattern_fill(self->tmp, size, 1);
	ASSERT_EQ(0, vsvm_gpu_write(self->fd, self->buf, self->tmp, size,
				    DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(size, st.bytes_written);
	EXPECT_EQ(0, st.bytes_read);
	EXPECT_GE(st.gpu_faults, 1);
	EXPECT_GE(st.pages_to_vram, (page_end - (off & ~(PAGE - 1))) / PAGE);
	ASSERT_EQ(0, vm_stats(self->fd, &before));
	EXPECT_GE(before.vram_pages, 1);

	/* CPU access: data intact, GPU mappings of those pages gone. */
	EXPECT_EQ(-1, vsvm_pattern_check(self->buf, size, 1));
	EXPECT_EQ(-1, vsvm_zero_check(self->map, off));
	EXPECT_EQ(-1, vsvm_zero_check(self->buf + size, page_end - off - size));

	ASSERT_EQ(0, vm_stats(self->fd, &after));
	EXPECT_LT(after.vram_pages, before.vram_pages);
	EXPECT_GT(after.stats.invalidations, before.stats.invalidations);
	EXPECT_EQ(size, after.stats.bytes_written);
}

/*
 * The CPU writes a pattern, the GPU reads it; a second read of the same
 * memory is served by the GPU page table without a fault, and a later CPU
 * store is seen by the next GPU read.
 */
TEST_F(rw, cpu_write_gpu_read)
{
	size_t size = variant->size;
	struct drm_vsvm_stats st;

	vsvm_pattern_fill(self->buf, size, 2);
	memset(self->tmp, 0, size);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, self->buf, self->tmp, size,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(-1, vsvm_pattern_check(self->tmp, size, 2));
	EXPECT_EQ(size, st.bytes_read);
	EXPECT_EQ(0, st.bytes_written);
	EXPECT_GE(st.gpu_faults, 1);

	memset(self->tmp, 0, size);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, self->buf, self->tmp, size,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(-1, vsvm_pattern_check(self->tmp, size, 2));
	EXPECT_EQ(0, st.gpu_faults);

	/* Coherence: a CPU store invalidates, the GPU sees the new byte. */
	self->buf[size - 1] ^= 0xff;
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, self->buf, self->tmp, size,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ((unsigned char)(vsvm_pattern_byte(size - 1, 2) ^ 0xff),
		  (unsigned char)self->tmp[size - 1]);
	EXPECT_GE(st.gpu_faults, 1);
	if (size > 1)
		EXPECT_EQ(-1, vsvm_pattern_check(self->tmp, size - 1, 2));
}

/*
 * With DRM_VSVM_POLICY_SYSTEM the GPU works on system memory: the data
 * goes through, nothing is migrated, nothing is bound in VRAM.
 */
TEST_F(rw, system_policy_roundtrip)
{
	size_t size = variant->size;
	struct drm_vsvm_vm_stats vst;
	struct drm_vsvm_stats st;

	vsvm_pattern_fill(self->tmp, size, 3);
	ASSERT_EQ(0, vsvm_gpu_write(self->fd, self->buf, self->tmp, size,
				    DRM_VSVM_POLICY_SYSTEM, &st));
	EXPECT_EQ(0, st.pages_to_vram);
	EXPECT_EQ(size, st.bytes_written);
	memset(self->tmp, 0, size);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, self->buf, self->tmp, size,
				   DRM_VSVM_POLICY_SYSTEM, &st));
	EXPECT_EQ(-1, vsvm_pattern_check(self->tmp, size, 3));
	EXPECT_EQ(0, st.pages_to_vram);

	ASSERT_EQ(0, vm_stats(self->fd, &vst));
	EXPECT_EQ(0, vst.vram_pages);
	EXPECT_EQ(0, vst.stats.pages_to_vram);
	EXPECT_EQ(-1, vsvm_pattern_check(self->buf, size, 3));
}

/*
 * pte_none: the GPU reads zeros from memory nobody ever touched, under
 * both the default and the system policy, and the CPU reads zeros after.
 */
TEST_F(vsvm, read_never_touched_is_zero)
{
	size_t size = 256 << 10;
	char *a = vsvm_map_aligned(size, PAGE), *b = vsvm_map_aligned(size, PAGE);
	char *out = vsvm_host_alloc(size);
	struct drm_vsvm_stats st;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_NE(NULL, out);

	memset(out, 0x5a, size);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, a, out, size,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(-1, vsvm_zero_check(out, size));
	EXPECT_EQ(size, st.bytes_read);
	EXPECT_GE(st.pages_to_vram, size / PAGE);

	memset(out, 0x5a, size);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, b, out, size,
				   DRM_VSVM_POLICY_SYSTEM, &st));
	EXPECT_EQ(-1, vsvm_zero_check(out, size));
	EXPECT_EQ(0, st.pages_to_vram);

	EXPECT_EQ(-1, vsvm_zero_check(a, size));
	EXPECT_EQ(-1, vsvm_zero_check(b, size));
	munmap(a, size);
	munmap(b, size);
	vsvm_host_free(out);
}

/*
 * Zero page: memory the CPU only read maps the shared zero page; the GPU
 * reads zeros, and once the CPU writes (a COW break that replaces the zero
 * page) the GPU sees the new data.
 */
TEST_F(vsvm, read_zero_page)
{
	size_t size = 128 << 10, i;
	char *a = vsvm_map_aligned(size, PAGE);
	char *out = vsvm_host_alloc(size);
	unsigned long sum = 0;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(NULL, out);
	for (i = 0; i < size; i += PAGE)
		sum += READ_ONCE(a[i]);
	ASSERT_EQ(0, sum);

	memset(out, 0x5a, size);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, a, out, size,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_zero_check(out, size));

	memset(out, 0x5a, size);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, a, out, size,
				   DRM_VSVM_POLICY_SYSTEM, NULL));
	EXPECT_EQ(-1, vsvm_zero_check(out, size));

	vsvm_pattern_fill(a, size, 4);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, a, out, size,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(out, size, 4));
	munmap(a, size);
	vsvm_host_free(out);
}

/*
 * VRAM never leaks an earlier owner's data: memory full of a pattern is
 * migrated and freed, then never-written memory migrated to VRAM reads as
 * zeros by both the GPU and the CPU.
 */
TEST_F(vsvm, vram_is_cleared_for_new_memory)
{
	size_t size = 4 * SZ_1M;
	char *out = vsvm_host_alloc(size), *a, *b;
	struct drm_vsvm_stats st;

	ASSERT_NE(NULL, out);
	a = vsvm_map_aligned(size, SZ_2M);
	ASSERT_NE(MAP_FAILED, a);
	memset(a, 0xa5, size);
	ASSERT_EQ(0, vsvm_migrate(self->fd, a, size, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(size / PAGE, st.pages_to_vram);
	ASSERT_EQ(0, munmap(a, size));
	/* Device memory is given back asynchronously. */
	usleep(200 * 1000);

	b = vsvm_map_aligned(size, SZ_2M);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_EQ(0, vsvm_migrate(self->fd, b, size, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(size / PAGE, st.pages_to_vram);
	memset(out, 0x5a, size);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, b, out, size,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_zero_check(out, size));
	EXPECT_EQ(-1, vsvm_zero_check(b, size));
	munmap(b, size);
	vsvm_host_free(out);
}

/*
 * Read-only mapping: the GPU may read it (data correct) but a GPU write
 * fails with -EPERM and changes nothing; after mprotect(PROT_READ |
 * PROT_WRITE) the same write succeeds and the CPU sees it.
 */
TEST_F(vsvm, read_only_mapping)
{
	size_t size = 64 << 10;
	char *a = vsvm_map_aligned(size, PAGE), *src = vsvm_host_alloc(size);
	char *out = vsvm_host_alloc(size);
	struct drm_vsvm_stats st;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, out);
	vsvm_pattern_fill(a, size, 5);
	ASSERT_EQ(0, mprotect(a, size, PROT_READ));

	ASSERT_EQ(0, vsvm_gpu_read(self->fd, a, out, size,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(-1, vsvm_pattern_check(out, size, 5));

	vsvm_pattern_fill(src, size, 6);
	EXPECT_EQ(-EPERM, vsvm_gpu_write(self->fd, a, src, size,
					 DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(0, st.bytes_written);
	EXPECT_EQ(-EPERM, vsvm_gpu_fill(self->fd, a, PAGE, 0x1234,
					DRM_VSVM_POLICY_SYSTEM, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 5));

	ASSERT_EQ(0, mprotect(a, size, PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, vsvm_gpu_write(self->fd, a, src, size,
				    DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(size, st.bytes_written);
	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 6));
	munmap(a, size);
	vsvm_host_free(src);
	vsvm_host_free(out);
}

/*
 * A read-only mapping nobody wrote: the GPU reads zeros, a write is
 * refused with -EPERM.
 */
TEST_F(vsvm, read_only_never_touched)
{
	size_t size = 16 * PAGE;
	char *a = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char out[PAGE];

	ASSERT_NE(MAP_FAILED, a);
	memset(out, 0x5a, sizeof(out));
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, a + 3 * PAGE, out, PAGE,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_zero_check(out, PAGE));
	EXPECT_EQ(-EPERM, vsvm_gpu_write(self->fd, a, out, 8,
					 DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_zero_check(a, size));
	munmap(a, size);
}

/*
 * PROT_NONE: neither read nor write is possible for the CPU, so the GPU
 * gets -EFAULT for both, including for memory the GPU had mirrored before
 * the protection changed, and so does a migration of it.
 */
TEST_F(vsvm, prot_none)
{
	size_t size = 8 * PAGE;
	char *a = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *b = vsvm_map_aligned(size, PAGE);
	char out[64];

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	memset(out, 0x5a, sizeof(out));
	EXPECT_EQ(-EFAULT, vsvm_gpu_read(self->fd, a, out, sizeof(out),
					 DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-EFAULT, vsvm_gpu_write(self->fd, a, out, sizeof(out),
					  DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-EFAULT, vsvm_gpu_read(self->fd, a, out, sizeof(out),
					 DRM_VSVM_POLICY_SYSTEM, NULL));
	/* An explicit migration too, either way (found by vsvm_fuzz). */
	EXPECT_EQ(-EFAULT, vsvm_migrate(self->fd, a, size,
					DRM_VSVM_MIGRATE_TO_VRAM, NULL));
	EXPECT_EQ(-EFAULT, vsvm_migrate(self->fd, a, size,
					DRM_VSVM_MIGRATE_TO_SYSTEM, NULL));

	/* Mirrored first, then protected. */
	vsvm_pattern_fill(b, size, 7);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, b, out, sizeof(out),
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(out, sizeof(out), 7));
	ASSERT_EQ(0, mprotect(b, size, PROT_NONE));
	EXPECT_EQ(-EFAULT, vsvm_gpu_read(self->fd, b, out, sizeof(out),
					 DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-EFAULT, vsvm_gpu_write(self->fd, b, out, sizeof(out),
					  DRM_VSVM_POLICY_MIGRATE, NULL));
	ASSERT_EQ(0, mprotect(b, size, PROT_READ));
	EXPECT_EQ(-1, vsvm_pattern_check(b, size, 7));
	munmap(a, size);
	munmap(b, size);
}

#ifndef __NR_memfd_secret
#define __NR_memfd_secret 447
#endif

/*
 * Secret memory (memfd_secret()) has no kernel direct-map entry and must
 * never reach a device: GPU read and write, under either policy, and an
 * explicit migration fail with -EFAULT (the errno of GUP for it), with no
 * oops. The CPU still reads what it wrote, and an ordinary buffer next to
 * it keeps working.
 */
TEST_F(vsvm, secret_memory)
{
	size_t size = 2 * PAGE;
	char *b = vsvm_map_aligned(size, PAGE);
	char *s, *out = vsvm_host_alloc(PAGE);
	int sfd;

	ASSERT_NE(MAP_FAILED, b);
	ASSERT_NE(NULL, out);
	sfd = syscall(__NR_memfd_secret, 0);
	if (sfd < 0)
		SKIP(return, "memfd_secret: %s", strerror(errno));
	ASSERT_EQ(0, ftruncate(sfd, size));
	s = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
	ASSERT_NE(MAP_FAILED, s);
	vsvm_pattern_fill(s, size, 21);

	EXPECT_EQ(-EFAULT, vsvm_gpu_read(self->fd, s, out, 64,
					 DRM_VSVM_POLICY_SYSTEM, NULL));
	EXPECT_EQ(-EFAULT, vsvm_gpu_read(self->fd, s + PAGE, out, 64,
					 DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-EFAULT, vsvm_gpu_write(self->fd, s, out, 64,
					  DRM_VSVM_POLICY_SYSTEM, NULL));
	EXPECT_EQ(-EFAULT, vsvm_gpu_fill(self->fd, s, PAGE, 0x5a5a5a5a5a5a5a5aULL,
					 DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-EFAULT, vsvm_migrate(self->fd, s, size,
					DRM_VSVM_MIGRATE_TO_VRAM, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(s, size, 21));

	vsvm_pattern_fill(b, size, 22);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, b + PAGE, out, PAGE,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(0, memcmp(out, b + PAGE, PAGE));
	munmap(s, size);
	close(sfd);
	munmap(b, size);
	vsvm_host_free(out);
}

/*
 * READ and WRITE ops copy straight between the GPU's memory and the user
 * buffer while its pages are present and through a bounce buffer from the
 * first one that is not. 48 pages in three 64 KiB pieces: the user buffer's
 * first piece present, the second every other page, the third not at all,
 * with the GPU memory once in system RAM and once in VRAM. The data and
 * the byte counts must not depend on the way taken; read-only, unmapped
 * and NULL user buffers fail with -EFAULT.
 */
TEST_F(vsvm, user_buffer_partly_present)
{
	const size_t size = 48 * PAGE;
	char *gpu = vsvm_map_aligned(size, PAGE), *user;
	struct drm_vsvm_stats st;
	static const unsigned int policies[] = {
		DRM_VSVM_POLICY_SYSTEM, DRM_VSVM_POLICY_DEVICE,
	};
	unsigned int p, policy;
	size_t i;

	ASSERT_NE(MAP_FAILED, gpu);
	for (p = 0; p < ARRAY_SIZE(policies); p++) {
		policy = policies[p];
		vsvm_pattern_fill(gpu, size, policy);
		user = vsvm_map_aligned(size, PAGE);
		ASSERT_NE(MAP_FAILED, user);
		for (i = 0; i < size / PAGE; i++)
			if (i < 16 || (i < 32 && !(i & 1)))
				user[i * PAGE] = 1;
		ASSERT_EQ(0, vsvm_gpu_read(self->fd, gpu, user, size, policy,
					   &st));
		EXPECT_EQ(size, st.bytes_read);
		EXPECT_EQ(-1, vsvm_pattern_check(user, size, policy));

		/* WRITE from the same kind of buffer: new data or zeros. */
		ASSERT_EQ(0, munmap(user, size));
		user = vsvm_map_aligned(size, PAGE);
		ASSERT_NE(MAP_FAILED, user);
		for (i = 0; i < size / PAGE; i++)
			if (i < 16 || (i < 32 && !(i & 1)))
				vsvm_pattern_fill(user + i * PAGE, PAGE, 7);
		ASSERT_EQ(0, vsvm_gpu_write(self->fd, gpu, user, size, policy,
					    &st));
		EXPECT_EQ(size, st.bytes_written);
		for (i = 0; i < size / PAGE; i++) {
			bool given = i < 16 || (i < 32 && !(i & 1));
			char *page = gpu + i * PAGE;

			EXPECT_EQ(-1, given ? vsvm_pattern_check(page, PAGE, 7) :
					      vsvm_zero_check(page, PAGE))
				TH_LOG("page %zu", i);
		}

		ASSERT_EQ(0, mprotect(user, size, PROT_READ));
		EXPECT_EQ(-EFAULT, vsvm_gpu_read(self->fd, gpu, user, size,
						 policy, NULL));
		ASSERT_EQ(0, munmap(user, size));
		EXPECT_EQ(-EFAULT, vsvm_gpu_read(self->fd, gpu, user, size,
						 policy, NULL));
		EXPECT_EQ(-EFAULT, vsvm_gpu_write(self->fd, gpu, user, size,
						  policy, NULL));
		EXPECT_EQ(-EFAULT, vsvm_gpu_read(self->fd, gpu, NULL, size,
						 policy, NULL));
		EXPECT_EQ(-EFAULT, vsvm_gpu_write(self->fd, gpu, NULL, size,
						  policy, NULL));
	}
	munmap(gpu, size);
}

/*
 * Unmapped addresses: GPU read, write and explicit migration fail with
 * -EFAULT, also when only part of the range is missing; the mapped part
 * of a job stops exactly at the hole, having done its work up to there.
 */
TEST_F(vsvm, unmapped_address)
{
	size_t size = 3 * PAGE;
	char *a = vsvm_map_aligned(size, PAGE);
	struct drm_vsvm_op ops[3];
	struct drm_vsvm_stats st;
	struct drm_vsvm_exec e;
	char src[PAGE], out[PAGE];
	size_t i;

	ASSERT_NE(MAP_FAILED, a);
	vsvm_pattern_fill(a, size, 8);
	ASSERT_EQ(0, munmap(a + PAGE, PAGE));

	EXPECT_EQ(-EFAULT, vsvm_gpu_read(self->fd, a + PAGE, out, 16,
					 DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-EFAULT, vsvm_gpu_write(self->fd, a + PAGE, src, 16,
					  DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-EFAULT, vsvm_migrate(self->fd, a + PAGE, PAGE,
					DRM_VSVM_MIGRATE_TO_VRAM, NULL));
	EXPECT_EQ(-EFAULT, vsvm_migrate(self->fd, a, size,
					DRM_VSVM_MIGRATE_TO_VRAM, NULL));
	EXPECT_EQ(-EFAULT, vsvm_migrate(self->fd, a, size,
					DRM_VSVM_MIGRATE_TO_SYSTEM, NULL));

	/* Job: write page 0 (ok), write across the hole, write page 2. */
	vsvm_pattern_fill(src, PAGE, 9);
	memset(ops, 0, sizeof(ops));
	ops[0].code = DRM_VSVM_OP_WRITE;
	ops[0].gpu_addr = (unsigned long)a;
	ops[0].size = PAGE;
	ops[0].data = (unsigned long)src;
	ops[1] = ops[0];
	ops[1].gpu_addr = (unsigned long)a + PAGE - 8;
	ops[1].size = 16;
	ops[2] = ops[0];
	ops[2].gpu_addr = (unsigned long)a + 2 * PAGE;
	memset(&e, 0, sizeof(e));
	e.ops = (unsigned long)ops;
	e.num_ops = 3;
	EXPECT_EQ(-EFAULT, vsvm_ioctl(self->fd, DRM_IOCTL_VSVM_EXEC, &e));
	EXPECT_EQ(1, e.completed);
	EXPECT_EQ(PAGE + 8, e.stats.bytes_written);

	/*
	 * Page 0 got the new data, up to the hole: the failing write did its
	 * first 8 bytes. Page 2 is untouched.
	 */
	EXPECT_EQ(-1, vsvm_pattern_check(a, PAGE - 8, 9));
	for (i = 0; i < 8; i++)
		EXPECT_EQ(vsvm_pattern_byte(i, 9), (unsigned char)a[PAGE - 8 + i]);
	for (i = 2 * PAGE; i < 3 * PAGE; i++)
		if ((unsigned char)a[i] != vsvm_pattern_byte(i, 8))
			break;
	EXPECT_EQ(3 * PAGE, i);

	/* A read across the hole delivers what it read before failing. */
	memset(out, 0, sizeof(out));
	EXPECT_EQ(-EFAULT, vsvm_gpu_read(self->fd, a + PAGE - 8, out, 16,
					 DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(8, st.bytes_read);
	for (i = 0; i < 8; i++)
		EXPECT_EQ(vsvm_pattern_byte(i, 9), (unsigned char)out[i]);
	EXPECT_EQ(0, out[8]);
	munmap(a, PAGE);
	munmap(a + 2 * PAGE, PAGE);
}

/* COPY moves data between two buffers, unaligned and across pages. */
TEST_F(vsvm, copy_between_buffers)
{
	size_t size = 9 * PAGE + 100;
	char *src = vsvm_map_aligned(10 * PAGE, PAGE);
	char *dst = vsvm_map_aligned(12 * PAGE, PAGE);
	struct drm_vsvm_stats st;

	ASSERT_NE(MAP_FAILED, src);
	ASSERT_NE(MAP_FAILED, dst);
	vsvm_pattern_fill(src + 7, size, 10);
	memset(dst, 0x77, 12 * PAGE);

	ASSERT_EQ(0, vsvm_gpu_copy(self->fd, dst + 1000, src + 7, size,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(size, st.bytes_read);
	EXPECT_EQ(size, st.bytes_written);
	EXPECT_EQ(-1, vsvm_pattern_check(dst + 1000, size, 10));
	EXPECT_EQ(0x77, dst[999]);
	EXPECT_EQ(0x77, dst[1000 + size]);
	/* The source is not changed by being copied. */
	EXPECT_EQ(-1, vsvm_pattern_check(src + 7, size, 10));

	/* And back, system policy this time, into a fresh area. */
	ASSERT_EQ(0, vsvm_gpu_copy(self->fd, src, dst + 1000, PAGE,
				   DRM_VSVM_POLICY_SYSTEM, &st));
	EXPECT_EQ(0, st.pages_to_vram);
	EXPECT_EQ(-1, vsvm_pattern_check(src, PAGE, 10));
	munmap(src, 10 * PAGE);
	munmap(dst, 12 * PAGE);
}

/*
 * FILL writes the 64-bit pattern over the whole range and nothing beyond
 * it, also over a range that starts in the middle of a page.
 */
TEST_F(vsvm, fill_pattern)
{
	size_t size = 5 * PAGE + 256, i;
	__u64 *a = vsvm_map_aligned(8 * PAGE, PAGE);
	__u64 pat = 0x0123456789abcdefULL;
	struct drm_vsvm_stats st;
	size_t first = 24;	/* in u64 */

	ASSERT_NE(MAP_FAILED, a);
	memset(a, 0x33, 8 * PAGE);
	ASSERT_EQ(0, vsvm_gpu_fill(self->fd, a + first, size, pat,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(size, st.bytes_written);
	for (i = 0; i < size / 8; i++)
		if (a[first + i] != pat)
			break;
	EXPECT_EQ(size / 8, i);
	EXPECT_EQ(0x3333333333333333ULL, a[first - 1]);
	EXPECT_EQ(0x3333333333333333ULL, a[first + size / 8]);

	/* A second fill, system policy, overwrites part of it. */
	ASSERT_EQ(0, vsvm_gpu_fill(self->fd, a + first + 8, 64, ~pat,
				   DRM_VSVM_POLICY_SYSTEM, NULL));
	EXPECT_EQ(pat, a[first + 7]);
	EXPECT_EQ(~pat, a[first + 8]);
	EXPECT_EQ(~pat, a[first + 15]);
	EXPECT_EQ(pat, a[first + 16]);
	munmap(a, 8 * PAGE);
}

/*
 * One job of several operations runs them in order: WRITE, COPY, FILL,
 * READ of what the earlier ones produced; completed counts them all and
 * the job counters add up.
 */
TEST_F(vsvm, multi_op_job)
{
	char *a = vsvm_map_aligned(4 * PAGE, PAGE), src[PAGE], out[PAGE];
	struct drm_vsvm_op ops[4];
	struct drm_vsvm_exec e;
	__u64 *q;

	ASSERT_NE(MAP_FAILED, a);
	vsvm_pattern_fill(src, PAGE, 11);
	memset(ops, 0, sizeof(ops));
	ops[0].code = DRM_VSVM_OP_WRITE;
	ops[0].gpu_addr = (unsigned long)a;
	ops[0].size = PAGE;
	ops[0].data = (unsigned long)src;
	ops[1].code = DRM_VSVM_OP_COPY;
	ops[1].gpu_addr = (unsigned long)a + PAGE;
	ops[1].size = PAGE;
	ops[1].data = (unsigned long)a;
	ops[2].code = DRM_VSVM_OP_FILL;
	ops[2].gpu_addr = (unsigned long)a + PAGE;
	ops[2].size = 64;
	ops[2].data = 0xfeedfacecafebeefULL;
	ops[3].code = DRM_VSVM_OP_READ;
	ops[3].gpu_addr = (unsigned long)a + PAGE;
	ops[3].size = PAGE;
	ops[3].data = (unsigned long)out;
	memset(&e, 0, sizeof(e));
	e.ops = (unsigned long)ops;
	e.num_ops = 4;
	ASSERT_EQ(0, vsvm_ioctl(self->fd, DRM_IOCTL_VSVM_EXEC, &e));
	EXPECT_EQ(4, e.completed);
	EXPECT_EQ(PAGE + PAGE + 64, e.stats.bytes_written);
	EXPECT_EQ(PAGE + PAGE, e.stats.bytes_read);

	q = (__u64 *)out;
	EXPECT_EQ(0xfeedfacecafebeefULL, q[0]);
	EXPECT_EQ(0xfeedfacecafebeefULL, q[7]);
	EXPECT_EQ(0, memcmp(out + 64, src + 64, PAGE - 64));
	EXPECT_EQ(0, memcmp(a + PAGE, out, PAGE));
	EXPECT_EQ(-1, vsvm_pattern_check(a, PAGE, 11));
	munmap(a, 4 * PAGE);
}

/*
 * ATOMIC_ADD returns the previous value and the CPU sees the sum; the
 * operation needs device memory, so the page is migrated to VRAM.
 */
TEST_F(vsvm, atomic_add_returns_old)
{
	__u64 *a = vsvm_map_aligned(PAGE, PAGE), old = 0;
	struct drm_vsvm_stats st;

	ASSERT_NE(MAP_FAILED, a);
	a[3] = 100;
	a[4] = 0x4444;
	ASSERT_EQ(0, vsvm_gpu_atomic_add(self->fd, &a[3], 5, &st, &old));
	EXPECT_EQ(100, old);
	EXPECT_GE(st.pages_to_vram, 1);
	EXPECT_EQ(8, st.bytes_written);
	ASSERT_EQ(0, vsvm_gpu_atomic_add(self->fd, &a[3], -7ULL, &st, &old));
	EXPECT_EQ(105, old);
	EXPECT_EQ(0, st.gpu_faults);
	EXPECT_EQ(98, a[3]);
	EXPECT_EQ(0x4444, a[4]);
	munmap(a, PAGE);
}

/*
 * Many atomic adds: 256 in one job return 0, 1, 3, 6, ... in order; then
 * jobs of one add alternate with CPU reads (each moving the page back and
 * forth) and every value is seen.
 */
TEST_F(vsvm, atomic_add_many)
{
	struct drm_vsvm_op ops[256];
	__u64 *a = vsvm_map_aligned(PAGE, PAGE), sum = 0, old;
	struct drm_vsvm_exec e;
	int i;

	ASSERT_NE(MAP_FAILED, a);
	memset(ops, 0, sizeof(ops));
	for (i = 0; i < 256; i++) {
		ops[i].code = DRM_VSVM_OP_ATOMIC_ADD;
		ops[i].gpu_addr = (unsigned long)&a[1];
		ops[i].size = 8;
		ops[i].data = i + 1;
	}
	memset(&e, 0, sizeof(e));
	e.ops = (unsigned long)ops;
	e.num_ops = 256;
	ASSERT_EQ(0, vsvm_ioctl(self->fd, DRM_IOCTL_VSVM_EXEC, &e));
	EXPECT_EQ(256, e.completed);
	for (i = 0; i < 256; i++) {
		if (ops[i].result != sum)
			break;
		sum += i + 1;
	}
	EXPECT_EQ(256, i);
	EXPECT_EQ(256 * 257 / 2, a[1]);

	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, vsvm_gpu_atomic_add(self->fd, &a[1], 1, NULL, &old));
		EXPECT_EQ(sum + i, old);
		EXPECT_EQ(sum + i + 1, a[1]);
	}
	EXPECT_EQ(0, a[0]);
	EXPECT_EQ(0, a[2]);
	munmap(a, PAGE);
}

struct cpu_reader {
	__u64 *p;
	int stop;
	__u64 reads;
	__u64 last;
	int went_backwards;
};

static void *cpu_reader_fn(void *arg)
{
	struct cpu_reader *r = arg;

	while (!READ_ONCE(r->stop)) {
		__u64 v = READ_ONCE(*r->p);

		if (v < r->last)
			r->went_backwards = 1;
		r->last = v;
		r->reads++;
	}
	return NULL;
}

/*
 * Atomics against concurrent CPU reads: a thread keeps reading the
 * counter (pulling the page back to system memory) while GPU atomics keep
 * migrating it to VRAM; no increment is lost and the CPU never sees the
 * value go backwards.
 */
TEST_F(vsvm, atomic_add_concurrent_cpu_reads)
{
	__u64 *a = vsvm_map_aligned(PAGE, PAGE), old;
	struct cpu_reader r = { 0 };
	pthread_t th;
	int i, n = 100;

	ASSERT_NE(MAP_FAILED, a);
	/*
	 * A CPU spinning on the page could take it back before every GPU
	 * fault completes; the timeslice is the documented way to let the
	 * GPU make progress.
	 */
	ASSERT_EQ(0, vsvm_set_timeslice(self->fd, 5));
	a[0] = 1000;
	r.p = a;
	ASSERT_EQ(0, pthread_create(&th, NULL, cpu_reader_fn, &r));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, vsvm_gpu_atomic_add(self->fd, a, 1, NULL, &old));
		EXPECT_EQ(1000 + i, old);
	}
	WRITE_ONCE(r.stop, 1);
	pthread_join(th, NULL);
	EXPECT_EQ(1000 + n, a[0]);
	EXPECT_EQ(0, r.went_backwards);
	EXPECT_GT(r.reads, 0);
	munmap(a, PAGE);
}

/*
 * Words whose two halves are equal: a word read or written in two pieces,
 * each from another value, has halves that differ.
 */
static __u64 whole_word(__u32 v)
{
	return (__u64)v << 32 | v;
}

static int torn(__u64 w)
{
	return (__u32)(w >> 32) != (__u32)w;
}

struct word_racer {
	__u64 *p;
	int stop, write;
	unsigned long passes, torn;
};

/*
 * The CPU side of the tearing tests, pinned to CPU 1: it stores whole
 * words as fast as it can, or reads them and counts the torn ones.
 */
static void *word_racer_fn(void *arg)
{
	struct word_racer *r = arg;
	cpu_set_t set;
	__u32 v = 1;

	CPU_ZERO(&set);
	CPU_SET(1, &set);
	sched_setaffinity(0, sizeof(set), &set);
	while (!READ_ONCE(r->stop)) {
		if (r->write)
			WRITE_ONCE(*r->p, whole_word(v++));
		else if (torn(READ_ONCE(*r->p)))
			r->torn++;
		r->passes++;
	}
	return NULL;
}

/*
 * GPU reads of a word the CPU keeps storing, in place in system memory: the
 * GPU sees whole words, as a DMA engine reads them, never the low half of
 * one store with the high half of the next. (The known lost write of
 * vsvm_thrash_test was this: the engine copied with the kernel's user
 * copy, which under QEMU's TCG moves a byte at a time.)
 */
TEST_F(vsvm, gpu_read_does_not_tear_words)
{
	__u64 *a = vsvm_map_aligned(PAGE, PAGE), got[PAGE / 8];
	struct word_racer r = { 0 };
	unsigned long reads = 0, torn_reads = 0;
	double end;
	pthread_t th;

	ASSERT_NE(MAP_FAILED, a);
	a[0] = whole_word(0);
	r.p = a;
	r.write = 1;
	ASSERT_EQ(0, pthread_create(&th, NULL, word_racer_fn, &r));
	end = vsvm_now_ms() + 5000;
	while (vsvm_now_ms() < end) {
		/* A page: a copy that large is a string copy in the kernel. */
		ASSERT_EQ(0, vsvm_gpu_read(self->fd, a, got, sizeof(got),
					   DRM_VSVM_POLICY_SYSTEM, NULL));
		torn_reads += torn(got[0]);
		reads++;
	}
	WRITE_ONCE(r.stop, 1);
	pthread_join(th, NULL);
	ksft_print_msg("%lu GPU reads, %lu torn; %lu CPU stores\n", reads,
		       torn_reads, r.passes);
	EXPECT_EQ(0, torn_reads);
	EXPECT_GT(r.passes, 0);
	munmap(a, PAGE);
}

/* The same for GPU writes: the CPU never reads half of one GPU store. */
TEST_F(vsvm, gpu_write_does_not_tear_words)
{
	__u64 *a = vsvm_map_aligned(PAGE, PAGE), w[PAGE / 8];
	struct word_racer r = { 0 };
	unsigned long writes = 0, i;
	double end;
	pthread_t th;

	ASSERT_NE(MAP_FAILED, a);
	a[0] = whole_word(0);
	r.p = a;
	ASSERT_EQ(0, pthread_create(&th, NULL, word_racer_fn, &r));
	end = vsvm_now_ms() + 5000;
	while (vsvm_now_ms() < end) {
		/* Every byte changes from one page to the next. */
		for (i = 0; i < PAGE / 8; i++)
			w[i] = whole_word(writes & 1 ? 0x5a5a5a5a : 0xa5a5a5a5);
		ASSERT_EQ(0, vsvm_gpu_write(self->fd, a, w, sizeof(w),
					    DRM_VSVM_POLICY_SYSTEM, NULL));
		writes++;
	}
	WRITE_ONCE(r.stop, 1);
	pthread_join(th, NULL);
	ksft_print_msg("%lu GPU writes; %lu CPU reads, %lu torn\n", writes,
		       r.passes, r.torn);
	EXPECT_EQ(0, r.torn);
	EXPECT_GT(r.passes, 0);
	munmap(a, PAGE);
}

/*
 * DRM_VSVM_POLICY_DEVICE places anonymous memory in VRAM: every page the
 * job touched is bound in VRAM, the CPU then reads the data back.
 */
TEST_F(vsvm, device_policy_binds_vram)
{
	size_t size = 16 * PAGE;
	char *a = vsvm_map_aligned(size, PAGE), *src = vsvm_host_alloc(size);
	struct drm_vsvm_vm_stats vst;
	struct drm_vsvm_stats st;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(NULL, src);
	vsvm_pattern_fill(src, size, 12);
	ASSERT_EQ(0, vsvm_gpu_write(self->fd, a, src, size,
				    DRM_VSVM_POLICY_DEVICE, &st));
	EXPECT_GE(st.pages_to_vram, size / PAGE);
	ASSERT_EQ(0, vm_stats(self->fd, &vst));
	EXPECT_GE(vst.vram_pages, size / PAGE);
	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 12));
	ASSERT_EQ(0, vm_stats(self->fd, &vst));
	EXPECT_EQ(0, vst.vram_pages);
	munmap(a, size);
	vsvm_host_free(src);
}

/*
 * A system-policy job on memory that lives in VRAM moves it back first:
 * the job reports pages_to_ram, nothing stays bound in VRAM, data intact.
 */
TEST_F(vsvm, system_policy_evicts_vram)
{
	size_t size = 32 * PAGE;
	char *a = vsvm_map_aligned(size, PAGE), *out = vsvm_host_alloc(size);
	struct drm_vsvm_vm_stats vst;
	struct drm_vsvm_stats st;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(NULL, out);
	vsvm_pattern_fill(a, size, 13);
	ASSERT_EQ(0, vsvm_migrate(self->fd, a, size, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(size / PAGE, st.pages_to_vram);

	ASSERT_EQ(0, vsvm_gpu_read(self->fd, a, out, size,
				   DRM_VSVM_POLICY_SYSTEM, &st));
	EXPECT_EQ(-1, vsvm_pattern_check(out, size, 13));
	EXPECT_EQ(size / PAGE, st.pages_to_ram);
	EXPECT_EQ(0, st.pages_to_vram);
	ASSERT_EQ(0, vm_stats(self->fd, &vst));
	EXPECT_EQ(0, vst.vram_pages);
	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 13));
	munmap(a, size);
	vsvm_host_free(out);
}

/*
 * 64 KiB one page past a 2 MiB boundary: GPU SVM makes two ranges of it
 * (the 64 KiB blocks cut at the span's ends: 60 KiB and 4 KiB), and one
 * explicit migration moves it with one device allocation (one migrate_vma
 * pass), then maps both: the GPU reads it without a fault, and the data is
 * intact on both sides.
 */
TEST_F(vsvm, unaligned_migrate_is_one_allocation)
{
	size_t size = SZ_64K;
	char *base = vsvm_map_aligned(SZ_2M, SZ_2M), *a = base + PAGE;
	char *out = vsvm_host_alloc(size);
	struct drm_vsvm_vm_stats vst;
	struct drm_vsvm_stats st;
	long allocs;

	ASSERT_NE(MAP_FAILED, base);
	ASSERT_NE(NULL, out);
	allocs = vsvm_debugfs_lru_allocs(self->fd);
	if (allocs < 0)
		SKIP(return, "no debugfs file vsvm_vram (debugfs not mounted?)");
	vsvm_pattern_fill(a, size, 23);

	ASSERT_EQ(0, vsvm_migrate(self->fd, a, size, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(size / PAGE, st.pages_to_vram);
	EXPECT_EQ(allocs + 1, vsvm_debugfs_lru_allocs(self->fd));
	ASSERT_EQ(0, vm_stats(self->fd, &vst));
	EXPECT_EQ(2, vst.num_ranges);
	EXPECT_EQ(size / PAGE, vst.vram_pages);

	ASSERT_EQ(0, vsvm_gpu_read(self->fd, a, out, size,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(0, st.gpu_faults);
	EXPECT_EQ(-1, vsvm_pattern_check(out, size, 23));
	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 23));
	munmap(base, SZ_2M);
	vsvm_host_free(out);
}

/*
 * A VMA of its own of @size bytes that starts one page past a 2 MiB
 * boundary, or MAP_FAILED.
 */
static char *map_unaligned_vma(size_t size)
{
	char *base = vsvm_map_aligned(SZ_2M, SZ_2M);

	if (base == MAP_FAILED)
		return base;
	munmap(base, PAGE);
	munmap(base + PAGE + size, SZ_2M - PAGE - size);
	return base + PAGE;
}

/*
 * A VMA of 64 KiB that starts one page past a 2 MiB boundary holds no
 * naturally aligned 64 KiB block: GPU SVM cuts the 64 KiB blocks at its
 * edges, so a GPU read of all of it takes two faults (the first 60 KiB,
 * then the last page), not sixteen, and moves all of it to VRAM. The CPU
 * gets the data back, the GPU writes through the same two ranges, and the
 * CPU reads what it wrote.
 */
TEST_F(vsvm, unaligned_vma_two_faults)
{
	struct drm_vsvm_vm_stats vst;
	struct drm_vsvm_stats st;
	size_t size = SZ_64K;
	char *a = map_unaligned_vma(size), *buf = vsvm_host_alloc(size);

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(NULL, buf);
	vsvm_pattern_fill(a, size, 31);

	ASSERT_EQ(0, vsvm_gpu_read(self->fd, a, buf, size,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(2, st.gpu_faults);
	EXPECT_EQ(size / PAGE, st.pages_to_vram);
	EXPECT_EQ(-1, vsvm_pattern_check(buf, size, 31));
	ASSERT_EQ(0, vm_stats(self->fd, &vst));
	EXPECT_EQ(2, vst.num_ranges);
	EXPECT_EQ(size / PAGE, vst.vram_pages);
	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 31));

	vsvm_pattern_fill(buf, size, 32);
	ASSERT_EQ(0, vsvm_gpu_write(self->fd, a, buf, size,
				    DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_GE(2, st.gpu_faults);
	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 32));
	munmap(a, size);
	vsvm_host_free(buf);
}

struct cut_racer {
	char *page;
	size_t off;
	size_t len;	/* of what is cut at @page; 0: a page */
	unsigned int seed;
	int stop;
	unsigned long swaps, holes;
	int err;
};

/*
 * A copy of what is cut at @r->page, filled elsewhere: made while that is
 * mapped, so that mmap() cannot put it in the hole itself. NULL on error.
 */
static char *cut_racer_copy(struct cut_racer *r, size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned int i;

	if (p == MAP_FAILED) {
		r->err = -errno;
		return NULL;
	}
	for (i = 0; i < len; i++)
		p[i] = vsvm_pattern_byte(r->off + i, r->seed);
	return p;
}

/*
 * Punch the page out and put it back with its data, over and over: the
 * new page is filled elsewhere and moved in with mremap(), so the page is
 * either absent or holds the pattern, never empty. It ends mapped.
 */
static void *cut_racer_fn(void *arg)
{
	struct cut_racer *r = arg;
	size_t len = r->len ?: PAGE;
	char *p = cut_racer_copy(r, len);

	while (p) {
		if (mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   r->page) == MAP_FAILED) {
			r->err = -errno;
			break;
		}
		r->swaps++;
		usleep(200 + rand() % 800);
		if (READ_ONCE(r->stop))
			break;
		p = cut_racer_copy(r, len);
		if (munmap(r->page, len)) {
			r->err = -errno;
			break;
		}
		r->holes++;
		usleep(rand() % 500);
	}

	return NULL;
}

/*
 * GPU reads of [@a, @a + @size) into @buf for 3 s while @r, started here,
 * cuts it, migrating and in-place reads in turn; then @r stops, leaving
 * the memory mapped. A read that succeeds returns the pattern, one that
 * meets the hole fails with -EFAULT; after the race the GPU reads it
 * intact.
 */
static void cut_race_reads(struct __test_metadata *_metadata, int fd,
			   char *a, char *buf, size_t size, struct cut_racer *r)
{
	unsigned long ok = 0, holes = 0, bad = 0;
	pthread_t th;
	double t0;
	int ret;

	ASSERT_EQ(0, pthread_create(&th, NULL, cut_racer_fn, r));
	t0 = vsvm_now_ms();
	while (vsvm_now_ms() - t0 < 3000) {
		ret = vsvm_gpu_read(fd, a, buf, size,
				    (ok + holes) & 1 ? DRM_VSVM_POLICY_SYSTEM :
						       DRM_VSVM_POLICY_MIGRATE,
				    NULL);
		if (!ret) {
			ok++;
			bad += vsvm_pattern_check(buf, size, r->seed) != -1;
		} else if (ret == -EFAULT) {
			holes++;
		} else {
			WRITE_ONCE(r->stop, 1);
			pthread_join(th, NULL);
			ASSERT_EQ(0, ret);
		}
	}
	WRITE_ONCE(r->stop, 1);
	pthread_join(th, NULL);
	TH_LOG("%lu reads, %lu met the hole; %lu swaps, %lu holes", ok, holes,
	       r->swaps, r->holes);
	ASSERT_EQ(0, r->err);
	EXPECT_EQ(0, bad);
	EXPECT_LT(0, ok);

	memset(buf, 0, size);
	ASSERT_EQ(0, vsvm_gpu_read(fd, a, buf, size, DRM_VSVM_POLICY_MIGRATE,
				   NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(buf, size, r->seed));
}

/*
 * The same VMA while a thread keeps unmapping a page in the middle of the
 * cut 60 KiB range and putting it back (a partial unmap that splits the
 * range, then a new VMA next to the pieces): every GPU read that succeeds
 * returns the pattern, one that meets the hole fails with -EFAULT, and
 * after the race the GPU and the CPU see the whole buffer intact.
 */
TEST_F_TIMEOUT(vsvm, unaligned_vma_race_unmap, 120)
{
	size_t size = SZ_64K;
	char *a = map_unaligned_vma(size), *buf = vsvm_host_alloc(size);
	struct cut_racer r = { .seed = 33 };

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(NULL, buf);
	vsvm_pattern_fill(a, size, r.seed);
	r.off = 5 * PAGE;
	r.page = a + r.off;

	cut_race_reads(_metadata, self->fd, a, buf, size, &r);
	EXPECT_EQ(-1, vsvm_pattern_check(a, size, r.seed));
	munmap(a, size);
	vsvm_host_free(buf);
}

/*
 * Free, then allocate again at the same place (munmap(), then mmap() of the
 * same addresses): vsvm keeps the GPU SVM range for the new memory, and
 * the GPU sees the new data, never the old: new private memory migrates to
 * VRAM again, new shared memory stays in system memory, and what the GPU
 * writes there the CPU reads.
 */
TEST_F(vsvm, remap_same_place_new_data)
{
	size_t size = SZ_64K;
	char *a = vsvm_map_aligned(size, size), *buf = vsvm_host_alloc(size);
	struct drm_vsvm_vm_stats vst;
	struct drm_vsvm_stats st;
	int flags[] = { MAP_PRIVATE, MAP_PRIVATE, MAP_SHARED };
	unsigned int i;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(NULL, buf);
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		int shared = flags[i] == MAP_SHARED;

		if (i) {
			ASSERT_EQ(0, munmap(a, size));
			ASSERT_EQ(a, mmap(a, size, PROT_READ | PROT_WRITE,
					  flags[i] | MAP_ANONYMOUS | MAP_FIXED,
					  -1, 0));
		}
		vsvm_pattern_fill(a, size, 41 + i);
		ASSERT_EQ(0, vsvm_gpu_read(self->fd, a, buf, size,
					   DRM_VSVM_POLICY_MIGRATE, &st));
		EXPECT_EQ(1, st.gpu_faults) TH_LOG("mapping %u", i);
		EXPECT_EQ(shared ? 0 : size / PAGE, st.pages_to_vram)
			TH_LOG("mapping %u", i);
		EXPECT_EQ(-1, vsvm_pattern_check(buf, size, 41 + i))
			TH_LOG("mapping %u", i);
		ASSERT_EQ(0, vm_stats(self->fd, &vst));
		EXPECT_EQ(1, vst.num_ranges);
	}

	vsvm_pattern_fill(buf, size, 45);
	ASSERT_EQ(0, vsvm_gpu_write(self->fd, a, buf, size,
				    DRM_VSVM_POLICY_SYSTEM, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 45));
	munmap(a, size);
	vsvm_host_free(buf);
}

/*
 * A thread keeps freeing the buffer and allocating it again at the same
 * place, its data written elsewhere and moved in (mremap()), while the GPU
 * reads it, migrating it or not: a read that succeeds returns the pattern,
 * one that meets the hole fails with -EFAULT; after the race the GPU reads
 * the buffer intact.
 */
TEST_F_TIMEOUT(vsvm, remap_race_read, 120)
{
	size_t size = SZ_64K;
	char *a = vsvm_map_aligned(size, size), *buf = vsvm_host_alloc(size);
	struct cut_racer r = { .seed = 46, .len = SZ_64K };

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(NULL, buf);
	vsvm_pattern_fill(a, size, r.seed);
	r.page = a;

	cut_race_reads(_metadata, self->fd, a, buf, size, &r);
	munmap(a, size);
	vsvm_host_free(buf);
}

/*
 * The same unaligned span with every copy into VRAM failing (debugfs
 * fault attribute fail_copy_to_devmem): the one migration of the span
 * fails with -EIO, no page and no allocation stay in VRAM, the data stays
 * in system memory; with the hook working again the span moves.
 */
TEST_F(vsvm, unaligned_migrate_copy_fails)
{
	size_t size = SZ_64K;
	char *base = vsvm_map_aligned(SZ_2M, SZ_2M), *a = base + PAGE;
	struct drm_vsvm_vm_stats vst;
	struct drm_vsvm_stats st;
	long allocs;
	int ret, i;

	ASSERT_NE(MAP_FAILED, base);
	allocs = vsvm_debugfs_lru_allocs(self->fd);
	if (allocs < 0 || vsvm_fault_set("fail_copy_to_devmem", 100, -1))
		SKIP(return, "no debugfs vsvm_vram or fault attributes (debugfs not mounted?)");
	vsvm_pattern_fill(a, size, 24);

	ret = vsvm_migrate(self->fd, a, size, DRM_VSVM_MIGRATE_TO_VRAM, &st);
	ASSERT_EQ(0, vsvm_fault_set("fail_copy_to_devmem", 0, 0));
	EXPECT_EQ(-EIO, ret);
	ASSERT_EQ(0, vm_stats(self->fd, &vst));
	EXPECT_EQ(0, vst.vram_pages);
	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 24));
	/* A failed allocation is freed asynchronously: allow a moment. */
	for (i = 0; i < 50 && vsvm_debugfs_lru_allocs(self->fd) != allocs; i++)
		usleep(100 * 1000);
	EXPECT_EQ(allocs, vsvm_debugfs_lru_allocs(self->fd));

	ASSERT_EQ(0, vsvm_migrate(self->fd, a, size, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(size / PAGE, st.pages_to_vram);
	EXPECT_EQ(allocs + 1, vsvm_debugfs_lru_allocs(self->fd));
	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 24));
	munmap(base, SZ_2M);
}

/*
 * Migrate to VRAM, which also binds the pages as a prefetch does: the GPU
 * read that follows takes no fault. Then the CPU reads everything back:
 * data intact; QUERY's vram_used rose by the migration and falls
 * back once the CPU took the pages; VM_STATS vram_pages drops to 0.
 */
TEST_F(vsvm, migrate_to_vram_then_cpu_read)
{
	size_t size = SZ_1M;
	char *a = vsvm_map_aligned(size, SZ_2M), *out = vsvm_host_alloc(size);
	struct drm_vsvm_query q0, q1, q2;
	struct drm_vsvm_vm_stats vst;
	struct drm_vsvm_stats st;
	int i;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(NULL, out);
	vsvm_pattern_fill(a, size, 14);
	ASSERT_EQ(0, vsvm_query_device(self->fd, &q0));

	ASSERT_EQ(0, vsvm_migrate(self->fd, a, size, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(size / PAGE, st.pages_to_vram);
	EXPECT_EQ(0, st.pages_to_ram);
	ASSERT_EQ(0, vsvm_query_device(self->fd, &q1));
	EXPECT_GE(q1.vram_used, q0.vram_used + size);
	ASSERT_EQ(0, vm_stats(self->fd, &vst));
	EXPECT_EQ(size / PAGE, vst.vram_pages);

	ASSERT_EQ(0, vsvm_gpu_read(self->fd, a, out, size,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(-1, vsvm_pattern_check(out, size, 14));
	EXPECT_EQ(0, st.gpu_faults);
	EXPECT_EQ(0, st.pages_to_vram);
	ASSERT_EQ(0, vm_stats(self->fd, &vst));
	EXPECT_EQ(size / PAGE, vst.vram_pages);
	EXPECT_EQ(size / PAGE, vst.stats.pages_to_vram);

	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 14));
	ASSERT_EQ(0, vm_stats(self->fd, &vst));
	EXPECT_EQ(0, vst.vram_pages);

	/* The device memory is released asynchronously: allow a moment. */
	for (i = 0; i < 50; i++) {
		ASSERT_EQ(0, vsvm_query_device(self->fd, &q2));
		if (q2.vram_used <= q0.vram_used)
			break;
		usleep(100 * 1000);
	}
	EXPECT_LE(q2.vram_used, q0.vram_used);
	munmap(a, size);
	vsvm_host_free(out);
}

/*
 * The MIGRATE ioctl both ways: to VRAM, to system memory, to VRAM again;
 * each direction reports the page count and the data survive.
 */
TEST_F(vsvm, migrate_both_directions)
{
	size_t size = 256 << 10;
	char *a = vsvm_map_aligned(size, PAGE), *out = vsvm_host_alloc(size);
	struct drm_vsvm_vm_stats vst;
	struct drm_vsvm_stats st;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(NULL, out);
	vsvm_pattern_fill(a, size, 15);

	ASSERT_EQ(0, vsvm_migrate(self->fd, a, size, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(size / PAGE, st.pages_to_vram);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, a, out, size,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(out, size, 15));
	ASSERT_EQ(0, vm_stats(self->fd, &vst));
	EXPECT_EQ(size / PAGE, vst.vram_pages);

	ASSERT_EQ(0, vsvm_migrate(self->fd, a, size, DRM_VSVM_MIGRATE_TO_SYSTEM, &st));
	EXPECT_EQ(size / PAGE, st.pages_to_ram);
	EXPECT_EQ(0, st.pages_to_vram);
	ASSERT_EQ(0, vm_stats(self->fd, &vst));
	EXPECT_EQ(0, vst.vram_pages);
	EXPECT_EQ(size / PAGE, vst.stats.pages_to_ram);

	/* Migrating system memory to system memory is a no-op. */
	ASSERT_EQ(0, vsvm_migrate(self->fd, a, size, DRM_VSVM_MIGRATE_TO_SYSTEM, &st));
	EXPECT_EQ(0, st.pages_to_ram);

	ASSERT_EQ(0, vsvm_migrate(self->fd, a, size, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(size / PAGE, st.pages_to_vram);
	memset(out, 0, size);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, a, out, size,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(out, size, 15));
	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 15));
	munmap(a, size);
	vsvm_host_free(out);
}

/*
 * Whether memory may live in VRAM depends on the memory, not on the first
 * request that touched it: memory first used by a job with the system
 * policy, or first migrated to system memory, still moves to VRAM for a
 * prefetch, for a job with the default policy and for an atomic. Before,
 * the GPU SVM ranges that first request created stayed "not migratable"
 * until munmap(): the prefetch moved nothing, the default policy stayed in
 * system memory and the atomic failed with -EOPNOTSUPP.
 */
TEST_F(vsvm, first_use_policy_does_not_stick)
{
	size_t size = 256 << 10;
	char *a = vsvm_map_aligned(size, SZ_2M), *b = vsvm_map_aligned(size, SZ_2M);
	char *c = vsvm_map_aligned(size, SZ_2M), *out = vsvm_host_alloc(size);
	struct drm_vsvm_stats st;
	__u64 want, old = 0;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_NE(MAP_FAILED, c);
	ASSERT_NE(NULL, out);
	vsvm_pattern_fill(a, size, 16);
	vsvm_pattern_fill(b, size, 17);
	vsvm_pattern_fill(c, size, 18);

	/* A system-policy job first, then a prefetch. */
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, a, out, size,
				   DRM_VSVM_POLICY_SYSTEM, &st));
	EXPECT_EQ(0, st.pages_to_vram);
	ASSERT_EQ(0, vsvm_migrate(self->fd, a, size, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_GE(st.pages_to_vram, size / PAGE);

	/* A migration to system memory first, then a default-policy job. */
	ASSERT_EQ(0, vsvm_migrate(self->fd, b, size, DRM_VSVM_MIGRATE_TO_SYSTEM,
				  NULL));
	memset(out, 0, size);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, b, out, size,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_GE(st.pages_to_vram, 1);
	EXPECT_EQ(-1, vsvm_pattern_check(out, size, 17));

	/* A system-policy job first, then an atomic. */
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, c, out, PAGE,
				   DRM_VSVM_POLICY_SYSTEM, NULL));
	memcpy(&want, c, sizeof(want));
	EXPECT_EQ(0, vsvm_gpu_atomic_add(self->fd, (__u64 *)c, 1, &st, &old));
	EXPECT_GE(st.pages_to_vram, 1);
	EXPECT_EQ(want, old);

	/* The CPU gets it all back. */
	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 16));
	EXPECT_EQ(-1, vsvm_pattern_check(b, size, 17));
	EXPECT_EQ(want + 1, *(__u64 *)c);
	*(__u64 *)c -= 1;
	EXPECT_EQ(-1, vsvm_pattern_check(c, size, 18));
	munmap(a, size);
	munmap(b, size);
	munmap(c, size);
	vsvm_host_free(out);
}

/*
 * Shared memory: MAP_SHARED anonymous, a memfd and a file in tmpfs (/tmp).
 * The GPU uses it in place: data flows both ways and is visible through a
 * second mapping and read(); migration to VRAM is declined without error;
 * device-only placement and atomics report -EOPNOTSUPP.
 */
enum shared_kind { SHARED_ANON, SHARED_MEMFD, SHARED_TMPFILE };

FIXTURE(shared)
{
	int fd;
	int mfd;
	size_t size;
	char *a;
	char *view;	/* second mapping of the same pages, or NULL */
	char *tmp;
	char path[64];
};

FIXTURE_VARIANT(shared)
{
	enum shared_kind kind;
};

FIXTURE_VARIANT_ADD(shared, anon)	{ .kind = SHARED_ANON };
FIXTURE_VARIANT_ADD(shared, memfd)	{ .kind = SHARED_MEMFD };
FIXTURE_VARIANT_ADD(shared, tmpfs_file)	{ .kind = SHARED_TMPFILE };

FIXTURE_SETUP(shared)
{
	self->mfd = -1;
	self->view = NULL;
	self->path[0] = 0;
	self->size = 64 * PAGE;
	self->fd = vsvm_open_device(0);
	if (self->fd == -ENODEV)
		SKIP(return, "no vsvm device (is the module loaded?)");
	ASSERT_GE(self->fd, 0);
	self->tmp = vsvm_host_alloc(self->size);
	ASSERT_NE(NULL, self->tmp);

	switch (variant->kind) {
	case SHARED_ANON:
		self->a = mmap(NULL, self->size, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, self->a);
		return;
	case SHARED_MEMFD:
		self->mfd = syscall(__NR_memfd_create, "vsvm", 0);
		ASSERT_GE(self->mfd, 0);
		break;
	case SHARED_TMPFILE:
		snprintf(self->path, sizeof(self->path), "/tmp/vsvm-test-XXXXXX");
		self->mfd = mkstemp(self->path);
		ASSERT_GE(self->mfd, 0);
		break;
	}
	ASSERT_EQ(0, ftruncate(self->mfd, self->size));
	self->a = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       self->mfd, 0);
	ASSERT_NE(MAP_FAILED, self->a);
	self->view = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			  self->mfd, 0);
	ASSERT_NE(MAP_FAILED, self->view);
}

FIXTURE_TEARDOWN(shared)
{
	if (self->fd < 0)
		return;
	munmap(self->a, self->size);
	if (self->view)
		munmap(self->view, self->size);
	if (self->mfd >= 0)
		close(self->mfd);
	if (self->path[0])
		unlink(self->path);
	vsvm_host_free(self->tmp);
	close(self->fd);
}

/* The GPU writes shared memory; the CPU sees it everywhere it looks. */
TEST_F(shared, gpu_write_cpu_reads)
{
	struct drm_vsvm_stats st;

	vsvm_pattern_fill(self->tmp, self->size, 20);
	ASSERT_EQ(0, vsvm_gpu_write(self->fd, self->a, self->tmp, self->size,
				    DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(self->size, st.bytes_written);
	EXPECT_EQ(0, st.pages_to_vram);
	EXPECT_EQ(-1, vsvm_pattern_check(self->a, self->size, 20));
	if (self->view)
		EXPECT_EQ(-1, vsvm_pattern_check(self->view, self->size, 20));
	if (self->mfd >= 0) {
		memset(self->tmp, 0, self->size);
		ASSERT_EQ((ssize_t)self->size,
			  pread(self->mfd, self->tmp, self->size, 0));
		EXPECT_EQ(-1, vsvm_pattern_check(self->tmp, self->size, 20));
	}
}

/*
 * The CPU writes through the other mapping (or write()), the GPU reads
 * the new data, also after it had already mirrored the old data.
 */
TEST_F(shared, cpu_write_gpu_reads)
{
	char *w = self->view ? self->view : self->a;

	vsvm_pattern_fill(w, self->size, 21);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, self->a, self->tmp, self->size,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(self->tmp, self->size, 21));

	vsvm_pattern_fill(self->tmp, PAGE, 22);
	if (self->mfd >= 0) {
		ASSERT_EQ((ssize_t)PAGE,
			  pwrite(self->mfd, self->tmp, PAGE, PAGE));
	} else {
		memcpy(self->a + PAGE, self->tmp, PAGE);
	}
	memset(self->tmp, 0, self->size);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, self->a + PAGE, self->tmp, PAGE,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(self->tmp, PAGE, 22));
}

/*
 * Shared memory never moves to VRAM: an explicit migration succeeds with
 * pages_to_vram == 0, nothing is bound in VRAM, and device-only work
 * (DEVICE policy, atomics) fails with -EOPNOTSUPP without touching data.
 */
TEST_F(shared, migrate_declined)
{
	struct drm_vsvm_vm_stats vst;
	struct drm_vsvm_stats st;
	__u64 *q = (__u64 *)self->a, old = 0;

	vsvm_pattern_fill(self->a, self->size, 23);
	memset(&st, 0xff, sizeof(st));
	ASSERT_EQ(0, vsvm_migrate(self->fd, self->a, self->size,
				  DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(0, st.pages_to_vram);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, self->a, self->tmp, self->size,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(0, st.pages_to_vram);
	EXPECT_EQ(-1, vsvm_pattern_check(self->tmp, self->size, 23));
	ASSERT_EQ(0, vm_stats(self->fd, &vst));
	EXPECT_EQ(0, vst.vram_pages);
	EXPECT_EQ(0, vst.stats.pages_to_vram);

	EXPECT_EQ(-EOPNOTSUPP, vsvm_gpu_fill(self->fd, self->a, PAGE, 0,
					     DRM_VSVM_POLICY_DEVICE, NULL));
	EXPECT_EQ(-EOPNOTSUPP, vsvm_gpu_atomic_add(self->fd, q, 1, NULL, &old));
	EXPECT_EQ(-1, vsvm_pattern_check(self->a, self->size, 23));
}

/*
 * A private file mapping: only the pages copied on write are anonymous and
 * can move to VRAM; the page-cache pages stay. A migration of 16 pages of
 * which 4 were written moves and copies exactly those 4 (before: all 16
 * were copied to VRAM, and 12 of them then refused by the core mm), and
 * every byte reads back right, from the CPU and from the GPU.
 */
TEST_F(vsvm, private_file_mapping_moves_only_anon)
{
	size_t size = 16 * PAGE;
	char path[] = "/tmp/vsvm-private-XXXXXX";
	char *a, *src = vsvm_host_alloc(size), *out = vsvm_host_alloc(size);
	struct drm_vsvm_query q0, q1;
	struct drm_vsvm_stats st;
	int mfd, i;

	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, out);
	mfd = mkstemp(path);
	ASSERT_GE(mfd, 0);
	unlink(path);
	vsvm_pattern_fill(src, size, 41);
	ASSERT_EQ((ssize_t)size, pwrite(mfd, src, size, 0));
	a = vsvm_map_aligned(size, SZ_64K);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_EQ(a, mmap(a, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
			  mfd, 0));
	/* Map every page-cache page, then copy four on write. */
	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 41));
	for (i = 0; i < 4; i++)
		a[i * PAGE] ^= 0xff;

	ASSERT_EQ(0, vsvm_query_device(self->fd, &q0));
	ASSERT_EQ(0, vsvm_migrate(self->fd, a, size, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	ASSERT_EQ(0, vsvm_query_device(self->fd, &q1));
	EXPECT_EQ(4, st.pages_to_vram);
	EXPECT_EQ(4, q1.pages_to_vram - q0.pages_to_vram);

	ASSERT_EQ(0, vsvm_gpu_read(self->fd, a, out, size,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	for (i = 0; i < 4; i++)
		src[i * PAGE] ^= 0xff;
	EXPECT_EQ(0, memcmp(out, src, size));
	EXPECT_EQ(0, memcmp(a, src, size));
	/* The file itself never saw the private writes. */
	ASSERT_EQ((ssize_t)size, pread(mfd, out, size, 0));
	EXPECT_EQ(-1, vsvm_pattern_check(out, size, 41));
	munmap(a, size);
	close(mfd);
	vsvm_host_free(src);
	vsvm_host_free(out);
}

/*
 * Two devices, one buffer: device 0 writes (its VRAM), device 1 reads and
 * writes (pulling the pages out of device 0's VRAM), alternately, and
 * atomics from both devices add up.
 */
TEST_F(vsvm, two_devices_same_memory)
{
	size_t size = 128 << 10;
	char *a = vsvm_map_aligned(size, PAGE), *tmp = vsvm_host_alloc(size);
	struct drm_vsvm_vm_stats v0, v1;
	__u64 *ctr, old;
	int fd1, i;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(NULL, tmp);
	fd1 = vsvm_open_device(1);
	if (fd1 == -ENODEV)
		SKIP(return, "needs two vsvm devices (num_devices=2)");
	ASSERT_GE(fd1, 0);

	for (i = 0; i < 4; i++) {
		int wfd = i % 2 ? fd1 : self->fd, rfd = i % 2 ? self->fd : fd1;

		vsvm_pattern_fill(tmp, size, 30 + i);
		ASSERT_EQ(0, vsvm_gpu_write(wfd, a, tmp, size,
					    DRM_VSVM_POLICY_MIGRATE, NULL));
		memset(tmp, 0, size);
		ASSERT_EQ(0, vsvm_gpu_read(rfd, a, tmp, size,
					   DRM_VSVM_POLICY_MIGRATE, NULL));
		EXPECT_EQ(-1, vsvm_pattern_check(tmp, size, 30 + i));
	}
	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 33));

	ASSERT_EQ(0, vm_stats(self->fd, &v0));
	ASSERT_EQ(0, vm_stats(fd1, &v1));
	EXPECT_GT(v0.stats.pages_to_vram, 0);
	EXPECT_GT(v0.stats.invalidations, 0);
	EXPECT_GT(v1.stats.invalidations, 0);

	ctr = (__u64 *)(a + PAGE);
	*ctr = 0;
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, vsvm_gpu_atomic_add(i % 2 ? fd1 : self->fd, ctr, 1,
						 NULL, &old));
		EXPECT_EQ(i, old);
	}
	EXPECT_EQ(10, *ctr);
	close(fd1);
	munmap(a, size);
	vsvm_host_free(tmp);
}

/*
 * Placement with two devices: memory device 0 migrated to its VRAM is
 * read by device 1 under the default policy, which migrates anonymous
 * memory to the faulting device's VRAM when there is room: device 1 ends
 * up with the pages bound in its own VRAM, and the data is intact.
 */
TEST_F(vsvm, two_devices_migrate_to_own_vram)
{
	size_t size = 64 << 10;
	char *a = vsvm_map_aligned(size, SZ_64K), *tmp = vsvm_host_alloc(size);
	struct drm_vsvm_vm_stats v1;
	struct drm_vsvm_stats st;
	int fd1;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(NULL, tmp);
	fd1 = vsvm_open_device(1);
	if (fd1 == -ENODEV)
		SKIP(return, "needs two vsvm devices (num_devices=2)");
	ASSERT_GE(fd1, 0);

	vsvm_pattern_fill(tmp, size, 35);
	ASSERT_EQ(0, vsvm_gpu_write(self->fd, a, tmp, size,
				    DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(size / PAGE, st.pages_to_vram);

	memset(tmp, 0, size);
	ASSERT_EQ(0, vsvm_gpu_read(fd1, a, tmp, size,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(-1, vsvm_pattern_check(tmp, size, 35));
	EXPECT_EQ(size / PAGE, st.pages_to_vram);
	ASSERT_EQ(0, vm_stats(fd1, &v1));
	EXPECT_EQ(size / PAGE, v1.vram_pages);
	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 35));
	close(fd1);
	munmap(a, size);
	vsvm_host_free(tmp);
}

struct worker {
	int fd;
	char *buf;
	size_t size;
	unsigned int seed;
	int iters;
	int err;
	int bad_data;
	char *tmp;
};

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < w->iters && !w->err; i++) {
		unsigned int seed = w->seed + i;

		vsvm_pattern_fill(w->tmp, w->size, seed);
		w->err = vsvm_gpu_write(w->fd, w->buf, w->tmp, w->size,
					i % 2 ? DRM_VSVM_POLICY_SYSTEM :
						DRM_VSVM_POLICY_MIGRATE, NULL);
		if (w->err)
			break;
		memset(w->tmp, 0, w->size);
		w->err = vsvm_gpu_read(w->fd, w->buf, w->tmp, w->size,
				       DRM_VSVM_POLICY_MIGRATE, NULL);
		if (!w->err && vsvm_pattern_check(w->tmp, w->size, seed) != -1)
			w->bad_data++;
	}
	return NULL;
}

/*
 * Two threads run jobs on the same file at the same time, on disjoint
 * buffers, alternating policies: no error, each sees its own data.
 */
TEST_F(vsvm, two_threads_disjoint_buffers)
{
	struct worker w[2];
	pthread_t th[2];
	int i;

	for (i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].fd = self->fd;
		w[i].size = 96 << 10;
		w[i].buf = vsvm_map_aligned(w[i].size, PAGE);
		ASSERT_NE(MAP_FAILED, w[i].buf);
		w[i].tmp = vsvm_host_alloc(w[i].size);
		ASSERT_NE(NULL, w[i].tmp);
		w[i].seed = 100 * (i + 1);
		w[i].iters = 12;
	}
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, worker_fn, &w[i]));
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, w[i].err);
		EXPECT_EQ(0, w[i].bad_data);
		EXPECT_EQ(-1, vsvm_pattern_check(w[i].buf, w[i].size,
						 w[i].seed + w[i].iters - 1));
		munmap(w[i].buf, w[i].size);
		vsvm_host_free(w[i].tmp);
	}
}

struct churner {
	int fd;
	char *base;		/* NULL: wherever mmap() puts it */
	int iters;
	unsigned int seed;
	int err;
	int bad_data;
	int skipped;
	char *tmp;
};

#define CHURN_SIZE	(16 << 10)
#define CHURN_WINDOW	(512UL << 20)	/* vsvm's notifier window */

/*
 * Map a small buffer, fill it, have the GPU read it (in place or
 * migrating), check, unmap; again and again. With a base, the buffers go
 * round four notifier windows from there.
 */
static void *churner_fn(void *arg)
{
	struct churner *c = arg;
	int i;

	for (i = 0; i < c->iters && !c->err; i++) {
		char *hint = c->base ? c->base + (i % 4) * CHURN_WINDOW : NULL;
		char *p = mmap(hint, CHURN_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS |
			       (hint ? MAP_FIXED_NOREPLACE : 0), -1, 0);

		if (p == MAP_FAILED) {
			/* The other thread's buffer landed there: next. */
			if (hint && errno == EEXIST) {
				c->skipped++;
				continue;
			}
			c->err = -errno;
			break;
		}
		vsvm_pattern_fill(p, CHURN_SIZE, c->seed + i);
		memset(c->tmp, 0, CHURN_SIZE);
		c->err = vsvm_gpu_read(c->fd, p, c->tmp, CHURN_SIZE,
				       i % 2 ? DRM_VSVM_POLICY_SYSTEM :
					       DRM_VSVM_POLICY_MIGRATE, NULL);
		if (!c->err &&
		    vsvm_pattern_check(c->tmp, CHURN_SIZE, c->seed + i) != -1)
			c->bad_data++;
		munmap(p, CHURN_SIZE);
	}
	return NULL;
}

/*
 * Notifier windows that empty and fill again while another thread does the
 * same: the GPU SVM keeps the first window to lose its last range as an
 * idle notifier, hands it to the next range there, and removes it when a
 * new window is needed. One thread maps, reads and unmaps wherever mmap()
 * puts its buffers (mostly the same window), the other goes round four
 * windows, both on one VM: every read sees the data just written.
 */
TEST_F(vsvm, windows_emptied_and_refilled_by_two_threads)
{
	struct churner c[2];
	pthread_t th[2];
	char *area;
	int i;

	/* Four free windows: reserve them, then give them back. */
	area = mmap(NULL, 5 * CHURN_WINDOW, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	ASSERT_EQ(0, munmap(area, 5 * CHURN_WINDOW));

	for (i = 0; i < 2; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].fd = self->fd;
		c[i].base = i ? (char *)(((uintptr_t)area + CHURN_WINDOW - 1) &
					 ~(CHURN_WINDOW - 1)) + SZ_64K : NULL;
		c[i].iters = 200;
		c[i].seed = 1000 * (i + 1);
		c[i].tmp = vsvm_host_alloc(CHURN_SIZE);
		ASSERT_NE(NULL, c[i].tmp);
	}
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, churner_fn, &c[i]));
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, c[i].err);
		EXPECT_EQ(0, c[i].bad_data);
		EXPECT_GT(c[i].iters / 2, c[i].skipped);
		vsvm_host_free(c[i].tmp);
	}
}

#define LONG_JOB_BUF	(128UL << 20)
#define LONG_JOB_OPS	256

/*
 * In a child: bind a 128 MiB buffer in system memory, tell the parent,
 * then run jobs of 256 READs of all of it (into itself) forever. Those
 * jobs never fault: each one copies 32 GiB through the GPU page table.
 */
static void long_jobs_child(int ready)
{
	static struct drm_vsvm_op ops[LONG_JOB_OPS];
	struct drm_vsvm_exec e;
	char *buf;
	int fd, i;

	fd = vsvm_open_device(0);
	buf = mmap(NULL, LONG_JOB_BUF, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || buf == MAP_FAILED)
		_exit(2);
	memset(buf, 0x5a, LONG_JOB_BUF);
	if (vsvm_gpu_read(fd, buf, buf, LONG_JOB_BUF, DRM_VSVM_POLICY_SYSTEM,
			  NULL))
		_exit(3);

	for (i = 0; i < LONG_JOB_OPS; i++) {
		ops[i].code = DRM_VSVM_OP_READ;
		ops[i].gpu_addr = (unsigned long)buf;
		ops[i].size = LONG_JOB_BUF;
		ops[i].data = (unsigned long)buf;
	}
	memset(&e, 0, sizeof(e));
	e.ops = (unsigned long)ops;
	e.num_ops = LONG_JOB_OPS;
	e.flags = DRM_VSVM_POLICY_SYSTEM;
	if (write(ready, "r", 1) != 1)
		_exit(4);
	for (;;)
		ioctl(fd, DRM_IOCTL_VSVM_EXEC, &e);
}

/*
 * A job over memory the GPU has mapped never faults, and only the fault
 * handler looked at signals: a child running jobs of 256 READs of 128 MiB
 * it had bound ignored SIGKILL until the end of the job in progress (tens
 * of seconds under QEMU) and, without kernel preemption, hogged its CPU
 * meanwhile (soft lockups). Killed 100 ms into those jobs, it must be gone
 * within two seconds.
 */
TEST_F_TIMEOUT(vsvm, long_job_is_killable, 120)
{
	int pipefd[2], status = 0;
	double t0, waited;
	pid_t pid, ret = 0;
	char c;

	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		close(pipefd[0]);
		long_jobs_child(pipefd[1]);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &c, 1) != 1) {
		waitpid(pid, &status, 0);
		close(pipefd[0]);
		ASSERT_TRUE(0) {
			TH_LOG("the child failed to set up (status %#x)", status);
		}
	}
	close(pipefd[0]);

	usleep(100 * 1000);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	t0 = vsvm_now_ms();
	do {
		ret = waitpid(pid, &status, WNOHANG);
		if (ret)
			break;
		usleep(10 * 1000);
	} while (vsvm_now_ms() - t0 < 2000);
	waited = vsvm_now_ms() - t0;
	ASSERT_EQ(pid, ret) {
		TH_LOG("the child ignored SIGKILL for %.0f ms in a job that never faults",
		       waited);
	}
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
}

#define SIG_ROUNDS	4
#define SIG_OPS		256
#define SIG_COUNTERS	8

struct sig_ctx {
	pthread_t target;
	int fd;
	char *scratch;
	int stop;
	unsigned long sent;
	unsigned long migrations;
	int err;
};

static void sig_empty_handler(int sig)
{
}

/* SIGUSR1 to the thread running the jobs, every 200 us. */
static void *signaller_fn(void *arg)
{
	struct sig_ctx *s = arg;

	while (!READ_ONCE(s->stop)) {
		pthread_kill(s->target, SIGUSR1);
		s->sent++;
		usleep(200);
	}
	return NULL;
}

/*
 * Keeps taking the VM lock for a while: a migration of 2 MiB, which
 * vsvm_commit_delay_us makes sleep with the lock held, so that the jobs
 * sleep on the lock when a signal comes.
 */
static void *lock_holder_fn(void *arg)
{
	struct sig_ctx *s = arg;
	int ret;

	while (!READ_ONCE(s->stop)) {
		ret = vsvm_migrate(s->fd, s->scratch, SZ_2M,
				   s->migrations & 1 ? DRM_VSVM_MIGRATE_TO_SYSTEM :
						       DRM_VSVM_MIGRATE_TO_VRAM,
				   NULL);
		if (ret) {
			s->err = ret;
			break;
		}
		s->migrations++;
		usleep(2000);
	}
	return NULL;
}

/*
 * Jobs of 256 ATOMIC_ADDs run while their thread gets SIGUSR1 (an empty
 * handler, no SA_RESTART) every 200 us and another thread keeps the VM
 * lock busy. They are submitted as drmIoctl() does, the same job again on
 * EINTR, first as plain jobs, then with DRM_VSVM_EXEC_INTERRUPTIBLE, the
 * rest of a job again when it ended early. Every add must be applied
 * exactly once. Before, a job that slept on the VM lock when the signal
 * came failed with EINTR after some adds had run (completed > 0), and its
 * resubmission applied them again: the counters ended too high.
 */
TEST_F_TIMEOUT(vsvm, exec_signals_apply_each_op_once, 180)
{
	unsigned long eintr = 0, eintr_after_ops = 0, early = 0;
	__u64 *ctr = vsvm_map_aligned(PAGE, PAGE);
	struct drm_vsvm_op ops[SIG_OPS];
	struct sig_ctx s = { 0 };
	struct sigaction sa;
	pthread_t sig_th, lock_th;
	int knob, mode, round, i, ret = 0;
	struct drm_vsvm_exec e;
	unsigned int done;

	ASSERT_NE(MAP_FAILED, ctr);
	s.scratch = vsvm_map_aligned(SZ_2M, SZ_2M);
	ASSERT_NE(MAP_FAILED, s.scratch);
	memset(s.scratch, 0x33, SZ_2M);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sig_empty_handler;
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));

	/* Without the knob (no debugfs) the lock is contended less often. */
	knob = !vsvm_debugfs_set(self->fd, "vsvm_commit_delay_us", 500);

	s.fd = self->fd;
	s.target = pthread_self();
	ASSERT_EQ(0, pthread_create(&lock_th, NULL, lock_holder_fn, &s));
	ASSERT_EQ(0, pthread_create(&sig_th, NULL, signaller_fn, &s));

	for (mode = 0; mode < 2 && !ret; mode++) {
		__u32 flags = mode ? DRM_VSVM_EXEC_INTERRUPTIBLE : 0;

		for (round = 0; round < SIG_ROUNDS && !ret; round++) {
			memset(ops, 0, sizeof(ops));
			for (i = 0; i < SIG_OPS; i++) {
				ops[i].code = DRM_VSVM_OP_ATOMIC_ADD;
				ops[i].gpu_addr = (unsigned long)&ctr[i % SIG_COUNTERS];
				ops[i].size = sizeof(__u64);
				ops[i].data = 1;
			}
			for (done = 0; done < SIG_OPS && !ret; ) {
				memset(&e, 0, sizeof(e));
				e.ops = (unsigned long)&ops[done];
				e.num_ops = SIG_OPS - done;
				e.flags = flags;
				ret = ioctl(self->fd, DRM_IOCTL_VSVM_EXEC, &e);
				if (ret == -1 && (errno == EINTR || errno == EAGAIN)) {
					/* drmIoctl(): the same job again. */
					eintr++;
					if (e.completed)
						eintr_after_ops++;
					ret = 0;
					continue;
				}
				if (ret) {
					ret = -errno;
					break;
				}
				/* Only an interruptible job may end early. */
				if (!e.completed || e.completed > e.num_ops ||
				    (!mode && e.completed != e.num_ops)) {
					ret = -ERANGE;
					break;
				}
				if (e.completed < e.num_ops)
					early++;
				done += e.completed;
			}
		}
	}

	WRITE_ONCE(s.stop, 1);
	pthread_join(sig_th, NULL);
	pthread_join(lock_th, NULL);
	if (knob)
		EXPECT_EQ(0, vsvm_debugfs_set(self->fd, "vsvm_commit_delay_us", 0));

	EXPECT_EQ(0, ret) {
		TH_LOG("mode %d round %d: job failed with %d (%s)", mode - 1,
		       round - 1, ret, strerror(-ret));
	}
	EXPECT_EQ(0, s.err);
	EXPECT_GT(s.sent, 0);
	TH_LOG("%lu signals, %lu migrations under the lock, %lu EINTR, %lu jobs ended early",
	       s.sent, s.migrations, eintr, early);
	EXPECT_EQ(0, eintr_after_ops) {
		TH_LOG("%lu jobs failed with EINTR after running operations",
		       eintr_after_ops);
	}
	/* Documented: only a fatal signal fails a job. */
	EXPECT_EQ(0, eintr);
	for (i = 0; i < SIG_COUNTERS; i++)
		EXPECT_EQ(2 * SIG_ROUNDS * SIG_OPS / SIG_COUNTERS, ctr[i]) {
			TH_LOG("counter %d: adds applied more or less than once", i);
		}
	munmap(ctr, PAGE);
	munmap(s.scratch, SZ_2M);
}

/*
 * VM_SET_PARAM accepts timeslices from 0 to 10000 ms (invalid values are
 * in the bad_args matrix); a timeslice does not change what the GPU sees.
 */
TEST_F(vsvm, set_param_timeslice_valid)
{
	char *a = vsvm_map_aligned(4 * PAGE, PAGE), out[PAGE];

	ASSERT_NE(MAP_FAILED, a);
	EXPECT_EQ(0, vsvm_set_timeslice(self->fd, 0));
	EXPECT_EQ(0, vsvm_set_timeslice(self->fd, 10000));
	EXPECT_EQ(0, vsvm_set_timeslice(self->fd, 1));
	vsvm_pattern_fill(a, 4 * PAGE, 40);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, a + PAGE, out, PAGE,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(0, memcmp(a + PAGE, out, PAGE));
	munmap(a, 4 * PAGE);
}

/*
 * Invalid ioctl input. Every case names the ioctl, the bad field and the
 * exact errno; the ioctl must fail without doing anything: the scratch
 * buffer keeps its pattern, the VM counters stay at zero and EXEC reports
 * nothing completed.
 */
struct bad_ctx {
	char *buf;		/* 4 pages, pattern 50 */
	char *src;		/* 1 page, pattern 51 */
	struct drm_vsvm_op ops[257];
	union {
		struct drm_vsvm_query q;
		struct drm_vsvm_exec e;
		struct drm_vsvm_migrate m;
		struct drm_vsvm_vm_stats s;
		struct drm_vsvm_vm_set_param p;
	} arg;
};

#define BAD_SIZE	(4 * PAGE)

/* A valid one-op job: write src over the first page of buf. */
static void good_exec(struct bad_ctx *c)
{
	int i;

	for (i = 0; i < 257; i++) {
		c->ops[i].code = DRM_VSVM_OP_WRITE;
		c->ops[i].gpu_addr = (unsigned long)c->buf;
		c->ops[i].size = PAGE;
		c->ops[i].data = (unsigned long)c->src;
	}
	c->arg.e.ops = (unsigned long)c->ops;
	c->arg.e.num_ops = 1;
}

static void good_migrate(struct bad_ctx *c)
{
	c->arg.m.start = (unsigned long)c->buf;
	c->arg.m.size = BAD_SIZE;
	c->arg.m.target = DRM_VSVM_MIGRATE_TO_VRAM;
}

static void good_param(struct bad_ctx *c)
{
	c->arg.p.param = DRM_VSVM_PARAM_TIMESLICE_MS;
	c->arg.p.value = 5;
}

static void p_query_flags(struct bad_ctx *c)
{
	c->arg.q.flags = 1;
}

static void p_query_pad(struct bad_ctx *c)
{
	c->arg.q.pad = 1;
}

static void p_exec_flags(struct bad_ctx *c)
{
	good_exec(c);
	c->arg.e.flags = 1u << 8;
}

static void p_exec_flags_top(struct bad_ctx *c)
{
	good_exec(c);
	c->arg.e.flags = 1u << 31;
}

static void p_exec_policy(struct bad_ctx *c)
{
	good_exec(c);
	c->arg.e.flags = 3;
}

static void p_exec_pad(struct bad_ctx *c)
{
	good_exec(c);
	c->arg.e.pad = 1;
}

static void p_exec_no_ops(struct bad_ctx *c)
{
	good_exec(c);
	c->arg.e.num_ops = 0;
}

static void p_exec_257_ops(struct bad_ctx *c)
{
	good_exec(c);
	c->arg.e.num_ops = 257;
}

static void p_exec_bad_ptr(struct bad_ctx *c)
{
	good_exec(c);
	c->arg.e.ops = 16;
}

static void p_exec_kernel_ptr(struct bad_ctx *c)
{
	good_exec(c);
	c->arg.e.ops = 0xffff888000000000ULL;
}

static void p_op_flags(struct bad_ctx *c)
{
	good_exec(c);
	c->ops[0].flags = 1;
}

static void p_op_code0(struct bad_ctx *c)
{
	good_exec(c);
	c->ops[0].code = 0;
}

static void p_op_code_unknown(struct bad_ctx *c)
{
	good_exec(c);
	c->ops[0].code = DRM_VSVM_OP_ATOMIC_ADD + 1;
}

static void p_op_size0(struct bad_ctx *c)
{
	good_exec(c);
	c->ops[0].size = 0;
}

static void p_op_overflow(struct bad_ctx *c)
{
	good_exec(c);
	c->ops[0].gpu_addr = ~0ULL - 100;
}

static void p_op_huge_size(struct bad_ctx *c)
{
	good_exec(c);
	c->ops[0].size = 1ULL << 60;
}

static void p_op_beyond_task(struct bad_ctx *c)
{
	good_exec(c);
	c->ops[0].gpu_addr = 1ULL << 62;
}

static void p_second_op_bad(struct bad_ctx *c)
{
	good_exec(c);
	c->arg.e.num_ops = 2;
	c->ops[1].code = 99;
}

static void p_last_of_256_bad(struct bad_ctx *c)
{
	good_exec(c);
	c->arg.e.num_ops = 256;
	c->ops[255].size = 0;
}

static void p_fill_addr(struct bad_ctx *c)
{
	good_exec(c);
	c->ops[0].code = DRM_VSVM_OP_FILL;
	c->ops[0].gpu_addr += 4;
	c->ops[0].size = 64;
}

static void p_fill_size(struct bad_ctx *c)
{
	good_exec(c);
	c->ops[0].code = DRM_VSVM_OP_FILL;
	c->ops[0].size = 12;
}

static void p_atomic_size(struct bad_ctx *c)
{
	good_exec(c);
	c->ops[0].code = DRM_VSVM_OP_ATOMIC_ADD;
	c->ops[0].size = 4;
}

static void p_atomic_addr(struct bad_ctx *c)
{
	good_exec(c);
	c->ops[0].code = DRM_VSVM_OP_ATOMIC_ADD;
	c->ops[0].gpu_addr += 4;
	c->ops[0].size = 8;
}

static void p_copy_overlap(struct bad_ctx *c)
{
	good_exec(c);
	c->ops[0].code = DRM_VSVM_OP_COPY;
	c->ops[0].data = (unsigned long)c->buf + 100;
}

static void p_copy_overlap_before(struct bad_ctx *c)
{
	good_exec(c);
	c->ops[0].code = DRM_VSVM_OP_COPY;
	c->ops[0].gpu_addr = (unsigned long)c->buf + PAGE;
	c->ops[0].data = (unsigned long)c->buf + PAGE - 1;
}

static void p_copy_src_overflow(struct bad_ctx *c)
{
	good_exec(c);
	c->ops[0].code = DRM_VSVM_OP_COPY;
	c->ops[0].data = ~0ULL - 10;
}

static void p_mig_start(struct bad_ctx *c)
{
	good_migrate(c);
	c->arg.m.start += 8;
}

static void p_mig_size(struct bad_ctx *c)
{
	good_migrate(c);
	c->arg.m.size -= 8;
}

static void p_mig_size0(struct bad_ctx *c)
{
	good_migrate(c);
	c->arg.m.size = 0;
}

static void p_mig_overflow(struct bad_ctx *c)
{
	good_migrate(c);
	c->arg.m.size = ~0ULL & ~(PAGE - 1);
}

static void p_mig_huge(struct bad_ctx *c)
{
	good_migrate(c);
	c->arg.m.size = 1ULL << 60;
}

static void p_mig_target(struct bad_ctx *c)
{
	good_migrate(c);
	c->arg.m.target = 2;
}

static void p_mig_flags(struct bad_ctx *c)
{
	good_migrate(c);
	c->arg.m.flags = 1;
}

static void p_stats_flags(struct bad_ctx *c)
{
	c->arg.s.flags = 1;
}

static void p_stats_pad(struct bad_ctx *c)
{
	c->arg.s.pad = 1;
}

static void p_param0(struct bad_ctx *c)
{
	good_param(c);
	c->arg.p.param = 0;
}

static void p_param_unknown(struct bad_ctx *c)
{
	good_param(c);
	c->arg.p.param = DRM_VSVM_PARAM_FAULT_SIZE + 1;
}

/* DRM_VSVM_PARAM_SPLIT is a boolean. */
static void p_param_split_2(struct bad_ctx *c)
{
	c->arg.p.param = DRM_VSVM_PARAM_SPLIT;
	c->arg.p.value = 2;
}

static void p_param_split_huge(struct bad_ctx *c)
{
	c->arg.p.param = DRM_VSVM_PARAM_SPLIT;
	c->arg.p.value = 1ULL << 32 | 1;
}

static void p_param_thrash_2(struct bad_ctx *c)
{
	c->arg.p.param = DRM_VSVM_PARAM_THRASH;
	c->arg.p.value = 2;
}

static void p_param_lapse_0(struct bad_ctx *c)
{
	c->arg.p.param = DRM_VSVM_PARAM_THRASH_LAPSE_US;
	c->arg.p.value = 0;
}

static void p_param_lapse_huge(struct bad_ctx *c)
{
	c->arg.p.param = DRM_VSVM_PARAM_THRASH_LAPSE_US;
	c->arg.p.value = 1000001;
}

static void p_param_pin_0(struct bad_ctx *c)
{
	c->arg.p.param = DRM_VSVM_PARAM_THRASH_PIN_MS;
	c->arg.p.value = 0;
}

static void p_param_pin_huge(struct bad_ctx *c)
{
	c->arg.p.param = DRM_VSVM_PARAM_THRASH_PIN_MS;
	c->arg.p.value = 10001;
}

static void p_param_throttle_0(struct bad_ctx *c)
{
	c->arg.p.param = DRM_VSVM_PARAM_THRASH_THROTTLE_US;
	c->arg.p.value = 0;
}

static void p_param_prefetch_101(struct bad_ctx *c)
{
	c->arg.p.param = DRM_VSVM_PARAM_PREFETCH;
	c->arg.p.value = 101;
}

static void p_param_fault_size_8k(struct bad_ctx *c)
{
	c->arg.p.param = DRM_VSVM_PARAM_FAULT_SIZE;
	c->arg.p.value = 8192;
}

static void p_param_fault_size_0(struct bad_ctx *c)
{
	c->arg.p.param = DRM_VSVM_PARAM_FAULT_SIZE;
	c->arg.p.value = 0;
}

static void p_param_pad(struct bad_ctx *c)
{
	good_param(c);
	c->arg.p.pad = 1;
}

static void p_param_10001(struct bad_ctx *c)
{
	good_param(c);
	c->arg.p.value = 10001;
}

static void p_param_huge(struct bad_ctx *c)
{
	good_param(c);
	c->arg.p.value = 1ULL << 63;
}

FIXTURE(bad_args)
{
	int fd;
	struct bad_ctx c;
};

FIXTURE_VARIANT(bad_args)
{
	unsigned long req;
	int err;
	void (*prep)(struct bad_ctx *c);
};

FIXTURE_VARIANT_ADD(bad_args, query_flags) {
	.req = DRM_IOCTL_VSVM_QUERY, .err = -EINVAL, .prep = p_query_flags,
};

FIXTURE_VARIANT_ADD(bad_args, query_pad) {
	.req = DRM_IOCTL_VSVM_QUERY, .err = -EINVAL, .prep = p_query_pad,
};

FIXTURE_VARIANT_ADD(bad_args, exec_unknown_flags) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_exec_flags,
};

FIXTURE_VARIANT_ADD(bad_args, exec_unknown_flag_bit31) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_exec_flags_top,
};

FIXTURE_VARIANT_ADD(bad_args, exec_unknown_policy) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_exec_policy,
};

FIXTURE_VARIANT_ADD(bad_args, exec_nonzero_pad) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_exec_pad,
};

FIXTURE_VARIANT_ADD(bad_args, exec_num_ops_0) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_exec_no_ops,
};

FIXTURE_VARIANT_ADD(bad_args, exec_num_ops_257) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_exec_257_ops,
};

FIXTURE_VARIANT_ADD(bad_args, exec_bad_ops_pointer) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EFAULT, .prep = p_exec_bad_ptr,
};

FIXTURE_VARIANT_ADD(bad_args, exec_kernel_ops_pointer) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EFAULT, .prep = p_exec_kernel_ptr,
};

FIXTURE_VARIANT_ADD(bad_args, op_unknown_flags) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_op_flags,
};

FIXTURE_VARIANT_ADD(bad_args, op_code_0) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_op_code0,
};

FIXTURE_VARIANT_ADD(bad_args, op_code_unknown) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_op_code_unknown,
};

FIXTURE_VARIANT_ADD(bad_args, op_zero_size) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_op_size0,
};

FIXTURE_VARIANT_ADD(bad_args, op_overflowing_range) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_op_overflow,
};

FIXTURE_VARIANT_ADD(bad_args, op_size_beyond_task_size) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_op_huge_size,
};

FIXTURE_VARIANT_ADD(bad_args, op_addr_beyond_task_size) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_op_beyond_task,
};

FIXTURE_VARIANT_ADD(bad_args, exec_second_op_invalid) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_second_op_bad,
};

FIXTURE_VARIANT_ADD(bad_args, exec_last_of_256_invalid) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_last_of_256_bad,
};

FIXTURE_VARIANT_ADD(bad_args, fill_misaligned_addr) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_fill_addr,
};

FIXTURE_VARIANT_ADD(bad_args, fill_misaligned_size) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_fill_size,
};

FIXTURE_VARIANT_ADD(bad_args, atomic_size_4) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_atomic_size,
};

FIXTURE_VARIANT_ADD(bad_args, atomic_misaligned) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_atomic_addr,
};

FIXTURE_VARIANT_ADD(bad_args, copy_overlap_after) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_copy_overlap,
};

FIXTURE_VARIANT_ADD(bad_args, copy_overlap_before) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_copy_overlap_before,
};

FIXTURE_VARIANT_ADD(bad_args, copy_src_overflow) {
	.req = DRM_IOCTL_VSVM_EXEC, .err = -EINVAL, .prep = p_copy_src_overflow,
};

FIXTURE_VARIANT_ADD(bad_args, migrate_unaligned_start) {
	.req = DRM_IOCTL_VSVM_MIGRATE, .err = -EINVAL, .prep = p_mig_start,
};

FIXTURE_VARIANT_ADD(bad_args, migrate_unaligned_size) {
	.req = DRM_IOCTL_VSVM_MIGRATE, .err = -EINVAL, .prep = p_mig_size,
};

FIXTURE_VARIANT_ADD(bad_args, migrate_zero_size) {
	.req = DRM_IOCTL_VSVM_MIGRATE, .err = -EINVAL, .prep = p_mig_size0,
};

FIXTURE_VARIANT_ADD(bad_args, migrate_overflowing_range) {
	.req = DRM_IOCTL_VSVM_MIGRATE, .err = -EINVAL, .prep = p_mig_overflow,
};

FIXTURE_VARIANT_ADD(bad_args, migrate_beyond_task_size) {
	.req = DRM_IOCTL_VSVM_MIGRATE, .err = -EINVAL, .prep = p_mig_huge,
};

FIXTURE_VARIANT_ADD(bad_args, migrate_unknown_target) {
	.req = DRM_IOCTL_VSVM_MIGRATE, .err = -EINVAL, .prep = p_mig_target,
};

FIXTURE_VARIANT_ADD(bad_args, migrate_unknown_flags) {
	.req = DRM_IOCTL_VSVM_MIGRATE, .err = -EINVAL, .prep = p_mig_flags,
};

FIXTURE_VARIANT_ADD(bad_args, vm_stats_flags) {
	.req = DRM_IOCTL_VSVM_VM_STATS, .err = -EINVAL, .prep = p_stats_flags,
};

FIXTURE_VARIANT_ADD(bad_args, vm_stats_pad) {
	.req = DRM_IOCTL_VSVM_VM_STATS, .err = -EINVAL, .prep = p_stats_pad,
};

FIXTURE_VARIANT_ADD(bad_args, set_param_0) {
	.req = DRM_IOCTL_VSVM_VM_SET_PARAM, .err = -EINVAL, .prep = p_param0,
};

FIXTURE_VARIANT_ADD(bad_args, set_param_unknown) {
	.req = DRM_IOCTL_VSVM_VM_SET_PARAM, .err = -EINVAL, .prep = p_param_unknown,
};

FIXTURE_VARIANT_ADD(bad_args, set_param_split_2) {
	.req = DRM_IOCTL_VSVM_VM_SET_PARAM, .err = -EINVAL, .prep = p_param_split_2,
};

FIXTURE_VARIANT_ADD(bad_args, set_param_split_huge) {
	.req = DRM_IOCTL_VSVM_VM_SET_PARAM, .err = -EINVAL, .prep = p_param_split_huge,
};

FIXTURE_VARIANT_ADD(bad_args, set_param_thrash_2) {
	.req = DRM_IOCTL_VSVM_VM_SET_PARAM, .err = -EINVAL, .prep = p_param_thrash_2,
};

FIXTURE_VARIANT_ADD(bad_args, set_param_lapse_0) {
	.req = DRM_IOCTL_VSVM_VM_SET_PARAM, .err = -EINVAL, .prep = p_param_lapse_0,
};

FIXTURE_VARIANT_ADD(bad_args, set_param_lapse_huge) {
	.req = DRM_IOCTL_VSVM_VM_SET_PARAM, .err = -EINVAL, .prep = p_param_lapse_huge,
};

FIXTURE_VARIANT_ADD(bad_args, set_param_pin_0) {
	.req = DRM_IOCTL_VSVM_VM_SET_PARAM, .err = -EINVAL, .prep = p_param_pin_0,
};

FIXTURE_VARIANT_ADD(bad_args, set_param_pin_huge) {
	.req = DRM_IOCTL_VSVM_VM_SET_PARAM, .err = -EINVAL, .prep = p_param_pin_huge,
};

FIXTURE_VARIANT_ADD(bad_args, set_param_throttle_0) {
	.req = DRM_IOCTL_VSVM_VM_SET_PARAM, .err = -EINVAL, .prep = p_param_throttle_0,
};

FIXTURE_VARIANT_ADD(bad_args, set_param_prefetch_101) {
	.req = DRM_IOCTL_VSVM_VM_SET_PARAM, .err = -EINVAL, .prep = p_param_prefetch_101,
};

FIXTURE_VARIANT_ADD(bad_args, set_param_fault_size_8k) {
	.req = DRM_IOCTL_VSVM_VM_SET_PARAM, .err = -EINVAL, .prep = p_param_fault_size_8k,
};

FIXTURE_VARIANT_ADD(bad_args, set_param_fault_size_0) {
	.req = DRM_IOCTL_VSVM_VM_SET_PARAM, .err = -EINVAL, .prep = p_param_fault_size_0,
};

FIXTURE_VARIANT_ADD(bad_args, set_param_pad) {
	.req = DRM_IOCTL_VSVM_VM_SET_PARAM, .err = -EINVAL, .prep = p_param_pad,
};

FIXTURE_VARIANT_ADD(bad_args, set_param_timeslice_10001) {
	.req = DRM_IOCTL_VSVM_VM_SET_PARAM, .err = -EINVAL, .prep = p_param_10001,
};

FIXTURE_VARIANT_ADD(bad_args, set_param_timeslice_huge) {
	.req = DRM_IOCTL_VSVM_VM_SET_PARAM, .err = -EINVAL, .prep = p_param_huge,
};

FIXTURE_SETUP(bad_args)
{
	self->fd = vsvm_open_device(0);
	if (self->fd == -ENODEV)
		SKIP(return, "no vsvm device (is the module loaded?)");
	ASSERT_GE(self->fd, 0);
	memset(&self->c, 0, sizeof(self->c));
	self->c.buf = vsvm_map_aligned(BAD_SIZE, PAGE);
	ASSERT_NE(MAP_FAILED, self->c.buf);
	self->c.src = vsvm_map_aligned(PAGE, PAGE);
	ASSERT_NE(MAP_FAILED, self->c.src);
	vsvm_pattern_fill(self->c.buf, BAD_SIZE, 50);
	vsvm_pattern_fill(self->c.src, PAGE, 51);
}

FIXTURE_TEARDOWN(bad_args)
{
	if (self->fd < 0)
		return;
	munmap(self->c.buf, BAD_SIZE);
	munmap(self->c.src, PAGE);
	close(self->fd);
}

TEST_F(bad_args, rejected)
{
	struct drm_vsvm_vm_stats vst;
	struct drm_vsvm_op ops0;

	variant->prep(&self->c);
	ops0 = self->c.ops[0];
	if (variant->req == DRM_IOCTL_VSVM_EXEC) {
		/* Outputs must be reset even on failure: poison them. */
		self->c.arg.e.completed = 77;
		self->c.arg.e.stats.gpu_faults = 77;
	}

	EXPECT_EQ(variant->err, vsvm_ioctl(self->fd, variant->req, &self->c.arg));

	if (variant->req == DRM_IOCTL_VSVM_EXEC) {
		EXPECT_EQ(0, self->c.arg.e.completed);
		EXPECT_EQ(0, self->c.arg.e.stats.gpu_faults);
		EXPECT_EQ(0, self->c.arg.e.stats.bytes_written);
		/* The op array is not written back by a rejected job. */
		EXPECT_EQ(0, memcmp(&ops0, &self->c.ops[0], sizeof(ops0)));
	}
	if (variant->req == DRM_IOCTL_VSVM_QUERY)
		EXPECT_EQ(0, self->c.arg.q.vram_size);

	/* Nothing ran: data untouched, no GPU activity in the VM. */
	EXPECT_EQ(-1, vsvm_pattern_check(self->c.buf, BAD_SIZE, 50));
	ASSERT_EQ(0, vm_stats(self->fd, &vst));
	EXPECT_EQ(0, vst.stats.gpu_faults);
	EXPECT_EQ(0, vst.stats.bytes_written);
	EXPECT_EQ(0, vst.stats.bytes_read);
	EXPECT_EQ(0, vst.stats.pages_to_vram);
	EXPECT_EQ(0, vst.num_ranges);
}

TEST_HARNESS_MAIN
