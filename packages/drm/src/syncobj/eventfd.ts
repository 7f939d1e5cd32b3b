/**
 * A simulated `eventfd(2)` (`fs/eventfd.c`): a 64-bit counter behind an fd. The kernel adds to it
 * (`eventfd_signal`) from any context, including fence callbacks; userspace polls the fd for
 * EPOLLIN and reads (and so clears) the counter.
 *
 * drm_syncobj needs it for `DRM_IOCTL_SYNCOBJ_EVENTFD`: a compositor asks to be told, through an
 * fd it already polls in its event loop, when a timeline point signals (or appears), instead of
 * parking a thread in a wait ioctl. It lives here because nothing else in drmsim uses eventfds yet.
 */
import { EPOLLIN, EPOLLOUT, File, KernelError, type Process } from "@drmsim/runtime";

/** `EFD_SEMAPHORE`: each read takes 1 from the counter instead of all of it. */
export const EFD_SEMAPHORE = 1 << 0;

const EVENTFD_KIND = "eventfd";

/** `struct eventfd_ctx`: the counter. It is the private data of the eventfd's file. */
export class EventfdCtx {
  /** `eventfd_ctx.count`. */
  count: number;
  /** The file the counter belongs to (set once the file exists). */
  file!: File<EventfdCtx>;

  constructor(
    initval: number,
    /** `EFD_*` flags. */
    readonly flags: number,
  ) {
    this.count = initval;
  }

  /**
   * `eventfd_signal(ctx)`: adds `n` (default 1) to the counter and wakes pollers. Callable from
   * any context (it never sleeps), which is why fence callbacks may use it.
   */
  signal(n = 1): void {
    this.count += n;
    this.file.notifyPoll();
  }
}

const eventfdFops = {
  kind: EVENTFD_KIND,
  poll(file: File<EventfdCtx>): number {
    return (file.priv.count > 0 ? EPOLLIN : 0) | EPOLLOUT;
  },
};

/**
 * `eventfd(initval, flags)`: creates an eventfd in `proc` and returns its fd. `EINVAL` for flags
 * other than `EFD_SEMAPHORE` or a negative/non-integer initial value.
 */
export function eventfd(proc: Process, initval = 0, flags = 0): number {
  if ((flags & ~EFD_SEMAPHORE) !== 0)
    throw new KernelError("EINVAL", `eventfd: unknown flags 0x${flags.toString(16)}`);
  if (!Number.isSafeInteger(initval) || initval < 0)
    throw new KernelError(
      "EINVAL",
      `eventfd: the initial value must be a non-negative integer, got ${initval}`,
    );
  const ctx = new EventfdCtx(initval, flags);
  const file = new File<EventfdCtx>(proc.sim, eventfdFops, ctx, undefined, "[eventfd]");
  ctx.file = file;
  return proc.installFile(file);
}

/**
 * `read(fd, &value, 8)` on an eventfd, non-blocking: returns the counter and clears it (or takes
 * 1 with `EFD_SEMAPHORE`). `EAGAIN` when the counter is 0 (poll first); `EBADF`/`EINVAL` for an fd
 * that is not open / not an eventfd.
 */
export function eventfdRead(proc: Process, fd: number): number {
  const ctx = proc.file(fd).privOf<EventfdCtx>(EVENTFD_KIND, "eventfd");
  if (ctx.count === 0) throw new KernelError("EAGAIN", `eventfd ${fd}: the counter is 0`);
  const v = (ctx.flags & EFD_SEMAPHORE) !== 0 ? 1 : ctx.count;
  ctx.count -= v;
  ctx.file.notifyPoll();
  return v;
}

/**
 * `eventfd_ctx_fdget(fd)`: the counter behind `fd` in `proc`, with a new reference to its file
 * (drop it with `file.put()`). `EBADF` for an fd that is not open, `EINVAL` for one that is not an
 * eventfd.
 */
export function eventfdCtxFdget(proc: Process, fd: number): EventfdCtx {
  const file = proc.file(fd);
  const ctx = file.privOf<EventfdCtx>(EVENTFD_KIND, "eventfd");
  file.get();
  return ctx;
}
