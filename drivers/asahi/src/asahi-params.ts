/**
 * What userspace asks the device first (the driver's `get_params` and `get_time`): the global
 * parameters — the GPU's identity, the VA window, the submission limits — and the GPU clock.
 *
 * The simulated GPU presents itself as an M1's (T8103, AGX G13G, revision B1): one die, one
 * cluster of 8 cores at up to 1.278 GHz, the values Mesa's drm-shim uses for asahi. The limits
 * are the device's own (`AsahiGpuConfig.maxCommands`); timestamps tick in nanoseconds, as the
 * driver reports them ("User timestamps always in nanoseconds").
 */
import type { Simulator, UapiValue } from "@drmsim/runtime";
import { uapiEncode } from "@drmsim/runtime";
import {
  ASAHI_MAX_ATTACHMENTS,
  ASAHI_VM_END,
  ASAHI_VM_KERNEL_MIN_SIZE,
  ASAHI_VM_START,
  DRM_ASAHI_MAX_CLUSTERS,
  type drm_asahi_get_params,
  type drm_asahi_get_time,
  drm_asahi_params_global,
} from "./asahi-drm.js";

/** The identity of the simulated GPU (an M1's). */
export const ASAHI_GPU_IDENTITY = Object.freeze({
  /** G13. */
  gpuGeneration: 13,
  /** 'G' (G13G). */
  gpuVariant: 0x47,
  /** B1, in BCD. */
  gpuRevision: 0x11,
  /** T8103, in BCD. */
  chipId: 0x8103,
  numDies: 1,
  numClustersTotal: 1,
  numCoresPerCluster: 8,
  maxFrequencyKhz: 1_278_000,
  /** Cores present per cluster. */
  coreMasks: [0xffn] as readonly bigint[],
});

/** `struct drm_asahi_params_global` of a device whose `max_commands_per_submission` is `maxCommands`. */
export function asahiParamsGlobal(maxCommands: number): UapiValue<typeof drm_asahi_params_global> {
  const id = ASAHI_GPU_IDENTITY;
  return {
    features: 0n,
    gpu_generation: id.gpuGeneration,
    gpu_variant: id.gpuVariant,
    gpu_revision: id.gpuRevision,
    chip_id: id.chipId,
    num_dies: id.numDies,
    num_clusters_total: id.numClustersTotal,
    num_cores_per_cluster: id.numCoresPerCluster,
    max_frequency_khz: id.maxFrequencyKhz,
    core_masks: Array.from({ length: DRM_ASAHI_MAX_CLUSTERS }, (_, i) => id.coreMasks[i] ?? 0n),
    vm_start: BigInt(ASAHI_VM_START),
    vm_end: BigInt(ASAHI_VM_END),
    vm_kernel_min_size: BigInt(ASAHI_VM_KERNEL_MIN_SIZE),
    max_commands_per_submission: maxCommands,
    max_attachments: ASAHI_MAX_ATTACHMENTS,
    command_timestamp_frequency_hz: 1_000_000_000n,
  };
}

/**
 * `ASAHI_GET_PARAMS`: writes `min(size, sizeof(struct drm_asahi_params_global))` bytes of the
 * parameters at `pointer` (`param_group` and `pad` must be 0: checked by the core). `EFAULT`
 * where user memory ends first; a `size` of 0 writes nothing.
 */
export function asahiGetParams(args: UapiValue<typeof drm_asahi_get_params>, maxCommands: number): void {
  const bytes = uapiEncode(drm_asahi_params_global, asahiParamsGlobal(maxCommands));
  const n = args.size < BigInt(bytes.length) ? Number(args.size) : bytes.length;
  args.pointer.write([...bytes.subarray(0, n)]);
}

/** `ASAHI_GET_TIME`: the GPU clock now, in ns — the virtual clock (`flags` must be 0: checked by the core). */
export function asahiGetTime(args: UapiValue<typeof drm_asahi_get_time>, sim: Simulator): void {
  args.gpu_timestamp = BigInt(sim.now);
}
