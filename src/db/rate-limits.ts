import type { Collection, Db } from "mongodb";
import { COLLECTIONS } from "./collections.ts";
import { isDuplicateKey } from "./errors.ts";

/**
 * One fixed-window counter (`auth_rate_limits`). `key` is `<scope>:<keyed hash>:<window
 * index>` — never a raw email, phone or IP — and unique; the TTL index on `expires_at`
 * removes the counter once its window is over. Every isolate shares it, so limits hold
 * across the whole deployment.
 */
export interface RateLimitDoc {
  key: string;
  count: number;
  window_start: Date;
  expires_at: Date;
}

export interface CounterWindow {
  key: string;
  window_start: Date;
  /** End of the window: the counter is useless after it (TTL). */
  expires_at: Date;
}

function counters(db: Db): Collection<RateLimitDoc> {
  return db.collection<RateLimitDoc>(COLLECTIONS.rateLimits);
}

/** Adds one to the counter (created on first use) and returns the new count, atomically. */
export async function hitCounter(db: Db, window: CounterWindow): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      const doc = await counters(db).findOneAndUpdate(
        { key: window.key },
        { $inc: { count: 1 }, $setOnInsert: { window_start: window.window_start, expires_at: window.expires_at } },
        { upsert: true, returnDocument: "after", projection: { _id: 0, count: 1 } },
      );
      return doc?.count ?? 1;
    } catch (err) {
      // Two first hits raced to insert: the loser increments the winner's document.
      if (!isDuplicateKey(err) || attempt > 0) throw err;
    }
  }
}

export async function readCounter(db: Db, key: string): Promise<number> {
  const doc = await counters(db).findOne({ key }, { projection: { _id: 0, count: 1 } });
  return doc?.count ?? 0;
}

export async function clearCounter(db: Db, key: string): Promise<void> {
  await counters(db).deleteOne({ key });
}

export type GateOutcome = { blocked: null } | { blocked: "ip" | "identifier" };

/**
 * Before a credential is checked: counts the attempt against the client IP's window (when
 * there is an IP) and reads the identifier's failures, in one operation. Blocked when the IP
 * went over `ipLimit` attempts or the identifier reached `maxFailures` failures.
 */
export async function attemptGate(
  db: Db,
  ip: { window: CounterWindow; limit: number } | null,
  identifier: { key: string; maxFailures: number } | null,
): Promise<GateOutcome> {
  if (ip && (await hitCounter(db, ip.window)) > ip.limit) return { blocked: "ip" };
  if (identifier && (await readCounter(db, identifier.key)) >= identifier.maxFailures) return { blocked: "identifier" };
  return { blocked: null };
}
