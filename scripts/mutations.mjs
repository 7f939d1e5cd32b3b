// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the edits are source text of TypeScript files, template literals included
// The bugs `scripts/mutate.mjs` plants, one at a time, in a scratch copy of the repository — each
// a mistake real drivers have made — and the check that must catch each one: the test suite
// (with the validator, which turns a finding into a thrown error; the fuzzer's allocation-failure
// sweep is one of its files), or the fuzz campaign (whose invariants include "the validator stays
// quiet"). A mutation is a list of literal edits: each
// `find` must occur exactly once in the file, so a refactoring that moves the code makes the
// mutation stale — reported as such — instead of silently planting nothing.

/** The fuzz campaign CI runs (`CI_CAMPAIGN` in tools/fuzz/src/report.ts), stopping at the first failure. */
export const FUZZ_CAMPAIGN = [
  "--runs",
  "60",
  "--calls",
  "40",
  "--seed",
  "24301",
  "--min-calls",
  "4000",
  "--no-shrink",
];

/**
 * @typedef {{ find: string, replace: string }} Edit
 * @typedef {{ kind: "fuzz" } | { kind: "suite", files: string[] }} Detector
 * @typedef {{
 *   id: string,
 *   bug: string,
 *   file: string,
 *   edits: Edit[],
 *   detector: Detector,
 *   catcher: string,
 *   expect: RegExp,
 * }} Mutation
 */

