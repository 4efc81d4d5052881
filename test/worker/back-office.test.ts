// Back office and staff-side recovery: search, edit, subscriptions,
// deactivation, stats, staff password reset and logins for legacy customers.
import { BSON, type Db, type Document, MongoClient } from "mongodb";
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { CustomerDoc, UserDoc } from "../../src/db/collections.ts";
import { normalizePhone } from "../../src/lib/phone.ts";
import { fixedWindow } from "../../src/services/auth/limits.ts";
import { hashPassword } from "../../src/services/auth/passwords.ts";
import { anyProduct, createUser, withDb } from "./support/db.ts";
import { bindings, customerBody, phoneSpellings, randomPhone, subscriptionBody, unique } from "./support/fixture.ts";
import { api, login, me, staffToken, tokenAfterFirstPassword } from "./support/http.ts";
import { registerSecret } from "./support/secrets.ts";

const BASE = "/api/phase0-v2/customers";
let admin: string;
let marketing: string;
let rider: string;
let supplier: string;

beforeAll(async () => {
  const tokens = await Promise.all(
    (["admin", "marketing_staff", "delivery_boy", "supplier"] as const).map(async (role) => (await staffToken(role)).token),
  );
  [admin, marketing, rider, supplier] = [tokens[0]!, tokens[1]!, tokens[2]!, tokens[3]!];
});

/** Creates a customer and its user through the API; the initial password becomes a secret. */
async function onboard(overrides: Record<string, unknown> = {}, path = BASE, body?: unknown) {
  const res = await api("POST", path, { json: body ?? customerBody(overrides), token: marketing });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  registerSecret(res.body.initial_password);
  return res.body as { customer: CustomerDoc; user: { id: string; email: string }; initial_password: string };
}

/** A customer inserted as the legacy system did: phone as typed, no link, no search fields of its own. */
async function legacyCustomer(fields: Partial<CustomerDoc> = {}): Promise<CustomerDoc> {
  const doc: CustomerDoc = {
    id: crypto.randomUUID(),
    name: `Legacy ${unique()}`,
    status: "active",
    created_at: "2025-01-02T03:04:05.123456",
    ...fields,
  };
  await withDb((db) => db.collection<CustomerDoc>("customers_v2").insertOne({ ...doc }));
  return doc;
}

const list = (query: string, token = marketing) => api("GET", `${BASE}?${query}`, { token });

