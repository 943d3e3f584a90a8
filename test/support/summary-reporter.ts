// Prints one closing line `tests: N passed, N failed, N skipped`, and with CI=true makes any
// skipped or pending test fail the run: a test that needs root or a tool must find it in CI.
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    const skipped: string[] = [];
    for (const mod of testModules) {
      if (mod.state() === 'failed' && [...mod.children.allTests()].length === 0) failed++;
      for (const t of mod.children.allTests()) {
        const s = t.result().state;
        if (s === 'passed') passed++;
        else if (s === 'failed') failed++;
        else skipped.push(`${mod.moduleId}: ${t.fullName}`);
      }
    }
    const ci = process.env.CI === 'true' || process.env.CI === '1';
    if (ci && skipped.length > 0) {
      process.stdout.write(`\nCI=true and ${skipped.length} test(s) were skipped — that is a failure:\n`);
      for (const s of skipped) process.stdout.write(`  skipped: ${s}\n`);
      failed += skipped.length;
      process.exitCode = 1;
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed${skipped.length ? `, ${skipped.length} skipped` : ''}\n`);
  }
}
