// npm run dev -- [--port 8787] [--db-port 27017] [--data-dir DIR] [--state-dir DIR] [--no-wrangler]
// One command from a fresh clone to a working API: embedded database (unless MONGODB_URI is set),
// pending migrations, .dev.vars with a JWT_SECRET, a dev admin on first run, then `wrangler dev`.
// Ctrl-C / SIGTERM stops wrangler (its whole process group) and flushes the database.
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type RunningServer, startServer } from "@earlybird/devdb";
import { MongoClient } from "mongodb";
import { probePort } from "./lib/ports.ts";
import { DEV_VARS_FILE, isLoopbackUri, PROJECT_ROOT, redactUri, scriptConfig } from "./lib/settings.ts";
import { startWranglerDev, stopProcessGroup, waitForWorker } from "./lib/wrangler-dev.ts";
import { runMigrations } from "./migrate/runner.ts";
import { createStaffUser, UserCreateError } from "./user-create.ts";

export const DEV_ADMIN_EMAIL = "admin@earlybird.local";
const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 8_000;

const USAGE = `usage: npm run dev -- [options]

  --port N          API port for wrangler dev (env DEV_PORT; default 8787)
  --db-port N       embedded database port (env DEV_DB_PORT; default 27017)
  --data-dir DIR    embedded database files (env DEV_DATA_DIR; default <state-dir>/.data/db)
  --state-dir DIR   where .dev.vars, .data and wrangler's state/logs live (env DEV_STATE_DIR; default: the project)
  --no-wrangler     set everything up and keep the database running, without wrangler dev (env DEV_WRANGLER=0)

Set MONGODB_URI to use an existing MongoDB instead of the embedded one.`;

interface Options {
  port: number;
  dbPort: number;
  stateDir: string;
  dataDir: string;
  wrangler: boolean;
}

class DevError extends Error {}

function portOption(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new DevError(`${name} must be a port number (1-65535), got ${JSON.stringify(raw)}`);
  return port;
}

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      "db-port": { type: "string" },
      "data-dir": { type: "string" },
      "state-dir": { type: "string" },
      "no-wrangler": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return null;
  const stateDir = resolve(values["state-dir"] ?? env.DEV_STATE_DIR ?? PROJECT_ROOT);
  return {
    port: portOption(values.port ?? env.DEV_PORT, 8787, "--port"),
    dbPort: portOption(values["db-port"] ?? env.DEV_DB_PORT, 27017, "--db-port"),
    stateDir,
    dataDir: resolve(values["data-dir"] ?? env.DEV_DATA_DIR ?? join(stateDir, ".data", "db")),
    wrangler: !values["no-wrangler"] && env.DEV_WRANGLER !== "0",
  };
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const shown = (path: string) => {
  const rel = relative(process.cwd(), path);
  return rel === "" ? "." : rel.startsWith("..") ? path : rel;
};

async function assertPortFree(port: number, what: string, hint: string): Promise<void> {
  await probePort(port).catch((err: NodeJS.ErrnoException) => {
    throw err.code === "EADDRINUSE" ? new DevError(`port ${port} (${what}) is already in use — ${hint}`) : err;
  });
}

async function waitForDatabase(uri: string, timeoutMs: number): Promise<void> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: timeoutMs, appName: "earlybird-dev" });
  try {
    await client.connect();
    await client.db("admin").command({ ping: 1 });
  } catch (err) {
    throw new DevError(`cannot reach MongoDB at ${redactUri(uri)}: ${(err as Error).message}`);
  } finally {
    await client.close().catch(() => undefined);
  }
}

/**
 * Creates `.dev.vars` (mode 600) with a random 48-byte JWT_SECRET if it has none, and points
 * MONGODB_URI (and DB_NAME when given in the environment) at the database this run uses.
 * Other lines are kept as they are.
 */
