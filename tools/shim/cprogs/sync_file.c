/* sync_file: export/import through syncobjs, merge, poll, SYNC_IOC_FILE_INFO, on sw_sync fences. */
#include "check.h"
#include "swsync.h"

static int file_info(int f, struct sync_fence_info *fences, uint32_t n, struct sync_file_info *info)
{
	memset(info, 0, sizeof(*info));
	info->num_fences = n;
	info->sync_fence_info = (uint64_t)(uintptr_t)fences;
	return ioctl(f, SYNC_IOC_FILE_INFO, info) < 0 ? -errno : 0;
}

int main(void)
{
	int tl = open("/sys/kernel/debug/sync/sw_sync", O_RDWR);
	CHECK("open sw_sync", tl >= 0);
	int tl2 = open("/dev/sw_sync", O_RDWR);
	CHECK("open a second timeline", tl2 >= 0);
	/* Two timelines: a merge keeps one fence per context, so these stay two. */
	int f1 = sw_fence(tl, 1), f2 = sw_fence(tl2, 1);
	CHECK("fence 1", f1 >= 0);
	CHECK("fence 2", f2 >= 0);
	CHECK_EQ("poll fence 1 (pending)", poll1(f1, POLLIN, 0), 0);

	struct sync_merge_data m = {.name = "merged", .fd2 = f2, .fence = -1};
	CHECK_EQ("SYNC_IOC_MERGE", E(ioctl(f1, SYNC_IOC_MERGE, &m)), 0);
	int f3 = m.fence;
	CHECK("merged fd", f3 >= 0);
	struct sync_file_info info;
	struct sync_fence_info fi[2];
	CHECK_EQ("FILE_INFO(count)", file_info(f3, NULL, 0, &info), 0);
	CHECK_EQ("num_fences", info.num_fences, 2);
	CHECK_EQ("status (active)", info.status, 0);
	CHECK_EQ("FILE_INFO(fences)", file_info(f3, fi, 2, &info), 0);
	CHECK_EQ("fence 0 status", fi[0].status, 0);
	CHECK_EQ("name", strcmp(info.name, "merged"), 0);

	CHECK_EQ("inc 1", sw_inc(tl, 1), 0);
	CHECK_EQ("poll fence 1", poll1(f1, POLLIN, 0), POLLIN);
	CHECK_EQ("poll merged (half done)", poll1(f3, POLLIN, 0), 0);
	/* Merging two points of one timeline keeps the later one only (dma_fence_unwrap_merge). */
	int f5 = sw_fence(tl, 5), f6 = sw_fence(tl, 6);
	struct sync_merge_data m2 = {.name = "same", .fd2 = f6, .fence = -1};
	CHECK_EQ("SYNC_IOC_MERGE (one context)", E(ioctl(f5, SYNC_IOC_MERGE, &m2)), 0);
	CHECK_EQ("FILE_INFO", file_info(m2.fence, NULL, 0, &info), 0);
	CHECK_EQ("num_fences", info.num_fences, 1);
	/* A blocking poll with a timeout: nothing signals, so 10 ms of virtual time pass. */
	int64_t t0 = now_ns();
	CHECK_EQ("poll merged, 10 ms", poll1(f3, POLLIN, 10), 0);
	CHECK_EQ("virtual ms", (now_ns() - t0) / 1000000, 10);
	CHECK_EQ("inc 1 (second timeline)", sw_inc(tl2, 1), 0);
	CHECK_EQ("poll merged", poll1(f3, POLLIN, 0), POLLIN);
	CHECK_EQ("FILE_INFO", file_info(f3, fi, 2, &info), 0);
	CHECK_EQ("status (signalled)", info.status, 1);
	CHECK_EQ("fence 1 status", fi[1].status, 1);

	/* Through a syncobj: import a pending sync_file, wait, signal, export again. */
	int fd = open_render("drmsim");
	uint32_t h;
	CHECK_EQ("syncobj create", drmSyncobjCreate(fd, 0, &h), 0);
	int f4 = sw_fence(tl, 2);
	CHECK_EQ("import sync_file", drmSyncobjImportSyncFile(fd, h, f4), 0);
	CHECK_EQ("wait 1 ms", drmSyncobjWait(fd, &h, 1, now_ns() + 1000000, 0, NULL), -ETIME);
	int out = -1;
	CHECK_EQ("export sync_file", drmSyncobjExportSyncFile(fd, h, &out), 0);
	CHECK_EQ("poll exported (pending)", poll1(out, POLLIN, 0), 0);
	CHECK_EQ("inc 1", sw_inc(tl, 1), 0);
	CHECK_EQ("wait", drmSyncobjWait(fd, &h, 1, now_ns() + 1000000, 0, NULL), 0);
	CHECK_EQ("poll exported", poll1(out, POLLIN, 0), POLLIN);
	CHECK_EQ("import a non-sync_file fd", E(drmSyncobjImportSyncFile(fd, h, tl)), -EINVAL);
	close(f1);
	close(f2);
	close(f3);
	close(f4);
	close(out);
	close(fd);
	close(tl);
	printf("done\n");
	return 0;
}
