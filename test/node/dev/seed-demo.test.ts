import { describe, expect, it } from "vitest";
import { npmRun } from "../../support/npm-run.ts";
import { loginThroughApp, useScriptDatabase } from "./support.ts";

const DB_NAME = "seed_demo_tests";
const h = useScriptDatabase(DB_NAME, { migrate: true });

async function counts() {
  return {
    products: await h.db.collection("products").countDocuments(),
    users: await h.db.collection("users").countDocuments(),
    customers: await h.db.collection("customers_v2").countDocuments(),
    subscriptions: await h.db.collection("subscriptions_v2").countDocuments(),
  };
}

describe("npm run seed:demo", () => {
  it("creates products, staff and linked customers with subscriptions, and prints working credentials", async () => {
    const run = await npmRun("seed:demo", [], { env: h.env });
    expect(run.code, run.stderr).toBe(0);
    expect(await counts()).toEqual({ products: 4, users: 6, customers: 3, subscriptions: 3 });

    // Every customer is linked both ways to a customer-role user, as the onboarding API does it.
    for (const customer of await h.db.collection("customers_v2").find().toArray()) {
      const user = await h.db.collection("users").findOne({ id: customer.user_id });
      expect(user).toMatchObject({ role: "customer", customer_v2_id: customer.id, must_change_password: true });
      expect(await h.db.collection("subscriptions_v2").countDocuments({ customer_id: customer.id })).toBe(1);
    }

    const staff = /^ {2}admin\s+(\S+)\s+password: (\S+)$/m.exec(run.stdout);
    expect(staff, run.stdout).not.toBeNull();
    expect((await loginThroughApp({ uri: h.uri, name: DB_NAME }, staff![1]!, staff![2]!)).status).toBe(200);
    const customer = /^ {2}Asha Rao\s+phone \d+\s+login (\S+)\s+password: (\S+)$/m.exec(run.stdout);
    expect(customer, run.stdout).not.toBeNull();
    const login = await loginThroughApp({ uri: h.uri, name: DB_NAME }, customer![1]!, customer![2]!);
    expect(login.status).toBe(200);
    expect(login.body.user).toMatchObject({ role: "customer", must_change_password: true });
  });

  it("is safe to run again: nothing is duplicated and no password is reprinted", async () => {
    const before = await counts();
    const run = await npmRun("seed:demo", [], { env: h.env });
    expect(run.code, run.stderr).toBe(0);
    expect(await counts()).toEqual(before);
    expect(run.stdout).not.toContain("password:");
    expect(run.stdout.match(/\(exists/g)).toHaveLength(6);
  });

  it("refuses a database that is not on this machine unless told otherwise", async () => {
    const run = await npmRun("seed:demo", [], {
      env: { ...h.env, MONGODB_URI: "mongodb+srv://ops:s3cret@cluster0.example.net/" },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("refusing to seed demo data into mongodb+srv://ops:***@cluster0.example.net/");
    expect(run.stderr).not.toContain("s3cret");
  });
});
