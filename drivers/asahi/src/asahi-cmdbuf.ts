/**
 * The command buffer of `ASAHI_SUBMIT` (the driver's `Queue::submit` command parsing): a flat
 * byte buffer of commands, each a `struct drm_asahi_cmd_header` (8 bytes) followed by
 * `header.size` payload bytes —
 * - `DRM_ASAHI_CMD_RENDER`: a `struct drm_asahi_cmd_render` (240 bytes),
 * - `DRM_ASAHI_CMD_COMPUTE`: a `struct drm_asahi_cmd_compute` (64 bytes),
 * - `DRM_ASAHI_SET_{VERTEX,FRAGMENT,COMPUTE}_ATTACHMENTS`: `size / 24` `struct
 *   drm_asahi_attachment`s, hints for the hardware commands after it (software commands).
 * A hardware payload shorter than its struct is zero-extended (older userspace); the bytes past
 * the struct in a longer one are skipped, never read (newer userspace): the next header is
 * always `header.size` bytes on.
 *
 * Checked as the kernel checks it, in two passes: the first reads every header and counts the
 * hardware commands (`EINVAL` for a header cut short, and for a count outside
 * `1..max_commands_per_submission`); the second reads the payloads in order (`EINVAL` for a
 * payload cut short, an unknown command type, a barrier to a command that is not earlier in
 * this submit, a barrier on an attachment command, unknown render flags, a framebuffer of 0 or
 * more than 16384 pixels a side, 0 or more than 2048 layers, a tile size other than 32x32, 32x16
 * or 16x16, a sample count other than 1, 2 or 4, compute flags, more than `max_attachments`
 * attachments or an attachment with a non-zero pad or flags; `ENOENT` for a timestamp naming no
 * bound object and `ERANGE` for one past the end of its buffer).
 */
import {
  KernelError,
  type Simulator,
  type UapiLayout,
  type UapiStruct,
  type UapiValue,
  uapiCheckEntry,
  uapiDecode,
} from "@drmsim/runtime";
import {
  ASAHI_MAX_ATTACHMENTS,
  DRM_ASAHI_BARRIER_NONE,
  DRM_ASAHI_CMD_COMPUTE,
  DRM_ASAHI_CMD_RENDER,
  DRM_ASAHI_RENDER_DBIAS_IS_INT,
  DRM_ASAHI_RENDER_NO_VERTEX_CLUSTERING,
  DRM_ASAHI_RENDER_PROCESS_EMPTY_TILES,
  DRM_ASAHI_RENDER_VERTEX_SCRATCH,
  DRM_ASAHI_SET_COMPUTE_ATTACHMENTS,
  DRM_ASAHI_SET_FRAGMENT_ATTACHMENTS,
  DRM_ASAHI_SET_VERTEX_ATTACHMENTS,
  drm_asahi_attachment,
  drm_asahi_cmd_compute,
  drm_asahi_cmd_header,
  drm_asahi_cmd_render,
  drm_asahi_timestamp,
  drm_asahi_timestamps,
} from "./asahi-drm.js";

const NAME = "ASAHI_SUBMIT";

const RENDER_FLAGS =
  DRM_ASAHI_RENDER_VERTEX_SCRATCH |
  DRM_ASAHI_RENDER_PROCESS_EMPTY_TILES |
  DRM_ASAHI_RENDER_NO_VERTEX_CLUSTERING |
  DRM_ASAHI_RENDER_DBIAS_IS_INT;

const viewOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** A barrier of a hardware command: 0 = that subqueue's earlier submits, N = its N-th command here. */
export interface AsahiBarrier {
  sub: "render" | "compute";
  index: number;
}

/**
 * One hardware command of a submit, parsed and checked: its barriers and its payload — the bytes
 * of its `struct drm_asahi_cmd_render` or `struct drm_asahi_cmd_compute`, zero-extended to the
 * struct's size (`asahiDecodePayload` decodes them; the checks read only the members they need).
 */
export interface AsahiParsedCommand {
  type: "render" | "compute";
  barriers: AsahiBarrier[];
  payload: Uint8Array;
}

/** The decoded payload struct of a parsed command. */
export function asahiDecodePayload(
  cmd: AsahiParsedCommand,
  sim: Simulator,
): UapiValue<typeof drm_asahi_cmd_render> | UapiValue<typeof drm_asahi_cmd_compute> {
  return cmd.type === "render"
    ? uapiDecode(drm_asahi_cmd_render, cmd.payload, { sim, what: "drm_asahi_cmd_render" })
    : uapiDecode(drm_asahi_cmd_compute, cmd.payload, { sim, what: "drm_asahi_cmd_compute" });
}

/** What the parser needs to know about the submitting file: its timestamp buffers. */
export interface AsahiCmdbufEnv {
  readonly sim: Simulator;
  /** `max_commands_per_submission`. */
  readonly maxCommands: number;
  /** The size of the timestamp buffer bound as `object_handle`, or undefined if there is none. */
  timestampBufferSize(objectHandle: number): number | undefined;
}

