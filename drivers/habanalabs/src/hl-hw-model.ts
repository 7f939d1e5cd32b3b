/**
 * The simulated accelerator's behaviour — how long each job keeps its engine busy and whether it
 * hangs — kept out of the uAPI. On real hardware the packets in the job's command buffer decide
 * that, and no member of `struct hl_cs_chunk` says it, so an unmodified hl-thunk program submits
 * the header's 64-byte chunks and still runs. Two side channels set it, neither of which real
 * userspace ever sees:
 *
 * - the device's hardware model, from the device container (`HL_HW_MODEL`): every job of every
 *   CS asks it, with the queue and command buffer its chunk names. The default answers nothing:
 *   a user job runs `HL_DEFAULT_JOB_NS`, a signal or wait job `HL_SYNC_STREAM_JOB_NS`, and nothing
 *   hangs. A test or scenario provides its own at probe time.
 * - per-job overrides a JavaScript caller queues on its context with the drmsim-only ioctl
 *   `DRM_IOCTL_DRMSIM_HL_HW_NEXT`: the jobs of the next CSs take them in chunk order, one each,
 *   ahead of the model (a count of 0 clears them). `@drmsim/habanalabs/user`'s
 *   `hlthunkCommandSubmission` issues it for chunks that carry `exec_ns` or `hang`.
 *
 * Its number is `DRM_COMMAND_BASE + 0x5f` (request nr 0x9f), the top of the driver range: the
 * header numbers habanalabs' ioctls from the bottom (`HL_COMMAND_START` … `HL_COMMAND_END`) and
 * appends new ones there, so the two never meet. Its structs have C layouts.
 */
import { DRM_COMMAND_BASE, DRM_IOW, drmToken } from "@drmsim/drm";
import {
  __u8,
  __u32,
  __u64,
  flagsMask,
  type HwOverrideNumber,
  type HwOverrideQueueSpec,
  hwBehaviourLayered,
  KernelError,
  mbz,
  type UapiArgsOf,
  type UapiValue,
  uapiStruct,
  userPtr,
} from "@drmsim/runtime";
import { HL_MAX_JOBS_PER_CS } from "./habanalabs-accel.js";

/** How long a user job runs when nothing says otherwise: 10 µs. */
export const HL_DEFAULT_JOB_NS = 10_000;
/** How long a signal or wait job keeps its queue busy once it runs (a few packets): 1 µs. */
export const HL_SYNC_STREAM_JOB_NS = 1_000;

/** What one job does on the simulated device. */
export interface HlHwBehaviour {
  /** How long the job keeps its engine busy, ns. */
  execNs: number;
  /** The job never completes until a reset aborts it. */
  hang: boolean;
  /** Bytes its engine writes at device VA `addr` when it completes. */
  fill?: { addr: number; data: Uint8Array };
  /** Bytes its engine copies from device VA `src_addr` to `dst_addr` when it completes (after the fill). */
  copy?: { src_addr: number; dst_addr: number; size: number };
}

/** A job as the model sees it: where it runs and what its chunk named. */
export interface HlHwJob {
  /** The queue's name (`DMA_0_0`, `TPC_0`, …) and index. */
  readonly queue: string;
  readonly queueIndex: number;
  /** Its index among the chunks of its CS. */
  readonly index: number;
  /** A user job, or the kernel's own signal or wait job of a sync-stream CS. */
  readonly kind: "user" | "signal" | "wait";
  /** `hl_cs_chunk.cb_handle` (a CB handle, or a device VA on an internal queue); 0 for signal/wait jobs. */
  readonly cbHandle: bigint;
  /** `hl_cs_chunk.cb_size`. */
  readonly cbSize: number;
}

/**
 * The device's hardware model: for each job, what differs from the defaults (`undefined` or an
 * empty object for none). It runs in the CS ioctl, before the job is queued; it must not sleep.
 */
export interface HlHwModel {
  job(job: HlHwJob): Partial<HlHwBehaviour> | undefined;
}

/** The default model: every job takes the default time and completes. */
export const HL_DEFAULT_HW_MODEL: HlHwModel = Object.freeze({ job: () => undefined });

/** Container token: the device's hardware model (default `HL_DEFAULT_HW_MODEL`). */
export const HL_HW_MODEL = drmToken<HlHwModel>("HL_HW_MODEL");

// --- the drmsim-only ioctl -----------------------------------------------------------------------

