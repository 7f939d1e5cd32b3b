/**
 * The `ioctls` check (each listed ioctl valid, then corrupted), its coverage rule, the corruptions
 * derived from a layout, and the checks for drivers whose buffers are device memory.
 */
import { drmModeCreateDumbBuffer, drmPrimeHandleToFD } from "@drmsim/drm";
import { __u32, __u64, flagsMask, mbz, uapiStruct, uapiUnion } from "@drmsim/runtime";
import { driver as vgemDriver } from "@drmsim/vgem";
import { describe, expect, it } from "vitest";
import {
  type ConformanceDriver,
  conformanceChecksFor,
  defineConformanceDriver,
  formatConformanceReport,
  layoutCorruptions,
  runConformanceCheck,
  runConformanceIoctl,
  runDriverConformance,
} from "../src/index.js";
import { describeDriverConformance } from "../src/vitest.js";
import {
  DRM_IOCTL_TOY_SUBMIT,
  type DrmToySubmit,
  toyConformanceDriver,
  toyIoctlsDriver,
} from "./fixtures/broken-driver/index.js";

// vgem's own descriptor (`@drmsim/vgem`), both ioctls listed, as `drmsim validate drivers/vgem` runs it.
describeDriverConformance(vgemDriver as ConformanceDriver);

describe("the ioctls check", () => {
  it("the toy's SUBMIT: the valid call, the pad derived from the layout and the listed unknown handle, each refused", async () => {
    const v = await runConformanceIoctl(toyIoctlsDriver(), "TOY_SUBMIT");
    expect(v.problems).toEqual([]);
    expect(v.refused).toEqual(["EINVAL", "ENOENT"]);
    const report = await runDriverConformance(toyIoctlsDriver(), { only: ["ioctls"] });
    expect(formatConformanceReport(report)).toContain(
      "✓ TOY_SUBMIT: valid call; refused: 1 × EINVAL, 1 × ENOENT",
    );
  });

  it("a refused call that leaves an object alive fails, naming the object", async () => {
    const v = await runConformanceIoctl(toyIoctlsDriver(["error-leaks-fence"]), "TOY_SUBMIT");
    expect(v.ok).toBe(false);
    expect(v.problems.join("\n")).toMatch(
      /TOY_SUBMIT with an unknown GEM handle: the refused call changed state: it left 1 new object\(s\) alive: dma_fence toy/,
    );
  });

  it("a driver answering another errno than the descriptor says fails with both", async () => {
    const v = await runConformanceIoctl(toyIoctlsDriver([], "EBADF"), "TOY_SUBMIT");
    expect(v.problems).toHaveLength(1);
    expect(v.problems[0]).toMatch(/^TOY_SUBMIT with an unknown GEM handle: ENOENT \(.*\), expected EBADF$/);
  });

  it("a valid call that fails, or makes another ioctl, is reported as such", async () => {
    const base = toyIoctlsDriver();
    const failing = defineConformanceDriver({
      ...base,
      ioctls: [
        {
          ...base.ioctls![0]!,
          call: ({ proc, fd }) => proc.ioctl(fd, DRM_IOCTL_TOY_SUBMIT, { handle: 99 } satisfies DrmToySubmit),
        },
      ],
    });
    const v1 = await runConformanceIoctl(failing, "TOY_SUBMIT");
    expect(v1.problems[0]).toMatch(/^TOY_SUBMIT: the valid call failed: /);
    const other = defineConformanceDriver({
      ...base,
      ioctls: [{ ...base.ioctls![0]!, call: async () => {} }],
    });
    const v2 = await runConformanceIoctl(other, "TOY_SUBMIT");
    expect(v2.problems).toEqual(["TOY_SUBMIT: the valid call made no TOY_SUBMIT ioctl (it made none)"]);
  });

  it("coverage: an ioctl neither listed nor untested fails; untested ones are reported with their reason", async () => {
    const vgem = vgemDriver as ConformanceDriver;
    const partial = defineConformanceDriver({
      ...vgem,
      ioctls: vgem.ioctls!.filter((i) => i.name !== "VGEM_FENCE_SIGNAL"),
    });
    const r = await runConformanceCheck(partial, "ioctls");
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([
      "the driver's ioctl VGEM_FENCE_SIGNAL is not described: list it in `ioctls` with a valid call, or in `untested` with the reason",
    ]);
    const excused = defineConformanceDriver({
      ...partial,
      untested: { VGEM_FENCE_SIGNAL: "signals by id only" },
    });
    const ok = await runConformanceCheck(excused, "ioctls");
    expect(ok.problems).toEqual([]);
    expect(ok.steps?.map((s) => `${s.name}: ${s.summary}`)).toEqual([
      "VGEM_FENCE_ATTACH: valid call; refused: 2 × EINVAL, 1 × ENOENT",
      "DRMSIM_VGEM_FENCE_ERROR: valid call; refused: 1 × ENOENT, 1 × EINVAL",
      "VGEM_FENCE_SIGNAL: not exercised: signals by id only",
    ]);
    const bogus = defineConformanceDriver({
      ...vgem,
      ioctls: [...vgem.ioctls!, { name: "VGEM_NOPE", call: async () => {} }],
    });
    expect((await runConformanceCheck(bogus, "ioctls")).problems).toContain(
      "`ioctls` lists VGEM_NOPE, which is not an ioctl of vgem",
    );
  });

  it("a descriptor without ioctls skips the check, and says so", async () => {
    const d = toyConformanceDriver();
    expect(conformanceChecksFor(d).map((c) => c.id)).not.toContain("ioctls");
    await expect(runConformanceCheck(d, "ioctls")).rejects.toThrow(
      /does not apply to toy: the descriptor lists no ioctls/,
    );
  });
});

