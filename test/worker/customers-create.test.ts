import bcrypt from "bcryptjs";
import { beforeAll, describe, expect, it } from "vitest";
import { anyProduct, createUser, type TestUser, withDb } from "./support/db.ts";
import { customerBody, randomPhone, subscriptionBody } from "./support/fixture.ts";
import { call, errorCode, post, signIn, staffToken } from "./support/http.ts";

let admin: { user: TestUser; token: string };
let marketing: { user: TestUser; token: string };

beforeAll(async () => {
  admin = await staffToken("admin");
  marketing = await staffToken("marketing_staff");
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** No Mongo `_id`, internal field or credential anywhere in a response. */
function expectNoSecrets(body: unknown, password?: string | null) {
  const text = JSON.stringify(body);
  expect(text).not.toMatch(/"_id"|phone_normalized|password_hash|token_version|\$2[aby]\$/);
  if (password) expect(text.split(password).length - 1).toBeLessThanOrEqual(1);
}

describe("POST /api/phase0-v2/customers", () => {
  it("creates the customer and its linked user atomically, returning a random initial password", async () => {
    const normalized = randomPhone();
    const body = customerBody({
      phone: `+91 ${normalized.slice(0, 5)}-${normalized.slice(5)}`,
      map_link: "https://maps.google.com/?q=12.97,77.64",
      location: { lat: 12.9716, lng: 77.6412, accuracy_meters: 15 },
      notes: "Ring twice",
      previous_balance: -120.5,
    });
    const res = await post("/api/phase0-v2/customers", body, admin.token);
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const json = (await res.json()) as {
      customer: Record<string, unknown>;
      user: Record<string, unknown>;
      initial_password: string;
    };
    expectNoSecrets(json, json.initial_password);

    const { customer, user, initial_password } = json;
    expect(customer.id).toMatch(UUID);
    expect(customer).toMatchObject({
      name: body.name,
      phone: normalized,
      address: body.address,
      area: "Indiranagar",
      status: "trial",
      user_id: user.id,
      location: { lat: 12.9716, lng: 77.6412, accuracy_meters: 15 },
      previous_balance: -120.5,
    });
    expect(typeof customer.created_at).toBe("string");
    expect(user).toEqual({
      id: expect.stringMatching(UUID),
      email: `customer-${customer.id}@earlybird.local`,
      role: "customer",
      customer_v2_id: customer.id,
    });
    expect(initial_password.length).toBeGreaterThanOrEqual(12);

    await withDb(async (db) => {
      const storedCustomer = await db.collection("customers_v2").findOne({ id: customer.id });
      const storedUser = await db.collection("users").findOne({ id: user.id });
      expect(storedCustomer).toMatchObject({ phone: normalized, phone_normalized: normalized, user_id: user.id });
      expect(storedCustomer!.created_at).toBeInstanceOf(Date);
      expect(storedUser).toMatchObject({
        role: "customer",
        email: `customer-${customer.id}@earlybird.local`,
        phone: normalized,
        customer_v2_id: customer.id,
        must_change_password: true,
        is_active: true,
      });
      expect(storedUser!.password_hash).toMatch(/^\$2[ab]\$10\$/);
      expect(bcrypt.compareSync(initial_password, storedUser!.password_hash as string)).toBe(true);
      expect(storedUser!.password).toBeUndefined();
    });
  });

  it("gives every customer a different initial password", async () => {
    const passwords = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const res = await post("/api/phase0-v2/customers", customerBody(), admin.token);
      expect(res.status).toBe(201);
      passwords.add(((await res.json()) as { initial_password: string }).initial_password);
    }
    expect(passwords.size).toBe(3);
  });

  it("uses a given email (lowercased) for the new user", async () => {
    const email = `Asha.${crypto.randomUUID().slice(0, 8)}@Example.COM`;
    const res = await post("/api/phase0-v2/customers", customerBody({ email }), admin.token);
    expect(res.status).toBe(201);
    const json = (await res.json()) as { user: { email: string } };
    expect(json.user.email).toBe(email.toLowerCase());
  });

  it("records marketing_staff creations as theirs, whatever the body claims", async () => {
    const res = await post(
      "/api/phase0-v2/customers",
      customerBody({ marketing_boy_id: admin.user.id, marketing_boy: "Someone Else" }),
      marketing.token,
    );
    expect(res.status).toBe(201);
    const { customer } = (await res.json()) as { customer: Record<string, unknown> };
    expect(customer.marketing_boy_id).toBe(marketing.user.id);
    expect(customer.marketing_boy).toBe(marketing.user.name);
  });

  it("lets an admin attribute the customer to marketing staff and a delivery boy, checking both exist", async () => {
    const deliveryBoy = await createUser({ role: "delivery_boy" });
    const ok = await post(
      "/api/phase0-v2/customers",
      customerBody({ marketing_boy_id: marketing.user.id, marketing_boy: marketing.user.name, delivery_boy_id: deliveryBoy.id }),
      admin.token,
    );
    expect(ok.status).toBe(201);
    expect(((await ok.json()) as { customer: Record<string, unknown> }).customer).toMatchObject({
      marketing_boy_id: marketing.user.id,
      delivery_boy_id: deliveryBoy.id,
    });

    const wrongRole = await post("/api/phase0-v2/customers", customerBody({ delivery_boy_id: marketing.user.id }), admin.token);
    expect(wrongRole.status).toBe(422);
    expect(await errorCode(wrongRole)).toBe("unknown_delivery_boy");

    const notStaff = await post("/api/phase0-v2/customers", customerBody({ marketing_boy_id: crypto.randomUUID() }), admin.token);
    expect(notStaff.status).toBe(422);
    expect(await errorCode(notStaff)).toBe("unknown_marketing_boy");
  });

  it("stores custom product prices only for existing products", async () => {
    const product = await anyProduct();
    const ok = await post(
      "/api/phase0-v2/customers",
      customerBody({ custom_product_prices: { [product.id]: 31.5 } }),
      admin.token,
    );
    expect(ok.status).toBe(201);
    expect(((await ok.json()) as { customer: Record<string, unknown> }).customer.custom_product_prices).toEqual({
      [product.id]: 31.5,
    });

    const missing = crypto.randomUUID();
    const bad = await post("/api/phase0-v2/customers", customerBody({ custom_product_prices: { [missing]: 10 } }), admin.token);
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({ error: { code: "unknown_product", details: { product_ids: [missing] } } });
  });
});

describe("full flow: create → login with the initial password → change password → /me", () => {
  it("gives the new customer a working login that must change its password", async () => {
    const body = customerBody();
    const created = await post("/api/phase0-v2/customers", body, marketing.token);
    expect(created.status).toBe(201);
    const { customer, user, initial_password } = (await created.json()) as {
      customer: { id: string };
      user: { id: string; email: string };
      initial_password: string;
    };

    const first = await signIn({ email: user.email, password: initial_password });
    expect(first.user).toMatchObject({ id: user.id, role: "customer", customer_v2_id: customer.id, must_change_password: true });

    // Phone login works too, in another spelling of the same number.
    const byPhone = await post("/api/auth/login", { phone: `+91 ${body.phone}`, password: initial_password });
    expect(byPhone.status).toBe(200);

    const newPassword = `Fresh-${crypto.randomUUID()}`;
    const changed = await post(
      "/api/auth/change-password",
      { current_password: initial_password, new_password: newPassword },
      first.access_token,
    );
    expect(changed.status).toBe(200);
    const { access_token } = (await changed.json()) as { access_token: string };

    const me = await call("/api/auth/me", { token: access_token });
    expect(me.status).toBe(200);
    const meBody = (await me.json()) as { user_id: string; customer_v2_id: string; customer: Record<string, unknown> };
    expect(meBody.user_id).toBe(user.id);
    expect(meBody.customer_v2_id).toBe(customer.id);
    expect(meBody.customer).toMatchObject({ id: customer.id, name: body.name, user_id: user.id });

    const again = await signIn({ email: user.email, password: newPassword });
    expect(again.user.must_change_password).toBe(false);
    expect((await post("/api/auth/login", { email: user.email, password: initial_password })).status).toBe(401);
  });
});

describe("POST /api/phase0-v2/customers-with-subscription", () => {
  it("creates customer, user and subscription together", async () => {
    const product = await anyProduct();
    const body = {
      customer: customerBody({ status: "active", trial_start_date: "2025-06-20" }),
      subscription: subscriptionBody(product.id, {
        mode: "weekly_pattern",
        weekly_pattern: [1, 3, 5],
        price_per_unit: 27.5,
        shift: "both",
        day_overrides: [{ date: "2025-07-04", qty: 0 }],
        pause_intervals: [{ start: "2025-08-01", end: "2025-08-10" }],
        stop_date: "2025-12-31",
      }),
    };
    const res = await post("/api/phase0-v2/customers-with-subscription", body, admin.token);
    expect(res.status).toBe(201);
    const json = (await res.json()) as {
      customer: Record<string, unknown>;
      user: Record<string, unknown>;
      subscription: Record<string, unknown>;
      initial_password: string;
    };
    expectNoSecrets(json, json.initial_password);
    expect(json.customer).toMatchObject({ status: "active", trial_start_date: "2025-06-20", user_id: json.user.id });
    expect(json.user.customer_v2_id).toBe(json.customer.id);
    expect(json.subscription).toMatchObject({
      id: expect.stringMatching(UUID),
      customer_id: json.customer.id,
      product_id: product.id,
      price_per_unit: 27.5,
      mode: "weekly_pattern",
      weekly_pattern: [1, 3, 5],
      default_qty: 2,
      shift: "both",
      status: "active",
      start_date: "2025-07-01",
      stop_date: "2025-12-31",
      day_overrides: [{ date: "2025-07-04", qty: 0 }],
      pause_intervals: [{ start: "2025-08-01", end: "2025-08-10" }],
    });
    expect(json.initial_password.length).toBeGreaterThanOrEqual(12);

    const stored = await withDb((db) => db.collection("subscriptions_v2").findOne({ id: json.subscription.id }));
    expect(stored).toMatchObject({ customer_id: json.customer.id, mode: "weekly_pattern", weekly_pattern: [1, 3, 5] });
  });

  it("defaults price_per_unit to the product's price, qty to 1, shift to morning and status to active", async () => {
    const product = await anyProduct();
    const res = await post(
      "/api/phase0-v2/customers-with-subscription",
      { customer: customerBody(), subscription: { product_id: product.id, mode: "one_time", start_date: "2025-09-09" } },
      marketing.token,
    );
    expect(res.status).toBe(201);
    const { subscription, customer } = (await res.json()) as {
      subscription: Record<string, unknown>;
      customer: Record<string, unknown>;
    };
    expect(subscription).toMatchObject({
      price_per_unit: product.default_price,
      default_qty: 1,
      shift: "morning",
      status: "active",
    });
    expect(customer.marketing_boy_id).toBe(marketing.user.id);
  });

  it("accepts an irregular subscription with its dates", async () => {
    const product = await anyProduct();
    const res = await post(
      "/api/phase0-v2/customers-with-subscription",
      {
        customer: customerBody(),
        subscription: subscriptionBody(product.id, {
          mode: "irregular",
          irregular_list: [
            { date: "2025-07-02", qty: 1 },
            { date: "2025-07-09", qty: 3 },
          ],
        }),
      },
      admin.token,
    );
    expect(res.status).toBe(201);
    expect(((await res.json()) as { subscription: Record<string, unknown> }).subscription.irregular_list).toHaveLength(2);
  });
});
