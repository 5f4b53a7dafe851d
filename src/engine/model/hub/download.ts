/**
 * Resumable download of one Hub file into the cache.
 *
 * The bytes go to `<file>.incomplete`; a later attempt (a retry after the connection broke, or the next run after
 * an abort) sends `Range: bytes=<have>-`, appends on 206 and starts over on 200. The file is checked against the
 * size the Hub announced (`X-Linked-Size`, Content-Length or Content-Range) and, when the Hub gives one, against its
 * content hash (`X-Linked-Etag` = sha256 for LFS files, `ETag` = git blob sha1 otherwise), then renamed into place,
 * so a file under its final name is always whole.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { HubAuth, HubError, abortError, httpErrorMessage, hubFetch } from './http';

export interface DownloadTarget {
  /** The file's URL, pinned to a commit. */
  url: string;
  localPath: string;
  incompletePath: string;
}

export interface DownloadOptions {
  auth: HubAuth;
  signal: AbortSignal;
  /** How many times a broken or refused connection is retried (resuming from the partial bytes). */
  retries: number;
  /** Wait before retry n (0-based) is retryDelayMs · 2ⁿ. */
  retryDelayMs: number;
  /** The server answered with the file: `total` bytes in all (null if unknown), `resumedFrom` already on disk. */
  onStart: (total: number | null, resumedFrom: number) => void;
  /** Bytes on disk so far, at most every PROGRESS_INTERVAL_MS, and once at the end. */
  onProgress: (loaded: number, total: number | null) => void;
}

export type DownloadResult = { status: 'missing' } | { status: 'done'; size: number };

const PROGRESS_INTERVAL_MS = 100;

async function sizeOf(file: string): Promise<number> {
  try {
    return (await fs.stat(file)).size;
  } catch {
    return 0;
  }
}

/** Waits `ms`, or rejects with the abort reason as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Hex digest of the file, optionally after a prefix (git hashes `blob <size>\0` + content). */
async function digestOf(file: string, algorithm: 'sha256' | 'sha1', prefix?: Buffer): Promise<string> {
  const hash = createHash(algorithm);
  if (prefix) hash.update(prefix);
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Throws (and removes the partial file) unless the bytes on disk are the ones the Hub announced. */
async function verify(target: DownloadTarget, size: number, expectedSize: number | null, etag: string | null, linked: boolean): Promise<void> {
  const fail = async (what: string) => {
    await fs.rm(target.incompletePath, { force: true });
    throw new HubError(`GET ${target.url}: ${what}; the partial file was removed, run again to download it afresh`, target.url, null);
  };
  if (expectedSize !== null && size !== expectedSize) await fail(`received ${size} bytes but the Hub announced ${expectedSize}`);
  if (etag && /^[0-9a-f]{64}$/.test(etag)) {
    const sha256 = await digestOf(target.incompletePath, 'sha256');
    if (sha256 !== etag) await fail(`the content's sha256 ${sha256} differs from the Hub's ${etag}`);
  } else if (etag && !linked && /^[0-9a-f]{40}$/.test(etag)) {
    const gitSha1 = await digestOf(target.incompletePath, 'sha1', Buffer.from(`blob ${size}\0`));
    if (gitSha1 !== etag) await fail(`the content's git blob sha1 ${gitSha1} differs from the Hub's ETag ${etag}`);
  }
}

/** Streams the answer's body onto the end of the partial file (or over it when `start` is 0); returns its size. */
async function appendBody(res: Response, file: string, start: number, total: number | null, options: DownloadOptions): Promise<number> {
  const handle = await fs.open(file, start > 0 ? 'a' : 'w');
  let loaded = start;
  let lastReport = 0;
  try {
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await handle.write(value);
      loaded += value.byteLength;
      const now = Date.now();
      if (now - lastReport >= PROGRESS_INTERVAL_MS) {
        lastReport = now;
        options.onProgress(loaded, total);
      }
    }
  } finally {
    await handle.close();
  }
  options.onProgress(loaded, total);
  return loaded;
}

/**
 * Downloads `target.url` to `target.localPath`, resuming from `target.incompletePath` if it exists.
 * Returns `{ status: 'missing' }` on a 404 (the caller decides whether the file was optional).
 * Rejects with the signal's reason on abort (keeping the partial file for the next run), or with a HubError.
 */
export async function downloadFile(target: DownloadTarget, options: DownloadOptions): Promise<DownloadResult> {
  const { signal } = options;
  await fs.mkdir(path.dirname(target.localPath), { recursive: true });
  let failures = 0;
  const retryOrThrow = async (error: unknown) => {
    if (signal.aborted) throw abortError(signal);
    const retryable = error instanceof HubError && error.status === null;
    if (!retryable || failures >= options.retries) throw error;
    await sleep(options.retryDelayMs * 2 ** failures, signal);
    failures++;
  };
  for (;;) {
    const have = await sizeOf(target.incompletePath);
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (have > 0) headers.range = `bytes=${have}-`;
    let answer: Awaited<ReturnType<typeof hubFetch>>;
    try {
      answer = await hubFetch(target.url, { method: 'GET', headers, signal }, options.auth);
    } catch (error) {
      await retryOrThrow(error);
      continue;
    }
    const { res, meta } = answer;
    if (res.status === 404) {
      await res.body?.cancel();
      return { status: 'missing' };
    }
    if (res.status === 416 && have > 0) {
      // The partial file is not a prefix the server can continue: start over.
      await res.body?.cancel();
      await fs.rm(target.incompletePath, { force: true });
      continue;
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      throw new HubError(httpErrorMessage('GET', target.url, res), target.url, res.status);
    }
    const encoding = res.headers.get('content-encoding');
    const encoded = encoding !== null && encoding !== 'identity';
    let start = 0;
    let total: number | null = null;
    if (res.status === 206) {
      const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      if (!range || Number(range[1]) !== have) {
        await res.body?.cancel();
        await fs.rm(target.incompletePath, { force: true });
        await retryOrThrow(new HubError(`GET ${target.url} answered a resume from byte ${have} with a different range`, target.url, null));
        continue;
      }
      start = have;
      total = range[2] === '*' ? null : Number(range[2]);
    } else {
      const length = res.headers.get('content-length');
      total = !encoded && length !== null ? Number(length) : null;
    }
    const expectedSize = meta.linkedSize ?? (encoded ? null : total);
    options.onStart(expectedSize, start);
    let size: number;
    try {
      size = await appendBody(res, target.incompletePath, start, expectedSize, options);
    } catch (cause) {
      const loaded = await sizeOf(target.incompletePath);
      await retryOrThrow(
        new HubError(
          `GET ${target.url} broke off after ${loaded} of ${expectedSize ?? '?'} bytes; run again: it resumes from ${target.incompletePath}`,
          target.url,
          null,
          { cause },
        ),
      );
      continue;
    }
    await verify(target, size, expectedSize, meta.etag, meta.linkedSize !== null);
    await fs.rename(target.incompletePath, target.localPath);
    return { status: 'done', size };
  }
}
