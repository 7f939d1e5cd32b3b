/**
 * `drm_mode_size_dumb()` (`drivers/gpu/drm/drm_dumb_buffers.c`): the pitch and size of a dumb
 * buffer, for a driver's `dumb_create`. The pitch is the smallest that holds a scanline, rounded up
 * to the hardware's pitch alignment; the size is height × pitch, rounded up to its size alignment
 * (a page by default). The shmem helper — and so vgem — aligns pitches to 8 bytes.
 */
import { KernelError } from "@drmsim/runtime";
import type { DrmDumbCreateArgs } from "./plugin/hooks.js";

const PAGE_SIZE = 4096;
const U32_MAX = 0xffff_ffff;

/**
 * `drm_mode_size_dumb(dev, args, hw_pitch_align, hw_size_align)`: fills `args.pitch` and
 * `args.size` from `width`, `height` and `bpp`. `hwPitchAlign` must be a power of two (0: none);
 * `hwSizeAlign` a multiple of the page size (0: a page). `EINVAL` for a bad alignment, a zero
 * dimension, or a pitch or size that does not fit the uAPI's fields; `args` is then unchanged.
 */
export function drmModeSizeDumb(args: DrmDumbCreateArgs, hwPitchAlign = 0, hwSizeAlign = 0): void {
  const pitchAlign = hwPitchAlign === 0 ? 1 : hwPitchAlign;
  if (!Number.isInteger(pitchAlign) || pitchAlign < 0 || (pitchAlign & (pitchAlign - 1)) !== 0)
    throw new KernelError(
      "EINVAL",
      `drm_mode_size_dumb: pitch alignment ${hwPitchAlign} is not a power of two`,
    );
  const sizeAlign = hwSizeAlign === 0 ? PAGE_SIZE : hwSizeAlign;
  if (!Number.isInteger(sizeAlign) || sizeAlign <= 0 || sizeAlign % PAGE_SIZE !== 0)
    throw new KernelError(
      "EINVAL",
      `drm_mode_size_dumb: size alignment ${hwSizeAlign} is not a multiple of the page size`,
    );
  const { width, height, bpp } = args;
  if (width === 0 || height === 0 || bpp === 0)
    throw new KernelError("EINVAL", "drm_mode_size_dumb: width, height and bpp must be non-zero");
  const minPitch = Math.ceil((width * bpp) / 8);
  const pitch = Math.ceil(minPitch / pitchAlign) * pitchAlign;
  if (pitch > U32_MAX)
    throw new KernelError(
      "EINVAL",
      `drm_mode_size_dumb: a ${width}-pixel scanline of ${bpp} bpp needs a pitch above 32 bits`,
    );
  const size = Math.ceil((height * pitch) / sizeAlign) * sizeAlign;
  if (!Number.isSafeInteger(size))
    throw new KernelError(
      "EINVAL",
      `drm_mode_size_dumb: ${height} scanlines of ${pitch} bytes overflow the size`,
    );
  args.pitch = pitch;
  args.size = BigInt(size);
}
