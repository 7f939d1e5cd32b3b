/**
 * What Mesa asks first: GET_PARAMS (the device's identity and limits, written as bytes up to the
 * size userspace knows), GET_TIME (the GPU clock), GEM_MMAP_OFFSET (where to mmap a BO) and
 * GEM_BIND_OBJECT (timestamp buffers).
 */
import { DRM_IOCTL_AUTH_MAGIC, DRM_IOCTL_GET_MAGIC, drmCloseBufferHandle } from "@drmsim/drm";
import { Process, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  ASAHI_MAX_ATTACHMENTS,
  ASAHI_MAX_COMMANDS_PER_SUBMISSION,
  ASAHI_PAGE_SIZE,
  ASAHI_VM_END,
  ASAHI_VM_KERNEL_MIN_SIZE,
  ASAHI_VM_START,
  asahiFileOf,
  DRM_ASAHI_BIND_OBJECT_OP_BIND,
  DRM_ASAHI_BIND_OBJECT_OP_UNBIND,
  DRM_ASAHI_BIND_OBJECT_USAGE_TIMESTAMPS,
  DRM_IOCTL_ASAHI_GEM_BIND_OBJECT,
  DRM_IOCTL_ASAHI_GEM_MMAP_OFFSET,
  DRM_IOCTL_ASAHI_GET_PARAMS,
  DRM_IOCTL_ASAHI_GET_TIME,
  drm_asahi_params_global,
} from "../src/index.js";
import {
  agxBindTimestampBuffer,
  agxBoCreate,
  agxBoMmapOffset,
  agxGetParams,
  agxGetTime,
  agxUnbindObject,
} from "../src/user/index.js";
import { fileOf, setup } from "./helpers.js";

