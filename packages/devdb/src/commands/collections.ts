// Collections and databases: listCollections, listDatabases, create, drop, dropDatabase, collStats, dbStats.
import { BSON } from "bson";
import { Query } from "mingo";
import { positiveInt } from "../cursors.ts";
import { CommandError } from "../errors.ts";
import { compileFilter } from "../query.ts";
import { type Doc, isPlainObject } from "../values.ts";
import { collName, existing, type Handler } from "./context.ts";

export const collectionHandlers: Record<string, Handler> = {
  listCollections: (x) => {
    const colls = [...(x.state.store.dbs.get(x.db)?.values() ?? [])];
    let infos: Doc[] = colls.map((c) => ({
      name: c.name,
      type: "collection",
      options: c.options,
      info: { readOnly: false, uuid: c.uuid },
      idIndex: { v: 2, key: { _id: 1 }, name: "_id_" },
    }));
    if (isPlainObject(x.cmd.filter)) {
      const q = compileFilter(x.cmd.filter);
      infos = infos.filter((i) => q.test(i));
    }
    if (x.cmd.nameOnly === true) infos = infos.map((i) => ({ name: i.name, type: i.type }));
    return {
      cursor: x.state.cursors.first(
        `${x.db}.$cmd.listCollections`,
        infos,
        positiveInt((x.cmd.cursor as Doc | undefined)?.batchSize, "batchSize"),
      ),
      ok: 1,
    };
  },
  listDatabases: (x) => {
    let dbs: Doc[] = [...x.state.store.dbs.entries()].map(([name, colls]) => {
      let size = 0;
      for (const c of colls.values()) size += c.docs.size * 64;
      return { name, sizeOnDisk: size, empty: size === 0 };
    });
    if (isPlainObject(x.cmd.filter)) {
      const q = new Query(x.cmd.filter);
      dbs = dbs.filter((d) => q.test(d));
    }
    if (x.cmd.nameOnly === true) return { databases: dbs.map((d) => ({ name: d.name })), ok: 1 };
    const totalSize = dbs.reduce((s, d) => s + Number(d.sizeOnDisk), 0);
    return { databases: dbs, totalSize, totalSizeMb: Math.floor(totalSize / 1048576), ok: 1 };
  },
  create: (x) => {
    if (existing(x) !== undefined) throw new CommandError(48, `Collection ${x.db}.${collName(x)} already exists.`);
    const options: Doc = {};
    for (const [k, v] of Object.entries(x.cmd)) {
      if (
        k !== "create" &&
        !k.startsWith("$") &&
        !["lsid", "txnNumber", "autocommit", "startTransaction", "writeConcern", "comment"].includes(k)
      )
        options[k] = v;
    }
    x.state.store.ensureCollection(x.db, collName(x), options);
    return { ok: 1 };
  },
  drop: (x) => {
    const c = existing(x);
    if (c === undefined) throw new CommandError(26, "ns not found");
    const nIndexesWas = c.indexes.size;
    x.state.store.dropCollection(c);
    return { nIndexesWas, ns: c.ns, ok: 1 };
  },
  dropDatabase: (x) => {
    for (const c of [...(x.state.store.dbs.get(x.db)?.values() ?? [])]) x.state.store.dropCollection(c);
    return { dropped: x.db, ok: 1 };
  },
  collStats: (x) => {
    const c = existing(x);
    const count = c?.docs.size ?? 0;
    let size = 0;
    if (c !== undefined) for (const d of c.docs.values()) size += BSON.calculateObjectSize(d);
    return {
      ns: `${x.db}.${collName(x)}`,
      count,
      size,
      avgObjSize: count ? Math.round(size / count) : 0,
      storageSize: size,
      nindexes: c?.indexes.size ?? 0,
      totalIndexSize: 0,
      ok: 1,
    };
  },
  dbStats: (x) => {
    const colls = [...(x.state.store.dbs.get(x.db)?.values() ?? [])];
    const objects = colls.reduce((s, c) => s + c.docs.size, 0);
    return {
      db: x.db,
      collections: colls.length,
      views: 0,
      objects,
      dataSize: objects * 64,
      storageSize: objects * 64,
      indexes: colls.reduce((s, c) => s + c.indexes.size, 0),
      ok: 1,
    };
  },
};
