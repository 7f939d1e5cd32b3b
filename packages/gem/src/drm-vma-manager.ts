/**
 * `drm_vma_manager.c`: the fake mmap offsets of a DRM device. Userspace maps a GEM object by
 * calling `mmap()` on the device node at an offset the driver handed out (`MODE_MAP_DUMB`,
 * `AMDGPU_GEM_MMAP`, `ASAHI_GEM_MMAP_OFFSET`); the offset names a node of the device's offset
 * manager, which says which object it is.
 *
 * The offsets are global to the device, so knowing one is not enough: every node keeps the files
 * allowed to map it (`drm_vma_node_allow`, refcounted per file), and GEM allows a file for as long
 * as it holds a handle to the object. `drm_gem_mmap` of a node the file is not allowed on is
 * `EACCES` — a client cannot map another client's buffer by guessing its offset.
 *
 * Deviation: the per-file entries are not charged to `sim.mm` (the kernel's `drm_vma_node_allow`
 * kmallocs one).
 */
import { KernelError } from "@drmsim/runtime";

/** `PAGE_SHIFT` of the simulated machine. */
const PAGE_SHIFT = 12;
/** `DRM_FILE_PAGE_OFFSET_START` (64-bit): the first page of fake offsets, above 4 GiB. */
export const DRM_FILE_PAGE_OFFSET_START = 0x1_0000_0000 / 4096;
/** `DRM_FILE_PAGE_OFFSET_SIZE` (64-bit): pages of fake-offset space. */
export const DRM_FILE_PAGE_OFFSET_SIZE = (0xffff_ffff >>> PAGE_SHIFT) * 256;

/** `struct drm_vma_offset_node`: an object's range of fake pages and the files allowed to map it. */
export class DrmVmaOffsetNode {
  /** `vm_node.start`: the first page (0 while not in a manager). */
  start = 0;
  /** `vm_node.size`: pages (0 while not in a manager). */
  pages = 0;
  /** The manager holding the node, null while not allocated. */
  manager: DrmVmaOffsetManager | null = null;
  /** `vm_files`: allowed files and how many times each was allowed. */
  private readonly files = new Map<object, number>();

  /** `drm_vma_node_allow(node, tag)`: `tag` (a file) may map the node; counted. */
  allow(tag: object): void {
    this.files.set(tag, (this.files.get(tag) ?? 0) + 1);
  }

  /** `drm_vma_node_revoke(node, tag)`: drops one allowance of `tag`; the last one removes it. */
  revoke(tag: object): void {
    const n = this.files.get(tag);
    if (n === undefined) return;
    if (n <= 1) this.files.delete(tag);
    else this.files.set(tag, n - 1);
  }

  /** `drm_vma_node_is_allowed(node, tag)`. */
  isAllowed(tag: object): boolean {
    return this.files.has(tag);
  }

  /** `drm_vma_node_has_offset(node)`. */
  get hasOffset(): boolean {
    return this.manager !== null;
  }

  /** `drm_vma_node_offset_addr(node)`: the byte offset to pass to `mmap()`, 0 without one. */
  get offsetAddr(): bigint {
    return BigInt(this.start) << BigInt(PAGE_SHIFT);
  }
}

/** `struct drm_vma_offset_manager`: one device's fake-offset space (a `drm_mm` of pages). */
export class DrmVmaOffsetManager {
  /** Allocated nodes, ascending by start. */
  private readonly nodes: DrmVmaOffsetNode[] = [];
  /** Objects owning the nodes, for lookups. */
  private readonly owners = new WeakMap<DrmVmaOffsetNode, unknown>();

  /** `drm_vma_offset_manager_init(mgr, page_offset, size)`. */
  constructor(
    readonly pageOffset = DRM_FILE_PAGE_OFFSET_START,
    readonly size = DRM_FILE_PAGE_OFFSET_SIZE,
  ) {}

  /** Nodes allocated now. */
  get count(): number {
    return this.nodes.length;
  }

  /**
   * `drm_vma_offset_add(mgr, node, pages)`: gives `node` a range of `pages` fake pages (first
   * fit), owned by `owner` (what lookups return). A node that has one keeps it. `ENOSPC` when the
   * space is full, `EINVAL` for 0 pages.
   */
  add(node: DrmVmaOffsetNode, pages: number, owner: unknown): void {
    if (node.manager === this) return;
    if (node.manager !== null)
      throw new KernelError("EINVAL", "drm_vma_offset_add: the node belongs to another manager");
    if (!Number.isSafeInteger(pages) || pages <= 0)
      throw new KernelError("EINVAL", `drm_vma_offset_add: ${pages} pages`);
    let start = this.pageOffset;
    let i = 0;
    for (; i < this.nodes.length; i++) {
      const n = this.nodes[i]!;
      if (start + pages <= n.start) break;
      start = n.start + n.pages;
    }
    if (start + pages > this.pageOffset + this.size)
      throw new KernelError("ENOSPC", `no ${pages} free pages of fake mmap offsets left`);
    node.start = start;
    node.pages = pages;
    node.manager = this;
    this.nodes.splice(i, 0, node);
    this.owners.set(node, owner);
  }

  /** `drm_vma_offset_remove(mgr, node)`: the node's range is free again (no-op without one). */
  remove(node: DrmVmaOffsetNode): void {
    if (node.manager !== this) return;
    const i = this.nodes.indexOf(node);
    if (i >= 0) this.nodes.splice(i, 1);
    node.manager = null;
    node.start = 0;
    node.pages = 0;
  }

  /**
   * `drm_vma_offset_lookup_locked(mgr, start, pages)`: the node whose range holds all of
   * `[start, start + pages)`, with its owner, or undefined.
   */
  lookup(start: number, pages: number): { node: DrmVmaOffsetNode; owner: unknown } | undefined {
    let lo = 0;
    let hi = this.nodes.length - 1;
    let best: DrmVmaOffsetNode | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const n = this.nodes[mid]!;
      if (n.start <= start) {
        best = n;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (best === undefined || start + pages > best.start + best.pages) return undefined;
    return { node: best, owner: this.owners.get(best) };
  }
}
