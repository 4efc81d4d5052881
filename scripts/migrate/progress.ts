import type { MigrationLogger, Progress } from "./types.ts";

export type ProgressMode = "bar" | "lines" | "off";

const BAR_WIDTH = 28;
const REDRAW_MS = 100;

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

/** Milliseconds from some fixed origin; injected so tests do not depend on the machine's speed. */
export type Clock = () => number;
const systemClock: Clock = () => performance.now();

function rateText(done: number, seconds: number): string {
  return seconds > 0 ? `${fmt(done / seconds)}/s` : "";
}

/**
 * A progress reporter: a redrawn bar (with counts, rate and ETA) when `mode` is "bar"
 * (stderr is a TTY), else a log line at every tenth of the way, else nothing.
 */
export function createProgress(
  mode: ProgressMode,
  log: MigrationLogger,
  stream: NodeJS.WriteStream,
  label: string,
  total: number,
  clock: Clock = systemClock,
): Progress {
  const startedAt = clock();
  const seconds = () => (clock() - startedAt) / 1000;
  let done = 0;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let lastDecile = 0;
  let finished = false;

  const draw = (final: boolean) => {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(fraction * BAR_WIDTH);
    const elapsed = seconds();
    const eta = done > 0 && !final ? ` eta ${Math.ceil((elapsed / done) * (total - done))}s` : "";
    const line = `${label} [${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${fmt(done)}/${fmt(total)} ${Math.floor(fraction * 100)}% ${rateText(done, elapsed)}${eta}`;
    stream.write(`\r\x1b[2K${line}${final ? "\n" : ""}`);
  };

  return {
    tick(n: number) {
      done += n;
      if (mode === "bar") {
        const now = clock();
        if (now - lastDraw >= REDRAW_MS) {
          lastDraw = now;
          draw(false);
        }
      } else if (mode === "lines" && total > 0) {
        const decile = Math.floor((Math.min(done, total) / total) * 10);
        if (decile > lastDecile && done < total) {
          lastDecile = decile;
          log.info(`${label}: ${fmt(done)}/${fmt(total)} (${decile * 10}%) ${rateText(done, seconds())}`);
        }
      }
    },
    done() {
      if (finished) return;
      finished = true;
      if (mode === "bar") draw(true);
      else if (mode === "lines")
        log.info(`${label}: ${fmt(done)}/${fmt(total)} done in ${seconds().toFixed(1)}s ${rateText(done, seconds())}`);
    },
  };
}
