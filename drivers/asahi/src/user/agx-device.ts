/**
 * Mesa's asahi winsys (`src/asahi/lib/agx_device.c`): open the render node, read the device's
 * parameters and create its VM, create buffers and command queues, bind buffers into the VM, map
 * them for the CPU, read the GPU clock. Each call is the ioctl Mesa makes, with the kernel's
 * struct.
 */
import { type Process, type UapiValue, uapiDecode } from "@drmsim/runtime";
import {
  ASAHI_VM_KERNEL_MIN_SIZE,
  DRM_ASAHI_BIND_OBJECT_OP_BIND,
  DRM_ASAHI_BIND_OBJECT_OP_UNBIND,
  DRM_ASAHI_BIND_OBJECT_USAGE_TIMESTAMPS,
  DRM_IOCTL_ASAHI_GEM_BIND_OBJECT,
  DRM_IOCTL_ASAHI_GEM_CREATE,
  DRM_IOCTL_ASAHI_GEM_MMAP_OFFSET,
  DRM_IOCTL_ASAHI_GET_PARAMS,
  DRM_IOCTL_ASAHI_GET_TIME,
  DRM_IOCTL_ASAHI_QUEUE_CREATE,
  DRM_IOCTL_ASAHI_QUEUE_DESTROY,
  DRM_IOCTL_ASAHI_VM_BIND,
  DRM_IOCTL_ASAHI_VM_CREATE,
  DRM_IOCTL_ASAHI_VM_DESTROY,
  type DrmAsahiGemBindObject,
  type DrmAsahiGemBindOp,
  type DrmAsahiGemCreate,
  type DrmAsahiGemMmapOffset,
  type DrmAsahiGetParams,
  type DrmAsahiGetTime,
  type DrmAsahiQueueCreate,
  type DrmAsahiQueueDestroy,
  type DrmAsahiVmBind,
  type DrmAsahiVmCreate,
  type DrmAsahiVmDestroy,
  drm_asahi_gem_bind_op,
  drm_asahi_params_global,
} from "../asahi-drm.js";
import { agxEncodeStruct } from "./agx-bytes.js";

/** `struct drm_asahi_params_global` as `agxGetParams` returns it (`__u64` members as bigint). */
export type AgxParams = UapiValue<typeof drm_asahi_params_global>;

/**
 * `DRM_IOCTL_ASAHI_GET_PARAMS` (`agx_get_params`): the device's global parameters. `size` is how
 * many bytes of the struct this "userspace" knows (default all of it); the kernel writes no more.
 */
export async function agxGetParams(
  p: Process,
  fd: number,
  size: number = drm_asahi_params_global.size,
): Promise<AgxParams> {
  const buf = new Uint8Array(drm_asahi_params_global.size);
  await p.ioctl(fd, DRM_IOCTL_ASAHI_GET_PARAMS, {
    param_group: 0,
    pointer: buf.subarray(0, size),
    size,
  } satisfies DrmAsahiGetParams);
  return uapiDecode(drm_asahi_params_global, buf, { sim: p.sim, what: "agx_get_params" });
}

/** `DRM_IOCTL_ASAHI_GET_TIME` (`agx_get_gpu_timestamp`): the GPU clock, ns. */
export async function agxGetTime(p: Process, fd: number): Promise<bigint> {
  const r = await p.ioctl<DrmAsahiGetTime>(fd, DRM_IOCTL_ASAHI_GET_TIME, { flags: 0 });
  return BigInt(r.gpu_timestamp ?? 0);
}

/** Where `agxOpenDevice` puts the kernel's part of each VM (above the user range Mesa uses). */
export const AGX_KERNEL_VA_START = 0x1_0000_0000;

/** `DRM_IOCTL_ASAHI_VM_CREATE` reserving `[kernelStart, kernelStart + size)` for the kernel; the VM id. */
export async function agxVmCreate(
  p: Process,
  fd: number,
  kernelStart: number | bigint = AGX_KERNEL_VA_START,
  size: number | bigint = ASAHI_VM_KERNEL_MIN_SIZE,
): Promise<number> {
  const r = await p.ioctl<DrmAsahiVmCreate>(fd, DRM_IOCTL_ASAHI_VM_CREATE, {
    kernel_start: kernelStart,
    kernel_end: BigInt(kernelStart) + BigInt(size),
  });
  return r.vm_id ?? 0;
}

/** `DRM_IOCTL_ASAHI_VM_DESTROY`. */
export async function agxVmDestroy(p: Process, fd: number, vmId: number): Promise<void> {
  await p.ioctl(fd, DRM_IOCTL_ASAHI_VM_DESTROY, { vm_id: vmId } satisfies DrmAsahiVmDestroy);
}

/**
 * `agx_open_device`: opens the render node at `path`, reads the device's parameters and creates
 * the device's VM, as Mesa does.
 */
export async function agxOpenDevice(
  p: Process,
  path = "/dev/dri/renderD128",
): Promise<{ fd: number; vm: number; params: AgxParams }> {
  const fd = await p.open(path);
  const params = await agxGetParams(p, fd);
  return { fd, vm: await agxVmCreate(p, fd), params };
}

