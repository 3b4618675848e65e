// SPDX-License-Identifier: GPL-2.0-only
/*
 * vsvm-bench: time the same workloads through lib/test_hmm's ioctl ABI
 * (/dev/hmm_dmirror0), whichever driver provides it: lib/test_hmm itself or
 * vsvm loaded with dmirror=1. Run by "make bench" once per driver, on a
 * kernel without the debug options; plain memcpy() of the same bytes is
 * timed too, as the ceiling.
 *
 * Workloads, for each buffer size:
 *   migrate_to_dev  HMM_DMIRROR_MIGRATE_TO_DEV of a populated buffer (the
 *                   ABI also reads the data back into a second buffer)
 *   cpu_fault_back  the CPU then writes one word per page: every page
 *                   faults back to system memory
 *   migrate_to_sys  HMM_DMIRROR_MIGRATE_TO_SYS of a buffer migrated to the
 *                   device (untimed): the same pages back in one request,
 *                   which test_hmm does with one migrate_vma pass per
 *                   256 KiB and a CPU fault does with one per page
 *   dev_read_sys    HMM_DMIRROR_READ of memory in system RAM (cold: the
 *                   device faults it in)
 *   dev_write_sys   HMM_DMIRROR_WRITE of memory in system RAM (cold)
 *   dev_read_sysw   the same, warm: the device did the same access just
 *   dev_write_sysw  before (untimed), so its page table has the pages
 *   dev_read_dev    HMM_DMIRROR_READ of memory resident in device memory
 *   dev_write_dev   HMM_DMIRROR_WRITE of memory resident in device memory
 *   memcpy_*        a CPU copy of the same number of bytes between warm
 *                   buffers an odd number of pages apart (see
 *                   bench_memcpy()), three ways: memcpy_libc (the C
 *                   library's memcpy(), whose vector paths can be slow to
 *                   emulate), memcpy_movsq (x86 "rep movsq"), memcpy_u64
 *                   (a plain loop of 64-bit words). The fastest is the
 *                   ceiling.
 *
 * Buffers start on a 2 MiB boundary. 64 KiB is measured a second time one
 * page past it: those workloads are named <workload>@4K.
 *
 * Every workload of every size first runs warmups_for() times untimed (rep
 * numbers below 0, not printed), for both drivers: the first run of a code
 * path after the module was loaded pays for things no later run does
 * (TCG translating the code, the first MMU notifier of the process, empty
 * slab caches), 2-5x a later sample for either driver, and with three
 * samples per run at 64 KiB it used to decide the median. At 4 KiB, the
 * first size measured, one was not enough: the first sample of a workload
 * was above the median of the later ones in 71 of the 100 runs of 4 KiB
 * workloads of one make bench, up to 13x the last one. Warm-up runs of
 * small requests are cheap: more of them.
 *
 * GPU fault service, vsvm only (4 KiB, 64 KiB and 2 MiB buffers, each one
 * GPU SVM range): the driver's own count and time of the faults it serviced
 * (<debugfs>/dri/<minor>/vsvm_fault_time, read outside the timed part) for
 *   dev_read_sys    above, through the test_hmm front end: in place;
 *   gpu_read_sys    DRM_VSVM_OP_READ of a cold buffer through vsvm's own
 *                   uapi, DRM_VSVM_POLICY_SYSTEM: in place;
 *   gpu_read_mig    the same with DRM_VSVM_POLICY_MIGRATE: each fault
 *                   migrates its range to VRAM first.
 * Output: "fault <driver> <workload> <bytes> <rep> <faults> <ns>", for the
 * two uapi workloads followed by the ns of each stage of the faults
 * (vsvm_fault_stage_names order: lock waits, garbage collection, range
 * lookup or insertion, migration, collecting the pages, binding, retries),
 * and their wall time as samples. Only those two turn vsvm's split by
 * stage on (vsvm_fault_stages): its six more clock reads per fault would
 * slow the samples compared with test_hmm.
 *
 * Thrashing, vsvm only (64 KiB and 2 MiB): for PINGPONG_MS, turns of the
 * CPU writing one word per page and the GPU reading the buffer with
 * DRM_VSVM_POLICY_MIGRATE, on a fresh VM with thrashing control off and
 * on (DRM_VSVM_PARAM_THRASH; the lapse widened to 50 ms for TCG, where a
 * 2 MiB turn takes 15-25 ms: with 20 ms, whether turns fell into one
 * burst at all was a coin toss; the other parameters at their defaults).
 * Output: "pingpong <driver>
 * <off|on> <bytes> <rep> <turns> <migrations to VRAM> <ns>".
 *
 * Prefetch, vsvm only: the GPU walks a fresh 64 MiB buffer in 64 KiB
 * steps, in order, reading the first WALK_READ bytes of each step, on a
 * fresh VM mapping 64 KiB ranges (DRM_VSVM_PARAM_FAULT_SIZE) under the
 * migrating policy, with DRM_VSVM_PARAM_PREFETCH 0 and 51. Every step
 * touches its 64 KiB, so off, each faults and migrates it; the short read
 * keeps the time the faults' and migrations' (a whole 64 KiB read costs
 * as much as its migration under TCG, the same with prefetch off or on).
 * Output: "walk <driver> <off|on> <bytes> <rep> <GPU faults> <ns>".
 *
 * Two GPUs on one interconnect, "vsvm-link" (vsvm loaded with link=1):
 * GPU 0 holds a fresh 2 MiB or 64 MiB buffer in its VRAM, and GPU 1 reads
 * it in place (the default policy), moves it into its own VRAM straight
 * from GPU 0's (device-only placement: device-to-device migration), or
 * moves it there through system memory (GPU 0 evicts it, then the same
 * device-only read); only that is timed. Output: "peer <driver>
 * <in_place|device_to_device|via_ram> <bytes> <rep> <ns> <pages moved to
 * GPU 1>".
 *
 * Every repetition uses a fresh mapping. Output, one line per sample:
 *   sample <driver> <workload> <bytes> <rep> <ns>
 * and, per migration, what actually happened (outside the timed parts):
 *   info <driver> migrate <bytes> <rep> <pages in device memory after the
 *   migration> <CPU page faults taken while writing it back>
 * and "error <driver> <workload> <bytes> <message>" on failure (exit 1).
 *
 * Profile mode (--profile=migrate, faultback, read or fill, optionally
 * with ":<bytes>"): for 10 s, over fresh populated buffers of 2 MiB or the
 * size given, only HMM_DMIRROR_MIGRATE_TO_DEV, or that and the CPU writes
 * that fault every page back, or a cold HMM_DMIRROR_READ (the device
 * accesses system memory in place: dev_read_sys), or nothing (fill: the
 * mapping, filling and unmapping the others do too, so that the difference
 * of two loops is one step). /proc/profile (kernel booted with
 * profile=) is reset just before the loop; the caller reads it after.
 * Prints "profile <driver> <workload> <bytes> <iterations> <ns> <user ns>
 * <system ns>", the last two from getrusage(): /proc/profile sees kernel
 * text only, so the system time it does not see is the driver module's.
 *
 * Rounds (--round=K/N): make bench alternates the two drivers' runs, N
 * each, so that the emulator's drift from run to run is shared; each run
 * takes its share of every cell's samples, and vsvm's thrashing and
 * prefetch workloads run in round 1 only.
 *
 * Usage: vsvm-bench <test_hmm|vsvm|vsvm-link> [device]
 *			[--profile=migrate|faultback|read|fill[:<bytes>]]
 *			[--round=K/N]
 */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lib/test_hmm_uapi.h"
