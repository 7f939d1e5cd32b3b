/**
 * The habanalabs uAPI as a real program meets it: every ioctl of `habanalabs_accel.h` is
 * registered at the header's number, `struct hl_cs_chunk` carries nothing but the header's
 * members, the simulation's knobs go through the hardware model and the drmsim-only side channel,
 * `HL_DEBUG` follows `hl_debug_ioctl`, and an hl-thunk-style program runs with the header's bytes
 * only.
 */
import { drmIoctlLookup } from "@drmsim/drm";
import { Process, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_IOCTL_DRMSIM_HL_HW_NEXT,
  DRM_IOCTL_HL_CB,
  DRM_IOCTL_HL_CS,
  DRM_IOCTL_HL_DEBUG,
  DRM_IOCTL_HL_INFO,
  DRM_IOCTL_HL_MEMORY,
  DRM_IOCTL_HL_WAIT_CS,
  DRMSIM_HL_HW_EXEC_NS,
  DRMSIM_HL_HW_HANG,
  drmsim_hl_hw_job,
  drmsim_hl_hw_next,
  HL_DEBUG_OP_BMON,
  HL_DEBUG_OP_FUNNEL,
  HL_DEFAULT_JOB_NS,
  HL_HW_MODEL,
  HL_HW_NEXT_MAX,
  HL_INFO_HW_IP_INFO,
  HL_WAIT_CS_STATUS_BUSY,
  HL_WAIT_CS_STATUS_COMPLETED,
  type HlHwJob,
  hl_info_hw_ip_info,
} from "../src/index.js";
import {
  hlthunkCommandSubmission,
  hlthunkDebug,
  hlthunkDebugSetMode,
  hlthunkDeviceMemoryAlloc,
  hlthunkDeviceMemoryMap,
  hlthunkGetInfo,
  hlthunkRequestCommandBuffer,
  hlthunkSimHwNext,
  hlthunkWaitForCs,
} from "../src/user/index.js";
import { cs, errno, rig } from "./hl-user.js";

const DMA_0_0 = 0;
const TPC_0 = 7;

