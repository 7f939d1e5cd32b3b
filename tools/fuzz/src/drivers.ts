/**
 * The drivers the fuzzer probes. Adding a driver is one line: its name and its probe function
 * (`(host) => DrmDevice`). The fuzzer then enumerates that device's ioctl table
 * (`DrmDevice.driverIoctls()`) together with the core table, opens all of its nodes from two
 * processes and fuzzes every ioctl on every node. `fields` optionally names the argument fields
 * of a driver's ioctls, so generated arguments hit them more often (unnamed ioctls get the
 * generic field pool).
 */
import { amdgpuProbe } from "@drmsim/amdgpu";
import { asahiProbe } from "@drmsim/asahi";
import type { DrmDevice, DrmPluginHost } from "@drmsim/drm";
import { habanalabsProbe } from "@drmsim/habanalabs";
import { vgemProbe } from "@drmsim/vgem";
import { fuzzAccelProbe } from "./fuzz-accel.js";

/** One driver under fuzz. */
export interface FuzzDriver {
  readonly name: string;
  probe(host: DrmPluginHost): DrmDevice;
  /** Argument field names per ioctl name (hints for the generator). */
  readonly fields?: Readonly<Record<string, readonly string[]>>;
}

/** Every driver the fuzzer probes, in probe order. */
export const FUZZ_DRIVERS: readonly FuzzDriver[] = [
  {
    name: "vgem",
    probe: vgemProbe,
    fields: {
      DRM_IOCTL_VGEM_FENCE_ATTACH: ["handle", "flags", "pad", "out_fence"],
      DRM_IOCTL_VGEM_FENCE_SIGNAL: ["fence", "flags", "error"],
    },
  },
  { name: "fuzzaccel", probe: fuzzAccelProbe, fields: { DRM_IOCTL_FUZZACCEL_CREATE_BO: ["size", "flags"] } },
  {
    name: "asahi",
    probe: (host) => asahiProbe(host),
    fields: {
      DRM_IOCTL_ASAHI_VM_CREATE: ["kernel_start", "kernel_end", "pad"],
      DRM_IOCTL_ASAHI_VM_DESTROY: ["vm_id", "pad"],
      DRM_IOCTL_ASAHI_VM_BIND: ["vm_id", "num_binds", "stride", "pad", "binds"],
      DRM_IOCTL_ASAHI_GEM_CREATE: ["size", "flags", "vm_id", "pad"],
      DRM_IOCTL_ASAHI_QUEUE_CREATE: ["flags", "vm_id", "priority", "usc_exec_base"],
      DRM_IOCTL_ASAHI_QUEUE_DESTROY: ["queue_id", "pad"],
      DRM_IOCTL_ASAHI_SUBMIT: [
        "queue_id",
        "flags",
        "pad",
        "syncs",
        "in_sync_count",
        "out_sync_count",
        "commands",
        "bos",
      ],
    },
  },
  {
    name: "amdgpu",
    probe: (host) => amdgpuProbe(host),
    fields: {
      DRM_IOCTL_AMDGPU_GEM_CREATE: ["bo_size", "alignment", "domains", "domain_flags"],
      DRM_IOCTL_AMDGPU_CTX: ["op", "flags", "ctx_id", "priority"],
      DRM_IOCTL_AMDGPU_CS: ["ctx_id", "bo_list_handle", "flags", "chunks"],
      DRM_IOCTL_AMDGPU_WAIT_CS: ["handle", "timeout", "ip_type", "ip_instance", "ring", "ctx_id"],
      DRM_IOCTL_AMDGPU_GEM_USERPTR: ["addr", "size", "flags"],
      DRM_IOCTL_AMDGPU_USERQ: ["op", "ip_type", "queue_id", "flags", "bo_handles"],
      DRM_IOCTL_AMDGPU_USERQ_DOORBELL: ["queue_id", "work_ns"],
    },
  },
  {
    name: "habanalabs",
    probe: (host) => habanalabsProbe(host),
    fields: {
      DRM_IOCTL_HL_INFO: ["op", "pad"],
      DRM_IOCTL_HL_CB: ["op", "cb_handle", "cb_size", "ctx_id", "flags"],
      DRM_IOCTL_HL_CS: [
        "chunks_execute",
        "num_chunks_execute",
        "num_chunks_restore",
        "timeout",
        "cs_flags",
        "ctx_id",
        "pad",
      ],
      DRM_IOCTL_HL_WAIT_CS: ["seq", "timeout_us", "flags", "ctx_id"],
      DRM_IOCTL_HL_MEMORY: [
        "op",
        "flags",
        "ctx_id",
        "num_of_elements",
        "mem_size",
        "page_size",
        "handle",
        "hint_addr",
        "device_virt_addr",
        "addr",
        "offset",
        "fd",
      ],
    },
  },
];
