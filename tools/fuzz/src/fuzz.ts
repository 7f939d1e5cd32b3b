/**
 * The uAPI fuzzer: a fast-check property over sequences of ioctls (every ioctl of the core table
 * and of every probed driver, on every node) and fd syscalls, issued by two processes with
 * hostile arguments. After each call it checks:
 *
 * 1. the call returns (a blocking call gets `SIGALRM` — at the step's `alarmNs`, or halfway through
 *    its time budget — and `SIGKILL` at the end, as `exit_group` would, and must then return too);
 * 2. only `KernelError`s escape — never a `TypeError`, `RangeError` or assertion — and never
 *    `ERESTARTSYS`, which must not reach userspace;
 * 3. a rejected call changes the caller's argument only where `drm_ioctl` copies it back: never
 *    when the call failed before the copy in (a bad fd, an unknown number, an unplugged device, a
 *    malformed argument) or when the request has no `_IOC_READ`; otherwise only members of the
 *    declared struct, and what comes back is still a struct the layout decodes (`copyBackOk`);
 * 4. a rejected call changes no state (`snapshotState` before and after are equal) — except an
 *    ioctl the kernel applies op by op (`FuzzDriver.appliesInPart`), which keeps the ops before
 *    the one that failed;
 * 5. the validator stays quiet (collect mode: no new finding);
 * 6. a syncobj wait interrupted by `SIGALRM` ends with `EINTR` in the process whose handler has no
 *    `SA_RESTART`, and is restarted — never `EINTR` — in the one whose handler has it;
 * 7. `SET_MASTER`/`DROP_MASTER` succeed only for a root caller or the owner of a file that was
 *    master (`drm_master_check_perm`), whichever process opened the fd the other one passed it;
 * 8. a call that succeeded named only objects its caller could reach — handles and ids of the
 *    caller's file, fds of the caller's process, flink names of the device, magics of the caller's
 *    master (`reach.ts`): a lookup that resolves another file's handle is caught here;
 *
 * and after each sequence, once every process exited and every device was removed:
 *
 * 9. `sim.teardown()` is clean (no leaked reference, no unsignalled fence, no held lock).
 */

import {
  coreIoctls,
  type DrmDevice,
  type DrmFile,
  drmIoctlLookup,
  drmIoctlPermit,
  drmProcessIsRoot,
} from "@drmsim/drm";
import {
  IocDir,
  iocDir,
  isKernelError,
  type Process,
  SA_RESTART,
  SIGALRM,
  SIGKILL,
  type Task,
  uapiCopyFromJs,
} from "@drmsim/runtime";
import fc from "fast-check";
import { actionArbOver, type FuzzAction, fieldPoolOf, resolveArgs, resolveValue } from "./args.js";
import { FUZZ_DRIVERS, type FuzzDriver, type FuzzTemplate } from "./drivers.js";
import { BOGUS_IOCTL, ioctlCmdOf, ioctlDefOf, ioctlDefOn, ioctlFields } from "./ioctls.js";
import { type FuzzCaller, type ReachBefore, reachBefore, reachViolations } from "./reach.js";
import {
  buildWorld,
  closeWorld,
  diffSnapshots,
  drmFds,
  drmFileOf,
  type FuzzWorld,
  snapshotState,
  withoutTimeDependent,
} from "./world.js";

/** Virtual time a call may block before it gets a fatal signal (1 s). */
export const CALL_BUDGET_NS = 1_000_000_000;

/** Options of `runFuzz`. */
export interface FuzzOptions {
  /** Sequences to run (fast-check `numRuns`). */
  runs: number;
  /** Steps per sequence (upper bound; fast-check picks 1..callsPerRun). */
  callsPerRun?: number;
  /** fast-check seed: the same seed replays the same campaign. */
  seed: number;
  /** Keep running batches of `runs` sequences (seeds `seed`, `seed + 1`, …) until this many ioctls were issued. */
  minCalls?: number;
  drivers?: readonly FuzzDriver[];
  /** Shrink a failing sequence (default true); false reports the first failing one as it ran (fast-check `endOnFailure`). */
  shrink?: boolean;
}

