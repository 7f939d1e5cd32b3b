/**
 * The simulated GPU's behaviour — how long each firmware command runs and which faults it
 * suffers — kept out of the uAPI. Real hardware decides these and no struct of `asahi_drm.h`
 * says them, so an unmodified program submits the header's bytes and still runs. Two side
 * channels set them, neither of which real userspace ever sees:
 *
 * - the device's hardware model, from the device container (`ASAHI_HW_MODEL`): every hardware
 *   command of every submit asks it, with the command's decoded payload. The default answers
 *   nothing, so each command takes the default durations (vertex 50 µs, fragment 200 µs,
 *   compute 100 µs) and never faults. A test or scenario provides its own at probe time.
 * - per-command overrides a JavaScript caller queues on one user queue with the drmsim-only
 *   ioctl `DRM_IOCTL_DRMSIM_ASAHI_HW_NEXT`: the hardware commands of the next submits on that
 *   queue take them in order, one each, ahead of the model (a count of 0 clears them).
 *   `@drmsim/asahi/user`'s `agxSubmit` issues it for commands that carry
 *   `vertex_ns`/`fragment_ns`/`compute_ns`/`hang`/`error`.
 *
 * Its number is `DRM_COMMAND_BASE + 0x5f` (request nr 0x9f), the top of the driver range: the
 * header numbers asahi's ioctls from the bottom of that range and appends new ones at the end,
 * so the two never meet. Its structs have C layouts, so a real program under the bridge could
 * use it too.
 *
 * What one command does on the simulated hardware (`AsahiHwBehaviour`) is declared here and only
 * here; a new kind of simulated effect of a command belongs in it.
 */
import { DRM_COMMAND_BASE, DRM_IOW, drmToken } from "@drmsim/drm";
import {
  __s32,
  __u8,
  __u32,
  __u64,
  flagsMask,
  type HwOverrideNumber,
  type HwOverrideQueueSpec,
  hwBehaviourLayered,
  KernelError,
  MAX_ERRNO,
  mbz,
  type Simulator,
  type UapiArgsOf,
  type UapiValue,
  uapiStruct,
  usecs,
  userPtr,
} from "@drmsim/runtime";
import { type AsahiParsedCommand, asahiDecodePayload } from "./asahi-cmdbuf.js";
import {
  ASAHI_MAX_COMMANDS_PER_SUBMISSION,
  type drm_asahi_cmd_compute,
  type drm_asahi_cmd_render,
} from "./asahi-drm.js";

/** Default simulated vertex time of a render command. */
export const ASAHI_DEFAULT_VERTEX_NS = usecs(50);
/** Default simulated fragment time of a render command. */
export const ASAHI_DEFAULT_FRAGMENT_NS = usecs(200);
/** Default simulated time of a compute command. */
export const ASAHI_DEFAULT_COMPUTE_NS = usecs(100);

/** What a command writes: `data` at GPU address `addr` of its queue's VM. */
export interface AsahiHwFill {
  addr: number;
  data: Uint8Array;
}

/** What a command copies: `size` bytes from GPU address `srcAddr` to `dstAddr` of its queue's VM. */
export interface AsahiHwCopy {
  srcAddr: number;
  dstAddr: number;
  size: number;
}

/** What one hardware command does on the simulated GPU. */
export interface AsahiHwBehaviour {
  /** Vertex stage of a render command, ns. */
  vertexNs: number;
  /** Fragment stage of a render command, ns. */
  fragmentNs: number;
  /** A compute command, ns. */
  computeNs: number;
  /** The command's last stage never completes (a GPU hang). */
  hang: boolean;
  /** The command's last stage completes with this negative errno (a GPU fault). */
  error: number | undefined;
  /** Bytes it writes when its last stage completes (`asahi-hw-mem.ts`). */
  fill?: AsahiHwFill;
  /** Bytes it copies when its last stage completes, after the fill. */
  copy?: AsahiHwCopy;
}

/** The defaults: nothing faults. */
export const ASAHI_DEFAULT_HW_BEHAVIOUR: Readonly<AsahiHwBehaviour> = Object.freeze({
  vertexNs: ASAHI_DEFAULT_VERTEX_NS,
  fragmentNs: ASAHI_DEFAULT_FRAGMENT_NS,
  computeNs: ASAHI_DEFAULT_COMPUTE_NS,
  hang: false,
  error: undefined,
});

