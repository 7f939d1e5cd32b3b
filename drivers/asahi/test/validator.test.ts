/**
 * The validator on asahi's scheduler ops, with the deliberately broken fixtures of
 * `fixtures/broken-ops`: the finding names the op — `asahi: drm_sched_backend_ops.run_job` /
 * `.prepare_job`, a frame the plugin host adds around every op call — and the work still
 * completes (collect mode), because the broken taps let the driver's ops run after them.
 */
import { drmSyncobjCreate, drmSyncobjWait } from "@drmsim/drm";
import { Process, ValidatorError } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { agxOpenContext, agxRenderCommand } from "../src/user/index.js";
import { AllocInRunJob, WaitInPrepareJob } from "./fixtures/broken-ops/broken-ops.js";
import { outSyncs, setup, submit, syncobjError } from "./helpers.js";

const FOREVER = 2n ** 62n;

async function oneJob(sim: import("@drmsim/runtime").Simulator, app: Process) {
  return sim.exec("app", async () => {
    const { fd, queue } = await agxOpenContext(app);
    const so = await drmSyncobjCreate(app, fd);
    await submit(app, fd, {
      queue_id: queue,
      commands: [agxRenderCommand()],
      syncs: outSyncs(so),
      out_sync_count: 1,
    });
    await drmSyncobjWait(app, fd, [so], FOREVER);
    return so;
  });
}

describe("validator findings name the asahi op", () => {
  it("GFP_KERNEL in run_job: alloc-in-signalling inside `asahi: drm_sched_backend_ops.run_job`", async () => {
    const broken = new AllocInRunJob();
    const { sim, host, dev } = setup({ validator: "collect", plugins: [broken] });
    const app = new Process(sim, "app");
    const so = await oneJob(sim, app);
    expect(broken.allocations).toBe(1);
    expect(syncobjError(dev, app, so)).toBe(0);
    const [f, ...rest] = sim.validator.findingsOf("alloc-in-signalling");
    expect(rest).toEqual([]);
    expect(f!.backtrace).toContain("asahi: drm_sched_backend_ops.run_job");
    expect(f!.backtrace).toContain("drm_sched_run_job_work");
    expect(f!.title).toMatch(
      /^possible circular locking dependency: allocation that may reclaim \(asahi_fw_job_desc\(GFP_KERNEL\)\)/,
    );
    app.exit();
    host.remove(dev);
    // Nothing else went wrong, and nothing leaked.
    expect(sim.validator.findings.map((x) => x.kind)).toEqual(["alloc-in-signalling"]);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a fence wait in prepare_job: wait-in-signalling inside `asahi: drm_sched_backend_ops.prepare_job`", async () => {
    const { sim, host, dev } = setup({ validator: "collect", plugins: [new WaitInPrepareJob()] });
    const app = new Process(sim, "app");
    const so = await oneJob(sim, app);
    expect(syncobjError(dev, app, so)).toBe(0);
    const [f] = sim.validator.findingsOf("wait-in-signalling");
    expect(f).toBeDefined();
    expect(f!.backtrace).toContain("asahi: drm_sched_backend_ops.prepare_job");
    expect(f!.backtrace).not.toContain("asahi: drm_sched_backend_ops.run_job");
    app.exit();
    host.remove(dev);
    // Nothing else went wrong, and nothing leaked.
    expect(sim.validator.findings.map((x) => x.kind)).toEqual(["wait-in-signalling"]);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("the shipped driver alone raises nothing; in throw mode the broken run_job fails the run", async () => {
    const clean = setup({ validator: "collect" });
    const app = new Process(clean.sim, "app");
    await oneJob(clean.sim, app);
    app.exit();
    clean.host.remove(clean.dev);
    expect(clean.sim.teardown().findings).toEqual([]);

    const bad = setup({ plugins: [new AllocInRunJob()] });
    const app2 = new Process(bad.sim, "app");
    await expect(oneJob(bad.sim, app2)).rejects.toThrow(ValidatorError);
  });
});
