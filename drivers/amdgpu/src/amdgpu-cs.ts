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
import { type DrmFile, type DrmSyncobj, drmSyncobjTable } from "@drmsim/drm";
import { KernelError, type UapiValue, uapiNsToNumber } from "@drmsim/runtime";
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
  drm_amdgpu_bo_list_entry,
  drm_amdgpu_bo_list_in,
  type drm_amdgpu_cs,
  type drm_amdgpu_cs_chunk,
  drm_amdgpu_cs_chunk_dep,
  drm_amdgpu_cs_chunk_ib,
  drm_amdgpu_cs_chunk_sem,
  type drm_amdgpu_wait_cs,
} from "./amdgpu-drm.js";
import type { AmdgpuFpriv } from "./amdgpu-fpriv.js";
import { amdgpuHmmRangeFault } from "./amdgpu-hmm.js";
import {
  type AmdgpuIbMemArgs,
  amdgpuIbMemArgs,
  amdgpuIbMemCheck,
  amdgpuIbMemHold,
  amdgpuIbMemResolve,
} from "./amdgpu-ib-mem.js";
import { type AmdgpuIb, AmdgpuJob } from "./amdgpu-job.js";
import { AmdgpuBo } from "./amdgpu-object.js";

interface ParsedJob {
  ip: number;
  ring: number;
  centity: AmdgpuCtxEntity;
  ibs: (Omit<AmdgpuIb, "mem"> & { mem: AmdgpuIbMemArgs })[];
}

type Chunk = UapiValue<typeof drm_amdgpu_cs_chunk>;
type Dep = UapiValue<typeof drm_amdgpu_cs_chunk_dep>;

/** A chunk's data as an array of `layout`s: `length_dw * 4 / sizeof` of them, as the kernel counts. */
function chunkArray<L extends typeof drm_amdgpu_cs_chunk_dep | typeof drm_amdgpu_cs_chunk_sem>(
  c: Chunk,
  layout: L,
): UapiValue<L>[] {
  return c.chunk_data.as<UapiValue<L>>(layout).read(Math.floor((c.length_dw * 4) / layout.size));
}

/** A chunk's data as one `layout`; `EINVAL` if `length_dw` is too short for it (`amdgpu_cs_pass1`). */
function chunkStruct<L extends typeof drm_amdgpu_cs_chunk_ib | typeof drm_amdgpu_bo_list_in>(
  c: Chunk,
  layout: L,
): UapiValue<L> {
  if (c.length_dw * 4 < layout.size)
    throw new KernelError("EINVAL", `AMDGPU_CS: a chunk of ${c.length_dw} dwords cannot hold ${layout.name}`);
  return c.chunk_data.as<UapiValue<L>>(layout).read(1)[0]!;
}

