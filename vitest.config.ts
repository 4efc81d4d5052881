import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { bundleDriverForTests } from "./scripts/lib/bundle-driver.ts";
import { TEST_JWT_SECRET } from "./test/support/constants.ts";
import { SummaryReporter } from "./test/support/summary-reporter.ts";

const root = import.meta.dirname;
const driverBundle = await bundleDriverForTests(root);

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
      {
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
              },
            },
          })),
        ],
        resolve: { alias: [{ find: /^mongodb$/, replacement: driverBundle }] },
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          globalSetup: ["test/support/worker-global-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
