/**
 * The CLI as the package ships it: src/engine/run/cli.ts bundled by esbuild with the options of scripts/build.mjs
 * (dist/cli.js, the package's `bin`), written to a temporary folder (so dist/ is left alone) and run with node. In the
 * bundle every module is the main module: an entry check in another module (pretrain/cli.ts had one) fires there.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';

const root = path.resolve(__dirname, '../../../..');

describe('the bundled CLI (dist/cli.js as scripts/build.mjs builds it)', function () {
  this.timeout(120_000);
  let dir: string;
  let cliJs: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-cli-bundle-'));
    cliJs = path.join(dir, 'dist', 'cli.js');
    await esbuild.build({
      // scripts/build.mjs's `node` options for the cli entry (no minify or source map: faster, same semantics)
      bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'warning', absWorkingDir: root,
      external: ['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-webgpu', 'webgpu'],
      entryPoints: ['src/engine/run/cli.ts'], outfile: cliJs,
    });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const node = (...args: string[]) => spawnSync(process.execPath, [cliJs, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });

  it('pretrain --help prints the pretrain usage and exits 0, without "unknown option" (no second entry point in the bundle)', () => {
    const r = node('pretrain', '--help');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ntk-lens pretrain \[options\]: masked-LM pre-training/);
    assert.equal(r.stderr, '');
    assert.doesNotMatch(r.stdout + r.stderr, /unknown option/);
  });

  it('--version prints the version of package.json; run --help its usage; a usage error exits 2 on stderr only', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    const v = node('--version');
    assert.deepEqual([v.status, v.stdout, v.stderr], [0, `${version}\n`, '']);
    const h = node('run', '--help');
    assert.equal(h.status, 0, h.stderr);
    assert.match(h.stdout, /^usage: ntk-lens run FILE\.ntk\.yaml \[options\]/);
    const u = node('run', '--bogus');
    assert.deepEqual([u.status, u.stdout], [2, '']);
    assert.match(u.stderr, /ntk-lens: unknown option --bogus/);
  });
});
