/**
 * `pnpm bench --curves`: how the cost of an operation grows with the work — the scaling curves of
 * the simulator. For each curve, the CPU time per operation is measured at sizes spread over a few
 * orders of magnitude, the expected complexity of one operation is checked by the slope of a
 * least-squares line through log(cost) against log(size), and the curve is drawn as an SVG plot in
 * `bench/curves/` beside `bench/results.json` (with `bench/curves/curves.json`).
 *
 * Slopes: cost ∝ sizeᵏ has slope k — O(1) per operation is about 0, O(n) about 1; O(log n) over
 * 1…10⁴ gives a small positive slope. The checks are bands around those (`SLOPE_BANDS`), loose
 * enough for a loaded machine, tight enough to tell a constant from a linear cost. The slope is
 * fitted over the sizes from the third on (`FIT_FROM`): at the smallest sizes the fixed cost of a
 * call — creating a reservation object, entering an ioctl, starting a simulator — is spread over a
 * handful of operations and dominates. Every point is plotted.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import "reflect-metadata";
import {
  BackingStore,
  Device,
  DmaDataDirection,
  devicePlacement,
  PciHostBridge,
  StoreExporter,
} from "../packages/dma-buf/src/index.js";
import { DmaFence, type DmaFenceOps, dmaFenceContextAlloc } from "../packages/dma-fence/src/index.js";
import { DmaResv, DmaResvIter, DmaResvUsage } from "../packages/dma-resv/src/index.js";
import {
  DRM_SYNCOBJ_CREATE_SIGNALED,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL,
  DrmDriverFeature,
  type DrmHooks,
  DrmPluginHost,
  drmSyncobjCreate,
  drmSyncobjWait,
} from "../packages/drm/src/index.js";
import { Process, Simulator } from "../packages/runtime/src/index.js";
import { runFuzz } from "../tools/fuzz/src/index.js";
import { endToEnd } from "./drm-sched.bench.js";

/** The complexity of one operation the curve expects. */
export type Complexity = "O(1)" | "O(log n)" | "O(n)";

/** Accepted log-log slopes of cost per operation for each expected complexity. */
export const SLOPE_BANDS: Record<Complexity, [number, number]> = {
  "O(1)": [-0.25, 0.15],
  "O(log n)": [-0.1, 0.45],
  "O(n)": [0.7, 1.3],
};

/** The index of the first size the slope is fitted over. */
export const FIT_FROM = 2;

/** One point's work: `run()` performs `ops` operations at size `n`. */
interface Work {
  ops: number;
  run: () => void | Promise<void>;
}

/** A scaling curve: the cost per operation against a size. */
export interface Curve {
  id: string;
  title: string;
  /** What the size counts (x axis). */
  x: string;
  /** What one operation is (the y axis is CPU ns per operation). */
  op: string;
  sizes: readonly number[];
  expected: Complexity;
  /** Builds the work for size `n` (setup is not timed). */
  work: (n: number) => Work | Promise<Work>;
  /** Timed runs per point, best of (default 3); long points take fewer. */
  runs?: number;
  /** Also print the rate as operations per CPU second under this name (e.g. `ioctls/s`). */
  rate?: string;
  /** The sizes are bytes: print them as KiB/MiB/GiB. */
  bytes?: boolean;
}

/** A measured curve. */
export interface CurveResult {
  id: string;
  title: string;
  x: string;
  op: string;
  expected: Complexity;
  points: { n: number; nsPerOp: number }[];
  slope: number;
  met: boolean;
  rate?: string;
}

const fenceOps: DmaFenceOps = { getDriverName: () => "bench", getTimelineName: () => "curve" };
let sink = 0;

/** `count` unsignalled fences on distinct contexts. */
function fences(sim: Simulator, count: number): DmaFence[] {
  const base = dmaFenceContextAlloc(sim, count);
  return Array.from({ length: count }, (_, i) => new DmaFence(sim, fenceOps, base + i, 1));
}

class NoopDriver {
  apply(_hooks: DrmHooks): void {}
}

/** Enough repetitions that a point does at least `min` operations. */
const reps = (n: number, min: number): number => Math.max(1, Math.ceil(min / n));

const KiB = 1024;
const GiB = 1024 ** 3;
/** The importer's maximum DMA segment: 16 GiB is 262,144 segments. */
const P2P_SEGMENT = 64 * KiB;

