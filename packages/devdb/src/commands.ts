// Command dispatch: sessions, transactions, retryable writes and step-down refusals around one
// handler per command. The handlers live in commands/, one file per group.

import { adminHandlers } from "./commands/admin.ts";
import { aggregationHandlers } from "./commands/aggregation.ts";
import { collectionHandlers } from "./commands/collections.ts";
import { type Ctx, commandName, type Handler } from "./commands/context.ts";
import { crudHandlers } from "./commands/crud.ts";
import { explainHandlers } from "./commands/explain.ts";
import { handshakeHandlers } from "./commands/handshake.ts";
import { indexHandlers } from "./commands/indexes.ts";
import { sessionHandlers } from "./commands/sessions.ts";
import { CommandError, errorReply, toCommandError } from "./errors.ts";
import type { Connection, ServerState } from "./state.ts";
import { OpContext, type Session, type Txn } from "./transactions.ts";
import { type Doc, isPlainObject, keyOf } from "./values.ts";

const writeCommands = new Set(["insert", "update", "delete", "findAndModify"]);
const txnOnlyCommands = new Set(["commitTransaction", "abortTransaction"]);

const handlers: Record<string, Handler> = {
  ...handshakeHandlers,
  ...crudHandlers,
  ...explainHandlers,
  ...aggregationHandlers,
  ...indexHandlers,
  ...collectionHandlers,
  ...sessionHandlers,
  ...adminHandlers,
};

const aliases: Record<string, string> = { buildinfo: "buildInfo", HostInfo: "hostInfo" };

export async function runCommand(state: ServerState, db: string, cmd: Doc, conn: Connection): Promise<Doc> {
  const name = commandName(cmd);
  state.stats.commands[name] = (state.stats.commands[name] ?? 0) + 1;
  const handler = handlers[aliases[name] ?? name];
  if (handler === undefined) return errorReply(new CommandError(59, `no such command: '${name}'`));
  const refusal = state.repl.refuse(name, cmd);
  if (refusal !== null && !refusal.applyFirst) return errorReply(refusal.error);
  const reply = await runWithSession(state, handler, name, db, cmd, conn);
  return refusal !== null ? errorReply(refusal.error) : reply;
}

async function runWithSession(
  state: ServerState,
  handler: Handler,
  name: string,
  db: string,
  cmd: Doc,
  conn: Connection,
): Promise<Doc> {
  let session: Session | null = null;
  let txn: Txn | null = null;
  let retryable = false;
  try {
    if (isPlainObject(cmd.lsid)) session = state.sessions.session(keyOf(cmd.lsid.id));
    const txnNumber = cmd.txnNumber === undefined ? undefined : Number(cmd.txnNumber);
    if (session !== null && txnNumber !== undefined && cmd.autocommit === false) {
      txn = state.sessions.transactionFor(session, txnNumber, cmd.startTransaction === true, name);
    } else if (txnOnlyCommands.has(name)) {
      throw new CommandError(251, "no transaction in progress", {}, []);
    } else if (session !== null && txnNumber !== undefined && writeCommands.has(name)) {
      if (txnNumber < session.txnNumber) {
        throw new CommandError(
          225,
          `Retryable write with txnNumber ${txnNumber} is prohibited on session because a newer retryable write with txnNumber ${session.txnNumber} has already started on this session.`,
        );
      }
      // A retry may arrive while the first attempt still waits on a lock: share its outcome.
      if (txnNumber === session.txnNumber && session.retryReply !== null) return session.retryReply;
      if (session.txn?.state === "active") state.sessions.abort(session.txn);
      session.txnNumber = txnNumber;
      retryable = true;
    }
  } catch (e) {
    return errorReply(toCommandError(e));
  }
  if (retryable && session !== null) {
    const s = session;
    const attempt = execute(state, handler, name, db, cmd, conn, session, null);
    s.retryReply = attempt;
    const reply = await attempt;
    // Only successful writes are remembered; a failed one runs again when retried.
    if (s.retryReply === attempt && reply.ok !== 1) s.retryReply = null;
    return reply;
  }
  return execute(state, handler, name, db, cmd, conn, session, txn);
}

async function execute(
  state: ServerState,
  handler: Handler,
  name: string,
  db: string,
  cmd: Doc,
  conn: Connection,
  session: Session | null,
  txn: Txn | null,
): Promise<Doc> {
  const x: Ctx = { state, db, cmd, op: new OpContext(state.store, state.sessions, txn), conn, session };
  let reply: Doc;
  try {
    reply = await handler(x);
    if (txn !== null && Array.isArray(reply.writeErrors)) state.sessions.abort(txn);
  } catch (e) {
    const ce = toCommandError(e);
    if (txn !== null && !txnOnlyCommands.has(name)) state.sessions.abort(txn);
    reply = errorReply(ce);
  }
  // Acknowledged means durable: whatever the command wrote reaches the journal before the reply.
  state.flush();
  return reply;
}
