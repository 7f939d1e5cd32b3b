import { DRM_IOCTL_AMDGPU_CS } from "@drmsim/amdgpu";
import {
  coreIoctls,
  DRM_COMMAND_BASE,
  DRM_COMMAND_END,
  DRM_IO,
  DRM_IOCTL_GEM_CLOSE,
  DRM_IOCTL_SYNCOBJ_CREATE,
  DRM_IOCTL_SYNCOBJ_WAIT,
  DRM_IOWR,
  DRM_RENDER_ALLOW,
  type DrmDevice,
  DrmDriverFeature,
  type DrmFile,
  type DrmHooks,
  type DrmPluginHost,
  drmIoctlDefDrv,
  drmIoctlLookup,
} from "@drmsim/drm";
import { __u32, KernelError, S64_MAX, SIGALRM, SIGKILL, uapiStruct } from "@drmsim/runtime";
import { vgemProbe } from "@drmsim/vgem";
import { describe, expect, it } from "vitest";
import {
  belowSuccessFloor,
  buildWorld,
  CI_CAMPAIGN,
  closeWorld,
  diffSnapshots,
  drmFds,
  drmFileOf,
  FUZZ_DRIVERS,
  type FuzzDriver,
  formatFuzzStats,
  ioctlUniverse,
  NEVER_SUCCEEDS,
  runFuzz,
  snapshotState,
  withoutTimeDependent,
} from "../src/index.js";
import { BOGUS_IOCTL, ioctlCmdOf } from "../src/ioctls.js";

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

/** `struct drm_crossfile_ctx`: a context id (out for CREATE, in for QUERY). */
const drm_crossfile_ctx = uapiStruct("drm_crossfile_ctx", { ctx_id: __u32 }, { size: 4 });
const DRM_IOCTL_CROSSFILE_CTX_CREATE = DRM_IOWR(DRM_COMMAND_BASE, drm_crossfile_ctx);
const DRM_IOCTL_CROSSFILE_CTX_QUERY = DRM_IOWR(DRM_COMMAND_BASE + 1, drm_crossfile_ctx);

/**
 * A driver with per-file context ids (from 1, like amdgpu's) whose QUERY looks a context up in
 * the caller's file and, failing that, in every other file of the device: a wrong success the
 * kernel could never notice, and invariant 8 must.
 */
