// Runs every public package's README example (copied into readme/<package>.ts by release:check)
// the way its README says: a module that `export default`s a scenario with the installed `drmsim
// run`; the others imported one after another in this process, through tsx's loader. What a
// reader pastes must work.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { register } from "tsx/esm/api";

register();
const files = readdirSync("readme").filter((f) => f.endsWith(".ts"));
if (files.length === 0) throw new Error("no README examples in readme/");
for (const f of files) {
  const file = join("readme", f);
  const scenario = /^export\s+default\b/m.test(readFileSync(file, "utf8"));
  console.log(`== README example ${f}${scenario ? " (drmsim run)" : ""}`);
  if (scenario)
    execFileSync(join("node_modules", ".bin", "drmsim"), ["run", file, "-q"], { stdio: "inherit" });
  else await import(pathToFileURL(resolve(file)).href);
}
console.log(`readme: ${files.length} examples ran`);
