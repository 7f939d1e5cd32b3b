// Every entry point, type-checked with skipLibCheck off: the published declarations (and the
// dependencies' they reference) must compile under the oldest TypeScript the READMEs name.
import * as amdgpu from "@drmsim/amdgpu";
import * as asahi from "@drmsim/asahi";
import * as cli from "@drmsim/cli";
import * as dmaBuf from "@drmsim/dma-buf";
import * as dmaFence from "@drmsim/dma-fence";
import * as dmaResv from "@drmsim/dma-resv";
import * as drm from "@drmsim/drm";
import * as drmSched from "@drmsim/drm-sched";
import * as drmSchedTesting from "@drmsim/drm-sched/testing";
import * as gem from "@drmsim/gem";
import * as habanalabs from "@drmsim/habanalabs";
import * as runtime from "@drmsim/runtime";
import * as testing from "@drmsim/testing";
import * as testingVitest from "@drmsim/testing/vitest";
import * as vgem from "@drmsim/vgem";

export const entries = [
  amdgpu,
  asahi,
  cli,
  dmaBuf,
  dmaFence,
  dmaResv,
  drm,
  drmSched,
  drmSchedTesting,
  gem,
  habanalabs,
  runtime,
  testing,
  testingVitest,
  vgem,
];

// A typed use: a scenario for `drmsim run`, a device, a fence.
export default cli.defineScenario({
  name: "typed",
  setup(ctx: cli.ScenarioContext) {
    const host = new drm.DrmPluginHost(ctx.sim);
    const dev: drm.DrmDevice = vgem.vgemProbe(host);
    const fence: dmaFence.DmaFence = dmaFence.dmaFenceGetStub(ctx.sim);
    const wait: Promise<number> = ctx.sim.exec("t", () => fence.wait({ timeoutNs: runtime.msecs(1) }));
    void wait;
    host.remove(dev);
  },
});
