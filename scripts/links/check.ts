// Read-only integrity report of the users ⇄ customers_v2 links over a whole database.
// Every pass is a server-side aggregation streamed through a cursor with small projections;
// only the counts and the first `limit` entries of each kind are kept, so memory stays flat
// however large the collections are.
import type { Db, Document } from "mongodb";

export const DEFAULT_LIST_LIMIT = 50;
const BATCH_SIZE = 1000;

export type Severity = "error" | "warning";

/** Each kind of defect, its severity and what it means. */
export const FINDING_KINDS = {
  one_way_customer: ["error", "customers_v2.user_id names a user whose customer_v2_id is unset or another customer"],
  one_way_user: ["error", "users.customer_v2_id names a customer whose user_id is unset or another user"],
  dangling_customer: ["error", "customers_v2.user_id names no existing user"],
  dangling_user: ["error", "users.customer_v2_id names no existing customer"],
  customer_claimed_by_several_users: ["error", "several users have the same customer_v2_id (blocks migration 008_unique_links)"],
  user_named_by_several_customers: ["error", "several customers have the same user_id (blocks migration 008_unique_links)"],
  staff_with_customer_v2_id: ["error", "a user whose role is not customer carries customer_v2_id"],
  staff_named_by_customer: ["error", "customers_v2.user_id names a user whose role is not customer"],
  inactive_user_linked: [
    "warning",
    "a two-way link whose user is inactive (is_active false): legitimate for stopped customers, listed for review",
  ],
} as const satisfies Record<string, readonly [Severity, string]>;

export type FindingKind = keyof typeof FINDING_KINDS;

export interface Finding {
  severity: Severity;
  description: string;
  /** Exact number of entries of this kind. */
  count: number;
  /** The first `limit` entries, in _id order (duplicate groups: by the shared value). */
  entries: Document[];
  truncated: boolean;
}

export interface CheckReport {
  database: string;
  clean: boolean;
  /** Entries of every error kind (warnings excluded). */
  errors: number;
  warnings: number;
  findings: Record<FindingKind, Finding>;
  /** Documents read: customers with user_id set, users with customer_v2_id set. */
  scanned: { customers_with_user_id: number; users_with_customer_v2_id: number };
}

const isSet = { $nin: [null] };

