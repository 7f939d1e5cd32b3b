/**
 * The memory and reclaim model: `kmalloc` accounted against a budget, GFP flags that decide
 * whether an allocation may enter reclaim, shrinkers that run inside reclaim, and fault injection.
 *
 * What matters for drivers is the lockdep side (`might_alloc()`, `fs_reclaim_acquire()` in
 * `mm/page_alloc.c`): an allocation that may reclaim takes `fs_reclaim`, and shrinkers — which
 * wait on dma-fences to evict buffers — run inside it. So a `GFP_KERNEL` allocation on a fence's
 * signalling path is a deadlock waiting for memory pressure, and the validator says so on the
 * first such allocation, with or without pressure.
 */
import type { ExecutionContext } from "./context.js";
import { frameList } from "./context.js";
import { KernelError } from "./errno.js";
import type { Validator } from "./lockdep/validator.js";

/** `__GFP_DIRECT_RECLAIM`: may sleep and reclaim. */
export const __GFP_DIRECT_RECLAIM = 0x1;
/** `__GFP_KSWAPD_RECLAIM`: may wake kswapd. */
export const __GFP_KSWAPD_RECLAIM = 0x2;
/** `__GFP_IO`: reclaim may start I/O. */
export const __GFP_IO = 0x4;
/** `__GFP_FS`: reclaim may call into filesystems (and so shrinkers that take fs locks). */
export const __GFP_FS = 0x8;
/** `__GFP_HIGH`: may use emergency reserves. */
export const __GFP_HIGH = 0x10;
/** `__GFP_NOWARN`: failure is expected; no warning. */
export const __GFP_NOWARN = 0x20;
/** `__GFP_NOLOCKDEP`: skip the reclaim annotation. */
export const __GFP_NOLOCKDEP = 0x40;
/** `__GFP_RETRY_MAYFAIL`. */
export const __GFP_RETRY_MAYFAIL = 0x80;
/** `__GFP_ZERO`. */
export const __GFP_ZERO = 0x100;

/** `GFP_KERNEL`: may sleep, reclaim, do I/O and filesystem calls. */
export const GFP_KERNEL = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM | __GFP_IO | __GFP_FS;
/** `GFP_NOFS`: may reclaim but not recurse into filesystems. */
export const GFP_NOFS = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM | __GFP_IO;
/** `GFP_NOIO`: may reclaim but start no I/O. */
export const GFP_NOIO = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
/** `GFP_NOWAIT`: never sleeps; may fail. */
export const GFP_NOWAIT = __GFP_KSWAPD_RECLAIM | __GFP_NOWARN;
/** `GFP_ATOMIC`: never sleeps; may use reserves; may fail. */
export const GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;

/** A GFP mask. */
export type Gfp = number;

/** A readable name for a GFP mask, for reports: `GFP_KERNEL`, `GFP_NOWAIT`, or the bits. */
export function gfpName(gfp: Gfp): string {
  const base = gfp & ~(__GFP_ZERO | __GFP_NOWARN | __GFP_RETRY_MAYFAIL | __GFP_NOLOCKDEP);
  const named: [number, string][] = [
    [GFP_KERNEL, "GFP_KERNEL"],
    [GFP_NOFS, "GFP_NOFS"],
    [GFP_NOIO, "GFP_NOIO"],
    [GFP_ATOMIC, "GFP_ATOMIC"],
    [__GFP_KSWAPD_RECLAIM, "GFP_NOWAIT"],
  ];
  for (const [v, n] of named) if (base === v) return n;
  return `gfp 0x${gfp.toString(16)}`;
}

/** `gfpflags_allow_blocking()`. */
export function gfpAllowsBlocking(gfp: Gfp): boolean {
  return (gfp & __GFP_DIRECT_RECLAIM) !== 0;
}

/** What `scan` and `count` are asked (`struct shrink_control`); sizes are in bytes. */
export interface ShrinkControl {
  readonly gfp: Gfp;
  /** How much the allocator would like freed. */
  readonly nrToScan: number;
}

/**
 * `struct shrinker`: a cache that can give memory back under pressure. `scan` runs inside
 * `fs_reclaim` in the allocating context; waiting on a fence there is allowed (it is the reason
 * allocating inside a signalling section is not).
 */
export interface Shrinker {
  readonly name: string;
  /** `count_objects`: how many bytes could be freed now. */
  count(sc: ShrinkControl): number;
  /** `scan_objects`: frees up to `sc.nrToScan` bytes; returns the bytes freed. */
  scan(sc: ShrinkControl): number;
}

/** One accounted allocation. */
export class Allocation {
  freed = false;
  constructor(
    private readonly mm: MemoryManager,
    readonly size: number,
    /** The call site label the allocation was made from. */
    readonly site: string,
  ) {}

