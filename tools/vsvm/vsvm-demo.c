// SPDX-License-Identifier: GPL-2.0-only
/*
 * vsvm-demo: a readable tour of GPU shared virtual memory on the vsvm
 * virtual GPU. Run by "make demo" inside the test guest: plain malloc()
 * memory is used by GPU jobs, migrates to VRAM on GPU faults, comes back on
 * CPU faults and gets evicted when VRAM is full. Every step prints what the
 * kernel reports it did.
 */

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "../testing/selftests/drm/vsvm/vsvm_util.h"

struct step {
	const char *what;
	struct drm_vsvm_stats st;
	double ms;
	const char *check;
};

static struct step steps[16];
static int nsteps;
static int failures;

static void record(const char *what, const struct drm_vsvm_stats *st,
		   double t0, int ok)
{
	struct step *s = &steps[nsteps++];

	s->what = what;
	if (st)
		s->st = *st;
	s->ms = vsvm_now_ms() - t0;
	s->check = ok ? "data ok" : "DATA WRONG";
	if (!ok)
		failures++;
}

/* Counters of the VM before/after a CPU-side step. */
static struct drm_vsvm_stats vm_delta(int fd, struct drm_vsvm_stats *prev)
{
	struct drm_vsvm_vm_stats now;
	struct drm_vsvm_stats d;
	__u64 *a = (__u64 *)&now.stats, *b = (__u64 *)prev, *o = (__u64 *)&d;
	unsigned int i;

	vsvm_vm_stats(fd, &now);
	for (i = 0; i < sizeof(d) / sizeof(__u64); i++)
		o[i] = a[i] - b[i];
	*prev = now.stats;
	return d;
}

