import { z } from "zod";
import type { Bindings } from "./env.ts";

export const DEFAULT_DB_NAME = "earlybird_delivery";
export const DEFAULT_MONGODB_URI = "mongodb://127.0.0.1:27017/";
const MIN_JWT_SECRET_BYTES = 32;
/** 64 KiB: the largest legitimate body (a customer with a subscription) is a few KiB. */
export const DEFAULT_MAX_BODY_BYTES = 65_536;

/** Cloudflare's Durable Object location hints. */
export const LOCATION_HINTS = ["wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me"] as const;
export type LocationHint = (typeof LOCATION_HINTS)[number];
export type DbAccess = "gateway" | "direct";
const DB_ACCESS = ["gateway", "direct"] as const satisfies readonly DbAccess[];
export type LogLevel = "debug" | "info" | "warn" | "error";
const LOG_LEVELS = ["debug", "info", "warn", "error"] as const satisfies readonly LogLevel[];
export type SmsProviderName = "console" | "webhook" | "msg91";
const SMS_PROVIDERS = ["console", "webhook", "msg91"] as const satisfies readonly SmsProviderName[];

// ---------------------------------------------------------------------------------------------
// The schema: every binding, its rule and its default, in one place. wrangler.toml [vars] holds
// the deployed values, which must equal these defaults (test/node/config/wrangler-vars.test.ts).
// A blank value counts as unset. Each rule is described in words: problems name the binding and
// the rule, never the value (a value may be a secret).
// ---------------------------------------------------------------------------------------------

const unsetIfBlank = (value: unknown): unknown => (typeof value === "string" && value.trim() === "" ? undefined : value);

function setting<T extends z.ZodType>(rule: string, schema: T) {
  return z.preprocess(unsetIfBlank, schema).describe(rule);
}

const text = (fallback: string) => setting("a non-blank text", z.string().trim().default(fallback));

const integer = (fallback: number, min: number, max: number) =>
  setting(
    `an integer from ${min} to ${max}`,
    z
      .string()
      .trim()
      .regex(/^-?\d+$/)
      .transform(Number)
      .pipe(z.number().int().min(min).max(max))
      .default(fallback),
  );

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.string().trim().toLowerCase().pipe(z.enum(values));

const HTTP_URL = /^https?:\/\/[^\s/]+(\/\S*)?$/i;
const ORIGIN = /^(\*|https?:\/\/[^\s/]+)$/i;