/** `drmsim_hl_hw_job.flags`: the job hangs. */
export const DRMSIM_HL_HW_HANG = 1 << 0;
/** `drmsim_hl_hw_job.flags`: `exec_ns` is given (else the model's or the default). */
export const DRMSIM_HL_HW_EXEC_NS = 1 << 1;
/** `drmsim_hl_hw_job.flags`: the job writes `fill_size` bytes from `fill_data` at device VA `fill_addr`. */
export const DRMSIM_HL_HW_FILL = 1 << 2;
/** `drmsim_hl_hw_job.flags`: the job copies `copy_size` bytes from device VA `copy_src` to `copy_dst`. */
export const DRMSIM_HL_HW_COPY = 1 << 3;
/** The most bytes one job's fill carries through the side channel. */
export const HL_HW_FILL_MAX = 1 << 20;

/** drmsim only: one job's override. */
export const drmsim_hl_hw_job = uapiStruct(
  "drmsim_hl_hw_job",
  {
    exec_ns: __u64,
    flags: flagsMask(__u32, DRMSIM_HL_HW_HANG | DRMSIM_HL_HW_EXEC_NS | DRMSIM_HL_HW_FILL | DRMSIM_HL_HW_COPY),
    pad: mbz(__u32),
    fill_addr: __u64,
    fill_data: userPtr(__u8, "fill_size"),
    fill_size: __u32,
    pad2: mbz(__u32),
    copy_src: __u64,
    copy_dst: __u64,
    copy_size: __u64,
  },
  { size: 64 },
);
/** `struct drmsim_hl_hw_job` as a caller passes it. */
export type DrmsimHlHwJob = UapiArgsOf<typeof drmsim_hl_hw_job>;

/** drmsim only: `count` overrides at `jobs` for the next jobs of the caller's context. */
export const drmsim_hl_hw_next = uapiStruct(
  "drmsim_hl_hw_next",
  { count: __u32, pad: mbz(__u32), jobs: userPtr(drmsim_hl_hw_job, "count") },
  { size: 16 },
);
/** `struct drmsim_hl_hw_next` as a caller passes it. */
export type DrmsimHlHwNext = UapiArgsOf<typeof drmsim_hl_hw_next>;

/** The side-channel ioctl's number within the driver range (see the module comment). */
export const DRMSIM_HL_HW_NEXT = 0x5f;
/** `DRM_IOCTL_DRMSIM_HL_HW_NEXT`: drmsim only, never in `habanalabs_accel.h`. */
export const DRM_IOCTL_DRMSIM_HL_HW_NEXT = DRM_IOW(DRM_COMMAND_BASE + DRMSIM_HL_HW_NEXT, drmsim_hl_hw_next);

/** At most this many overrides wait on one context (a bound, so a test's mistake cannot grow it forever). */
export const HL_HW_NEXT_MAX = 4 * HL_MAX_JOBS_PER_CS;

/** What `DRMSIM_HL_HW_NEXT` lines up on one context. */
export const HL_HW_NEXT_QUEUE: HwOverrideQueueSpec = {
  ioctl: "DRMSIM_HL_HW_NEXT",
  member: "jobs",
  owner: "context",
  max: HL_HW_NEXT_MAX,
};

/** `DRM_IOCTL_DRMSIM_HL_HW_NEXT`'s entry as an override: `EINVAL` for a fill above `HL_HW_FILL_MAX` or a value beyond 2^53. */
export function hlHwOverride(
  j: UapiValue<typeof drmsim_hl_hw_job>,
  where: string,
  num: HwOverrideNumber,
): Partial<HlHwBehaviour> {
  const b: Partial<HlHwBehaviour> = {};
  if (j.flags & DRMSIM_HL_HW_EXEC_NS) b.execNs = num(j.exec_ns, "exec_ns");
  if (j.flags & DRMSIM_HL_HW_HANG) b.hang = true;
  if (j.flags & DRMSIM_HL_HW_FILL) {
    if (j.fill_size > HL_HW_FILL_MAX)
      throw new KernelError("EINVAL", `${where}.fill_size ${j.fill_size} is more than ${HL_HW_FILL_MAX}`);
    b.fill = { addr: num(j.fill_addr, "fill_addr"), data: j.fill_data.readBytes(j.fill_size) };
  }
  if (j.flags & DRMSIM_HL_HW_COPY)
    b.copy = {
      src_addr: num(j.copy_src, "copy_src"),
      dst_addr: num(j.copy_dst, "copy_dst"),
      size: num(j.copy_size, "copy_size"),
    };
  return b;
}

/** The behaviour of one job: the defaults, under the model's answer, under the caller's override. */
export function hlHwBehaviour(
  model: HlHwModel,
  job: HlHwJob,
  override: Partial<HlHwBehaviour> | undefined,
): HlHwBehaviour {
  const defaults: HlHwBehaviour = {
    execNs: job.kind === "user" ? HL_DEFAULT_JOB_NS : HL_SYNC_STREAM_JOB_NS,
    hang: false,
  };
  return hwBehaviourLayered(defaults, model.job(job), override);
}
