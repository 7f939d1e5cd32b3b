/** The README example, verbatim (imports adjusted to the package under test), so it cannot rot. */
import { DrmPluginHost } from "@drmsim/drm";
import { msecs, Process, Simulator } from "@drmsim/runtime";
import { expect, it } from "vitest";
import {
  AMDGPU_CHUNK_ID_BO_HANDLES,
  AMDGPU_CHUNK_ID_IB,
  AMDGPU_CTX_OP_ALLOC_CTX,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_HW_IP_COMPUTE,
  AMDGPU_HW_IP_GFX,
  amdgpuProbe,
  DRM_IOCTL_AMDGPU_CS,
  DRM_IOCTL_AMDGPU_CTX,
  DRM_IOCTL_AMDGPU_GEM_CREATE,
  DRM_IOCTL_AMDGPU_WAIT_CS,
} from "../src/index.js";

it("README example", async () => {
  const sim = new Simulator();
  const host = new DrmPluginHost(sim);
  const dev = amdgpuProbe(host, { vramSize: 64 * 1024 * 1024 });
  const app = new Process(sim, "app");
  const result = await sim.exec("app", async () => {
    const fd = await app.open("/dev/dri/renderD128");
    const { ctx_id } = await app.ioctl<{ ctx_id: number }>(fd, DRM_IOCTL_AMDGPU_CTX, {
      op: AMDGPU_CTX_OP_ALLOC_CTX,
    });
    const { handle: bo } = await app.ioctl<{ handle: number }>(fd, DRM_IOCTL_AMDGPU_GEM_CREATE, {
      bo_size: 1 << 20,
      domains: AMDGPU_GEM_DOMAIN_VRAM,
    });
    // Render on gfx (2 ms), then a compute pass (1 ms) on the same BO: implicit sync orders them.
    const submit = (ip_type: number, duration_ns: number) =>
      app.ioctl<{ handle: number }>(fd, DRM_IOCTL_AMDGPU_CS, {
        ctx_id,
        chunks: [
          { chunk_id: AMDGPU_CHUNK_ID_IB, data: { ip_type, ring: 0, duration_ns } },
          { chunk_id: AMDGPU_CHUNK_ID_BO_HANDLES, data: [{ bo_handle: bo }] },
        ],
      });
    await submit(AMDGPU_HW_IP_GFX, msecs(2));
    const { handle: seq } = await submit(AMDGPU_HW_IP_COMPUTE, msecs(1));
    const { status } = await app.ioctl<{ status: number }>(fd, DRM_IOCTL_AMDGPU_WAIT_CS, {
      ctx_id,
      ip_type: AMDGPU_HW_IP_COMPUTE,
      ring: 0,
      handle: seq,
      timeout: Number.MAX_SAFE_INTEGER,
    });
    return { seq, status, doneAtMs: sim.now / 1e6 };
  });
  expect(result).toEqual({ seq: 1, status: 0, doneAtMs: 3 });
  app.exit();
  host.remove(dev);
  expect(sim.teardown().findings).toEqual([]);
});
