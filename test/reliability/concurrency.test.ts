// Races through the real Worker (50 requests at once, each with its own database client, as in
// production): one phone → one customer; one Idempotency-Key → one customer; one legacy
// SHA-256 user's first logins → all succeed and one valid bcrypt hash is stored. Then the links
// of every document these races made must hold both ways.
//
// One refresh token refreshed 50 times at once → one family, at most one live token, and the
// tokens handed out follow the rotation rules afterwards. Finally `npm run links -- check`'s
// check (scripts/links/check.ts) must find nothing for the documents made here.
import bcrypt from "bcryptjs";
import { beforeAll, describe, expect, it } from "vitest";
import type { CustomerDoc, UserDoc } from "../../src/db/collections.ts";
import type { SessionDoc } from "../../src/db/sessions.ts";
import { refreshTokenHash } from "../../src/services/auth/sessions.ts";
import type { ReliabilityRow } from "../support/reliability-reporter.ts";
import { createUser, withDb } from "../worker/support/db.ts";
import { customerBody, randomPhone } from "../worker/support/fixture.ts";
import { call, tokenFor } from "../worker/support/http.ts";
import { registerSecret } from "../worker/support/secrets.ts";
import { captureQuietly, secretIn, secretsInLogs } from "./support/capture.ts";
import { linkFindingsFor } from "./support/links.ts";

const CONCURRENCY = 50;
const CUSTOMERS = "/api/phase0-v2/customers";

captureQuietly();

let token: string;
/** Customers made by this file: their links are checked at the end. */
const createdCustomerIds = new Set<string>();
let responseSecrets = 0;

beforeAll(async () => {
  token = await tokenFor(await createUser({ role: "admin" }));
});

interface Answer {
  status: number;
  body: {
    customer?: { id: string };
    user?: { id: string };
    initial_password?: string | null;
    error?: { code: string };
    access_token?: string;
    refresh_token?: string;
  };
}

/** Sends all at once; initial passwords are registered as secrets before any scan. */
async function race(make: (i: number) => Promise<Response>, tokensExpected = false): Promise<Answer[]> {
  const responses = await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => make(i)));
  const answers: Answer[] = [];
  for (const res of responses) {
    const text = await res.text();
    const body = JSON.parse(text) as Answer["body"];
    if (body.initial_password) registerSecret(body.initial_password);
    const scrubbed = body.initial_password ? text.replace(body.initial_password, "") : text;
    if (secretIn(scrubbed, !tokensExpected)) responseSecrets++;
    if (body.customer?.id) createdCustomerIds.add(body.customer.id);
    answers.push({ status: res.status, body });
  }
  return answers;
}

