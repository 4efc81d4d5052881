// Direct driver access to the shared test database, for setup and assertions: a short-lived
// client, test users inserted as the legacy system or onboarding would have, fixture lookups.
import { type Db, MongoClient } from "mongodb";
import type { Role, UserDoc } from "../../../src/db/collections.ts";
import type { SessionDoc } from "../../../src/db/sessions.ts";
import { normalizePhone } from "../../../src/lib/phone.ts";
import { nameSearchKey, phoneSearchKey } from "../../../src/lib/search.ts";
import { hashPassword } from "../../../src/services/auth/passwords.ts";
import { bindings, unique } from "./fixture.ts";
import { registerSecret } from "./secrets.ts";

/** A short-lived client of the shared test database (one per call, always closed: workerd forbids reusing I/O across tests). */
export async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const client = await new MongoClient(bindings.MONGODB_URI, { serverSelectionTimeoutMS: 5_000, maxPoolSize: 2 }).connect();
  try {
    return await fn(client.db(bindings.DB_NAME));
  } finally {
    await client.close();
  }
}

export async function sha256Hex(plain: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(plain));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export interface TestUser {
  id: string;
  /** A live session of the user (auth_sessions), for hand-made access tokens (`sid`). */
  sid: string;
  email: string;
  password: string;
  phone: string | null;
  role: Role;
  name: string;
}

/**
 * Inserts a user directly (as the legacy system or onboarding would have, with the
 * `phone_normalized` migration 005 back-fills; `phone_normalized: null` leaves it out): role customer,
 * active, a random email and password unless `fields` say otherwise. The hash uses bcrypt
 * cost 4 to keep the suite fast (verification cost does not change the code path), or one of
 * the legacy SHA-256 forms. The password becomes a secret no response or log line may hold.
 */
export async function createUser(
  fields: Partial<UserDoc> & { plaintext?: string; hashKind?: "bcrypt" | "sha256_password_hash" | "sha256_password_field" } = {},
): Promise<TestUser> {
  const { plaintext, hashKind = "bcrypt", ...rest } = fields;
  const password = plaintext ?? `pw-${crypto.randomUUID()}`;
  registerSecret(password);
  const credential: Partial<UserDoc> =
    hashKind === "bcrypt"
      ? { password_hash: await hashPassword(password, 4) }
      : hashKind === "sha256_password_hash"
        ? { password_hash: await sha256Hex(password) }
        : { password: await sha256Hex(password) };
  const role = rest.role ?? "customer";
  const doc: UserDoc = {
    id: crypto.randomUUID(),
    email: `${role}-${crypto.randomUUID()}@test.earlybird.local`,
    name: `Test ${role} ${unique()}`,
    role,
    is_active: true,
    ...credential,
    ...rest,
  };
  // As migration 005 (or this system's writes) leaves every user: the phone's 10-digit form.
  if (doc.phone_normalized === undefined && normalizePhone(doc.phone) !== null) doc.phone_normalized = normalizePhone(doc.phone);
  const sid = crypto.randomUUID();
  const now = new Date();
  await withDb(async (db) => {
    await db.collection<UserDoc>("users").insertOne(doc);
    await db.collection<SessionDoc>("auth_sessions").insertOne({
      id: sid,
      user_id: doc.id,
      family_id: sid,
      token_hash: `test-${crypto.randomUUID()}`,
      created_at: now,
      last_used_at: now,
      expires_at: new Date(now.getTime() + 86_400_000 * 365),
      user_agent: "test",
      ip: null,
      token_version: doc.token_version ?? 0,
    });
  });
  return { id: doc.id, sid, email: doc.email, password, phone: doc.phone ?? null, role: doc.role, name: doc.name ?? "" };
}

/**
 * Inserts a customers_v2 document as the legacy system wrote it (phone as typed, no
 * `phone_normalized`, no link), with the search fields migration 006 back-fills from it
 * (`phoneSearchKey` / `nameSearchKey`, the functions 006 derives them with): the database as it
 * is after 006. A document the legacy system writes after the back-fill lacks them until the
 * back-fill runs again (docs/runbook.md; test/node/migrations/search-fields.test.ts).
 */
export async function insertLegacyCustomer(
  doc: { id: string; name: string; phone?: string } & Record<string, unknown>,
): Promise<void> {
  await withDb((db) =>
    db
      .collection("customers_v2")
      .insertOne({ ...doc, phone_search: phoneSearchKey(doc.phone), name_search: nameSearchKey(doc.name) }),
  );
}

/** A product of the legacy fixture. */
export async function anyProduct(): Promise<{ id: string; default_price: number }> {
  const product = await withDb((db) => db.collection("products").findOne({}, { sort: { id: 1 } }));
  if (!product) throw new Error("fixture has no products");
  return { id: product.id as string, default_price: product.default_price as number };
}

/** Counts documents of this test's markers in the three onboarding collections. */
export async function countByMarkers(markers: { phone?: string; email?: string; customerName?: string }): Promise<{
  customers: number;
  users: number;
  subscriptions: number;
}> {
  return withDb(async (db) => {
    const customerFilter = markers.customerName ? { name: markers.customerName } : { phone_normalized: markers.phone };
    const customerIds = (await db.collection("customers_v2").find(customerFilter).toArray()).map((c) => c.id as string);
    const userFilter = markers.email ? { email: markers.email } : { phone: markers.phone };
    return {
      customers: customerIds.length,
      users: await db.collection("users").countDocuments(userFilter),
      subscriptions: await db.collection("subscriptions_v2").countDocuments({ customer_id: { $in: customerIds } }),
    };
  });
}

/**
 * The embedded server's count of queries answered by a collection scan on `<test db>.<collection>`
 * (devdb's serverStatus().metrics.queryExecutor.collectionScans.byNamespace). Other test files
 * share the database and run concurrently: compare counts around your own requests only.
 */
export async function collectionScans(collection: string): Promise<number> {
  const status = await withDb((db) => db.admin().command({ serverStatus: 1 }));
  const scans = status.metrics?.queryExecutor?.collectionScans;
  if (typeof scans?.total !== "number")
    throw new Error("serverStatus has no metrics.queryExecutor.collectionScans (not the embedded server?)");
  const n: unknown = scans.byNamespace?.[`${bindings.DB_NAME}.${collection}`];
  return typeof n === "number" ? n : 0;
}
