// Runs a bundle where no node_modules can be reached (a fresh temporary directory), so that it
// proves the bundler put everything in it: `node run-bundle.mjs <bundle.mjs> <expected output text>`.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

const [bundle, expected] = process.argv.slice(2);
const code = readFileSync(bundle, "utf8");
const left = code.match(/(?:from\s*|import\s*\(\s*|require\s*\(\s*)["']@drmsim\/[^"']+["']/g);
if (left !== null) throw new Error(`${bundle} still imports ${[...new Set(left)].join(", ")}`);
const dir = mkdtempSync(join(tmpdir(), "drmsim-bundle-"));
try {
  copyFileSync(bundle, join(dir, basename(bundle)));
  const out = execFileSync(process.execPath, [basename(bundle)], { cwd: dir, encoding: "utf8" });
  process.stdout.write(out);
  if (!out.includes(expected)) throw new Error(`the bundle printed no "${expected}"`);
  console.log(`${bundle}: ${(code.length / 1024).toFixed(0)} KiB, ran on its own`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
