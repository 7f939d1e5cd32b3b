/**
 * @drmsim/dma-buf — `struct dma_buf` as in `drivers/dma-buf/dma-buf.c`: export and import,
 * static and dynamic attachments, peer-to-peer over a simulated PCI topology, scatter lists,
 * CPU access, and the dma-buf file's uAPI.
 */
export * from "./backing-store.js";
export { dmaResvCheckCpuAccess, vmOpsCheckingFences } from "./cpu-access.js";
export * from "./device.js";
export {
  DmaBuf,
  type DmaBufExportInfo,
  type DmaBufOps,
  type DmaBufOwner,
  DmaDataDirection,
  dmaBufExport,
  dmaBufFd,
  dmaBufGet,
  dmaBufPut,
  type IosysMap,
  isDmaBufFile,
  type VmArea,
} from "./dma-buf.js";
export { backingStoreRegion, dmaBufAttachmentRegion } from "./dma-buf-access.js";
export * from "./dma-buf-attachment.js";
export {
  DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
  DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_NAME_LEN,
  DMA_BUF_SET_NAME,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_START,
  DMA_BUF_SYNC_VALID_FLAGS_MASK,
  DMA_BUF_SYNC_WRITE,
  type DmaBufExportSyncFile,
  type DmaBufImportSyncFile,
  type DmaBufSync,
} from "./dma-buf-file.js";
export {
  type DmaBufMapPlacementOptions,
  dmaBufAttachP2pCheck,
  dmaBufMapPlacement,
  StoreExporter,
  type StoreExporterOptions,
} from "./exporter-helpers.js";
export * from "./pci.js";
export * from "./sg-table.js";
export * from "./trace.js";