  /** `kfree()`. */
  free(): void {
    this.mm.kfree(this);
  }
}

/** What the memory manager needs from the simulator. */
export interface MemoryHost {
  readonly validator: Validator;
  readonly current: ExecutionContext;
}

/** A fault-injection rule: the allocation fails when it returns true. */
export type FailPredicate = (info: { size: number; gfp: Gfp; site: string; nth: number }) => boolean;

/** `memalloc_nofs_save()` scope bit: clears `__GFP_FS` from allocations in the scope. */
export const PF_MEMALLOC_NOFS = __GFP_FS;
/** `memalloc_noio_save()` scope bit: clears `__GFP_IO | __GFP_FS`. */
export const PF_MEMALLOC_NOIO = __GFP_IO | __GFP_FS;

/**
 * The page allocator and reclaim, reduced to what drivers observe: `kmalloc`/`kfree` against a
 * budget (`mm/slub.c`, `mm/page_alloc.c`), `might_alloc()`, direct reclaim running the
 * registered shrinkers (`mm/shrinker.c`), `memalloc_*_save` scopes and fault injection
 * (`should_failslab`). One per simulator (`sim.mm`).
 */
export class MemoryManager {
  /** Bytes currently allocated. */
  used = 0;
  /** Highest `used` seen. */
  peak = 0;
  /** Allocations attempted (the `nth` of fault injection counts these, from 1). */
  attempts = 0;
  /** Allocation sites seen, with how many attempts each: for allocation-failure sweeps. */
  readonly sites = new Map<string, number>();
  private readonly shrinkers: Shrinker[] = [];
  private failRules: FailPredicate[] = [];

  constructor(
    private readonly host: MemoryHost,
    /** The budget in bytes. Allocations beyond it enter reclaim (or fail). */
    public budget: number,
  ) {}

  /**
   * `kmalloc(size, gfp)`. Records the reclaim dependency (`might_alloc`), applies fault
   * injection, and if the budget is exceeded runs shrinkers (blocking GFP only) before failing
   * with `ENOMEM`. `site` names the call site for reports and fault injection.
   */
  kmalloc(size: number, gfp: Gfp, site = "kmalloc"): Allocation {
    if (!Number.isInteger(size) || size < 0)
      throw new KernelError("EINVAL", `${site}: size must be a non-negative integer, got ${size}`);
    const eff = this.effectiveGfp(gfp);
    this.mightAlloc(eff, site);
    const nth = ++this.attempts;
    this.sites.set(site, (this.sites.get(site) ?? 0) + 1);
    for (const rule of this.failRules) {
      if (rule({ size, gfp: eff, site, nth }))
        throw new KernelError("ENOMEM", `${site}: allocation of ${size} bytes failed (injected fault)`);
    }
    if (this.used + size > this.budget) {
      // A context already in reclaim (PF_MEMALLOC) does not recurse into it: it fails instead.
      if (gfpAllowsBlocking(eff) && !this.host.current.pfMemalloc)
        this.directReclaim(this.used + size - this.budget, eff);
      if (this.used + size > this.budget)
        throw new KernelError(
          "ENOMEM",
          `${site}: out of memory allocating ${size} bytes with ${gfpName(eff)} (${this.used}/${this.budget} bytes used)`,
        );
    }
    this.used += size;
    if (this.used > this.peak) this.peak = this.used;
    return new Allocation(this, size, site);
  }

  /** `kfree()`. Freeing twice is reported as `double-free` and changes nothing. */
  kfree(a: Allocation): void {
    if (a.freed) {
      const ctx = this.host.current;
      this.host.validator.report({
        kind: "double-free",
        title: `kfree of an allocation from ${a.site} (${a.size} bytes) that was already freed`,
        context: ctx.label,
        backtrace: frameList(ctx.frame),
      });
      return;
    }
    a.freed = true;
    this.used -= a.size;
  }

  /**
   * `might_alloc(gfp)`: the validator's view of an allocation without allocating. A blocking
   * mask may sleep; with `__GFP_FS` it takes `fs_reclaim`; any direct reclaim passes through the
   * mmu-notifier map.
   */
  mightAlloc(gfp: Gfp, op = "kmalloc"): void {
    const v = this.host.validator;
    if (!v.enabled || !gfpAllowsBlocking(gfp)) return;
    const label = `${op}(${gfpName(gfp)})`;
    v.mightSleep(label);
    if (!this.needReclaim(gfp)) return;
    if ((gfp & __GFP_FS) !== 0) v.acquireRelease(v.fsReclaim, label);
    v.acquireRelease(v.mmuNotifier, label);
  }

