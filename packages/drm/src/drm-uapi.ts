/**
 * The DRM core uAPI (`include/uapi/drm/drm.h`, `drm_mode.h`): the argument structs of the core
 * ioctls drmsim implements, with the layouts and sizes of the kernel headers, and the request
 * numbers (`DRM_IOWR(0x0b, struct drm_gem_open)`). The syncobj structs are in `syncobj/uapi.ts`.
 *
 * Each struct has two names: `drm_gem_open` is the declaration (what dispatch and the handler use),
 * `DrmGemOpen` the type of the argument object a simulated process passes.
 */
import {
  __s32,
  __u8,
  __u32,
  __u64,
  IocDir,
  ioc,
  type UapiArgsOf,
  type UapiLayout,
  uapiStruct,
  userPtr,
} from "@drmsim/runtime";

/** `DRM_IOCTL_BASE`: the type byte of every DRM request. */
export const DRM_IOCTL_BASE = "d";

function size(layout: UapiLayout | null): number {
  return layout === null ? 0 : layout.size;
}

/** `DRM_IO(nr)`: a request without an argument. */
export function DRM_IO(nr: number): number {
  return ioc(IocDir.NONE, DRM_IOCTL_BASE, nr, 0);
}

/** `DRM_IOR(nr, type)`: the kernel fills in the argument. */
export function DRM_IOR(nr: number, layout: UapiLayout): number {
  return ioc(IocDir.READ, DRM_IOCTL_BASE, nr, size(layout));
}

/** `DRM_IOW(nr, type)`: the kernel reads the argument. */
export function DRM_IOW(nr: number, layout: UapiLayout): number {
  return ioc(IocDir.WRITE, DRM_IOCTL_BASE, nr, size(layout));
}

/** `DRM_IOWR(nr, type)`: in and out. */
export function DRM_IOWR(nr: number, layout: UapiLayout): number {
  return ioc(IocDir.READ_WRITE, DRM_IOCTL_BASE, nr, size(layout));
}

/** The argument of `DRM_IO` requests: nothing. */
export const drmNoArg = uapiStruct("void", {}, { size: 0 });

/**
 * `struct drm_version`: out the version numbers; `name`/`date`/`desc` are user buffers of
 * `*_len` bytes (in), and each `*_len` comes back as the string's full length — libdrm asks once
 * with NULL buffers for the lengths, then again with buffers (`drmGetVersion`).
 */
export const drm_version = uapiStruct(
  "drm_version",
  {
    version_major: __s32,
    version_minor: __s32,
    version_patchlevel: __s32,
    name_len: __u64,
    name: userPtr(__u8, "name_len"),
    date_len: __u64,
    date: userPtr(__u8, "date_len"),
    desc_len: __u64,
    desc: userPtr(__u8, "desc_len"),
  },
  { size: 64 },
);
/** `struct drm_version` as a caller passes it. */
export type DrmVersionArgs = UapiArgsOf<typeof drm_version>;

/** `struct drm_auth`: the authentication token. */
export const drm_auth = uapiStruct("drm_auth", { magic: __u32 }, { size: 4 });
/** `struct drm_auth` as a caller passes it. */
export type DrmAuth = UapiArgsOf<typeof drm_auth>;

/** `struct drm_gem_close`: `pad` is not checked by the kernel. */
export const drm_gem_close = uapiStruct("drm_gem_close", { handle: __u32, pad: __u32 }, { size: 8 });
/** `struct drm_gem_close` as a caller passes it. */
export type DrmGemClose = UapiArgsOf<typeof drm_gem_close>;

/** `struct drm_gem_flink`: in `handle`, out `name`. */
export const drm_gem_flink = uapiStruct("drm_gem_flink", { handle: __u32, name: __u32 }, { size: 8 });
/** `struct drm_gem_flink` as a caller passes it. */
export type DrmGemFlink = UapiArgsOf<typeof drm_gem_flink>;

/** `struct drm_gem_open`: in `name`, out `handle` and `size`. */
export const drm_gem_open = uapiStruct(
  "drm_gem_open",
  { name: __u32, handle: __u32, size: __u64 },
  { size: 16 },
);
/** `struct drm_gem_open` as a caller passes it. */
export type DrmGemOpen = UapiArgsOf<typeof drm_gem_open>;

/** `struct drm_get_cap`: in `capability`, out `value`. */
export const drm_get_cap = uapiStruct("drm_get_cap", { capability: __u64, value: __u64 }, { size: 16 });
/** `struct drm_get_cap` as a caller passes it. */
export type DrmGetCap = UapiArgsOf<typeof drm_get_cap>;

