/**
 * Buffer contents on asahi: commands that fill and copy at GPU addresses of their queue's VM (the
 * side channel's `fill`/`copy`; written when the command completes, never by a hung one), the
 * checks on what they address, and CPU access — the buffer's fake mmap offset
 * (ASAHI_GEM_MMAP_OFFSET) and its dma-buf fd with DMA_BUF_IOCTL_SYNC.
 */
import { DMA_BUF_IOCTL_SYNC, DMA_BUF_SYNC_END, DMA_BUF_SYNC_READ, DMA_BUF_SYNC_START } from "@drmsim/dma-buf";
import { drmPrimeHandleToFD, drmSyncobjCreate, drmSyncobjWait } from "@drmsim/drm";
import type { DrmGemShmemObject } from "@drmsim/gem";
import { isKernelError, O_CLOEXEC, O_RDWR, PROT_READ, PROT_WRITE, Process, S64_MAX } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { asahiGemMmapOffset, DRM_ASAHI_BIND_READ, DRM_ASAHI_BIND_WRITE } from "../src/index.js";
import {
  agxBoCreate,
  agxComputeCommand,
  agxOpenContext,
  agxRenderCommand,
  agxSubmit,
  agxSyncobj,
  agxVmBind,
} from "../src/user/index.js";
import { fileOf, queueOf, setup, syncobjError } from "./helpers.js";

const RW = DRM_ASAHI_BIND_READ | DRM_ASAHI_BIND_WRITE;
/** Where the tests bind their buffers. */
const VA_A = 0x100_0000;
const VA_B = 0x200_0000;

async function errno(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (isKernelError(e)) return e.code;
    throw e;
  }
  return "ok";
}

describe("asahi: what commands write", () => {
  it("a render fills, a compute copies; the bytes land when each command completes", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, vm, queue } = await agxOpenContext(app);
      const a = await agxBoCreate(app, fd, 65536);
      const b = await agxBoCreate(app, fd, 16384);
      await agxVmBind(app, fd, vm, [
        { flags: RW, handle: a, offset: 0, range: 65536, addr: VA_A },
        { flags: RW, handle: b, offset: 0, range: 16384, addr: VA_B },
      ]);
      const done = await drmSyncobjCreate(app, fd);
      const sa = fileOf(dev, app).gem.peek(a) as DrmGemShmemObject;
      const sb = fileOf(dev, app).gem.peek(b) as DrmGemShmemObject;
      await agxSubmit(app, fd, {
        queue,
        commands: [
          agxRenderCommand({ fill: { addr: VA_A + 40_000, data: [1, 2, 3] } }),
          agxComputeCommand({
            cdm_barrier: 0xffff,
            vdm_barrier: 1, // after the render
            copy: { src_addr: VA_A + 40_000, dst_addr: VA_B + 16_381, size: 3 },
          }),
        ],
        outSyncs: [agxSyncobj(done)],
      });
      expect(Array.from(sa.store.read(40_000, 3))).toEqual([0, 0, 0]); // not yet
      await drmSyncobjWait(app, fd, [done], S64_MAX);
      expect(Array.from(sa.store.read(40_000, 3))).toEqual([1, 2, 3]);
      expect(Array.from(sb.store.read(16_381, 3))).toEqual([1, 2, 3]);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("EINVAL for an address outside one mapping, a write through a read-only one, a range past it, or a byte out of range", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim
      .exec("app", async () => {
        const { fd, vm, queue } = await agxOpenContext(app);
        const a = await agxBoCreate(app, fd, 16384);
        const b = await agxBoCreate(app, fd, 16384);
        await agxVmBind(app, fd, vm, [
          { flags: RW, handle: a, offset: 0, range: 16384, addr: VA_A },
          { flags: DRM_ASAHI_BIND_READ, handle: b, offset: 0, range: 16384, addr: VA_B },
        ]);
        const bad = (cmd: object) => errno(agxSubmit(app, fd, { queue, commands: [agxRenderCommand(cmd)] }));
        expect(await bad({ fill: { addr: 0x900_0000, data: [1] } })).toBe("EINVAL");
        expect(await bad({ fill: { addr: VA_B, data: [1] } })).toBe("EINVAL");
        expect(await bad({ copy: { src_addr: VA_B, dst_addr: VA_A, size: 16385 } })).toBe("EINVAL");
        expect(await bad({ fill: { addr: VA_A, data: [300] } })).toBe("EINVAL");
        return queue;
      })
      .then(async (queue) => {
        await sim.run();
        expect(queueOf(dev, app, queue).stats.jobs).toBe(0);
      });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a hung command writes nothing; the submit's fence carries the error", async () => {
    const { sim, host, dev } = setup({ timeoutNs: 1_000_000 });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, vm, queue } = await agxOpenContext(app);
      const a = await agxBoCreate(app, fd, 16384);
      await agxVmBind(app, fd, vm, [{ flags: RW, handle: a, offset: 0, range: 16384, addr: VA_A }]);
      const done = await drmSyncobjCreate(app, fd);
      await agxSubmit(app, fd, {
        queue,
        commands: [agxRenderCommand({ hang: true, fill: { addr: VA_A, data: [7] } })],
        outSyncs: [agxSyncobj(done)],
      });
      await drmSyncobjWait(app, fd, [done], S64_MAX);
      expect(syncobjError(dev, app, done)).toBeLessThan(0);
      expect(Array.from((fileOf(dev, app).gem.peek(a) as DrmGemShmemObject).store.read(0, 1))).toEqual([0]);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("asahi: CPU access", () => {
  it("the buffer's fake offset maps it for its file; its dma-buf fd maps the same pages", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd } = await agxOpenContext(app);
      const a = await agxBoCreate(app, fd, 16384);
      const off = asahiGemMmapOffset(fileOf(dev, app), a);
      expect(() => asahiGemMmapOffset(fileOf(dev, app), a, 1)).toThrow(/EINVAL/);
      const gem = await app.mmap(fd, off, 16384, PROT_READ | PROT_WRITE);
      gem.write(100, Uint8Array.of(8, 9));
      const buf = await drmPrimeHandleToFD(app, fd, a, O_RDWR | O_CLOEXEC);
      const map = await app.mmap(buf, 0, 16384, PROT_READ);
      await app.ioctl(buf, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ });
      expect(Array.from(map.read(100, 2))).toEqual([8, 9]);
      await app.ioctl(buf, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ });
      expect(await errno(app.ioctl(buf, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_START }))).toBe("EINVAL");
      expect(await errno(app.ioctl(buf, DMA_BUF_IOCTL_SYNC, { flags: 1 << 7 }))).toBe("EINVAL");
      app.munmap(map);
      app.munmap(gem);
      app.close(buf);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
