/**
 * A throwaway single-node Slurm cluster for tests (recipe: ../shared/docs/slurm-testing.md): munged + slurmctld +
 * slurmd on 127.0.0.1, with everything (slurm.conf, gres.conf, munge key and socket, state, spool, pid files, logs,
 * the jobcomp file) inside one temporary folder and ports picked free, so two clusters can run at once and nothing is
 * written under /etc.
 *
 *   const ready = await ensureSlurmInstalled();          // apt-get installs slurmctld slurmd slurm-client munge
 *   if (!ready.ok) this.skip();                           // ready.reason says why (not root, no apt-get, offline…)
 *   const cluster = await startSlurmCluster();           // { env (SLURM_CONF…), dir, jobcomp, stop() }
 *   await execFile('sbatch', [...], { env: cluster.env });
 *   await cluster.stop();                                 // in an `after` hook: always
 *
 * stop() cancels this cluster's jobs, stops the daemons by the pids in their pid files (SIGTERM, then SIGKILL), then
 * kills what is left of this cluster's jobs (processes whose environment carries this cluster's SLURM_CONF:
 * slurmstepd outlives slurmd), and removes the folder. Nothing is ever stopped by process name.
 */
import { execFile as execFileCb } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFile = promisify(execFileCb);

const PACKAGES = ['slurmctld', 'slurmd', 'slurm-client', 'munge'];
const PROGRAMS = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'scancel', 'sinfo'];
const FAKE_GPU_DEVICES = ['/dev/null', '/dev/zero', '/dev/full', '/dev/urandom'];
/** Daemons live in sbin, which a non-login PATH may lack. */
const EXTRA_BIN = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

export interface SlurmCluster {
  /** The folder holding everything. */
  dir: string;
  /** Environment for clients and jobs: the caller's, without inherited SLURM_* variables, plus SLURM_CONF. */
  env: NodeJS.ProcessEnv;
  conf: string;
  /** JobCompType=jobcomp/filetxt: one line per finished job. */
  jobcomp: string;
  partition: string;
  /** Advertised CPUs of the node (more than the machine has: SlurmdParameters=config_overrides). */
  cpus: number;
  /** GPUs the node advertises (stand-ins on /dev/null…, no real device), so `--gres=gpu:N` is accepted and scheduled. */
  gpus: number;
  /** The milliseconds each stage took (install excluded). */
  startup: { mungeMs: number; slurmctldMs: number; slurmdMs: number };
  /** Runs a Slurm client (sbatch, squeue, …) against this cluster. */
  run(program: string, args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** Polls squeue until none of `jobIds` (every job when omitted) is pending or running. */
  waitIdle(jobIds?: string[], timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export type InstallResult = { ok: true; installed: boolean; ms: number } | { ok: false; reason: string };

function findProgram(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of [...envPath.split(path.delimiter).filter(Boolean), ...EXTRA_BIN]) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      /* next */
    }
  }
  return undefined;
}

function missingPrograms(): string[] {
  return PROGRAMS.filter(p => !findProgram(p));
}

function hasAptLists(): boolean {
  try {
    return fs.readdirSync('/var/lib/apt/lists').some(f => f.includes('_Packages'));
  } catch {
    return false;
  }
}

function errText(err: unknown): string {
  const e = err as { stderr?: string; stdout?: string; message?: string };
  return (e.stderr || e.stdout || e.message || String(err)).trim().split('\n').slice(-6).join('\n');
}

let installOnce: Promise<InstallResult> | undefined;

/**
 * Installs Slurm and munge with apt-get when a program is missing (`apt-get update` first when there are no package
 * lists, and again when the install fails), `--no-install-recommends`: 7 packages, about 11 s. Never throws: a result
 * with `ok: false` says why the cluster cannot exist here (the tests then skip with that reason).
 */
