import { Long, MongoClient, UUID } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AnyDoc, failure, RawClient, uniqueName, useServer } from "./helpers.ts";

const h = useServer();
const DB = "txn";
let other: MongoClient;

beforeAll(async () => {
  other = await new MongoClient(h.server.uri).connect();
});
afterAll(async () => {
  await other?.close();
});

const names = () => uniqueName("t");
const mine = (name: string) => h.client.db(DB).collection<AnyDoc>(name);
const theirs = (name: string) => other.db(DB).collection<AnyDoc>(name);

describe("commit and abort", () => {
  it("hides uncommitted writes from other clients and publishes them atomically on commit", async () => {
    const a = names();
    const b = names();
    await mine(a).insertOne({ _id: 1, v: 0 });
    const session = h.client.startSession();
    try {
      session.startTransaction();
      await mine(a).updateOne({ _id: 1 }, { $set: { v: 1 } }, { session });
      await mine(a).insertOne({ _id: 2, v: 2 }, { session });
      await mine(b).insertOne({ _id: "x" }, { session });
      await mine(a).deleteOne({ _id: 1 }, { session });
      await mine(a).insertOne({ _id: 1, v: 11 }, { session });
      // The transaction sees its own writes...
      expect(await mine(a).find({}, { session }).sort({ _id: 1 }).toArray()).toEqual([
        { _id: 1, v: 11 },
        { _id: 2, v: 2 },
      ]);
      expect(await mine(a).countDocuments({}, { session })).toBe(2);
      // ...nobody else does.
      expect(await theirs(a).find().toArray()).toEqual([{ _id: 1, v: 0 }]);
      expect(await theirs(b).countDocuments()).toBe(0);
      await session.commitTransaction();
    } finally {
      await session.endSession();
    }
    expect(await theirs(a).find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, v: 11 },
      { _id: 2, v: 2 },
    ]);
    expect(await theirs(b).find().toArray()).toEqual([{ _id: "x" }]);
  });

  it("discards everything on abort", async () => {
    const a = names();
    await mine(a).insertOne({ _id: 1, v: 0 });
    const session = h.client.startSession();
    try {
      session.startTransaction();
      await mine(a).insertOne({ _id: 2 }, { session });
      await mine(a).updateOne({ _id: 1 }, { $set: { v: 5 } }, { session });
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
    expect(await theirs(a).find().toArray()).toEqual([{ _id: 1, v: 0 }]);
  });

  it("reads from the snapshot taken when the transaction started", async () => {
    const a = names();
    await mine(a).insertMany([
      { _id: 1, v: "old" },
      { _id: 2, v: "gone-later" },
    ]);
    const session = h.client.startSession();
    try {
      session.startTransaction();
      expect(await mine(a).findOne({ _id: 1 }, { session })).toEqual({ _id: 1, v: "old" });
      await theirs(a).updateOne({ _id: 1 }, { $set: { v: "new" } });
      await theirs(a).deleteOne({ _id: 2 });
      await theirs(a).insertOne({ _id: 3, v: "inserted-later" });
      expect(await mine(a).find({}, { session }).sort({ _id: 1 }).toArray()).toEqual([
        { _id: 1, v: "old" },
        { _id: 2, v: "gone-later" },
      ]);
      expect(
        await mine(a)
          .aggregate([{ $count: "n" }], { session })
          .toArray(),
      ).toEqual([{ n: 2 }]);
      await session.commitTransaction();
    } finally {
      await session.endSession();
    }
    expect(await mine(a).countDocuments()).toBe(2);
  });

  it("returns ok when a successful commit is retried", async () => {
    const a = names();
    const session = h.client.startSession();
    try {
      session.startTransaction();
      await mine(a).insertOne({ _id: 1 }, { session });
      const before = h.server.stats().commands.commitTransaction ?? 0;
      await session.commitTransaction();
      await session.commitTransaction();
      expect((h.server.stats().commands.commitTransaction ?? 0) - before).toBe(2);
    } finally {
      await session.endSession();
    }
    expect(await theirs(a).countDocuments()).toBe(1);
  });
});

