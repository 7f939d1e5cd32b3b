/**
 * @drmsim/gem benchmarks: the buddy allocator under a random alloc/free churn against a plain
 * free-page stack (the cheapest allocator there is, a lower bound), GEM handle create/delete
 * against a bare Map, and the fragmentation the churn leaves. Run with `pnpm bench gem`.
 */
import { Simulator } from "@drmsim/runtime";
import { DrmBuddy, type DrmBuddyBlock, DrmGemHandleTable, DrmGemObject } from "../packages/gem/src/index.js";
import type { Comparison, Figure } from "./harness.js";

const PAGE = 4096;
const VRAM = 1024 ** 3; // 1 GiB, 262,144 pages
const OPS = 20_000;

/** A fixed LCG so both sides and every run see the same sizes. */
function lcg(seed: number) {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 4294967296;
  };
}

/** The churn: each step allocates 1–64 pages; once 2,000 allocations are live, a random one is freed per step. */
function buddyChurn(): DrmBuddy {
  const mm = DrmBuddy.init(VRAM, PAGE);
  const rnd = lcg(7);
  const live: DrmBuddyBlock[][] = [];
  for (let i = 0; i < OPS; i++) {
    const pages = 1 + Math.floor(rnd() * 64);
    live.push(mm.alloc({ size: pages * PAGE }));
    if (live.length > 2000) {
      const j = Math.floor(rnd() * live.length);
      const [blocks] = live.splice(j, 1);
      mm.free(blocks!);
    }
  }
  for (const b of live) mm.free(b);
  return mm;
}

/** The baseline: the same number of allocations, as single pages off a stack. */
function stackChurn(): void {
  const free: number[] = [];
  for (let p = VRAM / PAGE - 1; p >= 0; p--) free.push(p * PAGE);
  const rnd = lcg(7);
  const live: number[][] = [];
  for (let i = 0; i < OPS; i++) {
    const pages = 1 + Math.floor(rnd() * 64);
    const got: number[] = [];
    for (let k = 0; k < pages; k++) got.push(free.pop()!);
    live.push(got);
    if (live.length > 2000) {
      const j = Math.floor(rnd() * live.length);
      const [pgs] = live.splice(j, 1);
      for (const p of pgs!) free.push(p);
    }
  }
}

const HANDLES = 20_000;

export const comparisons: Comparison[] = [
  {
    id: "gem-buddy-churn",
    title: "drm_buddy: random 4 KiB–256 KiB alloc/free churn on 1 GiB vs a free-page stack",
    unit: "alloc",
    baseline: { name: "page stack", ops: OPS, run: stackChurn },
    subject: { name: "DrmBuddy", ops: OPS, run: () => void buddyChurn() },
    target: "ratio >= 0.1",
    meets: (r) => r.ratio >= 0.1,
  },
  {
    id: "gem-handles",
    title: "GEM handle create + delete vs Map set + delete",
    unit: "handle",
    baseline: {
      name: "Map",
      ops: HANDLES,
      run: () => {
        const m = new Map<number, object>();
        const o = {};
        for (let i = 1; i <= HANDLES; i++) m.set(i, o);
        for (let i = 1; i <= HANDLES; i++) m.delete(i);
      },
    },
    subject: {
      name: "DrmGemHandleTable",
      ops: HANDLES,
      run: () => {
        const sim = new Simulator({ validator: "off" });
        const t = new DrmGemHandleTable(sim, {});
        const obj = new DrmGemObject(sim, PAGE);
        for (let i = 0; i < HANDLES; i++) t.handleCreate(obj);
        for (let i = 1; i <= HANDLES; i++) t.handleDelete(i);
        obj.put();
      },
    },
    target: "ratio >= 0.1",
    meets: (r) => r.ratio >= 0.1,
  },
];

export async function figures(): Promise<Figure[]> {
  // Fragmentation in the middle of the churn: 2,000 live allocations scattered over 1 GiB.
  const mm = DrmBuddy.init(VRAM, PAGE);
  const rnd = lcg(7);
  const live: DrmBuddyBlock[][] = [];
  for (let i = 0; i < OPS; i++) {
    live.push(mm.alloc({ size: (1 + Math.floor(rnd() * 64)) * PAGE }));
    if (live.length > 2000) mm.free(live.splice(Math.floor(rnd() * live.length), 1)[0]!);
  }
  const frag = mm.getFragmentation();
  for (const b of live) mm.free(b);
  const healed = mm.getFragmentation();
  return [
    {
      id: "gem-buddy-fragmentation",
      title: "drm_buddy: 1 - largest free block / free bytes, with 2,000 live random allocations",
      value: Number(frag.fragmentation.toFixed(4)),
      unit: "fraction",
    },
    {
      id: "gem-buddy-healed",
      title: "drm_buddy: fragmentation after everything is freed (buddies merge back)",
      value: healed.fragmentation,
      unit: "fraction",
      target: "== 0",
      met: healed.fragmentation === 0,
    },
  ];
}
