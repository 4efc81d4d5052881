import type { Reporter, TestModule } from "vitest/node";

/**
 * Ends every run with one plain `N passed, N failed, N skipped` line, the tally CI readers
 * look for; vitest's own summary is decorated and spread over several lines.
 */
export class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const tally = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") tally.passed++;
        else if (state === "failed") tally.failed++;
        else tally.skipped++;
      }
      // A file that failed before collecting any test (import or setup error) counts as one failure.
      if (!module.ok() && module.children.size === 0) tally.failed++;
    }
    console.log(`\n${tally.passed} passed, ${tally.failed} failed, ${tally.skipped} skipped`);
  }
}
