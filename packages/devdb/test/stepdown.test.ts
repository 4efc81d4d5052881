// Step-down simulation: the node becomes a secondary (or refuses the next writes), then wins a new
// election, and the real driver's retryable writes and withTransaction ride through it.
import { MongoClient, MongoServerError } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AnyDoc, failure, uniqueName, useServer } from "./helpers.ts";

const h = useServer();
const DB = "stepdown";
let noRetry: MongoClient;

beforeAll(async () => {
  noRetry = await new MongoClient(h.uri, { retryWrites: false }).connect();
});
afterAll(async () => {
  await noRetry?.close();
});

const coll = (name: string, client = h.client) => client.db(DB).collection<AnyDoc>(name);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const commands = (name: string) => h.server.stats().commands[name] ?? 0;

describe("step-down", () => {
  it("reports a secondary during the window and a new primary with a larger electionId after", async () => {
    const admin = h.client.db("admin");
    const before = await admin.command({ hello: 1 });
    expect(before.isWritablePrimary).toBe(true);
    const info = h.server.stepDown({ ms: 300 });
    const during = await admin.command({ hello: 1 });
    expect(during).toMatchObject({ isWritablePrimary: false, secondary: true, setName: "rs0" });
    expect(during.primary).toBeUndefined();
    await sleep(350);
    const after = await admin.command({ hello: 1 });
    expect(after).toMatchObject({ isWritablePrimary: true, secondary: false });
    expect(after.electionId.toHexString() > before.electionId.toHexString()).toBe(true);
    expect(after.electionId.toHexString()).toBe(info.electionId.toHexString());
    expect(after.setVersion).toBe(before.setVersion);
  });

  it("accepts replSetStepDown on admin only and refuses writes during the window", async () => {
    const name = uniqueName("w");
    expect((await failure(h.client.db(DB).command({ replSetStepDown: 1 }))).code).toBe(13);
    await h.client.db("admin").command({ replSetStepDown: 1 });
    try {
      const e = await failure(coll(name, noRetry).insertOne({ _id: 1 }));
      expect(e.code).toBe(10107);
      expect(e.codeName).toBe("NotWritablePrimary");
      // Reads still work on the secondary (the driver sends primaryPreferred on a direct connection).
      expect(await coll(name).countDocuments()).toBe(0);
      expect((await failure(h.client.db("admin").command({ replSetStepDown: 1 }))).code).toBe(10107);
    } finally {
      while (!(await h.client.db("admin").command({ hello: 1 })).isWritablePrimary) await sleep(100);
    }
    await coll(name, noRetry).insertOne({ _id: 1 });
    expect(await coll(name).countDocuments()).toBe(1);
  });

  it("a retryable insert across a step-down succeeds exactly once", async () => {
    const name = uniqueName("r");
    const inserts = commands("insert");
    h.server.stepDown({ failNextWrites: 1 });
    await coll(name).insertOne({ _id: 1, v: 1 });
    expect(commands("insert") - inserts).toBe(2);
    expect(await coll(name).find().toArray()).toEqual([{ _id: 1, v: 1 }]);
  });

  it("a retried write that had been applied is not applied again (lsid, txnNumber)", async () => {
    const name = uniqueName("d");
    await coll(name).insertOne({ _id: 1, n: 0 });
    const updates = commands("update");
    h.server.stepDown({ failNextWrites: 1, writesApplied: true });
    const r = await coll(name).updateOne({ _id: 1 }, { $inc: { n: 1 } });
    expect(r.modifiedCount).toBe(1);
    expect(commands("update") - updates).toBe(2);
    expect(await coll(name).findOne({ _id: 1 })).toEqual({ _id: 1, n: 1 });
  });

  it("a non-retryable write gets NotWritablePrimary and is not applied", async () => {
    const name = uniqueName("n");
    h.server.stepDown({ failNextWrites: 1 });
    const e = await failure(coll(name, noRetry).insertOne({ _id: 1 }));
    expect(e.code).toBe(10107);
    expect(await coll(name).countDocuments()).toBe(0);
    await coll(name, noRetry).insertOne({ _id: 1 });
    expect(await coll(name).countDocuments()).toBe(1);
  });

  it("labels retryable writes RetryableWriteError and transaction commands TransientTransactionError", async () => {
    const name = uniqueName("l");
    const admin = h.client.db("admin");
    const session = h.client.startSession();
    try {
      const lsid = session.id;
      await admin.command({ devdbStepDown: 1, failNextWrites: 3 });
      const retryable = await h.client
        .db(DB)
        .command({ insert: name, documents: [{ _id: 1 }], lsid, txnNumber: 1 })
        .catch((e: MongoServerError) => e);
      expect(retryable).toBeInstanceOf(MongoServerError);
      expect((retryable as MongoServerError).errorLabels).toContain("RetryableWriteError");
      const inTxn = await h.client
        .db(DB)
        .command({ insert: name, documents: [{ _id: 2 }], lsid, txnNumber: 2, autocommit: false, startTransaction: true })
        .catch((e: MongoServerError) => e);
      expect((inTxn as MongoServerError).code).toBe(10107);
      expect((inTxn as MongoServerError).errorLabels).toContain("TransientTransactionError");
      const commit = await admin
        .command({ commitTransaction: 1, lsid, txnNumber: 2, autocommit: false })
        .catch((e: MongoServerError) => e);
      expect((commit as MongoServerError).code).toBe(10107);
      expect((commit as MongoServerError).errorLabels).toContain("RetryableWriteError");
    } finally {
      await session.endSession();
    }
  });

  it("withTransaction succeeds after a step-down aborts the transaction", async () => {
    const name = uniqueName("t");
    await coll(name).insertOne({ _id: "seed" });
    const session = h.client.startSession();
    let attempts = 0;
    try {
      await session.withTransaction(async () => {
        attempts++;
        await coll(name).insertOne({ _id: "a", attempt: attempts }, { session });
        if (attempts === 1) h.server.stepDown({ ms: 200 });
        await coll(name).updateOne({ _id: "seed" }, { $inc: { n: 1 } }, { session });
      });
    } finally {
      await session.endSession();
    }
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(await coll(name).find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: "a", attempt: attempts },
      { _id: "seed", n: 1 },
    ]);
  });

  it("interrupts a write waiting on a transaction's lock; the driver's retry applies it once", async () => {
    const name = uniqueName("i");
    await coll(name).insertOne({ _id: 1, n: 0 });
    for (const [client, retried] of [
      [noRetry, false],
      [h.client, true],
    ] as const) {
      const session = h.client.startSession();
      session.startTransaction();
      await coll(name).updateOne({ _id: 1 }, { $set: { locked: true } }, { session });
      const waiting = coll(name, client)
        .updateOne({ _id: 1 }, { $inc: { n: 1 } })
        .then(
          () => null,
          (e: unknown) => e,
        );
      await sleep(100);
      h.server.stepDown({ ms: 0 });
      const outcome = await waiting;
      await session.endSession();
      if (retried) expect(outcome).toBeNull();
      else expect((outcome as MongoServerError).code).toBe(11602);
    }
    // The transaction was aborted by the step-down; only the retried update landed.
    expect(await coll(name).findOne({ _id: 1 })).toEqual({ _id: 1, n: 1 });
  });
});
