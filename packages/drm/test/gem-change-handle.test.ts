/**
 * DRM_IOCTL_GEM_CHANGE_HANDLE (for CRIU): moves an object to a handle number the caller picks,
 * carrying its PRIME cache entry along; every refusal leaves the handle table as it was. vgem is
 * the fixture (imported by path: drivers depend on the core, never the reverse).
 */
import { Process, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { vgemProbe } from "../../../drivers/vgem/src/index.js";
import {
  DRM_IOCTL_GEM_CHANGE_HANDLE,
  DRM_IOCTL_GEM_CLOSE,
  type DrmDevice,
  DrmPluginHost,
  drmModeCreateDumbBuffer,
  drmPrimeFDToHandle,
  drmPrimeHandleToFD,
} from "../src/index.js";
import { code } from "./errno-of.js";

const CHANGE = DRM_IOCTL_GEM_CHANGE_HANDLE;

function handlesOf(dev: DrmDevice, i: number): number[] {
  return [...dev.files][i]!.gem.handles();
}

describe("DRM_IOCTL_GEM_CHANGE_HANDLE", () => {
  it("renumbers a handle on a render node; the old number is gone, the object and its PRIME entry follow", async () => {
    const sim = new Simulator();
    const dev = vgemProbe(new DrmPluginHost(sim));
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const card = await app.open("/dev/dri/card0");
      const render = await app.open("/dev/dri/renderD128");
      const bo = await drmModeCreateDumbBuffer(app, card, 16, 16, 32);
      const buf = await drmPrimeHandleToFD(app, card, bo.handle);
      const h = await drmPrimeFDToHandle(app, render, buf);
      const obj = [...dev.files][1]!.gem.peek(h)!;
      await app.ioctl(render, CHANGE, { handle: h, new_handle: 4096 });
      expect(handlesOf(dev, 1)).toEqual([4096]);
      expect([...dev.files][1]!.gem.peek(4096)).toBe(obj);
      // The old number means nothing now …
      expect(await code(app.ioctl(render, DRM_IOCTL_GEM_CLOSE, { handle: h }))).toBe("EINVAL");
      expect(await code(drmPrimeHandleToFD(app, render, h))).toBe("ENOENT");
      // … and importing the same dma-buf again finds the object at its new number.
      expect(await drmPrimeFDToHandle(app, render, buf)).toBe(4096);
      // A new object takes the lowest free number, which is the old one.
      const bo2 = await drmModeCreateDumbBuffer(app, card, 16, 16, 32);
      expect(await drmPrimeFDToHandle(app, render, await drmPrimeHandleToFD(app, card, bo2.handle))).toBe(h);
      expect(obj.handleCount).toBe(2);
    });
    app.exit();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("refuses bad input and changes nothing: EINVAL past INT_MAX, ENOENT for an unknown handle, ENOSPC for a taken one", async () => {
    const sim = new Simulator();
    const dev = vgemProbe(new DrmPluginHost(sim));
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const card = await app.open("/dev/dri/card0");
      const a = await drmModeCreateDumbBuffer(app, card, 16, 16, 32);
      const b = await drmModeCreateDumbBuffer(app, card, 16, 16, 32);
      const before = handlesOf(dev, 0);
      expect(before).toEqual([a.handle, b.handle]);
      expect(await code(app.ioctl(card, CHANGE, { handle: a.handle, new_handle: 2 ** 31 }))).toBe("EINVAL");
      expect(await code(app.ioctl(card, CHANGE, { handle: a.handle, new_handle: -1 }))).toBe("EINVAL");
      expect(await code(app.ioctl(card, CHANGE, { handle: 99, new_handle: 100 }))).toBe("ENOENT");
      expect(await code(app.ioctl(card, CHANGE, { handle: a.handle, new_handle: b.handle }))).toBe("ENOSPC");
      expect(handlesOf(dev, 0)).toEqual(before);
      // Moving a handle onto itself is a no-op that succeeds.
      expect(await code(app.ioctl(card, CHANGE, { handle: a.handle, new_handle: a.handle }))).toBe("ok");
      expect(handlesOf(dev, 0)).toEqual(before);
      // INT_MAX itself is a valid handle.
      await app.ioctl(card, CHANGE, { handle: b.handle, new_handle: 2 ** 31 - 1 });
      expect(handlesOf(dev, 0)).toEqual([a.handle, 2 ** 31 - 1]);
    });
    app.exit();
    expect(sim.teardown().findings).toEqual([]);
  });
});
