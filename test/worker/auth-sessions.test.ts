// Refresh sessions: rotation, the retry grace, reuse detection, logout, the sessions
// list, first-password enforcement, lockout, the per-IP limit, the audit trail and timing.
// Every request states its time (X-Test-Now): windows and expiries are crossed without sleeping.
import { describe, expect, it } from "vitest";
import type { UserDoc } from "../../src/db/collections.ts";
import type { SessionDoc } from "../../src/db/sessions.ts";
import { hashPassword } from "../../src/services/auth/passwords.ts";
import { createUser, type TestUser, withDb } from "./support/db.ts";
import { type ApiResponse, api } from "./support/http.ts";
import { captureConsole, expectNoSecretsInLogs } from "./support/logs.ts";
import { registerSecret } from "./support/secrets.ts";

captureConsole();

/** A clock for one test, starting at a whole 15-minute window a little in the future. */
function clock(startOffsetMs = 0) {
  const windowMs = 900_000;
  let now = Math.ceil(Date.now() / windowMs) * windowMs + windowMs + startOffsetMs;
  return {
    get now() {
      return now;
    },
    advance(ms: number) {
      now += ms;
    },
    headers(extra: Record<string, string> = {}): Record<string, string> {
      return { "X-Test-Now": String(now), ...extra };
    },
  };
}
type Clock = ReturnType<typeof clock>;

interface Tokens {
  access_token: string;
  refresh_token: string;
}

async function loginAt(
  t: Clock,
  user: { email: string; password: string },
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  return api("POST", "/api/auth/login", { json: { email: user.email, password: user.password }, headers: t.headers(headers) });
}

async function signedIn(
  t: Clock,
  user: { email: string; password: string },
  headers: Record<string, string> = {},
): Promise<Tokens> {
  const res = await loginAt(t, user, headers);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  registerSecret(res.body.refresh_token);
  return res.body;
}

async function refreshAt(t: Clock, refreshToken: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
  const res = await api("POST", "/api/auth/refresh", { json: { refresh_token: refreshToken }, headers: t.headers(headers) });
  if (res.status === 200) registerSecret(res.body.refresh_token);
  return res;
}

const meAt = (t: Clock, token: string) => api("GET", "/api/auth/me", { token, headers: t.headers() });

function sessionsOf(userId: string): Promise<SessionDoc[]> {
  return withDb((db) =>
    db
      .collection<SessionDoc>("auth_sessions")
      .find({ user_id: userId }, { projection: { _id: 0 } })
      .toArray(),
  );
}

/** Documents of a family that could still be refreshed: neither rotated nor revoked. */
function liveHeads(docs: SessionDoc[], familyId: string): SessionDoc[] {
  return docs.filter((d) => d.family_id === familyId && !d.rotated_at && !d.revoked_at);
}

function decodeSid(accessToken: string): string {
  return JSON.parse(atob(accessToken.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))).sid;
}

