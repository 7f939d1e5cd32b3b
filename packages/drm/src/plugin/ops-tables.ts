/**
 * The kernel ops tables the lower layers call — `drm_gem_object_funcs` (@drmsim/gem),
 * `dma_buf_ops` and `dma_buf_attach_ops` (@drmsim/dma-buf), `drm_sched_backend_ops`
 * (@drmsim/drm-sched), `dma_fence_ops` (@drmsim/dma-fence) — built from a device's hooks. Each op
 * calls its hook, so the driver's taps run behind the framework's interceptors; a driver never
 * hands a lower layer an ops object of its own.
 *
 * An optional op is present exactly when something tapped it (a getter answers at call time), so
 * the lower layers keep the kernel's meaning of a NULL op — no `cancel_job` means `fini` leaks and
 * warns, no `release` means a fence's ops are detached at signal — whenever the driver taps.
 */
import type { DmaBuf, DmaBufAttachOps, DmaBufOps } from "@drmsim/dma-buf";
import type { DmaFenceOps } from "@drmsim/dma-fence";
import type { DrmSchedBackendOps } from "@drmsim/drm-sched";
import { DrmGemObject, type DrmGemObjectFuncs, drmGemPrimeDmaBufOps } from "@drmsim/gem";
import { KernelError } from "@drmsim/runtime";
import type { DrmHooks } from "./hooks.js";

type Tapped = { taps: unknown[] };

function tapped(h: Tapped): boolean {
  return h.taps.length > 0;
}

/**
 * `drm_gem_object_funcs` of every GEM object of the device (`obj.funcs`): each op calls
 * `hooks.gem`. `get_sg_table` and `vmap` that no tap answers for the object are `EINVAL`.
 */
export function drmGemFuncsFromHooks(hooks: DrmHooks, driver: string): DrmGemObjectFuncs {
  const g = hooks.gem;
  const declined = (op: string, obj: DrmGemObject): never => {
    throw new KernelError("EINVAL", `no ${op} implementation of ${driver} handles ${obj.describe()}`);
  };
  const free = (o: DrmGemObject) => g.free.call(o);
  const open = (o: DrmGemObject, f: object) => g.open.call(o, f);
  const close = (o: DrmGemObject, f: object) => g.close.call(o, f);
  const pin = (o: DrmGemObject) => g.pin.call(o);
  const unpin = (o: DrmGemObject) => g.unpin.call(o);
  const getSgTable: NonNullable<DrmGemObjectFuncs["getSgTable"]> = (o, dev) =>
    g.getSgTable.call(o, dev) ?? declined("get_sg_table", o);
  const vmap: NonNullable<DrmGemObjectFuncs["vmap"]> = (o) => g.vmap.call(o) ?? declined("vmap", o);
  const vunmap: NonNullable<DrmGemObjectFuncs["vunmap"]> = (o, map) => g.vunmap.call(o, map);
  const mmap: NonNullable<DrmGemObjectFuncs["mmap"]> = (o, vma) => g.mmap.call(o, vma);
  return {
    get free() {
      return tapped(g.free) ? free : undefined;
    },
    get open() {
      return tapped(g.open) ? open : undefined;
    },
    get close() {
      return tapped(g.close) ? close : undefined;
    },
    get pin() {
      return tapped(g.pin) ? pin : undefined;
    },
    get unpin() {
      return tapped(g.unpin) ? unpin : undefined;
    },
    get getSgTable() {
      return tapped(g.getSgTable) ? getSgTable : undefined;
    },
    get vmap() {
      return tapped(g.vmap) ? vmap : undefined;
    },
    get vunmap() {
      return tapped(g.vunmap) ? vunmap : undefined;
    },
    get mmap() {
      return tapped(g.mmap) ? mmap : undefined;
    },
  };
}

function gemOf(buf: DmaBuf): boolean {
  return buf.priv instanceof DrmGemObject;
}

/**
 * `dma_buf_ops` of the device's own exports (amdgpu's `amdgpu_dmabuf_ops`, habanalabs' device
 * memory): each op asks `hooks.dmaBuf` first; when every tap declines, a GEM export falls back
 * to the GEM default (`drm_gem_prime_dmabuf_ops`, which calls the object's funcs). A mandatory
 * op (`map_dma_buf`, `unmap_dma_buf`, `release`) nobody handles for a non-GEM export is `EINVAL`.
 */
