/**
 * `struct amdgpu_fpriv`: what one open file of the device owns — its VM, its contexts, its user
 * queues and their eviction fence. Created by the driver's `open`, torn down by `postclose`.
 */
import type { DrmFile } from "@drmsim/drm";
import { KernelError } from "@drmsim/runtime";
import { AmdgpuCtxMgr } from "./amdgpu-ctx.js";
import type { AmdgpuDevice } from "./amdgpu-device.js";
import { AmdgpuVm } from "./amdgpu-ids.js";
import { AmdgpuEvictionFenceMgr } from "./amdgpu-userq.js";

/** `struct amdgpu_fpriv`. */
export class AmdgpuFpriv {
  readonly vm: AmdgpuVm;
  readonly ctxMgr: AmdgpuCtxMgr;
  /** `fpriv->evf_mgr` + `fpriv->userq_mgr`. */
  readonly userq: AmdgpuEvictionFenceMgr;

  constructor(
    readonly adev: AmdgpuDevice,
    readonly file: DrmFile,
    name: string,
  ) {
    this.vm = new AmdgpuVm(name);
    this.ctxMgr = new AmdgpuCtxMgr(adev);
    this.userq = new AmdgpuEvictionFenceMgr(adev, name);
  }

  /** `amdgpu_driver_postclose_kms`. */
  fini(): void {
    this.userq.fini();
    this.ctxMgr.fini();
  }
}

/** The amdgpu state of an open file. `EINVAL` for a file of another driver. */
export function amdgpuFprivOf(file: DrmFile): AmdgpuFpriv {
  const p = file.driverPriv;
  if (!(p instanceof AmdgpuFpriv)) throw new KernelError("EINVAL", `${file} is not an amdgpu file`);
  return p;
}
