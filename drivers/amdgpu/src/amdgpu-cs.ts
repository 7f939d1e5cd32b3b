/**
 * Command submission (`amdgpu_cs.c`): `DRM_IOCTL_AMDGPU_CS`.
 *
 * The ioctl follows the kernel's passes, and nothing is submitted unless every check passed:
 * 1. pass 1 copies the chunks in: IBs (one job per ring; IBs for several rings form a *gang*,
 *    whose leader is the job of the *last* IB chunk), the user fence, the BO list — `EINVAL` for
 *    an unknown chunk, IP, instance or ring, too many IBs for a ring or too many rings;
 * 2. pass 2 resolves them: each IB's address in the VM (`amdgpu_cs_find_mapping`: it must lie
 *    inside one mapping — see `DIFFERENCES.md`), dependencies on earlier submissions (finished,
 *    or only *scheduled* for SCHEDULED_DEPENDENCIES), binary and timeline syncobjs to wait for,
 *    and the syncobjs to signal (one SYNCOBJ_OUT or TIMELINE_SIGNAL chunk);
 * 3. the BOs: the BO list's (from the chunk or a BO_LIST handle), faulted in for userptrs, locked
 *    with the VM's root and the user fence BO (`drm_exec`), validated;
 * 4. VM handling: freed ranges cleared, moved BOs' entries updated, and every job waits for the
 *    VM's last page-table update;
 * 5. implicit sync: each locked BO's KERNEL/WRITE/READ fences in mode `NE_OWNER` — not the
 *    caller's own VM's fences — or, for `AMDGPU_GEM_CREATE_EXPLICIT_SYNC` BOs, only ownerless
 *    ones (`amdgpu-sync.ts`); every gang job gets every dependency;
 * 6. under the notifier lock, no userptr range was invalidated meanwhile (`EAGAIN`);
 * 7. point of no return: the leader waits for the others to be scheduled, the non-leaders' fences
 *    go on every BO as READ and the leader's as WRITE, the syncobjs get the leader's fence, the
 *    context remembers it under the returned sequence number.
 *
 * The fence ioctls that name a submission by (context, ring, sequence) live here too: WAIT_CS,
 * WAIT_FENCES and FENCE_TO_HANDLE.
 */
import { type DmaFence, dmaFenceGetStub, dmaFenceWaitAny, syncFileInstall } from "@drmsim/dma-fence";
import { DmaResvUsage, DrmExec } from "@drmsim/dma-resv";
import {
  type DrmFile,
  type DrmSyncobj,
  drmSyncobjGetFd,
  drmSyncobjTable,
  DrmSyncobj as Syncobj,
} from "@drmsim/drm";
import { toDrmSchedFence } from "@drmsim/drm-sched";
import { errnoName, KernelError, type Process, type UapiValue, uapiNsToNumber } from "@drmsim/runtime";
import { AmdgpuBoList, amdgpuBoListCreate, amdgpuBoListEntries } from "./amdgpu-bo-list.js";
import type { AmdgpuCtx, AmdgpuCtxEntity } from "./amdgpu-ctx.js";
import { amdgpuDmaBufValidate } from "./amdgpu-dma-buf.js";
import {
  AMDGPU_CHUNK_ID_BO_HANDLES,
  AMDGPU_CHUNK_ID_CP_GFX_SHADOW,
  AMDGPU_CHUNK_ID_DEPENDENCIES,
  AMDGPU_CHUNK_ID_FENCE,
  AMDGPU_CHUNK_ID_IB,
  AMDGPU_CHUNK_ID_SCHEDULED_DEPENDENCIES,
  AMDGPU_CHUNK_ID_SYNCOBJ_IN,
  AMDGPU_CHUNK_ID_SYNCOBJ_OUT,
  AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_SIGNAL,
  AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_WAIT,
  AMDGPU_CS_CHUNK_CP_GFX_SHADOW_FLAGS_INIT_SHADOW,
  AMDGPU_CS_GANG_SIZE,
  AMDGPU_FENCE_TO_HANDLE_GET_SYNC_FILE_FD,
  AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ,
  AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ_FD,
  AMDGPU_GEM_CREATE_EXPLICIT_SYNC,
  AMDGPU_HW_IP_GFX,
  AMDGPU_IB_FLAG_CE,
  AMDGPU_IB_FLAG_PREEMPT,
  drm_amdgpu_bo_list_in,
  type drm_amdgpu_cs,
  type drm_amdgpu_cs_chunk,
  drm_amdgpu_cs_chunk_cp_gfx_shadow,
  drm_amdgpu_cs_chunk_dep,
  drm_amdgpu_cs_chunk_fence,
  drm_amdgpu_cs_chunk_ib,
  drm_amdgpu_cs_chunk_sem,
  drm_amdgpu_cs_chunk_syncobj,
  type drm_amdgpu_fence,
  type drm_amdgpu_fence_to_handle,
  type drm_amdgpu_wait_cs,
  type drm_amdgpu_wait_fences,
} from "./amdgpu-drm.js";
import type { AmdgpuFpriv } from "./amdgpu-fpriv.js";
import { amdgpuHmmRangeFault } from "./amdgpu-hmm.js";
import { type AmdgpuIb, AmdgpuJob } from "./amdgpu-job.js";
import { amdgpuRingMaxIbs } from "./amdgpu-kms.js";
import { AmdgpuBo } from "./amdgpu-object.js";
import { AmdgpuSync, AmdgpuSyncMode } from "./amdgpu-sync.js";
import { AMDGPU_GMC_HOLE_MASK, AMDGPU_GPU_PAGE_SIZE } from "./amdgpu-vm.js";

