// The runner as ops use it: `node scripts/migrate.ts …` as a separate process against the
// embedded server, checked through exit codes, the --json report and the database itself.
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateLegacyData, insertGenerated } from "../../../scripts/generate-legacy-data.ts";
import { type RunReport, runMigrations } from "../../../scripts/migrate/runner.ts";
import { readLegacyJson } from "../../support/legacy-fixture.ts";
import { npmRun } from "../../support/npm-run.ts";
import {
  collect,
  copyOfMigrations,
  type Expected,
  expectedWrites,
  fixtureDb,
  freshDbName,
  indexNames,
  migrate,
  runCli,
  spawnCli,
  useServer,
  waitForLeaseEnd,
  wholeDatabase,
} from "./helpers.ts";

const h = useServer();
const ALL = [
  "001_baseline_indexes",
  "002_link_users_customers",
  "004_auth_collections",
  "005_users_phone_normalized",
  "006_customers_search_fields",
  "007_customer_search_compound_indexes",
  "008_unique_links",
];

describe("status, up, down and --to", () => {
  it("status lists every migration as pending on a fresh database and writes nothing", async () => {
    const { db, target } = await fixtureDb(h, "status");
    const before = await wholeDatabase(db);
    const res = await runCli(["status", "--json"], target);
    expect(res.code).toBe(0);
    expect(res.report.status!.map((s) => [s.id, s.state])).toEqual(ALL.map((id) => [id, "pending"]));
    expect(res.report.pending).toEqual(ALL);
    expect(res.report.lock).toBeNull();
    expect(await wholeDatabase(db)).toEqual(before);
  });

  it("up --to applies through the target only; status then shows time and duration; down reverts the last one", async () => {
    const { db, target } = await fixtureDb(h, "updown");
    const up = await runCli(["up", "--to", "002", "--json"], target);
    expect(up.code).toBe(0);
    expect(up.report.migrations.map((m) => [m.id, m.action])).toEqual([
      ["001_baseline_indexes", "applied"],
      ["002_link_users_customers", "applied"],
    ]);
    expect(up.stderr).toContain("[002_link_users_customers] back-fill");

    const status = await runCli(["status", "--json"], target);
    const [s1, s2, s3] = status.report.status!;
    expect([s1!.state, s2!.state, s3!.state]).toEqual(["applied", "applied", "pending"]);
    expect(Date.parse(s1!.applied_at!)).toBeGreaterThan(Date.now() - 60_000);
    expect(s2!.duration_ms).toBeGreaterThanOrEqual(0);
    expect(s1!.checksum).toBe("ok");
    const changelog = await db.collection("migrations_changelog").find().toArray();
    expect(changelog.map((e) => e._id)).toEqual(["001_baseline_indexes", "002_link_users_customers"]);
    expect(changelog[0]!.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);

    const down = await runCli(["down", "--json"], target);
    expect(down.code).toBe(0);
    expect(down.report.migrations.map((m) => [m.id, m.action])).toEqual([["002_link_users_customers", "reverted"]]);
    expect(await indexNames(db, "users")).toEqual(["_id_", "email_unique_ci", "id_unique"]);

    const downAll = await runCli(["down", "--to", "001_baseline_indexes", "--json"], target);
    expect(downAll.code).toBe(0);
    expect(downAll.report.migrations.map((m) => m.id)).toEqual(["001_baseline_indexes"]);
    expect(await indexNames(db, "users")).toEqual(["_id_"]);
    expect(await db.collection("migrations_changelog").countDocuments()).toBe(0);
    expect(await db.collection("migrations_lock").countDocuments()).toBe(0);
  });

  it("prints a readable report without --json, and the same run through npm run migrate", async () => {
    const { target } = await fixtureDb(h, "human");
    const res = await runCli(["up", "--to", "001"], target);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/001_baseline_indexes: applied/);
    expect(res.stdout).toMatch(/users\.email_unique_ci/);
    const viaNpm = await npmRun("migrate", ["status", "--json"], { env: { MONGODB_URI: target.uri, DB_NAME: target.dbName } });
    expect(viaNpm.code, viaNpm.stderr).toBe(0);
    const report = JSON.parse(viaNpm.stdout) as RunReport;
    expect(report.status!.map((s) => s.state)).toEqual(ALL.map((_, i) => (i === 0 ? "applied" : "pending")));
  });
});

