import { createRoute } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import type { AuthedEnv } from "../../env.ts";
import { ApiError } from "../../lib/errors.ts";
import { BEARER_AUTH, errorResponse } from "../../lib/openapi.ts";
import { createRouter } from "../../lib/router.ts";
import { requireAuth, requireRole } from "../../middleware/auth.ts";
import {
  CreatedLoginSchema,
  CustomerListQuerySchema,
  CustomerListSchema,
  CustomerPatchSchema,
  CustomerSubscriptionsSchema,
  ResetPasswordResponseSchema,
  UNPATCHABLE_CUSTOMER_FIELDS,
} from "../../schemas/back-office.ts";
import { CustomerIdParamsSchema, CustomerSchema } from "../../schemas/customers.ts";
import {
  createLogin,
  listCustomers,
  patchCustomer,
  resetPassword,
  subscriptionsForViewer,
} from "../../services/customers/back-office.ts";

// Back office and staff-side recovery. Role matrix: docs/back-office.md.

const staff = requireRole("admin", "marketing_staff", "delivery_boy", "supplier");
const editors = requireRole("admin", "marketing_staff");

const common = {
  401: errorResponse("Missing, invalid or expired access token"),
  503: errorResponse("`database_unavailable`"),
};
const forbidden = (roles: string) => errorResponse(`\`forbidden\`: only ${roles} may call this`);

/** `id`, `user_id`, `created_at` in a PATCH body → 422 `field_not_patchable` (before the schema's generic refusal). */
const refuseUnpatchable = createMiddleware<AuthedEnv>(async (c, next) => {
  const body: unknown = await c.req.json().catch(() => undefined);
  if (typeof body === "object" && body !== null && !Array.isArray(body)) {
    const fields = UNPATCHABLE_CUSTOMER_FIELDS.filter((f) => Object.hasOwn(body, f));
    if (fields.length > 0) {
      throw new ApiError(
        422,
        "field_not_patchable",
        `These fields cannot be changed: ${fields.join(", ")}.`,
        fields.map((path) => ({ path, message: "Not patchable." })),
      );
    }
  }
  await next();
});

const listRoute = createRoute({
  method: "get",
  path: "/customers",
  tags: ["back office"],
  summary: "Find customers (admin, marketing_staff; delivery_boy and supplier read only)",
  description:
    "Roles: admin, marketing_staff, delivery_boy, supplier (customers: 403). `q` is a normalized-phone prefix when it is a phone spelling, " +
    "else a case-insensitive name prefix; `area`, `status`, `linked` narrow it. Cursor pagination: pass `next_cursor` back as `cursor`; " +
    "customers added between pages never make one appear twice. Every filter is served by an index (migration 006).",
  security: BEARER_AUTH,
  middleware: [requireAuth, staff] as const,
  request: { query: CustomerListQuerySchema },
  responses: {
    200: { description: "One page", content: { "application/json": { schema: CustomerListSchema } } },
    ...common,
    403: forbidden("staff roles"),
    422: errorResponse("`validation_error`, or `invalid_cursor` (not a next_cursor of this search)"),
  },
});

const patchRoute = createRoute({
  method: "patch",
  path: "/customers/{id}",
  tags: ["back office"],
  summary: "Edit a customer (admin, marketing_staff)",
  description:
    "Roles: admin, marketing_staff (delivery_boy, supplier, customer: 403). A new phone is normalized and must not belong to another " +
    "customer (409 `phone_taken`); when the customer is linked both ways and its user had the old phone, the user's phone follows in the same transaction.",
  security: BEARER_AUTH,
  middleware: [requireAuth, editors, refuseUnpatchable] as const,
  request: {
    params: CustomerIdParamsSchema,
    body: { required: true, content: { "application/json": { schema: CustomerPatchSchema } } },
  },
  responses: {
    200: { description: "The customer after the change", content: { "application/json": { schema: CustomerSchema } } },
    ...common,
    403: forbidden("admin and marketing_staff"),
    404: errorResponse("`not_found`"),
    409: errorResponse("`phone_taken`"),
    422: errorResponse(
      "`field_not_patchable` (id, user_id, created_at), `validation_error` (unknown field, bad value), `unknown_delivery_boy`",
    ),
  },
});

