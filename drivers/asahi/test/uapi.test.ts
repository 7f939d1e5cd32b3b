/**
 * The asahi uAPI as declared: every struct's size and every ioctl's request number equal the
 * kernel header's (`include/uapi/drm/asahi_drm.h`; values as the C compiler computes them), and
 * the device registers every ioctl of the header with the driver's flags.
 */
import { DRM_AUTH, DRM_RENDER_ALLOW, drmIoctlLookup } from "@drmsim/drm";
import { IocDir, iocDir, Process } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_IOCTL_ASAHI_GEM_BIND_OBJECT,
  DRM_IOCTL_ASAHI_GEM_CREATE,
  DRM_IOCTL_ASAHI_GEM_MMAP_OFFSET,
  DRM_IOCTL_ASAHI_GET_PARAMS,
  DRM_IOCTL_ASAHI_GET_TIME,
  DRM_IOCTL_ASAHI_QUEUE_CREATE,
  DRM_IOCTL_ASAHI_QUEUE_DESTROY,
  DRM_IOCTL_ASAHI_SUBMIT,
  DRM_IOCTL_ASAHI_VM_BIND,
  DRM_IOCTL_ASAHI_VM_CREATE,
  DRM_IOCTL_ASAHI_VM_DESTROY,
  DRM_IOCTL_DRMSIM_ASAHI_HW_NEXT,
  drm_asahi_attachment,
  drm_asahi_bg_eot,
  drm_asahi_cmd_compute,
  drm_asahi_cmd_header,
  drm_asahi_cmd_render,
  drm_asahi_gem_bind_object,
  drm_asahi_gem_bind_op,
  drm_asahi_gem_create,
  drm_asahi_gem_mmap_offset,
  drm_asahi_get_params,
  drm_asahi_get_time,
  drm_asahi_helper_program,
  drm_asahi_params_global,
  drm_asahi_queue_create,
  drm_asahi_queue_destroy,
  drm_asahi_submit,
  drm_asahi_sync,
  drm_asahi_timestamp,
  drm_asahi_timestamps,
  drm_asahi_vm_bind,
  drm_asahi_vm_create,
  drm_asahi_vm_destroy,
  drm_asahi_zls_buffer,
  drmsim_asahi_hw_cmd,
  drmsim_asahi_hw_next,
} from "../src/index.js";
import { setup } from "./helpers.js";

