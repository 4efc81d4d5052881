import type { ClientSession, Collection, Db } from "mongodb";
import { ApiError } from "../lib/errors.ts";
import { seal } from "../lib/sealing.ts";
import { COLLECTIONS } from "./collections.ts";
import { isDuplicateKey } from "./errors.ts";
import { withTransaction } from "./transaction.ts";

/**
 * One claimed Idempotency-Key. `_id` is a hash of (caller, key), so inserting it claims the
 * key atomically and one caller can never see another's record. `expires_at` carries the
 * TTL index (migration 001); a record already past it is treated as absent. The recorded
 * response is kept only sealed, under a key derived from the raw Idempotency-Key (never
 * stored) and the server secret: reading the database alone reveals nothing of it.
 */
export interface IdempotencyDoc {
  _id: string;
  user_id: string;
  request_hash: string;
  status: "in_progress" | "complete";
  /** Token of the request currently executing; completion only lands while it still holds the lease. */
  lease_id: string;
  lease_expires_at: Date;
  /** The operation's result as JSON, AES-GCM sealed. */
  sealed_response?: string;
  created_at: Date;
  expires_at: Date;
}

export interface ClaimRequest {
  id: string;
  userId: string;
  requestHash: string;
  leaseMs: number;
  ttlMs: number;
  now: Date;
}

export type IdempotencyRecord = Pick<IdempotencyDoc, "request_hash" | "status" | "sealed_response">;
export type ClaimResult = { kind: "claimed"; leaseId: string } | { kind: "existing"; record: IdempotencyRecord };

/** Finishes a claimed key inside the transaction that did the work. */
export interface IdempotencyCompletion {
  id: string;
  leaseId: string;
  /** Base64 AES-256 key that seals the result. */
  sealingKey: string;
}

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
  const now = req.now;
  for (let attempt = 0; attempt < 3; attempt++) {
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
      { $set: fresh, $unset: { sealed_response: "" } },
      { returnDocument: "after", projection: { _id: 1 } },
    );
    if (taken !== null) return { kind: "claimed", leaseId };
    const existing = await keys.findOne(
      { _id: req.id },
      { projection: { _id: 0, request_hash: 1, status: 1, sealed_response: 1 } },
    );
    if (existing !== null) return { kind: "existing", record: existing };
    // Released between our insert and read: try again.
  }
  throw new Error("idempotency key could not be claimed");
}

/** Frees a key whose request failed, so that a retry runs again. */
export async function releaseIdempotencyKey(db: Db, id: string, leaseId: string): Promise<void> {
  await idempotencyCollection(db).deleteOne({ _id: id, lease_id: leaseId, status: "in_progress" });
}

/**
 * Turns a transactional write into a data operation that may also complete an idempotency
 * key: the result is recorded (sealed) in the same transaction, so "done" and "recorded"
 * happen together or not at all. The write itself knows nothing about idempotency.
 */
export function idempotentTransaction<A, R>(write: (db: Db, args: A, session: ClientSession) => Promise<R>) {
  return (db: Db, args: A, completion: IdempotencyCompletion | null = null): Promise<R> =>
    withTransaction(db, async (session) => {
      const result = await write(db, args, session);
      if (completion !== null) {
        const recorded = await idempotencyCollection(db).updateOne(
          { _id: completion.id, lease_id: completion.leaseId, status: "in_progress" },
          { $set: { status: "complete", sealed_response: await seal(JSON.stringify(result), completion.sealingKey) } },
          { session },
        );
        // Our lease ran out and a retry took the key over: abort so that only it creates.
        if (recorded.matchedCount !== 1) throw idempotencyInProgress();
      }
      return result;
    });
}

export function idempotencyInProgress(): ApiError {
  return new ApiError(
    409,
    "idempotency_in_progress",
    "A request with this Idempotency-Key is still being processed; retry shortly.",
  );
}
