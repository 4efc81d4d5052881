// Migrations 005 (users.phone_normalized) and 006 (customers_v2.phone_search / name_search and
// the search indexes) on the legacy fixture and on generated data: exact outcome, dry run,
// up → down → up, a run killed midway and resumed, and what DOWN must leave alone.
import type { Db, Document } from "mongodb";
import { describe, expect, it } from "vitest";
import * as usersPhone from "../../../migrations/005_users_phone_normalized.ts";
import * as customerSearch from "../../../migrations/006_customers_search_fields.ts";
import { generateLegacyData, insertGenerated } from "../../../scripts/generate-legacy-data.ts";
import type { Migration, MigrationContext } from "../../../scripts/migrate/types.ts";
import { customerIdsByPhone } from "../../../src/db/customers.ts";
import { findUsersByPhone } from "../../../src/db/users.ts";
import { normalizePhone } from "../../../src/lib/phone.ts";
import { nameSearchKey } from "../../../src/lib/search.ts";
import { readLegacyCollection } from "../../support/legacy-fixture.ts";
import { contextFor, documents, fixtureDb, freshDbName, migrate, useServer, wholeDatabase } from "./helpers.ts";

const h = useServer();

async function run(db: Db, migration: Migration, command: "up" | "down", overrides: Partial<MigrationContext> = {}) {
  const ctx = contextFor(h.client, db.databaseName, migration.id ?? "", overrides);
  return (command === "up" ? await migration.up(ctx) : await migration.down(ctx)) as Record<string, any>;
}

/** A checkpoint that stops the run (as a kill would) the `n`-th time `name` is reached. */
function killAt(name: string, n: number): Partial<MigrationContext> {
  let seen = 0;
  return {
    checkpoint: async (point: string) => {
      if (point === name && ++seen === n) throw new Error(`killed at ${name}:${n}`);
    },
  };
}

// In _id order, the order in which the migrations read (and report) them.
const byId = (docs: Document[]) => docs.sort((a, b) => String(a._id).localeCompare(String(b._id)));
const fixtureUsers = byId(readLegacyCollection("users"));
const fixtureCustomers = byId(readLegacyCollection("customers_v2"));
const hasText = (v: unknown) => typeof v === "string" && v.trim() !== "";

