/**
 * Signals on simulated processes (`vfs/signal.ts`), from the kernel's rules: `kill_pid_info` /
 * `complete_signal` (which thread gets it, `sig_ignored`, `sig_fatal`), `get_signal` and
 * `arch_do_signal_or_restart` (handlers, `SA_RESTART`, `-ERESTARTSYS` → `EINTR` or a restart),
 * `do_sigaction` (`SIGKILL` cannot be caught), `do_group_exit`.
 */
import { describe, expect, it } from "vitest";
import {
  File,
  type FileOperations,
  io,
  iow,
  KernelError,
  msecs,
  Process,
  registerCharDevice,
  SA_RESTART,
  SIG_IGN,
  SIGCHLD,
  SIGINT,
  SIGKILL,
  SIGUSR1,
  SIGUSR2,
  Simulator,
  signalPending,
  WaitQueue,
} from "../src/index.js";

/** `_IO('S', 1)`: wait until the device is ready. */
const WAIT = io("S", 1);
/** `_IOW('S', 2, __u64)`: sleep `ns` uninterruptibly, then wait until ready. */
const BUSY = iow("S", 2, 8);

/** A device whose ioctls sleep: WAIT interruptibly until `ready`, BUSY uninterruptibly for `ns`, then WAIT. */
interface Dev {
  ready: boolean;
  attempts: number;
  wq: WaitQueue;
}

function setup() {
  const sim = new Simulator();
  const dev: Dev = { ready: false, attempts: 0, wq: new WaitQueue(sim, "dev") };
  const fops: FileOperations<Dev> = {
    kind: "sleepy",
    async ioctl(file, cmd, arg) {
      const d = file.priv;
      d.attempts++;
      const out = arg as { ns?: number; done?: number };
      if (cmd === BUSY) {
        // An uninterruptible stretch (signals queue up), then an interruptible wait.
        await d.wq.waitEvent(() => false, { timeoutNs: out.ns ?? 0 });
        await d.wq.waitEvent(() => d.ready, { interruptible: true });
        out.done = 1;
        return;
      }
      if (cmd === WAIT) {
        await d.wq.waitEvent(() => d.ready, { interruptible: true });
        out.done = 1;
        return;
      }
      throw new KernelError("ENOTTY", `ioctl 0x${cmd.toString(16)}`);
    },
    poll: (file) => (file.priv.ready ? 1 : 0),
  };
  registerCharDevice(sim, "/dev/sleepy", () => new File(sim, fops, dev, 2, "/dev/sleepy"));
  const ready = (atNs: number) =>
    sim.schedule(atNs, () => {
      dev.ready = true;
      dev.wq.wakeUpAll();
    });
  return { sim, dev, ready };
}

async function openIn(sim: Simulator, p: Process): Promise<number> {
  return sim.exec("open", () => p.open("/dev/sleepy"));
}

