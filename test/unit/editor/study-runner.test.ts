/**
 * The study CLI as the extension runs it, against a stand-in script that prints what `ntk-lens study run --events`,
 * `study jobs --json`, `study report` and `study submit` print (the real `study run --events` is the lead's to land):
 * the event-line parser, the child-process runner (lines, exit codes, cancel = SIGINT then SIGKILL after the grace
 * period) and the StudyController (vscode stubbed) folding the events into the panel state.
 */
import { stub, Uri } from '../../support/vscode-stub';
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseJobsJson, runStudyCli } from '../../../src/editor/study-cli';
import { StudyCodeLensProvider } from '../../../src/editor/study-codelens';
import { applyStudyEvent, initialJobs, LineSplitter, parseStudyEvent } from '../../../src/editor/study-events';
import type { StudyEvent, StudyPanelState } from '../../../src/editor/study-protocol';
import { StudyController } from '../../../src/editor/study-runs';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const vscodeFake = require('vscode') as { window: Record<string, unknown>; workspace: Record<string, unknown> };

const SUMMARY = { finetune: { mean: 0.75, std: 0, n: 1 }, kernels: { sgd: { mean: 0.6875, std: 0, n: 1 } }, agreement: { sgd: { mean: 0.8125, std: 0, n: 1 } }, comparison: {}, kernelChange: { mean: 0.12, std: 0, n: 1 }, linearization: { mean: 0.3, std: 0, n: 1 }, metric: 'acc' };
const TABLE = (seeds: number[], failed: number[] = []) => [{
  model: 'ntk-mini', shots: 16, kinds: ['sgd'],
  rows: [{ task: 'SST-2', metric: 'acc', cells: [{
    mode: 'prompt', key: '0123456789abcdef', seeds, missing: [13, 21].filter(s => !seeds.includes(s) && !failed.includes(s)),
    failed: failed.map(s => ({ seed: s, index: s === 13 ? 0 : 1, why: 'exit code 1' })),
    ...(seeds.length ? { summary: SUMMARY, verdict: { status: 'inconclusive', kernelLike: null, text: 'inconclusive: …', evidence: [] } } : {}),
  }] }],
  summary: { prompt: { kernelLike: [], notKernelLike: [], inconclusive: [], incomplete: ['SST-2'] } },
}];

/** The stand-in CLI: `node standin.js study SUB FILE [--flags]`; STANDIN_MODE picks the run's behaviour. */
const STANDIN = `
const fs = require('fs');
const [sub, file, ...rest] = process.argv.slice(3);
if (process.env.STANDIN_ARGS) fs.appendFileSync(process.env.STANDIN_ARGS, JSON.stringify(process.argv.slice(2)) + '\\n');
const flag = n => { const i = rest.indexOf(n); return i >= 0 ? rest[i + 1] : undefined; };
const line = o => process.stdout.write(JSON.stringify(o) + '\\n');
const SUMMARY = ${JSON.stringify(SUMMARY)};
const TABLE = ${TABLE.toString()};
const sleep = ms => new Promise(r => setTimeout(r, ms));
const mode = process.env.STANDIN_MODE || 'ok';
process.stderr.write('stand-in: study ' + sub + '\\n');
(async () => {
  if (sub === 'jobs') {
    const labels = JSON.parse(process.env.STANDIN_LABELS || '[]');
    line(labels.map((label, index) => ({ index, label, done: index === 0 && mode === 'one-done', key: 'k', estimate: { memoryMB: 400 + index, seconds: 60 } })));
    return process.exit(0);
  }
  if (sub === 'report') {
    if (mode === 'report-fails') { process.stderr.write(file + ':3:8: error: Unknown task\\n'); return process.exit(2); }
    process.stdout.write(flag('--format') === 'json' ? JSON.stringify(TABLE([13])) : '| task | metric |\\n|---|---|\\n| SST-2 | acc |\\n');
    return process.exit(0);
  }
  if (sub === 'submit') { process.stdout.write('Submitted batch job 4242 (array 0-1); table job 4243 afterany:4242\\n'); return process.exit(0); }
  if (sub !== 'run') return process.exit(2);
  line({ type: 'plan', jobs: 2, workers: 1, extra: 'ignored' });
  line({ type: 'job', index: 0, state: 'queued', label: 'job zero' });
  line({ type: 'job', index: 1, state: 'queued', label: 'job one' });
  if (mode === 'slow' || mode === 'stubborn') {
    // The handler before the 'started' line: the test cancels as soon as it reads that line.
    process.on('SIGINT', () => {
      if (mode === 'stubborn') return process.stderr.write('stand-in: SIGINT ignored\\n');
      line({ type: 'job', index: 0, state: 'cancelled', label: 'job zero', logFile: '/logs/job-0.log' });
      process.exit(130);
    });
    line({ type: 'job', index: 0, state: 'started', label: 'job zero', logFile: '/logs/job-0.log' });
    await sleep(60000);
    return;
  }
  line({ type: 'job', index: 0, state: 'started', label: 'job zero', logFile: '/logs/job-0.log' });
  process.stdout.write('a plain line from the CLI\\n');
  process.stdout.write('{"type":"job","index":0,"sta');            // a line in two pieces
  await sleep(20);
  process.stdout.write('te":"done","label":"job zero","logFile":"/logs/job-0.log","exitCode":0}\\n');
  line({ type: 'table', tables: TABLE([13]) });
  line({ type: 'job', index: 1, state: 'started', label: 'job one', logFile: '/logs/job-1.log' });
  line({ type: 'job', index: 1, state: 'failed', label: 'job one', logFile: '/logs/job-1.log', exitCode: 1, reason: 'exit code 1' });
  line({ type: 'table', tables: TABLE([13], [21]) });
  line({ type: 'done', done: 1, failed: 1 });
  process.exit(1);
})();
`;

