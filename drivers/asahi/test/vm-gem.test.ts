/** VMs, VM_BIND, GEM_CREATE, PRIME sharing and implicit sync, from userspace. */
import {
  drmCloseBufferHandle,
  drmPrimeFDToHandle,
  drmPrimeHandleToFD,
  drmSyncobjCreate,
  drmSyncobjWait,
} from "@drmsim/drm";
import { EPOLLIN, Process, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  ASAHI_BO_WRITE,
  ASAHI_PAGE_SIZE,
  asahiFileOf,
  DRM_ASAHI_BIND_READ,
  DRM_ASAHI_BIND_SINGLE_PAGE,
  DRM_ASAHI_BIND_UNBIND,
  DRM_ASAHI_BIND_WRITE,
  DRM_ASAHI_GEM_VM_PRIVATE,
  DRM_IOCTL_ASAHI_GEM_CREATE,
  DRM_IOCTL_ASAHI_VM_BIND,
  DRM_IOCTL_ASAHI_VM_CREATE,
  DRM_IOCTL_ASAHI_VM_DESTROY,
  type DrmAsahiGemBindOp,
  drm_asahi_gem_bind_op,
} from "../src/index.js";
import {
  agxBoCreate,
  agxComputeCommand,
  agxOpenContext,
  agxRenderCommand,
  agxVmBind,
  agxVmCreate,
  agxVmDestroy,
} from "../src/user/index.js";
import { fileOf, KERNEL_START, outSyncs, setup, submit } from "./helpers.js";

const FOREVER = 2n ** 62n;
const RW = DRM_ASAHI_BIND_READ | DRM_ASAHI_BIND_WRITE;
const VA = 0x10_0000;

