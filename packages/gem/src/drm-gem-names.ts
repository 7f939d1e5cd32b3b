/**
 * Flink names (`dev->object_name_idr`, `drm_gem_flink_ioctl`, `drm_gem_open_ioctl`): global,
 * per-device integers that let any process open a buffer it can guess the name of. This is the
 * legacy, insecure sharing path that PRIME (dma-buf fds) replaced; render nodes do not offer it,
 * but the DRM core still implements it for primary nodes.
 *
 * A name is handed out once per object (flinking again returns the same name), from 1, and is
 * removed when the object's last handle goes (`drm_gem_object_handle_free`).
 */
import { type Allocation, GFP_KERNEL, KernelError } from "@drmsim/runtime";
import type { DrmGemHandleTable } from "./drm-gem-handles.js";
import type { DrmGemObject } from "./drm-gem-object.js";
import { Idr } from "./internal/idr.js";

/** What GEM_OPEN returns (`struct drm_gem_open`'s out fields). */
export interface DrmGemOpenResult {
  handle: number;
  size: number;
}

/** Bytes charged per flink name (a share of an idr radix-tree node), an estimate. */
const NAME_SLOT_BYTES = 16;

/** `dev->object_name_idr`: one per device. */
export class DrmGemNameTable {
  private readonly idr = new Idr<DrmGemObject>();
  /**
   * The memory behind each name (`idr_alloc(&dev->object_name_idr, …, GFP_KERNEL)`), charged to
   * the named object's simulator: the table itself is created without one.
   */
  private readonly nameMem = new Map<number, Allocation>();

  /** Number of named objects. */
  get count(): number {
    return this.idr.size;
  }

  /**
   * `drm_gem_flink_ioctl` after the handle lookup: names `obj` (from 1) or returns its existing
   * name. ENOENT if the object has no handles left (it is on its way out; the kernel refuses to
   * name it). ENOMEM, the object left unnamed, when the name's idr slot (site `idr_alloc`)
   * cannot be allocated.
   */
  flink(obj: DrmGemObject): number {
    obj.assertLive("drm_gem_flink");
    if (obj.handleCount === 0)
      throw new KernelError("ENOENT", `${obj.label} has no handles and cannot be named`);
    if (obj.name !== 0) {
      if (obj.nameTable !== this)
        throw new KernelError("EINVAL", `${obj.label} is already named on another device`);
      return obj.name;
    }
    // Allocated before the name is chosen: ENOMEM names nothing.
    const mem = obj.sim.mm.kmalloc(NAME_SLOT_BYTES, GFP_KERNEL, "idr_alloc");
    obj.name = this.idr.alloc(obj);
    this.nameMem.set(obj.name, mem);
    obj.nameTable = this;
    return obj.name;
  }

  /** The object named `name`, without a reference, or undefined. */
  peek(name: number): DrmGemObject | undefined {
    return this.idr.find(name);
  }

  /**
   * `drm_gem_open_ioctl`: a new handle in `table` for the object named `name`, and its size.
   * ENOENT for an unknown name; `funcs.open` failures propagate.
   */
  open(name: number, table: DrmGemHandleTable): DrmGemOpenResult {
    const obj = this.idr.find(name);
    if (obj === undefined) throw new KernelError("ENOENT", `no GEM object is named ${name}`);
    obj.get();
    try {
      const handle = table.handleCreate(obj);
      return { handle, size: obj.size };
    } finally {
      obj.put();
    }
  }

  /** `drm_gem_object_handle_free`: forgets `obj`'s name. @internal (called by the object). */
  remove(obj: DrmGemObject): void {
    if (obj.name === 0 || obj.nameTable !== this) return;
    this.idr.remove(obj.name);
    this.nameMem.get(obj.name)?.free();
    this.nameMem.delete(obj.name);
    obj.name = 0;
    obj.nameTable = null;
  }
}
