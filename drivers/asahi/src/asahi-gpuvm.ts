/**
 * The split/merge core of `drm_gpuvm` (`drm_gpuvm_sm_map` / `drm_gpuvm_sm_unmap`) as the Asahi
 * driver's VM uses it: a VM is a sorted list of non-overlapping mappings (`drm_gpuva`s), and a
 * new mapping or an unmapped range cuts through whatever is there. An existing mapping that the
 * range covers entirely is unmapped; one that it covers in part is *remapped* — unmapped and
 * re-inserted as the piece before the range and/or the piece after it, each still pointing at
 * the same object (the piece after at an offset moved by the cut, unless the mapping repeats one
 * page). Nothing is merged, as in `drm_gpuvm`.
 *
 * Each mapping holds one reference on its object, so a buffer stays alive while the GPU can reach
 * it even after userspace closed its handle; a split adds one, an unmap drops one.
 */
import type { DrmGemObject } from "@drmsim/gem";
import { DRM_ASAHI_BIND_SINGLE_PAGE } from "./asahi-drm.js";

/** One GPU mapping (a `drm_gpuva`): `[addr, addr + range)` → `obj` from `offset`. */
export interface AsahiMapping {
  addr: number;
  range: number;
  obj: DrmGemObject;
  offset: number;
  /** `DRM_ASAHI_BIND_*` flags it was bound with (READ/WRITE, SINGLE_PAGE). */
  flags: number;
}

/** What a map or unmap did: counts of `drm_gpuva_op`s, for tests and traces. */
export interface AsahiGpuvmOps {
  map: number;
  remap: number;
  unmap: number;
}

/** The mappings of one VM, sorted by address (`struct drm_gpuvm`'s VA tree). */
export class AsahiGpuvm {
  readonly mappings: AsahiMapping[] = [];

  /** The mapping covering GPU address `addr`, if any (`drm_gpuva_find_first`). */
  find(addr: number): AsahiMapping | undefined {
    return this.mappings.find((m) => addr >= m.addr && addr < m.addr + m.range);
  }

  /**
   * `drm_gpuvm_sm_unmap`: unmaps `[addr, addr + range)`, remapping the mappings it cuts.
   * Returns the ops it took.
   */
  smUnmap(addr: number, range: number): AsahiGpuvmOps {
    const ops: AsahiGpuvmOps = { map: 0, remap: 0, unmap: 0 };
    const end = addr + range;
    if (range === 0) return ops;
    const kept: AsahiMapping[] = [];
    for (const m of this.mappings) {
      const mEnd = m.addr + m.range;
      if (mEnd <= addr || m.addr >= end) {
        kept.push(m);
        continue;
      }
      const before = m.addr < addr;
      const after = mEnd > end;
      if (!before && !after) {
        ops.unmap++;
        m.obj.put();
        continue;
      }
      ops.remap++;
      if (before) kept.push({ ...m, range: addr - m.addr });
      if (after) {
        const single = (m.flags & DRM_ASAHI_BIND_SINGLE_PAGE) !== 0;
        kept.push({
          ...m,
          addr: end,
          range: mEnd - end,
          offset: single ? m.offset : m.offset + (end - m.addr),
        });
      }
      // The remapped pieces share the old mapping's reference; a second piece needs its own.
      if (before && after) m.obj.get();
    }
    this.mappings.splice(0, this.mappings.length, ...kept);
    return ops;
  }

  /**
   * `drm_gpuvm_sm_map`: maps `m` (taking over the object reference the caller holds for it),
   * first unmapping or remapping whatever it overlaps.
   */
  smMap(m: AsahiMapping): AsahiGpuvmOps {
    const ops = this.smUnmap(m.addr, m.range);
    ops.map++;
    const i = this.mappings.findIndex((x) => x.addr > m.addr);
    this.mappings.splice(i < 0 ? this.mappings.length : i, 0, m);
    return ops;
  }

  /** Drops every mapping (the VM goes away). */
  clear(): void {
    for (const m of this.mappings.splice(0)) m.obj.put();
  }

  /** The distinct objects mapped, in address order of their first mapping (`drm_gpuvm_bo`s). */
  objects(): DrmGemObject[] {
    return [...new Set(this.mappings.map((m) => m.obj))];
  }
}