describe("search", () => {
  it("finds a legacy (back-filled) customer by every spelling of its phone and by a phone prefix", async () => {
    const fixture = await withDb((db) =>
      db
        .collection<CustomerDoc>("customers_v2")
        .find({ phone_search: { $type: "string" } }, { projection: { _id: 0 } })
        .limit(50)
        .toArray(),
    );
    // A legacy spelling that is not already the 10-digit form, whose number no other customer has.
    const target = fixture.find(
      (c) => c.phone !== c.phone_search && fixture.filter((o) => o.phone_search === c.phone_search).length === 1,
    )!;
    expect(target).toBeDefined();
    const n = target.phone_search!;
    for (const spelling of [...phoneSpellings(n), target.phone!]) {
      const res = await list(`q=${encodeURIComponent(spelling)}`);
      expect(res.status, spelling).toBe(200);
      expect(
        res.body.items.map((c: CustomerDoc) => c.id),
        spelling,
      ).toContain(target.id);
    }
    for (const prefix of [n.slice(0, 6), `+91 ${n.slice(0, 5)}`]) {
      const res = await list(`q=${encodeURIComponent(prefix)}&limit=100`);
      expect(res.body.items.map((c: CustomerDoc) => c.id)).toContain(target.id);
      expect(res.body.items.every((c: CustomerDoc) => normalizePhone(c.phone)?.startsWith(n.slice(0, 5)))).toBe(true);
    }
    // Never an internal field, for staff either.
    const item = (await list(`q=${n}`)).body.items[0];
    expect(item).not.toHaveProperty("phone_search");
    expect(item).not.toHaveProperty("name_search");
    expect(item).not.toHaveProperty("phone_normalized");
  });

  it("finds customers by a case-insensitive name prefix, new and legacy alike", async () => {
    const tag = `Zq${unique()}`;
    const created = await onboard({ name: `${tag} Ananya Rao` });
    const res = await list(`q=${encodeURIComponent(tag.toUpperCase() + " ana")}`);
    expect(res.status).toBe(200);
    expect(res.body.items.map((c: CustomerDoc) => c.id)).toEqual([created.customer.id]);
    expect((await list(`q=${encodeURIComponent(tag.toLowerCase() + " b")}`)).body.items).toEqual([]);

    const legacy = await withDb((db) =>
      db.collection<CustomerDoc>("customers_v2").findOne({ name_search: { $type: "string" }, created_at: { $type: "string" } }),
    );
    const word = legacy!.name.split(" ")[0]!;
    const found = await list(`q=${encodeURIComponent(word.toLowerCase())}&limit=100`);
    expect(found.body.items.map((c: CustomerDoc) => c.id)).toContain(legacy!.id);
  });

  it("pagination returns each customer once even with inserts between pages, for name, phone and filter listings", async () => {
    const tag = `Pg${unique()}`;
    const area = `Area ${tag}`;
    const phoneHead = `9${String(Math.floor(Math.random() * 1e4)).padStart(4, "0")}`;
    const phoneFor = () => `${phoneHead}${String(Math.floor(Math.random() * 1e5)).padStart(5, "0")}`;
    const insert = async (n: number) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) {
        const phone = phoneFor();
        const c = await legacyCustomer({
          name: `${tag} ${unique()}`,
          area,
          phone,
          phone_search: phone,
          name_search: `${tag} ${unique()}`.toLowerCase(),
          status: "paused",
        });
        out.push(c.id);
      }
      return out;
    };
    const before = await insert(7);
    for (const query of [
      `q=${tag}`,
      `area=${encodeURIComponent(area)}&status=paused`,
      `q=${phoneHead}&area=${encodeURIComponent(area)}`,
    ]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await list(`${query}&limit=3${cursor ? `&cursor=${cursor}` : ""}`);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        seen.push(...res.body.items.map((c: CustomerDoc) => c.id));
        cursor = res.body.next_cursor;
        if (++pages <= 2) await insert(2);
      } while (cursor !== null && pages < 20);
      expect(new Set(seen).size, query).toBe(seen.length);
      for (const id of before) expect(seen.filter((s) => s === id).length, query).toBe(1);
    }
  });

  it("filters by linked and status; bad cursors and values are 422", async () => {
    const area = `Area ${unique()}`;
    const linked = await onboard({ area, status: "active" });
    const unlinked = await legacyCustomer({ area, status: "trial", name_search: "x" });
    const ids = async (q: string) =>
      (await list(`area=${encodeURIComponent(area)}&${q}`)).body.items.map((c: CustomerDoc) => c.id);
    expect(await ids("linked=true")).toEqual([linked.customer.id]);
    expect(await ids("linked=false")).toEqual([unlinked.id]);
    expect(await ids("status=trial")).toEqual([unlinked.id]);
    expect((await list("cursor=not-a-cursor")).body.error.code).toBe("invalid_cursor");
    expect((await list("status=gone")).status).toBe(422);
    expect((await list("limit=1000")).status).toBe(422);
  });

  it("staff of every role may search; customers may not", async () => {
    expect((await list("limit=1", rider)).status).toBe(200);
    expect((await list("limit=1", supplier)).status).toBe(200);
    expect((await list("limit=1", admin)).status).toBe(200);
    const customer = await onboard();
    const token = (await login({ email: customer.user.email, password: customer.initial_password })).body.access_token;
    expect((await list("limit=1", token)).status).toBe(403);
  });
});

