/* sw_sync timelines shared with forked children: the children wait on fences the parent signals. */
#include <sys/wait.h>

#include "check.h"
#include "swsync.h"

/* The child's verdict is its exit status: its output would interleave with the parent's. */
static void child_waits(int fence, int64_t expect_ms, int64_t t0)
{
	int r = poll1(fence, POLLIN, -1);
	int64_t ms = (now_ns() - t0) / 1000000;
	_exit(r == POLLIN && ms == expect_ms ? 0 : 10 + (int)ms);
}

int main(void)
{
	int tl = open("/dev/sw_sync", O_RDWR);
	CHECK("open /dev/sw_sync", tl >= 0);
	int f = sw_fence(tl, 1);
	CHECK("fence 1", f >= 0);
	int64_t t0 = now_ns();
	pid_t a = fork();
	if (a == 0)
		child_waits(f, 5, t0);
	pid_t b = fork();
	if (b == 0)
		child_waits(f, 5, t0);
	CHECK("forked", a > 0 && b > 0);
	CHECK_EQ("usleep 5 ms", usleep(5000), 0);
	CHECK_EQ("inc 1", sw_inc(tl, 1), 0);
	int st = -1;
	CHECK("waitpid a", waitpid(a, &st, 0) == a);
	CHECK_EQ("child a exit", WIFEXITED(st) ? WEXITSTATUS(st) : 100, 0);
	CHECK("waitpid b", waitpid(b, &st, 0) == b);
	CHECK_EQ("child b exit", WIFEXITED(st) ? WEXITSTATUS(st) : 100, 0);

	/* A child makes a fence on the inherited timeline; the parent waits for it; the child signals. */
	pid_t c = fork();
	if (c == 0) {
		int g = sw_fence(tl, 2);
		usleep(3000);
		sw_inc(tl, 1);
		_exit(g >= 0 ? 0 : 1);
	}
	/* The parent's own fence for the same point: signalled by the child's increment. */
	int g = sw_fence(tl, 2);
	t0 = now_ns();
	CHECK_EQ("poll until the child signals", poll1(g, POLLIN, -1), POLLIN);
	CHECK_EQ("virtual ms", (now_ns() - t0) / 1000000, 3);
	CHECK("waitpid c", waitpid(c, &st, 0) == c);
	CHECK_EQ("child c exit", WIFEXITED(st) ? WEXITSTATUS(st) : 100, 0);
	printf("done\n");
	return 0;
}
