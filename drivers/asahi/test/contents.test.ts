/**
 * Buffer contents on asahi: commands that fill and copy buffers of their submit (written when the
 * command completes, never by a hung one), the checks on what they name, and CPU access — the
 * buffer's fake mmap offset (ASAHI_GEM_MMAP_OFFSET) and its dma-buf fd with DMA_BUF_IOCTL_SYNC.
 */
import { DMA_BUF_IOCTL_SYNC, DMA_BUF_SYNC_END, DMA_BUF_SYNC_READ, DMA_BUF_SYNC_START } from "@drmsim/dma-buf";
import { drmPrimeHandleToFD, drmSyncobjCreate, drmSyncobjWait } from "@drmsim/drm";
import type { DrmGemShmemObject } from "@drmsim/gem";
import { isKernelError, O_CLOEXEC, O_RDWR, PROT_READ, PROT_WRITE, Process, S64_MAX } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { ASAHI_BO_WRITE, asahiGemMmapOffset } from "../src/index.js";
import {
  agxBoCreate,
  agxComputeCommand,
  agxOpenContext,
  agxRenderCommand,
  agxSubmit,
  agxSyncobj,
} from "../src/user/index.js";
import { fileOf, queueOf, setup, syncobjError } from "./helpers.js";

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
      const { fd, queue } = await agxOpenContext(app);
      const a = await agxBoCreate(app, fd, 65536);
      const b = await agxBoCreate(app, fd, 16384);
      const done = await drmSyncobjCreate(app, fd);
      const sa = fileOf(dev, app).gem.peek(a) as DrmGemShmemObject;
      const sb = fileOf(dev, app).gem.peek(b) as DrmGemShmemObject;
      await agxSubmit(app, fd, {
        queue,
        commands: [
          agxRenderCommand({ fill: { handle: a, offset: 40_000, data: [1, 2, 3] } }),
          agxComputeCommand({
            cdm_barrier: 0xffff,
            vdm_barrier: 1, // after the render
            copy: { src_handle: a, src_offset: 40_000, dst_handle: b, dst_offset: 16_381, size: 3 },
          }),
        ],
        bos: [
          { handle: a, flags: ASAHI_BO_WRITE },
          { handle: b, flags: ASAHI_BO_WRITE },
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

  it("EINVAL for a buffer not in the submit, a written buffer without ASAHI_BO_WRITE, or a range outside it", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim
      .exec("app", async () => {
        const { fd, queue } = await agxOpenContext(app);
        const a = await agxBoCreate(app, fd, 16384);
        const b = await agxBoCreate(app, fd, 16384);
        const bad = (cmd: object, bos: { handle: number; flags: number }[]) =>
          errno(agxSubmit(app, fd, { queue, commands: [agxRenderCommand(cmd)], bos }));
        expect(await bad({ fill: { handle: b, data: [1] } }, [{ handle: a, flags: ASAHI_BO_WRITE }])).toBe(
          "EINVAL",
        );
        expect(await bad({ fill: { handle: a, data: [1] } }, [{ handle: a, flags: 0 }])).toBe("EINVAL");
        expect(await bad({ fill: { handle: a, data: [1] } }, [])).toBe("EINVAL");
        expect(
          await bad({ copy: { src_handle: a, dst_handle: b, size: 16385 } }, [
            { handle: a, flags: 0 },
            { handle: b, flags: ASAHI_BO_WRITE },
          ]),
        ).toBe("EINVAL");
        expect(await bad({ fill: { handle: a, data: [300] } }, [{ handle: a, flags: ASAHI_BO_WRITE }])).toBe(
          "EINVAL",
        );
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
      const { fd, queue } = await agxOpenContext(app);
      const a = await agxBoCreate(app, fd, 16384);
      const done = await drmSyncobjCreate(app, fd);
      await agxSubmit(app, fd, {
        queue,
        commands: [agxRenderCommand({ hang: true, fill: { handle: a, data: [7] } })],
        bos: [{ handle: a, flags: ASAHI_BO_WRITE }],
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
