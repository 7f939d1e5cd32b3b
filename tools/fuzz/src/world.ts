/**
 * The fuzzer's world: one simulator with every driver of `FUZZ_DRIVERS` probed, two processes
 * that opened every node of every device (the first one is DRM master of each primary node, the
 * second is an unauthenticated client; an exclusive device — habanalabs — admits only the first:
 * the second gets `EBUSY`), and some state to aim at — GEM objects on every file,
 * syncobjs where the device has them, a dma-buf fd, a sync_file fd, a syncobj fd, an eventfd, a
 * vgem fence in flight, a flink name per master, a magic per unauthenticated primary client, and
 * handles that went stale. The second process's files hold more objects than the first's (see
 * `buildWorld`), so some numbers name objects in one file only.
 *
 * `snapshotState(world)` captures everything a rejected ioctl must not change, as plain data, so
 * two snapshots compare with a deep equality and print as a readable diff.
 */
import "reflect-metadata";
import { DmaFence } from "@drmsim/dma-fence";
import {
  DRM_FILE_KIND,
  DRM_IOCTL_GEM_FLINK,
  DRM_IOCTL_GET_MAGIC,
  DRM_IOCTL_PRIME_HANDLE_TO_FD,
  DRM_IOCTL_SYNCOBJ_CREATE,
  DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD,
  DRM_SYNCOBJ_CREATE_SIGNALED,
  type DrmDevice,
  type DrmFile,
  DrmPluginHost,
  drmSyncobjTable,
  eventfd,
} from "@drmsim/drm";
import { type File, isKernelError, Process, SA_RESTART, SIGALRM, Simulator } from "@drmsim/runtime";
import { VGEM_FENCE_WRITE } from "@drmsim/vgem";
import { vgemFenceAttach } from "@drmsim/vgem/user";
import { FUZZ_DRIVERS, type FuzzDriver } from "./drivers.js";
/** Everything the fuzzer acts on. */
export interface FuzzWorld {
  readonly sim: Simulator;
  readonly host: DrmPluginHost;
  readonly devices: DrmDevice[];
  readonly drivers: readonly FuzzDriver[];
  /** `procs[0]` is master of every primary node; `procs[1]` is an unauthenticated client. */
  readonly procs: Process[];
  /** Handle numbers that were valid once and were closed (stale). */
  readonly staleHandles: number[];
  /** Fd numbers that were open once and were closed. */
  readonly closedFds: number[];
  /** Nodes the second process could not open because the device was busy (an exclusive accel device). */
  readonly exclusive: string[];
  /**
   * `SIGALRM` deliveries per process. Both processes catch it: `procs[0]` without `SA_RESTART`
   * (an interrupted wait fails with `EINTR`), `procs[1]` with it (the wait restarts).
   */
  readonly alarms: number[];
  /** Stable ids for objects in snapshots. */
  readonly ids: WeakMap<object, number>;
  /** What each driver's `setup` made in each DRM file (the ids its templates use). */
  readonly setupIds: WeakMap<DrmFile, Record<string, number>>;
  nextId: number;
}

/** Options of `buildWorld`. */
export interface WorldOptions {
  seed?: number;
  drivers?: readonly FuzzDriver[];
}

/** The DRM file behind `fd` in `proc`, or undefined if `fd` is not an open DRM node. */
export function drmFileOf(proc: Process, fd: number): DrmFile | undefined {
  const f = proc.files.lookup(fd);
  return f !== undefined && f.fops.kind === DRM_FILE_KIND ? (f.priv as DrmFile) : undefined;
}

/** The fds of `proc` that are DRM nodes, ascending. */
export function drmFds(proc: Process): number[] {
  return proc.files.list().filter((fd) => drmFileOf(proc, fd) !== undefined);
}

