/**
 * The behaviours IGT's `tests/syncobj_timeline.c` and `tests/syncobj_eventfd.c` check, from
 * userspace's side: timeline signal/query/wait, WAIT_AVAILABLE, transfer between points, sync_file
 * import at a point, and eventfd notification.
 */
import {
  DmaFence,
  DmaFenceChain,
  dmaFenceContextAlloc,
  syncFileGetFence,
  syncFileInstall,
} from "@drmsim/dma-fence";
import { EPOLLIN, KernelError, msecs, Process, Simulator, secs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { DrmDriverFeature } from "../src/index.js";
import {
  DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
  DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE,
  DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE,
  DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE,
  DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
  DrmSyncobj,
  eventfd,
  eventfdRead,
} from "../src/syncobj/index.js";
import { SYNCOBJ_FEATURES, type SYNCOBJ_IOCTL, syncobjDevice, syncobjOpen } from "./syncobj-harness.js";

const ops = { getDriverName: () => "test", getTimelineName: () => "ring" };

async function setup(features = SYNCOBJ_FEATURES) {
  const sim = new Simulator();
  const { proc, table, ioctl: raw } = await syncobjOpen(new Process(sim, "app"), features);
  const ioctl = (cmd: keyof typeof SYNCOBJ_IOCTL, arg: object) =>
    raw<Record<string, number> & { points?: (number | bigint)[] }>(cmd, arg);
  const create = async () => (await ioctl("CREATE", {})).handle!;
  const fence = () => new DmaFence(sim, ops, dmaFenceContextAlloc(sim), 1);
  /** A driver's submit to a timeline point: the job's fence becomes point `point`. */
  const submitPoint = (handle: number, point: number | bigint) => {
    const f = fence();
    table.signalPoint(handle, f, BigInt(point));
    return f;
  };
  const query = async (handles: number[], flags = 0) =>
    (await ioctl("QUERY", { handles, count_handles: handles.length, points: handles.map(() => 0), flags }))
      .points!;
  const code = async (p: Promise<unknown>) => {
    try {
      await p;
      return "ok";
    } catch (e) {
      if (e instanceof KernelError) return e.code;
      throw e;
    }
  };
  const inTask = async <T>(fn: () => Promise<T>): Promise<T | string> => {
    const t = proc.run(fn);
    await sim.run();
    try {
      return await t.result;
    } catch (e) {
      if (e instanceof KernelError) return e.code;
      throw e;
    }
  };
  const done = () => {
    proc.exit();
    const { host, dev } = syncobjDevice(proc);
    host.remove(dev);
    return sim.teardown().findings;
  };
  return { sim, proc, table, ioctl, create, fence, submitPoint, query, code, inTask, done };
}

describe("syncobj_timeline: signal and query", () => {
  it("TIMELINE_SIGNAL: flags ≠ 0 and count 0 are EINVAL, unknown handles ENOENT, nothing changed", async () => {
    const t = await setup();
    const h = await t.create();
    expect(
      await t.code(t.ioctl("TIMELINE_SIGNAL", { handles: [h], points: [1], count_handles: 1, flags: 1 })),
    ).toBe("EINVAL");
    expect(await t.code(t.ioctl("TIMELINE_SIGNAL", { handles: [], points: [], count_handles: 0 }))).toBe(
      "EINVAL",
    );
    expect(
      await t.code(t.ioctl("TIMELINE_SIGNAL", { handles: [h, 5], points: [1, 1], count_handles: 2 })),
    ).toBe("ENOENT");
    expect(await t.query([h])).toEqual([0]);
    expect(t.done()).toEqual([]);
  });

  it("TIMELINE_SIGNAL reads an absent (null) point as 0 and a bad one as EINVAL before allocating anything", async () => {
    const t = await setup();
    const [a, b] = [await t.create(), await t.create()];
    const used = t.sim.mm.used;
    // A bad point anywhere refuses the whole call: no link added, no memory kept (found by the fuzzer:
    // the links used to be allocated before a null element reached the point check, and leaked).
    expect(
      await t.code(t.ioctl("TIMELINE_SIGNAL", { handles: [a, b], points: [2, -1], count_handles: 2 })),
    ).toBe("EINVAL");
    expect(t.sim.mm.used).toBe(used);
    expect(await t.query([a, b])).toEqual([0, 0]);
    await t.ioctl("TIMELINE_SIGNAL", { handles: [a, b], points: [null, 4], count_handles: 2 });
    expect(await t.query([a, b])).toEqual([0, 4]);
    const s = t.table.find(a)!;
    expect(s.currentFence).toBeInstanceOf(DmaFenceChain);
    s.put();
    expect(t.done()).toEqual([]);
  });

  it("host-signalled points are chain links; QUERY reports the last one", async () => {
    const t = await setup();
    const [a, b] = [await t.create(), await t.create()];
    await t.ioctl("TIMELINE_SIGNAL", { handles: [a, b], points: [1, 10], count_handles: 2 });
    await t.ioctl("TIMELINE_SIGNAL", { handles: [a], points: [3], count_handles: 1 });
    const s = t.table.find(a)!;
    expect(s.currentFence).toBeInstanceOf(DmaFenceChain);
    s.put();
    expect(await t.query([a, b])).toEqual([3, 10]);
    expect(t.done()).toEqual([]);
  });

  it("QUERY: the last signalled point, not the last submitted, unless LAST_SUBMITTED", async () => {
    const t = await setup();
    const h = await t.create();
    const f1 = t.submitPoint(h, 1);
    const f2 = t.submitPoint(h, 2);
    const f3 = t.submitPoint(h, 3);
    expect(await t.query([h])).toEqual([0]);
    expect(await t.query([h], DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED)).toEqual([3]);
    f1.signal();
    expect(await t.query([h])).toEqual([1]);
    // Point 3's job finished first, but point 3 is reached only when point 2 is.
    f3.signal();
    expect(await t.query([h])).toEqual([1]);
    f2.signal();
    expect(await t.query([h])).toEqual([3]);
    for (const f of [f1, f2, f3]) f.put();
    expect(t.done()).toEqual([]);
  });

  it("QUERY argument checks: unknown flags and count 0 are EINVAL, unknown handle ENOENT; a binary fence reads 0", async () => {
    const t = await setup();
    const h = await t.create();
    expect(await t.code(t.ioctl("QUERY", { handles: [h], points: [0], count_handles: 1, flags: 2 }))).toBe(
      "EINVAL",
    );
    expect(await t.code(t.ioctl("QUERY", { handles: [], points: [], count_handles: 0 }))).toBe("EINVAL");
    expect(await t.code(t.ioctl("QUERY", { handles: [9], points: [0], count_handles: 1 }))).toBe("ENOENT");
    const f = t.fence();
    t.table.signalPoint(h, f, 0n);
    f.signal();
    expect(await t.query([h])).toEqual([0]);
    f.put();
    expect(t.done()).toEqual([]);
  });

  it("an out-of-order point starts a new chain context: QUERY no longer sees past it", async () => {
    const t = await setup();
    const h = await t.create();
    const f5 = t.submitPoint(h, 5);
    const f3 = t.submitPoint(h, 3);
    expect(await t.query([h], DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED)).toEqual([5]);
    expect(await t.query([h])).toEqual([0]);
    f5.signal();
    f3.signal();
    expect(await t.query([h])).toEqual([5]);
    f5.put();
    f3.put();
    expect(t.done()).toEqual([]);
  });

  it("a point whose links were all signalled and collected is found as the stub fence", async () => {
    const t = await setup();
    const h = await t.create();
    const f1 = t.submitPoint(h, 1);
    f1.signal();
    const f2 = t.submitPoint(h, 2);
    const got = await t.table.findFence(h, 1n);
    expect(got.signaled).toBe(true);
    expect(got.context).toBe(0);
    got.put();
    f2.signal();
    f1.put();
    f2.put();
    expect(t.done()).toEqual([]);
  });

  it("without DRIVER_SYNCOBJ_TIMELINE the timeline ioctls are EOPNOTSUPP", async () => {
    const t = await setup(DrmDriverFeature.GEM | DrmDriverFeature.RENDER | DrmDriverFeature.SYNCOBJ);
    const h = await t.create();
    expect(await t.code(t.ioctl("TIMELINE_SIGNAL", { handles: [h], points: [1], count_handles: 1 }))).toBe(
      "EOPNOTSUPP",
    );
    expect(await t.code(t.ioctl("QUERY", { handles: [h], points: [0], count_handles: 1 }))).toBe(
      "EOPNOTSUPP",
    );
    expect(t.done()).toEqual([]);
  });
});

describe("syncobj_timeline: waiting on points", () => {
  it("a point not yet submitted is EINVAL without FOR_SUBMIT or AVAILABLE", async () => {
    const t = await setup();
    const h = await t.create();
    const f1 = t.submitPoint(h, 1);
    const r = await t.inTask(() =>
      t.ioctl("TIMELINE_WAIT", { handles: [h], points: [2], count_handles: 1, timeout_nsec: secs(1) }),
    );
    expect(r).toBe("EINVAL");
    f1.signal();
    f1.put();
    expect(t.done()).toEqual([]);
  });

  it("waiting on point 2 wakes when points 1 and 2 have both signalled", async () => {
    const t = await setup();
    const h = await t.create();
    const f1 = t.submitPoint(h, 1);
    const f2 = t.submitPoint(h, 2);
    t.sim.schedule(msecs(3), () => f2.signal());
    t.sim.schedule(msecs(6), () => f1.signal());
    let at = -1;
    const r = await t.inTask(async () => {
      const out = await t.ioctl("TIMELINE_WAIT", {
        handles: [h],
        points: [2],
        count_handles: 1,
        timeout_nsec: secs(1),
      });
      at = t.sim.now;
      return out;
    });
    expect(r).toMatchObject({ first_signaled: 0 });
    expect(at).toBe(msecs(6));
    f1.put();
    f2.put();
    expect(t.done()).toEqual([]);
  });

  it("WAIT_AVAILABLE: an existing point counts as done before it signals; a missing one is waited for", async () => {
    const t = await setup();
    const h = await t.create();
    const f1 = t.submitPoint(h, 1);
    const r1 = await t.inTask(() =>
      t.ioctl("TIMELINE_WAIT", {
        handles: [h],
        points: [1],
        count_handles: 1,
        timeout_nsec: 0,
        flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE,
      }),
    );
    expect(r1).toMatchObject({ first_signaled: 0 });
    // A missing point that nobody submits times out.
    const r2 = await t.inTask(() =>
      t.ioctl("TIMELINE_WAIT", {
        handles: [h],
        points: [4],
        count_handles: 1,
        timeout_nsec: msecs(1),
        flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE,
      }),
    );
    expect(r2).toBe("ETIME");
    const start = t.sim.now;
    let f4: DmaFence | null = null;
    // The submit runs as a driver ioctl would: in process context (it allocates the chain link).
    t.sim.schedule(msecs(2), () =>
      t.proc.run(async () => {
        f4 = t.submitPoint(h, 4);
      }),
    );
    let at = -1;
    await t.inTask(async () => {
      await t.ioctl("TIMELINE_WAIT", {
        handles: [h],
        points: [4],
        count_handles: 1,
        timeout_nsec: start + secs(1),
        flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE | DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
      });
      at = t.sim.now;
    });
    expect(at).toBe(start + msecs(2));
    expect(f4).not.toBeNull();
    f1.signal();
    (f4 as DmaFence | null)?.signal();
    f1.put();
    (f4 as DmaFence | null)?.put();
    expect(t.done()).toEqual([]);
  });

  it("WAIT_AVAILABLE alone also watches for a point submitted during the wait (drm_syncobj_fence_add_wait)", async () => {
    const t = await setup();
    const h = await t.create();
    const start = t.sim.now;
    let f3: DmaFence | null = null;
    t.sim.schedule(msecs(2), () =>
      t.proc.run(async () => {
        f3 = t.submitPoint(h, 3);
      }),
    );
    let at = -1;
    const r = await t.inTask(async () => {
      const out = await t.ioctl("TIMELINE_WAIT", {
        handles: [h],
        points: [3],
        count_handles: 1,
        timeout_nsec: start + secs(1),
        flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE,
      });
      at = t.sim.now;
      return out;
    });
    // Woken when the point appears (not signalled yet: AVAILABLE is enough), not at the timeout.
    expect(r).toMatchObject({ first_signaled: 0 });
    expect(at).toBe(start + msecs(2));
    expect(f3).not.toBeNull();
    expect((f3 as DmaFence | null)?.signaled).toBe(false);
    const s = t.table.lookup(h);
    expect(s.pendingWaiters).toBe(0);
    s.put();
    (f3 as DmaFence | null)?.signal();
    (f3 as DmaFence | null)?.put();
    expect(t.done()).toEqual([]);
  });

  it("WAIT_FOR_SUBMIT | WAIT_ALL across two timelines: host signals from another thread end the wait", async () => {
    const t = await setup();
    const [a, b] = [await t.create(), await t.create()];
    t.sim.schedule(msecs(1), () =>
      t.proc.run(() => t.ioctl("TIMELINE_SIGNAL", { handles: [a], points: [7], count_handles: 1 })),
    );
    t.sim.schedule(msecs(4), () =>
      t.proc.run(() => t.ioctl("TIMELINE_SIGNAL", { handles: [b], points: [2], count_handles: 1 })),
    );
    let at = -1;
    await t.inTask(async () => {
      await t.ioctl("TIMELINE_WAIT", {
        handles: [a, b],
        points: [7, 2],
        count_handles: 2,
        timeout_nsec: secs(1),
        flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL | DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
      });
      at = t.sim.now;
    });
    expect(at).toBe(msecs(4));
    expect(t.done()).toEqual([]);
  });
});

describe("syncobj_timeline: transfer and import", () => {
  it("TRANSFER argument checks: pad EINVAL, unknown dst/src ENOENT, bad flags EINVAL, missing point EINVAL", async () => {
    const t = await setup();
    const [a, b] = [await t.create(), await t.create()];
    const tr = async (args: object) => {
      const r = await t.inTask(() => t.ioctl("TRANSFER", args));
      return typeof r === "string" ? r : "ok";
    };
    expect(await tr({ src_handle: a, dst_handle: b, pad: 1 })).toBe("EINVAL");
    expect(await tr({ src_handle: a, dst_handle: 99 })).toBe("ENOENT");
    expect(await tr({ src_handle: 99, dst_handle: b })).toBe("ENOENT");
    const f1 = t.submitPoint(a, 1);
    f1.signal();
    expect(await tr({ src_handle: a, dst_handle: b, src_point: 1, flags: 1 << 3 })).toBe("EINVAL");
    expect(await tr({ src_handle: a, dst_handle: b, src_point: 2 })).toBe("EINVAL");
    expect(await t.query([b])).toEqual([0]);
    f1.put();
    expect(t.done()).toEqual([]);
  });

  it("binary → timeline point: the fence becomes point dst_point; timeline point → binary replaces the fence", async () => {
    const t = await setup();
    const [bin, tl, bin2] = [await t.create(), await t.create(), await t.create()];
    const f = t.fence();
    t.table.signalPoint(bin, f);
    await t.inTask(() =>
      t.ioctl("TRANSFER", { src_handle: bin, dst_handle: tl, src_point: 0, dst_point: 5 }),
    );
    expect(await t.query([tl], DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED)).toEqual([5]);
    expect(await t.query([tl])).toEqual([0]);
    await t.inTask(() =>
      t.ioctl("TRANSFER", { src_handle: tl, dst_handle: bin2, src_point: 5, dst_point: 0 }),
    );
    const s = t.table.find(bin2)!;
    // The link for point 5 (its fence not signalled yet).
    expect(s.currentFence).toBeInstanceOf(DmaFenceChain);
    expect(s.currentFence?.seqno).toBe(5);
    f.signal();
    expect(s.currentFence?.isSignaled()).toBe(true);
    expect(await t.query([tl])).toEqual([5]);
    s.put();
    f.put();
    expect(t.done()).toEqual([]);
  });

  it("IMPORT_SYNC_FILE with TIMELINE adds the sync_file's fence as a point; bad handle ENOENT", async () => {
    const t = await setup();
    const h = await t.create();
    const f = t.fence();
    const sfd = syncFileInstall(t.proc, f);
    const flags = DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE | DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE;
    expect(await t.code(t.ioctl("FD_TO_HANDLE", { fd: sfd, handle: 42, flags, point: 3 }))).toBe("ENOENT");
    await t.ioctl("FD_TO_HANDLE", { fd: sfd, handle: h, flags, point: 3 });
    expect(await t.query([h], DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED)).toEqual([3]);
    f.signal();
    expect(await t.query([h])).toEqual([3]);
    f.put();
    expect(t.done()).toEqual([]);
  });
});

describe("syncobj_timeline: sync_file export", () => {
  it("EXPORT_SYNC_FILE with TIMELINE exports the link for the point; later changes do not affect it", async () => {
    const t = await setup();
    const [tl, bin] = [await t.create(), await t.create()];
    const f1 = t.submitPoint(tl, 1);
    const f2 = t.submitPoint(tl, 2);
    const flags = DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE | DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE;
    expect(await t.code(t.ioctl("HANDLE_TO_FD", { handle: tl, flags, point: 3 }))).toBe("EINVAL");
    const { fd } = await t.ioctl("HANDLE_TO_FD", { handle: tl, flags, point: 1 });
    const exported = syncFileGetFence(t.proc, fd!)!;
    expect(exported).toBeInstanceOf(DmaFenceChain);
    expect(exported.seqno).toBe(1);
    // Import it as the fence of a binary syncobj: it signals with point 1, not point 2.
    await t.ioctl("FD_TO_HANDLE", {
      fd,
      handle: bin,
      flags: DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
    });
    const b = t.table.find(bin)!;
    expect(b.currentFence).toBe(exported);
    f1.signal();
    expect(b.currentFence?.isSignaled()).toBe(true);
    expect(await t.query([tl])).toEqual([1]);
    // Resetting the syncobj does not touch the sync_file.
    await t.ioctl("RESET", { handles: [bin], count_handles: 1 });
    expect(syncFileGetFence(t.proc, fd!)).toBe(exported);
    exported.put();
    exported.put();
    b.put();
    f2.signal();
    f1.put();
    f2.put();
    expect(t.done()).toEqual([]);
  });
});

describe("syncobj eventfd", () => {
  it("argument checks: flags, pad, unknown handle, closed fd, non-eventfd fd", async () => {
    const t = await setup();
    const h = await t.create();
    const efd = eventfd(t.proc);
    expect(
      await t.code(t.ioctl("EVENTFD", { handle: h, fd: efd, flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL })),
    ).toBe("EINVAL");
    expect(await t.code(t.ioctl("EVENTFD", { handle: h, fd: efd, pad: 1 }))).toBe("EINVAL");
    expect(await t.code(t.ioctl("EVENTFD", { handle: 9, fd: efd }))).toBe("ENOENT");
    expect(await t.code(t.ioctl("EVENTFD", { handle: h, fd: 500 }))).toBe("EBADF");
    const other = eventfd(t.proc);
    t.proc.close(other);
    const s = t.table.find(h)!;
    expect(s.pendingEventfds).toBe(0);
    s.put();
    expect(t.done()).toEqual([]);
  });

  it("signals the eventfd when the point signals; a process polling it wakes then", async () => {
    const t = await setup();
    const h = await t.create();
    const efd = eventfd(t.proc);
    await t.ioctl("EVENTFD", { handle: h, fd: efd, point: 2 });
    const s = t.table.find(h)!;
    expect(s.pendingEventfds).toBe(1);
    const f1 = t.submitPoint(h, 1);
    const f2 = t.submitPoint(h, 2);
    expect(s.pendingEventfds).toBe(0);
    t.sim.schedule(msecs(5), () => f1.signal());
    t.sim.schedule(msecs(9), () => f2.signal());
    let at = -1;
    let value = 0;
    await t.inTask(async () => {
      const fds = [{ fd: efd, events: EPOLLIN }];
      await t.proc.poll(fds, secs(1));
      at = t.sim.now;
      value = eventfdRead(t.proc, efd);
    });
    expect(at).toBe(msecs(9));
    expect(value).toBe(1);
    expect(() => eventfdRead(t.proc, efd)).toThrow(KernelError);
    s.put();
    f1.put();
    f2.put();
    expect(t.done()).toEqual([]);
  });

  it("WAIT_AVAILABLE signals as soon as the point exists; an already signalled point at once", async () => {
    const t = await setup();
    const h = await t.create();
    const efd = eventfd(t.proc);
    await t.ioctl("EVENTFD", { handle: h, fd: efd, point: 1, flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE });
    const f = t.submitPoint(h, 1);
    expect(eventfdRead(t.proc, efd)).toBe(1);
    f.signal();
    await t.ioctl("EVENTFD", { handle: h, fd: efd, point: 1 });
    expect(eventfdRead(t.proc, efd)).toBe(1);
    f.put();
    expect(t.done()).toEqual([]);
  });

  it("an eventfd still waiting for its point is released with the syncobj", () => {
    const sim = new Simulator();
    const proc = new Process(sim, "app");
    const s = new DrmSyncobj(sim);
    const efd = eventfd(proc);
    const file = proc.file(efd);
    file.get();
    const ev = file.priv as Parameters<DrmSyncobj["addEventfd"]>[0];
    s.addEventfd(ev, 4n, 0);
    // The fd table's reference and the one the syncobj took over.
    expect(file.refcount).toBe(2);
    s.put();
    expect(file.refcount).toBe(1);
    proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });
});
