/**
 * `struct drm_file` (`include/drm/drm_file.h`, `drivers/gpu/drm/drm_file.c`): the private data of
 * one open of a DRM device node. Everything a client owns lives here — its GEM handles, its PRIME
 * import cache, its syncobj handles, the driver's per-file state — and is released when the last
 * reference to the open file goes (`drm_release` → `drm_file_free` → `postclose`).
 *
 * Subsystems that keep per-file tables (syncobj, driver-private idrs) attach them with
 * `file.subsystem(key, init)` and release them with `file.onRelease(fn)`, so `DrmFile` needs no
 * field for each of them and cannot forget to free one.
 */
import { DrmGemHandleTable } from "@drmsim/gem";
import { type Allocation, GFP_KERNEL, type Process } from "@drmsim/runtime";
import type { DrmMaster } from "./drm-auth.js";
import type { DrmDevice } from "./drm-device.js";
import type { DrmMinor } from "./drm-minor.js";

/** `sizeof(struct drm_file)` on 64-bit, an estimate: what `drm_file_alloc` allocates. */
const DRM_FILE_BYTES = 768;

/**
 * `struct drm_file`. Created by the core on `open()`; drivers see it in every op. Its memory is a
 * `GFP_KERNEL` allocation from site `drm_file_alloc`, taken first: `ENOMEM` creates nothing.
 */
export class DrmFile {
  /** `file_priv->authenticated`: may call `DRM_AUTH` ioctls on a primary node. */
  authenticated: boolean;
  /** `file_priv->magic`: the token `DRM_IOCTL_GET_MAGIC` handed out (0: none yet). */
  magic = 0;
  /** The driver's per-file data (`driver_priv`), set by the driver's `open` op. */
  driverPriv: unknown = undefined;
  /**
   * `file_priv->was_master` (and `is_master`): the file was DRM master at some point, so it owns a
   * master of its own; `drm_master_check_perm` lets its owner take mastership back.
   */
  wasMaster = false;
  /**
   * `file_priv->master`: the master this primary-node file belongs to (where its magic lives);
   * null for render and accel clients, and after release. See `drm-auth.ts`.
   */
  master: DrmMaster | null = null;
  /**
   * `file_priv->pid`: the process the file belongs to — its opener, then, for a file that was never
   * master, the last process that made an ioctl on it (`drm_file_update_pid`, 7.1). Not the same as
   * `proc`, the opener, once the fd has been passed to another process.
   */
  owner: Process;
  /** True once the file was released; every later use is a bug. */
  closed = false;
  /** `file_priv->object_idr` + `file_priv->prime`: this client's GEM handles and PRIME cache. */
  readonly gem: DrmGemHandleTable;
  private readonly slots = new Map<object, unknown>();
  private readonly releaseFns: (() => void)[] = [];
  /** The struct's memory, given back by `free()` once the core is done with the file. */
  private readonly mem: Allocation;

  constructor(
    /** `file_priv->minor->dev`. */
    readonly device: DrmDevice,
    /** `file_priv->minor`: which node was opened. */
    readonly minor: DrmMinor,
    /** The process that opened it (`file_priv->pid` at `drm_file_alloc`; see `owner`). */
    readonly proc: Process,
  ) {
    this.owner = proc;
    this.mem = device.sim.mm.kmalloc(DRM_FILE_BYTES, GFP_KERNEL, "drm_file_alloc");
    // drm_file_alloc: a CAP_SYS_ADMIN opener starts authenticated; others must be authenticated by
    // the master (GET_MAGIC + AUTH_MAGIC). Render and accel clients never need it.
    this.authenticated = drmProcessIsRoot(proc);
    this.gem = new DrmGemHandleTable(device.sim, this);
    // drm_gem_release: closing the file deletes every handle it still has.
    this.onRelease(() => this.gem.release());
  }

  /** `drm_is_primary_client()`. */
  get isPrimaryClient(): boolean {
    return this.minor.type === "primary";
  }

  /** `drm_is_render_client()`. */
  get isRenderClient(): boolean {
    return this.minor.type === "render";
  }

  /** `drm_is_accel_client()`. */
  get isAccelClient(): boolean {
    return this.minor.type === "accel";
  }

  /** `drm_is_current_master()`: this file is its device's current DRM master (see `drm-auth.ts`). */
  get isMaster(): boolean {
    return this.device.master === this;
  }

  /**
   * Per-file state of a subsystem (the syncobj idr, a driver's fence idr), created on first use.
   * Pair with `onRelease` to free it when the file goes.
   */
  subsystem<T>(key: object, init: () => T): T {
    let v = this.slots.get(key) as T | undefined;
    if (v === undefined) {
      v = init();
      this.slots.set(key, v);
    }
    return v;
  }

  /** Runs `fn` when the file is released, before the driver's `postclose` (as `drm_file_free` does), in reverse order of registration. */
  onRelease(fn: () => void): void {
    this.releaseFns.push(fn);
  }

  /** @internal Runs the release functions (drm_file_free). */
  runReleaseFns(): void {
    for (let i = this.releaseFns.length - 1; i >= 0; i--) this.releaseFns[i]!();
    this.releaseFns.length = 0;
    this.slots.clear();
  }

  /** @internal `drm_file_free`'s final `kfree(file)`: after postclose, or when `open` failed. */
  free(): void {
    this.mem.free();
  }

  toString(): string {
    return `drm_file ${this.minor.path} (${this.proc})`;
  }
}

const ROOT = new WeakSet<Process>();

/**
 * Gives `proc` `CAP_SYS_ADMIN` (a root process): its DRM files start authenticated and it may call
 * `DRM_ROOT_ONLY` ioctls. Simulated processes are unprivileged by default, like a desktop client.
 */
export function drmProcessSetRoot(proc: Process, root = true): void {
  if (root) ROOT.add(proc);
  else ROOT.delete(proc);
}

/** `capable(CAP_SYS_ADMIN)` for a simulated process. */
export function drmProcessIsRoot(proc: Process): boolean {
  return ROOT.has(proc);
}
