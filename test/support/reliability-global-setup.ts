import type { TestProject } from "vitest/node";
import { RELIABILITY_DB_NAME } from "./constants.ts";
import { setupDatabase } from "./worker-global-setup.ts";

/** The reliability project's own embedded server and database: its snapshots see no other test's writes. */
export default function setup(project: TestProject) {
  return setupDatabase(project, RELIABILITY_DB_NAME);
}
