// Shared helpers of the customers-*.test.ts files. Every worker test file shares one
// database, so all data made here is unique (random phones, emails, names).
import bcrypt from "bcryptjs";
import { env, exports } from "cloudflare:workers";
import { MongoClient, type Db } from "mongodb";
import type { Role } from "../../src/db/collections.ts";

export const BASE = "http://api.test";

interface TestEnv {
  MONGODB_URI: string;
  DB_NAME: string;
}

/** One driver client for the duration of `fn` (workerd forbids reusing I/O across tests). */
export async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const { MONGODB_URI, DB_NAME } = env as unknown as TestEnv;
  const client = await new MongoClient(MONGODB_URI, { maxPoolSize: 2 }).connect();
  try {
    return await fn(client.db(DB_NAME));
  } finally {
    await client.close();
  }
}

export function call(path: string, init: RequestInit & { token?: string; idempotencyKey?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("Authorization", `Bearer ${init.token}`);
  if (init.idempotencyKey) headers.set("Idempotency-Key", init.idempotencyKey);
  if (init.body !== undefined && !headers.has("content-type")) headers.set("Content-Type", "application/json");
  return exports.default.fetch(`${BASE}${path}`, { ...init, headers });
}

export function post(path: string, body: unknown, token?: string, idempotencyKey?: string): Promise<Response> {
  return call(path, { method: "POST", body: JSON.stringify(body), token, idempotencyKey });
}

export const unique = (): string => crypto.randomUUID().slice(0, 8);

/** A random valid Indian mobile number (10 digits, 6-9 first), normalized. */
export function randomPhone(): string {
  const digits = crypto.getRandomValues(new Uint32Array(2));
  return `${6 + (digits[0]! % 4)}${String(digits[1]! % 1_000_000_000).padStart(9, "0")}`;
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  role: Role;
  name: string;
}

/** Inserts a user straight into the database (low bcrypt cost, to keep the suite fast). */
export async function insertUser(role: Role, extra: Record<string, unknown> = {}): Promise<TestUser> {
  const tag = unique();
  const user: TestUser = {
    id: crypto.randomUUID(),
    email: `${role}-${tag}@test.earlybird.local`,
    password: `pw-${tag}-${unique()}`,
    role,
    name: `Test ${role} ${tag}`,
  };
  await withDb((db) =>
    db.collection("users").insertOne({
      id: user.id,
      email: user.email,
      name: user.name,
      role,
      phone: randomPhone(),
      password_hash: bcrypt.hashSync(user.password, 4),
      is_active: true,
      created_at: new Date(),
      ...extra,
    }),
  );
  return user;
}

export async function login(email: string, password: string): Promise<{ access_token: string; user: Record<string, unknown> }> {
  const res = await post("/api/auth/login", { email, password });
  if (res.status !== 200) throw new Error(`login ${email}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { access_token: string; user: Record<string, unknown> };
}

/** A fresh user of `role` and an access token for it. */
export async function staffToken(role: Role): Promise<{ user: TestUser; token: string }> {
  const user = await insertUser(role);
  return { user, token: (await login(user.email, user.password)).access_token };
}

export function customerBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const tag = unique();
  return {
    name: `Customer ${tag}`,
    phone: randomPhone(),
    address: `#${tag}, 4th Cross, Indiranagar, Bengaluru 560038`,
    area: "Indiranagar",
    ...overrides,
  };
}

/** A product of the legacy fixture. */
export async function anyProduct(): Promise<{ id: string; default_price: number }> {
  const product = await withDb((db) => db.collection("products").findOne({}, { sort: { id: 1 } }));
  if (!product) throw new Error("fixture has no products");
  return { id: product.id as string, default_price: product.default_price as number };
}

export function subscriptionBody(productId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { product_id: productId, mode: "fixed_daily", default_qty: 2, shift: "morning", start_date: "2025-07-01", ...overrides };
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

export const errorCode = async (res: Response): Promise<string> => ((await res.json()) as { error: { code: string } }).error.code;
