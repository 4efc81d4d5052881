// Changelog note (edited in place, issue 10): the back-fill rules in scripts/migrate/link-plan.ts
// now never link staff (any role but customer) by any rule, repair a half link only when no other
// user claims the customer, report user-side dangling pointers one entry per claiming user, and
// exclude every claimed customer from matching. No production database has run this migration
// yet, so it was changed in place rather than superseded; its checksum now covers the modules it
// imports (link-plan.ts included), so a database that applied the earlier version is refused
// with a checksum mismatch instead of silently differing: revert it there with the earlier
// checkout (down --to 002) and apply it again, or recreate that development database.
import type { AnyBulkWriteOperation, Collection, Db, Document } from "mongodb";
import { dropIndexes, ensureIndexes, existingOf, parseLabel, planIndexes, type IndexDef } from "../scripts/migrate/indexes.ts";
import {
  compare,
  compareSkipped,
  countReasons,
  planLinks,
  type CustomerFacts,
  type LinkReason,
  type PlannedLink,
  type SkippedCustomer,
  type UserFacts,
} from "../scripts/migrate/link-plan.ts";
import { RefusedError, type MigrationContext, type MigrationOptionSpec } from "../scripts/migrate/types.ts";

export const description =
  "link users ⇄ customers_v2: back-fill by email pattern, then unique normalized phone; repair half-links; " +
  "report conflicts, dangling links and ambiguous phones untouched; add the four link indexes";

export const options: Record<string, MigrationOptionSpec> = {
  "unset-all-links": {
    type: "boolean",
    commands: ["down"],
    description: "down of 002: unset EVERY link field, not only those 002 wrote (the legacy behaviour; destroys links)",
  },
};

/** Every link UP writes is recorded here first (keyed by migration and customer), so DOWN can undo exactly those. */
export const BACKFILL_COLLECTION = "link_backfill";
const PAGE_SIZE = 1000;
/** Lists longer than this are cut from the summary (the links stay queryable in link_backfill). */
const LIST_LIMIT = 1000;
const ATTENTION: readonly string[] = ["ambiguous_phone", "conflict", "dangling", "concurrent_change"];

export const LINK_INDEXES: IndexDef[] = [
  { collection: "users", name: "customer_v2_id_1", key: { customer_v2_id: 1 } },
  { collection: "users", name: "customer_v2_id_1_role_1", key: { customer_v2_id: 1, role: 1 } },
  { collection: "customers_v2", name: "user_id_1", key: { user_id: 1 } },
  { collection: "customers_v2", name: "user_id_1_status_1", key: { user_id: 1, status: 1 } },
];

/** A planned link as recorded in `link_backfill`, so DOWN can undo exactly what UP wrote. */
export interface BackfillRecord extends PlannedLink {
  _id: string;
  migration_id: string;
  recorded_at: Date;
}

interface ReportedLink {
  customer_id: string;
  user_id: string;
  reason: LinkReason;
}
type Skipped = Omit<SkippedCustomer, "reason"> & { reason: SkippedCustomer["reason"] | "concurrent_change" };

const customers = (db: Db) => db.collection("customers_v2");
const users = (db: Db) => db.collection("users");
const records = (db: Db) => db.collection<BackfillRecord>(BACKFILL_COLLECTION);
const recordId = (migrationId: string, customerId: string) => `${migrationId}:${customerId}`;

async function scan<T extends Document>(coll: Collection, projection: Document): Promise<T[]> {
  return (await coll.find({}, { projection, sort: { _id: 1 }, batchSize: PAGE_SIZE }).toArray()) as unknown as T[];
}

function refuseUnusableIds(kind: string, docs: readonly { id?: unknown }[]): void {
  const seen = new Set<unknown>();
  const bad: string[] = [];
  for (const d of docs) {
    if (typeof d.id !== "string" || seen.has(d.id)) bad.push(String(d.id));
    seen.add(d.id);
  }
  if (bad.length > 0) {
    throw new RefusedError(`${kind} have missing or duplicate ids (${bad.slice(0, 20).join(", ")}); apply 001_baseline_indexes and fix them first`, { [kind]: bad });
  }
}

function capList<T extends { reason: string }>(list: readonly T[]): { list: T[]; truncated: boolean } {
  if (list.length <= LIST_LIMIT) return { list: [...list], truncated: false };
  return { list: list.filter((e) => ATTENTION.includes(e.reason)).slice(0, LIST_LIMIT), truncated: true };
}