const N = "AMDGPU_CS";

type Chunk = UapiValue<typeof drm_amdgpu_cs_chunk>;
type ChunkIb = UapiValue<typeof drm_amdgpu_cs_chunk_ib>;

/** A chunk's data as an array of `layout`s: `length_dw * 4 / sizeof` of them, as the kernel counts. */
function chunkArray<
  L extends
    | typeof drm_amdgpu_cs_chunk_dep
    | typeof drm_amdgpu_cs_chunk_sem
    | typeof drm_amdgpu_cs_chunk_syncobj,
>(c: Chunk, layout: L): UapiValue<L>[] {
  return c.chunk_data.as<UapiValue<L>>(layout).read(Math.floor((c.length_dw * 4) / layout.size));
}

/** A chunk's data as one `layout`; `EINVAL` if `length_dw` is too short for it (`amdgpu_cs_pass1`). */
function chunkStruct<
  L extends
    | typeof drm_amdgpu_cs_chunk_ib
    | typeof drm_amdgpu_bo_list_in
    | typeof drm_amdgpu_cs_chunk_fence
    | typeof drm_amdgpu_cs_chunk_cp_gfx_shadow,
>(c: Chunk, layout: L): UapiValue<L> {
  if (c.length_dw * 4 < layout.size)
    throw new KernelError("EINVAL", `${N}: a chunk of ${c.length_dw} dwords cannot hold ${layout.name}`);
  return c.chunk_data.as<UapiValue<L>>(layout).read(1)[0]!;
}

/** One job of the gang being built: its context entity and its IB chunks. */
interface ParsedJob {
  centity: AmdgpuCtxEntity;
  ibs: ChunkIb[];
}

/** An out syncobj and the point it gets (0: replace the fence). */
interface PostDep {
  syncobj: DrmSyncobj;
  point: bigint;
}

/**
 * `amdgpu_cs_job_idx`: the gang slot of an IB's ring, adding one. `EINVAL` for an unknown ring or
 * a fifth ring.
 */
function jobIdx(ctx: AmdgpuCtx, jobs: ParsedJob[], ib: ChunkIb): number {
  const centity = ctx.getEntity(ib.ip_type, ib.ip_instance, ib.ring);
  const i = jobs.findIndex((j) => j.centity === centity);
  if (i >= 0) return i;
  if (jobs.length === AMDGPU_CS_GANG_SIZE)
    throw new KernelError("EINVAL", `${N}: a gang spans at most ${AMDGPU_CS_GANG_SIZE} rings`);
  jobs.push({ centity, ibs: [] });
  return jobs.length - 1;
}

