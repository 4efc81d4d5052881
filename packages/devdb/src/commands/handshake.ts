// Handshake and diagnostics: hello/isMaster, ping, buildInfo, hostInfo, serverStatus and friends.
import os from "node:os";
import { Long, Timestamp } from "bson";
import { MAX_WIRE_VERSION, SERVER_VERSION, SESSION_TIMEOUT_MINUTES } from "../state.ts";
import type { Doc } from "../values.ts";
import type { Ctx, Handler } from "./context.ts";

function helloReply(x: Ctx, legacyName: boolean): Doc {
  const me = x.conn.me;
  const now = new Date();
  const repl = x.state.repl;
  const primary = repl.isPrimary(now.getTime());
  const opTime = { ts: new Timestamp({ t: Math.floor(now.getTime() / 1000), i: 1 }), t: Long.fromNumber(repl.term) };
  return {
    ...(legacyName ? { ismaster: primary } : { isWritablePrimary: primary }),
    hosts: [me],
    setName: repl.setName,
    setVersion: repl.setVersion,
    secondary: !primary,
    ...(primary ? { primary: me } : {}),
    me,
    ...(primary ? { electionId: repl.electionId } : {}),
    lastWrite: { opTime, lastWriteDate: now, majorityOpTime: opTime, majorityWriteDate: now },
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: now,
    logicalSessionTimeoutMinutes: SESSION_TIMEOUT_MINUTES,
    connectionId: x.conn.id,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
    helloOk: true,
    ok: 1,
  };
}

export const handshakeHandlers: Record<string, Handler> = {
  hello: (x) => helloReply(x, false),
  isMaster: (x) => helloReply(x, true),
  ismaster: (x) => helloReply(x, true),
  ping: () => ({ ok: 1 }),
  buildInfo: () => ({
    version: SERVER_VERSION,
    gitVersion: "devdb",
    versionArray: [7, 0, 14, 0],
    bits: 64,
    debug: false,
    maxBsonObjectSize: 16 * 1024 * 1024,
    storageEngines: ["devdb"],
    modules: [],
    javascriptEngine: "none",
    ok: 1,
  }),
  hostInfo: () => ({
    system: {
      currentTime: new Date(),
      hostname: os.hostname(),
      cpuAddrSize: 64,
      memSizeMB: Math.round(os.totalmem() / 1048576),
      numCores: os.cpus().length,
      cpuArch: os.arch(),
    },
    os: { type: os.type(), name: os.type(), version: os.release() },
    extra: {},
    ok: 1,
  }),
  getParameter: () => ({ featureCompatibilityVersion: { version: "7.0" }, ok: 1 }),
  getCmdLineOpts: () => ({ argv: ["devdb"], parsed: {}, ok: 1 }),
  getLog: () => ({ totalLinesWritten: 0, log: [], ok: 1 }),
  whatsmyuri: (x) => ({ you: x.conn.peer, ok: 1 }),
  connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] }, ok: 1 }),
  serverStatus: (x) => ({
    host: os.hostname(),
    version: SERVER_VERSION,
    process: "mongod",
    uptime: Math.floor((Date.now() - x.state.startedAt) / 1000),
    localTime: new Date(),
    connections: { current: x.state.stats.connectionsActive, totalCreated: x.state.stats.connectionsOpened },
    metrics: {
      queryExecutor: {
        collectionScans: {
          total: x.state.store.collectionScansTotal,
          nonTailable: x.state.store.collectionScansTotal,
          // devdb only: the same count per namespace.
          byNamespace: Object.fromEntries(x.state.store.collectionScans),
        },
      },
    },
    ok: 1,
  }),
};
