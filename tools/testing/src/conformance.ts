/**
 * The driver conformance suite: the cross-driver rules every driver must keep, checked against a
 * driver's real uAPI on a fresh simulator per check, so one broken rule fails one check with the
 * validator's own words and the others still say what holds.
 *
 * - `fences-signal` — every job completes on its own within a bound: its fence signals (the
 *   "Indefinite DMA fences" rule of `Documentation/driver-api/dma-buf.rst`: a fence must signal in
 *   finite time without waiting on userspace); for a driver without dma_fence (device buffers),
 *   userspace's own zero-timeout wait says it completed.
 * - `signalling-paths` — nothing on the path to signalling allocates with reclaim or waits on a
 *   fence. The kernel teaches lockdep `fs_reclaim → dma_fence_map` at boot
 *   (`dma_resv_lockdep()`); here a shrinker that waits on fences is registered and reclaim runs
 *   once, so any `GFP_KERNEL` allocation or fence wait inside a signalling section closes a cycle.
 * - `resv-usage` (GEM buffers) — a write job's fence is on the buffer's resv with
 *   `DMA_RESV_USAGE_WRITE`, a read job's with `READ` or stronger (implicit sync: importers wait
 *   for writers, writers for readers, by usage; amdgpu treats every BO of a submission as written).
 * - `prime` (GEM buffers) — export → fd → a second process imports on its own file: the same GEM
 *   object (the PRIME self-import rule of `drm_gem_prime_import_dev`) and the same bytes; a second
 *   device of the driver imports it as its own object sharing the dma-buf's resv, and re-exports
 *   the original dma-buf.
 * - `dma-buf-export` (device buffers) — see `check-export.ts`.
 * - `ioctls` (when the descriptor lists them) — each ioctl valid and corrupted; see `check-ioctls.ts`.
 * - `teardown` — after jobs, exports and imports, exiting the processes and removing the device
 *   leaves nothing behind (`sim.teardown()` clean: no leaks, no unsignalled fences, no held locks).
 */
import type { DmaBuf } from "@drmsim/dma-buf";
import type { DmaFence } from "@drmsim/dma-fence";
import { DmaResvUsage } from "@drmsim/dma-resv";
import { drmPrimeFDToHandle, drmPrimeHandleToFD } from "@drmsim/drm";
import type { DrmGemObject } from "@drmsim/gem";
import { dmaFenceMightWait } from "@drmsim/runtime";
import { Bench, drmFileOf, Problems } from "./bench.js";
import { checkDmaBufExport } from "./check-export.js";
import { conformanceIoctlCoverage, runConformanceIoctl } from "./check-ioctls.js";
import {
  type ConformanceDriver,
  type ConformanceSubmitted,
  type ConformanceWork,
  conformanceCreateBuffer,
  conformanceHasGem,
  conformanceNode,
  DEFAULT_FENCE_TIMEOUT_NS,
} from "./conformance-driver.js";

/** The checks, in the order they run. */
export const CONFORMANCE_CHECKS = [
  { id: "fences-signal", title: "job fences signal in bounded time" },
  { id: "signalling-paths", title: "no reclaim or fence waits in fence signalling paths" },
  {
    id: "resv-usage",
    title: "job fences carry the right dma_resv usage (WRITE for writes, READ or WRITE for reads)",
  },
  {
    id: "prime",
    title:
      "PRIME round-trip: export, pass the fd, import in a second process (same object, same bytes) and on a second device (shared resv)",
  },
  {
    id: "dma-buf-export",
    title:
      "device memory exported as a dma-buf: the same buffer in another process, alive past its exporter, released with the last fd",
  },
  {
    id: "ioctls",
    title:
      "each driver ioctl: the valid call succeeds; corrupted pads, flags, handles and ids get the kernel's errno and change nothing",
  },
  { id: "teardown", title: "leak-free teardown after the device is removed" },
] as const;

/** A check's id. */
export type ConformanceCheckId = (typeof CONFORMANCE_CHECKS)[number]["id"];

/** One part of a check that is reported on its own line (the `ioctls` check: one per ioctl). */
export interface ConformanceStep {
  name: string;
  ok: boolean;
  /** What was done, e.g. `valid call; refused: 2 × EINVAL, 1 × ENOENT`. */
  summary: string;
}

/** The verdict of one check. */
export interface ConformanceResult {
  id: ConformanceCheckId;
  title: string;
  ok: boolean;
  /** Why it failed: one entry per problem (validator findings in full). Empty when `ok`. */
  problems: string[];
  /** The check's parts, when it reports them one by one. */
  steps?: ConformanceStep[];
}

