// npm run load — a bounded load test of the Worker under `wrangler dev` (workerd, its own
// process group) against the embedded database, on loopback only: GET /api/auth/me, then
// POST /api/auth/login, each at 32 connections (autocannon). Reports errors, p99 and throughput,
// and the RSS of the workerd process(es) in the first and last window of the run.
// LOAD_SECONDS (default 30) is the /me phase, after a short warm-up; then 2 logins per connection.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "@earlybird/devdb";
import autocannon, { type Result } from "autocannon";
import { MongoClient } from "mongodb";
import { freePort } from "./lib/ports.ts";
import { startWranglerDev, stopProcessGroup, waitForWorker } from "./lib/wrangler-dev.ts";
import { runMigrations } from "./migrate/runner.ts";
import { createStaffUser } from "./user-create.ts";

const DB_NAME = "earlybird_load";
const CONNECTIONS = 32;

export interface LoadPhase {
  route: string;
  seconds: number;
  requests: number;
  ok: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  p50Ms: number;
  p99Ms: number;
  perSecond: number;
}

export interface LoadReport {
  connections: number;
  phases: LoadPhase[];
  /** Mean RSS (MiB) of the workerd processes over the first and the last window of the /me phase. */
  rssFirstMiB: number;
  rssLastMiB: number;
  /** Highest RSS sampled over the whole run (logins included). */
  rssPeakMiB: number;
  windowSeconds: number;
  bcryptCost: number;
}

