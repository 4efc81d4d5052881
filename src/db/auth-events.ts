import type { Db } from "mongodb";
import { COLLECTIONS } from "./collections.ts";

export const AUTH_EVENT_TYPES = [
  "login_succeeded",
  "login_failed",
  "login_locked",
  "refresh_reused",
  "logout",
  "logout_all",
  "password_changed",
  "password_reset",
  "otp_sent",
  "otp_failed",
  "otp_succeeded",
  "account_deactivated",
  "account_activated",
  "customer_login_created",
] as const;
export type AuthEventType = (typeof AUTH_EVENT_TYPES)[number];

/**
 * One audit record (`auth_events`, TTL 90 days on `at`). Never holds a secret: no password,
 * hash, token or one-time code; an identifier someone typed is kept only as a keyed hash.
 */
export interface AuthEventDoc {
  id: string;
  at: Date;
  type: AuthEventType;
  user_id?: string;
  /** Staff member who acted on the user (resets, deactivation). */
  actor_id?: string;
  identifier_hash?: string;
  ip: string | null;
  user_agent: string | null;
  request_id: string;
  details?: Record<string, unknown>;
}

export async function recordAuthEvent(db: Db, event: AuthEventDoc): Promise<void> {
  await db.collection<AuthEventDoc>(COLLECTIONS.authEvents).insertOne({ ...event });
}
