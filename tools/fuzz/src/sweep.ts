/**
 * Allocation-failure sweep (the kernel's fault-injection `failslab` run one site at a time): for
 * every core ioctl, a valid call is first recorded to learn how many allocations its path makes
 * and from which sites (`sim.mm.sites`); then, in a fresh world each time, the 1st, 2nd, … n-th of
 * those allocations is made to fail (`sim.mm.failNth`). Each call must either succeed or fail
 * with `ENOMEM`, and a failed call must leave no partial state (`snapshotState` unchanged); every
 * world must tear down clean.
 */
import {
  DRM_IOCTL_DROP_MASTER,
  DRM_IOCTL_GET_MAGIC,
  DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL,
  eventfd,
} from "@drmsim/drm";
import { isKernelError, type Process } from "@drmsim/runtime";
import { CALL_BUDGET_NS } from "./fuzz.js";
import { ioctlCmdOf } from "./ioctls.js";
import {
  buildWorld,
  closeWorld,
  diffSnapshots,
  drmFds,
  drmFileOf,
  type FuzzWorld,
  snapshotState,
} from "./world.js";

/** One valid call to sweep: who calls, on which fd, with what (setup calls may run first). */
export interface SweepCall {
  proc: Process;
  fd: number;
  ioctl: string;
  args: Record<string, unknown>;
}

/** A sweep case: a label and a builder that prepares the world and returns the call. */
export interface SweepCase {
  readonly label: string;
  readonly ioctl: string;
  prepare(w: FuzzWorld): Promise<SweepCall>;
}

function nodeFd(w: FuzzWorld, who: 0 | 1, node: "primary" | "render" | "accel"): number {
  const p = w.procs[who]!;
  const fd = drmFds(p).find((n) => drmFileOf(p, n)!.minor.type === node);
  if (fd === undefined) throw new Error(`sweep: no ${node} node open in ${p}`);
  return fd;
}

function kindFd(w: FuzzWorld, kind: string): number {
  const p = w.procs[0]!;
  const fd = p.files.list().find((n) => p.files.get(n).fops.kind === kind);
  if (fd === undefined) throw new Error(`sweep: no ${kind} fd in ${p}`);
  return fd;
}

const A = (w: FuzzWorld) => w.procs[0]!;
const call = (
  w: FuzzWorld,
  node: "primary" | "render" | "accel",
  ioctl: string,
  args: Record<string, unknown>,
) => Promise.resolve({ proc: A(w), fd: nodeFd(w, 0, node), ioctl, args });

/**
 * A case that is one call: `DRM_IOCTL_<first word of the label>` (or `ioctl`) by the first process
 * on its `node` fd, with `args` (or what `args` makes of the world).
 */
function simple(
  label: string,
  node: "primary" | "render" | "accel",
  args: Record<string, unknown> | ((w: FuzzWorld) => Record<string, unknown>),
  ioctl = `DRM_IOCTL_${label.split(" ")[0]}`,
): SweepCase {
  return { label, ioctl, prepare: (w) => call(w, node, ioctl, typeof args === "function" ? args(w) : args) };
}

/** A timeline call on syncobj 2 of the accel fd, once point 3 was signalled on it. */
function afterPoint3(ioctl: string, args: Record<string, unknown>): SweepCase {
  return {
    label: ioctl,
    ioctl: `DRM_IOCTL_${ioctl}`,
    async prepare(w) {
      const signal = { handles: [2], points: [3], count_handles: 1 };
      await A(w).ioctl(nodeFd(w, 0, "accel"), DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, signal);
      return call(w, "accel", `DRM_IOCTL_${ioctl}`, args);
    },
  };
}

