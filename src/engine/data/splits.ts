/**
 * Train/dev/test splits of a task from an LM-BFF data folder (docs §8; /shared/data/lm-bff/README.md):
 *
 *   <task>/k-shot/<k>-<seed>/{train,dev,test}.{tsv,csv}   official splits (MNLI: dev_matched.tsv, test_matched.tsv)
 *   <task>/pool/train.json                                   where other k and seeds are sampled from
 *   <task>/test-1k/test.*                                    the kernel paper's 1,000-row test cap
 *   <task>/original/...                                      full files; MNLI/QQP only `*_SURROGATE_*` test files
 *
 * Every result says which file each split came from and, in `notes`, every fallback that was taken.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError, Example } from './example';
import { describeLayout, FileRead, inFolder, loadSplitFile, SkippedRow } from './readers';
import { sampleKShot } from './sample';
import { getTask, TaskInfo } from './tasks';

/**
 * Which test set: `1k` = the kernel paper's `k-shot-1k-test` (test-1k/ where it exists, else the full test file),
 * `full` = LM-BFF's full test file (the k-shot folder's test file, else the original one).
 */
export type TestSet = '1k' | 'full';

export interface SplitOptions {
  /** Default `1k` (the kernel paper). */
  testSet?: TestSet;
  /** See ReadOptions.skipMalformed. */
  skipMalformed?: boolean;
  /** The task folder (holding test-1k/, original/); default: the folder above `k-shot/`. */
  taskDir?: string;
}

export interface TaskSplits {
  task: string;
  train: Example[];
  dev: Example[];
  test: Example[];
  /** The files each split was read from (train and dev are the pool file when sampled). */
  files: { train: string; dev: string; test: string };
  /** `k-shot`: an official split folder; `sampled`: drawn from a pool with sampleKShot; `fixed`: files given directly. */
  origin: 'k-shot' | 'sampled' | 'fixed';
  /** Fallbacks taken and caveats (e.g. a surrogate test set), in plain words. */
  notes: string[];
  /** Rows skipped with `skipMalformed` (empty otherwise: malformed rows are errors). */
  skipped: SkippedRow[];
  warnings: string[];
}

function taskOf(task: TaskInfo | string): TaskInfo {
  return typeof task === 'string' ? getTask(task) : task;
}

function isDir(p: string): boolean {
  return fs.existsSync(p) && fs.statSync(p).isDirectory();
}

function isFile(p: string): boolean {
  return fs.existsSync(p) && fs.statSync(p).isFile();
}

/** `<dataDir>/k-shot/<shots>-<seed>/` (or `<dataDir>/<shots>-<seed>/` when dataDir is the k-shot folder), if it exists. */
export function resolveSplitFolder(dataDir: string, shots: number, seed: number): string | undefined {
  for (const dir of [path.join(dataDir, 'k-shot', `${shots}-${seed}`), path.join(dataDir, `${shots}-${seed}`)]) {
    if (isDir(dir)) return dir;
  }
  return undefined;
}

function defaultTaskDir(folder: string): string {
  const parent = path.dirname(folder);
  return path.basename(parent) === 'k-shot' ? path.dirname(parent) : parent;
}

/** The surrogate test file in `<taskDir>/original/` (MNLI, QQP), if any. */
function surrogateTest(task: TaskInfo, taskDir: string): string | undefined {
  const dir = path.join(taskDir, 'original');
  if (!isDir(dir)) return undefined;
  const ext = path.extname(task.splitFiles.test);
  const name = fs.readdirSync(dir).filter((f) => f.includes('SURROGATE') && f.endsWith(ext)).sort()[0];
  return name === undefined ? undefined : path.join(dir, name);
}

/**
 * The test file to use, in order of preference (first that exists):
 * `1k`: test-1k/<test>, the split folder's test, original/<full test>, original/*_SURROGATE_*;
 * `full`: the split folder's test, original/<full test>, original/*_SURROGATE_*, test-1k/<test>.
 * `splitFolders` are k-shot folders whose test file may be used (all seeds share the same test file).
 */
export function resolveTestFile(task: TaskInfo, taskDir: string, splitFolders: string[], testSet: TestSet = '1k'): { file: string; notes: string[] } {
  const capped = path.join(taskDir, 'test-1k', task.splitFiles.test);
  const inSplits = splitFolders.map((f) => path.join(f, task.splitFiles.test));
  const original = path.join(taskDir, 'original', task.originalTest);
  const surrogate = surrogateTest(task, taskDir);
  const candidates = testSet === '1k' ? [capped, ...inSplits, original] : [...inSplits, original, capped];
  if (surrogate) candidates.splice(testSet === '1k' ? candidates.length : candidates.length - 1, 0, surrogate);
  const file = candidates.find(isFile);
  if (!file) {
    throw new DataError(`No test file for task '${task.name}': looked for ${candidates.join(', ')}. Expected ${describeLayout(task)}.`, candidates[0]);
  }
  const notes: string[] = [];
  const preferred = candidates[0];
  if (file !== preferred) notes.push(`test: ${path.relative(taskDir, preferred)} is absent; used ${path.relative(taskDir, file)}`);
  if (file === surrogate) {
    notes.push(`test: ${path.basename(file)} is a SURROGATE test set (held-out training rows); its numbers are not comparable with the paper's`);
  }
  return { file, notes };
}

function merge(reads: FileRead[]): { skipped: SkippedRow[]; warnings: string[] } {
  return { skipped: reads.flatMap((r) => r.skipped), warnings: reads.flatMap((r) => r.warnings) };
}

