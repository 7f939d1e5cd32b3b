/* syncobj create/destroy/wait/reset/signal, and absolute timeouts in virtual time. */
#include "check.h"

int main(void)
{
	int fd = open_render("drmsim");
	uint64_t cap = 0;
	CHECK_EQ("GET_CAP(SYNCOBJ)", drmGetCap(fd, DRM_CAP_SYNCOBJ, &cap), 0);
	CHECK_EQ("SYNCOBJ cap", cap, 1);
	CHECK_EQ("GET_CAP(SYNCOBJ_TIMELINE)", drmGetCap(fd, DRM_CAP_SYNCOBJ_TIMELINE, &cap), 0);
	CHECK_EQ("SYNCOBJ_TIMELINE cap", cap, 1);

	uint32_t h = 0, s = 0;
	CHECK_EQ("create", drmSyncobjCreate(fd, 0, &h), 0);
	CHECK("handle > 0", h > 0);
	CHECK_EQ("create SIGNALED", drmSyncobjCreate(fd, DRM_SYNCOBJ_CREATE_SIGNALED, &s), 0);
	CHECK_EQ("create with unknown flags", E(drmSyncobjCreate(fd, 0x80, &h)), -EINVAL);

	uint32_t first = 99;
	CHECK_EQ("wait(signalled, timeout 0)", drmSyncobjWait(fd, &s, 1, 0, 0, &first), 0);
	CHECK_EQ("first_signaled", first, 0);
	/* No fence yet and no WAIT_FOR_SUBMIT: EINVAL at once. */
	CHECK_EQ("wait(no fence)", drmSyncobjWait(fd, &h, 1, now_ns() + 1000000, 0, NULL), -EINVAL);
	uint32_t bad = 4242;
	CHECK_EQ("wait(bad handle)", drmSyncobjWait(fd, &bad, 1, 0, 0, NULL), -ENOENT);

	CHECK_EQ("reset(signalled)", drmSyncobjReset(fd, &s, 1), 0);
	CHECK_EQ("wait(after reset)", drmSyncobjWait(fd, &s, 1, 0, 0, NULL), -EINVAL);
	CHECK_EQ("signal", drmSyncobjSignal(fd, &h, 1), 0);
	CHECK_EQ("wait(after signal)", drmSyncobjWait(fd, &h, 1, 0, 0, NULL), 0);

	/* An absolute timeout 5 s ahead on a fence that never signals: ETIME after exactly 5 s of virtual time. */
	uint32_t never = 0;
	CHECK_EQ("create", drmSyncobjCreate(fd, 0, &never), 0);
	int64_t t0 = now_ns();
	CHECK_EQ("wait(FOR_SUBMIT, 5 s)",
		 drmSyncobjWait(fd, &never, 1, t0 + 5000000000LL, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, NULL), -ETIME);
	CHECK_EQ("virtual ns waited", now_ns() - t0, 5000000000LL);

	CHECK_EQ("destroy", drmSyncobjDestroy(fd, h), 0);
	CHECK_EQ("destroy again", E(drmSyncobjDestroy(fd, h)), -EINVAL);
	CHECK_EQ("destroy", drmSyncobjDestroy(fd, s), 0);
	CHECK_EQ("destroy", drmSyncobjDestroy(fd, never), 0);
	CHECK_EQ("close", close(fd), 0);
	printf("done\n");
	return 0;
}