  /**
   * `fs_reclaim_acquire(gfp)`: enters the reclaim annotation as the page allocator does before
   * direct reclaim — masked by the context's `memalloc_*` scope (`current_gfp_context()`),
   * nothing unless the mask may reclaim (`__need_reclaim()`), `fs_reclaim` only with `__GFP_FS`,
   * and a pass through the mmu-notifier map either way.
   */
  fsReclaimAcquire(gfp: Gfp, op = "fs_reclaim_acquire"): void {
    const v = this.host.validator;
    const eff = this.effectiveGfp(gfp);
    if (!v.enabled || !this.needReclaim(eff)) return;
    if ((eff & __GFP_FS) !== 0) v.acquire(v.fsReclaim, v.fsReclaim, `${op}(${gfpName(eff)})`);
    v.acquireRelease(v.mmuNotifier, `${op}(${gfpName(eff)})`);
  }

  /** `fs_reclaim_release(gfp)`: the matching release (same mask rules as `fsReclaimAcquire`). */
  fsReclaimRelease(gfp: Gfp, op = "fs_reclaim_release"): void {
    const v = this.host.validator;
    const eff = this.effectiveGfp(gfp);
    if (!v.enabled || !this.needReclaim(eff)) return;
    if ((eff & __GFP_FS) !== 0) v.release(v.fsReclaim, v.fsReclaim, op);
  }

  /** `__need_reclaim()`: a blocking mask, outside reclaim, without `__GFP_NOLOCKDEP`. */
  private needReclaim(gfp: Gfp): boolean {
    return gfpAllowsBlocking(gfp) && (gfp & __GFP_NOLOCKDEP) === 0 && !this.host.current.pfMemalloc;
  }

  /** `register_shrinker()`. Returns the unregister function. */
  registerShrinker(s: Shrinker): () => void {
    this.shrinkers.push(s);
    return () => {
      const i = this.shrinkers.indexOf(s);
      if (i >= 0) this.shrinkers.splice(i, 1);
    };
  }

  /**
   * Direct reclaim: runs shrinkers inside `fs_reclaim` until `bytes` are freed. Returns the bytes
   * freed. Tests call it to apply memory pressure on demand.
   */
  reclaim(bytes: number, gfp: Gfp = GFP_KERNEL): number {
    return this.directReclaim(bytes, this.effectiveGfp(gfp));
  }

  /** `memalloc_nofs_save()` / `memalloc_noio_save()`: returns the previous scope for `memallocRestore`. */
  memallocSave(flags: number): number {
    const ctx = this.host.current;
    const prev = ctx.memallocMask;
    ctx.memallocMask |= flags;
    return prev;
  }

  /** `memalloc_nofs_restore()` / `memalloc_noio_restore()`. */
  memallocRestore(prev: number): void {
    this.host.current.memallocMask = prev;
  }

  /** Fails the `n`-th allocation attempt from now (1 = the next one), optionally only those matching `filter`. */
  failNth(n: number, filter?: (info: { site: string; size: number; gfp: Gfp }) => boolean): void {
    let seen = 0;
    let fired = false;
    this.failRules.push((info) => {
      if (fired || (filter !== undefined && !filter(info))) return false;
      if (++seen === n) {
        fired = true;
        return true;
      }
      return false;
    });
  }

  /** Fails every allocation matching `pred` until `clearFaults()`. */
  failWhen(pred: FailPredicate): void {
    this.failRules.push(pred);
  }

  /** Removes every fault-injection rule. */
  clearFaults(): void {
    this.failRules = [];
  }

  private effectiveGfp(gfp: Gfp): Gfp {
    return gfp & ~this.host.current.memallocMask;
  }

  /**
   * `__perform_reclaim()`: shrinkers run inside `fs_reclaim_acquire(gfp)` with `PF_MEMALLOC` set
   * (`memalloc_noreclaim_save()`), so their own allocations neither recurse into reclaim nor
   * re-take the annotation.
   */
  private directReclaim(bytes: number, gfp: Gfp): number {
    const ctx = this.host.current;
    if (ctx.pfMemalloc) return 0;
    this.fsReclaimAcquire(gfp, "direct reclaim");
    ctx.pfMemalloc = true;
    let freed = 0;
    try {
      for (const s of this.shrinkers) {
        if (freed >= bytes) break;
        const avail = s.count({ gfp, nrToScan: bytes - freed });
        if (avail <= 0) continue;
        freed += s.scan({ gfp, nrToScan: Math.min(avail, bytes - freed) });
      }
    } finally {
      ctx.pfMemalloc = false;
      this.fsReclaimRelease(gfp, "direct reclaim done");
    }
    return freed;
  }
}
