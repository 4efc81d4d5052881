import type { ClientSession, Db } from "mongodb";
import { ApiError } from "../lib/errors.ts";
import type { CustomerDoc, Role, SubscriptionDoc, UserDoc } from "./collections.ts";
import { findProducts, insertCustomer, insertSubscription, linkExistingUser } from "./customers.ts";
import { findUserRoles, insertUser } from "./users.ts";

/** The authenticated staff member creating the customer. */
export interface Caller {
  id: string;
  role: Role;
  name?: string;
}

export type SubscriptionDraft = Omit<SubscriptionDoc, "price_per_unit"> & { price_per_unit?: number };

/**
 * Everything the onboarding transaction writes, built by the Worker beforehand (ids,
 * timestamps, the bcrypt hash) so that a retried transaction writes the same documents.
 */
export interface OnboardingPlan {
  caller: Caller;
  customer: CustomerDoc;
  /** A user to create with the customer, or null when `linkUserId` names an existing one. */
  newUser: UserDoc | null;
  linkUserId: string | null;
  subscription: SubscriptionDraft | null;
  /** Returned once in the result; never stored in plain text. */
  initialPassword: string | null;
}

export interface OnboardingRecords {
  customer: CustomerDoc;
  user: { id: string; email: string; role: Role; customer_v2_id: string };
  subscription: SubscriptionDoc | null;
  initial_password: string | null;
}

const MARKETING_ROLES: readonly Role[] = ["marketing_staff", "admin"];

/** Existing references a customer or subscription names; checked inside the transaction. */
async function checkReferences(
  db: Db,
  plan: OnboardingPlan,
  session: ClientSession,
): Promise<Map<string, { default_price: number }>> {
  const { customer, subscription, caller } = plan;
  const productIds = [
    ...new Set([...Object.keys(customer.custom_product_prices ?? {}), ...(subscription ? [subscription.product_id] : [])]),
  ];
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
 * The onboarding writes, inside the caller's transaction: the customer with its new user, or
 * linked to an existing unlinked customer-role user, plus the subscription when given.
 */
export async function writeOnboarding(db: Db, plan: OnboardingPlan, session: ClientSession): Promise<OnboardingRecords> {
  const { customer, newUser } = plan;
  let user: OnboardingRecords["user"];
  if (newUser !== null) {
    // Customer first: a concurrent duplicate phone fails here, before anything else is staged.
    await insertCustomer(db, customer, session);
    await insertUser(db, newUser, session);
    user = { id: newUser.id, email: newUser.email, role: "customer", customer_v2_id: customer.id };
  } else {
    // User side first: concurrent links of one user collide on that document (write
    // conflict → retry → already linked) rather than on a customers_v2.user_id index.
    const outcome = await linkExistingUser(db, plan.linkUserId ?? "", customer.id, session);
    if (outcome.kind === "missing") throw new ApiError(422, "unknown_user", "No user exists with the given user_id.");
    if (outcome.kind === "not_customer")
      throw new ApiError(422, "user_not_customer", "Only a user with role customer can be linked.");
    if (outcome.kind === "already_linked")
      throw new ApiError(409, "user_already_linked", "This user is already linked to a customer.");
    await insertCustomer(db, customer, session);
    user = { id: outcome.user.id, email: outcome.user.email, role: outcome.user.role, customer_v2_id: customer.id };
  }

  const products = await checkReferences(db, plan, session);
  let subscription: SubscriptionDoc | null = null;
  if (plan.subscription) {
    subscription = {
      ...plan.subscription,
      price_per_unit: plan.subscription.price_per_unit ?? products.get(plan.subscription.product_id)!.default_price,
    };
    await insertSubscription(db, subscription, session);
  }
  return { customer, user, subscription, initial_password: plan.initialPassword };
}
