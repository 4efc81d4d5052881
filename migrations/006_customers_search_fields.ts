import type { Document } from "mongodb";
import { nameSearchKey, phoneSearchKey } from "../src/lib/search.ts";
import { backfillFields, removeBackfill } from "../scripts/migrate/field-backfill.ts";
import { dropIndexes, ensureIndexes, existingOf, parseLabel, planIndexes, type IndexDef } from "../scripts/migrate/indexes.ts";
import type { MigrationContext } from "../scripts/migrate/types.ts";

export const id = "006_customers_search_fields";
export const description =
  "customers_v2.phone_search (normalized phone, NOT unique: legacy customers share phones) and name_search (lowercased name) on every customer " +
  "(batched, resumable, reversible; invalid phones reported), plus the indexes serving the back-office search and filters";

// The unique partial index on phone_normalized (001) keeps guarding new writes; legacy
// duplicates only ever get phone_search, which is why it is a separate field.
export const CUSTOMER_SEARCH_INDEXES: IndexDef[] = [
  { collection: "customers_v2", name: "phone_search_1_id_1", key: { phone_search: 1, id: 1 } },
  { collection: "customers_v2", name: "name_search_1_id_1", key: { name_search: 1, id: 1 } },
  { collection: "customers_v2", name: "area_1_id_1", key: { area: 1, id: 1 } },
  { collection: "customers_v2", name: "status_1_id_1", key: { status: 1, id: 1 } },
  { collection: "customers_v2", name: "user_id_1_id_1", key: { user_id: 1, id: 1 } },
];
const LIST_LIMIT = 1000;

export async function up(ctx: MigrationContext) {
  await planIndexes(ctx.db, CUSTOMER_SEARCH_INDEXES);
  const invalid: string[] = [];
  let missing = 0;
  const customersByPhone = new Map<string, number>();
  const outcome = await backfillFields(
    ctx,
    {
      collection: "customers_v2",
      fields: ["phone_search", "name_search"],
      reads: ["phone", "name"],
      // An invalid phone is stored as null: the document is then known to be back-filled.
      derive: (doc: Document) => ({ phone_search: phoneSearchKey(doc.phone), name_search: nameSearchKey(doc.name) }),
      observe: (doc: Document) => {
        const phone = phoneSearchKey(doc.phone);
        if (phone !== null) customersByPhone.set(phone, (customersByPhone.get(phone) ?? 0) + 1);
        else if (typeof doc.phone === "string" && doc.phone.trim() !== "") invalid.push(String(doc.id));
        else missing++;
      },
    },
    "customers_v2 search fields",
  );
  const sharedPhones = [...customersByPhone.values()].filter((n) => n > 1).length;
  const indexes = await ensureIndexes(ctx, CUSTOMER_SEARCH_INDEXES);
  if (invalid.length > 0) ctx.log.warn(`${invalid.length} customers have a phone that is not a valid Indian mobile number (phone_search null; found by name only)`);
  return {
    customers: outcome.documents,
    [ctx.dryRun ? "would_backfill" : "backfilled"]: outcome.backfilled,
    written_by_this_run: outcome.written_now,
    already_set: outcome.already_set,
    no_phone: missing,
    invalid_phones: { count: invalid.length, customer_ids: invalid.slice(0, LIST_LIMIT) },
    phones_shared_by_several_customers: sharedPhones,
    stale: { count: outcome.stale.length, customer_ids: outcome.stale.slice(0, LIST_LIMIT) },
    indexes: ctx.dryRun ? { would_create: indexes.created, already_present: indexes.present } : { created: indexes.created, already_present: indexes.present },
  };
}

export async function down(ctx: MigrationContext) {
  const recorded = (ctx.appliedSummary?.indexes as { created?: unknown } | undefined)?.created;
  const targets = Array.isArray(recorded) ? recorded.map((l) => parseLabel(String(l))) : CUSTOMER_SEARCH_INDEXES;
  const removed = await removeBackfill(ctx, "customers_v2", "remove customers_v2 search fields");
  if (ctx.dryRun) return { would_remove: removed.removed, changed_since: removed.changed_since, would_drop_indexes: await existingOf(ctx.db, targets) };
  await ctx.checkpoint("drop indexes");
  return { removed: removed.removed, changed_since: removed.changed_since, indexes_dropped: await dropIndexes(ctx.db, targets) };
}
