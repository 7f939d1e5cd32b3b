/**
 * uAPI struct layouts: an ioctl's argument declared the way its kernel header declares it — each
 * field's kind (`__u32`, `__s64`, a `__u64` user pointer to an array, an embedded struct, a union,
 * a `char name[32]`), laid out by the C rules of the 64-bit ABIs Linux supports (every member at
 * its natural alignment, the struct padded to its largest member), with the size the header gives
 * checked when the declaration is made.
 *
 * One declaration serves every caller: a JavaScript argument object is checked and converted
 * against it (`uapiCopyFromJs`), a binary argument block from real userspace is decoded with it
 * (`uapiDecode`), and the handler receives the same typed value either way — `number` for fields
 * of 32 bits or less, `bigint` for `__u64`/`__s64` (every value up to 2^64−1 exactly), a
 * `UserPtr` for user pointers (read and written with `copy_from_user`/`copy_to_user` semantics).
 *
 * Checks the kernel makes on every call before doing anything else can be declared on a field —
 * `mbz(__u32)` for a pad that must be zero, `flagsMask(__u32, MASK)` for flags with defined bits —
 * and the dispatcher makes them (`EINVAL`) before the handler runs. A field the kernel never
 * checks (many pads are ignored) is declared plain, so drmsim accepts what the kernel accepts.
 */
import type { UserPtr } from "./user-ptr.js";

/** The scalar kinds of `include/uapi/linux/types.h`. */
export type UapiScalarKind = "u8" | "u16" | "u32" | "s32" | "u64" | "s64";

/** A scalar member. */
export interface UapiScalarField<K extends UapiScalarKind = UapiScalarKind> {
  readonly type: "scalar";
  readonly kind: K;
  readonly size: number;
  readonly align: number;
  /** The kernel rejects a non-zero value (`EINVAL`) before anything else: a checked pad. */
  readonly mbz?: boolean;
  /** The kernel rejects bits outside this mask (`EINVAL`) before anything else: checked flags. */
  readonly mask?: bigint;
}

/**
 * What a user pointer points to: scalars, structs (or unions), bytes (`char *`), or further user
 * pointers (amdgpu's `chunks`: an array of pointers to chunks).
 */
export type UapiElem = UapiScalarField | UapiStruct | UapiPtrField;

/**
 * A `__u64` holding a user pointer to an array of `elem` (`u64_to_user_ptr(args->handles)`); `count`
 * names the member that holds the element count, when the header pairs them.
 */
// biome-ignore lint/suspicious/noExplicitAny: a pointer may point to pointers; the default breaks the cycle.
export interface UapiPtrField<E extends UapiElem = any> {
  readonly type: "ptr";
  readonly elem: E;
  readonly count?: string;
  /**
   * A `void __user *` the handler reads as whatever some other member says (`chunk_data` by
   * `chunk_id`): JavaScript callers may pass any user memory, checked only when read.
   */
  readonly opaque?: boolean;
  readonly size: 8;
  readonly align: 8;
}

/** A union of structs (amdgpu's `in`/`out` pairs); `out` names the member the kernel fills in. */
export interface UapiUnionField<M extends Record<string, UapiStruct> = Record<string, UapiStruct>> {
  readonly type: "union";
  readonly members: M;
  readonly out?: keyof M & string;
  readonly size: number;
  readonly align: number;
}

/** A fixed array member (`__u32 pad[3]`, `struct x entries[4]`). */
export interface UapiArrayField<E extends UapiElem = UapiElem> {
  readonly type: "array";
  readonly elem: E;
  readonly length: number;
  readonly size: number;
  readonly align: number;
}

/** A `char name[N]` member, seen as a NUL-terminated string. */
export interface UapiCharsField {
  readonly type: "chars";
  readonly length: number;
  readonly size: number;
  readonly align: 1;
}

/**
 * A drmsim extension: a member that exists only for JavaScript callers (a simulation knob the C
 * struct has no room for). It has no bytes: a binary argument block cannot carry it, so real
 * userspace always gets the default. `parse` checks the caller's value (`undefined` when absent).
 */
