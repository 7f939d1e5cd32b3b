/**
 * sw_sync (`drivers/dma-buf/sw_sync.c`, `sync_debug.h`): a software timeline userspace drives by
 * hand, for testing explicit synchronisation without a GPU. In the kernel it lives in debugfs and
 * taints the kernel — its fences signal only when userspace says so, which breaks the rule that
 * fences signal in bounded time. Tests use it exactly for that control.
 *
 * Each open of `/sys/kernel/debug/sync/sw_sync` is a new timeline at value 0 on its own fence
 * context. ioctls:
 * - `SW_SYNC_IOC_CREATE_FENCE {value, name}` → `{fence: fd}`: a sync_file for point `value`. A
 *   live point with the same value is shared; a point the timeline already reached is signalled
 *   at once. Points are ordered as 32-bit values (with wrap-around).
 * - `SW_SYNC_IOC_INC (n)`: advances the timeline by `n` (a `__u32`, the argument itself) and
 *   signals every point it reached, in order.
 * - `SW_SYNC_GET_DEADLINE {deadline_ns: 0, pad: 0, fence_fd}` → the earliest deadline set on that
 *   point; `ENOENT` when none was set, `EINVAL` when the fd is not a sw_sync point.
 *
 * Closing the timeline signals its pending points with `-ENOENT`, so nobody waits forever.
 */
import {
  __s32,
  __u32,
  __u64,
  chars,
  File,
  type FileOperations,
  ioctlDef,
  ioctlTable,
  iow,
  iowr,
  KernelError,
  mbz,
  O_CLOEXEC,
  O_RDWR,
  type Process,
  RefCounted,
  registerCharDevice,
  type Simulator,
  type UapiValue,
  uapiStruct,
} from "@drmsim/runtime";
import { DmaFence, DmaFenceFlag, type DmaFenceOps } from "./dma-fence.js";
import { dmaFenceContextAlloc, dmaFenceSeqnoIsLater } from "./fence-context.js";
import { syncFileGetFence, syncFileInstall } from "./sync-file.js";

/** Where the sw_sync device lives (debugfs). */
export const SW_SYNC_PATH = "/sys/kernel/debug/sync/sw_sync";

/** `SW_SYNC_HAS_DEADLINE_BIT`: a deadline was set on the point (a driver-private fence flag). */
export const SW_SYNC_HAS_DEADLINE = DmaFenceFlag.USER_BITS;

const INT_MAX = 0x7fffffff;

const syncPtOps: DmaFenceOps<SyncPt> = {
  getDriverName: () => "sw_sync",
  getTimelineName: (pt) => pt.parent.name,
  // `timeline_fence_signaled`: reached once the timeline's value is not before the point.
  signaled: (pt) => !dmaFenceSeqnoIsLater(pt.seqno, pt.parent.value, false),
  release: (pt) => pt.parent.removePt(pt),
  setDeadline: (pt, deadlineNs) => {
    // Only the earliest deadline matters.
    if ((pt.flags & SW_SYNC_HAS_DEADLINE) === 0 || deadlineNs < pt.deadlineNs) {
      pt.flags |= SW_SYNC_HAS_DEADLINE;
      pt.deadlineNs = deadlineNs;
    }
  },
};

/** `struct sync_pt`: one point of a sw_sync timeline. */
export class SyncPt extends DmaFence {
  /** `sync_pt->deadline`, valid when `SW_SYNC_HAS_DEADLINE` is set. */
  deadlineNs = 0;

  /** @internal Use `timeline.createPt(value)`. */
  constructor(
    /** The timeline; each point holds a reference to it. */
    readonly parent: SyncTimeline,
    value: number,
  ) {
    super(parent.sim, syncPtOps as DmaFenceOps, parent.context, value >>> 0);
  }
}

/** `struct sync_timeline`. Reference counted: the opened file and every point hold one. */
export class SyncTimeline extends RefCounted {
  /** `sync_timeline->context`. */
  readonly context: number;
  /** `sync_timeline->value` (u32). */
  value = 0;
  /** `pt_list`: pending points in seqno order. */
  private readonly pending: SyncPt[] = [];

  /** `sync_timeline_create(name)`. */
  constructor(
    readonly sim: Simulator,
    /** `sync_timeline->name` (the opening task's comm). */
    readonly name: string,
  ) {
    super(sim);
    this.context = dmaFenceContextAlloc(sim);
  }

  describe(): string {
    return `sync_timeline ${this.name} ctx ${this.context} at ${this.value}`;
  }

  /** Pending points, oldest first (for tests and debugfs-style dumps). */
  get pendingPoints(): readonly SyncPt[] {
    return this.pending;
  }

  /**
   * `sync_pt_create(obj, value)`: a new reference to point `value` — the existing live point if
   * there is one, otherwise a new point (signalled at once if the timeline already reached it).
   */
  createPt(value: number): SyncPt {
    const v = value >>> 0;
    const pending = this.pending;
    // Keep pt_list sorted with the kernel's 32-bit comparison; share a live point of equal value.
    let i = pending.length;
    while (i > 0 && dmaFenceSeqnoIsLater(pending[i - 1]!.seqno, v, false)) i--;
    const same = i > 0 ? pending[i - 1]! : undefined;
    if (same !== undefined && same.seqno === v && same.getUnlessZero()) return same;
    const pt = new SyncPt(this.get(), v);
    if (!pt.isSignaled()) pending.splice(i, 0, pt);
    return pt;
  }

  /**
   * `sync_timeline_signal(obj, inc)`: advances the value by `inc` (wrapping at 2^32) and signals
   * every pending point it reached, oldest first.
   */
  signal(inc: number): void {
    this.value = (this.value + inc) >>> 0;
    const pending = this.pending;
    while (pending.length > 0) {
      const pt = pending[0]!;
      if (dmaFenceSeqnoIsLater(pt.seqno, this.value, false)) break;
      pending.shift();
      pt.get();
      pt.signal();
      pt.put();
    }
  }

