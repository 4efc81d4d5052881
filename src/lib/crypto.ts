// Small Web Crypto helpers shared by sessions, rate limits, one-time codes and the SMS webhook.

const utf8 = new TextEncoder();

export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** `bytes` random bytes as base64url (32 bytes = 256 bits → 43 characters). */
export function randomToken(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** SHA-256 of a UTF-8 string, base64url. For high-entropy values only (refresh tokens). */
export async function sha256Base64url(value: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(value))));
}

export async function hmacSha256(key: string, message: string): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey("raw", utf8.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, utf8.encode(message)));
}

/**
 * A keyed hash of a low-entropy value (an email, a phone, a one-time code) under the JWT
 * secret, base64url: stable for lookups, useless to someone who reads the database without
 * the key. `purpose` separates the uses so one hash never stands for another.
 */
export async function keyedHash(secret: string, purpose: string, value: string): Promise<string> {
  return base64url(await hmacSha256(secret, `${purpose}\u0000${value}`));
}

/** A uniformly random string of `length` decimal digits (rejection sampling, no modulo bias). */
export function randomDigits(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < 250) out += String(byte % 10);
      if (out.length === length) break;
    }
  }
  return out;
}
