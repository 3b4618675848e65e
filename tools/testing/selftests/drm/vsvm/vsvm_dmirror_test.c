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
#include <pthread.h>
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
#include "vsvm_util.h"

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

/* Host-side buffers: MAP_SHARED, never merged with memory under test. */
static void *host_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Private anonymous memory under test. */
static void *anon_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Page @i at version @ver: every u64 holds both; version 0 is a page that
 * was never written (or dropped), all zeros.
 */
static void page_fill(void *page, unsigned long i, uint64_t ver)
{
	uint64_t *p = page;
	unsigned long j;

	for (j = 0; j < PAGE / sizeof(*p); j++)
		p[j] = ver ? (uint64_t)i << 32 | ver : 0;
}

static int page_check(const void *page, unsigned long i, uint64_t ver)
{
	const uint64_t *p = page;
	uint64_t want = ver ? (uint64_t)i << 32 | ver : 0;
	unsigned long j;

	for (j = 0; j < PAGE / sizeof(*p); j++)
		if (p[j] != want)
			return 0;
	return 1;
}

/* Pages of [first, first + n) of @buf that do not hold what @ver says. */
static unsigned long bad_pages(const char *buf, unsigned long first,
			       unsigned long n, const uint64_t *ver)
{
	unsigned long i, bad = 0;

	for (i = 0; i < n; i++)
		bad += !page_check(buf + i * PAGE, first + i, ver[first + i]);
	return bad;
}

#define MIX_PAGES	256
#define MIX_STEPS	600

enum mix_op {
	MIX_CPU_WRITE,
	MIX_CPU_READ,
	MIX_DEV_READ,
	MIX_DEV_WRITE,
	MIX_DONTNEED,
	MIX_TO_SYS,
	MIX_TO_DEV,
	MIX_OPS
};

/*
 * MIGRATE_TO_DEV of a random sub-range of 1 to 64 pages of a private
 * anonymous buffer, after a random mix of CPU writes and reads, device
 * reads and writes, MADV_DONTNEED of single pages and MIGRATE_TO_SYS of
 * random sub-ranges. lib/test_hmm migrates what it can and returns 0 with
 * the data; every request must succeed here too, with the right data, and
 * so must every other request. Before, about 80% of the MIGRATE_TO_DEV
 * requests failed with ENOENT: a MIGRATE_TO_SYS (a GPU SVM range created
 * "not migratable") or a page core mm could not move at that moment made
 * the front end refuse the whole request.
 */
/*
 * READ and WRITE go straight between the device and the user buffer while
 * its pages are present, and through a bounce buffer where they are not.
 * 48 pages, three pieces of 16: the user buffer's first piece is all
 * present, the second every other page, the third not at all. The data
 * and the page count must come out the same whichever way each piece went;
 * a read-only or missing user buffer still fails with -EFAULT.
 */
