// SPDX-License-Identifier: GPL-2.0-only
/*
 * Userspace tests of access-density prefetch (DRM_VSVM_PARAM_PREFETCH) on a
 * VM that maps 64 KiB ranges (DRM_VSVM_PARAM_FAULT_SIZE): a GPU walking
 * through memory in 64 KiB steps faults 6 times in the first 2 MiB instead
 * of 32 and once in each further 2 MiB, upwards or downwards, with the
 * right data, migrated or in place as the policy says; a sparse walk
 * prefetches nothing it does not use.
 */

#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "../../kselftest_harness.h"
#include "vsvm_util.h"

#define PAGE		4096UL
#define SZ_64K		0x00010000UL
#define SZ_2M		0x00200000UL
#define REGIONS		4
#define SIZE		(REGIONS * SZ_2M)

FIXTURE(prefetch)
{
	int fd;
	char *a;
};

FIXTURE_SETUP(prefetch)
{
	self->a = MAP_FAILED;
	self->fd = vsvm_open_device(0);
	if (self->fd == -ENODEV)
		SKIP(return, "no vsvm device (is the module loaded?)");
	ASSERT_GE(self->fd, 0);
	ASSERT_EQ(0, vsvm_set_param(self->fd, DRM_VSVM_PARAM_FAULT_SIZE, SZ_64K));
	self->a = vsvm_map_aligned(SIZE, SZ_2M);
	ASSERT_NE(MAP_FAILED, self->a);
	vsvm_pattern_fill(self->a, SIZE, 21);
}

FIXTURE_TEARDOWN(prefetch)
{
	if (self->a != MAP_FAILED)
		munmap(self->a, SIZE);
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * The GPU reads [@from, @to) of the buffer 64 KiB at a time, every
 * @stride-th block (from the last block down if @down), with @policy; each
 * read is checked. Returns the GPU faults, or -1.
 */
static long walk_part(int fd, char *a, size_t from, size_t to, size_t stride,
		      unsigned int policy, int down)
{
	char tmp[SZ_64K];
	struct drm_vsvm_stats st;
	long faults = 0;
	size_t n, off, i;

	for (n = 0; n < to - from; n += stride * SZ_64K) {
		off = down ? to - SZ_64K - n : from + n;
		if (vsvm_gpu_read(fd, a + off, tmp, SZ_64K, policy, &st))
			return -1;
		for (i = 0; i < SZ_64K; i++)
			if ((unsigned char)tmp[i] != vsvm_pattern_byte(off + i, 21))
				return -1;
		faults += st.gpu_faults;
	}
	return faults;
}

static long walk_dir(int fd, char *a, size_t stride, unsigned int policy,
		     int down)
{
	return walk_part(fd, a, 0, SIZE, stride, policy, down);
}

static long walk(int fd, char *a, size_t stride, unsigned int policy)
{
	return walk_dir(fd, a, stride, policy, 0);
}

/* Faults of a walk of the whole buffer: 6 in its first region, 1 after. */
#define WALK_FAULTS	(6 + REGIONS - 1)
/* Prefetches of it: 5 in the first region, one per further region. */
#define WALK_PREFETCHES	(5 + REGIONS - 1)

/*
 * Prefetch on (the default 51%): 6 faults in the first 2 MiB, one in each
 * further 2 MiB, all of it in VRAM.
 */
TEST_F(prefetch, sequential_walk_migrates)
{
	struct drm_vsvm_vm_stats v0, v1;

	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v0));
	EXPECT_EQ(WALK_FAULTS, walk(self->fd, self->a, 1, DRM_VSVM_POLICY_MIGRATE));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v1));
	EXPECT_EQ(v0.prefetches + WALK_PREFETCHES, v1.prefetches);
	EXPECT_EQ(SIZE / PAGE, v1.vram_pages);
	EXPECT_EQ(SIZE / PAGE, v1.stats.pages_to_vram - v0.stats.pages_to_vram);
	/* Everything is mapped: a second walk does not fault. */
	EXPECT_EQ(0, walk(self->fd, self->a, 1, DRM_VSVM_POLICY_MIGRATE));
	EXPECT_EQ(-1, vsvm_pattern_check(self->a, SIZE, 21));
}

