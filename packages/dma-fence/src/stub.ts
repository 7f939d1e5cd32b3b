/** Stub fences (`dma_fence_get_stub`, `dma_fence_allocate_private_stub`). */
import type { Simulator } from "@drmsim/runtime";
import { DmaFence, type DmaFenceOps } from "./dma-fence.js";

const stubOps: DmaFenceOps = {
  getDriverName: () => "stub",
  getTimelineName: () => "signaled",
  // Having a release op keeps the ops attached after signal, as the kernel's stub keeps its ops;
  // its names still read "detached-driver"/"signaled-timeline", as every signalled fence's do.
  release: () => {},
};

const STUB = {};

/**
 * `dma_fence_get_stub()`: the simulator's one always-signalled fence (context 0), with a new
 * reference for the caller. It is never reported as a leak.
 */
export function dmaFenceGetStub(sim: Simulator): DmaFence {
  const stub = sim.subsystem(STUB, () => {
    const f = new DmaFence(sim, stubOps, 0, 0);
    f.signalTimestamp(0);
    sim.liveRefs.delete(f);
    return f;
  });
  return stub.get();
}

/**
 * `dma_fence_allocate_private_stub(timestamp)`: a new, already-signalled fence on context 0 with
 * the given timestamp (what `dmaFenceUnwrapMerge` returns when everything has signalled).
 */
export function dmaFenceAllocatePrivateStub(sim: Simulator, timestampNs: number): DmaFence {
  const f = new DmaFence(sim, stubOps, 0, 0);
  f.signalTimestamp(timestampNs);
  return f;
}
