// Embedded MongoDB-wire-compatible server for development and tests: a one-node replica set
// ("rs0") that the official driver can use with sessions, retryable writes and transactions.
import net from "node:net";
import { runCommand } from "./commands.ts";
import { CommandError, errorReply } from "./errors.ts";
import { lockDir } from "./lock.ts";
import { Persistence } from "./persistence.ts";
import type { StepDownInfo, StepDownOptions } from "./replication.ts";
import { type Connection, SESSION_TIMEOUT_MINUTES, ServerState, type Stats } from "./state.ts";
import { expireTtl } from "./ttl.ts";
import { encodeReply, MAX_MESSAGE_BYTES, ProtocolError, parseMessage } from "./wire.ts";

export type { StepDownInfo, StepDownOptions } from "./replication.ts";

const TTL_PASS_TICKS = 2;

export interface StartOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Data directory; absent means in memory only. */
  dir?: string;
  quiet?: boolean;
}

export interface RunningServer {
  uri: string;
  host: string;
  port: number;
  stop(): Promise<void>;
  stats(): Stats;
  /**
   * Simulates an election, as during a rolling upgrade: open transactions abort, writes waiting
   * on a lock fail with InterruptedDueToReplStateChange (11602), and writes fail with
   * NotWritablePrimary (10107, labelled RetryableWriteError for retryable writes and
   * TransientTransactionError inside transactions) while hello reports a secondary for `ms`
   * and for the next `failNextWrites` writes. Then the node is primary with a new electionId.
   */
  stepDown(opts?: StepDownOptions): StepDownInfo;
  /**
   * Queries (find, count, distinct, aggregate's leading $match, update/delete filters, $lookup)
   * answered by a collection scan rather than an index: in `ns` ("db.coll"), or in total.
   * Also in serverStatus().metrics.queryExecutor.collectionScans.{total, byNamespace}.
   */
  collectionScans(ns?: string): number;
}

function formatHostPort(address: string | undefined, port: number | undefined): string {
  let host = address ?? "127.0.0.1";
  if (host.startsWith("::ffff:")) host = host.slice(7);
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Splits the byte stream into messages and runs them one after another. */
function serveConnection(state: ServerState, socket: net.Socket, id: number, log: (msg: string) => void): void {
  const conn: Connection = {
    id,
    me: formatHostPort(socket.localAddress, socket.localPort),
    peer: formatHostPort(socket.remoteAddress, socket.remotePort),
  };
  let chunks: Buffer[] = [];
  let buffered = 0;
  let queue = Promise.resolve();
  let closed = false;

  const fail = (why: string): void => {
    if (closed) return;
    closed = true;
    log(`closing connection ${id}: ${why}`);
    socket.destroy();
  };

  const handle = async (msg: Buffer): Promise<void> => {
    if (closed) return;
    let req: ReturnType<typeof parseMessage>;
    try {
      req = parseMessage(msg);
    } catch (e) {
      fail(e instanceof ProtocolError ? e.message : String(e));
      return;
    }
    const reply = await runCommand(state, req.db, req.command, conn);
    if (req.moreToCome || closed) return;
    let out: Buffer;
    try {
      out = encodeReply(req, reply);
    } catch (e) {
      out = encodeReply(req, errorReply(new CommandError(10334, `reply could not be encoded: ${(e as Error).message}`)));
    }
    socket.write(out);
  };

  socket.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    buffered += chunk.length;
    while (buffered >= 4 && !closed) {
      let head = chunks[0] as Buffer;
      if (head.length < 4) {
        head = Buffer.concat(chunks);
        chunks = [head];
      }
      const size = head.readInt32LE(0);
      if (size < 21 || size > MAX_MESSAGE_BYTES) {
        fail(`bad message length ${size}`);
        return;
      }
      if (buffered < size) return;
      const all = chunks.length === 1 ? head : Buffer.concat(chunks);
      const msg = all.subarray(0, size);
      const rest = all.subarray(size);
      chunks = rest.length > 0 ? [rest] : [];
      buffered = rest.length;
      queue = queue.then(() => handle(msg)).catch((e: unknown) => fail(String(e)));
    }
  });
  socket.on("error", () => fail("socket error"));
  socket.on("close", () => {
    closed = true;
    state.stats.connectionsActive--;
  });
}

export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const host = opts.host ?? "127.0.0.1";
  const log = opts.quiet === false ? (msg: string) => console.error(`[devdb] ${msg}`) : () => {};
  const state = new ServerState();
  const lock = opts.dir !== undefined ? await lockDir(opts.dir) : null;
  let persistence: Persistence | null;
  try {
    persistence = opts.dir !== undefined ? new Persistence(opts.dir, state.store) : null;
  } catch (e) {
    lock?.release();
    throw e;
  }
  if (persistence !== null) state.flush = () => persistence.flush();

  const sockets = new Set<net.Socket>();
  let nextConnectionId = 1;
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    state.stats.connectionsOpened++;
    state.stats.connectionsActive++;
    serveConnection(state, socket, nextConnectionId++, log);
  });
  server.maxConnections = 10_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    persistence?.close();
    lock?.release();
    throw e;
  }
  const address = server.address() as net.AddressInfo;
  const port = address.port;

  let ticks = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    state.sessions.expire(now, SESSION_TIMEOUT_MINUTES * 60_000);
    state.cursors.expire(now);
    if (++ticks % TTL_PASS_TICKS === 0 && expireTtl(state, now)) state.flush();
  }, 1000);
  timer.unref();

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      clearInterval(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      state.sessions.abortAll();
      persistence?.close();
      lock?.release();
    })();
    return stopped;
  };

  const uriHost = host.includes(":") ? `[${host}]` : host;
  return {
    uri: `mongodb://${uriHost}:${port}/?directConnection=true`,
    host,
    port,
    stop,
    stats: () => ({ ...state.stats, commands: { ...state.stats.commands } }),
    stepDown: (o) => state.repl.stepDown(o),
    collectionScans: (ns) => (ns === undefined ? state.store.collectionScansTotal : (state.store.collectionScans.get(ns) ?? 0)),
  };
}
