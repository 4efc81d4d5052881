// What the worker tests run against (the Worker's bindings, the legacy fixture's credentials)
// and the test data they make. Every worker test file shares one database, so all data made
// here is unique (random phones, emails, names).
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import type { UserDoc } from "../../../src/db/collections.ts";
import type { Bindings } from "../../../src/env.ts";
import { normalizePhone } from "../../../src/lib/phone.ts";

export const bindings = env as unknown as Required<Pick<Bindings, "MONGODB_URI" | "DB_NAME" | "JWT_SECRET">>;

export { UNREACHABLE_DB_URI } from "./constants.ts";

export interface Credential {
  email: string;
  phone: string | null;
  password: string;
  hash_kind: "bcrypt_passlib" | "sha256_password_hash" | "sha256_password_field";
  role: UserDoc["role"];
  is_active: boolean;
  user_id: string;
}

/** credentials.json of the legacy fixture: every fixture user with its plaintext password. */
export const credentials = inject("legacyCredentials") as Credential[];

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

export const unique = (): string => crypto.randomUUID().slice(0, 8);

/** A random valid Indian mobile number (10 digits, 6-9 first), normalized. */
export function randomPhone(): string {
  const digits = crypto.getRandomValues(new Uint32Array(2));
  return `${6 + (digits[0]! % 4)}${String(digits[1]! % 1_000_000_000).padStart(9, "0")}`;
}

/** A normalized number spelled the legacy way, with +91 and spaces: "+91 98765 43210". */
export function legacySpelling(n: string): string {
  return `+91 ${n.slice(0, 5)} ${n.slice(5)}`;
}

/** Every accepted spelling of a normalized number (the spellings normalizePhone accepts). */
export function phoneSpellings(n: string): string[] {
  return [
    n,
    `+91${n}`,
    `0${n}`,
    `91${n}`,
    `${n.slice(0, 5)} ${n.slice(5)}`,
    `+91-${n.slice(0, 5)}-${n.slice(5)}`,
    legacySpelling(n),
    `(+91) ${n.slice(0, 5)}-${n.slice(5)}`,
  ];
}

/** Flips the case of every letter: Ravi.Kumar@Gmail.com → rAVI.kUMAR@gMAIL.COM. */
export function swapCase(s: string): string {
  return [...s].map((ch) => (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase())).join("");
}

export function customerBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const tag = unique();
  return {
    name: `Customer ${tag}`,
    phone: randomPhone(),
    address: `#${tag}, 4th Cross, Indiranagar, Bengaluru 560038`,
    area: "Indiranagar",
    ...overrides,
  };
}

export function subscriptionBody(productId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { product_id: productId, mode: "fixed_daily", default_qty: 2, shift: "morning", start_date: "2025-07-01", ...overrides };
}
