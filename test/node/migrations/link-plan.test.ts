// The back-fill decisions alone (no database): the fixture's expected.json, independence from
// input order, the generated large set's built-in outcomes, and the cases the written rules
// leave open.
import { describe, expect, it } from "vitest";
import { generateLegacyData } from "../../../scripts/generate-legacy-data.ts";
import { type CustomerFacts, countReasons, planLinks, type UserFacts } from "../../../scripts/migrate/link-plan.ts";
import { readLegacyCollection, readLegacyJson } from "../../support/legacy-fixture.ts";
import { type Expected, outcomeOf } from "./helpers.ts";

const fixtureCustomers = readLegacyCollection("customers_v2") as unknown as CustomerFacts[];
const fixtureUsers = readLegacyCollection("users") as unknown as UserFacts[];

function shuffled<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe("planLinks on the legacy fixture", () => {
  it("gives exactly expected.json: links, skipped and counts", () => {
    const plan = planLinks(fixtureCustomers, fixtureUsers);
    expect(outcomeOf(plan.links, plan.skipped)).toEqual(readLegacyJson<Expected>("expected.json"));
  });

  it("does not depend on the order of the documents", () => {
    const reference = planLinks(fixtureCustomers, fixtureUsers);
    for (const seed of [1, 2, 3]) {
      expect(planLinks(shuffled(fixtureCustomers, seed), shuffled(fixtureUsers, seed + 100))).toEqual(reference);
    }
  });

  it("records how each written side looked before (absent or null) so DOWN can restore it", () => {
    const plan = planLinks(fixtureCustomers, fixtureUsers);
    const customersById = new Map(fixtureCustomers.map((c) => [c.id, c]));
    const usersById = new Map(fixtureUsers.map((u) => [u.id, u]));
    for (const link of plan.links) {
      const c = customersById.get(link.customer_id)!;
      const u = usersById.get(link.user_id)!;
      expect(link.set_customer).toBe(c.user_id == null);
      expect(link.set_user).toBe(u.customer_v2_id == null);
      if (link.set_customer) expect(link.customer_prior).toBe("user_id" in c ? "null" : "absent");
      if (link.set_user) expect(link.user_prior).toBe("customer_v2_id" in u ? "null" : "absent");
    }
    // The fixture holds explicit nulls on both sides, so both spellings are exercised.
    expect(new Set(plan.links.flatMap((l) => [l.customer_prior, l.user_prior]).filter(Boolean))).toEqual(
      new Set(["null", "absent"]),
    );
  });
});

describe("planLinks on a generated 20k-customer set", () => {
  it("gives every customer the outcome its case was built for", () => {
    const data = generateLegacyData({ customers: 20_000, seed: 11 });
    const plan = planLinks(data.customers as CustomerFacts[], data.users as UserFacts[]);
    const got = new Map([...plan.links, ...plan.skipped].map((e) => [e.customer_id, e.reason]));
    expect(got.size).toBe(data.intended.size);
    const wrong = [...data.intended].filter(([id, reason]) => got.get(id) !== reason);
    expect(wrong).toEqual([]);
    const counts = countReasons([...plan.links, ...plan.skipped]);
    for (const reason of Object.keys(counts)) expect(counts[reason as keyof typeof counts]).toBeGreaterThan(0);
  });
});