/** `amdgpu_cs_ioctl`. See the module comment. Out: `out.handle`, the submission's sequence number. */
export async function amdgpuCsIoctl(
  fpriv: AmdgpuFpriv,
  file: DrmFile,
  args: UapiValue<typeof drm_amdgpu_cs>,
  caller: Process,
): Promise<void> {
  const adev = fpriv.adev;
  const vm = fpriv.vm;
  const cs = args.in;
  // amdgpu_cs_parser_init.
  if (cs.num_chunks === 0) throw new KernelError("EINVAL", `${N}: no chunks`);
  const ctx = fpriv.ctxMgr.get(cs.ctx_id);
  if (ctx.guilty.value) throw new KernelError("ECANCELED", `${N}: context ${ctx.id} caused a GPU hang`);

  // Pass 1 (amdgpu_cs_pass1): copy in every chunk and go over it a first time.
  const chunks = cs.chunks.read().map((p) => p.read(1)[0]!);
  const jobs: ParsedJob[] = [];
  let leaderIdx = 0;
  let userFence: UapiValue<typeof drm_amdgpu_cs_chunk_fence> | null = null;
  let listEntries: { bo_handle: number; bo_priority: number }[] | null = null;
  for (const c of chunks) {
    switch (c.chunk_id) {
      case AMDGPU_CHUNK_ID_IB: {
        const ib = chunkStruct(c, drm_amdgpu_cs_chunk_ib);
        const r = jobIdx(ctx, jobs, ib);
        if (jobs[r]!.ibs.length >= amdgpuRingMaxIbs(ib.ip_type))
          throw new KernelError("EINVAL", `${N}: more than ${amdgpuRingMaxIbs(ib.ip_type)} IBs for one ring`);
        jobs[r]!.ibs.push(ib);
        leaderIdx = r;
        break;
      }
      case AMDGPU_CHUNK_ID_FENCE:
        userFence = chunkStruct(c, drm_amdgpu_cs_chunk_fence);
        break;
      case AMDGPU_CHUNK_ID_BO_HANDLES:
        // Only a single BO list is allowed, to simplify handling.
        if (listEntries !== null) throw new KernelError("EINVAL", `${N}: more than one BO_HANDLES chunk`);
        listEntries = amdgpuBoListEntries(chunkStruct(c, drm_amdgpu_bo_list_in));
        break;
      case AMDGPU_CHUNK_ID_DEPENDENCIES:
      case AMDGPU_CHUNK_ID_SYNCOBJ_IN:
      case AMDGPU_CHUNK_ID_SYNCOBJ_OUT:
      case AMDGPU_CHUNK_ID_SCHEDULED_DEPENDENCIES:
      case AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_WAIT:
      case AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_SIGNAL:
      case AMDGPU_CHUNK_ID_CP_GFX_SHADOW:
        break;
      default:
        throw new KernelError("EINVAL", `${N}: unknown chunk id ${c.chunk_id}`);
    }
  }
  if (jobs.length === 0) throw new KernelError("EINVAL", `${N}: no IB to submit`);
  if (ctx.vramLostCounter !== adev.vramLostCounter)
    throw new KernelError("ECANCELED", `${N}: VRAM was lost since context ${ctx.id} was created`);

  const sync = new AmdgpuSync();
  const postDeps: PostDep[] = [];
  const made: AmdgpuJob[] = [];
  let list: AmdgpuBoList | null = null;
  let ufBo: AmdgpuBo | null = null;
  let armed = false;
  try {
    // The user fence BO (amdgpu_cs_p1_user_fence): exactly a page, the value inside it, not userptr.
    if (userFence !== null) {
      const obj = file.gem.peek(userFence.handle);
      if (!(obj instanceof AmdgpuBo))
        throw new KernelError("EINVAL", `${N}: user fence handle ${userFence.handle} is not an amdgpu BO`);
      if (obj.size !== 4096 || userFence.offset > obj.size - 8 || obj.userptr !== null)
        throw new KernelError(
          "EINVAL",
          `${N}: a user fence needs a one-page, non-userptr BO and an offset of at most ${4096 - 8}`,
        );
      ufBo = obj.get() as AmdgpuBo;
    }
    for (const p of jobs) {
      const job = new AmdgpuJob(adev, p.centity.entity, "cs", vm);
      job.vm = vm;
      job.gangSize = jobs.length;
      made.push(job);
    }

    // Pass 2 (amdgpu_cs_pass2).
    const table = drmSyncobjTable(file);
    let cePreempt = 0;
    let dePreempt = 0;
    const ibChunks: ChunkIb[][] = jobs.map(() => []);
    for (const c of chunks) {
      switch (c.chunk_id) {
        case AMDGPU_CHUNK_ID_IB: {
          const chunkIb = chunkStruct(c, drm_amdgpu_cs_chunk_ib);
          const r = jobIdx(ctx, jobs, chunkIb);
          if (chunkIb.ip_type === AMDGPU_HW_IP_GFX && (chunkIb.flags & AMDGPU_IB_FLAG_PREEMPT) !== 0) {
            if ((chunkIb.flags & AMDGPU_IB_FLAG_CE) !== 0) cePreempt++;
            else dePreempt++;
            if (cePreempt > 1 || dePreempt > 1)
              throw new KernelError(
                "EINVAL",
                `${N}: at most one preemptible IB per CE and DE in a gfx submission`,
              );
          }
          ibChunks[r]!.push(chunkIb);
          break;
        }
        case AMDGPU_CHUNK_ID_DEPENDENCIES:
        case AMDGPU_CHUNK_ID_SCHEDULED_DEPENDENCIES:
          for (const d of chunkArray(c, drm_amdgpu_cs_chunk_dep)) {
            const dctx = fpriv.ctxMgr.get(d.ctx_id);
            const f = dctx.getEntity(d.ip_type, d.ip_instance, d.ring).getFence(d.handle);
            if (f === null) continue;
            const s = c.chunk_id === AMDGPU_CHUNK_ID_SCHEDULED_DEPENDENCIES ? toDrmSchedFence(f) : null;
            sync.add(s !== null ? s.scheduled : f);
            f.put();
          }
          break;
        case AMDGPU_CHUNK_ID_SYNCOBJ_IN:
          for (const s of chunkArray(c, drm_amdgpu_cs_chunk_sem)) {
            const f = await table.findFence(s.handle, 0n, 0);
            sync.add(f);
            f.put();
          }
          break;
        case AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_WAIT:
          for (const s of chunkArray(c, drm_amdgpu_cs_chunk_syncobj)) {
            const f = await table.findFence(s.handle, s.point, s.flags);
            sync.add(f);
            f.put();
          }
          break;
        case AMDGPU_CHUNK_ID_SYNCOBJ_OUT:
        case AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_SIGNAL: {
          if (postDeps.length > 0)
            throw new KernelError(
              "EINVAL",
              `${N}: only one SYNCOBJ_OUT or TIMELINE_SIGNAL chunk per submission`,
            );
          const outs =
            c.chunk_id === AMDGPU_CHUNK_ID_SYNCOBJ_OUT
              ? chunkArray(c, drm_amdgpu_cs_chunk_sem).map((s) => ({ handle: s.handle, point: 0n }))
              : chunkArray(c, drm_amdgpu_cs_chunk_syncobj);
          for (const o of outs) {
            const s = table.find(o.handle);
            if (s === null) throw new KernelError("EINVAL", `${N}: no syncobj ${o.handle} to signal`);
            postDeps.push({ syncobj: s, point: o.point });
          }
          break;
        }
        case AMDGPU_CHUNK_ID_CP_GFX_SHADOW: {
          const shadow = chunkStruct(c, drm_amdgpu_cs_chunk_cp_gfx_shadow);
          if ((shadow.flags & ~BigInt(AMDGPU_CS_CHUNK_CP_GFX_SHADOW_FLAGS_INIT_SHADOW)) !== 0n)
            throw new KernelError(
              "EINVAL",
              `${N}: unknown CP_GFX_SHADOW flags 0x${shadow.flags.toString(16)}`,
            );
          break;
        }
        default:
          break;
      }
    }

    // The BOs (amdgpu_cs_parser_bos): the chunk's list or a BO_LIST handle, not both.
    if (cs.bo_list_handle !== 0) {
      if (listEntries !== null)
        throw new KernelError("EINVAL", `${N}: a BO_HANDLES chunk and a bo_list_handle together`);
      const named = fpriv.boLists.get(cs.bo_list_handle);
      for (const e of named.entries) e.bo.get();
      list = new AmdgpuBoList(named.entries);
    } else list = amdgpuBoListCreate(file, listEntries ?? [], N);
    const bos = [...new Set(list.entries.map((e) => e.bo))];
    for (const bo of bos)
      if (bo.userptr !== null && bo.userptr.proc !== caller)
        throw new KernelError("EPERM", `${N}: ${bo.label} is another process's memory`);
    // amdgpu_cs_patch_jobs: each IB's address resolved in the VM.
    ibChunks.forEach((ibs, r) => {
      for (const ib of ibs) made[r]!.ibs.push(findIb(fpriv, ib));
    });
    // Userptr pages (hmm_range_fault), remembering the notifier sequence.
    const userptrSeq = new Map<AmdgpuBo, number>();
    for (const bo of bos) if (bo.userptr !== null) userptrSeq.set(bo, await amdgpuHmmRangeFault(bo));

    const gang = made.length;
    const leader = made[leaderIdx]!;
    args.out.handle = await DrmExec.run(
      adev.sim,
      { flags: { interruptible: true, ignoreDuplicates: true } },
      async (exec) => {
        // One fence slot for TTM and one for each job, on the root, every BO and the user fence BO.
        await exec.prepareObj(vm.root, 1 + gang);
        for (const bo of bos) await exec.prepareObj(bo, 1 + gang);
        if (ufBo !== null) await exec.prepareObj(ufBo, 1 + gang);
        const locked = [vm.root, ...bos, ...(ufBo !== null ? [ufBo] : [])];
        // Validation may itself add a move fence (an exporter migrating the buffer for us).
        for (const bo of bos) {
          if (bo.isImported) await amdgpuDmaBufValidate(bo);
          else adev.mman.validateLocked(bo);
        }
        if (ufBo !== null) adev.mman.validateLocked(ufBo);
        for (const bo of locked) bo.resv.reserveFences(1 + gang);

        // VM handling (amdgpu_cs_vm_handling).
        sync.add(vm.clearFreed());
        for (const bo of locked) {
          const boVa = vm.boFind(bo);
          if (boVa !== undefined) sync.add(boVa.invalid ? vm.boUpdate(boVa) : boVa.lastPtUpdate);
        }
        // amdgpu_vm_handle_moved: BOs that moved since their entries were written (per-VM BOs are
        // locked with the root).
        const held = new Set(locked);
        for (const boVa of vm.boVas.values())
          if (boVa.invalid && boVa.bo !== null && (held.has(boVa.bo) || vm.isAlwaysValid(boVa.bo)))
            sync.add(vm.boUpdate(boVa));
        sync.add(vm.lastUpdate);

        // Implicit sync (amdgpu_cs_sync_rings).
        for (const bo of locked) {
          const mode =
            (bo.flags & AMDGPU_GEM_CREATE_EXPLICIT_SYNC) !== 0
              ? AmdgpuSyncMode.EXPLICIT
              : AmdgpuSyncMode.NE_OWNER;
          sync.addResv(adev, bo.resv, mode, vm);
        }
        for (const job of made) sync.pushTo(job);

        // amdgpu_cs_submit: under the notifier lock, the userptr pages are still the ones we got.
        for (const [bo, seq] of userptrSeq)
          if (bo.userptr!.seq !== seq)
            throw new KernelError(
              "EAGAIN",
              `${N}: the userptr range of ${bo.label} was invalidated; resubmit`,
            );

        // Point of no return.
        for (const job of made) job.arm();
        armed = true;
        for (const job of made) if (job !== leader) leader.addDependency(job.scheduled.get());
        if (gang > 1) for (const job of made) job.gangSubmit = leader.scheduled.get();
        for (const bo of locked) {
          for (const job of made) if (job !== leader) bo.resv.addFence(job.finished, DmaResvUsage.READ);
          bo.resv.addFence(leader.finished, DmaResvUsage.WRITE);
        }
        const seq = jobs[leaderIdx]!.centity.addFence(leader.finished);
        if (ufBo !== null) {
          leader.userFence = { bo: ufBo, offset: userFence!.offset };
          leader.ufSequence = BigInt(seq);
          ufBo = null;
        }
        for (const d of postDeps) {
          if (d.point !== 0n) d.syncobj.addPoint(leader.finished, d.point);
          else d.syncobj.replaceFence(leader.finished);
        }
        for (const job of made) job.entity.pushJob(job);
        return BigInt(seq);
      },
    );
  } catch (e) {
    if (!armed) for (const job of made) job.release();
    throw e;
  } finally {
    list?.put();
    ufBo?.put();
    sync.free();
    for (const d of postDeps) d.syncobj.put();
  }
}

