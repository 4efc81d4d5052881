import { sign, verify } from "hono/jwt";
import type { AppConfig } from "../../config.ts";
import { ROLES, type Role, type UserDoc } from "../../db/collections.ts";
import { ApiError } from "../../lib/errors.ts";

const ALGORITHM = "HS256";
/** Upper bound of ACCESS_TOKEN_TTL_SECONDS (config.ts): a longer-lived token was not issued here. */
const MAX_TOKEN_LIFETIME_SECONDS = 86_400;
const MAX_TOKEN_LENGTH = 4_096;

export interface AccessClaims {
  sub: string;
  email: string;
  role: Role;
  /** Present only for role `customer` with a link that holds both ways. */
  customer_v2_id?: string;
  iat: number;
  exp: number;
  iss: string;
  aud: string;
  /** The user's token_version when issued; bumped on password change to revoke older tokens. */
  ver: number;
  /** The refresh session (auth_sessions.id) the token belongs to; revoking it kills the token. */
  sid: string;
}

export interface AccessToken {
  access_token: string;
  token_type: "bearer";
  expires_in: number;
}

/** What a token is issued for; `customer_v2_id` must already be the verified link (or absent). */
export type TokenSubject = Pick<UserDoc, "id" | "email" | "role" | "customer_v2_id" | "token_version">;

export function signingSecret(config: AppConfig): string {
  // Callers check configuration first (middleware/auth.ts); this guard makes an empty key impossible.
  if (!config.jwtSecret) throw new ApiError(500, "server_misconfigured", "Authentication is not configured on this server.");
  return config.jwtSecret;
}

export async function issueAccessToken(
  user: TokenSubject,
  sessionId: string,
  config: AppConfig,
  now: Date,
): Promise<AccessToken> {
  const iat = Math.floor(now.getTime() / 1000);
  const claims: AccessClaims = {
    sub: user.id,
    email: user.email,
    role: user.role,
    iat,
    exp: iat + config.accessTokenTtlSeconds,
    iss: config.jwtIssuer,
    aud: config.jwtAudience,
    ver: user.token_version ?? 0,
    sid: sessionId,
  };
  if (user.role === "customer" && typeof user.customer_v2_id === "string" && user.customer_v2_id !== "") {
    claims.customer_v2_id = user.customer_v2_id;
  }
  const access_token = await sign({ ...claims }, signingSecret(config), ALGORITHM);
  return { access_token, token_type: "bearer", expires_in: config.accessTokenTtlSeconds };
}

export function invalidToken(message = "The access token is invalid."): ApiError {
  return new ApiError(401, "invalid_token", message);
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);
const isNonEmptyString = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= 320;

/**
 * Verifies signature (HS256 only: `none`, HS512, RS256… headers are refused), iss, aud and
 * time claims, then the claim shapes hono/jwt does not check: `exp`/`iat` are required and in
 * seconds (an `exp` in milliseconds would otherwise never expire), `sub`, `role`, `ver`, `sid`.
 */
export async function verifyAccessToken(token: string, config: AppConfig, at: Date): Promise<AccessClaims> {
  if (token.length > MAX_TOKEN_LENGTH) throw invalidToken();
  let payload: Record<string, unknown>;
  try {
    payload = await verify(token, signingSecret(config), {
      alg: ALGORITHM,
      iss: config.jwtIssuer,
      aud: config.jwtAudience,
      // Time claims are checked below against the request's clock, not the machine's.
      exp: false,
      nbf: false,
      iat: false,
    });
  } catch (err) {
    if (err instanceof ApiError) throw err;
    // hono's error messages embed the raw token: only the class name is used, nothing is logged.
    throw invalidToken((err as Error).name === "JwtTokenExpired" ? "The access token has expired." : undefined);
  }
  const { sub, email, role, customer_v2_id, iat, exp, nbf, ver, iss, aud, sid } = payload;
  const now = Math.floor(at.getTime() / 1000);
  const wellFormed =
    isNonEmptyString(sub) &&
    isNonEmptyString(email) &&
    typeof role === "string" &&
    (ROLES as readonly string[]).includes(role) &&
    (customer_v2_id === undefined || isNonEmptyString(customer_v2_id)) &&
    isInt(iat) &&
    isInt(exp) &&
    exp > iat &&
    exp - iat <= MAX_TOKEN_LIFETIME_SECONDS &&
    iat <= now &&
    (nbf === undefined || (isInt(nbf) && nbf <= now)) &&
    isInt(ver) &&
    ver >= 0 &&
    // Tokens issued before sessions existed carry no sid: refused, their holders sign in again.
    isNonEmptyString(sid) &&
    typeof iss === "string" &&
    typeof aud === "string";
  if (!wellFormed) throw invalidToken();
  if (exp <= now) throw invalidToken("The access token has expired.");
  const claims: AccessClaims = { sub, email, role: role as Role, iat, exp, iss, aud, ver, sid };
  if (customer_v2_id !== undefined) claims.customer_v2_id = customer_v2_id;
  return claims;
}
