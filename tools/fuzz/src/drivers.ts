/**
 * The drivers the fuzzer probes. Adding a driver is one line: its name and its probe function
 * (`(host) => DrmDevice`). The fuzzer then enumerates that device's ioctl table
 * (`DrmDevice.driverIoctls()`) together with the core table, opens all of its nodes from two
 * processes and fuzzes every ioctl on every node; generated arguments draw their member names
 * from the ioctls' declared argument structs.
 *
 * A driver whose ioctls take structured arguments (command chunks, bind ops) or ids of objects
 * made by other ioctls (contexts, VMs, queues) also gives a `setup` that makes those objects in
 * each file while the world is built, and a `template` per ioctl: the arguments a correct caller
 * passes. "valid" steps send a template as is and "oneBad" steps corrupt one leaf of it, however
 * deep — that is what gets a fuzzer past the argument checks into the submission paths.
 */
import {
  AMDGPU_BO_LIST_OP_CREATE,
  AMDGPU_BO_LIST_OP_DESTROY,
  AMDGPU_BO_LIST_OP_UPDATE,
  AMDGPU_CTX_OP_ALLOC_CTX,
  AMDGPU_CTX_OP_FREE_CTX,
  AMDGPU_CTX_OP_QUERY_STATE2,
  AMDGPU_GEM_CREATE_EXPLICIT_SYNC,
  AMDGPU_GEM_CREATE_VM_ALWAYS_VALID,
  AMDGPU_GEM_DOMAIN_DOORBELL,
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_GEM_METADATA_OP_GET_METADATA,
  AMDGPU_GEM_METADATA_OP_SET_METADATA,
  AMDGPU_GEM_OP_GET_GEM_CREATE_INFO,
  AMDGPU_GEM_OP_GET_MAPPING_INFO,
  AMDGPU_GEM_OP_SET_PLACEMENT,
  AMDGPU_HW_IP_COMPUTE,
  AMDGPU_HW_IP_DMA,
  AMDGPU_HW_IP_GFX,
  AMDGPU_INFO_DEV_INFO,
  AMDGPU_INFO_FW_GFX_ME,
  AMDGPU_INFO_FW_VERSION,
  AMDGPU_INFO_HW_IP_COUNT,
  AMDGPU_INFO_HW_IP_INFO,
  AMDGPU_INFO_MAX_IBS,
  AMDGPU_INFO_MEMORY,
  AMDGPU_INFO_TIMESTAMP,
  AMDGPU_INFO_VRAM_GTT,
  AMDGPU_SCHED_OP_CONTEXT_PRIORITY_OVERRIDE,
  AMDGPU_SCHED_OP_PROCESS_PRIORITY_OVERRIDE,
  AMDGPU_USERQ_OP_CREATE,
  AMDGPU_USERQ_OP_FREE,
  AMDGPU_VA_OP_CLEAR,
  AMDGPU_VA_OP_MAP,
  AMDGPU_VA_OP_REPLACE,
  AMDGPU_VA_OP_UNMAP,
  AMDGPU_VM_OP_RESERVE_VMID,
  AMDGPU_VM_OP_UNRESERVE_VMID,
  amdgpuProbe,
} from "@drmsim/amdgpu";
import {
  type AmdgpuSimFill,
  amdgpuBoAlloc,
  amdgpuBoListCreateRaw,
  amdgpuCreateUserqueue,
  amdgpuCreateUserqueueRaw,
  amdgpuCsChunkBoList,
  amdgpuCsChunkIb,
  amdgpuCsChunkSyncobjOut,
  amdgpuCsCtxCreate2,
  amdgpuCsSubmitRaw2,
  amdgpuDeviceInitialize,
  amdgpuSimBoVa,
  amdgpuSimIbChunk,
  amdgpuVaRangeAlloc,
} from "@drmsim/amdgpu/user";
import {
  ASAHI_PAGE_SIZE,
  ASAHI_VM_KERNEL_MIN_SIZE,
  asahiProbe,
  DRM_ASAHI_BARRIER_NONE,
  DRM_ASAHI_BIND_OBJECT_OP_BIND,
  DRM_ASAHI_BIND_OBJECT_OP_UNBIND,
  DRM_ASAHI_BIND_OBJECT_USAGE_TIMESTAMPS,
  DRM_ASAHI_BIND_READ,
  DRM_ASAHI_BIND_UNBIND,
  DRM_ASAHI_BIND_WRITE,
  DRMSIM_ASAHI_HW_COMPUTE_NS,
  DRMSIM_ASAHI_HW_FRAGMENT_NS,
  DRMSIM_ASAHI_HW_VERTEX_NS,
  drm_asahi_gem_bind_op,
  drm_asahi_params_global,
} from "@drmsim/asahi";
import {
  agxBindTimestampBuffer,
  agxBoCreate,
  agxComputeCommand,
  agxCreateCommandQueue,
  agxEncodeBindOps,
  agxEncodeCmdbuf,
  agxRenderCommand,
  agxVmCreate,
} from "@drmsim/asahi/user";
import { type DrmDevice, type DrmPluginHost, drmSyncobjCreate } from "@drmsim/drm";
import {
  DRMSIM_HL_HW_EXEC_NS,
  HL_CB_OP_CREATE,
  HL_CB_OP_INFO,
  HL_CS_FLAGS_SIGNAL,
  HL_CS_FLAGS_WAIT,
  HL_DEBUG_OP_BMON,
  HL_DEBUG_OP_SET_MODE,
  HL_INFO_HW_IP_INFO,
  HL_MEM_OP_ALLOC,
  HL_MEM_OP_MAP,
  habanalabsProbe,
  hl_info_hw_ip_info,
} from "@drmsim/habanalabs";
import {
  hlthunkCommandSubmission,
  hlthunkDeviceMemoryAlloc,
  hlthunkDeviceMemoryMap,
  hlthunkRequestCommandBuffer,
} from "@drmsim/habanalabs/user";
import type { Process } from "@drmsim/runtime";
import { VGEM_FENCE_NOTIMEOUT, vgemProbe } from "@drmsim/vgem";
import { vgemFenceAttach } from "@drmsim/vgem/user";
import { fuzzAccelProbe } from "./fuzz-accel.js";
import type { FuzzReach } from "./reach-drivers.js";

