import type { ClientSession, Db } from "mongodb";
import { withTransaction } from "../../db/client.ts";
import { customerLoginEmail, type CustomerDoc, type Role, type SubscriptionDoc, type UserDoc } from "../../db/collections.ts";
import {
  emailExists,
  findCustomerIdsByPhone,
  findProducts,
  findUserRoles,
  insertCustomer,
  insertSubscription,
  insertUser,
  linkExistingUser,
} from "../../db/customers.ts";
import { ApiError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import type { CustomerInput } from "../../schemas/customers.ts";
import type { SubscriptionInput } from "../../schemas/subscriptions.ts";
import { generatePassword, hashPassword } from "../auth/passwords.ts";
import { presentCustomer, presentSubscription, type LinkedUserView, type OnboardingResponse } from "./present.ts";

/** The authenticated staff member creating the customer. */
export interface Caller {
  id: string;
  role: Role;
  name?: string;
}

export interface OnboardingRequest {
  customer: CustomerInput;
  subscription?: SubscriptionInput;
}

export interface OnboardingDeps {
  db: Db;
  bcryptCost: number;
  logger: Logger;
}

/** Runs inside the transaction after every write, e.g. to record an idempotent response atomically. */
export type CommitHook = (session: ClientSession, response: OnboardingResponse) => Promise<void>;

const MARKETING_ROLES: readonly Role[] = ["marketing_staff", "admin"];

function buildCustomer(input: CustomerInput, caller: Caller, id: string, now: Date): CustomerDoc {
  const { email: _email, user_id: userId, phone, ...fields } = input;
  const doc: CustomerDoc = { id, ...fields, phone, phone_normalized: phone, created_at: now };
  // Marketing staff cannot attribute a customer to someone else.
  if (caller.role === "marketing_staff") {
    doc.marketing_boy_id = caller.id;
    if (caller.name) doc.marketing_boy = caller.name;
    else delete doc.marketing_boy;
  }
  doc.user_id = userId ?? null;
  return doc;
}

function buildSubscription(input: SubscriptionInput, customerId: string, now: Date): Omit<SubscriptionDoc, "price_per_unit"> & { price_per_unit?: number } {
  return { id: crypto.randomUUID(), customer_id: customerId, ...input, created_at: now };
}

/** Existing references a customer or subscription names; checked inside the transaction. */
async function checkReferences(
  db: Db,
  customer: CustomerDoc,
  subscription: { product_id: string } | undefined,
  caller: Caller,
  session: ClientSession,
): Promise<Map<string, { default_price: number }>> {
  const productIds = [...new Set([...Object.keys(customer.custom_product_prices ?? {}), ...(subscription ? [subscription.product_id] : [])])];
  const products = await findProducts(db, productIds, session);
  const unknownProducts = productIds.filter((id) => !products.has(id));
  if (unknownProducts.length > 0) {
    throw new ApiError(422, "unknown_product", "No product exists with the given id.", { product_ids: unknownProducts });
  }

  const staffIds: string[] = [];
  if (customer.delivery_boy_id) staffIds.push(customer.delivery_boy_id);
  if (customer.marketing_boy_id && customer.marketing_boy_id !== caller.id) staffIds.push(customer.marketing_boy_id);
  const roles = await findUserRoles(db, staffIds, session);
  if (customer.delivery_boy_id && roles.get(customer.delivery_boy_id) !== "delivery_boy") {
    throw new ApiError(422, "unknown_delivery_boy", "delivery_boy_id does not name a delivery_boy user.");
  }
  const marketingRole = customer.marketing_boy_id === caller.id ? caller.role : roles.get(customer.marketing_boy_id ?? "");
  if (customer.marketing_boy_id && !MARKETING_ROLES.includes(marketingRole as Role)) {
    throw new ApiError(422, "unknown_marketing_boy", "marketing_boy_id does not name a marketing_staff or admin user.");
  }
  return products;
}

/**
 * Creates a customer with its linked user (new, or an existing one named by `user_id`) and,
 * when given, its subscription, in one transaction: on any failure nothing is left behind.
 * The duplicate checks before the transaction give clear errors for legacy data; races
 * between new writes are settled by the unique indexes (E11000 → 409 in onError).
 */
export async function onboardCustomer(
  deps: OnboardingDeps,
  caller: Caller,
  request: OnboardingRequest,
  onCommit?: CommitHook,
): Promise<OnboardingResponse> {
  const { db } = deps;
  const input = request.customer;
  const now = new Date();
  const customerId = crypto.randomUUID();
  const customer = buildCustomer(input, caller, customerId, now);

  if ((await findCustomerIdsByPhone(db, input.phone)).length > 0) {
    throw new ApiError(409, "phone_taken", "A customer with this phone number already exists.");
  }
  if (input.email !== undefined && (await emailExists(db, input.email))) {
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
  const draftSubscription = request.subscription ? buildSubscription(request.subscription, customerId, now) : undefined;

  const response = await withTransaction(db, async (session) => {
    let user: LinkedUserView;
    if (newUser !== null) {
      // Customer first: a concurrent duplicate phone fails here, before anything else is staged.
      await insertCustomer(db, customer, session);
      await insertUser(db, newUser, session);
      user = { id: newUser.id, email: newUser.email, role: "customer", customer_v2_id: customerId };
    } else {
      // User side first: concurrent links of one user collide on that document (write
      // conflict → retry → already linked) rather than on a customers_v2.user_id index.
      const outcome = await linkExistingUser(db, input.user_id!, customerId, session);
      if (outcome.kind === "missing") throw new ApiError(422, "unknown_user", "No user exists with the given user_id.");
      if (outcome.kind === "not_customer") throw new ApiError(422, "user_not_customer", "Only a user with role customer can be linked.");
      if (outcome.kind === "already_linked") throw new ApiError(409, "user_already_linked", "This user is already linked to a customer.");
      await insertCustomer(db, customer, session);
      user = { id: outcome.user.id, email: outcome.user.email, role: outcome.user.role, customer_v2_id: customerId };
    }

    const products = await checkReferences(db, customer, draftSubscription, caller, session);
    let subscription: SubscriptionDoc | undefined;
    if (draftSubscription) {
      subscription = {
        ...draftSubscription,
        price_per_unit: draftSubscription.price_per_unit ?? products.get(draftSubscription.product_id)!.default_price,
      };
      await insertSubscription(db, subscription, session);
    }

    const result: OnboardingResponse = {
      customer: presentCustomer(customer),
      user,
      ...(subscription ? { subscription: presentSubscription(subscription) } : {}),
      initial_password: initialPassword,
    };
    if (onCommit) await onCommit(session, result);
    return result;
  });

  deps.logger.info("customer onboarded", {
    customer_id: customerId,
    user_id: response.user.id,
    linked_existing_user: newUser === null,
    subscription_id: response.subscription?.id,
    caller_id: caller.id,
    caller_role: caller.role,
  });
  return response;
}
