/**
 * The plugin host: how a driver becomes a device. The kernel's `drm_dev_alloc` + `drm_dev_register`
 * with the ops tables as tapable hooks and the device's objects in a tsyringe child container.
 *
 * `host.probe(DriverClass, info)`:
 * 1. checks the feature flags (`DRIVER_COMPUTE_ACCEL` excludes RENDER and MODESET: `EINVAL`);
 * 2. creates the `DrmDevice` and a child DI container holding the device-scoped singletons
 *    (`SIMULATOR`, `DRM_DEVICE`, `DRM_HOOKS`, `HW_ENGINE_FACTORY`, `DRM_SCHED_FACTORY`, then the
 *    `providers` — the driver's defaults and any overrides after them; the last one of a token wins);
 * 3. creates the hooks and installs the framework's interceptors on every one of them
 *    (backtrace frames, tracing, lock balance), before anything taps;
 * 4. applies the helper plugins (the kernel's default helpers), then builds the driver class with
 *    explicit `@inject` tokens only and calls its `apply(hooks, device)`, then any extra `plugins`
 *    (test plugins: fault injectors, tracers, deliberately broken ops at `DrmHookStage.EARLY`);
 * 5. collects the driver's ioctls, checks the mandatory ops, freezes the hooks, registers the
 *    device nodes.
 * Any failure undoes the steps before it and rethrows.
 *
 * `host.remove(device)` is `drm_dev_unplug` + `drm_dev_put`: nodes vanish, every open file is
 * released (postclose, handles), the driver's `release` op runs and the container is disposed.
 */
import "../reflect-metadata.js";
import type { PciDev } from "@drmsim/dma-buf";
import { HardwareEngineFactory, KernelError, type Simulator } from "@drmsim/runtime";
import { type DependencyContainer, type InjectionToken, container as rootContainer } from "tsyringe";
import { DrmDevice } from "../drm-device.js";
import { DrmDriverFeature, type DrmDriverInfo } from "../drm-drv.js";
import { drmFops } from "../drm-ioctl.js";
import { checkExplicitInjection, constructInjected } from "./di-check.js";
import { defaultDrmHelpers } from "./helpers.js";
import { createDrmHooks, DRM_HOOK_GROUP_STRUCT, type DrmHooks, MANDATORY_OPS } from "./hooks.js";
import { interceptDrmOp } from "./interceptors.js";
import { DrmSchedFactory } from "./sched-factory.js";
import { DRM_DEVICE, DRM_HOOKS, DRM_SCHED_FACTORY, HW_ENGINE_FACTORY, PCI_DEV, SIMULATOR } from "./tokens.js";

/** A plugin: webpack's shape. Helpers and drivers alike tap the device's hooks in `apply`. */
export interface DrmPlugin {
  apply(hooks: DrmHooks, device: DrmDevice): void;
}

/** A driver class: constructed by the host from the device container (explicit `@inject` only). */
export type DrmDriverClass<T extends DrmPlugin = DrmPlugin> = new (...args: never[]) => T;

/** A device-scoped singleton the driver provides to its container. */
export interface DrmProvider<T = unknown> {
  provide: InjectionToken<T>;
  /** A ready value. */
  useValue?: T;
  /** Built once, on first resolve, from the device container. */
  useFactory?: (c: DependencyContainer) => T;
  /** Built once, on first resolve, with its own `@inject` tokens (same DI rule as drivers). */
  useClass?: new (
    ...args: never[]
  ) => T;
}

/** What `probe` needs besides the class. */
export interface DrmProbeOptions extends DrmDriverInfo {
  /**
   * Device-scoped hardware and services for the container: the driver's defaults first, then a
   * scenario's or test's overrides (a faulty engine factory, a smaller VRAM). For each token the
   * last provider wins. `PCI_DEV` must be a `useValue`: it is part of the device (`dmaDev`).
   */
  providers?: readonly DrmProvider[];
  /** Plugins applied after the driver, tapping the same hooks (a negative `stage` runs before it). */
  plugins?: readonly DrmPlugin[];
  /**
   * Helper plugins applied before the driver. Default: `defaultDrmHelpers()` (shmem GEM + PRIME).
   * A driver replaces a helper by passing its own list, or overrides single bail ops by tapping
   * them (its taps run before the helpers' `DrmHookStage.HELPER` taps).
   */
  helpers?: readonly DrmPlugin[];
}

interface Probed {
  readonly driver: DrmPlugin;
  readonly container: DependencyContainer;
}

/** The registry of driver classes and probed devices of one simulator. */
export class DrmPluginHost {
  private readonly drivers = new Map<string, DrmDriverClass>();
  private readonly probed = new Map<DrmDevice, Probed>();

  constructor(readonly sim: Simulator) {}

  /** Registers a driver class. `EINVAL` if its constructor breaks the DI rule; `EEXIST` for a second class of the same name. */
  register(cls: DrmDriverClass): void {
    checkExplicitInjection(cls, "driver");
    const prev = this.drivers.get(cls.name);
    if (prev !== undefined && prev !== cls)
      throw new KernelError("EEXIST", `a different driver class named ${cls.name} is already registered`);
    this.drivers.set(cls.name, cls);
  }

  /** The devices probed and not yet removed, in probe order. */
  get devices(): DrmDevice[] {
    return [...this.probed.keys()];
  }

