/**
 * A content fingerprint of a checkpoint folder: sha256 over the files that determine the model's numbers (config,
 * weights, tokenizer), by name and content. Results are stored under a key that includes it, so replacing the
 * weights behind an unchanged name or path (a retrained ntk-mini, a re-saved local checkpoint, a hub revision in
 * the same folder) never shows a result of the old weights as current.
 * Cost: one sequential read of the folder's weights (about 1 s per GB here; the OS cache is warm after loading).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** Files whose content changes a model's outputs. */
const RELEVANT = /^(config\.json|.*\.safetensors|.*\.safetensors\.index\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|vocab\.txt|vocab\.json|merges\.txt)$/;

/** sha256 (hex) of the checkpoint folder's relevant files, in name order. */
export async function checkpointFingerprint(dir: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  const names = (await fs.promises.readdir(dir)).filter((n) => RELEVANT.test(n)).sort();
  for (const name of names) {
    const file = path.join(dir, name);
    if (!(await fs.promises.stat(file)).isFile()) continue;
    hash.update(`${name}\0`);
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 22 })) hash.update(chunk as Buffer);
    hash.update('\0');
  }
  return hash.digest('hex');
}
