import { DrmGemObject } from "@drmsim/gem";
import { Process, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
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
} from "../src/index.js";

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
      args.size = obj.size;
      return true;
    });
  }
}

describe("GEM hooks and helper plugins", () => {
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
    expect(drv.freed).toEqual(["own-bo@own.free"]);
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
        app.ioctl(fd, "DRM_IOCTL_PRIME_HANDLE_TO_FD", { handle: 1, flags: 0 }),
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

  it("accel nodes: render-allowed ioctls work, others are EACCES, FLINK is refused", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    class Npu {
      apply(hooks: DrmHooks) {
        hooks.driver.ioctls.tap("npu", (r) => {
          r.add({
            name: "DRM_IOCTL_NPU_SUBMIT",
            nr: 0x40,
            flags: DRM_RENDER_ALLOW,
            handler: () => ({ ok: 1 }),
          });
          r.add({ name: "DRM_IOCTL_NPU_ADMIN", nr: 0x41, flags: 0, handler: () => {} });
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
      expect(await app.ioctl(fd, "DRM_IOCTL_NPU_SUBMIT", {})).toMatchObject({ ok: 1 });
      await expect(app.ioctl(fd, "DRM_IOCTL_NPU_ADMIN", {})).rejects.toMatchObject({ code: "EACCES" });
      await expect(app.ioctl(fd, "DRM_IOCTL_GEM_FLINK", { handle: 1 })).rejects.toMatchObject({
        code: "EACCES",
      });
      await expect(app.ioctl(fd, "DRM_IOCTL_SET_MASTER", {})).rejects.toMatchObject({ code: "EACCES" });
      // The dispatcher is reachable directly too (tools, other packages).
      const file = [...dev.files][0]!;
      await expect(drmCoreIoctl(file, "DRM_IOCTL_NOPE", {}, app)).rejects.toMatchObject({ code: "EINVAL" });
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
