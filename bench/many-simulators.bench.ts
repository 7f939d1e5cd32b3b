/**
 * Many simulators in one process, as exploration creates them: the thousandth simulator must run
 * as fast as the first — nothing a simulator sets up (an async-context store, a registry entry, a
 * hook) may be left behind to slow down the next ones. (This was a timed test; no test decides on
 * wall-clock time, so it is a figure here.) Run with `pnpm bench many-simulators`.
 *
 * The workload is a small promise-heavy run (two tasks taking turns through a wait queue, like the
 * race selftests). Batches of 100 simulators; the figure is the CPU-time rate of simulators
 * #1,701–#2,000 (batches 18–20) over that of #501–#800 (batches 6–8), the median batch of each.
 * The first 500 only warm the JIT (measured: batch 2 still runs at half the speed of batch 10),
 * which would otherwise flatter the later batches.
 */
import { Simulator, WaitQueue } from "@drmsim/runtime";
import { type Figure, median } from "./harness.js";

async function pingPong(): Promise<void> {
  const sim = new Simulator({ perturb: { tieBreak: true } });
  const wq = new WaitQueue(sim, "pp");
  let turn = 0;
  for (const me of [0, 1])
    sim.spawn(`pp/${me}`, async () => {
      for (let i = 0; i < 20; i++) {
        await wq.waitEvent(() => turn % 2 === me);
        turn++;
        wq.wakeUpAll();
      }
    });
  const r = await sim.run();
  if (r.reason !== "idle") throw new Error(`ping-pong ended with ${r.reason}`);
}

const BATCH = 100;

/** Simulators per CPU second over one batch. */
async function batchRate(): Promise<number> {
  const c0 = process.cpuUsage();
  for (let i = 0; i < BATCH; i++) await pingPong();
  const c = process.cpuUsage(c0);
  return BATCH / Math.max(1e-6, (c.user + c.system) / 1e6);
}

export async function figures(): Promise<Figure[]> {
  const rates: number[] = [];
  for (let b = 0; b < 20; b++) rates.push(await batchRate());
  const early = median(rates.slice(5, 8));
  const late = median(rates.slice(17, 20));
  const ratio = late / early;
  return [
    {
      id: "runtime.simulator-1000-vs-1",
      title: "simulators #1,701–2,000 vs #501–800 (sims/s, CPU)",
      value: late,
      unit: "sims/s",
      baseline: { name: "simulators #501–800", value: early },
      ratio,
      target: "ratio ≥ 0.8",
      met: ratio >= 0.8,
    },
  ];
}
