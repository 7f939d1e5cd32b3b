import { Mutex, Process, Simulator } from "@drmsim/runtime";
import { inject } from "tsyringe";
import { describe, expect, it } from "vitest";
import {
  DRM_AUTH,
  DRM_DEVICE,
  DRM_IOCTL_VERSION,
  DRM_RENDER_ALLOW,
  type DrmDevice,
  DrmDriverFeature,
  type DrmFile,
  type DrmHooks,
  DrmPluginHost,
  drmGetVersion,
  drmToken,
  SIMULATOR,
  traceDrmDriverOp,
} from "../src/index.js";
import { T, tIoctl } from "./test-ioctl.js";

const GPU = DrmDriverFeature.GEM | DrmDriverFeature.RENDER;

class Counter {
  opens = 0;
}
const COUNTER = drmToken<Counter>("COUNTER");

class GoodDriver {
  constructor(
    @inject(SIMULATOR) readonly sim: Simulator,
    @inject(DRM_DEVICE) readonly dev: DrmDevice,
    @inject(COUNTER) readonly counter: Counter,
  ) {}
  apply(hooks: DrmHooks) {
    hooks.driver.open.tap("good", (file: DrmFile) => {
      this.counter.opens++;
      file.driverPriv = { frames: this.sim.current.backtrace() };
    });
    hooks.driver.postclose.tap("good", (file: DrmFile) => {
      file.driverPriv = undefined;
    });
    hooks.driver.ioctls.tap("good", (r) => {
      r.add(
        tIoctl("GOOD_PING", 0x00, DRM_AUTH | DRM_RENDER_ALLOW, (_f, a) => {
          a.v = 42;
        }),
      );
    });
  }
}

class VramManager {}
class BrokenDriver {
  constructor(
    @inject(SIMULATOR) readonly sim: Simulator,
    readonly vram: VramManager,
  ) {}
  apply() {}
}