/** Builds a world (collect-mode validator: the fuzzer reads findings instead of throwing). */
export async function buildWorld(opts: WorldOptions = {}): Promise<FuzzWorld> {
  const sim = new Simulator({ seed: opts.seed ?? 1, validator: "collect" });
  const host = new DrmPluginHost(sim);
  const drivers = opts.drivers ?? FUZZ_DRIVERS;
  const devices = drivers.map((d) => d.probe(host));
  const procs = [new Process(sim, "fuzz-a"), new Process(sim, "fuzz-b")];
  const world: FuzzWorld = {
    sim,
    host,
    devices,
    drivers,
    procs,
    staleHandles: [],
    closedFds: [],
    exclusive: [],
    alarms: [0, 0],
    ids: new WeakMap(),
    setupIds: new WeakMap(),
    nextId: 1,
  };
  procs.forEach((proc, i) => {
    proc.sigaction(SIGALRM, { handler: () => world.alarms[i]!++, flags: i === 0 ? 0 : SA_RESTART });
  });
  await sim.exec("fuzz-setup", async () => {
    for (const proc of procs)
      for (const dev of devices)
        for (const m of dev.minors)
          try {
            await proc.open(m.path);
          } catch (e) {
            // hl_device_open: one user at a time.
            if (!isKernelError(e, "EBUSY")) throw e;
            world.exclusive.push(m.path);
          }
    for (const [p, proc] of procs.entries()) {
      // The second process has more of everything than the first: handles 4 and 5, syncobjs 3
      // and 4, a second set of driver objects — numbers that name something in its files and
      // nothing in the first process's, for lookups that wrongly search other files to find.
      const more = p === 1;
      for (const fd of drmFds(proc)) {
        const file = drmFileOf(proc, fd)!;
        const dev = file.device;
        // Two GEM objects per file, and one more that is closed again (its handle goes stale) —
        // on devices that create GEM objects at all (an accel driver may have its own memory uAPI).
        if (dev.hooks.driver.gemCreateObject.taps.length > 0) {
          for (const size of more ? [4096, 3 * 4096, 4096, 4096, 2 * 4096] : [4096, 3 * 4096, 4096]) {
            const obj = dev.gemCreateObject(size);
            try {
              file.gem.handleCreate(obj);
            } finally {
              obj.put();
            }
          }
          file.gem.handleDelete(3);
          world.staleHandles.push(3);
        }
        if (file.device.checkFeature(0x20 /* DRIVER_SYNCOBJ */)) {
          await proc.ioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, { flags: DRM_SYNCOBJ_CREATE_SIGNALED });
          await proc.ioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, { flags: 0 });
          if (more) {
            await proc.ioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, { flags: DRM_SYNCOBJ_CREATE_SIGNALED });
            await proc.ioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, { flags: 0 });
          }
        }
        // The driver's own objects for its templates, where this client may make them (an
        // unauthenticated primary-node client gets EACCES: its templates then name nothing).
        const setup = drivers[devices.indexOf(dev)]?.setup;
        if (setup !== undefined)
          try {
            world.setupIds.set(file, await setup(proc, fd));
            if (more) await setup(proc, fd);
          } catch (e) {
            if (!isKernelError(e, "EACCES")) throw e;
          }
        // A magic waiting for the master to authenticate it (AUTH_MAGIC).
        if (file.isPrimaryClient && !file.authenticated) await proc.ioctl(fd, DRM_IOCTL_GET_MAGIC, {});
      }
      // One dma-buf, one syncobj fd, one sync_file per process; a vgem fence in flight.
      const fds = drmFds(proc);
      const gpu = fds.find((fd) => drmFileOf(proc, fd)!.isRenderClient);
      if (gpu !== undefined) {
        await proc.ioctl(gpu, DRM_IOCTL_PRIME_HANDLE_TO_FD, { handle: 1, flags: 0 });
        if (drmFileOf(proc, gpu)!.device.driverIoctl("VGEM_FENCE_ATTACH") !== undefined)
          await vgemFenceAttach(proc, gpu, 2, VGEM_FENCE_WRITE);
      }
      const sync = fds.find((fd) => drmFileOf(proc, fd)!.device.checkFeature(0x20));
      if (sync !== undefined) {
        await proc.ioctl(sync, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, { handle: 1, flags: 0 });
        await proc.ioctl(sync, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, { handle: 1, flags: 1 });
      }
      // A flink name on each primary node the process is master of (GEM_OPEN opens it).
      for (const fd of fds.filter((n) => drmFileOf(proc, n)!.isMaster))
        await proc.ioctl(fd, DRM_IOCTL_GEM_FLINK, { handle: 1 });
      // An eventfd (SYNCOBJ_EVENTFD signals it).
      eventfd(proc);
      // An fd number that was open and is closed now.
      const extra = proc.dup(fds[0]!);
      proc.close(extra);
      world.closedFds.push(extra);
    }
  });
  return world;
}

/**
 * Ends the world the way userspace does — every process exits, every device is unplugged — then
 * runs the simulator until nothing is left to do and tears it down. Returns the findings
 * (leaks, unsignalled fences, held locks, deadlocks); empty for a clean run.
 */
