import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../../../..');

describe('ntk-lens as a process', function () {
  this.timeout(300_000);

  // Through tsx, as `npm start` runs it: tsx relays the child's output and the write ends up asynchronous, so an exit
  // right after a large write lost the tail (`npm start -- --json | jq` got 64 KiB).
  it('--json into a pipe gives the whole report (more than 64 KiB), then exits 0, also through tsx', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-cli-'));
    try {
      // A shell pipe to another process, as `| jq` (spawnSync's own pipe drains too fast to show the loss).
      const file = path.join(out, 'report.json');
      const cmd = `"${path.join(root, 'node_modules/.bin/tsx')}" "${path.join(root, 'src/engine/run/cli.ts')}" run `
        + `"${path.join(root, 'examples/quickstart/sentiment.ntk.yaml')}" --template it-was --out "${out}" --json | cat > "${file}"`;
      const r = spawnSync('bash', ['-o', 'pipefail', '-c', cmd], { cwd: root, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr.slice(-2000));
      const text = fs.readFileSync(file, 'utf8');
      assert.ok(text.length > 65_536, `the report is ${text.length} bytes; the case needs more than one pipe buffer (64 KiB)`);
      const report = JSON.parse(text) as { templates: { name: string }[] };
      assert.deepEqual(report.templates.map((t) => t.name), ['it-was']);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
