import type { Collection, Db, ObjectId } from "mongodb";

/** Collection names shared with the legacy Python system. */
export const COLLECTIONS = {
  users: "users",
  customers: "customers_v2",
  subscriptions: "subscriptions_v2",
  products: "products",
  idempotencyKeys: "idempotency_keys",
  authEvents: "auth_events",
  authSessions: "auth_sessions",
  rateLimits: "auth_rate_limits",
  otpCodes: "otp_codes",
} as const;

/**
 * The login email of a user created with its customer (`customer-{customers_v2.id}@earlybird.local`);
 * the link back-fill also recognises legacy users by it.
 */
export function customerLoginEmail(customerId: string): string {
  return `customer-${customerId}@earlybird.local`;
}

export const ROLES = ["customer", "delivery_boy", "supplier", "marketing_staff", "admin"] as const;
export type Role = (typeof ROLES)[number];
export const STAFF_ROLES = ["delivery_boy", "supplier", "marketing_staff", "admin"] as const satisfies readonly Role[];

/** Legacy documents store created_at as a naive ISO string or a BSON date. */
export type Timestamp = string | Date;

export interface UserDoc {
  _id?: ObjectId;
  id: string;
  email: string;
  name?: string;
  role: Role;
  phone?: string | null;
  /**
   * The 10-digit form of `phone`, written on every write by this system and
   * back-filled by migration 005; absent when the phone is missing or invalid. Indexed, not
   * unique (legacy users share phones): phone login is an equality on it.
   */
  phone_normalized?: string | null;
  /** bcrypt ($2a$/$2b$) or legacy unsalted SHA-256 hex. */
  password_hash?: string;
  /** Legacy SHA-256 hex stored in the wrong field by old code. */
  password?: string;
  is_active?: boolean;
  customer_v2_id?: string | null;
  must_change_password?: boolean;
  token_version?: number;
  created_at?: Timestamp;
  updated_at?: Timestamp;
  password_hash_upgraded_at?: Date;
}

export interface GeoLocation {
  lat: number;
  lng: number;
  accuracy_meters?: number;
}

export const CUSTOMER_STATUSES = ["trial", "active", "paused", "stopped"] as const;
export type CustomerStatus = (typeof CUSTOMER_STATUSES)[number];

export interface CustomerDoc {
  _id?: ObjectId;
  id: string;
  user_id?: string | null;
  name: string;
  phone?: string | null;
  /** Normalized phone written by this system only; backs the unique partial index. */
  phone_normalized?: string;
  /**
   * Normalized phone of EVERY customer (legacy ones back-filled by migration 006), or null
   * when the phone is invalid. Indexed, not unique: the duplicate check and search use it.
   */
  phone_search?: string | null;
  /** Lowercased, trimmed name for case-insensitive prefix search (migration 006). */
  name_search?: string;
  address?: string;
  area?: string;
  map_link?: string;
  location?: GeoLocation;
  status: CustomerStatus;
  trial_start_date?: string;
  notes?: string;
  house_image_url?: string;
  marketing_boy?: string;
  marketing_boy_id?: string;
  delivery_boy_id?: string;
  previous_balance?: number;
  custom_product_prices?: Record<string, number>;
  created_at?: Timestamp;
  /** Set by this system's edits (PATCH). */
  updated_at?: Timestamp;
}

export interface SubscriptionDoc {
  _id?: ObjectId;
  id: string;
  customer_id: string;
  product_id: string;
  price_per_unit: number;
  mode: "fixed_daily" | "weekly_pattern" | "day_by_day" | "irregular" | "one_time";
  default_qty: number;
  shift: "morning" | "evening" | "both";
  weekly_pattern?: number[];
  day_overrides?: unknown[];
  irregular_list?: unknown[];
  pause_intervals?: { start: string; end: string }[];
  stop_date?: string | null;
  status: "draft" | "active" | "paused" | "stopped";
  start_date: string;
  created_at?: Timestamp;
}

export interface ProductDoc {
  _id?: ObjectId;
  id: string;
  name: string;
  unit: string;
  default_price: number;
}

export function usersCollection(db: Db): Collection<UserDoc> {
  return db.collection<UserDoc>(COLLECTIONS.users);
}
export function customersCollection(db: Db): Collection<CustomerDoc> {
  return db.collection<CustomerDoc>(COLLECTIONS.customers);
}
export function subscriptionsCollection(db: Db): Collection<SubscriptionDoc> {
  return db.collection<SubscriptionDoc>(COLLECTIONS.subscriptions);
}
export function productsCollection(db: Db): Collection<ProductDoc> {
  return db.collection<ProductDoc>(COLLECTIONS.products);
}
