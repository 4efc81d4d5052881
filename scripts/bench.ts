// npm run bench [-- --json FILE] — the Worker under `wrangler dev` (workerd) against the
// embedded database, on both data paths side by side in one run:
//   gateway: DB_ACCESS=gateway (DbGateway Durable Object, warm connections)
//   direct:  DB_ACCESS=direct  (a client per request)
// Each path has its own TCP proxy in front of the database (scripts/lib/tcp-proxy.ts) that
// injects latency (BENCH_DB_RTT_MS per round trip, default 0) and counts the connections and
// wire messages each request costs. Routes are measured interleaved (machine load affects all
// alike): sequentially, then 16 at a time. Prints a table; `--json FILE` writes the same figures.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "@earlybird/devdb";
import bcrypt from "bcryptjs";
import { MongoClient } from "mongodb";
import { freePort } from "./lib/ports.ts";
import { startTcpProxy, type TcpProxy } from "./lib/tcp-proxy.ts";
import { startWranglerDev, stopProcessGroup, waitForWorker } from "./lib/wrangler-dev.ts";
import { runMigrations } from "./migrate/runner.ts";
import { createStaffUser } from "./user-create.ts";

const RTT_MS = Number(process.env.BENCH_DB_RTT_MS ?? 0);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);
const SLOW_ROUNDS = Number(process.env.BENCH_LOGIN_ROUNDS ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const DB_NAME = "earlybird_bench";
const BCRYPT_COST = 10;
const PATHS = ["gateway", "direct"] as const;
type DataPath = (typeof PATHS)[number];

interface Target {
  path: DataPath;
  base: string;
  proxy: TcpProxy;
  token: string;
}

interface Probe {
  name: string;
  /** Sequential rounds; the concurrent phase sends `concurrentTotal` requests. */
  rounds: number;
  concurrentTotal: number;
  expectStatus: number;
  request: (t: Target) => Promise<Response>;
}

interface Figures {
  requests: number;
  p50: number;
  p95: number;
  xBare: number;
  connectionsPerRequest: number;
  messagesPerRequest: number;
  /** Requests per second (concurrent phase only). */
  throughput?: number;
  /** Answers with another status than expected, by status (e.g. 503 past the gateway deadline). */
  errors: Record<number, number>;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** One request; a status other than the expected one is counted (and reported), not hidden. */
async function timed(probe: Probe, t: Target, raw: Raw): Promise<void> {
  const t0 = performance.now();
  const res = await probe.request(t);
  await res.arrayBuffer();
  raw.ms.push(performance.now() - t0);
  if (res.status !== probe.expectStatus) raw.errors[res.status] = (raw.errors[res.status] ?? 0) + 1;
}

interface Raw {
  ms: number[];
  /** Unexpected statuses, by status. */
  errors: Record<number, number>;
  connections: number;
  messages: number;
  wallMs: number;
}

const settle = () => new Promise((r) => setTimeout(r, 20)); // direct clients close in waitUntil

/** Sequential: each probe once per round on each path, in turn. */
async function sequential(probes: Probe[], targets: Target[]): Promise<Map<string, Raw>> {
  const raw = new Map<string, Raw>();
  const key = (p: Probe, t: Target) => `${t.path}|${p.name}`;
  for (const p of probes)
    for (const t of targets) raw.set(key(p, t), { ms: [], errors: {}, connections: 0, messages: 0, wallMs: 0 });
  const maxRounds = Math.max(...probes.map((p) => p.rounds));
  for (let round = 0; round < maxRounds; round++) {
    for (const p of probes) {
      if (round >= p.rounds) continue;
      for (const t of targets) {
        const r = raw.get(key(p, t))!;
        const before = t.proxy.stats();
        await timed(p, t, r);
        await settle();
        const after = t.proxy.stats();
        r.connections += after.connectionsOpened - before.connectionsOpened;
        r.messages += after.messages - before.messages;
      }
    }
  }
  return raw;
}

/** Concurrent: `concurrentTotal` requests of one probe on one path, CONCURRENCY in flight. */
async function concurrent(probe: Probe, t: Target): Promise<Raw> {
  const raw: Raw = { ms: [], errors: {}, connections: 0, messages: 0, wallMs: 0 };
  let next = 0;
  const before = t.proxy.stats();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < probe.concurrentTotal) {
        next++;
        await timed(probe, t, raw);
      }
    }),
  );
  const wallMs = performance.now() - t0;
  await settle();
  const after = t.proxy.stats();
  return {
    ...raw,
    connections: after.connectionsOpened - before.connectionsOpened,
    messages: after.messages - before.messages,
    wallMs,
  };
}

function figures(raw: Raw, bareP50: number, withThroughput: boolean): Figures {
  const n = raw.ms.length;
  const p50 = percentile(raw.ms, 50);
  const out: Figures = {
    requests: n,
    p50: round1(p50),
    p95: round1(percentile(raw.ms, 95)),
    xBare: round2(p50 / bareP50),
    connectionsPerRequest: round2(raw.connections / n),
    messagesPerRequest: round2(raw.messages / n),
    errors: raw.errors,
  };
  if (withThroughput) out.throughput = round1((n / raw.wallMs) * 1000);
  return out;
}
const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

