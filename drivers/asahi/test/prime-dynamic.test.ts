/**
 * asahi as a dynamic dma-buf importer: foreign buffers are attached without a mapping, mapped by
 * the next submit on a VM they are bound into (`drm_gpuvm`'s external objects, locked and
 * validated at exec), unmapped when the exporter moves them, and mapped again — at the new
 * placement — by the next submit.
 *
 * The exporter is `StoreExporter` from @drmsim/dma-buf: a device-memory/system-memory store that
 * moves on demand and invalidates dynamic importers when it does (what TTM does for amdgpu/xe).
 */
import {
  BackingStore,
  Device,
  type DmaBuf,
  type DmaBufAttachment,
  type DmaDataDirection,
  devicePlacement,
  dmaBufFd,
  PAGE_SIZE,
  type SgTable,
  StoreExporter,
  systemPlacement,
} from "@drmsim/dma-buf";
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { DmaResvUsage } from "@drmsim/dma-resv";
import {
  DrmGemPrimeDynamicObject,
  drmPrimeFDToHandle,
  drmPrimeHandleToFD,
  drmSyncobjCreate,
  drmSyncobjWait,
} from "@drmsim/drm";
import { Process, type Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { asahiPrimeStats, DRM_ASAHI_BIND_READ, DRM_ASAHI_BIND_WRITE } from "../src/index.js";
import { agxBoCreate, agxOpenContext, agxRenderCommand, agxVmBind } from "../src/user/index.js";
import { fileOf, outSyncs, setup, submit, syncobjFence } from "./helpers.js";

const FOREVER = 2n ** 62n;
const SIZE = 16 * PAGE_SIZE;

/** A foreign exporter with one buffer, in system memory unless `inDevice`. */
function exporter(sim: Simulator, inDevice = false) {
  const dev = new Device(sim, { name: "exp" });
  const placement = inDevice ? devicePlacement(0x80_0000_0000, SIZE) : systemPlacement(sim, SIZE);
  const exp = new StoreExporter({ dev, store: new BackingStore(SIZE, placement) });
  return { exp, buf: exp.export(sim) };
}

/** The exporter moves the buffer (TTM eviction/migration), holding its resv. */
async function move(exp: StoreExporter, buf: DmaBuf, sim: Simulator, inDevice = false) {
  await buf.resv.lock(null);
  try {
    exp.move(buf, inDevice ? devicePlacement(0x90_0000_0000, SIZE) : systemPlacement(sim, SIZE));
  } finally {
    buf.resv.unlock();
  }
}

/** One render job on a VM the buffer is bound into, waited for. */
async function sample(p: Process, fd: number, queue: number) {
  const done = await drmSyncobjCreate(p, fd);
  await submit(p, fd, {
    queue_id: queue,
    commands: [agxRenderCommand()],
    syncs: outSyncs(done),
    in_sync_count: 0,
    out_sync_count: 1,
  });
  await drmSyncobjWait(p, fd, [done], FOREVER);
}

/**
 * Imports the exporter's buffer into `p`'s asahi file and binds it into VM `vm`, as Mesa binds
 * every BO it uses; the process's dma-buf fd is closed again.
 */
async function importInto(p: Process, fd: number, vm: number, buf: DmaBuf) {
  const bufFd = dmaBufFd(buf, p);
  const handle = await drmPrimeFDToHandle(p, fd, bufFd);
  p.close(bufFd);
  await agxVmBind(p, fd, vm, [
    { flags: DRM_ASAHI_BIND_READ | DRM_ASAHI_BIND_WRITE, handle, offset: 0, range: SIZE, addr: 0x10_0000 },
  ]);
  return handle;
}

describe("asahi dynamic dma-buf import", () => {
  it("maps at the first submit, reuses the mapping, drops it on a move, maps the new placement at the next submit", async () => {
    const { sim, dev } = setup();
    const { exp, buf } = exporter(sim);
    const app = new Process(sim, "app");
    const stats = asahiPrimeStats(dev);
    await sim.exec("app", async () => {
      const { fd, vm, queue } = await agxOpenContext(app);
      const handle = await importInto(app, fd, vm, buf);
      const obj = fileOf(dev, app).gem.peek(handle) as DrmGemPrimeDynamicObject;
      expect(obj).toBeInstanceOf(DrmGemPrimeDynamicObject);
      expect(obj.resv).toBe(buf.resv);
      expect(obj.importAttach!.isDynamic).toBe(true);
      expect(obj.sgt).toBe(null); // attached, not mapped
      expect(exp.attached.size).toBe(1);

      await sample(app, fd, queue);
      const first = obj.sgt!;
      expect(first.ranges()[0]!.dmaAddress).toBe(exp.store.placement.runs[0]!.address);
      expect({ ...stats }).toEqual({ maps: 1, reuses: 0, invalidations: 0 });

      await sample(app, fd, queue);
      expect(obj.sgt).toBe(first);
      expect({ ...stats }).toEqual({ maps: 1, reuses: 1, invalidations: 0 });

      await move(exp, buf, sim);
      expect(obj.sgt).toBe(null);
      expect(stats.invalidations).toBe(1);
      // A second move with nothing mapped has nothing to drop.
      await move(exp, buf, sim);
      expect(stats.invalidations).toBe(1);

      await sample(app, fd, queue);
      const second = obj.sgt!;
      expect(second).not.toBe(first);
      expect(second.ranges()[0]!.dmaAddress).toBe(exp.store.placement.runs[0]!.address);
      expect(second.ranges()[0]!.dmaAddress).not.toBe(first.ranges()[0]!.dmaAddress);
      expect({ ...stats }).toEqual({ maps: 2, reuses: 1, invalidations: 1 });
      app.close(fd);
    });
    // Closing the file freed the import: unmapped, detached, the dma-buf reference dropped.
    expect(exp.attached.size).toBe(0);
    expect(exp.released).toBe(true);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a submit whose map fails (device memory, no peer-to-peer) is refused whole: no job, no fence, nothing mapped", async () => {
    const { sim, dev } = setup();
    const { exp, buf } = exporter(sim, true);
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, vm, queue } = await agxOpenContext(app);
      const handle = await importInto(app, fd, vm, buf);
      const obj = fileOf(dev, app).gem.peek(handle) as DrmGemPrimeDynamicObject;
      // asahi allows peer2peer; the exporter's attach cleared it (no PCI path between the two).
      expect(obj.importAttach!.peer2peer).toBe(false);
      await expect(sample(app, fd, queue)).rejects.toMatchObject({ code: "EPERM" });
      expect(obj.sgt).toBe(null);
      expect(buf.resv.numFences).toBe(0);
      expect(asahiPrimeStats(dev)).toMatchObject({ maps: 0, reuses: 0 });
      // Once the exporter migrates it to system memory, the same submit goes through.
      await move(exp, buf, sim);
      await sample(app, fd, queue);
      expect(obj.sgt!.ranges()[0]!.dmaAddress).toBe(exp.store.placement.runs[0]!.address);
      app.close(fd);
    });
    expect(sim.teardown().findings).toEqual([]);
  });

  it("the job's finished fence lands in the shared resv as BOOKKEEP; asahi's own export comes back as the same shmem object", async () => {
    const { sim, dev } = setup();
    const { buf } = exporter(sim);
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, vm, queue } = await agxOpenContext(app);
      await importInto(app, fd, vm, buf);
      await sample(app, fd, queue);
      // BOOKKEEP usage: the exporter waits for the job before it moves the buffer, while implicit
      // sync (READ/WRITE) never sees it — asahi is explicit-sync only.
      expect(buf.resv.numFences).toBe(1);
      expect(buf.resv.getSingleton(DmaResvUsage.BOOKKEEP)).toBe(null); // signalled: the job is done
      expect(buf.resv.testSignaled(DmaResvUsage.BOOKKEEP)).toBe(true);
      const own = await agxBoCreate(app, fd, SIZE);
      const ownFd = await drmPrimeHandleToFD(app, fd, own);
      const back = await drmPrimeFDToHandle(app, fd, ownFd);
      app.close(ownFd);
      expect(back).toBe(own);
      expect(fileOf(dev, app).gem.peek(own)).not.toBeInstanceOf(DrmGemPrimeDynamicObject);
      app.close(fd);
    });
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a move the exporter makes to serve the map leaves its fence in the resv: the job waits for it (not for the exporter's write), and its own fence still gets a slot", async () => {
    // What TTM does when an importer maps a buffer it cannot reach where it is: the map moves it,
    // pipelined, and the copy's fence goes into the resv — taking the slot the submit reserved
    // for its job before mapping. The submit must reserve again (a rarely taken path: only a
    // map that moves does it).
    const { sim, dev } = setup();
    const ops = { getDriverName: () => "exp", getTimelineName: () => "copy" };
    const copy = new DmaFence(sim, ops, dmaFenceContextAlloc(sim), 1);
    // The exporter's own earlier write, still in flight: with it the resv list is full after
    // every unlock (reservations end with the lock hold), so each slot the submit reserves is
    // the only spare one.
    const write = new DmaFence(sim, ops, dmaFenceContextAlloc(sim), 1);
    class MovingExporter extends StoreExporter {
      override mapDmaBuf(att: DmaBufAttachment, dir: DmaDataDirection): SgTable {
        att.dmabuf.resv.reserveFences(1);
        att.dmabuf.resv.addFence(copy, DmaResvUsage.KERNEL);
        return super.mapDmaBuf(att, dir);
      }
    }
    const exp = new MovingExporter({
      dev: new Device(sim, { name: "exp" }),
      store: new BackingStore(SIZE, systemPlacement(sim, SIZE)),
    });
    const buf = exp.export(sim);
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      await buf.resv.lock(null);
      buf.resv.reserveFences(1);
      buf.resv.addFence(write, DmaResvUsage.WRITE);
      buf.resv.unlock();
      const { fd, vm, queue } = await agxOpenContext(app);
      await importInto(app, fd, vm, buf);
      const done = await drmSyncobjCreate(app, fd);
      await submit(app, fd, {
        queue_id: queue,
        commands: [agxRenderCommand()],
        syncs: outSyncs(done),
        in_sync_count: 0,
        out_sync_count: 1,
      });
      // The submit mapped the buffer (the map that moved it), and the write's, the copy's (KERNEL)
      // and the job's (BOOKKEEP) fences are in the resv, none signalled.
      expect(asahiPrimeStats(dev).maps).toBe(1);
      expect(buf.resv.numFences).toBe(3);
      expect(buf.resv.testSignaled(DmaResvUsage.KERNEL)).toBe(false);
      // The job waits for the copy — 10 ms on (many times a render command's length) it has not
      // finished; once the copy signals, it runs — but not for the exporter's write: synchronisation
      // with other writers is explicit, so the write is still pending when the job is done.
      let doneBeforeCopy: boolean | undefined;
      sim.schedule(10_000_000, () => {
        const job = syncobjFence(dev, app, done);
        doneBeforeCopy = job?.isSignaled();
        job?.put();
        copy.signal();
      });
      await drmSyncobjWait(app, fd, [done], FOREVER);
      expect(doneBeforeCopy).toBe(false);
      expect(sim.now).toBeGreaterThanOrEqual(10_000_000);
      expect(write.isSignaled()).toBe(false);
      write.signal();
      expect(buf.resv.testSignaled(DmaResvUsage.BOOKKEEP)).toBe(true);
      app.close(fd);
    });
    copy.put();
    write.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("asahiPrimeStats: zero for a fresh asahi device, ENODEV for anything else", () => {
    expect({ ...asahiPrimeStats(setup().dev) }).toEqual({ maps: 0, reuses: 0, invalidations: 0 });
    expect(() => asahiPrimeStats({ toString: () => "vgem" } as never)).toThrow(
      expect.objectContaining({ code: "ENODEV" }),
    );
  });
});