TEST_F(dmirror, user_buffer_partly_present)
{
	const unsigned long npages = 48;
	const size_t size = npages * PAGE;
	char *buf = anon_alloc(size), *user = anon_alloc(size);
	struct hmm_dmirror_cmd cmd;
	unsigned long i;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, user);
	for (i = 0; i < npages; i++)
		page_fill(buf + i * PAGE, i, 1);
	for (i = 0; i < npages; i++)
		if (i < 16 || (i < 32 && !(i & 1)))
			user[i * PAGE] = 1;

	ASSERT_EQ(0, dmirror_cmd(self->fd0, HMM_DMIRROR_READ, buf, user,
				 npages, &cmd));
	EXPECT_EQ(npages, cmd.cpages);
	for (i = 0; i < npages; i++)
		EXPECT_TRUE(page_check(user + i * PAGE, i, 1))
			TH_LOG("page %lu", i);

	/* The same for WRITE: version 2 where present, zeros elsewhere. */
	ASSERT_EQ(0, munmap(user, size));
	user = anon_alloc(size);
	ASSERT_NE(NULL, user);
	for (i = 0; i < npages; i++)
		if (i < 16 || (i < 32 && !(i & 1)))
			page_fill(user + i * PAGE, i, 2);
	ASSERT_EQ(0, dmirror_cmd(self->fd0, HMM_DMIRROR_WRITE, buf, user,
				 npages, &cmd));
	EXPECT_EQ(npages, cmd.cpages);
	for (i = 0; i < npages; i++)
		EXPECT_TRUE(page_check(buf + i * PAGE, i,
				       i < 16 || (i < 32 && !(i & 1)) ? 2 : 0))
			TH_LOG("page %lu", i);

	/* Present but read-only: a READ cannot deliver. */
	memset(user, 0, size);
	ASSERT_EQ(0, mprotect(user, size, PROT_READ));
	EXPECT_EQ(-EFAULT, dmirror_cmd(self->fd0, HMM_DMIRROR_READ, buf, user,
				       npages, &cmd));
	EXPECT_EQ(0, user[0]);

	/* Not mapped at all, or NULL, either way. */
	ASSERT_EQ(0, munmap(user, size));
	EXPECT_EQ(-EFAULT, dmirror_cmd(self->fd0, HMM_DMIRROR_READ, buf, user,
				       npages, &cmd));
	EXPECT_EQ(-EFAULT, dmirror_cmd(self->fd0, HMM_DMIRROR_WRITE, buf, user,
				       npages, &cmd));
	EXPECT_EQ(-EFAULT, dmirror_cmd(self->fd0, HMM_DMIRROR_READ, buf, NULL,
				       npages, &cmd));
	EXPECT_EQ(-EFAULT, dmirror_cmd(self->fd0, HMM_DMIRROR_WRITE, buf, NULL,
				       npages, &cmd));
	munmap(buf, size);
}

struct user_racer {
	char *user;
	size_t size;
	int stop;
	unsigned long rounds;
};

/*
 * Drop the user buffer's pages, every fourth time also make it read-only
 * for a moment, then let a request or two through.
 */
static void *user_racer_fn(void *arg)
{
	struct user_racer *r = arg;

	while (!READ_ONCE(r->stop)) {
		madvise(r->user, r->size, MADV_DONTNEED);
		if (!(r->rounds & 3)) {
			mprotect(r->user, r->size, PROT_READ);
			mprotect(r->user, r->size, PROT_READ | PROT_WRITE);
		}
		r->rounds++;
		usleep(300);
	}
	return NULL;
}

/*
 * READ and MIGRATE_TO_DEV (whose read-back is a READ) while another thread
 * keeps dropping the user buffer's pages and write-protecting it: a request
 * goes straight or through the bounce buffer depending on the moment, and
 * must succeed with every page counted or fail with -EFAULT (the buffer
 * was read-only when the data was delivered), nothing else. Afterwards a
 * quiet READ returns the right data, and a WRITE from a read-only user
 * buffer (present pages, read straight from it) stores all of it.
 */
