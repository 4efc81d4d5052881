import type { AppConfig } from "../../config.ts";
import { MAX_LOGIN_CANDIDATES, type UserWithLinkedCustomers } from "../../db/users.ts";
import type { RequestDeps } from "../../env.ts";
import { ApiError } from "../../lib/errors.ts";
import { normalizePhone } from "../../lib/phone.ts";
import { audit } from "./audit.ts";
import { gateAttempt, identifierHash, type Window } from "./limits.ts";
import { invalidCredentials, type LoginResult } from "./login-view.ts";
import { burnDummyVerification, hashPassword, type PasswordCheck, verifyPassword } from "./passwords.ts";
import { newSession, tokenResponse } from "./sessions.ts";

export { type AuthUserView, authUserView, invalidCredentials, type LoginResult } from "./login-view.ts";

export type LoginInput = { email: string; password: string } | { phone: string; password: string };

/**
 * Checks the password against one candidate. Non-bcrypt candidates (SHA-256, no password)
 * also burn a dummy bcrypt check so that they cost what an unknown account costs.
 */
async function checkCandidate(user: UserWithLinkedCustomers, password: string, config: AppConfig): Promise<PasswordCheck> {
  const check = await verifyPassword(password, user, config.bcryptCost);
  if (check.scheme !== "bcrypt") await burnDummyVerification(password, config.bcryptCost);
  return check;
}

/** The identifier a login is counted under: the lowercased email or the normalized phone. */
export function loginIdentifier(input: LoginInput): string {
  return "email" in input
    ? `email:${input.email.trim().toLowerCase()}`
    : `phone:${normalizePhone(input.phone) ?? input.phone.trim()}`;
}

/**
 * Refuses with 429 (and records `login_locked`) when the client IP or the identifier is over
 * its limit; returns the identifier's failure window otherwise.
 */
export async function gateLogin(deps: RequestDeps, idHash: string, method: string, userId?: string): Promise<Window> {
  try {
    return (await gateAttempt(deps, idHash))!;
  } catch (err) {
    if (err instanceof ApiError && err.status === 429) {
      deps.logger.info("login refused: too many attempts", { method });
      await audit(deps, "login_locked", { identifier_hash: idHash, ...(userId ? { user_id: userId } : {}), details: { method } });
    }
    throw err;
  }
}

/** Counts a failed attempt against the identifier's window and records `login_failed`. */
export async function recordLoginFailure(
  deps: RequestDeps,
  window: Window,
  idHash: string,
  reason: string,
  userId?: string,
): Promise<void> {
  await deps.store.hitCounter(window);
  await audit(deps, "login_failed", { identifier_hash: idHash, ...(userId ? { user_id: userId } : {}), details: { reason } });
}

/**
 * Email or phone + password login. Every failure before the password verified is the same
 * 401 after comparable work (the same database operations, one bcrypt comparison at
 * BCRYPT_COST); `account_inactive` (403) is only said to someone who knows the password.
 * A phone several active users share finds nobody (usersByPhone), so it answers as an unknown
 * one; with one active user and inactive ones, the password decides, and a tie refuses. Failures
 * count against the identifier, known or not: at LOGIN_MAX_FAILURES within the window every
 * attempt answers 429, the right password included. A success starts a refresh session.
 */
export async function login(deps: RequestDeps, input: LoginInput): Promise<LoginResult> {
  const { store, config, logger, now } = deps;
  const method = "email" in input ? "email" : "phone";
  const idHash = await identifierHash(config, loginIdentifier(input));
  const failures = await gateLogin(deps, idHash, method);
  let candidates: UserWithLinkedCustomers[];
  if ("email" in input) {
    candidates = await store.usersByEmail(input.email);
  } else {
    const phone = normalizePhone(input.phone);
    // The route validates the phone; an invalid one here simply matches nobody.
    candidates = phone ? await store.usersByPhone(phone) : [];
  }

  if (candidates.length === 0 || candidates.length > MAX_LOGIN_CANDIDATES) {
    if (candidates.length > 0)
      logger.warn("login refused: too many users share the identifier", { method, users: candidates.length });
    await burnDummyVerification(input.password, config.bcryptCost);
    logger.info("login failed", { method, reason: "unknown_or_ambiguous" });
    await recordLoginFailure(deps, failures, idHash, "unknown_or_ambiguous");
    throw invalidCredentials();
  }

  const matches: { user: UserWithLinkedCustomers; check: PasswordCheck }[] = [];
  for (const user of candidates) {
    const check = await checkCandidate(user, input.password, config);
    if (check.ok) matches.push({ user, check });
  }
  const active = matches.filter((m) => m.user.is_active !== false);
  if (active.length !== 1) {
    if (active.length > 1) {
      logger.warn("login refused: the password matches several active users", { method, user_ids: active.map((m) => m.user.id) });
      await recordLoginFailure(deps, failures, idHash, "ambiguous");
    } else if (matches.length > 0) {
      const userId = matches[0]!.user.id;
      logger.info("login refused: account inactive", { method, user_id: userId });
      await audit(deps, "login_failed", { identifier_hash: idHash, user_id: userId, details: { reason: "account_inactive" } });
      throw new ApiError(403, "account_inactive", "This account is deactivated.");
    } else {
      logger.info("login failed", { method, reason: "wrong_password" });
      await recordLoginFailure(deps, failures, idHash, "wrong_password", candidates.length === 1 ? candidates[0]!.id : undefined);
    }
    throw invalidCredentials();
  }

  const { user, check } = active[0]!;
  if (check.needsUpgrade && check.stored) {
    const upgraded = await store.upgradePasswordHash(
      user.id,
      check.stored,
      await hashPassword(input.password, config.bcryptCost),
      now,
    );
    logger.info(upgraded ? "password re-hashed at BCRYPT_COST" : "password re-hash skipped: changed concurrently", {
      user_id: user.id,
      from: check.scheme,
      to_cost: config.bcryptCost,
    });
  }

  const { doc, refreshToken } = await newSession(deps, user.id, user.token_version ?? 0);
  await store.beginSession(doc, failures.key);
  logger.info("login succeeded", { method, user_id: user.id, role: user.role });
  await audit(deps, "login_succeeded", { user_id: user.id, identifier_hash: idHash, details: { method } });
  return tokenResponse(deps, user, doc.id, refreshToken);
}
