import type { z } from "@hono/zod-openapi";
import type { CustomerDoc, Role, SubscriptionDoc } from "../../db/collections.ts";
import type { OnboardingRecords } from "../../db/onboarding.ts";
import { CUSTOMER_OWNER_FIELDS, type CustomerPublicSchema, type CustomerSchema } from "../../schemas/customers.ts";
import type { SubscriptionSchema } from "../../schemas/subscriptions.ts";

export type CustomerView = z.output<typeof CustomerSchema>;
export type CustomerPublicView = z.output<typeof CustomerPublicSchema>;
export type SubscriptionView = z.output<typeof SubscriptionSchema>;

export interface LinkedUserView {
  id: string;
  email: string;
  role: Role;
  customer_v2_id: string;
}

export interface OnboardingResponse {
  customer: CustomerView;
  user: LinkedUserView;
  subscription?: SubscriptionView;
  /** Only when a user was created; null when an existing user was linked. */
  initial_password: string | null;
}

/** Fields of customers_v2 that only this system reads (unique-index phone, search keys). */
const INTERNAL_FIELDS = new Set(["_id", "phone_normalized", "phone_search", "name_search"]);

/** A document as the API shows it: no `_id`, no internal fields, dates as ISO strings. */
function publicFields(doc: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (INTERNAL_FIELDS.has(key) || value === undefined) continue;
    out[key] = value instanceof Date ? value.toISOString() : value;
  }
  return out;
}

/** A customer as staff see it: every stored field except the internal ones. */
export function presentCustomer(doc: CustomerDoc): CustomerView {
  return publicFields(doc) as CustomerView;
}

const OWNER_FIELDS: ReadonlySet<string> = new Set(CUSTOMER_OWNER_FIELDS);

/**
 * THE shape in which a customer sees its own record, for every endpoint that shows it to its
 * owner (/api/auth/me, GET /customers/{id}, …): an allow-list, so fields added to the
 * collection later (staff notes, attribution, search keys) never leak by default.
 */
export function presentCustomerToOwner(doc: CustomerDoc): CustomerPublicView {
  const fields = publicFields(doc);
  for (const key of Object.keys(fields)) if (!OWNER_FIELDS.has(key)) delete fields[key];
  return fields as CustomerPublicView;
}

export function presentSubscription(doc: SubscriptionDoc): SubscriptionView {
  return publicFields(doc) as SubscriptionView;
}

/** The 201 body of both create endpoints (a replay presents the recorded result the same way). */
export function presentOnboarding(records: OnboardingRecords): OnboardingResponse {
  return {
    customer: presentCustomer(records.customer),
    user: records.user,
    ...(records.subscription ? { subscription: presentSubscription(records.subscription) } : {}),
    initial_password: records.initial_password,
  };
}