/** The sweep cases: every core ioctl, with extra cases for paths that allocate differently. */
export const SWEEP_CASES: readonly SweepCase[] = [
  simple("VERSION", "render", {}),
  {
    label: "GET_MAGIC",
    ioctl: "DRM_IOCTL_GET_MAGIC",
    prepare: async (w) => ({
      proc: w.procs[1]!,
      fd: nodeFd(w, 1, "primary"),
      ioctl: "DRM_IOCTL_GET_MAGIC",
      args: {},
    }),
  },
  simple("GET_CAP", "render", { capability: 0x5 }),
  {
    label: "AUTH_MAGIC",
    ioctl: "DRM_IOCTL_AUTH_MAGIC",
    async prepare(w) {
      const b = w.procs[1]!;
      const { magic } = await b.ioctl<{ magic: number }>(nodeFd(w, 1, "primary"), DRM_IOCTL_GET_MAGIC, {});
      return call(w, "primary", "DRM_IOCTL_AUTH_MAGIC", { magic });
    },
  },
  {
    label: "SET_MASTER",
    ioctl: "DRM_IOCTL_SET_MASTER",
    async prepare(w) {
      await A(w).ioctl(nodeFd(w, 0, "primary"), DRM_IOCTL_DROP_MASTER, {});
      return call(w, "primary", "DRM_IOCTL_SET_MASTER", {});
    },
  },
  simple("DROP_MASTER", "primary", {}),
  simple("GEM_CLOSE", "render", { handle: 1 }),
  simple("GEM_FLINK", "primary", { handle: 2 }),
  simple("GEM_OPEN", "primary", { name: 1 }),
  simple("GEM_CHANGE_HANDLE", "render", { handle: 2, new_handle: 100 }),
  simple("GEM_CHANGE_HANDLE (exported: the PRIME cache entry moves)", "render", {
    handle: 1,
    new_handle: 101,
  }),
  simple("PRIME_HANDLE_TO_FD", "render", { handle: 2, flags: 0 }),
  simple("PRIME_FD_TO_HANDLE (self-import)", "primary", (w) => ({ fd: kindFd(w, "dma_buf") })),
  simple("PRIME_FD_TO_HANDLE (foreign import)", "accel", (w) => ({ fd: kindFd(w, "dma_buf") })),
  simple("MODE_CREATE_DUMB", "primary", { width: 64, height: 64, bpp: 32 }),
  simple("MODE_MAP_DUMB", "primary", { handle: 1 }),
  simple("MODE_DESTROY_DUMB", "primary", { handle: 1 }),
  simple("SYNCOBJ_CREATE", "accel", { flags: 1 }),
  simple("SYNCOBJ_DESTROY", "accel", { handle: 1 }),
  simple("SYNCOBJ_HANDLE_TO_FD", "accel", { handle: 1 }),
  simple("SYNCOBJ_HANDLE_TO_FD (export sync_file)", "accel", { handle: 1, flags: 1 }),
  simple("SYNCOBJ_FD_TO_HANDLE", "accel", (w) => ({ fd: kindFd(w, "syncobj") })),
  simple("SYNCOBJ_FD_TO_HANDLE (import sync_file)", "accel", (w) => ({
    handle: 2,
    flags: 1,
    fd: kindFd(w, "sync_file"),
  })),
  // IMPORT_SYNC_FILE | TIMELINE: without TIMELINE the point is ignored and the fence replaced.
  simple("SYNCOBJ_FD_TO_HANDLE (import sync_file at a point)", "accel", (w) => ({
    handle: 2,
    flags: 3,
    point: 5,
    fd: kindFd(w, "sync_file"),
  })),
  simple("SYNCOBJ_WAIT", "accel", { handles: [1], count_handles: 1, timeout_nsec: 0 }),
  simple("SYNCOBJ_RESET", "accel", { handles: [1], count_handles: 1 }),
  simple("SYNCOBJ_SIGNAL", "accel", { handles: [2], count_handles: 1 }),
  simple("SYNCOBJ_TIMELINE_SIGNAL", "accel", { handles: [2], points: [3], count_handles: 1 }),
  afterPoint3("SYNCOBJ_TIMELINE_WAIT", { handles: [2], points: [3], count_handles: 1, timeout_nsec: 0 }),
  afterPoint3("SYNCOBJ_QUERY", { handles: [2], points: [0], count_handles: 1 }),
  simple("SYNCOBJ_TRANSFER (binary)", "accel", { src_handle: 1, dst_handle: 2 }),
  simple("SYNCOBJ_TRANSFER (to a timeline point)", "accel", { src_handle: 1, dst_handle: 2, dst_point: 4 }),
  simple("SYNCOBJ_EVENTFD", "accel", (w) => ({ handle: 2, fd: eventfd(A(w)), point: 0, flags: 0 })),
];

/** The result of sweeping one case. */
export interface SweepResult {
  label: string;
  ioctl: string;
  /** Allocation attempts the valid call made, by site. */
  sites: Record<string, number>;
  /** Injected failures: how many ended in success, in a clean ENOMEM. */
  injected: number;
  succeeded: number;
  enomem: number;
  /** Violations (empty when the case is clean). */
  problems: string[];
}