describe('study CLI events and runner (stand-in CLI)', () => {
  let dir: string;
  let cli: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-study-cli-'));
    cli = path.join(dir, 'standin.js');
    fs.writeFileSync(cli, STANDIN);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('parses each event line, and rejects what is not one (not JSON, unknown type, wrong field types)', () => {
    assert.deepStrictEqual(parseStudyEvent('{"type":"plan","jobs":4,"workers":2}'), { type: 'plan', jobs: 4, workers: 2 });
    assert.deepStrictEqual(parseStudyEvent('{"type":"plan","workers":2,"counts":{"total":7}}'), { type: 'plan', jobs: 7, workers: 2 }, "the local executor's plan");
    assert.deepStrictEqual(parseStudyEvent(' {"type":"job","index":3,"state":"failed","label":"x","logFile":"/l/job-3.log","exitCode":1,"attempt":1}\r'),
      { type: 'job', index: 3, state: 'failed', label: 'x', logFile: '/l/job-3.log', exitCode: 1 });
    assert.deepStrictEqual(parseStudyEvent('{"type":"job","index":0,"state":"skipped"}'), { type: 'job', index: 0, state: 'skipped' });
    assert.deepStrictEqual(parseStudyEvent('{"type":"done","done":3,"failed":0,"skipped":1,"seconds":2}'), { type: 'done', done: 3, failed: 0 });
    assert.deepStrictEqual(parseStudyEvent('{"type":"cancel","running":[0,2],"graceMs":10000,"at":1}'), { type: 'note', message: 'cancel: SIGINT to running job(s) 0, 2, SIGKILL after 10000 ms' });
    const table = parseStudyEvent(JSON.stringify({ type: 'table', tables: TABLE([13]) }));
    assert.strictEqual(table?.type, 'table');
    for (const bad of ['', 'job 3 done', '[1,2]', '{"type":"job"', 'null', '{"type":"nope"}', '{"type":"plan","jobs":"4","workers":2}',
      '{"type":"job","index":-1,"state":"done"}', '{"type":"job","index":1.5,"state":"done"}', '{"type":"job","index":1,"state":"exploded"}',
      '{"type":"done","done":1}', '{"type":"table","tables":{}}', '{"type":"table","tables":[{"model":"m"}]}',
      JSON.stringify({ type: 'table', tables: [{ ...TABLE([13])[0], rows: [{ task: 'SST-2', cells: [{ mode: 'prompt' }] }] }] })]) {
      assert.strictEqual(parseStudyEvent(bad), undefined, bad);
    }
  });

  it('splits chunks into lines (a line in pieces, CRLF, a last line without newline)', () => {
    const lines: string[] = [];
    const s = new LineSplitter(l => lines.push(l));
    s.push('{"a":'); s.push('1}\r\nsecond\nthi'); s.push(Buffer.from('rd'));
    assert.deepStrictEqual(lines, ['{"a":1}', 'second']);
    s.end();
    assert.deepStrictEqual(lines, ['{"a":1}', 'second', 'third']);
  });

  it('folds events into the panel state: job states with log and exit code, the newest table, the counts', () => {
    let st: StudyPanelState = { studyFile: '/s.ntk-study.yaml', modes: ['prompt'], jobs: initialJobs(['a', 'b'], [false, true]), running: true };
    assert.deepStrictEqual(st.jobs.map(j => j.state), ['unknown', 'done']);
    const events: StudyEvent[] = [
      { type: 'plan', jobs: 3, workers: 2 },
      { type: 'job', index: 0, state: 'started', logFile: '/l/0.log' },
      { type: 'job', index: 0, state: 'failed', exitCode: 1, reason: 'exit code 1' },
      { type: 'job', index: 2, state: 'done', label: 'c' },
      { type: 'table', tables: TABLE([13]) as never },
      { type: 'done', done: 2, failed: 1 },
    ];
    for (const e of events) st = applyStudyEvent(st, e);
    assert.strictEqual(st.workers, 2);
    assert.deepStrictEqual(st.jobs, [
      { index: 0, label: 'a', state: 'failed', logFile: '/l/0.log', exitCode: 1, reason: 'exit code 1' },
      { index: 1, label: 'b', state: 'done' },
      { index: 2, label: 'c', state: 'done' },
    ]);
    assert.strictEqual(st.tables![0].rows[0].cells[0].summary!.finetune!.mean, 0.75);
    assert.strictEqual(st.tableSource, 'event');
    assert.deepStrictEqual(st.finished, { done: 2, failed: 1 });
  });

  it('runs the CLI with this Node and hands over stdout and stderr line by line, with the exit code', async () => {
    const out: string[] = [], err: string[] = [];
    const r = await runStudyCli({ cli }, ['study', 'run', '/x.ntk-study.yaml', '--events'], { onStdoutLine: l => out.push(l), onStderrLine: l => err.push(l), collectStdout: false });
    assert.deepStrictEqual([r.code, r.cancelled, r.killed, r.stdout], [1, false, false, '']);
    assert.deepStrictEqual(err, ['stand-in: study run']);
    const events = out.map(parseStudyEvent);
    assert.deepStrictEqual(out.filter((_, i) => !events[i]), ['a plain line from the CLI']);
    assert.deepStrictEqual(events.filter(Boolean).map(e => `${e!.type}${e!.type === 'job' ? ` ${e!.index} ${e!.state}` : ''}`),
      ['plan', 'job 0 queued', 'job 1 queued', 'job 0 started', 'job 0 done', 'table', 'job 1 started', 'job 1 failed', 'table', 'done']);
  });

  it('cancel: SIGINT, and the CLI stops by itself (exit 130, not killed)', async () => {
    const controller = new AbortController();
    const t0 = Date.now();
    const r = await runStudyCli({ cli, env: { ...process.env, STANDIN_MODE: 'slow' }, graceMs: 5000 }, ['study', 'run', 'f'], {
      signal: controller.signal, onStdoutLine: l => { if (parseStudyEvent(l)?.type === 'job' && l.includes('started')) controller.abort(); },
    });
    assert.deepStrictEqual([r.code, r.cancelled, r.killed], [130, true, false]);
    assert.match(r.stdout, /"state":"cancelled"/);
    assert.ok(Date.now() - t0 < 4000, 'stopped at once');
  });

  it('cancel: a CLI that ignores SIGINT is SIGKILLed after the grace period', async () => {
    const controller = new AbortController();
    const t0 = Date.now();
    let abortedAt = 0;
    const r = await runStudyCli({ cli, env: { ...process.env, STANDIN_MODE: 'stubborn' }, graceMs: 400 }, ['study', 'run', 'f'], {
      signal: controller.signal, onStdoutLine: l => { if (l.includes('started')) { abortedAt = Date.now(); controller.abort(); } },
    });
    assert.deepStrictEqual([r.code, r.signal, r.cancelled, r.killed], [null, 'SIGKILL', true, true]);
    assert.match(r.stderr, /SIGINT ignored/);
    assert.ok(Date.now() - abortedAt >= 350 && Date.now() - t0 < 5000, `killed after the grace period (${Date.now() - abortedAt} ms)`);
  });

  it('reads `study jobs --json` rows and refuses anything else', () => {
    const rows = parseJobsJson(JSON.stringify([{ index: 0, label: 'a', done: true, key: 'k', estimate: { memoryMB: 400, seconds: 9 }, extra: 1 }]));
    assert.deepStrictEqual(rows, [{ index: 0, label: 'a', done: true, key: 'k', estimate: { memoryMB: 400, seconds: 9 } }]);
    assert.throws(() => parseJobsJson('{}'), /did not print a list/);
    assert.throws(() => parseJobsJson('[{"index":1,"label":"a","estimate":{"memoryMB":1,"seconds":1}}]'), /row 0 is not a job/);
  });
});

