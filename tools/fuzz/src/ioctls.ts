/**
 * The ioctls the fuzzer knows by name — the DRM core's table and every probed driver's — with the
 * request code each name stands for and the members its declared argument struct has. The names
 * are the kernel's (`drm_ioctl_desc.name`: `DRM_IOCTL_SYNCOBJ_WAIT` for the core, `AMDGPU_CS` for
 * a driver); the fuzzer issues the request codes.
 */
import {
  coreIoctl,
  coreIoctls,
  DRM_COMMAND_BASE,
  DRM_COMMAND_END,
  DRM_IO,
  type DrmDevice,
  type DrmIoctlDef,
  DrmPluginHost,
  drmIoctlLookup,
} from "@drmsim/drm";
import { Simulator, type UapiElem, type UapiLayout } from "@drmsim/runtime";
import type { FuzzDriver } from "./drivers.js";

/**
 * A name no table defines; its request (the highest driver number no device of the world defines
 * — drivers put their drmsim-only side channels at the top of the range) must be answered with
 * `EINVAL`.
 */
export const BOGUS_IOCTL = "FUZZ_NOT_AN_IOCTL";

function bogusCmd(devices: readonly DrmDevice[]): number {
  for (let nr = DRM_COMMAND_END - 1; nr >= DRM_COMMAND_BASE; nr--)
    if (devices.every((d) => drmIoctlLookup(d, DRM_IO(nr)) === undefined)) return DRM_IO(nr);
  throw new Error("fuzz: the devices define every driver ioctl number");
}

/** The definition `name` has on `dev` (its driver table, else the core's), or undefined. */
export function ioctlDefOn(dev: DrmDevice, name: string): DrmIoctlDef | undefined {
  return dev.driverIoctl(name) ?? coreIoctl(name);
}

/** The definition of `name` in the core table or any of `devices`' tables, or undefined. */
export function ioctlDefOf(devices: readonly DrmDevice[], name: string): DrmIoctlDef | undefined {
  for (const dev of devices) {
    const d = dev.driverIoctl(name);
    if (d !== undefined) return d;
  }
  return coreIoctl(name);
}

/** The request code of `name` (`BOGUS_IOCTL`'s is a number no table of `devices` defines). */
export function ioctlCmdOf(devices: readonly DrmDevice[], name: string): number {
  if (name === BOGUS_IOCTL) return bogusCmd(devices);
  const def = ioctlDefOf(devices, name);
  if (def === undefined) throw new Error(`fuzz: no ioctl named ${name}`);
  return def.cmd;
}

/** The members of an ioctl's argument struct, as the uAPI header declares them. */
export function ioctlFields(def: DrmIoctlDef | undefined): string[] {
  return def === undefined || def.layout.type !== "struct" ? [] : Object.keys(def.layout.fields);
}

/** Every member name in `layout`, down through nested structs, unions and pointed-to elements. */
function collectNames(layout: UapiLayout | UapiElem, into: Set<string>): void {
  if (layout.type === "ptr") {
    collectNames(layout.elem, into);
    return;
  }
  if (layout.type !== "struct") return;
  for (const [name, f] of Object.entries(layout.fields)) {
    into.add(name);
    if (f.type === "struct" || f.type === "ptr") collectNames(f, into);
    else if (f.type === "union") for (const m of Object.values(f.members)) collectNames(m, into);
    else if (f.type === "array") collectNames(f.elem, into);
  }
}

/**
 * The member names the generator draws from: `base` plus every member of every argument struct
 * of the core table and of `drivers`' tables (each driver probed once on a scratch simulator to
 * read its table).
 */
export function layoutFieldPool(drivers: readonly FuzzDriver[], base: readonly string[]): string[] {
  const pool = new Set(base);
  for (const d of coreIoctls()) collectNames(d.layout, pool);
  const host = new DrmPluginHost(new Simulator());
  for (const driver of drivers) {
    const dev = driver.probe(host);
    for (const d of dev.driverIoctls()) collectNames(d.layout, pool);
    host.remove(dev);
  }
  return [...pool];
}
