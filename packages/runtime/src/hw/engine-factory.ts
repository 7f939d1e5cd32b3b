/**
 * Where a driver gets its hardware engines: one factory per device, provided by the device's
 * container (`HW_ENGINE_FACTORY` in @drmsim/drm), so a scenario or test can swap in engines with
 * planned faults — a ring that hangs on its third command, a firmware queue that loses a
 * completion interrupt — without touching the driver. There is no kernel counterpart: in the
 * kernel this is the silicon.
 */
import type { Simulator } from "../simulator.js";
import { HardwareEngine, type HardwareEngineOptions, type HwFaultPlan } from "./engine.js";

/** Faults per engine: by engine name, or a function of it. */
export type HwFaultPlans =
  | Readonly<Record<string, HwFaultPlan>>
  | ((engine: string) => HwFaultPlan | undefined);

/** Builds a device's engines; `faults` plans faults into the engines it names. */
export class HardwareEngineFactory {
  /** Every engine built, by name (later ones of the same name replace earlier ones). */
  readonly engines = new Map<string, HardwareEngine>();

  constructor(
    readonly sim: Simulator,
    private readonly faults: HwFaultPlans = {},
  ) {}

  /** A new engine called `name` (see `HardwareEngine`), with the faults planned for that name. */
  create(name: string, opts: HardwareEngineOptions = {}): HardwareEngine {
    const plan = typeof this.faults === "function" ? this.faults(name) : this.faults[name];
    const engine = new HardwareEngine(this.sim, name, plan === undefined ? opts : { ...opts, faults: plan });
    this.engines.set(name, engine);
    return engine;
  }
}
