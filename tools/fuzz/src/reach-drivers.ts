/**
 * What the reachability oracle (invariant 8, `reach.ts`) knows of each built-in driver's own
 * tables: the ids each file holds (`objects`), member names that mislead (`members`), and per
 * ioctl the corrections to the references found by member name (`refs`). Kept apart from the
 * drivers' templates (`drivers.ts`) so that a driver's uAPI can change its templates without
 * touching this, and the other way round. A driver defined elsewhere (a test's) says the same in
 * its `FuzzDriver.reach`.
 */
import {
  AMDGPU_CHUNK_ID_DEPENDENCIES,
  AMDGPU_CHUNK_ID_SYNCOBJ_IN,
  AMDGPU_CHUNK_ID_SYNCOBJ_OUT,
  AMDGPU_CTX_OP_ALLOC_CTX,
  AMDGPU_USERQ_OP_FREE,
  amdgpuFprivOf,
} from "@drmsim/amdgpu";
import { asahiFileOf } from "@drmsim/asahi";
import type { DrmFile } from "@drmsim/drm";
import {
  HL_CB_OP_CREATE,
  HL_CB_OP_DESTROY,
  HL_CB_OP_INFO,
  HL_CS_FLAGS_SIGNAL,
  HL_CS_FLAGS_WAIT,
  HL_MEM_OP_ALLOC,
  HL_MEM_OP_FREE,
  HL_MEM_OP_MAP,
  HL_MEM_USERPTR,
  HlQueueType,
  hlFprivOf,
} from "@drmsim/habanalabs";
import { vgemFileOf } from "@drmsim/vgem";
import type { FuzzDriver } from "./drivers.js";
import type { FuzzRef, RefTable } from "./reach.js";

/**
 * Corrects the references `namedRefs` found by member name in one ioctl's argument (see
 * `reach.ts`): drops members an op does not read or whose name misleads (a `handle` that is a
 * sequence number), re-tables others (a `handle` that is a syncobj), adds what names alone miss.
 */
export type FuzzRefsFix = (
  args: Record<string, unknown>,
  found: FuzzRef[],
  file: DrmFile | undefined,
) => FuzzRef[];

/** What the oracle knows of one driver's tables. */
export interface FuzzReach {
  /**
   * The ids in each of the driver's per-file tables (`ctx`, `vm`, `queue`, …: the tables its
   * members name), for the oracle and for generating other files' ids.
   */
  objects?(file: DrmFile): Readonly<Record<string, readonly number[]>>;
  /** Member names that name one of the driver's tables (`fence: "fence"`), or never name anything (`null`). */
  readonly members?: Readonly<Record<string, RefTable | null>>;
  /** Per ioctl, the correction to the references found by member name. */
  readonly refs?: Readonly<Record<string, FuzzRefsFix>>;
}

/** The references of `found` except the one at `path` (dotted). */
const dropPath = (found: FuzzRef[], path: string): FuzzRef[] =>
  found.filter((r) => r.path.join(".") !== path);

/** The `in` member of a union argument (amdgpu, habanalabs), as plain data. */
const inOf = (args: Record<string, unknown>): Record<string, unknown> =>
  (args.in ?? {}) as Record<string, unknown>;

/** The references of `found` except those whose member (last path element) is `member`. */
const without = (found: FuzzRef[], member: string): FuzzRef[] =>
  found.filter((r) => r.path.at(-1) !== member);

