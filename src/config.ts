import type { Bindings } from "./env.ts";

export const DEFAULT_DB_NAME = "earlybird_delivery";
export const DEFAULT_MONGODB_URI = "mongodb://127.0.0.1:27017/";
const MIN_JWT_SECRET_BYTES = 32;
/** 64 KiB: the largest legitimate body (a customer with a subscription) is a few KiB. */
export const DEFAULT_MAX_BODY_BYTES = 65_536;

export interface AppConfig {
  /** ENVIRONMENT: "production" turns every development convenience off. */
  environment: string;
  /** Requests may set the clock with X-Test-Now (TEST_CLOCK=1; never in production). */
  testClock: boolean;
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
}

export type DbAccess = "gateway" | "direct";
/** Cloudflare's Durable Object location hints. */
export const LOCATION_HINTS = ["wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me"] as const;
export type LocationHint = (typeof LOCATION_HINTS)[number];

function locationHint(raw: string | undefined): LocationHint | null {
  const value = raw?.trim().toLowerCase() ?? "";
  return LOCATION_HINTS.find((hint) => hint === value) ?? null;
}

export type SmsProviderName = "console" | "webhook" | "msg91";
export interface SmsConfig {
  provider: SmsProviderName;
  webhookUrl: string | null;
  webhookSecret: string | null;
  msg91AuthKey: string | null;
  msg91TemplateId: string | null;
  msg91BaseUrl: string;
}

const SMS_PROVIDERS: readonly SmsProviderName[] = ["console", "webhook", "msg91"];

function smsSettings(env: Bindings, environment: string): { sms: SmsConfig; problem: string | null } {
  const raw = env.SMS_PROVIDER?.trim().toLowerCase() || "console";
  const known = (SMS_PROVIDERS as readonly string[]).includes(raw);
  const sms: SmsConfig = {
    provider: known ? (raw as SmsProviderName) : "console",
    webhookUrl: env.SMS_WEBHOOK_URL?.trim() || null,
    webhookSecret: env.SMS_WEBHOOK_SECRET || null,
    msg91AuthKey: env.MSG91_AUTH_KEY?.trim() || null,
    msg91TemplateId: env.MSG91_TEMPLATE_ID?.trim() || null,
    msg91BaseUrl: (env.MSG91_BASE_URL?.trim() || "https://control.msg91.com").replace(/\/+$/, ""),
  };
  let problem: string | null = null;
  if (!known) problem = `SMS_PROVIDER "${raw}" is not one of ${SMS_PROVIDERS.join(", ")}`;
  else if (sms.provider === "console" && environment === "production") problem = "SMS_PROVIDER=console is refused when ENVIRONMENT=production";
  else if (sms.provider === "webhook" && (!sms.webhookUrl || !sms.webhookSecret)) problem = "SMS_PROVIDER=webhook needs SMS_WEBHOOK_URL and SMS_WEBHOOK_SECRET";
  else if (sms.provider === "msg91" && (!sms.msg91AuthKey || !sms.msg91TemplateId)) problem = "SMS_PROVIDER=msg91 needs MSG91_AUTH_KEY and MSG91_TEMPLATE_ID";
  return { sms, problem };
}

export type LogLevel = "debug" | "info" | "warn" | "error";
const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

function intSetting(raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) return fallback;
  return value;
}

const cache = new WeakMap<object, AppConfig>();

/** Parses bindings once per env object; invalid numbers fall back to safe defaults. */
export function loadConfig(env: Bindings): AppConfig {
  const cached = cache.get(env);
  if (cached) return cached;
  const secret = env.JWT_SECRET ?? "";
  const secretBytes = new TextEncoder().encode(secret).length;
  const jwtSecretProblem =
    secret === ""
      ? "JWT_SECRET is not set"
      : secretBytes < MIN_JWT_SECRET_BYTES
        ? `JWT_SECRET is ${secretBytes} bytes; at least ${MIN_JWT_SECRET_BYTES} are required`
        : null;
  const level = (env.LOG_LEVEL ?? "info").toLowerCase() as LogLevel;
  const environment = env.ENVIRONMENT?.trim() || "development";
  const { sms, problem: smsProblem } = smsSettings(env, environment);
  const config: AppConfig = {
    environment,
    testClock: env.TEST_CLOCK === "1" && environment !== "production",
    mongodbUri: env.MONGODB_URI?.trim() || DEFAULT_MONGODB_URI,
    dbName: env.DB_NAME?.trim() || DEFAULT_DB_NAME,
    jwtSecret: jwtSecretProblem ? null : secret,
    jwtSecretProblem,
    jwtIssuer: env.JWT_ISSUER?.trim() || "earlybird-api",
    jwtAudience: env.JWT_AUDIENCE?.trim() || "earlybird-app",
    accessTokenTtlSeconds: intSetting(env.ACCESS_TOKEN_TTL_SECONDS, 900, 60, 86_400),
    bcryptCost: intSetting(env.BCRYPT_COST, 10, 4, 15),
    logLevel: LOG_LEVELS.includes(level) ? level : "info",
    corsOrigins: (env.CORS_ORIGINS ?? "")
      .split(",")
      .map((origin) => origin.trim())
      .filter(Boolean),
    serverSelectionTimeoutMs: intSetting(env.MONGODB_SERVER_SELECTION_TIMEOUT_MS, 5_000, 100, 60_000),
    dbAccess: env.DB_ACCESS?.trim().toLowerCase() === "direct" ? "direct" : "gateway",
    gatewayShards: intSetting(env.DB_GATEWAY_SHARDS, 4, 1, 64),
    gatewayTimeoutMs: intSetting(env.DB_GATEWAY_TIMEOUT_MS, 5_000, 100, 60_000),
    gatewayLocationHint: locationHint(env.DB_GATEWAY_LOCATION_HINT),
    gatewayPoolSize: intSetting(env.DB_GATEWAY_POOL_SIZE, 4, 1, 4),
    gatewayIdleCloseMs: intSetting(env.DB_GATEWAY_IDLE_CLOSE_MS, 30_000, 1_000, 3_600_000),
    refreshTokenTtlSeconds: intSetting(env.REFRESH_TOKEN_TTL_SECONDS, 2_592_000, 300, 31_536_000),
    loginMaxFailures: intSetting(env.LOGIN_MAX_FAILURES, 10, 1, 1_000),
    loginFailureWindowSeconds: intSetting(env.LOGIN_FAILURE_WINDOW_SECONDS, 900, 10, 86_400),
    loginIpLimitPerMinute: intSetting(env.LOGIN_IP_LIMIT_PER_MINUTE, 30, 1, 100_000),
    sms,
    smsProblem,
    maxBodyBytes: intSetting(env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES, 1_024, 10 * 1024 * 1024),
  };
  cache.set(env, config);
  return config;
}
