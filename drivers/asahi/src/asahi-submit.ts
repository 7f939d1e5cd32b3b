/**
 * `ASAHI_SUBMIT` (the driver's `queue::submit`): one scheduler job per submit, checked in full
 * before anything changes.
 *
 * Order, as the kernel does it: validate every argument (flags and pad are checked by the core
 * on entry; then the queue id, the syncs — `in_sync_count + out_sync_count` entries copied from
 * the `syncs` user pointer, `EFAULT` if it holds fewer —, the commands and their barriers, the
 * buffers) → `EINVAL` up front if the job alone needs more work
 * slots or ring entries on some firmware ring than the ring has (it could never run, and
 * `prepareJob` would wait forever for room that cannot appear) → look up the in-fences → lock
 * the buffers' reservations (`drm_exec`), map dynamically imported ones (`asahi-prime.ts`) and
 * add their implicit dependencies → `arm()` (the point
 * of no return) → add the job's finished fence to each buffer (write or read usage) → push →
 * install the finished fence in each out-syncobj (binary: replace; timeline: add the point).
 */
import type { DmaFence } from "@drmsim/dma-fence";
import { DmaResvUsage, DrmExec } from "@drmsim/dma-resv";
import { type DrmFile, drmSyncobjTable } from "@drmsim/drm";
import { DrmSchedJob } from "@drmsim/drm-sched";
import type { DrmGemObject } from "@drmsim/gem";
import { KernelError, type UapiValue } from "@drmsim/runtime";
import { asahiCmdMemHold, asahiCmdMemResolve } from "./asahi-cmd-mem.js";
import {
  ASAHI_BO_WRITE,
  DRM_ASAHI_SYNC_SYNCOBJ,
  DRM_ASAHI_SYNC_TIMELINE_SYNCOBJ,
  type drm_asahi_submit,
} from "./asahi-drm.js";
import { AsahiJob, asahiParseCommands } from "./asahi-job.js";
import { asahiGemPrimeMapLocked } from "./asahi-prime.js";
import type { AsahiQueue } from "./asahi-queue.js";
import type { AsahiWorkQueueKind } from "./asahi-workqueue.js";

/** What the ioctl needs from the file: its queues. */
export interface AsahiSubmitTarget {
  queue(id: number, ioctl?: string): AsahiQueue;
}

const NAME = "ASAHI_SUBMIT";

/**
 * `DRM_IOCTL_ASAHI_SUBMIT`. See the module comment. The commands come from the drmsim extension
 * `commands` (a byte-level `cmdbuf` is `EINVAL` until drmsim decodes one), the implicit-sync
 * buffers from the extension `bos`.
 */
