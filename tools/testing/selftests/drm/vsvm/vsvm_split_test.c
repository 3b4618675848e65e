// SPDX-License-Identifier: GPL-2.0-only
/*
 * Userspace tests of range split (DRM_VSVM_PARAM_SPLIT): a munmap() or
 * mprotect() of part of a GPU-mirrored range takes only that part off the
 * GPU. The rest keeps its GPU mapping and its VRAM: no page moves back to
 * system memory and the GPU reads it without a new fault, before and after
 * the range is replaced by smaller ones. With the parameter off, the whole
 * range is dropped, as upstream drivers do.
 */

#define _GNU_SOURCE
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../../kselftest_harness.h"
#include "vsvm_util.h"

#define PAGE		4096UL
#define SZ_64K		0x00010000UL
#define SZ_1M		0x00100000UL
#define SZ_2M		0x00200000UL

FIXTURE(split)
{
	int fd;
	unsigned long long max_ranges;
};

FIXTURE_SETUP(split)
{
	self->max_ranges = 0;
	self->fd = vsvm_open_device(0);
	if (self->fd == -ENODEV)
		SKIP(return, "no vsvm device (is the module loaded?)");
	ASSERT_GE(self->fd, 0);
	if (vsvm_debugfs_get(self->fd, "vsvm_max_ranges", &self->max_ranges))
		self->max_ranges = 0;
}

FIXTURE_TEARDOWN(split)
{
	if (self->fd < 0)
		return;
	if (self->max_ranges)
		vsvm_debugfs_set(self->fd, "vsvm_max_ranges", self->max_ranges);
	close(self->fd);
}

/*
 * Wait up to 2 s for the garbage collector's worker, which runs some time
 * after an munmap(): until the VM counter at offset @field of the stats
 * (ranges_split, num_ranges) is @n. Returns its last value, ~0 if the
 * stats cannot be read.
 */
static __u64 wait_stat(int fd, size_t field, __u64 n)
{
	struct drm_vsvm_vm_stats vst;
	__u64 v = ~0ULL;
	int i;

	for (i = 0; i < 200; i++) {
		if (vsvm_vm_stats(fd, &vst))
			return ~0ULL;
		memcpy(&v, (char *)&vst + field, sizeof(v));
		if (v == n)
			break;
		usleep(10 * 1000);
	}
	return v;
}

#define wait_splits(fd, n) \
	wait_stat(fd, offsetof(struct drm_vsvm_vm_stats, ranges_split), n)
#define wait_ranges(fd, n) \
	wait_stat(fd, offsetof(struct drm_vsvm_vm_stats, num_ranges), n)

/*
 * GPU-read [@off, @off + @len) of @a (pattern @seed) with @policy and check
 * the bytes; returns the GPU faults the read took, or -1 on error.
 */
static long read_check(int fd, char *a, size_t off, size_t len,
		       unsigned int seed, unsigned int policy)
{
	char *tmp = vsvm_host_alloc(len);
	struct drm_vsvm_stats st;
	long ret = -1;
	size_t i;

	if (!tmp)
		return -1;
	if (vsvm_gpu_read(fd, a + off, tmp, len, policy, &st))
		goto out;
	for (i = 0; i < len; i++)
		if ((unsigned char)tmp[i] != vsvm_pattern_byte(off + i, seed))
			goto out;
	ret = st.gpu_faults;
out:
	vsvm_host_free(tmp);
	return ret;
}

/*
 * Pattern-fill 2 MiB at a 2 MiB boundary, with MADV_HUGEPAGE (@advice) or
 * MADV_NOHUGEPAGE, or neither (0).
 */
static char *map_2m(unsigned int seed, int advice)
{
	char *a = vsvm_map_aligned(SZ_2M, SZ_2M);

	if (a == MAP_FAILED)
		return NULL;
	if (advice && madvise(a, SZ_2M, advice)) {
		munmap(a, SZ_2M);
		return NULL;
	}
	vsvm_pattern_fill(a, SZ_2M, seed);
	return a;
}

/*
 * The case: 4 KiB unmapped in the middle of a 2 MiB range that
 * lives in VRAM. The GPU reads the rest without a fault and without a page
 * moving back, both before the garbage collector ran and after it split the
 * range; the mirrored VRAM pages are all still bound; the hole is gone for
 * the GPU.
 */
