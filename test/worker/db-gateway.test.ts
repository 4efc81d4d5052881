// The DbGateway Durable Object (src/db/gateway.ts) end to end: which path the suite runs on,
// warm requests opening no connection, the database going down / hanging and coming back,
// eviction without leaked connections, and refusal of unknown operations. The "database"
// here is the test database behind a TCP proxy the tests control (test/support/proxy-control.ts),
// reached through DB_GATEWAY_PROXIED: DbGateway's code, pointed at the proxy (support/entry.ts).
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createApp } from "../../src/app.ts";
import type { DbGateway } from "../../src/db/gateway.ts";
import { gatewayInstanceName, gatewayKey } from "../../src/db/gateway-store.ts";
import { createUser, type TestUser } from "./support/db.ts";
import { tokenFor } from "./support/http.ts";

interface GatewayEnv {
  DB_ACCESS: string;
  DB_GATEWAY: DurableObjectNamespace<DbGateway>;
  DB_GATEWAY_PROXIED: DurableObjectNamespace<DbGateway>;
}
const gatewayEnv = env as unknown as GatewayEnv;
const controlUrl = inject("proxyControlUrl");

interface ProxyStats {
  connectionsOpened: number;
  connectionsActive: number;
  messages: number;
  mode: string;
}

async function proxy(action: "stats" | "reset" | "mode/up" | "mode/down" | "mode/hang"): Promise<ProxyStats> {
  const res = await fetch(`${controlUrl}/${action}`, { method: action === "stats" ? "GET" : "POST" });
  expect(res.status).toBe(200);
  return (await res.json()) as ProxyStats;
}

/** One request into a fresh app whose gateway binding is the proxied one (the gateway path, whatever the project). */
async function viaProxy(path: string, options: { token?: string; bindings?: Record<string, string> } = {}): Promise<Response> {
  const headers = new Headers();
  if (options.token) headers.set("Authorization", `Bearer ${options.token}`);
  const ctx = createExecutionContext();
  const res = await createApp().fetch(
    new Request(`http://api.test${path}`, { headers }),
    { ...env, DB_ACCESS: "gateway", DB_GATEWAY: gatewayEnv.DB_GATEWAY_PROXIED, ...options.bindings },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

const SHARDS = 4;
const POOL = 4;

/** Waits (bounded) until the proxy sees no open connection: sockets close asynchronously. */
async function untilNoConnections(limitMs: number): Promise<ProxyStats> {
  const until = Date.now() + limitMs;
  let stats = await proxy("stats");
  while (stats.connectionsActive > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    stats = await proxy("stats");
  }
  return stats;
}

describe("data path of this project", () => {
  it(`runs database operations on the path DB_ACCESS says (${gatewayEnv.DB_ACCESS})`, async () => {
    // /health with a fixed request id: the instance that serves it is known.
    const requestId = `path-check-${crypto.randomUUID()}`;
    const stub = gatewayEnv.DB_GATEWAY.getByName(gatewayInstanceName(gatewayKey(undefined, requestId), SHARDS));
    const before = await stub.stats();
    const res = await exports.default.fetch("http://api.test/health", { headers: { "X-Request-Id": requestId } });
    expect(res.status).toBe(200);
    const after = await stub.stats();
    expect(after.calls - before.calls).toBe(gatewayEnv.DB_ACCESS === "direct" ? 0 : 1);
  });
});

describe("DbGateway through a controllable database", () => {
  const users: { user: TestUser; token: string }[] = [];

  beforeAll(async () => {
    await proxy("mode/up");
    for (let i = 0; i < SHARDS; i++) {
      const user = await createUser({});
      users.push({ user, token: await tokenFor(user) });
    }
  });

  afterAll(async () => {
    await proxy("mode/up");
  });

  it("100 warm /api/auth/me requests open no new database connection", async () => {
    for (const { token } of users) expect((await viaProxy("/api/auth/me", { token })).status).toBe(200); // warm-up
    const instances = new Set(users.map(({ user }) => gatewayInstanceName(`user:${user.id}`, SHARDS)));
    const before = await proxy("stats");
    const t0 = Date.now();
    for (let i = 0; i < 100; i++) {
      const { user, token } = users[i % users.length]!;
      const res = await viaProxy("/api/auth/me", { token });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { user_id: string }).user_id).toBe(user.id);
    }
    const after = await proxy("stats");
    expect(after.connectionsOpened - before.connectionsOpened).toBe(0);
    // One database message per /me (the user-with-customer aggregate), plus at most the
    // monitors' heartbeats (one per instance per 10 s) over the run.
    const heartbeats = instances.size * (Math.ceil((Date.now() - t0) / 10_000) + 1);
    expect(after.messages - before.messages).toBeGreaterThanOrEqual(100);
    expect(after.messages - before.messages).toBeLessThanOrEqual(100 + heartbeats);
    // Each instance in use holds at most its pool and one monitor.
    expect(after.connectionsActive).toBeLessThanOrEqual(instances.size * (POOL + 1));
  });

  it("database down: 503 database_unavailable fast, /health degraded; back up: the next request succeeds", async () => {
    const { token } = users[0]!;
    expect((await viaProxy("/api/auth/me", { token })).status).toBe(200);
    await proxy("mode/down");

    const t0 = Date.now();
    const me = await viaProxy("/api/auth/me", { token });
    const elapsed = Date.now() - t0;
    expect(me.status).toBe(503);
    expect(await me.json()).toMatchObject({ error: { code: "database_unavailable" } });
    expect(elapsed).toBeLessThan(3_000);

    const health = await viaProxy("/health");
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: "degraded", db: "unreachable" });

    await proxy("mode/up");
    const again = await viaProxy("/api/auth/me", { token });
    expect(again.status).toBe(200);
    expect((await viaProxy("/health")).status).toBe(200);
  });

  it("database hangs: the gateway deadline answers 503 in time; back up: requests succeed again", async () => {
    const { token } = users[1]!;
    expect((await viaProxy("/api/auth/me", { token })).status).toBe(200);
    await proxy("mode/hang");

    const deadline = { DB_GATEWAY_TIMEOUT_MS: "1000" };
    const t0 = Date.now();
    const me = await viaProxy("/api/auth/me", { token, bindings: deadline });
    const elapsed = Date.now() - t0;
    expect(me.status).toBe(503);
    expect(await me.json()).toMatchObject({ error: { code: "database_unavailable" } });
    expect(elapsed).toBeGreaterThanOrEqual(1_000);
    expect(elapsed).toBeLessThan(2_500);

    await proxy("mode/up");
    const again = await viaProxy("/api/auth/me", { token });
    expect(again.status).toBe(200);
  });

  it("a restarted instance leaves no connection behind and reconnects lazily on the next call", async () => {
    const { user, token } = users[2]!;
    expect((await viaProxy("/api/auth/me", { token })).status).toBe(200);
    const instanceName = gatewayInstanceName(`user:${user.id}`, SHARDS);
    expect((await gatewayEnv.DB_GATEWAY_PROXIED.getByName(instanceName).stats()).connected).toBe(true);
    const open = (await proxy("stats")).connectionsActive;
    expect(open).toBeGreaterThan(0);

    // Restart every proxied instance (as a code update or a crash would): their connections must all go.
    for (const other of users) {
      const instance = gatewayEnv.DB_GATEWAY_PROXIED.getByName(gatewayInstanceName(`user:${other.user.id}`, SHARDS));
      await runInDurableObject(instance, (_object, state) => state.abort("test: restart")).catch(() => undefined);
    }
    const evicted = await untilNoConnections(5_000);
    expect(evicted.connectionsActive).toBe(0);

    const before = await proxy("stats");
    expect((await viaProxy("/api/auth/me", { token })).status).toBe(200);
    const after = await proxy("stats");
    expect(after.connectionsOpened - before.connectionsOpened).toBeGreaterThan(0);
    expect(after.connectionsActive).toBeLessThanOrEqual(POOL + 1);
    // A stub of an aborted instance stays broken: a fresh one reaches the new instance.
    expect((await gatewayEnv.DB_GATEWAY_PROXIED.getByName(instanceName).stats()).clientsOpened).toBe(1);
  });
});

