/*
 * The simulated nodes as the program sees them: which paths are character devices (from the
 * server's `nodes` table), what stat says of them — the same st_dev/st_ino/st_rdev for the path
 * and for an fd opened from it — and which paths are redirected into the server's tree (the
 * /dev/dri listing, /sys/dev/char/226:N, /sys/class/drm, debugfs dri/<minor>/name).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "shim.h"

#define MAX_NODES 64

static struct shim_node nodes[MAX_NODES];
static int n_nodes;
static char root[512];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

/* Backing inode -> node index (or -1: a simulated file that is no device node). */
static pthread_mutex_t fdnode_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint64_t ino;
	int node;
} fdnodes[1024];
static int n_fdnodes;

static void load(void)
{
	const char *r = getenv("DRMSIM_ROOT");
	if (r == NULL)
		return;
	snprintf(root, sizeof(root), "%s", r);
	char path[600];
	snprintf(path, sizeof(path), "%s/nodes", root);
	long fd = shim_raw(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return;
	char buf[8192];
	long n = 0, got;
	while (n < (long)sizeof(buf) - 1 && (got = shim_raw(SYS_read, fd, (long)buf + n, sizeof(buf) - 1 - n, 0, 0, 0)) > 0)
		n += got;
	shim_raw(SYS_close, fd, 0, 0, 0, 0, 0);
	buf[n < 0 ? 0 : n] = 0;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line && n_nodes < MAX_NODES; line = strtok_r(NULL, "\n", &save)) {
		struct shim_node *nd = &nodes[n_nodes];
		if (sscanf(line, "%95s %15s %u %u", nd->path, nd->kind, &nd->major, &nd->minor) == 4)
			n_nodes++;
	}
}

static void ensure(void)
{
	pthread_once(&load_once, load);
}

const char *shim_root(void)
{
	ensure();
	return root;
}

int shim_node_count(void)
{
	ensure();
	return n_nodes;
}

const struct shim_node *shim_node_at(int i)
{
	ensure();
	return i >= 0 && i < n_nodes ? &nodes[i] : NULL;
}

const struct shim_node *shim_node_by_path(const char *path)
{
	ensure();
	if (path == NULL)
		return NULL;
	for (int i = 0; i < n_nodes; i++)
		if (strcmp(nodes[i].path, path) == 0)
			return &nodes[i];
	return NULL;
}

const struct shim_node *shim_node_by_name(const char *p)
{
	return shim_node_by_path(p);
}

void shim_node_stat(const struct shim_node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(0, 6); /* devtmpfs */
	st->st_ino = 0x44520000u + n->major * 4096u + n->minor;
	/* sw_sync lives in debugfs as a regular file; the rest are character devices. */
	st->st_mode = strcmp(n->kind, "sw_sync") == 0 ? S_IFREG | 0600 : S_IFCHR | 0666;
	st->st_nlink = 1;
	st->st_rdev = makedev(n->major, n->minor);
	st->st_blksize = 4096;
}

static int prefix(const char *path, const char *p)
{
	size_t n = strlen(p);
	return strncmp(path, p, n) == 0 && (path[n] == 0 || path[n] == '/');
}

const char *shim_redirect(const char *path, char *buf, size_t size)
{
	ensure();
	if (path == NULL || root[0] == 0 || path[0] != '/')
		return NULL;
	/* Node paths themselves are not redirected (they are opened through the server). */
	if (shim_node_by_path(path) != NULL)
		return NULL;
	static const char *const trees[] = {
		"/dev/dri", "/dev/accel", "/sys/dev/char", "/sys/class/drm", "/sys/class/accel",
		"/sys/kernel/debug/dri", "/sys/kernel/debug/sync", "/sys/devices/drmsim",
	};
	for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]); i++)
		if (prefix(path, trees[i])) {
			snprintf(buf, size, "%s/fs%s", root, path);
			return buf;
		}
	return NULL;
}

uint64_t shim_backing(int fd)
{
	if (!shim_enabled() || fd < 0)
		return 0;
	struct stat st;
	if (shim_raw(SYS_fstat, fd, (long)&st, 0, 0, 0, 0) < 0 || !S_ISFIFO(st.st_mode))
		return 0;
	long fl = shim_raw(SYS_fcntl, fd, F_GETFL, 0, 0, 0, 0);
	if (fl < 0 || !(fl & O_DIRECT))
		return 0;
	uint64_t ino = st.st_ino;
	if (shim_known_has(ino))
		return ino;
	/* A pipe this process did not make (inherited by exec, received over a socket): ask. */
	struct shim_reply r;
	shim_call(MSG_QUERY, &ino, 8, NULL, 0, &r, 0);
	free(r.data);
	if (r.ret <= 0)
		return 0;
	shim_known_add(ino);
	return ino;
}

void shim_fd_node_set(uint64_t ino, const struct shim_node *n)
{
	int k = n ? (int)(n - nodes) : -1;
	pthread_mutex_lock(&fdnode_lock);
	int i = 0;
	while (i < n_fdnodes && fdnodes[i].ino != ino)
		i++;
	if (i < (int)(sizeof(fdnodes) / sizeof(fdnodes[0]))) {
		fdnodes[i].ino = ino;
		fdnodes[i].node = k;
		if (i == n_fdnodes)
			n_fdnodes++;
	}
	pthread_mutex_unlock(&fdnode_lock);
}

const struct shim_node *shim_fd_node(int fd, uint64_t ino)
{
	(void)fd;
	pthread_mutex_lock(&fdnode_lock);
	for (int i = 0; i < n_fdnodes; i++)
		if (fdnodes[i].ino == ino) {
			int k = fdnodes[i].node;
			pthread_mutex_unlock(&fdnode_lock);
			return k >= 0 ? shim_node_at(k) : NULL;
		}
	pthread_mutex_unlock(&fdnode_lock);
	struct shim_reply r;
	shim_call(MSG_QUERY, &ino, 8, NULL, 0, &r, 0);
	free(r.data);
	/* QUERY answers 1 + node index for a device node, 1000 for another simulated file, 0 for none. */
	int k = r.ret >= 1 && r.ret < 1000 ? (int)r.ret - 1 : -1;
	pthread_mutex_lock(&fdnode_lock);
	if (n_fdnodes < (int)(sizeof(fdnodes) / sizeof(fdnodes[0]))) {
		fdnodes[n_fdnodes].ino = ino;
		fdnodes[n_fdnodes].node = k;
		n_fdnodes++;
	}
	pthread_mutex_unlock(&fdnode_lock);
	return k >= 0 ? shim_node_at(k) : NULL;
}
