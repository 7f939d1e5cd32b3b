/**
 * A Mesa-asahi-style client from open to completion through `@drmsim/asahi/user`, issuing only
 * the header's ioctls in the order Mesa's winsys does (`agx_open_device`, `agx_bo_create`,
 * `agx_bo_mmap`, `agx_bo_bind`, `agx_create_command_queue`, the submit): GET_PARAMS, VM_CREATE,
 * GEM_CREATE, GEM_MMAP_OFFSET, VM_BIND, QUEUE_CREATE, GEM_BIND_OBJECT, SUBMIT with a byte command
 * buffer. No simulation knob is set, so the drmsim-only side channel is never called: the
 * program runs as an unmodified one would.
 */
import {
  DRM_IOCTL_SYNCOBJ_CREATE,
  DRM_IOCTL_SYNCOBJ_WAIT,
  drmSyncobjCreate,
  drmSyncobjWait,
} from "@drmsim/drm";
import { Process } from "@drmsim/runtime";
import { expect, it } from "vitest";
import {
  ASAHI_DEFAULT_COMPUTE_NS,
  ASAHI_DEFAULT_FRAGMENT_NS,
  ASAHI_DEFAULT_VERTEX_NS,
  ASAHI_HW_MODEL,
  ASAHI_PAGE_SIZE,
  type AsahiHwCommand,
  DRM_ASAHI_BIND_READ,
  DRM_ASAHI_BIND_WRITE,
  DRM_IOCTL_ASAHI_GEM_BIND_OBJECT,
  DRM_IOCTL_ASAHI_GEM_CREATE,
  DRM_IOCTL_ASAHI_GEM_MMAP_OFFSET,
  DRM_IOCTL_ASAHI_GET_PARAMS,
  DRM_IOCTL_ASAHI_QUEUE_CREATE,
  DRM_IOCTL_ASAHI_SUBMIT,
  DRM_IOCTL_ASAHI_VM_BIND,
  DRM_IOCTL_ASAHI_VM_CREATE,
  DrmAsahiPriority,
} from "../src/index.js";
import {
  agxBindTimestampBuffer,
  agxBoCreate,
  agxBoMmapOffset,
  agxComputeCommand,
  agxCreateCommandQueue,
  agxOpenDevice,
  agxRenderCommand,
  agxSubmit,
  agxSyncobj,
  agxVmBind,
} from "../src/user/index.js";
import { setup } from "./helpers.js";

it("Mesa's init, allocate, map, bind and submit sequence runs against the simulated device with the header's bytes only", async () => {
  const seen: AsahiHwCommand[] = [];
  const model = {
    command(c: AsahiHwCommand) {
      seen.push(c);
      return undefined;
    },
  };
  const { sim, host, dev } = setup({ providers: () => [{ provide: ASAHI_HW_MODEL, useValue: model }] });
  const app = new Process(sim, "mesa");
  // Every request code the program issues, in order.
  const issued: number[] = [];
  const ioctl = app.ioctl.bind(app);
  app.ioctl = ((fd: number, cmd: number, arg: unknown) => {
    issued.push(cmd);
    return ioctl(fd, cmd, arg as never);
  }) as typeof app.ioctl;

  const VA = 0x100_0000;
  const r = await sim.exec("mesa", async () => {
    const { fd, vm, params } = await agxOpenDevice(app);
    // Mesa sizes its submits by what the kernel says.
    expect(params.max_commands_per_submission).toBe(64);
    const bo = await agxBoCreate(app, fd, 4 * ASAHI_PAGE_SIZE);
    const offset = await agxBoMmapOffset(app, fd, bo);
    await agxVmBind(app, fd, vm, [
      {
        flags: DRM_ASAHI_BIND_READ | DRM_ASAHI_BIND_WRITE,
        handle: bo,
        offset: 0,
        range: 4 * ASAHI_PAGE_SIZE,
        addr: VA,
      },
    ]);
    const queue = await agxCreateCommandQueue(app, fd, vm, DrmAsahiPriority.MEDIUM);
    const ts = await agxBindTimestampBuffer(app, fd, bo, 3 * ASAHI_PAGE_SIZE, ASAHI_PAGE_SIZE);
    const done = await drmSyncobjCreate(app, fd);
    await agxSubmit(app, fd, {
      queue,
      commands: [
        agxRenderCommand({
          render: {
            vdm_ctrl_stream_base: VA,
            width_px: 256,
            height_px: 128,
            ts_frag: { start: { handle: ts, offset: 0 }, end: { handle: ts, offset: 8 } },
          },
        }),
        // A compute pass that waits for the render (barrier 1: the first render command).
        agxComputeCommand({ vdm_barrier: 1, compute: { cdm_ctrl_stream_base: VA + ASAHI_PAGE_SIZE } }),
      ],
      outSyncs: [agxSyncobj(done)],
    });
    await drmSyncobjWait(app, fd, [done], sim.now + 1_000_000_000);
    return { offset, now: sim.now };
  });

  expect(issued).toEqual([
    DRM_IOCTL_ASAHI_GET_PARAMS,
    DRM_IOCTL_ASAHI_VM_CREATE,
    DRM_IOCTL_ASAHI_GEM_CREATE,
    DRM_IOCTL_ASAHI_GEM_MMAP_OFFSET,
    DRM_IOCTL_ASAHI_VM_BIND,
    DRM_IOCTL_ASAHI_QUEUE_CREATE,
    DRM_IOCTL_ASAHI_GEM_BIND_OBJECT,
    DRM_IOCTL_SYNCOBJ_CREATE,
    DRM_IOCTL_ASAHI_SUBMIT,
    DRM_IOCTL_SYNCOBJ_WAIT,
  ]);
  // The fake offset is page-aligned and not 0 (mmap's offset space starts above the node's own).
  expect(r.offset % BigInt(ASAHI_PAGE_SIZE)).toBe(0n);
  expect(r.offset).toBeGreaterThan(0n);
  // The driver parsed the bytes the library wrote: the model sees the payloads' members.
  expect(seen.map((c) => c.type)).toEqual(["render", "compute"]);
  expect(seen[0]!.render).toMatchObject({ vdm_ctrl_stream_base: BigInt(VA), width_px: 256, height_px: 128 });
  expect(seen[0]!.render!.ts_frag.end).toEqual({ handle: 1, offset: 8 });
  expect(seen[1]!.compute!.cdm_ctrl_stream_base).toBe(BigInt(VA + ASAHI_PAGE_SIZE));
  // Default hardware: vertex, fragment, then the compute that waited for it.
  expect(r.now).toBe(ASAHI_DEFAULT_VERTEX_NS + ASAHI_DEFAULT_FRAGMENT_NS + ASAHI_DEFAULT_COMPUTE_NS);
  app.exit();
  host.remove(dev);
  expect(sim.teardown().findings).toEqual([]);
});
