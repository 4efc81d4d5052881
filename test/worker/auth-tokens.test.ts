// The JWT middleware: the attack list (each refused with 401 while a control token that
// differs in one aspect passes), the one-round-trip user + linked customer, /me, requireRole.

import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { OpenAPIHono } from "@hono/zod-openapi";
import { decode, sign } from "hono/jwt";
import { beforeAll, describe, expect, it } from "vitest";
import type { CustomerDoc, UserDoc } from "../../src/db/collections.ts";
import type { AppEnv } from "../../src/env.ts";
import { requireAuth, requireRole } from "../../src/middleware/auth.ts";
import { notFound, onError } from "../../src/middleware/error-handler.ts";
import { requestContext } from "../../src/middleware/request-context.ts";
import { createUser, type TestUser, withDb } from "./support/db.ts";
import { bindings } from "./support/fixture.ts";
import { api, me, tokenFor } from "./support/http.ts";
import { nowSeconds, signClaims, validClaims } from "./support/jwt.ts";
import { captureConsole, captured, expectNoSecretsInLogs } from "./support/logs.ts";

const b64url = (value: unknown) => btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

async function expectRefused(token: string, code = "invalid_token") {
  const res = await me(token);
  expect(res.status).toBe(401);
  expect(res.body.error.code).toBe(code);
  expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
  return res;
}

let user: TestUser;
captureConsole();
beforeAll(async () => {
  user = await createUser({});
});

describe("control", () => {
  it("a token signed with the right key, HS256, iss, aud and current ver is accepted", async () => {
    const res = await me(await signClaims(validClaims(user)));
    expect(res.status).toBe(200);
    expect(res.body.user_id).toBe(user.id);
  });
});

