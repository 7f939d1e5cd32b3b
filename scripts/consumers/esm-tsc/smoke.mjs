// Runs in the consumer project where the published @drmsim/* packages were installed with npm:
// imports each installed package on its own in a fresh Node process (no reflect-metadata loaded
// first: a package that needs it loads it), then runs two scenarios against the published builds
// (a fence wait, and a two-device PRIME round trip across two processes) using only the packages'
// public entry points.
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";

const installed = readdirSync("node_modules/@drmsim").map((n) => `@drmsim/${n}`);
for (const name of installed) {
  const n = execFileSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const m = await import(${JSON.stringify(name)}); console.log(Object.keys(m).length);`,
    ],
    { encoding: "utf8" },
  ).trim();
  if (Number(n) === 0) throw new Error(`${name} exports nothing`);
  console.log(`import ${name} (fresh process): ${n} exports`);
}

const { Simulator, msecs } = await import("@drmsim/runtime");
const { DmaFence, dmaFenceContextAlloc } = await import("@drmsim/dma-fence");
const sim = new Simulator({ seed: 7 });
const ops = { getDriverName: () => "smoke", getTimelineName: () => "ring" };
const ctx = dmaFenceContextAlloc(sim);
const fences = [1, 2, 3].map((s) => new DmaFence(sim, ops, ctx, s));
for (const [i, f] of fences.entries()) sim.schedule(msecs(i + 1), () => f.signal(), sim.irqContext("ring"));
const left = await sim.exec("waiter", () => fences[2].wait({ timeoutNs: msecs(10) }));
if (left !== msecs(7)) throw new Error(`expected ${msecs(7)} ns left, got ${left}`);
for (const f of fences) f.put();
const { findings } = sim.teardown();
if (findings.length !== 0) throw new Error(`unexpected findings: ${findings.join("\n")}`);
console.log(`smoke: fence scenario ok at t=${sim.now} ns`);

// Two drivers, two processes, one buffer: the PRIME path a compositor and a client take. A vgem
// device exports a dumb buffer as a dma-buf; the fd crosses to another process, which imports it
// on a second vgem device. Bytes written through the exporter's mapping must be the bytes the
// importer reads, and a write fence attached on the exporter must hold the importer off (implicit
// sync through the shared reservation object) until it is signalled.
const { DrmPluginHost, drmModeCreateDumbBuffer, drmPrimeFDToHandle, drmPrimeHandleToFD } = await import(
  "@drmsim/drm"
);
const { EPOLLIN, Process } = await import("@drmsim/runtime");
const { DRM_IOCTL_VGEM_FENCE_ATTACH, DRM_IOCTL_VGEM_FENCE_SIGNAL, VGEM_FENCE_WRITE, vgemProbe } =
  await import("@drmsim/vgem");

const sim2 = new Simulator({ seed: 11 });
const host = new DrmPluginHost(sim2);
const exporterDev = vgemProbe(host);
const importerDev = vgemProbe(host);
const producer = new Process(sim2, "producer");
const consumer = new Process(sim2, "consumer");
const pattern = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 5) & 0xff);

const result = await sim2.exec("main", async () => {
  const p = await producer.open(exporterDev.primary.path);
  const c = await consumer.open(importerDev.primary.path);
  const bo = await drmModeCreateDumbBuffer(producer, p, 64, 64, 32);
  const dmabufFd = await drmPrimeHandleToFD(producer, p, bo.handle);

  // The producer "renders": CPU writes through the dma-buf's kernel mapping, then a write fence.
  const buf = producer.file(dmabufFd).priv;
  const map = await buf.vmapUnlocked();
  map.write(4096, pattern);
  await buf.resv.lock(null);
  buf.vunmap(map);
  buf.resv.unlock();
  const { out_fence } = await producer.ioctl(p, DRM_IOCTL_VGEM_FENCE_ATTACH, {
    handle: bo.handle,
    flags: VGEM_FENCE_WRITE,
  });

  // The fd crosses to the consumer, which imports it on the other device.
  const passed = producer.sendFd(consumer, dmabufFd);
  const handle = await drmPrimeFDToHandle(consumer, c, passed);
  const busy = [{ fd: passed, events: EPOLLIN }];
  const before = await consumer.poll(busy, 0);
  // The producer finishes 2 ms later; the consumer's blocking poll must return exactly then.
  sim2.schedule(2_000_000, () => {
    producer.run(() => producer.ioctl(p, DRM_IOCTL_VGEM_FENCE_SIGNAL, { fence: out_fence }));
  });
  const ready = await consumer.poll(busy);
  const readyAt = sim2.now;

  // And back: the consumer's own write fence, attached to its imported handle on the second
  // device, lands on the same reservation object, so the producer's dma-buf is busy until the
  // consumer signals it.
  const back = await consumer.ioctl(c, DRM_IOCTL_VGEM_FENCE_ATTACH, { handle, flags: VGEM_FENCE_WRITE });
  const mine = [{ fd: dmabufFd, events: EPOLLIN }];
  const backBefore = await producer.poll(mine, 0);
  sim2.schedule(1_000_000, () => {
    consumer.run(() => consumer.ioctl(c, DRM_IOCTL_VGEM_FENCE_SIGNAL, { fence: back.out_fence }));
  });
  const backReady = await producer.poll(mine);
  const backAt = sim2.now - readyAt;

  const rbuf = consumer.file(passed).priv;
  const rmap = await rbuf.vmapUnlocked();
  const got = rmap.read(4096, pattern.length);
  await rbuf.resv.lock(null);
  rbuf.vunmap(rmap);
  rbuf.resv.unlock();
  return { handle, before, ready, readyAt, backBefore, backReady, backAt, same: rbuf === buf, got: [...got] };
});

if (result.before !== 0)
  throw new Error(`dma-buf readable before the write fence signalled (${result.before})`);
if (result.ready !== 1 || result.readyAt !== 2_000_000)
  throw new Error(
    `implicit sync: poll returned ${result.ready} at ${result.readyAt} ns, expected 1 at 2000000`,
  );
if (result.backBefore !== 0 || result.backReady !== 1 || result.backAt !== 1_000_000)
  throw new Error(
    `importer's fence did not reach the exporter: ${result.backBefore}/${result.backReady} after ${result.backAt} ns`,
  );
if (!result.same) throw new Error("the imported fd is not the exported dma-buf");
if (result.got.some((b, i) => b !== pattern[i])) throw new Error(`bytes differ after PRIME: ${result.got}`);
producer.exit();
consumer.exit();
host.remove(exporterDev);
host.remove(importerDev);
const report = sim2.teardown();
if (report.findings.length !== 0) throw new Error(`unexpected findings: ${report.findings.join("\n")}`);
console.log(
  `smoke: vgem -> vgem PRIME across two processes ok (${pattern.length} bytes, fences both ways: importer waited ${result.readyAt} ns, exporter ${result.backAt} ns)`,
);
