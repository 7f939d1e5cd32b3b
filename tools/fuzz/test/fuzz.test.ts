import { DRM_IOCTL_AMDGPU_CS } from "@drmsim/amdgpu";
import {
  coreIoctls,
  DRM_COMMAND_BASE,
  DRM_IOCTL_GEM_CLOSE,
  DRM_IOCTL_SYNCOBJ_CREATE,
  DRM_IOCTL_SYNCOBJ_WAIT,
  DRM_IOWR,
  DRM_RENDER_ALLOW,
  type DrmDevice,
  DrmDriverFeature,
  type DrmHooks,
  type DrmPluginHost,
  drmIoctlDefDrv,
} from "@drmsim/drm";
import { __u32, KernelError, S64_MAX, SIGALRM, SIGKILL, uapiStruct } from "@drmsim/runtime";
import { vgemProbe } from "@drmsim/vgem";
import { describe, expect, it } from "vitest";
import {
  buildWorld,
  closeWorld,
  diffSnapshots,
  drmFds,
  drmFileOf,
  FUZZ_DRIVERS,
  type FuzzDriver,
  ioctlUniverse,
  runFuzz,
  snapshotState,
  withoutTimeDependent,
} from "../src/index.js";

/** `struct drm_broken_op`: an index into a table the driver keeps. */
const drm_broken_op = uapiStruct("drm_broken_op", { index: __u32 }, { size: 4 });
const DRM_IOCTL_BROKEN_OP = DRM_IOWR(DRM_COMMAND_BASE, drm_broken_op);
const BROKEN_TABLE: Record<number, number[]> = { 7: [1, 2, 3] };

/** A GPU driver with the bugs the fuzzer exists to find, one ioctl each. */
function brokenDriver(bug: "partial" | "typeerror" | "leak" | "finding" | "restartsys"): FuzzDriver {
  class Broken {
    apply(hooks: DrmHooks, device: DrmDevice) {
      hooks.driver.ioctls.tap("broken", (r) => {
        r.add(
          drmIoctlDefDrv(
            "BROKEN_OP",
            DRM_IOCTL_BROKEN_OP,
            drm_broken_op,
            (file, args) => {
              // A table lookup without a bounds check: a TypeError for any index it lacks.
              if (bug === "typeerror") return BROKEN_TABLE[args.index]!.length;
              // -ERESTARTSYS without a signal: the syscall layer never restarts it, userspace sees 512.
              if (bug === "restartsys") throw new KernelError("ERESTARTSYS", "interrupted by nothing");
              const obj = device.gemCreateObject(4096);
              if (bug === "leak") return; // the creation reference is never dropped
              if (bug === "finding") {
                obj.put();
                obj.put(); // one put too many: use-after-free, reported by the validator
                return;
              }
              file.gem.handleCreate(obj); // state changed …
              obj.put();
              throw new KernelError("EINVAL", "… and then the ioctl fails"); // … and is not undone
            },
            DRM_RENDER_ALLOW,
          ),
        );
      });
    }
  }
  return {
    name: `broken-${bug}`,
    probe: (host: DrmPluginHost) =>
      host.probe(Broken, { name: "broken", features: DrmDriverFeature.GEM | DrmDriverFeature.RENDER }),
  };
}

const VGEM_ONLY: FuzzDriver = { name: "vgem", probe: vgemProbe };

