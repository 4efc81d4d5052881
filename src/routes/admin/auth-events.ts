import { createRoute, z } from "@hono/zod-openapi";
import { AUTH_EVENT_TYPES } from "../../db/auth-events.ts";
import { base64url } from "../../lib/crypto.ts";
import { ApiError } from "../../lib/errors.ts";
import { BEARER_AUTH, errorResponse } from "../../lib/openapi.ts";
import { createRouter } from "../../lib/router.ts";
import { requireAuth, requireRole } from "../../middleware/auth.ts";

const AuthEventsQuerySchema = z.object({
  user_id: z.string().min(1).max(64).optional(),
  type: z.enum(AUTH_EVENT_TYPES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional().openapi({ description: "`next_cursor` of the previous page." }),
});

const AuthEventSchema = z
  .object({
    id: z.string(),
    at: z.string().openapi({ description: "ISO 8601" }),
    type: z.enum(AUTH_EVENT_TYPES),
    user_id: z.string().optional(),
    actor_id: z.string().optional(),
    identifier_hash: z
      .string()
      .optional()
      .openapi({ description: "Keyed hash (HMAC under the server key) of the email or phone typed." }),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    request_id: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi("AuthEvent");

const AuthEventsPageSchema = z
  .object({ items: z.array(AuthEventSchema), next_cursor: z.string().nullable() })
  .openapi("AuthEventsPage");

const listRoute = createRoute({
  method: "get",
  path: "/auth-events",
  tags: ["admin"],
  summary: "The authentication audit trail, newest first (admin)",
  description: "Kept 90 days. Filter by user and/or type; page with `cursor` = the previous page's `next_cursor`.",
  security: BEARER_AUTH,
  middleware: [requireAuth, requireRole("admin")] as const,
  request: { query: AuthEventsQuerySchema },
  responses: {
    200: { description: "One page of events", content: { "application/json": { schema: AuthEventsPageSchema } } },
    401: errorResponse("Missing, invalid or expired access token"),
    403: errorResponse("`forbidden` (not an admin) or `password_change_required`"),
    422: errorResponse("`validation_error`, or `invalid_cursor`"),
    503: errorResponse("`database_unavailable`"),
  },
});

function encodeCursor(after: { at: Date; id: string }): string {
  return base64url(new TextEncoder().encode(`${after.at.getTime()}:${after.id}`));
}

function decodeCursor(cursor: string): { at: Date; id: string } {
  try {
    const text = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    const match = /^(\d{1,15}):([A-Za-z0-9-]{1,64})$/.exec(text);
    if (match) return { at: new Date(Number(match[1])), id: match[2]! };
  } catch {
    // fall through
  }
  throw new ApiError(422, "invalid_cursor", "The cursor is not one this API returned.");
}

export const authEventRoutes = createRouter().openapi(listRoute, async (c) => {
  const { user_id, type, limit, cursor } = c.req.valid("query");
  const page = await c.var.store.listAuthEvents({
    ...(user_id !== undefined ? { user_id } : {}),
    ...(type !== undefined ? { type } : {}),
    limit,
    ...(cursor !== undefined ? { after: decodeCursor(cursor) } : {}),
  });
  return c.json(
    {
      items: page.items.map(({ at, ...event }) => ({ ...event, at: at.toISOString() })),
      next_cursor: page.next ? encodeCursor(page.next) : null,
    },
    200,
  );
});
