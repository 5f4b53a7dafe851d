/**
 * Model resolution: a folder on disk, or a Hugging Face Hub id resolved through the standard HF cache
 * (`models--{org}--{name}/refs|snapshots|.no_exist`) and downloaded when the cached snapshot is not complete.
 *
 * Lookup order, each step only when settings allow:
 *   1. `idOrPath` is an existing folder → that folder, untouched.
 *   2. The id is validated (no request for an invalid id).
 *   3. `refs/{revision}` → commit → `snapshots/{commit}/` complete → that folder, with no request at all
 *      (a named revision is not re-checked against the Hub: pass a commit hash, or delete the ref, to update).
 *      Offline, a snapshot that lacks only optional files is accepted too.
 *   4. Download: one HEAD on config.json pins the revision to a commit (written to refs/{revision}), then
 *      config.json, the weights (model.safetensors, or model.safetensors.index.json and its shards), and the
 *      tokenizer files the repo has. A repo with only pickled PyTorch weights is refused.
 *
 * Cache layout: files are written straight into `snapshots/{commit}/` as plain files (no `blobs/` + symlinks,
 * which need extra rights on Windows); huggingface_hub reads such snapshots, and ntk-lens reads huggingface_hub's
 * symlinked ones. Files absent from a commit get huggingface_hub's empty `.no_exist/{commit}/{file}` marker.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CONFIG_FILE,
  DEFAULT_REVISION,
  PICKLE_WEIGHT_FILES,
  SAFETENSORS_FILE,
  SAFETENSORS_INDEX_FILE,
  TOKENIZER_FILES,
} from './hub/constants';
import { DownloadResult, downloadFile, sleep } from './hub/download';
import { HubAuth, HubError, abortError, httpErrorMessage, hubFetch } from './hub/http';
import { HubSettingOptions, buildResourcePaths, checkRepoId, checkRevision, hubSettings } from './hub/paths';
import { SharedTasks } from './hub/shared-tasks';
import { SnapshotLocation, inspectSnapshot, markAbsent, readRef, readShardList, writeRef } from './hub/snapshot';

export { HubError } from './hub/http';
export { buildResourcePaths, checkRepoId, checkRevision, hubSettings } from './hub/paths';
export type { HubSettings, ResourcePathOptions, ResourcePaths } from './hub/paths';

/**
 * Same function as `buildResourcePaths` (the name the style anchors use): pure mapping of a repo file to its
 * request path, remote URL, cache paths and cache key.
 */
export const resolveModelFile = buildResourcePaths;

/** One download event, tagged with the model id and the file (the protocol's four progress phases). */
export interface HubProgressEvent {
  phase: 'initiate' | 'download' | 'progress' | 'done';
  model: string;
  file: string;
  /** Bytes on disk (0 before the download; on `done` for a file the repo lacks, 0). */
  loaded: number;
  /** Size of the file when known (null until the server says; 0 on `done` for a file the repo lacks). */
  total: number | null;
}

export interface ResolveModelOptions extends HubSettingOptions {
  /** Branch, tag or commit hash. Default 'main'. */
  revision?: string;
  onProgress?: (event: HubProgressEvent) => void;
  /** Cancels the resolution; partial downloads are kept and resumed by the next call. */
  signal?: AbortSignal;
  /** Retries of a broken or refused connection, each resuming from the partial file. Default 3. */
  retries?: number;
  /** Wait before retry n is retryDelayMs · 2ⁿ. Default 500. */
  retryDelayMs?: number;
  /** Environment to read HF_* variables from. Default process.env. */
  env?: Record<string, string | undefined>;
}

export interface ResolvedModel {
  /** The folder holding config.json, the weights and the tokenizer files. */
  dir: string;
  source: 'local' | 'cache' | 'hub';
  repoId: string | null;
  revision: string | null;
  commit: string | null;
  /** The model files present in `dir` (for a local folder: not inspected, empty). */
  files: string[];
}

const DEFAULT_RETRIES = 3;
const DEFAULT_RETRY_DELAY_MS = 500;

/** Downloads in flight in this process, keyed by cache folder, endpoint, repo, commit and file. */
const sharedDownloads = new SharedTasks<DownloadResult, HubProgressEvent>();

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}

/** Absolute paths, `./x`, `../x`, `~/x` and backslashes can only mean a folder on disk, never a Hub id. */
function looksLikePath(idOrPath: string): boolean {
  return path.isAbsolute(idOrPath) || /^\.{1,2}([/\\]|$)/.test(idOrPath) || idOrPath.startsWith('~') || idOrPath.includes('\\');
}

async function readTokenFile(tokenPath: string): Promise<string | null> {
  try {
    return (await fs.readFile(tokenPath, 'utf8')).trim() || null;
  } catch {
    return null;
  }
}

