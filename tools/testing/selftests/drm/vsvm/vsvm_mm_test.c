// SPDX-License-Identifier: GPL-2.0-only
/*
 * Userspace tests of the vsvm virtual GPU: what happens to GPU-mirrored and
 * VRAM-resident memory when the address space changes under it (fork,
 * munmap, mremap, madvise, THP, hugetlb), when device memory runs out, when
 * the timeslice holds pages in VRAM, and when the file or the process goes
 * away.
 */

#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../../kselftest_harness.h"
#include "vsvm_util.h"

#define PAGE		4096UL
#define SZ_64K		0x00010000UL
#define SZ_1M		0x00100000UL
#define SZ_2M		0x00200000UL

#ifndef MAP_HUGETLB
#define MAP_HUGETLB	0x40000
#endif

/* Wait up to @ms for the device's vram_used to drop to @limit or below. */
static __u64 wait_vram_used_le(int fd, __u64 limit, int ms)
{
	struct drm_vsvm_query q;
	int waited = 0;

	for (;;) {
		if (vsvm_query_device(fd, &q))
			return ~0ULL;
		if (q.vram_used <= limit || waited >= ms)
			return q.vram_used;
		usleep(50 * 1000);
		waited += 50;
	}
}

/* vram_used once it stopped changing (earlier tests may still drain). */
static __u64 stable_vram_used(int fd)
{
	struct drm_vsvm_query q;
	__u64 last = ~0ULL;
	int i;

	for (i = 0; i < 40; i++) {
		if (vsvm_query_device(fd, &q))
			return ~0ULL;
		if (q.vram_used == last)
			break;
		last = q.vram_used;
		usleep(50 * 1000);
	}
	return q.vram_used;
}

FIXTURE(mm)
{
	int fd;
};

FIXTURE_SETUP(mm)
{
	self->fd = vsvm_open_device(0);
	if (self->fd == -ENODEV)
		SKIP(return, "no vsvm device (is the module loaded?)");
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(mm)
{
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * fork() and copy-on-write. The parent fills a buffer with the CPU (and in
 * the "vram" variant migrates it to VRAM, so the child inherits
 * device-private entries), forks, then GPU-writes new data. The child
 * still sees the old data, and every VM ioctl on the parent's file fails
 * with -EACCES in the child without changing anything.
 */
FIXTURE(fork)
{
	int fd;
};

FIXTURE_VARIANT(fork)
{
	int vram_before_fork;
	unsigned int write_policy;
};

/* In system memory at fork; the GPU write migrates (default policy). */
FIXTURE_VARIANT_ADD(fork, system) {
	.vram_before_fork = 0, .write_policy = DRM_VSVM_POLICY_MIGRATE,
};

/* In system memory at fork; the GPU write stays in system memory. */
FIXTURE_VARIANT_ADD(fork, system_write_policy_system) {
	.vram_before_fork = 0, .write_policy = DRM_VSVM_POLICY_SYSTEM,
};

/* In VRAM at fork: the child inherits device-private entries. */
FIXTURE_VARIANT_ADD(fork, vram) {
	.vram_before_fork = 1, .write_policy = DRM_VSVM_POLICY_MIGRATE,
};

FIXTURE_SETUP(fork)
{
	self->fd = vsvm_open_device(0);
	if (self->fd == -ENODEV)
		SKIP(return, "no vsvm device (is the module loaded?)");
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(fork)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Child side of fork_cow; the exit status is a bit mask of failures. */
static int fork_child(int fd, char *buf, size_t size, int rfd)
{
	struct drm_vsvm_vm_stats vst;
	char tmp[64], c;
	int bad = 0;

	if (read(rfd, &c, 1) != 1)
		return 0x80;
	if (vsvm_pattern_check(buf, size, 1) != -1)
		bad |= 0x01;
	if (vsvm_gpu_read(fd, buf, tmp, sizeof(tmp), 0, NULL) != -EACCES)
		bad |= 0x02;
	if (vsvm_gpu_write(fd, buf, tmp, sizeof(tmp), 0, NULL) != -EACCES)
		bad |= 0x04;
	if (vsvm_migrate(fd, buf, PAGE, DRM_VSVM_MIGRATE_TO_VRAM, NULL) != -EACCES)
		bad |= 0x08;
	if (vsvm_vm_stats(fd, &vst) != -EACCES)
		bad |= 0x10;
	if (vsvm_set_timeslice(fd, 1) != -EACCES)
		bad |= 0x20;
	if (vsvm_pattern_check(buf, size, 1) != -1)
		bad |= 0x40;
	return bad;
}

TEST_F(fork, cow)
{
	size_t size = 256 << 10;
	char *buf = vsvm_map_aligned(size, PAGE), *tmp = vsvm_host_alloc(size);
	struct drm_vsvm_stats st;
	int pfd[2], status;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_NE(NULL, tmp);
	vsvm_pattern_fill(buf, size, 1);
	if (variant->vram_before_fork) {
		ASSERT_EQ(0, vsvm_migrate(self->fd, buf, size,
					  DRM_VSVM_MIGRATE_TO_VRAM, &st));
		EXPECT_EQ(size / PAGE, st.pages_to_vram);
	}
	ASSERT_EQ(0, pipe(pfd));

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		close(pfd[1]);
		_exit(fork_child(self->fd, buf, size, pfd[0]));
	}
	close(pfd[0]);

	vsvm_pattern_fill(tmp, size, 2);
	EXPECT_EQ(0, vsvm_gpu_write(self->fd, buf, tmp, size,
				    variant->write_policy, &st));
	EXPECT_EQ(size, st.bytes_written);
	ASSERT_EQ(1, write(pfd[1], "x", 1));
	close(pfd[1]);

	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("child failures mask %#x", WEXITSTATUS(status));
	}

	memset(tmp, 0, size);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, buf, tmp, size,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(tmp, size, 2));
	EXPECT_EQ(-1, vsvm_pattern_check(buf, size, 2));
	munmap(buf, size);
	vsvm_host_free(tmp);
}

/*
 * A descriptor passed to another process is refused there with -EACCES
 * (the VM mirrors the opener's address space), the receiver's memory is
 * left alone, nothing it tried is counted, and the opener keeps using the
 * file. The descriptor travels over a unix socket (SCM_RIGHTS) or, for
 * kernels without CONFIG_UNIX, is pulled with pidfd_getfd().
 */
enum fd_transport { FD_UNIX_SOCKET, FD_PIDFD_GETFD };

FIXTURE(passfd)
{
	int fd;
};

FIXTURE_VARIANT(passfd)
{
	enum fd_transport transport;
};

FIXTURE_VARIANT_ADD(passfd, unix_socket)	{ .transport = FD_UNIX_SOCKET };
FIXTURE_VARIANT_ADD(passfd, pidfd_getfd)	{ .transport = FD_PIDFD_GETFD };

