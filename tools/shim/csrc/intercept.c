/*
 * The libc entry points a program reaches the simulated nodes through. Each one asks first
 * whether its path or fd is simulated, and otherwise calls the real function untouched.
 *
 *   open/openat (+64, _2), fopen     a node path: a backing pipe, the server opens the file
 *   stat family, access, readlink     nodes are S_IFCHR with major 226 (accel: 261); sysfs and
 *                                     debugfs paths go to the server's tree
 *   ioctl                             forwarded: the server copies the argument in and out itself
 *   poll/ppoll/select, read, mmap     forwarded for simulated fds
 *   fork, pthread_create/join, wait   the server must know who may run, to move virtual time
 *   mount                             debugfs "mounts" (it is already there)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

#define REAL(name)                                                                                                   \
	static __typeof__(&name) real_##name;                                                                        \
	if (real_##name == NULL)                                                                                     \
	real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

static int fail(long err)
{
	errno = (int)-err;
	return -1;
}

/* --- open ------------------------------------------------------------------------------------ */

struct open_msg {
	int32_t flags, rfd, wfd, pad;
};

/*
 * The backing pipe needs two fds for the moment of the open, the kernel's open one. With exactly
 * one number free, borrow one above the soft RLIMIT_NOFILE (within the hard one) for that moment:
 * the write end ends on the free number and the limit is put back, so EMFILE comes exactly when
 * the kernel's would. Returns 1 if the limit was raised (restore it with `lim`).
 */
static int backing_pipe(int p[2], int flags, struct rlimit *lim, long *err)
{
	/* The pipe carries the open file's status flags: fcntl(F_GETFL/F_SETFL) on the fd work on them. */
	int pflags = O_DIRECT | (flags & (O_CLOEXEC | O_NONBLOCK));
	*err = shim_raw(SYS_pipe2, (long)p, pflags, 0, 0, 0, 0);
	if (*err != -EMFILE || shim_raw(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, (long)lim, 0, 0) < 0 ||
	    lim->rlim_cur >= lim->rlim_max)
		return 0;
	struct rlimit more = {lim->rlim_cur + 1, lim->rlim_max};
	if (shim_raw(SYS_prlimit64, 0, RLIMIT_NOFILE, (long)&more, 0, 0, 0) < 0)
		return 0;
	*err = shim_raw(SYS_pipe2, (long)p, pflags, 0, 0, 0, 0);
	if (*err < 0)
		shim_raw(SYS_prlimit64, 0, RLIMIT_NOFILE, (long)lim, 0, 0, 0);
	return *err == 0;
}

static int open_node(const struct shim_node *n, int flags)
{
	int p[2];
	struct rlimit lim;
	long r;
	int raised = backing_pipe(p, flags, &lim, &r);
	if (r < 0)
		return fail(r);
	struct stat st;
	shim_raw(SYS_fstat, p[1], (long)&st, 0, 0, 0, 0);
	shim_known_add(st.st_ino);
	struct open_msg m = {flags, p[0], p[1], 0};
	struct shim_reply rep;
	shim_call(MSG_OPEN, &m, sizeof(m), n->path, strlen(n->path), &rep, 1);
	free(rep.data);
	if (raised)
		shim_raw(SYS_prlimit64, 0, RLIMIT_NOFILE, (long)&lim, 0, 0, 0);
	/* The server moved the write end onto p[0] (DOWN_CLOSEFD) once it held the read end. */
	if (rep.ret < 0) {
		/* A failed open never moved the write end: both ends are still ours. */
		struct stat w;
		shim_raw(SYS_close, p[0], 0, 0, 0, 0, 0);
		if (shim_raw(SYS_fstat, p[1], (long)&w, 0, 0, 0, 0) == 0 && w.st_ino == st.st_ino)
			shim_raw(SYS_close, p[1], 0, 0, 0, 0, 0);
		return fail(rep.ret);
	}
	shim_fd_node_set(st.st_ino, n);
	return p[0];
}