/* Prefetch off: one fault per 64 KiB. */
TEST_F(prefetch, off_faults_every_block)
{
	struct drm_vsvm_vm_stats v0, v1;

	ASSERT_EQ(0, vsvm_set_param(self->fd, DRM_VSVM_PARAM_PREFETCH, 0));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v0));
	EXPECT_EQ(SIZE / SZ_64K, walk(self->fd, self->a, 1, DRM_VSVM_POLICY_MIGRATE));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v1));
	EXPECT_EQ(v0.prefetches, v1.prefetches);
}

/* In place (system policy): the same fault count, nothing migrates. */
TEST_F(prefetch, sequential_walk_in_place)
{
	struct drm_vsvm_vm_stats v1;

	EXPECT_EQ(WALK_FAULTS, walk(self->fd, self->a, 1, DRM_VSVM_POLICY_SYSTEM));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v1));
	EXPECT_EQ(0, v1.stats.pages_to_vram);
	EXPECT_EQ(0, v1.vram_pages);
	EXPECT_EQ(0, walk(self->fd, self->a, 1, DRM_VSVM_POLICY_SYSTEM));
}

/* Downwards, from the last block: the same faults, the same data. */
TEST_F(prefetch, descending_walk_migrates)
{
	struct drm_vsvm_vm_stats v1;

	EXPECT_EQ(WALK_FAULTS, walk_dir(self->fd, self->a, 1,
					DRM_VSVM_POLICY_MIGRATE, 1));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v1));
	EXPECT_EQ(WALK_PREFETCHES, v1.prefetches);
	EXPECT_EQ(SIZE / PAGE, v1.vram_pages);
	EXPECT_EQ(0, walk_dir(self->fd, self->a, 1, DRM_VSVM_POLICY_MIGRATE, 1));
	EXPECT_EQ(-1, vsvm_pattern_check(self->a, SIZE, 21));
}

/*
 * A walk that the CPU interrupts by unmapping the last 64 KiB of a region
 * does not go on into the next one (the hole leaves the history with its
 * range): that region faults 6 times again, and the data is right.
 */
TEST_F(prefetch, hole_stops_the_walk)
{
	struct drm_vsvm_vm_stats v1;

	ASSERT_EQ(6, walk_part(self->fd, self->a, 0, SZ_2M, 1,
			       DRM_VSVM_POLICY_MIGRATE, 0));
	/* The next GPU fault collects its range first. */
	ASSERT_EQ(0, munmap(self->a + SZ_2M - SZ_64K, SZ_64K));
	EXPECT_EQ(6, walk_part(self->fd, self->a, SZ_2M, 2 * SZ_2M, 1,
			       DRM_VSVM_POLICY_MIGRATE, 0));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v1));
	EXPECT_EQ(5 + 5, v1.prefetches);
	munmap(self->a, SZ_2M - SZ_64K);
	munmap(self->a + SZ_2M, SIZE - SZ_2M);
	self->a = MAP_FAILED;
}

/*
 * Every 4th block: no region ever reaches half used, nothing is prefetched
 * and only what the GPU reads moves to VRAM.
 */
TEST_F(prefetch, sparse_walk_prefetches_nothing)
{
	struct drm_vsvm_vm_stats v1;

	EXPECT_EQ(SIZE / SZ_64K / 4,
		  walk(self->fd, self->a, 4, DRM_VSVM_POLICY_MIGRATE));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &v1));
	EXPECT_EQ(0, v1.prefetches);
	EXPECT_EQ(SIZE / 4 / PAGE, v1.stats.pages_to_vram);
}

/*
 * A hole in the middle of a region (munmap() of 64 KiB there before the
 * walk): the prefetch stops at it, the walk skips it, nothing fails and
 * the data is right.
 */
