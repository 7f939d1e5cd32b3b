/** The scenario `drmsim demo` runs. */
import gpuFrames from "./gpu-frames.js";

export const demoScenario = gpuFrames;