/** A check that does not apply to a driver, and why. */
export interface ConformanceSkipped {
  id: ConformanceCheckId;
  reason: string;
}

/** The verdicts of a whole run. */
export interface ConformanceReport {
  driver: string;
  ok: boolean;
  results: ConformanceResult[];
  /** The checks that do not apply to this driver. */
  skipped: ConformanceSkipped[];
}

/**
 * Why check `id` does not apply to `driver`, or undefined when it does: the GEM checks need GEM
 * buffers, the export check device buffers, the ioctls check a list of ioctls.
 */
export function conformanceCheckSkipped(
  driver: ConformanceDriver,
  id: ConformanceCheckId,
): string | undefined {
  const gem = conformanceHasGem(driver);
  if ((id === "resv-usage" || id === "prime") && !gem)
    return "device buffers: no GEM objects, reservation objects or PRIME";
  if (id === "dma-buf-export" && gem) return "GEM buffers: sharing is checked by prime";
  if (id === "ioctls" && (driver.ioctls === undefined || driver.ioctls.length === 0))
    return "the descriptor lists no ioctls";
  return undefined;
}

/** The checks that apply to `driver`, in the order they run. */
export function conformanceChecksFor(driver: ConformanceDriver): (typeof CONFORMANCE_CHECKS)[number][] {
  return CONFORMANCE_CHECKS.filter((c) => conformanceCheckSkipped(driver, c.id) === undefined);
}

/** Options of `runDriverConformance`. */
export interface ConformanceOptions {
  /** Seed of every check's simulator (default 1). */
  seed?: number | string;
  /** Run only these checks. */
  only?: readonly ConformanceCheckId[];
}

const BUFFER_SIZE = 4096;

/** The fences of `resv` not in `before`, with their usages (no references taken). */
function newFences(obj: DrmGemObject, before: ReadonlySet<DmaFence>): [DmaFence, DmaResvUsage][] {
  const out: [DmaFence, DmaResvUsage][] = [];
  obj.resv.fences.forEach((f, i) => {
    if (!before.has(f)) out.push([f, obj.resv.usages[i]!]);
  });
  return out;
}

/** Submits a job on `handle` and returns the fences it added to the buffer's resv (referenced). */
async function submitAndCapture(
  driver: ConformanceDriver,
  work: ConformanceWork,
  handle: number,
  write: boolean,
): Promise<[DmaFence, DmaResvUsage][]> {
  const obj = drmFileOf(work).gem.lookup(handle);
  try {
    const before = new Set(obj.resv.fences);
    await driver.submit(work, { handle, write });
    const added = newFences(obj, before);
    for (const [f] of added) f.get();
    return added;
  } finally {
    obj.put();
  }
}

const usageName = (u: DmaResvUsage): string =>
  Object.entries(DmaResvUsage).find(([, v]) => v === u)?.[0] ?? String(u);

/** A device-buffer driver's submission: what `completed()` answers about it. */
interface Submitted {
  readonly write: boolean;
  readonly s: ConformanceSubmitted;
}

const isSubmitted = (v: unknown): v is ConformanceSubmitted =>
  typeof v === "object" && v !== null && typeof (v as ConformanceSubmitted).completed === "function";

/** Submits a job on a new buffer of a device-buffer driver; the completion query, or a problem. */
async function submitDeviceJob(
  driver: ConformanceDriver,
  w: ConformanceWork,
  write: boolean,
  p: Problems,
): Promise<Submitted | null> {
  const handle = await conformanceCreateBuffer(driver, w, BUFFER_SIZE);
  const s = await driver.submit(w, { handle, write });
  if (isSubmitted(s)) return { write, s };
  p.add(
    "submit returned no completion query: a driver with device buffers returns { completed() } (a zero-timeout wait) so the suite can tell when the job is done",
  );
  return null;
}

