// The secret scanner applied to response bodies (support/http.ts) and captured log lines
// (support/logs.ts): bcrypt- and SHA-256-looking values, and every plaintext password the
// suite knows of.
import { bindings, credentials } from "./fixture.ts";

/** Plaintext passwords the suite uses, and the signing key; none may appear in a response body or a log line. */
const plaintexts = new Set([...credentials.map((c) => c.password), bindings.JWT_SECRET]);

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
