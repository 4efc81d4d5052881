import { indexOnlyMigration, type IndexDef } from "../scripts/migrate/indexes.ts";

export const id = "004_auth_collections";
export const description =
  "indexes of the session and abuse-protection collections: auth_sessions (ids, token hash, families, TTL), " +
  "auth_events (TTL 90 days, by user and by type), auth_rate_limits and otp_codes (unique key, TTL)";

const NINETY_DAYS_SECONDS = 90 * 86_400;

export const INDEXES: IndexDef[] = [
  { collection: "auth_sessions", name: "id_unique", key: { id: 1 }, unique: true },
  { collection: "auth_sessions", name: "token_hash_unique", key: { token_hash: 1 }, unique: true },
  { collection: "auth_sessions", name: "user_id_1", key: { user_id: 1 } },
  { collection: "auth_sessions", name: "family_id_1", key: { family_id: 1 } },
  { collection: "auth_sessions", name: "expires_at_ttl", key: { expires_at: 1 }, expireAfterSeconds: 0 },
  { collection: "auth_events", name: "at_ttl_90d", key: { at: 1 }, expireAfterSeconds: NINETY_DAYS_SECONDS },
  { collection: "auth_events", name: "user_id_at", key: { user_id: 1, at: -1, id: -1 } },
  { collection: "auth_events", name: "type_at", key: { type: 1, at: -1, id: -1 } },
  { collection: "auth_rate_limits", name: "key_unique", key: { key: 1 }, unique: true },
  { collection: "auth_rate_limits", name: "expires_at_ttl", key: { expires_at: 1 }, expireAfterSeconds: 0 },
  { collection: "otp_codes", name: "key_unique", key: { key: 1 }, unique: true },
  { collection: "otp_codes", name: "expires_at_ttl", key: { expires_at: 1 }, expireAfterSeconds: 0 },
];

// New collections only this system writes: no legacy document can violate the unique indexes.
// Down drops the indexes up created; the collections and their documents stay (sessions keep working).
export const { up, down } = indexOnlyMigration(INDEXES);
