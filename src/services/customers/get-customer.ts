import { type CustomerDoc, type Role, STAFF_ROLES } from "../../db/collections.ts";
import type { DataStore } from "../../db/store.ts";
import { ApiError } from "../../lib/errors.ts";
import { type CustomerPublicView, type CustomerView, presentCustomer, presentCustomerToOwner } from "./present.ts";

export interface Viewer {
  role: Role;
  /** The caller's linked customer, already verified both ways by the auth middleware. */
  customer: CustomerDoc | null;
}

export const isStaff = (role: Role): boolean => (STAFF_ROLES as readonly Role[]).includes(role);

/**
 * Staff see any customer (staff shape); a customer sees only its own linked document, in the
 * owner shape. Everything else is
 * 404, the same as a missing id, so ids cannot be probed.
 */
export async function getCustomerForViewer(
  store: DataStore,
  viewer: Viewer,
  id: string,
): Promise<CustomerView | CustomerPublicView> {
  if (isStaff(viewer.role)) {
    const found = await store.customerById(id);
    if (found !== null) return presentCustomer(found);
  } else if (viewer.customer !== null && viewer.customer.id === id) {
    return presentCustomerToOwner(viewer.customer);
  }
  throw new ApiError(404, "not_found", "No customer with this id.");
}
