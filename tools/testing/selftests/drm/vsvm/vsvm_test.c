// SPDX-License-Identifier: GPL-2.0-only
/*
 * Userspace tests of the vsvm virtual GPU (drivers/gpu/drm/vsvm).
 */

#include <stdlib.h>
#include <sys/wait.h>

#include "../../kselftest_harness.h"
#include "vsvm_util.h"

FIXTURE(vsvm)
{
	int fd;
};

FIXTURE_SETUP(vsvm)
{
	self->fd = vsvm_open_device(0);
	if (self->fd == -ENODEV)
		SKIP(return, "no vsvm device (is the module loaded?)");
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(vsvm)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* The device describes itself: size of VRAM, page size, its index. */
TEST_F(vsvm, query)
{
	struct drm_vsvm_query q;

	memset(&q, 0, sizeof(q));
	ASSERT_EQ(0, vsvm_ioctl(self->fd, DRM_IOCTL_VSVM_QUERY, &q));
	EXPECT_GT(q.vram_size, 0);
	EXPECT_EQ(0, q.vram_size % q.page_size);
	EXPECT_EQ((__u64)getpagesize(), q.page_size);
	EXPECT_EQ(0, q.device_index);
	EXPECT_GE(q.num_devices, 1);
}

/* Unknown flags and a nonzero pad are refused, the output is untouched. */
TEST_F(vsvm, query_rejects_flags_and_pad)
{
	struct drm_vsvm_query q;

	memset(&q, 0, sizeof(q));
	q.flags = 1;
	EXPECT_EQ(-EINVAL, vsvm_ioctl(self->fd, DRM_IOCTL_VSVM_QUERY, &q));
	EXPECT_EQ(0, q.vram_size);

	memset(&q, 0, sizeof(q));
	q.pad = 0x80000000u;
	EXPECT_EQ(-EINVAL, vsvm_ioctl(self->fd, DRM_IOCTL_VSVM_QUERY, &q));
	EXPECT_EQ(0, q.vram_size);
}

/* Every device answers with its own index, in render node order. */
TEST(all_devices_enumerate)
{
	struct drm_vsvm_query q;
	int i, fd, n;

	fd = vsvm_open_device(0);
	if (fd == -ENODEV)
		SKIP(return, "no vsvm device (is the module loaded?)");
	ASSERT_GE(fd, 0);
	memset(&q, 0, sizeof(q));
	ASSERT_EQ(0, vsvm_ioctl(fd, DRM_IOCTL_VSVM_QUERY, &q));
	close(fd);
	n = q.num_devices;

	for (i = 0; i < n; i++) {
		fd = vsvm_open_device(i);
		ASSERT_GE(fd, 0);
		memset(&q, 0, sizeof(q));
		ASSERT_EQ(0, vsvm_ioctl(fd, DRM_IOCTL_VSVM_QUERY, &q));
		EXPECT_EQ(i, q.device_index);
		close(fd);
	}
	EXPECT_EQ(-ENODEV, vsvm_open_device(n));
}

/* An ioctl number the driver does not know fails cleanly. */
TEST_F(vsvm, unknown_ioctl)
{
	__u64 arg[4] = { 0 };

	EXPECT_EQ(-EINVAL, vsvm_ioctl(self->fd,
				      DRM_IOWR(DRM_COMMAND_BASE + 0x3f, __u64[4]),
				      arg));
}

TEST_HARNESS_MAIN
