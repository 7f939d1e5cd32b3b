/**
 * The `ioctls` check: every ioctl a driver lists, called the way userspace calls it and then
 * corrupted, each call on a fresh device so one broken ioctl fails alone:
 *
 * 1. the valid call (the driver's userspace library, `ConformanceIoctl.call`) succeeds, and the
 *    device then tears down clean;
 * 2. for each invalid variant — the pads and flags the argument's layout declares checked
 *    (`EINVAL`, derived here) and the ones the driver lists (unknown handles and ids, values the
 *    handler refuses) — the exact argument the library passed, corrupted, gets the errno the
 *    driver's kernel returns; the refused call changes nothing the suite can see (fds, GEM
 *    handles, live kernel objects, kernel memory); the valid call made after it answers exactly
 *    what it answered on a fresh device (no id or sequence number consumed); and teardown is clean.
 *
 * And coverage: every ioctl in the driver's table is listed, or named in `untested` with a reason.
 * There is no kernel counterpart; IGT's per-driver `*_bad_*` subtests do this by hand.
 */

import { drmIoctlLookup } from "@drmsim/drm";
import { isKernelError } from "@drmsim/runtime";
import { Bench, type BenchWork, Problems } from "./bench.js";
import type {
  ConformanceCorruption,
  ConformanceDriver,
  ConformanceIds,
  ConformanceIoctl,
} from "./conformance-driver.js";
import { copyIoctlArg, type RecordedIoctl } from "./recording-process.js";
import { conformanceState, conformanceStateChanges } from "./state-snapshot.js";
import { layoutCorruptions } from "./uapi-corruptions.js";

/** The verdict on one listed ioctl. */
export interface ConformanceIoctlVerdict {
  name: string;
  ok: boolean;
  problems: string[];
  /** The errno of each refused call made, in order (what the corruptions expected). */
  refused: string[];
}

/** What the valid call did on a fresh device: the request, its argument, and what it answered. */
interface ValidCall {
  readonly fd: number;
  readonly cmd: number;
  readonly arg: unknown;
  /** The call's return value and the argument the kernel filled in, as text. */
  readonly answer: string;
}

const errorText = (e: unknown): string =>
  isKernelError(e) ? `${e.code} (${e.message})` : e instanceof Error ? `${e.name}: ${e.message}` : String(e);

/** A stable text for comparing answers: bigints and byte arrays spelled out. */
function answerText(ret: unknown, after: unknown): string {
  return JSON.stringify({ ret, after }, (_k, v) =>
    typeof v === "bigint" ? `${v}n` : ArrayBuffer.isView(v) ? Array.from(v as Uint8Array) : v,
  );
}

const lastCall = (w: BenchWork, name: string): RecordedIoctl | undefined =>
  w.proc.calls.findLast((c) => c.name === name);

/** `driver.setup` then `ioctl.prepare`, in `w`: the ids the call and its corruptions refer to. */
async function ids(
  driver: ConformanceDriver,
  ioctl: ConformanceIoctl,
  w: BenchWork,
): Promise<ConformanceIds> {
  const base = (await driver.setup?.(w)) ?? {};
  return { ...base, ...((await ioctl.prepare?.(w, base)) ?? {}) };
}

/** Step 1: the valid call on a fresh device. Returns what it did, or null if it did not succeed. */
async function validCall(
  driver: ConformanceDriver,
  ioctl: ConformanceIoctl,
  seed: number | string,
  p: Problems,
): Promise<ValidCall | null> {
  const bench = new Bench(driver, seed);
  let out: ValidCall | null = null;
  try {
    await bench.exec(async () => {
      const w = await bench.open("conformance-client");
      const known = await ids(driver, ioctl, w);
      w.proc.calls.length = 0;
      let ret: unknown;
      try {
        ret = await ioctl.call(w, known);
      } catch (e) {
        p.add(`${ioctl.name}: the valid call failed: ${errorText(e)}`);
        return;
      }
      const rec = lastCall(w, ioctl.name);
      if (rec === undefined) {
        const made = w.proc.calls.map((c) => c.name);
        p.add(
          `${ioctl.name}: the valid call made no ${ioctl.name} ioctl (it made ${made.length === 0 ? "none" : made.join(", ")})`,
        );
        return;
      }
      out = { fd: rec.fd, cmd: rec.cmd, arg: rec.arg, answer: answerText(ret, rec.after) };
    });
  } catch (e) {
    p.add(`${ioctl.name}: setting up for the valid call failed: ${errorText(e)}`);
  }
  await bench.settle();
  p.findings(await bench.close(), `${ioctl.name}: after the valid call, at teardown`);
  return out;
}

