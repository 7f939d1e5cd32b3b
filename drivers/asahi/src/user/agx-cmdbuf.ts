/**
 * Building the command buffer of `DRM_IOCTL_ASAHI_SUBMIT` as Mesa's asahi driver does
 * (`agx_batch.c` / `hk_queue.c` fill `struct drm_asahi_cmd_header`s and their payloads into one
 * flat buffer): each command is an 8-byte header followed by its payload — a
 * `struct drm_asahi_cmd_render`, a `struct drm_asahi_cmd_compute`, or `struct
 * drm_asahi_attachment`s.
 *
 * A command may also carry the simulation's knobs (`vertex_ns`, `fragment_ns`, `compute_ns`,
 * `hang`, `error`). They are never written into the buffer: `agxSubmit` sends them through the
 * drmsim side channel (`DRM_IOCTL_DRMSIM_ASAHI_HW_NEXT`) before the submit, so the driver sees
 * exactly the bytes real userspace would write.
 */
import {
  DRM_ASAHI_BARRIER_NONE,
  DRM_ASAHI_CMD_COMPUTE,
  DRM_ASAHI_CMD_RENDER,
  type DrmAsahiAttachment,
  type DrmAsahiCmdCompute,
  type DrmAsahiCmdRender,
  drm_asahi_attachment,
  drm_asahi_cmd_compute,
  drm_asahi_cmd_header,
  drm_asahi_cmd_render,
} from "../asahi-drm.js";
import {
  DRMSIM_ASAHI_HW_COMPUTE_NS,
  DRMSIM_ASAHI_HW_COPY,
  DRMSIM_ASAHI_HW_FILL,
  DRMSIM_ASAHI_HW_FRAGMENT_NS,
  DRMSIM_ASAHI_HW_HANG,
  DRMSIM_ASAHI_HW_VERTEX_NS,
  type DrmsimAsahiHwCmd,
} from "../asahi-hw-model.js";
import { agxEncodeStruct } from "./agx-bytes.js";

/** The simulation's knobs of one hardware command (drmsim only; see the module comment). */
export interface AgxSimKnobs {
  /** Vertex time of a render command, ns. */
  vertex_ns?: number;
  /** Fragment time of a render command, ns. */
  fragment_ns?: number;
  /** Time of a compute command, ns. */
  compute_ns?: number;
  /** The command never completes. */
  hang?: boolean;
  /** The command completes with this negative errno. */
  error?: number;
  /** Bytes the command writes at GPU address `addr` when it completes (a render target, a buffer). */
  fill?: { addr: number; data: Uint8Array | readonly number[] };
  /** Bytes the command copies between GPU addresses when it completes (a blit, a composite). */
  copy?: { src_addr: number; dst_addr: number; size: number };
}

/** One command of a submit, as the library writes it. */
export interface AgxCommand extends AgxSimKnobs {
  /** `enum drm_asahi_cmd_type`. */
  cmd_type: number;
  vdm_barrier: number;
  cdm_barrier: number;
  /** A render command's payload members (`agxRenderCommand` fills in a small valid pass). */
  render?: DrmAsahiCmdRender;
  /** A compute command's payload members. */
  compute?: DrmAsahiCmdCompute;
  /** An attachment command's attachments. */
  attachments?: readonly DrmAsahiAttachment[];
  /**
   * `header.size`: how many payload bytes to write. Default: the whole struct (or every
   * attachment). Less writes a prefix, as older userspace with a shorter struct does.
   */
  size?: number;
}

/** A render pass Mesa could submit: a 64x64 single-sampled, single-layer framebuffer in 32x32 tiles. */
export const AGX_RENDER_DEFAULTS: Readonly<DrmAsahiCmdRender> = Object.freeze({
  width_px: 64,
  height_px: 64,
  layers: 1,
  samples: 1,
  utile_width_px: 32,
  utile_height_px: 32,
  sample_size_B: 8,
});

/** A render command (vertex + fragment) with no barriers; `extra` overrides any member. */
export function agxRenderCommand(extra: Partial<AgxCommand> = {}): AgxCommand {
  return {
    cmd_type: DRM_ASAHI_CMD_RENDER,
    vdm_barrier: DRM_ASAHI_BARRIER_NONE,
    cdm_barrier: DRM_ASAHI_BARRIER_NONE,
    ...extra,
    render: { ...AGX_RENDER_DEFAULTS, ...extra.render },
  };
}

