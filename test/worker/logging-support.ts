// Shared by test/worker/logging-*.test.ts: the Worker with chosen bindings (LOG_LEVEL above
// all; the suite's default is warn) and the console lines it writes while answering.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, vi } from "vitest";
import { createApp } from "../../src/app.ts";

export interface LogLine {
  level: string;
  time: string;
  msg: string;
  request_id?: string;
  [field: string]: unknown;
}

/** Raw console output of the Worker since the current test started (it shares the test isolate). */
export const captured: string[] = [];

export function captureConsole(): void {
  beforeEach(() => {
    captured.length = 0;
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        captured.push(args.map(String).join(" "));
      });
    }
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

/** One request into the real Worker code, with `bindings` layered over the suite's. */
export async function send(
  path: string,
  init: RequestInit & { json?: unknown } = {},
  bindings: Record<string, string> = { LOG_LEVEL: "info" },
): Promise<Response> {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers.set("content-type", "application/json");
  }
  const ctx = createExecutionContext();
  const res = await createApp().fetch(
    new Request(`http://api.test${path}`, { ...init, headers, body }),
    { ...env, ...bindings },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}
