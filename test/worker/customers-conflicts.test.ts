import { beforeAll, describe, expect, it } from "vitest";
import { anyProduct, countByMarkers, createUser, insertLegacyCustomer, withDb } from "./support/db.ts";
import { customerBody, phoneSpellings, randomPhone, subscriptionBody, unique } from "./support/fixture.ts";
import { call, errorCode, post, signIn, staffToken } from "./support/http.ts";

let token: string;

beforeAll(async () => {
  token = (await staffToken("admin")).token;
});

describe("duplicate phone → 409 phone_taken", () => {
  it("refuses a second customer with the same number in another spelling", async () => {
    const phone = randomPhone();
    expect((await post("/api/phase0-v2/customers", customerBody({ phone }), token)).status).toBe(201);
    for (const spelling of phoneSpellings(phone).slice(1, 4)) {
      const res = await post("/api/phase0-v2/customers", customerBody({ phone: spelling }), token);
      expect(res.status).toBe(409);
      expect(await errorCode(res)).toBe("phone_taken");
    }
    expect(await countByMarkers({ phone })).toEqual({ customers: 1, users: 1, subscriptions: 0 });
  });

  it("finds legacy customers whose phone is stored in an odd format without phone_normalized", async () => {
    const phone = randomPhone();
    const name = `Legacy ${unique()}`;
    // As the database is after migration 006 back-filled phone_search from the odd spelling.
    await insertLegacyCustomer({
      id: crypto.randomUUID(),
      name,
      phone: `(+91) ${phone.slice(0, 5)}-${phone.slice(5)}`,
      address: "Old address",
      area: "Jayanagar",
      status: "active",
      created_at: "2024-03-01T10:00:00.123456",
    });
    const res = await post("/api/phase0-v2/customers", customerBody({ phone: `0${phone}` }), token);
    expect(res.status).toBe(409);
    expect(await errorCode(res)).toBe("phone_taken");
    expect(await countByMarkers({ phone })).toEqual({ customers: 0, users: 0, subscriptions: 0 });
  });

  it("finds the fixture's legacy customers stored as +91… and with a space", async () => {
    const legacy = await withDb((db) =>
      db
        .collection("customers_v2")
        .find({ phone: { $regex: /^(\+91[6-9]\d{9}|[6-9]\d{4} \d{5})$/ }, phone_normalized: { $exists: false } })
        .toArray(),
    );
    const plus = legacy.find((c) => String(c.phone).startsWith("+91"));
    const spaced = legacy.find((c) => String(c.phone).includes(" "));
    expect(plus && spaced).toBeTruthy();
    for (const stored of [String(plus!.phone), String(spaced!.phone)]) {
      const normalized = stored.replace(/\D/g, "").slice(-10);
      const res = await post("/api/phase0-v2/customers", customerBody({ phone: normalized }), token);
      expect(res.status).toBe(409);
      expect(await errorCode(res)).toBe("phone_taken");
    }
  });

  it("lets exactly one of 20 concurrent creations with one number through, leaving no orphan user", async () => {
    const phone = randomPhone();
    const forms = phoneSpellings(phone);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        post("/api/phase0-v2/customers", customerBody({ phone: forms[i % forms.length] }), token),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const codes = await Promise.all(results.filter((r) => r.status === 409).map(errorCode));
    expect(new Set(codes)).toEqual(new Set(["phone_taken"]));

    const winner = (await results.find((r) => r.status === 201)!.json()) as { customer: { id: string }; user: { id: string } };
    await withDb(async (db) => {
      const customers = await db.collection("customers_v2").find({ phone_normalized: phone }).toArray();
      const users = await db.collection("users").find({ phone }).toArray();
      expect(customers.map((c) => c.id)).toEqual([winner.customer.id]);
      expect(users.map((u) => [u.id, u.customer_v2_id])).toEqual([[winner.user.id, winner.customer.id]]);
    });
  });
});

