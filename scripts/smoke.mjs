// Runs in a scratch project where the packed @drmsim/* tarballs were installed with npm:
// imports every installed package and runs a small scenario against the published builds.
import { readdirSync } from "node:fs";

const installed = readdirSync("node_modules/@drmsim").map((n) => `@drmsim/${n}`);
for (const name of installed) {
  const mod = await import(name);
  const n = Object.keys(mod).length;
  if (n === 0) throw new Error(`${name} exports nothing`);
  console.log(`import ${name}: ${n} exports`);
}

const { Simulator, msecs } = await import("@drmsim/runtime");
const { DmaFence, dmaFenceContextAlloc } = await import("@drmsim/dma-fence");
const sim = new Simulator({ seed: 7 });
const ops = { getDriverName: () => "smoke", getTimelineName: () => "ring" };
const ctx = dmaFenceContextAlloc(sim);
const fences = [1, 2, 3].map((s) => new DmaFence(sim, ops, ctx, s));
for (const [i, f] of fences.entries()) sim.schedule(msecs(i + 1), () => f.signal(), sim.irqContext("ring"));
const left = await sim.exec("waiter", () => fences[2].wait({ timeoutNs: msecs(10) }));
if (left !== msecs(7)) throw new Error(`expected ${msecs(7)} ns left, got ${left}`);
for (const f of fences) f.put();
const { findings } = sim.teardown();
if (findings.length !== 0) throw new Error(`unexpected findings: ${findings.join("\n")}`);
console.log(`smoke: fence scenario ok at t=${sim.now} ns`);
