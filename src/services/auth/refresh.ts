import type { RequestDeps } from "../../env.ts";
import { ApiError } from "../../lib/errors.ts";
import { audit } from "./audit.ts";
import { gateAttempt } from "./limits.ts";
import { nextSession, refreshTokenHash, tokenResponse } from "./sessions.ts";
import type { AccessToken } from "./tokens.ts";

/** A rotated-out refresh token presented again within this many seconds is a retry, not theft. */
export const REFRESH_GRACE_SECONDS = 10;

export interface RefreshResult extends AccessToken {
  refresh_token: string;
  refresh_expires_in: number;
}

export function invalidRefreshToken(): ApiError {
  return new ApiError(401, "invalid_refresh_token", "The refresh token is invalid, expired or revoked; sign in again.");
}

/**
 * Exchanges a refresh token for a new access token and a new refresh token of the same
 * session family (rotation). A token already rotated out answers like a fresh one for
 * REFRESH_GRACE_SECONDS (a client retrying a lost response), later as theft: the whole
 * family is revoked and 401 `refresh_token_reused`. Counts against the client IP's limit.
 */
export async function refresh(deps: RequestDeps, refreshToken: string): Promise<RefreshResult> {
  const { store, logger, now } = deps;
  await gateAttempt(deps, null);
  const tokenHash = await refreshTokenHash(refreshToken);
  const { next, refreshToken: issued } = await nextSession(deps);
  const result = await store.refreshSession(tokenHash, next, now, REFRESH_GRACE_SECONDS);
  switch (result.outcome) {
    case "invalid":
      logger.info("refresh refused: unknown, expired or revoked token");
      throw invalidRefreshToken();
    case "inactive":
      logger.info("refresh refused: account inactive", { user_id: result.user_id });
      throw new ApiError(403, "account_inactive", "This account is deactivated.");
    case "reused":
      logger.warn("refresh token reused after rotation: session family revoked", {
        user_id: result.user_id,
        family_id: result.family_id,
      });
      await audit(deps, "refresh_reused", {
        user_id: result.user_id,
        details: { family_id: result.family_id, revoked: result.revoked },
      });
      throw new ApiError(
        401,
        "refresh_token_reused",
        "This refresh token was already used; the session has been ended. Sign in again.",
      );
    case "rotated": {
      logger.info("session refreshed", { user_id: result.user.id, session_id: result.session.id, retry: result.grace });
      const { user: _user, ...tokens } = await tokenResponse(deps, result.user, result.session.id, issued);
      return tokens;
    }
  }
}
