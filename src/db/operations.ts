import type { Db } from "mongodb";
import { createCustomerLogin, resetCustomerPassword, setUserActive } from "./accounts.ts";
import { listAuthEvents, recordAuthEvent } from "./auth-events.ts";
import { customerIdsByPhone, findCustomerById, findCustomerSubscriptions, searchCustomers, updateCustomer } from "./customers.ts";
import { claimIdempotencyKey, idempotentTransaction, releaseIdempotencyKey } from "./idempotency.ts";
import { writeOnboarding } from "./onboarding.ts";
import { consumeOtp, issueOtp, resetPasswordBySms } from "./otp.ts";
import { attemptGate, clearCounter, hitCounter } from "./rate-limits.ts";
import {
  beginSession,
  changePasswordKeepingSession,
  findUserWithSession,
  listSessions,
  refreshSession,
  revokeSessionFamily,
  revokeUserSessions,
} from "./sessions.ts";
import { computeAdminStats } from "./stats.ts";
import {
  emailExists,
  findUserCredentials,
  findUsersByEmail,
  findUsersByPhone,
  findUserWithLinkedCustomer,
  upgradePasswordHash,
} from "./users.ts";

/**
 * Every data operation of the application, by name. Each takes the database first and
 * plain data after it, and returns plain data (no ObjectId, no driver objects), so that it
 * can run on a direct client or behind Durable Object RPC unchanged (src/db/store.ts).
 * Operations that depend on the time take it as an argument (the Worker owns the clock).
 * To add one: write it in the module of its collection, then list it here.
 */
export const operations = {
  ping: async (db: Db): Promise<true> => {
    await db.command({ ping: 1 });
    return true;
  },

  userWithLinkedCustomer: findUserWithLinkedCustomer,
  usersByEmail: findUsersByEmail,
  usersByPhone: findUsersByPhone,
  userCredentials: findUserCredentials,
  upgradePasswordHash,
  changePasswordKeepingSession,

  customerById: findCustomerById,
  customerIdsByPhone,
  emailExists,
  createCustomerRecords: idempotentTransaction(writeOnboarding),
  searchCustomers,
  updateCustomer,
  customerSubscriptions: findCustomerSubscriptions,

  resetCustomerPassword,
  createCustomerLogin,
  setUserActive,
  adminStats: computeAdminStats,

  claimIdempotencyKey,
  releaseIdempotencyKey,

  recordAuthEvent,
  listAuthEvents,

  userWithSession: findUserWithSession,
  beginSession,
  refreshSession,
  revokeSessionFamily,
  revokeUserSessions,
  listSessions,

  attemptGate,
  hitCounter,
  clearCounter,

  issueOtp,
  consumeOtp,
  resetPasswordBySms,
};

export type Operations = typeof operations;
