/**
 * Userspace compositions for the interop suites — a game's frame on amdgpu, a compositor's on
 * asahi — built on each driver's userspace library (`@drmsim/<driver>/user`). Kernel-side peeks
 * (a BO's store, a syncobj's fence) are separate and marked as such.
 */
import { AMDGPU_HW_IP_GFX } from "@drmsim/amdgpu";
import {
  type AmdgpuSimFill,
  amdgpuCsChunkBoList,
  amdgpuCsChunkIb,
  amdgpuCsChunkSyncobjIn,
  amdgpuCsChunkSyncobjOut,
  amdgpuCsQueryFenceStatus,
  amdgpuCsSubmitRaw2,
} from "@drmsim/amdgpu/user";
import type { DrmAsahiCommand, DrmAsahiSync } from "@drmsim/asahi";
import { agxRenderCommand, agxSubmit } from "@drmsim/asahi/user";
import { type Process, S64_MAX } from "@drmsim/runtime";

export const KiB = 1024;
export const MiB = 1024 * KiB;
/** The timeout userspace passes to wait forever (`INT64_MAX` nanoseconds). */
export const FOREVER = S64_MAX;

// --- amdgpu (a Mesa radeonsi frame on @drmsim/amdgpu/user) -----------------------------------

/** Options of `amdgpuRender`. */
export interface AmdgpuRenderOptions {
  durationNs?: number;
  bos?: number[];
  inSyncobjs?: number[];
  outSyncobjs?: number[];
  hang?: boolean;
  /** drmsim knob (written into the IB's bytes): bytes the IB writes into a BO when it completes. */
  fill?: AmdgpuSimFill;
}

/** One gfx IB with its BO list and syncobjs, as a frame submits it: returns the sequence number. */
export async function amdgpuRender(p: Process, fd: number, ctx: number, o: AmdgpuRenderOptions = {}) {
  const chunks = [
    amdgpuCsChunkIb({
      ip_type: AMDGPU_HW_IP_GFX,
      ring: 0,
      duration_ns: o.durationNs ?? 1_000_000,
      ...(o.hang === true ? { hang: true } : {}),
      ...(o.fill !== undefined ? { fill: o.fill } : {}),
    }),
  ];
  if (o.bos !== undefined) chunks.push(amdgpuCsChunkBoList(o.bos));
  if (o.inSyncobjs !== undefined) chunks.push(amdgpuCsChunkSyncobjIn(o.inSyncobjs));
  if (o.outSyncobjs !== undefined) chunks.push(amdgpuCsChunkSyncobjOut(o.outSyncobjs));
  return amdgpuCsSubmitRaw2(p, fd, ctx, chunks);
}

/** Waits for an `amdgpuRender` submission without a timeout: true once it completed. */
export function amdgpuRenderDone(p: Process, fd: number, ctx: number, seq: number): Promise<boolean> {
  return amdgpuCsQueryFenceStatus(p, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: seq });
}

// --- asahi (a compositor frame on @drmsim/asahi/user) ------------------------------------------

/** A compositor's render command: 100 µs of vertex and 400 µs of fragment work. */
export function asahiRender(extra: Partial<DrmAsahiCommand> = {}): DrmAsahiCommand {
  return agxRenderCommand({ vertex_ns: 100_000, fragment_ns: 400_000, ...extra });
}

/** One submit of one command; `reads` are buffers it samples (implicit sync). */
export async function asahiSubmit(
  p: Process,
  fd: number,
  queue: number,
  o: { cmd?: DrmAsahiCommand; reads?: number[]; inSyncs?: DrmAsahiSync[]; outSyncs?: DrmAsahiSync[] } = {},
): Promise<void> {
  await agxSubmit(p, fd, {
    queue,
    commands: [o.cmd ?? asahiRender()],
    bos: (o.reads ?? []).map((handle) => ({ handle, flags: 0 })),
    ...(o.inSyncs !== undefined ? { inSyncs: o.inSyncs } : {}),
    ...(o.outSyncs !== undefined ? { outSyncs: o.outSyncs } : {}),
  });
}

// --- kernel-side peeks (not uAPI): one copy, in @drmsim/testing ------------------------------

export { processFile as fileOf, syncobjFence } from "@drmsim/testing";
