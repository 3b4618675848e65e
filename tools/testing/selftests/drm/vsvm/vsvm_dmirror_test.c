// SPDX-License-Identifier: GPL-2.0-only
/*
 * Userspace tests of vsvm's test_hmm front end (vsvm_dmirror.c): the
 * devices /dev/hmm_dmirror0 and 1 that vsvm creates when it is loaded with
 * dmirror=1, speaking lib/test_hmm's ioctl ABI. The kernel's hmm-tests run
 * against them too (the harness's peer suite); these tests cover what
 * hmm-tests does not: requests that run for long, and the semantics of
 * test_hmm that hmm-tests does not pin down.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../kselftest_harness.h"
#include "../../../../../lib/test_hmm_uapi.h"

#define PAGE		4096UL

#ifndef MAP_NORESERVE
#define MAP_NORESERVE	0x04000
#endif

/* Open /dev/hmm_dmirror<index>: the fd, or -errno. */
static int dmirror_open(int index)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/dev/hmm_dmirror%d", index);
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * One request of the test_hmm ABI over @npages pages at @addr, data at
 * @ptr; @cmd (optional) gets the answer. Returns 0 or -errno.
 */
static int dmirror_cmd(int fd, unsigned long request, void *addr, void *ptr,
		       unsigned long npages, struct hmm_dmirror_cmd *cmd)
{
	struct hmm_dmirror_cmd c;
	int ret;

	memset(&c, 0, sizeof(c));
	c.addr = (unsigned long)addr;
	c.ptr = (unsigned long)ptr;
	c.npages = npages;
	do {
		ret = ioctl(fd, request, &c);
	} while (ret == -1 && errno == EINTR);
	if (cmd)
		*cmd = c;
	return ret == -1 ? -errno : 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

FIXTURE(dmirror)
{
	int fd0;
	int fd1;
};

FIXTURE_SETUP(dmirror)
{
	self->fd0 = dmirror_open(0);
	self->fd1 = dmirror_open(1);
	if (self->fd0 == -ENOENT || self->fd1 == -ENOENT)
		SKIP(return, "no /dev/hmm_dmirror0 and 1 (load vsvm with dmirror=1)");
	ASSERT_GE(self->fd0, 0);
	ASSERT_GE(self->fd1, 0);
}

FIXTURE_TEARDOWN(dmirror)
{
	if (self->fd0 >= 0)
		close(self->fd0);
	if (self->fd1 >= 0)
		close(self->fd1);
}

/*
 * Fork a child that runs @child: it sets itself up, writes one byte to the
 * pipe @ready and then works until killed. Kill it 100 ms after that byte
 * and return how long it took to die, in ms (-1 if it did not within
 * @bound_ms, -2 if its setup failed). *@status gets its wait status.
 */
static int kill_after_100ms(void (*child)(int ready), int bound_ms,
			    int *status)
{
	int pipefd[2];
	pid_t pid, ret = 0;
	double t0;
	char c;

	if (pipe(pipefd))
		return -2;
	pid = fork();
	if (pid < 0)
		return -2;
	if (!pid) {
		close(pipefd[0]);
		child(pipefd[1]);
		_exit(0);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &c, 1) != 1) {
		waitpid(pid, status, 0);
		close(pipefd[0]);
		return -2;
	}
	close(pipefd[0]);

	usleep(100 * 1000);
	kill(pid, SIGKILL);
	t0 = now_ms();
	do {
		ret = waitpid(pid, status, WNOHANG);
		if (ret)
			break;
		usleep(10 * 1000);
	} while (now_ms() - t0 < bound_ms);

	return ret == pid ? (int)(now_ms() - t0) : -1;
}

/* 512 GiB of address space: 128 Mi pages, 2 Mi snapshot batches. */
#define SNAP_SPAN	(512UL << 30)

/* In a child: SNAPSHOT 512 GiB of PROT_NONE reservation, forever. */
static void long_snapshots_child(int ready)
{
	unsigned long npages = SNAP_SPAN / PAGE;
	struct hmm_dmirror_cmd cmd;
	unsigned char *perm;
	void *span;
	int fd;

	fd = dmirror_open(0);
	span = mmap(NULL, SNAP_SPAN, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	perm = mmap(NULL, npages, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || span == MAP_FAILED || perm == MAP_FAILED)
		_exit(2);

	memset(&cmd, 0, sizeof(cmd));
	cmd.addr = (unsigned long)span;
	cmd.ptr = (unsigned long)perm;
	cmd.npages = npages;
	if (write(ready, "r", 1) != 1)
		_exit(3);
	for (;;)
		ioctl(fd, HMM_DMIRROR_SNAPSHOT, &cmd);
}

/*
 * A request of the front end may cover a large part of the address space:
 * SNAPSHOT walks it 64 pages at a time, and never looked at signals nor
 * gave way. A child snapshotting 512 GiB of address space in a loop
 * ignored SIGKILL until the end of the request in progress (seconds to
 * tens of seconds under QEMU, with soft lockups without preemption).
 * Killed 100 ms into it, it must be gone within two seconds.
 */
TEST_F_TIMEOUT(dmirror, snapshot_is_killable, 120)
{
	int status = 0, ms;

	ms = kill_after_100ms(long_snapshots_child, 2000, &status);
	ASSERT_NE(-2, ms) {
		TH_LOG("the child failed to set up (status %#x)", status);
	}
	ASSERT_NE(-1, ms) {
		TH_LOG("the child ignored SIGKILL for 2 s in a SNAPSHOT request");
	}
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	TH_LOG("the child died %d ms after SIGKILL", ms);
}

TEST_HARNESS_MAIN
