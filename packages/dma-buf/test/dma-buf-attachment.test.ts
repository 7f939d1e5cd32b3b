/** Attachments: static and dynamic, pin, map/unmap, invalidate_mappings, the locking convention. */
import { DmaResvUsage } from "@drmsim/dma-resv";
import { msecs, Simulator, type Task } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  BackingStore,
  type DmaBuf,
  type DmaBufAttachment,
  DmaDataDirection,
  devicePlacement,
  dmaBufInvalidateMappings,
  mapAttachment,
  mapAttachmentUnlocked,
  PAGE_SIZE,
  type SgTable,
  StoreExporter,
  systemPlacement,
  unmapAttachment,
  unmapAttachmentUnlocked,
} from "../src/index.js";
import { fence, GiB, MiB, machine } from "./fixtures.js";

const BIDI = DmaDataDirection.BIDIRECTIONAL;

async function locked<T>(buf: DmaBuf, fn: () => T | Promise<T>): Promise<T> {
  await buf.resv.lock(null);
  try {
    return await fn();
  } finally {
    buf.resv.unlock();
  }
}

function setup(
  sim: Simulator,
  opts: { size?: number; whitelisted?: boolean; maxSeg?: number; system?: boolean } = {},
) {
  const m = machine(sim, {
    ...(opts.whitelisted !== undefined ? { whitelisted: opts.whitelisted } : {}),
    ...(opts.maxSeg !== undefined ? { maxSeg: opts.maxSeg } : {}),
  });
  const size = opts.size ?? 64 * PAGE_SIZE;
  const placement = opts.system === true ? systemPlacement(sim, size) : devicePlacement(0x80_0000_0000, size);
  const exp = new StoreExporter({ dev: m.gpu0, store: new BackingStore(size, placement) });
  const buf = exp.export(sim);
  return { m, exp, buf };
}

