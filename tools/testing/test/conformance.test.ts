import { DRM_IOCTL_VGEM_FENCE_ATTACH, VGEM_FENCE_WRITE, vgemProbe } from "@drmsim/vgem";
import { describe, expect, it } from "vitest";
import {
  type ConformanceCheckId,
  conformanceChecksFor,
  defineConformanceDriver,
  formatConformanceReport,
  runDriverConformance,
} from "../src/index.js";
import { describeDriverConformance } from "../src/vitest.js";
import { type ToyBug, toyConformanceDriver } from "./fixtures/broken-driver/index.js";

const vgem = defineConformanceDriver({
  name: "vgem",
  probe: vgemProbe,
  async submit({ proc, fd }, { handle, write }) {
    await proc.ioctl(fd, DRM_IOCTL_VGEM_FENCE_ATTACH, { handle, flags: write ? VGEM_FENCE_WRITE : 0 });
  },
});

// The suite as a driver package would use it, against the reference driver and the bug-free toy.
describeDriverConformance(vgem);
describeDriverConformance(toyConformanceDriver());

const failing = (r: Awaited<ReturnType<typeof runDriverConformance>>) =>
  r.results.filter((x) => !x.ok).map((x) => x.id);

describe("runDriverConformance", () => {
  it("vgem passes every check and the report says so", async () => {
    const report = await runDriverConformance(vgem);
    expect(report.ok).toBe(true);
    // This descriptor lists no ioctls and has GEM buffers: dma-buf-export and ioctls do not apply.
    const applicable = conformanceChecksFor(vgem).map((c) => c.id);
    expect(applicable).toEqual(["fences-signal", "signalling-paths", "resv-usage", "prime", "teardown"]);
    expect(report.results.map((r) => r.id)).toEqual(applicable);
    expect(report.skipped.map((s) => s.id)).toEqual(["dma-buf-export", "ioctls"]);
    const text = formatConformanceReport(report);
    expect(text.match(/✓/g)).toHaveLength(applicable.length);
    expect(text).toContain(`${applicable.length} checks passed`);
    expect(text).toContain("– ioctls: not applicable (the descriptor lists no ioctls)");
  });

  const cases: [ToyBug, ConformanceCheckId[], RegExp][] = [
    ["wrong-usage", ["resv-usage"], /write job's dma_fence toy:ring0 .* usage READ, expected WRITE/],
    ["reclaim-in-signalling", ["signalling-paths"], /toy_job_done|fs_reclaim/],
    ["never-signals", ["fences-signal", "teardown"], /was not signalled 0\.1 s \(virtual\) after submission/],
    ["leak", ["teardown"], /still referenced at teardown/],
    ["import-copies", ["prime"], /has its own reservation object instead of the dma-buf's/],
  ];
  for (const [bug, checks, message] of cases)
    it(`a driver with the '${bug}' bug fails exactly ${checks.join(" and ")}, with a clear message`, async () => {
      const report = await runDriverConformance(toyConformanceDriver(bug));
      expect(report.ok).toBe(false);
      expect(failing(report)).toEqual(checks);
      const problems = report.results.flatMap((r) => r.problems).join("\n");
      expect(problems).toMatch(message);
      const text = formatConformanceReport(report);
      expect(text).toContain(`✗ ${checks[0]}:`);
      expect(text).toContain(`${checks.length} of ${report.results.length} checks failed`);
    });

  it("a driver whose submit throws fails the checks that submit, quoting the error", async () => {
    const report = await runDriverConformance(
      defineConformanceDriver({
        ...vgem,
        name: "vgem-no-submit",
        submit: () => Promise.reject(new Error("no ring")),
      }),
    );
    expect(failing(report)).toEqual(["fences-signal", "signalling-paths", "resv-usage", "teardown"]);
    expect(report.results[0]!.problems[0]).toContain("no ring");
  });

  it("a submit that adds no fence to the resv fails fences-signal and resv-usage", async () => {
    const report = await runDriverConformance(
      defineConformanceDriver({ ...vgem, name: "vgem-fenceless", submit: async () => {} }),
    );
    expect(failing(report)).toEqual(["fences-signal", "resv-usage"]);
    expect(report.results[0]!.problems[0]).toMatch(/added no fence to the buffer's reservation object/);
  });

  it("only: runs just the named checks", async () => {
    const report = await runDriverConformance(vgem, { only: ["prime"] });
    expect(report.results.map((r) => r.id)).toEqual(["prime"]);
    expect(report.ok).toBe(true);
  });
});
