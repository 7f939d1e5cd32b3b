/*
 * drmsim preload library: the shared declarations of its parts.
 *
 *   channel.c    one connection per thread to the drmsim server (a unix socket for requests,
 *                two pipes for the synchronous plane) and the message loop that answers the
 *                server's copy_from_user / copy_to_user / new-fd requests in the calling thread
 *   nodes.c      the simulated device nodes: which paths exist, their stat, the redirected tree
 *   intercept.c  the libc entry points a program calls (open, ioctl, stat, poll, mmap, fork…)
 *   vtime.c      virtual time: clock_gettime and the sleeps
 *
 * Internal I/O never goes through the interposed symbols: it uses raw system calls.
 */
#ifndef DRMSIM_SHIM_H
#define DRMSIM_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Message types, client -> server (socket). Keep in step with src/protocol.ts. */
enum {
	MSG_HELLO = 1,
	MSG_OPEN = 2,
	MSG_IOCTL = 3,
	MSG_POLL = 4,
	MSG_SLEEP = 5,
	MSG_INTERRUPT = 6,
	MSG_QUERY = 7,
	MSG_READ = 8,
	MSG_MMAP = 9,
	MSG_FORK_BEGIN = 11,
	MSG_FORK_END = 12,
	MSG_BLOCK_BEGIN = 13,
	MSG_BLOCK_END = 14,
	MSG_BYE = 15,
	MSG_EVENTFD = 16,
};

/* Server -> client (down pipe). */
enum {
	DOWN_REPLY = 100,
	DOWN_MEM_READ = 101,
	DOWN_MEM_WRITE = 102,
	DOWN_NEWFD = 103,
	DOWN_CLOSEFD = 104,
	DOWN_FDINO = 105,
};

struct shim_hdr {
	uint32_t len;  /* payload bytes after the header */
	uint16_t type;
	uint16_t flags;
};

/* A reply: its value and payload (malloc'd, freed by the caller with free()). */
struct shim_reply {
	int64_t ret;
	uint8_t *data;
	uint32_t len;
};

/* channel.c */
int shim_enabled(void);
int shim_call(uint16_t type, const void *a, size_t alen, const void *b, size_t blen, struct shim_reply *out,
	      int interruptible);
void shim_notify(uint16_t type, const void *a, size_t alen);
void shim_thread_attach(void);
void shim_thread_attach_token(uint32_t token);
void shim_fork_child(uint32_t token, pid_t ppid);
void shim_known_add(uint64_t ino);
int shim_known_has(uint64_t ino);
long shim_raw(long nr, long a, long b, long c, long d, long e, long f);

/* nodes.c */
struct shim_node {
	char path[96];  /* /dev/dri/renderD128 */
	char kind[16];  /* drm, accel, sw_sync */
	unsigned major, minor;
};
const char *shim_root(void);
const struct shim_node *shim_node_by_path(const char *path);
const struct shim_node *shim_node_by_name(const char *node_path_in_reply);
int shim_node_count(void);
const struct shim_node *shim_node_at(int i);
void shim_node_stat(const struct shim_node *n, struct stat *st);
/* Redirects a path into the server's tree (/sys/dev/char/..., /dev/dri listing); NULL if not redirected. */
const char *shim_redirect(const char *path, char *buf, size_t size);
/* The backing of a simulated fd: its pipe inode, or 0 if `fd` is not simulated. */
uint64_t shim_backing(int fd);
/* The node path of a simulated fd (for /proc/self/fd readlink and fstat), asked once and cached. */
const struct shim_node *shim_fd_node(int fd, uint64_t ino);
void shim_fd_node_set(uint64_t ino, const struct shim_node *n);

/* vtime.c */
int64_t shim_now_ns(void);

#endif