function pickleRefusal(repoId: string, file: string, url: string): Error {
  return new Error(
    `${repoId} has its weights only as pickled PyTorch (${file}, ${url}): ntk-lens does not read them, because ` +
      `unpickling can run arbitrary code. Convert them to safetensors (in Python: ` +
      `AutoModelForMaskedLM.from_pretrained(id).save_pretrained(dir, safe_serialization=True), or the Hub's ` +
      `"convert to safetensors" Space) and give that folder, or choose a revision that has ${SAFETENSORS_FILE}.`,
  );
}

/** Everything one Hub resolution needs, fixed once the commit is known. */
interface HubSession {
  at: SnapshotLocation;
  commit: string;
  auth: HubAuth;
  signal: AbortSignal;
  retries: number;
  retryDelayMs: number;
  onProgress?: (event: HubProgressEvent) => void;
}

/** HEAD `{revision}/config.json`: the commit the revision points to (X-Repo-Commit). Retries network failures. */
async function fetchCommit(at: SnapshotLocation, auth: HubAuth, options: { signal: AbortSignal; retries: number; retryDelayMs: number }): Promise<string> {
  const { remoteUrl } = buildResourcePaths(at.repoId, CONFIG_FILE, { ...at, endpoint: auth.endpoint });
  for (let failures = 0; ; failures++) {
    try {
      const { res, meta } = await hubFetch(remoteUrl, { method: 'HEAD', signal: options.signal }, auth);
      await res.body?.cancel();
      if (!res.ok) throw new HubError(httpErrorMessage('HEAD', remoteUrl, res), remoteUrl, res.status);
      const commit = meta.commit ?? (/^[0-9a-f]{40}$/.test(at.revision) ? at.revision : null);
      if (!commit || !/^[0-9a-f]{40}$/.test(commit)) {
        throw new HubError(
          `HEAD ${remoteUrl} gave no X-Repo-Commit header with a commit hash: ${auth.endpoint} does not answer like the ` +
            `Hugging Face Hub; check HF_ENDPOINT, or download the model files and give their folder`,
          remoteUrl,
          res.status,
        );
      }
      return commit;
    } catch (error) {
      if (options.signal.aborted) throw abortError(options.signal);
      if (!(error instanceof HubError && error.status === null) || failures >= options.retries) throw error;
      await sleep(options.retryDelayMs * 2 ** failures, options.signal);
    }
  }
}

/**
 * Makes sure `filename` of the session's commit is in the cache. Returns true when it is there, false when the
 * repo lacks it (a 404, remembered in `.no_exist`); a required file that is lacking is an error.
 * Concurrent calls for the same file share one download.
 */
async function fetchFile(session: HubSession, filename: string, required: boolean): Promise<boolean> {
  const { at, commit, auth } = session;
  const paths = buildResourcePaths(at.repoId, filename, { ...at, revision: commit, endpoint: auth.endpoint, commit });
  const notFound = () =>
    new HubError(`GET ${paths.remoteUrl} failed with HTTP 404: ${at.repoId} at ${at.revision} (commit ${commit}) has no ${filename}; check the model id and revision`, paths.remoteUrl, 404);
  if (await isFile(paths.localPath!)) return true;
  if (await isFile(paths.noExistPath!)) {
    if (required) throw notFound();
    return false;
  }
  const key = `${at.cacheDir}\n${auth.endpoint}\n${paths.cacheKey}`;
  const result = await sharedDownloads.run(
    key,
    async (signal, emit) => {
      const event = (phase: HubProgressEvent['phase'], loaded: number, total: number | null) =>
        emit({ phase, model: at.repoId, file: filename, loaded, total });
      event('initiate', 0, null);
      const outcome = await downloadFile(
        { url: paths.remoteUrl, localPath: paths.localPath!, incompletePath: paths.incompletePath! },
        {
          auth,
          signal,
          retries: session.retries,
          retryDelayMs: session.retryDelayMs,
          onStart: (total, resumedFrom) => event('download', resumedFrom, total),
          onProgress: (loaded, total) => event('progress', loaded, total),
        },
      );
      if (outcome.status === 'missing') {
        await markAbsent(at, commit, filename);
        event('done', 0, 0);
      } else {
        event('done', outcome.size, outcome.size);
      }
      return outcome;
    },
    session.signal,
    session.onProgress,
  );
  if (result.status === 'missing' && required) throw notFound();
  return result.status === 'done';
}

