/**
 * The three-driver demo: a desktop-like frame loop across every driver drmsim ships.
 *
 * - **game** (amdgpu, `renderD128`) renders each frame into one of two VRAM scan-out buffers with
 *   `AMDGPU_CS` (a gfx IB of 4–18 ms, chosen by `sim.random`); the buffers were exported once with
 *   `PRIME_HANDLE_TO_FD` and handed to the compositor over a socket (`sendFd`).
 * - **compositor** (asahi, `renderD129`) imported them (`PRIME_FD_TO_HANDLE`), bound them into
 *   its VM (`ASAHI_VM_BIND`) and, at every 60 Hz vblank, samples the newest frame with a 1.5 ms
 *   render command. asahi is explicit-sync only: as Mesa does, the compositor asks the dma-buf
 *   for amdgpu's write fence (`DMA_BUF_IOCTL_EXPORT_SYNC_FILE`), waits on it as an in-sync, and
 *   hands its own fence back to the buffer (`DMA_BUF_IOCTL_IMPORT_SYNC_FILE`) so amdgpu's next
 *   frame into it waits for the read. It waits for its own out-syncobj until the next vblank:
 *   presented, or skipped.
 * - **contents**: each frame's IB stamps the buffer's first bytes with the frame number (amdgpu's
 *   `fill`), and the compositor's command copies them into its own screen buffer (asahi's `copy`,
 *   between the GPU addresses it bound both at), which the compositor's CPU maps through its
 *   dma-buf fd and reads after every presented frame (`DMA_BUF_IOCTL_SYNC` around the read): it
 *   must hold exactly the frame that was newest when the composite was submitted — the in-sync
 *   ordered the copy after amdgpu's write, and the bytes asahi's DMA read through its scatter list
 *   are the pages amdgpu wrote.
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
import { ASAHI_PAGE_SIZE, asahiProbe, DRM_ASAHI_BIND_READ, DRM_ASAHI_BIND_WRITE } from "@drmsim/asahi";
import {
  agxBoCreate,
  agxImplicitInSync,
  agxImplicitOutSync,
  agxOpenContext,
  agxRenderCommand,
  agxSubmit,
  agxSyncobj,
  agxVmBind,
} from "@drmsim/asahi/user";
import { DMA_BUF_IOCTL_SYNC, DMA_BUF_SYNC_END, DMA_BUF_SYNC_READ, DMA_BUF_SYNC_START } from "@drmsim/dma-buf";
import {
  DrmPluginHost,
  drmPrimeFDToHandle,
  drmPrimeHandleToFD,
  drmSyncobjCreate,
  drmSyncobjDestroy,
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
import {
  isKernelError,
  msecs,
  O_CLOEXEC,
  O_RDWR,
  PROT_READ,
  Process,
  type Simulator,
  secs,
  usecs,
} from "@drmsim/runtime";
import { defineScenario } from "../scenario.js";
import { traceSummary } from "../trace/summary-sink.js";

/** One 60 Hz vblank, in ns. */
export const VBLANK_NS = 16_666_667;
/** Scan-out buffer size: 1280×720 RGBA rounded to pages. */
const FB_BYTES = 3_686_400;
/** Where the compositor binds the scan-out buffers in its GPU VM. */
const FB_VA = 0x1000_0000;
/** Where the compositor binds its screen buffer. */
const SCREEN_VA = 0x0800_0000;

/** Counters the demo prints (and its tests read). */
export interface InteropCounters {
  amdgpuFrames: number;
  asahiComposites: number;
  presented: number;
  skipped: number;
  hlSubmissions: number;
  hlCompleted: number;
  /** Presented frames whose screen bytes the compositor checked. */
  framesChecked: number;
  /** Presented frames whose screen held another frame's stamp (or none): must stay 0. */
  contentMismatches: number;
}