export async function checkLinks(db: Db, options: { limit?: number } = {}): Promise<CheckReport> {
  const limit = options.limit ?? DEFAULT_LIST_LIMIT;
  const findings = Object.fromEntries(
    Object.entries(FINDING_KINDS).map(([kind, [severity, description]]) => [
      kind,
      { severity, description, count: 0, entries: [], truncated: false },
    ]),
  ) as unknown as Record<FindingKind, Finding>;
  const add = (kind: FindingKind, entry: Document) => {
    const f = findings[kind];
    f.count++;
    if (f.entries.length < limit) f.entries.push(entry);
    else f.truncated = true;
  };
  const stream = (collection: string, pipeline: Document[]) =>
    db.collection(collection).aggregate(pipeline, { allowDiskUse: true, batchSize: BATCH_SIZE });
  const scanned = { customers_with_user_id: 0, users_with_customer_v2_id: 0 };

  // Customer side: each customer naming a user, joined (by the unique users.id index) to that user.
  for await (const c of stream("customers_v2", [
    { $match: { user_id: isSet } },
    { $sort: { _id: 1 } },
    { $project: { _id: 0, id: 1, user_id: 1 } },
    { $lookup: { from: "users", localField: "user_id", foreignField: "id", as: "user" } },
    {
      $project: {
        id: 1,
        user_id: 1,
        user: {
          $map: {
            input: "$user",
            as: "u",
            in: { role: "$$u.role", is_active: "$$u.is_active", customer_v2_id: "$$u.customer_v2_id" },
          },
        },
      },
    },
  ])) {
    scanned.customers_with_user_id++;
    const user = (c.user as Document[])[0];
    if (user === undefined) {
      add("dangling_customer", { customer_id: c.id, user_id: c.user_id });
      continue;
    }
    if (user.role !== "customer")
      add("staff_named_by_customer", { customer_id: c.id, user_id: c.user_id, role: user.role ?? null });
    if (user.customer_v2_id !== c.id)
      add("one_way_customer", { customer_id: c.id, user_id: c.user_id, user_points_to: user.customer_v2_id ?? null });
    else if (user.is_active === false) add("inactive_user_linked", { customer_id: c.id, user_id: c.user_id });
  }

  // User side: each user naming a customer, joined (by the unique customers_v2.id index) to it.
  for await (const u of stream("users", [
    { $match: { customer_v2_id: isSet } },
    { $sort: { _id: 1 } },
    { $project: { _id: 0, id: 1, role: 1, customer_v2_id: 1 } },
    { $lookup: { from: "customers_v2", localField: "customer_v2_id", foreignField: "id", as: "customer" } },
    {
      $project: {
        id: 1,
        role: 1,
        customer_v2_id: 1,
        customer: { $map: { input: "$customer", as: "c", in: { user_id: "$$c.user_id" } } },
      },
    },
  ])) {
    scanned.users_with_customer_v2_id++;
    if (u.role !== "customer")
      add("staff_with_customer_v2_id", { user_id: u.id, role: u.role ?? null, customer_id: u.customer_v2_id });
    const customer = (u.customer as Document[])[0];
    if (customer === undefined) add("dangling_user", { user_id: u.id, customer_id: u.customer_v2_id });
    else if (customer.user_id !== u.id)
      add("one_way_user", { user_id: u.id, customer_id: u.customer_v2_id, customer_points_to: customer.user_id ?? null });
  }

  // Duplicates: grouped by the server, only groups of two or more come back (members capped).
  const duplicates = (collection: string, field: string, member: string) =>
    stream(collection, [
      { $match: { [field]: isSet } },
      { $group: { _id: `$${field}`, count: { $sum: 1 }, ids: { $push: `$${member}` } } },
      { $match: { count: { $gt: 1 } } },
      { $sort: { _id: 1 } },
      { $project: { _id: 1, count: 1, ids: { $slice: ["$ids", limit] } } },
    ]);
  for await (const g of duplicates("users", "customer_v2_id", "id")) {
    add("customer_claimed_by_several_users", { customer_id: g._id, users: g.count, user_ids: [...(g.ids as string[])].sort() });
  }
  for await (const g of duplicates("customers_v2", "user_id", "id")) {
    add("user_named_by_several_customers", { user_id: g._id, customers: g.count, customer_ids: [...(g.ids as string[])].sort() });
  }

  const all = Object.values(findings);
  const errors = all.filter((f) => f.severity === "error").reduce((n, f) => n + f.count, 0);
  const warnings = all.filter((f) => f.severity === "warning").reduce((n, f) => n + f.count, 0);
  return { database: db.databaseName, clean: errors === 0, errors, warnings, findings, scanned };
}

/** The report for people: one line per kind found, with its first entries. */
export function formatCheck(report: CheckReport): string {
  const lines = [
    `link integrity of "${report.database}": ${report.scanned.customers_with_user_id} customers with user_id, ${report.scanned.users_with_customer_v2_id} users with customer_v2_id`,
  ];
  for (const [kind, f] of Object.entries(report.findings)) {
    if (f.count === 0) continue;
    lines.push(`${f.severity === "error" ? "ERROR" : "warning"} ${kind}: ${f.count} — ${f.description}`);
    for (const e of f.entries) lines.push(`    ${JSON.stringify(e)}`);
    if (f.truncated) lines.push(`    … ${f.count - f.entries.length} more (raise --limit)`);
  }
  lines.push(
    report.clean
      ? `clean: no link defects${report.warnings > 0 ? ` (${report.warnings} warnings)` : ""}`
      : `${report.errors} link defects found${report.warnings > 0 ? ` and ${report.warnings} warnings` : ""}; resolve them with npm run links -- unlink/link (see docs/runbook-links.md)`,
  );
  return lines.join("\n");
}