TEST_F_TIMEOUT(dmirror, user_buffer_races_dontneed, 120)
{
	const unsigned long npages = 64;
	const size_t size = npages * PAGE;
	struct user_racer r = { .size = size };
	unsigned long ok = 0, efault = 0, i;
	char *buf = anon_alloc(size);
	struct hmm_dmirror_cmd cmd;
	double end;
	pthread_t th;
	int ret;

	ASSERT_NE(NULL, buf);
	r.user = anon_alloc(size);
	ASSERT_NE(NULL, r.user);
	for (i = 0; i < npages; i++)
		page_fill(buf + i * PAGE, i, 1);

	ASSERT_EQ(0, pthread_create(&th, NULL, user_racer_fn, &r));
	end = now_ms() + 2000;
	for (i = 0; now_ms() < end; i++) {
		unsigned long req = i & 1 ? HMM_DMIRROR_READ :
				    HMM_DMIRROR_MIGRATE_TO_DEV;

		ret = dmirror_cmd(self->fd0, req, buf, r.user, npages, &cmd);
		if (!ret) {
			ok++;
			EXPECT_EQ(npages, cmd.cpages);
		} else {
			EXPECT_EQ(-EFAULT, ret) TH_LOG("request %lu", req);
			efault++;
		}
	}
	WRITE_ONCE(r.stop, 1);
	pthread_join(th, NULL);
	TH_LOG("%lu requests done, %lu -EFAULT, %lu racer rounds", ok, efault,
	       r.rounds);
	EXPECT_GT(ok, 0);

	/* Quiet now: the device still has every byte. */
	ASSERT_EQ(0, dmirror_cmd(self->fd0, HMM_DMIRROR_READ, buf, r.user,
				 npages, &cmd));
	for (i = 0; i < npages; i++)
		EXPECT_TRUE(page_check(r.user + i * PAGE, i, 1))
			TH_LOG("page %lu", i);

	/* WRITE from a read-only buffer: every byte ends up version 2. */
	for (i = 0; i < npages; i++)
		page_fill(r.user + i * PAGE, i, 2);
	ASSERT_EQ(0, mprotect(r.user, size, PROT_READ));
	ASSERT_EQ(0, dmirror_cmd(self->fd0, HMM_DMIRROR_WRITE, buf, r.user,
				 npages, &cmd));
	EXPECT_EQ(npages, cmd.cpages);
	for (i = 0; i < npages; i++)
		EXPECT_TRUE(page_check(buf + i * PAGE, i, 2))
			TH_LOG("page %lu", i);

	munmap(r.user, size);
	munmap(buf, size);
}

TEST_F_TIMEOUT(dmirror, migrate_random_mix, 300)
{
	unsigned long to_dev = 0, to_dev_failed = 0, bad_data = 0, other_failed = 0;
	uint64_t ver[MIX_PAGES] = { 0 }, next = 1;
	size_t size = MIX_PAGES * PAGE;
	char *buf = anon_alloc(size), *host = host_alloc(64 * PAGE);
	unsigned int seed = 1234;
	struct hmm_dmirror_cmd cmd;
	unsigned long i, first, n;
	int step, op, ret;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, host);

	for (step = 0; step < MIX_STEPS; step++) {
		op = rand_r(&seed) % MIX_OPS;
		first = rand_r(&seed) % MIX_PAGES;
		n = 1 + rand_r(&seed) % 64;
		if (first + n > MIX_PAGES)
			n = MIX_PAGES - first;

		switch (op) {
		case MIX_CPU_WRITE:
			for (i = first; i < first + n; i++) {
				ver[i] = next++;
				page_fill(buf + i * PAGE, i, ver[i]);
			}
			break;
		case MIX_CPU_READ:
			bad_data += bad_pages(buf + first * PAGE, first, n, ver);
			break;
		case MIX_DEV_READ:
			ret = dmirror_cmd(self->fd0, HMM_DMIRROR_READ,
					  buf + first * PAGE, host, n, NULL);
			if (ret)
				other_failed++;
			else
				bad_data += bad_pages(host, first, n, ver);
			break;
		case MIX_DEV_WRITE:
			for (i = 0; i < n; i++)
				page_fill(host + i * PAGE, first + i, next + i);
			ret = dmirror_cmd(self->fd0, HMM_DMIRROR_WRITE,
					  buf + first * PAGE, host, n, NULL);
			if (ret) {
				other_failed++;
				break;
			}
			for (i = 0; i < n; i++)
				ver[first + i] = next++;
			break;
		case MIX_DONTNEED:
			if (madvise(buf + first * PAGE, PAGE, MADV_DONTNEED))
				other_failed++;
			else
				ver[first] = 0;
			break;
		case MIX_TO_SYS:
			if (dmirror_cmd(self->fd0, HMM_DMIRROR_MIGRATE_TO_SYS,
					buf + first * PAGE, NULL, n, NULL))
				other_failed++;
			break;
		case MIX_TO_DEV:
			to_dev++;
			memset(host, 0xee, n * PAGE);
			ret = dmirror_cmd(self->fd0, HMM_DMIRROR_MIGRATE_TO_DEV,
					  buf + first * PAGE, host, n, &cmd);
			if (ret) {
				if (to_dev_failed++ < 5)
					TH_LOG("step %d: MIGRATE_TO_DEV of pages %lu-%lu: %s",
					       step, first, first + n - 1,
					       strerror(-ret));
				break;
			}
			if (cmd.cpages > n)
				bad_data++;
			bad_data += bad_pages(host, first, n, ver);
			break;
		}
	}

	TH_LOG("%lu MIGRATE_TO_DEV requests, %lu failed", to_dev, to_dev_failed);
	EXPECT_GT(to_dev, 0);
	EXPECT_EQ(0, to_dev_failed);
	EXPECT_EQ(0, other_failed);
	EXPECT_EQ(0, bad_data);
	EXPECT_EQ(0, bad_pages(buf, 0, MIX_PAGES, ver));
	munmap(buf, size);
	munmap(host, 64 * PAGE);
}

