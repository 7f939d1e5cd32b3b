/**
 * C structs as userspace writes them: a JavaScript object laid out in the bytes of its declared
 * layout (little-endian, members at their offsets, everything absent zero) — what a C compiler
 * does for Mesa when it fills a `struct drm_asahi_cmd_render` in the command buffer.
 */
import {
  type UapiArgsOf,
  type UapiField,
  type UapiStruct,
  uapiScalarFromJs,
  uapiWriteScalar,
} from "@drmsim/runtime";

function put(f: UapiField, v: unknown, view: DataView, off: number, path: string): void {
  switch (f.type) {
    case "scalar":
      uapiWriteScalar(view, off, f.kind, uapiScalarFromJs(f.kind, v, path));
      return;
    case "struct":
      putStruct(f, v, view, off, path);
      return;
    case "array": {
      const a = (v ?? []) as readonly unknown[];
      if (a.length > f.length) throw new TypeError(`${path}: at most ${f.length} elements`);
      a.forEach((x, i) => {
        put(f.elem as UapiField, x, view, off + i * f.elem.size, `${path}[${i}]`);
      });
      return;
    }
    default:
      throw new TypeError(`${path}: agxEncodeStruct writes scalars, structs and arrays, not ${f.type}`);
  }
}

function putStruct(s: UapiStruct, v: unknown, view: DataView, base: number, path: string): void {
  const o = (v ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!(k in s.fields)) throw new TypeError(`${path}: struct ${s.name} has no member ${k}`);
  // Absent members stay zero, as in a zeroed C struct: only the given ones are written.
  for (const [k, v] of Object.entries(o))
    if (v !== undefined) put(s.fields[k]!, v, view, base + s.offsets[k]!, `${path}.${k}`);
}

/**
 * The bytes of `layout` holding `value`. A value no C program could store in a member (out of
 * range, a fraction) is `EINVAL`, as the uAPI's own conversion says; an unknown member is a
 * `TypeError`.
 */
export function agxEncodeStruct<S extends UapiStruct>(layout: S, value: UapiArgsOf<S>): Uint8Array {
  const bytes = new Uint8Array(layout.size);
  putStruct(layout, value, new DataView(bytes.buffer), 0, layout.name);
  return bytes;
}
