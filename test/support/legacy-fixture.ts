import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EJSON } from "bson";
import type { Db, Document } from "mongodb";

/** The legacy fixture vendored in the repository (a byte-identical copy of the upstream one). */
export const VENDORED_FIXTURE_DIR = join(import.meta.dirname, "..", "fixtures", "legacy");

/** The fixture the tests use: the vendored one, unless LEGACY_FIXTURE_DIR points at another of the same shape. */
export const LEGACY_FIXTURE_DIR = process.env.LEGACY_FIXTURE_DIR || VENDORED_FIXTURE_DIR;

export const LEGACY_COLLECTIONS = ["users", "customers_v2", "subscriptions_v2", "products"] as const;

export function readLegacyCollection(name: (typeof LEGACY_COLLECTIONS)[number]): Document[] {
  return EJSON.parse(readFileSync(join(LEGACY_FIXTURE_DIR, `${name}.json`), "utf8"), { relaxed: true }) as Document[];
}

export function readLegacyJson<T>(file: "credentials.json" | "expected.json"): T {
  return JSON.parse(readFileSync(join(LEGACY_FIXTURE_DIR, file), "utf8")) as T;
}

export async function loadLegacyFixture(db: Db): Promise<void> {
  for (const name of LEGACY_COLLECTIONS) {
    await db.collection(name).insertMany(readLegacyCollection(name));
  }
}
