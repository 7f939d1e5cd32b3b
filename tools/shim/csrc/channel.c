/*
 * One channel per thread to the drmsim server, and the loop that waits for a reply.
 *
 * A thread sends its request on its own unix socket and then reads the "down" pipe until the
 * reply comes. Meanwhile the server may ask it to copy user memory in or out (the handler's
 * copy_from_user / copy_to_user of this very process) or to create a new fd (a kernel fd_install
 * in this process): the thread answers on the "up" pipe, which the server reads synchronously
 * while its handler waits. So the C side carries no per-ioctl code. No lock is held while
 * waiting: each thread owns its channel, and the process-wide tables below are locked only for
 * a lookup or an insert.
 *
 * Channel fds live at high numbers with FD_CLOEXEC, are closed in a forked child (which
 * attaches with its own), and are counted against RLIMIT_NOFILE (a documented difference).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim.h"

#define CHAN_FD_BASE 900
#define MAX_CHAN_FDS 768

struct chan {
	int sock, down, up;
};

static __thread struct chan ch = {-1, -1, -1};
static __thread int in_call;
static pthread_key_t chan_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static const char *sock_path;
static int enabled = -1;

/* Every channel fd of this process, closed in a forked child. */
static pthread_mutex_t fds_lock = PTHREAD_MUTEX_INITIALIZER;
static int chan_fds[MAX_CHAN_FDS];
static int n_chan_fds;

/* Pipe inodes this process knows to back simulated files. */
static pthread_mutex_t known_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t *known;
static size_t n_known, cap_known;

long shim_raw(long nr, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(nr, a, b, c, d, e, f);
	return r < 0 ? -errno : r;
}

int shim_enabled(void)
{
	if (enabled < 0) {
		sock_path = getenv("DRMSIM_SOCKET");
		enabled = sock_path != NULL && sock_path[0] != 0;
	}
	return enabled;
}

static void die(const char *what, long err)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "drmsim preload: %s failed (%s); is `drmsim serve` running?\n", what,
			 strerror((int)-err));
	shim_raw(SYS_write, 2, (long)buf, n, 0, 0, 0);
	_exit(127);
}

void shim_known_add(uint64_t ino)
{
	pthread_mutex_lock(&known_lock);
	for (size_t i = 0; i < n_known; i++)
		if (known[i] == ino) {
			pthread_mutex_unlock(&known_lock);
			return;
		}
	if (n_known == cap_known) {
		size_t cap = cap_known ? cap_known * 2 : 64;
		uint64_t *k = realloc(known, cap * sizeof(*k));
		if (k == NULL) {
			pthread_mutex_unlock(&known_lock);
			return;
		}
		known = k;
		cap_known = cap;
	}
	known[n_known++] = ino;
	pthread_mutex_unlock(&known_lock);
}

int shim_known_has(uint64_t ino)
{
	int yes = 0;
	pthread_mutex_lock(&known_lock);
	for (size_t i = 0; i < n_known && !yes; i++)
		yes = known[i] == ino;
	pthread_mutex_unlock(&known_lock);
	return yes;
}

static int high_fd(int fd)
{
	long n = shim_raw(SYS_fcntl, fd, F_DUPFD_CLOEXEC, CHAN_FD_BASE, 0, 0, 0);
	if (n < 0)
		return fd; /* keep the low one rather than fail */
	shim_raw(SYS_close, fd, 0, 0, 0, 0, 0);
	pthread_mutex_lock(&fds_lock);
	if (n_chan_fds < MAX_CHAN_FDS)
		chan_fds[n_chan_fds++] = (int)n;
	pthread_mutex_unlock(&fds_lock);
	return (int)n;
}

static void forget_fd(int fd)
{
	pthread_mutex_lock(&fds_lock);
	for (int i = 0; i < n_chan_fds; i++)
		if (chan_fds[i] == fd) {
			chan_fds[i] = chan_fds[--n_chan_fds];
			break;
		}
	pthread_mutex_unlock(&fds_lock);
}

