import type { ClientSession, Collection, Db } from "mongodb";
import { COLLECTIONS, usersCollection } from "./collections.ts";
import { clearCounter } from "./rate-limits.ts";
import { withTransaction } from "./transaction.ts";
import { findUserWithLinkedCustomer, replacePassword, type StoredCredential, type UserWithLinkedCustomers } from "./users.ts";

/**
 * One refresh token (`auth_sessions`). A login starts a family; every refresh rotates the
 * family's live token into a new document of the same family. The token itself is never
 * stored, only its SHA-256 (base64url). `created_at` is the family's login time (copied to
 * every successor), `last_used_at` the time this document was issued (login or refresh).
 */
export interface SessionDoc {
  id: string;
  user_id: string;
  family_id: string;
  token_hash: string;
  created_at: Date;
  last_used_at: Date;
  /** TTL index: the document disappears after this instant. */
  expires_at: Date;
  user_agent: string | null;
  ip: string | null;
  /** The user's token_version when issued: a password change or reset ends older sessions. */
  token_version: number;
  revoked_at?: Date;
  revoked_reason?: SessionRevocationReason;
  /** Set when this token was exchanged for `replaced_by` (the family's next token). */
  rotated_at?: Date;
  replaced_by?: string;
}

export type SessionRevocationReason =
  | "logout"
  | "logout_all"
  | "deleted"
  | "refresh_reused"
  | "password_changed"
  | "password_reset";

/** What requireAuth keeps of the caller's session. */
export interface SessionRef {
  id: string;
  family_id: string;
  /** When the family began (its login). */
  created_at: Date;
}

/** A session as GET /api/auth/sessions lists it (one per live family). */
export interface SessionView {
  id: string;
  created_at: Date;
  last_used_at: Date;
  user_agent: string | null;
  ip: string | null;
}

export function sessionsCollection(db: Db): Collection<SessionDoc> {
  return db.collection<SessionDoc>(COLLECTIONS.authSessions);
}

/** A live (not revoked, not expired) session document at `now`. */
export function isSessionLive(doc: Pick<SessionDoc, "revoked_at" | "expires_at"> | undefined, now: Date): boolean {
  return doc !== undefined && !doc.revoked_at && doc.expires_at.getTime() > now.getTime();
}

export async function insertSession(db: Db, doc: SessionDoc): Promise<void> {
  await sessionsCollection(db).insertOne({ ...doc });
}

/** The fields of the next token of a family, built by the Worker (it owns randomness and the clock). */
export interface NextSession {
  id: string;
  token_hash: string;
  expires_at: Date;
  user_agent: string | null;
  ip: string | null;
}

export type RefreshOutcome =
  | { outcome: "invalid" }
  | { outcome: "reused"; user_id: string; family_id: string; revoked: number }
  | { outcome: "inactive"; user_id: string }
  | { outcome: "rotated"; session: SessionRef; user: UserWithLinkedCustomers; grace: boolean };

const LIVE = { rotated_at: { $exists: false }, revoked_at: { $exists: false } } as const;

/**
 * Exchanges the refresh token whose hash is `tokenHash` for `next`:
 * - unknown, revoked or expired → `invalid`;
 * - rotated more than `graceSeconds` ago → the whole family is revoked, `reused`;
 * - the user is gone or deactivated → `inactive` (nothing rotated);
 * - otherwise the family's live token (this one, or for a retry within the grace period the
 *   one that replaced it) is marked rotated and `next` inserted, in one transaction whose
 *   update is conditional on that token still being live. Concurrent refreshes with one token
 *   therefore never fork the family: the loser sees the rotation and takes the grace path,
 *   which rotates the winner's token in turn, so each family has at most one live token.
 */
export async function refreshSession(
  db: Db,
  tokenHash: string,
  next: NextSession,
  now: Date,
  graceSeconds: number,
): Promise<RefreshOutcome> {
  const sessions = sessionsCollection(db);
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await sessions.findOne({ token_hash: tokenHash }, { projection: { _id: 0 } });
    if (!current || !isSessionLive(current, now)) return { outcome: "invalid" };
    const grace = current.rotated_at !== undefined;
    if (grace && now.getTime() - current.rotated_at!.getTime() > graceSeconds * 1000) {
      const { modifiedCount } = await sessions.updateMany(
        { family_id: current.family_id, revoked_at: { $exists: false } },
        { $set: { revoked_at: now, revoked_reason: "refresh_reused" } },
      );
      return { outcome: "reused", user_id: current.user_id, family_id: current.family_id, revoked: modifiedCount };
    }
    const user = await findUserWithLinkedCustomer(db, current.user_id);
    if (!user) return { outcome: "invalid" };
    if (user.is_active === false) return { outcome: "inactive", user_id: user.id };
    if ((user.token_version ?? 0) !== current.token_version) {
      // The password changed since this session began (by any path): the session is over.
      await revokeIn(db, { family_id: current.family_id }, now, "password_changed");
      return { outcome: "invalid" };
    }
    const target = grace
      ? await sessions.findOne({ family_id: current.family_id, ...LIVE }, { projection: { _id: 0 } })
      : current;
    if (!target || !isSessionLive(target, now)) return { outcome: "invalid" };
    const doc: SessionDoc = {
      ...next,
      user_id: current.user_id,
      family_id: current.family_id,
      created_at: current.created_at,
      last_used_at: now,
      token_version: current.token_version,
    };
    const rotated = await withTransaction(db, async (session) => {
      const { modifiedCount } = await sessions.updateOne(
        { id: target.id, ...LIVE },
        { $set: { rotated_at: now, replaced_by: next.id } },
        { session },
      );
      if (modifiedCount !== 1) return false;
      await sessions.insertOne({ ...doc }, { session });
      return true;
    });
    if (rotated)
      return { outcome: "rotated", session: { id: doc.id, family_id: doc.family_id, created_at: doc.created_at }, user, grace };
    // Another request rotated or revoked the target meanwhile: decide again from fresh state.
  }
  return { outcome: "invalid" };
}

