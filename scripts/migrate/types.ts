import type { Db, MongoClient } from "mongodb";

export interface MigrationLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface Progress {
  /** Advances by `n` units (documents, customers…). */
  tick(n: number): void;
  /** Ends the step; prints the final count and rate. */
  done(): void;
}

export interface MigrationContext {
  db: Db;
  client: MongoClient;
  log: MigrationLogger;
  /** A progress bar on a TTY, plain log lines otherwise. */
  progress(label: string, total: number): Progress;
  /** Compute and report; write nothing. */
  dryRun: boolean;
  migrationId: string;
  /** Options from the command line that a migration may honour. */
  options: { unsetAllLinks: boolean };
  /** For DOWN: the summary UP stored in the changelog (undefined when UP stored none). */
  appliedSummary: Record<string, unknown> | undefined;
  /** Commands sent to the database so far by this run (the lock's own traffic excluded). */
  commandCount(): number;
  /** Throws if the runner lost its lease; call before each write batch. */
  checkpoint(name: string): Promise<void>;
}

export type MigrationSummary = Record<string, unknown>;

export interface Migration {
  id: string;
  description: string;
  up(ctx: MigrationContext): Promise<MigrationSummary | undefined>;
  down(ctx: MigrationContext): Promise<MigrationSummary | undefined>;
}

/** The run must not proceed, and nothing was changed by the refusing step: exit code 2. */
export class RefusedError extends Error {
  readonly details: unknown;
  constructor(message: string, details?: unknown) {
    super(message);
    this.name = "RefusedError";
    this.details = details;
  }
}

/** A bad command line or option: exit code 1, no stack trace. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
