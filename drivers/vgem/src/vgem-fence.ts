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
import { DmaFence, type DmaFenceOps, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { DmaResvUsage, dmaResvUsageRw } from "@drmsim/dma-resv";
import { type DrmFile, drmArgU, drmCheckZero } from "@drmsim/drm";
import { KernelError, MAX_ERRNO, type Simulator, type TimerHandle } from "@drmsim/runtime";
import {
  type DrmVgemFenceAttach,
  type DrmVgemFenceSignal,
  VGEM_FENCE_NOTIMEOUT,
  VGEM_FENCE_TIMEOUT_NS,
  VGEM_FENCE_WRITE,
} from "./vgem-drm.js";

/** `struct vgem_fence`: a dma_fence with its safety timer. */
export class VgemFence extends DmaFence {
  /** The 10-second timer (`fence->timer`), null with `VGEM_FENCE_NOTIMEOUT`. */
  timer: TimerHandle | null = null;

  constructor(sim: Simulator, timeout: boolean) {
    super(sim, vgemFenceOps, dmaFenceContextAlloc(sim), 1);
    if (timeout) {
      // vgem_fence_timeout runs in timer (softirq) context and just signals.
      this.timer = sim.schedule(VGEM_FENCE_TIMEOUT_NS, () => this.signal());
    }
  }
}

const vgemFenceOps: DmaFenceOps<VgemFence> = {
  getDriverName: () => "vgem",
  getTimelineName: () => "unbound",
  // vgem_fence_release: the timer must not fire on a freed fence.
  release: (f) => {
    f.timer?.cancel();
  },
};

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
 * `vgem_fence_attach_ioctl`: a new fence on the buffer's resv, WRITE or READ usage. `EINVAL` for
 * unknown flags or a non-zero pad; `ENOENT` for an unknown handle; `EBUSY` if an unsignalled
 * fence conflicts (any fence blocks a write, a write fence blocks a read). On any failure the
 * fence is signalled and dropped and the resv is unchanged.
 */
export async function vgemFenceAttachIoctl(file: DrmFile, args: DrmVgemFenceAttach): Promise<void> {
  const a = args as unknown as Record<string, unknown>;
  const flags = drmArgU(a, "flags", "VGEM_FENCE_ATTACH", 0);
  if ((flags & ~(VGEM_FENCE_WRITE | VGEM_FENCE_NOTIMEOUT)) !== 0)
    throw new KernelError("EINVAL", `VGEM_FENCE_ATTACH: unknown flags 0x${flags.toString(16)}`);
  drmCheckZero(a, "pad", "VGEM_FENCE_ATTACH");
  const handle = drmArgU(a, "handle", "VGEM_FENCE_ATTACH");
  const vfile = vgemFileOf(file);
  const obj = file.gem.lookup(handle);
  const sim = file.device.sim;
  const write = (flags & VGEM_FENCE_WRITE) !== 0;
  const fence = new VgemFence(sim, (flags & VGEM_FENCE_NOTIMEOUT) === 0);
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
 * `vgem_fence_signal_ioctl`: signals fence `fence` and releases the id. `EINVAL` for non-zero
 * flags or (extension) an `error` that is not a negative errno; `ENOENT` for an unknown or
 * already-signalled id; `ETIMEDOUT` if the safety timer had already expired it (the id is
 * released all the same).
 */
export function vgemFenceSignalIoctl(file: DrmFile, args: DrmVgemFenceSignal): void {
  const a = args as unknown as Record<string, unknown>;
  drmCheckZero(a, "flags", "VGEM_FENCE_SIGNAL");
  const id = drmArgU(a, "fence", "VGEM_FENCE_SIGNAL");
  const error = a.error ?? 0;
  if (typeof error !== "number" || !Number.isInteger(error) || error > 0 || error < -MAX_ERRNO)
    throw new KernelError(
      "EINVAL",
      `VGEM_FENCE_SIGNAL: error must be 0 or a negative errno, got ${String(error)}`,
    );
  const vfile = vgemFileOf(file);
  const fence = vfile.fences.get(id);
  if (fence === undefined || fence === null)
    throw new KernelError("ENOENT", `VGEM_FENCE_SIGNAL: no outstanding fence ${id} in this file`);
  vfile.fences.set(id, null);
  const expired = fence.isSignaled();
  if (!expired) {
    if (error !== 0) fence.setError(error);
    fence.signal();
  }
  fence.put();
  if (expired)
    throw new KernelError(
      "ETIMEDOUT",
      `VGEM_FENCE_SIGNAL: fence ${id} had already expired (10 s safety timeout)`,
    );
}
