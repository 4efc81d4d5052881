import { beforeAll, describe, expect, it } from "vitest";
import { anyProduct, withDb } from "./support/db.ts";
import { customerBody, subscriptionBody } from "./support/fixture.ts";
import { call, errorCode, post, staffToken } from "./support/http.ts";

let token: string;
let productId: string;

beforeAll(async () => {
  token = (await staffToken("admin")).token;
  productId = (await anyProduct()).id;
});

const SOME_ID = "0b6f6f3e-2c55-4d7a-9a49-2f7f1c0d9e11";

interface Issue {
  path: string;
  message: string;
}

async function expect422(path: string, body: unknown, issuePath: string): Promise<Issue[]> {
  const res = await post(path, body, token);
  const json = (await res.json()) as { error: { code: string; details?: Issue[] } };
  expect({ status: res.status, code: json.error.code }).toEqual({ status: 422, code: "validation_error" });
  expect(json.error.details?.map((d) => d.path)).toContain(issuePath);
  return json.error.details ?? [];
}

function without(body: Record<string, unknown>, key: string): Record<string, unknown> {
  const copy = { ...body };
  delete copy[key];
  return copy;
}

describe("customer body validation (422 validation_error with the offending field)", () => {
  const cases: [string, (b: Record<string, unknown>) => unknown, string][] = [
    ["name missing", (b) => without(b, "name"), "name"],
    ["name blank", (b) => ({ ...b, name: "   " }), "name"],
    ["name too long", (b) => ({ ...b, name: "x".repeat(201) }), "name"],
    ["phone missing", (b) => without(b, "phone"), "phone"],
    ["phone too short", (b) => ({ ...b, phone: "12345" }), "phone"],
    ["phone starting with 5", (b) => ({ ...b, phone: "5876543210" }), "phone"],
    ["phone foreign", (b) => ({ ...b, phone: "+1-415-555-0100" }), "phone"],
    ["phone with letters", (b) => ({ ...b, phone: "98765abcde" }), "phone"],
    ["phone a number", (b) => ({ ...b, phone: 9876543210 }), "phone"],
    ["unknown top-level field", (b) => ({ ...b, password: "x" }), "(body)"],
    ["location unknown field", (b) => ({ ...b, location: { lat: 12.9, lng: 77.6, alt: 3 } }), "location"],
    ["location lat out of range", (b) => ({ ...b, location: { lat: 91, lng: 77.6 } }), "location.lat"],
    ["location lng missing", (b) => ({ ...b, location: { lat: 12.9 } }), "location.lng"],
    ["status not an enum value", (b) => ({ ...b, status: "deleted" }), "status"],
    ["trial_start_date not a calendar date", (b) => ({ ...b, trial_start_date: "2025-02-30" }), "trial_start_date"],
    ["trial_start_date in another format", (b) => ({ ...b, trial_start_date: "01-02-2025" }), "trial_start_date"],
    ["map_link not a URL", (b) => ({ ...b, map_link: "near the temple" }), "map_link"],
    ["map_link javascript: scheme", (b) => ({ ...b, map_link: "javascript:alert(1)" }), "map_link"],
    ["house_image_url not http(s)", (b) => ({ ...b, house_image_url: "ftp://x.example/a.jpg" }), "house_image_url"],
    ["notes too long", (b) => ({ ...b, notes: "n".repeat(2001) }), "notes"],
    ["previous_balance a string", (b) => ({ ...b, previous_balance: "100" }), "previous_balance"],
    ["marketing_boy_id not an id", (b) => ({ ...b, marketing_boy_id: "meena" }), "marketing_boy_id"],
    ["delivery_boy_id not an id", (b) => ({ ...b, delivery_boy_id: 42 }), "delivery_boy_id"],
    ["custom price negative", (b) => ({ ...b, custom_product_prices: { [SOME_ID]: -1 } }), `custom_product_prices.${SOME_ID}`],
    ["custom price key not an id", (b) => ({ ...b, custom_product_prices: { milk: 20 } }), "custom_product_prices.milk"],
    ["email invalid", (b) => ({ ...b, email: "not-an-email" }), "email"],
    ["email together with user_id", (b) => ({ ...b, email: "a@example.com", user_id: crypto.randomUUID() }), "email"],
    ["user_id not an id", (b) => ({ ...b, user_id: "u1" }), "user_id"],
    ["user_id null", (b) => ({ ...b, user_id: null }), "user_id"],
  ];

  it.each(cases)("%s", async (_name, mutate, issuePath) => {
    const body = customerBody();
    const sent = mutate(body) as Record<string, unknown>;
    // Every case keeps customerBody's address, unique per body: the marker of this request.
    expect(sent.address).toBe(body.address);
    await expect422("/api/phase0-v2/customers", sent, issuePath);
    // Nothing was written for a rejected body.
    const stored = await withDb((db) => db.collection("customers_v2").countDocuments({ address: body.address as string }));
    expect(stored).toBe(0);
  });

  it("names every bad field at once", async () => {
    const issues = await expect422("/api/phase0-v2/customers", { phone: "123", status: "x", extra: 1 }, "name");
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(["name", "phone", "status"]));
    expect(JSON.stringify(issues)).toContain("extra");
  });

  it("rejects a body that is not a JSON object", async () => {
    await expect422("/api/phase0-v2/customers", [customerBody()], "(body)");
    const notJson = await call("/api/phase0-v2/customers", { method: "POST", body: "{name:", token });
    expect(notJson.status).toBe(400);
    expect(await errorCode(notJson)).toBe("invalid_json");
    const text = await call("/api/phase0-v2/customers", {
      method: "POST",
      body: "name=x",
      token,
      headers: { "Content-Type": "text/plain" },
    });
    expect(text.status).toBe(415);
    expect(await errorCode(text)).toBe("unsupported_media_type");
  });

  it("rejects a malformed Idempotency-Key header", async () => {
    for (const key of ["has space", "k".repeat(256)]) {
      const res = await post("/api/phase0-v2/customers", customerBody(), token, key);
      expect(res.status).toBe(422);
      const json = (await res.json()) as { error: { code: string; details: Issue[] } };
      expect(json.error.details.map((d) => d.path)).toContain("idempotency-key");
    }
  });
});

