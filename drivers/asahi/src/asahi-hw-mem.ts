/**
 * What a command's simulated writes address: the side channel's `fill` and `copy`
 * (`asahi-hw-model.ts`) name GPU addresses of the submitting queue's VM, as a real command's
 * render targets and buffers do, and this module resolves them through the VM's mappings to the
 * objects and offsets behind them — the command's part. Which pages those are (a native object's,
 * an import's through its attachment) is the memory model's part, at submit under the locks.
 *
 * A range must lie inside one mapping (the GPU's MMU would fault otherwise), a written one in a
 * mapping bound with `DRM_ASAHI_BIND_WRITE`, a read one with `DRM_ASAHI_BIND_READ`; a
 * `SINGLE_PAGE` mapping repeats one page, so a range there must stay inside a page. Anything else
 * is `EINVAL` at submit, before the job exists.
 */

import type { DrmGemObject } from "@drmsim/gem";
import { KernelError } from "@drmsim/runtime";
import {
  ASAHI_PAGE_SIZE,
  DRM_ASAHI_BIND_READ,
  DRM_ASAHI_BIND_SINGLE_PAGE,
  DRM_ASAHI_BIND_WRITE,
} from "./asahi-drm.js";
import type { AsahiHwCopy, AsahiHwFill } from "./asahi-hw-model.js";
import type { AsahiVm } from "./asahi-vm.js";

/** `length` bytes of `obj` from `offset`: where a GPU address range lands. */
export interface AsahiVaTarget {
  readonly obj: DrmGemObject;
  readonly offset: number;
  readonly length: number;
}

/** A command's writes, resolved to their objects. */
export interface AsahiHwMemTargets {
  readonly fill?: { readonly dst: AsahiVaTarget; readonly data: Uint8Array };
  readonly copy?: { readonly src: AsahiVaTarget; readonly dst: AsahiVaTarget };
}

/** `[addr, addr + length)` of `vm` as the GPU reaches it for a read or a write. See the module comment. */
export function asahiVaTarget(
  vm: AsahiVm,
  addr: number,
  length: number,
  write: boolean,
  what: string,
): AsahiVaTarget {
  const m = vm.lookup(addr);
  const range = `GPU address 0x${addr.toString(16)} (+${length})`;
  if (m === undefined || addr + length > m.addr + m.range)
    throw new KernelError("EINVAL", `${what}: ${range} is not inside one mapping of VM ${vm.id}`);
  const need = write ? DRM_ASAHI_BIND_WRITE : DRM_ASAHI_BIND_READ;
  if ((m.flags & need) === 0)
    throw new KernelError(
      "EINVAL",
      `${what}: ${range} is ${write ? "written" : "read"} through a mapping bound without ${write ? "DRM_ASAHI_BIND_WRITE" : "DRM_ASAHI_BIND_READ"}`,
    );
  const rel = addr - m.addr;
  if ((m.flags & DRM_ASAHI_BIND_SINGLE_PAGE) !== 0) {
    const inPage = rel % ASAHI_PAGE_SIZE;
    if (inPage + length > ASAHI_PAGE_SIZE)
      throw new KernelError("EINVAL", `${what}: ${range} crosses a page of a SINGLE_PAGE mapping`);
    return { obj: m.obj, offset: m.offset + inPage, length };
  }
  return { obj: m.obj, offset: m.offset + rel, length };
}

/** A command's `fill` and `copy` resolved through `vm`; undefined when it has neither. */
export function asahiHwMemTargets(
  vm: AsahiVm,
  cmd: { readonly fill?: AsahiHwFill; readonly copy?: AsahiHwCopy },
  what: string,
): AsahiHwMemTargets | undefined {
  const { fill, copy } = cmd;
  if (fill === undefined && copy === undefined) return undefined;
  return {
    ...(fill !== undefined
      ? {
          fill: {
            dst: asahiVaTarget(vm, fill.addr, fill.data.length, true, `${what} fill`),
            data: fill.data,
          },
        }
      : {}),
    ...(copy !== undefined
      ? {
          copy: {
            src: asahiVaTarget(vm, copy.srcAddr, copy.size, false, `${what} copy source`),
            dst: asahiVaTarget(vm, copy.dstAddr, copy.size, true, `${what} copy destination`),
          },
        }
      : {}),
  };
}
