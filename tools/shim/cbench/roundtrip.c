/*
 * `pnpm bench shim`'s client. `roundtrip ioctl N`: N forwarded DRM_IOCTL_GET_CAP calls on the
 * drmsim render node (run under the preload library). `roundtrip echo PATH N`: N 16-byte
 * write/read pairs with a unix-socket echo server at PATH — the bare cost of a round trip through
 * the same kind of socket to the same Node process, the baseline.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xf86drm.h>

static int open_drmsim(void)
{
	for (int i = 128; i < 192; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/dev/dri/renderD%d", i);
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		drmVersionPtr v = drmGetVersion(fd);
		int match = v != NULL && strcmp(v->name, "drmsim") == 0;
		drmFreeVersion(v);
		if (match)
			return fd;
		close(fd);
	}
	return -1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "ioctl") == 0) {
		long n = atol(argv[2]);
		int fd = open_drmsim();
		if (fd < 0)
			return 2;
		uint64_t cap;
		for (long i = 0; i < n; i++)
			if (drmGetCap(fd, DRM_CAP_SYNCOBJ, &cap) != 0 || cap != 1)
				return 1;
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "echo") == 0) {
		long n = atol(argv[3]);
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[2]);
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0)
			return 2;
		char buf[16] = "0123456789abcdef";
		for (long i = 0; i < n; i++) {
			if (write(s, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
				return 1;
			size_t got = 0;
			while (got < sizeof(buf)) {
				ssize_t r = read(s, buf + got, sizeof(buf) - got);
				if (r <= 0)
					return 1;
				got += (size_t)r;
			}
		}
		return 0;
	}
	fprintf(stderr, "usage: roundtrip ioctl N | roundtrip echo PATH N\n");
	return 2;
}