describe("--dry-run", () => {
  it("up --dry-run computes the back-fill and writes nothing, not even the changelog or the lock", async () => {
    const { db, target } = await fixtureDb(h, "dry");
    const before = await wholeDatabase(db);
    const res = await runCli(["up", "--to", "002", "--dry-run", "--json"], target);
    expect(res.code).toBe(0);
    expect(res.report.dry_run).toBe(true);
    expect(res.report.migrations.map((m) => m.action)).toEqual(["would_apply", "would_apply"]);
    const backfill = res.report.migrations[1]!.summary!;
    const expected = readLegacyJson<Expected>("expected.json");
    expect(backfill.counts).toEqual(expected.counts);
    expect(backfill.would_write).toEqual({ links: expected.links.length });
    expect((res.report.migrations[0]!.summary!.would_create as string[]).length).toBe(9);
    expect(await wholeDatabase(db)).toEqual(before);
  });

  it("down --dry-run reports what it would remove and changes nothing", async () => {
    const { db, target } = await fixtureDb(h, "drydown");
    await migrate(target, "up", "002");
    const before = await wholeDatabase(db);
    const res = await runCli(["down", "--dry-run", "--json"], target);
    expect(res.code).toBe(0);
    expect(res.report.migrations[0]!.action).toBe("would_revert");
    const { records, customers, users } = expectedWrites();
    expect(res.report.migrations[0]!.summary).toMatchObject({ would_remove: { customers, users }, records });
    expect(await wholeDatabase(db)).toEqual(before);
  });

  it("a dry run of a refusing migration exits 2 as the real run would", async () => {
    const { db, target } = await fixtureDb(h, "dryrefuse");
    await migrate(target, "up", "002");
    const before = await wholeDatabase(db);
    const res = await runCli(["up", "--dry-run", "--json"], target);
    expect(res.code).toBe(2);
    // As the real run: 004–006 would apply, then 008 refuses on the linking conflicts.
    expect(res.report.migrations.map((m) => [m.id, m.action])).toEqual([
      ...ALL.slice(2, -1).map((id) => [id, "would_apply"]),
      ["008_unique_links", "refused"],
    ]);
    expect(await wholeDatabase(db)).toEqual(before);
    const real = await runCli(["up", "--json"], target);
    expect(real.code).toBe(2);
    expect(real.report.migrations.at(-1)).toMatchObject({ id: "008_unique_links", action: "refused" });
  });
});