/** Loads train/dev/test from a `k-shot/<k>-<seed>/` folder; a missing test file falls back per resolveTestFile. */
export function loadKShotSplit(taskOrName: TaskInfo | string, folder: string, opts: SplitOptions = {}): TaskSplits {
  const task = taskOf(taskOrName);
  const taskDir = opts.taskDir ?? defaultTaskDir(folder);
  const read = { skipMalformed: opts.skipMalformed };
  const train = loadSplitFile(task, path.join(folder, task.splitFiles.train), read);
  const dev = loadSplitFile(task, path.join(folder, task.splitFiles.dev), read);
  const { file: testFile, notes } = resolveTestFile(task, taskDir, [folder], opts.testSet ?? '1k');
  const test = loadSplitFile(task, testFile, read);
  return {
    task: task.name, train: train.examples, dev: dev.examples, test: test.examples,
    files: { train: train.file, dev: dev.file, test: test.file }, origin: 'k-shot', notes, ...merge([train, dev, test]),
  };
}

export interface TaskSplitRequest extends SplitOptions {
  shots: number;
  seed: number;
}

/**
 * The splits of one (task, shots, seed) from a data folder, in order of preference:
 * 1. `k-shot/<shots>-<seed>/` (official LM-BFF splits);
 * 2. train/dev/test files directly in the folder (used as given when train has at most `shots` rows per label,
 *    else k-shot train and dev are sampled from the train file);
 * 3. sampled from the task's pool (`pool/train.json`, ...) with sampleKShot(pool, shots, seed), test per resolveTestFile.
 */
export function loadTaskSplits(taskOrName: TaskInfo | string, dataDir: string, req: TaskSplitRequest): TaskSplits {
  const task = taskOf(taskOrName);
  if (!isDir(dataDir)) {
    throw new DataError(`Data folder not found: ${dataDir}. Expected a task folder with k-shot/<k>-<seed>/ (LM-BFF layout), train/dev/test files, or pool/train.json.`, dataDir);
  }
  const read = { skipMalformed: req.skipMalformed };
  const folder = resolveSplitFolder(dataDir, req.shots, req.seed);
  if (folder) return loadKShotSplit(task, folder, { ...req, taskDir: req.taskDir ?? defaultTaskDir(folder) });

  const directTrain = inFolder(dataDir, task.splitFiles.train);
  if (isFile(directTrain)) {
    const train = loadSplitFile(task, directTrain, read);
    const perLabel = new Map<string, number>();
    for (const ex of train.examples) perLabel.set(ex.label, (perLabel.get(ex.label) ?? 0) + 1);
    const test = loadSplitFile(task, inFolder(dataDir, task.splitFiles.test), read);
    if (Math.max(...perLabel.values()) <= req.shots) {
      const dev = loadSplitFile(task, inFolder(dataDir, task.splitFiles.dev), read);
      return {
        task: task.name, train: train.examples, dev: dev.examples, test: test.examples,
        files: { train: train.file, dev: dev.file, test: test.file }, origin: 'fixed',
        notes: [`the data folder holds one fixed split; seed ${req.seed} does not change the data`], ...merge([train, dev, test]),
      };
    }
    const s = sampleKShot(train.examples, req.shots, req.seed, { labels: task.labels });
    return {
      task: task.name, train: s.train, dev: s.dev, test: test.examples,
      files: { train: train.file, dev: train.file, test: test.file }, origin: 'sampled',
      notes: [`sampled ${req.shots} per label for train and for dev from ${task.splitFiles.train} (mulberry32 seed ${req.seed}); ${task.splitFiles.dev} is not used`],
      ...merge([train, test]),
    };
  }

  const poolSource = task.pool.find((p) => isFile(inFolder(dataDir, p.file)));
  if (!poolSource) {
    throw new DataError(
      `No data for task '${task.name}' with ${req.shots} shots and seed ${req.seed} in ${dataDir}: looked for ` +
      `${path.join('k-shot', `${req.shots}-${req.seed}`)}/ (${Object.values(task.splitFiles).join(', ')}), ${task.splitFiles.train} in the folder, ` +
      `and a pool (${task.pool.map((p) => p.file).join(', ')}). Point 'data' at a task folder in the LM-BFF layout.`, dataDir);
  }
  const pool = loadSplitFile(task, inFolder(dataDir, poolSource.file), { ...read, layout: poolSource.layout });
  const s = sampleKShot(pool.examples, req.shots, req.seed, { labels: task.labels });
  const kshotDir = path.join(dataDir, 'k-shot');
  const otherFolders = isDir(kshotDir) ? fs.readdirSync(kshotDir).sort().map((f) => path.join(kshotDir, f)).filter(isDir) : [];
  const { file: testFile, notes } = resolveTestFile(task, dataDir, otherFolders, req.testSet ?? '1k');
  const test = loadSplitFile(task, testFile, read);
  return {
    task: task.name, train: s.train, dev: s.dev, test: test.examples,
    files: { train: pool.file, dev: pool.file, test: test.file }, origin: 'sampled',
    notes: [
      `no k-shot/${req.shots}-${req.seed}/ folder: sampled ${req.shots} per label for train and another ${req.shots} for dev from ${poolSource.file} ` +
      `(mulberry32 seed ${req.seed}; not LM-BFF's numpy split)`,
      ...notes,
    ],
    ...merge([pool, test]),
  };
}