/** What a campaign did. */
export interface FuzzStats {
  /** Sequences executed (including fast-check's shrinking attempts). */
  runs: number;
  /** ioctls issued. */
  calls: number;
  /** fd syscalls issued (close, dup, sendFd). */
  syscalls: number;
  /** ioctls that succeeded. */
  ok: number;
  /** Rejections by errno. */
  errnos: Record<string, number>;
  /** Invariant checks performed (each one of the nine above, each time it applied). */
  invariants: number;
  /** Values named by successful calls that invariant 8 checked against the caller's tables. */
  named: number;
  /** Blocked calls that got `SIGALRM`: ended with `EINTR`, restarted (`SA_RESTART`), or needed `SIGKILL`. */
  signals: { sent: number; eintr: number; restarted: number; killed: number };
  /**
   * Per ioctl: calls, and successes of that ioctl itself — its number sent to another driver's
   * fd runs that driver's ioctl of the number, whose success counts in `ok` only.
   */
  byIoctl: Record<string, { calls: number; ok: number }>;
}

/** The first failure, shrunk by fast-check. */
export interface FuzzFailure {
  /** The violated invariant and what happened. */
  message: string;
  /** The shrunk counterexample (the action sequence), printable. */
  counterexample: string;
  /** Replay with `{ seed, path }` (fast-check's `seed` and `path` parameters). */
  seed: number;
  path: string;
}

/** The ioctl names the fuzzer covers: the core table, each probed driver's table, and one bogus name. */
export function ioctlUniverse(world: FuzzWorld): string[] {
  const names = new Set(coreIoctls().map((d) => d.name));
  for (const dev of world.devices) for (const d of dev.driverIoctls()) names.add(d.name);
  names.add(BOGUS_IOCTL);
  return [...names];
}

function fieldsOf(world: FuzzWorld, name: string): readonly string[] | undefined {
  const def = ioctlDefOf(world.devices, name);
  return def === undefined ? undefined : ioctlFields(def);
}

/** True if ioctl `name` keeps the ops before the one that failed (`FuzzDriver.appliesInPart`). */
function appliesInPart(world: FuzzWorld, name: string | undefined): boolean {
  return name !== undefined && world.drivers.some((d) => (d.appliesInPart ?? []).includes(name));
}

function templateOf(world: FuzzWorld, name: string): FuzzTemplate | undefined {
  for (const d of world.drivers) if (d.templates?.[name] !== undefined) return d.templates[name];
  return undefined;
}

/**
 * Whether `name` can work on `file` for `proc`: the device has it (its driver's table, else the
 * core's), has the features it needs, and `proc` passes its permission check there (a
 * `DRM_MASTER` ioctl goes to the master's node, a primary-only one to a primary node).
 */
function fits(file: DrmFile, proc: Process, name: string): boolean {
  const dev = file.device;
  const def = ioctlDefOn(dev, name);
  if (def === undefined || !dev.checkFeature(def.requires)) return false;
  try {
    drmIoctlPermit(def.flags, file, name, proc);
    return true;
  } catch {
    return false;
  }
}

/** The caller of an ioctl on `fd` as the reachability oracle sees it, and the definition the device runs for `cmd`. */
function callerOf(world: FuzzWorld, proc: Process, fd: number, cmd: number) {
  const file = drmFileOf(proc, fd);
  const def = file === undefined ? undefined : drmIoctlLookup(file.device, cmd);
  if (file === undefined || def === undefined) return undefined;
  // A driver's member names and corrections apply to its own ioctls only.
  const own = file.device.driverIoctl(def.name) === def;
  const driver = own ? world.drivers[world.devices.indexOf(file.device)] : undefined;
  const caller: FuzzCaller = { proc, file, driver };
  return { caller, def };
}

