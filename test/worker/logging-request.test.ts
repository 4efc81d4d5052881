import { describe, expect, it } from "vitest";
import { createUser } from "./support/db.ts";
import { UNREACHABLE_DB_URI } from "./support/fixture.ts";
import { call } from "./support/http.ts";
import { captureConsole, output, parsedLines, requestLines } from "./support/logs.ts";

const INFO = { LOG_LEVEL: "info" };
const UNREACHABLE_DB = { MONGODB_URI: UNREACHABLE_DB_URI, MONGODB_SERVER_SELECTION_TIMEOUT_MS: "300" };

captureConsole({ perTest: true });

describe("request log", () => {
  it("writes one JSON line per request with id, method, route, status and duration", async () => {
    const res = await call("/health", { headers: { "X-Request-Id": "mobile-trace-0001" }, bindings: INFO });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe("mobile-trace-0001");
    const lines = requestLines();
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toMatchObject({
      level: "info",
      msg: "request",
      request_id: "mobile-trace-0001",
      method: "GET",
      route: "/health",
      path: "/health",
      status: 200,
    });
    expect(line!.duration_ms).toEqual(expect.any(Number));
    expect(line!.duration_ms as number).toBeGreaterThanOrEqual(0);
    expect(Number.isNaN(Date.parse(line!.time))).toBe(false);
    expect(line).not.toHaveProperty("user_id");
  });

  it("uses a generated id when the incoming one is malformed, the same one as the response header", async () => {
    const res = await call("/health", { headers: { "X-Request-Id": 'forged" "level":"error' }, bindings: INFO });
    const id = res.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestLines().map((l) => l.request_id)).toEqual([id]);
    expect(output()).not.toContain("forged");
  });

  it("logs the matched route pattern, not the concrete path, and keeps query strings out", async () => {
    const id = crypto.randomUUID();
    const res = await call(`/api/phase0-v2/customers/${id}?access_token=leaky-secret-value`, { bindings: INFO });
    expect(res.status).toBe(401);
    const [line] = requestLines();
    expect(line).toMatchObject({ route: "/api/phase0-v2/customers/:id", path: `/api/phase0-v2/customers/${id}`, status: 401 });
    expect(output()).not.toContain("leaky-secret-value");
  });

  it("logs unmatched requests with route null", async () => {
    const res = await call("/no/such/route", { method: "POST", bindings: INFO });
    expect(res.status).toBe(404);
    expect(requestLines()).toEqual([expect.objectContaining({ route: null, method: "POST", status: 404, level: "info" })]);
  });

  it("adds user_id once the request is authenticated", async () => {
    const user = await createUser({ role: "admin" });
    const login = await call("/api/auth/login", {
      method: "POST",
      json: { email: user.email, password: user.password },
      bindings: INFO,
    });
    expect(login.status).toBe(200);
    const { access_token } = (await login.json()) as { access_token: string };
    const loginLine = requestLines().at(-1);
    expect(loginLine).toMatchObject({ route: "/api/auth/login", status: 200 });

    await call("/api/auth/me", { headers: { Authorization: `Bearer ${access_token}` }, bindings: INFO });
    expect(requestLines().at(-1)).toMatchObject({ route: "/api/auth/me", status: 200, user_id: user.id });
  });
});

describe("LOG_LEVEL", () => {
  it("at warn, drops the request lines of successful requests", async () => {
    const res = await call("/health", { bindings: { LOG_LEVEL: "warn" } });
    expect(res.status).toBe(200);
    expect(parsedLines()).toEqual([]);
  });

  it("at warn, still logs failures: the warning and the 5xx request line share the request id", async () => {
    const res = await call("/health", { bindings: { LOG_LEVEL: "warn", ...UNREACHABLE_DB } });
    expect(res.status).toBe(503);
    const id = res.headers.get("x-request-id");
    const lines = parsedLines();
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ["warn", "health check: database unreachable"],
      ["error", "request"],
    ]);
    expect(lines.every((l) => l.request_id === id)).toBe(true);
    expect(lines[1]).toMatchObject({ status: 503, route: "/health" });
  });

  it("at error, keeps only the error lines", async () => {
    await call("/health", { bindings: { LOG_LEVEL: "error", ...UNREACHABLE_DB } });
    expect(parsedLines().map((l) => l.level)).toEqual(["error"]);
  });

  it("at debug, logs everything info does", async () => {
    await call("/health", { bindings: { LOG_LEVEL: "debug" } });
    expect(requestLines()).toHaveLength(1);
  });
});
