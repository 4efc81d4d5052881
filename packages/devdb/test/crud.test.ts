import { Long, ObjectId } from "mongodb";
import { describe, expect, it, vi } from "vitest";
import { type AnyDoc, failure, uniqueName, useServer } from "./helpers.ts";

const h = useServer();
const coll = (name = uniqueName("crud")) => h.client.db("crud").collection<AnyDoc>(name);

describe("insert and find", () => {
  it("generates ObjectIds, round-trips BSON types and finds by filter", async () => {
    const c = coll();
    const when = new Date("2026-01-02T03:04:05.678Z");
    const res = await c.insertOne({
      name: "ada",
      n: 1,
      f: 1.5,
      big: Long.fromString("9007199254740993"),
      when,
      tags: ["x", "y"],
      nested: { a: { b: 2 } },
    });
    expect(res.insertedId).toBeInstanceOf(ObjectId);
    const doc = await c.findOne({ _id: res.insertedId });
    expect(doc).toEqual({
      _id: res.insertedId,
      name: "ada",
      n: 1,
      f: 1.5,
      big: Long.fromString("9007199254740993"),
      when,
      tags: ["x", "y"],
      nested: { a: { b: 2 } },
    });
    expect(await c.findOne({ "nested.a.b": 2 }, { projection: { _id: 0, name: 1 } })).toEqual({ name: "ada" });
    expect(await c.findOne({ tags: "y" }, { projection: { name: 1 } })).toEqual({ _id: res.insertedId, name: "ada" });
    expect(await c.findOne({ when: { $gt: new Date("2026-01-01") } }, { projection: { _id: 0, n: 1 } })).toEqual({ n: 1 });
    expect(await c.findOne({ name: "nobody" })).toBeNull();
  });

  it("supports query operators, projection, sort, skip and limit", async () => {
    const c = coll();
    await c.insertMany(
      Array.from({ length: 20 }, (_, i) => ({ _id: i, g: i % 3, s: `k${String(i).padStart(2, "0")}`, arr: [i, i + 1] })),
    );
    const ids = (docs: { _id: unknown }[]) => docs.map((d) => d._id);
    expect(ids(await c.find({ g: 1 }).sort({ _id: -1 }).toArray())).toEqual([19, 16, 13, 10, 7, 4, 1]);
    expect(ids(await c.find({ _id: { $in: [5, 99, 3] } }).toArray())).toEqual([3, 5]);
    expect(ids(await c.find({ $or: [{ _id: { $lt: 2 } }, { _id: { $gte: 18 } }] }).toArray())).toEqual([0, 1, 18, 19]);
    expect(ids(await c.find({ s: { $regex: "^k1[5-9]" } }).toArray())).toEqual([15, 16, 17, 18, 19]);
    expect(ids(await c.find({ arr: { $all: [4, 5] } }).toArray())).toEqual([4]);
    expect(ids(await c.find({}).sort({ g: 1, _id: -1 }).skip(2).limit(3).toArray())).toEqual([12, 9, 6]);
    expect(
      ids(
        await c
          .find({ _id: { $lt: 4 } })
          .sort({ $natural: -1 })
          .toArray(),
      ),
    ).toEqual([3, 2, 1, 0]);
    expect(await c.find({ _id: { $lte: 1 } }, { projection: { arr: 0, s: 0 } }).toArray()).toEqual([
      { _id: 0, g: 0 },
      { _id: 1, g: 1 },
    ]);
    expect(await c.countDocuments({ g: 2 })).toBe(6);
    expect(await c.estimatedDocumentCount()).toBe(20);
    expect((await c.distinct("g")).sort()).toEqual([0, 1, 2]);
  });

  it("serves 10k documents through real cursor ids and getMore batches", async () => {
    const c = coll();
    const docs = Array.from({ length: 10_000 }, (_, i) => ({ _id: i, v: i * 2 }));
    await c.insertMany(docs);
    const cursor = c.find({}, { batchSize: 250 }).sort({ _id: 1 });
    let count = 0;
    let expected = 0;
    for await (const d of cursor) {
      expect(d._id).toBe(expected++);
      count++;
    }
    expect(count).toBe(10_000);

    const db = h.client.db("crud");
    const first = await db.command({ find: c.collectionName, filter: { v: { $gte: 18_000 } }, batchSize: 200 });
    expect(first.cursor.firstBatch).toHaveLength(200);
    expect(first.cursor.id).toBeInstanceOf(Long);
    expect(first.cursor.id.isZero()).toBe(false);
    const more = await db.command({ getMore: first.cursor.id, collection: c.collectionName, batchSize: 300 });
    expect(more.cursor.nextBatch).toHaveLength(300);
    expect(more.cursor.id.equals(first.cursor.id)).toBe(true);
    const last = await db.command({ getMore: first.cursor.id, collection: c.collectionName });
    expect(last.cursor.nextBatch).toHaveLength(500);
    expect(last.cursor.nextBatch[499]).toEqual({ _id: 9999, v: 19_998 });
    expect(Number(last.cursor.id)).toBe(0);
    await expect(db.command({ getMore: first.cursor.id, collection: c.collectionName })).rejects.toMatchObject({ code: 43 });
  });
});

