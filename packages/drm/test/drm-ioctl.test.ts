import { __u32, iowr, Process, Simulator, uapiStruct } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_COMMAND_BASE,
  DRM_COMMAND_END,
  DRM_IO,
  DRM_IOCTL_DROP_MASTER,
  DRM_IOCTL_GET_CAP,
  DRM_IOCTL_GET_MAGIC,
  DRM_IOCTL_SET_MASTER,
  DRM_IOWR,
  DRM_PRIME_CAP_EXPORT,
  DRM_PRIME_CAP_IMPORT,
  DRM_RENDER_ALLOW,
  DrmCap,
  DrmDriverFeature,
  type DrmHooks,
  DrmPluginHost,
  drm_gem_open,
  drmAuthMagic,
  drmGetCap,
  drmGetMagic,
  drmIoctlDef,
  drmIoctlDefDrv,
  drmModeSizeDumb,
  drmNoArg,
  drmProcessSetRoot,
} from "../src/index.js";

const PLAIN_PRIMARY_ONLY = DRM_IO(DRM_COMMAND_BASE + 0x01);
const PLAIN_RENDER = DRM_IO(DRM_COMMAND_BASE + 0x02);

class Plain {
  apply(hooks: DrmHooks) {
    hooks.driver.ioctls.tap("plain", (r) => {
      r.add(drmIoctlDefDrv("PLAIN_PRIMARY_ONLY", PLAIN_PRIMARY_ONLY, drmNoArg, () => {}, 0));
      r.add(drmIoctlDefDrv("PLAIN_RENDER", PLAIN_RENDER, drmNoArg, () => {}, DRM_RENDER_ALLOW));
    });
  }
}

function setup(features = DrmDriverFeature.GEM | DrmDriverFeature.RENDER | DrmDriverFeature.SYNCOBJ) {
  const sim = new Simulator();
  const host = new DrmPluginHost(sim);
  const dev = host.probe(Plain, { name: "plain", features });
  return { sim, host, dev };
}