async function checkFencesSignal(driver: ConformanceDriver, bench: Bench, p: Problems): Promise<void> {
  const bound = driver.fenceTimeoutNs ?? DEFAULT_FENCE_TIMEOUT_NS;
  if (!conformanceHasGem(driver)) {
    const jobs = await bench.exec(async () => {
      const w = await bench.open("conformance-client");
      const out: Submitted[] = [];
      for (const write of [true, false]) {
        const j = await submitDeviceJob(driver, w, write, p);
        if (j !== null) out.push(j);
      }
      return out;
    });
    await bench.settle();
    const done = await bench.exec(async () => {
      const out: boolean[] = [];
      for (const j of jobs) out.push(await j.s.completed());
      return out;
    });
    jobs.forEach((j, i) => {
      if (!done[i])
        p.add(
          `a ${j.write ? "write" : "read"} job had not completed ${bound / 1e9} s (virtual) after submission: a job must complete in bounded time without help from userspace`,
        );
    });
    return;
  }
  const fences = await bench.exec(async () => {
    const w = await bench.open("conformance-client");
    const out: DmaFence[] = [];
    for (const write of [true, false]) {
      const handle = await conformanceCreateBuffer(driver, w, BUFFER_SIZE);
      const added = await submitAndCapture(driver, w, handle, write);
      if (added.length === 0)
        p.add(
          `a ${write ? "write" : "read"} job added no fence to the buffer's reservation object, so nobody can wait for it (implicit sync is broken)`,
        );
      out.push(...added.map(([f]) => f));
    }
    return out;
  });
  await bench.settle();
  for (const f of fences) {
    if (!f.isSignaled())
      p.add(
        `${f.describe()} was not signalled ${bound / 1e9} s (virtual) after submission: a fence must signal in bounded time without help from userspace ("Indefinite DMA fences", dma-buf.rst)`,
      );
    f.put();
  }
}

async function checkSignallingPaths(driver: ConformanceDriver, bench: Bench, p: Problems): Promise<void> {
  const { sim } = bench;
  // Teach the validator fs_reclaim → dma_fence_map, as the kernel does at boot with a shrinker
  // that waits on fences: afterwards a GFP_KERNEL allocation or a wait on a signalling path is a cycle.
  const unregister = sim.mm.registerShrinker({
    name: "conformance-fence-waiting-shrinker",
    count: () => 1,
    scan: () => {
      dmaFenceMightWait(sim, "conformance shrinker: dma_fence_wait");
      return 0;
    },
  });
  try {
    await bench.exec(async () => {
      sim.mm.reclaim(1);
    });
    const primed = sim.validator.findings.length;
    const fences = await bench.exec(async () => {
      const w = await bench.open("conformance-client");
      const out: DmaFence[] = [];
      for (const write of [true, false, true]) {
        if (!conformanceHasGem(driver)) {
          await submitDeviceJob(driver, w, write, p);
          continue;
        }
        const handle = await conformanceCreateBuffer(driver, w, BUFFER_SIZE);
        for (const [f] of await submitAndCapture(driver, w, handle, write)) out.push(f);
      }
      return out;
    });
    await bench.settle();
    for (const f of fences) f.put();
    p.findings(sim.validator.findings.slice(primed), "while jobs ran and signalled");
  } finally {
    unregister();
  }
}

async function checkResvUsage(driver: ConformanceDriver, bench: Bench, p: Problems): Promise<void> {
  await bench.exec(async () => {
    const w = await bench.open("conformance-client");
    for (const write of [true, false]) {
      const handle = await conformanceCreateBuffer(driver, w, BUFFER_SIZE);
      const added = await submitAndCapture(driver, w, handle, write);
      // Usages are ordered KERNEL < WRITE < READ < BOOKKEEP, and a waiter for one usage waits for
      // every fence at or below it: a write must be seen by readers (at most WRITE), a read by
      // writers (at most READ). Declaring a read as a write over-synchronises, which is legal
      // (amdgpu remembers every BO of a submission as written).
      const want = write ? DmaResvUsage.WRITE : DmaResvUsage.READ;
      if (added.length === 0)
        p.add(`a ${write ? "write" : "read"} job added no fence to the buffer's reservation object`);
      for (const [f, usage] of added) {
        if (usage > want)
          p.add(
            `a ${write ? "write" : "read"} job's ${f.describe()} is on the buffer's resv with usage ${usageName(usage)}, expected ${write ? "WRITE" : "READ (or WRITE)"}: ${write ? "importers waiting for writers (DMA_RESV_USAGE_WRITE) would read the buffer while it is written" : "a writer waiting for readers (DMA_RESV_USAGE_READ) would overwrite the buffer while it is read"}`,
          );
        f.put();
      }
    }
  });
}

