// Migrations 001, 002 and 008 on the legacy fixture through the real driver and the embedded server:
// the back-fill's outcome and database state, idempotence, exact rollback, 008's refusal and
// 001's unique-violation report.
import { EJSON } from "bson";
import type { Document } from "mongodb";
import { describe, expect, it } from "vitest";
import * as linkMigration from "../../../migrations/002_link_users_customers.ts";
import { runMigrations } from "../../../scripts/migrate/runner.ts";
import { readLegacyCollection, readLegacyJson } from "../../support/legacy-fixture.ts";
import { lastMigrationBeforeGate } from "../../support/test-database.ts";
import {
  contextFor,
  documents,
  type Expected,
  expectedWrites,
  fixtureDb,
  indexNames,
  LINK_MIGRATION,
  migrate,
  summaryOf,
  useServer,
  wholeDatabase,
} from "./helpers.ts";

const h = useServer();
const expected = readLegacyJson<Expected>("expected.json");

/** The fixture's users and customers with exactly `links` added on both sides, as canonical EJSON. */
function fixtureWithLinks(links: readonly { customer_id: string; user_id: string }[]): Record<string, string[]> {
  const users = readLegacyCollection("users");
  const customers = readLegacyCollection("customers_v2");
  for (const link of links) {
    customers.find((c) => c.id === link.customer_id)!.user_id = link.user_id;
    users.find((u) => u.id === link.user_id)!.customer_v2_id = link.customer_id;
  }
  const canon = (docs: Document[]) =>
    docs.sort((a, b) => String(a._id).localeCompare(String(b._id))).map((d) => EJSON.stringify(d, { relaxed: false }));
  return { users: canon(users), customers_v2: canon(customers) };
}

