import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("GET /docs", () => {
  it("serves the Scalar reference page pointed at /openapi.json", async () => {
    const res = await exports.default.fetch("http://api.test/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain("<title>EarlyBird API</title>");
    // The page renders the document the API serves (not an embedded copy, not another URL).
    expect(html).toMatch(/"url":\s*"\/openapi\.json"/);
    expect(html).toContain("https://cdn.jsdelivr.net/npm/@scalar/api-reference");
    expect(html).toMatch(/"telemetry":\s*false/);
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

});
