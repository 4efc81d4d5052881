// Server-wide state shared by every connection and command, and the constants the handshake reports.
import { Cursors } from "./cursors.ts";
import { Replication } from "./replication.ts";
import { Store } from "./store.ts";
import { Sessions } from "./transactions.ts";

export const MAX_WIRE_VERSION = 21;
export const SERVER_VERSION = "7.0.14";
export const SESSION_TIMEOUT_MINUTES = 30;

export interface Stats {
  connectionsOpened: number;
  connectionsActive: number;
  commands: Record<string, number>;
}

export interface Connection {
  id: number;
  /** host:port the client reached us at. */
  me: string;
  /** host:port of the client. */
  peer: string;
}

export class ServerState {
  readonly store = new Store();
  readonly sessions = new Sessions(this.store);
  readonly cursors = new Cursors();
  readonly stats: Stats = { connectionsOpened: 0, connectionsActive: 0, commands: {} };
  readonly startedAt = Date.now();
  readonly repl = new Replication();
  /** Called after every command that may have written, to make the writes durable. */
  flush: () => void = () => {};

  constructor() {
    // MongoDB aborts every open transaction when the primary steps down.
    this.repl.onStepDown = () => this.sessions.abortAll();
  }
}
