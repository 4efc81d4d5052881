// npm run seed:demo [-- --allow-remote]: demo data for trying the API on a dev database —
// products, staff users, and customers with subscriptions created by the API's own onboarding
// service (in-process, so customers get their linked users exactly as in production).
// Safe to run again: existing products, staff and customers are left as they are.
import { parseArgs } from "node:util";
import { type Db, MongoClient } from "mongodb";
import { type ClosableStore, directStore } from "../src/db/client.ts";
import { type ProductDoc, productsCollection, usersCollection } from "../src/db/collections.ts";
import { isDuplicateKey } from "../src/db/errors.ts";
import { ApiError } from "../src/lib/errors.ts";
import { createLogger } from "../src/lib/logger.ts";
import { CustomerWithSubscriptionBodySchema } from "../src/schemas/subscriptions.ts";
import { onboardCustomer } from "../src/services/customers/onboarding.ts";
import { presentOnboarding } from "../src/services/customers/present.ts";
import { isLoopbackUri, redactUri, scriptConfig } from "./lib/settings.ts";
import { createStaffUser, UserCreateError } from "./user-create.ts";

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
  {
    name: "Asha Rao",
    phone: "9000000001",
    area: "Indiranagar",
    address: "12, 4th Cross, HAL 2nd Stage",
    product: 0,
    mode: "fixed_daily",
    qty: 2,
  },
  {
    name: "Vikram Iyer",
    phone: "9000000002",
    area: "Koramangala",
    address: "45, 6th Block",
    product: 1,
    mode: "weekly_pattern",
    qty: 1,
  },
  {
    name: "Meena Pillai",
    phone: "9000000003",
    area: "Jayanagar",
    address: "7, 9th Main, 4th Block",
    product: 2,
    mode: "fixed_daily",
    qty: 1,
  },
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
    process.stderr.write(
      `error: refusing to seed demo data into ${redactUri(config.mongodbUri)} (not on this machine); pass --allow-remote if you mean it\n`,
    );
    return 1;
  }
  const client = await new MongoClient(config.mongodbUri, {
    serverSelectionTimeoutMS: config.serverSelectionTimeoutMs,
  }).connect();
  let data: ClosableStore | null = null;
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

    // Customers go through the onboarding service the API uses (same validation schema, same
    // transaction), as the demo marketing user. Not over HTTP: that user has not chosen its
    // first password yet, and the API refuses such users everything but change-password.
    const marketing = await usersCollection(db).findOne({ email: STAFF[1].email }, { projection: { _id: 0 } });
    if (!marketing) throw new Error(`${STAFF[1].email} is missing`);
    data = directStore(config);
    const store = data.store;
    const logger = createLogger("error");
    const caller = { id: marketing.id, role: marketing.role, ...(marketing.name ? { name: marketing.name } : {}) };
    type Outcome = { created: ReturnType<typeof presentOnboarding> } | { refused: string };
    const call = async (body: unknown): Promise<Outcome> => {
      try {
        const records = await onboardCustomer(
          { store, bcryptCost: config.bcryptCost, logger, now: new Date() },
          caller,
          CustomerWithSubscriptionBodySchema.parse(body),
          null,
        );
        return { created: presentOnboarding(records) };
      } catch (err) {
        if (err instanceof ApiError || isDuplicateKey(err)) return { refused: err instanceof ApiError ? err.code : "conflict" };
        throw err;
      }
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
      const res = await call({ customer: { name: c.name, phone: c.phone, area: c.area, address: c.address }, subscription });
      if ("created" in res) {
        const { customer, user, initial_password } = res.created;
        process.stdout.write(
          `  ${customer.name.padEnd(14)} phone ${c.phone}  login ${user.email}  password: ${initial_password}\n`,
        );
      } else {
        process.stdout.write(`  ${c.name.padEnd(14)} phone ${c.phone}  (exists: ${res.refused})\n`);
      }
    }
    process.stdout.write("\nCustomers log in with their phone or email and must change the initial password.\n");
    return 0;
  } finally {
    await data?.close();
    await client.close();
  }
}

try {
  process.exitCode = await main();
} catch (err) {
  process.stderr.write(`error: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
