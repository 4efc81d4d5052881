import { dropIndexes, ensureIndexes, existingOf, findDuplicateKeys, indexLabel, parseLabel, type DuplicateKey, type IndexDef } from "../scripts/migrate/indexes.ts";
import { RefusedError, type MigrationContext } from "../scripts/migrate/types.ts";

export const id = "001_baseline_indexes";
export const description =
  "baseline indexes: unique ids, unique case-insensitive users.email, customers_v2.phone, subscriptions_v2.customer_id, " +
  "unique customers_v2.phone_normalized (new documents only), idempotency_keys TTL";

const INDEXES: IndexDef[] = [
  { collection: "users", name: "id_unique", key: { id: 1 }, unique: true },
  { collection: "users", name: "email_unique_ci", key: { email: 1 }, unique: true, collation: { locale: "en", strength: 2 } },
  { collection: "customers_v2", name: "id_unique", key: { id: 1 }, unique: true },
  { collection: "customers_v2", name: "phone_1", key: { phone: 1 } },
  // Only this system writes phone_normalized, so legacy documents cannot violate it.
  {
    collection: "customers_v2",
    name: "phone_normalized_unique",
    key: { phone_normalized: 1 },
    unique: true,
    partialFilterExpression: { phone_normalized: { $type: "string" } },
  },
  { collection: "subscriptions_v2", name: "id_unique", key: { id: 1 }, unique: true },
  { collection: "subscriptions_v2", name: "customer_id_1", key: { customer_id: 1 } },
  { collection: "products", name: "id_unique", key: { id: 1 }, unique: true },
  { collection: "idempotency_keys", name: "expires_at_ttl", key: { expires_at: 1 }, expireAfterSeconds: 0 },
];

function describeDuplicate(d: DuplicateKey): string {
  const ids = d.documents.map((doc) => String(doc.id ?? doc._id)).join(", ");
  return `${d.index} ${JSON.stringify(d.value)} held by ${d.count} documents (${ids}${d.count > d.documents.length ? ", …" : ""})`;
}

export async function up(ctx: MigrationContext) {
  const duplicates: DuplicateKey[] = [];
  for (const def of INDEXES.filter((d) => d.unique)) {
    duplicates.push(...(await findDuplicateKeys(ctx.db, def, def.collection === "users" ? ["id", "email"] : ["id"])));
  }
  if (duplicates.length > 0) {
    throw new RefusedError(
      `legacy data violates ${new Set(duplicates.map((d) => d.index)).size} unique index(es); nothing was changed and no data was deleted. ` +
        `A person must resolve each value (merge or fix the documents), then run up again: ${duplicates.map(describeDuplicate).join("; ")}`,
      { duplicates },
    );
  }
  const { created, present } = await ensureIndexes(ctx, INDEXES);
  return ctx.dryRun ? { would_create: created, already_present: present } : { created, already_present: present };
}

export async function down(ctx: MigrationContext) {
  // Only what UP created: an index that was there before 001 stays.
  const recorded = ctx.appliedSummary?.created;
  const targets = Array.isArray(recorded) ? recorded.map((label) => parseLabel(String(label))) : INDEXES;
  if (ctx.dryRun) return { would_drop: await existingOf(ctx.db, targets) };
  await ctx.checkpoint("drop indexes");
  const dropped = await dropIndexes(ctx.db, targets);
  return { dropped, already_gone: targets.map(indexLabel).filter((l) => !dropped.includes(l)) };
}
