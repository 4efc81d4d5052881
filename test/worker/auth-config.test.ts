// Auth under broken configuration or a missing database: never sign with a weak key, never
// half-answer; the same Worker code with different bindings.
import { describe, expect, it } from "vitest";
import { createUser } from "./support/db.ts";
import { bindings, UNREACHABLE_DB_URI } from "./support/fixture.ts";
import { api, call } from "./support/http.ts";
import { signClaims, validClaims } from "./support/jwt.ts";
import { captureConsole, captured, expectNoSecretsInLogs } from "./support/logs.ts";
import { registerSecret } from "./support/secrets.ts";

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
    const res = await api("POST", "/api/auth/login", {
      json: { email: "someone@example.com", password: "whatever-1" },
      bindings: down,
    });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("database_unavailable");
  });

  it("/me with a valid token answers 503, not 401", async () => {
    const user = await createUser({});
    const res = await api("GET", "/api/auth/me", { token: await signClaims(validClaims(user)), bindings: down });
    expect(res.status).toBe(503);
  });
});

describe("ENVIRONMENT=production: the configuration is validated strictly", () => {
  const webhookSecret = `webhook-secret-${crypto.randomUUID()}`;
  registerSecret(webhookSecret);
  /** A complete production configuration over the suite's bindings (no test clock, a real SMS provider). */
  const production = {
    ENVIRONMENT: "production",
    LOG_LEVEL: "info",
    TEST_CLOCK: "",
    SMS_PROVIDER: "webhook",
    SMS_WEBHOOK_URL: "https://sms.example.test/send",
    SMS_WEBHOOK_SECRET: webhookSecret,
  };
  const weakSecret = `weak-${crypto.randomUUID().slice(0, 8)}`; // 13 bytes
  registerSecret(weakSecret);
  /** Values that may be secrets: none may appear in a response or a log line. */
  const values = () => [bindings.JWT_SECRET, bindings.MONGODB_URI, webhookSecret, weakSecret];

  it("a complete production configuration serves (the refusals below are not the default)", async () => {
    const health = await api("GET", "/health", { bindings: production });
    expect(health.status).toBe(200);
    const user = await createUser({});
    const res = await api("POST", "/api/auth/login", {
      json: { email: user.email, password: user.password },
      bindings: production,
    });
    expect(res.status).toBe(200);
  });

  it.each([
    ["MONGODB_URI missing", { MONGODB_URI: "" }, ["MONGODB_URI"]],
    ["JWT_SECRET missing", { JWT_SECRET: "" }, ["JWT_SECRET"]],
    ["JWT_SECRET shorter than 32 bytes", { JWT_SECRET: weakSecret }, ["JWT_SECRET"]],
    ["the console SMS provider", { SMS_PROVIDER: "console" }, ["SMS_PROVIDER"]],
    ["the test clock on", { TEST_CLOCK: "1" }, ["TEST_CLOCK"]],
    ["an invalid number", { LOGIN_MAX_FAILURES: "ten" }, ["LOGIN_MAX_FAILURES"]],
    [
      "everything at once",
      {
        MONGODB_URI: "",
        JWT_SECRET: weakSecret,
        SMS_PROVIDER: "console",
        TEST_CLOCK: "1",
        DB_GATEWAY_SHARDS: "0",
        CORS_ORIGINS: "https://app.example.test/",
      },
      ["MONGODB_URI", "JWT_SECRET", "SMS_PROVIDER", "TEST_CLOCK", "DB_GATEWAY_SHARDS", "CORS_ORIGINS"],
    ],
  ])(
    "%s: every request answers 500 server_misconfigured; one error line names the problems, no value",
    async (_name, broken, names) => {
      const before = captured.length;
      const user = await createUser({});
      const misconfigured = { ...production, ...broken };
      const responses = [
        await api("GET", "/health", { bindings: misconfigured }),
        await api("POST", "/api/auth/login", { json: { email: user.email, password: user.password }, bindings: misconfigured }),
        await api("GET", "/api/customers", { bindings: misconfigured }),
        await api("GET", "/openapi.json", { bindings: misconfigured }),
      ];
      for (const res of responses) {
        expect(res.status).toBe(500);
        expect(res.body.error.code).toBe("server_misconfigured");
        for (const value of values()) expect(JSON.stringify(res.body)).not.toContain(value);
      }
      const written = captured.slice(before);
      const reports = written.filter((line) => line.includes("server misconfigured"));
      expect(reports).toHaveLength(1); // once, not per request
      const report = JSON.parse(reports[0]!) as { level: string; problems: string[] };
      expect(report.level).toBe("error");
      expect(report.problems.map((problem) => problem.split(/[ =]/, 1)[0]).sort()).toEqual([...names].sort());
      for (const value of values()) expect(written.join("\n")).not.toContain(value);
    },
  );
});

describe("outside production an invalid value is reported once and its default used", () => {
  it("ACCESS_TOKEN_TTL_SECONDS not a number: login serves with the default (900 s); one warning names it", async () => {
    const before = captured.length;
    const user = await createUser({});
    const login = (extra: Record<string, string>) =>
      api("POST", "/api/auth/login", {
        json: { email: user.email, password: user.password },
        bindings: { LOG_LEVEL: "info", ...extra },
      });
    const honoured = await login({ ACCESS_TOKEN_TTL_SECONDS: "1200" });
    expect(honoured.body.expires_in).toBe(1200);
    for (let i = 0; i < 2; i++) {
      const res = await login({ ACCESS_TOKEN_TTL_SECONDS: "20 minutes" });
      expect(res.status).toBe(200);
      expect(res.body.expires_in).toBe(900);
    }
    const warnings = captured.slice(before).filter((line) => line.includes("invalid values ignored"));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({
      level: "warn",
      problems: ["ACCESS_TOKEN_TTL_SECONDS must be an integer from 60 to 86400"],
    });
    expect(warnings[0]).not.toContain("20 minutes");
  });
});

describe("logs", () => {
  it("no log line written during this file (level info) contains a hash or a plaintext password", () => {
    expectNoSecretsInLogs();
  });
});
