/* Simulated fds passed over a unix socket (SCM_RIGHTS) to a forked child, and dup'd: one open file each. */
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
		int64_t t0 = now_ns();
		int r = drmSyncobjWait(got, &h, 1, INT64_MAX, 0, NULL);
		_exit(got >= 0 && r == 0 && now_ns() - t0 == 2000000 ? 0 : 1);
	}
	close(sv[1]);
	send_fd(sv[0], fd);
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
	CHECK_EQ("destroy", drmSyncobjDestroy(d, h), 0);
	printf("done\n");
	return 0;
}
