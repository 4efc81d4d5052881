// npm run bench — the Worker under `wrangler dev` (workerd) against the embedded database, with
// routes measured side by side in one run (interleaved, so machine load affects all alike).
// Prints per-route latency, its ratio to a bare route that touches no database, and the
// database connections and commands each request costs (from the embedded server's counters).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { startServer, type RunningServer } from "@earlybird/devdb";
import { runMigrations } from "./migrate/runner.ts";
import { freePort } from "./lib/ports.ts";
import { startWranglerDev, stopProcessGroup, waitForWorker } from "./lib/wrangler-dev.ts";
import { createStaffUser } from "./user-create.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);
const LOGIN_ROUNDS = Number(process.env.BENCH_LOGIN_ROUNDS ?? 8);
const DB_NAME = "earlybird_bench";
const BCRYPT_COST = 10;

interface Probe {
  name: string;
  rounds: number;
  request: () => Promise<Response>;
  expectStatus: number;
}

interface Sample {
  ms: number[];
  connections: number;
  commands: Record<string, number>;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, n] of Object.entries(after)) if (n - (before[name] ?? 0) > 0) out[name] = n - (before[name] ?? 0);
  return out;
}

/** Runs each probe once per round, in turn; returns timings and per-probe database cost. */
async function measure(server: RunningServer, probes: Probe[]): Promise<Map<string, Sample>> {
  const samples = new Map(probes.map((p) => [p.name, { ms: [] as number[], connections: 0, commands: {} as Record<string, number> }]));
  const maxRounds = Math.max(...probes.map((p) => p.rounds));
  for (let round = 0; round < maxRounds; round++) {
    for (const probe of probes) {
      if (round >= probe.rounds) continue;
      const sample = samples.get(probe.name)!;
      const before = server.stats();
      const t0 = performance.now();
      const res = await probe.request();
      await res.arrayBuffer();
      sample.ms.push(performance.now() - t0);
      if (res.status !== probe.expectStatus) throw new Error(`${probe.name}: expected ${probe.expectStatus}, got ${res.status}`);
      // The client is closed in waitUntil after the response; give it a moment before counting.
      await new Promise((r) => setTimeout(r, 20));
      const after = server.stats();
      sample.connections += after.connectionsOpened - before.connectionsOpened;
      for (const [name, n] of Object.entries(diff(after.commands, before.commands))) sample.commands[name] = (sample.commands[name] ?? 0) + n;
    }
  }
  return samples;
}

async function main(): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), "earlybird-bench-"));
  const server = await startServer({ port: 0, quiet: true });
  let wrangler: ReturnType<typeof startWranglerDev> | null = null;
  try {
    const report = await runMigrations({ uri: server.uri, dbName: DB_NAME, command: "up", log: null });
    if (report.outcome !== "ok") throw new Error(`migrations: ${report.message}`);
    const client = await new MongoClient(server.uri).connect();
    const email = "bench.admin@earlybird.local";
    const { generatedPassword } = await createStaffUser(client.db(DB_NAME), { email, role: "admin", name: "Bench" }, BCRYPT_COST);
    await client.close();

    const envFile = join(stateDir, ".dev.vars");
    writeFileSync(
      envFile,
      [`MONGODB_URI=${server.uri}`, `DB_NAME=${DB_NAME}`, `JWT_SECRET=bench-${crypto.randomUUID()}-${crypto.randomUUID()}`, `BCRYPT_COST=${BCRYPT_COST}`, "LOG_LEVEL=error"].join("\n"),
      { mode: 0o600 },
    );
    const port = await freePort();
    wrangler = startWranglerDev({ port, envFile, stateDir, stdio: ["ignore", "ignore", "inherit"] });
    await waitForWorker(port, wrangler, 90_000);
    const base = `http://127.0.0.1:${port}`;
    const login = () =>
      fetch(`${base}/api/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password: generatedPassword }),
      });
    const { access_token: token } = (await (await login()).json()) as { access_token: string };
    const bearer = { authorization: `Bearer ${token}` };

    const probes: Probe[] = [
      { name: "bare (404, no database)", rounds: ROUNDS, expectStatus: 404, request: () => fetch(`${base}/bench-bare`) },
      { name: "GET /health (ping)", rounds: ROUNDS, expectStatus: 200, request: () => fetch(`${base}/health`) },
      { name: "GET /api/auth/me", rounds: ROUNDS, expectStatus: 200, request: () => fetch(`${base}/api/auth/me`, { headers: bearer }) },
      { name: `POST /api/auth/login (bcrypt ${BCRYPT_COST})`, rounds: LOGIN_ROUNDS, expectStatus: 200, request: login },
    ];
    await measure(server, probes.map((p) => ({ ...p, rounds: 3 }))); // warm-up, discarded
    const samples = await measure(server, probes);

    const bare = percentile(samples.get(probes[0]!.name)!.ms, 50);
    console.log(`EarlyBird bench — wrangler dev (workerd) + embedded database, ${ROUNDS} interleaved rounds (${LOGIN_ROUNDS} for login)\n`);
    console.log("route".padEnd(34) + "p50 ms".padStart(9) + "p90 ms".padStart(9) + "  ×bare".padStart(8) + "  conns/req".padStart(12) + "  db commands/req");
    for (const probe of probes) {
      const s = samples.get(probe.name)!;
      const p50 = percentile(s.ms, 50);
      const perReq = Object.entries(s.commands)
        .map(([name, n]) => `${name}:${(n / probe.rounds).toFixed(1)}`)
        .join(" ");
      console.log(
        probe.name.padEnd(34) +
          p50.toFixed(1).padStart(9) +
          percentile(s.ms, 90).toFixed(1).padStart(9) +
          (p50 / bare).toFixed(1).padStart(8) +
          (s.connections / probe.rounds).toFixed(2).padStart(12) +
          "  " +
          (perReq || "-"),
      );
    }
    const me = percentile(samples.get(probes[2]!.name)!.ms, 50);
    const health = percentile(samples.get(probes[1]!.name)!.ms, 50);
    console.log(`\n/auth/me vs bare: ${(me / bare).toFixed(1)}x; /auth/me vs /health: ${(me / health).toFixed(2)}x`);
    console.log("A MongoClient cannot outlive its request in workerd, so every database-backed request opens its own connections (conns/req).");
  } finally {
    if (wrangler) await stopProcessGroup(wrangler);
    await server.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
