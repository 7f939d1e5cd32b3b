/**
 * @drmsim/fuzz (private) — the uAPI fuzzer and the allocation-failure sweep.
 *
 * - `runFuzz({ runs, seed, callsPerRun?, minCalls?, drivers? })`: fast-check sequences of ioctls
 *   (core + every driver in `FUZZ_DRIVERS`) and fd syscalls from two processes, with the
 *   invariants listed in `fuzz.ts`.
 * - `runSweep()` / `sweepCase(c)`: ENOMEM at each allocation site of each core ioctl in turn.
 * - `buildWorld()`, `snapshotState(world)`, `diffSnapshots(a, b)`, `closeWorld(world)`: the
 *   world and the state comparison, reusable by other uAPI tests.
 */
import "reflect-metadata";

export * from "./args.js";
export { FUZZ_DRIVERS, type FuzzDriver } from "./drivers.js";
export * from "./fuzz.js";
export { FuzzAccelDriver, fuzzAccelProbe } from "./fuzz-accel.js";
export * from "./reach.js";
export * from "./reach-drivers.js";
export * from "./report.js";
export * from "./sweep.js";
export * from "./world.js";
