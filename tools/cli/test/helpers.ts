/** Runs `main(argv)` with captured output. */
import { main } from "../src/index.js";

export interface Captured {
  code: number;
  out: string;
  err: string;
}

/**
 * Calls the CLI in-process; `tty` makes stderr look like a terminal (progress bar), with a fake
 * clock that moves 1 s per reading so the bar shows and its rate and time left are fixed.
 * `command` is how hints spell the command (default: as detected for this checkout).
 */
export async function runCli(
  argv: string[],
  opts: { tty?: boolean; command?: string; now?: () => number } = {},
): Promise<Captured> {
  let out = "";
  let err = "";
  const errStream = {
    isTTY: opts.tty === true,
    write(s: string) {
      err += s;
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  let t = 0;
  const code = await main(argv, {
    out: (s) => {
      out += s;
    },
    err: errStream,
    ...(opts.command === undefined ? {} : { command: opts.command }),
    now:
      opts.now ??
      (() => {
        t += 1000;
        return t;
      }),
  });
  return { code, out, err };
}