#include "drm/vsvm/vsvm_util.h"

#define PAGE_SZ 4096UL

/*
 * Where buffers under test start: 2 MiB aligned (so that a buffer is one
 * GPU SVM range whenever its size allows), plus this offset for the
 * "@4K" workloads, which start one page past it.
 */
static unsigned long buf_offset;

static const char *driver;
static int dev_fd;
static int errors;

/* vsvm only: the fault-time file in debugfs of its first device. */
static char fault_path[128];

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

static const unsigned long sizes[] = {
	4UL << 10, 64UL << 10, 2UL << 20, 64UL << 20, 0,
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * Output. The harness's stdout is a serial port, written a byte at a time
 * by its interrupt handler well after printf() returned; under TCG that
 * handler took tens of microseconds of the next sample, and more of a
 * driver whose runs print more lines (vsvm's fault stages). Waiting for the
 * lines to leave before each sample (tcdrain()) was not enough: with a
 * line written after every sample, the first sample of a workload, the
 * only one taken after a quiet spell (its warm-up runs print nothing), was
 * below the median of the later ones in 92 of the 100 runs of 4 KiB
 * workloads of one make bench, which came out 1.36x slower (median).
 * So stdout is fully buffered in out_buf, big enough for every line of a
 * workload: its lines leave after its last sample (flush_lines()), and
 * settle() before a timed part waits until they are gone (a no-op while
 * nothing was written). Not a tty: tcdrain() fails and there is nothing to
 * wait for.
 */
static char out_buf[256 << 10];

static void settle(void)
{
	tcdrain(STDOUT_FILENO);
}

/* A workload is done: write its lines. */
static void flush_lines(void)
{
	fflush(stdout);
}

/* This run is round @bench_round of @bench_rounds (--round=K/N). */
static unsigned int bench_round = 1, bench_rounds = 1;

/*
 * Small requests are noisy under TCG: more samples for their medians. Large
 * ones are often bimodal (a 2 MiB fault-back 9 or 21 ms in one run): five
 * at least. A run that is one of several rounds takes its share, two at
 * least: the rounds together take as many or a few more.
 */
static int reps_for(unsigned long size)
{
	int reps;

	if (size >= (64UL << 20))
		reps = 5;
	else if (size <= PAGE_SZ)
		reps = 31;
	else
		reps = size <= (64UL << 10) ? 25 : 9;
	reps = (reps + bench_rounds - 1) / bench_rounds;
	return reps < 2 ? 2 : reps;
}

/* Untimed runs before the samples of each workload and size. */
static int warmups_for(unsigned long size)
{
	if (size <= PAGE_SZ)
		return 10;
	return size <= (64UL << 10) ? 3 : 1;
}

static void fail(const char *what, unsigned long size, const char *msg)
{
	printf("error %s %s %lu %s\n", driver, what, size, msg);
	fflush(stdout);
	errors++;
}

/* A sample, unless @rep is a warm-up (below 0). */
static void emit(const char *what, unsigned long size, int rep, uint64_t ns)
{
	if (rep < 0)
		return;
	printf("sample %s %s%s %lu %d %llu\n", driver, what,
	       buf_offset ? "@4K" : "", size, rep, (unsigned long long)ns);
}

/*
 * Faults vsvm serviced so far and their total time, and of those timed by
 * stage too their split by stage, migrating ones (@migrated) or not, from
 * one read of the file. Returns 0 or -1 if there is no fault-time file.
 *
 * Read once before a loop of samples, then after each sample, never right
 * before one: the read runs debugfs, seq_file and printf code that the
 * test_hmm runs, which have no such file, do not run before their samples,
 * and under TCG that costs the next kernel path its translated code and
 * software TLB entries. The faults between two reads are the sample's.
 */
static int fault_time(int migrated, struct vsvm_fault_snap *snap)
{
	memset(snap, 0, sizeof(*snap));
	if (!fault_path[0])
		return -1;
	return vsvm_fault_snap_at(fault_path, 0, migrated, snap) ? -1 : 0;
}

/*
 * The faults between @a and @b: count, time, then the time by stage if
 * they were all timed by stage.
 */
static void emit_faults(const char *what, unsigned long size, int rep,
			const struct vsvm_fault_snap *a,
			const struct vsvm_fault_snap *b)
{
	int i;

	if (rep < 0)
		return;
	printf("fault %s %s%s %lu %d %lld %lld", driver, what,
	       buf_offset ? "@4K" : "", size, rep, b->count - a->count,
	       b->ns - a->ns);
	if (b->staged - a->staged == b->count - a->count)
		for (i = 0; i < VSVM_FAULT_STAGES; i++)
			printf(" %lld", b->stage_ns[i] - a->stage_ns[i]);
	printf("\n");
}

#define ALIGN_SZ (2UL << 20)

/* @size bytes of fresh anonymous memory, @offset past a 2 MiB boundary. */
static void *map_at(unsigned long size, unsigned long offset)
{
	unsigned long total = size + ALIGN_SZ + offset, base, end;
	unsigned char *p = mmap(NULL, total, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	base = (((uintptr_t)p + ALIGN_SZ - 1) & ~(ALIGN_SZ - 1)) + offset;
	end = base + size;
	if (base > (uintptr_t)p)
		munmap(p, base - (uintptr_t)p);
	if ((uintptr_t)p + total > end)
		munmap((void *)end, (uintptr_t)p + total - end);
	return (void *)base;
}

static void *map(unsigned long size)
{
	return map_at(size, buf_offset);
}

/* One test_hmm command; returns 0 or -errno. */
static int dmirror(unsigned long request, void *addr, void *ptr,
		   unsigned long size)
{
	struct hmm_dmirror_cmd cmd = {
		.addr = (uintptr_t)addr,
		.ptr = (uintptr_t)ptr,
		.npages = size / PAGE_SZ,
	};
	int ret;

	do {
		ret = ioctl(dev_fd, request, &cmd);
	} while (ret && errno == EINTR);
	if (ret)
		return -errno;
	return cmd.cpages == size / PAGE_SZ ? 0 : -EIO;
}

/* Pages of [buf, buf + size) in this device's private memory. */
static long dev_pages(unsigned char *buf, unsigned long size)
{
	unsigned long i, n = size / PAGE_SZ;
	unsigned char *perm = malloc(n);
	long count = 0;

	if (!perm || dmirror(HMM_DMIRROR_SNAPSHOT, buf, perm, size)) {
		free(perm);
		return -1;
	}
	for (i = 0; i < n; i++)
		if ((perm[i] & 0xf0) == HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL)
			count++;
	free(perm);
	return count;
}

static uint64_t tv_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000ULL + tv->tv_usec * 1000ULL;
}

static long cpu_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static void touch_pages(unsigned char *p, unsigned long size, int val)
{
	unsigned long off;

	for (off = 0; off < size; off += PAGE_SZ)
		p[off] = val;
	/* The stores are the point: keep every one of them. */
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

/*
 * HMM_DMIRROR_MIGRATE_TO_DEV copies the migrated data back to cmd.ptr for
 * verification: that must be another buffer, or writing it faults the pages
 * straight back to RAM. The copy is part of the ABI, for both drivers.
 * Then the pages come back, timed: the CPU writes every page
 * (cpu_fault_back), or with @back, HMM_DMIRROR_MIGRATE_TO_SYS moves them in
 * one request (migrate_to_sys), which test_hmm does with one migrate_vma
 * pass per 256 KiB and a CPU fault with one per page.
 */
static void bench_migrate(unsigned long size, bool back)
{
	const char *what = back ? "migrate_to_sys" : "cpu_fault_back";
	unsigned char *mirror = map(size);
	int rep, ret;

	if (!mirror) {
		fail("migrate_to_dev", size, "mmap");
		return;
	}
	memset(mirror, 0, size);
	for (rep = -warmups_for(size); rep < reps_for(size); rep++) {
		unsigned char *buf = map(size);
		uint64_t t0, t1, t2, t3;
		long resident, faults;

		if (!buf) {
			fail("migrate_to_dev", size, "mmap");
			break;
		}
		memset(buf, 0x5a, size);
		settle();
		t0 = now_ns();
		ret = dmirror(HMM_DMIRROR_MIGRATE_TO_DEV, buf, mirror, size);
		t1 = now_ns();
		if (ret) {
			fail("migrate_to_dev", size, strerror(-ret));
			munmap(buf, size);
			break;
		}
		resident = dev_pages(buf, size);
		faults = cpu_faults();
		settle();
		t2 = now_ns();
		if (back)
			ret = dmirror(HMM_DMIRROR_MIGRATE_TO_SYS, buf, NULL, size);
		else
			touch_pages(buf, size, 0xa5);
		t3 = now_ns();
		faults = cpu_faults() - faults;
		if (ret) {
			fail(what, size, strerror(-ret));
			munmap(buf, size);
			break;
		}
		if (!back)
			emit("migrate_to_dev", size, rep, t1 - t0);
		emit(what, size, rep, t3 - t2);
		if (!buf_offset && !back && rep >= 0)
			printf("info %s migrate %lu %d %ld %ld\n", driver,
			       size, rep, resident, faults);
		if (back && dev_pages(buf, size) != 0)
			fail(what, size, "pages left in device memory");
		if (buf[0] != (back ? 0x5a : 0xa5) || buf[1] != 0x5a ||
		    mirror[1] != 0x5a)
			fail(what, size, "data mismatch");
		munmap(buf, size);
	}
	munmap(mirror, size);
	flush_lines();
}

enum {
	ACCESS_COLD,	/* memory in RAM the device has not touched yet */
	ACCESS_WARM,	/* memory in RAM the device accessed just before */
	ACCESS_DEV,	/* memory resident in device memory */
};

/* Device read or write, of memory in RAM or resident in device memory. */
static void bench_access(const char *what, unsigned long request,
			 int resident, unsigned long size)
{
	unsigned char *mirror = map(size);
	struct vsvm_fault_snap f0, f1;
	int rep, ret, timed;

	if (!mirror) {
		fail(what, size, "mmap");
		return;
	}
	memset(mirror, 0x3c, size);
	/* See fault_time(): read once before the loop, then after each sample. */
	timed = request == HMM_DMIRROR_READ && resident == ACCESS_COLD &&
		!fault_time(0, &f0);
	for (rep = -warmups_for(size); rep < reps_for(size); rep++) {
		unsigned char *buf = map(size);
		uint64_t t0, t1;

		if (!buf) {
			fail(what, size, "mmap");
			break;
		}
		memset(buf, 0x5a, size);
		if (resident == ACCESS_WARM) {
			/* The same access once untimed: the device has it. */
			ret = dmirror(request, buf, mirror, size);
			if (ret) {
				fail(what, size, strerror(-ret));
				munmap(buf, size);
				break;
			}
		} else if (resident == ACCESS_DEV) {
			ret = dmirror(HMM_DMIRROR_MIGRATE_TO_DEV, buf, mirror,
				      size);
			if (ret) {
				fail(what, size, strerror(-ret));
				munmap(buf, size);
				break;
			}
		}
		settle();
		t0 = now_ns();
		ret = dmirror(request, buf, mirror, size);
		t1 = now_ns();
		if (ret) {
			fail(what, size, strerror(-ret));
			munmap(buf, size);
			break;
		}
		emit(what, size, rep, t1 - t0);
		if (timed && !fault_time(0, &f1)) {
			emit_faults(what, size, rep, &f0, &f1);
			f0 = f1;
		}
		munmap(buf, size);
	}
	munmap(mirror, size);
	flush_lines();
}

/*
 * A GPU read of a cold buffer through vsvm's uapi: @migrate selects
 * DRM_VSVM_POLICY_MIGRATE (every fault moves its range to VRAM) over
 * DRM_VSVM_POLICY_SYSTEM (in place).
 */
static void bench_gpu_faults(const char *what, int migrate,
			     unsigned long size)
{
	unsigned char *dst = map(size);
	struct vsvm_fault_snap f0, f1;
	int rep, ret, fd;

	/* A VM of its own, gone after: no other run mirrors the process. */
	fd = vsvm_open_device(0);
	if (fd < 0 || !dst) {
		fail(what, size, fd < 0 ? "vsvm device" : "mmap");
		goto out;
	}
	memset(dst, 0, size);
	/* These samples only: the extra clock reads would slow the others. */
	if (vsvm_debugfs_set(fd, "vsvm_fault_stages", 1) ||
	    fault_time(migrate, &f0)) {
		fail(what, size, "no vsvm_fault_time in debugfs");
		goto out;
	}
	for (rep = -warmups_for(size); rep < reps_for(size); rep++) {
		unsigned char *buf = map(size);
		struct drm_vsvm_stats st;
		uint64_t t0, t1;

		if (!buf) {
			fail(what, size, "mmap");
			break;
		}
		memset(buf, 0x5a, size);
		settle();
		t0 = now_ns();
		ret = vsvm_gpu_read(fd, buf, dst, size,
				    migrate ? DRM_VSVM_POLICY_MIGRATE :
					      DRM_VSVM_POLICY_SYSTEM, &st);
		t1 = now_ns();
		fault_time(migrate, &f1);
		munmap(buf, size);
		if (ret) {
			fail(what, size, strerror(-ret));
			break;
		}
		if (dst[0] != 0x5a || dst[size - 1] != 0x5a) {
			fail(what, size, "data mismatch");
			break;
		}
		if (migrate && st.pages_to_vram != size / PAGE_SZ) {
			fail(what, size, "the faults did not migrate");
			break;
		}
		emit(what, size, rep, t1 - t0);
		emit_faults(what, size, rep, &f0, &f1);
		f0 = f1;
	}
out:
	if (fd >= 0) {
		vsvm_debugfs_set(fd, "vsvm_fault_stages", 0);
		close(fd);
	}
	if (dst)
		munmap(dst, size);
	flush_lines();
}

static void copy_libc(void *dst, const void *src, unsigned long size)
{
	memcpy(dst, src, size);
}

static void copy_movsq(void *dst, const void *src, unsigned long size)
{
#if defined(__x86_64__)
	unsigned long n = size / 8;

	__asm__ __volatile__("rep movsq"
			     : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
#else
	memcpy(dst, src, size);
#endif
}

static void copy_u64(void *dst, const void *src, unsigned long size)
{
	uint64_t *d = dst;
	const uint64_t *s = src;
	unsigned long i;

	for (i = 0; i < size / 8; i += 4) {
		d[i] = s[i];
		d[i + 1] = s[i + 1];
		d[i + 2] = s[i + 2];
		d[i + 3] = s[i + 3];
	}
}

static const struct {
	const char *name;
	void (*copy)(void *dst, const void *src, unsigned long size);
} copies[] = {
	{ "memcpy_libc", copy_libc },
	{ "memcpy_movsq", copy_movsq },
	{ "memcpy_u64", copy_u64 },
	{ NULL, NULL },
};

/*
 * The ceiling: copies of warm buffers (written once, then copied once
 * untimed), each way in turn, so that all of them see the same machine.
 */
static void bench_memcpy(unsigned long size)
{
	/*
	 * The destination one page past a 2 MiB boundary, the source on it:
	 * an odd number of pages apart. With both on a boundary, page i of
	 * each falls in the same entry of TCG's direct-mapped software TLB
	 * whenever it has fewer than 512 entries, and the copy misses at
	 * every access: 2 MiB took 4-15 ms instead of about 1.5 ms.
	 */
	unsigned char *src = map_at(size, 0), *dst = map_at(size, PAGE_SZ);
	unsigned int c;
	int rep;

	if (!src || !dst) {
		fail("memcpy", size, "mmap");
		goto out;
	}
	memset(src, 0x5a, size);
	memset(dst, 0, size);
	for (c = 0; copies[c].name; c++)
		copies[c].copy(dst, src, size);
	for (rep = -warmups_for(size); rep < reps_for(size); rep++) {
		for (c = 0; copies[c].name; c++) {
			uint64_t t0;

			settle();
			t0 = now_ns();

			copies[c].copy(dst, src, size);
			/* Keep the copy from being optimised away. */
			__asm__ __volatile__("" : : "r"(dst) : "memory");
			emit(copies[c].name, size, rep, now_ns() - t0);
		}
		if (memcmp(dst, src, size))
			fail("memcpy", size, "copy is wrong");
	}
out:
	if (src)
		munmap(src, size);
	if (dst)
		munmap(dst, size);
	flush_lines();
}

static void bench_device(unsigned long size)
{
	bench_migrate(size, false);
	bench_migrate(size, true);
	bench_access("dev_read_sys", HMM_DMIRROR_READ, ACCESS_COLD, size);
	bench_access("dev_write_sys", HMM_DMIRROR_WRITE, ACCESS_COLD, size);
	bench_access("dev_read_sysw", HMM_DMIRROR_READ, ACCESS_WARM, size);
	bench_access("dev_write_sysw", HMM_DMIRROR_WRITE, ACCESS_WARM, size);
	bench_access("dev_read_dev", HMM_DMIRROR_READ, ACCESS_DEV, size);
	bench_access("dev_write_dev", HMM_DMIRROR_WRITE, ACCESS_DEV, size);
	if (fault_path[0] && size <= ALIGN_SZ && !buf_offset) {
		bench_gpu_faults("gpu_read_sys", 0, size);
		bench_gpu_faults("gpu_read_mig", 1, size);
	}
}

/* The loop of profile mode, see the top of the file. */
enum { LOOP_MIGRATE, LOOP_FAULTBACK, LOOP_READ, LOOP_FILL, NUM_LOOPS };

static int profile_loop(const char *arg)
{
	const char *colon = strchr(arg, ':');
	unsigned long size = colon ? strtoul(colon + 1, NULL, 0) : 2UL << 20;
	size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
	static const char *const loops[NUM_LOOPS] = {
		[LOOP_MIGRATE] = "migrate",
		[LOOP_FAULTBACK] = "faultback",
		[LOOP_READ] = "read",
		[LOOP_FILL] = "fill",
	};
	unsigned int w;
	unsigned char *mirror;
	struct rusage r0, r1;
	uint64_t t0, end;
	long iters = 0;
	int fd, ret;

	for (w = 0; w < NUM_LOOPS; w++)
		if (strlen(loops[w]) == len && !strncmp(arg, loops[w], len))
			break;
	if (w == NUM_LOOPS || !size || size % PAGE_SZ) {
		fail("profile", 0, "unknown workload or size");
		return 1;
	}
	mirror = map(size);
	if (!mirror) {
		fail("profile", size, "mmap");
		return 1;
	}
	fd = open("/proc/profile", O_WRONLY);
	if (fd < 0 || write(fd, "0", 1) != 1) {
		fail("profile", 0, "cannot reset /proc/profile (boot with profile=2)");
		return 1;
	}
	close(fd);
	getrusage(RUSAGE_SELF, &r0);
	t0 = now_ns();
	end = t0 + 10000000000ULL;
	do {
		unsigned char *buf = map(size);

		if (!buf) {
			fail("profile", size, "mmap");
			return 1;
		}
		memset(buf, 0x5a, size);
		ret = w == LOOP_FILL ? 0 :
			dmirror(w == LOOP_READ ? HMM_DMIRROR_READ :
				HMM_DMIRROR_MIGRATE_TO_DEV, buf, mirror, size);
		if (ret) {
			fail("profile", size, strerror(-ret));
			return 1;
		}
		if (w == LOOP_FAULTBACK)
			touch_pages(buf, size, 0xa5);
		munmap(buf, size);
		iters++;
	} while (now_ns() < end);
	t0 = now_ns() - t0;
	getrusage(RUSAGE_SELF, &r1);
	printf("profile %s %s %lu %ld %llu %llu %llu\n", driver, loops[w],
	       size, iters,
	       (unsigned long long)t0,
	       (unsigned long long)(tv_ns(&r1.ru_utime) - tv_ns(&r0.ru_utime)),
	       (unsigned long long)(tv_ns(&r1.ru_stime) - tv_ns(&r0.ru_stime)));
	munmap(mirror, size);
	return errors ? 1 : 0;
}

#define PINGPONG_MS	1000

/* The CPU/GPU ping-pong on a fresh VM, thrashing control @on or off. */
static void bench_pingpong(unsigned long size, int on)
{
	const char *what = on ? "pingpong_on" : "pingpong_off";
	unsigned long npages = size / PAGE_SZ;
	unsigned char *dst = map(size);
	int rep, turn, fd;

	fd = vsvm_open_device(0);
	if (fd < 0 || !dst ||
	    vsvm_set_param(fd, DRM_VSVM_PARAM_THRASH, on) ||
	    vsvm_set_param(fd, DRM_VSVM_PARAM_THRASH_LAPSE_US, 50000) ||
	    vsvm_set_timeslice(fd, 0)) {
		fail(what, size, "vsvm device or VM_SET_PARAM");
		goto out;
	}
	for (rep = 0; rep < 3; rep++) {
		unsigned char *buf = map(size);
		struct drm_vsvm_vm_stats v0, v1;
		uint64_t t0, t1;
		int ret = 0;

		if (!buf) {
			fail(what, size, "mmap");
			break;
		}
		memset(buf, 0, size);
		vsvm_vm_stats(fd, &v0);
		settle();
		t0 = now_ns();
		t1 = t0;
		for (turn = 0; t1 - t0 < PINGPONG_MS * 1000000ULL && !ret;
		     turn++) {
			touch_pages(buf, size, (turn & 0x7f) + 1);
			ret = vsvm_gpu_read(fd, buf, dst, size,
					    DRM_VSVM_POLICY_MIGRATE, NULL);
			if (!ret && (dst[0] != (turn & 0x7f) + 1 ||
				     dst[size - PAGE_SZ] != (turn & 0x7f) + 1))
				ret = -EIO;
			t1 = now_ns();
		}
		vsvm_vm_stats(fd, &v1);
		munmap(buf, size);
		if (ret) {
			fail(what, size, strerror(-ret));
			break;
		}
		printf("pingpong %s %s %lu %d %d %llu %llu\n", driver,
		       on ? "on" : "off", size, rep, turn,
		       (unsigned long long)((v1.stats.pages_to_vram -
					     v0.stats.pages_to_vram) / npages),
		       (unsigned long long)(t1 - t0));
	}
out:
	if (dst)
		munmap(dst, size);
	if (fd >= 0)
		close(fd);
	flush_lines();
}

#define WALK_SIZE	(64UL << 20)
#define WALK_STEP	(64UL << 10)
#define WALK_READ	256
#define WALK_REPS	5

/* A sequential GPU walk in 64 KiB steps, access-density prefetch @on. */
static void bench_walk(int on)
{
	const char *what = on ? "walk_on" : "walk_off";
	unsigned char *dst = malloc(WALK_READ);
	int rep, fd;

	fd = vsvm_open_device(0);
	if (fd < 0 || !dst ||
	    vsvm_set_param(fd, DRM_VSVM_PARAM_FAULT_SIZE, WALK_STEP) ||
	    vsvm_set_param(fd, DRM_VSVM_PARAM_PREFETCH, on ? 51 : 0)) {
		fail(what, WALK_SIZE, "vsvm device or VM_SET_PARAM");
		goto out;
	}
	for (rep = 0; rep < WALK_REPS; rep++) {
		unsigned char *buf = map(WALK_SIZE);
		unsigned long off, faults = 0;
		struct drm_vsvm_stats st;
		uint64_t t0, t1;
		int ret = 0;

		if (!buf) {
			fail(what, WALK_SIZE, "mmap");
			break;
		}
		for (off = 0; off < WALK_SIZE; off += PAGE_SZ)
			buf[off] = off / WALK_STEP;
		settle();
		t0 = now_ns();
		for (off = 0; off < WALK_SIZE && !ret; off += WALK_STEP) {
			ret = vsvm_gpu_read(fd, buf + off, dst, WALK_READ,
					    DRM_VSVM_POLICY_MIGRATE, &st);
			if (!ret && dst[0] != (unsigned char)(off / WALK_STEP))
				ret = -EIO;
			faults += st.gpu_faults;
		}
		t1 = now_ns();
		munmap(buf, WALK_SIZE);
		if (ret) {
			fail(what, WALK_SIZE, strerror(-ret));
			break;
		}
		printf("walk %s %s %lu %d %lu %llu\n", driver, on ? "on" : "off",
		       WALK_SIZE, rep, faults, (unsigned long long)(t1 - t0));
	}
out:
	free(dst);
	if (fd >= 0)
		close(fd);
	flush_lines();
}

/*
 * GPU 1 reads @size bytes that GPU 0's VRAM holds, on a boot where the two
 * are on one interconnect (vsvm link=1), with one of two strategies: in
 * place over the link (the default policy), or moved into GPU 1's VRAM
 * first, through system memory (device-only placement). Output: "peer
 * <driver> <strategy> <size> <rep> <ns> <pages moved to GPU 1>".
 */
static void bench_peer(unsigned long size)
{
	static const struct {
		const char *name;
		unsigned int policy;
		bool via_ram;
	} strategies[] = {
		{ "in_place", DRM_VSVM_POLICY_MIGRATE, false },
		{ "device_to_device", DRM_VSVM_POLICY_DEVICE, false },
		{ "via_ram", DRM_VSVM_POLICY_DEVICE, true },
	};
	unsigned char *dst = map(size);
	int fd0 = vsvm_open_device(0), fd1 = vsvm_open_device(1);
	unsigned int s;
	int rep;

	if (fd0 < 0 || fd1 < 0 || !dst || vsvm_set_timeslice(fd0, 0) ||
	    vsvm_set_timeslice(fd1, 0)) {
		fail("peer", size, "two vsvm devices");
		goto out;
	}
	memset(dst, 0, size);
	for (s = 0; s < ARRAY_SIZE(strategies); s++) {
		for (rep = 0; rep < 3; rep++) {
			unsigned char *buf = map(size);
			struct drm_vsvm_stats st0, st1;
			uint64_t t0, t1;
			int ret;

			if (!buf) {
				fail("peer", size, "mmap");
				goto out;
			}
			/* 4 KiB pages: a THP stays out of private VRAM. */
			madvise(buf, size, MADV_NOHUGEPAGE);
			touch_pages(buf, size, rep + 1);
			ret = vsvm_migrate(fd0, buf, size,
					   DRM_VSVM_MIGRATE_TO_VRAM, &st0);
			if (!ret && st0.pages_to_vram != size / PAGE_SZ)
				ret = -EBUSY;
			if (!ret) {
				settle();
				t0 = now_ns();
				/* The two-step path: out to RAM, then in. */
				if (strategies[s].via_ram)
					ret = vsvm_migrate(fd0, buf, size,
							   DRM_VSVM_MIGRATE_TO_SYSTEM,
							   NULL);
				if (!ret)
					ret = vsvm_gpu_read(fd1, buf, dst, size,
							    strategies[s].policy,
							    &st1);
				t1 = now_ns();
			}
			if (!ret && (dst[0] != rep + 1 ||
				     dst[size - PAGE_SZ] != rep + 1))
				ret = -EIO;
			munmap(buf, size);
			if (ret) {
				fail("peer", size, strerror(-ret));
				goto out;
			}
			printf("peer %s %s %lu %d %llu %llu\n", driver,
			       strategies[s].name, size, rep,
			       (unsigned long long)(t1 - t0),
			       (unsigned long long)st1.pages_to_vram);
		}
	}
out:
	if (dst)
		munmap(dst, size);
	if (fd1 >= 0)
		close(fd1);
	if (fd0 >= 0)
		close(fd0);
	flush_lines();
}

int main(int argc, char **argv)
{
	const char *path = "/dev/hmm_dmirror0", *prof = NULL;
	unsigned int i;
	int a;

	if (argc < 2) {
		fprintf(stderr, "usage: %s <test_hmm|vsvm|vsvm-link> [device] %s\n",
			argv[0], "[--profile=migrate|faultback|read|fill] [--round=K/N]");
		return 2;
	}
	setvbuf(stdout, out_buf, _IOFBF, sizeof(out_buf));
	driver = argv[1];
	/* vsvm loaded with link=1: only GPU 1 reading GPU 0's VRAM. */
	if (!strcmp(driver, "vsvm-link")) {
		bench_peer(2UL << 20);
		bench_peer(64UL << 20);
		printf("# done, %d errors\n", errors);
		return errors ? 1 : 0;
	}
	for (a = 2; a < argc; a++) {
		if (!strncmp(argv[a], "--profile=", 10)) {
			prof = argv[a] + 10;
		} else if (!strncmp(argv[a], "--round=", 8)) {
			if (sscanf(argv[a] + 8, "%u/%u", &bench_round,
				   &bench_rounds) != 2 ||
			    !bench_round || bench_round > bench_rounds) {
				fprintf(stderr, "%s: bad %s\n", argv[0], argv[a]);
				return 2;
			}
		} else {
			path = argv[a];
		}
	}
	dev_fd = open(path, O_RDWR);
	if (dev_fd < 0) {
		fail("open", 0, strerror(errno));
		return 1;
	}
	if (prof)
		return profile_loop(prof);
	if (!strcmp(driver, "vsvm")) {
		/*
		 * Only to find the device's debugfs: a vsvm file holds a GPU
		 * VM mirroring this process, which test_hmm's runs lack.
		 */
		int fd = vsvm_open_device(0);

		if (fd < 0 ||
		    vsvm_debugfs_path(fd, "vsvm_fault_time", fault_path,
				      sizeof(fault_path))) {
			fail("open", 0, "no vsvm device 0 with vsvm_fault_time");
			fault_path[0] = 0;
		}
		if (fd >= 0)
			close(fd);
	}
	printf("# vsvm-bench %s on %s\n", driver, path);
	for (i = 0; sizes[i]; i++) {
		unsigned long size = sizes[i];

		bench_memcpy(size);
		bench_device(size);
	}
	/* 64 KiB again, one page past a 2 MiB boundary. */
	buf_offset = PAGE_SZ;
	bench_device(64UL << 10);
	buf_offset = 0;
	/* Not timed against test_hmm: once per bench, in its first round. */
	if (fault_path[0] && bench_round == 1) {
		for (i = 0; i < 2; i++) {
			bench_pingpong(i ? 2UL << 20 : 64UL << 10, 0);
			bench_pingpong(i ? 2UL << 20 : 64UL << 10, 1);
		}
		bench_walk(0);
		bench_walk(1);
	}
	close(dev_fd);
	printf("# done, %d errors\n", errors);
	return errors ? 1 : 0;
}
