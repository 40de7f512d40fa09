/**
 * Prints the one plain line CI reads: `tests: N passed, M failed`. A suite that fails to run
 * at all (syntax error, crash in beforeAll) counts as one failure so it can never hide.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    process.stdout.write(`\ntests: ${results.numPassedTests} passed, ${failed} failed\n`);
  }
}
module.exports = SummaryReporter;
