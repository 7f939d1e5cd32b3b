/** ASAHI_SUBMIT from userspace: argument checks, barriers, syncobjs, prepareJob slot fences. */
import {
  DRM_IOCTL_AUTH_MAGIC,
  DRM_IOCTL_GET_MAGIC,
  DrmHookStage,
  type DrmPlugin,
  DrmPluginHost,
  drmProcessSetRoot,
  drmSyncobjCreate,
  drmSyncobjQuery,
  drmSyncobjTimelineWait,
  drmSyncobjWait,
} from "@drmsim/drm";
import { Process, Simulator, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  AsahiQueue,
  asahiDeviceOf,
  asahiFileOf,
  asahiProbe,
  DRM_ASAHI_BARRIER_NONE,
  DRM_ASAHI_SET_COMPUTE_ATTACHMENTS,
  DRM_ASAHI_SET_FRAGMENT_ATTACHMENTS,
  DRM_ASAHI_SET_VERTEX_ATTACHMENTS,
  DRM_IOCTL_ASAHI_QUEUE_CREATE,
  DRM_IOCTL_ASAHI_QUEUE_DESTROY,
  traceAsahiFwCommand,
} from "../src/index.js";
import {
  agxAttachmentsCommand,
  agxComputeCommand,
  agxCreateCommandQueue,
  agxDestroyCommandQueue,
  agxOpenContext,
  agxRenderCommand,
  agxVmCreate,
} from "../src/user/index.js";
import { fileOf, outSyncs, queueOf, setup, submit, syncobjError } from "./helpers.js";

const FOREVER = 2n ** 62n;

