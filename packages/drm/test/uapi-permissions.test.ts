/**
 * uAPI permissions from userspace's side (`drm_ioctl_permit`, `drivers/gpu/drm/drm_ioctl.c`;
 * `drm_auth.c`): two processes on the primary, render and accel nodes, every ioctl of the table.
 *
 * vgem is imported by relative path: it is a test fixture here, not a dependency of the DRM core
 * (the package graph points from drivers to drm, never back).
 */
import { Process, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { vgemProbe } from "../../../drivers/vgem/src/index.js";
import {
  coreIoctls,
  DRM_AUTH,
  DRM_IOCTL_DROP_MASTER,
  DRM_IOCTL_GEM_FLINK,
  DRM_IOCTL_GEM_OPEN,
  DRM_IOCTL_SET_MASTER,
  DRM_IOCTL_SYNCOBJ_CREATE,
  DRM_MASTER,
  DRM_RENDER_ALLOW,
  DRM_ROOT_ONLY,
  DrmDriverFeature,
  type DrmHooks,
  DrmPluginHost,
  drmAuthMagic,
  drmGetMagic,
  drmModeCreateDumbBuffer,
  drmPrimeFDToHandle,
  drmPrimeHandleToFD,
  drmProcessSetRoot,
  drmSetMaster,
} from "../src/index.js";
import { code } from "./errno-of.js";
import { T, tIoctl } from "./test-ioctl.js";

/** A tiny COMPUTE_ACCEL driver: one render-allowed ioctl, one without the flag. */
class TestAccel {
  apply(hooks: DrmHooks) {
    hooks.driver.ioctls.tap("testaccel", (r) => {
      r.add(tIoctl("TESTACCEL_SUBMIT", 0x00, DRM_RENDER_ALLOW));
      r.add(tIoctl("TESTACCEL_ADMIN", 0x01, 0));
    });
  }
}

const ACCEL_INFO = {
  name: "testaccel",
  features:
    DrmDriverFeature.COMPUTE_ACCEL |
    DrmDriverFeature.GEM |
    DrmDriverFeature.SYNCOBJ |
    DrmDriverFeature.SYNCOBJ_TIMELINE,
};

describe("uAPI permissions (drm_ioctl_permit)", () => {
  it("render node: every core ioctl without DRM_RENDER_ALLOW is EACCES; every render-allowed one passes the check", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev = vgemProbe(host);
    const app = new Process(sim, "app");
    const refused: string[] = [];
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      for (const def of coreIoctls()) {
        const c = await code(app.ioctl(fd, def.cmd, {}));
        if ((def.flags & DRM_RENDER_ALLOW) === 0) {
          expect(c, def.name).toBe("EACCES");
          refused.push(def.name);
        } else expect(c, def.name).not.toBe("EACCES");
      }
      for (const def of dev.driverIoctls())
        expect(await code(app.ioctl(fd, def.cmd, {})), def.name).not.toBe("EACCES");
    });
    // The ones userspace cares about: flink names and everything master/auth.
    expect(refused).toEqual(
      expect.arrayContaining([
        "DRM_IOCTL_GEM_FLINK",
        "DRM_IOCTL_GEM_OPEN",
        "DRM_IOCTL_GET_MAGIC",
        "DRM_IOCTL_AUTH_MAGIC",
        "DRM_IOCTL_SET_MASTER",
        "DRM_IOCTL_DROP_MASTER",
        "DRM_IOCTL_MODE_CREATE_DUMB",
      ]),
    );
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("render node: a render client never becomes master and needs no authentication for PRIME", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev = vgemProbe(host);
    const a = new Process(sim, "a");
    await sim.exec("a", async () => {
      const card = await a.open("/dev/dri/card0");
      const r = await a.open("/dev/dri/renderD128");
      const bo = await drmModeCreateDumbBuffer(a, card, 16, 16, 32);
      const buf = await drmPrimeHandleToFD(a, card, bo.handle);
      const h = await drmPrimeFDToHandle(a, r, buf);
      expect(h).toBeGreaterThan(0);
      const rfile = [...dev.files].find((f) => f.isRenderClient)!;
      expect(rfile.isMaster).toBe(false);
      expect(await code(a.ioctl(r, DRM_IOCTL_GEM_FLINK, { handle: h }))).toBe("EACCES");
      // The refused call named nothing: the device has no flink names.
      expect(dev.names.count).toBe(0);
    });
    a.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("accel node (7.1): accel clients are not render clients — no DRM_RENDER_ALLOW needed; DRM_AUTH only for a root opener; DRM_MASTER and DRM_ROOT_ONLY refused", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev = host.probe(TestAccel, ACCEL_INFO);
    expect(dev.minors.map((m) => m.path)).toEqual(["/dev/accel/accel0"]);
    const app = new Process(sim, "app");
    // drm_master_check_perm refuses a non-root caller that never was master inside the handler.
    const handlerRefuses = new Set(["DRM_IOCTL_SET_MASTER", "DRM_IOCTL_DROP_MASTER"]);
    const refused = DRM_AUTH | DRM_MASTER | DRM_ROOT_ONLY;
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      let withoutRenderAllow = 0;
      for (const def of [...coreIoctls(), ...dev.driverIoctls()]) {
        const c = await code(app.ioctl(fd, def.cmd, {}));
        if ((def.flags & refused) !== 0 || handlerRefuses.has(def.name)) expect(c, def.name).toBe("EACCES");
        else expect(c, def.name).not.toBe("EACCES");
        if ((def.flags & (refused | DRM_RENDER_ALLOW)) === 0 && !handlerRefuses.has(def.name))
          withoutRenderAllow++;
      }
      // The sweep reached ioctls that a render node refuses (TESTACCEL_ADMIN among them).
      expect(withoutRenderAllow).toBeGreaterThan(1);
      expect(await app.ioctl(fd, T(0x01), {})).toMatchObject({ v: 1 });
      expect(await app.ioctl(fd, T(0x00), {})).toMatchObject({ v: 1 });
      // A syncobj works on an accel node with the feature (the sweep above already created handle 1).
      const s = await app.ioctl<{ handle: number }>(fd, DRM_IOCTL_SYNCOBJ_CREATE, { flags: 0 });
      expect(s.handle).toBe(2);
    });
    // A CAP_SYS_ADMIN opener is authenticated (drm_file_alloc): DRM_AUTH ioctls pass the check.
    const root = new Process(sim, "root");
    drmProcessSetRoot(root);
    await sim.exec("root", async () => {
      const fd = await root.open("/dev/accel/accel0");
      expect(await code(root.ioctl(fd, DRM_IOCTL_GEM_FLINK, { handle: 1 }))).toBe("ENOENT");
      expect(await code(root.ioctl(fd, DRM_IOCTL_GEM_OPEN, { name: 1 }))).toBe("ENOENT");
    });
    expect(dev.master).toBeNull();
    app.exit();
    root.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("an accel device gets no card or render node", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev = host.probe(TestAccel, ACCEL_INFO);
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      expect(await code(app.open("/dev/dri/card0"))).toBe("ENOENT");
      expect(await code(app.open("/dev/dri/renderD128"))).toBe("ENOENT");
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("primary node: an unauthenticated client gets EACCES on DRM_AUTH ioctls until the master authenticates it", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev = vgemProbe(host);
    const compositor = new Process(sim, "compositor");
    const client = new Process(sim, "client");
    await sim.exec("t", async () => {
      const m = await compositor.open("/dev/dri/card0");
      const c = await client.open("/dev/dri/card0");
      const bo = await drmModeCreateDumbBuffer(client, c, 8, 8, 32);
      const { name } = await compositor.ioctl<{ name: number }>(m, DRM_IOCTL_GEM_FLINK, {
        handle: (await drmModeCreateDumbBuffer(compositor, m, 8, 8, 32)).handle,
      });
      // Every DRM_AUTH ioctl is refused before its handler runs (even with valid arguments).
      for (const def of coreIoctls().filter((d) => (d.flags & DRM_AUTH) !== 0)) {
        // Valid arguments for the ioctl's own struct: the members among { handle, name } it has.
        const fields = def.layout.type === "struct" ? def.layout.fields : {};
        const arg = Object.fromEntries(
          Object.entries({ handle: bo.handle, name }).filter(([k]) => k in fields),
        );
        expect(await code(client.ioctl(c, def.cmd, arg)), def.name).toBe("EACCES");
      }
      // Not master: DRM_MASTER ioctls are refused too, even with a valid magic.
      const magic = await drmGetMagic(client, c);
      expect(await code(drmAuthMagic(client, c, magic))).toBe("EACCES");
      // PRIME needs no authentication (the kernel dropped DRM_AUTH from it).
      const buf = await drmPrimeHandleToFD(client, c, bo.handle);
      expect(buf).toBeGreaterThanOrEqual(0);
      client.close(buf);
      // The master authenticates the magic: now flink and open work.
      await drmAuthMagic(compositor, m, magic);
      const flinked = await client.ioctl<{ name: number }>(c, DRM_IOCTL_GEM_FLINK, { handle: bo.handle });
      expect(flinked.name).toBe(name + 1);
      const opened = await client.ioctl<{ handle: number; size: number }>(c, DRM_IOCTL_GEM_OPEN, { name });
      expect(opened.size).toBe(4096); // 8x8x32bpp rounded up to a page
      // A magic authenticates once.
      expect(await code(drmAuthMagic(compositor, m, magic))).toBe("EINVAL");
    });
    compositor.exit();
    client.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("primary node: a root opener starts authenticated; DRM_ROOT_ONLY and DRM_MASTER are checked in the kernel's order", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev = vgemProbe(host);
    const master = new Process(sim, "master");
    const root = new Process(sim, "root");
    drmProcessSetRoot(root);
    dev.addIoctl(tIoctl("T_ROOT", 0x10, DRM_ROOT_ONLY));
    dev.addIoctl(tIoctl("T_MASTER", 0x11, DRM_MASTER));
    await sim.exec("t", async () => {
      const m = await master.open("/dev/dri/card0");
      const r = await root.open("/dev/dri/card0");
      const bo = await drmModeCreateDumbBuffer(root, r, 4, 4, 32);
      // Root is authenticated without the master's help.
      expect(await code(root.ioctl(r, DRM_IOCTL_GEM_FLINK, { handle: bo.handle }))).toBe("ok");
      expect(await code(master.ioctl(m, T(0x10), {}))).toBe("EACCES");
      expect(await code(root.ioctl(r, T(0x10), {}))).toBe("ok");
      expect(await code(root.ioctl(r, T(0x11), {}))).toBe("EACCES");
      expect(await code(master.ioctl(m, T(0x11), {}))).toBe("ok");
      // Root may take mastership once the master drops it.
      expect(await code(root.ioctl(r, DRM_IOCTL_SET_MASTER, {}))).toBe("EBUSY");
      await master.ioctl(m, DRM_IOCTL_DROP_MASTER, {});
      expect(await code(root.ioctl(r, DRM_IOCTL_SET_MASTER, {}))).toBe("ok");
      expect(await code(root.ioctl(r, T(0x11), {}))).toBe("ok");
      expect(await code(master.ioctl(m, T(0x11), {}))).toBe("EACCES");
    });
    master.exit();
    root.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

/**
 * Privileges belong to the caller (`drm_master_check_perm`, `drm_ioctl_permit`'s `capable()`,
 * `drm_file_update_pid` in `drm_ioctl_kernel`; `drivers/gpu/drm/drm_auth.c`, `drm_ioctl.c`, 7.1):
 * fds passed over SCM_RIGHTS carry no privilege of the process that opened them.
 */
describe("uAPI privileges of the caller, not of the file (drm_master_check_perm)", () => {
  function world() {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev = vgemProbe(host);
    dev.addIoctl(tIoctl("T_ROOT", 0x50, DRM_ROOT_ONLY));
    dev.addIoctl(tIoctl("T_MASTER", 0x51, DRM_MASTER));
    const done = (...procs: Process[]) => {
      for (const p of procs) p.exit();
      host.remove(dev);
      expect(sim.teardown().findings).toEqual([]);
    };
    return { sim, dev, done };
  }

  it("a master fd passed to an unprivileged process: SET_MASTER and DROP_MASTER are EACCES there; the opener keeps both", async () => {
    const { sim, dev, done } = world();
    const compositor = new Process(sim, "compositor");
    const thief = new Process(sim, "thief");
    await sim.exec("t", async () => {
      const m = await compositor.open("/dev/dri/card0");
      const file = dev.master!;
      const stolen = compositor.sendFd(thief, m);
      // The fd still is the master's: DRM_MASTER ioctls work through it (that is what logind relies on) …
      expect(await code(thief.ioctl(stolen, T(0x51), {}))).toBe("ok");
      // … but drm_master_check_perm asks about the *caller*: not root, and not the file's owner.
      expect(await code(thief.ioctl(stolen, DRM_IOCTL_DROP_MASTER, {}))).toBe("EACCES");
      expect(await code(thief.ioctl(stolen, DRM_IOCTL_SET_MASTER, {}))).toBe("EACCES");
      expect(dev.master).toBe(file);
      // A master file keeps its opener as owner however often another process uses it.
      expect(file.owner).toBe(compositor);
      await compositor.ioctl(m, DRM_IOCTL_DROP_MASTER, {});
      expect(dev.master).toBeNull();
      expect(await code(thief.ioctl(stolen, DRM_IOCTL_SET_MASTER, {}))).toBe("EACCES");
      expect(dev.master).toBeNull();
      await drmSetMaster(compositor, m);
      expect(dev.master).toBe(file);
    });
    done(compositor, thief);
  });

  it("a root receiver may SET_MASTER/DROP_MASTER through a passed fd; an unprivileged opener of a root fd may not", async () => {
    const { sim, dev, done } = world();
    const user = new Process(sim, "user");
    const logind = new Process(sim, "logind");
    drmProcessSetRoot(logind);
    await sim.exec("t", async () => {
      const u = await user.open("/dev/dri/card0");
      const viaRoot = user.sendFd(logind, u);
      expect(await code(logind.ioctl(viaRoot, DRM_IOCTL_DROP_MASTER, {}))).toBe("ok");
      expect(await code(logind.ioctl(viaRoot, DRM_IOCTL_SET_MASTER, {}))).toBe("ok");
      // logind opens an fd (root) and hands it to the user: the user is still not root.
      const l = await logind.open("/dev/dri/card0");
      const handed = logind.sendFd(user, l);
      expect(await code(user.ioctl(handed, DRM_IOCTL_SET_MASTER, {}))).toBe("EACCES");
      expect(dev.master?.proc).toBe(user); // the first file is still the master
    });
    done(user, logind);
  });

  it("DRM_ROOT_ONLY is the caller's CAP_SYS_ADMIN: a root-opened fd passed to a user is refused, a user fd used by root passes", async () => {
    const { sim, done } = world();
    const user = new Process(sim, "user");
    const root = new Process(sim, "root");
    drmProcessSetRoot(root);
    await sim.exec("t", async () => {
      const r = await root.open("/dev/dri/card0");
      const u = await user.open("/dev/dri/card0");
      const rootFdInUser = root.sendFd(user, r);
      const userFdInRoot = user.sendFd(root, u);
      expect(await code(root.ioctl(r, T(0x50), {}))).toBe("ok");
      expect(await code(user.ioctl(rootFdInUser, T(0x50), {}))).toBe("EACCES");
      expect(await code(user.ioctl(u, T(0x50), {}))).toBe("EACCES");
      expect(await code(root.ioctl(userFdInRoot, T(0x50), {}))).toBe("ok");
    });
    done(user, root);
  });

  it("drm_file_update_pid: a never-master fd belongs to its last user, so the opener loses the was-master right once root made it master", async () => {
    const { sim, dev, done } = world();
    const first = new Process(sim, "first");
    const opener = new Process(sim, "opener");
    const root = new Process(sim, "root");
    drmProcessSetRoot(root);
    await sim.exec("t", async () => {
      const f1 = await first.open("/dev/dri/card0"); // master
      const o = await opener.open("/dev/dri/card0");
      const file = [...dev.files].find((f) => f.proc === opener)!;
      expect(file.owner).toBe(opener);
      const inRoot = opener.sendFd(root, o);
      expect(await code(root.ioctl(inRoot, T(0x50), {}))).toBe("ok");
      expect(file.owner).toBe(root); // moved by the ioctl: the file was never master
      await first.ioctl(f1, DRM_IOCTL_DROP_MASTER, {});
      expect(await code(root.ioctl(inRoot, DRM_IOCTL_SET_MASTER, {}))).toBe("ok");
      expect(dev.master).toBe(file);
      // Now the file was master, with root as its owner: the opener is not its owner.
      expect(await code(opener.ioctl(o, DRM_IOCTL_DROP_MASTER, {}))).toBe("EACCES");
      expect(file.owner).toBe(root); // a master file's owner no longer follows the fd
      expect(await code(root.ioctl(inRoot, DRM_IOCTL_DROP_MASTER, {}))).toBe("ok");
    });
    done(first, opener, root);
  });

  it("a magic belongs to the master it was handed out under: after a master change AUTH_MAGIC cannot find it (drm_authmagic)", async () => {
    const { sim, dev, done } = world();
    const a = new Process(sim, "a");
    const b = new Process(sim, "b");
    const c = new Process(sim, "c");
    const d = new Process(sim, "d");
    drmProcessSetRoot(b);
    await sim.exec("t", async () => {
      const fa = await a.open("/dev/dri/card0"); // master A
      const fb = await b.open("/dev/dri/card0"); // root, in A's group
      const fc = await c.open("/dev/dri/card0"); // in A's group
      const cFile = [...dev.files].find((f) => f.proc === c)!;
      const magicC = await drmGetMagic(c, fc);
      expect(magicC).toBe(1);
      await a.ioctl(fa, DRM_IOCTL_DROP_MASTER, {});
      await drmSetMaster(b, fb); // root: B gets a master of its own
      // C's magic lives in A's map; B's AUTH_MAGIC looks in B's and finds nothing.
      expect(await code(drmAuthMagic(b, fb, magicC))).toBe("EINVAL");
      expect(cFile.authenticated).toBe(false);
      expect(await drmGetMagic(c, fc)).toBe(magicC); // C keeps the magic it has
      // A client opened under B gets its magic from B's map: numbers start at 1 there too.
      const fd = await d.open("/dev/dri/card0");
      const dFile = [...dev.files].find((f) => f.proc === d)!;
      expect(await drmGetMagic(d, fd)).toBe(1);
      await drmAuthMagic(b, fb, 1);
      expect(dFile.authenticated).toBe(true);
      expect(cFile.authenticated).toBe(false);
      // Back to A: its map still holds C's magic.
      await b.ioctl(fb, DRM_IOCTL_DROP_MASTER, {});
      await drmSetMaster(a, fa);
      await drmAuthMagic(a, fa, magicC);
      expect(cFile.authenticated).toBe(true);
    });
    done(a, b, c, d);
  });
});
