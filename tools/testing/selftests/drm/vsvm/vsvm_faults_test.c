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
 *
 * Long mode (environment VSVM_FAULTS_LONG=1, make faults) adds the fixture
 * faults_long: requests of 2 and 6 MiB, THP-backed, 4 KiB-backed and
 * partially resident in VRAM, one that must evict another buffer from VRAM
 * (variant evict_2m, run with a small vram_mb), and the same sweeps
 * through the test_hmm front end (variants dmirror_*: /dev/hmm_dmirror0,
 * vsvm loaded with dmirror=1). Sweeps on buffers above 64 KiB fail every
 * point up to the 16th, then one in eight; every sweep stops after
 * VSVM_FAULTS_SWEEP_S seconds (unset or 0: no limit). Without
 * VSVM_FAULTS_LONG this fixture is left out (make check runs the short
 * sweeps only). Every sweep prints lines "faults: <sweep>: points=<n> ..."
 * for the summary.
 */

#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "../../kselftest_harness.h"
#include "vsvm_util.h"
#include "../../../../../lib/test_hmm_uapi.h"

#define PAGE		4096UL
#define SZ_64K		0x00010000UL
#define SZ_2M		0x00200000UL
#define SZ_1M		0x00100000UL

/* Long mode: bigger requests, the front end, sparser sweeps (make faults). */
static int long_mode;
/* Long mode: seconds after which a sweep stops (VSVM_FAULTS_SWEEP_S, 0: none). */
static double sweep_budget_ms;

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

/* What a sweep fixture holds: its device, fail-nth, the saved knobs. */
struct faults_env {
	int fd;
	int nth;
	char saved[NUM_KNOBS][32];
	int have_saved;
};

