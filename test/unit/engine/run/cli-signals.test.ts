/**
 * Ctrl-C the README's way from a checkout: `npx tsx src/engine/run/cli.ts run FILE`, in its own process group, sent
 * SIGINT to the whole group as a terminal does once fine-tuning has started. tsx relays the signal to its child and
 * SIGKILLs a child whose event loop does not answer within 30 ms, which a computing step never does: the run used to
 * die without a word. Now the user sees both lines and the exit code is 130.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeTinyExperiment, type TinyExperiment } from '../../../support/tiny-experiment';

const root = path.resolve(__dirname, '../../../..');

describe('Ctrl-C on `npx tsx src/engine/run/cli.ts run FILE`', function () {
  this.timeout(120_000);
  let exp: TinyExperiment;
  before(async () => { exp = await makeTinyExperiment({ steps: 5000 }); });
  after(() => exp?.cleanup());

  it('prints "cancelling after the current step", then "cancelled … finished seeds …", and exits 130', async () => {
    const child = spawn('npx', ['tsx', 'src/engine/run/cli.ts', 'run', exp.specFile, '--out', path.join(exp.dir, 'out')], {
      cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let sent = false;
    child.stdout.on('data', (b) => { out += b; });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    const guard = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 100_000);
    child.stderr.on('data', (b) => {
      err += b;
      // the terminal's Ctrl-C: SIGINT to every process of the foreground group (npx, tsx and their children)
      if (!sent && /finetune \d+\/\d+/.test(err)) {
        sent = true;
        process.kill(-child.pid!, 'SIGINT');
      }
    });
    const { code, signal } = await exited;
    clearTimeout(guard);
    assert.ok(sent, `fine-tuning never started:\n${err.slice(-2000)}`);
    // The exit status a shell reports ($?): npx (npm) waits for tsx, then ends itself with the SIGINT it was sent.
    assert.equal(code ?? 128 + os.constants.signals[signal!], 130, `${code ?? signal}\n${err.slice(-2000)}`);
    assert.equal(err.match(/cancelling after the current step/g)?.length, 1, `one cancelling line:\n${err.slice(-2000)}`);
    assert.match(err, /ntk-lens: cancelled \(.*\); finished seeds are in the results folder and will be reused\n/);
    assert.equal(out, '');
  });
});
