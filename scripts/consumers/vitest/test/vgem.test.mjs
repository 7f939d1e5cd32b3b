// No setup file and no reflect-metadata import: the packages load what they need themselves.
import { drmModeCreateDumbBuffer, drmPrimeFDToHandle, drmPrimeHandleToFD } from "@drmsim/drm";
import { EPOLLIN } from "@drmsim/runtime";
import { createWorld } from "@drmsim/testing";
import { describeDriverConformance } from "@drmsim/testing/vitest";
import {
  DRM_IOCTL_VGEM_FENCE_ATTACH,
  DRM_IOCTL_VGEM_FENCE_SIGNAL,
  driver,
  VGEM_FENCE_WRITE,
  vgemProbe,
} from "@drmsim/vgem";
import { expect, it } from "vitest";

describeDriverConformance(driver);

it("two vgem devices share a dumb buffer by PRIME; the importer waits for the exporter's fence", async () => {
  const w = createWorld({ devices: [vgemProbe, vgemProbe], processes: ["a", "b"] });
  const { a, b } = w.procs;
  const [exporter, importer] = w.devices;
  const seen = await w.exec("a", async () => {
    const fa = await a.open(exporter.primary.path);
    const fb = await b.open(importer.primary.path);
    const { handle } = await drmModeCreateDumbBuffer(a, fa, 32, 32, 32);
    const fd = await drmPrimeHandleToFD(a, fa, handle);
    const { out_fence } = await a.ioctl(fa, DRM_IOCTL_VGEM_FENCE_ATTACH, { handle, flags: VGEM_FENCE_WRITE });
    const theirs = a.sendFd(b, fd);
    const imported = await drmPrimeFDToHandle(b, fb, theirs);
    const busy = [{ fd: theirs, events: EPOLLIN }];
    const before = await b.poll(busy, 0);
    w.sim.schedule(1_000_000, () =>
      a.run(() => a.ioctl(fa, DRM_IOCTL_VGEM_FENCE_SIGNAL, { fence: out_fence })),
    );
    const ready = await b.poll(busy);
    return { before, ready, handle: imported, at: w.sim.now };
  });
  expect(seen).toEqual({ before: 0, ready: 1, handle: expect.any(Number), at: 1_000_000 });
  expect(await w.teardown()).toEqual([]);
});
