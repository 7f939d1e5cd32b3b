#!/usr/bin/env node
// A throw-away npm registry for `pnpm release:check`: Verdaccio on 127.0.0.1 (a free port), no
// uplinks, storage in the directory given as the only argument. Anyone may read; publishing
// `@drmsim/*` needs a user, which the caller registers (`addUser` in ./registry-client.mjs).
// Prints one JSON line `{"url": "http://127.0.0.1:PORT/"}` once it listens; runs until killed.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { runServer } from "verdaccio";

const dir = resolve(process.argv[2] ?? ".");
mkdirSync(join(dir, "storage"), { recursive: true });
const config = join(dir, "verdaccio.yaml");
writeFileSync(
  config,
  `storage: ${JSON.stringify(join(dir, "storage"))}
auth:
  htpasswd:
    file: ${JSON.stringify(join(dir, "htpasswd"))}
    max_users: 1
uplinks: {}
packages:
  "@drmsim/*":
    access: $all
    publish: $authenticated
    unpublish: $authenticated
  "**":
    access: $all
web:
  enable: false
log: { type: stdout, format: pretty, level: error }
`,
);
const server = await runServer(config);
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address();
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/` })}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