describe("conflicts", () => {
  it("gives the later transaction WriteConflict (112) labelled TransientTransactionError", async () => {
    const a = names();
    await mine(a).insertOne({ _id: 1, n: 0 });
    const s1 = h.client.startSession();
    const s2 = other.startSession();
    try {
      s1.startTransaction();
      s2.startTransaction();
      await mine(a).updateOne({ _id: 1 }, { $inc: { n: 1 } }, { session: s1 });
      const e = await failure(theirs(a).updateOne({ _id: 1 }, { $inc: { n: 10 } }, { session: s2 }));
      expect(e.code).toBe(112);
      expect(e.codeName).toBe("WriteConflict");
      expect(e.hasErrorLabel("TransientTransactionError")).toBe(true);
      // The conflicting transaction is aborted by the server.
      const gone = await failure(s2.commitTransaction());
      expect(gone.code).toBe(251);
      await s1.commitTransaction();
    } finally {
      await s1.endSession();
      await s2.endSession();
    }
    expect(await mine(a).findOne({ _id: 1 })).toEqual({ _id: 1, n: 1 });
  });

  it("conflicts when the document changed after the transaction's snapshot", async () => {
    const a = names();
    await mine(a).insertOne({ _id: 1, n: 0 });
    const s = h.client.startSession();
    try {
      s.startTransaction();
      await mine(a).findOne({ _id: 1 }, { session: s });
      await theirs(a).updateOne({ _id: 1 }, { $set: { n: 5 } });
      const e = await failure(mine(a).updateOne({ _id: 1 }, { $inc: { n: 1 } }, { session: s }));
      expect(e.code).toBe(112);
      await s.abortTransaction().catch(() => undefined);
    } finally {
      await s.endSession();
    }
    expect(await mine(a).findOne({ _id: 1 })).toEqual({ _id: 1, n: 5 });
  });

  it("lets withTransaction retry past a write conflict and succeed", async () => {
    const a = names();
    await mine(a).insertOne({ _id: 1, n: 0 });
    const holder = h.client.startSession();
    holder.startTransaction();
    await mine(a).updateOne({ _id: 1 }, { $inc: { n: 1 } }, { session: holder });
    const s = other.startSession();
    let attempts = 0;
    try {
      await s.withTransaction(async () => {
        attempts++;
        if (attempts === 1) setTimeout(() => void holder.commitTransaction(), 50);
        await theirs(a).updateOne({ _id: 1 }, { $inc: { n: 10 } }, { session: s });
      });
    } finally {
      await s.endSession();
      await holder.endSession();
    }
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(await mine(a).findOne({ _id: 1 })).toEqual({ _id: 1, n: 11 });
  });

  it("makes a plain write wait for the transaction holding the document", async () => {
    const a = names();
    await mine(a).insertOne({ _id: 1, n: 0 });
    const s = h.client.startSession();
    s.startTransaction();
    await mine(a).updateOne({ _id: 1 }, { $inc: { n: 1 } }, { session: s });
    let done = false;
    const plain = theirs(a)
      .updateOne({ _id: 1 }, { $inc: { n: 100 } })
      .then((r) => {
        done = true;
        return r;
      });
    await new Promise((r) => setTimeout(r, 150));
    expect(done).toBe(false);
    await s.commitTransaction();
    await s.endSession();
    expect((await plain).modifiedCount).toBe(1);
    expect(await mine(a).findOne({ _id: 1 })).toEqual({ _id: 1, n: 101 });
  });

  it("aborts a transaction whose write violates a unique index, leaving nothing behind", async () => {
    const a = names();
    await mine(a).createIndex({ email: 1 }, { unique: true });
    await mine(a).insertOne({ email: "taken@x.io" });
    const s = h.client.startSession();
    try {
      const e = await failure(
        s.withTransaction(async () => {
          await mine(a).insertOne({ email: "new@x.io" }, { session: s });
          await mine(a).updateOne({ email: "new@x.io" }, { $set: { n: 1 } }, { session: s });
          await mine(a).insertOne({ email: "new@x.io" }, { session: s });
        }),
      );
      expect(e.code).toBe(11000);
      expect(e.errmsg).toBe(`E11000 duplicate key error collection: ${DB}.${a} index: email_1 dup key: { email: "new@x.io" }`);
    } finally {
      await s.endSession();
    }
    expect(
      await theirs(a)
        .find({}, { projection: { _id: 0 } })
        .toArray(),
    ).toEqual([{ email: "taken@x.io" }]);
  });

  it("checks unique indexes against committed data from inside a transaction", async () => {
    const a = names();
    await mine(a).createIndex({ email: 1 }, { unique: true });
    await mine(a).insertOne({ _id: 1, email: "one@x.io" });
    const s = h.client.startSession();
    try {
      s.startTransaction();
      const e = await failure(mine(a).insertOne({ email: "one@x.io" }, { session: s }));
      expect(e.code).toBe(11000);
      await s.abortTransaction().catch(() => undefined);
      // Freeing the key inside the same transaction makes it reusable there.
      s.startTransaction();
      await mine(a).updateOne({ _id: 1 }, { $set: { email: "moved@x.io" } }, { session: s });
      await mine(a).insertOne({ _id: 2, email: "one@x.io" }, { session: s });
      await s.commitTransaction();
    } finally {
      await s.endSession();
    }
    expect(await theirs(a).find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, email: "moved@x.io" },
      { _id: 2, email: "one@x.io" },
    ]);
  });
});

