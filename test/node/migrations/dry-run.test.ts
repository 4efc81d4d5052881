// --dry-run hands migrations a database handle that cannot write: every write method throws
// "dry run: write attempted" (reads pass), and a migration that writes anyway fails the run
// (exit 1) with the database unchanged, even when it catches the error itself.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Collection, Db } from "mongodb";
import { describe, expect, it } from "vitest";
import { readOnlyClient, readOnlyDb } from "../../../scripts/migrate/read-only.ts";
import { copyOfMigrations, fixtureDb, runCli, useServer, wholeDatabase } from "./helpers.ts";

const h = useServer();

const WRITES: [string, (db: Db, coll: Collection) => Promise<unknown>][] = [
  ["insertOne", (_db, c) => c.insertOne({ x: 1 })],
  ["insertMany", (_db, c) => c.insertMany([{ x: 1 }])],
  ["updateOne", (_db, c) => c.updateOne({}, { $set: { x: 1 } })],
  ["updateMany", (_db, c) => c.updateMany({}, { $set: { x: 1 } })],
  ["replaceOne", (_db, c) => c.replaceOne({}, { x: 1 })],
  ["deleteOne", (_db, c) => c.deleteOne({})],
  ["deleteMany", (_db, c) => c.deleteMany({})],
  ["bulkWrite", (_db, c) => c.bulkWrite([{ insertOne: { document: { x: 1 } } }])],
  ["findOneAndUpdate", (_db, c) => c.findOneAndUpdate({}, { $set: { x: 1 } })],
  ["findOneAndReplace", (_db, c) => c.findOneAndReplace({}, { x: 1 })],
  ["findOneAndDelete", (_db, c) => c.findOneAndDelete({})],
  ["createIndex", (_db, c) => c.createIndex({ x: 1 })],
  ["createIndexes", (_db, c) => c.createIndexes([{ key: { x: 1 } }])],
  ["dropIndex", (_db, c) => c.dropIndex("id_unique")],
  ["dropIndexes", (_db, c) => c.dropIndexes()],
  ["drop", (_db, c) => c.drop()],
  ["aggregate with $out", (_db, c) => c.aggregate([{ $out: "copy" }]).toArray()],
  ["aggregate with $merge", (_db, c) => c.aggregate([{ $match: {} }, { $merge: { into: "copy" } }]).toArray()],
  ["db.createCollection", (db) => db.createCollection("new_one")],
  ["db.renameCollection", (db) => db.renameCollection("users", "people")],
  ["db.dropCollection", (db) => db.dropCollection("users")],
  ["db.command(drop)", (db) => db.command({ drop: "users" })],
  ["db.collections()[0].insertOne", async (db) => (await db.collections())[0]!.insertOne({ x: 1 })],
];

describe("the read-only handle", () => {
  it.each(WRITES)("%s throws 'dry run: write attempted' and writes nothing", async (_name, write) => {
    const { db, dbName } = await fixtureDb(h, "readonly");
    await db.collection("users").createIndex({ id: 1 }, { name: "id_unique" });
    const before = await wholeDatabase(db);
    const attempts: string[] = [];
    const ro = readOnlyClient(h.client, (what) => attempts.push(what)).db(dbName);
    await expect(async () => write(ro, ro.collection("users"))).rejects.toThrow(/^dry run: write attempted/);
    expect(attempts).toHaveLength(1);
    expect(await wholeDatabase(db)).toEqual(before);
  });

  it("reads pass through: find, count, aggregate without $out, listIndexes, listCollections, ping", async () => {
    const { db, dbName } = await fixtureDb(h, "readonly_reads");
    const ro = readOnlyDb(h.client.db(dbName));
    const users = ro.collection("users");
    const total = await db.collection("users").countDocuments();
    expect(await users.countDocuments()).toBe(total);
    expect(await users.find({}).toArray()).toHaveLength(total);
    expect(await users.aggregate([{ $count: "n" }]).toArray()).toEqual([{ n: total }]);
    expect((await users.listIndexes().toArray()).map((i) => i.name)).toContain("_id_");
    expect((await ro.listCollections().toArray()).map((c) => c.name)).toContain("users");
    expect(await ro.command({ ping: 1 })).toMatchObject({ ok: 1 });
  });
});

const WRITING_MIGRATION = (catchIt: boolean) => `import type { MigrationContext } from "../scripts/migrate/types.ts";
export const description = "writes without checking ctx.dryRun";
export async function up(ctx: MigrationContext) {
  const write = () => ctx.db.collection("users").updateMany({}, { $set: { touched: true } });
  ${catchIt ? "try { await write(); } catch { /* swallowed: the run must fail anyway */ }" : "await write();"}
  return { touched: "all" };
}
export async function down(_ctx: MigrationContext) {}
`;

describe("up --dry-run with a migration that writes", () => {
  for (const catchIt of [false, true]) {
    it(`fails the run (exit 1) and changes nothing${catchIt ? ", even when the migration catches the error" : ""}`, async () => {
      const copy = await copyOfMigrations();
      try {
        await writeFile(join(copy.dir, "003_writes_anyway.ts"), WRITING_MIGRATION(catchIt));
        const { db, target } = await fixtureDb(h, "drywrite");
        const before = await wholeDatabase(db);
        const res = await runCli(["up", "--to", "003", "--dry-run", "--json"], { ...target, env: { MIGRATIONS_DIR: copy.dir } });
        expect(res.code, res.stderr).toBe(1);
        expect(res.report.outcome).toBe("failed");
        expect(res.report.error).toMatchObject({ type: "dry_run_write" });
        expect(res.report.migrations.map((m) => [m.id, m.action])).toEqual([
          ["001_baseline_indexes", "would_apply"],
          ["002_link_users_customers", "would_apply"],
          ["003_writes_anyway", "failed"],
        ]);
        expect(res.report.message).toMatch(/^dry run: write attempted \(.*users\.updateMany\(\)/);
        if (catchIt) expect(res.report.message).toContain("caught by the migration");
        expect(await wholeDatabase(db)).toEqual(before);
      } finally {
        await copy.cleanup();
      }
    });
  }
});
