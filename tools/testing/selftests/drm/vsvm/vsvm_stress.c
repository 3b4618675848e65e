// SPDX-License-Identifier: GPL-2.0-only
/*
 * vsvm_stress: a seeded, reproducible stress test of GPU shared virtual
 * memory through the vsvm virtual GPU.
 *
 * PROCS processes run THREADS threads each for SECONDS seconds. Every
 * process opens FILES vsvm files (GPU 0, GPU 1, GPU 0, ...), each a GPU VM
 * mirroring the process, and with --dmirror also /dev/hmm_dmirror0 and 1
 * (vsvm loaded with dmirror=1). Every thread owns NSLOTS buffers and a
 * shadow copy of each: it is the only one that changes their content, so
 * it knows what every byte must be. It draws a random mix of operations
 * from its own random stream (seed, process and thread number; the
 * operations of a thread are reproducible, their interleaving is not):
 *
 * - CPU writes and reads; GPU reads, writes, fills, copies and atomic adds,
 *   also in jobs of several operations, with every placement policy, the
 *   data going through scratch memory or through the thread's other
 *   buffers (which may be in VRAM themselves);
 * - migrations to VRAM and back of its own buffers, and of random ranges
 *   that overlap buffers of other threads, holes or anything else: a
 *   migration never changes content, so anyone may migrate anything;
 * - MADV_DONTNEED (the content becomes zero), munmap() and a new mmap()
 *   (zero), mremap() to another address (unchanged), mprotect() read-only,
 *   during which GPU writes must fail with -EPERM or -EFAULT and change
 *   nothing;
 * - fork(): the child compares its copy of a buffer with its copy of the
 *   shadow, checks that the vsvm file refuses it (-EACCES) and scribbles
 *   over the buffer while the parent writes on: copy-on-write must keep
 *   them apart;
 * - with --dmirror, reads, writes, migrations, exclusive access and
 *   snapshots through lib/test_hmm's ioctls.
 *
 * Meanwhile a SIGUSR1 hits a random thread of every process ten times a
 * second: half of the multi-operation jobs are DRM_VSVM_EXEC_INTERRUPTIBLE,
 * which a signal may end early, and the rest is submitted again; every
 * operation must take effect exactly once.
 *
 * The buffers are larger than VRAM (by default 1.5 times the VRAM of one
 * GPU per process), so eviction runs all the time. Each buffer is its own
 * VMA with unmapped pages around it, so GPU SVM ranges never span two
 * owners and one thread's mprotect() or munmap() cannot fail another's
 * accesses.
 *
 * Every check compares every byte with the owner's shadow; a byte that
 * differs is lost. A GPU write that fails part way may have done a prefix
 * of its work: each byte must then be its old or its new value, and the
 * CPU completes the write.
 *
 * Errors that concurrency and VRAM pressure explain are counted but are
 * not failures: -EBUSY, -ENOMEM, -EINTR and -EAGAIN everywhere,
 * -EOPNOTSUPP and -ENOSPC for device-only placement (atomics included),
 * -ENOSPC for migrations, -EFAULT and -EPERM for migrations of random
 * ranges, -ENOENT where test_hmm's ABI reports pages that moved away. Any
 * other error is a failure, and so are a lost byte, a crashed process, a
 * fork child that finds a difference, and a thread that makes no progress
 * for 60 seconds (watchdog).
 *
 * Output: TAP, "1..1" then "ok 1 stress" or "not ok 1 stress"; the
 * diagnostics are "# " lines: the seed first, each failure with the last
 * 16 operations of its thread, and at the end operations per second and
 * errors by errno for each kind of operation, and the bytes lost.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "vsvm_util.h"

/* The ioctl ABI of lib/test_hmm_uapi.h, a header that is not exported. */
struct hmm_dmirror_cmd {
	__u64 addr;
	__u64 ptr;
	__u64 npages;
	__u64 cpages;
	__u64 faults;
};

#define HMM_DMIRROR_READ		_IOWR('H', 0x00, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_WRITE		_IOWR('H', 0x01, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_MIGRATE_TO_DEV	_IOWR('H', 0x02, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_MIGRATE_TO_SYS	_IOWR('H', 0x03, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_SNAPSHOT		_IOWR('H', 0x04, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_EXCLUSIVE		_IOWR('H', 0x05, struct hmm_dmirror_cmd)

#define MAX_PROCS	16
#define MAX_THREADS	32
#define MAX_FILES	8
#define NSLOTS		4		/* buffers per thread */
#define HIST		16		/* operations remembered per thread */
#define NERRNO		160		/* errno counters per kind; the last is "other" */
#define SZ_2M		(2UL << 20)
#define MAX_OP		SZ_2M		/* longest access */
#define SCRATCH		(2 * MAX_OP)	/* two areas of MAX_OP bytes */
#define MAX_MIGRATE	(4 * SZ_2M)	/* longest migration */
#define BATCH_MAX	8		/* operations of a multi-operation job */
#define BATCH_SLICE	(MAX_OP / BATCH_MAX)
#define ATOMIC_MAX	4		/* atomics of one job */
#define DM_MAX_PAGES	64		/* pages of one test_hmm request */
#define MAX_CHILDREN	4		/* fork children alive per thread */
#define MAX_REPORTS	4		/* detailed failure reports per thread */
#define WATCHDOG_MS	60000.0		/* no progress for that long: a hang */
#define TICK_US		100000		/* watchdog period, one signal each */
#define CHILD_MS	45000.0		/* a fork child taking longer hangs */
#define GRACE_MS	240000.0	/* final checks and exit after the run */

enum op_kind {
	K_CPU_WRITE,
	K_CPU_READ,
	K_GPU_READ,
	K_GPU_WRITE,
	K_GPU_FILL,
	K_GPU_COPY,
	K_GPU_ATOMIC,
	K_GPU_BATCH,
	K_MIGRATE_VRAM,
	K_MIGRATE_SYS,
	K_MIGRATE_ANY_VRAM,
	K_MIGRATE_ANY_SYS,
	K_DONTNEED,
	K_REMAP,
	K_MREMAP,
	K_MPROTECT,
	K_FORK,
	K_VERIFY,
	K_STATS,
	K_DM_READ,
	K_DM_WRITE,
	K_DM_TO_DEV,
	K_DM_TO_SYS,
	K_DM_EXCLUSIVE,
	K_DM_SNAPSHOT,
	NKINDS
};

/* @ioctl: the vsvm ioctl whose kernel-doc lists the errors, if any. */
static const struct {
	const char *name;
	unsigned int weight;	/* relative frequency */
	bool dmirror;		/* needs /dev/hmm_dmirror0 and 1 */
	const char *ioctl;
} kinds[NKINDS] = {
	[K_CPU_WRITE]		= { "cpu_write",	100 },
	[K_CPU_READ]		= { "cpu_read",		80 },
	[K_GPU_READ]		= { "gpu_read",		100, false, "EXEC" },
	[K_GPU_WRITE]		= { "gpu_write",	100, false, "EXEC" },
	[K_GPU_FILL]		= { "gpu_fill",		60, false, "EXEC" },
	[K_GPU_COPY]		= { "gpu_copy",		40, false, "EXEC" },
	[K_GPU_ATOMIC]		= { "gpu_atomic",	80, false, "EXEC" },
	[K_GPU_BATCH]		= { "gpu_batch",	40, false, "EXEC" },
	[K_MIGRATE_VRAM]	= { "migrate_vram",	60, false, "MIGRATE" },
	[K_MIGRATE_SYS]		= { "migrate_sys",	40, false, "MIGRATE" },
	[K_MIGRATE_ANY_VRAM]	= { "migrate_any_vram",	30, false, "MIGRATE" },
	[K_MIGRATE_ANY_SYS]	= { "migrate_any_sys",	30, false, "MIGRATE" },
	[K_DONTNEED]		= { "madv_dontneed",	20 },
	[K_REMAP]		= { "munmap_mmap",	8 },
	[K_MREMAP]		= { "mremap",		8 },
	[K_MPROTECT]		= { "mprotect_ro",	10 },
	[K_FORK]		= { "fork",		2 },
	[K_VERIFY]		= { "verify",		10 },
	[K_STATS]		= { "stats",		5 },
	[K_DM_READ]		= { "dm_read",		30, true },
	[K_DM_WRITE]		= { "dm_write",		30, true },
	[K_DM_TO_DEV]		= { "dm_migrate_dev",	15, true },
	[K_DM_TO_SYS]		= { "dm_migrate_sys",	15, true },
	[K_DM_EXCLUSIVE]	= { "dm_exclusive",	10, true },
	[K_DM_SNAPSHOT]		= { "dm_snapshot",	10, true },
};

/* Counters of one process, in memory shared with the main process. */
struct kind_stats {
	__u64 ops;
	__u64 failures;
	__u64 lost;
	__u64 partial;		/* jobs a signal ended early */
	__u64 err_ok[NERRNO];	/* errors concurrency explains */
	__u64 err_bad[NERRNO];	/* errors that are failures */
};

struct proc_stats {
	struct kind_stats kind[NKINDS];
	__u64 bytes_lost;
	__u64 failures;
	__u64 signals;
	__u64 op_start_ms;
};

static struct {
	unsigned int secs, procs, threads, files, ngpus;
	unsigned long long seed;
	unsigned long mem_mib;
	bool dmirror;
} cfg = { .secs = 600, .procs = 3, .threads = 4, .files = 2 };

static size_t page_size;
static double run_start, stop_at;
static struct proc_stats *shm_stats;

/* One operation of a thread, for the history printed with a failure. */
struct op_rec {
	double t;
	unsigned long n;
	const char *what;
	long off;		/* negative before the start of a buffer */
	size_t len;
	int slot, file, policy, owner, err;
};

