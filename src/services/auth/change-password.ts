import type { PublicCustomer, PublicUser } from "../../db/users.ts";
import type { RequestDeps } from "../../env.ts";
import { ApiError } from "../../lib/errors.ts";
import { authUserView, invalidCredentials, type LoginResult } from "./login.ts";
import { hashPassword, verifyPassword } from "./passwords.ts";
import { invalidToken, issueAccessToken } from "./tokens.ts";

export interface ChangePasswordInput {
  current_password: string;
  /** Already checked against validateNewPassword by the route. */
  new_password: string;
}

/**
 * Verifies the current password, stores the new one as bcrypt, clears must_change_password
 * and bumps token_version (so every earlier token is refused), then issues a fresh token.
 */
export async function changePassword(
  deps: RequestDeps,
  user: PublicUser,
  customer: PublicCustomer | null,
  input: ChangePasswordInput,
): Promise<LoginResult> {
  const { store, config, logger, now } = deps;
  const stored = await store.userCredentials(user.id);
  if (!stored) throw invalidToken("The account no longer exists.");
  const check = await verifyPassword(input.current_password, stored);
  if (!check.ok || !check.stored) {
    logger.info("password change refused: wrong current password", { user_id: user.id });
    throw invalidCredentials("The current password is incorrect.");
  }
  const version = stored.token_version ?? 0;
  const newHash = await hashPassword(input.new_password, config.bcryptCost);
  const changed = await store.replacePassword(user.id, check.stored, version, newHash, now);
  if (!changed) {
    logger.warn("password change lost a race with another change", { user_id: user.id });
    throw new ApiError(409, "conflict", "The password was changed by another request; sign in again.");
  }
  logger.info("password changed", { user_id: user.id });
  const linkedId = customer?.id ?? null;
  const token = await issueAccessToken({ ...user, customer_v2_id: linkedId, token_version: version + 1 }, config, now);
  return { ...token, user: authUserView({ ...user, must_change_password: false }, linkedId) };
}