/** A compute command with no barriers; `extra` overrides any member. */
export function agxComputeCommand(extra: Partial<AgxCommand> = {}): AgxCommand {
  return {
    cmd_type: DRM_ASAHI_CMD_COMPUTE,
    vdm_barrier: DRM_ASAHI_BARRIER_NONE,
    cdm_barrier: DRM_ASAHI_BARRIER_NONE,
    ...extra,
  };
}

/** A `DRM_ASAHI_SET_*_ATTACHMENTS` command (`cmd_type`), barriers NONE, as the header requires. */
export function agxAttachmentsCommand(
  cmdType: number,
  attachments: readonly DrmAsahiAttachment[],
): AgxCommand {
  return {
    cmd_type: cmdType,
    vdm_barrier: DRM_ASAHI_BARRIER_NONE,
    cdm_barrier: DRM_ASAHI_BARRIER_NONE,
    attachments,
  };
}

function payloadOf(c: AgxCommand): Uint8Array {
  if (c.cmd_type === DRM_ASAHI_CMD_RENDER) return agxEncodeStruct(drm_asahi_cmd_render, c.render ?? {});
  if (c.cmd_type === DRM_ASAHI_CMD_COMPUTE) return agxEncodeStruct(drm_asahi_cmd_compute, c.compute ?? {});
  const atts = (c.attachments ?? []).map((a) => agxEncodeStruct(drm_asahi_attachment, a));
  const out = new Uint8Array(atts.length * drm_asahi_attachment.size);
  atts.forEach((a, i) => {
    out.set(a, i * drm_asahi_attachment.size);
  });
  return out;
}

/** The command buffer of `cmds`: each header followed by `size` bytes of its payload (zero past the struct). */
export function agxEncodeCmdbuf(cmds: readonly AgxCommand[]): Uint8Array {
  const parts = cmds.map((c) => {
    const payload = payloadOf(c);
    const size = c.size ?? payload.length;
    const bytes = new Uint8Array(drm_asahi_cmd_header.size + size);
    bytes.set(
      agxEncodeStruct(drm_asahi_cmd_header, {
        cmd_type: c.cmd_type,
        size,
        vdm_barrier: c.vdm_barrier,
        cdm_barrier: c.cdm_barrier,
      }),
    );
    bytes.set(payload.subarray(0, size), drm_asahi_cmd_header.size);
    return bytes;
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The side-channel overrides of `cmds`' hardware commands, in order (one per hardware command;
 * attachment commands have none), or null when no command carries a knob.
 */
export function agxSimOverrides(cmds: readonly AgxCommand[]): DrmsimAsahiHwCmd[] | null {
  const hw = cmds.filter((c) => c.cmd_type === DRM_ASAHI_CMD_RENDER || c.cmd_type === DRM_ASAHI_CMD_COMPUTE);
  const knobs = (c: AgxSimKnobs) =>
    c.vertex_ns !== undefined ||
    c.fragment_ns !== undefined ||
    c.compute_ns !== undefined ||
    c.hang !== undefined ||
    c.error !== undefined ||
    c.fill !== undefined ||
    c.copy !== undefined;
  if (!hw.some(knobs)) return null;
  return hw.map((c) => {
    // Bytes as given: the kernel side refuses an element no byte can hold (EINVAL).
    const data =
      c.fill === undefined ? undefined : c.fill.data instanceof Uint8Array ? c.fill.data : [...c.fill.data];
    return {
      vertex_ns: c.vertex_ns ?? 0,
      fragment_ns: c.fragment_ns ?? 0,
      compute_ns: c.compute_ns ?? 0,
      error: c.error ?? 0,
      flags:
        (c.hang === true ? DRMSIM_ASAHI_HW_HANG : 0) |
        (c.vertex_ns !== undefined ? DRMSIM_ASAHI_HW_VERTEX_NS : 0) |
        (c.fragment_ns !== undefined ? DRMSIM_ASAHI_HW_FRAGMENT_NS : 0) |
        (c.compute_ns !== undefined ? DRMSIM_ASAHI_HW_COMPUTE_NS : 0) |
        (c.fill !== undefined ? DRMSIM_ASAHI_HW_FILL : 0) |
        (c.copy !== undefined ? DRMSIM_ASAHI_HW_COPY : 0),
      ...(c.fill !== undefined ? { fill_addr: c.fill.addr, fill_data: data, fill_size: data!.length } : {}),
      ...(c.copy !== undefined
        ? { copy_src: c.copy.src_addr, copy_dst: c.copy.dst_addr, copy_size: c.copy.size }
        : {}),
    };
  });
}
