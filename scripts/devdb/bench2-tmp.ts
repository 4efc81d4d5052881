import { ServerState, runCommand } from "./commands.ts";
const state = new ServerState();
const conn = { id: 1, me: "x", peer: "y" };
await runCommand(state, "b", { createIndexes: "x", indexes: [{ key: { id: 1 }, name: "id_1", unique: true }, { key: { email: 1 }, name: "email_1", unique: true, collation: { locale: "en", strength: 2 } }] }, conn);
let t = performance.now();
for (let b = 0; b < 50; b++) {
  const documents = Array.from({ length: 1000 }, (_, i) => ({ id: `u${b * 1000 + i}`, email: `e${b * 1000 + i}@x.io`, n: i }));
  const r = await runCommand(state, "b", { insert: "x", documents }, conn);
  if (r.writeErrors) console.log(r);
}
console.log("insert 50k", performance.now() - t);
t = performance.now();
const r = await runCommand(state, "b", { count: "x", query: { n: { $gt: 500 } } }, conn);
console.log("count", r.n, performance.now() - t);
const time = async (label: string, cmd: Record<string, unknown>) => {
  const t0 = performance.now();
  const r = await runCommand(state, "b", cmd, conn);
  console.log(label, (performance.now() - t0).toFixed(1), "ms", r.ok, r.n ?? "", r.nModified ?? "", r.writeErrors ? "ERR" : "");
};
await time("1000 updates by id", { update: "x", updates: Array.from({ length: 1000 }, (_, i) => ({ q: { id: `u${i * 7}` }, u: { $inc: { n: 1 } } })) });
const ids = [...state.store.collection("b", "x")!.docs.values()].slice(0, 1000).map((d) => d._id);
await time("1000 updates by _id", { update: "x", updates: ids.map((_id) => ({ q: { _id }, u: { $set: { z: 1 } } })) });
await time("1000 upserts", { update: "x", updates: Array.from({ length: 1000 }, (_, i) => ({ q: { id: `new${i}` }, u: { $set: { n: 1 }, $setOnInsert: { email: `new${i}@x.io` } }, upsert: true })) });
for (let rep = 0; rep < 3; rep++) await time("find sort limit", { find: "x", filter: { n: 3 }, sort: { id: -1 }, limit: 10 });
for (let rep = 0; rep < 3; rep++) await time("count n=3", { count: "x", query: { n: 3 } });
await time("find all", { find: "x", filter: {}, batchSize: 100000 });
await time("find sort limit", { find: "x", filter: { n: 3 }, sort: { id: -1 }, limit: 10 });
await time("aggregate group", { aggregate: "x", pipeline: [{ $group: { _id: "$n", c: { $sum: 1 } } }], cursor: {} });
await time("deleteMany", { delete: "x", deletes: [{ q: { n: { $lt: 100 } }, limit: 0 }] });
