/**
 * The driver conformance suite: the cross-driver rules every driver must keep, checked against a
 * driver's real uAPI on a fresh simulator per check, so one broken rule fails one check with the
 * validator's own words and the others still say what holds.
 *
 * - `fences-signal` — every job's fence signals on its own within a bound (the "Indefinite DMA
 *   fences" rule of `Documentation/driver-api/dma-buf.rst`: a fence must signal in finite time
 *   without waiting on userspace).
 * - `signalling-paths` — nothing on the path to signalling allocates with reclaim or waits on a
 *   fence. The kernel teaches lockdep `fs_reclaim → dma_fence_map` at boot
 *   (`dma_resv_lockdep()`); here a shrinker that waits on fences is registered and reclaim runs
 *   once, so any `GFP_KERNEL` allocation or fence wait inside a signalling section closes a cycle.
 * - `resv-usage` — a write job's fence is on the buffer's resv with `DMA_RESV_USAGE_WRITE`, a read
 *   job's with `DMA_RESV_USAGE_READ` (implicit sync: importers wait for writers by usage).
 * - `prime` — export → fd → a second process imports on its own file: the same GEM object (the
 *   PRIME self-import rule of `drm_gem_prime_import_dev`) and the same bytes; a second device of
 *   the driver imports it as its own object sharing the dma-buf's resv, and re-exports the
 *   original dma-buf.
 * - `teardown` — after jobs, exports and imports, exiting the processes and removing the device
 *   leaves nothing behind (`sim.teardown()` clean: no leaks, no unsignalled fences, no held locks).
 */
import type { DmaBuf } from "@drmsim/dma-buf";
import type { DmaFence } from "@drmsim/dma-fence";
import { DmaResvUsage } from "@drmsim/dma-resv";
import {
  type DrmDevice,
  type DrmFile,
  DrmPluginHost,
  drmPrimeFDToHandle,
  drmPrimeHandleToFD,
} from "@drmsim/drm";
import type { DrmGemObject } from "@drmsim/gem";
import { dmaFenceMightWait, type Finding, Process, Simulator } from "@drmsim/runtime";
import {
  type ConformanceDriver,
  type ConformanceWork,
  conformanceCreateBuffer,
  conformanceNode,
  DEFAULT_FENCE_TIMEOUT_NS,
} from "./conformance-driver.js";

/** The checks, in the order they run. */
export const CONFORMANCE_CHECKS = [
  { id: "fences-signal", title: "job fences signal in bounded time" },
  { id: "signalling-paths", title: "no reclaim or fence waits in fence signalling paths" },
  { id: "resv-usage", title: "job fences carry the right dma_resv usage (WRITE for writes, READ for reads)" },
  {
    id: "prime",
    title:
      "PRIME round-trip: export, pass the fd, import in a second process (same object, same bytes) and on a second device (shared resv)",
  },
  { id: "teardown", title: "leak-free teardown after the device is removed" },
] as const;

/** A check's id. */
export type ConformanceCheckId = (typeof CONFORMANCE_CHECKS)[number]["id"];

/** The verdict of one check. */
export interface ConformanceResult {
  id: ConformanceCheckId;
  title: string;
  ok: boolean;
  /** Why it failed: one entry per problem (validator findings in full). Empty when `ok`. */
  problems: string[];
}

/** The verdicts of a whole run. */
export interface ConformanceReport {
  driver: string;
  ok: boolean;
  results: ConformanceResult[];
}

/** Options of `runDriverConformance`. */
export interface ConformanceOptions {
  /** Seed of every check's simulator (default 1). */
  seed?: number | string;
  /** Run only these checks. */
  only?: readonly ConformanceCheckId[];
}

const BUFFER_SIZE = 4096;

/** A problem found by a check: collected, not thrown, so a check can report several. */
class Problems {
  readonly list: string[] = [];
  add(text: string): void {
    this.list.push(text);
  }
  findings(fs: readonly Finding[], when: string): void {
    for (const f of fs) this.add(`${when}: ${f.toString()}`);
  }
}

/** One check's world: a collect-mode simulator, the device and one process with the node open. */
class Bench {
  readonly sim: Simulator;
  readonly host: DrmPluginHost;
  readonly device: DrmDevice;
  readonly procs: Process[] = [];

  constructor(
    readonly driver: ConformanceDriver,
    seed: number | string,
  ) {
    this.sim = new Simulator({ seed, validator: "collect" });
    this.host = new DrmPluginHost(this.sim);
    this.device = driver.probe(this.host);
  }

  async open(name: string): Promise<ConformanceWork> {
    const proc = new Process(this.sim, name);
    this.procs.push(proc);
    const fd = await proc.open(conformanceNode(this.driver, this.device));
    return { sim: this.sim, device: this.device, proc, fd };
  }

