/* A signal during a forwarded wait: EINTR with a handler without SA_RESTART, the wait goes on with one. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>

#include "check.h"

static int fd;
static uint32_t h;
static int handled;

static void on_usr1(int sig)
{
	(void)sig;
	__atomic_add_fetch(&handled, 1, __ATOMIC_RELEASE);
}

struct result {
	int ret;
	int done;
	pid_t tid;
};

/*
 * A signal from one thread to another is delivered by the real kernel whenever it gets to it; until
 * the handler has run and the interrupted call has returned, this thread keeps running (spinning),
 * so virtual time cannot move past the interrupted call first. Without this the run would depend on
 * which came first, the signal or every thread blocking (see the README's limits).
 */
static void settle(int *flag, int want)
{
	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) < want)
		sched_yield();
}

/*
 * Waits until thread `tid` sleeps in read(2) — the preload library's wait for the server's reply —
 * so the signal that follows interrupts the wait itself rather than landing between the request
 * and the wait (a window the library does not close; see the README's limits).
 */
static void blocked_in_read(pid_t *tid)
{
	while (__atomic_load_n(tid, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)*tid);
	for (;;) {
		FILE *f = fopen(path, "r");
		long nr = -1;
		if (f != NULL) {
			if (fscanf(f, "%ld", &nr) != 1)
				nr = -1;
			fclose(f);
		}
		if (nr == SYS_read)
			return;
		sched_yield();
	}
}

/* The raw ioctl: libdrm's drmIoctl would retry EINTR itself. */
static void *waiter(void *p)
{
	__atomic_store_n(&((struct result *)p)->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	struct drm_syncobj_wait w = {.handles = (uint64_t)(uintptr_t)&h, .count_handles = 1, .timeout_nsec = INT64_MAX};
	((struct result *)p)->ret = ioctl(fd, DRM_IOCTL_SYNCOBJ_WAIT, &w) < 0 ? -errno : 0;
	__atomic_store_n(&((struct result *)p)->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A blocking read of a DRM fd with no event to come: only a signal ends it. */
static void *reader(void *p)
{
	__atomic_store_n(&((struct result *)p)->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	char ev[64];
	((struct result *)p)->ret = read(fd, ev, sizeof(ev)) < 0 ? -errno : 0;
	__atomic_store_n(&((struct result *)p)->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

struct sleeper {
	int ret;
	int done;
	pid_t tid;
	struct timespec rem;
};

static void *sleeper(void *p)
{
	struct sleeper *s = p;
	__atomic_store_n(&s->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	struct timespec req = {1, 0};
	s->ret = nanosleep(&req, &s->rem) < 0 ? -errno : 0;
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void install(int flags)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_usr1;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

int main(void)
{
	fd = open_render("drmsim");
	CHECK_EQ("create", drmSyncobjCreate(fd, 0, &h), 0);
	uint64_t one = 1;
	CHECK_EQ("timeline signal 1 (so the syncobj has a fence)", drmSyncobjTimelineSignal(fd, &h, &one, 1), 0);
	CHECK_EQ("reset", drmSyncobjReset(fd, &h, 1), 0);
	/* An unsignalled fence in h: a sw_sync fence imported through a sync_file. */
	int tl = open("/dev/sw_sync", O_RDWR);
	struct {
		uint32_t value;
		char name[32];
		int32_t fence;
	} cf = {1, "t", -1};
	CHECK_EQ("sw_sync fence", E(ioctl(tl, _IOWR('W', 0, cf), &cf)), 0);
	CHECK_EQ("import", drmSyncobjImportSyncFile(fd, h, cf.fence), 0);

	install(0);
	struct result r = {1, 0};
	pthread_t t;
	CHECK_EQ("pthread_create", pthread_create(&t, NULL, waiter, &r), 0);
	CHECK_EQ("usleep 1 ms", usleep(1000), 0);
	blocked_in_read(&r.tid);
	CHECK_EQ("pthread_kill(SIGUSR1)", pthread_kill(t, SIGUSR1), 0);
	settle(&r.done, 1);
	CHECK_EQ("pthread_join", pthread_join(t, NULL), 0);
	CHECK_EQ("the wait without SA_RESTART", r.ret, -EINTR);
	CHECK_EQ("handler ran", handled, 1);

	install(SA_RESTART);
	r.ret = 1;
	r.done = 0;
	r.tid = 0;
	CHECK_EQ("pthread_create", pthread_create(&t, NULL, waiter, &r), 0);
	CHECK_EQ("usleep 1 ms", usleep(1000), 0);
	blocked_in_read(&r.tid);
	CHECK_EQ("pthread_kill(SIGUSR1)", pthread_kill(t, SIGUSR1), 0);
	settle(&handled, 2);
	CHECK_EQ("usleep 1 ms", usleep(1000), 0);
	uint32_t inc = 1;
	CHECK_EQ("signal the fence", E(ioctl(tl, _IOW('W', 1, uint32_t), &inc)), 0);
	CHECK_EQ("pthread_join", pthread_join(t, NULL), 0);
	CHECK_EQ("the wait with SA_RESTART", r.ret, 0);
	CHECK_EQ("handler ran", handled, 2);

	/* drm_read waiting for an event, interrupted by a handler without SA_RESTART. */
	install(0);
	r.ret = 1;
	r.done = 0;
	r.tid = 0;
	CHECK_EQ("pthread_create", pthread_create(&t, NULL, reader, &r), 0);
	CHECK_EQ("usleep 1 ms", usleep(1000), 0);
	blocked_in_read(&r.tid);
	CHECK_EQ("pthread_kill(SIGUSR1)", pthread_kill(t, SIGUSR1), 0);
	settle(&r.done, 1);
	CHECK_EQ("pthread_join", pthread_join(t, NULL), 0);
	CHECK_EQ("the read without SA_RESTART", r.ret, -EINTR);
	CHECK_EQ("handler ran", handled, 3);

	/* A virtual sleep is interrupted too, and reports what was left. */
	install(0);
	struct sleeper sl = {0};
	CHECK_EQ("pthread_create", pthread_create(&t, NULL, sleeper, &sl), 0);
	CHECK_EQ("usleep 1 ms", usleep(1000), 0);
	blocked_in_read(&sl.tid);
	CHECK_EQ("pthread_kill(SIGUSR1)", pthread_kill(t, SIGUSR1), 0);
	settle(&sl.done, 1);
	CHECK_EQ("pthread_join", pthread_join(t, NULL), 0);
	CHECK_EQ("nanosleep(1 s)", sl.ret, -EINTR);
	CHECK_EQ("rem (ms)", sl.rem.tv_sec * 1000 + sl.rem.tv_nsec / 1000000, 999);
	printf("done\n");
	return 0;
}
