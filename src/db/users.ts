import type { ClientSession, Db, Document, Filter } from "mongodb";
import { COLLECTIONS, type CustomerDoc, customersCollection, type Role, type UserDoc, usersCollection } from "./collections.ts";

/** The collation of the unique `users.email` index (migration 001): case-insensitive. */
export const EMAIL_COLLATION = { locale: "en", strength: 2 } as const;

/** A user as the API may expose it internally: never `_id`, password fields or token_version. */
export type PublicUser = Omit<UserDoc, "_id" | "password" | "password_hash" | "token_version">;
/** A customers_v2 document without `_id`. */
export type PublicCustomer = Omit<CustomerDoc, "_id">;

/** A user together with the customers_v2 documents whose `id` equals its `customer_v2_id`. */
export type UserWithLinkedCustomers = UserDoc & { linked_customers: CustomerDoc[] };

/**
 * Most users one login may match. Legacy phones are shared by a few users at most; beyond
 * this the request is refused rather than running unbounded bcrypt work.
 */
export const MAX_LOGIN_CANDIDATES = 5;

/** Aggregation stage resolving the user's link; the caller checks it points back (customer.user_id). */
const lookupLinkedCustomers: Document = {
  $lookup: {
    from: COLLECTIONS.customers,
    localField: "customer_v2_id",
    foreignField: "id",
    as: "linked_customers",
  },
};

/**
 * Attaches each user's linked customers with one indexed query on `customers_v2.id`. The query
 * runs even when no user has a link, so the number of round trips of a login does not reveal
 * whether an account exists or is linked.
 */
async function withLinkedCustomers(db: Db, users: UserDoc[]): Promise<UserWithLinkedCustomers[]> {
  const ids = [...new Set(users.map((u) => u.customer_v2_id).filter((id): id is string => typeof id === "string" && id !== ""))];
  const customers = await customersCollection(db)
    .find({ id: { $in: ids } }, { projection: { _id: 0 } })
    .toArray();
  return users.map((u) => ({ ...u, linked_customers: customers.filter((c) => c.id === u.customer_v2_id) }));
}

/**
 * Users whose email equals `email` ignoring case, each with its linked customer. The query uses
 * the collation of the unique `users.email` index so that index serves it. It is a find, not
 * an aggregate with $lookup: an aggregate's collation would also apply to the lookup, which
 * the simple-collation `customers_v2.id` index then could not serve.
 */
export async function findUsersByEmail(db: Db, email: string): Promise<UserWithLinkedCustomers[]> {
  const users = await usersCollection(db)
    .find({ email }, { collation: EMAIL_COLLATION, limit: MAX_LOGIN_CANDIDATES + 1, projection: { _id: 0 } })
    .toArray();
  return withLinkedCustomers(db, users);
}

/**
 * Users whose phone normalizes to `normalized` (already normalized by the caller), each with
 * its linked customer: one equality on the indexed `users.phone_normalized` (written on every
 * write, back-filled by migration 005), so every legacy spelling is found without a scan.
 * A phone shared by several ACTIVE users identifies nobody: the result is then empty, so the
 * caller answers exactly as for an unknown phone (migration 005 lists such phones).
 */
/** The query phone login runs (equality on the indexed `phone_normalized`; exported so tests explain exactly it). */
export function usersByPhoneQuery(normalized: string) {
  return {
    filter: { phone_normalized: normalized },
    options: { limit: MAX_LOGIN_CANDIDATES + 1, projection: { _id: 0 } },
  } as const;
}

export async function findUsersByPhone(db: Db, normalized: string): Promise<UserWithLinkedCustomers[]> {
  const { filter, options } = usersByPhoneQuery(normalized);
  const users = await usersCollection(db).find(filter, options).toArray();
  const shared = users.filter((u) => u.is_active !== false).length > 1;
  // The linked-customer query runs either way: the round trips do not reveal the outcome.
  return withLinkedCustomers(db, shared ? [] : users);
}

/**
 * The user with app id `userId` and its linked customer in ONE round trip (the auth
 * middleware runs this on every protected request). Password fields never leave the server.
 */
