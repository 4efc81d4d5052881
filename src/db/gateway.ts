import { DurableObject } from "cloudflare:workers";
import { type AppConfig, loadConfig } from "../config.ts";
import type { Bindings } from "../env.ts";
import { createLogger, type Logger } from "../lib/logger.ts";
import { type LazyDb, lazyDb } from "./client.ts";
import { isOperationName, type OperationOutcome, runOperation } from "./store.ts";

/** What `DbGateway.stats()` reports (tests and diagnostics). */
export interface GatewayStats {
  /** Whether a client is open (or opening) right now. */
  connected: boolean;
  /** Clients this instance has opened since it started. */
  clientsOpened: number;
  /** Operations run since this instance started. */
  calls: number;
  inFlight: number;
}

/**
 * The Durable Object that keeps MongoDB warm (docs/edge-data-path.md): one lazily
 * opened MongoClient per instance, shared by every request the instance serves, so a warm
 * request costs one round trip to the object and the query itself, never a new connection.
 *
 * It exposes the whole registry of src/db/operations.ts through one typed RPC method,
 * `run(name, args, requestId)`: operations added to the registry work through it without a
 * change here. Expected refusals come back as `OperationOutcome` values; infrastructure
 * errors (database unreachable) throw and keep `name`/`code` across RPC.
 *
 * Eviction: the client is closed after DB_GATEWAY_IDLE_CLOSE_MS without calls, which stops
 * the driver's monitor timer and sockets, so an idle instance is not kept resident (and
 * billed) by its heartbeat; the compatibility flag
 * `durable_object_io_tasks_do_not_prevent_eviction` is set as a second line of defence.
 */
export class DbGateway extends DurableObject<Bindings> {
  #database: LazyDb | null = null;
  #clientsOpened = 0;
  #calls = 0;
  #inFlight = 0;
  #idleTimer: ReturnType<typeof setTimeout> | null = null;

  /** The bindings this instance reads its configuration from (tests point a subclass elsewhere). */
  protected bindings(): Bindings {
    return this.env;
  }

  #config(): AppConfig {
    return loadConfig(this.bindings());
  }

  #logger(config: AppConfig, requestId: string): Logger {
    return createLogger(config.logLevel, { component: "db-gateway", request_id: requestId });
  }

  #db(config: AppConfig): LazyDb {
    if (!this.#database) {
      this.#database = lazyDb(config, {
        maxPoolSize: config.gatewayPoolSize,
        // A database that is down fails within 2.5 s (well inside the Worker's deadline); one
        // that hangs is cut by that deadline (DB_GATEWAY_TIMEOUT_MS).
        serverSelectionTimeoutMS: Math.min(config.serverSelectionTimeoutMs, 2_500),
        connectTimeoutMS: Math.min(config.serverSelectionTimeoutMs, 2_000),
        appName: "earlybird-edge-gateway",
      });
      this.#clientsOpened++;
    }
    return this.#database;
  }

  /** Runs one data operation by name. Unknown names are refused as a value, never run. */
  async run(name: string, args: unknown[], requestId: string): Promise<OperationOutcome> {
    const config = this.#config();
    if (!isOperationName(name) || !Array.isArray(args)) {
      this.#logger(config, requestId).info("db gateway: unknown operation refused", { operation: String(name) });
      return { ok: false, status: 500, code: "unknown_operation", message: "Unknown data operation." };
    }
    this.#calls++;
    this.#inFlight++;
    this.#cancelIdleClose();
    try {
      return await runOperation(await this.#db(config).get(), name, args);
    } catch (err) {
      this.#logger(config, requestId).info("db gateway: operation failed", {
        operation: name,
        error: err instanceof Error ? err.name : typeof err,
      });
      throw err;
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0) this.#scheduleIdleClose(config);
    }
  }

  async stats(): Promise<GatewayStats> {
    return {
      connected: this.#database !== null,
      clientsOpened: this.#clientsOpened,
      calls: this.#calls,
      inFlight: this.#inFlight,
    };
  }

  /** Closes the client now (tests; an operator's hook); the next call reconnects. */
  async closeClient(): Promise<void> {
    this.#cancelIdleClose();
    const database = this.#database;
    this.#database = null;
    await database?.close();
  }

  #cancelIdleClose(): void {
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
  }

  #scheduleIdleClose(config: AppConfig): void {
    this.#cancelIdleClose();
    if (this.#database === null) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = null;
      if (this.#inFlight > 0) return;
      createLogger(config.logLevel, { component: "db-gateway" }).info("db gateway: closing idle client");
      void this.closeClient();
    }, config.gatewayIdleCloseMs);
  }
}
