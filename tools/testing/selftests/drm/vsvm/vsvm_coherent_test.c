// SPDX-License-Identifier: GPL-2.0-only
/*
 * Userspace tests of a vsvm GPU whose VRAM is device-coherent memory
 * (module parameter coherent_base): the CPU reads and writes such VRAM in
 * place, so a CPU access neither faults nor migrates, and only explicit
 * migrations, evictions, long-term pins and copy-on-write move the data.
 *
 * Where a page lives is read from /proc/self/pagemap: a page is in the
 * GPU's VRAM when its frame lies in the reserved physical range the module
 * parameter names. Every case also checks the data byte for byte and the
 * counters of the device (DRM_IOCTL_VSVM_QUERY) and of the VM
 * (DRM_IOCTL_VSVM_VM_STATS).
 */

#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "../../kselftest_harness.h"
#include "vsvm_util.h"

#define PAGE		4096UL
#define SZ_64K		0x00010000UL
#define SZ_1M		0x00100000UL
#define SZ_2M		0x00200000UL

#define VSVM_PARAMS	"/sys/module/vsvm/parameters/"

/*
 * The interface of /sys/kernel/debug/gup_test (CONFIG_GUP_TEST), from the
 * kernel's mm/gup_test.h, which is no uapi header.
 */
struct gup_test {
	__u64 get_delta_usec;
	__u64 put_delta_usec;
	__u64 addr;
	__u64 size;
	__u32 nr_pages_per_call;
	__u32 gup_flags;
	__u32 test_flags;
	__u32 which_pages[8];
};

#define PIN_LONGTERM_BENCHMARK	_IOWR('g', 3, struct gup_test)

/*
 * The module parameters that shape the GPUs: the number of GPUs with
 * private VRAM, the physical base of each coherent GPU's VRAM. Returns the
 * number of coherent GPUs, or -errno if the parameters cannot be read.
 */
static int read_gpu_params(unsigned int *num_private,
			   unsigned long long *bases, int max)
{
	char buf[256], *s, *end;
	FILE *f;
	int n = 0;

	f = fopen(VSVM_PARAMS "num_devices", "re");
	if (!f)
		return -errno;
	if (fscanf(f, "%u", num_private) != 1)
		n = -EIO;
	fclose(f);
	if (n)
		return n;

	f = fopen(VSVM_PARAMS "coherent_base", "re");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	for (s = buf; n < max; s = end + 1) {
		bases[n] = strtoull(s, &end, 0);
		if (end == s)
			break;
		n++;
		if (*end != ',')
			break;
	}
	return n;
}

/* The physical range of a GPU's VRAM, in page frames. */
struct vram_pfns {
	unsigned long long first, end;
};

FIXTURE(coherent)
{
	int fd;
	struct drm_vsvm_query q;
	struct vram_pfns vram;
	/* Fault attributes of <debugfs>/vsvm/ the case armed. */
	const char *armed[2];
};

FIXTURE_SETUP(coherent)
{
	unsigned long long bases[16];
	unsigned int num_private;
	int n;

	memset(self->armed, 0, sizeof(self->armed));
	self->fd = vsvm_open_memory_type(DRM_VSVM_MEMORY_COHERENT, &self->q);
	if (self->fd == -ENODEV)
		SKIP(return,
		     "no vsvm GPU with coherent VRAM (load vsvm with coherent_base=<reserved physical address>)");
	ASSERT_GE(self->fd, 0);

	n = read_gpu_params(&num_private, bases, 16);
	ASSERT_GT(n, 0) {
		TH_LOG("cannot read the base of the coherent VRAM from %s: %d",
		       VSVM_PARAMS, n);
	}
	ASSERT_GE(self->q.device_index, num_private);
	ASSERT_LT(self->q.device_index - num_private, n);
	self->vram.first = bases[self->q.device_index - num_private] / PAGE;
	self->vram.end = self->vram.first + self->q.vram_size / PAGE;
}

FIXTURE_TEARDOWN(coherent)
{
	unsigned int i;

	for (i = 0; i < 2; i++)
		if (self->armed[i])
			vsvm_fault_set(self->armed[i], 0, 1);
	if (self->fd >= 0)
		close(self->fd);
}

/* Make every call of fault attribute @name fail, until disarm_fault(). */
static int arm_fault(const char **armed, const char *name)
{
	*armed = name;
	return vsvm_fault_set(name, 100, -1);
}

static void disarm_fault(const char **armed)
{
	vsvm_fault_set(*armed, 0, 1);
	*armed = NULL;
}

/* Is the page at @addr in the VRAM @vram (per the CPU page table)? */
static int in_vram(const struct vram_pfns *vram, const void *addr)
{
	long long pfn = vsvm_user_pfn(addr);

	return pfn >= (long long)vram->first && pfn < (long long)vram->end;
}

/* How many pages of [@buf, @buf + @size) are in the VRAM @vram. */
static size_t pages_in_vram(const struct vram_pfns *vram, const char *buf,
			    size_t size)
{
	size_t off, n = 0;

	for (off = 0; off < size; off += PAGE)
		n += in_vram(vram, buf + off);
	return n;
}

/*
 * The GPU reads [@buf, @buf + @size) into @tmp with placement @policy:
 * 0 if it read pattern @seed, 1 if other data, -errno if the job failed.
 */
static int gpu_read_check(int fd, const void *buf, void *tmp, size_t size,
			  unsigned int policy, unsigned int seed,
			  struct drm_vsvm_stats *st)
{
	int err;

