// `npm run links`: the integrity checker on planted defects and on the fixture, link/unlink
// refusals, dry runs and audit records, and resolving what blocks 008_unique_links (was 003) with the CLI alone.
// The CLI runs as its own process against the embedded server, through the real driver.
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { Db, Document } from "mongodb";
import { describe, expect, it } from "vitest";
import { type CheckReport, checkLinks, type FindingKind } from "../../../scripts/links/check.ts";
import { runMigrations } from "../../../scripts/migrate/runner.ts";
import { readLegacyJson } from "../../support/legacy-fixture.ts";
import { npmRun } from "../../support/npm-run.ts";
import { type Expected, fixtureDb, freshDbName, migrate, ROOT, useServer, wholeDatabase } from "../migrations/helpers.ts";

const h = useServer();
const CLI = join(ROOT, "scripts", "links.ts");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  json: any;
}

function links(args: string[], dbName: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const childEnv: Record<string, string | undefined> = { ...process.env, MONGODB_URI: h.uri, DB_NAME: dbName, ...env };
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: childEnv as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      let json: unknown;
      if (args.includes("--json")) {
        try {
          json = JSON.parse(stdout);
        } catch {
          reject(new Error(`stdout is not JSON (exit ${code}):\n${stdout}\n${stderr}`));
          return;
        }
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}

const customer = (id: string, fields: Document = {}) => ({ id, name: `Customer ${id}`, status: "active", ...fields });
const user = (id: string, fields: Document = {}) => ({
  id,
  email: `${id}@example.in`,
  name: id,
  role: "customer",
  is_active: true,
  ...fields,
});

/** A database holding a clean set: two linked pairs (one with an inactive user) and free documents on both sides. */
async function cleanDb(prefix: string): Promise<{ db: Db; dbName: string }> {
  const dbName = freshDbName(prefix);
  const db = h.client.db(dbName);
  await db
    .collection("customers_v2")
    .insertMany([
      customer("c1", { user_id: "u1" }),
      customer("c2", { user_id: "u2", status: "stopped" }),
      customer("c-free"),
      customer("c-null", { user_id: null }),
    ]);
  await db
    .collection("users")
    .insertMany([
      user("u1", { customer_v2_id: "c1" }),
      user("u2", { customer_v2_id: "c2", is_active: false }),
      user("u-free"),
      user("u-null", { customer_v2_id: null }),
      user("staff", { role: "delivery_boy" }),
    ]);
  return { db, dbName };
}

const errorKinds = (r: CheckReport) =>
  Object.fromEntries(
    Object.entries(r.findings)
      .filter(([, f]) => f.count > 0 && f.severity === "error")
      .map(([k, f]) => [k, f.count]),
  );

describe("links check", () => {
  it("finds nothing on a clean database (exit 0); an inactive linked user is only a warning", async () => {
    const { dbName } = await cleanDb("clean");
    const res = await links(["check", "--json"], dbName);
    expect(res.code, res.stderr).toBe(0);
    const report = res.json as CheckReport;
    expect(report.clean).toBe(true);
    expect(report.errors).toBe(0);
    expect(report.warnings).toBe(1);
    expect(report.findings.inactive_user_linked.entries).toEqual([{ customer_id: "c2", user_id: "u2" }]);
    const text = await links(["check"], dbName);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/clean: no link defects \(1 warnings\)/);
  });

  const planted: [
    string,
    (db: Db) => Promise<unknown>,
    Partial<Record<FindingKind, number>>,
    Partial<Record<FindingKind, Document>>,
  ][] = [
    [
      "a customer-side one-way link",
      (db) => db.collection("customers_v2").updateOne({ id: "c-free" }, { $set: { user_id: "u-free" } }),
      { one_way_customer: 1 },
      { one_way_customer: { customer_id: "c-free", user_id: "u-free", user_points_to: null } },
    ],
    [
      "a user-side one-way link",
      (db) => db.collection("users").updateOne({ id: "u-free" }, { $set: { customer_v2_id: "c-free" } }),
      { one_way_user: 1 },
      { one_way_user: { user_id: "u-free", customer_id: "c-free", customer_points_to: null } },
    ],
    [
      "a dangling customer_v2_id",
      (db) => db.collection("users").updateOne({ id: "u-free" }, { $set: { customer_v2_id: "no-such-customer" } }),
      { dangling_user: 1 },
      { dangling_user: { user_id: "u-free", customer_id: "no-such-customer" } },
    ],
    [
      "a dangling user_id",
      (db) => db.collection("customers_v2").updateOne({ id: "c-free" }, { $set: { user_id: "no-such-user" } }),
      { dangling_customer: 1 },
      { dangling_customer: { customer_id: "c-free", user_id: "no-such-user" } },
    ],
    [
      "a customer claimed by two users",
      (db) => db.collection("users").updateOne({ id: "u-free" }, { $set: { customer_v2_id: "c1" } }),
      { customer_claimed_by_several_users: 1, one_way_user: 1 },
      { customer_claimed_by_several_users: { customer_id: "c1", users: 2, user_ids: ["u-free", "u1"] } },
    ],
    [
      "a user named by two customers",
      (db) => db.collection("customers_v2").updateOne({ id: "c-free" }, { $set: { user_id: "u1" } }),
      { user_named_by_several_customers: 1, one_way_customer: 1 },
      { user_named_by_several_customers: { user_id: "u1", customers: 2, customer_ids: ["c-free", "c1"] } },
    ],
    [
      "a staff user carrying customer_v2_id",
      (db) => db.collection("users").updateOne({ id: "staff" }, { $set: { customer_v2_id: "c-free" } }),
      { staff_with_customer_v2_id: 1, one_way_user: 1 },
      { staff_with_customer_v2_id: { user_id: "staff", role: "delivery_boy", customer_id: "c-free" } },
    ],
    [
      "a customer naming a staff user",
      (db) => db.collection("customers_v2").updateOne({ id: "c-free" }, { $set: { user_id: "staff" } }),
      { staff_named_by_customer: 1, one_way_customer: 1 },
      { staff_named_by_customer: { customer_id: "c-free", user_id: "staff", role: "delivery_boy" } },
    ],
  ];
  for (const [name, plant, counts, entries] of planted) {
    it(`finds ${name}`, async () => {
      const { db } = await cleanDb("plant");
      await plant(db);
      const report = await checkLinks(db);
      expect(errorKinds(report)).toEqual(counts);
      for (const [kind, entry] of Object.entries(entries)) expect(report.findings[kind as FindingKind].entries).toEqual([entry]);
    });
  }

  it("exits 1 and lists ids, capped per kind with exact counts; writes nothing", async () => {
    const { db, dbName } = await cleanDb("many");
    await db
      .collection("customers_v2")
      .insertMany(Array.from({ length: 60 }, (_, i) => customer(`d${String(i).padStart(2, "0")}`, { user_id: `ghost-${i}` })));
    const before = await wholeDatabase(db);
    const res = await links(["check", "--json"], dbName);
    expect(res.code).toBe(1);
    const f = (res.json as CheckReport).findings.dangling_customer;
    expect([f.count, f.entries.length, f.truncated]).toEqual([60, 50, true]);
    expect(f.entries[0]).toEqual({ customer_id: "d00", user_id: "ghost-0" });
    const limited = await links(["check", "--json", "--limit", "5"], dbName);
    expect((limited.json as CheckReport).findings.dangling_customer.entries.length).toBe(5);
    const text = await links(["check"], dbName);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/ERROR dangling_customer: 60/);
    expect(text.stdout).toMatch(/… 10 more/);
    expect(await wholeDatabase(db)).toEqual(before);
  });

  it("reports the fixture's defects after the back-fill (npm run links -- check)", async () => {
    const { db, target } = await fixtureDb(h, "fixturecheck");
    await migrate(target, "up", "002");
    const res = await npmRun("links", ["check", "--json"], { env: { MONGODB_URI: target.uri, DB_NAME: target.dbName } });
    expect(res.code, res.stderr).toBe(1);
    const report = JSON.parse(res.stdout) as CheckReport;
    const expected = readLegacyJson<Expected>("expected.json");
    const customerIds = new Set((await db.collection("customers_v2").distinct("id")).map(String));
    const dangling = expected.skipped.filter((s) => s.reason === "dangling");
    expect(report.findings.dangling_customer.count).toBe(dangling.filter((s) => customerIds.has(s.customer_id)).length);
    expect(report.findings.dangling_user.count).toBe(dangling.filter((s) => !customerIds.has(s.customer_id)).length);
    // Every conflict the back-fill reported shows up in the checker under some kind.
    const mentioned = JSON.stringify(report.findings);
    for (const s of expected.skipped.filter((e) => e.reason === "conflict")) expect(mentioned).toContain(s.customer_id);
    // Every link the back-fill made or found is a clean two-way link.
    for (const l of expected.links) expect(mentioned).not.toContain(l.customer_id);
  });
});