/** Resident set size in KiB of every workerd process in the process group `pgid`. */
function workerdRssKiB(pgid: number): number {
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      if (Number(fields[2]) !== pgid || !comm.includes("workerd")) continue; // fields[2] = pgrp
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${entry}/status`, "utf8"));
      total += Number(rss?.[1] ?? 0);
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

function phase(route: string, result: Result): LoadPhase {
  return {
    route,
    seconds: result.duration,
    requests: result.requests.total,
    ok: result["2xx"],
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    perSecond: result.requests.average,
  };
}

const mean = (values: number[]) => (values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length);

export async function runLoad(options: {
  seconds: number;
  bcryptCost: number;
  log?: (line: string) => void;
}): Promise<LoadReport> {
  const log = options.log ?? (() => undefined);
  const stateDir = mkdtempSync(join(tmpdir(), "earlybird-load-"));
  const server = await startServer({ port: 0, quiet: true });
  let wrangler: ReturnType<typeof startWranglerDev> | null = null;
  try {
    const report = await runMigrations({ uri: server.uri, dbName: DB_NAME, command: "up", log: null });
    if (report.outcome !== "ok") throw new Error(`migrations: ${report.message}`);
    const client = await new MongoClient(server.uri).connect();
    const email = "load.admin@earlybird.local";
    const { generatedPassword } = await createStaffUser(
      client.db(DB_NAME),
      { email, role: "admin", name: "Load" },
      options.bcryptCost,
    );
    await client.close();
    const envFile = join(stateDir, ".dev.vars");
    writeFileSync(
      envFile,
      [
        `MONGODB_URI=${server.uri}`,
        `DB_NAME=${DB_NAME}`,
        `JWT_SECRET=load-${crypto.randomUUID()}-${crypto.randomUUID()}`,
        `BCRYPT_COST=${options.bcryptCost}`,
        "LOG_LEVEL=error",
        // All the load comes from one address (127.0.0.1): the per-IP login limit would turn it into 429s.
        "LOGIN_IP_LIMIT_PER_MINUTE=100000",
      ].join("\n"),
      { mode: 0o600 },
    );
    // The port is free when picked but may be taken before workerd binds it (other processes on
    // the machine): a start that fails that way is retried on another port.
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      wrangler = startWranglerDev({ port, envFile, stateDir, stdio: ["ignore", "ignore", "inherit"] });
      try {
        await waitForWorker(port, wrangler, 120_000);
        break;
      } catch (err) {
        await stopProcessGroup(wrangler);
        if (attempt === 3) throw err;
        log(`wrangler dev did not come up (${(err as Error).message}); retrying on another port`);
      }
    }
    const base = `http://127.0.0.1:${port}`;
    const loginBody = JSON.stringify({ email, password: generatedPassword });
    const login = await fetch(`${base}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: loginBody,
    });
    if (login.status !== 200) throw new Error(`login before the run answered ${login.status}`);
    const { access_token: token } = (await login.json()) as { access_token: string };

    // Warm-up (not measured): the first requests load the bundle and JIT-compile the hot paths.
    await autocannon({
      url: `${base}/api/auth/me`,
      connections: CONNECTIONS,
      duration: options.seconds >= 30 ? 5 : 2,
      timeout: 30,
      headers: { authorization: `Bearer ${token}` },
    });

    const pgid = wrangler.pid!;
    const samples: { at: number; kib: number }[] = [];
    const started = Date.now();
    const sampler = setInterval(() => samples.push({ at: Date.now() - started, kib: workerdRssKiB(pgid) }), 500);
    samples.push({ at: 0, kib: workerdRssKiB(pgid) });

    log(`GET /api/auth/me: ${CONNECTIONS} connections, ${options.seconds} s`);
    const meStarted = Date.now() - started;
    const me = await autocannon({
      url: `${base}/api/auth/me`,
      connections: CONNECTIONS,
      duration: options.seconds,
      timeout: 30,
      headers: { authorization: `Bearer ${token}` },
    });
    const meEnded = Date.now() - started;
    // Logins are counted, not timed: at 32 connections one login can take longer than a short phase.
    const loginCount = CONNECTIONS * 2;
    log(`POST /api/auth/login (bcrypt cost ${options.bcryptCost}): ${CONNECTIONS} connections, ${loginCount} requests`);
    const logins = await autocannon({
      url: `${base}/api/auth/login`,
      connections: CONNECTIONS,
      amount: loginCount,
      timeout: 30,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: loginBody,
    });
    clearInterval(sampler);
    // Memory is compared within the /me phase (one steady workload): its first and last window.
    const windowMs = Math.min(10_000, (meEnded - meStarted) / 3);
    const kib = (from: number, to: number) => samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.kib);
    return {
      connections: CONNECTIONS,
      phases: [phase("GET /api/auth/me", me), phase(`POST /api/auth/login (bcrypt ${options.bcryptCost})`, logins)],
      rssFirstMiB: mean(kib(meStarted, meStarted + windowMs)) / 1024,
      rssLastMiB: mean(kib(meEnded - windowMs, meEnded)) / 1024,
      rssPeakMiB: Math.max(...samples.map((s) => s.kib)) / 1024,
      windowSeconds: windowMs / 1000,
      bcryptCost: options.bcryptCost,
    };
  } finally {
    if (wrangler) await stopProcessGroup(wrangler);
    await server.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

export function formatLoadReport(report: LoadReport): string {
  const lines = [
    `| route | s | requests | 2xx | errors | timeouts | non-2xx | p50 ms | p99 ms | req/s |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
    ...report.phases.map(
      (p) =>
        `| ${p.route} | ${p.seconds} | ${p.requests} | ${p.ok} | ${p.errors} | ${p.timeouts} | ${p.non2xx} | ${p.p50Ms} | ${p.p99Ms} | ${p.perSecond.toFixed(1)} |`,
    ),
    "",
    `workerd RSS during /me: ${report.rssFirstMiB.toFixed(1)} MiB (first ${report.windowSeconds.toFixed(0)} s) → ${report.rssLastMiB.toFixed(1)} MiB (last ${report.windowSeconds.toFixed(0)} s); peak ${report.rssPeakMiB.toFixed(1)} MiB; ${report.connections} connections`,
  ];
  return lines.join("\n");
}

if (import.meta.main) {
  const seconds = Number(process.env.LOAD_SECONDS ?? 30);
  if (!Number.isFinite(seconds) || seconds < 3 || seconds > 60) throw new Error("LOAD_SECONDS must be 3–60");
  const report = await runLoad({
    seconds,
    bcryptCost: Number(process.env.LOAD_BCRYPT_COST ?? 10),
    log: (line) => console.error(line),
  });
  console.log(`EarlyBird load test — wrangler dev (workerd) + embedded database, loopback\n\n${formatLoadReport(report)}`);
  const failed = report.phases.some((p) => p.errors + p.timeouts + p.non2xx > 0);
  process.exitCode = failed ? 1 : 0;
}
