/**
 * @drmsim/vgem/user — the userspace side of the vgem uAPI, as IGT's `lib/igt_vgem.c` calls it:
 * attach a fence to a buffer, signal it. Used by vgem's tests, the conformance suite, the fuzzer
 * and the CLI's fixtures.
 */
export * from "./vgem-fence.js";
