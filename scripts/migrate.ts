// Migration runner CLI: npm run migrate -- status|up|down [--to ID] [--dry-run] [--json] [--yes]
//                       npm run migrate -- create <name>
// Exit codes: 0 ok, 1 failure (bad arguments, bad URI, unreachable database, error), 2 refused
// (lock held, checksum mismatch, conflicts or unique violations, not confirmed).
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { DEFAULT_DB_NAME, DEFAULT_MONGODB_URI } from "../src/config.ts";
import { opsDatabase, redactUri } from "./lib/settings.ts";
import { createMigration } from "./migrate/create.ts";
import { formatReport } from "./migrate/format.ts";
import { DEFAULT_MIGRATIONS_DIR, loadMigrations } from "./migrate/loader.ts";
import { type Command, declaredOptions, runMigrations, stderrLogger } from "./migrate/runner.ts";
import type { MigrationOptionValue } from "./migrate/types.ts";

const USAGE = `usage: npm run migrate -- <status|up|down> [options]
       npm run migrate -- create <name>

  status                 applied (with time and duration), pending, changed files, lock holder
  up [--to ID]           apply pending migrations in order, through ID (default: all)
  down [--to ID]         revert the last applied migration, or every one back through ID
  create <name>          scaffold migrations/NNN_<snake_name>.ts with the next number (no database needed)

options:
  --to ID                a migration id or its number (e.g. 002)
  --dry-run              compute and print what would change; write nothing (not even the lock)
  --json                 print one JSON report on stdout (logs stay on stderr)
  --yes, -y              do not ask before down on a terminal
  --verbose              include stack traces of failures
  --opt KEY[=VALUE]      an option for the migrations (ctx.options); repeatable. Any other --KEY[=VALUE]
                         is the same as --opt KEY[=VALUE]. Each must be declared by a migration:
%MIGRATION_OPTIONS%

environment: MONGODB_URI (default ${DEFAULT_MONGODB_URI}), DB_NAME (default ${DEFAULT_DB_NAME}),
  MONGODB_SERVER_SELECTION_TIMEOUT_MS (default 5000), MIGRATIONS_LOCK_LEASE_MS (default 60000),
  MIGRATIONS_DIR (default: the project's migrations/ folder)`;

const RUNNER_OPTIONS = new Set(["to", "dry-run", "json", "yes", "verbose", "help", "opt"]);
const OPTION_NAME = /^[a-z][a-z0-9-]*$/;

/**
 * Splits the arguments into the runner's own and the options for migrations: `--opt key[=value]`
 * and any `--key[=value]` the runner does not know (so `--unset-all-links` keeps working).
 */
function splitMigrationOptions(args: readonly string[]): {
  runnerArgs: string[];
  migrationOptions: Record<string, MigrationOptionValue>;
} {
  const runnerArgs: string[] = [];
  const migrationOptions: Record<string, MigrationOptionValue> = {};
  const add = (spec: string) => {
    const eq = spec.indexOf("=");
    const name = eq === -1 ? spec : spec.slice(0, eq);
    if (!OPTION_NAME.test(name)) throw new Error(`bad option name ${JSON.stringify(name)}: lower-case letters, digits and "-"`);
    if (name in migrationOptions) throw new Error(`option --${name} given twice`);
    migrationOptions[name] = eq === -1 ? true : spec.slice(eq + 1);
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      runnerArgs.push(...args.slice(i));
      break;
    }
    if (arg === "--opt" || arg.startsWith("--opt=")) {
      const spec = arg === "--opt" ? args[++i] : arg.slice("--opt=".length);
      if (spec === undefined || spec === "") throw new Error("--opt needs KEY or KEY=VALUE");
      add(spec);
    } else if (arg.startsWith("--") && !RUNNER_OPTIONS.has(arg.slice(2).split("=")[0]!)) {
      add(arg.slice(2));
    } else {
      runnerArgs.push(arg);
    }
  }
  return { runnerArgs, migrationOptions };
}

async function usage(): Promise<string> {
  let lines: string;
  try {
    const declared = declaredOptions(await loadMigrations(process.env.MIGRATIONS_DIR || DEFAULT_MIGRATIONS_DIR));
    lines =
      declared
        .map(
          (d) => `    --${d.name}${d.type === "string" ? "=VALUE" : ""} (${d.commands.join("/")} of ${d.id}): ${d.description}`,
        )
        .join("\n") || "    (none)";
  } catch (err) {
    lines = `    (cannot list them: ${(err as Error).message})`;
  }
  return USAGE.replace("%MIGRATION_OPTIONS%", lines);
}

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

async function main(): Promise<number> {
  // biome-ignore lint/suspicious/noImplicitAnyLet: typed by parseArgs's overloads at the assignment below
  let parsed;
  let migrationOptions: Record<string, MigrationOptionValue>;
  try {
    const split = splitMigrationOptions(process.argv.slice(2));
    migrationOptions = split.migrationOptions;
    parsed = parseArgs({
      args: split.runnerArgs,
      allowPositionals: true,
      options: {
        to: { type: "string" },
        "dry-run": { type: "boolean" },
        json: { type: "boolean" },
        yes: { type: "boolean", short: "y" },
        verbose: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n\n${await usage()}\n`);
    return 1;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${await usage()}\n`);
    return 0;
  }
  const command = positionals[0];
  if (command === "create") {
    if (positionals.length !== 2) {
      process.stderr.write(
        `error: create takes one name (quote it if it has spaces), got ${JSON.stringify(positionals.slice(1))}\n\n${await usage()}\n`,
      );
      return 1;
    }
    try {
      const { id, file } = await createMigration(process.env.MIGRATIONS_DIR || DEFAULT_MIGRATIONS_DIR, positionals[1]!);
      process.stdout.write(`created ${file}\n`);
      stderrLogger.info(`${id}: fill in description, up and down (both throw until written); try it with up --dry-run`);
      return 0;
    } catch (err) {
      process.stderr.write(`error: ${(err as Error).message}\n`);
      return 1;
    }
  }
  if (positionals.length !== 1 || (command !== "status" && command !== "up" && command !== "down")) {
    process.stderr.write(
      `error: expected one command (status, up, down or create), got ${JSON.stringify(positionals)}\n\n${await usage()}\n`,
    );
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
  const { uri, dbName } = opsDatabase();
  const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true;
  const abort = new AbortController();
  process.on("SIGINT", () => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write(
      "\ninterrupt: stopping after the current batch (Ctrl-C again to quit at once; the lock then expires on its own)\n",
    );
    abort.abort();
  });

  stderrLogger.info(`${command}${values["dry-run"] ? " (dry run)" : ""}: database "${dbName}" at ${redactUri(uri)}`);
  const report = await runMigrations({
    uri,
    dbName,
    command: command as Command,
    ...(values.to !== undefined && { to: values.to }),
    dryRun: values["dry-run"] === true,
    options: migrationOptions,
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