describe("login and refresh", () => {
  it("login returns a refresh token (256 bits, base64url) stored only as a hash; no-store", async () => {
    const t = clock();
    const user = await createUser({});
    const res = await loginAt(t, user);
    expect(res.status).toBe(200);
    expect(res.body.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(res.body.refresh_expires_in).toBe(2_592_000);
    expect(res.headers.get("cache-control")).toBe("no-store");
    registerSecret(res.body.refresh_token);
    const docs = await sessionsOf(user.id);
    const mine = docs.find((d) => d.id === decodeSid(res.body.access_token))!;
    expect(mine).toBeDefined();
    expect(JSON.stringify(docs)).not.toContain(res.body.refresh_token);
    expect(mine.expires_at.getTime()).toBe(t.now + 2_592_000_000);
  });

  it("rotation: a refresh answers a new pair; the new refresh token works, the old one is rotated out", async () => {
    const t = clock();
    const user = await createUser({});
    const first = await signedIn(t, user);
    t.advance(60_000);
    const second = await refreshAt(t, first.refresh_token);
    expect(second.status).toBe(200);
    expect(Object.keys(second.body).sort()).toEqual([
      "access_token",
      "expires_in",
      "refresh_expires_in",
      "refresh_token",
      "token_type",
    ]);
    expect(second.headers.get("cache-control")).toBe("no-store");
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    expect((await meAt(t, second.body.access_token)).status).toBe(200);
    t.advance(60_000);
    const third = await refreshAt(t, second.body.refresh_token);
    expect(third.status).toBe(200);
    const docs = await sessionsOf(user.id);
    const family = docs.find((d) => d.id === decodeSid(first.access_token))!.family_id;
    expect(docs.filter((d) => d.family_id === family)).toHaveLength(3);
    expect(liveHeads(docs, family).map((d) => d.id)).toEqual([decodeSid(third.body.access_token)]);
  });

  it("a rotated token presented again within 10 s (a retry) gets a fresh pair of the same family", async () => {
    const t = clock();
    const user = await createUser({});
    const first = await signedIn(t, user);
    const rotated = await refreshAt(t, first.refresh_token);
    expect(rotated.status).toBe(200);
    t.advance(9_000);
    const retried = await refreshAt(t, first.refresh_token);
    expect(retried.status).toBe(200);
    expect(retried.body.refresh_token).not.toBe(rotated.body.refresh_token);
    const docs = await sessionsOf(user.id);
    const family = docs.find((d) => d.id === decodeSid(first.access_token))!.family_id;
    expect(docs.find((d) => d.id === decodeSid(retried.body.access_token))!.family_id).toBe(family);
    // Still one chain: only the retry's token can be refreshed further.
    expect(liveHeads(docs, family).map((d) => d.id)).toEqual([decodeSid(retried.body.access_token)]);
    expect((await refreshAt(t, retried.body.refresh_token)).status).toBe(200);
  });

  it("concurrent refreshes with one token leave the family one live chain", async () => {
    const t = clock();
    const user = await createUser({});
    const first = await signedIn(t, user);
    const results = await Promise.all([1, 2, 3, 4].map(() => refreshAt(t, first.refresh_token)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const docs = await sessionsOf(user.id);
    const family = docs.find((d) => d.id === decodeSid(first.access_token))!.family_id;
    expect(liveHeads(docs, family)).toHaveLength(1);
  });

  it("reuse after the grace period revokes the whole family, its newest token included", async () => {
    const t = clock();
    const user = await createUser({});
    const first = await signedIn(t, user);
    const second = await refreshAt(t, first.refresh_token);
    t.advance(5_000);
    const third = await refreshAt(t, second.body.refresh_token);
    expect(third.status).toBe(200);
    t.advance(11_000); // 16 s after the first token was rotated out
    const reused = await refreshAt(t, first.refresh_token);
    expect(reused.status).toBe(401);
    expect(reused.body.error.code).toBe("refresh_token_reused");
    // The newest pair is dead too: refresh and access token.
    const newest = await refreshAt(t, third.body.refresh_token);
    expect(newest.status).toBe(401);
    expect(newest.body.error.code).toBe("invalid_refresh_token");
    expect((await meAt(t, third.body.access_token)).status).toBe(401);
    expect((await meAt(t, first.access_token)).status).toBe(401);
    // Another session of the same user is untouched.
    const other = await signedIn(t, user);
    expect((await meAt(t, other.access_token)).status).toBe(200);
  });

  it("unknown, expired and revoked refresh tokens answer 401 invalid_refresh_token; bad bodies 422", async () => {
    const t = clock();
    const user = await createUser({});
    const tokens = await signedIn(t, user);
    const unknown = await refreshAt(t, "A".repeat(43));
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.code).toBe("invalid_refresh_token");
    t.advance(2_592_000_000 + 1_000);
    const expired = await refreshAt(t, tokens.refresh_token);
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe("invalid_refresh_token");
    for (const json of [{}, { refresh_token: 42 }, { refresh_token: "short" }, { refresh_token: "x".repeat(43), extra: 1 }]) {
      const res = await api("POST", "/api/auth/refresh", { json, headers: t.headers() });
      expect(res.status, JSON.stringify(json)).toBe(422);
    }
  });

  it("refresh of a deactivated user answers 403 account_inactive", async () => {
    const t = clock();
    const user = await createUser({});
    const tokens = await signedIn(t, user);
    await withDb((db) => db.collection<UserDoc>("users").updateOne({ id: user.id }, { $set: { is_active: false } }));
    const res = await refreshAt(t, tokens.refresh_token);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("account_inactive");
  });

  it("tokens issued before sessions (no sid) are refused", async () => {
    const t = clock();
    const user = await createUser({});
    const tokens = await signedIn(t, user);
    const [header, payload] = tokens.access_token.split(".");
    const claims = JSON.parse(atob(payload!.replace(/-/g, "+").replace(/_/g, "/")));
    delete claims.sid;
    const { sign } = await import("hono/jwt");
    const { bindings } = await import("./support/fixture.ts");
    const noSid = await sign(claims, bindings.JWT_SECRET, "HS256");
    expect(header).toBeTruthy();
    const res = await meAt(t, noSid);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("invalid_token");
  });
});

describe("logout and the sessions list", () => {
  it("logout kills the session's access and refresh tokens at once", async () => {
    const t = clock();
    const user = await createUser({});
    const tokens = await signedIn(t, user);
    expect((await meAt(t, tokens.access_token)).status).toBe(200);
    const out = await api("POST", "/api/auth/logout", { token: tokens.access_token, headers: t.headers() });
    expect(out.status).toBe(204);
    expect((await meAt(t, tokens.access_token)).status).toBe(401);
    expect((await refreshAt(t, tokens.refresh_token)).body.error.code).toBe("invalid_refresh_token");
  });

  it("logout-all ends every session of the caller", async () => {
    const t = clock();
    const user = await createUser({});
    const phone = await signedIn(t, user, { "User-Agent": "phone" });
    const tablet = await signedIn(t, user, { "User-Agent": "tablet" });
    expect((await api("POST", "/api/auth/logout-all", { token: phone.access_token, headers: t.headers() })).status).toBe(204);
    for (const tokens of [phone, tablet]) {
      expect((await meAt(t, tokens.access_token)).status).toBe(401);
      expect((await refreshAt(t, tokens.refresh_token)).status).toBe(401);
    }
  });

  it("lists the caller's sessions; deletes its own, answers 404 for another user's", async () => {
    const t = clock();
    const user = await createUser({});
    const phone = await signedIn(t, user, { "User-Agent": "EarlyBird Android", "CF-Connecting-IP": "203.0.113.7" });
    t.advance(1_000);
    const tablet = await signedIn(t, user, { "User-Agent": "EarlyBird iPad" });
    const list = await api("GET", "/api/auth/sessions", { token: phone.access_token, headers: t.headers() });
    expect(list.status).toBe(200);
    expect(list.headers.get("cache-control")).toBe("no-store");
    const byAgent = new Map(list.body.sessions.map((s: { user_agent: string }) => [s.user_agent, s]));
    expect(byAgent.get("EarlyBird Android")).toMatchObject({ current: true, ip: "203.0.113.7" });
    expect(byAgent.get("EarlyBird iPad")).toMatchObject({ current: false, ip: null });
    for (const s of list.body.sessions)
      expect(Object.keys(s).sort()).toEqual(["created_at", "current", "id", "ip", "last_used_at", "user_agent"]);

    const stranger = await createUser({});
    const strangerTokens = await signedIn(t, stranger);
    const tabletId = (byAgent.get("EarlyBird iPad") as { id: string }).id;
    const foreign = await api("DELETE", `/api/auth/sessions/${tabletId}`, {
      token: strangerTokens.access_token,
      headers: t.headers(),
    });
    expect(foreign.status).toBe(404);
    expect((await meAt(t, tablet.access_token)).status).toBe(200);

    const deleted = await api("DELETE", `/api/auth/sessions/${tabletId}`, { token: phone.access_token, headers: t.headers() });
    expect(deleted.status).toBe(204);
    expect((await meAt(t, tablet.access_token)).status).toBe(401);
    expect((await meAt(t, phone.access_token)).status).toBe(200);
    expect(
      (await api("DELETE", `/api/auth/sessions/${tabletId}`, { token: phone.access_token, headers: t.headers() })).status,
    ).toBe(404);

    // The id stays the same across refreshes.
    const refreshed = await refreshAt(t, phone.refresh_token);
    const after = await api("GET", "/api/auth/sessions", { token: refreshed.body.access_token, headers: t.headers() });
    expect(after.body.sessions.find((s: { current: boolean }) => s.current).id).toBe(
      (byAgent.get("EarlyBird Android") as { id: string }).id,
    );
  });

  it("change-password ends every other session and continues the caller's", async () => {
    const t = clock();
    const user = await createUser({});
    const mine = await signedIn(t, user, { "User-Agent": "mine" });
    const other = await signedIn(t, user, { "User-Agent": "other" });
    const changed = await api("POST", "/api/auth/change-password", {
      token: mine.access_token,
      json: { current_password: user.password, new_password: "a brand new secret" },
      headers: t.headers({ "User-Agent": "mine" }),
    });
    expect(changed.status).toBe(200);
    registerSecret(changed.body.refresh_token);
    expect((await meAt(t, other.access_token)).status).toBe(401);
    expect((await refreshAt(t, other.refresh_token)).status).toBe(401);
    expect((await refreshAt(t, mine.refresh_token)).status).toBe(401);
    const list = await api("GET", "/api/auth/sessions", { token: changed.body.access_token, headers: t.headers() });
    expect(list.body.sessions.map((s: { user_agent: string; current: boolean }) => [s.user_agent, s.current])).toEqual([
      ["mine", true],
    ]);
    expect((await refreshAt(t, changed.body.refresh_token)).status).toBe(200);
  });
});

describe("first password", () => {
  it("every Bearer route but me, change-password, logout(-all) and sessions answers 403 password_change_required", async () => {
    const t = clock();
    const user = await createUser({ must_change_password: true, role: "admin" });
    const tokens = await signedIn(t, user);
    const doc = (await api("GET", "/openapi.json")).body as { paths: Record<string, Record<string, { security?: unknown[] }>> };
    const allowed = new Set([
      "GET /api/auth/me",
      "POST /api/auth/change-password",
      "POST /api/auth/logout",
      "POST /api/auth/logout-all",
      "GET /api/auth/sessions",
      "DELETE /api/auth/sessions/{id}",
    ]);
    const checked: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (!op.security?.length) continue;
        const name = `${method.toUpperCase()} ${path}`;
        if (allowed.has(name)) continue;
        const url = path.replace(/\{[^}]+\}/g, crypto.randomUUID());
        const res = await api(method.toUpperCase(), url, {
          token: tokens.access_token,
          json: method === "get" ? undefined : {},
          headers: t.headers(),
        });
        expect(res.status, name).toBe(403);
        expect(res.body.error.code, name).toBe("password_change_required");
        checked.push(name);
      }
    }
    expect(checked).toContain("POST /api/phase0-v2/customers");
    expect(checked).toContain("GET /api/admin/auth-events");
    expect((await meAt(t, tokens.access_token)).status).toBe(200);
    expect((await api("GET", "/api/auth/sessions", { token: tokens.access_token, headers: t.headers() })).status).toBe(200);
    const changed = await api("POST", "/api/auth/change-password", {
      token: tokens.access_token,
      json: { current_password: user.password, new_password: "my chosen password" },
      headers: t.headers(),
    });
    expect(changed.status).toBe(200);
    registerSecret(changed.body.refresh_token);
    expect(
      (await api("GET", "/api/admin/auth-events?limit=1", { token: changed.body.access_token, headers: t.headers() })).status,
    ).toBe(200);
  });
});

