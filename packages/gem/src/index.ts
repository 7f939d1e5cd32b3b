/**
 * @drmsim/gem — GEM buffer objects as in `drivers/gpu/drm/drm_gem*.c`, `drm_prime.c` and
 * `drm_buddy.c`: objects and their funcs table, per-file handles and flink names, the shmem and
 * VRAM helpers, PRIME export/import with the per-file cache, the buddy allocator and the fake
 * mmap offsets (`drm_vma_manager.c`).
 */
export * from "./drm-buddy.js";
export * from "./drm-gem-handles.js";
export * from "./drm-gem-names.js";
export * from "./drm-gem-object.js";
export * from "./drm-gem-shmem.js";
export * from "./drm-gem-vram.js";
export * from "./drm-prime.js";
export * from "./drm-prime-file-private.js";
export * from "./drm-vma-manager.js";
export { type DrmGemTraceArgs, traceDrmGemShmemPurge, traceDrmGemVramMove } from "./trace.js";
