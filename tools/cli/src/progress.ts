/** Progress display for long runs: a bar on a TTY, a few plain lines otherwise. */

export interface Progress {
  update(fraction: number, label: string): void;
  done(): void;
}

/** A progress reporter writing to `stream` (a bar when it is a TTY). */
export function createProgress(stream: NodeJS.WriteStream, title: string): Progress {
  if (stream.isTTY) {
    let last = -1;
    return {
      update(fraction, label) {
        const pct = Math.floor(fraction * 100);
        if (pct === last) return;
        last = pct;
        const width = 30;
        const full = Math.round(fraction * width);
        stream.write(
          `\r${title} [${"#".repeat(full)}${"-".repeat(width - full)}] ${String(pct).padStart(3)}% ${label}   `,
        );
      },
      done() {
        stream.write("\n");
      },
    };
  }
  let nextQuarter = 0.25;
  return {
    update(fraction, label) {
      while (fraction >= nextQuarter && nextQuarter <= 1) {
        stream.write(`${title}: ${Math.round(nextQuarter * 100)}% (${label})\n`);
        nextQuarter += 0.25;
      }
    },
    done() {},
  };
}
