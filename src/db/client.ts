import { type Db, MongoClient, type MongoClientOptions } from "mongodb";
import type { AppConfig } from "../config.ts";
import { buildStore, type DataStore, runOperation } from "./store.ts";

/**
 * Driver options shared by every client this application opens: bounded timeouts so that a
 * dead or hung database fails a request instead of holding it, polling monitors (no
 * streaming hello), and a small pool (Workers allow 6 outgoing connections per invocation).
 */
export function clientOptions(config: AppConfig, overrides: MongoClientOptions = {}): MongoClientOptions {
  return {
    maxPoolSize: 1,
    minPoolSize: 0,
    serverSelectionTimeoutMS: config.serverSelectionTimeoutMs,
    connectTimeoutMS: config.serverSelectionTimeoutMs,
    serverMonitoringMode: "poll",
    appName: "earlybird-edge",
    ...overrides,
  };
}

export interface LazyDb {
  get(): Promise<Db>;
  close(): Promise<void>;
}

/**
 * Defers connecting until an operation needs the database, so bare routes pay nothing.
 * Workers forbid I/O objects from crossing requests ("Cannot perform I/O on behalf of a
 * different request"), so a direct client lives for one request and is closed after it.
 */
export function lazyDb(config: AppConfig, options?: MongoClientOptions): LazyDb {
  let client: MongoClient | null = null;
  let pending: Promise<Db> | null = null;
  return {
    get() {
      if (!pending) {
        client = new MongoClient(config.mongodbUri, clientOptions(config, options));
        const opened = client;
        pending = opened.connect().then((connected) => connected.db(config.dbName));
        // A failed connect must not be cached (a later call retries with a fresh client), and
        // its client is closed so that no monitor or socket of it lingers.
        const attempt = pending;
        attempt.catch(() => {
          if (pending === attempt) {
            pending = null;
            client = null;
          }
          void opened.close().catch(() => undefined);
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

export interface ClosableStore {
  store: DataStore;
  close(): Promise<void>;
}

/** The data operations on a client of this request's own (`DB_ACCESS=direct`, Node scripts). */
export function directStore(config: AppConfig): ClosableStore {
  const database = lazyDb(config);
  return {
    store: buildStore(async (name, args) => runOperation(await database.get(), name, args)),
    close: database.close,
  };
}
