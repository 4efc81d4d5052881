import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AuthedEnv } from "../../env.ts";
import { ApiError } from "../../lib/errors.ts";
import { BEARER_AUTH, errorResponse } from "../../lib/openapi.ts";
import { createRouter } from "../../lib/router.ts";
import { requireAuth, requireRole } from "../../middleware/auth.ts";
import {
  CreateCustomerResponseSchema,
  CustomerIdParamsSchema,
  CustomerInputSchema,
  CustomerSchema,
  IdempotencyHeadersSchema,
} from "../../schemas/customers.ts";
import { CreateCustomerWithSubscriptionResponseSchema, CustomerWithSubscriptionBodySchema } from "../../schemas/subscriptions.ts";
import { getCustomerForViewer } from "../../services/customers/get-customer.ts";
import { type OnboardingRequest, onboardCustomer } from "../../services/customers/onboarding.ts";
import { presentOnboarding } from "../../services/customers/present.ts";
import { runIdempotent } from "../../services/idempotency.ts";

const creatorsOnly = requireRole("admin", "marketing_staff");

const createErrors = {
  401: errorResponse("Missing, invalid or expired access token"),
  403: errorResponse("The caller's role may not create customers (`forbidden`)"),
  409: errorResponse(
    "`phone_taken`, `email_taken`, `user_already_linked`, or `idempotency_in_progress` (retry after Retry-After seconds)",
  ),
  422: errorResponse(
    "`validation_error` (field details), `unknown_user`, `user_not_customer`, `unknown_product`, `unknown_delivery_boy`, `unknown_marketing_boy`, `idempotency_key_reused`",
  ),
  503: errorResponse("Database unreachable"),
};

const createCustomerRoute = createRoute({
  method: "post",
  path: "/customers",
  tags: ["customers"],
  summary: "Create a customer and its linked user (admin, marketing_staff)",
  description:
    "Roles: admin, marketing_staff (others 403). Creates the customer and a customer-role user (random initial password, must_change_password) in one transaction, or links an existing unlinked user given by user_id.",
  security: BEARER_AUTH,
  middleware: [requireAuth, creatorsOnly] as const,
  request: {
    headers: IdempotencyHeadersSchema,
    body: { required: true, content: { "application/json": { schema: CustomerInputSchema } } },
  },
  responses: {
    201: {
      description: "Created (or the first response again, for a retried Idempotency-Key)",
      content: { "application/json": { schema: CreateCustomerResponseSchema } },
    },
    ...createErrors,
  },
});

const createWithSubscriptionRoute = createRoute({
  method: "post",
  path: "/customers-with-subscription",
  tags: ["customers"],
  summary: "Create a customer, its linked user and a subscription (admin, marketing_staff)",
  security: BEARER_AUTH,
  middleware: [requireAuth, creatorsOnly] as const,
  request: {
    headers: IdempotencyHeadersSchema,
    body: { required: true, content: { "application/json": { schema: CustomerWithSubscriptionBodySchema } } },
  },
  responses: {
    201: {
      description: "Created (or the first response again, for a retried Idempotency-Key)",
      content: { "application/json": { schema: CreateCustomerWithSubscriptionResponseSchema } },
    },
    ...createErrors,
  },
});

const getCustomerRoute = createRoute({
  method: "get",
  path: "/customers/{id}",
  tags: ["customers"],
  summary: "A customer by id (staff roles, or the customer linked to the caller)",
  description:
    "Roles: admin, marketing_staff, delivery_boy, supplier (staff shape); a customer only its own linked record, in the CustomerPublic shape " +
    "(no notes, no staff attribution); any other id → 404 as for a missing one.",
  security: BEARER_AUTH,
  middleware: [requireAuth] as const,
  request: { params: CustomerIdParamsSchema },
  responses: {
    200: { description: "The customer", content: { "application/json": { schema: CustomerSchema } } },
    401: errorResponse("Missing, invalid or expired access token"),
    404: errorResponse("No such customer, or not visible to the caller (`not_found`)"),
    503: errorResponse("Database unreachable"),
  },
});

/** Shared by both create endpoints: idempotency around the one onboarding transaction. */
async function createOnboarding(
  c: Context<AuthedEnv>,
  scope: string,
  request: OnboardingRequest,
  body: unknown,
  key: string | undefined,
) {
  const { config, logger, user, store, now } = c.var;
  const caller = { id: user.id, role: user.role, ...(user.name ? { name: user.name } : {}) };
  const { response, replayed } = await runIdempotent(
    { store, logger, key, callerId: user.id, scope, body, serverSecret: config.jwtSecret ?? "", now },
    (completion) => onboardCustomer({ store, bcryptCost: config.bcryptCost, logger, now }, caller, request, completion),
  ).catch((err: unknown) => {
    if (err instanceof ApiError && err.code === "idempotency_in_progress") c.header("Retry-After", "1");
    throw err;
  });
  if (replayed) c.header("Idempotent-Replayed", "true");
  c.header("Cache-Control", "no-store");
  return presentOnboarding(response);
}

export const customerRoutes = createRouter()
  .openapi(createCustomerRoute, async (c) => {
    const body = c.req.valid("json");
    const key = c.req.valid("header")["idempotency-key"];
    const response = await createOnboarding(c, "POST /customers", { customer: body }, body, key);
    return c.json({ customer: response.customer, user: response.user, initial_password: response.initial_password }, 201);
  })
  .openapi(createWithSubscriptionRoute, async (c) => {
    const body = c.req.valid("json");
    const key = c.req.valid("header")["idempotency-key"];
    const response = await createOnboarding(c, "POST /customers-with-subscription", body, body, key);
    return c.json(response as typeof response & { subscription: NonNullable<typeof response.subscription> }, 201);
  })
  .openapi(getCustomerRoute, async (c) => {
    const { id } = c.req.valid("param");
    const customer = await getCustomerForViewer(c.var.store, { role: c.var.user.role, customer: c.var.customer }, id);
    return c.json(customer, 200);
  });
