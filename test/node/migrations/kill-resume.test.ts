// Crash safety of the back-fill on generated data: a runner killed (SIGKILL) in the middle of
// 002, run again, must end exactly as one clean run, and DOWN must then restore the data.
import type { Db } from "mongodb";
import { beforeAll, describe, expect, it } from "vitest";
import { type GeneratedData, generateLegacyData, insertGenerated } from "../../../scripts/generate-legacy-data.ts";
import {
  collect,
  documents,
  freshDbName,
  LINK_MIGRATION,
  migrate,
  spawnCli,
  summaryOf,
  useServer,
  waitFor,
  waitForLeaseEnd,
} from "./helpers.ts";

const h = useServer();
const LEASE_MS = 1000;

async function records(db: Db) {
  const docs = await db
    .collection("link_backfill")
    .find({}, { sort: { _id: 1 } })
    .toArray();
  return docs.map(({ recorded_at: _at, ...rest }) => rest);
}

/** A database holding `data` with 001 applied. */
async function prepared(prefix: string, data: GeneratedData) {
  const dbName = freshDbName(prefix);
  const db = h.client.db(dbName);
  await insertGenerated(db, data);
  const target = { uri: h.uri, dbName };
  await migrate(target, "up", "001");
  return { db, target };
}

describe("kill and resume", () => {
  it("20k customers: SIGKILL during the back-fill, run again → same state and outcome as a clean run; down restores the data", async () => {
    const data = generateLegacyData({ customers: 20_000, seed: 2026 });
    const clean = await prepared("clean20k", data);
    const cleanReport = await migrate(clean.target, "up", "002");
    const cleanSummary = summaryOf(cleanReport);
    // The back-fill must cost a few round trips per thousand customers, not one per customer.
    expect(cleanSummary.round_trips.per_1000_customers).toBeLessThan(10);
    console.info(
      `clean 002 on ${data.customers.length} customers: ${JSON.stringify(cleanSummary.round_trips)}, counts ${JSON.stringify(cleanSummary.counts)}`,
    );

    const victim = await prepared("killed20k", data);
    const original = await documents(victim.db);
    const child = spawnCli(["up", "--to", "002", "--json"], {
      ...victim.target,
      env: { MIGRATIONS_LOCK_LEASE_MS: String(LEASE_MS) },
    });
    const finished = collect(child, []);
    await waitFor(child, "stderr", /back-fill: [\d,]+\/[\d,]+ \(20%\)/);
    process.kill(-child.pid!, "SIGKILL");
    expect((await finished).signal).toBe("SIGKILL");

    const partial = (await records(victim.db)).length;
    const full = (await records(clean.db)).length;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(full);
    expect(await victim.db.collection("migrations_changelog").countDocuments({ _id: LINK_MIGRATION as never })).toBe(0);

    await waitForLeaseEnd(victim.db);
    const resumed = summaryOf(await migrate(victim.target, "up", "002"));
    expect(resumed.preflight.links_recorded_by_an_earlier_run).toBe(partial);
    expect(await documents(victim.db)).toEqual(await documents(clean.db));
    expect(await records(victim.db)).toEqual(await records(clean.db));
    expect(resumed.counts).toEqual(cleanSummary.counts);
    expect(resumed.stats).toEqual(cleanSummary.stats);
    expect(resumed.skipped).toEqual(cleanSummary.skipped);

    await migrate(victim.target, "down", "002");
    expect(await documents(victim.db)).toEqual(original);
  });

  describe("a 3-page set killed between the bulk writes of a page, or stopped with Ctrl-C", () => {
    const data = generateLegacyData({ customers: 3_000, seed: 99 });
    let cleanDocs: Record<string, string[]>;
    let cleanRecords: Awaited<ReturnType<typeof records>>;

    beforeAll(async () => {
      const clean = await prepared("clean3k", data);
      await migrate(clean.target, "up", "002");
      cleanDocs = await documents(clean.db);
      cleanRecords = await records(clean.db);
    });

    it.each([
      ["records:2", "page 1 written, page 2 not begun"],
      ["customers:2", "page 2 recorded, neither side written"],
      ["users:2", "page 2 customers written, users not (half-links)"],
    ])("at %s (%s): rerun ends as a clean run, then down restores the data", async (point) => {
      const victim = await prepared(`crash_${point.replace(":", "_")}`, data);
      const original = await documents(victim.db);
      const crashed = await collect(
        spawnCli(["up", "--to", "002"], {
          ...victim.target,
          env: { MIGRATIONS_LOCK_LEASE_MS: String(LEASE_MS), MIGRATIONS_CRASH_AT: `${LINK_MIGRATION}/${point}` },
        }),
        [],
      );
      expect(crashed.signal).toBe("SIGKILL");

      // The state the kill left is the one this case is about.
      const left = await records(victim.db);
      const customers = new Map(
        (
          await victim.db
            .collection("customers_v2")
            .find({}, { projection: { id: 1, user_id: 1 } })
            .toArray()
        ).map((c) => [c.id, c.user_id]),
      );
      const users = new Map(
        (
          await victim.db
            .collection("users")
            .find({}, { projection: { id: 1, customer_v2_id: 1 } })
            .toArray()
        ).map((u) => [u.id, u.customer_v2_id]),
      );
      const customerSide = (r: (typeof left)[number]) => customers.get(r.customer_id) === r.user_id;
      const userSide = (r: (typeof left)[number]) => users.get(r.user_id) === r.customer_id;
      expect(left.length).toBeGreaterThan(0);
      expect(left.length).toBeLessThan(cleanRecords.length);
      if (point === "records:2") expect(left.every((r) => customerSide(r) && userSide(r))).toBe(true);
      if (point === "customers:2") expect(left.some((r) => r.set_customer && !customerSide(r) && !userSide(r))).toBe(true);
      if (point === "users:2") expect(left.some((r) => r.set_user && customerSide(r) && !userSide(r))).toBe(true);

      await waitForLeaseEnd(victim.db);
      await migrate(victim.target, "up", "002");
      expect(await documents(victim.db)).toEqual(cleanDocs);
      expect(await records(victim.db)).toEqual(cleanRecords);

      await migrate(victim.target, "down", "002");
      expect(await documents(victim.db)).toEqual(original);
    });

    it("Ctrl-C (SIGINT) stops at the next batch boundary, releases the lock, and a rerun completes", async () => {
      const victim = await prepared("sigint", data);
      const child = spawnCli(["up", "--to", "002", "--json"], victim.target);
      const finished = collect(child, ["--json"]);
      await waitFor(child, "stderr", /\[002_link_users_customers\] pre-flight/);
      process.kill(child.pid!, "SIGINT");
      const res = await finished;
      expect(res.code).toBe(1);
      expect(res.report.error).toMatchObject({ type: "interrupted" });
      expect(res.report.message).toMatch(/interrupted before .*run the same command again to resume/);
      expect(await victim.db.collection("migrations_lock").countDocuments()).toBe(0);
      expect(await victim.db.collection("migrations_changelog").countDocuments({ _id: LINK_MIGRATION as never })).toBe(0);

      await migrate(victim.target, "up", "002");
      expect(await documents(victim.db)).toEqual(cleanDocs);
    });
  });
});
