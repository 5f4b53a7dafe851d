/**
 * A small stand-in for the Hugging Face Hub on 127.0.0.1 (random ports), serving
 * `/{repo}/resolve/{revision}/{file}` from repos the tests build in memory. Like the Hub it sends X-Repo-Commit,
 * a git-blob-sha1 ETag for plain files, and for LFS files a 302 to a CDN (a second server, another origin) with
 * X-Linked-Size and X-Linked-Etag (sha256). It honours `Range: bytes=N-`, answers 404 with X-Error-Code, 401 for a
 * gated repo without the right token, and can be told to cut or stall a file's first GET halfway.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRepo {
  commit: string;
  files: Record<string, Buffer>;
  /** Files served as LFS: 302 to the CDN. */
  lfs?: string[];
  /** Gated: every request needs `Authorization: Bearer <token>`. */
  token?: string;
}

export interface LoggedRequest {
  server: 'hub' | 'cdn';
  method: string;
  repo: string;
  file: string;
  /** The revision in the URL (hub requests only). */
  revision: string | null;
  range: string | null;
  authorization: string | null;
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
export const gitBlobSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

export class FakeHub {
  readonly repos = new Map<string, FakeRepo>();
  readonly log: LoggedRequest[] = [];
  /** `repo/file`: the next GET sends headers and half the body, then drops the connection. */
  readonly cutOnce = new Set<string>();
  /** `repo/file`: the next GET sends half the body, then waits until the client goes away. */
  readonly stallOnce = new Set<string>();
  /** `repo/file`: announce a wrong sha256 (LFS) / git sha1 ETag. */
  readonly wrongHash = new Set<string>();
  /** Bytes of the body sent before each cut or stall, by `repo/file`. */
  readonly sentBeforeBreak = new Map<string, number>();
  /** Answer every Range request with the whole file (200), like a server without range support. */
  ignoreRange = false;
  endpoint = '';
  cdnOrigin = '';
  private readonly hub = http.createServer((req, res) => this.onHub(req, res));
  private readonly cdn = http.createServer((req, res) => this.onCdn(req, res));

  static async start(): Promise<FakeHub> {
    const fake = new FakeHub();
    fake.endpoint = await listen(fake.hub);
    fake.cdnOrigin = await listen(fake.cdn);
    return fake;
  }

  async close(): Promise<void> {
    for (const server of [this.hub, this.cdn]) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  }

  /** Requests for one file of one repo, on either server. */
  requestsFor(repo: string, file: string): LoggedRequest[] {
    return this.log.filter((r) => r.repo === repo && r.file === file);
  }

  private record(server: 'hub' | 'cdn', req: http.IncomingMessage, repo: string, file: string, revision: string | null): void {
    this.log.push({
      server,
      method: req.method ?? '',
      repo,
      file,
      revision,
      range: req.headers.range ?? null,
      authorization: req.headers.authorization ?? null,
    });
  }

  private onHub(req: http.IncomingMessage, res: http.ServerResponse): void {
    const match = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(new URL(req.url ?? '/', this.endpoint).pathname);
    if (!match) return this.fail(res, 400, 'BadRequest');
    const [repoId, revision, file] = [match[1], decodeURIComponent(match[2]), match[3].split('/').map(decodeURIComponent).join('/')];
    this.record('hub', req, repoId, file, revision);
    const repo = this.repos.get(repoId);
    if (!repo) return this.fail(res, 404, 'RepoNotFound');
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) return this.fail(res, 401, 'GatedRepo');
    if (revision !== 'main' && revision !== repo.commit) return this.fail(res, 404, 'RevisionNotFound');
    const data = repo.files[file];
    if (!data) return this.fail(res, 404, 'EntryNotFound', repo.commit);
    const key = `${repoId}/${file}`;
    const wrong = this.wrongHash.has(key);
    if (repo.lfs?.includes(file)) {
      res.writeHead(302, {
        location: `${this.cdnOrigin}/cdn/${repoId}/${file}`,
        'x-repo-commit': repo.commit,
        'x-linked-size': String(data.length),
        'x-linked-etag': `"${wrong ? sha256(Buffer.from('other')) : sha256(data)}"`,
      });
      return void res.end();
    }
    this.serve(req, res, key, data, { 'x-repo-commit': repo.commit, etag: `"${wrong ? gitBlobSha1(Buffer.from('other')) : gitBlobSha1(data)}"` });
  }

  private onCdn(req: http.IncomingMessage, res: http.ServerResponse): void {
    const match = /^\/cdn\/(.+)\/([^/]+)$/.exec(new URL(req.url ?? '/', this.cdnOrigin).pathname);
    const repo = match && this.repos.get(match[1]);
    if (!match || !repo || !repo.files[match[2]]) return this.fail(res, 404, 'NotFound');
    this.record('cdn', req, match[1], match[2], null);
    this.serve(req, res, `${match[1]}/${match[2]}`, repo.files[match[2]], { etag: '"cdn-object-etag"' });
  }

  private fail(res: http.ServerResponse, status: number, code: string, commit?: string): void {
    res.writeHead(status, { 'x-error-code': code, ...(commit ? { 'x-repo-commit': commit } : {}) });
    res.end(code);
  }

  /** Whole file (200) or, for `Range: bytes=N-`, its tail (206); may cut or stall once. */
  private serve(req: http.IncomingMessage, res: http.ServerResponse, key: string, data: Buffer, headers: Record<string, string>): void {
    const range = this.ignoreRange ? null : /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let body = data;
    if (range) {
      const from = Number(range[1]);
      if (from >= data.length) {
        res.writeHead(416, { 'content-range': `bytes */${data.length}` });
        return void res.end();
      }
      body = data.subarray(from);
      res.writeHead(206, { ...headers, 'content-length': String(body.length), 'content-range': `bytes ${from}-${data.length - 1}/${data.length}` });
    } else {
      res.writeHead(200, { ...headers, 'content-length': String(body.length), 'accept-ranges': 'bytes' });
    }
    if (req.method === 'HEAD') return void res.end();
    const cut = this.cutOnce.delete(key);
    const stall = this.stallOnce.delete(key);
    if (cut || stall) {
      const half = Math.floor(body.length / 2);
      this.sentBeforeBreak.set(key, half);
      res.write(body.subarray(0, half), () => {
        if (cut) setTimeout(() => res.destroy(), 10);
      });
      return;
    }
    res.end(body);
  }
}
