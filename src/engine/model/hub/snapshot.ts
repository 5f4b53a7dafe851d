/**
 * What a cached snapshot holds: the ref → commit lookup, the `.no_exist` markers for files a commit lacks, the
 * shard list of a sharded checkpoint, and whether the files a model needs are all there.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { CONFIG_FILE, SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE, TOKENIZER_FILES, USABLE_TOKENIZER_SETS } from './constants';
import { buildResourcePaths, checkRepoFilename, isCommitHash } from './paths';

export interface SnapshotLocation {
  repoId: string;
  revision: string;
  cacheDir: string;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

/** The commit `refs/{revision}` points to, the revision itself if it is a commit hash, else null. */
export async function readRef(at: SnapshotLocation): Promise<string | null> {
  if (isCommitHash(at.revision)) return at.revision;
  const { refPath } = buildResourcePaths(at.repoId, CONFIG_FILE, at);
  try {
    const commit = (await fs.readFile(refPath, 'utf8')).trim();
    return isCommitHash(commit) ? commit : null;
  } catch {
    return null;
  }
}

/** Writes `refs/{revision}` = commit (atomically: temp file + rename). A commit-hash revision needs no ref. */
export async function writeRef(at: SnapshotLocation, commit: string): Promise<void> {
  if (isCommitHash(at.revision)) return;
  const { refPath } = buildResourcePaths(at.repoId, CONFIG_FILE, at);
  await fs.mkdir(path.dirname(refPath), { recursive: true });
  const temp = `${refPath}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await fs.writeFile(temp, commit);
  await fs.rename(temp, refPath);
}

/** Records that `filename` does not exist in `commit` (huggingface_hub's `.no_exist/{commit}/{file}`). */
export async function markAbsent(at: SnapshotLocation, commit: string, filename: string): Promise<void> {
  const { noExistPath } = buildResourcePaths(at.repoId, filename, { ...at, commit });
  await fs.mkdir(path.dirname(noExistPath!), { recursive: true });
  await fs.writeFile(noExistPath!, '');
}

/** The shard file names listed in a `model.safetensors.index.json` (its `weight_map` values), in order, once each. */
export async function readShardList(indexPath: string): Promise<string[]> {
  let index: unknown;
  try {
    index = JSON.parse(await fs.readFile(indexPath, 'utf8'));
  } catch (error) {
    throw new Error(`${indexPath}: not a readable JSON index (${(error as Error).message}); delete it and run again`);
  }
  const weightMap = (index as { weight_map?: unknown })?.weight_map;
  if (!weightMap || typeof weightMap !== 'object') {
    throw new Error(`${indexPath}: no "weight_map" object mapping tensor names to shard files`);
  }
  const shards = [...new Set(Object.values(weightMap as Record<string, unknown>))];
  return shards.map((s) => {
    if (typeof s !== 'string') throw new Error(`${indexPath}: "weight_map" holds a non-string shard name ${JSON.stringify(s)}`);
    return checkRepoFilename(s, indexPath);
  });
}

export interface SnapshotState {
  dir: string;
  /** Every file the resolver would fetch is either present or marked absent: nothing to ask the Hub. */
  complete: boolean;
  /** Config, whole weights and one usable tokenizer set are present: enough to load offline. */
  usable: boolean;
  /** Files present, relative to `dir`. */
  files: string[];
  /** What is lacking for `usable`, for messages. */
  lacking: string[];
}

/** Inspects the snapshot of `commit`; no network. */
export async function inspectSnapshot(at: SnapshotLocation, commit: string): Promise<SnapshotState> {
  const paths = (file: string) => buildResourcePaths(at.repoId, file, { ...at, commit });
  const dir = paths(CONFIG_FILE).snapshotDir!;
  const present = async (file: string) => isFile(paths(file).localPath!);
  const absent = async (file: string) => isFile(paths(file).noExistPath!);
  const files: string[] = [];
  const lacking: string[] = [];

  const hasConfig = await present(CONFIG_FILE);
  if (hasConfig) files.push(CONFIG_FILE);
  else lacking.push(CONFIG_FILE);

  let hasWeights = false;
  if (await present(SAFETENSORS_FILE)) {
    hasWeights = true;
    files.push(SAFETENSORS_FILE);
  } else if (await present(SAFETENSORS_INDEX_FILE)) {
    files.push(SAFETENSORS_INDEX_FILE);
    const shards = await readShardList(paths(SAFETENSORS_INDEX_FILE).localPath!);
    const missingShards: string[] = [];
    for (const shard of shards) ((await present(shard)) ? files : missingShards).push(shard);
    hasWeights = missingShards.length === 0;
    lacking.push(...missingShards);
  } else {
    lacking.push(`${SAFETENSORS_FILE} (or ${SAFETENSORS_INDEX_FILE} and its shards)`);
  }

  let tokenizerKnown = true;
  const tokenizerFiles = new Set<string>();
  for (const file of TOKENIZER_FILES) {
    if (await present(file)) tokenizerFiles.add(file);
    else if (!(await absent(file))) tokenizerKnown = false;
  }
  files.push(...tokenizerFiles);
  const hasTokenizer = USABLE_TOKENIZER_SETS.some((set) => set.every((f) => tokenizerFiles.has(f)));
  if (!hasTokenizer) lacking.push('tokenizer.json (or vocab.txt, or vocab.json and merges.txt)');

  const usable = hasConfig && hasWeights && hasTokenizer;
  return { dir, complete: usable && tokenizerKnown, usable, files, lacking };
}