/** A hardware command as the model sees it: where it runs and what userspace asked for. */
export interface AsahiHwCommand {
  /** The user queue's device-wide name (`asahi-q1`). */
  readonly queue: string;
  /** Its index among the hardware commands of its submit (attachment commands do not count). */
  readonly index: number;
  readonly type: "render" | "compute";
  /** The decoded `struct drm_asahi_cmd_render` (render commands; decoded when first read). */
  readonly render?: UapiValue<typeof drm_asahi_cmd_render>;
  /** The decoded `struct drm_asahi_cmd_compute` (compute commands; decoded when first read). */
  readonly compute?: UapiValue<typeof drm_asahi_cmd_compute>;
}

/**
 * What the model is asked about a parsed command: its payload is decoded only if the model reads
 * it (most models look at no more than the command type).
 */
export function asahiHwCommandOf(
  queue: string,
  index: number,
  cmd: AsahiParsedCommand,
  sim: Simulator,
): AsahiHwCommand {
  let decoded: ReturnType<typeof asahiDecodePayload> | undefined;
  const payload = () => {
    decoded ??= asahiDecodePayload(cmd, sim);
    return decoded;
  };
  return {
    queue,
    index,
    type: cmd.type,
    get render() {
      return cmd.type === "render" ? (payload() as UapiValue<typeof drm_asahi_cmd_render>) : undefined;
    },
    get compute() {
      return cmd.type === "compute" ? (payload() as UapiValue<typeof drm_asahi_cmd_compute>) : undefined;
    },
  };
}

/**
 * The device's hardware model: for each hardware command, what differs from the defaults
 * (`undefined` or an empty object for none). It runs in the submit ioctl, before the job is
 * armed; it must not sleep.
 */
export interface AsahiHwModel {
  command(cmd: AsahiHwCommand): Partial<AsahiHwBehaviour> | undefined;
}

/** The default model: every command takes the default durations and completes. */
export const ASAHI_DEFAULT_HW_MODEL: AsahiHwModel = Object.freeze({ command: () => undefined });

/** Container token: the device's hardware model (default `ASAHI_DEFAULT_HW_MODEL`). */
export const ASAHI_HW_MODEL = drmToken<AsahiHwModel>("ASAHI_HW_MODEL");

// --- the drmsim-only ioctl -----------------------------------------------------------------------

/** `drmsim_asahi_hw_cmd.flags`: the command hangs. */
export const DRMSIM_ASAHI_HW_HANG = 1 << 0;
/** `drmsim_asahi_hw_cmd.flags`: `vertex_ns` is given (else the model's or the default). */
export const DRMSIM_ASAHI_HW_VERTEX_NS = 1 << 1;
/** `drmsim_asahi_hw_cmd.flags`: `fragment_ns` is given. */
export const DRMSIM_ASAHI_HW_FRAGMENT_NS = 1 << 2;
/** `drmsim_asahi_hw_cmd.flags`: `compute_ns` is given. */
export const DRMSIM_ASAHI_HW_COMPUTE_NS = 1 << 3;
/** `drmsim_asahi_hw_cmd.flags`: the command writes `fill_size` bytes from `fill_data` at GPU address `fill_addr`. */
export const DRMSIM_ASAHI_HW_FILL = 1 << 4;
/** `drmsim_asahi_hw_cmd.flags`: the command copies `copy_size` bytes from GPU address `copy_src` to `copy_dst`. */
export const DRMSIM_ASAHI_HW_COPY = 1 << 5;
const HW_FLAGS =
  DRMSIM_ASAHI_HW_HANG |
  DRMSIM_ASAHI_HW_VERTEX_NS |
  DRMSIM_ASAHI_HW_FRAGMENT_NS |
  DRMSIM_ASAHI_HW_COMPUTE_NS |
  DRMSIM_ASAHI_HW_FILL |
  DRMSIM_ASAHI_HW_COPY;

/** The most bytes one command's fill carries through the side channel. */
export const ASAHI_HW_FILL_MAX = 1 << 20;

/** drmsim only: one command's override. `error` is 0 or a negative errno. */
export const drmsim_asahi_hw_cmd = uapiStruct(
  "drmsim_asahi_hw_cmd",
  {
    vertex_ns: __u64,
    fragment_ns: __u64,
    compute_ns: __u64,
    error: __s32,
    flags: flagsMask(__u32, HW_FLAGS),
    fill_addr: __u64,
    fill_data: userPtr(__u8, "fill_size"),
    fill_size: __u32,
    pad: mbz(__u32),
    copy_src: __u64,
    copy_dst: __u64,
    copy_size: __u64,
  },
  { size: 80 },
);
/** `struct drmsim_asahi_hw_cmd` as a caller passes it. */
export type DrmsimAsahiHwCmd = UapiArgsOf<typeof drmsim_asahi_hw_cmd>;