static int do_openat(int dirfd, const char *path, int flags, mode_t mode, const char *real)
{
	if (shim_enabled() && path != NULL) {
		const struct shim_node *n = shim_node_by_path(path);
		if (n != NULL)
			return open_node(n, flags);
		char buf[700];
		const char *to = shim_redirect(path, buf, sizeof(buf));
		if (to != NULL)
			path = to;
	}
	typedef int (*fn)(int, const char *, int, ...);
	static fn reals[4];
	static const char *const names[4] = {"openat", "openat64", "__openat_2", "__openat64_2"};
	int k = strcmp(real, "openat64") == 0 ? 1 : 0;
	if (reals[k] == NULL)
		reals[k] = (fn)dlsym(RTLD_NEXT, names[k]);
	return reals[k](dirfd, path, flags, mode);
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	return do_openat(AT_FDCWD, path, flags, m, "openat");
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	return do_openat(AT_FDCWD, path, flags, m, "openat64");
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	return do_openat(dirfd, path, flags, m, "openat");
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	return do_openat(dirfd, path, flags, m, "openat64");
}

int __open_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags, 0, "openat");
}

int __open64_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags, 0, "openat64");
}

int __openat_2(int dirfd, const char *path, int flags)
{
	return do_openat(dirfd, path, flags, 0, "openat");
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	return do_openat(dirfd, path, flags, 0, "openat64");
}

static FILE *do_fopen(const char *path, const char *mode, const char *name)
{
	typedef FILE *(*fn)(const char *, const char *);
	static fn reals[2];
	int k = strcmp(name, "fopen64") == 0;
	if (reals[k] == NULL)
		reals[k] = (fn)dlsym(RTLD_NEXT, name);
	char buf[700];
	const char *to = shim_enabled() ? shim_redirect(path, buf, sizeof(buf)) : NULL;
	return reals[k](to ? to : path, mode);
}

FILE *fopen(const char *path, const char *mode)
{
	return do_fopen(path, mode, "fopen");
}

FILE *fopen64(const char *path, const char *mode)
{
	return do_fopen(path, mode, "fopen64");
}

DIR *opendir(const char *path)
{
	REAL(opendir);
	char buf[700];
	const char *to = shim_enabled() ? shim_redirect(path, buf, sizeof(buf)) : NULL;
	return real_opendir(to ? to : path);
}

/* --- stat ------------------------------------------------------------------------------------ */

static int path_stat(const char *path, struct stat *st, int nofollow)
{
	if (shim_enabled()) {
		const struct shim_node *n = shim_node_by_path(path);
		if (n != NULL) {
			shim_node_stat(n, st);
			return 0;
		}
		char buf[700];
		const char *to = shim_redirect(path, buf, sizeof(buf));
		if (to != NULL)
			path = to;
	}
	long r = shim_raw(SYS_newfstatat, AT_FDCWD, (long)path, (long)st, nofollow ? AT_SYMLINK_NOFOLLOW : 0, 0, 0);
	return r < 0 ? fail(r) : 0;
}

static int fd_stat(int fd, struct stat *st)
{
	uint64_t ino = shim_backing(fd);
	if (ino != 0) {
		const struct shim_node *n = shim_fd_node(fd, ino);
		if (n != NULL) {
			shim_node_stat(n, st);
			return 0;
		}
	}
	long r = shim_raw(SYS_fstat, fd, (long)st, 0, 0, 0, 0);
	return r < 0 ? fail(r) : 0;
}

int stat(const char *path, struct stat *st) { return path_stat(path, st, 0); }
int stat64(const char *path, struct stat64 *st) { return path_stat(path, (struct stat *)st, 0); }
int lstat(const char *path, struct stat *st) { return path_stat(path, st, 1); }
int lstat64(const char *path, struct stat64 *st) { return path_stat(path, (struct stat *)st, 1); }
int fstat(int fd, struct stat *st) { return fd_stat(fd, st); }
int fstat64(int fd, struct stat64 *st) { return fd_stat(fd, (struct stat *)st); }

static int at_stat(int dirfd, const char *path, struct stat *st, int flags)
{
	if (path != NULL && path[0] == 0 && (flags & AT_EMPTY_PATH))
		return fd_stat(dirfd, st);
	if (path != NULL && path[0] == '/')
		return path_stat(path, st, flags & AT_SYMLINK_NOFOLLOW);
	long r = shim_raw(SYS_newfstatat, dirfd, (long)path, (long)st, flags, 0, 0);
	return r < 0 ? fail(r) : 0;
}

