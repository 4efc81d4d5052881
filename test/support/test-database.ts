import { MongoClient } from "mongodb";
import { loadLegacyFixture } from "./legacy-fixture.ts";

/** A fresh database holding the legacy fixture (links as the legacy system left them). */
export async function prepareTestDatabase(uri: string, dbName: string): Promise<void> {
  const client = await new MongoClient(uri).connect();
  try {
    const db = client.db(dbName);
    await db.dropDatabase();
    await loadLegacyFixture(db);
  } finally {
    await client.close();
  }
}
