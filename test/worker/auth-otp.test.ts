// Phone one-time codes: request → SMS (webhook provider into a local receiver, the
// MSG91 adapter against a local fake of its API, the console provider) → login or password
// reset; attempts, expiry, cooldown, hourly cap, and no enumeration. Clock: X-Test-Now.
import { describe, expect, inject, it } from "vitest";
import type { UserDoc } from "../../src/db/collections.ts";
import { createUser, withDb } from "./support/db.ts";
import { randomPhone } from "./support/fixture.ts";
import { type ApiResponse, api } from "./support/http.ts";
import { captureConsole, captured, expectNoSecretsInLogs, isSmsLine } from "./support/logs.ts";
import { registerSecret } from "./support/secrets.ts";

captureConsole();

const receiver = inject("smsReceiverUrl");
const WEBHOOK_SECRET = "test-webhook-secret-0123456789abcdef";
registerSecret(WEBHOOK_SECRET);
const webhook = { SMS_PROVIDER: "webhook", SMS_WEBHOOK_URL: `${receiver}/sms`, SMS_WEBHOOK_SECRET: WEBHOOK_SECRET };

let base = Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 3_600_000;
/** A clock of its own per test (a fresh hour: the hourly cap starts empty). */
function clock() {
  base += 10 * 3_600_000;
  let now = base;
  return {
    advance: (ms: number) => {
      now += ms;
    },
    headers: () => ({ "X-Test-Now": String(now) }),
  };
}
type Clock = ReturnType<typeof clock>;

interface Recorded {
  path: string;
  headers: Record<string, string>;
  body: string;
}

async function recorded(): Promise<Recorded[]> {
  return (await (await fetch(`${receiver}/messages`)).json()) as Recorded[];
}

/** Webhook messages to a phone, each with its signature checked and its code registered as a secret. */
async function smsTo(phone: string): Promise<{ to: string; text: string; purpose: string; code: string }[]> {
  const out = [];
  for (const r of await recorded()) {
    if (r.path !== "/sms") continue;
    const body = JSON.parse(r.body) as { to: string; text: string; purpose: string };
    if (body.to !== `+91${phone}`) continue;
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(WEBHOOK_SECRET),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(r.body)));
    expect(r.headers["x-signature"]).toBe(`sha256=${[...mac].map((b) => b.toString(16).padStart(2, "0")).join("")}`);
    expect(r.headers["content-type"]).toMatch(/^application\/json/);
    expect(Object.keys(body).sort()).toEqual(["purpose", "text", "to"]);
    const code = /\b(\d{6})\b/.exec(body.text)![1]!;
    registerSecret(code);
    out.push({ ...body, code });
  }
  return out;
}

function otpRequest(
  t: Clock,
  phone: string,
  purpose: "login" | "reset" = "login",
  bindings: Record<string, string> = webhook,
): Promise<ApiResponse> {
  return api("POST", "/api/auth/otp/request", { json: { phone, purpose }, headers: t.headers(), bindings });
}

function otpVerify(t: Clock, phone: string, code: string): Promise<ApiResponse> {
  return api("POST", "/api/auth/otp/verify", { json: { phone, code }, headers: t.headers(), bindings: webhook });
}

/** A code that is not `code` (for wrong tries). */
const otherCode = (code: string, i = 0) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, "0");

async function customerWithPhone(fields: Partial<UserDoc> = {}) {
  const phone = randomPhone();
  const user = await createUser({ phone: `+91 ${phone.slice(0, 5)} ${phone.slice(5)}`, ...fields });
  return { user, phone };
}

