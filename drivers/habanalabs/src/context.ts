/**
 * `struct hl_ctx` and `struct hl_fpriv` (`common/context.c`, `common/habanalabs_drv.c`): the
 * per-open state of a habanalabs client. One open of `/dev/accel/accelN` gets one compute
 * context with its own ASID, device-MMU address space, device-memory handles, command buffers,
 * CS sequence counter and the `cs_pending` ring of fences.
 *
 * The context is reference counted (`hl_ctx_get/put`): the file holds one reference and every
 * exported dma-buf another, so device memory that was exported stays allocated until the last
 * importer lets go, even after the exporting process closed its fd — as `hl_release_dmabuf`'s
 * `hl_ctx_put` does in the kernel.
 */
import { HwOverrideQueue, KernelError, RefCounted, type Simulator } from "@drmsim/runtime";
import { type HlCsCounters, type HlDevice, hlCsCounters } from "./hl-device.js";
import type { HlVmPhysPgPack } from "./hl-dram.js";
import type { HlFence } from "./hl-fence.js";
import { HL_HW_NEXT_QUEUE, type HlHwBehaviour } from "./hl-hw-model.js";
import { HlMmu } from "./hl-mmu.js";

/** `struct hl_cb`: a host command buffer for external queues. */
export class HlCb {
  /** Jobs currently using it (`cs_cnt`; `HL_CB_OP_INFO.usage_cnt`). */
  csCnt = 0;
  /** Its handle was destroyed; it goes away when no job uses it. */
  destroyed = false;
  constructor(
    readonly handle: number,
    /** Allocated size (at least a page, as the kernel rounds). */
    readonly size: number,
  ) {}
}

/** `struct hl_ctx`. */
export class HlCtx extends RefCounted {
  /** `ctx->cs_sequence`: the sequence number the next CS gets (starts at 1). */
  csSequence = 1;
  /** `ctx->cs_pending`: fence of sequence `s` at `s & (maxPendingCs - 1)`, each holding a reference. */
  readonly csPending: (HlFence | null)[];
  /** The context's device MMU. */
  readonly mmu: HlMmu;
  /** `vm->phys_pg_pack_handles`: device-memory allocations by handle. */
  readonly memHandles = new Map<number, HlVmPhysPgPack>();
  /** Command buffers by handle (`hpriv->mem_mgr`). */
  readonly cbs = new Map<number, HlCb>();
  /** `ctx->cs_counters`: why this context's CSs were dropped. */
  readonly csCounters: HlCsCounters = hlCsCounters();
  /** drmsim only: per-job overrides of the hardware model (`DRM_IOCTL_DRMSIM_HL_HW_NEXT`). */
  readonly hwOverrides = new HwOverrideQueue<HlHwBehaviour>(HL_HW_NEXT_QUEUE);
  /** Bytes of device memory this context allocated (`ctx->dram_phys_mem`). */
  dramPhysMem = 0;
  private nextMemHandle = 1;
  private nextCbHandle = 1;

  constructor(
    sim: Simulator,
    readonly hdev: HlDevice,
    /** `ctx->asid`. */
    readonly asid: number,
  ) {
    super(sim);
    this.csPending = new Array<HlFence | null>(hdev.maxPendingCs).fill(null);
    this.mmu = new HlMmu(hdev.dramVaBase, hdev.dramVaSize);
  }

  /** A fresh device-memory handle (handles are never reused within a context). */
  allocMemHandle(): number {
    return this.nextMemHandle++;
  }

  /** A fresh command-buffer handle. */
  allocCbHandle(): number {
    return this.nextCbHandle++;
  }

  /** `hl_cb_get`: the command buffer of `handle`, `EINVAL` if there is none. */
  cb(handle: bigint): HlCb {
    const cb = handle <= BigInt(Number.MAX_SAFE_INTEGER) ? this.cbs.get(Number(handle)) : undefined;
    if (cb === undefined) throw new KernelError("EINVAL", `CB handle 0x${handle.toString(16)} invalid`);
    return cb;
  }

  /**
   * `hl_ctx_get_fence(ctx, seq)`: the fence of `seq` with a new reference, null if it completed so
   * long ago that its slot was reused ("gone"), `EINVAL` for a sequence not handed out yet.
   */
  getFence(seq: bigint): HlFence | null {
    if (seq >= BigInt(this.csSequence))
      throw new KernelError(
        "EINVAL",
        `Can't wait on CS ${seq} because current CS is at seq ${this.csSequence - 1}`,
      );
    const s = Number(seq);
    if (s + this.csPending.length < this.csSequence) return null;
    const f = this.csPending[s & (this.csPending.length - 1)] ?? null;
    if (f === null || f.csSequence !== s) return null;
    return f.get();
  }

  /** Counts a dropped CS in this context's and the device's counters (`hl_cs_counters_atomic`). */
  countDrop(kind: keyof HlCsCounters): void {
    this.csCounters[kind]++;
    this.hdev.csCounters[kind]++;
  }

  describe(): string {
    return `hl_ctx ${this.hdev.name} asid ${this.asid}`;
  }

  /** `hl_ctx_do_release` → `hl_ctx_fini`: drops the fences, frees device memory and mappings. */
  protected release(): void {
    for (let i = 0; i < this.csPending.length; i++) {
      this.csPending[i]?.put();
      this.csPending[i] = null;
    }
    for (const m of [...this.mmu.mappings]) {
      this.mmu.unmap(m.va);
      m.pack.mappingCnt--;
    }
    for (const pack of this.memHandles.values()) {
      this.hdev.dram.free(pack.pages);
      pack.freed = true;
    }
    this.memHandles.clear();
    this.cbs.clear();
    this.hdev.contexts.delete(this);
    this.hdev.computeCtxReleased(this);
  }
}
