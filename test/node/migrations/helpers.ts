import { type ChildProcess, spawn } from "node:child_process";
import { copyFile, cp, mkdir, mkdtemp, readdir, rm, symlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { EJSON } from "bson";
import type { Db, Document, MongoClient } from "mongodb";
import { countReasons, type PlannedLink, type SkippedCustomer } from "../../../scripts/migrate/link-plan.ts";
import { type RunReport, runMigrations } from "../../../scripts/migrate/runner.ts";
import type { MigrationContext } from "../../../scripts/migrate/types.ts";
import type { EmbeddedServer } from "../../support/embedded-server.ts";
import { loadLegacyFixture, readLegacyCollection, readLegacyJson } from "../../support/legacy-fixture.ts";

export const ROOT = resolve(import.meta.dirname, "..", "..", "..");
const CLI = join(ROOT, "scripts", "migrate.ts");
export const LINK_MIGRATION = "002_link_users_customers";

export interface Expected {
  links: { customer_id: string; user_id: string; reason: string }[];
  skipped: { customer_id: string; reason: string; user_ids?: string[] }[];
  counts: Record<string, number>;
}

/** A plan or a summary in expected.json's shape. */
export function outcomeOf(
  links: readonly Pick<PlannedLink, "customer_id" | "user_id" | "reason">[],
  skipped: readonly SkippedCustomer[],
): Expected {
  return {
    links: links.map(({ customer_id, user_id, reason }) => ({ customer_id, user_id, reason })),
    skipped: [...skipped],
    counts: countReasons([...links, ...skipped]),
  };
}

/** What the back-fill must write, derived from the fixture and expected.json (no hard-coded counts). */
export function expectedWrites(expected: Expected = readLegacyJson<Expected>("expected.json")) {
  const customers = new Map(readLegacyCollection("customers_v2").map((c) => [String(c.id), c]));
  const users = new Map(readLegacyCollection("users").map((u) => [String(u.id), u]));
  return {
    records: expected.links.length,
    customers: expected.links.filter((l) => customers.get(l.customer_id)!.user_id == null).length,
    users: expected.links.filter((l) => users.get(l.user_id)!.customer_v2_id == null).length,
  };
}

/** One embedded server per test file, plus a client for setting up and inspecting state. */
export { useEmbeddedServer as useServer } from "../../support/embedded-server.ts";

let dbCounter = 0;
export function freshDbName(prefix: string): string {
  return `${prefix}_${process.pid}_${++dbCounter}`;
}

/** A fresh database on the file's server holding the legacy fixture, nothing migrated. */
export async function fixtureDb(
  h: EmbeddedServer,
  prefix: string,
): Promise<{ dbName: string; db: Db; target: { uri: string; dbName: string } }> {
  const dbName = freshDbName(prefix);
  const db = h.client.db(dbName);
  await loadLegacyFixture(db);
  return { dbName, db, target: { uri: h.uri, dbName } };
}

/** The summary one migration (the back-fill unless `id` says otherwise) left in a run's report; throws if it has none. */
export function summaryOf(report: RunReport, id = LINK_MIGRATION): Record<string, any> {
  const summary = report.migrations.find((m) => m.id === id)?.summary;
  if (!summary) throw new Error(`no summary for ${id}: ${report.message}`);
  return summary as Record<string, any>;
}

/** Waits until the migrations lock's lease has run out (at once if no lock is held). */
export async function waitForLeaseEnd(db: Db): Promise<void> {
  const lock = await db.collection("migrations_lock").findOne();
  if (lock) await new Promise((r) => setTimeout(r, Math.max(0, (lock.expires_at as Date).getTime() - Date.now() + 100)));
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The parsed stdout when --json was passed. */
  report: RunReport;
}

export interface CliTarget {
  uri: string;
  dbName: string;
  env?: Record<string, string>;
}

function childEnv(target: CliTarget): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  env.MONGODB_URI = target.uri;
  env.DB_NAME = target.dbName;
  return { ...env, ...target.env };
}

/** Starts the runner CLI as its own process (its own process group, so it can be killed with its children). */
export function spawnCli(args: readonly string[], target: CliTarget): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: childEnv(target) as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
}

