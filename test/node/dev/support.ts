// Shared by test/node/dev/*.test.ts: run the project's commands as processes, and talk to
// the Worker app in-process (the same Hono app wrangler serves) to prove credentials work.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { MongoClient, type Db } from "mongodb";
import { afterAll, beforeAll, expect } from "vitest";
import { startServer, type RunningServer } from "../../../scripts/devdb/server.ts";
import { runMigrations } from "../../../scripts/migrate/runner.ts";
import { createApp } from "../../../src/app.ts";
import { TEST_JWT_SECRET } from "../../support/constants.ts";

export const ROOT = join(import.meta.dirname, "..", "..", "..");

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm run -s <script> -- args` from the project root, as a user would. */
export function npmRun(script: string, args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("npm", ["run", "-s", script, "--", ...args], {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

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
  let server: RunningServer | undefined;
  let client: MongoClient | undefined;
  beforeAll(async () => {
    server = await startServer({ port: 0, quiet: true });
    client = await new MongoClient(server.uri).connect();
    if (options.migrate) {
      const migrated = await runMigrations({ uri: server.uri, dbName, command: "up", log: null });
      expect(migrated.outcome, migrated.message).toBe("ok");
    }
  });
  afterAll(async () => {
    await client?.close();
    await server?.stop();
  });
  return {
    get uri() {
      return server!.uri;
    },
    get db() {
      return client!.db(dbName);
    },
    get env() {
      return { MONGODB_URI: server!.uri, DB_NAME: dbName, BCRYPT_COST: "4" };
    },
  };
}