/** drmsim only: `count` overrides at `cmds` for the next hardware commands of queue `queue_id`. */
export const drmsim_asahi_hw_next = uapiStruct(
  "drmsim_asahi_hw_next",
  { queue_id: __u32, count: __u32, cmds: userPtr(drmsim_asahi_hw_cmd, "count") },
  { size: 16 },
);
/** `struct drmsim_asahi_hw_next` as a caller passes it. */
export type DrmsimAsahiHwNext = UapiArgsOf<typeof drmsim_asahi_hw_next>;

/** The side-channel ioctl's number within the driver range (see the module comment). */
export const DRMSIM_ASAHI_HW_NEXT = 0x5f;
/** `DRM_IOCTL_DRMSIM_ASAHI_HW_NEXT`: drmsim only, never in `asahi_drm.h`. */
export const DRM_IOCTL_DRMSIM_ASAHI_HW_NEXT = DRM_IOW(
  DRM_COMMAND_BASE + DRMSIM_ASAHI_HW_NEXT,
  drmsim_asahi_hw_next,
);

/** At most this many overrides wait on one queue (a bound, so a test's mistake cannot grow it forever). */
export const ASAHI_HW_NEXT_MAX = 16 * ASAHI_MAX_COMMANDS_PER_SUBMISSION;

/** What `DRMSIM_ASAHI_HW_NEXT` lines up on one user queue. */
export const ASAHI_HW_NEXT_QUEUE: HwOverrideQueueSpec = {
  ioctl: "DRMSIM_ASAHI_HW_NEXT",
  member: "cmds",
  owner: "queue",
  max: ASAHI_HW_NEXT_MAX,
};

/**
 * `DRM_IOCTL_DRMSIM_ASAHI_HW_NEXT`'s entry as an override: `EINVAL` for an error that is not 0 or
 * a negative errno, a fill above `ASAHI_HW_FILL_MAX` or a value beyond 2^53.
 */
export function asahiHwOverride(
  c: UapiValue<typeof drmsim_asahi_hw_cmd>,
  where: string,
  num: HwOverrideNumber,
): Partial<AsahiHwBehaviour> {
  if (c.error > 0 || c.error < -MAX_ERRNO)
    throw new KernelError("EINVAL", `${where}.error must be 0 or a negative errno, got ${c.error}`);
  const b: Partial<AsahiHwBehaviour> = {};
  if (c.flags & DRMSIM_ASAHI_HW_VERTEX_NS) b.vertexNs = num(c.vertex_ns, "vertex_ns");
  if (c.flags & DRMSIM_ASAHI_HW_FRAGMENT_NS) b.fragmentNs = num(c.fragment_ns, "fragment_ns");
  if (c.flags & DRMSIM_ASAHI_HW_COMPUTE_NS) b.computeNs = num(c.compute_ns, "compute_ns");
  if (c.flags & DRMSIM_ASAHI_HW_HANG) b.hang = true;
  if (c.error !== 0) b.error = c.error;
  if (c.flags & DRMSIM_ASAHI_HW_FILL) {
    if (c.fill_size > ASAHI_HW_FILL_MAX)
      throw new KernelError(
        "EINVAL",
        `${where}.fill_size ${c.fill_size} is more than ${ASAHI_HW_FILL_MAX} bytes`,
      );
    b.fill = { addr: num(c.fill_addr, "fill_addr"), data: c.fill_data.readBytes(c.fill_size) };
  }
  if (c.flags & DRMSIM_ASAHI_HW_COPY)
    b.copy = {
      srcAddr: num(c.copy_src, "copy_src"),
      dstAddr: num(c.copy_dst, "copy_dst"),
      size: num(c.copy_size, "copy_size"),
    };
  return b;
}

/** The behaviour of one command: the defaults, under the model's answer, under the caller's override. */
export function asahiHwBehaviour(
  model: AsahiHwModel,
  cmd: AsahiHwCommand,
  override: Partial<AsahiHwBehaviour> | undefined,
): AsahiHwBehaviour {
  return hwBehaviourLayered(ASAHI_DEFAULT_HW_BEHAVIOUR, model.command(cmd), override);
}
