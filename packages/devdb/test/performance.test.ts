import { describe, expect, it } from "vitest";
import { type AnyDoc, useServer } from "./helpers.ts";

const h = useServer();

// Generous bounds: they catch per-document full scans (which take tens of seconds at this size),
// not jitter on a busy machine.
describe("bulk work on a 50k-document collection", () => {
  it("keeps 1000-operation batches well under a second", async () => {
    const c = h.client.db("perf").collection<AnyDoc>("items");
    await c.createIndex({ id: 1 }, { unique: true });
    await c.createIndex({ email: 1 }, { unique: true, collation: { locale: "en", strength: 2 } });
    for (let b = 0; b < 50; b++) {
      await c.insertMany(
        Array.from({ length: 1000 }, (_, i) => ({ id: `i${b * 1000 + i}`, email: `u${b * 1000 + i}@x.io`, n: i })),
      );
    }
    expect(await c.estimatedDocumentCount()).toBe(50_000);

    const timed = async (work: () => Promise<unknown>): Promise<number> => {
      const t = performance.now();
      await work();
      return performance.now() - t;
    };
    const byId = await timed(() =>
      c.bulkWrite(
        Array.from({ length: 1000 }, (_, i) => ({ updateOne: { filter: { id: `i${i * 50}` }, update: { $inc: { n: 1000 } } } })),
      ),
    );
    const ids = (await c.find({}, { projection: { _id: 1 }, limit: 1000, skip: 20_000 }).toArray()).map((d) => d._id);
    const byObjectId = await timed(() =>
      c.bulkWrite(ids.map((_id) => ({ updateOne: { filter: { _id }, update: { $set: { touched: true } } } }))),
    );
    const upserts = await timed(() =>
      c.bulkWrite(
        Array.from({ length: 1000 }, (_, i) => ({
          updateOne: { filter: { id: `new${i}` }, update: { $setOnInsert: { email: `new${i}@x.io`, n: -1 } }, upsert: true },
        })),
      ),
    );
    expect(await c.countDocuments({ n: { $gte: 1000 } })).toBe(1000);
    const deletes = await timed(() =>
      c.bulkWrite(Array.from({ length: 1000 }, (_, i) => ({ deleteOne: { filter: { id: `i${40_000 + i}` } } }))),
    );

    expect(await c.countDocuments({ touched: true })).toBe(1000);
    expect(await c.countDocuments({ n: -1 })).toBe(1000);
    expect(await c.estimatedDocumentCount()).toBe(50_000);
    for (const ms of [byId, byObjectId, upserts, deletes]) expect(ms).toBeLessThan(1000);
  });
});