/** The bytes amdgpu's IB writes at the start of frame `n`'s buffer: `n` and a marker, little-endian. */
export function frameStamp(n: number): Uint8Array {
  // Byte by byte: a DataView would make V8 move the array's buffer off its heap, twice a frame.
  return Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24, 0x0d, 0xf0, 0xa1, 0xd5);
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
      framesChecked: 0,
      contentMismatches: 0,
    };
    /** The newest frame amdgpu finished submitting: which buffer (compositor's handle index). */
    let newest = -1;
    /** The frame number in that buffer. */
    let newestFrame = -1;
    const lastVblank = ctx.endNs - VBLANK_NS;

    // dma-buf fds the game sent over the socket (compositor-side numbers), then the ones the
    // compositor imported and bound into its VM.
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
          amdgpuCsChunkIb({
            ip_type: AMDGPU_HW_IP_GFX,
            ring: 0,
            duration_ns: msecs(sim.random.int(4, 18)),
            fill: { bo_handle: bos[target]!, data: frameStamp(frame) },
          }),
          amdgpuCsChunkBoList([bos[target]!]),
        ]);
        counters.amdgpuFrames++;
        newest = target;
        newestFrame = frame;
        last = seq;
        // Throttle like a swapchain of two: wait for this frame before rendering the one after.
        await amdgpuCsQueryFenceStatus(game, fd, { ctxId, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: seq });
        const left = VBLANK_NS - (sim.now % VBLANK_NS);
        await nap(sim, left);
      }
      return last;
    });

    compositor.run(async () => {
      const { fd, vm, queue } = await agxOpenContext(compositor, "/dev/dri/renderD129");
      const done = await drmSyncobjCreate(compositor, fd);
      // The screen: where each composite copies the frame's stamp, read back by the CPU.
      const screen = await agxBoCreate(compositor, fd, 4096);
      await agxVmBind(compositor, fd, vm, [
        {
          flags: DRM_ASAHI_BIND_READ | DRM_ASAHI_BIND_WRITE,
          handle: screen,
          offset: 0,
          range: ASAHI_PAGE_SIZE,
          addr: SCREEN_VA,
        },
      ]);
      const range = Math.ceil(FB_BYTES / ASAHI_PAGE_SIZE) * ASAHI_PAGE_SIZE;
      const screenFd = await drmPrimeHandleToFD(compositor, fd, screen, O_RDWR | O_CLOEXEC);
      const screenMap = await compositor.mmap(screenFd, 0, 4096, PROT_READ);
      const stampLen = frameStamp(0).length;
      await nap(sim, VBLANK_NS);
      while (sim.now < lastVblank) {
        const vblank = sim.now + VBLANK_NS;
        for (const theirs of incoming.splice(0)) {
          const handle = await drmPrimeFDToHandle(compositor, fd, theirs);
          await agxVmBind(compositor, fd, vm, [
            { flags: DRM_ASAHI_BIND_READ, handle, offset: 0, range, addr: FB_VA + shared.length * range },
          ]);
          shared.push(theirs);
        }
        if (newest >= 0 && shared.length === 2) {
          const dmabuf = shared[newest]!;
          await drmSyncobjReset(compositor, fd, [done]);
          const expected = frameStamp(newestFrame);
          const written = await agxImplicitInSync(compositor, fd, dmabuf);
          await agxSubmit(compositor, fd, {
            queue,
            commands: [
              agxRenderCommand({
                vertex_ns: usecs(300),
                fragment_ns: usecs(1200),
                copy: { src_addr: FB_VA + newest * range, dst_addr: SCREEN_VA, size: stampLen },
              }),
            ],
            inSyncs: [written],
            outSyncs: [agxSyncobj(done)],
          });
          await drmSyncobjDestroy(compositor, fd, written.handle!);
          await agxImplicitOutSync(compositor, fd, dmabuf, done);
          counters.asahiComposites++;
          try {
            await drmSyncobjWait(compositor, fd, [done], vblank);
            counters.presented++;
            await compositor.ioctl(screenFd, DMA_BUF_IOCTL_SYNC, {
              flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ,
            });
            const seen = screenMap.read(0, stampLen);
            await compositor.ioctl(screenFd, DMA_BUF_IOCTL_SYNC, {
              flags: DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ,
            });
            counters.framesChecked++;
            if (seen.some((b, i) => b !== expected[i])) counters.contentMismatches++;
          } catch (e) {
            if (!isKernelError(e) || e.code !== "ETIME") throw e;
            counters.skipped++;
          }
        }
        if (vblank > sim.now) await nap(sim, vblank - sim.now);
      }
      compositor.munmap(screenMap);
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
      "presented frames with the right bytes": `${counters.framesChecked - counters.contentMismatches} / ${counters.framesChecked}`,
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
