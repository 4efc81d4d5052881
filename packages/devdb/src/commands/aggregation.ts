// Aggregation: the aggregate command over mingo, with equality $lookup answered through indexes.
import { Aggregator, ProcessingMode } from "mingo";
import { positiveInt } from "../cursors.ts";
import { CommandError } from "../errors.ts";
import { matchDocs } from "../query.ts";
import { clone, type Doc, isPlainObject, pathValues, setPath } from "../values.ts";
import { type Ctx, existing, type Handler } from "./context.ts";
import { visibleDocs } from "./crud.ts";
import { explainCommand } from "./explain.ts";

function aggregateCursorNs(x: Ctx): string {
  return typeof x.cmd.aggregate === "string" ? `${x.db}.${x.cmd.aggregate}` : `${x.db}.$cmd.aggregate`;
}

/** `$lookup` with localField/foreignField only: answered with index lookups instead of a join scan. */
function isEqualityLookup(spec: unknown): spec is Doc {
  return (
    isPlainObject(spec) &&
    typeof spec.from === "string" &&
    typeof spec.localField === "string" &&
    typeof spec.foreignField === "string" &&
    typeof spec.as === "string" &&
    spec.pipeline === undefined &&
    spec.let === undefined
  );
}

function equalityLookup(x: Ctx, docs: Doc[], spec: Doc): Doc[] {
  const foreign = x.state.store.collection(x.db, spec.from as string);
  const as = spec.as as string;
  return docs.map((doc) => {
    const locals = pathValues(doc, spec.localField as string).map((v) => (v === undefined ? null : v));
    const joined = matchDocs(
      x.op,
      foreign,
      { [spec.foreignField as string]: { $in: locals } },
      { collation: x.cmd.collation },
    ).map((m) => clone(m.doc));
    const out = as.includes(".") ? clone(doc) : { ...doc };
    setPath(out, as, joined);
    return out;
  });
}

const readOnlyStages = new Set(["$match", "$group", "$count", "$sort", "$skip", "$limit", "$sortByCount"]);

function runPipeline(x: Ctx, input: Doc[], pipeline: Doc[]): Doc[] {
  for (const stage of pipeline) {
    const name = Object.keys(stage)[0];
    if (name === "$out" || name === "$merge") throw new CommandError(2, `${name} is not supported by the embedded server`);
  }
  const runMingo = (stages: Doc[], docs: Doc[]): Doc[] => {
    // Some mingo stages (e.g. $addFields on a dotted path) write into their input objects, which
    // here are the stored documents; stages known not to do so skip the deep copy.
    const readOnly = stages.every((stage) => readOnlyStages.has(Object.keys(stage)[0] ?? ""));
    try {
      const agg = new Aggregator(stages, {
        processingMode: readOnly ? ProcessingMode.CLONE_OFF : ProcessingMode.CLONE_INPUT,
        useStrictMode: true,
        collectionResolver: (name: string) => visibleDocs(x, x.state.store.collection(x.db, name)),
        ...(isPlainObject(x.cmd.let) ? { variables: x.cmd.let } : {}),
      });
      return agg.run(docs) as Doc[];
    } catch (e) {
      throw new CommandError(2, (e as Error).message);
    }
  };
  let docs = input;
  let segment: Doc[] = [];
  for (const stage of pipeline) {
    if (!isEqualityLookup(stage.$lookup)) {
      segment.push(stage);
      continue;
    }
    if (segment.length > 0) docs = runMingo(segment, docs);
    segment = [];
    docs = equalityLookup(x, docs, stage.$lookup);
  }
  return segment.length > 0 ? runMingo(segment, docs) : docs;
}

export const aggregationHandlers: Record<string, Handler> = {
  aggregate: (x) => {
    if (x.cmd.explain === true) return explainCommand(x, "queryPlanner");
    const pipeline = x.cmd.pipeline;
    if (!Array.isArray(pipeline)) throw new CommandError(14, "'pipeline' option must be specified as an array");
    if (!isPlainObject(x.cmd.cursor) && x.cmd.explain !== true) {
      throw new CommandError(9, "The 'cursor' option is required, except for aggregate with the explain argument");
    }
    const first = pipeline[0] as Doc | undefined;
    const prefilter = first !== undefined && isPlainObject(first.$match) ? (first.$match as Doc) : undefined;
    const input = typeof x.cmd.aggregate === "string" ? visibleDocs(x, existing(x), prefilter) : [];
    // The leading $match already ran (with the index fast path and the command's collation).
    const out = runPipeline(x, input, (prefilter === undefined ? pipeline : pipeline.slice(1)) as Doc[]);
    const cursor = x.cmd.cursor as Doc;
    return { cursor: x.state.cursors.first(aggregateCursorNs(x), out, positiveInt(cursor.batchSize, "batchSize")), ok: 1 };
  },
};
