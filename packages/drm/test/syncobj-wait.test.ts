/**
 * The behaviours IGT's `tests/syncobj_wait.c` checks, from userspace's side: argument checks,
 * timeouts as absolute times on the simulator clock, WAIT_ANY/WAIT_ALL, WAIT_FOR_SUBMIT (the
 * stall happens in the waiting process, bounded, never inside a fence), signals, and the
 * lock-held rule of drm_syncobj_find_fence.
 */
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import {
  KernelError,
  Mutex,
  msecs,
  Process,
  S64_MAX,
  SA_RESTART,
  SIGALRM,
  SIGTERM,
  SIGUSR1,
  SIGWINCH,
  Simulator,
  secs,
} from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_SYNCOBJ_CREATE_SIGNALED,
  DRM_SYNCOBJ_NO_INDEX,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
  DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT_NS,
  drmSyncobjArrayWait,
} from "../src/syncobj/index.js";
import { type SYNCOBJ_IOCTL, syncobjOpen } from "./syncobj-harness.js";

const ops = { getDriverName: () => "test", getTimelineName: () => "ring" };

async function setup(opts: { validator?: "throw" | "collect" } = {}) {
  const sim = new Simulator({ validator: opts.validator ?? "throw" });
  const { proc, table, ioctl: raw } = await syncobjOpen(new Process(sim, "app"));
  const ioctl = (cmd: keyof typeof SYNCOBJ_IOCTL, arg: object) => raw<Record<string, number>>(cmd, arg);
  const create = async (flags = 0) => (await ioctl("CREATE", { flags })).handle!;
  /** A driver's submit: installs an unsignalled fence as the syncobj's fence. */
  const submit = (handle: number) => {
    const f = new DmaFence(sim, ops, dmaFenceContextAlloc(sim), 1);
    table.signalPoint(handle, f);
    return f;
  };
  /** Runs `fn` as a thread of the process and the simulation to the end; its result or error code. */
  const inTask = async <T>(fn: () => Promise<T>): Promise<T | string> => {
    const t = proc.run(fn);
    await sim.run();
    try {
      return await t.result;
    } catch (e) {
      if (e instanceof KernelError) return e.code;
      throw e;
    }
  };
  const wait = (args: Record<string, unknown>) => inTask(() => ioctl("WAIT", args));
  return { sim, proc, table, ioctl, create, submit, inTask, wait };
}

