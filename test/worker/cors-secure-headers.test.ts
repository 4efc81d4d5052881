import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call } from "./support/http.ts";

const APP_ORIGIN = "https://app.earlybird.in";

describe("secure headers", () => {
  it("are on every answer, errors included", async () => {
    for (const path of ["/health", "/openapi.json", "/no/such/route"]) {
      const res = await exports.default.fetch(`http://api.test${path}`);
      await res.arrayBuffer();
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(res.headers.get("strict-transport-security"), path).toMatch(/^max-age=\d+/);
      expect(res.headers.get("referrer-policy"), path).toBe("no-referrer");
      expect(res.headers.get("x-frame-options"), path).toBe("SAMEORIGIN");
      expect(res.headers.get("cross-origin-opener-policy"), path).toBe("same-origin");
    }
  });
});

describe("CORS", () => {
  it("sends no CORS headers when CORS_ORIGINS is empty (the default)", async () => {
    const res = await exports.default.fetch("http://api.test/health", { headers: { Origin: APP_ORIGIN } });
    await res.arrayBuffer();
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const preflight = await exports.default.fetch("http://api.test/api/auth/login", {
      method: "OPTIONS",
      headers: { Origin: APP_ORIGIN, "Access-Control-Request-Method": "POST" },
    });
    await preflight.arrayBuffer();
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    expect(preflight.headers.get("access-control-allow-methods")).toBeNull();
  });

  it("answers a preflight from a listed origin with the methods and headers clients use", async () => {
    const res = await call("/api/auth/login", {
      method: "OPTIONS",
      headers: {
        Origin: APP_ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
      },
      bindings: { CORS_ORIGINS: `https://admin.earlybird.in, ${APP_ORIGIN}` },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    expect(res.headers.get("access-control-allow-methods")).toContain("PATCH");
    expect(res.headers.get("access-control-allow-methods")).toContain("DELETE");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("idempotency-key");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("lets a listed origin read responses and X-Request-Id, errors included", async () => {
    const bindings = { CORS_ORIGINS: APP_ORIGIN };
    for (const path of ["/health", "/no/such/route"]) {
      const res = await call(path, { headers: { Origin: APP_ORIGIN }, bindings });
      await res.arrayBuffer();
      expect(res.headers.get("access-control-allow-origin"), path).toBe(APP_ORIGIN);
      expect(res.headers.get("access-control-expose-headers")?.toLowerCase(), path).toContain("x-request-id");
      expect(res.headers.get("vary"), path).toContain("Origin");
    }
  });

  it("does not allow an origin that is not listed", async () => {
    const res = await call("/health", { headers: { Origin: "https://evil.example" }, bindings: { CORS_ORIGINS: APP_ORIGIN } });
    await res.arrayBuffer();
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});
