/**
 * @drmsim/asahi — an Asahi-like (Apple AGX) firmware-queue GPU driver: user queues on
 * `drm_sched` with three firmware rings each (vertex, fragment, compute; 128 work slots per
 * ring), "ring full" expressed as `prepareJob` fences, submit barriers, binary and timeline
 * syncobjs, implicit sync, per-file VMs, shmem GEM, PRIME (dynamic import: mapped at submit, remapped after
 * an exporter move), and fault injection with recovery.
 *
 * @example
 * ```ts
 * const dev = asahiProbe(new DrmPluginHost(sim));         // renderD128
 * // a firmware ring that hangs on its 2nd command, through the device container:
 * asahiProbe(host, {}, { providers: [{ provide: HW_ENGINE_FACTORY,
 *   useValue: new HardwareEngineFactory(sim, { "asahi-q1-frag": { hang: [2] } }) }] });
 * // userspace: VM_CREATE → QUEUE_CREATE → SUBMIT { commands, syncs } → drmSyncobjWait
 * ```
 * The README has the complete example; `test/readme.test.ts` runs it.
 */

export {
  type AsahiCmdMem,
  type AsahiCmdMemOp,
  asahiObjGpuRegion,
  type DrmAsahiCopy,
  type DrmAsahiFill,
} from "./asahi-cmd-mem.js";
export {
  ASAHI_CONFIG,
  ASAHI_DEFAULT_CONFIG,
  ASAHI_DEVICE,
  ASAHI_FW_QUEUE_SLOTS,
  ASAHI_WQ_SIZE,
  AsahiDevice,
  type AsahiGpuConfig,
  asahiDeviceOf,
  asahiProviders,
  asahiResolveConfig,
} from "./asahi-device.js";
export * from "./asahi-drm.js";
export * from "./asahi-drv.js";
export { AsahiFile, asahiFileOf } from "./asahi-file.js";
export {
  ASAHI_DEFAULT_COMPUTE_NS,
  ASAHI_DEFAULT_FRAGMENT_NS,
  ASAHI_DEFAULT_VERTEX_NS,
  type AsahiCommandSpec,
  AsahiJob,
  type AsahiRingNeed,
} from "./asahi-job.js";
export { asahiGemMmapOffset } from "./asahi-mmap.js";
export { type AsahiPrimeStats, asahiGemPrimeMapLocked, asahiPrimeStats } from "./asahi-prime.js";
export { AsahiJobFence, AsahiQueue, type AsahiQueueStats } from "./asahi-queue.js";
export { type AsahiMapping, AsahiVm } from "./asahi-vm.js";
export {
  type AsahiCommandStats,
  AsahiFwFence,
  AsahiWorkItem,
  AsahiWorkQueue,
  type AsahiWorkQueueKind,
  type AsahiWorkQueueStats,
  traceAsahiFwCommand,
} from "./asahi-workqueue.js";
export { driver } from "./conformance.js";
