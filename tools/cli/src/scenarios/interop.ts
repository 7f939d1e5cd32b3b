/**
 * The three-driver demo: a desktop-like frame loop across every driver drmsim ships.
 *
 * - **game** (amdgpu, `renderD128`) renders each frame into one of two VRAM scan-out buffers with
 *   `AMDGPU_CS` (a gfx IB of 4–18 ms, chosen by `sim.random`); the buffers were exported once with
 *   `PRIME_HANDLE_TO_FD` and handed to the compositor over a socket (`sendFd`).
 * - **compositor** (asahi, `renderD129`) imported them (`PRIME_FD_TO_HANDLE`) and, at every
 *   60 Hz vblank, samples the newest frame with a 1.5 ms render command that lists the buffer for
 *   implicit sync — the asahi job waits on amdgpu's write fence through the shared `dma_resv`.
 *   It waits for its own out-syncobj until the next vblank: presented, or skipped.
 * - **upscaler** (habanalabs, `/dev/accel/accel0`) runs an inference `HL_CS` on a TPC queue per
 *   frame and waits for it with `HL_WAIT_CS` — completions, not dma_fences.
 *
 * Everything random comes from the run's seed, so one seed gives one trace, byte for byte.
 */
import { AMDGPU_GEM_DOMAIN_GTT, AMDGPU_GEM_DOMAIN_VRAM, AMDGPU_HW_IP_GFX, amdgpuProbe } from "@drmsim/amdgpu";
import {
  amdgpuBoAlloc,
  amdgpuCsChunkBoList,
  amdgpuCsChunkIb,
  amdgpuCsCtxCreate2,
  amdgpuCsQueryFenceStatus,
  amdgpuCsSubmitRaw2,
} from "@drmsim/amdgpu/user";
import { asahiProbe } from "@drmsim/asahi";
import { agxOpenContext, agxRenderCommand, agxSubmit, agxSyncobj } from "@drmsim/asahi/user";
import {
  DrmPluginHost,
  drmPrimeFDToHandle,
  drmPrimeHandleToFD,
  drmSyncobjCreate,
  drmSyncobjReset,
  drmSyncobjWait,
} from "@drmsim/drm";
import { HL_WAIT_CS_STATUS_COMPLETED, habanalabsProbe } from "@drmsim/habanalabs";
import {
  hlthunkCommandSubmission,
  hlthunkDeviceMemoryAlloc,
  hlthunkDeviceMemoryMap,
  hlthunkRequestCommandBuffer,
  hlthunkWaitForCs,
} from "@drmsim/habanalabs/user";
import { isKernelError, msecs, Process, type Simulator, secs, usecs } from "@drmsim/runtime";
import { defineScenario } from "../scenario.js";
import { traceSummary } from "../trace/summary-sink.js";

/** One 60 Hz vblank, in ns. */
export const VBLANK_NS = 16_666_667;
/** Scan-out buffer size: 1280×720 RGBA rounded to pages. */
const FB_BYTES = 3_686_400;

/** Counters the demo prints (and its tests read). */
export interface InteropCounters {
  amdgpuFrames: number;
  asahiComposites: number;
  presented: number;
  skipped: number;
  hlSubmissions: number;
  hlCompleted: number;
}

/** Sleeps `ns` of virtual time in a task (a process's `nanosleep`). */
function nap(sim: Simulator, ns: number): Promise<void> {
  return new Promise<void>((resolve) => sim.schedule(ns, resolve));
}