function writeDevVars(path: string, settings: Record<string, string>): { created: boolean; newSecret: boolean } {
  const created = !existsSync(path);
  let lines = created
    ? ["# Local secrets for wrangler dev, written by `npm run dev`. Never commit this file."]
    : readFileSync(path, "utf8").replace(/\n$/, "").split("\n");
  const has = (key: string) => lines.some((line) => line.startsWith(`${key}=`));
  const newSecret = !has("JWT_SECRET");
  if (newSecret) lines.push(`JWT_SECRET=${randomBytes(48).toString("base64url")}`);
  for (const [key, value] of Object.entries(settings)) {
    const line = `${key}=${JSON.stringify(value)}`;
    if (has(key)) lines = lines.map((l) => (l.startsWith(`${key}=`) ? line : l));
    else lines.push(line);
  }
  writeFileSync(path, `${lines.join("\n")}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return { created, newSecret };
}

async function ensureDevAdmin(uri: string, dbName: string, bcryptCost: number): Promise<void> {
  const client = await new MongoClient(uri, { appName: "earlybird-dev" }).connect();
  try {
    const db = client.db(dbName);
    try {
      const { generatedPassword } = await createStaffUser(
        db,
        { email: DEV_ADMIN_EMAIL, role: "admin", name: "Dev Admin" },
        bcryptCost,
      );
      say(`Dev admin created: ${DEV_ADMIN_EMAIL}`);
      say(`Password (shown only now): ${generatedPassword}`);
    } catch (err) {
      if (!(err instanceof UserCreateError && err.exitCode === 2)) throw err; // 2: the email exists already
      say(`Dev admin: ${DEV_ADMIN_EMAIL} (password printed on the first run; make another admin with npm run user:create)`);
    }
    say(
      `SMS one-time codes: with SMS_PROVIDER=console (the dev default) each code is printed below as a JSON line {"msg":"sms","to":…,"text":…} (docs/sms.md)`,
    );
  } finally {
    await client.close();
  }
}

async function main(): Promise<number> {
  let options: Options | null;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n\n${USAGE}\n`);
    return 1;
  }
  if (!options) {
    say(USAGE);
    return 0;
  }

  let db: RunningServer | null = null;
  let wrangler: ChildProcess | null = null;
  let stopping: Promise<void> | null = null;
  let release: (code: number) => void = () => undefined;
  const finished = new Promise<number>((r) => (release = r));

  const stop = (code: number, why: string): Promise<void> => {
    stopping ??= (async () => {
      if (why) say(why);
      if (wrangler) await stopProcessGroup(wrangler, STOP_GRACE_MS);
      if (db) {
        await db.stop(); // flushes the data files
        say("Database stopped and flushed.");
      }
      release(code);
    })();
    return stopping;
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      if (stopping && wrangler?.pid !== undefined) {
        // A second Ctrl-C: do not wait for wrangler's grace period.
        try {
          process.kill(-wrangler.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      void stop(0, `\nStopping (${signal})…`);
    });
  }

  try {
    const devVarsPath = join(options.stateDir, DEV_VARS_FILE);
    const config = scriptConfig(options.stateDir);
    const external = process.env.MONGODB_URI?.trim();
    if (options.wrangler)
      await assertPortFree(options.port, "API", "stop the other `npm run dev` / wrangler dev, or use --port / DEV_PORT");

    let uri: string;
    if (external) {
      uri = external;
      say(`Database: MONGODB_URI (${redactUri(uri)})`);
    } else {
      await assertPortFree(
        options.dbPort,
        "embedded database",
        "stop the other `npm run dev` / `npm run db`, or use --db-port / DEV_DB_PORT",
      );
      mkdirSync(options.dataDir, { recursive: true });
      const started = await startServer({ port: options.dbPort, dir: options.dataDir, quiet: true });
      if (stopping) {
        await started.stop(); // a signal arrived while it was starting
        return await finished;
      }
      db = started;
      uri = started.uri;
      say(`Database: embedded, data in ${shown(options.dataDir)} (${uri})`);
    }
    if (stopping) return await finished;
    await waitForDatabase(uri, config.serverSelectionTimeoutMs);

    const report = await runMigrations({ uri, dbName: config.dbName, command: "up", log: null });
    if (report.outcome === "failed") throw new DevError(`migrations failed: ${report.message}`);
    if (report.outcome === "refused") {
      say(`Migrations: REFUSED — ${report.message}`);
      say("  The API still runs; see docs/runbook.md (npm run migrate -- status).");
    } else {
      say(`Migrations: ${report.message}`);
    }

    const settings: Record<string, string> = { MONGODB_URI: uri };
    if (process.env.DB_NAME) settings.DB_NAME = process.env.DB_NAME;
    const vars = writeDevVars(devVarsPath, settings);
    say(
      `${shown(devVarsPath)}: ${vars.created ? "created with a new JWT_SECRET" : vars.newSecret ? "added a new JWT_SECRET" : "kept its JWT_SECRET"}`,
    );
    const problem = scriptConfig(options.stateDir, {}).jwtSecretProblem;
    if (problem) say(`  warning: ${problem}; auth routes will answer 500 until you fix it (delete the line to get a new one)`);

    if (external && !isLoopbackUri(uri)) {
      say("Dev admin: not created on a remote database; use npm run user:create");
    } else {
      await ensureDevAdmin(uri, config.dbName, config.bcryptCost);
    }
    if (stopping) return await finished;

    if (!options.wrangler) {
      say("Ready: database only (--no-wrangler). Ctrl-C to stop.");
      return await finished;
    }
    const child = startWranglerDev({ port: options.port, envFile: devVarsPath, stateDir: options.stateDir });
    wrangler = child;
    child.on("exit", (code, signal) => {
      if (!stopping) void stop(code ?? 1, `wrangler dev exited (${signal ?? `code ${code}`}); stopping.`);
    });
    try {
      await waitForWorker(options.port, child, READY_TIMEOUT_MS);
    } catch (err) {
      throw new DevError((err as Error).message);
    }
    if (!stopping) say(`Ready: http://localhost:${options.port} (docs: http://localhost:${options.port}/docs)`);
    return await finished;
  } catch (err) {
    if (stopping) return await finished; // failures caused by stopping mid-start are not news
    process.stderr.write(`error: ${err instanceof DevError ? err.message : ((err as Error).stack ?? String(err))}\n`);
    await stop(1, "");
    return 1;
  }
}

if (import.meta.main) process.exit(await main());
