import type { Reporter, TestModule } from "vitest/node";

/** One line of the reliability summary: what a test tried and how it went. */
export interface ReliabilityRow {
  category: string;
  tried: number;
  /** Requests (or runs) that behaved as required. */
  passed: number;
  /** Responses with a 5xx status. */
  serverErrors: number;
  /** Documents changed by rejected requests, lost, duplicated or left half-linked. */
  documents: number;
  /** Secrets found in response bodies and log lines. */
  secrets?: number;
  note?: string;
}

declare module "vitest" {
  interface TaskMeta {
    /** Rows for the reliability summary table, set by the reliability tests (test/reliability). */
    reliability?: ReliabilityRow[];
  }
}

/** Test names (test/node/migrations) that are crash or contention scenarios of the runner. */
const MIGRATION_SCENARIOS = /SIGKILL|SIGINT|Ctrl-C|concurrent|lease|killed/i;

export function formatTable(rows: ReliabilityRow[]): string {
  const header = ["category", "tried", "passed", "5xx", "docs changed/lost/half-linked", "secrets", "note"];
  const cells = rows.map((r) => [
    r.category,
    String(r.tried),
    String(r.passed),
    String(r.serverErrors),
    String(r.documents),
    r.secrets === undefined ? "-" : String(r.secrets),
    r.note ?? "",
  ]);
  const total = rows.reduce(
    (t, r) => ({
      tried: t.tried + r.tried,
      passed: t.passed + r.passed,
      serverErrors: t.serverErrors + r.serverErrors,
      documents: t.documents + r.documents,
      secrets: t.secrets + (r.secrets ?? 0),
    }),
    { tried: 0, passed: 0, serverErrors: 0, documents: 0, secrets: 0 },
  );
  cells.push([
    "total",
    String(total.tried),
    String(total.passed),
    String(total.serverErrors),
    String(total.documents),
    String(total.secrets),
    "",
  ]);
  const line = (cols: string[]) => `| ${cols.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...cells.map(line)].join("\n");
}

/**
 * Prints the reliability summary (a Markdown table) after a run that included reliability tests:
 * one row per category, from the rows the tests attach to their `task.meta`.
 */
export class ReliabilityReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const rows: ReliabilityRow[] = [];
    const migrations = { tried: 0, passed: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const meta = test.meta().reliability;
        if (meta) rows.push(...meta);
        // The migration runner's crash scenarios live with the runner's tests (test/node/migrations).
        if (module.moduleId.includes("test/node/migrations/") && MIGRATION_SCENARIOS.test(test.name)) {
          migrations.tried++;
          if (test.result().state === "passed") migrations.passed++;
        }
      }
    }
    if (migrations.tried > 0) {
      rows.push({
        category: "migrations: SIGKILL / Ctrl-C / concurrent runners / expired lease",
        ...migrations,
        serverErrors: 0,
        documents: migrations.tried - migrations.passed,
        note: "test/node/migrations",
      });
    }
    if (rows.length === 0) return;
    console.log(`\nReliability summary\n\n${formatTable(rows)}\n`);
  }
}
