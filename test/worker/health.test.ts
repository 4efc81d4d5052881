import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { UNREACHABLE_DB_URI } from "./support/fixture.ts";
import { call } from "./support/http.ts";

describe("GET /health", () => {
  it("reports ok when the database answers ping", async () => {
    const res = await exports.default.fetch("http://api.test/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", db: "ok" });
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers 503 degraded when the database is unreachable", async () => {
    // Same Worker code, pointed at a port nothing listens on.
    const res = await call("/health", {
      bindings: { MONGODB_URI: UNREACHABLE_DB_URI, MONGODB_SERVER_SELECTION_TIMEOUT_MS: "300" },
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "degraded", db: "unreachable" });
  });
});

describe("envelope and request ids", () => {
  it("answers unknown routes with a 404 envelope", async () => {
    const res = await exports.default.fetch("http://api.test/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: "No route for GET /nope." } });
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("keeps a well-formed incoming X-Request-Id and replaces a malformed one", async () => {
    const kept = await exports.default.fetch("http://api.test/nope", { headers: { "X-Request-Id": "req-abc-123456" } });
    expect(kept.headers.get("x-request-id")).toBe("req-abc-123456");
    const replaced = await exports.default.fetch("http://api.test/nope", { headers: { "X-Request-Id": "bad id <script>" } });
    expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
