// The scenario every bundled and CommonJS consumer runs against the published packages: two
// drivers share one buffer by PRIME (amdgpu through its userspace library, the /user subpath). vgem creates a dumb buffer (DRM_IOCTL_MODE_CREATE_DUMB, a core
// ioctl: the table a bundler must keep) and exports it; a second process imports the dma-buf fd on
// amdgpu and submits a gfx job that reads it. vgem's write fence on the shared reservation object
// holds the amdgpu job back (implicit sync across drivers) until vgem signals it at 2 ms; the
// 1 ms job then ends at 3 ms. The bytes written through the exporter's mapping are what the
// importer's dma-buf holds. Throws on any difference; returns what it measured.
//
// Plain ESM without top-level await, so CommonJS can require() it (Node >= 20.19).

/** Runs the scenario with the packages' exports passed in `m` (whatever way the consumer loaded them). */
export async function primeScenario(m) {
  const sim = new m.Simulator({ seed: 26 });
  const host = new m.DrmPluginHost(sim);
  const vgem = m.vgemProbe(host);
  const amdgpu = m.amdgpuProbe(host, { vramSize: 64 * 1024 * 1024 });
  const producer = new m.Process(sim, "producer");
  const consumer = new m.Process(sim, "consumer");
  const pattern = Uint8Array.from({ length: 256 }, (_, i) => (i * 37 + 5) & 0xff);

  const r = await sim.exec("main", async () => {
    const v = await producer.open(vgem.primary.path);
    const bo = await m.drmModeCreateDumbBuffer(producer, v, 64, 64, 32);
    const dmabuf = await m.drmPrimeHandleToFD(producer, v, bo.handle);
    const buf = producer.file(dmabuf).priv;
    const map = await buf.vmapUnlocked();
    map.write(0, pattern);
    await buf.resv.lock(null);
    buf.vunmap(map);
    buf.resv.unlock();
    const { out_fence } = await producer.ioctl(v, m.DRM_IOCTL_VGEM_FENCE_ATTACH, {
      handle: bo.handle,
      flags: m.VGEM_FENCE_WRITE,
    });

    const a = await consumer.open(amdgpu.render.path);
    const passed = producer.sendFd(consumer, dmabuf);
    const handle = await m.drmPrimeFDToHandle(consumer, a, passed);
    const ctx = await m.amdgpuCsCtxCreate2(consumer, a);
    const seq = await m.amdgpuCsSubmitRaw2(consumer, a, ctx, [
      m.amdgpuCsChunkIb({ ip_type: m.AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1_000_000 }),
      m.amdgpuCsChunkBoList([handle]),
    ]);
    sim.schedule(2_000_000, () => {
      producer.run(() => producer.ioctl(v, m.DRM_IOCTL_VGEM_FENCE_SIGNAL, { fence: out_fence }));
    });
    const done = await m.amdgpuCsQueryFenceStatus(consumer, a, {
      ctxId: ctx,
      ipType: m.AMDGPU_HW_IP_GFX,
      ring: 0,
      fence: seq,
    });
    const doneAt = sim.now;
    const theirs = consumer.file(passed).priv;
    const rmap = await theirs.vmapUnlocked();
    const got = [...rmap.read(0, pattern.length)];
    await theirs.resv.lock(null);
    theirs.vunmap(rmap);
    theirs.resv.unlock();
    return { size: bo.size, handle, done, doneAt, same: theirs === buf, got };
  });

  if (r.size !== 64 * 64 * 4) throw new Error(`dumb buffer of ${r.size} bytes, expected ${64 * 64 * 4}`);
  if (!(r.handle > 0)) throw new Error(`amdgpu imported the dma-buf as handle ${r.handle}`);
  if (r.done !== true) throw new Error("AMDGPU_WAIT_CS says the job is still busy");
  if (r.doneAt !== 3_000_000)
    throw new Error(`the amdgpu job ended at ${r.doneAt} ns, expected 3000000 (after vgem's fence at 2 ms)`);
  if (!r.same) throw new Error("the fd the importer holds is not the exported dma-buf");
  if (r.got.some((b, i) => b !== pattern[i])) throw new Error("the importer's dma-buf holds other bytes");
  producer.exit();
  consumer.exit();
  host.remove(amdgpu);
  host.remove(vgem);
  const { findings } = sim.teardown();
  if (findings.length !== 0) throw new Error(`validator findings:\n${findings.join("\n")}`);
  return `vgem dumb buffer (${r.size} bytes) shared by PRIME with amdgpu; the amdgpu job waited for vgem's fence and ended at ${r.doneAt / 1e6} ms; teardown clean`;
}