int main(void)
{
	const size_t size = 8 << 20, big = 96 << 20;
	struct drm_vsvm_stats st, base;
	struct drm_vsvm_vm_stats vst;
	struct drm_vsvm_query q;
	unsigned char *buf, *huge, *tmp;
	__u64 *counter, old;
	double t0;
	size_t i;
	int fd, ok;

	fd = vsvm_open_device(0);
	if (fd < 0) {
		fprintf(stderr, "no vsvm device: %s\n", strerror(-fd));
		return 1;
	}
	memset(&q, 0, sizeof(q));
	vsvm_query_device(fd, &q);
	printf("vsvm demo: GPU shared virtual memory on a virtual GPU\n");
	printf("device %u of %u, %llu MiB of VRAM, page size %llu\n\n",
	       q.device_index, q.num_devices,
	       (unsigned long long)q.vram_size >> 20,
	       (unsigned long long)q.page_size);
	vsvm_vm_stats(fd, &vst);
	base = vst.stats;

	/* 1. malloc'd memory, written by the CPU, read by the GPU. */
	buf = malloc(size);
	tmp = malloc(size);
	if (!buf || !tmp)
		return 1;
	vsvm_pattern_fill(buf, size, 1);
	t0 = vsvm_now_ms();
	ok = !vsvm_gpu_read(fd, buf, tmp, size, DRM_VSVM_POLICY_MIGRATE, &st) &&
	     vsvm_pattern_check(tmp, size, 1) < 0;
	record("GPU reads 8 MiB of malloc'd memory", &st, t0, ok);
	vm_delta(fd, &base);

	/* 2. Read again: already in VRAM, no fault. */
	t0 = vsvm_now_ms();
	ok = !vsvm_gpu_read(fd, buf, tmp, size, DRM_VSVM_POLICY_MIGRATE, &st) &&
	     vsvm_pattern_check(tmp, size, 1) < 0;
	record("GPU reads it again (resident)", &st, t0, ok);
	vm_delta(fd, &base);

	/* 3. The GPU writes, the CPU reads: CPU faults bring pages back. */
	t0 = vsvm_now_ms();
	ok = !vsvm_gpu_fill(fd, buf, size, 0x0123456789abcdefULL,
			    DRM_VSVM_POLICY_MIGRATE, &st);
	record("GPU fills it with a pattern", &st, t0, ok);
	vm_delta(fd, &base);
	memset(&q, 0, sizeof(q));
	vsvm_query_device(fd, &q);
	t0 = vsvm_now_ms();
	for (i = 0, ok = 1; i < size; i += 8)
		ok &= *(uint64_t *)(buf + i) == 0x0123456789abcdefULL;
	st = vm_delta(fd, &base);
	/* CPU faults are not GPU work: take the device's copy counter. */
	old = q.pages_to_ram;
	memset(&q, 0, sizeof(q));
	vsvm_query_device(fd, &q);
	st.pages_to_ram = q.pages_to_ram - old;
	record("CPU reads it (faults back to RAM)", &st, t0, ok);

	/* 4. Explicit migration both ways. */
	t0 = vsvm_now_ms();
	ok = !vsvm_migrate(fd, (void *)((uintptr_t)buf & ~4095UL), size & ~4095UL,
			   DRM_VSVM_MIGRATE_TO_VRAM, &st);
	record("prefetch to VRAM (MIGRATE ioctl)", &st, t0, ok);
	t0 = vsvm_now_ms();
	ok = !vsvm_migrate(fd, (void *)((uintptr_t)buf & ~4095UL), size & ~4095UL,
			   DRM_VSVM_MIGRATE_TO_SYSTEM, &st);
	record("migrate back to system", &st, t0, ok);
	vm_delta(fd, &base);

	/* 5. A working set larger than VRAM: eviction. */
	huge = mmap(NULL, big, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (huge == MAP_FAILED)
		return 1;
	t0 = vsvm_now_ms();
	ok = !vsvm_gpu_fill(fd, huge, big, 0x5a5a5a5a5a5a5a5aULL,
			    DRM_VSVM_POLICY_MIGRATE, &st);
	for (i = 0; ok && i < big; i += 4096)
		ok = huge[i] == 0x5a && huge[i + 4095] == 0x5a;
	record("GPU fills 96 MiB (> VRAM), CPU checks", &st, t0, ok);
	vm_delta(fd, &base);
	munmap(huge, big);

	/* 6. Atomics run in VRAM. */
	counter = vsvm_map_aligned(4096, 4096);
	*counter = 0;
	t0 = vsvm_now_ms();
	memset(&st, 0, sizeof(st));
	for (i = 0, ok = 1; i < 100; i++) {
		struct drm_vsvm_stats s1;

		ok &= !vsvm_gpu_atomic_add(fd, counter, 1, &s1, &old) && old == i;
		st.gpu_faults += s1.gpu_faults;
		st.pages_to_vram += s1.pages_to_vram;
	}
	ok &= *counter == 100;
	record("100 GPU atomic adds, CPU reads 100", &st, t0, ok);

	printf("%-40s %7s %8s %8s %6s %8s %9s  %s\n", "step", "faults",
	       "to vram", "to ram", "evict", "inval", "ms", "check");
	for (i = 0; i < (size_t)nsteps; i++)
		printf("%-40s %7llu %8llu %8llu %6llu %8llu %9.1f  %s\n",
		       steps[i].what,
		       (unsigned long long)steps[i].st.gpu_faults,
		       (unsigned long long)steps[i].st.pages_to_vram,
		       (unsigned long long)steps[i].st.pages_to_ram,
		       (unsigned long long)steps[i].st.evictions,
		       (unsigned long long)steps[i].st.invalidations,
		       steps[i].ms, steps[i].check);

	vsvm_vm_stats(fd, &vst);
	printf("\nVM totals: %llu GPU faults, %llu pages to VRAM, %llu to RAM, ",
	       (unsigned long long)vst.stats.gpu_faults,
	       (unsigned long long)vst.stats.pages_to_vram,
	       (unsigned long long)vst.stats.pages_to_ram);
	printf("%llu evictions, %llu invalidations\n",
	       (unsigned long long)vst.stats.evictions,
	       (unsigned long long)vst.stats.invalidations);
	printf("(GPU SVM ranges are 2 MiB, 64 KiB or 4 KiB chunks of the CPU mapping, so\n"
	       " a migration may also move neighbouring memory of the same mapping.)\n");
	close(fd);
	printf("\n%s\n", failures ? "DEMO FAILED" : "all data checks passed");
	return failures ? 1 : 0;
}
