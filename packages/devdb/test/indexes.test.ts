import { MongoBulkWriteError } from "mongodb";
import { describe, expect, it } from "vitest";
import { type AnyDoc, failure, uniqueName, useServer } from "./helpers.ts";

const h = useServer();
const DB = "idx";
const coll = () => h.client.db(DB).collection<AnyDoc>(uniqueName("c"));

describe("unique indexes and the E11000 error", () => {
  it("reports a duplicate on a single-field unique index exactly like MongoDB", async () => {
    const c = coll();
    expect(await c.createIndex({ email: 1 }, { unique: true })).toBe("email_1");
    await c.insertOne({ email: "a@x.io" });
    const e = await failure(c.insertOne({ email: "a@x.io" }));
    expect(e.code).toBe(11000);
    expect(e.errmsg).toBe(
      `E11000 duplicate key error collection: ${DB}.${c.collectionName} index: email_1 dup key: { email: "a@x.io" }`,
    );
    expect(e.message).toBe(e.errmsg);
    expect(e.keyPattern).toEqual({ email: 1 });
    expect(e.keyValue).toEqual({ email: "a@x.io" });
    expect(await c.countDocuments()).toBe(1);
  });

  it("reports duplicate _id values", async () => {
    const c = coll();
    await c.insertOne({ _id: 7 });
    const e = await failure(c.insertOne({ _id: 7 }));
    expect(e.code).toBe(11000);
    expect(e.errmsg).toBe(`E11000 duplicate key error collection: ${DB}.${c.collectionName} index: _id_ dup key: { _id: 7 }`);
    expect(e.keyPattern).toEqual({ _id: 1 });
    expect(e.keyValue).toEqual({ _id: 7 });
  });

  it("stops an ordered insertMany at the first duplicate", async () => {
    const c = coll();
    await c.createIndex({ k: 1 }, { unique: true });
    const e = await failure(c.insertMany([{ k: 1 }, { k: 2 }, { k: 1 }, { k: 3 }]));
    expect(e).toBeInstanceOf(MongoBulkWriteError);
    const bulk = e as MongoBulkWriteError;
    expect(bulk.code).toBe(11000);
    expect(bulk.insertedCount).toBe(2);
    expect(bulk.writeErrors).toHaveLength(1);
    const [we] = [bulk.writeErrors].flat();
    expect(we?.index).toBe(2);
    expect(we?.code).toBe(11000);
    expect(we?.errmsg).toBe(`E11000 duplicate key error collection: ${DB}.${c.collectionName} index: k_1 dup key: { k: 1 }`);
    expect((await c.find({}, { projection: { _id: 0 } }).toArray()).map((d) => d.k)).toEqual([1, 2]);
  });

  it("goes on after duplicates in an unordered insertMany", async () => {
    const c = coll();
    await c.createIndex({ k: 1 }, { unique: true });
    const e = await failure(c.insertMany([{ k: 1 }, { k: 1 }, { k: 2 }, { k: 2 }, { k: 3 }], { ordered: false }));
    expect(e).toBeInstanceOf(MongoBulkWriteError);
    const bulk = e as MongoBulkWriteError;
    expect(bulk.insertedCount).toBe(3);
    expect([bulk.writeErrors].flat().map((w) => w.index)).toEqual([1, 3]);
    expect((await c.find({}).toArray()).map((d) => d.k)).toEqual([1, 2, 3]);
  });

  it("prints compound keys and treats a missing field like null", async () => {
    const c = coll();
    await c.createIndex({ a: 1, b: -1 }, { unique: true });
    await c.insertOne({ a: 1, b: "x" });
    await c.insertOne({ a: 1, b: "y" });
    const e = await failure(c.insertOne({ a: 1, b: "x" }));
    expect(e.errmsg).toBe(
      `E11000 duplicate key error collection: ${DB}.${c.collectionName} index: a_1_b_-1 dup key: { a: 1, b: "x" }`,
    );
    expect(e.keyPattern).toEqual({ a: 1, b: -1 });
    expect(e.keyValue).toEqual({ a: 1, b: "x" });

    const d = coll();
    await d.createIndex({ email: 1 }, { unique: true });
    await d.insertOne({ name: "no email" });
    const nullDup = await failure(d.insertOne({ email: null }));
    expect(nullDup.errmsg).toBe(
      `E11000 duplicate key error collection: ${DB}.${d.collectionName} index: email_1 dup key: { email: null }`,
    );
    expect(nullDup.keyValue).toEqual({ email: null });
  });

  it("fails updates and upserts that would create a duplicate", async () => {
    const c = coll();
    await c.createIndex({ u: 1 }, { unique: true });
    await c.insertMany([
      { _id: 1, u: "a" },
      { _id: 2, u: "b" },
    ]);
    const e = await failure(c.updateOne({ _id: 2 }, { $set: { u: "a" } }));
    expect(e.code).toBe(11000);
    expect(e.keyValue).toEqual({ u: "a" });
    expect(await c.findOne({ _id: 2 })).toEqual({ _id: 2, u: "b" });
    const up = await failure(c.updateOne({ _id: 3 }, { $set: { u: "b" } }, { upsert: true }));
    expect(up.code).toBe(11000);
    expect(await c.countDocuments()).toBe(2);
  });

  it("indexes array elements (multikey) for uniqueness and equality lookups", async () => {
    const c = coll();
    await c.createIndex({ tags: 1 }, { unique: true });
    await c.insertOne({ _id: 1, tags: ["a", "b"] });
    const e = await failure(c.insertOne({ _id: 2, tags: ["c", "b"] }));
    expect(e.keyValue).toEqual({ tags: "b" });
    expect(await c.findOne({ tags: "a" })).toEqual({ _id: 1, tags: ["a", "b"] });
  });
});