describe("subscription body validation", () => {
  const path = "/api/phase0-v2/customers-with-subscription";
  const cases: [string, (s: Record<string, unknown>) => unknown, string][] = [
    ["product_id missing", (s) => without(s, "product_id"), "subscription.product_id"],
    ["product_id not an id", (s) => ({ ...s, product_id: "milk" }), "subscription.product_id"],
    ["mode missing", (s) => without(s, "mode"), "subscription.mode"],
    ["mode unknown", (s) => ({ ...s, mode: "monthly" }), "subscription.mode"],
    ["shift unknown", (s) => ({ ...s, shift: "night" }), "subscription.shift"],
    ["status unknown", (s) => ({ ...s, status: "deleted" }), "subscription.status"],
    ["default_qty zero", (s) => ({ ...s, default_qty: 0 }), "subscription.default_qty"],
    ["price negative", (s) => ({ ...s, price_per_unit: -5 }), "subscription.price_per_unit"],
    ["start_date missing", (s) => without(s, "start_date"), "subscription.start_date"],
    ["start_date invalid", (s) => ({ ...s, start_date: "2025-13-01" }), "subscription.start_date"],
    ["weekly_pattern missing for weekly mode", (s) => ({ ...s, mode: "weekly_pattern" }), "subscription.weekly_pattern"],
    ["weekly_pattern empty", (s) => ({ ...s, mode: "weekly_pattern", weekly_pattern: [] }), "subscription.weekly_pattern"],
    ["weekly_pattern day 7", (s) => ({ ...s, mode: "weekly_pattern", weekly_pattern: [1, 7] }), "subscription.weekly_pattern.1"],
    ["weekly_pattern day -1", (s) => ({ ...s, mode: "weekly_pattern", weekly_pattern: [-1] }), "subscription.weekly_pattern.0"],
    [
      "weekly_pattern fractional day",
      (s) => ({ ...s, mode: "weekly_pattern", weekly_pattern: [1.5] }),
      "subscription.weekly_pattern.0",
    ],
    [
      "weekly_pattern duplicate days",
      (s) => ({ ...s, mode: "weekly_pattern", weekly_pattern: [1, 3, 1] }),
      "subscription.weekly_pattern",
    ],
    [
      "weekly_pattern with another mode",
      (s) => ({ ...s, mode: "fixed_daily", weekly_pattern: [1] }),
      "subscription.weekly_pattern",
    ],
    ["irregular without dates", (s) => ({ ...s, mode: "irregular" }), "subscription.irregular_list"],
    [
      "irregular_list with another mode",
      (s) => ({ ...s, mode: "day_by_day", irregular_list: [{ date: "2025-07-02", qty: 1 }] }),
      "subscription.irregular_list",
    ],
    [
      "irregular_list repeated date",
      (s) => ({
        ...s,
        mode: "irregular",
        irregular_list: [
          { date: "2025-07-02", qty: 1 },
          { date: "2025-07-02", qty: 2 },
        ],
      }),
      "subscription.irregular_list",
    ],
    [
      "day_overrides repeated date",
      (s) => ({
        ...s,
        day_overrides: [
          { date: "2025-07-02", qty: 1 },
          { date: "2025-07-02", qty: 0 },
        ],
      }),
      "subscription.day_overrides",
    ],
    [
      "day_overrides unknown field",
      (s) => ({ ...s, day_overrides: [{ date: "2025-07-02", qty: 1, note: "x" }] }),
      "subscription.day_overrides.0",
    ],
    [
      "pause interval ending before it starts",
      (s) => ({ ...s, pause_intervals: [{ start: "2025-08-10", end: "2025-08-01" }] }),
      "subscription.pause_intervals.0.end",
    ],
    ["stop_date before start_date", (s) => ({ ...s, stop_date: "2025-06-30" }), "subscription.stop_date"],
    ["unknown subscription field", (s) => ({ ...s, customer_id: crypto.randomUUID() }), "subscription"],
  ];

  it.each(cases)("%s", async (_name, mutate, issuePath) => {
    await expect422(path, { customer: customerBody(), subscription: mutate(subscriptionBody(productId)) }, issuePath);
  });

  it("requires both parts and nothing else at the top level", async () => {
    await expect422(path, { customer: customerBody() }, "subscription");
    await expect422(path, { subscription: subscriptionBody(productId) }, "customer");
    await expect422(path, { customer: customerBody(), subscription: subscriptionBody(productId), note: 1 }, "(body)");
    await expect422(
      path,
      { customer: { ...customerBody(), phone: "000" }, subscription: subscriptionBody(productId) },
      "customer.phone",
    );
  });
});