describe("lockout per account identifier", () => {
  const wrong = (t: Clock, email: string) =>
    api("POST", "/api/auth/login", { json: { email, password: "not-the-password" }, headers: t.headers() });

  it("10 failures lock known and unknown accounts alike, even for the right password, until the window passes", async () => {
    const t = clock();
    const user = await createUser({});
    const ghost = `ghost-${crypto.randomUUID()}@example.com`;
    for (let i = 0; i < 10; i++) {
      const [known, unknown] = await Promise.all([wrong(t, user.email.toUpperCase()), wrong(t, ghost)]);
      expect([known.status, unknown.status]).toEqual([401, 401]);
      expect(known.body).toEqual(unknown.body);
      t.advance(10_000);
    }
    const locked = await loginAt(t, user);
    const lockedGhost = await wrong(t, ghost);
    for (const res of [locked, lockedGhost]) {
      expect(res.status).toBe(429);
      expect(res.body.error.code).toBe("too_many_requests");
      const retryAfter = Number(res.headers.get("retry-after"));
      expect(retryAfter).toBe(900 - 100);
      expect(res.body.error.details.retry_after).toBe(retryAfter);
    }
    expect(locked.body).toEqual(lockedGhost.body);
    t.advance(800_000); // the window is over
    expect((await loginAt(t, user)).status).toBe(200);
  });

  it("a success resets the count; a wrong current password on change-password counts too", async () => {
    const t = clock();
    const user = await createUser({});
    for (let i = 0; i < 9; i++) expect((await wrong(t, user.email)).status).toBe(401);
    const tokens = await signedIn(t, user); // resets
    for (let i = 0; i < 9; i++) expect((await wrong(t, user.email)).status).toBe(401);
    const bad = await api("POST", "/api/auth/change-password", {
      token: tokens.access_token,
      json: { current_password: "not-it-at-all", new_password: "whatever new one" },
      headers: t.headers(),
    });
    expect(bad.status).toBe(401);
    expect((await loginAt(t, user)).status).toBe(429);
  });
});

