/**
 * @drmsim/gem — GEM buffer objects as in `drivers/gpu/drm/drm_gem*.c`: the buddy allocator.
 */
export * from "./drm-buddy.js";
export * from "./drm-gem-handles.js";
export * from "./drm-gem-names.js";
export * from "./drm-gem-object.js";
export * from "./drm-prime-file-private.js";
