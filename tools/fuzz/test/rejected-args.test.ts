/** Invariant 3's rule (src/rejected-args.ts): what a rejected ioctl may leave in the caller's argument. */
import { coreIoctl } from "@drmsim/drm";
import { KernelError } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { argsBefore, rejectedArgsViolation } from "../src/index.js";

const layout = coreIoctl("DRM_IOCTL_VERSION")!.layout;
const efault = new KernelError("EFAULT", "bad date pointer");
const args = () => ({ name_len: 8n, name: [0, 0, 0, 0], date_len: 8n, date: 12, desc_len: 0n, desc: [] });

describe("rejected-args: a rejected call leaves the caller's struct as it was", () => {
  it("an unchanged struct passes", () => {
    const a = args();
    expect(rejectedArgsViolation("VERSION", argsBefore(a, layout), a, efault, layout)).toBeUndefined();
  });

  it("a member of the struct written back is a violation", () => {
    const a = args();
    const before = argsBefore(a, layout);
    a.name_len = 4n;
    expect(rejectedArgsViolation("VERSION", before, a, efault, layout)).toBe(
      "VERSION failed with EFAULT but changed the caller's argument struct",
    );
  });

  it("what a handler copied to user memory behind a pointer before failing stays, as in the kernel", () => {
    // drm_version copies the name out, then fails on the date pointer.
    const a = args();
    const before = argsBefore(a, layout);
    a.name.splice(0, 4, 0x76, 0x67, 0x65, 0x6d);
    expect(rejectedArgsViolation("VERSION", before, a, efault, layout)).toBeUndefined();
    // Without the declaration nothing is known to be a pointer: everything is compared.
    const plain = args();
    const plainBefore = argsBefore(plain);
    plain.name[0] = 0x76;
    expect(rejectedArgsViolation("VERSION", plainBefore, plain, efault)).toMatch(
      /changed the caller's argument/,
    );
  });
});