export function drmDmaBufOpsFromHooks(hooks: DrmHooks, driver: string): DmaBufOps {
  const d = hooks.dmaBuf;
  const b = drmGemPrimeDmaBufOps;
  const unhandled = (op: string, buf: DmaBuf): never => {
    throw new KernelError("EINVAL", `no ${op} implementation of ${driver} handles ${buf.describe()}`);
  };
  const ops: DmaBufOps = {
    attach: (buf, att) => {
      if (d.attach.call(buf, att) === undefined && gemOf(buf)) b.attach?.(buf, att);
    },
    detach: (buf, att) => {
      if (d.detach.call(buf, att) === undefined && gemOf(buf)) b.detach?.(buf, att);
    },
    mapDmaBuf: (att, dir) => {
      const sgt = d.mapDmaBuf.call(att, dir);
      if (sgt !== undefined) return sgt;
      return gemOf(att.dmabuf) ? b.mapDmaBuf(att, dir) : unhandled("map_dma_buf", att.dmabuf);
    },
    unmapDmaBuf: (att, sgt, dir) => {
      if (d.unmapDmaBuf.call(att, sgt, dir) !== undefined) return;
      if (gemOf(att.dmabuf)) b.unmapDmaBuf(att, sgt, dir);
      else unhandled("unmap_dma_buf", att.dmabuf);
    },
    release: (buf) => {
      if (d.release.call(buf) !== undefined) return;
      if (gemOf(buf)) b.release(buf);
      else unhandled("release", buf);
    },
    mmap: (buf, vma) => {
      if (d.mmap.call(buf, vma) !== undefined) return;
      if (gemOf(buf) && b.mmap !== undefined) b.mmap(buf, vma);
      else unhandled("mmap", buf);
    },
    vmap: (buf) => {
      const m = d.vmap.call(buf) ?? (gemOf(buf) ? b.vmap?.(buf) : undefined);
      return m ?? unhandled("vmap", buf);
    },
    vunmap: (buf, map) => {
      if (d.vunmap.call(buf, map) === undefined && gemOf(buf)) b.vunmap?.(buf, map);
    },
    beginCpuAccess: async (buf, dir) => {
      if ((await d.beginCpuAccess.promise(buf, dir)) === undefined && gemOf(buf))
        await b.beginCpuAccess?.(buf, dir);
    },
    endCpuAccess: async (buf, dir) => {
      if ((await d.endCpuAccess.promise(buf, dir)) === undefined && gemOf(buf))
        await b.endCpuAccess?.(buf, dir);
    },
  };
  // pin/unpin come as a pair or not at all (dma_buf_export refuses one without the other).
  if (tapped(d.pin) || b.pin !== undefined) {
    ops.pin = (att) => {
      if (d.pin.call(att) === undefined && gemOf(att.dmabuf)) b.pin?.(att);
    };
    ops.unpin = (att) => {
      if (d.unpin.call(att) === undefined && gemOf(att.dmabuf)) b.unpin?.(att);
    };
  }
  return ops;
}

/** True if the driver tapped any `dma_buf_ops` hook: its exports then use `drmDmaBufOpsFromHooks`. */
export function drmHasOwnDmaBufOps(hooks: DrmHooks): boolean {
  return Object.values(hooks.dmaBuf).some((h) => tapped(h as Tapped));
}

/**
 * `dma_buf_attach_ops` for one import of `buf` by this device: `allow_peer2peer` asked of
 * `hooks.dmaBufAttach` now (no answer is false, the kernel's zeroed field), `invalidate_mappings`
 * calling the hook on every move.
 */
export function drmDmaBufAttachOpsFromHooks(hooks: DrmHooks, buf: DmaBuf): DmaBufAttachOps {
  const a = hooks.dmaBufAttach;
  return {
    allowPeer2peer: a.allowPeer2peer.call(buf) === true,
    invalidateMappings: (att) => a.invalidateMappings.call(att),
  };
}

/**
 * `drm_sched_backend_ops` of the device's schedulers: each op calls `hooks.sched`. A `run_job` or
 * `timedout_job` no tap answers for a job is a driver bug and throws `EINVAL` naming the job.
 */
export function drmSchedOpsFromHooks(hooks: DrmHooks, driver: string): DrmSchedBackendOps {
  const s = hooks.sched;
  const prepareJob: NonNullable<DrmSchedBackendOps["prepareJob"]> = (job, entity) =>
    s.prepareJob.call(job, entity) ?? null;
  const cancelJob: NonNullable<DrmSchedBackendOps["cancelJob"]> = (job) => s.cancelJob.call(job);
  return {
    get prepareJob() {
      return tapped(s.prepareJob) ? prepareJob : undefined;
    },
    runJob: (job) => {
      const r = s.runJob.call(job);
      if (r === undefined)
        throw new KernelError("EINVAL", `no run_job implementation of ${driver} handles ${job.describe()}`);
      return r;
    },
    timedoutJob: (job) => {
      const r = s.timedoutJob.call(job);
      if (r === undefined)
        throw new KernelError(
          "EINVAL",
          `no timedout_job implementation of ${driver} handles ${job.describe()}`,
        );
      return r;
    },
    freeJob: (job) => s.freeJob.call(job),
    get cancelJob() {
      return tapped(s.cancelJob) ? cancelJob : undefined;
    },
  };
}

/**
 * `dma_fence_ops` of the driver's own fences: each op calls `hooks.fence`. A name no tap gives
 * for a fence reads as the driver's name and `unbound`.
 */
export function drmFenceOpsFromHooks(hooks: DrmHooks, driver: string): DmaFenceOps {
  const f = hooks.fence;
  const enableSignaling: NonNullable<DmaFenceOps["enableSignaling"]> = (fence) =>
    f.enableSignaling.call(fence) ?? true;
  const signaled: NonNullable<DmaFenceOps["signaled"]> = (fence) => f.signaled.call(fence) ?? false;
  const release: NonNullable<DmaFenceOps["release"]> = (fence) => f.release.call(fence);
  const setDeadline: NonNullable<DmaFenceOps["setDeadline"]> = (fence, ns) => f.setDeadline.call(fence, ns);
  return {
    getDriverName: (fence) => f.getDriverName.call(fence) ?? driver,
    getTimelineName: (fence) => f.getTimelineName.call(fence) ?? "unbound",
    get enableSignaling() {
      return tapped(f.enableSignaling) ? enableSignaling : undefined;
    },
    get signaled() {
      return tapped(f.signaled) ? signaled : undefined;
    },
    get release() {
      return tapped(f.release) ? release : undefined;
    },
    get setDeadline() {
      return tapped(f.setDeadline) ? setDeadline : undefined;
    },
  };
}
