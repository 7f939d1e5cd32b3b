/**
 * `struct device` as the DMA API sees it: a name, the DMA addressing limit (`dma_mask`), the
 * largest scatter-list segment the device's DMA engine takes (`dma_parms->max_segment_size`), and
 * the PCI function it is, if any. Importers and exporters of dma-bufs are devices.
 */
import { KernelError, type Simulator } from "@drmsim/runtime";
import type { PciDev } from "./pci.js";

/** `PAGE_SIZE` of the simulated machine. */
export const PAGE_SIZE = 4096;

/** The kernel's default when a driver never set `dma_parms` (`dma_get_max_seg_size()`): 64 KiB. */
export const DEFAULT_MAX_SEGMENT_SIZE = 65536;

/** `DMA_BIT_MASK(n)` as a bigint. */
export function dmaBitMask(bits: number): bigint {
  if (!Number.isInteger(bits) || bits < 1 || bits > 64)
    throw new KernelError("EINVAL", `DMA_BIT_MASK: bits must be an integer in 1..64, got ${bits}`);
  return (1n << BigInt(bits)) - 1n;
}

/** Options of `new Device()`. */
export interface DeviceOptions {
  /** `dev_name()`. */
  name: string;
  /**
   * The DMA mask: a bit count (`DMA_BIT_MASK(n)`) or the mask itself as a bigint. Default 64 bits:
   * the kernel starts PCI devices at 32 bits, but every driver drmsim models sets 64 at probe
   * (`dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64))`); pass 32 to model a limited engine.
   */
  dmaMask?: number | bigint;
  /** `dma_set_max_seg_size()`. Default `DEFAULT_MAX_SEGMENT_SIZE` (64 KiB), as in the kernel. */
  maxSegmentSize?: number;
  /** The PCI function this device is, or null/omitted for a platform device. */
  pci?: PciDev | null;
}

/** `struct device`. */
export class Device {
  readonly name: string;
  /** `*dev->dma_mask`. */
  private mask: bigint;
  private maxSeg: number;
  /** `to_pci_dev()`, or null for a non-PCI device (which can never do peer-to-peer). */
  readonly pci: PciDev | null;

  constructor(
    readonly sim: Simulator,
    opts: DeviceOptions,
  ) {
    this.name = opts.name;
    this.pci = opts.pci ?? null;
    this.mask = dmaBitMask(64);
    this.maxSeg = DEFAULT_MAX_SEGMENT_SIZE;
    if (opts.dmaMask !== undefined) this.setDmaMask(opts.dmaMask);
    if (opts.maxSegmentSize !== undefined) this.setMaxSegSize(opts.maxSegmentSize);
  }

  /** `dma_set_mask()`: a bit count or a bigint mask. `EINVAL` for 0 or more than 64 bits. */
  setDmaMask(mask: number | bigint): void {
    const m = typeof mask === "number" ? dmaBitMask(mask) : mask;
    if (m <= 0n || m > dmaBitMask(64))
      throw new KernelError("EINVAL", `dma_set_mask: bad mask 0x${m.toString(16)}`);
    this.mask = m;
  }

  /** `*dev->dma_mask`. */
  get dmaMask(): bigint {
    return this.mask;
  }

  /**
   * True if `[address, address + length)` is addressable by the device (`dma_capable()`).
   * Addresses are numbers (exact up to 2^53).
   */
  dmaCapable(address: number, length: number): boolean {
    if (length === 0) return true;
    return BigInt(address + length - 1) <= this.mask;
  }

  /** `dma_set_max_seg_size()`. `EINVAL` unless a positive integer. */
  setMaxSegSize(size: number): void {
    if (!Number.isSafeInteger(size) || size <= 0)
      throw new KernelError("EINVAL", `dma_set_max_seg_size: size must be a positive integer, got ${size}`);
    this.maxSeg = size;
  }

  /** `dma_get_max_seg_size()`. */
  get maxSegmentSize(): number {
    return this.maxSeg;
  }

  toString(): string {
    return this.name;
  }
}