/** `struct drm_prime_handle`: HANDLE_TO_FD takes `handle`, `flags` and returns `fd`; FD_TO_HANDLE the reverse. */
export const drm_prime_handle = uapiStruct(
  "drm_prime_handle",
  { handle: __u32, flags: __u32, fd: __s32 },
  { size: 12 },
);
/** `struct drm_prime_handle` as a caller passes it. */
export type DrmPrimeHandle = UapiArgsOf<typeof drm_prime_handle>;

/** `struct drm_mode_create_dumb`: in `height`, `width`, `bpp`, `flags`; out `handle`, `pitch`, `size`. */
export const drm_mode_create_dumb = uapiStruct(
  "drm_mode_create_dumb",
  { height: __u32, width: __u32, bpp: __u32, flags: __u32, handle: __u32, pitch: __u32, size: __u64 },
  { size: 32 },
);
/** `struct drm_mode_create_dumb` as a caller passes it. */
export type DrmModeCreateDumb = UapiArgsOf<typeof drm_mode_create_dumb>;

/** `struct drm_mode_map_dumb`: in `handle`, out `offset` (the fake mmap offset). */
export const drm_mode_map_dumb = uapiStruct(
  "drm_mode_map_dumb",
  { handle: __u32, pad: __u32, offset: __u64 },
  { size: 16 },
);
/** `struct drm_mode_map_dumb` as a caller passes it. */
export type DrmModeMapDumb = UapiArgsOf<typeof drm_mode_map_dumb>;

/** `struct drm_mode_destroy_dumb`. */
export const drm_mode_destroy_dumb = uapiStruct("drm_mode_destroy_dumb", { handle: __u32 }, { size: 4 });
/** `struct drm_mode_destroy_dumb` as a caller passes it. */
export type DrmModeDestroyDumb = UapiArgsOf<typeof drm_mode_destroy_dumb>;

/** `struct drm_gem_change_handle`: in `handle` and `new_handle`. */
export const drm_gem_change_handle = uapiStruct(
  "drm_gem_change_handle",
  { handle: __u32, new_handle: __u32 },
  { size: 8 },
);
/** `struct drm_gem_change_handle` as a caller passes it. */
export type DrmGemChangeHandle = UapiArgsOf<typeof drm_gem_change_handle>;

/** `DRM_IOCTL_VERSION`. */
export const DRM_IOCTL_VERSION = DRM_IOWR(0x00, drm_version);
/** `DRM_IOCTL_GET_MAGIC`. */
export const DRM_IOCTL_GET_MAGIC = DRM_IOR(0x02, drm_auth);
/** `DRM_IOCTL_GEM_CLOSE`. */
export const DRM_IOCTL_GEM_CLOSE = DRM_IOW(0x09, drm_gem_close);
/** `DRM_IOCTL_GEM_FLINK`. */
export const DRM_IOCTL_GEM_FLINK = DRM_IOWR(0x0a, drm_gem_flink);
/** `DRM_IOCTL_GEM_OPEN`. */
export const DRM_IOCTL_GEM_OPEN = DRM_IOWR(0x0b, drm_gem_open);
/** `DRM_IOCTL_GET_CAP`. */
export const DRM_IOCTL_GET_CAP = DRM_IOWR(0x0c, drm_get_cap);
/** `DRM_IOCTL_AUTH_MAGIC`. */
export const DRM_IOCTL_AUTH_MAGIC = DRM_IOW(0x11, drm_auth);
/** `DRM_IOCTL_SET_MASTER`. */
export const DRM_IOCTL_SET_MASTER = DRM_IO(0x1e);
/** `DRM_IOCTL_DROP_MASTER`. */
export const DRM_IOCTL_DROP_MASTER = DRM_IO(0x1f);
/** `DRM_IOCTL_PRIME_HANDLE_TO_FD`. */
export const DRM_IOCTL_PRIME_HANDLE_TO_FD = DRM_IOWR(0x2d, drm_prime_handle);
/** `DRM_IOCTL_PRIME_FD_TO_HANDLE`. */
export const DRM_IOCTL_PRIME_FD_TO_HANDLE = DRM_IOWR(0x2e, drm_prime_handle);
/** `DRM_IOCTL_MODE_CREATE_DUMB`. */
export const DRM_IOCTL_MODE_CREATE_DUMB = DRM_IOWR(0xb2, drm_mode_create_dumb);
/** `DRM_IOCTL_MODE_MAP_DUMB`. */
export const DRM_IOCTL_MODE_MAP_DUMB = DRM_IOWR(0xb3, drm_mode_map_dumb);
/** `DRM_IOCTL_MODE_DESTROY_DUMB`. */
export const DRM_IOCTL_MODE_DESTROY_DUMB = DRM_IOWR(0xb4, drm_mode_destroy_dumb);
/** `DRM_IOCTL_GEM_CHANGE_HANDLE`. */
export const DRM_IOCTL_GEM_CHANGE_HANDLE = DRM_IOWR(0xd2, drm_gem_change_handle);