export async function asahiSubmitIoctl(
  file: DrmFile,
  target: AsahiSubmitTarget,
  args: UapiValue<typeof drm_asahi_submit>,
): Promise<void> {
  // flags and pad are checked (EINVAL) by the core before this runs.
  const queue = target.queue(args.queue_id, NAME);
  const cfg = queue.config;

  // Syncs: in_sync_count in-syncs, then out_sync_count out-syncs, copied from user memory.
  const inCount = args.in_sync_count;
  const outCount = args.out_sync_count;
  const parsed = args.syncs.read(inCount + outCount).map((s, i) => {
    const what = `${NAME} sync ${i}`;
    if (s.sync_type !== DRM_ASAHI_SYNC_SYNCOBJ && s.sync_type !== DRM_ASAHI_SYNC_TIMELINE_SYNCOBJ)
      throw new KernelError("EINVAL", `${what}: unknown sync_type ${s.sync_type}`);
    if (s.sync_type === DRM_ASAHI_SYNC_SYNCOBJ && s.timeline_value !== 0n)
      throw new KernelError("EINVAL", `${what}: a binary syncobj takes no timeline_value`);
    return { handle: s.handle, point: s.timeline_value };
  });

  if (!args.cmdbuf.isNull || args.cmdbuf_size !== 0)
    throw new KernelError(
      "EINVAL",
      `${NAME}: drmsim does not decode byte-level command buffers (cmdbuf/cmdbuf_size) yet; describe the commands in the drmsim extension field \`commands\``,
    );
  const { specs, need } = asahiParseCommands(args.commands, cfg.maxCommands);
  for (const kind of Object.keys(need) as AsahiWorkQueueKind[]) {
    const n = need[kind];
    if (n.slots > cfg.slots || n.entries > cfg.ringSize)
      throw new KernelError(
        "EINVAL",
        `${NAME}: the job alone needs ${n.slots} work slots and ${n.entries} ring entries on the ${kind} ring, which has ${cfg.slots} slots and ${cfg.ringSize} entries: it could never run`,
      );
  }
  const bosArg = args.bos;

  const table = drmSyncobjTable(file);
  const objs: { obj: DrmGemObject; write: boolean }[] = [];
  const outs: { handle: number; point: bigint }[] = [];
  const fences: DmaFence[] = [];
  let job: DrmSchedJob | null = null;
  try {
    // Buffers (ENOENT), merged when named twice (a write wins).
    for (const b of bosArg) {
      const obj = file.gem.lookup(b.handle);
      const write = ((b.flags ?? 0) & ASAHI_BO_WRITE) !== 0;
      const seen = objs.find((x) => x.obj === obj);
      if (seen !== undefined) {
        seen.write ||= write;
        obj.put();
      } else objs.push({ obj, write });
    }
    // Out-syncobjs must exist before the point of no return.
    for (const s of parsed.slice(inCount)) {
      table.lookup(s.handle, "ENOENT").put();
      outs.push(s);
    }
    for (const s of parsed.slice(0, inCount)) fences.push(await table.findFence(s.handle, s.point, 0));

    const j = new DrmSchedJob(queue.entity, 1, file);
    job = j;
    const aj = new AsahiJob(queue, specs, need);
    j.driverData = aj;
    // addDependency consumes the reference (even when it fails): hand them over one at a time.
    while (fences.length > 0) j.addDependency(fences.shift()!);

    let finished: DmaFence | null = null;
    const armAndPush = () => {
      j.arm();
      finished = j.finished.get();
      for (const { obj, write } of objs)
        obj.resv.addFence(j.finished, write ? DmaResvUsage.WRITE : DmaResvUsage.READ);
      queue.entity.pushJob(j);
    };
    if (objs.length === 0) {
      // Commands that write must name their buffers.
      for (const [i, s] of specs.entries()) asahiCmdMemResolve(s, () => undefined, `${NAME}: command ${i}`);
      armAndPush();
    } else
      await DrmExec.run(
        file.device.sim,
        { flags: { interruptible: true }, nrHint: objs.length },
        async (exec) => {
          for (const { obj } of objs) await exec.prepareObj(obj, 1);
          // Dynamic imports: map at the current placement (or reuse a valid mapping) under the
          // resv we now hold, before collecting dependencies — a move the exporter makes to
          // serve the map leaves its fence in the resv, and the job must wait for it. That
          // fence may have taken the slot reserved above: reserve the job's slot again.
          for (const { obj } of objs)
            if (await asahiGemPrimeMapLocked(file.device, obj)) obj.resv.reserveFences(1);
          // What the commands write, resolved against the memory the buffers are now mapped to.
          const byHandle = new Map(
            bosArg.map((b) => [b.handle, objs.find((x) => x.obj === file.gem.peek(b.handle))]),
          );
          const mem = specs.map((s, i) =>
            asahiCmdMemResolve(s, (h) => byHandle.get(h), `${NAME}: command ${i}`),
          );
          for (const { obj, write } of objs) j.addImplicitDependencies(obj, write);
          aj.mem = mem.map((m) => (m !== undefined ? asahiCmdMemHold(m) : undefined));
          armAndPush();
        },
      );
    job = null; // pushed: the scheduler owns it now
    const fin = finished as DmaFence | null;
    if (fin !== null) {
      for (const s of outs) table.signalPoint(s.handle, fin, s.point);
      fin.put();
    }
  } finally {
    for (const f of fences) f.put();
    for (const { obj } of objs) obj.put();
    if (job !== null) job.cleanup();
  }
}