struct slot {
	unsigned char *addr;	/* READ_ONCE() by threads migrating it */
	size_t size;
	unsigned char *shadow;	/* what the owner last wrote */
};

struct thr {
	int idx;
	pid_t tid;
	pthread_t pt;
	__u64 rng;
	struct slot slot[NSLOTS];
	unsigned char *scratch;
	unsigned long nops;
	struct op_rec hist[HIST];
	unsigned int reports;
	pid_t child[MAX_CHILDREN];
	int child_slot[MAX_CHILDREN];
	double child_t[MAX_CHILDREN];
	unsigned int nchildren;
	__u64 beat;		/* ms of the last progress */
	int done;
	bool stop;		/* a fatal failure: no more operations */
	bool broken;		/* a buffer is gone: no final check */
};

/* The worker process. */
static struct {
	int idx;
	int fd[MAX_FILES];
	int dm[2];
	unsigned int ndm;
	struct thr *thr;
	struct proc_stats *st;
	pthread_barrier_t ready;
	unsigned int total_weight;
} proc;

static double now_ms(void)
{
	return vsvm_now_ms();
}

static void add(__u64 *counter, __u64 val)
{
	__atomic_fetch_add(counter, val, __ATOMIC_RELAXED);
}

static void write_all(const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(STDOUT_FILENO, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= n;
	}
}

/* Diagnostic lines gathered and written with one write(). */
struct sbuf {
	char buf[16384];
	size_t len;
};

static __printf(2, 3) void sb_line(struct sbuf *sb, const char *fmt, ...)
{
	size_t avail;
	va_list ap;
	int n;

	if (sb->len + 4 > sizeof(sb->buf))
		return;
	avail = sizeof(sb->buf) - sb->len - 3;
	sb->buf[sb->len++] = '#';
	sb->buf[sb->len++] = ' ';
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, avail + 1, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb->len += (size_t)n < avail ? (size_t)n : avail;
	sb->buf[sb->len++] = '\n';
}

static void sb_flush(struct sbuf *sb)
{
	write_all(sb->buf, sb->len);
	sb->len = 0;
}

static __printf(1, 2) void diag(const char *fmt, ...)
{
	static __thread struct sbuf sb;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sb.len = 0;
	sb_line(&sb, "%s", msg);
	sb_flush(&sb);
}

static void say(const char *line)
{
	write_all(line, strlen(line));
}

