import { describe, expect, it } from "vitest";
import { copyBackOk } from "../src/fuzz.js";
import { buildWorld, closeWorld } from "../src/world.js";

describe("invariant 3: a rejected call changes its argument only where drm_ioctl copies it back", () => {
  it("accepts the kernel's copy back and names each change it would not make", async () => {
    const world = await buildWorld();
    const wait = "DRM_IOCTL_SYNCOBJ_WAIT";
    const before = { handles: [1], count_handles: 1, timeout_nsec: 0, first_signaled: 5 };
    // The handler ran and failed; the struct came back (here with first_signaled rewritten).
    expect(copyBackOk(world, wait, "ETIME", true, before, { ...before, first_signaled: 0 })).toBeUndefined();
    // The fd was not a live DRM file: the call never reached the copy in.
    expect(copyBackOk(world, wait, "EBADF", false, before, { ...before, first_signaled: 0 })).toMatch(
      /before the copy in/,
    );
    // A malformed argument fails its copy in: nothing may come back.
    const bad = { ...before, flags: 1.5 };
    expect(copyBackOk(world, wait, "EINVAL", true, bad, { ...bad, first_signaled: 0 })).toMatch(/malformed/);
    // Only members of the struct come back, and as values a C struct holds.
    expect(copyBackOk(world, wait, "ETIME", true, before, { ...before, extra: 1 })).toMatch(/not a member/);
    expect(copyBackOk(world, wait, "ETIME", true, before, { ...before, first_signaled: -1 })).toMatch(
      /not a well-formed struct/,
    );
    // _IOW (GEM_CLOSE): nothing is copied back at all.
    expect(copyBackOk(world, "DRM_IOCTL_GEM_CLOSE", "EINVAL", true, { handle: 1 }, { handle: 2 })).toMatch(
      /no _IOC_READ/,
    );
    // _IOR: nothing is copied in, so whatever the caller passed, the zeroed struct may come back.
    expect(
      copyBackOk(world, "DRM_IOCTL_GET_MAGIC", "EACCES", true, { magic: -1 }, { magic: 0 }),
    ).toBeUndefined();
    await closeWorld(world);
  });
});
