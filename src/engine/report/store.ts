/**
 * The results store under `<workspace>/.ntk` (setting `ntkLens.resultsFolder`): written by the engine as seeds finish,
 * read by the extension for CodeLens, hover and the panel. Every write is atomic (temp file + rename), so a window
 * closed mid-run loses at most the seed being computed.
 *
 * Layout:
 *   <root>/index.json                      one entry per template result (see IndexEntry), newest last
 *   <root>/<key>/report.json               { meta, report: TemplateReport }
 *   <root>/<key>/seeds/<seed>.json         SeedResult, written when the seed finishes
 *   <root>/<key>/kernels/seed<seed>-<kind>-<split>.npy
 *
 * `key` = templateKey(...): sha256 of the canonical JSON of what determines a result, 16 hex digits.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { KernelKind, SeedResult, Stat, TemplateReport } from './types';

export interface TemplateKeyInput {
  template: string | null;
  words: Record<string, string> | null;
  model: string;
  task: string;
  /** Every setting that changes the numbers (shots, seeds' split, finetune and kernel options, max_length, ...). */
  settings: unknown;
}

/** JSON with object keys sorted at every level, so equal inputs hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter(k => obj[k] !== undefined).sort();
  return `{${keys.map(k => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

export function templateKey(input: TemplateKeyInput): string {
  const { template, words, model, task, settings } = input;
  return crypto.createHash('sha256').update(canonicalJson({ template, words, model, task, settings })).digest('hex').slice(0, 16);
}

export interface ResultMeta {
  specFile: string;
  templateName: string;
  model: string;
  task: string;
  createdAt: string;
  /** The task's class names in label order (for the panel's tables); optional. */
  classes?: string[];
}

/** One line of index.json: enough for CodeLens and the hover table without opening report.json. */
export interface IndexEntry extends ResultMeta {
  key: string;
  /** Template text and label words of the result: the editor marks a result stale when these differ from the file. */
  template: string | null;
  words: Record<string, string> | null;
  metric: 'acc' | 'f1';
  finetune?: Stat;
  kernels: Partial<Record<KernelKind, Stat>>;
  agreement: Partial<Record<KernelKind, Stat>>;
  verdict: string;
}

export interface StoredReport {
  meta: ResultMeta;
  report: TemplateReport;
}

const KEY_PATTERN = /^[0-9a-f]{16}$/;

/** Writes `data` to `file` atomically: a temp file in the same folder, then rename over the target. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

function readJson<T>(file: string): T | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message}); delete it and rerun the template`);
  }
}

export class ResultsStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  private keyDir(key: string): string {
    if (!KEY_PATTERN.test(key)) throw new Error(`results store: "${key}" is not a 16-hex-digit result key`);
    return path.join(this.root, key);
  }

  seedPath(key: string, seed: number): string {
    if (!Number.isInteger(seed)) throw new Error(`results store: seed ${seed} is not an integer`);
    return path.join(this.keyDir(key), 'seeds', `${seed}.json`);
  }

  writeSeed(key: string, seed: number, result: SeedResult): void {
    writeFileAtomic(this.seedPath(key, seed), JSON.stringify(result));
  }

  readSeed(key: string, seed: number): SeedResult | undefined {
    return readJson<SeedResult>(this.seedPath(key, seed));
  }

  /** Path of a kernel .npy file (its folder is created, the file is not). `split` e.g. 'train-test'. */
  kernelPath(key: string, seed: number, kind: KernelKind, split: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(split)) throw new Error(`results store: split name "${split}" must be [A-Za-z0-9_-]+`);
    const dir = path.join(this.keyDir(key), 'kernels');
    fs.mkdirSync(dir, { recursive: true });
    return path.join(dir, `seed${seed}-${kind}-${split}.npy`);
  }

  /** All .npy files stored for a result (for "Export kernels"). */
  kernelFiles(key: string): string[] {
    const dir = path.join(this.keyDir(key), 'kernels');
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).filter(f => f.endsWith('.npy')).sort().map(f => path.join(dir, f));
  }

  writeTemplateReport(key: string, report: TemplateReport, meta: ResultMeta): void {
    const stored: StoredReport = { meta: { ...meta, specFile: path.resolve(meta.specFile) }, report };
    writeFileAtomic(path.join(this.keyDir(key), 'report.json'), JSON.stringify(stored));
    const entry: IndexEntry = {
      ...stored.meta,
      key,
      template: report.template,
      words: report.words,
      metric: report.summary.metric,
      finetune: report.summary.finetune,
      kernels: report.summary.kernels,
      agreement: report.summary.agreement,
      verdict: report.verdict.text,
    };
    const others = this.readIndex().filter(
      e => !(e.key === key && e.specFile === entry.specFile && e.templateName === entry.templateName),
    );
    writeFileAtomic(this.indexPath(), JSON.stringify({ version: 1, entries: [...others, entry] }, null, 1));
  }

  readTemplateReport(key: string): StoredReport | undefined {
    return readJson<StoredReport>(path.join(this.keyDir(key), 'report.json'));
  }

  indexPath(): string {
    return path.join(this.root, 'index.json');
  }

  readIndex(): IndexEntry[] {
    const index = readJson<{ version: number; entries: IndexEntry[] }>(this.indexPath());
    return index?.entries ?? [];
  }

  /** The newest result of (specFile, templateName), whatever its key (the caller compares keys to mark it stale). */
  latest(specFile: string, templateName: string): IndexEntry | undefined {
    const file = path.resolve(specFile);
    return newest(this.readIndex().filter(e => e.specFile === file && e.templateName === templateName));
  }

  /** The newest result for a key (same template text, words, model, task and settings). */
  latestForKey(key: string): IndexEntry | undefined {
    return newest(this.readIndex().filter(e => e.key === key));
  }

  /** All results of a task (and model, if given), newest first: the hover table. */
  list(filter: { task?: string; model?: string } = {}): IndexEntry[] {
    return this.readIndex()
      .filter(e => (filter.task === undefined || e.task === filter.task) && (filter.model === undefined || e.model === filter.model))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }
}

function newest(entries: IndexEntry[]): IndexEntry | undefined {
  return entries.reduce<IndexEntry | undefined>((best, e) => (!best || e.createdAt >= best.createdAt ? e : best), undefined);
}
