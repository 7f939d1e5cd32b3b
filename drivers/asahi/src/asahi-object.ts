/**
 * Special GPU objects (the driver's `file::Object` table and `ASAHI_GEM_BIND_OBJECT`): a range of
 * a GEM object mapped for the firmware — today only as a timestamp buffer, which render and
 * compute commands name by `object_handle` in their `drm_asahi_timestamp`s. Handles are per
 * file and start at 1; each bound object holds a reference on its GEM object until it is
 * unbound or the file closes.
 *
 * drmsim checks and records the binding, and a command's timestamps are checked against it
 * (`asahi-cmdbuf.ts`); the simulated firmware does not write the timestamps into the buffer.
 */
import type { DrmFile } from "@drmsim/drm";
import type { DrmGemObject } from "@drmsim/gem";
import { KernelError, type UapiValue } from "@drmsim/runtime";
import {
  ASAHI_PAGE_SIZE,
  DRM_ASAHI_BIND_OBJECT_OP_BIND,
  DRM_ASAHI_BIND_OBJECT_OP_UNBIND,
  DRM_ASAHI_BIND_OBJECT_USAGE_TIMESTAMPS,
  type drm_asahi_gem_bind_object,
} from "./asahi-drm.js";

/** One bound special object (`file::Object::TimestampBuffer`). */
export interface AsahiBoundObject {
  obj: DrmGemObject;
  offset: number;
  size: number;
}

const PGMSK = BigInt(ASAHI_PAGE_SIZE - 1);
const NAME = "ASAHI_GEM_BIND_OBJECT";

/** A file's special objects (`File.objects`). */
export class AsahiObjectTable {
  private readonly objects = new Map<number, AsahiBoundObject>();
  private nextHandle = 1;

  /** The object bound as `handle`, if any. */
  find(handle: number): AsahiBoundObject | undefined {
    return this.objects.get(handle);
  }

  get size(): number {
    return this.objects.size;
  }

  /**
   * `ASAHI_GEM_BIND_OBJECT` (`pad` and `vm_id` must be 0: checked by the core). BIND: `EINVAL`
   * for a range or offset off the 16 KiB page, flags other than exactly
   * `DRM_ASAHI_BIND_OBJECT_USAGE_TIMESTAMPS`, an empty range or one past the object; `ENOENT`
   * for a bad handle; out `object_handle`. UNBIND: `EINVAL` for a non-zero range, offset, flags
   * or handle; `ENOENT` for an `object_handle` bound to nothing. Any other op is `EINVAL`.
   */
  ioctl(file: DrmFile, args: UapiValue<typeof drm_asahi_gem_bind_object>): void {
    if (args.op === DRM_ASAHI_BIND_OBJECT_OP_BIND) this.bind(file, args);
    else if (args.op === DRM_ASAHI_BIND_OBJECT_OP_UNBIND) this.unbind(args);
    else throw new KernelError("EINVAL", `${NAME}: unknown op ${args.op}`);
  }

  private bind(file: DrmFile, args: UapiValue<typeof drm_asahi_gem_bind_object>): void {
    if (((args.range | args.offset) & PGMSK) !== 0n)
      throw new KernelError("EINVAL", `${NAME}: range and offset must be multiples of the 16 KiB page`);
    if (args.flags !== DRM_ASAHI_BIND_OBJECT_USAGE_TIMESTAMPS)
      throw new KernelError(
        "EINVAL",
        `${NAME}: flags must be DRM_ASAHI_BIND_OBJECT_USAGE_TIMESTAMPS (the only special object), got 0x${args.flags.toString(16)}`,
      );
    const end = args.offset + args.range;
    const obj = file.gem.lookup(args.handle);
    try {
      if (args.range === 0n || end > BigInt(obj.size))
        throw new KernelError(
          "EINVAL",
          `${NAME}: [${args.offset}, ${end}) is not a non-empty range of the ${obj.size}-byte object`,
        );
      const handle = this.nextHandle++;
      this.objects.set(handle, { obj: obj.get(), offset: Number(args.offset), size: Number(args.range) });
      args.object_handle = handle;
    } finally {
      obj.put();
    }
  }

  private unbind(args: UapiValue<typeof drm_asahi_gem_bind_object>): void {
    if (args.range !== 0n || args.offset !== 0n)
      throw new KernelError("EINVAL", `${NAME}: an unbind takes no range or offset`);
    if (args.flags !== 0) throw new KernelError("EINVAL", `${NAME}: an unbind takes no flags`);
    if (args.handle !== 0) throw new KernelError("EINVAL", `${NAME}: an unbind takes no GEM handle`);
    const o = this.objects.get(args.object_handle);
    if (o === undefined)
      throw new KernelError("ENOENT", `${NAME}: no object is bound as ${args.object_handle}`);
    this.objects.delete(args.object_handle);
    o.obj.put();
  }

  /** Drops every bound object (file close). */
  release(): void {
    for (const o of this.objects.values()) o.obj.put();
    this.objects.clear();
  }
}
