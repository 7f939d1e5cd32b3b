// TypeScript under module nodenext types a CommonJS require() of the ESM packages (require(esm)).
import runtime = require("@drmsim/runtime");
import drm = require("@drmsim/drm");
import vgem = require("@drmsim/vgem");

const sim = new runtime.Simulator({ seed: 1 });
const host = new drm.DrmPluginHost(sim);
const dev: drm.DrmDevice = vgem.vgemProbe(host);
const path: string | undefined = dev.primary?.path;

export { path };
