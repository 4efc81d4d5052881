import type { z } from "@hono/zod-openapi";
import type { AuditContext } from "../../db/accounts.ts";
import type { CustomerPatch, CustomerSearch } from "../../db/customers.ts";
import type { PublicCustomer, PublicUser } from "../../db/users.ts";
import type { RequestDeps } from "../../env.ts";
import { ApiError } from "../../lib/errors.ts";
import { decodeCursor, encodeCursor, nameSearchKey, phonePrefix } from "../../lib/search.ts";
import type { SubscriptionWithProductSchema } from "../../schemas/back-office.ts";
import { generatePassword, hashPassword } from "../auth/passwords.ts";
import { isStaff } from "./get-customer.ts";
import { type CustomerView, presentCustomer } from "./present.ts";

export type SubscriptionWithProductView = z.output<typeof SubscriptionWithProductSchema>;

type Deps = Pick<RequestDeps, "store" | "logger" | "now" | "requestId" | "clientIp">;

export interface ListQuery {
  q?: string | undefined;
  area?: string | undefined;
  status?: CustomerSearch["status"];
  linked?: boolean | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** GET /customers: `q` is a phone prefix when it is a phone spelling, else a name prefix. */
export async function listCustomers(
  deps: Pick<RequestDeps, "store">,
  query: ListQuery,
): Promise<{ items: CustomerView[]; next_cursor: string | null }> {
  const search: CustomerSearch = { limit: query.limit };
  if (query.q !== undefined) {
    const digits = phonePrefix(query.q);
    if (digits !== null) search.phonePrefix = digits;
    else {
      const name = nameSearchKey(query.q);
      if (name === "")
        throw new ApiError(422, "validation_error", "The request is invalid.", [{ path: "q", message: "Must not be blank." }]);
      search.namePrefix = name;
    }
  }
  if (query.area !== undefined) search.area = query.area;
  if (query.status !== undefined) search.status = query.status;
  if (query.linked !== undefined) search.linked = query.linked;
  if (query.cursor !== undefined) {
    const cursor = decodeCursor(query.cursor);
    // A cursor of another search (key present or not) would skip or repeat customers.
    const searching = search.phonePrefix !== undefined || search.namePrefix !== undefined;
    if (cursor === null || (cursor.k !== undefined) !== searching) {
      throw new ApiError(422, "invalid_cursor", "cursor is not a next_cursor of this search.");
    }
    search.cursor = cursor;
  }
  const page = await deps.store.searchCustomers(search);
  return {
    items: page.items.map(presentCustomer),
    next_cursor: page.next_cursor === null ? null : encodeCursor(page.next_cursor),
  };
}

/** PATCH /customers/{id}. */
export async function patchCustomer(deps: Deps, caller: PublicUser, id: string, patch: CustomerPatch): Promise<CustomerView> {
  const { customer, moved_user_phone } = await deps.store.updateCustomer(id, patch, deps.now);
  deps.logger.info("customer updated", {
    customer_id: id,
    fields: Object.keys(patch),
    ...(moved_user_phone !== null && { user_phone_moved: moved_user_phone }),
    caller_id: caller.id,
    caller_role: caller.role,
  });
  return presentCustomer(customer);
}

/**
 * GET /customers/{id}/subscriptions: staff see any customer's; a customer only its own
 * (verified link), anyone else gets the same 404 as for a missing customer.
 */
export async function subscriptionsForViewer(
  deps: Pick<RequestDeps, "store">,
  viewer: { role: PublicUser["role"]; customer: PublicCustomer | null },
  id: string,
) {
  const allowed = isStaff(viewer.role) || (viewer.customer !== null && viewer.customer.id === id);
  const subscriptions = allowed ? await deps.store.customerSubscriptions(id) : null;
  if (subscriptions === null) throw new ApiError(404, "not_found", "No customer with this id.");
  return {
    customer_id: id,
    subscriptions: subscriptions.map((s) => {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(s))
        if (value !== undefined) out[key] = value instanceof Date ? value.toISOString() : value;
      return out as SubscriptionWithProductView;
    }),
  };
}

export function auditContext(deps: Deps, actor: PublicUser): AuditContext {
  return {
    id: crypto.randomUUID(),
    at: deps.now,
    actor_id: actor.id,
    ip: deps.clientIp,
    user_agent: null,
    request_id: deps.requestId,
  };
}

/** POST /customers/{id}/reset-password: a new random password, shown once. */
export async function resetPassword(
  deps: Deps & { bcryptCost: number },
  actor: PublicUser,
  customerId: string,
  userAgent: string | null,
) {
  const initialPassword = generatePassword();
  const passwordHash = await hashPassword(initialPassword, deps.bcryptCost);
  const result = await deps.store.resetCustomerPassword({
    customerId,
    passwordHash,
    now: deps.now,
    audit: { ...auditContext(deps, actor), user_agent: userAgent },
  });
  deps.logger.info("customer password reset by staff", {
    customer_id: customerId,
    user_id: result.user_id,
    sessions_revoked: result.sessions_revoked,
    caller_id: actor.id,
    caller_role: actor.role,
  });
  return { user_id: result.user_id, initial_password: initialPassword };
}

/** POST /customers/{id}/user: a login for a legacy customer that has none. */
export async function createLogin(
  deps: Deps & { bcryptCost: number },
  actor: PublicUser,
  customerId: string,
  userAgent: string | null,
) {
  const initialPassword = generatePassword();
  const passwordHash = await hashPassword(initialPassword, deps.bcryptCost);
  const { user } = await deps.store.createCustomerLogin({
    customerId,
    userId: crypto.randomUUID(),
    passwordHash,
    now: deps.now,
    audit: { ...auditContext(deps, actor), user_agent: userAgent },
  });
  deps.logger.info("customer login created", {
    customer_id: customerId,
    user_id: user.id,
    caller_id: actor.id,
    caller_role: actor.role,
  });
  return { user, initial_password: initialPassword };
}
