/**
 * A process's address space (`struct mm_struct` and its `vm_area_struct`s, `mm/mmap.c`):
 * anonymous memory and mappings of files — a GEM object through its fake offset on a DRM node, a
 * dma-buf fd — that the CPU reads and writes.
 *
 * A file's `mmap` op (`FileOperations.mmap`) checks the request and sets `vma.vmOps`, the
 * `vm_operations_struct` every access of the mapping goes through (the page-fault path reduced to
 * the access itself). Offsets given to `vmOps` are bytes into the mapped object: `vma.pgoff` pages
 * (as the op left it) plus the offset into the mapping. A mapping holds a reference to its file
 * until `munmap` or exit, so a mapped dma-buf outlives a closed fd, as in the kernel.
 *
 * Deviations: addresses are handed out top-down from `MMAP_BASE` without reuse; `munmap` removes
 * whole mappings only; `MAP_PRIVATE` file mappings get no copy-on-write (GPU buffers refuse them,
 * as TTM and the shmem helper do); no `MAP_FIXED`.
 */
import { type MemPiece, MemRegion, SparseBytes } from "../byte-store.js";
import { KernelError } from "../errno.js";
import type { File } from "./file.js";

/** `PROT_NONE`. */
export const PROT_NONE = 0x0;
/** `PROT_READ`. */
export const PROT_READ = 0x1;
/** `PROT_WRITE`. */
export const PROT_WRITE = 0x2;
/** `PROT_EXEC`. */
export const PROT_EXEC = 0x4;
/** `MAP_SHARED`. */
export const MAP_SHARED = 0x01;
/** `MAP_PRIVATE`. */
export const MAP_PRIVATE = 0x02;
/** `MAP_ANONYMOUS`. */
export const MAP_ANONYMOUS = 0x20;

const PAGE = 4096;
/** Where the top-down allocation of mapping addresses starts (`mm->mmap_base`). */
export const MMAP_BASE = 0x7f00_0000_0000;

/**
 * `struct vm_operations_struct`, reduced to what an access needs: the fault path's answer is the
 * bytes themselves. Offsets are bytes into the mapped object (see the module comment).
 */
export interface VmOperations {
  /** Reads `length` bytes at `offset`. Throws (`EFAULT`: SIGBUS) when the memory is gone. */
  read(offset: number, length: number): Uint8Array;
  /** Writes `bytes` at `offset`. */
  write(offset: number, bytes: Uint8Array): void;
  /** `close`: the mapping is going away (munmap, exit). */
  close?(): void;
}

/** `struct vm_area_struct` as a file's `mmap` op sees it. */
export interface VmArea {
  /** Length of the mapping in bytes (a page multiple). */
  length: number;
  /** `vma->vm_pgoff`: the first page of the file mapped; an op may rebase it (DRM's fake offsets). */
  pgoff: number;
  /** `PROT_*` bits. */
  prot?: number;
  /** `MAP_SHARED` or `MAP_PRIVATE`. */
  flags?: number;
  /** `vma->vm_ops`: set by the file's `mmap` op; every access of the mapping goes through it. */
  vmOps?: VmOperations;
}

/** The anonymous memory behind an anonymous mapping (`vma_is_anonymous`). */
class AnonOps implements VmOperations {
  readonly bytes: SparseBytes;
  constructor(length: number) {
    this.bytes = new SparseBytes(length);
  }
  read(offset: number, length: number): Uint8Array {
    return this.bytes.read(offset, length);
  }
  write(offset: number, bytes: Uint8Array): void {
    this.bytes.write(offset, bytes);
  }
}

/**
 * One mapping of a process (`struct vm_area_struct`), as `Process.mmap` returns it: reads and
 * writes at offsets from its start go to the backing store. An access outside the mapping, after
 * `munmap`, or without the protection for it is `EFAULT` (the SIGSEGV/SIGBUS userspace would get).
 */
export class VmMapping {
  private live = true;

  /** @internal Use `Process.mmap`. */
  constructor(
    /** The start address. */
    readonly addr: number,
    /** Length in bytes (a page multiple). */
    readonly length: number,
    /** `PROT_*`. */
    readonly prot: number,
    /** `MAP_*`. */
    readonly flags: number,
    /** `vma->vm_file` (a reference held while mapped), null for anonymous memory. */
    readonly file: File | null,
    /** @internal */
    readonly vma: VmArea,
  ) {}

  /** True until `munmap` (or exit). */
  get mapped(): boolean {
    return this.live;
  }

  /** True for anonymous memory. */
  get anonymous(): boolean {
    return this.vma.vmOps instanceof AnonOps;
  }

  /** A CPU load of `length` bytes at `offset` into the mapping. */
  read(offset: number, length: number): Uint8Array {
    this.check(offset, length, PROT_READ, "read");
    return this.ops().read(this.vma.pgoff * PAGE + offset, length);
  }

  /** A CPU store of `bytes` at `offset` into the mapping. */
  write(offset: number, bytes: Uint8Array): void {
    this.check(offset, bytes.length, PROT_WRITE, "write");
    this.ops().write(this.vma.pgoff * PAGE + offset, bytes);
  }

  toString(): string {
    const what = this.file === null ? "anonymous" : this.file.name;
    return `mapping 0x${this.addr.toString(16)}+${this.length} (${what})`;
  }