describe("VMs and VM_BIND", () => {
  it("VM_CREATE/DESTROY check the kernel range and ids", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const create = (a: object) => app.ioctl(fd, DRM_IOCTL_ASAHI_VM_CREATE, a);
      await expect(create({ kernel_start: 0, kernel_end: 0x2000_0000 })).rejects.toMatchObject({
        code: "EINVAL",
      });
      await expect(create({ kernel_start: KERNEL_START, kernel_end: KERNEL_START + 0x4000 })).rejects.toThrow(
        /at least/,
      );
      await expect(
        create({ kernel_start: KERNEL_START + 1, kernel_end: KERNEL_START + 0x2000_0001 }),
      ).rejects.toThrow(/page aligned/);
      await expect(
        create({ kernel_start: KERNEL_START, kernel_end: KERNEL_START + 0x2000_0000, pad: 1 }),
      ).rejects.toMatchObject({
        code: "EINVAL",
      });
      expect(await agxVmCreate(app, fd)).toBe(1);
      expect(await agxVmCreate(app, fd)).toBe(2);
      await expect(app.ioctl(fd, DRM_IOCTL_ASAHI_VM_DESTROY, { vm_id: 3 })).rejects.toMatchObject({
        code: "ENOENT",
      });
      await agxVmDestroy(app, fd, 1);
      await expect(app.ioctl(fd, DRM_IOCTL_ASAHI_VM_DESTROY, { vm_id: 1 })).rejects.toMatchObject({
        code: "ENOENT",
      });
      expect(asahiFileOf(fileOf(dev, app)).vms.size).toBe(1);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("binds and unbinds GEM objects; every op is checked first, so a failing bind changes nothing; mappings keep objects alive", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const vm_id = await agxVmCreate(app, fd);
      const bo = await agxBoCreate(app, fd, 3 * ASAHI_PAGE_SIZE);
      const vm = asahiFileOf(fileOf(dev, app)).vms.lookup(vm_id, "test");
      const bind = (binds: DrmAsahiGemBindOp[], extra: object = {}) =>
        app.ioctl(fd, DRM_IOCTL_ASAHI_VM_BIND, {
          vm_id,
          num_binds: binds.length,
          stride: drm_asahi_gem_bind_op.size,
          userptr: binds,
          ...extra,
        });
      const op = (o: DrmAsahiGemBindOp) => ({
        flags: RW,
        handle: bo,
        offset: 0,
        range: ASAHI_PAGE_SIZE,
        addr: VA,
        ...o,
      });
      const bad = async (binds: DrmAsahiGemBindOp[], code: string, msg?: RegExp) => {
        const p = bind(binds);
        await expect(p).rejects.toMatchObject({ code });
        if (msg) await expect(p).rejects.toThrow(msg);
      };
      // num_binds ops are copied from user memory: one more than it holds is EFAULT.
      await expect(bind([op({})], { num_binds: 2 })).rejects.toMatchObject({ code: "EFAULT" });
      await expect(bind([op({})], { vm_id: 5 })).rejects.toMatchObject({ code: "ENOENT" });
      await expect(bind([op({})], { pad: 1 })).rejects.toMatchObject({ code: "EINVAL" });
      // The stride must hold a whole op; a larger one (a newer op struct) is fine.
      await expect(bind([op({})], { stride: 0 })).rejects.toThrow(/stride 0 is smaller/);
      await expect(bind([op({})], { stride: 24 })).rejects.toMatchObject({ code: "EINVAL" });
      await bad([op({ flags: 1 << 7 })], "EINVAL", /unknown flag bits 0x80/);
      await bad([op({ flags: DRM_ASAHI_BIND_SINGLE_PAGE | RW })], "EINVAL", /SINGLE_PAGE/);
      await bad([op({ flags: 0 })], "EINVAL", /READ/);
      await bad([op({ range: 0 })], "EINVAL");
      await bad([op({ addr: VA + 4096 })], "EINVAL", /16 KiB/);
      await bad([op({ addr: KERNEL_START })], "EINVAL", /kernel-reserved/);
      await bad([op({ offset: 3 * ASAHI_PAGE_SIZE })], "EINVAL", /exceeds the object size/);
      await bad([op({ handle: 77 })], "ENOENT");
      // The second op overlaps the first: the whole call fails and the first is not applied.
      await bad(
        [op({}), op({ addr: VA, range: 2 * ASAHI_PAGE_SIZE })],
        "EINVAL",
        /overlaps an existing mapping/,
      );
      expect(vm.mappings).toEqual([]);
      await bind(
        [op({}), op({ addr: VA + ASAHI_PAGE_SIZE, offset: ASAHI_PAGE_SIZE, range: 2 * ASAHI_PAGE_SIZE })],
        { stride: 64 },
      );
      expect(vm.mappings.map((m) => [m.addr, m.range, m.offset])).toEqual([
        [VA, ASAHI_PAGE_SIZE, 0],
        [VA + ASAHI_PAGE_SIZE, 2 * ASAHI_PAGE_SIZE, ASAHI_PAGE_SIZE],
      ]);
      expect(vm.lookup(VA + ASAHI_PAGE_SIZE + 5)?.offset).toBe(ASAHI_PAGE_SIZE);
      // An unbind must cover whole mappings.
      await bad(
        [{ flags: DRM_ASAHI_BIND_UNBIND, addr: VA + ASAHI_PAGE_SIZE, range: ASAHI_PAGE_SIZE }],
        "EINVAL",
        /whole mappings/,
      );
      await bad(
        [{ flags: DRM_ASAHI_BIND_UNBIND, handle: bo, addr: VA, range: ASAHI_PAGE_SIZE }],
        "EINVAL",
        /handle must be 0/,
      );
      await bind([{ flags: DRM_ASAHI_BIND_UNBIND, addr: VA, range: ASAHI_PAGE_SIZE }]);
      expect(vm.mappings).toHaveLength(1);
      // Closing the handle does not free the object: the mapping holds it.
      const obj = fileOf(dev, app).gem.peek(bo)!;
      await drmCloseBufferHandle(app, fd, bo);
      expect(obj.refcount).toBe(1);
      // Destroying the VM drops the mapping and, with it, the object.
      await agxVmDestroy(app, fd, vm_id);
      expect(vm.mappings).toEqual([]);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("GEM_CREATE and PRIME", () => {
  it("checks its arguments, rounds to the 16 KiB page, and VM-private objects neither export nor bind elsewhere", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const vm1 = await agxVmCreate(app, fd);
      const vm2 = await agxVmCreate(app, fd);
      const create = (a: object) => app.ioctl(fd, DRM_IOCTL_ASAHI_GEM_CREATE, a);
      await expect(create({ size: 0 })).rejects.toMatchObject({ code: "EINVAL" });
      await expect(create({ size: 4096, flags: 1 << 4 })).rejects.toMatchObject({ code: "EINVAL" });
      await expect(create({ size: 4096, vm_id: vm1 })).rejects.toThrow(/VM_PRIVATE/);
      await expect(create({ size: 4096, flags: DRM_ASAHI_GEM_VM_PRIVATE, vm_id: 9 })).rejects.toMatchObject({
        code: "ENOENT",
      });
      await expect(create({ size: 4096, pad: 1 })).rejects.toMatchObject({ code: "EINVAL" });
      // A __u64 size no memory holds: ENOMEM, as the allocation would fail.
      await expect(create({ size: 2n ** 60n })).rejects.toMatchObject({ code: "ENOMEM" });
      expect(fileOf(dev, app).gem.count).toBe(0);
      const shared = await agxBoCreate(app, fd, 5000);
      expect(fileOf(dev, app).gem.peek(shared)!.size).toBe(ASAHI_PAGE_SIZE);
      const priv = await agxBoCreate(app, fd, 4096, DRM_ASAHI_GEM_VM_PRIVATE, vm1);
      await expect(drmPrimeHandleToFD(app, fd, priv)).rejects.toMatchObject({ code: "EINVAL" });
      expect(await drmPrimeHandleToFD(app, fd, shared)).toBeGreaterThanOrEqual(0);
      const binds = [{ flags: RW, handle: priv, offset: 0, range: ASAHI_PAGE_SIZE, addr: VA }];
      await expect(agxVmBind(app, fd, vm2, binds)).rejects.toThrow(/private to another VM/);
      await agxVmBind(app, fd, vm1, binds);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("implicit sync across processes over PRIME: a reader waits for the writer's job; the dma-buf polls busy until then", async () => {
    const { sim, host, dev } = setup();
    const writer = new Process(sim, "writer");
    const reader = new Process(sim, "reader");
    const result = await sim.exec("main", async () => {
      const w = await agxOpenContext(writer);
      const r = await agxOpenContext(reader);
      const bo = await agxBoCreate(writer, w.fd, 1 << 20);
      const dmabuf = await drmPrimeHandleToFD(writer, w.fd, bo);
      const passed = writer.sendFd(reader, dmabuf);
      const imported = await drmPrimeFDToHandle(reader, r.fd, passed);
      const done = await drmSyncobjCreate(reader, r.fd);
      await submit(writer, w.fd, {
        queue_id: w.queue,
        commands: [agxRenderCommand({ fragment_ns: usecs(400) })],
        bos: [{ handle: bo, flags: ASAHI_BO_WRITE }],
      });
      const busy = await reader.poll([{ fd: passed, events: EPOLLIN }], 0);
      await submit(reader, r.fd, {
        queue_id: r.queue,
        commands: [agxComputeCommand({ compute_ns: usecs(10) })],
        bos: [{ handle: imported }, { handle: imported }],
        syncs: outSyncs(done),
        out_sync_count: 1,
      });
      await drmSyncobjWait(reader, r.fd, [done], FOREVER);
      const idle = await reader.poll([{ fd: passed, events: EPOLLIN }], 0);
      return { busy, idle, at: sim.now };
    });
    // The write (50 + 400 µs) had to finish before the read (10 µs) could start.
    expect(result).toEqual({ busy: 0, idle: 1, at: usecs(460) });
    writer.exit();
    reader.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
