import type { TestProject } from "vitest/node";
import { startServer } from "../../scripts/devdb/server.ts";
import { TEST_DB_NAME } from "./constants.ts";
import { readLegacyJson } from "./legacy-fixture.ts";
import { prepareTestDatabase } from "./test-database.ts";

declare module "vitest" {
  export interface ProvidedContext {
    mongodbUri: string;
    dbName: string;
    /** credentials.json of the fixture in use (workerd cannot read LEGACY_FIXTURE_DIR itself). */
    legacyCredentials: unknown[];
    legacyExpected: unknown;
  }
}

/**
 * Starts the embedded database (unless MONGODB_URI points at a real one), loads the legacy
 * fixture and applies the migrations, then hands the URI to the Worker under test.
 */
export default function setup(project: TestProject) {
  return setupDatabase(project, TEST_DB_NAME);
}

/** The same for a project with a database of its own (the reliability suite snapshots whole collections). */
export async function setupDatabase(project: TestProject, dbName: string) {
  const external = process.env.MONGODB_URI;
  const server = external ? null : await startServer({ port: 0, quiet: true });
  const uri = external ?? server!.uri;
  await prepareTestDatabase(uri, dbName);
  project.provide("mongodbUri", uri);
  project.provide("dbName", dbName);
  project.provide("legacyCredentials", readLegacyJson<unknown[]>("credentials.json"));
  project.provide("legacyExpected", readLegacyJson<unknown>("expected.json"));
  return async () => {
    await server?.stop();
  };
}