static void close_chan_fd(int *fd)
{
	if (*fd >= 0) {
		forget_fd(*fd);
		shim_raw(SYS_close, *fd, 0, 0, 0, 0, 0);
		*fd = -1;
	}
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len > 0) {
		long n = shim_raw(SYS_write, fd, (long)p, (long)len, 0, 0, 0);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? (int)n : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes; on EINTR calls `on_intr` (if given) once per interruption and goes on. */
static int read_all(int fd, void *buf, size_t len, void (*on_intr)(void))
{
	uint8_t *p = buf;
	while (len > 0) {
		long n = shim_raw(SYS_read, fd, (long)p, (long)len, 0, 0, 0);
		if (n == -EINTR) {
			if (on_intr)
				on_intr();
			continue;
		}
		if (n <= 0)
			return n < 0 ? (int)n : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_msg(int fd, uint16_t type, const void *a, size_t alen, const void *b, size_t blen)
{
	struct shim_hdr h = {(uint32_t)(alen + blen), type, 0};
	struct iovec iov[3] = {{&h, sizeof(h)}, {(void *)a, alen}, {(void *)b, blen}};
	size_t total = sizeof(h) + alen + blen;
	long n;
	do
		n = shim_raw(SYS_writev, fd, (long)iov, 3, 0, 0, 0);
	while (n == -EINTR);
	if (n < 0)
		return (int)n;
	if ((size_t)n == total)
		return 0;
	/* A short write: send the rest the slow way. */
	uint8_t *all = malloc(total);
	if (all == NULL)
		return -ENOMEM;
	memcpy(all, &h, sizeof(h));
	if (alen)
		memcpy(all + sizeof(h), a, alen);
	if (blen)
		memcpy(all + sizeof(h) + alen, b, blen);
	int r = write_all(fd, all + n, total - (size_t)n);
	free(all);
	return r;
}

static void thread_exit(void *unused)
{
	(void)unused;
	if (ch.sock >= 0)
		send_msg(ch.sock, MSG_BYE, NULL, 0, NULL, 0);
	close_chan_fd(&ch.sock);
	close_chan_fd(&ch.down);
	close_chan_fd(&ch.up);
}

static void make_key(void)
{
	pthread_key_create(&chan_key, thread_exit);
}

/* HELLO payload. */
struct hello {
	int32_t pid, tid, ppid, down_w, up_r;
	uint32_t fork_token, is_main, pad;
};

static void attach(uint32_t token, pid_t ppid)
{
	int sv[2], dn[2], up[2];
	long s = shim_raw(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, 0, 0, 0);
	if (s < 0)
		die("socket", s);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	strncpy(addr.sun_path, sock_path, sizeof(addr.sun_path) - 1);
	long r;
	do
		r = shim_raw(SYS_connect, s, (long)&addr, sizeof(addr), 0, 0, 0);
	while (r == -EINTR);
	if (r < 0)
		die("connect to the drmsim server", r);
	if ((r = shim_raw(SYS_pipe2, (long)dn, O_CLOEXEC, 0, 0, 0, 0)) < 0)
		die("pipe2", r);
	if ((r = shim_raw(SYS_pipe2, (long)up, O_CLOEXEC, 0, 0, 0, 0)) < 0)
		die("pipe2", r);
	sv[0] = high_fd((int)s);
	dn[0] = high_fd(dn[0]);
	dn[1] = high_fd(dn[1]);
	up[0] = high_fd(up[0]);
	up[1] = high_fd(up[1]);
	pid_t pid = (pid_t)shim_raw(SYS_getpid, 0, 0, 0, 0, 0, 0);
	pid_t tid = (pid_t)shim_raw(SYS_gettid, 0, 0, 0, 0, 0, 0);
	struct hello h = {pid, tid, ppid, dn[1], up[0], token, pid == tid, 0};
	ch.sock = sv[0];
	ch.down = dn[0];
	ch.up = up[1];
	if ((r = send_msg(ch.sock, MSG_HELLO, &h, sizeof(h), NULL, 0)) < 0)
		die("hello", r);
	struct shim_hdr rh;
	int64_t ret;
	if ((r = read_all(ch.down, &rh, sizeof(rh), NULL)) < 0 || (r = read_all(ch.down, &ret, 8, NULL)) < 0)
		die("hello reply", r);
	/* The server opened its own ends through /proc: ours go. */
	int dw = dn[1], ur = up[0];
	close_chan_fd(&dw);
	close_chan_fd(&ur);
	pthread_once(&key_once, make_key);
	pthread_setspecific(chan_key, &ch);
}

void shim_thread_attach(void)
{
	if (shim_enabled() && ch.sock < 0)
		attach(0, (pid_t)shim_raw(SYS_getppid, 0, 0, 0, 0, 0, 0));
}

void shim_thread_attach_token(uint32_t token)
{
	if (shim_enabled() && ch.sock < 0)
		attach(token, (pid_t)shim_raw(SYS_getppid, 0, 0, 0, 0, 0, 0));
}

void shim_fork_child(uint32_t token, pid_t ppid)
{
	/* Every channel of the parent's threads was inherited: none of them is ours. */
	pthread_mutex_lock(&fds_lock);
	for (int i = 0; i < n_chan_fds; i++)
		shim_raw(SYS_close, chan_fds[i], 0, 0, 0, 0, 0);
	n_chan_fds = 0;
	pthread_mutex_unlock(&fds_lock);
	ch.sock = ch.down = ch.up = -1;
	attach(token, ppid);
}

static void send_interrupt(void)
{
	static __thread int sent;
	(void)sent;
	if (ch.sock >= 0)
		send_msg(ch.sock, MSG_INTERRUPT, NULL, 0, NULL, 0);
}

/* The server reads or writes this process's memory: answered here, faults become -EFAULT. */
static void answer_mem(uint16_t type, const uint8_t *p, uint32_t len)
{
	uint64_t addr;
	uint32_t n;
	memcpy(&addr, p, 8);
	memcpy(&n, p + 8, 4);
	pid_t pid = (pid_t)shim_raw(SYS_getpid, 0, 0, 0, 0, 0, 0);
	int32_t status = 0;
	if (type == DOWN_MEM_READ) {
		uint8_t *buf = malloc(n ? n : 1);
		struct iovec local = {buf, n}, remote = {(void *)(uintptr_t)addr, n};
		long got = n ? shim_raw(SYS_process_vm_readv, pid, (long)&local, 1, (long)&remote, 1, 0) : 0;
		if (buf == NULL || got != (long)n) {
			status = -EFAULT;
			n = 0;
		}
		struct shim_hdr h = {4 + n, DOWN_MEM_READ, 0};
		write_all(ch.up, &h, sizeof(h));
		write_all(ch.up, &status, 4);
		if (n)
			write_all(ch.up, buf, n);
		free(buf);
		return;
	}
	if (len < 12 + n)
		status = -EINVAL;
	else if (n) {
		struct iovec local = {(void *)(p + 12), n}, remote = {(void *)(uintptr_t)addr, n};
		long put = shim_raw(SYS_process_vm_writev, pid, (long)&local, 1, (long)&remote, 1, 0);
		if (put != (long)n)
			status = -EFAULT;
	}
	struct shim_hdr h = {4, DOWN_MEM_WRITE, 0};
	write_all(ch.up, &h, sizeof(h));
	write_all(ch.up, &status, 4);
}

/* A kernel fd_install in this process: a new backing pipe; the server opens its read end. */
static void answer_newfd(const uint8_t *p)
{
	uint32_t cloexec;
	memcpy(&cloexec, p, 4);
	int fds[2];
	int32_t out[2];
	long r = shim_raw(SYS_pipe2, (long)fds, O_DIRECT | (cloexec ? O_CLOEXEC : 0), 0, 0, 0, 0);
	if (r < 0) {
		out[0] = (int32_t)r;
		out[1] = -1;
	} else {
		out[0] = fds[0]; /* read end: the server opens it; then the write end moves here */
		out[1] = fds[1];
		struct stat st;
		if (shim_raw(SYS_fstat, fds[1], (long)&st, 0, 0, 0, 0) == 0)
			shim_known_add(st.st_ino);
	}
	struct shim_hdr h = {8, DOWN_NEWFD, 0};
	write_all(ch.up, &h, sizeof(h));
	write_all(ch.up, out, 8);
}

/*
 * The kernel's fdget of an fd named inside an argument: the backing inode of a simulated file,
 * 0 for an open fd that is none, -EBADF for a number that is not open. The server resolves the
 * number here, in the calling process, so fds received over a socket or reused since are right.
 */
static void answer_fdino(const uint8_t *p)
{
	int32_t fd;
	memcpy(&fd, p, 4);
	struct stat st;
	int64_t out;
	long r = shim_raw(SYS_fstat, fd, (long)&st, 0, 0, 0, 0);
	if (r < 0)
		out = r;
	else {
		long fl = shim_raw(SYS_fcntl, fd, F_GETFL, 0, 0, 0, 0);
		out = S_ISFIFO(st.st_mode) && fl >= 0 && (fl & O_DIRECT) ? (int64_t)st.st_ino : 0;
	}
	struct shim_hdr h = {8, DOWN_FDINO, 0};
	write_all(ch.up, &h, sizeof(h));
	write_all(ch.up, &out, 8);
}

/* The server holds its read end now: the write end takes the read end's (lowest) number. */
static void answer_movefd(const uint8_t *p)
{
	int32_t v[3];
	memcpy(v, p, 12);
	shim_raw(SYS_dup3, v[1], v[0], v[2] ? O_CLOEXEC : 0, 0, 0, 0);
	shim_raw(SYS_close, v[1], 0, 0, 0, 0, 0);
}

int shim_call(uint16_t type, const void *a, size_t alen, const void *b, size_t blen, struct shim_reply *out,
	      int interruptible)
{
	shim_thread_attach();
	int r = send_msg(ch.sock, type, a, alen, b, blen);
	if (r < 0)
		die("request", r);
	in_call = 1;
	for (;;) {
		struct shim_hdr h;
		r = read_all(ch.down, &h, sizeof(h), interruptible ? send_interrupt : NULL);
		if (r < 0)
			die("reading a reply", r);
		uint8_t *p = malloc(h.len ? h.len : 1);
		if (p == NULL)
			die("malloc", -ENOMEM);
		if (h.len && (r = read_all(ch.down, p, h.len, interruptible ? send_interrupt : NULL)) < 0)
			die("reading a reply", r);
		switch (h.type) {
		case DOWN_REPLY:
			in_call = 0;
			memcpy(&out->ret, p, 8);
			out->len = h.len - 8;
			memmove(p, p + 8, out->len);
			out->data = p;
			return 0;
		case DOWN_MEM_READ:
		case DOWN_MEM_WRITE:
			answer_mem(h.type, p, h.len);
			break;
		case DOWN_NEWFD:
			answer_newfd(p);
			break;
		case DOWN_CLOSEFD:
			answer_movefd(p);
			break;
		case DOWN_FDINO:
			answer_fdino(p);
			break;
		default:
			die("an unknown message from the server", -EPROTO);
		}
		free(p);
	}
}

void shim_notify(uint16_t type, const void *a, size_t alen)
{
	shim_thread_attach();
	if (send_msg(ch.sock, type, a, alen, NULL, 0) < 0)
		die("notify", -EPIPE);
}

static void prepare(void)
{
	pthread_mutex_lock(&fds_lock);
	pthread_mutex_lock(&known_lock);
}

static void parent(void)
{
	pthread_mutex_unlock(&known_lock);
	pthread_mutex_unlock(&fds_lock);
}

__attribute__((constructor)) static void shim_init(void)
{
	if (!shim_enabled())
		return;
	pthread_atfork(prepare, parent, parent);
	shim_thread_attach();
}
