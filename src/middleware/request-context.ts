import { createMiddleware } from "hono/factory";
import { loadConfig } from "../config.ts";
import { lazyDb } from "../db/client.ts";
import type { AppEnv } from "../env.ts";
import { createLogger } from "../lib/logger.ts";

const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * Per-request context: request id (a well-formed incoming X-Request-Id is kept), parsed
 * config, a logger bound to the request, and a lazily connected database that is closed
 * once the response is produced.
 */
export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  const incoming = c.req.header("x-request-id");
  const requestId = incoming && WELL_FORMED_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
  const config = loadConfig(c.env ?? {});
  const logger = createLogger(config.logLevel, { request_id: requestId });
  const database = lazyDb(config);
  c.set("requestId", requestId);
  c.set("config", config);
  c.set("logger", logger);
  c.set("db", database.get);
  c.header("X-Request-Id", requestId);
  try {
    await next();
  } catch (err) {
    // Hono hands only Error instances to onError; anything else thrown would skip the envelope.
    if (err instanceof Error) throw err;
    throw new Error(`Non-Error thrown: ${String(err)}`);
  } finally {
    c.header("X-Request-Id", requestId);
    const closing = database.close();
    try {
      c.executionCtx.waitUntil(closing);
    } catch {
      await closing; // no ExecutionContext (e.g. app.request in Node): close inline
    }
  }
});
