// Auth under broken configuration or a missing database: never sign with a weak key, never
// half-answer; the same Worker code with different bindings.
import { describe, expect, it } from "vitest";
import { createUser } from "./support/db.ts";
import { bindings, UNREACHABLE_DB_URI } from "./support/fixture.ts";
import { api, call } from "./support/http.ts";
import { signClaims, validClaims } from "./support/jwt.ts";
import { captureConsole, captured, expectNoSecretsInLogs } from "./support/logs.ts";

captureConsole();

describe("JWT_SECRET missing or shorter than 32 bytes", () => {
  it.each([
    ["missing", ""],
    ["31 bytes", "x".repeat(31)],
  ])("%s: login, /me and change-password answer 500 server_misconfigured; logged once", async (_name, secret) => {
    const before = captured.length;
    const user = await createUser({});
    const token = await signClaims(validClaims(user)); // a token that would be valid under the real key
    const misconfigured = { LOG_LEVEL: "info", JWT_SECRET: secret };
    const responses = [
      await api("POST", "/api/auth/login", { json: { email: user.email, password: user.password }, bindings: misconfigured }),
      await api("POST", "/api/auth/login", { json: { bad: "body" }, bindings: misconfigured }),
      await api("GET", "/api/auth/me", { token, bindings: misconfigured }),
      await api("POST", "/api/auth/change-password", { token, json: {}, bindings: misconfigured }),
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
    const res = await call("/health", { bindings: { JWT_SECRET: "" } });
    expect(res.status).toBe(200);
  });
});

describe("database unreachable", () => {
  const down = { LOG_LEVEL: "info", MONGODB_URI: UNREACHABLE_DB_URI, MONGODB_SERVER_SELECTION_TIMEOUT_MS: "300" };

  it("login answers 503 database_unavailable", async () => {
    const res = await api("POST", "/api/auth/login", { json: { email: "someone@example.com", password: "whatever-1" }, bindings: down });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("database_unavailable");
  });

  it("/me with a valid token answers 503, not 401", async () => {
    const user = await createUser({});
    const res = await api("GET", "/api/auth/me", { token: await signClaims(validClaims(user)), bindings: down });
    expect(res.status).toBe(503);
  });
});

describe("logs", () => {
  it("no log line written during this file (level info) contains a hash or a plaintext password", () => {
    expectNoSecretsInLogs();
  });
});
