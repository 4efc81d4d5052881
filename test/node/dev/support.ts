// Shared by test/node/dev/*.test.ts: a database for the scripts under test (run them with
// npmRun from test/support/npm-run.ts), and the Worker app in-process (the same Hono app
// wrangler serves) to prove credentials work.
import { join } from "node:path";
import type { Db } from "mongodb";
import { beforeAll, expect } from "vitest";
import { runMigrations } from "../../../scripts/migrate/runner.ts";
import { createApp } from "../../../src/app.ts";
import { TEST_JWT_SECRET } from "../../support/constants.ts";
import { useEmbeddedServer } from "../../support/embedded-server.ts";

export const ROOT = join(import.meta.dirname, "..", "..", "..");

/** POST /api/auth/login through the Worker app, against the given database. */
export async function loginThroughApp(
  db: { uri: string; name: string },
  email: string,
  password: string,
): Promise<{ status: number; body: any }> {
  const res = await createApp().request(
    "/api/auth/login",
    { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }) },
    { MONGODB_URI: db.uri, DB_NAME: db.name, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: "error" },
  );
  return { status: res.status, body: await res.json() };
}

export interface ScriptDatabase {
  readonly uri: string;
  readonly db: Db;
  /** Environment for the script under test: this database, and a cheap bcrypt cost. */
  readonly env: Record<string, string>;
}

/** An embedded database for one test file (optionally migrated), stopped after the file. */
export function useScriptDatabase(dbName: string, options: { migrate?: boolean } = {}): ScriptDatabase {
  const h = useEmbeddedServer();
  if (options.migrate) {
    beforeAll(async () => {
      const migrated = await runMigrations({ uri: h.uri, dbName, command: "up", log: null });
      expect(migrated.outcome, migrated.message).toBe("ok");
    });
  }
  return {
    get uri() {
      return h.uri;
    },
    get db() {
      return h.client.db(dbName);
    },
    get env() {
      return { MONGODB_URI: h.uri, DB_NAME: dbName, BCRYPT_COST: "4" };
    },
  };
}