int fstatat(int dirfd, const char *path, struct stat *st, int flags) { return at_stat(dirfd, path, st, flags); }
int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	return at_stat(dirfd, path, (struct stat *)st, flags);
}
/* Binaries built against glibc < 2.33 call these. */
int __xstat(int v, const char *path, struct stat *st) { (void)v; return path_stat(path, st, 0); }
int __xstat64(int v, const char *path, struct stat64 *st) { (void)v; return path_stat(path, (struct stat *)st, 0); }
int __lxstat(int v, const char *path, struct stat *st) { (void)v; return path_stat(path, st, 1); }
int __lxstat64(int v, const char *path, struct stat64 *st) { (void)v; return path_stat(path, (struct stat *)st, 1); }
int __fxstat(int v, int fd, struct stat *st) { (void)v; return fd_stat(fd, st); }
int __fxstat64(int v, int fd, struct stat64 *st) { (void)v; return fd_stat(fd, (struct stat *)st); }
int __fxstatat(int v, int d, const char *p, struct stat *st, int f) { (void)v; return at_stat(d, p, st, f); }
int __fxstatat64(int v, int d, const char *p, struct stat64 *st, int f)
{
	(void)v;
	return at_stat(d, p, (struct stat *)st, f);
}

static int do_access(int dirfd, const char *path, int mode, int flags)
{
	if (shim_enabled() && path != NULL) {
		if (shim_node_by_path(path) != NULL)
			return 0;
		char buf[700];
		const char *to = shim_redirect(path, buf, sizeof(buf));
		if (to != NULL)
			path = to;
	}
	long r = shim_raw(SYS_faccessat2, dirfd, (long)path, mode, flags, 0, 0);
	if (r == -ENOSYS && flags == 0)
		r = shim_raw(SYS_faccessat, dirfd, (long)path, mode, 0, 0, 0);
	return r < 0 ? fail(r) : 0;
}

int access(const char *path, int mode) { return do_access(AT_FDCWD, path, mode, 0); }
int faccessat(int dirfd, const char *path, int mode, int flags) { return do_access(dirfd, path, mode, flags); }

static ssize_t do_readlink(int dirfd, const char *path, char *buf, size_t size)
{
	if (shim_enabled() && path != NULL) {
		int fd;
		char self[64];
		snprintf(self, sizeof(self), "/proc/%d/fd/", (int)getpid());
		const char *rest = strncmp(path, "/proc/self/fd/", 14) == 0 ? path + 14
				   : strncmp(path, self, strlen(self)) == 0 ? path + strlen(self)
									      : NULL;
		if (rest != NULL && sscanf(rest, "%d", &fd) == 1) {
			uint64_t ino = shim_backing(fd);
			const struct shim_node *n = ino ? shim_fd_node(fd, ino) : NULL;
			if (n != NULL) {
				size_t len = strlen(n->path);
				if (len > size)
					len = size;
				memcpy(buf, n->path, len);
				return (ssize_t)len;
			}
		}
		char rb[700];
		const char *to = shim_redirect(path, rb, sizeof(rb));
		if (to != NULL)
			path = to;
	}
	long r = shim_raw(SYS_readlinkat, dirfd, (long)path, (long)buf, (long)size, 0, 0);
	return r < 0 ? fail(r) : r;
}

ssize_t readlink(const char *path, char *buf, size_t size) { return do_readlink(AT_FDCWD, path, buf, size); }
ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	return do_readlink(dirfd, path, buf, size);
}

int mount(const char *src, const char *target, const char *type, unsigned long flags, const void *data)
{
	if (shim_enabled() && type != NULL && strcmp(type, "debugfs") == 0)
		return 0;
	REAL(mount);
	return real_mount(src, target, type, flags, data);
}

/* --- fcntl ----------------------------------------------------------------------------------- */

