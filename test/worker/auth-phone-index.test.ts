// Issue 12: phone login (every legacy spelling) and OTP requests find users by an index,
// never by scanning `users`. Two proofs: the embedded server's per-namespace collection-scan
// counter does not move while our requests run, and `explain` of the exact queries the data
// operations issue (usersByPhoneQuery, otpRecipientQuery) shows an IXSCAN on
// phone_normalized examining only the matching users.
//
// Other test files share the database and run at the same time, and some of them do scan
// `users` (e.g. lookups by the unindexed `phone` in test helpers). A scan caused by login would
// show in EVERY measurement window; so each check runs its requests in up to WINDOWS windows
// and passes when one window saw no scan. It fails only if every window saw one.
import { describe, expect, it } from "vitest";
import type { UserDoc } from "../../src/db/collections.ts";
import { otpRecipientQuery } from "../../src/db/otp.ts";
import { usersByPhoneQuery } from "../../src/db/users.ts";
import { collectionScans, createUser, type TestUser, withDb } from "./support/db.ts";
import { phoneSpellings, randomPhone } from "./support/fixture.ts";
import { api, login } from "./support/http.ts";
import { captureConsole, expectNoSecretsInLogs } from "./support/logs.ts";

captureConsole();

const WINDOWS = 4;

/** Runs `requests` in windows until one caused no collection scan on users; returns each window's scan count. */
async function scansPerWindow(requests: (window: number) => Promise<void>): Promise<number[]> {
  const seen: number[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    const before = await collectionScans("users");
    await requests(w);
    seen.push((await collectionScans("users")) - before);
    if (seen.at(-1) === 0) break;
  }
  return seen;
}

function stages(plan: Record<string, any>): Record<string, any>[] {
  return [plan, ...(plan.inputStage ? stages(plan.inputStage) : [])];
}

/** explain("executionStats") of a find on users, as the data operation issues it. */
async function explainUsersFind(filter: Record<string, unknown>, options: Record<string, unknown>) {
  const explain = await withDb((db) => db.collection<UserDoc>("users").find(filter, options).explain("executionStats"));
  const plan = stages(explain.queryPlanner.winningPlan);
  return { plan, stats: explain.executionStats as { nReturned: number; totalDocsExamined: number; totalKeysExamined: number } };
}

describe("the collection-scan counter", () => {
  it("counts a query on an unindexed users field (so a zero below means something)", async () => {
    const name = `scan-probe-${crypto.randomUUID()}`;
    const before = await collectionScans("users");
    expect(await withDb((db) => db.collection("users").countDocuments({ name }))).toBe(0);
    expect((await collectionScans("users")) - before).toBeGreaterThanOrEqual(1);
    const { plan } = await explainUsersFind({ name }, {});
    expect(plan.map((s) => s.stage)).toContain("COLLSCAN");
  });
});

describe("phone login and OTP requests use the phone_normalized index", () => {
  it("login with every legacy spelling scans no users; the login query is an IXSCAN over the matches only", {
    timeout: 120_000,
  }, async () => {
    // One user per stored spelling (as the legacy system wrote it), logging in with another
    // spelling; one of them has a legacy SHA-256 hash, so the hash upgrade runs in a window too.
    const count = phoneSpellings("9876543210").length;
    const users: { user: TestUser; normalized: string }[] = [];
    for (let s = 0; s < count; s++) {
      const normalized = randomPhone();
      const user = await createUser({
        phone: phoneSpellings(normalized)[s]!,
        ...(s === 0 && { hashKind: "sha256_password_hash" as const }),
      });
      users.push({ user, normalized });
    }
    const windows = await scansPerWindow(async (w) => {
      for (const [s, { user, normalized }] of users.entries()) {
        // User s stored spelling s and types spelling s+1+w: every spelling is typed in every window.
        const typed = phoneSpellings(normalized)[(s + 1 + w) % count]!;
        const res = await login({ phone: typed, password: user.password });
        expect(res.status, `${user.phone} typed as ${typed}: ${JSON.stringify(res.body)}`).toBe(200);
      }
    });
    expect(windows.at(-1), `users scans per window of ${count} logins: ${windows.join(", ")}`).toBe(0);

    for (const { normalized } of users) {
      const { filter, options } = usersByPhoneQuery(normalized);
      const { plan, stats } = await explainUsersFind(filter, options);
      expect(plan.map((s) => s.stage)).not.toContain("COLLSCAN");
      expect(plan.find((s) => s.stage === "IXSCAN")).toMatchObject({
        indexName: "phone_normalized_1",
        indexBounds: { phone_normalized: [`["${normalized}", "${normalized}"]`] },
      });
      expect(stats).toMatchObject({ nReturned: 1, totalDocsExamined: 1, totalKeysExamined: 1 });
    }
    expectNoSecretsInLogs();
  });

  it("an OTP request for a known phone (and for an unknown one) scans no users; its lookup is an IXSCAN", {
    timeout: 60_000,
  }, async () => {
    const normalized = randomPhone();
    await createUser({ phone: `+91 ${normalized.slice(0, 5)} ${normalized.slice(5)}` });
    const unknown = randomPhone();
    // A fresh hour per window (X-Test-Now): the per-phone cooldown and hourly cap never refuse.
    const start = Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 500 * 3_600_000;
    const windows = await scansPerWindow(async (w) => {
      const headers = { "X-Test-Now": String(start + w * 3 * 3_600_000) };
      for (const phone of [`0${normalized}`, unknown]) {
        const res = await api("POST", "/api/auth/otp/request", { json: { phone, purpose: "login" }, headers });
        expect(res.status, JSON.stringify(res.body)).toBe(202);
      }
    });
    expect(windows.at(-1), `users scans per window of 2 OTP requests: ${windows.join(", ")}`).toBe(0);

    const known = await explainUsersFind(otpRecipientQuery(normalized).filter, otpRecipientQuery(normalized).options);
    expect(known.plan.map((s) => s.stage)).not.toContain("COLLSCAN");
    expect(known.plan.find((s) => s.stage === "IXSCAN")).toMatchObject({ indexName: "phone_normalized_1" });
    expect(known.stats).toMatchObject({ nReturned: 1, totalDocsExamined: 1 });
    const none = await explainUsersFind(otpRecipientQuery(unknown).filter, otpRecipientQuery(unknown).options);
    expect(none.plan.map((s) => s.stage)).not.toContain("COLLSCAN");
    expect(none.stats).toMatchObject({ nReturned: 0, totalDocsExamined: 0 });
    expectNoSecretsInLogs();
  });
});
