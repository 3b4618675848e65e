// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault injection through the vsvm uapi: every failure of an allocation or
 * a driver hook on the path of a request must surface as an errno the uapi
 * documents, and lose no byte.
 *
 * The sweep tests use /proc/thread-self/fail-nth: writing n fails the n-th
 * fault-injection point the thread reaches next (slab and page allocations,
 * and vsvm's hook attributes under <debugfs>/vsvm/), whoever reaches it:
 * our helpers, the core mm or the driver. For n = 1, 2, ... a request runs
 * once with point n failing, until a request completes without reaching
 * point n: then every point of its path has failed once. After each
 * injected run the memory must hold exactly what it held before (or, for a
 * write, what the request says it wrote), and the same request without
 * injection must succeed. Leaks and kernel splats are caught by the
 * harness (kmemleak, KASAN, lockdep).
 *
 * The hook tests make one driver hook fail on every call while requests
 * run, then check data and errnos the same way.
 */

#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "../../kselftest_harness.h"
#include "vsvm_util.h"

#define PAGE		4096UL
#define SZ_64K		0x00010000UL
#define SZ_2M		0x00200000UL

/* Upper bound of a sweep: a request reaching more points is reported. */
#define SWEEP_MAX	4000

/*
 * A CPU fault whose copy back to RAM fails gets SIGBUS (the data stays in
 * VRAM): caught here, counted, and the data checked once copies work.
 */
static sigjmp_buf sigbus_jmp;
static sig_atomic_t sigbus_armed;

static void sigbus_handler(int sig)
{
	if (READ_ONCE(sigbus_armed))
		siglongjmp(sigbus_jmp, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Errnos the uapi documents for EXEC and MIGRATE under memory pressure. */
static int errno_documented(int err)
{
	switch (err) {
	case -ENOMEM:	/* out of memory */
	case -EFAULT:	/* a page could not be mapped for the device */
	case -EBUSY:	/* the pages kept moving */
	case -EIO:	/* the copy engine failed */
	case -ENOSPC:	/* no room in VRAM */
		return 1;
	}
	return 0;
}

static const char *const fail_knobs[][2] = {
	/* file, value while sweeping */
	{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
	{ "/sys/kernel/debug/failslab/verbose", "0" },
	{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N" },
	{ "/sys/kernel/debug/fail_page_alloc/min-order", "0" },
	{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N" },
	{ "/sys/kernel/debug/fail_page_alloc/verbose", "0" },
	{ "/sys/kernel/debug/vsvm/fail_copy_to_devmem/verbose", "0" },
	{ "/sys/kernel/debug/vsvm/fail_copy_to_ram/verbose", "0" },
	{ "/sys/kernel/debug/vsvm/fail_populate_devmem_pfn/verbose", "0" },
	{ "/sys/kernel/debug/vsvm/fail_device_map/verbose", "0" },
	{ "/sys/kernel/debug/vsvm/fail_devmem_alloc/verbose", "0" },
};

#define NUM_KNOBS	ARRAY_SIZE(fail_knobs)

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -EIO;
	close(fd);
	return ret;
}

static int read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

FIXTURE(faults)
{
	int fd;
	int nth;
	char saved[NUM_KNOBS][32];
	int have_saved;
};

FIXTURE_SETUP(faults)
{
	unsigned int i;

	self->nth = -1;
	self->have_saved = 0;
	self->fd = vsvm_open_device(0);
	if (self->fd == -ENODEV)
		SKIP(return, "no vsvm device (is the module loaded?)");
	ASSERT_GE(self->fd, 0);
	self->nth = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (self->nth < 0)
		SKIP(return, "no /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION?)");
	for (i = 0; i < NUM_KNOBS; i++) {
		if (read_str(fail_knobs[i][0], self->saved[i], sizeof(self->saved[i])))
			SKIP(return, "no %s (debugfs, FAILSLAB, FAIL_PAGE_ALLOC?)",
			     fail_knobs[i][0]);
	}
	self->have_saved = 1;
	/* Fail GFP_KERNEL allocations too, without a stack dump each. */
	for (i = 0; i < NUM_KNOBS; i++)
		ASSERT_EQ(0, write_str(fail_knobs[i][0], fail_knobs[i][1]));
}

FIXTURE_TEARDOWN(faults)
{
	unsigned int i;

	if (self->nth >= 0) {
		write_str("/proc/thread-self/fail-nth", "0");
		close(self->nth);
	}
	if (self->have_saved)
		for (i = 0; i < NUM_KNOBS; i++)
			write_str(fail_knobs[i][0], self->saved[i]);
	if (self->fd >= 0)
		close(self->fd);
}

/* Arm fail-nth: the n-th fault-injection point of this thread fails. */
static void nth_arm(int fd, int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%d", n);

	if (pwrite(fd, buf, len, 0) != len)
		abort();
}

/* Disarm; returns how many points were still to come (0: it fired). */
static int nth_disarm(int fd)
{
	char buf[16] = "";
	int left;

	if (pread(fd, buf, sizeof(buf) - 1, 0) <= 0)
		abort();
	left = atoi(buf);
	if (pwrite(fd, "0", 1, 0) != 1)
		abort();
	return left;
}

enum request {
	REQ_MIGRATE_TO_VRAM,
	REQ_GPU_READ,
	REQ_GPU_WRITE,
	REQ_MIGRATE_TO_RAM,
	REQ_CPU_FAULT,
};

static const char *const request_names[] = {
	"MIGRATE to VRAM", "GPU read (migrate policy)", "GPU write (migrate policy)",
	"MIGRATE to system", "CPU fault on VRAM",
};

struct sweep {
	int points;	/* fault-injection points the request reached */
	int failed;	/* runs that returned an error */
	int errs[5];	/* ENOMEM, EFAULT, EBUSY, EIO, ENOSPC */
	int sigbus;	/* CPU faults that got SIGBUS */
	int bad_errno;	/* first undocumented errno, or 0 */
	long lost;	/* bytes that did not hold what they should */
};

static void count_errno(struct sweep *sw, int err)
{
	static const int order[] = { -ENOMEM, -EFAULT, -EBUSY, -EIO, -ENOSPC };
	unsigned int i;

	sw->failed++;
	for (i = 0; i < 5; i++)
		if (err == order[i])
			sw->errs[i]++;
	if (!errno_documented(err) && !sw->bad_errno)
		sw->bad_errno = err;
}

/* "ENOMEM 3, EFAULT 1, ..." of a sweep, in a static buffer. */
static const char *errnos(const struct sweep *sw)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "ENOMEM %d, EFAULT %d, EBUSY %d, EIO %d, ENOSPC %d",
		 sw->errs[0], sw->errs[1], sw->errs[2], sw->errs[3], sw->errs[4]);
	return buf;
}

/* Bytes of @buf that differ from the pattern of @seed. */
static long pattern_diff(const char *buf, size_t size, unsigned int seed)
{
	long bad = 0;
	size_t i;

	for (i = 0; i < size; i++)
		if ((unsigned char)buf[i] != vsvm_pattern_byte(i, seed))
			bad++;
	return bad;
}

/*
 * Run @req once on a fresh 64 KiB buffer, with fault-injection point @n of
 * this thread failing (0: none) or, with @hook, every call of that driver
 * hook failing. Returns the request's result, or that of a retry without
 * injection minus 1000 if the retry failed too; sets *reached if point @n
 * was reached. Checks the data once injection is off.
 */
static int run_request(int fd, int nth, enum request req, int n,
		       const char *hook, int *reached, struct sweep *sw)
{
	size_t size = 16 * PAGE;
	char *a = vsvm_map_aligned(size, SZ_64K);
	char *tmp = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct drm_vsvm_stats st;
	int ret = 0;
	size_t i;

	if (a == MAP_FAILED || tmp == MAP_FAILED)
		abort();
	vsvm_pattern_fill(a, size, 51);
	memset(&st, 0, sizeof(st));
	if (req == REQ_MIGRATE_TO_RAM || req == REQ_CPU_FAULT) {
		/* Put it in VRAM first, without injection. */
		if (vsvm_migrate(fd, a, size, DRM_VSVM_MIGRATE_TO_VRAM, NULL))
			abort();
	}
	if (req == REQ_GPU_WRITE)
		vsvm_pattern_fill(tmp, size, 52);

	if (hook && vsvm_fault_set(hook, 100, -1))
		abort();
	if (n)
		nth_arm(nth, n);
	switch (req) {
	case REQ_MIGRATE_TO_VRAM:
		ret = vsvm_migrate(fd, a, size, DRM_VSVM_MIGRATE_TO_VRAM, &st);
		break;
	case REQ_GPU_READ:
		ret = vsvm_gpu_read(fd, a, tmp, size, DRM_VSVM_POLICY_MIGRATE, &st);
		break;
	case REQ_GPU_WRITE:
		ret = vsvm_gpu_write(fd, a, tmp, size, DRM_VSVM_POLICY_MIGRATE, &st);
		break;
	case REQ_MIGRATE_TO_RAM:
		ret = vsvm_migrate(fd, a, size, DRM_VSVM_MIGRATE_TO_SYSTEM, &st);
		break;
	case REQ_CPU_FAULT:
		/* Each page's first touch; SIGBUS if its copy failed. */
		for (i = 0; i < size; i += PAGE) {
			if (sigsetjmp(sigbus_jmp, 1)) {
				WRITE_ONCE(sigbus_armed, 0);
				sw->sigbus++;
				continue;
			}
			WRITE_ONCE(sigbus_armed, 1);
			(void)READ_ONCE(a[i]);
			WRITE_ONCE(sigbus_armed, 0);
		}
		break;
	}
	*reached = n && nth_disarm(nth) == 0;
	if (hook && vsvm_fault_set(hook, 0, 0))
		abort();
	if (ret)
		count_errno(sw, ret);

	/* What the memory holds now. */
	if (req == REQ_GPU_WRITE) {
		/* Written up to bytes_written, untouched after it. */
		size_t done = ret ? st.bytes_written : size;

		if (done > size)
			done = size;
		sw->lost += pattern_diff(a, done, 52);
		for (i = done; i < size; i++)
			if ((unsigned char)a[i] != vsvm_pattern_byte(i, 51))
				sw->lost++;
	} else {
		sw->lost += pattern_diff(a, size, 51);
	}
	if (req == REQ_GPU_READ && !ret)
		sw->lost += pattern_diff(tmp, size, 51);

	/* Without injection the same request goes through. */
	if (ret && req != REQ_CPU_FAULT) {
		switch (req) {
		case REQ_MIGRATE_TO_VRAM:
			ret = vsvm_migrate(fd, a, size, DRM_VSVM_MIGRATE_TO_VRAM, NULL);
			break;
		case REQ_GPU_READ:
			ret = vsvm_gpu_read(fd, a, tmp, size, DRM_VSVM_POLICY_MIGRATE,
					    NULL);
			if (!ret)
				sw->lost += pattern_diff(tmp, size, 51);
			break;
		case REQ_GPU_WRITE:
			ret = vsvm_gpu_write(fd, a, tmp, size, DRM_VSVM_POLICY_MIGRATE,
					     NULL);
			if (!ret)
				sw->lost += pattern_diff(a, size, 52);
			break;
		case REQ_MIGRATE_TO_RAM:
			ret = vsvm_migrate(fd, a, size, DRM_VSVM_MIGRATE_TO_SYSTEM,
					   NULL);
			break;
		default:
			break;
		}
		if (ret)
			ret = -1000 + ret;	/* a retry failed: reported apart */
	}
	munmap(a, size);
	munmap(tmp, size);
	return ret;
}

static void sweep(struct __test_metadata *_metadata, int fd, int nth,
		  enum request req)
{
	struct sweep sw;
	int n, reached, ret;

	memset(&sw, 0, sizeof(sw));
	for (n = 1; n <= SWEEP_MAX; n++) {
		ret = run_request(fd, nth, req, n, NULL, &reached, &sw);
		EXPECT_GT(ret, -1000) {
			TH_LOG("%s: the request failed again without injection (%d) after point %d",
			       request_names[req], ret + 1000, n);
		}
		if (!reached)
			break;
		sw.points = n;
	}
	TH_LOG("%s: %d points, %d failed (%s), %d SIGBUS, %ld bytes lost",
	       request_names[req], sw.points, sw.failed, errnos(&sw), sw.sigbus,
	       sw.lost);
	EXPECT_LT(sw.points, SWEEP_MAX);
	EXPECT_GT(sw.points, 0);
	EXPECT_EQ(0, sw.bad_errno);
	EXPECT_EQ(0, sw.lost);
}

TEST_F_TIMEOUT(faults, sweep_migrate_to_vram, 300)
{
	sweep(_metadata, self->fd, self->nth, REQ_MIGRATE_TO_VRAM);
}

TEST_F_TIMEOUT(faults, sweep_gpu_read, 300)
{
	sweep(_metadata, self->fd, self->nth, REQ_GPU_READ);
}

TEST_F_TIMEOUT(faults, sweep_gpu_write, 300)
{
	sweep(_metadata, self->fd, self->nth, REQ_GPU_WRITE);
}

TEST_F_TIMEOUT(faults, sweep_migrate_to_ram, 300)
{
	sweep(_metadata, self->fd, self->nth, REQ_MIGRATE_TO_RAM);
}

TEST_F_TIMEOUT(faults, sweep_cpu_fault, 300)
{
	sweep(_metadata, self->fd, self->nth, REQ_CPU_FAULT);
}

/* Every call of one driver hook fails while a request runs. */
FIXTURE(hooks)
{
	int fd;
};

FIXTURE_VARIANT(hooks)
{
	const char *hook;
};

FIXTURE_VARIANT_ADD(hooks, copy_to_devmem) { .hook = "fail_copy_to_devmem" };
FIXTURE_VARIANT_ADD(hooks, copy_to_ram) { .hook = "fail_copy_to_ram" };
FIXTURE_VARIANT_ADD(hooks, populate_devmem_pfn) { .hook = "fail_populate_devmem_pfn" };
FIXTURE_VARIANT_ADD(hooks, device_map) { .hook = "fail_device_map" };
FIXTURE_VARIANT_ADD(hooks, devmem_alloc) { .hook = "fail_devmem_alloc" };

FIXTURE_SETUP(hooks)
{
	self->fd = vsvm_open_device(0);
	if (self->fd == -ENODEV)
		SKIP(return, "no vsvm device (is the module loaded?)");
	ASSERT_GE(self->fd, 0);
	if (vsvm_fault_set(variant->hook, 0, 0))
		SKIP(return, "no fault attribute vsvm/%s (debugfs?)", variant->hook);
}

FIXTURE_TEARDOWN(hooks)
{
	if (self->fd < 0)
		return;
	vsvm_fault_set(variant->hook, 0, 0);
	close(self->fd);
}

TEST_F_TIMEOUT(hooks, always_fails, 120)
{
	struct sweep sw;
	int req, reached, ret;

	memset(&sw, 0, sizeof(sw));
	for (req = REQ_MIGRATE_TO_VRAM; req <= REQ_CPU_FAULT; req++) {
		ret = run_request(self->fd, -1, req, 0, variant->hook, &reached,
				  &sw);
		EXPECT_GT(ret, -1000) {
			TH_LOG("%s: %s failed again with the hook working (%d)",
			       variant->hook, request_names[req], ret + 1000);
		}
	}
	TH_LOG("%s: %d failed (%s), %d SIGBUS, %ld bytes lost",
	       variant->hook, sw.failed, errnos(&sw), sw.sigbus, sw.lost);
	EXPECT_EQ(0, sw.bad_errno);
	EXPECT_EQ(0, sw.lost);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = sigbus_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	return test_harness_run(argc, argv);
}