describe("duplicate email → 409 email_taken", () => {
  it("compares emails case-insensitively, against legacy mixed-case emails too", async () => {
    const tag = unique();
    const email = `dup.${tag}@example.com`;
    expect((await post("/api/phase0-v2/customers", customerBody({ email }), token)).status).toBe(201);
    const phone = randomPhone();
    const again = await post("/api/phase0-v2/customers", customerBody({ email: email.toUpperCase(), phone }), token);
    expect(again.status).toBe(409);
    expect(await errorCode(again)).toBe("email_taken");
    expect(await countByMarkers({ phone })).toEqual({ customers: 0, users: 0, subscriptions: 0 });

    const legacyEmail = `Mixed.Case.${tag}@Gmail.com`;
    await createUser({ role: "customer", email: legacyEmail });
    const legacy = await post("/api/phase0-v2/customers", customerBody({ email: legacyEmail.toLowerCase() }), token);
    expect(legacy.status).toBe(409);
    expect(await errorCode(legacy)).toBe("email_taken");
  });

  it("lets one of 10 concurrent creations with one email through, leaving no orphan customer", async () => {
    const email = `race.${unique()}@example.com`;
    const phones = Array.from({ length: 10 }, randomPhone);
    const results = await Promise.all(
      phones.map((phone) => post("/api/phase0-v2/customers", customerBody({ phone, email }), token)),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    const losers = results.filter((r) => r.status !== 201);
    expect(losers.map((r) => r.status)).toEqual(Array(9).fill(409));
    expect(new Set(await Promise.all(losers.map(errorCode)))).toEqual(new Set(["email_taken"]));
    const customers = await withDb((db) => db.collection("customers_v2").countDocuments({ phone_normalized: { $in: phones } }));
    expect(customers).toBe(1);
  });
});

describe("linking an existing user through user_id", () => {
  async function link(userId: string, phone = randomPhone()) {
    return post("/api/phase0-v2/customers", customerBody({ phone, user_id: userId }), token);
  }

  it("links an unlinked customer-role user on both sides, without touching its password", async () => {
    for (const extra of [{}, { customer_v2_id: null }]) {
      const user = await createUser({ role: "customer", ...extra });
      const before = await withDb((db) => db.collection("users").findOne({ id: user.id }));
      const res = await link(user.id);
      expect(res.status).toBe(201);
      const json = (await res.json()) as { customer: { id: string; user_id: string }; user: unknown; initial_password: unknown };
      expect(json.initial_password).toBeNull();
      expect(json.user).toEqual({ id: user.id, email: user.email, role: "customer", customer_v2_id: json.customer.id });
      expect(json.customer.user_id).toBe(user.id);

      const after = await withDb((db) => db.collection("users").findOne({ id: user.id }));
      expect(after!.customer_v2_id).toBe(json.customer.id);
      expect(after!.password_hash).toBe(before!.password_hash);
      expect(after!.must_change_password).toBeUndefined();

      const session = await signIn(user);
      const me = (await (await call("/api/auth/me", { token: session.access_token })).json()) as { customer: { id: string } };
      expect(me.customer.id).toBe(json.customer.id);
    }
  });

  it("422 unknown_user for a user that does not exist, writing nothing", async () => {
    const phone = randomPhone();
    const res = await link(crypto.randomUUID(), phone);
    expect(res.status).toBe(422);
    expect(await errorCode(res)).toBe("unknown_user");
    expect(await countByMarkers({ phone })).toEqual({ customers: 0, users: 0, subscriptions: 0 });
  });

  it("422 user_not_customer for a staff user, leaving it unlinked", async () => {
    const staff = await createUser({ role: "delivery_boy" });
    const phone = randomPhone();
    const res = await link(staff.id, phone);
    expect(res.status).toBe(422);
    expect(await errorCode(res)).toBe("user_not_customer");
    const after = await withDb((db) => db.collection("users").findOne({ id: staff.id }));
    expect(after!.customer_v2_id).toBeUndefined();
    expect(await countByMarkers({ phone })).toEqual({ customers: 0, users: 0, subscriptions: 0 });
  });

  it("409 user_already_linked for a linked user, and for one a legacy customer already names", async () => {
    const created = (await (await post("/api/phase0-v2/customers", customerBody(), token)).json()) as {
      customer: { id: string };
      user: { id: string };
    };
    const phone = randomPhone();
    const res = await link(created.user.id, phone);
    expect(res.status).toBe(409);
    expect(await errorCode(res)).toBe("user_already_linked");
    expect(await countByMarkers({ phone })).toEqual({ customers: 0, users: 0, subscriptions: 0 });
    const user = await withDb((db) => db.collection("users").findOne({ id: created.user.id }));
    expect(user!.customer_v2_id).toBe(created.customer.id);

    // Half link left by the legacy system: the customer points at the user, not back.
    const halfLinked = await createUser({ role: "customer" });
    await withDb((db) =>
      db
        .collection("customers_v2")
        .insertOne({ id: crypto.randomUUID(), name: `Half ${unique()}`, status: "active", user_id: halfLinked.id }),
    );
    const half = await link(halfLinked.id);
    expect(half.status).toBe(409);
    expect(await errorCode(half)).toBe("user_already_linked");
  });

  it("links a user to exactly one of 8 concurrent customers", async () => {
    const user = await createUser({ role: "customer" });
    const results = await Promise.all(Array.from({ length: 8 }, () => link(user.id)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    const losers = results.filter((r) => r.status !== 201);
    expect(losers.map((r) => r.status)).toEqual(Array(7).fill(409));
    expect(new Set(await Promise.all(losers.map(errorCode)))).toEqual(new Set(["user_already_linked"]));
    const winner = (await results.find((r) => r.status === 201)!.json()) as { customer: { id: string } };
    await withDb(async (db) => {
      expect((await db.collection("users").findOne({ id: user.id }))!.customer_v2_id).toBe(winner.customer.id);
      const claiming = await db.collection("customers_v2").find({ user_id: user.id }).toArray();
      expect(claiming.map((c) => c.id)).toEqual([winner.customer.id]);
    });
  });
});

describe("a failure inside the transaction leaves nothing behind", () => {
  it("unknown product: no customer, user or subscription is left", async () => {
    const phone = randomPhone();
    const email = `ghost.${unique()}@example.com`;
    const missing = crypto.randomUUID();
    const res = await post(
      "/api/phase0-v2/customers-with-subscription",
      { customer: customerBody({ phone, email }), subscription: subscriptionBody(missing) },
      token,
    );
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ error: { code: "unknown_product", details: { product_ids: [missing] } } });
    expect(await countByMarkers({ phone, email })).toEqual({ customers: 0, users: 0, subscriptions: 0 });
    const subscriptions = await withDb((db) => db.collection("subscriptions_v2").countDocuments({ product_id: missing }));
    expect(subscriptions).toBe(0);

    // The same request with a real product then succeeds: the failed one held nothing.
    const product = await anyProduct();
    const ok = await post(
      "/api/phase0-v2/customers-with-subscription",
      { customer: customerBody({ phone, email }), subscription: subscriptionBody(product.id) },
      token,
    );
    expect(ok.status).toBe(201);
    expect(await countByMarkers({ phone, email })).toEqual({ customers: 1, users: 1, subscriptions: 1 });
  });

  it("a refused link on the with-subscription endpoint leaves nothing either", async () => {
    const staff = await createUser({ role: "supplier" });
    const phone = randomPhone();
    const res = await post(
      "/api/phase0-v2/customers-with-subscription",
      { customer: customerBody({ phone, user_id: staff.id }), subscription: subscriptionBody((await anyProduct()).id) },
      token,
    );
    expect(res.status).toBe(422);
    expect(await errorCode(res)).toBe("user_not_customer");
    expect(await countByMarkers({ phone })).toEqual({ customers: 0, users: 0, subscriptions: 0 });
  });
});
