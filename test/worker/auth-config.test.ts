// Auth under broken configuration or a missing database: never sign with a weak key, never
// half-answer; the same Worker code with different bindings.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { createUser } from "./support/db.ts";
import { bindings } from "./support/fixture.ts";
import { signClaims, validClaims } from "./support/jwt.ts";
import { captureConsole, captured, expectNoSecretsInLogs } from "./support/logs.ts";
import { findSecret } from "./support/secrets.ts";

async function call(overrides: Record<string, string>, method: string, path: string, init: { json?: unknown; token?: string } = {}) {
  const ctx = createExecutionContext();
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const res = await createApp().fetch(
    new Request(`http://api.test${path}`, { method, headers, body: init.json === undefined ? undefined : JSON.stringify(init.json) }),
    { ...bindings, LOG_LEVEL: "info", ...overrides },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  expect(findSecret(text)).toBeNull();
  return { status: res.status, body: JSON.parse(text) as { error: { code: string; message: string } } };
}

captureConsole();

describe("JWT_SECRET missing or shorter than 32 bytes", () => {
  it.each([
    ["missing", ""],
    ["31 bytes", "x".repeat(31)],
  ])("%s: login, /me and change-password answer 500 server_misconfigured; logged once", async (_name, secret) => {
    const before = captured.length;
    const user = await createUser({});
    const token = await signClaims(validClaims(user)); // a token that would be valid under the real key
    const responses = [
      await call({ JWT_SECRET: secret }, "POST", "/api/auth/login", { json: { email: user.email, password: user.password } }),
      await call({ JWT_SECRET: secret }, "POST", "/api/auth/login", { json: { bad: "body" } }),
      await call({ JWT_SECRET: secret }, "GET", "/api/auth/me", { token }),
      await call({ JWT_SECRET: secret }, "POST", "/api/auth/change-password", { token, json: {} }),
    ];
    for (const res of responses) {
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe("server_misconfigured");
    }
    const logged = captured.slice(before).filter((l) => l.includes("JWT secret misconfigured"));
    expect(logged.length).toBeLessThanOrEqual(1);
    expect(captured.filter((l) => l.includes("JWT secret misconfigured"))).toHaveLength(1); // once per isolate
    expect(captured.join("\n")).not.toContain(bindings.JWT_SECRET);
  });

  it("the rest of the API keeps serving (health)", async () => {
    const ctx = createExecutionContext();
    const res = await createApp().fetch(new Request("http://api.test/health"), { ...bindings, JWT_SECRET: "" }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
  });
});

describe("database unreachable", () => {
  const down = { MONGODB_URI: "mongodb://127.0.0.1:9/?directConnection=true", MONGODB_SERVER_SELECTION_TIMEOUT_MS: "300" };

  it("login answers 503 database_unavailable", async () => {
    const res = await call(down, "POST", "/api/auth/login", { json: { email: "someone@example.com", password: "whatever-1" } });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("database_unavailable");
  });

  it("/me with a valid token answers 503, not 401", async () => {
    const user = await createUser({});
    const res = await call(down, "GET", "/api/auth/me", { token: await signClaims(validClaims(user)) });
    expect(res.status).toBe(503);
  });
});

describe("logs", () => {
  it("no log line written during this file (level info) contains a hash or a plaintext password", () => {
    expectNoSecretsInLogs();
  });
});
