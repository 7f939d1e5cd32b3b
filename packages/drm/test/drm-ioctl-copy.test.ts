/**
 * `drm_ioctl`'s copy rules: the argument goes back to userspace whatever the handler returned;
 * a request's size and direction decide what is copied (older userspace's shorter struct is
 * zero-extended, a newer one's tail ignored), in the directions both the request and the
 * declaration have.
 */
import {
  __u32,
  __u64,
  IocDir,
  ioc,
  KernelError,
  Process,
  Simulator,
  UapiRegionMemory,
  UapiUserArg,
  uapiStruct,
  uapiUserArgOf,
} from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_COMMAND_BASE,
  DRM_IOCTL_BASE,
  DRM_IOWR,
  DRM_RENDER_ALLOW,
  DrmDriverFeature,
  type DrmHooks,
  DrmPluginHost,
  drmIoctlDefDrv,
} from "../src/index.js";
import { code } from "./errno-of.js";

/** A wait ioctl that reports its status through the struct even when it fails (like HL_WAIT_CS). */
const t_wait = uapiStruct("t_wait", { handle: __u32, status: __u32, seq: __u64, extra: __u64 }, { size: 24 });
const NR = DRM_COMMAND_BASE + 0x02;
const T_WAIT = DRM_IOWR(NR, t_wait);
/** The same wait, but its handler sleeps (virtual time passes) before it answers. */
const T_WAIT_SLEEPING = DRM_IOWR(NR + 1, t_wait);
/** What the handler saw last, so tests can tell what was copied in. */
let seen: { handle: number; status: number; seq: bigint; extra: bigint } | undefined;

class Waiter {
  apply(hooks: DrmHooks) {
    hooks.driver.ioctls.tap("waiter", (r) => {
      r.add(
        drmIoctlDefDrv(
          "T_WAIT",
          T_WAIT,
          t_wait,
          (_file, a) => {
            seen = { ...a };
            a.seq += 1n;
            if (a.handle === 0) {
              a.status = 0xbad;
              throw new KernelError("ETIMEDOUT", "the wait timed out; status says why");
            }
            a.status = 1;
          },
          DRM_RENDER_ALLOW,
        ),
      );
      r.add(
        drmIoctlDefDrv(
          "T_WAIT_SLEEPING",
          T_WAIT_SLEEPING,
          t_wait,
          async (file, a) => {
            const sim = file.device.sim;
            await new Promise<void>((wake) => sim.schedule(1000, wake));
            a.seq += 1n;
            a.status = a.handle === 0 ? 0xbad : 1;
            if (a.handle === 0) throw new KernelError("ETIMEDOUT", "the wait timed out; status says why");
          },
          DRM_RENDER_ALLOW,
        ),
      );
    });
  }
}

function setup() {
  const sim = new Simulator();
  const host = new DrmPluginHost(sim);
  const dev = host.probe(Waiter, {
    name: "waiter",
    features: DrmDriverFeature.GEM | DrmDriverFeature.RENDER,
  });
  const app = new Process(sim, "app");
  const done = () => {
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  };
  return { sim, app, done };
}

/** A request for the same ioctl with another direction or size, as other userspace compiled it. */
const req = (dir: IocDir, size: number) => ioc(dir, DRM_IOCTL_BASE, NR, size);

/** A little-endian argument block: handle, status, seq, extra, then `tail` more bytes. */
function block(handle: number, status: number, seq: bigint, extra: bigint, size = 24): Uint8Array {
  const b = new Uint8Array(size).fill(0xee);
  const v = new DataView(b.buffer);
  const put = (off: number, f: () => void) => {
    if (off < size) f();
  };
  put(0, () => v.setUint32(0, handle, true));
  put(4, () => v.setUint32(4, status, true));
  put(8, () => v.setBigUint64(8, seq, true));
  put(16, () => v.setBigUint64(16, extra, true));
  return b;
}

const u32At = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint32(off, true);
const u64At = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getBigUint64(off, true);