describe("session protocol on the wire", () => {
  it("answers NoSuchTransaction (251) for an unknown transaction", async () => {
    const raw = await RawClient.connect(h.server.port);
    try {
      const reply = await raw.command({
        find: "x",
        $db: DB,
        lsid: { id: new UUID() },
        txnNumber: Long.fromNumber(3),
        autocommit: false,
      });
      expect(reply).toMatchObject({
        ok: 0,
        code: 251,
        codeName: "NoSuchTransaction",
        errorLabels: ["TransientTransactionError"],
      });
    } finally {
      raw.close();
    }
  });

  it("replays the stored reply when a retryable write is retried", async () => {
    const a = names();
    const raw = await RawClient.connect(h.server.port);
    try {
      const cmd = {
        insert: a,
        documents: [{ _id: 1 }, { _id: 2 }],
        $db: DB,
        lsid: { id: new UUID() },
        txnNumber: Long.fromNumber(1),
      };
      expect(await raw.command(cmd)).toEqual({ n: 2, ok: 1 });
      expect(await raw.command(cmd)).toEqual({ n: 2, ok: 1 });
      expect(await mine(a).countDocuments()).toBe(2);
      const next = await raw.command({ ...cmd, txnNumber: Long.fromNumber(2) });
      expect(next.writeErrors[0].code).toBe(11000);
    } finally {
      raw.close();
    }
  });

  it("aborts a session's open transaction on endSessions", async () => {
    const a = names();
    await mine(a).insertOne({ _id: 1, n: 0 });
    const raw = await RawClient.connect(h.server.port);
    const lsid = { id: new UUID() };
    try {
      const started = await raw.command({
        update: a,
        updates: [{ q: { _id: 1 }, u: { $set: { n: 1 } } }],
        $db: DB,
        lsid,
        txnNumber: Long.fromNumber(1),
        autocommit: false,
        startTransaction: true,
      });
      expect(started).toMatchObject({ n: 1, nModified: 1, ok: 1 });
      expect(await raw.command({ endSessions: [lsid], $db: "admin" })).toEqual({ ok: 1 });
      // Not blocked by the abandoned transaction, and its write is gone.
      await theirs(a).updateOne({ _id: 1 }, { $inc: { n: 5 } });
      expect(await mine(a).findOne({ _id: 1 })).toEqual({ _id: 1, n: 5 });
      const commit = await raw.command({
        commitTransaction: 1,
        $db: "admin",
        lsid,
        txnNumber: Long.fromNumber(1),
        autocommit: false,
      });
      expect(commit.code).toBe(251);
    } finally {
      raw.close();
    }
  });
});
