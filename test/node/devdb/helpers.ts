import { MongoClient, type ObjectId } from "mongodb";
import { afterAll, beforeAll } from "vitest";
import { type RunningServer, startServer } from "../../../scripts/devdb/server.ts";

export interface Harness {
  server: RunningServer;
  client: MongoClient;
}

/** Starts an in-memory server and a connected client for the file's tests. */
export function useServer(): Harness {
  const h = {} as Harness;
  beforeAll(async () => {
    h.server = await startServer();
    h.client = new MongoClient(h.server.uri);
    await h.client.connect();
  });
  afterAll(async () => {
    await h.client?.close();
    await h.server?.stop();
  });
  return h;
}

/** Tests use free-form documents with numeric, string or ObjectId _ids. */
export type AnyDoc = { _id?: number | string | ObjectId; [key: string]: any };

let counter = 0;
/** A fresh collection name per test so tests in a file stay independent. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${++counter}_${Date.now().toString(36)}`;
}
