/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the vsvm selftests and the demo.
 */
#ifndef _VSVM_UTIL_H_
#define _VSVM_UTIL_H_

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <drm/drm.h>
#include <drm/vsvm_drm.h>

/*
 * One real, untorn access the compiler may neither drop nor merge, as with
 * the kernel's READ_ONCE()/WRITE_ONCE(): the tests time and race CPU
 * touches of memory the GPU mirrors.
 */
#ifndef READ_ONCE
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#endif
#ifndef WRITE_ONCE
#define WRITE_ONCE(x, val)	__atomic_store_n(&(x), (val), __ATOMIC_RELAXED)
#endif

/* ioctl() that returns -errno on failure and restarts on EINTR. */
static inline int vsvm_ioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret == -1 && (errno == EINTR || errno == EAGAIN));

	return ret == -1 ? -errno : 0;
}

/* True if @fd is a vsvm device. */
static inline int vsvm_is_vsvm(int fd)
{
	struct drm_version v;
	char name[16] = "";

	memset(&v, 0, sizeof(v));
	v.name = name;
	v.name_len = sizeof(name) - 1;
	if (vsvm_ioctl(fd, DRM_IOCTL_VERSION, &v))
		return 0;

	return !strcmp(name, "vsvm");
}

/*
 * Open the render node of vsvm device number @index (0-based, in render
 * node order). Returns the fd or -errno (-ENODEV: no such device).
 */
static inline int vsvm_open_device(int index)
{
	char path[64];
	int minor, fd, seen = 0;

	for (minor = 128; minor < 192; minor++) {
		snprintf(path, sizeof(path), "/dev/dri/renderD%d", minor);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (vsvm_is_vsvm(fd) && seen++ == index)
			return fd;
		close(fd);
	}

	return -ENODEV;
}

/* Run a job of @n operations with placement @policy. */
static inline int vsvm_exec(int fd, struct drm_vsvm_op *ops, unsigned int n,
			    unsigned int policy, struct drm_vsvm_stats *stats)
{
	struct drm_vsvm_exec e;
	int ret;

	memset(&e, 0, sizeof(e));
	e.ops = (__u64)(unsigned long)ops;
	e.num_ops = n;
	e.flags = policy;
	ret = vsvm_ioctl(fd, DRM_IOCTL_VSVM_EXEC, &e);
	if (stats)
		*stats = e.stats;
	return ret;
}

static inline int vsvm_op1(int fd, __u32 code, void *gpu, __u64 size,
			   __u64 data, unsigned int policy,
			   struct drm_vsvm_stats *stats, __u64 *result)
{
	struct drm_vsvm_op op;
	int ret;

	memset(&op, 0, sizeof(op));
	op.code = code;
	op.gpu_addr = (__u64)(unsigned long)gpu;
	op.size = size;
	op.data = data;
	ret = vsvm_exec(fd, &op, 1, policy, stats);
	if (result)
		*result = op.result;
	return ret;
}

/* The GPU reads @size bytes at @gpu into @buf. */
static inline int vsvm_gpu_read(int fd, const void *gpu, void *buf,
				__u64 size, unsigned int policy,
				struct drm_vsvm_stats *stats)
{
	return vsvm_op1(fd, DRM_VSVM_OP_READ, (void *)gpu, size,
			(__u64)(unsigned long)buf, policy, stats, NULL);
}

/* The GPU writes @size bytes of @buf at @gpu. */
static inline int vsvm_gpu_write(int fd, void *gpu, const void *buf,
				 __u64 size, unsigned int policy,
				 struct drm_vsvm_stats *stats)
{
	return vsvm_op1(fd, DRM_VSVM_OP_WRITE, gpu, size,
			(__u64)(unsigned long)buf, policy, stats, NULL);
}

static inline int vsvm_gpu_fill(int fd, void *gpu, __u64 size, __u64 pattern,
				unsigned int policy, struct drm_vsvm_stats *stats)
{
	return vsvm_op1(fd, DRM_VSVM_OP_FILL, gpu, size, pattern, policy,
			stats, NULL);
}

static inline int vsvm_migrate(int fd, void *start, __u64 size, __u32 target,
			       struct drm_vsvm_stats *stats)
{
	struct drm_vsvm_migrate m;
	int ret;