/*
 * Device 1 reads a buffer, which vsvm's default placement moves into
 * device 1's memory (test_hmm would read it in system memory); then
 * MIGRATE_TO_DEV on device 0 must move it all to device 0, as test_hmm
 * does from system memory: 0, cpages == npages, the data, and device 0's
 * snapshot sees its own pages. Before, the front end left the pages in
 * device 1's memory and failed with ENOENT.
 */
TEST_F(dmirror, migrate_after_other_device_read)
{
	unsigned long npages = 64, i;
	uint64_t ver[64];
	size_t size = npages * PAGE;
	char *buf = anon_alloc(size), *host = host_alloc(size);
	struct hmm_dmirror_cmd cmd;
	unsigned char *perm;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, host);
	for (i = 0; i < npages; i++) {
		ver[i] = 100 + i;
		page_fill(buf + i * PAGE, i, ver[i]);
	}

	ASSERT_EQ(0, dmirror_cmd(self->fd1, HMM_DMIRROR_READ, buf, host, npages,
				 &cmd));
	EXPECT_EQ(0, bad_pages(host, 0, npages, ver));

	memset(host, 0, size);
	ASSERT_EQ(0, dmirror_cmd(self->fd0, HMM_DMIRROR_MIGRATE_TO_DEV, buf,
				 host, npages, &cmd));
	EXPECT_EQ(npages, cmd.cpages);
	EXPECT_EQ(0, bad_pages(host, 0, npages, ver));

	perm = (unsigned char *)host;
	ASSERT_EQ(0, dmirror_cmd(self->fd0, HMM_DMIRROR_SNAPSHOT, buf, perm,
				 npages, &cmd));
	for (i = 0; i < npages; i++)
		if (perm[i] != (HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL |
				HMM_DMIRROR_PROT_WRITE))
			break;
	EXPECT_EQ(npages, i) {
		TH_LOG("page %lu: snapshot %#x", i, perm[i]);
	}

	EXPECT_EQ(0, bad_pages(buf, 0, npages, ver));
	munmap(buf, size);
	munmap(host, size);
}

/*
 * What an explicit MIGRATE_TO_DEV put in device 1's memory stays there
 * when device 0 migrates the range: test_hmm only collects system memory,
 * and fails the request with ENOENT as device 0 cannot read those pages
 * (hmm-tests' hmm2.migrate_mixed relies on it), after moving the rest.
 */
TEST_F(dmirror, migrate_leaves_explicit_other_device_pages)
{
	unsigned long npages = 8, i;
	uint64_t ver[8];
	size_t size = npages * PAGE;
	char *buf = anon_alloc(size), *host = host_alloc(size);
	struct hmm_dmirror_cmd cmd;
	unsigned char *perm = (unsigned char *)host;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, host);
	for (i = 0; i < npages; i++) {
		ver[i] = 200 + i;
		page_fill(buf + i * PAGE, i, ver[i]);
	}

	ASSERT_EQ(0, dmirror_cmd(self->fd1, HMM_DMIRROR_MIGRATE_TO_DEV,
				 buf + 2 * PAGE, host, 2, &cmd));
	EXPECT_EQ(2, cmd.cpages);
	EXPECT_EQ(-ENOENT, dmirror_cmd(self->fd0, HMM_DMIRROR_MIGRATE_TO_DEV,
				       buf, host, npages, NULL));

	ASSERT_EQ(0, dmirror_cmd(self->fd1, HMM_DMIRROR_SNAPSHOT, buf, perm,
				 npages, &cmd));
	EXPECT_EQ(HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | HMM_DMIRROR_PROT_WRITE,
		  perm[2]);
	EXPECT_EQ(HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | HMM_DMIRROR_PROT_WRITE,
		  perm[3]);

	EXPECT_EQ(0, bad_pages(buf, 0, npages, ver));
	munmap(buf, size);
	munmap(host, size);
}

