import { OpenAPIHono } from "@hono/zod-openapi";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "./env.ts";
import { corsPolicy } from "./middleware/cors.ts";
import { notFound, onError } from "./middleware/error-handler.ts";
import { jsonBodies, limitBodySize } from "./middleware/request-body.ts";
import { requestContext } from "./middleware/request-context.ts";
import { requestLog } from "./middleware/request-log.ts";
import { authEventRoutes } from "./routes/admin/auth-events.ts";
import { adminStatsRoutes } from "./routes/admin/stats.ts";
import { adminUserRoutes } from "./routes/admin/users.ts";
import { authRoutes } from "./routes/auth/index.ts";
import { backOfficeCustomerRoutes } from "./routes/customers/back-office.ts";
import { customerRoutes } from "./routes/customers/index.ts";
import { registerDocs } from "./routes/docs/index.ts";
import { healthRoutes } from "./routes/health/index.ts";

export function createApp(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  app.use("*", requestContext);
  app.use("*", requestLog);
  app.use("*", secureHeaders());
  app.use("*", corsPolicy);
  // Responses under /api carry tokens, users or customer data: never stored by a cache.
  app.use("/api/*", async (c, next) => {
    await next();
    c.header("Cache-Control", "no-store");
  });
  app.use("*", limitBodySize); // before anything reads the body
  app.use("*", jsonBodies);
  app.onError(onError);
  app.notFound(notFound);
  app.route("/health", healthRoutes);
  app.route("/api/auth", authRoutes);
  app.route("/api/phase0-v2", customerRoutes);
  app.route("/api/admin", authEventRoutes);
  app.route("/api/phase0-v2", backOfficeCustomerRoutes);
  app.route("/api/admin", adminUserRoutes);
  app.route("/api/admin", adminStatsRoutes);
  registerDocs(app); // last: documents every route registered above
  return app;
}
