/**
 * Downloads a URL to a file with progress and cancellation (Node http/https, redirects followed), then optionally
 * unpacks a .tar with the system `tar`. Pure Node (no vscode): tested against a 127.0.0.1 server.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as path from 'path';

export interface DownloadProgress { loaded: number; total?: number }

export function downloadFile(url: string, dest: string, onProgress: (p: DownloadProgress) => void, signal?: AbortSignal, redirects = 5): Promise<void> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? https.get : url.startsWith('http:') ? http.get : undefined;
    if (!get) return reject(new Error(`ntkLens.lmBffDataUrl: "${url}" is not an http(s) URL`));
    const req = get(url, { signal }, res => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects <= 0) return reject(new Error(`${url}: too many redirects`));
        return downloadFile(new URL(res.headers.location, url).toString(), dest, onProgress, signal, redirects - 1).then(resolve, reject);
      }
      if (status !== 200) {
        res.resume();
        return reject(new Error(`${url}: HTTP ${status}; check ntkLens.lmBffDataUrl or download the archive by hand`));
      }
      const total = Number(res.headers['content-length']) || undefined;
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      const part = `${dest}.part`;
      const out = fs.createWriteStream(part);
      let loaded = 0;
      res.on('data', (chunk: Buffer) => {
        loaded += chunk.length;
        onProgress({ loaded, total });
      });
      res.pipe(out);
      const fail = (err: Error) => {
        out.destroy();
        fs.rmSync(part, { force: true });
        reject(err);
      };
      res.on('error', fail);
      out.on('error', fail);
      out.on('finish', () => {
        if (total !== undefined && loaded !== total) return fail(new Error(`${url}: got ${loaded} of ${total} bytes; try again`));
        fs.renameSync(part, dest);
        resolve();
      });
    });
    req.on('error', err => reject(signal?.aborted ? Object.assign(new Error('download cancelled'), { name: 'CancelledError' }) : new Error(`${url}: ${err.message}`)));
  });
}

/** Unpacks `archive` into `folder` with the system tar. */
export function extractTar(archive: string, folder: string): Promise<void> {
  fs.mkdirSync(folder, { recursive: true });
  return new Promise((resolve, reject) => {
    const p = spawn('tar', ['-xf', archive, '-C', folder], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', d => (err += d));
    p.on('error', e => reject(new Error(`cannot run tar to unpack ${archive}: ${e.message}`)));
    p.on('exit', code => (code === 0 ? resolve() : reject(new Error(`tar -xf ${archive} failed (${code}): ${err.trim()}`))));
  });
}
