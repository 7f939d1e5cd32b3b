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
import { DRM_ASAHI_BIND_READ, DRM_ASAHI_BIND_WRITE, type DrmAsahiSync } from "@drmsim/asahi";
import {
  type AgxCommand,
  agxImplicitInSync,
  agxImplicitOutSync,
  agxRenderCommand,
  agxSubmit,
  agxSyncobj,
  agxVmBind,
} from "@drmsim/asahi/user";
import { drmPrimeFDToHandle, drmSyncobjCreate, drmSyncobjDestroy } from "@drmsim/drm";
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

/** Where `asahiImport` binds an imported buffer by default. */
export const ASAHI_IMPORT_VA = 0x10_0000;

/**
 * Imports the dma-buf `dmabufFd` into the asahi file `fd` and binds it into VM `vm` at `addr`
 * (readable and writable), as Mesa binds every BO it uses: the GEM handle.
 */
export async function asahiImport(
  p: Process,
  fd: number,
  vm: number,
  dmabufFd: number,
  size: number,
  addr = ASAHI_IMPORT_VA,
): Promise<number> {
  const handle = await drmPrimeFDToHandle(p, fd, dmabufFd);
  await agxVmBind(p, fd, vm, [
    { flags: DRM_ASAHI_BIND_READ | DRM_ASAHI_BIND_WRITE, handle, offset: 0, range: size, addr },
  ]);
  return handle;
}

/** A compositor's render command: 100 µs of vertex and 400 µs of fragment work. */
export function asahiRender(extra: Partial<AgxCommand> = {}): AgxCommand {
  return agxRenderCommand({ vertex_ns: 100_000, fragment_ns: 400_000, ...extra });
}

/**
 * One submit of one command. `reads` are dma-buf fds of shared buffers it samples: asahi is
 * explicit-sync only, so, as Mesa does, the submit waits on what a read of each must wait for
 * (`DMA_BUF_IOCTL_EXPORT_SYNC_FILE`) and hands its own fence back to each as a reader
 * (`DMA_BUF_IOCTL_IMPORT_SYNC_FILE`).
 */
export async function asahiSubmit(
  p: Process,
  fd: number,
  queue: number,
  o: { cmd?: AgxCommand; reads?: number[]; inSyncs?: DrmAsahiSync[]; outSyncs?: DrmAsahiSync[] } = {},
): Promise<void> {
  const reads = o.reads ?? [];
  const implicitIn: DrmAsahiSync[] = [];
  for (const dmabuf of reads) implicitIn.push(await agxImplicitInSync(p, fd, dmabuf));
  let outs = o.outSyncs ?? [];
  let done = outs.find((s) => s.sync_type === 0)?.handle;
  const own = reads.length > 0 && done === undefined;
  if (own) {
    done = await drmSyncobjCreate(p, fd);
    outs = [...outs, agxSyncobj(done)];
  }
  await agxSubmit(p, fd, {
    queue,
    commands: [o.cmd ?? asahiRender()],
    inSyncs: [...implicitIn, ...(o.inSyncs ?? [])],
    outSyncs: outs,
  });
  for (const dmabuf of reads) await agxImplicitOutSync(p, fd, dmabuf, done!);
  for (const s of implicitIn) await drmSyncobjDestroy(p, fd, s.handle!);
  if (own) await drmSyncobjDestroy(p, fd, done!);
}

// --- kernel-side peeks (not uAPI): one copy, in @drmsim/testing ------------------------------

export { processFile as fileOf, syncobjFence } from "@drmsim/testing";