async function bcryptAlone(): Promise<number> {
  const hash = await bcrypt.hash("bench-password", BCRYPT_COST);
  const ms: number[] = [];
  for (let i = 0; i < SLOW_ROUNDS; i++) {
    const t0 = performance.now();
    await bcrypt.compare("bench-password", hash);
    ms.push(performance.now() - t0);
  }
  return round1(percentile(ms, 50));
}

async function main(): Promise<void> {
  const jsonAt = process.argv.indexOf("--json");
  const jsonFile = jsonAt >= 0 ? (process.argv[jsonAt + 1] ?? "bench.json") : null;
  const stateDirs: string[] = [];
  const server = await startServer({ port: 0, quiet: true });
  const running: ReturnType<typeof startWranglerDev>[] = [];
  const proxies: TcpProxy[] = [];
  try {
    const report = await runMigrations({ uri: server.uri, dbName: DB_NAME, command: "up", log: null });
    if (report.outcome !== "ok") throw new Error(`migrations: ${report.message}`);
    const client = await new MongoClient(server.uri).connect();
    const email = "bench.admin@earlybird.local";
    const { generatedPassword } = await createStaffUser(client.db(DB_NAME), { email, role: "admin", name: "Bench" }, BCRYPT_COST);
    // As if the bench admin had already replaced its initial password: otherwise every route but
    // /me answers 403 password_change_required and creation would measure a refusal.
    await client
      .db(DB_NAME)
      .collection("users")
      .updateOne({ email }, { $set: { must_change_password: false } });
    await client.close();
    const jwtSecret = `bench-${crypto.randomUUID()}-${crypto.randomUUID()}`;

    const targets: Target[] = [];
    for (const path of PATHS) {
      const proxy = await startTcpProxy({ host: server.host, port: server.port }, { oneWayDelayMs: RTT_MS / 2 });
      proxies.push(proxy);
      const stateDir = mkdtempSync(join(tmpdir(), `earlybird-bench-${path}-`));
      stateDirs.push(stateDir);
      const envFile = join(stateDir, ".dev.vars");
      writeFileSync(
        envFile,
        [
          `MONGODB_URI=${proxy.uri(server.uri)}`,
          `DB_NAME=${DB_NAME}`,
          `JWT_SECRET=${jwtSecret}`,
          `BCRYPT_COST=${BCRYPT_COST}`,
          "LOG_LEVEL=error",
          `DB_ACCESS=${path}`,
          // Every bench request comes from 127.0.0.1: the per-IP login limit would answer 429.
          "LOGIN_IP_LIMIT_PER_MINUTE=100000",
        ].join("\n"),
        { mode: 0o600 },
      );
      const port = await freePort();
      const child = startWranglerDev({ port, envFile, stateDir, stdio: ["ignore", "ignore", "inherit"] });
      running.push(child);
      await waitForWorker(port, child, 120_000);
      targets.push({ path, base: `http://127.0.0.1:${port}`, proxy, token: "" });
    }

    const loginBody = JSON.stringify({ email, password: generatedPassword });
    const login = (t: Target) =>
      fetch(`${t.base}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: loginBody });
    for (const t of targets) t.token = ((await (await login(t)).json()) as { access_token: string }).access_token;
    let phoneSeq = Math.floor(Math.random() * 1_000_000);
    const createCustomer = (t: Target) => {
      const n = phoneSeq++;
      return fetch(`${t.base}/api/phase0-v2/customers`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${t.token}` },
        body: JSON.stringify({
          name: `Bench customer ${n}`,
          phone: `9${String(n).padStart(9, "0")}`,
          address: `#${n}, 4th Cross, Indiranagar, Bengaluru 560038`,
          area: "Indiranagar",
        }),
      });
    };

    const probes: Probe[] = [
      {
        name: "bare (404, no database)",
        rounds: ROUNDS,
        concurrentTotal: 160,
        expectStatus: 404,
        request: (t) => fetch(`${t.base}/bench-bare`),
      },
      { name: "GET /health", rounds: ROUNDS, concurrentTotal: 160, expectStatus: 200, request: (t) => fetch(`${t.base}/health`) },
      {
        name: "GET /api/auth/me",
        rounds: ROUNDS,
        concurrentTotal: 160,
        expectStatus: 200,
        request: (t) => fetch(`${t.base}/api/auth/me`, { headers: { authorization: `Bearer ${t.token}` } }),
      },
      {
        name: `POST /api/auth/login (bcrypt ${BCRYPT_COST})`,
        rounds: SLOW_ROUNDS,
        concurrentTotal: 32,
        expectStatus: 200,
        request: login,
      },
      {
        name: "POST /api/phase0-v2/customers",
        rounds: SLOW_ROUNDS,
        concurrentTotal: 32,
        expectStatus: 201,
        request: createCustomer,
      },
    ];

    const startedAt = performance.now();
    await sequential(
      probes.map((p) => ({ ...p, rounds: 3 })),
      targets,
    ); // warm-up, discarded
    const seq = await sequential(probes, targets);
    const conc = new Map<string, Raw>();
    for (const p of probes) for (const t of targets) conc.set(`${t.path}|${p.name}`, await concurrent(p, t));
    const bcryptP50 = await bcryptAlone();

    const results: Record<string, Record<string, { sequential: Figures; concurrent: Figures }>> = {};
    for (const t of targets) {
      const bareSeq = percentile(seq.get(`${t.path}|${probes[0]!.name}`)!.ms, 50);
      const bareConc = percentile(conc.get(`${t.path}|${probes[0]!.name}`)!.ms, 50);
      results[t.path] = {};
      for (const p of probes) {
        results[t.path]![p.name] = {
          sequential: figures(seq.get(`${t.path}|${p.name}`)!, bareSeq, false),
          concurrent: figures(conc.get(`${t.path}|${p.name}`)!, bareConc, true),
        };
      }
    }

    const me = (path: DataPath) => results[path]!["GET /api/auth/me"]!;
    const bare = (path: DataPath) => results[path]![probes[0]!.name]!;
    const loginName = probes[3]!.name;
    const targetsMet = {
      meP50VsBare: {
        measured: me("gateway").sequential.xBare,
        target: RTT_MS === 0 ? "≤ 1.3× bare" : `≤ bare + 1.2×RTT = ${round1(bare("gateway").sequential.p50 + 1.2 * RTT_MS)} ms`,
        met:
          RTT_MS === 0
            ? me("gateway").sequential.xBare <= 1.3
            : me("gateway").sequential.p50 <= bare("gateway").sequential.p50 + 1.2 * RTT_MS,
      },
      warmConnectionsPerRequest: {
        measured: me("gateway").sequential.connectionsPerRequest,
        target: "0",
        met: me("gateway").sequential.connectionsPerRequest === 0,
      },
      loginP50: {
        measured: results.gateway![loginName]!.sequential.p50,
        target: `≤ bcrypt alone (${bcryptP50} ms) + 10 ms`,
        met: results.gateway![loginName]!.sequential.p50 <= bcryptP50 + 10,
      },
      meThroughputGatewayVsDirect: {
        measured: round2(me("gateway").concurrent.throughput! / me("direct").concurrent.throughput!),
        target: "≥ 3×",
        met: me("gateway").concurrent.throughput! >= 3 * me("direct").concurrent.throughput!,
      },
    };

    console.log(`EarlyBird bench — wrangler dev (workerd) + embedded database behind a proxy, injected RTT ${RTT_MS} ms`);
    console.log(
      `sequential: ${ROUNDS} interleaved rounds (${SLOW_ROUNDS} for login and creation); concurrent: ${CONCURRENCY} in flight; bcrypt ${BCRYPT_COST} alone p50 ${bcryptP50} ms\n`,
    );
    const head =
      "route".padEnd(36) +
      "path".padEnd(9) +
      "mode".padEnd(6) +
      "p50 ms".padStart(8) +
      "p95 ms".padStart(8) +
      "×bare".padStart(7) +
      "conns/req".padStart(11) +
      "msgs/req".padStart(10) +
      "req/s".padStart(8) +
      "  errors";
    console.log(head);
    for (const p of probes) {
      for (const mode of ["sequential", "concurrent"] as const) {
        for (const path of PATHS) {
          const f = results[path]![p.name]![mode];
          console.log(
            p.name.padEnd(36) +
              path.padEnd(9) +
              (mode === "sequential" ? "seq" : `c${CONCURRENCY}`).padEnd(6) +
              f.p50.toFixed(1).padStart(8) +
              f.p95.toFixed(1).padStart(8) +
              f.xBare.toFixed(2).padStart(7) +
              f.connectionsPerRequest.toFixed(2).padStart(11) +
              f.messagesPerRequest.toFixed(2).padStart(10) +
              (f.throughput === undefined ? "-" : f.throughput.toFixed(0)).padStart(8) +
              "  " +
              (Object.entries(f.errors)
                .map(([status, n]) => `${n}×${status}`)
                .join(" ") || "-"),
          );
        }
      }
    }
    console.log("\ntargets (gateway path):");
    for (const [name, t] of Object.entries(targetsMet))
      console.log(`  ${t.met ? "met " : "MISS"} ${name}: ${t.measured} (target ${t.target})`);
    console.log(`\nmeasured in ${((performance.now() - startedAt) / 1000).toFixed(0)} s`);
    if (jsonFile) {
      writeFileSync(
        jsonFile,
        JSON.stringify(
          {
            rttMs: RTT_MS,
            rounds: ROUNDS,
            slowRounds: SLOW_ROUNDS,
            concurrency: CONCURRENCY,
            bcryptAloneP50: bcryptP50,
            results,
            targets: targetsMet,
          },
          null,
          2,
        ),
      );
      console.log(`figures written to ${jsonFile}`);
    }
  } finally {
    for (const child of running) await stopProcessGroup(child);
    for (const proxy of proxies) await proxy.stop();
    await server.stop();
    for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
