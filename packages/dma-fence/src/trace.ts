/** The `dma_fence` trace system (`include/trace/events/dma_fence.h`). */
import { defineTracepoint } from "@drmsim/runtime";

/** Arguments every dma_fence event carries. */
export interface DmaFenceTraceArgs {
  driver: string;
  timeline: string;
  context: number;
  seqno: number;
}

/** `dma_fence_init`. */
export const traceDmaFenceInit = defineTracepoint<DmaFenceTraceArgs>("dma_fence_init", "dma_fence");
/** `dma_fence_emit`: the driver handed the work behind the fence to hardware. */
export const traceDmaFenceEmit = defineTracepoint<DmaFenceTraceArgs>("dma_fence_emit", "dma_fence");
/** `dma_fence_enable_signal`. */
export const traceDmaFenceEnableSignal = defineTracepoint<DmaFenceTraceArgs>(
  "dma_fence_enable_signal",
  "dma_fence",
);
/** `dma_fence_signaled`. */
export const traceDmaFenceSignaled = defineTracepoint<DmaFenceTraceArgs & { error: number }>(
  "dma_fence_signaled",
  "dma_fence",
);
/** `dma_fence_wait_start`. */
export const traceDmaFenceWaitStart = defineTracepoint<DmaFenceTraceArgs>(
  "dma_fence_wait_start",
  "dma_fence",
);
/** `dma_fence_wait_end`. */
export const traceDmaFenceWaitEnd = defineTracepoint<DmaFenceTraceArgs & { ret: number }>(
  "dma_fence_wait_end",
  "dma_fence",
);
/** `dma_fence_destroy`. */
export const traceDmaFenceDestroy = defineTracepoint<DmaFenceTraceArgs>("dma_fence_destroy", "dma_fence");
