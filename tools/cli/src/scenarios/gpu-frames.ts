/**
 * A built-in scenario on the runtime and dma-fence alone: a GPU with a render ring and a copy
 * engine, a game process submitting a frame every 16.6 ms (render, then a copy that depends on
 * the render's fence), and a compositor that waits for each frame's fence at 60 Hz and counts the
 * frames it had to skip. Completions arrive as interrupts and signal fences inside a fence
 * signalling section, so the validator watches the same paths a real driver's would.
 */
import { DmaFence, type DmaFenceOps, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { HardwareEngine, msecs, Process, withDmaFenceSignalling } from "@drmsim/runtime";
import { defineScenario } from "../scenario.js";

const FRAME_NS = 16_666_667;

export default defineScenario({
  name: "gpu-frames",
  description:
    "a game renders and copies a frame per vblank on a two-engine GPU; a compositor presents at 60 Hz",
  durationNs: msecs(1000),
  setup(ctx) {
    const { sim } = ctx;
    const gfx = new HardwareEngine(sim, "gfx", { device: "gpu0" });
    const copy = new HardwareEngine(sim, "sdma0", { device: "gpu0" });
    const ops = (timeline: string): DmaFenceOps => ({
      getDriverName: () => "gpu0",
      getTimelineName: () => timeline,
      release: () => {},
    });
    const gfxOps = ops("gfx");
    const copyOps = ops("sdma0");
    const gfxCtx = dmaFenceContextAlloc(sim);
    const copyCtx = dmaFenceContextAlloc(sim);
    let seqno = 0;
    let latest: DmaFence | null = null;
    let presented = 0;
    let skipped = 0;
    const frames: DmaFence[] = [];

    const submitFrame = () => {
      const n = ++seqno;
      const render = new DmaFence(sim, gfxOps, gfxCtx, n);
      const blit = new DmaFence(sim, copyOps, copyCtx, n);
      frames.push(render, blit);
      const signalFrom = (fence: DmaFence) => (status: number) =>
        withDmaFenceSignalling(sim, () => {
          if (status < 0) fence.setError(status);
          fence.signal();
        });
      gfx.submit({
        durationNs: msecs(sim.random.int(4, 19)),
        label: `frame ${n} render`,
        onComplete: signalFrom(render),
      });
      render.addCallback({
        func: () =>
          void copy.submit({ durationNs: msecs(1), label: `frame ${n} copy`, onComplete: signalFrom(blit) }),
      });
      latest?.put();
      latest = blit.get();
    };

    const game = new Process(sim, "game");
    game.run(async () => {
      while (sim.now + FRAME_NS <= ctx.endNs) {
        submitFrame();
        await new Promise<void>((resolve) => sim.schedule(FRAME_NS, resolve));
      }
    });
    const compositor = new Process(sim, "compositor");
    compositor.run(async () => {
      while (sim.now + FRAME_NS <= ctx.endNs) {
        const target = sim.now + FRAME_NS;
        const f = latest?.get();
        if (f !== undefined) {
          const left = await f.wait({ timeoutNs: FRAME_NS });
          if (left > 0) presented++;
          else skipped++;
          f.put();
        }
        const sleep = target - sim.now;
        if (sleep > 0) await new Promise<void>((resolve) => sim.schedule(sleep, resolve));
      }
    });
    ctx.log(`gpu0: gfx + sdma0 engines, frame every ${(FRAME_NS / 1e6).toFixed(1)} ms`);
    this.extraSummary = () => ({
      "frames submitted": seqno,
      "frames presented": presented,
      "frames skipped": skipped,
    });
    this.finish = () => {
      latest?.put();
      for (const f of frames) f.put();
    };
  },
});