function customerWrite(r: Pick<BackfillRecord, "customer_id" | "user_id">): AnyBulkWriteOperation {
  return { updateOne: { filter: { id: r.customer_id, user_id: null }, update: { $set: { user_id: r.user_id } } } };
}
function userWrite(r: Pick<BackfillRecord, "customer_id" | "user_id">): AnyBulkWriteOperation {
  return { updateOne: { filter: { id: r.user_id, customer_v2_id: null }, update: { $set: { customer_v2_id: r.customer_id } } } };
}
/** Puts a side back as it was, only where it still holds the value the back-fill wrote. */
function customerUndo(r: BackfillRecord): AnyBulkWriteOperation {
  const update = r.customer_prior === "null" ? { $set: { user_id: null } } : { $unset: { user_id: "" } };
  return { updateOne: { filter: { id: r.customer_id, user_id: r.user_id }, update } };
}
function userUndo(r: BackfillRecord): AnyBulkWriteOperation {
  const update = r.user_prior === "null" ? { $set: { customer_v2_id: null } } : { $unset: { customer_v2_id: "" } };
  return { updateOne: { filter: { id: r.user_id, customer_v2_id: r.customer_id }, update } };
}

async function bulk(coll: Collection, ops: AnyBulkWriteOperation[]): Promise<number> {
  if (ops.length === 0) return 0;
  const res = await coll.bulkWrite(ops, { ordered: false });
  return res.modifiedCount;
}

export async function up(ctx: MigrationContext) {
  const { db, log } = ctx;
  const commandsAtStart = ctx.commandCount();

  // Pre-flight: one projected read of both collections (the rules need the whole picture:
  // a phone is ambiguous across the collection, not within a page).
  const customerFacts = await scan<CustomerFacts & Document>(customers(db), { _id: 0, id: 1, user_id: 1, phone: 1 });
  const userFacts = await scan<UserFacts & Document>(users(db), { _id: 0, id: 1, role: 1, email: 1, phone: 1, customer_v2_id: 1 });
  refuseUnusableIds("customers_v2", customerFacts);
  refuseUnusableIds("users", userFacts);
  await planIndexes(db, LINK_INDEXES); // refuses now, before any write, if an index is in the way
  const earlier = new Map(
    (await records(db).find({ migration_id: ctx.migrationId }).toArray()).map((r) => [r.customer_id, r]),
  );
  const preflight = {
    customers: customerFacts.length,
    customers_with_user_id: customerFacts.filter((c) => c.user_id != null).length,
    users: userFacts.length,
    customer_role_users: userFacts.filter((u) => u.role === "customer").length,
    users_with_customer_v2_id: userFacts.filter((u) => u.customer_v2_id != null).length,
    links_recorded_by_an_earlier_run: earlier.size,
  };
  log.info(`pre-flight: ${JSON.stringify(preflight)}`);
  if (earlier.size > 0) log.warn(`resuming: ${earlier.size} links were recorded by an earlier, interrupted run; they are completed, not redone`);

  const plan = planLinks(customerFacts, userFacts);

  // Links an earlier (interrupted) run of this migration made keep the reason it recorded,
  // so a resumed run reports what one clean run would have.
  const reportedLinks: ReportedLink[] = [];
  const skipped: Skipped[] = [];
  const toWrite = new Map<string, PendingWrite>();
  const now = new Date();
  for (const link of plan.links) {
    const prior = earlier.get(link.customer_id);
    if (prior !== undefined && prior.user_id === link.user_id) {
      reportedLinks.push({ customer_id: link.customer_id, user_id: link.user_id, reason: prior.reason });
      toWrite.set(link.customer_id, { record: prior, isNew: false, replaces: false, setCustomer: link.set_customer, setUser: link.set_user });
    } else {
      // A record naming another user never took effect (the customer would not be free now).
      reportedLinks.push({ customer_id: link.customer_id, user_id: link.user_id, reason: link.reason });
      toWrite.set(link.customer_id, { record: newRecord(ctx.migrationId, link, now), isNew: true, replaces: prior !== undefined, setCustomer: link.set_customer, setUser: link.set_user });
    }
  }
  let staleRecords = 0;
  for (const entry of plan.skipped) {
    const prior = earlier.get(entry.customer_id);
    if (prior !== undefined && entry.reason === "already_linked" && entry.user_ids?.[0] === prior.user_id) {
      reportedLinks.push({ customer_id: entry.customer_id, user_id: prior.user_id, reason: prior.reason });
    } else {
      if (prior !== undefined) staleRecords++;
      skipped.push(entry);
    }
  }

  // A dry run stops at the plan: what would be written is counted from toWrite below (ctx.db
  // cannot write then; the runner hands a read-only handle).
  const { written, raced } = ctx.dryRun ? { written: { records: 0, customers: 0, users: 0 }, raced: [] } : await writeLinks(ctx, customerFacts, toWrite);

  const racedSet = new Set(raced);
  const links = reportedLinks.filter((l) => !racedSet.has(l.customer_id)).sort((a, b) => compare(a.customer_id, b.customer_id));
  for (const customerId of raced) skipped.push({ customer_id: customerId, reason: "concurrent_change" });
  skipped.sort(compareSkipped);
  const counts: Record<string, number> = countReasons([...links, ...skipped]);

  const indexes = await ensureIndexes(ctx, LINK_INDEXES);
  const stats = await validationStats(ctx, customerFacts, userFacts, plan.links, links, skipped);
  const totalCommands = ctx.commandCount() - commandsAtStart;
  const cappedLinks = capList(links);
  const cappedSkipped = capList(skipped);
  const summary: Record<string, unknown> = {
    preflight,
    counts,
    links: cappedLinks.list,
    skipped: cappedSkipped.list,
    ...((cappedLinks.truncated || cappedSkipped.truncated) && {
      lists_truncated: `more than ${LIST_LIMIT} entries: only entries needing attention are listed; the links are in the ${BACKFILL_COLLECTION} collection`,
    }),
    [ctx.dryRun ? "would_write" : "written"]: ctx.dryRun
      ? { links: [...toWrite.values()].filter((w) => w.setCustomer || w.setUser).length }
      : written,
    indexes: ctx.dryRun ? { would_create: indexes.created, already_present: indexes.present } : { created: indexes.created, already_present: indexes.present },
    stats,
    round_trips: {
      total: totalCommands,
      per_1000_customers: customerFacts.length > 0 ? Math.round((totalCommands / customerFacts.length) * 1000 * 10) / 10 : 0,
    },
  };
  if (staleRecords > 0) {
    summary.stale_records = staleRecords;
    log.warn(`${staleRecords} link records from an earlier run no longer match the data (changed since); DOWN leaves those documents alone`);
  }
  if (raced.length > 0) log.warn(`${raced.length} customers changed while the back-fill ran and were left unlinked: ${raced.slice(0, 20).join(", ")}; run up again later to reconsider them`);
  log.info(`back-fill: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(", ")}; ${totalCommands} round trips`);
  return summary;
}

