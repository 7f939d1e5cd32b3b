/*
 * DRM_IOCTL_SYNCOBJ_EVENTFD: an eventfd the kernel signals when a timeline point signals (or, with
 * WAIT_AVAILABLE, appears), polled and read as a compositor's event loop does.
 */
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include "check.h"

/* Newer than Debian's libdrm headers: the 7.1 uAPI struct and request. */
struct syncobj_eventfd {
	uint32_t handle;
	uint32_t flags;
	uint64_t point;
	int32_t fd;
	uint32_t pad;
};
#define IOCTL_SYNCOBJ_EVENTFD DRM_IOWR(0xCF, struct syncobj_eventfd)

static int fd;
static uint32_t tl;

static int watch(int efd, uint64_t point, uint32_t flags)
{
	struct syncobj_eventfd a = {.handle = tl, .flags = flags, .point = point, .fd = efd};
	return ioctl(fd, IOCTL_SYNCOBJ_EVENTFD, &a) < 0 ? -errno : 0;
}

static int readable(int efd)
{
	struct pollfd p = {efd, POLLIN, 0};
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void *signal_3_later(void *unused)
{
	(void)unused;
	uint64_t three = 3;
	usleep(1000);
	drmSyncobjTimelineSignal(fd, &tl, &three, 1);
	return NULL;
}

int main(void)
{
	fd = open_render("drmsim");
	CHECK_EQ("create a timeline", drmSyncobjCreate(fd, 0, &tl), 0);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CHECK("eventfd", efd >= 0);
	CHECK_EQ("  EFD_CLOEXEC", fcntl(efd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	CHECK_EQ("SYNCOBJ_EVENTFD(point 2)", watch(efd, 2, 0), 0);
	uint64_t v = 0;
	CHECK_EQ("read (counter 0, non-blocking)", E(read(efd, &v, 8)), -EAGAIN);
	CHECK_EQ("not readable", readable(efd), 0);
	uint64_t one = 1, two = 2;
	CHECK_EQ("signal point 1", drmSyncobjTimelineSignal(fd, &tl, &one, 1), 0);
	CHECK_EQ("  still not readable", readable(efd), 0);
	CHECK_EQ("signal point 2", drmSyncobjTimelineSignal(fd, &tl, &two, 1), 0);
	CHECK_EQ("  readable", readable(efd), 1);
	CHECK_EQ("read 4 bytes", E(read(efd, &v, 4)), -EINVAL);
	CHECK_EQ("read", read(efd, &v, 8), 8);
	CHECK_EQ("  the counter", v, 1);
	CHECK_EQ("read again", E(read(efd, &v, 8)), -EAGAIN);
	CHECK_EQ("a point already signalled: at once", watch(efd, 1, 0), 0);
	CHECK_EQ("  readable", readable(efd), 1);
	CHECK_EQ("  read", read(efd, &v, 8), 8);

	/* A blocking eventfd: read waits until another thread signals point 3, 1 ms later. */
	int bfd = eventfd(0, 0);
	CHECK_EQ("SYNCOBJ_EVENTFD(point 3) on a blocking eventfd", watch(bfd, 3, 0), 0);
	pthread_t t;
	CHECK_EQ("pthread_create", pthread_create(&t, NULL, signal_3_later, NULL), 0);
	int64_t t0 = now_ns();
	CHECK_EQ("blocking read", read(bfd, &v, 8), 8);
	CHECK_EQ("  virtual µs waited", (now_ns() - t0) / 1000, 1000);
	CHECK_EQ("pthread_join", pthread_join(t, NULL), 0);
	CHECK_EQ("an fd that is no eventfd", watch(fd, 4, 0), -EINVAL);
	close(bfd);
	close(efd);
	CHECK_EQ("destroy", drmSyncobjDestroy(fd, tl), 0);
	printf("done\n");
	return 0;
}
