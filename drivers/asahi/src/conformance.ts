/**
 * asahi as `@drmsim/testing`'s conformance suite (and `drmsim validate drivers/asahi`) drives it,
 * the way Mesa's winsys does (`@drmsim/asahi/user`): a client opens the render node, creates a VM
 * and a queue, and a job is one render command whose out-fence goes into the buffer's dma-buf
 * through a sync_file (`DMA_BUF_IOCTL_IMPORT_SYNC_FILE`, as a writer for a write): asahi is
 * explicit-sync only, and Mesa does the implicit sync of shared buffers itself. Every ioctl is called valid, then corrupted: the pads and flags the suite
 * derives from the structs, and the unknown ids and out-of-range values the driver's checks answer
 * (`ENOENT` for an unknown VM, queue, GEM handle or syncobj, `EINVAL` for bad values). A plain
 * object of the suite's `ConformanceDriver` shape: the driver does not depend on the test package.
 * There is no kernel counterpart.
 */
import {
  type DrmDevice,
  type DrmPluginHost,
  drmPrimeHandleToFD,
  drmSyncobjCreate,
  drmSyncobjDestroy,
} from "@drmsim/drm";
import { O_CLOEXEC, O_RDWR, type Process } from "@drmsim/runtime";
import { ASAHI_PAGE_SIZE, DRM_ASAHI_BIND_READ, DRM_ASAHI_BIND_WRITE } from "./asahi-drm.js";
import { asahiProbe } from "./asahi-drv.js";
import { DRMSIM_ASAHI_HW_VERTEX_NS } from "./asahi-hw-model.js";
import {
  AGX_KERNEL_VA_START,
  agxBindTimestampBuffer,
  agxBoCreate,
  agxBoMmapOffset,
  agxCreateCommandQueue,
  agxDestroyCommandQueue,
  agxEncodeBindOps,
  agxGetParams,
  agxGetTime,
  agxImplicitOutSync,
  agxRenderCommand,
  agxSimHwNext,
  agxSubmit,
  agxSyncobj,
  agxVmBind,
  agxVmCreate,
  agxVmDestroy,
} from "./user/index.js";

/** What the suite hands each call: a process with the render node open. */
interface Work {
  readonly device: DrmDevice;
  readonly proc: Process;
  readonly fd: number;
}
type Ids = Readonly<Record<string, number>>;
/** An ioctl argument as the valid call passed it, to corrupt in place. */
// biome-ignore lint/suspicious/noExplicitAny: a copy of any ioctl's argument, changed in place.
type Arg = any;

/** Where the conformance binds go: below the kernel range `agxVmCreate` reserves. */
const BIND_VA = 0x10_0000;

/** The VM_BIND check's op (the ops go to the kernel as bytes: a corruption re-encodes them). */
const bindOp = (ids: Ids) => ({
  flags: DRM_ASAHI_BIND_READ | DRM_ASAHI_BIND_WRITE,
  handle: ids.bo!,
  offset: 0,
  range: ASAHI_PAGE_SIZE,
  addr: BIND_VA,
});

/** Each file's queue, made on its first submit (Mesa makes one per context). */
const queues = new WeakMap<Process, Map<number, number>>();

async function queueOf({ proc, fd }: Work): Promise<number> {
  let byFd = queues.get(proc);
  if (byFd === undefined) {
    byFd = new Map();
    queues.set(proc, byFd);
  }
  let q = byFd.get(fd);
  if (q === undefined) {
    q = await agxCreateCommandQueue(proc, fd, await agxVmCreate(proc, fd));
    byFd.set(fd, q);
  }
  return q;
}

/** A render command of 100 µs vertex and 400 µs fragment work. */
const render = () => agxRenderCommand({ vertex_ns: 100_000, fragment_ns: 400_000 });