describe("drm_ioctl copies the argument back even when the handler fails", () => {
  it("an object argument: the status the handler wrote before failing reaches the caller", async () => {
    const { sim, app, done } = setup();
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const arg = { handle: 0, status: 0, seq: 5 };
      expect(await code(app.ioctl(fd, T_WAIT, arg))).toBe("ETIMEDOUT");
      expect(arg).toMatchObject({ status: 0xbad, seq: 6 });
      const ok = { handle: 3, status: 0, seq: 5 };
      await app.ioctl(fd, T_WAIT, ok);
      expect(ok).toMatchObject({ status: 1, seq: 6 });
    });
    done();
  });

  it("a handler that sleeps: the status it wrote before failing reaches the caller once it wakes", async () => {
    const { sim, app, done } = setup();
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const arg = { handle: 0, status: 0, seq: 5 };
      const t0 = sim.now;
      expect(await code(app.ioctl(fd, T_WAIT_SLEEPING, arg))).toBe("ETIMEDOUT");
      expect(sim.now - t0).toBe(1000);
      expect(arg).toMatchObject({ status: 0xbad, seq: 6 });
      const ok = { handle: 3, status: 0, seq: 5 };
      await app.ioctl(fd, T_WAIT_SLEEPING, ok);
      expect(ok).toMatchObject({ status: 1, seq: 6 });
    });
    done();
  });

  it("bytes: the failed call's struct is copied back; a call that fails copying in copies nothing back", async () => {
    const { sim, app, done } = setup();
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const b = block(0, 0, 41n, 0n);
      expect(await code(app.ioctl(fd, T_WAIT, uapiUserArgOf(b)))).toBe("ETIMEDOUT");
      expect(u32At(b, 4)).toBe(0xbad);
      expect(u64At(b, 8)).toBe(42n);
      // copy_from_user faults: EFAULT, the handler never ran, nothing is written.
      const mem = new UapiRegionMemory(block(0, 0, 1n, 0n));
      seen = undefined;
      expect(await code(app.ioctl(fd, T_WAIT, new UapiUserArg(mem.base + 8n, mem)))).toBe("EFAULT");
      expect(seen).toBeUndefined();
      expect(u64At(mem.bytes, 8)).toBe(1n);
    });
    done();
  });

  it("bytes: a copy back that faults turns the result into EFAULT, success or not", async () => {
    const { sim, app, done } = setup();
    class ReadOnly extends UapiRegionMemory {
      override write(): void {
        throw new KernelError("EFAULT", "read-only page");
      }
    }
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      for (const handle of [0, 3]) {
        const mem = new ReadOnly(block(handle, 0, 1n, 0n));
        expect(await code(app.ioctl(fd, T_WAIT, new UapiUserArg(mem.base, mem)))).toBe("EFAULT");
        expect(seen?.handle).toBe(handle);
        expect(u64At(mem.bytes, 8)).toBe(1n);
      }
    });
    done();
  });
});

describe("drm_ioctl sizes and directions", () => {
  it("a shorter struct from older userspace is zero-extended, and only its own bytes are copied back", async () => {
    const { sim, app, done } = setup();
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      // Userspace built when the struct had 16 bytes: `extra` did not exist yet.
      const mem = new UapiRegionMemory(block(3, 0, 9n, 0xdeadn, 32));
      await app.ioctl(fd, req(IocDir.READ_WRITE, 16), new UapiUserArg(mem.base, mem));
      expect(seen).toEqual({ handle: 3, status: 0, seq: 9n, extra: 0n });
      expect(u32At(mem.bytes, 4)).toBe(1);
      expect(u64At(mem.bytes, 8)).toBe(10n);
      // Bytes 16.. belong to the caller, not to its 16-byte struct: untouched.
      expect(u64At(mem.bytes, 16)).toBe(0xdeadn);
    });
    done();
  });

  it("a longer struct from newer userspace: the handler sees the declared struct, the tail goes back as it came", async () => {
    const { sim, app, done } = setup();
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const b = block(3, 0, 9n, 7n, 32);
      b.fill(0xab, 24);
      await app.ioctl(fd, req(IocDir.READ_WRITE, 32), uapiUserArgOf(b));
      expect(seen).toEqual({ handle: 3, status: 0, seq: 9n, extra: 7n });
      expect(u64At(b, 8)).toBe(10n);
      expect([...b.subarray(24)]).toEqual(new Array(8).fill(0xab));
    });
    done();
  });

  it("the copy directions are those the request and the declaration share", async () => {
    const { sim, app, done } = setup();
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      // _IOW against an _IOWR declaration: copied in, never back.
      const w = block(3, 0, 9n, 0n);
      await app.ioctl(fd, req(IocDir.WRITE, 24), uapiUserArgOf(w));
      expect(seen?.seq).toBe(9n);
      expect(u64At(w, 8)).toBe(9n);
      expect(u32At(w, 4)).toBe(0);
      // _IOR: nothing copied in (the handler starts from zeros, so handle 0 fails), the result copied out.
      const r = block(3, 0, 9n, 0n);
      expect(await code(app.ioctl(fd, req(IocDir.READ, 24), uapiUserArgOf(r)))).toBe("ETIMEDOUT");
      expect(seen).toEqual({ handle: 0, status: 0, seq: 0n, extra: 0n });
      expect(u32At(r, 4)).toBe(0xbad);
      expect(u64At(r, 8)).toBe(1n);
      // _IO: neither; the handler gets a zeroed struct and the caller's memory is never touched.
      const n = block(3, 0, 9n, 0n);
      expect(await code(app.ioctl(fd, req(IocDir.NONE, 0), uapiUserArgOf(n)))).toBe("ETIMEDOUT");
      expect([...n]).toEqual([...block(3, 0, 9n, 0n)]);
    });
    done();
  });
});
