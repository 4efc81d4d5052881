// TTL indexes: documents whose indexed date is older than expireAfterSeconds are removed by a
// periodic pass, as MongoDB's TTL monitor does (every 60 s there; every 2 s here).
import type { ServerState } from "./state.ts";
import { lockKey } from "./transactions.ts";
import { pathValues } from "./values.ts";

/** Deletes expired documents; returns whether anything was deleted. */
export function expireTtl(state: ServerState, now = Date.now()): boolean {
  let deleted = false;
  for (const colls of state.store.dbs.values()) {
    for (const c of colls.values()) {
      for (const index of c.indexes.values()) {
        const seconds = Number(index.spec.expireAfterSeconds);
        if (index.fields.length !== 1 || !Number.isFinite(seconds)) continue;
        const field = index.fields[0] as string;
        const cutoff = now - seconds * 1000;
        const expired: string[] = [];
        for (const [id, doc] of c.docs) {
          const dates = pathValues(doc, field).filter((v): v is Date => v instanceof Date);
          if (dates.length === 0 || Math.min(...dates.map((d) => d.getTime())) > cutoff) continue;
          if (!state.sessions.locks.has(lockKey(c, id))) expired.push(id);
        }
        if (expired.length > 0) {
          state.store.apply(expired.map((id) => ({ coll: c, id, doc: undefined })));
          deleted = true;
        }
      }
    }
  }
  return deleted;
}
