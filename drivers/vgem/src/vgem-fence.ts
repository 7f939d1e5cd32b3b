/**
 * vgem fences (`drivers/gpu/drm/vgem/vgem_fence.c`): userspace attaches a dma_fence to a buffer's
 * reservation object and signals it later, which is how IGT tests implicit sync between drivers
 * without a GPU. Each fence is on its own context, seqno 1, and is force-signalled by a timer
 * after 10 s ("we force the fence to expire within 10s to prevent driver hangs"), so no test can
 * leave an indefinite fence behind — unless it opts into `VGEM_FENCE_NOTIMEOUT`.
 *
 * Ids come from a per-file idr starting at 1. Signalling keeps the id allocated but empty
 * (`idr_replace(NULL)`), so a second signal of the same id is `ENOENT` and ids are never reused
 * within a file. Closing the file signals whatever is still outstanding.
 */
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { DmaResvUsage, dmaResvUsageRw } from "@drmsim/dma-resv";
import type { DrmDevice, DrmFile, DrmHooks } from "@drmsim/drm";
import { KernelError, MAX_ERRNO, type TimerHandle, type UapiValue } from "@drmsim/runtime";
import {
  type drm_vgem_fence_attach,
  type drm_vgem_fence_signal,
  type drmsim_vgem_fence_error,
  VGEM_FENCE_NOTIMEOUT,
  VGEM_FENCE_TIMEOUT_NS,
  VGEM_FENCE_WRITE,
} from "./vgem-drm.js";

/**
 * `struct vgem_fence`: a dma_fence with its safety timer. Its `dma_fence_ops` are the device's
 * (`vgem_fence_ops` through `hooks.fence`, tapped by `vgemFenceApply`).
 */
export class VgemFence extends DmaFence {
  /** The 10-second timer (`fence->timer`), null with `VGEM_FENCE_NOTIMEOUT`. */
  timer: TimerHandle | null = null;

  constructor(device: DrmDevice, timeout: boolean) {
    const sim = device.sim;
    super(sim, device.fenceOps, dmaFenceContextAlloc(sim), 1);
    if (timeout) {
      // vgem_fence_timeout runs in timer (softirq) context and just signals.
      this.timer = sim.schedule(VGEM_FENCE_TIMEOUT_NS, () => this.signal());
    }
  }
}

/** `vgem_fence_ops`: names, and a release that stops the safety timer. */
export function vgemFenceApply(hooks: DrmHooks, name: string): void {
  hooks.fence.getDriverName.tap(name, (f) => (f instanceof VgemFence ? "vgem" : undefined));
  hooks.fence.getTimelineName.tap(name, (f) => (f instanceof VgemFence ? "unbound" : undefined));
  // vgem_fence_release: the timer must not fire on a freed fence.
  hooks.fence.release.tap(name, (f) => {
    if (f instanceof VgemFence) f.timer?.cancel();
  });
}

/** `struct vgem_file`: the per-file fence idr (`fence_idr`). */
export class VgemFile {
  /** id → fence, or null once signalled by FENCE_SIGNAL (the id stays taken). */
  readonly fences = new Map<number, VgemFence | null>();
  private nextId = 1;

  /** `idr_alloc(&vfile->fence_idr, fence, 1, 0)`. */
  alloc(fence: VgemFence): number {
    const id = this.nextId++;
    this.fences.set(id, fence);
    return id;
  }

  /** Outstanding (not yet signalled through the ioctl) fences. */
  get outstanding(): number {
    let n = 0;
    for (const f of this.fences.values()) if (f !== null) n++;
    return n;
  }

  /** `vgem_fence_close`: signal and drop every outstanding fence. */
  close(): void {
    for (const f of this.fences.values()) {
      if (f === null) continue;
      f.signal();
      f.put();
    }
    this.fences.clear();
  }
}

/** The per-file state of vgem, created by the driver's `open` op. */
export function vgemFileOf(file: DrmFile): VgemFile {
  const v = file.driverPriv;
  if (!(v instanceof VgemFile)) throw new KernelError("EINVAL", `${file} is not a vgem file`);
  return v;
}

