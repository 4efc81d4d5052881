import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";
import { bundleDriverForTests } from "./scripts/lib/bundle-driver.ts";
import { RELIABILITY_MODE, TEST_JWT_SECRET } from "./test/support/constants.ts";
import { ReliabilityReporter } from "./test/support/reliability-reporter.ts";
import { SummaryReporter } from "./test/support/summary-reporter.ts";

const root = import.meta.dirname;
const driverBundle = await bundleDriverForTests(root);

interface WorkerProjectOptions {
  /** "gateway" (the default, through the DbGateway Durable Object) or "direct" (a client per request). */
  dbAccess: "gateway" | "direct";
  include: string[];
  globalSetup: string;
  bindings?: Record<string, string>;
}

/**
 * A project whose tests run inside workerd against the Worker, with the database its
 * globalSetup provides. The entry adds test-only gateway bindings (test/worker/support/entry.ts).
 */
function workerProject(name: string, options: WorkerProjectOptions): TestProjectInlineConfiguration {
  return {
    plugins: [
      cloudflareTest(({ inject }) => ({
        main: "./test/worker/support/entry.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            MONGODB_URI: inject<string>("mongodbUri"),
            DB_NAME: inject<string>("dbName"),
            JWT_SECRET: TEST_JWT_SECRET,
            LOG_LEVEL: "warn",
            TEST_CLOCK: "1",
            DB_ACCESS: options.dbAccess,
            // workerd runs the Worker and the gateway object on one thread here, so a test that
            // fires ~50 cost-12 logins at once (auth-login) starves the object's replies for tens
            // of seconds on the loaded 2-core machine; a production deadline (5 s) would turn
            // that into 503s. The deadline's own tests set it per request (db-gateway.test.ts).
            DB_GATEWAY_TIMEOUT_MS: "60000",
            PROXIED_MONGODB_URI: inject<string>("proxiedMongodbUri"),
            ...options.bindings,
          },
          durableObjects: {
            DB_GATEWAY: { className: "DbGateway", useSQLite: true },
            DB_GATEWAY_PROXIED: { className: "ProxiedDbGateway", useSQLite: true },
            DB_GATEWAY_UNREACHABLE: { className: "UnreachableDbGateway", useSQLite: true },
          },
        },
      })),
    ],
    resolve: { alias: [{ find: /^mongodb$/, replacement: driverBundle }] },
    test: { name, include: options.include, globalSetup: [options.globalSetup], testTimeout: 30_000, hookTimeout: 60_000 },
  };
}

const WORKER_SETUP = "test/support/worker-global-setup.ts";

const reliability = workerProject("reliability", {
  dbAccess: "gateway",
  include: ["test/reliability/**/*.test.ts"],
  globalSetup: "test/support/reliability-global-setup.ts",
  bindings: {
    RELIABILITY_MODE,
    // Bounded (npm test): the cheapest bcrypt cost keeps 50 concurrent hash upgrades to seconds; the
    // code path is the same. Full mode hashes at the production default.
    BCRYPT_COST: RELIABILITY_MODE === "full" ? "10" : "4",
    ...(process.env.RELIABILITY_SEED ? { RELIABILITY_SEED: process.env.RELIABILITY_SEED } : {}),
  },
});
// One file at a time: the suite snapshots whole collections of its own database before and after.
reliability.test = { ...reliability.test, fileParallelism: false, testTimeout: 300_000 };

export default defineConfig({
  test: {
    // Vitest's default is one worker per core minus one (a single one on 2 cores), but most of a
    // test's time here is waiting on workerd, the embedded database or a child process.
    maxWorkers: 3,
    reporters: ["default", new ReliabilityReporter(), new SummaryReporter()],
    projects: [
      {
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts", "packages/*/test/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      workerProject("worker", { dbAccess: "gateway", include: ["test/worker/**/*.test.ts"], globalSetup: WORKER_SETUP }),
      // DB_ACCESS=direct: a representative subset (every data operation, transactions, races,
      // idempotency, failure mapping), not the whole suite: running the whole worker suite twice
      // would push `npm test` well past the time budget on 2 cores.
      workerProject("worker-direct", {
        dbAccess: "direct",
        globalSetup: WORKER_SETUP,
        include: [
          "test/worker/auth-flow.test.ts",
          "test/worker/auth-tokens.test.ts",
          "test/worker/auth-change-password.test.ts",
          "test/worker/auth-sessions.test.ts",
          "test/worker/customers-create.test.ts",
          "test/worker/customers-conflicts.test.ts",
          "test/worker/customers-idempotency.test.ts",
          "test/worker/health.test.ts",
          "test/worker/logging-request.test.ts",
          "test/worker/db-gateway.test.ts",
        ],
      }),
      reliability,
    ],
  },
});