describe("syncobj_wait: argument checks", () => {
  it("invalid-wait-bad-flags: unknown flags (and AVAILABLE, a timeline-only flag) are EINVAL", async () => {
    const t = await setup();
    const h = await t.create(DRM_SYNCOBJ_CREATE_SIGNALED);
    expect(await t.wait({ handles: [h], count_handles: 1, flags: 1 << 6 })).toBe("EINVAL");
    expect(
      await t.wait({ handles: [h], count_handles: 1, flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE }),
    ).toBe("EINVAL");
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("invalid-wait-zero-handles: count 0 succeeds at once (7.1)", async () => {
    const t = await setup();
    // A timeout 10 s away and WAIT_ALL: a wait that went ahead would sleep until it expired.
    const args = {
      handles: [],
      count_handles: 0,
      timeout_nsec: secs(10),
      flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL,
      first_signaled: 5,
    };
    // Returns 0 without touching the arguments: first_signaled keeps what userspace passed.
    expect(await t.wait(args)).toMatchObject({ count_handles: 0, first_signaled: 5 });
    expect(t.sim.now).toBe(0);
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("invalid-wait-illegal-handle: an unknown handle is ENOENT", async () => {
    const t = await setup();
    const h = await t.create(DRM_SYNCOBJ_CREATE_SIGNALED);
    expect(await t.wait({ handles: [h, 77], count_handles: 2 })).toBe("ENOENT");
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("invalid-single-wait-unsubmitted: a syncobj with no fence is EINVAL at once, without FOR_SUBMIT", async () => {
    const t = await setup();
    const h = await t.create();
    const args = { handles: [h], count_handles: 1, timeout_nsec: secs(10), first_signaled: 123 };
    expect(await t.wait(args)).toBe("EINVAL");
    expect(t.sim.now).toBe(0);
    // Rejected: nothing was copied back.
    expect(args.first_signaled).toBe(123);
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });
});

describe("syncobj_wait: waiting", () => {
  it("single-wait-signaled: a signalled syncobj returns at once with first_signaled 0, even when polling", async () => {
    const t = await setup();
    const h = await t.create(DRM_SYNCOBJ_CREATE_SIGNALED);
    const args = { handles: [h], count_handles: 1, timeout_nsec: 0, first_signaled: 9 };
    expect(await t.wait(args)).toMatchObject({ first_signaled: 0 });
    expect(args.first_signaled).toBe(0);
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("single-wait-unsignaled: polling is ETIME at once; an absolute timeout is ETIME at that time", async () => {
    const t = await setup();
    const h = await t.create();
    const f = t.submit(h);
    expect(await t.wait({ handles: [h], count_handles: 1, timeout_nsec: 0 })).toBe("ETIME");
    expect(t.sim.now).toBe(0);
    const deadline = t.sim.now + msecs(30);
    expect(await t.wait({ handles: [h], count_handles: 1, timeout_nsec: deadline })).toBe("ETIME");
    expect(t.sim.now).toBe(deadline);
    // A deadline already in the past polls.
    expect(await t.wait({ handles: [h], count_handles: 1, timeout_nsec: 1 })).toBe("ETIME");
    expect(t.sim.now).toBe(deadline);
    f.signal();
    f.put();
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("wakes when the fence signals, at the signal time", async () => {
    const t = await setup();
    const h = await t.create();
    const f = t.submit(h);
    t.sim.schedule(msecs(7), () => f.signal());
    const r = await t.wait({ handles: [h], count_handles: 1, timeout_nsec: secs(1) });
    expect(r).toMatchObject({ first_signaled: 0 });
    expect(t.sim.now).toBe(msecs(7));
    f.put();
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("multi-wait any vs all: WAIT_ANY reports the first to signal; WAIT_ALL waits for the last", async () => {
    const t = await setup();
    const hs = [await t.create(), await t.create(), await t.create()];
    const fs = hs.map((h) => t.submit(h));
    t.sim.schedule(msecs(5), () => fs[2]!.signal());
    t.sim.schedule(msecs(9), () => fs[0]!.signal());
    t.sim.schedule(msecs(12), () => fs[1]!.signal());
    const times: number[] = [];
    const results = await t.inTask(async () => {
      const any = await t.ioctl("WAIT", { handles: hs, count_handles: 3, timeout_nsec: secs(1) });
      times.push(t.sim.now);
      const all = await t.ioctl("WAIT", {
        handles: hs,
        count_handles: 3,
        timeout_nsec: secs(1),
        flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL,
      });
      times.push(t.sim.now);
      return [any, all];
    });
    expect(times).toEqual([msecs(5), msecs(12)]);
    // WAIT_ANY: the first to signal. WAIT_ALL records only an index found signalled up front: fs[2].
    expect(results).toMatchObject([{ first_signaled: 2 }, { first_signaled: 2 }]);
    for (const f of fs) f.put();
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("WAIT_ALL with nothing signalled up front leaves first_signaled at ~0", async () => {
    const t = await setup();
    const h = await t.create();
    const f = t.submit(h);
    t.sim.schedule(msecs(1), () => f.signal());
    const r = await t.wait({
      handles: [h],
      count_handles: 1,
      timeout_nsec: secs(1),
      flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL,
    });
    expect(r).toMatchObject({ first_signaled: DRM_SYNCOBJ_NO_INDEX });
    f.put();
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("wait-for-submit: a wait started before the submission sleeps until the fence appears and signals", async () => {
    const t = await setup();
    const h = await t.create();
    let f: DmaFence | null = null;
    t.sim.schedule(msecs(3), () => {
      f = t.submit(h);
    });
    t.sim.schedule(msecs(8), () => f!.signal());
    const r = await t.wait({
      handles: [h],
      count_handles: 1,
      timeout_nsec: secs(1),
      flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
    });
    expect(r).toMatchObject({ first_signaled: 0 });
    expect(t.sim.now).toBe(msecs(8));
    const s = t.table.find(h)!;
    expect(s.pendingWaiters).toBe(0);
    s.put();
    (f as DmaFence | null)?.put();
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("wait-for-submit that nobody submits times out with ETIME, and no fence is left behind", async () => {
    const t = await setup();
    const h = await t.create();
    const r = await t.wait({
      handles: [h],
      count_handles: 1,
      timeout_nsec: msecs(50),
      flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
    });
    expect(r).toBe("ETIME");
    expect(t.sim.now).toBe(msecs(50));
    const s = t.table.find(h)!;
    expect(s.pendingWaiters).toBe(0);
    expect(s.currentFence).toBeNull();
    s.put();
    t.proc.exit();
    // No fence was made to stand for "userspace will submit": nothing is left unsignalled.
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("an INT64_MAX timeout waits without a timer: if nobody ever submits, the deadlock report names the syncobj wait", async () => {
    const t = await setup({ validator: "collect" });
    const h = await t.create();
    const task = t.proc.run(() =>
      t.ioctl("WAIT", {
        handles: [h],
        count_handles: 1,
        timeout_nsec: S64_MAX,
        flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
      }),
    );
    const res = await t.sim.run();
    expect(res.reason).toBe("deadlock");
    const entry = res.finding!.waitFor!.find((w) => w.context === task.context.label)!;
    expect(entry.waitsFor).toContain("drm_syncobj");
    expect(entry.waitsFor).toContain("to be submitted");
    expect(entry.backtrace).toContain("ioctl(DRM_IOCTL_SYNCOBJ_WAIT)");
    // The process, not a fence, is what waits on userspace: no fence exists at all.
    const s = t.table.find(h)!;
    expect(s.currentFence).toBeNull();
    s.put();
    // Userspace finally submits: the waiter completes.
    const f = t.submit(h);
    f.signal();
    await t.sim.run();
    expect(await task.result).toMatchObject({ first_signaled: 0 });
    f.put();
    t.proc.exit();
  });

  it("reset after submit: a waiter with FOR_SUBMIT keeps waiting for the next fence", async () => {
    const t = await setup();
    const h = await t.create();
    const f1 = t.submit(h);
    await t.ioctl("RESET", { handles: [h], count_handles: 1 });
    let f2: DmaFence | null = null;
    t.sim.schedule(msecs(4), () => {
      f2 = t.submit(h);
      f2.signal();
    });
    const r = await t.wait({
      handles: [h],
      count_handles: 1,
      timeout_nsec: secs(1),
      flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
    });
    expect(r).toMatchObject({ first_signaled: 0 });
    expect(t.sim.now).toBe(msecs(4));
    f1.signal();
    f1.put();
    (f2 as DmaFence | null)?.put();
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("WAIT_DEADLINE passes deadline_nsec to the fences as a hint", async () => {
    const t = await setup();
    const h = await t.create();
    const seen: number[] = [];
    const f = new DmaFence(
      t.sim,
      { ...ops, setDeadline: (_f, d) => seen.push(d) },
      dmaFenceContextAlloc(t.sim),
      1,
    );
    t.table.signalPoint(h, f);
    t.sim.schedule(msecs(1), () => f.signal());
    await t.wait({
      handles: [h],
      count_handles: 1,
      timeout_nsec: secs(1),
      flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE,
      deadline_nsec: msecs(16),
    });
    expect(seen).toEqual([msecs(16)]);
    f.put();
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });
});

describe("drm_syncobj_find_fence (what a submit ioctl calls)", () => {
  // The wait itself, as the syncobj ioctls use it (TRANSFER): from a driver's ioctl it is a finding.
  it("WAIT_FOR_SUBMIT waits at most 5 s, then ETIME", async () => {
    const t = await setup();
    const h = await t.create();
    expect(
      await t.inTask(() => t.table.findFenceForUser(h, 0n, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT)),
    ).toBe("ETIME");
    expect(t.sim.now).toBe(DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT_NS);
    expect(await t.inTask(() => t.table.findFence(99, 0n, 0))).toBe("ENOENT");
    expect(await t.inTask(() => t.table.findFence(h, 0n, 0))).toBe("EINVAL");
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("WAIT_FOR_SUBMIT returns the fence once another process submits it", async () => {
    const t = await setup();
    const h = await t.create();
    let f: DmaFence | null = null;
    t.sim.schedule(secs(2), () => {
      f = t.submit(h);
    });
    const got = await t.inTask(() => t.table.findFenceForUser(h, 0n, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT));
    expect(got).toBe(f);
    expect(t.sim.now).toBe(secs(2));
    (got as DmaFence).put();
    f!.signal();
    f!.put();
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("WAIT_FOR_SUBMIT from a driver's ioctl is wait-for-submit-in-kernel, with no lock held and even when the point exists", async () => {
    const t = await setup({ validator: "collect" });
    const h = await t.create();
    const f = t.submit(h);
    const got = await t.inTask(() =>
      t.sim.withFrame("DRM_IOCTL_MYGPU_SUBMIT", () =>
        t.table.findFence(h, 0n, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT),
      ),
    );
    expect(got).toBe(f);
    const [finding] = t.sim.validator.findingsOf("wait-for-submit-in-kernel");
    expect(finding!.title).toBe(
      "DRM_IOCTL_MYGPU_SUBMIT waits in the kernel for userspace to submit (drm_syncobj_find_fence with WAIT_FOR_SUBMIT)",
    );
    expect(finding!.held).toEqual([]);
    expect(finding!.details[0]).toMatch(/already submitted this time$/);
    expect(finding!.explanation).toMatch(/belongs in userspace \(seed 004\)/);
    // Flags 0, and the userspace-side wait (TRANSFER's lookup), are quiet.
    (got as DmaFence).put();
    ((await t.inTask(() => t.table.findFence(h, 0n, 0))) as DmaFence).put();
    (
      (await t.inTask(() =>
        t.table.findFenceForUser(h, 0n, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT),
      )) as DmaFence
    ).put();
    expect(t.sim.validator.findings).toHaveLength(1);
    f.signal();
    f.put();
    t.proc.exit();
  });

  it("WAIT_FOR_SUBMIT with a lock held is a validator finding and is refused (collect mode)", async () => {
    const t = await setup({ validator: "collect" });
    const h = await t.create();
    const lock = new Mutex(t.sim, "&driver->submit_lock");
    const r = await t.inTask(async () => {
      await lock.lock();
      try {
        return await t.table.findFence(h, 0n, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT);
      } finally {
        lock.unlock();
      }
    });
    expect(r).toBe("EDEADLK");
    const found = t.sim.validator.findingsOf("syncobj-wait-with-locks-held");
    expect(found).toHaveLength(1);
    expect(found[0]!.held?.join(" ")).toContain("submit_lock");
    expect(t.sim.now).toBe(0);
    t.proc.exit();
  });

  it("WAIT_AVAILABLE with a lock held is refused too: it also waits for a submission", async () => {
    const t = await setup({ validator: "collect" });
    const h = await t.create();
    const lock = new Mutex(t.sim, "&driver->submit_lock");
    const s = t.table.lookup(h);
    const r = await t.inTask(async () => {
      await lock.lock();
      try {
        return await drmSyncobjArrayWait(
          t.sim,
          [s],
          [1n],
          DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE,
          t.sim.now + secs(1),
        );
      } finally {
        lock.unlock();
      }
    });
    expect(r).toBe("EDEADLK");
    expect(t.sim.validator.findingsOf("syncobj-wait-with-locks-held")).toHaveLength(1);
    expect(s.pendingWaiters).toBe(0);
    expect(t.sim.now).toBe(0);
    s.put();
    t.proc.exit();
  });

  it("findFence checks its flags before the handle: bad flags on an unknown handle are EINVAL", async () => {
    const t = await setup();
    const h = await t.create(DRM_SYNCOBJ_CREATE_SIGNALED);
    expect(await t.inTask(() => t.table.findFence(h + 100, 0n, 0x80))).toBe("EINVAL");
    expect(await t.inTask(() => t.table.findFence(h + 100, 0n, 0))).toBe("ENOENT");
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("WAIT_FOR_SUBMIT with a lock held throws a ValidatorError in throw mode", async () => {
    const t = await setup();
    const h = await t.create();
    const lock = new Mutex(t.sim, "&driver->submit_lock");
    const task = t.proc.run(async () => {
      await lock.lock();
      try {
        return await t.table.findFence(h, 0n, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT);
      } finally {
        lock.unlock();
      }
    });
    await t.sim.run().catch(() => {});
    await expect(task.result).rejects.toMatchObject({ name: "ValidatorError" });
  });
});

/**
 * Signals during a wait. The kernel side (`drm_syncobj_array_wait_timeout`) returns `-ERESTARTSYS`
 * when `signal_pending(current)`; what userspace sees is decided on the way out of the system call
 * (`arch_do_signal_or_restart`, `kernel/signal.c` `get_signal`): `EINTR` after a handler without
 * `SA_RESTART`, a restart — transparent, since the timeout is absolute — after one with it.
 */
describe("syncobj_wait: signals (ERESTARTSYS → EINTR or restart, per SA_RESTART)", () => {
  it("a handler without SA_RESTART: the handler runs and WAIT fails with EINTR at the signal's time; the fence callbacks are removed", async () => {
    const t = await setup();
    const h = await t.create();
    const f = t.submit(h);
    const ran: number[] = [];
    t.proc.sigaction(SIGUSR1, { handler: (sig) => ran.push(sig) });
    const task = t.proc.run(() => t.ioctl("WAIT", { handles: [h], count_handles: 1, timeout_nsec: secs(1) }));
    t.sim.schedule(msecs(2), () => t.proc.kill(SIGUSR1));
    await t.sim.run();
    await expect(task.result).rejects.toMatchObject({ code: "EINTR", syscall: "DRM_IOCTL_SYNCOBJ_WAIT" });
    expect(ran).toEqual([SIGUSR1]);
    expect(t.sim.now).toBe(msecs(2));
    expect(f.pendingCallbacks).toBe(0);
    expect(task.context.signalPending).toBe(false); // delivered: nothing left pending
    f.signal();
    f.put();
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("a handler with SA_RESTART: WAIT restarts with the same absolute deadline and succeeds when the fence signals", async () => {
    const t = await setup();
    const h = await t.create();
    const f = t.submit(h);
    let ran = 0;
    t.proc.sigaction(SIGALRM, { handler: () => ran++, flags: SA_RESTART });
    const args = { handles: [h], count_handles: 1, timeout_nsec: secs(1) };
    const task = t.proc.run(() => t.ioctl("WAIT", args));
    t.sim.schedule(msecs(2), () => t.proc.kill(SIGALRM));
    t.sim.schedule(msecs(3), () => t.proc.kill(SIGALRM));
    t.sim.schedule(msecs(5), () => f.signal(), t.sim.irqContext("ring"));
    await t.sim.run();
    await expect(task.result).resolves.toMatchObject({ first_signaled: 0 });
    expect(ran).toBe(2);
    expect(t.sim.now).toBe(msecs(5));
    f.put();
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("SA_RESTART keeps the absolute timeout: a restarted WAIT still times out (ETIME) at the original deadline", async () => {
    const t = await setup();
    const h = await t.create();
    const f = t.submit(h);
    t.proc.sigaction(SIGALRM, { handler: () => {}, flags: SA_RESTART });
    const task = t.proc.run(() =>
      t.ioctl("WAIT", { handles: [h], count_handles: 1, timeout_nsec: msecs(10) }),
    );
    t.sim.schedule(msecs(7), () => t.proc.kill(SIGALRM));
    await t.sim.run();
    await expect(task.result).rejects.toMatchObject({ code: "ETIME" });
    expect(t.sim.now).toBe(msecs(10)); // not 7 + 10
    f.signal();
    f.put();
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("a signal whose action is to be ignored (SIGWINCH by default, or SIG_IGN) never interrupts the wait", async () => {
    const t = await setup();
    const h = await t.create();
    const f = t.submit(h);
    t.proc.sigaction(SIGUSR1, { handler: "SIG_IGN" });
    const task = t.proc.run(() => t.ioctl("WAIT", { handles: [h], count_handles: 1, timeout_nsec: secs(1) }));
    t.sim.schedule(msecs(1), () => t.proc.kill(SIGWINCH));
    t.sim.schedule(msecs(2), () => t.proc.kill(SIGUSR1));
    t.sim.schedule(msecs(3), () => f.signal(), t.sim.irqContext("ring"));
    await t.sim.run();
    await expect(task.result).resolves.toMatchObject({ first_signaled: 0 });
    expect(t.sim.now).toBe(msecs(3));
    f.put();
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("a wake-up with no signal left to deliver (no handler to run) restarts the call, as the kernel does without a handler", async () => {
    const t = await setup();
    const h = await t.create();
    const f = t.submit(h);
    const task = t.proc.run(() => t.ioctl("WAIT", { handles: [h], count_handles: 1, timeout_nsec: secs(1) }));
    t.sim.schedule(msecs(2), () => task.signal()); // TIF_SIGPENDING alone, nothing queued
    t.sim.schedule(msecs(4), () => f.signal(), t.sim.irqContext("ring"));
    await t.sim.run();
    await expect(task.result).resolves.toMatchObject({ first_signaled: 0 });
    expect(t.sim.now).toBe(msecs(4));
    f.put();
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("drm_syncobj_find_fence with WAIT_FOR_SUBMIT (TRANSFER): interrupted → EINTR without SA_RESTART; with it the lookup restarts and finds the fence once submitted", async () => {
    const t = await setup();
    const src = await t.create();
    const dst = await t.create();
    t.proc.sigaction(SIGUSR1, { handler: () => {} });
    const transfer = () =>
      t.ioctl("TRANSFER", {
        src_handle: src,
        dst_handle: dst,
        flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
      });
    const intr = t.proc.run(transfer);
    t.sim.schedule(msecs(1), () => t.proc.kill(SIGUSR1));
    await t.sim.run();
    await expect(intr.result).rejects.toMatchObject({ code: "EINTR" });
    const d = t.table.find(dst)!;
    expect(d.fenceGet()).toBeNull(); // nothing transferred
    d.put();
    t.proc.sigaction(SIGUSR1, { handler: () => {}, flags: SA_RESTART });
    const restarted = t.proc.run(transfer);
    t.sim.schedule(msecs(1), () => t.proc.kill(SIGUSR1));
    let f: DmaFence | undefined;
    t.sim.schedule(msecs(2), () => {
      f = t.submit(src);
    });
    await t.sim.run();
    await expect(restarted.result).resolves.toBeDefined();
    const d2 = t.table.find(dst)!;
    const got = d2.fenceGet();
    d2.put();
    expect(got).toBe(f);
    got?.put();
    f!.signal();
    f!.put();
    t.proc.exit();
    expect(t.sim.teardown().findings).toEqual([]);
  });

  it("a fatal signal (SIGTERM's default action) ends the process: the wait never returns to it (ESRCH), its files are closed", async () => {
    const t = await setup();
    const h = await t.create();
    const f = t.submit(h);
    const task = t.proc.run(() => t.ioctl("WAIT", { handles: [h], count_handles: 1, timeout_nsec: secs(1) }));
    t.sim.schedule(msecs(2), () => t.proc.kill(SIGTERM));
    await t.sim.run();
    await expect(task.result).rejects.toMatchObject({ code: "ESRCH" });
    expect(t.sim.now).toBe(msecs(2));
    expect(t.proc.exited).toBe(true);
    expect(t.proc.killedBy).toBe(SIGTERM);
    expect(t.table.size).toBe(0); // the fd went with the process
    expect(() => t.proc.kill(SIGUSR1)).toThrow(/ESRCH/);
    f.signal();
    f.put();
    expect(t.sim.teardown().findings).toEqual([]);
  });
});