describe("uAPI fuzzer", () => {
  it("compares a call that blocked on what it could change: GPU work completing meanwhile is not its doing", async () => {
    const world = await buildWorld();
    const [a] = world.procs;
    const amdgpu = FUZZ_DRIVERS.find((d) => d.name === "amdgpu")!;
    const fd = drmFds(a!).find((n) => {
      const f = drmFileOf(a!, n)!;
      return f.isRenderClient && f.device.driver.name === "amdgpu";
    })!;
    const file = drmFileOf(a!, fd)!;
    const ids = world.setupIds.get(file)!;
    const sim = world.sim;
    // As the fuzzer runs a step: the call, then the simulator up to now (and on while it blocks).
    const step = async <T>(fn: () => Promise<T>): Promise<{ state: string }> => {
      const task = a!.run(fn);
      await sim.run({ untilNs: sim.now });
      if (task.state === "running") await sim.run({ untilNs: sim.now + 10_000_000 });
      return task;
    };
    const args = amdgpu.templates!.AMDGPU_CS!({ handles: [], ids, pick: 2 });
    const { handle } = await a!.ioctl<{ handle: number }>(fd, DRM_IOCTL_SYNCOBJ_CREATE, { flags: 0 });
    // A submission in flight whose IB fills a BO (pick 2) holds a reference on it …
    expect((await step(() => a!.ioctl(fd, DRM_IOCTL_AMDGPU_CS, args))).state).toBe("done");
    const before = snapshotState(world);
    // … and a wait that times out lets it finish and drop it.
    const wait = await step(() =>
      a!.ioctl(fd, DRM_IOCTL_SYNCOBJ_WAIT, {
        handles: [handle],
        count_handles: 1,
        timeout_nsec: sim.now + 1_000_000,
        flags: 2, // WAIT_FOR_SUBMIT: nothing will be submitted
      }),
    );
    expect(wait.state).toBe("failed");
    const after = snapshotState(world);
    expect(diffSnapshots(before, after).join("\n")).toMatch(/gem\.\d+\.2|memUsed|live/);
    expect(diffSnapshots(withoutTimeDependent(before), withoutTimeDependent(after))).toEqual([]);
    expect(await closeWorld(world)).toEqual([]);
  });

  it("covers every ioctl of the core table and of every registered driver", async () => {
    const world = await buildWorld();
    const universe = ioctlUniverse(world);
    for (const d of coreIoctls()) expect(universe).toContain(d.name);
    for (const dev of world.devices) for (const d of dev.driverIoctls()) expect(universe).toContain(d.name);
    expect(world.devices.map((d) => d.driver.name)).toEqual(FUZZ_DRIVERS.map((d) => d.name));
    expect(await closeWorld(world)).toEqual([]);
  });

  it("snapshotState sees a change made by a successful call and none by a refused one", async () => {
    const world = await buildWorld();
    const [a] = world.procs;
    const render = drmFds(a!).find((fd) => drmFileOf(a!, fd)!.isRenderClient)!;
    const s0 = snapshotState(world);
    await world.sim.exec("t", async () => {
      await expect(a!.ioctl(render, DRM_IOCTL_GEM_CLOSE, { handle: 99 })).rejects.toMatchObject({
        code: "EINVAL",
      });
    });
    expect(diffSnapshots(s0, snapshotState(world))).toEqual([]);
    await world.sim.exec("t", () => a!.ioctl(render, DRM_IOCTL_GEM_CLOSE, { handle: 2 }));
    const diff = diffSnapshots(s0, snapshotState(world));
    expect(diff.length).toBeGreaterThan(0);
    expect(diff.join("\n")).toMatch(/gem/);
    expect(await closeWorld(world)).toEqual([]);
  });

  it("fixed-seed campaign: ≥2,000 ioctls over every registered ioctl, all invariants hold", async () => {
    const { stats, failure } = await runFuzz({ runs: 60, callsPerRun: 40, seed: 0x5eed, minCalls: 2000 });
    console.log(
      `uapi fuzz (seed 0x5eed): ${stats.calls} ioctls + ${stats.syscalls} fd syscalls in ${stats.runs} sequences, ` +
        `${stats.ok} succeeded, ${stats.invariants} invariant checks; errnos ${JSON.stringify(stats.errnos)}`,
    );
    console.log(`signals: ${JSON.stringify(stats.signals)}`);
    expect(failure).toBeUndefined();
    expect(stats.calls).toBeGreaterThanOrEqual(2000);
    // Blocked calls were interrupted in both processes: EINTR without SA_RESTART, restarts with it.
    expect(stats.signals.eintr).toBeGreaterThan(0);
    expect(stats.signals.restarted).toBeGreaterThan(0);
    // Invariant 7 ran: mastership changed hands through the ioctls, each success checked against
    // drm_master_check_perm (and fds — master fds among them — were passed between the processes).
    expect(stats.byIoctl.DRM_IOCTL_SET_MASTER?.ok ?? 0).toBeGreaterThan(0);
    expect(stats.byIoctl.DRM_IOCTL_DROP_MASTER?.ok ?? 0).toBeGreaterThan(0);
    // Every ioctl was called, and the deep paths were reached (some calls succeed).
    const world = await buildWorld();
    for (const name of ioctlUniverse(world)) expect(stats.byIoctl[name]?.calls ?? 0, name).toBeGreaterThan(0);
    expect(await closeWorld(world)).toEqual([]);
    expect(stats.ok).toBeGreaterThan(0);
    // The drivers' templates get every one of their ioctls past the argument checks: submissions
    // run, waits find their sequence numbers, queues and VMs are made and destroyed.
    for (const d of FUZZ_DRIVERS)
      for (const name of Object.keys(d.templates ?? {}))
        expect(stats.byIoctl[name]?.ok ?? 0, `${name} never succeeded`).toBeGreaterThan(0);
    expect(Object.keys(stats.errnos)).toEqual(
      expect.arrayContaining(["EINVAL", "EACCES", "EBADF", "ENOENT"]),
    );
  });

  it("catches an ERESTARTSYS that reaches userspace (a driver returning it with no signal pending)", async () => {
    const { failure } = await runFuzz({
      runs: 20,
      callsPerRun: 4,
      seed: 3,
      drivers: [VGEM_ONLY, brokenDriver("restartsys")],
    });
    expect(failure?.message).toMatch(/BROKEN_OP.*ERESTARTSYS reached userspace/s);
  });

  it("signals: a blocked syncobj wait gets SIGALRM — EINTR in the process without SA_RESTART, a restart in the one with it", async () => {
    const world = await buildWorld({
      drivers: [VGEM_ONLY, FUZZ_DRIVERS.find((d) => d.name === "fuzzaccel")!],
    });
    const [a, b] = world.procs;
    const sim = world.sim;
    const accel = (p: typeof a) => drmFds(p!).find((fd) => drmFileOf(p!, fd)!.isAccelClient)!;
    // Syncobj 2 has no fence: WAIT_FOR_SUBMIT blocks until something is submitted or it times out.
    const block = (p: typeof a) =>
      p!.run(() =>
        p!.ioctl(accel(p), DRM_IOCTL_SYNCOBJ_WAIT, {
          handles: [2],
          count_handles: 1,
          timeout_nsec: S64_MAX,
          flags: 2,
        }),
      );
    const ta = block(a);
    const tb = block(b);
    await sim.run({ untilNs: sim.now + 1_000_000 });
    a!.kill(SIGALRM, { thread: ta });
    b!.kill(SIGALRM, { thread: tb });
    await sim.run({ untilNs: sim.now + 1 });
    expect(ta.state).toBe("failed");
    expect((ta.error as KernelError).code).toBe("EINTR");
    expect(tb.state).toBe("running"); // restarted: still waiting
    expect(world.alarms).toEqual([1, 1]);
    b!.kill(SIGKILL);
    await sim.run({ untilNs: sim.now + 1 });
    expect(tb.state).toBe("failed");
    expect(await closeWorld(world)).toEqual([]);
  });

  it("catches a rejected call that leaves state behind, and shrinks the sequence to at most two steps", async () => {
    const { failure } = await runFuzz({
      runs: 100,
      callsPerRun: 6,
      seed: 7,
      drivers: [VGEM_ONLY, brokenDriver("partial")],
    });
    expect(failure?.message).toMatch(/BROKEN_OP.*failed with EINVAL .*but changed state/s);
    expect(failure?.counterexample.match(/"op":/g)?.length).toBeLessThanOrEqual(2);
  });

  it("catches an error that is not a KernelError", async () => {
    const { failure } = await runFuzz({
      runs: 100,
      callsPerRun: 6,
      seed: 7,
      drivers: [VGEM_ONLY, brokenDriver("typeerror")],
    });
    expect(failure?.message).toMatch(/non-KernelError: TypeError/);
  });

  it("catches a leaked reference at teardown", async () => {
    const { failure } = await runFuzz({
      runs: 100,
      callsPerRun: 6,
      seed: 7,
      drivers: [VGEM_ONLY, brokenDriver("leak")],
    });
    expect(failure?.message).toMatch(/teardown is not clean:\s+leak/);
  });

  it("catches a validator finding", async () => {
    const { failure } = await runFuzz({
      runs: 100,
      callsPerRun: 6,
      seed: 7,
      drivers: [VGEM_ONLY, brokenDriver("finding")],
    });
    expect(failure?.message).toMatch(/made the validator report/);
  });
});
