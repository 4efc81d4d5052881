// `npm run dev` as a person runs it, against a temporary state folder and free ports: the
// embedded database, migrations, .dev.vars, the dev admin and wrangler dev; then Ctrl-C.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { MongoClient } from "mongodb";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../../scripts/lib/ports.ts";
import { ROOT } from "./support.ts";

const MARK = `EARLYBIRD_DEV_TEST_${crypto.randomUUID().replaceAll("-", "")}`;
const stateDir = mkdtempSync(join(tmpdir(), "earlybird-dev-"));
const started: ChildProcess[] = [];

interface DevRun {
  child: ChildProcess;
  output: () => string;
  waitFor: (pattern: RegExp, timeoutMs: number) => Promise<RegExpExecArray>;
  exited: Promise<number | null>;
}

/**
 * The `dev` script (`node scripts/dev.ts`) in its own process group, as a terminal runs a
 * foreground job. Node is spawned directly (not through npm) so the test sees its exit code.
 */
function startDev(args: string[]): DevRun {
  // The embedded database and the default DB_NAME, whatever the outer environment says.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== "MONGODB_URI" && key !== "DB_NAME"));
  env[MARK] = "1";
  const child = spawn(process.execPath, ["scripts/dev.ts", "--state-dir", stateDir, ...args], {
    cwd: ROOT,
    env: env as NodeJS.ProcessEnv,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  let out = "";
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const check of waiters) check();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    waitFor: (pattern, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${pattern}; output so far:\n${out}`));
        }, timeoutMs);
        const check = () => {
          const match = pattern.exec(out);
          if (match) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(match);
          }
        };
        waiters.add(check);
        check();
        void exited.then(() => setTimeout(check, 0));
      }),
  };
}

/** Ctrl-C in a terminal: SIGINT to every process of the foreground group. */
async function interrupt(run: DevRun, signal: NodeJS.Signals = "SIGINT"): Promise<number | null> {
  process.kill(-run.child.pid!, signal);
  return Promise.race([
    run.exited,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error("did not stop in 30 s")), 30_000)),
  ]);
}

/** Processes (wrangler, workerd, esbuild, node…) that inherited this test's marker variable. */
function leftovers(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, "latin1").includes(`${MARK}=1`)) {
        found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, "latin1").replaceAll("\0", " ").slice(0, 120)}`);
      }
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

afterAll(() => {
  for (const child of started) {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already stopped
    }
  }
  for (const line of leftovers()) {
    const pid = Number(line.split(" ")[0]);
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(stateDir, { recursive: true, force: true });
});

describe("npm run dev", () => {
  it("is the script dev.ts", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.dev).toBe("node scripts/dev.ts");
  });

  let apiPort: number;
  let dbPort: number;
  let admin: { email: string; password: string };
  let jwtSecret: string;

  it("starts database, migrations, .dev.vars, dev admin and wrangler dev; the admin logs in; Ctrl-C leaves nothing behind", async () => {
    apiPort = await freePort();
    dbPort = await freePort();
    const run = startDev(["--port", String(apiPort), "--db-port", String(dbPort)]);
    await run.waitFor(/^Ready: http:\/\/localhost:\d+/m, 120_000);
    const out = run.output();
    expect(out).toContain(`data in ${join(stateDir, ".data", "db")}`);
    expect(out).toMatch(/^Migrations: applied 001_\w+, 002_\w+(?:, 00[3-7]_\w+)*, 008_unique_links$/m);
    const email = /^Dev admin created: (\S+)$/m.exec(out)?.[1];
    const password = /^Password \(shown only now\): (\S+)$/m.exec(out)?.[1];
    expect(email).toBe("admin@earlybird.local");
    expect(password).toMatch(/^[A-Za-z0-9]{16}$/);
    admin = { email: email!, password: password! };

    const devVarsPath = join(stateDir, ".dev.vars");
    const vars = parseEnv(readFileSync(devVarsPath, "utf8"));
    jwtSecret = vars.JWT_SECRET!;
    expect(Buffer.from(jwtSecret, "base64url")).toHaveLength(48);
    expect(vars.MONGODB_URI).toBe(`mongodb://127.0.0.1:${dbPort}/?directConnection=true`);
    expect(statSync(devVarsPath).mode & 0o777).toBe(0o600);

    const base = `http://127.0.0.1:${apiPort}`;
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok", db: "ok" });

    const login = await fetch(`${base}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(admin),
    });
    const body = (await login.json()) as { access_token: string; user: { role: string; email: string } };
    expect(login.status, JSON.stringify(body)).toBe(200);
    expect(body.user).toMatchObject({ role: "admin", email: admin.email });
    const me = await fetch(`${base}/api/auth/me`, { headers: { Authorization: `Bearer ${body.access_token}` } });
    expect(me.status).toBe(200);
    const docs = await fetch(`${base}/docs`);
    expect(docs.status).toBe(200);
    await docs.arrayBuffer();

    // The password was printed once and logged nowhere (wrangler echoes the Worker's logs here).
    expect(run.output().split(admin.password).length - 1).toBe(1);

    expect(await interrupt(run)).toBe(0);
    expect(run.output()).toContain("Database stopped and flushed.");
    expect(leftovers()).toEqual([]);
    expect(await portIsFree(apiPort)).toBe(true);
    expect(await portIsFree(dbPort)).toBe(true);
  }, 180_000);

  it("reuses the data on the next run: no new admin, same secret, migrations up to date", async () => {
    expect(admin, "the first run must have passed").toBeDefined();
    const run = startDev(["--db-port", String(dbPort), "--no-wrangler"]);
    try {
      await run.waitFor(/^Ready: database only/m, 60_000);
      const out = run.output();
      expect(out).toMatch(/^Migrations: nothing to apply/m);
      expect(out).toContain(`Dev admin: ${admin.email} (password printed on the first run`);
      expect(out).not.toContain("Password");
      expect(out).toContain(".dev.vars: kept its JWT_SECRET");
      expect(parseEnv(readFileSync(join(stateDir, ".dev.vars"), "utf8")).JWT_SECRET).toBe(jwtSecret);

      const client = await new MongoClient(`mongodb://127.0.0.1:${dbPort}/?directConnection=true`).connect();
      try {
        const db = client.db("earlybird_delivery");
        expect(await db.collection("users").countDocuments({ email: admin.email })).toBe(1);
        // Every migration file applied once, on the first run; none again.
        const files = readdirSync(join(ROOT, "migrations")).filter((name) => /^\d{3}_\w+\.ts$/.test(name));
        expect(files.length).toBeGreaterThanOrEqual(6);
        expect(await db.collection("migrations_changelog").countDocuments()).toBe(files.length);
      } finally {
        await client.close();
      }
    } catch (err) {
      // Stop this run before failing, so the next test does not count it as a leftover.
      try {
        process.kill(-run.child.pid!, "SIGKILL");
      } catch {
        // already stopped
      }
      await run.exited;
      throw err;
    }

    expect(await interrupt(run, "SIGTERM")).toBe(0);
    expect(leftovers()).toEqual([]);
  }, 90_000);

  it("refuses to start when the database port is taken, and says what to do", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve()));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const run = startDev(["--db-port", String(taken), "--no-wrangler"]);
      expect(await run.exited).toBe(1);
      expect(run.output()).toContain(`port ${taken} (embedded database) is already in use`);
      expect(run.output()).toContain("--db-port / DEV_DB_PORT");
      expect(leftovers()).toEqual([]);
    } finally {
      blocker.close();
    }
  }, 60_000);
});
