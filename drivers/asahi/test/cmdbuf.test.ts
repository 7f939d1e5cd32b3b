/**
 * The command buffer as bytes: headers and payloads in the layout Mesa writes, parsed and refused
 * as the driver refuses them; and the simulation's knobs, which live outside it — the device's
 * hardware model from the container and the drmsim-only `DRMSIM_ASAHI_HW_NEXT` ioctl.
 */
import { drmSyncobjCreate, drmSyncobjWait } from "@drmsim/drm";
import { ERRNO, msecs, Process, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  ASAHI_HW_MODEL,
  ASAHI_HW_NEXT_MAX,
  ASAHI_PAGE_SIZE,
  type AsahiHwCommand,
  DRM_ASAHI_CMD_COMPUTE,
  DRM_ASAHI_CMD_RENDER,
  DRM_ASAHI_RENDER_PROCESS_EMPTY_TILES,
  DRM_ASAHI_SET_COMPUTE_ATTACHMENTS,
  DRM_ASAHI_SET_VERTEX_ATTACHMENTS,
  DRM_IOCTL_DRMSIM_ASAHI_HW_NEXT,
  DRMSIM_ASAHI_HW_COMPUTE_NS,
  DRMSIM_ASAHI_HW_HANG,
  drm_asahi_cmd_compute,
  drm_asahi_cmd_header,
  drm_asahi_cmd_render,
} from "../src/index.js";
import {
  type AgxCommand,
  agxAttachmentsCommand,
  agxBindTimestampBuffer,
  agxBoCreate,
  agxComputeCommand,
  agxEncodeCmdbuf,
  agxOpenContext,
  agxRenderCommand,
  agxSimHwNext,
} from "../src/user/index.js";
import { outSyncs, queueOf, setup, submit, syncobjError } from "./helpers.js";

const FOREVER = 2n ** 62n;

describe("the command buffer's layout", () => {
  it("is header + payload per command, header.size counting the payload only", () => {
    const bytes = agxEncodeCmdbuf([
      agxRenderCommand({ vdm_barrier: 0 }),
      agxComputeCommand({ cdm_barrier: 1 }),
      agxAttachmentsCommand(DRM_ASAHI_SET_COMPUTE_ATTACHMENTS, [{ pointer: 0x4000, size: 64 }]),
    ]);
    const v = new DataView(bytes.buffer);
    const h = drm_asahi_cmd_header.size;
    expect(bytes.length).toBe(3 * h + drm_asahi_cmd_render.size + drm_asahi_cmd_compute.size + 24);
    // Header 1: RENDER, 240 bytes, vdm_barrier 0, cdm_barrier NONE; the payload's width at +148.
    expect([v.getUint16(0, true), v.getUint16(2, true), v.getUint16(4, true), v.getUint16(6, true)]).toEqual([
      DRM_ASAHI_CMD_RENDER,
      240,
      0,
      0xffff,
    ]);
    expect(v.getUint16(h + drm_asahi_cmd_render.offsets.width_px, true)).toBe(64);
    const c = h + 240;
    expect([v.getUint16(c, true), v.getUint16(c + 2, true), v.getUint16(c + 6, true)]).toEqual([
      DRM_ASAHI_CMD_COMPUTE,
      64,
      1,
    ]);
    const a = c + h + 64;
    expect([v.getUint16(a, true), v.getUint16(a + 2, true)]).toEqual([DRM_ASAHI_SET_COMPUTE_ATTACHMENTS, 24]);
    expect(v.getBigUint64(a + h, true)).toBe(0x4000n);
  });
});

