// Starting, using and stopping the local registry of release:check (./registry.mjs, Verdaccio).
import { spawn } from "node:child_process";
import { join } from "node:path";

/**
 * Starts the registry as a child process with its storage under `dir`; resolves with
 * `{ url, storage, stop }` once it listens. `stop()` ends it (and is safe to call twice); the
 * caller must call it on every path out, failures included.
 */
export function startRegistry(dir, { timeoutMs = 60_000 } = {}) {
  const child = spawn(process.execPath, [join(import.meta.dirname, "registry.mjs"), dir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  };
  return new Promise((resolvePromise, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`the local registry did not start within ${timeoutMs / 1000} s:\n${out}`));
    }, timeoutMs);
    const fail = (why) => {
      clearTimeout(timer);
      stop();
      reject(new Error(`the local registry ${why}:\n${out}`));
    };
    child.stderr.on("data", (d) => {
      out += d;
    });
    child.stdout.on("data", (d) => {
      out += d;
      const line = out.split("\n").find((l) => l.startsWith('{"url"'));
      if (line === undefined) return;
      clearTimeout(timer);
      const { url } = JSON.parse(line);
      resolvePromise({ url, storage: join(dir, "storage"), pid: child.pid, stop });
    });
    child.on("error", (e) => fail(`could not be started (${e.message})`));
    child.on("exit", (code, signal) => {
      if (!stopped) fail(`exited early (${signal ?? code})`);
    });
  });
}

/**
 * Registers a user on the registry as `npm adduser` does (PUT /-/user/org.couchdb.user:<name>)
 * and returns its token, for the `//host/:_authToken` line of an .npmrc.
 */
export async function addUser(url, name = "release-check", password = "release-check") {
  const res = await fetch(new URL(`-/user/org.couchdb.user:${encodeURIComponent(name)}`, url), {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, password, type: "user", roles: [], date: new Date(0).toISOString() }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok || typeof body.token !== "string")
    throw new Error(`could not add a user to ${url}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body.token;
}

/** The registry's packument of `name` (every version, dist-tags, publish times). */
export async function packument(url, name) {
  const res = await fetch(new URL(name.replace("/", "%2f"), url));
  if (!res.ok) throw new Error(`${name} is not on the local registry (HTTP ${res.status})`);
  return res.json();
}

/** The .npmrc lines that send `@drmsim/*` to the registry (with `token`, publishing works too). */
export function scopedNpmrc(url, token) {
  const host = url.replace(/^https?:/, "");
  return [
    `@drmsim:registry=${url}`,
    ...(token === undefined ? [] : [`${host}:_authToken=${token}`]),
    "",
  ].join("\n");
}