class InvariantError extends Error {}

/** What the fuzzer needs of a task, whatever it returns. */
type Call = Pick<Task<unknown>, "state" | "error" | "context" | "name">;

/** The syncobj waits: always interruptible, never converting `-ERESTARTSYS` themselves. */
const SYNCOBJ_WAITS = new Set(["DRM_IOCTL_SYNCOBJ_WAIT", "DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT"]);

/**
 * Runs the simulation until the call returns. A call still blocked `alarmNs` after it started
 * (default: halfway through its budget) gets `SIGALRM` (invariant 6 checks what a syncobj wait
 * made of it); a process whose handler restarted the call gets a second one with the handler
 * switched to no `SA_RESTART`; a call still blocked at the end of the budget gets `SIGKILL`, which
 * ends its process. False if even that does not return.
 */
async function settle(
  world: FuzzWorld,
  proc: Process,
  task: Call,
  name: string,
  stats: FuzzStats,
  alarmNs = CALL_BUDGET_NS / 2,
): Promise<boolean> {
  const sim = world.sim;
  const start = sim.now;
  await sim.run({ untilNs: sim.now });
  if (task.state !== "running") return true;
  await sim.run({ untilNs: start + alarmNs });
  if (task.state !== "running") return true;
  const i = world.procs.indexOf(proc);
  const restarts = i === 1;
  const alarmsBefore = world.alarms[i]!;
  stats.signals.sent++;
  proc.kill(SIGALRM, { thread: task });
  await sim.run({ untilNs: sim.now + 1 });
  if (SYNCOBJ_WAITS.has(name)) checkInterrupted(world, i, task, name, restarts, alarmsBefore, stats);
  if (task.state === "running" && restarts) {
    stats.signals.restarted++;
    const handler = () => world.alarms[i]!++;
    proc.sigaction(SIGALRM, { handler });
    proc.kill(SIGALRM, { thread: task });
    await sim.run({ untilNs: sim.now + 1 });
    proc.sigaction(SIGALRM, { handler, flags: SA_RESTART });
  }
  if (task.state !== "running") {
    if (task.state === "failed" && isKernelError(task.error, "EINTR")) stats.signals.eintr++;
    return true;
  }
  await sim.run({ untilNs: Math.max(sim.now, start + CALL_BUDGET_NS) });
  if (task.state !== "running") return true;
  stats.signals.killed++;
  if (!proc.exited) proc.kill(SIGKILL);
  await sim.run({ untilNs: sim.now + 1 });
  return task.state !== "running";
}

/**
 * Invariant 6, right after `SIGALRM` reached a blocked syncobj wait (`drm_syncobj_array_wait_timeout`
 * returned `-ERESTARTSYS`; `arch_do_signal_or_restart` decided): without `SA_RESTART` the call is
 * over with `EINTR`; with it, the call is running again (or finished on its own), never `EINTR`.
 * Either way the handler ran once.
 */
function checkInterrupted(
  world: FuzzWorld,
  i: number,
  task: Call,
  name: string,
  restarts: boolean,
  alarmsBefore: number,
  stats: FuzzStats,
): void {
  stats.invariants++;
  const label = `${world.procs[i]!.name}: ${name} interrupted by SIGALRM`;
  const eintr = task.state === "failed" && isKernelError(task.error, "EINTR");
  if (!restarts && task.state !== "done" && !eintr)
    throw new InvariantError(
      `${label} (handler without SA_RESTART) did not fail with EINTR: ${task.state} ${String(task.error)}`,
    );
  if (restarts && eintr)
    throw new InvariantError(`${label} (handler with SA_RESTART) failed with EINTR instead of restarting`);
  if (world.alarms[i] !== alarmsBefore + 1)
    throw new InvariantError(`${label}: the handler ran ${world.alarms[i]! - alarmsBefore} times, not once`);
}

/**
 * Invariant 7 (`drm_master_check_perm`): a successful SET_MASTER/DROP_MASTER was made by a root
 * process or by the owner of a file that was master before the call.
 */
