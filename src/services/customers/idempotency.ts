import type { Db } from "mongodb";
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  releaseIdempotencyKey,
  type IdempotencyDoc,
} from "../../db/idempotency.ts";
import { ApiError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import type { CommitHook } from "./onboarding.ts";
import type { OnboardingResponse } from "./present.ts";

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** How long a claimed key stays locked to its request before a retry may take it over. */
export const IDEMPOTENCY_LEASE_MS = 60 * 1000;

export interface IdempotencyOptions {
  db: Db;
  logger: Logger;
  /** The raw Idempotency-Key header; absent → the operation simply runs. */
  key: string | undefined;
  callerId: string;
  /** Identifies the request: route plus the validated body. */
  scope: string;
  body: unknown;
  /** Server-side secret mixed into the key that seals the initial password (JWT_SECRET). */
  serverSecret: string | null;
}

export interface IdempotentResult {
  response: OnboardingResponse;
  replayed: boolean;
}

const utf8 = new TextEncoder();

function toHex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", utf8.encode(text)));
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
 * The initial password is kept in the idempotency record only sealed (AES-256-GCM) under a
 * key derived from the raw Idempotency-Key, which is never stored (the record's `_id` is a
 * hash), plus the server secret. Reading the database alone does not reveal it, and it is
 * deleted with the record after 24 h.
 */
async function sealingKey(rawKey: string, callerId: string, serverSecret: string | null): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", utf8.encode(rawKey), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: utf8.encode(serverSecret ?? ""),
      info: utf8.encode(`earlybird/idempotency/initial-password/v1/${callerId}`),
    },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

async function seal(plain: string, key: CryptoKey): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, utf8.encode(plain)));
  const out = new Uint8Array(iv.length + sealed.length);
  out.set(iv);
  out.set(sealed, iv.length);
  return toBase64(out);
}

async function unseal(sealed: string, key: CryptoKey): Promise<string | null> {
  try {
    const bytes = fromBase64(sealed);
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(0, 12) }, key, bytes.slice(12));
    return new TextDecoder().decode(plain);
  } catch {
    return null; // e.g. JWT_SECRET rotated since the first request
  }
}

async function replay(doc: IdempotencyDoc, opts: IdempotencyOptions): Promise<OnboardingResponse> {
  const response = JSON.parse(doc.response_body ?? "null") as OnboardingResponse;
  if (doc.sealed_password) {
    const key = await sealingKey(opts.key!, opts.callerId, opts.serverSecret);
    response.initial_password = await unseal(doc.sealed_password, key);
    if (response.initial_password === null) opts.logger.warn("idempotent replay: initial password could not be unsealed");
  }
  return response;
}

/**
 * Runs `operation` at most once per (caller, Idempotency-Key). The first request claims the
 * key; its response is recorded inside the operation's own transaction (via the commit
 * hook), so "created" and "recorded" happen together or not at all. Later requests with the
 * same key and body get that response again; a different body → 422; while the first is
 * still running → 409 `idempotency_in_progress` (retry later). A failed operation frees the key.
 */
export async function runIdempotent(
  opts: IdempotencyOptions,
  operation: (onCommit?: CommitHook) => Promise<OnboardingResponse>,
): Promise<IdempotentResult> {
  if (opts.key === undefined) return { response: await operation(), replayed: false };

  const id = await sha256Hex(`${opts.callerId}\n${opts.key}`);
  const requestHash = await sha256Hex(`${opts.scope}\n${canonicalJson(opts.body)}`);
  const claim = await claimIdempotencyKey(opts.db, {
    id,
    userId: opts.callerId,
    requestHash,
    leaseMs: IDEMPOTENCY_LEASE_MS,
    ttlMs: IDEMPOTENCY_TTL_MS,
  });

  if (claim.kind === "existing") {
    const doc = claim.doc;
    if (doc.request_hash !== requestHash) {
      throw new ApiError(422, "idempotency_key_reused", "This Idempotency-Key was already used with a different request.");
    }
    if (doc.status !== "complete") {
      throw new ApiError(409, "idempotency_in_progress", "A request with this Idempotency-Key is still being processed; retry shortly.");
    }
    return { response: await replay(doc, opts), replayed: true };
  }

  const leaseId = claim.leaseId;
  const onCommit: CommitHook = async (session, response) => {
    const sealedPassword =
      response.initial_password === null
        ? null
        : await seal(response.initial_password, await sealingKey(opts.key!, opts.callerId, opts.serverSecret));
    const recorded = await completeIdempotencyKey(
      opts.db,
      { id, leaseId, status: 201, body: JSON.stringify({ ...response, initial_password: null }), sealedPassword },
      session,
    );
    // Our lease ran out and a retry took the key over: abort so that only it creates.
    if (!recorded) {
      throw new ApiError(409, "idempotency_in_progress", "A request with this Idempotency-Key is still being processed; retry shortly.");
    }
  };

  try {
    return { response: await operation(onCommit), replayed: false };
  } catch (err) {
    await releaseIdempotencyKey(opts.db, id, leaseId).catch((releaseErr: Error) =>
      opts.logger.warn("could not release idempotency key", { error: releaseErr.name }),
    );
    throw err;
  }
}
