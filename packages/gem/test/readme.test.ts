/** The README's example, run as written (apart from the imports), and checked to match the README. */
import { readFileSync } from "node:fs";
import { Device } from "@drmsim/dma-buf";
import { Simulator } from "@drmsim/runtime";
import { expect, it } from "vitest";
import {
  DrmBuddy,
  DrmGemHandleTable,
  DrmGemShmemObject,
  drmGemPrimeDmaBufToHandle,
  drmGemPrimeHandleToDmaBuf,
  drmGemPrimeImport,
} from "../src/index.js";

it("README example: a shmem buffer shared between two drivers, and a buddy allocation", async () => {
  const log: unknown[] = [];
  const console = { log: (v: unknown) => log.push(v) };
  // --- begin example ---
  const sim = new Simulator();
  // Two shmem-based drivers, each with its drm device token and its DMA device.
  const gpu0 = { drm: { name: "gpu0" }, dmaDev: new Device(sim, { name: "gpu0" }) };
  const gpu1 = { drm: { name: "gpu1" }, dmaDev: new Device(sim, { name: "gpu1" }) };
  const renderer = new DrmGemHandleTable(sim, {}); // a file open on gpu0
  const display = new DrmGemHandleTable(sim, {}); // a file open on gpu1

  // The renderer creates a buffer, draws into it and exports it (PRIME_HANDLE_TO_FD).
  const bo = DrmGemShmemObject.create(sim, 64 * 1024, { dev: gpu0.drm, dmaDev: gpu0.dmaDev });
  const handle = renderer.handleCreate(bo);
  bo.put(); // the handle keeps it alive
  const map = await bo.vmap();
  map.write(0, new TextEncoder().encode("frame 1"));
  await bo.vunmap(map);
  const buf = drmGemPrimeHandleToDmaBuf(renderer, handle);

  // The display driver imports it (PRIME_FD_TO_HANDLE): attach, map, wrap the table.
  const importFn = (b: typeof buf) =>
    drmGemPrimeImport(gpu1.drm, b, {
      dmaDev: gpu1.dmaDev,
      importSgTable: (att, sgt) => DrmGemShmemObject.primeImportSgTable(sim, att, sgt, { dev: gpu1.drm }),
    });
  const seen = await sim.exec("display", async () => {
    const h = await drmGemPrimeDmaBufToHandle(display, buf, importFn);
    const again = await drmGemPrimeDmaBufToHandle(display, buf, importFn); // same dma-buf → same handle
    const obj = display.peek(h)!;
    const bytes = await buf.vmapUnlocked();
    const text = new TextDecoder().decode(bytes.read(0, 7));
    await buf.vunmapUnlocked(bytes);
    return { sameHandle: h === again, sharedResv: obj.resv === bo.resv, text };
  });
  console.log(seen); // { sameHandle: true, sharedResv: true, text: 'frame 1' }

  buf.put();
  display.release();
  renderer.release();

  // VRAM is carved up by the buddy allocator.
  const vram = DrmBuddy.init(256 << 20, 4096);
  const blocks = vram.alloc({ size: 3 << 20, flags: 0 });
  console.log(blocks.map((b) => b.size)); // [ 2097152, 1048576 ]
  vram.free(blocks);
  console.log(sim.teardown().findings.length); // 0
  // --- end example ---
  expect(log).toEqual([{ sameHandle: true, sharedResv: true, text: "frame 1" }, [2097152, 1048576], 0]);

  // The README shows exactly this code.
  const norm = (s: string) =>
    s
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "")
      .join("\n");
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const fromReadme = readme.slice(readme.indexOf("const sim = new Simulator();"), readme.lastIndexOf("```"));
  const self = readFileSync(new URL(import.meta.url), "utf8");
  const fromTest = self.slice(
    self.indexOf("// --- begin example ---") + 24,
    self.indexOf("// --- end example ---"),
  );
  expect(norm(fromTest)).toBe(norm(fromReadme));
});