TEST_F(split, vram_hole_keeps_rest)
{
	char *a = map_2m(41, 0), buf[8];
	struct drm_vsvm_vm_stats v0, v1;
	struct drm_vsvm_stats st;
	size_t hole = SZ_1M;

	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, vsvm_migrate(self->fd, a, SZ_2M, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	ASSERT_EQ(SZ_2M / PAGE, st.pages_to_vram);
	/* Bound by the prefetch: no fault. */
	ASSERT_EQ(0, read_check(self->fd, a, 0, SZ_2M, 41, DRM_VSVM_POLICY_MIGRATE));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v0));
	EXPECT_EQ(SZ_2M / PAGE, v0.vram_pages);

	ASSERT_EQ(0, munmap(a + hole, PAGE));

	/* Right away, maybe before the split: the rest is still bound. */
	EXPECT_EQ(0, read_check(self->fd, a, 0, hole, 41, DRM_VSVM_POLICY_MIGRATE));
	EXPECT_EQ(0, read_check(self->fd, a, hole + PAGE, SZ_2M - hole - PAGE, 41,
				DRM_VSVM_POLICY_MIGRATE));

	EXPECT_EQ(v0.ranges_split + 1, wait_splits(self->fd, v0.ranges_split + 1));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v1));
	/*
	 * 16 x 64K before the hole; 255 pages after it: the 64K block cut
	 * at the hole (60K), then 15 x 64K.
	 */
	EXPECT_EQ(v0.split_pieces + 32, v1.split_pieces);
	EXPECT_EQ(SZ_2M / PAGE - 1, v1.vram_pages);
	EXPECT_EQ(v0.stats.pages_to_ram, v1.stats.pages_to_ram);

	/* After the split: still no fault, nothing moved, right data. */
	EXPECT_EQ(0, read_check(self->fd, a, 0, hole, 41, DRM_VSVM_POLICY_MIGRATE));
	EXPECT_EQ(0, read_check(self->fd, a, hole + PAGE, SZ_2M - hole - PAGE, 41,
				DRM_VSVM_POLICY_MIGRATE));
	EXPECT_EQ(0, read_check(self->fd, a, hole + PAGE, SZ_2M - hole - PAGE, 41,
				DRM_VSVM_POLICY_DEVICE));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v1));
	EXPECT_EQ(v0.stats.pages_to_ram, v1.stats.pages_to_ram);
	EXPECT_EQ(v0.stats.gpu_faults, v1.stats.gpu_faults);
	EXPECT_EQ(-EFAULT, vsvm_gpu_read(self->fd, a + hole, buf, 1,
					 DRM_VSVM_POLICY_MIGRATE, NULL));

	/* The GPU writes what it kept; the CPU sees it and the old data. */
	memset(buf, 0x5c, sizeof(buf));
	EXPECT_EQ(0, vsvm_gpu_write(self->fd, a + hole + PAGE, buf, sizeof(buf),
				    DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(0, st.gpu_faults);
	EXPECT_EQ(0x5c, a[hole + PAGE + 7]);
	EXPECT_EQ(-1, vsvm_pattern_check(a, hole, 41));
	munmap(a, hole);
	munmap(a + hole + PAGE, SZ_2M - hole - PAGE);
}

/*
 * The same in system memory. Without THP: when a huge page backs the range,
 * the core mm splits its mapping before the munmap() with an invalidation
 * of the whole 2 MiB, which drops the whole range (see thp_hole_drops_range).
 */
TEST_F(split, system_hole_keeps_rest)
{
	char *a = map_2m(42, MADV_NOHUGEPAGE);
	struct drm_vsvm_vm_stats v0, v1;
	size_t hole = 3 * SZ_64K + 5 * PAGE;

	ASSERT_NE(NULL, a);
	ASSERT_LT(0, read_check(self->fd, a, 0, SZ_2M, 42, DRM_VSVM_POLICY_SYSTEM));
	ASSERT_EQ(0, read_check(self->fd, a, 0, SZ_2M, 42, DRM_VSVM_POLICY_SYSTEM));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v0));
	EXPECT_EQ(0, v0.vram_pages);

	ASSERT_EQ(0, munmap(a + hole, 2 * PAGE));
	EXPECT_EQ(0, read_check(self->fd, a, 0, hole, 42, DRM_VSVM_POLICY_SYSTEM));
	EXPECT_EQ(v0.ranges_split + 1, wait_splits(self->fd, v0.ranges_split + 1));
	EXPECT_EQ(0, read_check(self->fd, a, 0, hole, 42, DRM_VSVM_POLICY_SYSTEM));
	EXPECT_EQ(0, read_check(self->fd, a, hole + 2 * PAGE, SZ_2M - hole - 2 * PAGE,
				42, DRM_VSVM_POLICY_SYSTEM));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v1));
	EXPECT_EQ(v0.stats.gpu_faults, v1.stats.gpu_faults);
	EXPECT_EQ(0, v1.stats.pages_to_vram);
	munmap(a, hole);
	munmap(a + hole + 2 * PAGE, SZ_2M - hole - 2 * PAGE);
}