describe("002 on the legacy fixture", () => {
  it("ends exactly as expected.json: the links with their reasons, the skipped with theirs, the counts, and nothing else changed", async () => {
    const { db, target } = await fixtureDb(h, "expected");
    const summary = summaryOf(await migrate(target, "up", "002"));
    expect({ links: summary.links, skipped: summary.skipped, counts: summary.counts }).toEqual(expected);
    expect(await documents(db)).toEqual(fixtureWithLinks(expected.links));

    const fixtureCustomers = readLegacyCollection("customers_v2");
    const customerIds = new Set(fixtureCustomers.map((c) => String(c.id)));
    const linked = expected.counts.already_linked! + expected.links.length;
    const unlinkedByReason: Record<string, number> = {};
    for (const s of expected.skipped)
      if (s.reason !== "already_linked" && customerIds.has(s.customer_id))
        unlinkedByReason[s.reason] = (unlinkedByReason[s.reason] ?? 0) + 1;
    expect(summary.stats).toMatchObject({
      customers: fixtureCustomers.length,
      customers_linked: linked,
      customers_unlinked: fixtureCustomers.length - linked,
      customers_unlinked_by_reason: unlinkedByReason,
      customer_role_users: readLegacyCollection("users").filter((u) => u.role === "customer").length,
    });
    expect(summary.written).toEqual(expectedWrites());
    expect(summary.indexes.created).toEqual([
      "users.customer_v2_id_1",
      "users.customer_v2_id_1_role_1",
      "customers_v2.user_id_1",
      "customers_v2.user_id_1_status_1",
    ]);
    expect(summary.round_trips.total).toBeGreaterThan(0);
    expect(summary.round_trips.total).toBeLessThan(30);
    // Every written link is recorded for DOWN, with the sides it set.
    const records = await db
      .collection("link_backfill")
      .find({}, { sort: { customer_id: 1 } })
      .toArray();
    expect(records.map((r) => ({ customer_id: r.customer_id, user_id: r.user_id, reason: r.reason }))).toEqual(expected.links);
  });

  it("is idempotent: run again over its own result it writes nothing and reports the same outcome", async () => {
    const { db, target } = await fixtureDb(h, "idempotent");
    const first = summaryOf(await migrate(target, "up", "002"));
    const after = await documents(db);
    expect((await migrate(target, "up", "002")).message).toMatch(/nothing to apply/);

    // Re-run the migration body itself (as after a lost changelog entry).
    await db.collection("migrations_changelog").deleteOne({ _id: LINK_MIGRATION as never });
    const second = summaryOf(await migrate(target, "up", "002"));
    expect(second.written).toEqual({ records: 0, customers: 0, users: 0 });
    expect({ links: second.links, skipped: second.skipped, counts: second.counts }).toEqual({
      links: first.links,
      skipped: first.skipped,
      counts: first.counts,
    });
    expect(await documents(db)).toEqual(after);
  });

  it("up → down restores the loaded fixture document for document; up → down → up gives the same links as up", async () => {
    const { db, target } = await fixtureDb(h, "roundtrip");
    const loaded = await documents(db);
    const indexesBefore = [await indexNames(db, "users"), await indexNames(db, "customers_v2")];
    await migrate(target, "up", "002");
    const afterUp = await documents(db);

    const down = summaryOf(await migrate(target, "down", "002"));
    const { customers: customersWritten, users: usersWritten } = expectedWrites();
    expect(down.removed).toEqual({ customers: customersWritten, users: usersWritten });
    expect(down.changed_since).toEqual({ customers: 0, users: 0 });
    expect(await documents(db)).toEqual(loaded);
    expect(await indexNames(db, "link_backfill")).toEqual([]);
    await migrate(target, "down", "001");
    expect([await indexNames(db, "users"), await indexNames(db, "customers_v2")]).toEqual(indexesBefore);

    const again = summaryOf(await migrate(target, "up", "002"));
    expect(await documents(db)).toEqual(afterUp);
    expect(again.links).toEqual(expected.links);
  });

  it("down leaves links that existed before and links the API made since; --unset-all-links removes every one", async () => {
    const { db, target } = await fixtureDb(h, "apilinks");
    await migrate(target, "up", "002");
    // The API links a no_match customer to an unlinked customer-role user no customer names.
    const customerId = expected.skipped.find((s) => s.reason === "no_match")!.customer_id;
    const named = new Set((await db.collection("customers_v2").distinct("user_id")).map(String));
    const free = await db.collection("users").find({ role: "customer", customer_v2_id: null }).toArray();
    const apiUserId = String(free.find((u) => !named.has(String(u.id)))!.id);
    await db.collection("customers_v2").updateOne({ id: customerId }, { $set: { user_id: apiUserId } });
    await db.collection("users").updateOne({ id: apiUserId }, { $set: { customer_v2_id: customerId } });

    await migrate(target, "down", "002");
    expect(await documents(db)).toEqual(fixtureWithLinks([{ customer_id: customerId, user_id: apiUserId }]));

    await migrate(target, "up", "002");
    const withLinks = await db.collection("customers_v2").countDocuments({ user_id: { $exists: true } });
    const usersWithLinks = await db.collection("users").countDocuments({ customer_v2_id: { $exists: true } });
    const report = await runMigrations({ ...target, command: "down", options: { "unset-all-links": true }, log: null });
    expect(report.exit_code).toBe(0);
    expect(summaryOf(report).unset).toEqual({ customers: withLinks, users: usersWithLinks });
    expect(await db.collection("customers_v2").countDocuments({ user_id: { $exists: true } })).toBe(0);
    expect(await db.collection("users").countDocuments({ customer_v2_id: { $exists: true } })).toBe(0);
  });

  it("never overwrites a link written concurrently, and leaves nothing half-written", async () => {
    const { db, dbName, target } = await fixtureDb(h, "race");
    await migrate(target, "up", "001");
    const phoneLink = expected.links.find((l) => l.reason === "phone")!;
    const intruder = expected.skipped.find((s) => s.reason === "no_match")!.customer_id;
    // Between the back-fill's read and its user-side write, the API links the planned user elsewhere.
    const ctx = contextFor(h.client, dbName, LINK_MIGRATION, {
      checkpoint: async (name) => {
        if (name !== "users") return;
        await db.collection("users").updateOne({ id: phoneLink.user_id }, { $set: { customer_v2_id: intruder } });
        await db.collection("customers_v2").updateOne({ id: intruder }, { $set: { user_id: phoneLink.user_id } });
      },
    });
    const summary = (await linkMigration.up(ctx)) as Record<string, any>;
    expect(summary.skipped).toContainEqual({ customer_id: phoneLink.customer_id, reason: "concurrent_change" });
    expect(summary.links).not.toContainEqual(phoneLink);
    expect(summary.counts.phone).toBe(expected.counts.phone! - 1);
    const customer = await db.collection("customers_v2").findOne({ id: phoneLink.customer_id });
    expect(customer!.user_id ?? null).toBeNull();
    expect((await db.collection("users").findOne({ id: phoneLink.user_id }))!.customer_v2_id).toBe(intruder);
    expect(await db.collection("link_backfill").countDocuments({ customer_id: phoneLink.customer_id })).toBe(0);
  });
});

describe("002 refusing", () => {
  it("refuses before writing any link when an index it needs exists with another definition", async () => {
    const { db, target } = await fixtureDb(h, "indexclash");
    await migrate(target, "up", "001");
    await db.collection("customers_v2").createIndex({ user_id: 1 }, { name: "user_id_1", sparse: true });
    const before = await documents(db);
    const report = await runMigrations({ ...target, command: "up", to: "002", log: null });
    expect(report.exit_code).toBe(2);
    expect(report.message).toMatch(/index customers_v2\.user_id_1 already exists with another definition/);
    expect(await documents(db)).toEqual(before);
    expect(await indexNames(db, "link_backfill")).toEqual([]);
  });
});

