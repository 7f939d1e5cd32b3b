/* Dumb buffers mapped and written by the CPU, shared by PRIME, with vgem fences and implicit sync. */
#include <linux/dma-buf.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "check.h"
#include "swsync.h"

/* vgem's uAPI (include/uapi/drm/vgem_drm.h; libdrm does not install it). */
struct drm_vgem_fence_attach {
	uint32_t handle, flags, out_fence, pad;
};
struct drm_vgem_fence_signal {
	uint32_t fence, flags;
};
#define VGEM_FENCE_WRITE 0x1
#define DRM_IOCTL_VGEM_FENCE_ATTACH DRM_IOWR(DRM_COMMAND_BASE + 0x1, struct drm_vgem_fence_attach)
#define DRM_IOCTL_VGEM_FENCE_SIGNAL DRM_IOW(DRM_COMMAND_BASE + 0x2, struct drm_vgem_fence_signal)

int main(void)
{
	int card = open_card("vgem");
	struct drm_mode_create_dumb c = {.width = 64, .height = 64, .bpp = 32};
	CHECK_EQ("CREATE_DUMB", E(drmIoctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &c)), 0);
	CHECK_EQ("pitch", c.pitch, 256);
	CHECK_EQ("size", c.size, 16384);
	struct drm_mode_map_dumb md = {.handle = c.handle};
	CHECK_EQ("MAP_DUMB", E(drmIoctl(card, DRM_IOCTL_MODE_MAP_DUMB, &md)), 0);
	uint32_t *px = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, card, (off_t)md.offset);
	CHECK("mmap GEM offset", px != MAP_FAILED);
	for (uint32_t i = 0; i < c.size / 4; i++)
		px[i] = 0xc0de0000u + i;
	/* drm_gem_mmap: no object at that offset in the device's vma offset manager is EINVAL. */
	CHECK_EQ("mmap a wrong offset", mmap(NULL, 4096, PROT_READ, MAP_SHARED, card, (off_t)md.offset + (1 << 24)) == MAP_FAILED ? -errno : 0, -EINVAL);

	int buf = -1;
	CHECK_EQ("PRIME export", drmPrimeHandleToFD(card, c.handle, DRM_CLOEXEC | DRM_RDWR, &buf), 0);
	uint32_t *view = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	CHECK("mmap dma-buf", view != MAP_FAILED);
	struct dma_buf_sync sync = {DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW};
	CHECK_EQ("DMA_BUF_IOCTL_SYNC start", E(ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync)), 0);
	CHECK_EQ("the dma-buf shows the CPU's writes", view[100], 0xc0de0000u + 100);
	view[7] = 0xfeedu;
	sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
	CHECK_EQ("DMA_BUF_IOCTL_SYNC end", E(ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync)), 0);
	CHECK_EQ("one pages behind both maps", px[7], 0xfeedu);

	/* Import on the other device: one buffer, another handle. */
	int r = open_render("drmsim");
	uint32_t h2 = 0;
	CHECK_EQ("PRIME import", drmPrimeFDToHandle(r, buf, &h2), 0);
	CHECK("imported handle", h2 > 0);

	/* Implicit sync: a vgem write fence makes the dma-buf unreadable until it signals. */
	struct drm_vgem_fence_attach fa = {.handle = c.handle, .flags = VGEM_FENCE_WRITE};
	CHECK_EQ("VGEM_FENCE_ATTACH", E(drmIoctl(card, DRM_IOCTL_VGEM_FENCE_ATTACH, &fa)), 0);
	CHECK_EQ("poll dma-buf (writer pending)", poll1(buf, POLLIN, 0), 0);
	struct dma_buf_export_sync_file es = {.flags = DMA_BUF_SYNC_READ, .fd = -1};
	CHECK_EQ("EXPORT_SYNC_FILE", E(ioctl(buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &es)), 0);
	CHECK_EQ("poll sync_file (pending)", poll1(es.fd, POLLIN, 0), 0);
	struct drm_vgem_fence_attach again = {.handle = c.handle, .flags = VGEM_FENCE_WRITE};
	CHECK_EQ("second write fence while one is pending", E(drmIoctl(card, DRM_IOCTL_VGEM_FENCE_ATTACH, &again)),
		 -EBUSY);
	struct drm_vgem_fence_signal fs = {.fence = fa.out_fence};
	CHECK_EQ("VGEM_FENCE_SIGNAL", E(drmIoctl(card, DRM_IOCTL_VGEM_FENCE_SIGNAL, &fs)), 0);
	CHECK_EQ("poll dma-buf", poll1(buf, POLLIN, 0), POLLIN);
	CHECK_EQ("poll sync_file", poll1(es.fd, POLLIN, 0), POLLIN);
	/* The first signal took the fence out of the idr (idr_replace with NULL). */
	CHECK_EQ("signal again", E(drmIoctl(card, DRM_IOCTL_VGEM_FENCE_SIGNAL, &fs)), -ENOENT);

	munmap(px, c.size);
	munmap(view, c.size);
	struct drm_mode_destroy_dumb dd = {.handle = c.handle};
	CHECK_EQ("DESTROY_DUMB", E(drmIoctl(card, DRM_IOCTL_MODE_DESTROY_DUMB, &dd)), 0);
	close(es.fd);
	close(buf);
	close(r);
	close(card);
	printf("done\n");
	return 0;
}
