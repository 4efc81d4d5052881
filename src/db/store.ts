import type { Db } from "mongodb";
import { ApiError } from "../lib/errors.ts";
import { isDuplicateKey } from "./errors.ts";
import { type Operations, operations } from "./operations.ts";

type Tail<T extends unknown[]> = T extends [unknown, ...infer Rest] ? Rest : never;

/**
 * The application's data operations as the Worker calls them: the same functions as
 * `operations`, without the `Db` argument. Routes and services only ever see this interface;
 * whether a call runs on a per-request client or in the Durable Object gateway is decided
 * once per request (src/middleware/request-context.ts).
 */
export type DataStore = {
  [K in keyof Operations]: (...args: Tail<Parameters<Operations[K]>>) => ReturnType<Operations[K]>;
};
export type OperationName = keyof Operations;
export const OPERATION_NAMES = Object.keys(operations) as OperationName[];

/**
 * What crosses the boundary between the Worker and wherever the operation ran. Expected
 * refusals (an ApiError thrown by an operation, a duplicate key) travel as values: the class
 * of a thrown error does not survive RPC, and every throw from a Durable Object is logged as
 * uncaught. Infrastructure errors (database unreachable) still throw.
 */
export type OperationOutcome =
  | { ok: true; value: unknown }
  | { ok: false; status: number; code: string; message: string; details?: unknown }
  | { ok: false; duplicateKey: Record<string, unknown> };

export function isOperationName(name: unknown): name is OperationName {
  return typeof name === "string" && Object.hasOwn(operations, name);
}

/** Runs one operation against `db`, turning expected refusals into values. */
export async function runOperation(db: Db, name: OperationName, args: unknown[]): Promise<OperationOutcome> {
  if (!isOperationName(name)) throw new Error(`unknown data operation: ${String(name)}`);
  const op = operations[name] as (db: Db, ...rest: unknown[]) => Promise<unknown>;
  try {
    return { ok: true, value: await op(db, ...args) };
  } catch (err) {
    if (err instanceof ApiError) {
      const refusal = { ok: false as const, status: err.status, code: err.code, message: err.message };
      return err.details === undefined ? refusal : { ...refusal, details: err.details };
    }
    if (isDuplicateKey(err)) return { ok: false, duplicateKey: err.keyPattern ?? {} };
    throw err;
  }
}

/** A duplicate-key refusal re-raised on the Worker side; onError maps it to 409 by its key. */
export class DuplicateKeyError extends Error {
  readonly code = 11000;
  readonly keyPattern: Record<string, unknown>;
  constructor(keyPattern: Record<string, unknown>) {
    super("E11000 duplicate key");
    this.name = "DuplicateKeyError";
    this.keyPattern = keyPattern;
  }
}

export function unwrapOutcome(outcome: OperationOutcome): unknown {
  if (outcome.ok) return outcome.value;
  if ("duplicateKey" in outcome) throw new DuplicateKeyError(outcome.duplicateKey);
  throw new ApiError(outcome.status as ApiError["status"], outcome.code, outcome.message, outcome.details);
}

/** A DataStore whose every operation goes through `invoke` (a direct client, or RPC). */
export function buildStore(invoke: (name: OperationName, args: unknown[]) => Promise<OperationOutcome>): DataStore {
  const store: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const name of OPERATION_NAMES) store[name] = async (...args) => unwrapOutcome(await invoke(name, args));
  return store as DataStore;
}
