/**
 * The before/after pair of a suite that compares the webgpu backend with cpu: before, switch to webgpu or skip the
 * suite with the reason and how to set up the software driver (scripts/setup-software-gpu.sh); after, restore the
 * backend that was active.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend';

export function webgpuOrSkip(what: string): void {
  let previous: string;
  before(async function () {
    previous = tf.getBackend();
    try {
      await initBackend('webgpu');
    } catch (e) {
      console.warn(`      ${what} skipped: ${(e as Error).message.split('\n')[0]}\n`
        + '      Set up the software driver first: eval "$(bash scripts/setup-software-gpu.sh)" (npm test does it; '
        + 'NTK_LENS_SKIP_GPU=1 turns it off).');
      this.skip();
    }
  });
  after(async () => { if (previous) await tf.setBackend(previous); });
}
