/**
 * Enforces the DI rule (STACK.md): every constructor parameter of a class the plugin host builds
 * carries an explicit `@inject(TOKEN)`. Implicit injection from `design:paramtypes` works under
 * tsc and fails under esbuild/tsx, with `import type` and with circular imports — a driver that
 * relies on it works on its author's machine and breaks on the next one. So the host refuses it at
 * probe, with a message that says exactly what to write.
 */
import { KernelError } from "@drmsim/runtime";
import type { DependencyContainer, InjectionToken } from "tsyringe";

/** tsyringe's metadata key for `@inject` tokens (`INJECTION_TOKEN_METADATA_KEY`). */
const INJECTION_TOKENS = "injectionTokens";

interface ReflectMeta {
  getOwnMetadata?(key: string, target: object): unknown;
  getMetadata?(key: string, target: object): unknown;
}

/** `VramManager` → `VRAM_MANAGER`: the token name we suggest. */
function tokenNameFor(typeName: string): string {
  return typeName
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1_$2")
    .toUpperCase();
}

/** The `@inject` tokens of `cls`'s constructor parameters, by index. */
export function injectionTokensOf(cls: Function): Record<number, unknown> {
  const R = Reflect as unknown as ReflectMeta;
  return (R.getOwnMetadata?.(INJECTION_TOKENS, cls) as Record<number, unknown> | undefined) ?? {};
}

/**
 * Throws `EINVAL` if any constructor parameter of `cls` lacks `@inject(token)`. The parameter
 * count is the larger of `cls.length` and the length of `design:paramtypes` (when the transform
 * emitted it), so a parameter with a default value is still caught when metadata is there.
 */
export function checkExplicitInjection(cls: Function, what = "driver"): void {
  const R = Reflect as unknown as ReflectMeta;
  const types = (R.getOwnMetadata?.("design:paramtypes", cls) as (Function | undefined)[] | undefined) ?? [];
  const tokens = injectionTokensOf(cls);
  const n = Math.max(cls.length, types.length);
  const missing: string[] = [];
  for (let i = 0; i < n; i++) {
    if (tokens[i] !== undefined) continue;
    const t = types[i];
    const typeName = typeof t === "function" && t.name !== "" && t !== Object ? t.name : undefined;
    const suggestion = typeName !== undefined ? tokenNameFor(typeName) : "A_TOKEN";
    missing.push(
      `constructor parameter #${i + 1} (of type ${typeName ?? "unknown: no decorator metadata"}) of ${cls.name} has no @inject(token): ` +
        `write @inject(${suggestion}) before it, with ${suggestion} a typed InjectionToken (drmToken<${typeName ?? "T"}>("${suggestion}")) provided to the device container`,
    );
  }
  if (missing.length > 0)
    throw new KernelError(
      "EINVAL",
      `${what} ${cls.name} breaks the DI rule (every constructor parameter needs an explicit @inject(TOKEN); implicit injection from design:paramtypes breaks under esbuild/tsx and with import type): ${missing.join("; ")}`,
    );
}

/**
 * Builds `cls` with its `@inject` tokens resolved from `container` — after `checkExplicitInjection`,
 * so no parameter is ever resolved from type metadata. A token the container cannot resolve is
 * `EINVAL` naming it.
 */
export function constructInjected<T>(
  cls: new (...args: never[]) => T,
  container: DependencyContainer,
  what = "driver",
): T {
  checkExplicitInjection(cls, what);
  const tokens = injectionTokensOf(cls);
  const n = Math.max(cls.length, Object.keys(tokens).length);
  const args: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const token = tokens[i] as InjectionToken<unknown>;
    const tok =
      typeof token === "object" && token !== null && "token" in token
        ? (token as { token: InjectionToken<unknown> }).token
        : token;
    if (!container.isRegistered(tok, true))
      throw new KernelError(
        "EINVAL",
        `${what} ${cls.name}: constructor parameter #${i + 1} asks for ${String(typeof tok === "function" ? tok.name : tok)}, which nothing provides to the device container`,
      );
    args.push(container.resolve(tok));
  }
  return new cls(...(args as never[]));
}