describe("updates and deletes", () => {
  it("applies operators, counts matched vs modified and keeps _id immutable", async () => {
    const c = coll();
    await c.insertMany([
      { _id: 1, n: 1, list: [1, 2] },
      { _id: 2, n: 5, list: [] },
    ]);
    const r = await c.updateMany(
      {},
      { $inc: { n: 10 }, $push: { list: 9 } as never, $set: { "sub.x": true }, $currentDate: { at: true } },
    );
    expect([r.matchedCount, r.modifiedCount, r.upsertedCount]).toEqual([2, 2, 0]);
    const one = await c.findOne({ _id: 1 });
    expect(one).toMatchObject({ _id: 1, n: 11, list: [1, 2, 9], sub: { x: true } });
    expect(one?.at).toBeInstanceOf(Date);
    const same = await c.updateOne({ _id: 2 }, { $set: { n: 15 } });
    expect([same.matchedCount, same.modifiedCount]).toEqual([1, 0]);
    await c.updateOne({ _id: 1 }, { $unset: { sub: "" }, $pull: { list: 2 } as never, $rename: { n: "m" } });
    expect(await c.findOne({ _id: 1 }, { projection: { at: 0 } })).toEqual({ _id: 1, list: [1, 9], m: 11 });
    expect((await failure(c.updateOne({ _id: 1 }, { $set: { _id: 7 } }))).code).toBe(66);
    await c.replaceOne({ _id: 2 }, { replaced: true });
    expect(await c.findOne({ _id: 2 })).toEqual({ _id: 2, replaced: true });
  });

  it("upserts with $setOnInsert and arrayFilters", async () => {
    const c = coll();
    const up = await c.updateOne({ email: "a@x.io" }, { $set: { seen: 1 }, $setOnInsert: { created: "yes" } }, { upsert: true });
    expect(up.upsertedCount).toBe(1);
    expect(up.upsertedId).toBeInstanceOf(ObjectId);
    expect(await c.findOne({}, { projection: { _id: 0 } })).toEqual({ email: "a@x.io", seen: 1, created: "yes" });
    const again = await c.updateOne(
      { email: "a@x.io" },
      { $set: { seen: 2 }, $setOnInsert: { created: "no" } },
      { upsert: true },
    );
    expect([again.matchedCount, again.modifiedCount, again.upsertedCount]).toEqual([1, 1, 0]);
    expect(await c.findOne({}, { projection: { _id: 0 } })).toEqual({ email: "a@x.io", seen: 2, created: "yes" });

    await c.insertOne({ _id: "g", grades: [{ s: 50 }, { s: 90 }, { s: 40 }] });
    await c.updateOne({ _id: "g" }, { $set: { "grades.$[low].s": 60 } }, { arrayFilters: [{ "low.s": { $lt: 60 } }] });
    expect((await c.findOne({ _id: "g" }))?.grades).toEqual([{ s: 60 }, { s: 90 }, { s: 60 }]);
  });

  it("findOneAndUpdate / findOneAndDelete honour upsert, returnDocument, sort and projection", async () => {
    const c = coll();
    const created = await c.findOneAndUpdate(
      { key: "k" },
      { $inc: { seq: 1 } },
      { upsert: true, returnDocument: "after", projection: { _id: 0 } },
    );
    expect(created).toEqual({ key: "k", seq: 1 });
    const before = await c.findOneAndUpdate(
      { key: "k" },
      { $inc: { seq: 1 } },
      { returnDocument: "before", projection: { _id: 0 } },
    );
    expect(before).toEqual({ key: "k", seq: 1 });
    await c.insertMany([{ p: 3 }, { p: 1 }, { p: 2 }]);
    const removed = await c.findOneAndDelete({ p: { $exists: true } }, { sort: { p: -1 }, projection: { _id: 0 } });
    expect(removed).toEqual({ p: 3 });
    expect(await c.findOneAndUpdate({ nope: 1 }, { $set: { x: 1 } })).toBeNull();
    const meta = await c.findOneAndUpdate({ key: "k" }, { $set: { z: 1 } }, { includeResultMetadata: true });
    expect(meta.lastErrorObject).toEqual({ n: 1, updatedExisting: true });
  });

  it("deletes one or many", async () => {
    const c = coll();
    await c.insertMany([{ t: 1 }, { t: 1 }, { t: 1 }, { t: 2 }]);
    expect((await c.deleteOne({ t: 1 })).deletedCount).toBe(1);
    expect((await c.deleteMany({ t: 1 })).deletedCount).toBe(2);
    expect((await c.deleteMany({ t: 9 })).deletedCount).toBe(0);
    expect(await c.countDocuments()).toBe(1);
  });

  it("runs mixed bulkWrite batches, ordered and unordered", async () => {
    const c = coll();
    const res = await c.bulkWrite([
      { insertOne: { document: { _id: 1, v: 1 } } },
      { updateOne: { filter: { _id: 1 }, update: { $set: { v: 2 } } } },
      { updateOne: { filter: { _id: 2 }, update: { $set: { v: 3 } }, upsert: true } },
      { deleteOne: { filter: { _id: 1 } } },
      { replaceOne: { filter: { _id: 2 }, replacement: { v: 4 } } },
    ]);
    expect([res.insertedCount, res.matchedCount, res.modifiedCount, res.upsertedCount, res.deletedCount]).toEqual([
      1, 2, 2, 1, 1,
    ]);
    expect(res.upsertedIds).toEqual({ 2: 2 });
    expect(await c.find().toArray()).toEqual([{ _id: 2, v: 4 }]);
  });
});