export default defineScenario({
  name: "interop",
  description:
    "amdgpu renders frames into exported VRAM buffers, asahi composites them at 60 Hz with implicit sync, habanalabs runs an inference CS per frame",
  durationNs: secs(10),
  setup(ctx) {
    const { sim } = ctx;
    const host = new DrmPluginHost(sim);
    const amdgpu = amdgpuProbe(host, { vramSize: 64 * 1024 * 1024 });
    const asahi = asahiProbe(host);
    const gaudi = habanalabsProbe(host);
    const game = new Process(sim, "game");
    const compositor = new Process(sim, "compositor");
    const upscaler = new Process(sim, "upscaler");
    const counters: InteropCounters = {
      amdgpuFrames: 0,
      asahiComposites: 0,
      presented: 0,
      skipped: 0,
      hlSubmissions: 0,
      hlCompleted: 0,
    };
    /** The newest frame amdgpu finished submitting: which buffer (compositor's handle index). */
    let newest = -1;
    const lastVblank = ctx.endNs - VBLANK_NS;

    // dma-buf fds the game sent over the socket (compositor-side numbers), then the
    // compositor's GEM handles of the two scan-out buffers once it imported them.
    const incoming: number[] = [];
    const shared: number[] = [];

    game.run(async () => {
      const fd = await game.open("/dev/dri/renderD128");
      const ctxId = await amdgpuCsCtxCreate2(game, fd);
      const bos: number[] = [];
      for (let i = 0; i < 2; i++) {
        const handle = await amdgpuBoAlloc(game, fd, {
          allocSize: Math.ceil(FB_BYTES / 4096) * 4096,
          preferredHeap: AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT,
        });
        bos.push(handle);
        const prime = await drmPrimeHandleToFD(game, fd, handle);
        incoming.push(game.sendFd(compositor, prime));
        game.close(prime);
      }
      let last = 0;
      for (let frame = 0; sim.now < lastVblank; frame++) {
        const target = frame % 2;
        const seq = await amdgpuCsSubmitRaw2(game, fd, ctxId, [
          amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: msecs(sim.random.int(4, 18)) }),
          amdgpuCsChunkBoList([bos[target]!]),
        ]);
        counters.amdgpuFrames++;
        newest = target;
        last = seq;
        // Throttle like a swapchain of two: wait for this frame before rendering the one after.
        await amdgpuCsQueryFenceStatus(game, fd, { ctxId, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: seq });
        const left = VBLANK_NS - (sim.now % VBLANK_NS);
        await nap(sim, left);
      }
      return last;
    });

    compositor.run(async () => {
      const { fd, queue } = await agxOpenContext(compositor, "/dev/dri/renderD129");
      const done = await drmSyncobjCreate(compositor, fd);
      await nap(sim, VBLANK_NS);
      while (sim.now < lastVblank) {
        const vblank = sim.now + VBLANK_NS;
        for (const theirs of incoming.splice(0)) {
          shared.push(await drmPrimeFDToHandle(compositor, fd, theirs));
          compositor.close(theirs);
        }
        if (newest >= 0 && shared.length === 2) {
          await drmSyncobjReset(compositor, fd, [done]);
          await agxSubmit(compositor, fd, {
            queue,
            commands: [agxRenderCommand({ vertex_ns: usecs(300), fragment_ns: usecs(1200) })],
            bos: [{ handle: shared[newest]!, flags: 0 }],
            outSyncs: [agxSyncobj(done)],
          });
          counters.asahiComposites++;
          try {
            await drmSyncobjWait(compositor, fd, [done], vblank);
            counters.presented++;
          } catch (e) {
            if (!isKernelError(e) || e.code !== "ETIME") throw e;
            counters.skipped++;
          }
        }
        if (vblank > sim.now) await nap(sim, vblank - sim.now);
      }
    });

    upscaler.run(async () => {
      const fd = await upscaler.open("/dev/accel/accel0");
      // A host command buffer for the DMA queue that uploads each frame's input.
      const cb = await hlthunkRequestCommandBuffer(upscaler, fd, 4096);
      const va = await hlthunkDeviceMemoryMap(
        upscaler,
        fd,
        await hlthunkDeviceMemoryAlloc(upscaler, fd, 2 * 1024 * 1024),
      );
      while (sim.now < lastVblank) {
        const { seq } = await hlthunkCommandSubmission(upscaler, fd, [
          // DMA_0_0 (external): upload, and the completion the CS needs.
          { queue_index: 0, cb_handle: cb, cb_size: 256, exec_ns: usecs(500) },
          // TPC_0: command buffer in device memory.
          { queue_index: 7, cb_handle: va, cb_size: 256, exec_ns: usecs(sim.random.int(2000, 6000)) },
        ]);
        counters.hlSubmissions++;
        const { status } = await hlthunkWaitForCs(upscaler, fd, seq!, 1_000_000);
        if (status === HL_WAIT_CS_STATUS_COMPLETED) counters.hlCompleted++;
        const left = VBLANK_NS - (sim.now % VBLANK_NS);
        await nap(sim, left);
      }
    });

    ctx.log(
      `${amdgpu.toString()} (amdgpu), ${asahi.toString()} (asahi), ${gaudi.toString()} (habanalabs): 60 Hz for ${(ctx.durationNs / 1e9).toFixed(1)} s`,
    );
    this.extraSummary = () => ({
      ...fencesPerDriver(sim),
      "amdgpu frames rendered (gfx jobs)": counters.amdgpuFrames,
      "asahi composites (render jobs)": counters.asahiComposites,
      "frames presented / skipped": `${counters.presented} / ${counters.skipped}`,
      "habanalabs CS submitted / completed": `${counters.hlSubmissions} / ${counters.hlCompleted}`,
    });
    this.finish = () => {
      for (const p of [game, compositor, upscaler]) if (!p.exited) p.exit();
      for (const d of [...host.devices]) host.remove(d);
    };
    lastCounters = counters;
  },
});

/** "fences signalled (…)" rows from the run's trace summary (none when the run was not traced). */
function fencesPerDriver(sim: Simulator): Record<string, number> {
  const rows: Record<string, number> = {};
  for (const [driver, n] of traceSummary(sim)?.fencesByDriver ?? []) rows[`fences signalled (${driver})`] = n;
  return Object.fromEntries(Object.entries(rows).sort(([a], [b]) => a.localeCompare(b)));
}

let lastCounters: InteropCounters | null = null;

/** The counters of the most recent `interop` run in this module (for tests and tools). */
export function interopCounters(): InteropCounters | null {
  return lastCounters;
}