describe("habanalabs ioctl table", () => {
  it("registers every ioctl of the header at its number, and the side channel above the range", () => {
    const { sim, host, dev } = rig();
    const header = [
      DRM_IOCTL_HL_INFO,
      DRM_IOCTL_HL_CB,
      DRM_IOCTL_HL_CS,
      DRM_IOCTL_HL_WAIT_CS,
      DRM_IOCTL_HL_MEMORY,
      DRM_IOCTL_HL_DEBUG,
    ];
    expect(header).toEqual([0xc0186440, 0xc0186441, 0xc0306442, 0xc0386443, 0xc0286444, 0xc0286445]);
    // Flags 0 as upstream: the accel node's own rules let its clients call them all.
    expect(header.map((cmd) => [drmIoctlLookup(dev, cmd)?.name, drmIoctlLookup(dev, cmd)?.flags])).toEqual([
      ["HL_INFO", 0],
      ["HL_CB", 0],
      ["HL_CS", 0],
      ["HL_WAIT_CS", 0],
      ["HL_MEMORY", 0],
      ["HL_DEBUG", 0],
    ]);
    // HL_COMMAND_END: nothing after DEBUG; the drmsim ioctl sits at the top of the driver range.
    expect(drmIoctlLookup(dev, DRM_IOCTL_HL_DEBUG + 1)).toBeUndefined();
    expect(DRM_IOCTL_DRMSIM_HL_HW_NEXT).toBe(0x4010649f);
    expect(drmIoctlLookup(dev, DRM_IOCTL_DRMSIM_HL_HW_NEXT)?.name).toBe("DRMSIM_HL_HW_NEXT");
    expect([drmsim_hl_hw_next.size, drmsim_hl_hw_job.size]).toEqual([16, 64]);
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("the simulation's knobs live in a side channel", () => {
  it("the container's hardware model sees every job (queue, kind, command buffer) and sets how long it runs", async () => {
    const seen: HlHwJob[] = [];
    // A model where a job runs 1 ns per byte of its command buffer.
    const model = {
      job(j: HlHwJob) {
        seen.push(j);
        return j.kind === "user" ? { execNs: j.cbSize * 1000 } : undefined;
      },
    };
    const { sim, host, dev } = rig({}, { providers: [{ provide: HL_HW_MODEL, useValue: model }] });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const cb = await hlthunkRequestCommandBuffer(app, fd);
      const va = await hlthunkDeviceMemoryMap(
        app,
        fd,
        await hlthunkDeviceMemoryAlloc(app, fd, 2 * 1024 * 1024),
      );
      const t0 = sim.now;
      const seq = await cs(app, fd, [
        { queue_index: DMA_0_0, cb_handle: cb, cb_size: 64 },
        { queue_index: TPC_0, cb_handle: va, cb_size: 256 },
      ]);
      const w = await hlthunkWaitForCs(app, fd, seq, 1_000_000);
      expect(w.status).toBe(HL_WAIT_CS_STATUS_COMPLETED);
      // The CS completes with its external job: 64 bytes * 1 µs.
      expect(Number(w.timestamp_nsec) - t0).toBe(usecs(64));
      expect(seen).toEqual([
        { queue: "DMA_0_0", queueIndex: 0, index: 0, kind: "user", cbHandle: BigInt(cb), cbSize: 64 },
        { queue: "TPC_0", queueIndex: 7, index: 1, kind: "user", cbHandle: BigInt(va), cbSize: 256 },
      ]);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("DRMSIM_HL_HW_NEXT overrides the next jobs of the context in chunk order; a refused CS takes none; bad input changes nothing", async () => {
    const { sim, host, dev, hdev } = rig({ csTimeoutNs: usecs(500_000) });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const ctx = hdev.computeCtx!;
      const cb = await hlthunkRequestCommandBuffer(app, fd);
      const job = { queue_index: DMA_0_0, cb_handle: cb, cb_size: 64 };
      // Unknown flags, a non-zero pad: refused, nothing queued.
      const next = (a: object) => app.ioctl(fd, DRM_IOCTL_DRMSIM_HL_HW_NEXT, a);
      expect(await errno(next({ count: 1, jobs: [{ flags: 16 }] }))).toBe("EINVAL");
      expect(await errno(next({ count: 1, pad: 1, jobs: [{}] }))).toBe("EINVAL");
      expect(
        await errno(next({ count: 1, jobs: [{ exec_ns: 2n ** 60n, flags: DRMSIM_HL_HW_EXEC_NS }] })),
      ).toBe("EINVAL");
      expect(await errno(next({ count: 2, jobs: [{}] }))).toBe("EFAULT");
      const many = Array.from({ length: HL_HW_NEXT_MAX + 1 }, () => ({}));
      expect(await errno(next({ count: many.length, jobs: many }))).toBe("ENOSPC");
      expect(ctx.hwOverrides.size).toBe(0);

      await hlthunkSimHwNext(app, fd, [
        { exec_ns: 30_000, flags: DRMSIM_HL_HW_EXEC_NS },
        { exec_ns: 70_000, flags: DRMSIM_HL_HW_EXEC_NS },
      ]);
      // A refused CS (bad queue) takes none of them.
      expect(await errno(cs(app, fd, [{ ...job, queue_index: 99 }]))).toBe("EINVAL");
      expect(ctx.hwOverrides.size).toBe(2);
      let t0 = sim.now;
      const a = await cs(app, fd, [job]);
      expect(Number((await hlthunkWaitForCs(app, fd, a, 1_000_000)).timestamp_nsec) - t0).toBe(30_000);
      t0 = sim.now;
      const b = await cs(app, fd, [job]);
      expect(Number((await hlthunkWaitForCs(app, fd, b, 1_000_000)).timestamp_nsec) - t0).toBe(70_000);
      // Used up: the default again.
      t0 = sim.now;
      const c = await cs(app, fd, [job]);
      expect(Number((await hlthunkWaitForCs(app, fd, c, 1_000_000)).timestamp_nsec) - t0).toBe(
        HL_DEFAULT_JOB_NS,
      );
      // A hang override: the job never completes by itself; a count of 0 clears what waits.
      await hlthunkSimHwNext(app, fd, [{ flags: DRMSIM_HL_HW_HANG }, { flags: DRMSIM_HL_HW_HANG }]);
      await hlthunkSimHwNext(app, fd, []);
      expect(ctx.hwOverrides.size).toBe(0);
      await hlthunkSimHwNext(app, fd, [{ flags: DRMSIM_HL_HW_HANG }]);
      const hung = await cs(app, fd, [job]);
      expect((await hlthunkWaitForCs(app, fd, hung, 1000)).status).toBe(HL_WAIT_CS_STATUS_BUSY);
      // hl-thunk's knobs on a chunk go the same way, and a refused CS clears them again.
      expect(await errno(cs(app, fd, [{ ...job, cb_size: 1 << 20, exec_ns: 5 }]))).toBe("EINVAL");
      expect(ctx.hwOverrides.size).toBe(0);
      expect(await errno(hlthunkWaitForCs(app, fd, hung, 1_000_000))).toBe("ETIMEDOUT");
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("HL_DEBUG (hl_debug_ioctl)", () => {
  it("configuration ops need debug mode; SET_MODE enters and leaves it once; the mode ends with its context", async () => {
    const { sim, host, dev, hdev } = rig();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      let fd = await app.open("/dev/accel/accel0");
      const bmon = { op: HL_DEBUG_OP_BMON, input_ptr: new Uint8Array(48), input_size: 48 };
      expect(await errno(hlthunkDebug(app, fd, bmon))).toBe("EFAULT");
      expect(await errno(hlthunkDebugSetMode(app, fd, false))).toBe("EFAULT");
      expect(await errno(hlthunkDebug(app, fd, { op: 8 }))).toBe("EINVAL");
      await hlthunkDebugSetMode(app, fd, true);
      expect(hdev.debugCtx).toBe(hdev.computeCtx);
      expect(await errno(hlthunkDebugSetMode(app, fd, true))).toBe("EFAULT");
      // In debug mode: the op's parameters are read (at most its struct), nothing else happens.
      await hlthunkDebug(app, fd, bmon);
      await hlthunkDebug(app, fd, { ...bmon, input_size: 4096 }); // clamped to the 48 bytes there are
      await hlthunkDebug(app, fd, { op: HL_DEBUG_OP_FUNNEL }); // FUNNEL reads nothing
      expect(await errno(hlthunkDebug(app, fd, { ...bmon, input_ptr: new Uint8Array(8) }))).toBe("EFAULT");
      await hlthunkDebugSetMode(app, fd, false);
      expect(hdev.debugCtx).toBeNull();
      await hlthunkDebugSetMode(app, fd, true);
      app.close(fd);
      // hpriv_release: the next user finds the device out of debug mode.
      fd = await app.open("/dev/accel/accel0");
      expect(hdev.debugCtx).toBeNull();
      expect(await errno(hlthunkDebug(app, fd, bmon))).toBe("EFAULT");
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

it("an hl-thunk-style program (INFO, CB, MEMORY, CS, WAIT_CS) runs with the header's structs only", async () => {
  const { sim, host, dev } = rig();
  const app = new Process(sim, "hl-thunk");
  const issued: number[] = [];
  const ioctl = app.ioctl.bind(app);
  app.ioctl = ((fd: number, cmd: number, arg: unknown) => {
    issued.push(cmd);
    return ioctl(fd, cmd, arg as never);
  }) as typeof app.ioctl;
  const r = await sim.exec("hl-thunk", async () => {
    // hlthunk_open, hlthunk_get_hw_ip_info
    const fd = await app.open("/dev/accel/accel0");
    const ip = await hlthunkGetInfo<{ dram_size: bigint; dram_page_size: bigint }>(
      app,
      fd,
      HL_INFO_HW_IP_INFO,
      hl_info_hw_ip_info,
    );
    // A host CB for the external DMA queue, device memory for the TPC's CB.
    const cb = await hlthunkRequestCommandBuffer(app, fd, 4096);
    const handle = await hlthunkDeviceMemoryAlloc(app, fd, Number(ip.dram_page_size));
    const va = await hlthunkDeviceMemoryMap(app, fd, handle);
    const { seq } = await hlthunkCommandSubmission(app, fd, [
      { queue_index: DMA_0_0, cb_handle: cb, cb_size: 256 },
      { queue_index: TPC_0, cb_handle: va, cb_size: 256 },
    ]);
    const w = await hlthunkWaitForCs(app, fd, seq!, 1_000_000);
    return { ip, seq, w };
  });
  expect(issued).toEqual([
    DRM_IOCTL_HL_INFO,
    DRM_IOCTL_HL_CB,
    DRM_IOCTL_HL_MEMORY,
    DRM_IOCTL_HL_MEMORY,
    DRM_IOCTL_HL_CS,
    DRM_IOCTL_HL_WAIT_CS,
  ]);
  expect(r.ip.dram_size).toBeGreaterThan(0n);
  expect(r.seq).toBe(1);
  expect(r.w.status).toBe(HL_WAIT_CS_STATUS_COMPLETED);
  // Default hardware: the CS completes with its external job's 10 µs.
  expect(r.w.timestamp_nsec).toBe(HL_DEFAULT_JOB_NS);
  app.exit();
  host.remove(dev);
  expect(sim.teardown().findings).toEqual([]);
});
