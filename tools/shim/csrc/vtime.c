/*
 * Virtual time. CLOCK_MONOTONIC (and _RAW, _COARSE, _BOOTTIME) read the simulator's clock, which
 * the server publishes in a shared page before it lets any thread run; sleeps are requests that
 * the server answers when virtual time reaches their end. Time moves only while every attached
 * thread is blocked in the server, so a program never sees it change under its feet, and a test
 * that sleeps 5 s returns at once. CLOCK_REALTIME stays the real clock.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

static const volatile int64_t *clock_page;
static pthread_once_t clock_once = PTHREAD_ONCE_INIT;

static void map_clock(void)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/clock", shim_root());
	long fd = shim_raw(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return;
	void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, (int)fd, 0);
	shim_raw(SYS_close, fd, 0, 0, 0, 0, 0);
	if (p != MAP_FAILED)
		clock_page = p;
}

int64_t shim_now_ns(void)
{
	pthread_once(&clock_once, map_clock);
	return clock_page ? clock_page[0] : 0;
}

static int virtual_clock(clockid_t clk)
{
	return shim_enabled() && (clk == CLOCK_MONOTONIC || clk == CLOCK_MONOTONIC_RAW ||
				  clk == CLOCK_MONOTONIC_COARSE || clk == CLOCK_BOOTTIME);
}

int clock_gettime(clockid_t clk, struct timespec *ts)
{
	if (!virtual_clock(clk)) {
		static int (*real)(clockid_t, struct timespec *);
		if (real == NULL)
			real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
		return real(clk, ts);
	}
	/* The program's threads only run while virtual time stands still: no torn reads. */
	int64_t now = shim_now_ns();
	ts->tv_sec = now / 1000000000;
	ts->tv_nsec = now % 1000000000;
	return 0;
}

/* A virtual sleep of `ns`; 0, or -EINTR with the time left in *left. */
static int vsleep(int64_t ns, int64_t *left)
{
	struct shim_reply r;
	shim_call(MSG_SLEEP, &ns, 8, NULL, 0, &r, 1);
	if (left != NULL)
		*left = r.len >= 8 ? *(int64_t *)r.data : 0;
	free(r.data);
	return (int)r.ret;
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req, struct timespec *rem)
{
	if (!virtual_clock(clk)) {
		static int (*real)(clockid_t, int, const struct timespec *, struct timespec *);
		if (real == NULL)
			real = (int (*)(clockid_t, int, const struct timespec *, struct timespec *))dlsym(
				RTLD_NEXT, "clock_nanosleep");
		return real(clk, flags, req, rem);
	}
	if (req->tv_nsec < 0 || req->tv_nsec >= 1000000000)
		return EINVAL;
	int64_t ns = ts_ns(req);
	if (flags & TIMER_ABSTIME)
		ns -= shim_now_ns();
	if (ns <= 0)
		return 0;
	int64_t left = 0;
	int r = vsleep(ns, &left);
	if (r < 0 && rem != NULL && !(flags & TIMER_ABSTIME)) {
		rem->tv_sec = left / 1000000000;
		rem->tv_nsec = left % 1000000000;
	}
	return r < 0 ? -r : 0;
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
	int r = clock_nanosleep(CLOCK_MONOTONIC, 0, req, rem);
	if (r != 0) {
		errno = r;
		return -1;
	}
	return 0;
}

int usleep(useconds_t us)
{
	struct timespec t = {us / 1000000, (long)(us % 1000000) * 1000};
	return nanosleep(&t, NULL);
}

unsigned int sleep(unsigned int s)
{
	struct timespec t = {s, 0}, rem = {0, 0};
	if (nanosleep(&t, &rem) == 0)
		return 0;
	return (unsigned int)rem.tv_sec + (rem.tv_nsec > 0);
}
