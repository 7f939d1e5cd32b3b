/**
 * The firmware limit at full scale (seed 002's numbers): 128 work slots per ring, thousands of
 * submits of random size and shape from two processes. No ring ever holds more than 128 work
 * commands, the limit is really hit, nothing stalls, and the same seed gives the same schedule.
 */
import { drmSyncobjCreate, drmSyncobjWait } from "@drmsim/drm";
import { Process, type Simulator, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { type AgxCommand, agxComputeCommand, agxOpenContext, agxRenderCommand } from "../src/user/index.js";
import { outSyncs, queueOf, setup, submit } from "./helpers.js";

const FOREVER = 2n ** 62n;

function randomCommands(sim: Simulator): AgxCommand[] {
  const n = sim.random.int(1, 64);
  const cmds: AgxCommand[] = [];
  let renders = 0;
  let computes = 0;
  for (let i = 0; i < n; i++) {
    if (sim.random.int(0, 2) > 0) {
      cmds.push(
        agxRenderCommand({
          vertex_ns: usecs(sim.random.int(1, 5)),
          fragment_ns: usecs(sim.random.int(1, 20)),
          cdm_barrier: computes > 0 ? sim.random.int(0, computes) : 0xffff,
        }),
      );
      renders++;
    } else {
      cmds.push(
        agxComputeCommand({
          compute_ns: usecs(sim.random.int(1, 10)),
          vdm_barrier: renders > 0 ? sim.random.int(0, renders) : 0xffff,
        }),
      );
      computes++;
    }
  }
  return cmds;
}

async function run(seed: number, jobs: number) {
  const { sim, host, dev } = setup({ seed });
  const procs = [new Process(sim, "a"), new Process(sim, "b")];
  const out = await sim.exec("main", async () => {
    const qs = await Promise.all(procs.map((p) => agxOpenContext(p)));
    const lasts: number[] = [];
    for (const [i, p] of procs.entries()) lasts.push(await drmSyncobjCreate(p, qs[i]!.fd));
    for (let j = 0; j < jobs; j++) {
      const i = j % 2;
      const last = j >= jobs - 2;
      await submit(procs[i]!, qs[i]!.fd, {
        queue_id: qs[i]!.queue,
        commands: randomCommands(sim),
        ...(last ? { syncs: outSyncs(lasts[i]!), out_sync_count: 1 } : {}),
      });
    }
    for (const [i, p] of procs.entries()) await drmSyncobjWait(p, qs[i]!.fd, [lasts[i]!], FOREVER);
    return procs.map((p, i) => queueOf(dev, p, qs[i]!.queue));
  });
  const summary = out.map((q) => ({
    jobs: q.stats.jobs,
    prepareFences: q.stats.prepareFences,
    maxSlots: Object.values(q.rings).map((r) => r.stats.maxSlotsInUse),
    failed: Object.values(q.rings).reduce((n, r) => n + r.stats.failed, 0),
  }));
  const now = sim.now;
  for (const p of procs) p.exit();
  host.remove(dev);
  return { summary, now, findings: sim.teardown().findings };
}

describe("firmware rings at 128 slots under load", () => {
  it("2,000 random submits over two queues: never above 128 slots, the limit is hit, everything completes", async () => {
    const r = await run(2023, 2000);
    expect(r.findings).toEqual([]);
    for (const q of r.summary) {
      expect(q.jobs).toBe(1000);
      expect(q.failed).toBe(0);
      for (const m of q.maxSlots) expect(m).toBeLessThanOrEqual(128);
      expect(Math.max(...q.maxSlots)).toBe(128);
      expect(q.prepareFences).toBeGreaterThan(100);
    }
  });

  it("is deterministic: the same seed gives the same schedule", async () => {
    const a = await run(7, 200);
    const b = await run(7, 200);
    expect(a).toEqual(b);
    expect(a.now).toBeGreaterThan(0);
  });
});
