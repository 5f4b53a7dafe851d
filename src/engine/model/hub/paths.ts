/**
 * Pure resolution of Hub names to URLs and to the standard Hugging Face cache layout (no I/O).
 *
 *   {cacheDir}/models--{org}--{name}/refs/{revision}          the commit hash the revision pointed to
 *   {cacheDir}/models--{org}--{name}/snapshots/{commit}/{file} the file itself (ntk-lens writes plain files here,
 *                                                              not blobs/ + symlinks: see hub.ts)
 *   {cacheDir}/models--{org}--{name}/.no_exist/{commit}/{file} empty marker: the file is absent from that commit
 *
 * `cacheDir` is `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`, so a cache filled by
 * huggingface_hub (Python) is read as is.
 */
import * as path from 'node:path';
import {
  COMMIT_HASH_PATTERN,
  DEFAULT_ENDPOINT,
  DEFAULT_REVISION,
  INCOMPLETE_SUFFIX,
  REPO_ID_PATTERN,
} from './constants';

/** Where the cache is, which server to ask, whether asking is allowed, and which token to send. */
export interface HubSettings {
  cacheDir: string;
  /** Origin (and optional path prefix) of the Hub, without a trailing slash. */
  endpoint: string;
  offline: boolean;
  /** Sent as `Authorization: Bearer` only to the endpoint's own origin; null = none. */
  token: string | null;
  /** File holding a token saved by `huggingface-cli login`, read when no token is given. */
  tokenPath: string;
}

export interface HubSettingOptions {
  cacheDir?: string;
  endpoint?: string;
  offline?: boolean;
  /** undefined: `$HF_TOKEN`, else the token file; null: send no token. */
  token?: string | null;
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);

function expandHome(p: string, homeDir: string): string {
  return p === '~' || p.startsWith('~/') || p.startsWith('~\\') ? path.join(homeDir, p.slice(1)) : p;
}

/**
 * Explicit options first, then the environment variables huggingface_hub reads (HF_HUB_CACHE, HF_HOME,
 * HF_ENDPOINT, HF_HUB_OFFLINE, HF_TOKEN, HF_TOKEN_PATH), then the defaults. `token` stays undefined-free:
 * a token only in the token file is looked up later (that is I/O), see `tokenPath`.
 */
export function hubSettings(
  options: HubSettingOptions,
  env: Record<string, string | undefined>,
  homeDir: string,
): HubSettings {
  const hfHome = expandHome(env.HF_HOME || path.join(homeDir, '.cache', 'huggingface'), homeDir);
  const cacheDir = path.resolve(expandHome(options.cacheDir ?? (env.HF_HUB_CACHE || path.join(hfHome, 'hub')), homeDir));
  const endpoint = (options.endpoint ?? (env.HF_ENDPOINT || DEFAULT_ENDPOINT)).replace(/\/+$/, '');
  try {
    new URL(endpoint);
  } catch {
    throw new Error(`Hub endpoint "${endpoint}" is not a URL (from ${options.endpoint ? 'the endpoint option' : 'HF_ENDPOINT'}): give e.g. ${DEFAULT_ENDPOINT}`);
  }
  const offline = options.offline ?? TRUE_WORDS.has((env.HF_HUB_OFFLINE ?? '').toLowerCase());
  const token = options.token === undefined ? env.HF_TOKEN || null : options.token || null;
  const tokenPath = expandHome(env.HF_TOKEN_PATH || path.join(hfHome, 'token'), homeDir);
  return { cacheDir, endpoint, offline, token, tokenPath };
}

/** Throws unless `repoId` is a valid Hub id (`name` or `org/name`, no `..`, no `--`); returns it. */
export function checkRepoId(repoId: string): string {
  if (!REPO_ID_PATTERN.test(repoId) || repoId.includes('..') || repoId.includes('--') || repoId.endsWith('.git') || /[.-]$/.test(repoId)) {
    throw new Error(
      `"${repoId}" is neither a model folder on disk nor a valid Hugging Face model id: an id is "name" or "org/name" ` +
        `(letters, digits, "_", "-", ".", at most 96 each; no "..", no "--"). Check the id, or give an existing folder path.`,
    );
  }
  return repoId;
}

