/**
 * The behaviours IGT's `tests/syncobj_basic.c` checks, from userspace's side: handles, create/destroy
 * argument checks, syncobj fds shared between processes, and the DrmSyncobj core (replace, reset,
 * references).
 */
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { KernelError, Process, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_SYNCOBJ_CREATE_SIGNALED,
  DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
  DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE,
  DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE,
  DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE,
  DrmSyncobj,
  SYNCOBJ_FILE_KIND,
} from "../src/syncobj/index.js";
import { syncobjOpen } from "./syncobj-harness.js";

const ops = { getDriverName: () => "test", getTimelineName: () => "ring" };
const fenceOn = (sim: Simulator) => new DmaFence(sim, ops, dmaFenceContextAlloc(sim), 1);

/** A process with an fd of the syncobj test device. */
async function open(sim: Simulator, name = "app") {
  return syncobjOpen(new Process(sim, name));
}

const errno = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    if (e instanceof KernelError) return e.code;
    throw e;
  }
  return "ok";
};

describe("syncobj_basic", () => {
  it("handles start at 1, are per file, and the lowest free one is reused", async () => {
    const sim = new Simulator();
    const a = await open(sim, "a");
    const b = await open(sim, "b");
    const h1 = (await a.ioctl("CREATE", { flags: 0 })).handle;
    const h2 = (await a.ioctl("CREATE", { flags: 0 })).handle;
    expect([h1, h2]).toEqual([1, 2]);
    expect((await b.ioctl("CREATE", {})).handle).toBe(1);
    await a.ioctl("DESTROY", { handle: 1 });
    expect((await a.ioctl("CREATE", {})).handle).toBe(1);
    a.proc.exit();
    b.proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("syncobj ids (used in reports) are numbered per simulator: a second run numbers them alike", () => {
    const ids = () => {
      const sim = new Simulator();
      const objs = [new DrmSyncobj(sim), new DrmSyncobj(sim)];
      const out = objs.map((o) => o.describe());
      for (const o of objs) o.put();
      expect(sim.teardown().findings).toEqual([]);
      return out;
    };
    const first = ids();
    expect(first).toEqual(["drm_syncobj #1", "drm_syncobj #2"]);
    expect(ids()).toEqual(first);
  });

  it("bad-create-flags: flags other than SIGNALED are EINVAL, and nothing is created", async () => {
    const sim = new Simulator();
    const a = await open(sim);
    const args = { flags: 0xff, handle: 77 };
    expect(await errno(a.ioctl("CREATE", args))).toBe("EINVAL");
    expect(args.handle).toBe(77);
    expect(a.table.size).toBe(0);
    a.proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("bad-destroy: an unknown handle is EINVAL (not ENOENT); a nonzero pad is EINVAL", async () => {
    const sim = new Simulator();
    const a = await open(sim);
    expect(await errno(a.ioctl("DESTROY", { handle: 0xdeadbeef }))).toBe("EINVAL");
    const { handle } = await a.ioctl("CREATE", {});
    expect(await errno(a.ioctl("DESTROY", { handle, pad: 1 }))).toBe("EINVAL");
    expect(a.table.list()).toEqual([handle]);
    await a.ioctl("DESTROY", { handle });
    expect(await errno(a.ioctl("DESTROY", { handle }))).toBe("EINVAL");
    a.proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("create-signaled installs a signalled fence; a plain create has none", async () => {
    const sim = new Simulator();
    const a = await open(sim);
    const { handle: sig } = await a.ioctl("CREATE", { flags: DRM_SYNCOBJ_CREATE_SIGNALED });
    const { handle: plain } = await a.ioctl("CREATE", {});
    const s = a.table.find(sig!)!;
    expect(s.currentFence?.signaled).toBe(true);
    s.put();
    const p = a.table.find(plain!)!;
    expect(p.currentFence).toBeNull();
    p.put();
    a.proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("bad-pad/flags on HANDLE_TO_FD and FD_TO_HANDLE are EINVAL", async () => {
    const sim = new Simulator();
    const a = await open(sim);
    const { handle } = await a.ioctl("CREATE", {});
    expect(await errno(a.ioctl("HANDLE_TO_FD", { handle, pad: 1 }))).toBe("EINVAL");
    expect(await errno(a.ioctl("HANDLE_TO_FD", { handle, flags: 1 << 5 }))).toBe("EINVAL");
    expect(await errno(a.ioctl("HANDLE_TO_FD", { handle: 99 }))).toBe("EINVAL");
    expect(await errno(a.ioctl("FD_TO_HANDLE", { fd: 0, pad: 1 }))).toBe("EINVAL");
    expect(await errno(a.ioctl("FD_TO_HANDLE", { fd: 0, flags: 1 << 5 }))).toBe("EINVAL");
    a.proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });

  // drm_syncobj_handle_to_fd_ioctl / drm_syncobj_fd_to_handle_ioctl (7.1, upstream 2e3649e23723):
  // `point` is read only under the TIMELINE flag, so stack garbage in it is harmless without the flag.
  it("the fd ioctls read point only with TIMELINE: garbage without the flag is ignored, a TIMELINE point on a plain fd is EINVAL", async () => {
    const sim = new Simulator();
    const a = await open(sim);
    const { handle } = await a.ioctl("CREATE", {});
    // Dirty point, no flag: a plain syncobj fd, then a plain import — both ignore the field.
    const fd = (await a.ioctl("HANDLE_TO_FD", { handle, point: 0x0101010101 })).fd!;
    expect(a.proc.file(fd).fops.kind).toBe(SYNCOBJ_FILE_KIND);
    const imported = (await a.ioctl("FD_TO_HANDLE", { fd, point: 77 })).handle;
    expect(imported).toBe(2);
    // Without the flag the field is not even read: any bit pattern (stack garbage) is ignored.
    const again = (await a.ioctl("FD_TO_HANDLE", { fd, point: 0xdead_beef_0000_0000n })).handle;
    expect(again).toBe(3);
    // TIMELINE without the sync_file flag: the point is read, and a syncobj fd has no point.
    const before = a.proc.files.list().length;
    expect(
      await errno(
        a.ioctl("HANDLE_TO_FD", { handle, flags: DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE, point: 3 }),
      ),
    ).toBe("EINVAL");
    expect(
      await errno(a.ioctl("FD_TO_HANDLE", { fd, flags: DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE, point: 3 })),
    ).toBe("EINVAL");
    // Nothing was created by the refused calls.
    expect(a.proc.files.list().length).toBe(before);
    expect(a.table.size).toBe(3);
    // TIMELINE with point 0 is a plain export/import.
    const fd2 = (await a.ioctl("HANDLE_TO_FD", { handle, flags: DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE }))
      .fd!;
    expect(
      (await a.ioctl("FD_TO_HANDLE", { fd: fd2, flags: DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE })).handle,
    ).toBe(4);
    a.proc.close(fd);
    a.proc.close(fd2);
    a.proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("illegal-fd-to-handle: a closed fd or a non-syncobj fd is EINVAL", async () => {
    const sim = new Simulator();
    const a = await open(sim);
    expect(await errno(a.ioctl("FD_TO_HANDLE", { fd: 999 }))).toBe("EINVAL");
    // The DRM fd itself is not a syncobj fd.
    expect(await errno(a.ioctl("FD_TO_HANDLE", { fd: a.fd }))).toBe("EINVAL");
    expect(a.table.size).toBe(0);
    a.proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("test-valid-cycle: export, import in another process, every import is a new handle, same syncobj", async () => {
    const sim = new Simulator();
    const a = await open(sim, "producer");
    const b = await open(sim, "consumer");
    const { handle } = await a.ioctl("CREATE", {});
    const { fd } = await a.ioctl("HANDLE_TO_FD", { handle });
    expect(a.proc.file(fd!).fops.kind).toBe(SYNCOBJ_FILE_KIND);
    const bfd = a.proc.sendFd(b.proc, fd!);
    a.proc.close(fd!);
    const h1 = (await b.ioctl("FD_TO_HANDLE", { fd: bfd })).handle!;
    const h2 = (await b.ioctl("FD_TO_HANDLE", { fd: bfd })).handle!;
    expect(h1).not.toBe(h2);
    const s1 = b.table.find(h1)!;
    const s2 = b.table.find(h2)!;
    const sa = a.table.find(handle!)!;
    expect(s1).toBe(s2);
    expect(s1).toBe(sa);
    // Signalling through the producer's handle is seen through the consumer's.
    await a.ioctl("SIGNAL", { handles: [handle], count_handles: 1 });
    expect(s1.currentFence?.signaled).toBe(true);
    for (const s of [s1, s2, sa]) s.put();
    // The syncobj lives until the last handle and fd are gone.
    a.proc.exit();
    expect(sim.liveRefs.has(s1)).toBe(true);
    await b.ioctl("DESTROY", { handle: h1 });
    b.proc.close(bfd);
    expect(sim.liveRefs.has(s1)).toBe(true);
    b.proc.exit();
    expect(sim.liveRefs.has(s1)).toBe(false);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("IMPORT_SYNC_FILE: an fd that is not a sync_file is EINVAL; EXPORT_SYNC_FILE of a missing fence is EINVAL", async () => {
    const sim = new Simulator();
    const a = await open(sim);
    const { handle } = await a.ioctl("CREATE", {});
    expect(
      await errno(
        a.ioctl("FD_TO_HANDLE", { fd: a.fd, handle, flags: DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE }),
      ),
    ).toBe("EINVAL");
    expect(
      await errno(
        a.ioctl("HANDLE_TO_FD", { handle, flags: DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE }),
      ),
    ).toBe("EINVAL");
    expect(
      await errno(
        a.ioctl("HANDLE_TO_FD", { handle: 42, flags: DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE }),
      ),
    ).toBe("ENOENT");
    a.proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("RESET and SIGNAL: pad, count 0 and unknown handles are refused before anything changes", async () => {
    const sim = new Simulator();
    const a = await open(sim);
    const { handle } = await a.ioctl("CREATE", { flags: DRM_SYNCOBJ_CREATE_SIGNALED });
    for (const cmd of ["RESET", "SIGNAL"] as const) {
      expect(await errno(a.ioctl(cmd, { handles: [handle], count_handles: 1, pad: 1 }))).toBe("EINVAL");
      expect(await errno(a.ioctl(cmd, { handles: [], count_handles: 0 }))).toBe("EINVAL");
      expect(await errno(a.ioctl(cmd, { handles: [handle, 9], count_handles: 2 }))).toBe("ENOENT");
      expect(await errno(a.ioctl(cmd, { handles: [handle], count_handles: 2 }))).toBe("EFAULT");
    }
    const s = a.table.find(handle!)!;
    expect(s.currentFence?.signaled).toBe(true);
    await a.ioctl("RESET", { handles: [handle], count_handles: 1 });
    expect(s.currentFence).toBeNull();
    await a.ioctl("SIGNAL", { handles: [handle], count_handles: 1 });
    expect(s.currentFence?.signaled).toBe(true);
    s.put();
    a.proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("DrmSyncobj core", () => {
  it("replaceFence takes a reference and drops the old fence; release drops the last", () => {
    const sim = new Simulator();
    const s = new DrmSyncobj(sim);
    const f1 = fenceOn(sim);
    const f2 = fenceOn(sim);
    s.replaceFence(f1);
    expect(f1.refcount).toBe(2);
    s.replaceFence(f2);
    expect(f1.refcount).toBe(1);
    expect(s.currentFence).toBe(f2);
    s.replaceFence(null);
    expect(f2.refcount).toBe(1);
    s.replaceFence(f2);
    s.put();
    expect(f2.refcount).toBe(1);
    f1.signal();
    f2.signal();
    f1.put();
    f2.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a syncobj left referenced is reported as a leak at teardown", () => {
    const sim = new Simulator({ validator: "collect" });
    const s = new DrmSyncobj(sim, DRM_SYNCOBJ_CREATE_SIGNALED);
    const leaks = sim.teardown().findings.filter((f) => f.kind === "leak");
    expect(leaks).toHaveLength(1);
    expect(leaks[0]!.details?.join("\n")).toContain(s.describe());
  });

  it("findFence: point 0 of a binary syncobj is its fence; a missing fence is EINVAL; bad flags EINVAL", async () => {
    const sim = new Simulator();
    const s = new DrmSyncobj(sim);
    await expect(s.findFence(0n, 0)).rejects.toMatchObject({ code: "EINVAL" });
    const f = fenceOn(sim);
    s.replaceFence(f);
    const got = await s.findFence(0n, 0);
    expect(got).toBe(f);
    got.put();
    await expect(s.findFence(0n, 1 << 4)).rejects.toMatchObject({ code: "EINVAL" });
    f.signal();
    f.put();
    s.put();
    expect(sim.teardown().findings).toEqual([]);
  });
});
