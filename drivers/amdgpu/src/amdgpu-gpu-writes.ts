/**
 * The write model: how what a job stores reaches memory. The hardware model says which bytes an
 * IB stores at which GPU addresses; when the job reaches the hardware those addresses are
 * resolved through the submitter's VM to BO ranges (an address with no writable mapping is a GPU
 * VM fault: recorded for `AMDGPU_INFO_GPUVM_FAULT`, the store dropped), and the bytes land in the
 * BOs' backing stores when the job completes without error — never for a job that hangs, fails
 * or is cancelled. A user fence (`AMDGPU_CHUNK_ID_FENCE`) is one more such store.
 *
 * Kept in one place on purpose: the buffer-contents work (where an import's bytes really live)
 * changes only this module. Stores, fills and copies (WRITE_DATA, DMA_DATA, SDMA WRITE, COPY,
 * CONST_FILL, FENCE) all come here.
 */
import type { AmdgpuHwWrite } from "./amdgpu-hw-model.js";
import type { AmdgpuBo } from "./amdgpu-object.js";
import type { AmdgpuVm } from "./amdgpu-vm.js";

/** A range of a BO the GPU reaches through the VM. */
export interface AmdgpuGpuRange {
  readonly bo: AmdgpuBo;
  readonly offset: number;
  readonly length: number;
}

/**
 * A memory operation resolved to BO ranges; holds a reference to each BO until it lands or is
 * dropped. A store carries its bytes; a copy reads its source ranges when it lands (after the
 * job's earlier operations), so it sees what they wrote.
 */
export type AmdgpuGpuWrite =
  | { readonly kind: "store"; readonly bo: AmdgpuBo; readonly offset: number; readonly data: Uint8Array }
  | {
      readonly kind: "copy";
      readonly src: readonly AmdgpuGpuRange[];
      readonly dst: readonly AmdgpuGpuRange[];
    };

/** The ranges behind `[va, va + length)`, or null after recording the VM fault (nothing taken). */
function ranges(vm: AmdgpuVm, va: number, length: number, write: boolean): AmdgpuGpuRange[] | null {
  const spans = vm.resolve(va, length, write);
  if ("faultAt" in spans) {
    vm.recordFault(spans.faultAt, write);
    return null;
  }
  return spans.map((s) => ({ bo: s.bo, offset: s.offset, length: s.length }));
}

function patternBytes(dword: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (dword >>> (8 * (i & 3))) & 0xff;
  return out;
}

/**
 * Resolves `writes` through `vm` (called at `run_job`, in the signalling section: no allocation
 * that could reclaim). An operation touching an address without a (writable, for the
 * destination) mapping is a GPU VM fault: recorded, and the operation dropped, as the page
 * tables route it to the dummy page. Each resolved range takes a BO reference.
 */
export function amdgpuGpuWritesResolve(vm: AmdgpuVm, writes: readonly AmdgpuHwWrite[]): AmdgpuGpuWrite[] {
  const out: AmdgpuGpuWrite[] = [];
  for (const w of writes) {
    if ("src" in w) {
      const src = ranges(vm, w.src, w.size, false);
      const dst = src === null ? null : ranges(vm, w.va, w.size, true);
      if (src === null || dst === null) continue;
      for (const r of [...src, ...dst]) r.bo.get();
      out.push({ kind: "copy", src, dst });
      continue;
    }
    const length = "data" in w ? w.data.length : w.size;
    const dst = ranges(vm, w.va, length, true);
    if (dst === null) continue;
    const data = "data" in w ? w.data : patternBytes(w.fill, w.size);
    let from = 0;
    for (const r of dst) {
      r.bo.get();
      out.push({ kind: "store", bo: r.bo, offset: r.offset, data: data.subarray(from, from + r.length) });
      from += r.length;
    }
  }
  return out;
}

/** A store of `data` at `offset` of `bo` that bypasses the VM (the ring's user-fence write); takes a reference. */
export function amdgpuGpuWriteDirect(bo: AmdgpuBo, offset: number, data: Uint8Array): AmdgpuGpuWrite {
  bo.get();
  return { kind: "store", bo, offset, data };
}

/** The job completed without error: the operations land, in order (irq context). */
export function amdgpuGpuWritesLand(writes: readonly AmdgpuGpuWrite[]): void {
  for (const w of writes) {
    if (w.kind === "store") {
      w.bo.store.write(w.offset, w.data);
      continue;
    }
    const parts = w.src.map((r) => r.bo.store.read(r.offset, r.length));
    const bytes = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of parts) {
      bytes.set(b, at);
      at += b.length;
    }
    at = 0;
    for (const r of w.dst) {
      r.bo.store.write(r.offset, bytes.subarray(at, at + r.length));
      at += r.length;
    }
  }
}

/** Drops the BO references of `writes` (the job is freed). */
export function amdgpuGpuWritesRelease(writes: readonly AmdgpuGpuWrite[]): void {
  for (const w of writes) {
    if (w.kind === "store") w.bo.put();
    else for (const r of [...w.src, ...w.dst]) r.bo.put();
  }
}