describe("aggregation", () => {
  it("runs $match/$group/$sort/$project and $lookup in both forms", async () => {
    const db = h.client.db("crud");
    const users = db.collection(uniqueName("users"));
    const orders = db.collection(uniqueName("orders"));
    const u1 = new ObjectId();
    const u2 = new ObjectId();
    await users.insertMany([
      { _id: u1, name: "ann" },
      { _id: u2, name: "bob" },
    ]);
    await orders.insertMany([
      { user: u1, total: 10, status: "paid" },
      { user: u1, total: 5, status: "open" },
      { user: u2, total: 7, status: "paid" },
    ]);
    const grouped = await orders
      .aggregate([
        { $match: { status: "paid" } },
        { $group: { _id: "$user", sum: { $sum: "$total" }, n: { $sum: 1 } } },
        { $sort: { sum: -1 } },
      ])
      .toArray();
    expect(grouped).toEqual([
      { _id: u1, sum: 10, n: 1 },
      { _id: u2, sum: 7, n: 1 },
    ]);
    const joined = await users
      .aggregate([
        { $lookup: { from: orders.collectionName, localField: "_id", foreignField: "user", as: "orders" } },
        { $project: { _id: 0, name: 1, count: { $size: "$orders" } } },
        { $sort: { name: 1 } },
      ])
      .toArray();
    expect(joined).toEqual([
      { name: "ann", count: 2 },
      { name: "bob", count: 1 },
    ]);
    const piped = await users
      .aggregate([
        { $match: { name: "ann" } },
        {
          $lookup: {
            from: orders.collectionName,
            let: { uid: "$_id" },
            pipeline: [
              { $match: { $expr: { $and: [{ $eq: ["$user", "$$uid"] }, { $eq: ["$status", "open"] }] } } },
              { $project: { _id: 0, total: 1 } },
            ],
            as: "open",
          },
        },
        { $unwind: "$open" },
        { $addFields: { openTotal: "$open.total" } },
        { $project: { _id: 0, name: 1, openTotal: 1 } },
      ])
      .toArray();
    expect(piped).toEqual([{ name: "ann", openTotal: 5 }]);
    const faceted = await orders
      .aggregate([{ $facet: { paid: [{ $match: { status: "paid" } }, { $count: "n" }], all: [{ $count: "n" }] } }])
      .toArray();
    expect(faceted).toEqual([{ paid: [{ n: 2 }], all: [{ n: 3 }] }]);
  });

  it("joins with $lookup on array and missing local fields like MongoDB", async () => {
    const db = h.client.db("crud");
    const left = db.collection<AnyDoc>(uniqueName("left"));
    const right = db.collection<AnyDoc>(uniqueName("right"));
    await right.createIndex({ id: 1 });
    await right.insertMany([{ _id: 1, id: "a" }, { _id: 2, id: "b" }, { _id: 3, id: null }, { _id: 4 }]);
    await left.insertMany([{ _id: "many", refs: ["b", "a", "zz"] }, { _id: "one", refs: "a" }, { _id: "none" }]);
    const out = await left
      .aggregate([
        { $sort: { _id: 1 } },
        { $lookup: { from: right.collectionName, localField: "refs", foreignField: "id", as: "r" } },
        { $project: { ids: "$r._id" } },
      ])
      .toArray();
    expect(out).toEqual([
      { _id: "many", ids: [1, 2] },
      { _id: "none", ids: [3, 4] },
      { _id: "one", ids: [1] },
    ]);
  });

  it("never lets a pipeline change the stored documents", async () => {
    const c = coll();
    await c.insertOne({ _id: 1, nested: { a: 1 }, list: [{ v: 1 }] });
    const out = await c.aggregate([{ $addFields: { "nested.b": 2 } }, { $set: { list: [] } }, { $unset: "nested.a" }]).toArray();
    expect(out).toEqual([{ _id: 1, nested: { b: 2 }, list: [] }]);
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, nested: { a: 1 }, list: [{ v: 1 }] });
    expect(await c.countDocuments({ "nested.a": 1 })).toBe(1);
  });

  it("batches aggregate results through getMore", async () => {
    const c = coll();
    await c.insertMany(Array.from({ length: 500 }, (_, i) => ({ i })));
    const out = await c.aggregate([{ $sort: { i: -1 } }, { $project: { _id: 0, i: 1 } }], { batchSize: 50 }).toArray();
    expect(out).toHaveLength(500);
    expect(out[0]).toEqual({ i: 499 });
    expect(out[499]).toEqual({ i: 0 });
    expect(h.server.stats().commands.getMore).toBeGreaterThanOrEqual(9);
  });
});

