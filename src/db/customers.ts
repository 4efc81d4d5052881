import type { ClientSession, Db, Filter, Sort, UpdateFilter } from "mongodb";
import { ApiError } from "../lib/errors.ts";
import { normalizePhone } from "../lib/phone.ts";
import { type ListCursor, nameSearchKey, phoneSearchKey, prefixUpperBound } from "../lib/search.ts";
import {
  COLLECTIONS,
  type CustomerDoc,
  customersCollection,
  type ProductDoc,
  productsCollection,
  type SubscriptionDoc,
  subscriptionsCollection,
  type UserDoc,
  usersCollection,
} from "./collections.ts";
import { withTransaction } from "./transaction.ts";
import { findUserRoles } from "./users.ts";

/** Internal fields never returned by the API (search keys, the unique-index phone). */
export const CUSTOMER_PROJECTION = { _id: 0, phone_normalized: 0, phone_search: 0, name_search: 0 } as const;

/**
 * Ids of customers whose phone normalizes to `normalized`: equalities on indexed fields only.
 * `phone_search` is on every customer (written on every write, legacy ones back-filled by
 * migration 006, not unique); `phone_normalized` (unique, new writes) is checked as well so a
 * customer written before 006 ran is still found.
 */
export async function customerIdsByPhone(db: Db, normalized: string): Promise<string[]> {
  const hits = await customersCollection(db)
    .find({ $or: [{ phone_search: normalized }, { phone_normalized: normalized }] }, { projection: { _id: 0, id: 1 }, limit: 20 })
    .toArray();
  return hits.map((doc) => doc.id);
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
export async function linkExistingUser(db: Db, userId: string, customerId: string, session: ClientSession): Promise<LinkOutcome> {
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

// ---------------------------------------------------------------------------------------
// Back office: search, edit, subscriptions.

export interface CustomerSearch {
  /** A phone prefix (digits, already reduced by phonePrefix) … */
  phonePrefix?: string;
  /** … or a name prefix (already reduced by nameSearchKey); at most one of the two. */
  namePrefix?: string;
  area?: string;
  status?: string;
  /** true: `user_id` is set; false: it is null or absent. */
  linked?: boolean;
  limit: number;
  cursor?: ListCursor;
}

export interface CustomerPage {
  items: CustomerDoc[];
  next_cursor: ListCursor | null;
}

/** The query `searchCustomers` runs (exported so tests can `explain` exactly it). */
export interface CustomerSearchQuery {
  filter: Filter<CustomerDoc>;
  sort: Sort;
  /** One more than the page size: whether a next page exists. */
  limit: number;
  /** The prefix-searched field whose order the page follows, null for the plain listing (by `id`). */
  field: "phone_search" | "name_search" | null;
}

export function customerSearchQuery(search: CustomerSearch): CustomerSearchQuery {
  const and: Filter<CustomerDoc>[] = [];
  let field: "phone_search" | "name_search" | null = null;
  let prefix = "";
  if (search.phonePrefix !== undefined) [field, prefix] = ["phone_search", search.phonePrefix];
  else if (search.namePrefix !== undefined) [field, prefix] = ["name_search", search.namePrefix];
  const after = search.cursor;
  if (field !== null) {
    // A later page starts at the cursor's key: one range, so the index scan starts there too
    // (the $or below, which indexes do not serve, only settles ties on that key by id).
    const from = after?.k !== undefined && after.k > prefix ? after.k : prefix;
    and.push({ [field]: { $gte: from, $lt: prefixUpperBound(prefix) } });
  }
  if (search.area !== undefined) and.push({ area: search.area });
  if (search.status !== undefined) and.push({ status: search.status as CustomerDoc["status"] });
  if (search.linked === true) and.push({ user_id: { $type: "string" } });
  if (search.linked === false) and.push({ user_id: null });
  if (after !== undefined) {
    if (field !== null && after.k !== undefined) {
      and.push({ $or: [{ [field]: { $gt: after.k } }, { [field]: after.k, id: { $gt: after.i } }] });
    } else {
      and.push({ id: { $gt: after.i } });
    }
  }
  const sort: Sort = field === null ? { id: 1 } : { [field]: 1, id: 1 };
  return { filter: and.length > 0 ? { $and: and } : {}, sort, limit: search.limit + 1, field };
}

/**
 * One page of customers. Order and cursor depend on the search: by (`phone_search`, `id`)
 * for a phone prefix, (`name_search`, `id`) for a name prefix, `id` otherwise. Each order is
 * that of an index created by migration 006, which also serves the prefix as a range; the
 * cursor resumes strictly after the last key returned, so documents inserted between pages
 * never make an existing customer appear twice or be skipped.
 */
export async function searchCustomers(db: Db, search: CustomerSearch): Promise<CustomerPage> {
  const { filter, sort, limit, field } = customerSearchQuery(search);
  const docs = await customersCollection(db)
    .find(filter, { sort, limit, projection: { _id: 0 } })
    .toArray();
  const items = docs.slice(0, search.limit);
  const last = items.at(-1);
  let next: ListCursor | null = null;
  if (docs.length > search.limit && last !== undefined) {
    next = field === null ? { i: last.id } : { k: String(last[field] ?? ""), i: last.id };
  }
  return { items: items.map(stripInternal), next_cursor: next };
}

function stripInternal(doc: CustomerDoc): CustomerDoc {
  const { _id, phone_normalized, phone_search, name_search, ...rest } = doc;
  return rest;
}

/** Fields PATCH may set; `null` removes an optional one. Validated by the route's schema. */
export interface CustomerPatch {
  name?: string;
  phone?: string;
  status?: CustomerDoc["status"];
  address?: string | null;
  area?: string | null;
  map_link?: string | null;
  location?: CustomerDoc["location"] | null;
  trial_start_date?: string | null;
  notes?: string | null;
  house_image_url?: string | null;
  delivery_boy_id?: string | null;
}

export interface CustomerUpdate {
  customer: CustomerDoc;
  /** The linked user whose phone followed the customer's, if any. */
  moved_user_phone: string | null;
}

/**
 * Applies `patch` to the customer `id` in one transaction. A new phone must not belong to
 * another customer (409 `phone_taken`; the unique `phone_normalized` index settles races);
 * when the customer is linked both ways and its user had the old phone, the user's `phone`
 * and `phone_normalized` move with it. Search keys follow name and phone.
 */
export async function updateCustomer(db: Db, id: string, patch: CustomerPatch, now: Date): Promise<CustomerUpdate> {
  return withTransaction(db, async (session) => {
    const customers = customersCollection(db);
    const current = await customers.findOne({ id }, { session, projection: { _id: 0 } });
    if (current === null) throw new ApiError(404, "not_found", "No customer with this id.");
    const set: Record<string, unknown> = { updated_at: now };
    const unset: Record<string, ""> = {};
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined || key === "phone") continue;
      if (value === null) unset[key] = "";
      else set[key] = value;
    }
    if (patch.name !== undefined) set.name_search = nameSearchKey(patch.name);
    if (typeof patch.delivery_boy_id === "string") {
      const roles = await findUserRoles(db, [patch.delivery_boy_id], session);
      if (roles.get(patch.delivery_boy_id) !== "delivery_boy") {
        throw new ApiError(422, "unknown_delivery_boy", "delivery_boy_id does not name a delivery_boy user.");
      }
    }

    let movedUser: string | null = null;
    const oldPhone = phoneSearchKey(current.phone);
    if (patch.phone !== undefined && patch.phone !== current.phone) {
      const taken = await customers.findOne(
        { $or: [{ phone_search: patch.phone }, { phone_normalized: patch.phone }], id: { $ne: id } },
        { session, projection: { _id: 0, id: 1 } },
      );
      if (taken !== null) throw new ApiError(409, "phone_taken", "Another customer has this phone number.");
      Object.assign(set, { phone: patch.phone, phone_normalized: patch.phone, phone_search: patch.phone });
      if (typeof current.user_id === "string" && oldPhone !== null && oldPhone !== patch.phone) {
        const users = usersCollection(db);
        const user = await users.findOne(
          { id: current.user_id, customer_v2_id: id },
          { session, projection: { _id: 0, id: 1, phone: 1 } },
        );
        if (user !== null && normalizePhone(user.phone) === oldPhone) {
          await users.updateOne(
            { id: user.id, customer_v2_id: id },
            { $set: { phone: patch.phone, phone_normalized: patch.phone, updated_at: now } },
            { session },
          );
          movedUser = user.id;
        }
      }
    }
    const update: UpdateFilter<CustomerDoc> = { $set: set };
    if (Object.keys(unset).length > 0) update.$unset = unset;
    const updated = await customers.findOneAndUpdate({ id }, update, {
      session,
      returnDocument: "after",
      projection: CUSTOMER_PROJECTION,
    });
    if (updated === null) throw new ApiError(404, "not_found", "No customer with this id.");
    return { customer: updated, moved_user_phone: movedUser };
  });
}

