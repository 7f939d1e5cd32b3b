/**
 * What a refused ioctl must leave as it found it, seen from outside the driver: the caller's fds,
 * its GEM handles, every reference-counted kernel object alive (fences, buffers, syncobjs,
 * contexts, dma-bufs, jobs: whatever the driver counts with `RefCounted`), and the memory the
 * simulated kernel has allocated. The kernel's rule is that an ioctl returning an error has no
 * side effects the caller can see; these are the side effects a simulation can see. There is no
 * kernel counterpart.
 */
import type { DrmFile } from "@drmsim/drm";
import type { RefCounted } from "@drmsim/runtime";
import type { ConformanceWork } from "./conformance-driver.js";

/** One picture of the state `conformanceState` looks at. */
export interface ConformanceState {
  readonly fds: readonly number[];
  /** The GEM handles of `work.fd` (empty for a file without GEM). */
  readonly handles: readonly number[];
  readonly objects: ReadonlySet<RefCounted>;
  readonly memory: number;
}

/** The state of `work`'s process, file and simulator now. */
export function conformanceState(work: ConformanceWork): ConformanceState {
  const file = work.proc.files.lookup(work.fd)?.priv as DrmFile | undefined;
  return {
    fds: work.proc.files.list(),
    handles: file?.gem?.handles() ?? [],
    objects: new Set(work.sim.liveRefs),
    memory: work.sim.mm.used,
  };
}

const list = (xs: readonly (number | string)[]): string => (xs.length === 0 ? "none" : xs.join(", "));

/** What differs between two pictures, one sentence per difference; empty when nothing changed. */
export function conformanceStateChanges(before: ConformanceState, after: ConformanceState): string[] {
  const out: string[] = [];
  if (list(before.fds) !== list(after.fds)) out.push(`fds ${list(before.fds)} became ${list(after.fds)}`);
  if (list(before.handles) !== list(after.handles))
    out.push(`GEM handles ${list(before.handles)} became ${list(after.handles)}`);
  const added = [...after.objects].filter((o) => !before.objects.has(o)).map((o) => o.describe());
  const gone = [...before.objects].filter((o) => !after.objects.has(o)).map((o) => o.describe());
  if (added.length > 0) out.push(`it left ${added.length} new object(s) alive: ${added.join(", ")}`);
  if (gone.length > 0) out.push(`it released ${gone.length} object(s) it did not own: ${gone.join(", ")}`);
  if (after.memory !== before.memory)
    out.push(`kernel memory in use went from ${before.memory} to ${after.memory} bytes`);
  return out;
}