/** Throws unless `revision` is a branch, tag or commit that cannot escape the refs folder; returns it. */
export function checkRevision(revision: string): string {
  const parts = revision.split('/');
  if (!/^[\w.\-/]{1,255}$/.test(revision) || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new Error(`revision "${revision}" is not a branch, tag or commit hash: use e.g. "main", "v1.0" or a 40-hex commit`);
  }
  return revision;
}

/** Throws unless `filename` is a relative path inside the repo (`a.json`, `sub/b.safetensors`); returns it. */
export function checkRepoFilename(filename: string, source: string): string {
  const parts = filename.split('/');
  if (!/^[\w.\-/]{1,255}$/.test(filename) || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new Error(`file name "${filename}" (from ${source}) is not a plain relative path inside the repo: the repo's files cannot be fetched safely`);
  }
  return filename;
}

export function isCommitHash(revision: string): boolean {
  return COMMIT_HASH_PATTERN.test(revision);
}

/** `org/name` → `models--org--name`, the repo's folder in the cache. */
export function repoFolderName(repoId: string): string {
  return `models--${repoId.split('/').join('--')}`;
}

export interface ResourcePathOptions {
  revision?: string;
  cacheDir: string;
  endpoint?: string;
  /** The commit the revision resolves to, when known (a 40-hex revision is its own commit). */
  commit?: string;
}

/** Everything one Hub file maps to. `snapshotDir`/`localPath` are null while the commit is unknown. */
export interface ResourcePaths {
  /** `org/name/file`, as in the request. */
  requestPath: string;
  /** `{endpoint}/{repo}/resolve/{revision}/{file}`, segments percent-encoded. */
  remoteUrl: string;
  /** `models--org--name` folder in the cache. */
  repoDir: string;
  /** `refs/{revision}`: holds the commit hash. */
  refPath: string;
  snapshotDir: string | null;
  localPath: string | null;
  /** Partial download, resumed with a Range request. */
  incompletePath: string | null;
  /** Marker that the file is absent from the commit. */
  noExistPath: string | null;
  /** `org/name/file`, or `org/name@revision/file` for a revision other than main; unique per cache folder. */
  cacheKey: string;
}

/**
 * Pure: the request path, remote URL, cache paths and cache key of `filename` in `repoId` at `revision`.
 * No validation beyond what the names need; call checkRepoId/checkRevision/checkRepoFilename first.
 */
export function buildResourcePaths(repoId: string, filename: string, options: ResourcePathOptions): ResourcePaths {
  const revision = options.revision ?? DEFAULT_REVISION;
  const endpoint = (options.endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const repoDir = path.join(options.cacheDir, repoFolderName(repoId));
  const commit = options.commit ?? (isCommitHash(revision) ? revision : null);
  const fileParts = filename.split('/');
  const snapshotDir = commit ? path.join(repoDir, 'snapshots', commit) : null;
  const localPath = snapshotDir ? path.join(snapshotDir, ...fileParts) : null;
  return {
    requestPath: `${repoId}/${filename}`,
    remoteUrl: `${endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/${fileParts.map(encodeURIComponent).join('/')}`,
    repoDir,
    refPath: path.join(repoDir, 'refs', ...revision.split('/')),
    snapshotDir,
    localPath,
    incompletePath: localPath ? localPath + INCOMPLETE_SUFFIX : null,
    noExistPath: commit ? path.join(repoDir, '.no_exist', commit, ...fileParts) : null,
    cacheKey: revision === DEFAULT_REVISION ? `${repoId}/${filename}` : `${repoId}@${revision}/${filename}`,
  };
}
