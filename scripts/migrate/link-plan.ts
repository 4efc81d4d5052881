// The user ⇄ customers_v2 back-fill decisions (the rules written in test/fixtures/legacy/README.md,
// "Backfill rules"), as a pure function over a snapshot of both collections. Migration 002
// reads the snapshot, calls planLinks() and writes what it returns.
import { customerLoginEmail } from "../../src/db/collections.ts";
import { normalizePhone } from "../../src/lib/phone.ts";

export const LINK_REASONS = ["email_pattern", "phone", "repair_half_link"] as const;
export const SKIP_REASONS = ["already_linked", "ambiguous_phone", "conflict", "dangling", "no_match"] as const;
export type LinkReason = (typeof LINK_REASONS)[number];
export type SkipReason = (typeof SKIP_REASONS)[number];
export type Reason = LinkReason | SkipReason;

/** How a link field looked before the back-fill wrote it, so DOWN can put it back exactly. */
export type PriorValue = "absent" | "null";

/** The fields of a customers_v2 document the rules read. `user_id` undefined means absent. */
export interface CustomerFacts {
  id: string;
  user_id?: unknown;
  phone?: unknown;
}

/** The fields of a users document the rules read. `customer_v2_id` undefined means absent. */
export interface UserFacts {
  id: string;
  role?: unknown;
  email?: unknown;
  phone?: unknown;
  customer_v2_id?: unknown;
}

export interface PlannedLink {
  customer_id: string;
  user_id: string;
  reason: LinkReason;
  /** Which sides the back-fill writes (a repair fills in only the missing one). */
  set_customer: boolean;
  set_user: boolean;
  customer_prior?: PriorValue;
  user_prior?: PriorValue;
}

export interface SkippedCustomer {
  customer_id: string;
  reason: SkipReason;
  user_ids?: string[];
}

export interface LinkPlan {
  links: PlannedLink[];
  skipped: SkippedCustomer[];
}

const isUnset = (v: unknown): boolean => v === undefined || v === null;
const prior = (v: unknown): PriorValue => (v === undefined ? "absent" : "null");
const asRef = (v: unknown): string => (typeof v === "string" ? v : String(v));

