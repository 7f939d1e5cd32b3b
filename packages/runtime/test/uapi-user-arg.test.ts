import { describe, expect, it } from "vitest";
import {
  __u32,
  IocDir,
  KernelError,
  Simulator,
  UapiRegionMemory,
  UapiUserArg,
  uapiIoctlCall,
  uapiStruct,
  uapiUserArgOf,
} from "../src/index.js";

const t_pair = uapiStruct("t_pair", { a: __u32, b: __u32 }, { size: 8 });
const bytes = (a: number, b: number) => new Uint8Array(new Uint32Array([a, b]).buffer);
const words = (u: Uint8Array) => [...new Uint32Array(u.buffer, u.byteOffset, u.byteLength / 4)];

describe("uapiIoctlCall on a byte-level argument (UapiUserArg)", () => {
  it("copies in, runs the handler on the decoded struct, copies the result back", async () => {
    const sim = new Simulator();
    const b = bytes(3, 0);
    await uapiIoctlCall(sim, "T", IocDir.READ_WRITE, t_pair, uapiUserArgOf(b), (v) => {
      v.b = v.a * 2;
    });
    expect(words(b)).toEqual([3, 6]);
  });

  it("copies back on failure only with copyBack: always (drm_ioctl), not by default (sync_file's switch)", async () => {
    const sim = new Simulator();
    const fail = (v: { a: number; b: number }) => {
      v.b = 9;
      throw new KernelError("EINVAL", "no");
    };
    const plain = bytes(1, 0);
    await expect(
      uapiIoctlCall(sim, "T", IocDir.READ_WRITE, t_pair, uapiUserArgOf(plain), fail),
    ).rejects.toThrow(/EINVAL/);
    expect(words(plain)).toEqual([1, 0]);
    const drm = bytes(1, 0);
    await expect(
      uapiIoctlCall(sim, "T", IocDir.READ_WRITE, t_pair, uapiUserArgOf(drm), fail, { copyBack: "always" }),
    ).rejects.toThrow(/EINVAL/);
    expect(words(drm)).toEqual([1, 9]);
  });

  it("a region memory faults outside its bytes (EFAULT), before the handler runs", async () => {
    const sim = new Simulator();
    const mem = new UapiRegionMemory(new Uint8Array(4));
    let ran = false;
    await expect(
      uapiIoctlCall(sim, "T", IocDir.READ_WRITE, t_pair, new UapiUserArg(mem.base, mem), () => {
        ran = true;
      }),
    ).rejects.toMatchObject({ code: "EFAULT" });
    expect(ran).toBe(false);
  });
});