interface PendingWrite {
  record: BackfillRecord;
  isNew: boolean;
  replaces: boolean;
  setCustomer: boolean;
  setUser: boolean;
}

/** Writes the planned links (never called in a dry run); returns what was written and the customers that raced. */
async function writeLinks(ctx: MigrationContext, customerFacts: readonly CustomerFacts[], toWrite: ReadonlyMap<string, PendingWrite>) {
  const { db } = ctx;
  // Write in pages of customers (in _id order): the record first, then each side, each
  // guarded so that only a still-unlinked document is written.
  const written = { records: 0, customers: 0, users: 0 };
  const raced: string[] = [];
  const progress = ctx.progress("back-fill", customerFacts.length);
  for (let start = 0; start < customerFacts.length; start += PAGE_SIZE) {
    const page = customerFacts.slice(start, start + PAGE_SIZE).flatMap((c) => toWrite.get(c.id) ?? []);
    if (page.length > 0) {
      // Records of this page that no earlier run left (those were read above), so plain inserts.
      const newRecords = page.filter((w) => w.isNew).map((w) => w.record);
      const replaced = page.filter((w) => w.replaces).map((w) => w.record._id);
      await ctx.checkpoint("records");
      if (replaced.length > 0) await records(db).deleteMany({ _id: { $in: replaced } });
      if (newRecords.length > 0) written.records += (await records(db).insertMany(newRecords, { ordered: false })).insertedCount;
      const customerOps = page.filter((w) => w.setCustomer).map((w) => customerWrite(w.record));
      const userOps = page.filter((w) => w.setUser).map((w) => userWrite(w.record));
      await ctx.checkpoint("customers");
      const customersModified = await bulk(customers(db), customerOps);
      await ctx.checkpoint("users");
      const usersModified = await bulk(users(db), userOps);
      written.customers += customersModified;
      written.users += usersModified;
      if (customersModified < customerOps.length || usersModified < userOps.length) {
        raced.push(...(await undoRaces(ctx, page.map((w) => w.record))));
      }
    }
    progress.tick(Math.min(PAGE_SIZE, customerFacts.length - start));
  }
  progress.done();

  return { written, raced };
}

