/** The VM ioctl (reserved VMIDs), the SCHED ioctl (a master's priority override) and stable pstates. */
import { drmSyncobjCreate, drmSyncobjHandleToFD } from "@drmsim/drm";
import { msecs, Process } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  AMDGPU_CTX_OP_GET_STABLE_PSTATE,
  AMDGPU_CTX_OP_SET_STABLE_PSTATE,
  AMDGPU_CTX_PRIORITY_HIGH,
  AMDGPU_CTX_PRIORITY_UNSET,
  AMDGPU_CTX_STABLE_PSTATE_MIN_SCLK,
  AMDGPU_HW_IP_COMPUTE,
  AMDGPU_HW_IP_GFX,
  AMDGPU_SCHED_OP_CONTEXT_PRIORITY_OVERRIDE,
  AMDGPU_SCHED_OP_PROCESS_PRIORITY_OVERRIDE,
  amdgpuFprivOf,
  DRM_IOCTL_AMDGPU_CTX,
  DRM_IOCTL_AMDGPU_SCHED,
  DRM_IOCTL_AMDGPU_VM,
} from "../src/index.js";
import {
  type AmdgpuCsFence,
  amdgpuCsChunkIb,
  amdgpuCsCtxCreate2,
  amdgpuCsQueryFenceStatus,
  amdgpuCsSubmitRaw2,
  amdgpuVmReserveVmid,
  amdgpuVmUnreserveVmid,
} from "../src/user/index.js";
import { errno, rig } from "./helpers.js";

