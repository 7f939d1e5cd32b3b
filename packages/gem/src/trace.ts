/**
 * GEM tracepoints. The kernel has no generic GEM trace system; these mirror what drivers trace
 * around memory management (amdgpu's `amdgpu_bo_move`, TTM's eviction, the shmem shrinker), so a
 * Perfetto trace shows when buffers moved or lost their pages and why a later access was slow.
 */
import { defineTracepoint, type TrackRef } from "@drmsim/runtime";

/** Arguments every GEM event carries. */
export interface DrmGemTraceArgs {
  obj: string;
  size: number;
}

/** A purgeable shmem object lost its pages (`drm_gem_shmem_purge_locked`). */
export const traceDrmGemShmemPurge = defineTracepoint<DrmGemTraceArgs>("drm_gem_shmem_purge", "drm_gem");
/** A VRAM object moved between VRAM and system memory (TTM `ttm_bo_move`). */
export const traceDrmGemVramMove = defineTracepoint<
  DrmGemTraceArgs & { from: string; to: string; evict: boolean }
>("drm_gem_vram_move", "drm_gem");

/** @internal The track GEM events are drawn on. */
export const GEM_TRACK: TrackRef = { process: "drm_gem", thread: "memory" };