describe("PATCH /customers/:id", () => {
  it("changes fields, removes optional ones with null, and refuses id/user_id/created_at and unknown fields", async () => {
    const { customer } = await onboard({ notes: "gate code 1234" });
    const patch = (json: unknown, token = marketing) => api("PATCH", `${BASE}/${customer.id}`, { json, token });
    const ok = await patch({ address: "#9, 1st Main, Jayanagar", status: "paused", notes: null, name: "Renamed Person" });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({
      id: customer.id,
      address: "#9, 1st Main, Jayanagar",
      status: "paused",
      name: "Renamed Person",
    });
    expect(ok.body).not.toHaveProperty("notes");
    expect(ok.body).not.toHaveProperty("name_search");
    expect((await list(`q=renamed%20pers&area=Indiranagar&limit=100`)).body.items.map((c: CustomerDoc) => c.id)).toContain(
      customer.id,
    );
    for (const field of ["id", "user_id", "created_at"]) {
      const res = await patch({ [field]: crypto.randomUUID(), name: "x" });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe("field_not_patchable");
    }
    const unknown = await patch({ colour: "blue" });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.code).toBe("validation_error");
    expect((await patch({})).status).toBe(422);
    expect((await patch({ phone: "12345" })).body.error.code).toBe("validation_error");
    expect((await api("PATCH", `${BASE}/${crypto.randomUUID()}`, { json: { name: "Nobody" }, token: marketing })).status).toBe(
      404,
    );
    expect((await patch({ name: "Rider edit" }, rider)).status).toBe(403);
    expect((await patch({ name: "Supplier edit" }, supplier)).status).toBe(403);
  });

  it("a phone of another customer (legacy spelling included) is 409 phone_taken", async () => {
    const { customer } = await onboard();
    const other = randomPhone();
    await legacyCustomer({ phone: `+91 ${other.slice(0, 5)} ${other.slice(5)}`, phone_search: other });
    const res = await api("PATCH", `${BASE}/${customer.id}`, { json: { phone: `0${other}` }, token: marketing });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("phone_taken");
  });

  it("a phone change moves the linked user's phone in the same write; login by the new phone works, the old one no longer", async () => {
    const created = await onboard();
    const next = randomPhone();
    const res = await api("PATCH", `${BASE}/${created.customer.id}`, { json: { phone: `+91-${next}` }, token: admin });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.phone).toBe(next);
    const user = await withDb((db) => db.collection<UserDoc>("users").findOne({ id: created.user.id }));
    expect(user).toMatchObject({ phone: next, phone_normalized: next });
    expect((await login({ phone: next, password: created.initial_password })).status).toBe(200);
    expect((await login({ phone: created.customer.phone, password: created.initial_password })).status).toBe(401);
    // The old number is free again for a new customer.
    await onboard({ phone: created.customer.phone });
  });
});

describe("what a customer sees of itself", () => {
  it("reads its own subscriptions with product name and unit, 404 for another customer's; /me and GET /customers/:id show the public shape", async () => {
    const product = await anyProduct();
    const mine = await onboard({}, "/api/phase0-v2/customers-with-subscription", {
      customer: customerBody({ notes: "staff only: owes 200" }),
      subscription: subscriptionBody(product.id),
    });
    const other = await onboard();
    // A first password must be chosen before anything but /me (403 password_change_required).
    const first = (await login({ email: mine.user.email, password: mine.initial_password })).body.access_token;
    expect((await api("GET", `${BASE}/${mine.customer.id}/subscriptions`, { token: first })).body.error.code).toBe(
      "password_change_required",
    );
    const token = await tokenAfterFirstPassword({ email: mine.user.email, password: mine.initial_password });

    const own = await api("GET", `${BASE}/${mine.customer.id}/subscriptions`, { token });
    expect(own.status).toBe(200);
    expect(own.body.subscriptions).toHaveLength(1);
    const productDoc = await withDb((db) => db.collection("products").findOne({ id: product.id }));
    expect(own.body.subscriptions[0]).toMatchObject({
      product_id: product.id,
      product: { name: productDoc!.name, unit: productDoc!.unit },
      mode: "fixed_daily",
    });
    expect((await api("GET", `${BASE}/${other.customer.id}/subscriptions`, { token })).status).toBe(404);
    expect((await api("GET", `${BASE}/${crypto.randomUUID()}/subscriptions`, { token: rider })).status).toBe(404);
    const asStaff = await api("GET", `${BASE}/${mine.customer.id}/subscriptions`, { token: supplier });
    expect(asStaff.body).toEqual(own.body);
    expect((await api("GET", `${BASE}/${other.customer.id}/subscriptions`, { token: rider })).body.subscriptions).toEqual([]);

    const hidden = ["notes", "phone_normalized", "phone_search", "name_search", "marketing_boy_id", "marketing_boy", "_id"];
    const meBody = (await me(token)).body;
    const byId = (await api("GET", `${BASE}/${mine.customer.id}`, { token })).body;
    for (const shown of [meBody.customer, byId]) {
      expect(shown).toMatchObject({ id: mine.customer.id, name: mine.customer.name, phone: mine.customer.phone });
      for (const field of hidden) expect(shown, field).not.toHaveProperty(field);
    }
    const staffView = (await api("GET", `${BASE}/${mine.customer.id}`, { token: marketing })).body;
    expect(staffView.notes).toBe("staff only: owes 200");
    expect(staffView).not.toHaveProperty("phone_search");
  });
});