/**
 * `amdgpu_cs_find_mapping` for an IB: the mapping holding `va_start` must also hold all
 * `ib_bytes`, and be backed by a BO. `EINVAL` otherwise. Returns the IB with a BO reference.
 */
function findIb(fpriv: AmdgpuFpriv, ib: ChunkIb): AmdgpuIb {
  const va = Number(ib.va_start & AMDGPU_GMC_HOLE_MASK);
  const m = fpriv.vm.lookupPage(Math.floor(va / AMDGPU_GPU_PAGE_SIZE));
  const bo = m?.boVa?.bo ?? null;
  if (m === undefined || bo === null)
    throw new KernelError("EINVAL", `${N}: IB va_start 0x${va.toString(16)} is not mapped in the VM`);
  if (va + ib.ib_bytes > (m.last + 1) * AMDGPU_GPU_PAGE_SIZE)
    throw new KernelError(
      "EINVAL",
      `${N}: IB va_start+ib_bytes 0x${(va + ib.ib_bytes).toString(16)} runs past its mapping (ends 0x${((m.last + 1) * AMDGPU_GPU_PAGE_SIZE).toString(16)})`,
    );
  bo.get();
  return {
    va,
    lengthDw: Math.floor(ib.ib_bytes / 4),
    flags: ib.flags,
    bo,
    offset: m.offset + (va - m.start * AMDGPU_GPU_PAGE_SIZE),
  };
}

