// Shared by test/worker/auth-*.test.ts: HTTP into the Worker, direct driver access for setup
// and assertions, and a secret scanner applied to every response body and captured log line.
import { env, exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { MongoClient, type Db } from "mongodb";
import { expect, inject, vi } from "vitest";
import type { UserDoc } from "../../src/db/collections.ts";
import type { Bindings } from "../../src/env.ts";
import { normalizePhone } from "../../src/lib/phone.ts";
import { hashPassword } from "../../src/services/auth/passwords.ts";

export interface Credential {
  email: string;
  phone: string | null;
  password: string;
  hash_kind: "bcrypt_passlib" | "sha256_password_hash" | "sha256_password_field";
  role: UserDoc["role"];
  is_active: boolean;
  user_id: string;
}

export const credentials = inject("legacyCredentials") as Credential[];
export const bindings = env as unknown as Required<Pick<Bindings, "MONGODB_URI" | "DB_NAME" | "JWT_SECRET">>;
export const ISSUER = "earlybird-api";
export const AUDIENCE = "earlybird-app";

/** Plaintext passwords the suite uses; none may appear in a response body or a log line. */
const plaintexts = new Set(credentials.map((c) => c.password));
/** A password that appeared legitimately once (e.g. an initial password) and must not again. */
export function registerSecret(plain: string): void {
  plaintexts.add(plain);
}
const HASH_PATTERNS = [/\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}/, /(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])/i];

export function findSecret(text: string): string | null {
  for (const pattern of HASH_PATTERNS) {
    const hit = pattern.exec(text);
    if (hit) return `hash-like value ${hit[0].slice(0, 7)}…`;
  }
  for (const plain of plaintexts) if (text.includes(plain)) return `a plaintext password (${plain.length} chars)`;
  return null;
}

/** Every console line the Worker writes while the suite runs (the Worker shares the test isolate). */
export const logLines: string[] = [];
export function captureLogs(): void {
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    const original = console[method].bind(console);
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logLines.push(args.map(String).join(" "));
      original(...args);
    });
  }
}

export function expectNoSecretsInLogs(): void {
  const leaks = logLines.map(findSecret).filter(Boolean);
  expect(leaks).toEqual([]);
}

export interface ApiResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests inspect arbitrary JSON
  body: any;
  headers: Headers;
}

/** One request into the Worker; fails the test if the body holds a hash or known password. */
export async function api(
  method: string,
  path: string,
  options: { json?: unknown; rawBody?: string; token?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.json !== undefined) body = JSON.stringify(options.json);
  if (body !== undefined) headers["content-type"] ??= "application/json";
  const res = await exports.default.fetch(`http://api.test${path}`, { method, headers, body });
  const text = await res.text();
  expect(findSecret(text), `${method} ${path} leaked a secret`).toBeNull();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

export const login = (json: unknown) => api("POST", "/api/auth/login", { json });
export const me = (token: string) => api("GET", "/api/auth/me", { token });

/** A short-lived client of the shared test database (one per call, always closed). */
export async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const client = await new MongoClient(bindings.MONGODB_URI, { serverSelectionTimeoutMS: 5_000 }).connect();
  try {
    return await fn(client.db(bindings.DB_NAME));
  } finally {
    await client.close();
  }
}

export function uniqueEmail(tag = "auth"): string {
  return `${tag}-${crypto.randomUUID()}@test.earlybird.local`;
}

/** A random valid Indian mobile number, stored spelled with +91 and spaces (legacy style). */
export function uniquePhone(): { stored: string; normalized: string } {
  const digits = Array.from(crypto.getRandomValues(new Uint8Array(9)), (b) => b % 10).join("");
  const normalized = `7${digits}`;
  return { stored: `+91 ${normalized.slice(0, 5)} ${normalized.slice(5)}`, normalized };
}

export async function sha256Hex(plain: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(plain));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  phone: string | null;
}

/**
 * Inserts a user directly (as the legacy system or onboarding would have). The hash uses
 * bcrypt cost 4 to keep the suite fast; verification cost does not change the code path.
 */
export async function createUser(
  fields: Partial<UserDoc> & { plaintext?: string; hashKind?: "bcrypt" | "sha256_password_hash" | "sha256_password_field" } = {},
): Promise<TestUser> {
  const { plaintext, hashKind = "bcrypt", ...rest } = fields;
  const password = plaintext ?? `pw-${crypto.randomUUID()}`;
  plaintexts.add(password);
  const credential: Partial<UserDoc> =
    hashKind === "bcrypt"
      ? { password_hash: await hashPassword(password, 4) }
      : hashKind === "sha256_password_hash"
        ? { password_hash: await sha256Hex(password) }
        : { password: await sha256Hex(password) };
  const doc: UserDoc = {
    id: crypto.randomUUID(),
    email: uniqueEmail(),
    name: "Test User",
    role: "customer",
    is_active: true,
    ...credential,
    ...rest,
  };
  await withDb((db) => db.collection<UserDoc>("users").insertOne(doc));
  return { id: doc.id, email: doc.email, password, phone: doc.phone ?? null };
}

/** Logs in by email and returns the token, failing the test on any other outcome. */
export async function tokenFor(user: { email: string; password: string }): Promise<string> {
  const res = await login({ email: user.email, password: user.password });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.access_token as string;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Signs arbitrary claims with the test secret (or another key / algorithm) for attack tests. */
export function signClaims(claims: Record<string, unknown>, key: string = bindings.JWT_SECRET, alg: "HS256" | "HS512" = "HS256") {
  return sign(claims, key, alg);
}

export function validClaims(user: { id: string; email: string }, extra: Record<string, unknown> = {}) {
  const iat = nowSeconds();
  return { sub: user.id, email: user.email, role: "customer", iat, exp: iat + 600, iss: ISSUER, aud: AUDIENCE, ver: 0, ...extra };
}

/** Fixture users whose normalized phone no other fixture user has. */
export function usersWithUniquePhone(): (Credential & { normalized: string })[] {
  const counts = new Map<string, number>();
  for (const c of credentials) {
    const n = normalizePhone(c.phone);
    if (n) counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  return credentials
    .map((c) => ({ ...c, normalized: normalizePhone(c.phone) ?? "" }))
    .filter((c) => c.normalized !== "" && counts.get(c.normalized) === 1);
}

/** The fixture's phone-sharing groups (several users, one normalized number). */
export function sharedPhoneGroups(): Credential[][] {
  const groups = new Map<string, Credential[]>();
  for (const c of credentials) {
    const n = normalizePhone(c.phone);
    if (n) groups.set(n, [...(groups.get(n) ?? []), c]);
  }
  return [...groups.values()].filter((g) => g.length > 1);
}

/** Every accepted spelling of a normalized number (SPEC §6). */
export function phoneSpellings(n: string): string[] {
  return [
    n,
    `+91${n}`,
    `0${n}`,
    `91${n}`,
    `${n.slice(0, 5)} ${n.slice(5)}`,
    `+91-${n.slice(0, 5)}-${n.slice(5)}`,
    `+91 ${n.slice(0, 5)} ${n.slice(5)}`,
    `(+91) ${n.slice(0, 5)}-${n.slice(5)}`,
  ];
}

/** Flips the case of every letter: Ravi.Kumar@Gmail.com → rAVI.kUMAR@gMAIL.COM. */
export function swapCase(s: string): string {
  return [...s].map((ch) => (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase())).join("");
}