static const struct {
	int err;
	const char *name;
} errnames[] = {
	{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { ESRCH, "ESRCH" },
	{ EINTR, "EINTR" }, { EIO, "EIO" }, { ENXIO, "ENXIO" },
	{ EBADF, "EBADF" }, { ECHILD, "ECHILD" }, { EAGAIN, "EAGAIN" },
	{ ENOMEM, "ENOMEM" }, { EACCES, "EACCES" }, { EFAULT, "EFAULT" },
	{ EBUSY, "EBUSY" }, { EEXIST, "EEXIST" }, { ENODEV, "ENODEV" },
	{ EINVAL, "EINVAL" }, { ENOSPC, "ENOSPC" }, { ENOTTY, "ENOTTY" },
	{ ERANGE, "ERANGE" }, { EOPNOTSUPP, "EOPNOTSUPP" },
	{ ETIMEDOUT, "ETIMEDOUT" }, { EOVERFLOW, "EOVERFLOW" },
};

static const char *errname(int err)
{
	static __thread char buf[16];
	unsigned int i;

	if (!err)
		return "0";
	if (err < 0)
		return "(in progress)";
	for (i = 0; i < ARRAY_SIZE(errnames); i++)
		if (errnames[i].err == err)
			return errnames[i].name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

static const char *policy_name(int policy)
{
	switch (policy) {
	case DRM_VSVM_POLICY_SYSTEM:
		return "system";
	case DRM_VSVM_POLICY_DEVICE:
		return "device";
	}
	return "migrate";
}

/* Random numbers: splitmix64 seeds the xorshift64* stream of a thread. */
static __u64 splitmix64(__u64 *x)
{
	__u64 z;

	*x += 0x9e3779b97f4a7c15ULL;
	z = *x;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static __u64 rnd(struct thr *t)
{
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return t->rng * 0x2545f4914f6cdd1dULL;
}

static __u64 below(struct thr *t, __u64 n)
{
	return n ? rnd(t) % n : 0;
}

static void rnd_fill(struct thr *t, unsigned char *p, size_t len)
{
	size_t i;
	__u64 v;

	for (i = 0; i + 8 <= len; i += 8) {
		v = rnd(t);
		memcpy(p + i, &v, 8);
	}
	if (i < len) {
		v = rnd(t);
		memcpy(p + i, &v, len - i);
	}
}

/*
 * @size bytes of private anonymous memory with at least one unmapped page
 * on each side, so that they never share a VMA, and thus never a GPU SVM
 * range, with other memory: only mappings of up to 4 MiB could fill the
 * holes, and this program makes none. Starts on a 2 MiB boundary, or
 * @misalign pages (at most 510) past one.
 */
static unsigned char *map_isolated(size_t size, size_t misalign)
{
	size_t len = size + 2 * SZ_2M;
	unsigned char *p, *start;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	start = (unsigned char *)(((unsigned long)p + page_size + SZ_2M - 1) &
				  ~(SZ_2M - 1));
	start += misalign * page_size;
	munmap(p, start - p);
	munmap(start + size, p + len - (start + size));

	return start;
}

static size_t pick_misalign(struct thr *t)
{
	return below(t, 2) ? below(t, SZ_2M / page_size - 1) : 0;
}

/* Remember an operation; the caller fills in what else applies. */
static struct op_rec *rec(struct thr *t, const char *what, int slot,
			  long off, size_t len)
{
	struct op_rec *r = &t->hist[t->nops % HIST];

	memset(r, 0, sizeof(*r));
	r->n = ++t->nops;
	r->t = (now_ms() - run_start) / 1000;
	r->what = what;
	r->slot = slot;
	r->off = off;
	r->len = len;
	r->file = -1;
	r->policy = -1;
	r->owner = -1;
	r->err = -1;

	return r;
}

static void sb_history(struct sbuf *sb, struct thr *t)
{
	unsigned long i, n = t->nops, first = n > HIST ? n - HIST : 0;

	sb_line(sb, "  last %lu operations of p%d/t%d, oldest first:", n - first,
		proc.idx, t->idx);
	for (i = first; i < n; i++) {
		const struct op_rec *r = &t->hist[i % HIST];
		char file[64] = "", owner[24] = "";

		if (r->file >= 100)
			snprintf(file, sizeof(file), " hmm_dmirror%d", r->file - 100);
		else if (r->file >= 0 && r->policy >= 0)
			snprintf(file, sizeof(file), " file %d (GPU %u) policy %s",
				 r->file, r->file % cfg.ngpus,
				 policy_name(r->policy));
		else if (r->file >= 0)
			snprintf(file, sizeof(file), " file %d (GPU %u)", r->file,
				 r->file % cfg.ngpus);
		if (r->owner >= 0)
			snprintf(owner, sizeof(owner), " of t%d", r->owner);
		sb_line(sb, "    #%lu %.3fs %s slot %d%s %c%#lx len %#zx%s -> %s",
			r->n, r->t, r->what, r->slot, owner, r->off < 0 ? '-' : '+',
			r->off < 0 ? -r->off : r->off, r->len, file,
			errname(r->err));
	}
}

/* A failure of thread @t, reported with its recent operations. */
static __printf(3, 4) void fail(struct thr *t, enum op_kind kind,
				const char *fmt, ...)
{
	static __thread struct sbuf sb;
	char msg[512];
	va_list ap;

	add(&proc.st->kind[kind].failures, 1);
	add(&proc.st->failures, 1);
	if (t->reports >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sb.len = 0;
	sb_line(&sb, "FAIL p%d/t%d (seed %llu): %s: %s", proc.idx, t->idx,
		cfg.seed, kinds[kind].name, msg);
	sb_history(&sb, t);
	if (++t->reports == MAX_REPORTS)
		sb_line(&sb, "  (further reports of p%d/t%d are only counted)",
			proc.idx, t->idx);
	sb_flush(&sb);
}

static void count_err(enum op_kind kind, int err, bool ok)
{
	struct kind_stats *ks = &proc.st->kind[kind];
	int e = err > 0 && err < NERRNO ? err : NERRNO - 1;

	add(ok ? &ks->err_ok[e] : &ks->err_bad[e], 1);
}

/* Account error @err (positive, or 0) of @what; a failure unless @ok. */
static void outcome(struct thr *t, enum op_kind kind, int err, bool ok,
		    const char *what)
{
	if (!err)
		return;
	count_err(kind, err, ok);
	if (!ok)
		fail(t, kind, "%s: unexpected error %s", what, errname(err));
}

/* Errors of a GPU job that concurrency and VRAM pressure explain. */
static bool exec_ok(int err, unsigned int policy)
{
	switch (err) {
	case EBUSY:
	case ENOMEM:
	case EINTR:
	case EAGAIN:
		return true;
	case EOPNOTSUPP:
	case ENOSPC:
		return policy == DRM_VSVM_POLICY_DEVICE;
	}
	return false;
}

/*
 * Errors of a migration that concurrency and VRAM pressure explain; a
 * random range (@any) may also cover holes and PROT_NONE memory.
 */
static bool migrate_ok(int err, bool any)
{
	switch (err) {
	case EBUSY:
	case ENOMEM:
	case ENOSPC:
	case EINTR:
	case EAGAIN:
		return true;
	case EFAULT:
	case EPERM:
		return any;
	}
	return false;
}

/* Errors of test_hmm's ioctls that concurrency explains. */
static bool dm_ok(int err, enum op_kind kind)
{
	switch (err) {
	case EBUSY:
	case ENOMEM:
	case EINTR:
	case EAGAIN:
		return true;
	case ENOSPC:
		return kind == K_DM_TO_DEV;
	case ENOENT:
		/* Not all pages in this device, or no longer exclusive. */
		return kind == K_DM_TO_DEV || kind == K_DM_EXCLUSIVE;
	}
	return false;
}

/* Accepted errors that the uAPI kernel-doc does not list for the ioctl. */
static bool undocumented(enum op_kind kind, int err)
{
	if (!kinds[kind].ioctl)
		return false;
	if (!strcmp(kinds[kind].ioctl, "EXEC"))
		return err == ENOSPC || err == EAGAIN;
	return err != EFAULT && err != ENOMEM && err != EINVAL &&
	       err != EACCES && err != EINTR;
}

/*
 * @len bytes @got compared with @want, the shadow of slot @s at @off.
 * Returns the number of bytes lost, after reporting them.
 */
static size_t lost(struct thr *t, enum op_kind kind, int s, size_t off,
		   const unsigned char *got, const unsigned char *want,
		   size_t len, const char *how)
{
	size_t i, bad = 0, first = 0;

	if (!memcmp(got, want, len))
		return 0;
	for (i = 0; i < len; i++) {
		if (got[i] == want[i])
			continue;
		if (!bad)
			first = i;
		bad++;
	}
	add(&proc.st->bytes_lost, bad);
	add(&proc.st->kind[kind].lost, bad);
	fail(t, kind,
	     "LOST %zu/%zu bytes (%s): slot %d %p+%#zx, first +%#zx: %#04x, want %#04x",
	     bad, len, how, s, (void *)t->slot[s].addr, off, off + first,
	     got[first], want[first]);

	return bad;
}

/*
 * Check @len bytes of slot @s at @off as read into @got, or in memory if
 * @got is NULL. A loss is counted once: then the shadow takes what the CPU
 * sees.
 */
static void check(struct thr *t, enum op_kind kind, int s, size_t off,
		  size_t len, const unsigned char *got, const char *how)
{
	struct slot *sl = &t->slot[s];
	unsigned char *mem = sl->addr + off;

	if (lost(t, kind, s, off, got ? got : mem, sl->shadow + off, len, how))
		memcpy(sl->shadow + off, mem, len);
}

/* A write of @val over @len bytes of slot @s at @off succeeded. */
static void commit(struct thr *t, int s, size_t off, const unsigned char *val,
		   size_t len)
{
	memcpy(t->slot[s].shadow + off, val, len);
}

/*
 * A write of @val over @len bytes of slot @s at @off failed: it may have
 * done part of its work. Every byte must be its old or its new value; then
 * the CPU completes the write.
 */
static void settle(struct thr *t, enum op_kind kind, int s, size_t off,
		   const unsigned char *val, size_t len, const char *how)
{
	struct slot *sl = &t->slot[s];
	unsigned char *mem = sl->addr + off, *old = sl->shadow + off;
	size_t i, bad = 0, first = 0;

	for (i = 0; i < len; i++) {
		if (mem[i] == old[i] || mem[i] == val[i])
			continue;
		if (!bad)
			first = i;
		bad++;
	}
	if (bad) {
		add(&proc.st->bytes_lost, bad);
		add(&proc.st->kind[kind].lost, bad);
		fail(t, kind,
		     "LOST %zu/%zu bytes (%s): slot %d %p+%#zx, first +%#zx: %#04x, old %#04x, new %#04x",
		     bad, len, how, s, (void *)sl->addr, off, off + first,
		     mem[first], old[first], val[first]);
	}
	memcpy(mem, val, len);
	memcpy(old, val, len);
}

static int pick_slot(struct thr *t)
{
	return below(t, NSLOTS);
}

static int pick_file(struct thr *t)
{
	return below(t, cfg.files);
}

static unsigned int pick_policy(struct thr *t)
{
	__u64 r = below(t, 20);

	if (r < 12)
		return DRM_VSVM_POLICY_MIGRATE;
	if (r < 17)
		return DRM_VSVM_POLICY_SYSTEM;
	return DRM_VSVM_POLICY_DEVICE;
}

/* Length of an access: mostly short, sometimes up to MAX_OP; at most @max. */
static size_t pick_len(struct thr *t, size_t max)
{
	__u64 r = below(t, 100);
	size_t len;

	if (r < 45)
		len = 1 + below(t, 256);
	else if (r < 80)
		len = 1 + below(t, 64 << 10);
	else
		len = 1 + below(t, MAX_OP);

	return len < max ? len : max;
}

/* A region of slot @s, @align-aligned (offset and length), of at most @max. */
static void pick_region(struct thr *t, int s, size_t align, size_t max,
			size_t *off, size_t *len)
{
	size_t size = t->slot[s].size, l;

	if (max > size)
		max = size;
	l = pick_len(t, max);
	l = (l + align - 1) / align * align;
	if (l > max)
		l = max / align * align;
	*off = below(t, (size - l) / align + 1) * align;
	*len = l;
}

/* A region of @len bytes of any slot not overlapping slot @s at @off. */
static bool pick_disjoint(struct thr *t, int s, size_t off, size_t len,
			  int *d, size_t *doff)
{
	int ds = pick_slot(t);
	size_t size = t->slot[ds].size, o;

	if (size < len)
		return false;
	o = below(t, size - len + 1);
	if (ds == s && o < off + len && off < o + len)
		return false;
	*d = ds;
	*doff = o;

	return true;
}

/* Run a job; returns 0 or a positive errno, and how many ops completed. */
static int exec_job(int fd, struct drm_vsvm_op *ops, unsigned int n,
		    unsigned int policy, __u32 *completed)
{
	struct drm_vsvm_exec e;
	int err = 0;

	memset(&e, 0, sizeof(e));
	e.ops = (__u64)(unsigned long)ops;
	e.num_ops = n;
	e.flags = policy;
	if (ioctl(fd, DRM_IOCTL_VSVM_EXEC, &e))
		err = errno;
	if (completed)
		*completed = e.completed;

	return err;
}

static int gpu_op(int fd, __u32 code, void *gpu, size_t size, __u64 data,
		  unsigned int policy)
{
	struct drm_vsvm_op op;

	memset(&op, 0, sizeof(op));
	op.code = code;
	op.gpu_addr = (__u64)(unsigned long)gpu;
	op.size = size;
	op.data = data;

	return exec_job(fd, &op, 1, policy, NULL);
}

/*
 * Run a job of @n ops, with DRM_VSVM_EXEC_INTERRUPTIBLE if @intr: a signal
 * may then end it early (0, fewer ops completed) and the rest is submitted
 * again. Returns 0 or a positive errno; @done is how many ops completed,
 * on error the index of the failing one (which may have done part of its
 * work). Ops from @done on did nothing.
 */
static int exec_all(struct thr *t, enum op_kind kind, int fd,
		    struct drm_vsvm_op *ops, unsigned int n,
		    unsigned int policy, bool intr, unsigned int *done)
{
	unsigned int base = 0;
	__u32 completed;
	int err;

	if (intr)
		policy |= DRM_VSVM_EXEC_INTERRUPTIBLE;
	do {
		completed = 0;
		err = exec_job(fd, ops + base, n - base, policy, &completed);
		if (completed > n - base) {
			fail(t, kind, "job of %u ops: %u completed", n - base,
			     completed);
			completed = 0;
			err = err ?: EOVERFLOW;
		} else if (!err && completed < n - base) {
			add(&proc.st->kind[kind].partial, 1);
			if (!completed || !intr) {
				fail(t, kind, "job ended after %u of %u ops without error%s",
				     completed, n - base,
				     intr ? "" : ", not interruptible");
				base += completed;
				break;
			}
		}
		base += completed;
	} while (!err && base < n);
	*done = base;

	return err;
}

static int migrate(int fd, void *start, size_t size, __u32 target)
{
	struct drm_vsvm_migrate m;

	memset(&m, 0, sizeof(m));
	m.start = (__u64)(unsigned long)start;
	m.size = size;
	m.target = target;

	return ioctl(fd, DRM_IOCTL_VSVM_MIGRATE, &m) ? errno : 0;
}

static int dm_cmd(int fd, unsigned long req, void *addr, size_t npages,
		  void *ptr)
{
	struct hmm_dmirror_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.addr = (__u64)(unsigned long)addr;
	cmd.ptr = (__u64)(unsigned long)ptr;
	cmd.npages = npages;

	return ioctl(fd, req, &cmd) ? errno : 0;
}

static void op_cpu_write(struct thr *t)
{
	int s = pick_slot(t);
	struct slot *sl = &t->slot[s];
	bool sparse = !below(t, 4);
	size_t off, len, i;

	pick_region(t, s, 1, MAX_OP, &off, &len);
	rec(t, sparse ? "cpu_write/page" : "cpu_write", s, off, len);
	if (!sparse) {
		rnd_fill(t, sl->shadow + off, len);
		memcpy(sl->addr + off, sl->shadow + off, len);
		return;
	}
	/* One byte per page: a CPU fault on every page. */
	for (i = 0; i < len; i += page_size) {
		sl->shadow[off + i] = rnd(t);
		sl->addr[off + i] = sl->shadow[off + i];
	}
}

static void op_cpu_read(struct thr *t)
{
	int s = pick_slot(t);
	size_t off, len;

	pick_region(t, s, 1, MAX_OP, &off, &len);
	rec(t, "cpu_read", s, off, len);
	check(t, K_CPU_READ, s, off, len, NULL, "CPU read");
}

/*
 * The GPU reads a region into scratch memory and the data is checked, or
 * into another region of the thread's buffers, which then holds a copy.
 */
static void op_gpu_read(struct thr *t)
{
	int s = pick_slot(t), f = pick_file(t), d = 0;
	unsigned int policy = pick_policy(t);
	bool to_slot = !below(t, 4), verify = !below(t, 4);
	unsigned char *exp = t->scratch + MAX_OP, *dst = t->scratch;
	struct slot *sl = &t->slot[s];
	size_t off, len, doff = 0;
	struct op_rec *r;
	int err;

	pick_region(t, s, 1, MAX_OP, &off, &len);
	if (to_slot && !pick_disjoint(t, s, off, len, &d, &doff))
		to_slot = false;
	r = rec(t, to_slot ? "gpu_read>buffer" : "gpu_read", s, off, len);
	r->file = f;
	r->policy = policy;
	if (to_slot) {
		memcpy(exp, sl->shadow + off, len);
		dst = t->slot[d].addr + doff;
	}
	err = gpu_op(proc.fd[f], DRM_VSVM_OP_READ, sl->addr + off, len,
		     (unsigned long)dst, policy);
	r->err = err;
	outcome(t, K_GPU_READ, err, exec_ok(err, policy), "GPU read");
	if (!to_slot) {
		if (!err)
			check(t, K_GPU_READ, s, off, len, dst, "GPU read");
		return;
	}
	if (err) {
		settle(t, K_GPU_READ, d, doff, exp, len,
		       "buffer a failed GPU read wrote to");
		return;
	}
	commit(t, d, doff, exp, len);
	if (verify)
		check(t, K_GPU_READ, d, doff, len, NULL,
		      "buffer a GPU read wrote to");
}

/*
 * The GPU writes @exp (from @src, which holds the same bytes) to @len
 * bytes of slot @s at @off.
 */
static void gpu_write(struct thr *t, enum op_kind kind, int s, size_t off,
		      size_t len, int f, unsigned int policy,
		      const unsigned char *exp, const void *src, bool verify)
{
	struct op_rec *r;
	int err;

	r = rec(t, src == exp ? "gpu_write" : "gpu_write<buffer", s, off, len);
	r->file = f;
	r->policy = policy;
	err = gpu_op(proc.fd[f], DRM_VSVM_OP_WRITE, t->slot[s].addr + off, len,
		     (unsigned long)src, policy);
	r->err = err;
	outcome(t, kind, err, exec_ok(err, policy), "GPU write");
	if (err) {
		settle(t, kind, s, off, exp, len, "failed GPU write");
		return;
	}
	commit(t, s, off, exp, len);
	if (verify)
		check(t, kind, s, off, len, NULL, "GPU write");
}

static void op_gpu_write(struct thr *t)
{
	int s = pick_slot(t), f = pick_file(t), d = 0;
	unsigned int policy = pick_policy(t);
	bool from_slot = !below(t, 4), verify = !below(t, 4);
	unsigned char *exp = t->scratch;
	size_t off, len, doff = 0;

	pick_region(t, s, 1, MAX_OP, &off, &len);
	if (from_slot && !pick_disjoint(t, s, off, len, &d, &doff))
		from_slot = false;
	if (!from_slot) {
		rnd_fill(t, exp, len);
		gpu_write(t, K_GPU_WRITE, s, off, len, f, policy, exp, exp, verify);
		return;
	}
	memcpy(exp, t->slot[d].shadow + doff, len);
	gpu_write(t, K_GPU_WRITE, s, off, len, f, policy, exp,
		  t->slot[d].addr + doff, verify);
}

static void op_gpu_fill(struct thr *t)
{
	int s = pick_slot(t), f = pick_file(t);
	unsigned int policy = pick_policy(t);
	unsigned char *exp = t->scratch;
	bool verify = !below(t, 4);
	__u64 pattern = rnd(t);
	size_t off, len, i;
	struct op_rec *r;
	int err;

	pick_region(t, s, 8, MAX_OP, &off, &len);
	for (i = 0; i < len; i += 8)
		memcpy(exp + i, &pattern, 8);
	r = rec(t, "gpu_fill", s, off, len);
	r->file = f;
	r->policy = policy;
	err = gpu_op(proc.fd[f], DRM_VSVM_OP_FILL, t->slot[s].addr + off, len,
		     pattern, policy);
	r->err = err;
	outcome(t, K_GPU_FILL, err, exec_ok(err, policy), "GPU fill");
	if (err) {
		settle(t, K_GPU_FILL, s, off, exp, len, "failed GPU fill");
		return;
	}
	commit(t, s, off, exp, len);
	if (verify)
		check(t, K_GPU_FILL, s, off, len, NULL, "GPU fill");
}

static void op_gpu_copy(struct thr *t)
{
	int s = pick_slot(t), f = pick_file(t), d;
	unsigned int policy = pick_policy(t);
	unsigned char *exp = t->scratch;
	bool verify = !below(t, 4);
	size_t off, len, doff;
	struct op_rec *r;
	int err;

	pick_region(t, s, 1, MAX_OP, &off, &len);
	if (!pick_disjoint(t, s, off, len, &d, &doff))
		return;
	memcpy(exp, t->slot[d].shadow + doff, len);
	r = rec(t, "gpu_copy", s, off, len);
	r->file = f;
	r->policy = policy;
	err = gpu_op(proc.fd[f], DRM_VSVM_OP_COPY, t->slot[s].addr + off, len,
		     (unsigned long)(t->slot[d].addr + doff), policy);
	r->err = err;
	outcome(t, K_GPU_COPY, err, exec_ok(err, policy), "GPU copy");
	if (err) {
		settle(t, K_GPU_COPY, s, off, exp, len, "failed GPU copy");
		return;
	}
	commit(t, s, off, exp, len);
	if (verify)
		check(t, K_GPU_COPY, s, off, len, NULL, "GPU copy");
}

/*
 * A job of atomic adds on owned u64s: each returns the value the shadow
 * holds (earlier adds of the job included). A failed atomic adds nothing.
 */
static void op_gpu_atomic(struct thr *t)
{
	struct drm_vsvm_op ops[ATOMIC_MAX];
	unsigned int n = 1 + below(t, ATOMIC_MAX), i, done;
	int slots[ATOMIC_MAX], f = pick_file(t);
	unsigned int policy = pick_policy(t);
	bool intr = below(t, 2);
	size_t offs[ATOMIC_MAX];
	struct op_rec *r;
	__u64 old, val;
	int err;

	memset(ops, 0, sizeof(ops));
	for (i = 0; i < n; i++) {
		slots[i] = pick_slot(t);
		offs[i] = below(t, t->slot[slots[i]].size / 8) * 8;
		ops[i].code = DRM_VSVM_OP_ATOMIC_ADD;
		ops[i].gpu_addr = (unsigned long)(t->slot[slots[i]].addr + offs[i]);
		ops[i].size = 8;
		ops[i].data = rnd(t) >> below(t, 64);
	}
	r = rec(t, "gpu_atomic", slots[0], offs[0], n * 8);
	r->file = f;
	r->policy = policy;
	err = exec_all(t, K_GPU_ATOMIC, proc.fd[f], ops, n, policy, intr, &done);
	r->err = err;
	outcome(t, K_GPU_ATOMIC, err, exec_ok(err, DRM_VSVM_POLICY_DEVICE),
		"GPU atomic add");
	for (i = 0; i < done; i++) {
		struct slot *sl = &t->slot[slots[i]];

		memcpy(&old, sl->shadow + offs[i], 8);
		if (ops[i].result != old) {
			lost(t, K_GPU_ATOMIC, slots[i], offs[i],
			     (unsigned char *)&ops[i].result,
			     (unsigned char *)&old, 8,
			     "value an atomic add returned");
			memcpy(sl->shadow + offs[i], sl->addr + offs[i], 8);
			continue;
		}
		val = old + ops[i].data;
		memcpy(sl->shadow + offs[i], &val, 8);
	}
}

/*
 * A job of reads, writes and fills of owned regions, possibly overlapping:
 * replayed in order against the shadow. On failure the operations before
 * the failing one completed, the failing one did part of its work, the
 * ones after it did nothing.
 */
static void op_gpu_batch(struct thr *t)
{
	struct drm_vsvm_op ops[BATCH_MAX];
	unsigned int n = 2 + below(t, BATCH_MAX - 1), i, done;
	int slots[BATCH_MAX], f = pick_file(t);
	unsigned int policy = pick_policy(t);
	size_t offs[BATCH_MAX], lens[BATCH_MAX], j;
	bool intr = below(t, 2);
	struct op_rec *r;
	int err;

	memset(ops, 0, sizeof(ops));
	for (i = 0; i < n; i++) {
		unsigned char *buf = t->scratch + i * BATCH_SLICE;
		unsigned char *exp = t->scratch + MAX_OP + i * BATCH_SLICE;
		__u32 code = DRM_VSVM_OP_READ + below(t, 3);

		slots[i] = pick_slot(t);
		pick_region(t, slots[i], code == DRM_VSVM_OP_FILL ? 8 : 1,
			    BATCH_SLICE, &offs[i], &lens[i]);
		ops[i].code = code;
		ops[i].gpu_addr = (unsigned long)(t->slot[slots[i]].addr + offs[i]);
		ops[i].size = lens[i];
		if (code == DRM_VSVM_OP_READ) {
			ops[i].data = (unsigned long)buf;
		} else if (code == DRM_VSVM_OP_WRITE) {
			rnd_fill(t, exp, lens[i]);
			ops[i].data = (unsigned long)exp;
		} else {
			ops[i].data = rnd(t);
			for (j = 0; j < lens[i]; j += 8)
				memcpy(exp + j, &ops[i].data, 8);
		}
	}
	r = rec(t, "gpu_batch", slots[0], offs[0], n);
	r->file = f;
	r->policy = policy;
	err = exec_all(t, K_GPU_BATCH, proc.fd[f], ops, n, policy, intr, &done);
	r->err = err;
	outcome(t, K_GPU_BATCH, err, exec_ok(err, policy), "GPU job");
	for (i = 0; i <= done && i < n; i++) {
		unsigned char *exp = t->scratch + MAX_OP + i * BATCH_SLICE;
		struct slot *sl = &t->slot[slots[i]];

		if (i == done) {
			if (err && ops[i].code != DRM_VSVM_OP_READ)
				settle(t, K_GPU_BATCH, slots[i], offs[i], exp,
				       lens[i], "failed operation of a GPU job");
			break;
		}
		if (ops[i].code == DRM_VSVM_OP_READ)
			lost(t, K_GPU_BATCH, slots[i], offs[i],
			     t->scratch + i * BATCH_SLICE, sl->shadow + offs[i],
			     lens[i], "read of a GPU job");
		else
			commit(t, slots[i], offs[i], exp, lens[i]);
	}
}

static void op_migrate(struct thr *t, __u32 target)
{
	enum op_kind kind = target == DRM_VSVM_MIGRATE_TO_VRAM ?
			    K_MIGRATE_VRAM : K_MIGRATE_SYS;
	int s = pick_slot(t), f = pick_file(t);
	bool whole = !below(t, 5);
	struct op_rec *r;
	size_t off, len;
	int err;

	pick_region(t, s, page_size, MAX_MIGRATE, &off, &len);
	if (whole) {
		off = 0;
		len = t->slot[s].size;
	}
	r = rec(t, kinds[kind].name, s, off, len);
	r->file = f;
	err = migrate(proc.fd[f], t->slot[s].addr + off, len, target);
	r->err = err;
	outcome(t, kind, err, migrate_ok(err, false), "migration");
}

/*
 * Migrate a random range around a buffer of any thread: it may start in
 * the hole before it, run past its end, or hit memory that its owner is
 * remapping. Content never changes.
 */
static void op_migrate_any(struct thr *t, __u32 target)
{
	enum op_kind kind = target == DRM_VSVM_MIGRATE_TO_VRAM ?
			    K_MIGRATE_ANY_VRAM : K_MIGRATE_ANY_SYS;
	int u = below(t, cfg.threads), v = below(t, NSLOTS), f = pick_file(t);
	struct slot *sl = &proc.thr[u].slot[v];
	size_t first = below(t, sl->size / page_size + 2);
	size_t len = (1 + below(t, MAX_MIGRATE / page_size)) * page_size;
	unsigned char *base = READ_ONCE(sl->addr), *start;
	struct op_rec *r;
	int err;

	if (!base)
		return;
	start = base - 2 * page_size + first * page_size;
	r = rec(t, kinds[kind].name, v, (long)(start - base), len);
	r->owner = u;
	r->file = f;
	err = migrate(proc.fd[f], start, len, target);
	r->err = err;
	outcome(t, kind, err, migrate_ok(err, true), "migration of a random range");
}

static void op_dontneed(struct thr *t)
{
	int s = pick_slot(t);
	struct slot *sl = &t->slot[s];
	bool whole = !below(t, 8), verify = !below(t, 4);
	struct op_rec *r;
	size_t off, len;

	pick_region(t, s, page_size, MAX_MIGRATE, &off, &len);
	if (whole) {
		off = 0;
		len = sl->size;
	}
	r = rec(t, "madv_dontneed", s, off, len);
	if (madvise(sl->addr + off, len, MADV_DONTNEED)) {
		r->err = errno;
		count_err(K_DONTNEED, r->err, false);
		fail(t, K_DONTNEED, "madvise(MADV_DONTNEED): %s", errname(r->err));
		return;
	}
	memset(sl->shadow + off, 0, len);
	if (verify)
		check(t, K_DONTNEED, s, off, len, NULL, "after MADV_DONTNEED");
}

/* Replace slot @s by new, zeroed memory. */
static void op_remap(struct thr *t)
{
	int s = pick_slot(t);
	struct slot *sl = &t->slot[s];
	size_t misalign = pick_misalign(t);
	bool refill = below(t, 2);
	unsigned char *p;
	struct op_rec *r;

	r = rec(t, "munmap_mmap", s, 0, sl->size);
	if (munmap(sl->addr, sl->size)) {
		r->err = errno;
		count_err(K_REMAP, r->err, false);
		fail(t, K_REMAP, "munmap: %s", errname(r->err));
		return;
	}
	p = map_isolated(sl->size, misalign);
	if (!p) {
		r->err = errno;
		count_err(K_REMAP, r->err, false);
		fail(t, K_REMAP, "mmap of %zu bytes: %s", sl->size,
		     errname(r->err));
		t->stop = true;
		t->broken = true;
		return;
	}
	WRITE_ONCE(sl->addr, p);
	memset(sl->shadow, 0, sl->size);
	if (refill) {
		rnd_fill(t, sl->shadow, sl->size);
		memcpy(p, sl->shadow, sl->size);
	}
}

/* Move slot @s to a new address: the content moves with it. */
static void op_mremap(struct thr *t)
{
	int s = pick_slot(t);
	struct slot *sl = &t->slot[s];
	size_t misalign = pick_misalign(t);
	bool verify = !below(t, 4);
	unsigned char *dst, *p;
	struct op_rec *r;

	r = rec(t, "mremap", s, 0, sl->size);
	dst = map_isolated(sl->size, misalign);
	if (!dst) {
		r->err = errno;
		count_err(K_MREMAP, r->err, false);
		fail(t, K_MREMAP, "mmap of %zu bytes: %s", sl->size,
		     errname(r->err));
		return;
	}
	p = mremap(sl->addr, sl->size, sl->size, MREMAP_MAYMOVE | MREMAP_FIXED,
		   dst);
	if (p == MAP_FAILED) {
		r->err = errno;
		count_err(K_MREMAP, r->err, false);
		fail(t, K_MREMAP, "mremap: %s", errname(r->err));
		munmap(dst, sl->size);
		return;
	}
	WRITE_ONCE(sl->addr, p);
	if (verify)
		check(t, K_MREMAP, s, 0, sl->size, NULL, "after mremap");
}

/*
 * Make slot @s read-only for a few operations: GPU writes and fills must
 * fail with -EPERM (or -EFAULT) and change nothing, GPU reads and
 * migrations work as before.
 */
static void op_mprotect(struct thr *t)
{
	int s = pick_slot(t);
	unsigned int n = 1 + below(t, 3), i;
	struct slot *sl = &t->slot[s];
	struct op_rec *r;

	r = rec(t, "mprotect(PROT_READ)", s, 0, sl->size);
	if (mprotect(sl->addr, sl->size, PROT_READ)) {
		r->err = errno;
		count_err(K_MPROTECT, r->err, false);
		fail(t, K_MPROTECT, "mprotect(PROT_READ): %s", errname(r->err));
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned int sub = below(t, 4), policy = pick_policy(t);
		__u64 pattern = rnd(t);
		size_t off, len, poff, plen;
		int f = pick_file(t), err;

		pick_region(t, s, 8, MAX_OP, &off, &len);
		poff = off / page_size * page_size;
		plen = (off + len + page_size - 1) / page_size * page_size - poff;
		if (sub == 3) {
			r = rec(t, "migrate(read-only)", s, poff, plen);
			r->file = f;
			err = migrate(proc.fd[f], sl->addr + poff, plen,
				      pattern & 1);
			r->err = err;
			outcome(t, K_MPROTECT, err, migrate_ok(err, false),
				"migration of read-only memory");
			continue;
		}
		if (sub == 2) {
			r = rec(t, "gpu_read(read-only)", s, off, len);
			r->file = f;
			r->policy = policy;
			err = gpu_op(proc.fd[f], DRM_VSVM_OP_READ, sl->addr + off,
				     len, (unsigned long)t->scratch, policy);
			r->err = err;
			outcome(t, K_MPROTECT, err, exec_ok(err, policy),
				"GPU read of read-only memory");
			if (!err)
				check(t, K_MPROTECT, s, off, len, t->scratch,
				      "GPU read of read-only memory");
			continue;
		}
		r = rec(t, sub ? "gpu_fill(read-only)" : "gpu_write(read-only)",
			s, off, len);
		r->file = f;
		r->policy = policy;
		if (sub) {
			err = gpu_op(proc.fd[f], DRM_VSVM_OP_FILL, sl->addr + off,
				     len, pattern, policy);
		} else {
			rnd_fill(t, t->scratch, len);
			err = gpu_op(proc.fd[f], DRM_VSVM_OP_WRITE, sl->addr + off,
				     len, (unsigned long)t->scratch, policy);
		}
		r->err = err;
		if (!err)
			fail(t, K_MPROTECT, "GPU %s of read-only memory succeeded",
			     sub ? "fill" : "write");
		else if (err == EPERM || err == EFAULT)
			count_err(K_MPROTECT, err, true);
		else
			outcome(t, K_MPROTECT, err, exec_ok(err, policy),
				"GPU write of read-only memory");
		check(t, K_MPROTECT, s, off, len, NULL,
		      "read-only memory after a GPU write attempt");
	}
	r = rec(t, "mprotect(PROT_READ|PROT_WRITE)", s, 0, sl->size);
	if (mprotect(sl->addr, sl->size, PROT_READ | PROT_WRITE)) {
		r->err = errno;
		count_err(K_MPROTECT, r->err, false);
		fail(t, K_MPROTECT, "mprotect(PROT_READ | PROT_WRITE): %s",
		     errname(r->err));
		t->stop = true;
	}
}

/*
 * The child of op_fork(): its copy of the buffer must be the parent's at
 * fork() time, and the vsvm file must refuse it. Then it scribbles over
 * its copy, which the parent must never see. Only async-signal-safe calls.
 */
static int fork_child(struct thr *t, int s, unsigned char scribble)
{
	struct slot *sl = &t->slot[s];
	struct drm_vsvm_vm_stats vst;
	size_t i, bad = 0, first = 0;
	int status = 0, n;
	char line[256];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	memset(&vst, 0, sizeof(vst));
	if (!ioctl(proc.fd[0], DRM_IOCTL_VSVM_VM_STATS, &vst) || errno != EACCES)
		status |= 2;
	if (memcmp(sl->addr, sl->shadow, sl->size)) {
		for (i = 0; i < sl->size; i++) {
			if (sl->addr[i] == sl->shadow[i])
				continue;
			if (!bad)
				first = i;
			bad++;
		}
		add(&proc.st->bytes_lost, bad);
		add(&proc.st->kind[K_FORK].lost, bad);
		n = snprintf(line, sizeof(line),
			     "# LOST p%d/t%d (seed %llu): fork child: %zu of %zu bytes of slot %d differ from the parent's at fork(), first at +%#zx: got %#04x, want %#04x\n",
			     proc.idx, t->idx, cfg.seed, bad, sl->size, s, first,
			     sl->addr[first], sl->shadow[first]);
		if (n > 0)
			write_all(line, (size_t)n < sizeof(line) ? (size_t)n :
				  sizeof(line) - 1);
		status |= 1;
	}
	memset(sl->addr, scribble, sl->size);

	return status;
}

/* Collect fork children that ended; with @all, wait for every one. */
static void reap(struct thr *t, bool all)
{
	unsigned int i = 0;

	while (i < t->nchildren) {
		int status = 0, s = t->child_slot[i];
		pid_t pid = waitpid(t->child[i], &status, WNOHANG);

		if (!pid) {
			if (now_ms() - t->child_t[i] > CHILD_MS) {
				fail(t, K_FORK, "fork child %d (slot %d) ran %.0f s: killed",
				     t->child[i], s, CHILD_MS / 1000);
				kill(t->child[i], SIGKILL);
				waitpid(t->child[i], &status, 0);
			} else if (all) {
				WRITE_ONCE(t->beat, (__u64)now_ms());
				usleep(10000);
				continue;
			} else {
				i++;
				continue;
			}
		} else if (pid < 0) {
			fail(t, K_FORK, "waitpid(%d): %s", t->child[i],
			     errname(errno));
		} else if (WIFSIGNALED(status)) {
			fail(t, K_FORK, "fork child %d (slot %d) killed by signal %d",
			     pid, s, WTERMSIG(status));
		} else if (WEXITSTATUS(status)) {
			if (WEXITSTATUS(status) & 1)
				fail(t, K_FORK, "fork child %d found bytes of slot %d changed",
				     pid, s);
			if (WEXITSTATUS(status) & 2)
				fail(t, K_FORK, "vsvm ioctl in fork child %d: no EACCES",
				     pid);
		} else {
			/* Its scribbles must not show through. */
			check(t, K_FORK, s, 0, t->slot[s].size, NULL,
			      "buffer after its fork child wrote its copy");
		}
		t->nchildren--;
		t->child[i] = t->child[t->nchildren];
		t->child_slot[i] = t->child_slot[t->nchildren];
		t->child_t[i] = t->child_t[t->nchildren];
	}
}

/*
 * fork() while other threads work; the child checks a snapshot of slot @s
 * and the parent writes the slot on at once, with the GPU and the CPU.
 */
static void op_fork(struct thr *t)
{
	int s = pick_slot(t), f = pick_file(t);
	unsigned int policy = pick_policy(t);
	unsigned char scribble = rnd(t), *exp = t->scratch;
	unsigned char *cexp = t->scratch + MAX_OP;
	struct slot *sl = &t->slot[s];
	size_t off, len, coff, clen;
	struct op_rec *r;
	pid_t pid;

	pick_region(t, s, 1, MAX_OP, &off, &len);
	pick_region(t, s, 1, MAX_OP, &coff, &clen);
	rnd_fill(t, exp, len);
	rnd_fill(t, cexp, clen);
	if (t->nchildren >= MAX_CHILDREN)
		return;
	r = rec(t, "fork", s, 0, sl->size);
	pid = fork();
	if (!pid)
		_exit(fork_child(t, s, scribble));
	if (pid < 0) {
		r->err = errno;
		outcome(t, K_FORK, r->err, r->err == EAGAIN || r->err == ENOMEM,
			"fork");
		return;
	}
	t->child[t->nchildren] = pid;
	t->child_slot[t->nchildren] = s;
	t->child_t[t->nchildren] = now_ms();
	t->nchildren++;
	gpu_write(t, K_FORK, s, off, len, f, policy, exp, exp, false);
	rec(t, "cpu_write", s, coff, clen);
	memcpy(sl->addr + coff, cexp, clen);
	commit(t, s, coff, cexp, clen);
}

static void op_verify(struct thr *t)
{
	int s = pick_slot(t);

	rec(t, "verify", s, 0, t->slot[s].size);
	check(t, K_VERIFY, s, 0, t->slot[s].size, NULL, "check of a whole buffer");
}

static void op_stats(struct thr *t)
{
	struct drm_vsvm_vm_stats st;
	struct drm_vsvm_query q;
	int f = pick_file(t), err;
	struct op_rec *r;

	r = rec(t, "vm_stats+query", -1, 0, 0);
	r->file = f;
	err = -vsvm_vm_stats(proc.fd[f], &st);
	if (!err)
		err = -vsvm_query_device(proc.fd[f], &q);
	r->err = err;
	outcome(t, K_STATS, err, false, "VM_STATS or QUERY");
	if (!err && q.vram_used > q.vram_size)
		fail(t, K_STATS, "GPU %u: %llu bytes of VRAM used out of %llu",
		     q.device_index, (unsigned long long)q.vram_used,
		     (unsigned long long)q.vram_size);
}

/* lib/test_hmm's ioctls on an owned region, through vsvm's front end. */
static void op_dm(struct thr *t, enum op_kind kind)
{
	int s = pick_slot(t), f = below(t, proc.ndm);
	unsigned char *buf = t->scratch, *exp = t->scratch + MAX_OP;
	struct slot *sl = &t->slot[s];
	static const unsigned long reqs[NKINDS] = {
		[K_DM_READ] = HMM_DMIRROR_READ,
		[K_DM_WRITE] = HMM_DMIRROR_WRITE,
		[K_DM_TO_DEV] = HMM_DMIRROR_MIGRATE_TO_DEV,
		[K_DM_TO_SYS] = HMM_DMIRROR_MIGRATE_TO_SYS,
		[K_DM_EXCLUSIVE] = HMM_DMIRROR_EXCLUSIVE,
		[K_DM_SNAPSHOT] = HMM_DMIRROR_SNAPSHOT,
	};
	struct op_rec *r;
	size_t off, len;
	int err;

	pick_region(t, s, page_size, DM_MAX_PAGES * page_size, &off, &len);
	if (kind == K_DM_WRITE) {
		rnd_fill(t, exp, len);
		buf = exp;
	}
	r = rec(t, kinds[kind].name, s, off, len);
	r->file = 100 + f;
	err = dm_cmd(proc.dm[f], reqs[kind], sl->addr + off, len / page_size,
		     buf);
	r->err = err;
	outcome(t, kind, err, dm_ok(err, kind), kinds[kind].name);
	if (kind == K_DM_WRITE) {
		if (err)
			settle(t, kind, s, off, exp, len, "failed test_hmm write");
		else
			commit(t, s, off, exp, len);
	} else if (!err && (kind == K_DM_READ || kind == K_DM_TO_DEV ||
			    kind == K_DM_EXCLUSIVE)) {
		/* Each returns what the device read. */
		check(t, kind, s, off, len, buf, kinds[kind].name);
	}
}

static enum op_kind pick_kind(struct thr *t)
{
	unsigned int r = below(t, proc.total_weight), k;

	for (k = 0; k < NKINDS - 1; k++) {
		if (kinds[k].dmirror && !proc.ndm)
			continue;
		if (r < kinds[k].weight)
			break;
		r -= kinds[k].weight;
	}
	return k;
}

static void run_op(struct thr *t, enum op_kind kind)
{
	unsigned long first = t->nops, i;

	switch (kind) {
	case K_CPU_WRITE:
		op_cpu_write(t);
		break;
	case K_CPU_READ:
		op_cpu_read(t);
		break;
	case K_GPU_READ:
		op_gpu_read(t);
		break;
	case K_GPU_WRITE:
		op_gpu_write(t);
		break;
	case K_GPU_FILL:
		op_gpu_fill(t);
		break;
	case K_GPU_COPY:
		op_gpu_copy(t);
		break;
	case K_GPU_ATOMIC:
		op_gpu_atomic(t);
		break;
	case K_GPU_BATCH:
		op_gpu_batch(t);
		break;
	case K_MIGRATE_VRAM:
		op_migrate(t, DRM_VSVM_MIGRATE_TO_VRAM);
		break;
	case K_MIGRATE_SYS:
		op_migrate(t, DRM_VSVM_MIGRATE_TO_SYSTEM);
		break;
	case K_MIGRATE_ANY_VRAM:
		op_migrate_any(t, DRM_VSVM_MIGRATE_TO_VRAM);
		break;
	case K_MIGRATE_ANY_SYS:
		op_migrate_any(t, DRM_VSVM_MIGRATE_TO_SYSTEM);
		break;
	case K_DONTNEED:
		op_dontneed(t);
		break;
	case K_REMAP:
		op_remap(t);
		break;
	case K_MREMAP:
		op_mremap(t);
		break;
	case K_MPROTECT:
		op_mprotect(t);
		break;
	case K_FORK:
		op_fork(t);
		break;
	case K_VERIFY:
		op_verify(t);
		break;
	case K_STATS:
		op_stats(t);
		break;
	default:
		op_dm(t, kind);
		break;
	}
	add(&proc.st->kind[kind].ops, 1);
	/* Done: what did not fail succeeded. */
	for (i = first; i < t->nops; i++)
		if (t->hist[i % HIST].err < 0)
			t->hist[i % HIST].err = 0;
}

/* The buffers of a thread: 3/4 of them random, the others untouched. */
static bool setup_thread(struct thr *t)
{
	size_t avg = (cfg.mem_mib << 20) / cfg.threads / NSLOTS;
	int s;

	avg = avg > page_size ? avg : page_size;
	t->scratch = map_isolated(SCRATCH, 0);
	if (!t->scratch)
		return false;
	for (s = 0; s < NSLOTS; s++) {
		struct slot *sl = &t->slot[s];
		size_t size = avg / 2 + below(t, avg);

		sl->size = (size + page_size - 1) / page_size * page_size;
		sl->shadow = map_isolated(sl->size, 0);
		if (!sl->shadow)
			return false;
		WRITE_ONCE(sl->addr, map_isolated(sl->size, pick_misalign(t)));
		if (!sl->addr)
			return false;
		if (!below(t, 4))
			continue;
		rnd_fill(t, sl->shadow, sl->size);
		memcpy(sl->addr, sl->shadow, sl->size);
	}

	return true;
}

static void *thread_main(void *arg)
{
	struct thr *t = arg;
	int s;

	WRITE_ONCE(t->tid, syscall(SYS_gettid));
	WRITE_ONCE(t->beat, (__u64)now_ms());
	if (!setup_thread(t)) {
		fail(t, K_REMAP, "cannot map the buffers: %s", errname(errno));
		t->stop = true;
		t->broken = true;
	}
	WRITE_ONCE(t->beat, (__u64)now_ms());
	pthread_barrier_wait(&proc.ready);

	while (!t->stop && now_ms() < stop_at) {
		reap(t, false);
		run_op(t, pick_kind(t));
		WRITE_ONCE(t->beat, (__u64)now_ms());
	}

	reap(t, true);
	for (s = 0; s < NSLOTS && !t->broken; s++) {
		struct op_rec *r = rec(t, "final check", s, 0, t->slot[s].size);

		check(t, K_VERIFY, s, 0, t->slot[s].size, NULL, "final check");
		r->err = 0;
		WRITE_ONCE(t->beat, (__u64)now_ms());
	}
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);

	return NULL;
}

/* A thread without progress for WATCHDOG_MS: report it and give up. */
static void hang(struct thr *t, double idle)
{
	static struct sbuf sb;
	char path[64], line[256];
	FILE *f;

	add(&proc.st->failures, 1);
	sb.len = 0;
	sb_line(&sb, "FAIL p%d/t%d (seed %llu): watchdog: no progress in %.0f s",
		proc.idx, t->idx, cfg.seed, idle / 1000);
	sb_line(&sb, "  (the last operation below is the one in progress)");
	sb_history(&sb, t);
	snprintf(path, sizeof(path), "/proc/self/task/%d/stack", t->tid);
	f = fopen(path, "re");
	if (f) {
		sb_line(&sb, "  kernel stack of thread %d:", t->tid);
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = 0;
			sb_line(&sb, "    %s", line);
		}
		fclose(f);
	}
	sb_flush(&sb);
	_exit(3);
}

static void on_signal(int sig)
{
}

/*
 * Every TICK_US: a SIGUSR1 to a random thread, and a look for threads
 * without progress. By thread id: the thread may have ended meanwhile.
 */
static void *watchdog_main(void *arg)
{
	__u64 x = cfg.seed ^ ((__u64)proc.idx << 40);
	unsigned int i, victim;
	bool running;

	do {
		usleep(TICK_US);
		running = false;
		victim = splitmix64(&x) % cfg.threads;
		for (i = 0; i < cfg.threads; i++) {
			struct thr *t = &proc.thr[i];
			double idle = now_ms() - READ_ONCE(t->beat);

			if (__atomic_load_n(&t->done, __ATOMIC_ACQUIRE))
				continue;
			running = true;
			if (idle > WATCHDOG_MS)
				hang(t, idle);
			if (i == victim && READ_ONCE(t->tid) &&
			    !syscall(SYS_tgkill, getpid(), t->tid, SIGUSR1))
				add(&proc.st->signals, 1);
		}
	} while (running);

	return NULL;
}

/* One process of the test; its exit status: 0, 1 on failure. */
static int worker(int idx)
{
	static const char * const dm_paths[] = {
		"/dev/hmm_dmirror0", "/dev/hmm_dmirror1",
	};
	struct sigaction sa;
	pthread_t watchdog;
	unsigned int i, k;
	__u64 x;
	int err;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Signals only interrupt: what they interrupt restarts or goes on. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	proc.idx = idx;
	proc.st = &shm_stats[idx];
	x = cfg.seed ^ ((__u64)(idx + 1) << 48);
	for (i = 0; i < cfg.files; i++) {
		proc.fd[i] = vsvm_open_device(i % cfg.ngpus);
		if (proc.fd[i] < 0) {
			diag("FAIL p%d: cannot open vsvm GPU %u: %s", idx,
			     i % cfg.ngpus, errname(-proc.fd[i]));
			return 1;
		}
		/* Some VMs keep what they migrated a little while. */
		err = vsvm_set_timeslice(proc.fd[i], splitmix64(&x) % 3);
		if (err) {
			diag("FAIL p%d: timeslice of file %u: %s", idx, i,
			     errname(-err));
			return 1;
		}
	}
	for (i = 0; cfg.dmirror && i < 2; i++) {
		proc.dm[i] = open(dm_paths[i], O_RDWR | O_CLOEXEC);
		if (proc.dm[i] < 0) {
			diag("FAIL p%d: cannot open %s: %s", idx, dm_paths[i],
			     errname(errno));
			return 1;
		}
		proc.ndm++;
	}
	for (k = 0; k < NKINDS; k++)
		if (!kinds[k].dmirror || proc.ndm)
			proc.total_weight += kinds[k].weight;

	proc.thr = calloc(cfg.threads, sizeof(*proc.thr));
	if (!proc.thr)
		return 1;
	pthread_barrier_init(&proc.ready, NULL, cfg.threads + 1);
	for (i = 0; i < cfg.threads; i++) {
		struct thr *t = &proc.thr[i];

		t->idx = i;
		t->rng = splitmix64(&x) | 1;
		WRITE_ONCE(t->beat, (__u64)now_ms());
	}
	for (i = 0; i < cfg.threads; i++) {
		err = pthread_create(&proc.thr[i].pt, NULL, thread_main,
				     &proc.thr[i]);
		if (err) {
			diag("FAIL p%d: pthread_create: %s", idx, errname(err));
			_exit(1);
		}
	}
	err = pthread_create(&watchdog, NULL, watchdog_main, NULL);
	if (err) {
		diag("FAIL p%d: pthread_create: %s", idx, errname(err));
		_exit(1);
	}
	pthread_barrier_wait(&proc.ready);
	proc.st->op_start_ms = now_ms();
	for (i = 0; i < cfg.threads; i++)
		pthread_join(proc.thr[i].pt, NULL);
	pthread_join(watchdog, NULL);

	return proc.st->failures || proc.st->bytes_lost ? 1 : 0;
}

struct gpu_counters {
	__u64 to_vram, to_ram, evictions;
	bool coherent;
};

static void read_counters(struct gpu_counters *c)
{
	struct drm_vsvm_query q;
	unsigned int i;
	int fd;

	for (i = 0; i < cfg.ngpus && i < MAX_FILES; i++) {
		fd = vsvm_open_device(i);
		if (fd < 0)
			continue;
		if (!vsvm_query_device(fd, &q)) {
			c[i].to_vram = q.pages_to_vram;
			c[i].to_ram = q.pages_to_ram;
			c[i].evictions = q.evictions;
			c[i].coherent = q.memory_type ==
					DRM_VSVM_MEMORY_COHERENT;
		}
		close(fd);
	}
}

/* An error accepted above that the kernel-doc of its ioctl does not list. */
static void note_undocumented(enum op_kind kind, int err)
{
	unsigned int p;
	__u64 n = 0;

	for (p = 0; p < cfg.procs; p++)
		n += shm_stats[p].kind[kind].err_ok[err];
	if (!n || !undocumented(kind, err))
		return;
	diag("note: %s got %s %llu times: accepted, not in the kernel-doc of DRM_IOCTL_VSVM_%s",
	     kinds[kind].name, errname(err), (unsigned long long)n,
	     kinds[kind].ioctl);
}

/* Test knobs an earlier test may have left set, for the record. */
static void print_knobs(void)
{
	static const char * const names[] = {
		"vsvm_max_ranges", "vsvm_commit_delay_us",
		"vsvm_vm_destroy_delay_us", "vsvm_fail_copy_to_ram",
	};
	unsigned long long val[ARRAY_SIZE(names)];
	unsigned int i, k;
	int fd;

	for (i = 0; i < cfg.ngpus; i++) {
		fd = vsvm_open_device(i);
		if (fd < 0)
			continue;
		for (k = 0; k < ARRAY_SIZE(names); k++)
			if (vsvm_debugfs_get(fd, names[k], &val[k]))
				break;
		close(fd);
		if (k < ARRAY_SIZE(names))
			continue;
		diag("GPU %u debugfs: %s %llu, %s %llu, %s %llu, %s %llu", i,
		     names[0], val[0], names[1], val[1], names[2], val[2],
		     names[3], val[3]);
	}
}

/* Totals of every process; false if some operations failed. */
static bool summary(double secs, const struct gpu_counters *before)
{
	struct gpu_counters after[MAX_FILES];
	__u64 lost = 0, failures = 0, signals = 0;
	unsigned int k, p, e, i;

	diag("%.1f s of operations (seed %llu); per kind of operation:", secs,
	     cfg.seed);
	diag("  %-18s %10s %10s %8s  %s", "kind", "ops", "ops/s", "lost",
	     "errors (! = failure)");
	for (k = 0; k < NKINDS; k++) {
		__u64 ops = 0, klost = 0, kfail = 0, partial = 0;
		char errs[512] = "";
		size_t len = 0;
		int n;

		for (p = 0; p < cfg.procs; p++) {
			ops += shm_stats[p].kind[k].ops;
			klost += shm_stats[p].kind[k].lost;
			kfail += shm_stats[p].kind[k].failures;
			partial += shm_stats[p].kind[k].partial;
		}
		if (partial) {
			n = snprintf(errs, sizeof(errs), "ended-early=%llu ",
				     (unsigned long long)partial);
			len = n > 0 ? n : 0;
		}
		for (e = 1; e < NERRNO; e++) {
			__u64 ok = 0, bad = 0;

			for (p = 0; p < cfg.procs; p++) {
				ok += shm_stats[p].kind[k].err_ok[e];
				bad += shm_stats[p].kind[k].err_bad[e];
			}
			if (ok && len < sizeof(errs)) {
				n = snprintf(errs + len, sizeof(errs) - len,
					     "%s=%llu ", errname(e),
					     (unsigned long long)ok);
				len += n > 0 ? n : 0;
			}
			if (bad && len < sizeof(errs)) {
				n = snprintf(errs + len, sizeof(errs) - len,
					     "%s=%llu! ", errname(e),
					     (unsigned long long)bad);
				len += n > 0 ? n : 0;
			}
		}
		if (!ops && !kfail)
			continue;
		diag("  %-18s %10llu %10.1f %8llu  %s%s", kinds[k].name,
		     (unsigned long long)ops, ops / secs,
		     (unsigned long long)klost, errs,
		     kfail ? "(failures)" : "");
	}
	for (k = 0; k < NKINDS; k++)
		for (e = 1; e < NERRNO; e++)
			note_undocumented(k, e);
	for (p = 0; p < cfg.procs; p++) {
		lost += shm_stats[p].bytes_lost;
		failures += shm_stats[p].failures;
		signals += shm_stats[p].signals;
	}
	diag("%llu signals sent to the threads", (unsigned long long)signals);
	memset(after, 0, sizeof(after));
	read_counters(after);
	for (i = 0; i < cfg.ngpus && i < MAX_FILES; i++)
		diag("GPU %u (%s VRAM): %llu pages copied to VRAM, %llu to RAM, %llu evictions",
		     i, after[i].coherent ? "coherent" : "private",
		     (unsigned long long)(after[i].to_vram - before[i].to_vram),
		     (unsigned long long)(after[i].to_ram - before[i].to_ram),
		     (unsigned long long)(after[i].evictions - before[i].evictions));
	diag("bytes lost: %llu", (unsigned long long)lost);
	diag("failures: %llu", (unsigned long long)failures);

	return !lost && !failures;
}

static void help(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [-s SECONDS] [-S SEED] [-p PROCS] [-t THREADS] [-f FILES] [-m MIB] [--dmirror]\n"
		"  -s  duration in seconds (default 600)\n"
		"  -S  seed (default: from the clock; always printed)\n"
		"  -p  processes (default 3, at most %d)\n"
		"  -t  threads per process (default 4, at most %d)\n"
		"  -f  vsvm files per process, on GPU 0, 1, 0, ... (default 2, at most %d)\n"
		"  -m  MiB of buffers per process (default 1.5 x the VRAM of a GPU)\n"
		"  --dmirror  also use /dev/hmm_dmirror0 and 1 (vsvm dmirror=1)\n",
		argv0, MAX_PROCS, MAX_THREADS, MAX_FILES);
	exit(2);
}

static unsigned long parse_num(const char *s, unsigned long min,
			       unsigned long max, const char *argv0)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v < min || v > max)
		help(argv0);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dmirror", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gpu_counters before[MAX_FILES];
	bool seeded = false, files_given = false, ok = true;
	pid_t pids[MAX_PROCS];
	unsigned int p, left;
	struct drm_vsvm_query q;
	double secs, started;
	int c, fd, err;
	size_t shm_size;

	while ((c = getopt_long(argc, argv, "s:S:p:t:f:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			cfg.secs = parse_num(optarg, 1, 86400 * 7, argv[0]);
			break;
		case 'S':
			errno = 0;
			cfg.seed = strtoull(optarg, NULL, 0);
			if (errno)
				help(argv[0]);
			seeded = true;
			break;
		case 'p':
			cfg.procs = parse_num(optarg, 1, MAX_PROCS, argv[0]);
			break;
		case 't':
			cfg.threads = parse_num(optarg, 1, MAX_THREADS, argv[0]);
			break;
		case 'f':
			cfg.files = parse_num(optarg, 1, MAX_FILES, argv[0]);
			files_given = true;
			break;
		case 'm':
			cfg.mem_mib = parse_num(optarg, 1, 1UL << 20, argv[0]);
			break;
		case 'd':
			cfg.dmirror = true;
			break;
		default:
			help(argv[0]);
		}
	}
	if (optind != argc)
		help(argv[0]);
	if (!seeded) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		cfg.seed = ((unsigned long long)ts.tv_sec * 1000000000ULL +
			    ts.tv_nsec) ^ ((unsigned long long)getpid() << 32);
	}
	page_size = sysconf(_SC_PAGESIZE);

	say("1..1\n");
	fd = vsvm_open_device(0);
	if (fd < 0) {
		diag("no vsvm device: %s", errname(-fd));
		say("ok 1 stress # SKIP no vsvm device\n");
		return KSFT_SKIP;
	}
	err = vsvm_query_device(fd, &q);
	close(fd);
	if (err) {
		diag("QUERY: %s", errname(-err));
		say("not ok 1 stress\n");
		return KSFT_FAIL;
	}
	cfg.ngpus = q.num_devices ? q.num_devices : 1;
	/* Without -f, one file per GPU at least: coherent ones too. */
	if (!files_given && cfg.files < cfg.ngpus)
		cfg.files = cfg.ngpus < MAX_FILES ? cfg.ngpus : MAX_FILES;
	if (!cfg.mem_mib)
		cfg.mem_mib = (q.vram_size * 3 / 2) >> 20;
	if (cfg.dmirror && (access("/dev/hmm_dmirror0", F_OK) ||
			    access("/dev/hmm_dmirror1", F_OK))) {
		diag("--dmirror: no /dev/hmm_dmirror0 and 1 (vsvm dmirror=1)");
		cfg.dmirror = false;
	}
	diag("seed %llu: vsvm_stress -s %u -S %llu -p %u -t %u -f %u -m %lu%s",
	     cfg.seed, cfg.secs, cfg.seed, cfg.procs, cfg.threads, cfg.files,
	     cfg.mem_mib, cfg.dmirror ? " --dmirror" : "");
	diag("%u processes x %u threads x %d buffers, %lu MiB per process",
	     cfg.procs, cfg.threads, NSLOTS, cfg.mem_mib);
	diag("%u vsvm files per process, %u GPUs of %llu MiB of VRAM",
	     cfg.files, cfg.ngpus, (unsigned long long)(q.vram_size >> 20));

	shm_size = cfg.procs * sizeof(*shm_stats);
	shm_stats = mmap(NULL, shm_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm_stats == MAP_FAILED) {
		diag("mmap of the statistics: %s", errname(errno));
		say("not ok 1 stress\n");
		return KSFT_FAIL;
	}
	print_knobs();
	memset(before, 0, sizeof(before));
	read_counters(before);

	run_start = now_ms();
	stop_at = run_start + cfg.secs * 1000.0;
	for (p = 0; p < cfg.procs; p++) {
		pids[p] = fork();
		if (!pids[p])
			_exit(worker(p));
		if (pids[p] < 0) {
			diag("FAIL: fork of process %u: %s", p, errname(errno));
			ok = false;
		}
	}

	left = 0;
	for (p = 0; p < cfg.procs; p++)
		left += pids[p] > 0;
	while (left) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid <= 0) {
			if (now_ms() > stop_at + GRACE_MS)
				break;
			usleep(100000);
			continue;
		}
		for (p = 0; p < cfg.procs && pids[p] != pid; p++)
			;
		if (p == cfg.procs)
			continue;
		pids[p] = 0;
		left--;
		if (WIFSIGNALED(status)) {
			diag("FAIL: process p%u killed by signal %d (%s)", p,
			     WTERMSIG(status), strsignal(WTERMSIG(status)));
			ok = false;
		} else if (WEXITSTATUS(status) == 3) {
			diag("FAIL: process p%u: watchdog, see above", p);
			ok = false;
		} else if (WEXITSTATUS(status)) {
			ok = false;
		}
	}
	for (p = 0; p < cfg.procs; p++) {
		if (pids[p] <= 0)
			continue;
		diag("FAIL: process p%u did not end %.0f s after the end of the run: killed",
		     p, GRACE_MS / 1000);
		kill(pids[p], SIGKILL);
		ok = false;
	}

	started = 0;
	for (p = 0; p < cfg.procs; p++)
		if (shm_stats[p].op_start_ms > started)
			started = shm_stats[p].op_start_ms;
	secs = started && stop_at > started ? (stop_at - started) / 1000 : 1;
	if (!summary(secs, before))
		ok = false;
	say(ok ? "ok 1 stress\n" : "not ok 1 stress\n");

	return ok ? KSFT_PASS : KSFT_FAIL;
}
