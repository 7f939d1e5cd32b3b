/**
 * hl-thunk's command buffers and command submission (`hlthunk_request_command_buffer`,
 * `hlthunk_command_submission`, `hlthunk_wait_for_cs`): the `HL_CB`, `HL_CS` and `HL_WAIT_CS`
 * ioctls with the kernel's unions. Chunks may carry the simulation's knobs (`exec_ns`, `hang`):
 * they are no part of `struct hl_cs_chunk`, so the library queues them through the drmsim-only
 * side channel (`DRM_IOCTL_DRMSIM_HL_HW_NEXT`) and submits the header's chunks.
 */
import type { Process } from "@drmsim/runtime";
import {
  DRM_IOCTL_HL_CB,
  DRM_IOCTL_HL_CS,
  DRM_IOCTL_HL_WAIT_CS,
  HL_CB_OP_CREATE,
  HL_CB_OP_DESTROY,
  type HlCbArgs,
  type HlCsArgs,
  type HlCsChunk,
  type HlWaitCsArgs,
} from "../habanalabs-accel.js";
import {
  DRM_IOCTL_DRMSIM_HL_HW_NEXT,
  DRMSIM_HL_HW_COPY,
  DRMSIM_HL_HW_EXEC_NS,
  DRMSIM_HL_HW_FILL,
  DRMSIM_HL_HW_HANG,
  type DrmsimHlHwJob,
  type DrmsimHlHwNext,
} from "../hl-hw-model.js";

/** The simulation's knobs of one job (drmsim only; see the module comment). */
export interface HlthunkSimKnobs {
  /** How long the job keeps its engine busy, virtual ns (a non-negative integer). */
  exec_ns?: number;
  /** The job never completes until a reset aborts it. */
  hang?: boolean;
  /** Bytes the job's engine writes at device VA `addr` when it completes. */
  fill?: { addr: number | bigint; data: Uint8Array | readonly number[] };
  /** Bytes the job's engine copies between device VAs when it completes (a LIN_DMA). */
  copy?: { src_addr: number | bigint; dst_addr: number | bigint; size: number };
}

/** A chunk as the library takes it: the header's `struct hl_cs_chunk` and the knobs. */
export type HlthunkChunk = HlCsChunk & HlthunkSimKnobs;

/**
 * drmsim only: queues per-job overrides of the hardware model on the caller's context — the jobs
 * of the next CSs take them in chunk order (`DRM_IOCTL_DRMSIM_HL_HW_NEXT`). An empty list clears them.
 */
export async function hlthunkSimHwNext(
  p: Process,
  fd: number,
  jobs: readonly DrmsimHlHwJob[],
): Promise<void> {
  await p.ioctl(fd, DRM_IOCTL_DRMSIM_HL_HW_NEXT, {
    count: jobs.length,
    jobs: [...jobs],
  } satisfies DrmsimHlHwNext);
}

/** The overrides `chunks` ask for, or null if none carries a knob. */
export function hlthunkSimOverrides(chunks: readonly HlthunkSimKnobs[]): DrmsimHlHwJob[] | null {
  if (chunks.every(noKnobs)) return null;
  return chunks.map((c) => {
    // Bytes as given: the kernel side refuses an element no byte can hold (EINVAL).
    const data =
      c.fill === undefined ? undefined : c.fill.data instanceof Uint8Array ? c.fill.data : [...c.fill.data];
    return {
      exec_ns: c.exec_ns ?? 0,
      flags:
        (c.exec_ns !== undefined ? DRMSIM_HL_HW_EXEC_NS : 0) |
        (c.hang === true ? DRMSIM_HL_HW_HANG : 0) |
        (c.fill !== undefined ? DRMSIM_HL_HW_FILL : 0) |
        (c.copy !== undefined ? DRMSIM_HL_HW_COPY : 0),
      ...(c.fill !== undefined ? { fill_addr: c.fill.addr, fill_data: data, fill_size: data!.length } : {}),
      ...(c.copy !== undefined
        ? { copy_src: c.copy.src_addr, copy_dst: c.copy.dst_addr, copy_size: c.copy.size }
        : {}),
    };
  });
}

const noKnobs = (c: HlthunkSimKnobs) =>
  c.exec_ns === undefined && c.hang === undefined && c.fill === undefined && c.copy === undefined;

/** `chunk` without the knobs: the header's struct. */
export function hlthunkChunk(chunk: HlthunkChunk): HlCsChunk {
  const { exec_ns: _e, hang: _h, fill: _f, copy: _c, ...raw } = chunk;
  return raw;
}

/** `HL_CB` with `in` as given: the whole answer. */
export function hlthunkCbIoctl(
  p: Process,
  fd: number,
  input: NonNullable<HlCbArgs["in"]>,
): Promise<HlCbArgs> {
  return p.ioctl<HlCbArgs>(fd, DRM_IOCTL_HL_CB, { in: input });
}

/** `hlthunk_request_command_buffer`: a command buffer of `size` bytes; its handle. */
export async function hlthunkRequestCommandBuffer(p: Process, fd: number, size = 4096): Promise<number> {
  const r = await hlthunkCbIoctl(p, fd, { op: HL_CB_OP_CREATE, cb_size: size });
  return Number(r.out?.cb_handle ?? 0);
}

/** `hlthunk_destroy_command_buffer`. */
export async function hlthunkDestroyCommandBuffer(p: Process, fd: number, handle: number): Promise<void> {
  await hlthunkCbIoctl(p, fd, { op: HL_CB_OP_DESTROY, cb_handle: handle });
}

/**
 * `hlthunk_command_submission`: `HL_CS` with `chunks` to execute (and `extra` members of `in`,
 * e.g. `cs_flags`); the `out` struct (`seq`, `status`, …). Chunks that carry knobs have them
 * queued through the side channel first (`hlthunkSimHwNext`); if the kernel refuses the CS, the
 * context's overrides are cleared again, so they cannot land on a later CS.
 */
export async function hlthunkCommandSubmission(
  p: Process,
  fd: number,
  chunks: readonly HlthunkChunk[],
  extra: NonNullable<HlCsArgs["in"]> = {},
): Promise<NonNullable<HlCsArgs["out"]>> {
  const overrides = hlthunkSimOverrides(chunks);
  if (overrides !== null) await hlthunkSimHwNext(p, fd, overrides);
  try {
    const r = await p.ioctl<HlCsArgs>(fd, DRM_IOCTL_HL_CS, {
      in: { chunks_execute: chunks.map(hlthunkChunk), num_chunks_execute: chunks.length, ...extra },
    });
    return r.out ?? {};
  } catch (e) {
    if (overrides !== null) await hlthunkSimHwNext(p, fd, []);
    throw e;
  }
}

/** `hlthunk_wait_for_cs`: `HL_WAIT_CS` for `seq`, at most `timeoutUs`; the `out` struct (`status`, `timestamp_nsec`, …). */
export async function hlthunkWaitForCs(
  p: Process,
  fd: number,
  seq: number | bigint,
  timeoutUs: number | bigint,
  flags = 0,
): Promise<NonNullable<HlWaitCsArgs["out"]>> {
  const r = await p.ioctl<HlWaitCsArgs>(fd, DRM_IOCTL_HL_WAIT_CS, {
    in: { seq, timeout_us: timeoutUs, flags },
  });
  return r.out ?? {};
}
