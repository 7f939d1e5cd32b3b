/** The README's example, run as written (so it cannot rot). */
import { EPOLLIN, msecs, Process, Simulator } from "@drmsim/runtime";
import { expect, it } from "vitest";
import { DmaFence, dmaFenceContextAlloc, dmaFenceUnwrapMerge, syncFileInstall } from "../src/index.js";

it("README example: merge two engines' fences, export as a sync_file, poll it", async () => {
  const log: unknown[][] = [];
  const console = { log: (...args: unknown[]) => log.push(args) };

  const sim = new Simulator();
  const ops = { getDriverName: () => "example", getTimelineName: () => "ring" };
  const gfx = new DmaFence(sim, ops, dmaFenceContextAlloc(sim), 1);
  const copy = new DmaFence(sim, ops, dmaFenceContextAlloc(sim), 1);
  sim.schedule(msecs(1), () => gfx.signal(), sim.irqContext("gfx"));
  sim.schedule(msecs(3), () => copy.signal(), sim.irqContext("copy"));

  // One fence for both (a dma_fence_array on a fresh context), exported as a sync_file fd.
  const both = dmaFenceUnwrapMerge(sim, gfx, copy)!;
  const app = new Process(sim, "app");
  const fd = syncFileInstall(app, both);
  const poller = app.run(() => app.poll([{ fd, events: EPOLLIN }]));
  await sim.run();
  console.log(await poller.result, sim.now); // 1 3000000: readable once both engines finished

  app.exit();
  for (const f of [gfx, copy, both]) f.put();
  console.log(sim.teardown().findings.length); // 0: nothing leaked, every fence signalled

  expect(log).toEqual([[1, msecs(3)], [0]]);
});
