// Indexes: createIndexes, listIndexes, dropIndexes.
import { positiveInt } from "../cursors.ts";
import { CommandError } from "../errors.ts";
import { normaliseIndexSpec } from "../indexes.ts";
import { type Doc, isPlainObject, keyOf } from "../values.ts";
import { collName, ensure, existing, type Handler } from "./context.ts";

export const indexHandlers: Record<string, Handler> = {
  createIndexes: (x) => {
    const indexes = x.cmd.indexes;
    if (!Array.isArray(indexes) || indexes.length === 0) throw new CommandError(2, "Must specify at least one index to create");
    for (const raw of indexes) {
      if (!isPlainObject(raw)) throw new CommandError(14, "index specification must be an object");
      normaliseIndexSpec(raw);
    }
    const createdCollection = existing(x) === undefined;
    const c = ensure(x);
    const before = c.indexes.size;
    for (const raw of indexes as Doc[]) x.state.store.createIndex(c, raw);
    const reply: Doc = {
      numIndexesBefore: before,
      numIndexesAfter: c.indexes.size,
      createdCollectionAutomatically: createdCollection,
    };
    if (before === c.indexes.size) reply.note = "all indexes already exist";
    reply.ok = 1;
    return reply;
  },
  listIndexes: (x) => {
    const c = existing(x);
    if (c === undefined) throw new CommandError(26, `ns does not exist: ${x.db}.${collName(x)}`);
    return {
      cursor: x.state.cursors.first(
        `${c.ns}`,
        c.indexSpecs(),
        positiveInt((x.cmd.cursor as Doc | undefined)?.batchSize, "batchSize"),
      ),
      ok: 1,
    };
  },
  dropIndexes: (x) => {
    const c = existing(x);
    if (c === undefined) throw new CommandError(26, `ns not found ${x.db}.${collName(x)}`);
    const was = c.indexes.size;
    const target = x.cmd.index;
    const names: string[] = [];
    if (target === "*") {
      for (const name of c.indexes.keys()) if (name !== "_id_") names.push(name);
    } else if (typeof target === "string") {
      names.push(target);
    } else if (Array.isArray(target)) {
      for (const t of target) names.push(String(t));
    } else if (isPlainObject(target)) {
      const hit = [...c.indexes.values()].find((i) => keyOf(i.spec.key) === keyOf(target));
      if (hit === undefined) throw new CommandError(27, `can't find index with key: ${JSON.stringify(target)}`);
      names.push(hit.name);
    } else {
      throw new CommandError(14, "index must be a string, array or object");
    }
    for (const name of names) {
      if (name === "_id_") throw new CommandError(72, "cannot drop _id index");
      if (!c.indexes.has(name)) throw new CommandError(27, `index not found with name [${name}]`);
    }
    for (const name of names) x.state.store.dropIndex(c, name);
    return { nIndexesWas: was, ok: 1 };
  },
};
