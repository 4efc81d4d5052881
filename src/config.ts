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
  /** MAX_BODY_BYTES: larger request bodies are refused with 413 before anything parses them. */
  maxBodyBytes: number;
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
    maxBodyBytes: intSetting(env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES, 1_024, 10 * 1024 * 1024),
  };
  cache.set(env, config);
  return config;
}