/** The conformance description of asahi. */
export const driver = {
  name: "asahi",
  probe: (host: DrmPluginHost) => asahiProbe(host),
  /** Mesa opens the render node; on the primary node asahi's ioctls need DRM_AUTH. */
  node: (device: DrmDevice) => device.render!.path,
  createBuffer: ({ proc, fd }: Work, size: number) => agxBoCreate(proc, fd, size),
  async submit(work: Work, job: { handle: number; write: boolean }): Promise<void> {
    const { proc, fd } = work;
    const done = await drmSyncobjCreate(proc, fd);
    const dmabuf = await drmPrimeHandleToFD(proc, fd, job.handle, O_RDWR | O_CLOEXEC);
    try {
      await agxSubmit(proc, fd, {
        queue: await queueOf(work),
        commands: [render()],
        outSyncs: [agxSyncobj(done)],
      });
      await agxImplicitOutSync(proc, fd, dmabuf, done, job.write);
    } finally {
      proc.close(dmabuf);
      await drmSyncobjDestroy(proc, fd, done);
    }
  },
  /** A VM with a queue, a buffer, and a binary syncobj for submits to signal. */
  async setup({ proc, fd }: Work): Promise<Record<string, number>> {
    const vm = await agxVmCreate(proc, fd);
    return {
      vm,
      queue: await agxCreateCommandQueue(proc, fd, vm),
      bo: await agxBoCreate(proc, fd, 4 * ASAHI_PAGE_SIZE),
      syncobj: await drmSyncobjCreate(proc, fd),
    };
  },
  ioctls: [
    {
      name: "ASAHI_GET_PARAMS",
      call: ({ proc, fd }: Work) => agxGetParams(proc, fd),
    },
    {
      name: "ASAHI_GET_TIME",
      call: ({ proc, fd }: Work) => agxGetTime(proc, fd),
    },
    {
      name: "ASAHI_GEM_MMAP_OFFSET",
      call: ({ proc, fd }: Work, ids: Ids) => agxBoMmapOffset(proc, fd, ids.bo!),
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
      name: "ASAHI_GEM_BIND_OBJECT",
      call: ({ proc, fd }: Work, ids: Ids) => agxBindTimestampBuffer(proc, fd, ids.bo!, 0, ASAHI_PAGE_SIZE),
      invalid: [
        {
          what: "an unknown GEM handle",
          errno: "ENOENT",
          corrupt: (a: Arg) => {
            a.handle = 99;
          },
        },
        {
          what: "a range off the 16 KiB page",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.range = 4096;
          },
        },
        {
          what: "a range past the end of the object",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.range = 8 * ASAHI_PAGE_SIZE;
          },
        },
        {
          what: "an unknown op",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.op = 7;
          },
        },
      ],
    },
    {
      name: "DRMSIM_ASAHI_HW_NEXT",
      // A queue of its own: the override it leaves waiting would otherwise time the SUBMIT check's jobs.
      prepare: async ({ proc, fd }: Work, ids: Ids) => ({
        hwQueue: await agxCreateCommandQueue(proc, fd, ids.vm!),
      }),
      call: ({ proc, fd }: Work, ids: Ids) =>
        agxSimHwNext(proc, fd, ids.hwQueue!, [{ flags: DRMSIM_ASAHI_HW_VERTEX_NS, vertex_ns: 1000 }]),
      invalid: [
        {
          what: "an unknown queue id",
          errno: "ENOENT",
          corrupt: (a: Arg) => {
            a.queue_id = 99;
          },
        },
        {
          what: "an error that is not a negative errno",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.cmds[0].error = 5;
          },
        },
      ],
    },
    {
      name: "ASAHI_VM_CREATE",
      call: ({ proc, fd }: Work) => agxVmCreate(proc, fd),
      invalid: [
        {
          what: "a kernel range that is not page aligned",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.kernel_start = AGX_KERNEL_VA_START + 4096;
          },
        },
        {
          what: "an empty kernel range",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.kernel_end = a.kernel_start;
          },
        },
      ],
    },
    {
      name: "ASAHI_VM_DESTROY",
      prepare: async ({ proc, fd }: Work) => ({ spareVm: await agxVmCreate(proc, fd) }),
      call: ({ proc, fd }: Work, ids: Ids) => agxVmDestroy(proc, fd, ids.spareVm!),
      invalid: [
        {
          what: "an unknown VM id",
          errno: "ENOENT",
          corrupt: (a: Arg) => {
            a.vm_id = 99;
          },
        },
      ],
    },
    {
      name: "ASAHI_VM_BIND",
      call: ({ proc, fd }: Work, ids: Ids) => agxVmBind(proc, fd, ids.vm!, [bindOp(ids)]),
      invalid: [
        {
          what: "an unknown VM id",
          errno: "ENOENT",
          corrupt: (a: Arg) => {
            a.vm_id = 99;
          },
        },
        {
          what: "a stride smaller than struct drm_asahi_gem_bind_op",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.stride = 16;
          },
        },
        {
          what: "an op on an unknown GEM handle",
          errno: "ENOENT",
          corrupt: (a: Arg, ids: Ids) => {
            a.userptr = agxEncodeBindOps([{ ...bindOp(ids), handle: 99 }]);
          },
        },
        {
          what: "an op whose range is not page aligned",
          errno: "EINVAL",
          corrupt: (a: Arg, ids: Ids) => {
            a.userptr = agxEncodeBindOps([{ ...bindOp(ids), range: 4096 }]);
          },
        },
      ],
    },
    {
      name: "ASAHI_GEM_CREATE",
      call: ({ proc, fd }: Work) => agxBoCreate(proc, fd, ASAHI_PAGE_SIZE),
      invalid: [
        {
          what: "size 0",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.size = 0;
          },
        },
        {
          what: "a vm_id without DRM_ASAHI_GEM_VM_PRIVATE",
          errno: "EINVAL",
          corrupt: (a: Arg, ids: Ids) => {
            a.vm_id = ids.vm;
          },
        },
      ],
    },
    {
      name: "ASAHI_QUEUE_CREATE",
      call: ({ proc, fd }: Work, ids: Ids) => agxCreateCommandQueue(proc, fd, ids.vm!),
      invalid: [
        {
          what: "an unknown VM id",
          errno: "ENOENT",
          corrupt: (a: Arg) => {
            a.vm_id = 99;
          },
        },
        {
          what: "an unknown priority",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.priority = 9;
          },
        },
      ],
    },
    {
      name: "ASAHI_QUEUE_DESTROY",
      prepare: async ({ proc, fd }: Work, ids: Ids) => ({
        spareQueue: await agxCreateCommandQueue(proc, fd, ids.vm!),
      }),
      call: ({ proc, fd }: Work, ids: Ids) => agxDestroyCommandQueue(proc, fd, ids.spareQueue!),
      invalid: [
        {
          what: "an unknown queue id",
          errno: "ENOENT",
          corrupt: (a: Arg) => {
            a.queue_id = 99;
          },
        },
      ],
    },
    {
      name: "ASAHI_SUBMIT",
      call: ({ proc, fd }: Work, ids: Ids) =>
        agxSubmit(proc, fd, {
          queue: ids.queue!,
          commands: [agxRenderCommand()],
          outSyncs: [agxSyncobj(ids.syncobj!)],
        }),
      invalid: [
        {
          what: "an unknown queue id",
          errno: "ENOENT",
          corrupt: (a: Arg) => {
            a.queue_id = 99;
          },
        },
        {
          what: "a command buffer that ends inside a command header",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.cmdbuf_size = 4;
          },
        },
        {
          what: "an out-sync on an unknown syncobj",
          errno: "ENOENT",
          corrupt: (a: Arg) => {
            a.syncs![0]!.handle = 99;
          },
        },
        {
          what: "an unknown sync_type",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.syncs![0]!.sync_type = 7;
          },
        },
      ],
    },
  ],
};
