import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";
import { bundleDriverForTests } from "./scripts/lib/bundle-driver.ts";
import { RELIABILITY_MODE, TEST_JWT_SECRET } from "./test/support/constants.ts";
import { ReliabilityReporter } from "./test/support/reliability-reporter.ts";
import { SummaryReporter } from "./test/support/summary-reporter.ts";

const root = import.meta.dirname;
const driverBundle = await bundleDriverForTests(root);

/** A project whose tests run inside workerd against the Worker, with the database its globalSetup provides. */
function workerProject(name: string, include: string[], globalSetup: string, extra: Record<string, string> = {}): TestProjectInlineConfiguration {
  return {
    plugins: [
      cloudflareTest(({ inject }) => ({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            MONGODB_URI: inject<string>("mongodbUri"),
            DB_NAME: inject<string>("dbName"),
            JWT_SECRET: TEST_JWT_SECRET,
            LOG_LEVEL: "warn",
            TEST_CLOCK: "1",
            ...extra,
          },
        },
      })),
    ],
    resolve: { alias: [{ find: /^mongodb$/, replacement: driverBundle }] },
    test: { name, include, globalSetup: [globalSetup], testTimeout: 30_000, hookTimeout: 60_000 },
  };
}

const reliability = workerProject("reliability", ["test/reliability/**/*.test.ts"], "test/support/reliability-global-setup.ts", {
  RELIABILITY_MODE,
  // Bounded (npm test): the cheapest bcrypt cost keeps 50 concurrent hash upgrades to seconds; the
  // code path is the same. Full mode hashes at the production default.
  BCRYPT_COST: RELIABILITY_MODE === "full" ? "10" : "4",
  ...(process.env.RELIABILITY_SEED ? { RELIABILITY_SEED: process.env.RELIABILITY_SEED } : {}),
});
// One file at a time: the suite snapshots whole collections of its own database before and after.
reliability.test = { ...reliability.test, fileParallelism: false, testTimeout: 300_000 };

export default defineConfig({
  test: {
    reporters: ["default", new ReliabilityReporter(), new SummaryReporter()],
    projects: [
      {
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      workerProject("worker", ["test/worker/**/*.test.ts"], "test/support/worker-global-setup.ts"),
      reliability,
    ],
  },
});
