// Lockout per account identifier and rate limits per client IP, on fixed-window
// counters in MongoDB (src/db/rate-limits.ts) so that every Worker isolate shares them.
import type { AppConfig } from "../../config.ts";
import type { CounterWindow } from "../../db/rate-limits.ts";
import type { RequestDeps } from "../../env.ts";
import { keyedHash } from "../../lib/crypto.ts";
import { ApiError } from "../../lib/errors.ts";
import { signingSecret } from "./tokens.ts";

const IP_WINDOW_SECONDS = 60;

export interface Window extends CounterWindow {
  /** Whole seconds until the window ends (≥ 1): the Retry-After of a refusal. */
  retry_after: number;
}

/** The fixed window of `seconds` containing `now`, for the counter `scope:hash`. */
export function fixedWindow(scope: string, hash: string, now: Date, seconds: number): Window {
  const size = seconds * 1000;
  const index = Math.floor(now.getTime() / size);
  const end = (index + 1) * size;
  return {
    key: `${scope}:${hash}:${index}`,
    window_start: new Date(index * size),
    expires_at: new Date(end),
    retry_after: Math.max(1, Math.ceil((end - now.getTime()) / 1000)),
  };
}

export function tooManyRequests(retryAfter: number, message = "Too many attempts; try again later."): ApiError {
  return new ApiError(429, "too_many_requests", message, { retry_after: retryAfter });
}

/** The keyed hash an identifier is counted and audited under (never the raw email or phone). */
export function identifierHash(config: AppConfig, identifier: string): Promise<string> {
  return keyedHash(signingSecret(config), "login-identifier", identifier);
}

/** The login-failure window of an identifier hash. */
export function failureWindow(config: AppConfig, idHash: string, now: Date): Window {
  return fixedWindow("login-failures", idHash, now, config.loginFailureWindowSeconds);
}

/** The per-IP attempt window, or null without a client IP (not behind Cloudflare: not IP-limited). */
export async function ipWindow(deps: Pick<RequestDeps, "config" | "clientIp" | "now">): Promise<Window | null> {
  if (!deps.clientIp) return null;
  const hash = await keyedHash(signingSecret(deps.config), "client-ip", deps.clientIp);
  return fixedWindow("ip-attempts", hash, deps.now, IP_WINDOW_SECONDS);
}

/**
 * Counts one login/OTP/refresh attempt against the client IP and, when `idHash` is given,
 * refuses an identifier that reached LOGIN_MAX_FAILURES in the current window: 429
 * `too_many_requests` with Retry-After. Returns the identifier's failure window.
 */
export async function gateAttempt(deps: RequestDeps, idHash: string | null): Promise<Window | null> {
  const { store, config, now } = deps;
  const ip = await ipWindow(deps);
  const identifier = idHash ? failureWindow(config, idHash, now) : null;
  const gate = await store.attemptGate(
    ip ? { window: ip, limit: config.loginIpLimitPerMinute } : null,
    identifier ? { key: identifier.key, maxFailures: config.loginMaxFailures } : null,
  );
  if (gate.blocked === "ip") throw tooManyRequests(ip!.retry_after, "Too many attempts from this address; try again later.");
  if (gate.blocked === "identifier") throw tooManyRequests(identifier!.retry_after);
  return identifier;
}