const settingsShape = {
  ENVIRONMENT: setting(
    "a lower-case name such as development, test or production",
    z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^[a-z][a-z0-9_-]*$/)
      .default("development"),
  ),
  MONGODB_URI: setting(
    "a mongodb:// or mongodb+srv:// URI",
    z
      .string()
      .trim()
      .regex(/^mongodb(\+srv)?:\/\/\S+$/)
      .default(DEFAULT_MONGODB_URI),
  ),
  DB_NAME: setting(
    'a MongoDB database name (1-63 characters, none of /\\. "$*<>:|?)',
    z
      .string()
      .trim()
      .regex(/^[^/\\. "$*<>:|?]{1,63}$/)
      .default(DEFAULT_DB_NAME),
  ),
  JWT_SECRET: setting(`a secret of at least ${MIN_JWT_SECRET_BYTES} bytes`, z.string().optional()),
  JWT_ISSUER: text("earlybird-api"),
  JWT_AUDIENCE: text("earlybird-app"),
  ACCESS_TOKEN_TTL_SECONDS: integer(900, 60, 86_400),
  BCRYPT_COST: integer(10, 4, 15),
  LOG_LEVEL: setting(`one of ${LOG_LEVELS.join(", ")}`, oneOf(LOG_LEVELS).default("info")),
  CORS_ORIGINS: setting(
    "a comma-separated list of origins (scheme://host[:port], no path) or *",
    z
      .string()
      .default("")
      .transform((list) =>
        list
          .split(",")
          .map((origin) => origin.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().regex(ORIGIN))),
  ),
  MONGODB_SERVER_SELECTION_TIMEOUT_MS: integer(5_000, 100, 60_000),
  DB_ACCESS: setting(`one of ${DB_ACCESS.join(", ")}`, oneOf(DB_ACCESS).default("gateway")),
  DB_GATEWAY_SHARDS: integer(4, 1, 64),
  DB_GATEWAY_TIMEOUT_MS: integer(5_000, 100, 60_000),
  DB_GATEWAY_LOCATION_HINT: setting(`one of ${LOCATION_HINTS.join(", ")}`, oneOf(LOCATION_HINTS).optional()),
  DB_GATEWAY_POOL_SIZE: integer(4, 1, 4),
  DB_GATEWAY_IDLE_CLOSE_MS: integer(30_000, 1_000, 3_600_000),
  REFRESH_TOKEN_TTL_SECONDS: integer(2_592_000, 300, 31_536_000),
  LOGIN_MAX_FAILURES: integer(10, 1, 1_000),
  LOGIN_FAILURE_WINDOW_SECONDS: integer(900, 10, 86_400),
  LOGIN_IP_LIMIT_PER_MINUTE: integer(30, 1, 100_000),
  SMS_PROVIDER: setting(`one of ${SMS_PROVIDERS.join(", ")}`, oneOf(SMS_PROVIDERS).default("console")),
  SMS_WEBHOOK_URL: setting("an http(s) URL", z.string().trim().regex(HTTP_URL).optional()),
  SMS_WEBHOOK_SECRET: setting("a non-blank secret", z.string().optional()),
  MSG91_AUTH_KEY: setting("a non-blank key", z.string().trim().optional()),
  MSG91_TEMPLATE_ID: setting("a non-blank template id", z.string().trim().optional()),
  MSG91_BASE_URL: setting(
    "an http(s) URL",
    z
      .string()
      .trim()
      .regex(HTTP_URL)
      .default("https://control.msg91.com")
      .transform((url) => url.replace(/\/+$/, "")),
  ),
  TEST_CLOCK: setting('"1" (on) or "0" (off)', z.enum(["0", "1"]).default("0")),
  MAX_BODY_BYTES: integer(DEFAULT_MAX_BODY_BYTES, 1_024, 10 * 1024 * 1024),
} satisfies Record<Exclude<keyof Bindings, "DB_GATEWAY">, z.ZodType>;

/** Every string binding the Worker reads, validated, with its default. */
export const settingsSchema = z.object(settingsShape);
export type Settings = z.output<typeof settingsSchema>;
export type SettingName = keyof typeof settingsShape;

function isSettingName(name: unknown): name is SettingName {
  return typeof name === "string" && Object.hasOwn(settingsShape, name);
}

export const SETTING_NAMES: readonly SettingName[] = Object.keys(settingsShape).filter(isSettingName);

/**
 * Parses the bindings: each invalid value is replaced by its default and reported in
 * `problems` (names and rules only, never values).
 */
export function parseSettings(raw: Readonly<Record<string, unknown>>): {
  settings: Settings;
  problems: string[];
  invalid: ReadonlySet<SettingName>;
} {
  const input: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) input[name] = raw[name];
  const first = settingsSchema.safeParse(input);
  if (first.success) return { settings: first.data, problems: [], invalid: new Set() };
  const invalid = new Set(first.error.issues.map((issue) => issue.path[0]).filter(isSettingName));
  const problems = [...invalid].map((name) => `${name} must be ${settingsShape[name].description}`);
  for (const name of invalid) input[name] = undefined;
  return { settings: settingsSchema.parse(input), problems, invalid };
}

// ---------------------------------------------------------------------------------------------
// The application's view of the settings.
// ---------------------------------------------------------------------------------------------

