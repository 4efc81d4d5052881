// Transactions and sessions: commitTransaction, abortTransaction, endSessions. (Starting a
// transaction and retryable-write bookkeeping happen in the dispatcher, ../commands.ts.)
import { CommandError } from "../errors.ts";
import { isPlainObject, keyOf } from "../values.ts";
import type { Handler } from "./context.ts";

export const sessionHandlers: Record<string, Handler> = {
  endSessions: (x) => {
    for (const lsid of (x.cmd.endSessions as unknown[]) ?? []) {
      if (isPlainObject(lsid)) x.state.sessions.end(keyOf(lsid.id));
    }
    return { ok: 1 };
  },
  commitTransaction: (x) => {
    if (x.op.txn === null) throw new CommandError(20, "commitTransaction must be run within a transaction");
    x.state.sessions.commit(x.op.txn);
    return { ok: 1 };
  },
  abortTransaction: (x) => {
    const t = x.op.txn;
    if (t === null) throw new CommandError(20, "abortTransaction must be run within a transaction");
    if (t.state === "committed") throw new CommandError(256, "Transaction committed");
    x.state.sessions.abort(t);
    return { ok: 1 };
  },
};