describe("ASAHI_QUEUE_CREATE / DESTROY", () => {
  it("validates flags, VM, priority; HIGH needs CAP_SYS_ADMIN; destroy of an unknown id is ENOENT", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const vm_id = await agxVmCreate(app, fd);
      const create = (a: object) => app.ioctl(fd, DRM_IOCTL_ASAHI_QUEUE_CREATE, a);
      await expect(create({ vm_id, flags: 1 })).rejects.toMatchObject({ code: "EINVAL" });
      await expect(create({ vm_id: 9 })).rejects.toMatchObject({ code: "ENOENT" });
      await expect(create({ vm_id, priority: 4 })).rejects.toMatchObject({ code: "EINVAL" });
      await expect(create({ vm_id, priority: 2 })).rejects.toMatchObject({ code: "EPERM" });
      expect(fileOf(dev, app).driverPriv).toMatchObject({ queues: new Map() });
      const q = await create({ vm_id, priority: 0 });
      expect(q).toMatchObject({ queue_id: 1 });
      await expect(app.ioctl(fd, DRM_IOCTL_ASAHI_QUEUE_DESTROY, { queue_id: 2 })).rejects.toMatchObject({
        code: "ENOENT",
      });
      await expect(
        app.ioctl(fd, DRM_IOCTL_ASAHI_QUEUE_DESTROY, { queue_id: 1, pad: 1 }),
      ).rejects.toMatchObject({
        code: "EINVAL",
      });
      await agxDestroyCommandQueue(app, fd, 1);
      await expect(app.ioctl(fd, DRM_IOCTL_ASAHI_QUEUE_DESTROY, { queue_id: 1 })).rejects.toMatchObject({
        code: "ENOENT",
      });
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("asahi ioctl permissions (the driver's declare_drm_ioctls!: AUTH | RENDER_ALLOW)", () => {
  it("on the primary node an unauthenticated client is refused (EACCES) until the master authenticates it; render clients always pass", async () => {
    const { sim, host, dev } = setup();
    const compositor = new Process(sim, "compositor");
    const client = new Process(sim, "client");
    await sim.exec("t", async () => {
      const m = await compositor.open("/dev/dri/card0");
      const c = await client.open("/dev/dri/card0");
      expect(await agxVmCreate(compositor, m)).toBe(1); // the master is authenticated
      await expect(agxVmCreate(client, c)).rejects.toMatchObject({ code: "EACCES" });
      expect(asahiFileOf(fileOf(dev, client)).vms.size).toBe(0);
      const { magic } = await client.ioctl<{ magic: number }>(c, DRM_IOCTL_GET_MAGIC, {});
      await compositor.ioctl(m, DRM_IOCTL_AUTH_MAGIC, { magic });
      expect(await agxVmCreate(client, c)).toBe(1);
      const r = await client.open("/dev/dri/renderD128");
      expect(await agxVmCreate(client, r)).toBe(1);
    });
    compositor.exit();
    client.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("QUEUE_CREATE's HIGH priority asks the *calling* process for CAP_SYS_ADMIN, not the one that opened the fd", async () => {
    const { sim, host, dev } = setup();
    const root = new Process(sim, "root");
    const user = new Process(sim, "user");
    drmProcessSetRoot(root);
    await sim.exec("t", async () => {
      const r = await root.open("/dev/dri/renderD128");
      const vm_id = await agxVmCreate(root, r);
      const inUser = root.sendFd(user, r);
      await expect(agxCreateCommandQueue(user, inUser, vm_id, 2)).rejects.toMatchObject({ code: "EPERM" });
      const u = await user.open("/dev/dri/renderD128");
      const uvm = await agxVmCreate(user, u);
      const inRoot = user.sendFd(root, u);
      expect(await agxCreateCommandQueue(root, inRoot, uvm, 2)).toBe(1);
      expect(asahiFileOf(fileOf(dev, user)).queues.size).toBe(1);
    });
    root.exit();
    user.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("ASAHI_SUBMIT argument checks (a failed submit changes nothing)", () => {
  it("rejects bad flags, pads, queues, syncs, commands and barriers", async () => {
    const { sim, host, dev } = setup({ slots: 8 });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, queue } = await agxOpenContext(app);
      const so = await drmSyncobjCreate(app, fd);
      const ok = { queue_id: queue, commands: [agxRenderCommand()] };
      const bad = async (args: object, code: string, msg?: RegExp) => {
        const p = submit(app, fd, { ...ok, ...args } as never);
        await expect(p).rejects.toMatchObject({ code });
        if (msg) await expect(p).rejects.toThrow(msg);
      };
      await bad({ flags: 1 }, "EINVAL");
      await bad({ pad: 1 }, "EINVAL");
      await bad({ queue_id: 7 }, "ENOENT");
      // in_sync_count + out_sync_count syncs are copied from user memory: one short is EFAULT.
      await bad({ syncs: outSyncs(so), out_sync_count: 2 }, "EFAULT", /copy_from_user/);
      await bad({ out_sync_count: 1 }, "EFAULT", /NULL/);
      await bad({ syncs: [{ sync_type: 5, handle: so }], out_sync_count: 1 }, "EINVAL", /sync_type/);
      await bad({ syncs: [{ sync_type: 0, handle: so, timeline_value: 3 }], out_sync_count: 1 }, "EINVAL");
      await bad({ syncs: outSyncs(99), out_sync_count: 1 }, "ENOENT");
      await bad({ syncs: outSyncs(99), in_sync_count: 1 }, "ENOENT");
      // An in-sync whose syncobj has no fence yet (no WAIT_FOR_SUBMIT in a submit): EINVAL.
      await bad({ syncs: outSyncs(so), in_sync_count: 1 }, "EINVAL");
      await bad({ commands: [] }, "EINVAL", /1\.\.64 hardware commands, got 0/);
      // An unknown type counts as no hardware command (first pass), and is refused when reached.
      await bad({ commands: [{ ...agxRenderCommand(), cmd_type: 5 }] }, "EINVAL", /got 0/);
      await bad(
        { commands: [agxRenderCommand(), { ...agxRenderCommand(), cmd_type: 5 }] },
        "EINVAL",
        /cmd_type 5/,
      );
      // Attachment commands are software commands: no barriers, and they do not count.
      await bad(
        { commands: [agxAttachmentsCommand(DRM_ASAHI_SET_FRAGMENT_ATTACHMENTS, [])] },
        "EINVAL",
        /got 0/,
      );
      await bad(
        {
          commands: [
            { ...agxAttachmentsCommand(DRM_ASAHI_SET_FRAGMENT_ATTACHMENTS, []), vdm_barrier: 0 },
            agxRenderCommand(),
          ],
        },
        "EINVAL",
        /software command/,
      );
      // cmdbuf_size bytes are copied from cmdbuf: more than it holds is EFAULT.
      await bad({ cmdbuf: new Uint8Array(8), cmdbuf_size: 16 }, "EFAULT");
      await bad({ cmdbuf: null, cmdbuf_size: 8 }, "EFAULT", /NULL/);
      await bad({ commands: [agxRenderCommand({ vdm_barrier: 1 })] }, "EINVAL", /earlier commands/);
      await bad(
        { commands: [agxRenderCommand(), agxComputeCommand({ cdm_barrier: 1 })] },
        "EINVAL",
        /only 0 come before/,
      );
      // The simulation's knobs go through the side channel, which checks them too.
      await bad({ commands: [agxRenderCommand({ error: 5 })] }, "EINVAL", /negative errno/);
      await bad({ commands: [agxRenderCommand({ vertex_ns: -1 })] }, "EINVAL");
      // The job alone needs 9 vertex slots on an 8-slot ring: it could never run.
      await bad(
        { commands: Array.from({ length: 9 }, () => agxRenderCommand()) },
        "EINVAL",
        /could never run/,
      );
      const q = queueOf(dev, app, queue);
      expect(q.stats.jobs).toBe(0);
      expect(q.entity.jobCount).toBe(0);
      expect(q.sched.pendingCount).toBe(0);
      // Eight render commands fit exactly.
      await submit(app, fd, {
        ...ok,
        commands: Array.from({ length: 8 }, () => agxRenderCommand()),
        syncs: outSyncs(so),
        out_sync_count: 1,
      });
      await drmSyncobjWait(app, fd, [so], FOREVER);
      expect(q.stats.jobs).toBe(1);
      expect(q.rings.vertex.stats.maxSlotsInUse).toBe(8);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("barriers", () => {
  it("N waits on the N-th command of the submit; NONE waits on nothing; per-command stats record it", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    const stats = await sim.exec("app", async () => {
      const { fd, queue } = await agxOpenContext(app);
      const so = await drmSyncobjCreate(app, fd);
      await submit(app, fd, {
        queue_id: queue,
        commands: [
          agxRenderCommand({ vertex_ns: usecs(10), fragment_ns: usecs(100) }),
          agxComputeCommand({ compute_ns: usecs(5) }), // no barrier: starts at once
          agxComputeCommand({ vdm_barrier: 1, compute_ns: usecs(5) }), // after render 1 (110 µs)
          agxRenderCommand({ cdm_barrier: 2, vertex_ns: usecs(10), fragment_ns: usecs(10) }), // after compute 2 (115 µs)
        ],
        syncs: outSyncs(so),
        out_sync_count: 1,
      });
      await drmSyncobjWait(app, fd, [so], FOREVER);
      const q = queueOf(dev, app, queue);
      return { now: sim.now, q };
    });
    const { q } = stats;
    expect(stats.now).toBe(usecs(135));
    // The job was freed; the firmware's counters remain.
    expect(q.rings.compute.stats).toMatchObject({ commands: 2, barriers: 1, completed: 2, failed: 0 });
    expect(q.rings.vertex.stats).toMatchObject({ commands: 2, barriers: 1, completed: 2 });
    expect(q.rings.fragment.stats).toMatchObject({ commands: 2, barriers: 2, completed: 2 });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("attachment commands are software commands: accepted, on no ring, and not counted by barrier indices", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, queue } = await agxOpenContext(app);
      const so = await drmSyncobjCreate(app, fd);
      const attach = (cmd_type: number) =>
        agxAttachmentsCommand(cmd_type, [{ pointer: 0x10_0000, size: 4096 }]);
      await submit(app, fd, {
        queue_id: queue,
        commands: [
          attach(DRM_ASAHI_SET_VERTEX_ATTACHMENTS),
          agxRenderCommand(),
          attach(DRM_ASAHI_SET_COMPUTE_ATTACHMENTS),
          // Barrier 1 is the first render, not the first command.
          agxComputeCommand({ vdm_barrier: 1 }),
        ],
        syncs: outSyncs(so),
        out_sync_count: 1,
      });
      await drmSyncobjWait(app, fd, [so], FOREVER);
      // vertex 50 µs + fragment 200 µs, then the compute's 100 µs.
      expect(sim.now).toBe(usecs(350));
      const q = queueOf(dev, app, queue);
      expect([q.rings.vertex, q.rings.fragment, q.rings.compute].map((r) => r.stats.commands)).toEqual([
        1, 1, 1,
      ]);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("0 waits on all earlier work of that subqueue (earlier submits); per-command stats show the barrier wait", async () => {
    const seen: ReturnType<import("../src/index.js").AsahiJob["commandStats"]>[] = [];
    // Keep the per-command stats of each job before the driver frees it: a plugin tapping
    // free_job ahead of the driver.
    const keepStats: DrmPlugin = {
      apply: (hooks) =>
        hooks.sched.freeJob.tap({ name: "keep-stats", stage: DrmHookStage.EARLY }, (job) => {
          seen.push(AsahiQueue.jobOf(job).commandStats());
        }),
    };
    const { sim, host, dev } = setup({ plugins: [keepStats] });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, queue } = await agxOpenContext(app);
      const a = await drmSyncobjCreate(app, fd);
      const b = await drmSyncobjCreate(app, fd);
      const c = await drmSyncobjCreate(app, fd);
      await submit(app, fd, { queue_id: queue, commands: [agxRenderCommand({ fragment_ns: usecs(300) })] });
      await submit(app, fd, {
        queue_id: queue,
        commands: [agxComputeCommand({ vdm_barrier: 0, compute_ns: usecs(10) })],
        syncs: outSyncs(a),
        out_sync_count: 1,
      });
      await submit(app, fd, {
        queue_id: queue,
        commands: [agxComputeCommand({ vdm_barrier: DRM_ASAHI_BARRIER_NONE, compute_ns: usecs(10) })],
        syncs: outSyncs(b),
        out_sync_count: 1,
      });
      await submit(app, fd, {
        queue_id: queue,
        commands: [agxComputeCommand({ cdm_barrier: 0 })],
        syncs: outSyncs(c),
        out_sync_count: 1,
      });
      await drmSyncobjWait(app, fd, [a, b, c], FOREVER, 1);
      return seen;
    });
    await sim.run(); // let the scheduler free the last job
    expect(seen).toHaveLength(4);
    const [first, second, third] = seen;
    expect(first![0]!.items.map((i) => [i.kind, i.stats.startNs, i.stats.endNs])).toEqual([
      ["vertex", 0, usecs(50)],
      ["fragment", usecs(50), usecs(350)],
    ]);
    // Second job: waited for job 1's fragment (50 + 300 µs).
    expect(second![0]!.items[0]!.stats.startNs).toBe(usecs(350));
    expect(second![0]!.items[0]!.stats.barrierWaitNs).toBe(usecs(350));
    // Third job: no barrier, but the compute ring is in order: right after job 2's compute.
    expect(third![0]!.items[0]!.stats.startNs).toBe(usecs(360));
    expect(third![0]!.items[0]!.stats.endNs).toBe(usecs(370));
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("syncobjs", () => {
  it("binary and timeline in/out syncs order work across queues and files; timeline points advance", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, queue: q1 } = await agxOpenContext(app);
      const q2 = await agxCreateCommandQueue(app, fd, 1, 0);
      const tl = await drmSyncobjCreate(app, fd);
      const bin = await drmSyncobjCreate(app, fd);
      await submit(app, fd, {
        queue_id: q1,
        commands: [agxComputeCommand({ compute_ns: usecs(500) })],
        syncs: outSyncs([tl, 5]),
        out_sync_count: 1,
      });
      // Queue 2 waits on point 5 of the timeline and signals a binary syncobj.
      await submit(app, fd, {
        queue_id: q2,
        commands: [agxComputeCommand({ compute_ns: usecs(20) })],
        syncs: [...outSyncs([tl, 5]), ...outSyncs(bin)],
        in_sync_count: 1,
        out_sync_count: 1,
      });
      await submit(app, fd, {
        queue_id: q2,
        commands: [agxComputeCommand({ compute_ns: usecs(1) })],
        syncs: [...outSyncs(bin), ...outSyncs([tl, 9])],
        in_sync_count: 1,
        out_sync_count: 1,
      });
      await drmSyncobjTimelineWait(app, fd, [tl], [9], FOREVER, 0);
      expect(sim.now).toBe(usecs(521));
      expect(await drmSyncobjQuery(app, fd, [tl])).toEqual([9]);
      expect(syncobjError(dev, app, bin)).toBe(0);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("firmware ring limits through prepareJob fences (seed 002)", () => {
  it("jobs wait for the oldest pending command of a full ring, never overflow it, and all complete in order", async () => {
    const { sim, host, dev } = setup({ slots: 4 });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, queue } = await agxOpenContext(app);
      const handles: number[] = [];
      for (let i = 0; i < 40; i++) {
        const so = await drmSyncobjCreate(app, fd);
        handles.push(so);
        const n = 1 + (i % 3);
        await submit(app, fd, {
          queue_id: queue,
          commands: Array.from({ length: n }, (_, k) =>
            k % 2 === 0
              ? agxRenderCommand({ fragment_ns: usecs(20 + sim.random.int(0, 30)) })
              : agxComputeCommand({ vdm_barrier: k }),
          ),
          syncs: outSyncs(so),
          out_sync_count: 1,
        });
      }
      await drmSyncobjWait(app, fd, handles, FOREVER, 1);
      const q = queueOf(dev, app, queue);
      expect(q.stats.jobs).toBe(40);
      for (const r of Object.values(q.rings)) expect(r.stats.maxSlotsInUse).toBeLessThanOrEqual(4);
      expect(q.rings.fragment.stats.maxSlotsInUse).toBe(4);
      // The limit was hit: prepareJob handed out ring fences, and was called again after each.
      expect(q.stats.prepareFences).toBeGreaterThan(5);
      expect(q.rings.vertex.stats.fullWaits + q.rings.fragment.stats.fullWaits).toBe(q.stats.prepareFences);
      // One credit per job, and the credit limit is the ring size: credits never were the limit.
      expect(q.sched.creditLimit).toBe(0x500);
      expect(q.sched.stats.maxCredits).toBeLessThan(0x500);
      for (const h of handles) expect(syncobjError(dev, app, h)).toBe(0);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("ring space (barrier entries) is a limit too", async () => {
    // 8 slots but only 6 ring entries: a render with a barrier takes 2 vertex entries.
    const { sim, host, dev } = setup({ slots: 8, ringSize: 6 });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, queue } = await agxOpenContext(app);
      const handles: number[] = [];
      for (let i = 0; i < 6; i++) {
        const so = await drmSyncobjCreate(app, fd);
        handles.push(so);
        await submit(app, fd, {
          queue_id: queue,
          commands: [agxRenderCommand({ vdm_barrier: 0 })],
          syncs: outSyncs(so),
          out_sync_count: 1,
        });
      }
      await drmSyncobjWait(app, fd, handles, FOREVER, 1);
      const q = queueOf(dev, app, queue);
      expect(q.stats.prepareFences).toBeGreaterThan(0);
      expect(q.rings.fragment.stats.maxSlotsInUse).toBeLessThanOrEqual(3);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("probe and tracing", () => {
  it("asahiProbe checks its limits; queues run on the device's hook-routed ops; asahiDeviceOf refuses other devices", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    expect(() => asahiProbe(host, { slots: 0 })).toThrow(/slots must be a positive integer/);
    expect(() => asahiProbe(host, { ringSize: 1.5 })).toThrow(/ringSize/);
    const dev = asahiProbe(host);
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { queue } = await agxOpenContext(app);
      const q = queueOf(dev, app, queue);
      // No private ops object: the scheduler calls the device's drm_sched_backend_ops.
      expect(q.sched.ops).toBe(dev.schedOps);
      expect(asahiDeviceOf(dev).queues).toEqual([q]);
      expect(dev.hooks.sched.runJob.taps.map((t) => t.name)).toEqual(["asahi"]);
    });
    expect(() => asahiDeviceOf({ toString: () => "vgem" } as never)).toThrow(
      expect.objectContaining({ code: "ENODEV" }),
    );
    app.exit();
    expect(asahiDeviceOf(dev).queues).toEqual([]);
    host.remove(dev);
    expect(() => asahiDeviceOf(dev)).toThrow(expect.objectContaining({ code: "ENODEV" }));
    expect(sim.teardown().findings).toEqual([]);
  });

  it("with tracing on, every firmware command is a slice on its ring's track", async () => {
    const { sim, host, dev } = setup({ trace: true });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, queue } = await agxOpenContext(app);
      const so = await drmSyncobjCreate(app, fd);
      await submit(app, fd, {
        queue_id: queue,
        commands: [agxRenderCommand(), agxComputeCommand()],
        syncs: outSyncs(so),
        out_sync_count: 1,
      });
      await drmSyncobjWait(app, fd, [so], FOREVER);
    });
    const slices = sim.tracer.eventsOf(traceAsahiFwCommand).map((e) => (e.args as { label: string }).label);
    expect(slices.sort()).toEqual(["q1.0.frag", "q1.0.vtx", "q1.1.comp"]);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
