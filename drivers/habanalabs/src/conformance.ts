/**
 * habanalabs as `@drmsim/testing`'s conformance suite (and `drmsim validate drivers/habanalabs`)
 * drives it, the way hl-thunk does (`@drmsim/habanalabs/user`): an accelerator on the accel node
 * with no GEM. Buffers are device memory (`HL_MEM_OP_ALLOC`), shared by mapping them into the
 * context's device VA space and exporting the mapped range (`HL_MEM_OP_EXPORT_DMABUF_FD`). A job
 * is one command submission of a command buffer on external queue 0; it carries no dma_fence, so
 * userspace learns it completed with `HL_WAIT_CS` and a zero timeout. Every ioctl is called
 * valid, then corrupted: the pads and flags the suite derives from the unions, and the handles,
 * opcodes and sizes `command_submission.c`, `command_buffer.c`, `memory.c` and
 * `habanalabs_ioctl.c` refuse (`EINVAL` throughout, as the driver answers). A plain object of the
 * suite's `ConformanceDriver` shape: the driver does not depend on the test package. There is no
 * kernel counterpart.
 */
import type { DrmDevice, DrmPluginHost } from "@drmsim/drm";
import type { Process } from "@drmsim/runtime";
import {
  HL_DEBUG_OP_FUNNEL,
  HL_INFO_HW_IP_INFO,
  HL_WAIT_CS_STATUS_COMPLETED,
  hl_info_hw_ip_info,
} from "./habanalabs-accel.js";
import { habanalabsProbe } from "./habanalabs-drv.js";
import {
  hlthunkCommandSubmission,
  hlthunkDebug,
  hlthunkDebugSetMode,
  hlthunkDeviceMappedMemoryExportDmabufFd,
  hlthunkDeviceMemoryAlloc,
  hlthunkDeviceMemoryMap,
  hlthunkGetInfo,
  hlthunkRequestCommandBuffer,
  hlthunkSimHwNext,
  hlthunkSimOverrides,
  hlthunkWaitForCs,
} from "./user/index.js";

/** What the suite hands each call: a process with the accel node open. */
interface Work {
  readonly device: DrmDevice;
  readonly proc: Process;
  readonly fd: number;
}
type Ids = Readonly<Record<string, number>>;
/** An ioctl argument as the valid call passed it, to corrupt in place. */
// biome-ignore lint/suspicious/noExplicitAny: a copy of any of habanalabs' ioctl arguments.
type Arg = any;

/** Each file's command buffer, made on its first submit (hl-thunk users make one per stream). */
const cbs = new WeakMap<Process, Map<number, number>>();

async function cbOf({ proc, fd }: Work): Promise<number> {
  let byFd = cbs.get(proc);
  if (byFd === undefined) {
    byFd = new Map();
    cbs.set(proc, byFd);
  }
  let cb = byFd.get(fd);
  if (cb === undefined) {
    cb = await hlthunkRequestCommandBuffer(proc, fd);
    byFd.set(fd, cb);
  }
  return cb;
}

/** One CS of the command buffer `cb` on external queue 0, running 100 µs; its sequence number. */
async function cs(proc: Process, fd: number, cb: number): Promise<number> {
  const out = await hlthunkCommandSubmission(proc, fd, [
    { queue_index: 0, cb_handle: cb, cb_size: 64, exec_ns: 100_000 },
  ]);
  return Number(out.seq ?? 0);
}

