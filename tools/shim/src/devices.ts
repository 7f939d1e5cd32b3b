/**
 * The devices `drmsim serve` hosts by default: vgem (card0, renderD128), a generic render device
 * with timeline syncobjs whose `DRM_IOCTL_VERSION` name is "drmsim" — test suites pick devices by
 * that name, and vgem has no syncobjs — and sw_sync at `/sys/kernel/debug/sync/sw_sync` and
 * `/dev/sw_sync`. A scenario module adds more: its default export gets the simulator and host.
 */
import { swSyncRegister } from "@drmsim/dma-fence";
import { DrmDriverFeature, type DrmHooks, DrmPluginHost } from "@drmsim/drm";
import { lookupCharDevice, registerCharDevice, type Simulator } from "@drmsim/runtime";
import { vgemProbe } from "@drmsim/vgem";
import { ACCEL_MAJOR, DRM_MAJOR, type ShimNode } from "./tree.js";

/** A render device with nothing but GEM and (timeline) syncobjs. */
export class DrmsimGenericDriver {
  apply(_hooks: DrmHooks): void {}
}

/** What a scenario module's default export receives. */
export interface ShimScenarioContext {
  readonly sim: Simulator;
  readonly host: DrmPluginHost;
}

/** A scenario module: `export default (ctx) => { ctx.host.probe(…) }`. */
export type ShimScenario = (ctx: ShimScenarioContext) => void | Promise<void>;

/** Probes the default devices (and the scenario's) and returns the node table. */
export async function setupDevices(
  sim: Simulator,
  scenario?: ShimScenario,
): Promise<{ host: DrmPluginHost; nodes: ShimNode[] }> {
  const host = new DrmPluginHost(sim);
  vgemProbe(host);
  host.probe(DrmsimGenericDriver, {
    name: "drmsim",
    features:
      DrmDriverFeature.GEM |
      DrmDriverFeature.RENDER |
      DrmDriverFeature.SYNCOBJ |
      DrmDriverFeature.SYNCOBJ_TIMELINE,
  });
  swSyncRegister(sim);
  registerCharDevice(sim, "/dev/sw_sync", lookupCharDevice(sim, "/sys/kernel/debug/sync/sw_sync"));
  if (scenario !== undefined) await scenario({ sim, host });
  const nodes: ShimNode[] = [];
  for (const dev of host.devices)
    for (const m of dev.minors)
      nodes.push({
        path: m.path,
        kind: m.type === "accel" ? "accel" : "drm",
        major: m.type === "accel" ? ACCEL_MAJOR : DRM_MAJOR,
        minor: m.index,
        driver: dev.driver.name,
        device: `${dev.driver.name}.${host.devices.indexOf(dev)}`,
      });
  nodes.push({ path: "/sys/kernel/debug/sync/sw_sync", kind: "sw_sync", major: 0, minor: 0 });
  nodes.push({ path: "/dev/sw_sync", kind: "sw_sync", major: 0, minor: 0 });
  return { host, nodes };
}