describe("plugin host", () => {
  it("probes a driver: DI from the device container, nodes registered, ops run with a frame named after them and are traced", async () => {
    const sim = new Simulator({ trace: true });
    const host = new DrmPluginHost(sim);
    const counter = new Counter();
    const dev = host.probe(GoodDriver, {
      name: "good",
      features: GPU,
      providers: [{ provide: COUNTER, useValue: counter }],
    });
    expect(dev.minors.map((m) => m.path)).toEqual(["/dev/dri/card0", "/dev/dri/renderD128"]);
    const drv = host.driverOf<GoodDriver>(dev);
    expect(drv.dev).toBe(dev);
    expect(host.containerOf(dev).resolve(COUNTER)).toBe(counter);
    const app = new Process(sim, "app");
    const fd = await sim.exec("app", () => app.open("/dev/dri/renderD128"));
    expect(counter.opens).toBe(1);
    const file = [...dev.files][0]!;
    expect((file.driverPriv as { frames: string[] }).frames[0]).toBe("good: drm_driver.open");
    expect(sim.tracer.eventsOf(traceDrmDriverOp).map((e) => (e.args as { op: string }).op)).toEqual([
      "drm_driver.ioctls",
      "drm_driver.open",
    ]);
    const out = await sim.exec("app", () => app.ioctl(fd, T(0x00), {}));
    expect(out).toMatchObject({ v: 42 });
    expect(Object.isFrozen(dev.hooks) && Object.isFrozen(dev.hooks.driver)).toBe(true);
    app.exit();
    expect(dev.files.size).toBe(0);
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("refuses a driver whose constructor parameter has no @inject, saying what to write", () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    let err: unknown;
    try {
      host.probe(BrokenDriver, { name: "broken", features: GPU });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: "EINVAL" });
    expect(String((err as Error).message)).toMatch(
      /constructor parameter #2 .* of BrokenDriver has no @inject\(token\): write @inject\(/,
    );
    expect(host.devices).toEqual([]);
    // The failed probe left no node behind.
    const ok = host.probe(GoodDriver, {
      name: "good",
      features: GPU,
      providers: [{ provide: COUNTER, useValue: new Counter() }],
    });
    expect(ok.primary?.path).toBe("/dev/dri/card0");
    host.remove(ok);
  });

  it("fails the probe naming a missing mandatory op (open without postclose)", () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    class Leaky {
      apply(hooks: DrmHooks) {
        hooks.driver.open.tap("leaky", () => {});
      }
    }
    expect(() => host.probe(Leaky, { name: "leaky", features: GPU })).toThrow(
      /mandatory op drm_driver\.postclose/,
    );
    expect(host.devices).toEqual([]);
  });

  it("COMPUTE_ACCEL gets only /dev/accel/accelN, and is exclusive with RENDER/MODESET", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    class Npu {
      apply() {}
    }
    expect(() =>
      host.probe(Npu, { name: "npu", features: DrmDriverFeature.COMPUTE_ACCEL | DrmDriverFeature.RENDER }),
    ).toThrow(expect.objectContaining({ code: "EINVAL" }));
    const dev = host.probe(Npu, {
      name: "npu",
      features: DrmDriverFeature.COMPUTE_ACCEL | DrmDriverFeature.GEM,
    });
    expect(dev.minors.map((m) => m.path)).toEqual(["/dev/accel/accel0"]);
    const app = new Process(sim, "app");
    const v = await sim.exec("app", async () => drmGetVersion(app, await app.open("/dev/accel/accel0")));
    expect(v.name).toBe("npu");
    await expect(sim.exec("app", () => app.open("/dev/dri/card0"))).rejects.toMatchObject({ code: "ENOENT" });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("reports a driver op that returns holding a lock", async () => {
    const sim = new Simulator({ validator: "collect" });
    const host = new DrmPluginHost(sim);
    const m = new Mutex(sim, "sloppy_lock");
    class Sloppy {
      apply(hooks: DrmHooks) {
        hooks.driver.open.tap("sloppy", () => {
          m.trylock();
        });
        hooks.driver.postclose.tap("sloppy", () => {});
      }
    }
    host.probe(Sloppy, { name: "sloppy", features: GPU });
    const app = new Process(sim, "app");
    await sim.exec("app", () => app.open("/dev/dri/renderD128"));
    const f = sim.validator.findingsOf("drm-op-lock-imbalance");
    expect(f.length).toBe(1);
    expect(f[0]!.backtrace[0]).toBe("sloppy: drm_driver.open");
  });

  it("remove() releases open files (postclose runs), later ioctls get ENODEV, and the nodes vanish", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const closed: string[] = [];
    class D {
      apply(hooks: DrmHooks) {
        hooks.driver.open.tap("d", () => {});
        hooks.driver.postclose.tap("d", (f) => closed.push(f.minor.path));
      }
    }
    const dev = host.probe(D, { name: "d", features: GPU });
    const app = new Process(sim, "app");
    const fd = await sim.exec("app", () => app.open("/dev/dri/card0"));
    host.remove(dev);
    expect(closed).toEqual(["/dev/dri/card0"]);
    await expect(sim.exec("app", () => app.ioctl(fd, DRM_IOCTL_VERSION, {}))).rejects.toMatchObject({
      code: "ENODEV",
    });
    await expect(sim.exec("app", () => app.open("/dev/dri/card0"))).rejects.toMatchObject({ code: "ENOENT" });
    app.exit();
    expect(closed).toEqual(["/dev/dri/card0"]);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("DRM_IOCTL_VERSION", () => {
  it("a bad date or desc buffer is EFAULT before anything is copied: the name buffer stays as it was", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    class D {
      apply(_hooks: DrmHooks) {}
    }
    const dev = host.probe(D, { name: "drv", features: GPU });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/card0");
      const name = [7, 7, 7];
      const bad = { name_len: 3, name, date_len: 1, date: 2, desc_len: 0 };
      await expect(app.ioctl(fd, DRM_IOCTL_VERSION, bad)).rejects.toMatchObject({ code: "EFAULT" });
      expect(name).toEqual([7, 7, 7]);
      const ok = { name_len: 3, name, date_len: 0, desc_len: 0 };
      await app.ioctl(fd, DRM_IOCTL_VERSION, ok);
      expect(String.fromCharCode(...name)).toBe("drv");
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
