/** Parses `--duration` values: `10s`, `500ms`, `250us`, `1000ns`, or a plain number of seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|ms|us|ns)?$/.exec(text.trim());
  if (m === null) throw new Error(`invalid duration '${text}': use e.g. 10s, 500ms, 250us`);
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  const scale = unit === "s" ? 1e9 : unit === "ms" ? 1e6 : unit === "us" ? 1e3 : 1;
  return Math.round(n * scale);
}
