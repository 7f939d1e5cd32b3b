/**
 * Mesa's asahi winsys (`src/asahi/lib/agx_device.c`): open the render node with its VM, create
 * buffers and command queues, bind buffers into the VM. Each call is the ioctl Mesa makes, with
 * the kernel's struct.
 */
import type { Process } from "@drmsim/runtime";
import {
  ASAHI_VM_KERNEL_MIN_SIZE,
  DRM_IOCTL_ASAHI_GEM_CREATE,
  DRM_IOCTL_ASAHI_QUEUE_CREATE,
  DRM_IOCTL_ASAHI_QUEUE_DESTROY,
  DRM_IOCTL_ASAHI_VM_BIND,
  DRM_IOCTL_ASAHI_VM_CREATE,
  DRM_IOCTL_ASAHI_VM_DESTROY,
  type DrmAsahiGemBindOp,
  type DrmAsahiGemCreate,
  type DrmAsahiQueueCreate,
  type DrmAsahiQueueDestroy,
  type DrmAsahiVmBind,
  type DrmAsahiVmCreate,
  type DrmAsahiVmDestroy,
  drm_asahi_gem_bind_op,
} from "../asahi-drm.js";

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

/** `agx_open_device`: opens the render node at `path` and creates the device's VM, as Mesa does. */
export async function agxOpenDevice(
  p: Process,
  path = "/dev/dri/renderD128",
): Promise<{ fd: number; vm: number }> {
  const fd = await p.open(path);
  return { fd, vm: await agxVmCreate(p, fd) };
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

/** `agx_bo_bind` / `asahi_vm_bind`: `DRM_IOCTL_ASAHI_VM_BIND` of packed `binds` (`stride` is the op size). */
export async function agxVmBind(
  p: Process,
  fd: number,
  vmId: number,
  binds: readonly DrmAsahiGemBindOp[],
): Promise<void> {
  await p.ioctl(fd, DRM_IOCTL_ASAHI_VM_BIND, {
    vm_id: vmId,
    num_binds: binds.length,
    stride: drm_asahi_gem_bind_op.size,
    userptr: [...binds],
  } satisfies DrmAsahiVmBind);
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
