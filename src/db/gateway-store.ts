import type { AppConfig } from "../config.ts";
import type { Bindings } from "../env.ts";
import { type ClosableStore, directStore } from "./client.ts";
import { DatabaseUnavailableError } from "./errors.ts";
import type { DbGateway } from "./gateway.ts";
import { buildStore, type DataStore, type OperationOutcome } from "./store.ts";

/** 32-bit FNV-1a: a stable, cheap hash (the same key always picks the same instance). */
export function fnv1a(key: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(key)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The name of the gateway instance that serves `key`: one of `db-gateway-0` … `db-gateway-(shards-1)`. */
export function gatewayInstanceName(key: string, shards: number): string {
  return `db-gateway-${fnv1a(key) % Math.max(1, shards)}`;
}

/**
 * The key that picks a request's gateway instance: the `sub` of a bearer token when the
 * request carries one (decoded without verification; it only spreads load and keeps a
 * caller's requests on one instance, it grants nothing), otherwise the request id.
 */
export function gatewayKey(authorization: string | undefined, requestId: string): string {
  const token = /^Bearer\s+([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*$/i.exec(authorization ?? "");
  if (token) {
    try {
      const payload: unknown = JSON.parse(atob(token[2]!.replace(/-/g, "+").replace(/_/g, "/")));
      if (typeof payload === "object" && payload !== null) {
        const sub = (payload as { sub?: unknown }).sub;
        if (typeof sub === "string" && sub !== "") return `user:${sub}`;
      }
    } catch {
      // not a readable token: fall back to the request id
    }
  }
  return `request:${requestId}`;
}

/** Errors the Durable Object runtime raises itself (overloaded, reset, connection to the object lost). */
function isGatewayInfrastructureError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const flags = err as { remote?: unknown; retryable?: unknown; overloaded?: unknown };
  return flags.remote !== true && (flags.retryable === true || flags.overloaded === true);
}

/** Resolves with `work`, or rejects with DatabaseUnavailableError (→ 503) once `ms` have passed. */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailableError(`${what} gave no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } catch (err) {
    if (isGatewayInfrastructureError(err)) throw new DatabaseUnavailableError(`${what}: ${(err as Error).message}`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The data operations through the DbGateway Durable Object instance chosen by `key`. Every
 * call carries the request id (for the object's logs) and is bounded by
 * DB_GATEWAY_TIMEOUT_MS: a hung database answers 503 instead of holding the request.
 */
export function gatewayStore(
  namespace: DurableObjectNamespace<DbGateway>,
  config: AppConfig,
  key: string,
  requestId: string,
): DataStore {
  const name = gatewayInstanceName(key, config.gatewayShards);
  let stub: DurableObjectStub<DbGateway> | null = null;
  const gateway = (): DurableObjectStub<DbGateway> => {
    if (!stub) {
      const id = namespace.idFromName(name);
      stub = config.gatewayLocationHint ? namespace.get(id, { locationHint: config.gatewayLocationHint }) : namespace.get(id);
    }
    return stub;
  };
  return buildStore((operation, args) =>
    withDeadline(
      gateway().run(operation, args, requestId) as Promise<OperationOutcome>,
      config.gatewayTimeoutMs,
      `database gateway (${operation})`,
    ),
  );
}

/**
 * The request's data store: through the gateway when DB_ACCESS=gateway and the DB_GATEWAY
 * binding exists (a deployed or `wrangler dev` Worker), otherwise a client of the request's
 * own (DB_ACCESS=direct, Node scripts, `app.request` in Node).
 */
export function openStore(env: Bindings, config: AppConfig, key: string, requestId: string): ClosableStore {
  if (config.dbAccess === "gateway" && env.DB_GATEWAY) {
    return { store: gatewayStore(env.DB_GATEWAY, config, key, requestId), close: async () => undefined };
  }
  return directStore(config);
}
