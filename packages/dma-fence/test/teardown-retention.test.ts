/**
 * Module state of the fence code must not keep a finished simulator alive: a process that runs
 * one big simulation and then other work would otherwise hold the whole world (its fences, its
 * trace) until the next simulator created a fence. Each per-operation memo in front of the
 * simulator's subsystem map (the fence teardown check, the inline lock classes, irq_work) is
 * reached here.
 */

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Simulator, type ValidatorMode } from "@drmsim/runtime";
import { expect, it } from "vitest";
import { dmaFenceArrayCreate, dmaFenceContextAlloc } from "../src/index.js";
import { mockFence } from "./mock-fence.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** One run: fences signalled through an array (irq_work), torn down; only a weak reference kept. */
function finishedSimulator(validator: ValidatorMode): WeakRef<Simulator> {
  const sim = new Simulator({ validator });
  const fences = [mockFence(sim), mockFence(sim)];
  const array = dmaFenceArrayCreate(sim, fences, dmaFenceContextAlloc(sim), 1, false)!;
  array.enableSwSignaling();
  for (const f of fences) f.signal();
  expect(array.signaled).toBe(true);
  array.put();
  sim.teardown();
  return new WeakRef(sim);
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

it.each<ValidatorMode>(["collect", "off"])(
  "a finished simulator (validator %s) is collectable once nothing of the user's refers to it",
  async (mode) => {
    const ref = finishedSimulator(mode);
    // A WeakRef's target stays alive until the job that made it ends: collect after a turn.
    await turn();
    gc();
    await turn();
    gc();
    expect(ref.deref()).toBeUndefined();
  },
);