async function checkPrime(driver: ConformanceDriver, bench: Bench, p: Problems): Promise<void> {
  const pattern = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff);
  await bench.exec(async () => {
    const a = await bench.open("exporter");
    const b = await bench.open("importer");
    const handle = await conformanceCreateBuffer(driver, a, BUFFER_SIZE);
    const dmabufFd = await drmPrimeHandleToFD(a.proc, a.fd, handle);
    const buf = a.proc.file(dmabufFd).priv as DmaBuf;
    const map = await buf.vmapUnlocked();
    map.write(128, pattern);
    await buf.vunmapUnlocked(map);
    const passed = a.proc.sendFd(b.proc, dmabufFd);
    const imported = await drmPrimeFDToHandle(b.proc, b.fd, passed);
    const mine = drmFileOf(a).gem.peek(handle);
    const theirs = drmFileOf(b).gem.peek(imported);
    if (mine === undefined || theirs !== mine)
      p.add(
        `importing the exported dma-buf on the same device gave a different GEM object (${theirs?.label ?? "none"} instead of ${mine?.label ?? "none"}): a self-import must return the exporter's object (drm_gem_prime_import_dev)`,
      );
    const again = await drmPrimeFDToHandle(b.proc, b.fd, passed);
    if (again !== imported)
      p.add(
        `importing the same dma-buf twice in one file gave handles ${imported} and ${again}, expected one handle`,
      );
    const rbuf = b.proc.file(passed).priv as DmaBuf;
    if (rbuf !== buf) p.add("the fd passed to the second process refers to a different dma-buf");
    const rmap = await rbuf.vmapUnlocked();
    const got = rmap.read(128, pattern.length);
    await rbuf.vunmapUnlocked(rmap);
    const diff = got.findIndex((v, i) => v !== pattern[i]);
    if (diff >= 0)
      p.add(
        `the importer read different bytes than the exporter wrote (first difference at offset ${128 + diff}: ${got[diff]} instead of ${pattern[diff]})`,
      );
    b.proc.close(passed);

    // A second device of the same driver imports it: a new GEM object wrapping the same dma-buf,
    // sharing the exporter's reservation object (implicit sync across devices), and re-exporting
    // it hands back the original dma-buf (drm_gem_prime_handle_to_fd on an imported object).
    const second = driver.probe(bench.host);
    const cproc = bench.process("second-device-importer");
    const c: ConformanceWork = {
      sim: bench.sim,
      device: second,
      proc: cproc,
      fd: await cproc.open(conformanceNode(driver, second)),
    };
    const cfd = a.proc.sendFd(cproc, dmabufFd);
    const foreign = await drmPrimeFDToHandle(cproc, c.fd, cfd);
    const fobj = drmFileOf(c).gem.peek(foreign);
    if (fobj === undefined || fobj === mine)
      p.add("importing on a second device did not create that device's own GEM object for the buffer");
    else {
      if (fobj.importAttach?.dmabuf !== buf)
        p.add(`the second device's ${fobj.label} is not attached to the exported dma-buf (import_attach)`);
      if (fobj.resv !== buf.resv)
        p.add(
          `the second device's ${fobj.label} has its own reservation object instead of the dma-buf's: fences of one device would be invisible to the other (implicit sync across devices)`,
        );
    }
    const reFd = await drmPrimeHandleToFD(cproc, c.fd, foreign);
    if (cproc.file(reFd).priv !== buf)
      p.add("re-exporting an imported buffer made a new dma-buf instead of returning the original one");
    cproc.close(reFd);
    cproc.close(cfd);
    a.proc.close(dmabufFd);
  });
}

async function checkTeardown(driver: ConformanceDriver, bench: Bench, p: Problems): Promise<void> {
  await bench.exec(async () => {
    const a = await bench.open("renderer");
    if (!conformanceHasGem(driver)) {
      // An accelerator has one user at a time: the other process only receives the dma-buf.
      const b = bench.process("consumer");
      const h1 = await conformanceCreateBuffer(driver, a, BUFFER_SIZE);
      const h2 = await conformanceCreateBuffer(driver, a, BUFFER_SIZE);
      await driver.submit(a, { handle: h1, write: true });
      await driver.submit(a, { handle: h2, write: false });
      if (driver.exportBuffer !== undefined) a.proc.sendFd(b, await driver.exportBuffer(a, h1, BUFFER_SIZE));
      return;
    }
    const b = await bench.open("compositor");
    const h1 = await conformanceCreateBuffer(driver, a, BUFFER_SIZE);
    const h2 = await conformanceCreateBuffer(driver, a, BUFFER_SIZE);
    await driver.submit(a, { handle: h1, write: true });
    await driver.submit(a, { handle: h2, write: false });
    const fd = await drmPrimeHandleToFD(a.proc, a.fd, h1);
    await drmPrimeFDToHandle(b.proc, b.fd, a.proc.sendFd(b.proc, fd));
  });
  await bench.settle();
  p.findings(await bench.close(), "after the processes exited and the device was removed");
}

