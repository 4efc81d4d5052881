import type { ClientSession, Db } from "mongodb";
import { ApiError } from "../lib/errors.ts";
import { normalizePhone } from "../lib/phone.ts";
import type { AuthEventDoc } from "./auth-events.ts";
import { COLLECTIONS, customerLoginEmail, customersCollection, type Role, type UserDoc, usersCollection } from "./collections.ts";
import { withTransaction } from "./transaction.ts";
import { EMAIL_COLLATION } from "./users.ts";

// Staff actions on accounts (staff-side recovery and deactivation). Each runs in
// one transaction: the user write, the revocation of every session and the audit record
// land together or not at all.

/**
 * Revokes every open refresh session of `userId` (auth_sessions). Access tokens die
 * with the `token_version` bump the callers make in the same transaction.
 */
export async function revokeUserSessions(db: Db, userId: string, now: Date, session: ClientSession): Promise<number> {
  const result = await db
    .collection(COLLECTIONS.authSessions)
    .updateMany({ user_id: userId, revoked_at: null }, { $set: { revoked_at: now } }, { session });
  return result.modifiedCount;
}

/** recordAuthEvent inside the caller's transaction. */
async function audit(db: Db, event: AuthEventDoc, session: ClientSession): Promise<void> {
  await db.collection<AuthEventDoc>(COLLECTIONS.authEvents).insertOne({ ...event }, { session });
}

/** The part of an audit record the Worker knows (who acted, from where); the operation completes it. */
export type AuditContext = Omit<AuthEventDoc, "type" | "user_id" | "details">;

export interface PasswordReset {
  customerId: string;
  /** bcrypt hash of the new random password, computed by the Worker. */
  passwordHash: string;
  now: Date;
  audit: AuditContext;
}

/**
 * Staff reset of a customer's password: 404 `not_found` without the customer, 404
 * `no_linked_user` unless the link holds both ways; then the new hash, must_change_password,
 * token_version + 1 (earlier access tokens die), every session revoked, audited.
 */
export async function resetCustomerPassword(
  db: Db,
  reset: PasswordReset,
): Promise<{ user_id: string; sessions_revoked: number }> {
  return withTransaction(db, async (session) => {
    const customer = await customersCollection(db).findOne(
      { id: reset.customerId },
      { session, projection: { _id: 0, id: 1, user_id: 1 } },
    );
    if (customer === null) throw new ApiError(404, "not_found", "No customer with this id.");
    const userId = typeof customer.user_id === "string" ? customer.user_id : null;
    const result =
      userId === null
        ? null
        : await usersCollection(db).updateOne(
            { id: userId, customer_v2_id: customer.id },
            {
              $set: { password_hash: reset.passwordHash, must_change_password: true, updated_at: reset.now },
              $unset: { password: "" },
              $inc: { token_version: 1 },
            },
            { session },
          );
    if (userId === null || result === null || result.matchedCount !== 1) {
      throw new ApiError(
        404,
        "no_linked_user",
        "This customer has no linked user (the link must hold both ways); create one with POST /customers/{id}/user.",
      );
    }
    const revoked = await revokeUserSessions(db, userId, reset.now, session);
    await audit(
      db,
      {
        ...reset.audit,
        type: "password_reset",
        user_id: userId,
        details: { by: "staff", customer_id: customer.id, sessions_revoked: revoked },
      },
      session,
    );
    return { user_id: userId, sessions_revoked: revoked };
  });
}

export interface CustomerLoginPlan {
  customerId: string;
  userId: string;
  passwordHash: string;
  now: Date;
  audit: AuditContext;
}

export interface CreatedCustomerLogin {
  user: { id: string; email: string; role: Role; customer_v2_id: string; phone: string | null; name: string };
}

/**
 * Gives a legacy customer without a login its linked user: email customer-{id}@earlybird.local,
 * name and (normalized) phone from the customer — null when the customer's phone is missing
 * or invalid — a random password that must be changed. Refuses with 409
 * `customer_already_linked` when the customer has a `user_id` or any user claims it, and 409
 * `email_taken` when a user already holds the pattern email (an unlinked legacy user with that
 * email is NOT linked silently: the link back-fill or a person decides). Both sides are written
 * with conditional updates in one transaction.
 */
