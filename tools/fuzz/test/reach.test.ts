import {
  amdgpuCsChunkBoList,
  amdgpuCsChunkDeps,
  amdgpuCsChunkIb,
  amdgpuCsChunkSyncobjIn,
} from "@drmsim/amdgpu/user";
import { coreIoctl, type DrmIoctlDef } from "@drmsim/drm";
import { describe, expect, it } from "vitest";
import {
  buildWorld,
  closeWorld,
  drmFds,
  drmFileOf,
  FUZZ_DRIVERS,
  type FuzzCaller,
  type FuzzWorld,
  namedRefs,
  reachBefore,
  reachViolations,
} from "../src/index.js";

const core = (name: string): DrmIoctlDef => coreIoctl(name)!;
const paths = (refs: { path: readonly (string | number)[]; table: string }[]) =>
  refs.map((r) => `${r.path.join(".")}:${r.table}`);

/** The first process's render file on `driver`'s device, as the oracle sees its caller. */
function callerOn(world: FuzzWorld, driver: string, proc = 0): FuzzCaller {
  const p = world.procs[proc]!;
  const fd = drmFds(p).find((n) => {
    const f = drmFileOf(p, n)!;
    return f.device.driver.name === driver && !f.isPrimaryClient;
  })!;
  const file = drmFileOf(p, fd)!;
  return { proc: p, file, driver: world.drivers.find((d) => d.name === driver) };
}

describe("namedRefs: which members of an argument name objects", () => {
  it("finds GEM handles, syncobj handles and fds by member name", () => {
    expect(
      paths(namedRefs(core("DRM_IOCTL_GEM_CLOSE"), { handle: 1, pad: 0 }, undefined, undefined)),
    ).toEqual(["handle:gem"]);
    expect(
      paths(
        namedRefs(core("DRM_IOCTL_PRIME_HANDLE_TO_FD"), { handle: 1, flags: 0, fd: 3 }, undefined, undefined),
      ),
    ).toEqual(["handle:gem", "fd:fd"]);
    // The handles of a syncobj ioctl are syncobjs, read up to count_handles and no further.
    expect(
      paths(
        namedRefs(
          core("DRM_IOCTL_SYNCOBJ_WAIT"),
          { handles: [1, 2, 9], count_handles: 2, timeout_nsec: 0, flags: 0 },
          undefined,
          undefined,
        ),
      ),
    ).toEqual(["handles.0:syncobj", "handles.1:syncobj"]);
    expect(
      paths(
        namedRefs(core("DRM_IOCTL_SYNCOBJ_TRANSFER"), { src_handle: 1, dst_handle: 2 }, undefined, undefined),
      ),
    ).toEqual(["src_handle:syncobj", "dst_handle:syncobj"]);
  });

  it("skips members that only share a name: DRM_IOCTL_VERSION's name is a string, not a flink name", () => {
    expect(namedRefs(core("DRM_IOCTL_VERSION"), { name: [], name_len: 0 }, undefined, undefined)).toEqual([]);
    expect(paths(namedRefs(core("DRM_IOCTL_GEM_OPEN"), { name: 1 }, undefined, undefined))).toEqual([
      "name:flink",
      // handle is GEM_OPEN's output: checked after the call.
    ]);
  });

  it("GEM_CHANGE_HANDLE to the same number names nothing (7.1 returns 0 before any lookup)", () => {
    const def = core("DRM_IOCTL_GEM_CHANGE_HANDLE");
    expect(namedRefs(def, { handle: 12, new_handle: 12 }, undefined, undefined)).toEqual([]);
    expect(paths(namedRefs(def, { handle: 1, new_handle: 12 }, undefined, undefined))).toEqual([
      "handle:gem",
      "new_handle:gem",
    ]);
  });

  it("walks unions, pointers to pointers and opaque chunk data, and takes the driver's corrections", async () => {
    const world = await buildWorld();
    const c = callerOn(world, "amdgpu");
    const def = c.file.device.driverIoctl("AMDGPU_CS")!;
    const args = {
      in: {
        ctx_id: 1,
        num_chunks: 4,
        chunks: [
          amdgpuCsChunkIb({ ip_type: 0, ring: 0, va_start: 0x100000, ib_bytes: 64 }),
          amdgpuCsChunkBoList([7, 8]),
          amdgpuCsChunkSyncobjIn([2]),
          amdgpuCsChunkDeps([{ ip_type: 0, ip_instance: 0, ring: 0, ctx_id: 1, handle: 99 }]),
        ],
      },
    };
    // An IB names no object (its address is the VM's business); without the driver's corrections
    // every `handle` would be a GEM handle; with them a syncobj chunk's handle is a syncobj and a
    // dependency's is a sequence number (not a reference).
    expect(paths(namedRefs(def, args, c.driver, c.file))).toEqual([
      "in.ctx_id:ctx",
      "in.chunks.1.chunk_data.bo_info_ptr.0.bo_handle:gem",
      "in.chunks.1.chunk_data.bo_info_ptr.1.bo_handle:gem",
      "in.chunks.2.chunk_data.0.handle:syncobj",
      "in.chunks.3.chunk_data.0.ctx_id:ctx",
    ]);
    // An op that reads no context id names none.
    const ctx = c.file.device.driverIoctl("AMDGPU_CTX")!;
    expect(namedRefs(ctx, { in: { op: 1, ctx_id: 5 } }, c.driver, c.file)).toEqual([]);
    expect(paths(namedRefs(ctx, { in: { op: 4, ctx_id: 5 } }, c.driver, c.file))).toEqual(["in.ctx_id:ctx"]);
    expect(await closeWorld(world)).toEqual([]);
  });
});