  /** `sw_sync_debugfs_release`: the timeline's file closed; pending points fail with `-ENOENT`. */
  close(): void {
    const pts = this.pending.splice(0);
    for (const pt of pts) {
      pt.get();
      pt.setError("ENOENT");
      pt.signal();
      pt.put();
    }
  }

  /** @internal `timeline_fence_release`: unlinks the point and drops its timeline reference. */
  removePt(pt: SyncPt): void {
    const i = this.pending.indexOf(pt);
    if (i >= 0) this.pending.splice(i, 1);
    this.put();
  }

  protected release(): void {}
}

/** `struct sw_sync_create_fence_data` (defined in `sw_sync.c`): in `value`, `name`; out `fence`. */
export const sw_sync_create_fence_data = uapiStruct(
  "sw_sync_create_fence_data",
  { value: __u32, name: chars(32), fence: __s32 },
  { size: 40 },
);

/** `struct sw_sync_get_deadline`: in `fence_fd`; out `deadline_ns`. `deadline_ns` and `pad` must be 0 on input. */
export const sw_sync_get_deadline = uapiStruct(
  "sw_sync_get_deadline",
  { deadline_ns: mbz(__u64), pad: mbz(__u32), fence_fd: __s32 },
  { size: 16 },
);

/** `SW_SYNC_IOC_MAGIC`. */
export const SW_SYNC_IOC_MAGIC = "W";
/** `SW_SYNC_IOC_CREATE_FENCE`: `_IOWR('W', 0, struct sw_sync_create_fence_data)`. */
export const SW_SYNC_IOC_CREATE_FENCE = iowr(SW_SYNC_IOC_MAGIC, 0, sw_sync_create_fence_data.size);
/** `SW_SYNC_IOC_INC`: `_IOW('W', 1, __u32)` — the argument is the increment itself. */
export const SW_SYNC_IOC_INC = iow(SW_SYNC_IOC_MAGIC, 1, __u32.size);
/** `SW_SYNC_GET_DEADLINE`: `_IOWR('W', 2, struct sw_sync_get_deadline)`. */
export const SW_SYNC_GET_DEADLINE = iowr(SW_SYNC_IOC_MAGIC, 2, sw_sync_get_deadline.size);

const swSyncFops: FileOperations<SyncTimeline> = {
  kind: "sw_sync",
  ...ioctlTable<SyncTimeline>(
    [
      ioctlDef(
        "SW_SYNC_IOC_CREATE_FENCE",
        SW_SYNC_IOC_CREATE_FENCE,
        sw_sync_create_fence_data,
        (file, args, proc) => swSyncIoctlCreateFence(file.priv, args, proc),
      ),
      ioctlDef("SW_SYNC_IOC_INC", SW_SYNC_IOC_INC, __u32, (file, value) => swSyncIoctlInc(file.priv, value)),
      ioctlDef("SW_SYNC_GET_DEADLINE", SW_SYNC_GET_DEADLINE, sw_sync_get_deadline, (_file, args, proc) =>
        swSyncIoctlGetDeadline(args, proc),
      ),
    ],
    "sw_sync",
  ),
  release: (file) => {
    file.priv.close();
    file.priv.put();
  },
};

/** `sw_sync_ioctl_create_fence`: a sync_file fd for point `value`. */
function swSyncIoctlCreateFence(
  obj: SyncTimeline,
  args: UapiValue<typeof sw_sync_create_fence_data>,
  proc: Process,
): void {
  const pt = obj.createPt(args.value);
  try {
    args.fence = syncFileInstall(proc, pt, O_CLOEXEC);
  } finally {
    pt.put();
  }
}

/** `sw_sync_ioctl_inc`: advances the timeline by `value` and signals what it reached. */
function swSyncIoctlInc(obj: SyncTimeline, value: number): void {
  // The timeline's comparison only sees 31 bits of distance: step at most INT_MAX at a time.
  while (value > INT_MAX) {
    obj.signal(INT_MAX);
    value -= INT_MAX;
  }
  obj.signal(value);
}

/** `sw_sync_ioctl_get_deadline`: the earliest deadline set on a sw_sync point. */
function swSyncIoctlGetDeadline(args: UapiValue<typeof sw_sync_get_deadline>, proc: Process): void {
  const op = "SW_SYNC_GET_DEADLINE";
  const fence = syncFileGetFence(proc, args.fence_fd);
  if (fence === null) throw new KernelError("EINVAL", `${op}: fd ${args.fence_fd} is not a sync_file`);
  try {
    if (!(fence instanceof SyncPt))
      throw new KernelError("EINVAL", `${op}: the fence is not a sw_sync point`);
    if ((fence.flags & SW_SYNC_HAS_DEADLINE) === 0) throw new KernelError("ENOENT", `${op}: no deadline set`);
    args.deadline_ns = BigInt(fence.deadlineNs);
  } finally {
    fence.put();
  }
}

const REGISTERED = {};

/**
 * Registers the sw_sync device at `SW_SYNC_PATH` (once per simulator; later calls do nothing).
 * Then `await proc.open(SW_SYNC_PATH)` creates a timeline named after the process.
 */
export function swSyncRegister(sim: Simulator): void {
  sim.subsystem(REGISTERED, () => {
    registerCharDevice(sim, SW_SYNC_PATH, (proc, flags) => {
      const obj = new SyncTimeline(sim, proc.name);
      return new File(sim, swSyncFops, obj, flags || O_RDWR, `sw_sync:${proc.name}`);
    });
    return true;
  });
}
