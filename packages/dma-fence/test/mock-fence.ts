/** A mock fence like the kernel selftests' `mock_fence()`: its own context, seqno 1, no driver behind it. */
import type { Simulator } from "@drmsim/runtime";
import { DmaFence, type DmaFenceOps, dmaFenceContextAlloc } from "../src/index.js";

export const mockOps: DmaFenceOps = {
  getDriverName: () => "mock",
  getTimelineName: () => "mock",
};

export function mockFence(sim: Simulator, seqno = 1, context = dmaFenceContextAlloc(sim)): DmaFence {
  return new DmaFence(sim, mockOps, context, seqno);
}
