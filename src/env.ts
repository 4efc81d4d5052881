import type { AppConfig } from "./config.ts";
import type { DbGateway } from "./db/gateway.ts";
import type { SessionRef } from "./db/sessions.ts";
import type { DataStore } from "./db/store.ts";
import type { PublicCustomer, PublicUser } from "./db/users.ts";
import type { Logger } from "./lib/logger.ts";
import type { AccessClaims } from "./services/auth/tokens.ts";

/** Worker bindings: [vars] from wrangler.toml plus secrets (.dev.vars / wrangler secret put). */
export interface Bindings {
  ENVIRONMENT?: string;
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
  /** "gateway" (default) or "direct"; see docs/edge-data-path.md. */
  DB_ACCESS?: string;
  DB_GATEWAY_SHARDS?: string;
  DB_GATEWAY_TIMEOUT_MS?: string;
  DB_GATEWAY_LOCATION_HINT?: string;
  DB_GATEWAY_POOL_SIZE?: string;
  DB_GATEWAY_IDLE_CLOSE_MS?: string;
  /** The DbGateway Durable Object namespace (src/db/gateway.ts); absent in Node, where the direct path runs. */
  DB_GATEWAY?: DurableObjectNamespace<DbGateway>;
  REFRESH_TOKEN_TTL_SECONDS?: string;
  LOGIN_MAX_FAILURES?: string;
  LOGIN_FAILURE_WINDOW_SECONDS?: string;
  LOGIN_IP_LIMIT_PER_MINUTE?: string;
  /** console (default outside production) | webhook | msg91 */
  SMS_PROVIDER?: string;
  SMS_WEBHOOK_URL?: string;
  SMS_WEBHOOK_SECRET?: string;
  MSG91_AUTH_KEY?: string;
  MSG91_TEMPLATE_ID?: string;
  MSG91_BASE_URL?: string;
  /** Request body limit in bytes (default 65536; 1024 – 10485760). */
  MAX_BODY_BYTES?: string;
  /** "1" lets a request set the clock with `X-Test-Now` (tests only; refused in production). */
  TEST_CLOCK?: string;
}

/** Set for every request by requestContext. */
export interface Variables {
  requestId: string;
  config: AppConfig;
  logger: Logger;
  /** The application's data operations (src/db/operations.ts), however they reach MongoDB. */
  store: DataStore;
  /** The request's clock: the same instant for every use within one request. */
  now: Date;
  /** CF-Connecting-IP, or null outside Cloudflare's edge. */
  clientIp: string | null;
  /** User-Agent, cut to 256 characters, or null. */
  userAgent: string | null;
}

/** What services get from a request: `c.var` satisfies it. */
export type RequestDeps = Pick<Variables, "store" | "config" | "logger" | "now" | "requestId" | "clientIp" | "userAgent">;

/** Set by requireAuth only: routes behind it see these, others cannot. */
export interface AuthVariables {
  user: PublicUser;
  /** The linked customer, or null unless the link holds both ways. */
  customer: PublicCustomer | null;
  /** The verified access-token claims. */
  claims: AccessClaims;
  /** The refresh session the access token belongs to (`sid`), checked live by requireAuth. */
  session: SessionRef;
}

export interface AppEnv {
  Bindings: Bindings;
  Variables: Variables;
}

export interface AuthedEnv {
  Bindings: Bindings;
  Variables: Variables & AuthVariables;
}
