/**
 * `struct amdgpu_ctx` (`amdgpu_ctx.c`): a submission context. It owns one scheduler entity per
 * ring it submits to (created on first use, at the context's priority), the ring of recent
 * submission fences that `WAIT_CS` and CS dependencies look up by sequence number, and the
 * guilty flag the TDR sets. QUERY_STATE2 compares the device's reset and VRAM-lost counters with
 * the ones the context was created under.
 */
import type { DmaFence } from "@drmsim/dma-fence";
import { type DrmFile, drmProcessIsRoot } from "@drmsim/drm";
import { DrmSchedEntity, type DrmSchedGuilty, DrmSchedPriority } from "@drmsim/drm-sched";
import { KernelError, type Process, U64_MAX } from "@drmsim/runtime";
import type { AmdgpuDevice } from "./amdgpu-device.js";
import {
  AMDGPU_CTX_PRIORITY_HIGH,
  AMDGPU_CTX_PRIORITY_LOW,
  AMDGPU_CTX_PRIORITY_NORMAL,
  AMDGPU_CTX_PRIORITY_UNSET,
  AMDGPU_CTX_PRIORITY_VERY_HIGH,
  AMDGPU_CTX_PRIORITY_VERY_LOW,
  type AmdgpuHwIp,
} from "./amdgpu-drm.js";

/** `amdgpu_sched_jobs` (default 32): how many submission fences a context entity remembers. */
export const AMDGPU_SCHED_JOBS = 32;

/** `amdgpu_ctx_priority_is_valid`. */
export function amdgpuCtxPriorityIsValid(p: number): boolean {
  return (
    p === AMDGPU_CTX_PRIORITY_UNSET ||
    p === AMDGPU_CTX_PRIORITY_VERY_LOW ||
    p === AMDGPU_CTX_PRIORITY_LOW ||
    p === AMDGPU_CTX_PRIORITY_NORMAL ||
    p === AMDGPU_CTX_PRIORITY_HIGH ||
    p === AMDGPU_CTX_PRIORITY_VERY_HIGH
  );
}

/** `amdgpu_ctx_to_drm_sched_prio`. */
export function amdgpuCtxToDrmSchedPrio(p: number): DrmSchedPriority {
  if (p === AMDGPU_CTX_PRIORITY_VERY_HIGH) return DrmSchedPriority.KERNEL;
  if (p === AMDGPU_CTX_PRIORITY_HIGH) return DrmSchedPriority.HIGH;
  if (p === AMDGPU_CTX_PRIORITY_VERY_LOW || p === AMDGPU_CTX_PRIORITY_LOW) return DrmSchedPriority.LOW;
  return DrmSchedPriority.NORMAL;
}

/**
 * `amdgpu_ctx_priority_permit`: above NORMAL needs `capable(CAP_SYS_NICE)` of the *calling*
 * process (a root process here) or the file being DRM master. `EACCES` otherwise.
 */
export function amdgpuCtxPriorityPermit(file: DrmFile, p: number, caller: Process): void {
  if (p <= AMDGPU_CTX_PRIORITY_NORMAL) return;
  if (drmProcessIsRoot(caller) || file.isMaster) return;
  throw new KernelError("EACCES", `AMDGPU_CTX: priority ${p} needs CAP_SYS_NICE or DRM master`);
}

/** `struct amdgpu_ctx_entity`: an entity plus its recent fences by sequence number. */
export class AmdgpuCtxEntity {
  /** `centity->sequence`: the next sequence number (starts at 1). */
  sequence = 1;
  private readonly fences = new Map<number, DmaFence>();

  constructor(readonly entity: DrmSchedEntity) {}

  /** `amdgpu_ctx_add_fence`: remembers `f` (a new reference) and returns its sequence number. */
  addFence(f: DmaFence): number {
    const seq = this.sequence++;
    this.fences.set(seq, f.get());
    const old = this.fences.get(seq - AMDGPU_SCHED_JOBS);
    if (old !== undefined) {
      this.fences.delete(seq - AMDGPU_SCHED_JOBS);
      old.put();
    }
    return seq;
  }

  /**
   * `amdgpu_ctx_get_fence`: the fence of submission `seq` (a reference) — `~0ull` is the newest —
   * or null if there is none to wait for: 0, or one so old it was forgotten (it has signalled long
   * ago). `EINVAL` for a sequence not submitted yet.
   */
  getFence(seq: bigint): DmaFence | null {
    if (seq === U64_MAX) seq = BigInt(this.sequence - 1);
    if (seq >= BigInt(this.sequence))
      throw new KernelError("EINVAL", `submission ${seq} does not exist yet (next is ${this.sequence})`);
    if (seq + BigInt(AMDGPU_SCHED_JOBS) < BigInt(this.sequence)) return null;
    return this.fences.get(Number(seq))?.get() ?? null;
  }

  /** Drops every remembered fence. */
  releaseFences(): void {
    for (const f of this.fences.values()) f.put();
    this.fences.clear();
  }
}

