import { cors as honoCors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";

/**
 * CORS for the web/mobile clients listed in CORS_ORIGINS (comma-separated; `*` for any).
 * Empty by default: no CORS headers at all, and preflights fall through to the 404.
 * Tokens travel in the Authorization header, so credentials (cookies) are never allowed.
 */
export const corsPolicy = createMiddleware<AppEnv>(async (c, next) => {
  const origins = c.var.config.corsOrigins;
  if (origins.length === 0) return next();
  const allowed = honoCors({
    origin: (origin) => (origins.includes(origin) || origins.includes("*") ? origin : null),
    allowMethods: ["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
    allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
    exposeHeaders: ["X-Request-Id", "Retry-After"],
    maxAge: 600,
  });
  return allowed(c, next);
});
