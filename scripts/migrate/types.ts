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
  /** In a dry run: a read-only handle; any write throws "dry run: write attempted" and fails the run. */
  db: Db;
  /** In a dry run: read-only too (its db() handles cannot write). */
  client: MongoClient;
  log: MigrationLogger;
  /** A progress bar on a TTY, plain log lines otherwise. */
  progress(label: string, total: number): Progress;
  /**
   * A dry run: compute what would change and return it (would_* counts); ctx.db cannot write.
   * A migration checks this only to stop after planning, never to keep itself from writing.
   */
  dryRun: boolean;
  migrationId: string;
  /**
   * Options for migrations from the command line (`--opt key=value`, or `--key[=value]` for any
   * flag the runner does not know), each declared by some migration's `options` export.
   */
  options: Readonly<Record<string, MigrationOptionValue>>;
  /** For DOWN: the summary UP stored in the changelog (undefined when UP stored none). */
  appliedSummary: Record<string, unknown> | undefined;
  /** Commands sent to the database so far by this run (the lock's own traffic excluded). */
  commandCount(): number;
  /** Throws if the runner lost its lease; call before each write batch. */
  checkpoint(name: string): Promise<void>;
}

export type MigrationSummary = Record<string, unknown>;

export type MigrationOptionValue = string | boolean;

/** An option a migration honours, declared in its `options` export so the runner can check and list it. */
export interface MigrationOptionSpec {
  /** boolean: `--name`; string: `--name=value` or `--opt name=value`. */
  type: "boolean" | "string";
  /** The commands it applies to; given with another command it is refused. */
  commands: readonly ("up" | "down")[];
  description: string;
}

/** A module in migrations/, named NNN_snake_name.ts; its id is that file name without ".ts". */
export interface Migration {
  /** Optional and deprecated: the loader refuses a value other than the file name. */
  id?: string;
  description: string;
  /** The options (keys of ctx.options) this migration honours. */
  options?: Readonly<Record<string, MigrationOptionSpec>>;
  // biome-ignore lint/suspicious/noConfusingVoidType: a migration may return nothing (an async function without return)
  up(ctx: MigrationContext): Promise<MigrationSummary | void>;
  // biome-ignore lint/suspicious/noConfusingVoidType: as for up
  down(ctx: MigrationContext): Promise<MigrationSummary | void>;
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
