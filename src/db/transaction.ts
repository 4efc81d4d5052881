import type { ClientSession, Db } from "mongodb";

/**
 * Runs `fn` in one multi-document transaction on the client of `db`. The driver retries the
 * whole callback on TransientTransactionError (e.g. WriteConflict, a step-down), so `fn`
 * must be safe to run again: build documents outside, write them inside. Any error thrown by
 * `fn` aborts the transaction and is rethrown.
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