describe('StudyController (vscode stubbed) with the stand-in CLI', () => {
  let ws: string;
  let studyFile: string;
  let argsFile: string;
  let output: string[];
  const env = { ...process.env };
  const LABELS = ['ntk-mini SST-2 16-shot prompt seed 13', 'ntk-mini SST-2 16-shot prompt seed 21'];
  const make = (graceMs = 3000) => new StudyController(path.join(ws, 'ext'), { appendLine: (l: string) => output.push(l), show: () => undefined } as never, graceMs);

  beforeEach(() => {
    stub.reset();
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-study-ws-'));
    stub.workspaceFolder = ws;
    fs.mkdirSync(path.join(ws, 'data'));
    fs.mkdirSync(path.join(ws, 'ext', 'dist'), { recursive: true });
    fs.writeFileSync(path.join(ws, 'ext', 'dist', 'cli.js'), STANDIN); // the controller runs <extension>/dist/cli.js
    studyFile = path.join(ws, 'tiny.ntk-study.yaml');
    fs.writeFileSync(studyFile, 'model: ntk-mini\ndata: data\ntasks: [SST-2]\nshots: 16\nseeds: [13, 21]\nmodes: [prompt]\n');
    argsFile = path.join(ws, 'args.jsonl');
    output = [];
    process.env.STANDIN_ARGS = argsFile;
    process.env.STANDIN_LABELS = JSON.stringify(LABELS);
    delete process.env.STANDIN_MODE;
    delete process.env.NTK_LENS_CLI;
    vscodeFake.window.withProgress = (_o: unknown, task: (p: unknown, t: unknown) => unknown) =>
      task({ report: () => undefined }, { onCancellationRequested: () => ({ dispose: () => undefined }) });
  });
  afterEach(() => {
    for (const k of ['STANDIN_ARGS', 'STANDIN_LABELS', 'STANDIN_MODE']) { if (env[k] === undefined) delete process.env[k]; else process.env[k] = env[k]; }
    fs.rmSync(ws, { recursive: true, force: true });
  });
  const calls = () => fs.readFileSync(argsFile, 'utf8').trim().split('\n').map(l => JSON.parse(l) as string[]);
  const until = async (f: () => boolean, what: string) => {
    for (let t0 = Date.now(); !f(); await new Promise(r => setTimeout(r, 20))) if (Date.now() - t0 > 10000) throw new Error(`timed out waiting for ${what}`);
  };

  it('runs `study run FILE --out <results folder> --events` and folds its events into the study state', async () => {
    const studies = make();
    const seen: string[] = [];
    studies.onDidChange(f => seen.push(f));
    const result = await studies.run(studyFile);
    assert.deepStrictEqual(result, { done: 1, failed: 1, cancelled: false, code: 1 });
    assert.deepStrictEqual(calls()[0], ['study', 'run', studyFile, '--out', path.join(ws, '.ntk'), '--events']);
    const s = studies.session(studyFile);
    assert.strictEqual(s.running, false);
    assert.deepStrictEqual(s.jobs.map(j => [j.index, j.label, j.state, j.logFile, j.exitCode]), [
      [0, 'job zero', 'done', '/logs/job-0.log', 0], [1, 'job one', 'failed', '/logs/job-1.log', 1]]);
    assert.strictEqual(s.tableSource, 'event');
    assert.deepStrictEqual(s.tables![0].rows[0].cells[0].failed, [{ seed: 21, index: 1, why: 'exit code 1' }]);
    assert.deepStrictEqual(s.finished, { done: 1, failed: 1, cancelled: undefined, error: undefined });
    assert.ok(seen.length > 5 && seen.every(f => f === studyFile), 'every event announced for the file');
    assert.ok(output.includes('[study] stand-in: study run') && output.includes('[study stdout] a plain line from the CLI'), output.join('\n'));
    assert.ok(output.some(l => /job 1 failed \(exit code 1\): exit code 1; its log: \/logs\/job-1\.log/.test(l)));
    assert.ok(stub.messages.some(m => /1 done, 1 failed/.test(m)), stub.messages.join('\n'));
    assert.strictEqual(calls().length, 1, 'the last table came after the last job: no `study report`');
  });

  it('Cancel mid-run: SIGINT to the CLI, running jobs marked cancelled, then the table is read from the store', async () => {
    process.env.STANDIN_MODE = 'slow';
    const studies = make();
    const p = studies.run(studyFile);
    await until(() => studies.session(studyFile).jobs[0]?.state === 'started', 'job 0 to start');
    assert.ok(studies.isRunning(studyFile));
    assert.ok(studies.cancel(studyFile));
    const r = await p;
    assert.deepStrictEqual([r!.cancelled, r!.code], [true, 130]);
    const s = studies.session(studyFile);
    assert.deepStrictEqual(s.jobs.map(j => j.state), ['cancelled', 'cancelled']);
    assert.strictEqual(s.tableSource, 'report');
    assert.deepStrictEqual(calls().map(c => c.slice(0, 2)), [['study', 'run'], ['study', 'report']]);
    assert.ok(stub.messages.some(m => /cancelled/.test(m)));
    assert.strictEqual(studies.isRunning(), false);
  });

  it('one study at a time; nothing runs in an untrusted workspace', async () => {
    process.env.STANDIN_MODE = 'slow';
    const studies = make();
    const p = studies.run(studyFile);
    await until(() => studies.isRunning(), 'the run');
    assert.strictEqual(await studies.run(studyFile), undefined);
    assert.ok(stub.messages.some(m => /A study is running/.test(m)));
    studies.cancel();
    await p;
    stub.isTrusted = false;
    assert.strictEqual(await studies.run(studyFile), undefined);
    assert.strictEqual(studies.estimate(studyFile), undefined);
    assert.ok(stub.messages.some(m => /untrusted workspace/.test(m)));
  });

  it('a study file with errors does not start', async () => {
    fs.writeFileSync(studyFile, 'model: ntk-mini\ndata: data\ntasks: [SST-3]\n');
    const studies = make();
    assert.strictEqual(await studies.run(studyFile), undefined);
    assert.ok(stub.messages.some(m => /1 problem\(s\); the first: 3:9 Unknown task 'SST-3'/.test(m)), stub.messages.join('\n'));
    assert.ok(!fs.existsSync(argsFile), 'the CLI never started');
  });

  it('the estimate comes from `study jobs --json` once per saved file, and the CodeLens shows it', async () => {
    process.env.STANDIN_MODE = 'one-done';
    const studies = make();
    const lenses = new StudyCodeLensProvider(studies);
    const doc = { uri: Uri.file(studyFile), getText: () => fs.readFileSync(studyFile, 'utf8'), languageId: 'ntk-study' } as never;
    const titles = () => lenses.provideCodeLenses(doc).map(l => l.command!.title);
    assert.deepStrictEqual(titles(), ['▶ Run study (2 jobs)', 'Submit to Slurm…', 'Open table'], 'before the CLI answered');
    await new Promise<void>(r => studies.onDidChange(() => r()));
    assert.deepStrictEqual(titles(), ['▶ Run study (2 jobs, 1 done, ~60 s left)', 'Submit to Slurm…', 'Open table']);
    titles();
    assert.deepStrictEqual(calls(), [['study', 'jobs', studyFile, '--out', path.join(ws, '.ntk'), '--json']], 'asked once');
    assert.match((lenses.provideCodeLenses(doc)[0].command as { tooltip?: string }).tooltip!, /about 60 s of compute .* the largest job ~401 MB/);
  });

  it('the table as json (panel), md (export), and a Slurm submission with the answers as flags', async () => {
    const studies = make();
    const tables = await studies.refreshTable(studyFile);
    assert.strictEqual(tables[0].rows[0].cells[0].key, '0123456789abcdef');
    assert.strictEqual(studies.session(studyFile).tableSource, 'report');
    assert.match(await studies.tableText(studyFile, 'md'), /^\| task \| metric \|/);
    assert.match(await studies.submit(studyFile, { partition: 'gpu', time: '1:00:00', maxParallel: 4 }), /Submitted batch job 4242/);
    assert.deepStrictEqual(calls().slice(1), [
      ['study', 'report', studyFile, '--out', path.join(ws, '.ntk'), '--format', 'md'],
      ['study', 'submit', studyFile, '--slurm', '--out', path.join(ws, '.ntk'), '--partition', 'gpu', '--time', '1:00:00', '--max-parallel', '4'],
    ]);
    process.env.STANDIN_MODE = 'report-fails';
    await assert.rejects(studies.refreshTable(studyFile), /ntk-lens study report exited with code 2: .*:3:8: error: Unknown task/);
  });
});
