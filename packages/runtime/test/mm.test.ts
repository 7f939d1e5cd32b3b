/** A process's address space: anonymous memory, file mappings through `vm_ops`, munmap and exit. */
import { describe, expect, it } from "vitest";
import {
  File,
  type FileOperations,
  isKernelError,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  MemRegion,
  O_RDONLY,
  O_WRONLY,
  PROT_READ,
  PROT_WRITE,
  Process,
  registerCharDevice,
  Simulator,
  SparseBytes,
  type VmArea,
} from "../src/index.js";

async function errno(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (isKernelError(e)) return e.code;
    throw e;
  }
  return "ok";
}

/** A device whose file maps a 4-page store and counts the closes of its mappings. */
function device(sim: Simulator, mode = 2) {
  const store = new SparseBytes(4 * 4096);
  const seen: { vmas: VmArea[]; closes: number; released: boolean } = {
    vmas: [],
    closes: 0,
    released: false,
  };
  const fops: FileOperations<null> = {
    kind: "blob",
    mmap(_f, vma) {
      seen.vmas.push(vma);
      vma.vmOps = {
        read: (o, l) => store.read(o, l),
        write: (o, b) => store.write(o, b),
        close: () => seen.closes++,
      };
    },
    release() {
      seen.released = true;
    },
  };
  registerCharDevice(sim, "/dev/blob", () => new File(sim, fops, null, mode, "/dev/blob"));
  return { store, seen };
}

describe("mm: anonymous memory", () => {
  it("reads zeros until written; writes land at the address; pages are allocated lazily", async () => {
    const sim = new Simulator();
    const p = new Process(sim, "app");
    const m = await sim.exec("app", () =>
      p.mmap(-1, 0, 2 ** 34, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS),
    );
    expect(m.length).toBe(2 ** 34);
    expect(m.anonymous).toBe(true);
    expect(Array.from(p.readMemory(m.addr + 100, 4))).toEqual([0, 0, 0, 0]);
    p.writeMemory(m.addr + 2 ** 34 - 2, Uint8Array.of(7, 8));
    expect(Array.from(m.read(2 ** 34 - 2, 2))).toEqual([7, 8]);
    const region = p.mm.userRegion(m.addr + 2 ** 34 - 2, 2, true);
    expect(Array.from(region.read())).toEqual([7, 8]);
    region.write(Uint8Array.of(1, 2));
    expect(Array.from(p.readMemory(m.addr + 2 ** 34 - 2, 2))).toEqual([1, 2]);
  });

  it("faults (EFAULT) outside a mapping, after munmap and without the protection; mappings never overlap", async () => {
    const sim = new Simulator();
    const p = new Process(sim, "app");
    const [ro, rw] = await sim.exec("app", async () => [
      await p.mmap(-1, 0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS),
      await p.mmap(-1, 0, 100, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS),
    ]);
    expect(rw.length).toBe(4096);
    expect(rw.addr + rw.length <= ro.addr || ro.addr + ro.length <= rw.addr).toBe(true);
    expect(await errno(() => ro.write(0, Uint8Array.of(1)))).toBe("EFAULT");
    expect(await errno(() => rw.read(4095, 2))).toBe("EFAULT");
    expect(await errno(() => p.readMemory(rw.addr + rw.length, 1))).toBe("EFAULT");
    expect(await errno(() => p.mm.userRegion(ro.addr, 8, true))).toBe("EFAULT");
    p.munmap(rw);
    expect(rw.mapped).toBe(false);
    expect(await errno(() => rw.read(0, 1))).toBe("EFAULT");
    expect(await errno(() => p.munmap(rw))).toBe("EINVAL");
  });

  it("refuses bad requests with EINVAL and maps nothing", async () => {
    const sim = new Simulator();
    const p = new Process(sim, "app");
    await sim.exec("app", async () => {
      expect(await errno(p.mmap(-1, 0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS))).toBe("EINVAL");
      expect(await errno(p.mmap(-1, 0, 4096, PROT_READ, MAP_ANONYMOUS))).toBe("EINVAL");
      expect(await errno(p.mmap(-1, 0, 4096, PROT_READ, MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS))).toBe(
        "EINVAL",
      );
      expect(await errno(p.mmap(-1, 0, 4096, 0x80, MAP_PRIVATE | MAP_ANONYMOUS))).toBe("EINVAL");
    });
    expect(p.mm.mappings).toEqual([]);
  });
});

