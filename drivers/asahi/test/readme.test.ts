/** The README examples, verbatim (imports adjusted to the package under test), so they cannot rot. */
import { DrmPluginHost, drmSyncobjCreate, drmSyncobjWait, HW_ENGINE_FACTORY } from "@drmsim/drm";
import { HardwareEngineFactory, msecs, Process, Simulator } from "@drmsim/runtime";
import { expect, it } from "vitest";
import { asahiDeviceOf, asahiProbe } from "../src/index.js";
import {
  agxComputeCommand,
  agxCreateCommandQueue,
  agxOpenDevice,
  agxRenderCommand,
  agxSubmit,
  agxSyncobj,
} from "../src/user/index.js";

it("README example: create a queue, submit a render and a compute that waits for it, wait", async () => {
  const sim = new Simulator();
  const host = new DrmPluginHost(sim);
  const dev = asahiProbe(host);
  const app = new Process(sim, "app");
  const done = await sim.exec("app", async () => {
    const { fd, vm } = await agxOpenDevice(app);
    const queue = await agxCreateCommandQueue(app, fd, vm);
    const syncobj = await drmSyncobjCreate(app, fd);
    await agxSubmit(app, fd, {
      queue,
      // vdm_barrier 1: the compute waits for the first render command of this submit.
      commands: [agxRenderCommand(), agxComputeCommand({ vdm_barrier: 1 })],
      outSyncs: [agxSyncobj(syncobj)],
    });
    await drmSyncobjWait(app, fd, [syncobj], sim.now + 1_000_000_000);
    return sim.now;
  });
  expect(done).toBe(350_000);
  app.exit();
  host.remove(dev);
  expect(sim.teardown().findings).toEqual([]);
});

it("README example: a fault plan in HW_ENGINE_FACTORY hangs a firmware ring; the driver's TDR resets it", async () => {
  const sim = new Simulator();
  const host = new DrmPluginHost(sim);
  const faults = new HardwareEngineFactory(sim, { "asahi-q1-frag": { hang: [2] } });
  const dev = asahiProbe(
    host,
    { timeoutNs: msecs(10) },
    { providers: [{ provide: HW_ENGINE_FACTORY, useValue: faults }] },
  );
  const app = new Process(sim, "app");
  const stats = await sim.exec("app", async () => {
    const { fd, vm } = await agxOpenDevice(app);
    const queue = await agxCreateCommandQueue(app, fd, vm);
    const syncobjs = [await drmSyncobjCreate(app, fd), await drmSyncobjCreate(app, fd)];
    for (const handle of syncobjs)
      await agxSubmit(app, fd, { queue, commands: [agxRenderCommand()], outSyncs: [agxSyncobj(handle)] });
    await drmSyncobjWait(app, fd, syncobjs, sim.now + 1_000_000_000, 1);
    return asahiDeviceOf(dev).queues[0]!.stats;
  });
  expect([stats.timeouts, stats.resets, faults.engines.get("asahi-q1-frag")!.stats.resets]).toEqual([
    1, 1, 1,
  ]);
  app.exit();
  host.remove(dev);
  expect(sim.teardown().findings).toEqual([]);
});
