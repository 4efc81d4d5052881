import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Role } from "../db/collections.ts";
import { isSessionLive, type UserWithSession } from "../db/sessions.ts";
import type { PublicUser } from "../db/users.ts";
import type { AppEnv, AuthedEnv, Variables } from "../env.ts";
import { ApiError } from "../lib/errors.ts";
import { verifiedLinkedCustomer } from "../services/auth/customer-link.ts";
import { type AccessClaims, invalidToken, verifyAccessToken } from "../services/auth/tokens.ts";

let misconfigurationLogged = false;

/**
 * Refuses to serve authentication without a usable JWT_SECRET (missing or < 32 bytes):
 * 500 `server_misconfigured`, logged once per isolate rather than on every request.
 */
function assertAuthConfigured({ config, logger }: Pick<Variables, "config" | "logger">): string {
  if (config.jwtSecret) return config.jwtSecret;
  if (!misconfigurationLogged) {
    misconfigurationLogged = true;
    logger.error("authentication disabled: JWT secret misconfigured", { problem: config.jwtSecretProblem });
  }
  throw new ApiError(500, "server_misconfigured", "Authentication is not configured on this server.");
}

/** For routes that issue tokens without requiring one (login). */
export const requireAuthConfigured = createMiddleware<AppEnv>(async (c, next) => {
  assertAuthConfigured(c.var);
  await next();
});

const BEARER = /^Bearer +([A-Za-z0-9_\-.=]+)$/i;

function rejectWith(c: Pick<Context, "header">, error: ApiError): ApiError {
  const detail = error.code === "invalid_token" ? ', error="invalid_token"' : "";
  c.header("WWW-Authenticate", `Bearer realm="earlybird"${detail}`);
  return error;
}

function publicUser(doc: UserWithSession): PublicUser {
  const { password, password_hash, token_version, linked_customers, session, ...user } = doc;
  return user;
}

/**
 * Bearer token → verified claims (HS256 pinned, iss/aud, `sid` required) → the user, its
 * linked customer and the token's session in ONE database round trip. Refuses (401) a token
 * whose user is gone or inactive, whose `ver` is not the user's current token_version, or
 * whose session is revoked, expired or another user's. Then, unless the route allows it,
 * 403 `password_change_required` while the user must still choose a first password.
 * Sets `user`, `customer` (null unless the link holds both ways), `claims` and `session`.
 */
function authenticate(options: { allowPendingPasswordChange: boolean }) {
  return createMiddleware<AuthedEnv>(async (c, next) => {
    assertAuthConfigured(c.var);
    const match = BEARER.exec(c.req.header("authorization") ?? "");
    if (!match) throw rejectWith(c, new ApiError(401, "unauthorized", "A bearer access token is required."));
    let claims: AccessClaims;
    try {
      claims = await verifyAccessToken(match[1]!, c.var.config, c.var.now);
    } catch (err) {
      throw err instanceof ApiError && err.status === 401 ? rejectWith(c, err) : err;
    }
    const doc = await c.var.store.userWithSession(claims.sub, claims.sid);
    if (!doc) throw rejectWith(c, invalidToken("The account no longer exists."));
    if (doc.is_active === false) throw rejectWith(c, invalidToken("The account is deactivated."));
    // Equality, not just "not older": no token with a newer version than stored was issued here.
    if (claims.ver !== (doc.token_version ?? 0)) throw rejectWith(c, invalidToken("The access token has been revoked."));
    if (!doc.session || !isSessionLive(doc.session, c.var.now)) throw rejectWith(c, invalidToken("The session has ended."));
    c.set("user", publicUser(doc));
    c.set("customer", verifiedLinkedCustomer(doc, c.var.logger));
    c.set("claims", claims);
    c.set("session", { id: doc.session.id, family_id: doc.session.family_id, created_at: doc.session.created_at });
    if (!options.allowPendingPasswordChange && doc.must_change_password === true) {
      throw new ApiError(403, "password_change_required", "Choose a new password first (POST /api/auth/change-password).");
    }
    await next();
  });
}

/** Every Bearer route by default: authenticated, and the first password already changed. */
export const requireAuth = authenticate({ allowPendingPasswordChange: false });

/**
 * Only for the routes a user who must change the initial password may still use:
 * GET /me, change-password, logout, logout-all and the sessions routes.
 */
export const requireAuthAllowingPasswordChange = authenticate({ allowPendingPasswordChange: true });
/** After requireAuth: only users whose current role (from the database) is one of `roles`. */
export function requireRole(...roles: Role[]) {
  return createMiddleware<AuthedEnv>(async (c, next) => {
    // Mounted without requireAuth in front of it: refuse rather than let anyone through.
    if (!c.var.user) throw rejectWith(c, new ApiError(401, "unauthorized", "A bearer access token is required."));
    if (!roles.includes(c.var.user.role)) {
      throw new ApiError(403, "forbidden", `This action requires one of the roles: ${roles.join(", ")}.`);
    }
    await next();
  });
}
