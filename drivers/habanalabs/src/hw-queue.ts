/**
 * The queues of a habanalabs device (`struct hl_hw_queue`, `enum hl_queue_type`,
 * `common/hw_queue.c`, `common/irq.c`).
 *
 * - **External** queues are DMA channels that may access the host. Their jobs run host command
 *   buffers (`HL_CB`), and every finished job writes an entry to the queue's completion queue
 *   (`struct hl_cq`); the CQ interrupt handler retires the job. A CS completes when all its
 *   external jobs did.
 * - **Internal** queues feed the engines inside the device (TPC, DMA between device memories,
 *   NIC). Their command buffers live in device memory, and they raise no completion for the
 *   driver: the uAPI warns that a CS may be reported done before its internal jobs are, and a CS
 *   made only of internal jobs is rejected (`EINVAL`), since nothing would ever complete it.
 * - **H/W** queues (Gaudi2 and later, `QUEUE_TYPE_HW`): engine queues whose every job gets a
 *   completion (`HL_COMPLETION_MODE_CS`: the CS completes when all its jobs have), with command
 *   buffers in device memory like internal ones. A job that hangs on one keeps its CS from
 *   completing, so the CS's timeout detection fires: `ETIMEDOUT` and a hard reset. On an internal
 *   queue the same hang is invisible to the driver until the user context goes away and the device
 *   is found busy (`hpriv_release` → reset), as in the kernel.
 * - The **CPU** queue is the driver's own channel to the device CPU; userspace may not use it.
 *
 * Each queue executes on a runtime `HardwareEngine` (one slot: the queue's QMAN runs its jobs in
 * order) from the device's `HW_ENGINE_FACTORY`, so completions arrive in irq context, a reset
 * aborts what is executing, and a test can plan faults into a queue (`hlQueueEngineName`). External
 * queues are sync-stream queues: a wait job (`HL_CS_FLAGS_WAIT`) holds its queue, and every job
 * queued behind it, until the sync object it watches reaches its value (the QMAN's fence on a
 * monitor) — so the jobs wait in the queue, in order, not on the engine.
 */
import { type HardwareEngine, type HwCommand, KernelError } from "@drmsim/runtime";
import { HL_MAX_SOB_VAL, type HlHwSob, HlSyncStream } from "./sync-stream.js";

/** `enum hl_queue_type`. */
export const HlQueueType = {
  /** `QUEUE_TYPE_NA`: no queue at this index. */
  NA: 0,
  /** `QUEUE_TYPE_EXT`: host-accessing DMA channel with a completion queue. */
  EXT: 1,
  /** `QUEUE_TYPE_INT`: an engine inside the device (TPC, DMA, NIC). */
  INT: 2,
  /** `QUEUE_TYPE_CPU`: the driver's queue to the device CPU. */
  CPU: 3,
  /** `QUEUE_TYPE_HW`: an engine queue whose jobs each get a completion (Gaudi2 and later). */
  HW: 4,
} as const;
/** An `HlQueueType` value. */
export type HlQueueType = (typeof HlQueueType)[keyof typeof HlQueueType];

/** One queue of the device's queue table (`struct hw_queue_properties`). */
export interface HlQueueProps {
  /** Name in traces: `DMA_0_0`, `TPC_1`, `NIC_0`. */
  name: string;
  type: HlQueueType;
  /** `driver_only`: reserved for the kernel driver (`EINVAL` from userspace). */
  driverOnly?: boolean;
  /** `supports_sync_stream`: signal and wait CSs may use it (default: external user queues). */
  supportsSyncStream?: boolean;
}

/** `HL_QUEUE_LENGTH`-like: jobs a queue takes before a CS is refused with `EAGAIN`. */
export const HL_QUEUE_LENGTH = 256;

/**
 * The default queue table, Gaudi-like: four external DMA queues, the CPU queue, two internal DMA
 * queues, four TPC queues and two NIC queues.
 */
export const HL_DEFAULT_QUEUES: readonly HlQueueProps[] = [
  { name: "DMA_0_0", type: HlQueueType.EXT },
  { name: "DMA_0_1", type: HlQueueType.EXT },
  { name: "DMA_1_0", type: HlQueueType.EXT },
  { name: "DMA_1_1", type: HlQueueType.EXT },
  { name: "CPU_PQ", type: HlQueueType.CPU, driverOnly: true },
  { name: "DMA_2_0", type: HlQueueType.INT },
  { name: "DMA_3_0", type: HlQueueType.INT },
  { name: "TPC_0", type: HlQueueType.INT },
  { name: "TPC_1", type: HlQueueType.INT },
  { name: "TPC_2", type: HlQueueType.INT },
  { name: "TPC_3", type: HlQueueType.INT },
  { name: "NIC_0", type: HlQueueType.INT },
  { name: "NIC_1", type: HlQueueType.INT },
];

/**
 * A Gaudi2-like queue table: the same engines as `HL_DEFAULT_QUEUES`, but the internal DMA, TPC
 * and NIC queues are H/W queues (`QUEUE_TYPE_HW`), whose jobs gate their CS's completion. The
 * external DMA queues stay external (host command buffers from `HL_CB`).
 */
