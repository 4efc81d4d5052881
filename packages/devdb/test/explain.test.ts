// explain (find, aggregate, count) and index range scans, with the real driver.
import type { Document } from "mongodb";
import { beforeAll, describe, expect, it } from "vitest";
import { type AnyDoc, uniqueName, useServer } from "./helpers.ts";

const h = useServer();
const DB = "explain";
const coll = (name: string) => h.client.db(DB).collection<AnyDoc>(name);

/** The winning plan's stages from the root down (aggregate: the $cursor stage's plan). */
function planOf(explain: Document): Document {
  const qp = explain.queryPlanner ?? explain.stages?.[0]?.$cursor?.queryPlanner;
  return qp.winningPlan;
}
function stageNames(plan: Document): string[] {
  const out: string[] = [];
  for (let s: Document | undefined = plan; s !== undefined; s = s.inputStage) out.push(s.stage);
  return out;
}
function ixscan(explain: Document): Document | undefined {
  for (let s: Document | undefined = planOf(explain); s !== undefined; s = s.inputStage) if (s.stage === "IXSCAN") return s;
  return undefined;
}
function execStats(explain: Document): Document {
  return explain.executionStats ?? explain.stages?.[0]?.$cursor?.executionStats;
}
async function collectionScans(): Promise<number> {
  const status = await h.client.db("admin").command({ serverStatus: 1 });
  return status.metrics.queryExecutor.collectionScans.total;
}

