/**
 * A hang on asahi: its TDR fires, the hung job's fence signals with an error, and the error
 * travels through the fences to the amdgpu job that depended on it (seed 000: "errors propagate
 * through the ladder of in-flight fences"). Both drivers keep working afterwards — the asahi queue
 * at once, amdgpu with a new context, since a context whose job failed keeps failing (as
 * `amdgpu_job_prepare_job` does with `drm_sched_entity_error`) — and nothing leaks.
 */
import { agxOpenContext } from "@drmsim/asahi/user";
import "reflect-metadata";
import { amdgpuProbe } from "@drmsim/amdgpu";
import { amdgpuCsCtxCreate2 } from "@drmsim/amdgpu/user";
import { asahiProbe, DRM_ASAHI_SYNC_SYNCOBJ } from "@drmsim/asahi";
import type { DrmPluginHost } from "@drmsim/drm";
import { drmSyncobjCreate, drmSyncobjFDToHandle, drmSyncobjHandleToFD, drmSyncobjWait } from "@drmsim/drm";
import { errnoName, msecs } from "@drmsim/runtime";
import { createWorld } from "@drmsim/testing";
import { describe, expect, it } from "vitest";
import {
  amdgpuRender,
  amdgpuRenderDone,
  asahiRender,
  asahiSubmit,
  FOREVER,
  syncobjFence,
} from "../helpers/userspace.js";

const ASAHI_TIMEOUT = msecs(50);

describe("a GPU hang on asahi, seen from amdgpu", () => {
  it("TDR on asahi; the error reaches the dependent amdgpu job; both recover; nothing leaks", async () => {
    const w = createWorld({
      devices: [amdgpuProbe, (host: DrmPluginHost) => asahiProbe(host, { timeoutNs: ASAHI_TIMEOUT })],
      processes: ["producer", "consumer"],
    });
    const [amd, agx] = [w.devices[0]!, w.devices[1]!];
    const { producer, consumer } = { producer: w.procs["producer"]!, consumer: w.procs["consumer"]! };
    const r = await w.exec("producer", async () => {
      const { fd: agxFd, queue } = await agxOpenContext(producer, "/dev/dri/renderD129");
      const hungOut = await drmSyncobjCreate(producer, agxFd);
      await asahiSubmit(producer, agxFd, queue, {
        cmd: asahiRender({ hang: true }),
        outSyncs: [{ sync_type: DRM_ASAHI_SYNC_SYNCOBJ, handle: hungOut }],
      });
      const hung = syncobjFence(agx, producer, hungOut)!;
      // Hand the out-fence's syncobj to the amdgpu process.
      const objFd = await drmSyncobjHandleToFD(producer, agxFd, hungOut);
      const theirs = producer.sendFd(consumer, objFd);
      producer.close(objFd);

      const consumerSide = await consumer.run(async () => {
        const gpu = await consumer.open("/dev/dri/renderD128");
        const ctx = await amdgpuCsCtxCreate2(consumer, gpu);
        const dep = await drmSyncobjFDToHandle(consumer, gpu, theirs);
        consumer.close(theirs);
        const out = await drmSyncobjCreate(consumer, gpu);
        const seq = await amdgpuRender(consumer, gpu, ctx, { inSyncobjs: [dep], outSyncobjs: [out] });
        const job = syncobjFence(amd, consumer, out)!;
        // WAIT_CS returns the failed submission's error (amdgpu_cs_wait_ioctl).
        const status = await amdgpuRenderDone(consumer, gpu, ctx, seq).then(
          () => "done",
          (e: { code?: string }) => e.code,
        );
        const result = { status, error: job.error, at: job.timestampNs };
        job.put();
        // The context saw an error: as in amdgpu_job_prepare_job, its next job inherits it
        // (drm_sched_entity_error); userspace recovers with a fresh context (robustness).
        const errorOf = async (c: number) => {
          const o = await drmSyncobjCreate(consumer, gpu);
          await amdgpuRender(consumer, gpu, c, { outSyncobjs: [o] });
          await drmSyncobjWait(consumer, gpu, [o], FOREVER);
          const f = syncobjFence(amd, consumer, o)!;
          const e = f.error;
          f.put();
          return e;
        };
        const sameCtxError = await errorOf(ctx);
        const newCtxError = await errorOf(await amdgpuCsCtxCreate2(consumer, gpu));
        return { ...result, sameCtxError, newCtxError };
      }).result;

      // Recovery on asahi: the queue takes work again after the reset.
      const after = await drmSyncobjCreate(producer, agxFd);
      await asahiSubmit(producer, agxFd, queue, {
        outSyncs: [{ sync_type: DRM_ASAHI_SYNC_SYNCOBJ, handle: after }],
      });
      await drmSyncobjWait(producer, agxFd, [after], FOREVER);
      const a = syncobjFence(agx, producer, after)!;
      const asahiAfterError = a.error;
      a.put();
      const hungError = hung.error;
      const hungAt = hung.timestampNs;
      hung.put();
      return { consumerSide, hungError, hungAt, asahiAfterError };
    });

    // The TDR fired after the timeout and failed the hung job.
    expect(r.hungAt).toBeGreaterThanOrEqual(ASAHI_TIMEOUT);
    expect(r.hungError).toBeLessThan(0);
    // amdgpu's dependent job ended with that error and never ran on the GPU after a healthy fence.
    expect(r.consumerSide.status).toBe(errnoName(-r.hungError));
    expect(r.consumerSide.error).toBe(r.hungError);
    expect(r.consumerSide.at).toBeGreaterThanOrEqual(r.hungAt);
    // Both drivers recovered.
    expect(r.consumerSide.sameCtxError).toBe(r.hungError);
    expect(r.consumerSide.newCtxError).toBe(0);
    expect(r.asahiAfterError).toBe(0);
    expect(await w.teardown()).toEqual([]);
  });
});