/** Step 2: one corrupted call on a fresh device, then the valid call. */
async function refusedCall(
  driver: ConformanceDriver,
  ioctl: ConformanceIoctl,
  valid: ValidCall,
  c: ConformanceCorruption,
  seed: number | string,
  p: Problems,
): Promise<void> {
  const tag = `${ioctl.name} with ${c.what}`;
  const bench = new Bench(driver, seed);
  try {
    await bench.exec(async () => {
      const w = await bench.open("conformance-client");
      const known = await ids(driver, ioctl, w);
      const arg = copyIoctlArg(valid.arg);
      c.corrupt(arg, known);
      const before = conformanceState(w);
      let err: unknown;
      try {
        await w.proc.ioctl(valid.fd, valid.cmd, arg as object);
      } catch (e) {
        err = e;
      }
      if (err === undefined) {
        p.add(`${tag}: the call succeeded; the kernel refuses it with ${c.errno}`);
        return;
      }
      if (!isKernelError(err)) {
        p.add(`${tag}: the call threw ${errorText(err)} instead of failing with ${c.errno}`);
        return;
      }
      if (err.code !== c.errno) p.add(`${tag}: ${errorText(err)}, expected ${c.errno}`);
      for (const change of conformanceStateChanges(before, conformanceState(w)))
        p.add(`${tag}: the refused call changed state: ${change}`);
      w.proc.calls.length = 0;
      let ret: unknown;
      try {
        ret = await ioctl.call(w, known);
      } catch (e) {
        p.add(`${tag}: the valid call made after it failed: ${errorText(e)}`);
        return;
      }
      const answer = answerText(ret, lastCall(w, ioctl.name)?.after);
      if (answer !== valid.answer)
        p.add(
          `${tag}: the valid call made after it answered ${answer}, on a fresh device ${valid.answer}: the refused call left a trace`,
        );
    });
  } catch (e) {
    p.add(`${tag}: setting up for the call failed: ${errorText(e)}`);
  }
  await bench.settle();
  p.findings(await bench.close(), `${tag}: at teardown`);
}

/** The layout's corruptions of `valid`'s argument, then the driver's own. */
function corruptionsOf(
  driver: ConformanceDriver,
  ioctl: ConformanceIoctl,
  valid: ValidCall,
  seed: number | string,
) {
  // The layout is the device's declaration of the request: read it from a device of the driver.
  const bench = new Bench(driver, seed);
  const def = drmIoctlLookup(bench.device, valid.cmd);
  bench.host.remove(bench.device);
  const derived = def === undefined ? [] : layoutCorruptions(def.layout, valid.arg);
  return [...derived, ...(ioctl.invalid ?? [])];
}

/** Runs the `ioctls` check for one listed ioctl (see the module comment). */
export async function runConformanceIoctl(
  driver: ConformanceDriver,
  name: string,
  opts: { seed?: number | string } = {},
): Promise<ConformanceIoctlVerdict> {
  const ioctl = driver.ioctls?.find((i) => i.name === name);
  if (ioctl === undefined) throw new Error(`${driver.name} lists no ioctl '${name}'`);
  const seed = opts.seed ?? 1;
  const p = new Problems();
  const refused: string[] = [];
  const valid = await validCall(driver, ioctl, seed, p);
  if (valid !== null)
    for (const c of corruptionsOf(driver, ioctl, valid, seed)) {
      refused.push(c.errno);
      await refusedCall(driver, ioctl, valid, c, seed, p);
    }
  return { name, ok: p.list.length === 0, problems: p.list, refused };
}

/**
 * Coverage: the driver's ioctls that are neither listed nor `untested`, and listed names the
 * driver has no ioctl for. One problem each.
 */
export async function conformanceIoctlCoverage(
  driver: ConformanceDriver,
  seed: number | string = 1,
): Promise<string[]> {
  const bench = new Bench(driver, seed);
  const table = bench.device.driverIoctls().map((d) => d.name);
  bench.host.remove(bench.device);
  await bench.sim.run();
  const listed = new Set((driver.ioctls ?? []).map((i) => i.name));
  const untested = driver.untested ?? {};
  const out: string[] = [];
  for (const n of table)
    if (!listed.has(n) && untested[n] === undefined)
      out.push(
        `the driver's ioctl ${n} is not described: list it in \`ioctls\` with a valid call, or in \`untested\` with the reason`,
      );
  for (const n of listed)
    if (!table.includes(n)) out.push(`\`ioctls\` lists ${n}, which is not an ioctl of ${driver.name}`);
  return out;
}