describe("layoutCorruptions", () => {
  const inner = uapiStruct("inner", { flags: flagsMask(__u32, 0x3), pad: mbz(__u32) }, { size: 8 });
  const outer = uapiStruct("outer", { handle: __u32, pad: mbz(__u32), inner, big: mbz(__u64) }, { size: 24 });

  it("sets every checked pad and the lowest undefined flag bit, in nested structs too", () => {
    const cs = layoutCorruptions(outer, { handle: 1, inner: { flags: 1 } });
    expect(cs.map((c) => c.what)).toEqual([
      "pad (a pad that must be 0) set to 1",
      "inner.flags with the undefined flag bit 0x4",
      "inner.pad (a pad that must be 0) set to 1",
      "big (a pad that must be 0) set to 1",
    ]);
    expect(cs.every((c) => c.errno === "EINVAL")).toBe(true);
    const arg = { handle: 1, inner: { flags: 1 } } as Record<string, unknown>;
    cs[1]!.corrupt(arg, {});
    expect(arg).toEqual({ handle: 1, inner: { flags: 5 } });
    const big = {} as Record<string, unknown>;
    cs[3]!.corrupt(big, {});
    expect(big).toEqual({ big: 1n });
  });

  it("walks the input member of a top-level union (uapiUnion), never its output", () => {
    const u = uapiUnion(
      "u",
      { in: outer, out: uapiStruct("o", { handle: __u32, pad: mbz(__u32) }, { size: 8 }) },
      { size: 24, out: "out" },
    );
    expect(layoutCorruptions(u, { in: { handle: 1 } }).map((c) => c.what)).toEqual([
      "in.pad (a pad that must be 0) set to 1",
      "in.inner.flags with the undefined flag bit 0x4",
      "in.inner.pad (a pad that must be 0) set to 1",
      "in.big (a pad that must be 0) set to 1",
    ]);
  });
});

describe("drivers with device buffers", () => {
  // vgem standing in for an accelerator: dumb buffers named by handle, exported through PRIME.
  const vgem = vgemDriver as ConformanceDriver;
  const device = (over: Partial<ConformanceDriver>) =>
    defineConformanceDriver({
      name: "accel-like",
      probe: vgem.probe,
      buffers: "device",
      createBuffer: async ({ proc, fd }, size) =>
        (await drmModeCreateDumbBuffer(proc, fd, Math.ceil(size / 4), 1, 32)).handle,
      exportBuffer: ({ proc, fd }, handle) => drmPrimeHandleToFD(proc, fd, handle),
      submit: async () => ({ completed: async () => true }),
      ...over,
    });

  it("run fences-signal, signalling-paths, dma-buf-export and teardown, and skip the GEM checks", async () => {
    const report = await runDriverConformance(device({}));
    expect(report.results.map((r) => [r.id, r.problems])).toEqual([
      ["fences-signal", []],
      ["signalling-paths", []],
      ["dma-buf-export", []],
      ["teardown", []],
    ]);
    expect(report.skipped.map((s) => s.id)).toEqual(["resv-usage", "prime", "ioctls"]);
  });

  it("a job that never completes fails fences-signal", async () => {
    const r = await runConformanceCheck(
      device({ submit: async () => ({ completed: async () => false }) }),
      "fences-signal",
    );
    expect(r.problems[0]).toMatch(/a write job had not completed 20 s \(virtual\) after submission/);
  });

  it("no exportBuffer fails dma-buf-export with what to add", async () => {
    const { exportBuffer: _, ...rest } = device({});
    const r = await runConformanceCheck(defineConformanceDriver(rest), "dma-buf-export");
    expect(r.problems).toEqual([
      "the descriptor has device buffers but no exportBuffer: describe how userspace exports device memory as a dma-buf",
    ]);
  });
});