describe("links link / unlink", () => {
  it("link refuses a staff user (exit 2), writing nothing", async () => {
    const { db, dbName } = await cleanDb("staff");
    const before = await wholeDatabase(db);
    const res = await links(["link", "--customer", "c-free", "--user", "staff"], dbName);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/user staff has role delivery_boy: staff users are never linked/);
    expect(await wholeDatabase(db)).toEqual(before);
  });

  it("link refuses already-linked parties (exit 2) with a clear message", async () => {
    const { db, dbName } = await cleanDb("already");
    await db.collection("users").updateOne({ id: "u-null" }, { $set: { customer_v2_id: "c-null" } }); // a claim on c-null
    const before = await wholeDatabase(db);
    const cases: [string[], RegExp][] = [
      [["--customer", "c1", "--user", "u1"], /already linked to each other/],
      [["--customer", "c1", "--user", "u-free"], /customer c1 is already linked to user u1; unlink it first/],
      [["--customer", "c-free", "--user", "u1"], /user u1 is already linked to customer c1; unlink that first/],
      [["--customer", "c-null", "--user", "u-free"], /customer c-null is also claimed by users u-null/],
      [["--customer", "nope", "--user", "u-free"], /no customer with id nope/],
    ];
    for (const [args, message] of cases) {
      const res = await links(["link", ...args, "--json"], dbName);
      expect(res.code, args.join(" ")).toBe(2);
      expect(res.json.outcome).toBe("refused");
      expect(res.json.message).toMatch(message);
    }
    expect(await wholeDatabase(db)).toEqual(before);
  });

  it("link --dry-run writes nothing; link writes both sides and an audit record in one go", async () => {
    const { db, dbName } = await cleanDb("link");
    const before = await wholeDatabase(db);
    const dry = await links(["link", "--customer", "c-null", "--user", "u-free", "--dry-run", "--json"], dbName);
    expect(dry.code).toBe(0);
    expect(dry.json).toMatchObject({ dry_run: true, changed: true, after: { customer_user_id: "u-free" } });
    expect(await wholeDatabase(db)).toEqual(before);

    const res = await links(["link", "--customer", "c-null", "--user", "u-free"], dbName, { USER: "asha" });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/linked customer c-null and user u-free/);
    expect((await db.collection("customers_v2").findOne({ id: "c-null" }))!.user_id).toBe("u-free");
    expect((await db.collection("users").findOne({ id: "u-free" }))!.customer_v2_id).toBe("c-null");
    const audit = await db.collection("link_audit").find().toArray();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      action: "link",
      customer_id: "c-null",
      user_ids: ["u-free"],
      operator: "asha",
      before: { customer_user_id: null, users: [{ id: "u-free", customer_v2_id: null }] },
      after: { customer_user_id: "u-free", users: [{ id: "u-free", customer_v2_id: "c-null" }] },
    });
    expect(audit[0]!.at).toBeInstanceOf(Date);
    expect((await checkLinks(db)).clean).toBe(true);
  });

  it("link completes a half link whose other side is free", async () => {
    const { db, dbName } = await cleanDb("half");
    await db.collection("customers_v2").updateOne({ id: "c-free" }, { $set: { user_id: "u-free" } });
    const res = await links(["link", "--customer", "c-free", "--user", "u-free"], dbName);
    expect(res.code, res.stderr).toBe(0);
    expect((await checkLinks(db)).clean).toBe(true);
  });

  it("unlink clears the customer and every claim on it (one-way, contested, staff); --dry-run writes nothing", async () => {
    const { db, dbName } = await cleanDb("unlink");
    await db.collection("users").updateMany({ id: { $in: ["u-free", "staff"] } }, { $set: { customer_v2_id: "c1" } });
    const before = await wholeDatabase(db);
    const dry = await links(["unlink", "--customer", "c1", "--dry-run", "--json"], dbName);
    expect(dry.code).toBe(0);
    expect(dry.json).toMatchObject({ dry_run: true, user_ids: ["staff", "u-free", "u1"] });
    expect(await wholeDatabase(db)).toEqual(before);

    const res = await links(["unlink", "--customer", "c1", "--json"], dbName, { USER: "ravi" });
    expect(res.code, res.stderr).toBe(0);
    expect((await db.collection("customers_v2").findOne({ id: "c1" }))!).not.toHaveProperty("user_id");
    expect(await db.collection("users").countDocuments({ customer_v2_id: "c1" })).toBe(0);
    expect(await db.collection("link_audit").countDocuments({ action: "unlink", customer_id: "c1", operator: "ravi" })).toBe(1);
    expect((await checkLinks(db)).clean).toBe(true);

    const again = await links(["unlink", "--customer", "c1"], dbName);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/not linked to anyone; nothing to unlink/);
    expect(await db.collection("link_audit").countDocuments()).toBe(1);
  });

  it("unlink --user clears only that user's claim; bad arguments exit 3", async () => {
    const { db, dbName } = await cleanDb("unlinkone");
    await db.collection("users").updateOne({ id: "u-free" }, { $set: { customer_v2_id: "c1" } });
    const res = await links(["unlink", "--customer", "c1", "--user", "u-free"], dbName);
    expect(res.code, res.stderr).toBe(0);
    expect((await checkLinks(db)).clean).toBe(true);
    expect((await db.collection("customers_v2").findOne({ id: "c1" }))!.user_id).toBe("u1");
    expect((await links(["unlink", "--customer", "c1", "--user", "u-null"], dbName)).code).toBe(2);
    expect((await links(["link", "--customer", "c1"], dbName)).code).toBe(3);
    expect((await links(["frobnicate"], dbName)).code).toBe(3);
  });
});

