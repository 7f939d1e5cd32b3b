import type { DmaBuf } from "@drmsim/dma-buf";
import { type DmaResv, DmaResvUsage } from "@drmsim/dma-resv";
import {
  DRM_IOCTL_AUTH_MAGIC,
  DRM_IOCTL_GEM_CLOSE,
  DRM_IOCTL_GEM_FLINK,
  DRM_IOCTL_GEM_OPEN,
  DRM_IOCTL_GET_MAGIC,
  DRM_IOCTL_MODE_DESTROY_DUMB,
  DRM_IOCTL_PRIME_FD_TO_HANDLE,
  DRM_IOCTL_PRIME_HANDLE_TO_FD,
  DRM_RENDER_ALLOW,
  type DrmDevice,
  DrmPluginHost,
  drmCloseBufferHandle,
  drmIoctlLookup,
  drmModeCreateDumbBuffer,
  drmModeMapDumbBuffer,
  drmPrimeFDToHandle,
  drmPrimeHandleToFD,
  traceDrmDriverOp,
} from "@drmsim/drm";
import { EPOLLIN, EPOLLOUT, type PollFd, Process, Simulator, secs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_IOCTL_DRMSIM_VGEM_FENCE_ERROR,
  DRM_IOCTL_VGEM_FENCE_ATTACH,
  DRM_IOCTL_VGEM_FENCE_SIGNAL,
  drm_vgem_fence_attach,
  drm_vgem_fence_signal,
  drmsim_vgem_fence_error,
  VGEM_FENCE_NOTIMEOUT,
  VGEM_FENCE_WRITE,
  vgemFileOf,
  vgemProbe,
} from "../src/index.js";
import { vgemFenceAttach, vgemFenceSignal } from "../src/user/index.js";

function setup(opts: { trace?: boolean; validator?: "throw" | "collect" } = {}) {
  const sim = new Simulator(opts);
  const host = new DrmPluginHost(sim);
  const dev = vgemProbe(host);
  return { sim, host, dev };
}

const fileOf = (dev: DrmDevice, proc: Process) => [...dev.files].find((f) => f.proc === proc)!;

/** The resv's fences with usage ≤ `usage`, without taking references (unlike `getFences`). */
const fencesOf = (resv: DmaResv, usage: DmaResvUsage) =>
  resv.fences.filter((_, i) => resv.usages[i]! <= usage);

const attach = vgemFenceAttach;
const signal = vgemFenceSignal;