describe("signals: sigaction and kill", () => {
  it("do_sigaction: SIGKILL cannot be caught or ignored, unknown signals are EINVAL; the old action is returned", () => {
    const sim = new Simulator();
    const p = new Process(sim, "app");
    expect(() => p.sigaction(SIGKILL, { handler: SIG_IGN })).toThrow(KernelError);
    expect(() => p.sigaction(64, { handler: () => {} })).toThrow(/EINVAL/);
    const h = () => {};
    expect(p.sigaction(SIGUSR1, { handler: h, flags: SA_RESTART })).toEqual({ handler: "SIG_DFL" });
    expect(p.sigaction(SIGUSR1, { handler: SIG_IGN })).toEqual({ handler: h, flags: SA_RESTART });
    p.exit();
    expect(() => p.kill(SIGUSR1)).toThrow(/ESRCH/);
  });

  it("a signal to a thread outside any system call is delivered at once: the handler runs at the virtual time it was sent", async () => {
    const { sim } = setup();
    const p = new Process(sim, "app");
    const seen: [number, number][] = [];
    p.sigaction(SIGUSR2, { handler: (sig) => seen.push([sig, sim.now]) });
    const idle = p.run(() =>
      new WaitQueue(sim, "user sleep").waitEvent(() => false, { timeoutNs: msecs(5) }),
    );
    sim.schedule(msecs(2), () => p.kill(SIGUSR2));
    await sim.run();
    expect(seen).toEqual([[SIGUSR2, msecs(2)]]);
    expect(idle.state).toBe("done");
    expect(signalPending(idle.context)).toBe(false);
    p.exit();
  });

  it("sig_ignored: SIGCHLD (default ignore) and SIG_IGN signals are dropped when sent and never interrupt a wait", async () => {
    const { sim, ready } = setup();
    const p = new Process(sim, "app");
    const fd = await openIn(sim, p);
    p.sigaction(SIGUSR1, { handler: SIG_IGN });
    const t = p.run(() => p.ioctl(fd, WAIT));
    sim.schedule(msecs(1), () => p.kill(SIGCHLD));
    sim.schedule(msecs(2), () => p.kill(SIGUSR1));
    ready(msecs(3));
    await sim.run();
    await expect(t.result).resolves.toEqual({ done: 1 });
    expect(sim.now).toBe(msecs(3));
    p.exit();
  });

  it("complete_signal: kill() picks the first thread without a pending signal; tgkill() picks the named one", async () => {
    const { sim } = setup();
    const p = new Process(sim, "app");
    const fd = await openIn(sim, p);
    const who: string[] = [];
    p.sigaction(SIGUSR1, { handler: () => who.push(sim.current.name) });
    const a = p.run(() => p.ioctl(fd, WAIT), "thread-a");
    const b = p.run(() => p.ioctl(fd, WAIT), "thread-b");
    sim.schedule(msecs(1), () => p.kill(SIGUSR1, { thread: b }));
    sim.schedule(msecs(2), () => p.kill(SIGUSR1));
    await sim.run();
    // b was named; the process-directed one went to a, the first thread with nothing pending.
    expect(who).toEqual(["thread-b", "thread-a"]);
    await expect(b.result).rejects.toMatchObject({ code: "EINTR" });
    await expect(a.result).rejects.toMatchObject({ code: "EINTR" });
    expect(() => p.kill(SIGUSR1, { thread: a })).toThrow(/ESRCH/); // a has exited
    p.exit();
  });
});