/** `amdgpu_cs_get_fence`: the fence of a submission (a reference), null if long done. `EINVAL` for a bad context or ring. */
function getFence(fpriv: AmdgpuFpriv, f: UapiValue<typeof drm_amdgpu_fence>): DmaFence | null {
  const ctx = fpriv.ctxMgr.get(f.ctx_id);
  return ctx.getEntity(f.ip_type, f.ip_instance, f.ring).getFence(f.seq_no);
}

/** A fence's error as the ioctl's error. */
function fenceError(f: DmaFence, what: string): KernelError {
  const name = errnoName(-f.error) ?? "EIO";
  return new KernelError(name, `${what}: the submission failed (${name})`);
}

/**
 * `amdgpu_cs_wait_ioctl`: wait until submission `handle` (`~0ull`: the newest; 0 or one long
 * forgotten: already done) of the context's ring finished, or the absolute `timeout` (virtual ns;
 * negative as `__s64`: forever) passed. Out `status`: 0 done, 1 still busy. A submission that
 * failed returns its error. `EINVAL` for an unknown context or ring, or a handle not submitted yet.
 */
export async function amdgpuCsWaitIoctl(
  fpriv: AmdgpuFpriv,
  args: UapiValue<typeof drm_amdgpu_wait_cs>,
): Promise<void> {
  const w = args.in;
  const f = getFence(fpriv, {
    ctx_id: w.ctx_id,
    ip_type: w.ip_type,
    ip_instance: w.ip_instance,
    ring: w.ring,
    seq_no: w.handle,
  });
  let busy = false;
  if (f !== null) {
    try {
      const left = await f.wait({ interruptible: true, timeoutNs: amdgpuGemTimeout(fpriv, w.timeout) });
      busy = left === 0 && !f.signaled;
      if (!busy && f.error !== 0) throw fenceError(f, "AMDGPU_WAIT_CS");
    } finally {
      f.put();
    }
  }
  args.out.status = busy ? 1n : 0n;
}

