import { startServer } from "@earlybird/devdb";
import { EJSON } from "bson";
import type { TestProject } from "vitest/node";
import { TEST_DB_NAME } from "./constants.ts";
import { LEGACY_COLLECTIONS, readLegacyCollection, readLegacyJson } from "./legacy-fixture.ts";
import { startProxyControl } from "./proxy-control.ts";
import { startSmsReceiver } from "./sms-receiver.ts";
import { prepareTestDatabase } from "./test-database.ts";

declare module "vitest" {
  export interface ProvidedContext {
    mongodbUri: string;
    dbName: string;
    /** credentials.json of the fixture in use (workerd cannot read LEGACY_FIXTURE_DIR itself). */
    legacyCredentials: unknown[];
    legacyExpected: unknown;
    /** The test database through a controllable TCP proxy (test/support/proxy-control.ts). */
    proxiedMongodbUri: string;
    proxyControlUrl: string;
    /** Base URL of the local SMS gateway stand-in (test/support/sms-receiver.ts). */
    smsReceiverUrl: string;
    /** The fixture's collections as canonical EJSON text ({users: [...], customers_v2: [...], …}), for tests on a fresh database. */
    legacyCollectionsEjson: string;
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
  const target = new URL(uri);
  const control = await startProxyControl({ host: target.hostname, port: Number(target.port || 27017) });
  project.provide("proxiedMongodbUri", control.proxy.uri(uri));
  project.provide("proxyControlUrl", control.controlUrl);
  const sms = await startSmsReceiver();
  project.provide("smsReceiverUrl", sms.url);
  project.provide(
    "legacyCollectionsEjson",
    EJSON.stringify(Object.fromEntries(LEGACY_COLLECTIONS.map((name) => [name, readLegacyCollection(name)])), { relaxed: false }),
  );
  return async () => {
    await control.stop();
    await sms.stop();
    await server?.stop();
  };
}
