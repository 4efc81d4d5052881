import { MongoClient } from "mongodb";
import { redactUri } from "../lib/settings.ts";
import { type ChangelogEntry, readChangelog, recordApplied, removeApplied } from "./changelog.ts";
import { DEFAULT_MIGRATIONS_DIR, loadMigrations, type MigrationFile } from "./loader.ts";
import { DEFAULT_LEASE_MS, LeaseLock, LOCK_COLLECTION, newOwnerId, readLock } from "./lock.ts";
import { createProgress, type ProgressMode } from "./progress.ts";
import { DryRunWriteError, readOnlyClient, readOnlyDb } from "./read-only.ts";
import {
  type MigrationContext,
  type MigrationLogger,
  type MigrationOptionValue,
  type MigrationSummary,
  RefusedError,
  UsageError,
} from "./types.ts";

export type Command = "up" | "down" | "status";

export interface RunOptions {
  uri: string;
  dbName: string;
  command: Command;
  /** Inclusive: `up` applies through this id, `down` reverts back through it. An id or its number ("002"). */
  to?: string;
  dryRun?: boolean;
  /**
   * Options for migrations (ctx.options), e.g. { "unset-all-links": true } for the down of 002.
   * Each must be declared by a migration's `options` export, for this command.
   */
  options?: Readonly<Record<string, MigrationOptionValue>>;
  /** Where log lines go; null for silence. Default: stderr. */
  log?: MigrationLogger | null;
  /** Default: "lines" when logging, else "off". */
  progress?: ProgressMode;
  migrationsDir?: string;
  leaseMs?: number;
  serverSelectionTimeoutMs?: number;
  /** Asked before `down` writes anything; a false answer changes nothing. */
  confirm?: (question: string) => Promise<boolean>;
  /** Aborting stops the run at the next checkpoint (between write batches). */
  signal?: AbortSignal;
  /** Put the stack trace of a failure in the report. */
  verbose?: boolean;
}

export type Outcome = "ok" | "refused" | "failed";

export interface MigrationResult {
  id: string;
  description: string;
  action: "applied" | "reverted" | "would_apply" | "would_revert" | "refused" | "failed";
  duration_ms: number;
  summary?: MigrationSummary;
  error?: string;
  details?: unknown;
}

export interface StatusEntry {
  id: string;
  description: string | null;
  state: "applied" | "pending";
  applied_at: string | null;
  duration_ms: number | null;
  /** "missing_file": applied, but the file is gone. */
  checksum: "ok" | "mismatch" | "missing_file" | null;
}

export interface RunReport {
  command: Command;
  database: string;
  dry_run: boolean;
  outcome: Outcome;
  exit_code: 0 | 1 | 2;
  message: string;
  migrations: MigrationResult[];
  status?: StatusEntry[];
  pending?: string[];
  checksum_mismatches?: string[];
  lock?: { owner: string; command: string; expires_at: string } | null;
  error?: { type: string; message: string; details?: unknown; stack?: string };
  /** Database commands this run sent (lock renewals excluded). */
  round_trips: number;
  duration_ms: number;
}

export const stderrLogger: MigrationLogger = {
  info: (m) => process.stderr.write(`${m}\n`),
  warn: (m) => process.stderr.write(`warning: ${m}\n`),
  error: (m) => process.stderr.write(`error: ${m}\n`),
};
const silentLogger: MigrationLogger = { info: () => {}, warn: () => {}, error: () => {} };

class Aborted extends Error {}

/** A failure whose message is written for people (no stack trace needed). */
class FailedError extends Error {}

function stackOf(err: unknown): string | undefined {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? cause.stack : undefined;
}

const UNREACHABLE = new Set([
  "MongoServerSelectionError",
  "MongoNetworkError",
  "MongoNetworkTimeoutError",
  "MongoTopologyClosedError",
]);

