// Every discovered route with the database unreachable (the direct data path): 503
// `database_unavailable` in the envelope (or `/health` degraded), or an answer that needs no
// database (docs, validation before any lookup) — never a 500, and within the configured
// server-selection timeout plus a margin.
import { beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../worker/support/db.ts";
import { UNREACHABLE_DB_URI } from "../worker/support/fixture.ts";
import { call, tokenFor } from "../worker/support/http.ts";
import { captureQuietly, secretsInLogs } from "./support/capture.ts";
import { discoverOperations, fillPath, type Operation } from "./support/routes.ts";

const TIMEOUT_MS = 500;
const DOWN = { MONGODB_URI: UNREACHABLE_DB_URI, MONGODB_SERVER_SELECTION_TIMEOUT_MS: String(TIMEOUT_MS) };

captureQuietly();

let operations: Operation[];
let token: string;

beforeAll(async () => {
  operations = await discoverOperations();
  token = await tokenFor(await createUser({ role: "admin" }));
});

describe("database unreachable", () => {
  it("every route answers 503 database_unavailable (or without the database), never 500, within the timeout", async ({
    task,
  }) => {
    const failures: string[] = [];
    let serverErrors = 0;
    let unavailable = 0;
    let slowest = 0;
    for (const op of operations) {
      const started = Date.now();
      const res = await call(fillPath(op.path, {}), {
        method: op.method,
        token,
        ...(op.method === "GET" ? {} : { json: op.examples[0] ?? {} }),
        bindings: DOWN,
      });
      const elapsed = Date.now() - started;
      slowest = Math.max(slowest, elapsed);
      const text = await res.text();
      const body = (res.headers.get("content-type") ?? "").startsWith("application/json")
        ? (JSON.parse(text) as { error?: { code?: string }; status?: string })
        : null;
      if (res.status === 503) {
        unavailable++;
        const ok = body?.error?.code === "database_unavailable" || (op.path === "/health" && body?.status === "degraded");
        if (!ok) failures.push(`${op.key}: 503 without database_unavailable: ${text.slice(0, 120)}`);
      } else if (res.status >= 500) {
        serverErrors++;
        failures.push(`${op.key}: ${res.status} ${text.slice(0, 160)}`);
      }
      if (elapsed > TIMEOUT_MS + 5_000) failures.push(`${op.key}: took ${elapsed} ms`);
    }
    const logSecrets = secretsInLogs();
    task.meta.reliability = [
      {
        category: "database unreachable × every route (direct path)",
        tried: operations.length,
        passed: operations.length - failures.length,
        serverErrors,
        documents: 0,
        secrets: logSecrets.length,
        note: `${unavailable} × 503; slowest ${slowest} ms (server selection ${TIMEOUT_MS} ms)`,
      },
    ];
    expect(unavailable).toBeGreaterThanOrEqual(3); // the health check and the bearer routes at least
    expect(failures).toEqual([]);
    expect(logSecrets).toEqual([]);
  });
});
