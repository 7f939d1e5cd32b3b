/**
 * `ASAHI_SUBMIT` (the driver's `File::submit` and `Queue::submit`): one scheduler job per submit,
 * checked in full before anything changes.
 *
 * Order, as the driver does it: `flags` and `pad` (checked by the core on entry) → the queue
 * (`ENOENT`) → the syncs, `in_sync_count + out_sync_count` entries copied from `syncs` (`EFAULT`
 * if user memory holds fewer), each checked in turn (`EINVAL` for an unknown type or a binary
 * syncobj with a timeline value, `ENOENT` for an unknown handle, `EINVAL` for an in-sync with no
 * fence) → the command buffer, `cmdbuf_size` bytes copied from `cmdbuf` and parsed
 * (`asahi-cmdbuf.ts`) → drmsim's own check that the job alone fits each firmware ring it uses
 * (`EINVAL`: otherwise `prepareJob` would wait forever for room that cannot appear) → `arm()`, the
 * point of no return → push → each out-syncobj gets the job's finished fence (binary: replace;
 * timeline: a new point).
 *
 * Explicit sync only, as upstream: the job waits for its in-syncs and nothing else, and adds its
 * fence to no buffer's reservation for others to find. Userspace bridges to implicit sync through
 * the dma-buf (`DMA_BUF_IOCTL_EXPORT_SYNC_FILE` / `IMPORT_SYNC_FILE`), as Mesa does. The one
 * exception is memory management, not synchronisation: the VM's dynamically imported buffers
 * (`drm_gpuvm`'s external objects) are locked, mapped at their current placement, waited for
 * where the exporter is still moving them (`KERNEL` usage), and fenced `BOOKKEEP` so the exporter
 * does not move them under the running job — what a `drm_gpuvm` driver's exec does.
 */
import type { DmaFence } from "@drmsim/dma-fence";
import { DmaResvUsage, DrmExec } from "@drmsim/dma-resv";
import { type DrmFile, DrmGemPrimeDynamicObject, drmSyncobjTable } from "@drmsim/drm";
import { DrmSchedJob } from "@drmsim/drm-sched";
import { KernelError, type UapiValue } from "@drmsim/runtime";
import { asahiCmdMemHold, asahiCmdMemOf } from "./asahi-cmd-mem.js";
import { asahiParseCmdbuf } from "./asahi-cmdbuf.js";
import {
  DRM_ASAHI_SYNC_SYNCOBJ,
  DRM_ASAHI_SYNC_TIMELINE_SYNCOBJ,
  type drm_asahi_submit,
  drm_asahi_sync,
} from "./asahi-drm.js";
import { asahiHwMemTargets } from "./asahi-hw-mem.js";
import { asahiHwBehaviour, asahiHwCommandOf } from "./asahi-hw-model.js";
import { AsahiJob, asahiJobPlan } from "./asahi-job.js";
import type { AsahiObjectTable } from "./asahi-object.js";
import { asahiGemPrimeMapLocked } from "./asahi-prime.js";
import type { AsahiQueue } from "./asahi-queue.js";
import { asahiCopyFromUser } from "./asahi-uaccess.js";
import type { AsahiWorkQueueKind } from "./asahi-workqueue.js";

/** What the ioctl needs from the file: its queues and its special objects. */
export interface AsahiSubmitTarget {
  queue(id: number, ioctl?: string): AsahiQueue;
  readonly objects: AsahiObjectTable;
}

const NAME = "ASAHI_SUBMIT";