export async function createCustomerLogin(db: Db, plan: CustomerLoginPlan): Promise<CreatedCustomerLogin> {
  return withTransaction(db, async (session) => {
    const customers = customersCollection(db);
    const users = usersCollection(db);
    const customer = await customers.findOne(
      { id: plan.customerId },
      { session, projection: { _id: 0, id: 1, user_id: 1, name: 1, phone: 1 } },
    );
    if (customer === null) throw new ApiError(404, "not_found", "No customer with this id.");
    const alreadyLinked = () => new ApiError(409, "customer_already_linked", "This customer already has a linked user.");
    if (customer.user_id != null) throw alreadyLinked();
    const claimant = await users.findOne({ customer_v2_id: customer.id }, { session, projection: { _id: 0, id: 1 } });
    if (claimant !== null) throw alreadyLinked();
    const email = customerLoginEmail(customer.id);
    const holder = await users.findOne({ email }, { session, collation: EMAIL_COLLATION, projection: { _id: 0, id: 1 } });
    if (holder !== null) {
      throw new ApiError(
        409,
        "email_taken",
        "A user with this customer's login email already exists but is not linked to it; resolve the link first.",
        {
          email,
        },
      );
    }
    const phone = normalizePhone(customer.phone);
    const name = typeof customer.name === "string" && customer.name.trim() !== "" ? customer.name : email;
    const doc: UserDoc = {
      id: plan.userId,
      email,
      name,
      role: "customer",
      phone,
      phone_normalized: phone,
      password_hash: plan.passwordHash,
      is_active: true,
      customer_v2_id: customer.id,
      must_change_password: true,
      token_version: 0,
      created_at: plan.now,
      updated_at: plan.now,
    };
    await users.insertOne({ ...doc }, { session });
    const linked = await customers.updateOne(
      { id: customer.id, user_id: null },
      { $set: { user_id: plan.userId, updated_at: plan.now } },
      { session },
    );
    if (linked.modifiedCount !== 1) throw alreadyLinked();
    await audit(
      db,
      { ...plan.audit, type: "customer_login_created", user_id: plan.userId, details: { customer_id: customer.id } },
      session,
    );
    return { user: { id: doc.id, email, role: "customer", customer_v2_id: customer.id, phone, name } };
  });
}

export interface ActivationChange {
  userId: string;
  active: boolean;
  now: Date;
  audit: AuditContext;
}

export interface ActivationResult {
  user_id: string;
  is_active: boolean;
  /** False when the user already was in that state (nothing written, still audited). */
  changed: boolean;
  sessions_revoked: number;
}

/**
 * Deactivates or re-activates a user (404 `not_found` when there is none). Deactivation bumps
 * `token_version` (every access token dies at once) and revokes every session; login then
 * answers 403 `account_inactive`. Both directions are audited.
 */
export async function setUserActive(db: Db, change: ActivationChange): Promise<ActivationResult> {
  return withTransaction(db, async (session) => {
    const users = usersCollection(db);
    const user = await users.findOne({ id: change.userId }, { session, projection: { _id: 0, id: 1, is_active: 1 } });
    if (user === null) throw new ApiError(404, "not_found", "No user with this id.");
    const wasActive = user.is_active !== false;
    const changed = wasActive !== change.active;
    let revoked = 0;
    if (change.active) {
      if (changed) await users.updateOne({ id: user.id }, { $set: { is_active: true, updated_at: change.now } }, { session });
    } else {
      // Even when already inactive: revoking again is harmless and closes any stray session.
      await users.updateOne(
        { id: user.id },
        { $set: { is_active: false, updated_at: change.now }, $inc: { token_version: 1 } },
        { session },
      );
      revoked = await revokeUserSessions(db, user.id, change.now, session);
    }
    await audit(
      db,
      {
        ...change.audit,
        type: change.active ? "account_activated" : "account_deactivated",
        user_id: user.id,
        details: { changed, sessions_revoked: revoked },
      },
      session,
    );
    return { user_id: user.id, is_active: change.active, changed, sessions_revoked: revoked };
  });
}
