/**
 * The allocation sites of chains and sync_files: each is charged to `sim.mm` where the kernel
 * allocates, given back when the object goes, and an injected failure there is a clean ENOMEM.
 */
import { isKernelError, Process, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DMA_FENCE_CHAIN_BYTES,
  DmaFenceChain,
  dmaFenceChainAlloc,
  dmaFenceChainFree,
  SYNC_FILE_KIND,
  SYNC_IOC_MERGE,
  syncFileCreate,
  syncFileInstall,
} from "../src/index.js";
import { mockFence } from "./mock-fence.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isKernelError(e)) return e.code;
    throw e;
  }
  return undefined;
}

const failAt = (sim: Simulator, site: string) => sim.mm.failWhen((info) => info.site === site);

describe("dma_fence_chain_alloc", () => {
  it("a link is charged while it lives and given back on release", () => {
    const sim = new Simulator();
    const start = sim.mm.used;
    const f = mockFence(sim);
    const chain = new DmaFenceChain(sim, null, f, 1n);
    expect(sim.mm.used).toBe(start + DMA_FENCE_CHAIN_BYTES);
    expect(sim.mm.sites.get("dma_fence_chain_alloc")).toBe(1);
    f.signal();
    chain.put();
    expect(sim.mm.used).toBe(start);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("ENOMEM consumes neither prev nor fence and charges nothing", () => {
    const sim = new Simulator();
    const start = sim.mm.used;
    const a = mockFence(sim);
    const prev = new DmaFenceChain(sim, null, a, 1n);
    const b = mockFence(sim);
    const used = sim.mm.used;
    failAt(sim, "dma_fence_chain_alloc");
    expect(codeOf(() => new DmaFenceChain(sim, prev, b, 2n))).toBe("ENOMEM");
    sim.mm.clearFaults();
    expect(prev.refcount).toBe(1);
    expect(b.refcount).toBe(1);
    expect(sim.mm.used).toBe(used);
    a.signal();
    b.signal();
    prev.put();
    b.put();
    expect(sim.mm.used).toBe(start);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a preallocated link cannot fail later, and is taken over by the chain", () => {
    const sim = new Simulator();
    const start = sim.mm.used;
    const mem = dmaFenceChainAlloc(sim);
    failAt(sim, "dma_fence_chain_alloc");
    const f = mockFence(sim);
    const chain = new DmaFenceChain(sim, null, f, 3n, mem);
    sim.mm.clearFaults();
    expect(sim.mm.used).toBe(start + DMA_FENCE_CHAIN_BYTES);
    f.signal();
    chain.put();
    expect(mem.freed).toBe(true);
    expect(sim.mm.used).toBe(start);
    // An unused preallocation is given back with dmaFenceChainFree.
    dmaFenceChainFree(dmaFenceChainAlloc(sim));
    expect(sim.mm.used).toBe(start);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("sync_file_alloc", () => {
  it("a sync_file is charged until its file is released", () => {
    const sim = new Simulator();
    const start = sim.mm.used;
    const f = mockFence(sim);
    const sf = syncFileCreate(f);
    expect(sim.mm.used).toBeGreaterThan(start);
    expect(sim.mm.sites.get("sync_file_alloc")).toBe(1);
    sf.file.put();
    expect(sim.mm.used).toBe(start);
    f.signal();
    f.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("ENOMEM installs no fd and takes no fence reference", () => {
    const sim = new Simulator();
    const proc = new Process(sim, "app");
    const start = sim.mm.used;
    const f = mockFence(sim);
    failAt(sim, "sync_file_alloc");
    expect(codeOf(() => syncFileCreate(f))).toBe("ENOMEM");
    expect(codeOf(() => syncFileInstall(proc, f))).toBe("ENOMEM");
    sim.mm.clearFaults();
    expect(proc.files.list()).toEqual([]);
    expect(f.refcount).toBe(1);
    expect(sim.mm.used).toBe(start);
    f.signal();
    f.put();
    proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("SYNC_IOC_MERGE fails with ENOMEM, no new fd, when the merged file cannot be allocated", async () => {
    const sim = new Simulator();
    const proc = new Process(sim, "app");
    const a = mockFence(sim);
    const b = mockFence(sim);
    const fa = syncFileInstall(proc, a);
    const fb = syncFileInstall(proc, b);
    const used = sim.mm.used;
    const fds = proc.files.list();
    failAt(sim, "sync_file_alloc");
    let code: string | undefined;
    await sim.exec("merge", async () => {
      try {
        await proc.ioctl(fa, SYNC_IOC_MERGE, { name: "m", fd2: fb });
      } catch (e) {
        code = isKernelError(e) ? e.code : String(e);
      }
    });
    sim.mm.clearFaults();
    expect(code).toBe("ENOMEM");
    expect(proc.files.list()).toEqual(fds);
    expect(sim.mm.used).toBe(used);
    // Without the fault the same merge succeeds and the new file is a sync_file.
    let merged = -1;
    await sim.exec("merge2", async () => {
      merged = (await proc.ioctl<{ fence: number }>(fa, SYNC_IOC_MERGE, { name: "m", fd2: fb })).fence;
    });
    expect(proc.files.get(merged).fops.kind).toBe(SYNC_FILE_KIND);
    a.signal();
    b.signal();
    a.put();
    b.put();
    proc.exit();
    expect(sim.mm.used).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });
});
