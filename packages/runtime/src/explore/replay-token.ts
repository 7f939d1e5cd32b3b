/**
 * Replay tokens: one opaque, shell-safe string (`drmsim replay <token>`) that names a scenario,
 * its seed and the exact decision list of a run. base64url of a small JSON object, so a token
 * pasted into a bug report replays the same run anywhere. No kernel counterpart.
 */
import { KernelError } from "../errno.js";
import type { Decision } from "./perturb.js";

/** What a replay token carries. */
export interface ReplaySpec {
  /** The scenario: a built-in name or a scenario file path. */
  scenario: string;
  /** The scenario's (the simulator's) seed. */
  seed: number | string;
  /** The decisions to replay (usually a shrunk list). */
  decisions: readonly Decision[];
  /** Virtual duration of the run in ns, when not the scenario's default. */
  durationNs?: number;
}

const KINDS = new Set(["t", "h", "i", "w", "a", "g"]);

/** Encodes `spec` as a replay token (base64url JSON). */
export function encodeReplayToken(spec: ReplaySpec): string {
  const body: Record<string, unknown> = { v: 1, s: spec.scenario, seed: spec.seed, d: spec.decisions };
  if (spec.durationNs !== undefined) body.ns = spec.durationNs;
  return Buffer.from(JSON.stringify(body), "utf8").toString("base64url");
}

/** Decodes a replay token; `EINVAL` if it is not one. */
export function decodeReplayToken(token: string): ReplaySpec {
  let body: { v?: unknown; s?: unknown; seed?: unknown; d?: unknown; ns?: unknown };
  try {
    body = JSON.parse(Buffer.from(token.trim(), "base64url").toString("utf8")) as typeof body;
  } catch {
    throw new KernelError("EINVAL", "this is not a drmsim replay token (it does not decode to JSON)");
  }
  if (body === null || typeof body !== "object" || body.v !== 1)
    throw new KernelError("EINVAL", "this is not a drmsim replay token (unknown format version)");
  if (typeof body.s !== "string" || (typeof body.seed !== "number" && typeof body.seed !== "string"))
    throw new KernelError("EINVAL", "replay token has no scenario or seed");
  if (!Array.isArray(body.d) || !body.d.every((d) => Array.isArray(d) && KINDS.has(d[0] as string)))
    throw new KernelError("EINVAL", "replay token has a malformed decision list");
  const spec: ReplaySpec = { scenario: body.s, seed: body.seed, decisions: body.d as Decision[] };
  if (typeof body.ns === "number") spec.durationNs = body.ns;
  return spec;
}