describe("per-IP limit", () => {
  it("30 login/refresh attempts per minute from one CF-Connecting-IP, then 429 with Retry-After; other IPs and no IP are not affected", async () => {
    const t = clock(30_000);
    const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}-${crypto.randomUUID().slice(0, 6)}`;
    for (let i = 0; i < 30; i++) {
      const res = await refreshAt(t, `garbage-token-${i}-${"x".repeat(30)}`, { "CF-Connecting-IP": ip });
      expect(res.status).toBe(401);
    }
    const user = await createUser({});
    const blocked = await loginAt(t, user, { "CF-Connecting-IP": ip });
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe("too_many_requests");
    expect(blocked.headers.get("retry-after")).toBe("30");
    expect((await loginAt(t, user, { "CF-Connecting-IP": `${ip}-other` })).status).toBe(200);
    expect((await loginAt(t, user)).status).toBe(200);
    t.advance(30_000);
    expect((await loginAt(t, user, { "CF-Connecting-IP": ip })).status).toBe(200);
  });
});

describe("audit trail", () => {
  it("records logins, failures, lockouts, reuse, logouts and password changes, with no secret material; admin only, paged", async () => {
    const t = clock();
    const user = await createUser({});
    const admin = await createUser({ role: "admin" });
    const first = await signedIn(t, user, { "User-Agent": "audit-agent", "CF-Connecting-IP": "192.0.2.44" });
    for (let i = 0; i < 10; i++)
      await api("POST", "/api/auth/login", { json: { email: user.email, password: `wrong-${i}` }, headers: t.headers() });
    expect((await loginAt(t, user)).status).toBe(429);
    t.advance(900_000);
    const second = await signedIn(t, user);
    await refreshAt(t, first.refresh_token);
    t.advance(20_000);
    await refreshAt(t, first.refresh_token);
    await api("POST", "/api/auth/change-password", {
      token: second.access_token,
      json: { current_password: user.password, new_password: "audited new password" },
      headers: t.headers(),
    });
    const adminTokens = await signedIn(t, admin);
    const all: Record<string, unknown>[] = [];
    let cursor: string | null = null;
    do {
      const page: ApiResponse = await api(
        "GET",
        `/api/admin/auth-events?user_id=${user.id}&limit=4${cursor ? `&cursor=${cursor}` : ""}`,
        {
          token: adminTokens.access_token,
          headers: t.headers(),
        },
      );
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(4);
      all.push(...page.body.items);
      cursor = page.body.next_cursor;
    } while (cursor);
    const types = all.map((e) => e.type);
    expect(new Set(types)).toEqual(new Set(["login_succeeded", "login_failed", "refresh_reused", "password_changed"]));
    expect(types.filter((x) => x === "login_failed")).toHaveLength(10);
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
    const ats = all.map((e) => Date.parse(e.at as string));
    expect([...ats].sort((a, b) => b - a)).toEqual(ats);
    const firstLogin = all.find((e) => e.user_agent === "audit-agent")!;
    expect(firstLogin).toMatchObject({ type: "login_succeeded", ip: "192.0.2.44" });
    expect(typeof firstLogin.request_id).toBe("string");
    expect(firstLogin.identifier_hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const text = JSON.stringify(all);
    for (const secret of [user.password, "audited new password", first.refresh_token, first.access_token, user.email])
      expect(text).not.toContain(secret);
    const raw = await withDb((db) => db.collection("auth_events").find({ user_id: user.id }).toArray());
    expect(JSON.stringify(raw)).not.toContain(user.password);
    expect(JSON.stringify(raw)).not.toContain(user.email);

    // A lockout is recorded under the identifier's keyed hash (no account is looked up for it).
    const locks = await api("GET", "/api/admin/auth-events?type=login_locked&limit=200", {
      token: adminTokens.access_token,
      headers: t.headers(),
    });
    expect(locks.body.items.some((e: { identifier_hash: string }) => e.identifier_hash === firstLogin.identifier_hash)).toBe(
      true,
    );

    const typed = await api("GET", `/api/admin/auth-events?type=refresh_reused&user_id=${user.id}`, {
      token: adminTokens.access_token,
      headers: t.headers(),
    });
    expect(typed.body.items.map((e: { type: string }) => e.type)).toEqual(["refresh_reused"]);
    const notAdmin = await api("GET", "/api/admin/auth-events", {
      token: (await signedIn(t, await createUser({}))).access_token,
      headers: t.headers(),
    });
    expect(notAdmin.status).toBe(403);
    const badCursor = await api("GET", "/api/admin/auth-events?cursor=nonsense", {
      token: adminTokens.access_token,
      headers: t.headers(),
    });
    expect(badCursor.status).toBe(422);
  });
});

describe("timing", () => {
  it("an unknown email and a wrong password take the same time (medians within 25 %)", { timeout: 120_000 }, async () => {
    const t = clock();
    const password = `timing-${crypto.randomUUID()}`;
    registerSecret(password);
    // Stored at BCRYPT_COST (10), as every hash is after its first successful login.
    const user: TestUser = await createUser({ password_hash: await hashPassword(password, 10), plaintext: password });
    const timed = async (email: string) => {
      const started = performance.now();
      const res = await api("POST", "/api/auth/login", { json: { email, password: "wrong-password" }, headers: t.headers() });
      const elapsed = performance.now() - started;
      expect(res.status).toBe(401);
      return elapsed;
    };
    await timed(user.email);
    await timed(`warm-${crypto.randomUUID()}@example.com`);
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 15; i++) {
      t.advance(900_000); // a fresh lockout window each round
      if (i % 2 === 0) {
        known.push(await timed(user.email));
        unknown.push(await timed(`ghost-${crypto.randomUUID()}@example.com`));
      } else {
        unknown.push(await timed(`ghost-${crypto.randomUUID()}@example.com`));
        known.push(await timed(user.email));
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const [k, u] = [median(known), median(unknown)];
    console.log(`[timing] wrong password ${k.toFixed(0)} ms, unknown email ${u.toFixed(0)} ms (medians of 15)`);
    expect(Math.abs(k - u) / Math.max(k, u)).toBeLessThan(0.25);
  });
});

describe("logs", () => {
  it("no log line written during this file contains a hash, a password or a refresh token", () => {
    expectNoSecretsInLogs();
  });
});