/**
 * `vgem_fence_attach_ioctl`: a new fence on the buffer's resv, WRITE or READ usage. Unknown flags
 * or a non-zero pad were refused on entry (`EINVAL`); `ENOENT` for an unknown handle; `EBUSY` if
 * an unsignalled fence conflicts (any fence blocks a write, a write fence blocks a read). On any
 * failure the fence is signalled and dropped and the resv is unchanged.
 */
export async function vgemFenceAttachIoctl(
  file: DrmFile,
  args: UapiValue<typeof drm_vgem_fence_attach>,
): Promise<void> {
  const flags = args.flags;
  const vfile = vgemFileOf(file);
  const obj = file.gem.lookup(args.handle);
  const write = (flags & VGEM_FENCE_WRITE) !== 0;
  const fence = new VgemFence(file.device, (flags & VGEM_FENCE_NOTIMEOUT) === 0);
  const resv = obj.resv;
  try {
    await resv.lock(null);
    try {
      if (!resv.testSignaled(dmaResvUsageRw(write)))
        throw new KernelError(
          "EBUSY",
          `VGEM_FENCE_ATTACH: ${obj.label} has an unsignalled ${write ? "fence" : "write fence"} a ${write ? "write" : "read"} fence would conflict with`,
        );
      resv.reserveFences(1);
      resv.addFence(fence, write ? DmaResvUsage.WRITE : DmaResvUsage.READ);
    } finally {
      resv.unlock();
    }
    // The idr keeps our reference; the resv took its own.
    args.out_fence = vfile.alloc(fence);
  } catch (e) {
    fence.signal();
    fence.put();
    throw e;
  } finally {
    obj.put();
  }
}

/**
 * `vgem_fence_signal_ioctl`: signals fence `fence` and releases the id. Non-zero flags were refused
 * on entry (`EINVAL`); `ENOENT` for an unknown or already-signalled id; `ETIMEDOUT` if the safety
 * timer had already expired it (the id is released all the same).
 */
export function vgemFenceSignalIoctl(file: DrmFile, args: UapiValue<typeof drm_vgem_fence_signal>): void {
  const id = args.fence;
  const vfile = vgemFileOf(file);
  const fence = vfile.fences.get(id);
  if (fence === undefined || fence === null)
    throw new KernelError("ENOENT", `VGEM_FENCE_SIGNAL: no outstanding fence ${id} in this file`);
  vfile.fences.set(id, null);
  const expired = fence.isSignaled();
  if (!expired) fence.signal();
  fence.put();
  if (expired)
    throw new KernelError(
      "ETIMEDOUT",
      `VGEM_FENCE_SIGNAL: fence ${id} had already expired (10 s safety timeout)`,
    );
}

/**
 * drmsim only, `DRM_IOCTL_DRMSIM_VGEM_FENCE_ERROR`: the outstanding fence `fence` will carry
 * `error` when it signals (`dma_fence_set_error`). `EINVAL` for an error that is not a negative
 * errno, `ENOENT` for an unknown or signalled id, `ETIMEDOUT` for a fence the safety timer already
 * expired; nothing changes on failure.
 */
export function vgemFenceErrorIoctl(file: DrmFile, args: UapiValue<typeof drmsim_vgem_fence_error>): void {
  const { fence: id, error } = args;
  if (error >= 0 || error < -MAX_ERRNO)
    throw new KernelError("EINVAL", `DRMSIM_VGEM_FENCE_ERROR: error must be a negative errno, got ${error}`);
  const fence = vgemFileOf(file).fences.get(id);
  if (fence === undefined || fence === null)
    throw new KernelError("ENOENT", `DRMSIM_VGEM_FENCE_ERROR: no outstanding fence ${id} in this file`);
  if (fence.isSignaled())
    throw new KernelError(
      "ETIMEDOUT",
      `DRMSIM_VGEM_FENCE_ERROR: fence ${id} already expired (10 s safety timeout)`,
    );
  fence.setError(error);
}