describe("cursors and expiry", () => {
  it("kills an open cursor on close", async () => {
    const c = coll();
    await c.insertMany(Array.from({ length: 50 }, (_, i) => ({ i })));
    const db = h.client.db("crud");
    const first = await db.command({ find: c.collectionName, batchSize: 10 });
    const killed = await db.command({ killCursors: c.collectionName, cursors: [first.cursor.id] });
    expect(killed.cursorsKilled).toEqual([first.cursor.id]);
    await expect(db.command({ getMore: first.cursor.id, collection: c.collectionName })).rejects.toMatchObject({
      code: 43,
      codeName: "CursorNotFound",
    });
  });

  it("does not create a collection for an update or findAndModify that matches nothing", async () => {
    const c = coll();
    await c.updateOne({ a: 1 }, { $set: { b: 1 } });
    await c.findOneAndUpdate({ a: 1 }, { $set: { b: 1 } });
    expect(await h.client.db("crud").listCollections({ name: c.collectionName }).toArray()).toEqual([]);
  });

  it("removes documents past a TTL index's expireAfterSeconds", async () => {
    const c = coll();
    await c.createIndex({ at: 1 }, { expireAfterSeconds: 60 });
    await c.insertMany([
      { _id: "old", at: new Date(Date.now() - 120_000) },
      { _id: "fresh", at: new Date() },
      { _id: "no-date", at: "not a date" },
    ]);
    await vi.waitFor(async () => expect((await c.find().toArray()).map((d) => d._id)).toEqual(["fresh", "no-date"]), {
      timeout: 5000,
      interval: 200,
    });
  });
});

