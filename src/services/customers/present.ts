import type { z } from "@hono/zod-openapi";
import type { CustomerDoc, Role, SubscriptionDoc } from "../../db/collections.ts";
import type { OnboardingRecords } from "../../db/onboarding.ts";
import type { CustomerSchema } from "../../schemas/customers.ts";
import type { SubscriptionSchema } from "../../schemas/subscriptions.ts";

export type CustomerView = z.output<typeof CustomerSchema>;
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

/** A document as the API shows it: no `_id`, no internal fields, dates as ISO strings. */
function publicFields(doc: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (key === "_id" || key === "phone_normalized" || value === undefined) continue;
    out[key] = value instanceof Date ? value.toISOString() : value;
  }
  return out;
}

export function presentCustomer(doc: CustomerDoc): CustomerView {
  return publicFields(doc) as CustomerView;
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
