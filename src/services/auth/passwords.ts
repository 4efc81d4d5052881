import bcrypt from "bcryptjs";

export const MIN_PASSWORD_BYTES = 8;
/** bcrypt ignores everything after 72 bytes, so longer passwords are refused rather than truncated. */
export const MAX_PASSWORD_BYTES = 72;

const BCRYPT_HASH = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

export type PasswordScheme = "bcrypt" | "sha256" | "none";

/** The stored credential fields of a user document (legacy docs may use either). */
export interface StoredPassword {
  password_hash?: string | null;
  password?: string | null;
}

export interface PasswordCheck {
  ok: boolean;
  /** The password verified but is stored in a legacy scheme or below the target cost. */
  needsUpgrade: boolean;
  scheme: PasswordScheme;
  /** The stored value that was checked, for conditional (compare-and-set) upgrades. */
  stored: { field: "password_hash" | "password"; value: string } | null;
}

const utf8 = new TextEncoder();

export function passwordBytes(plain: string): number {
  return utf8.encode(plain).length;
}

export function hashPassword(plain: string, cost: number): Promise<string> {
  return bcrypt.hash(plain, cost);
}

/** Which stored value applies: `password_hash` (bcrypt or SHA-256), else SHA-256 in `password`. */
function storedCredential(doc: StoredPassword): PasswordCheck["stored"] {
  const hash = doc.password_hash;
  if (typeof hash === "string" && (BCRYPT_HASH.test(hash) || SHA256_HEX.test(hash))) {
    return { field: "password_hash", value: hash };
  }
  const legacy = doc.password;
  if (typeof legacy === "string" && SHA256_HEX.test(legacy)) return { field: "password", value: legacy };
  return null;
}

/**
 * Checks a password against a user document: bcrypt ($2a$/$2b$/$2y$, e.g. passlib's
 * `$2b$12$`) or the legacy unsalted SHA-256 hex. `targetCost` (the configured cost) flags
 * bcrypt hashes of any other cost for re-hashing, weaker or stronger: every stored hash
 * converges on BCRYPT_COST, so a wrong password costs what the dummy comparison costs.
 */
export async function verifyPassword(plain: string, doc: StoredPassword, targetCost?: number): Promise<PasswordCheck> {
  const stored = storedCredential(doc);
  if (!stored) return { ok: false, needsUpgrade: false, scheme: "none", stored: null };
  const bcryptMatch = BCRYPT_HASH.exec(stored.value);
  if (bcryptMatch) {
    const ok = await bcrypt.compare(plain, stored.value);
    const cost = Number(bcryptMatch[1]);
    return { ok, needsUpgrade: ok && targetCost !== undefined && cost !== targetCost, scheme: "bcrypt", stored };
  }
  const ok = await sha256Matches(plain, stored.value);
  return { ok, needsUpgrade: ok, scheme: "sha256", stored };
}

async function sha256Matches(plain: string, storedHex: string): Promise<boolean> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(plain)));
  return constantTimeEqual(digest, hexToBytes(storedHex));
}

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Compares every byte regardless of where the first difference is. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Dummy hashes per cost, made once per isolate on first use (a constant cache, not shared state). */
const dummyHashes = new Map<number, Promise<string>>();

function dummyHash(cost: number): Promise<string> {
  let hash = dummyHashes.get(cost);
  if (!hash) {
    // A hash of a random, discarded string: comparing against it can never succeed.
    hash = bcrypt.hash(crypto.randomUUID(), cost);
    dummyHashes.set(cost, hash);
  }
  return hash;
}

/**
 * Burns one bcrypt verification that always fails, at BCRYPT_COST: the cost every stored
 * hash is brought to on login, so an unknown account costs what a wrong password costs.
 * (The first call in an isolate also creates the dummy hash at that cost.)
 */
export async function burnDummyVerification(plain: string, configuredCost: number): Promise<void> {
  await bcrypt.compare(plain, await dummyHash(configuredCost));
}

/**
 * Rules for a password this system stores: 8–72 UTF-8 bytes (bcrypt's limit; longer would be
 * silently truncated) and no NUL character (passlib, which shares the database, rejects it).
 * Returns the problem, or null when the password is acceptable.
 */
export function validateNewPassword(plain: string): string | null {
  const bytes = passwordBytes(plain);
  if (bytes < MIN_PASSWORD_BYTES) return `Password must be at least ${MIN_PASSWORD_BYTES} bytes long.`;
  if (bytes > MAX_PASSWORD_BYTES) return `Password must be at most ${MAX_PASSWORD_BYTES} bytes long (UTF-8).`;
  if (plain.includes("\u0000")) return "Password must not contain NUL characters.";
  return null;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** Largest multiple of the alphabet size below 256: bytes above it are rejected to avoid bias. */
const UNBIASED_LIMIT = 256 - (256 % ALPHABET.length);

/** A random URL-safe password (16 alphanumerics, ~95 bits) for initial credentials. */
export function generatePassword(length = 16): string {
  if (length < 12) throw new RangeError("generated passwords have at least 12 characters");
  let out = "";
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < UNBIASED_LIMIT) out += ALPHABET[byte % ALPHABET.length];
      if (out.length === length) break;
    }
  }
  return out;
}