describe("catalog commands and errors", () => {
  it("lists, creates and drops collections and databases", async () => {
    const db = h.client.db(uniqueName("catalog"));
    await db.createCollection("a");
    await db.collection("b").insertOne({ x: 1 });
    await expect(db.createCollection("a")).rejects.toMatchObject({ code: 48, codeName: "NamespaceExists" });
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
    expect(names).toEqual(["a", "b"]);
    expect((await db.listCollections({ name: "b" }).toArray()).map((c) => c.name)).toEqual(["b"]);
    const dbs = await h.client.db("admin").admin().listDatabases();
    expect(dbs.databases.map((d) => d.name)).toContain(db.databaseName);
    expect(await db.collection("a").drop()).toBe(true);
    await expect(db.command({ drop: "a" })).rejects.toMatchObject({ code: 26, codeName: "NamespaceNotFound" });
    expect(await db.dropDatabase()).toBe(true);
    expect(await db.listCollections().toArray()).toEqual([]);
  });

  it("answers an unknown command with CommandNotFound", async () => {
    const err = await failure(h.client.db("crud").command({ nope: 1 }));
    expect(err.code).toBe(59);
    expect(err.codeName).toBe("CommandNotFound");
    expect(err.message).toBe("no such command: 'nope'");
  });

  it("answers ping, buildInfo and hello as a 7.0 replica-set primary", async () => {
    const admin = h.client.db("admin");
    expect(await admin.command({ ping: 1 })).toEqual({ ok: 1 });
    const info = await admin.command({ buildInfo: 1 });
    expect(info.version).toMatch(/^7\.0\./);
    const hello = await admin.command({ hello: 1 });
    expect(hello).toMatchObject({
      isWritablePrimary: true,
      setName: "rs0",
      maxWireVersion: 21,
      logicalSessionTimeoutMinutes: 30,
    });
    expect(hello.hosts).toEqual([`127.0.0.1:${h.server.port}`]);
    expect(hello.me).toBe(`127.0.0.1:${h.server.port}`);
    expect(hello.topologyVersion).toBeUndefined();
    expect(hello.compression).toBeUndefined();
  });
});