describe("008_unique_links on the legacy fixture", () => {
  it("refuses with the conflicting documents and changes nothing; after a person resolves them it succeeds", async () => {
    const { db, target } = await fixtureDb(h, "unique");
    // Everything before 008 (002's back-fill, 004–007) applies; 008 is the one that refuses.
    await migrate(target, "up", await lastMigrationBeforeGate());
    const before = await wholeDatabase(db);
    const refused = await runMigrations({ ...target, command: "up", log: null });
    expect(refused.exit_code).toBe(2);
    expect(refused.outcome).toBe("refused");
    const details = refused.error!.details as {
      conflicts: { field: string; value: string; points_back_to: string | null; documents: { id: string }[] }[];
      how_to_resolve: string;
    };
    // Exactly the values held by two or more documents after the back-fill, on either side.
    const duplicated = async (collection: string, field: string) =>
      (
        await db
          .collection(collection)
          .aggregate([{ $match: { [field]: { $type: "string" } } }, { $group: { _id: `$${field}`, ids: { $push: "$id" } } }])
          .toArray()
      )
        .filter((g) => g.ids.length > 1)
        .map((g) => [`${collection === "users" ? "users" : "customers_v2"}.${field}`, String(g._id), [...g.ids].sort()]);
    const blocking = [...(await duplicated("customers_v2", "user_id")), ...(await duplicated("users", "customer_v2_id"))].sort();
    expect(blocking.length).toBeGreaterThan(0);
    expect(details.conflicts.map((c) => [c.field, c.value, c.documents.map((d) => d.id).sort()]).sort()).toEqual(blocking);
    expect(details.how_to_resolve).toContain("npm run links -- check");
    expect(refused.message).toContain("npm run links -- check");
    for (const [, value] of blocking) expect(refused.message).toContain(value);
    expect(await wholeDatabase(db)).toEqual(before);

    // Resolve by hand: keep the document the other side points back to (else the first), unset the others.
    for (const c of details.conflicts) {
      const keep = c.points_back_to ?? c.documents[0]!.id;
      const [collection, field] = c.field === "customers_v2.user_id" ? ["customers_v2", "user_id"] : ["users", "customer_v2_id"];
      for (const d of c.documents.filter((d) => d.id !== keep))
        await db.collection(collection!).updateOne({ id: d.id }, { $unset: { [field!]: "" } });
    }
    const ok = await runMigrations({ ...target, command: "up", log: null });
    expect(ok.exit_code).toBe(0);
    expect(await indexNames(db, "customers_v2")).toContain("user_id_unique");
    expect(await indexNames(db, "customers_v2")).not.toContain("user_id_1");
    expect(await indexNames(db, "users")).toContain("customer_v2_id_unique");
    // The database itself now forbids a second customer pointing at a linked user.
    const linkedUser = expected.links[0]!.user_id;
    await expect(
      db.collection("customers_v2").insertOne({ id: "dup-customer", name: "dup", status: "trial", user_id: linkedUser }),
    ).rejects.toMatchObject({ code: 11000 });
    await db.collection("customers_v2").insertMany([
      { id: "unlinked-a", status: "trial" },
      { id: "unlinked-b", status: "trial", user_id: null },
    ]);

    await migrate(target, "down", "008");
    expect(await indexNames(db, "customers_v2")).toContain("user_id_1");
    expect(await indexNames(db, "customers_v2")).not.toContain("user_id_unique");
    expect(await indexNames(db, "users")).toContain("customer_v2_id_1");
  });
});

describe("001 against data that violates a unique index", () => {
  it("refuses with the offending values, creates no index and deletes nothing", async () => {
    const { db, target } = await fixtureDb(h, "violations");
    const someone = await db.collection("users").findOne({ email: /^[a-z]/ });
    await db
      .collection("users")
      .insertOne({ id: "dup-email-user", email: String(someone!.email).toUpperCase(), role: "customer", name: "Twin" });
    const product = await db.collection("products").findOne({});
    await db.collection("products").insertOne({ id: product!.id, name: "same id", unit: "l", default_price: 1 });
    const before = await wholeDatabase(db);

    const report = await runMigrations({ ...target, command: "up", log: null });
    expect(report.exit_code).toBe(2);
    const duplicates = (
      report.error!.details as { duplicates: { index: string; value: Record<string, unknown>; count: number }[] }
    ).duplicates;
    expect(duplicates.map((d) => [d.index, d.count])).toEqual([
      ["users.email_unique_ci", 2],
      ["products.id_unique", 2],
    ]);
    expect(duplicates[0]!.value).toEqual({ email: someone!.email });
    expect(duplicates[1]!.value).toEqual({ id: product!.id });
    expect(report.message).toContain(String(someone!.email));
    // Taking the lock created the (now empty) lock collection; everything else is untouched.
    const { migrations_lock: lock, ...after } = await wholeDatabase(db);
    expect(lock!.docs).toEqual([]);
    expect(after).toEqual(before);
  });
});