describe("planLinks: staff and contested claims (the written rules)", () => {
  const customer = (id: string, fields: Partial<CustomerFacts> = {}): CustomerFacts => ({ id, ...fields });
  const user = (id: string, fields: Partial<UserFacts> = {}): UserFacts => ({
    id,
    role: "customer",
    email: `${id}@x.in`,
    ...fields,
  });

  it("a staff user claiming an unlinked customer is a conflict, and the claimed customer is no phone candidate", () => {
    for (const role of ["delivery_boy", "marketing_staff", "supplier", "admin"]) {
      const plan = planLinks(
        [customer("c1", { phone: "9876543210" })],
        [user("s1", { role, customer_v2_id: "c1", phone: "9876543210" }), user("u1", { phone: "+91 98765 43210" })],
      );
      expect(plan.links).toEqual([]);
      expect(plan.skipped).toEqual([{ customer_id: "c1", reason: "conflict", user_ids: ["s1"] }]);
    }
  });

  it("a customer naming a staff user whose customer_v2_id is unset is a conflict, not a repair", () => {
    const plan = planLinks(
      [customer("c1", { user_id: "s1", phone: "9876543210" })],
      [user("s1", { role: "supplier", phone: "9876543210", customer_v2_id: null })],
    );
    expect(plan.links).toEqual([]);
    expect(plan.skipped).toEqual([{ customer_id: "c1", reason: "conflict", user_ids: ["s1"] }]);
  });

  it("a contested half link (another user claims the customer) is not repaired; the claimant is not linked either", () => {
    const plan = planLinks([customer("c1", { user_id: "u1" })], [user("u1"), user("u2", { customer_v2_id: "c1" })]);
    expect(plan.links).toEqual([]);
    expect(plan.skipped).toEqual([{ customer_id: "c1", reason: "conflict", user_ids: ["u1"] }]);
  });

  it("a customer claimed by several users is a conflict listing them all, even if one has its pattern email", () => {
    const plan = planLinks(
      [customer("c1")],
      [user("u2", { customer_v2_id: "c1" }), user("u1", { customer_v2_id: "c1", email: "customer-c1@earlybird.local" })],
    );
    expect(plan.links).toEqual([]);
    expect(plan.skipped).toEqual([{ customer_id: "c1", reason: "conflict", user_ids: ["u1", "u2"] }]);
  });

  it("a customer claimed by a staff user and a customer-role user is a conflict listing both", () => {
    const plan = planLinks(
      [customer("c1")],
      [user("u1", { customer_v2_id: "c1" }), user("s1", { role: "admin", customer_v2_id: "c1" })],
    );
    expect(plan.skipped).toEqual([{ customer_id: "c1", reason: "conflict", user_ids: ["s1", "u1"] }]);
  });

  it("every customer appears exactly once", () => {
    const customers = readLegacyCollection("customers_v2") as unknown as CustomerFacts[];
    const plan = planLinks(customers, fixtureUsers);
    const ids = new Set(customers.map((c) => c.id));
    const reported = [...plan.links, ...plan.skipped].map((e) => e.customer_id).filter((id) => ids.has(id));
    expect(reported.sort()).toEqual([...ids].sort());
  });
});

describe("planLinks where the written rules are silent", () => {
  const customer = (id: string, fields: Partial<CustomerFacts> = {}): CustomerFacts => ({ id, ...fields });
  const user = (id: string, fields: Partial<UserFacts> = {}): UserFacts => ({
    id,
    role: "customer",
    email: `${id}@x.in`,
    ...fields,
  });

  it("two users claiming one unlinked customer: conflict, nothing written", () => {
    const plan = planLinks([customer("c1")], [user("u1", { customer_v2_id: "c1" }), user("u2", { customer_v2_id: "c1" })]);
    expect(plan.links).toEqual([]);
    expect(plan.skipped).toEqual([{ customer_id: "c1", reason: "conflict", user_ids: ["u1", "u2"] }]);
  });

  it("a user-side half-link whose user another customer names is not repaired", () => {
    const plan = planLinks([customer("c1"), customer("c2", { user_id: "u1" })], [user("u1", { customer_v2_id: "c1" })]);
    expect(plan.links).toEqual([]);
    expect(plan.skipped).toEqual([
      { customer_id: "c1", reason: "conflict", user_ids: ["u1"] },
      { customer_id: "c2", reason: "conflict", user_ids: ["u1"] },
    ]);
  });

  it("a customer naming a staff user is a conflict, never a repair", () => {
    const plan = planLinks([customer("c1", { user_id: "s1" })], [user("s1", { role: "delivery_boy" })]);
    expect(plan.skipped).toEqual([{ customer_id: "c1", reason: "conflict", user_ids: ["s1"] }]);
  });

  it("several users dangling to one missing customer: one entry per claiming user", () => {
    const plan = planLinks([], [user("u2", { customer_v2_id: "gone" }), user("u1", { customer_v2_id: "gone" })]);
    expect(plan.skipped).toEqual([
      { customer_id: "gone", reason: "dangling", user_ids: ["u1"] },
      { customer_id: "gone", reason: "dangling", user_ids: ["u2"] },
    ]);
  });

  it("email pattern wins over phone, and the matched user leaves the phone pool", () => {
    const plan = planLinks(
      [customer("c1", { phone: "9876543210" }), customer("c2", { phone: "+91 98765 43210" })],
      [user("u1", { email: "Customer-C1@EarlyBird.local", phone: "9876543210" }), user("u2", { phone: "09876543210" })],
    );
    expect(plan.links.map((l) => [l.customer_id, l.user_id, l.reason])).toEqual([
      ["c1", "u1", "email_pattern"],
      ["c2", "u2", "phone"],
    ]);
  });

  it("two candidates sharing a phone no eligible user has are no_match, not ambiguous", () => {
    const plan = planLinks(
      [customer("c1", { phone: "9000000001" }), customer("c2", { phone: "9000000001" })],
      [user("s", { role: "admin", phone: "9000000001" })],
    );
    expect(plan.skipped.map((s) => s.reason)).toEqual(["no_match", "no_match"]);
  });
});
