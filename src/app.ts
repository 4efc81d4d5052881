import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./env.ts";
import { notFound, onError } from "./middleware/error-handler.ts";
import { requestContext } from "./middleware/request-context.ts";
import { customerRoutes } from "./routes/customers/index.ts";
import { healthRoutes } from "./routes/health/index.ts";

export function createApp(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  app.use("*", requestContext);
  app.onError(onError);
  app.notFound(notFound);
  app.route("/health", healthRoutes);
  app.route("/api/phase0-v2", customerRoutes);
  return app;
}