/**
 * `amdgpu_gem_timeout`: an absolute CLOCK_MONOTONIC time (virtual ns) as a relative timeout for
 * `dma_fence_wait_timeout`; negative as `__s64` waits forever, a time in the past does not wait.
 */
export function amdgpuGemTimeout(fpriv: AmdgpuFpriv, timeout: bigint): number | undefined {
  if (timeout >= 1n << 63n) return undefined;
  const t = uapiNsToNumber(timeout);
  return t === Number.POSITIVE_INFINITY ? undefined : Math.max(0, t - fpriv.adev.sim.now);
}

/**
 * `amdgpu_cs_wait_fences_ioctl`: wait for all (`wait_all`) or any of `fence_count` submissions
 * until the absolute `timeout_ns`. Out `status` (1: signalled) and, for wait-any,
 * `first_signaled`. A failed submission returns its error.
 */
export async function amdgpuCsWaitFencesIoctl(
  fpriv: AmdgpuFpriv,
  args: UapiValue<typeof drm_amdgpu_wait_fences>,
): Promise<void> {
  const w = args.in;
  const refs = w.fences.read();
  const timeoutNs = amdgpuGemTimeout(fpriv, w.timeout_ns);
  if (w.wait_all !== 0) {
    let done = true;
    for (const r of refs) {
      const f = getFence(fpriv, r);
      if (f === null) continue;
      try {
        const left = await f.wait({ interruptible: true, timeoutNs });
        if (left === 0 && !f.signaled) {
          done = false;
          break;
        }
        if (f.error !== 0) throw fenceError(f, "AMDGPU_WAIT_FENCES");
      } finally {
        f.put();
      }
    }
    args.out.status = done ? 1 : 0;
    args.out.first_signaled = 0;
    return;
  }
  const fences: DmaFence[] = [];
  try {
    for (let i = 0; i < refs.length; i++) {
      const f = getFence(fpriv, refs[i]!);
      if (f === null) {
        // Already signalled long ago: that is the first.
        args.out.status = 1;
        args.out.first_signaled = i;
        return;
      }
      fences.push(f);
    }
    const r = await dmaFenceWaitAny(fences, { interruptible: true, timeoutNs });
    args.out.status = r.ret > 0 ? 1 : 0;
    args.out.first_signaled = r.ret > 0 ? r.index : 0xffff_ffff;
    if (r.ret > 0 && fences[r.index]!.error !== 0) throw fenceError(fences[r.index]!, "AMDGPU_WAIT_FENCES");
  } finally {
    for (const f of fences) f.put();
  }
}

