import type { Db } from "mongodb";
import type { AppConfig } from "./config.ts";
import type { PublicCustomer, PublicUser } from "./db/users.ts";
import type { Logger } from "./lib/logger.ts";
import type { AccessClaims } from "./services/auth/tokens.ts";

/** Worker bindings: [vars] from wrangler.toml plus secrets (.dev.vars / wrangler secret put). */
export interface Bindings {
  MONGODB_URI?: string;
  DB_NAME?: string;
  JWT_SECRET?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
  ACCESS_TOKEN_TTL_SECONDS?: string;
  BCRYPT_COST?: string;
  LOG_LEVEL?: string;
  CORS_ORIGINS?: string;
  MONGODB_SERVER_SELECTION_TIMEOUT_MS?: string;
}

export interface Variables {
  requestId: string;
  config: AppConfig;
  logger: Logger;
  /** Lazily connects a MongoClient bound to this request (see src/db/client.ts). */
  db: () => Promise<Db>;
  /** Set by requireAuth (src/middleware/auth.ts) only; undefined on routes without it. */
  user: PublicUser;
  /** The linked customer, or null unless the link holds both ways (set by requireAuth). */
  customer: PublicCustomer | null;
  /** The verified access-token claims (set by requireAuth). */
  claims: AccessClaims;
}

export interface AppEnv {
  Bindings: Bindings;
  Variables: Variables;
}
