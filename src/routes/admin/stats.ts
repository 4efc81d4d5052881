import { createRoute } from "@hono/zod-openapi";
import { BEARER_AUTH, errorResponse } from "../../lib/openapi.ts";
import { createRouter } from "../../lib/router.ts";
import { requireAuth, requireRole } from "../../middleware/auth.ts";
import { AdminStatsSchema } from "../../schemas/back-office.ts";

const statsRoute = createRoute({
  method: "get",
  path: "/stats",
  tags: ["admin"],
  summary: "Rollout and sign-in figures (admin)",
  description:
    "Role: admin only. The seed's success metrics, computed by the database with two aggregations (no per-document work in the API). " +
    "The 24 h window ends at the request's time.",
  security: BEARER_AUTH,
  middleware: [requireAuth, requireRole("admin")] as const,
  responses: {
    200: { description: "The figures", content: { "application/json": { schema: AdminStatsSchema } } },
    401: errorResponse("Missing, invalid or expired access token"),
    403: errorResponse("`forbidden`: admin only"),
    503: errorResponse("`database_unavailable`"),
  },
});

export const adminStatsRoutes = createRouter().openapi(statsRoute, async (c) => {
  const stats = await c.var.store.adminStats(c.var.now, c.var.config.loginMaxFailures);
  c.header("Cache-Control", "no-store");
  return c.json(stats, 200);
});