/** `DRM_IOCTL_ASAHI_SUBMIT`. See the module comment. */
export async function asahiSubmitIoctl(
  file: DrmFile,
  target: AsahiSubmitTarget,
  args: UapiValue<typeof drm_asahi_submit>,
): Promise<void> {
  // flags and pad are checked (EINVAL) by the core before this runs.
  const queue = target.queue(args.queue_id, NAME);
  const cfg = queue.config;
  const sim = file.device.sim;
  const table = drmSyncobjTable(file);

  // Syncs: in_sync_count in-syncs, then out_sync_count out-syncs, copied in one go.
  const inCount = args.in_sync_count;
  const count = inCount + args.out_sync_count;
  if (count * drm_asahi_sync.size > 0x7fff_ffff)
    throw new KernelError("ENOMEM", `${NAME}: ${count} syncs are more than a kernel array holds`);
  const syncs = args.syncs.read(count);
  const outs: { handle: number; point: bigint }[] = [];
  const fences: DmaFence[] = [];
  let job: DrmSchedJob | null = null;
  try {
    for (const [i, s] of syncs.entries()) {
      const what = `${NAME} sync ${i}`;
      if (s.sync_type !== DRM_ASAHI_SYNC_SYNCOBJ && s.sync_type !== DRM_ASAHI_SYNC_TIMELINE_SYNCOBJ)
        throw new KernelError("EINVAL", `${what}: unknown sync_type ${s.sync_type}`);
      if (s.sync_type === DRM_ASAHI_SYNC_SYNCOBJ && s.timeline_value !== 0n)
        throw new KernelError("EINVAL", `${what}: a binary syncobj takes no timeline_value`);
      if (i >= inCount) {
        table.lookup(s.handle, "ENOENT").put();
        outs.push({ handle: s.handle, point: s.timeline_value });
      } else fences.push(await table.findFence(s.handle, s.timeline_value, 0));
    }

    const bytes = asahiCopyFromUser(args.cmdbuf, args.cmdbuf_size, `${NAME}: cmdbuf`);
    const cmds = asahiParseCmdbuf(bytes, {
      sim,
      maxCommands: cfg.maxCommands,
      timestampBufferSize: (h) => target.objects.find(h)?.size,
    });
    // The simulated hardware's behaviour for each command: the model, under the caller's
    // overrides (taken only once the job is armed: a submit that fails leaves them queued).
    const overrides = queue.hwNext.peek(cmds.length);
    const { specs, need } = asahiJobPlan(cmds, (c, i) =>
      asahiHwBehaviour(queue.adev.hwModel, asahiHwCommandOf(queue.name, i, c, sim), overrides[i]),
    );
    // What the commands' simulated writes address, through the queue's VM (EINVAL up front).
    const targets = specs.map((sp, i) => asahiHwMemTargets(queue.vm, sp, `${NAME}: command ${i}`));
    for (const kind of Object.keys(need) as AsahiWorkQueueKind[]) {
      const n = need[kind];
      if (n.slots > cfg.slots || n.entries > cfg.ringSize)
        throw new KernelError(
          "EINVAL",
          `${NAME}: the job alone needs ${n.slots} work slots and ${n.entries} ring entries on the ${kind} ring, which has ${cfg.slots} slots and ${cfg.ringSize} entries: it could never run`,
        );
    }

    const j = new DrmSchedJob(queue.entity, 1, file);
    job = j;
    const aj = new AsahiJob(queue, specs, need);
    j.driverData = aj;
    // addDependency consumes the reference (even when it fails): hand them over one at a time.
    while (fences.length > 0) j.addDependency(fences.shift()!);

    // The VM's external objects: dynamically imported buffers bound into it.
    const extobjs = queue.vm.gpuvm.objects().filter((o) => o instanceof DrmGemPrimeDynamicObject);
    let finished: DmaFence | null = null;
    const armAndPush = () => {
      j.arm();
      queue.hwNext.take(cmds.length);
      finished = j.finished.get();
      for (const obj of extobjs) obj.resv.addFence(j.finished, DmaResvUsage.BOOKKEEP);
      queue.entity.pushJob(j);
    };
    // What the commands write, resolved to the memory their addresses reach (an import through its
    // current mapping: after the map, under the locks); the job holds the objects until it is freed.
    const resolveMem = () => {
      const mem = targets.map((t) => (t === undefined ? undefined : asahiCmdMemOf(t)));
      aj.mem = mem.map((m) => (m === undefined ? undefined : asahiCmdMemHold(m)));
    };
    if (extobjs.length === 0) {
      resolveMem();
      armAndPush();
    } else
      await DrmExec.run(sim, { flags: { interruptible: true }, nrHint: extobjs.length }, async (exec) => {
        for (const obj of extobjs) await exec.prepareObj(obj, 1);
        // Map at the current placement (or reuse a valid mapping) under the resv now held. A
        // move the exporter makes to serve the map leaves its fence in the resv, possibly in the
        // slot reserved above: reserve the job's slot again, and wait for the moves.
        for (const obj of extobjs)
          if (await asahiGemPrimeMapLocked(file.device, obj)) obj.resv.reserveFences(1);
        for (const obj of extobjs) j.addResvDependencies(obj.resv, DmaResvUsage.KERNEL);
        resolveMem();
        armAndPush();
      });
    job = null; // pushed: the scheduler owns it now
    const fin = finished as DmaFence | null;
    if (fin !== null) {
      for (const s of outs) table.signalPoint(s.handle, fin, s.point);
      fin.put();
    }
  } finally {
    for (const f of fences) f.put();
    if (job !== null) job.cleanup();
  }
}