/* The kernel's O_LARGEFILE (libc's is 0 on 64-bit targets). */
#if defined(__aarch64__) || defined(__arm__)
#define KERNEL_O_LARGEFILE 0400000
#else
#define KERNEL_O_LARGEFILE 0100000
#endif

/*
 * O_DIRECT on the backing pipe marks a simulated fd (see shim_backing): F_GETFL does not show it and
 * F_SETFL keeps it, so a program that sets its flags outright does not lose the file.
 */
static long do_fcntl(int fd, int cmd, unsigned long arg, const char *name)
{
	typedef int (*fn)(int, int, ...);
	static fn reals[2];
	int k = strcmp(name, "fcntl64") == 0;
	if (reals[k] == NULL)
		reals[k] = (fn)dlsym(RTLD_NEXT, name);
	if ((cmd == F_GETFL || cmd == F_SETFL) && shim_backing(fd) != 0) {
		if (cmd == F_SETFL)
			return reals[k](fd, cmd, (int)arg | O_DIRECT);
		int fl = reals[k](fd, cmd);
		if (fl < 0)
			return fl;
		/* The pipe end is O_WRONLY; the access mode is the simulated open's. */
		uint64_t ino = shim_backing(fd);
		struct shim_reply r;
		shim_call(MSG_QUERY, &ino, 8, NULL, 0, &r, 0);
		int32_t mode = O_RDWR;
		if (r.ret > 0 && r.len >= 4)
			memcpy(&mode, r.data, 4);
		free(r.data);
		/* A file opened by path on a 64-bit kernel carries O_LARGEFILE (force_o_largefile); pipes,
		 * sync_files and dma-bufs do not. */
		if (r.ret >= 1 && r.ret < 1000)
			mode |= KERNEL_O_LARGEFILE;
		return (fl & ~(O_DIRECT | O_ACCMODE)) | mode;
	}
	return reals[k](fd, cmd, arg);
}

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	unsigned long arg = va_arg(ap, unsigned long);
	va_end(ap);
	return (int)do_fcntl(fd, cmd, arg, "fcntl");
}

int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	unsigned long arg = va_arg(ap, unsigned long);
	va_end(ap);
	return (int)do_fcntl(fd, cmd, arg, "fcntl64");
}

/* --- ioctl ----------------------------------------------------------------------------------- */

struct ioctl_msg {
	int32_t fd;
	uint32_t cmd;
	uint64_t ino;
	uint64_t arg;
};

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	uint64_t ino = 0;
	/* The VFS's own ioctls work on any fd. */
	if (req != FIOCLEX && req != FIONCLEX && req != FIONBIO && req != FIOASYNC)
		ino = shim_backing(fd);
	if (ino == 0) {
		REAL(ioctl);
		return real_ioctl(fd, req, arg);
	}
	unsigned size = _IOC_SIZE(req);
	uint8_t pre[4096];
	size_t prelen = 0;
	/* The argument block rides with the request, so most ioctls cost one round trip. */
	if ((_IOC_DIR(req) & _IOC_WRITE) && size > 0 && size <= sizeof(pre) && arg != NULL) {
		struct iovec local = {pre, size}, remote = {arg, size};
		if (shim_raw(SYS_process_vm_readv, getpid(), (long)&local, 1, (long)&remote, 1, 0) == (long)size)
			prelen = size;
	}
	struct ioctl_msg m = {fd, (uint32_t)req, ino, (uint64_t)(uintptr_t)arg};
	struct shim_reply r;
	shim_call(MSG_IOCTL, &m, sizeof(m), pre, prelen, &r, 1);
	long ret = (long)r.ret;
	if (r.len > 0) {
		/* The argument block as the kernel copies it back (copy_to_user, possibly after a failure). */
		struct iovec local = {r.data, r.len}, remote = {arg, r.len};
		if (shim_raw(SYS_process_vm_writev, getpid(), (long)&local, 1, (long)&remote, 1, 0) != (long)r.len)
			ret = -EFAULT;
	}
	free(r.data);
	return ret < 0 ? fail(ret) : (int)ret;
}

/* --- poll, read, mmap ------------------------------------------------------------------------ */

struct poll_ent {
	int32_t fd;
	int16_t events, pad;
	uint64_t ino;
};

