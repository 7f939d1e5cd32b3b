/**
 * The `dma-buf-export` check, for drivers whose buffers are device memory (`buffers: "device"`):
 * the exporter's side of the dma-buf contract without GEM (habanalabs' `HL_MEM_OP_EXPORT_DMABUF_FD`,
 * `drivers/accel/habanalabs/common/memory.c`). An exported range is a dma-buf of at least the size
 * asked; passed to another process (SCM_RIGHTS) it is the same dma-buf; it outlives the exporter's
 * fd and the exporter process (the dma-buf pins the memory and its context, `exporting_cnt`); and
 * once the last fd is closed everything is released — the teardown that follows is clean.
 */
import { type DmaBuf, isDmaBufFile } from "@drmsim/dma-buf";
import type { Bench, Problems } from "./bench.js";
import { type ConformanceDriver, conformanceCreateBuffer } from "./conformance-driver.js";

const EXPORT_SIZE = 2 * 1024 * 1024;

/** Runs the check on `bench` (see the module comment). */
export async function checkDmaBufExport(driver: ConformanceDriver, bench: Bench, p: Problems): Promise<void> {
  const exportBuffer = driver.exportBuffer;
  if (exportBuffer === undefined) {
    p.add(
      "the descriptor has device buffers but no exportBuffer: describe how userspace exports device memory as a dma-buf",
    );
    return;
  }
  let buf: DmaBuf | null = null;
  const importer = bench.process("importer");
  const passed = await bench.exec(async () => {
    const a = await bench.open("exporter");
    const handle = await conformanceCreateBuffer(driver, a, EXPORT_SIZE);
    const fd = await exportBuffer(a, handle, EXPORT_SIZE);
    const file = a.proc.file(fd);
    if (!isDmaBufFile(file)) {
      p.add(`the exported fd ${fd} is a ${file.fops.kind} file, not a dma-buf`);
      return null;
    }
    buf = file.priv as DmaBuf;
    if (buf.size < EXPORT_SIZE)
      p.add(`the dma-buf holds ${buf.size} bytes, fewer than the ${EXPORT_SIZE} exported`);
    const theirs = a.proc.sendFd(importer, fd);
    if (importer.file(theirs).priv !== buf)
      p.add("the fd passed to another process refers to a different dma-buf");
    a.proc.close(fd);
    a.proc.exit();
    return theirs;
  });
  // Past the exporter's exit, and past any timer its release arms: the importer's fd still holds it.
  await bench.settle();
  if (passed === null || buf === null) return;
  const held = buf as DmaBuf;
  if (!bench.sim.liveRefs.has(held.file))
    p.add(
      `${held.describe()} was released while another process still held an fd to it: the dma-buf must keep the exported memory alive`,
    );
  importer.close(passed);
  await bench.settle();
  if (bench.sim.liveRefs.has(held.file))
    p.add(`${held.describe()} is still alive after the last fd to it was closed (refcount ${held.refcount})`);
  p.findings(await bench.close(), "after the last fd was closed and the device removed");
}
