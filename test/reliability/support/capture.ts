// Every console line the Worker writes during a reliability file, kept (not echoed: thousands of
// requests) and scanned for secrets: hashes, known passwords, the signing key and JWTs.
import { afterAll, beforeAll, vi } from "vitest";
import { findSecret } from "../../worker/support/secrets.ts";

const JWT = /eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]*/;

export const lines: string[] = [];

export function captureQuietly(): void {
  beforeAll(() => {
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      });
    }
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });
}

/** A hash, a known password or the signing key; with `tokens`, also anything shaped like a JWT. */
export function secretIn(text: string, tokens: boolean): string | null {
  const found = findSecret(text);
  if (found) return found;
  if (tokens && JWT.test(text)) return "a JWT";
  return null;
}

/** Secrets in the captured log lines (tokens included: no log line may carry one). */
export function secretsInLogs(): string[] {
  return lines.map((line) => secretIn(line, true)).filter((hit): hit is string => hit !== null);
}
