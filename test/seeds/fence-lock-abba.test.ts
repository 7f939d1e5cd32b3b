/**
 * ABBA through the fence lock: a fence callback takes the device's list lock, and the reset path
 * signals fences while holding it. drmsim reports the cycle with both paths.
 */
import { Simulator, usecs, ValidatorError } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  FENCE_LIST_DRIVER,
  FenceListDriver,
  LIST_LOCK,
} from "../fixtures/fence-lock-abba/fence-lock-abba.js";

const FENCE_LOCK = `&fence->inline_lock (${FENCE_LIST_DRIVER})`;

describe("fixture: fence-lock-abba", () => {
  it("the reset that signals under the list lock closes a cycle with the callback, both paths named", async () => {
    const sim = new Simulator();
    const drv = new FenceListDriver(sim);
    const done = drv.submit(usecs(10));
    const stuck = drv.submit(usecs(1000));
    // One normal completion: the callback takes the list lock under the fence lock, in irq context.
    await sim.run({ untilNs: usecs(20) });
    expect(done.signaled).toBe(true);
    expect(drv.list).toEqual([stuck]);

    // The job timeout handler resets the GPU (throw mode: the finding stops it at the signal).
    const tdr = sim.createContext("tdr", "worker");
    let err: unknown;
    try {
      sim.runAs(tdr, () => drv.reset());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidatorError);
    const f = (err as ValidatorError).finding;
    expect(f.kind).toBe("circular-dependency");
    expect(f.title).toBe(
      `possible circular locking dependency: dma_fence_signal takes ${FENCE_LOCK} while holding ${LIST_LOCK}`,
    );
    expect(f.cycle).toEqual([LIST_LOCK, FENCE_LOCK]);
    // The new edge: the reset path, in the process that ran it.
    expect(f.chain[0]!.context).toBe(tdr.label);
    expect(f.chain[0]!.backtrace).toContain(`${FENCE_LIST_DRIVER}.reset`);
    // The edge it closes: the callback under the fence lock, in the ring's interrupt.
    expect(f.chain[1]!.context).toMatch(new RegExp(`^irq:${FENCE_LIST_DRIVER}-ring/`));
    expect(f.chain[1]!.op).toBe(`spin_lock_irqsave(${LIST_LOCK})`);
    expect(f.chain[1]!.heldOp).toBe("dma_fence_signal");
    expect(f.chain[1]!.backtrace).toEqual([
      `${FENCE_LIST_DRIVER}.fence_unlink`,
      `${FENCE_LIST_DRIVER}.irq_handler`,
    ]);
    const text = f.toString();
    expect(text).toContain(`[new] ${LIST_LOCK} --> ${FENCE_LOCK}`);
    expect(text).toContain(`[seen] ${FENCE_LOCK} --> ${LIST_LOCK}`);
    expect(text).toContain("A dma_fence's lock is taken, with interrupts off, by dma_fence_signal");
    // Refused before the fence lock was taken: nothing held, the fence not signalled.
    expect(stuck.signaled).toBe(false);
    stuck.signal();
    drv.fini();
    done.put();
    stuck.put();
  });

  it("the fixed reset (signal after dropping the list lock) is quiet, and every fence completes", async () => {
    const sim = new Simulator();
    const drv = new FenceListDriver(sim, { fixed: true });
    const done = drv.submit(usecs(10));
    const stuck = drv.submit(usecs(1000));
    await sim.run({ untilNs: usecs(20) });
    sim.runAs(sim.createContext("tdr", "worker"), () => drv.reset());
    expect(stuck.signaled).toBe(true);
    expect(stuck.error).toBe(-125);
    expect(drv.list).toEqual([]);
    await sim.run();
    drv.fini();
    done.put();
    stuck.put();
    expect(sim.teardown().findings).toEqual([]);
  });
});
