/**
 * amdgpu as `@drmsim/testing`'s conformance suite (and `drmsim validate drivers/amdgpu`) drives it,
 * the way radeonsi does through libdrm_amdgpu (`@drmsim/amdgpu/user`): a client opens the render
 * node and creates a context, and a job is one gfx IB with the buffer in its BO list (amdgpu
 * treats every BO of a submission as written, which the suite accepts for reads). Every ioctl is
 * called valid, then corrupted: the pads and flags the suite derives from the structs, and the
 * unknown ids and bad values `amdgpu_cs.c`, `amdgpu_ctx.c`, `amdgpu_gem.c` and `amdgpu_userq.c`
 * refuse (`EINVAL` for an unknown context, IP or op — the kernel's answer there —, `ENOENT` for
 * an unknown GEM handle). A plain object of the suite's `ConformanceDriver` shape: the driver does
 * not depend on the test package. There is no kernel counterpart.
 */
import type { DrmDevice, DrmPluginHost } from "@drmsim/drm";
import { drmSyncobjCreate } from "@drmsim/drm";
import type { Process } from "@drmsim/runtime";
import {
  AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ,
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_USERPTR_ANONONLY,
  AMDGPU_GEM_USERPTR_REGISTER,
  AMDGPU_GEM_USERPTR_VALIDATE,
  AMDGPU_HW_IP_GFX,
  AMDGPU_VA_OP_MAP,
  DRM_IOCTL_AMDGPU_GEM_MMAP,
} from "./amdgpu-drm.js";
import { amdgpuProbe } from "./amdgpu-drv.js";
import {
  AMDGPU_VM_PAGE_RWX,
  amdgpuBoAlloc,
  amdgpuBoListCreateRaw,
  amdgpuBoSetMetadata,
  amdgpuBoSetPlacement,
  amdgpuBoVaOpRaw,
  amdgpuBoWaitForIdle,
  amdgpuCreateBoFromUserMem,
  amdgpuCreateUserqueue,
  amdgpuCsChunkBoList,
  amdgpuCsChunkIb,
  amdgpuCsChunkSyncobjOut,
  amdgpuCsCtxCreate2,
  amdgpuCsFenceToHandle,
  amdgpuCsQueryFenceStatus,
  amdgpuCsSubmitRaw2,
  amdgpuCsWaitFences,
  amdgpuListHandles,
  amdgpuQueryDevInfo,
  amdgpuUserqDoorbell,
  amdgpuVmReserveVmid,
} from "./user/index.js";

/** What the suite hands each call: a process with the render node open. */
interface Work {
  readonly device: DrmDevice;
  readonly proc: Process;
  readonly fd: number;
}
type Ids = Readonly<Record<string, number>>;
/** An ioctl argument as the valid call passed it, to corrupt in place. */
// biome-ignore lint/suspicious/noExplicitAny: a copy of any of amdgpu's ioctl arguments.
type Arg = any;

/** A GPU address in the low VA range for GEM_VA. */
const VA = 0x1_0000_0000;

/** A page-aligned address in the client's (unmodelled) address space for userptr BOs. */
const USERPTR_ADDR = 0x7f00_0000_0000;

/** Each file's context, made on its first submit (radeonsi makes one per GL/VK context). */
const contexts = new WeakMap<Process, Map<number, number>>();

async function contextOf({ proc, fd }: Work): Promise<number> {
  let byFd = contexts.get(proc);
  if (byFd === undefined) {
    byFd = new Map();
    contexts.set(proc, byFd);
  }
  let ctx = byFd.get(fd);
  if (ctx === undefined) {
    ctx = await amdgpuCsCtxCreate2(proc, fd);
    byFd.set(fd, ctx);
  }
  return ctx;
}

/** One gfx IB of 1 ms using `bos`, signalling `out` syncobjs. */
function gfxJob(proc: Process, fd: number, ctx: number, bos: number[], out: number[] = []): Promise<number> {
  const chunks = [
    amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1_000_000 }),
    amdgpuCsChunkBoList(bos),
  ];
  if (out.length > 0) chunks.push(amdgpuCsChunkSyncobjOut(out));
  return amdgpuCsSubmitRaw2(proc, fd, ctx, chunks);
}

