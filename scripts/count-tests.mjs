// Prints `N passed, N failed` from cargo's, vitest's and node's test runner's own reports in
// the given folder.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? '.test-results';
let passed = 0;
let failed = 0;

const cargo = join(dir, 'cargo.txt');
if (existsSync(cargo)) {
  for (const match of readFileSync(cargo, 'utf8').matchAll(/^test result: \w+\. (\d+) passed; (\d+) failed/gm)) {
    passed += Number(match[1]);
    failed += Number(match[2]);
  }
}

// vitest.json from `npm test`, vitest-*.json from extra runs (e.g. from a private parent).
for (const name of (existsSync(dir) ? readdirSync(dir) : []).filter((n) => /^vitest(-[\w-]+)?\.json$/.test(n))) {
  const report = JSON.parse(readFileSync(join(dir, name), 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  // A file that failed to load has no tests in the counts: count it as a failure.
  failed += report.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0).length;
}

// `npm run test:install` (node's test runner, TAP): cancelled tests (a failed setup hook) are failures too.
const install = join(dir, 'install.tap');
if (existsSync(install)) {
  const text = readFileSync(install, 'utf8');
  const count = (name) => Number(text.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1] ?? 0);
  passed += count('pass');
  failed += count('fail') + count('cancelled');
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
