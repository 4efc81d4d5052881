import { connect, type Socket } from "node:net";
import { BSON, type Document, MongoClient, MongoServerError, type ObjectId } from "mongodb";
import { afterAll, beforeAll, expect } from "vitest";
import { type RunningServer, startServer } from "../src/server.ts";

export interface TestServer {
  server: RunningServer;
  client: MongoClient;
  uri: string;
}

/** An in-memory server and a connected client for the file's tests (filled in by beforeAll). */
export function useServer(): TestServer {
  const h = {} as TestServer;
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

/** Tests use free-form documents with numeric, string or ObjectId _ids. */
// biome-ignore lint/suspicious/noExplicitAny: conformance tests read arbitrary fields of what the server returns
export type AnyDoc = { _id?: number | string | ObjectId; [key: string]: any };

let counter = 0;
/** A fresh collection name per test so tests in a file stay independent. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${++counter}_${Date.now().toString(36)}`;
}

/** A bare wire-protocol client for what the driver will not send (malformed or hand-built messages). */
export class RawClient {
  private readonly socket: Socket;
  private buffered = Buffer.alloc(0);
  private nextId = 1;
  private readonly waiting = new Map<number, (doc: Document) => void>();
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("data", (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4 && this.buffered.length >= this.buffered.readInt32LE(0)) {
        const size = this.buffered.readInt32LE(0);
        const msg = this.buffered.subarray(0, size);
        this.buffered = this.buffered.subarray(size);
        const responseTo = msg.readInt32LE(8);
        const opCode = msg.readInt32LE(12);
        const body = opCode === 1 ? msg.subarray(36) : msg.subarray(21);
        this.waiting.get(responseTo)?.(BSON.deserialize(body));
        this.waiting.delete(responseTo);
      }
    });
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, "127.0.0.1", () => resolve(new RawClient(s)));
      s.once("error", reject);
    });
  }

  /**
   * Sends an OP_MSG with the given flags (bit 0 appends a zero checksum, bit 1 is moreToCome)
   * and resolves with the reply.
   */
  command(doc: Document, flags = 0): Promise<Document> {
    const id = this.nextId++;
    const body = BSON.serialize(doc);
    const checksum = Buffer.alloc(flags & 1 ? 4 : 0);
    const head = Buffer.alloc(21);
    head.writeInt32LE(21 + body.length + checksum.length, 0);
    head.writeInt32LE(id, 4);
    head.writeInt32LE(2013, 12);
    head.writeUInt32LE(flags, 16);
    const reply = new Promise<Document>((resolve) => this.waiting.set(id, resolve));
    this.socket.write(Buffer.concat([head, body, checksum]));
    return reply;
  }

  /** Sends a legacy OP_QUERY on admin.$cmd. */
  legacyQuery(doc: Document): Promise<Document> {
    const id = this.nextId++;
    const ns = Buffer.from("admin.$cmd\0");
    const body = BSON.serialize(doc);
    const head = Buffer.alloc(20);
    head.writeInt32LE(20 + ns.length + 8 + body.length, 0);
    head.writeInt32LE(id, 4);
    head.writeInt32LE(2004, 12);
    const skipReturn = Buffer.alloc(8);
    skipReturn.writeInt32LE(-1, 4);
    const reply = new Promise<Document>((resolve) => this.waiting.set(id, resolve));
    this.socket.write(Buffer.concat([head, ns, skipReturn, body]));
    return reply;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Awaits a promise that must reject with a server error, and returns that error. */
export async function failure(p: Promise<unknown>): Promise<MongoServerError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(MongoServerError);
  return e as MongoServerError;
}