/*
 * A huge page: the whole range goes (the core mm invalidates all of the
 * 2 MiB when it splits the mapping), nothing is split, the rest faults in
 * again with the right data.
 */
TEST_F(split, thp_hole_drops_range)
{
	long kb = vsvm_anon_huge_kb();
	char *a = map_2m(43, MADV_HUGEPAGE);
	struct drm_vsvm_vm_stats v0, v1;
	long faults;

	if (!a)
		SKIP(return, "MADV_HUGEPAGE not supported (no THP)");
	ASSERT_LT(0, read_check(self->fd, a, 0, SZ_2M, 43, DRM_VSVM_POLICY_SYSTEM));
	if (kb < 0 || vsvm_anon_huge_kb() < kb + 2048)
		SKIP(goto out, "no transparent huge page for the buffer");
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v0));
	ASSERT_EQ(0, munmap(a + SZ_1M, PAGE));
	faults = read_check(self->fd, a, 0, SZ_1M, 43, DRM_VSVM_POLICY_SYSTEM);
	EXPECT_LT(0, faults);
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v1));
	EXPECT_EQ(v0.ranges_split, v1.ranges_split);
out:
	munmap(a, SZ_1M);
	munmap(a + SZ_1M + PAGE, SZ_1M - PAGE);
}

/* DRM_VSVM_PARAM_SPLIT = 0: the upstream behaviour, the rest faults again. */
TEST_F(split, off_drops_range)
{
	char *a = map_2m(44, 0);
	struct drm_vsvm_vm_stats v0, v1;
	struct drm_vsvm_stats st;

	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, vsvm_set_param(self->fd, DRM_VSVM_PARAM_SPLIT, 0));
	ASSERT_EQ(0, vsvm_migrate(self->fd, a, SZ_2M, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v0));
	ASSERT_EQ(0, munmap(a + SZ_1M, PAGE));
	EXPECT_LT(0, read_check(self->fd, a, 0, SZ_1M, 44, DRM_VSVM_POLICY_MIGRATE));
	EXPECT_EQ(0, read_check(self->fd, a, 0, SZ_1M, 44, DRM_VSVM_POLICY_MIGRATE));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v1));
	EXPECT_EQ(v0.ranges_split, v1.ranges_split);
	/* Found again in VRAM, not copied back. */
	EXPECT_EQ(v0.stats.pages_to_ram, v1.stats.pages_to_ram);
	EXPECT_EQ(0, vsvm_set_param(self->fd, DRM_VSVM_PARAM_SPLIT, 1));
	munmap(a, SZ_1M);
	munmap(a + SZ_1M + PAGE, SZ_1M - PAGE);
}

/*
 * mprotect(PROT_READ) of 64 KiB in the middle: the rest stays bound and
 * writable; the protected part is readable, not writable, by the GPU after
 * a new fault (the range there now fits the read-only VMA).
 */
