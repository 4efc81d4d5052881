import type { NextSession, SessionDoc } from "../../db/sessions.ts";
import type { UserWithLinkedCustomers } from "../../db/users.ts";
import type { RequestDeps } from "../../env.ts";
import { randomToken, sha256Base64url } from "../../lib/crypto.ts";
import { verifiedLinkedCustomer } from "./customer-link.ts";
import { authUserView, type LoginResult } from "./login-view.ts";
import { issueAccessToken } from "./tokens.ts";

/** A refresh token: 256 random bits, base64url (43 characters). Only its SHA-256 is stored. */
export function newRefreshToken(): string {
  return randomToken(32);
}

export const refreshTokenHash = sha256Base64url;

/** The next token of a session family (refresh rotation), with its plaintext refresh token. */
export async function nextSession(
  deps: Pick<RequestDeps, "config" | "now" | "clientIp" | "userAgent">,
): Promise<{ next: NextSession; refreshToken: string }> {
  const refreshToken = newRefreshToken();
  return {
    refreshToken,
    next: {
      id: crypto.randomUUID(),
      token_hash: await refreshTokenHash(refreshToken),
      expires_at: new Date(deps.now.getTime() + deps.config.refreshTokenTtlSeconds * 1000),
      user_agent: deps.userAgent,
      ip: deps.clientIp,
    },
  };
}

/** A new session family for `userId` (login, one-time code, password reset), with its refresh token. */
export async function newSession(
  deps: Pick<RequestDeps, "config" | "now" | "clientIp" | "userAgent">,
  userId: string,
  tokenVersion: number,
  familyId: string = crypto.randomUUID(),
  createdAt: Date = deps.now,
): Promise<{ doc: SessionDoc; refreshToken: string }> {
  const { next, refreshToken } = await nextSession(deps);
  return {
    refreshToken,
    doc: {
      ...next,
      user_id: userId,
      family_id: familyId,
      created_at: createdAt,
      last_used_at: deps.now,
      token_version: tokenVersion,
    },
  };
}

/** The token response for `user` in session `sessionId`: access token, refresh token and the user. */
export async function tokenResponse(
  deps: Pick<RequestDeps, "config" | "now" | "logger">,
  user: UserWithLinkedCustomers,
  sessionId: string,
  refreshToken: string,
): Promise<LoginResult> {
  const customer = verifiedLinkedCustomer(user, deps.logger);
  const linkedId = customer?.id ?? null;
  const token = await issueAccessToken({ ...user, customer_v2_id: linkedId }, sessionId, deps.config, deps.now);
  return {
    ...token,
    refresh_token: refreshToken,
    refresh_expires_in: deps.config.refreshTokenTtlSeconds,
    user: authUserView(user, linkedId),
  };
}
