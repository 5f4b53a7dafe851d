/**
 * An exclusive lock on a file path, shared by processes on this machine and on others (a results folder on NFS):
 * two runs of the same experiment at once do not both compute the same seed.
 *
 * The lock file is created with an exclusive create (`open(path, 'wx')`) and holds the JSON
 * `{ pid, host, startedAt, nonce }`. While the holder's function runs, a heartbeat (an unref'd timer) sets the lock
 * file's mtime every `heartbeatMs` through the descriptor it keeps open; the file is removed when the function ends.
 *
 * A waiter polls every `pollMs` and takes over a lock whose holder is gone:
 *   - at once when the holder is on this host and its pid is not alive (`process.kill(pid, 0)` → ESRCH);
 *   - on any host when the lock file has not changed (mtime, content, inode) for `staleMs` of the waiter's own
 *     clock. Watching for a change, rather than comparing the mtime with the local clock, is immune to clock skew
 *     between machines; a lock whose heartbeat stopped long ago is therefore taken over `staleMs` after the waiter
 *     first saw it. The waiter opens the file to look at it (NFS close-to-open consistency revalidates the cached
 *     attributes), so the heartbeat of a holder on another machine is seen.
 * A take-over happens under a second lock file, `<lock>.takeover` (exclusive create, held for milliseconds), in
 * which the waiter checks that the lock is still the one it judged dead (same inode, mtime and content) and renames
 * its own lock file over it. Two waiters judging the same dead lock therefore never both proceed (the second finds
 * the lock changed), a waiter never replaces a lock that another one took over just before, and the lock file is
 * never absent during a take-over, so a process that finds no lock cannot slip in either.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AbortError } from '../util/abort';

/** Who holds a lock, as its file says (null where the file could not be parsed, e.g. while being written). */
export interface LockHolder {
  pid: number | null;
  host: string | null;
  startedAt: string | null;
  /** The lock file. */
  file: string;
}

export interface LockOptions {
  /** Stops waiting: the wait rejects with an `AbortError` (src/engine/util/abort.ts). Not checked while holding. */
  signal?: AbortSignal;
  /** Called once, when the lock is found held by a live holder (the caller reports "… is being computed by …"). */
  onWait?: (holder: LockHolder) => void;
  /** Called when a dead or stale lock is taken over, with its holder and why. */
  onTakeOver?: (holder: LockHolder, reason: string) => void;
  /** How often a waiter looks again (default 1000 ms). */
  pollMs?: number;
  /** A lock unchanged for this long (no heartbeat) is taken over (default 60 000 ms). */
  staleMs?: number;
  /** How often the holder refreshes the lock's mtime (default min(5000, staleMs / 4)). */
  heartbeatMs?: number;
}

/** A held lock: call `release()` exactly once (a second call does nothing). */
export interface HeldLock {
  readonly file: string;
  readonly holder: LockHolder;
  release(): void;
}

interface LockContent {
  pid: number;
  host: string;
  startedAt: string;
  nonce: string;
}

interface Observed {
  /** Changes whenever the file is replaced, rewritten or its mtime moves (heartbeat). */
  id: string;
  content: LockContent | undefined;
}

const DEFAULT_POLL_MS = 1000;
const DEFAULT_STALE_MS = 60_000;

/** "pid 1234 on host X since 2026-…" for messages such as "seed 13 is being computed by …; waiting". */
export function describeHolder(holder: LockHolder): string {
  if (holder.pid === null && holder.host === null) return `an unknown process (lock file ${holder.file})`;
  return `pid ${holder.pid ?? '?'} on host ${holder.host ?? '?'}${holder.startedAt ? ` since ${holder.startedAt}` : ''}`;
}

/** Runs `fn` while holding the lock `file` (waiting for it as `opts` say); the lock is released when `fn` settles. */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const held = await acquireFileLock(file, opts);
  try {
    return await fn();
  } finally {
    held.release();
  }
}