/** Refuses a repo whose weights are only pickled, or says that it has no weights ntk-lens can read. */
async function refuseMissingWeights(session: HubSession): Promise<never> {
  const { at, commit, auth } = session;
  for (const file of PICKLE_WEIGHT_FILES) {
    const { remoteUrl } = buildResourcePaths(at.repoId, file, { ...at, revision: commit, endpoint: auth.endpoint });
    const { res } = await hubFetch(remoteUrl, { method: 'HEAD', signal: session.signal }, auth);
    await res.body?.cancel();
    if (res.ok) throw pickleRefusal(at.repoId, file, remoteUrl);
  }
  throw new Error(
    `${at.repoId} at ${at.revision} has neither ${SAFETENSORS_FILE} nor ${SAFETENSORS_INDEX_FILE}: it is not a ` +
      `checkpoint ntk-lens can load; check the model id, or give a folder with safetensors weights`,
  );
}

/**
 * Resolves a model folder or Hub id to a folder with config.json, safetensors weights and tokenizer files,
 * downloading into the HF cache when needed. See the file header for the lookup order.
 *
 * Options (defaults): revision 'main'; cacheDir `$HF_HUB_CACHE` | `$HF_HOME/hub` | `~/.cache/huggingface/hub`;
 * endpoint `$HF_ENDPOINT` | https://huggingface.co; offline `$HF_HUB_OFFLINE`; token `$HF_TOKEN` | the
 * `huggingface-cli login` token file (null: none), sent only to the endpoint's origin; retries 3.
 * Rejects with the signal's reason on abort, with a HubError (URL, status, what to do) on HTTP or network failure.
 */
export async function resolveModel(idOrPath: string, options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  const signal = options.signal ?? new AbortController().signal;
  if (signal.aborted) throw abortError(signal);
  const env = options.env ?? process.env;
  const homeDir = os.homedir();

  const folder = idOrPath === '~' || idOrPath.startsWith('~/') ? path.join(homeDir, idOrPath.slice(1)) : idOrPath;
  if (await isDirectory(folder)) {
    return { dir: path.resolve(folder), source: 'local', repoId: null, revision: null, commit: null, files: [] };
  }
  if (looksLikePath(idOrPath)) {
    throw new Error(`model folder ${path.resolve(folder)} does not exist: give an existing folder, or a Hub id such as "roberta-base"`);
  }

  const repoId = checkRepoId(idOrPath);
  const revision = checkRevision(options.revision ?? DEFAULT_REVISION);
  const settings = hubSettings(options, env, homeDir);
  const at: SnapshotLocation = { repoId, revision, cacheDir: settings.cacheDir };

  const cachedCommit = await readRef(at);
  if (cachedCommit) {
    const state = await inspectSnapshot(at, cachedCommit);
    if (state.complete || (settings.offline && state.usable)) {
      return { dir: state.dir, source: 'cache', repoId, revision, commit: cachedCommit, files: state.files };
    }
    if (settings.offline) {
      throw new Error(
        `offline (HF_HUB_OFFLINE or the offline setting): the cached snapshot ${state.dir} of ${repoId}@${revision} ` +
          `lacks ${state.lacking.join(', ')}; turn offline mode off to finish the download, or give a model folder path`,
      );
    }
  } else if (settings.offline) {
    const { repoDir } = buildResourcePaths(repoId, CONFIG_FILE, at);
    throw new Error(
      `offline (HF_HUB_OFFLINE or the offline setting): ${repoId}@${revision} is not in the cache (${repoDir}); ` +
        `turn offline mode off to download it, or give a model folder path`,
    );
  }

  const token = options.token === undefined && !settings.token ? await readTokenFile(settings.tokenPath) : settings.token;
  const auth: HubAuth = { endpoint: settings.endpoint, token };
  const retries = options.retries ?? DEFAULT_RETRIES;
  const retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  const commit = await fetchCommit(at, auth, { signal, retries, retryDelayMs });
  await writeRef(at, commit);
  const session: HubSession = { at, commit, auth, signal, retries, retryDelayMs, onProgress: options.onProgress };

  await fetchFile(session, CONFIG_FILE, true);
  if (!(await fetchFile(session, SAFETENSORS_FILE, false))) {
    if (!(await fetchFile(session, SAFETENSORS_INDEX_FILE, false))) await refuseMissingWeights(session);
    const indexPath = buildResourcePaths(repoId, SAFETENSORS_INDEX_FILE, { ...at, commit }).localPath!;
    for (const shard of await readShardList(indexPath)) await fetchFile(session, shard, true);
  }
  for (const file of TOKENIZER_FILES) await fetchFile(session, file, false);

  const state = await inspectSnapshot(at, commit);
  if (!state.usable) {
    throw new Error(`${repoId}@${revision} (commit ${commit}) lacks ${state.lacking.join(', ')}: ntk-lens cannot build a model and tokenizer from it`);
  }
  return { dir: state.dir, source: 'hub', repoId, revision, commit, files: state.files };
}