function newRecord(migrationId: string, link: PlannedLink, now: Date): BackfillRecord {
  const record: BackfillRecord = {
    _id: recordId(migrationId, link.customer_id),
    migration_id: migrationId,
    customer_id: link.customer_id,
    user_id: link.user_id,
    reason: link.reason,
    set_customer: link.set_customer,
    set_user: link.set_user,
    recorded_at: now,
  };
  if (link.customer_prior !== undefined) record.customer_prior = link.customer_prior;
  if (link.user_prior !== undefined) record.user_prior = link.user_prior;
  return record;
}

/**
 * A guarded write matched nothing: someone changed one side between the read and the
 * write. Links that did not land on both sides are undone (only the sides we wrote, only
 * where they still hold our value) and their records dropped, so nothing is half-written.
 */
async function undoRaces(ctx: MigrationContext, page: readonly BackfillRecord[]): Promise<string[]> {
  const { db } = ctx;
  const customerDocs = await customers(db).find({ id: { $in: page.map((r) => r.customer_id) } }, { projection: { _id: 0, id: 1, user_id: 1 } }).toArray();
  const userDocs = await users(db).find({ id: { $in: page.map((r) => r.user_id) } }, { projection: { _id: 0, id: 1, customer_v2_id: 1 } }).toArray();
  const customerSide = new Map(customerDocs.map((d) => [d.id as string, d.user_id]));
  const userSide = new Map(userDocs.map((d) => [d.id as string, d.customer_v2_id]));
  const broken = page.filter((r) => customerSide.get(r.customer_id) !== r.user_id || userSide.get(r.user_id) !== r.customer_id);
  if (broken.length === 0) return [];
  await ctx.checkpoint("undo races");
  await bulk(customers(db), broken.filter((r) => r.set_customer).map(customerUndo));
  await bulk(users(db), broken.filter((r) => r.set_user).map(userUndo));
  await records(db).deleteMany({ _id: { $in: broken.map((r) => r._id) } });
  return broken.map((r) => r.customer_id);
}

async function validationStats(
  ctx: MigrationContext,
  customerFacts: readonly CustomerFacts[],
  userFacts: readonly UserFacts[],
  planned: readonly PlannedLink[],
  links: readonly ReportedLink[],
  skipped: readonly Skipped[],
) {
  const linked = links.length + skipped.filter((s) => s.reason === "already_linked").length;
  const unlinkedByReason: Record<string, number> = {};
  const customerIds = new Set(customerFacts.map((c) => c.id));
  for (const s of skipped) {
    if (s.reason !== "already_linked" && customerIds.has(s.customer_id)) unlinkedByReason[s.reason] = (unlinkedByReason[s.reason] ?? 0) + 1;
  }
  const named = new Set(customerFacts.flatMap((c) => (typeof c.user_id === "string" ? [c.user_id] : [])));
  const linkedNow = new Set(planned.map((l) => l.user_id));
  const orphans = userFacts.filter((u) => u.role === "customer" && u.customer_v2_id == null && !named.has(u.id) && !linkedNow.has(u.id)).length;
  // Counted by the database after the writes (in a dry run: as they stand).
  const [customersWithUserId, customerUsers, customerUsersLinked] = await Promise.all([
    customers(ctx.db).countDocuments({ user_id: { $type: "string" } }),
    users(ctx.db).countDocuments({ role: "customer" }),
    users(ctx.db).countDocuments({ role: "customer", customer_v2_id: { $type: "string" } }),
  ]);
  return {
    customers: customerFacts.length,
    customers_linked: linked,
    customers_unlinked: customerFacts.length - linked,
    customers_unlinked_by_reason: unlinkedByReason,
    customers_with_user_id: customersWithUserId,
    customer_role_users: customerUsers,
    customer_role_users_linked: customerUsersLinked,
    customer_role_users_unlinked: customerUsers - customerUsersLinked,
    orphan_customer_role_users: orphans,
  };
}

