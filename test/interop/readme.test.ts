/** Runs the README example (habanalabs HBM imported peer to peer by amdgpu) as written. */
import "reflect-metadata";
import { type AmdgpuBo, amdgpuProbe } from "@drmsim/amdgpu";
import { amdgpuCsCtxCreate2 } from "@drmsim/amdgpu/user";
import { type PciDev, PciHostBridge } from "@drmsim/dma-buf";
import { DrmPluginHost, drmPrimeFDToHandle } from "@drmsim/drm";
import { habanalabsProbe } from "@drmsim/habanalabs";
import {
  hlthunkDeviceMappedMemoryExportDmabufFd,
  hlthunkDeviceMemoryAlloc,
  hlthunkDeviceMemoryMap,
} from "@drmsim/habanalabs/user";
import { Process, Simulator } from "@drmsim/runtime";
import { expect, it } from "vitest";
import { amdgpuRender, fileOf } from "../helpers/userspace.js";

it("README example: 4 MiB of HBM mapped by amdgpu in 64 KiB segments", async () => {
  const sim = new Simulator({ seed: 1 });
  const [a, b] = new PciHostBridge("pci0000:00").addRootPort("00:01.0").addSwitch("sw0", 2) as [
    PciDev,
    PciDev,
  ];
  const host = new DrmPluginHost(sim);
  habanalabsProbe(host, { pci: a.addEndpoint("03:00.0") });
  const gpu = amdgpuProbe(host, { pci: b.addEndpoint("04:00.0") });
  const app = new Process(sim, "app");
  const nents = await sim.exec("app", async () => {
    const accel = await app.open("/dev/accel/accel0");
    const size = 4 * 1024 * 1024;
    const va = await hlthunkDeviceMemoryMap(app, accel, await hlthunkDeviceMemoryAlloc(app, accel, size));
    const fd = await hlthunkDeviceMappedMemoryExportDmabufFd(app, accel, va, size);
    const render = await app.open("/dev/dri/renderD128");
    const bo = await drmPrimeFDToHandle(app, render, fd);
    await amdgpuRender(app, render, await amdgpuCsCtxCreate2(app, render), { bos: [bo] });
    return (fileOf(gpu, app).gem.peek(bo) as AmdgpuBo).importSgt!.nents;
  });
  expect(nents).toBe(64);
  app.exit();
  for (const d of [...host.devices]) host.remove(d);
  await sim.run();
  expect(sim.teardown().findings).toEqual([]);
});
