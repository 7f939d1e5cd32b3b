// Child processes for release:check: one place that runs commands, so every step logs the same way
// and a failure says which command failed, where, and with what output.
import { spawn } from "node:child_process";

/** A failed command: its line, directory, exit status and the tail of what it printed. */
export class CommandError extends Error {
  constructor(cmd, args, cwd, status, output) {
    // The last lines, each cut short: a failing bundle prints minified code.
    const tail = output
      .trim()
      .split("\n")
      .slice(-40)
      .map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l))
      .join("\n");
    super(`\`${[cmd, ...args].join(" ")}\` in ${cwd} exited with ${status}${tail ? `:\n${tail}` : ""}`);
    this.output = output;
  }
}

/**
 * Runs `cmd args` in `cwd` and resolves with its stdout. Output is collected (and echoed with
 * `echo: true`); a non-zero exit rejects with a CommandError carrying the output.
 */
export function run(cmd, args, cwd, { env = {}, echo = false, input } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, npm_config_loglevel: "error", npm_config_update_notifier: "false", ...env },
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let out = "";
    let all = "";
    child.stdout.on("data", (d) => {
      out += d;
      all += d;
      if (echo) process.stdout.write(d);
    });
    child.stderr.on("data", (d) => {
      all += d;
      if (echo) process.stderr.write(d);
    });
    if (input !== undefined) child.stdin.end(input);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) resolvePromise(out);
      else reject(new CommandError(cmd, args, cwd, signal ?? code, all));
    });
  });
}
