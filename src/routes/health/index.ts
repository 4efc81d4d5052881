import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../lib/router.ts";

const HealthSchema = z
  .object({
    status: z.enum(["ok", "degraded"]),
    db: z.enum(["ok", "unreachable"]),
  })
  .openapi("Health");

const healthRoute = createRoute({
  method: "get",
  path: "/",
  tags: ["health"],
  summary: "Liveness and database reachability",
  responses: {
    200: { description: "API and database are up", content: { "application/json": { schema: HealthSchema } } },
    503: { description: "Database unreachable", content: { "application/json": { schema: HealthSchema } } },
  },
});

export const healthRoutes = createRouter().openapi(healthRoute, async (c) => {
  try {
    await c.var.store.ping();
    return c.json({ status: "ok" as const, db: "ok" as const }, 200);
  } catch (err) {
    c.var.logger.warn("health check: database unreachable", { error: (err as Error).name });
    return c.json({ status: "degraded" as const, db: "unreachable" as const }, 503);
  }
});
