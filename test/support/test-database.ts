import { MongoClient } from "mongodb";
import { loadMigrations } from "../../scripts/migrate/loader.ts";
import { runMigrations } from "../../scripts/migrate/runner.ts";
import { loadLegacyFixture } from "./legacy-fixture.ts";

/** The migration that refuses while the fixture's duplicate links remain (a person resolves them). */
export const UNIQUE_LINKS_GATE = "008_unique_links";

/**
 * The last migration before the unique-links gate, computed from the migration list, so
 * migrations numbered in between (004–007) are applied without editing this file.
 */
export async function lastMigrationBeforeGate(migrationsDir?: string): Promise<string> {
  const ids = (await loadMigrations(migrationsDir)).map((m) => m.id);
  const gate = ids.indexOf(UNIQUE_LINKS_GATE);
  if (gate === -1) throw new Error(`migration ${UNIQUE_LINKS_GATE} not found (known: ${ids.join(", ")})`);
  if (gate === 0) throw new Error(`no migration comes before ${UNIQUE_LINKS_GATE}`);
  return ids[gate - 1]!;
}

/**
 * A fresh database holding the legacy fixture, migrated as production would be: every
 * migration before the unique-links gate (the baseline indexes, the link back-fill and
 * whatever is numbered between them and the gate). The gate stays pending: it refuses while
 * the fixture's duplicate links remain, which is what it is meant to do.
 */
export async function prepareTestDatabase(uri: string, dbName: string): Promise<void> {
  const client = await new MongoClient(uri).connect();
  try {
    const db = client.db(dbName);
    await db.dropDatabase();
    await loadLegacyFixture(db);
  } finally {
    await client.close();
  }
  const to = await lastMigrationBeforeGate();
  const report = await runMigrations({ uri, dbName, command: "up", to, log: null });
  if (report.outcome !== "ok") throw new Error(`migrating the test database failed: ${report.message}`);
}
