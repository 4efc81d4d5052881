import { createRoute } from "@hono/zod-openapi";
import { ApiError } from "../../lib/errors.ts";
import { BEARER_AUTH, errorResponse } from "../../lib/openapi.ts";
import { createRouter } from "../../lib/router.ts";
import { requireAuth, requireRole } from "../../middleware/auth.ts";
import { ActivationResponseSchema, UserIdParamsSchema } from "../../schemas/back-office.ts";
import { auditContext } from "../../services/customers/back-office.ts";

const activationRoute = (action: "deactivate" | "activate") =>
  createRoute({
    method: "post",
    path: `/users/{id}/${action}`,
    tags: ["admin"],
    summary: action === "deactivate" ? "Deactivate a user (admin)" : "Re-activate a user (admin)",
    description:
      action === "deactivate"
        ? "Role: admin only. Sets is_active false, bumps token_version (every access token dies at once), revokes every session; login then answers 403 account_inactive. Audited (account_deactivated). An admin cannot deactivate itself (422 cannot_deactivate_self)."
        : "Role: admin only. Sets is_active true; the user logs in again with its password. Audited (account_activated).",
    security: BEARER_AUTH,
    middleware: [requireAuth, requireRole("admin")] as const,
    request: { params: UserIdParamsSchema },
    responses: {
      200: { description: "The user's new state", content: { "application/json": { schema: ActivationResponseSchema } } },
      401: errorResponse("Missing, invalid or expired access token"),
      403: errorResponse("`forbidden`: admin only"),
      404: errorResponse("`not_found`: no such user"),
      ...(action === "deactivate" ? { 422: errorResponse("`cannot_deactivate_self`") } : {}),
      503: errorResponse("`database_unavailable`"),
    },
  });

export const adminUserRoutes = createRouter()
  .openapi(activationRoute("deactivate"), async (c) => {
    const { id } = c.req.valid("param");
    if (id === c.var.user.id) throw new ApiError(422, "cannot_deactivate_self", "An admin cannot deactivate its own account.");
    const audit = { ...auditContext(c.var, c.var.user), user_agent: c.req.header("user-agent") ?? null };
    const result = await c.var.store.setUserActive({ userId: id, active: false, now: c.var.now, audit });
    c.var.logger.info("user deactivated", {
      user_id: id,
      changed: result.changed,
      sessions_revoked: result.sessions_revoked,
      caller_id: c.var.user.id,
    });
    return c.json(result, 200);
  })
  .openapi(activationRoute("activate"), async (c) => {
    const { id } = c.req.valid("param");
    const audit = { ...auditContext(c.var, c.var.user), user_agent: c.req.header("user-agent") ?? null };
    const result = await c.var.store.setUserActive({ userId: id, active: true, now: c.var.now, audit });
    c.var.logger.info("user activated", { user_id: id, changed: result.changed, caller_id: c.var.user.id });
    return c.json(result, 200);
  });
