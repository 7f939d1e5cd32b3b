/**
 * Seeds 001 / 004: a job fence that waits on a userspace memory write. drmsim reports the hang at
 * quiescence (naming the fences) and the never-signalled fences at teardown.
 */
import { Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  INDEFINITE_FENCE_DRIVER,
  IndefiniteFenceDriver,
} from "../fixtures/indefinite-fence/indefinite-fence.js";

const SEMAPHORE = 0x1000;

describe("seed fixture: indefinite-fence", () => {
  it("userspace waiting for the out-fence before writing the value: deadlock naming the fence, then fence-never-signalled", async () => {
    const sim = new Simulator({ validator: "collect" });
    const drv = new IndefiniteFenceDriver(sim);
    const frame = drv.submitAfterUserWrite(SEMAPHORE, 1);
    // The app's frame loop: wait for the frame, then bump the semaphore for the next one.
    const app = sim.spawn("app", async () => {
      await frame.wait();
      drv.userWrite(SEMAPHORE, 1);
    });
    const r = await sim.run();

    expect(r.reason).toBe("deadlock");
    expect(app.state).toBe("running");
    const dl = r.finding!;
    expect(dl.kind).toBe("deadlock");
    expect(dl.title).toMatch(/no event is pending, but 1 context still waits/);
    const entry = dl.waitFor.find((e) => e.context.includes("app"))!;
    expect(entry.waitsFor).toMatch(/fence/);
    expect(entry.waitsFor).toMatch(/drm_sched|userfence_gpu/);
    expect(dl.explanation).toMatch(/indefinite fence/);
    // Why: the app waits for the job's fence, the job for the user fence, and nothing in the
    // kernel stands behind that one.
    expect(dl.progress).toEqual([
      expect.stringMatching(/^process:app\/\d+ sleeps on dma_fence drm_sched:userfence_gpu-ring /),
      expect.stringMatching(/is the finished fence of job 1 /),
      expect.stringMatching(
        /^job 1 .* waits for dma_fence userfence_gpu:user-memory ctx \d+#1 \(a dependency or prepare_job fence\)$/,
      ),
      expect.stringMatching(
        /^dma_fence userfence_gpu:user-memory ctx \d+#1 has nothing in the kernel behind it that will signal it$/,
      ),
    ]);
    const [root] = sim.validator.findingsOf("indefinite-fence");
    expect(root!.title).toMatch(
      new RegExp(
        `^indefinite fence: dma_fence ${INDEFINITE_FENCE_DRIVER}:user-memory ctx \\d+#1 can only be signalled from outside the kernel$`,
      ),
    );
    expect(root!.explanation).toMatch(/seed 001: indefinite fences are a bad idea/);
    expect(dl.details).toEqual([`root cause [indefinite-fence]: ${root!.title}`]);

    const report = sim.teardown();
    const never = report.findings.filter((f) => f.kind === "fence-never-signalled");
    expect(never).toHaveLength(1);
    expect(never[0]!.title).toMatch(/never signalled before teardown/);
    const listed = never[0]!.details.join("\n");
    expect(listed).toContain(`${INDEFINITE_FENCE_DRIVER}`);
    expect(listed).toContain("user-memory");
    expect(never[0]!.explanation).toMatch(/bounded time/);
  });

  it("the same driver signals when userspace writes first, and is then clean", async () => {
    const sim = new Simulator();
    const drv = new IndefiniteFenceDriver(sim);
    const frame = drv.submitAfterUserWrite(SEMAPHORE, 1);
    sim.spawn("app", () => drv.userWrite(SEMAPHORE, 1));
    await sim.run();
    expect(frame.signaled).toBe(true);
    expect(frame.error).toBe(0);
    frame.put();
    drv.fini();
    expect(sim.teardown().findings).toEqual([]);
  });
});