/* Open /dev/hmm_dmirror0: the fd, or -errno. */
static int dmirror_open(void)
{
	int fd = open("/dev/hmm_dmirror0", O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/*
 * Set a sweep fixture up on vsvm's render node 0, or with @dm on the test_hmm
 * front end. Returns 0, or KSFT_SKIP / KSFT_FAIL with the reason in @why.
 */
static int env_setup(struct faults_env *e, int dm, char *why, size_t len)
{
	unsigned int i;

	e->nth = -1;
	e->have_saved = 0;
	e->fd = dm ? dmirror_open() : vsvm_open_device(0);
	if (e->fd == -ENODEV || e->fd == -ENOENT) {
		snprintf(why, len, "no %s (is the module loaded%s?)",
			 dm ? "/dev/hmm_dmirror0" : "vsvm device",
			 dm ? " with dmirror=1" : "");
		return KSFT_SKIP;
	}
	if (e->fd < 0) {
		snprintf(why, len, "cannot open the device: %d", e->fd);
		return KSFT_FAIL;
	}
	e->nth = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (e->nth < 0) {
		snprintf(why, len, "no /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION?)");
		return KSFT_SKIP;
	}
	for (i = 0; i < NUM_KNOBS; i++) {
		if (read_str(fail_knobs[i][0], e->saved[i], sizeof(e->saved[i]))) {
			snprintf(why, len, "no %s (debugfs, FAILSLAB, FAIL_PAGE_ALLOC?)",
				 fail_knobs[i][0]);
			return KSFT_SKIP;
		}
	}
	e->have_saved = 1;
	/* Fail GFP_KERNEL allocations too, without a stack dump each. */
	for (i = 0; i < NUM_KNOBS; i++) {
		if (write_str(fail_knobs[i][0], fail_knobs[i][1])) {
			snprintf(why, len, "cannot set %s", fail_knobs[i][0]);
			return KSFT_FAIL;
		}
	}
	return 0;
}

static void env_teardown(struct faults_env *e)
{
	unsigned int i;

	if (e->nth >= 0) {
		write_str("/proc/thread-self/fail-nth", "0");
		close(e->nth);
	}
	if (e->have_saved)
		for (i = 0; i < NUM_KNOBS; i++)
			write_str(fail_knobs[i][0], e->saved[i]);
	if (e->fd >= 0)
		close(e->fd);
}

FIXTURE(faults)
{
	struct faults_env e;
};

FIXTURE_SETUP(faults)
{
	char why[160];
	int r = env_setup(&self->e, 0, why, sizeof(why));

	if (r == KSFT_SKIP)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, r) TH_LOG("%s", why);
}

FIXTURE_TEARDOWN(faults)
{
	env_teardown(&self->e);
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
	/* The test_hmm front end: @fd is /dev/hmm_dmirror0. */
	REQ_DM_READ,
	REQ_DM_WRITE,
	REQ_DM_TO_DEV,
	REQ_DM_TO_SYS,
};

static const char *const request_names[] = {
	"MIGRATE to VRAM", "GPU read (migrate policy)", "GPU write (migrate policy)",
	"MIGRATE to system", "CPU fault on VRAM", "dmirror READ", "dmirror WRITE",
	"dmirror MIGRATE_TO_DEV", "dmirror MIGRATE_TO_SYS",
};

/*
 * The buffer a request runs on: @size bytes at a multiple of @align, with
 * MADV_HUGEPAGE (@thp > 0) or MADV_NOHUGEPAGE (@thp < 0); @resident bytes
 * of it (from the start) in VRAM before the request; with @evict, VRAM is
 * first filled with another buffer that the request has to push out; with
 * @dm, the requests go through the test_hmm front end.
 */
struct shape {
	const char *name;
	size_t size;
	size_t align;
	int thp;
	size_t resident;
	int evict;
	int dm;
};

static const struct shape short_shape = { "64k", 16 * PAGE, SZ_64K, 0, 0, 0, 0 };

struct sweep {
	int points;	/* fault-injection points that failed once */
	int last;	/* the last point of the path that was reached */
	int failed;	/* runs that returned an error */
	int errs[5];	/* ENOMEM, EFAULT, EBUSY, EIO, ENOSPC */
	int sigbus;	/* CPU faults that got SIGBUS */
	int bad_errno;	/* first undocumented errno, or 0 */
	long lost;	/* bytes that did not hold what they should */
	int other;	/* undocumented errnos */
};

static void count_errno(struct sweep *sw, int err)
{
	static const int order[] = { -ENOMEM, -EFAULT, -EBUSY, -EIO, -ENOSPC };
	unsigned int i;

	sw->failed++;
	for (i = 0; i < 5; i++)
		if (err == order[i])
			sw->errs[i]++;
	if (!errno_documented(err)) {
		sw->other++;
		if (!sw->bad_errno)
			sw->bad_errno = err;
	}
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

/* One request of the test_hmm ABI; 0 or -errno. */
static int dmirror_cmd(int fd, unsigned long request, void *addr, void *ptr,
		       size_t size)
{
	struct hmm_dmirror_cmd c = {
		.addr = (unsigned long)addr,
		.ptr = (unsigned long)ptr,
		.npages = size / PAGE,
	};
	int ret;

	do {
		ret = ioctl(fd, request, &c);
	} while (ret == -1 && errno == EINTR);
	return ret == -1 ? -errno : 0;
}

/* Send @size bytes at @a to device memory or back, without injection. */
static void place(int fd, int dm, void *a, void *tmp, size_t size, int to_vram)
{
	int ret;

	if (dm)
		ret = dmirror_cmd(fd, to_vram ? HMM_DMIRROR_MIGRATE_TO_DEV :
				  HMM_DMIRROR_MIGRATE_TO_SYS, a, tmp, size);
	else
		ret = vsvm_migrate(fd, a, size, to_vram ? DRM_VSVM_MIGRATE_TO_VRAM :
				   DRM_VSVM_MIGRATE_TO_SYSTEM, NULL);
	if (ret)
		abort();
}

/* Issue @req over @a (data through @tmp); 0 or -errno. */
static int issue(int fd, enum request req, char *a, char *tmp, size_t size,
		 struct drm_vsvm_stats *st, struct sweep *sw)
{
	size_t i;

	switch (req) {
	case REQ_MIGRATE_TO_VRAM:
		return vsvm_migrate(fd, a, size, DRM_VSVM_MIGRATE_TO_VRAM, st);
	case REQ_GPU_READ:
		return vsvm_gpu_read(fd, a, tmp, size, DRM_VSVM_POLICY_MIGRATE, st);
	case REQ_GPU_WRITE:
		return vsvm_gpu_write(fd, a, tmp, size, DRM_VSVM_POLICY_MIGRATE, st);
	case REQ_MIGRATE_TO_RAM:
		return vsvm_migrate(fd, a, size, DRM_VSVM_MIGRATE_TO_SYSTEM, st);
	case REQ_CPU_FAULT:
		/* Each page's first touch; SIGBUS if its copy failed. */
		for (i = 0; i < size; i += PAGE) {
			if (sigsetjmp(sigbus_jmp, 1)) {
				WRITE_ONCE(sigbus_armed, 0);
				if (sw)
					sw->sigbus++;
				continue;
			}
			WRITE_ONCE(sigbus_armed, 1);
			(void)READ_ONCE(a[i]);
			WRITE_ONCE(sigbus_armed, 0);
		}
		return 0;
	case REQ_DM_READ:
		return dmirror_cmd(fd, HMM_DMIRROR_READ, a, tmp, size);
	case REQ_DM_WRITE:
		return dmirror_cmd(fd, HMM_DMIRROR_WRITE, a, tmp, size);
	case REQ_DM_TO_DEV:
		return dmirror_cmd(fd, HMM_DMIRROR_MIGRATE_TO_DEV, a, tmp, size);
	case REQ_DM_TO_SYS:
		return dmirror_cmd(fd, HMM_DMIRROR_MIGRATE_TO_SYS, a, tmp, size);
	}
	return -EINVAL;
}

static int is_write(enum request req)
{
	return req == REQ_GPU_WRITE || req == REQ_DM_WRITE;
}

/* Does @req read the buffer into @tmp on success? */
static int reads_back(enum request req)
{
	return req == REQ_GPU_READ || req == REQ_DM_READ || req == REQ_DM_TO_DEV;
}

/* Bytes of @a that are neither the old (51) nor the new (52) pattern. */
static long either_diff(const char *a, size_t size)
{
	long bad = 0;
	size_t i;

	for (i = 0; i < size; i++)
		if ((unsigned char)a[i] != vsvm_pattern_byte(i, 51) &&
		    (unsigned char)a[i] != vsvm_pattern_byte(i, 52))
			bad++;
	return bad;
}

/*
 * Fill VRAM with a buffer of its own (variant evict_2m), so that the
 * request has to evict it. Returns the buffer (pattern 53), or NULL.
 */
static char *occupy_vram(int fd, size_t *len)
{
	struct drm_vsvm_query q;
	char *o;

	if (vsvm_query_device(fd, &q))
		return NULL;
	*len = q.vram_size;
	o = vsvm_map_aligned(*len, SZ_2M);
	if (o == MAP_FAILED)
		abort();
	vsvm_pattern_fill(o, *len, 53);
	/* What does not fit stays in RAM: fine, VRAM is full either way. */
	vsvm_migrate(fd, o, *len, DRM_VSVM_MIGRATE_TO_VRAM, NULL);
	return o;
}

/*
 * Run @req once on a fresh buffer of shape @sh, with fault-injection point
 * @n of this thread failing (0: none) or, with @hook, every call of that
 * driver hook failing. Returns the request's result, or that of a retry
 * without injection minus 1000 if the retry failed too; sets *reached if
 * point @n was reached. Checks the data once injection is off.
 */
static int run_request(int fd, int nth, enum request req, int n,
		       const char *hook, const struct shape *sh, int *reached,
		       struct sweep *sw)
{
	size_t size = sh->size, olen = 0;
	char *a = vsvm_map_aligned(size, sh->align);
	char *tmp = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct drm_vsvm_stats st;
	char *occ = NULL;
	int ret = 0;
	size_t i;

	if (a == MAP_FAILED || tmp == MAP_FAILED)
		abort();
	if (sh->thp)
		madvise(a, size, sh->thp > 0 ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	vsvm_pattern_fill(a, size, 51);
	memset(&st, 0, sizeof(st));
	if (req == REQ_MIGRATE_TO_RAM || req == REQ_CPU_FAULT || req == REQ_DM_TO_SYS) {
		/* Put it in VRAM first (only @resident bytes of it, if set). */
		place(fd, sh->dm, a, tmp, sh->resident ? sh->resident : size, 1);
	} else if (sh->resident) {
		place(fd, sh->dm, a, tmp, sh->resident, 1);
	}
	if (sh->evict)
		occ = occupy_vram(fd, &olen);
	if (is_write(req))
		vsvm_pattern_fill(tmp, size, 52);

	if (hook && vsvm_fault_set(hook, 100, -1))
		abort();
	if (n)
		nth_arm(nth, n);
	ret = issue(fd, req, a, tmp, size, &st, sw);
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
	} else if (req == REQ_DM_WRITE) {
		/* Written in pieces (a bounce buffer at a time). */
		sw->lost += ret ? either_diff(a, size) : pattern_diff(a, size, 52);
	} else {
		sw->lost += pattern_diff(a, size, 51);
	}
	if (reads_back(req) && !ret)
		sw->lost += pattern_diff(tmp, size, 51);

	/* Without injection the same request goes through. */
	if (ret && req != REQ_CPU_FAULT) {
		if (is_write(req))
			vsvm_pattern_fill(tmp, size, 52);
		ret = issue(fd, req, a, tmp, size, NULL, NULL);
		if (!ret && is_write(req))
			sw->lost += pattern_diff(a, size, 52);
		else if (!ret && reads_back(req))
			sw->lost += pattern_diff(tmp, size, 51);
		if (ret)
			ret = -1000 + ret;	/* a retry failed: reported apart */
	}
	if (occ) {
		/* The evicted buffer lost nothing either. */
		sw->lost += pattern_diff(occ, olen, 53);
		munmap(occ, olen);
	}
	munmap(a, size);
	munmap(tmp, size);
	return ret;
}

/*
 * The next point to fail: every one, except on the long mode's buffers
 * bigger than 64 KiB: all of the first 16, then one in eight, so that a
 * sweep bounded in time still reaches the end of a path of thousands.
 */
static int sweep_next(int n, const struct shape *sh)
{
	return long_mode && sh->size > 16 * PAGE && n >= 16 ? n + n / 8 : n + 1;
}

static void sweep(struct __test_metadata *_metadata, int fd, int nth,
		  enum request req, const struct shape *sh)
{
	double t0 = vsvm_now_ms();
	int n, reached, ret, cut = 0;
	struct sweep sw;

	memset(&sw, 0, sizeof(sw));
	for (n = 1; n <= SWEEP_MAX; n = sweep_next(n, sh)) {
		if (sweep_budget_ms && vsvm_now_ms() - t0 > sweep_budget_ms) {
			cut = 1;
			break;
		}
		ret = run_request(fd, nth, req, n, NULL, sh, &reached, &sw);
		EXPECT_GT(ret, -1000) {
			TH_LOG("%s: the request failed again without injection (%d) after point %d",
			       request_names[req], ret + 1000, n);
		}
		if (!reached)
			break;
		sw.points++;
		sw.last = n;
	}
	TH_LOG("%s: %d points, %d failed (%s), %d SIGBUS, %ld bytes lost",
	       request_names[req], sw.points, sw.failed, errnos(&sw), sw.sigbus,
	       sw.lost);
	/* For the summary of make faults (tools/harness/summarize.py). */
	TH_LOG("faults: %s %s: points=%d path=%d failed=%d %s=%d %s=%d %s=%d %s=%d %s=%d",
	       request_names[req], sh->name, sw.points, sw.last, sw.failed,
	       "ENOMEM", sw.errs[0], "EFAULT", sw.errs[1], "EBUSY", sw.errs[2],
	       "EIO", sw.errs[3], "ENOSPC", sw.errs[4]);
	TH_LOG("faults: %s %s: other=%d sigbus=%d lost=%ld cut=%d",
	       request_names[req], sh->name, sw.other, sw.sigbus, sw.lost, cut);
	EXPECT_LT(sw.last, SWEEP_MAX);
	EXPECT_GT(sw.points, 0);
	EXPECT_EQ(0, sw.bad_errno);
	EXPECT_EQ(0, sw.lost);
}

TEST_F_TIMEOUT(faults, sweep_migrate_to_vram, 300)
{
	sweep(_metadata, self->e.fd, self->e.nth, REQ_MIGRATE_TO_VRAM, &short_shape);
}

TEST_F_TIMEOUT(faults, sweep_gpu_read, 300)
{
	sweep(_metadata, self->e.fd, self->e.nth, REQ_GPU_READ, &short_shape);
}

TEST_F_TIMEOUT(faults, sweep_gpu_write, 300)
{
	sweep(_metadata, self->e.fd, self->e.nth, REQ_GPU_WRITE, &short_shape);
}

TEST_F_TIMEOUT(faults, sweep_migrate_to_ram, 300)
{
	sweep(_metadata, self->e.fd, self->e.nth, REQ_MIGRATE_TO_RAM, &short_shape);
}

TEST_F_TIMEOUT(faults, sweep_cpu_fault, 300)
{
	sweep(_metadata, self->e.fd, self->e.nth, REQ_CPU_FAULT, &short_shape);
}

/* Long mode: bigger buffers, THP or not, partly resident, evicting. */
FIXTURE(faults_long)
{
	struct faults_env e;
};

FIXTURE_VARIANT(faults_long)
{
	struct shape sh;
};

FIXTURE_VARIANT_ADD(faults_long, thp_2m) {
	.sh = { "thp_2m", SZ_2M, SZ_2M, 1, 0, 0, 0 },
};

FIXTURE_VARIANT_ADD(faults_long, pages_2m) {
	.sh = { "4k_2m", SZ_2M, SZ_2M, -1, 0, 0, 0 },
};

FIXTURE_VARIANT_ADD(faults_long, partial_2m) {
	.sh = { "partial_2m", SZ_2M, SZ_2M, 1, SZ_1M, 0, 0 },
};

FIXTURE_VARIANT_ADD(faults_long, thp_6m) {
	.sh = { "thp_6m", 3 * SZ_2M, SZ_2M, 1, 0, 0, 0 },
};

/* VRAM full of another buffer: run with a small vram_mb (make faults). */
FIXTURE_VARIANT_ADD(faults_long, evict_2m) {
	.sh = { "evict_2m", SZ_2M, SZ_2M, 1, 0, 1, 0 },
};

/* The test_hmm front end (/dev/hmm_dmirror0, vsvm loaded with dmirror=1). */
FIXTURE_VARIANT_ADD(faults_long, dmirror_64k) {
	.sh = { "dmirror_64k", 16 * PAGE, SZ_64K, 0, 0, 0, 1 },
};

FIXTURE_VARIANT_ADD(faults_long, dmirror_thp_2m) {
	.sh = { "dmirror_thp_2m", SZ_2M, SZ_2M, 1, 0, 0, 1 },
};

/*
 * The request of kind @req for @sh: through the front end, migrating to
 * VRAM, GPU read and write, migrating back are its four ioctls.
 */
static enum request long_request(enum request req, const struct shape *sh)
{
	static const enum request dm[] = {
		[REQ_MIGRATE_TO_VRAM] = REQ_DM_TO_DEV,
		[REQ_GPU_READ] = REQ_DM_READ,
		[REQ_GPU_WRITE] = REQ_DM_WRITE,
		[REQ_MIGRATE_TO_RAM] = REQ_DM_TO_SYS,
		[REQ_CPU_FAULT] = REQ_CPU_FAULT,
	};

	return sh->dm ? dm[req] : req;
}

FIXTURE_SETUP(faults_long)
{
	char why[160];
	int r = env_setup(&self->e, variant->sh.dm, why, sizeof(why));

	if (r == KSFT_SKIP)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, r) TH_LOG("%s", why);
}

FIXTURE_TEARDOWN(faults_long)
{
	env_teardown(&self->e);
}

TEST_F_TIMEOUT(faults_long, migrate_to_vram, 1800)
{
	sweep(_metadata, self->e.fd, self->e.nth,
	      long_request(REQ_MIGRATE_TO_VRAM, &variant->sh), &variant->sh);
}

TEST_F_TIMEOUT(faults_long, gpu_read, 1800)
{
	sweep(_metadata, self->e.fd, self->e.nth,
	      long_request(REQ_GPU_READ, &variant->sh), &variant->sh);
}

TEST_F_TIMEOUT(faults_long, gpu_write, 1800)
{
	sweep(_metadata, self->e.fd, self->e.nth,
	      long_request(REQ_GPU_WRITE, &variant->sh), &variant->sh);
}

TEST_F_TIMEOUT(faults_long, migrate_to_ram, 1800)
{
	sweep(_metadata, self->e.fd, self->e.nth,
	      long_request(REQ_MIGRATE_TO_RAM, &variant->sh), &variant->sh);
}

TEST_F_TIMEOUT(faults_long, cpu_fault, 1800)
{
	sweep(_metadata, self->e.fd, self->e.nth,
	      long_request(REQ_CPU_FAULT, &variant->sh), &variant->sh);
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
		ret = run_request(self->fd, -1, req, 0, variant->hook,
				  &short_shape, &reached, &sw);
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
	static char *args[64];
	const char *env = getenv("VSVM_FAULTS_LONG");
	int i, n = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	long_mode = env && *env && strcmp(env, "0");
	env = getenv("VSVM_FAULTS_SWEEP_S");
	if (long_mode && env)
		sweep_budget_ms = atof(env) * 1000;
	if (long_mode || argc > 60)
		return test_harness_run(argc, argv);
	/* make check: the short sweeps and the hooks only. */
	for (i = 0; i < argc; i++)
		args[n++] = argv[i];
	args[n++] = "-F";
	args[n++] = "faults_long";
	args[n] = NULL;
	return test_harness_run(n, args);
}
