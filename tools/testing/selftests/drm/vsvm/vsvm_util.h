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
#include <unistd.h>

#include <drm/drm.h>
#include <drm/vsvm_drm.h>

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

#endif /* _VSVM_UTIL_H_ */