/** The conformance description of habanalabs (the accel variant). */
export const driver = {
  name: "habanalabs",
  probe: (host: DrmPluginHost) => habanalabsProbe(host),
  buffers: "device" as const,
  createBuffer: ({ proc, fd }: Work, size: number) => hlthunkDeviceMemoryAlloc(proc, fd, size),
  async exportBuffer({ proc, fd }: Work, handle: number, size: number): Promise<number> {
    const addr = await hlthunkDeviceMemoryMap(proc, fd, handle);
    return hlthunkDeviceMappedMemoryExportDmabufFd(proc, fd, addr, size);
  },
  async submit(work: Work): Promise<{ completed(): Promise<boolean> }> {
    const { proc, fd } = work;
    const seq = await cs(proc, fd, await cbOf(work));
    return {
      completed: async () =>
        (await hlthunkWaitForCs(proc, fd, seq, 0)).status === HL_WAIT_CS_STATUS_COMPLETED,
    };
  },
  /** A command buffer and 2 MiB of device memory. */
  async setup({ proc, fd }: Work): Promise<Record<string, number>> {
    return {
      cb: await hlthunkRequestCommandBuffer(proc, fd),
      mem: await hlthunkDeviceMemoryAlloc(proc, fd, 2 * 1024 * 1024),
    };
  },
  ioctls: [
    {
      name: "HL_INFO",
      call: ({ proc, fd }: Work) => hlthunkGetInfo(proc, fd, HL_INFO_HW_IP_INFO, hl_info_hw_ip_info),
      invalid: [
        {
          what: "an unknown request",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.op = 999;
          },
        },
        {
          what: "no room for the answer (return_size 0)",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.return_size = 0;
          },
        },
      ],
    },
    {
      name: "HL_CB",
      call: ({ proc, fd }: Work) => hlthunkRequestCommandBuffer(proc, fd),
      invalid: [
        {
          what: "an unknown opcode",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.op = 9;
          },
        },
        {
          what: "a CB of 0 bytes",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.cb_size = 0;
          },
        },
      ],
    },
    {
      name: "HL_CS",
      call: ({ proc, fd }: Work, ids: Ids) => cs(proc, fd, ids.cb!),
      invalid: [
        {
          what: "an unknown CB handle",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.chunks_execute[0].cb_handle = 99;
          },
        },
        {
          what: "a queue index the device does not have",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.chunks_execute[0].queue_index = 999;
          },
        },
        {
          what: "a CB size of 0",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.chunks_execute[0].cb_size = 0;
          },
        },
        {
          what: "no chunks",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.num_chunks_execute = 0;
          },
        },
      ],
    },
    {
      name: "HL_WAIT_CS",
      prepare: async ({ proc, fd }: Work, ids: Ids) => ({ seq: await cs(proc, fd, ids.cb!) }),
      call: ({ proc, fd }: Work, ids: Ids) => hlthunkWaitForCs(proc, fd, ids.seq!, 1_000_000),
      invalid: [
        {
          what: "sequence 0 (never handed out)",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.seq = 0;
          },
        },
        {
          what: "a ctx_id other than 0",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.ctx_id = 1;
          },
        },
      ],
    },
    {
      name: "HL_MEMORY",
      call: ({ proc, fd }: Work) => hlthunkDeviceMemoryAlloc(proc, fd, 2 * 1024 * 1024),
      invalid: [
        {
          what: "an unknown opcode",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.op = 99;
          },
        },
        {
          what: "an allocation of 0 bytes",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.alloc.mem_size = 0;
          },
        },
        {
          what: "a ctx_id other than 0",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.in.ctx_id = 1;
          },
        },
      ],
    },
    {
      name: "HL_DEBUG",
      // hlthunk_profiler_start: debug mode on; then a configuration op, which needs it.
      prepare: async ({ proc, fd }: Work) => {
        await hlthunkDebugSetMode(proc, fd, true);
        return {};
      },
      call: ({ proc, fd }: Work) => hlthunkDebug(proc, fd, { op: HL_DEBUG_OP_FUNNEL }),
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
      name: "DRMSIM_HL_HW_NEXT",
      call: ({ proc, fd }: Work) => hlthunkSimHwNext(proc, fd, hlthunkSimOverrides([{ exec_ns: 100_000 }])!),
      invalid: [
        {
          what: "a duration beyond 2^53 ns",
          errno: "EINVAL",
          corrupt: (a: Arg) => {
            a.jobs[0].exec_ns = 2n ** 60n;
          },
        },
      ],
    },
  ],
};
