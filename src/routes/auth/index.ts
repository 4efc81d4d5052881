import { createRoute } from "@hono/zod-openapi";
import { BEARER_AUTH, errorResponse } from "../../lib/openapi.ts";
import { createRouter } from "../../lib/router.ts";
import { requireAuth, requireAuthConfigured } from "../../middleware/auth.ts";
import { changePassword } from "../../services/auth/change-password.ts";
import { login } from "../../services/auth/login.ts";
import {
  ChangePasswordRequestSchema,
  LoginRequestSchema,
  MeResponseSchema,
  TokenResponseSchema,
} from "../../schemas/auth.ts";

const json = <T>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
const errors = {
  401: errorResponse("`invalid_credentials`, or for bearer routes `unauthorized` / `invalid_token` (missing, invalid, expired or revoked token)"),
  422: errorResponse("`validation_error` with field details"),
  500: errorResponse("`server_misconfigured`: JWT_SECRET missing or shorter than 32 bytes"),
  503: errorResponse("`database_unavailable`"),
};

const loginRoute = createRoute({
  method: "post",
  path: "/login",
  tags: ["auth"],
  summary: "Log in with email or phone and password",
  request: { body: { required: true, content: { "application/json": { schema: LoginRequestSchema } } } },
  responses: {
    200: json(TokenResponseSchema, "Access token and the user"),
    ...errors,
    403: errorResponse("`account_inactive`: the password is right but the account is deactivated"),
  },
});

const meRoute = createRoute({
  method: "get",
  path: "/me",
  tags: ["auth"],
  summary: "The authenticated user and its linked customer",
  security: BEARER_AUTH,
  middleware: [requireAuth] as const,
  responses: { 200: json(MeResponseSchema, "The caller"), ...errors },
});

const changePasswordRoute = createRoute({
  method: "post",
  path: "/change-password",
  tags: ["auth"],
  summary: "Change the password; earlier tokens stop working",
  security: BEARER_AUTH,
  middleware: [requireAuth] as const,
  request: { body: { required: true, content: { "application/json": { schema: ChangePasswordRequestSchema } } } },
  responses: {
    200: json(TokenResponseSchema, "A fresh access token"),
    ...errors,
    409: errorResponse("`conflict`: the password was changed concurrently"),
  },
});

const router = createRouter();
router.use("*", requireAuthConfigured);

export const authRoutes = router
  .openapi(loginRoute, async (c) => {
    const body = c.req.valid("json");
    const input =
      body.email !== undefined ? { email: body.email, password: body.password } : { phone: body.phone ?? "", password: body.password };
    const result = await login(c.var, input);
    return c.json(result, 200);
  })
  .openapi(meRoute, (c) => {
    const { user, customer } = c.var;
    return c.json(
      { user_id: user.id, email: user.email, role: user.role, customer_v2_id: customer?.id ?? null, customer },
      200,
    );
  })
  .openapi(changePasswordRoute, async (c) => {
    const result = await changePassword(c.var, c.var.user, c.var.customer, c.req.valid("json"));
    return c.json(result, 200);
  });
