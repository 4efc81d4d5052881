import { beforeAll, describe, expect, it } from "vitest";
import { anyProduct, countByMarkers, insertLegacyCustomer, type TestUser, withDb } from "./support/db.ts";
import { customerBody, randomPhone, subscriptionBody, unique } from "./support/fixture.ts";
import { errorCode, post, staffToken } from "./support/http.ts";

const CUSTOMERS = "/api/phase0-v2/customers";
const WITH_SUBSCRIPTION = "/api/phase0-v2/customers-with-subscription";

let admin: { user: TestUser; token: string };
let productId: string;

beforeAll(async () => {
  admin = await staffToken("admin");
  productId = (await anyProduct()).id;
});

const newKey = (): string => `key-${crypto.randomUUID()}`;

interface Created {
  customer: { id: string };
  user: { id: string };
  subscription?: { id: string };
  initial_password: string | null;
}

/** The idempotency records of one caller (each test uses its own caller or key). */
function recordsOf(userId: string) {
  return withDb((db) => db.collection("idempotency_keys").find({ user_id: userId }).toArray());
}

describe("Idempotency-Key", () => {
  it("replays the first response, initial password included, for the same key and body", async () => {
    const key = newKey();
    const body = customerBody();
    const first = await post(CUSTOMERS, body, admin.token, key);
    expect(first.status).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const firstJson = (await first.json()) as Created;

    // Key order does not matter: the validated body is hashed canonically.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    for (const retryBody of [body, reordered]) {
      const retry = await post(CUSTOMERS, retryBody, admin.token, key);
      expect(retry.status).toBe(201);
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      expect(await retry.json()).toEqual(firstJson);
    }
    expect(await countByMarkers({ phone: String(body.phone) })).toEqual({ customers: 1, users: 1, subscriptions: 0 });
  });

  it("keeps the record for 24 h, sealed: without the raw key, the plaintext password or the response", async () => {
    const staff = await staffToken("marketing_staff");
    const key = newKey();
    const res = await post(CUSTOMERS, customerBody(), staff.token, key);
    const created = (await res.json()) as Created;
    const { initial_password } = created;
    const [record, ...others] = await recordsOf(staff.user.id);
    expect(others).toHaveLength(0);
    expect(record).toMatchObject({ status: "complete" });
    const ttl = (record!.expires_at as Date).getTime() - (record!.created_at as Date).getTime();
    expect(ttl).toBe(24 * 60 * 60 * 1000);
    const text = JSON.stringify(record);
    expect(text).not.toContain(key);
    expect(text).not.toContain(initial_password!);
    expect(text).not.toContain(created.customer.id);
    expect(typeof record!.sealed_response).toBe("string");
    expect(Object.keys(record!)).not.toContain("response_body");
  });

  it("refuses the same key with a different body: 422 idempotency_key_reused, nothing created", async () => {
    const key = newKey();
    expect((await post(CUSTOMERS, customerBody(), admin.token, key)).status).toBe(201);
    const other = customerBody();
    const res = await post(CUSTOMERS, other, admin.token, key);
    expect(res.status).toBe(422);
    expect(await errorCode(res)).toBe("idempotency_key_reused");
    expect(await countByMarkers({ phone: String(other.phone) })).toEqual({ customers: 0, users: 0, subscriptions: 0 });
    // A key is scoped to its endpoint too.
    const elsewhere = await post(
      WITH_SUBSCRIPTION,
      { customer: other, subscription: subscriptionBody(productId) },
      admin.token,
      key,
    );
    expect(elsewhere.status).toBe(422);
  });

  it("scopes keys to the caller: another caller's same key never sees the first response", async () => {
    const other = await staffToken("admin");
    const key = newKey();
    const body = customerBody();
    const first = (await (await post(CUSTOMERS, body, admin.token, key)).json()) as Created;
    const res = await post(CUSTOMERS, body, other.token, key);
    expect(res.status).toBe(409);
    expect(await errorCode(res.clone())).toBe("phone_taken");
    expect(await res.text()).not.toContain(first.initial_password!);
    const own = await post(CUSTOMERS, customerBody(), other.token, key);
    expect(own.status).toBe(201);
  });

  it("frees the key when the request fails, so a retry runs again", async () => {
    const phone = randomPhone();
    const blockerId = crypto.randomUUID();
    await insertLegacyCustomer({ id: blockerId, name: `Blocker ${unique()}`, phone: `+91${phone}`, status: "active" });
    const key = newKey();
    const body = customerBody({ phone });
    const failed = await post(CUSTOMERS, body, admin.token, key);
    expect(failed.status).toBe(409);
    expect(await errorCode(failed)).toBe("phone_taken");

    await withDb((db) => db.collection("customers_v2").deleteOne({ id: blockerId }));
    const retried = await post(CUSTOMERS, body, admin.token, key);
    expect(retried.status).toBe(201);
    expect(retried.headers.get("idempotent-replayed")).toBeNull();
  });

  it("creates once for 20 concurrent retries with one key", async () => {
    const staff = await staffToken("admin");
    const key = newKey();
    const body = customerBody();
    const results = await Promise.all(Array.from({ length: 20 }, () => post(CUSTOMERS, body, staff.token, key)));
    const created = results.filter((r) => r.status === 201);
    const busy = results.filter((r) => r.status !== 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    for (const r of busy) {
      expect(r.status).toBe(409);
      expect(r.headers.get("retry-after")).toBe("1");
      expect(await errorCode(r)).toBe("idempotency_in_progress");
    }
    const bodies = (await Promise.all(created.map((r) => r.json()))) as Created[];
    expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1);

    const settled = await post(CUSTOMERS, body, staff.token, key);
    expect(settled.status).toBe(201);
    expect(await settled.json()).toEqual(bodies[0]);
    expect(await countByMarkers({ phone: String(body.phone) })).toEqual({ customers: 1, users: 1, subscriptions: 0 });
    expect(await recordsOf(staff.user.id)).toHaveLength(1);
  });

  it("replays the with-subscription endpoint with the same three ids", async () => {
    const key = newKey();
    const body = { customer: customerBody(), subscription: subscriptionBody(productId) };
    const first = (await (await post(WITH_SUBSCRIPTION, body, admin.token, key)).json()) as Created;
    const again = await post(WITH_SUBSCRIPTION, body, admin.token, key);
    expect(again.status).toBe(201);
    const replayed = (await again.json()) as Created;
    expect(replayed).toEqual(first);
    expect(replayed.subscription!.id).toBeTruthy();
    expect(await countByMarkers({ phone: String(body.customer.phone) })).toEqual({ customers: 1, users: 1, subscriptions: 1 });
  });

  it("treats an expired record as absent (the TTL monitor may not have removed it yet)", async () => {
    const staff = await staffToken("admin");
    const key = newKey();
    expect((await post(CUSTOMERS, customerBody(), staff.token, key)).status).toBe(201);
    await withDb((db) =>
      db
        .collection("idempotency_keys")
        .updateOne({ user_id: staff.user.id }, { $set: { expires_at: new Date(Date.now() - 1000) } }),
    );
    const fresh = await post(CUSTOMERS, customerBody(), staff.token, key);
    expect(fresh.status).toBe(201);
    expect(fresh.headers.get("idempotent-replayed")).toBeNull();
  });

  it("lets a retry take over a key whose worker died mid-request once its lease ran out", async () => {
    const staff = await staffToken("admin");
    const key = newKey();
    const body = customerBody();
    const first = (await (await post(CUSTOMERS, body, staff.token, key)).json()) as Created;
    // Simulate a crash before commit: nothing was created and the record is stuck in progress.
    await withDb(async (db) => {
      await db.collection("customers_v2").deleteOne({ id: first.customer.id });
      await db.collection("users").deleteOne({ id: first.user.id });
      await db.collection("idempotency_keys").updateOne(
        { user_id: staff.user.id },
        {
          $set: { status: "in_progress", lease_expires_at: new Date(Date.now() + 60_000) },
          $unset: { response_body: "", sealed_password: "" },
        },
      );
    });
    const busy = await post(CUSTOMERS, body, staff.token, key);
    expect(busy.status).toBe(409);
    expect(await errorCode(busy)).toBe("idempotency_in_progress");

    await withDb((db) =>
      db
        .collection("idempotency_keys")
        .updateOne({ user_id: staff.user.id }, { $set: { lease_expires_at: new Date(Date.now() - 1) } }),
    );
    const resumed = await post(CUSTOMERS, body, staff.token, key);
    expect(resumed.status).toBe(201);
    const json = (await resumed.json()) as Created;
    expect(json.customer.id).not.toBe(first.customer.id);
    expect(await countByMarkers({ phone: String(body.phone) })).toEqual({ customers: 1, users: 1, subscriptions: 0 });
  });

  it("aborts the whole transaction (after all three writes) when the key's lease is lost meanwhile", async () => {
    const staff = await staffToken("admin");
    const key = newKey();
    const body = { customer: customerBody(), subscription: subscriptionBody(productId, { price_per_unit: 12.345 }) };
    const pending = post(WITH_SUBSCRIPTION, body, staff.token, key);
    // While the request runs (it hashes the initial password before its transaction), another
    // request takes the key over; the first one's commit hook must then fail and roll back.
    let stolen = false;
    await withDb(async (db) => {
      for (let i = 0; i < 2000 && !stolen; i++) {
        const r = await db
          .collection("idempotency_keys")
          .updateOne(
            { user_id: staff.user.id, status: "in_progress", lease_id: { $ne: "stolen" } },
            { $set: { lease_id: "stolen" } },
          );
        stolen = r.modifiedCount === 1;
      }
    });
    const res = await pending;
    expect(stolen).toBe(true);
    expect(res.status).toBe(409);
    expect(await errorCode(res)).toBe("idempotency_in_progress");
    expect(await countByMarkers({ phone: String(body.customer.phone) })).toEqual({ customers: 0, users: 0, subscriptions: 0 });
    const subscriptions = await withDb((db) => db.collection("subscriptions_v2").countDocuments({ price_per_unit: 12.345 }));
    expect(subscriptions).toBe(0);
  });
});