export interface UapiExtField<T = unknown> {
  readonly type: "ext";
  readonly parse: (v: unknown, field: string) => T;
  readonly size: 0;
  readonly align: 1;
}

/** Any member. */
export type UapiField =
  | UapiScalarField
  | UapiPtrField
  | UapiStruct
  | UapiUnionField
  | UapiArrayField
  | UapiCharsField
  | UapiExtField;

/** A struct's members, in header order. */
export type UapiFields = Record<string, UapiField>;

/** A struct declaration with its computed layout. */
export interface UapiStruct<F extends UapiFields = UapiFields> {
  readonly type: "struct";
  /** The C struct name, e.g. `drm_syncobj_wait`. */
  readonly name: string;
  readonly fields: F;
  /** Byte offset of each member. */
  readonly offsets: { readonly [K in keyof F]: number };
  readonly size: number;
  readonly align: number;
  /**
   * Set for a union declared with `uapiUnion`: every member at offset 0, and `out` the member the
   * kernel writes back (the only one copied out).
   */
  readonly union?: { readonly out?: string };
  /**
   * The anonymous unions of the struct (`union { __u64 cb_handle; __u64 signal_seq_arr; };`): their
   * members are among `fields`, at overlapping offsets; each group says which members share which
   * bytes, so an encoder writes one variant back (see `anonUnion`).
   */
  readonly anon?: readonly UapiAnonGroup[];
}

/** One anonymous union of a struct, as laid out: its byte range and its variants. */
export interface UapiAnonGroup {
  /** Offset of the union in the struct. */
  readonly offset: number;
  readonly size: number;
  /** Each variant (a member, or the members of an anonymous struct) with offsets inside the union. */
  readonly variants: readonly UapiStruct[];
  /** Every member name of every variant. */
  readonly members: readonly string[];
}

/**
 * An anonymous union in a struct declaration (see `anonUnion`). It is not a member: `uapiStruct`
 * spreads its variants' members into the enclosing struct at the union's offset.
 */
export interface UapiAnonUnion<V extends UapiFields = UapiFields> {
  readonly type: "anon";
  readonly variants: readonly UapiStruct[];
  readonly size: number;
  readonly align: number;
  /** Type-level only: the members it brings into the enclosing struct. */
  readonly __members?: V;
}

/** What `uapiStruct` takes: members, and anonymous unions under any key (the key is only a label). */
export type UapiFieldsDecl = Record<string, UapiField | UapiAnonUnion>;

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void
  ? I
  : never;
type AnonKeys<F> = { [K in keyof F]: F[K] extends UapiAnonUnion ? K : never }[keyof F];
type AnonMembers<F> = UnionToIntersection<
  { [K in keyof F]: F[K] extends UapiAnonUnion<infer V> ? V : never }[keyof F]
>;

/** The members of a struct declaration once its anonymous unions are spread into it. */
export type UapiFlatFields<F extends UapiFieldsDecl> = [AnonKeys<F>] extends [never]
  ? Extract<F, UapiFields>
  : Extract<
      { [K in keyof (Omit<F, AnonKeys<F>> & AnonMembers<F>)]: (Omit<F, AnonKeys<F>> & AnonMembers<F>)[K] },
      UapiFields
    >;

/**
 * What an ioctl takes: a struct, or (rarely) the argument itself — a bare scalar
 * (`SW_SYNC_IOC_INC`) or a user pointer (`DMA_BUF_SET_NAME`'s `const char *`).
 */
export type UapiLayout = UapiStruct | UapiScalarField | UapiPtrField;

function scalar<K extends UapiScalarKind>(kind: K, size: number): UapiScalarField<K> {
  return Object.freeze({ type: "scalar", kind, size, align: size });
}

/** `__u8`. */
export const __u8 = scalar("u8", 1);
/** `__u16`. */
export const __u16 = scalar("u16", 2);
/** `__u32`. */
export const __u32 = scalar("u32", 4);
/** `__s32` (also `int` fds). */
export const __s32 = scalar("s32", 4);
/** `__u64`. */
export const __u64 = scalar("u64", 8);
/** `__s64`. */
export const __s64 = scalar("s64", 8);

