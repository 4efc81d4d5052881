import { createMiddleware } from "hono/factory";
import { type AppConfig, loadConfig } from "../config.ts";
import { gatewayKey, openStore } from "../db/gateway-store.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../lib/errors.ts";
import { createLogger, type Logger } from "../lib/logger.ts";

const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** With TEST_CLOCK=1 (never in production) a request may say what time it is: epoch ms or ISO 8601. */
function requestTime(header: string | undefined, allowed: boolean): Date {
  if (!allowed || header === undefined) return new Date();
  const at = /^\d+$/.test(header) ? new Date(Number(header)) : new Date(header);
  if (Number.isNaN(at.getTime())) throw new ApiError(400, "bad_request", "X-Test-Now must be epoch milliseconds or an ISO date.");
  return at;
}

/** Problem lists already logged by this isolate: each configuration is reported once, not per request. */
const reportedProblems = new Set<string>();

/**
 * Reports the configuration's problems (binding names and rules, never values) once per isolate,
 * and refuses the request when the configuration is unusable (production with any problem):
 * the Worker fails loudly instead of running on defaults meant for development.
 */
function enforceConfig(config: AppConfig, logger: Logger): void {
  if (config.problems.length > 0) {
    const key = `${config.misconfigured}\n${config.problems.join("\n")}`;
    if (!reportedProblems.has(key)) {
      reportedProblems.add(key);
      if (config.misconfigured)
        logger.error("server misconfigured: every request is refused", {
          environment: config.environment,
          problems: config.problems,
        });
      else logger.warn("configuration: invalid values ignored, defaults used", { problems: config.problems });
    }
  }
  if (config.misconfigured)
    throw new ApiError(500, "server_misconfigured", "The server is misconfigured; its operators have been told in the log.");
}

/**
 * Per-request context: request id (a well-formed incoming X-Request-Id is kept), parsed
 * config, a logger bound to the request, the clock, and the data store, whose resources
 * are released once the response is produced.
 */
export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  const incoming = c.req.header("x-request-id");
  const requestId = incoming && WELL_FORMED_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
  c.header("X-Request-Id", requestId);
  const config = loadConfig(c.env ?? {});
  const logger = createLogger(config.logLevel, { request_id: requestId });
  c.set("requestId", requestId);
  c.set("config", config);
  c.set("logger", logger);
  enforceConfig(config, logger);
  c.set("clientIp", c.req.header("cf-connecting-ip")?.trim().slice(0, 64) || null);
  c.set("userAgent", c.req.header("user-agent")?.slice(0, 256) || null);
  // Through the DbGateway Durable Object (default) or a client of this request's own (DB_ACCESS=direct, Node).
  const data = openStore(c.env ?? {}, config, gatewayKey(c.req.header("authorization"), requestId), requestId);
  c.set("store", data.store);
  try {
    c.set("now", requestTime(c.req.header("x-test-now"), config.testClock));
    await next();
  } catch (err) {
    // Hono hands only Error instances to onError; anything else thrown would skip the envelope.
    if (err instanceof Error) throw err;
    throw new Error(`Non-Error thrown: ${String(err)}`);
  } finally {
    c.header("X-Request-Id", requestId);
    const closing = data.close();
    try {
      c.executionCtx.waitUntil(closing);
    } catch {
      await closing; // no ExecutionContext (e.g. app.request in Node): close inline
    }
  }
});
