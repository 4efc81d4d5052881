import type { Db, Document } from "mongodb";
import { COLLECTIONS, customersCollection, ROLES, type Role, usersCollection } from "./collections.ts";

export interface AdminStats {
  customers: number;
  /** Customers linked both ways (customers_v2.user_id ⇄ users.customer_v2_id). */
  customers_linked: number;
  /** customers_linked / customers (0 when there are no customers), 4 decimals. */
  link_rate: number;
  /** Link pointers not returned by the other side (dangling ones included), on either side. */
  one_way_links: number;
  users_by_role: Record<Role, number> & Record<string, number>;
  /** auth_events of type login_succeeded / login_failed in the 24 h before `now`. */
  logins_24h: number;
  failed_logins_24h: number;
  /** Login-failure counters (auth_rate_limits) whose window holds `now` and has reached LOGIN_MAX_FAILURES. */
  locked_accounts: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

const pointsBack = (self: string, other: string, back: string): Document => ({
  $anyElementTrue: [{ $map: { input: `$${other}`, as: "o", in: { $eq: [`$$o.${back}`, `$${self}`] } } }],
});

/**
 * The seed's success metrics, computed by the database in two aggregations sent together:
 * customers with their users joined (link counts), and users with their customers joined
 * (roles, one-way pointers) plus the auth_events and auth_rate_limits counts as uncorrelated
 * lookups. No document is looped over here.
 */
/** `maxFailures`: LOGIN_MAX_FAILURES; an identifier whose current failure window reached it is locked. */
export async function computeAdminStats(db: Db, now: Date, maxFailures: number): Promise<AdminStats> {
  const since = new Date(now.getTime() - DAY_MS);
  const customerSide = customersCollection(db)
    .aggregate<{ customers: number; linked: number; one_way: number }>([
      { $project: { _id: 0, id: 1, user_id: 1 } },
      { $lookup: { from: COLLECTIONS.users, localField: "user_id", foreignField: "id", as: "u" } },
      { $project: { has: { $eq: [{ $type: "$user_id" }, "string"] }, both: pointsBack("id", "u", "customer_v2_id") } },
      {
        $group: {
          _id: null,
          customers: { $sum: 1 },
          linked: { $sum: { $cond: [{ $and: ["$has", "$both"] }, 1, 0] } },
          one_way: { $sum: { $cond: [{ $and: ["$has", { $not: ["$both"] }] }, 1, 0] } },
        },
      },
    ])
    .toArray();
  const userSide = usersCollection(db)
    .aggregate<{
      roles: { _id: unknown; n: number }[];
      one_way: { n: number }[];
      events: { _id: string; n: number }[];
      locks: { n: number }[];
    }>([
      { $project: { _id: 0, id: 1, role: 1, customer_v2_id: 1 } },
      { $lookup: { from: COLLECTIONS.customers, localField: "customer_v2_id", foreignField: "id", as: "c" } },
      { $project: { role: 1, has: { $eq: [{ $type: "$customer_v2_id" }, "string"] }, both: pointsBack("id", "c", "user_id") } },
      {
        $facet: {
          roles: [{ $group: { _id: "$role", n: { $sum: 1 } } }],
          one_way: [{ $match: { has: true, both: false } }, { $count: "n" }],
        },
      },
      {
        $lookup: {
          from: COLLECTIONS.authEvents,
          pipeline: [
            { $match: { type: { $in: ["login_succeeded", "login_failed"] }, at: { $gt: since, $lte: now } } },
            { $group: { _id: "$type", n: { $sum: 1 } } },
          ],
          as: "events",
        },
      },
      {
        $lookup: {
          from: COLLECTIONS.rateLimits,
          // Login-failure counters (src/services/auth/limits.ts) of windows not yet over.
          pipeline: [
            { $match: { key: /^login-failures:/, count: { $gte: maxFailures }, expires_at: { $gt: now } } },
            { $count: "n" },
          ],
          as: "locks",
        },
      },
    ])
    .toArray();
  const [[c], [u]] = await Promise.all([customerSide, userSide]);
  const customers = c?.customers ?? 0;
  const linked = c?.linked ?? 0;
  const usersByRole = Object.fromEntries(ROLES.map((r) => [r, 0])) as AdminStats["users_by_role"];
  for (const { _id, n } of u?.roles ?? []) usersByRole[typeof _id === "string" ? _id : "unknown"] = n;
  const eventCount = (type: string) => u?.events.find((e) => e._id === type)?.n ?? 0;
  return {
    customers,
    customers_linked: linked,
    link_rate: customers === 0 ? 0 : Math.round((linked / customers) * 10_000) / 10_000,
    one_way_links: (c?.one_way ?? 0) + (u?.one_way[0]?.n ?? 0),
    users_by_role: usersByRole,
    logins_24h: eventCount("login_succeeded"),
    failed_logins_24h: eventCount("login_failed"),
    locked_accounts: u?.locks[0]?.n ?? 0,
  };
}
