import { MongoClient } from "mongodb";
import { loadMigrations } from "../../scripts/migrate/loader.ts";
import { runMigrations } from "../../scripts/migrate/runner.ts";
import type { MigrationContext } from "../../scripts/migrate/types.ts";
import { loadLegacyFixture } from "./legacy-fixture.ts";

/** Stays pending: it refuses while the fixture's duplicate links remain, which is what it is meant to do. */
const REFUSES_ON_FIXTURE = "003_unique_links";

/**
 * A fresh database holding the legacy fixture, migrated as production would be: every
 * migration except 003. The runner applies them in order and would stop at 003, so the runner
 * applies 001–002 and each later one runs its own `up` (nothing depends on 003's indexes).
 */
export async function prepareTestDatabase(uri: string, dbName: string): Promise<void> {
  const client = await new MongoClient(uri).connect();
  try {
    const db = client.db(dbName);
    await db.dropDatabase();
    await loadLegacyFixture(db);
    const report = await runMigrations({ uri, dbName, command: "up", to: "002_link_users_customers", log: null });
    if (report.outcome !== "ok") throw new Error(`migrating the test database failed: ${report.message}`);
    const quiet = { info: () => {}, warn: () => {}, error: () => {} };
    for (const { id, migration } of await loadMigrations()) {
      if (id <= REFUSES_ON_FIXTURE) continue;
      const ctx: MigrationContext = {
        db,
        client,
        log: quiet,
        progress: () => ({ tick: () => {}, done: () => {} }),
        dryRun: false,
        migrationId: id,
        options: { unsetAllLinks: false },
        appliedSummary: undefined,
        commandCount: () => 0,
        checkpoint: async () => {},
      };
      await migration.up(ctx);
    }
  } finally {
    await client.close();
  }
}
