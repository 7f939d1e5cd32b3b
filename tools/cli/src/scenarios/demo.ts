/**
 * The scenario `drmsim demo` runs: the three-driver interop loop (amdgpu renders, asahi
 * composites at 60 Hz with implicit sync, habanalabs runs an inference CS per frame).
 * `gpu-frames.ts` stays as the second built-in scenario (runtime and dma-fence only).
 */
import interop from "./interop.js";

export const demoScenario = interop;
