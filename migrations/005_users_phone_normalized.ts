import type { Document } from "mongodb";
import { normalizePhone } from "../src/lib/phone.ts";
import { backfillFields, removeBackfill } from "../scripts/migrate/field-backfill.ts";
import { dropIndexes, ensureIndexes, existingOf, parseLabel, planIndexes, type IndexDef } from "../scripts/migrate/indexes.ts";
import type { MigrationContext } from "../scripts/migrate/types.ts";

export const id = "005_users_phone_normalized";
export const description =
  "users.phone_normalized: back-fill the 10-digit form of every valid legacy phone (batched, resumable, reversible), index it (not unique); " +
  "report invalid phones and phones shared by several active users (those cannot log in by phone)";

export const USER_PHONE_INDEXES: IndexDef[] = [{ collection: "users", name: "phone_normalized_1", key: { phone_normalized: 1 } }];
const LIST_LIMIT = 1000;

export async function up(ctx: MigrationContext) {
  await planIndexes(ctx.db, USER_PHONE_INDEXES); // refuses before any write if an index is in the way
  const invalid: string[] = [];
  let missing = 0;
  const activeByPhone = new Map<string, string[]>();
  const outcome = await backfillFields(
    ctx,
    {
      collection: "users",
      fields: ["phone_normalized"],
      reads: ["phone", "is_active"],
      derive: (doc: Document) => ({ phone_normalized: normalizePhone(doc.phone) ?? undefined }),
      observe: (doc: Document) => {
        const phone = normalizePhone(doc.phone);
        if (phone === null) {
          if (typeof doc.phone === "string" && doc.phone.trim() !== "") invalid.push(String(doc.id));
          else missing++;
        } else if (doc.is_active !== false) {
          activeByPhone.set(phone, [...(activeByPhone.get(phone) ?? []), String(doc.id)]);
        }
      },
    },
    "users.phone_normalized",
  );
  const shared = [...activeByPhone].filter(([, ids]) => ids.length > 1).map(([phone, user_ids]) => ({ phone_normalized: phone, user_ids }));
  const indexes = await ensureIndexes(ctx, USER_PHONE_INDEXES);
  if (invalid.length > 0) ctx.log.warn(`${invalid.length} users have a phone that is not a valid Indian mobile number (no phone_normalized; they can log in by email only)`);
  if (shared.length > 0) ctx.log.warn(`${shared.length} phones are shared by several active users: phone login is refused for them until a person resolves them`);
  return {
    users: outcome.documents,
    [ctx.dryRun ? "would_backfill" : "backfilled"]: outcome.backfilled,
    written_by_this_run: outcome.written_now,
    already_set: outcome.already_set,
    no_phone: missing,
    invalid_phones: { count: invalid.length, user_ids: invalid.slice(0, LIST_LIMIT) },
    shared_by_active_users: { count: shared.length, phones: shared.slice(0, LIST_LIMIT) },
    stale: { count: outcome.stale.length, user_ids: outcome.stale.slice(0, LIST_LIMIT) },
    indexes: ctx.dryRun ? { would_create: indexes.created, already_present: indexes.present } : { created: indexes.created, already_present: indexes.present },
  };
}

export async function down(ctx: MigrationContext) {
  const recorded = (ctx.appliedSummary?.indexes as { created?: unknown } | undefined)?.created;
  const targets = Array.isArray(recorded) ? recorded.map((l) => parseLabel(String(l))) : USER_PHONE_INDEXES;
  const removed = await removeBackfill(ctx, "users", "remove users.phone_normalized back-fill");
  if (ctx.dryRun) return { would_remove: removed.removed, changed_since: removed.changed_since, would_drop_indexes: await existingOf(ctx.db, targets) };
  await ctx.checkpoint("drop indexes");
  return { removed: removed.removed, changed_since: removed.changed_since, indexes_dropped: await dropIndexes(ctx.db, targets) };
}
