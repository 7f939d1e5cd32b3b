/**
 * @drmsim/gem — GEM buffer objects as in `drivers/gpu/drm/drm_gem*.c`: the buddy allocator.
 */
export * from "./drm-buddy.js";
