import type { Collection, Db } from "mongodb";
import { COLLECTIONS, usersCollection } from "./collections.ts";
import { isDuplicateKey } from "./errors.ts";
import { type CounterWindow, hitCounter } from "./rate-limits.ts";
import { revokeAllSessionsIn, type SessionDoc, sessionsCollection } from "./sessions.ts";
import { withTransaction } from "./transaction.ts";
import { findUserWithLinkedCustomer, type UserWithLinkedCustomers } from "./users.ts";

export const OTP_PURPOSES = ["login", "reset"] as const;
export type OtpPurpose = (typeof OTP_PURPOSES)[number];

/**
 * The current one-time code of a phone (`otp_codes`, one document per phone, unique `key`,
 * TTL on `expires_at`). `key` is a keyed hash of the normalized phone and `code_hash` a keyed
 * hash of the code: neither the number nor the code is stored. Phones that match no user (or
 * several) get a document too, with no code, so that cooldown and hourly cap answer alike.
 */
export interface OtpDoc {
  key: string;
  user_id: string | null;
  purpose: OtpPurpose;
  code_hash: string | null;
  requested_at: Date;
  expires_at: Date;
  attempts: number;
  used_at?: Date;
}

function otpCodes(db: Db): Collection<OtpDoc> {
  return db.collection<OtpDoc>(COLLECTIONS.otpCodes);
}

export interface OtpIssue {
  key: string;
  phoneNormalized: string;
  purpose: OtpPurpose;
  codeHash: string;
  now: Date;
  ttlSeconds: number;
  cooldownSeconds: number;
  /** The phone's counter for the current hour. */
  hourWindow: CounterWindow;
  hourlyCap: number;
}

export type OtpIssueOutcome =
  | { outcome: "cooldown"; retry_after_ms: number }
  | { outcome: "capped" }
  | { outcome: "issued"; user_id: string | null };

/** The users an OTP request looks up (equality on the indexed `phone_normalized`; exported so tests explain exactly it). */
export function otpRecipientQuery(phoneNormalized: string) {
  return {
    filter: { phone_normalized: phoneNormalized, is_active: { $ne: false } },
    options: { projection: { _id: 0, id: 1 }, limit: 2 },
  } as const;
}

/**
 * Stores a new code for the phone unless one was requested less than `cooldownSeconds` ago
 * or the phone had `hourlyCap` codes this hour. The code is kept only when exactly one active
 * user has the phone (`users.phone_normalized`, equality on its index); otherwise the
 * document records the request without a code. Returns the user to send the code to.
 */
export async function issueOtp(db: Db, input: OtpIssue): Promise<OtpIssueOutcome> {
  const { key, now } = input;
  const cutoff = new Date(now.getTime() - input.cooldownSeconds * 1000);
  const existing = await otpCodes(db).findOne({ key }, { projection: { _id: 0, requested_at: 1 } });
  if (existing && existing.requested_at > cutoff) {
    return { outcome: "cooldown", retry_after_ms: existing.requested_at.getTime() - cutoff.getTime() };
  }
  if ((await hitCounter(db, input.hourWindow)) > input.hourlyCap) return { outcome: "capped" };
  const { filter, options } = otpRecipientQuery(input.phoneNormalized);
  const users = await usersCollection(db).find(filter, options).toArray();
  const userId = users.length === 1 ? users[0]!.id : null;
  const doc: OtpDoc = {
    key,
    user_id: userId,
    purpose: input.purpose,
    code_hash: userId ? input.codeHash : null,
    requested_at: now,
    expires_at: new Date(now.getTime() + input.ttlSeconds * 1000),
    attempts: 0,
  };
  try {
    // Conditional on the cooldown still being over: of two concurrent requests one inserts or
    // replaces, the other matches nothing, tries to insert and hits the unique key.
    await otpCodes(db).replaceOne({ key, requested_at: { $lte: cutoff } }, doc, { upsert: true });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    return { outcome: "cooldown", retry_after_ms: input.cooldownSeconds * 1000 };
  }
  return { outcome: "issued", user_id: userId };
}

export type OtpCheck = { ok: true; user_id: string } | { ok: false; burned: boolean };

/**
 * Uses up the phone's code if `codeHash` matches, for `purpose`, before expiry and before
 * `maxAttempts` wrong tries (conditional update: a code works once). A wrong code counts one
 * try; the try that reaches `maxAttempts` burns the code.
 */
export async function consumeOtp(
  db: Db,
  key: string,
  codeHash: string,
  purpose: OtpPurpose,
  now: Date,
  maxAttempts: number,
): Promise<OtpCheck> {
  const live = { key, code_hash: { $type: "string" }, expires_at: { $gt: now }, attempts: { $lt: maxAttempts } } as const;
  const used = await otpCodes(db).findOneAndUpdate(
    { ...live, code_hash: codeHash, purpose },
    { $set: { code_hash: null, used_at: now } },
    { projection: { _id: 0, user_id: 1 } },
  );
  if (used?.user_id) return { ok: true, user_id: used.user_id };
  const wrong = await otpCodes(db).findOneAndUpdate(
    live,
    { $inc: { attempts: 1 } },
    { returnDocument: "after", projection: { _id: 0, attempts: 1 } },
  );
  if (!wrong || wrong.attempts < maxAttempts) return { ok: false, burned: false };
  await otpCodes(db).updateOne({ key, attempts: { $gte: maxAttempts } }, { $set: { code_hash: null } });
  return { ok: false, burned: true };
}

/**
 * A password reset by one-time code, in one transaction: the new bcrypt hash, legacy field
 * removed, must_change_password cleared, token_version bumped; every session revoked; the
 * new session inserted. Returns the user, or null when the user is gone or deactivated.
 */
export async function resetPasswordBySms(
  db: Db,
  userId: string,
  bcryptHash: string,
  session: SessionDoc,
  now: Date,
): Promise<UserWithLinkedCustomers | null> {
  const changed = await withTransaction(db, async (tx) => {
    const updated = await usersCollection(db).findOneAndUpdate(
      { id: userId, is_active: { $ne: false } },
      {
        $set: { password_hash: bcryptHash, must_change_password: false, updated_at: now },
        $unset: { password: "" },
        $inc: { token_version: 1 },
      },
      { session: tx, returnDocument: "after", projection: { _id: 0, token_version: 1 } },
    );
    if (!updated) return false;
    await revokeAllSessionsIn(db, userId, now, "password_reset", tx);
    await sessionsCollection(db).insertOne({ ...session, token_version: updated.token_version ?? 0 }, { session: tx });
    return true;
  });
  return changed ? findUserWithLinkedCustomer(db, userId) : null;
}
