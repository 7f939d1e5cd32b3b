/**
 * One userspace "agent" per driver for the contents suites: each allocates a buffer on its
 * device, exports it, imports another's, writes bytes into a buffer with its own engine and reads
 * them back with its own engine — all through the drivers' userspace libraries and uAPI, so what
 * a test checks is what the device's DMA reached, not a kernel-side peek.
 *
 * How each device writes and reads (the drmsim job extensions; see each driver's memory module):
 * - vgem has no engine: the CPU writes and reads its own buffers through the dumb buffer's fake
 *   mmap offset (`MODE_MAP_DUMB` + `mmap`), and an import through its dma-buf fd (the kernel
 *   refuses `MAP_DUMB` of an imported object), with `DMA_BUF_IOCTL_SYNC` around the access.
 * - amdgpu: a gfx IB with `fill`, and a read is an IB `copy` into a private GTT BO the CPU maps
 *   through its dma-buf fd (`mmap` + `DMA_BUF_IOCTL_SYNC`).
 * - asahi: every buffer it allocates or imports is bound into its VM (as Mesa binds what it uses);
 *   a render command with `fill` at the buffer's GPU address, and a compute command's `copy` into
 *   a private buffer, read the same way.
 * - habanalabs: a DMA-queue job with `fill` at a device VA, and a `copy` job into a private
 *   allocation whose export the CPU maps. habanalabs has no PRIME import: `import` is undefined.
 */
import { AMDGPU_GEM_DOMAIN_GTT, AMDGPU_GEM_DOMAIN_VRAM, AMDGPU_HW_IP_GFX } from "@drmsim/amdgpu";
import {
  amdgpuBoAlloc,
  amdgpuCsChunkBoList,
  amdgpuCsChunkIb,
  amdgpuCsCtxCreate2,
  amdgpuCsQueryFenceStatus,
  amdgpuCsSubmitRaw2,
} from "@drmsim/amdgpu/user";
import { ASAHI_PAGE_SIZE, DRM_ASAHI_BIND_READ, DRM_ASAHI_BIND_WRITE } from "@drmsim/asahi";
import {
  agxBoCreate,
  agxComputeCommand,
  agxOpenContext,
  agxRenderCommand,
  agxSubmit,
  agxSyncobj,
  agxVmBind,
} from "@drmsim/asahi/user";
import {
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_START,
  DMA_BUF_SYNC_WRITE,
} from "@drmsim/dma-buf";
import {
  drmModeCreateDumbBuffer,
  drmModeMapDumbBuffer,
  drmPrimeFDToHandle,
  drmPrimeHandleToFD,
  drmSyncobjCreate,
  drmSyncobjDestroy,
  drmSyncobjWait,
} from "@drmsim/drm";
import {
  hlthunkCommandSubmission,
  hlthunkDeviceMappedMemoryExportDmabufFd,
  hlthunkDeviceMemoryAlloc,
  hlthunkDeviceMemoryMap,
  hlthunkRequestCommandBuffer,
  hlthunkWaitForCs,
} from "@drmsim/habanalabs/user";
import { O_CLOEXEC, O_RDWR, PROT_READ, PROT_WRITE, type Process } from "@drmsim/runtime";
import { FOREVER } from "./userspace.js";

/** The drivers an agent can drive. */
export type AgentKind = "vgem" | "asahi" | "amdgpu" | "habanalabs";

/** A buffer as its agent names it: a GEM handle, or (habanalabs) a device VA. */
export interface AgentBuf {
  readonly name: number;
  readonly size: number;
  /** vgem's imports: the dma-buf fd the CPU reaches them through (the kernel refuses MAP_DUMB of an import). */
  readonly dmabuf?: number;
}

/** A process driving one device through its userspace library. */
export interface Agent {
  readonly kind: AgentKind;
  readonly proc: Process;
  /** A new buffer of `size` bytes on the device (zeroed). */
  alloc(size: number): Promise<AgentBuf>;
  /** A dma-buf fd (in `proc`) for `buf`. */
  export(buf: AgentBuf): Promise<number>;
  /**
   * Imports the dma-buf `fd` of `proc`; undefined for a device that cannot import. The fd stays
   * open (vgem reaches its imports through it).
   */
  readonly import?: (fd: number, size: number) => Promise<AgentBuf>;
  /**
   * The device writes `data` at `offset` of `buf`; resolves once the write completed, rejects with
   * the job's error. `hang`: the job never completes (a timeout and a reset end it); vgem's CPU
   * writes cannot hang.
   */
  write(buf: AgentBuf, offset: number, data: Uint8Array, opts?: { hang?: boolean }): Promise<void>;
  /** The device reads `length` bytes at `offset` of `buf` (into its own memory, which the CPU then reads). */
  read(buf: AgentBuf, offset: number, length: number): Promise<Uint8Array>;
}

