/**
 * A libdrm-style userspace layer (`xf86drm.c`): thin wrappers over `Process.ioctl` so tests read
 * like the userspace code people already write. Every wrapper is one `drmIoctl` — the ioctl,
 * retried on `EINTR` and `EAGAIN` as libdrm does; other errors are the ioctl's `KernelError`
 * (libdrm returns -errno; here it throws, with `code` the errno name).
 */
import { KernelError, listCharDevices, type Process, type Simulator } from "@drmsim/runtime";
import { DrmCap } from "./drm-core-ioctls.js";
import {
  DRM_IOCTL_AUTH_MAGIC,
  DRM_IOCTL_DROP_MASTER,
  DRM_IOCTL_GEM_CLOSE,
  DRM_IOCTL_GET_CAP,
  DRM_IOCTL_GET_MAGIC,
  DRM_IOCTL_MODE_CREATE_DUMB,
  DRM_IOCTL_MODE_DESTROY_DUMB,
  DRM_IOCTL_MODE_MAP_DUMB,
  DRM_IOCTL_PRIME_FD_TO_HANDLE,
  DRM_IOCTL_PRIME_HANDLE_TO_FD,
  DRM_IOCTL_SET_MASTER,
  DRM_IOCTL_VERSION,
  type DrmAuth,
  type DrmGetCap,
  type DrmModeCreateDumb,
  type DrmModeMapDumb,
  type DrmPrimeHandle,
  type DrmVersionArgs,
} from "./drm-uapi.js";

/** `DRM_CLOEXEC` (= `O_CLOEXEC`) for `drmPrimeHandleToFD`. */
export const DRM_CLOEXEC = 0o2000000;
/** `DRM_RDWR` (= `O_RDWR`) for `drmPrimeHandleToFD`. */
export const DRM_RDWR = 0x2;

/**
 * `drmIoctl(fd, request, arg)` (`xf86drm.c`): the ioctl, repeated for as long as it fails with
 * `EINTR` or `EAGAIN` — so a signal handler without `SA_RESTART` never shows through libdrm, and
 * nor does a driver's "try again". Resolves to the argument object with the outputs filled in.
 *
 * libdrm retries at once, spinning on the CPU. In virtual time a spin sees nothing change, so an
 * `EAGAIN` retry waits for the next event of the simulation (whatever could make the retry succeed
 * happens in one): a caller that could only ever spin is left sleeping, and the simulator reports
 * it at quiescence as the livelock it would be.
 */
export async function drmIoctl<A extends object>(
  proc: Process,
  fd: number,
  request: number,
  arg: A,
): Promise<A> {
  for (;;) {
    try {
      await proc.ioctl<A>(fd, request, arg);
      return arg;
    } catch (e) {
      if (!(e instanceof KernelError) || (e.code !== "EINTR" && e.code !== "EAGAIN")) throw e;
      if (e.code === "EAGAIN") await drmIoctlSpin(proc.sim, proc.ioctlName(fd, request));
    }
  }
}

/** One turn of `drmIoctl`'s busy loop after `EAGAIN`: until the next event has run. */
async function drmIoctlSpin(sim: Simulator, request: string): Promise<void> {
  const next = sim.nextEventNs;
  const spin = sim.sleep(
    { kind: "drmIoctl retry", what: `${request} after EAGAIN (nothing pending could make it succeed)` },
    { op: "drmIoctl", deadlineNs: next ?? Number.POSITIVE_INFINITY },
  );
  await spin.promise;
}

/**
 * `drmOpenWithType`-like: opens the first node of driver `name` of the given kind
 * (`primary` → `/dev/dri/cardN`, `render` → `/dev/dri/renderD*`, `accel` → `/dev/accel/accelN`).
 * `ENOENT` when no such device exists.
 */
export async function drmOpenDriver(
  proc: Process,
  name: string,
  kind: "primary" | "render" | "accel" = "render",
): Promise<number> {
  const prefix =
    kind === "primary" ? "/dev/dri/card" : kind === "render" ? "/dev/dri/renderD" : "/dev/accel/accel";
  for (const path of listCharDevices(proc.sim, prefix)) {
    const fd = await proc.open(path);
    try {
      const v = await drmGetVersion(proc, fd);
      if (v.name === name) return fd;
    } catch {
      // not a DRM node we can query: skip it
    }
    proc.close(fd);
  }
  throw new KernelError("ENOENT", `no ${kind} node of a DRM driver named ${name}`);
}

/** `drmOpenRender(minor)`: opens `/dev/dri/renderD<minor>`. */
export function drmOpenRender(proc: Process, minor = 128): Promise<number> {
  return proc.open(`/dev/dri/renderD${minor}`);
}

/** What `drmGetVersion` returns (`drmVersion` in libdrm): the version and the three strings. */
export interface DrmVersionInfo {
  version_major: number;
  version_minor: number;
  version_patchlevel: number;
  name: string;
  date: string;
  desc: string;
}

