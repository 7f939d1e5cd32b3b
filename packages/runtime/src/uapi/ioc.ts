/**
 * ioctl command numbers (`include/uapi/asm-generic/ioctl.h`): a 32-bit request that encodes the
 * direction of the copy, the size of the argument, a type byte ('d' for DRM, 'b' for dma-buf) and
 * the command number, so a kernel can check what userspace compiled against before it copies a
 * byte. `_IOW` means userspace writes (copy in), `_IOR` userspace reads (copy out), `_IOWR` both.
 */

/** `_IOC_NONE`, `_IOC_WRITE`, `_IOC_READ` and their union: the direction bits of a request. */
export const IocDir = {
  /** `_IOC_NONE`: no argument is copied. */
  NONE: 0,
  /** `_IOC_WRITE`: userspace writes the argument (the kernel copies it in, `IOC_IN`). */
  WRITE: 1,
  /** `_IOC_READ`: userspace reads the argument (the kernel copies it out, `IOC_OUT`). */
  READ: 2,
  /** `_IOC_READ | _IOC_WRITE`. */
  READ_WRITE: 3,
} as const;
/** An `IocDir` value. */
export type IocDir = (typeof IocDir)[keyof typeof IocDir];

const NRBITS = 8;
const TYPEBITS = 8;
const SIZEBITS = 14;
const NRSHIFT = 0;
const TYPESHIFT = NRSHIFT + NRBITS;
const SIZESHIFT = TYPESHIFT + TYPEBITS;
const DIRSHIFT = SIZESHIFT + SIZEBITS;

/** `_IOC(dir, type, nr, size)`: the request number, as an unsigned 32-bit value. */
export function ioc(dir: IocDir, type: string | number, nr: number, size: number): number {
  const t = typeof type === "string" ? type.charCodeAt(0) : type;
  if (!(nr >= 0 && nr < 1 << NRBITS && t >= 0 && t < 1 << TYPEBITS && size >= 0 && size < 1 << SIZEBITS))
    throw new RangeError(`_IOC(${dir}, ${t}, ${nr}, ${size}): a field is out of range`);
  return ((dir << DIRSHIFT) | (size << SIZESHIFT) | (t << TYPESHIFT) | (nr << NRSHIFT)) >>> 0;
}

/** `_IO(type, nr)`. */
export function io(type: string | number, nr: number): number {
  return ioc(IocDir.NONE, type, nr, 0);
}

/** `_IOR(type, nr, size)`. */
export function ior(type: string | number, nr: number, size: number): number {
  return ioc(IocDir.READ, type, nr, size);
}

/** `_IOW(type, nr, size)`. */
export function iow(type: string | number, nr: number, size: number): number {
  return ioc(IocDir.WRITE, type, nr, size);
}

/** `_IOWR(type, nr, size)`. */
export function iowr(type: string | number, nr: number, size: number): number {
  return ioc(IocDir.READ_WRITE, type, nr, size);
}

/** `_IOC_DIR(cmd)`. */
export function iocDir(cmd: number): IocDir {
  return ((cmd >>> DIRSHIFT) & 3) as IocDir;
}

/** `_IOC_TYPE(cmd)`. */
export function iocType(cmd: number): number {
  return (cmd >>> TYPESHIFT) & ((1 << TYPEBITS) - 1);
}

/** `_IOC_NR(cmd)`. */
export function iocNr(cmd: number): number {
  return (cmd >>> NRSHIFT) & ((1 << NRBITS) - 1);
}

/** `_IOC_SIZE(cmd)`. */
export function iocSize(cmd: number): number {
  return (cmd >>> SIZESHIFT) & ((1 << SIZEBITS) - 1);
}