/** A member the kernel requires to be zero: `EINVAL` otherwise, checked before the handler. */
export function mbz<K extends UapiScalarKind>(f: UapiScalarField<K>): UapiScalarField<K> {
  return Object.freeze({ ...f, mbz: true });
}

/** Flags with defined bits `mask`: any other bit is `EINVAL`, checked before the handler. */
export function flagsMask<K extends UapiScalarKind>(
  f: UapiScalarField<K>,
  mask: number | bigint,
): UapiScalarField<K> {
  return Object.freeze({ ...f, mask: BigInt(mask) });
}

/** A `__u64` user pointer to an array of `elem`, whose length is member `count` (if the header says so). */
export function userPtr<E extends UapiElem>(elem: E, count?: string): UapiPtrField<E> {
  return Object.freeze({ type: "ptr", elem, count, size: 8, align: 8 } as UapiPtrField<E>);
}

/**
 * A `__u64` user pointer to data whose type another member decides (`void __user *`), counted in
 * `elem`s by member `count`; the handler reads it with `.as(layout)`.
 */
export function opaquePtr<E extends UapiElem>(
  elem: E,
  count?: string,
): UapiPtrField<E> & { readonly opaque: true } {
  return Object.freeze({ type: "ptr", elem, count, opaque: true, size: 8, align: 8 } as UapiPtrField<E> & {
    readonly opaque: true;
  });
}

/** A fixed array member. */
export function fixedArray<E extends UapiElem>(elem: E, length: number): UapiArrayField<E> {
  return Object.freeze({ type: "array", elem, length, size: elem.size * length, align: elem.align });
}

/** A `char name[length]` member. */
export function chars(length: number): UapiCharsField {
  return Object.freeze({ type: "chars", length, size: length, align: 1 });
}

/** A union of structs; `out` is the member the kernel writes back (amdgpu's `union drm_amdgpu_cs`). */
export function union<M extends Record<string, UapiStruct>>(
  members: M,
  out?: keyof M & string,
): UapiUnionField<M> {
  let size = 0;
  let align = 1;
  for (const m of Object.values(members)) {
    size = Math.max(size, m.size);
    align = Math.max(align, m.align);
  }
  return Object.freeze({ type: "union", members, out, size: roundUp(size, align), align });
}

/** A drmsim-only member for JavaScript callers (see `UapiExtField`). */
export function ext<T>(parse: (v: unknown, field: string) => T): UapiExtField<T> {
  return Object.freeze({ type: "ext", parse, size: 0, align: 1 });
}

function roundUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/**
 * An anonymous union inside a struct: `union { __u64 cb_handle; __u64 signal_seq_arr; }` is
 * `anonUnion({ cb_handle: __u64 }, { signal_seq_arr: userPtr(__u64) })`. Each argument is one
 * variant — a single member, or the members of an anonymous struct, laid out from the union's
 * start. As in C, the members become members of the enclosing struct (`chunk.signal_seq_arr`),
 * sharing the union's bytes: a binary argument block gives every one of them a value from the same
 * bytes, and the encoder writes back the variant the handler changed. A JavaScript caller passes
 * the members of one variant; members of two variants given together are `EINVAL`, since no C
 * program can store both. A nested anonymous union is written out as more variants (its members
 * sit at the same offsets either way).
 */
export function anonUnion<const V extends readonly UapiFields[]>(
  ...variants: V
): UapiAnonUnion<Extract<UnionToIntersection<V[number]>, UapiFields>> {
  if (variants.length < 2) throw new Error("an anonymous union needs at least two variants");
  const laid = variants.map((v, i) => {
    for (const [k, f] of Object.entries(v))
      if ((f as UapiField | UapiAnonUnion).type === "anon")
        throw new Error(
          `anonymous union variant ${i}: member ${k} is an anonymous union; list its variants instead`,
        );
    return layout(`(anonymous variant ${i})`, v, false).struct;
  });
  let size = 0;
  let align = 1;
  for (const v of laid) {
    size = Math.max(size, v.size);
    align = Math.max(align, v.align);
  }
  return Object.freeze({ type: "anon", variants: laid, size: roundUp(size, align), align });
}

