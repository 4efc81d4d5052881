import { MongoClient } from "mongodb";
import { INDEXES as AUTH_INDEXES } from "../../migrations/004_auth_collections.ts";
import { runMigrations } from "../../scripts/migrate/runner.ts";
import { loadLegacyFixture } from "./legacy-fixture.ts";

/**
 * A fresh database holding the legacy fixture, migrated as production would be: the baseline
 * indexes and the link back-fill (001, 002), plus 004's indexes. 003 stays pending: it refuses
 * while the fixture's duplicate links remain, which is what it is meant to do.
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
  // The runner cannot reach 004 past the refusing 003; its indexes (new collections only, no
  // legacy data involved) are created directly, as 004 would.
  const indexClient = await new MongoClient(uri).connect();
  try {
    for (const { collection, ...spec } of AUTH_INDEXES) await indexClient.db(dbName).collection(collection).createIndexes([spec]);
  } finally {
    await indexClient.close();
  }
}