/*
 * test_hmm's migrate_vma_setup() refuses VM_MIXEDMAP (VM_SPECIAL) VMAs,
 * such as the front end's own mmap(): MIGRATE_TO_DEV and MIGRATE_TO_SYS
 * fail with EINVAL. Before, MIGRATE_TO_DEV failed with ENOENT.
 */
TEST_F(dmirror, migrate_special_vma_is_invalid)
{
	unsigned long npages = 4;
	size_t size = npages * PAGE;
	char *host = host_alloc(size);
	void *map;

	ASSERT_NE(NULL, host);
	map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, self->fd0, 0);
	ASSERT_NE(MAP_FAILED, map);

	EXPECT_EQ(-EINVAL, dmirror_cmd(self->fd0, HMM_DMIRROR_MIGRATE_TO_DEV,
				       map, host, npages, NULL));
	EXPECT_EQ(-EINVAL, dmirror_cmd(self->fd0, HMM_DMIRROR_MIGRATE_TO_SYS,
				       map, NULL, npages, NULL));
	munmap(map, size);
	munmap(host, size);
}

/* The VRAM of each vsvm GPU in bytes (module parameter vram_mb). */
static unsigned long vram_size(void)
{
	unsigned long mb = 0;
	FILE *f = fopen("/sys/module/vsvm/parameters/vram_mb", "re");

	if (f) {
		if (fscanf(f, "%lu", &mb) != 1)
			mb = 0;
		fclose(f);
	}
	return mb << 20;
}

/*
 * MIGRATE_TO_DEV of more than the device memory: what does not fit stays
 * in (or goes back to) system memory, and the request still succeeds
 * with all of the data, cpages telling how much is in device memory, as
 * test_hmm reports progress: exactly the pages a SNAPSHOT right after
 * finds there. Before, the front end failed with ENOENT unless every page
 * ended up in VRAM.
 */
TEST_F_TIMEOUT(dmirror, migrate_more_than_vram, 300)
{
	unsigned long vram = vram_size(), npages, i, bad = 0, local = 0;
	struct hmm_dmirror_cmd cmd, snap;
	unsigned char *perm;
	char *buf, *host;
	size_t size;

	if (!vram)
		SKIP(return, "cannot read /sys/module/vsvm/parameters/vram_mb");
	size = vram + (16UL << 20);
	npages = size / PAGE;
	buf = anon_alloc(size);
	host = host_alloc(size);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, host);
	for (i = 0; i < npages; i++)
		page_fill(buf + i * PAGE, i, 7);

	ASSERT_EQ(0, dmirror_cmd(self->fd0, HMM_DMIRROR_MIGRATE_TO_DEV, buf,
				 host, npages, &cmd));
	TH_LOG("%lu of %lu pages in device memory", (unsigned long)cmd.cpages,
	       npages);
	EXPECT_GT(cmd.cpages, 0);
	EXPECT_LT(cmd.cpages, npages);
	perm = malloc(npages);
	ASSERT_NE(NULL, perm);
	ASSERT_EQ(0, dmirror_cmd(self->fd0, HMM_DMIRROR_SNAPSHOT, buf, perm,
				 npages, &snap));
	for (i = 0; i < npages; i++)
		local += (perm[i] & 0xf0) == HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL ||
			 (perm[i] & 0xf0) == HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL;
	free(perm);
	EXPECT_EQ(local, cmd.cpages);
	for (i = 0; i < npages; i++)
		bad += !page_check(host + i * PAGE, i, 7);
	EXPECT_EQ(0, bad);
	for (i = 0; i < npages; i++)
		bad += !page_check(buf + i * PAGE, i, 7);
	EXPECT_EQ(0, bad);
	munmap(buf, size);
	munmap(host, size);
}