function layout(
  name: string,
  decl: UapiFieldsDecl,
  checkCounts: boolean,
): { struct: UapiStruct; size: number } {
  let off = 0;
  let align = 1;
  const fields: Record<string, UapiField> = {};
  const offsets: Record<string, number> = {};
  const groups: UapiAnonGroup[] = [];
  const put = (k: string, f: UapiField, at: number) => {
    if (k in fields) throw new Error(`struct ${name}: member ${k} is declared twice`);
    fields[k] = f;
    offsets[k] = at;
  };
  for (const [k, f] of Object.entries(decl)) {
    off = roundUp(off, f.align);
    if (f.type === "anon") {
      const members: string[] = [];
      for (const v of f.variants)
        for (const [m, mf] of Object.entries(v.fields)) {
          put(m, mf, off + v.offsets[m]!);
          members.push(m);
        }
      groups.push(Object.freeze({ offset: off, size: f.size, variants: f.variants, members }));
    } else put(k, f, off);
    off += f.size;
    align = Math.max(align, f.align);
  }
  if (checkCounts)
    for (const [k, f] of Object.entries(fields))
      if (f.type === "ptr" && f.count !== undefined && !(f.count in fields))
        throw new Error(`struct ${name}: ${k} counts by ${f.count}, which is not a member`);
  const size = roundUp(off, align);
  const struct = Object.freeze({
    type: "struct",
    name,
    fields: Object.freeze(fields),
    offsets: Object.freeze(offsets),
    size,
    align,
    ...(groups.length > 0 ? { anon: Object.freeze(groups) } : {}),
  }) as UapiStruct;
  return { struct, size };
}

/**
 * Declares `struct name { fields }`. Members are placed in order at their natural alignment; the
 * size is rounded up to the largest alignment. `opts.size` is the size the kernel header gives
 * (`sizeof(struct ...)`); a mismatch is a declaration bug and throws at once. Anonymous unions
 * (`anonUnion`) are spread into the struct under whatever key they are given.
 */
export function uapiStruct<F extends UapiFieldsDecl>(
  name: string,
  fields: F,
  opts: { size: number },
): UapiStruct<UapiFlatFields<F>> {
  const { struct, size } = layout(name, fields, true);
  if (size !== opts.size)
    throw new Error(`struct ${name}: the layout gives ${size} bytes, the header ${opts.size}`);
  return struct as UapiStruct<UapiFlatFields<F>>;
}

/**
 * Declares `union name { members }` as an ioctl argument (amdgpu's `union drm_amdgpu_cs`): every
 * member is a struct at offset 0; `opts.out` names the member the kernel fills in and copies back
 * (`out`), the others are what userspace passes in. `opts.size` is the header's `sizeof`.
 */
export function uapiUnion<M extends Record<string, UapiStruct>>(
  name: string,
  members: M,
  opts: { size: number; out?: keyof M & string },
): UapiStruct<M> {
  let size = 0;
  let align = 1;
  const offsets: Record<string, number> = {};
  for (const [k, m] of Object.entries(members)) {
    offsets[k] = 0;
    size = Math.max(size, m.size);
    align = Math.max(align, m.align);
  }
  size = roundUp(size, align);
  if (size !== opts.size)
    throw new Error(`union ${name}: the layout gives ${size} bytes, the header ${opts.size}`);
  return Object.freeze({
    type: "struct",
    name,
    fields: members,
    offsets: Object.freeze(offsets),
    size,
    align,
    union: Object.freeze({ out: opts.out }),
  }) as UapiStruct<M>;
}

/** The handler-side type of a scalar kind. */
export type UapiScalarValue<K extends UapiScalarKind> = K extends "u64" | "s64" ? bigint : number;