describe("static attachments", () => {
  it("a static importer on a pinnable exporter pins on map and unpins on unmap", async () => {
    const sim = new Simulator();
    const { m, exp, buf } = setup(sim, { system: true });
    const att = buf.attach(m.nic0);
    expect(att.isDynamic).toBe(false);
    await sim.exec("imp", async () => {
      const sgt = await mapAttachmentUnlocked(att, BIDI);
      expect(exp.pinCount).toBe(1);
      expect(sgt.totalLength).toBe(buf.size);
      await unmapAttachmentUnlocked(att, sgt, BIDI);
      expect(exp.pinCount).toBe(0);
    });
    buf.detach(att);
    buf.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("the core waits for KERNEL-usage fences before a static importer gets its table", async () => {
    const sim = new Simulator();
    const { m, buf } = setup(sim, { system: true });
    const att = buf.attach(m.nic0);
    let mappedAt = -1;
    await sim.exec("imp", async () => {
      const move = fence(sim);
      await locked(buf, () => {
        buf.resv.reserveFences(1);
        buf.resv.addFence(move, DmaResvUsage.KERNEL);
      });
      sim.schedule(msecs(3), () => move.signal());
      move.put();
      const sgt = await mapAttachmentUnlocked(att, BIDI);
      mappedAt = sim.now;
      await unmapAttachmentUnlocked(att, sgt, BIDI);
    });
    expect(mappedAt).toBe(msecs(3));
    buf.detach(att);
    buf.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("an interrupted KERNEL-fence wait undoes the mapping and the pin", async () => {
    const sim = new Simulator();
    const { m, exp, buf } = setup(sim, { system: true });
    const att = buf.attach(m.nic0);
    const move = fence(sim);
    let t!: Task<SgTable>;
    await sim.exec("setup", () =>
      locked(buf, () => {
        buf.resv.reserveFences(1);
        buf.resv.addFence(move, DmaResvUsage.KERNEL);
      }),
    );
    t = sim.spawn("imp", () => mapAttachmentUnlocked(att, BIDI));
    sim.schedule(msecs(1), () => t.signal());
    await sim.run();
    await expect(t.result).rejects.toMatchObject({ code: "ERESTARTSYS" });
    expect(exp.pinCount).toBe(0);
    expect(att.mappingCount).toBe(0);
    move.signal();
    move.put();
    buf.detach(att);
    buf.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("pin/unpin on a static attachment is misuse (EINVAL)", async () => {
    const sim = new Simulator({ validator: "collect" });
    const { m, exp, buf } = setup(sim);
    const att = buf.attach(m.gpu1);
    await sim.exec("imp", () =>
      locked(buf, () => expect(() => att.pin()).toThrow(expect.objectContaining({ code: "EINVAL" }))),
    );
    expect(exp.pinCount).toBe(0);
    expect(sim.validator.findingsOf("dma-buf-misuse")).toHaveLength(1);
    buf.detach(att);
    buf.put();
  });
});

describe("dynamic attachments", () => {
  it("pin/unpin need the resv and are counted; an unbalanced unpin is EINVAL", async () => {
    const sim = new Simulator({ validator: "collect" });
    const { m, exp, buf } = setup(sim);
    const att = buf.dynamicAttach(m.gpu1, { allowPeer2peer: true }, null);
    expect(() => att.pin()).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(sim.validator.findingsOf("dma-buf-locking")).toHaveLength(1);
    await sim.exec("imp", () =>
      locked(buf, () => {
        att.pin();
        att.pin();
        expect([att.pinCount, exp.pinCount]).toEqual([2, 2]);
        att.unpin();
        att.unpin();
        expect(() => att.unpin()).toThrow(expect.objectContaining({ code: "EINVAL" }));
        expect([att.pinCount, exp.pinCount]).toEqual([0, 0]);
      }),
    );
    buf.detach(att);
    buf.put();
    expect(sim.validator.findingsOf("dma-buf-misuse")).toHaveLength(1);
  });

  it("map without the resv held: finding + EINVAL, nothing mapped", async () => {
    const sim = new Simulator({ validator: "collect" });
    const { m, buf } = setup(sim);
    const att = buf.dynamicAttach(m.gpu1, { allowPeer2peer: true }, null);
    await expect(mapAttachment(att, BIDI)).rejects.toMatchObject({ code: "EINVAL" });
    expect(att.mappingCount).toBe(0);
    expect(sim.validator.findingsOf("dma-buf-locking")).toHaveLength(1);
    buf.detach(att);
    buf.put();
  });

  it("attach/detach with the resv held is a locking finding (EDEADLK), nothing changes", async () => {
    const sim = new Simulator({ validator: "collect" });
    const { m, buf } = setup(sim);
    await sim.exec("imp", () =>
      locked(buf, () =>
        expect(() => buf.attach(m.gpu1)).toThrow(expect.objectContaining({ code: "EDEADLK" })),
      ),
    );
    expect(buf.attachments).toHaveLength(0);
    const att = buf.attach(m.gpu1);
    await sim.exec("imp2", () =>
      locked(buf, () => expect(() => buf.detach(att)).toThrow(expect.objectContaining({ code: "EDEADLK" }))),
    );
    expect(buf.attachments).toEqual([att]);
    buf.detach(att);
    buf.put();
    expect(sim.validator.findingsOf("dma-buf-locking").length).toBe(2);
  });

  it("unmap twice: finding + EINVAL, state unchanged; detach with live mappings: EBUSY", async () => {
    const sim = new Simulator({ validator: "collect" });
    const { m, buf } = setup(sim);
    const att = buf.dynamicAttach(m.gpu1, { allowPeer2peer: true }, null);
    let sgt!: SgTable;
    await sim.exec("imp", () =>
      locked(buf, async () => {
        sgt = await mapAttachment(att, BIDI);
      }),
    );
    expect(() => buf.detach(att)).toThrow(expect.objectContaining({ code: "EBUSY" }));
    expect(buf.attachments).toEqual([att]);
    await sim.exec("imp", () =>
      locked(buf, () => {
        unmapAttachment(att, sgt, BIDI);
        expect(() => unmapAttachment(att, sgt, BIDI)).toThrow(expect.objectContaining({ code: "EINVAL" }));
      }),
    );
    expect(att.mappingCount).toBe(0);
    expect(sim.validator.findingsOf("dma-buf-misuse").length).toBe(2);
    buf.detach(att);
    expect(() => buf.detach(att)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    buf.put();
    expect(sim.teardown().findings.filter((f) => f.kind === "leak")).toEqual([]);
  });

  it("invalidate_mappings needs the resv held (finding + EINVAL otherwise)", () => {
    const sim = new Simulator({ validator: "collect" });
    const { m, buf } = setup(sim);
    let calls = 0;
    const att = buf.dynamicAttach(
      m.gpu1,
      { allowPeer2peer: true, invalidateMappings: () => void calls++ },
      null,
    );
    expect(() => dmaBufInvalidateMappings(buf)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(calls).toBe(0);
    expect(sim.validator.findingsOf("dma-buf-locking")).toHaveLength(1);
    buf.detach(att);
    buf.put();
  });
});

describe("peer-to-peer device memory (issue #6: done when)", () => {
  it("(a) 6 GiB of device memory, a p2p importer with 1 MiB segments: exactly 6,144 segments, no 6 GiB allocated", async () => {
    const sim = new Simulator();
    const heapBefore = process.memoryUsage().heapUsed;
    const { m, exp, buf } = setup(sim, { size: 6 * GiB, maxSeg: MiB });
    const att = buf.dynamicAttach(m.gpu1, { allowPeer2peer: true }, null);
    expect(att.peer2peer).toBe(true);
    await sim.exec("imp", () =>
      locked(buf, async () => {
        const sgt = await mapAttachment(att, BIDI);
        expect(sgt.nents).toBe(6144);
        let n = 0;
        let total = 0;
        let expected = 0x80_0000_0000;
        for (const seg of sgt) {
          expect(seg.length).toBe(MiB);
          expect(seg.dmaAddress).toBe(expected);
          expected += MiB;
          total += seg.length;
          n++;
        }
        expect([n, total]).toEqual([6144, 6 * GiB]);
        unmapAttachment(att, sgt, BIDI);
      }),
    );
    expect(exp.store.residentBytes).toBe(0);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(50 * MiB);
    buf.detach(att);
    buf.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("(b) a move with two dynamic importers invalidates both with the resv held; new addresses; bytes intact", async () => {
    const sim = new Simulator();
    const { m, exp, buf } = setup(sim, { size: 256 * PAGE_SIZE, whitelisted: true });
    const heldDuringInvalidate: boolean[] = [];
    const tables = new Map<DmaBufAttachment, SgTable | null>();
    const importer = {
      allowPeer2peer: true,
      invalidateMappings(att: DmaBufAttachment) {
        heldDuringInvalidate.push(buf.resv.isLockedByCurrent);
        const sgt = tables.get(att);
        if (sgt) unmapAttachment(att, sgt, BIDI);
        tables.set(att, null);
      },
    };
    const a = buf.dynamicAttach(m.gpu1, importer, "a");
    const b = buf.dynamicAttach(m.nic0, importer, "b");
    const payload = new Uint8Array(10_000).map((_, i) => (i * 31) & 0xff);
    let before: number[] = [];
    let after: number[] = [];
    await sim.exec("gpu", () =>
      locked(buf, async () => {
        const map = buf.vmap();
        map.write(3 * PAGE_SIZE + 5, payload);
        buf.vunmap(map);
        for (const att of [a, b]) tables.set(att, await mapAttachment(att, BIDI));
        before = [a, b].map((att) => tables.get(att)!.segment(0).dmaAddress);
        exp.move(buf, systemPlacement(sim, buf.size));
        expect([...tables.values()]).toEqual([null, null]);
        for (const att of [a, b]) tables.set(att, await mapAttachment(att, BIDI));
        after = [a, b].map((att) => tables.get(att)!.segment(0).dmaAddress);
        for (const att of [a, b]) unmapAttachment(att, tables.get(att)!, BIDI);
      }),
    );
    expect(heldDuringInvalidate).toEqual([true, true]);
    expect(after[0]).not.toBe(before[0]);
    expect(after[1]).not.toBe(before[1]);
    expect(exp.store.read(3 * PAGE_SIZE + 5, payload.length)).toEqual(payload);
    buf.detach(a);
    buf.detach(b);
    buf.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a pinned buffer refuses to move (EBUSY) and nobody is invalidated", async () => {
    const sim = new Simulator();
    const { m, exp, buf } = setup(sim);
    let calls = 0;
    const att = buf.dynamicAttach(
      m.gpu1,
      { allowPeer2peer: true, invalidateMappings: () => void calls++ },
      null,
    );
    await sim.exec("t", () =>
      locked(buf, () => {
        att.pin();
        expect(() => exp.move(buf, systemPlacement(sim, buf.size))).toThrow(
          expect.objectContaining({ code: "EBUSY" }),
        );
        att.unpin();
      }),
    );
    expect(calls).toBe(0);
    expect(exp.store.placement.domain).toBe("device");
    buf.detach(att);
    buf.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("(c) a non-p2p importer, an unsupported distance, a platform device: EPERM with the reason; nothing leaks", async () => {
    const sim = new Simulator();
    const { m, buf } = setup(sim, { whitelisted: false });
    const cases = [
      { att: buf.dynamicAttach(m.gpu1, { allowPeer2peer: false }, null), why: /did not allow peer2peer/ },
      { att: buf.attach(m.gpu1), why: /did not allow peer2peer/ },
      {
        att: buf.dynamicAttach(m.nic0, { allowPeer2peer: true }, null),
        why: /PCI topology does not support it/,
      },
      { att: buf.dynamicAttach(m.gpu2, { allowPeer2peer: true }, null), why: /PCI topology/ },
      { att: buf.dynamicAttach(m.platform, { allowPeer2peer: true }, null), why: /PCI topology/ },
    ];
    await sim.exec("imp", () =>
      locked(buf, async () => {
        for (const c of cases) {
          await expect(mapAttachment(c.att, BIDI)).rejects.toMatchObject({
            code: "EPERM",
            message: expect.stringMatching(c.why),
          });
          expect(c.att.mappingCount).toBe(0);
        }
      }),
    );
    for (const c of cases) buf.detach(c.att);
    buf.put();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("attachment lifetime", () => {
  it("an attachment holds no reference; releasing the buffer while attached is misuse", () => {
    const sim = new Simulator({ validator: "collect" });
    const { m, buf } = setup(sim);
    const att = buf.attach(m.gpu1);
    expect(buf.refcount).toBe(1);
    expect(att.dmabuf).toBe(buf);
    buf.put();
    expect(sim.validator.findingsOf("dma-buf-misuse")).toHaveLength(1);
    expect(sim.validator.findingsOf("dma-buf-misuse")[0]!.title).toMatch(/1 attachment\(s\) \(gpu1\)/);
    expect(buf.isReleased).toBe(true);
  });
});
