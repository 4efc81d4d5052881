// HTTP into the Worker under test: through its deployed entry (`exports.default.fetch`), or
// through a fresh app over chosen bindings (LOG_LEVEL above all; the suite's default is warn).
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { createApp } from "../../../src/app.ts";
import type { Role } from "../../../src/db/collections.ts";
import { createUser, type TestUser } from "./db.ts";
import { findSecret, registerSecret } from "./secrets.ts";

const BASE = "http://api.test";

export interface RequestOptions {
  method?: string;
  /** Sent JSON-encoded. */
  json?: unknown;
  /** Sent as is. Either body is labelled application/json unless `headers` give a content type. */
  body?: string;
  token?: string;
  idempotencyKey?: string;
  headers?: HeadersInit;
  /**
   * Layered over the suite's bindings; the request then goes to a fresh app built from the
   * source. A MONGODB_URI here means "this request's database is elsewhere": the suite's
   * gateway object cannot see per-request bindings, so on the gateway path such a request goes
   * through DB_GATEWAY_UNREACHABLE (a DbGateway whose database is unreachable), see entry.ts.
   * A DB_NAME alone ("another database on the suite's server") cannot be served by that object
   * either: such a request uses a client of its own (DB_ACCESS=direct), as worker-direct does.
   */
  bindings?: Record<string, string>;
}

/** The suite's env with `bindings` over it (see RequestOptions.bindings). */
export function envWith(bindings: Record<string, string>): Record<string, unknown> {
  const layered: Record<string, unknown> = { ...env, ...bindings };
  if (bindings.MONGODB_URI !== undefined) layered.DB_GATEWAY = (env as unknown as Record<string, unknown>).DB_GATEWAY_UNREACHABLE;
  else if (bindings.DB_NAME !== undefined && bindings.DB_ACCESS === undefined) layered.DB_ACCESS = "direct";
  return layered;
}

/** One request into the Worker, answered with the raw Response. */
export async function call(path: string, options: RequestOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  if (options.token) headers.set("Authorization", `Bearer ${options.token}`);
  if (options.idempotencyKey) headers.set("Idempotency-Key", options.idempotencyKey);
  const body = options.json !== undefined ? JSON.stringify(options.json) : options.body;
  if (body !== undefined && !headers.has("content-type")) headers.set("Content-Type", "application/json");
  const init: RequestInit = { method: options.method, headers, body };
  if (options.bindings === undefined) return exports.default.fetch(`${BASE}${path}`, init);
  const ctx = createExecutionContext();
  const res = await createApp().fetch(new Request(`${BASE}${path}`, init), envWith(options.bindings), ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

export function post(path: string, json: unknown, token?: string, idempotencyKey?: string): Promise<Response> {
  return call(path, { method: "POST", json, token, idempotencyKey });
}

export const errorCode = async (res: Response): Promise<string> => ((await res.json()) as { error: { code: string } }).error.code;

export interface ApiResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests inspect arbitrary JSON
  body: any;
  headers: Headers;
}

/** One request into the Worker, body parsed; fails the test if the body holds a hash or known password. */
export async function api(method: string, path: string, options: Omit<RequestOptions, "method"> = {}): Promise<ApiResponse> {
  const res = await call(path, { ...options, method });
  const text = await res.text();
  expect(findSecret(text), `${method} ${path} leaked a secret`).toBeNull();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

export const login = (json: unknown) => api("POST", "/api/auth/login", { json });
export const me = (token: string) => api("GET", "/api/auth/me", { token });

/** Logs in by email and returns the session (token and user), failing the test on any other outcome. */
export async function signIn(user: {
  email: string;
  password: string;
}): Promise<{ access_token: string; user: Record<string, unknown> }> {
  const res = await login({ email: user.email, password: user.password });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/**
 * Logs in with an initial password and chooses a new one (the API refuses everything else
 * until then); returns the fresh access token.
 */
export async function tokenAfterFirstPassword(user: { email: string; password: string }): Promise<string> {
  const session = await signIn(user);
  const newPassword = `chosen-${crypto.randomUUID()}`;
  registerSecret(newPassword);
  const res = await api("POST", "/api/auth/change-password", {
    token: session.access_token,
    json: { current_password: user.password, new_password: newPassword },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.access_token;
}

/** The access token of a successful login (see signIn). */
export async function tokenFor(user: { email: string; password: string }): Promise<string> {
  return (await signIn(user)).access_token;
}

/** A fresh user of `role` and an access token for it. */
export async function staffToken(role: Role): Promise<{ user: TestUser; token: string }> {
  const user = await createUser({ role });
  return { user, token: await tokenFor(user) };
}
