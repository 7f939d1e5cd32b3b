/**
 * The `dma_fence` trace system (`include/trace/events/dma_fence.h`), drawn as Perfetto draws it.
 *
 * A fence is one span on its timeline's track, from `dma_fence_init` to `dma_fence_signaled`
 * (the error, if any, in its arguments): the kernel's two tracepoints are the span's two ends.
 * A wait is a `dma_fence_wait` span (`dma_fence_wait_start` to `dma_fence_wait_end`) on the
 * waiting context's track, with a flow arrow from the fence it waited for. A counter follows the
 * fences still pending.
 */
import { defineTracepoint, type Simulator } from "@drmsim/runtime";
import { fenceTraceState } from "./fence-trace-state.js";

/** Arguments every dma_fence event carries. */
export interface DmaFenceTraceArgs {
  driver: string;
  timeline: string;
  context: number;
  seqno: number;
}

/** A fence's life: `dma_fence_init` (the span opens) to `dma_fence_signaled` (it closes, with `error`). */
export const traceDmaFence = defineTracepoint<DmaFenceTraceArgs & { error?: number }>(
  "dma_fence",
  "dma_fence",
);
/** `dma_fence_emit`: the driver handed the work behind the fence to hardware. */
export const traceDmaFenceEmit = defineTracepoint<DmaFenceTraceArgs>("dma_fence_emit", "dma_fence");
/** `dma_fence_enable_signal`, on the track of the context that asked. */
export const traceDmaFenceEnableSignal = defineTracepoint<DmaFenceTraceArgs>(
  "dma_fence_enable_signal",
  "dma_fence",
);
/** A wait: `dma_fence_wait_start` (the span opens) to `dma_fence_wait_end` (it closes, with `ret`). */
export const traceDmaFenceWait = defineTracepoint<DmaFenceTraceArgs & { ret?: number }>(
  "dma_fence_wait",
  "dma_fence",
);

/** The thread name of a timeline's track: the ring first, so a device's tracks group by ring. */
export function fenceTimelineThread(driver: string, timeline: string): string {
  return `${timeline} fences (${driver})`;
}

/**
 * Draws the fences of `context` with `device` (the trace process of its rings and queues)
 * instead of the shared `dma_fence` process. No kernel counterpart: in a kernel trace a
 * timeline is known by name only. The scheduler calls it for its entities' timelines and the
 * hardware fences its driver returns.
 */
export function setDmaFenceContextDevice(sim: Simulator, context: number, device: string): void {
  const st = fenceTraceState(sim);
  st.devices.set(context, device);
  const t = st.tracks.get(context);
  if (t !== undefined) t.process = device;
}

/** Whether `context` has a device already (so callers can skip the work). */
export function dmaFenceContextHasDevice(sim: Simulator, context: number): boolean {
  return fenceTraceState(sim).devices.has(context);
}
