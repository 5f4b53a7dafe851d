/**
 * The results store under `<workspace>/.ntk` (setting `ntkLens.resultsFolder`): written by the engine as seeds finish,
 * read by the extension for CodeLens, hover and the panel. Safe for many writers at once (processes, and machines
 * sharing the folder over NFS): every file is written atomically (temp file `*.tmp` in the same folder + rename) and
 * no file is read-modified-written by two writers, so a window closed mid-run loses at most the seed being computed.
 *
 * Layout:
 *   <root>/index/<key>-<id>.json            one IndexEntry per (key, specFile, templateName); <id> = 12 hex digits
 *                                           of sha256(specFile + NUL + templateName). The index is the union of
 *                                           these files (readIndex); a rerun of the same result replaces its file
 *   <root>/index.json                       derived summary { version: 2, entries, legacyEntries }, rewritten after
 *                                           every write (watch it for changes; old readers read its `entries`).
 *                                           A version-1 index.json (older ntk-lens) is read as legacy entries;
 *                                           entries from index/ win over them
 *   <root>/<key>/report.json                { meta, report: TemplateReport }
 *   <root>/<key>/seeds/<seed>.json          SeedResult, written when the seed finishes
 *   <root>/<key>/kernels/seed<seed>-<kind>-<split>.npy
 *   <root>/<key>/locks/<seed>.lock          held while a process computes the seed (withSeedLock; see lock.ts)
 *   <root>/<key>/locks/<seed>-<stage>.lock  held while a process computes one stage of it (withStageLock: kernel tiles)
 *   <root>/<key>/stages/<seed>-<stage>/     a finished stage of a seed (writeStage): <array>.npy files, then
 *                                           manifest.json (written last) listing them with shapes, sizes and sha256
 *
 * `key` = templateKey(...): sha256 of the canonical JSON of what determines a result, 16 hex digits.
 * Temp files (`*.tmp`, left by a writer killed mid-write) are never read; a damaged entry file is skipped with a
 * message naming it (`onProblem`), the rest of the index stays readable.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { withFileLock, type LockOptions } from './lock';
import { decodeNpy, encodeNpy, type NpyArray } from './npy';
import type { KernelKind, SeedResult, Stat, TemplateReport } from './types';

export { describeHolder, type LockHolder, type LockOptions } from './lock';

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

/** One index entry (a file under <root>/index/): enough for CodeLens and the hover table without opening report.json. */
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
  /** The verdict's status and reason (absent in entries written before report schema 2). */
  verdictStatus?: TemplateReport['verdict']['status'];
  verdictReason?: string;
}

export interface StoredReport {
  meta: ResultMeta;
  report: TemplateReport;
}

const KEY_PATTERN = /^[0-9a-f]{16}$/;
const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;
/** `<key>-<id>.json` under <root>/index/; anything else there (temp files `*.tmp`) is not an entry. */
const ENTRY_FILE = /^[0-9a-f]{16}-[0-9a-f]{12}\.json$/;
/** Temp files older than this (in index/, in a stage folder) were left by killed writers: the next write removes them. */
const STALE_TMP_MS = 3600_000;

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

/** The 12-hex-digit id of (specFile, templateName) in an entry file's name. */
function entryId(specFile: string, templateName: string): string {
  return crypto.createHash('sha256').update(`${specFile}\0${templateName}`).digest('hex').slice(0, 12);
}

function entryName(e: Pick<IndexEntry, 'key' | 'specFile' | 'templateName'>): string {
  return `${e.key}-${entryId(e.specFile, e.templateName)}.json`;
}

/** Why `e` is not an index entry, or undefined when it is one. */
function entryProblem(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return 'not a JSON object';
  const o = e as Record<string, unknown>;
  if (typeof o.key !== 'string' || !KEY_PATTERN.test(o.key)) return '"key" is not a 16-hex-digit result key';
  for (const f of ['specFile', 'templateName', 'createdAt'] as const) if (typeof o[f] !== 'string') return `"${f}" is not a string`;
  return undefined;
}

/** index.json: version 1 (older ntk-lens: the index itself) or version 2 (the derived summary this version writes). */
interface IndexSummary {
  version: number;
  entries: IndexEntry[];
  /** Version 2: the entries read from a version-1 index.json that have no entry file (kept until rewritten). */
  legacyEntries?: IndexEntry[];
}

export interface StoreOptions {
  /**
   * Told about a damaged file that was skipped (an index entry, the legacy index.json, a stage), with its path and
   * what to do. Default: `console.warn`, once per message per process.
   */
  onProblem?: (message: string) => void;
}