describe("005 users.phone_normalized on the legacy fixture", () => {
  it("dry run writes nothing; up fills every valid phone and reports invalid and shared-by-active phones; down restores; up again", async () => {
    const { db, target } = await fixtureDb(h, "phone005");
    await migrate(target, "up", "002");
    // A value this system wrote before the migration: DOWN must leave it.
    const apiWritten = fixtureUsers.find((u) => normalizePhone(u.phone) !== null)!;
    await db
      .collection("users")
      .updateOne({ id: apiWritten.id }, { $set: { phone_normalized: normalizePhone(apiWritten.phone) } });
    const before = await wholeDatabase(db);

    const dry = await run(db, usersPhone, "up", { dryRun: true });
    expect(await wholeDatabase(db)).toEqual(before);

    const valid = fixtureUsers.filter((u) => normalizePhone(u.phone) !== null);
    const invalid = fixtureUsers.filter((u) => hasText(u.phone) && normalizePhone(u.phone) === null).map((u) => u.id);
    const byPhone = new Map<string, string[]>();
    for (const u of valid)
      if (u.is_active !== false) byPhone.set(normalizePhone(u.phone)!, [...(byPhone.get(normalizePhone(u.phone)!) ?? []), u.id]);
    const shared = [...byPhone]
      .filter(([, ids]) => ids.length > 1)
      .map(([phone_normalized, user_ids]) => ({ phone_normalized, user_ids }));
    expect(shared.length).toBeGreaterThan(0);
    expect(dry.would_backfill).toBe(valid.length - 1);

    const summary = await run(db, usersPhone, "up");
    expect(summary).toMatchObject({
      users: fixtureUsers.length,
      backfilled: valid.length - 1,
      written_by_this_run: valid.length - 1,
      already_set: fixtureUsers.length - valid.length + 1,
      invalid_phones: { count: invalid.length, user_ids: invalid },
      shared_by_active_users: { count: shared.length, phones: shared },
      indexes: { created: ["users.phone_normalized_1"] },
    });
    const stored = await db
      .collection("users")
      .find({}, { projection: { _id: 0, id: 1, phone: 1, phone_normalized: 1 } })
      .toArray();
    for (const u of stored) {
      const n = normalizePhone(u.phone);
      if (n === null) expect(u, u.id).not.toHaveProperty("phone_normalized");
      else expect(u.phone_normalized, u.id).toBe(n);
    }
    const index = (await db.collection("users").listIndexes().toArray()).find((ix) => ix.name === "phone_normalized_1");
    expect(index).toMatchObject({ key: { phone_normalized: 1 } });
    expect(index!.unique).not.toBe(true);
    const afterUp = await documents(db);

    // Login's lookup: every legacy spelling reduces to one equality on the indexed field.
    const legacySpelled = fixtureUsers.find(
      (u) =>
        normalizePhone(u.phone) !== null &&
        u.phone !== normalizePhone(u.phone) &&
        byPhone.get(normalizePhone(u.phone)!)?.length === 1 &&
        u.is_active !== false,
    )!;
    expect((await findUsersByPhone(db, normalizePhone(legacySpelled.phone)!)).map((u) => u.id)).toEqual([legacySpelled.id]);
    expect(await findUsersByPhone(db, shared[0]!.phone_normalized)).toEqual([]);

    // Idempotent.
    const again = await run(db, usersPhone, "up");
    expect(again).toMatchObject({ backfilled: valid.length - 1, written_by_this_run: 0 });
    expect(await documents(db)).toEqual(afterUp);

    // A value changed since (a phone PATCH moved it) survives DOWN, like the pre-existing one.
    const moved = valid.find((u) => u.id !== apiWritten.id)!;
    await db.collection("users").updateOne({ id: moved.id }, { $set: { phone_normalized: "9999999999" } });
    const dryDown = await run(db, usersPhone, "down", { dryRun: true, appliedSummary: summary });
    expect(dryDown).toMatchObject({
      would_remove: valid.length - 2,
      changed_since: 1,
      would_drop_indexes: ["users.phone_normalized_1"],
    });
    const down = await run(db, usersPhone, "down", { appliedSummary: summary });
    expect(down).toMatchObject({ removed: valid.length - 2, changed_since: 1, indexes_dropped: ["users.phone_normalized_1"] });
    await db.collection("users").updateOne({ id: moved.id }, { $unset: { phone_normalized: "" } });
    expect(await wholeDatabase(db)).toEqual(before);

    await run(db, usersPhone, "up");
    expect(await documents(db)).toEqual(afterUp);
  });
});

describe("006 customers_v2 search fields on the legacy fixture", () => {
  it("fills phone_search (null when invalid; duplicates allowed) and name_search on every customer; 001's unique index still guards new writes; down restores", async () => {
    const { db, target } = await fixtureDb(h, "search006");
    await migrate(target, "up", "002");
    const before = await wholeDatabase(db);
    const dry = await run(db, customerSearch, "up", { dryRun: true });
    expect(dry.would_backfill).toBe(fixtureCustomers.length);
    expect(await wholeDatabase(db)).toEqual(before);

    const summary = await run(db, customerSearch, "up");
    const invalid = fixtureCustomers.filter((c) => hasText(c.phone) && normalizePhone(c.phone) === null).map((c) => c.id);
    const counts = new Map<string, number>();
    for (const c of fixtureCustomers)
      if (normalizePhone(c.phone)) counts.set(normalizePhone(c.phone)!, (counts.get(normalizePhone(c.phone)!) ?? 0) + 1);
    const sharedPhones = [...counts.values()].filter((n) => n > 1).length;
    expect(sharedPhones).toBeGreaterThan(0);
    expect(summary).toMatchObject({
      customers: fixtureCustomers.length,
      backfilled: fixtureCustomers.length,
      invalid_phones: { count: invalid.length, customer_ids: invalid },
      phones_shared_by_several_customers: sharedPhones,
    });
    expect(summary.indexes.created).toEqual([
      "customers_v2.phone_search_1_id_1",
      "customers_v2.name_search_1_id_1",
      "customers_v2.area_1_id_1",
      "customers_v2.status_1_id_1",
      "customers_v2.user_id_1_id_1",
    ]);
    for (const c of await db.collection("customers_v2").find({}).toArray()) {
      expect(c.phone_search, c.id).toBe(normalizePhone(c.phone));
      expect(c.name_search, c.id).toBe(nameSearchKey(c.name));
      expect(c, c.id).not.toHaveProperty("phone_normalized");
    }
    const duplicate = [...counts].find(([, n]) => n > 1)![0];
    await expect(
      db.collection("customers_v2").insertMany([
        {
          id: crypto.randomUUID(),
          name: "A",
          phone: duplicate,
          phone_normalized: duplicate,
          phone_search: duplicate,
          status: "trial",
        },
        {
          id: crypto.randomUUID(),
          name: "B",
          phone: duplicate,
          phone_normalized: duplicate,
          phone_search: duplicate,
          status: "trial",
        },
      ] as Document[]),
    ).rejects.toMatchObject({ code: 11000 });

    await db.collection("customers_v2").deleteMany({ phone_normalized: duplicate });
    await run(db, customerSearch, "down", { appliedSummary: summary });
    expect(await wholeDatabase(db)).toEqual(before);
  });
});

