import { MongoClient, type Db } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../../../scripts/devdb/server.ts";
import { runMigrations } from "../../../scripts/migrate/runner.ts";
import { loginThroughApp, npmRun } from "./support.ts";

const DB_NAME = "seed_demo_tests";
let server: RunningServer;
let client: MongoClient;
let db: Db;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startServer({ port: 0, quiet: true });
  client = await new MongoClient(server.uri).connect();
  db = client.db(DB_NAME);
  const migrated = await runMigrations({ uri: server.uri, dbName: DB_NAME, command: "up", log: null });
  expect(migrated.outcome, migrated.message).toBe("ok");
  env = { MONGODB_URI: server.uri, DB_NAME, BCRYPT_COST: "4" };
});

afterAll(async () => {
  await client?.close();
  await server?.stop();
});

async function counts() {
  return {
    products: await db.collection("products").countDocuments(),
    users: await db.collection("users").countDocuments(),
    customers: await db.collection("customers_v2").countDocuments(),
    subscriptions: await db.collection("subscriptions_v2").countDocuments(),
  };
}

describe("npm run seed:demo", () => {
  it("creates products, staff and linked customers with subscriptions, and prints working credentials", async () => {
    const run = await npmRun("seed:demo", [], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(await counts()).toEqual({ products: 4, users: 6, customers: 3, subscriptions: 3 });

    // Every customer is linked both ways to a customer-role user, as the onboarding API does it.
    for (const customer of await db.collection("customers_v2").find().toArray()) {
      const user = await db.collection("users").findOne({ id: customer.user_id });
      expect(user).toMatchObject({ role: "customer", customer_v2_id: customer.id, must_change_password: true });
      expect(await db.collection("subscriptions_v2").countDocuments({ customer_id: customer.id })).toBe(1);
    }

    const staff = /^ {2}admin\s+(\S+)\s+password: (\S+)$/m.exec(run.stdout);
    expect(staff, run.stdout).not.toBeNull();
    expect((await loginThroughApp({ uri: server.uri, name: DB_NAME }, staff![1]!, staff![2]!)).status).toBe(200);
    const customer = /^ {2}Asha Rao\s+phone \d+\s+login (\S+)\s+password: (\S+)$/m.exec(run.stdout);
    expect(customer, run.stdout).not.toBeNull();
    const login = await loginThroughApp({ uri: server.uri, name: DB_NAME }, customer![1]!, customer![2]!);
    expect(login.status).toBe(200);
    expect(login.body.user).toMatchObject({ role: "customer", must_change_password: true });
  });

  it("is safe to run again: nothing is duplicated and no password is reprinted", async () => {
    const before = await counts();
    const run = await npmRun("seed:demo", [], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(await counts()).toEqual(before);
    expect(run.stdout).not.toContain("password:");
    expect(run.stdout.match(/\(exists/g)).toHaveLength(6);
  });

  it("refuses a database that is not on this machine unless told otherwise", async () => {
    const run = await npmRun("seed:demo", [], { env: { ...env, MONGODB_URI: "mongodb+srv://ops:s3cret@cluster0.example.net/" } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("refusing to seed demo data into mongodb+srv://ops:***@cluster0.example.net/");
    expect(run.stderr).not.toContain("s3cret");
  });
});
