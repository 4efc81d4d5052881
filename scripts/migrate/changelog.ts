import type { Db } from "mongodb";
import type { MigrationSummary } from "./types.ts";

export const CHANGELOG_COLLECTION = "migrations_changelog";

export interface ChangelogEntry {
  _id: string;
  id: string;
  description: string;
  checksum: string;
  applied_at: Date;
  duration_ms: number;
  applied_by: string;
  summary: MigrationSummary | null;
}

export async function readChangelog(db: Db): Promise<ChangelogEntry[]> {
  return db
    .collection<ChangelogEntry>(CHANGELOG_COLLECTION)
    .find({}, { sort: { _id: 1 } })
    .toArray();
}

export async function recordApplied(db: Db, entry: Omit<ChangelogEntry, "_id">): Promise<void> {
  await db.collection<ChangelogEntry>(CHANGELOG_COLLECTION).replaceOne({ _id: entry.id }, entry, { upsert: true });
}

export async function removeApplied(db: Db, id: string): Promise<void> {
  await db.collection<ChangelogEntry>(CHANGELOG_COLLECTION).deleteOne({ _id: id });
}
