import type { PublicCustomer, UserWithLinkedCustomers } from "../../db/users.ts";
import type { Logger } from "../../lib/logger.ts";

/**
 * The customer linked to `user`, only if the link holds both ways
 * (`users.customer_v2_id === customers_v2.id` and `customers_v2.user_id === users.id`).
 * A one-sided, dangling or duplicated link yields null and a warning: a user never receives
 * a customer document that does not name it.
 */
export function verifiedLinkedCustomer(user: UserWithLinkedCustomers, logger: Logger): PublicCustomer | null {
  const target = user.customer_v2_id;
  if (typeof target !== "string" || target === "") return null;
  const found = (user.linked_customers ?? []).filter((customer) => customer.id === target);
  const fields = { user_id: user.id, customer_v2_id: target };
  if (found.length !== 1) {
    logger.warn(found.length === 0 ? "linked customer does not exist" : "linked customer id is duplicated", fields);
    return null;
  }
  const { _id, ...customer } = found[0]!;
  if (customer.user_id !== user.id) {
    logger.warn("customer link does not point back to the user", { ...fields, customer_user_id: customer.user_id ?? null });
    return null;
  }
  return customer;
}
