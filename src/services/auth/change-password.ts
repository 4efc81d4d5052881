import type { SessionRef } from "../../db/sessions.ts";
import type { PublicCustomer, PublicUser } from "../../db/users.ts";
import type { RequestDeps } from "../../env.ts";
import { ApiError } from "../../lib/errors.ts";
import { audit } from "./audit.ts";
import { identifierHash } from "./limits.ts";
import { gateLogin, recordLoginFailure } from "./login.ts";
import { invalidCredentials, type LoginResult } from "./login-view.ts";
import { hashPassword, verifyPassword } from "./passwords.ts";
import { newSession, tokenResponse } from "./sessions.ts";
import { invalidToken } from "./tokens.ts";

export interface ChangePasswordInput {
  current_password: string;
  /** Already checked against validateNewPassword by the route. */
  new_password: string;
}

/**
 * Verifies the current password (a wrong one counts as a failed login of the account's
 * email), stores the new one as bcrypt, clears must_change_password, bumps token_version and
 * revokes every session of the user in one transaction, continuing the caller's session
 * family with a fresh refresh token; answers with fresh tokens.
 */
export async function changePassword(
  deps: RequestDeps,
  user: PublicUser,
  customer: PublicCustomer | null,
  session: SessionRef,
  input: ChangePasswordInput,
): Promise<LoginResult> {
  const { store, config, logger, now } = deps;
  const idHash = await identifierHash(config, `email:${user.email.trim().toLowerCase()}`);
  const failures = await gateLogin(deps, idHash, "change_password", user.id);
  const stored = await store.userCredentials(user.id);
  if (!stored) throw invalidToken("The account no longer exists.");
  const check = await verifyPassword(input.current_password, stored);
  if (!check.ok || !check.stored) {
    logger.info("password change refused: wrong current password", { user_id: user.id });
    await recordLoginFailure(deps, failures, idHash, "wrong_current_password", user.id);
    throw invalidCredentials("The current password is incorrect.");
  }
  const version = stored.token_version ?? 0;
  const newHash = await hashPassword(input.new_password, config.bcryptCost);
  const { doc, refreshToken } = await newSession(deps, user.id, version + 1, session.family_id, session.created_at);
  const changed = await store.changePasswordKeepingSession(user.id, check.stored, version, newHash, now, doc);
  if (!changed) {
    logger.warn("password change lost a race with another change", { user_id: user.id });
    throw new ApiError(409, "conflict", "The password was changed by another request; sign in again.");
  }
  await store.clearCounter(failures.key);
  logger.info("password changed", { user_id: user.id });
  await audit(deps, "password_changed", { user_id: user.id });
  const linked = customer ? [{ ...customer }] : [];
  return tokenResponse(
    deps,
    {
      ...user,
      customer_v2_id: customer?.id ?? null,
      linked_customers: linked,
      token_version: version + 1,
      must_change_password: false,
    },
    doc.id,
    refreshToken,
  );
}
