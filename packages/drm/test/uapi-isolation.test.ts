/**
 * uAPI isolation from userspace's side: handles are per file, fds are per process, a shared fd
 * keeps its object alive, and an exiting process releases everything it held while its in-flight
 * work still completes. vgem (render/primary) and a tiny accel driver with syncobjs are fixtures
 * (imported by path: drivers depend on the core, never the reverse).
 */

import { DmaFence, dmaFenceContextAlloc, SYNC_IOC_FILE_INFO } from "@drmsim/dma-fence";
import { EPOLLIN, msecs, Process, SA_RESTART, SIGKILL, SIGUSR1, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { VGEM_FENCE_NOTIMEOUT, VGEM_FENCE_WRITE, vgemProbe } from "../../../drivers/vgem/src/index.js";
import { vgemFenceAttach } from "../../../drivers/vgem/src/user/index.js";
import {
  DRM_IOCTL_GEM_CLOSE,
  DRM_IOCTL_SYNCOBJ_DESTROY,
  DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE,
  DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD,
  DRM_IOCTL_SYNCOBJ_WAIT,
  DRM_SYNCOBJ_CREATE_SIGNALED,
  DrmDriverFeature,
  DrmPluginHost,
  drmModeCreateDumbBuffer,
  drmPrimeFDToHandle,
  drmPrimeHandleToFD,
  drmSyncobjCreate,
  drmSyncobjExportSyncFile,
  drmSyncobjFDToHandle,
  drmSyncobjHandleToFD,
  drmSyncobjImportSyncFile,
  drmSyncobjTable,
  drmSyncobjWait,
} from "../src/index.js";
import { code } from "./errno-of.js";

class SyncAccel {
  apply() {}
}
const SYNC_ACCEL = {
  name: "syncaccel",
  features:
    DrmDriverFeature.COMPUTE_ACCEL |
    DrmDriverFeature.GEM |
    DrmDriverFeature.SYNCOBJ |
    DrmDriverFeature.SYNCOBJ_TIMELINE,
};

describe("uAPI isolation", () => {
  it("GEM handles are per file: another file's (or process's) handle number is ENOENT on lookup, EINVAL on close", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev = vgemProbe(host);
    const a = new Process(sim, "a");
    const b = new Process(sim, "b");
    await sim.exec("t", async () => {
      const card = await a.open("/dev/dri/card0");
      const ra = await a.open("/dev/dri/renderD128");
      const ra2 = await a.open("/dev/dri/renderD128");
      const rb = await b.open("/dev/dri/renderD128");
      const bo = await drmModeCreateDumbBuffer(a, card, 32, 32, 32);
      const buf = await drmPrimeHandleToFD(a, card, bo.handle);
      const h = await drmPrimeFDToHandle(a, ra, buf);
      // The same number means nothing in the other file of the same process …
      expect(await code(drmPrimeHandleToFD(a, ra2, h))).toBe("ENOENT");
      expect(await code(vgemFenceAttach(a, ra2, h))).toBe("ENOENT");
      expect(await code(a.ioctl(ra2, DRM_IOCTL_GEM_CLOSE, { handle: h }))).toBe("EINVAL");
      // … nor in another process's file.
      expect(await code(drmPrimeHandleToFD(b, rb, h))).toBe("ENOENT");
      expect(await code(b.ioctl(rb, DRM_IOCTL_GEM_CLOSE, { handle: h }))).toBe("EINVAL");
      // The refused close closed nothing: the owner still uses the handle.
      expect(await code(drmPrimeHandleToFD(a, ra, h))).toBe("ok");
      const files = [...dev.files];
      expect(files.map((f) => f.gem.count)).toEqual([1, 1, 0, 0]);
      // A handle of a closed file is stale everywhere, even when the fd number is reused.
      a.close(ra);
      const again = await a.open("/dev/dri/renderD128");
      expect(again).toBe(ra);
      expect(await code(drmPrimeHandleToFD(a, again, h))).toBe("ENOENT");
    });
    a.exit();
    b.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("syncobj handles are per file: a foreign handle is ENOENT (wait/export) or EINVAL (destroy)", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev = host.probe(SyncAccel, SYNC_ACCEL);
    const a = new Process(sim, "a");
    const b = new Process(sim, "b");
    await sim.exec("t", async () => {
      const fa = await a.open("/dev/accel/accel0");
      const fb = await b.open("/dev/accel/accel0");
      const s = await drmSyncobjCreate(a, fa, DRM_SYNCOBJ_CREATE_SIGNALED);
      expect(await drmSyncobjWait(a, fa, [s], 0)).toBe(0);
      expect(await code(drmSyncobjWait(b, fb, [s], 0))).toBe("ENOENT");
      expect(await code(drmSyncobjExportSyncFile(b, fb, s))).toBe("ENOENT");
      expect(await code(b.ioctl(fb, DRM_IOCTL_SYNCOBJ_DESTROY, { handle: s }))).toBe("EINVAL");
      expect(await code(b.ioctl(fb, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, { handle: s }))).toBe("EINVAL");
      // Sharing is explicit: a syncobj fd sent over a socket, imported into b's own table.
      const sfd = await drmSyncobjHandleToFD(a, fa, s);
      const sent = a.sendFd(b, sfd);
      const hb = (await b.ioctl<{ handle: number }>(fb, DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, { fd: sent })).handle;
      expect(await drmSyncobjWait(b, fb, [hb], 0)).toBe(0);
      // Each file has exactly its own syncobjs; the refused calls above destroyed nothing.
      expect([...dev.files].map((f) => drmSyncobjTable(f).list())).toEqual([[s], [hb]]);
    });
    a.exit();
    b.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("dma-buf and sync_file fds must be in the caller's own table: EBADF for a number it does not have", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const gpu = vgemProbe(host);
    const npu = host.probe(SyncAccel, SYNC_ACCEL);
    const a = new Process(sim, "a");
    const b = new Process(sim, "b");
    await sim.exec("t", async () => {
      const card = await a.open("/dev/dri/card0");
      const acc = await a.open("/dev/accel/accel0");
      const rb = await b.open("/dev/dri/renderD128");
      const bo = await drmModeCreateDumbBuffer(a, card, 8, 8, 32);
      const buf = await drmPrimeHandleToFD(a, card, bo.handle);
      const s = await drmSyncobjCreate(a, acc, DRM_SYNCOBJ_CREATE_SIGNALED);
      const sf = await drmSyncobjExportSyncFile(a, acc, s);
      expect(b.files.lookup(buf)).toBeUndefined();
      expect(b.files.lookup(sf)).toBeUndefined();
      // b names a's dma-buf fd: dma_buf_get finds nothing in b's table.
      expect(await code(drmPrimeFDToHandle(b, rb, buf))).toBe("EBADF");
      // b's own fd of the wrong kind (its DRM node) is not a dma-buf: EINVAL.
      expect(await code(drmPrimeFDToHandle(b, rb, rb))).toBe("EINVAL");
      // a sync_file fd b does not have: no ioctl reaches it …
      expect(await code(b.ioctl(sf, SYNC_IOC_FILE_INFO, {}))).toBe("EBADF");
      // … and syncobj import of it fails with the kernel's answer (sync_file_get_fence → NULL → EINVAL).
      const fb = await b.open("/dev/accel/accel0");
      const sb = await drmSyncobjCreate(b, fb);
      expect(await code(drmSyncobjImportSyncFile(b, fb, sb, sf))).toBe("EINVAL");
      // b's table is as it was: the DRM fds only.
      expect(b.files.list()).toEqual([rb, fb].sort((x, y) => x - y));
    });
    a.exit();
    b.exit();
    host.remove(gpu);
    host.remove(npu);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("closing an fd while another process holds a duplicate keeps the object alive", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev = vgemProbe(host);
    const a = new Process(sim, "a");
    const b = new Process(sim, "b");
    await sim.exec("t", async () => {
      const card = await a.open("/dev/dri/card0");
      const rb = await b.open("/dev/dri/renderD128");
      const bo = await drmModeCreateDumbBuffer(a, card, 64, 64, 32);
      const buf = await drmPrimeHandleToFD(a, card, bo.handle);
      const inB = a.sendFd(b, buf);
      // a lets go of everything it had: the fd, the handle, the whole device file.
      a.close(buf);
      await a.ioctl(card, DRM_IOCTL_GEM_CLOSE, { handle: bo.handle });
      a.close(card);
      const h = await drmPrimeFDToHandle(b, rb, inB);
      const file = [...dev.files][0]!;
      const obj = file.gem.peek(h)!;
      expect(obj.size).toBe(64 * 64 * 4);
      expect(obj.refcount).toBeGreaterThan(0);
      // The object is still the one a created: re-export gives b's fd's dma-buf back.
      const re = await drmPrimeHandleToFD(b, rb, h);
      expect(b.file(re).priv).toBe(b.file(inB).priv);
      b.close(re);
    });
    a.exit();
    b.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
    expect(sim.liveRefs.size).toBe(0);
  });

  it("a process that exits releases everything; its in-flight fences still signal and a sharer sees them", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev = vgemProbe(host);
    const producer = new Process(sim, "producer");
    const consumer = new Process(sim, "consumer");
    let shared = -1;
    await sim.exec("setup", async () => {
      const card = await producer.open("/dev/dri/card0");
      const r = await producer.open("/dev/dri/renderD128");
      const bo = await drmModeCreateDumbBuffer(producer, card, 16, 16, 32);
      const buf = await drmPrimeHandleToFD(producer, card, bo.handle);
      const hr = await drmPrimeFDToHandle(producer, r, buf);
      // Work in flight: a write fence nobody will signal by hand (no timeout either).
      await vgemFenceAttach(producer, r, hr, VGEM_FENCE_WRITE | VGEM_FENCE_NOTIMEOUT);
      shared = producer.sendFd(consumer, buf);
      // The buffer is busy while the write is in flight.
      expect(await consumer.poll([{ fd: shared, events: EPOLLIN, revents: 0 }], 0)).toBe(0);
      // Lots of state, none of it closed by hand.
      await drmModeCreateDumbBuffer(producer, card, 16, 16, 32);
      producer.dup(r);
    });
    expect(dev.files.size).toBe(2);
    producer.exit();
    // Both of producer's files are gone (the dup'd fd shared the render file).
    expect(dev.files.size).toBe(0);
    await sim.exec("consumer", async () => {
      // vgem's close signals the outstanding fence: the consumer's buffer becomes readable.
      expect(await consumer.poll([{ fd: shared, events: EPOLLIN, revents: 0 }], 1_000_000)).toBe(1);
      const r = await consumer.open("/dev/dri/renderD128");
      expect(await drmPrimeFDToHandle(consumer, r, shared)).toBe(1);
    });
    await expect(producer.open("/dev/dri/card0")).rejects.toMatchObject({ code: "ESRCH" });
    consumer.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
    expect(sim.liveRefs.size).toBe(0);
  });

  it("an exiting process's blocked wait is not left behind: the waiter is woken by a signal and the table released", async () => {
    const sim = new Simulator({ validator: "collect" });
    const host = new DrmPluginHost(sim);
    const dev = host.probe(SyncAccel, SYNC_ACCEL);
    const p = new Process(sim, "p");
    let fd = -1;
    let s = 0;
    await sim.exec("setup", async () => {
      fd = await p.open("/dev/accel/accel0");
      s = await drmSyncobjCreate(p, fd);
    });
    // WAIT_FOR_SUBMIT forever on a syncobj that never gets a fence.
    const waiter = p.run(() => drmSyncobjWait(p, fd, [s], Number.MAX_SAFE_INTEGER, 2));
    await sim.runFor(1_000_000_000);
    expect(waiter.state).toBe("running");
    // kill(SIGKILL): the waiting thread is woken, never returns to userspace (ESRCH here), and the
    // process exits (do_group_exit), closing its files.
    p.kill(SIGKILL);
    await sim.runFor(1);
    expect(waiter.state).toBe("failed");
    expect((waiter.error as { code?: string }).code).toBe("ESRCH");
    expect(p.exited).toBe(true);
    expect(p.killedBy).toBe(SIGKILL);
    expect(dev.files.size).toBe(0);
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  // Signals are per process (sigaction is process-wide, kill aims at one process): two processes
  // wait on one shared syncobj; the syscall return path (arch_do_signal_or_restart) decides per
  // process whether drm_syncobj_array_wait_timeout's -ERESTARTSYS becomes EINTR or a restart.
  it("a signal during a syncobj wait: EINTR in the process whose handler lacks SA_RESTART, a restart in the one whose has it; each only sees its own", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev = host.probe(SyncAccel, SYNC_ACCEL);
    const eintr = new Process(sim, "no-restart");
    const restart = new Process(sim, "sa-restart");
    const handled: string[] = [];
    eintr.sigaction(SIGUSR1, { handler: () => handled.push(eintr.name) });
    restart.sigaction(SIGUSR1, { handler: () => handled.push(restart.name), flags: SA_RESTART });
    let fe = -1;
    let fr = -1;
    let he = 0;
    let hr = 0;
    await sim.exec("setup", async () => {
      fe = await eintr.open("/dev/accel/accel0");
      fr = await restart.open("/dev/accel/accel0");
      he = await drmSyncobjCreate(eintr, fe);
      hr = await drmSyncobjFDToHandle(
        restart,
        fr,
        eintr.sendFd(restart, await drmSyncobjHandleToFD(eintr, fe, he)),
      );
    });
    const fence = new DmaFence(
      sim,
      { getDriverName: () => "t", getTimelineName: () => "r" },
      dmaFenceContextAlloc(sim),
      1,
    );
    drmSyncobjTable([...dev.files].find((f) => f.proc === eintr)!).signalPoint(he, fence);
    // The raw ioctl (not libdrm's drmSyncobjWait, which would hide the EINTR).
    const wait = (p: Process, fd: number, h: number) =>
      p.run(() =>
        p.ioctl(fd, DRM_IOCTL_SYNCOBJ_WAIT, {
          handles: [h],
          count_handles: 1,
          timeout_nsec: sim.now + msecs(50),
        }),
      );
    const we = wait(eintr, fe, he);
    const wr = wait(restart, fr, hr);
    sim.schedule(msecs(1), () => eintr.kill(SIGUSR1));
    sim.schedule(msecs(2), () => restart.kill(SIGUSR1));
    sim.schedule(msecs(4), () => fence.signal(), sim.irqContext("ring"));
    await sim.run();
    await expect(we.result).rejects.toMatchObject({ code: "EINTR" });
    await expect(wr.result).resolves.toMatchObject({ first_signaled: 0 });
    expect(handled).toEqual(["no-restart", "sa-restart"]);
    fence.put();
    eintr.exit();
    restart.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
