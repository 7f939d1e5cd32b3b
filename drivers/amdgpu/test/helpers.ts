/** Userspace-side helpers for the amdgpu tests: a libdrm_amdgpu in miniature. */
import { DrmPluginHost } from "@drmsim/drm";
import { Process, Simulator, type SimulatorOptions, WaitQueue } from "@drmsim/runtime";
import {
  AMDGPU_CHUNK_ID_BO_HANDLES,
  AMDGPU_CHUNK_ID_IB,
  AMDGPU_CTX_OP_ALLOC_CTX,
  AMDGPU_CTX_OP_QUERY_STATE2,
  type AmdgpuConfig,
  type AmdgpuDevice,
  amdgpuDriverOf,
  amdgpuProbe,
  DRM_IOCTL_AMDGPU_CS,
  DRM_IOCTL_AMDGPU_CTX,
  DRM_IOCTL_AMDGPU_GEM_CREATE,
  DRM_IOCTL_AMDGPU_WAIT_CS,
  type DrmAmdgpuCsChunk,
} from "../src/index.js";

export interface Rig {
  sim: Simulator;
  host: DrmPluginHost;
  dev: ReturnType<typeof amdgpuProbe>;
  adev: AmdgpuDevice;
}

export function rig(config: AmdgpuConfig = {}, simOpts: SimulatorOptions = {}): Rig {
  const sim = new Simulator(simOpts);
  const host = new DrmPluginHost(sim);
  const dev = amdgpuProbe(host, config);
  return { sim, host, dev, adev: amdgpuDriverOf(host, dev) };
}

/** `amdgpu_bo_alloc`. */
export async function boAlloc(p: Process, fd: number, size: number, domains: number): Promise<number> {
  const r = await p.ioctl<{ handle: number }>(fd, DRM_IOCTL_AMDGPU_GEM_CREATE, { bo_size: size, domains });
  return r.handle;
}

/** `amdgpu_cs_ctx_create2`. */
export async function ctxCreate(p: Process, fd: number, priority = 0): Promise<number> {
  const r = await p.ioctl<{ ctx_id: number }>(fd, DRM_IOCTL_AMDGPU_CTX, {
    op: AMDGPU_CTX_OP_ALLOC_CTX,
    priority,
  });
  return r.ctx_id;
}

/** `amdgpu_cs_query_reset_state2`. */
export async function ctxQuery2(p: Process, fd: number, ctx_id: number): Promise<number> {
  const r = await p.ioctl<{ state_flags: number }>(fd, DRM_IOCTL_AMDGPU_CTX, {
    op: AMDGPU_CTX_OP_QUERY_STATE2,
    ctx_id,
  });
  return r.state_flags;
}

/** One IB chunk. */
export function ib(
  ip_type: number,
  ring: number,
  duration_ns: number,
  extra: Record<string, unknown> = {},
): DrmAmdgpuCsChunk {
  return { chunk_id: AMDGPU_CHUNK_ID_IB, data: { ip_type, ring, duration_ns, ...extra } };
}

/** A BO list chunk. */
export function boList(...handles: number[]): DrmAmdgpuCsChunk {
  return { chunk_id: AMDGPU_CHUNK_ID_BO_HANDLES, data: handles.map((bo_handle) => ({ bo_handle })) };
}

/** `amdgpu_cs_submit_raw2`: returns the sequence number. */
export async function cs(
  p: Process,
  fd: number,
  ctx_id: number,
  chunks: DrmAmdgpuCsChunk[],
): Promise<number> {
  const r = await p.ioctl<{ handle: number }>(fd, DRM_IOCTL_AMDGPU_CS, { ctx_id, chunks });
  return r.handle;
}

/** `amdgpu_cs_query_fence_status` with a wait: 0 when done. */
export async function waitCs(
  p: Process,
  fd: number,
  ctx_id: number,
  ip_type: number,
  ring: number,
  handle: number,
  timeout = Number.MAX_SAFE_INTEGER,
): Promise<number> {
  const r = await p.ioctl<{ status: number }>(fd, DRM_IOCTL_AMDGPU_WAIT_CS, {
    ctx_id,
    ip_type,
    ring,
    handle,
    timeout,
  });
  return r.status;
}

/** Expect a promise to reject with a KernelError of `code`. */
export async function errno(pr: Promise<unknown>): Promise<string> {
  try {
    await pr;
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return "no error";
}

export { Process };

/** Sleep `ns` of virtual time inside a task. */
export async function nap(sim: Simulator, ns: number): Promise<void> {
  await new WaitQueue(sim, "nap").waitEvent(() => false, { timeoutNs: ns });
}