	memset(&m, 0, sizeof(m));
	m.start = (__u64)(unsigned long)start;
	m.size = size;
	m.target = target;
	ret = vsvm_ioctl(fd, DRM_IOCTL_VSVM_MIGRATE, &m);
	if (stats)
		*stats = m.stats;
	return ret;
}

static inline int vsvm_vm_stats(int fd, struct drm_vsvm_vm_stats *st)
{
	memset(st, 0, sizeof(*st));
	return vsvm_ioctl(fd, DRM_IOCTL_VSVM_VM_STATS, st);
}

/* Set the VM parameter @param (DRM_VSVM_PARAM_*) to @value. */
static inline int vsvm_set_param(int fd, __u32 param, __u64 value)
{
	struct drm_vsvm_vm_set_param p;

	memset(&p, 0, sizeof(p));
	p.param = param;
	p.value = value;
	return vsvm_ioctl(fd, DRM_IOCTL_VSVM_VM_SET_PARAM, &p);
}

static inline int vsvm_set_timeslice(int fd, __u64 ms)
{
	return vsvm_set_param(fd, DRM_VSVM_PARAM_TIMESLICE_MS, ms);
}

/* Describe the device behind @fd. */
static inline int vsvm_query_device(int fd, struct drm_vsvm_query *q)
{
	memset(q, 0, sizeof(*q));
	return vsvm_ioctl(fd, DRM_IOCTL_VSVM_QUERY, q);
}

/* The GPU copies @size bytes from GPU address @src to GPU address @dst. */
static inline int vsvm_gpu_copy(int fd, void *dst, const void *src,
				__u64 size, unsigned int policy,
				struct drm_vsvm_stats *stats)
{
	return vsvm_op1(fd, DRM_VSVM_OP_COPY, dst, size,
			(__u64)(unsigned long)src, policy, stats, NULL);
}

/* The GPU adds @val to the u64 at @gpu; the old value lands in @old. */
static inline int vsvm_gpu_atomic_add(int fd, __u64 *gpu, __u64 val,
				      struct drm_vsvm_stats *stats, __u64 *old)
{
	return vsvm_op1(fd, DRM_VSVM_OP_ATOMIC_ADD, gpu, sizeof(__u64), val,
			DRM_VSVM_POLICY_MIGRATE, stats, old);
}

/*
 * Map @size bytes of private anonymous memory starting at a multiple of
 * @align (a power of two, at least the page size). MAP_FAILED on error.
 */
static inline void *vsvm_map_aligned(size_t size, size_t align)
{
	size_t len = size + align;
	char *p, *start;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return p;
	start = (char *)(((unsigned long)p + align - 1) & ~(align - 1));
	if (start > p)
		munmap(p, start - p);
	if (p + len > start + size)
		munmap(start + size, p + len - (start + size));

	return start;
}

/* Byte @off of the test pattern number @seed: differs for every shift. */
static inline unsigned char vsvm_pattern_byte(size_t off, unsigned int seed)
{
	unsigned int x = (unsigned int)(off + 1) * 2654435761u + seed * 40503u;

	return (x >> 24) ^ (x >> 11) ^ seed;
}

static inline void vsvm_pattern_fill(void *buf, size_t size, unsigned int seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < size; i++)
		p[i] = vsvm_pattern_byte(i, seed);
}

/* Offset of the first byte of @buf not matching pattern @seed, or -1. */
static inline long vsvm_pattern_check(const void *buf, size_t size,
				      unsigned int seed)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < size; i++)
		if (p[i] != vsvm_pattern_byte(i, seed))
			return i;
	return -1;
}

/* Offset of the first byte of @buf that is not zero, or -1. */
static inline long vsvm_zero_check(const void *buf, size_t size)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < size; i++)
		if (p[i])
			return i;
	return -1;
}

/* Monotonic time in milliseconds. */
static inline double vsvm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * Put the path of debugfs file @name of the device behind @fd in @path.
 * Returns 0, or -errno if there is no such file (debugfs not mounted, not
 * root, a kernel without the file).
 */
static inline int vsvm_debugfs_path(int fd, const char *name, char *path,
				    size_t len)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	snprintf(path, len, "/sys/kernel/debug/dri/%u/%s", minor(st.st_rdev),
		 name);
	return access(path, F_OK) ? -errno : 0;
}