describe("asahi uAPI layouts", () => {
  it("every struct has the header's sizeof", () => {
    const sizes = Object.fromEntries(
      [
        drm_asahi_params_global,
        drm_asahi_get_params,
        drm_asahi_get_time,
        drm_asahi_vm_create,
        drm_asahi_vm_destroy,
        drm_asahi_gem_create,
        drm_asahi_gem_mmap_offset,
        drm_asahi_gem_bind_op,
        drm_asahi_vm_bind,
        drm_asahi_gem_bind_object,
        drm_asahi_queue_create,
        drm_asahi_queue_destroy,
        drm_asahi_sync,
        drm_asahi_cmd_header,
        drm_asahi_submit,
        drm_asahi_attachment,
        drm_asahi_zls_buffer,
        drm_asahi_timestamp,
        drm_asahi_timestamps,
        drm_asahi_helper_program,
        drm_asahi_bg_eot,
        drm_asahi_cmd_render,
        drm_asahi_cmd_compute,
      ].map((s) => [s.name, s.size]),
    );
    expect(sizes).toEqual({
      drm_asahi_params_global: 592,
      drm_asahi_get_params: 24,
      drm_asahi_get_time: 16,
      drm_asahi_vm_create: 24,
      drm_asahi_vm_destroy: 8,
      drm_asahi_gem_create: 24,
      drm_asahi_gem_mmap_offset: 16,
      drm_asahi_gem_bind_op: 32,
      drm_asahi_vm_bind: 24,
      drm_asahi_gem_bind_object: 40,
      drm_asahi_queue_create: 24,
      drm_asahi_queue_destroy: 8,
      drm_asahi_sync: 16,
      drm_asahi_cmd_header: 8,
      drm_asahi_submit: 40,
      drm_asahi_attachment: 24,
      drm_asahi_zls_buffer: 24,
      drm_asahi_timestamp: 8,
      drm_asahi_timestamps: 16,
      drm_asahi_helper_program: 16,
      drm_asahi_bg_eot: 8,
      drm_asahi_cmd_render: 240,
      drm_asahi_cmd_compute: 64,
    });
    // Members sit where the header puts them (spot checks of the packed and the padded spots).
    expect(drm_asahi_params_global.offsets.vm_start).toBe(552);
    expect(drm_asahi_params_global.offsets.command_timestamp_frequency_hz).toBe(584);
    expect(drm_asahi_cmd_render.offsets.utile_width_px).toBe(156);
    expect(drm_asahi_cmd_render.offsets.ts_frag).toBe(224);
    expect(drm_asahi_submit.offsets).toMatchObject({ cmdbuf: 8, flags: 16, cmdbuf_size: 32, pad: 36 });
    expect(drm_asahi_cmd_header.align).toBe(2);
    expect(drm_asahi_vm_destroy.align).toBe(4);
  });

  it("every request number is the header's (DRM_IOW for VM_DESTROY, VM_BIND, QUEUE_DESTROY, SUBMIT, GET_PARAMS)", () => {
    expect({
      GET_PARAMS: DRM_IOCTL_ASAHI_GET_PARAMS,
      GET_TIME: DRM_IOCTL_ASAHI_GET_TIME,
      VM_CREATE: DRM_IOCTL_ASAHI_VM_CREATE,
      VM_DESTROY: DRM_IOCTL_ASAHI_VM_DESTROY,
      VM_BIND: DRM_IOCTL_ASAHI_VM_BIND,
      GEM_CREATE: DRM_IOCTL_ASAHI_GEM_CREATE,
      GEM_MMAP_OFFSET: DRM_IOCTL_ASAHI_GEM_MMAP_OFFSET,
      GEM_BIND_OBJECT: DRM_IOCTL_ASAHI_GEM_BIND_OBJECT,
      QUEUE_CREATE: DRM_IOCTL_ASAHI_QUEUE_CREATE,
      QUEUE_DESTROY: DRM_IOCTL_ASAHI_QUEUE_DESTROY,
      SUBMIT: DRM_IOCTL_ASAHI_SUBMIT,
    }).toEqual({
      GET_PARAMS: 0x40186440,
      GET_TIME: 0xc0106441,
      VM_CREATE: 0xc0186442,
      VM_DESTROY: 0x40086443,
      VM_BIND: 0x40186444,
      GEM_CREATE: 0xc0186445,
      GEM_MMAP_OFFSET: 0xc0106446,
      GEM_BIND_OBJECT: 0xc0286447,
      QUEUE_CREATE: 0xc0186448,
      QUEUE_DESTROY: 0x40086449,
      SUBMIT: 0x4028644a,
    });
    expect(iocDir(DRM_IOCTL_ASAHI_SUBMIT)).toBe(IocDir.WRITE);
  });

  it("the device registers every ioctl of the header (GET_PARAMS render-only, the rest AUTH | RENDER_ALLOW) and the drmsim side channel", async () => {
    const { sim, host, dev } = setup();
    const header = [
      DRM_IOCTL_ASAHI_GET_PARAMS,
      DRM_IOCTL_ASAHI_GET_TIME,
      DRM_IOCTL_ASAHI_VM_CREATE,
      DRM_IOCTL_ASAHI_VM_DESTROY,
      DRM_IOCTL_ASAHI_VM_BIND,
      DRM_IOCTL_ASAHI_GEM_CREATE,
      DRM_IOCTL_ASAHI_GEM_MMAP_OFFSET,
      DRM_IOCTL_ASAHI_GEM_BIND_OBJECT,
      DRM_IOCTL_ASAHI_QUEUE_CREATE,
      DRM_IOCTL_ASAHI_QUEUE_DESTROY,
      DRM_IOCTL_ASAHI_SUBMIT,
    ];
    expect(header.map((cmd) => [drmIoctlLookup(dev, cmd)?.name, drmIoctlLookup(dev, cmd)?.flags])).toEqual([
      ["ASAHI_GET_PARAMS", DRM_RENDER_ALLOW],
      ["ASAHI_GET_TIME", DRM_AUTH | DRM_RENDER_ALLOW],
      ["ASAHI_VM_CREATE", DRM_AUTH | DRM_RENDER_ALLOW],
      ["ASAHI_VM_DESTROY", DRM_AUTH | DRM_RENDER_ALLOW],
      ["ASAHI_VM_BIND", DRM_AUTH | DRM_RENDER_ALLOW],
      ["ASAHI_GEM_CREATE", DRM_AUTH | DRM_RENDER_ALLOW],
      ["ASAHI_GEM_MMAP_OFFSET", DRM_AUTH | DRM_RENDER_ALLOW],
      ["ASAHI_GEM_BIND_OBJECT", DRM_AUTH | DRM_RENDER_ALLOW],
      ["ASAHI_QUEUE_CREATE", DRM_AUTH | DRM_RENDER_ALLOW],
      ["ASAHI_QUEUE_DESTROY", DRM_AUTH | DRM_RENDER_ALLOW],
      ["ASAHI_SUBMIT", DRM_AUTH | DRM_RENDER_ALLOW],
    ]);
    // The side channel sits at the top of the driver range, far from the header's numbers.
    expect(DRM_IOCTL_DRMSIM_ASAHI_HW_NEXT).toBe(0x4010649f);
    expect(drmIoctlLookup(dev, DRM_IOCTL_DRMSIM_ASAHI_HW_NEXT)?.name).toBe("DRMSIM_ASAHI_HW_NEXT");
    expect(drmsim_asahi_hw_cmd.size).toBe(80);
    expect(drmsim_asahi_hw_next.size).toBe(16);
    // Nothing else: the next number after SUBMIT is unknown.
    expect(drmIoctlLookup(dev, DRM_IOCTL_ASAHI_SUBMIT + 1)).toBeUndefined();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      // Out members come back on IOWR requests only: VM_CREATE writes vm_id into the caller's object.
      const create = { kernel_start: 0x1_0000_0000, kernel_end: 0x1_2000_0000, vm_id: 0 };
      await app.ioctl(fd, DRM_IOCTL_ASAHI_VM_CREATE, create);
      expect(create.vm_id).toBe(1);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