/** A refresh session as the sessions module stores it (for checking revocation). */
async function openSession(userId: string): Promise<string> {
  const id = crypto.randomUUID();
  await withDb((db) =>
    db.collection("auth_sessions").insertOne({
      id,
      user_id: userId,
      family_id: id,
      token_hash: `h-${id}`,
      created_at: new Date(),
      last_used_at: new Date(),
      expires_at: new Date(Date.now() + 86_400_000),
    }),
  );
  return id;
}
const sessionRevoked = (id: string) =>
  withDb(async (db) => (await db.collection("auth_sessions").findOne({ id }))?.revoked_at instanceof Date);
const events = (userId: string) =>
  withDb((db) =>
    db
      .collection("auth_events")
      .find({ user_id: userId }, { projection: { _id: 0 } })
      .toArray(),
  );

describe("deactivate / activate (admin)", () => {
  it("deactivation kills the active token and sessions, login answers 403; activation lets the password in again; audited", async () => {
    const user = await createUser({ role: "delivery_boy" });
    const token = (await login({ email: user.email, password: user.password })).body.access_token;
    const session = await openSession(user.id);
    expect((await me(token)).status).toBe(200);
    // Every live session of the user: createUser's, the login's and the one opened above.
    const live = await withDb((db) => db.collection("auth_sessions").find({ user_id: user.id, revoked_at: null }).toArray());
    expect(live.map((s) => s.id)).toContain(session);
    expect(live.length).toBe(3);

    const off = await api("POST", `/api/admin/users/${user.id}/deactivate`, { token: admin });
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    expect(off.body).toMatchObject({ user_id: user.id, is_active: false, changed: true, sessions_revoked: live.length });
    expect((await me(token)).status).toBe(401);
    for (const { id } of live) expect(await sessionRevoked(String(id)), String(id)).toBe(true);
    const refused = await login({ email: user.email, password: user.password });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("account_inactive");

    const on = await api("POST", `/api/admin/users/${user.id}/activate`, { token: admin });
    expect(on.body).toMatchObject({ is_active: true, changed: true });
    const again = await login({ email: user.email, password: user.password });
    expect(again.status).toBe(200);
    expect((await me(token)).status).toBe(401); // the old token stays dead
    expect((await events(user.id)).map((e) => e.type)).toEqual(
      expect.arrayContaining(["account_deactivated", "account_activated"]),
    );
  });

  it("admin only; unknown user 404; an admin cannot deactivate itself", async () => {
    const target = await createUser({});
    for (const token of [marketing, rider, supplier]) {
      expect((await api("POST", `/api/admin/users/${target.id}/deactivate`, { token })).status).toBe(403);
    }
    expect((await api("POST", `/api/admin/users/${crypto.randomUUID()}/deactivate`, { token: admin })).body.error.code).toBe(
      "not_found",
    );
    const self = await staffToken("admin");
    expect((await api("POST", `/api/admin/users/${self.user.id}/deactivate`, { token: self.token })).body.error.code).toBe(
      "cannot_deactivate_self",
    );
  });
});