describe("006 and customers the legacy system writes after the back-fill", () => {
  it("such a customer lacks phone_search, so the duplicate-phone check misses it until the back-fill runs again (runbook: down --to 005, up)", async () => {
    const { db, target } = await fixtureDb(h, "search006late");
    await migrate(target, "up", "006");
    const taken = new Set(fixtureCustomers.map((c) => normalizePhone(c.phone)));
    const phone = ["9876501234", "9876501235", "9876501236"].find((p) => !taken.has(p))!;
    const late = {
      id: crypto.randomUUID(),
      name: "Late Legacy",
      phone: `(+91) ${phone.slice(0, 5)}-${phone.slice(5)}`,
      status: "active",
    };
    await db.collection("customers_v2").insertOne({ ...late });
    // The lookup the API uses: equalities on indexed fields only, no regex over legacy spellings.
    expect(await customerIdsByPhone(db, phone)).toEqual([]);

    await migrate(target, "down", "005");
    await migrate(target, "up", "006");
    expect(await customerIdsByPhone(db, phone)).toEqual([late.id]);
    expect(await db.collection("customers_v2").findOne({ id: late.id })).toMatchObject({
      phone_search: phone,
      name_search: nameSearchKey(late.name),
    });
  });
});

describe("a run killed midway resumes (generated data, several pages)", () => {
  const data = generateLegacyData({ customers: 2_500, seed: 7 });

  const byName: Record<string, Migration> = { [usersPhone.id]: usersPhone, [customerSearch.id]: customerSearch };
  it.each([
    [usersPhone.id, "records", 2],
    [usersPhone.id, "documents", 2],
    [customerSearch.id, "records", 3],
    [customerSearch.id, "documents", 2],
  ] as const)("%s killed at %s:%i ends as one clean run; down then restores the data", async (id, point, n) => {
    const migration = byName[id]!;
    const clean = h.client.db(freshDbName("clean"));
    await insertGenerated(clean, data);
    const cleanSummary = await run(clean, migration, "up");

    const victim = h.client.db(freshDbName("killed"));
    await insertGenerated(victim, data);
    const original = await documents(victim);
    await expect(run(victim, migration, "up", killAt(point, n))).rejects.toThrow(/killed/);
    const partial = await victim.collection("field_backfill").countDocuments();
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(cleanSummary.backfilled);

    const resumed = await run(victim, migration, "up");
    expect(resumed.backfilled).toBe(cleanSummary.backfilled);
    expect(resumed.written_by_this_run).toBeLessThan(cleanSummary.backfilled);
    expect(await documents(victim)).toEqual(await documents(clean));

    await run(victim, migration, "down", { appliedSummary: resumed });
    expect(await documents(victim)).toEqual(original);
  });
});
