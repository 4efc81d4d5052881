import type { Db } from "mongodb";
import { recordAuthEvent } from "./auth-events.ts";
import { customerIdsByPhone, findCustomerById } from "./customers.ts";
import { claimIdempotencyKey, idempotentTransaction, releaseIdempotencyKey } from "./idempotency.ts";
import { writeOnboarding } from "./onboarding.ts";
import {
  emailExists,
  findUserCredentials,
  findUsersByEmail,
  findUsersByPhone,
  findUserWithLinkedCustomer,
  replacePassword,
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
  replacePassword,

  customerById: findCustomerById,
  customerIdsByPhone,
  emailExists,
  createCustomerRecords: idempotentTransaction(writeOnboarding),

  claimIdempotencyKey,
  releaseIdempotencyKey,

  recordAuthEvent,
};

export type Operations = typeof operations;