/* Forwards the simulated entries of `fds` (timeout_ns < 0: forever); fills their revents. */
static int poll_sim(struct pollfd *fds, nfds_t n, const uint64_t *inos, int64_t timeout_ns)
{
	size_t cnt = 0;
	for (nfds_t i = 0; i < n; i++)
		cnt += inos[i] != 0;
	size_t len = 12 + cnt * sizeof(struct poll_ent);
	uint8_t *msg = malloc(len);
	if (msg == NULL)
		return fail(-ENOMEM);
	memcpy(msg, &timeout_ns, 8);
	uint32_t c32 = (uint32_t)cnt;
	memcpy(msg + 8, &c32, 4);
	struct poll_ent *e = (struct poll_ent *)(msg + 12);
	for (nfds_t i = 0; i < n; i++)
		if (inos[i] != 0)
			*e++ = (struct poll_ent){fds[i].fd, fds[i].events, 0, inos[i]};
	struct shim_reply r;
	shim_call(MSG_POLL, msg, len, NULL, 0, &r, 1);
	free(msg);
	if (r.ret >= 0) {
		int16_t *rev = (int16_t *)r.data;
		size_t k = 0;
		for (nfds_t i = 0; i < n; i++)
			if (inos[i] != 0)
				fds[i].revents = k < r.len / 2 ? rev[k++] : 0;
	}
	free(r.data);
	return r.ret < 0 ? fail(r.ret) : (int)r.ret;
}

static int do_poll(struct pollfd *fds, nfds_t n, int64_t timeout_ns, const sigset_t *mask)
{
	uint64_t small[64], *inos = n <= 64 ? small : calloc(n, 8);
	if (inos == NULL)
		return fail(-ENOMEM);
	size_t sim = 0;
	for (nfds_t i = 0; i < n; i++) {
		inos[i] = fds[i].fd >= 0 ? shim_backing(fds[i].fd) : 0;
		sim += inos[i] != 0;
	}
	int ret;
	if (sim == 0) {
		struct timespec ts = {timeout_ns / 1000000000, timeout_ns % 1000000000};
		ret = (int)shim_raw(SYS_ppoll, (long)fds, (long)n, timeout_ns < 0 ? 0 : (long)&ts, (long)mask, 8, 0);
		ret = ret < 0 ? fail(ret) : ret;
	} else if (sim == n) {
		ret = poll_sim(fds, n, inos, timeout_ns);
	} else {
		/* Mixed: look at both sides, then let 1 ms of virtual time pass, until one is ready. */
		int64_t waited = 0;
		for (;;) {
			struct pollfd *real = calloc(n, sizeof(*real));
			for (nfds_t i = 0; i < n; i++)
				real[i] = (struct pollfd){inos[i] ? -1 : fds[i].fd, fds[i].events, 0};
			struct timespec zero = {0, 0};
			long a = shim_raw(SYS_ppoll, (long)real, (long)n, (long)&zero, 0, 8, 0);
			int b = poll_sim(fds, n, inos, 0);
			for (nfds_t i = 0; i < n; i++)
				if (!inos[i])
					fds[i].revents = a >= 0 ? real[i].revents : 0;
			free(real);
			if (a < 0 || b < 0) {
				ret = a < 0 ? fail(a) : b;
				break;
			}
			if (a + b > 0 || (timeout_ns >= 0 && waited >= timeout_ns)) {
				ret = (int)(a + b);
				break;
			}
			int64_t step = 1000000, left = 0;
			struct shim_reply r;
			shim_call(MSG_SLEEP, &step, 8, NULL, 0, &r, 1);
			(void)left;
			free(r.data);
			if (r.ret < 0) {
				ret = fail(r.ret);
				break;
			}
			waited += step;
		}
	}
	if (inos != small)
		free(inos);
	return ret;
}

int poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	if (!shim_enabled()) {
		REAL(poll);
		return real_poll(fds, n, timeout_ms);
	}
	return do_poll(fds, n, timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000000, NULL);
}

int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	if (!shim_enabled()) {
		REAL(ppoll);
		return real_ppoll(fds, n, ts, mask);
	}
	return do_poll(fds, n, ts == NULL ? -1 : (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec, mask);
}

