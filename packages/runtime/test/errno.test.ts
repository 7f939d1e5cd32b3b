import { describe, expect, it } from "vitest";
import { ERRNO, errno, errnoName, isKernelError, KernelError } from "../src/index.js";

describe("errno", () => {
  it("KernelError carries code, negative errno and a prefixed message", () => {
    const e = new KernelError("EINVAL", "bad flags 0x4", { syscall: "DRM_IOCTL_GEM_CLOSE" });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("KernelError");
    expect(e.code).toBe("EINVAL");
    expect(e.errno).toBe(-22);
    expect(e.message).toBe("EINVAL: bad flags 0x4");
    expect(e.syscall).toBe("DRM_IOCTL_GEM_CLOSE");
    const cause = new Error("inner");
    expect(new KernelError("EIO", "x", { cause }).cause).toBe(cause);
    expect(new KernelError("EIO", "x").syscall).toBeUndefined();
  });

  it("errnoName maps positive and negative numbers; unknown is undefined", () => {
    expect(errnoName(-22)).toBe("EINVAL");
    expect(errnoName(22)).toBe("EINVAL");
    expect(errnoName(-512)).toBe("ERESTARTSYS");
    expect(errnoName(-95)).toBe("EOPNOTSUPP"); // the first name of an aliased number
    expect(errnoName(-9999)).toBeUndefined();
    expect(errno("ETIME")).toBe(-62);
    expect(ERRNO.EDEADLK).toBe(35);
  });

  it("fromErrno wraps a negative errno, and an unknown one as EINVAL saying so", () => {
    const e = KernelError.fromErrno(-110, "fence wait");
    expect(e.code).toBe("ETIMEDOUT");
    expect(e.errno).toBe(-110);
    const u = KernelError.fromErrno(-9999, "driver op");
    expect(u.code).toBe("EINVAL");
    expect(u.message).toMatch(/unknown errno -9999/);
  });

  it("isKernelError checks the type and optionally the code", () => {
    const e = new KernelError("ENOMEM", "oom");
    expect(isKernelError(e)).toBe(true);
    expect(isKernelError(e, "ENOMEM")).toBe(true);
    expect(isKernelError(e, "EINVAL")).toBe(false);
    expect(isKernelError(new Error("ENOMEM"))).toBe(false);
    expect(isKernelError({ code: "ENOMEM", errno: -12 })).toBe(false);
    expect(isKernelError(undefined)).toBe(false);
  });
});
