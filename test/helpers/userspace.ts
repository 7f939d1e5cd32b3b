/**
 * Userspace for the interop suites: what libdrm_amdgpu, Mesa's asahi winsys and hl-thunk do, in
 * a few calls each, on simulated processes and fds. Kernel-side peeks (a BO's store, a
 * syncobj's fence) are separate and marked as such.
 */
import {
  AMDGPU_CHUNK_ID_BO_HANDLES,
  AMDGPU_CHUNK_ID_IB,
  AMDGPU_CHUNK_ID_SYNCOBJ_IN,
  AMDGPU_CHUNK_ID_SYNCOBJ_OUT,
  AMDGPU_CTX_OP_ALLOC_CTX,
  AMDGPU_HW_IP_GFX,
  DRM_IOCTL_AMDGPU_CS,
  DRM_IOCTL_AMDGPU_CTX,
  DRM_IOCTL_AMDGPU_GEM_CREATE,
  DRM_IOCTL_AMDGPU_WAIT_CS,
  type DrmAmdgpuCsChunk,
  type DrmAmdgpuIbFill,
} from "@drmsim/amdgpu";
import {
  ASAHI_VM_KERNEL_MIN_SIZE,
  DRM_ASAHI_BARRIER_NONE,
  DRM_ASAHI_CMD_RENDER,
  DRM_IOCTL_ASAHI_QUEUE_CREATE,
  DRM_IOCTL_ASAHI_SUBMIT,
  DRM_IOCTL_ASAHI_VM_CREATE,
  type DrmAsahiCommand,
  type DrmAsahiSync,
} from "@drmsim/asahi";
import type { DmaFence } from "@drmsim/dma-fence";
import { type DrmDevice, type DrmFile, drmSyncobjTable } from "@drmsim/drm";
import type { Process } from "@drmsim/runtime";

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const FOREVER = Number.MAX_SAFE_INTEGER;

// --- amdgpu (libdrm_amdgpu) -------------------------------------------------------------------

/** `amdgpu_bo_alloc`. */
export async function amdgpuBoAlloc(p: Process, fd: number, size: number, domains: number): Promise<number> {
  return (await p.ioctl<{ handle: number }>(fd, DRM_IOCTL_AMDGPU_GEM_CREATE, { bo_size: size, domains }))
    .handle;
}

/** `amdgpu_cs_ctx_create2`. */
export async function amdgpuCtxCreate(p: Process, fd: number): Promise<number> {
  return (await p.ioctl<{ ctx_id: number }>(fd, DRM_IOCTL_AMDGPU_CTX, { op: AMDGPU_CTX_OP_ALLOC_CTX }))
    .ctx_id;
}

/** Options of `amdgpuRender`. */
export interface AmdgpuRenderOptions {
  durationNs?: number;
  bos?: number[];
  inSyncobjs?: number[];
  outSyncobjs?: number[];
  hang?: boolean;
  /** drmsim extension: bytes the IB writes into a BO of the list when it completes. */
  fill?: DrmAmdgpuIbFill;
}

/** `amdgpu_cs_submit_raw2` of one gfx IB: returns the sequence number. */
export async function amdgpuRender(p: Process, fd: number, ctx_id: number, o: AmdgpuRenderOptions = {}) {
  const chunks: DrmAmdgpuCsChunk[] = [
    {
      chunk_id: AMDGPU_CHUNK_ID_IB,
      data: {
        ip_type: AMDGPU_HW_IP_GFX,
        ring: 0,
        duration_ns: o.durationNs ?? 1_000_000,
        hang: o.hang ?? false,
      },
    },
  ];
  if (o.bos !== undefined)
    chunks.push({ chunk_id: AMDGPU_CHUNK_ID_BO_HANDLES, data: o.bos.map((bo_handle) => ({ bo_handle })) });
  if (o.inSyncobjs !== undefined)
    chunks.push({ chunk_id: AMDGPU_CHUNK_ID_SYNCOBJ_IN, data: o.inSyncobjs.map((handle) => ({ handle })) });
  if (o.outSyncobjs !== undefined)
    chunks.push({ chunk_id: AMDGPU_CHUNK_ID_SYNCOBJ_OUT, data: o.outSyncobjs.map((handle) => ({ handle })) });
  return (await p.ioctl<{ handle: number }>(fd, DRM_IOCTL_AMDGPU_CS, { ctx_id, chunks })).handle;
}

