import { createRoute } from "@hono/zod-openapi";
import { ApiError } from "../../lib/errors.ts";
import { BEARER_AUTH, errorResponse } from "../../lib/openapi.ts";
import { createRouter } from "../../lib/router.ts";
import { requireAuthAllowingPasswordChange, requireAuthConfigured } from "../../middleware/auth.ts";
import {
  ChangePasswordRequestSchema,
  LoginRequestSchema,
  MeResponseSchema,
  OtpRequestAnswerSchema,
  OtpRequestSchema,
  OtpVerifySchema,
  PasswordResetSchema,
  RefreshRequestSchema,
  RefreshResponseSchema,
  SessionIdParamsSchema,
  SessionsResponseSchema,
  TokenResponseSchema,
} from "../../schemas/auth.ts";
import { audit } from "../../services/auth/audit.ts";
import { changePassword } from "../../services/auth/change-password.ts";
import { login } from "../../services/auth/login.ts";
import { requestOtp, resetPasswordWithCode, verifyOtp } from "../../services/auth/otp.ts";
import { hashPassword } from "../../services/auth/passwords.ts";
import { refresh } from "../../services/auth/refresh.ts";
import { presentCustomerToOwner } from "../../services/customers/present.ts";

const json = <T>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
const errors = {
  401: errorResponse(
    "`invalid_credentials`, or for bearer routes `unauthorized` / `invalid_token` (missing, invalid, expired or revoked token)",
  ),
  422: errorResponse("`validation_error` with field details"),
  500: errorResponse("`server_misconfigured`: JWT_SECRET missing or shorter than 32 bytes"),
  503: errorResponse("`database_unavailable`"),
};
const tooMany = {
  429: errorResponse(
    "`too_many_requests`: LOGIN_IP_LIMIT_PER_MINUTE attempts from this IP, or LOGIN_MAX_FAILURES failures for this account; see Retry-After and `details.retry_after`",
  ),
};
const noContent = { 204: { description: "Done" } };

const loginRoute = createRoute({
  method: "post",
  path: "/login",
  tags: ["auth"],
  summary: "Log in with email or phone and password",
  request: { body: { required: true, content: { "application/json": { schema: LoginRequestSchema } } } },
  responses: {
    200: json(TokenResponseSchema, "Access token, refresh token and the user"),
    ...errors,
    403: errorResponse("`account_inactive`: the password is right but the account is deactivated"),
    ...tooMany,
  },
});

const meRoute = createRoute({
  method: "get",
  path: "/me",
  tags: ["auth"],
  summary: "The authenticated user and its linked customer",
  security: BEARER_AUTH,
  middleware: [requireAuthAllowingPasswordChange] as const,
  responses: { 200: json(MeResponseSchema, "The caller"), ...errors },
});

const changePasswordRoute = createRoute({
  method: "post",
  path: "/change-password",
  tags: ["auth"],
  summary: "Change the password; earlier tokens and every other session stop working",
  description:
    "A wrong current_password counts as a failed login of the account (lockout). The caller's session continues with the fresh tokens returned.",
  security: BEARER_AUTH,
  middleware: [requireAuthAllowingPasswordChange] as const,
  request: { body: { required: true, content: { "application/json": { schema: ChangePasswordRequestSchema } } } },
  responses: {
    200: json(TokenResponseSchema, "Fresh access and refresh tokens"),
    ...errors,
    409: errorResponse("`conflict`: the password was changed concurrently"),
    ...tooMany,
  },
});

const refreshRoute = createRoute({
  method: "post",
  path: "/refresh",
  tags: ["auth"],
  summary: "Exchange a refresh token for new tokens (rotation)",
  description:
    "The presented token is rotated out. Presenting it again within 10 s answers with a fresh pair of the same session (a retried request); later it is treated as stolen: 401 `refresh_token_reused` and the whole session is revoked.",
  request: { body: { required: true, content: { "application/json": { schema: RefreshRequestSchema } } } },
  responses: {
    200: json(RefreshResponseSchema, "New access and refresh tokens"),
    401: errorResponse("`invalid_refresh_token` (unknown, expired or revoked) or `refresh_token_reused`"),
    403: errorResponse("`account_inactive`"),
    422: errors[422],
    ...tooMany,
    503: errors[503],
  },
});

const logoutRoute = createRoute({
  tags: ["sessions"],
  security: BEARER_AUTH,
  middleware: [requireAuthAllowingPasswordChange] as const,
  method: "post",
  path: "/logout",
  summary: "End the current session: its refresh and access tokens stop working at once",
  responses: { ...noContent, ...errors },
});

const logoutAllRoute = createRoute({
  tags: ["sessions"],
  security: BEARER_AUTH,
  middleware: [requireAuthAllowingPasswordChange] as const,
  method: "post",
  path: "/logout-all",
  summary: "End every session of the caller",
  responses: { ...noContent, ...errors },
});

const sessionsRoute = createRoute({
  tags: ["sessions"],
  security: BEARER_AUTH,
  middleware: [requireAuthAllowingPasswordChange] as const,
  method: "get",
  path: "/sessions",
  summary: "The caller's signed-in sessions (devices)",
  responses: { 200: json(SessionsResponseSchema, "Live sessions, most recently used first"), ...errors },
});

const deleteSessionRoute = createRoute({
  tags: ["sessions"],
  security: BEARER_AUTH,
  middleware: [requireAuthAllowingPasswordChange] as const,
  method: "delete",
  path: "/sessions/{id}",
  summary: "End one of the caller's sessions",
  request: { params: SessionIdParamsSchema },
  responses: { ...noContent, ...errors, 404: errorResponse("`not_found`: no live session of the caller has this id") },
});

