/**
 * sync_file and sw_sync from userspace, mirroring IGT's `tests/sw_sync.c` (igt-gpu-tools) and the
 * uapi rules of `sync_file.c`: simulated processes open the sw_sync device, create fences as
 * sync_file fds, merge them, ask for FILE_INFO, poll, and pass fds to each other.
 */
import { EPOLLIN, KernelError, msecs, Process, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  type DmaFence,
  SW_SYNC_GET_DEADLINE,
  SW_SYNC_IOC_CREATE_FENCE,
  SW_SYNC_IOC_INC,
  SW_SYNC_PATH,
  SYNC_IOC_FILE_INFO,
  SYNC_IOC_MERGE,
  SYNC_IOC_SET_DEADLINE,
  type SyncFenceInfo,
  type SyncFileInfo,
  SyncPt,
  swSyncRegister,
  syncFileCreate,
  syncFileGetFence,
  syncFileInstall,
} from "../src/index.js";
import { mockFence } from "./mock-fence.js";

/** A small libsync: what IGT's `sw_sync.c` helpers do, on a simulated process. */
class Libsync {
  constructor(readonly proc: Process) {}
  timelineCreate(): Promise<number> {
    return this.proc.open(SW_SYNC_PATH);
  }
  async createFence(timeline: number, value: number): Promise<number> {
    const r = await this.proc.ioctl<{ fence: number }>(timeline, SW_SYNC_IOC_CREATE_FENCE, {
      value,
      name: "igt",
    });
    return r.fence;
  }
  async inc(timeline: number, count: number): Promise<void> {
    await this.proc.ioctl(timeline, SW_SYNC_IOC_INC, count);
  }
  async merge(fd1: number, fd2: number, name = "merge"): Promise<number> {
    const r = await this.proc.ioctl<{ fence: number }>(fd1, SYNC_IOC_MERGE, {
      name,
      fd2,
      flags: 0,
      pad: 0,
    });
    return r.fence;
  }
  /** `sync_fence_wait(fd, timeout_ms)`: 0 once signalled, -ETIME on timeout (poll underneath). */
  async wait(fd: number, timeoutMs: number): Promise<number> {
    const fds = [{ fd, events: EPOLLIN }];
    const n = await this.proc.poll(fds, timeoutMs < 0 ? undefined : msecs(timeoutMs));
    return n > 0 ? 0 : -62;
  }
  /** `sync_file_get_info`: FILE_INFO once for the count, then with room for every leaf. */
  async info(
    fd: number,
  ): Promise<{ name: string; status: number; num_fences: number; sync_fence_info: SyncFenceInfo[] }> {
    const { num_fences } = await this.proc.ioctl<SyncFileInfo>(fd, SYNC_IOC_FILE_INFO, { num_fences: 0 });
    const sync_fence_info: SyncFenceInfo[] = Array.from({ length: num_fences ?? 0 }, () => ({}));
    const info = await this.proc.ioctl<SyncFileInfo>(fd, SYNC_IOC_FILE_INFO, { num_fences, sync_fence_info });
    return {
      name: info.name ?? "",
      status: info.status ?? 0,
      num_fences: info.num_fences ?? 0,
      sync_fence_info,
    };
  }
  /** `sync_fence_count_status(fd, status)`: leaves with that status (1 signalled, 0 active, <0 error). */
  async countStatus(fd: number, status: "signaled" | "active" | "error"): Promise<number> {
    const info = await this.info(fd);
    const match = (i: SyncFenceInfo) =>
      status === "signaled" ? i.status === 1 : status === "active" ? i.status === 0 : (i.status ?? 0) < 0;
    return info.sync_fence_info.filter(match).length;
  }
  status(fd: number): Promise<number> {
    return this.proc
      .ioctl<{ status: number }>(fd, SYNC_IOC_FILE_INFO, { num_fences: 0 })
      .then((r) => r.status);
  }
}

/** Runs `body` as a thread of a fresh process with sw_sync registered; checks a clean teardown. */
async function igt(body: (lib: Libsync, sim: Simulator) => Promise<void>, seed = 1): Promise<Simulator> {
  const sim = new Simulator({ seed });
  swSyncRegister(sim);
  const proc = new Process(sim, "igt");
  const task = proc.run(() => body(new Libsync(proc), sim));
  await sim.run();
  await task.result;
  proc.exit();
  expect(sim.teardown().findings).toEqual([]);
  return sim;
}

