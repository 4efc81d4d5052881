// Back-fill of derived fields (users.phone_normalized, customers_v2.phone_search/name_search)
// shared by migrations 005 and 006: batched by _id, bulkWrite, resumable, reversible.
import type { AnyBulkWriteOperation, Db, Document, ObjectId } from "mongodb";
import type { MigrationContext } from "./types.ts";

/** Every value a back-fill writes is recorded here first, so DOWN removes exactly those. */
export const FIELD_BACKFILL_COLLECTION = "field_backfill";
export const PAGE_SIZE = 1000;

export interface FieldBackfillRecord {
  /** `${migration id}:${document _id hex}` */
  _id: string;
  migration_id: string;
  collection: string;
  doc_id: ObjectId;
  values: Record<string, unknown>;
}

export interface BackfillSpec {
  collection: string;
  /** The fields the back-fill derives (only absent ones are written). */
  fields: readonly string[];
  /** Source fields to read besides `fields`. */
  reads: readonly string[];
  /** The derived values of one document; a field mapped to undefined is not written. */
  derive(doc: Document): Record<string, unknown>;
  /** Sees every document once (in _id order), for the report. */
  observe?(doc: Document): void;
}

export interface BackfillOutcome {
  documents: number;
  /** Documents this migration has back-filled, this run and interrupted earlier ones together. */
  backfilled: number;
  /** Of those, written by this run. */
  written_now: number;
  /** Documents that already held every derived field (written by the API, or by an earlier run). */
  already_set: number;
  /** Documents with a stored value that differs from the one derived now (left alone, listed). */
  stale: string[];
}

const records = (db: Db) => db.collection<FieldBackfillRecord>(FIELD_BACKFILL_COLLECTION);
const recordId = (migrationId: string, id: ObjectId) => `${migrationId}:${id.toHexString()}`;

/**
 * Pages through `spec.collection` by _id; for each page, records the values to write (upsert,
 * so a rerun after a kill rewrites the same record), then writes them with one bulkWrite whose
 * updates only fill fields that are still absent. A run killed anywhere resumes: documents
 * already filled are skipped, filled-but-unrecorded cannot happen (records go first).
 */
export async function backfillFields(ctx: MigrationContext, spec: BackfillSpec, label: string): Promise<BackfillOutcome> {
  const { db } = ctx;
  const coll = db.collection(spec.collection);
  const total = await coll.estimatedDocumentCount();
  const projection = Object.fromEntries([...spec.fields, ...spec.reads, "id"].map((f) => [f, 1]));
  const outcome: BackfillOutcome = { documents: 0, backfilled: 0, written_now: 0, already_set: 0, stale: [] };
  const progress = ctx.progress(ctx.dryRun ? `${label} (dry run)` : label, total);
  let after: ObjectId | undefined;
  let wouldWrite = 0;
  for (;;) {
    const page = await coll
      .find(after === undefined ? {} : { _id: { $gt: after } }, { projection, sort: { _id: 1 }, limit: PAGE_SIZE })
      .toArray();
    if (page.length === 0) break;
    after = page.at(-1)!._id as ObjectId;
    const pending: { doc: Document; values: Record<string, unknown> }[] = [];
    for (const doc of page) {
      outcome.documents++;
      spec.observe?.(doc);
      const derived = spec.derive(doc);
      const values: Record<string, unknown> = {};
      for (const field of spec.fields) {
        const value = derived[field];
        if (value === undefined) continue;
        if (doc[field] === undefined) values[field] = value;
        else if (doc[field] !== value) outcome.stale.push(String(doc.id ?? doc._id));
      }
      if (Object.keys(values).length > 0) pending.push({ doc, values });
      else outcome.already_set++;
    }
    if (ctx.dryRun) wouldWrite += pending.length;
    else if (pending.length > 0) {
      await ctx.checkpoint("records");
      await records(db).bulkWrite(
        pending.map(({ doc, values }) => ({
          updateOne: {
            filter: { _id: recordId(ctx.migrationId, doc._id as ObjectId) },
            update: { $set: { migration_id: ctx.migrationId, collection: spec.collection, doc_id: doc._id as ObjectId, values } },
            upsert: true,
          },
        })),
        { ordered: false },
      );
      await ctx.checkpoint("documents");
      const ops: AnyBulkWriteOperation[] = pending.map(({ doc, values }) => ({
        updateOne: {
          filter: { _id: doc._id, ...Object.fromEntries(Object.keys(values).map((f) => [f, { $exists: false }])) },
          update: { $set: values },
        },
      }));
      outcome.written_now += (await coll.bulkWrite(ops, { ordered: false })).modifiedCount;
    }
    progress.tick(page.length);
  }
  progress.done();
  outcome.backfilled = ctx.dryRun ? wouldWrite : await records(db).countDocuments({ migration_id: ctx.migrationId });
  if (ctx.dryRun) outcome.written_now = 0;
  return outcome;
}

/**
 * Removes what `backfillFields` wrote for this migration: each recorded field is unset only
 * where it still holds the recorded value (a value the API or a person wrote since stays).
 */
export async function removeBackfill(
  ctx: MigrationContext,
  collection: string,
  label: string,
): Promise<{ removed: number; changed_since: number; records: number }> {
  const { db } = ctx;
  const filter = { migration_id: ctx.migrationId };
  const total = await records(db).countDocuments(filter);
  const out = { removed: 0, changed_since: 0, records: total };
  const progress = ctx.progress(ctx.dryRun ? `${label} (dry run)` : label, total);
  let after: string | undefined;
  for (;;) {
    const page = await records(db)
      .find(after === undefined ? filter : { ...filter, _id: { $gt: after } }, { sort: { _id: 1 }, limit: PAGE_SIZE })
      .toArray();
    if (page.length === 0) break;
    after = page.at(-1)!._id;
    const undo = (r: FieldBackfillRecord) => ({ _id: r.doc_id, ...r.values });
    if (ctx.dryRun) {
      const still = await db.collection(collection).countDocuments({ $or: page.map(undo) });
      out.removed += still;
      out.changed_since += page.length - still;
    } else {
      await ctx.checkpoint("undo documents");
      const ops: AnyBulkWriteOperation[] = page.map((r) => ({
        updateOne: { filter: undo(r), update: { $unset: Object.fromEntries(Object.keys(r.values).map((f) => [f, ""])) } },
      }));
      const modified = (await db.collection(collection).bulkWrite(ops, { ordered: false })).modifiedCount;
      out.removed += modified;
      out.changed_since += page.length - modified;
      await ctx.checkpoint("delete records");
      await records(db).deleteMany({ _id: { $in: page.map((r) => r._id) } });
    }
    progress.tick(page.length);
  }
  progress.done();
  if (!ctx.dryRun && (await records(db).estimatedDocumentCount()) === 0)
    await records(db)
      .drop()
      .catch(() => {});
  return out;
}
