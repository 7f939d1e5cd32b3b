/**
 * CPU mappings of simulated buffers. A program's `mmap` of a simulated fd is the simulation's own
 * `Process.mmap` — `drm_gem_mmap` through the device's `drm_vma_offset_manager` for a GEM offset
 * on a DRM fd, `dma_buf_mmap` for a dma-buf, with their permission checks and errors — and the
 * program maps a shared file the server keeps in step with that mapping's bytes: what the program
 * wrote is copied into the simulated mapping before every forwarded call, what the simulation
 * wrote is copied out before every reply — coherent at every forwarded call, and so at every
 * `DMA_BUF_IOCTL_SYNC`. Only pages that changed since the last exchange move, in each direction.
 * A mapping lives as long as its process (the kernel's `exit_mmap`), not until `munmap`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { MAP_SHARED, type Process, type VmMapping } from "@drmsim/runtime";

const PAGE = 4096;

interface Mapped {
  readonly proc: Process;
  readonly mapping: VmMapping;
  readonly fd: number;
  readonly path: string;
  /** What both sides agreed on at the last exchange. */
  readonly snap: Uint8Array;
}

/** The shared files of mapped buffers and their exchange. */
export class ShimMappings {
  private readonly maps = new Set<Mapped>();
  private next = 1;

  constructor(private readonly dir: string) {}

  /**
   * `mmap(fd, offset, length, prot)` in `proc` (`MAP_SHARED`): the shared file's path the program
   * maps instead. Errors are `Process.mmap`'s.
   */
  async map(proc: Process, fd: number, offset: bigint, length: number, prot: number): Promise<string> {
    const mapping = await proc.mmap(fd, offset, length, prot, MAP_SHARED);
    const p = path.join(this.dir, `buf-${this.next++}`);
    const file = fs.openSync(p, "w+");
    const snap = proc.readMemory(mapping.addr, mapping.length);
    fs.writeSync(file, snap, 0, snap.length, 0);
    this.maps.add({ proc, mapping, fd: file, path: p, snap });
    return p;
  }

  /** The program's writes into the simulation (before a forwarded call runs). */
  syncIn(): void {
    for (const m of this.maps) {
      if (m.proc.exited) continue;
      const cur = Buffer.alloc(m.snap.length);
      fs.readSync(m.fd, cur, 0, cur.length, 0);
      eachChangedPage(m.snap, cur, (off, bytes) => {
        m.proc.writeMemory(m.mapping.addr + off, bytes);
        m.snap.set(bytes, off);
      });
    }
  }

  /** The simulation's writes out to the program (before a reply). */
  syncOut(): void {
    for (const m of this.maps) {
      if (m.proc.exited) continue;
      const cur = m.proc.readMemory(m.mapping.addr, m.snap.length);
      eachChangedPage(m.snap, cur, (off, bytes) => {
        fs.writeSync(m.fd, bytes, 0, bytes.length, off);
        m.snap.set(bytes, off);
      });
    }
  }

  /** Forgets `proc`'s mappings (its exit unmaps them in the simulation). */
  dropProcess(proc: Process): void {
    for (const m of this.maps)
      if (m.proc === proc) {
        this.release(m);
        this.maps.delete(m);
      }
  }

  /** Drops every mapping (the server is closing). */
  closeAll(): void {
    for (const m of this.maps) {
      if (!m.proc.exited) m.proc.munmap(m.mapping);
      this.release(m);
    }
    this.maps.clear();
  }

  private release(m: Mapped): void {
    fs.closeSync(m.fd);
    fs.rmSync(m.path, { force: true });
  }

  get size(): number {
    return this.maps.size;
  }
}

function eachChangedPage(a: Uint8Array, b: Uint8Array, fn: (off: number, bytes: Uint8Array) => void): void {
  for (let off = 0; off < a.length; off += PAGE) {
    const end = Math.min(off + PAGE, a.length);
    if (Buffer.compare(a.subarray(off, end), b.subarray(off, end)) !== 0) fn(off, b.slice(off, end));
  }
}