export interface AppConfig {
  /** ENVIRONMENT: "production" turns every development convenience off and validates strictly. */
  environment: string;
  /** Requests may set the clock with X-Test-Now (TEST_CLOCK=1; never in production). */
  testClock: boolean;
  /** MONGODB_URI; the local embedded server outside production, "" when missing in production. */
  mongodbUri: string;
  dbName: string;
  /** null when missing or too short: auth routes refuse to serve rather than sign with a weak key. */
  jwtSecret: string | null;
  jwtSecretProblem: string | null;
  jwtIssuer: string;
  jwtAudience: string;
  accessTokenTtlSeconds: number;
  bcryptCost: number;
  logLevel: LogLevel;
  corsOrigins: string[];
  serverSelectionTimeoutMs: number;
  /** DB_ACCESS: "gateway" (the DbGateway Durable Object, when bound) or "direct" (a client per request). */
  dbAccess: DbAccess;
  /** DB_GATEWAY_SHARDS: how many named gateway instances share the load (1–64). */
  gatewayShards: number;
  /** DB_GATEWAY_TIMEOUT_MS: deadline of one gateway call; past it the request answers 503. */
  gatewayTimeoutMs: number;
  /** DB_GATEWAY_LOCATION_HINT: where new gateway instances are placed (e.g. "apac"), or null. */
  gatewayLocationHint: LocationHint | null;
  /** DB_GATEWAY_POOL_SIZE: connections per gateway instance besides its monitor (1–4). */
  gatewayPoolSize: number;
  /** DB_GATEWAY_IDLE_CLOSE_MS: a gateway instance closes its client after this long without calls. */
  gatewayIdleCloseMs: number;
  refreshTokenTtlSeconds: number;
  loginMaxFailures: number;
  loginFailureWindowSeconds: number;
  loginIpLimitPerMinute: number;
  sms: SmsConfig;
  /** Why SMS cannot be sent (e.g. the console provider in production); OTP routes refuse to serve. */
  smsProblem: string | null;
  /** MAX_BODY_BYTES: larger request bodies are refused with 413 before anything parses them. */
  maxBodyBytes: number;
  /**
   * What is wrong with the configuration, by binding name (never a value). Outside production:
   * the invalid values that were replaced by their defaults. In production: every problem,
   * and any problem makes `misconfigured` true.
   */
  problems: string[];
  /** ENVIRONMENT=production and `problems` is not empty: every request answers 500 server_misconfigured. */
  misconfigured: boolean;
}

export interface SmsConfig {
  provider: SmsProviderName;
  webhookUrl: string | null;
  webhookSecret: string | null;
  msg91AuthKey: string | null;
  msg91TemplateId: string | null;
  msg91BaseUrl: string;
}

function jwtSecretProblemOf(secret: string | undefined): string | null {
  if (secret === undefined) return "JWT_SECRET is not set";
  if (new TextEncoder().encode(secret).length < MIN_JWT_SECRET_BYTES)
    return `JWT_SECRET is shorter than ${MIN_JWT_SECRET_BYTES} bytes`;
  return null;
}

function smsProblemOf(settings: Settings, invalid: ReadonlySet<SettingName>, production: boolean): string | null {
  if (invalid.has("SMS_PROVIDER")) return `SMS_PROVIDER must be one of ${SMS_PROVIDERS.join(", ")}`;
  switch (settings.SMS_PROVIDER) {
    case "console":
      return production ? "SMS_PROVIDER=console is refused when ENVIRONMENT=production" : null;
    case "webhook":
      return settings.SMS_WEBHOOK_URL && settings.SMS_WEBHOOK_SECRET
        ? null
        : "SMS_PROVIDER=webhook needs SMS_WEBHOOK_URL and SMS_WEBHOOK_SECRET";
    case "msg91":
      return settings.MSG91_AUTH_KEY && settings.MSG91_TEMPLATE_ID
        ? null
        : "SMS_PROVIDER=msg91 needs MSG91_AUTH_KEY and MSG91_TEMPLATE_ID";
  }
}