	memset(tmp, 0, size);
	err = vsvm_gpu_read(fd, buf, tmp, size, policy, st);
	if (err)
		return err;
	return vsvm_pattern_check(tmp, size, seed) == -1 ? 0 : 1;
}

static struct drm_vsvm_query query(int fd)
{
	struct drm_vsvm_query q;

	if (vsvm_query_device(fd, &q))
		memset(&q, 0xff, sizeof(q));
	return q;
}

static struct drm_vsvm_vm_stats vm_stats(int fd)
{
	struct drm_vsvm_vm_stats st;

	if (vsvm_vm_stats(fd, &st))
		memset(&st, 0xff, sizeof(st));
	return st;
}

/*
 * Case 1. Every GPU reports the memory it was created with: the first
 * num_devices GPUs private VRAM, the GPUs of coherent_base (numbered after
 * them) coherent VRAM, as does the device's debugfs. A nonzero pad2 is
 * refused like the other pads.
 */
TEST_F(coherent, query_memory_type)
{
	unsigned long long bases[16];
	unsigned int i, num_private;
	struct drm_vsvm_query q;
	char path[128], line[128];
	int n, fd, found = 0;
	FILE *f;

	n = read_gpu_params(&num_private, bases, 16);
	ASSERT_GT(n, 0);
	EXPECT_EQ(num_private + n, self->q.num_devices);
	EXPECT_EQ(DRM_VSVM_MEMORY_COHERENT, self->q.memory_type);
	/* The first coherent GPU is the one this fixture opened. */
	EXPECT_EQ(num_private, self->q.device_index);

	for (i = 0; i < self->q.num_devices; i++) {
		fd = vsvm_open_device(i);
		ASSERT_GE(fd, 0);
		ASSERT_EQ(0, vsvm_query_device(fd, &q));
		EXPECT_EQ(i, q.device_index);
		EXPECT_EQ(i < num_private ? DRM_VSVM_MEMORY_PRIVATE :
			  DRM_VSVM_MEMORY_COHERENT, q.memory_type) {
			TH_LOG("GPU %u reports memory_type %u", i,
			       q.memory_type);
		}
		EXPECT_EQ(0, q.pad2);
		close(fd);
	}

	ASSERT_EQ(0, vsvm_debugfs_path(self->fd, "vsvm_vram", path,
				       sizeof(path)));
	f = fopen(path, "re");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f))
		if (!strcmp(line, "memory type: device-coherent\n"))
			found = 1;
	fclose(f);
	EXPECT_TRUE(found);

	memset(&q, 0, sizeof(q));
	q.pad2 = 1;
	EXPECT_EQ(-EINVAL, vsvm_ioctl(self->fd, DRM_IOCTL_VSVM_QUERY, &q));
	EXPECT_EQ(0, q.vram_size);
	EXPECT_EQ(0, q.memory_type);
	memset(&q, 0, sizeof(q));
	q.pad2 = 0x80000000u;
	EXPECT_EQ(-EINVAL, vsvm_ioctl(self->fd, DRM_IOCTL_VSVM_QUERY, &q));
}

/*
 * Case 2. A GPU fault migrates the buffer into coherent VRAM; the CPU then
 * reads and writes it there, without a fault that would move it back: the
 * device copies nothing to RAM, the VM sees no invalidation, and the GPU
 * reads the CPU's new data through the mappings it already has, without a
 * GPU fault. The same holds the other way round.
 */
