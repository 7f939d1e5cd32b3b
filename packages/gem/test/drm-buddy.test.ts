import { isKernelError, Prng } from "@drmsim/runtime";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DRM_BUDDY_MAX_ORDER, DrmBuddy, type DrmBuddyBlock, DrmBuddyFlag } from "../src/index.js";

const SZ_4K = 4096;
const SZ_1M = 1 << 20;

function expectErr(fn: () => unknown, code: string) {
  try {
    fn();
  } catch (e) {
    expect(isKernelError(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}`);
}

function total(blocks: readonly DrmBuddyBlock[]) {
  return blocks.reduce((s, b) => s + b.size, 0);
}

/** Every allocated block lies inside the managed size, none overlap. */
function expectDisjoint(blocks: readonly DrmBuddyBlock[]) {
  const sorted = [...blocks].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    expect(sorted[i]!.offset).toBeGreaterThanOrEqual(sorted[i - 1]!.offset + sorted[i - 1]!.size);
  }
}

describe("drm_buddy init", () => {
  it("rejects bad chunk sizes and sizes below one chunk", () => {
    expectErr(() => DrmBuddy.init(SZ_1M, 1000), "EINVAL");
    expectErr(() => DrmBuddy.init(SZ_1M, 2048), "EINVAL");
    expectErr(() => DrmBuddy.init(SZ_4K - 1, SZ_4K), "EINVAL");
  });

  it("cuts a non-power-of-two size into roots, one per set bit", () => {
    const mm = DrmBuddy.init(SZ_1M + 64 * 1024 + 3 * SZ_4K + 100, SZ_4K);
    expect(mm.size).toBe(SZ_1M + 64 * 1024 + 3 * SZ_4K);
    expect(mm.roots.map((r) => r.size)).toEqual([SZ_1M, 64 * 1024, 2 * SZ_4K, SZ_4K]);
    expect(mm.avail).toBe(mm.size);
    expect(mm.maxOrder).toBe(8);
  });

  it("limit: the largest size is capped at DRM_BUDDY_MAX_ORDER and still allocates", () => {
    const size = Number.MAX_SAFE_INTEGER; // 2^53 - 1
    const mm = DrmBuddy.init(size, SZ_4K);
    expect(mm.maxOrder).toBe(53 - 1 - 12);
    expect(mm.maxOrder).toBeLessThanOrEqual(DRM_BUDDY_MAX_ORDER);
    const big = mm.blockSize(mm.maxOrder);
    const blocks = mm.alloc({ size: big, minBlockSize: big });
    expect(blocks).toHaveLength(1);
    expect(blocks[0]!.offset).toBe(0);
    expect(blocks[0]!.order).toBe(mm.maxOrder);
    mm.free(blocks);
    mm.fini();
  });
});

describe("drm_buddy alloc argument checks", () => {
  it("EINVAL for unaligned sizes, bad min block size and ranges outside the size, state unchanged", () => {
    const mm = DrmBuddy.init(SZ_1M, SZ_4K);
    const before = mm.describe();
    expectErr(() => mm.alloc({ size: 100 }), "EINVAL");
    expectErr(() => mm.alloc({ size: SZ_4K + 1 }), "EINVAL");
    expectErr(() => mm.alloc({ size: SZ_4K, minBlockSize: 3 * SZ_4K }), "EINVAL");
    expectErr(() => mm.alloc({ size: SZ_4K, minBlockSize: 2048 }), "EINVAL");
    expectErr(() => mm.alloc({ size: SZ_4K, start: 0, end: 2 * SZ_1M, flags: DrmBuddyFlag.RANGE }), "EINVAL");
    expectErr(() => mm.alloc({ size: 2 * SZ_4K, start: SZ_1M - SZ_4K }), "EINVAL");
    expect(mm.describe()).toBe(before);
  });

  it("ENOSPC when the memory is not there, state unchanged", () => {
    const mm = DrmBuddy.init(SZ_1M, SZ_4K);
    const a = mm.alloc({ size: SZ_1M / 2 });
    const before = mm.describe();
    expectErr(() => mm.alloc({ size: SZ_1M }), "ENOSPC");
    expect(mm.describe()).toBe(before);
    mm.free(a);
    expect(mm.avail).toBe(SZ_1M);
  });

  it("free of a block that is not allocated is EINVAL; fini with allocations is EBUSY", () => {
    const mm = DrmBuddy.init(SZ_1M, SZ_4K);
    const a = mm.alloc({ size: SZ_4K });
    expectErr(() => mm.fini(), "EBUSY");
    mm.free(a);
    expectErr(() => mm.free(a), "EINVAL");
    mm.fini();
  });
});

describe("drm_buddy behaviours (drm_buddy_test.c)", () => {
  it("optimistic: one block of every order fills the space exactly, then ENOSPC", () => {
    const maxOrder = 10;
    let size = 0;
    for (let o = 0; o <= maxOrder; o++) size += SZ_4K * 2 ** o;
    const mm = DrmBuddy.init(size, SZ_4K);
    const all: DrmBuddyBlock[] = [];
    for (let o = 0; o <= maxOrder; o++) {
      const bs = SZ_4K * 2 ** o;
      const b = mm.alloc({ size: bs, minBlockSize: bs });
      expect(b).toHaveLength(1);
      expect(b[0]!.order).toBe(o);
      all.push(...b);
    }
    expect(mm.avail).toBe(0);
    expectErr(() => mm.alloc({ size: SZ_4K }), "ENOSPC");
    expectDisjoint(all);
    mm.free(all);
    mm.fini();
  });

  it("pessimistic: order-0 everywhere, free every other: nothing bigger fits until all are freed", () => {
    const order = 8;
    const mm = DrmBuddy.init(SZ_4K * 2 ** order, SZ_4K);
    const blocks: DrmBuddyBlock[] = [];
    for (let i = 0; i < 2 ** order; i++) blocks.push(...mm.alloc({ size: SZ_4K }));
    expect(mm.avail).toBe(0);
    const odd = blocks.filter((_, i) => i % 2 === 1);
    const even = blocks.filter((_, i) => i % 2 === 0);
    mm.free(odd);
    expect(mm.avail).toBe(mm.size / 2);
    for (let o = 1; o <= order; o++) {
      const bs = SZ_4K * 2 ** o;
      expectErr(() => mm.alloc({ size: bs, minBlockSize: bs }), "ENOSPC");
    }
    expect(mm.getFragmentation().largestFreeBlock).toBe(SZ_4K);
    expect(mm.getFragmentation().freeBlocksPerOrder[0]).toBe(2 ** (order - 1));
    mm.free(even);
    // Everything merged back into the single root.
    expect(mm.getFragmentation().freeBlocksPerOrder[order]).toBe(1);
    expect(mm.getFragmentation().fragmentation).toBe(0);
    mm.fini();
  });

  it("pathological: fill every order, then frees of one order never let a larger one fit", () => {
    const maxOrder = 6;
    const mm = DrmBuddy.init(SZ_4K * 2 ** maxOrder, SZ_4K);
    // Split the space into one block of each order and keep them all.
    const held: DrmBuddyBlock[] = [];
    for (let o = maxOrder - 1; o >= 0; o--) {
      const bs = SZ_4K * 2 ** o;
      held.push(...mm.alloc({ size: bs, minBlockSize: bs }));
    }
    held.push(...mm.alloc({ size: SZ_4K }));
    expect(mm.avail).toBe(0);
    // Free the order-0 pair one at a time: they are buddies, merge and let an order-1 through.
    const last = held.pop()!;
    mm.free([last]);
    expectErr(() => mm.alloc({ size: 2 * SZ_4K, minBlockSize: 2 * SZ_4K }), "ENOSPC");
    const zero = held.pop()!;
    mm.free([zero]);
    const o1 = mm.alloc({ size: 2 * SZ_4K, minBlockSize: 2 * SZ_4K });
    expect(o1[0]!.order).toBe(1);
    mm.free([...o1, ...held]);
    mm.fini();
  });

  it("contiguous: non-power-of-two sizes are one run, trimmed; try-harder finds runs across roots", () => {
    const mm = DrmBuddy.init(16 * SZ_4K, SZ_4K);
    const a = mm.alloc({ size: 3 * SZ_4K, flags: DrmBuddyFlag.CONTIGUOUS });
    expect(total(a)).toBe(3 * SZ_4K);
    const sorted = [...a].sort((x, y) => x.offset - y.offset);
    for (let i = 1; i < sorted.length; i++)
      expect(sorted[i]!.offset).toBe(sorted[i - 1]!.offset + sorted[i - 1]!.size);
    mm.free(a);
    expect(mm.avail).toBe(mm.size);

    // Fragment: take pages 0..3 and 8, leaving 4..7 and 9..15 free. An order-3 block is not free,
    // but 7 contiguous pages are (9..15).
    const x = mm.alloc({ start: 0, end: 4 * SZ_4K, size: 4 * SZ_4K });
    const y = mm.alloc({ start: 8 * SZ_4K, end: 9 * SZ_4K, size: SZ_4K });
    expectErr(() => mm.alloc({ size: 8 * SZ_4K, minBlockSize: 8 * SZ_4K }), "ENOSPC");
    const c = mm.alloc({ size: 7 * SZ_4K, flags: DrmBuddyFlag.CONTIGUOUS });
    expect(total(c)).toBe(7 * SZ_4K);
    expect(Math.min(...c.map((b) => b.offset))).toBe(9 * SZ_4K);
    expectErr(() => mm.alloc({ size: 5 * SZ_4K, flags: DrmBuddyFlag.CONTIGUOUS }), "ENOSPC");
    mm.free([...x, ...y, ...c]);
    mm.fini();
  });

  it("topdown: blocks come from the highest addresses", () => {
    const mm = DrmBuddy.init(SZ_1M, SZ_4K);
    const a = mm.alloc({ size: SZ_4K, flags: DrmBuddyFlag.TOPDOWN });
    expect(a[0]!.offset).toBe(SZ_1M - SZ_4K);
    // Without TOPDOWN the smallest free block wins: the order-0 buddy left by the split.
    const b = mm.alloc({ size: SZ_4K });
    expect(b[0]!.offset).toBe(SZ_1M - 2 * SZ_4K);
    const c = mm.alloc({ size: 64 * 1024, minBlockSize: 64 * 1024, flags: DrmBuddyFlag.TOPDOWN });
    expect(c[0]!.offset).toBe(SZ_1M - 2 * 64 * 1024);
    mm.free([...a, ...b, ...c]);
    mm.fini();
  });

  it("alloc_range: exact ranges, and ENOSPC when any of the range is taken", () => {
    const mm = DrmBuddy.init(SZ_1M, SZ_4K);
    const r = mm.alloc({ start: 5 * SZ_4K, end: 12 * SZ_4K, size: 7 * SZ_4K });
    expect(total(r)).toBe(7 * SZ_4K);
    expect(Math.min(...r.map((b) => b.offset))).toBe(5 * SZ_4K);
    const before = mm.describe();
    expectErr(() => mm.alloc({ start: 10 * SZ_4K, end: 14 * SZ_4K, size: 4 * SZ_4K }), "ENOSPC");
    expect(mm.describe()).toBe(before);
    mm.free(r);
    mm.fini();
  });

  it("alloc_range_bias: random biased allocations stay inside their range (fixed seed)", () => {
    const rng = new Prng(0x5eed);
    const mm = DrmBuddy.init(64 * SZ_4K * 16, SZ_4K);
    const held: DrmBuddyBlock[] = [];
    for (let i = 0; i < 200; i++) {
      const startPage = rng.int(0, 1000);
      const pages = rng.int(1, 24);
      const endPage = Math.min(1024, startPage + pages + rng.int(0, 40));
      const start = startPage * SZ_4K;
      const end = endPage * SZ_4K;
      const size = Math.min(pages, endPage - startPage) * SZ_4K;
      const avail = mm.avail;
      try {
        const got = mm.alloc({ start, end, size, flags: DrmBuddyFlag.RANGE });
        expect(total(got)).toBe(size);
        for (const b of got) {
          expect(b.offset).toBeGreaterThanOrEqual(start);
          expect(b.offset + b.size).toBeLessThanOrEqual(end);
        }
        held.push(...got);
      } catch (e) {
        expect(isKernelError(e, "ENOSPC")).toBe(true);
        expect(mm.avail).toBe(avail);
      }
      if (held.length > 0 && rng.chance(0.3)) mm.free(held.splice(rng.int(0, held.length - 1), 1));
    }
    expectDisjoint(held);
    expect(mm.avail).toBe(mm.size - total(held));
    mm.free(held);
    expect(mm.getFragmentation().fragmentation).toBe(0);
    mm.fini();
  });

  it("clear tracking: CLEARED frees are preferred by CLEAR allocations; clear and dirty buddies stay apart", () => {
    const mm = DrmBuddy.init(16 * SZ_4K, SZ_4K);
    const a = mm.alloc({ size: SZ_4K });
    const b = mm.alloc({ size: SZ_4K });
    mm.free(a, DrmBuddyFlag.CLEARED);
    expect(mm.clearAvail).toBe(SZ_4K);
    const c = mm.alloc({ size: SZ_4K, flags: DrmBuddyFlag.CLEAR });
    expect(c[0]!.offset).toBe(a[0]!.offset);
    expect(c[0]!.isClear).toBe(true);
    expect(mm.clearAvail).toBe(0);
    mm.free(c, DrmBuddyFlag.CLEARED);
    mm.free(b); // dirty buddy of a clear block: no merge
    expect(mm.getFragmentation().freeBlocksPerOrder[0]).toBe(2);
    expect(mm.describe()).toContain("order- 0 free:");
    const all = mm.alloc({ size: 16 * SZ_4K });
    expect(total(all)).toBe(16 * SZ_4K);
    mm.free(all);
    expect(mm.getFragmentation().freeBlocksPerOrder[4]).toBe(1);
    mm.fini();
  });

  it("min block size rounds the request up and every block is at least that big", () => {
    const mm = DrmBuddy.init(SZ_1M, SZ_4K);
    const got = mm.alloc({ size: 5 * SZ_4K, minBlockSize: 4 * SZ_4K });
    expect(total(got)).toBe(8 * SZ_4K);
    for (const b of got) expect(b.size).toBeGreaterThanOrEqual(4 * SZ_4K);
    mm.free(got);
    mm.fini();
  });
});

describe("drm_buddy invariants (property test)", () => {
  it("any sequence of allocations and frees keeps blocks disjoint, accounts avail, and merges back fully", () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("alloc" as const),
        pages: fc.integer({ min: 1, max: 40 }),
        minPages: fc.constantFrom(1, 2, 4, 8),
        flags: fc.constantFrom(0, DrmBuddyFlag.TOPDOWN, DrmBuddyFlag.CONTIGUOUS, DrmBuddyFlag.CLEAR),
      }),
      fc.record({ kind: fc.constant("free" as const), pick: fc.nat(), cleared: fc.boolean() }),
      fc.record({
        kind: fc.constant("range" as const),
        startPage: fc.integer({ min: 0, max: 99 }),
        pages: fc.integer({ min: 1, max: 16 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const pages = 100; // not a power of two: three roots
        const mm = DrmBuddy.init(pages * SZ_4K, SZ_4K);
        const live: DrmBuddyBlock[][] = [];
        for (const o of ops) {
          const before = mm.avail;
          try {
            if (o.kind === "alloc") {
              const got = mm.alloc({
                size: o.pages * SZ_4K,
                minBlockSize: o.minPages * SZ_4K,
                flags: o.flags,
              });
              expect(total(got)).toBeGreaterThanOrEqual(o.pages * SZ_4K);
              live.push(got);
            } else if (o.kind === "range") {
              const start = o.startPage * SZ_4K;
              const end = Math.min(pages, o.startPage + o.pages) * SZ_4K;
              live.push(mm.alloc({ start, end, size: end - start }));
            } else if (live.length > 0) {
              mm.free(live.splice(o.pick % live.length, 1)[0]!, o.cleared ? DrmBuddyFlag.CLEARED : 0);
            }
          } catch (e) {
            expect(isKernelError(e, "ENOSPC")).toBe(true);
            expect(mm.avail).toBe(before);
          }
          const all = live.flat();
          expectDisjoint(all);
          for (const b of all) expect(b.offset + b.size).toBeLessThanOrEqual(mm.size);
          expect(mm.avail).toBe(mm.size - total(all));
          expect(mm.clearAvail).toBeLessThanOrEqual(mm.avail);
        }
        for (const l of live) mm.free(l);
        // Everything freed dirty-or-clear: with no allocations left, each root is whole unless a
        // clear and a dirty buddy refused to merge; allocating everything and freeing it dirty heals it.
        const everything = mm.alloc({ size: mm.size });
        mm.free(everything);
        expect(mm.getFragmentation().freeBlocksPerOrder).toEqual(
          mm.roots.reduce(
            (acc, r) => {
              acc[r.order] = (acc[r.order] ?? 0) + 1;
              return acc;
            },
            new Array<number>(mm.maxOrder + 1).fill(0),
          ),
        );
        mm.fini();
      }),
      { seed: 0x6e6d, numRuns: 200 },
    );
  });
});
