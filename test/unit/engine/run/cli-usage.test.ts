/**
 * The command line as a user meets it: per-command help, the version, where usage errors go, and the exit codes of
 * README "Command line" (0 done, 1 failed, 2 usage or experiment-file error, 130 cancelled). In process, through
 * `main` with captured stdout and stderr.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMMAND_USAGE, EXIT, main, USAGE } from '../../../../src/engine/run/cli';
import { PRETRAIN_USAGE } from '../../../../src/engine/pretrain/cli';
import { makeTinyExperiment, type TinyExperiment } from '../../../support/tiny-experiment';

const root = path.resolve(__dirname, '../../../..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };

/** Runs the CLI in process; what it wrote to stdout and stderr, and its exit code. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

/** 1-based line and column of the first occurrence of `needle` in `text`. */
function positionOf(text: string, needle: string): string {
  const before = text.slice(0, text.indexOf(needle)).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

describe('ntk-lens command line: help, version, usage errors and exit codes', function () {
  this.timeout(60_000);
  let exp: TinyExperiment;
  before(async () => { exp = await makeTinyExperiment(); });
  after(() => exp?.cleanup());

  it("COMMAND --help (or -h, anywhere) prints that command's usage on stdout and exits 0", async () => {
    const cases: [string[], string][] = [
      [['run', '--help'], COMMAND_USAGE.run],
      [['kernel', '--help'], COMMAND_USAGE.kernel],
      [['validate', '--help'], COMMAND_USAGE.validate],
      [['pretrain', '--help'], PRETRAIN_USAGE],
      [['run', exp.specFile, '--template', 'it-was', '-h'], COMMAND_USAGE.run],
      [['validate', '-h'], COMMAND_USAGE.validate],
    ];
    for (const [argv, usage] of cases) {
      const r = await cli(...argv);
      assert.equal(r.code, EXIT.ok, `${argv.join(' ')}: ${r.err}`);
      assert.equal(r.out, `${usage}\n`, argv.join(' '));
      assert.equal(r.err, '', argv.join(' '));
    }
    assert.match(COMMAND_USAGE.run, /^usage: ntk-lens run FILE/);
    assert.match(COMMAND_USAGE.kernel, /^usage: ntk-lens kernel FILE/);
    for (const flag of ['--template', '--seeds', '--out', '--backend', '--memory-mb', '--json']) assert.match(COMMAND_USAGE.run, new RegExp(`${flag}\\b`));
  });

  it('--help alone prints the overview on stdout (exit 0); --version and -V print the version of package.json', async () => {
    assert.deepEqual(await cli('--help'), { code: EXIT.ok, out: `${USAGE}\n`, err: '' });
    assert.deepEqual(await cli('--version'), { code: EXIT.ok, out: `${pkg.version}\n`, err: '' });
    assert.deepEqual(await cli('-V'), { code: EXIT.ok, out: `${pkg.version}\n`, err: '' });
  });

  it('every usage error goes to stderr (nothing to stdout) with exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [[], /^usage: ntk-lens COMMAND/],
      [['rnu', exp.specFile], /unknown command 'rnu'\. Did you mean 'run'\?/],
      [['run'], /no experiment file given/],
      [['run', path.join(exp.dir, 'missing.ntk.yaml')], /missing\.ntk\.yaml: no such file/],
      [['run', exp.specFile, '--bogus'], /unknown option --bogus/],
      [['run', exp.specFile, '--template'], /--template needs a value/],
      [['run', exp.specFile, '--seeds', '13,x'], /--seeds: 'x' is not an integer/],
      [['kernel', exp.specFile, '--backend', 'gpu'], /--backend: 'gpu' is not one of/],
      [['run', exp.specFile, '--memory-mb', '0'], /--memory-mb needs a positive number/],
      [['run', exp.specFile, exp.specFile], /one experiment file at a time/],
      [['validate', exp.specFile, '--json'], /unknown option --json \(validate takes only the file\)/],
      [['pretrain', '--epochs', '3'], /pretrain: unknown option --epochs/],
      [['pretrain', '--backend', 'gpu'], /pretrain: --backend needs one of/],
      [['pretrain', '--work'], /pretrain: --work needs a folder/],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(...argv);
      assert.equal(r.code, EXIT.usage, `${argv.join(' ')}: exit ${r.code}`);
      assert.equal(r.out, '', `${argv.join(' ')} wrote to stdout: ${r.out}`);
      assert.match(r.err, message, argv.join(' '));
    }
  });

  it('run/kernel: an unknown --template name exits 2 with file:line:column: error, before any model is loaded', async () => {
    for (const command of ['run', 'kernel']) {
      const r = await cli(command, exp.specFile, '--template', 'nope', '--out', path.join(exp.dir, 'out'));
      assert.equal(r.code, EXIT.usage, r.err);
      assert.equal(r.out, '');
      const text = fs.readFileSync(exp.specFile, 'utf8');
      const at = `${Number(positionOf(text, 'templates:').split(':')[0]) + 1}:3`; // the first item of `templates`
      assert.ok(r.err.includes(`${exp.specFile}:${at}: error: --template: no template named 'nope'; the file has it-was`), r.err);
      assert.doesNotMatch(r.err, /loading model/);
    }
  });

  it('run: a label word that is several tokens exits 2, located at the word', async () => {
    const file = path.join(exp.dir, 'greatly.ntk.yaml');
    const text = fs.readFileSync(exp.specFile, 'utf8').replace('"1": great}', '"1": greatly}');
    fs.writeFileSync(file, text);
    const r = await cli('run', file, '--out', path.join(exp.dir, 'out'));
    assert.equal(r.code, EXIT.usage, r.err);
    assert.ok(r.err.includes(`${file}:${positionOf(text, 'greatly')}: error: template 'it-was': Label word "greatly" is 2 tokens`), r.err);
  });

  it('validate prints every problem as file:line:column: severity: message on stdout; exit 2 on errors, 0 on warnings only', async () => {
    const file = path.join(exp.dir, 'problems.ntk.yaml');
    const text = fs.readFileSync(exp.specFile, 'utf8').replace('"1": great}', '"1": greatly}').replace('max_length: 32', 'max_length: 100');
    fs.writeFileSync(file, text);
    const r = await cli('validate', file);
    assert.equal(r.code, EXIT.usage);
    assert.equal(r.err, '');
    assert.deepEqual(r.out.trim().split('\n').map((l) => l.replace(/: (error|warning): .*/, ': $1')), [
      `${file}:${positionOf(text, '100')}: warning`,
      `${file}:${positionOf(text, 'greatly')}: error`,
    ]);
    fs.writeFileSync(file, text.replace('greatly', 'great'));
    const ok = await cli('validate', file);
    assert.equal(ok.code, EXIT.ok, ok.out);
    assert.match(ok.out, /: warning: max_length 100 is more than the model takes/);
  });
});