describe("query and update semantics", () => {
  it("matches arrays, nested paths, $ne/$nin/$exists and type-bracketed ranges like MongoDB", async () => {
    const c = coll();
    await c.insertMany([
      { _id: 1, tags: ["a", "b"], n: 5, s: "5", sub: { k: "x" } },
      { _id: 2, tags: "a", n: 10, sub: [{ k: "y" }, { k: "x" }] },
      { _id: 3, n: null, d: new Date("2026-01-01") },
      { _id: 4, tags: [], n: 7.5 },
    ]);
    const ids = async (filter: object) => (await c.find(filter).toArray()).map((d) => d._id);
    expect(await ids({ tags: "a" })).toEqual([1, 2]);
    expect(await ids({ tags: { $ne: "a" } })).toEqual([3, 4]);
    expect(await ids({ tags: { $nin: ["b", "zz"] } })).toEqual([2, 3, 4]);
    expect(await ids({ "sub.k": "x" })).toEqual([1, 2]);
    expect(await ids({ "sub.k": "y" })).toEqual([2]);
    expect(await ids({ n: { $gt: 5 } })).toEqual([2, 4]);
    expect(await ids({ n: { $gte: 5, $lt: 10 } })).toEqual([1, 4]);
    expect(await ids({ s: { $gt: 1 } })).toEqual([]);
    expect(await ids({ n: { $exists: true } })).toEqual([1, 2, 3, 4]);
    expect(await ids({ s: { $exists: false } })).toEqual([2, 3, 4]);
    expect(await ids({ n: null })).toEqual([3]);
    expect(await ids({ missing: null })).toEqual([1, 2, 3, 4]);
    expect(await ids({ d: { $lt: new Date("2026-06-01") } })).toEqual([3]);
    expect(await ids({ tags: { $size: 0 } })).toEqual([4]);
    expect(await ids({ n: { $in: [5, 7.5] } })).toEqual([1, 4]);
  });

  it("applies $push/$addToSet/$pull/$min/$max/$mul and rejects conflicting or non-numeric updates", async () => {
    const c = coll();
    await c.insertOne({ _id: 1, list: [1], set: ["a"], lo: 5, hi: 5, m: 3, s: "text" });
    await c.updateOne({ _id: 1 }, {
      $push: { list: { $each: [2, 3] } },
      $addToSet: { set: { $each: ["a", "b"] } },
      $min: { lo: 2 },
      $max: { hi: 1 },
      $mul: { m: 4 },
    } as never);
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, list: [1, 2, 3], set: ["a", "b"], lo: 2, hi: 5, m: 12, s: "text" });
    await c.updateOne({ _id: 1 }, { $pull: { list: 2 }, $inc: { "new.count": 2 } } as never);
    expect(await c.findOne({ _id: 1 }, { projection: { list: 1, new: 1 } })).toEqual({ _id: 1, list: [1, 3], new: { count: 2 } });
    await c.updateOne({ _id: 1 }, { $push: { list: { $each: [9, 8], $sort: 1, $slice: -3 } } } as never);
    expect((await c.findOne({ _id: 1 }))?.list).toEqual([3, 8, 9]);
    expect((await failure(c.updateOne({ _id: 1 }, { $set: { lo: 1 }, $inc: { lo: 1 } }))).code).toBe(40);
    expect((await failure(c.updateOne({ _id: 1 }, { $inc: { s: 1 } } as never))).code).toBe(14);
  });

  it("honours a case-insensitive collation on find, count, update and delete", async () => {
    const c = coll();
    const collation = { locale: "en", strength: 2 };
    await c.createIndex({ email: 1 }, { unique: true, collation });
    await c.insertMany([
      { _id: 1, email: "Ann@Example.com" },
      { _id: 2, email: "bob@example.com" },
    ]);
    expect(await c.findOne({ email: "ann@example.COM" }, { collation })).toEqual({ _id: 1, email: "Ann@Example.com" });
    expect(await c.findOne({ email: "ann@example.COM" })).toBeNull();
    expect(await c.countDocuments({ email: { $in: ["ANN@example.com", "BOB@EXAMPLE.COM"] } }, { collation })).toBe(2);
    expect((await c.updateOne({ email: "BOB@example.com" }, { $set: { seen: true } }, { collation })).modifiedCount).toBe(1);
    expect((await c.deleteOne({ email: "ANN@EXAMPLE.COM" }, { collation })).deletedCount).toBe(1);
    expect(await c.find().toArray()).toEqual([{ _id: 2, email: "bob@example.com", seen: true }]);
    expect(
      await c.aggregate([{ $match: { email: "BOB@EXAMPLE.COM" } }, { $project: { _id: 1 } }], { collation }).toArray(),
    ).toEqual([{ _id: 2 }]);
  });
});
