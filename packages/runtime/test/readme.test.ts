/** The README's example, run as written (so it cannot rot). */
import { expect, it } from "vitest";
import { Mutex, msecs, Simulator, WaitQueue } from "../src/index.js";

it("README example: lockdep sees an AB/BA order that never deadlocked; an irq wakes a timed wait", async () => {
  const log: unknown[][] = [];
  const console = { log: (...args: unknown[]) => log.push(args) };

  const sim = new Simulator({ seed: 1, validator: "collect" });
  const a = new Mutex(sim, "&dev->lock_a");
  const b = new Mutex(sim, "&dev->lock_b");
  await sim.exec("ioctl-1", async () => {
    await a.lock();
    await b.lock();
    b.unlock();
    a.unlock();
  });
  await sim.exec("ioctl-2", async () => {
    await b.lock();
    await a.lock();
    a.unlock();
    b.unlock();
  });
  console.log(sim.validator.findings.map((f) => f.kind)); // [ 'circular-dependency' ]

  const wq = new WaitQueue(sim, "example");
  let ready = false;
  const irq = sim.irqContext("irq");
  sim.schedule(
    msecs(5),
    () => {
      ready = true;
      wq.wakeUpAll();
    },
    irq,
  );
  const left = await sim.exec("waiter", () => wq.waitEvent(() => ready, { timeoutNs: msecs(10) }));
  console.log(sim.now, left); // 5000000 5000000: woken at 5 ms with 5 ms of the timeout left
  console.log(sim.teardown().findings.length); // 0: teardown finds no leaks and no held locks

  expect(log).toEqual([[["circular-dependency"]], [msecs(5), msecs(5)], [0]]);
});