int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	REAL(select);
	int any = 0;
	for (int fd = 0; shim_enabled() && fd < nfds && !any; fd++)
		if ((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (e && FD_ISSET(fd, e)))
			any = shim_backing(fd) != 0;
	if (!any)
		return real_select(nfds, r, w, e, tv);
	/* select on a simulated fd: the same question as poll. */
	struct pollfd p[FD_SETSIZE];
	nfds_t n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = (short)((r && FD_ISSET(fd, r) ? POLLIN : 0) | (w && FD_ISSET(fd, w) ? POLLOUT : 0) |
				   (e && FD_ISSET(fd, e) ? POLLPRI : 0));
		if (ev)
			p[n++] = (struct pollfd){fd, ev, 0};
	}
	int64_t t = tv == NULL ? -1 : (int64_t)tv->tv_sec * 1000000000 + (int64_t)tv->tv_usec * 1000;
	int ret = do_poll(p, n, t, NULL);
	if (ret < 0)
		return ret;
	if (r)
		FD_ZERO(r);
	if (w)
		FD_ZERO(w);
	if (e)
		FD_ZERO(e);
	int count = 0;
	for (nfds_t i = 0; i < n; i++) {
		if (r && (p[i].revents & (POLLIN | POLLHUP | POLLERR)))
			FD_SET(p[i].fd, r), count++;
		if (w && (p[i].revents & (POLLOUT | POLLERR)))
			FD_SET(p[i].fd, w), count++;
		if (e && (p[i].revents & POLLPRI))
			FD_SET(p[i].fd, e), count++;
	}
	return count;
}

struct read_msg {
	int32_t fd;
	uint32_t count;
	uint64_t ino;
	int32_t flags; /* the open file's status flags (O_NONBLOCK), as fcntl(F_SETFL) left them */
	int32_t pad;
};

ssize_t read(int fd, void *buf, size_t count)
{
	uint64_t ino = shim_backing(fd);
	if (ino == 0) {
		REAL(read);
		return real_read(fd, buf, count);
	}
	int32_t fl = (int32_t)shim_raw(SYS_fcntl, fd, F_GETFL, 0, 0, 0, 0);
	struct read_msg m = {fd, count > 0xffffffffu ? 0xffffffffu : (uint32_t)count, ino, fl < 0 ? 0 : fl, 0};
	struct shim_reply r;
	shim_call(MSG_READ, &m, sizeof(m), NULL, 0, &r, 1);
	if (r.ret > 0)
		memcpy(buf, r.data, r.len);
	free(r.data);
	return r.ret < 0 ? fail(r.ret) : (ssize_t)r.ret;
}

struct mmap_msg {
	int32_t fd, prot;
	uint64_t ino, offset, length;
};

static void *do_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	uint64_t ino = (flags & MAP_ANONYMOUS) ? 0 : shim_backing(fd);
	if (ino == 0)
		return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	struct mmap_msg m = {fd, prot, ino, (uint64_t)off, len};
	struct shim_reply r;
	shim_call(MSG_MMAP, &m, sizeof(m), NULL, 0, &r, 1);
	if (r.ret < 0) {
		free(r.data);
		errno = (int)-r.ret;
		return MAP_FAILED;
	}
	/* The reply names the shared file that holds the buffer's pages and where the range starts. */
	uint64_t foff;
	memcpy(&foff, r.data, 8);
	char path[600];
	size_t plen = r.len - 8 < sizeof(path) - 1 ? r.len - 8 : sizeof(path) - 1;
	memcpy(path, r.data + 8, plen);
	path[plen] = 0;
	free(r.data);
	long bfd = shim_raw(SYS_openat, AT_FDCWD, (long)path, O_RDWR | O_CLOEXEC, 0, 0, 0);
	if (bfd < 0) {
		errno = (int)-bfd;
		return MAP_FAILED;
	}
	void *p = (void *)syscall(SYS_mmap, addr, len, prot, (flags & ~MAP_PRIVATE) | MAP_SHARED, bfd, (off_t)foff);
	shim_raw(SYS_close, bfd, 0, 0, 0, 0, 0);
	return p;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return do_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return do_mmap(addr, len, prot, flags, fd, off);
}

