// SPDX-License-Identifier: GPL-2.0-only
/*
 * vsvm_fuzz: a seeded, structure-aware fuzzer of the vsvm ioctls, on the
 * render nodes and on the test_hmm front end (/dev/hmm_dmirror0 and 1,
 * vsvm loaded with dmirror=1).
 *
 * Every field of every argument gets boundary and random values: addresses
 * 0, 1, unaligned, page - 1, TASK_SIZE and the pages below it, ~0, kernel
 * addresses, every kind of mapping (anonymous, PROT_NONE, read-only, shared
 * anonymous, a tmpfs file, hugetlb, THP, memfd_secret where the kernel has
 * it, unmapped holes, the top of the address space), sizes 0, tiny, huge
 * and overflowing, unknown flags, codes and parameters, nonzero pads, bad
 * op counts and op array pointers, unknown ioctl numbers and wrong
 * argument sizes.
 *
 * Phases (TAP, one line each):
 *  1. setup: the devices and the targets;
 *  2. sweep: one thread, every boundary value of every field once, each
 *     with the outcome the uapi kernel-doc promises (an argument that must
 *     be refused with EINVAL is refused with EINVAL, nothing else);
 *  3. concurrent: THREADS threads issue random calls while another one
 *     munmaps, remaps, mprotects and MADV_DONTNEEDs the targets, closes and
 *     reopens the files (dup2() over the descriptor the callers use) and
 *     sends SIGUSR1 to the callers (the handler does nothing and is
 *     installed without SA_RESTART, so a signal that fails a call shows);
 *     callers fork now and then: the child must get EACCES;
 *  4. data: calls on plain anonymous memory that succeeded moved the right
 *     bytes (GPU write then CPU read, CPU write then GPU read, fills,
 *     migrations, test_hmm READ, WRITE and MIGRATE_TO_DEV);
 *  5. kernel log: no splat appeared in /dev/kmsg.
 *
 * An errno outside the documented set of an ioctl is a failure that prints
 * the call. Each thread keeps its last RING calls (decoded arguments and
 * result); on a failure or a splat they are printed with the seed, and the
 * run stops. -S replays a seed: the sweep and each thread's sequence of
 * calls are a function of the seed, their interleaving is not.
 *
 * Every address the kernel may write to (a READ's user buffer, a GPU
 * write, test_hmm's ptr) is one of ours in an area of its own far from
 * everything else, or one nobody can map, so a fuzzed call never scribbles
 * over the fuzzer itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "vsvm_util.h"
#include "../../../../../lib/test_hmm_uapi.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif
#ifndef MAP_HUGETLB
#define MAP_HUGETLB		0x40000
#endif
#ifndef __NR_memfd_secret
#define __NR_memfd_secret	447
#endif

#define E(x)			((__uint128_t)1 << (x))
#define MAX_THREADS		16
#define RING			64
#define DESC			200
#define SZ_2M			(2UL << 20)
#define TASK_TOP		0x7ffffffff000ULL	/* TASK_SIZE, x86-64 4-level */
#define AREA_A			0x300000000000ULL	/* fuzzed targets */
#define AREA_B			0x200000000000ULL	/* checked buffers */
#define SLOT			(4 * SZ_2M)		/* one target per slot */
#define REGION			(2 * SZ_2M)		/* mapped part of a slot */
#define DATA_PAGES		64			/* checked buffer per thread */
#define DM_PAGES		16			/* test_hmm buffer per thread */
#define SCRATCH			16384			/* argument of any size */
#define MAX_OPS			300
#define HANG_MS			120000.0

enum kind {
	T_ANON, T_ANON2, T_NONE, T_RDONLY, T_SHARED, T_FILE, T_HUGETLB, T_THP,
	T_SECRET, T_HOLE, T_NKINDS,
};

static const char *const kind_names[T_NKINDS] = {
	"anonymous", "anonymous2", "PROT_NONE", "read-only", "shared-anonymous",
	"tmpfs-file", "hugetlb", "THP", "memfd_secret", "hole",
};

enum call {
	C_QUERY, C_EXEC, C_MIGRATE, C_VM_STATS, C_SET_PARAM, C_UNKNOWN,
	C_BADSIZE, C_DM_READ, C_DM_WRITE, C_DM_TO_DEV, C_DM_TO_SYS,
	C_DM_SNAPSHOT, C_DM_EXCLUSIVE, C_DM_CHECK_EXCL, C_DM_RELEASE,
	C_DM_UNKNOWN, C_FORK, C_NCALLS,
};

static const char *const call_names[C_NCALLS] = {
	"QUERY", "EXEC", "MIGRATE", "VM_STATS", "VM_SET_PARAM", "unknown-nr",
	"wrong-size", "DM_READ", "DM_WRITE", "DM_MIGRATE_TO_DEV",
	"DM_MIGRATE_TO_SYS", "DM_SNAPSHOT", "DM_EXCLUSIVE",
	"DM_CHECK_EXCLUSIVE", "DM_RELEASE", "DM_unknown", "fork",
};

/*
 * The documented errnos of each call (uapi kernel-doc of vsvm_drm.h; for
 * the test_hmm front end, the DOC of vsvm_dmirror.c). EACCES only counts in
 * a forked child, EINTR never: no fatal signal reaches a caller that lives.
 */
#define DM_ERRS	(E(EINVAL) | E(EFAULT) | E(ENOENT) | E(EBUSY) | E(EPERM) | \
		 E(ENOMEM) | E(EIO))
static const __uint128_t allowed[C_NCALLS] = {
	[C_QUERY] = E(EINVAL) | E(EFAULT),
	[C_EXEC] = E(EINVAL) | E(EFAULT) | E(EPERM) | E(EOPNOTSUPP) |
		   E(ENOMEM) | E(EBUSY) | E(ENOSPC) | E(EIO),
	[C_MIGRATE] = E(EINVAL) | E(EFAULT) | E(ENOMEM) | E(ENOSPC) |
		      E(EBUSY) | E(EIO),
	[C_VM_STATS] = E(EINVAL) | E(EFAULT),
	[C_SET_PARAM] = E(EINVAL) | E(EFAULT),
	[C_UNKNOWN] = E(EINVAL),
	[C_DM_READ] = DM_ERRS, [C_DM_WRITE] = DM_ERRS,
	[C_DM_TO_DEV] = DM_ERRS | E(ENOSPC), [C_DM_TO_SYS] = DM_ERRS,
	[C_DM_SNAPSHOT] = DM_ERRS, [C_DM_EXCLUSIVE] = DM_ERRS,
	[C_DM_CHECK_EXCL] = DM_ERRS, [C_DM_RELEASE] = DM_ERRS,
	[C_DM_UNKNOWN] = E(EINVAL) | E(EFAULT),
};

#define NERR 140
#define WANT_OK	1	/* judge(): the call must succeed */

struct region {
	enum kind kind;
	unsigned long base;	/* slot start */
	bool present;		/* the kind exists on this kernel */
};

struct ring_ent {
	char desc[DESC];
	int ret;		/* -errno; 1: in progress */
};

struct thr {
	unsigned int id;
	pthread_t pt;
	uint64_t rng;
	unsigned char *data, *shadow, *tmp;	/* DATA_PAGES each, area B */
	unsigned char *dmbuf;			/* DM_PAGES, area B */
	unsigned char *scratch;			/* SCRATCH bytes, area B */
	struct drm_vsvm_op *ops;		/* MAX_OPS, area B */
	struct ring_ent ring[RING];
	unsigned int pos;
	double call_ms;				/* start of the call in flight */
	bool in_call;
	bool done;				/* the thread has ended */
	pid_t tid;				/* for its kernel stack */
};

static struct {
	unsigned int secs, threads;
	uint64_t seed;
	bool verbose;
} cfg = { .secs = 60, .threads = 4 };