/** `amdgpu_cs_ioctl`. See the module comment. Out: `out.handle`, the submission's sequence number. */
export async function amdgpuCsIoctl(
  fpriv: AmdgpuFpriv,
  file: DrmFile,
  args: UapiValue<typeof drm_amdgpu_cs>,
): Promise<void> {
  const adev = fpriv.adev;
  const sim = adev.sim;
  const cs = args.in;
  if (cs.flags !== 0) throw new KernelError("EINVAL", `AMDGPU_CS: flags must be 0, got ${cs.flags}`);
  const ctx = fpriv.ctxMgr.get(cs.ctx_id);
  if (cs.bo_list_handle !== 0)
    throw new KernelError("ENOENT", "AMDGPU_CS: no such BO list (pass the BOs in a BO_HANDLES chunk)");
  if (cs.num_chunks === 0) throw new KernelError("EINVAL", "AMDGPU_CS: no chunks");

  // Pass 1 (amdgpu_cs_pass1): copy in every chunk, then parse it by its id.
  const chunks = cs.chunks.read().map((p) => p.read(1)[0]!);
  const jobs = new Map<AmdgpuCtxEntity, ParsedJob>();
  const deps: Dep[] = [];
  const syncIn: number[] = [];
  const syncOut: number[] = [];
  let boEntries: UapiValue<typeof drm_amdgpu_bo_list_entry>[] | null = null;
  for (const c of chunks) {
    switch (c.chunk_id) {
      case AMDGPU_CHUNK_ID_IB: {
        const ib = chunkStruct(c, drm_amdgpu_cs_chunk_ib);
        const centity = ctx.getEntity(ib.ip_type, ib.ip_instance, ib.ring);
        let job = jobs.get(centity);
        if (job === undefined) {
          if (jobs.size >= AMDGPU_CS_GANG_SIZE)
            throw new KernelError("EINVAL", `AMDGPU_CS: a gang spans at most ${AMDGPU_CS_GANG_SIZE} rings`);
          job = { ip: ib.ip_type, ring: ib.ring, centity, ibs: [] };
          jobs.set(centity, job);
        }
        if (job.ibs.length >= AMDGPU_RING_MAX_IBS)
          throw new KernelError("EINVAL", `AMDGPU_CS: more than ${AMDGPU_RING_MAX_IBS} IBs for one ring`);
        job.ibs.push({ durationNs: ib.duration_ns, hang: ib.hang, mem: amdgpuIbMemArgs(ib) });
        break;
      }
      case AMDGPU_CHUNK_ID_DEPENDENCIES:
        deps.push(...chunkArray(c, drm_amdgpu_cs_chunk_dep));
        break;
      case AMDGPU_CHUNK_ID_SYNCOBJ_IN:
        for (const sem of chunkArray(c, drm_amdgpu_cs_chunk_sem)) syncIn.push(sem.handle);
        break;
      case AMDGPU_CHUNK_ID_SYNCOBJ_OUT:
        for (const sem of chunkArray(c, drm_amdgpu_cs_chunk_sem)) syncOut.push(sem.handle);
        break;
      case AMDGPU_CHUNK_ID_BO_HANDLES: {
        // Only a single BO list is allowed, to simplify handling.
        if (boEntries !== null) throw new KernelError("EINVAL", "AMDGPU_CS: more than one BO_HANDLES chunk");
        const list = chunkStruct(c, drm_amdgpu_bo_list_in);
        if (list.bo_number > 0 && list.bo_info_size < drm_amdgpu_bo_list_entry.size)
          throw new KernelError(
            "EINVAL",
            `AMDGPU_CS: bo_info_size ${list.bo_info_size} is smaller than an entry`,
          );
        boEntries = list.bo_info_ptr.read();
        break;
      }
      case AMDGPU_CHUNK_ID_FENCE:
        throw new KernelError("EINVAL", "AMDGPU_CS: user fence chunks are not supported by this device");
      default:
        throw new KernelError("EINVAL", `AMDGPU_CS: unknown chunk id ${c.chunk_id}`);
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
      const obj = file.gem.lookup(e.bo_handle);
      if (!(obj instanceof AmdgpuBo)) {
        obj.put();
        throw new KernelError("EINVAL", "AMDGPU_CS: the handle does not name an amdgpu BO");
      }
      if (bos.includes(obj)) obj.put();
      else bos.push(obj);
    }
    for (const d of deps) {
      const dctx = fpriv.ctxMgr.get(d.ctx_id);
      const ce = dctx.getEntity(d.ip_type, d.ip_instance, d.ring);
      const f = ce.getFence(d.handle);
      if (f !== null) fences.push(f);
    }
    const table = drmSyncobjTable(file);
    for (const h of syncIn) fences.push(await table.findFence(h, 0n, 0));
    for (const h of syncOut) outs.push(table.lookup(h, "ENOENT"));

    // Pass 3: userptr pages.
    const userptrSeq = new Map<AmdgpuBo, number>();
    for (const bo of bos) if (bo.userptr !== null) userptrSeq.set(bo, await amdgpuHmmRangeFault(bo));

    // drmsim memory extension (fill, copy): targets in the BO list, ranges inside them.
    for (const p of jobs.values()) for (const ib of p.ibs) amdgpuIbMemCheck(file, bos, ib.mem);

    const parsed = [...jobs.values()];
    // The gang leader: the gfx job if there is one (the kernel's choice), else the first.
    const leaderIdx = Math.max(
      0,
      parsed.findIndex((p) => p.ip === AMDGPU_HW_IP_GFX),
    );
    args.out.handle = await DrmExec.run(
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
        // Where the IBs' writes will land: the memory the BOs are now placed in / mapped to.
        const mems = parsed.map((p) => p.ibs.map((ib) => amdgpuIbMemResolve(file, ib.mem)));
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
          mems[i]!.forEach((m, k) => {
            if (m !== undefined) job.ibs[k]!.mem = amdgpuIbMemHold(m);
          });
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
        return BigInt(seq);
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
export async function amdgpuCsWaitIoctl(
  fpriv: AmdgpuFpriv,
  args: UapiValue<typeof drm_amdgpu_wait_cs>,
): Promise<void> {
  const w = args.in;
  const ce = fpriv.ctxMgr.get(w.ctx_id).getEntity(w.ip_type, w.ip_instance, w.ring);
  const f = ce.getFence(w.handle);
  if (f === null) {
    args.out.status = 0n;
    return;
  }
  try {
    const now = fpriv.adev.sim.now;
    const timeout = uapiNsToNumber(w.timeout);
    const left = await f.wait({
      interruptible: true,
      timeoutNs: timeout === Number.POSITIVE_INFINITY ? undefined : Math.max(0, timeout - now),
    });
    args.out.status = left > 0 || f.signaled ? 0n : 1n;
  } finally {
    f.put();
  }
}