/** The `ioctls` check: coverage, then each listed ioctl on its own devices (`check-ioctls.ts`). */
async function checkIoctls(
  driver: ConformanceDriver,
  seed: number | string,
  p: Problems,
): Promise<ConformanceStep[]> {
  for (const c of await conformanceIoctlCoverage(driver, seed)) p.add(c);
  const steps: ConformanceStep[] = [];
  for (const { name } of driver.ioctls ?? []) {
    const v = await runConformanceIoctl(driver, name, { seed });
    for (const prob of v.problems) p.add(prob);
    steps.push({ name, ok: v.ok, summary: ioctlSummary(v.refused) });
  }
  for (const [name, why] of Object.entries(driver.untested ?? {}))
    steps.push({ name, ok: true, summary: `not exercised: ${why}` });
  return steps;
}

/** `valid call; refused: 3 × EINVAL, 1 × ENOENT`. */
function ioctlSummary(refused: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const e of refused) counts.set(e, (counts.get(e) ?? 0) + 1);
  const parts = [...counts].map(([e, n]) => `${n} × ${e}`);
  return `valid call; refused: ${parts.length === 0 ? "none" : parts.join(", ")}`;
}

type Runner = (d: ConformanceDriver, b: Bench, p: Problems) => Promise<void>;

const RUNNERS: Record<Exclude<ConformanceCheckId, "ioctls">, Runner> = {
  "fences-signal": checkFencesSignal,
  "signalling-paths": checkSignallingPaths,
  "resv-usage": checkResvUsage,
  prime: checkPrime,
  "dma-buf-export": checkDmaBufExport,
  teardown: checkTeardown,
};

/**
 * Runs one check on a fresh simulator and returns its verdict. Never throws for a driver's
 * mistake: an exception from the driver is a failed check that quotes it.
 */
export async function runConformanceCheck(
  driver: ConformanceDriver,
  id: ConformanceCheckId,
  opts: { seed?: number | string } = {},
): Promise<ConformanceResult> {
  const check = CONFORMANCE_CHECKS.find((c) => c.id === id);
  if (check === undefined) throw new Error(`unknown conformance check '${id}'`);
  const skipped = conformanceCheckSkipped(driver, id);
  if (skipped !== undefined) throw new Error(`check '${id}' does not apply to ${driver.name}: ${skipped}`);
  const p = new Problems();
  let steps: ConformanceStep[] | undefined;
  try {
    if (id === "ioctls") steps = await checkIoctls(driver, opts.seed ?? 1, p);
    else await RUNNERS[id](driver, new Bench(driver, opts.seed ?? 1), p);
  } catch (e) {
    p.add(`the check failed with an exception: ${e instanceof Error ? e.message : String(e)}`);
  }
  return {
    id,
    title: check.title,
    ok: p.list.length === 0,
    problems: p.list,
    ...(steps !== undefined ? { steps } : {}),
  };
}

/** `drmsim validate`'s engine: runs every check (or `opts.only`) against `driver`. */
export async function runDriverConformance(
  driver: ConformanceDriver,
  opts: ConformanceOptions = {},
): Promise<ConformanceReport> {
  const results: ConformanceResult[] = [];
  const skipped: ConformanceSkipped[] = [];
  for (const c of CONFORMANCE_CHECKS) {
    if (opts.only && !opts.only.includes(c.id)) continue;
    const reason = conformanceCheckSkipped(driver, c.id);
    if (reason !== undefined) skipped.push({ id: c.id, reason });
    else results.push(await runConformanceCheck(driver, c.id, opts));
  }
  return { driver: driver.name, ok: results.every((r) => r.ok), results, skipped };
}

/**
 * The report as text: one `✓`/`✗` line per check, its steps (one per ioctl) under it, each
 * problem indented under its check; then a `–` line per check that does not apply, with why.
 */
export function formatConformanceReport(report: ConformanceReport): string {
  const lines = [`conformance of ${report.driver}:`];
  for (const r of report.results) {
    lines.push(`  ${r.ok ? "✓" : "✗"} ${r.id}: ${r.title}`);
    for (const st of r.steps ?? []) lines.push(`      ${st.ok ? "✓" : "✗"} ${st.name}: ${st.summary}`);
    for (const prob of r.problems)
      for (const [i, line] of prob.split("\n").entries()) lines.push(`      ${i === 0 ? "- " : "  "}${line}`);
  }
  for (const sk of report.skipped) lines.push(`  – ${sk.id}: not applicable (${sk.reason})`);
  const failed = report.results.filter((r) => !r.ok).length;
  lines.push(
    failed === 0
      ? `${report.results.length} checks passed`
      : `${failed} of ${report.results.length} checks failed`,
  );
  return lines.join("\n");
}