static long page;
static struct region regions[T_NKINDS];
static unsigned long near_top;		/* our mapping below TASK_SIZE, or 0 */
static unsigned long guard_none;	/* a PROT_NONE page nobody changes */
static unsigned long guard_hole;	/* an unmapped page nobody maps */
static unsigned long guard_ro;		/* a read-only page nobody changes */
static int file_fd = -1;
static int fd_gpu[2] = { -1, -1 };	/* render nodes of GPU 0 and 1 */
static int fd_dm[2] = { -1, -1 };	/* /dev/hmm_dmirror0 and 1 */
static bool have_dm;
static struct thr thrs[MAX_THREADS];
static int stop_flag;
static int fail_flag;
static unsigned long long counts[C_NCALLS][NERR + 1];
static unsigned long long data_checks, data_bad, forks, fork_bad;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int kmsg_fd = -1;
static bool kmsg_splat;

static bool stopped(void)
{
	return READ_ONCE(stop_flag);
}

static bool failed(void)
{
	return READ_ONCE(fail_flag);
}

static double now_ms(void)
{
	return vsvm_now_ms();
}

/* One line with write(): a forked child may not use stdio's locks. */
static void out_line(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1200];
	int n;

	n = snprintf(buf, sizeof(buf), "%s", prefix);
	n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	pthread_mutex_lock(&out_lock);
	if (write(STDOUT_FILENO, buf, n) < 0)
		n = 0;
	pthread_mutex_unlock(&out_lock);
}

static void diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	out_line("# ", fmt, ap);
	va_end(ap);
}

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	out_line("", fmt, ap);
	va_end(ap);
}

static const char *errname(int err)
{
	const char *s;

	if (!err)
		return "0";
	s = strerrorname_np(err);
	return s ? s : "E?";
}

/* xorshift64*: the whole state of a thread's sequence of calls. */
static uint64_t rnd(struct thr *t)
{
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return t->rng * 0x2545f4914f6cdd1dULL;
}

static unsigned int below(struct thr *t, unsigned int n)
{
	return rnd(t) % n;
}

static bool chance(struct thr *t, unsigned int pct)
{
	return below(t, 100) < pct;
}

/* --- the ring of last calls --- */

static struct ring_ent *ring_begin(struct thr *t, const char *fmt, ...)
{
	struct ring_ent *r = &t->ring[t->pos++ % RING];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->desc, sizeof(r->desc), fmt, ap);
	va_end(ap);
	r->ret = 1;
	t->call_ms = now_ms();
	__atomic_store_n(&t->in_call, true, __ATOMIC_RELEASE);
	return r;
}

static void ring_end(struct thr *t, struct ring_ent *r, int ret)
{
	r->ret = ret;
	__atomic_store_n(&t->in_call, false, __ATOMIC_RELEASE);
}

static void dump_rings(void)
{
	unsigned int i, j, n;

	diag("replay: vsvm_fuzz -S %llu -s %u -t %u", (unsigned long long)cfg.seed,
	     cfg.secs, cfg.threads);
	for (i = 0; i < cfg.threads + 1; i++) {
		struct thr *t = &thrs[i];

		n = t->pos < RING ? t->pos : RING;
		if (!n)
			continue;
		diag("last %u calls of thread %u%s:", n, i,
		     i == cfg.threads ? " (sweep/mutator)" : "");
		for (j = t->pos - n; j != t->pos; j++) {
			struct ring_ent *r = &t->ring[j % RING];

			diag("  %s = %s", r->desc,
			     r->ret == 1 ? "(in progress)" : errname(-r->ret));
		}
	}
}

/* A failure: say what, stop everyone; main prints the rings. */
static void fail(struct thr *t, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	diag("FAIL (seed %llu, thread %u): %s", (unsigned long long)cfg.seed,
	     t ? t->id : 0, buf);
	WRITE_ONCE(fail_flag, 1);
	WRITE_ONCE(stop_flag, 1);
}

static void count(enum call c, int ret)
{
	int e = ret < 0 ? -ret : 0;

	__atomic_fetch_add(&counts[c][e < NERR ? e : NERR], 1, __ATOMIC_RELAXED);
}

/* ioctl() returning -errno, once: EINTR is an answer here, not a retry. */
static int raw_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) == -1 ? -errno : 0;
}

/*
 * Judge the result @ret of call @c: @want is the errno the arguments
 * promise (-EINVAL, -EFAULT, -EACCES; WANT_OK: success; 0: any documented
 * result).
 */
static void judge(struct thr *t, struct ring_ent *r, enum call c, int ret,
		  int want)
{
	ring_end(t, r, ret);
	count(c, ret);
	if (want == WANT_OK && ret) {
		fail(t, "%s: failed with %s, the arguments are valid", r->desc,
		     errname(-ret));
		return;
	}
	if (want && want != WANT_OK) {
		if (ret != want)
			fail(t, "%s: got %s, the arguments must give %s", r->desc,
			     errname(-ret), errname(-want));
		return;
	}
	if (ret < 0 && (-ret >= 128 || !(allowed[c] & E(-ret))))
		fail(t, "%s: undocumented errno %s", r->desc, errname(-ret));
}

/* --- targets --- */

static unsigned long region_len(enum kind k)
{
	return k == T_HOLE ? 0 : REGION;
}

static int map_region(struct region *rg, bool fresh)
{
	unsigned long a = rg->base, len = region_len(rg->kind);
	int prot = PROT_READ | PROT_WRITE;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
	int fd = -1;
	void *p;

	switch (rg->kind) {
	case T_HOLE:
		return 0;
	case T_NONE:
		prot = PROT_NONE;
		break;
	case T_SHARED:
		flags = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;
		break;
	case T_FILE:
		flags = MAP_SHARED | MAP_FIXED;
		fd = file_fd;
		break;
	case T_HUGETLB:
		flags |= MAP_HUGETLB;
		break;
	case T_SECRET:
		fd = syscall(__NR_memfd_secret, 0);
		if (fd < 0)
			return -errno;
		if (ftruncate(fd, len)) {
			close(fd);
			return -errno;
		}
		flags = MAP_SHARED | MAP_FIXED;
		break;
	default:
		break;
	}
	p = mmap((void *)a, len, prot, flags, fd, 0);
	if (rg->kind == T_SECRET)
		close(fd);
	if (p == MAP_FAILED)
		return -errno;
	if (rg->kind == T_THP)
		madvise(p, len, MADV_HUGEPAGE);
	if (rg->kind == T_RDONLY) {
		memset(p, 0x5a, len);
		mprotect(p, len, PROT_READ);
	}
	(void)fresh;
	return 0;
}