/* --- eventfd --------------------------------------------------------------------------------- */

/*
 * A simulated eventfd, so DRM_IOCTL_SYNCOBJ_EVENTFD can signal it: the server makes it (the kernel's
 * fd_install gives it a real fd here); poll and read of it are forwarded. write(2) to it is not.
 */
int eventfd(unsigned int initval, int flags)
{
	if (!shim_enabled()) {
		REAL(eventfd);
		return real_eventfd(initval, flags);
	}
	if (flags & ~(EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK))
		return fail(-EINVAL);
	struct {
		uint32_t initval;
		int32_t flags;
	} m = {initval, flags};
	struct shim_reply r;
	shim_call(MSG_EVENTFD, &m, sizeof(m), NULL, 0, &r, 0);
	free(r.data);
	if (r.ret < 0)
		return fail(r.ret);
	int fd = (int)r.ret;
	if (flags & EFD_CLOEXEC)
		shim_raw(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC, 0, 0, 0);
	if (flags & EFD_NONBLOCK)
		shim_raw(SYS_fcntl, fd, F_SETFL, O_NONBLOCK | O_DIRECT, 0, 0, 0);
	return fd;
}

/* --- processes and threads ------------------------------------------------------------------- */

pid_t fork(void)
{
	REAL(fork);
	if (!shim_enabled())
		return real_fork();
	struct shim_reply r;
	shim_call(MSG_FORK_BEGIN, NULL, 0, NULL, 0, &r, 0);
	free(r.data);
	uint32_t token = (uint32_t)r.ret;
	pid_t parent = getpid();
	pid_t pid = real_fork();
	if (pid == 0) {
		shim_fork_child(token, parent);
		return 0;
	}
	int32_t end[2] = {(int32_t)token, pid < 0 ? -1 : pid};
	shim_notify(MSG_FORK_END, end, sizeof(end));
	return pid;
}

struct start {
	void *(*fn)(void *);
	void *arg;
	uint32_t token;
};

static void *start_thread(void *p)
{
	struct start s = *(struct start *)p;
	free(p);
	shim_thread_attach_token(s.token);
	return s.fn(s.arg);
}

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	REAL(pthread_create);
	if (!shim_enabled())
		return real_pthread_create(t, attr, fn, arg);
	struct start *s = malloc(sizeof(*s));
	if (s == NULL)
		return EAGAIN;
	s->fn = fn;
	s->arg = arg;
	/* The new thread may run before it attaches: the server counts it as running from here. */
	struct shim_reply r;
	shim_call(MSG_FORK_BEGIN, NULL, 0, NULL, 0, &r, 0);
	free(r.data);
	s->token = (uint32_t)r.ret;
	int ret = real_pthread_create(t, attr, start_thread, s);
	int32_t end[2] = {(int32_t)r.ret, ret == 0 ? 0 : -1};
	shim_notify(MSG_FORK_END, end, sizeof(end));
	if (ret != 0)
		free(s);
	return ret;
}

struct block_msg {
	uint32_t kind;
	int32_t target;
};

int pthread_join(pthread_t t, void **res)
{
	REAL(pthread_join);
	if (!shim_enabled())
		return real_pthread_join(t, res);
	struct block_msg b = {1, 0};
	shim_notify(MSG_BLOCK_BEGIN, &b, sizeof(b));
	int r = real_pthread_join(t, res);
	shim_notify(MSG_BLOCK_END, NULL, 0);
	return r;
}

pid_t waitpid(pid_t pid, int *status, int options)
{
	if (!shim_enabled() || (options & WNOHANG))
		return (pid_t)syscall(SYS_wait4, pid, status, options, NULL);
	struct block_msg b = {2, pid};
	shim_notify(MSG_BLOCK_BEGIN, &b, sizeof(b));
	pid_t r = (pid_t)syscall(SYS_wait4, pid, status, options, NULL);
	int e = errno;
	shim_notify(MSG_BLOCK_END, NULL, 0);
	errno = e;
	return r;
}

pid_t wait(int *status)
{
	return waitpid(-1, status, 0);
}
