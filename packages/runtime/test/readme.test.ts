/** The README's example, run as written (so it cannot rot). */
import { expect, it } from "vitest";
import {
  File,
  io,
  type KernelError,
  Mutex,
  msecs,
  Process,
  registerCharDevice,
  SA_RESTART,
  SIGUSR1,
  Simulator,
  WaitQueue,
} from "../src/index.js";

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

it("README example: a signal during a system call — EINTR without SA_RESTART, a transparent restart with it", async () => {
  const log: unknown[][] = [];
  const console = { log: (...args: unknown[]) => log.push(args) };

  const sim = new Simulator();
  const wq = new WaitQueue(sim, "dev");
  let ready = false;
  const fops = {
    kind: "sleepy",
    async ioctl(_file: File, _cmd: number, arg: unknown) {
      await wq.waitEvent(() => ready, { interruptible: true }); // -ERESTARTSYS on a signal
      (arg as { done: number }).done = 1;
    },
  };
  const SLEEPY_WAIT = io("S", 1); // _IO('S', 1): no argument to copy
  registerCharDevice(sim, "/dev/sleepy", () => new File(sim, fops, null, 2, "/dev/sleepy"));
  const app = new Process(sim, "app");
  const fd = await sim.exec("open", () => app.open("/dev/sleepy"));

  app.sigaction(SIGUSR1, { handler: (sig) => console.log("handler", sig, sim.now) });
  const interrupted = app.run(() => app.ioctl(fd, SLEEPY_WAIT));
  sim.schedule(msecs(1), () => app.kill(SIGUSR1));
  await sim.run();
  console.log(await interrupted.result.catch((e: KernelError) => e.code)); // handler 10 1000000, then EINTR

  app.sigaction(SIGUSR1, { handler: () => {}, flags: SA_RESTART });
  const restarted = app.run(() => app.ioctl(fd, SLEEPY_WAIT));
  sim.schedule(msecs(1), () => app.kill(SIGUSR1));
  sim.schedule(msecs(3), () => {
    ready = true;
    wq.wakeUpAll();
  });
  await sim.run();
  console.log(await restarted.result, sim.now); // { done: 1 } 4000000: restarted, then woken
  app.exit();

  expect(log).toEqual([["handler", SIGUSR1, msecs(1)], ["EINTR"], [{ done: 1 }, msecs(4)]]);
});

it("README example: exec runs until its task settles and leaves later events pending; execUntilIdle drains", async () => {
  const log: unknown[][] = [];
  const console = { log: (...args: unknown[]) => log.push(args) };

  const sim = new Simulator();
  const fired: number[] = [];
  const result = await sim.exec("app", async () => {
    sim.schedule(msecs(10_000), () => fired.push(sim.now)); // armed for 10 s from now
    await new WaitQueue(sim, "nap").waitEvent(() => false, { timeoutNs: msecs(2) });
    return "done";
  });
  console.log(result, sim.now, fired.length, sim.pendingEvents); // done 2000000 0 1: the timer is still pending
  await sim.run();
  console.log(fired[0]); // 10000000000: run() ran it, at 10 s
  const again = await sim.execUntilIdle("app", () => {
    sim.schedule(msecs(1), () => fired.push(sim.now));
    return "done";
  });
  console.log(again, fired.length); // done 2: execUntilIdle waited for the new timer as well

  expect(log).toEqual([["done", msecs(2), 0, 1], [msecs(10_000)], ["done", 2]]);
});
