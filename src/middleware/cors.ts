import { cors as honoCors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import type { AppConfig } from "../config.ts";
import type { AppEnv } from "../env.ts";

const allowed = honoCors({
  origin: (origin, c) => {
    const origins = (c.get("config") as AppConfig).corsOrigins;
    return origins.includes(origin) || origins.includes("*") ? origin : null;
  },
  allowMethods: ["GET", "POST", "OPTIONS"],
  allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
  exposeHeaders: ["X-Request-Id"],
  maxAge: 600,
});

/**
 * CORS for the web/mobile clients listed in CORS_ORIGINS (comma-separated; `*` for any).
 * Empty by default: no CORS headers at all, and preflights fall through to the 404.
 * Tokens travel in the Authorization header, so credentials (cookies) are never allowed.
 */
export const corsPolicy = createMiddleware<AppEnv>(async (c, next) => {
  if (c.var.config.corsOrigins.length === 0) return next();
  return allowed(c, next);
});
