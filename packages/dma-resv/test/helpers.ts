/** Shared fixtures: mock fences like the kernel selftests' `mock_fence()`, and a GEM-like object. */
import { DmaFence, type DmaFenceOps, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { RefCounted, type Simulator } from "@drmsim/runtime";
import { DmaResv, type DrmExecObject } from "../src/index.js";

export const mockOps: DmaFenceOps = {
  getDriverName: () => "mock",
  getTimelineName: () => "mock",
};

/** A fence on its own new context (or `context`), seqno `seqno`. */
export function mockFence(sim: Simulator, seqno = 1, context = dmaFenceContextAlloc(sim)): DmaFence {
  return new DmaFence(sim, mockOps, context, seqno);
}

/** A minimal `drm_gem_object`: a reference count and a reservation object, finished on release. */
export class MockObject extends RefCounted implements DrmExecObject {
  readonly resv: DmaResv;
  constructor(
    readonly sim: Simulator,
    readonly label = "obj",
  ) {
    super(sim);
    this.resv = new DmaResv(sim, `${label}.resv`);
  }
  describe(): string {
    return `mock_gem ${this.label}`;
  }
  protected release(): void {
    this.resv.fini();
  }
}
