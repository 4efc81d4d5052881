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

export interface AuthEventQuery {
  user_id?: string;
  type?: AuthEventType;
  limit: number;
  /** Continue after this event (the last one of the previous page): newest first, ties by id. */
  after?: { at: Date; id: string };
}

export interface AuthEventPage {
  items: AuthEventDoc[];
  /** Set when more events follow. */
  next: { at: Date; id: string } | null;
}

/**
 * Audit events newest first, filtered by user and/or type, one page at a time. Pages are
 * keyed by (at, id), so events written meanwhile never shift or repeat a page.
 */
export async function listAuthEvents(db: Db, query: AuthEventQuery): Promise<AuthEventPage> {
  const filter: Record<string, unknown> = {};
  if (query.user_id !== undefined) filter.user_id = query.user_id;
  if (query.type !== undefined) filter.type = query.type;
  if (query.after) {
    filter.$or = [{ at: { $lt: query.after.at } }, { at: query.after.at, id: { $lt: query.after.id } }];
  }
  const docs = await db
    .collection<AuthEventDoc>(COLLECTIONS.authEvents)
    .find(filter, { projection: { _id: 0 }, sort: { at: -1, id: -1 }, limit: query.limit + 1 })
    .toArray();
  const items = docs.slice(0, query.limit);
  const last = items[items.length - 1];
  return { items, next: docs.length > query.limit && last ? { at: last.at, id: last.id } : null };
}
