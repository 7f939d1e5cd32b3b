/**
 * hl-thunk's command buffers and command submission (`hlthunk_request_command_buffer`,
 * `hlthunk_command_submission`, `hlthunk_wait_for_cs`): the `HL_CB`, `HL_CS` and `HL_WAIT_CS`
 * ioctls with the kernel's unions.
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
 * e.g. `cs_flags`); the `out` struct (`seq`, `status`, …).
 */
export async function hlthunkCommandSubmission(
  p: Process,
  fd: number,
  chunks: readonly HlCsChunk[],
  extra: NonNullable<HlCsArgs["in"]> = {},
): Promise<NonNullable<HlCsArgs["out"]>> {
  const r = await p.ioctl<HlCsArgs>(fd, DRM_IOCTL_HL_CS, {
    in: { chunks_execute: [...chunks], num_chunks_execute: chunks.length, ...extra },
  });
  return r.out ?? {};
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