/**
 * `amdgpu_cs_fence_to_handle_ioctl`: a submission's fence (a signalled stub if long done) as a
 * new syncobj handle, a syncobj fd or a sync_file fd of the caller (out `handle`). `EINVAL` for
 * an unknown `what`.
 */
export function amdgpuCsFenceToHandleIoctl(
  fpriv: AmdgpuFpriv,
  file: DrmFile,
  args: UapiValue<typeof drm_amdgpu_fence_to_handle>,
  caller: Process,
): void {
  const what = args.in.what;
  const fence = getFence(fpriv, args.in.fence) ?? dmaFenceGetStub(fpriv.adev.sim);
  try {
    switch (what) {
      case AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ:
        args.out.handle = drmSyncobjTable(file).create(0, fence);
        return;
      case AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ_FD: {
        const s = new Syncobj(fpriv.adev.sim, 0, fence);
        try {
          args.out.handle = drmSyncobjGetFd(caller, s);
        } finally {
          s.put();
        }
        return;
      }
      case AMDGPU_FENCE_TO_HANDLE_GET_SYNC_FILE_FD:
        args.out.handle = syncFileInstall(caller, fence);
        return;
      default:
        throw new KernelError("EINVAL", `AMDGPU_FENCE_TO_HANDLE: unknown what ${what}`);
    }
  } finally {
    fence.put();
  }
}
