/**
 * The demo scenario (`drmsim demo`): a 60 Hz compositor loop across amdgpu, asahi and
 * habanalabs. Ten simulated seconds run clean, and the trace is a pure function of the seed.
 */
import "reflect-metadata";
import { runScenario } from "@drmsim/cli";
import { secs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { demoScenario } from "../../tools/cli/src/scenarios/demo.js";
import { interopCounters, VBLANK_NS } from "../../tools/cli/src/scenarios/interop.js";

describe("demo scenario: interop across three drivers", () => {
  it("runs 10 simulated seconds clean: every driver did work at 60 Hz, nothing leaked", async () => {
    const r = await runScenario(demoScenario, { seed: 7, durationNs: secs(10), trace: true });
    expect(r.scenario.name).toBe("interop");
    expect(r.drain.reason).toBe("idle");
    expect(r.findings.map(String)).toEqual([]);
    const c = interopCounters()!;
    const vblanks = Math.floor(secs(10) / VBLANK_NS);
    expect(c.amdgpuFrames).toBeGreaterThan(vblanks * 0.75);
    expect(c.asahiComposites).toBeGreaterThan(vblanks * 0.9);
    expect(c.presented + c.skipped).toBe(c.asahiComposites);
    expect(c.presented).toBeGreaterThan(0);
    // Every presented frame showed the bytes of the frame amdgpu finished for it.
    expect(c.framesChecked).toBe(c.presented);
    expect(c.contentMismatches).toBe(0);
    expect(c.hlCompleted).toBe(c.hlSubmissions);
    expect(c.hlSubmissions).toBeGreaterThan(vblanks * 0.9);
    const engines = r.summary.engines.map((e) => e.engine).join(" ");
    expect(engines).toMatch(/gfx/);
    expect(engines).toMatch(/asahi|vtx|frag/);
    expect(engines).toMatch(/tpc|TPC/i);
    expect(r.summary.fencesSignalled).toBeGreaterThan(c.amdgpuFrames);
    expect(r.summary.waits).toBeGreaterThan(0);
    // Every engine's commands are in the summary, per driver.
    const rows = Object.fromEntries(r.summary.engines.map((e) => [e.engine, e.commands]));
    expect(rows["amdgpu.0/gfx_0.0.0"]).toBe(c.amdgpuFrames);
    expect(rows["habanalabs.0/habanalabs.0:TPC_0"]).toBe(c.hlSubmissions);
    // Fences per driver and per scheduler timeline, from the trace.
    expect(r.summary.extra["fences signalled (amdgpu)"]).toBe(c.amdgpuFrames + (rows["amdgpu.0/sdma0"] ?? 0));
    expect(r.summary.extra["fences signalled (drm_sched gfx_0.0.0)"]).toBe(2 * c.amdgpuFrames);
    expect(r.summary.extra["fences signalled (drm_sched asahi-q1)"]).toBe(2 * c.asahiComposites);
  });

  it("is deterministic: one seed, one trace byte for byte; another seed, another trace", async () => {
    const trace = async (seed: number) => {
      const r = await runScenario(demoScenario, { seed, durationNs: secs(2), trace: true });
      expect(r.findings).toEqual([]);
      return JSON.stringify(r.sim.tracer.toJSON());
    };
    const a = await trace(42);
    const b = await trace(42);
    const c = await trace(43);
    expect(a.length).toBeGreaterThan(10_000);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });
});