function openClient(uri: string, timeoutMs: number): MongoClient {
  try {
    return new MongoClient(uri, {
      monitorCommands: true,
      serverSelectionTimeoutMS: timeoutMs,
      connectTimeoutMS: timeoutMs,
      appName: "earlybird-migrate",
    });
  } catch (err) {
    throw new FailedError(
      `MONGODB_URI is not a valid MongoDB connection string (${redactUri(uri)}): ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

function resolveTarget(files: readonly MigrationFile[], to: string): MigrationFile {
  const exact = files.find((f) => f.id === to);
  if (exact) return exact;
  const byNumber = files.filter((f) => f.id.startsWith(`${to}_`));
  if (byNumber.length === 1) return byNumber[0]!;
  throw new UsageError(`--to ${to}: no such migration (known: ${files.map((f) => f.id).join(", ") || "none"})`);
}

function statusOf(files: readonly MigrationFile[], applied: readonly ChangelogEntry[]): StatusEntry[] {
  const byId = new Map(applied.map((e) => [e.id, e]));
  const rows: StatusEntry[] = files.map((f) => {
    const entry = byId.get(f.id);
    return {
      id: f.id,
      description: f.migration.description,
      state: entry ? "applied" : "pending",
      applied_at: entry ? entry.applied_at.toISOString() : null,
      duration_ms: entry ? entry.duration_ms : null,
      // A changelog entry written before the checksum covered imports holds the file's own hash.
      checksum: entry ? (entry.checksum === f.checksum || entry.checksum === f.fileChecksum ? "ok" : "mismatch") : null,
    };
  });
  for (const entry of applied) {
    if (!files.some((f) => f.id === entry.id)) {
      rows.push({
        id: entry.id,
        description: entry.description,
        state: "applied",
        applied_at: entry.applied_at.toISOString(),
        duration_ms: entry.duration_ms,
        checksum: "missing_file",
      });
    }
  }
  return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Every option a migration declares, as "--name (type, commands) description" lines for the usage text. */
export function declaredOptions(
  files: readonly MigrationFile[],
): { name: string; id: string; type: string; commands: readonly string[]; description: string }[] {
  return files.flatMap((f) => Object.entries(f.migration.options ?? {}).map(([name, spec]) => ({ name, id: f.id, ...spec })));
}

/**
 * The options for migrations, checked against what the migrations declare: an option nobody
 * declares (a typo), one given to the wrong command, or a value of the wrong type is a usage error.
 */
function checkOptions(
  files: readonly MigrationFile[],
  command: Command,
  given: Readonly<Record<string, MigrationOptionValue>>,
): Readonly<Record<string, MigrationOptionValue>> {
  const declared = declaredOptions(files);
  const known = declared.map((d) => `--${d.name} (${d.commands.join("/")} of ${d.id})`).join(", ") || "none";
  for (const [name, value] of Object.entries(given)) {
    const specs = declared.filter((d) => d.name === name);
    if (specs.length === 0)
      throw new UsageError(`unknown option --${name}: no migration declares it (migration options: ${known})`);
    if (command === "status" || !specs.some((d) => d.commands.includes(command))) {
      throw new UsageError(
        `--${name} only applies to ${[...new Set(specs.flatMap((d) => d.commands))].join(" and ")} (${specs.map((d) => d.id).join(", ")})`,
      );
    }
    const type = typeof value === "boolean" ? "boolean" : "string";
    if (!specs.some((d) => d.type === type)) {
      throw new UsageError(
        type === "boolean" ? `--${name} needs a value: --${name}=<value> or --opt ${name}=<value>` : `--${name} takes no value`,
      );
    }
  }
  return Object.freeze({ ...given });
}

/** Parses MIGRATIONS_CRASH_AT=<migration id>/<checkpoint>:<n>, a test hook that SIGKILLs the runner there. */
function crashHook(): (point: string) => void {
  const spec = process.env.MIGRATIONS_CRASH_AT;
  const match = spec ? /^(.+):(\d+)$/.exec(spec) : null;
  if (!match) return () => {};
  let seen = 0;
  return (point) => {
    if (point === match[1] && ++seen === Number(match[2])) process.kill(process.pid, "SIGKILL");
  };
}

/**
 * Runs `status`, `up` or `down` against one database and returns a report; never throws
 * for refusals or database failures (they come back as outcome + exit_code).
 */
export async function runMigrations(options: RunOptions): Promise<RunReport> {
  const started = performance.now();
  const log = options.log === null ? silentLogger : (options.log ?? stderrLogger);
  const progressMode = options.progress ?? (options.log === null ? "off" : "lines");
  const timeoutMs = options.serverSelectionTimeoutMs ?? 5_000;
  const dryRun = options.dryRun === true;
  let commands = 0;
  const report: RunReport = {
    command: options.command,
    database: options.dbName,
    dry_run: dryRun,
    outcome: "ok",
    exit_code: 0,
    message: "",
    migrations: [],
    round_trips: 0,
    duration_ms: 0,
  };
  const finish = (): RunReport => {
    report.round_trips = commands;
    report.duration_ms = Math.round(performance.now() - started);
    return report;
  };

  let client: MongoClient | null = null;
  let lock: LeaseLock | null = null;
  try {
    // Loaded first: the migrations declare the options they take, checked before connecting.
    const files = await loadMigrations(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
    const migrationOptions = checkOptions(files, options.command, options.options ?? {});
    client = openClient(options.uri, timeoutMs);
    client.on("commandStarted", (event) => {
      if (event.command[event.commandName] !== LOCK_COLLECTION) commands++;
    });
    try {
      await client.connect();
      await client.db(options.dbName).command({ ping: 1 });
    } catch (err) {
      if (err instanceof Error && UNREACHABLE.has(err.name)) {
        throw new FailedError(
          `cannot reach MongoDB at ${redactUri(options.uri)} (gave up after ${timeoutMs} ms): ${err.message}`,
          { cause: err },
        );
      }
      throw err;
    }
    const db = client.db(options.dbName);
    const applied = await readChangelog(db);
    const status = statusOf(files, applied);
    const mismatches = status.filter((s) => s.checksum === "mismatch" || s.checksum === "missing_file");

    if (options.command === "status") {
      const holder = await readLock(db);
      report.status = status;
      report.pending = status.filter((s) => s.state === "pending").map((s) => s.id);
      report.checksum_mismatches = mismatches.map((s) => s.id);
      report.lock = holder ? { owner: holder.owner, command: holder.command, expires_at: holder.expires_at.toISOString() } : null;
      report.message = `${status.length - report.pending.length} applied, ${report.pending.length} pending${mismatches.length ? `, ${mismatches.length} changed since applied: ${mismatches.map((s) => s.id).join(", ")}` : ""}`;
      return finish();
    }

    if (mismatches.length > 0) {
      throw new RefusedError(
        `applied migration files changed since they were applied (or are missing): ${mismatches.map((s) => `${s.id} (${s.checksum})`).join(", ")}; restore them from version control — never edit an applied migration, add a new one`,
        { checksum_mismatches: mismatches.map((s) => ({ id: s.id, problem: s.checksum })) },
      );
    }

    const appliedIds = new Set(applied.map((e) => e.id));
    let targets: MigrationFile[];
    if (options.command === "up") {
      const last = options.to === undefined ? files.at(-1) : resolveTarget(files, options.to);
      const pending = files.filter((f) => !appliedIds.has(f.id));
      const newestApplied = applied.at(-1)?.id;
      const outOfOrder = pending.filter((f) => newestApplied !== undefined && f.id < newestApplied);
      if (outOfOrder.length > 0) {
        throw new RefusedError(
          `pending migrations are older than the newest applied one (${newestApplied}): ${outOfOrder.map((f) => f.id).join(", ")}; revert down to them first`,
        );
      }
      targets = last === undefined ? [] : pending.filter((f) => f.id <= last.id);
    } else {
      const appliedFiles = files.filter((f) => appliedIds.has(f.id)).reverse();
      if (options.to === undefined) targets = appliedFiles.slice(0, 1);
      else {
        const stop = resolveTarget(files, options.to);
        if (!appliedIds.has(stop.id)) throw new UsageError(`--to ${options.to}: ${stop.id} is not applied`);
        targets = appliedFiles.filter((f) => f.id >= stop.id);
      }
    }

    if (targets.length === 0) {
      report.message =
        options.command === "up" ? "nothing to apply: the database is up to date" : "nothing to revert: no migration is applied";
      return finish();
    }

    if (options.command === "down" && !dryRun && options.confirm) {
      const question = `Revert ${targets.map((t) => t.id).join(", ")} on database "${options.dbName}" at ${redactUri(options.uri)}?`;
      if (!(await options.confirm(question))) throw new RefusedError("not confirmed; nothing was changed");
    }

    if (!dryRun) {
      lock = new LeaseLock(db, newOwnerId(), options.leaseMs ?? DEFAULT_LEASE_MS);
      await lock.acquire(`${options.command}${options.to ? ` --to ${options.to}` : ""}`);
      if (lock.tookOverFrom)
        log.warn(
          `took over an expired lock from ${lock.tookOverFrom.owner} (lease ended ${lock.tookOverFrom.expires_at.toISOString()}); it probably crashed — check its last migration's state`,
        );
      // The changelog may have moved while we waited for nothing else to hold the lock.
      const fresh = new Set((await readChangelog(db)).map((e) => e.id));
      targets = targets.filter((t) => (options.command === "up" ? !fresh.has(t.id) : fresh.has(t.id)));
    }

    const crash = crashHook();
    const changelogById = new Map(applied.map((e) => [e.id, e]));
    for (const target of targets) {
      const migrationLog: MigrationLogger = {
        info: (m) => log.info(`[${target.id}] ${m}`),
        warn: (m) => log.warn(`[${target.id}] ${m}`),
        error: (m) => log.error(`[${target.id}] ${m}`),
      };
      // A dry run hands the migration a handle that cannot write: any attempt fails the run,
      // even if the migration catches the error.
      const writeAttempts: string[] = [];
      const onWrite = (what: string) => void writeAttempts.push(what);
      const ctx: MigrationContext = {
        db: dryRun ? readOnlyDb(db, onWrite) : db,
        client: dryRun ? readOnlyClient(client, onWrite) : client,
        log: migrationLog,
        dryRun,
        migrationId: target.id,
        options: migrationOptions,
        appliedSummary: changelogById.get(target.id)?.summary ?? undefined,
        progress: (label, total) => createProgress(progressMode, migrationLog, process.stderr, label, total),
        commandCount: () => commands,
        checkpoint: async (name) => {
          if (options.signal?.aborted)
            throw new Aborted(`interrupted before "${name}"; the lock was released, run the same command again to resume`);
          await lock?.assertHeld();
          crash(`${target.id}/${name}`);
        },
      };
      const verb = options.command === "up" ? "applying" : "reverting";
      migrationLog.info(`${dryRun ? `dry run: ${verb}` : verb} — ${target.migration.description}`);
      const t0 = performance.now();
      const result: MigrationResult = {
        id: target.id,
        description: target.migration.description,
        action: "failed",
        duration_ms: 0,
      };
      report.migrations.push(result);
      try {
        const summary =
          (options.command === "up" ? await target.migration.up(ctx) : await target.migration.down(ctx)) ?? undefined;
        if (writeAttempts.length > 0) throw new DryRunWriteError(`${writeAttempts.join(", ")}, caught by the migration`);
        result.duration_ms = Math.round(performance.now() - t0);
        if (summary) result.summary = summary;
        if (!dryRun) {
          await lock?.assertHeld();
          if (options.command === "up") {
            await recordApplied(db, {
              id: target.id,
              description: target.migration.description,
              checksum: target.checksum,
              applied_at: new Date(),
              duration_ms: result.duration_ms,
              applied_by: lock?.owner ?? "",
              summary: summary ?? null,
            });
          } else {
            await removeApplied(db, target.id);
          }
        }
        result.action = options.command === "up" ? (dryRun ? "would_apply" : "applied") : dryRun ? "would_revert" : "reverted";
        migrationLog.info(`${result.action.replace("_", " ")} in ${result.duration_ms} ms`);
      } catch (err) {
        result.duration_ms = Math.round(performance.now() - t0);
        result.action = err instanceof RefusedError ? "refused" : "failed";
        result.error = err instanceof Error ? err.message : String(err);
        if (err instanceof RefusedError && err.details !== undefined) result.details = err.details;
        throw err;
      }
    }
    const done = report.migrations.map((m) => m.id).join(", ");
    report.message = dryRun
      ? `dry run: would ${options.command === "up" ? "apply" : "revert"} ${done}; nothing was written`
      : `${options.command === "up" ? "applied" : "reverted"} ${done || "nothing (another run already did it)"}`;
    return finish();
  } catch (err) {
    const refused = err instanceof RefusedError;
    report.outcome = refused ? "refused" : "failed";
    report.exit_code = refused ? 2 : 1;
    report.message = err instanceof Error ? err.message : String(err);
    report.error = {
      type: refused
        ? "refused"
        : err instanceof DryRunWriteError
          ? "dry_run_write"
          : err instanceof UsageError
            ? "usage"
            : err instanceof FailedError
              ? "connection"
              : err instanceof Aborted
                ? "interrupted"
                : "error",
      message: report.message,
    };
    if (refused && err.details !== undefined) report.error.details = err.details;
    const stack = options.verbose ? stackOf(err) : undefined;
    if (stack !== undefined) report.error.stack = stack;
    return finish();
  } finally {
    try {
      await lock?.release();
    } catch (err) {
      log.warn(
        `could not release the migrations lock (it expires on its own): ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    await client?.close().catch(() => {});
  }
}
