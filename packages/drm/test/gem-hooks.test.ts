import { DMA_BUF_IOCTL_SYNC, DMA_BUF_SYNC_READ, DMA_BUF_SYNC_START, type DmaBuf } from "@drmsim/dma-buf";
import { DrmGemObject } from "@drmsim/gem";
import { Process, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_DEVICE,
  DRM_IOCTL_GEM_FLINK,
  DRM_IOCTL_PRIME_HANDLE_TO_FD,
  DRM_IOCTL_SET_MASTER,
  DRM_RENDER_ALLOW,
  DrmCap,
  DrmDriverFeature,
  DrmGemShmemHelper,
  type DrmHooks,
  DrmPluginHost,
  DrmPrimeHelper,
  drmCloseBufferHandle,
  drmCoreIoctl,
  drmGetCap,
  drmModeCreateDumbBuffer,
  drmPrimeFDToHandle,
  drmPrimeHandleToFD,
} from "../src/index.js";
import { T, tIoctl } from "./test-ioctl.js";

const GPU = DrmDriverFeature.GEM | DrmDriverFeature.RENDER;

/** A driver with its own object type, created through gemCreateObject, freed through gem.free. */
class OwnObjects {
  freed: string[] = [];
  apply(hooks: DrmHooks, device: import("../src/index.js").DrmDevice) {
    hooks.driver.gemCreateObject.tap(
      "own",
      (size) => new DrmGemObject(device.sim, size, { label: "own-bo" }),
    );
    hooks.gem.free.tap("own", (obj) => {
      this.freed.push(`${obj.label}@${device.sim.current.backtrace()[0]}`);
    });
    hooks.driver.dumbCreate.tapPromise("own", async (file, args) => {
      const obj = device.gemCreateObject(args.width * args.height * 4);
      try {
        args.handle = file.gem.handleCreate(obj);
      } finally {
        obj.put();
      }
      args.pitch = args.width * 4;
      args.size = BigInt(obj.size);
      return true;
    });
  }
}

