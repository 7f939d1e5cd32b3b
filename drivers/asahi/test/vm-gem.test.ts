/** VMs, VM_BIND, GEM_CREATE, PRIME sharing and explicit sync across processes, from userspace. */
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
  ASAHI_PAGE_SIZE,
  ASAHI_VM_END,
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
  agxEncodeBindOps,
  agxImplicitInSync,
  agxImplicitOutSync,
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

  it("VM_BIND checks each op as the driver does and applies them one by one: an op that fails leaves the earlier ones", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const vm_id = await agxVmCreate(app, fd);
      const bo = await agxBoCreate(app, fd, 3 * ASAHI_PAGE_SIZE);
      const vm = asahiFileOf(fileOf(dev, app)).vms.lookup(vm_id, "test");
      const op = (o: DrmAsahiGemBindOp = {}): DrmAsahiGemBindOp => ({
        flags: RW,
        handle: bo,
        offset: 0,
        range: ASAHI_PAGE_SIZE,
        addr: VA,
        ...o,
      });
      const bind = (binds: DrmAsahiGemBindOp[], extra: object = {}) =>
        app.ioctl(fd, DRM_IOCTL_ASAHI_VM_BIND, {
          vm_id,
          num_binds: binds.length,
          stride: drm_asahi_gem_bind_op.size,
          userptr: agxEncodeBindOps(binds),
          ...extra,
        });
      const bad = async (binds: DrmAsahiGemBindOp[], code: string, msg?: RegExp) => {
        const p = bind(binds);
        await expect(p).rejects.toMatchObject({ code });
        if (msg) await expect(p).rejects.toThrow(msg);
      };
      // num_binds * stride bytes are copied from user memory at once: one op more than it holds is EFAULT.
      await expect(bind([op()], { num_binds: 2 })).rejects.toMatchObject({ code: "EFAULT" });
      await expect(bind([op()], { pad: 1 })).rejects.toMatchObject({ code: "EINVAL" });
      await expect(bind([op()], { stride: 0 })).rejects.toThrow(/stride is 0/);
      // The VM is looked up by each op, after the op's own checks.
      await expect(bind([op()], { vm_id: 5 })).rejects.toMatchObject({ code: "ENOENT" });
      await expect(bind([op({ handle: 77 })], { vm_id: 5 })).rejects.toMatchObject({ code: "ENOENT" });
      await bad([op({ addr: VA + 4096 })], "EINVAL", /16 KiB page/);
      await bad([op({ flags: RW | (1 << 7) })], "EINVAL", /unknown flag bits 0x80/);
      await bad([op({ handle: 77 })], "ENOENT");
      await bad([op({ offset: 3 * ASAHI_PAGE_SIZE })], "EINVAL", /past the end of the 49152-byte object/);
      await bad([op({ addr: 0 })], "EINVAL", /user VA window/);
      await bad([op({ addr: ASAHI_VM_END })], "EINVAL", /user VA window/);
      await bad([op({ flags: 0 })], "EINVAL", /READ/);
      await bad([op({ addr: KERNEL_START })], "EINVAL", /kernel-reserved/);
      await bad([op({ range: 0 })], "EINVAL", /empty range/);
      expect(vm.mappings).toEqual([]);
      // Op by op, as upstream: the first op is applied before the second fails.
      await bad([op(), op({ handle: 77 })], "ENOENT");
      expect(vm.mappings.map((m) => [m.addr, m.range])).toEqual([[VA, ASAHI_PAGE_SIZE]]);
      // The stride lets the op grow: 64-byte ops (zeros past the 32 the kernel knows) read the same.
      await bind([op({ addr: VA + ASAHI_PAGE_SIZE, offset: ASAHI_PAGE_SIZE, range: 2 * ASAHI_PAGE_SIZE })], {
        stride: 64,
        userptr: agxEncodeBindOps(
          [op({ addr: VA + ASAHI_PAGE_SIZE, offset: ASAHI_PAGE_SIZE, range: 2 * ASAHI_PAGE_SIZE })],
          64,
        ),
      });
      expect(vm.mappings.map((m) => [m.addr, m.range, m.offset])).toEqual([
        [VA, ASAHI_PAGE_SIZE, 0],
        [VA + ASAHI_PAGE_SIZE, 2 * ASAHI_PAGE_SIZE, ASAHI_PAGE_SIZE],
      ]);
      // A shorter op (older userspace) is zero-extended: at stride 24 there is no addr, so it is 0.
      await expect(bind([op()], { stride: 24, userptr: agxEncodeBindOps([op()], 24) })).rejects.toThrow(
        /\[0x0, 0x4000\) is not inside the user VA window/,
      );
      expect(vm.lookup(VA + ASAHI_PAGE_SIZE + 5)?.offset).toBe(ASAHI_PAGE_SIZE);
      // Unbind: no handle, offset or other flags.
      const unbind = (o: DrmAsahiGemBindOp) => ({
        flags: DRM_ASAHI_BIND_UNBIND,
        addr: VA,
        range: ASAHI_PAGE_SIZE,
        ...o,
      });
      await bad([unbind({ handle: bo })], "EINVAL", /no offset, handle or other flags/);
      await bad([unbind({ offset: ASAHI_PAGE_SIZE })], "EINVAL");
      await bad([unbind({ flags: DRM_ASAHI_BIND_UNBIND | DRM_ASAHI_BIND_READ })], "EINVAL");
      await bad([unbind({ addr: KERNEL_START })], "EINVAL", /kernel-reserved/);
      await bind([unbind({ range: 0 })]); // an empty unbind unmaps nothing
      expect(vm.mappings).toHaveLength(2);
      // Closing the handle does not free the object: the two mappings hold it.
      const obj = fileOf(dev, app).gem.peek(bo)!;
      await drmCloseBufferHandle(app, fd, bo);
      expect(obj.refcount).toBe(2);
      // Destroying the VM drops the mappings and, with them, the object.
      await agxVmDestroy(app, fd, vm_id);
      expect(vm.mappings).toEqual([]);
      expect(obj.refcount).toBe(0);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a bind over mappings remaps them (drm_gpuvm's split/merge); an unbind may cut a mapping in two; SINGLE_PAGE repeats one page", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const vm_id = await agxVmCreate(app, fd);
      const P = ASAHI_PAGE_SIZE;
      const big = await agxBoCreate(app, fd, 8 * P);
      const small = await agxBoCreate(app, fd, P);
      const vm = asahiFileOf(fileOf(dev, app)).vms.lookup(vm_id, "test");
      const [bigObj, smallObj] = [fileOf(dev, app).gem.peek(big)!, fileOf(dev, app).gem.peek(small)!];
      const view = () =>
        vm.mappings.map((m) => [
          (m.addr - VA) / P,
          m.range / P,
          m.obj === bigObj ? "big" : "small",
          m.offset / P,
        ]);
      await agxVmBind(app, fd, vm_id, [{ flags: RW, handle: big, offset: 0, range: 8 * P, addr: VA }]);
      // A page of `small` in the middle of `big`'s mapping: big is remapped around it.
      await agxVmBind(app, fd, vm_id, [{ flags: RW, handle: small, offset: 0, range: P, addr: VA + 3 * P }]);
      expect(view()).toEqual([
        [0, 3, "big", 0],
        [3, 1, "small", 0],
        [4, 4, "big", 4],
      ]);
      expect(vm.ops).toEqual({ map: 2, remap: 1, unmap: 0 });
      // Each piece of big holds the object: handle + 2 mappings.
      expect(bigObj.refcount).toBe(3);
      // An unbind across the boundary: the tail of the first piece and all of small go.
      await agxVmBind(app, fd, vm_id, [{ flags: DRM_ASAHI_BIND_UNBIND, addr: VA + 2 * P, range: 2 * P }]);
      expect(view()).toEqual([
        [0, 2, "big", 0],
        [4, 4, "big", 4],
      ]);
      expect(smallObj.refcount).toBe(1);
      // An unbind inside a mapping cuts it in two, the second piece at the matching offset.
      await agxVmBind(app, fd, vm_id, [{ flags: DRM_ASAHI_BIND_UNBIND, addr: VA + 5 * P, range: P }]);
      expect(view()).toEqual([
        [0, 2, "big", 0],
        [4, 1, "big", 4],
        [6, 2, "big", 6],
      ]);
      expect(bigObj.refcount).toBe(4);
      // A bind exactly over a mapping replaces it.
      await agxVmBind(app, fd, vm_id, [{ flags: RW, handle: small, offset: 0, range: P, addr: VA + 4 * P }]);
      expect(view()[1]).toEqual([4, 1, "small", 0]);
      expect(vm.ops).toEqual({ map: 3, remap: 3, unmap: 2 });
      // SINGLE_PAGE: page 2 of big repeated over 6 pages (offset + one page must fit the object).
      const W = VA + 16 * P;
      await expect(
        agxVmBind(app, fd, vm_id, [
          {
            flags: DRM_ASAHI_BIND_READ | DRM_ASAHI_BIND_SINGLE_PAGE,
            handle: big,
            offset: 8 * P,
            range: 6 * P,
            addr: W,
          },
        ]),
      ).rejects.toThrow(/past the end/);
      await agxVmBind(app, fd, vm_id, [
        {
          flags: DRM_ASAHI_BIND_READ | DRM_ASAHI_BIND_SINGLE_PAGE,
          handle: big,
          offset: 2 * P,
          range: 6 * P,
          addr: W,
        },
      ]);
      expect(vm.lookup(W + 5 * P)?.offset).toBe(2 * P);
      await agxVmBind(app, fd, vm_id, [{ flags: DRM_ASAHI_BIND_UNBIND, addr: W, range: 2 * P }]);
      expect(vm.lookup(W + 2 * P)).toMatchObject({ addr: W + 2 * P, offset: 2 * P });
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

  it("explicit sync only: asahi fences no buffer; over PRIME the writer hands its fence to the dma-buf and the reader waits on it, as Mesa does", async () => {
    const { sim, host, dev } = setup();
    const writer = new Process(sim, "writer");
    const reader = new Process(sim, "reader");
    const result = await sim.exec("main", async () => {
      const w = await agxOpenContext(writer);
      const r = await agxOpenContext(reader);
      const bo = await agxBoCreate(writer, w.fd, 1 << 20);
      await agxVmBind(writer, w.fd, w.vm, [{ flags: RW, handle: bo, offset: 0, range: 1 << 20, addr: VA }]);
      const dmabuf = await drmPrimeHandleToFD(writer, w.fd, bo);
      const passed = writer.sendFd(reader, dmabuf);
      const imported = await drmPrimeFDToHandle(reader, r.fd, passed);
      await agxVmBind(reader, r.fd, r.vm, [
        { flags: RW, handle: imported, offset: 0, range: 1 << 20, addr: VA },
      ]);
      const written = await drmSyncobjCreate(writer, w.fd);
      const done = await drmSyncobjCreate(reader, r.fd);
      await submit(writer, w.fd, {
        queue_id: w.queue,
        commands: [agxRenderCommand({ fragment_ns: usecs(400) })],
        syncs: outSyncs(written),
        out_sync_count: 1,
      });
      // The kernel put nothing in the buffer's reservation: it polls idle.
      const beforeImport = await reader.poll([{ fd: passed, events: EPOLLIN }], 0);
      // The writer's winsys hands its out-fence to the dma-buf, as a write.
      await agxImplicitOutSync(writer, w.fd, dmabuf, written, true);
      const busy = await reader.poll([{ fd: passed, events: EPOLLIN }], 0);
      // The reader's winsys turns what a read must wait for into an in-sync.
      const inSync = await agxImplicitInSync(reader, r.fd, passed);
      await submit(reader, r.fd, {
        queue_id: r.queue,
        commands: [agxComputeCommand({ compute_ns: usecs(10) })],
        syncs: [inSync, ...outSyncs(done)],
        in_sync_count: 1,
        out_sync_count: 1,
      });
      await drmSyncobjWait(reader, r.fd, [done], FOREVER);
      const idle = await reader.poll([{ fd: passed, events: EPOLLIN }], 0);
      return { beforeImport, busy, idle, at: sim.now };
    });
    // The write (50 + 400 µs) had to finish before the read (10 µs) could start.
    expect(result).toEqual({ beforeImport: 1, busy: 0, idle: 1, at: usecs(460) });
    writer.exit();
    reader.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