export async function findUserWithLinkedCustomer(db: Db, userId: string): Promise<UserWithLinkedCustomers | null> {
  const [doc] = await usersCollection(db)
    .aggregate<UserWithLinkedCustomers>([
      { $match: { id: userId } },
      { $limit: 1 },
      { $project: { _id: 0, password: 0, password_hash: 0 } },
      lookupLinkedCustomers,
      { $project: { "linked_customers._id": 0 } },
    ])
    .toArray();
  return doc ?? null;
}

/** Credentials and revocation state of one user, for verifying a current password. */
export async function findUserCredentials(
  db: Db,
  userId: string,
): Promise<Pick<UserDoc, "id" | "password" | "password_hash" | "token_version" | "is_active"> | null> {
  return usersCollection(db).findOne(
    { id: userId },
    { projection: { _id: 0, id: 1, password: 1, password_hash: 1, token_version: 1, is_active: 1 } },
  );
}

/** The stored credential that was verified: updates are conditional on it being unchanged. */
export interface StoredCredential {
  field: "password_hash" | "password";
  value: string;
}

/**
 * Replaces a verified legacy hash with bcrypt in one conditional update: it applies only if
 * the old value is still stored, so concurrent logins cannot overwrite each other's upgrade
 * with a hash of a different salt, nor resurrect a field another request removed.
 * Returns false when another request already changed the credential.
 */
export async function upgradePasswordHash(
  db: Db,
  userId: string,
  previous: StoredCredential,
  bcryptHash: string,
  now: Date,
): Promise<boolean> {
  const result = await usersCollection(db).updateOne(
    { id: userId, [previous.field]: previous.value },
    {
      $set: { password_hash: bcryptHash, password_hash_upgraded_at: now, updated_at: now },
      $unset: { password: "" },
    },
  );
  return result.modifiedCount === 1;
}

/**
 * Stores a new password: bcrypt hash, legacy field removed, `must_change_password` cleared and
 * `token_version` bumped (revoking every earlier token), conditional on both the verified
 * credential and the token version being unchanged. Returns false if either changed meanwhile.
 */
export async function replacePassword(
  db: Db,
  userId: string,
  previous: StoredCredential,
  tokenVersion: number,
  bcryptHash: string,
  now: Date,
  tx?: ClientSession,
): Promise<boolean> {
  // Legacy documents have no token_version: version 0 matches the missing field too.
  const filter: Filter<UserDoc> = { id: userId, [previous.field]: previous.value };
  if (tokenVersion === 0) filter.$or = [{ token_version: 0 }, { token_version: { $exists: false } }];
  else filter.token_version = tokenVersion;
  const result = await usersCollection(db).updateOne(
    filter,
    {
      $set: { password_hash: bcryptHash, must_change_password: false, updated_at: now },
      $unset: { password: "" },
      $inc: { token_version: 1 },
    },
    tx ? { session: tx } : {},
  );
  return result.modifiedCount === 1;
}

/**
 * Emails compare case-insensitively (legacy documents may hold mixed case): equality under
 * the collation of the unique `users.email` index, which serves the lookup and also settles
 * races (E11000 → email_taken).
 */
export async function emailExists(db: Db, email: string): Promise<boolean> {
  const found = await usersCollection(db).findOne({ email }, { projection: { _id: 0, id: 1 }, collation: EMAIL_COLLATION });
  return found !== null;
}

/** Inside the onboarding transaction; inserts a copy (the driver adds `_id`, and the transaction may run again). */
export async function insertUser(db: Db, doc: UserDoc, session: ClientSession): Promise<void> {
  await usersCollection(db).insertOne({ ...doc }, { session });
}

export async function findUserRoles(db: Db, ids: string[], session: ClientSession): Promise<Map<string, Role>> {
  if (ids.length === 0) return new Map();
  const found = await usersCollection(db)
    .find({ id: { $in: ids } }, { session, projection: { _id: 0, id: 1, role: 1 } })
    .toArray();
  return new Map(found.map((u) => [u.id, u.role]));
}