/**
 * Revokes every live token of one family of `userId` (logout; DELETE /sessions/:id).
 * Returns how many were live: 0 means no such live session of this user.
 */
export async function revokeSessionFamily(
  db: Db,
  userId: string,
  familyId: string,
  now: Date,
  reason: SessionRevocationReason,
): Promise<number> {
  const { modifiedCount } = await sessionsCollection(db).updateMany(
    { user_id: userId, family_id: familyId, revoked_at: { $exists: false }, expires_at: { $gt: now } },
    { $set: { revoked_at: now, revoked_reason: reason } },
  );
  return modifiedCount;
}

async function revokeIn(
  db: Db,
  filter: Record<string, unknown>,
  now: Date,
  reason: SessionRevocationReason,
  tx?: ClientSession,
): Promise<number> {
  const { modifiedCount } = await sessionsCollection(db).updateMany(
    { ...filter, revoked_at: { $exists: false } },
    { $set: { revoked_at: now, revoked_reason: reason } },
    tx ? { session: tx } : {},
  );
  return modifiedCount;
}

/** Revokes every session of `userId` (logout-all, resets); inside `tx` when given. */
export async function revokeAllSessionsIn(
  db: Db,
  userId: string,
  now: Date,
  reason: SessionRevocationReason,
  tx?: ClientSession,
): Promise<number> {
  return revokeIn(db, { user_id: userId }, now, reason, tx);
}

/** Revokes every session of `userId` (logout-all). */
export async function revokeUserSessions(db: Db, userId: string, now: Date, reason: SessionRevocationReason): Promise<number> {
  return revokeIn(db, { user_id: userId }, now, reason);
}

/**
 * change-password, in one transaction: the new password (conditional on the verified
 * credential and token version, see replacePassword), every session of the user revoked, and
 * the caller's family continued with `next` (a new token of the same family, at the new
 * token version). Returns false when the credential or version changed meanwhile.
 */
export async function changePasswordKeepingSession(
  db: Db,
  userId: string,
  previous: StoredCredential,
  tokenVersion: number,
  bcryptHash: string,
  now: Date,
  next: SessionDoc,
): Promise<boolean> {
  return withTransaction(db, async (tx) => {
    if (!(await replacePassword(db, userId, previous, tokenVersion, bcryptHash, now, tx))) return false;
    await revokeIn(db, { user_id: userId }, now, "password_changed", tx);
    await sessionsCollection(db).insertOne({ ...next, token_version: tokenVersion + 1 }, { session: tx });
    return true;
  });
}

/** Starts a session (login, one-time code) and clears the identifier's failure counter, if any. */
export async function beginSession(db: Db, doc: SessionDoc, clearFailuresKey: string | null): Promise<void> {
  await insertSession(db, doc);
  if (clearFailuresKey !== null) await clearCounter(db, clearFailuresKey);
}

/** The user's signed-in devices: the live token of each live family, newest first; `id` is the family id. */
export async function listSessions(db: Db, userId: string, now: Date): Promise<(SessionView & { family_id: string })[]> {
  const docs = await sessionsCollection(db)
    .find(
      { user_id: userId, ...LIVE, expires_at: { $gt: now } },
      { projection: { _id: 0 }, sort: { last_used_at: -1 }, limit: 200 },
    )
    .toArray();
  return docs.map((d) => ({
    id: d.family_id,
    family_id: d.family_id,
    created_at: d.created_at,
    last_used_at: d.last_used_at,
    user_agent: d.user_agent,
    ip: d.ip,
  }));
}

/** The user, its linked customers and the session `sid` (if it is this user's), as requireAuth needs them. */
export type UserWithSession = UserWithLinkedCustomers & { session: SessionDoc | null };

/**
 * The user with app id `userId`, its linked customer and the session `sessionId`, in ONE
 * round trip (one aggregate; the auth middleware runs it on every protected request).
 * Password fields never leave the server; the session is returned only if it belongs to the user.
 */
export async function findUserWithSession(db: Db, userId: string, sessionId: string): Promise<UserWithSession | null> {
  const [doc] = await usersCollection(db)
    .aggregate<UserWithLinkedCustomers & { sessions: SessionDoc[] }>([
      { $match: { id: userId } },
      { $limit: 1 },
      { $project: { _id: 0, password: 0, password_hash: 0 } },
      { $addFields: { __sid: sessionId } },
      { $lookup: { from: COLLECTIONS.customers, localField: "customer_v2_id", foreignField: "id", as: "linked_customers" } },
      { $lookup: { from: COLLECTIONS.authSessions, localField: "__sid", foreignField: "id", as: "sessions" } },
      { $project: { __sid: 0, "linked_customers._id": 0, "sessions._id": 0, "sessions.token_hash": 0 } },
    ])
    .toArray();
  if (!doc) return null;
  const { sessions, ...user } = doc;
  const session = sessions.find((s) => s.user_id === userId) ?? null;
  return { ...user, session };
}