TEST_F(prefetch, hole_in_region)
{
	char tmp[16];

	ASSERT_EQ(0, munmap(self->a + SZ_2M + 20 * SZ_64K, SZ_64K));
	for (size_t off = 0; off < SIZE; off += SZ_64K) {
		int ret = vsvm_gpu_read(self->fd, self->a + off, tmp, sizeof(tmp),
					DRM_VSVM_POLICY_MIGRATE, NULL);

		if (off == SZ_2M + 20 * SZ_64K) {
			EXPECT_EQ(-EFAULT, ret);
			continue;
		}
		ASSERT_EQ(0, ret);
		ASSERT_EQ(vsvm_pattern_byte(off, 21), (unsigned char)tmp[0]);
	}
	munmap(self->a, SZ_2M + 20 * SZ_64K);
	munmap(self->a + SZ_2M + 21 * SZ_64K, SIZE - SZ_2M - 21 * SZ_64K);
	self->a = MAP_FAILED;
}

/*
 * Out of ranges (vsvm_max_ranges): a prefetch that cannot create its
 * ranges stops; the faults go on failing or succeeding as without it.
 */
TEST_F(prefetch, range_limit)
{
	unsigned long long max;
	char tmp[16];
	size_t off;
	int ok = 0, nomem = 0;

	if (vsvm_debugfs_get(self->fd, "vsvm_max_ranges", &max))
		SKIP(return, "no debugfs knob vsvm_max_ranges");
	ASSERT_EQ(0, vsvm_debugfs_set(self->fd, "vsvm_max_ranges", 20));
	for (off = 0; off < SZ_2M; off += SZ_64K) {
		int ret = vsvm_gpu_read(self->fd, self->a + off, tmp, sizeof(tmp),
					DRM_VSVM_POLICY_MIGRATE, NULL);

		if (!ret) {
			ok++;
			EXPECT_EQ(vsvm_pattern_byte(off, 21), (unsigned char)tmp[0]);
		} else {
			EXPECT_EQ(-ENOMEM, ret);
			nomem++;
		}
	}
	ASSERT_EQ(0, vsvm_debugfs_set(self->fd, "vsvm_max_ranges", max));
	EXPECT_EQ(20, ok);
	EXPECT_EQ(12, nomem);
}

struct unmapper {
	char *a;
	int stop;
};

static void *unmap_fn(void *arg)
{
	struct unmapper *u = arg;
	unsigned int seed = 5;
	size_t b;

	while (!READ_ONCE(u->stop)) {
		b = rand_r(&seed) % (SIZE / SZ_64K);
		/* A hole of 64 KiB, then the memory back with its pattern. */
		munmap(u->a + b * SZ_64K, SZ_64K);
		usleep(500);
		if (mmap(u->a + b * SZ_64K, SZ_64K, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
		    MAP_FAILED)
			break;
		for (size_t i = 0; i < SZ_64K; i++)
			u->a[b * SZ_64K + i] = vsvm_pattern_byte(b * SZ_64K + i, 21);
	}
	return NULL;
}

/*
 * Walks race a thread punching holes and filling them again: a read gives
 * the pattern or -EFAULT (the hole), never other bytes.
 */
TEST_F_TIMEOUT(prefetch, race_munmap_walks, 120)
{
	struct unmapper u = { .a = self->a };
	double end = vsvm_now_ms() + 3000;
	unsigned long reads = 0, holes = 0;
	char tmp[64];
	pthread_t t;
	size_t off;

	ASSERT_EQ(0, pthread_create(&t, NULL, unmap_fn, &u));
	while (vsvm_now_ms() < end) {
		for (off = 0; off < SIZE; off += SZ_64K) {
			int ret = vsvm_gpu_read(self->fd, self->a + off, tmp,
						sizeof(tmp),
						DRM_VSVM_POLICY_MIGRATE, NULL);

			if (ret == -EFAULT) {
				holes++;
				continue;
			}
			ASSERT_EQ(0, ret);
			/* Zero: the page came back but is not refilled yet. */
			if (tmp[0] || tmp[1])
				ASSERT_EQ(vsvm_pattern_byte(off, 21),
					  (unsigned char)tmp[0]);
			reads++;
		}
	}
	WRITE_ONCE(u.stop, 1);
	pthread_join(t, NULL);
	ksft_print_msg("%lu reads, %lu holes\n", reads, holes);
	EXPECT_LT(0, reads);
}

TEST_HARNESS_MAIN