describe("GEM hooks and helper plugins", () => {
  it("dma_buf_ops taps: exports use the driver's ops over the GEM defaults; self-import still finds the object", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const seen: string[] = [];
    class CpuSync {
      apply(hooks: DrmHooks) {
        hooks.dmaBuf.beginCpuAccess.tapPromise("cpusync", async (_buf, dir) => {
          seen.push(`begin:${dir}:${sim.current.backtrace()[0]}`);
          return true;
        });
        hooks.dmaBuf.vmap.tap("cpusync", () => {
          seen.push("vmap-declined");
          return undefined;
        });
        hooks.driver.dumbCreate.tapPromise("cpusync", async (file, args) => {
          const obj = host.containerOf(dev).resolve(DRM_DEVICE).gemCreateObject(4096);
          try {
            args.handle = file.gem.handleCreate(obj);
          } finally {
            obj.put();
          }
          args.pitch = 64;
          args.size = BigInt(obj.size);
          return true;
        });
      }
    }
    const dev = host.probe(CpuSync, { name: "cpusync", features: GPU });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/card0");
      const bo = await drmModeCreateDumbBuffer(app, fd, 16, 1, 32);
      const bufFd = await drmPrimeHandleToFD(app, fd, bo.handle);
      await app.ioctl(bufFd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ });
      const buf = app.file(bufFd).priv as DmaBuf;
      const map = await buf.vmapUnlocked();
      map.write(0, new Uint8Array([9]));
      await buf.resv.lock(null);
      buf.vunmap(map);
      buf.resv.unlock();
      // Self-import through the driver's own ops: same handle, no foreign import.
      expect(await drmPrimeFDToHandle(app, fd, bufFd)).toBe(bo.handle);
      const render = await app.open("/dev/dri/renderD128");
      const h = await drmPrimeFDToHandle(app, render, bufFd);
      const f = [...dev.files].find((x) => x.minor.type === "render")!;
      expect(f.gem.peek(h)!.isImported).toBe(false);
    });
    expect(seen).toEqual(["begin:2:cpusync: dma_buf_ops.begin_cpu_access", "vmap-declined"]);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a driver's gemCreateObject tap wins over the shmem helper; gem.free runs as an op with its frame", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev = host.probe(OwnObjects, { name: "own", features: GPU | DrmDriverFeature.MODESET });
    const drv = host.driverOf<OwnObjects>(dev);
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/card0");
      expect(await drmGetCap(app, fd, DrmCap.DUMB_BUFFER)).toBe(1);
      const bo = await drmModeCreateDumbBuffer(app, fd, 16, 16, 32);
      await drmCloseBufferHandle(app, fd, bo.handle);
    });
    expect(drv.freed).toEqual(["own-bo@own: drm_gem_object_funcs.free"]);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("without the shmem helper, creating objects without gem.free fails the probe naming drm_gem_object_funcs.free", () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    class NoFree {
      apply(hooks: DrmHooks, device: import("../src/index.js").DrmDevice) {
        hooks.driver.gemCreateObject.tap("nofree", (size) => new DrmGemObject(device.sim, size));
      }
    }
    expect(() =>
      host.probe(NoFree, { name: "nofree", features: GPU, helpers: [new DrmPrimeHelper()] }),
    ).toThrow(/mandatory op drm_gem_object_funcs\.free/);
    // With the helper it probes (the helper's free covers shmem objects).
    const ok = host.probe(NoFree, { name: "nofree", features: GPU, helpers: [new DrmGemShmemHelper()] });
    host.remove(ok);
  });

  it("without helpers and taps, dumb create is ENOSYS and PRIME export is EOPNOTSUPP; state unchanged", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    class Bare {
      apply() {}
    }
    const dev = host.probe(Bare, { name: "bare", features: GPU, helpers: [] });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/card0");
      await expect(drmModeCreateDumbBuffer(app, fd, 8, 8, 32)).rejects.toMatchObject({ code: "ENOSYS" });
      await expect(
        app.ioctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, { handle: 1, flags: 0 }),
      ).rejects.toMatchObject({
        code: "EOPNOTSUPP",
      });
      expect(() => dev.gemCreateObject(4096)).toThrow(expect.objectContaining({ code: "ENOSYS" }));
      expect([...dev.files][0]!.gem.count).toBe(0);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("accel nodes: ioctls work with or without DRM_RENDER_ALLOW (7.1: accel clients are not render clients); DRM_AUTH FLINK and master ioctls are refused", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    class Npu {
      apply(hooks: DrmHooks) {
        hooks.driver.ioctls.tap("npu", (r) => {
          r.add(tIoctl("NPU_SUBMIT", 0x00, DRM_RENDER_ALLOW));
          r.add(tIoctl("NPU_ADMIN", 0x01, 0));
        });
      }
    }
    const dev = host.probe(Npu, {
      name: "npu",
      features: DrmDriverFeature.COMPUTE_ACCEL | DrmDriverFeature.GEM,
    });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      expect(await app.ioctl(fd, T(0x00), {})).toMatchObject({ v: 1 });
      expect(await app.ioctl(fd, T(0x01), {})).toMatchObject({ v: 1 });
      await expect(app.ioctl(fd, DRM_IOCTL_GEM_FLINK, { handle: 1 })).rejects.toMatchObject({
        code: "EACCES",
      });
      await expect(app.ioctl(fd, DRM_IOCTL_SET_MASTER, {})).rejects.toMatchObject({ code: "EACCES" });
      // The dispatcher is reachable directly too (tools, other packages). Like `unlocked_ioctl`, it
      // returns as soon as a handler that does not sleep has: a refusal throws, a success is no promise.
      const file = [...dev.files][0]!;
      expect(() => drmCoreIoctl(file, T(0x30), {}, app)).toThrow(
        /^EINVAL: ioctl number 0x70 is not an ioctl/,
      );
      const arg = {};
      expect(drmCoreIoctl(file, T(0x00), arg, app)).toBeUndefined();
      expect(arg).toMatchObject({ v: 1 });
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
