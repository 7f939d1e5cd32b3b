/**
 * Typed ioctls of a file type: the `unlocked_ioctl` switch of `dma_buf_ioctl`, `sync_file_ioctl`
 * or `sw_sync_ioctl` as a table of declarations, each with its request number, argument layout
 * and handler, dispatched the way those functions do it — look the command up (`ENOTTY` when the
 * file type has no such ioctl), `copy_from_user` the argument, run the handler, `copy_to_user` the
 * result when the request has the `_IOC_READ` bit and the handler succeeded (these switches copy
 * out at their end; `drm_ioctl` differs and copies back on failure too, see `UapiCallOptions`).
 */

import { KernelError } from "../errno.js";
import { isThenable } from "../internal/thenable.js";
import { mightFault } from "../lockdep/annotations.js";
import type { Simulator } from "../simulator.js";
import type { File, FileOperations, IoctlCmd } from "../vfs/file.js";
import type { Process } from "../vfs/process.js";
import { uapiCheckEntry, uapiCopyFromJs, uapiCopyToJs, uapiDecode, uapiEncode } from "./codec.js";
import { IocDir, iocDir, iocSize } from "./ioc.js";
import type { UapiLayout, UapiValue } from "./layout.js";
import { UapiUserArg } from "./user-arg.js";

/** One ioctl of a file type. */
export interface IoctlDef<L extends UapiLayout = UapiLayout, P = unknown> {
  /** The uAPI macro name, e.g. `SYNC_IOC_MERGE`. */
  readonly name: string;
  /** The request number (`_IOWR('>', 3, struct sync_merge_data)`). */
  readonly cmd: number;
  /** The argument as the header declares it. */
  readonly layout: L;
  /** The handler: reads and fills in `args`, throws a `KernelError` to fail. */
  readonly handler: (file: File<P>, args: UapiValue<L>, proc: Process) => unknown;
}

/**
 * Declares one ioctl. The size encoded in `cmd` must be the layout's size — the check the
 * kernel's headers get from `sizeof` — and a bare scalar argument can only be copied in.
 */
export function ioctlDef<L extends UapiLayout, P = unknown>(
  name: string,
  cmd: number,
  layout: L,
  handler: (file: File<P>, args: UapiValue<L>, proc: Process) => unknown,
): IoctlDef<L, P> {
  uapiCheckRequest(name, cmd, layout);
  return { name, cmd, layout, handler };
}

/** Throws if `cmd` does not encode `layout`'s size, or asks to copy a scalar argument out. */
export function uapiCheckRequest(name: string, cmd: number, layout: UapiLayout): void {
  if (iocSize(cmd) !== layout.size)
    throw new Error(
      `${name}: the request encodes ${iocSize(cmd)} bytes, the argument layout has ${layout.size}`,
    );
  if (layout.type !== "struct" && (iocDir(cmd) & IocDir.READ) !== 0)
    throw new Error(`${name}: an argument that is not a struct cannot be copied back to a JavaScript caller`);
}

/** How `uapiIoctlCall` copies: what the caller's request encodes, and when the result goes back. */
export interface UapiCallOptions {
  /**
   * `_IOC_SIZE` of the caller's request (default: the layout's size). Only a byte-level caller
   * (`UapiUserArg`) has a size: a shorter block is zero-extended to the layout, the tail of a longer
   * one is ignored by the handler and copied back as it was.
   */
  readonly userSize?: number;
  /**
   * `"always"`: copy back whatever the handler returned — `drm_ioctl` copies `out_size` bytes back
   * even when the handler failed (some ioctls report status that way). `"success"` (default):
   * only when the handler returned, as `*_ioctl` switches that `copy_to_user` at their end.
   */
  readonly copyBack?: "always" | "success";
}

const NO_OPTIONS: UapiCallOptions = {};

/**
 * One call of an ioctl with a declared layout: copies `arg` in if `dir` has `_IOC_WRITE` (else the
 * handler starts from a zeroed struct), runs `body` with the typed value, and copies it back into
 * `arg` if `dir` has `_IOC_READ` — when `body` returned, or also when it failed with
 * `copyBack: "always"`. A call whose copy-in failed copies nothing back. `body` makes the entry
 * checks itself (`uapiCheckEntry`) at the point its kernel function does.
 *
 * `arg` is a simulated process's JavaScript object, or a `UapiUserArg` (bytes in a program's
 * memory), for which the sizes follow `drm_ioctl`: `in_size`/`out_size` are the request's size in
 * the directions `dir` has, the kernel buffer is the larger of them and the layout, zero-filled
 * past what was copied in; a failed copy back is `EFAULT`.
 */
