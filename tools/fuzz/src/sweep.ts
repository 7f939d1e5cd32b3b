/**
 * Allocation-failure sweep (the kernel's fault-injection `failslab` run one site at a time): for
 * every core ioctl, a valid call is first recorded to learn how many allocations its path makes
 * and from which sites (`sim.mm.sites`); then, in a fresh world each time, the 1st, 2nd, … n-th of
 * those allocations is made to fail (`sim.mm.failNth`). Each call must either succeed or fail
 * with `ENOMEM`, and a failed call must leave no partial state (`snapshotState` unchanged); every
 * world must tear down clean.
 */
import { eventfd } from "@drmsim/drm";
import { isKernelError, type Process } from "@drmsim/runtime";
import { CALL_BUDGET_NS } from "./fuzz.js";
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

/** The sweep cases: every core ioctl, with extra cases for paths that allocate differently. */
export const SWEEP_CASES: readonly SweepCase[] = [
  {
    label: "VERSION",
    ioctl: "DRM_IOCTL_VERSION",
    prepare: (w) => call(w, "render", "DRM_IOCTL_VERSION", {}),
  },
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
  {
    label: "GET_CAP",
    ioctl: "DRM_IOCTL_GET_CAP",
    prepare: (w) => call(w, "render", "DRM_IOCTL_GET_CAP", { capability: 0x5 }),
  },
  {
    label: "AUTH_MAGIC",
    ioctl: "DRM_IOCTL_AUTH_MAGIC",
    async prepare(w) {
      const b = w.procs[1]!;
      const { magic } = await b.ioctl<{ magic: number }>(nodeFd(w, 1, "primary"), "DRM_IOCTL_GET_MAGIC", {});
      return call(w, "primary", "DRM_IOCTL_AUTH_MAGIC", { magic });
    },
  },
  {
    label: "SET_MASTER",
    ioctl: "DRM_IOCTL_SET_MASTER",
    async prepare(w) {
      await A(w).ioctl(nodeFd(w, 0, "primary"), "DRM_IOCTL_DROP_MASTER", {});
      return call(w, "primary", "DRM_IOCTL_SET_MASTER", {});
    },
  },
  {
    label: "DROP_MASTER",
    ioctl: "DRM_IOCTL_DROP_MASTER",
    prepare: (w) => call(w, "primary", "DRM_IOCTL_DROP_MASTER", {}),
  },
  {
    label: "GEM_CLOSE",
    ioctl: "DRM_IOCTL_GEM_CLOSE",
    prepare: (w) => call(w, "render", "DRM_IOCTL_GEM_CLOSE", { handle: 1 }),
  },
  {
    label: "GEM_FLINK",
    ioctl: "DRM_IOCTL_GEM_FLINK",
    prepare: (w) => call(w, "primary", "DRM_IOCTL_GEM_FLINK", { handle: 2 }),
  },
  {
    label: "GEM_OPEN",
    ioctl: "DRM_IOCTL_GEM_OPEN",
    prepare: (w) => call(w, "primary", "DRM_IOCTL_GEM_OPEN", { name: 1 }),
  },
  {
    label: "GEM_CHANGE_HANDLE",
    ioctl: "DRM_IOCTL_GEM_CHANGE_HANDLE",
    prepare: (w) => call(w, "render", "DRM_IOCTL_GEM_CHANGE_HANDLE", { handle: 2, new_handle: 100 }),
  },
  {
    label: "GEM_CHANGE_HANDLE (exported: the PRIME cache entry moves)",
    ioctl: "DRM_IOCTL_GEM_CHANGE_HANDLE",
    prepare: (w) => call(w, "render", "DRM_IOCTL_GEM_CHANGE_HANDLE", { handle: 1, new_handle: 101 }),
  },
  {
    label: "PRIME_HANDLE_TO_FD",
    ioctl: "DRM_IOCTL_PRIME_HANDLE_TO_FD",
    prepare: (w) => call(w, "render", "DRM_IOCTL_PRIME_HANDLE_TO_FD", { handle: 2, flags: 0 }),
  },
  {
    label: "PRIME_FD_TO_HANDLE (self-import)",
    ioctl: "DRM_IOCTL_PRIME_FD_TO_HANDLE",
    prepare: (w) => call(w, "primary", "DRM_IOCTL_PRIME_FD_TO_HANDLE", { fd: kindFd(w, "dma_buf") }),
  },
  {
    label: "PRIME_FD_TO_HANDLE (foreign import)",
    ioctl: "DRM_IOCTL_PRIME_FD_TO_HANDLE",
    prepare: (w) => call(w, "accel", "DRM_IOCTL_PRIME_FD_TO_HANDLE", { fd: kindFd(w, "dma_buf") }),
  },
  {
    label: "MODE_CREATE_DUMB",
    ioctl: "DRM_IOCTL_MODE_CREATE_DUMB",
    prepare: (w) => call(w, "primary", "DRM_IOCTL_MODE_CREATE_DUMB", { width: 64, height: 64, bpp: 32 }),
  },
  {
    label: "MODE_MAP_DUMB",
    ioctl: "DRM_IOCTL_MODE_MAP_DUMB",
    prepare: (w) => call(w, "primary", "DRM_IOCTL_MODE_MAP_DUMB", { handle: 1 }),
  },
  {
    label: "MODE_DESTROY_DUMB",
    ioctl: "DRM_IOCTL_MODE_DESTROY_DUMB",
    prepare: (w) => call(w, "primary", "DRM_IOCTL_MODE_DESTROY_DUMB", { handle: 1 }),
  },
  {
    label: "SYNCOBJ_CREATE",
    ioctl: "DRM_IOCTL_SYNCOBJ_CREATE",
    prepare: (w) => call(w, "accel", "DRM_IOCTL_SYNCOBJ_CREATE", { flags: 1 }),
  },
  {
    label: "SYNCOBJ_DESTROY",
    ioctl: "DRM_IOCTL_SYNCOBJ_DESTROY",
    prepare: (w) => call(w, "accel", "DRM_IOCTL_SYNCOBJ_DESTROY", { handle: 1 }),
  },
  {
    label: "SYNCOBJ_HANDLE_TO_FD",
    ioctl: "DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD",
    prepare: (w) => call(w, "accel", "DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD", { handle: 1 }),
  },
  {
    label: "SYNCOBJ_HANDLE_TO_FD (export sync_file)",
    ioctl: "DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD",
    prepare: (w) => call(w, "accel", "DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD", { handle: 1, flags: 1 }),
  },
  {
    label: "SYNCOBJ_FD_TO_HANDLE",
    ioctl: "DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE",
    prepare: (w) => call(w, "accel", "DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE", { fd: kindFd(w, "syncobj") }),
  },
  {
    label: "SYNCOBJ_FD_TO_HANDLE (import sync_file)",
    ioctl: "DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE",
    prepare: (w) =>
      call(w, "accel", "DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE", { handle: 2, flags: 1, fd: kindFd(w, "sync_file") }),
  },
  {
    label: "SYNCOBJ_FD_TO_HANDLE (import sync_file at a point)",
    ioctl: "DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE",
    prepare: (w) =>
      // IMPORT_SYNC_FILE | TIMELINE: without TIMELINE the point is ignored and the fence replaced.
      call(w, "accel", "DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE", {
        handle: 2,
        flags: 3,
        point: 5,
        fd: kindFd(w, "sync_file"),
      }),
  },
  {
    label: "SYNCOBJ_WAIT",
    ioctl: "DRM_IOCTL_SYNCOBJ_WAIT",
    prepare: (w) =>
      call(w, "accel", "DRM_IOCTL_SYNCOBJ_WAIT", { handles: [1], count_handles: 1, timeout_nsec: 0 }),
  },
  {
    label: "SYNCOBJ_RESET",
    ioctl: "DRM_IOCTL_SYNCOBJ_RESET",
    prepare: (w) => call(w, "accel", "DRM_IOCTL_SYNCOBJ_RESET", { handles: [1], count_handles: 1 }),
  },
  {
    label: "SYNCOBJ_SIGNAL",
    ioctl: "DRM_IOCTL_SYNCOBJ_SIGNAL",
    prepare: (w) => call(w, "accel", "DRM_IOCTL_SYNCOBJ_SIGNAL", { handles: [2], count_handles: 1 }),
  },
  {
    label: "SYNCOBJ_TIMELINE_SIGNAL",
    ioctl: "DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL",
    prepare: (w) =>
      call(w, "accel", "DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL", { handles: [2], points: [3], count_handles: 1 }),
  },
  {
    label: "SYNCOBJ_TIMELINE_WAIT",
    ioctl: "DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT",
    async prepare(w) {
      const fd = nodeFd(w, 0, "accel");
      await A(w).ioctl(fd, "DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL", {
        handles: [2],
        points: [3],
        count_handles: 1,
      });
      return call(w, "accel", "DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT", {
        handles: [2],
        points: [3],
        count_handles: 1,
        timeout_nsec: 0,
      });
    },
  },
  {
    label: "SYNCOBJ_QUERY",
    ioctl: "DRM_IOCTL_SYNCOBJ_QUERY",
    async prepare(w) {
      const fd = nodeFd(w, 0, "accel");
      await A(w).ioctl(fd, "DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL", {
        handles: [2],
        points: [3],
        count_handles: 1,
      });
      return call(w, "accel", "DRM_IOCTL_SYNCOBJ_QUERY", { handles: [2], points: [0], count_handles: 1 });
    },
  },
  {
    label: "SYNCOBJ_TRANSFER (binary)",
    ioctl: "DRM_IOCTL_SYNCOBJ_TRANSFER",
    prepare: (w) => call(w, "accel", "DRM_IOCTL_SYNCOBJ_TRANSFER", { src_handle: 1, dst_handle: 2 }),
  },
  {
    label: "SYNCOBJ_TRANSFER (to a timeline point)",
    ioctl: "DRM_IOCTL_SYNCOBJ_TRANSFER",
    prepare: (w) =>
      call(w, "accel", "DRM_IOCTL_SYNCOBJ_TRANSFER", { src_handle: 1, dst_handle: 2, dst_point: 4 }),
  },
  {
    label: "SYNCOBJ_EVENTFD",
    ioctl: "DRM_IOCTL_SYNCOBJ_EVENTFD",
    prepare: (w) => {
      const efd = eventfd(A(w));
      return call(w, "accel", "DRM_IOCTL_SYNCOBJ_EVENTFD", { handle: 2, fd: efd, point: 0, flags: 0 });
    },
  },
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
    const r = await settle(w, () => call.proc.ioctl(call.fd, call.ioctl, call.args));
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
    const r = await settle(w, () => call.proc.ioctl(call.fd, call.ioctl, call.args));
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