describe("ASAHI_SUBMIT parses the command buffer as the driver does", () => {
  it("refuses malformed headers, payloads and attachments with the driver's errno", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, queue } = await agxOpenContext(app);
      const ts = await agxBindTimestampBuffer(
        app,
        fd,
        await agxBoCreate(app, fd, ASAHI_PAGE_SIZE),
        0,
        ASAHI_PAGE_SIZE,
      );
      const bad = async (commands: AgxCommand[] | Uint8Array, code: string, msg: RegExp) => {
        const args =
          commands instanceof Uint8Array
            ? { queue_id: queue, cmdbuf: commands, cmdbuf_size: commands.length }
            : { queue_id: queue, commands };
        const p = submit(app, fd, args);
        await expect(p).rejects.toMatchObject({ code });
        await expect(p).rejects.toThrow(msg);
      };
      const render = (r: object) => agxRenderCommand({ render: r });
      const full = agxEncodeCmdbuf([agxRenderCommand()]);
      // A header cut short: EINVAL in the first pass.
      await bad(full.subarray(0, 5), "EINVAL", /command header/);
      // A render payload cut short of its struct: EINVAL when it is read.
      await bad(Uint8Array.from([...full.subarray(0, 100)]), "EINVAL", /render/);
      // 65 hardware commands: over max_commands_per_submission (counted before any payload).
      await bad(
        Array.from({ length: 65 }, () => agxComputeCommand()),
        "EINVAL",
        /1\.\.64 hardware commands, got 65/,
      );
      // A short payload is zero-extended: 8 bytes leave the framebuffer 0x0.
      await bad([agxRenderCommand({ size: 8 })], "EINVAL", /0x0 framebuffer/);
      await bad([render({ flags: 1 << 5 })], "EINVAL", /render flags 0x20/);
      await bad([render({ width_px: 16385 })], "EINVAL", /16385x64 framebuffer/);
      await bad([render({ layers: 0 })], "EINVAL", /0 layers/);
      await bad([render({ layers: 2049 })], "EINVAL", /2049 layers/);
      await bad([render({ utile_width_px: 16, utile_height_px: 32 })], "EINVAL", /16x32 tile/);
      await bad([render({ samples: 3 })], "EINVAL", /3 samples/);
      await bad([agxComputeCommand({ compute: { flags: 1 } })], "EINVAL", /flags must be 0/);
      // Timestamps name a bound timestamp buffer (ENOENT otherwise) and fit in it (ERANGE).
      await bad([render({ ts_vtx: { start: { handle: 9 } } })], "ENOENT", /object 9/);
      await bad(
        [agxComputeCommand({ compute: { ts: { end: { handle: ts, offset: ASAHI_PAGE_SIZE - 4 } } } })],
        "ERANGE",
        /past the end/,
      );
      // Attachments: at most max_attachments, pad and flags 0.
      const att = { pointer: 0x4000, size: 256 };
      await bad(
        [agxAttachmentsCommand(DRM_ASAHI_SET_VERTEX_ATTACHMENTS, Array(17).fill(att)), agxRenderCommand()],
        "EINVAL",
        /17 attachments, at most 16/,
      );
      await bad(
        [agxAttachmentsCommand(DRM_ASAHI_SET_VERTEX_ATTACHMENTS, [{ ...att, flags: 1 }]), agxRenderCommand()],
        "EINVAL",
        /flags must be 0/,
      );
      // An attachment command's payload cut short of its attachments.
      const cut = agxEncodeCmdbuf([agxAttachmentsCommand(DRM_ASAHI_SET_VERTEX_ATTACHMENTS, [att, att])]);
      await bad(
        Uint8Array.from([...agxEncodeCmdbuf([agxRenderCommand()]), ...cut.subarray(0, 8 + 30)]),
        "EINVAL",
        /attachment 1/,
      );
      const q = queueOf(dev, app, queue);
      expect(q.stats.jobs).toBe(0);
      expect(q.entity.jobCount).toBe(0);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("accepts what the header allows: shorter (zero-extended) and longer payloads, valid timestamps, 64 commands", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, queue } = await agxOpenContext(app);
      const ts = await agxBindTimestampBuffer(
        app,
        fd,
        await agxBoCreate(app, fd, ASAHI_PAGE_SIZE),
        0,
        ASAHI_PAGE_SIZE,
      );
      const so = await drmSyncobjCreate(app, fd);
      await submit(app, fd, {
        queue_id: queue,
        commands: [
          // An older compute struct of 16 bytes (zero-extended), a newer render struct with 40
          // bytes the kernel does not know (skipped), a render on an empty-tile, 4x MSAA pass.
          agxComputeCommand({ size: 16 }),
          agxRenderCommand({ size: 280, vdm_barrier: 0 }),
          agxRenderCommand({
            render: {
              flags: DRM_ASAHI_RENDER_PROCESS_EMPTY_TILES,
              samples: 4,
              utile_width_px: 16,
              utile_height_px: 16,
              ts_frag: { start: { handle: ts, offset: 0 }, end: { handle: ts, offset: 8 } },
            },
          }),
          agxAttachmentsCommand(DRM_ASAHI_SET_COMPUTE_ATTACHMENTS, [{ pointer: 0x4000, size: 64 }]),
          agxComputeCommand({ compute: { ts: { start: { handle: ts, offset: ASAHI_PAGE_SIZE - 8 } } } }),
        ],
        syncs: outSyncs(so),
        out_sync_count: 1,
      });
      await drmSyncobjWait(app, fd, [so], FOREVER);
      const rings = queueOf(dev, app, queue).rings;
      expect([rings.vertex, rings.fragment, rings.compute].map((r) => r.stats.completed)).toEqual([2, 2, 2]);
      // 64 hardware commands fit exactly (attachment commands do not count).
      const so2 = await drmSyncobjCreate(app, fd);
      await submit(app, fd, {
        queue_id: queue,
        commands: [
          agxAttachmentsCommand(DRM_ASAHI_SET_VERTEX_ATTACHMENTS, []),
          ...Array.from({ length: 64 }, () => agxComputeCommand()),
        ],
        syncs: outSyncs(so2),
        out_sync_count: 1,
      });
      await drmSyncobjWait(app, fd, [so2], FOREVER);
      expect(rings.compute.stats.completed).toBe(66);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("the simulation's knobs live in a side channel", () => {
  it("the container's hardware model sees every hardware command's payload and sets its behaviour", async () => {
    const seen: AsahiHwCommand[] = [];
    // A model where fragment time grows with the framebuffer, and 1-layer 32x32 passes fault.
    const model = {
      command(c: AsahiHwCommand) {
        seen.push(c);
        if (c.type !== "render") return { computeNs: usecs(7) };
        const px = c.render!.width_px * c.render!.height_px;
        return { vertexNs: usecs(10), fragmentNs: px * 10, error: px === 1024 ? -ERRNO.EIO : undefined };
      },
    };
    const { sim, host, dev } = setup({ providers: () => [{ provide: ASAHI_HW_MODEL, useValue: model }] });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, queue } = await agxOpenContext(app);
      const [a, b] = [await drmSyncobjCreate(app, fd), await drmSyncobjCreate(app, fd)];
      await submit(app, fd, {
        queue_id: queue,
        commands: [
          agxRenderCommand({ render: { width_px: 100, height_px: 10 } }),
          agxComputeCommand({ vdm_barrier: 1 }),
        ],
        syncs: outSyncs(a),
        out_sync_count: 1,
      });
      await drmSyncobjWait(app, fd, [a], FOREVER);
      // vertex 10 µs + fragment 1000 px * 10 ns, then the compute's 7 µs.
      expect(sim.now).toBe(usecs(27));
      expect(seen.map((c) => [c.queue, c.index, c.type])).toEqual([
        ["asahi-q1", 0, "render"],
        ["asahi-q1", 1, "compute"],
      ]);
      await submit(app, fd, {
        queue_id: queue,
        commands: [agxRenderCommand({ render: { width_px: 32, height_px: 32 } })],
        syncs: outSyncs(b),
        out_sync_count: 1,
      });
      await drmSyncobjWait(app, fd, [b], FOREVER);
      expect(syncobjError(dev, app, b)).toBe(-ERRNO.EIO);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("DRMSIM_ASAHI_HW_NEXT overrides the next hardware commands of one queue, in order; a refused submit takes none", async () => {
    const { sim, host, dev } = setup({ timeoutNs: msecs(5) });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, queue } = await agxOpenContext(app);
      const q = queueOf(dev, app, queue);
      const next = (a: object) => app.ioctl(fd, DRM_IOCTL_DRMSIM_ASAHI_HW_NEXT, a);
      await expect(next({ queue_id: 9, count: 1, cmds: [{}] })).rejects.toMatchObject({ code: "ENOENT" });
      await expect(next({ queue_id: queue, count: 2, cmds: [{}] })).rejects.toMatchObject({ code: "EFAULT" });
      await expect(next({ queue_id: queue, count: 1, cmds: [{ flags: 1 << 6 }] })).rejects.toThrow(
        /unknown flag/,
      );
      await expect(next({ queue_id: queue, count: 1, cmds: [{ error: 1 }] })).rejects.toThrow(
        /negative errno/,
      );
      await expect(
        next({
          queue_id: queue,
          count: 1,
          cmds: [{ compute_ns: 2n ** 60n, flags: DRMSIM_ASAHI_HW_COMPUTE_NS }],
        }),
      ).rejects.toThrow(/beyond 2\^53/);
      expect(q.hwNext.size).toBe(0);
      // Two overrides: the first submit's compute takes 1 µs; the second's hangs.
      await agxSimHwNext(app, fd, queue, [
        { compute_ns: usecs(1), flags: DRMSIM_ASAHI_HW_COMPUTE_NS },
        { flags: DRMSIM_ASAHI_HW_HANG },
      ]);
      expect(q.hwNext.size).toBe(2);
      // A refused submit takes none.
      await expect(submit(app, fd, { queue_id: queue, commands: [], syncs: [] })).rejects.toMatchObject({
        code: "EINVAL",
      });
      expect(q.hwNext.size).toBe(2);
      const [a, b] = [await drmSyncobjCreate(app, fd), await drmSyncobjCreate(app, fd)];
      await submit(app, fd, {
        queue_id: queue,
        commands: [agxComputeCommand()],
        syncs: outSyncs(a),
        out_sync_count: 1,
      });
      await drmSyncobjWait(app, fd, [a], FOREVER);
      expect(sim.now).toBe(usecs(1));
      expect(q.hwNext.size).toBe(1);
      await submit(app, fd, {
        queue_id: queue,
        commands: [agxComputeCommand()],
        syncs: outSyncs(b),
        out_sync_count: 1,
      });
      await drmSyncobjWait(app, fd, [b], FOREVER);
      expect(syncobjError(dev, app, b)).toBe(-ERRNO.ETIMEDOUT);
      // A count of 0 clears; the bound stops a runaway caller.
      await agxSimHwNext(app, fd, queue, [{}, {}]);
      await agxSimHwNext(app, fd, queue, []);
      expect(q.hwNext.size).toBe(0);
      const many = Array.from({ length: 64 }, () => ({}));
      for (let i = 0; i < ASAHI_HW_NEXT_MAX / 64; i++) await agxSimHwNext(app, fd, queue, many);
      await expect(agxSimHwNext(app, fd, queue, [{}])).rejects.toMatchObject({ code: "ENOSPC" });
      // The library clears what it queued when the kernel refuses the submit.
      await agxSimHwNext(app, fd, queue, []);
      await expect(
        submit(app, fd, {
          queue_id: queue,
          commands: [agxComputeCommand({ hang: true, compute: { flags: 1 } })],
        }),
      ).rejects.toMatchObject({ code: "EINVAL" });
      expect(q.hwNext.size).toBe(0);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