/** The built-in drivers' tables, by driver name. */
export const BUILTIN_REACH: Readonly<Record<string, FuzzReach>> = {
  vgem: {
    objects: (file) => ({
      fence: [...vgemFileOf(file).fences].filter(([, f]) => f !== null).map(([id]) => id),
    }),
    members: { fence: "fence", out_fence: "fence" },
  },
  asahi: {
    objects: (file) => {
      const af = asahiFileOf(file);
      return { vm: af.vms.ids(), queue: [...af.queues.keys()] };
    },
    refs: {
      // drm_asahi_sync.handle is a syncobj.
      ASAHI_SUBMIT: (_args, found) =>
        found.map((r) => (r.path[0] === "syncs" ? { ...r, table: "syncobj" } : r)),
    },
  },
  amdgpu: {
    objects: (file) => {
      const fpriv = amdgpuFprivOf(file);
      return { ctx: [...fpriv.ctxMgr.ctxs.keys()], queue: [...fpriv.userq.queues.keys()] };
    },
    refs: {
      // ALLOC_CTX reads no context id; the others read in.ctx_id.
      AMDGPU_CTX: (args, found) =>
        inOf(args).op === AMDGPU_CTX_OP_ALLOC_CTX ? dropPath(found, "in.ctx_id") : found,
      // in.ctx_id names a context of the file behind in.fd (a master's reach, by design), and the
      // process-wide op reads none.
      AMDGPU_SCHED: (_args, found) => dropPath(found, "in.ctx_id"),
      // in.handle is the sequence number to wait for.
      AMDGPU_WAIT_CS: (_args, found) => dropPath(found, "in.handle"),
      // CREATE reads the BO handles, FREE the queue id.
      AMDGPU_USERQ: (args, found) =>
        inOf(args).op === AMDGPU_USERQ_OP_FREE
          ? without(found, "bo_handles")
          : dropPath(found, "in.queue_id"),
      // Chunk data is read by chunk id: a dependency's `handle` is a sequence number (its ctx_id a
      // context of this file), a syncobj chunk's `handle` a syncobj.
      AMDGPU_CS: (args, found) => {
        const chunks = inOf(args).chunks;
        const idOf = (r: FuzzRef) =>
          r.path[1] === "chunks" && Array.isArray(chunks)
            ? (chunks[r.path[2] as number] as { chunk_id?: unknown } | undefined)?.chunk_id
            : undefined;
        return found.flatMap((r): FuzzRef[] => {
          if (r.path.at(-1) !== "handle") return [r];
          const id = idOf(r);
          if (id === AMDGPU_CHUNK_ID_DEPENDENCIES) return [];
          if (id === AMDGPU_CHUNK_ID_SYNCOBJ_IN || id === AMDGPU_CHUNK_ID_SYNCOBJ_OUT)
            return [{ ...r, table: "syncobj" }];
          return [r];
        });
      },
    },
  },
  habanalabs: {
    objects: (file) => {
      const ctx = hlFprivOf(file).ctx;
      return {
        cb: [...ctx.cbs].filter(([, cb]) => !cb.destroyed).map(([h]) => h),
        mem: [...ctx.memHandles.keys()],
      };
    },
    // ctx_id must be 0 where it is read: the file has one context.
    members: { ctx_id: null },
    refs: {
      HL_CB: (args) => {
        const op = inOf(args).op;
        if (op === HL_CB_OP_CREATE) return [{ path: ["out", "cb_handle"], table: "cb" }];
        return op === HL_CB_OP_DESTROY || op === HL_CB_OP_INFO
          ? [{ path: ["in", "cb_handle"], table: "cb" }]
          : [];
      },
      // Memory handles, not GEM handles; `out.fd` (EXPORT_DMABUF_FD) stays an fd.
      HL_MEMORY: (args, found) => {
        const { op, flags } = inOf(args);
        const fd = found.filter((r) => r.table === "fd");
        if (op === HL_MEM_OP_ALLOC) return [...fd, { path: ["out", "handle"], table: "mem" }];
        if (op === HL_MEM_OP_FREE) return [...fd, { path: ["in", "free", "handle"], table: "mem" }];
        if (op === HL_MEM_OP_MAP && (Number(flags) & HL_MEM_USERPTR) === 0)
          return [...fd, { path: ["in", "map_device", "handle"], table: "mem" }];
        return fd;
      },
      // A default CS names a CB per chunk on an external queue (an internal queue's cb_handle is a
      // device address); signal and wait CSs name none.
      HL_CS: (args, _found, file) => {
        const a = inOf(args);
        if ((Number(a.cs_flags) & (HL_CS_FLAGS_SIGNAL | HL_CS_FLAGS_WAIT)) !== 0 || file === undefined)
          return [];
        const hdev = hlFprivOf(file).ctx.hdev;
        const out: FuzzRef[] = [];
        for (const list of ["chunks_restore", "chunks_execute"] as const) {
          const chunks = a[list];
          if (!Array.isArray(chunks)) continue;
          chunks.forEach((c: { queue_index?: unknown }, i) => {
            const q = hdev.queues[Number(c?.queue_index)];
            if (q?.props.type === HlQueueType.EXT)
              out.push({ path: ["in", list, i, "cb_handle"], table: "cb" });
          });
        }
        return out;
      },
    },
  },
};

/** What the oracle knows of `driver`'s tables: its own `reach`, else the built-in entry for its name. */
export function reachOf(driver: FuzzDriver | undefined): FuzzReach | undefined {
  if (driver === undefined) return undefined;
  return driver.reach ?? BUILTIN_REACH[driver.name];
}
