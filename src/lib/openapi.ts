import { z } from "@hono/zod-openapi";

/** Name of the bearer-token security scheme in /openapi.json (`security: BEARER_AUTH`). */
export const BEARER_AUTH_SCHEME = "bearerAuth";
/** `security` value for a route that requires `Authorization: Bearer <access token>`. */
export const BEARER_AUTH = [{ [BEARER_AUTH_SCHEME]: [] }];

/** The error envelope every failing request answers with (src/lib/errors.ts). */
export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ description: "Machine-readable, snake_case.", example: "validation_error" }),
      message: z.string().openapi({ description: "Human-readable explanation.", example: "The request is invalid." }),
      details: z
        .unknown()
        .optional()
        .openapi({
          description: "Extra data; for validation_error a list of `{path, message}` per offending field.",
          example: [{ path: "email", message: "Invalid email address" }],
        }),
    }),
  })
  .openapi("Error", { description: "Error envelope returned with every 4xx/5xx status." });

/** A response entry for `createRoute({responses})` carrying the error envelope. */
export function errorResponse(description: string) {
  return { description, content: { "application/json": { schema: ErrorSchema } } };
}
