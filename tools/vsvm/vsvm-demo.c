// SPDX-License-Identifier: GPL-2.0-only
/*
 * vsvm-demo: a readable tour of the vsvm virtual GPUs. Run by "make demo"
 * inside the test guest.
 */

#include <stdio.h>
#include <stdlib.h>

#include "../testing/selftests/drm/vsvm/vsvm_util.h"

int main(void)
{
	struct drm_vsvm_query q;
	int i, fd, n = 0;

	printf("vsvm demo: the virtual GPUs of this machine\n\n");
	printf("%-8s %-12s %-10s %s\n", "device", "vram", "page", "render node");
	for (i = 0; ; i++) {
		fd = vsvm_open_device(i);
		if (fd < 0)
			break;
		memset(&q, 0, sizeof(q));
		if (vsvm_ioctl(fd, DRM_IOCTL_VSVM_QUERY, &q)) {
			perror("DRM_IOCTL_VSVM_QUERY");
			return 1;
		}
		printf("%-8u %-8llu MiB %-6llu B  yes\n", q.device_index,
		       (unsigned long long)q.vram_size >> 20,
		       (unsigned long long)q.page_size);
		close(fd);
		n++;
	}
	if (!n) {
		fprintf(stderr, "no vsvm device found\n");
		return 1;
	}
	printf("\n%d device(s)\n", n);
	return 0;
}