/** The pattern email of a customer, lowercased as eligible users' emails are for matching. */
export function emailPatternFor(customerId: string): string {
  return customerLoginEmail(customerId).toLowerCase();
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/**
 * Decides, for every customer, whether to link it and why, or why not. Customer and user
 * `id`s must be unique (migration 001's indexes guarantee it). The result does not depend
 * on the order of the inputs.
 */
export function planLinks(customers: readonly CustomerFacts[], users: readonly UserFacts[]): LinkPlan {
  const customersById = new Map(customers.map((c) => [c.id, c]));
  const usersById = new Map(users.map((u) => [u.id, u]));
  const links: PlannedLink[] = [];
  const skipped: SkippedCustomer[] = [];
  const decided = new Set<string>();

  // Customers naming each user through customers_v2.user_id, and users naming each customer.
  const namedBy = new Map<string, CustomerFacts[]>();
  for (const c of customers) if (!isUnset(c.user_id)) push(namedBy, asRef(c.user_id), c);
  const pointedBy = new Map<string, UserFacts[]>();
  for (const u of users) if (!isUnset(u.customer_v2_id)) push(pointedBy, asRef(u.customer_v2_id), u);

  const skip = (customerId: string, reason: SkipReason, userIds?: string[]) => {
    skipped.push(
      userIds === undefined ? { customer_id: customerId, reason } : { customer_id: customerId, reason, user_ids: userIds },
    );
    decided.add(customerId);
  };
  const link = (c: CustomerFacts, u: UserFacts, reason: LinkReason, setCustomer: boolean, setUser: boolean) => {
    const planned: PlannedLink = { customer_id: c.id, user_id: u.id, reason, set_customer: setCustomer, set_user: setUser };
    if (setCustomer) planned.customer_prior = prior(c.user_id);
    if (setUser) planned.user_prior = prior(u.customer_v2_id);
    links.push(planned);
    decided.add(c.id);
  };

  // Rule 1: existing customer-side links. A repair needs a customer-role user and a
  // customer no user claims; staff are never linked, whichever side points at them.
  for (const c of customers) {
    if (isUnset(c.user_id)) continue;
    const userId = asRef(c.user_id);
    const user = usersById.get(userId);
    if (user === undefined) skip(c.id, "dangling", [userId]);
    else if ((namedBy.get(userId)?.length ?? 0) > 1) skip(c.id, "conflict", [userId]);
    else if (user.customer_v2_id === c.id) skip(c.id, "already_linked", [userId]);
    else if (isUnset(user.customer_v2_id) && user.role === "customer" && !pointedBy.has(c.id))
      link(c, user, "repair_half_link", false, true);
    else skip(c.id, "conflict", [userId]);
  }

  // Rule 2: existing user-side links whose customer has no user_id (or does not exist).
  const danglingUsers: SkippedCustomer[] = [];
  for (const [customerId, claimants] of pointedBy) {
    const c = customersById.get(customerId);
    if (c === undefined) {
      // One entry per claiming user, under the missing customer id.
      for (const u of claimants) danglingUsers.push({ customer_id: customerId, reason: "dangling", user_ids: [u.id] });
      continue;
    }
    if (!isUnset(c.user_id)) continue; // decided by rule 1
    const claimantIds = claimants.map((u) => u.id).sort(compare);
    const [only] = claimants;
    if (claimants.length !== 1 || only === undefined) skip(c.id, "conflict", claimantIds);
    else if (only.role !== "customer")
      skip(c.id, "conflict", [only.id]); // staff are never linked
    // Beyond the written rules: a claimant that another customer names cannot be repaired
    // without giving that user two customers (008_unique_links would then refuse): a conflict for a person.
    else if (namedBy.has(only.id)) skip(c.id, "conflict", [only.id]);
    else link(c, only, "repair_half_link", true, false);
  }
  skipped.push(...danglingUsers);

  // Rule 3: candidates (no user_id, claimed by nobody) and eligible users (role customer,
  // unclaimed by themselves, named by no customer). Staff never match.
  const candidates = customers.filter((c) => !decided.has(c.id) && isUnset(c.user_id) && !pointedBy.has(c.id));
  const eligible = users.filter((u) => u.role === "customer" && isUnset(u.customer_v2_id) && !namedBy.has(u.id));

  // Rule 4: the customer-{id}@earlybird.local email pattern.
  const eligibleByEmail = new Map<string, UserFacts[]>();
  for (const u of eligible) if (typeof u.email === "string") push(eligibleByEmail, u.email.toLowerCase(), u);
  const matchedUsers = new Set<string>();
  const remaining: CustomerFacts[] = [];
  for (const c of candidates) {
    const byEmail = eligibleByEmail.get(emailPatternFor(c.id));
    const user = byEmail?.length === 1 ? byEmail[0] : undefined;
    if (user !== undefined) {
      link(c, user, "email_pattern", true, true);
      matchedUsers.add(user.id);
    } else {
      remaining.push(c);
    }
  }

  // Rule 5: normalized phone, counted over every remaining candidate and eligible user.
  const usersByPhone = new Map<string, string[]>();
  for (const u of eligible) {
    const phone = matchedUsers.has(u.id) ? null : normalizePhone(u.phone);
    if (phone !== null) push(usersByPhone, phone, u.id);
  }
  const candidatesByPhone = new Map<string, number>();
  const phoneOf = new Map<string, string | null>();
  for (const c of remaining) {
    const phone = normalizePhone(c.phone);
    phoneOf.set(c.id, phone);
    if (phone !== null) candidatesByPhone.set(phone, (candidatesByPhone.get(phone) ?? 0) + 1);
  }
  for (const c of remaining) {
    const phone = phoneOf.get(c.id) ?? null;
    const userIds = phone === null ? [] : (usersByPhone.get(phone) ?? []);
    const sharedBy = phone === null ? 0 : (candidatesByPhone.get(phone) ?? 0);
    const [onlyUser] = userIds;
    if (userIds.length === 1 && sharedBy === 1 && onlyUser !== undefined) {
      link(c, usersById.get(onlyUser)!, "phone", true, true);
    } else if (userIds.length >= 2 || (sharedBy >= 2 && userIds.length >= 1)) {
      skip(c.id, "ambiguous_phone", [...userIds].sort());
    } else {
      skip(c.id, "no_match");
    }
  }

  links.sort((a, b) => compare(a.customer_id, b.customer_id));
  skipped.sort(compareSkipped);
  return { links, skipped };
}

/** The report's order of skipped entries: by customer id, then reason, then the users named. */
export function compareSkipped(
  a: { customer_id: string; reason: string; user_ids?: string[] },
  b: { customer_id: string; reason: string; user_ids?: string[] },
): number {
  return (
    compare(a.customer_id, b.customer_id) ||
    compare(a.reason, b.reason) ||
    compare(a.user_ids?.join(",") ?? "", b.user_ids?.join(",") ?? "")
  );
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Entries per reason, every reason present (zeros included). */
export function countReasons(entries: readonly { reason: string }[]): Record<Reason, number> {
  const counts = Object.fromEntries([...LINK_REASONS, ...SKIP_REASONS].map((r) => [r, 0])) as Record<Reason, number>;
  for (const e of entries) counts[e.reason as Reason] = (counts[e.reason as Reason] ?? 0) + 1;
  return counts;
}
