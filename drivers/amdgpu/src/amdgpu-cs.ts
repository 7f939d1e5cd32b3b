/**
 * Command submission (`amdgpu_cs.c`): `DRM_IOCTL_AMDGPU_CS` and `DRM_IOCTL_AMDGPU_WAIT_CS`.
 *
 * The ioctl follows the kernel's passes, and nothing is submitted unless every check passed:
 * 1. parse the chunks: IBs (one job per ring; IBs for several rings form a *gang* that starts
 *    together), dependencies on earlier submissions, syncobjs in and out, the BO list — `EINVAL`
 *    for an unknown chunk, IP, instance or ring, too many IBs for a ring or too many rings;
 * 2. look up every BO (`ENOENT`), context dependency (`EINVAL`) and syncobj (`ENOENT`); a guilty
 *    context or one from before a VRAM loss gets `ECANCELED`;
 * 3. fault in userptr pages (`hmm_range_fault`), remembering the notifier sequence;
 * 4. lock every BO (`drm_exec`), reserve fence slots, validate placement (swap in, re-map
 *    dynamic imports), collect implicit (resv) and explicit dependencies;
 * 5. under the notifier lock, check no userptr range was invalidated meanwhile (`EAGAIN`);
 * 6. point of no return: arm the jobs, make the gang leader wait for the others to be scheduled,
 *    add the fences to every BO's resv, push (leader last), install the out-syncobjs.
 */
import type { DmaFence } from "@drmsim/dma-fence";
import { DmaResvUsage, DrmExec } from "@drmsim/dma-resv";
import { type DrmFile, type DrmSyncobj, drmArgU, drmCheckZero, drmSyncobjTable } from "@drmsim/drm";
import { KernelError } from "@drmsim/runtime";
import type { AmdgpuCtxEntity } from "./amdgpu-ctx.js";
import { amdgpuDmaBufValidate } from "./amdgpu-dma-buf.js";
import {
  AMDGPU_CHUNK_ID_BO_HANDLES,
  AMDGPU_CHUNK_ID_DEPENDENCIES,
  AMDGPU_CHUNK_ID_FENCE,
  AMDGPU_CHUNK_ID_IB,
  AMDGPU_CHUNK_ID_SYNCOBJ_IN,
  AMDGPU_CHUNK_ID_SYNCOBJ_OUT,
  AMDGPU_CS_GANG_SIZE,
  AMDGPU_HW_IP_GFX,
  AMDGPU_RING_MAX_IBS,
  type DrmAmdgpuCs,
  type DrmAmdgpuWaitCs,
} from "./amdgpu-drm.js";
import type { AmdgpuFpriv } from "./amdgpu-fpriv.js";
import { amdgpuHmmRangeFault } from "./amdgpu-hmm.js";
import { type AmdgpuIb, AmdgpuJob } from "./amdgpu-job.js";
import { AmdgpuBo } from "./amdgpu-object.js";

/** Default execution time of an IB without `duration_ns`. */
export const AMDGPU_IB_DEFAULT_NS = 10_000;

interface ParsedJob {
  ip: number;
  ring: number;
  centity: AmdgpuCtxEntity;
  ibs: (Omit<AmdgpuIb, "fill"> & { fill?: AmdgpuIbFillArg })[];
}

function arrayOf(data: unknown, what: string): Record<string, unknown>[] {
  if (!Array.isArray(data) || data.some((e) => typeof e !== "object" || e === null))
    throw new KernelError("EINVAL", `AMDGPU_CS: ${what} chunk data must be an array of objects`);
  return data as Record<string, unknown>[];
}

