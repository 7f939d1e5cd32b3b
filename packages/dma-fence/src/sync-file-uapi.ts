/**
 * The sync_file uAPI (`include/uapi/linux/sync_file.h`): the argument structs of the
 * `SYNC_IOC_*` ioctls and their request numbers.
 */
import {
  __s32,
  __u32,
  __u64,
  chars,
  iow,
  iowr,
  mbz,
  type UapiArgsOf,
  uapiStruct,
  userPtr,
} from "@drmsim/runtime";

/** `SYNC_IOC_MAGIC`. */
export const SYNC_IOC_MAGIC = ">";

/** `struct sync_merge_data`: in `name`, `fd2`; out `fence`. Non-zero `flags` or `pad` is `EINVAL`. */
export const sync_merge_data = uapiStruct(
  "sync_merge_data",
  { name: chars(32), fd2: __s32, fence: __s32, flags: mbz(__u32), pad: mbz(__u32) },
  { size: 48 },
);

/** `struct sync_fence_info`: one leaf fence as `SYNC_IOC_FILE_INFO` reports it. */
export const sync_fence_info = uapiStruct(
  "sync_fence_info",
  { obj_name: chars(32), driver_name: chars(32), status: __s32, flags: __u32, timestamp_ns: __u64 },
  { size: 80 },
);

/**
 * `struct sync_file_info`: in `num_fences` (room in the `sync_fence_info` array; 0 asks only for
 * the count) and the array pointer; out `name`, `status`, `num_fences`.
 */
export const sync_file_info = uapiStruct(
  "sync_file_info",
  {
    name: chars(32),
    status: __s32,
    flags: mbz(__u32),
    num_fences: __u32,
    pad: mbz(__u32),
    sync_fence_info: userPtr(sync_fence_info, "num_fences"),
  },
  { size: 56 },
);

/** `struct sync_set_deadline`: `deadline_ns` on CLOCK_MONOTONIC (the simulator's clock). */
export const sync_set_deadline = uapiStruct(
  "sync_set_deadline",
  { deadline_ns: __u64, pad: mbz(__u64) },
  { size: 16 },
);

/** `SYNC_IOC_MERGE`: `_IOWR('>', 3, struct sync_merge_data)`. */
export const SYNC_IOC_MERGE = iowr(SYNC_IOC_MAGIC, 3, sync_merge_data.size);
/** `SYNC_IOC_FILE_INFO`: `_IOWR('>', 4, struct sync_file_info)`. */
export const SYNC_IOC_FILE_INFO = iowr(SYNC_IOC_MAGIC, 4, sync_file_info.size);
/** `SYNC_IOC_SET_DEADLINE`: `_IOW('>', 5, struct sync_set_deadline)`. */
export const SYNC_IOC_SET_DEADLINE = iow(SYNC_IOC_MAGIC, 5, sync_set_deadline.size);

/** `struct sync_merge_data` as a caller passes it. */
export type SyncMergeData = UapiArgsOf<typeof sync_merge_data>;
/** `struct sync_fence_info` as a caller reads it. */
export type SyncFenceInfo = UapiArgsOf<typeof sync_fence_info>;
/** `struct sync_file_info` as a caller passes it. */
export type SyncFileInfo = UapiArgsOf<typeof sync_file_info>;
/** `struct sync_set_deadline` as a caller passes it. */
export type SyncSetDeadline = UapiArgsOf<typeof sync_set_deadline>;