describe("login with a one-time code", () => {
  it("request → signed webhook SMS → verify answers as login; a code works once", async () => {
    const t = clock();
    const { user, phone } = await customerWithPhone();
    const res = await otpRequest(t, `0${phone}`);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ expires_in: 300, resend_after: 30 });
    expect(res.headers.get("cache-control")).toBe("no-store");
    const [sms, ...more] = await smsTo(phone);
    expect(more).toEqual([]);
    expect(sms!.purpose).toBe("login");
    expect(sms!.text).toContain("EarlyBird login code");

    t.advance(20_000);
    const ok = await otpVerify(t, `+91${phone}`, sms!.code);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    registerSecret(ok.body.refresh_token);
    expect(ok.body).toMatchObject({
      token_type: "bearer",
      expires_in: 900,
      refresh_expires_in: 2_592_000,
      user: { id: user.id },
    });
    expect(ok.headers.get("cache-control")).toBe("no-store");
    expect((await api("GET", "/api/auth/me", { token: ok.body.access_token, headers: t.headers() })).status).toBe(200);
    const again = await otpVerify(t, phone, sms!.code);
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe("invalid_code");

    const events = await withDb((db) => db.collection("auth_events").find({ user_id: user.id }).toArray());
    expect(events.map((e) => e.type).sort()).toEqual(["otp_sent", "otp_succeeded"]);
    expect(JSON.stringify(events)).not.toContain(sms!.code);
    expect(JSON.stringify(events)).not.toContain(phone);
  });

  it("five wrong codes burn it: the right one is refused afterwards", async () => {
    const t = clock();
    const { phone } = await customerWithPhone();
    expect((await otpRequest(t, phone)).status).toBe(202);
    const [sms] = await smsTo(phone);
    for (let i = 0; i < 5; i++) {
      const res = await otpVerify(t, phone, otherCode(sms!.code, i));
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("invalid_code");
    }
    expect((await otpVerify(t, phone, sms!.code)).status).toBe(401);
  });

  it("four wrong codes do not: the fifth try with the right code works", async () => {
    const t = clock();
    const { phone } = await customerWithPhone();
    await otpRequest(t, phone);
    const [sms] = await smsTo(phone);
    for (let i = 0; i < 4; i++) expect((await otpVerify(t, phone, otherCode(sms!.code, i))).status).toBe(401);
    const ok = await otpVerify(t, phone, sms!.code);
    expect(ok.status).toBe(200);
    registerSecret(ok.body.refresh_token);
  });

  it("a code expires after 300 s", async () => {
    const t = clock();
    const { phone } = await customerWithPhone();
    await otpRequest(t, phone);
    const [sms] = await smsTo(phone);
    t.advance(300_000);
    expect((await otpVerify(t, phone, sms!.code)).status).toBe(401);
  });

  it("a new request within 30 s answers 429 with Retry-After; after it, a new code replaces the old", async () => {
    const t = clock();
    const { phone } = await customerWithPhone();
    await otpRequest(t, phone);
    t.advance(12_000);
    const early = await otpRequest(t, phone);
    expect(early.status).toBe(429);
    expect(early.body.error.code).toBe("too_many_requests");
    expect(early.headers.get("retry-after")).toBe("18");
    expect(early.body.error.details.retry_after).toBe(18);
    expect(await smsTo(phone)).toHaveLength(1);
    t.advance(18_000);
    expect((await otpRequest(t, phone)).status).toBe(202);
    const [first, second] = await smsTo(phone);
    expect(second).toBeDefined();
    if (first!.code !== second!.code) expect((await otpVerify(t, phone, first!.code)).status).toBe(401);
    const ok = await otpVerify(t, phone, second!.code);
    expect(ok.status).toBe(200);
    registerSecret(ok.body.refresh_token);
  });

  it("at most 5 codes per phone per hour", async () => {
    const t = clock();
    const { phone } = await customerWithPhone();
    for (let i = 0; i < 5; i++) {
      expect((await otpRequest(t, phone)).status).toBe(202);
      t.advance(31_000);
    }
    const capped = await otpRequest(t, phone);
    expect(capped.status).toBe(429);
    expect(Number(capped.headers.get("retry-after"))).toBe(3600 - 155);
    expect(await smsTo(phone)).toHaveLength(5);
  });
});

