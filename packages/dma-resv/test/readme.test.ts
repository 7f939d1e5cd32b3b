/** The README's DrmExec fragment, read from the README and run over two mock objects. */
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { Simulator } from "@drmsim/runtime";
import { expect, it } from "vitest";
import { runReadmeFragment } from "../../../test/helpers/markdown.js";
import { DmaResvUsage, DrmExec } from "../src/index.js";
import { MockObject } from "./helpers.js";

it("README: DrmExec.run locks every object and adds the job's fence to each", async () => {
  const sim = new Simulator();
  const bos = [new MockObject(sim, "a"), new MockObject(sim, "b")];
  const jobFence = new DmaFence(
    sim,
    { getDriverName: () => "x", getTimelineName: () => "y" },
    dmaFenceContextAlloc(sim),
    1,
  );
  await sim.exec("submit", () =>
    runReadmeFragment(
      new URL("../README.md", import.meta.url).pathname,
      "await DrmExec.run(sim, { flags: { interruptible: true } }, async (exec) => {",
      {
        sim,
        bos,
        jobFence,
        DrmExec,
        DmaResvUsage,
      },
    ),
  );
  expect(bos.map((b) => b.resv.fences)).toEqual([[jobFence], [jobFence]]);
  expect(bos.some((b) => b.resv.isLocked)).toBe(false);
  jobFence.signal();
  jobFence.put();
  for (const b of bos) b.put();
  expect(sim.teardown().findings).toEqual([]);
});
