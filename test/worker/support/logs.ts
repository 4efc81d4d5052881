// The console lines the Worker writes while it answers (it shares the test isolate), parsed,
// and scanned for secrets.
import { afterEach, beforeAll, beforeEach, expect, vi } from "vitest";
import { findSecret } from "./secrets.ts";

export interface LogLine {
  level: string;
  time: string;
  msg: string;
  request_id?: string;
  [field: string]: unknown;
}

/** Raw console output of the Worker: since the file started, or with `perTest` since the current test started. */
export const captured: string[] = [];

/**
 * Captures console output into `captured`; call at the top level of a test file. By default
 * for the whole file, still printing every line; with `perTest`, emptied before each test,
 * printing nothing, the spies restored after each test.
 */
export function captureConsole(options: { perTest?: boolean } = {}): void {
  const spy = (echo: boolean) => {
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      const original = console[method].bind(console);
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        captured.push(args.map(String).join(" "));
        if (echo) original(...args);
      });
    }
  };
  if (!options.perTest) {
    beforeAll(() => spy(true));
    return;
  }
  beforeEach(() => {
    captured.length = 0;
    spy(false);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
}

export function output(): string {
  return captured.join("\n");
}

/** Every captured line, parsed; a line that is not one JSON object fails the test. */
export function parsedLines(): LogLine[] {
  return captured.map((line) => {
    const parsed = JSON.parse(line) as LogLine;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`not a JSON object: ${line}`);
    return parsed;
  });
}

export function requestLines(): LogLine[] {
  return parsedLines().filter((line) => line.msg === "request");
}

/** The console SMS provider's line (`{"msg":"sms","to","text"}`): the one line allowed to hold a one-time code. */
export function isSmsLine(line: string): boolean {
  try {
    return (JSON.parse(line) as { msg?: unknown }).msg === "sms";
  } catch {
    return false;
  }
}

/**
 * No captured line holds a hash or a known secret (passwords, refresh tokens, one-time codes
 * registered with registerSecret). With `allowSmsLines`, the console SMS provider's own lines
 * are skipped: they carry the code by design, and no other line may.
 */
export function expectNoSecretsInLogs(options: { allowSmsLines?: boolean } = {}): void {
  const lines = options.allowSmsLines ? captured.filter((line) => !isSmsLine(line)) : captured;
  const leaks = lines.map(findSecret).filter(Boolean);
  expect(leaks).toEqual([]);
}