export function ensureSlurmInstalled(): Promise<InstallResult> {
  installOnce ??= (async (): Promise<InstallResult> => {
    const t0 = Date.now();
    const before = missingPrograms();
    if (!before.length) return { ok: true, installed: false, ms: 0 };
    const why = `Slurm is not installed (missing ${before.join(', ')})`;
    if (process.platform !== 'linux') return { ok: false, reason: `${why}, and this is not Linux` };
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      return { ok: false, reason: `${why}, and installing needs root: apt-get install ${PACKAGES.join(' ')}` };
    }
    const apt = findProgram('apt-get');
    if (!apt) return { ok: false, reason: `${why}, and apt-get is not available to install ${PACKAGES.join(' ')}` };
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    // another process (a concurrent test installing its own packages) may hold the dpkg lock: wait for it
    const lockWait = ['-o', 'DPkg::Lock::Timeout=180'];
    const update = () => execFile(apt, [...lockWait, '-qq', 'update'], { env, maxBuffer: 16 << 20 });
    const install = () =>
      execFile(apt, [...lockWait, 'install', '-y', '-qq', '--no-install-recommends', ...PACKAGES], { env, maxBuffer: 16 << 20 });
    try {
      if (!hasAptLists()) await update();
      try {
        await install();
      } catch {
        await update();
        await install();
      }
    } catch (err) {
      return { ok: false, reason: `${why}, and apt-get install ${PACKAGES.join(' ')} failed: ${errText(err)}` };
    }
    const after = missingPrograms();
    if (after.length) return { ok: false, reason: `apt-get installed ${PACKAGES.join(' ')} but ${after.join(', ')} is still missing` };
    return { ok: true, installed: true, ms: Date.now() - t0 };
  })();
  return installOnce;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '0.0.0.0', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** True while the process exists and is not a zombie (PID 1 here reaps late: `kill -0` lies for ~2 s). */