/**
 * A dma-buf of `size` bytes of device memory (one contiguous BAR range), exported by a PCI device
 * and dynamically attached by a peer on the same switch that allows peer2peer and has 64 KiB
 * segments; the reservation lock is held (the validator is off and nothing else runs). Storage is
 * sparse: nothing is allocated.
 */
export function p2pBuffer(size: number) {
  const sim = new Simulator({ validator: "off" });
  const [p0, p1] = new PciHostBridge("pci0000:00").addRootPort("00:01.0").addSwitch("sw", 2);
  const exporterDev = new Device(sim, { name: "accel", pci: p0!.addEndpoint("03:00.0") });
  const importerDev = new Device(sim, {
    name: "gpu",
    pci: p1!.addEndpoint("04:00.0"),
    maxSegmentSize: P2P_SEGMENT,
  });
  const exporter = new StoreExporter({
    dev: exporterDev,
    store: new BackingStore(size, devicePlacement(0x80_0000_0000, size)),
  });
  const buf = exporter.export(sim);
  const att = buf.dynamicAttach(importerDev, { allowPeer2peer: true }, null);
  if (!buf.resv.trylock()) throw new Error("bench: resv busy");
  return { att, store: exporter.store };
}

/** Buffer sizes of the dma-buf curve: one page, 1 MiB, 64 MiB, 1 GiB, 16 GiB. */
const BUFFER_SIZES = [4 * KiB, 1024 * KiB, 64 * 1024 * KiB, GiB, 16 * GiB];

/** `dma_buf_map_attachment` + unmap of one buffer, `r` times. */
function mapWork(att: ReturnType<typeof p2pBuffer>["att"], r: number): Work {
  return {
    ops: r,
    run: async () => {
      for (let k = 0; k < r; k++) {
        const sgt = await att.map(DmaDataDirection.BIDIRECTIONAL);
        sink += sgt.nents;
        att.unmap(sgt, DmaDataDirection.BIDIRECTIONAL);
      }
    },
  };
}

