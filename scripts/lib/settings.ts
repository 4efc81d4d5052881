import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { type AppConfig, configFrom, loadConfig } from "../../src/config.ts";
import type { Bindings } from "../../src/env.ts";

export const PROJECT_ROOT = join(import.meta.dirname, "..", "..");
export const DEV_VARS_FILE = ".dev.vars";

/** The key=value pairs of a `.dev.vars` file, or {} when there is none. */
export function readDevVars(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  return parseEnv(readFileSync(path, "utf8")) as Record<string, string>;
}

/**
 * Settings for Node-side tools, read like the Worker reads its bindings: the environment
 * first, then the project's `.dev.vars` (where `npm run dev` records the database it runs).
 */
export function scriptConfig(root: string = PROJECT_ROOT, env: Record<string, string | undefined> = process.env): AppConfig {
  const fromFile = readDevVars(join(root, DEV_VARS_FILE));
  const merged: Record<string, string | undefined> = { ...fromFile };
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== "") merged[key] = value;
  return loadConfig(merged as Bindings);
}

/** The URI with any password hidden, for messages. */
export function redactUri(uri: string): string {
  return uri.replace(/^([a-z+]+:\/\/[^:/@]+):[^@/]*@/i, "$1:***@");
}

/** Every host of a mongodb:// URI is on this machine (never true for mongodb+srv://). */
export function isLoopbackUri(uri: string): boolean {
  const match = /^mongodb:\/\/(?:[^@/]*@)?([^/?]+)/.exec(uri);
  if (!match) return false;
  return match[1]!.split(",").every((host) => /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host));
}

/**
 * The database an ops tool (`npm run migrate`, `npm run links`) works on: MONGODB_URI and
 * DB_NAME from the environment only (never `.dev.vars`: ops name the database explicitly),
 * with the app's defaults when unset. A value that is set is used as given, never replaced by
 * a default (an ops tool must not quietly work on another database than the one it was
 * pointed at): the driver refuses an invalid one, and the tools report that cleanly.
 */
export function opsDatabase(env: Record<string, string | undefined> = process.env): { uri: string; dbName: string } {
  const defaults = configFrom({});
  return { uri: env.MONGODB_URI?.trim() || defaults.mongodbUri, dbName: env.DB_NAME?.trim() || defaults.dbName };
}
