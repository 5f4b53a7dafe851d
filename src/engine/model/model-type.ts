/**
 * Which kind of LM a model reference is, without loading it (nor tfjs): config.json's `model_type` from a local
 * folder or from the Hugging Face cache (`<cache>/models--org--name/refs/main` → `snapshots/<commit>/config.json`).
 * Used where only the kind matters (a study's default templates); the loaders (load.ts) stay the authority.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hubSettings, repoFolderName } from './hub/paths';

/** config.json model_types of the causal families (causal/registry.ts; a test keeps the two lists equal). */
export const CAUSAL_MODEL_TYPES_PURE: readonly string[] = ['gpt2', 'gpt_neox', 'llama', 'mistral', 'qwen2'];

/** The folder's config.json model_type, or undefined when it cannot be read. */
export function modelTypeInFolder(dir: string): string | undefined {
  try {
    const t = (JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { model_type?: unknown }).model_type;
    return typeof t === 'string' ? t : undefined;
  } catch {
    return undefined;
  }
}

/** The model_type of a Hub id in the local cache (main revision), or undefined when it is not there. */
export function modelTypeInHubCache(repoId: string, cacheDir?: string): string | undefined {
  try {
    const cache = cacheDir ?? hubSettings({}, process.env, os.homedir()).cacheDir;
    const repo = path.join(cache, repoFolderName(repoId));
    const commit = fs.readFileSync(path.join(repo, 'refs', 'main'), 'utf8').trim();
    return modelTypeInFolder(path.join(repo, 'snapshots', commit));
  } catch {
    return undefined;
  }
}

/** Whether a model reference (as an experiment file's `model:` resolves it) is known to be a causal LM. */
export function isCausalModelRef(ref: { kind: 'builtin' } | { kind: 'path'; path: string } | { kind: 'hub'; id: string }, cacheDir?: string): boolean {
  const t = ref.kind === 'path' ? modelTypeInFolder(ref.path) : ref.kind === 'hub' ? modelTypeInHubCache(ref.id, cacheDir) : undefined;
  return t !== undefined && CAUSAL_MODEL_TYPES_PURE.includes(t);
}