describe("JWT attacks are refused with 401", () => {
  it("no Authorization header, another scheme, or an empty bearer", async () => {
    const variants: Record<string, string>[] = [
      {},
      { authorization: "Basic dXNlcjpwYXNz" },
      { authorization: "Bearer " },
      { authorization: "Bearer a b" },
    ];
    for (const headers of variants) {
      const res = await api("GET", "/api/auth/me", { headers });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="earlybird"');
    }
  });

  it("alg: none (unsigned)", async () => {
    await expectRefused(`${b64url({ alg: "none", typ: "JWT" })}.${b64url(validClaims(user))}.`);
  });

  it("a tampered payload (role escalated) under the original signature", async () => {
    const [header, , signature] = (await signClaims(validClaims(user))).split(".");
    await expectRefused(`${header}.${b64url(validClaims(user, { role: "admin" }))}.${signature}`);
  });

  it("a token signed with another secret", async () => {
    await expectRefused(await signClaims(validClaims(user), "another-secret-of-sufficient-length-0123456789"));
  });

  it("an HS512 header, even with the right secret", async () => {
    await expectRefused(await signClaims(validClaims(user), bindings.JWT_SECRET, "HS512"));
  });

  it("an RS256 token signed with a real RSA key", async () => {
    const keys = (await crypto.subtle.generateKey(
      { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const token = await sign(validClaims(user), keys.privateKey, "RS256");
    expect(decode(token).header.alg).toBe("RS256");
    await expectRefused(token);
  });

  it("an expired token", async () => {
    const res = await expectRefused(await signClaims(validClaims(user, { iat: nowSeconds() - 1_000, exp: nowSeconds() - 10 })));
    expect(res.body.error.message).toMatch(/expired/);
  });

  it("exp in milliseconds (which a seconds-based check would treat as never expiring)", async () => {
    await expectRefused(await signClaims(validClaims(user, { exp: Date.now() + 600_000 })));
  });

  it("iat in milliseconds, iat in the future, nbf in the future", async () => {
    await expectRefused(await signClaims(validClaims(user, { iat: Date.now(), exp: nowSeconds() + 600 })));
    await expectRefused(await signClaims(validClaims(user, { iat: nowSeconds() + 300, exp: nowSeconds() + 900 })));
    await expectRefused(await signClaims(validClaims(user, { nbf: nowSeconds() + 300 })));
  });

  it("missing exp or iat, or a lifetime longer than any this API issues", async () => {
    const { exp: _exp, ...noExp } = validClaims(user);
    const { iat: _iat, ...noIat } = validClaims(user);
    await expectRefused(await signClaims(noExp));
    await expectRefused(await signClaims(noIat));
    await expectRefused(await signClaims(validClaims(user, { exp: nowSeconds() + 400 * 86_400 })));
  });

  it("a wrong or missing issuer", async () => {
    await expectRefused(await signClaims(validClaims(user, { iss: "someone-else" })));
    const { iss: _iss, ...noIss } = validClaims(user);
    await expectRefused(await signClaims(noIss));
  });

  it("a wrong or missing audience", async () => {
    await expectRefused(await signClaims(validClaims(user, { aud: "another-app" })));
    const { aud: _aud, ...noAud } = validClaims(user);
    await expectRefused(await signClaims(noAud));
  });

  it("a missing or non-string sub, a missing ver, an unknown role", async () => {
    const { sub: _sub, ...noSub } = validClaims(user);
    await expectRefused(await signClaims(noSub));
    await expectRefused(await signClaims(validClaims(user, { sub: 12345 })));
    const { ver: _ver, ...noVer } = validClaims(user);
    await expectRefused(await signClaims(noVer));
    await expectRefused(await signClaims(validClaims(user, { role: "superuser" })));
  });

  it("garbage and oversized tokens", async () => {
    await expectRefused("not-a-jwt");
    await expectRefused("a.b.c");
    await expectRefused(`${await signClaims(validClaims(user))}${"A".repeat(5_000)}`);
  });

  it("the token of a deleted user", async () => {
    const doomed = await createUser({});
    const token = await tokenFor(doomed);
    expect((await me(token)).status).toBe(200);
    await withDb((db) => db.collection<UserDoc>("users").deleteOne({ id: doomed.id }));
    const res = await expectRefused(token);
    expect(res.body.error.message).toMatch(/no longer exists/);
  });

  it("the token of a user deactivated after login", async () => {
    const later = await createUser({});
    const token = await tokenFor(later);
    await withDb((db) => db.collection<UserDoc>("users").updateOne({ id: later.id }, { $set: { is_active: false } }));
    await expectRefused(token);
  });

  it("a token whose ver is older (or newer) than the user's token_version", async () => {
    const revoked = await createUser({ token_version: 3 });
    expect((await me(await signClaims(validClaims(revoked, { ver: 3 })))).status).toBe(200);
    await expectRefused(await signClaims(validClaims(revoked, { ver: 2 })));
    await expectRefused(await signClaims(validClaims(revoked, { ver: 4 })));
  });
});

/** A user and a customer that point at each other (as onboarding or the backfill leaves them). */
async function linkedPair(): Promise<{ user: TestUser; customer: CustomerDoc }> {
  const customerId = crypto.randomUUID();
  const linkedUser = await createUser({ customer_v2_id: customerId });
  const customer: CustomerDoc = {
    id: customerId,
    user_id: linkedUser.id,
    name: "Linked Customer",
    phone: "9876501234",
    address: "12 MG Road, Bengaluru",
    area: "Indiranagar",
    status: "active",
    location: { lat: 12.97, lng: 77.64, accuracy_meters: 12.5 },
    previous_balance: 120,
    created_at: "2025-03-14T09:21:44.123456",
  };
  await withDb((db) => db.collection<CustomerDoc>("customers_v2").insertOne({ ...customer }));
  return { user: linkedUser, customer };
}

describe("/me and the linked customer", () => {
  it("a linked customer's token carries customer_v2_id and /me returns its customer without _id", async () => {
    const { user: linked, customer } = await linkedPair();
    const res = await api("POST", "/api/auth/login", { json: { email: linked.email.toUpperCase(), password: linked.password } });
    expect(res.status).toBe(200);
    expect(decode(res.body.access_token).payload.customer_v2_id).toBe(customer.id);
    expect(res.body.user.customer_v2_id).toBe(customer.id);
    const mine = await me(res.body.access_token);
    expect(mine.status).toBe(200);
    expect(mine.body).toEqual({
      user_id: linked.id,
      email: linked.email,
      role: "customer",
      customer_v2_id: customer.id,
      customer,
    });
    expect(mine.body.customer).not.toHaveProperty("_id");
  });

  it("a non-customer has no customer_v2_id claim and customer: null", async () => {
    const staff = await createUser({ role: "marketing_staff" });
    const token = await tokenFor(staff);
    expect(decode(token).payload).not.toHaveProperty("customer_v2_id");
    const res = await me(token);
    expect(res.body).toEqual({
      user_id: staff.id,
      email: staff.email,
      role: "marketing_staff",
      customer_v2_id: null,
      customer: null,
    });
  });

  it("a corrupted link (user → customer that points to another user) yields customer: null and a warning", async () => {
    const other = await linkedPair();
    const victimCustomer = other.customer;
    const intruder = await createUser({ customer_v2_id: victimCustomer.id });
    const warningsBefore = captured.length;

    const res = await api("POST", "/api/auth/login", { json: { email: intruder.email, password: intruder.password } });
    expect(res.status).toBe(200);
    expect(decode(res.body.access_token).payload).not.toHaveProperty("customer_v2_id");
    expect(res.body.user.customer_v2_id).toBeNull();
    const mine = await me(res.body.access_token);
    expect(mine.body).toMatchObject({ user_id: intruder.id, customer_v2_id: null, customer: null });
    expect(JSON.stringify(mine.body)).not.toContain(victimCustomer.address!);

    const warnings = captured.slice(warningsBefore).filter((l) => l.includes("does not point back") && l.includes(intruder.id));
    expect(warnings.length).toBeGreaterThanOrEqual(2); // login and /me
    expect(JSON.parse(warnings[0]!)).toMatchObject({
      level: "warn",
      customer_v2_id: victimCustomer.id,
      customer_user_id: other.user.id,
    });
  });

  it("a link broken after the token was issued is re-checked on every request", async () => {
    const { user: linked, customer } = await linkedPair();
    const token = await tokenFor(linked);
    expect(decode(token).payload.customer_v2_id).toBe(customer.id);
    await withDb((db) =>
      db.collection<CustomerDoc>("customers_v2").updateOne({ id: customer.id }, { $set: { user_id: crypto.randomUUID() } }),
    );
    expect((await me(token)).body.customer).toBeNull();
  });

  it("a dangling link (customer does not exist) yields customer: null", async () => {
    const dangling = await createUser({ customer_v2_id: crypto.randomUUID() });
    const res = await me(await tokenFor(dangling));
    expect(res.body.customer).toBeNull();
  });

  it("the middleware reads user and customer in one aggregate (one database round trip)", async () => {
    const { user: linked } = await linkedPair();
    const token = await tokenFor(linked);
    const { MongoClient } = await import("mongodb");
    const commands: string[] = [];
    const original = MongoClient.prototype.connect;
    // Count commands sent by the Worker's per-request client while it serves /me (the direct
    // path: the gateway's client is already connected; db-gateway.test.ts counts its messages).
    MongoClient.prototype.connect = async function (this: InstanceType<typeof MongoClient>) {
      this.options.monitorCommands = true;
      this.on("commandStarted", (e) => commands.push(e.commandName));
      return original.call(this);
    };
    try {
      expect((await api("GET", "/api/auth/me", { token, bindings: { DB_ACCESS: "direct" } })).status).toBe(200);
    } finally {
      MongoClient.prototype.connect = original;
    }
    const dataCommands = commands.filter(
      (c) => !["hello", "isMaster", "ismaster", "ping", "endSessions", "saslStart", "saslContinue"].includes(c),
    );
    expect(dataCommands).toEqual(["aggregate"]);
  });
});

describe("requireRole", () => {
  const staffApp = () => {
    const app = new OpenAPIHono<AppEnv>();
    app.use("*", requestContext);
    app.onError(onError);
    app.notFound(notFound);
    app.get("/staff", requireAuth, requireRole("admin", "marketing_staff"), (c) => c.json({ role: c.var.user.role }));
    app.get("/no-auth", requireRole("admin"), (c) => c.json({ reached: true }));
    return app;
  };
  const call = async (path: string, token?: string) => {
    const ctx = createExecutionContext();
    const res = await staffApp().fetch(
      new Request(`http://api.test${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }),
      bindings,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return { status: res.status, body: (await res.json()) as { error?: { code: string }; role?: string } };
  };

  it("lets listed roles through and answers 403 forbidden to others, 401 without a token", async () => {
    const staff = await createUser({ role: "marketing_staff" });
    const customer = await createUser({ role: "customer" });
    expect(await call("/staff", await tokenFor(staff))).toEqual({ status: 200, body: { role: "marketing_staff" } });
    const denied = await call("/staff", await tokenFor(customer));
    expect(denied.status).toBe(403);
    expect(denied.body.error?.code).toBe("forbidden");
    expect((await call("/staff")).status).toBe(401);
  });

  it("uses the role stored now, not the role in the token", async () => {
    const demoted = await createUser({ role: "admin" });
    const token = await tokenFor(demoted);
    await withDb((db) => db.collection<UserDoc>("users").updateOne({ id: demoted.id }, { $set: { role: "delivery_boy" } }));
    expect((await call("/staff", token)).status).toBe(403);
  });

  it("without requireAuth before it, refuses rather than letting anyone through", async () => {
    expect((await call("/no-auth")).status).toBe(401);
  });
});

describe("logs", () => {
  it("no log line written during this file contains a hash or a plaintext password", () => {
    expectNoSecretsInLogs();
  });
});
