// App-wide request body rules, ahead of every route (current and future): a size limit checked
// before anything reads the body, JSON as the only body media type, and one error code for a
// body that is not JSON. Routes then validate the parsed value with their zod schemas.

import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../lib/errors.ts";

/** `application/json` or a structured `+json` type, any parameters (charset=utf-8 …). */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;
/** Methods whose body routes may read; a body sent with others (GET, HEAD, OPTIONS) is ignored. */
const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** POST/PUT/PATCH labelled JSON must carry a document; an empty DELETE body is "no body". */
const DOCUMENT_REQUIRED = new Set(["POST", "PUT", "PATCH"]);
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export function isJsonMediaType(contentType: string | undefined): boolean {
  return contentType !== undefined && JSON_MEDIA_TYPE.test(contentType.split(";")[0]!.trim());
}

/**
 * 413 `payload_too_large` for a body over MAX_BODY_BYTES: by Content-Length when it is given,
 * otherwise (chunked) while the stream is read, stopping at the first byte over the limit.
 */
export const limitBodySize = createMiddleware<AppEnv>(async (c, next) => {
  const maxSize = c.var.config.maxBodyBytes;
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError(413, "payload_too_large", `The request body exceeds ${maxSize} bytes.`);
    },
  })(c, next);
});

/**
 * After limitBodySize (the body is bounded): a non-empty body must be JSON (415
 * `unsupported_media_type`), and JSON must be UTF-8 and parse (400 `invalid_json`). The parsed
 * value is left in Hono's body cache, so validators and `c.req.json()` reuse it.
 */
export const jsonBodies = createMiddleware<AppEnv>(async (c, next) => {
  const method = c.req.method.toUpperCase();
  if (!BODY_METHODS.has(method)) return next();
  const contentType = c.req.header("content-type");
  const bytes = c.req.raw.body === null ? new Uint8Array(0) : new Uint8Array(await c.req.arrayBuffer());
  const json = isJsonMediaType(contentType);
  if (bytes.byteLength === 0) {
    if (json && DOCUMENT_REQUIRED.has(method))
      throw new ApiError(400, "invalid_json", "The request body is empty; a JSON document is required.");
    return next();
  }
  if (!json) {
    throw new ApiError(415, "unsupported_media_type", "Request bodies must be JSON, sent with Content-Type: application/json.");
  }
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    throw new ApiError(400, "invalid_json", "The request body is not valid JSON (UTF-8).");
  }
  c.req.bodyCache.json = Promise.resolve(value);
  return next();
});
