// Admin: replSetStepDown, and devdb's test hook devdbStepDown (see ../replication.ts).
import { CommandError } from "../errors.ts";
import { adminOnly, type Handler } from "./context.ts";

export const adminHandlers: Record<string, Handler> = {
  replSetStepDown: (x) => {
    adminOnly(x, "replSetStepDown");
    if (!x.state.repl.isPrimary()) throw new CommandError(10107, "not primary so can't step down");
    const secs = Number(x.cmd.replSetStepDown);
    if (!Number.isFinite(secs) || secs <= 0) throw new CommandError(2, "stepdown period must be a positive number of seconds");
    x.state.repl.stepDown({ ms: secs * 1000 });
    return { ok: 1 };
  },
  // Test hook (devdb only): server.stepDown(...) over the wire, e.g. from another process.
  devdbStepDown: (x) => {
    adminOnly(x, "devdbStepDown");
    const num = (v: unknown): number | undefined => (v === undefined ? undefined : Number(v));
    const info = x.state.repl.stepDown({
      ms: num(x.cmd.ms),
      failNextWrites: num(x.cmd.failNextWrites),
      writesApplied: x.cmd.writesApplied === true,
    });
    return { until: info.until, electionId: info.electionId, ok: 1 };
  },
};