TEST_F(split, mprotect_part)
{
	char *a = map_2m(45, 0), buf[16];
	struct drm_vsvm_vm_stats v0, v1;
	struct drm_vsvm_stats st;
	size_t off = 5 * SZ_64K;

	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, vsvm_migrate(self->fd, a, SZ_2M, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	ASSERT_EQ(0, read_check(self->fd, a, 0, SZ_2M, 45, DRM_VSVM_POLICY_MIGRATE));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v0));

	ASSERT_EQ(0, mprotect(a + off, SZ_64K, PROT_READ));
	EXPECT_EQ(0, read_check(self->fd, a, 0, off, 45, DRM_VSVM_POLICY_MIGRATE));
	EXPECT_EQ(0, read_check(self->fd, a, off + SZ_64K, SZ_2M - off - SZ_64K, 45,
				DRM_VSVM_POLICY_MIGRATE));
	EXPECT_EQ(v0.ranges_split + 1, wait_splits(self->fd, v0.ranges_split + 1));

	memset(buf, 0x7e, sizeof(buf));
	EXPECT_EQ(0, vsvm_gpu_write(self->fd, a + SZ_2M - sizeof(buf), buf,
				    sizeof(buf), DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(0, st.gpu_faults);
	EXPECT_EQ(-EPERM, vsvm_gpu_write(self->fd, a + off, buf, sizeof(buf),
					 DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_LE(0, read_check(self->fd, a, off, SZ_64K, 45,
				DRM_VSVM_POLICY_MIGRATE));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v1));
	EXPECT_EQ(v0.stats.pages_to_ram, v1.stats.pages_to_ram);

	/* Writable again: the GPU writes it. */
	ASSERT_EQ(0, mprotect(a + off, SZ_64K, PROT_READ | PROT_WRITE));
	EXPECT_EQ(0, vsvm_gpu_write(self->fd, a + off, buf, sizeof(buf),
				    DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(0x7e, a[off + 3]);
	EXPECT_EQ(0x7e, a[SZ_2M - 1]);
	EXPECT_EQ(-1, vsvm_pattern_check(a, off, 45));
	munmap(a, SZ_2M);
}

/*
 * Every other page unmapped, one at a time: 256 holes, 256 ranges of one
 * page left, with the right data, in VRAM, without faults.
 */
TEST_F_TIMEOUT(split, many_holes, 120)
{
	char *a = map_2m(46, 0);
	struct drm_vsvm_vm_stats v0, v1;
	struct drm_vsvm_stats st;
	size_t off;

	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, vsvm_migrate(self->fd, a, SZ_2M, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v0));
	for (off = PAGE; off < SZ_2M; off += 2 * PAGE)
		ASSERT_EQ(0, munmap(a + off, PAGE));
	for (off = 0; off < SZ_2M; off += 2 * PAGE)
		ASSERT_EQ(0, read_check(self->fd, a, off, PAGE, 46,
					DRM_VSVM_POLICY_MIGRATE));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v1));
	EXPECT_EQ(SZ_2M / PAGE / 2, v1.vram_pages);
	EXPECT_EQ(v0.stats.pages_to_ram, v1.stats.pages_to_ram);
	for (off = 0; off < SZ_2M; off += 2 * PAGE) {
		ASSERT_EQ(vsvm_pattern_byte(off, 46), (unsigned char)a[off]);
		ASSERT_EQ(vsvm_pattern_byte(off + PAGE - 1, 46),
			  (unsigned char)a[off + PAGE - 1]);
	}
	for (off = 0; off < SZ_2M; off += 2 * PAGE)
		munmap(a + off, PAGE);
}

/*
 * A split that cannot allocate its ranges (the VM's range limit) drops the
 * whole range instead: the rest faults in again from where it is, with
 * its data, and nothing leaks.
 */
TEST_F(split, alloc_failure_drops_range)
{
	char *a = map_2m(47, 0);
	struct drm_vsvm_vm_stats v0, v1;
	struct drm_vsvm_stats st;

	ASSERT_NE(NULL, a);
	if (!self->max_ranges)
		SKIP(goto out, "no debugfs knob vsvm_max_ranges (debugfs not mounted?)");
	ASSERT_EQ(0, vsvm_migrate(self->fd, a, SZ_2M, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v0));
	ASSERT_EQ(1, v0.num_ranges);
	/* The split needs 32 ranges. */
	ASSERT_EQ(0, vsvm_debugfs_set(self->fd, "vsvm_max_ranges", 8));
	ASSERT_EQ(0, munmap(a + SZ_1M, PAGE));
	/* The worker fails to split and drops the range. */
	EXPECT_EQ(0, wait_ranges(self->fd, 0));
	EXPECT_LT(0, read_check(self->fd, a, 0, SZ_64K, 47, DRM_VSVM_POLICY_MIGRATE));
	EXPECT_LT(0, read_check(self->fd, a, SZ_1M + PAGE, PAGE, 47,
				DRM_VSVM_POLICY_MIGRATE));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v1));
	EXPECT_EQ(v0.ranges_split, v1.ranges_split);
	EXPECT_EQ(2, v1.num_ranges);
	EXPECT_EQ(v0.stats.pages_to_ram, v1.stats.pages_to_ram);
	ASSERT_EQ(0, vsvm_debugfs_set(self->fd, "vsvm_max_ranges", self->max_ranges));
	EXPECT_EQ(-1, vsvm_pattern_check(a, SZ_1M, 47));
