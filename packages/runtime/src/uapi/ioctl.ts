/**
 * Typed ioctls of a file type: the `unlocked_ioctl` switch of `dma_buf_ioctl`, `sync_file_ioctl`
 * or `sw_sync_ioctl` as a table of declarations, each with its request number, argument layout
 * and handler, dispatched the way those functions do it — look the command up (`ENOTTY` when the
 * file type has no such ioctl), `copy_from_user` the argument, run the handler, `copy_to_user` the
 * result when the request has the `_IOC_READ` bit.
 */
import { KernelError } from "../errno.js";
import { mightFault } from "../lockdep/annotations.js";
import type { Simulator } from "../simulator.js";
import type { File, FileOperations, IoctlCmd } from "../vfs/file.js";
import type { Process } from "../vfs/process.js";
import { uapiCheckEntry, uapiCopyFromJs, uapiCopyToJs } from "./codec.js";
import { IocDir, iocDir, iocSize } from "./ioc.js";
import type { UapiLayout, UapiValue } from "./layout.js";

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

/**
 * One call of an ioctl with a declared layout, for a simulated process: copies `arg` in if `dir`
 * has `_IOC_WRITE` (else the handler starts from a zeroed struct), runs `body` with the typed
 * value, and copies it back into `arg` if `dir` has `_IOC_READ` and `body` returned. `body` makes
 * the entry checks itself (`uapiCheckEntry`) at the point its kernel function does.
 */
export async function uapiIoctlCall<L extends UapiLayout>(
  sim: Simulator,
  name: string,
  dir: IocDir,
  layout: L,
  arg: unknown,
  body: (args: UapiValue<L>) => unknown,
): Promise<void> {
  const ctx = { sim, what: name };
  if ((dir & IocDir.WRITE) !== 0) mightFault(sim, `copy_from_user(${name})`);
  const value = uapiCopyFromJs(layout, (dir & IocDir.WRITE) !== 0 ? arg : undefined, ctx);
  await body(value);
  if ((dir & IocDir.READ) !== 0) {
    mightFault(sim, `copy_to_user(${name})`);
    uapiCopyToJs(layout, value, arg);
  }
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
  const ioctl = async (file: File<P>, cmd: IoctlCmd, arg: unknown, proc: Process) => {
    const def = byCmd.get(cmd);
    if (def === undefined) throw new KernelError("ENOTTY", `${what}: no ioctl 0x${(cmd >>> 0).toString(16)}`);
    await uapiIoctlCall(file.sim, def.name, iocDir(def.cmd), def.layout, arg, (v) => {
      uapiCheckEntry(def.layout, v, def.name);
      return def.handler(file, v, proc);
    });
    return arg;
  };
  return { ioctl, ioctlName };
}
