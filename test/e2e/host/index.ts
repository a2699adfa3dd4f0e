/**
 * Entry of the in-host test suite: VS Code loads the bundle built from this file
 * (out/e2e/host/index.js) as `extensionTestsPath` and calls `run()` inside the
 * real extension host, where `require('vscode')` works. Launcher-agnostic: the
 * same bundle runs under test/e2e/runHost.mjs (code-server, offline) and under
 * @vscode/test-electron (test/e2e/runDesktop.mjs).
 *
 * Reporting: a small spec-style reporter prints every test and the final
 * "N passing" with console.log (test-electron shows that on its stdout) and, when
 * ZMQ_E2E_LOG is set, appends the same lines to that file, which runHost.mjs
 * streams to its own stdout (a server's extension host has no terminal). When
 * ZMQ_E2E_RESULTS is set, a JSON summary is written there at the end.
 */
import { appendFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

export interface E2eResults {
  passes: number;
  failures: number;
  pending: number;
  durationMs: number;
  failed: { title: string; error: string }[];
}

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 30000, color: false, reporter: LineReporter });
  const grep = process.env.ZMQ_E2E_GREP;
  if (grep) mocha.grep(grep);
  // the test files are bundled next to this one as <name>.test.js
  for (const name of readdirSync(__dirname).sort()) {
    if (name.endsWith('.test.js')) mocha.addFile(join(__dirname, name));
  }
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let runner: Mocha.Runner;
    try {
      runner = mocha.run((failures) => {
        const results: E2eResults = {
          passes: runner.stats?.passes ?? 0,
          failures,
          pending: runner.stats?.pending ?? 0,
          durationMs: Date.now() - started,
          failed: failedTests,
        };
        writeResults(results);
        if (failures > 0) reject(new Error(`${failures} test(s) failed`));
        else if (results.passes === 0) reject(new Error('no test ran'));
        else resolve();
      });
    } catch (err) {
      // a test file that throws while loading lands here: report it as a failure
      const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      out(`error loading the tests: ${error}`);
      writeResults({ passes: 0, failures: 1, pending: 0, durationMs: Date.now() - started, failed: [{ title: 'loading tests', error }] });
      reject(err);
    }
  });
}

const failedTests: E2eResults['failed'] = [];

function out(line: string): void {
  console.log(line);
  const log = process.env.ZMQ_E2E_LOG;
  if (log) appendFileSync(log, line + '\n');
}

function writeResults(results: E2eResults): void {
  const file = process.env.ZMQ_E2E_RESULTS;
  if (file) writeFileSync(file, JSON.stringify(results, null, 2));
}

/** Prints like mocha's spec reporter, through `out`. */
class LineReporter extends Mocha.reporters.Base {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    let depth = 0;
    const indent = () => '  '.repeat(depth);
    const started = Date.now();
    runner.on('suite', (suite) => {
      depth++;
      if (suite.title) out(`${indent()}${suite.title}`);
    });
    runner.on('suite end', () => depth--);
    runner.on('pass', (test) => out(`${indent()}  ✔ ${test.title} (${test.duration ?? 0}ms)`));
    runner.on('pending', (test) => out(`${indent()}  - ${test.title}`));
    runner.on('fail', (test, err: Error) => {
      failedTests.push({ title: test.fullTitle(), error: err.stack ?? err.message });
      out(`${indent()}  ${failedTests.length}) ${test.title}`);
    });
    runner.once('end', () => {
      const stats = runner.stats;
      const secs = Math.round((Date.now() - started) / 100) / 10;
      out('');
      out(`  ${stats?.passes ?? 0} passing (${secs}s)`);
      if (stats?.pending) out(`  ${stats.pending} pending`);
      if (failedTests.length) {
        out(`  ${failedTests.length} failing`);
        failedTests.forEach((f, i) => out(`\n  ${i + 1}) ${f.title}:\n     ${f.error.replace(/\n/g, '\n     ')}`));
      }
      out('');
    });
  }
}