describe("staff-side recovery", () => {
  it("reset-password: old tokens and sessions die, the old password stops working, the new one forces a change; audited", async () => {
    const created = await onboard();
    const first = await login({ email: created.user.email, password: created.initial_password });
    const session = await openSession(created.user.id);
    const res = await api("POST", `${BASE}/${created.customer.id}/reset-password`, { token: marketing });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    registerSecret(res.body.initial_password);
    expect(res.body.user_id).toBe(created.user.id);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect((await me(first.body.access_token)).status).toBe(401);
    expect(await sessionRevoked(session)).toBe(true);
    expect((await login({ email: created.user.email, password: created.initial_password })).status).toBe(401);
    const fresh = await login({ email: created.user.email, password: res.body.initial_password });
    expect(fresh.status).toBe(200);
    expect(fresh.body.user.must_change_password).toBe(true);
    const audit = (await events(created.user.id)).find((e) => e.type === "password_reset");
    expect(audit).toMatchObject({ details: { by: "staff", customer_id: created.customer.id } });
    expect(JSON.stringify(audit)).not.toContain(res.body.initial_password);
  });

  it("reset-password refusals: 404 not_found, 404 no_linked_user, 403 for read-only roles", async () => {
    const unlinked = await legacyCustomer({ phone: randomPhone() });
    expect((await api("POST", `${BASE}/${unlinked.id}/reset-password`, { token: admin })).body.error.code).toBe("no_linked_user");
    expect((await api("POST", `${BASE}/${crypto.randomUUID()}/reset-password`, { token: admin })).body.error.code).toBe(
      "not_found",
    );
    for (const token of [rider, supplier])
      expect((await api("POST", `${BASE}/${unlinked.id}/reset-password`, { token })).status).toBe(403);
  });

  it("creates a login for an unlinked legacy customer (phone from the customer, any spelling); 409 once linked", async () => {
    const n = randomPhone();
    const customer = await legacyCustomer({ phone: `0${n.slice(0, 5)} ${n.slice(5)}` });
    const res = await api("POST", `${BASE}/${customer.id}/user`, { token: marketing });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    registerSecret(res.body.initial_password);
    expect(res.body.user).toMatchObject({
      email: `customer-${customer.id}@earlybird.local`,
      role: "customer",
      customer_v2_id: customer.id,
      phone: n,
      name: customer.name,
    });
    const byPhone = await login({ phone: `+91 ${n}`, password: res.body.initial_password });
    expect(byPhone.status).toBe(200);
    expect(byPhone.body.user).toMatchObject({ customer_v2_id: customer.id, must_change_password: true });
    const stored = await withDb((db) => db.collection<CustomerDoc>("customers_v2").findOne({ id: customer.id }));
    expect(stored!.user_id).toBe(res.body.user.id);

    const again = await api("POST", `${BASE}/${customer.id}/user`, { token: admin });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("customer_already_linked");
    const apiLinked = await onboard();
    expect((await api("POST", `${BASE}/${apiLinked.customer.id}/user`, { token: admin })).body.error.code).toBe(
      "customer_already_linked",
    );
  });

  it("creates a login with phone null for an invalid phone; refuses a customer another user claims or whose pattern email is taken; 403 for read-only roles", async () => {
    const invalid = await legacyCustomer({ phone: "12345" });
    const res = await api("POST", `${BASE}/${invalid.id}/user`, { token: admin });
    expect(res.status).toBe(201);
    registerSecret(res.body.initial_password);
    expect(res.body.user.phone).toBeNull();

    const claimed = await legacyCustomer({});
    await createUser({ customer_v2_id: claimed.id });
    expect((await api("POST", `${BASE}/${claimed.id}/user`, { token: admin })).body.error.code).toBe("customer_already_linked");

    const patterned = await legacyCustomer({});
    await createUser({ email: `Customer-${patterned.id}@EarlyBird.local` });
    const taken = await api("POST", `${BASE}/${patterned.id}/user`, { token: admin });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe("email_taken");
    expect(await withDb((db) => db.collection("customers_v2").findOne({ id: patterned.id }))).toMatchObject({ id: patterned.id });
    expect((await withDb((db) => db.collection("customers_v2").findOne({ id: patterned.id })))!.user_id).toBeUndefined();

    for (const token of [rider, supplier])
      expect((await api("POST", `${BASE}/${patterned.id}/user`, { token })).status).toBe(403);
    expect((await api("POST", `${BASE}/${crypto.randomUUID()}/user`, { token: admin })).body.error.code).toBe("not_found");
  });
});