describe("index options", () => {
  it("sparse unique indexes skip documents without the field", async () => {
    const c = coll();
    await c.createIndex({ nick: 1 }, { unique: true, sparse: true });
    await c.insertMany([{ a: 1 }, { a: 2 }, { nick: "z" }]);
    const e = await failure(c.insertOne({ nick: "z" }));
    expect(e.code).toBe(11000);
    // null is a value: sparse indexes still index explicit nulls.
    await c.insertOne({ nick: null });
    expect((await failure(c.insertOne({ nick: null }))).keyValue).toEqual({ nick: null });
  });

  it("partial indexes only constrain documents matching $type / $exists filters", async () => {
    const c = coll();
    await c.createIndex({ email: 1 }, { unique: true, partialFilterExpression: { email: { $type: "string" } } });
    await c.insertMany([{ email: null }, { email: null }, {}, { email: "p@x.io" }]);
    expect((await failure(c.insertOne({ email: "p@x.io" }))).code).toBe(11000);

    const d = coll();
    await d.createIndex({ ref: 1 }, { unique: true, partialFilterExpression: { ref: { $exists: true } } });
    await d.insertMany([{}, {}, { ref: 1 }]);
    expect((await failure(d.insertOne({ ref: 1 }))).code).toBe(11000);
  });

  it("collation strength 2 makes uniqueness case-insensitive", async () => {
    const c = coll();
    await c.createIndex({ email: 1 }, { unique: true, collation: { locale: "en", strength: 2 } });
    await c.insertOne({ email: "Mixed@Case.io" });
    const e = await failure(c.insertOne({ email: "mixed@case.IO" }));
    expect(e.code).toBe(11000);
    expect(e.errmsg).toContain(
      `E11000 duplicate key error collection: ${DB}.${c.collectionName} index: email_1 collation: { locale: "en"`,
    );
    await c.insertOne({ email: "other@case.io" });
    expect(await c.countDocuments()).toBe(2);
  });

  it("refuses to build a unique index over existing duplicates", async () => {
    const c = coll();
    await c.insertMany([{ e: "x" }, { e: "y" }, { e: "x" }]);
    const e = await failure(c.createIndex({ e: 1 }, { unique: true }));
    expect(e.code).toBe(11000);
    expect(e.errmsg).toMatch(
      /^Index build failed: .*E11000 duplicate key error collection: idx\.c_\S+ index: e_1 dup key: \{ e: "x" \}$/,
    );
    expect((await c.listIndexes().toArray()).map((i) => i.name)).toEqual(["_id_"]);
  });

  it("treats an identical createIndex as a no-op and conflicting ones as errors", async () => {
    const c = coll();
    const db = h.client.db(DB);
    const first = await db.command({ createIndexes: c.collectionName, indexes: [{ key: { a: 1 }, name: "a_1", unique: true }] });
    expect(first).toMatchObject({ numIndexesBefore: 1, numIndexesAfter: 2, createdCollectionAutomatically: true, ok: 1 });
    const again = await db.command({ createIndexes: c.collectionName, indexes: [{ key: { a: 1 }, name: "a_1", unique: true }] });
    expect(again).toMatchObject({ numIndexesBefore: 2, numIndexesAfter: 2, note: "all indexes already exist", ok: 1 });
    expect((await failure(c.createIndex({ a: 1 }, { name: "a_1" }))).code).toBe(85);
    expect((await failure(c.createIndex({ b: 1 }, { name: "a_1" }))).code).toBe(86);
  });

  it("lists, and drops indexes by name, by key and with *", async () => {
    const c = coll();
    await c.createIndex({ a: 1 });
    await c.createIndex({ b: -1 }, { unique: true, sparse: true });
    await c.createIndex({ c: 1 }, { partialFilterExpression: { c: { $exists: true } }, name: "c_partial" });
    await c.createIndex({ d: 1 }, { collation: { locale: "en", strength: 2 } });
    await c.createIndex({ at: 1 }, { expireAfterSeconds: 3600 });
    const list = await c.listIndexes().toArray();
    expect(list[0]).toEqual({ v: 2, key: { _id: 1 }, name: "_id_" });
    expect(list[1]).toEqual({ v: 2, key: { a: 1 }, name: "a_1" });
    expect(list[2]).toEqual({ v: 2, key: { b: -1 }, name: "b_-1", unique: true, sparse: true });
    expect(list[3]).toEqual({ v: 2, key: { c: 1 }, name: "c_partial", partialFilterExpression: { c: { $exists: true } } });
    expect(list[4]).toMatchObject({ v: 2, key: { d: 1 }, name: "d_1", collation: { locale: "en", strength: 2 } });
    expect(list[5]).toEqual({ v: 2, key: { at: 1 }, name: "at_1", expireAfterSeconds: 3600 });

    await c.dropIndex("a_1");
    await c.dropIndex({ b: -1 } as never);
    expect((await c.listIndexes().toArray()).map((i) => i.name)).toEqual(["_id_", "c_partial", "d_1", "at_1"]);
    expect((await failure(c.dropIndex("nope"))).code).toBe(27);
    expect((await failure(c.dropIndex("_id_"))).code).toBe(72);
    await c.dropIndexes();
    expect((await c.listIndexes().toArray()).map((i) => i.name)).toEqual(["_id_"]);
    const missing = await failure(h.client.db(DB).collection("never_created").listIndexes().toArray());
    expect(missing.code).toBe(26);
  });

  it("keeps equality lookups through indexes consistent with updates", async () => {
    const c = coll();
    await c.createIndex({ id: 1 }, { unique: true });
    await c.insertMany(Array.from({ length: 1000 }, (_, i) => ({ id: `u${i}`, v: 0 })));
    await c.updateOne({ id: "u5" }, { $set: { id: "renamed" } });
    expect(await c.findOne({ id: "u5" })).toBeNull();
    expect(await c.findOne({ id: "renamed" }, { projection: { _id: 0 } })).toEqual({ id: "renamed", v: 0 });
    await c.deleteOne({ id: "u6" });
    expect(await c.countDocuments({ id: { $in: ["u6", "u7"] } })).toBe(1);
  });
});
