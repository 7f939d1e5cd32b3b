/** The cross-driver rules (`@drmsim/testing`) against amdgpu, one test per check and per ioctl: what `drmsim validate drivers/amdgpu` runs. */
import { describeDriverConformance } from "@drmsim/testing/vitest";
import { driver } from "../src/index.js";

describeDriverConformance(driver);