FIXTURE_SETUP(passfd)
{
	self->fd = vsvm_open_device(0);
	if (self->fd == -ENODEV)
		SKIP(return, "no vsvm device (is the module loaded?)");
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(passfd)
{
	if (self->fd >= 0)
		close(self->fd);
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	return fd;
}

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = "f", .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

/* Hand @fd to the child over @chan: SCM_RIGHTS, or just its number. */
static int push_fd(enum fd_transport transport, int chan, int fd)
{
	if (transport == FD_UNIX_SOCKET)
		return send_fd(chan, fd);
	return write(chan, &fd, sizeof(fd)) == sizeof(fd) ? 0 : -1;
}

/* Receive the parent's descriptor number over @rfd and pull it. */
static int pidfd_pull_fd(int rfd)
{
	int num, pidfd, fd;

	if (read(rfd, &num, sizeof(num)) != sizeof(num))
		return -1;
	pidfd = syscall(__NR_pidfd_open, getppid(), 0);
	if (pidfd < 0)
		return -1;
	fd = syscall(__NR_pidfd_getfd, pidfd, num, 0);
	close(pidfd);
	return fd;
}

static int passfd_child(enum fd_transport transport, int chan)
{
	char *buf = vsvm_map_aligned(4 * PAGE, PAGE), src[PAGE];
	struct drm_vsvm_vm_stats vst;
	struct drm_vsvm_query q;
	int fd, bad = 0;

	if (buf == MAP_FAILED)
		return 0x80;
	fd = transport == FD_UNIX_SOCKET ? recv_fd(chan) : pidfd_pull_fd(chan);
	if (fd < 0)
		return 0x40;
	/* It is a vsvm file: QUERY needs no VM and works. */
	if (vsvm_query_device(fd, &q) || q.vram_size == 0)
		return 0xc0;
	vsvm_pattern_fill(buf, 4 * PAGE, 3);
	memset(src, 0xee, sizeof(src));
	if (vsvm_gpu_write(fd, buf, src, PAGE, 0, NULL) != -EACCES)
		bad |= 0x01;
	if (vsvm_gpu_fill(fd, buf, PAGE, 0, DRM_VSVM_POLICY_SYSTEM, NULL) != -EACCES)
		bad |= 0x02;
	if (vsvm_migrate(fd, buf, 4 * PAGE, DRM_VSVM_MIGRATE_TO_VRAM, NULL) != -EACCES)
		bad |= 0x04;
	if (vsvm_vm_stats(fd, &vst) != -EACCES)
		bad |= 0x08;
	if (vsvm_set_timeslice(fd, 3) != -EACCES)
		bad |= 0x10;
	if (vsvm_pattern_check(buf, 4 * PAGE, 3) != -1)
		bad |= 0x20;
	return bad;
}

TEST_F(passfd, refused_in_receiver)
{
	char *buf = vsvm_map_aligned(4 * PAGE, PAGE), *tmp = vsvm_host_alloc(PAGE);
	struct drm_vsvm_vm_stats vst;
	int chan[2], fd2, status;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_NE(NULL, tmp);
	if (variant->transport == FD_UNIX_SOCKET) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, chan))
			SKIP(return, "no unix sockets (kernel without CONFIG_UNIX): %s",
			     strerror(errno));
	} else {
		ASSERT_EQ(0, pipe(chan));
		/* chan[0] is read by the child, chan[1] written by us. */
		fd2 = chan[0];
		chan[0] = chan[1];
		chan[1] = fd2;
	}
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		close(chan[0]);
		_exit(passfd_child(variant->transport, chan[1]));
	}
	close(chan[1]);

	/* Opened after the fork: the child only gets it passed to it. */
	fd2 = vsvm_open_device(0);
	ASSERT_GE(fd2, 0);
	ASSERT_EQ(0, push_fd(variant->transport, chan[0], fd2));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("child failures mask %#x", WEXITSTATUS(status));
	}

	/* The opener is unaffected, and nothing the child tried counted. */
	ASSERT_EQ(0, vsvm_vm_stats(fd2, &vst));
	EXPECT_EQ(0, vst.stats.gpu_faults);
	EXPECT_EQ(0, vst.stats.bytes_written);
	EXPECT_EQ(0, vst.stats.pages_to_vram);
	vsvm_pattern_fill(tmp, PAGE, 4);
	ASSERT_EQ(0, vsvm_gpu_write(fd2, buf + PAGE, tmp, PAGE,
				    DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(buf + PAGE, PAGE, 4));
	close(fd2);
	close(chan[0]);
	munmap(buf, 4 * PAGE);
	vsvm_host_free(tmp);
}

/*
 * Transparent huge pages: a 2 MiB aligned region with MADV_HUGEPAGE. (a)
 * Never touched, the GPU writes it first (one 2 MiB range migrated), the
 * CPU reads it back. (b) Populated by the CPU (a THP when available), the
 * GPU reads it (the huge page is split and migrated), writes one page in
 * the middle, and the CPU sees old and new data in place.
 */