const PRIME = O_RDWR | O_CLOEXEC;
/** The largest read an agent does at once (the size of its private scratch buffer). */
export const AGENT_SCRATCH = 64 * 1024;

/** The CPU reads a dma-buf fd's bytes through `mmap`, bracketed by `DMA_BUF_IOCTL_SYNC`. */
export async function cpuReadDmaBuf(p: Process, fd: number, size: number, offset: number, length: number) {
  const map = await p.mmap(fd, 0, size, PROT_READ);
  try {
    await p.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ });
    const out = Uint8Array.from(map.read(offset, length));
    await p.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ });
    return out;
  } finally {
    p.munmap(map);
  }
}

/** The CPU writes a dma-buf fd's bytes through `mmap`, bracketed by `DMA_BUF_IOCTL_SYNC`. */
export async function cpuWriteDmaBuf(p: Process, fd: number, size: number, offset: number, data: Uint8Array) {
  const map = await p.mmap(fd, 0, size, PROT_READ | PROT_WRITE);
  try {
    await p.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE });
    map.write(offset, data);
    await p.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE });
  } finally {
    p.munmap(map);
  }
}

/** vgem: the CPU is the only writer, through the GEM object's fake offset. */
export async function vgemAgent(p: Process, path: string): Promise<Agent> {
  const fd = await p.open(path);
  const cpu = async (buf: AgentBuf, prot: number) => {
    const off = await drmModeMapDumbBuffer(p, fd, buf.name);
    return p.mmap(fd, off, buf.size, prot);
  };
  return {
    kind: "vgem",
    proc: p,
    async alloc(size) {
      const b = await drmModeCreateDumbBuffer(p, fd, size / 4, 1, 32);
      return { name: b.handle, size };
    },
    export: (buf) => drmPrimeHandleToFD(p, fd, buf.name, PRIME),
    import: async (dmabuf, size) => ({ name: await drmPrimeFDToHandle(p, fd, dmabuf), size, dmabuf }),
    async write(buf, offset, data) {
      if (buf.dmabuf !== undefined) return cpuWriteDmaBuf(p, buf.dmabuf, buf.size, offset, data);
      const map = await cpu(buf, PROT_READ | PROT_WRITE);
      try {
        map.write(offset, data);
      } finally {
        p.munmap(map);
      }
    },
    async read(buf, offset, length) {
      if (buf.dmabuf !== undefined) return cpuReadDmaBuf(p, buf.dmabuf, buf.size, offset, length);
      const map = await cpu(buf, PROT_READ);
      try {
        return Uint8Array.from(map.read(offset, length));
      } finally {
        p.munmap(map);
      }
    },
  };
}

/** amdgpu: IBs fill and copy; `vram` places new buffers in VRAM (else GTT). */
export async function amdgpuAgent(p: Process, path: string, vram = true): Promise<Agent> {
  const fd = await p.open(path);
  let ctx = await amdgpuCsCtxCreate2(p, fd);
  const scratch = await amdgpuBoAlloc(p, fd, {
    allocSize: AGENT_SCRATCH,
    preferredHeap: AMDGPU_GEM_DOMAIN_GTT,
  });
  const scratchFd = await drmPrimeHandleToFD(p, fd, scratch, PRIME);
  const ib = async (bos: number[], ext: object, hang = false) => {
    const seq = await amdgpuCsSubmitRaw2(p, fd, ctx, [
      amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 20_000, hang, ...ext }),
      amdgpuCsChunkBoList(bos),
    ]);
    try {
      // WAIT_CS returns a failed job's error (the hung one's ECANCELED).
      await amdgpuCsQueryFenceStatus(p, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: seq });
    } finally {
      // A context that caused a hang is refused from then on (ECANCELED): a robust client starts a new one.
      if (hang) ctx = await amdgpuCsCtxCreate2(p, fd);
    }
  };
  return {
    kind: "amdgpu",
    proc: p,
    async alloc(size) {
      const heap = vram ? AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT : AMDGPU_GEM_DOMAIN_GTT;
      return { name: await amdgpuBoAlloc(p, fd, { allocSize: size, preferredHeap: heap }), size };
    },
    export: (buf) => drmPrimeHandleToFD(p, fd, buf.name, PRIME),
    import: async (dmabuf, size) => ({ name: await drmPrimeFDToHandle(p, fd, dmabuf), size }),
    write: (buf, offset, data, o) =>
      ib([buf.name], { fill: { bo_handle: buf.name, offset, data } }, o?.hang ?? false),
    async read(buf, offset, length) {
      await ib([buf.name, scratch], {
        copy: { src_handle: buf.name, src_offset: offset, dst_handle: scratch, size: length },
      });
      return cpuReadDmaBuf(p, scratchFd, AGENT_SCRATCH, 0, length);
    },
  };
}

