/**
 * Typed getters for every `ntkLens.*` setting. Settings that change how the worker process is started
 * (WORKER_RESTART_KEYS) make the extension restart the worker before the next job.
 */
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { BackendName } from '../protocol';

export const SECTION = 'ntkLens';
export const DEFAULT_LMBFF_URL = 'https://nlp.cs.princeton.edu/projects/lm-bff/datasets.tar';
const BACKENDS: readonly BackendName[] = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

/** Keys whose change needs a fresh worker process (node flags or the backend chosen at start). */
export const WORKER_RESTART_KEYS = ['ntkLens.memoryBudgetMB', 'ntkLens.backend'] as const;

function get<T>(key: string, fallback: T): T {
  // `get<T>(key)` can return null for a user-cleared setting; never let that through as T.
  const v = vscode.workspace.getConfiguration(SECTION).get<T | null>(key);
  return v === undefined || v === null ? fallback : v;
}

const expandHome = (p: string) => (p.startsWith('~') ? path.join(os.homedir(), p.slice(1)) : p);

function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

function resolvePath(p: string): string {
  const e = expandHome(p);
  return path.isAbsolute(e) ? e : path.resolve(workspaceRoot() ?? os.homedir(), e);
}

export const config = {
  backend(): BackendName {
    const b = get<string>('backend', 'auto');
    return (BACKENDS as readonly string[]).includes(b) ? (b as BackendName) : 'auto';
  },
  /** 0 = no limit given. */
  memoryBudgetMB(): number {
    const n = get<number>('memoryBudgetMB', 0);
    return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
  },
  /** Processes for a run's (template, seed) pairs: 0 = as many as the cores (the executor fits them to memory), 1 = the worker alone. */
  workers(): number {
    const n = get<number>('workers', 0);
    return Number.isFinite(n) && n >= 1 ? Math.floor(n) : 0;
  },
  defaultModel(): string {
    return get<string>('defaultModel', 'ntk-mini');
  },
  hubCacheFolder(): string | undefined {
    const p = get<string>('hubCacheFolder', '');
    return p ? resolvePath(p) : undefined;
  },
  /** Results root: the setting, else `<spec file's workspace folder>/.ntk`, else next to the spec file. */
  resultsFolder(specFile?: string): string {
    const p = get<string>('resultsFolder', '');
    if (p) return resolvePath(p);
    const folder = specFile ? vscode.workspace.getWorkspaceFolder(vscode.Uri.file(specFile))?.uri.fsPath : workspaceRoot();
    return path.join(folder ?? (specFile ? path.dirname(specFile) : os.homedir()), '.ntk');
  },
  dataFolder(): string | undefined {
    const p = get<string>('dataFolder', '');
    return p ? resolvePath(p) : undefined;
  },
  lmBffDataUrl(): string {
    return get<string>('lmBffDataUrl', DEFAULT_LMBFF_URL);
  },
};
