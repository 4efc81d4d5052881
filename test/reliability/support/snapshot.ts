// Before/after pictures of the collections a request could damage: one digest per document,
// so a comparison names how many documents appeared, vanished or changed.
import { BSON } from "mongodb";
import { withDb } from "../../worker/support/db.ts";

export const WATCHED = ["users", "customers_v2", "subscriptions_v2"] as const;

export type Snapshot = Map<string, string>;

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** Every document of the watched collections, `collection/_id` → digest of its canonical EJSON. */
export async function snapshot(): Promise<Snapshot> {
  return withDb(async (db) => {
    const out: Snapshot = new Map();
    for (const name of WATCHED) {
      for (const doc of await db.collection(name).find({}).toArray()) {
        out.set(`${name}/${String(doc._id)}`, await sha256(BSON.EJSON.stringify(doc, { relaxed: false })));
      }
    }
    return out;
  });
}

export interface SnapshotDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

export function compare(before: Snapshot, after: Snapshot): SnapshotDiff {
  const diff: SnapshotDiff = { added: [], removed: [], changed: [] };
  for (const [key, digest] of after) {
    const was = before.get(key);
    if (was === undefined) diff.added.push(key);
    else if (was !== digest) diff.changed.push(key);
  }
  for (const key of before.keys()) if (!after.has(key)) diff.removed.push(key);
  return diff;
}

/** The `_id` keys (as in a Snapshot) of documents that carry one of `ids` as id, user_id, customer_id or customer_v2_id. */
export async function keysOwnedBy(ids: Set<string>): Promise<Set<string>> {
  if (ids.size === 0) return new Set();
  const list = [...ids];
  return withDb(async (db) => {
    const keys = new Set<string>();
    for (const name of WATCHED) {
      const docs = await db
        .collection(name)
        .find({
          $or: [
            { id: { $in: list } },
            { user_id: { $in: list } },
            { customer_id: { $in: list } },
            { customer_v2_id: { $in: list } },
          ],
        })
        .project({ _id: 1 })
        .toArray();
      for (const doc of docs) keys.add(`${name}/${String(doc._id)}`);
    }
    return keys;
  });
}
