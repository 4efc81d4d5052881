// Changelog note (renamed, issue 14): this migration was 003_unique_links. It refuses until a person
// resolves the legacy link conflicts, and the runner applies migrations strictly in order, so
// every migration numbered after it would have been blocked behind that manual step. No
// production database has run 002/003 yet, so it was renamed (git mv) to 008, after the
// migrations others are adding (004–007), and otherwise left as it was. A development database
// that applied it as 003 shows "003_unique_links: missing_file" in status and is refused: revert
// it there with the earlier checkout (`npm run migrate -- down --to 003`), or recreate that
// development database.
import { dropIndexes, ensureIndexes, existingOf, findDuplicateKeys, indexLabel, planIndexes, type DuplicateKey, type IndexDef } from "../scripts/migrate/indexes.ts";
import { RefusedError, type MigrationContext } from "../scripts/migrate/types.ts";
import { LINK_INDEXES } from "./002_link_users_customers.ts";

export const description =
  "enforce the one-to-one link: unique users.customer_v2_id and customers_v2.user_id (where set) replace the plain single-field indexes";

const UNIQUE_LINK_INDEXES: IndexDef[] = [
  { collection: "users", name: "customer_v2_id_unique", key: { customer_v2_id: 1 }, unique: true, partialFilterExpression: { customer_v2_id: { $type: "string" } } },
  { collection: "customers_v2", name: "user_id_unique", key: { user_id: 1 }, unique: true, partialFilterExpression: { user_id: { $type: "string" } } },
];
const PLAIN_LINK_INDEXES = LINK_INDEXES.filter((def) => Object.keys(def.key).length === 1);

const HOW_TO_RESOLVE =
  "Run `npm run links -- check` for the full integrity report. For each value held twice decide which link is right (usually " +
  "the one the other side points back to) and clear the others: `npm run links -- unlink --customer <customer id> [--user <user id>]` " +
  "(add --dry-run first), then `npm run links -- link --customer <id> --user <id>` where a link should remain; each change is " +
  "audited in link_audit (docs/runbook-links.md). Then run up again.";

interface Conflict {
  field: string;
  value: unknown;
  /** What the shared document itself points back to (null: nothing). */
  points_back_to: unknown;
  documents: Record<string, unknown>[];
}

async function findConflicts(ctx: MigrationContext): Promise<Conflict[]> {
  const [usersDef, customersDef] = UNIQUE_LINK_INDEXES as [IndexDef, IndexDef];
  const sharedUsers = await findDuplicateKeys(ctx.db, customersDef, ["id", "name", "status", "user_id"]);
  const sharedCustomers = await findDuplicateKeys(ctx.db, usersDef, ["id", "email", "role", "customer_v2_id"]);
  if (sharedUsers.length + sharedCustomers.length === 0) return [];
  const valueOf = (d: DuplicateKey, field: string) => d.value[field] as string;
  const userIds = sharedUsers.map((d) => valueOf(d, "user_id"));
  const customerIds = sharedCustomers.map((d) => valueOf(d, "customer_v2_id"));
  const backFromUsers = new Map(
    (await ctx.db.collection("users").find({ id: { $in: userIds } }, { projection: { _id: 0, id: 1, customer_v2_id: 1 } }).toArray()).map((u) => [u.id, u.customer_v2_id ?? null]),
  );
  const backFromCustomers = new Map(
    (await ctx.db.collection("customers_v2").find({ id: { $in: customerIds } }, { projection: { _id: 0, id: 1, user_id: 1 } }).toArray()).map((c) => [c.id, c.user_id ?? null]),
  );
  const strip = (docs: DuplicateKey["documents"]) => docs.map(({ _id, ...rest }) => ({ _id: String(_id), ...rest }));
  return [
    ...sharedUsers.map((d) => ({ field: "customers_v2.user_id", value: valueOf(d, "user_id"), points_back_to: backFromUsers.get(valueOf(d, "user_id")) ?? null, documents: strip(d.documents) })),
    ...sharedCustomers.map((d) => ({ field: "users.customer_v2_id", value: valueOf(d, "customer_v2_id"), points_back_to: backFromCustomers.get(valueOf(d, "customer_v2_id")) ?? null, documents: strip(d.documents) })),
  ];
}

export async function up(ctx: MigrationContext) {
  const conflicts = await findConflicts(ctx);
  if (conflicts.length > 0) {
    const lines = conflicts.map((c) =>
      c.field === "customers_v2.user_id"
        ? `user ${String(c.value)} is named by customers ${c.documents.map((d) => d.id).join(" and ")} (the user points back to ${c.points_back_to === null ? "none of them" : String(c.points_back_to)})`
        : `customer ${String(c.value)} is claimed by users ${c.documents.map((d) => d.id).join(" and ")} (the customer points back to ${c.points_back_to === null ? "none of them" : String(c.points_back_to)})`,
    );
    throw new RefusedError(`${conflicts.length} duplicate links block the unique link indexes; nothing was changed. ${lines.join("; ")}. ${HOW_TO_RESOLVE}`, {
      conflicts,
      how_to_resolve: HOW_TO_RESOLVE,
    });
  }
  const plan = await planIndexes(ctx.db, UNIQUE_LINK_INDEXES);
  if (ctx.dryRun) {
    return { would_create: plan.missing.flatMap((m) => m.defs.map(indexLabel)), would_drop: await existingOf(ctx.db, PLAIN_LINK_INDEXES) };
  }
  // Same key pattern: the plain index goes first, and comes back if the unique build fails.
  await ctx.checkpoint("replace indexes");
  const dropped = await dropIndexes(ctx.db, PLAIN_LINK_INDEXES);
  try {
    const { created, present } = await ensureIndexes(ctx, UNIQUE_LINK_INDEXES);
    return { created, already_present: present, dropped };
  } catch (err) {
    await ensureIndexes(ctx, PLAIN_LINK_INDEXES.filter((def) => dropped.includes(indexLabel(def))));
    throw err;
  }
}

export async function down(ctx: MigrationContext) {
  if (ctx.dryRun) {
    return { would_drop: await existingOf(ctx.db, UNIQUE_LINK_INDEXES), would_create: PLAIN_LINK_INDEXES.map(indexLabel) };
  }
  await ctx.checkpoint("restore indexes");
  const dropped = await dropIndexes(ctx.db, UNIQUE_LINK_INDEXES);
  const { created } = await ensureIndexes(ctx, PLAIN_LINK_INDEXES);
  return { dropped, created };
}