describe("explain and index scans", () => {
  const name = uniqueName("people");
  beforeAll(async () => {
    const docs: AnyDoc[] = [];
    for (let i = 0; i < 200; i++) {
      docs.push({
        _id: i,
        age: i % 90,
        name: `user${String(i).padStart(3, "0")}`,
        city: ["paris", "oslo", "rome"][i % 3],
        score: i * 1.5,
        at: new Date(Date.UTC(2026, 0, 1 + (i % 28))),
      });
    }
    await coll(name).insertMany(docs);
    await coll(name).createIndex({ age: 1 });
    await coll(name).createIndex({ name: 1 });
    await coll(name).createIndex({ city: 1, score: 1 });
    await coll(name).createIndex({ at: -1 });
  });

  it("uses IXSCAN for equality, with bounds and execution stats", async () => {
    const e = await coll(name).find({ age: 7 }).explain("executionStats");
    expect(stageNames(planOf(e))).toEqual(["FETCH", "IXSCAN"]);
    expect(ixscan(e)).toMatchObject({ indexName: "age_1", keyPattern: { age: 1 }, indexBounds: { age: ["[7, 7]"] } });
    expect(execStats(e)).toMatchObject({ nReturned: 3, totalKeysExamined: 3, totalDocsExamined: 3 });
  });

  it("uses IXSCAN for ranges ($gt/$gte/$lt/$lte) on numbers and dates", async () => {
    const e = await coll(name)
      .find({ age: { $gt: 5, $lte: 10 } })
      .explain("executionStats");
    expect(ixscan(e)).toMatchObject({ indexName: "age_1", indexBounds: { age: ["(5, 10]"] } });
    expect(execStats(e)).toMatchObject({ nReturned: 15, totalDocsExamined: 15 });
    const open = await coll(name)
      .find({ age: { $gte: 85 } })
      .explain("queryPlanner");
    expect(ixscan(open)?.indexBounds).toEqual({ age: ["[85, inf.0]"] });
    const d = await coll(name)
      .find({ at: { $lt: new Date(Date.UTC(2026, 0, 3)) } })
      .explain("executionStats");
    expect(ixscan(d)?.indexName).toBe("at_-1");
    expect(execStats(d).nReturned).toBe(await coll(name).countDocuments({ at: { $lt: new Date(Date.UTC(2026, 0, 3)) } }));
  });

  it("uses IXSCAN for an anchored case-sensitive prefix regex, not for other regexes", async () => {
    const e = await coll(name)
      .find({ name: /^user01/ })
      .explain("executionStats");
    expect(ixscan(e)).toMatchObject({ indexName: "name_1", indexBounds: { name: ['["user01", "user02")'] } });
    expect(execStats(e)).toMatchObject({ nReturned: 10, totalDocsExamined: 10 });
    const viaOperator = await coll(name)
      .find({ name: { $regex: "^user19" } })
      .explain("executionStats");
    expect(execStats(viaOperator)).toMatchObject({ nReturned: 10, totalDocsExamined: 10 });
    expect(
      ixscan(
        await coll(name)
          .find({ name: /^user01/i })
          .explain(),
      ),
    ).toBeUndefined();
    expect(
      ixscan(
        await coll(name)
          .find({ name: /user01/ })
          .explain(),
      ),
    ).toBeUndefined();
  });

  it("uses a compound index for equality on the leading field and a range on the next", async () => {
    const e = await coll(name)
      .find({ city: "oslo", score: { $gte: 100, $lt: 200 } })
      .explain("executionStats");
    expect(ixscan(e)).toMatchObject({
      indexName: "city_1_score_1",
      indexBounds: { city: ['["oslo", "oslo"]'], score: ["[100, 200)"] },
    });
    const n = execStats(e).nReturned;
    expect(n).toBe(
      (
        await coll(name)
          .find({ city: "oslo", score: { $gte: 100, $lt: 200 } })
          .toArray()
      ).length,
    );
    expect(execStats(e).totalDocsExamined).toBe(n);
  });

  it("reports COLLSCAN when no index applies, and counts collection scans", async () => {
    const before = await collectionScans();
    const beforeNs = h.server.collectionScans(`${DB}.${name}`);
    const e = await coll(name)
      .find({ score: { $gt: 10 } })
      .explain("executionStats");
    expect(stageNames(planOf(e))).toEqual(["COLLSCAN"]);
    expect(execStats(e)).toMatchObject({ totalKeysExamined: 0, totalDocsExamined: 200 });
    await coll(name)
      .find({ age: { $in: [1, 2] } })
      .toArray();
    await coll(name).updateOne({ name: "user001" }, { $set: { touched: true } });
    await coll(name).countDocuments({ city: "rome" });
    expect(await collectionScans()).toBe(before + 1);
    await coll(name).find({ touched: true }).toArray();
    expect(await collectionScans()).toBe(before + 2);
    expect(h.server.collectionScans(`${DB}.${name}`)).toBe(beforeNs + 2);
    const status = await h.client.db("admin").command({ serverStatus: 1 });
    expect(status.metrics.queryExecutor.collectionScans.byNamespace[`${DB}.${name}`]).toBe(beforeNs + 2);
  });

  it("walks the index for a sort and stops at the limit", async () => {
    const e = await coll(name).find({}).sort({ name: -1 }).limit(3).explain("executionStats");
    expect(stageNames(planOf(e))).toEqual(["LIMIT", "FETCH", "IXSCAN"]);
    expect(ixscan(e)).toMatchObject({ indexName: "name_1", direction: "backward" });
    expect(execStats(e)).toMatchObject({ nReturned: 3, totalDocsExamined: 3 });
    expect((await coll(name).find({}).sort({ name: -1 }).limit(3).toArray()).map((d) => d.name)).toEqual([
      "user199",
      "user198",
      "user197",
    ]);
    const inMemory = await coll(name)
      .find({ age: { $lt: 3 } })
      .sort({ score: 1 })
      .explain("queryPlanner");
    expect(stageNames(planOf(inMemory))).toEqual(["SORT", "FETCH", "IXSCAN"]);
  });

  it("answers a long $in from the index", async () => {
    const before = h.server.collectionScans();
    const ids = Array.from({ length: 2000 }, (_, i) => `user${String(i).padStart(3, "0")}`);
    const e = await coll(name)
      .find({ name: { $in: ids } })
      .explain("executionStats");
    expect(ixscan(e)?.indexName).toBe("name_1");
    expect(execStats(e)).toMatchObject({ nReturned: 200, totalDocsExamined: 200 });
    expect(h.server.collectionScans()).toBe(before);
  });

  it("explains aggregate (leading $match) and count", async () => {
    const agg = await coll(name)
      .aggregate([{ $match: { age: { $lt: 2 } } }, { $group: { _id: "$city", n: { $sum: 1 } } }])
      .explain("executionStats");
    expect(ixscan(agg)?.indexName).toBe("age_1");
    expect(execStats(agg).nReturned).toBe(6);
    const onlyMatch = await coll(name)
      .aggregate([{ $match: { name: /^user1/ } }])
      .explain("queryPlanner");
    expect(ixscan(onlyMatch)?.indexName).toBe("name_1");
    const count = await h.client.db(DB).command({ explain: { count: name, query: { age: 3 } }, verbosity: "executionStats" });
    expect(stageNames(count.queryPlanner.winningPlan)).toEqual(["COUNT", "FETCH", "IXSCAN"]);
    expect(count.executionStats.nReturned).toBe(3);
  });

  it("uses a partial index only when the query implies its filter", async () => {
    const p = uniqueName("partial");
    await coll(p).insertMany([
      { _id: 1, phone: "+33100", verified: true },
      { _id: 2, phone: "+33101", verified: false },
      { _id: 3, phone: "+33102" },
    ]);
    await coll(p).createIndex({ phone: 1 }, { partialFilterExpression: { verified: true } });
    const implied = await coll(p).find({ phone: "+33100", verified: true }).explain("executionStats");
    expect(ixscan(implied)?.indexName).toBe("phone_1");
    expect(execStats(implied).nReturned).toBe(1);
    const notImplied = await coll(p).find({ phone: "+33101" }).explain("executionStats");
    expect(ixscan(notImplied)).toBeUndefined();
    expect(execStats(notImplied).nReturned).toBe(1);
    const q = uniqueName("partial_exists");
    await coll(q).insertMany([{ _id: 1, code: 5 }, { _id: 2 }]);
    await coll(q).createIndex({ code: 1 }, { partialFilterExpression: { code: { $exists: true } } });
    expect(
      ixscan(
        await coll(q)
          .find({ code: { $gte: 1 } })
          .explain(),
      )?.indexName,
    ).toBe("code_1");
    const r = uniqueName("partial_range");
    await coll(r).createIndex({ at: 1 }, { partialFilterExpression: { n: { $gt: 5 } } });
    expect(
      ixscan(
        await coll(r)
          .find({ at: 1, n: { $gt: 10 } })
          .explain(),
      )?.indexName,
    ).toBe("at_1");
    expect(
      ixscan(
        await coll(r)
          .find({ at: 1, n: { $gt: 1 } })
          .explain(),
      ),
    ).toBeUndefined();
  });

  it("uses a collation index only with the same collation (for strings)", async () => {
    const c = uniqueName("emails");
    const en2 = { locale: "en", strength: 2 };
    await coll(c).createIndex({ email: 1 }, { unique: true, collation: en2 });
    await coll(c).insertMany([{ email: "Ann@x.io" }, { email: "bob@x.io" }, { email: "Cy@x.io" }]);
    const same = await coll(c).find({ email: "ann@X.io" }, { collation: en2 }).explain("executionStats");
    expect(ixscan(same)?.indexName).toBe("email_1");
    expect(execStats(same).nReturned).toBe(1);
    const range = await coll(c)
      .find({ email: { $gte: "B" } }, { collation: en2 })
      .explain("executionStats");
    expect(ixscan(range)?.indexName).toBe("email_1");
    expect(execStats(range).nReturned).toBe(2);
    const simple = await coll(c).find({ email: "Ann@x.io" }).explain("executionStats");
    expect(ixscan(simple)).toBeUndefined();
    expect(execStats(simple).nReturned).toBe(1);
    expect(ixscan(await coll(c).find({ email: /^Ann/ }, { collation: en2 }).explain())).toBeUndefined();
  });
});

