/**
 * `drmsim validate drivers/<each>`: every driver of the repository exports a conformance
 * descriptor that lists its ioctls, and passes — one line per check and per ioctl, the checks
 * that do not apply named with the reason.
 */
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers.js";

const root = resolve(import.meta.dirname, "../../..");

const expected: Record<
  string,
  { checks: number; ioctls: string[]; skipped: string[]; refusesNothing?: string[] }
> = {
  vgem: {
    checks: 6,
    ioctls: ["VGEM_FENCE_ATTACH", "VGEM_FENCE_SIGNAL", "DRMSIM_VGEM_FENCE_ERROR"],
    skipped: ["dma-buf-export"],
  },
  asahi: {
    checks: 6,
    ioctls: [
      "ASAHI_GET_PARAMS",
      "ASAHI_GET_TIME",
      "ASAHI_GEM_MMAP_OFFSET",
      "ASAHI_GEM_BIND_OBJECT",
      "DRMSIM_ASAHI_HW_NEXT",
      "ASAHI_VM_CREATE",
      "ASAHI_VM_DESTROY",
      "ASAHI_VM_BIND",
      "ASAHI_GEM_CREATE",
      "ASAHI_QUEUE_CREATE",
      "ASAHI_QUEUE_DESTROY",
      "ASAHI_SUBMIT",
    ],
    skipped: ["dma-buf-export"],
  },
  amdgpu: {
    checks: 6,
    ioctls: [
      "AMDGPU_GEM_CREATE",
      "AMDGPU_CTX",
      "AMDGPU_CS",
      "AMDGPU_WAIT_CS",
      "AMDGPU_GEM_USERPTR",
      "AMDGPU_USERQ",
      "AMDGPU_SIM_DOORBELL",
      "AMDGPU_INFO",
      "AMDGPU_GEM_MMAP",
      "AMDGPU_BO_LIST",
      "AMDGPU_GEM_METADATA",
      "AMDGPU_GEM_WAIT_IDLE",
      "AMDGPU_GEM_VA",
      "AMDGPU_GEM_OP",
      "AMDGPU_GEM_LIST_HANDLES",
      "AMDGPU_VM",
      "AMDGPU_WAIT_FENCES",
      "AMDGPU_FENCE_TO_HANDLE",
    ],
    skipped: ["dma-buf-export"],
    // amdgpu_gem_list_handles_ioctl checks nothing: too few entries only returns the count.
    refusesNothing: ["AMDGPU_GEM_LIST_HANDLES"],
  },
  habanalabs: {
    checks: 5,
    ioctls: ["HL_INFO", "HL_CB", "HL_CS", "HL_WAIT_CS", "HL_MEMORY", "HL_DEBUG", "DRMSIM_HL_HW_NEXT"],
    skipped: ["resv-usage", "prime"],
  },
};

describe("drmsim validate on every driver of the repository", () => {
  for (const [name, e] of Object.entries(expected))
    it(`drivers/${name}: every check passes, each ioctl exercised valid and refused`, async () => {
      const r = await runCli(["validate", join(root, "drivers", name)]);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(r.out).toContain(`conformance of ${name}:`);
      const ioctlLines = r.out.split("\n").filter((l) => /^ {6}✓ [A-Z_]+: valid call; refused: /.test(l));
      expect(ioctlLines.map((l) => l.trim().slice(2).split(":")[0])).toEqual(e.ioctls);
      // Each ioctl has at least one refused variant (but those whose kernel handler rejects no
      // argument), and none failed.
      for (const l of ioctlLines)
        expect(l).toMatch(
          e.refusesNothing?.includes(l.trim().slice(2).split(":")[0]!)
            ? /refused: none$/
            : /refused: \d+ × E[A-Z]+/,
        );
      expect(r.out).not.toContain("✗");
      for (const s of e.skipped) expect(r.out).toContain(`– ${s}: not applicable`);
      expect(r.out).toContain(`${e.checks} checks passed`);
    });
});
