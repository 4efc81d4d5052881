import { describe, expect, it } from "vitest";
import type { UserDoc } from "../../../src/db/collections.ts";
import { verifyPassword } from "../../../src/services/auth/passwords.ts";
import { npmRun } from "../../support/npm-run.ts";
import { loginThroughApp, useScriptDatabase } from "./support.ts";

const DB_NAME = "user_create_tests";
const h = useScriptDatabase(DB_NAME);

const users = () => h.db.collection<UserDoc>("users");

describe("npm run user:create", () => {
  it("creates a staff user with a generated password, printed once, that logs in", async () => {
    const run = await npmRun(
      "user:create",
      ["--email", "Ops.Lead@EarlyBird.in", "--role", "admin", "--name", "Ops Lead", "--phone", "+91 98765-43210"],
      { env: h.env },
    );
    expect(run.code, run.stderr).toBe(0);
    const password = /Password \(shown only now[^)]*\): (\S+)/.exec(run.stdout)?.[1];
    expect(password).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(run.stdout.split(password!).length - 1).toBe(1);

    const doc = await users().findOne({ email: "ops.lead@earlybird.in" });
    expect(doc).toMatchObject({
      name: "Ops Lead",
      role: "admin",
      phone: "9876543210",
      phone_normalized: "9876543210",
      is_active: true,
      customer_v2_id: null,
      must_change_password: true,
      token_version: 0,
    });
    expect(doc!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(doc!.password_hash).toMatch(/^\$2b\$04\$/); // BCRYPT_COST honoured
    expect(doc).not.toHaveProperty("password");
    expect((await verifyPassword(password!, doc!)).ok).toBe(true);

    const login = await loginThroughApp({ uri: h.uri, name: DB_NAME }, "OPS.LEAD@earlybird.in", password!);
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    expect(login.body.user).toMatchObject({ id: doc!.id, role: "admin", must_change_password: true });
  });

  it("takes the password from stdin without printing it, and --json reports the user", async () => {
    const password = "correct horse battery staple";
    const run = await npmRun(
      "user:create",
      ["--email", "rider@earlybird.in", "--role", "delivery_boy", "--password-stdin", "--json"],
      {
        env: h.env,
        input: `${password}\n`,
      },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).not.toContain(password);
    const report = JSON.parse(run.stdout) as { user: { id: string; email: string; name: string }; generated_password: null };
    expect(report).toMatchObject({
      user: { email: "rider@earlybird.in", name: "rider", role: "delivery_boy", phone: null },
      generated_password: null,
    });

    const doc = await users().findOne({ id: report.user.id });
    expect(doc?.must_change_password).toBe(false);
    expect((await verifyPassword(password, doc!)).ok).toBe(true); // the trailing newline is not part of it
    expect((await loginThroughApp({ uri: h.uri, name: DB_NAME }, "rider@earlybird.in", password)).status).toBe(200);
  });

  it("refuses a duplicate email in any letter case, with exit code 2 and nothing changed", async () => {
    const before = await users().find().toArray();
    const run = await npmRun("user:create", ["--email", "OPS.LEAD@earlybird.IN", "--role", "supplier"], { env: h.env });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("a user with email ops.lead@earlybird.in already exists");
    expect(run.stdout).toBe("");
    expect(await users().find().toArray()).toEqual(before);
  });

  it("refuses an unknown role, and the customer role, listing the staff roles", async () => {
    const bad = await npmRun("user:create", ["--email", "boss@earlybird.in", "--role", "superuser"], { env: h.env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      'role "superuser" is not a staff role; use one of: delivery_boy, supplier, marketing_staff, admin',
    );
    const customer = await npmRun("user:create", ["--email", "cust@earlybird.in", "--role", "customer"], { env: h.env });
    expect(customer.code).toBe(1);
    expect(customer.stderr).toContain("POST /api/phase0-v2/customers");
    expect(await users().countDocuments({ email: { $in: ["boss@earlybird.in", "cust@earlybird.in"] } })).toBe(0);
  });

  it("refuses invalid values before writing anything", async () => {
    const cases: [string[], string, string?][] = [
      [["--email", "not-an-email", "--role", "admin"], "is not a valid email address"],
      [["--email", "p@earlybird.in", "--role", "admin", "--phone", "12345"], "is not an Indian mobile number"],
      [["--email", "p@earlybird.in", "--role", "admin", "--password-stdin"], "at least 8 bytes", "short\n"],
      [["--role", "admin"], "--email and --role are required"],
      [["--email", "p@earlybird.in", "--role", "admin", "--bogus"], "Unknown option '--bogus'"],
    ];
    const count = await users().countDocuments();
    for (const [args, message, input] of cases) {
      const run = await npmRun("user:create", args, { env: h.env, ...(input ? { input } : {}) });
      expect(run.code, args.join(" ")).toBe(1);
      expect(run.stderr, args.join(" ")).toContain(message);
    }
    expect(await users().countDocuments()).toBe(count);
  });

  it("reports an unreachable database in one line, without the URI's password", async () => {
    const run = await npmRun("user:create", ["--email", "p@earlybird.in", "--role", "admin"], {
      env: {
        ...h.env,
        MONGODB_URI: "mongodb://ops:hunter2-secret@127.0.0.1:9/?directConnection=true",
        MONGODB_SERVER_SELECTION_TIMEOUT_MS: "300",
      },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: cannot reach MongoDB at mongodb:\/\/ops:\*\*\*@127\.0\.0\.1:9\//);
    expect(run.stderr).not.toContain("hunter2-secret");
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
  });
});
