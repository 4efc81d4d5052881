import type { OpenAPIHono } from "@hono/zod-openapi";
import pkg from "../../../package.json" with { type: "json" };
import type { AppEnv } from "../../env.ts";
import { BEARER_AUTH_SCHEME } from "../../lib/openapi.ts";

type OpenApiDocument = ReturnType<OpenAPIHono<AppEnv>["getOpenAPI31Document"]>;
type Operation = {
  security?: Record<string, string[]>[];
  requestBody?: unknown;
  parameters?: unknown[];
  responses?: Record<string, unknown>;
};

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

const DESCRIPTION = [
  "EarlyBird edge API: login, the current user and customer onboarding for the mobile apps and the back office.",
  "",
  "**Authentication.** `POST /api/auth/login` returns an `access_token`; send it as `Authorization: Bearer <token>`",
  "on the routes marked with the `bearerAuth` security scheme.",
  "",
  "**Errors.** Every 4xx/5xx answer carries the same envelope (`#/components/schemas/Error`):",
  '`{"error": {"code": "snake_case", "message": "…", "details"?: …}}`. Bad input is `422 validation_error` with',
  "`details` listing each offending field. Bodies must be JSON (`415 unsupported_media_type`), parse",
  "(`400 invalid_json`) and stay within MAX_BODY_BYTES, 64 KiB by default (`413 payload_too_large`).",
  "",
  "**Request ids.** Every response carries `X-Request-Id`; a well-formed incoming one (8–128 of `A-Za-z0-9._:-`)",
  "is kept, so clients can correlate their logs with the API's.",
].join("\n");

const errorRef = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

/**
 * Errors produced by shared machinery rather than by a handler (the auth middleware, the
 * validation hook, the error handler) are added to every operation they can affect, so no
 * route can forget to describe them.
 */
function describeSharedErrors(operation: Operation): void {
  operation.responses ??= {};
  const responses = operation.responses;
  const secured = operation.security?.some((requirement) => BEARER_AUTH_SCHEME in requirement) ?? false;
  if (secured && !responses["401"]) {
    responses["401"] = errorRef("Missing, malformed, expired or revoked access token (`invalid_token`).");
  }
  const validates = operation.requestBody !== undefined || (operation.parameters?.length ?? 0) > 0;
  if (validates && !responses["422"]) {
    responses["422"] = errorRef("The request does not match the schema (`validation_error`, with field details).");
  }
  // src/middleware/request-body.ts, in front of every route.
  if (operation.requestBody !== undefined) {
    responses["400"] ??= errorRef("The body is not valid JSON in UTF-8, or is empty (`invalid_json`).");
    responses["413"] ??= errorRef("The body exceeds MAX_BODY_BYTES (`payload_too_large`).");
    responses["415"] ??= errorRef("The body is not `application/json` (`unsupported_media_type`).");
  }
  if (!responses.default) {
    responses.default = errorRef(
      "Any other error, in the error envelope (e.g. `503 database_unavailable`, `500 internal_error`).",
    );
  }
}

/** The OpenAPI 3.1 document of every route registered on `app`, from the routes' own zod schemas. */
export function buildOpenApiDocument(app: OpenAPIHono<AppEnv>): OpenApiDocument {
  const document = generate(app);
  for (const item of Object.values(document.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const operation = (item as Record<string, Operation | undefined>)[method];
      if (operation) describeSharedErrors(operation);
    }
  }
  return document;
}

/** The generator throws plain objects (e.g. ConflictError) that Hono's onError would not see. */
function generate(app: OpenAPIHono<AppEnv>): OpenApiDocument {
  try {
    return app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: { title: "EarlyBird API", version: pkg.version, description: DESCRIPTION },
    });
  } catch (err) {
    if (err instanceof Error) throw err;
    throw new Error(`OpenAPI document generation failed: ${JSON.stringify(err)}`);
  }
}