describe("idle instances", () => {
  it("close their client after DB_GATEWAY_IDLE_CLOSE_MS without calls (no heartbeat keeps them resident)", async () => {
    await proxy("mode/up");
    const user = await createUser({});
    const token = await tokenFor(user);
    const instance = () => gatewayEnv.DB_GATEWAY_PROXIED.getByName(gatewayInstanceName(`user:${user.id}`, SHARDS));
    expect((await viaProxy("/api/auth/me", { token })).status).toBe(200);
    expect((await instance().stats()).connected).toBe(true);
    // ProxiedDbGateway closes after 2 s idle (support/entry.ts); its connections go with the client.
    const idle = await untilNoConnections(8_000);
    expect(idle.connectionsActive).toBe(0);
    expect((await instance().stats()).connected).toBe(false);
    expect((await viaProxy("/api/auth/me", { token })).status).toBe(200); // reconnects lazily
    expect((await instance().stats()).clientsOpened).toBeGreaterThanOrEqual(2);
  });
});

describe("operation registry over RPC", () => {
  it("refuses an unknown operation name without running anything", async () => {
    const stub = gatewayEnv.DB_GATEWAY.getByName("db-gateway-0");
    const before = await stub.stats();
    const outcome = await stub.run("dropDatabase", [], "test-unknown-operation");
    expect(outcome).toEqual({ ok: false, status: 500, code: "unknown_operation", message: "Unknown data operation." });
    expect((await stub.stats()).calls).toBe(before.calls);
  });

  it("refuses a name inherited from Object.prototype", async () => {
    const outcome = await gatewayEnv.DB_GATEWAY.getByName("db-gateway-0").run("toString", [], "test-unknown-operation");
    expect(outcome).toMatchObject({ ok: false, code: "unknown_operation" });
  });
});
