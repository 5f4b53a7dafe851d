// Many writer processes on one results store: nothing is lost, and a writer killed mid-write breaks nothing.
import * as assert from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ResultsStore } from '../../../../src/engine/report/store';

const REPO = path.resolve(__dirname, '../../../..');
const STORE_TS = path.join(REPO, 'src/engine/report/store.ts');

/**
 * A node process (TypeScript through tsx) running `code` with argv [storeTs, root, barrierDir, ...args]. It waits at
 * the barrier: writes `<barrierDir>/ready-<pid>`, then starts when `<barrierDir>/go` exists, so all start at once.
 */
function spawnNode(code: string, root: string, barrierDir: string, args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; stderr: string }> } {
  const prelude = `
const fs = require('fs'); const path = require('path');
const [storeTs, root, barrierDir, ...args] = process.argv.slice(1);
const { ResultsStore } = require(storeTs);
const nap = ms => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
fs.writeFileSync(path.join(barrierDir, 'ready-' + process.pid), '');
while (!fs.existsSync(path.join(barrierDir, 'go'))) nap(5);
`;
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', '-e', prelude + code, STORE_TS, root, barrierDir, ...args], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const done = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { child, done };
}

async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 10));
  }
}

/** Writes entries i = from..to-1 of writer `who` (key = who·1000 + i in hex); onProblem is a failure. */
const WRITER = `
const [who, from, to] = args.map(Number);
const s = new ResultsStore(root, { onProblem: m => { console.error('problem: ' + m); process.exitCode = 3; } });
const bulk = 'x'.repeat(Number(args[3] || 0));
for (let i = from; i < to; i++) {
  const key = (who * 1000 + i).toString(16).padStart(16, '0');
  const report = { template: 't' + i, words: null, seeds: bulk ? [bulk] : [], verdict: { text: 'v' },
    summary: { metric: 'acc', finetune: { mean: i / 100, std: 0, n: 1 }, kernels: {}, agreement: {} } };
  s.writeTemplateReport(key, report, { specFile: path.join(root, 'w' + who + '.ntk.yaml'), templateName: 'tpl' + i, model: 'm', task: 'SST-2', createdAt: new Date().toISOString() });
}
`;

describe('engine/report/store: many writers at once', function () {
  this.timeout(120_000);
  let dir: string;
  let root: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-store-mp-'));
    root = path.join(dir, 'store');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('8 writer processes × 20 entries at once: readIndex() holds all 160 and the index.json summary lists them all', async () => {
    const writers = Array.from({ length: 8 }, (_, w) => spawnNode(WRITER, root, dir, [String(w), '0', '20']));
    await until('8 writers ready', () => fs.readdirSync(dir).filter(f => f.startsWith('ready-')).length === 8);
    fs.writeFileSync(path.join(dir, 'go'), '');
    for (const r of await Promise.all(writers.map(w => w.done))) assert.strictEqual(r.code, 0, r.stderr);
    const problems: string[] = [];
    const index = new ResultsStore(root, { onProblem: m => problems.push(m) }).readIndex();
    assert.strictEqual(problems.join('\n'), '');
    assert.strictEqual(index.length, 160);
    const expected = [];
    for (let w = 0; w < 8; w++) for (let i = 0; i < 20; i++) expected.push((w * 1000 + i).toString(16).padStart(16, '0'));
    assert.deepStrictEqual(index.map(e => e.key).sort(), expected.sort());
    const summary = JSON.parse(fs.readFileSync(path.join(root, 'index.json'), 'utf8')) as { entries: { key: string }[] };
    assert.strictEqual(summary.entries.length, 160, 'the summary written last holds every entry');
    assert.deepStrictEqual(fs.readdirSync(path.join(root, 'index')).filter(f => f.endsWith('.tmp')), []);
  });

  it('a writer killed with SIGKILL mid-loop leaves the store readable (its temp files ignored) and a later write completes it', async () => {
    const N = 60;
    // 256 KB per report.json: the kill most likely lands inside a write
    const w = spawnNode(WRITER, root, dir, ['7', '0', String(N), String(256 * 1024)]);
    await until('the writer ready', () => fs.readdirSync(dir).some(f => f.startsWith('ready-')));
    fs.writeFileSync(path.join(dir, 'go'), '');
    const watcher = new ResultsStore(root, { onProblem: m => assert.fail(m) });
    await until('5 entries written', () => watcher.readIndex().length >= 5);
    w.child.kill('SIGKILL');
    const r = await w.done;
    assert.strictEqual(r.signal, 'SIGKILL', `the writer finished before it was killed: ${r.stderr}`);

    // what a writer killed inside writeFileAtomic leaves: a half-written temp file next to the entries (an hour old)
    const indexDir = path.join(root, 'index');
    const halfTmp = path.join(indexDir, '0000000000001f3b-aaaaaaaaaaaa.json.99999.0badf00d.tmp');
    fs.writeFileSync(halfTmp, '{"key":"0000000000001f3b","specFile":"/x","templ');
    const hourAgo = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(halfTmp, hourAgo, hourAgo);

    const problems: string[] = [];
    const s = new ResultsStore(root, { onProblem: m => problems.push(m) });
    const partial = s.readIndex();
    assert.strictEqual(problems.join('\n'), '');
    assert.ok(partial.length >= 5 && partial.length < N, `${partial.length} entries after the kill`);
    const have = new Set(partial.map(e => e.key));
    for (const e of partial) assert.ok(s.readTemplateReport(e.key), `report.json of ${e.key} is complete (written before its entry)`);

    // a later writer finishes the job
    const later = spawnNode(WRITER, root, dir, ['7', '0', String(N)]);
    const r2 = await later.done;
    assert.strictEqual(r2.code, 0, r2.stderr);
    const index = s.readIndex();
    assert.strictEqual(problems.join('\n'), '');
    assert.strictEqual(index.length, N);
    assert.ok([...have].every(k => index.some(e => e.key === k)));
    assert.ok(!fs.existsSync(halfTmp), 'the next write removed the dead writer\'s old temp file');
  });
});