/** `amdgpu_cs_ioctl`. See the module comment. Out: `args.handle`, the submission's sequence number. */
export async function amdgpuCsIoctl(fpriv: AmdgpuFpriv, file: DrmFile, args: DrmAmdgpuCs): Promise<void> {
  const adev = fpriv.adev;
  const sim = adev.sim;
  const a = args as unknown as Record<string, unknown>;
  const N = "AMDGPU_CS";
  drmCheckZero(a, "flags", N);
  const ctx = fpriv.ctxMgr.get(drmArgU(a, "ctx_id", N));
  if (drmArgU(a, "bo_list_handle", N, 0) !== 0)
    throw new KernelError("ENOENT", "AMDGPU_CS: no such BO list (pass the BOs in a BO_HANDLES chunk)");
  const chunks = a.chunks;
  if (!Array.isArray(chunks) || chunks.length === 0)
    throw new KernelError("EINVAL", "AMDGPU_CS: chunks must be a non-empty array");

  // Pass 1: parse.
  const jobs = new Map<AmdgpuCtxEntity, ParsedJob>();
  const deps: Record<string, unknown>[] = [];
  const syncIn: number[] = [];
  const syncOut: number[] = [];
  let boEntries: Record<string, unknown>[] | null = null;
  for (const c of chunks as Record<string, unknown>[]) {
    const id = typeof c === "object" && c !== null ? c.chunk_id : undefined;
    switch (id) {
      case AMDGPU_CHUNK_ID_IB: {
        const ib = c.data as Record<string, unknown>;
        if (typeof ib !== "object" || ib === null)
          throw new KernelError("EINVAL", "AMDGPU_CS: IB chunk without data");
        drmCheckZero(ib, "_pad", N);
        const ip = drmArgU(ib, "ip_type", N);
        const ring = drmArgU(ib, "ring", N);
        const centity = ctx.getEntity(ip, drmArgU(ib, "ip_instance", N, 0), ring);
        const durationNs = ib.duration_ns ?? AMDGPU_IB_DEFAULT_NS;
        if (typeof durationNs !== "number" || !Number.isFinite(durationNs) || durationNs < 0)
          throw new KernelError(
            "EINVAL",
            `AMDGPU_CS: duration_ns must be a finite number >= 0, got ${String(durationNs)}`,
          );
        let job = jobs.get(centity);
        if (job === undefined) {
          if (jobs.size >= AMDGPU_CS_GANG_SIZE)
            throw new KernelError("EINVAL", `AMDGPU_CS: a gang spans at most ${AMDGPU_CS_GANG_SIZE} rings`);
          job = { ip, ring, centity, ibs: [] };
          jobs.set(centity, job);
        }
        if (job.ibs.length >= AMDGPU_RING_MAX_IBS)
          throw new KernelError("EINVAL", `AMDGPU_CS: more than ${AMDGPU_RING_MAX_IBS} IBs for one ring`);
        const fill = parseFill(ib.fill);
        job.ibs.push({ durationNs, hang: ib.hang === true, ...(fill !== null ? { fill } : {}) });
        break;
      }
      case AMDGPU_CHUNK_ID_DEPENDENCIES:
        deps.push(...arrayOf(c.data, "DEPENDENCIES"));
        break;
      case AMDGPU_CHUNK_ID_SYNCOBJ_IN:
        for (const s of arrayOf(c.data, "SYNCOBJ_IN")) syncIn.push(drmArgU(s, "handle", N));
        break;
      case AMDGPU_CHUNK_ID_SYNCOBJ_OUT:
        for (const s of arrayOf(c.data, "SYNCOBJ_OUT")) syncOut.push(drmArgU(s, "handle", N));
        break;
      case AMDGPU_CHUNK_ID_BO_HANDLES:
        if (boEntries !== null) throw new KernelError("EINVAL", "AMDGPU_CS: more than one BO_HANDLES chunk");
        boEntries = arrayOf(c.data, "BO_HANDLES");
        break;
      case AMDGPU_CHUNK_ID_FENCE:
        throw new KernelError("EINVAL", "AMDGPU_CS: user fence chunks are not supported by this device");
      default:
        throw new KernelError("EINVAL", `AMDGPU_CS: unknown chunk id ${String(id)}`);
    }
  }
  if (jobs.size === 0) throw new KernelError("EINVAL", "AMDGPU_CS: no IB to submit");
  if (ctx.guilty.value) throw new KernelError("ECANCELED", `AMDGPU_CS: context ${ctx.id} caused a GPU hang`);
  if (ctx.vramLostCounter !== adev.vramLostCounter)
    throw new KernelError("ECANCELED", `AMDGPU_CS: VRAM was lost since context ${ctx.id} was created`);

  // Pass 2: look up everything (references), before anything changes.
  const bos: AmdgpuBo[] = [];
  const fences: DmaFence[] = [];
  const outs: DrmSyncobj[] = [];
  try {
    for (const e of boEntries ?? []) {
      const obj = file.gem.lookup(drmArgU(e, "bo_handle", N));
      if (!(obj instanceof AmdgpuBo)) {
        obj.put();
        throw new KernelError("EINVAL", "AMDGPU_CS: the handle does not name an amdgpu BO");
      }
      if (bos.includes(obj)) obj.put();
      else bos.push(obj);
    }
    for (const d of deps) {
      const dctx = fpriv.ctxMgr.get(drmArgU(d, "ctx_id", N));
      const ce = dctx.getEntity(
        drmArgU(d, "ip_type", N),
        drmArgU(d, "ip_instance", N, 0),
        drmArgU(d, "ring", N),
      );
      const f = ce.getFence(drmArgU(d, "handle", N));
      if (f !== null) fences.push(f);
    }
    const table = drmSyncobjTable(file);
    for (const h of syncIn) fences.push(await table.findFence(h, 0, 0));
    for (const h of syncOut) outs.push(table.lookup(h, "ENOENT"));

    // Pass 3: userptr pages.
    const userptrSeq = new Map<AmdgpuBo, number>();
    for (const bo of bos) if (bo.userptr !== null) userptrSeq.set(bo, await amdgpuHmmRangeFault(bo));

    // drmsim fill extension: the target must be in the BO list and the bytes inside the BO.
    const fillTargets = new Map<AmdgpuIbFillArg, AmdgpuBo>();
    for (const p of jobs.values())
      for (const ib of p.ibs) {
        const f = ib.fill;
        if (f === undefined) continue;
        const handle = f.handle;
        const bo = bos.find((b) => file.gem.peek(handle) === b);
        if (bo === undefined)
          throw new KernelError(
            "EINVAL",
            `AMDGPU_CS: fill target ${handle} is not in the submission's BO list`,
          );
        if (f.offset + f.data.length > bo.size)
          throw new KernelError(
            "EINVAL",
            `AMDGPU_CS: fill of ${f.data.length} bytes at ${f.offset} does not fit ${bo.label} (${bo.size} bytes)`,
          );
        fillTargets.set(f, bo);
      }

    const parsed = [...jobs.values()];
    // The gang leader: the gfx job if there is one (the kernel's choice), else the first.
    const leaderIdx = Math.max(
      0,
      parsed.findIndex((p) => p.ip === AMDGPU_HW_IP_GFX),
    );
    args.handle = await DrmExec.run(
      sim,
      { flags: { interruptible: true, ignoreDuplicates: true } },
      async (exec) => {
        // Pass 4: lock, validate, then reserve: validation may itself add a move fence (an exporter
        // migrating the buffer for us), which must not use up the slots meant for the job fences.
        for (const bo of bos) await exec.lockObj(bo);
        for (const bo of bos) {
          if (bo.isImported) await amdgpuDmaBufValidate(bo);
          else adev.mman.validateLocked(bo);
        }
        for (const bo of bos) bo.resv.reserveFences(parsed.length);
        const made = parsed.map((p) => {
          const job = new AmdgpuJob(adev, p.centity.entity, "cs", file);
          for (const ib of p.ibs) job.ibs.push({ durationNs: ib.durationNs, hang: ib.hang });
          job.vm = fpriv.vm;
          job.gangSize = parsed.length;
          return job;
        });
        try {
          for (const job of made) {
            for (const f of fences) job.addDependency(f.get());
            for (const bo of bos) job.addImplicitDependencies(bo, true);
          }
          // Pass 5: amdgpu_ttm_tt_get_user_pages_done under the notifier lock.
          for (const [bo, seq] of userptrSeq)
            if (bo.userptr!.seq !== seq)
              throw new KernelError(
                "EAGAIN",
                `AMDGPU_CS: the userptr range of ${bo.label} was invalidated; resubmit`,
              );
        } catch (e) {
          for (const job of made) job.cleanup();
          throw e;
        }
        // Pass 6: point of no return.
        for (const job of made) job.arm();
        made.forEach((job, i) => {
          const ibs = parsed[i]!.ibs;
          for (let k = 0; k < ibs.length; k++) {
            const f = ibs[k]!.fill;
            if (f !== undefined)
              job.ibs[k]!.fill = { bo: fillTargets.get(f)!.get(), offset: f.offset, data: f.data };
          }
        });
        const leader = made[leaderIdx]!;
        for (const job of made) {
          if (job !== leader) leader.addDependency(job.scheduled.get());
          job.gangSubmit = leader.scheduled.get();
        }
        for (const bo of bos) for (const job of made) bo.resv.addFence(job.finished, DmaResvUsage.WRITE);
        for (const job of made) if (job !== leader) job.entity.pushJob(job);
        leader.entity.pushJob(leader);
        const seq = parsed[leaderIdx]!.centity.addFence(leader.finished);
        for (const s of outs) s.replaceFence(leader.finished);
        return seq;
      },
    );
  } finally {
    for (const bo of bos) bo.put();
    for (const f of fences) f.put();
    for (const s of outs) s.put();
  }
}

