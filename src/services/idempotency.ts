import { type IdempotencyCompletion, idempotencyInProgress } from "../db/idempotency.ts";
import type { DataStore } from "../db/store.ts";
import { ApiError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import { deriveKeyBytes, sha256Hex, unseal } from "../lib/sealing.ts";

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** How long a claimed key stays locked to its request before a retry may take it over. */
export const IDEMPOTENCY_LEASE_MS = 60 * 1000;

export interface IdempotencyScope {
  store: DataStore;
  logger: Logger;
  /** The raw Idempotency-Key header; absent → the work simply runs. */
  key: string | undefined;
  callerId: string;
  /** Identifies the operation (e.g. the route); with the body it identifies the request. */
  scope: string;
  body: unknown;
  /** Server-side secret mixed into the key that seals recorded results (JWT_SECRET). */
  serverSecret: string;
  now: Date;
}

export interface IdempotentResult<T> {
  response: T;
  replayed: boolean;
}

/** JSON with object keys sorted, so that key order does not change a request's hash. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * Runs `work` at most once per (caller, Idempotency-Key). The first request claims the key
 * and hands `work` a completion, which the work's own transaction records (sealed, see
 * idempotentTransaction), so "done" and "recorded" happen together or not at all. Later
 * requests with the same key and body get that result again (as JSON); a different body →
 * 422; while the first still runs → 409 `idempotency_in_progress`. A failed run frees the key.
 */
export async function runIdempotent<T>(
  opts: IdempotencyScope,
  work: (completion: IdempotencyCompletion | null) => Promise<T>,
): Promise<IdempotentResult<T>> {
  if (opts.key === undefined) return { response: await work(null), replayed: false };

  const id = await sha256Hex(`${opts.callerId}\n${opts.key}`);
  const requestHash = await sha256Hex(`${opts.scope}\n${canonicalJson(opts.body)}`);
  const sealingKey = await deriveKeyBytes(opts.key, opts.serverSecret, `earlybird/idempotency/v2/${opts.callerId}`);
  const claim = await opts.store.claimIdempotencyKey({
    id,
    userId: opts.callerId,
    requestHash,
    leaseMs: IDEMPOTENCY_LEASE_MS,
    ttlMs: IDEMPOTENCY_TTL_MS,
    now: opts.now,
  });

  if (claim.kind === "existing") {
    const { record } = claim;
    if (record.request_hash !== requestHash) {
      throw new ApiError(422, "idempotency_key_reused", "This Idempotency-Key was already used with a different request.");
    }
    if (record.status !== "complete" || record.sealed_response === undefined) throw idempotencyInProgress();
    const plain = await unseal(record.sealed_response, sealingKey);
    if (plain === null) {
      // e.g. JWT_SECRET rotated since the first request: the result cannot be shown again.
      opts.logger.warn("idempotent replay: recorded result could not be unsealed");
      throw new ApiError(
        409,
        "idempotency_key_unreadable",
        "This Idempotency-Key was used before, but its result can no longer be read; use a new key.",
      );
    }
    return { response: JSON.parse(plain) as T, replayed: true };
  }

  const completion: IdempotencyCompletion = { id, leaseId: claim.leaseId, sealingKey };
  try {
    return { response: await work(completion), replayed: false };
  } catch (err) {
    await opts.store
      .releaseIdempotencyKey(id, claim.leaseId)
      .catch((releaseErr: Error) => opts.logger.warn("could not release idempotency key", { error: releaseErr.name }));
    throw err;
  }
}
