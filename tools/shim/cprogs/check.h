/*
 * The C tests' helpers. Each test prints one line per check — what it did and what the kernel
 * returns — and exits non-zero at the first mismatch, so a run's output is also its transcript
 * (the TypeScript side compares two runs of the same binary).
 */
#ifndef DRMSIM_CHECK_H
#define DRMSIM_CHECK_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xf86drm.h>

#define CHECK_EQ(what, got, want)                                                                          \
	do {                                                                                               \
		long long g_ = (long long)(got), w_ = (long long)(want);                                   \
		printf("%s: %lld%s\n", what, g_, g_ == w_ ? "" : " (MISMATCH)");                            \
		if (g_ != w_) {                                                                            \
			fprintf(stderr, "%s:%d: %s = %lld, the kernel gives %lld\n", __FILE__, __LINE__, what, g_, \
				w_);                                                                       \
			fflush(stdout);                                                                    \
			exit(1);                                                                           \
		}                                                                                          \
	} while (0)

#define CHECK(what, cond) CHECK_EQ(what, !!(cond), 1)

/* Line-buffered output: a transcript that stops where the program stopped. */
__attribute__((constructor)) static void line_buffered(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* A libdrm or libc result as the kernel's: -errno on failure (libdrm returns -1 or -errno by function). */
static inline long E(long r)
{
	return r < 0 ? -errno : r;
}

static inline int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Opens the first of nodes `fmt` % [first, last) whose driver is `name` (as IGT's drm_open_driver
 * chooses by name); exits 2 when there is none. */
static inline int open_node(const char *fmt, int first, int last, const char *name)
{
	for (int i = first; i < last; i++) {
		char path[64];
		snprintf(path, sizeof(path), fmt, i);
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		drmVersionPtr v = drmGetVersion(fd);
		int match = v != NULL && strcmp(v->name, name) == 0;
		drmFreeVersion(v);
		if (match)
			return fd;
		close(fd);
	}
	fprintf(stderr, "no %s node of driver %s\n", fmt, name);
	exit(2);
}

/* Opens the render node whose driver is `name`. */
static inline int open_render(const char *name)
{
	return open_node("/dev/dri/renderD%d", 128, 192, name);
}

/* Opens the primary node whose driver is `name`. */
static inline int open_card(const char *name)
{
	return open_node("/dev/dri/card%d", 0, 16, name);
}

#endif