async function settle(w: FuzzWorld, run: () => Promise<unknown>): Promise<{ ok: boolean; error?: unknown }> {
  const sim = w.sim;
  const task = w.procs[0]!.run(run);
  await sim.run({ untilNs: sim.now + CALL_BUDGET_NS });
  if (task.state === "running") return { ok: false, error: new Error("the call never returned") };
  return task.state === "done" ? { ok: true } : { ok: false, error: task.error };
}

async function prepared(c: SweepCase, seed: number): Promise<{ w: FuzzWorld; call: SweepCall }> {
  const w = await buildWorld({ seed });
  let sc: SweepCall | undefined;
  await w.sim.exec("sweep-prepare", async () => {
    sc = await c.prepare(w);
  });
  // The world's setup leaves GPU work in flight (amdgpu's first CS): let it finish, so that what
  // the swept call leaves behind is all the diff shows.
  await w.sim.runUntilIdle();
  return { w, call: sc! };
}

/** Sweeps one case. */
export async function sweepCase(c: SweepCase, seed = 1): Promise<SweepResult> {
  const res: SweepResult = {
    label: c.label,
    ioctl: c.ioctl,
    sites: {},
    injected: 0,
    succeeded: 0,
    enomem: 0,
    problems: [],
  };
  // 1. Record the allocations of the valid call.
  {
    const { w, call } = await prepared(c, seed);
    const mm = w.sim.mm;
    const sitesBefore = new Map(mm.sites);
    const attemptsBefore = mm.attempts;
    const r = await settle(w, () => call.proc.ioctl(call.fd, ioctlCmdOf(w.devices, call.ioctl), call.args));
    if (!r.ok) res.problems.push(`the valid call failed: ${String(r.error)}`);
    for (const [site, n] of mm.sites) {
      const d = n - (sitesBefore.get(site) ?? 0);
      if (d > 0) res.sites[site] = d;
    }
    const attempts = mm.attempts - attemptsBefore;
    const findings = await closeWorld(w);
    if (findings.length > 0) res.problems.push(`teardown after the valid call: ${findings.join("; ")}`);
    res.injected = attempts;
  }
  // 2. Fail each allocation in turn.
  for (let nth = 1; nth <= res.injected; nth++) {
    const { w, call } = await prepared(c, seed);
    const before = snapshotState(w);
    const findingsBefore = w.sim.validator.findings.length;
    w.sim.mm.failNth(nth);
    const r = await settle(w, () => call.proc.ioctl(call.fd, ioctlCmdOf(w.devices, call.ioctl), call.args));
    w.sim.mm.clearFaults();
    if (r.ok) res.succeeded++;
    else if (isKernelError(r.error) && r.error.code === "ENOMEM") {
      res.enomem++;
      const diff = diffSnapshots(before, snapshotState(w));
      if (diff.length > 0)
        res.problems.push(`allocation #${nth} failed, partial state left:\n  ${diff.join("\n  ")}`);
    } else
      res.problems.push(
        `allocation #${nth} failed, and the call answered ${String(r.error)} instead of ENOMEM`,
      );
    const fresh = w.sim.validator.findings.slice(findingsBefore);
    if (fresh.length > 0)
      res.problems.push(`allocation #${nth}: validator reported ${fresh.map((f) => f.title).join("; ")}`);
    const findings = await closeWorld(w);
    if (findings.length > 0)
      res.problems.push(`allocation #${nth}: teardown not clean: ${findings.join("; ")}`);
  }
  return res;
}

/** Sweeps every case. */
export async function runSweep(cases: readonly SweepCase[] = SWEEP_CASES, seed = 1): Promise<SweepResult[]> {
  const out: SweepResult[] = [];
  for (const c of cases) out.push(await sweepCase(c, seed));
  return out;
}

/** The per-ioctl table of allocation sites exercised, as printable text. */
export function formatSweep(results: readonly SweepResult[]): string {
  const rows = results.map((r) => [
    r.label,
    Object.keys(r.sites).length === 0
      ? "(no allocation)"
      : Object.entries(r.sites)
          .map(([s, n]) => (n > 1 ? `${s}×${n}` : s))
          .join(", "),
    `${r.injected}`,
    `${r.succeeded}/${r.enomem}`,
    r.problems.length === 0 ? "clean" : `${r.problems.length} problem(s)`,
  ]);
  const head = ["ioctl", "allocation sites", "injected", "ok/ENOMEM", "verdict"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(head), line(widths.map((n) => "-".repeat(n))), ...rows.map(line)].join("\n");
}