describe("resolving what blocks 008_unique_links with npm run links", () => {
  it("008 refuses on the fixture after 002, naming the checker; after unlink/link of the listed conflicts it succeeds", async () => {
    const { db, dbName, target } = await fixtureDb(h, "resolve");
    await migrate(target, "up", "002");
    const refused = await runMigrations({ ...target, command: "up", log: null });
    expect(refused.exit_code).toBe(2);
    expect(refused.message).toContain("npm run links -- check");
    const conflicts = (
      refused.error!.details as {
        conflicts: { field: string; value: string; points_back_to: string | null; documents: { id: string }[] }[];
      }
    ).conflicts;
    expect(conflicts.length).toBeGreaterThan(0);

    const check = await links(["check", "--json"], dbName);
    expect(check.code).toBe(1);
    const report = check.json as CheckReport;
    // The checker lists exactly the duplicates 008 names.
    expect(report.findings.user_named_by_several_customers.count + report.findings.customer_claimed_by_several_users.count).toBe(
      conflicts.length,
    );

    for (const c of conflicts) {
      if (c.field === "customers_v2.user_id") {
        // A user named by several customers: keep the customer it points back to, unlink the others.
        for (const d of c.documents.filter((d) => d.id !== c.points_back_to)) {
          const res = await links(["unlink", "--customer", d.id, "--user", c.value], dbName);
          expect(res.code, res.stderr).toBe(0);
        }
      } else {
        // A customer claimed by several users: clear every claim, then link the one a person chose.
        const res = await links(["unlink", "--customer", c.value], dbName);
        expect(res.code, res.stderr).toBe(0);
        const chosen = [...c.documents].map((d) => d.id).sort()[0]!;
        const linked = await links(["link", "--customer", c.value, "--user", chosen], dbName);
        expect(linked.code, linked.stderr).toBe(0);
      }
    }
    const ok = await runMigrations({ ...target, command: "up", log: null });
    expect(ok.exit_code, ok.message).toBe(0);
    expect(await db.collection("link_audit").countDocuments()).toBeGreaterThan(0);
  });
});