describe("password reset with a one-time code", () => {
  it("sets the password, ends every session and token, clears must_change_password, and signs in", async () => {
    const t = clock();
    const { user, phone } = await customerWithPhone({ must_change_password: true });
    const before = await api("POST", "/api/auth/login", {
      json: { email: user.email, password: user.password },
      headers: t.headers(),
    });
    expect(before.status).toBe(200);
    registerSecret(before.body.refresh_token);
    expect((await otpRequest(t, phone, "reset")).status).toBe(202);
    const [sms] = await smsTo(phone);
    expect(sms!.purpose).toBe("reset");
    // A reset code does not log in.
    expect((await otpVerify(t, phone, sms!.code)).status).toBe(401);
    const newPassword = `reset-${crypto.randomUUID()}`;
    registerSecret(newPassword);
    const reset = await api("POST", "/api/auth/password/reset", {
      json: { phone, code: sms!.code, new_password: newPassword },
      headers: t.headers(),
      bindings: webhook,
    });
    expect(reset.status, JSON.stringify(reset.body)).toBe(200);
    registerSecret(reset.body.refresh_token);
    expect(reset.body.user).toMatchObject({ id: user.id, must_change_password: false });
    expect(
      (
        await api("GET", "/api/phase0-v2/customers/" + crypto.randomUUID(), {
          token: reset.body.access_token,
          headers: t.headers(),
        })
      ).status,
    ).toBe(404);
    // Everything from before is dead.
    expect((await api("GET", "/api/auth/me", { token: before.body.access_token, headers: t.headers() })).status).toBe(401);
    expect(
      (await api("POST", "/api/auth/refresh", { json: { refresh_token: before.body.refresh_token }, headers: t.headers() }))
        .status,
    ).toBe(401);
    expect(
      (await api("POST", "/api/auth/login", { json: { email: user.email, password: user.password }, headers: t.headers() }))
        .status,
    ).toBe(401);
    const relogin = await api("POST", "/api/auth/login", {
      json: { email: user.email, password: newPassword },
      headers: t.headers(),
    });
    expect(relogin.status).toBe(200);
    registerSecret(relogin.body.refresh_token);
    const doc = await withDb((db) => db.collection<UserDoc>("users").findOne({ id: user.id }));
    expect(doc).toMatchObject({ must_change_password: false, token_version: 1 });
    // The code is used up.
    const twice = await api("POST", "/api/auth/password/reset", {
      json: { phone, code: sms!.code, new_password: "another password" },
      headers: t.headers(),
      bindings: webhook,
    });
    expect(twice.status).toBe(401);
    expect(twice.body.error.code).toBe("invalid_code");
  });
});

describe("no enumeration", () => {
  it("unknown, shared and inactive-only phones answer exactly like a known one, and nothing is sent", async () => {
    const t = clock();
    const { phone: known } = await customerWithPhone();
    const unknown = randomPhone();
    const shared = randomPhone();
    await createUser({ phone: shared });
    await createUser({ phone: `0${shared}`, role: "delivery_boy" });
    const inactive = randomPhone();
    await createUser({ phone: inactive, is_active: false });
    const phones = [known, unknown, shared, inactive];
    const first = await Promise.all(phones.map((p) => otpRequest(t, p)));
    for (const res of first) {
      expect(res.status).toBe(202);
      expect(res.body).toEqual(first[0]!.body);
    }
    t.advance(5_000);
    const early = await Promise.all(phones.map((p) => otpRequest(t, p)));
    for (const res of early) {
      expect(res.status).toBe(429);
      expect(res.body).toEqual(early[0]!.body);
      expect(res.headers.get("retry-after")).toBe("25");
    }
    expect(await smsTo(known)).toHaveLength(1);
    const sent = (await recorded()).map((r) => r.body).join("\n");
    for (const p of [unknown, shared, inactive]) expect(sent).not.toContain(p);
    for (const p of [unknown, shared]) {
      const res = await otpVerify(t, p, "123456");
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("invalid_code");
    }
  });

  it("an invalid phone is a 422 validation error, as for login", async () => {
    const t = clock();
    for (const json of [
      { phone: "12345", purpose: "login" },
      { phone: "9876543210", purpose: "other" },
      { phone: "9876543210" },
    ]) {
      const res = await api("POST", "/api/auth/otp/request", { json, headers: t.headers(), bindings: webhook });
      expect(res.status, JSON.stringify(json)).toBe(422);
    }
    expect((await otpVerify(t, "9876543210", "12ab56")).status).toBe(422);
  });
});