export async function closeWorld(world: FuzzWorld): Promise<string[]> {
  for (const p of world.procs) p.exit();
  for (const d of world.devices) world.host.remove(d);
  await world.sim.runUntilIdle();
  return world.sim.teardown().findings.map((f) => `${f.kind}: ${f.title}`);
}

/** What `snapshotState` captures: plain data, deep-equal when nothing observable changed. */
export interface WorldSnapshot {
  /** Per process: `[fd, object id, file kind]`. */
  fds: [pid: number, fds: [number, number, string][]][];
  devices: {
    name: string;
    master: number | null;
    names: number;
    files: {
      id: number;
      node: string;
      authenticated: boolean;
      /** `[handle, object id, object refcount, handle count, resv fences]`. */
      gem: [number, number, number, number, number][];
      /** `[handle, syncobj id]`. */
      syncobjs: [number, number][];
      prime: number;
    }[];
  }[];
  /** Live reference-counted objects by type, fences excluded (they signal on their own). */
  live: Record<string, number>;
  /** Bytes accounted by the memory manager. */
  memUsed: number;
}

function idOf(world: FuzzWorld, o: object): number {
  let id = world.ids.get(o);
  if (id === undefined) {
    id = world.nextId++;
    world.ids.set(o, id);
  }
  return id;
}

/**
 * `snapshotState(world)`: per-file GEM handle tables (object identity, refcount, handle count,
 * resv fence count), per-file syncobj tables, PRIME caches, every process's fd table, each
 * device's master, flink names and open files, live object counts by type and memory used.
 */
export function snapshotState(world: FuzzWorld): WorldSnapshot {
  const fds: WorldSnapshot["fds"] = world.procs.map((p) => [
    p.pid,
    p.files.list().map((fd): [number, number, string] => {
      const f: File = p.files.get(fd);
      return [fd, idOf(world, f), f.fops.kind];
    }),
  ]);
  const devices = world.devices.map((dev) => ({
    name: dev.driver.name,
    master: dev.master === null ? null : idOf(world, dev.master),
    names: dev.names.count,
    files: [...dev.files].map((file) => {
      const gem: [number, number, number, number, number][] = [];
      for (const h of file.gem.handles()) {
        const obj = file.gem.peek(h)!;
        gem.push([h, idOf(world, obj), obj.refcount, obj.handleCount, obj.resv.numFences]);
      }
      const syncobjs: [number, number][] = [];
      if (dev.checkFeature(0x20)) {
        const table = drmSyncobjTable(file);
        for (const h of table.list()) {
          const s = table.find(h)!;
          syncobjs.push([h, idOf(world, s)]);
          s.put();
        }
      }
      return {
        id: idOf(world, file),
        node: file.minor.path,
        authenticated: file.authenticated,
        gem,
        syncobjs,
        prime: file.gem.prime.size,
      };
    }),
  }));
  const live: Record<string, number> = {};
  for (const o of world.sim.liveRefs) {
    if (o instanceof DmaFence) continue;
    const type = o.describe().split(" ")[0] ?? "?";
    live[type] = (live[type] ?? 0) + 1;
  }
  return { fds, devices, live, memUsed: world.sim.mm.used };
}

/**
 * The snapshot without what moves by itself while virtual time passes: reference counts and resv
 * fence counts (jobs in flight hold and drop references), live object counts and memory used
 * (completed work is freed). What remains is what a call could change: handle, syncobj, PRIME and
 * fd tables, object identities, handle counts, masters and names.
 */
export function withoutTimeDependent(s: WorldSnapshot): WorldSnapshot {
  return {
    fds: s.fds,
    devices: s.devices.map((d) => ({
      ...d,
      files: d.files.map((f) => ({ ...f, gem: f.gem.map(([h, id, , handles]) => [h, id, 0, handles, 0]) })),
    })),
    live: {},
    memUsed: 0,
  };
}

/** A readable list of differences between two snapshots (empty when equal). */
export function diffSnapshots(a: WorldSnapshot, b: WorldSnapshot): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string): void => {
    if (Object.is(x, y)) return;
    if (typeof x !== "object" || typeof y !== "object" || x === null || y === null) {
      out.push(`${path}: ${JSON.stringify(x)} → ${JSON.stringify(y)}`);
      return;
    }
    const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
    for (const k of keys)
      walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], `${path}.${k}`);
  };
  walk(a, b, "state");
  return out;
}
