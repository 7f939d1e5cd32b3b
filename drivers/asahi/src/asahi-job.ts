/**
 * A submission (the Asahi driver's `QueueJob` with its vertex/fragment/compute sub-jobs): the
 * commands of one `ASAHI_SUBMIT`, parsed and checked up front, turned into firmware work items
 * when the scheduler runs the job.
 *
 * Barriers (`drm_asahi_cmd_header.vdm_barrier` / `cdm_barrier`, relative to the submit):
 * - `0` waits on all work of that subqueue from earlier submits (the ring's last command when
 *   the job is written to the firmware);
 * - `N` waits on the N-th render (VDM) or compute (CDM) command of this submit, which must come
 *   before the command that names it — so barriers only point backwards and cannot deadlock;
 * - `DRM_ASAHI_BARRIER_NONE` (0xFFFF) waits on nothing.
 * A render command is a vertex item followed by a fragment item that waits for it; the render
 * subqueue's completion is its fragment item.
 */
import type { DmaFence } from "@drmsim/dma-fence";
import { ERRNO } from "@drmsim/runtime";
import { type AsahiCmdMem, asahiCmdMemRelease } from "./asahi-cmd-mem.js";
import type { AsahiBarrier, AsahiParsedCommand } from "./asahi-cmdbuf.js";
import type { AsahiHwBehaviour, AsahiHwCopy, AsahiHwFill } from "./asahi-hw-model.js";
import type { AsahiQueue } from "./asahi-queue.js";
import { type AsahiWorkItem, AsahiWorkQueue, type AsahiWorkQueueKind } from "./asahi-workqueue.js";

/** One hardware command of a job: what the firmware runs, and how the simulated hardware behaves. */
export interface AsahiCommandSpec {
  type: "render" | "compute";
  vertexNs: number;
  fragmentNs: number;
  computeNs: number;
  barriers: AsahiBarrier[];
  hang: boolean;
  error: number | undefined;
  /** What it writes when its last stage completes (the side channel's, `asahi-hw-mem.ts`). */
  fill?: AsahiHwFill;
  /** What it copies then. */
  copy?: AsahiHwCopy;
}

/** What a job needs of one firmware ring: work slots and ring entries (work + barriers). */
export interface AsahiRingNeed {
  slots: number;
  entries: number;
}

/**
 * The firmware work of a submit's hardware commands (`asahiParseCmdbuf`'s output), each with the
 * behaviour the simulated hardware gives it: the specs, and what the job needs of each ring — a
 * render takes a vertex slot and a fragment slot, its barriers vertex-ring entries, and its
 * fragment half one more fragment entry (the barrier on its own vertex half); a compute takes a
 * compute slot and entries for its barriers.
 */
export function asahiJobPlan(
  cmds: readonly AsahiParsedCommand[],
  behaviour: (cmd: AsahiParsedCommand, index: number) => AsahiHwBehaviour,
): { specs: AsahiCommandSpec[]; need: Record<AsahiWorkQueueKind, AsahiRingNeed> } {
  const need: Record<AsahiWorkQueueKind, AsahiRingNeed> = {
    vertex: { slots: 0, entries: 0 },
    fragment: { slots: 0, entries: 0 },
    compute: { slots: 0, entries: 0 },
  };
  const specs = cmds.map((c, i): AsahiCommandSpec => {
    const b = behaviour(c, i);
    if (c.type === "render") {
      need.vertex.slots++;
      need.vertex.entries += 1 + c.barriers.length;
      need.fragment.slots++;
      need.fragment.entries += 2;
    } else {
      need.compute.slots++;
      need.compute.entries += 1 + c.barriers.length;
    }
    return {
      type: c.type,
      vertexNs: b.vertexNs,
      fragmentNs: b.fragmentNs,
      computeNs: b.computeNs,
      barriers: c.barriers,
      hang: b.hang,
      error: b.error,
      ...(b.fill !== undefined ? { fill: b.fill } : {}),
      ...(b.copy !== undefined ? { copy: b.copy } : {}),
    };
  });
  return { specs, need };
}

/** The driver side of one scheduler job (`QueueJob`). */
export class AsahiJob {
  /** Work items, in submit order (a render command contributes vertex then fragment). */
  readonly items: AsahiWorkItem[] = [];
  /** The hardware fence (`run_job`'s return), signalled when every item completed, in job order. */
  hwFence: DmaFence | null = null;
  /** The first error of any item (or the recovery's), 0 if none. */
  error = 0;
  /** Items not yet completed. */
  left = 0;
  /** Every item completed (the fence may still wait for earlier jobs). */
  hwDone = false;

  /** Label prefix for traces (`q<N>`, N the queue's device-wide number). */
  readonly label: string;
  /** drmsim extension: each command's resolved writes (by spec index), set at submit. */
  mem: (AsahiCmdMem | undefined)[] = [];
  /** The item that ends each command with writes, and that command's index (set by `runJob`). */
  readonly memOfItem = new Map<AsahiWorkItem, number>();

  constructor(
    /**
     * The user queue it was submitted to. The job keeps it: a job killed at queue teardown is
     * freed (`free_job`) after the queue's scheduler is gone.
     */
    readonly queue: AsahiQueue,
    readonly specs: readonly AsahiCommandSpec[],
    readonly need: Record<AsahiWorkQueueKind, AsahiRingNeed>,
  ) {
    this.label = `q${queue.seq}`;
  }

  /** The rings this job writes to. */
  rings(): AsahiWorkQueueKind[] {
    return (Object.keys(this.need) as AsahiWorkQueueKind[]).filter((k) => this.need[k].slots > 0);
  }

  /** Per-command statistics: for each command, its items' stats (vertex+fragment or compute). */
  commandStats(): {
    type: "render" | "compute";
    items: { kind: AsahiWorkQueueKind; stats: AsahiWorkItem["stats"] }[];
  }[] {
    const out: ReturnType<AsahiJob["commandStats"]> = [];
    let k = 0;
    for (const s of this.specs) {
      const n = s.type === "render" ? 2 : 1;
      out.push({
        type: s.type,
        items: this.items.slice(k, k + n).map((it) => ({ kind: it.kind, stats: it.stats })),
      });
      k += n;
    }
    return out;
  }

  /** Drops the item fences and the references the commands' writes hold (at `freeJob`). */
  releaseItems(): void {
    for (const it of this.items) AsahiWorkQueue.release(it);
    for (const m of this.mem) if (m !== undefined) asahiCmdMemRelease(m);
    this.mem = [];
    this.memOfItem.clear();
  }
}

/** `-ECANCELED`: what the firmware completes the remaining items of a failed job with. */
export const ASAHI_SKIPPED = -ERRNO.ECANCELED;