/** The configuration of `env`, computed from the bindings without caching (see loadConfig). */
export function configFrom(env: Readonly<Record<string, unknown>>): AppConfig {
  const { settings, problems, invalid } = parseSettings(env);
  const production = settings.ENVIRONMENT === "production";
  const jwtSecretProblem = jwtSecretProblemOf(settings.JWT_SECRET);
  const smsProblem = smsProblemOf(settings, invalid, production);
  const mongodbUriSet = unsetIfBlank(env.MONGODB_URI) !== undefined && !invalid.has("MONGODB_URI");
  const allProblems = [...problems];
  if (production) {
    if (!mongodbUriSet && !invalid.has("MONGODB_URI")) allProblems.push("MONGODB_URI is not set (required in production)");
    if (jwtSecretProblem) allProblems.push(jwtSecretProblem);
    if (smsProblem && !invalid.has("SMS_PROVIDER")) allProblems.push(smsProblem);
    if (settings.TEST_CLOCK === "1") allProblems.push("TEST_CLOCK=1 is refused when ENVIRONMENT=production");
  }
  return {
    environment: settings.ENVIRONMENT,
    testClock: settings.TEST_CLOCK === "1" && !production,
    mongodbUri: production && !mongodbUriSet ? "" : settings.MONGODB_URI,
    dbName: settings.DB_NAME,
    jwtSecret: jwtSecretProblem ? null : (settings.JWT_SECRET ?? null),
    jwtSecretProblem,
    jwtIssuer: settings.JWT_ISSUER,
    jwtAudience: settings.JWT_AUDIENCE,
    accessTokenTtlSeconds: settings.ACCESS_TOKEN_TTL_SECONDS,
    bcryptCost: settings.BCRYPT_COST,
    logLevel: settings.LOG_LEVEL,
    corsOrigins: settings.CORS_ORIGINS,
    serverSelectionTimeoutMs: settings.MONGODB_SERVER_SELECTION_TIMEOUT_MS,
    dbAccess: settings.DB_ACCESS,
    gatewayShards: settings.DB_GATEWAY_SHARDS,
    gatewayTimeoutMs: settings.DB_GATEWAY_TIMEOUT_MS,
    gatewayLocationHint: settings.DB_GATEWAY_LOCATION_HINT ?? null,
    gatewayPoolSize: settings.DB_GATEWAY_POOL_SIZE,
    gatewayIdleCloseMs: settings.DB_GATEWAY_IDLE_CLOSE_MS,
    refreshTokenTtlSeconds: settings.REFRESH_TOKEN_TTL_SECONDS,
    loginMaxFailures: settings.LOGIN_MAX_FAILURES,
    loginFailureWindowSeconds: settings.LOGIN_FAILURE_WINDOW_SECONDS,
    loginIpLimitPerMinute: settings.LOGIN_IP_LIMIT_PER_MINUTE,
    sms: {
      provider: settings.SMS_PROVIDER,
      webhookUrl: settings.SMS_WEBHOOK_URL ?? null,
      webhookSecret: settings.SMS_WEBHOOK_SECRET ?? null,
      msg91AuthKey: settings.MSG91_AUTH_KEY ?? null,
      msg91TemplateId: settings.MSG91_TEMPLATE_ID ?? null,
      msg91BaseUrl: settings.MSG91_BASE_URL,
    },
    smsProblem,
    maxBodyBytes: settings.MAX_BODY_BYTES,
    problems: allProblems,
    misconfigured: production && allProblems.length > 0,
  };
}

const cache = new WeakMap<object, AppConfig>();

/** The configuration of `env`, parsed once per env object (see configFrom). */
export function loadConfig(env: Bindings): AppConfig {
  const cached = cache.get(env);
  if (cached) return cached;
  const config = configFrom({ ...env });
  cache.set(env, config);
  return config;
}
