// SPDX-License-Identifier: GPL-2.0-only
/*
 * Userspace tests of two GPUs on one interconnect (module parameter
 * link=1): GPU 1 reads and writes what GPU 0's VRAM holds in place, with
 * no page moving; the CPU and evictions still take the pages back, and GPU
 * 1 never sees stale data after they moved; device-only placement and
 * explicit migrations move the pages from GPU 0's VRAM into GPU 1's in one
 * copy (device-to-device migration), and GPU 0 never reads its old copy
 * after that. Without the link, a GPU 1 access moves GPU 0's pages to
 * system memory first, as before.
 *
 * make check loads vsvm once without and once with link=1 and runs this
 * program each time; each case says which of the two it needs.
 */

#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "../../kselftest_harness.h"
#include "vsvm_util.h"

#define SZ_2M		0x00200000UL
#define NPAGES		(SZ_2M / 4096)

/* The module parameter link, or -1 if it cannot be read. */
static int vsvm_linked(void)
{
	FILE *f = fopen("/sys/module/vsvm/parameters/link", "r");
	int c;

	if (!f)
		return -1;
	c = fgetc(f);
	fclose(f);
	return c == 'Y' || c == '1';
}

static long long vram_used(int fd)
{
	struct drm_vsvm_query q;

	if (vsvm_query_device(fd, &q))
		return -1;
	return q.vram_used;
}

/* The device's copy counters: into VRAM, out to RAM, straight from a peer. */
struct copies {
	long long to_vram, to_ram, from_peer;
};

static struct copies copies(int fd)
{
	struct drm_vsvm_query q;
	struct copies c = { -1, -1, -1 };

	if (!vsvm_query_device(fd, &q)) {
		c.to_vram = q.pages_to_vram;
		c.to_ram = q.pages_to_ram;
		c.from_peer = q.pages_from_peer;
	}
	return c;
}

FIXTURE(peer)
{
	int fd0, fd1;
	char *a;
	char *tmp;
	int linked;
	unsigned int seed;
};

FIXTURE_SETUP(peer)
{
	self->a = MAP_FAILED;
	self->tmp = NULL;
	self->fd1 = -1;
	self->fd0 = vsvm_open_device(0);
	if (self->fd0 == -ENODEV)
		SKIP(return, "no vsvm device (is the module loaded?)");
	ASSERT_GE(self->fd0, 0);
	self->fd1 = vsvm_open_device(1);
	if (self->fd1 == -ENODEV)
		SKIP(return, "one vsvm device only (num_devices=1)");
	ASSERT_GE(self->fd1, 0);
	self->linked = vsvm_linked();
	ASSERT_LE(0, self->linked);
	ASSERT_EQ(0, vsvm_set_timeslice(self->fd0, 0));
	ASSERT_EQ(0, vsvm_set_timeslice(self->fd1, 0));
	self->a = vsvm_map_aligned(SZ_2M, SZ_2M);
	ASSERT_NE(MAP_FAILED, self->a);
	/* 4 KiB pages: a THP would not move to a private VRAM on 6.12. */
	ASSERT_EQ(0, madvise(self->a, SZ_2M, MADV_NOHUGEPAGE));
	/*
	 * A pattern of its own per case: freed VRAM keeps its content, and a
	 * GPU reading the wrong VRAM must not find the last case's data.
	 */
	self->seed = (unsigned int)getpid();
	vsvm_pattern_fill(self->a, SZ_2M, self->seed);
	self->tmp = malloc(SZ_2M);
	ASSERT_NE(NULL, self->tmp);
}

FIXTURE_TEARDOWN(peer)
{
	free(self->tmp);
	if (self->a != MAP_FAILED)
		munmap(self->a, SZ_2M);
	if (self->fd1 >= 0)
		close(self->fd1);
	if (self->fd0 >= 0)
		close(self->fd0);
}