describe("SMS providers", () => {
  it("a failing webhook is logged and the client still gets 202", async () => {
    const t = clock();
    const { phone } = await customerWithPhone();
    const before = captured.length;
    const res = await otpRequest(t, phone, "login", { ...webhook, SMS_WEBHOOK_URL: `${receiver}/sms-fail`, LOG_LEVEL: "info" });
    expect(res.status).toBe(202);
    const lines = captured.slice(before).map((l) => JSON.parse(l) as { msg: string; detail?: string });
    expect(lines.find((l) => l.msg === "sms not sent")?.detail).toBe("webhook answered 500");
    const failed = (await recorded()).filter((r) => r.path === "/sms-fail" && r.body.includes(phone));
    expect(failed).toHaveLength(1);
    registerSecret(/\b(\d{6})\b/.exec(JSON.parse(failed[0]!.body).text)![1]!);
  });

  it("msg91: the Flow API gets the template, the number and the code; its refusal is logged, never shown", async () => {
    const t = clock();
    const { phone } = await customerWithPhone();
    const msg91 = {
      SMS_PROVIDER: "msg91",
      MSG91_BASE_URL: receiver,
      MSG91_AUTH_KEY: "test-msg91-key",
      MSG91_TEMPLATE_ID: "tmpl-login-1",
      LOG_LEVEL: "info",
    };
    expect((await otpRequest(t, phone, "login", msg91)).status).toBe(202);
    const calls = (await recorded()).filter((r) => r.path === "/api/v5/flow" && r.body.includes(`91${phone}`));
    expect(calls).toHaveLength(1);
    expect(calls[0]!.headers.authkey).toBe("test-msg91-key");
    const body = JSON.parse(calls[0]!.body);
    expect(body).toMatchObject({ template_id: "tmpl-login-1", recipients: [{ mobiles: `91${phone}`, purpose: "login" }] });
    const code = body.recipients[0].otp as string;
    expect(code).toMatch(/^\d{6}$/);
    registerSecret(code);
    const ok = await otpVerify(t, phone, code);
    expect(ok.status).toBe(200);
    registerSecret(ok.body.refresh_token);

    const other = await customerWithPhone();
    const before = captured.length;
    expect((await otpRequest(t, other.phone, "login", { ...msg91, MSG91_AUTH_KEY: "bad-key" })).status).toBe(202);
    const lines = captured.slice(before).map((l) => JSON.parse(l) as { msg: string; detail?: string });
    expect(lines.find((l) => l.msg === "sms not sent")?.detail).toMatch(/^msg91 answered 401 error: Authentication failure/);
    const refused = (await recorded()).find((r) => r.path === "/api/v5/flow" && r.body.includes(`91${other.phone}`))!;
    registerSecret(JSON.parse(refused.body).recipients[0].otp);
  });

  it("console (the default): one JSON line {msg:'sms', to, text}; no other line holds the code", async () => {
    const t = clock();
    const { phone } = await customerWithPhone();
    const before = captured.length;
    expect((await otpRequest(t, phone, "login", { LOG_LEVEL: "debug" })).status).toBe(202);
    const smsLines = captured
      .slice(before)
      .filter(isSmsLine)
      .map((l) => JSON.parse(l) as { to: string; text: string });
    expect(smsLines).toHaveLength(1);
    expect(smsLines[0]!.to).toBe(`+91${phone}`);
    const code = /\b(\d{6})\b/.exec(smsLines[0]!.text)![1]!;
    registerSecret(code);
    const ok = await api("POST", "/api/auth/otp/verify", {
      json: { phone, code },
      headers: t.headers(),
      bindings: { LOG_LEVEL: "debug" },
    });
    expect(ok.status).toBe(200);
    registerSecret(ok.body.refresh_token);
  });

  it("console is refused in production: 500 server_misconfigured, nothing sent", async () => {
    const t = clock();
    const { phone } = await customerWithPhone();
    const res = await otpRequest(t, phone, "login", { ENVIRONMENT: "production", SMS_PROVIDER: "console" });
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe("server_misconfigured");
    const missing = await otpRequest(t, phone, "login", { SMS_PROVIDER: "webhook", SMS_WEBHOOK_URL: "", SMS_WEBHOOK_SECRET: "" });
    expect(missing.status).toBe(500);
  });
});

describe("logs", () => {
  it("no log line but the console provider's holds a code, a password or a token", () => {
    expectNoSecretsInLogs({ allowSmsLines: true });
  });
});
