/**
 * libdrm's `drmIoctl` (`xf86drm.c`): `do { ret = ioctl(fd, request, arg); } while (ret == -1 &&
 * (errno == EINTR || errno == EAGAIN));` — every libdrm wrapper goes through it, so userspace built
 * on libdrm never sees an interrupted call or a driver's "try again".
 */
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { type Finding, KernelError, msecs, Process, SIGUSR1, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_IOCTL_SYNCOBJ_WAIT,
  DRM_RENDER_ALLOW,
  DrmDriverFeature,
  type DrmHooks,
  DrmPluginHost,
  drmIoctl,
  drmSyncobjCreate,
  drmSyncobjTable,
  drmSyncobjWait,
} from "../src/index.js";
import { T, tIoctl } from "./test-ioctl.js";

const TRYAGAIN_SUBMIT = T(0x00);

/** An accel driver with syncobjs and one ioctl that answers EAGAIN until `busy` is cleared. */
const state = { busy: true, attempts: 0 };
class TryAgain {
  apply(hooks: DrmHooks) {
    hooks.driver.ioctls.tap("tryagain", (r) => {
      r.add(
        tIoctl("TRYAGAIN_SUBMIT", 0x00, DRM_RENDER_ALLOW, (_f, args) => {
          state.attempts++;
          if (state.busy) throw new KernelError("EAGAIN", "the ring is full");
          args.v = 1;
        }),
      );
      r.add(
        tIoctl("TRYAGAIN_BAD", 0x01, DRM_RENDER_ALLOW, () => {
          state.attempts++;
          throw new KernelError("EINVAL", "always wrong");
        }),
      );
    });
  }
}

function setup(validator: "throw" | "collect" = "throw") {
  state.busy = true;
  state.attempts = 0;
  const sim = new Simulator({ validator });
  const host = new DrmPluginHost(sim);
  const dev = host.probe(TryAgain, {
    name: "tryagain",
    features: DrmDriverFeature.COMPUTE_ACCEL | DrmDriverFeature.SYNCOBJ | DrmDriverFeature.SYNCOBJ_TIMELINE,
  });
  const app = new Process(sim, "app");
  return { sim, host, dev, app };
}

describe("libdrm drmIoctl (xf86drm.c)", () => {
  it("retries EINTR: a handler without SA_RESTART interrupts the syncobj wait, drmSyncobjWait carries on and returns when the fence signals", async () => {
    const { sim, host, dev, app } = setup();
    let handled = 0;
    app.sigaction(SIGUSR1, { handler: () => handled++ });
    let fd = -1;
    let h = 0;
    await sim.exec("setup", async () => {
      fd = await app.open("/dev/accel/accel0");
      h = await drmSyncobjCreate(app, fd);
    });
    const f = new DmaFence(
      sim,
      { getDriverName: () => "t", getTimelineName: () => "r" },
      dmaFenceContextAlloc(sim),
      1,
    );
    drmSyncobjTable([...dev.files][0]!).signalPoint(h, f);
    const waiter = app.run(() => drmSyncobjWait(app, fd, [h], Number.MAX_SAFE_INTEGER, 0));
    sim.schedule(msecs(1), () => app.kill(SIGUSR1));
    sim.schedule(msecs(2), () => app.kill(SIGUSR1));
    sim.schedule(msecs(3), () => f.signal(), sim.irqContext("ring"));
    await sim.run();
    await expect(waiter.result).resolves.toBe(0);
    expect(handled).toBe(2); // both signals interrupted the ioctl; libdrm hid both EINTRs
    expect(sim.now).toBe(msecs(3));
    // The raw ioctl, without libdrm's loop, does show the EINTR.
    const g = new DmaFence(
      sim,
      { getDriverName: () => "t", getTimelineName: () => "r" },
      dmaFenceContextAlloc(sim),
      1,
    );
    drmSyncobjTable([...dev.files][0]!).signalPoint(h, g);
    const raw = app.run(() =>
      app.ioctl(fd, DRM_IOCTL_SYNCOBJ_WAIT, {
        handles: [h],
        count_handles: 1,
        timeout_nsec: Number.MAX_SAFE_INTEGER,
      }),
    );
    sim.schedule(msecs(1), () => app.kill(SIGUSR1));
    await sim.run();
    await expect(raw.result).rejects.toMatchObject({ code: "EINTR" });
    g.signal();
    f.put();
    g.put();
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("retries EAGAIN once the simulation has moved on: the call succeeds at the virtual time the ring drains", async () => {
    const { sim, host, dev, app } = setup();
    sim.schedule(msecs(3), () => {
      state.busy = false;
    });
    const out = await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      return drmIoctl(app, fd, TRYAGAIN_SUBMIT, { v: 0 });
    });
    expect(out).toEqual({ v: 1 });
    expect(sim.now).toBe(msecs(3));
    expect(state.attempts).toBe(2); // once at 0, once after the event at 3 ms — no spinning in between
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("other errors are returned at once, without a retry", async () => {
    const { sim, host, dev, app } = setup();
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      await expect(drmIoctl(app, fd, T(0x01), {})).rejects.toMatchObject({ code: "EINVAL" });
    });
    expect(state.attempts).toBe(1);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("EAGAIN with nothing left that could change it: the spinning caller is reported at quiescence (a livelock in real life)", async () => {
    const { sim, host, dev, app } = setup("collect");
    const t = app.run(async () => {
      const fd = await app.open("/dev/accel/accel0");
      return drmIoctl(app, fd, TRYAGAIN_SUBMIT, {});
    });
    const r = await sim.run();
    expect(r.reason).toBe("deadlock");
    const finding = r.finding as Finding;
    expect(finding.waitFor?.[0]?.waitsFor).toContain("drmIoctl retry TRYAGAIN_SUBMIT after EAGAIN");
    expect(t.state).toBe("running");
    expect(state.attempts).toBe(1);
    app.kill(9); // end it: SIGKILL wakes nothing here (the spin is not in the kernel) but ends the process
    expect(app.exited).toBe(true);
    host.remove(dev);
  });
});
