// The database handle a migration gets in a dry run: reads pass through, any write throws
// DryRunWriteError, which fails the run (exit 1). A migration therefore reports what it would
// change by computing it; it cannot forget a dry-run check and write anyway.
import type { Collection, Db, Document, MongoClient } from "mongodb";

export class DryRunWriteError extends Error {
  constructor(what: string) {
    super(
      `dry run: write attempted (${what}); in a dry run a migration must compute what it would change and return it, not write it`,
    );
    this.name = "DryRunWriteError";
  }
}

const COLLECTION_WRITES = new Set<PropertyKey>([
  "insertOne",
  "insertMany",
  "updateOne",
  "updateMany",
  "replaceOne",
  "deleteOne",
  "deleteMany",
  "bulkWrite",
  "findOneAndUpdate",
  "findOneAndReplace",
  "findOneAndDelete",
  "createIndex",
  "createIndexes",
  "dropIndex",
  "dropIndexes",
  "drop",
  "rename",
  "initializeOrderedBulkOp",
  "initializeUnorderedBulkOp",
  "createSearchIndex",
  "createSearchIndexes",
  "dropSearchIndex",
  "updateSearchIndex",
]);
const DB_WRITES = new Set<PropertyKey>([
  "createCollection",
  "renameCollection",
  "dropCollection",
  "dropDatabase",
  "createIndex",
  "addUser",
  "removeUser",
  "setProfilingLevel",
]);
const CLIENT_WRITES = new Set<PropertyKey>(["bulkWrite"]);
/** db.command() is allowed only for these (reads); anything else could write. */
const READ_COMMANDS = new Set([
  "ping",
  "hello",
  "ismaster",
  "buildinfo",
  "listcollections",
  "listindexes",
  "count",
  "find",
  "distinct",
  "collstats",
  "dbstats",
  "serverstatus",
  "aggregate",
]);

function writesInPipeline(pipeline: unknown): boolean {
  return (
    Array.isArray(pipeline) &&
    pipeline.some((stage) => typeof stage === "object" && stage !== null && ("$out" in stage || "$merge" in stage))
  );
}

/** Told of every write attempt, so the runner fails the run even if a migration catches the error. */
export type OnWriteAttempt = (what: string) => void;

function refuser(onWrite: OnWriteAttempt | undefined): (what: string) => never {
  return (what) => {
    onWrite?.(what);
    throw new DryRunWriteError(what);
  };
}

/** A view of `target` whose methods run on `target` itself (the driver's classes use private state). */
function guard<T extends object>(
  target: T,
  intercept: (prop: PropertyKey, value: (...args: unknown[]) => unknown) => ((...args: unknown[]) => unknown) | undefined,
): T {
  return new Proxy(target, {
    get(obj, prop) {
      const value: unknown = Reflect.get(obj, prop, obj);
      if (typeof value !== "function") return value;
      const bound = (value as (...args: unknown[]) => unknown).bind(obj);
      return intercept(prop, bound) ?? bound;
    },
    set() {
      return false;
    },
  });
}

export function readOnlyCollection<T extends Document>(coll: Collection<T>, onWrite?: OnWriteAttempt): Collection<T> {
  const refuse = refuser(onWrite);
  const name = `${coll.dbName}.${coll.collectionName}`;
  return guard(coll, (prop, fn) => {
    if (COLLECTION_WRITES.has(prop)) return () => refuse(`${name}.${String(prop)}()`);
    if (prop === "aggregate") {
      return (pipeline: unknown, ...rest: unknown[]) =>
        writesInPipeline(pipeline) ? refuse(`${name}.aggregate() with $out/$merge`) : fn(pipeline, ...rest);
    }
    return undefined;
  });
}

export function readOnlyDb(db: Db, onWrite?: OnWriteAttempt): Db {
  const refuse = refuser(onWrite);
  return guard(db, (prop, fn) => {
    if (DB_WRITES.has(prop)) return () => refuse(`${db.databaseName}.${String(prop)}()`);
    if (prop === "collection") return (...args: unknown[]) => readOnlyCollection(fn(...args) as Collection, onWrite);
    if (prop === "collections")
      return async (...args: unknown[]) => ((await fn(...args)) as Collection[]).map((c) => readOnlyCollection(c, onWrite));
    if (prop === "aggregate") {
      return (pipeline: unknown, ...rest: unknown[]) =>
        writesInPipeline(pipeline) ? refuse(`${db.databaseName}.aggregate() with $out/$merge`) : fn(pipeline, ...rest);
    }
    if (prop === "command") {
      return (command: unknown, ...rest: unknown[]) => {
        const name = typeof command === "object" && command !== null ? Object.keys(command)[0] : undefined;
        if (name === undefined || !READ_COMMANDS.has(name.toLowerCase()))
          return refuse(`${db.databaseName}.command(${JSON.stringify(name ?? null)})`);
        if (name.toLowerCase() === "aggregate" && writesInPipeline((command as Document).pipeline))
          return refuse(`${db.databaseName}.command("aggregate") with $out/$merge`);
        return fn(command, ...rest);
      };
    }
    if (prop === "admin") return () => refuse(`${db.databaseName}.admin()`);
    return undefined;
  });
}

export function readOnlyClient(client: MongoClient, onWrite?: OnWriteAttempt): MongoClient {
  const refuse = refuser(onWrite);
  return guard(client, (prop, fn) => {
    if (CLIENT_WRITES.has(prop)) return () => refuse(`client.${String(prop)}()`);
    if (prop === "db") return (...args: unknown[]) => readOnlyDb(fn(...args) as Db, onWrite);
    return undefined;
  });
}