TEST_F_TIMEOUT(coherent, cpu_access_in_place, 120)
{
	size_t size = SZ_2M, npages = size / PAGE;
	char *buf = vsvm_map_aligned(size, SZ_2M);
	char *tmp = vsvm_host_alloc(size);
	struct drm_vsvm_vm_stats v0, v1, v2;
	struct drm_vsvm_query q0, q1, q2;
	struct drm_vsvm_stats st;

	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_NE(NULL, tmp);
	vsvm_pattern_fill(buf, size, 1);
	EXPECT_EQ(0, pages_in_vram(&self->vram, buf, size));

	q0 = query(self->fd);
	v0 = vm_stats(self->fd);
	ASSERT_EQ(0, gpu_read_check(self->fd, buf, tmp, size,
				    DRM_VSVM_POLICY_MIGRATE, 1, &st));
	EXPECT_GE(st.gpu_faults, 1);
	EXPECT_EQ(npages, st.pages_to_vram);
	q1 = query(self->fd);
	v1 = vm_stats(self->fd);
	EXPECT_EQ(npages, q1.pages_to_vram - q0.pages_to_vram);
	EXPECT_EQ(v0.vram_pages + npages, v1.vram_pages);
	EXPECT_EQ(npages, pages_in_vram(&self->vram, buf, size));

	/* The CPU reads and writes VRAM. */
	EXPECT_EQ(-1, vsvm_pattern_check(buf, size, 1));
	vsvm_pattern_fill(buf, size, 2);
	EXPECT_EQ(-1, vsvm_pattern_check(buf, size, 2));
	EXPECT_EQ(npages, pages_in_vram(&self->vram, buf, size));
	q2 = query(self->fd);
	v2 = vm_stats(self->fd);
	EXPECT_EQ(q1.pages_to_ram, q2.pages_to_ram);
	EXPECT_EQ(q1.pages_to_vram, q2.pages_to_vram);
	EXPECT_EQ(v1.stats.invalidations, v2.stats.invalidations);
	EXPECT_EQ(v1.stats.gpu_faults, v2.stats.gpu_faults);
	EXPECT_EQ(v1.vram_pages, v2.vram_pages);

	/* The GPU sees the CPU's data without faulting. */
	EXPECT_EQ(0, gpu_read_check(self->fd, buf, tmp, size,
				    DRM_VSVM_POLICY_MIGRATE, 2, &st));
	EXPECT_EQ(0, st.gpu_faults);
	EXPECT_EQ(0, st.pages_to_ram);
	EXPECT_EQ(0, st.pages_to_vram);

	/* And the CPU sees what the GPU writes. */
	vsvm_pattern_fill(tmp, size, 3);
	ASSERT_EQ(0, vsvm_gpu_write(self->fd, buf, tmp, size,
				    DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(0, st.gpu_faults);
	EXPECT_EQ(-1, vsvm_pattern_check(buf, size, 3));

	v2 = vm_stats(self->fd);
	q2 = query(self->fd);
	EXPECT_EQ(v1.stats.gpu_faults, v2.stats.gpu_faults);
	EXPECT_EQ(v1.stats.pages_to_ram, v2.stats.pages_to_ram);
	EXPECT_EQ(q1.pages_to_ram, q2.pages_to_ram);
	EXPECT_EQ(npages, pages_in_vram(&self->vram, buf, size));

	munmap(buf, size);
	vsvm_host_free(tmp);
}

/*
 * Case 3. DRM_IOCTL_VSVM_MIGRATE moves the buffer into coherent VRAM and
 * back, twice: TO_SYSTEM copies every page out (the only way out for pages
 * the CPU never faults on) and what the CPU wrote while they were in VRAM
 * comes along.
 */
TEST_F_TIMEOUT(coherent, migrate_both_ways, 120)
{
	size_t size = SZ_1M, npages = size / PAGE;
	char *buf = vsvm_map_aligned(size, SZ_1M);
	char *tmp = vsvm_host_alloc(size);
	struct drm_vsvm_query q0, q1;
	struct drm_vsvm_stats st;
	unsigned int round;

	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_NE(NULL, tmp);
	vsvm_pattern_fill(buf, size, 1);

	for (round = 0; round < 2; round++) {
		unsigned int seed = round + 1;

		q0 = query(self->fd);
		ASSERT_EQ(0, vsvm_migrate(self->fd, buf, size,
					  DRM_VSVM_MIGRATE_TO_VRAM, &st));
		EXPECT_EQ(npages, st.pages_to_vram);
		q1 = query(self->fd);
		EXPECT_EQ(npages, q1.pages_to_vram - q0.pages_to_vram);
		EXPECT_EQ(q0.pages_to_ram, q1.pages_to_ram);
		EXPECT_EQ(npages, vm_stats(self->fd).vram_pages);
		EXPECT_EQ(npages, pages_in_vram(&self->vram, buf, size));
		EXPECT_EQ(-1, vsvm_pattern_check(buf, size, seed));

		/* The prefetch mapped it: the GPU reads without faulting. */
		EXPECT_EQ(0, gpu_read_check(self->fd, buf, tmp, size,
					    DRM_VSVM_POLICY_MIGRATE, seed, &st));
		EXPECT_EQ(0, st.gpu_faults);

		/* Written in VRAM, in place. */
		vsvm_pattern_fill(buf, size, seed + 1);
		EXPECT_EQ(npages, pages_in_vram(&self->vram, buf, size));

		q0 = query(self->fd);
		ASSERT_EQ(0, vsvm_migrate(self->fd, buf, size,
					  DRM_VSVM_MIGRATE_TO_SYSTEM, &st));
		EXPECT_EQ(npages, st.pages_to_ram);
		q1 = query(self->fd);
		EXPECT_EQ(npages, q1.pages_to_ram - q0.pages_to_ram);
		EXPECT_EQ(q0.pages_to_vram, q1.pages_to_vram);
		EXPECT_EQ(0, vm_stats(self->fd).vram_pages);
		EXPECT_EQ(0, pages_in_vram(&self->vram, buf, size));
		EXPECT_EQ(-1, vsvm_pattern_check(buf, size, seed + 1));

		EXPECT_EQ(0, gpu_read_check(self->fd, buf, tmp, size,
					    DRM_VSVM_POLICY_SYSTEM, seed + 1, &st));
		EXPECT_EQ(0, st.pages_to_vram);

		/* Nothing left to move. */
		ASSERT_EQ(0, vsvm_migrate(self->fd, buf, size,
					  DRM_VSVM_MIGRATE_TO_SYSTEM, &st));
		EXPECT_EQ(0, st.pages_to_ram);
	}

	munmap(buf, size);
	vsvm_host_free(tmp);
}

/*
 * Case 4. Three buffers of half the VRAM each, migrated in turn and
 * written by the CPU in VRAM: the last ones evict the first. Every byte
 * survives, whether read by the CPU or the GPU.
 */
TEST_F_TIMEOUT(coherent, eviction, 600)
{
	size_t size = self->q.vram_size / 2, npages = size / PAGE;
	struct drm_vsvm_query q0, q1;
	struct drm_vsvm_vm_stats v;
	struct drm_vsvm_stats st;
	char *buf[3], *tmp;
	unsigned int i;

	ASSERT_GE(size, SZ_2M);
	tmp = vsvm_host_alloc(size);
	ASSERT_NE(NULL, tmp);
	q0 = query(self->fd);
	for (i = 0; i < 3; i++) {
		buf[i] = vsvm_map_aligned(size, SZ_2M);
		ASSERT_NE(MAP_FAILED, buf[i]);
		vsvm_pattern_fill(buf[i], size, 10 + i);
		ASSERT_EQ(0, vsvm_migrate(self->fd, buf[i], size,
					  DRM_VSVM_MIGRATE_TO_VRAM, &st));
		EXPECT_EQ(npages, st.pages_to_vram);
		EXPECT_EQ(npages, pages_in_vram(&self->vram, buf[i], size));
		/* In VRAM: the eviction must copy this, not the old data. */
		vsvm_pattern_fill(buf[i], size, 20 + i);
	}
	q1 = query(self->fd);
	v = vm_stats(self->fd);
	EXPECT_GT(q1.evictions - q0.evictions, 0);
	EXPECT_GT(v.stats.evictions, 0);
	EXPECT_GE(q1.pages_to_ram - q0.pages_to_ram, npages);
	EXPECT_LE(v.vram_pages, self->q.vram_size / PAGE);
	EXPECT_EQ(0, pages_in_vram(&self->vram, buf[0], size));
	EXPECT_EQ(npages, pages_in_vram(&self->vram, buf[2], size));

	for (i = 0; i < 3; i++) {
		EXPECT_EQ(-1, vsvm_pattern_check(buf[i], size, 20 + i)) {
			TH_LOG("buffer %u", i);
		}
		EXPECT_EQ(0, gpu_read_check(self->fd, buf[i], tmp, size,
					    DRM_VSVM_POLICY_MIGRATE, 20 + i,
					    NULL)) {
			TH_LOG("buffer %u read by the GPU", i);
		}
	}
	/* Reading them all with migration cycled VRAM once more. */
	EXPECT_GT(query(self->fd).evictions, q1.evictions);

	for (i = 0; i < 3; i++)
		munmap(buf[i], size);
	vsvm_host_free(tmp);
}

/* Child side of fork_in_vram; the exit status is a bit mask of failures. */
static int fork_child(int fd, char *buf, size_t size)
{
	char out[64];
	int bad = 0;

	if (vsvm_pattern_check(buf, size, 1) != -1)
		bad |= 0x01;
	vsvm_pattern_fill(buf, size, 2);
	if (vsvm_pattern_check(buf, size, 2) != -1)
		bad |= 0x02;
	/* The VM mirrors the parent: the child has no use of it. */
	if (vsvm_gpu_read(fd, buf, out, sizeof(out), 0, NULL) != -EACCES)
		bad |= 0x04;
	if (vsvm_migrate(fd, buf, size, DRM_VSVM_MIGRATE_TO_SYSTEM, NULL) !=
	    -EACCES)
		bad |= 0x08;
	return bad;
}

/*
 * Case 5. fork() of a buffer in coherent VRAM: the child shares the pages
 * copy-on-write, reads them with the CPU and writes its own copy; the
 * parent's data, still in VRAM, is untouched and readable by the GPU.
 */
TEST_F_TIMEOUT(coherent, fork_in_vram, 120)
{
	size_t size = 256 << 10, npages = size / PAGE;
	char *buf = vsvm_map_aligned(size, SZ_64K);
	char *tmp = vsvm_host_alloc(size);
	struct drm_vsvm_stats st;
	int status;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_NE(NULL, tmp);
	vsvm_pattern_fill(buf, size, 1);
	ASSERT_EQ(0, vsvm_migrate(self->fd, buf, size,
				  DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(npages, st.pages_to_vram);
	EXPECT_EQ(npages, pages_in_vram(&self->vram, buf, size));

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		_exit(fork_child(self->fd, buf, size));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status)) {
		TH_LOG("child status %#x (exit status: mask of failures)",
		       status);
	}

	EXPECT_EQ(-1, vsvm_pattern_check(buf, size, 1));
	EXPECT_EQ(npages, pages_in_vram(&self->vram, buf, size));
	EXPECT_EQ(0, gpu_read_check(self->fd, buf, tmp, size,
				    DRM_VSVM_POLICY_MIGRATE, 1, &st));
	EXPECT_EQ(0, st.pages_to_ram);

	/* The parent writes its pages again, the GPU sees it. */
	vsvm_pattern_fill(buf, size, 3);
	EXPECT_EQ(0, gpu_read_check(self->fd, buf, tmp, size,
				    DRM_VSVM_POLICY_MIGRATE, 3, NULL));

	munmap(buf, size);
	vsvm_host_free(tmp);
}

/*
 * Case 6. A long-term pin (FOLL_LONGTERM, through the kernel's gup_test)
 * must not hold device memory: the kernel migrates the pinned page out of
 * coherent VRAM first. Its data survives, its neighbours stay in VRAM,
 * and the GPU, whose mapping of the range the move invalidated, binds the
 * page from system memory and the rest from VRAM again.
 */
TEST_F_TIMEOUT(coherent, longterm_pin, 120)
{
	size_t size = 16 * PAGE, npages = size / PAGE, pinned = 5;
	char *buf = vsvm_map_aligned(size, SZ_64K);
	char *tmp = vsvm_host_alloc(size);
	struct drm_vsvm_query q0, q1;
	struct drm_vsvm_vm_stats v;
	struct drm_vsvm_stats st;
	struct gup_test gup;
	size_t i;
	int gfd;

	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_NE(NULL, tmp);
	gfd = open("/sys/kernel/debug/gup_test", O_RDWR | O_CLOEXEC);
	if (gfd < 0)
		SKIP(goto out, "no /sys/kernel/debug/gup_test (CONFIG_GUP_TEST, debugfs)");

	vsvm_pattern_fill(buf, size, 1);
	ASSERT_EQ(0, vsvm_migrate(self->fd, buf, size,
				  DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(npages, st.pages_to_vram);
	EXPECT_EQ(npages, pages_in_vram(&self->vram, buf, size));
	EXPECT_EQ(npages, vm_stats(self->fd).vram_pages);
	vsvm_pattern_fill(buf + pinned * PAGE, PAGE, 2);

	q0 = query(self->fd);
	memset(&gup, 0, sizeof(gup));
	gup.addr = (unsigned long)(buf + pinned * PAGE);
	gup.size = PAGE;
	gup.nr_pages_per_call = 1;
	ASSERT_EQ(0, ioctl(gfd, PIN_LONGTERM_BENCHMARK, &gup)) {
		TH_LOG("PIN_LONGTERM_BENCHMARK: %s", strerror(errno));
	}
	EXPECT_EQ(PAGE, gup.size);
	q1 = query(self->fd);

	for (i = 0; i < npages; i++)
		EXPECT_EQ(i != pinned, in_vram(&self->vram, buf + i * PAGE)) {
			TH_LOG("page %zu", i);
		}
	/* The kernel moved the page itself, not the copy engine. */
	EXPECT_EQ(q0.pages_to_ram, q1.pages_to_ram);
	v = vm_stats(self->fd);
	EXPECT_LT(v.vram_pages, npages);

	EXPECT_EQ(-1, vsvm_pattern_check(buf, pinned * PAGE, 1));
	EXPECT_EQ(-1, vsvm_pattern_check(buf + pinned * PAGE, PAGE, 2));
	for (i = pinned + 1; i < npages; i++)
		EXPECT_EQ(vsvm_pattern_byte(i * PAGE, 1),
			  (unsigned char)buf[i * PAGE]);

	/*
	 * The move invalidated the GPU's mapping of the range; a GPU fault
	 * maps it again, with the right data wherever each page is.
	 */
	memset(tmp, 0, size);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, buf, tmp, size,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_GE(st.gpu_faults, 1);
	EXPECT_EQ(-1, vsvm_pattern_check(tmp, pinned * PAGE, 1));
	EXPECT_EQ(-1, vsvm_pattern_check(tmp + pinned * PAGE, PAGE, 2));
	EXPECT_EQ(-1, vsvm_pattern_check(buf + pinned * PAGE, PAGE, 2));
	for (i = pinned + 1; i < npages; i++)
		EXPECT_EQ(vsvm_pattern_byte(i * PAGE, 1),
			  (unsigned char)tmp[i * PAGE]);
	TH_LOG("after the GPU fault: %llu pages bound in VRAM, %zu of %zu in VRAM",
	       (unsigned long long)vm_stats(self->fd).vram_pages,
	       pages_in_vram(&self->vram, buf, size), npages);
	close(gfd);
out:
	munmap(buf, size);
	vsvm_host_free(tmp);
}

/*
 * Case 7: the race. A 2 MiB region R holds A, the CPU's, and at its end C,
 * mapped and unmapped again and again; G, elsewhere, only the GPU writes.
 */
#define RACE_C_SIZE	SZ_64K
#define RACE_A_SIZE	(SZ_2M - RACE_C_SIZE)
#define RACE_G_SIZE	(256UL << 10)
#define RACE_MS		12000

struct race {
	int fd;
	char *a, *c, *g;
	/* Job buffers of the GPU and mmap threads. */
	char *tmp[3];
	double end_ms;
	unsigned int a_seed, g_seed;
	/* Counters, by thread: iterations, wrong data, unexpected errnos. */
	unsigned long iters[3], bad_data[3], bad_errno[3];
	/* Documented errnos seen: -EBUSY, -EFAULT, -ENOSPC. */
	unsigned long busy, fault, nospc;
	int first_bad_errno;
};

static int race_over(struct race *r)
{
	return vsvm_now_ms() >= r->end_ms;
}

/* Count @err; @may_fault: the range includes C, which may be unmapped. */
static void race_errno(struct race *r, unsigned int who, int err,
		       int may_fault, int may_nospc)
{
	if (!err)
		return;
	if (err == -EBUSY) {
		__atomic_add_fetch(&r->busy, 1, __ATOMIC_RELAXED);
	} else if (err == -EFAULT && may_fault) {
		__atomic_add_fetch(&r->fault, 1, __ATOMIC_RELAXED);
	} else if (err == -ENOSPC && may_nospc) {
		__atomic_add_fetch(&r->nospc, 1, __ATOMIC_RELAXED);
	} else {
		r->bad_errno[who]++;
		__atomic_compare_exchange_n(&r->first_bad_errno, &(int){ 0 },
					    err, 0, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
	}
}

/* The GPU reads @buf for thread @who, expecting pattern @seed. */
static void race_gpu_check(struct race *r, unsigned int who, const char *buf,
			   size_t size, unsigned int seed)
{
	int err = gpu_read_check(r->fd, buf, r->tmp[who], size,
				 DRM_VSVM_POLICY_MIGRATE, seed, NULL);

	if (err == 1)
		r->bad_data[who]++;
	else
		race_errno(r, who, err, 0, 0);
}

static void *race_cpu(void *arg)
{
	struct race *r = arg;

	while (!race_over(r)) {
		unsigned int seed = r->a_seed + 1;

		vsvm_pattern_fill(r->a, RACE_A_SIZE, seed);
		r->a_seed = seed;
		if (vsvm_pattern_check(r->a, RACE_A_SIZE, seed) != -1)
			r->bad_data[0]++;
		r->iters[0]++;
	}
	return NULL;
}

static void *race_gpu(void *arg)
{
	struct race *r = arg;
	char *tmp = r->tmp[1];
	unsigned int n, tries;
	int fd = r->fd, err;

	for (n = 0; !race_over(r); n++) {
		__u32 target = n & 1 ? DRM_VSVM_MIGRATE_TO_SYSTEM :
				       DRM_VSVM_MIGRATE_TO_VRAM;
		unsigned int seed = 1000 + n;

		/*
		 * A failed write did part of its work: write again, until
		 * G holds one pattern.
		 */
		vsvm_pattern_fill(tmp, RACE_G_SIZE, seed);
		tries = 0;
		do {
			err = vsvm_gpu_write(fd, r->g, tmp, RACE_G_SIZE,
					     DRM_VSVM_POLICY_MIGRATE, NULL);
			race_errno(r, 1, err, 0, 0);
		} while (err == -EBUSY && ++tries < 100);
		if (err)
			break;
		r->g_seed = seed;
		race_gpu_check(r, 1, r->g, RACE_G_SIZE, r->g_seed);
		/* All of R: A, written by the CPU meanwhile, and C. */
		race_errno(r, 1, vsvm_migrate(fd, r->a, SZ_2M, target, NULL),
			   1, 1);
		race_errno(r, 1, vsvm_migrate(fd, r->g, RACE_G_SIZE, !target,
					      NULL), 0, 1);
		r->iters[1]++;
	}
	return NULL;
}

static void *race_mmap(void *arg)
{
	struct race *r = arg;
	char *tmp = r->tmp[2];
	int fd = r->fd, err;
	unsigned int n;

	for (n = 0; !race_over(r); n++) {
		char *c = mmap(r->c, RACE_C_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS |
			       MAP_FIXED_NOREPLACE, -1, 0);

		if (c != r->c) {
			race_errno(r, 2, c == MAP_FAILED ? -errno : -EEXIST,
				   0, 0);
			if (c != MAP_FAILED)
				munmap(c, RACE_C_SIZE);
			break;
		}
		/*
		 * Fresh memory reads as zeroes, on the GPU too: nothing of
		 * the memory unmapped before may show through.
		 */
		if (n & 1) {
			memset(tmp, 0xa5, RACE_C_SIZE);
			err = vsvm_gpu_read(fd, c, tmp, RACE_C_SIZE,
					    DRM_VSVM_POLICY_MIGRATE, NULL);
			race_errno(r, 2, err, 0, 0);
			if (!err && vsvm_zero_check(tmp, RACE_C_SIZE) != -1)
				r->bad_data[2]++;
		}
		if (vsvm_zero_check(c, RACE_C_SIZE) != -1)
			r->bad_data[2]++;
		vsvm_pattern_fill(c, RACE_C_SIZE, 2000 + n);
		if (n & 1)
			race_errno(r, 2, vsvm_migrate(fd, c, RACE_C_SIZE,
						      DRM_VSVM_MIGRATE_TO_VRAM,
						      NULL), 0, 1);
		race_gpu_check(r, 2, c, RACE_C_SIZE, 2000 + n);
		if (vsvm_pattern_check(c, RACE_C_SIZE, 2000 + n) != -1)
			r->bad_data[2]++;
		munmap(c, RACE_C_SIZE);
		r->iters[2]++;
		/* Let a migration of R meet the hole now and then. */
		usleep(n % 4 * 5000);
	}
	return NULL;
}

/*
 * Case 7. Three threads for a few seconds: one writes and checks buffer A
 * with the CPU, one has the GPU write and read buffer G and migrates R and
 * G to VRAM and back, the third maps C (merging with A into one VMA of
 * 2 MiB, which the GPU SVM mirrors as one range), fills it, has the GPU
 * read it and unmaps it again, splitting the range. Each buffer ends up holding
 * what its writer wrote last, and the only errnos are documented ones
 * that the races explain.
 */
TEST_F_TIMEOUT(coherent, race, 300)
{
	struct race r = { .fd = self->fd };
	pthread_t th[3];
	char *region, *tmp;
	unsigned int i;

	region = vsvm_map_aligned(2 * SZ_2M, SZ_2M);
	ASSERT_NE(MAP_FAILED, region);
	r.a = region;
	r.c = region + RACE_A_SIZE;
	r.g = region + SZ_2M;
	/* Keep G apart from A: C's hole in between is not enough. */
	ASSERT_EQ(0, mprotect(r.g, SZ_2M, PROT_READ | PROT_WRITE | PROT_EXEC));
	ASSERT_EQ(0, munmap(r.c, RACE_C_SIZE));
	tmp = vsvm_host_alloc(RACE_A_SIZE + RACE_G_SIZE + RACE_C_SIZE);
	ASSERT_NE(NULL, tmp);
	r.tmp[1] = tmp + RACE_A_SIZE;
	r.tmp[2] = r.tmp[1] + RACE_G_SIZE;
	vsvm_pattern_fill(r.a, RACE_A_SIZE, 0);
	r.g_seed = 999;
	vsvm_pattern_fill(r.g, RACE_G_SIZE, r.g_seed);
	ASSERT_EQ(0, vsvm_migrate(self->fd, r.a, RACE_A_SIZE,
				  DRM_VSVM_MIGRATE_TO_VRAM, NULL));

	r.end_ms = vsvm_now_ms() + RACE_MS;
	ASSERT_EQ(0, pthread_create(&th[0], NULL, race_cpu, &r));
	ASSERT_EQ(0, pthread_create(&th[1], NULL, race_gpu, &r));
	ASSERT_EQ(0, pthread_create(&th[2], NULL, race_mmap, &r));
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);

	TH_LOG("iterations cpu %lu gpu %lu mmap %lu; EBUSY %lu, EFAULT %lu, ENOSPC %lu",
	       r.iters[0], r.iters[1], r.iters[2], r.busy, r.fault, r.nospc);
	for (i = 0; i < 3; i++) {
		EXPECT_GT(r.iters[i], 0);
		EXPECT_EQ(0, r.bad_data[i]) {
			TH_LOG("thread %u saw wrong data", i);
		}
		EXPECT_EQ(0, r.bad_errno[i]) {
			TH_LOG("thread %u: unexpected errno, first %d", i,
			       r.first_bad_errno);
		}
	}

	EXPECT_EQ(-1, vsvm_pattern_check(r.a, RACE_A_SIZE, r.a_seed));
	EXPECT_EQ(-1, vsvm_pattern_check(r.g, RACE_G_SIZE, r.g_seed));
	EXPECT_EQ(0, gpu_read_check(self->fd, r.a, tmp, RACE_A_SIZE,
				    DRM_VSVM_POLICY_MIGRATE, r.a_seed, NULL));
	EXPECT_EQ(0, gpu_read_check(self->fd, r.g, tmp, RACE_G_SIZE,
				    DRM_VSVM_POLICY_SYSTEM, r.g_seed, NULL));

	munmap(r.a, RACE_A_SIZE);
	munmap(r.g, SZ_2M);
	vsvm_host_free(tmp);
}

/*
 * Case 8. With the copy engine failing, MIGRATE TO_SYSTEM of a buffer in
 * coherent VRAM fails with -EIO and leaves the data where it was, readable
 * and writable by the CPU in place and by the GPU; the migration succeeds
 * once the copy engine works again. A failing copy to VRAM likewise fails
 * the migration with -EIO, the data staying in system memory.
 */
TEST_F_TIMEOUT(coherent, copy_failures, 120)
{
	size_t size = 256 << 10, npages = size / PAGE;
	char *buf = vsvm_map_aligned(size, SZ_64K);
	char *tmp = vsvm_host_alloc(size);
	struct drm_vsvm_query q0, q1;
	struct drm_vsvm_stats st;
	int err;

	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_NE(NULL, tmp);
	if (access("/sys/kernel/debug/vsvm/fail_copy_to_ram", F_OK))
		SKIP(goto out, "no vsvm fault injection (CONFIG_FAULT_INJECTION_DEBUG_FS)");

	vsvm_pattern_fill(buf, size, 1);
	ASSERT_EQ(0, vsvm_migrate(self->fd, buf, size,
				  DRM_VSVM_MIGRATE_TO_VRAM, &st));
	ASSERT_EQ(npages, pages_in_vram(&self->vram, buf, size));
	vsvm_pattern_fill(buf, size, 2);

	ASSERT_EQ(0, arm_fault(&self->armed[0], "fail_copy_to_ram"));
	q0 = query(self->fd);
	err = vsvm_migrate(self->fd, buf, size, DRM_VSVM_MIGRATE_TO_SYSTEM,
			   &st);
	EXPECT_EQ(-EIO, err);
	EXPECT_EQ(0, st.pages_to_ram);
	q1 = query(self->fd);
	EXPECT_EQ(q0.pages_to_ram, q1.pages_to_ram);
	EXPECT_EQ(npages, pages_in_vram(&self->vram, buf, size));
	EXPECT_EQ(-1, vsvm_pattern_check(buf, size, 2));
	/* Still the CPU's to write in place, and the GPU's to read. */
	vsvm_pattern_fill(buf, size, 3);
	EXPECT_EQ(0, gpu_read_check(self->fd, buf, tmp, size,
				    DRM_VSVM_POLICY_MIGRATE, 3, &st));
	EXPECT_EQ(npages, pages_in_vram(&self->vram, buf, size));
	disarm_fault(&self->armed[0]);

	ASSERT_EQ(0, vsvm_migrate(self->fd, buf, size,
				  DRM_VSVM_MIGRATE_TO_SYSTEM, &st));
	EXPECT_EQ(npages, st.pages_to_ram);
	EXPECT_EQ(npages, query(self->fd).pages_to_ram - q1.pages_to_ram);
	EXPECT_EQ(0, pages_in_vram(&self->vram, buf, size));
	EXPECT_EQ(-1, vsvm_pattern_check(buf, size, 3));

	ASSERT_EQ(0, arm_fault(&self->armed[1], "fail_copy_to_devmem"));
	q0 = query(self->fd);
	err = vsvm_migrate(self->fd, buf, size, DRM_VSVM_MIGRATE_TO_VRAM, &st);
	EXPECT_EQ(-EIO, err);
	EXPECT_EQ(0, st.pages_to_vram);
	q1 = query(self->fd);
	EXPECT_EQ(q0.pages_to_vram, q1.pages_to_vram);
	EXPECT_EQ(q0.vram_used, q1.vram_used);
	EXPECT_EQ(0, pages_in_vram(&self->vram, buf, size));
	EXPECT_EQ(-1, vsvm_pattern_check(buf, size, 3));
	/* A GPU fault cannot migrate either: the job runs from RAM. */
	EXPECT_EQ(0, gpu_read_check(self->fd, buf, tmp, size,
				    DRM_VSVM_POLICY_MIGRATE, 3, &st));
	EXPECT_EQ(0, st.pages_to_vram);
	EXPECT_EQ(0, pages_in_vram(&self->vram, buf, size));
	disarm_fault(&self->armed[1]);

	ASSERT_EQ(0, vsvm_migrate(self->fd, buf, size,
				  DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(npages, st.pages_to_vram);
	EXPECT_EQ(npages, pages_in_vram(&self->vram, buf, size));
	EXPECT_EQ(-1, vsvm_pattern_check(buf, size, 3));
out:
	munmap(buf, size);
	vsvm_host_free(tmp);
}

/*
 * Case 9. MIGRATE refuses malformed ranges with -EINVAL and ranges with
 * unmapped parts with -EFAULT (see the kernel-doc of the ioctl), moving
 * nothing, and moves nothing but anonymous private memory to VRAM.
 */
TEST_F_TIMEOUT(coherent, migrate_hostile, 120)
{
	char *buf = vsvm_map_aligned(4 * PAGE, SZ_64K);
	char *shared = vsvm_host_alloc(4 * PAGE);
	struct drm_vsvm_migrate m;
	struct drm_vsvm_query q0, q1;
	struct drm_vsvm_stats st;
	unsigned long top = ~0UL & ~(PAGE - 1);
	static const struct {
		__u64 start_off, size;
		__u32 target, flags;
	} bad[] = {
		{ 1, PAGE, DRM_VSVM_MIGRATE_TO_VRAM, 0 },
		{ PAGE - 1, PAGE, DRM_VSVM_MIGRATE_TO_SYSTEM, 0 },
		{ 0, PAGE + 1, DRM_VSVM_MIGRATE_TO_VRAM, 0 },
		{ 0, 1, DRM_VSVM_MIGRATE_TO_SYSTEM, 0 },
		{ 0, 0, DRM_VSVM_MIGRATE_TO_VRAM, 0 },
		{ 0, PAGE, 2, 0 },
		{ 0, PAGE, ~0u, 0 },
		{ 0, PAGE, DRM_VSVM_MIGRATE_TO_VRAM, 1 },
		{ 0, PAGE, DRM_VSVM_MIGRATE_TO_SYSTEM, 0x80000000u },
		/* Wraps around the address space. */
		{ 0, ~0ULL & ~(PAGE - 1), DRM_VSVM_MIGRATE_TO_VRAM, 0 },
	};
	unsigned int i;

	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_NE(NULL, shared);
	vsvm_pattern_fill(buf, 4 * PAGE, 1);
	q0 = query(self->fd);

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&m, 0, sizeof(m));
		m.start = (unsigned long)buf + bad[i].start_off;
		m.size = bad[i].size;
		m.target = bad[i].target;
		m.flags = bad[i].flags;
		EXPECT_EQ(-EINVAL, vsvm_ioctl(self->fd, DRM_IOCTL_VSVM_MIGRATE,
					      &m)) {
			TH_LOG("case %u", i);
		}
		EXPECT_EQ(0, m.stats.pages_to_vram);
	}
	/* Beyond the user address space, and wrapping from its top. */
	EXPECT_EQ(-EINVAL, vsvm_migrate(self->fd, (void *)top, 2 * PAGE,
					DRM_VSVM_MIGRATE_TO_VRAM, NULL));
	EXPECT_EQ(-EINVAL, vsvm_migrate(self->fd, (void *)(1UL << 60),
					PAGE, DRM_VSVM_MIGRATE_TO_VRAM, NULL));
	EXPECT_EQ(-EINVAL, vsvm_migrate(self->fd, buf, 1UL << 60,
					DRM_VSVM_MIGRATE_TO_SYSTEM, NULL));

	/* A hole in the middle; NULL is never mapped. */
	ASSERT_EQ(0, munmap(buf + PAGE, PAGE));
	EXPECT_EQ(-EFAULT, vsvm_migrate(self->fd, buf + PAGE, PAGE,
					DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(0, st.pages_to_vram);
	EXPECT_EQ(-EFAULT, vsvm_migrate(self->fd, buf + PAGE, PAGE,
					DRM_VSVM_MIGRATE_TO_SYSTEM, NULL));
	EXPECT_EQ(-EFAULT, vsvm_migrate(self->fd, NULL, PAGE,
					DRM_VSVM_MIGRATE_TO_VRAM, NULL));
	q1 = query(self->fd);
	EXPECT_EQ(q0.pages_to_vram, q1.pages_to_vram);
	EXPECT_EQ(q0.pages_to_ram, q1.pages_to_ram);
	EXPECT_EQ(0, pages_in_vram(&self->vram, buf, PAGE));

	/* Across the hole: the part before it may move, then -EFAULT. */
	EXPECT_EQ(-EFAULT, vsvm_migrate(self->fd, buf, 4 * PAGE,
					DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_LE(st.pages_to_vram, 1);
	EXPECT_EQ(-EFAULT, vsvm_migrate(self->fd, buf, 4 * PAGE,
					DRM_VSVM_MIGRATE_TO_SYSTEM, NULL));
	EXPECT_EQ(0, pages_in_vram(&self->vram, buf, PAGE));
	EXPECT_EQ(-1, vsvm_pattern_check(buf, PAGE, 1));
	for (i = 2; i < 4; i++)
		EXPECT_EQ(vsvm_pattern_byte(i * PAGE, 1),
			  (unsigned char)buf[i * PAGE]);

	/* Shared memory stays where it is, without error. */
	vsvm_pattern_fill(shared, 4 * PAGE, 5);
	ASSERT_EQ(0, vsvm_migrate(self->fd, shared, 4 * PAGE,
				  DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(0, st.pages_to_vram);
	EXPECT_EQ(0, pages_in_vram(&self->vram, shared, 4 * PAGE));
	EXPECT_EQ(-1, vsvm_pattern_check(shared, 4 * PAGE, 5));

	munmap(buf, PAGE);
	munmap(buf + 2 * PAGE, 2 * PAGE);
	vsvm_host_free(shared);
}

TEST_HARNESS_MAIN
