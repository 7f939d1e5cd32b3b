/*
 * The simulated nodes as a program finds them: stat of the path and of an open fd agree (S_IFCHR,
 * major 226, the same st_dev/st_ino/st_rdev), access, readlink of /proc/self/fd/N, libdrm's own
 * discovery through sysfs (drmGetDevices2, drmGetDevice2, drmGetDeviceNameFromFd2), debugfs's
 * dri/<minor>/name after a "mount", O_CLOEXEC and EMFILE from the real fd table.
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "check.h"

#if defined(__aarch64__) || defined(__arm__)
#define K_O_LARGEFILE 0400000
#else
#define K_O_LARGEFILE 0100000
#endif

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_rdev == b->st_rdev && a->st_mode == b->st_mode;
}

static void check_node(const char *path, unsigned minor)
{
	char what[160];
	struct stat ps, ls, as, fs, es;
	snprintf(what, sizeof(what), "stat(%s)", path);
	CHECK_EQ(what, E(stat(path, &ps)), 0);
	CHECK_EQ("  S_ISCHR", S_ISCHR(ps.st_mode), 1);
	CHECK_EQ("  major", major(ps.st_rdev), 226);
	CHECK_EQ("  minor", minor(ps.st_rdev), minor);
	CHECK_EQ("  lstat is the same file", E(lstat(path, &ls)) == 0 && same_file(&ps, &ls), 1);
	CHECK_EQ("  fstatat(AT_FDCWD) is the same file", E(fstatat(AT_FDCWD, path, &as, 0)) == 0 && same_file(&ps, &as), 1);
	CHECK_EQ("  access(R_OK|W_OK)", E(access(path, R_OK | W_OK)), 0);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	CHECK("  open", fd >= 0);
	CHECK_EQ("  fstat of the fd is the path's file", E(fstat(fd, &fs)) == 0 && same_file(&ps, &fs), 1);
	CHECK_EQ("  fstatat(fd, \"\", AT_EMPTY_PATH) too", E(fstatat(fd, "", &es, AT_EMPTY_PATH)) == 0 && same_file(&ps, &es), 1);
	CHECK_EQ("  O_CLOEXEC gives FD_CLOEXEC", fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	char link[64], buf[128];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = 0;
	CHECK_EQ("  readlink(/proc/self/fd/N) names the node", strcmp(buf, path), 0);
	char *name = drmGetDeviceNameFromFd2(fd);
	CHECK_EQ("  drmGetDeviceNameFromFd2 names the node", name != NULL && strcmp(name, path) == 0, 1);
	free(name);
	CHECK_EQ("  drmGetNodeTypeFromFd", drmGetNodeTypeFromFd(fd), minor >= 128 ? DRM_NODE_RENDER : DRM_NODE_PRIMARY);
	CHECK_EQ("  close", close(fd), 0);
}

/* `nodes accel`: the scenario added a habanalabs accelerator, /dev/accel/accel0 with accel's own major. */
static void check_accel(void)
{
	struct stat ps, fs;
	CHECK_EQ("stat(/dev/accel/accel0)", E(stat("/dev/accel/accel0", &ps)), 0);
	CHECK_EQ("  S_ISCHR", S_ISCHR(ps.st_mode), 1);
	CHECK_EQ("  major (ACCEL_MAJOR)", major(ps.st_rdev), 261);
	CHECK_EQ("  minor", minor(ps.st_rdev), 0);
	int fd = open("/dev/accel/accel0", O_RDWR | O_CLOEXEC);
	CHECK("  open", fd >= 0);
	CHECK_EQ("  fstat of the fd is the path's file", E(fstat(fd, &fs)) == 0 && same_file(&ps, &fs), 1);
	drmVersionPtr v = drmGetVersion(fd);
	CHECK_EQ("  DRM_IOCTL_VERSION names habanalabs", v != NULL && strcmp(v->name, "habanalabs") == 0, 1);
	drmFreeVersion(v);
	close(fd);
	FILE *f = fopen("/sys/class/accel/accel0/dev", "r");
	char line[32] = "";
	CHECK("  /sys/class/accel/accel0/dev", f != NULL && fgets(line, sizeof(line), f) != NULL);
	fclose(f);
	CHECK_EQ("  says 261:0", strcmp(line, "261:0\n"), 0);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "accel") == 0)
		check_accel();
	check_node("/dev/dri/card0", 0);
	check_node("/dev/dri/renderD128", 128);
	check_node("/dev/dri/renderD129", 129);
	CHECK_EQ("stat of a node that does not exist", E(stat("/dev/dri/renderD191", &(struct stat){0})), -ENOENT);
	CHECK_EQ("open of a node that does not exist", E(open("/dev/dri/renderD191", O_RDWR)), -ENOENT);
	CHECK_EQ("access of a node that does not exist", E(access("/dev/dri/renderD191", F_OK)), -ENOENT);

	/* libdrm lists devices from /dev/dri and sysfs: two platform devices, each a primary and a render node. */
	drmDevicePtr devs[8];
	int n = drmGetDevices2(0, devs, 8);
	CHECK_EQ("drmGetDevices2", n, 2);
	for (int i = 0; i < n; i++) {
		printf("device %d: %s, nodes %s %s\n", i, devs[i]->businfo.platform->fullname, devs[i]->nodes[DRM_NODE_PRIMARY],
		       devs[i]->nodes[DRM_NODE_RENDER]);
		CHECK_EQ("  on the platform bus", devs[i]->bustype, DRM_BUS_PLATFORM);
		CHECK_EQ("  primary and render nodes",
			 devs[i]->available_nodes, (1 << DRM_NODE_PRIMARY) | (1 << DRM_NODE_RENDER));
	}
	int fd = open_render("drmsim");
	drmDevicePtr mine = NULL;
	CHECK_EQ("drmGetDevice2(fd)", drmGetDevice2(fd, 0, &mine), 0);
	CHECK_EQ("  is the drmsim device", strcmp(mine->nodes[DRM_NODE_RENDER], "/dev/dri/renderD129"), 0);
	CHECK_EQ("  the same device drmGetDevices2 listed", drmDevicesEqual(mine, devs[0]) || drmDevicesEqual(mine, devs[1]), 1);
	drmFreeDevice(&mine);
	drmFreeDevices(devs, n);

	/* IGT mounts debugfs first; the name file is the driver's name, as DRM_IOCTL_VERSION's. */
	CHECK_EQ("mount(debugfs)", E(mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL)), 0);
	FILE *f = fopen("/sys/kernel/debug/dri/1/name", "r");
	CHECK("fopen(debugfs dri/1/name)", f != NULL);
	char line[128] = "";
	CHECK("  read it", fgets(line, sizeof(line), f) != NULL);
	fclose(f);
	printf("  %s", line);
	drmVersionPtr v = drmGetVersion(fd);
	CHECK_EQ("  starts with the driver's name", strncmp(line, v->name, strlen(v->name)), 0);
	drmFreeVersion(v);
	CHECK_EQ("access(/dev/sw_sync)", E(access("/dev/sw_sync", R_OK | W_OK)), 0);

	/* read: a DRM fd has no events queued (drm_read), the other simulated files have no read at all. */
	char ev[256];
	int nb = open("/dev/dri/renderD128", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	/* The kernel's O_LARGEFILE, which every open by path gets on a 64-bit kernel (libc's is 0). */
	CHECK_EQ("F_GETFL of an O_NONBLOCK open", fcntl(nb, F_GETFL), K_O_LARGEFILE | O_RDWR | O_NONBLOCK);
	CHECK_EQ("read(O_NONBLOCK DRM fd, no event)", E(read(nb, ev, sizeof(ev))), -EAGAIN);
	CHECK_EQ("F_SETFL(O_RDWR): blocking now", E(fcntl(nb, F_SETFL, 0)), 0);
	CHECK_EQ("  F_GETFL", fcntl(nb, F_GETFL), K_O_LARGEFILE | O_RDWR);
	drmVersionPtr still = drmGetVersion(nb);
	CHECK_EQ("  still the vgem node", still != NULL && strcmp(still->name, "vgem") == 0, 1);
	drmFreeVersion(still);
	CHECK_EQ("F_SETFL(O_NONBLOCK)", E(fcntl(nb, F_SETFL, O_NONBLOCK)), 0);
	CHECK_EQ("read(DRM fd, no event)", E(read(nb, ev, sizeof(ev))), -EAGAIN);
	close(nb);
	int sw = open("/dev/sw_sync", O_RDWR);
	CHECK_EQ("read(sw_sync): no read in its fops", E(read(sw, ev, sizeof(ev))), -EINVAL);
	close(sw);

	/* Simulated files are real fds: the process's limit applies to them as to any file. */
	struct rlimit rl = {0};
	getrlimit(RLIMIT_NOFILE, &rl);
	struct rlimit low = {64, rl.rlim_max};
	CHECK_EQ("setrlimit(RLIMIT_NOFILE, 64)", setrlimit(RLIMIT_NOFILE, &low), 0);
	int fds[64], got = 0, err = 0;
	while (got < 64) {
		int r = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
		if (r < 0) {
			err = errno;
			break;
		}
		fds[got++] = r;
	}
	CHECK_EQ("open until the table is full", err, EMFILE);
	/* The last open took the last number, as the kernel's would (the backing needed two for a moment). */
	CHECK_EQ("  dup finds no number either", E(dup(0)), -EMFILE);
	CHECK_EQ("close one", close(fds[--got]), 0);
	int again = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
	CHECK("then open works again", again >= 0);
	close(again);
	while (got > 0)
		close(fds[--got]);
	setrlimit(RLIMIT_NOFILE, &rl);
	close(fd);
	printf("done\n");
	return 0;
}