describe("refusals", () => {
  it("refuses (exit 2) when an applied migration file changed, naming it", async () => {
    const copy = await copyOfMigrations();
    try {
      const { target } = await fixtureDb(h, "checksum");
      const withCopy = { ...target, env: { MIGRATIONS_DIR: copy.dir } };
      expect((await runMigrations({ ...target, command: "up", to: "001", migrationsDir: copy.dir, log: null })).exit_code).toBe(
        0,
      );
      await appendFile(join(copy.dir, "001_baseline_indexes.ts"), "\n// edited after it was applied\n");
      const res = await runCli(["up", "--json"], withCopy);
      expect(res.code).toBe(2);
      expect(res.report.outcome).toBe("refused");
      expect(res.report.message).toContain("001_baseline_indexes (mismatch)");
      expect(res.report.migrations).toEqual([]);
      const status = await runCli(["status", "--json"], withCopy);
      expect(status.code).toBe(0);
      expect(status.report.checksum_mismatches).toEqual(["001_baseline_indexes"]);
      expect(status.report.status![0]!.checksum).toBe("mismatch");
    } finally {
      await copy.cleanup();
    }
  });

  it("two concurrent up runs: exactly one proceeds, the other exits 2 naming the holder", async () => {
    const dbName = freshDbName("concurrent");
    await insertGenerated(h.client.db(dbName), generateLegacyData({ customers: 3000, seed: 5 }));
    const target = { uri: h.uri, dbName };
    const a = spawnCli(["up", "--to", "002", "--json"], target);
    const b = spawnCli(["up", "--to", "002", "--json"], target);
    const results = await Promise.all([collect(a, ["--json"]), collect(b, ["--json"])]);
    expect(results.map((r) => r.code).sort()).toEqual([0, 2]);
    const winner = results[0]!.code === 0 ? a : b;
    const loser = results.find((r) => r.code === 2)!;
    expect(loser.report.error!.type).toBe("refused");
    expect(loser.report.message).toContain(`pid-${winner.pid}`);
    expect(loser.report.migrations).toEqual([]);
    const changelog = await h.client.db(dbName).collection("migrations_changelog").find().toArray();
    expect(changelog.map((e) => e._id)).toEqual(["001_baseline_indexes", "002_link_users_customers"]);
  });

  it("a crashed runner's lease blocks others until it expires, then the next run takes over", async () => {
    const { db, target } = await fixtureDb(h, "lease");
    const leaseMs = 5000; // long enough for the blocked run to start while the lease still holds
    const env = { MIGRATIONS_LOCK_LEASE_MS: String(leaseMs) };
    const crashed = await runCli(["up", "--json"], {
      ...target,
      env: { ...env, MIGRATIONS_CRASH_AT: "002_link_users_customers/customers:1" },
    });
    expect(crashed.signal).toBe("SIGKILL");
    const lock = await db.collection("migrations_lock").findOne();
    expect(lock).not.toBeNull();

    const blocked = await runCli(["up", "--json"], { ...target, env });
    expect(blocked.code).toBe(2);
    expect(blocked.report.message).toContain(String(lock!.owner));
    expect(await db.collection("migrations_changelog").countDocuments({ _id: "002_link_users_customers" as never })).toBe(0);

    await waitForLeaseEnd(db);
    const next = await runCli(["up", "--to", "002", "--json"], { ...target, env });
    expect(next.code).toBe(0);
    expect(next.stderr).toContain(`took over an expired lock from ${String(lock!.owner)}`);
    expect(next.report.migrations.map((m) => m.id)).toEqual(["002_link_users_customers"]);
    expect(await db.collection("migrations_lock").countDocuments()).toBe(0);
  });

  it("a declined confirmation changes nothing (exit 2)", async () => {
    const { db, target } = await fixtureDb(h, "confirm");
    await migrate(target, "up", "002");
    const before = await wholeDatabase(db);
    let asked = "";
    const report = await runMigrations({
      ...target,
      command: "down",
      log: null,
      confirm: async (q) => {
        asked = q;
        return false;
      },
    });
    expect(asked).toContain("002_link_users_customers");
    expect(report.exit_code).toBe(2);
    expect(await wholeDatabase(db)).toEqual(before);
  });
});

describe("failures", () => {
  it("a bad URI exits 1 with a clear message and no stack trace", async () => {
    const res = await runCli(["status"], { uri: "postgres://nope", dbName: "x" });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("MONGODB_URI is not a valid MongoDB connection string");
    expect(res.stderr).not.toMatch(/^\s+at /m);
  });

  it("an unreachable database exits 1 quickly with a clear message; --verbose adds the stack", async () => {
    const target = { uri: "mongodb://127.0.0.1:9/", dbName: "x", env: { MONGODB_SERVER_SELECTION_TIMEOUT_MS: "500" } };
    const res = await runCli(["up", "--json"], target);
    expect(res.code).toBe(1);
    expect(res.report.error).toMatchObject({ type: "connection" });
    expect(res.report.message).toMatch(/cannot reach MongoDB at mongodb:\/\/127\.0\.0\.1:9\/ \(gave up after 500 ms\)/);
    expect(res.report.error!.stack).toBeUndefined();
    expect(res.stderr).not.toMatch(/^\s+at /m);
    const verbose = await runCli(["up", "--verbose"], target);
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(/^\s+at /m);
  });

  it("bad arguments exit 1 with usage", async () => {
    const { target } = await fixtureDb(h, "usage");
    for (const args of [["sideways"], ["up", "--frobnicate"], ["up", "--to", "999"]]) {
      const res = await runCli(args, target);
      expect(res.code, args.join(" ")).toBe(1);
      expect(res.stderr).toMatch(/error: /);
    }
    const misuse = await runMigrations({ ...target, command: "up", options: { "unset-all-links": true }, log: null });
    expect([misuse.exit_code, misuse.error?.type]).toEqual([1, "usage"]);
  });
});