/** @type {Mutation[]} */
export const MUTATIONS = [
  {
    id: "handle-before-check",
    bug: "SYNCOBJ_FD_TO_HANDLE installs the new handle, then refuses a TIMELINE point",
    file: "packages/drm/src/syncobj/syncobj-ioctl.ts",
    edits: [
      {
        find: [
          "  if (point !== 0n)",
          "    throw new KernelError(",
          '      "EINVAL",',
          "      `${name}: a TIMELINE point needs IMPORT_SYNC_FILE (a syncobj fd imports the whole syncobj)`,",
          "    );",
          "  const s = drmSyncobjFromFd(proc, args.fd);",
          "  args.handle = table.getHandle(s);",
        ].join("\n"),
        replace: [
          "  const s = drmSyncobjFromFd(proc, args.fd);",
          "  const handle = table.getHandle(s);",
          "  if (point !== 0n)",
          "    throw new KernelError(",
          '      "EINVAL",',
          "      `${name}: a TIMELINE point needs IMPORT_SYNC_FILE (a syncobj fd imports the whole syncobj)`,",
          "    );",
          "  args.handle = handle;",
        ].join("\n"),
      },
    ],
    detector: { kind: "fuzz" },
    catcher: "fuzzer: a rejected call changed state",
    expect: /SYNCOBJ_FD_TO_HANDLE.* failed with EINVAL .* but changed state/,
  },
  {
    id: "lookup-across-files",
    bug: "drm_gem_object_lookup falls back to the other files of the device",
    file: "packages/gem/src/drm-gem-handles.ts",
    edits: [
      {
        find: ["  lookup(handle: number): DrmGemObject {", "    const obj = this.idr.find(handle);"].join(
          "\n",
        ),
        replace: [
          "  lookup(handle: number): DrmGemObject {",
          "    let obj = this.idr.find(handle);",
          "    // biome-ignore lint: planted bug",
          "    for (const f of (this.file as any).device.files) if (obj === undefined) obj = f.gem.peek(handle);",
        ].join("\n"),
      },
    ],
    detector: { kind: "fuzz" },
    catcher: "fuzzer: a success named what the caller cannot reach",
    expect:
      /succeeded but named what its caller cannot reach:\s+\S+ \(gem\) = \d+ named an object that is not in/,
  },
  {
    id: "ref-leak-on-error",
    bug: "PRIME_FD_TO_HANDLE drops the dma-buf reference only on success",
    file: "packages/drm/src/drm-prime-ioctls.ts",
    edits: [
      {
        find: [
          "  const buf = dmaBufGet(call.proc, args.fd);",
          "  try {",
          "    const handle = await file.device.hooks.driver.primeFdToHandle.promise(file, buf);",
          "    if (handle === undefined)",
          '      throw new KernelError("EOPNOTSUPP", `${file.device.driver.name} cannot import dma-bufs`);',
          "    args.handle = handle;",
          "  } finally {",
          "    buf.put();",
          "  }",
        ].join("\n"),
        replace: [
          "  const buf = dmaBufGet(call.proc, args.fd);",
          "  const handle = await file.device.hooks.driver.primeFdToHandle.promise(file, buf);",
          "  if (handle === undefined)",
          '    throw new KernelError("EOPNOTSUPP", `${file.device.driver.name} cannot import dma-bufs`);',
          "  args.handle = handle;",
          "  buf.put();",
        ].join("\n"),
      },
    ],
    // The random campaign's imports all succeed once past dma_buf_get; the allocation-failure
    // sweep fails each allocation of a foreign import in turn.
    detector: { kind: "suite", files: ["tools/fuzz/test/sweep.test.ts"] },
    catcher: "fuzzer's allocation-failure sweep: leak at teardown",
    expect: /PRIME import fails with ENOMEM[\s\S]*teardown not clean: leak: \d+ objects? still referenced/,
  },
  {
    id: "fence-without-slot",
    bug: "ASAHI_SUBMIT does not re-reserve the slot a dynamic import's move fence took",
    file: "drivers/asahi/src/asahi-submit.ts",
    edits: [
      {
        find: "if (await asahiGemPrimeMapLocked(file.device, obj)) obj.resv.reserveFences(1);",
        replace: "await asahiGemPrimeMapLocked(file.device, obj);",
      },
    ],
    detector: { kind: "suite", files: ["drivers/asahi/test/prime-dynamic.test.ts"] },
    catcher: "validator (resv-no-slot) in the asahi tests",
    expect: /dma_resv_add_fence\(.*\) with no reserved slot|no fence slot reserved/,
  },
  {
    id: "missing-end-signalling",
    bug: "drm_sched run_job_work returns early without dma_fence_end_signalling",
    file: "packages/drm-sched/src/scheduler.ts",
    edits: [
      {
        find: [
          "    const cookie = v.beginSignalling();",
          "    try {",
          "      for (let n = 0; n < RUN_BATCH; n++) {",
          "        // No credit left: nothing fits (a job takes at least one), so the scan would stop at the",
          "        // first ready entity anyway. Until a job completes, as `drm_sched_can_queue` answers.",
          "        if (this.paused || this.creditCount >= this.creditLimit) return;",
          "        const entity = this.selectEntity();",
          "        if (entity === null) return;",
          "        const job = entity.popJob();",
          "        // null: the entity now waits on a dependency; another one may be ready.",
          "        if (job !== null) this.runOne(job);",
          "      }",
          "      this.wakeup();",
          "    } finally {",
          "      v.endSignalling(cookie);",
          "    }",
        ].join("\n"),
        replace: [
          "    const cookie = v.beginSignalling();",
          "    for (let n = 0; n < RUN_BATCH; n++) {",
          "      if (this.paused || this.creditCount >= this.creditLimit) return;",
          "      const entity = this.selectEntity();",
          "      if (entity === null) return;",
          "      const job = entity.popJob();",
          "      if (job !== null) this.runOne(job);",
          "    }",
          "    this.wakeup();",
          "    v.endSignalling(cookie);",
        ].join("\n"),
      },
    ],
    detector: { kind: "suite", files: ["packages/drm-sched/test/basic.test.ts"] },
    catcher: "validator (signalling-mismatch) in the drm-sched tests",
    expect: /missing dma_fence_end_signalling|signalling-mismatch/,
  },
  {
    id: "gfp-kernel-in-run-job",
    bug: "amdgpu_job_run allocates a ring record with GFP_KERNEL",
    file: "drivers/amdgpu/src/amdgpu-ring.ts",
    edits: [
      {
        find: 'import { ERRNO, type HardwareEngine } from "@drmsim/runtime";',
        replace: 'import { ERRNO, GFP_KERNEL, type HardwareEngine } from "@drmsim/runtime";',
      },
      {
        find: "    this.ran.push({ entity: job.entity.name, id: job.id, at: this.adev.sim.now });",
        replace: [
          "    this.ran.push({ entity: job.entity.name, id: job.id, at: this.adev.sim.now });",
          '    this.adev.sim.mm.kmalloc(64, GFP_KERNEL, "amdgpu_job_run").free();',
        ].join("\n"),
      },
    ],
    detector: { kind: "suite", files: ["drivers/amdgpu/test/amdgpu-cs.test.ts"] },
    catcher: "validator (reclaim in a signalling section) in the amdgpu tests",
    expect: /allocation that may reclaim .* inside a dma-fence signalling section/,
  },
];

/**
 * `text` with `m`'s edits applied; throws if an edit's `find` does not occur exactly once (the
 * mutation is stale: the code it targets moved or changed).
 * @param {string} text
 * @param {Mutation} m
 * @returns {string}
 */
export function applyMutation(text, m) {
  let out = text;
  for (const { find, replace } of m.edits) {
    const n = out.split(find).length - 1;
    if (n !== 1)
      throw new Error(
        `mutation ${m.id}: ${m.file} contains the text to replace ${n} times, not once (stale)`,
      );
    out = out.replace(find, () => replace);
  }
  return out;
}