/** What a template builds its arguments from: the calling file's objects. */
export interface FuzzTemplateEnv {
  /** The caller's GEM handles on this fd, ascending (may be empty). */
  readonly handles: readonly number[];
  /** What the driver's `setup` made in this file: `{ ctx: 1, vm: 1, … }`. */
  readonly ids: Readonly<Record<string, number>>;
  /** Varies the template: 0..7. */
  readonly pick: number;
}

/** A correct argument object for one ioctl. */
export type FuzzTemplate = (env: FuzzTemplateEnv) => Record<string, unknown>;

/** One driver under fuzz. */
export interface FuzzDriver {
  readonly name: string;
  probe(host: DrmPluginHost): DrmDevice;
  /**
   * Runs in every file of this driver's device while the world is built (as `proc`, on `fd`):
   * makes the objects templates refer to and returns their ids.
   */
  setup?(proc: Process, fd: number): Promise<Record<string, number>>;
  /** A correct argument object per ioctl name. */
  readonly templates?: Readonly<Record<string, FuzzTemplate>>;
  /**
   * Ioctls the kernel applies op by op and stops at the first op that fails, keeping the ones
   * before it (asahi's VM_BIND): a rejected call may have changed state, so invariant 4 does not
   * apply to them.
   */
  readonly appliesInPart?: readonly string[];
  /** Its tables, for the reachability oracle (built-in drivers: `BUILTIN_REACH`, reach-drivers.ts). */
  readonly reach?: FuzzReach;
}

const at = <T>(list: readonly T[], i: number, none: T): T =>
  list.length === 0 ? none : list[i % list.length]!;