/** The handler-side type of one element of an array or user pointer. */
export type UapiElemValue<E> =
  E extends UapiScalarField<infer K>
    ? UapiScalarValue<K>
    : E extends UapiStruct<infer G>
      ? UapiValueOf<G>
      : E extends UapiPtrField<infer P>
        ? UserPtr<UapiElemValue<P>>
        : never;

/** The handler-side type of a member. */
export type UapiFieldValue<F> =
  F extends UapiScalarField<infer K>
    ? UapiScalarValue<K>
    : F extends UapiPtrField<infer E>
      ? UserPtr<UapiElemValue<E>>
      : F extends UapiStruct<infer G>
        ? UapiValueOf<G>
        : F extends UapiUnionField<infer M>
          ? { [K in keyof M]: M[K] extends UapiStruct<infer G> ? UapiValueOf<G> : never }
          : F extends UapiArrayField<infer E>
            ? UapiElemValue<E>[]
            : F extends UapiCharsField
              ? string
              : F extends UapiExtField<infer T>
                ? T
                : never;

/** The handler-side value of a struct's members. */
export type UapiValueOf<F extends UapiFields> = { -readonly [K in keyof F]: UapiFieldValue<F[K]> };

/** What a handler receives for a layout. */
export type UapiValue<L> =
  L extends UapiStruct<infer F>
    ? UapiValueOf<F>
    : L extends UapiScalarField<infer K>
      ? UapiScalarValue<K>
      : L extends UapiPtrField<infer E>
        ? UserPtr<UapiElemValue<E>>
        : never;

/** What a JavaScript caller may pass for one scalar kind (absent means 0). */
export type UapiScalarInput<K extends UapiScalarKind> = K extends "u64" | "s64" ? number | bigint : number;

/** What a JavaScript caller may pass as one element of user memory of `E`. */
export type UapiElemArg<E> =
  E extends UapiStruct<infer G>
    ? UapiArgs<G>
    : E extends UapiScalarField<infer K>
      ? UapiScalarInput<K>
      : E extends UapiPtrField<infer P>
        ? UapiUserMemory<P>
        : never;

/**
 * What a JavaScript caller may pass as user memory of elements `E`: an array of elements, a typed
 * array (raw little-endian bytes), `null` for NULL, a single object for one struct, and for bytes
 * (`char *`) a string, which is its UTF-8 bytes and a terminating NUL.
 */
export type UapiUserMemory<E> =
  | readonly UapiElemArg<E>[]
  | ArrayBufferView
  | (E extends UapiScalarField<"u8"> ? string : never)
  | (E extends UapiStruct<infer G> ? UapiArgs<G> : never)
  | null;

/** What a JavaScript caller may pass (and reads back) for a member. */
export type UapiFieldArg<F> =
  F extends UapiScalarField<infer K>
    ? UapiScalarInput<K>
    : F extends UapiPtrField<infer E>
      ? F extends { readonly opaque: true }
        ? unknown
        : UapiUserMemory<E>
      : F extends UapiStruct<infer G>
        ? UapiArgs<G>
        : F extends UapiUnionField<infer M>
          ? { [K in keyof M]?: M[K] extends UapiStruct<infer G> ? UapiArgs<G> : never }
          : F extends UapiArrayField<infer E>
            ? readonly UapiElemArg<E>[]
            : F extends UapiCharsField
              ? string
              : F extends UapiExtField<infer T>
                ? T
                : never;

/**
 * A JavaScript argument object for a struct: every member optional (absent reads as 0, as in a
 * zeroed C struct); `__u64` members take `number` or `bigint` and read back as `number` when the
 * value is a safe integer, `bigint` above; user pointers are user memory (`UapiUserMemory`).
 */
export type UapiArgs<F extends UapiFields> = { [K in keyof F]?: UapiFieldArg<F[K]> };

/** The argument type of a layout, for JavaScript callers. */
export type UapiArgsOf<L> =
  L extends UapiStruct<infer F>
    ? UapiArgs<F>
    : L extends UapiScalarField<infer K>
      ? UapiScalarInput<K>
      : L extends UapiPtrField<infer E>
        ? UapiUserMemory<E>
        : never;
