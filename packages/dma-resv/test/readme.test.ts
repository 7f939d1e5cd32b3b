/** Runs the README example verbatim (apart from the imports), so it cannot rot. */
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { msecs, Simulator } from "@drmsim/runtime";
import { expect, it } from "vitest";
import { DmaResv, DmaResvUsage, DrmExec } from "../src/index.js";
import { MockObject } from "./helpers.js";

it("README: reserve, add, wait", async () => {
  const logged: unknown[] = [];
  const console = { log: (v: unknown) => logged.push(v) };

  const sim = new Simulator();
  const resv = new DmaResv(sim);
  const ops = { getDriverName: () => "example", getTimelineName: () => "ring0" };
  const fence = new DmaFence(sim, ops, dmaFenceContextAlloc(sim), 1);
  await sim.exec("submit", async () => {
    await resv.lock(null);
    resv.reserveFences(1); // before the point of no return: may fail
    resv.addFence(fence, DmaResvUsage.WRITE); // after it: cannot fail
    resv.unlock();
  });
  sim.schedule(msecs(1), () => fence.signal());
  const left = await sim.exec("wait", () => resv.waitTimeout(DmaResvUsage.READ, { timeoutNs: msecs(5) }));
  console.log(left); // 4000000
  fence.put();
  resv.fini();

  expect(logged).toEqual([4_000_000]);
  expect(sim.teardown().findings).toEqual([]);
});

it("README: DrmExec.run", async () => {
  const sim = new Simulator();
  const bos = [new MockObject(sim, "a"), new MockObject(sim, "b")];
  const jobFence = new DmaFence(
    sim,
    { getDriverName: () => "x", getTimelineName: () => "y" },
    dmaFenceContextAlloc(sim),
    1,
  );
  await sim.exec("submit", () =>
    DrmExec.run(sim, { flags: { interruptible: true } }, async (exec) => {
      for (const bo of bos) await exec.prepareObj(bo, 1); // may restart the callback on contention
      for (const bo of bos) bo.resv.addFence(jobFence, DmaResvUsage.WRITE); // after the last lock
    }),
  );
  expect(bos.map((b) => b.resv.fences)).toEqual([[jobFence], [jobFence]]);
  jobFence.signal();
  jobFence.put();
  for (const b of bos) b.put();
  expect(sim.teardown().findings).toEqual([]);
});
