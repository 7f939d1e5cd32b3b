/**
 * What a command's simulated writes address: the side channel's `fill` and `copy` name GPU
 * addresses of the queue's VM, resolved through its mappings at submit — inside one mapping,
 * written through a writable one, read through a readable one — or the submit is refused.
 */
import { Process } from "@drmsim/runtime";
import { expect, it } from "vitest";
import {
  ASAHI_PAGE_SIZE,
  asahiFileOf,
  asahiVaTarget,
  DRM_ASAHI_BIND_READ,
  DRM_ASAHI_BIND_SINGLE_PAGE,
  DRM_ASAHI_BIND_WRITE,
} from "../src/index.js";
import {
  agxBoCreate,
  agxComputeCommand,
  agxOpenContext,
  agxRenderCommand,
  agxSubmit,
  agxVmBind,
} from "../src/user/index.js";
import { fileOf, queueOf, setup } from "./helpers.js";

const RW = DRM_ASAHI_BIND_READ | DRM_ASAHI_BIND_WRITE;
const errno = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: { code: string }) => e.code,
  );

it("fill and copy resolve through the VM's mappings; a range outside one, or against its permissions, is EINVAL and queues nothing", async () => {
  const { sim, host, dev } = setup();
  const app = new Process(sim, "app");
  // Until idle: the accepted jobs run to completion before the device goes.
  await sim.execUntilIdle("app", async () => {
    const { fd, vm, queue } = await agxOpenContext(app);
    const a = await agxBoCreate(app, fd, 2 * ASAHI_PAGE_SIZE);
    const b = await agxBoCreate(app, fd, ASAHI_PAGE_SIZE);
    const A = 0x100_0000;
    const B = 0x200_0000;
    const S = 0x300_0000;
    await agxVmBind(app, fd, vm, [
      { flags: RW, handle: a, offset: 0, range: 2 * ASAHI_PAGE_SIZE, addr: A },
      { flags: DRM_ASAHI_BIND_READ, handle: b, offset: 0, range: ASAHI_PAGE_SIZE, addr: B },
      { flags: RW | DRM_ASAHI_BIND_SINGLE_PAGE, handle: b, offset: 0, range: 4 * ASAHI_PAGE_SIZE, addr: S },
    ]);
    const q = queueOf(dev, app, queue);
    const submit = (cmd: object) => errno(agxSubmit(app, fd, { queue, commands: [agxRenderCommand(cmd)] }));
    expect(await submit({ fill: { addr: 0x900_0000, data: [1] } })).toBe("EINVAL"); // unmapped
    expect(await submit({ fill: { addr: A + 2 * ASAHI_PAGE_SIZE - 1, data: [1, 2] } })).toBe("EINVAL"); // past it
    expect(await submit({ fill: { addr: B, data: [1] } })).toBe("EINVAL"); // read-only mapping
    expect(await submit({ copy: { src_addr: A, dst_addr: B, size: 4 } })).toBe("EINVAL");
    expect(await submit({ fill: { addr: S + ASAHI_PAGE_SIZE - 1, data: [1, 2] } })).toBe("EINVAL"); // crosses a page
    expect(q.hwNext.size).toBe(0);
    expect(q.stats.jobs).toBe(0);
    // Within the rules: accepted.
    expect(await submit({ fill: { addr: A + 5, data: [1, 2, 3] } })).toBe("ok");
    expect(
      await errno(
        agxSubmit(app, fd, {
          queue,
          commands: [
            agxComputeCommand({ copy: { src_addr: B + 8, dst_addr: A + ASAHI_PAGE_SIZE, size: 16 } }),
          ],
        }),
      ),
    ).toBe("ok");
    // Where they land: the object and offset behind each address.
    const avm = asahiFileOf(fileOf(dev, app)).vms.lookup(vm, "test");
    const objA = fileOf(dev, app).gem.peek(a)!;
    const objB = fileOf(dev, app).gem.peek(b)!;
    expect(asahiVaTarget(avm, A + ASAHI_PAGE_SIZE + 3, 4, true, "t")).toEqual({
      obj: objA,
      offset: ASAHI_PAGE_SIZE + 3,
      length: 4,
    });
    // A SINGLE_PAGE mapping repeats its page: the fourth page reaches the object's first.
    expect(asahiVaTarget(avm, S + 3 * ASAHI_PAGE_SIZE + 9, 4, true, "t")).toEqual({
      obj: objB,
      offset: 9,
      length: 4,
    });
  });
  app.exit();
  host.remove(dev);
  expect(sim.teardown().findings).toEqual([]);
});
