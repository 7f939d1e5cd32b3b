/** Poll event bits (`include/uapi/linux/eventpoll.h`). */

/** `EPOLLIN`: readable (a sync_file's fence signalled; a dma-buf's writers are done). */
export const EPOLLIN = 0x001;
/** `EPOLLPRI`. */
export const EPOLLPRI = 0x002;
/** `EPOLLOUT`: writable (a dma-buf's readers and writers are done). */
export const EPOLLOUT = 0x004;
/** `EPOLLERR`. */
export const EPOLLERR = 0x008;
/** `EPOLLHUP`. */
export const EPOLLHUP = 0x010;
/** `EPOLLNVAL`: the fd is not open (poll's answer for a bad fd). */
export const EPOLLNVAL = 0x020;

/** One entry of `poll(2)`'s `struct pollfd`. */
export interface PollFd {
  fd: number;
  events: number;
  /** Filled in by `poll`. */
  revents?: number;
}