function crossFileDriver(): FuzzDriver {
  const ctxs = new WeakMap<DrmFile, number[]>();
  const ctxsOf = (file: DrmFile) => ctxs.get(file) ?? [];
  class CrossFile {
    apply(hooks: DrmHooks, device: DrmDevice) {
      hooks.driver.ioctls.tap("crossfile", (r) => {
        r.add(
          drmIoctlDefDrv(
            "CROSSFILE_CTX_CREATE",
            DRM_IOCTL_CROSSFILE_CTX_CREATE,
            drm_crossfile_ctx,
            (file, args) => {
              const list = [...ctxsOf(file), ctxsOf(file).length + 1];
              ctxs.set(file, list);
              args.ctx_id = list.length;
            },
            DRM_RENDER_ALLOW,
          ),
        );
        r.add(
          drmIoctlDefDrv(
            "CROSSFILE_CTX_QUERY",
            DRM_IOCTL_CROSSFILE_CTX_QUERY,
            drm_crossfile_ctx,
            (file, args) => {
              const anywhere = [...device.files].some((f) => ctxsOf(f).includes(args.ctx_id));
              if (!ctxsOf(file).includes(args.ctx_id) && !anywhere)
                throw new KernelError("EINVAL", `no context ${args.ctx_id}`);
            },
            DRM_RENDER_ALLOW,
          ),
        );
      });
    }
  }
  return {
    name: "crossfile",
    probe: (host: DrmPluginHost) =>
      host.probe(CrossFile, { name: "crossfile", features: DrmDriverFeature.GEM | DrmDriverFeature.RENDER }),
    async setup(proc, fd) {
      const { ctx_id } = await proc.ioctl<{ ctx_id: number }>(fd, DRM_IOCTL_CROSSFILE_CTX_CREATE, {});
      return { ctx: ctx_id };
    },
    reach: { objects: (file) => ({ ctx: ctxsOf(file) }) },
    templates: { CROSSFILE_CTX_QUERY: ({ ids }) => ({ ctx_id: ids.ctx }) },
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
    // The bogus request is a number no device defines — not the top of the driver range, where
    // the drivers keep their drmsim-only side channels.
    const bogus = ioctlCmdOf(world.devices, BOGUS_IOCTL);
    for (const dev of world.devices) expect(drmIoctlLookup(dev, bogus)).toBeUndefined();
    expect(world.devices.some((dev) => drmIoctlLookup(dev, DRM_IO(DRM_COMMAND_END - 1)) !== undefined)).toBe(
      true,
    );
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

  it("fixed-seed campaign: ≥4,000 ioctls, every registered ioctl past its checks, all invariants hold", async () => {
    const { stats, failure } = await runFuzz(CI_CAMPAIGN);
    console.log(formatFuzzStats(stats, `uapi fuzz (seed 0x${CI_CAMPAIGN.seed.toString(16)})`));
    expect(failure).toBeUndefined();
    expect(stats.calls).toBeGreaterThanOrEqual(4000);
    // Blocked calls were interrupted in both processes: EINTR without SA_RESTART, restarts with it.
    expect(stats.signals.eintr).toBeGreaterThan(0);
    expect(stats.signals.restarted).toBeGreaterThan(0);
    // Invariant 7 ran: mastership changed hands through the ioctls, each success checked against
    // drm_master_check_perm (and fds — master fds among them — were passed between the processes).
    expect(stats.byIoctl.DRM_IOCTL_SET_MASTER?.ok ?? 0).toBeGreaterThan(0);
    expect(stats.byIoctl.DRM_IOCTL_DROP_MASTER?.ok ?? 0).toBeGreaterThan(0);
    // Invariant 8 ran: every successful call of an ioctl that always names an object (a handle to
    // close, flink, export, destroy) had it checked against the caller's tables.
    const alwaysNames = [
      "DRM_IOCTL_GEM_CLOSE",
      "DRM_IOCTL_GEM_FLINK",
      "DRM_IOCTL_PRIME_HANDLE_TO_FD",
      "DRM_IOCTL_SYNCOBJ_DESTROY",
    ];
    const okNaming = alwaysNames.reduce((n, name) => n + (stats.byIoctl[name]?.ok ?? 0), 0);
    expect(okNaming).toBeGreaterThan(0);
    expect(stats.named).toBeGreaterThanOrEqual(okNaming);
    // Every ioctl was called, and every registered one got past its checks at least SUCCESS_FLOOR
    // times — SYNCOBJ_EVENTFD, AUTH_MAGIC, GEM_OPEN and each driver ioctl after its setup included —
    // except those that cannot succeed in the fuzzer's world, which indeed never did.
    const world = await buildWorld();
    const universe = ioctlUniverse(world);
    expect(await closeWorld(world)).toEqual([]);
    for (const name of universe) expect(stats.byIoctl[name]?.calls ?? 0, name).toBeGreaterThan(0);
    expect(belowSuccessFloor(stats, universe)).toEqual([]);
    for (const name of Object.keys(NEVER_SUCCEEDS)) expect(stats.byIoctl[name]?.ok, name).toBe(0);
    expect(Object.keys(stats.errnos)).toEqual(
      expect.arrayContaining(["EINVAL", "EACCES", "EBADF", "ENOENT"]),
    );
  });

  it("the CI campaign catches a GEM handle lookup that falls back to the other files of the device", async () => {
    // The planted bug: drm_gem_object_lookup, given a handle its file lacks, searches every file
    // of the device — so one client reaches another's buffer by guessing a small integer.
    const world = await buildWorld();
    const table = Object.getPrototypeOf(drmFileOf(world.procs[0]!, drmFds(world.procs[0]!)[0]!)!.gem);
    expect(await closeWorld(world)).toEqual([]);
    const lookup = table.lookup;
    table.lookup = function (this: DrmFile["gem"], handle: number) {
      if (this.peek(handle) === undefined)
        for (const f of (this.file as DrmFile).device.files) {
          const obj = f.gem.peek(handle);
          if (obj !== undefined) return obj.get();
        }
      return lookup.call(this, handle);
    };
    try {
      const { failure } = await runFuzz({ ...CI_CAMPAIGN, shrink: false });
      expect(failure?.message).toMatch(
        /succeeded but named what its caller cannot reach:\s+\S+ \(gem\) = \d+ named an object that is not in the gem table of the caller's/,
      );
    } finally {
      table.lookup = lookup;
    }
  });

  it("catches a driver that resolves a context id in another file, and shrinks the sequence to one step", async () => {
    const { failure } = await runFuzz({
      runs: 100,
      callsPerRun: 6,
      seed: 3,
      drivers: [VGEM_ONLY, crossFileDriver()],
    });
    expect(failure?.message).toMatch(
      /CROSSFILE_CTX_QUERY.*succeeded but named what its caller cannot reach:\s+ctx_id \(ctx\) = \d+ named an object that is not in the ctx table/s,
    );
    expect(failure?.counterexample.match(/"op":/g)?.length).toBe(1);
  });

  it("catches an ERESTARTSYS that reaches userspace (a driver returning it with no signal pending)", async () => {
    const { failure } = await runFuzz({
      runs: 20,
      callsPerRun: 4,
      seed: 1,
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