struct releaser {
	int fd;
	void *addr;
	unsigned long npages;
	int ret;
};

static void *releaser_fn(void *arg)
{
	struct releaser *r = arg;

	r->ret = dmirror_cmd(r->fd, HMM_DMIRROR_RELEASE, r->addr, NULL,
			     r->npages, NULL);
	return NULL;
}

/* Taint flag B, which KASAN and bad page reports set. */
#define TAINT_BAD_PAGE	0x20UL	/* bit 5 */

/*
 * RELEASE evicts by device pfn (drm_pagemap_evict_to_ram() through
 * migrate_device_range()), without the mmap lock of the processes whose
 * pages it moves. A child process puts 1 MiB in VRAM; RELEASE unmaps those
 * pages and sleeps in the copy hook (debugfs vsvm_copy_to_ram_delay_us)
 * while the child exits, which zaps the migration entries and frees the
 * anon_vma. 6.12 walked that freed anon_vma when it restored the mappings
 * (KASAN slab-use-after-free in rmap_walk_anon(), found by vsvm_fuzz;
 * tools/harness/kernel-fixes/0002 fixes it). A buffer of this process goes
 * through the same eviction and keeps its data.
 */
TEST_F_TIMEOUT(dmirror, release_races_exit, 120)
{
	unsigned long npages = 64, cpages = 256, i, bad = 0;
	unsigned long taint = vsvm_taint();
	char *keep = anon_alloc(npages * PAGE), *host = host_alloc(npages * PAGE);
	struct releaser r = { .fd = self->fd0, .addr = keep, .npages = npages };
	int go[2], ready[2], vfd, status;
	pthread_t th;
	pid_t pid;
	char c;

	ASSERT_NE(NULL, keep);
	ASSERT_NE(NULL, host);
	vfd = vsvm_open_device(0);
	ASSERT_GE(vfd, 0);
	if (vsvm_debugfs_set(vfd, "vsvm_copy_to_ram_delay_us", 0))
		SKIP(return, "no debugfs knob vsvm_copy_to_ram_delay_us (debugfs not mounted?)");
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		char *buf = anon_alloc(cpages * PAGE), *chost = host_alloc(cpages * PAGE);
		int fd = dmirror_open(0);
		struct hmm_dmirror_cmd cmd;

		if (!buf || !chost || fd < 0)
			_exit(2);
		for (i = 0; i < cpages; i++)
			page_fill(buf + i * PAGE, i, 9);
		if (dmirror_cmd(fd, HMM_DMIRROR_MIGRATE_TO_DEV, buf, chost,
				cpages, &cmd) || cmd.cpages != cpages)
			_exit(3);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(4);
		_exit(0);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));

	for (i = 0; i < npages; i++)
		page_fill(keep + i * PAGE, i, 5);
	ASSERT_EQ(0, dmirror_cmd(self->fd0, HMM_DMIRROR_MIGRATE_TO_DEV, keep,
				 host, npages, NULL));

	/* Every copy back to RAM now sleeps 200 ms with its pages unmapped. */
	ASSERT_EQ(0, vsvm_debugfs_set(vfd, "vsvm_copy_to_ram_delay_us", 200000));
	ASSERT_EQ(0, pthread_create(&th, NULL, releaser_fn, &r));
	usleep(50000);
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	pthread_join(th, NULL);
	ASSERT_EQ(0, vsvm_debugfs_set(vfd, "vsvm_copy_to_ram_delay_us", 0));

	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, r.ret);
	for (i = 0; i < npages; i++)
		bad += !page_check(keep + i * PAGE, i, 5);
	EXPECT_EQ(0, bad);
	if (!(taint & TAINT_BAD_PAGE))
		EXPECT_EQ(0, vsvm_taint() & TAINT_BAD_PAGE);

	close(vfd);
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
	munmap(keep, npages * PAGE);
	munmap(host, npages * PAGE);
}

TEST_HARNESS_MAIN
