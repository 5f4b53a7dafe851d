// Runs inside the VS Code extension host (required by the harness extension). Writes "ok/FAIL" lines and a closing
// "N passed, N failed" line to VSCODE_EXT_TESTS_REPORT.
import * as fs from 'fs';
import * as path from 'path';
import Mocha = require('mocha');

export function run(): Promise<void> {
  // a real run of the small example copy takes about a minute on 2 shared cores
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 300000, reporter: 'spec' });
  const dir = __dirname;
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.test.js')) mocha.addFile(path.join(dir, f));
  return new Promise((resolve, reject) => {
    const results: string[] = [];
    const runner = mocha.run(failures => {
      const out = process.env.VSCODE_EXT_TESTS_REPORT || path.join(dir, 'report.txt');
      fs.writeFileSync(out, results.join('\n') + `\nexthost: ${runner.stats?.passes} passed, ${failures} failed\n`);
      failures > 0 ? reject(new Error(`${failures} tests failed.`)) : resolve();
    });
    runner.on('pass', t => results.push(`ok   [${t.duration} ms] ${t.fullTitle()}`));
    runner.on('fail', (t, err) => results.push(`FAIL ${t.fullTitle()}: ${err.message}`));
  });
}
