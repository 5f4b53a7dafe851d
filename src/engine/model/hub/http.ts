/**
 * One Hub request with Node's built-in fetch: redirects followed by hand so that the token goes only to the
 * endpoint's own origin (LFS files redirect to a CDN on another host), the Hub's metadata headers read from the
 * endpoint's answer, and failures turned into messages that name the URL and say what to do.
 */
import { HUB_ERROR_CODE_ADVICE, STATUS_ADVICE } from './constants';

const MAX_REDIRECTS = 10;
const USER_AGENT = 'ntk-lens (node)';

/** An HTTP or network failure of a Hub request. `status` is null when no answer came (network down, cut off). */
export class HubError extends Error {
  override name = 'HubError';
  constructor(
    message: string,
    readonly url: string,
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What the endpoint said about the file, before any redirect to a CDN. */
export interface HubFileMeta {
  /** `X-Repo-Commit`: the commit the revision resolved to. */
  commit: string | null;
  /** `X-Linked-Etag` (LFS: the sha256 of the content), else `ETag` (git blob sha1), unquoted; null if absent. */
  etag: string | null;
  /** `X-Linked-Size` (LFS files): the size of the content. */
  linkedSize: number | null;
}

export interface HubAuth {
  endpoint: string;
  token: string | null;
}

/** The error a cancelled call rejects with: the signal's reason, or an `AbortError`. */
export function abortError(signal: AbortSignal): Error {
  if (signal.reason instanceof Error) return signal.reason;
  const error = new Error('the download was aborted');
  error.name = 'AbortError';
  return error;
}

function unquoteEtag(value: string | null): string | null {
  return value ? value.replace(/^W\//, '').replace(/^"|"$/g, '') : null;
}

/** The message of a failed (non-2xx, non-404-optional) answer: method, URL, status, and what to do. */
export function httpErrorMessage(method: string, url: string, res: Response): string {
  const code = res.headers.get('x-error-code');
  const hubMessage = res.headers.get('x-error-message');
  const advice = (code && HUB_ERROR_CODE_ADVICE[code]) || STATUS_ADVICE[res.status] || 'unexpected answer from the Hub';
  return `${method} ${url} failed with HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}: ${advice}` +
    (hubMessage ? ` (Hub: ${hubMessage})` : '');
}

/** The message when the endpoint cannot be reached at all. */
export function offlineMessage(url: string, cause: unknown): string {
  const reason = cause instanceof Error ? ((cause.cause as Error | undefined)?.message ?? cause.message) : String(cause);
  return `offline: the Hub cannot be reached at ${url} (${reason}); put the model folder on disk and give its path, ` +
    `or set HF_ENDPOINT to a reachable mirror`;
}

/**
 * Sends one request and follows redirects. The answer's body is left unread for the caller (non-2xx included);
 * redirect bodies are discarded. Rejects with the signal's reason on abort, or with a HubError (status null)
 * when no answer arrives.
 */
export async function hubFetch(
  url: string,
  init: { method: 'GET' | 'HEAD'; headers?: Record<string, string>; signal: AbortSignal },
  auth: HubAuth,
): Promise<{ res: Response; meta: HubFileMeta; url: string }> {
  const endpointOrigin = new URL(auth.endpoint).origin;
  const meta: HubFileMeta = { commit: null, etag: null, linkedSize: null };
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const fromEndpoint = new URL(current).origin === endpointOrigin;
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...init.headers };
    if (auth.token && fromEndpoint) headers.authorization = `Bearer ${auth.token}`;
    let res: Response;
    try {
      res = await fetch(current, { method: init.method, headers, signal: init.signal, redirect: 'manual' });
    } catch (cause) {
      if (init.signal.aborted) throw abortError(init.signal);
      throw new HubError(offlineMessage(current, cause), current, null, { cause });
    }
    if (fromEndpoint) {
      meta.commit ??= res.headers.get('x-repo-commit');
      meta.etag ??= unquoteEtag(res.headers.get('x-linked-etag') ?? res.headers.get('etag'));
      const linkedSize = res.headers.get('x-linked-size');
      meta.linkedSize ??= linkedSize !== null && /^\d+$/.test(linkedSize) ? Number(linkedSize) : null;
    }
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      current = new URL(location, current).href;
      continue;
    }
    return { res, meta, url: current };
  }
  throw new HubError(`GET ${url} redirected more than ${MAX_REDIRECTS} times: check HF_ENDPOINT`, url, null);
}
