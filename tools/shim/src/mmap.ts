/**
 * CPU mappings of simulated buffers. A program's `mmap` of a GEM offset on a DRM fd, or of a
 * dma-buf fd, maps a shared file the server keeps in step with the buffer's pages: what the
 * program wrote is copied into the simulation before every forwarded call, what the simulation
 * wrote is copied out before every reply — coherent at every forwarded call, and so at every
 * `DMA_BUF_IOCTL_SYNC`. Only pages that changed since the last exchange move, in each direction.
 *
 * Which buffer an offset names is the resolver's business (`ShimMmapResolver`), so the server does
 * not depend on how GEM offsets are managed; `defaultMmapResolver` finds GEM objects by
 * `drmGemMmapOffset` among the file's handles and dma-bufs by their exporter's object.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { DmaBuf } from "@drmsim/dma-buf";
import type { DrmFile } from "@drmsim/drm";
import { drmGemMmapOffset } from "@drmsim/drm";
import { DrmGemObject, DrmGemShmemObject } from "@drmsim/gem";
import { type File, KernelError } from "@drmsim/runtime";

const PAGE = 4096;

/** The bytes of a buffer, as the simulation holds them. */
export interface ShimBufferPages {
  /** Identity: two mappings of one buffer share one file. */
  readonly key: object;
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
  write(offset: number, bytes: Uint8Array): void;
  /** Takes and drops the reference a mapping holds (`drm_gem_vm_open`/`close`). */
  get(): void;
  put(): void;
}

/** Finds the buffer `mmap(fd, offset)` maps; `EINVAL`/`EACCES` as the kernel's mmap would. */
export interface ShimMmapResolver {
  resolve(file: File, offset: bigint, length: number): { pages: ShimBufferPages; start: number };
}

function pagesOfObject(obj: DrmGemObject): ShimBufferPages {
  let target: DrmGemObject = obj;
  // An imported object's pages are its exporter's.
  const exp = obj.importAttach?.dmabuf.priv;
  if (exp instanceof DrmGemObject) target = exp;
  if (!(target instanceof DrmGemShmemObject))
    throw new KernelError("EINVAL", `${obj.label} has no CPU-mappable pages the shim can share`);
  const store = target.store;
  return {
    key: target,
    size: target.size,
    read: (o, l) => store.read(o, l),
    write: (o, b) => store.write(o, b),
    get: () => target.get(),
    put: () => target.put(),
  };
}

/** GEM offsets among the file's own handles (`drm_vma_node_allow`), dma-bufs by exporter. */
export const defaultMmapResolver: ShimMmapResolver = {
  resolve(file, offset, length) {
    if (file.fops.kind === "drm") {
      const df = file.priv as DrmFile;
      for (const h of df.gem.handles()) {
        const obj = df.gem.peek(h);
        if (obj === undefined) continue;
        const base = BigInt(drmGemMmapOffset(obj.id));
        if (offset >= base && offset + BigInt(length) <= base + BigInt(obj.size))
          return { pages: pagesOfObject(obj), start: Number(offset - base) };
      }
      throw new KernelError("EACCES", `mmap: no object of this file at offset 0x${offset.toString(16)}`);
    }
    if (file.fops.kind === "dma_buf") {
      const buf = file.priv as DmaBuf;
      const obj = buf.priv;
      if (!(obj instanceof DrmGemObject))
        throw new KernelError("EINVAL", "mmap: this dma-buf's exporter has no pages the shim can share");
      if (offset + BigInt(length) > BigInt(buf.size))
        throw new KernelError(
          "EINVAL",
          `mmap of ${length} bytes at ${offset} is beyond the ${buf.size}-byte buffer`,
        );
      return { pages: pagesOfObject(obj), start: Number(offset) };
    }
    throw new KernelError("ENODEV", `mmap: a ${file.fops.kind} cannot be mapped`);
  },
};

interface Mapped {
  readonly pages: ShimBufferPages;
  readonly fd: number;
  readonly path: string;
  /** What both sides agreed on at the last exchange. */
  readonly snap: Uint8Array;
}

/** The shared files of mapped buffers and their exchange. */
export class ShimMappings {
  private readonly byKey = new Map<object, Mapped>();
  private next = 1;

  constructor(
    private readonly dir: string,
    readonly resolver: ShimMmapResolver = defaultMmapResolver,
  ) {}

  /** Maps `length` bytes at `offset` of `file`: the shared file's path and where the range starts in it. */
  map(file: File, offset: bigint, length: number): { path: string; fileOffset: number } {
    const { pages, start } = this.resolver.resolve(file, offset, length);
    let m = this.byKey.get(pages.key);
    if (m === undefined) {
      const p = path.join(this.dir, `buf-${this.next++}`);
      const fd = fs.openSync(p, "w+");
      const snap = pages.read(0, pages.size);
      fs.writeSync(fd, snap, 0, snap.length, 0);
      pages.get();
      m = { pages, fd, path: p, snap };
      this.byKey.set(pages.key, m);
    }
    return { path: m.path, fileOffset: start - (start % PAGE) };
  }

  /** The program's writes into the simulation (before a forwarded call runs). */
  syncIn(): void {
    for (const m of this.byKey.values()) {
      const cur = Buffer.alloc(m.snap.length);
      fs.readSync(m.fd, cur, 0, cur.length, 0);
      eachChangedPage(m.snap, cur, (off, bytes) => {
        m.pages.write(off, bytes);
        m.snap.set(bytes, off);
      });
    }
  }

  /** The simulation's writes out to the program (before a reply). */
  syncOut(): void {
    for (const m of this.byKey.values()) {
      const cur = m.pages.read(0, m.snap.length);
      eachChangedPage(m.snap, cur, (off, bytes) => {
        fs.writeSync(m.fd, bytes, 0, bytes.length, off);
        m.snap.set(bytes, off);
      });
    }
  }

  /** Drops every mapping (the program's processes are gone). */
  closeAll(): void {
    for (const m of this.byKey.values()) {
      fs.closeSync(m.fd);
      fs.rmSync(m.path, { force: true });
      m.pages.put();
    }
    this.byKey.clear();
  }

  get size(): number {
    return this.byKey.size;
  }
}

function eachChangedPage(a: Uint8Array, b: Uint8Array, fn: (off: number, bytes: Uint8Array) => void): void {
  for (let off = 0; off < a.length; off += PAGE) {
    const end = Math.min(off + PAGE, a.length);
    if (Buffer.compare(a.subarray(off, end), b.subarray(off, end)) !== 0) fn(off, b.slice(off, end));
  }
}