/* Put the buffer in GPU 0's VRAM; returns GPU 0's VRAM use before. */
static long long to_gpu0(struct __test_metadata *_metadata, int fd0,
			 char *a)
{
	struct drm_vsvm_stats st;
	long long before = vram_used(fd0);

	EXPECT_EQ(0, vsvm_migrate(fd0, a, SZ_2M, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(NPAGES, st.pages_to_vram);
	EXPECT_EQ(before + (long long)SZ_2M, vram_used(fd0));
	return before;
}

/*
 * Linked: GPU 1 reads GPU 0's VRAM where it is. No page moves, GPU 0's
 * VRAM keeps them, and GPU 1 maps them once.
 */
TEST_F(peer, read_in_place)
{
	struct drm_vsvm_stats st;
	long long before;

	if (!self->linked)
		SKIP(return, "needs vsvm link=1");
	before = to_gpu0(_metadata, self->fd0, self->a);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd1, self->a, self->tmp, SZ_2M,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(-1, vsvm_pattern_check(self->tmp, SZ_2M, self->seed));
	EXPECT_EQ(0, st.pages_to_vram);
	EXPECT_EQ(0, st.pages_to_ram);
	EXPECT_EQ(1, st.gpu_faults);
	EXPECT_EQ(before + (long long)SZ_2M, vram_used(self->fd0));

	/* Mapped now: no fault, same data. */
	ASSERT_EQ(0, vsvm_gpu_read(self->fd1, self->a, self->tmp, SZ_2M,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(0, st.gpu_faults);
	EXPECT_EQ(-1, vsvm_pattern_check(self->tmp, SZ_2M, self->seed));
}

/* Linked: GPU 1 writes into GPU 0's VRAM; the CPU reads it back. */
TEST_F(peer, write_in_place)
{
	struct drm_vsvm_stats st;
	long long before;

	if (!self->linked)
		SKIP(return, "needs vsvm link=1");
	before = to_gpu0(_metadata, self->fd0, self->a);
	vsvm_pattern_fill(self->tmp, SZ_2M, self->seed + 1);
	ASSERT_EQ(0, vsvm_gpu_write(self->fd1, self->a, self->tmp, SZ_2M,
				    DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(0, st.pages_to_vram);
	EXPECT_EQ(before + (long long)SZ_2M, vram_used(self->fd0));
	/* GPU 0 reads GPU 1's writes from its own VRAM. */
	ASSERT_EQ(0, vsvm_gpu_read(self->fd0, self->a, self->tmp, SZ_2M,
				   DRM_VSVM_POLICY_DEVICE, &st));
	EXPECT_EQ(-1, vsvm_pattern_check(self->tmp, SZ_2M, self->seed + 1));
	/* The CPU faults them back. */
	EXPECT_EQ(-1, vsvm_pattern_check(self->a, SZ_2M, self->seed + 1));
}

/*
 * Linked: the CPU writes pages GPU 1 maps in GPU 0's VRAM, which moves
 * them back to system memory; GPU 1's mapping goes with them, and its next
 * read sees what the CPU wrote, never the old VRAM.
 */
TEST_F(peer, cpu_write_reaches_peer)
{
	struct drm_vsvm_stats st;
	size_t i;

	if (!self->linked)
		SKIP(return, "needs vsvm link=1");
	to_gpu0(_metadata, self->fd0, self->a);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd1, self->a, self->tmp, SZ_2M,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	for (i = 0; i < SZ_2M; i += 4096)
		self->a[i] = (char)(i / 4096 + 1);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd1, self->a, self->tmp, SZ_2M,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_LE(1, st.gpu_faults);
	for (i = 0; i < SZ_2M; i++) {
		unsigned char want = i % 4096 ? vsvm_pattern_byte(i, self->seed) :
						(unsigned char)(i / 4096 + 1);

		if ((unsigned char)self->tmp[i] != want) {
			EXPECT_EQ(want, (unsigned char)self->tmp[i]);
			break;
		}
	}
}

/*
 * Linked: GPU 0 evicts what GPU 1 maps in its VRAM. GPU 1 faults again
 * and reads the same data from system memory.
 */
TEST_F(peer, owner_evicts)
{
	struct drm_vsvm_stats st;
	long long before;

	if (!self->linked)
		SKIP(return, "needs vsvm link=1");
	before = to_gpu0(_metadata, self->fd0, self->a);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd1, self->a, self->tmp, SZ_2M,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	ASSERT_EQ(0, vsvm_migrate(self->fd0, self->a, SZ_2M,
				  DRM_VSVM_MIGRATE_TO_SYSTEM, &st));
	EXPECT_EQ(NPAGES, st.pages_to_ram);
	EXPECT_EQ(before, vram_used(self->fd0));
	memset(self->tmp, 0, SZ_2M);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd1, self->a, self->tmp, SZ_2M,
				   DRM_VSVM_POLICY_SYSTEM, &st));
	EXPECT_EQ(1, st.gpu_faults);
	EXPECT_EQ(-1, vsvm_pattern_check(self->tmp, SZ_2M, self->seed));
}

/*
 * Linked: GPU 1 moves what GPU 0 holds into its own VRAM, for device-only
 * placement, in one copy from VRAM to VRAM: GPU 0 copies nothing out to
 * system memory.
 */
TEST_F(peer, device_policy_moves_home)
{
	struct drm_vsvm_stats st;
	struct copies c0, c1;
	long long before;

	if (!self->linked)
		SKIP(return, "needs vsvm link=1");
	before = to_gpu0(_metadata, self->fd0, self->a);
	c0 = copies(self->fd0);
	c1 = copies(self->fd1);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd1, self->a, self->tmp, SZ_2M,
				   DRM_VSVM_POLICY_DEVICE, &st));
	EXPECT_EQ(-1, vsvm_pattern_check(self->tmp, SZ_2M, self->seed));
	EXPECT_EQ(NPAGES, st.pages_to_vram);
	EXPECT_EQ(0, st.pages_to_ram);
	EXPECT_EQ(c0.to_ram, copies(self->fd0).to_ram);
	EXPECT_EQ(c1.from_peer + NPAGES, copies(self->fd1).from_peer);
	EXPECT_EQ(before, vram_used(self->fd0));
	EXPECT_EQ(-1, vsvm_pattern_check(self->a, SZ_2M, self->seed));
}

/*
 * Linked: an explicit migration to GPU 1 takes the pages out of GPU 0's
 * VRAM in one copy, and GPU 0's mapping of its old pages goes with them:
 * after GPU 1 writes new data, GPU 0 reads the new data (in place, from
 * GPU 1's VRAM), never what its freed VRAM still holds.
 */
TEST_F(peer, migrate_between_gpus)
{
	struct drm_vsvm_stats st;
	struct copies c0, c1;
	long long before0, before1;

	if (!self->linked)
		SKIP(return, "needs vsvm link=1");
	before0 = to_gpu0(_metadata, self->fd0, self->a);
	/* GPU 0 maps its pages. */
	ASSERT_EQ(0, vsvm_gpu_read(self->fd0, self->a, self->tmp, SZ_2M,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	c0 = copies(self->fd0);
	c1 = copies(self->fd1);
	before1 = vram_used(self->fd1);
	ASSERT_EQ(0, vsvm_migrate(self->fd1, self->a, SZ_2M,
				  DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(NPAGES, st.pages_to_vram);
	EXPECT_EQ(c1.from_peer + NPAGES, copies(self->fd1).from_peer);
	EXPECT_EQ(c0.to_ram, copies(self->fd0).to_ram);
	EXPECT_EQ(before0, vram_used(self->fd0));
	EXPECT_EQ(before1 + (long long)SZ_2M, vram_used(self->fd1));

	vsvm_pattern_fill(self->tmp, SZ_2M, self->seed + 1);
	ASSERT_EQ(0, vsvm_gpu_write(self->fd1, self->a, self->tmp, SZ_2M,
				    DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(0, st.gpu_faults);
	memset(self->tmp, 0, SZ_2M);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd0, self->a, self->tmp, SZ_2M,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(-1, vsvm_pattern_check(self->tmp, SZ_2M, self->seed + 1));
	EXPECT_EQ(0, st.pages_to_vram);
	EXPECT_EQ(1, st.gpu_faults);

	/* And back to GPU 0, again in one copy. */
	c1 = copies(self->fd1);
	c0 = copies(self->fd0);
	ASSERT_EQ(0, vsvm_migrate(self->fd0, self->a, SZ_2M,
				  DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(NPAGES, st.pages_to_vram);
	EXPECT_EQ(c0.from_peer + NPAGES, copies(self->fd0).from_peer);
	EXPECT_EQ(c1.to_ram, copies(self->fd1).to_ram);
	EXPECT_EQ(before1, vram_used(self->fd1));
	EXPECT_EQ(-1, vsvm_pattern_check(self->a, SZ_2M, self->seed + 1));
}

/*
 * Linked: the device-to-device copy fails (fail_copy_to_devmem): the
 * device-only job fails, the pages stay in GPU 0's VRAM with their data,
 * and the next try moves them.
 */
TEST_F(peer, failing_peer_copy)
{
	long long before;
	struct copies c1;
	int err;

	if (!self->linked)
		SKIP(return, "needs vsvm link=1");
	before = to_gpu0(_metadata, self->fd0, self->a);
	c1 = copies(self->fd1);
	if (vsvm_fault_set("fail_copy_to_devmem", 100, 1000))
		SKIP(return, "no fault injection of the driver hooks");
	err = vsvm_gpu_read(self->fd1, self->a, self->tmp, SZ_2M,
			    DRM_VSVM_POLICY_DEVICE, NULL);
	vsvm_fault_set("fail_copy_to_devmem", 0, 1);
	EXPECT_NE(0, err);
	EXPECT_EQ(c1.from_peer, copies(self->fd1).from_peer);
	EXPECT_EQ(before + (long long)SZ_2M, vram_used(self->fd0));
	ASSERT_EQ(0, vsvm_gpu_read(self->fd1, self->a, self->tmp, SZ_2M,
				   DRM_VSVM_POLICY_DEVICE, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(self->tmp, SZ_2M, self->seed));
	EXPECT_EQ(c1.from_peer + NPAGES, copies(self->fd1).from_peer);
	EXPECT_EQ(-1, vsvm_pattern_check(self->a, SZ_2M, self->seed));
}

struct mover {
	int fd[2];
	char *a;
	int stop;
	int moves, err;
};

/* Move the buffer from GPU to GPU, explicitly, until told to stop. */
static void *mover_fn(void *arg)
{
	struct mover *m = arg;
	int err;

	while (!READ_ONCE(m->stop)) {
		err = vsvm_migrate(m->fd[m->moves & 1], m->a, SZ_2M,
				   DRM_VSVM_MIGRATE_TO_VRAM, NULL);
		/* The CPU or an eviction took pages meanwhile: try again. */
		if (err && err != -EBUSY) {
			m->err = err;
			break;
		}
		m->moves++;
	}
	return NULL;
}

/*
 * Linked: one thread moves the buffer between the GPUs' VRAM, while this
 * one writes a word of each page from the CPU (which takes the page back
 * to system memory) and GPU 0 evicts the whole buffer now and then. After
 * 5 s, every page holds the last word the CPU wrote and the rest of its
 * data: no device-to-device move lost a write or copied a stale page.
 */
TEST_F_TIMEOUT(peer, migrate_races_cpu_and_evict, 60)
{
	struct mover m = { .fd = { self->fd0, self->fd1 }, .a = self->a };
	double end = vsvm_now_ms() + 5000;
	unsigned long pass = 0, p, i;
	pthread_t t;

	if (!self->linked)
		SKIP(return, "needs vsvm link=1");
	ASSERT_EQ(0, pthread_create(&t, NULL, mover_fn, &m));
	while (vsvm_now_ms() < end && !m.err) {
		pass++;
		for (p = (pass * 7) % 64; p < NPAGES; p += 64)
			*(unsigned long *)(self->a + p * 4096) = pass << 16 | p;
		if (pass % 16 == 0)
			vsvm_migrate(self->fd0, self->a, SZ_2M,
				     DRM_VSVM_MIGRATE_TO_SYSTEM, NULL);
		usleep(1000);
	}
	WRITE_ONCE(m.stop, 1);
	pthread_join(t, NULL);
	ksft_print_msg("%d moves, %lu CPU passes\n", m.moves, pass);
	EXPECT_EQ(0, m.err);
	EXPECT_LT(1, m.moves);
	for (p = 0; p < NPAGES; p++) {
		unsigned long last = 0, q;
		unsigned long word = *(unsigned long *)(self->a + p * 4096);

		/* The last pass that wrote page p. */
		for (q = pass; q; q--)
			if ((q * 7) % 64 == p % 64) {
				last = q << 16 | p;
				break;
			}
		/* Never written: still the pattern (checked below). */
		ASSERT_EQ(last ? last : word, word);
		for (i = sizeof(unsigned long); i < 4096; i++)
			if ((unsigned char)self->a[p * 4096 + i] !=
			    vsvm_pattern_byte(p * 4096 + i, self->seed)) {
				ASSERT_EQ(vsvm_pattern_byte(p * 4096 + i, self->seed),
					  (unsigned char)self->a[p * 4096 + i]);
			}
	}
}

/*
 * Linked: GPU 0's file closes while GPU 1 maps GPU 0's VRAM: the memory
 * belongs to the device, which stays, and GPU 1 keeps reading it there.
 */
TEST_F(peer, owner_file_closes)
{
	struct drm_vsvm_stats st;

	if (!self->linked)
		SKIP(return, "needs vsvm link=1");
	to_gpu0(_metadata, self->fd0, self->a);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd1, self->a, self->tmp, SZ_2M,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	close(self->fd0);
	self->fd0 = -1;
	memset(self->tmp, 0, SZ_2M);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd1, self->a, self->tmp, SZ_2M,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(-1, vsvm_pattern_check(self->tmp, SZ_2M, self->seed));
	EXPECT_EQ(0, st.pages_to_vram);
	/* Still in GPU 0's VRAM: a new file of GPU 0 sees it used. */
	self->fd0 = vsvm_open_device(0);
	ASSERT_LE(0, self->fd0);
	EXPECT_LE((long long)SZ_2M, vram_used(self->fd0));
	EXPECT_EQ(-1, vsvm_pattern_check(self->a, SZ_2M, self->seed));
}

/* A failing device_map of GPU 0's pages for GPU 1: an error, no loss. */
TEST_F(peer, failing_peer_map)
{
	int err;

	if (!self->linked)
		SKIP(return, "needs vsvm link=1");
	if (vsvm_fault_set("fail_device_map", 100, 1000))
		SKIP(return, "no fault injection of the driver hooks");
	to_gpu0(_metadata, self->fd0, self->a);
	err = vsvm_gpu_read(self->fd1, self->a, self->tmp, SZ_2M,
			    DRM_VSVM_POLICY_MIGRATE, NULL);
	vsvm_fault_set("fail_device_map", 0, 1);
	EXPECT_NE(0, err);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd1, self->a, self->tmp, SZ_2M,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(self->tmp, SZ_2M, self->seed));
	EXPECT_EQ(-1, vsvm_pattern_check(self->a, SZ_2M, self->seed));
}

struct reader {
	int fd;
	char *a;
	unsigned int policy, seed;
	int reads, busy, bad, err;
	double end, deadline;
	struct reader *other;
};

/*
 * Both readers go on for their time, and past it while either has not
 * completed a read (up to the deadline): progress is each GPU getting a
 * read through while the other competes, not a rate. Without a link,
 * under KASAN and TCG, a 2 MiB range goes through RAM at every steal and
 * a read may take seconds.
 */
static bool reader_goes_on(struct reader *r)
{
	double now = vsvm_now_ms();

	if (now < r->end)
		return true;
	return now < r->deadline &&
	       (!READ_ONCE(r->reads) || !READ_ONCE(r->other->reads));
}

static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	char *buf = malloc(SZ_2M);

	if (!buf) {
		r->err = -ENOMEM;
		return NULL;
	}
	while (reader_goes_on(r)) {
		r->err = vsvm_gpu_read(r->fd, r->a, buf, SZ_2M, r->policy, NULL);
		/*
		 * A job the other GPU kept taking the memory from ends with
		 * -EBUSY (device-only placement: with -EOPNOTSUPP), as the
		 * uAPI documents; the application tries again.
		 */
		if (r->err == -EBUSY || r->err == -EOPNOTSUPP) {
			r->busy++;
			r->err = 0;
			continue;
		}
		if (r->err)
			break;
		r->bad += vsvm_pattern_check(buf, SZ_2M, r->seed) != -1;
		WRITE_ONCE(r->reads, r->reads + 1);
	}
	free(buf);
	return NULL;
}

/*
 * Both GPUs read the same 2 MiB for 10 s, concurrently, under @policy, and
 * on for up to 40 s more until both got a read through: reads complete (no
 * livelock; under the default policy on each GPU), every one with the
 * right data; a job may give up when the other GPU kept taking the memory,
 * and is tried again.
 */
static void both_read(struct __test_metadata *_metadata, int fd0, int fd1,
		      char *a, unsigned int seed, unsigned int policy)
{
	double end = vsvm_now_ms() + 10000, deadline = end + 40000;
	struct reader r[2] = {
		{ .fd = fd0, .a = a, .policy = policy, .seed = seed, .end = end,
		  .deadline = deadline },
		{ .fd = fd1, .a = a, .policy = policy, .seed = seed, .end = end,
		  .deadline = deadline },
	};
	pthread_t t[2];
	int i;

	r[0].other = &r[1];
	r[1].other = &r[0];
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, reader_fn, &r[i]));
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ksft_print_msg("policy %u: GPU 0 %d reads, %d busy (%d), GPU 1 %d reads, %d busy (%d)\n",
		       policy, r[0].reads, r[0].busy, r[0].err, r[1].reads,
		       r[1].busy, r[1].err);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, r[i].err);
		EXPECT_EQ(0, r[i].bad);
	}
	/*
	 * Progress: reads complete. Fairness is not promised: under the
	 * device-only policy one GPU may win most turns.
	 */
	EXPECT_LT(0, r[0].reads + r[1].reads);
	if (policy == DRM_VSVM_POLICY_MIGRATE) {
		EXPECT_LT(0, r[0].reads);
		EXPECT_LT(0, r[1].reads);
	}
	EXPECT_EQ(-1, vsvm_pattern_check(a, SZ_2M, seed));
}

/* Linked or not: both GPUs migrating the same range make progress. */
TEST_F_TIMEOUT(peer, both_migrate_progress, 90)
{
	both_read(_metadata, self->fd0, self->fd1, self->a, self->seed,
		  DRM_VSVM_POLICY_MIGRATE);
}

/*
 * Linked or not: both GPUs want the range in their own VRAM at once, the
 * worst case of moving it back and forth; still both progress.
 */
TEST_F_TIMEOUT(peer, both_device_progress, 90)
{
	both_read(_metadata, self->fd0, self->fd1, self->a, self->seed,
		  DRM_VSVM_POLICY_DEVICE);
}

/*
 * Not linked: GPU 1 cannot reach GPU 0's VRAM; its access moves the pages
 * to system memory first, as without the interconnect.
 */
TEST_F(peer, unlinked_moves_to_ram)
{
	long long before;

	if (self->linked)
		SKIP(return, "needs vsvm link=0");
	before = to_gpu0(_metadata, self->fd0, self->a);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd1, self->a, self->tmp, SZ_2M,
				   DRM_VSVM_POLICY_SYSTEM, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(self->tmp, SZ_2M, self->seed));
	EXPECT_EQ(before, vram_used(self->fd0));
}

TEST_HARNESS_MAIN