describe("ASAHI_GET_PARAMS", () => {
  it("describes the simulated M1 GPU and the driver's limits", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    const params = await sim.exec("app", async () =>
      agxGetParams(app, await app.open("/dev/dri/renderD128")),
    );
    expect(params).toMatchObject({
      features: 0n,
      gpu_generation: 13,
      gpu_variant: "G".charCodeAt(0),
      gpu_revision: 0x11,
      chip_id: 0x8103,
      num_dies: 1,
      num_clusters_total: 1,
      num_cores_per_cluster: 8,
      max_frequency_khz: 1_278_000,
      vm_start: BigInt(ASAHI_VM_START),
      vm_end: BigInt(ASAHI_VM_END),
      vm_kernel_min_size: BigInt(ASAHI_VM_KERNEL_MIN_SIZE),
      max_commands_per_submission: 64,
      max_attachments: 16,
      command_timestamp_frequency_hz: 1_000_000_000n,
    });
    expect(params.core_masks.slice(0, 2)).toEqual([0xffn, 0n]);
    expect([ASAHI_MAX_COMMANDS_PER_SUBMISSION, ASAHI_MAX_ATTACHMENTS]).toEqual([64, 16]);
    // The user window ends two 16 KiB pages below 2^39 (the driver's IOVA_UNK_PAGE).
    expect(ASAHI_VM_END).toBe(2 ** 39 - 2 * ASAHI_PAGE_SIZE);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("writes no more than `size` bytes (older userspace), nothing for 0; checks param_group, pad and the pointer", async () => {
    const { sim, host, dev } = setup({ maxCommands: 20 });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const get = (a: object) => app.ioctl(fd, DRM_IOCTL_ASAHI_GET_PARAMS, a);
      // An older struct of 24 bytes: features, generation/variant/revision, chip id — and nothing past it.
      const old = new Uint8Array(64).fill(0xaa);
      await get({ pointer: old, size: 24 });
      const view = new DataView(old.buffer);
      expect([view.getUint32(8, true), view.getUint32(20, true)]).toEqual([13, 0x8103]);
      expect([...old.subarray(24)].every((b) => b === 0xaa)).toBe(true);
      // A size past the struct writes the struct and no more.
      const big = new Uint8Array(700).fill(0xaa);
      await get({ pointer: big, size: 700 });
      expect(
        new DataView(big.buffer).getUint32(drm_asahi_params_global.offsets.max_commands_per_submission, true),
      ).toBe(20);
      expect([...big.subarray(drm_asahi_params_global.size)].every((b) => b === 0xaa)).toBe(true);
      await get({ pointer: null, size: 0 }); // nothing to write: no fault
      await expect(get({ pointer: new Uint8Array(16), size: 592 })).rejects.toMatchObject({ code: "EFAULT" });
      await expect(get({ pointer: null, size: 8 })).rejects.toMatchObject({ code: "EFAULT" });
      await expect(get({ param_group: 1, pointer: big, size: 8 })).rejects.toThrow(/param_group must be 0/);
      await expect(get({ pad: 1, pointer: big, size: 8 })).rejects.toMatchObject({ code: "EINVAL" });
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("is the one ioctl an unauthenticated primary-node client may make (RENDER_ALLOW without AUTH)", async () => {
    const { sim, host, dev } = setup();
    const master = new Process(sim, "master");
    const client = new Process(sim, "client");
    await sim.exec("t", async () => {
      await master.open("/dev/dri/card0");
      const c = await client.open("/dev/dri/card0");
      expect((await agxGetParams(client, c)).chip_id).toBe(0x8103);
      await expect(agxGetTime(client, c)).rejects.toMatchObject({ code: "EACCES" });
      await expect(agxBoCreate(client, c, ASAHI_PAGE_SIZE)).rejects.toMatchObject({ code: "EACCES" });
      const { magic } = await client.ioctl<{ magic: number }>(c, DRM_IOCTL_GET_MAGIC, {});
      const m = [...master.files.list()][0]!;
      await master.ioctl(m, DRM_IOCTL_AUTH_MAGIC, { magic });
      expect(await agxGetTime(client, c)).toBe(BigInt(sim.now));
    });
    master.exit();
    client.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("ASAHI_GET_TIME", () => {
  it("reads the GPU clock in ns (the virtual clock); flags must be 0", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const t0 = await agxGetTime(app, fd);
      await new Promise<void>((resolve) => sim.schedule(usecs(250), resolve));
      expect((await agxGetTime(app, fd)) - t0).toBe(BigInt(usecs(250)));
      await expect(app.ioctl(fd, DRM_IOCTL_ASAHI_GET_TIME, { flags: 1 })).rejects.toMatchObject({
        code: "EINVAL",
      });
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("ASAHI_GEM_MMAP_OFFSET", () => {
  it("gives each object a stable, page-aligned, distinct fake offset; bad handles and flags are refused", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const a = await agxBoCreate(app, fd, ASAHI_PAGE_SIZE);
      const b = await agxBoCreate(app, fd, ASAHI_PAGE_SIZE);
      const oa = await agxBoMmapOffset(app, fd, a);
      expect(oa).toBeGreaterThan(0n);
      expect(oa % 4096n).toBe(0n);
      expect(await agxBoMmapOffset(app, fd, a)).toBe(oa);
      expect(await agxBoMmapOffset(app, fd, b)).not.toBe(oa);
      const q = (x: object) => app.ioctl(fd, DRM_IOCTL_ASAHI_GEM_MMAP_OFFSET, x);
      await expect(q({ handle: 99 })).rejects.toMatchObject({ code: "ENOENT" });
      await expect(q({ handle: a, flags: 1 })).rejects.toThrow(/flags must be 0/);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("ASAHI_GEM_BIND_OBJECT", () => {
  it("binds a range of a BO as a timestamp buffer (holding the BO), unbinds it; every argument is checked", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const bo = await agxBoCreate(app, fd, 2 * ASAHI_PAGE_SIZE);
      const objects = asahiFileOf(fileOf(dev, app)).objects;
      const call = (a: object) => app.ioctl(fd, DRM_IOCTL_ASAHI_GEM_BIND_OBJECT, a);
      const bind = {
        op: DRM_ASAHI_BIND_OBJECT_OP_BIND,
        flags: DRM_ASAHI_BIND_OBJECT_USAGE_TIMESTAMPS,
        handle: bo,
      };
      await expect(call({ ...bind, range: 100 })).rejects.toThrow(/16 KiB page/);
      await expect(call({ ...bind, flags: 0, range: ASAHI_PAGE_SIZE })).rejects.toThrow(/USAGE_TIMESTAMPS/);
      await expect(call({ ...bind, range: 0 })).rejects.toThrow(/non-empty range/);
      await expect(
        call({ ...bind, offset: ASAHI_PAGE_SIZE, range: 2 * ASAHI_PAGE_SIZE }),
      ).rejects.toMatchObject({
        code: "EINVAL",
      });
      await expect(call({ ...bind, handle: 77, range: ASAHI_PAGE_SIZE })).rejects.toMatchObject({
        code: "ENOENT",
      });
      await expect(call({ ...bind, vm_id: 1, range: ASAHI_PAGE_SIZE })).rejects.toThrow(/vm_id must be 0/);
      await expect(call({ ...bind, range: ASAHI_PAGE_SIZE, pad: 1 })).rejects.toMatchObject({
        code: "EINVAL",
      });
      await expect(call({ op: 2 })).rejects.toThrow(/unknown op 2/);
      expect(objects.size).toBe(0);
      const h1 = await agxBindTimestampBuffer(app, fd, bo, ASAHI_PAGE_SIZE, ASAHI_PAGE_SIZE);
      const h2 = await agxBindTimestampBuffer(app, fd, bo, 0, 2 * ASAHI_PAGE_SIZE);
      expect([h1, h2]).toEqual([1, 2]);
      expect(objects.find(h1)).toMatchObject({ offset: ASAHI_PAGE_SIZE, size: ASAHI_PAGE_SIZE });
      const unbind = { op: DRM_ASAHI_BIND_OBJECT_OP_UNBIND, object_handle: h1 };
      await expect(call({ ...unbind, range: 1 })).rejects.toMatchObject({ code: "EINVAL" });
      await expect(call({ ...unbind, flags: 1 })).rejects.toMatchObject({ code: "EINVAL" });
      await expect(call({ ...unbind, handle: bo })).rejects.toMatchObject({ code: "EINVAL" });
      await expect(call({ ...unbind, object_handle: 9 })).rejects.toMatchObject({ code: "ENOENT" });
      // The bound objects hold the BO: closing its handle leaves it alive.
      const obj = fileOf(dev, app).gem.peek(bo)!;
      await drmCloseBufferHandle(app, fd, bo);
      expect(obj.refcount).toBe(2);
      await agxUnbindObject(app, fd, h1);
      expect(obj.refcount).toBe(1);
      await expect(agxUnbindObject(app, fd, h1)).rejects.toMatchObject({ code: "ENOENT" });
      // h2 goes with the file.
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
