/**
 * dma-buf tracepoints (`include/trace/events/dma_buf.h`, system `dma_buf`): one event per
 * lifetime step of a buffer and its attachments. Emit only behind `if (sim.tracer.on)`.
 */
import { defineTracepoint, type TrackRef } from "@drmsim/runtime";

/** Arguments of the `dma_buf` event class: exporter name, size, inode. */
export interface DmaBufTraceArgs {
  expName: string;
  size: number;
  ino: number;
}

/** Arguments of the `dma_buf_attach_dev` class: the buffer, the importing device, dynamic or not. */
export interface DmaBufAttachTraceArgs extends DmaBufTraceArgs {
  dev: string;
  isDynamic: boolean;
}

/** Arguments of the fd events. */
export interface DmaBufFdTraceArgs extends DmaBufTraceArgs {
  fd: number;
}

/** `trace_dma_buf_export`. */
export const traceDmaBufExport = defineTracepoint<DmaBufTraceArgs>("dma_buf_export", "dma_buf");
/** `trace_dma_buf_put`. */
export const traceDmaBufPut = defineTracepoint<DmaBufTraceArgs>("dma_buf_put", "dma_buf");
/** `trace_dma_buf_mmap`. */
export const traceDmaBufMmap = defineTracepoint<DmaBufTraceArgs>("dma_buf_mmap", "dma_buf");
/** `trace_dma_buf_fd`. */
export const traceDmaBufFd = defineTracepoint<DmaBufFdTraceArgs>("dma_buf_fd", "dma_buf");
/** `trace_dma_buf_get`. */
export const traceDmaBufGet = defineTracepoint<DmaBufFdTraceArgs>("dma_buf_get", "dma_buf");
/** `trace_dma_buf_dynamic_attach` (static attaches too, with `isDynamic` false). */
export const traceDmaBufDynamicAttach = defineTracepoint<DmaBufAttachTraceArgs>(
  "dma_buf_dynamic_attach",
  "dma_buf",
);
/** `trace_dma_buf_detach`. */
export const traceDmaBufDetach = defineTracepoint<DmaBufAttachTraceArgs>("dma_buf_detach", "dma_buf");

/** The trace track of dma-buf events. */
export const DMA_BUF_TRACK: TrackRef = { process: "dma_buf", thread: "dma_buf" };