/** `amdgpu_cs_query_fence_status` with an infinite wait on gfx ring 0: 0 once done. */
export async function amdgpuWaitCs(p: Process, fd: number, ctx_id: number, handle: number): Promise<number> {
  const r = await p.ioctl<{ status: number }>(fd, DRM_IOCTL_AMDGPU_WAIT_CS, {
    ctx_id,
    ip_type: AMDGPU_HW_IP_GFX,
    ring: 0,
    handle,
    timeout: FOREVER,
  });
  return r.status;
}

// --- asahi (Mesa winsys) ----------------------------------------------------------------------

/** Opens an asahi render node with one VM and one queue. */
export async function asahiOpenQueue(p: Process, path: string) {
  const fd = await p.open(path);
  const { vm_id } = await p.ioctl<{ vm_id: number }>(fd, DRM_IOCTL_ASAHI_VM_CREATE, {
    kernel_start: 0x1_0000_0000,
    kernel_end: 0x1_0000_0000 + ASAHI_VM_KERNEL_MIN_SIZE,
  });
  const { queue_id } = await p.ioctl<{ queue_id: number }>(fd, DRM_IOCTL_ASAHI_QUEUE_CREATE, {
    vm_id,
    priority: 1,
  });
  return { fd, vm: vm_id, queue: queue_id };
}

/** A render command (vertex + fragment). */
export function asahiRender(extra: Partial<DrmAsahiCommand> = {}): DrmAsahiCommand {
  return {
    cmd_type: DRM_ASAHI_CMD_RENDER,
    vdm_barrier: DRM_ASAHI_BARRIER_NONE,
    cdm_barrier: DRM_ASAHI_BARRIER_NONE,
    vertex_ns: 100_000,
    fragment_ns: 400_000,
    ...extra,
  };
}

/** `DRM_IOCTL_ASAHI_SUBMIT` of one command; `reads` are buffers it samples (implicit sync). */
export async function asahiSubmit(
  p: Process,
  fd: number,
  queue: number,
  o: { cmd?: DrmAsahiCommand; reads?: number[]; inSyncs?: DrmAsahiSync[]; outSyncs?: DrmAsahiSync[] } = {},
): Promise<void> {
  const ins = o.inSyncs ?? [];
  const outs = o.outSyncs ?? [];
  await p.ioctl(fd, DRM_IOCTL_ASAHI_SUBMIT, {
    queue_id: queue,
    commands: [o.cmd ?? asahiRender()],
    bos: (o.reads ?? []).map((handle) => ({ handle, flags: 0 })),
    syncs: [...ins, ...outs],
    in_sync_count: ins.length,
    out_sync_count: outs.length,
  });
}

// --- kernel-side peeks (not uAPI) -------------------------------------------------------------

/** The DRM file `p` opened on `dev` (kernel side). */
export function fileOf(dev: DrmDevice, p: Process): DrmFile {
  const f = [...dev.files].find((x) => x.proc === p);
  if (f === undefined) throw new Error(`${p} has no file open on ${dev}`);
  return f;
}

/** The fence a syncobj holds now (a new reference), or null. */
export function syncobjFence(dev: DrmDevice, p: Process, handle: number): DmaFence | null {
  const s = drmSyncobjTable(fileOf(dev, p)).find(handle);
  if (s === null) return null;
  const f = s.fenceGet();
  s.put();
  return f;
}