describe("sw_sync (IGT tests/sw_sync.c)", () => {
  it("alloc_timeline / alloc_fence", () =>
    igt(async (lib) => {
      const tl = await lib.timelineCreate();
      const f = await lib.createFence(tl, 0);
      // Point 0 on a timeline at 0: already reached.
      expect(await lib.status(f)).toBe(1);
      lib.proc.close(f);
      lib.proc.close(tl);
    }));

  it("alloc_fence_invalid_timeline: creating a fence on a bad fd fails", () =>
    igt(async (lib) => {
      await expect(lib.createFence(-1, 0)).rejects.toMatchObject({ code: "EBADF" });
    }));

  it("timeline_closed: closing the timeline signals its pending points with -ENOENT", () =>
    igt(async (lib) => {
      const tl = await lib.timelineCreate();
      const f = await lib.createFence(tl, 1);
      lib.proc.close(tl);
      expect(await lib.wait(f, 0)).toBe(0);
      expect(await lib.status(f)).toBe(-2);
      lib.proc.close(f);
    }));

  it("timeline_closed_signaled: a signalled point stays signalled without error", () =>
    igt(async (lib) => {
      const tl = await lib.timelineCreate();
      const f = await lib.createFence(tl, 1);
      await lib.inc(tl, 1);
      lib.proc.close(tl);
      expect(await lib.wait(f, 0)).toBe(0);
      expect(await lib.status(f)).toBe(1);
      lib.proc.close(f);
    }));

  it("alloc_merge_fence", () =>
    igt(async (lib) => {
      const tl = [await lib.timelineCreate(), await lib.timelineCreate()];
      const inf = [await lib.createFence(tl[0]!, 1), await lib.createFence(tl[1]!, 1)];
      const m = await lib.merge(inf[1]!, inf[0]!);
      expect((await lib.info(m)).num_fences).toBe(2);
      for (const fd of [...inf, m, ...tl]) lib.proc.close(fd);
    }));

  it("sync_busy: a point signals exactly when the timeline reaches it; prime increments", () =>
    igt(async (lib) => {
      const tl = await lib.timelineCreate();
      const f = await lib.createFence(tl, 5);
      expect(await lib.wait(f, 0)).toBe(-62);
      await lib.inc(tl, 1);
      expect(await lib.wait(f, 0)).toBe(-62);
      await lib.inc(tl, 4);
      expect(await lib.wait(f, 0)).toBe(0);
      await lib.inc(tl, 5);
      expect(await lib.wait(f, 0)).toBe(0);
      let seqno = 10;
      for (const prime of [
        2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
      ]) {
        seqno += prime;
        const fp = await lib.createFence(tl, seqno);
        await lib.inc(tl, prime);
        expect(await lib.wait(fp, 0)).toBe(0);
        lib.proc.close(fp);
      }
      lib.proc.close(f);
      lib.proc.close(tl);
    }));

  it("sync_busy_fork: another task advances the timeline while we wait", () =>
    igt(async (lib, sim) => {
      const tl = await lib.timelineCreate();
      const f = await lib.createFence(tl, 1);
      expect(await lib.wait(f, 0)).toBe(-62);
      lib.proc.run(async () => {
        await sim.sleep(
          { kind: "timer", what: "usleep" },
          { op: "usleep", deadlineNs: sim.now + msecs(1000) },
        ).promise;
        await lib.inc(tl, 1);
      }, "child");
      expect(await lib.wait(f, 2000)).toBe(0);
      expect(sim.now).toBe(msecs(1000));
      lib.proc.close(f);
      lib.proc.close(tl);
    }));

  it("sync_busy_fork_unixsocket: the timeline fd passed to another process advances it", async () => {
    const sim = new Simulator();
    swSyncRegister(sim);
    const parent = new Process(sim, "parent");
    const child = new Process(sim, "child");
    const lp = new Libsync(parent);
    const task = parent.run(async () => {
      const tl = await lp.timelineCreate();
      const f = await lp.createFence(tl, 1);
      expect(await lp.wait(f, 0)).toBe(-62);
      const theirs = parent.sendFd(child, tl);
      child.run(async () => {
        await new Libsync(child).inc(theirs, 1);
      });
      expect(await lp.wait(f, 2000)).toBe(0);
      parent.close(f);
      parent.close(tl);
    });
    await sim.run();
    await task.result;
    parent.exit();
    child.exit();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("sync_merge_invalid: merging with a bad fd, a non-sync_file fd, or with bad flags fails", () =>
    igt(async (lib) => {
      const tl = await lib.timelineCreate();
      const f = await lib.createFence(tl, 1);
      await expect(lib.merge(f, -1)).rejects.toMatchObject({ code: "ENOENT" });
      // A device fd (the timeline itself) is not a sync_file either.
      await expect(lib.merge(f, tl)).rejects.toMatchObject({ code: "ENOENT" });
      await expect(
        lib.proc.ioctl(f, SYNC_IOC_MERGE, { name: "x", fd2: f, flags: 1, pad: 0 }),
      ).rejects.toMatchObject({ code: "EINVAL" });
      await expect(
        lib.proc.ioctl(f, SYNC_IOC_MERGE, { name: "x", fd2: f, flags: 0, pad: 3 }),
      ).rejects.toMatchObject({ code: "EINVAL" });
      // A rejected merge leaves the caller's argument untouched and installs no fd.
      const arg = { name: "x", fd2: -1, flags: 0, pad: 0 };
      const fds = lib.proc.files.list().length;
      await expect(lib.proc.ioctl(f, SYNC_IOC_MERGE, arg)).rejects.toBeInstanceOf(KernelError);
      expect(arg).toEqual({ name: "x", fd2: -1, flags: 0, pad: 0 });
      expect(lib.proc.files.list().length).toBe(fds);
      lib.proc.close(f);
      lib.proc.close(tl);
    }));

  it("sync_merge: one timeline, points 1,2,3 merged: one active point until the last signals", () =>
    igt(async (lib) => {
      const tl = await lib.timelineCreate();
      const inf = [await lib.createFence(tl, 1), await lib.createFence(tl, 2), await lib.createFence(tl, 3)];
      let m = await lib.merge(inf[0]!, inf[1]!);
      const m1 = m;
      m = await lib.merge(inf[2]!, m);
      for (const fd of [...inf, m]) expect(await lib.countStatus(fd, "active")).toBe(1);
      await lib.inc(tl, 1);
      expect(await lib.countStatus(inf[0]!, "signaled")).toBe(1);
      expect(await lib.countStatus(m, "active")).toBe(1);
      await lib.inc(tl, 1);
      expect(await lib.countStatus(inf[1]!, "signaled")).toBe(1);
      expect(await lib.countStatus(m, "active")).toBe(1);
      await lib.inc(tl, 1);
      expect(await lib.countStatus(inf[2]!, "signaled")).toBe(1);
      expect(await lib.countStatus(m, "active")).toBe(0);
      expect(await lib.countStatus(m, "signaled")).toBe(1);
      for (const fd of [...inf, m1, m, tl]) lib.proc.close(fd);
    }));

  it("sync_merge_same: merging a fence with itself", () =>
    igt(async (lib) => {
      const tl = await lib.timelineCreate();
      const f = await lib.createFence(tl, 1);
      const m = await lib.merge(f, f);
      expect(await lib.countStatus(f, "signaled")).toBe(0);
      expect((await lib.info(m)).num_fences).toBe(1);
      await lib.inc(tl, 1);
      expect(await lib.countStatus(f, "signaled")).toBe(1);
      for (const fd of [f, m, tl]) lib.proc.close(fd);
    }));

  it("sync_multi_timeline_wait: a merge of three timelines signals leaf by leaf", () =>
    igt(async (lib) => {
      const tl = [await lib.timelineCreate(), await lib.timelineCreate(), await lib.timelineCreate()];
      const inf = [];
      for (const t of tl) inf.push(await lib.createFence(t, 5));
      let m = await lib.merge(inf[0]!, inf[1]!);
      const m1 = m;
      m = await lib.merge(inf[2]!, m);
      expect(await lib.countStatus(m, "active")).toBe(3);
      expect(await lib.wait(m, 0)).toBe(-62);
      for (let i = 0; i < 3; i++) {
        await lib.inc(tl[i]!, 5);
        expect(await lib.countStatus(m, "active")).toBe(2 - i);
        expect(await lib.countStatus(m, "signaled")).toBe(i + 1);
      }
      expect(await lib.wait(m, 100)).toBe(0);
      for (const fd of [...inf, m1, m, ...tl]) lib.proc.close(fd);
    }));

  it("sync_multi_consumer: 8 threads wait for their turn on one timeline, a producer advances it", () =>
    igt(async (lib, sim) => {
      const THREADS = 8;
      const ITER = 64;
      const tl = await lib.timelineCreate();
      let counter = 0;
      let tokens = 0;
      const failures: string[] = [];
      const threads = [];
      for (let id = 0; id < THREADS; id++) {
        threads.push(
          lib.proc.run(async () => {
            for (let i = 0; i < ITER; i++) {
              const next = i * THREADS + id;
              const f = await lib.createFence(tl, next);
              if ((await lib.wait(f, 1000)) < 0) failures.push(`thread ${id}: wait for ${next} timed out`);
              if (counter !== next) failures.push(`thread ${id}: counter ${counter} at point ${next}`);
              tokens++;
              lib.proc.close(f);
            }
          }, `consumer/${id}`),
        );
      }
      for (let i = 0; i < THREADS * ITER; i++) {
        while (tokens === 0)
          await sim.sleep({ kind: "timer", what: "sem_wait" }, { op: "sem_wait", deadlineNs: sim.now + 1000 })
            .promise;
        tokens--;
        counter++;
        await lib.inc(tl, 1);
      }
      for (const t of threads) await t.result;
      expect(failures).toEqual([]);
      expect(counter).toBe(THREADS * ITER);
      lib.proc.close(tl);
    }));

  it("sync_multi_consumer_producer: each consumer advances the timeline for the next", () =>
    igt(async (lib) => {
      const THREADS = 8;
      const ITER = 64;
      const tl = await lib.timelineCreate();
      let counter = 0;
      const failures: string[] = [];
      const threads = [];
      for (let id = 0; id < THREADS; id++) {
        threads.push(
          lib.proc.run(async () => {
            for (let i = 0; i < ITER; i++) {
              const next = i * THREADS + id;
              const f = await lib.createFence(tl, next);
              if ((await lib.wait(f, 1000)) < 0) failures.push(`wait ${next}`);
              if (counter++ !== next) failures.push(`order at ${next}`);
              await lib.inc(tl, 1);
              lib.proc.close(f);
            }
          }, `cp/${id}`),
        );
      }
      for (const t of threads) await t.result;
      expect(failures).toEqual([]);
      expect(counter).toBe(THREADS * ITER);
      lib.proc.close(tl);
    }));
});

describe("names of signalled fences (7.1 dma_fence_driver_name / dma_fence_timeline_name)", () => {
  // sync_fill_fence_info and sync_file_get_name (sync_file.c) read the names through the accessors,
  // which answer "detached-driver"/"signaled-timeline" once the SIGNALED bit is set — even for a
  // sw_sync point, whose ops stay attached because it has a release op.
  it("SYNC_IOC_FILE_INFO and sync_file_get_name report the driver's names while pending and the detached names once signalled", () =>
    igt(async (lib) => {
      const tl = await lib.timelineCreate();
      const fd = await lib.createFence(tl, 1);
      const pt = syncFileGetFence(lib.proc, fd)!;
      const live = await lib.info(fd);
      expect(live.sync_fence_info[0]).toMatchObject({ driver_name: "sw_sync", obj_name: "igt", status: 0 });
      expect(live.name).toBe(`sw_sync-igt${pt.context}-1`);
      await lib.inc(tl, 1);
      expect(pt.signaled).toBe(true);
      expect(pt.ops).not.toBeNull(); // the release op keeps the ops attached …
      const done = await lib.info(fd);
      // … but the accessors, and so the uAPI, report the fence as detached from its driver.
      expect(done.sync_fence_info[0]).toMatchObject({
        driver_name: "detached-driver",
        obj_name: "signaled-timeline",
        status: 1,
      });
      expect(done.name).toBe(`detached-driver-signaled-timeline${pt.context}-1`.slice(0, 31));
      pt.put();
      lib.proc.close(fd);
      lib.proc.close(tl);
    }));
});

describe("sw_sync timeline rules", () => {
  it("the same value twice gives the same live point; 32-bit ordering wraps", () =>
    igt(async (lib) => {
      const tl = await lib.timelineCreate();
      const a = await lib.createFence(tl, 3);
      const b = await lib.createFence(tl, 3);
      const fa = syncFileGetFence(lib.proc, a)!;
      const fb = syncFileGetFence(lib.proc, b)!;
      expect(fa).toBe(fb);
      expect(fa).toBeInstanceOf(SyncPt);
      expect(fa.driverName).toBe("sw_sync"); // pending: the driver's own names
      expect(fa.timelineName).toBe("igt");
      // Near the top of u32: point 2^32-1 is reached, and point 1 after the wrap is later.
      await lib.inc(tl, 0xfffffffe);
      expect(fa.signaled).toBe(true);
      const top = await lib.createFence(tl, 0xffffffff);
      const wrapped = await lib.createFence(tl, 1);
      await lib.inc(tl, 1);
      expect(await lib.status(top)).toBe(1);
      expect(await lib.status(wrapped)).toBe(0);
      await lib.inc(tl, 2);
      expect(await lib.status(wrapped)).toBe(1);
      fa.put();
      fb.put();
      for (const fd of [a, b, top, wrapped, tl]) lib.proc.close(fd);
    }));

  it("INC signals every reached point in order, and takes u32 steps larger than INT_MAX", () =>
    igt(async (lib) => {
      const tl = await lib.timelineCreate();
      const order: number[] = [];
      const fds = [];
      for (const v of [4, 2, 3, 1]) {
        const fd = await lib.createFence(tl, v);
        syncFileGetFence(lib.proc, fd)!.addCallback({
          func: (f: DmaFence) => {
            order.push(f.seqno);
            f.put();
          },
        });
        fds.push(fd);
      }
      await lib.inc(tl, 3);
      expect(order).toEqual([1, 2, 3]);
      await lib.inc(tl, 1);
      expect(order).toEqual([1, 2, 3, 4]);
      const far = await lib.createFence(tl, 0x80000010);
      await lib.inc(tl, 0x80000010 - 4);
      expect(await lib.status(far)).toBe(1);
      await expect(lib.proc.ioctl(tl, SW_SYNC_IOC_INC, -1)).rejects.toMatchObject({
        code: "EINVAL",
      });
      for (const fd of [...fds, far, tl]) lib.proc.close(fd);
    }));

  it("GET_DEADLINE: ENOENT until set, then the earliest deadline; EINVAL for non-sw_sync fences", () =>
    igt(async (lib, sim) => {
      const tl = await lib.timelineCreate();
      const f = await lib.createFence(tl, 1);
      const get = (fd: number) =>
        lib.proc.ioctl<{ deadline_ns: number }>(tl, SW_SYNC_GET_DEADLINE, {
          deadline_ns: 0,
          pad: 0,
          fence_fd: fd,
        });
      await expect(get(f)).rejects.toMatchObject({ code: "ENOENT" });
      await lib.proc.ioctl(f, SYNC_IOC_SET_DEADLINE, { deadline_ns: 5000, pad: 0 });
      await lib.proc.ioctl(f, SYNC_IOC_SET_DEADLINE, { deadline_ns: 9000, pad: 0 });
      expect((await get(f)).deadline_ns).toBe(5000);
      await lib.proc.ioctl(f, SYNC_IOC_SET_DEADLINE, { deadline_ns: 2000, pad: 0 });
      expect((await get(f)).deadline_ns).toBe(2000);
      await expect(
        lib.proc.ioctl(f, SYNC_IOC_SET_DEADLINE, { deadline_ns: 1, pad: 1 }),
      ).rejects.toMatchObject({
        code: "EINVAL",
      });
      await expect(
        lib.proc.ioctl(tl, SW_SYNC_GET_DEADLINE, { deadline_ns: 1, pad: 0, fence_fd: f }),
      ).rejects.toMatchObject({ code: "EINVAL" });
      await expect(get(tl)).rejects.toMatchObject({ code: "EINVAL" });
      const other = mockFence(sim);
      const ofd = syncFileInstall(lib.proc, other);
      await expect(get(ofd)).rejects.toMatchObject({ code: "EINVAL" });
      other.signal();
      other.put();
      for (const fd of [f, ofd, tl]) lib.proc.close(fd);
    }));
});

describe("sync_file", () => {
  it("create takes a reference; the fence lives until the last fd closes", () =>
    igt(async (lib, sim) => {
      const f = mockFence(sim);
      const fd = syncFileInstall(lib.proc, f);
      expect(f.refcount).toBe(2);
      const dup = lib.proc.dup(fd);
      f.put();
      lib.proc.close(fd);
      expect(f.refcount).toBe(1);
      const got = syncFileGetFence(lib.proc, dup)!;
      expect(got).toBe(f);
      got.put();
      f.signal();
      lib.proc.close(dup);
      expect(f.refcount).toBe(0);
      expect(syncFileGetFence(lib.proc, dup)).toBeNull();
    }));

  it("FILE_INFO: count mode, too small a buffer, per-fence info, flags/pad, and the name", () =>
    igt(async (lib, sim) => {
      const a = mockFence(sim);
      const b = mockFence(sim);
      const fa = syncFileInstall(lib.proc, a);
      const fb = syncFileInstall(lib.proc, b);
      const m = await lib.merge(fa, fb, "my-merge");
      const count = await lib.proc.ioctl<SyncFileInfo>(m, SYNC_IOC_FILE_INFO, { num_fences: 0 });
      expect(count).toMatchObject({ num_fences: 2, status: 0, name: "my-merge" });
      await expect(lib.proc.ioctl(m, SYNC_IOC_FILE_INFO, { num_fences: 1 })).rejects.toMatchObject({
        code: "EINVAL",
      });
      await expect(lib.proc.ioctl(m, SYNC_IOC_FILE_INFO, { flags: 1 })).rejects.toMatchObject({
        code: "EINVAL",
      });
      await expect(lib.proc.ioctl(m, SYNC_IOC_FILE_INFO, { pad: 1 })).rejects.toMatchObject({
        code: "EINVAL",
      });
      await sim.sleep({ kind: "timer", what: "t" }, { op: "usleep", deadlineNs: sim.now + 777 }).promise;
      a.setError("EIO");
      a.signal();
      const info = await lib.info(m);
      expect(info.status).toBe(-5); // the first leaf status <= 0 decides: a's error
      expect(info.sync_fence_info).toEqual([
        // 7.1: a signalled fence without a release op has detached its ops, so its names are gone.
        {
          obj_name: "signaled-timeline",
          driver_name: "detached-driver",
          status: -5,
          flags: 0,
          timestamp_ns: 777,
        },
        { obj_name: "mock", driver_name: "mock", status: 0, flags: 0, timestamp_ns: 0 },
      ]);
      b.signal();
      expect((await lib.info(m)).status).toBe(-5);
      // Count mode reports the merged fence's own status. Nobody armed the array (no poll, no wait),
      // so it completed by polling its members, which — as in the kernel — collects no error.
      expect(await lib.status(m)).toBe(1);
      // Without a merge name, the name comes from the fence.
      const plain = await lib.proc.ioctl<SyncFileInfo>(fb, SYNC_IOC_FILE_INFO, {});
      expect(plain.name).toBe(`detached-driver-signaled-timeline${b.context}-1`.slice(0, 31));
      const live = mockFence(sim);
      const lfd = syncFileInstall(lib.proc, live);
      expect((await lib.proc.ioctl<SyncFileInfo>(lfd, SYNC_IOC_FILE_INFO, {})).name).toBe(
        `mock-mock${live.context}-1`,
      );
      live.signal();
      live.put();
      lib.proc.close(lfd);
      expect(await lib.status(fb)).toBe(1);
      await expect(lib.proc.ioctl(fb, 0xc0303e7f, {})).rejects.toMatchObject({ code: "ENOTTY" });
      a.put();
      b.put();
      for (const fd of [fa, fb, m]) lib.proc.close(fd);
    }));

  it("MERGE keeps the newest point per context", () =>
    igt(async (lib) => {
      const tl = await lib.timelineCreate();
      const p1 = await lib.createFence(tl, 1);
      const p5 = await lib.createFence(tl, 5);
      const m = await lib.merge(p1, p5);
      const info = await lib.info(m);
      expect(info.num_fences).toBe(1);
      const merged = syncFileGetFence(lib.proc, m)!;
      expect(merged.seqno).toBe(5);
      expect(merged).toBe(syncFileGetFence(lib.proc, p5)!);
      merged.put();
      merged.put();
      for (const fd of [p1, p5, m, tl]) lib.proc.close(fd);
    }));

  it("poll reports EPOLLIN once the fence signals, waking a sleeping poller", () =>
    igt(async (lib, sim) => {
      const f = mockFence(sim);
      const fd = syncFileInstall(lib.proc, f);
      const fds = [{ fd, events: EPOLLIN, revents: 0 }];
      expect(await lib.proc.poll(fds, 0)).toBe(0);
      sim.schedule(msecs(3), () => f.signal(), sim.irqContext("gpu"));
      expect(await lib.proc.poll(fds)).toBe(1);
      expect(fds[0]!.revents).toBe(EPOLLIN);
      expect(sim.now).toBe(msecs(3));
      f.put();
      lib.proc.close(fd);
    }));

  it("a sync_file dropped without an fd releases its fence reference", () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    const sf = syncFileCreate(f);
    expect(f.refcount).toBe(2);
    sf.file.put();
    expect(f.refcount).toBe(1);
    f.signal();
    f.put();
    expect(sim.teardown().findings).toEqual([]);
  });
});