/** The conformance description of amdgpu. */
export const driver = {
  name: "amdgpu",
  probe: (host: DrmPluginHost) => amdgpuProbe(host),
  /** radeonsi opens the render node. */
  node: (device: DrmDevice) => device.render!.path,
  createBuffer: ({ proc, fd }: Work, size: number) =>
    amdgpuBoAlloc(proc, fd, { allocSize: size, preferredHeap: AMDGPU_GEM_DOMAIN_GTT }),
  async submit(work: Work, job: { handle: number; write: boolean }): Promise<void> {
    await gfxJob(work.proc, work.fd, await contextOf(work), [job.handle]);
  },
  /** A context, a GTT buffer and a binary syncobj for submissions to signal. */
  async setup({ proc, fd }: Work): Promise<Record<string, number>> {
    return {
      ctx: await amdgpuCsCtxCreate2(proc, fd),
      bo: await amdgpuBoAlloc(proc, fd, { allocSize: 65536, preferredHeap: AMDGPU_GEM_DOMAIN_GTT }),
      syncobj: await drmSyncobjCreate(proc, fd),
    };
  },
  ioctls: [
    {
      name: "AMDGPU_GEM_CREATE",
      call: ({ proc, fd }: Work) =>
        amdgpuBoAlloc(proc, fd, { allocSize: 65536, preferredHeap: AMDGPU_GEM_DOMAIN_GTT }),
      invalid: [
        {
          what: "bo_size 0",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.bo_size = 0;
          },
        },
        {
          what: "an undefined domain bit",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.domains = 0x80;
          },
        },
      ],
    },
    {
      name: "AMDGPU_CTX",
      call: ({ proc, fd }: Work) => amdgpuCsCtxCreate2(proc, fd),
      invalid: [
        {
          what: "an unknown op",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.op = 99;
          },
        },
        {
          what: "non-zero flags",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.flags = 1;
          },
        },
        {
          what: "an unknown priority",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.priority = 12345;
          },
        },
      ],
    },
    {
      name: "AMDGPU_CS",
      call: ({ proc, fd }: Work, ids: Ids) => gfxJob(proc, fd, ids.ctx!, [ids.bo!], [ids.syncobj!]),
      invalid: [
        {
          what: "an unknown context",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.ctx_id = 99;
          },
        },
        {
          what: "an unknown chunk id",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.chunks[0].chunk_id = 0x7f;
          },
        },
        {
          what: "an IB on an unknown IP type",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.chunks[0].chunk_data.ip_type = 99;
          },
        },
        {
          what: "a BO list with an unknown GEM handle",
          errno: "ENOENT",
          corrupt: (a: Arg) => {
            a.in.chunks[1].chunk_data.bo_info_ptr[0].bo_handle = 99;
          },
        },
        {
          what: "an out-syncobj that does not exist",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.chunks[2].chunk_data[0].handle = 99;
          },
        },
      ],
    },
    {
      name: "AMDGPU_WAIT_CS",
      prepare: async ({ proc, fd }: Work, ids: Ids) => ({ seq: await gfxJob(proc, fd, ids.ctx!, [ids.bo!]) }),
      call: ({ proc, fd }: Work, ids: Ids) =>
        amdgpuCsQueryFenceStatus(proc, fd, {
          ctxId: ids.ctx!,
          ipType: AMDGPU_HW_IP_GFX,
          ring: 0,
          fence: ids.seq!,
        }),
      invalid: [
        {
          what: "an unknown context",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.ctx_id = 99;
          },
        },
        {
          what: "an unknown IP type",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.ip_type = 99;
          },
        },
        {
          what: "a sequence number not submitted yet",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.handle = 1000;
          },
        },
      ],
    },
    {
      name: "AMDGPU_GEM_USERPTR",
      call: ({ proc, fd }: Work) =>
        amdgpuCreateBoFromUserMem(
          proc,
          fd,
          USERPTR_ADDR,
          65536,
          AMDGPU_GEM_USERPTR_ANONONLY | AMDGPU_GEM_USERPTR_REGISTER | AMDGPU_GEM_USERPTR_VALIDATE,
        ),
      invalid: [
        {
          what: "an address that is not page aligned",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.addr = USERPTR_ADDR + 16;
          },
        },
        {
          what: "size 0",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.size = 0;
          },
        },
        {
          what: "a writable range without AMDGPU_GEM_USERPTR_REGISTER",
          errno: "EACCES",
          corrupt: (a: Arg) => {
            a.flags = AMDGPU_GEM_USERPTR_ANONONLY;
          },
        },
      ],
    },
    {
      name: "AMDGPU_USERQ",
      call: ({ proc, fd }: Work) => amdgpuCreateUserqueue(proc, fd, AMDGPU_HW_IP_GFX),
      invalid: [
        {
          what: "an unknown op",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.op = 99;
          },
        },
        {
          what: "an unknown IP type",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.ip_type = 99;
          },
        },
        {
          what: "a doorbell handle that is not a doorbell BO",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.doorbell_handle = 99;
          },
        },
      ],
    },
    {
      name: "AMDGPU_SIM_DOORBELL",
      prepare: async ({ proc, fd }: Work) => ({
        queue: await amdgpuCreateUserqueue(proc, fd, AMDGPU_HW_IP_GFX),
      }),
      call: ({ proc, fd }: Work, ids: Ids) => amdgpuUserqDoorbell(proc, fd, ids.queue!, 1_000_000),
      invalid: [
        {
          what: "a doorbell no queue rings",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.doorbell_offset = 99;
          },
        },
      ],
    },
    {
      name: "AMDGPU_INFO",
      call: ({ proc, fd }: Work) => amdgpuQueryDevInfo(proc, fd),
      invalid: [
        {
          what: "an unknown query",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.query = 0x7f;
          },
        },
      ],
    },
    {
      name: "AMDGPU_GEM_MMAP",
      call: ({ proc, fd }: Work, ids: Ids) =>
        proc.ioctl(fd, DRM_IOCTL_AMDGPU_GEM_MMAP, { in: { handle: ids.bo! } }),
      invalid: [
        {
          what: "an unknown GEM handle",
          errno: "ENOENT",
          corrupt: (a: Arg) => {
            a.in.handle = 99;
          },
        },
      ],
    },
    {
      name: "AMDGPU_BO_LIST",
      call: ({ proc, fd }: Work, ids: Ids) => amdgpuBoListCreateRaw(proc, fd, [ids.bo!]),
      invalid: [
        {
          what: "an unknown op",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.operation = 99;
          },
        },
      ],
    },
    {
      name: "AMDGPU_GEM_METADATA",
      call: ({ proc, fd }: Work, ids: Ids) => amdgpuBoSetMetadata(proc, fd, ids.bo!, { tilingInfo: 1n }),
      invalid: [
        {
          what: "an unknown GEM handle",
          errno: "ENOENT",
          corrupt: (a: Arg) => {
            a.handle = 99;
          },
        },
      ],
    },
    {
      name: "AMDGPU_GEM_WAIT_IDLE",
      call: ({ proc, fd }: Work, ids: Ids) => amdgpuBoWaitForIdle(proc, fd, ids.bo!),
      invalid: [
        {
          what: "an unknown GEM handle",
          errno: "ENOENT",
          corrupt: (a: Arg) => {
            a.in.handle = 99;
          },
        },
      ],
    },
    {
      name: "AMDGPU_GEM_VA",
      call: ({ proc, fd }: Work, ids: Ids) =>
        amdgpuBoVaOpRaw(proc, fd, ids.bo!, 0, 65536, VA, AMDGPU_VM_PAGE_RWX, AMDGPU_VA_OP_MAP),
      invalid: [
        {
          what: "an unknown GEM handle",
          errno: "ENOENT",
          corrupt: (a: Arg) => {
            a.handle = 99;
          },
        },
        {
          what: "an unknown operation",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.operation = 99;
          },
        },
      ],
    },
    {
      name: "AMDGPU_GEM_OP",
      call: ({ proc, fd }: Work, ids: Ids) => amdgpuBoSetPlacement(proc, fd, ids.bo!, AMDGPU_GEM_DOMAIN_GTT),
      invalid: [
        {
          what: "an unknown op",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.op = 99;
          },
        },
      ],
    },
    {
      name: "AMDGPU_GEM_LIST_HANDLES",
      call: ({ proc, fd }: Work) => amdgpuListHandles(proc, fd),
    },
    {
      name: "AMDGPU_VM",
      call: ({ proc, fd }: Work) => amdgpuVmReserveVmid(proc, fd),
      invalid: [
        {
          what: "an unknown op",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.op = 99;
          },
        },
      ],
    },
    {
      name: "AMDGPU_WAIT_FENCES",
      prepare: async ({ proc, fd }: Work, ids: Ids) => ({ seq: await gfxJob(proc, fd, ids.ctx!, [ids.bo!]) }),
      call: ({ proc, fd }: Work, ids: Ids) =>
        amdgpuCsWaitFences(
          proc,
          fd,
          [{ ctxId: ids.ctx!, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: ids.seq! }],
          true,
        ),
      invalid: [
        {
          what: "an unknown context",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.fences[0].ctx_id = 99;
          },
        },
      ],
    },
    {
      name: "AMDGPU_FENCE_TO_HANDLE",
      prepare: async ({ proc, fd }: Work, ids: Ids) => ({ seq: await gfxJob(proc, fd, ids.ctx!, [ids.bo!]) }),
      call: ({ proc, fd }: Work, ids: Ids) =>
        amdgpuCsFenceToHandle(
          proc,
          fd,
          { ctxId: ids.ctx!, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: ids.seq! },
          AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ,
        ),
      invalid: [
        {
          what: "an unknown what",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.what = 99;
          },
        },
      ],
    },
  ],
  untested: {
    AMDGPU_SCHED:
      "needs a DRM master and a second file to override; drivers/amdgpu/test/amdgpu-ctx-vm.test.ts covers it",
    AMDGPU_USERQ_SIGNAL:
      "needs a user queue with work written to its ring; drivers/amdgpu/test/amdgpu-userq.test.ts covers it",
    AMDGPU_USERQ_WAIT:
      "needs user-queue fences to wait for; drivers/amdgpu/test/amdgpu-userq.test.ts covers it",
  },
};