describe("GET /api/admin/stats on a fresh database holding only the fixture", () => {
  const fixture = BSON.EJSON.parse(inject("legacyCollectionsEjson"), { relaxed: false }) as Record<string, Document[]>;
  const dbName = `stats_${unique()}`;
  const now = new Date("2026-03-10T12:00:00Z");
  const at = (hoursAgo: number) => new Date(now.getTime() - hoursAgo * 3_600_000);
  const statsApp = { DB_NAME: dbName };

  async function withStatsDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    const client = await new MongoClient(bindings.MONGODB_URI, { maxPoolSize: 2 }).connect();
    try {
      return await fn(client.db(dbName));
    } finally {
      await client.close();
    }
  }

  it("equals the figures computed by hand from the fixture files", async () => {
    const password = `admin-${crypto.randomUUID()}`;
    registerSecret(password);
    const adminDoc: UserDoc = {
      id: crypto.randomUUID(),
      email: `stats-admin-${unique()}@test.earlybird.local`,
      role: "admin",
      is_active: true,
      password_hash: await hashPassword(password, 4),
    };
    await withStatsDb(async (db) => {
      for (const [name, docs] of Object.entries(fixture)) await db.collection(name).insertMany(docs.map((d) => ({ ...d })));
      await db.collection("users").insertOne({ ...adminDoc });
      await db.collection("auth_events").insertMany([
        // In the window: 3 successes, 3 failures; outside it (older than 24 h): one of each.
        ...[1, 5, 23.9, 30].map((h) => ({ id: crypto.randomUUID(), at: at(h), type: "login_succeeded" })),
        ...[0.5, 3, 10, 48].map((h) => ({ id: crypto.randomUUID(), at: at(h), type: "login_failed" })),
        { id: crypto.randomUUID(), at: at(1), type: "logout" },
      ]);
      // Fixed-window counters as src/services/auth/limits.ts writes them: an identifier is locked
      // while the failure window holding `now` has reached LOGIN_MAX_FAILURES.
      const max = 10; // LOGIN_MAX_FAILURES: the suite keeps the default
      const window = (scope: string, count: number, secondsAgo = 0) => {
        const w = fixedWindow(scope, crypto.randomUUID(), new Date(now.getTime() - secondsAgo * 1000), 900);
        return { key: w.key, count, window_start: w.window_start, expires_at: w.expires_at };
      };
      await db.collection("auth_rate_limits").insertMany([
        window("login-failures", max), // locked
        window("login-failures", max + 3), // locked
        window("login-failures", max - 1), // one failure short
        window("login-failures", max, 901), // an earlier window, over (the TTL has not removed it yet)
        window("ip-attempts", 500), // a client IP, not an account
      ]);
    });
    try {
      const headers = { "X-Test-Now": now.toISOString() };
      const signedIn = await api("POST", "/api/auth/login", {
        json: { email: adminDoc.email, password },
        bindings: statsApp,
        headers,
      });
      expect(signedIn.status).toBe(200);
      const res = await api("GET", "/api/admin/stats", { token: signedIn.body.access_token, bindings: statsApp, headers });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      // The admin's own login, if the login route audits it, happened inside the window too.
      const ownLogins = await withStatsDb((db) =>
        db.collection("auth_events").countDocuments({ type: "login_succeeded", user_id: adminDoc.id }),
      );

      // By hand, from the fixture files (plus the admin inserted above).
      const customers = fixture.customers_v2!;
      const users = [...fixture.users!, adminDoc as Document];
      const usersById = new Map(users.map((u) => [u.id, u]));
      const customersById = new Map(customers.map((c) => [c.id, c]));
      const twoWay = customers.filter(
        (c) => typeof c.user_id === "string" && usersById.get(c.user_id)?.customer_v2_id === c.id,
      ).length;
      const oneWayCustomers = customers.filter(
        (c) => typeof c.user_id === "string" && usersById.get(c.user_id)?.customer_v2_id !== c.id,
      ).length;
      const oneWayUsers = users.filter(
        (u) => typeof u.customer_v2_id === "string" && customersById.get(u.customer_v2_id)?.user_id !== u.id,
      ).length;
      const byRole: Record<string, number> = { customer: 0, delivery_boy: 0, supplier: 0, marketing_staff: 0, admin: 0 };
      for (const u of users) byRole[u.role] = (byRole[u.role] ?? 0) + 1;
      expect(res.body).toEqual({
        customers: customers.length,
        customers_linked: twoWay,
        link_rate: Math.round((twoWay / customers.length) * 10_000) / 10_000,
        one_way_links: oneWayCustomers + oneWayUsers,
        users_by_role: byRole,
        logins_24h: 3 + ownLogins,
        failed_logins_24h: 3,
        locked_accounts: 2,
      });
      expect(oneWayCustomers + oneWayUsers).toBeGreaterThan(0);
      expect(twoWay).toBeGreaterThan(0);

      for (const token of [marketing, rider]) expect((await api("GET", "/api/admin/stats", { token })).status).toBe(403);
    } finally {
      await withStatsDb((db) => db.dropDatabase());
    }
  });
});