describe("signals: the return from a system call (arch_do_signal_or_restart)", () => {
  it("-ERESTARTSYS with a handler without SA_RESTART: EINTR; with SA_RESTART: the call runs again with the same arguments", async () => {
    const { sim, dev, ready } = setup();
    const p = new Process(sim, "app");
    const fd = await openIn(sim, p);
    let handled = 0;
    p.sigaction(SIGUSR1, { handler: () => handled++ });
    p.sigaction(SIGUSR2, { handler: () => handled++, flags: SA_RESTART });
    const intr = p.run(() => p.ioctl(fd, WAIT));
    sim.schedule(msecs(1), () => p.kill(SIGUSR1));
    await sim.run({ untilNs: msecs(2) });
    await expect(intr.result).rejects.toMatchObject({ code: "EINTR", errno: -4 });
    expect(dev.attempts).toBe(1);
    const restarted = p.run(() => p.ioctl(fd, WAIT));
    sim.schedule(msecs(1), () => p.kill(SIGUSR2));
    ready(msecs(3));
    await sim.run();
    await expect(restarted.result).resolves.toEqual({ done: 1 });
    expect(dev.attempts).toBe(3); // 1 + (interrupted attempt + its restart)
    expect(handled).toBe(2);
    p.exit();
  });

  it("a signal queued during an uninterruptible sleep keeps signal_pending() true: the next interruptible wait returns -ERESTARTSYS at once", async () => {
    const { sim, dev } = setup();
    const p = new Process(sim, "app");
    const fd = await openIn(sim, p);
    const at: number[] = [];
    p.sigaction(SIGUSR1, { handler: () => at.push(sim.now) });
    const t = p.run(() => p.ioctl(fd, BUSY, { ns: msecs(5) }));
    sim.schedule(msecs(1), () => p.kill(SIGUSR1));
    sim.schedule(msecs(2), () => {
      expect(signalPending(t.context)).toBe(true); // queued, not delivered: the thread is in the kernel
      expect(at).toEqual([]);
    });
    await sim.run();
    await expect(t.result).rejects.toMatchObject({ code: "EINTR" });
    expect(at).toEqual([msecs(5)]); // delivered on the way out, after the uninterruptible part
    expect(dev.attempts).toBe(1);
    p.exit();
  });

  // do_sigaction flushes the ignored signal from the queues, but the thread's TIF_SIGPENDING stays
  // set: its next interruptible wait returns -ERESTARTSYS, get_signal finds nothing, the call restarts.
  it("SIG_IGN installed while the signal is queued discards it: no handler runs; the stale wake-up restarts the call transparently", async () => {
    const { sim, dev, ready } = setup();
    const p = new Process(sim, "app");
    const fd = await openIn(sim, p);
    let handled = 0;
    p.sigaction(SIGUSR1, { handler: () => handled++ });
    const t = p.run(() => p.ioctl(fd, BUSY, { ns: msecs(5) }));
    sim.schedule(msecs(1), () => p.kill(SIGUSR1));
    sim.schedule(msecs(2), () => p.sigaction(SIGUSR1, { handler: SIG_IGN }));
    ready(msecs(8));
    await sim.run();
    await expect(t.result).resolves.toEqual({ ns: msecs(5), done: 1 });
    expect(handled).toBe(0);
    expect(dev.attempts).toBe(2); // interrupted at 5 ms by the stale TIF_SIGPENDING, then restarted …
    expect(sim.now).toBe(msecs(10)); // … from the top: another 5 ms uninterruptible stretch, then ready
    p.exit();
  });

  it("a raw wake-up (Task.signal) pending when the call starts: -ERESTARTSYS, nothing to deliver, so the call restarts", async () => {
    const { sim, dev, ready } = setup();
    const p = new Process(sim, "app");
    const fd = await openIn(sim, p);
    const t = p.run(async () => {
      await new WaitQueue(sim, "user").waitEvent(() => false, { timeoutNs: msecs(2) }); // not interruptible
      return p.ioctl(fd, WAIT);
    });
    sim.schedule(msecs(1), () => t.signal());
    ready(msecs(3));
    await sim.run();
    await expect(t.result).resolves.toEqual({ done: 1 });
    expect(dev.attempts).toBe(2);
    p.exit();
  });

  it("an ERESTARTSYS no signal caused goes to userspace as it is (errno 512, a driver bug in the kernel too), never restarted", async () => {
    const sim = new Simulator();
    let attempts = 0;
    const fops: FileOperations<null> = {
      kind: "buggy",
      ioctl() {
        attempts++;
        throw new KernelError("ERESTARTSYS", "returned without a signal");
      },
    };
    registerCharDevice(sim, "/dev/buggy", () => new File(sim, fops, null, 2, "/dev/buggy"));
    const p = new Process(sim, "app");
    const t = p.run(async () => p.ioctl(await p.open("/dev/buggy"), io("X", 1)));
    await sim.run();
    await expect(t.result).rejects.toMatchObject({ code: "ERESTARTSYS", errno: -512 });
    expect(attempts).toBe(1);
    p.exit();
  });

  it("a fatal signal (SIGINT with no handler, SIGKILL) ends the process: the call never returns to it (ESRCH), files are closed", async () => {
    const { sim } = setup();
    const p = new Process(sim, "app");
    const fd = await openIn(sim, p);
    const t = p.run(() => p.ioctl(fd, WAIT));
    sim.schedule(msecs(1), () => p.kill(SIGINT));
    await sim.run();
    await expect(t.result).rejects.toMatchObject({ code: "ESRCH" });
    expect(p.exited).toBe(true);
    expect(p.killedBy).toBe(SIGINT);
    expect(p.files.list()).toEqual([]);
    // SIGKILL to a process with no thread in a system call ends it at once.
    const q = new Process(sim, "q");
    q.sigaction(SIGINT, { handler: () => {} });
    q.kill(SIGINT); // caught: nothing happens (no thread yet to run the handler)
    expect(q.exited).toBe(false);
    q.kill(SIGKILL);
    expect(q.exited).toBe(true);
    expect(q.killedBy).toBe(SIGKILL);
  });

  it("poll: a handler runs on the way out and poll fails with EINTR (it does not restart)", async () => {
    const { sim } = setup();
    const p = new Process(sim, "app");
    const fd = await openIn(sim, p);
    let handled = 0;
    p.sigaction(SIGUSR1, { handler: () => handled++, flags: SA_RESTART });
    const t = p.run(() => p.poll([{ fd, events: 1 }], msecs(10)));
    sim.schedule(msecs(1), () => p.kill(SIGUSR1));
    await sim.run();
    await expect(t.result).rejects.toMatchObject({ code: "EINTR" });
    expect(handled).toBe(1);
    expect(sim.now).toBe(msecs(1));
    p.exit();
  });
});