function tally(answers: Answer[]): string {
  const counts = new Map<string, number>();
  for (const a of answers) {
    const key = `${a.status}${a.body.error ? ` ${a.body.error.code}` : ""}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].map(([k, n]) => `${k}×${n}`).join(", ");
}

const rows: ReliabilityRow[] = [];

const sessionsOf = (userId: string) =>
  withDb((db) =>
    db
      .collection<SessionDoc>("auth_sessions")
      .find({ user_id: userId }, { projection: { _id: 0 } })
      .toArray(),
  );

describe(`${CONCURRENCY} concurrent requests`, () => {
  it("creations with one phone (different names, no key) → exactly one customer, the others 409 phone_taken", async ({
    task,
  }) => {
    const phone = randomPhone();
    const answers = await race((i) =>
      call(CUSTOMERS, { method: "POST", json: customerBody({ phone, name: `Racer ${i} ${phone}` }), token }),
    );
    const customers = await withDb((db) =>
      db.collection<CustomerDoc>("customers_v2").countDocuments({ phone_normalized: phone }),
    );
    const users = await withDb((db) => db.collection<UserDoc>("users").countDocuments({ phone }));
    const created = answers.filter((a) => a.status === 201).length;
    const refused = answers.filter((a) => a.status === 409 && a.body.error?.code === "phone_taken").length;
    const serverErrors = answers.filter((a) => a.status >= 500).length;
    rows.push({
      category: "concurrency: one phone",
      tried: CONCURRENCY,
      passed: created + refused,
      serverErrors,
      documents: Math.abs(customers - 1) + Math.abs(users - 1),
      note: tally(answers),
    });
    task.meta.reliability = [rows.at(-1)!];
    expect({ created, refused, serverErrors, customers, users }).toEqual({
      created: 1,
      refused: CONCURRENCY - 1,
      serverErrors: 0,
      customers: 1,
      users: 1,
    });
  });

  it("creations with one Idempotency-Key → one customer; every answer is the first one or 409 idempotency_in_progress", async ({
    task,
  }) => {
    const body = customerBody();
    const key = `race-${crypto.randomUUID()}`;
    const answers = await race(() => call(CUSTOMERS, { method: "POST", json: body, token, idempotencyKey: key }));
    const customers = await withDb((db) =>
      db.collection<CustomerDoc>("customers_v2").countDocuments({ phone_normalized: String(body.phone) }),
    );
    const ids = new Set(answers.filter((a) => a.status === 201).map((a) => a.body.customer?.id));
    const inProgress = answers.filter((a) => a.status === 409 && a.body.error?.code === "idempotency_in_progress").length;
    const created = answers.filter((a) => a.status === 201).length;
    const serverErrors = answers.filter((a) => a.status >= 500).length;
    rows.push({
      category: "concurrency: one Idempotency-Key",
      tried: CONCURRENCY,
      passed: created + inProgress,
      serverErrors,
      documents: Math.abs(customers - 1),
      note: tally(answers),
    });
    task.meta.reliability = [rows.at(-1)!];
    expect({ serverErrors, customers, distinctCustomers: ids.size, others: CONCURRENCY - created - inProgress }).toEqual({
      serverErrors: 0,
      customers: 1,
      distinctCustomers: 1,
      others: 0,
    });
  });

  it.for(["sha256_password_hash", "sha256_password_field"] as const)(
    "first logins of one legacy %s user → all 200, one valid bcrypt hash stored, the SHA-256 gone",
    async (hashKind, { task }) => {
      const user = await createUser({ role: "customer", hashKind });
      const answers = await race(
        () => call("/api/auth/login", { method: "POST", json: { email: user.email, password: user.password } }),
        true,
      );
      const stored = await withDb((db) => db.collection<UserDoc>("users").findOne({ id: user.id }));
      const hash = String(stored?.password_hash ?? "");
      const valid = /^\$2[aby]\$\d{2}\$/.test(hash) && (await bcrypt.compare(user.password, hash));
      const ok = answers.filter((a) => a.status === 200).length;
      const serverErrors = answers.filter((a) => a.status >= 500).length;
      const lost = (valid ? 0 : 1) + (stored?.password === undefined ? 0 : 1);
      rows.push({
        category: `concurrency: first logins (${hashKind})`,
        tried: CONCURRENCY,
        passed: ok,
        serverErrors,
        documents: lost,
        note: tally(answers),
      });
      task.meta.reliability = [rows.at(-1)!];
      expect({ ok, serverErrors, valid, legacyField: stored?.password }).toEqual({
        ok: CONCURRENCY,
        serverErrors: 0,
        valid: true,
        legacyField: undefined,
      });
      // And the upgraded hash works for the next login.
      expect(
        (await call("/api/auth/login", { method: "POST", json: { email: user.email, password: user.password } })).status,
      ).toBe(200);
    },
  );
});

describe(`${CONCURRENCY} concurrent refreshes with one refresh token`, () => {
  it("→ no 5xx, each 200 or 401; one family with at most one live token; the issued tokens then follow the rotation rules", async ({
    task,
  }) => {
    const user = await createUser({ role: "customer" });
    const earlier = new Set((await sessionsOf(user.id)).map((s) => s.id));
    const signedIn = await call("/api/auth/login", { method: "POST", json: { email: user.email, password: user.password } });
    expect(signedIn.status).toBe(200);
    const first = ((await signedIn.json()) as { refresh_token: string }).refresh_token;
    const answers = await race(() => call("/api/auth/refresh", { method: "POST", json: { refresh_token: first } }), true);
    const issued = answers.flatMap((a) => (a.status === 200 && a.body.refresh_token ? [a.body.refresh_token] : []));
    for (const t of [first, ...issued]) registerSecret(t);
    // Sessions since the sign-in (createUser's own session of the user is not counted).
    const sessions = (await sessionsOf(user.id)).filter((s) => !earlier.has(s.id));
    const families = new Set(sessions.map((s) => s.family_id));
    const live = sessions.filter((s) => s.rotated_at === undefined && s.revoked_at === undefined);
    const ok = answers.filter((a) => a.status === 200).length;
    const refused = answers.filter((a) => a.status === 401 && a.body.error?.code === "invalid_refresh_token").length;
    const serverErrors = answers.filter((a) => a.status >= 500).length;
    // Every 200 rotated the family once: the documents are the sign-in plus one per 200.
    const forked = Math.abs(families.size - 1) + Math.max(0, live.length - 1) + Math.abs(sessions.length - (1 + ok));

    // The issued token that is live now refreshes (after the grace period); a rotated-out one
    // presented later is reuse: 401 refresh_token_reused and the whole family ends.
    const liveHash = live[0]?.token_hash;
    const hashes = await Promise.all(issued.map((t) => refreshTokenHash(t)));
    const current = issued.filter((_, i) => hashes[i] === liveHash);
    const stale = issued.find((_, i) => hashes[i] !== liveHash) ?? first;
    const later = (s: number) => ({ "X-Test-Now": String(Date.now() + s * 1000) });
    const next = await call("/api/auth/refresh", {
      method: "POST",
      json: { refresh_token: current[0] ?? "" },
      headers: later(60),
    });
    const nextBody = (await next.json()) as { refresh_token?: string };
    if (nextBody.refresh_token) registerSecret(nextBody.refresh_token);
    const reused = await call("/api/auth/refresh", { method: "POST", json: { refresh_token: stale }, headers: later(120) });
    const reusedCode = ((await reused.json()) as { error?: { code: string } }).error?.code;
    const afterReuse = await call("/api/auth/refresh", {
      method: "POST",
      json: { refresh_token: nextBody.refresh_token ?? "" },
      headers: later(121),
    });

    rows.push({
      category: "concurrency: refreshes of one refresh token",
      tried: CONCURRENCY,
      passed: ok + refused,
      serverErrors,
      documents: forked,
      note: `${tally(answers)}; ${families.size} family, ${live.length} live token`,
    });
    task.meta.reliability = [rows.at(-1)!];
    expect({
      serverErrors,
      others: CONCURRENCY - ok - refused,
      families: families.size,
      live: live.length,
      documents: sessions.length,
      currentIssued: current.length,
    }).toEqual({
      serverErrors: 0,
      others: 0,
      families: 1,
      live: 1,
      documents: 1 + ok,
      currentIssued: 1,
    });
    expect(ok).toBeGreaterThanOrEqual(1);
    expect({ next: next.status, reused: reused.status, reusedCode, afterReuse: afterReuse.status }).toEqual({
      next: 200,
      reused: 401,
      reusedCode: "refresh_token_reused",
      afterReuse: 401,
    });
  });
});

describe("after the races", () => {
  it("every customer made here and its user point at each other (users.customer_v2_id ⇄ customers_v2.user_id)", async ({
    task,
  }) => {
    expect(createdCustomerIds.size).toBeGreaterThanOrEqual(2);
    const problems = await withDb(async (db) => {
      const found: string[] = [];
      for (const id of createdCustomerIds) {
        const customer = await db.collection<CustomerDoc>("customers_v2").findOne({ id });
        if (!customer) {
          found.push(`customer ${id} answered 201 but is missing`);
          continue;
        }
        const userId = customer.user_id;
        const forward = userId ? await db.collection<UserDoc>("users").findOne({ id: userId }) : null;
        if (!forward) found.push(`customer ${id}: user_id ${String(userId)} names no user`);
        else if (forward.customer_v2_id !== id)
          found.push(`customer ${id}: its user points at ${String(forward.customer_v2_id)}`);
        const claimants = await db.collection<UserDoc>("users").find({ customer_v2_id: id }).toArray();
        if (claimants.length !== 1) found.push(`customer ${id}: ${claimants.length} users claim it`);
      }
      return found;
    });
    const linkCheck = await linkFindingsFor(createdCustomerIds);
    const logSecrets = secretsInLogs();
    task.meta.reliability = [
      {
        category: "links after the races",
        tried: createdCustomerIds.size,
        passed: createdCustomerIds.size - problems.length,
        serverErrors: 0,
        documents: problems.length,
      },
      {
        category: "links after the races: npm run links -- check",
        tried: linkCheck.checkedIds,
        passed: linkCheck.checkedIds - linkCheck.problems.length,
        serverErrors: 0,
        documents: linkCheck.problems.length,
        note: "findings naming the customers made here or their users",
      },
      {
        category: "concurrency: secrets in responses and logs",
        tried: rows.reduce((n, r) => n + r.tried, 0),
        passed: rows.reduce((n, r) => n + r.tried, 0) - responseSecrets - logSecrets.length,
        serverErrors: 0,
        documents: 0,
        secrets: responseSecrets + logSecrets.length,
      },
    ];
    expect(problems).toEqual([]);
    expect(linkCheck.problems).toEqual([]);
    expect({ responseSecrets, logSecrets }).toEqual({ responseSecrets: 0, logSecrets: [] });
  });
});
