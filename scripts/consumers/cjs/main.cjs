// A CommonJS program: require() loads the ESM packages (Node >= 20.19 without a flag), and the
// shared scenario module too.
const amdgpu = require("@drmsim/amdgpu");
const libdrmAmdgpu = require("@drmsim/amdgpu/user");
const drm = require("@drmsim/drm");
const runtime = require("@drmsim/runtime");
const vgem = require("@drmsim/vgem");
const { primeScenario } = require("./shared/prime.mjs");

primeScenario({ ...runtime, ...drm, ...vgem, ...amdgpu, ...libdrmAmdgpu }).then(
  (r) => console.log(`cjs prime: ${r}`),
  (e) => {
    console.error(e);
    process.exitCode = 1;
  },
);