describe("drm_ioctl dispatch and permissions", () => {
  it("drm_ioctl: a non-DRM request is ENOTTY, an unknown number EINVAL; a render node refuses ioctls without DRM_RENDER_ALLOW with EACCES", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const r = await app.open("/dev/dri/renderD128");
      // DRM_IOCTL_TYPE(cmd) != DRM_IOCTL_BASE
      await expect(app.ioctl(r, iowr("b", 0x00, 8), {})).rejects.toMatchObject({ code: "ENOTTY" });
      // No ioctl at driver number 0x5f, nor at core number 0x3f.
      await expect(app.ioctl(r, DRM_IO(DRM_COMMAND_BASE + 0x1f), {})).rejects.toMatchObject({
        code: "EINVAL",
      });
      await expect(app.ioctl(r, DRM_IO(0x3f), {})).rejects.toMatchObject({ code: "EINVAL" });
      await expect(app.ioctl(r, PLAIN_PRIMARY_ONLY, {})).rejects.toMatchObject({ code: "EACCES" });
      await expect(app.ioctl(r, DRM_IOCTL_GET_MAGIC, {})).rejects.toMatchObject({ code: "EACCES" });
      await app.ioctl(r, PLAIN_RENDER, {});
      const c = await app.open("/dev/dri/card0");
      await app.ioctl(c, PLAIN_PRIMARY_ONLY, {});
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("primary node: the first opener is master; others need AUTH_MAGIC from the master for DRM_AUTH ioctls", async () => {
    const { sim, host, dev } = setup();
    const compositor = new Process(sim, "compositor");
    const client = new Process(sim, "client");
    await sim.exec("main", async () => {
      const m = await compositor.open("/dev/dri/card0");
      const c = await client.open("/dev/dri/card0");
      expect(dev.master?.proc).toBe(compositor);
      // AUTH_MAGIC is DRM_AUTH|DRM_MASTER: the unauthenticated non-master client is refused.
      await expect(drmAuthMagic(client, c, 1)).rejects.toMatchObject({ code: "EACCES" });
      const magic = await drmGetMagic(client, c);
      expect(magic).toBeGreaterThan(0);
      await expect(drmAuthMagic(compositor, m, magic + 100)).rejects.toMatchObject({ code: "EINVAL" });
      const clientFile = [...dev.files].find((f) => f.proc === client)!;
      expect(clientFile.authenticated).toBe(false);
      await drmAuthMagic(compositor, m, magic);
      expect(clientFile.authenticated).toBe(true);
      // drm_setmaster_ioctl / drm_dropmaster_ioctl run drm_master_check_perm first: a non-root client
      // that was never master gets EACCES from both (not EINVAL for "not master").
      await expect(client.ioctl(c, DRM_IOCTL_SET_MASTER, {})).rejects.toMatchObject({ code: "EACCES" });
      await expect(client.ioctl(c, DRM_IOCTL_DROP_MASTER, {})).rejects.toMatchObject({ code: "EACCES" });
      await compositor.ioctl(m, DRM_IOCTL_DROP_MASTER, {});
      expect(dev.master).toBe(null);
      drmProcessSetRoot(client);
      await client.ioctl(c, DRM_IOCTL_SET_MASTER, {});
      await expect(compositor.ioctl(m, DRM_IOCTL_SET_MASTER, {})).rejects.toMatchObject({ code: "EBUSY" });
    });
    compositor.exit();
    client.exit();
    expect(dev.master).toBe(null);
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("GET_CAP: PRIME and SYNCOBJ per features; other caps EOPNOTSUPP without MODESET, unknown EINVAL with it", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      expect(await drmGetCap(app, fd, DrmCap.PRIME)).toBe(DRM_PRIME_CAP_IMPORT | DRM_PRIME_CAP_EXPORT);
      expect(await drmGetCap(app, fd, DrmCap.SYNCOBJ)).toBe(1);
      expect(await drmGetCap(app, fd, DrmCap.SYNCOBJ_TIMELINE)).toBe(0);
      const arg = { capability: DrmCap.DUMB_BUFFER, value: 7 };
      await expect(app.ioctl(fd, DRM_IOCTL_GET_CAP, arg)).rejects.toMatchObject({ code: "EOPNOTSUPP" });
      // drm_getcap zeroes value before it refuses, and drm_ioctl copies the struct back even on failure.
      expect(arg.value).toBe(0);
      // __u64 capability: a value no C program could store there is EINVAL before anything runs.
      await expect(app.ioctl(fd, DRM_IOCTL_GET_CAP, { capability: -1 })).rejects.toMatchObject({
        code: "EINVAL",
      });
    });
    app.exit();
    host.remove(dev);
    const kms = setup(DrmDriverFeature.GEM | DrmDriverFeature.MODESET);
    const app2 = new Process(kms.sim, "app2");
    await kms.sim.exec("app2", async () => {
      const fd = await app2.open("/dev/dri/card0");
      expect(await drmGetCap(app2, fd, DrmCap.DUMB_BUFFER)).toBe(0);
      await expect(drmGetCap(app2, fd, 0x7777)).rejects.toMatchObject({ code: "EINVAL" });
    });
    app2.exit();
    kms.host.remove(kms.dev);
    expect(kms.sim.teardown().findings).toEqual([]);
  });

  it("driver ioctls must be in the driver range and unique", () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    class Bad {
      apply(hooks: DrmHooks) {
        hooks.driver.ioctls.tap("bad", (r) =>
          r.add(drmIoctlDef("DRM_IOCTL_BAD", DRM_IO(0x10), drmNoArg, () => {}, 0)),
        );
      }
    }
    expect(() => host.probe(Bad, { name: "bad", features: DrmDriverFeature.GEM })).toThrow(
      /outside the driver range/,
    );
    class Dup {
      apply(hooks: DrmHooks) {
        hooks.driver.ioctls.tap("dup", (r) => {
          r.add(drmIoctlDefDrv("A", DRM_IO(0x40), drmNoArg, () => {}, 0));
          r.add(drmIoctlDefDrv("B", DRM_IO(0x40), drmNoArg, () => {}, 0));
        });
      }
    }
    expect(() => host.probe(Dup, { name: "dup", features: DrmDriverFeature.GEM })).toThrow(/defined twice/);
    expect(host.devices).toEqual([]);
  });

  it("DRM_IOCTL_DEF_DRV takes the driver's request number, checks it against the layout and the driver range", async () => {
    const t_inc = uapiStruct("t_inc", { x: __u32 }, { size: 4 });
    const T_INC = DRM_IOWR(DRM_COMMAND_BASE + 0x04, t_inc);
    const handler = (_f: unknown, a: { x: number }) => {
      a.x++;
    };
    const def = drmIoctlDefDrv("T_INC", T_INC, t_inc, handler, DRM_RENDER_ALLOW);
    expect(def).toMatchObject({
      name: "T_INC",
      cmd: T_INC,
      nr: DRM_COMMAND_BASE + 0x04,
      flags: DRM_RENDER_ALLOW,
    });
    // Outside the driver range.
    expect(() => drmIoctlDefDrv("T_BAD", DRM_IOWR(0x04, t_inc), t_inc, handler, 0)).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    expect(() => drmIoctlDefDrv("T_BAD", DRM_IOWR(DRM_COMMAND_END, t_inc), t_inc, handler, 0)).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    // The size the request encodes must be the layout's.
    expect(() =>
      drmIoctlDefDrv("T_BAD", DRM_IOWR(DRM_COMMAND_BASE, drm_gem_open), t_inc, handler, 0),
    ).toThrow(/encodes 16 bytes/);
    // The entry works through the whole path: a render client calls it by name.
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    class Inc {
      apply(hooks: DrmHooks) {
        hooks.driver.ioctls.tap("inc", (r) => r.add(def));
      }
    }
    host.probe(Inc, { name: "inc", features: DrmDriverFeature.GEM | DrmDriverFeature.RENDER });
    const app = new Process(sim, "app");
    const out = await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      return app.ioctl(fd, T_INC, { x: 41 });
    });
    expect(out).toEqual({ x: 42 });
  });

  it("drm_mode_size_dumb: pitch rounded to the hardware alignment, size to a page (or more); bad alignments EINVAL", () => {
    const args = (width: number, height: number, bpp: number) => ({
      width,
      height,
      bpp,
      flags: 0,
      handle: 0,
      pitch: 0,
      size: 0n,
    });
    const a = args(100, 10, 24);
    drmModeSizeDumb(a);
    expect(a).toMatchObject({ pitch: 300, size: 4096n });
    const b = args(100, 10, 24);
    drmModeSizeDumb(b, 64, 8192);
    expect(b).toMatchObject({ pitch: 320, size: 8192n });
    const c = args(3, 1, 1); // 1 bpp: three pixels fit one byte
    drmModeSizeDumb(c, 8);
    expect(c).toMatchObject({ pitch: 8, size: 4096n });
    for (const [pa, sa] of [
      [3, 0],
      [8, 100],
      [-8, 0],
    ] as const) {
      const d = args(16, 16, 32);
      expect(() => drmModeSizeDumb(d, pa, sa)).toThrow(expect.objectContaining({ code: "EINVAL" }));
      expect(d).toEqual(args(16, 16, 32));
    }
    expect(() => drmModeSizeDumb(args(0, 16, 32))).toThrow(expect.objectContaining({ code: "EINVAL" }));
  });
});
