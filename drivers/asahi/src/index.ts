/**
 * @drmsim/asahi — an Asahi-like (Apple AGX) firmware-queue GPU driver on the upstream uAPI
 * (`asahi_drm.h`, every ioctl): user queues on `drm_sched` with three firmware rings each
 * (vertex, fragment, compute; 128 work slots per ring), "ring full" expressed as `prepareJob`
 * fences, byte command buffers with barriers, binary and timeline syncobjs (explicit sync only),
 * per-file VMs with `drm_gpuvm`-style VM_BIND, shmem GEM, PRIME (dynamic import: mapped at
 * submit, remapped after an exporter move), and a hardware model with fault injection and
 * recovery as a drmsim side channel.
 *
 * @example
 * ```ts
 * const dev = asahiProbe(new DrmPluginHost(sim));         // renderD128
 * // a firmware ring that hangs on its 2nd command, through the device container:
 * asahiProbe(host, {}, { providers: [{ provide: HW_ENGINE_FACTORY,
 *   useValue: new HardwareEngineFactory(sim, { "asahi-q1-frag": { hang: [2] } }) }] });
 * // userspace: GET_PARAMS → VM_CREATE → GEM_CREATE → VM_BIND → QUEUE_CREATE
 * //            → SUBMIT { cmdbuf, syncs } → drmSyncobjWait
 * ```
 * The README has the complete example; `test/docs/readmes.test.ts` runs it.
 */

export {
  type AsahiCmdMem,
  type AsahiCmdMemOp,
  asahiCmdMemOf,
  asahiObjGpuRegion,
} from "./asahi-cmd-mem.js";
export { type AsahiBarrier, type AsahiParsedCommand, asahiParseCmdbuf } from "./asahi-cmdbuf.js";
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
export { AsahiGpuvm, type AsahiGpuvmOps } from "./asahi-gpuvm.js";
export * from "./asahi-hw-mem.js";
export * from "./asahi-hw-model.js";
export { type AsahiCommandSpec, AsahiJob, type AsahiRingNeed, asahiJobPlan } from "./asahi-job.js";
export { asahiGemMmapOffset } from "./asahi-mmap.js";
export { type AsahiBoundObject, AsahiObjectTable } from "./asahi-object.js";
export { ASAHI_GPU_IDENTITY, asahiParamsGlobal } from "./asahi-params.js";
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
