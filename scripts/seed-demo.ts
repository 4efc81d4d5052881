// npm run seed:demo [-- --allow-remote]: demo data for trying the API on a dev database —
// products, staff users, and customers with subscriptions created through the API itself
// (the Worker app runs in-process, so customers get their linked users exactly as in production).
// Safe to run again: existing products, staff and customers are left as they are.
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { MongoClient, type Db } from "mongodb";
import { createApp } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { productsCollection, usersCollection, type ProductDoc } from "../src/db/collections.ts";
import type { Bindings } from "../src/env.ts";
import { issueAccessToken } from "../src/services/auth/tokens.ts";
import { isLoopbackUri, redactUri, scriptConfig } from "./lib/settings.ts";
import { createStaffUser, UserCreateError } from "./user-create.ts";

/** The parts of an onboarding answer (201) or of the error envelope (4xx) that are printed here. */
interface OnboardingAnswer {
  customer: { name: string };
  user: { email: string };
  initial_password: string | null;
  error?: { code: string };
}

const PRODUCTS: Omit<ProductDoc, "_id" | "id">[] = [
  { name: "Cow Milk 500 ml", unit: "packet", default_price: 30 },
  { name: "Buffalo Milk 1 L", unit: "litre", default_price: 72 },
  { name: "Curd 400 g", unit: "cup", default_price: 35 },
  { name: "Paneer 200 g", unit: "packet", default_price: 95 },
];

const STAFF = [
  { email: "demo.admin@earlybird.local", role: "admin", name: "Demo Admin" },
  { email: "demo.marketing@earlybird.local", role: "marketing_staff", name: "Demo Marketing", phone: "9000000101" },
  { email: "demo.rider@earlybird.local", role: "delivery_boy", name: "Demo Rider", phone: "9000000102" },
] as const;

const CUSTOMERS = [
  { name: "Asha Rao", phone: "9000000001", area: "Indiranagar", address: "12, 4th Cross, HAL 2nd Stage", product: 0, mode: "fixed_daily", qty: 2 },
  { name: "Vikram Iyer", phone: "9000000002", area: "Koramangala", address: "45, 6th Block", product: 1, mode: "weekly_pattern", qty: 1 },
  { name: "Meena Pillai", phone: "9000000003", area: "Jayanagar", address: "7, 9th Main, 4th Block", product: 2, mode: "fixed_daily", qty: 1 },
] as const;

async function ensureProducts(db: Db): Promise<ProductDoc[]> {
  const products: ProductDoc[] = [];
  for (const product of PRODUCTS) {
    await productsCollection(db).updateOne(
      { name: product.name },
      { $setOnInsert: { id: crypto.randomUUID(), ...product } },
      { upsert: true },
    );
    products.push((await productsCollection(db).findOne({ name: product.name }, { projection: { _id: 0 } }))!);
  }
  return products;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { "allow-remote": { type: "boolean" } } });
  const config = scriptConfig();
  if (!isLoopbackUri(config.mongodbUri) && !values["allow-remote"]) {
    process.stderr.write(`error: refusing to seed demo data into ${redactUri(config.mongodbUri)} (not on this machine); pass --allow-remote if you mean it\n`);
    return 1;
  }
  const client = await new MongoClient(config.mongodbUri, { serverSelectionTimeoutMS: config.serverSelectionTimeoutMs }).connect();
  try {
    const db = client.db(config.dbName);
    process.stdout.write(`Seeding demo data into ${config.dbName} at ${redactUri(config.mongodbUri)}\n\nProducts:\n`);
    const products = await ensureProducts(db);
    for (const p of products) process.stdout.write(`  ${p.id}  ${p.name} (${p.unit}, ₹${p.default_price})\n`);

    process.stdout.write("\nStaff (passwords are shown only when the user is created):\n");
    for (const staff of STAFF) {
      try {
        const { generatedPassword } = await createStaffUser(db, staff, config.bcryptCost);
        process.stdout.write(`  ${staff.role.padEnd(16)} ${staff.email}  password: ${generatedPassword}\n`);
      } catch (err) {
        if (!(err instanceof UserCreateError && err.exitCode === 2)) throw err;
        process.stdout.write(`  ${staff.role.padEnd(16)} ${staff.email}  (exists; password unchanged)\n`);
      }
    }

    // Customers go through POST /api/phase0-v2/customers-with-subscription, called by the demo
    // marketing user with a token signed by a key that lives only in this process.
    const bindings: Bindings = {
      MONGODB_URI: config.mongodbUri,
      DB_NAME: config.dbName,
      JWT_SECRET: randomBytes(48).toString("base64url"),
      BCRYPT_COST: String(config.bcryptCost),
      LOG_LEVEL: "error",
    };
    const marketing = await usersCollection(db).findOne({ email: STAFF[1].email });
    if (!marketing) throw new Error(`${STAFF[1].email} is missing`);
    const { access_token: token } = await issueAccessToken(marketing, loadConfig(bindings), new Date());
    const app = createApp();
    const call = async (path: string, body: unknown) => {
      const res = await app.request(
        path,
        {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        },
        bindings,
      );
      return { status: res.status, body: (await res.json()) as OnboardingAnswer };
    };
    process.stdout.write("\nCustomers:\n");
    const start = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

    for (const c of CUSTOMERS) {
      const subscription: Record<string, unknown> = {
        product_id: products[c.product]!.id,
        mode: c.mode,
        default_qty: c.qty,
        shift: "morning",
        start_date: start,
        ...(c.mode === "weekly_pattern" ? { weekly_pattern: [1, 3, 5] } : {}),
      };
      const res = await call(
        "/api/phase0-v2/customers-with-subscription",
        { customer: { name: c.name, phone: c.phone, area: c.area, address: c.address }, subscription },
      );
      if (res.status === 201) {
        const { customer, user, initial_password } = res.body;
        process.stdout.write(`  ${customer.name.padEnd(14)} phone ${c.phone}  login ${user.email}  password: ${initial_password}\n`);
      } else if (res.status === 409) {
        process.stdout.write(`  ${c.name.padEnd(14)} phone ${c.phone}  (exists: ${res.body.error?.code})\n`);
      } else {
        throw new Error(`creating ${c.name} failed with ${res.status}: ${JSON.stringify(res.body)}`);
      }
    }
    process.stdout.write("\nCustomers log in with their phone or email and must change the initial password.\n");
    return 0;
  } finally {
    await client.close();
  }
}

try {
  process.exitCode = await main();
} catch (err) {
  process.stderr.write(`error: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