const otpRequestRoute = createRoute({
  method: "post",
  path: "/otp/request",
  tags: ["one-time codes"],
  summary: "Send a one-time code by SMS (login or forgotten password)",
  description:
    "Answers 202 alike for every valid phone: a code is sent only when exactly one active user has the number. The code is valid 300 s; another request for the same phone within 30 s, or beyond 5 codes an hour, answers 429.",
  request: { body: { required: true, content: { "application/json": { schema: OtpRequestSchema } } } },
  responses: {
    202: json(OtpRequestAnswerSchema, "Accepted (whether or not an SMS was sent)"),
    422: errors[422],
    ...tooMany,
    500: errorResponse("`server_misconfigured`: JWT_SECRET or the SMS provider is not configured"),
    503: errors[503],
  },
});

const otpVerifyRoute = createRoute({
  method: "post",
  path: "/otp/verify",
  tags: ["one-time codes"],
  summary: "Log in with a one-time code",
  description: "A code requested with purpose `login`. Five wrong codes use it up.",
  request: { body: { required: true, content: { "application/json": { schema: OtpVerifySchema } } } },
  responses: {
    200: json(TokenResponseSchema, "Access token, refresh token and the user, as login"),
    401: errorResponse("`invalid_code`: wrong, used up or expired"),
    403: errorResponse("`account_inactive`"),
    422: errors[422],
    ...tooMany,
    503: errors[503],
  },
});

const passwordResetRoute = createRoute({
  method: "post",
  path: "/password/reset",
  tags: ["one-time codes"],
  summary: "Set a new password with a one-time code",
  description:
    "A code requested with purpose `reset`. Replaces the password, ends every session and every earlier token, clears must_change_password, and signs in.",
  request: { body: { required: true, content: { "application/json": { schema: PasswordResetSchema } } } },
  responses: {
    200: json(TokenResponseSchema, "Access token, refresh token and the user, as login"),
    401: errorResponse("`invalid_code`: wrong, used up or expired"),
    422: errors[422],
    ...tooMany,
    503: errors[503],
  },
});

const router = createRouter();
router.use("*", requireAuthConfigured);

export const authRoutes = router
  .openapi(loginRoute, async (c) => {
    const body = c.req.valid("json");
    const input =
      body.email !== undefined
        ? { email: body.email, password: body.password }
        : { phone: body.phone ?? "", password: body.password };
    const result = await login(c.var, input);
    return c.json(result, 200);
  })
  .openapi(meRoute, (c) => {
    const { user, customer } = c.var;
    return c.json(
      {
        user_id: user.id,
        email: user.email,
        role: user.role,
        customer_v2_id: customer?.id ?? null,
        customer: customer === null ? null : presentCustomerToOwner(customer),
      },
      200,
    );
  })
  .openapi(changePasswordRoute, async (c) => {
    const result = await changePassword(c.var, c.var.user, c.var.customer, c.var.session, c.req.valid("json"));
    return c.json(result, 200);
  })
  .openapi(refreshRoute, async (c) => c.json(await refresh(c.var, c.req.valid("json").refresh_token), 200))
  .openapi(otpRequestRoute, async (c) => {
    const { phone, purpose } = c.req.valid("json");
    const defer = (work: Promise<unknown>) => {
      try {
        c.executionCtx.waitUntil(work);
      } catch {
        // No ExecutionContext (app.request in Node): the work still runs, unawaited.
      }
    };
    return c.json(await requestOtp(c.var, phone, purpose, defer), 202);
  })
  .openapi(otpVerifyRoute, async (c) => {
    const { phone, code } = c.req.valid("json");
    return c.json(await verifyOtp(c.var, phone, code), 200);
  })
  .openapi(passwordResetRoute, async (c) => {
    const { phone, code, new_password } = c.req.valid("json");
    const result = await resetPasswordWithCode(c.var, phone, code, new_password, (plain) =>
      hashPassword(plain, c.var.config.bcryptCost),
    );
    return c.json(result, 200);
  })
  .openapi(logoutRoute, async (c) => {
    const { store, user, session, now, logger } = c.var;
    await store.revokeSessionFamily(user.id, session.family_id, now, "logout");
    logger.info("logged out", { user_id: user.id, session_id: session.family_id });
    await audit(c.var, "logout", { user_id: user.id, details: { session_id: session.family_id } });
    return c.body(null, 204);
  })
  .openapi(logoutAllRoute, async (c) => {
    const { store, user, now, logger } = c.var;
    const revoked = await store.revokeUserSessions(user.id, now, "logout_all");
    logger.info("logged out everywhere", { user_id: user.id, revoked });
    await audit(c.var, "logout_all", { user_id: user.id, details: { revoked } });
    return c.body(null, 204);
  })
  .openapi(sessionsRoute, async (c) => {
    const { store, user, session, now } = c.var;
    const sessions = await store.listSessions(user.id, now);
    return c.json(
      {
        sessions: sessions.map((s) => ({
          id: s.id,
          created_at: s.created_at.toISOString(),
          last_used_at: s.last_used_at.toISOString(),
          user_agent: s.user_agent,
          ip: s.ip,
          current: s.family_id === session.family_id,
        })),
      },
      200,
    );
  })
  .openapi(deleteSessionRoute, async (c) => {
    const { store, user, now } = c.var;
    const { id } = c.req.valid("param");
    // Another user's session matches nothing here: 404, exactly as for an unknown id.
    const revoked = await store.revokeSessionFamily(user.id, id, now, "deleted");
    if (revoked === 0) throw new ApiError(404, "not_found", "No such session.");
    await audit(c.var, "logout", { user_id: user.id, details: { session_id: id, via: "delete" } });
    return c.body(null, 204);
  });
