import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { bundleDriverForTests } from "./scripts/lib/bundle-driver.ts";
import { TEST_JWT_SECRET } from "./test/support/constants.ts";
import { SummaryReporter } from "./test/support/summary-reporter.ts";

const root = import.meta.dirname;
const driverBundle = await bundleDriverForTests(root);

/**
 * The worker tests in workerd, on one data path: "gateway" (the default, through the DbGateway
 * Durable Object) or "direct" (DB_ACCESS=direct, a client per request). The entry adds two
 * test-only gateway bindings (test/worker/support/entry.ts).
 */
function workerProject(name: string, dbAccess: "gateway" | "direct", include = ["test/worker/**/*.test.ts"]) {
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
            DB_ACCESS: dbAccess,
            // workerd runs the Worker and the gateway object on one thread here, so a test that
            // fires ~50 cost-12 logins at once (auth-login) starves the object's replies for tens
            // of seconds on the loaded 2-core machine; a production deadline (5 s) would turn
            // that into 503s. The deadline's own tests set it per request (db-gateway.test.ts).
            DB_GATEWAY_TIMEOUT_MS: "60000",
            PROXIED_MONGODB_URI: inject<string>("proxiedMongodbUri"),
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
    test: {
      name,
      include,
      globalSetup: ["test/support/worker-global-setup.ts"],
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  };
}

export default defineConfig({
  test: {
    reporters: ["default", new SummaryReporter()],
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
      workerProject("worker", "gateway"),
      // DB_ACCESS=direct: a representative subset (every data operation, transactions, races,
      // idempotency, failure mapping), not the whole suite: the full worker suite takes ~6 min on
      // the 2-core machine, and running it twice would push `npm test` past ~7 min.
      workerProject("worker-direct", "direct", [
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
      ]),
    ],
  },
});