/** An address in the fuzz processes' (simulated) user address space for userptr BOs. */
const USERPTR_ADDR = 0x7f00_0000_0000;
/** Where asahi binds go: below the kernel range the setup reserves. */
const ASAHI_VA = 0x10_0000;
const ASAHI_KERNEL_START = 0x1_0000_0000;

/** Every driver the fuzzer probes, in probe order. */
export const FUZZ_DRIVERS: readonly FuzzDriver[] = [
  {
    name: "vgem",
    probe: vgemProbe,
    async setup(proc, fd) {
      // A fence that waits for userspace however long the sequence runs (closing the file
      // signals it), for FENCE_SIGNAL to find.
      return { fence: await vgemFenceAttach(proc, fd, 1, VGEM_FENCE_NOTIMEOUT) };
    },
    templates: {
      VGEM_FENCE_ATTACH: ({ handles, pick }) => ({
        handle: at(handles, pick, 1),
        flags: (pick & 1) | (pick & 2 ? VGEM_FENCE_NOTIMEOUT : 0),
      }),
      VGEM_FENCE_SIGNAL: ({ ids, pick }) => ({
        fence: pick < 6 ? ids.fence : 1 + (pick % 3),
        flags: 0,
      }),
      DRMSIM_VGEM_FENCE_ERROR: ({ ids, pick }) => ({
        fence: pick < 6 ? ids.fence : 1 + (pick % 3),
        error: pick & 1 ? -5 : 0,
      }),
    },
  },
  { name: "fuzzaccel", probe: fuzzAccelProbe },
  {
    name: "asahi",
    probe: (host) => asahiProbe(host),
    async setup(proc, fd) {
      const vm = await agxVmCreate(proc, fd, ASAHI_KERNEL_START);
      const queue = await agxCreateCommandQueue(proc, fd, vm);
      const spareQueue = await agxCreateCommandQueue(proc, fd, vm);
      const spareVm = await agxVmCreate(proc, fd, ASAHI_KERNEL_START);
      const bo = await agxBoCreate(proc, fd, 4 * ASAHI_PAGE_SIZE);
      const tsBuffer = await agxBindTimestampBuffer(proc, fd, bo, 0, ASAHI_PAGE_SIZE);
      return { vm, queue, bo, spareVm, spareQueue, tsBuffer };
    },
    // VM_BIND applies its ops one by one and keeps those before the one that fails, as upstream.
    appliesInPart: ["ASAHI_VM_BIND"],
    templates: {
      ASAHI_GET_PARAMS: ({ pick }) => ({
        param_group: 0,
        pointer: new Uint8Array(drm_asahi_params_global.size),
        size: pick & 1 ? drm_asahi_params_global.size : 8 * pick,
      }),
      ASAHI_GET_TIME: () => ({ flags: 0 }),
      ASAHI_VM_CREATE: ({ pick }) => ({
        kernel_start: ASAHI_KERNEL_START * (1 + (pick % 2)),
        kernel_end: ASAHI_KERNEL_START * (1 + (pick % 2)) + ASAHI_VM_KERNEL_MIN_SIZE,
      }),
      // Mostly the spare objects: destroying the ones the other templates use ends their coverage.
      ASAHI_VM_DESTROY: ({ ids, pick }) => ({ vm_id: pick === 7 ? ids.vm : ids.spareVm }),
      ASAHI_GEM_CREATE: ({ pick }) => ({
        size: ASAHI_PAGE_SIZE * (1 + (pick % 3)),
        flags: 0,
        vm_id: 0,
      }),
      ASAHI_GEM_MMAP_OFFSET: ({ ids, handles, pick }) => ({
        handle: pick & 1 ? ids.bo : at(handles, pick, 1),
      }),
      ASAHI_GEM_BIND_OBJECT: ({ ids, pick }) =>
        pick & 1
          ? { op: DRM_ASAHI_BIND_OBJECT_OP_UNBIND, object_handle: 1 + (pick % 3) }
          : {
              op: DRM_ASAHI_BIND_OBJECT_OP_BIND,
              flags: DRM_ASAHI_BIND_OBJECT_USAGE_TIMESTAMPS,
              handle: ids.bo,
              offset: (pick % 4) * ASAHI_PAGE_SIZE,
              range: ASAHI_PAGE_SIZE,
            },
      ASAHI_QUEUE_CREATE: ({ ids, pick }) => ({ vm_id: ids.vm, priority: pick % 4, flags: 0 }),
      ASAHI_QUEUE_DESTROY: ({ ids, pick }) => ({
        queue_id: pick === 7 ? ids.queue : ids.spareQueue,
      }),
      ASAHI_VM_BIND: ({ ids, pick }) => {
        const addr = ASAHI_VA + (pick % 4) * ASAHI_PAGE_SIZE;
        const ops =
          pick === 6
            ? [{ flags: DRM_ASAHI_BIND_UNBIND, addr, range: ASAHI_PAGE_SIZE }]
            : [
                {
                  flags: DRM_ASAHI_BIND_READ | (pick & 1 ? DRM_ASAHI_BIND_WRITE : 0),
                  handle: ids.bo,
                  offset: 0,
                  range: ASAHI_PAGE_SIZE * (1 + (pick % 2)),
                  addr,
                },
                // A second op over part of the first: a remap.
                ...(pick & 2
                  ? [{ flags: DRM_ASAHI_BIND_UNBIND, addr: addr + ASAHI_PAGE_SIZE, range: ASAHI_PAGE_SIZE }]
                  : []),
              ];
        const stride = pick === 5 ? 48 : drm_asahi_gem_bind_op.size;
        return { vm_id: ids.vm, num_binds: ops.length, stride, userptr: agxEncodeBindOps(ops, stride) };
      },
      ASAHI_SUBMIT: ({ ids, pick }) => {
        const commands = [
          agxRenderCommand({
            render: pick & 4 ? { ts_frag: { end: { handle: ids.tsBuffer, offset: 8 } } } : {},
          }),
          ...(pick & 1 ? [agxComputeCommand({ cdm_barrier: pick & 2 ? 0 : DRM_ASAHI_BARRIER_NONE })] : []),
        ];
        const cmdbuf = agxEncodeCmdbuf(commands);
        return { queue_id: ids.queue, cmdbuf, cmdbuf_size: cmdbuf.length };
      },
      DRMSIM_ASAHI_HW_NEXT: ({ ids, pick }) => ({
        queue_id: ids.queue,
        count: pick % 3,
        cmds: Array.from({ length: pick % 3 }, () => ({
          compute_ns: 800,
          vertex_ns: 500,
          fragment_ns: 1000,
          flags: DRMSIM_ASAHI_HW_COMPUTE_NS | DRMSIM_ASAHI_HW_VERTEX_NS | DRMSIM_ASAHI_HW_FRAGMENT_NS,
        })),
      }),
    },
  },
  {
    name: "amdgpu",
    probe: (host) => amdgpuProbe(host),
    async setup(proc, fd) {
      const ctx = await amdgpuCsCtxCreate2(proc, fd);
      const spareCtx = await amdgpuCsCtxCreate2(proc, fd);
      const bo = await amdgpuBoAlloc(proc, fd, {
        allocSize: 8192,
        preferredHeap: AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT,
      });
      const userq = await amdgpuCreateUserqueue(proc, fd, AMDGPU_HW_IP_COMPUTE);
      // IBs written and mapped as a userspace driver does (drmsim markers for their time and the
      // bytes one of them writes), for CS templates to point at.
      const ib = async (ip_type: number, fill?: AmdgpuSimFill) => {
        const c = await amdgpuSimIbChunk(proc, fd, { ip_type, duration_ns: 1000, ...(fill ? { fill } : {}) });
        const d = c.chunk_data as { va_start: bigint; ib_bytes: number };
        return [Number(d.va_start), d.ib_bytes] as const;
      };
      const [ibGfx, ibGfxBytes] = await ib(AMDGPU_HW_IP_GFX);
      const [ibSdma, ibSdmaBytes] = await ib(AMDGPU_HW_IP_DMA);
      const [ibFill, ibFillBytes] = await ib(AMDGPU_HW_IP_GFX, {
        bo_handle: bo,
        offset: 16,
        data: [1, 2, 3, 4],
      });
      // One submission, so WAIT_CS has a sequence number to wait for.
      const seq = await amdgpuCsSubmitRaw2(proc, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, va_start: ibGfx, ib_bytes: ibGfxBytes }),
        amdgpuCsChunkBoList([bo]),
      ]);
      const syncobj = await drmSyncobjCreate(proc, fd);
      const list = await amdgpuBoListCreateRaw(proc, fd, [bo]);
      const dev = await amdgpuDeviceInitialize(proc, fd);
      // Free VA for GEM_VA templates, and a queue's memory and doorbell page for USERQ ones.
      const freeVa = Number(amdgpuVaRangeAlloc(dev, 1 << 20, 1 << 20));
      const qbo = await amdgpuBoAlloc(proc, fd, { allocSize: 24576, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const qVa = Number((await amdgpuSimBoVa(proc, fd, qbo)).va);
      const db = await amdgpuBoAlloc(proc, fd, {
        allocSize: 4096,
        preferredHeap: AMDGPU_GEM_DOMAIN_DOORBELL,
      });
      const rawq = await amdgpuCreateUserqueueRaw(proc, fd, {
        ip_type: AMDGPU_HW_IP_COMPUTE,
        doorbell_handle: db,
        doorbell_offset: 0,
        queue_va: qVa,
        queue_size: 4096,
        rptr_va: qVa + 8192,
        wptr_va: qVa + 8200,
        mqd: { eop_va: qVa + 12288 },
        mqd_size: 8,
      });
      return {
        ctx,
        spareCtx,
        bo,
        userq,
        seq,
        ibGfx,
        ibGfxBytes,
        ibSdma,
        ibSdmaBytes,
        ibFill,
        ibFillBytes,
        syncobj,
        list,
        freeVa,
        qVa,
        db,
        rawq,
        // The file's own fd, for AMDGPU_SCHED (a master overriding its own contexts' priority).
        fd,
      };
    },
    templates: {
      AMDGPU_GEM_CREATE: ({ pick }) => ({
        in: {
          bo_size: 4096 * (1 + (pick % 4)),
          alignment: 0,
          domains: at(
            [AMDGPU_GEM_DOMAIN_VRAM, AMDGPU_GEM_DOMAIN_GTT, AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT],
            pick,
            2,
          ),
          domain_flags:
            pick === 5 ? AMDGPU_GEM_CREATE_EXPLICIT_SYNC : pick === 6 ? AMDGPU_GEM_CREATE_VM_ALWAYS_VALID : 0,
        },
      }),
      AMDGPU_GEM_MMAP: ({ ids }) => ({ in: { handle: ids.bo } }),
      AMDGPU_CTX: ({ ids, pick }) => ({
        in:
          pick < 4
            ? { op: AMDGPU_CTX_OP_ALLOC_CTX, flags: 0, priority: at([0, -512, 512, 0], pick, 0) }
            : pick < 7
              ? { op: AMDGPU_CTX_OP_QUERY_STATE2, flags: 0, ctx_id: ids.ctx }
              : { op: AMDGPU_CTX_OP_FREE_CTX, flags: 0, ctx_id: ids.spareCtx },
      }),
      AMDGPU_BO_LIST: ({ ids, pick }) => {
        const entries = { bo_number: 1, bo_info_size: 8, bo_info_ptr: [{ bo_handle: ids.bo }] };
        return {
          in:
            pick < 4
              ? { operation: AMDGPU_BO_LIST_OP_CREATE, ...entries }
              : pick < 6
                ? { operation: AMDGPU_BO_LIST_OP_UPDATE, list_handle: ids.list, ...entries }
                : { operation: AMDGPU_BO_LIST_OP_DESTROY, list_handle: ids.list! + pick },
        };
      },
      AMDGPU_CS: ({ ids, handles, pick }) => {
        const ip = at([AMDGPU_HW_IP_GFX, AMDGPU_HW_IP_COMPUTE, AMDGPU_HW_IP_DMA], pick, 0);
        // Pick 2 and 6: the gfx IB whose bytes write 4 bytes into the BO when it completes.
        const [va, bytes] =
          pick & 2 && ip !== AMDGPU_HW_IP_DMA
            ? [ids.ibFill, ids.ibFillBytes]
            : ip === AMDGPU_HW_IP_DMA
              ? [ids.ibSdma, ids.ibSdmaBytes]
              : [ids.ibGfx, ids.ibGfxBytes];
        const chunks = [amdgpuCsChunkIb({ ip_type: ip, ring: 0, va_start: va, ib_bytes: bytes })];
        // Pick 5 names the BO list by handle; pick 7 adds the file's generic GEM objects, which
        // are no amdgpu BOs (EINVAL); pick 4 signals a syncobj.
        if (pick !== 5)
          chunks.push(
            amdgpuCsChunkBoList(pick === 7 ? [ids.bo!, ...handles.filter((h) => h !== ids.bo)] : [ids.bo!]),
          );
        if (pick === 4) chunks.push(amdgpuCsChunkSyncobjOut([ids.syncobj!]));
        return {
          in: {
            ctx_id: ids.ctx,
            bo_list_handle: pick === 5 ? ids.list : 0,
            flags: 0,
            num_chunks: chunks.length,
            chunks,
          },
        };
      },
      AMDGPU_INFO: ({ pick }) => {
        const q = at(
          [
            { query: AMDGPU_INFO_DEV_INFO },
            { query: AMDGPU_INFO_HW_IP_INFO, query_hw_ip: { type: AMDGPU_HW_IP_GFX } },
            { query: AMDGPU_INFO_MEMORY },
            { query: AMDGPU_INFO_VRAM_GTT },
            { query: AMDGPU_INFO_FW_VERSION, query_fw: { fw_type: AMDGPU_INFO_FW_GFX_ME } },
            { query: AMDGPU_INFO_HW_IP_COUNT, query_hw_ip: { type: AMDGPU_HW_IP_COMPUTE } },
            { query: AMDGPU_INFO_TIMESTAMP },
            { query: AMDGPU_INFO_MAX_IBS },
          ],
          pick,
          { query: AMDGPU_INFO_DEV_INFO },
        );
        // A short answer is fine: the kernel copies at most return_size bytes.
        return { return_pointer: new Uint8Array(32), return_size: 32, ...q };
      },
      AMDGPU_GEM_METADATA: ({ ids, pick }) => ({
        handle: ids.bo,
        op: pick & 1 ? AMDGPU_GEM_METADATA_OP_GET_METADATA : AMDGPU_GEM_METADATA_OP_SET_METADATA,
        data: { flags: 0, tiling_info: pick, data_size_bytes: 4 * pick, data: [1, 2, 3, 4, 5, 6, 7, 8] },
      }),
      AMDGPU_GEM_WAIT_IDLE: ({ ids, pick }) => ({
        in: { handle: ids.bo, timeout: pick & 1 ? 1_000_000 : 0 },
      }),
      AMDGPU_GEM_VA: ({ ids, pick }) => {
        const va = ids.freeVa! + (pick % 4) * 0x10000;
        return pick < 4
          ? { handle: ids.bo, operation: AMDGPU_VA_OP_MAP, flags: 6, va_address: va, map_size: 8192 }
          : pick < 6
            ? { handle: ids.bo, operation: AMDGPU_VA_OP_UNMAP, va_address: va }
            : pick === 6
              ? { operation: AMDGPU_VA_OP_CLEAR, va_address: ids.freeVa, map_size: 1 << 20 }
              : { handle: ids.bo, operation: AMDGPU_VA_OP_REPLACE, flags: 6, va_address: va, map_size: 4096 };
      },
      AMDGPU_WAIT_CS: ({ ids, pick }) => ({
        in: {
          handle: pick < 6 ? ids.seq : ids.seq! + 1,
          timeout: pick & 1 ? 1_000_000 : 0,
          ip_type: AMDGPU_HW_IP_GFX,
          ip_instance: 0,
          ring: 0,
          ctx_id: ids.ctx,
        },
      }),
      AMDGPU_GEM_OP: ({ ids, pick }) =>
        pick < 4
          ? { handle: ids.bo, op: AMDGPU_GEM_OP_GET_GEM_CREATE_INFO, value_ptr: [{}] }
          : pick < 6
            ? {
                handle: ids.bo,
                op: AMDGPU_GEM_OP_SET_PLACEMENT,
                value: AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT,
              }
            : {
                handle: ids.bo,
                op: AMDGPU_GEM_OP_GET_MAPPING_INFO,
                num_entries: 4,
                value_ptr: [{}, {}, {}, {}],
              },
      AMDGPU_GEM_USERPTR: ({ pick }) => ({
        addr: USERPTR_ADDR + pick * 0x10000,
        size: 0x10000,
        flags: at([8, 1, 9, 8], pick, 8), // REGISTER, READONLY, READONLY | REGISTER
      }),
      AMDGPU_WAIT_FENCES: ({ ids, pick }) => ({
        in: {
          fences: [{ ctx_id: ids.ctx, ip_type: AMDGPU_HW_IP_GFX, ip_instance: 0, ring: 0, seq_no: ids.seq }],
          fence_count: 1,
          wait_all: pick & 1,
          timeout_ns: pick & 2 ? 1_000_000 : 0,
        },
      }),
      AMDGPU_VM: ({ pick }) => ({
        in: { op: pick < 4 ? AMDGPU_VM_OP_RESERVE_VMID : AMDGPU_VM_OP_UNRESERVE_VMID },
      }),
      AMDGPU_FENCE_TO_HANDLE: ({ ids, pick }) => ({
        in: {
          fence: { ctx_id: ids.ctx, ip_type: AMDGPU_HW_IP_GFX, ip_instance: 0, ring: 0, seq_no: ids.seq },
          what: pick % 3,
        },
      }),
      AMDGPU_USERQ: ({ ids, pick }) => ({
        in:
          pick < 6
            ? {
                op: AMDGPU_USERQ_OP_CREATE,
                ip_type: AMDGPU_HW_IP_COMPUTE,
                doorbell_handle: ids.db,
                doorbell_offset: 1 + pick,
                queue_va: ids.qVa,
                queue_size: 4096,
                rptr_va: ids.qVa! + 8192,
                wptr_va: ids.qVa! + 8200,
                mqd: { eop_va: ids.qVa! + 12288 },
                mqd_size: 8,
              }
            : { op: AMDGPU_USERQ_OP_FREE, queue_id: ids.userq! + (pick - 6) },
      }),
      AMDGPU_USERQ_SIGNAL: ({ ids, pick }) => ({
        queue_id: pick & 1 ? ids.rawq : ids.userq,
        syncobj_handles: [ids.syncobj],
        num_syncobj_handles: 1,
        bo_write_handles: [ids.bo],
        num_bo_write_handles: pick & 2 ? 1 : 0,
      }),
      AMDGPU_USERQ_WAIT: ({ ids, pick }) => ({
        waitq_id: ids.userq,
        bo_read_handles: [ids.bo],
        num_bo_read_handles: 1,
        syncobj_handles: [ids.syncobj],
        num_syncobj_handles: pick & 1,
        num_fences: 0,
      }),
      AMDGPU_GEM_LIST_HANDLES: ({ pick }) => ({
        num_entries: pick & 1 ? 8 : 0,
        entries: Array.from({ length: 8 }, () => ({})),
      }),
      // DRM_MASTER: succeeds from the master's card node only.
      AMDGPU_SCHED: ({ ids, pick }) => ({
        in: {
          op:
            pick & 1 ? AMDGPU_SCHED_OP_PROCESS_PRIORITY_OVERRIDE : AMDGPU_SCHED_OP_CONTEXT_PRIORITY_OVERRIDE,
          fd: ids.fd,
          priority: at([-512, 0, 512, -1023], pick >> 1, 0),
          ctx_id: ids.ctx,
        },
      }),
      AMDGPU_SIM_DOORBELL: ({ ids, pick }) => ({
        doorbell_handle: ids.db,
        doorbell_offset: 0,
        value: 4 * pick,
      }),
    },
  },
  {
    name: "habanalabs",
    probe: (host) => habanalabsProbe(host),
    async setup(proc, fd) {
      const cb = await hlthunkRequestCommandBuffer(proc, fd, 4096);
      const mem = await hlthunkDeviceMemoryAlloc(proc, fd, 2 * 1024 * 1024);
      const va = await hlthunkDeviceMemoryMap(proc, fd, mem);
      // One submission, so WAIT_CS has a sequence number to wait for, and a signal CS behind a
      // long job (still pending when the sequence starts) for wait CSs to wait on.
      const { seq } = await hlthunkCommandSubmission(proc, fd, [
        { queue_index: 0, cb_handle: cb, cb_size: 256, exec_ns: 5_000_000 },
      ]);
      const { seq: signal } = await hlthunkCommandSubmission(proc, fd, [{ queue_index: 0 }], {
        cs_flags: HL_CS_FLAGS_SIGNAL,
      });
      return { cb, mem, va, seq: Number(seq), signal: Number(signal) };
    },
    templates: {
      HL_INFO: () => ({ op: HL_INFO_HW_IP_INFO, return_pointer: {}, return_size: hl_info_hw_ip_info.size }),
      HL_CB: ({ ids, pick }) => ({
        in:
          pick < 5
            ? { op: HL_CB_OP_CREATE, cb_size: 4096 * (1 + (pick % 2)) }
            : { op: HL_CB_OP_INFO, cb_handle: ids.cb },
      }),
      HL_CS: ({ ids, pick }) => {
        // Sync streams: a signal on an external queue, or a wait on the setup's signal CS.
        if (pick === 5)
          return {
            in: { cs_flags: HL_CS_FLAGS_SIGNAL, chunks_execute: [{ queue_index: 1 }], num_chunks_execute: 1 },
          };
        if (pick === 6)
          return {
            in: {
              cs_flags: HL_CS_FLAGS_WAIT,
              chunks_execute: [{ queue_index: 2, signal_seq_arr: [ids.signal!], num_signal_seq_arr: 1 }],
              num_chunks_execute: 1,
            },
          };
        // The header's chunks only: how long jobs run is the hardware model's (DRMSIM_HL_HW_NEXT).
        const dma = { queue_index: 0, cb_handle: ids.cb, cb_size: 256 };
        const tpc = { queue_index: 7, cb_handle: ids.va, cb_size: 256 };
        const chunks = pick & 1 ? [dma, tpc] : [dma];
        return { in: { chunks_execute: chunks, num_chunks_execute: chunks.length } };
      },
      HL_WAIT_CS: ({ ids, pick }) => ({
        in: { seq: pick < 6 ? ids.seq : ids.seq! + 1, timeout_us: pick & 1 ? 1000 : 0 },
      }),
      HL_MEMORY: ({ ids, pick }) => ({
        in:
          pick < 4
            ? { op: HL_MEM_OP_ALLOC, alloc: { mem_size: 2 * 1024 * 1024 } }
            : pick < 7
              ? { op: HL_MEM_OP_MAP, map_device: { handle: ids.mem } }
              : { op: HL_MEM_OP_ALLOC, alloc: { mem_size: 4096 } },
      }),
      // Debug mode on and off, and configuration ops in and out of it.
      HL_DEBUG: ({ pick }) =>
        pick < 4
          ? { op: HL_DEBUG_OP_SET_MODE, enable: pick & 1 }
          : { op: HL_DEBUG_OP_BMON, input_ptr: new Uint8Array(48), input_size: 48 * (pick & 1) },
      DRMSIM_HL_HW_NEXT: ({ pick }) => ({
        count: pick % 3,
        jobs: Array.from({ length: pick % 3 }, () => ({ exec_ns: 5000, flags: DRMSIM_HL_HW_EXEC_NS })),
      }),
    },
  },
];
