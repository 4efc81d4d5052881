import type { ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { isDatabaseUnavailable, isDuplicateKey } from "../db/errors.ts";
import type { AppEnv } from "../env.ts";
import { ApiError, errorBody, STATUS_CODES } from "../lib/errors.ts";

/** A unique index names the resource that already exists; the index itself stays private. */
function duplicateKeyCode(keyPattern: Record<string, unknown> | undefined): string {
  const fields = Object.keys(keyPattern ?? {});
  if (fields.some((f) => f.startsWith("phone"))) return "phone_taken";
  if (fields.includes("email")) return "email_taken";
  if (fields.some((f) => f === "customer_v2_id" || f === "user_id")) return "user_already_linked";
  return "conflict";
}

export const onError: ErrorHandler<AppEnv> = (err, c) => {
  const logger = c.get("logger");
  if (err instanceof ApiError) {
    const retryAfter = (err.details as { retry_after?: unknown } | undefined)?.retry_after;
    if (typeof retryAfter === "number") c.header("Retry-After", String(retryAfter));
    return c.json(errorBody(err.code, err.message, err.details), err.status);
  }
  if (err instanceof HTTPException) {
    // Hono's own JSON validator, should a body reach it unparsed: the same code as jsonBodies.
    if (err.status === 400 && err.message === "Malformed JSON in request body") {
      return c.json(errorBody("invalid_json", "The request body is not valid JSON (UTF-8)."), 400);
    }
    const status = err.status as ContentfulStatusCode;
    return c.json(errorBody(STATUS_CODES[status] ?? "http_error", err.message || "Request failed."), status);
  }
  if (isDuplicateKey(err)) {
    const code = duplicateKeyCode(err.keyPattern);
    logger?.info("duplicate key", { code, key_fields: Object.keys(err.keyPattern ?? {}) });
    return c.json(errorBody(code, "A record with the same unique value already exists."), 409);
  }
  if (isDatabaseUnavailable(err)) {
    logger?.error("database unavailable", { error: err.name, detail: err.message });
    return c.json(errorBody("database_unavailable", "The database is unreachable; try again shortly."), 503);
  }
  logger?.error("unhandled error", { error: err.name, detail: err.message, stack: err.stack });
  return c.json(errorBody("internal_error", "An unexpected error occurred."), 500);
};

export const notFound: NotFoundHandler<AppEnv> = (c) =>
  c.json(errorBody("not_found", `No route for ${c.req.method} ${c.req.path}.`), 404);