/** asahi: a render command fills, a compute command copies, at the GPU addresses it bound. */
export async function asahiAgent(p: Process, path: string): Promise<Agent> {
  const { fd, vm, queue } = await agxOpenContext(p, path);
  // Each buffer's GPU address in the agent's VM, handed out upwards a page apart.
  const vaOf = new Map<number, number>();
  let nextVa = 0x100_0000;
  const bind = async (handle: number, size: number) => {
    const range = Math.ceil(size / ASAHI_PAGE_SIZE) * ASAHI_PAGE_SIZE;
    const addr = nextVa;
    nextVa += range + ASAHI_PAGE_SIZE;
    await agxVmBind(p, fd, vm, [
      { flags: DRM_ASAHI_BIND_READ | DRM_ASAHI_BIND_WRITE, handle, offset: 0, range, addr },
    ]);
    vaOf.set(handle, addr);
    return handle;
  };
  const scratch = await bind(await agxBoCreate(p, fd, AGENT_SCRATCH), AGENT_SCRATCH);
  const scratchFd = await drmPrimeHandleToFD(p, fd, scratch, PRIME);
  const submit = async (cmd: ReturnType<typeof agxRenderCommand>) => {
    const done = await drmSyncobjCreate(p, fd);
    try {
      await agxSubmit(p, fd, { queue, commands: [cmd], outSyncs: [agxSyncobj(done)] });
      await drmSyncobjWait(p, fd, [done], FOREVER);
    } finally {
      await drmSyncobjDestroy(p, fd, done);
    }
  };
  return {
    kind: "asahi",
    proc: p,
    async alloc(size) {
      return { name: await bind(await agxBoCreate(p, fd, size), size), size };
    },
    export: (buf) => drmPrimeHandleToFD(p, fd, buf.name, PRIME),
    import: async (dmabuf, size) => ({
      name: await bind(await drmPrimeFDToHandle(p, fd, dmabuf), size),
      size,
    }),
    write: (buf, offset, data, o) =>
      submit(
        agxRenderCommand({
          vertex_ns: 10_000,
          fragment_ns: 10_000,
          ...(o?.hang ? { hang: true } : {}),
          fill: { addr: vaOf.get(buf.name)! + offset, data },
        }),
      ),
    async read(buf, offset, length) {
      await submit(
        agxComputeCommand({
          copy: { src_addr: vaOf.get(buf.name)! + offset, dst_addr: vaOf.get(scratch)!, size: length },
        }),
      );
      return cpuReadDmaBuf(p, scratchFd, AGENT_SCRATCH, 0, length);
    },
  };
}

/** habanalabs: DMA-queue jobs fill and copy device memory by VA; it imports nothing. */
export async function habanalabsAgent(p: Process, path: string): Promise<Agent> {
  const fd = await p.open(path);
  const cb = await hlthunkRequestCommandBuffer(p, fd, 4096);
  const map = async (size: number) =>
    hlthunkDeviceMemoryMap(p, fd, await hlthunkDeviceMemoryAlloc(p, fd, size));
  const scratch = await map(AGENT_SCRATCH);
  const scratchFd = await hlthunkDeviceMappedMemoryExportDmabufFd(p, fd, scratch, AGENT_SCRATCH);
  const job = async (ext: object) => {
    const { seq } = await hlthunkCommandSubmission(p, fd, [
      { queue_index: 0, cb_handle: cb, cb_size: 64, ...ext },
    ]);
    await hlthunkWaitForCs(p, fd, seq ?? 0n, 1_000_000_000);
  };
  return {
    kind: "habanalabs",
    proc: p,
    async alloc(size) {
      return { name: await map(size), size };
    },
    export: (buf) => hlthunkDeviceMappedMemoryExportDmabufFd(p, fd, buf.name, buf.size),
    write: (buf, offset, data, o) =>
      job({ fill: { addr: buf.name + offset, data }, ...(o?.hang ? { hang: true } : {}) }),
    async read(buf, offset, length) {
      await job({ copy: { src_addr: buf.name + offset, dst_addr: scratch, size: length } });
      return cpuReadDmaBuf(p, scratchFd, AGENT_SCRATCH, 0, length);
    },
  };
}
