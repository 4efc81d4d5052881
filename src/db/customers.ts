import type { ClientSession, Db } from "mongodb";
import { normalizePhone, phoneRegex } from "../lib/phone.ts";
import {
  customersCollection,
  productsCollection,
  subscriptionsCollection,
  usersCollection,
  type CustomerDoc,
  type ProductDoc,
  type SubscriptionDoc,
  type UserDoc,
} from "./collections.ts";

/** Internal fields never returned by the API. */
const CUSTOMER_PROJECTION = { _id: 0, phone_normalized: 0 } as const;

/**
 * Ids of customers whose phone normalizes to `normalized`: documents written by this system
 * carry `phone_normalized`; legacy ones keep whatever spelling was typed, so they are found
 * by a regex over every spelling and confirmed with normalizePhone().
 */
export async function customerIdsByPhone(db: Db, normalized: string): Promise<string[]> {
  const hits = await customersCollection(db)
    .find(
      { $or: [{ phone_normalized: normalized }, { phone: { $regex: phoneRegex(normalized) } }] },
      { projection: { _id: 0, id: 1, phone: 1, phone_normalized: 1 }, limit: 20 },
    )
    .toArray();
  return hits
    .filter((doc) => doc.phone_normalized === normalized || normalizePhone(doc.phone) === normalized)
    .map((doc) => doc.id);
}

export async function findCustomerById(db: Db, id: string): Promise<CustomerDoc | null> {
  return customersCollection(db).findOne({ id }, { projection: CUSTOMER_PROJECTION });
}

// The writes below run inside the onboarding transaction; they take copies because the
// driver adds `_id` to the object it inserts, and the callback may run again on retry.

export async function insertCustomer(db: Db, doc: CustomerDoc, session: ClientSession): Promise<void> {
  await customersCollection(db).insertOne({ ...doc }, { session });
}

export async function insertSubscription(db: Db, doc: SubscriptionDoc, session: ClientSession): Promise<void> {
  await subscriptionsCollection(db).insertOne({ ...doc }, { session });
}

export type LinkOutcome =
  | { kind: "linked"; user: Pick<UserDoc, "id" | "email" | "role"> }
  | { kind: "missing" }
  | { kind: "not_customer" }
  | { kind: "already_linked" };

/**
 * Links an existing user to the customer `customerId` (whose own `user_id` is written on
 * insert, in the same transaction). The user side is only updated while still unlinked, and
 * a user that another customer already names is refused, so neither a concurrent writer nor
 * a legacy half-link can turn this into a crossed or shared link.
 */
export async function linkExistingUser(
  db: Db,
  userId: string,
  customerId: string,
  session: ClientSession,
): Promise<LinkOutcome> {
  const users = usersCollection(db);
  const user = await users.findOne(
    { id: userId },
    { session, projection: { _id: 0, id: 1, email: 1, role: 1, customer_v2_id: 1 } },
  );
  if (user === null) return { kind: "missing" };
  if (user.role !== "customer") return { kind: "not_customer" };
  if (user.customer_v2_id != null) return { kind: "already_linked" };
  const claimed = await customersCollection(db).findOne(
    { user_id: userId, id: { $ne: customerId } },
    { session, projection: { _id: 0, id: 1 } },
  );
  if (claimed !== null) return { kind: "already_linked" };
  const result = await users.updateOne(
    { id: userId, role: "customer", customer_v2_id: null },
    { $set: { customer_v2_id: customerId, updated_at: new Date() } },
    { session },
  );
  if (result.modifiedCount !== 1) return { kind: "already_linked" };
  return { kind: "linked", user: { id: user.id, email: user.email, role: user.role } };
}

export async function findProducts(
  db: Db,
  ids: string[],
  session: ClientSession,
): Promise<Map<string, Pick<ProductDoc, "id" | "default_price">>> {
  if (ids.length === 0) return new Map();
  const found = await productsCollection(db)
    .find({ id: { $in: ids } }, { session, projection: { _id: 0, id: 1, default_price: 1 } })
    .toArray();
  return new Map(found.map((p) => [p.id, p]));
}