/** `agx_bo_create`: `DRM_IOCTL_ASAHI_GEM_CREATE` (`DRM_ASAHI_GEM_*` flags; `vmId` for VM-private BOs); the handle. */
export async function agxBoCreate(
  p: Process,
  fd: number,
  size: number | bigint,
  flags = 0,
  vmId = 0,
): Promise<number> {
  const r = await p.ioctl<DrmAsahiGemCreate>(fd, DRM_IOCTL_ASAHI_GEM_CREATE, { size, flags, vm_id: vmId });
  return r.handle ?? 0;
}

/**
 * `binds` laid out as the `userptr` array of a VM_BIND: one `struct drm_asahi_gem_bind_op` every
 * `stride` bytes (a smaller stride keeps only that much of each op; a larger one pads with zeros).
 */
export function agxEncodeBindOps(
  binds: readonly DrmAsahiGemBindOp[],
  stride: number = drm_asahi_gem_bind_op.size,
): Uint8Array {
  const out = new Uint8Array(binds.length * stride);
  binds.forEach((b, i) => {
    out.set(agxEncodeStruct(drm_asahi_gem_bind_op, b).subarray(0, stride), i * stride);
  });
  return out;
}

/**
 * `agx_bo_bind` / `asahi_vm_bind`: `DRM_IOCTL_ASAHI_VM_BIND` of `binds`, laid out at `stride`
 * (default: the op's size, as Mesa passes it). The kernel applies them in order and stops at the
 * first that fails.
 */
export async function agxVmBind(
  p: Process,
  fd: number,
  vmId: number,
  binds: readonly DrmAsahiGemBindOp[],
  stride: number = drm_asahi_gem_bind_op.size,
): Promise<void> {
  await p.ioctl(fd, DRM_IOCTL_ASAHI_VM_BIND, {
    vm_id: vmId,
    num_binds: binds.length,
    stride,
    userptr: agxEncodeBindOps(binds, stride),
  } satisfies DrmAsahiVmBind);
}

/** `DRM_IOCTL_ASAHI_GEM_MMAP_OFFSET` (`agx_bo_mmap`'s first step): the fake offset to `mmap()` the BO at. */
export async function agxBoMmapOffset(p: Process, fd: number, handle: number): Promise<bigint> {
  const r = await p.ioctl<DrmAsahiGemMmapOffset>(fd, DRM_IOCTL_ASAHI_GEM_MMAP_OFFSET, { handle, flags: 0 });
  return BigInt(r.offset ?? 0);
}

/**
 * `DRM_IOCTL_ASAHI_GEM_BIND_OBJECT` BIND: `[offset, offset + range)` of the BO as a timestamp
 * buffer; its object handle, for `struct drm_asahi_timestamp.handle`.
 */
export async function agxBindTimestampBuffer(
  p: Process,
  fd: number,
  handle: number,
  offset: number | bigint,
  range: number | bigint,
): Promise<number> {
  const r = await p.ioctl<DrmAsahiGemBindObject>(fd, DRM_IOCTL_ASAHI_GEM_BIND_OBJECT, {
    op: DRM_ASAHI_BIND_OBJECT_OP_BIND,
    flags: DRM_ASAHI_BIND_OBJECT_USAGE_TIMESTAMPS,
    handle,
    offset,
    range,
  });
  return r.object_handle ?? 0;
}

/** `DRM_IOCTL_ASAHI_GEM_BIND_OBJECT` UNBIND of a special object. */
export async function agxUnbindObject(p: Process, fd: number, objectHandle: number): Promise<void> {
  await p.ioctl(fd, DRM_IOCTL_ASAHI_GEM_BIND_OBJECT, {
    op: DRM_ASAHI_BIND_OBJECT_OP_UNBIND,
    object_handle: objectHandle,
  } satisfies DrmAsahiGemBindObject);
}

/** `agx_create_command_queue`: a queue on `vmId` at `priority` (`DRM_ASAHI_PRIORITY_*`); its id. */
export async function agxCreateCommandQueue(
  p: Process,
  fd: number,
  vmId: number,
  priority = 1,
): Promise<number> {
  const r = await p.ioctl<DrmAsahiQueueCreate>(fd, DRM_IOCTL_ASAHI_QUEUE_CREATE, { vm_id: vmId, priority });
  return r.queue_id ?? 0;
}

/** `agx_destroy_command_queue`. */
export async function agxDestroyCommandQueue(p: Process, fd: number, queueId: number): Promise<void> {
  await p.ioctl(fd, DRM_IOCTL_ASAHI_QUEUE_DESTROY, { queue_id: queueId } satisfies DrmAsahiQueueDestroy);
}

/**
 * What a Mesa context starts from: `agx_open_device` (the render node at `path` and its VM), then
 * `agx_create_command_queue` on that VM — the one setup every asahi test, interop test and scenario
 * makes.
 */
export async function agxOpenContext(
  p: Process,
  path = "/dev/dri/renderD128",
): Promise<{ fd: number; vm: number; queue: number }> {
  const { fd, vm } = await agxOpenDevice(p, path);
  return { fd, vm, queue: await agxCreateCommandQueue(p, fd, vm) };
}