export const curves: Curve[] = [
  {
    id: "drm-sched-entities",
    title: "drm_sched: CPU per job against entities",
    x: "entities",
    op: "job",
    sizes: [1, 16, 256, 4096, 65_536],
    expected: "O(1)",
    work: (n) => ({ ops: 65_536, run: () => endToEnd(n, 65_536, "off", 4096) }),
  },
  {
    id: "dma-resv-add",
    title: "DmaResv.addFence: CPU per add against fences per object",
    x: "fences per object",
    op: "add",
    sizes: [1, 10, 100, 1000, 10_000],
    // dma_resv_add_fence scans the list for a fence of the same context to replace: linear.
    expected: "O(n)",
    work: (n) => {
      const sim = new Simulator({ validator: "off" });
      const ctx = sim.createContext("bench", "process");
      const list = fences(sim, n);
      const r = reps(n, 2000);
      return {
        ops: n * r,
        run: () =>
          sim.runAs(ctx, () => {
            for (let k = 0; k < r; k++) {
              const resv = new DmaResv(sim);
              void resv.lock(null);
              resv.reserveFences(n);
              for (const f of list) resv.addFence(f, DmaResvUsage.READ);
              sink += resv.numFences;
              resv.unlock();
              resv.fini();
            }
          }),
      };
    },
  },
  {
    id: "dma-resv-iterate",
    title: "DmaResvIter: CPU per fence visited against fences per object",
    x: "fences per object",
    op: "fence",
    sizes: [1, 10, 100, 1000, 10_000],
    expected: "O(1)",
    work: (n) => {
      const sim = new Simulator({ validator: "off" });
      const ctx = sim.createContext("bench", "process");
      const resv = new DmaResv(sim);
      sim.runAs(ctx, () => {
        void resv.lock(null);
        resv.reserveFences(n);
        for (const f of fences(sim, n)) resv.addFence(f, DmaResvUsage.READ);
      });
      const r = reps(n, 200_000);
      return {
        ops: n * r,
        run: () =>
          sim.runAs(ctx, () => {
            for (let k = 0; k < r; k++) {
              const cursor = new DmaResvIter(resv, DmaResvUsage.BOOKKEEP);
              for (let f = cursor.first(); f !== null; f = cursor.next()) sink += f.seqno;
            }
          }),
      };
    },
  },
  {
    id: "syncobj-wait-handles",
    title: "DRM_IOCTL_SYNCOBJ_WAIT (all signalled, WAIT_ALL): CPU per handle against handles",
    x: "handles",
    op: "handle",
    sizes: [1, 8, 64, 512, 1024],
    expected: "O(1)",
    work: async (n) => {
      const sim = new Simulator({ validator: "off" });
      const host = new DrmPluginHost(sim);
      host.probe(NoopDriver, {
        name: "noop",
        features: DrmDriverFeature.GEM | DrmDriverFeature.RENDER | DrmDriverFeature.SYNCOBJ,
      });
      const p = new Process(sim, "app");
      const { fd, handles } = await sim.exec("app", async () => {
        const fd = await p.open("/dev/dri/renderD128");
        const handles: number[] = [];
        for (let i = 0; i < n; i++) handles.push(await drmSyncobjCreate(p, fd, DRM_SYNCOBJ_CREATE_SIGNALED));
        return { fd, handles };
      });
      const r = reps(n, 4096);
      return {
        ops: n * r,
        run: () =>
          sim.exec("app", async () => {
            for (let k = 0; k < r; k++)
              sink += await drmSyncobjWait(p, fd, handles, 0, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL);
          }),
      };
    },
  },
  {
    id: "dma-buf-map-p2p",
    title: "dma-buf map, p2p VRAM (64 KiB segments): CPU per map against size",
    x: "buffer bytes (16 GiB = 262,144 segments)",
    op: "map",
    sizes: BUFFER_SIZES,
    bytes: true,
    // Device memory is one contiguous range: the table holds one run and computes its segments on
    // demand, so mapping costs the same at any size (the kernel's dma_map_resource is O(1) too;
    // its sg_table of segments is O(n), which drmsim does not build).
    expected: "O(1)",
    work: (n) => {
      const { att, store } = p2pBuffer(n);
      const w = mapWork(att, 20_000);
      if (store.residentBytes !== 0) throw new Error("bench: the sparse store allocated memory");
      return w;
    },
  },
  {
    id: "fuzz-sequence-length",
    title: "fuzz campaign: CPU per ioctl against sequence length",
    x: "calls per sequence (callsPerRun)",
    op: "ioctl",
    sizes: [1, 4, 16, 64, 256],
    // Every sequence builds and tears down a world of four drivers and two processes (fixed cost),
    // then each call is checked against a snapshot of the world's state. Per ioctl that should not
    // grow with the sequence: the snapshot is of the live objects, which a hostile sequence keeps few.
    expected: "O(1)",
    runs: 1,
    rate: "ioctls/s",
    work: async (n) => {
      // About 200 ioctls per point; the same seed replays the same campaign, so the count measured
      // here (untimed) is the count of every timed run.
      const opts = { runs: Math.max(2, Math.ceil(400 / n)), callsPerRun: n, seed: 0x5eed, shrink: false };
      const first = await runFuzz(opts);
      if (first.failure !== undefined)
        throw new Error(`bench: the fuzz campaign failed: ${first.failure.message}`);
      return {
        ops: first.stats.calls,
        run: async () => {
          const { stats } = await runFuzz(opts);
          if (stats.calls !== first.stats.calls) throw new Error("bench: the fuzz campaign did not replay");
        },
      };
    },
  },
];

/** Least-squares slope of log(y) against log(x). */
export function logLogSlope(points: readonly { n: number; nsPerOp: number }[]): number {
  const xs = points.map((p) => Math.log(p.n));
  const ys = points.map((p) => Math.log(p.nsPerOp));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Best-of-`runs` CPU ns per operation of `w`, after one untimed run. */
async function measure(w: Work, runs: number): Promise<number> {
  await w.run();
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    await w.run();
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) * 1000);
  }
  // A run shorter than the CPU clock's resolution reads as 0: floor it at 1 µs.
  return Math.max(1000, best) / w.ops;
}