/** Waits for and takes the lock `file`; the caller must `release()` it (in a `finally`). */
export async function acquireFileLock(file: string, opts: LockOptions = {}): Promise<HeldLock> {
  file = path.resolve(file);
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  const heartbeatMs = opts.heartbeatMs ?? Math.max(1, Math.min(5000, Math.floor(staleMs / 4)));
  if (!(pollMs > 0) || !(staleMs > 0) || !(heartbeatMs > 0)) throw new Error(`lock ${file}: pollMs, staleMs and heartbeatMs must be > 0`);
  const where = `waiting for the lock ${file}`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const lockWatch = new StaleWatch();
  const guardWatch = new StaleWatch();
  let notified = false;
  let unparsedPolls = 0;
  for (;;) {
    if (opts.signal?.aborted) throw new AbortError(where, opts.signal.reason);
    const created = tryCreate(file);
    if (created) return hold(created, heartbeatMs);
    const seen = observe(file);
    if (!seen) continue; // released between our create and our look: try again at once
    const dead = lockWatch.deadReason(seen, staleMs);
    if (dead) {
      const taken = takeOver(file, seen, staleMs, guardWatch);
      if (taken) {
        if (taken.replaced) opts.onTakeOver?.(holderOf(file, seen), dead);
        return hold(taken.created, heartbeatMs);
      }
    } else if (!notified && (seen.content || ++unparsedPolls > 1)) {
      notified = true; // an unparsable lock is being written: give its holder one poll to finish before reporting it
      opts.onWait?.(holderOf(file, seen));
    }
    await sleep(pollMs, opts.signal, where);
  }
}

/** Tracks how long the waiter has seen the same lock file unchanged, and judges whether its holder is gone. */
class StaleWatch {
  private id = '';
  private since = 0;

  deadReason(seen: Observed, staleMs: number): string | undefined {
    const now = Date.now();
    if (seen.id !== this.id) {
      this.id = seen.id;
      this.since = now;
    }
    const c = seen.content;
    if (c && c.host === os.hostname() && !pidAlive(c.pid)) return `pid ${c.pid} on this host (${c.host}) is not running`;
    if (now - this.since >= staleMs) return `no heartbeat for ${Math.round((now - this.since) / 1000)} s (stale after ${Math.round(staleMs / 1000)} s)`;
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true; // not a pid we can check: rely on the heartbeat
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH'; // EPERM: alive, another user's
  }
}

interface Created {
  file: string;
  fd: number;
  content: LockContent;
}

/** Exclusive create of `file` holding our JSON; undefined when it exists. */
function tryCreate(file: string): Created | undefined {
  const content: LockContent = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), nonce: crypto.randomBytes(8).toString('hex') };
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw err;
  }
  try {
    fs.writeSync(fd, JSON.stringify(content));
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw err;
  }
  return { file, fd, content };
}

/** Opens and reads the lock file (undefined when absent). Opening, not stat(path), defeats NFS attribute caching. */
function observe(file: string): Observed | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || (process.platform === 'win32' && code === 'EPERM')) return undefined; // (win32: being deleted)
    throw err;
  }
  let text: string;
  let st: fs.Stats;
  try {
    st = fs.fstatSync(fd);
    text = fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
  return { id: `${st.dev}:${st.ino}:${st.mtimeMs}:${st.size}:${text}`, content: parseContent(text) };
}

function parseContent(text: string): LockContent | undefined {
  try {
    const c = JSON.parse(text) as Partial<LockContent>;
    if (typeof c === 'object' && c !== null && typeof c.pid === 'number' && typeof c.host === 'string') {
      return { pid: c.pid, host: c.host, startedAt: typeof c.startedAt === 'string' ? c.startedAt : '', nonce: typeof c.nonce === 'string' ? c.nonce : '' };
    }
  } catch {
    // being written, or damaged: judged by its heartbeat only
  }
  return undefined;
}

function holderOf(file: string, seen: Observed): LockHolder {
  const c = seen.content;
  return { pid: c?.pid ?? null, host: c?.host ?? null, startedAt: c?.startedAt || null, file };
}