export function collect(child: ChildProcess, args: readonly string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolvePromise, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      let report = undefined as unknown as RunReport;
      if (args.includes("--json") && code !== null) {
        try {
          report = JSON.parse(stdout) as RunReport;
        } catch {
          reject(new Error(`stdout is not one JSON document (exit ${code}):\n${stdout}\n--- stderr:\n${stderr}`));
          return;
        }
      }
      resolvePromise({ code, signal, stdout, stderr, report });
    });
  });
}

export function runCli(args: readonly string[], target: CliTarget): Promise<CliResult> {
  return collect(spawnCli(args, target), args);
}

/** Every document of each collection, as canonical Extended JSON (field order included), in _id order. */
export async function documents(db: Db, names: readonly string[] = ["users", "customers_v2"]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const name of names) {
    // Sorted here rather than by the server: the embedded server's sort is slow on 20k documents.
    const docs = await db.collection(name).find({}).toArray();
    out[name] = docs
      .map((d) => [String(d._id), EJSON.stringify(d, { relaxed: false })] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([, text]) => text);
  }
  return out;
}

/** The whole database: collection names, their indexes and every document. */
export async function wholeDatabase(db: Db): Promise<Record<string, { indexes: Document[]; docs: string[] }>> {
  const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
  const out: Record<string, { indexes: Document[]; docs: string[] }> = {};
  for (const name of names) {
    const indexes = (await db.collection(name).listIndexes().toArray()).sort((a, b) =>
      String(a.name).localeCompare(String(b.name)),
    );
    out[name] = { indexes, docs: (await documents(db, [name]))[name]! };
  }
  return out;
}

export async function indexNames(db: Db, collection: string): Promise<string[]> {
  try {
    return (await db.collection(collection).listIndexes().toArray()).map((i) => String(i.name)).sort();
  } catch {
    return [];
  }
}

/**
 * A copy of migrations/ that a test may edit, with `scripts` and `src` linked back to the
 * real ones so the copies' relative imports resolve to the same modules (`copyScripts`: a real
 * copy of scripts/ instead, so a test may edit a helper module too).
 */
export async function copyOfMigrations(
  options: { copyScripts?: boolean } = {},
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  await mkdir(join(ROOT, ".cache"), { recursive: true });
  const base = await mkdtemp(join(ROOT, ".cache", "migrations-copy-"));
  const dir = join(base, "migrations");
  await mkdir(dir);
  for (const name of await readdir(join(ROOT, "migrations"))) await copyFile(join(ROOT, "migrations", name), join(dir, name));
  if (options.copyScripts) await cp(join(ROOT, "scripts"), join(base, "scripts"), { recursive: true });
  else await symlink(join(ROOT, "scripts"), join(base, "scripts"));
  await symlink(join(ROOT, "src"), join(base, "src"));
  return { dir, cleanup: () => rm(base, { recursive: true, force: true }) };
}

export function waitFor(child: ChildProcess, stream: "stdout" | "stderr", pattern: RegExp): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let seen = "";
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (pattern.test(seen)) {
        child[stream]!.off("data", onData);
        resolvePromise();
      }
    };
    child[stream]!.on("data", onData);
    child.once("close", () => reject(new Error(`process ended before ${pattern} appeared on ${stream}:\n${seen}`)));
  });
}

/** Runs the runner in this process (for setting up state); fails the test unless it succeeds. */
export async function migrate(target: { uri: string; dbName: string }, command: "up" | "down", to?: string): Promise<RunReport> {
  const report = await runMigrations({ ...target, command, ...(to !== undefined && { to }), log: null });
  if (report.outcome !== "ok") throw new Error(`${command} ${to ?? ""} failed: ${report.message}`);
  return report;
}

/** A migration context for calling a migration's up/down directly; `checkpoint` may be intercepted. */
export function contextFor(
  client: MongoClient,
  dbName: string,
  migrationId: string,
  overrides: Partial<MigrationContext> = {},
): MigrationContext {
  const quiet = { info: () => {}, warn: () => {}, error: () => {} };
  return {
    db: client.db(dbName),
    client,
    log: quiet,
    progress: () => ({ tick: () => {}, done: () => {} }),
    dryRun: false,
    migrationId,
    options: {},
    appliedSummary: undefined,
    commandCount: () => 0,
    checkpoint: async () => {},
    ...overrides,
  };
}
