/** The cross-driver rules (`@drmsim/testing`) against habanalabs (device buffers, no GEM), one test per check and per ioctl: what `drmsim validate drivers/habanalabs` runs. */
import { describeDriverConformance } from "@drmsim/testing/vitest";
import { driver } from "../src/index.js";

describeDriverConformance(driver);
