import { type CustomerDoc, customerLoginEmail, type UserDoc } from "../../db/collections.ts";
import type { IdempotencyCompletion } from "../../db/idempotency.ts";
import type { Caller, OnboardingPlan, OnboardingRecords, SubscriptionDraft } from "../../db/onboarding.ts";
import type { DataStore } from "../../db/store.ts";
import { ApiError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import { nameSearchKey, phoneSearchKey } from "../../lib/search.ts";
import type { CustomerInput } from "../../schemas/customers.ts";
import type { SubscriptionInput } from "../../schemas/subscriptions.ts";
import { generatePassword, hashPassword } from "../auth/passwords.ts";

export type { Caller };

export interface OnboardingRequest {
  customer: CustomerInput;
  subscription?: SubscriptionInput;
}

export interface OnboardingDeps {
  store: DataStore;
  bcryptCost: number;
  logger: Logger;
  now: Date;
}

function buildCustomer(input: CustomerInput, caller: Caller, id: string, now: Date): CustomerDoc {
  const { email: _email, user_id: userId, phone, ...fields } = input;
  const doc: CustomerDoc = {
    id,
    ...fields,
    phone,
    phone_normalized: phone,
    phone_search: phoneSearchKey(phone),
    name_search: nameSearchKey(fields.name),
    created_at: now,
  };
  // Marketing staff cannot attribute a customer to someone else.
  if (caller.role === "marketing_staff") {
    doc.marketing_boy_id = caller.id;
    if (caller.name) doc.marketing_boy = caller.name;
    else delete doc.marketing_boy;
  }
  doc.user_id = userId ?? null;
  return doc;
}

function buildSubscription(input: SubscriptionInput, customerId: string, now: Date): SubscriptionDraft {
  return { id: crypto.randomUUID(), customer_id: customerId, ...input, created_at: now };
}

/**
 * Creates a customer with its linked user (new, or an existing one named by `user_id`) and,
 * when given, its subscription, in one transaction: on any failure nothing is left behind.
 * The duplicate checks before the transaction give clear errors for legacy data; races
 * between new writes are settled by the unique indexes (E11000 → 409 in onError).
 * `completion` (from runIdempotent) is recorded in the same transaction.
 */
export async function onboardCustomer(
  deps: OnboardingDeps,
  caller: Caller,
  request: OnboardingRequest,
  completion: IdempotencyCompletion | null,
): Promise<OnboardingRecords> {
  const { store, now } = deps;
  const input = request.customer;
  const customerId = crypto.randomUUID();
  const customer = buildCustomer(input, caller, customerId, now);

  if ((await store.customerIdsByPhone(input.phone)).length > 0) {
    throw new ApiError(409, "phone_taken", "A customer with this phone number already exists.");
  }
  if (input.email !== undefined && (await store.emailExists(input.email))) {
    throw new ApiError(409, "email_taken", "A user with this email already exists.");
  }

  let newUser: UserDoc | null = null;
  let initialPassword: string | null = null;
  if (input.user_id === undefined) {
    initialPassword = generatePassword();
    newUser = {
      id: crypto.randomUUID(),
      email: input.email ?? customerLoginEmail(customerId),
      name: input.name,
      role: "customer",
      phone: input.phone,
      phone_normalized: input.phone,
      password_hash: await hashPassword(initialPassword, deps.bcryptCost),
      is_active: true,
      customer_v2_id: customerId,
      must_change_password: true,
      token_version: 0,
      created_at: now,
      updated_at: now,
    };
    customer.user_id = newUser.id;
  }
  const plan: OnboardingPlan = {
    caller,
    customer,
    newUser,
    linkUserId: input.user_id ?? null,
    subscription: request.subscription ? buildSubscription(request.subscription, customerId, now) : null,
    initialPassword,
  };
  const records = await store.createCustomerRecords(plan, completion);

  deps.logger.info("customer onboarded", {
    customer_id: customerId,
    user_id: records.user.id,
    linked_existing_user: newUser === null,
    subscription_id: records.subscription?.id,
    caller_id: caller.id,
    caller_role: caller.role,
  });
  return records;
}
