/**
 * A forwarded ioctl's round trip through the preload library (#30): a C program calls
 * `drmGetCap(DRM_CAP_SYNCOBJ)` N times on the drmsim render node — each call goes over the unix
 * socket to the server, through `drm_ioctl` and the typed layout, and back — against the same
 * program doing N 16-byte write/read pairs with a bare unix-socket echo server in this process. The
 * ratio is what the shim's protocol and the simulated `drm_ioctl` cost per call beyond the socket
 * round trip itself. Both sides spawn the program once per sample, so startup counts on both; the
 * CPU ratio counts this process only (the server), the wall ratio both sides. Without a C compiler
 * or libdrm's headers (`pnpm build` did not build the client) the file measures nothing and says so.
 * Run with `pnpm bench shim`.
 */
import "reflect-metadata";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { preloadLibrary, type ShimServer, shimProgram, startShimServer } from "@drmsim/shim";
import type { Comparison } from "./harness.js";

const N = 2000;
const client = shimProgram("roundtrip");
const built = fs.existsSync(client) && fs.existsSync(preloadLibrary());
if (!built)
  console.log(
    "shim: the C client is not built (apt-get install -y gcc pkg-config libdrm-dev, then pnpm build); nothing measured",
  );

function run(argv: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(client, argv, { env: { PATH: process.env.PATH ?? "", ...env }, stdio: "ignore" });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`roundtrip ${argv[0]} exited ${code}`)),
    );
  });
}

let server: ShimServer | undefined;
let echoPath: string | undefined;

async function shimServer(): Promise<ShimServer> {
  server ??= await startShimServer();
  return server;
}

async function echoServer(): Promise<string> {
  if (echoPath !== undefined) return echoPath;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drmsim-echo-"));
  const p = path.join(dir, "sock");
  const srv = net.createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => srv.listen(p, resolve));
  srv.unref();
  echoPath = p;
  return p;
}

export const comparisons: Comparison[] = built
  ? [
      {
        id: "shim-ioctl-roundtrip",
        title:
          "forwarded ioctl round trip (C program, preload library, drm_ioctl) vs a bare unix-socket echo",
        unit: "round trip",
        baseline: {
          name: "unix-socket echo",
          ops: N,
          run: async () => run(["echo", await echoServer(), String(N)], {}),
        },
        subject: {
          name: "DRM_IOCTL_GET_CAP through the shim",
          ops: N,
          run: async () => {
            const s = await shimServer();
            await run(["ioctl", String(N)], { ...s.env, LD_PRELOAD: preloadLibrary() });
          },
        },
      },
    ]
  : [];
