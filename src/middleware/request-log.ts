import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { matchedRoutes } from "hono/route";
import type { AppEnv } from "../env.ts";

/**
 * The pattern of the endpoint that answered (`/api/phase0-v2/customers/:id`), or null when
 * nothing but middleware matched (404). Middleware is registered with `use()` (method ALL);
 * the endpoint is the last matched entry with a concrete method.
 */
function endpointPattern(c: Context<AppEnv>): string | null {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i]!;
    if (route.method !== "ALL" || !route.path.endsWith("*")) return route.path;
  }
  return null;
}

/** The authenticated user's id, once the auth middleware has put `user` in the context. */
function userIdOf(c: Context<AppEnv>): string | undefined {
  const user = (c.var as unknown as { user?: { id?: unknown } }).user;
  return typeof user?.id === "string" ? user.id : undefined;
}

/**
 * One JSON line per request, written when the response is ready. The path is logged
 * without its query string (which could carry tokens); the route is the matched pattern,
 * so lines group by endpoint rather than by id. 5xx answers are logged at error level.
 */
export const requestLog = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now();
  // A non-Error throw passes this layer unhandled; request-context turns it into the 500 envelope.
  let escaped = false;
  try {
    await next();
  } catch (err) {
    escaped = true;
    throw err;
  } finally {
    const status = escaped ? 500 : c.res.status;
    const fields = {
      method: c.req.method,
      route: endpointPattern(c),
      path: c.req.path,
      status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      user_id: userIdOf(c),
    };
    const logger = c.var.logger;
    if (status >= 500) logger.error("request", fields);
    else logger.info("request", fields);
  }
});
