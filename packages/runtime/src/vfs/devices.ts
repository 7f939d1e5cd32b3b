/**
 * Character devices by path (`/dev/dri/renderD128`, `/dev/accel/accel0`,
 * `/sys/kernel/debug/sync/sw_sync`): what `open(2)` finds. Per simulator.
 */
import { KernelError } from "../errno.js";
import type { Simulator } from "../simulator.js";
import type { File } from "./file.js";
import type { Process } from "./process.js";

/** Opens the device for `proc`: returns a new file (the caller's reference). */
export type DeviceOpener = (proc: Process, flags: number) => File | Promise<File>;

const DEVICES = {};
const table = (sim: Simulator) => sim.subsystem(DEVICES, () => new Map<string, DeviceOpener>());

/** `register_chrdev` + `device_create`: makes `path` openable. `EEXIST` if taken. */
export function registerCharDevice(sim: Simulator, path: string, open: DeviceOpener): void {
  const t = table(sim);
  if (t.has(path)) throw new KernelError("EEXIST", `${path} already exists`);
  t.set(path, open);
}

/** `device_destroy`: `path` can no longer be opened (open files stay valid). */
export function unregisterCharDevice(sim: Simulator, path: string): void {
  table(sim).delete(path);
}

/** The opener for `path`, or `ENOENT`. */
export function lookupCharDevice(sim: Simulator, path: string): DeviceOpener {
  const open = table(sim).get(path);
  if (open === undefined) throw new KernelError("ENOENT", `${path}: no such device`);
  return open;
}

/** Device paths under a prefix, sorted (`ls /dev/dri`). */
export function listCharDevices(sim: Simulator, prefix = "/"): string[] {
  return [...table(sim).keys()].filter((p) => p.startsWith(prefix)).sort();
}
