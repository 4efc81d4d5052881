import { MongoClient, type ClientSession, type Db } from "mongodb";
import type { AppConfig } from "../config.ts";

/**
 * Opens a client for one request. Workers forbid I/O objects from crossing requests
 * ("Cannot perform I/O on behalf of a different request"), so a client cannot be cached
 * in module scope; the caller must close it when the request ends.
 */
export function createRequestClient(config: AppConfig): MongoClient {
  return new MongoClient(config.mongodbUri, {
    maxPoolSize: 1,
    minPoolSize: 0,
    serverSelectionTimeoutMS: config.serverSelectionTimeoutMs,
    connectTimeoutMS: config.serverSelectionTimeoutMs,
    serverMonitoringMode: "poll",
    appName: "earlybird-edge",
  });
}

export interface LazyDb {
  get(): Promise<Db>;
  close(): Promise<void>;
}

/** Defers connecting until a handler needs the database, so bare routes pay nothing. */
export function lazyDb(config: AppConfig): LazyDb {
  let client: MongoClient | null = null;
  let pending: Promise<Db> | null = null;
  return {
    get() {
      if (!pending) {
        client = createRequestClient(config);
        const opened = client;
        pending = opened.connect().then((connected) => connected.db(config.dbName));
        // A failed connect must not be cached: a later call in the same request may retry.
        pending.catch(() => {
          pending = null;
        });
      }
      return pending;
    },
    async close() {
      const opened = client;
      client = null;
      pending = null;
      if (opened) await opened.close().catch(() => undefined);
    },
  };
}

/** A MongoDB duplicate-key error (E11000); `keyPattern` names the unique index's fields. */
export function isDuplicateKey(err: unknown): err is { code: 11000; keyPattern?: Record<string, unknown> } {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === 11000;
}

/** Errors meaning "the database could not be reached", which the API reports as 503. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return /^Mongo(ServerSelection|Network|NetworkTimeout|NotConnected|TopologyClosed|ParseError)Error$/.test(err.name)
    || (err.name === "MongoServerError" && [6, 7, 89, 91, 189, 11600, 11602, 13435, 13436].includes(Number((err as { code?: unknown }).code)));
}

/**
 * Runs `fn` in one multi-document transaction on the request's client (`db.client`).
 * The driver retries the whole callback on TransientTransactionError (e.g. WriteConflict),
 * so `fn` must be safe to run again: build documents outside, write them inside. Any error
 * thrown by `fn` aborts the transaction and is rethrown.
 */
export async function withTransaction<T>(db: Db, fn: (session: ClientSession) => Promise<T>): Promise<T> {
  const session = db.client.startSession();
  try {
    return await session.withTransaction(fn, {
      readConcern: { level: "snapshot" },
      writeConcern: { w: "majority" },
      readPreference: "primary",
    });
  } finally {
    await session.endSession().catch(() => undefined);
  }
}
