import type { AppConfig } from "../../config.ts";
import type { Role } from "../../db/collections.ts";
import { MAX_LOGIN_CANDIDATES, type UserWithLinkedCustomers } from "../../db/users.ts";
import type { RequestDeps } from "../../env.ts";
import { ApiError } from "../../lib/errors.ts";
import { normalizePhone } from "../../lib/phone.ts";
import { verifiedLinkedCustomer } from "./customer-link.ts";
import { burnDummyVerification, hashPassword, verifyPassword, type PasswordCheck } from "./passwords.ts";
import { issueAccessToken, type AccessToken } from "./tokens.ts";

export type LoginInput = { email: string; password: string } | { phone: string; password: string };

/** The user as login and change-password return it (the legacy response shape the apps read). */
export interface AuthUserView {
  id: string;
  email: string;
  phone: string | null;
  name: string | null;
  role: Role;
  /** The linked customer's id, only when the link holds both ways; otherwise null. */
  customer_v2_id: string | null;
  must_change_password: boolean;
}

export interface LoginResult extends AccessToken {
  user: AuthUserView;
}

export function invalidCredentials(message = "The email/phone or password is incorrect."): ApiError {
  return new ApiError(401, "invalid_credentials", message);
}

/**
 * Checks the password against one candidate. Non-bcrypt candidates (SHA-256, no password)
 * also burn a dummy bcrypt check so that they cost what an unknown account costs.
 */
async function checkCandidate(user: UserWithLinkedCustomers, password: string, config: AppConfig): Promise<PasswordCheck> {
  const check = await verifyPassword(password, user, config.bcryptCost);
  if (check.scheme !== "bcrypt") await burnDummyVerification(password, config.bcryptCost);
  return check;
}

/**
 * Email or phone + password login. Every failure before the password verified is the same
 * 401 after comparable work; `account_inactive` (403) is only said to someone who knows the
 * password. Several users may share a legacy phone: the password decides, and a tie refuses.
 */
export async function login(deps: RequestDeps, input: LoginInput): Promise<LoginResult> {
  const { store, config, logger, now } = deps;
  const method = "email" in input ? "email" : "phone";
  let candidates: UserWithLinkedCustomers[];
  if ("email" in input) {
    candidates = await store.usersByEmail(input.email);
  } else {
    const phone = normalizePhone(input.phone);
    // The route validates the phone; an invalid one here simply matches nobody.
    candidates = phone ? await store.usersByPhone(phone) : [];
  }

  if (candidates.length === 0 || candidates.length > MAX_LOGIN_CANDIDATES) {
    if (candidates.length > 0) logger.warn("login refused: too many users share the identifier", { method, users: candidates.length });
    await burnDummyVerification(input.password, config.bcryptCost);
    logger.info("login failed", { method, reason: "unknown_or_ambiguous" });
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
    } else if (matches.length > 0) {
      logger.info("login refused: account inactive", { method, user_id: matches[0]!.user.id });
      throw new ApiError(403, "account_inactive", "This account is deactivated.");
    } else {
      logger.info("login failed", { method, reason: "wrong_password" });
    }
    throw invalidCredentials();
  }

  const { user, check } = active[0]!;
  if (check.needsUpgrade && check.stored) {
    const upgraded = await store.upgradePasswordHash(user.id, check.stored, await hashPassword(input.password, config.bcryptCost), now);
    logger.info(upgraded ? "password hash upgraded to bcrypt" : "password hash upgrade skipped: changed concurrently", {
      user_id: user.id,
      from: check.scheme,
    });
  }

  const customer = verifiedLinkedCustomer(user, logger);
  const token = await issueAccessToken({ ...user, customer_v2_id: customer?.id ?? null }, config, now);
  logger.info("login succeeded", { method, user_id: user.id, role: user.role });
  return { ...token, user: authUserView(user, customer?.id ?? null) };
}

export function authUserView(
  user: Pick<UserWithLinkedCustomers, "id" | "email" | "phone" | "name" | "role" | "must_change_password">,
  linkedCustomerId: string | null,
): AuthUserView {
  return {
    id: user.id,
    email: user.email,
    phone: user.phone ?? null,
    name: user.name ?? null,
    role: user.role,
    customer_v2_id: linkedCustomerId,
    must_change_password: user.must_change_password === true,
  };
}
