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
import {
  AMDGPU_CHUNK_ID_BO_HANDLES,
  AMDGPU_CHUNK_ID_IB,
  AMDGPU_CTX_OP_ALLOC_CTX,
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_HW_IP_GFX,
  amdgpuProbe,
  DRM_IOCTL_AMDGPU_CS,
  DRM_IOCTL_AMDGPU_CTX,
  DRM_IOCTL_AMDGPU_GEM_CREATE,
  DRM_IOCTL_AMDGPU_WAIT_CS,
} from "@drmsim/amdgpu";
import {
  ASAHI_VM_KERNEL_MIN_SIZE,
  asahiProbe,
  DRM_ASAHI_BARRIER_NONE,
  DRM_ASAHI_CMD_RENDER,
  DRM_ASAHI_SYNC_SYNCOBJ,
  DRM_IOCTL_ASAHI_QUEUE_CREATE,
  DRM_IOCTL_ASAHI_SUBMIT,
  DRM_IOCTL_ASAHI_VM_CREATE,
} from "@drmsim/asahi";
import {
  DrmPluginHost,
  drmPrimeFDToHandle,
  drmPrimeHandleToFD,
  drmSyncobjCreate,
  drmSyncobjReset,
  drmSyncobjWait,
} from "@drmsim/drm";
import {
  DRM_IOCTL_HL_CB,
  DRM_IOCTL_HL_CS,
  DRM_IOCTL_HL_MEMORY,
  DRM_IOCTL_HL_WAIT_CS,
  HL_CB_OP_CREATE,
  HL_MEM_OP_ALLOC,
  HL_MEM_OP_MAP,
  habanalabsProbe,
} from "@drmsim/habanalabs";
import { isKernelError, msecs, Process, type Simulator, secs, usecs } from "@drmsim/runtime";
import { defineScenario } from "../scenario.js";
import { traceSummary } from "../trace/summary-sink.js";

/** One 60 Hz vblank, in ns. */
export const VBLANK_NS = 16_666_667;
/** Scan-out buffer size: 1280×720 RGBA rounded to pages. */
const FB_BYTES = 3_686_400;
/** `HL_WAIT_CS` status: the CS completed. */
const HL_WAIT_CS_STATUS_COMPLETED = 0;

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
      const { ctx_id } = await game.ioctl<{ ctx_id: number }>(fd, DRM_IOCTL_AMDGPU_CTX, {
        op: AMDGPU_CTX_OP_ALLOC_CTX,
      });
      const bos: number[] = [];
      for (let i = 0; i < 2; i++) {
        const { handle } = await game.ioctl<{ handle: number }>(fd, DRM_IOCTL_AMDGPU_GEM_CREATE, {
          bo_size: Math.ceil(FB_BYTES / 4096) * 4096,
          domains: AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT,
        });
        bos.push(handle);
        const prime = await drmPrimeHandleToFD(game, fd, handle);
        incoming.push(game.sendFd(compositor, prime));
        game.close(prime);
      }
      let last = 0;
      for (let frame = 0; sim.now < lastVblank; frame++) {
        const target = frame % 2;
        const { handle } = await game.ioctl<{ handle: number }>(fd, DRM_IOCTL_AMDGPU_CS, {
          ctx_id,
          chunks: [
            {
              chunk_id: AMDGPU_CHUNK_ID_IB,
              data: { ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: msecs(sim.random.int(4, 18)) },
            },
            { chunk_id: AMDGPU_CHUNK_ID_BO_HANDLES, data: [{ bo_handle: bos[target]! }] },
          ],
        });
        counters.amdgpuFrames++;
        newest = target;
        last = handle;
        // Throttle like a swapchain of two: wait for this frame before rendering the one after.
        await game.ioctl(fd, DRM_IOCTL_AMDGPU_WAIT_CS, {
          ctx_id,
          ip_type: AMDGPU_HW_IP_GFX,
          ring: 0,
          handle,
          timeout: Number.MAX_SAFE_INTEGER,
        });
        const left = VBLANK_NS - (sim.now % VBLANK_NS);
        await nap(sim, left);
      }
      return last;
    });

    compositor.run(async () => {
      const fd = await compositor.open("/dev/dri/renderD129");
      const { vm_id } = await compositor.ioctl<{ vm_id: number }>(fd, DRM_IOCTL_ASAHI_VM_CREATE, {
        kernel_start: 0x1_0000_0000,
        kernel_end: 0x1_0000_0000 + ASAHI_VM_KERNEL_MIN_SIZE,
      });
      const { queue_id } = await compositor.ioctl<{ queue_id: number }>(fd, DRM_IOCTL_ASAHI_QUEUE_CREATE, {
        vm_id,
        priority: 1,
      });
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
          await compositor.ioctl(fd, DRM_IOCTL_ASAHI_SUBMIT, {
            queue_id,
            commands: [
              {
                cmd_type: DRM_ASAHI_CMD_RENDER,
                vdm_barrier: DRM_ASAHI_BARRIER_NONE,
                cdm_barrier: DRM_ASAHI_BARRIER_NONE,
                vertex_ns: usecs(300),
                fragment_ns: usecs(1200),
              },
            ],
            bos: [{ handle: shared[newest]!, flags: 0 }],
            syncs: [{ sync_type: DRM_ASAHI_SYNC_SYNCOBJ, handle: done }],
            out_sync_count: 1,
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
      const { cb_handle } = await upscaler.ioctl<{ cb_handle: number }>(fd, DRM_IOCTL_HL_CB, {
        op: HL_CB_OP_CREATE,
        cb_size: 4096,
      });
      const { handle } = await upscaler.ioctl<{ handle: number }>(fd, DRM_IOCTL_HL_MEMORY, {
        op: HL_MEM_OP_ALLOC,
        mem_size: 2 * 1024 * 1024,
      });
      const { device_virt_addr } = await upscaler.ioctl<{ device_virt_addr: number }>(
        fd,
        DRM_IOCTL_HL_MEMORY,
        {
          op: HL_MEM_OP_MAP,
          handle,
        },
      );
      while (sim.now < lastVblank) {
        const { seq } = await upscaler.ioctl<{ seq: number }>(fd, DRM_IOCTL_HL_CS, {
          chunks_execute: [
            // DMA_0_0 (external): upload, and the completion the CS needs.
            { queue_index: 0, cb_handle, cb_size: 256, exec_ns: usecs(500) },
            {
              queue_index: 7, // TPC_0: command buffer in device memory
              cb_handle: device_virt_addr,
              cb_size: 256,
              exec_ns: usecs(sim.random.int(2000, 6000)),
            },
          ],
          num_chunks_execute: 2,
        });
        counters.hlSubmissions++;
        const { status } = await upscaler.ioctl<{ status: number }>(fd, DRM_IOCTL_HL_WAIT_CS, {
          seq,
          timeout_us: 1_000_000,
        });
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