export const HL_GAUDI2_QUEUES: readonly HlQueueProps[] = HL_DEFAULT_QUEUES.map((q) =>
  q.type === HlQueueType.INT ? { ...q, type: HlQueueType.HW } : q,
);

/** `cs_needs_completion` for one job: jobs on external and H/W queues complete their CS; internal ones never report. */
export function hlQueueGetsCompletion(type: HlQueueType): boolean {
  return type === HlQueueType.EXT || type === HlQueueType.HW;
}

/** `struct hl_cq`: the completion queue of an external queue — producer and consumer indices. */
export class HlCq {
  /** `cq->pi`: entries the hardware wrote. */
  pi = 0;
  /** `cq->ci`: entries the interrupt handler consumed. */
  ci = 0;
}

/** What a wait job waits for: a sync object reaching a value. */
export interface HlSobWait {
  readonly sob: HlHwSob;
  readonly target: number;
}

/**
 * The name of a queue's engine in `HW_ENGINE_FACTORY` — `habanalabs.0:DMA_0_0` — which is where a
 * test plans faults for that queue (`new HardwareEngineFactory(sim, { [name]: { hang: [2] } })`
 * hangs the queue's second job).
 */
export function hlQueueEngineName(device: string, queue: string): string {
  return `${device}:${queue}`;
}

/** Whether a queue of these properties executes jobs on an engine (external, internal and H/W queues). */
export function hlQueueRuns(props: HlQueueProps): boolean {
  return props.type === HlQueueType.EXT || props.type === HlQueueType.INT || props.type === HlQueueType.HW;
}

/** `struct hl_hw_queue`: one queue, its engine and (for external queues) its completion queue. */
export class HlHwQueue {
  /** The completion queue of an external queue. */
  readonly cq: HlCq | null;
  /** Jobs submitted and not yet retired (`queue free slots` in the kernel's terms). */
  inflight = 0;
  /** The queue's sync objects, if it is a sync-stream queue. */
  readonly syncStream: HlSyncStream | null;
  /** A wait job holding the queue, and the jobs queued behind it, in order. */
  private held: { cmd: HwCommand; wait: HlSobWait | undefined }[] = [];

  constructor(
    readonly index: number,
    readonly props: HlQueueProps,
    /** The queue's engine (`HlQueueType.EXT`/`INT`/`HW`), from the device's `HW_ENGINE_FACTORY`; null otherwise. */
    readonly engine: HardwareEngine | null,
    readonly length = HL_QUEUE_LENGTH,
    maxSobVal = HL_MAX_SOB_VAL,
  ) {
    this.cq = props.type === HlQueueType.EXT ? new HlCq() : null;
    const sync = props.supportsSyncStream ?? (props.type === HlQueueType.EXT && props.driverOnly !== true);
    this.syncStream = sync ? new HlSyncStream(index, maxSobVal) : null;
  }

  /** Jobs held behind an unsatisfied wait (the wait job included). */
  get heldJobs(): number {
    return this.held.length;
  }

  /**
   * Puts a job's command on the queue (`ext_queue_schedule_job`): to the engine at once, unless a
   * wait holds the queue — then behind it. A job that is itself a wait holds the queue until its
   * sync object reaches the target.
   */
  enqueue(cmd: HwCommand, wait?: HlSobWait): void {
    if (this.held.length > 0) this.held.push({ cmd, wait });
    else this.start(cmd, wait);
  }

  /** A hard reset empties the queue: held jobs are aborted with their CSs, never started. */
  flushHeld(): void {
    this.held = [];
  }

  private start(cmd: HwCommand, wait: HlSobWait | undefined): void {
    if (wait === undefined || wait.sob.value >= wait.target) {
      this.engine!.submit(cmd);
      return;
    }
    this.held.push({ cmd, wait });
    const held = this.held;
    wait.sob.armMonitor(wait.target, () => {
      // A reset flushed the queue (and armed nothing new on this list) meanwhile: nothing to release.
      if (this.held !== held) return;
      this.release();
    });
  }

  /** The monitor fired: the wait job runs, then what queued behind it, up to the next wait. */
  private release(): void {
    const [first, ...rest] = this.held;
    this.held = [];
    this.engine!.submit(first!.cmd);
    for (const h of rest) this.enqueue(h.cmd, h.wait);
  }

  /**
   * Which queue userspace may put a job on (`cs_validate` / `validate_queue_index`): `EINVAL`
   * for an index outside the table, a `NA` queue or a driver-only queue.
   */
  static validateIndex(queues: readonly HlHwQueue[], index: unknown): HlHwQueue {
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= queues.length)
      throw new KernelError("EINVAL", `Queue index ${String(index)} is invalid`);
    const q = queues[index]!;
    if (q.props.type === HlQueueType.NA)
      throw new KernelError("EINVAL", `Queue index ${index} is not applicable`);
    if (q.props.driverOnly === true || q.props.type === HlQueueType.CPU)
      throw new KernelError("EINVAL", `Queue index ${index} is restricted for the kernel driver`);
    return q;
  }
}
