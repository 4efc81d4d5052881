// The unique-links gate (008) waits for a person, and the runner applies migrations strictly in
// order: it must come after every other migration, and the worker test database is migrated
// up to the migration just before it, whatever is numbered in between.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadMigrations } from "../../../scripts/migrate/loader.ts";
import { lastMigrationBeforeGate, prepareTestDatabase, UNIQUE_LINKS_GATE } from "../../support/test-database.ts";
import { copyOfMigrations, freshDbName, useServer } from "./helpers.ts";

const h = useServer();

const stub = (id: string) =>
  `import type { MigrationContext } from "../scripts/migrate/types.ts";\n` +
  `export const description = "stub ${id}";\n` +
  `export async function up(_ctx: MigrationContext) {}\nexport async function down(_ctx: MigrationContext) {}\n`;

describe("the unique-links gate", () => {
  it("is the last migration, so nothing queues behind the manual conflict resolution", async () => {
    const ids = (await loadMigrations()).map((m) => m.id);
    expect(ids.at(-1)).toBe(UNIQUE_LINKS_GATE);
    expect(ids).not.toContain("003_unique_links");
  });

  it("the test database setup applies every migration before it, including ones added in between", async () => {
    const copy = await copyOfMigrations();
    try {
      const ids = (await loadMigrations(copy.dir)).map((m) => m.id);
      const gate = ids.indexOf(UNIQUE_LINKS_GATE);
      expect(await lastMigrationBeforeGate(copy.dir)).toBe(ids[gate - 1]);
      // A migration added later just below the gate (ids sort as text) is applied too.
      const between = `${String(Number(UNIQUE_LINKS_GATE.slice(0, 3)) - 1).padStart(3, "0")}_zz_between`;
      await writeFile(join(copy.dir, `${between}.ts`), stub(between));
      expect(await lastMigrationBeforeGate(copy.dir)).toBe(between);
    } finally {
      await copy.cleanup();
    }
  });

  it("prepareTestDatabase applies every migration before the gate and leaves the gate pending", async () => {
    const dbName = freshDbName("gate_setup");
    await prepareTestDatabase(h.uri, dbName);
    const ids = (await loadMigrations()).map((m) => m.id);
    const applied = (
      await h.client
        .db(dbName)
        .collection("migrations_changelog")
        .find({}, { sort: { _id: 1 } })
        .toArray()
    ).map((e) => e._id);
    expect(applied).toEqual(ids.slice(0, ids.indexOf(UNIQUE_LINKS_GATE)));
  });
});
