import type { TestProject } from "vitest/node";
import { startServer } from "../../scripts/devdb/server.ts";
import { TEST_DB_NAME } from "./constants.ts";
import { EJSON } from "bson";
import { LEGACY_COLLECTIONS, readLegacyCollection, readLegacyJson } from "./legacy-fixture.ts";
import { prepareTestDatabase } from "./test-database.ts";

declare module "vitest" {
  export interface ProvidedContext {
    mongodbUri: string;
    dbName: string;
    /** credentials.json of the fixture in use (workerd cannot read LEGACY_FIXTURE_DIR itself). */
    legacyCredentials: unknown[];
    legacyExpected: unknown;
    /** The fixture's collections as canonical EJSON text ({users: [...], customers_v2: [...], …}), for tests on a fresh database. */
    legacyCollectionsEjson: string;
  }
}

/**
 * Starts the embedded database (unless MONGODB_URI points at a real one), loads the legacy
 * fixture and applies the migrations, then hands the URI to the Worker under test.
 */
export default async function setup(project: TestProject) {
  const external = process.env.MONGODB_URI;
  const server = external ? null : await startServer({ port: 0, quiet: true });
  const uri = external ?? server!.uri;
  await prepareTestDatabase(uri, TEST_DB_NAME);
  project.provide("mongodbUri", uri);
  project.provide("dbName", TEST_DB_NAME);
  project.provide("legacyCredentials", readLegacyJson<unknown[]>("credentials.json"));
  project.provide("legacyExpected", readLegacyJson<unknown>("expected.json"));
  project.provide(
    "legacyCollectionsEjson",
    EJSON.stringify(Object.fromEntries(LEGACY_COLLECTIONS.map((name) => [name, readLegacyCollection(name)])), { relaxed: false }),
  );
  return async () => {
    await server?.stop();
  };
}
