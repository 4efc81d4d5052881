// The progress reporter: a redrawn bar with counts, rate and ETA on a terminal; a log line per
// tenth elsewhere.
import { describe, expect, it } from "vitest";
import { createProgress } from "../../../scripts/migrate/progress.ts";

function fakeStream() {
  const chunks: string[] = [];
  return {
    chunks,
    stream: {
      write: (s: string) => {
        chunks.push(s);
        return true;
      },
    } as unknown as NodeJS.WriteStream,
  };
}

function logger() {
  const lines: string[] = [];
  return {
    lines,
    log: { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) },
  };
}

describe("progress", () => {
  it("bar mode redraws one line in place with counts, percentage and rate, and ends it", () => {
    const { chunks, stream } = fakeStream();
    const { lines, log } = logger();
    // A fake clock (milliseconds): nothing here depends on how fast the machine is.
    let now = 10_000;
    const p = createProgress("bar", log, stream, "back-fill", 20_000, () => now);
    now += 2_000;
    p.tick(5_000);
    now += 50; // within the redraw interval: no redraw
    p.tick(1_000);
    now += 950;
    p.done();
    expect(lines).toEqual([]);
    expect(chunks).toEqual([
      "\r\x1b[2Kback-fill [#######---------------------] 5,000/20,000 25% 2,500/s eta 6s",
      "\r\x1b[2Kback-fill [########--------------------] 6,000/20,000 30% 2,000/s\n",
    ]);
  });

  it("lines mode logs at each tenth and once at the end; off mode prints nothing", () => {
    const { chunks, stream } = fakeStream();
    const { lines, log } = logger();
    let now = 0;
    const p = createProgress("lines", log, stream, "scan", 1000, () => now);
    for (let i = 0; i < 10; i++) {
      now += 100;
      p.tick(100);
    }
    p.done();
    p.done();
    expect(lines).toEqual([
      ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => `scan: ${(d * 100).toLocaleString("en-US")}/1,000 (${d * 10}%) 1,000/s`),
      "scan: 1,000/1,000 done in 1.0s 1,000/s",
    ]);
    expect(chunks).toEqual([]);

    const off = logger();
    const q = createProgress("off", off.log, stream, "x", 10);
    q.tick(10);
    q.done();
    expect(off.lines).toEqual([]);
  });
});
