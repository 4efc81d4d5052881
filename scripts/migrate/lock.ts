import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Collection, Db } from "mongodb";
import { isDuplicateKey } from "../../src/db/errors.ts";
import { RefusedError } from "./types.ts";

export const LOCK_COLLECTION = "migrations_lock";
const LOCK_ID = "migrations";
export const DEFAULT_LEASE_MS = 60_000;

export interface LockDoc {
  _id: string;
  owner: string;
  command: string;
  acquired_at: Date;
  renewed_at: Date;
  expires_at: Date;
}

export function newOwnerId(): string {
  return `${hostname()}:pid-${process.pid}:${randomBytes(3).toString("hex")}`;
}

/**
 * One runner at a time: a single document inserted with a fixed _id (so the insert itself
 * is the atomic test-and-set), holding a lease that the holder renews while it runs. A
 * runner that dies stops renewing, and the next one may take the lock once the lease ends.
 */
export class LeaseLock {
  readonly owner: string;
  readonly leaseMs: number;
  private readonly coll: Collection<LockDoc>;
  private timer: NodeJS.Timeout | null = null;
  private lost: Error | null = null;
  /** End of the lease as last confirmed by the database. */
  private validUntil = 0;
  private renewing: Promise<void> = Promise.resolve();
  tookOverFrom: LockDoc | null = null;

  constructor(db: Db, owner: string, leaseMs: number = DEFAULT_LEASE_MS) {
    this.coll = db.collection<LockDoc>(LOCK_COLLECTION);
    this.owner = owner;
    this.leaseMs = leaseMs;
  }

  /** Takes the lock or throws RefusedError naming the holder. */
  async acquire(command: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const now = new Date();
      const expiresAt = new Date(now.getTime() + this.leaseMs);
      const doc: LockDoc = { _id: LOCK_ID, owner: this.owner, command, acquired_at: now, renewed_at: now, expires_at: expiresAt };
      try {
        await this.coll.insertOne(doc);
        this.validUntil = expiresAt.getTime();
        break;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const previous = await this.coll.findOneAndUpdate(
        { _id: LOCK_ID, expires_at: { $lt: now } },
        { $set: { owner: this.owner, command, acquired_at: now, renewed_at: now, expires_at: expiresAt } },
        { returnDocument: "before" },
      );
      if (previous !== null) {
        this.tookOverFrom = previous;
        this.validUntil = expiresAt.getTime();
        break;
      }
      const holder = await this.coll.findOne({ _id: LOCK_ID });
      if (holder === null && attempt < 3) continue; // released meanwhile: try again
      throw new RefusedError(
        holder
          ? `another migration run holds the lock: ${holder.owner} (${holder.command}, since ${holder.acquired_at.toISOString()}, lease until ${holder.expires_at.toISOString()})`
          : "another migration run holds the lock",
        { lock: holder },
      );
    }
    this.timer = setInterval(
      () => {
        this.renewing = this.renew();
      },
      Math.max(200, Math.floor(this.leaseMs / 3)),
    );
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (this.lost) return;
    const now = new Date();
    try {
      const res = await this.coll.updateOne(
        { _id: LOCK_ID, owner: this.owner },
        { $set: { renewed_at: now, expires_at: new Date(now.getTime() + this.leaseMs) } },
      );
      if (res.matchedCount === 0)
        this.lost = new Error(
          "lost the migrations lock (the lease expired and another runner took it); stopped before writing more",
        );
      else this.validUntil = now.getTime() + this.leaseMs;
    } catch {
      // A failed renewal is not yet a lost lease: assertHeld() checks the confirmed deadline.
    }
  }

  /** Throws when the lease can no longer be trusted. */
  async assertHeld(): Promise<void> {
    await this.renewing;
    // A long synchronous step can outlast the lease between timer ticks: renew now. The lock
    // is only lost if another runner took it meanwhile, or the database cannot confirm ours.
    if (!this.lost && Date.now() >= this.validUntil - this.leaseMs / 3) {
      this.renewing = this.renew();
      await this.renewing;
      if (!this.lost && Date.now() >= this.validUntil) {
        this.lost = new Error("could not renew the migrations lock before its lease ended; stopped before writing more");
      }
    }
    if (this.lost) throw this.lost;
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.renewing;
    await this.coll.deleteOne({ _id: LOCK_ID, owner: this.owner });
  }
}

export async function readLock(db: Db): Promise<LockDoc | null> {
  return db.collection<LockDoc>(LOCK_COLLECTION).findOne({ _id: LOCK_ID });
}
