/**
 * Kernel error numbers and the error type every drmsim API throws.
 *
 * Mirrors `include/uapi/asm-generic/errno-base.h`, `errno.h` and the kernel-internal
 * `include/linux/errno.h` (ERESTARTSYS, ENOTSUPP …). Node reports system errors the same way:
 * `code` is the symbolic name and `errno` the negative number.
 */

/** Errno values by name (positive, as in the kernel headers). */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  ERANGE: 34,
  EDEADLK: 35,
  ENOSYS: 38,
  ENODATA: 61,
  ETIME: 62,
  EOVERFLOW: 75,
  EOPNOTSUPP: 95,
  ENOTSUP: 95,
  ETIMEDOUT: 110,
  EALREADY: 114,
  ECANCELED: 125,
  ENOTRECOVERABLE: 131,
  EHWPOISON: 133,
  ERESTARTSYS: 512,
  ENOTSUPP: 524,
} as const;

/** A kernel errno name such as `'EINVAL'`. */
export type ErrnoName = keyof typeof ERRNO;

/** Largest errno value a pointer-encoded error may carry (`MAX_ERRNO` in `include/linux/err.h`). */
export const MAX_ERRNO = 4095;

const NAMES_BY_NUMBER = new Map<number, ErrnoName>();
for (const [name, value] of Object.entries(ERRNO) as [ErrnoName, number][]) {
  if (!NAMES_BY_NUMBER.has(value)) NAMES_BY_NUMBER.set(value, name);
}

/** The errno name for a (positive or negative) errno number, e.g. `errnoName(-22) === 'EINVAL'`. */
export function errnoName(errno: number): ErrnoName | undefined {
  return NAMES_BY_NUMBER.get(Math.abs(errno));
}

/** `-ERRNO[name]`: the negative value a kernel function returns, e.g. `-errno('EINVAL') === -22`. */
export function errno(name: ErrnoName): number {
  return -ERRNO[name];
}

/**
 * An error a kernel function would have returned as a negative errno (`-EINVAL`, `-ENOENT`, …).
 *
 * `code` is the errno name and `errno` the negative number (Node's convention for system errors).
 * The message says, in a sentence, what was wrong with the call; the operation it came from is in
 * `syscall` when it was an ioctl or other user-facing entry point.
 */
export class KernelError extends Error {
  override readonly name = "KernelError";
  /** The errno name, e.g. `'EINVAL'`: what callers compare. */
  readonly code: ErrnoName;
  /** The negative errno number, e.g. `-22`, as the kernel would return it. */
  readonly errno: number;
  /** The ioctl or other user-facing entry point the error came from, when there was one. */
  readonly syscall: string | undefined;

  constructor(code: ErrnoName, message: string, options?: { syscall?: string; cause?: unknown }) {
    super(`${code}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.errno = -ERRNO[code];
    this.syscall = options?.syscall;
  }

  /** Wraps a negative errno number (as a driver op might return) into a `KernelError`. */
  static fromErrno(err: number, message: string): KernelError {
    const name = errnoName(err);
    if (name === undefined) return new KernelError("EINVAL", `${message} (unknown errno ${err})`);
    return new KernelError(name, message);
  }
}

/** True if `e` is a `KernelError`, optionally with the given code. */
export function isKernelError(e: unknown, code?: ErrnoName): e is KernelError {
  return e instanceof KernelError && (code === undefined || e.code === code);
}
