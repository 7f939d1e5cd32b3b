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
import { ERRNO, KernelError, usecs } from "@drmsim/runtime";
import {
  type AsahiCmdMem,
  asahiCmdMemRelease,
  type DrmAsahiCopy,
  type DrmAsahiFill,
} from "./asahi-cmd-mem.js";
import {
  DRM_ASAHI_BARRIER_NONE,
  DRM_ASAHI_CMD_COMPUTE,
  DRM_ASAHI_CMD_RENDER,
  DRM_ASAHI_SET_COMPUTE_ATTACHMENTS,
  DRM_ASAHI_SET_VERTEX_ATTACHMENTS,
  type DrmAsahiCommand,
} from "./asahi-drm.js";
import type { AsahiQueue } from "./asahi-queue.js";
import { type AsahiWorkItem, AsahiWorkQueue, type AsahiWorkQueueKind } from "./asahi-workqueue.js";

/** Default simulated durations. */
export const ASAHI_DEFAULT_VERTEX_NS = usecs(50);
/** Default simulated fragment time. */
export const ASAHI_DEFAULT_FRAGMENT_NS = usecs(200);
/** Default simulated compute time. */
export const ASAHI_DEFAULT_COMPUTE_NS = usecs(100);

/** A barrier before it is resolved against the rings. */
type BarrierRef = { sub: "render" | "compute"; index: number };

/** One parsed command. */
export interface AsahiCommandSpec {
  type: "render" | "compute";
  vertexNs: number;
  fragmentNs: number;
  computeNs: number;
  barriers: BarrierRef[];
  hang: boolean;
  error: number | undefined;
  /** drmsim extension: what the command writes (`asahi-cmd-mem.ts`). */
  fill?: DrmAsahiFill;
  /** drmsim extension: what the command copies. */
  copy?: DrmAsahiCopy;
}

/** What a job needs of one firmware ring: work slots and ring entries (work + barriers). */
export interface AsahiRingNeed {
  slots: number;
  entries: number;
}

/**
 * Checks the command list (each command's fields were checked as it was copied in): `EINVAL` for
 * no hardware command or more than `maxCommands`, an unknown command type, a software
 * (attachment) command with a barrier, or a barrier to a command that is not earlier in this
 * submit. Attachment commands are hints for the firmware that drmsim accepts and drops. Returns
 * the hardware commands' specs and each ring's need.
 */
export function asahiParseCommands(
  cmds: readonly DrmAsahiCommand[],
  maxCommands: number,
): { specs: AsahiCommandSpec[]; need: Record<AsahiWorkQueueKind, AsahiRingNeed> } {
  const specs: AsahiCommandSpec[] = [];
  const need: Record<AsahiWorkQueueKind, AsahiRingNeed> = {
    vertex: { slots: 0, entries: 0 },
    fragment: { slots: 0, entries: 0 },
    compute: { slots: 0, entries: 0 },
  };
  let renders = 0;
  let computes = 0;
  for (const [i, c] of cmds.entries()) {
    const type = c.cmd_type;
    if (type >= DRM_ASAHI_SET_VERTEX_ATTACHMENTS && type <= DRM_ASAHI_SET_COMPUTE_ATTACHMENTS) {
      if (c.vdm_barrier !== DRM_ASAHI_BARRIER_NONE || c.cdm_barrier !== DRM_ASAHI_BARRIER_NONE)
        throw new KernelError(
          "EINVAL",
          `ASAHI_SUBMIT: command ${i} sets attachments (a software command), so both barriers must be DRM_ASAHI_BARRIER_NONE`,
        );
      continue;
    }
    if (type !== DRM_ASAHI_CMD_RENDER && type !== DRM_ASAHI_CMD_COMPUTE)
      throw new KernelError("EINVAL", `ASAHI_SUBMIT: command ${i} has unknown cmd_type ${type}`);
    const barriers: BarrierRef[] = [];
    for (const [field, sub, count] of [
      ["vdm_barrier", "render", renders],
      ["cdm_barrier", "compute", computes],
    ] as const) {
      const b = c[field];
      if (b === DRM_ASAHI_BARRIER_NONE) continue;
      if (b > count)
        throw new KernelError(
          "EINVAL",
          `ASAHI_SUBMIT: command ${i}: ${field} ${b} names ${sub} command ${b} of this submit, but only ${count} come before it (barriers may only wait on earlier commands)`,
        );
      barriers.push({ sub, index: b });
    }
    const spec: AsahiCommandSpec = {
      type: type === DRM_ASAHI_CMD_RENDER ? "render" : "compute",
      vertexNs: c.vertex_ns ?? ASAHI_DEFAULT_VERTEX_NS,
      fragmentNs: c.fragment_ns ?? ASAHI_DEFAULT_FRAGMENT_NS,
      computeNs: c.compute_ns ?? ASAHI_DEFAULT_COMPUTE_NS,
      barriers,
      hang: c.hang === true,
      error: c.error,
      ...(c.fill !== undefined ? { fill: c.fill } : {}),
      ...(c.copy !== undefined ? { copy: c.copy } : {}),
    };
    if (spec.type === "render") {
      renders++;
      need.vertex.slots++;
      need.vertex.entries += 1 + barriers.length;
      // The fragment half waits on its vertex half: one barrier entry on the fragment ring.
      need.fragment.slots++;
      need.fragment.entries += 2;
    } else {
      computes++;
      need.compute.slots++;
      need.compute.entries += 1 + barriers.length;
    }
    specs.push(spec);
  }
  if (specs.length === 0 || specs.length > maxCommands)
    throw new KernelError(
      "EINVAL",
      `ASAHI_SUBMIT: a submit carries 1..${maxCommands} hardware commands, got ${specs.length}`,
    );
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