const subscriptionsRoute = createRoute({
  method: "get",
  path: "/customers/{id}/subscriptions",
  tags: ["back office"],
  summary: "A customer's subscriptions with product name and unit (staff, or the linked customer)",
  description:
    "Roles: every staff role; a customer only for its own linked record (another customer's id: 404, as for a missing one).",
  security: BEARER_AUTH,
  middleware: [requireAuth] as const,
  request: { params: CustomerIdParamsSchema },
  responses: {
    200: { description: "The subscriptions", content: { "application/json": { schema: CustomerSubscriptionsSchema } } },
    ...common,
    404: errorResponse("`not_found`: no such customer, or not the caller's"),
  },
});

const resetRoute = createRoute({
  method: "post",
  path: "/customers/{id}/reset-password",
  tags: ["back office"],
  summary: "Reset the password of a customer's login (admin, marketing_staff)",
  description:
    "Roles: admin, marketing_staff. A new random password (returned once), must_change_password, token_version bumped (earlier access tokens die), " +
    "every session revoked, audited (auth_events password_reset) — one transaction.",
  security: BEARER_AUTH,
  middleware: [requireAuth, editors] as const,
  request: { params: CustomerIdParamsSchema },
  responses: {
    200: { description: "The new initial password", content: { "application/json": { schema: ResetPasswordResponseSchema } } },
    ...common,
    403: forbidden("admin and marketing_staff"),
    404: errorResponse("`not_found` (no customer) or `no_linked_user` (no two-way link)"),
  },
});

const createLoginRoute = createRoute({
  method: "post",
  path: "/customers/{id}/user",
  tags: ["back office"],
  summary: "Create the login of a legacy customer that has none (admin, marketing_staff)",
  description:
    "Roles: admin, marketing_staff. Creates a customer-role user (email customer-{id}@earlybird.local, the customer's name and normalized phone — null when invalid — " +
    "random initial password, must_change_password) linked both ways, in one transaction; audited (customer_login_created).",
  security: BEARER_AUTH,
  middleware: [requireAuth, editors] as const,
  request: { params: CustomerIdParamsSchema },
  responses: {
    201: {
      description: "The new user and its initial password",
      content: { "application/json": { schema: CreatedLoginSchema } },
    },
    ...common,
    403: forbidden("admin and marketing_staff"),
    404: errorResponse("`not_found`"),
    409: errorResponse(
      "`customer_already_linked` (the customer has a user_id, or a user claims it) or `email_taken` (an unlinked user already has the pattern email: resolve the link first)",
    ),
  },
});

export const backOfficeCustomerRoutes = createRouter()
  .openapi(listRoute, async (c) => {
    const page = await listCustomers(c.var, c.req.valid("query"));
    return c.json(page, 200);
  })
  .openapi(patchRoute, async (c) => {
    const customer = await patchCustomer(c.var, c.var.user, c.req.valid("param").id, c.req.valid("json"));
    return c.json(customer, 200);
  })
  .openapi(subscriptionsRoute, async (c) => {
    const result = await subscriptionsForViewer(
      c.var,
      { role: c.var.user.role, customer: c.var.customer },
      c.req.valid("param").id,
    );
    return c.json(result, 200);
  })
  .openapi(resetRoute, async (c) => {
    const deps = { ...c.var, bcryptCost: c.var.config.bcryptCost };
    const result = await resetPassword(deps, c.var.user, c.req.valid("param").id, c.req.header("user-agent") ?? null);
    c.header("Cache-Control", "no-store");
    return c.json(result, 200);
  })
  .openapi(createLoginRoute, async (c) => {
    const deps = { ...c.var, bcryptCost: c.var.config.bcryptCost };
    const result = await createLogin(deps, c.var.user, c.req.valid("param").id, c.req.header("user-agent") ?? null);
    c.header("Cache-Control", "no-store");
    return c.json(result, 201);
  });
