// The embedded database for node tests: one in-memory server per test file, on a free port,
// with a connected client; both stopped after the file.

import { type RunningServer, startServer } from "@earlybird/devdb";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll } from "vitest";

export interface EmbeddedServer {
  server: RunningServer;
  client: MongoClient;
  uri: string;
}

/** Starts the server and client in the file's beforeAll; the returned object is filled in then. */
export function useEmbeddedServer(): EmbeddedServer {
  const h = {} as EmbeddedServer;
  beforeAll(async () => {
    h.server = await startServer({ port: 0, quiet: true });
    h.uri = h.server.uri;
    h.client = await new MongoClient(h.uri).connect();
  });
  afterAll(async () => {
    await h.client?.close();
    await h.server?.stop();
  });
  return h;
}