export function uapiIoctlCall<L extends UapiLayout>(
  sim: Simulator,
  name: string,
  dir: IocDir,
  layout: L,
  arg: unknown,
  body: (args: UapiValue<L>) => unknown,
  opts: UapiCallOptions = NO_OPTIONS,
): void | Promise<void> {
  if (arg instanceof UapiUserArg) return userIoctlCall(sim, name, dir, layout, arg, body, opts);
  const copyIn = (dir & IocDir.WRITE) !== 0;
  if (copyIn) mightFault(sim, `copy_from_user(${name})`);
  const value = uapiCopyFromJs(layout, copyIn ? arg : undefined, { sim, what: name });
  const copyOut = (dir & IocDir.READ) !== 0;
  let r: unknown;
  try {
    r = body(value);
  } catch (e) {
    if (copyOut && opts.copyBack === "always") copyToJs(sim, name, layout, value, arg);
    throw e;
  }
  // A handler that sleeps finishes later; one that did not is copied back now, with no promise.
  if (isThenable(r)) return copyBackLater(r, sim, name, layout, value, arg, copyOut, opts);
  if (copyOut) copyToJs(sim, name, layout, value, arg);
}

async function copyBackLater(
  r: PromiseLike<unknown>,
  sim: Simulator,
  name: string,
  layout: UapiLayout,
  value: unknown,
  arg: unknown,
  copyOut: boolean,
  opts: UapiCallOptions,
): Promise<void> {
  try {
    await r;
  } catch (e) {
    if (copyOut && opts.copyBack === "always") copyToJs(sim, name, layout, value, arg);
    throw e;
  }
  if (copyOut) copyToJs(sim, name, layout, value, arg);
}

function copyToJs(sim: Simulator, name: string, layout: UapiLayout, value: unknown, arg: unknown): void {
  mightFault(sim, `copy_to_user(${name})`);
  uapiCopyToJs(layout, value, arg);
}

/** `uapiIoctlCall` on bytes: `drm_ioctl`'s `kdata` buffer, sized and copied as it is there. */
async function userIoctlCall<L extends UapiLayout>(
  sim: Simulator,
  name: string,
  dir: IocDir,
  layout: L,
  arg: UapiUserArg,
  body: (args: UapiValue<L>) => unknown,
  opts: UapiCallOptions,
): Promise<void> {
  const size = opts.userSize ?? layout.size;
  const inSize = (dir & IocDir.WRITE) !== 0 ? size : 0;
  const outSize = (dir & IocDir.READ) !== 0 ? size : 0;
  const kdata = new Uint8Array(Math.max(inSize, outSize, layout.size));
  if (inSize > 0) {
    mightFault(sim, `copy_from_user(${name})`);
    kdata.set(arg.mem.read(arg.addr, inSize));
  }
  const ctx = { sim, what: name, mem: arg.mem };
  const value = uapiDecode(layout, kdata.slice(0, layout.size), ctx);
  const copyOut = () => {
    if (outSize === 0) return;
    mightFault(sim, `copy_to_user(${name})`);
    kdata.set(uapiEncode(layout, value));
    try {
      arg.mem.write(arg.addr, kdata.subarray(0, outSize));
    } catch (e) {
      throw e instanceof KernelError && e.code === "EFAULT"
        ? e
        : new KernelError("EFAULT", `copy_to_user(${name}) failed: ${String(e)}`);
    }
  };
  try {
    await body(value);
  } catch (e) {
    if (opts.copyBack === "always") {
      // drm_ioctl: `if (copy_to_user(...)) retcode = -EFAULT` — a failed copy back replaces the error.
      copyOut();
    }
    throw e;
  }
  copyOut();
}

/**
 * `file_operations.unlocked_ioctl` (and `ioctlName`) from a table of typed ioctls: finds the
 * request (`ENOTTY` if the file type has none such, as every `*_ioctl` switch answers), copies
 * in, checks the declared pads and flags, runs the handler and copies out.
 */
export function ioctlTable<P>(
  defs: readonly IoctlDef<UapiLayout, P>[],
  what: string,
): Required<Pick<FileOperations<P>, "ioctl" | "ioctlName">> {
  const byCmd = new Map<IoctlCmd, IoctlDef<UapiLayout, P>>();
  for (const d of defs) byCmd.set(d.cmd, d);
  const ioctlName = (_file: File<P>, cmd: IoctlCmd) => byCmd.get(cmd)?.name;
  // Not async: a handler that does not sleep finishes before this returns (see `Process.ioctl`).
  const ioctl = (file: File<P>, cmd: IoctlCmd, arg: unknown, proc: Process) => {
    const def = byCmd.get(cmd);
    if (def === undefined) throw new KernelError("ENOTTY", `${what}: no ioctl 0x${(cmd >>> 0).toString(16)}`);
    return uapiIoctlCall(file.sim, def.name, iocDir(def.cmd), def.layout, arg, (v) => {
      uapiCheckEntry(def.layout, v, def.name);
      return def.handler(file, v, proc);
    });
  };
  return { ioctl, ioctlName };
}