describe("vgem (IGT prime_vgem behaviours, from userspace)", () => {
  it("dumb buffers: pitch/size, map offset, ops run through the shmem helper with vgem frames and traces", async () => {
    const { sim, host, dev } = setup({ trace: true });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/card0");
      // drm_gem_shmem_dumb_create: the 300-byte scanline rounds up to an 8-byte pitch, the size to a page.
      const bo = await drmModeCreateDumbBuffer(app, fd, 100, 10, 24);
      expect(bo).toEqual({ handle: 1, pitch: 304, size: 4096 });
      const odd = await drmModeCreateDumbBuffer(app, fd, 17, 300, 32);
      expect(odd).toEqual({ handle: 2, pitch: 72, size: 24576 });
      await app.ioctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, { handle: odd.handle });
      const off = await drmModeMapDumbBuffer(app, fd, bo.handle);
      expect(off % 4096).toBe(0);
      expect(off).toBeGreaterThan(0);
      await expect(drmModeCreateDumbBuffer(app, fd, 0, 10, 32)).rejects.toMatchObject({ code: "EINVAL" });
      // drm_mode_create_dumb does not look at flags (userspace never cleared them reliably).
      const flagged = await drmModeCreateDumbBuffer(app, fd, 8, 8, 32, 1);
      await app.ioctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, { handle: flagged.handle });
      await expect(drmModeMapDumbBuffer(app, fd, 99)).rejects.toMatchObject({ code: "ENOENT" });
      await expect(app.ioctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, { handle: 99 })).rejects.toMatchObject({
        code: "EINVAL",
      });
      await app.ioctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, { handle: bo.handle });
      expect(fileOf(dev, app).gem.count).toBe(0);
    });
    const ops = sim.tracer.eventsOf(traceDrmDriverOp).map((e) => (e.args as { op: string }).op);
    expect(ops).toEqual(
      expect.arrayContaining([
        "drm_driver.open",
        "drm_driver.dumb_create",
        "drm_driver.gem_create_object",
        "drm_gem_object_funcs.free",
      ]),
    );
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("basic-read/write: bytes written through one process's vmap are read through another's import", async () => {
    const { sim, host, dev } = setup();
    const writer = new Process(sim, "writer");
    const reader = new Process(sim, "reader");
    const got = await sim.exec("main", async () => {
      const wfd = await writer.open("/dev/dri/card0");
      const bo = await drmModeCreateDumbBuffer(writer, wfd, 1024, 1, 32);
      const dmabufFd = await drmPrimeHandleToFD(writer, wfd, bo.handle);
      const buf = writer.file(dmabufFd).priv as DmaBuf;
      const map = await buf.vmapUnlocked();
      map.write(100, new Uint8Array([1, 2, 3, 4]));
      await buf.resv.lock(null);
      buf.vunmap(map);
      buf.resv.unlock();
      const rfd = await reader.open("/dev/dri/renderD128");
      const passed = writer.sendFd(reader, dmabufFd);
      const handle = await drmPrimeFDToHandle(reader, rfd, passed);
      const obj = fileOf(dev, reader).gem.peek(handle)!;
      // Self-import on the same device: the very object the writer created.
      expect(obj).toBe(fileOf(dev, writer).gem.peek(bo.handle));
      const rbuf = reader.file(passed).priv as DmaBuf;
      const rmap = await rbuf.vmapUnlocked();
      const bytes = [...rmap.read(100, 4)];
      await rbuf.resv.lock(null);
      rbuf.vunmap(rmap);
      rbuf.resv.unlock();
      return bytes;
    });
    expect(got).toEqual([1, 2, 3, 4]);
    writer.exit();
    reader.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("PRIME: same dma-buf on re-export, same handle on re-import, flags and handles validated", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const bo = await drmModeCreateDumbBuffer(app, fd, 16, 16, 32).catch(() => null);
      // Dumb create is not render-allowed: allocate on the card node and move the buffer over PRIME.
      expect(bo).toBe(null);
      const card = await app.open("/dev/dri/card0");
      const b = await drmModeCreateDumbBuffer(app, card, 16, 16, 32);
      const fd1 = await drmPrimeHandleToFD(app, card, b.handle);
      const fd2 = await drmPrimeHandleToFD(app, card, b.handle);
      expect(fd1).not.toBe(fd2);
      expect(app.file(fd1)).toBe(app.file(fd2));
      const h1 = await drmPrimeFDToHandle(app, fd, fd1);
      const h2 = await drmPrimeFDToHandle(app, fd, fd2);
      expect(h1).toBe(h2);
      // The exporting file gets its own handle back.
      expect(await drmPrimeFDToHandle(app, card, fd1)).toBe(b.handle);
      const arg = { handle: b.handle, flags: 0x4, fd: -1 };
      await expect(app.ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, arg)).rejects.toMatchObject({
        code: "EINVAL",
      });
      expect(arg.fd).toBe(-1);
      await expect(drmPrimeHandleToFD(app, card, 77)).rejects.toMatchObject({ code: "ENOENT" });
      await expect(drmPrimeFDToHandle(app, fd, card)).rejects.toMatchObject({ code: "EINVAL" });
      await expect(drmPrimeFDToHandle(app, fd, 999)).rejects.toMatchObject({ code: "EBADF" });
      // fd is an __s32 handed to dma_buf_get: a negative fd is EBADF too, not an argument error.
      await expect(app.ioctl(fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, { fd: -1 })).rejects.toMatchObject({
        code: "EBADF",
      });
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("GEM_CLOSE / FLINK / OPEN error paths leave state unchanged; FLINK is refused on render nodes", async () => {
    const { sim, host, dev } = setup();
    const a = new Process(sim, "a");
    const b = new Process(sim, "b");
    await sim.exec("main", async () => {
      const card = await a.open("/dev/dri/card0");
      const bo = await drmModeCreateDumbBuffer(a, card, 8, 8, 32);
      // drm_gem_close_ioctl ignores pad: garbage there still closes the handle.
      const extra = await drmModeCreateDumbBuffer(a, card, 8, 8, 32);
      expect(fileOf(dev, a).gem.count).toBe(2);
      await a.ioctl(card, DRM_IOCTL_GEM_CLOSE, { handle: extra.handle, pad: 1 });
      expect(fileOf(dev, a).gem.count).toBe(1);
      await expect(drmCloseBufferHandle(a, card, 42)).rejects.toMatchObject({ code: "EINVAL" });
      expect(fileOf(dev, a).gem.count).toBe(1);
      await expect(a.ioctl(card, DRM_IOCTL_GEM_FLINK, { handle: 42 })).rejects.toMatchObject({
        code: "ENOENT",
      });
      const { name } = await a.ioctl<{ name: number }>(card, DRM_IOCTL_GEM_FLINK, { handle: bo.handle });
      expect(name).toBe(1);
      expect((await a.ioctl<{ name: number }>(card, DRM_IOCTL_GEM_FLINK, { handle: bo.handle })).name).toBe(
        1,
      );
      const render = await a.open("/dev/dri/renderD128");
      await expect(a.ioctl(render, DRM_IOCTL_GEM_FLINK, { handle: 1 })).rejects.toMatchObject({
        code: "EACCES",
      });
      // b is not the master and not authenticated: DRM_AUTH refuses GEM_OPEN.
      const bcard = await b.open("/dev/dri/card0");
      await expect(b.ioctl(bcard, DRM_IOCTL_GEM_OPEN, { name })).rejects.toMatchObject({ code: "EACCES" });
      const magic = (await b.ioctl<{ magic: number }>(bcard, DRM_IOCTL_GET_MAGIC, {})).magic;
      await a.ioctl(card, DRM_IOCTL_AUTH_MAGIC, { magic });
      await expect(b.ioctl(bcard, DRM_IOCTL_GEM_OPEN, { name: 5 })).rejects.toMatchObject({
        code: "ENOENT",
      });
      const opened = await b.ioctl<{ handle: number; size: number }>(bcard, DRM_IOCTL_GEM_OPEN, { name });
      expect(opened).toMatchObject({ handle: 1, size: 4096 });
      await drmCloseBufferHandle(a, card, bo.handle);
      expect(fileOf(dev, a).gem.count).toBe(0);
    });
    a.exit();
    b.exit();
    expect(dev.names.count).toBe(0);
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("fence attach: WRITE/READ usage, EBUSY on conflict with the resv unchanged, ids from 1", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/card0");
      const bo = await drmModeCreateDumbBuffer(app, fd, 8, 8, 32);
      const obj = fileOf(dev, app).gem.peek(bo.handle)!;
      const r1 = await attach(app, fd, bo.handle);
      const r2 = await attach(app, fd, bo.handle);
      expect([r1, r2]).toEqual([1, 2]);
      expect(fencesOf(obj.resv, DmaResvUsage.READ).length).toBe(2);
      await expect(attach(app, fd, bo.handle, VGEM_FENCE_WRITE)).rejects.toMatchObject({ code: "EBUSY" });
      expect(fencesOf(obj.resv, DmaResvUsage.BOOKKEEP).length).toBe(2);
      await signal(app, fd, r1);
      await signal(app, fd, r2);
      const w = await attach(app, fd, bo.handle, VGEM_FENCE_WRITE);
      expect(w).toBe(3);
      await expect(attach(app, fd, bo.handle)).rejects.toMatchObject({ code: "EBUSY" });
      await expect(attach(app, fd, bo.handle, VGEM_FENCE_WRITE)).rejects.toMatchObject({ code: "EBUSY" });
      expect(fencesOf(obj.resv, DmaResvUsage.WRITE).length).toBe(1);
      await signal(app, fd, w);
      // Argument validation.
      await expect(
        app.ioctl(fd, DRM_IOCTL_VGEM_FENCE_ATTACH, { handle: bo.handle, flags: 0x4 }),
      ).rejects.toMatchObject({
        code: "EINVAL",
      });
      await expect(
        app.ioctl(fd, DRM_IOCTL_VGEM_FENCE_ATTACH, { handle: bo.handle, pad: 1 }),
      ).rejects.toMatchObject({
        code: "EINVAL",
      });
      await expect(attach(app, fd, 99)).rejects.toMatchObject({ code: "ENOENT" });
      await expect(signal(app, fd, w)).rejects.toMatchObject({ code: "ENOENT" });
      await expect(signal(app, fd, 1234)).rejects.toMatchObject({ code: "ENOENT" });
      await expect(app.ioctl(fd, DRM_IOCTL_VGEM_FENCE_SIGNAL, { fence: 1, flags: 1 })).rejects.toMatchObject({
        code: "EINVAL",
      });
      expect(vgemFileOf(fileOf(dev, app)).outstanding).toBe(0);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("busy/wait via dma-buf poll: a READ fence blocks writers only, a WRITE fence blocks both; poll wakes on signal", async () => {
    const { sim, host } = setup();
    const app = new Process(sim, "app");
    const other = new Process(sim, "other");
    const woke: number[] = [];
    await sim.exec("main", async () => {
      const fd = await app.open("/dev/dri/card0");
      const bo = await drmModeCreateDumbBuffer(app, fd, 8, 8, 32);
      const dmabuf = await drmPrimeHandleToFD(app, fd, bo.handle);
      const r = await attach(app, fd, bo.handle);
      const pfd: PollFd[] = [{ fd: dmabuf, events: EPOLLIN | EPOLLOUT }];
      await app.poll(pfd, 0);
      expect(pfd[0]!.revents).toBe(EPOLLIN);
      await signal(app, fd, r);
      const w = await attach(app, fd, bo.handle, VGEM_FENCE_WRITE);
      expect(await app.poll(pfd, 0)).toBe(0);
      const theirs = app.sendFd(other, dmabuf);
      const waiter = other.run(async () => {
        await other.poll([{ fd: theirs, events: EPOLLIN }]);
        woke.push(sim.now);
      });
      sim.schedule(secs(1), () => app.run(() => signal(app, fd, w)));
      await waiter.result;
    });
    expect(woke).toEqual([secs(1)]);
    app.exit();
    other.exit();
    expect(sim.teardown().findings).toEqual([]);
    void host;
  });

  it("fences expire after 10 s (SIGNAL then says ETIMEDOUT); VGEM_FENCE_NOTIMEOUT fences hang until signalled", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    const setupTask = app.run(async () => {
      const fd = await app.open("/dev/dri/card0");
      const bo = await drmModeCreateDumbBuffer(app, fd, 8, 8, 32);
      const normal = await attach(app, fd, bo.handle);
      const hang = await attach(app, fd, bo.handle, VGEM_FENCE_NOTIMEOUT);
      return { fd, bo, normal, hang };
    });
    await sim.run({ untilNs: secs(1) });
    const { fd, bo, normal, hang } = await setupTask.result;
    const obj = fileOf(dev, app).gem.peek(bo.handle)!;
    const [fNormal, fHang] = fencesOf(obj.resv, DmaResvUsage.READ);
    expect(fNormal!.isSignaled()).toBe(false);
    await sim.runFor(secs(10));
    expect(fNormal!.isSignaled()).toBe(true);
    expect(fHang!.isSignaled()).toBe(false);
    await expect(sim.exec("app", () => signal(app, fd, normal))).rejects.toMatchObject({ code: "ETIMEDOUT" });
    // The id was consumed all the same, as in the kernel.
    await expect(sim.exec("app", () => signal(app, fd, normal))).rejects.toMatchObject({ code: "ENOENT" });
    await sim.runFor(secs(100));
    expect(fHang!.isSignaled()).toBe(false);
    await sim.exec("app", () => signal(app, fd, hang));
    expect(fHang!.isSignaled()).toBe(true);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("the header's ioctls at their numbers and sizes, and the side channel above them", () => {
    const { sim, host, dev } = setup();
    expect([drm_vgem_fence_attach.size, drm_vgem_fence_signal.size, drmsim_vgem_fence_error.size]).toEqual([
      16, 8, 8,
    ]);
    expect([
      DRM_IOCTL_VGEM_FENCE_ATTACH,
      DRM_IOCTL_VGEM_FENCE_SIGNAL,
      DRM_IOCTL_DRMSIM_VGEM_FENCE_ERROR,
    ]).toEqual([0xc0106441, 0x40086442, 0x4008649f]);
    const defs = [
      DRM_IOCTL_VGEM_FENCE_ATTACH,
      DRM_IOCTL_VGEM_FENCE_SIGNAL,
      DRM_IOCTL_DRMSIM_VGEM_FENCE_ERROR,
    ].map((cmd) => [drmIoctlLookup(dev, cmd)?.name, drmIoctlLookup(dev, cmd)?.flags]);
    expect(defs).toEqual([
      ["VGEM_FENCE_ATTACH", DRM_RENDER_ALLOW],
      ["VGEM_FENCE_SIGNAL", DRM_RENDER_ALLOW],
      ["DRMSIM_VGEM_FENCE_ERROR", DRM_RENDER_ALLOW],
    ]);
    // Nothing at 0x40 (the header starts at 1) and nothing after SIGNAL.
    expect(drmIoctlLookup(dev, DRM_IOCTL_VGEM_FENCE_ATTACH - 1)).toBeUndefined();
    expect(drmIoctlLookup(dev, DRM_IOCTL_VGEM_FENCE_SIGNAL + 1)).toBeUndefined();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("side channel: DRMSIM_VGEM_FENCE_ERROR gives an outstanding fence the error it signals with; bad calls change nothing", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/card0");
      const bo = await drmModeCreateDumbBuffer(app, fd, 8, 8, 32);
      const id = await attach(app, fd, bo.handle, VGEM_FENCE_WRITE);
      const fence = fencesOf(fileOf(dev, app).gem.peek(bo.handle)!.resv, DmaResvUsage.WRITE)[0]!;
      const setError = (a: object) => app.ioctl(fd, DRM_IOCTL_DRMSIM_VGEM_FENCE_ERROR, a);
      await expect(setError({ fence: id, error: 0 })).rejects.toMatchObject({ code: "EINVAL" });
      await expect(setError({ fence: id, error: -5000 })).rejects.toMatchObject({ code: "EINVAL" });
      await expect(setError({ fence: id + 1, error: -5 })).rejects.toMatchObject({ code: "ENOENT" });
      expect(fence.error).toBe(0);
      await setError({ fence: id, error: -5 });
      expect(fence.isSignaled()).toBe(false);
      await signal(app, fd, id);
      expect(fence.getStatus()).toBe(-5);
      // Signalled: the id is empty now.
      await expect(setError({ fence: id, error: -5 })).rejects.toMatchObject({ code: "ENOENT" });
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("extension: FENCE_SIGNAL with an error sets the fence's error; a bad error is EINVAL", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/card0");
      const bo = await drmModeCreateDumbBuffer(app, fd, 8, 8, 32);
      const obj = fileOf(dev, app).gem.peek(bo.handle)!;
      const id = await attach(app, fd, bo.handle, VGEM_FENCE_WRITE);
      const fence = fencesOf(obj.resv, DmaResvUsage.WRITE)[0]!;
      await expect(signal(app, fd, id, 5)).rejects.toMatchObject({ code: "EINVAL" });
      expect(fence.isSignaled()).toBe(false);
      await signal(app, fd, id, -5);
      expect(fence.isSignaled()).toBe(true);
      expect(fence.getStatus()).toBe(-5);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("closing the file signals outstanding fences; implicit sync reaches an importer on another vgem device", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev0 = vgemProbe(host);
    const dev1 = vgemProbe(host);
    expect(dev1.primary?.path).toBe("/dev/dri/card1");
    const producer = new Process(sim, "producer");
    const consumer = new Process(sim, "consumer");
    let done = -1;
    await sim.exec("main", async () => {
      const p = await producer.open("/dev/dri/card0");
      const c = await consumer.open("/dev/dri/card1");
      const bo = await drmModeCreateDumbBuffer(producer, p, 8, 8, 32);
      const dmabuf = await drmPrimeHandleToFD(producer, p, bo.handle);
      await attach(producer, p, bo.handle, VGEM_FENCE_WRITE | VGEM_FENCE_NOTIMEOUT);
      const cfd = producer.sendFd(consumer, dmabuf);
      const h = await drmPrimeFDToHandle(consumer, c, cfd);
      const imported = fileOf(dev1, consumer).gem.peek(h)!;
      const original = fileOf(dev0, producer).gem.peek(bo.handle)!;
      expect(imported).not.toBe(original);
      expect(imported.isImported).toBe(true);
      expect(imported.resv).toBe(original.resv);
      // The consumer waits (as a GPU job would) for the producer's write before reading.
      const t = consumer.run(async () => {
        await imported.resv.waitTimeout(DmaResvUsage.WRITE);
        done = sim.now;
      });
      sim.schedule(secs(2), () => producer.close(p));
      await t.result;
    });
    expect(done).toBe(secs(2));
    producer.exit();
    consumer.exit();
    host.remove(dev0);
    host.remove(dev1);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("remove() with files still open releases handles and fences; nothing leaks", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/card0");
      const bo = await drmModeCreateDumbBuffer(app, fd, 8, 8, 32);
      await attach(app, fd, bo.handle, VGEM_FENCE_NOTIMEOUT);
    });
    host.remove(dev);
    expect(dev.files.size).toBe(0);
    app.exit();
    expect(sim.teardown().findings).toEqual([]);
  });
});