/** Measures one curve. */
export async function measureCurve(c: Curve, runs = 3): Promise<CurveResult> {
  const points: { n: number; nsPerOp: number }[] = [];
  for (const n of c.sizes) points.push({ n, nsPerOp: await measure(await c.work(n), c.runs ?? runs) });
  const slope = logLogSlope(points.slice(FIT_FROM));
  const [lo, hi] = SLOPE_BANDS[c.expected];
  return {
    id: c.id,
    title: c.title,
    x: c.x,
    op: c.op,
    expected: c.expected,
    points,
    slope,
    met: slope >= lo && slope <= hi,
    ...(c.rate !== undefined ? { rate: c.rate } : {}),
  };
}

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A log-log SVG plot of a measured curve, with its fitted slope and the expected complexity. */
export function curveSvg(r: CurveResult): string {
  const W = 560;
  const H = 340;
  const L = 70;
  const R = 20;
  const T = 40;
  const B = 50;
  const lx = r.points.map((p) => Math.log10(p.n));
  const ly = r.points.map((p) => Math.log10(p.nsPerOp));
  const x0 = Math.floor(Math.min(...lx));
  const x1 = Math.max(x0 + 1, Math.ceil(Math.max(...lx)));
  const y0 = Math.floor(Math.min(...ly));
  const y1 = Math.max(y0 + 1, Math.ceil(Math.max(...ly)));
  const px = (v: number): number => L + ((v - x0) / (x1 - x0)) * (W - L - R);
  const py = (v: number): number => H - B - ((v - y0) / (y1 - y0)) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${esc(r.title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(r.title)}</text>`,
  ];
  for (let d = x0; d <= x1; d++) {
    const x = px(d).toFixed(1);
    out.push(`<line x1="${x}" y1="${T}" x2="${x}" y2="${H - B}" stroke="#ddd"/>`);
    out.push(`<text x="${x}" y="${H - B + 16}" text-anchor="middle">1e${d}</text>`);
  }
  for (let d = y0; d <= y1; d++) {
    const y = py(d).toFixed(1);
    out.push(`<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">1e${d}</text>`);
  }
  out.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#444"/>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">${esc(r.x)} (log scale)</text>`);
  out.push(
    `<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">CPU ns per ${esc(r.op)} (log scale)</text>`,
  );
  const path = lx.map((x, i) => `${i === 0 ? "M" : "L"}${px(x).toFixed(1)} ${py(ly[i]!).toFixed(1)}`);
  out.push(`<path d="${path.join(" ")}" fill="none" stroke="#1f77b4" stroke-width="2"/>`);
  for (let i = 0; i < r.points.length; i++)
    out.push(`<circle cx="${px(lx[i]!).toFixed(1)}" cy="${py(ly[i]!).toFixed(1)}" r="3.5" fill="#1f77b4"/>`);
  const from = r.points[FIT_FROM]?.n ?? r.points[0]!.n;
  const verdict = `expected ${r.expected} per ${r.op}; slope from ${from} on: ${r.slope.toFixed(2)} ${r.met ? "✓" : "✗"}`;
  out.push(`<text x="${L + 8}" y="${T + 16}" fill="${r.met ? "#2a7" : "#c33"}">${esc(verdict)}</text>`);
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

/** `4096` → `4 KiB`: whole GiB, MiB or KiB, else the number. */
function fmtBytes(n: number): string {
  for (const [unit, size] of [
    ["GiB", GiB],
    ["MiB", 1024 * KiB],
    ["KiB", KiB],
  ] as const)
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  return String(n);
}

/** Measures every curve (or those whose id contains one of `only`), writes the plots and the JSON. */
export async function runCurves(only: readonly string[] = []): Promise<CurveResult[]> {
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = join(here, "curves");
  mkdirSync(dir, { recursive: true });
  const results: CurveResult[] = [];
  for (const c of curves.filter((c) => only.length === 0 || only.some((o) => c.id.includes(o)))) {
    const r = await measureCurve(c);
    results.push(r);
    const pts = r.points
      .map(
        (p) =>
          `${c.bytes === true ? fmtBytes(p.n) : p.n}: ${p.nsPerOp.toFixed(1)} ns${r.rate !== undefined ? ` (${Math.round(1e9 / p.nsPerOp)} ${r.rate})` : ""}`,
      )
      .join(", ");
    console.log(
      `${r.title.padEnd(74)} slope ${r.slope.toFixed(2).padStart(5)}  expected ${r.expected.padEnd(8)} ${r.met ? "✓" : "✗ outside the expected band"}\n    ${pts}`,
    );
    writeFileSync(join(dir, `${r.id}.svg`), curveSvg(r));
  }
  if (sink === -1) console.log(sink);
  writeFileSync(join(dir, "curves.json"), `${JSON.stringify(results, null, 2)}\n`);
  return results;
}