function checkMasterPerm(
  label: string,
  caller: Process,
  before: { wasMaster: boolean; owner: Process },
): void {
  if (drmProcessIsRoot(caller)) return;
  if (before.wasMaster && before.owner === caller) return;
  throw new InvariantError(
    `${label} succeeded for ${caller}, which is not root and not the owner (${before.owner}) of a file that was master`,
  );
}

function describeError(e: unknown): string {
  return e instanceof Error ? `${e.constructor.name}: ${e.message}\n${e.stack ?? ""}` : String(e);
}

/** Runs one step and checks invariants 1–8. */
async function step(world: FuzzWorld, a: FuzzAction, stats: FuzzStats, universe: string[]): Promise<void> {
  const proc: Process = world.procs[a.proc]!;
  // A process SIGKILLed by an earlier step (settle) makes no more calls.
  if (proc.exited) return;
  const sim = world.sim;
  const findingsBefore = sim.validator.findings.length;
  const before = snapshotState(world);
  const startNs = sim.now;
  let label: string;
  let argsIn: Record<string, unknown> | undefined;
  let argsCopy = "";
  let argsOrig: unknown;
  let ioctlName = "";
  let reached = false;
  let reachedDevice: DrmDevice | undefined;
  let reach: { caller: FuzzCaller; before: ReachBefore } | undefined;
  let task: Call;
  if (a.op === "ioctl") {
    const name = universe[a.ioctl % universe.length]!;
    // Mostly a node where the ioctl can work (its driver's device; a syncobj device for syncobj
    // ioctls), sometimes any DRM node: both the deep paths and the mismatches get exercised.
    const all = drmFds(proc);
    const fitting = all.filter((fd) => fits(drmFileOf(proc, fd)!, proc, name));
    const fds = a.fd < 12 && fitting.length > 0 ? fitting : all;
    const fd = fds.length > 0 ? fds[a.fd % fds.length]! : a.fd;
    argsIn = resolveArgs(world, proc, fd, name, a.args, fieldsOf(world, name), templateOf(world, name));
    const cmd = ioctlCmdOf(world.devices, name);
    const ran = callerOf(world, proc, fd, cmd);
    argsCopy = fc.stringify(argsIn);
    argsOrig = structuredClone(argsIn);
    ioctlName = name;
    const target = drmFileOf(proc, fd);
    reached = target !== undefined && !target.device.unplugged && !target.closed;
    reachedDevice = target?.device;
    label = `${proc.name}: ioctl(${fd}, ${name}, ${argsCopy})`;
    stats.calls++;
    let s = stats.byIoctl[name];
    if (s === undefined) {
      s = { calls: 0, ok: 0 };
      stats.byIoctl[name] = s;
    }
    s.calls++;
    const args = argsIn;
    if (ran !== undefined) reach = { caller: ran.caller, before: reachBefore(ran.caller, ran.def, args) };
    const masterOp = name === "DRM_IOCTL_SET_MASTER" || name === "DRM_IOCTL_DROP_MASTER";
    const file = masterOp ? drmFileOf(proc, fd) : undefined;
    const perm = file === undefined ? undefined : { wasMaster: file.wasMaster, owner: file.owner };
    task = proc.run(() => proc.ioctl(fd, cmd, args));
    if (!(await settle(world, proc, task, name, stats, a.alarmNs)))
      throw new InvariantError(`${label} never returned, even after SIGKILL`);
    stats.invariants++;
    if (task.state === "done") {
      stats.ok++;
      if (ran?.def.name === name) s.ok++;
      if (perm !== undefined) {
        stats.invariants++;
        checkMasterPerm(label, proc, perm);
      }
      if (reach !== undefined) {
        stats.invariants++;
        stats.named += reach.before.refs.length;
        const wrong = reachViolations(reach.caller, reach.before, args);
        if (wrong.length > 0)
          throw new InvariantError(
            `${label} succeeded but named what its caller cannot reach:\n  ${wrong.join("\n  ")}`,
          );
      }
    }
  } else {
    stats.syscalls++;
    const fd = resolveValue(world, proc, -1, a.fd) as number;
    const other = world.procs[1 - a.proc]!;
    label = `${proc.name}: ${a.op}(${fc.stringify(fd)})`;
    task = proc.run(() => {
      if (a.op === "close") proc.close(fd);
      else if (a.op === "dup") proc.dup(fd);
      else proc.sendFd(other, fd);
    });
    if (!(await settle(world, proc, task, a.op, stats))) throw new InvariantError(`${label} never returned`);
    stats.invariants++;
  }
  if (task.state === "failed") {
    const e = task.error;
    stats.invariants++;
    if (!isKernelError(e)) throw new InvariantError(`${label} threw a non-KernelError: ${describeError(e)}`);
    if (e.code === "ERESTARTSYS")
      throw new InvariantError(
        `${label}: ERESTARTSYS reached userspace (the syscall layer must restart or say EINTR)`,
      );
    stats.errnos[e.code] = (stats.errnos[e.code] ?? 0) + 1;
    if (argsIn !== undefined && fc.stringify(argsIn) !== argsCopy) {
      stats.invariants++;
      const why = copyBackOk(world, ioctlName, e.code, reached, argsOrig, argsIn, reachedDevice);
      if (why !== undefined)
        throw new InvariantError(`${label} failed with ${e.code} but changed the caller's argument: ${why}`);
    }
    // A call that blocked let virtual time pass, and work in flight (jobs holding references,
    // memory freed on completion) moved on meanwhile: compare what the call itself could change.
    const partial = appliesInPart(world, ioctlName);
    if (!partial) stats.invariants++;
    const after = partial ? before : snapshotState(world);
    const diff =
      sim.now === startNs
        ? diffSnapshots(before, after)
        : diffSnapshots(withoutTimeDependent(before), withoutTimeDependent(after));
    if (diff.length > 0)
      throw new InvariantError(
        `${label} failed with ${e.code} (${e.message}) but changed state:\n  ${diff.join("\n  ")}`,
      );
  }
  stats.invariants++;
  const fresh = sim.validator.findings.slice(findingsBefore);
  if (fresh.length > 0)
    throw new InvariantError(
      `${label} made the validator report:\n  ${fresh.map((f) => `${f.kind}: ${f.title}`).join("\n  ")}`,
    );
}