/*
 * Open debugfs file @name of the device behind @fd for reading. Returns the
 * stream, or NULL with the -errno in @err.
 */
static inline FILE *vsvm_debugfs_fopen(int fd, const char *name, int *err)
{
	char path[128];
	FILE *f;

	*err = vsvm_debugfs_path(fd, name, path, sizeof(path));
	if (*err)
		return NULL;
	f = fopen(path, "re");
	if (!f)
		*err = -errno;
	return f;
}

/* Write @val to the debugfs knob @name of the device behind @fd. */
static inline int vsvm_debugfs_set(int fd, const char *name,
				   unsigned long long val)
{
	char path[128], buf[32];
	int dfd, len, ret;

	ret = vsvm_debugfs_path(fd, name, path, sizeof(path));
	if (ret)
		return ret;
	dfd = open(path, O_WRONLY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%llu\n", val);
	ret = write(dfd, buf, len) == len ? 0 : -EIO;
	close(dfd);
	return ret;
}

/* Read the debugfs knob @name of the device behind @fd into @val. */
static inline int vsvm_debugfs_get(int fd, const char *name,
				   unsigned long long *val)
{
	FILE *f;
	int ret;

	f = vsvm_debugfs_fopen(fd, name, &ret);
	if (!f)
		return ret;
	ret = fscanf(f, "%llu", val) == 1 ? 0 : -EIO;
	fclose(f);
	return ret;
}

/*
 * Set fault attribute @name of <debugfs>/vsvm/ (fault injection of the
 * driver hooks): fail with @probability percent, at most @times times (-1:
 * no limit), silently. Returns 0 or -errno.
 */
static inline int vsvm_fault_set(const char *name, int probability, int times)
{
	static const char *const files[] = { "probability", "times", "verbose" };
	int vals[] = { probability, times, 0 };
	char path[128], buf[16];
	unsigned int i;
	int fd, len;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "/sys/kernel/debug/vsvm/%s/%s", name,
			 files[i]);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		len = snprintf(buf, sizeof(buf), "%d\n", vals[i]);
		if (write(fd, buf, len) != len) {
			close(fd);
			return -EIO;
		}
		close(fd);
	}
	return 0;
}

/* The stages of a GPU fault in vsvm_fault_time (enum vsvm_fault_stage). */
enum {
	VSVM_STAGE_WAIT,
	VSVM_STAGE_GC,
	VSVM_STAGE_FIND,
	VSVM_STAGE_MIGRATE,
	VSVM_STAGE_PAGES,
	VSVM_STAGE_BIND,
	VSVM_STAGE_RETRY,
	VSVM_FAULT_STAGES
};

/* Their names in the file. */
static const char *const vsvm_fault_stage_names[VSVM_FAULT_STAGES] = {
	"wait", "gc", "find", "migrate", "pages", "bind", "retry",
};

/*
 * GPU faults of a device so far, from one read of its vsvm_fault_time:
 * @count faults and their total time @ns; of those, the @staged ones timed
 * by stage too (<debugfs>/dri/<minor>/vsvm_fault_stages on), and their time
 * split by stage in @stage_ns (vsvm_fault_stage_names order).
 */
struct vsvm_fault_snap {
	long long count, ns, staged;
	long long stage_ns[VSVM_FAULT_STAGES];
};

/*
 * Fill @snap from the vsvm_fault_time file at @path, for ranges of @size
 * bytes (0: every size) that migrated (@migrated 1) or not (0). Returns 0,
 * or -errno; -EPROTO if the file lacks a stage.
 */
static inline int vsvm_fault_snap_at(const char *path, unsigned long size,
				     int migrated,
				     struct vsvm_fault_snap *snap)
{
	long long sz, val, c, t;
	char line[512], name[32];
	unsigned int seen = 0;
	int m, i, n;
	const char *p;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	memset(snap, 0, sizeof(*snap));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "fault %lld %d %lld %lld", &sz, &m, &c, &t) == 4 &&
		    (!size || sz == (long long)size) && m == migrated) {
			snap->count += c;
			snap->ns += t;
		}
		if (sscanf(line, "stages %lld %d%n", &sz, &m, &n) != 2 ||
		    (size && sz != (long long)size) || m != migrated)
			continue;
		for (p = line + n; sscanf(p, "%31s %lld%n", name, &val, &n) == 2;
		     p += n) {
			if (!strcmp(name, "faults"))
				snap->staged += val;
			for (i = 0; i < VSVM_FAULT_STAGES; i++) {
				if (!strcmp(name, vsvm_fault_stage_names[i])) {
					snap->stage_ns[i] += val;
					seen |= 1u << i;
				}
			}
		}
	}
	fclose(f);
	return seen == (1u << VSVM_FAULT_STAGES) - 1 ? 0 : -EPROTO;
}