/**
 * Replaces the dead lock `judged` by ours, under the take-over guard; undefined when the guard is busy or the lock
 * changed since it was judged (a heartbeat, or another waiter took it over first).
 */
function takeOver(file: string, judged: Observed, staleMs: number, guardWatch: StaleWatch): { created: Created; replaced: boolean } | undefined {
  const guardFile = `${file}.takeover`;
  const guard = tryCreate(guardFile);
  if (!guard) {
    // The guard is held for milliseconds; one that stays means its creator died inside: clear it.
    const g = observe(guardFile);
    if (g && guardWatch.deadReason(g, staleMs)) removeIfSame(guardFile, g);
    return undefined;
  }
  try {
    const now = observe(file);
    if (!now) {
      const created = tryCreate(file); // released meanwhile: an ordinary acquire
      return created && { created, replaced: false };
    }
    if (now.id !== judged.id) return undefined;
    // Our lock is written beside it and renamed over it: the lock file never goes missing, so no process that
    // simply finds it absent can slip in between; only the guard's holder replaces a lock.
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.new`;
    const ours = tryCreate(tmp);
    if (!ours) return undefined;
    try {
      fs.renameSync(tmp, file);
    } catch (err) {
      fs.closeSync(ours.fd);
      fs.rmSync(tmp, { force: true });
      if (process.platform === 'win32') return undefined; // (rename over a file another process has open: next poll)
      throw err;
    }
    return { created: { ...ours, file }, replaced: true };
  } finally {
    fs.closeSync(guard.fd);
    fs.rmSync(guardFile, { force: true });
  }
}

/**
 * Removes `file` (a dead take-over guard) if it is still the one `judged`: renamed to a unique name first, and the
 * renamed file checked; if it is another one (it changed in between), it is put back. True when `judged` is gone.
 */
function removeIfSame(file: string, judged: Observed): boolean {
  const grave = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.stale`;
  try {
    fs.renameSync(file, grave);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  // A rename keeps the inode, size, content and mtime (it changes the ctime only), so `id` still matches.
  const moved = observe(grave);
  const same = moved !== undefined && moved.id === judged.id;
  if (!same) {
    try {
      fs.linkSync(grave, file); // no-clobber: fails if someone created the lock meanwhile
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' && !fs.existsSync(file)) fs.renameSync(grave, file);
    }
  }
  fs.rmSync(grave, { force: true });
  return same;
}

const heldLocks = new Map<string, Created>();
let exitHookInstalled = false;

/** Starts the heartbeat and returns the handle; a process that exits while holding locks removes them. */
function hold(created: Created, heartbeatMs: number): HeldLock {
  heldLocks.set(created.file, created);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of heldLocks.values()) removeIfOurs(c);
    });
  }
  let last = Date.now();
  const timer = setInterval(() => {
    const t = Math.max(Date.now(), last + 1); // strictly increasing, so every beat changes the mtime
    last = t;
    try {
      fs.futimesSync(created.fd, new Date(t), new Date(t));
    } catch {
      // the next beat retries; a lock that misses beats for staleMs is taken over
    }
  }, heartbeatMs);
  timer.unref();
  let released = false;
  return {
    file: created.file,
    holder: { pid: created.content.pid, host: created.content.host, startedAt: created.content.startedAt, file: created.file },
    release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      heldLocks.delete(created.file);
      removeIfOurs(created);
    },
  };
}

/** Closes the descriptor and removes the lock file, unless another process took it over meanwhile. */
function removeIfOurs(c: Created): void {
  let ours = false;
  try {
    ours = observe(c.file)?.content?.nonce === c.content.nonce;
  } catch {
    // unreadable: leave it to the heartbeat rule
  }
  try {
    fs.closeSync(c.fd);
  } catch {
    // already closed
  }
  if (ours) fs.rmSync(c.file, { force: true });
}

function sleep(ms: number, signal: AbortSignal | undefined, where: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortError(where, signal.reason));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortError(where, signal!.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