export async function down(ctx: MigrationContext) {
  const { db, log } = ctx;
  const recordedIndexes = (ctx.appliedSummary?.indexes as { created?: unknown } | undefined)?.created;
  const indexTargets = Array.isArray(recordedIndexes) ? recordedIndexes.map((l) => parseLabel(String(l))) : LINK_INDEXES;

  if (ctx.options["unset-all-links"] === true) {
    const customerFilter = { user_id: { $exists: true } };
    const userFilter = { customer_v2_id: { $exists: true } };
    if (ctx.dryRun) {
      return {
        mode: "unset_all_links",
        would_unset: { customers: await customers(db).countDocuments(customerFilter), users: await users(db).countDocuments(userFilter) },
        would_drop_indexes: await existingOf(db, indexTargets),
      };
    }
    log.warn("--unset-all-links: removing EVERY link field, including links that existed before this migration and links the API made");
    await ctx.checkpoint("unset all");
    const c = await customers(db).updateMany(customerFilter, { $unset: { user_id: "" } });
    const u = await users(db).updateMany(userFilter, { $unset: { customer_v2_id: "" } });
    const deleted = await records(db).deleteMany({ migration_id: ctx.migrationId });
    const dropped = await dropIndexes(db, indexTargets);
    await dropIfEmpty(db);
    return { mode: "unset_all_links", unset: { customers: c.modifiedCount, users: u.modifiedCount }, records_deleted: deleted.deletedCount, indexes_dropped: dropped };
  }

  const total = await records(db).countDocuments({ migration_id: ctx.migrationId });
  const removed = { customers: 0, users: 0 };
  // Sides that no longer hold the value the back-fill wrote (changed since): left alone.
  const changedSince = { customers: 0, users: 0 };
  let recordsDeleted = 0;
  const progress = ctx.progress(ctx.dryRun ? "remove back-filled links (dry run)" : "remove back-filled links", total);
  let after: string | undefined;
  for (;;) {
    const page = await records(db)
      .find({ migration_id: ctx.migrationId, ...(after !== undefined && { _id: { $gt: after } }) }, { sort: { _id: 1 }, limit: PAGE_SIZE })
      .toArray();
    if (page.length === 0) break;
    after = page.at(-1)!._id;
    const customerOps = page.filter((r) => r.set_customer);
    const userOps = page.filter((r) => r.set_user);
    let customersDone: number;
    let usersDone: number;
    if (ctx.dryRun) {
      const still = await stillHeld(db, page);
      customersDone = customerOps.filter((r) => still.customers.has(r.customer_id)).length;
      usersDone = userOps.filter((r) => still.users.has(r.user_id)).length;
    } else {
      await ctx.checkpoint("undo customers");
      customersDone = await bulk(customers(db), customerOps.map(customerUndo));
      await ctx.checkpoint("undo users");
      usersDone = await bulk(users(db), userOps.map(userUndo));
      await ctx.checkpoint("delete records");
      recordsDeleted += (await records(db).deleteMany({ _id: { $in: page.map((r) => r._id) } })).deletedCount;
    }
    removed.customers += customersDone;
    removed.users += usersDone;
    changedSince.customers += customerOps.length - customersDone;
    changedSince.users += userOps.length - usersDone;
    progress.tick(page.length);
  }
  progress.done();
  if (changedSince.customers + changedSince.users > 0) {
    log.warn(`${changedSince.customers} customer and ${changedSince.users} user link fields changed since the back-fill wrote them and were left as they are`);
  }
  if (ctx.dryRun) return { would_remove: removed, changed_since: changedSince, records: total, would_drop_indexes: await existingOf(db, indexTargets) };
  const dropped = await dropIndexes(db, indexTargets);
  await dropIfEmpty(db);
  return { removed, changed_since: changedSince, records_deleted: recordsDeleted, indexes_dropped: dropped };
}

async function stillHeld(db: Db, page: readonly BackfillRecord[]): Promise<{ customers: Set<string>; users: Set<string> }> {
  const c = await customers(db).find({ id: { $in: page.map((r) => r.customer_id) } }, { projection: { _id: 0, id: 1, user_id: 1 } }).toArray();
  const u = await users(db).find({ id: { $in: page.map((r) => r.user_id) } }, { projection: { _id: 0, id: 1, customer_v2_id: 1 } }).toArray();
  const wanted = new Map(page.map((r) => [r.customer_id, r.user_id]));
  return {
    customers: new Set(c.filter((d) => wanted.get(d.id as string) === d.user_id).map((d) => d.id as string)),
    users: new Set(u.filter((d) => typeof d.customer_v2_id === "string" && wanted.get(d.customer_v2_id) === d.id).map((d) => d.id as string)),
  };
}

async function dropIfEmpty(db: Db): Promise<void> {
  if ((await records(db).estimatedDocumentCount()) === 0) await records(db).drop().catch(() => {});
}