/* vsvm_fault_snap_at() of the device behind @fd. */
static inline int vsvm_fault_snap(int fd, unsigned long size, int migrated,
				  struct vsvm_fault_snap *snap)
{
	char path[128];
	int ret;

	ret = vsvm_debugfs_path(fd, "vsvm_fault_time", path, sizeof(path));
	if (ret)
		return ret;
	return vsvm_fault_snap_at(path, size, migrated, snap);
}

/*
 * Number of allocations on the VRAM LRU of the device behind @fd, from its
 * debugfs file vsvm_vram, or -errno.
 */
static inline long vsvm_debugfs_lru_allocs(int fd)
{
	unsigned long long size, used;
	unsigned long n;
	char line[256];
	long ret;
	FILE *f;
	int err;

	f = vsvm_debugfs_fopen(fd, "vsvm_vram", &err);
	if (!f)
		return err;
	ret = -EINVAL;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "vram: %llu KiB, used %llu KiB, %lu allocations",
			   &size, &used, &n) == 3) {
			ret = n;
			break;
		}
	}
	fclose(f);
	return ret;
}

/*
 * A buffer of the test program itself (job READ destinations, WRITE
 * sources): MAP_SHARED, so that its VMA never merges with the private
 * anonymous memory under test and no GPU SVM range picked around a test
 * buffer covers it. NULL on error; free with vsvm_host_free().
 */
static inline void *vsvm_host_alloc(size_t size)
{
	size_t page = getpagesize();
	char *p = mmap(NULL, size + page, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	*(size_t *)p = size + page;
	return p + page;
}

static inline void vsvm_host_free(void *ptr)
{
	char *p = (char *)ptr - getpagesize();

	if (ptr)
		munmap(p, *(size_t *)p);
}

/*
 * Open the first vsvm device whose memory is of @memory_type
 * (DRM_VSVM_MEMORY_*) and describe it in @q. Returns the fd or -errno
 * (-ENODEV: there is none).
 */
static inline int vsvm_open_memory_type(__u32 memory_type,
					struct drm_vsvm_query *q)
{
	int i, fd;

	for (i = 0; (fd = vsvm_open_device(i)) >= 0; i++) {
		if (!vsvm_query_device(fd, q) && q->memory_type == memory_type)
			return fd;
		close(fd);
	}
	return fd;
}

/* Kilobytes of the process's memory mapped by transparent huge pages. */
static inline long vsvm_anon_huge_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "re");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * Page frame number behind the user address @addr, from
 * /proc/self/pagemap (needs CAP_SYS_ADMIN to see it): 0 if the page is not
 * present, -errno if it cannot be read.
 */
static inline long long vsvm_user_pfn(const void *addr)
{
	unsigned long long entry;
	off_t off = (unsigned long)addr / getpagesize() * sizeof(entry);
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, &entry, sizeof(entry), off);
	close(fd);
	if (n != sizeof(entry))
		return -EIO;
	if (!(entry >> 63))
		return 0;
	return entry & ((1ULL << 55) - 1);
}

/* TAINT_WARN (bit 9) of /proc/sys/kernel/tainted: a WARN() fired. */
#define VSVM_TAINT_WARN		0x200UL

/* The kernel's taint flags, or 0 if they cannot be read. */
static inline unsigned long vsvm_taint(void)
{
	unsigned long taint = 0;
	FILE *f = fopen("/proc/sys/kernel/tainted", "re");

	if (!f)
		return 0;
	if (fscanf(f, "%lu", &taint) != 1)
		taint = 0;
	fclose(f);
	return taint;
}

#endif /* _VSVM_UTIL_H_ */