describe("reachViolations: a successful call named only what its caller reaches", () => {
  it("flags a handle that only another file has, before and after the call, and not the caller's own", async () => {
    const world = await buildWorld({ drivers: FUZZ_DRIVERS.filter((d) => d.name === "vgem") });
    const a = callerOn(world, "vgem", 0);
    const def = core("DRM_IOCTL_GEM_CLOSE");
    // The second process's files have handles 4 and 5; the first's 1 and 2.
    const foreign = { handle: 4, pad: 0 };
    expect(reachViolations(a, reachBefore(a, def, foreign), foreign)).toEqual([
      expect.stringMatching(
        /^handle \(gem\) = 4 named an object that is not in the gem table of the caller's/,
      ),
    ]);
    const own = { handle: 1, pad: 0 };
    expect(reachViolations(a, reachBefore(a, def, own), own)).toEqual([]);
    // 0 names nothing (no handle is 0).
    const none = { handle: 0, pad: 0 };
    expect(reachViolations(a, reachBefore(a, def, none), none)).toEqual([]);
    expect(await closeWorld(world)).toEqual([]);
  });

  it("checks an output after the call: a handle returned into the caller's table passes, another file's does not", async () => {
    const world = await buildWorld({ drivers: FUZZ_DRIVERS.filter((d) => d.name === "vgem") });
    const a = callerOn(world, "vgem", 0);
    const def = core("DRM_IOCTL_PRIME_FD_TO_HANDLE");
    const dmabuf = a.proc.files.list().find((n) => a.proc.files.get(n).fops.kind === "dma_buf")!;
    const args = { fd: dmabuf, flags: 0, handle: 0 };
    const before = reachBefore(a, def, args);
    expect(reachViolations(a, before, { ...args, handle: 2 })).toEqual([]);
    expect(reachViolations(a, before, { ...args, handle: 5 })).toEqual([
      expect.stringMatching(/^handle \(gem\) = 5 was returned, but it is not in the gem table/),
    ]);
    // An fd number the caller does not have open.
    const theirs = 999;
    expect(a.proc.files.lookup(theirs)).toBeUndefined();
    const other = { fd: theirs, flags: 0, handle: 0 };
    expect(reachViolations(a, reachBefore(a, def, other), { ...other, handle: 1 })).toEqual([
      expect.stringMatching(
        new RegExp(`^fd \\(fd\\) = ${theirs} named an object that is not in fuzz-a.*'s fd table`),
      ),
    ]);
    expect(await closeWorld(world)).toEqual([]);
  });

  it("a driver table the fuzzer does not know is a gap it reports, not a pass", async () => {
    const world = await buildWorld({ drivers: FUZZ_DRIVERS.filter((d) => d.name === "asahi") });
    const a = callerOn(world, "asahi", 0);
    const blind: FuzzCaller = { ...a, driver: { ...a.driver!, reach: {} } };
    const def = a.file.device.driverIoctl("ASAHI_VM_DESTROY")!;
    const args = { vm_id: 1 };
    expect(reachViolations(a, reachBefore(a, def, args), args)).toEqual([]);
    expect(reachViolations(blind, reachBefore(blind, def, args), args)).toEqual([
      expect.stringMatching(/^vm_id \(vm\): the fuzzer knows no vm table of/),
    ]);
    expect(await closeWorld(world)).toEqual([]);
  });
});