export interface SubscriptionWithProduct extends Omit<SubscriptionDoc, "_id"> {
  product: { name: string; unit: string } | null;
}

/**
 * The subscriptions of customer `customerId`, each with its product's name and unit, in ONE
 * round trip (customer → subscriptions → products, equality lookups on indexed ids).
 * Null when the customer does not exist.
 */
export async function findCustomerSubscriptions(db: Db, customerId: string): Promise<SubscriptionWithProduct[] | null> {
  const rows = await customersCollection(db)
    .aggregate<{ sub?: SubscriptionDoc; products: ProductDoc[] }>([
      { $match: { id: customerId } },
      { $limit: 1 },
      { $project: { _id: 0, id: 1 } },
      { $lookup: { from: COLLECTIONS.subscriptions, localField: "id", foreignField: "customer_id", as: "sub" } },
      { $unwind: { path: "$sub", preserveNullAndEmptyArrays: true } },
      { $lookup: { from: COLLECTIONS.products, localField: "sub.product_id", foreignField: "id", as: "products" } },
      { $project: { sub: 1, products: { name: 1, unit: 1, id: 1 } } },
    ])
    .toArray();
  if (rows.length === 0) return null;
  const out: SubscriptionWithProduct[] = [];
  for (const row of rows) {
    if (row.sub === undefined) continue;
    const { _id, ...sub } = row.sub;
    const product = row.products.find((p) => p.id === sub.product_id);
    out.push({ ...sub, product: product ? { name: product.name, unit: product.unit } : null });
  }
  return out.sort((a, b) => compareText(String(a.start_date ?? ""), String(b.start_date ?? "")) || compareText(a.id, b.id));
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