/** `struct amdgpu_ctx`. */
export class AmdgpuCtx {
  /** `ctx->guilty`, shared with every entity of the context. */
  readonly guilty: DrmSchedGuilty = { value: false };
  /** `ctx->reset_counter`: the device's reset counter at creation. */
  readonly resetCounter: number;
  /** `ctx->reset_counter_query`: for the old QUERY_STATE. */
  resetCounterQuery: number;
  /** `ctx->vram_lost_counter`. */
  readonly vramLostCounter: number;
  readonly entities = new Map<string, AmdgpuCtxEntity>();
  /** `ctx->override_priority`: set by a DRM master through `DRM_IOCTL_AMDGPU_SCHED`. */
  overridePriority: number | null = null;
  /** `ctx->stable_pstate`: what SET_STABLE_PSTATE asked for (`AMDGPU_CTX_STABLE_PSTATE_*`). */
  stablePstate = 0;

  constructor(
    readonly adev: AmdgpuDevice,
    readonly id: number,
    /** `ctx->init_priority` (an `AMDGPU_CTX_PRIORITY_*`). */
    readonly priority: number,
  ) {
    this.resetCounter = adev.gpuResetCounter;
    this.resetCounterQuery = adev.gpuResetCounter;
    this.vramLostCounter = adev.vramLostCounter;
  }

  /**
   * `amdgpu_ctx_get_entity(ctx, hw_ip, instance, ring)`: the entity for that ring, created on
   * first use. `EINVAL` for an unknown IP, a non-zero instance or a ring the device lacks.
   */
  getEntity(ip: number, instance: number, ring: number): AmdgpuCtxEntity {
    const rings = this.adev.rings[ip as AmdgpuHwIp];
    if (rings === undefined) throw new KernelError("EINVAL", `unknown hardware IP type ${ip}`);
    if (instance !== 0) throw new KernelError("EINVAL", `IP instance ${instance} does not exist (only 0)`);
    if (!Number.isInteger(ring) || ring < 0 || ring >= rings.length)
      throw new KernelError(
        "EINVAL",
        `IP type ${ip} has ${rings.length} ring(s); ring ${ring} does not exist`,
      );
    const key = `${ip}:${ring}`;
    let e = this.entities.get(key);
    if (e === undefined) {
      const r = rings[ring]!;
      e = new AmdgpuCtxEntity(
        new DrmSchedEntity(this.adev.sim, amdgpuCtxToDrmSchedPrio(this.effectivePriority), [r.sched], {
          guilty: this.guilty,
          name: `ctx${this.id}.${r.name}`,
        }),
      );
      this.entities.set(key, e);
    }
    return e;
  }

  /** The priority its entities run at: the override if a master set one (`amdgpu_ctx_get_ctx_prio`). */
  get effectivePriority(): number {
    return this.overridePriority ?? this.priority;
  }

  /**
   * `amdgpu_ctx_priority_override`: entities created from now on, and the existing ones from
   * their next idle submission, run at `priority` (`AMDGPU_CTX_PRIORITY_UNSET` removes the override).
   */
  setOverridePriority(priority: number): void {
    this.overridePriority = priority === AMDGPU_CTX_PRIORITY_UNSET ? null : priority;
    for (const e of this.entities.values())
      e.entity.setPriority(amdgpuCtxToDrmSchedPrio(this.effectivePriority));
  }

  /** `amdgpu_ctx_fini` from a path that may sleep: flush each entity (bounded), then release. */
  async destroy(): Promise<void> {
    for (const e of this.entities.values()) {
      await e.entity.destroy();
      e.releaseFences();
    }
    this.entities.clear();
  }

  /** The same from `postclose`, which may not sleep: kill what is queued. */
  fini(): void {
    for (const e of this.entities.values()) {
      e.entity.fini();
      e.releaseFences();
    }
    this.entities.clear();
  }
}

/** `struct amdgpu_ctx_mgr`: a file's contexts. */
export class AmdgpuCtxMgr {
  readonly ctxs = new Map<number, AmdgpuCtx>();
  private nextId = 1;

  constructor(readonly adev: AmdgpuDevice) {}

  /** `amdgpu_ctx_alloc`. */
  alloc(priority: number): AmdgpuCtx {
    const ctx = new AmdgpuCtx(this.adev, this.nextId++, priority);
    this.ctxs.set(ctx.id, ctx);
    return ctx;
  }

  /** `amdgpu_ctx_get`: `EINVAL` for an unknown id (the kernel's answer in CS and WAIT_CS). */
  get(id: number): AmdgpuCtx {
    const c = this.ctxs.get(id);
    if (c === undefined) throw new KernelError("EINVAL", `no context ${id} in this file`);
    return c;
  }

  /** `amdgpu_ctx_mgr_fini`. */
  fini(): void {
    for (const c of this.ctxs.values()) c.fini();
    this.ctxs.clear();
  }
}