/** A cursor over the buffer (the driver's `Reader`). */
class Reader {
  offset = 0;
  constructor(readonly bytes: Uint8Array) {}

  get empty(): boolean {
    return this.offset >= this.bytes.length;
  }

  /** `n` bytes at the cursor, `EINVAL` if the buffer ends first; the cursor moves past them. */
  take(n: number, what: string): Uint8Array {
    if (this.offset + n > this.bytes.length)
      throw new KernelError(
        "EINVAL",
        `${NAME}: ${what} at byte ${this.offset} needs ${n} bytes, the command buffer has ${this.bytes.length - this.offset} left`,
      );
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /**
   * Moves the cursor to `offset`, or to the end if the buffer ends first: only the bytes the
   * driver reads must be there (a payload's tail past its struct is never read).
   */
  skipTo(offset: number): void {
    this.offset = Math.min(offset, this.bytes.length);
  }
}

function decode<L extends UapiLayout>(
  layout: L,
  bytes: Uint8Array,
  env: AsahiCmdbufEnv,
  what: string,
): UapiValue<L> {
  return uapiDecode(layout, bytes, { sim: env.sim, what });
}

const HEADER = drm_asahi_cmd_header.offsets;

/** The next `struct drm_asahi_cmd_header`. */
function header(r: Reader) {
  const v = viewOf(r.take(drm_asahi_cmd_header.size, "a command header"));
  return {
    cmd_type: v.getUint16(HEADER.cmd_type, true),
    size: v.getUint16(HEADER.size, true),
    vdm_barrier: v.getUint16(HEADER.vdm_barrier, true),
    cdm_barrier: v.getUint16(HEADER.cdm_barrier, true),
  };
}

/** A hardware payload: `min(size, sizeof)` bytes, zero-extended; the cursor moves `size` on. */
function payload(r: Reader, layout: UapiStruct, size: number, what: string): Uint8Array {
  const start = r.offset;
  const given = r.take(Math.min(size, layout.size), what);
  const full = new Uint8Array(layout.size);
  full.set(given);
  r.skipTo(start + size);
  return full;
}

const isAttachments = (t: number) =>
  t === DRM_ASAHI_SET_VERTEX_ATTACHMENTS ||
  t === DRM_ASAHI_SET_FRAGMENT_ATTACHMENTS ||
  t === DRM_ASAHI_SET_COMPUTE_ATTACHMENTS;

const RENDER = drm_asahi_cmd_render.offsets;
const COMPUTE = drm_asahi_cmd_compute.offsets;
const TIMESTAMPS = drm_asahi_timestamps.offsets;
const TIMESTAMP = drm_asahi_timestamp.offsets;

/**
 * `get_timestamp_object` for the `struct drm_asahi_timestamp` at byte `off`: handle 0 skips;
 * otherwise a bound timestamp buffer with 8 bytes at `offset`.
 */
function checkTimestamp(v: DataView, off: number, env: AsahiCmdbufEnv, what: string): void {
  const handle = v.getUint32(off + TIMESTAMP.handle, true);
  const offset = v.getUint32(off + TIMESTAMP.offset, true);
  if (handle === 0) return;
  const size = env.timestampBufferSize(handle);
  if (size === undefined)
    throw new KernelError("ENOENT", `${NAME}: ${what}: no timestamp buffer is bound as object ${handle}`);
  if (offset + 8 > size)
    throw new KernelError(
      "ERANGE",
      `${NAME}: ${what}: offset ${offset} + 8 is past the end of the ${size}-byte timestamp buffer`,
    );
}

/** `submit_render`'s checks, in its order. */
function checkRender(b: Uint8Array, env: AsahiCmdbufEnv, what: string): void {
  const v = viewOf(b);
  const flags = v.getUint32(RENDER.flags, true);
  const width = v.getUint16(RENDER.width_px, true);
  const height = v.getUint16(RENDER.height_px, true);
  if ((flags & ~RENDER_FLAGS) !== 0)
    throw new KernelError(
      "EINVAL",
      `${NAME}: ${what}: unknown render flags 0x${(flags & ~RENDER_FLAGS).toString(16)}`,
    );
  if (width === 0 || height === 0 || width > 16384 || height > 16384)
    throw new KernelError(
      "EINVAL",
      `${NAME}: ${what}: a ${width}x${height} framebuffer (each side 1..16384)`,
    );
  for (const ts of ["ts_vtx", "ts_frag"] as const)
    for (const se of ["start", "end"] as const)
      checkTimestamp(v, RENDER[ts] + TIMESTAMPS[se], env, `${what} ${ts}.${se}`);
  const layers = v.getUint16(RENDER.layers, true);
  if (layers === 0 || layers > 2048)
    throw new KernelError("EINVAL", `${NAME}: ${what}: ${layers} layers (1..2048)`);
  const utile = `${v.getUint8(RENDER.utile_width_px)}x${v.getUint8(RENDER.utile_height_px)}`;
  if (utile !== "32x32" && utile !== "32x16" && utile !== "16x16")
    throw new KernelError("EINVAL", `${NAME}: ${what}: a ${utile} tile (32x32, 32x16 or 16x16)`);
  const samples = v.getUint8(RENDER.samples);
  if (samples !== 1 && samples !== 2 && samples !== 4)
    throw new KernelError("EINVAL", `${NAME}: ${what}: ${samples} samples (1, 2 or 4)`);
}

/** `submit_compute`'s checks: flags must be 0, then the timestamps. */
function checkCompute(b: Uint8Array, env: AsahiCmdbufEnv, what: string): void {
  const v = viewOf(b);
  const flags = v.getUint32(COMPUTE.flags, true);
  if (flags !== 0) throw new KernelError("EINVAL", `${NAME}: ${what}: compute flags must be 0, got ${flags}`);
  checkTimestamp(v, COMPUTE.ts + TIMESTAMPS.start, env, `${what} ts.start`);
  checkTimestamp(v, COMPUTE.ts + TIMESTAMPS.end, env, `${what} ts.end`);
}

/** `build_attachments`: `size / 24` attachments, at most `ASAHI_MAX_ATTACHMENTS`, pad and flags 0. */
function checkAttachments(r: Reader, size: number, env: AsahiCmdbufEnv, what: string): void {
  const count = Math.floor(size / drm_asahi_attachment.size);
  if (count > ASAHI_MAX_ATTACHMENTS)
    throw new KernelError(
      "EINVAL",
      `${NAME}: ${what}: ${count} attachments, at most ${ASAHI_MAX_ATTACHMENTS}`,
    );
  const start = r.offset;
  for (let i = 0; i < count; i++) {
    const a = decode(
      drm_asahi_attachment,
      r.take(drm_asahi_attachment.size, `${what} attachment ${i}`),
      env,
      what,
    );
    uapiCheckEntry(drm_asahi_attachment, a, `${NAME}: ${what} attachment ${i}`);
  }
  r.skipTo(start + size);
}

/**
 * Parses and checks `bytes` (see the module comment); returns the hardware commands in order.
 * Attachment commands are checked and dropped: they are hints drmsim's firmware does not need.
 */
export function asahiParseCmdbuf(bytes: Uint8Array, env: AsahiCmdbufEnv): AsahiParsedCommand[] {
  // First pass: headers only, to count the hardware commands.
  const r = new Reader(bytes);
  let hw = 0;
  while (!r.empty) {
    const h = header(r);
    r.offset += h.size;
    if (h.cmd_type === DRM_ASAHI_CMD_RENDER || h.cmd_type === DRM_ASAHI_CMD_COMPUTE) hw++;
  }
  if (hw === 0 || hw > env.maxCommands)
    throw new KernelError(
      "EINVAL",
      `${NAME}: a submit carries 1..${env.maxCommands} hardware commands, got ${hw}`,
    );

  // Second pass: payloads and barriers, in order.
  r.offset = 0;
  const out: AsahiParsedCommand[] = [];
  let renders = 0;
  let computes = 0;
  for (let i = 0; !r.empty; i++) {
    const h = header(r);
    const what = `command ${i}`;
    const type = h.cmd_type;
    const barriers: AsahiBarrier[] = [];
    for (const [field, sub, count] of [
      ["vdm_barrier", "render", renders],
      ["cdm_barrier", "compute", computes],
    ] as const) {
      const b = h[field];
      if (b === DRM_ASAHI_BARRIER_NONE) continue;
      if (isAttachments(type))
        throw new KernelError(
          "EINVAL",
          `${NAME}: ${what} sets attachments (a software command), so both barriers must be DRM_ASAHI_BARRIER_NONE`,
        );
      if (b > count)
        throw new KernelError(
          "EINVAL",
          `${NAME}: ${what}: ${field} ${b} names ${sub} command ${b} of this submit, but only ${count} come before it (barriers may only wait on earlier commands)`,
        );
      barriers.push({ sub, index: b });
    }
    if (type === DRM_ASAHI_CMD_RENDER) {
      const bytes = payload(r, drm_asahi_cmd_render, h.size, `${what} (render)`);
      checkRender(bytes, env, what);
      out.push({ type: "render", barriers, payload: bytes });
      renders++;
    } else if (type === DRM_ASAHI_CMD_COMPUTE) {
      const bytes = payload(r, drm_asahi_cmd_compute, h.size, `${what} (compute)`);
      checkCompute(bytes, env, what);
      out.push({ type: "compute", barriers, payload: bytes });
      computes++;
    } else if (isAttachments(type)) checkAttachments(r, h.size, env, what);
    else throw new KernelError("EINVAL", `${NAME}: ${what} has unknown cmd_type ${type}`);
  }
  return out;
}