/** Deterministic pseudo-random numbers. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("index scans return what a collection scan returns", () => {
  it("for random data and random filters (property test)", async () => {
    const rand = rng(42);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const words = ["", "a", "ab", "abc", "abd", "b", "ba", "B", "Ab", "z", "zz", "a.b", "a+"];
    const value = (): unknown => {
      const r = rand();
      if (r < 0.35) return Math.floor(rand() * 20) - 5;
      if (r < 0.4) return rand() * 10;
      if (r < 0.6) return pick(words);
      if (r < 0.65) return null;
      if (r < 0.72) return new Date(Date.UTC(2026, 0, 1 + Math.floor(rand() * 10)));
      if (r < 0.8) return [Math.floor(rand() * 20) - 5, pick(words)];
      if (r < 0.83) return [];
      if (r < 0.86) return true;
      return undefined;
    };
    const docs: AnyDoc[] = [];
    for (let i = 0; i < 400; i++) {
      const d: AnyDoc = { _id: i };
      for (const f of ["a", "b", "c"]) {
        const v = value();
        if (v !== undefined) d[f] = v;
      }
      docs.push(d);
    }
    const indexed = coll(uniqueName("prop_ix"));
    const plain = coll(uniqueName("prop_scan"));
    await indexed.insertMany(docs.map((d) => ({ ...d })));
    await plain.insertMany(docs.map((d) => ({ ...d })));
    await indexed.createIndex({ a: 1 });
    await indexed.createIndex({ b: 1, c: 1 });
    await indexed.createIndex({ c: -1 }, { sparse: true });
    const scalar = (): unknown => {
      const r = rand();
      if (r < 0.5) return Math.floor(rand() * 20) - 5;
      if (r < 0.85) return pick(words);
      return new Date(Date.UTC(2026, 0, 1 + Math.floor(rand() * 10)));
    };
    const cond = (): unknown => {
      const r = rand();
      if (r < 0.2) return scalar();
      if (r < 0.3) return { $in: [scalar(), scalar(), scalar()] };
      if (r < 0.45) return { [pick(["$gt", "$gte", "$lt", "$lte"])]: scalar() };
      if (r < 0.65) return { [pick(["$gt", "$gte"])]: scalar(), [pick(["$lt", "$lte"])]: scalar() };
      if (r < 0.8) return new RegExp("^" + pick(["a", "ab", "b", "a\\.", "a\\+", "", "z"]) + pick(["", "b?", ".*", "$"]));
      if (r < 0.9) return { $regex: "^" + pick(["a", "ab"]), $options: pick(["", "i"]) };
      return { $ne: scalar() };
    };
    let indexScans = 0;
    for (let i = 0; i < 300; i++) {
      const filter: Document = {};
      for (const f of ["a", "b", "c"]) if (rand() < 0.5) filter[f] = cond();
      if (rand() < 0.15) filter.$and = [{ a: cond() }];
      const sort = pick([undefined, { a: 1 }, { a: -1 }, { b: 1, c: 1 }, { c: -1 }]);
      // Without a sort the order is the plan's (index order or natural order), as in MongoDB.
      const limit = sort === undefined ? 0 : pick([0, 0, 3]);
      const run = async (c: typeof indexed) => {
        let cursor = c.find(filter);
        if (sort !== undefined) cursor = cursor.sort({ ...sort, _id: 1 } as never);
        if (limit > 0) cursor = cursor.limit(limit);
        return cursor.toArray();
      };
      const byId = (docs: AnyDoc[]) => (sort === undefined ? [...docs].sort((x, y) => Number(x._id) - Number(y._id)) : docs);
      const expected = byId(await run(plain));
      const got = byId(await run(indexed));
      expect({ filter, sort, got }).toEqual({ filter, sort, got: expected });
      const e = await indexed.find(filter).explain("queryPlanner");
      if (ixscan(e) !== undefined) indexScans++;
      const count = await indexed.countDocuments(filter);
      expect(count).toBe(await plain.countDocuments(filter));
    }
    expect(indexScans).toBeGreaterThan(100);
  });

  it("serves single-field sorts from the index in the same order as an in-memory sort", async () => {
    const rand = rng(7);
    const docs: AnyDoc[] = [];
    for (let i = 0; i < 300; i++) docs.push({ _id: i, n: Math.floor(rand() * 50), s: `k${Math.floor(rand() * 40)}` });
    const indexed = coll(uniqueName("sort_ix"));
    const plain = coll(uniqueName("sort_scan"));
    await indexed.insertMany(docs.map((d) => ({ ...d })));
    await plain.insertMany(docs.map((d) => ({ ...d })));
    await indexed.createIndex({ n: 1 });
    await indexed.createIndex({ s: 1, n: 1 });
    for (const [filter, sort] of [
      [{}, { n: 1 }],
      [{}, { n: -1 }],
      [{ n: { $gte: 10, $lt: 30 } }, { n: 1 }],
      [{ s: "k3" }, { n: 1 }],
      [{ s: "k3" }, { n: -1 }],
    ] as [Document, Document][]) {
      for (const limit of [0, 5]) {
        const got = await indexed.find(filter).sort(sort).limit(limit).toArray();
        const expected = await plain.find(filter).sort(sort).limit(limit).toArray();
        // Ties may come in another order: compare the sort key sequence and the set of documents.
        const key = Object.keys(sort)[0] as string;
        expect(got.map((d) => d[key])).toEqual(expected.map((d) => d[key]));
        if (limit === 0) expect(got.map((d) => d._id).sort()).toEqual(expected.map((d) => d._id).sort());
      }
    }
  });
});

describe("range scans at scale", () => {
  it("answers a range query on 100k documents from the index quickly", async () => {
    const big = coll(uniqueName("big"));
    const batch: AnyDoc[] = [];
    for (let i = 0; i < 100_000; i++) batch.push({ _id: i, v: (i * 7919) % 100_000, tag: `t${i % 1000}` });
    await big.insertMany(batch);
    await big.createIndex({ v: 1 });
    await big.find({ v: { $gte: 0, $lt: 1 } }).toArray(); // builds the ordered key list once
    await big.insertOne({ _id: "late", v: 50_050 });
    const scansBefore = h.server.collectionScans();
    const started = performance.now();
    for (let i = 0; i < 20; i++) {
      const docs = await big.find({ v: { $gte: 50_000, $lt: 50_100 } }).toArray();
      expect(docs.length).toBe(101);
    }
    const perQuery = (performance.now() - started) / 20;
    expect(h.server.collectionScans()).toBe(scansBefore);
    const e = await big.find({ v: { $gte: 50_000, $lt: 50_100 } }).explain("executionStats");
    expect(execStats(e)).toMatchObject({ nReturned: 101, totalKeysExamined: 101, totalDocsExamined: 101 });
    expect(perQuery).toBeLessThan(50);
  });
});
