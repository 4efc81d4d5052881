// explain for find, count and aggregate (its leading $match): MongoDB's queryPlanner/executionStats shape.
import os from "node:os";
import { positiveInt } from "../cursors.ts";
import { CommandError } from "../errors.ts";
import { collationStrength } from "../indexes.ts";
import { type Plan, planQuery, planStages } from "../planner.ts";
import { matchDocs } from "../query.ts";
import { SERVER_VERSION } from "../state.ts";
import type { Collection } from "../store.ts";
import { type Doc, isPlainObject } from "../values.ts";
import { type Ctx, collName, commandName, type Handler } from "./context.ts";
import { findDocs } from "./crud.ts";

const verbosities = new Set(["queryPlanner", "executionStats", "allPlansExecution"]);

/** queryPlanner (and executionStats when run) for the documents `filter` selects in `c`. */
function explainScan(
  x: Ctx,
  c: Collection | undefined,
  filter: Doc,
  run: (() => { plan: Plan | null; nReturned: number }) | null,
  wrap: (base: Doc) => Doc,
): Doc {
  const ns = `${x.db}.${collName(x)}`;
  const started = Date.now();
  let plan: Plan | null = null;
  let nReturned: number | undefined;
  if (run !== null) {
    const r = run();
    plan = r.plan;
    nReturned = r.nReturned;
  } else if (c !== undefined) {
    const sort = isPlainObject(x.cmd.sort) && Object.keys(x.cmd.sort).length > 0 ? (x.cmd.sort as Doc) : undefined;
    plan = planQuery(c, filter, collationStrength(x.cmd.collation), sort, x.op.txn === null);
  }
  const base: Doc =
    c === undefined || plan === null
      ? { stage: "EOF", ...(nReturned !== undefined ? { nReturned: 0 } : {}) }
      : wrap(planStages(plan, filter, ns, nReturned));
  const strip = (d: Doc): Doc => {
    const { nReturned: _n, docsExamined: _d, keysExamined: _k, ...rest } = d;
    return isPlainObject(rest.inputStage) ? { ...rest, inputStage: strip(rest.inputStage) } : rest;
  };
  const out: Doc = {
    queryPlanner: {
      namespace: ns,
      indexFilterSet: false,
      parsedQuery: filter,
      maxIndexedOrSolutionsReached: false,
      maxIndexedAndSolutionsReached: false,
      maxScansToExplodeReached: false,
      winningPlan: strip(base),
      rejectedPlans: [],
    },
  };
  if (nReturned !== undefined) {
    out.executionStats = {
      executionSuccess: true,
      nReturned,
      executionTimeMillis: Date.now() - started,
      totalKeysExamined: plan?.stats.keysExamined ?? 0,
      totalDocsExamined: plan?.stats.docsExamined ?? 0,
      executionStages: base,
    };
  }
  return out;
}

export function explainCommand(x: Ctx, verbosity: string): Doc {
  const name = commandName(x.cmd);
  const exec = verbosity !== "queryPlanner";
  const c = x.state.store.collection(x.db, collName(x));
  const cmd = x.cmd;
  let result: Doc;
  if (name === "find") {
    const filter = (cmd.filter ?? {}) as Doc;
    const skip = positiveInt(cmd.skip, "skip") ?? 0;
    const limit = Math.abs(Number(cmd.limit ?? 0));
    const hasSort = isPlainObject(cmd.sort) && Object.keys(cmd.sort).length > 0;
    let sortedByIndex = false;
    result = explainScan(
      x,
      c,
      filter,
      exec
        ? () => {
            const r = findDocs(x, c, cmd, skip, limit);
            sortedByIndex = r.plan?.sorted === true;
            return { plan: r.plan, nReturned: r.docs.length };
          }
        : null,
      (base) => {
        let plan = base;
        if (
          hasSort &&
          !(
            sortedByIndex ||
            (!exec && c !== undefined && planQuery(c, filter, collationStrength(cmd.collation), cmd.sort as Doc, true).sorted)
          )
        ) {
          plan = { stage: "SORT", sortPattern: cmd.sort, memLimit: 104857600, type: "simple", inputStage: plan };
        }
        if (skip > 0) plan = { stage: "SKIP", skipAmount: skip, inputStage: plan };
        if (limit > 0) plan = { stage: "LIMIT", limitAmount: limit, inputStage: plan };
        return plan;
      },
    );
  } else if (name === "count") {
    const filter = (cmd.query ?? {}) as Doc;
    result = explainScan(
      x,
      c,
      filter,
      exec
        ? () => {
            let plan: Plan | null = null;
            const n = matchDocs(x.op, c, filter, { collation: cmd.collation, onPlan: (p) => (plan = p) }).length;
            return { plan, nReturned: n };
          }
        : null,
      (base) => ({ stage: "COUNT", inputStage: base }),
    );
  } else if (name === "aggregate") {
    const pipeline = cmd.pipeline;
    if (!Array.isArray(pipeline)) throw new CommandError(14, "'pipeline' option must be specified as an array");
    const first = pipeline[0] as Doc | undefined;
    const filter = first !== undefined && isPlainObject(first.$match) ? (first.$match as Doc) : {};
    const rest = (first !== undefined && isPlainObject(first.$match) ? pipeline.slice(1) : pipeline) as Doc[];
    const scan = explainScan(
      x,
      c,
      filter,
      exec
        ? () => {
            let plan: Plan | null = null;
            const n = matchDocs(x.op, c, filter, { collation: cmd.collation, onPlan: (p) => (plan = p) }).length;
            return { plan, nReturned: n };
          }
        : null,
      (base) => base,
    );
    result = rest.length === 0 ? scan : { explainVersion: "1", stages: [{ $cursor: scan }, ...rest] };
  } else {
    throw new CommandError(2, `explain is not supported for ${name} by the embedded server`);
  }
  if (result.explainVersion === undefined) result = { explainVersion: "1", ...result };
  const { $db: _db, lsid: _l, $clusterTime: _ct, ...command } = cmd;
  return {
    ...result,
    command,
    serverInfo: { host: os.hostname(), port: 0, version: SERVER_VERSION, gitVersion: "devdb" },
    ok: 1,
  };
}

export const explainHandlers: Record<string, Handler> = {
  explain: (x) => {
    const inner = x.cmd.explain;
    if (!isPlainObject(inner)) throw new CommandError(2, "explain command requires a nested object");
    const verbosity = x.cmd.verbosity === undefined ? "allPlansExecution" : String(x.cmd.verbosity);
    if (!verbosities.has(verbosity))
      throw new CommandError(2, `verbosity string must be one of {'queryPlanner', 'executionStats', 'allPlansExecution'}`);
    return explainCommand({ ...x, cmd: inner }, verbosity);
  },
};