TEST_F(mm, thp)
{
	char *a = vsvm_map_aligned(SZ_2M, SZ_2M), *b = vsvm_map_aligned(SZ_2M, SZ_2M);
	char *tmp = vsvm_host_alloc(SZ_2M);
	struct drm_vsvm_stats st;
	long kb;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_NE(NULL, tmp);
	if (madvise(a, SZ_2M, MADV_HUGEPAGE) || madvise(b, SZ_2M, MADV_HUGEPAGE))
		SKIP(return, "MADV_HUGEPAGE not supported (no THP)");

	/* (a) GPU first. */
	vsvm_pattern_fill(tmp, SZ_2M, 5);
	ASSERT_EQ(0, vsvm_gpu_write(self->fd, a, tmp, SZ_2M,
				    DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(SZ_2M / PAGE, st.pages_to_vram);
	EXPECT_EQ(-1, vsvm_pattern_check(a, SZ_2M, 5));

	/* (b) CPU first. */
	kb = vsvm_anon_huge_kb();
	vsvm_pattern_fill(b, SZ_2M, 6);
	TH_LOG("AnonHugePages %ld kB -> %ld kB", kb, vsvm_anon_huge_kb());
	memset(tmp, 0, SZ_2M);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, b, tmp, SZ_2M,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(-1, vsvm_pattern_check(tmp, SZ_2M, 6));
	EXPECT_EQ(SZ_2M / PAGE, st.pages_to_vram);

	memset(tmp, 0xc3, PAGE);
	ASSERT_EQ(0, vsvm_gpu_write(self->fd, b + SZ_1M, tmp, PAGE,
				    DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(0, st.gpu_faults);
	EXPECT_EQ(-1, vsvm_pattern_check(b, SZ_1M, 6));
	EXPECT_EQ(0, memcmp(b + SZ_1M, tmp, PAGE));
	EXPECT_EQ((unsigned char)b[SZ_1M + PAGE],
		  vsvm_pattern_byte(SZ_1M + PAGE, 6));
	EXPECT_EQ((unsigned char)b[SZ_2M - 1], vsvm_pattern_byte(SZ_2M - 1, 6));
	munmap(a, SZ_2M);
	munmap(b, SZ_2M);
	vsvm_host_free(tmp);
}

/*
 * hugetlbfs (MAP_HUGETLB): the GPU reads and writes it in place; it is not
 * migratable, so an explicit migration moves nothing and reports no error.
 */
TEST_F(mm, hugetlb)
{
	struct drm_vsvm_vm_stats vst;
	struct drm_vsvm_stats st;
	char *a, *tmp = vsvm_host_alloc(SZ_2M);

	ASSERT_NE(NULL, tmp);
	a = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (a == MAP_FAILED)
		SKIP(return, "no 2 MiB hugetlb pages (vm.nr_hugepages is 0?)");

	vsvm_pattern_fill(a, SZ_2M, 7);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, a, tmp, SZ_2M,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(-1, vsvm_pattern_check(tmp, SZ_2M, 7));
	EXPECT_EQ(0, st.pages_to_vram);

	vsvm_pattern_fill(tmp, SZ_64K, 8);
	ASSERT_EQ(0, vsvm_gpu_write(self->fd, a + SZ_1M, tmp, SZ_64K,
				    DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(0, st.pages_to_vram);
	EXPECT_EQ(-1, vsvm_pattern_check(a + SZ_1M, SZ_64K, 8));
	EXPECT_EQ(-1, vsvm_pattern_check(a, SZ_1M, 7));

	ASSERT_EQ(0, vsvm_migrate(self->fd, a, SZ_2M, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(0, st.pages_to_vram);
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &vst));
	EXPECT_EQ(0, vst.vram_pages);
	EXPECT_EQ(0, vst.stats.pages_to_vram);
	EXPECT_EQ(-1, vsvm_pattern_check(a + SZ_1M, SZ_64K, 8));
	munmap(a, SZ_2M);
	vsvm_host_free(tmp);
}

/*
 * Partial munmap of a migrated 2 MiB range: the middle 512 KiB goes away.
 * The GPU reads the rest intact (from VRAM), gets -EFAULT in the hole, and
 * the CPU then reads the rest intact too.
 */
TEST_F(mm, partial_munmap_migrated)
{
	char *a = vsvm_map_aligned(SZ_2M, SZ_2M), *tmp = vsvm_host_alloc(SZ_2M);
	size_t hole = 512 << 10, hole_off = 512 << 10, i;
	struct drm_vsvm_stats st;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(NULL, tmp);
	vsvm_pattern_fill(a, SZ_2M, 9);
	ASSERT_EQ(0, vsvm_migrate(self->fd, a, SZ_2M, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(SZ_2M / PAGE, st.pages_to_vram);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, a, tmp, SZ_2M,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(tmp, SZ_2M, 9));

	ASSERT_EQ(0, munmap(a + hole_off, hole));

	memset(tmp, 0, SZ_2M);
	EXPECT_EQ(0, vsvm_gpu_read(self->fd, a, tmp, hole_off,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(0, vsvm_gpu_read(self->fd, a + hole_off + hole,
				   tmp + hole_off + hole, SZ_2M - hole_off - hole,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(tmp, hole_off, 9));
	for (i = hole_off + hole; i < SZ_2M; i++)
		if ((unsigned char)tmp[i] != vsvm_pattern_byte(i, 9))
			break;
	EXPECT_EQ(SZ_2M, i);
	EXPECT_EQ(-EFAULT, vsvm_gpu_read(self->fd, a + hole_off, tmp, PAGE,
					 DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-EFAULT, vsvm_gpu_read(self->fd, a + hole_off - PAGE, tmp,
					 2 * PAGE, DRM_VSVM_POLICY_MIGRATE, NULL));

	/* CPU side. */
	EXPECT_EQ(-1, vsvm_pattern_check(a, hole_off, 9));
	for (i = hole_off + hole; i < SZ_2M; i++)
		if ((unsigned char)a[i] != vsvm_pattern_byte(i, 9))
			break;
	EXPECT_EQ(SZ_2M, i);

	/* The remains are still usable by the GPU. */
	memset(tmp, 0x3c, PAGE);
	ASSERT_EQ(0, vsvm_gpu_write(self->fd, a + SZ_2M - PAGE, tmp, PAGE,
				    DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(0x3c, a[SZ_2M - 1]);
	munmap(a, hole_off);
	munmap(a + hole_off + hole, SZ_2M - hole_off - hole);
	vsvm_host_free(tmp);
}

/*
 * mremap() of migrated memory: the data follows the pages to the new
 * address, for the GPU and for the CPU; the old address is gone (-EFAULT).
 */
TEST_F(mm, mremap_migrated)
{
	char *a = vsvm_map_aligned(SZ_2M, SZ_2M), *tmp = vsvm_host_alloc(SZ_2M);
	char *dst = vsvm_map_aligned(SZ_2M, SZ_2M), *b;
	struct drm_vsvm_stats st;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, dst);
	ASSERT_NE(NULL, tmp);
	vsvm_pattern_fill(a, SZ_2M, 10);
	ASSERT_EQ(0, vsvm_migrate(self->fd, a, SZ_2M, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(SZ_2M / PAGE, st.pages_to_vram);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, a, tmp, PAGE,
				   DRM_VSVM_POLICY_MIGRATE, NULL));

	b = mremap(a, SZ_2M, SZ_2M, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_EQ(dst, b);

	memset(tmp, 0, SZ_2M);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, b, tmp, SZ_2M,
				   DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_EQ(-1, vsvm_pattern_check(tmp, SZ_2M, 10));
	EXPECT_EQ(-EFAULT, vsvm_gpu_read(self->fd, a, tmp, PAGE,
					 DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(b, SZ_2M, 10));
	munmap(b, SZ_2M);
	vsvm_host_free(tmp);
}

/*
 * madvise(MADV_DONTNEED) of memory that lives in VRAM drops it: the GPU
 * mappings are zapped, GPU and CPU read zeros, and the memory is usable.
 */
TEST_F(mm, dontneed_vram)
{
	size_t size = 256 << 10;
	char *a = vsvm_map_aligned(size, PAGE), *tmp = vsvm_host_alloc(size);
	struct drm_vsvm_vm_stats vst;
	struct drm_vsvm_stats st;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(NULL, tmp);
	vsvm_pattern_fill(tmp, size, 11);
	ASSERT_EQ(0, vsvm_gpu_write(self->fd, a, tmp, size,
				    DRM_VSVM_POLICY_DEVICE, &st));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &vst));
	EXPECT_GE(vst.vram_pages, size / PAGE);

	ASSERT_EQ(0, madvise(a, size, MADV_DONTNEED));
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &vst));
	EXPECT_EQ(0, vst.vram_pages);

	memset(tmp, 0x5a, size);
	ASSERT_EQ(0, vsvm_gpu_read(self->fd, a, tmp, size,
				   DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_zero_check(tmp, size));
	EXPECT_EQ(-1, vsvm_zero_check(a, size));

	vsvm_pattern_fill(tmp, size, 12);
	ASSERT_EQ(0, vsvm_gpu_write(self->fd, a, tmp, size,
				    DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 12));
	munmap(a, size);
	vsvm_host_free(tmp);
}

struct dropper {
	char *addr;
	size_t len;
	int delay_us;
	int ret;
};

static void *dropper_fn(void *arg)
{
	struct dropper *d = arg;

	usleep(d->delay_us);
	d->ret = madvise(d->addr, d->len, MADV_DONTNEED);
	return NULL;
}

/*
 * The pages of a migration are freed before the migrating thread is done
 * with their allocation. vsvm_commit_delay_us holds the thread of a
 * MIGRATE ioctl for 200 ms between drm_pagemap_migrate_to_devmem() and
 * putting the allocation on the VRAM LRU; meanwhile a second thread drops
 * the pages with MADV_DONTNEED, which releases the allocation. The
 * migrating thread must neither touch the released allocation (KASAN:
 * slab-use-after-free in vsvm_vram_alloc_commit) nor put it on the LRU
 * (list_del corruption in the free worker later): the LRU does not grow
 * and the VRAM comes back.
 */
TEST_F_TIMEOUT(mm, dontneed_before_lru_commit, 60)
{
	size_t size = SZ_64K;
	char *a = vsvm_map_aligned(size, SZ_64K);
	long lru_before, lru_after;
	struct dropper d;
	__u64 base, used;
	pthread_t th;
	int i, ret;

	ASSERT_NE(MAP_FAILED, a);
	if (vsvm_debugfs_set(self->fd, "vsvm_commit_delay_us", 0))
		SKIP(return, "no debugfs knob vsvm_commit_delay_us (debugfs not mounted?)");
	base = stable_vram_used(self->fd);
	lru_before = vsvm_debugfs_lru_allocs(self->fd);
	ASSERT_GE(lru_before, 0);

	for (i = 0; i < 8; i++) {
		vsvm_pattern_fill(a, size, 20 + i);
		ASSERT_EQ(0, vsvm_debugfs_set(self->fd, "vsvm_commit_delay_us",
					      200000));
		d.addr = a;
		d.len = size;
		d.delay_us = 50000;
		d.ret = -1;
		ASSERT_EQ(0, pthread_create(&th, NULL, dropper_fn, &d));
		ret = vsvm_migrate(self->fd, a, size, DRM_VSVM_MIGRATE_TO_VRAM,
				   NULL);
		pthread_join(th, NULL);
		ASSERT_EQ(0, vsvm_debugfs_set(self->fd, "vsvm_commit_delay_us",
					      0));
		EXPECT_EQ(0, ret);
		EXPECT_EQ(0, d.ret);
		/* Dropped, whether before or after the migration. */
		EXPECT_EQ(-1, vsvm_zero_check(a, size));
	}

	used = wait_vram_used_le(self->fd, base, 5000);
	EXPECT_LE(used, base);
	lru_after = vsvm_debugfs_lru_allocs(self->fd);
	EXPECT_LE(lru_after, lru_before) {
		TH_LOG("%ld allocations on the LRU, %ld before: released ones were added",
		       lru_after, lru_before);
	}
	munmap(a, size);
}

#define STRESS_THREADS	4
#define STRESS_CHUNK	(256UL << 10)

struct stress {
	char *base;		/* data chunks, then scratch */
	size_t size;
	size_t data;		/* bytes of data chunks at base */
	double deadline;
	int tid;
	unsigned int seed;
	long verified;
	long bad;
	long busy;		/* migrations refused for contention */
	int err;		/* first unexpected ioctl or madvise error */
};

/* A random 64 KiB aligned range of 64 KiB to 2 MiB inside [lo, hi). */
static void stress_range(struct stress *st, size_t lo, size_t hi,
			 char **start, size_t *len)
{
	size_t n = (hi - lo) / SZ_64K, first, count;

	first = rand_r(&st->seed) % n;
	count = 1 + rand_r(&st->seed) % (SZ_2M / SZ_64K);
	if (first + count > n)
		count = n - first;
	*start = st->base + lo + first * SZ_64K;
	*len = count * SZ_64K;
}

static void stress_fail(struct stress *st, int err)
{
	if (!st->err)
		st->err = err;
}

static void *stress_fn(void *arg)
{
	struct stress *st = arg;
	char *own = st->base + st->tid * STRESS_CHUNK;
	char *buf = vsvm_host_alloc(STRESS_CHUNK);
	unsigned int gen = 0;
	int fd, ret;

	fd = vsvm_open_device(0);
	if (fd < 0 || !buf) {
		stress_fail(st, fd < 0 ? fd : -ENOMEM);
		vsvm_host_free(buf);
		return NULL;
	}

	while (vsvm_now_ms() < st->deadline) {
		unsigned int seed = st->tid * 1000003u + ++gen;
		char *start;
		size_t len;

		switch (rand_r(&st->seed) % 4) {
		case 0:
		case 1:
			/* Anywhere, over other threads' data too. */
			stress_range(st, 0, st->size, &start, &len);
			ret = vsvm_migrate(fd, start, len, gen & 1 ?
					   DRM_VSVM_MIGRATE_TO_SYSTEM :
					   DRM_VSVM_MIGRATE_TO_VRAM, NULL);
			if (ret == -ENOSPC || ret == -EBUSY)
				st->busy++;
			else if (ret)
				stress_fail(st, ret);
			break;
		case 2:
			stress_range(st, st->data, st->size, &start, &len);
			if (madvise(start, len, MADV_DONTNEED))
				stress_fail(st, -errno);
			break;
		default:
			/* Write the own chunk by CPU or GPU, check by both. */
			if (gen & 1) {
				vsvm_pattern_fill(own, STRESS_CHUNK, seed);
			} else {
				vsvm_pattern_fill(buf, STRESS_CHUNK, seed);
				do {
					ret = vsvm_gpu_write(fd, own, buf,
							     STRESS_CHUNK,
							     DRM_VSVM_POLICY_MIGRATE,
							     NULL);
				} while (ret == -EBUSY);
				if (ret) {
					stress_fail(st, ret);
					break;
				}
			}
			memset(buf, 0, STRESS_CHUNK);
			do {
				ret = vsvm_gpu_read(fd, own, buf, STRESS_CHUNK,
						    DRM_VSVM_POLICY_MIGRATE, NULL);
			} while (ret == -EBUSY);
			if (ret)
				stress_fail(st, ret);
			else if (vsvm_pattern_check(buf, STRESS_CHUNK, seed) != -1)
				st->bad++;
			if (vsvm_pattern_check(own, STRESS_CHUNK, seed) != -1)
				st->bad++;
			st->verified++;
			break;
		}
	}

	close(fd);
	vsvm_host_free(buf);
	return NULL;
}

/*
 * The reproducer of a use-after-free: several mirrors (open files) of one
 * process on one device, each used by its own thread. Every thread writes
 * and checks its own chunk by CPU and GPU while migrating random, often
 * overlapping ranges (data of other threads included) to VRAM and back,
 * with a working set larger than VRAM so that allocations are evicted,
 * and dropping random scratch ranges with MADV_DONTNEED, which frees VRAM
 * pages under migrations, evictions and their LRU bookkeeping. No data is
 * lost, no ioctl fails unexpectedly, the VRAM comes back at the end, and
 * the kernel stays quiet (KASAN, list debugging).
 */
TEST_F_TIMEOUT(mm, mirrors_migrate_dontneed_stress, 300)
{
	struct stress st[STRESS_THREADS];
	pthread_t th[STRESS_THREADS];
	struct drm_vsvm_query q;
	size_t size, data = STRESS_THREADS * STRESS_CHUNK;
	__u64 base, used;
	char *a;
	int i;

	ASSERT_EQ(0, vsvm_query_device(self->fd, &q));
	size = q.vram_size + q.vram_size / 2;
	if (size > 160 * SZ_1M)
		size = 160 * SZ_1M;
	size = (size + SZ_2M - 1) & ~(SZ_2M - 1);
	a = vsvm_map_aligned(size, SZ_2M);
	ASSERT_NE(MAP_FAILED, a);
	base = stable_vram_used(self->fd);
	memset(a, 0x3c, size);

	for (i = 0; i < STRESS_THREADS; i++) {
		memset(&st[i], 0, sizeof(st[i]));
		st[i].base = a;
		st[i].size = size;
		st[i].data = data;
		st[i].deadline = vsvm_now_ms() + 10000;
		st[i].tid = i;
		st[i].seed = 0x5eed + i;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, stress_fn, &st[i]));
	}
	for (i = 0; i < STRESS_THREADS; i++) {
		pthread_join(th[i], NULL);
		TH_LOG("thread %d: %ld checks, %ld bad, %ld busy", i,
		       st[i].verified, st[i].bad, st[i].busy);
		EXPECT_EQ(0, st[i].err);
		EXPECT_EQ(0, st[i].bad);
		EXPECT_GT(st[i].verified, 0);
	}

	munmap(a, size);
	used = wait_vram_used_le(self->fd, base, 10000);
	EXPECT_LE(used, base);
}

struct unmapper {
	char *addr;
	size_t len;
	int delay_us;
	int ret;
};

static void *unmapper_fn(void *arg)
{
	struct unmapper *u = arg;

	usleep(u->delay_us);
	u->ret = munmap(u->addr, u->len);
	return NULL;
}

/*
 * munmap() while a job runs: a thread unmaps the second half of a 32 MiB
 * buffer while the GPU fills all of it. The job ends with 0 (it finished
 * first) or -EFAULT (it hit the hole), never hangs; the first half holds
 * the pattern either way, and the file keeps working.
 */
TEST_F_TIMEOUT(mm, munmap_during_job, 180)
{
	static const int delays[] = { 0, 2000, 20000, 100000, 1500000 };
	size_t size = 32 * SZ_1M, i, half = size / 2;
	__u64 pat = 0x1122334455667788ULL;
	char small[PAGE], out[PAGE];
	unsigned int k;

	for (k = 0; k < ARRAY_SIZE(delays); k++) {
		__u64 *a = vsvm_map_aligned(size, SZ_2M);
		struct unmapper u;
		pthread_t th;
		double t0;
		int ret;

		ASSERT_NE(MAP_FAILED, a);
		u.addr = (char *)a + half;
		u.len = half;
		u.delay_us = delays[k];
		u.ret = -1;
		t0 = vsvm_now_ms();
		ASSERT_EQ(0, pthread_create(&th, NULL, unmapper_fn, &u));
		ret = vsvm_gpu_fill(self->fd, a, size, pat ^ k,
				    DRM_VSVM_POLICY_MIGRATE, NULL);
		pthread_join(th, NULL);
		TH_LOG("delay %d us: job %d after %.0f ms", delays[k], ret,
		       vsvm_now_ms() - t0);
		EXPECT_EQ(0, u.ret);
		EXPECT_TRUE(ret == 0 || ret == -EFAULT) {
			TH_LOG("job returned %d", ret);
		}
		for (i = 0; i < half / 8; i++)
			if (a[i] != (pat ^ k))
				break;
		EXPECT_EQ(half / 8, i);
		munmap(a, half);
	}

	vsvm_pattern_fill(small, PAGE, 13);
	{
		char *b = vsvm_map_aligned(PAGE, PAGE);

		ASSERT_NE(MAP_FAILED, b);
		ASSERT_EQ(0, vsvm_gpu_write(self->fd, b, small, PAGE,
					    DRM_VSVM_POLICY_MIGRATE, NULL));
		ASSERT_EQ(0, vsvm_gpu_read(self->fd, b, out, PAGE,
					   DRM_VSVM_POLICY_MIGRATE, NULL));
		EXPECT_EQ(0, memcmp(small, out, PAGE));
		munmap(b, PAGE);
	}
}

struct closer {
	int fd;
	int ret;
};

static void *closer_fn(void *arg)
{
	struct closer *c = arg;

	c->ret = close(c->fd);
	return NULL;
}

/*
 * munmap() racing close(): one thread closes a file whose VM mirrors a
 * buffer (vsvm_vm_destroy_delay_us holds the teardown for 300 ms right
 * before drm_gpusvm_fini()) while another unmaps the buffer. The unmapped
 * ranges are removed once, by the teardown: the garbage collector must
 * not remove them again (WARN in drm_gpusvm_range_remove(), and the
 * tainted flag), and the device keeps working.
 */
TEST_F_TIMEOUT(mm, munmap_during_close, 60)
{
	size_t size = 4 * SZ_2M, off;
	char *a = vsvm_map_aligned(size, SZ_2M), *tmp = vsvm_host_alloc(PAGE);
	unsigned long taint = vsvm_taint();
	struct closer c;
	pthread_t th;
	int fd2;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(NULL, tmp);
	if (vsvm_debugfs_set(self->fd, "vsvm_vm_destroy_delay_us", 0))
		SKIP(return, "no debugfs knob vsvm_vm_destroy_delay_us (debugfs not mounted?)");
	fd2 = vsvm_open_device(0);
	ASSERT_GE(fd2, 0);

	/* One range per 2 MiB, each bound in fd2's GPU page table. */
	memset(a, 0x42, size);
	for (off = 0; off < size; off += SZ_2M)
		ASSERT_EQ(0, vsvm_gpu_read(fd2, a + off, tmp, PAGE,
					   DRM_VSVM_POLICY_SYSTEM, NULL));

	ASSERT_EQ(0, vsvm_debugfs_set(self->fd, "vsvm_vm_destroy_delay_us",
				      300000));
	c.fd = fd2;
	c.ret = -1;
	ASSERT_EQ(0, pthread_create(&th, NULL, closer_fn, &c));
	usleep(100000);
	EXPECT_EQ(0, munmap(a, size));
	pthread_join(th, NULL);
	ASSERT_EQ(0, vsvm_debugfs_set(self->fd, "vsvm_vm_destroy_delay_us", 0));
	EXPECT_EQ(0, c.ret);

	/* The garbage collector of fd2 is gone by the time close() returned. */
	if (!(taint & VSVM_TAINT_WARN))
		EXPECT_EQ(0, vsvm_taint() & VSVM_TAINT_WARN);

	a = vsvm_map_aligned(SZ_64K, SZ_64K);
	ASSERT_NE(MAP_FAILED, a);
	vsvm_pattern_fill(tmp, PAGE, 31);
	ASSERT_EQ(0, vsvm_gpu_write(self->fd, a, tmp, PAGE,
				    DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(a, PAGE, 31));
	munmap(a, SZ_64K);
	vsvm_host_free(tmp);
}

/*
 * Working set larger than VRAM (160 MiB against the default 64 MiB): the
 * GPU fills every 2 MiB with its own pattern, which needs evictions; the
 * GPU then reads everything back (more evictions), and so does the CPU.
 * Device memory use never exceeds the VRAM size.
 */
TEST_F_TIMEOUT(mm, working_set_larger_than_vram, 400)
{
	size_t size = 160 * SZ_1M, nchunks = size / SZ_2M, c, i;
	struct drm_vsvm_op *ops = vsvm_host_alloc(nchunks * sizeof(*ops));
	__u64 *tmp = vsvm_host_alloc(SZ_2M), *a;
	struct drm_vsvm_vm_stats vst;
	struct drm_vsvm_query q;
	struct drm_vsvm_exec e;
	size_t bad = 0;
	double t0;

	ASSERT_NE(NULL, ops);
	ASSERT_NE(NULL, tmp);
	ASSERT_EQ(0, vsvm_query_device(self->fd, &q));
	if (q.vram_size >= size)
		SKIP(return, "VRAM (%llu MiB) is not smaller than 160 MiB",
		     (unsigned long long)q.vram_size >> 20);
	a = vsvm_map_aligned(size, SZ_2M);
	ASSERT_NE(MAP_FAILED, a);

	memset(ops, 0, nchunks * sizeof(*ops));
	for (c = 0; c < nchunks; c++) {
		ops[c].code = DRM_VSVM_OP_FILL;
		ops[c].gpu_addr = (unsigned long)a + c * SZ_2M;
		ops[c].size = SZ_2M;
		ops[c].data = 0x0101010101010101ULL * (c + 1) ^ 0xa5a5000000000000ULL;
	}
	memset(&e, 0, sizeof(e));
	e.ops = (unsigned long)ops;
	e.num_ops = nchunks;
	t0 = vsvm_now_ms();
	ASSERT_EQ(0, vsvm_ioctl(self->fd, DRM_IOCTL_VSVM_EXEC, &e));
	TH_LOG("fill: %.0f ms, %llu pages to vram, %llu to ram, %llu evictions",
	       vsvm_now_ms() - t0, (unsigned long long)e.stats.pages_to_vram,
	       (unsigned long long)e.stats.pages_to_ram,
	       (unsigned long long)e.stats.evictions);
	EXPECT_EQ(nchunks, e.completed);
	EXPECT_EQ(size, e.stats.bytes_written);
	EXPECT_GT(e.stats.evictions, 0);
	EXPECT_GE(e.stats.pages_to_vram, size / PAGE);
	ASSERT_EQ(0, vsvm_query_device(self->fd, &q));
	EXPECT_LE(q.vram_used, q.vram_size);

	/* GPU read-back, 2 MiB at a time. */
	t0 = vsvm_now_ms();
	for (c = 0; c < nchunks; c++) {
		ASSERT_EQ(0, vsvm_gpu_read(self->fd, (char *)a + c * SZ_2M, tmp,
					   SZ_2M, DRM_VSVM_POLICY_MIGRATE, NULL));
		for (i = 0; i < SZ_2M / 8; i++)
			if (tmp[i] != ops[c].data)
				bad++;
	}
	TH_LOG("gpu read-back: %.0f ms", vsvm_now_ms() - t0);
	EXPECT_EQ(0, bad);

	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &vst));
	EXPECT_GT(vst.stats.evictions, e.stats.evictions);
	EXPECT_GT(vst.stats.pages_to_ram, 0);
	EXPECT_LE(vst.vram_pages, q.vram_size / PAGE);
	ASSERT_EQ(0, vsvm_query_device(self->fd, &q));
	EXPECT_LE(q.vram_used, q.vram_size);

	/* CPU read-back. */
	t0 = vsvm_now_ms();
	for (c = 0; c < nchunks; c++)
		for (i = 0; i < SZ_2M / 8; i++)
			if (a[c * (SZ_2M / 8) + i] != ops[c].data)
				bad++;
	TH_LOG("cpu read-back: %.0f ms", vsvm_now_ms() - t0);
	EXPECT_EQ(0, bad);
	munmap(a, size);
	vsvm_host_free(ops);
	vsvm_host_free(tmp);
}

/*
 * A failed eviction must not make its victim unevictable. X (2 MiB, one
 * allocation) is migrated, then Y fills the rest of the VRAM. With
 * fail_copy_to_ram injected once, migrating one more 2 MiB (Z) evicts the LRU
 * head (X, or a leftover of an earlier test), whose copy fails: the victim
 * keeps its pages and data, and the next allocation is evicted instead.
 * Then a second file migrates a buffer as large as the whole VRAM: that
 * evicts everything, the failed victim included, and the buffer ends up
 * entirely in VRAM. Without the victim back on the LRU, its 2 MiB stay
 * taken and the migration evicts its own beginning instead.
 */
TEST_F_TIMEOUT(mm, failed_eviction_stays_evictable, 120)
{
	struct drm_vsvm_vm_stats vst;
	struct drm_vsvm_query q;
	struct drm_vsvm_stats st;
	size_t fill;
	__u64 used;
	char *x, *y, *z, *w;
	int fd2;

	if (vsvm_fault_set("fail_copy_to_ram", 0, 0))
		SKIP(return, "no fault attribute vsvm/fail_copy_to_ram (debugfs not mounted?)");
	ASSERT_EQ(0, vsvm_query_device(self->fd, &q));
	used = wait_vram_used_le(self->fd, 0, 5000);
	ASSERT_LE(used + 2 * SZ_2M, q.vram_size);
	fill = (q.vram_size - used - SZ_2M) & ~(SZ_2M - 1);

	x = vsvm_map_aligned(SZ_2M, SZ_2M);
	y = vsvm_map_aligned(fill, SZ_2M);
	z = vsvm_map_aligned(SZ_2M, SZ_2M);
	w = vsvm_map_aligned(q.vram_size, SZ_2M);
	ASSERT_NE(MAP_FAILED, x);
	ASSERT_NE(MAP_FAILED, y);
	ASSERT_NE(MAP_FAILED, z);
	ASSERT_NE(MAP_FAILED, w);
	vsvm_pattern_fill(x, SZ_2M, 41);
	memset(y, 0x42, fill);
	memset(z, 0x43, SZ_2M);
	memset(w, 0x44, q.vram_size);

	ASSERT_EQ(0, vsvm_migrate(self->fd, x, SZ_2M, DRM_VSVM_MIGRATE_TO_VRAM,
				  &st));
	EXPECT_EQ(SZ_2M / PAGE, st.pages_to_vram);
	ASSERT_EQ(0, vsvm_migrate(self->fd, y, fill, DRM_VSVM_MIGRATE_TO_VRAM,
				  &st));

	ASSERT_EQ(0, vsvm_fault_set("fail_copy_to_ram", 100, 1));
	ASSERT_EQ(0, vsvm_migrate(self->fd, z, SZ_2M, DRM_VSVM_MIGRATE_TO_VRAM,
				  &st));
	ASSERT_EQ(0, vsvm_fault_set("fail_copy_to_ram", 0, 0));
	EXPECT_EQ(SZ_2M / PAGE, st.pages_to_vram);
	TH_LOG("Z: %llu evictions, %llu pages to ram",
	       (unsigned long long)st.evictions,
	       (unsigned long long)st.pages_to_ram);

	fd2 = vsvm_open_device(0);
	ASSERT_GE(fd2, 0);
	ASSERT_EQ(0, vsvm_migrate(fd2, w, q.vram_size, DRM_VSVM_MIGRATE_TO_VRAM,
				  &st));
	ASSERT_EQ(0, vsvm_vm_stats(fd2, &vst));
	EXPECT_EQ(q.vram_size / PAGE, vst.vram_pages) {
		TH_LOG("%llu of %llu pages in VRAM: an allocation could not be evicted",
		       (unsigned long long)vst.vram_pages,
		       (unsigned long long)(q.vram_size / PAGE));
	}

	EXPECT_EQ(-1, vsvm_pattern_check(x, SZ_2M, 41));
	close(fd2);
	munmap(w, q.vram_size);
	munmap(z, SZ_2M);
	munmap(y, fill);
	munmap(x, SZ_2M);
}

/*
 * Timeslice: memory migrated for a VM with a timeslice of T ms stays in
 * VRAM for T ms; a CPU touch right after the migration waits about T ms
 * (checked loosely: >= 0.8 T), then sees intact data. Without a timeslice
 * the same touch does not wait. Both the MIGRATE ioctl and a GPU fault
 * migration honour it.
 */
TEST_F_TIMEOUT(mm, timeslice_delays_cpu_fault, 60)
{
	size_t size = 16 * PAGE;
	/* 64 KiB aligned: each buffer is one range, one VRAM allocation. */
	char *a = vsvm_map_aligned(size, SZ_64K), *b = vsvm_map_aligned(size, SZ_64K);
	char *c = vsvm_map_aligned(size, SZ_64K), *tmp = vsvm_host_alloc(size);
	struct drm_vsvm_stats st;
	double t0, fast, slow;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_NE(MAP_FAILED, c);
	ASSERT_NE(NULL, tmp);
	vsvm_pattern_fill(a, size, 14);
	vsvm_pattern_fill(c, size, 16);

	ASSERT_EQ(0, vsvm_set_timeslice(self->fd, 0));
	ASSERT_EQ(0, vsvm_migrate(self->fd, a, size, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(size / PAGE, st.pages_to_vram);
	t0 = vsvm_now_ms();
	(void)READ_ONCE(a[PAGE]);
	fast = vsvm_now_ms() - t0;

	ASSERT_EQ(0, vsvm_set_timeslice(self->fd, 1000));
	ASSERT_EQ(0, vsvm_migrate(self->fd, c, size, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(size / PAGE, st.pages_to_vram);
	t0 = vsvm_now_ms();
	(void)READ_ONCE(c[PAGE]);
	slow = vsvm_now_ms() - t0;
	TH_LOG("CPU fault after migration: %.0f ms without, %.0f ms with a 1000 ms timeslice",
	       fast, slow);
	EXPECT_LT(fast, 800);
	EXPECT_GE(slow, 800);
	EXPECT_LT(slow, 10000);
	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 14));
	EXPECT_EQ(-1, vsvm_pattern_check(c, size, 16));

	/* A GPU fault migration with a 500 ms timeslice. */
	ASSERT_EQ(0, vsvm_set_timeslice(self->fd, 500));
	vsvm_pattern_fill(tmp, size, 15);
	/*
	 * The timeslice runs from the migration, which happens during the
	 * job: time the CPU touch from the job's start, since the rest of the
	 * job may eat a good part of the slice under emulation.
	 */
	t0 = vsvm_now_ms();
	ASSERT_EQ(0, vsvm_gpu_write(self->fd, b, tmp, size,
				    DRM_VSVM_POLICY_MIGRATE, &st));
	EXPECT_GE(st.pages_to_vram, 1);
	(void)READ_ONCE(b[0]);
	slow = vsvm_now_ms() - t0;
	TH_LOG("GPU fault migration then CPU fault, 500 ms timeslice: %.0f ms", slow);
	EXPECT_GE(slow, 450);
	EXPECT_EQ(-1, vsvm_pattern_check(b, size, 15));
	munmap(a, size);
	munmap(b, size);
	munmap(c, size);
	vsvm_host_free(tmp);
}

/*
 * Range metadata is bounded: with the VM limited to 8 ranges, single-byte
 * GPU reads 2 MiB apart over a large read-only MAP_NORESERVE mapping make
 * 8 ranges and then fail with -ENOMEM instead of growing kernel memory
 * without end; unmapping the memory gives the ranges back, and new reads
 * work again. (The default limit is the module parameter max_ranges.)
 * Before the limit existed, all 32 reads made a range.
 */
FIXTURE(ranges)
{
	int fd;
	unsigned long long max_ranges;
};

FIXTURE_SETUP(ranges)
{
	self->fd = vsvm_open_device(0);
	if (self->fd == -ENODEV)
		SKIP(return, "no vsvm device (is the module loaded?)");
	ASSERT_GE(self->fd, 0);
	if (vsvm_debugfs_get(self->fd, "vsvm_max_ranges", &self->max_ranges))
		SKIP(return, "no debugfs knob vsvm_max_ranges (debugfs not mounted?)");
}

/* Whatever the test did, the next ones get the limit back. */
FIXTURE_TEARDOWN(ranges)
{
	if (self->fd < 0)
		return;
	if (self->max_ranges)
		vsvm_debugfs_set(self->fd, "vsvm_max_ranges", self->max_ranges);
	close(self->fd);
}

TEST_F_TIMEOUT(ranges, count_bounded, 120)
{
	size_t size = 32 * SZ_2M;
	char *a, *b, out;
	struct drm_vsvm_vm_stats vst;
	int i, ok = 0, nomem = 0, other = 0, ret;

	ASSERT_EQ(0, vsvm_debugfs_set(self->fd, "vsvm_max_ranges", 8));
	a = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	ASSERT_NE(MAP_FAILED, a);
	for (i = 0; i < 32; i++) {
		ret = vsvm_gpu_read(self->fd, a + (size_t)i * SZ_2M, &out, 1,
				    DRM_VSVM_POLICY_SYSTEM, NULL);
		if (!ret)
			ok++;
		else if (ret == -ENOMEM)
			nomem++;
		else
			other++;
	}
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &vst));
	EXPECT_EQ(8, ok);
	EXPECT_EQ(24, nomem);
	EXPECT_EQ(0, other);
	EXPECT_EQ(8, vst.num_ranges);

	/* The garbage collector gives the ranges back after munmap(). */
	ASSERT_EQ(0, munmap(a, size));
	b = vsvm_map_aligned(SZ_2M, SZ_2M);
	ASSERT_NE(MAP_FAILED, b);
	vsvm_pattern_fill(b, SZ_2M, 33);
	EXPECT_EQ(0, vsvm_gpu_read(self->fd, b + 5, &out, 1,
				   DRM_VSVM_POLICY_SYSTEM, NULL));
	EXPECT_EQ(vsvm_pattern_byte(5, 33), (unsigned char)out);
	ASSERT_EQ(0, vsvm_vm_stats(self->fd, &vst));
	EXPECT_LE(vst.num_ranges, 8);
	munmap(b, SZ_2M);
}

/*
 * The timeslice holds back user-mode faults only, and not for long: a
 * system call that reads migrated memory (write() to a pipe, a fault of
 * the kernel in copy_from_user()) does not wait for a 1000 ms timeslice,
 * and a user-mode touch waits at most about one second even when the VM
 * asks for five.
 */
TEST_F_TIMEOUT(mm, timeslice_user_faults_only, 60)
{
	size_t size = 16 * PAGE;
	char *a = vsvm_map_aligned(size, SZ_64K), *b = vsvm_map_aligned(size, SZ_64K);
	char *out = vsvm_host_alloc(PAGE);
	struct drm_vsvm_stats st;
	double t0, sys, user;
	int pfd[2];

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_NE(NULL, out);
	ASSERT_EQ(0, pipe(pfd));
	vsvm_pattern_fill(a, size, 31);
	vsvm_pattern_fill(b, size, 32);

	ASSERT_EQ(0, vsvm_set_timeslice(self->fd, 1000));
	ASSERT_EQ(0, vsvm_migrate(self->fd, a, size, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	ASSERT_EQ(size / PAGE, st.pages_to_vram);
	t0 = vsvm_now_ms();
	ASSERT_EQ((ssize_t)PAGE, write(pfd[1], a + PAGE, PAGE));
	sys = vsvm_now_ms() - t0;
	ASSERT_EQ((ssize_t)PAGE, read(pfd[0], out, PAGE));
	EXPECT_EQ(0, memcmp(out, a + PAGE, PAGE));

	ASSERT_EQ(0, vsvm_set_timeslice(self->fd, 5000));
	ASSERT_EQ(0, vsvm_migrate(self->fd, b, size, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	ASSERT_EQ(size / PAGE, st.pages_to_vram);
	t0 = vsvm_now_ms();
	(void)READ_ONCE(b[PAGE]);
	user = vsvm_now_ms() - t0;
	TH_LOG("kernel fault with a 1000 ms timeslice: %.0f ms; user fault with 5000 ms: %.0f ms",
	       sys, user);
	EXPECT_LT(sys, 500);
	EXPECT_LT(user, 2500);
	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 31));
	EXPECT_EQ(-1, vsvm_pattern_check(b, size, 32));
	close(pfd[0]);
	close(pfd[1]);
	munmap(a, size);
	munmap(b, size);
	vsvm_host_free(out);
}

/*
 * Closing the file while pages are in VRAM: they stay mapped in the
 * process, the CPU reads them back intact, and the device memory is
 * released afterwards.
 */
TEST_F(mm, close_fd_with_vram_pages)
{
	size_t size = SZ_1M;
	char *a = vsvm_map_aligned(size, SZ_2M), *tmp = vsvm_host_alloc(size);
	struct drm_vsvm_stats st;
	__u64 base, used;
	int fd2;

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(NULL, tmp);
	base = stable_vram_used(self->fd);
	fd2 = vsvm_open_device(0);
	ASSERT_GE(fd2, 0);
	vsvm_pattern_fill(a, size, 16);
	ASSERT_EQ(0, vsvm_migrate(fd2, a, size, DRM_VSVM_MIGRATE_TO_VRAM, &st));
	EXPECT_EQ(size / PAGE, st.pages_to_vram);
	ASSERT_EQ(0, vsvm_gpu_read(fd2, a, tmp, size, DRM_VSVM_POLICY_MIGRATE, NULL));
	EXPECT_EQ(-1, vsvm_pattern_check(tmp, size, 16));
	ASSERT_EQ(0, close(fd2));

	EXPECT_EQ(-1, vsvm_pattern_check(a, size, 16));
	used = wait_vram_used_le(self->fd, base, 5000);
	EXPECT_LE(used, base);
	munmap(a, size);
	vsvm_host_free(tmp);
}

/*
 * A process migrates memory to VRAM and exits without unmapping or
 * closing anything: its device memory is given back within a few seconds
 * (vram_used of the device returns to where it was).
 */
TEST_F(mm, process_exit_with_vram_pages)
{
	size_t size = 4 * SZ_1M;
	__u64 base, used;
	int status;
	pid_t pid;

	base = stable_vram_used(self->fd);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct drm_vsvm_query q;
		struct drm_vsvm_stats st;
		char *a;
		int fd;

		fd = vsvm_open_device(0);
		a = vsvm_map_aligned(size, SZ_2M);
		if (fd < 0 || a == MAP_FAILED)
			_exit(1);
		vsvm_pattern_fill(a, size, 17);
		if (vsvm_migrate(fd, a, size, DRM_VSVM_MIGRATE_TO_VRAM, &st) ||
		    st.pages_to_vram != size / PAGE)
			_exit(2);
		if (vsvm_query_device(fd, &q) || q.vram_used < base + size)
			_exit(3);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));

	used = wait_vram_used_le(self->fd, base, 5000);
	EXPECT_LE(used, base) {
		TH_LOG("vram_used %llu, was %llu before the child",
		       (unsigned long long)used, (unsigned long long)base);
	}
}

TEST_HARNESS_MAIN