  exec<T>(fn: () => Promise<T>): Promise<T> {
    return this.sim.exec("conformance", fn);
  }

  /** Exits the processes, removes the device, drains, tears down; returns the teardown findings. */
  async close(): Promise<Finding[]> {
    for (const p of this.procs) if (!p.exited) p.exit();
    if (this.host.devices.includes(this.device)) this.host.remove(this.device);
    await this.sim.run();
    return this.sim.teardown().findings;
  }
}

const drmFileOf = (work: ConformanceWork): DrmFile => work.proc.file(work.fd).priv as DrmFile;

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

async function checkFencesSignal(driver: ConformanceDriver, bench: Bench, p: Problems): Promise<void> {
  const bound = driver.fenceTimeoutNs ?? DEFAULT_FENCE_TIMEOUT_NS;
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
  const start = bench.sim.now;
  await bench.sim.run({ untilNs: start + bound });
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
        const handle = await conformanceCreateBuffer(driver, w, BUFFER_SIZE);
        for (const [f] of await submitAndCapture(driver, w, handle, write)) out.push(f);
      }
      return out;
    });
    await sim.run({ untilNs: sim.now + (driver.fenceTimeoutNs ?? DEFAULT_FENCE_TIMEOUT_NS) });
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
      const want = write ? DmaResvUsage.WRITE : DmaResvUsage.READ;
      if (added.length === 0)
        p.add(`a ${write ? "write" : "read"} job added no fence to the buffer's reservation object`);
      for (const [f, usage] of added) {
        if (usage !== want)
          p.add(
            `a ${write ? "write" : "read"} job's ${f.describe()} is on the buffer's resv with usage ${usageName(usage)}, expected ${usageName(want)}: ${write ? "importers waiting for writers (DMA_RESV_USAGE_WRITE) would read the buffer while it is written" : "a read must not make later readers wait (it belongs in DMA_RESV_USAGE_READ)"}`,
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
    const cproc = new Process(bench.sim, "second-device-importer");
    bench.procs.push(cproc);
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
    const b = await bench.open("compositor");
    const h1 = await conformanceCreateBuffer(driver, a, BUFFER_SIZE);
    const h2 = await conformanceCreateBuffer(driver, a, BUFFER_SIZE);
    await driver.submit(a, { handle: h1, write: true });
    await driver.submit(a, { handle: h2, write: false });
    const fd = await drmPrimeHandleToFD(a.proc, a.fd, h1);
    await drmPrimeFDToHandle(b.proc, b.fd, a.proc.sendFd(b.proc, fd));
  });
  await bench.sim.run({ untilNs: bench.sim.now + (driver.fenceTimeoutNs ?? DEFAULT_FENCE_TIMEOUT_NS) });
  p.findings(await bench.close(), "after the processes exited and the device was removed");
}

const RUNNERS: Record<ConformanceCheckId, (d: ConformanceDriver, b: Bench, p: Problems) => Promise<void>> = {
  "fences-signal": checkFencesSignal,
  "signalling-paths": checkSignallingPaths,
  "resv-usage": checkResvUsage,
  prime: checkPrime,
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
  const p = new Problems();
  try {
    const bench = new Bench(driver, opts.seed ?? 1);
    await RUNNERS[id](driver, bench, p);
  } catch (e) {
    p.add(`the check failed with an exception: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { id, title: check.title, ok: p.list.length === 0, problems: p.list };
}

/** `drmsim validate`'s engine: runs every check (or `opts.only`) against `driver`. */
export async function runDriverConformance(
  driver: ConformanceDriver,
  opts: ConformanceOptions = {},
): Promise<ConformanceReport> {
  const results: ConformanceResult[] = [];
  for (const c of CONFORMANCE_CHECKS) {
    if (opts.only && !opts.only.includes(c.id)) continue;
    results.push(await runConformanceCheck(driver, c.id, opts));
  }
  return { driver: driver.name, ok: results.every((r) => r.ok), results };
}

/** The report as text: one `✓`/`✗` line per check, each problem indented under its check. */
export function formatConformanceReport(report: ConformanceReport): string {
  const lines = [`conformance of ${report.driver}:`];
  for (const r of report.results) {
    lines.push(`  ${r.ok ? "✓" : "✗"} ${r.id}: ${r.title}`);
    for (const prob of r.problems)
      for (const [i, line] of prob.split("\n").entries()) lines.push(`      ${i === 0 ? "- " : "  "}${line}`);
  }
  const failed = report.results.filter((r) => !r.ok).length;
  lines.push(
    failed === 0
      ? `${report.results.length} checks passed`
      : `${failed} of ${report.results.length} checks failed`,
  );
  return lines.join("\n");
}