describe("AMDGPU_VM", () => {
  it("VMs that reserve a VMID share the one kept for them and wait for each other; the rest use the pool", async () => {
    const { sim, host, dev, adev } = rig({ vmids: 3 });
    const [a, b, c] = ["a", "b", "c"].map((n) => new Process(sim, n));
    await sim.execUntilIdle("t", async () => {
      const fds = [
        await a!.open("/dev/dri/renderD128"),
        await b!.open("/dev/dri/renderD128"),
        await c!.open("/dev/dri/renderD128"),
      ];
      await amdgpuVmReserveVmid(a!, fds[0]!);
      await amdgpuVmReserveVmid(a!, fds[0]!); // idempotent per VM
      await amdgpuVmReserveVmid(b!, fds[1]!);
      const reserved = adev.vmids.reserved!;
      expect(reserved).not.toBeNull();
      const ib = (ip: number, ring: number, ns: number) =>
        amdgpuCsChunkIb({ ip_type: ip, ring, duration_ns: ns });
      const submits: [Process, number, number, number, number][] = [
        [a!, fds[0]!, AMDGPU_HW_IP_GFX, 0, msecs(2)],
        [b!, fds[1]!, AMDGPU_HW_IP_COMPUTE, 0, msecs(1)],
        [c!, fds[2]!, AMDGPU_HW_IP_COMPUTE, 1, msecs(1)],
      ];
      const fences: [Process, number, AmdgpuCsFence][] = [];
      for (const [p, fd, ip, ring, ns] of submits) {
        const ctxId = await amdgpuCsCtxCreate2(p, fd);
        const fence = await amdgpuCsSubmitRaw2(p, fd, ctxId, [ib(ip, ring, ns)]);
        fences.push([p, fd, { ctxId, ipType: ip, ring, fence }]);
      }
      for (const [p, fd, f] of fences) expect(await amdgpuCsQueryFenceStatus(p, fd, f)).toBe(true);
      // b waited for a's job to release the reserved ID; c took one of the pool at once.
      expect(adev.rings[AMDGPU_HW_IP_COMPUTE][0]!.ran[0]!.at).toBe(msecs(2));
      expect(adev.rings[AMDGPU_HW_IP_COMPUTE][1]!.ran[0]!.at).toBe(0);
      expect(reserved.uses).toBe(2);
      expect(await errno(a!.ioctl(fds[0]!, DRM_IOCTL_AMDGPU_VM, { in: { op: 1, flags: 1 } }))).toBe("EINVAL");
      expect(await errno(a!.ioctl(fds[0]!, DRM_IOCTL_AMDGPU_VM, { in: { op: 3 } }))).toBe("EINVAL");
      await amdgpuVmUnreserveVmid(a!, fds[0]!);
      expect(adev.vmids.reserved).toBe(reserved);
      // The last reservation goes with its file (which the library's IB mapping keeps open until exit).
      b!.exit();
      expect(adev.vmids.reserved).toBeNull();
    });
    for (const p of [a, c]) p!.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("AMDGPU_SCHED", () => {
  it("a DRM master overrides the priority of another file's contexts; anyone else is refused", async () => {
    const { sim, host, dev } = rig();
    const comp = new Process(sim, "compositor");
    await sim.execUntilIdle("compositor", async () => {
      const card = await comp.open("/dev/dri/card0"); // the first opener is master
      const render = await comp.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(comp, render);
      await amdgpuCsSubmitRaw2(comp, render, ctx, [amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0 })]);
      const sched = (fd: number, a: Record<string, unknown>) =>
        comp.ioctl(fd, DRM_IOCTL_AMDGPU_SCHED, { in: a });
      await sched(card, {
        op: AMDGPU_SCHED_OP_PROCESS_PRIORITY_OVERRIDE,
        fd: render,
        priority: AMDGPU_CTX_PRIORITY_HIGH,
      });
      const c = amdgpuFprivOf([...dev.files].find((f) => f.isRenderClient)!).ctxMgr.get(ctx);
      expect(c.effectivePriority).toBe(AMDGPU_CTX_PRIORITY_HIGH);
      expect(c.getEntity(AMDGPU_HW_IP_GFX, 0, 0).entity.priority).toBe(1); // DRM_SCHED_PRIORITY_HIGH
      await sched(card, {
        op: AMDGPU_SCHED_OP_CONTEXT_PRIORITY_OVERRIDE,
        fd: render,
        ctx_id: ctx,
        priority: AMDGPU_CTX_PRIORITY_UNSET,
      });
      expect(c.effectivePriority).toBe(0);
      expect(await errno(sched(render, { op: 1, fd: render, priority: 0 }))).toBe("EACCES");
      expect(await errno(sched(card, { op: 1, fd: 99, priority: 0 }))).toBe("EBADF");
      const so = await drmSyncobjHandleToFD(comp, render, await drmSyncobjCreate(comp, render));
      expect(await errno(sched(card, { op: 1, fd: so, priority: 0 }))).toBe("EINVAL");
      expect(await errno(sched(card, { op: 1, fd: render, priority: 7 }))).toBe("EINVAL");
      expect(await errno(sched(card, { op: 3, fd: render, priority: 0 }))).toBe("EINVAL");
      expect(await errno(sched(card, { op: 2, fd: render, ctx_id: 9, priority: 0 }))).toBe("EINVAL");
    });
    comp.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("stable pstate", () => {
  it("SET_STABLE_PSTATE takes a known level in its flags, GET_STABLE_PSTATE returns it", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const op = (o: number, flags = 0) =>
        app.ioctl<{ out: { pstate: { flags: number } } }>(fd, DRM_IOCTL_AMDGPU_CTX, {
          in: { op: o, ctx_id: ctx, flags },
        });
      await op(AMDGPU_CTX_OP_SET_STABLE_PSTATE, AMDGPU_CTX_STABLE_PSTATE_MIN_SCLK);
      expect((await op(AMDGPU_CTX_OP_GET_STABLE_PSTATE)).out.pstate.flags).toBe(
        AMDGPU_CTX_STABLE_PSTATE_MIN_SCLK,
      );
      expect(await errno(op(AMDGPU_CTX_OP_SET_STABLE_PSTATE, 7))).toBe("EINVAL");
      expect(await errno(op(AMDGPU_CTX_OP_GET_STABLE_PSTATE, 1))).toBe("EINVAL");
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
