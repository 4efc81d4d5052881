import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.ts";
import type { Role } from "../../src/db/collections.ts";
import { anyProduct, countByMarkers, withDb } from "./support/db.ts";
import { customerBody, randomPhone, subscriptionBody, UNREACHABLE_DB_URI } from "./support/fixture.ts";
import { call, envWith, errorCode, post, staffToken, tokenAfterFirstPassword } from "./support/http.ts";

const tokens = {} as Record<Role, string>;
let productId: string;

beforeAll(async () => {
  for (const role of ["admin", "marketing_staff", "delivery_boy", "supplier", "customer"] as const) {
    tokens[role] = (await staffToken(role)).token;
  }
  productId = (await anyProduct()).id;
});

describe("who may create customers", () => {
  const endpoints = [
    ["/api/phase0-v2/customers", (phone: string) => customerBody({ phone })],
    [
      "/api/phase0-v2/customers-with-subscription",
      (phone: string) => ({ customer: customerBody({ phone }), subscription: subscriptionBody(productId) }),
    ],
  ] as const;

  for (const [path, makeBody] of endpoints) {
    it(`${path}: 401 without a token or with a bad one, before looking at the body`, async () => {
      const none = await post(path, { nonsense: true });
      expect(none.status).toBe(401);
      expect(await errorCode(none)).toBe("unauthorized");
      expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
      const forged = await post(path, makeBody(randomPhone()), "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln");
      expect(forged.status).toBe(401);
    });

    for (const role of ["customer", "delivery_boy", "supplier"] as const) {
      it(`${path}: 403 forbidden for ${role}, and nothing is written`, async () => {
        const phone = randomPhone();
        const res = await post(path, makeBody(phone), tokens[role]);
        expect(res.status).toBe(403);
        expect(await errorCode(res)).toBe("forbidden");
        // Role is checked before validation: a bad body from a forbidden role is still 403.
        expect((await post(path, { nonsense: true }, tokens[role])).status).toBe(403);
        expect(await countByMarkers({ phone })).toEqual({ customers: 0, users: 0, subscriptions: 0 });
      });
    }

    for (const role of ["admin", "marketing_staff"] as const) {
      it(`${path}: 201 for ${role}`, async () => {
        const phone = randomPhone();
        const res = await post(path, makeBody(phone), tokens[role]);
        expect(res.status).toBe(201);
        const expected = { customers: 1, users: 1, subscriptions: path.endsWith("subscription") ? 1 : 0 };
        expect(await countByMarkers({ phone })).toEqual(expected);
      });
    }
  }

  it("refuses a marketing_staff deactivated after its token was issued", async () => {
    const staff = await staffToken("marketing_staff");
    await withDb((db) => db.collection("users").updateOne({ id: staff.user.id }, { $set: { is_active: false } }));
    const res = await post("/api/phase0-v2/customers", customerBody(), staff.token);
    expect(res.status).toBe(401);
  });

  it("answers 503 when the database is unreachable", async () => {
    // Same Worker code, pointed at a port nothing listens on (no ExecutionContext: the
    // request closes its client inline).
    const res = await createApp().fetch(
      new Request("http://api.test/api/phase0-v2/customers", {
        method: "POST",
        headers: { Authorization: `Bearer ${tokens.admin}`, "Content-Type": "application/json" },
        body: JSON.stringify(customerBody()),
      }),
      envWith({ MONGODB_URI: UNREACHABLE_DB_URI, MONGODB_SERVER_SELECTION_TIMEOUT_MS: "300" }),
    );
    expect(res.status).toBe(503);
    expect(await errorCode(res)).toBe("database_unavailable");
  });
});

describe("GET /api/phase0-v2/customers/:id", () => {
  let created: { customer: Record<string, unknown>; user: { id: string; email: string }; initial_password: string };
  let ownToken: string;

  beforeAll(async () => {
    const res = await post("/api/phase0-v2/customers", customerBody({ notes: "gate code 4711" }), tokens.admin);
    created = (await res.json()) as typeof created;
    ownToken = await tokenAfterFirstPassword({ email: created.user.email, password: created.initial_password });
  });

  for (const role of ["admin", "marketing_staff", "delivery_boy", "supplier"] as const) {
    it(`shows any customer to staff role ${role}`, async () => {
      const res = await call(`/api/phase0-v2/customers/${created.customer.id}`, { token: tokens[role] });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(created.customer);
    });
  }

  it("shows staff a legacy customer, without _id", async () => {
    const legacy = await withDb((db) => db.collection("customers_v2").findOne({ created_at: { $type: "date" } }));
    const res = await call(`/api/phase0-v2/customers/${legacy!.id}`, { token: tokens.delivery_boy });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ id: legacy!.id, name: legacy!.name, phone: legacy!.phone });
    expect(body).not.toHaveProperty("_id");
    expect(body.created_at).toBe((legacy!.created_at as Date).toISOString());
  });

  it("shows the linked customer its own document, without staff-only fields", async () => {
    const res = await call(`/api/phase0-v2/customers/${created.customer.id}`, { token: ownToken });
    expect(res.status).toBe(200);
    const staffOnly = ["notes", "marketing_boy", "marketing_boy_id", "delivery_boy_id"];
    const expected = Object.fromEntries(Object.entries(created.customer).filter(([key]) => !staffOnly.includes(key)));
    expect(created.customer.notes).toBe("gate code 4711");
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual(expected);
    expect(body).not.toHaveProperty("notes");
  });

  it("answers 404 (not 403) to another customer, and to a customer-role user without a link", async () => {
    const other = (await (await post("/api/phase0-v2/customers", customerBody(), tokens.admin)).json()) as typeof created;
    const otherToken = await tokenAfterFirstPassword({ email: other.user.email, password: other.initial_password });
    for (const token of [otherToken, tokens.customer]) {
      const res = await call(`/api/phase0-v2/customers/${created.customer.id}`, { token });
      expect(res.status).toBe(404);
      expect(await errorCode(res)).toBe("not_found");
    }
  });

  it("answers 404 when the caller's link is broken on the customer side", async () => {
    const own = (await (await post("/api/phase0-v2/customers", customerBody(), tokens.admin)).json()) as typeof created;
    const token = await tokenAfterFirstPassword({ email: own.user.email, password: own.initial_password });
    await withDb((db) =>
      db.collection("customers_v2").updateOne({ id: own.customer.id }, { $set: { user_id: crypto.randomUUID() } }),
    );
    const res = await call(`/api/phase0-v2/customers/${own.customer.id}`, { token });
    expect(res.status).toBe(404);
  });

  it("answers 404 for an unknown id, and 401 without a token", async () => {
    expect((await call(`/api/phase0-v2/customers/${crypto.randomUUID()}`, { token: tokens.admin })).status).toBe(404);
    expect((await call(`/api/phase0-v2/customers/not-a-uuid`, { token: tokens.admin })).status).toBe(404);
    expect((await call(`/api/phase0-v2/customers/${created.customer.id}`)).status).toBe(401);
  });
});
