/* Timeline syncobjs: signal/query/wait/transfer, waiter threads while another thread signals, WAIT_FOR_SUBMIT. */
#include <pthread.h>
#include <stdint.h>

#include "check.h"

static int fd;
static uint32_t tl;

struct waiter {
	uint64_t point;
	int ret;
	int64_t woke;
};

static void *wait_point(void *p)
{
	struct waiter *w = p;
	w->ret = drmSyncobjTimelineWait(fd, &tl, &w->point, 1, INT64_MAX, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, NULL);
	w->woke = now_ns();
	return NULL;
}

int main(void)
{
	fd = open_render("drmsim");
	int64_t t0 = now_ns();
	uint32_t h = 0;
	CHECK_EQ("create", drmSyncobjCreate(fd, 0, &h), 0);
	uint64_t p5 = 5, got = 0;
	CHECK_EQ("timeline signal 5", drmSyncobjTimelineSignal(fd, &h, &p5, 1), 0);
	CHECK_EQ("query", drmSyncobjQuery(fd, &h, &got, 1), 0);
	CHECK_EQ("query point", got, 5);
	uint64_t p3 = 3, p7 = 7;
	CHECK_EQ("wait point 3 (<= 5)", drmSyncobjTimelineWait(fd, &h, &p3, 1, 0, 0, NULL), 0);
	CHECK_EQ("wait point 7 (not submitted)", drmSyncobjTimelineWait(fd, &h, &p7, 1, 0, 0, NULL), -EINVAL);
	CHECK_EQ("wait point 7, FOR_SUBMIT, 2 ms",
		 drmSyncobjTimelineWait(fd, &h, &p7, 1, now_ns() + 2000000, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, NULL),
		 -ETIME);
	CHECK_EQ("virtual ms so far", (now_ns() - t0) / 1000000, 2);

	uint32_t bin = 0;
	CHECK_EQ("create binary", drmSyncobjCreate(fd, 0, &bin), 0);
	CHECK_EQ("transfer point 5 -> binary", drmSyncobjTransfer(fd, bin, 0, h, 5, 0), 0);
	CHECK_EQ("wait binary", drmSyncobjWait(fd, &bin, 1, 0, 0, NULL), 0);
	CHECK_EQ("transfer binary -> point 9", drmSyncobjTransfer(fd, h, 9, bin, 0, 0), 0);
	CHECK_EQ("query", drmSyncobjQuery(fd, &h, &got, 1), 0);
	CHECK_EQ("query point", got, 9);

	/* Three threads wait for points 1..3 of a new timeline (WAIT_FOR_SUBMIT); this thread signals them 1 ms apart. */
	CHECK_EQ("create timeline", drmSyncobjCreate(fd, 0, &tl), 0);
	struct waiter w[3];
	pthread_t t[3];
	int64_t start = now_ns();
	for (int i = 0; i < 3; i++) {
		w[i] = (struct waiter){(uint64_t)(i + 1), 1, 0};
		CHECK_EQ("pthread_create", pthread_create(&t[i], NULL, wait_point, &w[i]), 0);
	}
	for (uint64_t p = 1; p <= 3; p++) {
		CHECK_EQ("usleep 1 ms", usleep(1000), 0);
		CHECK_EQ("signal point", drmSyncobjTimelineSignal(fd, &tl, &p, 1), 0);
	}
	for (int i = 0; i < 3; i++) {
		CHECK_EQ("pthread_join", pthread_join(t[i], NULL), 0);
		CHECK_EQ("waiter result", w[i].ret, 0);
		CHECK_EQ("waiter woke at (virtual ms)", (w[i].woke - start) / 1000000, i + 1);
	}
	CHECK_EQ("query", drmSyncobjQuery(fd, &tl, &got, 1), 0);
	CHECK_EQ("query point", got, 3);
	CHECK_EQ("destroy", drmSyncobjDestroy(fd, h), 0);
	CHECK_EQ("destroy", drmSyncobjDestroy(fd, bin), 0);
	CHECK_EQ("destroy", drmSyncobjDestroy(fd, tl), 0);
	printf("done\n");
	return 0;
}