out:
	munmap(a, SZ_1M);
	munmap(a + SZ_1M + PAGE, SZ_1M - PAGE);
}

struct race {
	char *a;
	size_t size;
	int stop;
	/* Pages about to be unmapped: set before munmap(). */
	unsigned char *gone;
	unsigned int seed;
};

static void *unmap_fn(void *arg)
{
	struct race *r = arg;
	unsigned int seed = r->seed;
	size_t npages = r->size / PAGE, i;

	while (!READ_ONCE(r->stop)) {
		i = rand_r(&seed) % npages;
		if (__atomic_load_n(&r->gone[i], __ATOMIC_ACQUIRE))
			continue;
		/* Unmap or protect: both take the page from the GPU. */
		__atomic_store_n(&r->gone[i], 1, __ATOMIC_RELEASE);
		if (munmap(r->a + i * PAGE, PAGE))
			break;
		usleep(200);
	}
	return NULL;
}

/*
 * A thread unmaps random pages of 8 MiB in VRAM while the GPU reads it
 * page by page: every read either returns the right bytes or -EFAULT for a
 * page that was being unmapped; no page moves back to system memory, and
 * what is left has its data for the CPU.
 */
TEST_F_TIMEOUT(split, race_unmap_gpu_reads, 120)
{
	struct race r = { .size = 4 * SZ_2M, .seed = 48 };
	struct drm_vsvm_vm_stats v0, v1;
	struct drm_vsvm_stats st;
	size_t npages = r.size / PAGE, i, ok = 0, gone = 0;
	double end = vsvm_now_ms() + 3000;
	unsigned char tmp[64];
	pthread_t t;
	int ret;

	r.a = vsvm_map_aligned(r.size, SZ_2M);
	ASSERT_NE(MAP_FAILED, r.a);
	r.gone = calloc(npages, 1);
	ASSERT_NE(NULL, r.gone);
	vsvm_pattern_fill(r.a, r.size, 48);
	ASSERT_EQ(0, vsvm_migrate(self->fd, r.a, r.size, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v0));
	ASSERT_EQ(0, pthread_create(&t, NULL, unmap_fn, &r));

	for (i = 0; vsvm_now_ms() < end; i = (i + 7) % npages) {
		size_t off = i * PAGE + (i % 61);

		ret = vsvm_gpu_read(self->fd, r.a + off, tmp, sizeof(tmp),
				    DRM_VSVM_POLICY_MIGRATE, NULL);
		if (ret == -EFAULT) {
			ASSERT_TRUE(__atomic_load_n(&r.gone[i], __ATOMIC_ACQUIRE));
			gone++;
			continue;
		}
		ASSERT_EQ(0, ret);
		for (size_t j = 0; j < sizeof(tmp); j++)
			ASSERT_EQ(vsvm_pattern_byte(off + j, 48), tmp[j]);
		ok++;
	}
	WRITE_ONCE(r.stop, 1);
	pthread_join(t, NULL);

	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v1));
	EXPECT_EQ(v0.stats.pages_to_ram, v1.stats.pages_to_ram);
	EXPECT_LT(v0.ranges_split, v1.ranges_split);
	EXPECT_LT(0, ok);
	for (i = 0; i < npages; i++) {
		if (r.gone[i])
			continue;
		ASSERT_EQ(vsvm_pattern_byte(i * PAGE + 5, 48),
			  (unsigned char)r.a[i * PAGE + 5]);
		munmap(r.a + i * PAGE, PAGE);
	}
	ksft_print_msg("%zu reads ok, %zu of unmapped pages, %llu splits\n",
		       ok, gone, (unsigned long long)(v1.ranges_split - v0.ranges_split));
	free(r.gone);
}

TEST_HARNESS_MAIN