export function pidAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A readiness check that found a state start-up cannot leave: stop waiting. */
class StartFailure extends Error {}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function killPid(pid: number, timeoutMs = 5000): Promise<void> {
  if (!pidAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const until = Date.now() + timeoutMs;
  while (pidAlive(pid) && Date.now() < until) await sleep(50);
  if (pidAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** Pids of processes whose environment holds `SLURM_CONF=<conf>` (this cluster's job steps and jobs). */
function processesOfCluster(conf: string): number[] {
  const marker = `SLURM_CONF=${conf}`;
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(marker)) pids.push(pid);
    } catch {
      /* gone, or not ours to read */
    }
  }
  return pids;
}

export interface ClusterOptions {
  /** CPUs the node advertises (default 8). */
  cpus?: number;
  /** GPUs the node advertises (default 2, at most 4): device-less stand-ins, for `--gres=gpu:N`. */
  gpus?: number;
  /** Keep the folder after stop() (default: env NTK_KEEP_SLURM_DIR=1). */
  keep?: boolean;
}

/** Starts munged, slurmctld and slurmd in a fresh temporary folder and waits until the node is idle. */
export async function startSlurmCluster(opts: ClusterOptions = {}): Promise<SlurmCluster> {
  const cpus = opts.cpus ?? 8;
  const gpus = opts.gpus ?? 2;
  if (gpus < 1 || gpus > FAKE_GPU_DEVICES.length) throw new Error(`gpus: 1 to ${FAKE_GPU_DEVICES.length}`);
  const keep = opts.keep ?? process.env.NTK_KEEP_SLURM_DIR === '1';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-slurm-'));
  fs.chmodSync(dir, 0o755);
  for (const sub of ['etc', 'munge', 'state', 'spool', 'run', 'log']) fs.mkdirSync(path.join(dir, sub), { mode: 0o755 });
  fs.chmodSync(path.join(dir, 'munge'), 0o755); // munged refuses a socket folder that is not a+x
  const p = (...parts: string[]) => path.join(dir, ...parts);
  const conf = p('etc', 'slurm.conf');
  const jobcomp = p('log', 'jobcomp.txt');
  const sock = p('munge', 'munge.sock');
  const user = os.userInfo().username;
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  const partition = 'debug';

  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SLURM_')) env[k] = v;
  const extra = EXTRA_BIN.filter(d => !(env.PATH ?? '').split(path.delimiter).includes(d));
  env.PATH = [env.PATH, ...extra].filter(Boolean).join(path.delimiter);
  env.SLURM_CONF = conf;

  fs.writeFileSync(
    conf,
    [
      `ClusterName=ntktest`,
      `SlurmctldHost=localhost`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      `SlurmUser=${user}`,
      `SlurmdUser=${user}`,
      `AuthType=auth/munge`,
      `CredType=cred/munge`,
      `AuthInfo=socket=${sock}`,
      `StateSaveLocation=${p('state')}`,
      `SlurmdSpoolDir=${p('spool')}`,
      `SlurmctldPidFile=${p('run', 'slurmctld.pid')}`,
      `SlurmdPidFile=${p('run', 'slurmd.pid')}`,
      `SlurmctldLogFile=${p('log', 'slurmctld.log')}`,
      `SlurmdLogFile=${p('log', 'slurmd.log')}`,
      `ProctrackType=proctrack/linuxproc`,
      `TaskPlugin=task/none`,
      `JobAcctGatherType=jobacct_gather/none`,
      `AccountingStorageType=accounting_storage/none`,
      `JobCompType=jobcomp/filetxt`,
      `JobCompLoc=${jobcomp}`,
      `SchedulerParameters=batch_sched_delay=0`,
      `DependencyParameters=kill_invalid_depend`,
      `SelectType=select/cons_tres`,
      `SelectTypeParameters=CR_CPU`,
      `SlurmdParameters=config_overrides`,
      `GresTypes=gpu`,
      `MailProg=/bin/true`,
      `ReturnToService=2`,
      `MinJobAge=600`,
      `KillWait=5`,
      `MpiDefault=none`,
      `NodeName=localhost NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=16000 Gres=gpu:${gpus} State=UNKNOWN`,
      `PartitionName=${partition} Nodes=ALL Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  // GPUs the scheduler counts: one gres.conf line per harmless character device (a count-only `Count=N` line makes
  // slurmd report 0 GPUs on 22.05, and the node goes INVAL). Jobs get CUDA_VISIBLE_DEVICES; nothing else happens.
  fs.writeFileSync(p('etc', 'gres.conf'), FAKE_GPU_DEVICES.slice(0, gpus).map(f => `NodeName=localhost Name=gpu File=${f}\n`).join(''));
  const key = p('munge', 'munge.key');
  fs.writeFileSync(key, crypto.randomBytes(1024), { mode: 0o600 });

  const prog = (name: string) => findProgram(name, env.PATH) ?? name;
  const run = (program: string, args: string[]) => execFile(prog(program), args, { env, maxBuffer: 64 << 20 });
  const pidFiles = [p('run', 'slurmd.pid'), p('run', 'slurmctld.pid'), p('munge', 'munged.pid')];
  const startedPids: number[] = [];
  const exitGuard = () => {
    for (const pid of startedPids) {
      try {
        if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  };
  process.on('exit', exitGuard);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      // cancel this cluster's jobs first: slurmstepd outlives slurmd
      if (pidAlive(readPid(p('run', 'slurmctld.pid')) ?? -1)) {
        await run('scancel', ['--user', user]).catch(() => undefined);
        const until = Date.now() + 3000;
        while (Date.now() < until) {
          const q = await run('squeue', ['-h', '-t', 'RUNNING,COMPLETING', '-o', '%i']).catch(() => ({ stdout: '' }));
          if (!q.stdout.trim()) break;
          await sleep(100);
        }
      }
      for (const file of pidFiles) {
        const pid = readPid(file);
        if (pid) await killPid(pid);
      }
      for (const pid of startedPids) await killPid(pid);
      // stragglers: job steps and their children, found by this cluster's SLURM_CONF in their environment
      for (const pid of processesOfCluster(conf)) await killPid(pid, 1000);
    } finally {
      process.off('exit', exitGuard);
      if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  const daemonEnv = env;
  async function startDaemon(name: string, args: string[], pidFile: string, log: string): Promise<number> {
    try {
      await execFile(prog(name), args, { env: daemonEnv, timeout: 20_000 });
    } catch (err) {
      throw new Error(`${name} did not start: ${errText(err)}\n${tail(log)}`);
    }
    const until = Date.now() + 5000;
    let pid = readPid(pidFile);
    while (!pid && Date.now() < until) {
      await sleep(20);
      pid = readPid(pidFile);
    }
    if (!pid) throw new Error(`${name} wrote no pid file ${pidFile}:\n${tail(log)}`);
    startedPids.push(pid);
    return pid;
  }
  async function waitFor(what: string, pid: number, log: string, ready: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (await ready().catch(err => { if (err instanceof StartFailure) throw err; return false; })) return;
      if (!pidAlive(pid)) throw new Error(`${what} exited during start-up (pid ${pid}); ${log}:\n${tail(log)}`);
      if (Date.now() > until) throw new Error(`${what} not ready after ${timeoutMs} ms; ${log}:\n${tail(log)}`);
      await sleep(50);
    }
  }

  try {
    let t = Date.now();
    const mungeLog = p('log', 'munged.log');
    const munged = await startDaemon(
      'munged',
      [`--key-file=${key}`, `--socket=${sock}`, `--pid-file=${p('munge', 'munged.pid')}`, `--log-file=${mungeLog}`, `--seed-file=${p('munge', 'munged.seed')}`],
      p('munge', 'munged.pid'),
      mungeLog,
    );
    await waitFor('munged', munged, mungeLog, async () => {
      const cred = await execFile(prog('munge'), ['-n', '-S', sock], { env });
      await new Promise<void>((resolve, reject) => {
        const child = execFileCb(prog('unmunge'), ['-S', sock], { env }, err => (err ? reject(err) : resolve()));
        child.stdin?.end(cred.stdout);
      });
      return true;
    });
    const mungeMs = Date.now() - t;

    t = Date.now();
    const ctldLog = p('log', 'slurmctld.log');
    // -c: a fresh folder has no state; clearing makes a stale one harmless too
    const ctld = await startDaemon('slurmctld', ['-c', '-f', conf], p('run', 'slurmctld.pid'), ctldLog);
    await waitFor('slurmctld', ctld, ctldLog, async () => /is UP/.test((await run('scontrol', ['ping'])).stdout));
    const slurmctldMs = Date.now() - t;

    t = Date.now();
    const slurmdLog = p('log', 'slurmd.log');
    const slurmd = await startDaemon('slurmd', ['-f', conf, '-N', 'localhost'], p('run', 'slurmd.pid'), slurmdLog);
    await waitFor('slurmd', slurmd, slurmdLog, async () => {
      const state = (await run('sinfo', ['-h', '-n', 'localhost', '-o', '%t'])).stdout.trim();
      if (/inval|drain/.test(state)) throw new StartFailure(`the node registered as ${state}; ${ctldLog}:\n${tail(ctldLog, 5)}`);
      return state === 'idle';
    });
    const slurmdMs = Date.now() - t;

    const waitIdle = async (jobIds?: string[], timeoutMs = 60_000): Promise<void> => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const args = ['-h', '-r', '-t', 'PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED,REQUEUED', '-o', '%i'];
        if (jobIds?.length) args.push('-j', jobIds.join(','));
        const q = await run('squeue', args).catch(err => {
          // squeue -j with ids the controller no longer knows: nothing left to wait for
          if (/Invalid job id/i.test(errText(err))) return { stdout: '' };
          throw err;
        });
        if (!q.stdout.trim()) return;
        if (Date.now() > until) throw new Error(`jobs still queued or running after ${timeoutMs} ms:\n${q.stdout.trim()}`);
        await sleep(200);
      }
    };

    return { dir, env, conf, jobcomp, partition, cpus, gpus, startup: { mungeMs, slurmctldMs, slurmdMs }, run, waitIdle, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
