/* sw_sync's uAPI (drivers/dma-buf/sw_sync.c; no installed header carries it). */
#ifndef DRMSIM_SWSYNC_H
#define DRMSIM_SWSYNC_H
#include <linux/sync_file.h>
#include <poll.h>
#include <stdint.h>
#include <sys/ioctl.h>

struct sw_sync_create_fence_data {
	uint32_t value;
	char name[32];
	int32_t fence;
};
#define SW_SYNC_IOC_CREATE_FENCE _IOWR('W', 0, struct sw_sync_create_fence_data)
#define SW_SYNC_IOC_INC _IOW('W', 1, uint32_t)

static inline int sw_fence(int tl, uint32_t value)
{
	struct sw_sync_create_fence_data d = {.value = value, .name = "drmsim-test", .fence = -1};
	return ioctl(tl, SW_SYNC_IOC_CREATE_FENCE, &d) < 0 ? -errno : d.fence;
}

static inline int sw_inc(int tl, uint32_t by)
{
	return ioctl(tl, SW_SYNC_IOC_INC, &by) < 0 ? -errno : 0;
}

/* revents of one fd after poll with `timeout_ms`, or -errno. */
static inline int poll1(int fd, short events, int timeout_ms)
{
	struct pollfd p = {fd, events, 0};
	int r = poll(&p, 1, timeout_ms);
	return r < 0 ? -errno : p.revents;
}
#endif
