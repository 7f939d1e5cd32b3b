/** The progress display on its own, with a fake clock and a fake terminal. */
import { describe, expect, it } from "vitest";
import { createProgress, formatEta } from "../src/progress.js";

function terminal(isTTY: boolean) {
  const s = {
    isTTY,
    text: "",
    write(chunk: string) {
      s.text += chunk;
      return true;
    },
  };
  return s;
}

describe("formatEta", () => {
  it("reads like a person would say it", () => {
    expect(formatEta(4.6)).toBe("5s");
    expect(formatEta(95)).toBe("1m35s");
    expect(formatEta(3700)).toBe("1h01m");
    expect(formatEta(Number.POSITIVE_INFINITY)).toBe("?");
    expect(formatEta(-3)).toBe("0s");
  });
});

describe("createProgress on a terminal", () => {
  it("waits for the delay, then draws the bar with the rate and the time left; redraws at most every 500 ms at the same percentage", () => {
    const out = terminal(true);
    let now = 0;
    const p = createProgress(out as unknown as NodeJS.WriteStream, "explore demo", {
      now: () => now,
      rate: (f, s) => `${(f * 100) / s} runs/s`,
    });
    now = 100;
    p.update(0.1, "10/100 runs");
    expect(out.text).toBe(""); // before the 250 ms delay
    now = 1000;
    p.update(0.1, "10/100 runs");
    expect(out.text).toBe(
      "\rexplore demo [###---------------------------]  10% 10/100 runs · 10 runs/s · ETA 9s\u001b[K",
    );
    out.text = "";
    now = 1200;
    p.update(0.105, "10/100 runs");
    expect(out.text).toBe(""); // same percentage, 200 ms later
    now = 2000;
    p.update(0.5, "50/100 runs");
    expect(out.text).toBe(
      "\rexplore demo [###############---------------]  50% 50/100 runs · 25 runs/s · ETA 2s\u001b[K",
    );
    out.text = "";
    now = 4000;
    p.done();
    expect(out.text).toBe(
      "\rexplore demo [###############---------------]  50% 50/100 runs · 12.5 runs/s · 4s elapsed\u001b[K\n",
    );
  });

  it("prints nothing for a run shorter than the delay", () => {
    const out = terminal(true);
    let now = 0;
    const p = createProgress(out as unknown as NodeJS.WriteStream, "tiny", { now: () => now });
    now = 200;
    p.update(1, "done");
    p.done();
    expect(out.text).toBe("");
  });
});

describe("createProgress elsewhere", () => {
  it("prints one plain line per quarter, with no wall-clock figures", () => {
    const out = terminal(false);
    const p = createProgress(out as unknown as NodeJS.WriteStream, "tiny", { rate: () => "fast" });
    for (const f of [0.1, 0.3, 0.8, 1]) p.update(f, `${f}`);
    p.done();
    expect(out.text).toBe("tiny: 25% (0.3)\ntiny: 50% (0.8)\ntiny: 75% (0.8)\ntiny: 100% (1)\n");
  });
});