/** Runs one sequence in a fresh world; throws an `InvariantError` on the first violation. */
export async function runSequence(
  actions: readonly FuzzAction[],
  opts: { seed: number; drivers?: readonly FuzzDriver[] },
  stats: FuzzStats,
): Promise<void> {
  stats.runs++;
  const world = await buildWorld({ seed: opts.seed, ...(opts.drivers ? { drivers: opts.drivers } : {}) });
  const universe = ioctlUniverse(world);
  let failed: unknown;
  try {
    for (const a of actions) await step(world, a, stats, universe);
  } catch (e) {
    failed = e;
  }
  // Close the world even after a violation, so the next sequence starts from nothing; the
  // violation is what the sequence reports, even if the broken world then fails to close.
  let findings: string[];
  try {
    findings = await closeWorld(world);
  } catch (e) {
    throw failed ?? e;
  }
  if (failed !== undefined) throw failed;
  stats.invariants++;
  if (findings.length > 0) throw new InvariantError(`teardown is not clean:\n  ${findings.join("\n  ")}`);
}

/** A fresh, empty `FuzzStats`. */
export function newFuzzStats(): FuzzStats {
  return {
    runs: 0,
    calls: 0,
    syscalls: 0,
    ok: 0,
    errnos: {},
    invariants: 0,
    named: 0,
    signals: { sent: 0, eintr: 0, restarted: 0, killed: 0 },
    byIoctl: {},
  };
}