  /** The driver instance of a device. */
  driverOf<T extends DrmPlugin = DrmPlugin>(device: DrmDevice): T {
    return this.entry(device).driver as T;
  }

  /** The device's DI container (to resolve the driver's services in tests and tools). */
  containerOf(device: DrmDevice): DependencyContainer {
    return this.entry(device).container;
  }

  /** `drm_dev_alloc` + driver probe + `drm_dev_register`. See the module comment. */
  probe<T extends DrmPlugin>(cls: DrmDriverClass<T>, opts: DrmProbeOptions): DrmDevice {
    this.register(cls);
    const f = opts.features;
    if (
      (f & DrmDriverFeature.COMPUTE_ACCEL) !== 0 &&
      (f & (DrmDriverFeature.RENDER | DrmDriverFeature.MODESET)) !== 0
    )
      throw new KernelError(
        "EINVAL",
        `${opts.name}: DRIVER_COMPUTE_ACCEL cannot be combined with DRIVER_RENDER or DRIVER_MODESET (a device that needs both registers two drivers)`,
      );
    const sim = this.sim;
    const hooks = createDrmHooks();
    for (const group of Object.keys(hooks) as (keyof DrmHooks)[])
      for (const [op, hook] of Object.entries(hooks[group]))
        interceptDrmOp(sim, hook as never, opts.name, DRM_HOOK_GROUP_STRUCT[group], op);
    const info: DrmDriverInfo = {
      name: opts.name,
      desc: opts.desc,
      date: opts.date,
      major: opts.major,
      minor: opts.minor,
      patchlevel: opts.patchlevel,
      features: f,
    };
    // The PCI position is part of the device itself (`pdev`): read it before the device exists.
    const pci = [...(opts.providers ?? [])].reverse().find((p) => p.provide === PCI_DEV);
    const device = new DrmDevice(
      sim,
      info,
      hooks,
      drmFops(),
      (pci?.useValue as PciDev | null | undefined) ?? null,
    );
    const container = rootContainer.createChildContainer();
    try {
      const providers = new Map<InjectionToken<unknown>, DrmProvider>();
      for (const p of [
        { provide: SIMULATOR, useValue: sim },
        { provide: DRM_DEVICE, useValue: device },
        { provide: DRM_HOOKS, useValue: hooks },
        { provide: HW_ENGINE_FACTORY, useFactory: () => new HardwareEngineFactory(sim) },
        { provide: DRM_SCHED_FACTORY, useFactory: () => new DrmSchedFactory(device) },
        { provide: PCI_DEV, useValue: null },
        ...(opts.providers ?? []),
      ] as DrmProvider[])
        providers.set(p.provide, p);
      for (const p of providers.values()) this.provide(container, p);
      for (const h of opts.helpers ?? defaultDrmHelpers()) h.apply(hooks, device);
      const driver = constructInjected(cls, container, "driver");
      driver.apply(hooks, device);
      for (const p of opts.plugins ?? []) p.apply(hooks, device);
      hooks.driver.ioctls.call({ add: (def) => device.addIoctl(def) });
      for (const [group, op, kernelName, when] of MANDATORY_OPS) {
        const hook = (hooks[group] as unknown as Record<string, { taps: unknown[] }>)[op]!;
        if (when(hooks) && hook.taps.length === 0)
          throw new KernelError(
            "EINVAL",
            `driver ${opts.name} does not implement the mandatory op ${kernelName} (tap hooks.${group}.${op} in apply())`,
          );
      }
      for (const group of Object.values(hooks)) Object.freeze(group);
      Object.freeze(hooks);
      device.register();
      this.probed.set(device, { driver, container });
      return device;
    } catch (e) {
      device.unplug();
      void container.dispose();
      throw e;
    }
  }

  /**
   * `drm_dev_unplug` + `drm_dev_put`: the device nodes disappear; every file still open is
   * released now (postclose, handles, per-file state), later calls on its fds get `ENODEV`; the
   * driver's `release` op runs and the container is disposed. `ENODEV` for an unknown device.
   */
  remove(device: DrmDevice): void {
    const p = this.entry(device);
    device.unplug();
    for (const f of [...device.files]) device.releaseFile(f);
    device.hooks.driver.release.call();
    this.probed.delete(device);
    void p.container.dispose();
  }

  private provide(container: DependencyContainer, p: DrmProvider): void {
    if ("useValue" in p) {
      container.register(p.provide, { useValue: p.useValue });
      return;
    }
    let made = false;
    let value: unknown;
    const build =
      p.useFactory ??
      (p.useClass ? (c: DependencyContainer) => constructInjected(p.useClass!, c, "provider") : undefined);
    if (build === undefined)
      throw new KernelError(
        "EINVAL",
        `provider for ${String(p.provide)} has no useValue, useFactory or useClass`,
      );
    if (p.useClass) checkExplicitInjection(p.useClass, "provider");
    container.register(p.provide, {
      useFactory: (c) => {
        if (!made) {
          value = build(c);
          made = true;
        }
        return value;
      },
    });
  }

  private entry(device: DrmDevice): Probed {
    const p = this.probed.get(device);
    if (p === undefined) throw new KernelError("ENODEV", `${device} is not a device of this host`);
    return p;
  }
}