static int setup_targets(void)
{
	unsigned long area = AREA_A, i;
	char path[64];
	void *p;
	int err;

	/* Reserve, then give the gaps back: only our mappings live here. */
	p = mmap((void *)area, (T_NKINDS + 1) * SLOT, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
		 -1, 0);
	if (p != (void *)area) {
		diag("cannot reserve the target area at %#lx: %s", area,
		     errname(errno));
		return -1;
	}
	munmap(p, (T_NKINDS + 1) * SLOT);

	snprintf(path, sizeof(path), "/tmp/vsvm_fuzz.%d", getpid());
	file_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (file_fd < 0 || ftruncate(file_fd, REGION)) {
		diag("tmpfs file %s: %s", path, errname(errno));
		return -1;
	}
	unlink(path);

	for (i = 0; i < T_NKINDS; i++) {
		struct region *rg = &regions[i];

		rg->kind = i;
		rg->base = area + i * SLOT;
		err = map_region(rg, true);
		rg->present = !err;
		if (err)
			diag("target %s: %s: this kind is skipped",
			     kind_names[i], errname(-err));
	}
	/* Pages the mutator never touches: arguments that must fail. */
	guard_hole = area + T_NKINDS * SLOT;
	guard_none = guard_hole + 4 * page;
	guard_ro = guard_none + 4 * page;
	mmap((void *)guard_none, page, PROT_NONE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	mmap((void *)guard_ro, page, PROT_READ,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	/* The last pages below TASK_SIZE, if nothing (the stack) is there. */
	p = mmap((void *)(TASK_TOP - 16 * page), 16 * page,
		 PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == (void *)(TASK_TOP - 16 * page)) {
		near_top = (unsigned long)p;
		memset(p, 0x11, 16 * page);
	} else {
		if (p != MAP_FAILED)
			munmap(p, 16 * page);
		diag("the pages below TASK_SIZE are taken: used as read-only targets only");
	}
	return 0;
}

/* An area-B buffer of @n pages with an unmapped page after it. */
static void *area_b_alloc(unsigned long *next, unsigned long n)
{
	void *p = mmap((void *)*next, n * page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	*next += (n + 1) * page;
	return p == MAP_FAILED ? NULL : p;
}

/*
 * A target address for @t: anything the kernel may write to without
 * hurting us. @aligned: page aligned.
 */
static uint64_t gen_addr(struct thr *t, bool aligned)
{
	static const uint64_t bad[] = {
		0, 1, 4095, 4096, TASK_TOP, TASK_TOP + 4096, ~0ULL,
		~0ULL & ~4095ULL, 1ULL << 47, 0xffff888000000000ULL,
		0x8000000000000000ULL, 0xffffffffff600000ULL,
	};
	uint64_t a;
	unsigned int r = below(t, 20);

	if (r == 0)
		return bad[below(t, ARRAY_SIZE(bad))];
	if (r == 1)
		return guard_hole + (aligned ? 0 : below(t, page));
	if (r == 2 && near_top)
		a = near_top + below(t, 16) * page;
	else if (r == 3)
		a = regions[below(t, T_NKINDS)].base + REGION - below(t, 4) * page;
	else
		a = regions[below(t, T_NKINDS)].base + below(t, REGION / page) * page;
	if (!aligned && chance(t, 40))
		a += chance(t, 50) ? below(t, page) : page - 1 - below(t, 8);
	return a;
}

static uint64_t gen_size(struct thr *t, uint64_t addr, bool aligned)
{
	static const uint64_t sizes[] = {
		0, 1, 7, 8, 4095, 4096, 4097, 8192, SZ_2M, 1ULL << 32,
		1ULL << 40, ~0ULL, ~0ULL & ~4095ULL, 0x8000000000000000ULL,
	};
	uint64_t s;

	switch (below(t, 10)) {
	case 0:
		s = sizes[below(t, ARRAY_SIZE(sizes))];
		break;
	case 1:		/* up to TASK_SIZE exactly, or one page past it */
		s = TASK_TOP - addr + (chance(t, 50) ? 0 : 4096);
		break;
	case 2:		/* wraps around */
		s = -addr + below(t, 3) * 4096;
		break;
	case 3:
		s = below(t, 2 * REGION / page) * page + page;
		break;
	default:
		s = (below(t, 16) + 1) * page;
		break;
	}
	if (!aligned && chance(t, 30))
		s += below(t, 64);
	return s;
}

static const unsigned int odd_counts[] = { 0, 1, 255, 256, 257, 300, ~0U };
static const unsigned int odd_params[] = {
	0, 2, 3, 4, 5, 6, 7, 8, 9, 0x80000000U, ~0U,
};

/* Whether VM_SET_PARAM takes @value for @param (see vsvm_drm.h). */
static bool param_valid(uint32_t param, uint64_t value)
{
	switch (param) {
	case DRM_VSVM_PARAM_TIMESLICE_MS:
		return value <= 10000;
	case DRM_VSVM_PARAM_SPLIT:
	case DRM_VSVM_PARAM_THRASH:
		return value <= 1;
	case DRM_VSVM_PARAM_THRASH_LAPSE_US:
	case DRM_VSVM_PARAM_THRASH_THROTTLE_US:
		return value && value <= 1000000;
	case DRM_VSVM_PARAM_THRASH_PIN_MS:
		return value && value <= 10000;
	case DRM_VSVM_PARAM_PREFETCH:
		return value <= 100;
	case DRM_VSVM_PARAM_FAULT_SIZE:
		return value == 4096 || value == 65536 || value == 2097152;
	default:
		return false;
	}
}

static const uint64_t timeslices[] = {
	0, 1, 10, 51, 100, 4096, 10000, 10001, 65536, 2097152, ~0ULL,
};

static const uint64_t odd_npages[] = {
	0, ~0ULL, 1ULL << 35, 1ULL << 52, TASK_TOP >> 12, (TASK_TOP >> 12) + 1,
};

static const enum call small_calls[] = { C_QUERY, C_VM_STATS, C_SET_PARAM };
static const int prots[] = { PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE };

/* Pointers to nothing readable (or, guard_ro, to nothing writable). */
static const uint64_t *bad_ptrs(void)
{
	static uint64_t tab[8];

	tab[0] = 0;
	tab[1] = guard_hole;
	tab[2] = guard_none;
	tab[3] = guard_ro;
	tab[4] = ~0ULL;
	tab[5] = 1;
	tab[6] = 0xffff888000000000ULL;
	tab[7] = guard_hole + 1;
	return tab;
}

static uint64_t bad_ptr(struct thr *t)
{
	return bad_ptrs()[below(t, 8)];
}

static int pick_fd(struct thr *t, bool dm)
{
	return dm ? fd_dm[below(t, 2)] : fd_gpu[below(t, 2)];
}

/* --- the calls --- */

static bool range_ok(uint64_t a, uint64_t s)
{
	return s && a + s >= a && a + s <= TASK_TOP;
}

static bool op_valid(const struct drm_vsvm_op *op)
{
	if (op->flags || !range_ok(op->gpu_addr, op->size))
		return false;
	switch (op->code) {
	case DRM_VSVM_OP_READ:
	case DRM_VSVM_OP_WRITE:
		return true;
	case DRM_VSVM_OP_FILL:
		return !((op->gpu_addr | op->size) & 7);
	case DRM_VSVM_OP_COPY:
		return range_ok(op->data, op->size) &&
		       !(op->data < op->gpu_addr + op->size &&
			 op->gpu_addr < op->data + op->size);
	case DRM_VSVM_OP_ATOMIC_ADD:
		return op->size == 8 && !(op->gpu_addr & 7);
	}
	return false;
}

static void gen_op(struct thr *t, struct drm_vsvm_op *op)
{
	memset(op, 0, sizeof(*op));
	op->code = chance(t, 90) ? 1 + below(t, 5) :
		   (chance(t, 50) ? 0 : rnd(t));
	op->flags = chance(t, 5) ? 1U << below(t, 32) : 0;
	op->gpu_addr = gen_addr(t, chance(t, 70));
	op->size = op->code == DRM_VSVM_OP_ATOMIC_ADD && chance(t, 80) ? 8 :
		   gen_size(t, op->gpu_addr, chance(t, 70));
	if (op->code == DRM_VSVM_OP_FILL && chance(t, 80)) {
		op->gpu_addr &= ~7ULL;
		op->size &= ~7ULL;
	}
	switch (op->code) {
	case DRM_VSVM_OP_READ:
	case DRM_VSVM_OP_COPY:
		op->data = gen_addr(t, chance(t, 50));
		break;
	case DRM_VSVM_OP_WRITE:	/* the kernel only reads it: anything goes */
		op->data = chance(t, 20) ? rnd(t) : gen_addr(t, false);
		break;
	default:
		op->data = rnd(t);
	}
	op->result = rnd(t);
}

static void describe_op(char *buf, size_t len, const struct drm_vsvm_op *op)
{
	snprintf(buf, len, "{code %u flags %#x addr %#llx size %#llx data %#llx}",
		 op->code, op->flags, (unsigned long long)op->gpu_addr,
		 (unsigned long long)op->size, (unsigned long long)op->data);
}

/*
 * An argument pointer: the real one mostly, else one the kernel cannot
 * read (EFAULT) or, @ro, cannot write back (EFAULT for _IOWR).
 */
static void *gen_argp(struct thr *t, void *good, bool *bad)
{
	static const unsigned long bads[] = { 0, 1, 0xffff888000000000UL, ~0UL };

	*bad = chance(t, 6);
	if (!*bad)
		return good;
	switch (below(t, 4)) {
	case 0:
		return (void *)guard_hole;
	case 1:
		return (void *)guard_none;
	case 2:
		return (void *)guard_ro;
	}
	return (void *)bads[below(t, 4)];
}

/* Run the job @e (arguments at @argp) and judge the result. */
static void exec_call(struct thr *t, int fd, struct drm_vsvm_exec *e,
		      void *argp, bool bad_arg, bool child)
{
	bool all_valid = true;
	struct ring_ent *r;
	char d0[112] = "";
	unsigned int i, n = e->num_ops;
	int ret, want = 0;

	if (e->ops == (uintptr_t)t->ops && n <= MAX_OPS) {
		for (i = 0; i < n; i++)
			all_valid &= op_valid(&t->ops[i]);
		if (n)
			describe_op(d0, sizeof(d0), &t->ops[0]);
	}
	r = ring_begin(t, "%sEXEC(fd %d, arg %p: ops %#llx num_ops %u flags %#x pad %#x; op0 %s)",
		       child ? "child " : "", fd, argp,
		       (unsigned long long)e->ops, n, e->flags, e->pad, d0);
	ret = raw_ioctl(fd, DRM_IOCTL_VSVM_EXEC, argp);
	if (bad_arg || argp == (void *)guard_ro)
		want = -EFAULT;	/* read-only: the results cannot go back */
	else if (child)
		want = -EACCES;
	else if ((e->flags & ~7U) || (e->flags & 3) == 3 || e->pad ||
		 !n || n > 256)
		want = -EINVAL;
	else if (e->ops == (uintptr_t)t->ops && !all_valid)
		want = -EINVAL;
	judge(t, r, C_EXEC, ret, want);
	/* A job that succeeded completed every op unless interrupted. */
	if (!ret && !bad_arg && !(e->flags & DRM_VSVM_EXEC_INTERRUPTIBLE) &&
	    e->completed != n)
		fail(t, "%s: succeeded with completed %u of %u", r->desc,
		     e->completed, n);
}

static void do_exec(struct thr *t, int fd, bool child)
{
	struct drm_vsvm_exec *e = (void *)t->scratch;
	unsigned int i, n;
	bool bad_arg;
	void *argp;

	memset(e, 0, sizeof(*e));
	n = chance(t, 70) ? 1 + below(t, 4) : below(t, 8) ? 1 + below(t, 16) :
	    odd_counts[below(t, ARRAY_SIZE(odd_counts))];
	for (i = 0; i < n && i < MAX_OPS; i++)
		gen_op(t, &t->ops[i]);
	e->ops = n <= MAX_OPS && chance(t, 95) ? (uintptr_t)t->ops :
		 bad_ptr(t);
	e->num_ops = n;
	e->flags = below(t, 3) | (chance(t, 30) ? DRM_VSVM_EXEC_INTERRUPTIBLE : 0);
	if (chance(t, 5))
		e->flags = chance(t, 50) ? 3 : 1U << below(t, 32);
	e->pad = chance(t, 5) ? rnd(t) | 1 : 0;
	argp = gen_argp(t, e, &bad_arg);
	exec_call(t, fd, e, argp, bad_arg, child);
}

static void do_migrate(struct thr *t, int fd, bool child)
{
	struct drm_vsvm_migrate *m = (void *)t->scratch;
	struct ring_ent *r;
	uint64_t end;
	bool bad_arg;
	void *argp;
	int ret, want = 0;

	memset(m, 0, sizeof(*m));
	m->start = gen_addr(t, chance(t, 85));
	m->size = gen_size(t, m->start, chance(t, 85));
	m->target = chance(t, 95) ? below(t, 2) : (chance(t, 50) ? 2 : rnd(t));
	m->flags = chance(t, 5) ? 1U << below(t, 32) : 0;
	argp = gen_argp(t, m, &bad_arg);
	r = ring_begin(t, "%sMIGRATE(fd %d, arg %p: start %#llx size %#llx target %u flags %#x)",
		       child ? "child " : "", fd, argp,
		       (unsigned long long)m->start, (unsigned long long)m->size,
		       m->target, m->flags);
	ret = raw_ioctl(fd, DRM_IOCTL_VSVM_MIGRATE, argp);
	end = m->start + m->size;
	if (bad_arg)
		want = -EFAULT;
	else if (child)
		want = -EACCES;
	else if (m->flags || m->target > 1 || !m->size || (m->start & 4095) ||
		 (m->size & 4095) || end < m->start || end > TASK_TOP)
		want = -EINVAL;
	judge(t, r, C_MIGRATE, ret, want);
}

static void do_small(struct thr *t, int fd, enum call c, bool child)
{
	union {
		struct drm_vsvm_query q;
		struct drm_vsvm_vm_stats s;
		struct drm_vsvm_vm_set_param p;
	} *u = (void *)t->scratch;
	struct ring_ent *r;
	unsigned long req;
	bool bad_arg;
	void *argp;
	int ret, want = 0;

	memset(u, 0, sizeof(*u));
	argp = gen_argp(t, u, &bad_arg);
	switch (c) {
	case C_QUERY:
		u->q.flags = chance(t, 8) ? 1U << below(t, 32) : 0;
		u->q.pad = chance(t, 8) ? rnd(t) | 1 : 0;
		u->q.pad2 = chance(t, 8) ? rnd(t) | 1 : 0;
		u->q.vram_size = rnd(t);	/* outputs: ignored on input */
		req = DRM_IOCTL_VSVM_QUERY;
		r = ring_begin(t, "%sQUERY(fd %d, arg %p: flags %#x pad %#x pad2 %#x)",
			       child ? "child " : "", fd, argp, u->q.flags,
			       u->q.pad, u->q.pad2);
		if (u->q.flags || u->q.pad || u->q.pad2)
			want = -EINVAL;
		break;
	case C_VM_STATS:
		u->s.flags = chance(t, 8) ? 1U << below(t, 32) : 0;
		u->s.pad = chance(t, 8) ? rnd(t) | 1 : 0;
		u->s.num_ranges = rnd(t);
		req = DRM_IOCTL_VSVM_VM_STATS;
		r = ring_begin(t, "%sVM_STATS(fd %d, arg %p: flags %#x pad %#x)",
			       child ? "child " : "", fd, argp, u->s.flags,
			       u->s.pad);
		if (child)
			want = -EACCES;
		else if (u->s.flags || u->s.pad)
			want = -EINVAL;
		break;
	default:
		u->p.param = odd_params[below(t, ARRAY_SIZE(odd_params))];
		if (chance(t, 70))
			u->p.param = DRM_VSVM_PARAM_TIMESLICE_MS;
		else if (chance(t, 30))
			u->p.param = DRM_VSVM_PARAM_SPLIT;
		else if (chance(t, 25))
			u->p.param = rnd(t);
		u->p.pad = chance(t, 8) ? rnd(t) | 1 : 0;
		u->p.value = chance(t, 85) ? timeslices[below(t, ARRAY_SIZE(timeslices))] : rnd(t);
		/* Long residency slows everyone down: mostly short. */
		if (!u->p.pad && u->p.param == 1 && u->p.value > 50 &&
		    u->p.value <= 10000 && chance(t, 90))
			u->p.value = below(t, 50);
		req = DRM_IOCTL_VSVM_VM_SET_PARAM;
		r = ring_begin(t, "%sVM_SET_PARAM(fd %d, arg %p: param %u pad %#x value %#llx)",
			       child ? "child " : "", fd, argp, u->p.param,
			       u->p.pad, (unsigned long long)u->p.value);
		if (child)
			want = -EACCES;
		else if (u->p.pad || !param_valid(u->p.param, u->p.value))
			want = -EINVAL;
		break;
	}
	ret = raw_ioctl(fd, req, argp);
	if (bad_arg && !(c == C_SET_PARAM && argp == (void *)guard_ro))
		want = -EFAULT;
	else if (bad_arg)	/* _IOW: the kernel reads zeros, param 0 */
		want = child ? -EACCES : -EINVAL;
	else if (!want)
		want = WANT_OK;
	judge(t, r, c, ret, want);
	if (!ret && c == C_QUERY && !child && !bad_arg &&
	    (u->q.page_size != (uint64_t)page || u->q.device_index >= u->q.num_devices))
		fail(t, "%s: page_size %llu device_index %u num_devices %u", r->desc,
		     (unsigned long long)u->q.page_size, u->q.device_index,
		     u->q.num_devices);
}

/* Unknown driver ioctl numbers, and known ones with the wrong size. */
static void do_weird(struct thr *t, int fd, bool size_only)
{
	static const unsigned int dirs[] = {
		_IOC_NONE, _IOC_READ, _IOC_WRITE, _IOC_READ | _IOC_WRITE,
	};
	static const enum call nrcall[] = {
		C_QUERY, C_EXEC, C_MIGRATE, C_VM_STATS, C_SET_PARAM,
	};
	unsigned int nr, size, dir = dirs[below(t, 4)];
	struct ring_ent *r;
	unsigned long req;
	enum call c;
	int ret;

	size = chance(t, 10) ? _IOC_SIZEMASK : below(t, 200);
	if (size_only || chance(t, 50)) {
		nr = below(t, 5);
		c = C_BADSIZE;
		/* A valid argument, zero-extended or cut short by DRM. */
		switch (nr) {
		case DRM_VSVM_EXEC: {
			struct drm_vsvm_exec *e = (void *)t->scratch;

			memset(t->scratch, 0, SCRATCH);
			gen_op(t, &t->ops[0]);
			e->ops = (uintptr_t)t->ops;
			e->num_ops = 1;
			break;
		}
		case DRM_VSVM_MIGRATE: {
			struct drm_vsvm_migrate *m = (void *)t->scratch;

			memset(t->scratch, 0, SCRATCH);
			m->start = gen_addr(t, true);
			m->size = gen_size(t, m->start, true);
			break;
		}
		default:
			memset(t->scratch, 0, SCRATCH);
			if (chance(t, 30))
				t->scratch[below(t, 24)] = 1;
		}
	} else {
		nr = 5 + below(t, DRM_COMMAND_END - DRM_COMMAND_BASE - 5);
		c = C_UNKNOWN;
		memset(t->scratch, 0, SCRATCH);
	}
	req = _IOC(dir, DRM_IOCTL_BASE, DRM_COMMAND_BASE + nr, size);
	r = ring_begin(t, "ioctl(fd %d, %#lx: nr %#x dir %u size %u)", fd, req,
		       DRM_COMMAND_BASE + nr, dir, size);
	ret = raw_ioctl(fd, req, t->scratch);
	if (c == C_UNKNOWN) {
		judge(t, r, c, ret, -EINVAL);
		return;
	}
	ring_end(t, r, ret);
	count(c, ret);
	if (ret < 0 && (-ret >= 128 ||
			!((allowed[nrcall[nr]] | E(EFAULT) | E(EINVAL)) & E(-ret))))
		fail(t, "%s: undocumented errno %s", r->desc, errname(-ret));
}

static const unsigned long dm_req[] = {
	HMM_DMIRROR_READ, HMM_DMIRROR_WRITE, HMM_DMIRROR_MIGRATE_TO_DEV,
	HMM_DMIRROR_MIGRATE_TO_SYS, HMM_DMIRROR_SNAPSHOT, HMM_DMIRROR_EXCLUSIVE,
	HMM_DMIRROR_CHECK_EXCLUSIVE, HMM_DMIRROR_RELEASE,
};

static void do_dmirror(struct thr *t, int fd, bool child)
{
	struct hmm_dmirror_cmd *cmd = (void *)t->scratch;
	unsigned int which = below(t, 9);
	enum call c = which < 8 ? C_DM_READ + which : C_DM_UNKNOWN;
	unsigned long req;
	struct ring_ent *r;
	uint64_t end;
	bool bad_arg;
	void *argp;
	int ret, want = 0;

	memset(cmd, 0, sizeof(*cmd));
	cmd->addr = gen_addr(t, chance(t, 85));
	switch (below(t, 6)) {
	case 0:
		cmd->npages = odd_npages[below(t, ARRAY_SIZE(odd_npages))];
		break;
	case 1:
		cmd->npages = (TASK_TOP - cmd->addr) >> 12;
		break;
	default:
		cmd->npages = 1 + below(t, DM_PAGES);
	}
	/* ptr: our buffer, big enough when npages is small; else unwritable. */
	if (cmd->npages <= DM_PAGES && chance(t, 90))
		cmd->ptr = (uintptr_t)t->dmbuf;
	else
		cmd->ptr = bad_ptr(t);
	if (cmd->ptr == guard_ro)	/* the kernel would write: EFAULT */
		cmd->ptr = guard_none;
	if (which == 4 && chance(t, 50))	/* SNAPSHOT: one byte a page */
		cmd->ptr = regions[T_ANON2].base;
	cmd->cpages = rnd(t);
	cmd->faults = rnd(t);
	req = which < 8 ? dm_req[which] :
	      _IOWR('H', 8 + below(t, 248), struct hmm_dmirror_cmd);
	if (which == 8 && chance(t, 30)) {	/* a known number, another size */
		unsigned int size = below(t, 100);

		if (size == sizeof(*cmd))
			size++;
		req = _IOC(_IOC_READ | _IOC_WRITE, 'H', below(t, 8), size);
	}
	argp = gen_argp(t, cmd, &bad_arg);
	if (argp == (void *)guard_ro)
		argp = cmd;
	bad_arg = argp != cmd;
	r = ring_begin(t, "%sDM(fd %d, %#lx, arg %p: addr %#llx ptr %#llx npages %#llx)",
		       child ? "child " : "", fd, req, argp,
		       (unsigned long long)cmd->addr, (unsigned long long)cmd->ptr,
		       (unsigned long long)cmd->npages);
	ret = raw_ioctl(fd, req, argp);
	end = cmd->addr + (cmd->npages << 12);
	if (bad_arg)
		want = -EFAULT;
	else if ((cmd->addr & 4095) || !cmd->npages ||
		 cmd->npages > (TASK_TOP >> 12) || end > TASK_TOP ||
		 cmd->addr >= end)
		want = -EINVAL;
	else if (child)
		want = -EACCES;
	else if (c == C_DM_UNKNOWN)	/* whatever size the number says */
		want = -EINVAL;
	judge(t, r, c, ret, want);
}

/* --- calls whose data can be checked: plain private anonymous memory --- */

static void check_data(struct thr *t, const char *what, size_t off, size_t len)
{
	__atomic_fetch_add(&data_checks, 1, __ATOMIC_RELAXED);
	if (!memcmp(t->data + off, t->shadow + off, len))
		return;
	__atomic_fetch_add(&data_bad, 1, __ATOMIC_RELAXED);
	while (t->data[off] == t->shadow[off])
		off++;
	fail(t, "%s: lost data: byte %#zx of the buffer at %p is %#x, not %#x",
	     what, off, t->data, t->data[off], t->shadow[off]);
}

static void check_copy(struct thr *t, const char *what, const void *got,
		       size_t off, size_t len)
{
	__atomic_fetch_add(&data_checks, 1, __ATOMIC_RELAXED);
	if (!memcmp(got, t->shadow + off, len))
		return;
	__atomic_fetch_add(&data_bad, 1, __ATOMIC_RELAXED);
	fail(t, "%s: the device returned other bytes than the CPU wrote", what);
}

/*
 * What load explains on memory that is fine: no room in VRAM, device-only
 * placement refused, pages that kept moving, memory pressure; for the
 * test_hmm front end, pages another GPU holds (ENOENT).
 */
static bool transient(int ret)
{
	return ret == -ENOSPC || ret == -EOPNOTSUPP || ret == -EBUSY ||
	       ret == -ENOMEM || ret == -ENOENT;
}

static int data_dm(struct thr *t, struct ring_ent **rp)
{
	struct hmm_dmirror_cmd cmd;
	unsigned int n = 1 + below(t, DM_PAGES), p, which = below(t, 3);
	int fd = pick_fd(t, true), ret;
	size_t off, len = n * page;

	p = below(t, DATA_PAGES - n + 1);
	off = p * page;
	memset(&cmd, 0, sizeof(cmd));
	cmd.addr = (uintptr_t)t->data + off;
	cmd.ptr = (uintptr_t)t->dmbuf;
	cmd.npages = n;
	if (which == 0) {
		vsvm_pattern_fill(t->dmbuf, len, rnd(t));
		memcpy(t->shadow + off, t->dmbuf, len);
		*rp = ring_begin(t, "data: DM_WRITE %u pages at %p+%#zx", n, t->data, off);
		ret = raw_ioctl(fd, HMM_DMIRROR_WRITE, &cmd);
		judge(t, *rp, C_DM_WRITE, ret, 0);
		if (ret)
			memcpy(t->data + off, t->dmbuf, len);
		else
			check_data(t, (*rp)->desc, off, len);
	} else {
		*rp = ring_begin(t, "data: %s %u pages at %p+%#zx",
				 which == 1 ? "DM_READ" : "DM_MIGRATE_TO_DEV", n,
				 t->data, off);
		ret = raw_ioctl(fd, which == 1 ? HMM_DMIRROR_READ :
				HMM_DMIRROR_MIGRATE_TO_DEV, &cmd);
		judge(t, *rp, which == 1 ? C_DM_READ : C_DM_TO_DEV, ret, 0);
		if (!ret)
			check_copy(t, (*rp)->desc, t->dmbuf, off, len);
		check_data(t, (*rp)->desc, off, len);
	}
	return ret;
}

static void do_data(struct thr *t)
{
	size_t size = DATA_PAGES * page, off = below(t, size - 8) & ~7UL;
	size_t len = 8 * (1 + below(t, (size - off) / 8));
	unsigned int policy = below(t, 3), pat = rnd(t), i;
	struct drm_vsvm_stats st;
	struct ring_ent *r = NULL;
	int fd = pick_fd(t, false), ret = 0;
	uint64_t v;

	switch (below(t, have_dm ? 5 : 4)) {
	case 0:		/* GPU write, CPU read */
		vsvm_pattern_fill(t->tmp, len, pat);
		r = ring_begin(t, "data: GPU write %#zx at %p+%#zx policy %u", len,
			       t->data, off, policy);
		ret = vsvm_gpu_write(fd, t->data + off, t->tmp, len, policy, &st);
		judge(t, r, C_EXEC, ret, 0);
		memcpy(t->shadow + off, t->tmp, len);
		if (ret)	/* done up to the failing page: finish it */
			memcpy(t->data + off, t->tmp, len);
		else
			check_data(t, r->desc, off, len);
		break;
	case 1:		/* CPU write, GPU read */
		vsvm_pattern_fill(t->data + off, len, pat);
		memcpy(t->shadow + off, t->data + off, len);
		r = ring_begin(t, "data: GPU read %#zx at %p+%#zx policy %u", len,
			       t->data, off, policy);
		ret = vsvm_gpu_read(fd, t->data + off, t->tmp, len, policy, &st);
		judge(t, r, C_EXEC, ret, 0);
		if (!ret)
			check_copy(t, r->desc, t->tmp, off, len);
		break;
	case 2:		/* fill */
		v = rnd(t);
		r = ring_begin(t, "data: GPU fill %#zx at %p+%#zx with %#llx policy %u",
			       len, t->data, off, (unsigned long long)v, policy);
		ret = vsvm_gpu_fill(fd, t->data + off, len, v, policy, &st);
		judge(t, r, C_EXEC, ret, 0);
		for (i = 0; i < len / 8; i++)
			memcpy(t->shadow + off + 8 * i, &v, 8);
		if (ret)
			memcpy(t->data + off, t->shadow + off, len);
		else
			check_data(t, r->desc, off, len);
		break;
	case 3:		/* migrations keep the content */
		r = ring_begin(t, "data: MIGRATE %p size %#zx target %u", t->data,
			       size, policy & 1);
		ret = vsvm_migrate(fd, t->data, size, policy & 1, &st);
		judge(t, r, C_MIGRATE, ret, 0);
		check_data(t, r->desc, 0, size);
		break;
	default:	/* the test_hmm front end */
		ret = data_dm(t, &r);
		break;
	}
	if (ret && !transient(ret) && !stopped())
		fail(t, "%s: %s on plain anonymous memory", r->desc, errname(-ret));
}

/*
 * fork(): the child has copies of the files, which must refuse it, and a
 * copy of the buffer, which must be the parent's at the time of the fork.
 */
static void do_fork(struct thr *t)
{
	struct ring_ent *r = ring_begin(t, "fork");
	int status, i;
	pid_t pid;

	__atomic_fetch_add(&forks, 1, __ATOMIC_RELAXED);
	pid = fork();
	if (pid < 0) {
		ring_end(t, r, -errno);
		return;
	}
	if (!pid) {
		pthread_mutex_init(&out_lock, NULL);
		WRITE_ONCE(stop_flag, 0);
		for (i = 0; i < 8 && !stopped(); i++) {
			switch (below(t, 4)) {
			case 0:
				do_exec(t, pick_fd(t, false), true);
				break;
			case 1:
				do_migrate(t, pick_fd(t, false), true);
				break;
			case 2:
				do_small(t, pick_fd(t, false),
					 small_calls[below(t, ARRAY_SIZE(small_calls))], true);
				break;
			default:
				if (have_dm)
					do_dmirror(t, pick_fd(t, true), true);
			}
		}
		if (!stopped() && memcmp(t->data, t->shadow, DATA_PAGES * page))
			fail(t, "fork child: its copy of the buffer differs");
		if (stopped())
			dump_rings();
		_exit(stopped() ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	ring_end(t, r, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		__atomic_fetch_add(&fork_bad, 1, __ATOMIC_RELAXED);
		fail(t, "fork child %d: %s %d", pid,
		     WIFEXITED(status) ? "exit status" : "killed by signal",
		     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
}

static void *caller_main(void *arg)
{
	struct thr *t = arg;
	unsigned int r;

	t->tid = gettid();
	while (!stopped()) {
		r = below(t, 1000);
		if (r < 220)
			do_exec(t, pick_fd(t, false), false);
		else if (r < 320)
			do_migrate(t, pick_fd(t, false), false);
		else if (r < 380)
			do_small(t, pick_fd(t, false),
				 small_calls[below(t, ARRAY_SIZE(small_calls))],
				 false);
		else if (r < 430)
			do_weird(t, pick_fd(t, false), false);
		else if (r < 680 && have_dm)
			do_dmirror(t, pick_fd(t, true), false);
		else if (r < 997)
			do_data(t);
		else
			do_fork(t);
	}
	WRITE_ONCE(t->done, true);
	return NULL;
}

/* --- the mutator: the targets change under the callers' feet --- */

static int reopen(struct thr *t, unsigned int which)
{
	int *slot = which < 2 ? &fd_gpu[which] : &fd_dm[which - 2];
	char path[32];
	int fd;

	if (which < 2) {
		fd = vsvm_open_device(which);
	} else {
		snprintf(path, sizeof(path), "/dev/hmm_dmirror%u", which - 2);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	if (fd < 0)
		return fd;
	/* Atomic for the callers: calls in flight keep the old file. */
	if (dup2(fd, *slot) < 0)
		fd = -errno;
	close(fd);
	return fd < 0 ? fd : 0;
}

static void *mutator_main(void *arg)
{
	struct thr *t = arg;
	struct region *rg;
	struct ring_ent *r;
	unsigned long a, len;
	unsigned int x;
	int ret;

	t->tid = gettid();
	while (!stopped()) {
		x = below(t, 100);
		rg = &regions[below(t, T_NKINDS)];
		a = rg->base + below(t, REGION / page) * page;
		len = (1 + below(t, 64)) * page;
		if (a + len > rg->base + REGION)
			len = rg->base + REGION - a;
		if (x < 35) {
			pthread_kill(thrs[below(t, cfg.threads)].pt, SIGUSR1);
		} else if (!rg->present || rg->kind == T_HOLE) {
			usleep(100);
		} else if (x < 50) {
			r = ring_begin(t, "madvise(%#lx, %#lx, MADV_DONTNEED)", a, len);
			ring_end(t, r, madvise((void *)a, len, MADV_DONTNEED) ? -errno : 0);
		} else if (x < 60) {
			int prot = prots[below(t, ARRAY_SIZE(prots))];

			if (rg->kind == T_NONE || rg->kind == T_RDONLY)
				prot &= ~PROT_WRITE;
			if (rg->kind == T_NONE)
				prot = PROT_NONE;
			r = ring_begin(t, "mprotect(%#lx, %#lx, %d)", a, len, prot);
			ring_end(t, r, mprotect((void *)a, len, prot) ? -errno : 0);
		} else if (x < 70) {
			r = ring_begin(t, "munmap(%#lx, %#lx)", a, len);
			ring_end(t, r, munmap((void *)a, len) ? -errno : 0);
		} else if (x < 85) {
			r = ring_begin(t, "remap %s at %#lx", kind_names[rg->kind],
				       rg->base);
			munmap((void *)rg->base, REGION);
			usleep(below(t, 500));
			ret = map_region(rg, false);
			ring_end(t, r, ret);
		} else if (x < 95) {
			unsigned int which = below(t, have_dm ? 4 : 2);

			r = ring_begin(t, "close and reopen file %u", which);
			ring_end(t, r, reopen(t, which));
		}
		usleep(100 + below(t, 1500));
	}
	WRITE_ONCE(t->done, true);
	return NULL;
}

/* --- the sweep: every boundary value of every field, one thread --- */

/* The last pages below TASK_SIZE, unless ours, become TASK_SIZE itself. */
static uint64_t tame(uint64_t a)
{
	if (!near_top && a >= TASK_TOP - 16 * page && a < TASK_TOP)
		return TASK_TOP;
	return a;
}

static void sweep_exec_fields(struct thr *t, int fd)
{
	static const uint64_t addrs[] = {
		0, 1, 4095, 4096, TASK_TOP - 8, TASK_TOP - 4096, TASK_TOP,
		~0ULL, ~0ULL - 7, 1ULL << 47, 0xffff888000000000ULL,
	};
	static const uint64_t sizes[] = {
		0, 1, 7, 8, 4095, 4096, 1ULL << 40, ~0ULL, ~0ULL - 4095,
		0x8000000000000000ULL,
	};
	struct drm_vsvm_exec *e = (void *)t->scratch;
	struct drm_vsvm_op good = {
		.code = DRM_VSVM_OP_WRITE, .size = 8,
		.gpu_addr = regions[T_ANON].base, .data = (uintptr_t)t->tmp,
	};
	unsigned int f, i, code, nv = 0;

	for (f = 0; f < 9; f++) {
		const uint64_t *vals = f == 3 || f == 5 ? sizes : addrs;

		nv = f == 3 || f == 5 ? sizeof(sizes) / 8 : sizeof(addrs) / 8;
		for (i = 0; i < nv; i++) {
			for (code = 1; code <= 6; code++) {
				memset(e, 0, sizeof(*e));
				t->ops[0] = good;
				t->ops[0].code = code == 6 ? 0 : code;
				if (code == DRM_VSVM_OP_ATOMIC_ADD)
					t->ops[0].data = 1;
				if (code == DRM_VSVM_OP_COPY)
					t->ops[0].data = regions[T_ANON].base + 4096;
				e->ops = (uintptr_t)t->ops;
				e->num_ops = 1;
				switch (f) {
				case 0: /* gpu_addr */
					t->ops[0].gpu_addr = vals[i];
					break;
				case 1: /* data */
					t->ops[0].data = vals[i];
					break;
				case 2: /* unaligned target */
					t->ops[0].gpu_addr = regions[T_ANON].base + vals[i] % 4096;
					break;
				case 3: /* size */
					t->ops[0].size = vals[i];
					break;
				case 4: /* op flags */
					t->ops[0].flags = i ? 1U << (i % 32) : 0;
					break;
				case 5: /* size, at the top of the address space */
					t->ops[0].gpu_addr = TASK_TOP - 4096;
					t->ops[0].size = vals[i];
					break;
				case 6: /* job flags */
					e->flags = i < 4 ? i : 1U << (i + 20);
					break;
				case 7: /* pad, op count */
					e->pad = i & 1 ? 1U << i : 0;
					e->num_ops = odd_counts[i % ARRAY_SIZE(odd_counts)];
					for (nv = 1; nv < 256; nv++)
						t->ops[nv] = t->ops[0];
					nv = sizeof(addrs) / 8;
					break;
				default: /* the op array pointer */
					e->ops = i % 8 == 7 ? (uintptr_t)t->ops :
						 bad_ptrs()[i % 8];
				}
				t->ops[0].gpu_addr = tame(t->ops[0].gpu_addr);
				t->ops[0].data = tame(t->ops[0].data);
				if (e->ops != (uintptr_t)t->ops && e->ops != guard_ro &&
				    e->num_ops &&
				    e->num_ops <= 256 && !e->pad && e->flags < 3) {
					/* Unreadable array: EFAULT. */
					struct ring_ent *r;
					int ret;

					r = ring_begin(t, "sweep EXEC(ops %#llx)",
						       (unsigned long long)e->ops);
					ret = raw_ioctl(fd, DRM_IOCTL_VSVM_EXEC, e);
					judge(t, r, C_EXEC, ret, -EFAULT);
					continue;
				}
				exec_call(t, fd, e, e, false, false);
				if (stopped())
					return;
			}
		}
	}
}

static void sweep(struct thr *t)
{
	unsigned int i;
	int fd = fd_gpu[0];

	sweep_exec_fields(t, fd);
	/*
	 * Draws of the generators, one thread: 200 of each kind of call, so
	 * that each boundary value of each field comes up.
	 */
	for (i = 0; i < 1200 && !stopped(); i++) {
		switch (i % 6) {
		case 0:
			do_exec(t, pick_fd(t, false), false);
			break;
		case 1:
			do_migrate(t, pick_fd(t, false), false);
			break;
		case 2:
			do_small(t, pick_fd(t, false),
				 small_calls[i / 6 % 3],
				 false);
			break;
		case 3:
			do_weird(t, pick_fd(t, false), i & 8);
			break;
		case 4:
			if (have_dm)
				do_dmirror(t, pick_fd(t, true), false);
			break;
		default:
			do_data(t);
		}
	}
}

/* --- the kernel log --- */

static const char *const splats[] = {
	"BUG:", "WARNING:", "KASAN", "Oops", "list_add corruption",
	"list_del corruption", "UBSAN", "lockdep", "possible circular",
	"DMA-API:", "kernel BUG", "general protection fault",
};

/* Read what /dev/kmsg has; @report: a splat fails the run. */
static bool kmsg_poll(bool report)
{
	char buf[2048], *msg;
	bool hit = false;
	unsigned int i;
	ssize_t n;

	if (kmsg_fd < 0)
		return false;
	for (;;) {
		n = read(kmsg_fd, buf, sizeof(buf) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (n <= 0)
			break;
		buf[n] = 0;
		msg = strchr(buf, ';');
		msg = msg ? msg + 1 : buf;
		/* dma-debug's start-up lines are not reports. */
		if (strstr(msg, "DMA-API: preallocated") ||
		    strstr(msg, "DMA-API: debugging enabled"))
			continue;
		for (i = 0; i < ARRAY_SIZE(splats); i++) {
			if (!strstr(msg, splats[i]))
				continue;
			msg[strcspn(msg, "\n")] = 0;
			if (report) {
				/* The first one; KASAN may go on for ever. */
				if (!kmsg_splat)
					fail(NULL, "kernel log: %s", msg);
				hit = true;
				kmsg_splat = true;
			} else {
				diag("kernel log before the run (not ours): %s", msg);
			}
			break;
		}
	}
	return hit;
}

/* --- main --- */

static void on_signal(int sig)
{
	(void)sig;
}

/* Print the kernel stack of thread @t (a call that does not return). */
static void print_stack(struct thr *t)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stack", t->tid);
	f = fopen(path, "re");
	if (!f)
		return;
	diag("kernel stack of thread %u (tid %d):", t->id, t->tid);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		diag("  %s", line);
	}
	fclose(f);
}

/*
 * Watch the callers and the mutator until they all ended (@until_done) or
 * until @end: a call in flight for HANG_MS is a hang. Polls the kernel log
 * every second. Returns false on a hang.
 */
static bool watch(double end, bool until_done)
{
	double last_kmsg = 0;
	unsigned int i, left;

	for (;;) {
		left = 0;
		for (i = 0; i <= cfg.threads; i++) {
			struct thr *t = &thrs[i];

			if (READ_ONCE(t->done))
				continue;
			left++;
			if (__atomic_load_n(&t->in_call, __ATOMIC_ACQUIRE) &&
			    now_ms() - t->call_ms > HANG_MS) {
				fail(t, "a call has not returned for %.0f s",
				     HANG_MS / 1000);
				print_stack(t);
				return false;
			}
		}
		if (until_done ? !left : stopped() || now_ms() >= end)
			return true;
		usleep(200000);
		if (now_ms() > last_kmsg + 1000) {
			kmsg_poll(true);
			last_kmsg = now_ms();
		}
	}
}

static void print_stats(const char *phase, double secs)
{
	char line[1024];
	unsigned int c, e;
	int n;

	if (secs < 0.1)
		secs = 0.1;
	diag("%s: calls, calls per second and results, over %.1f s:", phase, secs);
	for (c = 0; c < C_NCALLS; c++) {
		unsigned long long total = 0;

		for (e = 0; e <= NERR; e++)
			total += counts[c][e];
		if (!total)
			continue;
		n = snprintf(line, sizeof(line), "%-20s %9llu calls %8.1f/s:",
			     call_names[c], total, total / secs);
		for (e = 0; e <= NERR && n < (int)sizeof(line) - 40; e++)
			if (counts[c][e])
				n += snprintf(line + n, sizeof(line) - n, " %s %llu",
					      e == NERR ? "other" : errname(e),
					      counts[c][e]);
		diag("%s", line);
	}
	diag("data checks: %llu, bad: %llu; forks: %llu, bad children: %llu",
	     data_checks, data_bad, forks, fork_bad);
}

static void help(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [-s SECONDS] [-S SEED] [-t THREADS]\n"
		"  -s  seconds of the concurrent phase (default 60)\n"
		"  -S  seed (default: from the clock; always printed)\n"
		"  -t  calling threads (default 4, at most %d)\n",
		argv0, MAX_THREADS - 1);
	exit(2);
}

static void tap(unsigned int n, bool ok, const char *name)
{
	say("%sok %u %s", ok ? "" : "not ", n, name);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	unsigned long next_b = AREA_B;
	unsigned int i;
	bool seeded = false, ok_setup = true, ok_sweep, ok_conc, hung = false;
	double t0, t1;
	int c;

	while ((c = getopt(argc, argv, "s:S:t:h")) != -1) {
		switch (c) {
		case 's':
			cfg.secs = strtoul(optarg, NULL, 0);
			break;
		case 'S':
			cfg.seed = strtoull(optarg, NULL, 0);
			seeded = true;
			break;
		case 't':
			cfg.threads = strtoul(optarg, NULL, 0);
			if (!cfg.threads || cfg.threads >= MAX_THREADS)
				help(argv[0]);
			break;
		default:
			help(argv[0]);
		}
	}
	if (!seeded) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		cfg.seed = ts.tv_sec * 1000003ULL ^ ts.tv_nsec;
	}
	page = sysconf(_SC_PAGESIZE);
	say("1..5");
	diag("seed %llu: replay with vsvm_fuzz -S %llu -s %u -t %u",
	     (unsigned long long)cfg.seed, (unsigned long long)cfg.seed,
	     cfg.secs, cfg.threads);

	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd < 0)
		diag("/dev/kmsg: %s: no splat detection of our own", errname(errno));
	kmsg_poll(false);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: EINTR would show */
	sigaction(SIGUSR1, &sa, NULL);

	for (i = 0; i < 2; i++) {
		fd_gpu[i] = vsvm_open_device(i);
		if (fd_gpu[i] < 0 && i)
			fd_gpu[i] = vsvm_open_device(0);
		if (fd_gpu[i] < 0) {
			diag("no vsvm device: %s", errname(-fd_gpu[i]));
			ok_setup = false;
		}
	}
	have_dm = true;
	for (i = 0; i < 2 && ok_setup; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/dev/hmm_dmirror%u", i);
		fd_dm[i] = open(path, O_RDWR | O_CLOEXEC);
		if (fd_dm[i] < 0) {
			diag("%s: %s: the test_hmm front end is not fuzzed (vsvm dmirror=1?)",
			     path, errname(errno));
			have_dm = false;
		}
	}
	if (ok_setup && setup_targets())
		ok_setup = false;
	for (i = 0; i <= cfg.threads && ok_setup; i++) {
		struct thr *t = &thrs[i];

		t->id = i;
		t->rng = (cfg.seed + 1) * 0x9e3779b97f4a7c15ULL ^ (i + 1) * 0xbf58476d1ce4e5b9ULL;
		if (!t->rng)
			t->rng = 1;
		t->data = area_b_alloc(&next_b, DATA_PAGES);
		t->shadow = area_b_alloc(&next_b, DATA_PAGES);
		t->tmp = area_b_alloc(&next_b, DATA_PAGES);
		t->dmbuf = area_b_alloc(&next_b, DM_PAGES);
		t->scratch = area_b_alloc(&next_b, SCRATCH / page);
		t->ops = area_b_alloc(&next_b,
				      (MAX_OPS * sizeof(*t->ops) + page - 1) / page);
		if (!t->data || !t->shadow || !t->tmp || !t->dmbuf ||
		    !t->scratch || !t->ops) {
			diag("cannot map the buffers of thread %u", i);
			ok_setup = false;
			break;
		}
		vsvm_pattern_fill(t->data, DATA_PAGES * page, i);
		memcpy(t->shadow, t->data, DATA_PAGES * page);
	}
	tap(1, ok_setup, "setup");
	if (!ok_setup) {
		for (i = 2; i <= 5; i++)
			tap(i, false, "not run: setup failed");
		return KSFT_FAIL;
	}

	/* Phase 2, in a thread of its own for the ring. */
	t0 = now_ms();
	sweep(&thrs[cfg.threads]);
	kmsg_poll(true);
	ok_sweep = !failed();
	tap(2, ok_sweep, "sweep");
	print_stats("sweep", (now_ms() - t0) / 1000);
	memset(counts, 0, sizeof(counts));

	/* Phase 3. */
	t0 = now_ms();
	if (ok_sweep) {
		pthread_t mut;

		for (i = 0; i < cfg.threads; i++)
			pthread_create(&thrs[i].pt, NULL, caller_main, &thrs[i]);
		thrs[cfg.threads].pos = 0;
		pthread_create(&mut, NULL, mutator_main, &thrs[cfg.threads]);
		hung = !watch(t0 + cfg.secs * 1000.0, false);
		WRITE_ONCE(stop_flag, 1);
		if (!hung)
			hung = !watch(0, true);
		if (failed())	/* before the joins: a thread may hang */
			dump_rings();
		if (hung) {	/* it may never come back: report, leave */
			for (i = 3; i <= 5; i++)
				tap(i, false, "hung call, see above");
			_exit(KSFT_FAIL);
		}
		for (i = 0; i < cfg.threads; i++)
			pthread_join(thrs[i].pt, NULL);
		pthread_join(mut, NULL);
	}
	t1 = now_ms();
	if (kmsg_poll(true) || !ok_sweep)
		dump_rings();
	ok_conc = ok_sweep && !failed();
	tap(3, ok_conc, "concurrent");
	tap(4, ok_sweep && !data_bad && !fork_bad, "data");
	kmsg_poll(true);
	tap(5, !kmsg_splat, "kernel log");
	print_stats("concurrent", (t1 - t0) / 1000);
	diag("seed %llu", (unsigned long long)cfg.seed);

	return failed() ? KSFT_FAIL : KSFT_PASS;
}
