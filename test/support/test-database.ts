import { MongoClient } from "mongodb";
import { runMigrations } from "../../scripts/migrate/runner.ts";
import { loadLegacyFixture } from "./legacy-fixture.ts";

/**
 * A fresh database holding the legacy fixture, migrated as production would be: the baseline
 * indexes and the link back-fill (001, 002). 003 stays pending: it refuses while the
 * fixture's duplicate links remain, which is what it is meant to do.
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
  const report = await runMigrations({ uri, dbName, command: "up", to: "002_link_users_customers", log: null });
  if (report.outcome !== "ok") throw new Error(`migrating the test database failed: ${report.message}`);
}