describe("mm: file mappings", () => {
  it("go through the file's vm_ops at vm_pgoff, hold the file past close(fd), and close at munmap", async () => {
    const sim = new Simulator();
    const { store, seen } = device(sim);
    const p = new Process(sim, "app");
    const m = await sim.exec("app", async () => {
      const fd = await p.open("/dev/blob");
      const m = await p.mmap(fd, 4096n, 8192, PROT_READ | PROT_WRITE);
      p.close(fd);
      return m;
    });
    expect(seen.vmas[0]).toMatchObject({
      length: 8192,
      pgoff: 1,
      prot: PROT_READ | PROT_WRITE,
      flags: MAP_SHARED,
    });
    m.write(10, Uint8Array.of(5, 6));
    expect(Array.from(store.read(4096 + 10, 2))).toEqual([5, 6]);
    store.write(4096 + 8191, Uint8Array.of(9));
    expect(Array.from(p.readMemory(m.addr + 8191, 1))).toEqual([9]);
    expect(seen.released).toBe(false); // the mapping holds the file
    p.munmap(m);
    expect(seen.closes).toBe(1);
    expect(seen.released).toBe(true);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("EACCES against the file's open mode, ENODEV for a file without mmap, EBADF for a closed fd; exit unmaps", async () => {
    const sim = new Simulator();
    const ro = new Simulator();
    const { seen } = device(sim, O_RDONLY);
    device(ro, O_WRONLY);
    const p = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await p.open("/dev/blob");
      expect(await errno(p.mmap(fd, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED))).toBe("EACCES");
      const m = await p.mmap(fd, 0, 4096, PROT_READ, MAP_SHARED);
      expect(await errno(p.mmap(99, 0, 4096, PROT_READ))).toBe("EBADF");
      expect(await errno(p.mmap(fd, 100, 4096, PROT_READ))).toBe("EINVAL");
      p.close(fd);
      expect(m.mapped).toBe(true);
    });
    const q = new Process(ro, "writer");
    await ro.exec("writer", async () => {
      const fd = await q.open("/dev/blob");
      expect(await errno(q.mmap(fd, 0, 4096, PROT_READ))).toBe("EACCES");
    });
    registerCharDevice(sim, "/dev/plain", () => new File(sim, { kind: "plain" }, null, 2, "/dev/plain"));
    await sim.exec("app", async () => {
      const fd = await p.open("/dev/plain");
      expect(await errno(p.mmap(fd, 0, 4096, PROT_READ))).toBe("ENODEV");
    });
    p.exit();
    expect(seen.closes).toBe(1);
    expect(seen.released).toBe(true);
    q.exit();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("MemRegion", () => {
  it("reads and writes scattered pieces in order; refuses a write of the wrong length; runs its guard first", () => {
    const a = new SparseBytes(8192);
    const b = new SparseBytes(8192);
    let gone = false;
    const r = new MemRegion(
      [
        { store: a, offset: 4094, length: 2 },
        { store: b, offset: 0, length: 3 },
      ],
      () => {
        if (gone) throw new Error("gone");
      },
    );
    r.write(Uint8Array.of(1, 2, 3, 4, 5));
    expect(Array.from(a.read(4094, 2))).toEqual([1, 2]);
    expect(Array.from(b.read(0, 3))).toEqual([3, 4, 5]);
    expect(Array.from(r.read())).toEqual([1, 2, 3, 4, 5]);
    expect(() => r.write(Uint8Array.of(1))).toThrow(/EINVAL/);
    gone = true;
    expect(() => r.read()).toThrow(/gone/);
    expect(a.residentBytes + b.residentBytes).toBe(8192);
    a.clear();
    expect(Array.from(a.read(4094, 2))).toEqual([0, 0]);
    expect(() => a.read(8190, 4)).toThrow(/EINVAL/);
  });
});
