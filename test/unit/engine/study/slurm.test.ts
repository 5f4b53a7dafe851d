/**
 * The Slurm executor against a REAL single-node Slurm cluster (test/support/slurm-cluster.ts: munged + slurmctld +
 * slurmd in a temporary folder; apt-get installs Slurm when missing, else these tests skip with the reason).
 * The jobs run a stand-in for ntk-lens (fixtures/fake-ntk-lens.sh) that writes a result file, fails or sleeps on
 * demand: what is tested here is the scheduling (array, dependency, status, cancel, resubmit), not the study itself.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  arraySpec,
  describeSubmit,
  expandArraySpec,
  listSubmissions,
  ntkLensCommand,
  slurmPaths,
  slurmTime,
  SlurmError,
  splitCommandLine,
  submitSlurm,
  type SlurmJobRef,
} from '../../../../src/engine/study/slurm';
import { describeStatus, parseKeyValues, resubmitSlurm, studyStatus, type StudyStatus } from '../../../../src/engine/study/slurm-status';
import { expandJobs } from '../../../../src/engine/study/jobs';
import { studyMain } from '../../../../src/engine/study/cli';
import { loadStudy } from '../../../../src/engine/study/study-file';
import { doneJobs, studyStore } from '../../../../src/engine/study/study-run';
import { ensureSlurmInstalled, startSlurmCluster, type SlurmCluster } from '../../../support/slurm-cluster';
import { makeTinyExperiment } from '../../../support/tiny-experiment';

const REPO = path.resolve(__dirname, '../../../..');
const FAKE = path.join(__dirname, 'fixtures', 'fake-ntk-lens.sh');
const COMMAND = ['/bin/bash', FAKE];

interface Study {
  studyFile: string;
  outDir: string;
}

const jobs = (n: number): SlurmJobRef[] => Array.from({ length: n }, (_, index) => ({ index, estimate: { memoryMB: 100, seconds: 30 } }));
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function control(s: Study, name: string, value = ''): void {
  fs.mkdirSync(path.join(s.outDir, 'fake', 'control'), { recursive: true });
  fs.writeFileSync(path.join(s.outDir, 'fake', 'control', name), value);
}
const doneFile = (s: Study, i: number) => path.join(s.outDir, 'fake', 'done', `${i}.json`);
const isJobDone = (s: Study) => (i: number) => fs.existsSync(doneFile(s, i));
/** `start`/`end`/`report` lines of the stand-in, as [what, ms]. */
function events(s: Study, name: string | number): { what: string; ms: number }[] {
  const file = path.join(s.outDir, 'fake', 'events', String(name));
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' '))
    .map((p) => ({ what: p.slice(0, -1).join(' '), ms: Number(BigInt(p[p.length - 1]) / 1_000_000n) }));
}
const states = (st: StudyStatus) => st.jobs.map((j) => j.state);

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('study: Slurm executor', function () {
  this.timeout(60_000);
  let cluster: SlurmCluster | undefined;
  let noCluster = '';
  let root = '';
  let n = 0;
  const study = (): Study => {
    const dir = path.join(root, `study${n++}`);
    fs.mkdirSync(dir, { recursive: true });
    const studyFile = path.join(dir, 'grid.ntk-study.yaml');
    fs.writeFileSync(studyFile, '# stand-in study file: the fake ntk-lens does not read it\n');
    return { studyFile, outDir: path.join(dir, '.ntk') };
  };
  const on = (s: Study) => ({ ...s, env: cluster!.env, command: COMMAND, partition: cluster!.partition });
  function needCluster(ctx: Mocha.Context): void {
    if (!cluster) {
      console.log(`      (skipped: no Slurm cluster: ${noCluster})`);
      ctx.skip();
    }
  }
  async function allJobs(): Promise<number> {
    const { stdout } = await cluster!.run('squeue', ['-h', '-r', '-t', 'all', '-o', '%i']);
    return stdout.trim() ? stdout.trim().split('\n').length : 0;
  }

  before(async function () {
    this.timeout(600_000); // apt-get install: ~11-30 s, more on a slow mirror
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-slurm-test-'));
    const ready = await ensureSlurmInstalled();
    if (!ready.ok) {
      noCluster = ready.reason;
      console.log(`      Slurm tests skip: ${ready.reason}`);
      return;
    }
    if (ready.installed) console.log(`      installed slurmctld slurmd slurm-client munge with apt-get in ${(ready.ms / 1000).toFixed(1)} s`);
    const t0 = Date.now();
    cluster = await startSlurmCluster({ cpus: 8, gpus: 4 });
    const s = cluster.startup;
    console.log(`      cluster up in ${Date.now() - t0} ms (munged ${s.mungeMs}, slurmctld ${s.slurmctldMs}, slurmd ${s.slurmdMs})`);
  });

  after(async function () {
    this.timeout(60_000);
    try {
      await cluster?.stop();
    } finally {
      if (root) fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('pure parts: array specs, Slurm times, key=value records, command lines', () => {
    assert.equal(arraySpec(range(140), 8), '0-139%8');
    assert.equal(arraySpec([12, 3, 7, 8, 9]), '3,7-9,12');
    assert.deepEqual(expandArraySpec('2-9%2'), [2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(expandArraySpec('[1,3-4]'), [1, 3, 4]);
    assert.deepEqual(expandArraySpec('0-6:3'), [0, 3, 6]);
    assert.equal(slurmTime(3600 * 26 + 61), '1-02:01:01');
    assert.equal(slurmTime(5), '00:01:00');
    const kv = parseKeyValues('JobId=7 ArrayJobId=5 ArrayTaskId=2-9%2 JobState=FAILED Reason=NonZeroExitCode Command=/a b/c.sh ExitCode=3:0');
    assert.equal(kv.get('ArrayTaskId'), '2-9%2');
    assert.equal(kv.get('Command'), '/a b/c.sh');
    assert.equal(kv.get('ExitCode'), '3:0');
    assert.deepEqual(splitCommandLine(`node '/my dir/dist/cli.js' --x "a b"`), ['node', '/my dir/dist/cli.js', '--x', 'a b']);
  });

  it('starts ntk-lens the way this process was started: installed bin, dist/cli.js, tsx from a checkout', () => {
    const repo = path.resolve(__dirname, '../../../..');
    assert.deepEqual(ntkLensCommand(['/usr/bin/node', '/usr/local/bin/ntk-lens'], [], '/usr/bin/node'), ['/usr/local/bin/ntk-lens']);
    const cliTs = path.join(repo, 'src/engine/run/cli.ts');
    const tsx = ['--require', '/r/node_modules/tsx/dist/preflight.cjs', '--import', 'file:///r/node_modules/tsx/dist/loader.mjs'];
    assert.deepEqual(ntkLensCommand(['/usr/bin/node', cliTs], ['--max-old-space-size=4096', ...tsx], '/opt/node'), ['/opt/node', ...tsx, cliTs]);
    const bundle = path.join(repo, 'dist/cli.js');
    if (fs.existsSync(bundle)) {
      assert.deepEqual(ntkLensCommand(['/usr/bin/node', bundle], [], '/opt/node'), ['/opt/node', bundle]);
      // inside mocha (argv[1] is mocha): the bundle beside the checkout
      assert.deepEqual(ntkLensCommand(['/usr/bin/node', '/x/mocha.js'], [], '/opt/node'), ['/opt/node', bundle]);
    }
  });

  it('a dry run writes both scripts and submits nothing (and needs no Slurm)', async function () {
    const s = study();
    const before = cluster ? await allJobs() : 0;
    const noSlurm = { ...process.env, PATH: root }; // no sbatch here: a dry run must not call it
    const r = await submitSlurm({ ...s, env: noSlurm, command: COMMAND, jobs: jobs(5), maxParallel: 2, partition: 'gpu', gpusPerJob: 2, dryRun: true });
    assert.equal(r.dryRun, true);
    assert.equal(r.submission, undefined);
    const a = fs.readFileSync(r.arrayScript.path, 'utf8');
    assert.equal(a, r.arrayScript.text);
    const logs = slurmPaths(s.outDir).logs;
    for (const line of ['#SBATCH --array=0-4%2', '#SBATCH --partition=gpu', '#SBATCH --gres=gpu:2', `#SBATCH --output=${logs}/%A_%a.out`]) {
      assert.ok(a.includes(line), `array script lacks ${line}:\n${a}`);
    }
    // per-task resources from the estimates (100 MB, 30 s): 1.25× rounded up to 256 MB, 2× + 10 min
    assert.match(a, /^#SBATCH --mem=256M$/m);
    assert.match(a, /^#SBATCH --time=00:11:00$/m);
    assert.ok(a.includes(`exec /bin/bash ${FAKE} study job ${s.studyFile} --index "$SLURM_ARRAY_TASK_ID" --out ${s.outDir}`), a);
    const rep = r.reportScript.text;
    assert.ok(rep.includes(`study report ${s.studyFile} --out ${s.outDir} --format md >`), rep);
    assert.ok(rep.includes('--format json'), rep);
    assert.ok(!rep.includes('--gres'), 'the aggregation needs no GPU');
    assert.deepEqual(r.sbatch.report.slice(0, 3), ['sbatch', '--parsable', '--dependency=afterany:<arrayJobId>']);
    for (const script of [r.arrayScript.path, r.reportScript.path]) {
      const { spawnSync } = await import('node:child_process');
      assert.equal(spawnSync('bash', ['-n', script]).status, 0, `bash -n ${script}`);
    }
    assert.ok(describeSubmit(r).startsWith('dry run: nothing submitted.'));
    assert.ok(!fs.existsSync(slurmPaths(s.outDir).submissions), 'a dry run records no submission');
    if (cluster) assert.equal(await allJobs(), before, 'a dry run submits nothing');
  });

  it('sbatch missing from PATH: a clear message, nothing recorded', async () => {
    const s = study();
    await assert.rejects(
      submitSlurm({ ...s, env: { ...process.env, PATH: root }, command: COMMAND, jobs: jobs(3) }),
      (err: unknown) => {
        assert.ok(err instanceof SlurmError);
        assert.equal(err.kind, 'missing');
        assert.match(err.message, /^sbatch was not found on PATH \(.*\): Slurm's client commands/);
        assert.match(err.message, /--dry-run/);
        return true;
      },
    );
    assert.deepEqual(listSubmissions(s.outDir), []);
  });

  it('runs an array and, after every task, the aggregation; status tells done from failed', async function () {
    needCluster(this);
    const s = study();
    const N = 6;
    for (const i of range(N)) control(s, `sleep-${i}`, '1');
    control(s, 'fail-2');
    const r = await submitSlurm({ ...on(s), jobs: jobs(N), maxParallel: 3, gpusPerJob: 1, mem: 200, time: '5:00' });
    const sub = r.submission!;
    assert.match(sub.arrayJobId, /^\d+$/);
    assert.match(sub.reportJobId, /^\d+$/);
    assert.deepEqual(sub.indices, range(N));
    assert.deepEqual(listSubmissions(s.outDir), [sub]);
    const queued = await studyStatus({ ...on(s), indices: range(N), isJobDone: isJobDone(s) });
    assert.ok(queued.jobs.every((j) => j.state === 'queued' || j.state === 'running' || j.state === 'done'), describeStatus(queued));

    await cluster!.waitIdle([sub.arrayJobId, sub.reportJobId], 45_000);

    const st = await studyStatus({ ...on(s), indices: range(N), isJobDone: isJobDone(s) });
    assert.deepEqual(states(st), ['done', 'done', 'failed', 'done', 'done', 'done'], describeStatus(st));
    const failed = st.jobs[2];
    assert.equal(failed.slurmState, 'FAILED');
    assert.equal(failed.exitCode, 3);
    assert.equal(failed.source, 'slurmctld');
    assert.equal(failed.log, path.join(sub.logDir, `${sub.arrayJobId}_2.out`));
    assert.match(failed.logTail ?? '', /job 2 failed deliberately/);
    assert.equal(st.report?.slurmState, 'COMPLETED');
    assert.equal(st.report?.tableWritten, true);
    assert.match(describeStatus(st), /5 done, 1 failed/);

    // %3: never more than 3 tasks at once
    const spans = range(N).map((i) => events(s, i)).map((e) => [e.find((x) => x.what === 'start')!.ms, e.find((x) => x.what === 'end')!.ms]);
    const overlap = Math.max(...spans.map(([t]) => spans.filter(([a, b]) => a <= t && t < b).length));
    assert.ok(overlap <= 3, `${overlap} tasks ran at once with --array=…%3`);

    // the aggregation ran after the last task ended, and wrote both tables
    const lastEnd = Math.max(...spans.map(([, b]) => b));
    const reports = events(s, 'report');
    assert.deepEqual(reports.map((e) => e.what), ['report md', 'report json']);
    assert.ok(reports[0].ms >= lastEnd, 'the aggregation started before the last task ended');
    const paths = slurmPaths(s.outDir);
    const table = fs.readFileSync(paths.table, 'utf8');
    assert.match(table, /\| 5 \| done \|/);
    assert.doesNotMatch(table, /\| 2 \|/);
    assert.deepEqual(JSON.parse(fs.readFileSync(paths.tableJson, 'utf8')), [0, 1, 3, 4, 5]);
    assert.ok(fs.readdirSync(paths.logs).includes(`report-${sub.reportJobId}.out`));
    console.log(`      last job end → table.md written: ${((fs.statSync(paths.table).mtimeMs - lastEnd) / 1000).toFixed(2)} s ` +
      `(aggregation started ${((reports[0].ms - lastEnd) / 1000).toFixed(2)} s after the last task)`);

    // without slurmctld: the store, the jobcomp file and the logs tell the same (sacct has no slurmdbd here)
    const offline = await studyStatus({ ...on(s), indices: range(N), isJobDone: isJobDone(s), useController: false });
    assert.deepEqual(states(offline), states(st), describeStatus(offline));
    assert.equal(offline.jobs[2].source, 'jobcomp');
    assert.equal(offline.jobs[2].exitCode, 3);
    assert.ok(offline.notes.some((n) => n.startsWith('sacct:')), offline.notes.join('\n'));
  });

  it('scancel of a running task, then resubmit runs only the failed and missing jobs; nothing is lost', async function () {
    needCluster(this);
    const s = study();
    control(s, 'sleep-1', '120');
    const r = await submitSlurm({ ...on(s), jobs: jobs(4) });
    const first = r.submission!;
    await waitFor('job 1 to start', () => events(s, 1).length > 0);
    await cluster!.run('scancel', [`${first.arrayJobId}_1`]);
    await cluster!.waitIdle([first.arrayJobId, first.reportJobId], 30_000);

    // index 4 was never submitted: missing
    let st = await studyStatus({ ...on(s), indices: range(5), isJobDone: isJobDone(s) });
    assert.deepEqual(states(st), ['done', 'failed', 'done', 'done', 'missing'], describeStatus(st));
    assert.equal(st.jobs[1].slurmState, 'CANCELLED');
    assert.equal(st.jobs[1].signal, 15);
    assert.deepEqual(JSON.parse(fs.readFileSync(slurmPaths(s.outDir).tableJson, 'utf8')), [0, 2, 3], 'afterany: the table after a cancel');
    const kept = [0, 2, 3].map((i) => fs.statSync(doneFile(s, i)).mtimeMs);

    fs.rmSync(path.join(s.outDir, 'fake', 'control', 'sleep-1'));
    const again = await resubmitSlurm({ ...on(s), jobs: jobs(5), isJobDone: isJobDone(s) });
    assert.deepEqual(again.resubmitted, [1, 4]);
    assert.match(again.result!.arrayScript.text, /^#SBATCH --array=1,4$/m);
    const second = again.result!.submission!;
    assert.equal(second.kind, 'resubmit');
    await cluster!.waitIdle([second.arrayJobId, second.reportJobId], 30_000);

    st = await studyStatus({ ...on(s), indices: range(5), isJobDone: isJobDone(s) });
    assert.deepEqual(states(st), ['done', 'done', 'done', 'done', 'done'], describeStatus(st));
    assert.equal(st.jobs[1].jobId, `${second.arrayJobId}_1`, 'status follows the latest submission of an index');
    assert.deepEqual(JSON.parse(fs.readFileSync(slurmPaths(s.outDir).tableJson, 'utf8')), [0, 1, 2, 3, 4]);
    assert.equal(st.report?.jobId, second.reportJobId);
    // the jobs that were done ran once and kept their results
    assert.deepEqual([0, 2, 3].map((i) => fs.statSync(doneFile(s, i)).mtimeMs), kept);
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => events(s, i).filter((e) => e.what === 'start').length), [1, 2, 1, 1, 1]);
    assert.deepEqual(listSubmissions(s.outDir).map((x) => x.indices), [[0, 1, 2, 3], [1, 4]]);

    const nothing = await resubmitSlurm({ ...on(s), jobs: jobs(5), isJobDone: isJobDone(s) });
    assert.deepEqual(nothing.resubmitted, []);
    assert.equal(nothing.result, undefined);
  });

  it("an unknown partition: Slurm's message, nothing submitted or recorded", async function () {
    needCluster(this);
    const s = study();
    const before = await allJobs();
    await assert.rejects(submitSlurm({ ...on(s), jobs: jobs(3), partition: 'nope' }), (err: unknown) => {
      assert.ok(err instanceof SlurmError);
      assert.equal(err.kind, 'rejected');
      assert.match(err.message, /^Slurm refused the job array \(nothing was submitted\): sbatch: error: invalid partition specified: nope/);
      return true;
    });
    assert.equal(await allJobs(), before);
    assert.deepEqual(listSubmissions(s.outDir), []);
  });

  it('an aggregation job Slurm refuses: the accepted array is cancelled, and the message says so', async function () {
    needCluster(this);
    const s = study();
    // every task sleeps: a task that finished before the scancel arrived would read COMPLETED
    for (const i of range(2)) control(s, `sleep-${i}`, '60');
    let arrayId = '';
    await assert.rejects(submitSlurm({ ...on(s), jobs: jobs(2), reportPartition: 'nope' }), (err: unknown) => {
      assert.ok(err instanceof SlurmError);
      assert.match(err.message, /^Slurm refused the aggregation job: sbatch: error: invalid partition specified: nope/);
      const m = /The job array (\d+) had been accepted and was cancelled \(scancel \1\): nothing is left submitted/.exec(err.message);
      assert.ok(m, err.message);
      arrayId = m[1];
      return true;
    });
    await cluster!.waitIdle([arrayId], 15_000);
    const { stdout } = await cluster!.run('squeue', ['-h', '-r', '-t', 'all', '-j', arrayId, '-o', '%T']);
    assert.deepEqual([...new Set(stdout.trim().split('\n'))], ['CANCELLED']);
    assert.deepEqual(listSubmissions(s.outDir), []);
  });

  it('runs the real `ntk-lens study job` and `study report` of this checkout as array tasks (tsx command form); the table equals the local executor\'s', async function () {
    needCluster(this);
    this.timeout(180_000);
    const exp = await makeTinyExperiment();
    try {
      // an LM-BFF-shaped data root with one task, as in study.test.ts: 1 task × 2 modes × 2 seeds = 4 jobs
      for (const seed of [13, 21]) {
        const dir = path.join(exp.dir, 'lm-bff', 'SST-2', 'k-shot', `4-${seed}`);
        fs.mkdirSync(dir, { recursive: true });
        for (const split of ['train', 'dev', 'test']) fs.copyFileSync(path.join(exp.dir, `${split}.tsv`), path.join(dir, `${split}.tsv`));
      }
      const studyFile = path.join(exp.dir, 'tiny.ntk-study.yaml');
      fs.writeFileSync(
        studyFile,
        'model: ./model\ndata: ./lm-bff\ntasks: [SST-2]\nshots: 4\nseeds: [13, 21]\nmodes: [prompt, standard]\nmax_length: 32\nbackend: cpu\n' +
          'finetune: {optimizer: sgd, learning_rate: 1.0e-2, steps: 2, batch_size: 4, eval_every: 1}\nkernel: {kinds: [sgd], solver: lstsq}\n',
      );
      const study = loadStudy(studyFile);
      const all = expandJobs(study);
      const outDir = path.join(exp.dir, 'shared-store');
      // what `npx tsx src/engine/run/cli.ts` runs: node with tsx's loader flags (absolute), no npx on the node
      const tsx = path.join(REPO, 'node_modules', 'tsx', 'dist');
      const command = ntkLensCommand(
        [process.execPath, path.join(REPO, 'src/engine/run/cli.ts')],
        ['--require', path.join(tsx, 'preflight.cjs'), '--import', `file://${path.join(tsx, 'loader.mjs')}`],
      );
      const t0 = Date.now();
      const r = await submitSlurm({ studyFile, outDir, env: cluster!.env, command, jobs: all.map((j) => ({ index: j.index })), maxParallel: 2 });
      const sub = r.submission!;
      await cluster!.waitIdle([sub.arrayJobId, sub.reportJobId], 80_000);
      const done = await doneJobs(study, studyStore(study, outDir), all);
      const st = await studyStatus({ studyFile, outDir, env: cluster!.env, indices: all.map((j) => j.index), isJobDone: (i) => done[i] });
      assert.deepEqual(states(st), ['done', 'done', 'done', 'done'], `${describeStatus(st)}\n${st.jobs.map((j) => j.log && fs.readFileSync(j.log, 'utf8')).join('\n')}`);
      const log = fs.readFileSync(st.jobs[3].log!, 'utf8');
      assert.match(log, /job 3: .* SST-2 4-shot standard seed 21/);
      const table = fs.readFileSync(slurmPaths(outDir).table, 'utf8');
      assert.match(table, /\| SST-2 \| acc \| [\d.]+ /, table);
      assert.doesNotMatch(table, /missing seed/, table);
      assert.ok(fs.statSync(slurmPaths(outDir).tableJson).size > 2);
      assert.equal(st.report?.slurmState, 'COMPLETED');
      // The same study on the local executor, into another store: the same table, figure for figure.
      const local = { out: '', err: '' };
      const localIo = { out: (x: string) => void (local.out += x), err: (x: string) => void (local.err += x) };
      assert.equal(await studyMain(['run', studyFile, '--out', path.join(exp.dir, 'local-store'), '--workers', '2'], localIo), 0, local.err);
      const localTable = { out: '', err: '' };
      assert.equal(await studyMain(['report', studyFile, '--out', path.join(exp.dir, 'local-store'), '--format', 'md'], { out: (x) => void (localTable.out += x), err: () => undefined }), 0);
      assert.equal(localTable.out.trim(), table.trim(), 'the Slurm table equals the local executor\'s');
      const lastEnd = Math.max(...st.jobs.map((j) => fs.statSync(j.log!).mtimeMs));
      console.log(
        `      4 real study jobs + the table through Slurm: ${((Date.now() - t0) / 1000).toFixed(1)} s; ` +
          `last job end → table.md written: ${((fs.statSync(slurmPaths(outDir).table).mtimeMs - lastEnd) / 1000).toFixed(2)} s`,
      );
    } finally {
      exp.cleanup();
    }
  });

  it('measures the submission of a 140-task array (printed, not asserted)', async function () {
    needCluster(this);
    const s = study();
    const t0 = process.hrtime.bigint();
    const r = await submitSlurm({ ...on(s), jobs: jobs(140), maxParallel: 8 });
    const wall = Number(process.hrtime.bigint() - t0) / 1e6;
    const sub = r.submission!;
    assert.equal(sub.array, '0-139%8');
    await cluster!.run('scancel', [sub.arrayJobId, sub.reportJobId]);
    const { stdout } = await cluster!.run('squeue', ['-h', '-r', '-t', 'all', '-j', sub.arrayJobId, '-o', '%K']);
    assert.equal(new Set(stdout.trim().split('\n')).size, 140, 'squeue -r lists 140 tasks');
    console.log(`      submitting 140 tasks + the aggregation: ${wall.toFixed(0)} ms in all, ${r.submitMs} ms in the two sbatch calls`);
    await cluster!.waitIdle([sub.arrayJobId, sub.reportJobId], 15_000);
  });
});
