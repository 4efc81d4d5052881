// Migration runner CLI: npm run migrate -- status|up|down [--to ID] [--dry-run] [--json] [--yes]
// Exit codes: 0 ok, 1 failure (bad arguments, bad URI, unreachable database, error), 2 refused
// (lock held, checksum mismatch, conflicts or unique violations, not confirmed).
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { DEFAULT_DB_NAME, DEFAULT_MONGODB_URI, loadConfig } from "../src/config.ts";
import type { Bindings } from "../src/env.ts";
import { redactUri } from "./lib/settings.ts";
import { formatReport } from "./migrate/format.ts";
import { runMigrations, stderrLogger, type Command } from "./migrate/runner.ts";

const USAGE = `usage: npm run migrate -- <status|up|down> [options]

  status                 applied (with time and duration), pending, changed files, lock holder
  up [--to ID]           apply pending migrations in order, through ID (default: all)
  down [--to ID]         revert the last applied migration, or every one back through ID

options:
  --to ID                a migration id or its number (e.g. 002)
  --dry-run              compute and print what would change; write nothing (not even the lock)
  --json                 print one JSON report on stdout (logs stay on stderr)
  --yes, -y              do not ask before down on a terminal
  --unset-all-links      down of 002: unset EVERY link field, not only those 002 wrote (destroys links)
  --verbose              include stack traces of failures

environment: MONGODB_URI (default ${DEFAULT_MONGODB_URI}), DB_NAME (default ${DEFAULT_DB_NAME}),
  MONGODB_SERVER_SELECTION_TIMEOUT_MS (default 5000), MIGRATIONS_LOCK_LEASE_MS (default 60000),
  MIGRATIONS_DIR (default: the project's migrations/ folder)`;

function positiveInt(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

async function confirmOnTerminal(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} Type "yes" to continue: `);
    return answer.trim().toLowerCase() === "yes";
  } finally {
    rl.close();
  }
}

function parseCommandLine() {
  return parseArgs({
    allowPositionals: true,
    options: {
      to: { type: "string" },
      "dry-run": { type: "boolean" },
      json: { type: "boolean" },
      yes: { type: "boolean", short: "y" },
      "unset-all-links": { type: "boolean" },
      verbose: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine();
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n\n${USAGE}\n`);
    return 1;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const command = positionals[0];
  if (positionals.length !== 1 || (command !== "status" && command !== "up" && command !== "down")) {
    process.stderr.write(`error: expected one command (status, up or down), got ${JSON.stringify(positionals)}\n\n${USAGE}\n`);
    return 1;
  }
  let leaseMs: number | undefined;
  let timeoutMs: number | undefined;
  try {
    leaseMs = positiveInt(process.env.MIGRATIONS_LOCK_LEASE_MS, "MIGRATIONS_LOCK_LEASE_MS");
    timeoutMs = positiveInt(process.env.MONGODB_SERVER_SELECTION_TIMEOUT_MS, "MONGODB_SERVER_SELECTION_TIMEOUT_MS");
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return 1;
  }

  // The environment only: ops point the runner at a database explicitly, never via .dev.vars.
  const { mongodbUri: uri, dbName } = loadConfig(process.env as Bindings);
  const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true;
  const abort = new AbortController();
  process.on("SIGINT", () => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write("\ninterrupt: stopping after the current batch (Ctrl-C again to quit at once; the lock then expires on its own)\n");
    abort.abort();
  });

  stderrLogger.info(`${command}${values["dry-run"] ? " (dry run)" : ""}: database "${dbName}" at ${redactUri(uri)}`);
  const report = await runMigrations({
    uri,
    dbName,
    command: command as Command,
    ...(values.to !== undefined && { to: values.to }),
    dryRun: values["dry-run"] === true,
    unsetAllLinks: values["unset-all-links"] === true,
    progress: process.stderr.isTTY ? "bar" : "lines",
    ...(leaseMs !== undefined && { leaseMs }),
    ...(timeoutMs !== undefined && { serverSelectionTimeoutMs: timeoutMs }),
    ...(process.env.MIGRATIONS_DIR && { migrationsDir: process.env.MIGRATIONS_DIR }),
    ...(command === "down" && interactive && !values.yes && { confirm: confirmOnTerminal }),
    signal: abort.signal,
    verbose: values.verbose === true,
  });

  const printed = values.json || report.outcome === "ok" || report.migrations.length > 0 || report.status !== undefined;
  if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else if (printed) process.stdout.write(`${formatReport(report)}\n`);
  // The text report already ends with the message; JSON and early failures need it on stderr.
  if (report.outcome !== "ok" && (values.json || !printed)) stderrLogger.error(report.message);
  if (values.verbose && report.error?.stack) process.stderr.write(`${report.error.stack}\n`);
  return report.exit_code;
}

process.exitCode = await main();