/**
 * `drmGetVersion(fd)`: VERSION twice, as libdrm does — once with NULL buffers to learn the string
 * lengths, then with buffers of those lengths.
 */
export async function drmGetVersion(proc: Process, fd: number): Promise<DrmVersionInfo> {
  const probe: DrmVersionArgs = {};
  await drmIoctl(proc, fd, DRM_IOCTL_VERSION, probe);
  const name = new Uint8Array(Number(probe.name_len));
  const date = new Uint8Array(Number(probe.date_len));
  const desc = new Uint8Array(Number(probe.desc_len));
  const v: DrmVersionArgs = {
    name,
    name_len: name.length,
    date,
    date_len: date.length,
    desc,
    desc_len: desc.length,
  };
  await drmIoctl(proc, fd, DRM_IOCTL_VERSION, v);
  const text = new TextDecoder();
  return {
    version_major: v.version_major ?? 0,
    version_minor: v.version_minor ?? 0,
    version_patchlevel: v.version_patchlevel ?? 0,
    name: text.decode(name),
    date: text.decode(date),
    desc: text.decode(desc),
  };
}

/** `drmGetCap(fd, capability)`: the value. */
export async function drmGetCap(proc: Process, fd: number, capability: number): Promise<number> {
  const a = await drmIoctl(proc, fd, DRM_IOCTL_GET_CAP, { capability, value: 0 } as DrmGetCap);
  return Number(a.value);
}

/** `drmGetMagic(fd)`. */
export async function drmGetMagic(proc: Process, fd: number): Promise<number> {
  return (await drmIoctl(proc, fd, DRM_IOCTL_GET_MAGIC, { magic: 0 } as DrmAuth)).magic ?? 0;
}

/** `drmAuthMagic(fd, magic)` (from the master's fd). */
export async function drmAuthMagic(proc: Process, fd: number, magic: number): Promise<void> {
  await drmIoctl(proc, fd, DRM_IOCTL_AUTH_MAGIC, { magic });
}

/** `drmSetMaster(fd)`. */
export async function drmSetMaster(proc: Process, fd: number): Promise<void> {
  await drmIoctl(proc, fd, DRM_IOCTL_SET_MASTER, {});
}

/** `drmDropMaster(fd)`. */
export async function drmDropMaster(proc: Process, fd: number): Promise<void> {
  await drmIoctl(proc, fd, DRM_IOCTL_DROP_MASTER, {});
}

/** `drmPrimeHandleToFD(fd, handle, flags)`: the dma-buf fd. */
export async function drmPrimeHandleToFD(
  proc: Process,
  fd: number,
  handle: number,
  flags = 0,
): Promise<number> {
  return (await drmIoctl(proc, fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, { handle, flags, fd: -1 } as DrmPrimeHandle))
    .fd!;
}

/** `drmPrimeFDToHandle(fd, prime_fd)`: the GEM handle in this file. */
export async function drmPrimeFDToHandle(proc: Process, fd: number, primeFd: number): Promise<number> {
  return (
    await drmIoctl(proc, fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, {
      fd: primeFd,
      flags: 0,
      handle: 0,
    } as DrmPrimeHandle)
  ).handle!;
}

/** `drmCloseBufferHandle(fd, handle)` (GEM_CLOSE). */
export async function drmCloseBufferHandle(proc: Process, fd: number, handle: number): Promise<void> {
  await drmIoctl(proc, fd, DRM_IOCTL_GEM_CLOSE, { handle, pad: 0 });
}

/** `drmModeCreateDumbBuffer(fd, width, height, bpp, flags)`: `{ handle, pitch, size }`. */
export async function drmModeCreateDumbBuffer(
  proc: Process,
  fd: number,
  width: number,
  height: number,
  bpp: number,
  flags = 0,
): Promise<{ handle: number; pitch: number; size: number }> {
  const a: DrmModeCreateDumb = { width, height, bpp, flags, handle: 0, pitch: 0, size: 0 };
  await drmIoctl(proc, fd, DRM_IOCTL_MODE_CREATE_DUMB, a);
  return { handle: a.handle!, pitch: a.pitch!, size: Number(a.size) };
}

/** `drmModeMapDumbBuffer(fd, handle)`: the fake mmap offset. */
export async function drmModeMapDumbBuffer(proc: Process, fd: number, handle: number): Promise<number> {
  const a: DrmModeMapDumb = { handle, pad: 0, offset: 0 };
  await drmIoctl(proc, fd, DRM_IOCTL_MODE_MAP_DUMB, a);
  return Number(a.offset);
}

/** `drmModeDestroyDumbBuffer(fd, handle)`. */
export async function drmModeDestroyDumbBuffer(proc: Process, fd: number, handle: number): Promise<void> {
  await drmIoctl(proc, fd, DRM_IOCTL_MODE_DESTROY_DUMB, { handle });
}

export { DrmCap };
