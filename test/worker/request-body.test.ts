// App-wide body rules (src/middleware/request-body.ts): MAX_BODY_BYTES → 413 before parsing,
// by Content-Length and for chunked bodies; non-JSON bodies → 415; unparseable JSON → 400
// invalid_json; on every route, including unknown ones.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_BODY_BYTES } from "../../src/config.ts";
import { call, staffToken } from "./support/http.ts";

type Envelope = { error: { code: string; message: string } };

async function envelope(res: Response): Promise<{ status: number; code: string }> {
  const body = (await res.json()) as Envelope;
  expect(typeof body.error.message).toBe("string");
  return { status: res.status, code: body.error.code };
}

/** A chunked body (no Content-Length) of `total` bytes in 1 KiB chunks; `pulled()` counts what the Worker read. */
function chunkedBody(total: number, byte = 0x20): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let sent = 0;
  const chunk = new Uint8Array(1024).fill(byte);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) return controller.close();
      const part = chunk.subarray(0, Math.min(chunk.length, total - sent));
      sent += part.length;
      controller.enqueue(part);
    },
  });
  return { stream, pulled: () => sent };
}

const bigJson = (bytes: number) => JSON.stringify({ email: "a@b.c", password: "x".repeat(bytes) });

describe("body size limit (MAX_BODY_BYTES, default 64 KiB)", () => {
  it("a body over the limit with Content-Length → 413 payload_too_large, on open, protected and unknown routes", async () => {
    for (const path of ["/api/auth/login", "/api/phase0-v2/customers", "/api/auth/change-password", "/no/such/route"]) {
      const res = await call(path, { method: "POST", body: bigJson(DEFAULT_MAX_BODY_BYTES + 1) });
      expect(await envelope(res), path).toEqual({ status: 413, code: "payload_too_large" });
    }
  });

  it("a 20 MB login body is refused without being read", async () => {
    const { stream, pulled } = chunkedBody(20 * 1024 * 1024);
    const res = await call("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: stream as unknown as string,
    });
    expect(await envelope(res)).toEqual({ status: 413, code: "payload_too_large" });
    expect(pulled()).toBeLessThan(4 * 1024 * 1024);
  });

  it("a chunked body (no Content-Length) is counted while it streams: over → 413, under → parsed", async () => {
    const over = chunkedBody(DEFAULT_MAX_BODY_BYTES + 10);
    const res = await call("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: over.stream as unknown as string,
    });
    expect(await envelope(res)).toEqual({ status: 413, code: "payload_too_large" });

    const json = new TextEncoder().encode(JSON.stringify({ email: "nobody@test.earlybird.local", password: "wrong-password" }));
    const under = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(json.subarray(0, 10));
        controller.enqueue(json.subarray(10));
        controller.close();
      },
    });
    const ok = await call("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: under as unknown as string,
    });
    expect(await envelope(ok)).toEqual({ status: 401, code: "invalid_credentials" });
  });

  it("the limit is configurable: MAX_BODY_BYTES=2048 refuses 3 KiB that the default accepts", async () => {
    const body = bigJson(3_000);
    const small = await call("/api/auth/login", { method: "POST", body, bindings: { MAX_BODY_BYTES: "2048" } });
    expect(await envelope(small)).toEqual({ status: 413, code: "payload_too_large" });
    const normal = await call("/api/auth/login", { method: "POST", body });
    expect((await envelope(normal)).status).toBe(422); // parsed: the password is over its 1024-char bound
  });
});

describe("bodies must be JSON (415 unsupported_media_type)", () => {
  it.each([
    ["text/plain", "text/plain"],
    ["form", "application/x-www-form-urlencoded"],
    ["multipart", "multipart/form-data; boundary=x"],
    ["xml", "application/xml"],
    ["json look-alike", "application/json5"],
  ])("%s on an open and a protected route", async (_name, contentType) => {
    const { token } = await staffToken("admin");
    for (const path of ["/api/auth/login", "/api/phase0-v2/customers"]) {
      const res = await call(path, {
        method: "POST",
        body: '{"email":"a@b.c","password":"x"}',
        token,
        headers: { "Content-Type": contentType },
      });
      expect(await envelope(res), `${contentType} ${path}`).toEqual({ status: 415, code: "unsupported_media_type" });
    }
  });

  it("a body without any Content-Type → 415, not 422 with every field missing", async () => {
    const res = await exports.default.fetch("http://api.test/api/auth/login", {
      method: "POST",
      body: new TextEncoder().encode('{"a":1}'),
    });
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await envelope(res)).toEqual({ status: 415, code: "unsupported_media_type" });
  });

  it("JSON with parameters or a +json type is accepted", async () => {
    for (const contentType of ["application/json; charset=utf-8", "APPLICATION/JSON", "application/vnd.api+json"]) {
      const res = await call("/api/auth/login", {
        method: "POST",
        body: JSON.stringify({ email: "nobody@test.earlybird.local", password: "wrong-password" }),
        headers: { "Content-Type": contentType },
      });
      expect(await envelope(res), contentType).toEqual({ status: 401, code: "invalid_credentials" });
    }
  });
});

describe("malformed JSON → 400 invalid_json (one code everywhere)", () => {
  const bodies: [string, BodyInit][] = [
    ["truncated", '{"email":'],
    ["single quotes", "{'email':'a@b.c'}"],
    ["trailing comma", '{"email":"a@b.c",}'],
    ["empty", ""],
    ["whitespace", "  \n"],
    ["invalid UTF-8 bytes", new Uint8Array([0x7b, 0x22, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d])],
  ];
  it.each(bodies)("%s, on an open and a protected route", async (_name, body) => {
    const { token } = await staffToken("marketing_staff");
    for (const path of ["/api/auth/login", "/api/phase0-v2/customers", "/api/auth/change-password"]) {
      const res = await call(path, {
        method: "POST",
        body: body as string,
        token,
        headers: { "Content-Type": "application/json" },
      });
      expect(await envelope(res), path).toEqual({ status: 400, code: "invalid_json" });
    }
  });

  it("a GET labelled application/json without a body is served normally", async () => {
    const { token } = await staffToken("admin");
    const res = await call("/api/auth/me", { token, headers: { "Content-Type": "application/json" } });
    expect(res.status).toBe(200);
  });
});