/**
 * `amdgpu_cs_wait_ioctl`: wait until submission `handle` of the context's ring finished, or the
 * absolute `timeout` (virtual ns) passed. Out `status`: 0 done, 1 still busy. `EINVAL` for an
 * unknown context, ring or a handle not submitted yet.
 */
export async function amdgpuCsWaitIoctl(fpriv: AmdgpuFpriv, args: DrmAmdgpuWaitCs): Promise<void> {
  const a = args as unknown as Record<string, unknown>;
  const N = "AMDGPU_WAIT_CS";
  const ctx = fpriv.ctxMgr.get(drmArgU(a, "ctx_id", N));
  const ce = ctx.getEntity(drmArgU(a, "ip_type", N), drmArgU(a, "ip_instance", N, 0), drmArgU(a, "ring", N));
  const timeout = drmArgU(a, "timeout", N);
  const f = ce.getFence(drmArgU(a, "handle", N));
  if (f === null) {
    args.status = 0;
    return;
  }
  try {
    const now = fpriv.adev.sim.now;
    const left = await f.wait({ interruptible: true, timeoutNs: Math.max(0, timeout - now) });
    args.status = left > 0 || f.signaled ? 0 : 1;
  } finally {
    f.put();
  }
}

/** A parsed `fill` extension of an IB chunk, before its handle is resolved. */
interface AmdgpuIbFillArg {
  handle: number;
  offset: number;
  data: Uint8Array;
}

/** Checks the drmsim `fill` extension of an IB chunk (`EINVAL` for a malformed one); null if absent. */
function parseFill(raw: unknown): AmdgpuIbFillArg | null {
  if (raw === undefined) return null;
  if (typeof raw !== "object" || raw === null)
    throw new KernelError("EINVAL", "AMDGPU_CS: fill must be an object");
  const r = raw as Record<string, unknown>;
  const handle = drmArgU(r, "bo_handle", "AMDGPU_CS fill");
  const offset = drmArgU(r, "offset", "AMDGPU_CS fill", 0);
  const d = r.data;
  if (
    !(d instanceof Uint8Array) &&
    !(Array.isArray(d) && d.every((b) => Number.isInteger(b) && b >= 0 && b <= 255))
  )
    throw new KernelError("EINVAL", "AMDGPU_CS: fill.data must be a Uint8Array or an array of bytes");
  return { handle, offset, data: Uint8Array.from(d as ArrayLike<number>) };
}
