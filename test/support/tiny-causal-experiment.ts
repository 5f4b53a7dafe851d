/**
 * A complete, tiny experiment on a causal LM for the engine tests, in a temporary folder: the files of
 * tiny-causal-files.ts (a random GPT-2-layout model, hidden 32, 2 layers; a byte-level BPE tokenizer in which every
 * word of the task is one token, with GPT-2's "Ġ" for a leading space; the review task; an *.ntk.yaml on cpu).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeTinyCausalFiles } from './tiny-causal-files';

export { bytesToUnicode, wordLevelByteBpe } from './tiny-causal-files';

export interface TinyCausalExperiment {
  dir: string;
  specFile: string;
  modelDir: string;
  cleanup(): void;
}

export async function makeTinyCausalExperiment(opts: { kinds?: string[]; steps?: number; seeds?: number[]; templates?: string; kernel?: string } = {}): Promise<TinyCausalExperiment> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-causal-'));
  const { specFile, modelDir } = await writeTinyCausalFiles(dir, { ...opts, backend: 'cpu' });
  return { dir, specFile, modelDir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