export interface StageManifest {
  version: 1;
  key: string;
  seed: number;
  stage: string;
  createdAt: string;
  /** Array name → its file (`<name>.npy` in the stage folder), shape, dtype, byte size and sha256 of the bytes. */
  arrays: Record<string, { file: string; shape: number[]; dtype: '<f8' | '<i4'; bytes: number; sha256: string }>;
  meta?: unknown;
}

const warned = new Set<string>();
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  if (warned.size < 1000) warned.add(message);
  console.warn(`ntk-lens: ${message}`);
}

export class ResultsStore {
  readonly root: string;
  private readonly onProblem: (message: string) => void;

  constructor(root: string, opts: StoreOptions = {}) {
    this.root = path.resolve(root);
    this.onProblem = opts.onProblem ?? warnOnce;
  }

  private keyDir(key: string): string {
    if (!KEY_PATTERN.test(key)) throw new Error(`results store: "${key}" is not a 16-hex-digit result key`);
    return path.join(this.root, key);
  }

  private static checkSeed(seed: number): void {
    if (!Number.isInteger(seed)) throw new Error(`results store: seed ${seed} is not an integer`);
  }

  seedPath(key: string, seed: number): string {
    ResultsStore.checkSeed(seed);
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
    if (!NAME_PATTERN.test(split)) throw new Error(`results store: split name "${split}" must be [A-Za-z0-9_-]+`);
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

  // ---- template reports and the index ----

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
      verdictStatus: report.verdict.status,
      verdictReason: report.verdict.reason,
    };
    writeFileAtomic(path.join(this.indexDir(), entryName(entry)), JSON.stringify(entry, null, 1));
    this.writeIndexSummary();
  }

  readTemplateReport(key: string): StoredReport | undefined {
    return readJson<StoredReport>(path.join(this.keyDir(key), 'report.json'));
  }

  /** The folder of the index entry files. */
  indexDir(): string {
    return path.join(this.root, 'index');
  }

  /**
   * The derived summary `<root>/index.json`, rewritten after every write of a template report: the file to watch
   * for new results (readIndex, not this file, is the index: with writers at once it may lag until the next write).
   */
  indexPath(): string {
    return path.join(this.root, 'index.json');
  }

  /** Every index entry, oldest first; damaged files are skipped and reported to `onProblem`. */
  readIndex(): IndexEntry[] {
    const { entries, problems } = this.readIndexChecked();
    for (const p of problems) this.onProblem(p);
    return entries;
  }

  /** readIndex, with the skipped files' messages returned instead of reported. */
  readIndexChecked(): { entries: IndexEntry[]; problems: string[] } {
    const problems: string[] = [];
    const byName = new Map<string, IndexEntry>();
    for (const e of this.readLegacyEntries(problems)) byName.set(entryName(e), e);
    for (const name of this.entryFileNames()) {
      const file = path.join(this.indexDir(), name);
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // replaced meanwhile
        problems.push(`${file}: unreadable index entry (${(err as Error).message}); skipped`);
        continue;
      }
      let e: unknown;
      let why: string | undefined;
      try {
        e = JSON.parse(text);
        why = entryProblem(e);
      } catch (err) {
        why = `not valid JSON (${(err as Error).message})`;
      }
      if (why) {
        problems.push(`${file}: damaged index entry (${why}); skipped. Delete it and rerun the template to list its result again`);
        continue;
      }
      byName.set(entryName(e as IndexEntry), e as IndexEntry);
    }
    const entries = [...byName.entries()]
      .sort(([na, a], [nb, b]) => a.createdAt.localeCompare(b.createdAt) || na.localeCompare(nb))
      .map(([, e]) => e);
    return { entries, problems };
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

  private entryFileNames(): string[] {
    try {
      return fs.readdirSync(this.indexDir()).filter(n => ENTRY_FILE.test(n));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** Entries of index.json that are not derived from entry files: all of a version 1, `legacyEntries` of a 2. */
  private readLegacyEntries(problems: string[]): IndexEntry[] {
    let summary: IndexSummary | undefined;
    try {
      summary = readJson<IndexSummary>(this.indexPath());
    } catch (err) {
      problems.push(`${(err as Error).message} (skipped: results listed only there are not shown)`);
      return [];
    }
    if (!summary) return [];
    const list = summary.version === 1 || summary.version === undefined ? summary.entries : summary.legacyEntries;
    if (!Array.isArray(list)) return [];
    return list.filter(e => {
      const why = entryProblem(e);
      if (why) problems.push(`${this.indexPath()}: an entry is damaged (${why}); skipped`);
      return !why;
    });
  }

  /** Signature of the entry files (names, sizes, mtimes): a change means another writer wrote meanwhile. */
  private indexSignature(): string {
    const dir = this.indexDir();
    return this.entryFileNames().sort().map(n => {
      try {
        const st = fs.statSync(path.join(dir, n));
        return `${n}:${st.size}:${st.mtimeMs}`;
      } catch {
        return `${n}:gone`;
      }
    }).join('\n');
  }

  /**
   * Rewrites index.json from the entry files. Each writer reads again after its rename and rewrites if an entry
   * file changed meanwhile, so the summary written last holds every entry. Best effort: the entry files are the
   * index, a failed summary write is reported, not thrown.
   */
  private writeIndexSummary(): void {
    const problems: string[] = [];
    try {
      removeStaleTemps(this.indexDir());
      let sig = this.indexSignature();
      for (let round = 0; round < 10; round++) {
        const legacy = this.readLegacyEntries([]);
        const entries = this.readIndexChecked().entries;
        const fromFiles = new Set(this.entryFileNames());
        const summary: IndexSummary = { version: 2, entries, legacyEntries: legacy.filter(e => !fromFiles.has(entryName(e))) };
        writeFileAtomic(this.indexPath(), JSON.stringify(summary, null, 1));
        const after = this.indexSignature();
        if (after === sig) return;
        sig = after;
      }
    } catch (err) {
      problems.push(`${this.indexPath()}: could not rewrite the index summary (${(err as Error).message}); the results are stored, the summary catches up with the next write`);
    }
    for (const p of problems) this.onProblem(p);
  }

  // ---- per-seed lock ----

  /** `<root>/<key>/locks/<seed>.lock`. */
  lockPath(key: string, seed: number): string {
    ResultsStore.checkSeed(seed);
    return path.join(this.keyDir(key), 'locks', `${seed}.lock`);
  }

  /**
   * Runs `fn` while holding the lock of (key, seed), so two runs of the same experiment never compute the same seed
   * at once (across processes and machines sharing the store). Waits while another live process holds it
   * (`onWait` is told who, once); takes over a lock whose holder died (see lock.ts); `signal` stops the wait with
   * an `AbortError`. The caller should look for the seed's result again once it holds the lock.
   */
  async withSeedLock<T>(key: string, seed: number, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
    return withFileLock(this.lockPath(key, seed), fn, opts);
  }

  /**
   * Runs `fn` holding the lock of one stage of a seed (`locks/<seed>-<stage>.lock`), e.g. a kernel tile that a tile
   * job and the seed's own run may both set out to compute: the second waits, then finds the stage written.
   */
  async withStageLock<T>(key: string, seed: number, stage: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
    ResultsStore.checkSeed(seed);
    if (!NAME_PATTERN.test(stage)) throw new Error(`results store: stage name "${stage}" must be [A-Za-z0-9_-]+`);
    return withFileLock(path.join(this.keyDir(key), 'locks', `${seed}-${stage}.lock`), fn, opts);
  }

  // ---- per-seed stage cache ----

  /** `<root>/<key>/stages/<seed>-<stage>/` (not created). */
  stageDir(key: string, seed: number, stage: string): string {
    ResultsStore.checkSeed(seed);
    if (!NAME_PATTERN.test(stage)) throw new Error(`results store: stage name "${stage}" must be [A-Za-z0-9_-]+`);
    return path.join(this.keyDir(key), 'stages', `${seed}-${stage}`);
  }

  /**
   * Stores the arrays of a finished stage of a seed (e.g. the kernels at θ0), so an interrupted seed does not
   * compute it again: each array as `<name>.npy` (Float64Array as float64, Int32Array as int32), then, last,
   * manifest.json listing them (shape, dtype, byte size, sha256) with `meta` (JSON). A stage written again replaces
   * the old one; its manifest is removed first, so a half-replaced stage never reads as complete.
   */
  /** Whether a stage was written completely (its manifest, written last, exists); does not verify the arrays. */
  hasStage(key: string, seed: number, stage: string): boolean {
    return fs.existsSync(path.join(this.stageDir(key, seed, stage), 'manifest.json'));
  }

  writeStage(key: string, seed: number, stage: string, arrays: Record<string, NpyArray>, meta?: unknown): void {
    const dir = this.stageDir(key, seed, stage);
    for (const name of Object.keys(arrays)) {
      if (!NAME_PATTERN.test(name)) throw new Error(`results store: array name "${name}" of stage ${stage} must be [A-Za-z0-9_-]+`);
    }
    const encoded = Object.entries(arrays).map(([name, arr]) => ({ name, arr, bytes: encodeNpy(arr) }));
    fs.mkdirSync(dir, { recursive: true });
    const manifestFile = path.join(dir, 'manifest.json');
    fs.rmSync(manifestFile, { force: true });
    for (const n of fs.readdirSync(dir)) {
      if (n.endsWith('.npy') && !Object.hasOwn(arrays, n.slice(0, -4))) fs.rmSync(path.join(dir, n), { force: true });
    }
    removeStaleTemps(dir);
    const manifest: StageManifest = { version: 1, key, seed, stage, createdAt: new Date().toISOString(), arrays: {}, meta };
    for (const { name, arr, bytes } of encoded) {
      const file = `${name}.npy`;
      writeFileAtomic(path.join(dir, file), bytes);
      manifest.arrays[name] = {
        file,
        shape: [...arr.shape],
        dtype: arr.data instanceof Float64Array ? '<f8' : '<i4',
        bytes: bytes.length,
        sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
      };
    }
    writeFileAtomic(manifestFile, JSON.stringify(manifest, null, 1));
  }

  /**
   * The arrays and meta of a stored stage, or undefined unless it is complete: the manifest exists and every file
   * it lists is present with its size and sha256. A damaged stage is reported to `onProblem` (and is recomputed).
   */
  readStage<M = unknown>(key: string, seed: number, stage: string): { arrays: Record<string, NpyArray>; meta: M } | undefined {
    const dir = this.stageDir(key, seed, stage);
    const manifestFile = path.join(dir, 'manifest.json');
    let manifest: StageManifest | undefined;
    try {
      manifest = readJson<StageManifest>(manifestFile);
    } catch (err) {
      this.onProblem(`${(err as Error).message}; the stage is computed again`);
      return undefined;
    }
    if (!manifest) return undefined;
    const bad = (why: string) => {
      this.onProblem(`${dir}: stage "${stage}" of seed ${seed} is incomplete (${why}); it is computed again`);
      return undefined;
    };
    if (typeof manifest !== 'object' || manifest === null || typeof manifest.arrays !== 'object' || manifest.arrays === null) return bad('manifest.json lists no arrays');
    const arrays: Record<string, NpyArray> = {};
    for (const [name, info] of Object.entries(manifest.arrays)) {
      if (!NAME_PATTERN.test(name) || info?.file !== `${name}.npy`) return bad(`manifest.json: bad array entry "${name}"`);
      let bytes: Buffer;
      try {
        bytes = fs.readFileSync(path.join(dir, info.file));
      } catch (err) {
        return bad(`${info.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      if (bytes.length !== info.bytes) return bad(`${info.file} holds ${bytes.length} bytes, ${info.bytes} expected`);
      if (crypto.createHash('sha256').update(bytes).digest('hex') !== info.sha256) return bad(`${info.file}: its content changed (sha256 differs)`);
      try {
        arrays[name] = decodeNpy(bytes, path.join(dir, info.file));
      } catch (err) {
        return bad((err as Error).message);
      }
    }
    return { arrays, meta: manifest.meta as M };
  }

  /** Removes the stored stages of a seed (e.g. once its result is written). */
  removeStages(key: string, seed: number): void {
    ResultsStore.checkSeed(seed);
    const dir = path.join(this.keyDir(key), 'stages');
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) if (n.startsWith(`${seed}-`) && NAME_PATTERN.test(n.slice(`${seed}-`.length))) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
  }
}

/** Removes temp files that writers killed mid-write left in `dir` (older than an hour: not being written). */
function removeStaleTemps(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter(n => n.endsWith('.tmp'));
  } catch {
    return;
  }
  const now = Date.now();
  for (const n of names) {
    try {
      if (now - fs.statSync(path.join(dir, n)).mtimeMs > STALE_TMP_MS) fs.rmSync(path.join(dir, n), { force: true });
    } catch {
      // gone meanwhile
    }
  }
}

function newest(entries: IndexEntry[]): IndexEntry | undefined {
  return entries.reduce<IndexEntry | undefined>((best, e) => (!best || e.createdAt >= best.createdAt ? e : best), undefined);
}
