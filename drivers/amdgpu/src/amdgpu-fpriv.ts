/**
 * `struct amdgpu_fpriv`: what one open file of the device owns — its GPU VM, its contexts, its BO
 * lists, its user queues and their eviction fence. Created by the driver's `open`, torn down by
 * `postclose`.
 */
import type { DrmFile } from "@drmsim/drm";
import { KernelError } from "@drmsim/runtime";
import { AmdgpuBoListMgr } from "./amdgpu-bo-list.js";
import { AmdgpuCtxMgr } from "./amdgpu-ctx.js";
import type { AmdgpuDevice } from "./amdgpu-device.js";
import { AmdgpuEvictionFenceMgr } from "./amdgpu-userq.js";
import { AmdgpuVm } from "./amdgpu-vm.js";

/** `struct amdgpu_fpriv`. */
export class AmdgpuFpriv {
  /** `fpriv->vm`. */
  readonly vm: AmdgpuVm;
  readonly ctxMgr: AmdgpuCtxMgr;
  /** `fpriv->bo_list_handles`. */
  readonly boLists: AmdgpuBoListMgr;
  /** `fpriv->evf_mgr` + `fpriv->userq_mgr`. */
  readonly userq: AmdgpuEvictionFenceMgr;

  constructor(
    readonly adev: AmdgpuDevice,
    readonly file: DrmFile,
    name: string,
  ) {
    this.vm = new AmdgpuVm(adev, name);
    this.ctxMgr = new AmdgpuCtxMgr(adev);
    this.boLists = new AmdgpuBoListMgr();
    this.userq = new AmdgpuEvictionFenceMgr(adev, this.vm, name);
  }

  /** `amdgpu_driver_postclose_kms`. */
  fini(): void {
    this.userq.fini();
    this.ctxMgr.fini();
    this.boLists.fini();
    if (this.vm.reservedVmid) {
      this.vm.reservedVmid = false;
      this.adev.vmids.freeReserved();
    }
    this.vm.fini();
  }
}

/** The amdgpu state of an open file. `EINVAL` for a file of another driver. */
export function amdgpuFprivOf(file: DrmFile): AmdgpuFpriv {
  const p = file.driverPriv;
  if (!(p instanceof AmdgpuFpriv)) throw new KernelError("EINVAL", `${file} is not an amdgpu file`);
  return p;
}