  /** @internal munmap / exit_mmap. */
  unmap(): void {
    if (!this.live) return;
    this.live = false;
    try {
      this.vma.vmOps?.close?.();
    } finally {
      this.file?.put();
    }
  }

  /** @internal The anonymous pages, for pinning user memory (`hmm_range_fault`). */
  anonPiece(offset: number, length: number): MemPiece | undefined {
    const ops = this.vma.vmOps;
    return ops instanceof AnonOps ? { store: ops.bytes, offset, length } : undefined;
  }

  private ops(): VmOperations {
    const ops = this.vma.vmOps;
    if (ops === undefined)
      throw new KernelError("EFAULT", `${this}: the file's mmap set up no fault handler (SIGBUS)`);
    return ops;
  }

  private check(offset: number, length: number, prot: number, op: string): void {
    if (!this.live) throw new KernelError("EFAULT", `${op} through ${this} after munmap (SIGSEGV)`);
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > this.length
    )
      throw new KernelError("EFAULT", `${op} of ${length} bytes at ${offset} is outside ${this} (SIGSEGV)`);
    if ((this.prot & prot) === 0)
      throw new KernelError(
        "EFAULT",
        `${op} through ${this}, mapped without PROT_${prot === PROT_READ ? "READ" : "WRITE"} (SIGSEGV)`,
      );
  }
}

/** `struct mm_struct`: a process's mappings. */
export class MmStruct {
  /** Live mappings, by address. */
  private readonly maps: VmMapping[] = [];
  private next = MMAP_BASE;

  /** The live mappings, ascending by address. */
  get mappings(): readonly VmMapping[] {
    return this.maps;
  }

  /**
   * @internal `get_unmapped_area` + `mmap_region`: a new anonymous mapping, or a file's once its
   * `mmap` op succeeded.
   */
  insert(length: number, prot: number, flags: number, file: File | null, vma: VmArea): VmMapping {
    if (file === null) vma.vmOps = new AnonOps(length);
    this.next -= length + PAGE; // a guard page between mappings
    const m = new VmMapping(this.next, length, prot, flags, file, vma);
    const i = this.maps.findIndex((x) => x.addr > m.addr);
    this.maps.splice(i < 0 ? this.maps.length : i, 0, m);
    return m;
  }

  /** The mapping containing `addr`, or undefined. */
  find(addr: number): VmMapping | undefined {
    return this.maps.find((m) => addr >= m.addr && addr < m.addr + m.length);
  }

  /** `munmap` of a whole mapping; `EINVAL` for one that is not (or no longer) in this address space. */
  remove(m: VmMapping): void {
    const i = this.maps.indexOf(m);
    if (i < 0) throw new KernelError("EINVAL", `munmap of ${m}, which is not mapped in this process`);
    this.maps.splice(i, 1);
    m.unmap();
  }

  /** `exit_mmap`: every mapping goes, in address order. */
  exitMmap(): void {
    for (const m of this.maps.splice(0)) m.unmap();
  }

  /** A CPU load from `[addr, addr + length)`, across mappings. `EFAULT` for an unmapped byte. */
  read(addr: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.walk(addr, length, "read", (m, off, n, at) => out.set(m.read(off, n), at));
    return out;
  }

  /** A CPU store of `bytes` at `addr`, across mappings. `EFAULT` for an unmapped byte. */
  write(addr: number, bytes: Uint8Array): void {
    this.walk(addr, bytes.length, "write", (m, off, n, at) => m.write(off, bytes.subarray(at, at + n)));
  }

  /**
   * `hmm_range_fault` for a device: the anonymous pages behind `[addr, addr + length)` as one
   * region a device can read and write. `EFAULT` if a byte is unmapped, is not anonymous memory
   * (a device mapping: `VM_IO | VM_PFNMAP`), or lacks write permission when `write` is asked.
   */
  userRegion(addr: number, length: number, write: boolean): MemRegion {
    const pieces: MemPiece[] = [];
    this.walk(addr, length, "hmm_range_fault", (m, off, n) => {
      const piece = m.anonPiece(off, n);
      if (piece === undefined)
        throw new KernelError(
          "EFAULT",
          `hmm_range_fault: 0x${(m.addr + off).toString(16)} is in ${m}, not anonymous memory`,
        );
      if (write && (m.prot & PROT_WRITE) === 0)
        throw new KernelError("EFAULT", `hmm_range_fault: ${m} is not writable`);
      pieces.push(piece);
    });
    return new MemRegion(pieces);
  }

  private walk(
    addr: number,
    length: number,
    op: string,
    fn: (m: VmMapping, offset: number, n: number, at: number) => void,
  ): void {
    if (!Number.isSafeInteger(addr) || !Number.isSafeInteger(length) || addr < 0 || length < 0)
      throw new KernelError("EFAULT", `${op} of ${length} bytes at 0x${addr.toString(16)}: bad range`);
    let at = 0;
    while (at < length) {
      const a = addr + at;
      const m = this.find(a);
      if (m === undefined)
        throw new KernelError("EFAULT", `${op} at 0x${a.toString(16)}: no mapping there (SIGSEGV)`);
      const n = Math.min(length - at, m.addr + m.length - a);
      fn(m, a - m.addr, n, at);
      at += n;
    }
  }
}
