/** Runs `main(argv)` with captured output. */
import { main } from "../src/index.js";

export interface Captured {
  code: number;
  out: string;
  err: string;
}

/** Calls the CLI in-process; `tty` makes stderr look like a terminal (progress bar). */
export async function runCli(argv: string[], opts: { tty?: boolean } = {}): Promise<Captured> {
  let out = "";
  let err = "";
  const errStream = {
    isTTY: opts.tty === true,
    write(s: string) {
      err += s;
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  const code = await main(argv, {
    out: (s) => {
      out += s;
    },
    err: errStream,
  });
  return { code, out, err };
}
