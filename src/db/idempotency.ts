import type { ClientSession, Collection, Db } from "mongodb";
import { isDuplicateKey } from "./client.ts";
import { COLLECTIONS } from "./collections.ts";

/**
 * One claimed Idempotency-Key. `_id` is a hash of (caller, key), so inserting it claims the
 * key atomically and one caller can never see another's record. `expires_at` carries the
 * TTL index (migration 001); a record already past it is treated as absent.
 */
export interface IdempotencyDoc {
  _id: string;
  user_id: string;
  request_hash: string;
  status: "in_progress" | "complete";
  /** Token of the request currently executing; completion only lands while it still holds the lease. */
  lease_id: string;
  lease_expires_at: Date;
  response_status?: number;
  /** The response as JSON text, with `initial_password` blanked out. */
  response_body?: string;
  /** The initial password, AES-GCM sealed with a key derived from the raw Idempotency-Key. */
  sealed_password?: string;
  created_at: Date;
  expires_at: Date;
}

export interface ClaimRequest {
  id: string;
  userId: string;
  requestHash: string;
  leaseMs: number;
  ttlMs: number;
}

export type ClaimResult = { kind: "claimed"; leaseId: string } | { kind: "existing"; doc: IdempotencyDoc };

function idempotencyCollection(db: Db): Collection<IdempotencyDoc> {
  return db.collection<IdempotencyDoc>(COLLECTIONS.idempotencyKeys);
}

/**
 * Claims the key, or returns the record that holds it. An expired record (the TTL monitor
 * runs about once a minute) and an in-progress record whose lease ran out while executing
 * the same request (its worker died) are taken over in one conditional update.
 */
export async function claimIdempotencyKey(db: Db, req: ClaimRequest): Promise<ClaimResult> {
  const keys = idempotencyCollection(db);
  for (let attempt = 0; attempt < 3; attempt++) {
    const now = new Date();
    const leaseId = crypto.randomUUID();
    const fresh = {
      user_id: req.userId,
      request_hash: req.requestHash,
      status: "in_progress" as const,
      lease_id: leaseId,
      lease_expires_at: new Date(now.getTime() + req.leaseMs),
      created_at: now,
      expires_at: new Date(now.getTime() + req.ttlMs),
    };
    try {
      await keys.insertOne({ _id: req.id, ...fresh });
      return { kind: "claimed", leaseId };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    const taken = await keys.findOneAndUpdate(
      {
        _id: req.id,
        $or: [
          { expires_at: { $lte: now } },
          { status: "in_progress", lease_expires_at: { $lte: now }, request_hash: req.requestHash },
        ],
      },
      { $set: fresh, $unset: { response_status: "", response_body: "", sealed_password: "" } },
      { returnDocument: "after", projection: { _id: 1 } },
    );
    if (taken !== null) return { kind: "claimed", leaseId };
    const existing = await keys.findOne({ _id: req.id });
    if (existing !== null) return { kind: "existing", doc: existing };
    // Released between our insert and read: try again.
  }
  throw new Error("idempotency key could not be claimed");
}

export interface Completion {
  id: string;
  leaseId: string;
  status: number;
  body: string;
  sealedPassword: string | null;
}

/** Marks the key complete inside the caller's transaction; false when the lease was lost. */
export async function completeIdempotencyKey(db: Db, done: Completion, session: ClientSession): Promise<boolean> {
  const set: Partial<IdempotencyDoc> = { status: "complete", response_status: done.status, response_body: done.body };
  if (done.sealedPassword !== null) set.sealed_password = done.sealedPassword;
  const result = await idempotencyCollection(db).updateOne(
    { _id: done.id, lease_id: done.leaseId, status: "in_progress" },
    { $set: set },
    { session },
  );
  return result.matchedCount === 1;
}

/** Frees a key whose request failed, so that a retry runs again. */
export async function releaseIdempotencyKey(db: Db, id: string, leaseId: string): Promise<void> {
  await idempotencyCollection(db).deleteOne({ _id: id, lease_id: leaseId, status: "in_progress" });
}
