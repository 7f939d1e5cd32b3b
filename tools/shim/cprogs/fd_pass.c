/*
 * Simulated fds passed over a unix socket (SCM_RIGHTS) to a forked child, and dup'd: one open file
 * each. The child waits on the received file from two threads at once, one in SYNCOBJ_WAIT and one
 * polling a sync_file it exports from it: a program that forks, threads and passes fds.
 */
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "check.h"
#include "swsync.h"

static void send_fd(int sock, int fd)
{
	char byte = 'x';
	struct iovec iov = {&byte, 1};
	char ctl[CMSG_SPACE(sizeof(int))] = {0};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &msg, 0) != 1)
		exit(3);
}

struct waiter {
	int fd;
	uint32_t h;
	int ret;
	int64_t waited;
};

static void *wait_syncobj(void *p)
{
	struct waiter *w = p;
	int64_t t0 = now_ns();
	w->ret = drmSyncobjWait(w->fd, &w->h, 1, INT64_MAX, 0, NULL);
	w->waited = now_ns() - t0;
	return NULL;
}

static void *poll_sync_file(void *p)
{
	struct waiter *w = p;
	int sf = -1;
	int64_t t0 = now_ns();
	if (drmSyncobjExportSyncFile(w->fd, w->h, &sf) != 0) {
		w->ret = -errno;
		return NULL;
	}
	struct pollfd pfd = {sf, POLLIN, 0};
	w->ret = poll(&pfd, 1, -1) == 1 && pfd.revents == POLLIN ? 0 : -1;
	w->waited = now_ns() - t0;
	close(sf);
	return NULL;
}

static int recv_fd(int sock)
{
	char byte;
	struct iovec iov = {&byte, 1};
	char ctl[CMSG_SPACE(sizeof(int))] = {0};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
	return fd;
}

int main(void)
{
	int fd = open_render("drmsim");
	uint32_t h;
	CHECK_EQ("syncobj create", drmSyncobjCreate(fd, 0, &h), 0);
	int tl = open("/dev/sw_sync", O_RDWR);
	int fence = sw_fence(tl, 1);
	CHECK_EQ("import the sw_sync fence", drmSyncobjImportSyncFile(fd, h, fence), 0);

	int sv[2];
	CHECK_EQ("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid_t child = fork();
	if (child == 0) {
		close(sv[0]);
		/* The child has no DRM fd of its own: it gets the parent's file, and its handles with it. */
		close(fd);
		int got = recv_fd(sv[1]);
		int got_fence = recv_fd(sv[1]);
		if (got < 0 || got_fence < 0)
			_exit(1);
		/* An fd received over the socket, passed inside an ioctl's argument, is the sender's file. */
		uint32_t h2 = 0;
		if (drmSyncobjCreate(got, 0, &h2) != 0 || drmSyncobjImportSyncFile(got, h2, got_fence) != 0)
			_exit(2);
		close(got_fence);
		struct waiter a = {got, h, 1, 0}, b = {got, h, 1, 0};
		pthread_t ta, tb;
		pthread_create(&ta, NULL, wait_syncobj, &a);
		pthread_create(&tb, NULL, poll_sync_file, &b);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		/* Both threads wake when the parent signals, 2 ms of virtual time after the fork. */
		_exit(a.ret == 0 && b.ret == 0 && a.waited == 2000000 && b.waited == 2000000 ? 0 : 1);
	}
	close(sv[1]);
	send_fd(sv[0], fd);
	send_fd(sv[0], fence);
	/* A dup is the same file: the handle is valid through it, and closing the original changes nothing. */
	int d = dup(fd);
	CHECK("dup", d >= 0);
	CHECK_EQ("close the original", close(fd), 0);
	uint64_t pt = 0;
	CHECK_EQ("query through the dup", drmSyncobjQuery(d, &h, &pt, 1), 0);
	CHECK_EQ("usleep 2 ms (the child waits)", usleep(2000), 0);
	CHECK_EQ("signal the fence", sw_inc(tl, 1), 0);
	int st = -1;
	CHECK("waitpid", waitpid(child, &st, 0) == child);
	CHECK_EQ("child exit", WIFEXITED(st) ? WEXITSTATUS(st) : 100, 0);
	CHECK_EQ("fcntl(F_DUPFD_CLOEXEC)", fcntl(d, F_DUPFD_CLOEXEC, 50) >= 50, 1);
	/* The fence's number, closed and reused by a file that is no sync_file: the kernel's fdget sees that file. */
	CHECK_EQ("close the sync_file", close(fence), 0);
	int nul = open("/dev/null", O_RDONLY);
	CHECK_EQ("dup2 /dev/null onto its number", dup2(nul, fence), fence);
	close(nul);
	CHECK_EQ("import of that number: not a sync_file", E(drmSyncobjImportSyncFile(d, h, fence)), -EINVAL);
	close(fence);
	/* sync_file_get_fence finds no file either way: EINVAL, not EBADF. */
	CHECK_EQ("import of a closed number", E(drmSyncobjImportSyncFile(d, h, fence)), -EINVAL);
	CHECK_EQ("destroy", drmSyncobjDestroy(d, h), 0);
	printf("done\n");
	return 0;
}