/**
 * Runs a campaign: `runs` random sequences of up to `callsPerRun` steps (repeated with the next
 * seeds until `minCalls` ioctls were issued). Returns the statistics and, if an invariant broke,
 * the shrunk counterexample.
 */
export async function runFuzz(opts: FuzzOptions): Promise<{ stats: FuzzStats; failure?: FuzzFailure }> {
  const stats = newFuzzStats();
  const pool = fieldPoolOf(opts.drivers ?? FUZZ_DRIVERS);
  const seqArb = fc.array(actionArbOver(pool), {
    minLength: 1,
    maxLength: opts.callsPerRun ?? 40,
    size: "max",
  });
  for (let seed = opts.seed; ; seed++) {
    const property = fc.asyncProperty(seqArb, async (actions) => {
      await runSequence(actions, { seed, ...(opts.drivers ? { drivers: opts.drivers } : {}) }, stats);
    });
    const details = await fc.check(property, {
      seed,
      numRuns: opts.runs,
      ...(opts.shrink === false ? { endOnFailure: true } : {}),
    });
    if (details.failed) {
      const err = details.errorInstance;
      return {
        stats,
        failure: {
          message: err instanceof Error ? err.message : String(err),
          counterexample: fc.stringify(details.counterexample),
          seed: details.seed,
          path: details.counterexamplePath ?? "",
        },
      };
    }
    if (stats.calls >= (opts.minCalls ?? 0)) return { stats };
  }
}

/**
 * Invariant 3: why a rejected call's change to its argument is not one `drm_ioctl` makes, or
 * undefined if it is. The kernel copies the struct back after the handler ran, whatever it
 * returned — but not when the copy in failed or never happened, nor without `_IOC_READ`.
 */
export function copyBackOk(
  world: FuzzWorld,
  name: string,
  errno: string,
  reached: boolean,
  before: unknown,
  after: Record<string, unknown>,
  device?: DrmDevice,
): string | undefined {
  // The request is the ioctl's number: on another driver's fd the same number is that driver's
  // ioctl (drm_ioctl indexes its table by number and copies its struct back), so the members
  // that may change are those of whatever the fd's device answers to.
  const sent = name === BOGUS_IOCTL ? undefined : ioctlDefOf(world.devices, name);
  const def = sent !== undefined && device !== undefined ? drmIoctlLookup(device, sent.cmd) : sent;
  if (def === undefined) return "no ioctl of that number exists, so nothing was copied in";
  if (!reached) return `the fd was no open DRM file of a live device, so ${errno} came before the copy in`;
  // Both the request and the table entry must say a direction for drm_ioctl to copy that way.
  const dir = iocDir(def.cmd) & iocDir(sent?.cmd ?? def.cmd);
  if ((dir & IocDir.READ) === 0) return "the request has no _IOC_READ: nothing is copied back";
  const ctx = { sim: world.sim, what: name };
  // Without _IOC_WRITE nothing is read: the handler starts from zeros, whatever the caller passed.
  if ((dir & IocDir.WRITE) !== 0)
    try {
      uapiCopyFromJs(def.layout, before, ctx);
    } catch {
      return "the argument was malformed, so the copy in failed and nothing may be copied back";
    }
  const members = def.layout.type === "struct" ? Object.keys(def.layout.fields) : [];
  const was = before as Record<string, unknown>;
  for (const k of new Set([...Object.keys(was), ...Object.keys(after)]))
    if (fc.stringify(was[k]) !== fc.stringify(after[k]) && !members.includes(k))
      return `${k} is not a member of ${def.layout.type === "struct" ? def.layout.name : "the argument"}`;
  // Stray members the caller added are its own business; the copied-back ones must decode.
  const copied = Object.fromEntries(members.filter((k) => k in after).map((k) => [k, after[k]]));
  try {
    uapiCopyFromJs(def.layout, copied, ctx);
  } catch (e) {
    return `what was copied back is not a well-formed struct (${describeError(e)})`;
  }
  return undefined;
}
